/*
 * dev/cons.ts — the system console as a character device (a tty reduced to its line
 * discipline's input queue), whose far side is the host.
 *
 * The host (bin/console.ts, or `vimage run`) creates a Cons with an output sink and
 * opens it as the first descriptors (0, 1, 2) of the shell, as init opens /dev/console
 * for getty.  Writes go straight to the sink.  Input arrives from the host as a host
 * interrupt (cons_input, through k.sched.hostintr): the bytes are queued and sleeping
 * readers are woken.  A read returns at most one line (canonical mode: up to and
 * including the first newline), blocks while the queue is empty (PCATCH: a killed
 * reader gets EINTR), and returns 0 at end of input (the host's input closed; ^D).
 *
 * poll(2) reports POLLIN when input is queued or at end of input, and POLLOUT always
 * (output never blocks); a poller's channel is woken by the next input.
 *
 * `cn_readwait` is called when a reader is about to sleep: the host console uses it to
 * show the prompt the shell has just written through its line editor.
 *
 * XXX: no termios, no job control, no ^C to the foreground process (no signals).
 */

import { EAGAIN, ENOIOCTL } from '../sys/errno.js';
import { FIOASYNC, FIONBIO, FIONREAD } from '../sys/sockio.js';
import {
  File,
  FNONBLOCK,
  FREAD,
  FWRITE,
  uiomove,
  type FileOps,
  type Uio,
} from '../kern/kern_descrip.js';
import { PCATCH, tsleep, wakeup_k } from '../kern/kern_synch.js';
import type { Kernel } from '../kern/kernel.js';
import type { Thread } from '../sys/proc.js';
import { POLLIN, POLLOUT, POLLRDNORM } from '../kern/sys_pipe.js';

export class Cons {
  /** Queued input bytes. */
  private inq: Uint8Array[] = [];
  cn_eof = false;
  /** Called when a reader is about to block (the host shows its prompt). */
  cn_readwait: (() => void) | null = null;
  /** Pollers waiting for input. */
  readonly cn_rsel = new Set<object>();
  constructor(
    readonly k: Kernel,
    readonly cn_output: (b: Uint8Array) => void,
  ) {}

  /** Bytes queued. */
  get cn_qlen(): number {
    let n = 0;
    for (const b of this.inq) n += b.length;
    return n;
  }

  /** Take at most n bytes, up to the first newline. */
  take(n: number): Uint8Array {
    const out: number[] = [];
    while (out.length < n && this.inq.length > 0) {
      const b = this.inq[0]!;
      let i = 0;
      let nl = false;
      while (i < b.length && out.length < n) {
        const c = b[i++]!;
        out.push(c);
        if (c === 0x0a) {
          nl = true;
          break;
        }
      }
      if (i >= b.length) this.inq.shift();
      else this.inq[0] = b.subarray(i);
      if (nl) break;
    }
    return Uint8Array.from(out);
  }

  push(b: Uint8Array): void {
    if (b.length > 0) this.inq.push(b.slice());
  }
}

export const cons_ops: FileOps = {
  fo_type: 'tty',
  async fo_read(fp: File, uio: Uio): Promise<number> {
    const cn = fp.f_data as Cons;
    for (;;) {
      if (uio.uio_resid === 0) return 0;
      if (cn.cn_qlen > 0) {
        uiomove(cn.take(uio.uio_resid), uio);
        return 0;
      }
      if (cn.cn_eof) return 0;
      if (fp.f_flag & FNONBLOCK) return EAGAIN;
      cn.cn_readwait?.();
      const e = await tsleep(cn, PCATCH, 'ttyin', 0);
      if (e !== 0) return e;
    }
  },
  fo_write(fp: File, uio: Uio): number {
    const cn = fp.f_data as Cons;
    const b = new Uint8Array(uio.uio_resid);
    uiomove(b, uio);
    cn.cn_output(b);
    return 0;
  },
  fo_poll(fp: File, events: number, td?: Thread): number {
    const cn = fp.f_data as Cons;
    let rev = events & POLLOUT;
    if (cn.cn_qlen > 0 || cn.cn_eof) rev |= events & (POLLIN | POLLRDNORM);
    const c = (td as { td_pollchan?: object | null } | undefined)?.td_pollchan ?? null;
    if (!(rev & (POLLIN | POLLRDNORM)) && c !== null && events & (POLLIN | POLLRDNORM))
      cn.cn_rsel.add(c);
    return rev;
  },
  fo_ioctl(fp: File, com: number, data: Uint8Array): number {
    if (com === FIONBIO || com === FIOASYNC) return 0;
    if (com === FIONREAD) {
      const cn = fp.f_data as Cons;
      new DataView(data.buffer, data.byteOffset, 4).setInt32(0, cn.cn_qlen, true);
      return 0;
    }
    return ENOIOCTL;
  },
};

/** An open file on the console (read/write). */
export function cons_file(cn: Cons): File {
  return new File(cons_ops, cn, FREAD | FWRITE);
}

/** Host input (null: end of input), delivered as a host interrupt. */
export function cons_input(cn: Cons, data: Uint8Array | null): void {
  const k = cn.k;
  k.sched.hostintr(() => {
    if (data === null) cn.cn_eof = true;
    else cn.push(data);
    wakeup_k(k, cn);
    const w = [...cn.cn_rsel];
    cn.cn_rsel.clear();
    for (const c of w) wakeup_k(k, c);
  });
}
