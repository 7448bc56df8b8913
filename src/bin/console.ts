/*
 * bin/console.ts — the host side of the system console: the interactive console a
 * person types into (`vimage`), and the batch runner behind `vimage run` / `vimage -c`
 * and the tests.
 *
 * Both start /bin/sh as the first user process of the host's jail (prison0), the way
 * init starts a shell on /dev/console: its descriptors 0, 1 and 2 are the console
 * device (dev/cons.ts).  The shell is an ordinary userland program; this file only
 * moves bytes between the device and the host.
 *
 * Interactive: node:readline edits lines (history, cursor keys) and hands each finished
 * line to the console device as a host interrupt.  What the shell writes goes to
 * stdout, except that an unfinished last line written just before the shell blocks
 * reading (its prompt, `root@vimage:/ # `) becomes readline's prompt, so line editing
 * redraws it.  The break sequence CR ~ ^B (FreeBSD's alternate break) is recognised in
 * the raw input before readline sees it and enters the debugger (kdb_enter, why
 * "break"); while the debugger is active the world is stopped and its console reads
 * lines synchronously from file descriptor 0 (fs.readSync, retrying on EAGAIN after a
 * short Atomics.wait), beginning with whatever followed the break sequence in the same
 * chunk of input; what it leaves unread goes back to the shell.
 *
 * Batch: the shell gets the script as `sh -c TEXT` (with -e for `vimage run`), standard
 * input at end of file, standard output and standard error collected or written to the
 * host's.  The kernel runs until the shell exits; if everything is blocked first and
 * nothing from the host can wake it (host_can_wake: on the real clock, an open vxlan
 * endpoint can) the run is a deadlock and fails.
 */

import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { PassThrough } from 'node:stream';
import type { Kernel } from '../kern/kernel.js';
import { Cons, cons_file, cons_input } from '../dev/cons.js';
import { exec_lookup } from '../kern/kern_exec.js';
import type { File } from '../kern/kern_descrip.js';
import { kdb_enter, kdb_state, KDB_WHY_BREAK, type KdbIo } from '../kern/subr_kdb.js';
import { install_programs } from './programs.js';
import { vxlan_host_endpoints } from '../net/if_vxlan.js';
import type { ClockTimer } from '../host/clock.js';

const enc = new TextEncoder();

export interface ShellRun {
  /** Resolves with the shell's exit status. */
  readonly done: Promise<number>;
}

/** Start /bin/sh with argv and descriptors 0..2 (programs installed on first use). */
export function start_shell(
  k: Kernel,
  argv: readonly string[],
  fds: readonly [File, File, File],
  env: readonly string[] = [
    'PATH=/sbin:/bin:/usr/sbin:/usr/bin',
    'HOME=/',
    'USER=root',
    'SHELL=/bin/sh',
    'TERM=vt100',
  ],
): ShellRun {
  if (exec_lookup(k, '/', '/bin/sh') === undefined) install_programs(k);
  const img = exec_lookup(k, '/', '/bin/sh')!;
  let resolve: (n: number) => void = () => {};
  const done = new Promise<number>((r) => {
    resolve = r;
  });
  const p = k.proc_create('sh', { cr_uid: 0, cr_prison: k.prison0 }, async (td) => {
    const r = await img(k, td, argv, env);
    resolve(r);
    return r;
  });
  fds.forEach((fp, i) => {
    if (i > 0) fp.f_count++;
    p.p_fd!.fd_ofiles[i] = { fde_file: fp, fde_flags: 0 };
  });
  return { done };
}

export interface BatchResult {
  status: number;
  out: string;
  err: string;
  /** True when the kernel went idle with the shell still blocked. */
  deadlock: boolean;
}

export interface BatchOptions {
  /** Where output goes as it is written (default: collected only). */
  onOut?: (s: string) => void;
  onErr?: (s: string) => void;
  /** Standard input of the shell (default: empty). */
  input?: string;
}

