/*
 * kern/sys_process.ts — the process system calls userland programs and the shell need:
 * exit(2), wait4(2), kill(2), nanosleep(2), clock_gettime(2), chdir(2), __getcwd(2).
 *
 * They are thin: the work is in kern_proc.ts (kern_exit, kern_wait, kern_kill),
 * kern_synch.ts (pause_sbt) and vfs_host.ts (name lookup).  Numbers and argument
 * layouts are FreeBSD/amd64's: wait4 stores an int status; struct timespec is
 * { time_t tv_sec; long tv_nsec } (16 bytes).
 *
 * Signals: only SIGKILL's effect exists (kern_proc.ts); kill(2) with any signal number
 * from 1 to 127 terminates the process, and the wait status reports that signal.  Signal
 * 0 checks that the process exists and is visible.
 *
 * clock_gettime: CLOCK_REALTIME is kern.boottime plus uptime, CLOCK_MONOTONIC (and
 * CLOCK_UPTIME) is the kernel clock — virtual time on a virtual clock.
 */

import { EFAULT, EINVAL, ERANGE, ESRCH } from '../sys/errno.js';
import { MAXPATHLEN } from '../sys/param.js';
import type { Thread } from '../sys/proc.js';
import { copyin, copyinstr, copyout } from '../vm/vm_map.js';
import { curkernel } from './kern_cur.js';
import { kern_exit, kern_kill, kern_wait, pfind_cansee } from './kern_proc.js';
import { pause_sbt } from './kern_synch.js';
import { vfs_isdir } from './vfs_host.js';

export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 4;
export const CLOCK_UPTIME = 5;

/** exit(rval): never returns. */
export function sys_exit(td: Thread, args: readonly number[]): Promise<number> {
  return kern_exit(curkernel(), td, (args[0] ?? 0) & 0xff);
}

/** wait4(pid, status, options, rusage): the reaped pid (0 with WNOHANG and none). */
export async function sys_wait4(td: Thread, args: readonly number[]): Promise<number> {
  const [pid = -1, ustatus = 0, options = 0] = args;
  const k = curkernel();
  const r = await kern_wait(k, td, pid, options);
  if (r.error !== 0) return r.error;
  if (ustatus !== 0 && r.pid !== 0) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, r.status, true);
    const e = copyout(td.td_proc, b, ustatus);
    if (e !== 0) return e;
  }
  td.td_retval[0] = r.pid;
  return 0;
}

/** kill(pid, sig). */
export function sys_kill(td: Thread, args: readonly number[]): number {
  const [pid = 0, sig = 0] = args;
  if (!Number.isInteger(sig) || sig < 0 || sig > 127) return EINVAL;
  if (pid <= 0) return ESRCH; /* XXX: no process groups */
  const k = curkernel();
  if (sig === 0) return pfind_cansee(k, td, pid).error;
  return kern_kill(k, td, pid, sig);
}

function timespec_in(td: Thread, u: number): number | { sec: number; nsec: number } {
  const b = copyin(td.td_proc, u, 16);
  if (typeof b === 'number') return b;
  const dv = new DataView(b.buffer, b.byteOffset, 16);
  const sec = dv.getUint32(0, true) + dv.getInt32(4, true) * 4294967296;
  const nsec = dv.getUint32(8, true) + dv.getInt32(12, true) * 4294967296;
  return { sec, nsec };
}

function timespec_out(td: Thread, ns: number, u: number): number {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  const sec = Math.floor(ns / 1e9);
  dv.setUint32(0, sec >>> 0, true);
  dv.setUint32(4, Math.floor(sec / 4294967296) >>> 0, true);
  dv.setUint32(8, Math.round(ns - sec * 1e9) >>> 0, true);
  return copyout(td.td_proc, b, u);
}

/** nanosleep(rqtp, rmtp): EINTR (and the time left in rmtp) when killed. */
export async function sys_nanosleep(td: Thread, args: readonly number[]): Promise<number> {
  const [urq = 0, urm = 0] = args;
  const ts = timespec_in(td, urq);
  if (typeof ts === 'number') return ts;
  if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1e9) return EINVAL;
  const k = curkernel();
  const ns = ts.sec * 1e9 + ts.nsec;
  const t0 = k.now();
  const e = ns > 0 ? await pause_sbt('nanslp', ns) : 0;
  if (e !== 0 && urm !== 0) timespec_out(td, Math.max(0, ns - (k.now() - t0)), urm);
  return e;
}

/** clock_gettime(clock_id, tp). */
export function sys_clock_gettime(td: Thread, args: readonly number[]): number {
  const [id = 0, utp = 0] = args;
  const k = curkernel();
  let ns: number;
  if (id === CLOCK_REALTIME) ns = k.clock.boottime + k.now();
  else if (id === CLOCK_MONOTONIC || id === CLOCK_UPTIME) ns = k.now();
  else return EINVAL;
  return timespec_out(td, ns, utp);
}

/** chdir(path). */
export function sys_chdir(td: Thread, args: readonly number[]): number {
  const path = copyinstr(td.td_proc, args[0] ?? 0, MAXPATHLEN);
  if (typeof path === 'number') return path;
  const l = vfs_isdir(curkernel(), td, path);
  if (typeof l === 'number') return l;
  td.td_proc.p_cwd = l.vpath;
  return 0;
}

/** __getcwd(buf, buflen): the working directory inside the jail, NUL-terminated. */
export function sys___getcwd(td: Thread, args: readonly number[]): number {
  const [ubuf = 0, len = 0] = args;
  const b = new TextEncoder().encode(td.td_proc.p_cwd + '\0');
  if (len < b.length) return ERANGE;
  const e = copyout(td.td_proc, b, ubuf);
  return e !== 0 ? EFAULT : 0;
}
