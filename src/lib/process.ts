/*
 * lib/process.ts — how a userland program runs: its C runtime (crt0), its standard
 * I/O on descriptors 0, 1 and 2, and the process system calls libc.ts does not wrap
 * (pipe2, posix_spawn, wait4, kill, exit, nanosleep, clock_gettime, chdir, getcwd).
 *
 * A program is `(ctx) => Promise<number>`: ctx carries argv, the environment and a Libc
 * bound to the process's thread; the number is the exit status.  crt0(program) makes
 * the entry point the kernel's image activator calls (kern/kern_exec.ts): it binds the
 * Libc, runs main, flushes nothing (writes are unbuffered) and turns an exception into
 * one line on standard error and status 70 (EX_SOFTWARE) — a user never sees a
 * JavaScript stack trace.
 *
 * Standard I/O is implemented only with read(2) and write(2) on the descriptors; there
 * are no Node streams anywhere in userland.  Reading lines buffers up to 4 KiB per read.
 *
 * Spawning: posix_spawn(path, argv, envp, fdmap) builds argv/envp as NULL-terminated
 * arrays of string pointers in user memory (as execve takes them) and passes the
 * descriptor map (child fd i = parent fd fdmap[i], -1 closed).
 */

import { Libc } from './libc.js';
import type { ExecImage } from '../kern/kern_exec.js';
import {
  SYS___getcwd,
  SYS_chdir,
  SYS_clock_gettime,
  SYS_exit,
  SYS_kill,
  SYS_nanosleep,
  SYS_pipe2,
  SYS_vimage_spawn,
  SYS_wait4,
} from '../sys/sysent.js';

/** What a program gets. */
export interface ProcCtx {
  /** argv[0] is the command name. */
  readonly argv: readonly string[];
  /** The environment (exported variables). */
  readonly env: Map<string, string>;
  readonly libc: Libc;
  /** Standard input, as lines or bytes. */
  readonly stdin: FdReader;
  /** Write to standard output / standard error (false when the write failed). */
  out(s: string | Uint8Array): Promise<boolean>;
  err(s: string | Uint8Array): Promise<boolean>;
  /** "prog: msg\n" on standard error. */
  warn(msg: string): Promise<void>;
}

export type Program = (ctx: ProcCtx) => Promise<number>;

export const EX_USAGE = 64;
export const EX_SOFTWARE = 70;

const enc = new TextEncoder();

/** write(2) until everything is written; false on an error (EPIPE, EBADF...). */
export async function writeAll(
  libc: Libc,
  fd: number,
  data: string | Uint8Array,
): Promise<boolean> {
  let b = typeof data === 'string' ? enc.encode(data) : data;
  while (b.length > 0) {
    const n = await libc.write(fd, b, Math.min(b.length, 65536));
    if (n < 0) return false;
    b = b.subarray(n);
  }
  return true;
}

/** Buffered reads of one descriptor: lines, chunks, or everything. */
export class FdReader {
  private buf = new Uint8Array(0);
  private eof = false;
  /** errno of a failed read (0: none). */
  error = 0;
  constructor(
    private readonly libc: Libc,
    readonly fd: number,
  ) {}

  private async fill(): Promise<boolean> {
    if (this.eof) return false;
    const b = new Uint8Array(4096);
    const n = await this.libc.read(this.fd, b);
    if (n <= 0) {
      if (n < 0) this.error = this.libc.errno;
      this.eof = true;
      return false;
    }
    const nb = new Uint8Array(this.buf.length + n);
    nb.set(this.buf);
    nb.set(b.subarray(0, n), this.buf.length);
    this.buf = nb;
    return true;
  }

  /** The next line without its newline, or null at end of file. */
  async readLine(): Promise<string | null> {
    for (;;) {
      const i = this.buf.indexOf(0x0a);
      if (i >= 0) {
        const line = this.buf.subarray(0, i);
        this.buf = this.buf.subarray(i + 1);
        return new TextDecoder().decode(line);
      }
      if (!(await this.fill())) {
        if (this.buf.length === 0) return null;
        const line = this.buf;
        this.buf = new Uint8Array(0);
        return new TextDecoder().decode(line);
      }
    }
  }