/** Run the shell with argv in batch mode; resolves when it exits. */
export async function shell_batch(
  k: Kernel,
  argv: readonly string[],
  opts: BatchOptions = {},
): Promise<BatchResult> {
  const res: BatchResult = { status: 0, out: '', err: '', deadlock: false };
  const td = new TextDecoder();
  const tde = new TextDecoder();
  const cout = new Cons(k, (b) => {
    const s = td.decode(b, { stream: true });
    res.out += s;
    opts.onOut?.(s);
  });
  const cerr = new Cons(k, (b) => {
    const s = tde.decode(b, { stream: true });
    res.err += s;
    opts.onErr?.(s);
  });
  if (opts.input) cout.push(enc.encode(opts.input));
  cout.cn_eof = true;
  const f = cons_file(cout);
  const run = start_shell(k, argv, [f, f, cons_file(cerr)]);
  let finished = false;
  void run.done.then(() => {
    finished = true;
  });
  for (;;) {
    const idle = (async (): Promise<'idle'> => {
      await k.run_until_idle();
      return 'idle';
    })();
    const r = await Promise.race([run.done, idle]);
    if (r !== 'idle') {
      res.status = r;
      return res;
    }
    // Let a just-settled exit be observed.
    await Promise.resolve();
    if (finished) {
      res.status = await run.done;
      return res;
    }
    if (!host_can_wake(k)) {
      res.deadlock = true;
      res.status = 1;
      return res;
    }
    // Idle, but the host may still wake a thread (a datagram for a vxlan endpoint): look
    // again a little later, and at once if the shell exits meanwhile.
    let timer: ClockTimer | null = null;
    const later = new Promise<'later'>((res) => {
      timer = k.clock.timer(k.clock.now() + HOST_WAIT_MS * 1e6, () => res('later'));
      if (timer === null) res('later'); /* a virtual clock has no host timers */
    });
    const w = await Promise.race([run.done, later]);
    k.clock.cancel(timer);
    if (w !== 'later') {
      res.status = w;
      return res;
    }
  }
}

/** How often an idle kernel that the host may still wake is looked at again (ms). */
const HOST_WAIT_MS = 50;

/**
 * Can anything outside the kernel still wake one of its threads once nothing is
 * runnable and no callout is pending?  On the virtual clock, no: time stands still and
 * the host delivers nothing by itself.  On the real clock, yes while a vxlan(4)
 * interface has its host UDP endpoint open — a frame from the peer may be what the
 * shell waits for (`nc -l` for a Linux client, `tcpdump -c 1 -i vxlan0`).  The
 * console's own input is at end of file in batch mode, so it wakes nobody.
 */
function host_can_wake(k: Kernel): boolean {
  return k.clock.kind === 'real' && vxlan_host_endpoints(k) > 0;
}

/* ---------------------------------------------------------------------------------- */
/* The interactive console                                                              */

/** Synchronous line input for the debugger: leftover bytes first, then fd 0. */
class SyncStdin {
  buf: Buffer;
  private eof = false;
  constructor(leftover: Buffer) {
    this.buf = leftover;
  }
  readline(): string | null {
    for (;;) {
      const i = this.buf.findIndex((c) => c === 0x0a || c === 0x0d);
      if (i >= 0) {
        const line = this.buf.subarray(0, i).toString('utf8');
        let j = i + 1;
        if (this.buf[i] === 0x0d && this.buf[j] === 0x0a) j++;
        this.buf = this.buf.subarray(j);
        return line;
      }
      if (this.eof) {
        if (this.buf.length === 0) return null;
        const line = this.buf.toString('utf8');
        this.buf = Buffer.alloc(0);
        return line;
      }
      const b = Buffer.alloc(4096);
      let n = 0;
      try {
        n = fs.readSync(0, b, 0, b.length, null);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
          continue;
        }
        this.eof = true;
        continue;
      }
      if (n === 0) this.eof = true;
      else this.buf = Buffer.concat([this.buf, b.subarray(0, n)]);
    }
  }
}

/**
 * Scan raw input for the break sequence CR ~ ^B.  Returns the bytes to pass on and,
 * when the sequence was found, the bytes after it.
 */
