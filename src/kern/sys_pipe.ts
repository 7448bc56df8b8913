/*
 * kern/sys_pipe.ts — pipe(2): a bounded byte queue between two descriptors.
 *
 * As sys/kern/sys_pipe.c: pipe2(fildes, flags) makes a read end and a write end sharing
 * one buffer of PIPE_SIZE (16384) bytes.  A read returns what is buffered (at most what
 * was asked), blocks while the buffer is empty and a writer remains, and returns 0 (end
 * of file) once the write end is closed and the buffer drained.  A write copies as much
 * as fits and blocks for the rest, so a write bigger than the buffer goes through in
 * pieces as the reader drains it; a write of at most PIPE_BUF (512) bytes is atomic (it
 * waits until it fits whole).  Writing with the read end closed is EPIPE (FreeBSD also
 * posts SIGPIPE; there are no signals here).  With O_NONBLOCK an empty read or a full
 * write is EAGAIN (a partial write returns its count).  Sleeps are interruptible
 * (PCATCH): killing a process blocked on a pipe ends the syscall with EINTR.
 *
 * Readers sleep on the pipe object, writers on its `wchan` object; each side wakes the
 * other when it moves data or closes.  poll(2) (fo_poll) reports POLLIN when data is
 * buffered or the writer is gone (with POLLHUP), POLLOUT when PIPE_BUF bytes fit, and
 * records the poller's channel (td_pollchan) so the next change wakes it.
 *
 * Deliberate differences: FreeBSD's pipes are bidirectional (each end is readable and
 * writable); these are one-way, as POSIX requires and as every shell uses them.  No
 * direct-write (page loaning) mode, no kqueue.
 */

import { EAGAIN, EINVAL, EPIPE } from '../sys/errno.js';
import { O_CLOEXEC, O_NONBLOCK } from '../sys/fcntl.js';
import { FIOASYNC, FIONBIO, FIONREAD } from '../sys/sockio.js';
import { ENOIOCTL } from '../sys/errno.js';
import type { Thread } from '../sys/proc.js';
import {
  File,
  FNONBLOCK,
  FREAD,
  FWRITE,
  UF_EXCLOSE,
  uiomove,
  type FileOps,
  type Uio,
} from './kern_descrip.js';
import { PCATCH, tsleep, wakeup } from './kern_synch.js';
import { fdesc } from './sys_generic.js';
import { copyout } from '../vm/vm_map.js';

/** The pipe buffer size. */
export const PIPE_SIZE = 16384;
/** Writes up to this size are atomic (limits.h PIPE_BUF). */
export const PIPE_BUF = 512;

/** The channel writers sleep on. */
class PipeWriters {}

/* sys/poll.h events (the subset pipes report). */
export const POLLIN = 0x0001;
export const POLLOUT = 0x0004;
export const POLLHUP = 0x0010;
export const POLLRDNORM = 0x0040;
export const POLLWRNORM = POLLOUT;

/** The poll channel of a thread inside poll(2) (kern/uipc_syscalls.ts sets it). */
function pollchan(td: Thread | undefined): object | null {
  const c = (td as { td_pollchan?: object | null } | undefined)?.td_pollchan;
  return c ?? null;
}

/** Wake the pollers recorded in set (and forget them). */
function selwake(set: Set<object>): void {
  if (set.size === 0) return;
  const w = [...set];
  set.clear();
  for (const c of w) wakeup(c);
}

/** struct pipe, reduced to one direction. */
export class Pipe {
  readonly buf = new Uint8Array(PIPE_SIZE);
  /** Start of the buffered data and its length (a ring). */
  in = 0;
  cnt = 0;
  rclosed = false;
  wclosed = false;
  readonly wchan = new PipeWriters();
  /** Pollers waiting to read / to write. */
  readonly rsel = new Set<object>();
  readonly wsel = new Set<object>();

  /** Take up to n bytes. */
  take(n: number): Uint8Array {
    const m = Math.min(n, this.cnt);
    const out = new Uint8Array(m);
    const first = Math.min(m, PIPE_SIZE - this.in);
    out.set(this.buf.subarray(this.in, this.in + first));
    if (m > first) out.set(this.buf.subarray(0, m - first), first);
    this.in = (this.in + m) % PIPE_SIZE;
    this.cnt -= m;
    if (this.cnt === 0) this.in = 0;
    return out;
  }

  /** Append bytes (the caller checked they fit). */
  put(b: Uint8Array): void {
    const at = (this.in + this.cnt) % PIPE_SIZE;
    const first = Math.min(b.length, PIPE_SIZE - at);
    this.buf.set(b.subarray(0, first), at);
    if (b.length > first) this.buf.set(b.subarray(first), 0);
    this.cnt += b.length;
  }
}