  /** The next chunk of at most max bytes, or null at end of file. */
  async readChunk(max = 65536): Promise<Uint8Array | null> {
    if (this.buf.length === 0 && !(await this.fill())) return null;
    const n = Math.min(max, this.buf.length);
    const out = this.buf.slice(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Everything up to end of file (read in 64 KiB pieces, joined once). */
  async readAll(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [this.buf];
    let total = this.buf.length;
    this.buf = new Uint8Array(0);
    while (!this.eof) {
      const b = new Uint8Array(65536);
      const n = await this.libc.read(this.fd, b);
      if (n <= 0) {
        if (n < 0) this.error = this.libc.errno;
        this.eof = true;
        break;
      }
      parts.push(b.subarray(0, n));
      total += n;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** Parse NAME=value strings into a map. */
export function envmap(envp: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of envp) {
    const i = e.indexOf('=');
    if (i > 0) m.set(e.slice(0, i), e.slice(i + 1));
  }
  return m;
}

/** Make a ProcCtx for a Libc (crt0 does this; tests may too). */
export function procctx(libc: Libc, argv: readonly string[], env: Map<string, string>): ProcCtx {
  const name = (argv[0] ?? 'a.out').split('/').pop() ?? 'a.out';
  return {
    argv,
    env,
    libc,
    stdin: new FdReader(libc, 0),
    out: (s) => writeAll(libc, 1, s),
    err: (s) => writeAll(libc, 2, s),
    warn: async (msg) => {
      await writeAll(libc, 2, `${name}: ${msg}\n`);
    },
  };
}

/** crt0: the kernel's entry point for a program. */
export function crt0(prog: Program): ExecImage {
  return async (k, td, argv, envp) => {
    const libc = new Libc(k, td);
    const ctx = procctx(libc, argv, envmap(envp));
    try {
      const r = await prog(ctx);
      return r & 0xff;
    } catch (e) {
      await ctx.warn(`internal error: ${e instanceof Error ? e.message : String(e)}`);
      return EX_SOFTWARE;
    }
  };
}

/* ---------------------------------------------------------------------------------- */
/* System calls libc.ts does not wrap.                                                  */

function i32(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getInt32(off, true);
}

/** pipe2(2): [read end, write end] or null (errno set). */
export async function pipe2(libc: Libc, flags = 0): Promise<[number, number] | null> {
  const m = libc.malloc(8);
  if (m === null) return null;
  try {
    if ((await libc.syscall(SYS_pipe2, m.addr, flags)) < 0) return null;
    return [i32(m.buf, 0), i32(m.buf, 4)];
  } finally {
    libc.free(m.addr);
  }
}

/** posix_spawn(3): the child's pid, or -1 (errno set). */
export async function posix_spawn(
  libc: Libc,
  path: string,
  argv: readonly string[],
  envp: readonly string[],
  fdmap: readonly number[],
): Promise<number> {
  const maps: number[] = [];
  const str = (s: string): number => {
    const b = enc.encode(s);
    const m = libc.malloc(b.length + 1)!;
    m.buf.set(b);
    maps.push(m.addr);
    return m.addr;
  };
  const vec = (ss: readonly string[]): number => {
    const m = libc.malloc((ss.length + 1) * 8)!;
    maps.push(m.addr);
    const dv = new DataView(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength);
    ss.forEach((s, i) => {
      const a = str(s);
      dv.setUint32(i * 8, a >>> 0, true);
      dv.setUint32(i * 8 + 4, Math.floor(a / 4294967296), true);
    });
    return m.addr;
  };
  try {
    const up = str(path);
    const ua = vec(argv);
    const ue = vec(envp);
    const fm = libc.malloc(fdmap.length * 4)!;
    maps.push(fm.addr);
    const dv = new DataView(fm.buf.buffer, fm.buf.byteOffset, fm.buf.byteLength);
    fdmap.forEach((fd, i) => dv.setInt32(i * 4, fd, true));
    return await libc.syscall(SYS_vimage_spawn, up, ua, ue, fm.addr, fdmap.length);
  } finally {
    for (const a of maps) libc.free(a);
  }
}

/** wait4(2): { pid, status } or null (errno set). */
export async function wait4(
  libc: Libc,
  pid: number,
  options = 0,
): Promise<{ pid: number; status: number } | null> {
  const m = libc.malloc(4);
  if (m === null) return null;
  try {
    const r = await libc.syscall(SYS_wait4, pid, m.addr, options, 0);
    if (r < 0) return null;
    return { pid: r, status: i32(m.buf, 0) };
  } finally {
    libc.free(m.addr);
  }
}

export async function kill(libc: Libc, pid: number, sig: number): Promise<number> {
  return libc.syscall(SYS_kill, pid, sig);
}

/** _exit(2): never returns. */
export async function sys_exit(libc: Libc, status: number): Promise<never> {
  await libc.syscall(SYS_exit, status);
  throw new Error('exit returned');
}

/** nanosleep(2) for ns nanoseconds: 0, or -1 (EINTR). */
export async function nanosleep(libc: Libc, ns: number): Promise<number> {
  const m = libc.malloc(16)!;
  try {
    const dv = new DataView(m.buf.buffer, m.buf.byteOffset, 16);
    const sec = Math.floor(ns / 1e9);
    dv.setUint32(0, sec >>> 0, true);
    dv.setUint32(4, Math.floor(sec / 4294967296), true);
    dv.setUint32(8, Math.round(ns - sec * 1e9), true);
    return await libc.syscall(SYS_nanosleep, m.addr, 0);
  } finally {
    libc.free(m.addr);
  }
}

export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 4;

/** clock_gettime(2) in nanoseconds, or -1. */
export async function clock_gettime(libc: Libc, id: number): Promise<number> {
  const m = libc.malloc(16)!;
  try {
    if ((await libc.syscall(SYS_clock_gettime, id, m.addr)) < 0) return -1;
    const dv = new DataView(m.buf.buffer, m.buf.byteOffset, 16);
    const sec = dv.getUint32(0, true) + dv.getInt32(4, true) * 4294967296;
    return sec * 1e9 + dv.getUint32(8, true);
  } finally {
    libc.free(m.addr);
  }
}

export async function chdir(libc: Libc, path: string): Promise<number> {
  const b = enc.encode(path);
  const m = libc.malloc(b.length + 1)!;
  m.buf.set(b);
  try {
    return await libc.syscall(SYS_chdir, m.addr);
  } finally {
    libc.free(m.addr);
  }
}

/** getcwd(3), or null. */
export async function getcwd(libc: Libc): Promise<string | null> {
  const m = libc.malloc(1024)!;
  try {
    if ((await libc.syscall(SYS___getcwd, m.addr, 1024)) < 0) return null;
    const n = m.buf.indexOf(0);
    return new TextDecoder().decode(m.buf.subarray(0, n < 0 ? 0 : n));
  } finally {
    libc.free(m.addr);
  }
}

/* Wait status (sys/wait.h). */
export function WIFEXITED(s: number): boolean {
  return (s & 0x7f) === 0;
}
export function WEXITSTATUS(s: number): number {
  return (s >> 8) & 0xff;
}
export function WTERMSIG(s: number): number {
  return s & 0x7f;
}
/** The shell's view of a wait status: the exit code, or 128 + the signal. */
export function shell_status(s: number): number {
  return WIFEXITED(s) ? WEXITSTATUS(s) : 128 + WTERMSIG(s);
}
export const WNOHANG = 1;
export const SIGKILL = 9;
export const SIGTERM = 15;