export class BreakScanner {
  /** 1: after a CR (or at the start), 2: after CR ~, 0: elsewhere. */
  private st = 1;
  scan(chunk: Buffer): { pass: Buffer; rest: Buffer | null } {
    const pass: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.st === 2) {
        if (c === 0x02) {
          pass.pop(); /* the '~' */
          this.st = 0;
          return { pass: Buffer.from(pass), rest: chunk.subarray(i + 1) };
        }
        this.st = 0;
      }
      pass.push(c);
      if (this.st === 1 && c === 0x7e) this.st = 2;
      else this.st = c === 0x0d || c === 0x0a ? 1 : 0;
    }
    return { pass: Buffer.from(pass), rest: null };
  }
}

/** Open the interactive console on the host's stdin/stdout; resolves with the status. */
export async function console_main(k: Kernel): Promise<number> {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const tty = stdin.isTTY === true && stdout.isTTY === true;
  const input = new PassThrough();
  const rl = readline.createInterface({
    input,
    output: stdout,
    terminal: tty,
    historySize: 1000,
    prompt: '',
  });
  let pending = '';
  const dec = new TextDecoder();
  const cons = new Cons(k, (b) => {
    const all = pending + dec.decode(b, { stream: true });
    const i = all.lastIndexOf('\n');
    if (i >= 0) {
      stdout.write(all.slice(0, i + 1));
      pending = all.slice(i + 1);
    } else pending = all;
  });
  cons.cn_readwait = (): void => {
    if (pending === '') return;
    rl.setPrompt(pending);
    pending = '';
    rl.prompt(true);
  };
  const io: KdbIo = {
    readline: (prompt: string): string | null => {
      stdout.write(prompt);
      const l = sync === null ? null : sync.readline();
      if (l !== null && !tty) stdout.write(l + '\n');
      else if (l === null) stdout.write('\n');
      return l;
    },
    write: (s: string): void => {
      stdout.write(s);
    },
  };
  let sync: SyncStdin | null = null;
  let stopped: (status: number) => void = () => {};
  const halted = new Promise<number>((resolve) => {
    stopped = resolve;
  });
  const scanner = new BreakScanner();
  const feed = (chunk: Buffer): void => {
    let c: Buffer | null = chunk;
    while (c !== null && c.length > 0) {
      const { pass, rest } = scanner.scan(c);
      if (pass.length > 0) input.write(pass);
      if (rest === null) break;
      // Break to the debugger: the world stops until it is left.
      if (tty) stdin.setRawMode(false);
      sync = new SyncStdin(rest);
      const st = kdb_state(k);
      const saved = st.io;
      st.io = io;
      stdout.write('\n');
      k.sched.hostintr(() => {
        kdb_enter(k, KDB_WHY_BREAK, 'Break to debugger');
      });
      st.io = saved;
      if (k.panicstr !== null || st.reset) {
        /* The kernel is gone: the console ends here. */
        stopped(k.panicstr !== null ? 1 : 0);
        return;
      }
      if (tty) stdin.setRawMode(true);
      c = sync.buf;
      sync = null;
      if (tty) rl.prompt(true); /* redraw the line being edited */
    }
  };
  if (tty) stdin.setRawMode(true);
  stdin.on('data', (b: Buffer) => feed(b));
  stdin.on('end', () => input.end());
  rl.on('line', (line) => cons_input(cons, enc.encode(line + '\n')));
  rl.on('close', () => cons_input(cons, null));
  rl.on('SIGINT', () => {
    stdout.write('^C\n');
    rl.write(null, { ctrl: true, name: 'u' });
    rl.prompt();
  });
  const f = cons_file(cons);
  const run = start_shell(k, ['-sh', '-i'], [f, f, f]);
  k.sched.kick();
  // A kernel that panicked or was reset from the debugger runs nothing any more.
  const iv = setInterval(() => {
    if (k.panicstr !== null || (k.kdb?.reset ?? false)) stopped(k.panicstr !== null ? 1 : 0);
  }, 200);
  const status = await Promise.race([run.done, halted]);
  clearInterval(iv);
  if (pending !== '') stdout.write(pending);
  rl.close();
  stdin.pause();
  if (tty) stdin.setRawMode(false);
  return status;
}