function pipe_ioctl(fp: File, com: number, data: Uint8Array): number {
  if (com === FIONBIO || com === FIOASYNC) return 0;
  if (com === FIONREAD) {
    const p = fp.f_data as Pipe;
    new DataView(data.buffer, data.byteOffset, 4).setInt32(0, fp.f_flag & FREAD ? p.cnt : 0, true);
    return 0;
  }
  return ENOIOCTL;
}

async function pipe_read(fp: File, uio: Uio): Promise<number> {
  const p = fp.f_data as Pipe;
  for (;;) {
    if (uio.uio_resid === 0) return 0;
    if (p.cnt > 0) {
      uiomove(p.take(uio.uio_resid), uio);
      wakeup(p.wchan);
      selwake(p.wsel);
      return 0;
    }
    if (p.wclosed) return 0;
    if (fp.f_flag & FNONBLOCK) return EAGAIN;
    const e = await tsleep(p, PCATCH, 'piperd', 0);
    if (e !== 0) return e;
  }
}

async function pipe_write(fp: File, uio: Uio): Promise<number> {
  const p = fp.f_data as Pipe;
  const atomic = uio.uio_resid <= PIPE_BUF;
  while (uio.uio_resid > 0) {
    if (p.rclosed) return EPIPE;
    const space = PIPE_SIZE - p.cnt;
    if (space === 0 || (atomic && space < uio.uio_resid)) {
      if (fp.f_flag & FNONBLOCK) return EAGAIN; /* a partial count wins in rw_result */
      const e = await tsleep(p.wchan, PCATCH, 'pipewr', 0);
      if (e !== 0) return e;
      continue;
    }
    const chunk = new Uint8Array(Math.min(space, uio.uio_resid));
    uiomove(chunk, uio);
    p.put(chunk);
    wakeup(p);
    selwake(p.rsel);
  }
  return 0;
}

export const pipe_read_ops: FileOps = {
  fo_type: 'pipe',
  fo_read: pipe_read,
  fo_ioctl: pipe_ioctl,
  fo_close(fp: File): number {
    const p = fp.f_data as Pipe;
    p.rclosed = true;
    wakeup(p.wchan);
    selwake(p.wsel);
    return 0;
  },
  fo_poll(fp: File, events: number, td?: Thread): number {
    const p = fp.f_data as Pipe;
    let rev = 0;
    if (p.cnt > 0 || p.wclosed) rev |= events & (POLLIN | POLLRDNORM);
    if (p.wclosed) rev |= POLLHUP;
    const c = pollchan(td);
    if (rev === 0 && c !== null && events & (POLLIN | POLLRDNORM)) p.rsel.add(c);
    return rev;
  },
};

export const pipe_write_ops: FileOps = {
  fo_type: 'pipe',
  fo_write: pipe_write,
  fo_ioctl: pipe_ioctl,
  fo_close(fp: File): number {
    const p = fp.f_data as Pipe;
    p.wclosed = true;
    wakeup(p);
    selwake(p.rsel);
    return 0;
  },
  fo_poll(fp: File, events: number, td?: Thread): number {
    const p = fp.f_data as Pipe;
    if (p.rclosed) return POLLHUP;
    const rev = PIPE_SIZE - p.cnt >= PIPE_BUF ? events & (POLLOUT | POLLWRNORM) : 0;
    const c = pollchan(td);
    if (rev === 0 && c !== null && events & (POLLOUT | POLLWRNORM)) p.wsel.add(c);
    return rev;
  },
};

/** kern_pipe: a new pipe's two open files (read end, write end). */
export function kern_pipe(flags: number): [File, File] {
  const p = new Pipe();
  const nb = flags & O_NONBLOCK ? FNONBLOCK : 0;
  return [new File(pipe_read_ops, p, FREAD | nb), new File(pipe_write_ops, p, FWRITE | nb)];
}

/** pipe2(fildes, flags): fildes[0] the read end, fildes[1] the write end. */
export function sys_pipe2(td: Thread, args: readonly number[]): number {
  const ufds = args[0] ?? 0;
  const flags = args[1] ?? 0;
  if (flags & ~(O_CLOEXEC | O_NONBLOCK)) return EINVAL;
  const [rf, wf] = kern_pipe(flags);
  const fdp = fdesc(td);
  const cx = flags & O_CLOEXEC ? UF_EXCLOSE : 0;
  const r = fdp.install(rf, cx);
  if (r < 0) return -r;
  const w = fdp.install(wf, cx);
  if (w < 0) {
    fdp.remove(r);
    return -w;
  }
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setInt32(0, r, true);
  dv.setInt32(4, w, true);
  const e = copyout(td.td_proc, b, ufds);
  if (e !== 0) {
    fdp.remove(r);
    fdp.remove(w);
    return e;
  }
  td.td_retval[0] = 0;
  return 0;
}
