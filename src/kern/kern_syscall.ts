/*
 * kern/kern_syscall.ts — the system call table (init_sysent.c) and the entry path
 * (amd64_syscall / syscallenter / syscallret in sys/kern/subr_syscall.c).
 *
 * A user thread is a JavaScript async function; it enters the kernel only here.
 * syscallenter(k, td, code, args):
 *
 *   1. records the trapframe (td_frame: kind 'syscall', the number, the name, the
 *      argument registers, rip = the handler's symbol) — what DDB's `show registers`
 *      and `trace` report for a thread inside a syscall;
 *   2. zeroes td_retval and puts td on the processor (k.load_registers);
 *   3. calls the handler; if it returns a promise (it slept, or waited on the host) the
 *      processor may have run other threads meanwhile, so the registers are reloaded for
 *      td when it resumes;
 *   4. maps the kernel-internal results (ERESTART → EINTR: there are no signal
 *      handlers to restart after; EJUSTRETURN → 0; a stray ENOIOCTL → ENOTTY), stores
 *      rax (the errno, or td_retval[0]) in the trapframe and sets td_errno on failure —
 *      userland's errno, left alone on success as in C;
 *   5. runs the scheduler's userret hook when the kernel has one (preemption, pending
 *      kills), and returns { error, retval }.
 *
 * An unknown number is ENOSYS (FreeBSD also posts SIGSYS; there are no signals here).
 * Handlers never throw for bad user input; an exception from one is a kernel bug and
 * propagates (a panic).
 */

import { EJUSTRETURN, ENOIOCTL, ENOSYS, ENOTTY, ERESTART, EINTR } from '../sys/errno.js';
import type { Thread } from '../sys/proc.js';
import { ObjFile, VIMAGEID, type TextSym } from '../sys/linker_set.js';
import { kdb_bkpt } from './subr_kdb.js';
import { K as SYS_GENERIC_K } from './sys_generic.js';
import {
  SYS___sysctl,
  SYS_close,
  SYS_dup,
  SYS_fcntl,
  SYS_getpid,
  SYS_getppid,
  SYS_getuid,
  SYS_geteuid,
  SYS_ioctl,
  SYS_kldfind,
  SYS_kldload,
  SYS_kldnext,
  SYS_kldstat,
  SYS_kldsym,
  SYS_kldunload,
  SYS_lseek,
  SYS_open,
  SYS_pread,
  SYS_pwrite,
  SYS_read,
  SYS_write,
  SYS_exit,
  SYS_wait4,
  SYS_kill,
  SYS_nanosleep,
  SYS_clock_gettime,
  SYS_chdir,
  SYS___getcwd,
  SYS_pipe2,
  SYS_vimage_spawn,
  SYS_kldfirstmod,
  SYS_modnext,
  SYS_modstat,
  SYS_jail_set,
  SYS_jail_get,
  SYS_jail_remove,
  SYS_jail_attach,
  SYS_unlink,
  SYS_mkdir,
  SYS_rmdir,
  SYS_fstatat,
  SYS_getdirentries,
  type Sysent,
  type SyscallHandler,
} from '../sys/sysent.js';
import {
  sys_close,
  sys_dup,
  sys_fcntl,
  sys_getpid,
  sys_getppid,
  sys_getuid,
  sys_ioctl,
  sys_lseek,
  sys_open,
  sys_pread,
  sys_pwrite,
  sys_read,
  sys_write,
} from './sys_generic.js';
import { sys___sysctl } from './kern_sysctl_syscall.js';
import {
  sys_kldfind,
  sys_kldload,
  sys_kldnext,
  sys_kldstat,
  sys_kldsym,
  sys_kldunload,
  sys_kldunloadf,
} from './kern_kld_syscalls.js';
import type { Kernel } from './kernel.js';
import {
  SYS_accept,
  SYS_accept4,
  SYS_bind,
  SYS_connect,
  SYS_getpeername,
  SYS_getsockname,
  SYS_getsockopt,
  SYS_listen,
  SYS_poll as SYS_poll_,
  SYS_recvfrom,
  SYS_recvmsg,
  SYS_sendmsg,
  SYS_sendto,
  SYS_setsockopt,
  SYS_shutdown,
  SYS_socket as SYS_socket_,
  SYS_socketpair,
  sys_accept,
  sys_accept4,
  sys_bind,
  sys_connect,
  sys_getpeername,
  sys_getsockname,
  sys_getsockopt,
  sys_listen,
  sys_poll,
  sys_recvfrom,
  sys_recvmsg,
  sys_sendmsg,
  sys_sendto,
  sys_setsockopt,
  sys_shutdown,
  sys_socket,
  sys_socketpair,
  K as UIPC_SYSCALLS_K,
} from './uipc_syscalls.js';
import {
  sys___getcwd,
  sys_chdir,
  sys_clock_gettime,
  sys_exit,
  sys_kill,
  sys_nanosleep,
  sys_wait4,
} from './sys_process.js';
import { sys_pipe2 } from './sys_pipe.js';
import { sys_vimage_spawn } from './kern_exec.js';
import { sys_kldfirstmod, sys_modnext, sys_modstat } from './kern_module_syscalls.js';
import {
  sys_jail_attach,
  sys_jail_get,
  sys_jail_remove,
  sys_jail_set,
} from './kern_jail_syscalls.js';
import {
  sys_fstatat,
  sys_getdirentries,
  sys_mkdir,
  sys_rmdir,
  sys_unlink,
} from './vfs_syscalls.js';

export const SYS_kldunloadf = 444;

function se(sy_num: number, sy_name: string, sy_narg: number, sy_call: SyscallHandler): Sysent {
  return { sy_num, sy_name, sy_narg, sy_call };
}

/** init_sysent: the implemented entries, by number. */
export const sysent: ReadonlyMap<number, Sysent> = new Map(
  [
    se(SYS_read, 'read', 3, sys_read),
    se(SYS_write, 'write', 3, sys_write),
    se(SYS_open, 'open', 3, sys_open),
    se(SYS_close, 'close', 1, sys_close),
    se(SYS_getpid, 'getpid', 0, sys_getpid),
    se(SYS_getuid, 'getuid', 0, sys_getuid),
    se(SYS_geteuid, 'geteuid', 0, sys_getuid),
    se(SYS_getppid, 'getppid', 0, sys_getppid),
    se(SYS_dup, 'dup', 1, sys_dup),
    se(SYS_ioctl, 'ioctl', 3, sys_ioctl),
    se(SYS_fcntl, 'fcntl', 3, sys_fcntl),
    se(SYS___sysctl, '__sysctl', 6, sys___sysctl),
    se(SYS_kldload, 'kldload', 1, sys_kldload),
    se(SYS_kldunload, 'kldunload', 1, sys_kldunload),
    se(SYS_kldfind, 'kldfind', 1, sys_kldfind),
    se(SYS_kldnext, 'kldnext', 1, sys_kldnext),
    se(SYS_kldstat, 'kldstat', 2, sys_kldstat),
    se(SYS_kldsym, 'kldsym', 3, sys_kldsym),
    se(SYS_kldunloadf, 'kldunloadf', 2, sys_kldunloadf),
    se(SYS_pread, 'pread', 4, sys_pread),
    se(SYS_pwrite, 'pwrite', 4, sys_pwrite),
    se(SYS_lseek, 'lseek', 3, sys_lseek),
    se(SYS_exit, 'exit', 1, sys_exit),
    se(SYS_wait4, 'wait4', 4, sys_wait4),
    se(SYS_kill, 'kill', 2, sys_kill),
    se(SYS_nanosleep, 'nanosleep', 2, sys_nanosleep),
    se(SYS_clock_gettime, 'clock_gettime', 2, sys_clock_gettime),
    se(SYS_chdir, 'chdir', 1, sys_chdir),
    se(SYS___getcwd, '__getcwd', 2, sys___getcwd),
    se(SYS_pipe2, 'pipe2', 2, sys_pipe2),
    se(SYS_vimage_spawn, 'vimage_spawn', 5, sys_vimage_spawn),
    se(SYS_kldfirstmod, 'kldfirstmod', 1, sys_kldfirstmod),
    se(SYS_modnext, 'modnext', 1, sys_modnext),
    se(SYS_modstat, 'modstat', 2, sys_modstat),
    se(SYS_jail_set, 'jail_set', 3, sys_jail_set),
    se(SYS_jail_get, 'jail_get', 3, sys_jail_get),
    se(SYS_jail_remove, 'jail_remove', 1, sys_jail_remove),
    se(SYS_jail_attach, 'jail_attach', 1, sys_jail_attach),
    se(SYS_unlink, 'unlink', 1, sys_unlink),
    se(SYS_mkdir, 'mkdir', 2, sys_mkdir),
    se(SYS_rmdir, 'rmdir', 1, sys_rmdir),
    se(SYS_fstatat, 'fstatat', 4, sys_fstatat),
    se(SYS_getdirentries, 'getdirentries', 4, sys_getdirentries),
    /* Sockets (kern/uipc_syscalls.ts). */
    se(SYS_socket_, 'socket', 3, sys_socket),
    se(SYS_connect, 'connect', 3, sys_connect),
    se(SYS_bind, 'bind', 3, sys_bind),
    se(SYS_setsockopt, 'setsockopt', 5, sys_setsockopt),
    se(SYS_listen, 'listen', 2, sys_listen),
    se(SYS_getsockopt, 'getsockopt', 5, sys_getsockopt),
    se(SYS_recvfrom, 'recvfrom', 6, sys_recvfrom),
    se(SYS_sendto, 'sendto', 6, sys_sendto),
    se(SYS_recvmsg, 'recvmsg', 3, sys_recvmsg),
    se(SYS_sendmsg, 'sendmsg', 3, sys_sendmsg),
    se(SYS_shutdown, 'shutdown', 2, sys_shutdown),
    se(SYS_socketpair, 'socketpair', 4, sys_socketpair),
    se(SYS_accept, 'accept', 3, sys_accept),
    se(SYS_accept4, 'accept4', 4, sys_accept4),
    se(SYS_getpeername, 'getpeername', 3, sys_getpeername),
    se(SYS_getsockname, 'getsockname', 3, sys_getsockname),
    se(SYS_poll_, 'poll', 3, sys_poll),
  ].map((e) => [e.sy_num, e] as const),
);

export const K = new ObjFile('kern/kern_syscall.ts', VIMAGEID('src/kern/kern_syscall.ts'));

/**
 * A text symbol for every syscall handler (sys_<name>), so DDB can break on any of
 * them; handlers that declare their own (sys_ioctl) keep theirs.
 */
const sysent_syms: ReadonlyMap<number, TextSym> = new Map(
  [...sysent.values()]
    .filter(
      (e) =>
        !SYS_GENERIC_K.text.some((t) => t.name === `sys_${e.sy_name}`) &&
        !UIPC_SYSCALLS_K.text.some((t) => t.name === `sys_${e.sy_name}`),
    )
    .map((e) => [e.sy_num, K.TEXT(`sys_${e.sy_name}`)] as const),
);

/** The syscall's name (ktrace, DDB), or "#N" when unimplemented. */
export function syscallname(code: number): string {
  return sysent.get(code)?.sy_name ?? `#${code}`;
}

export interface SyscallResult {
  /** 0 or an errno. */
  readonly error: number;
  /** td_retval[0] (rax) on success. */
  readonly retval: number;
  /** td_retval[1] (rdx). */
  readonly retval1: number;
}

interface UserretHook {
  userret?: (td: Thread) => Promise<void> | void;
}

/** The trapframe of a syscall entry. */
function trapframe(td: Thread, code: number, e: Sysent | undefined, args: readonly number[]): void {
  const f = td.td_frame;
  f.tf_kind = 'syscall';
  f.tf_code = code;
  f.tf_name = e ? e.sy_name : `#${code}`;
  f.tf_args = args.length <= 6 ? (args as number[]) : args.slice(0, 6);
  f.tf_rip = e ? sysent_rip[code]! : 'nosys';
  f.tf_rax = 0;
}

function syscallret(td: Thread, error: number): number {
  if (error === ERESTART) error = EINTR;
  else if (error === EJUSTRETURN) error = 0;
  else if (error === ENOIOCTL) error = ENOTTY;
  td.td_frame.tf_rax = error !== 0 ? error : td.td_retval[0]!;
  if (error !== 0) td.td_errno = error;
  return error;
}

/** sysent by number, as arrays (the hot path's lookups): entry, rip, breakpoint symbol. */
const sysent_tab: (Sysent | undefined)[] = [];
const sysent_rip: string[] = [];
const sysent_bp: (TextSym | undefined)[] = [];
for (const e of sysent.values()) {
  sysent_tab[e.sy_num] = e;
  sysent_rip[e.sy_num] = `sys_${e.sy_name}`;
  sysent_bp[e.sy_num] = sysent_syms.get(e.sy_num);
}

/**
 * Enter the kernel from user thread td with syscall code and argument registers.
 *
 * Fast path: a handler that does not sleep returns a number, and when userret does not
 * switch either, the result comes back synchronously (no promise at all); otherwise a
 * promise of it (syscall_sleep, syscall_userret) — the caller awaits only that case.
 */
export function syscallenter(
  k: Kernel,
  td: Thread,
  code: number,
  args: readonly number[],
): SyscallResult | Promise<SyscallResult> {
  const e = code >= 0 && code < sysent_tab.length ? sysent_tab[code] : undefined;
  td.td_nsyscalls++;
  trapframe(td, code, e, args);
  let rv = td.td_retval as number[] | undefined;
  if (rv === undefined) {
    rv = [0, 0];
    td.td_retval = rv;
  } else {
    rv[0] = 0;
    rv[1] = 0;
  }
  k.load_registers(td);
  let error: number;
  if (e === undefined) error = ENOSYS;
  else {
    const bp = sysent_bp[code];
    if (bp !== undefined && bp.armed !== 0) kdb_bkpt(bp);
    const r = e.sy_call(td, args);
    if (typeof r !== 'number') return syscall_sleep(k, td, r, rv);
    error = r;
  }
  error = syscallret(td, error);
  const hook = (k as unknown as UserretHook).userret;
  if (typeof hook === 'function') {
    /* A userret that did not switch left td on the processor: its registers stay. */
    const u = hook.call(k, td);
    if (u !== undefined) return syscall_userret(k, td, u, error, rv);
  }
  return { error, retval: error === 0 ? rv[0]! : -1, retval1: rv[1]! };
}

/** A handler that returned a promise (it slept, or waited on the host): wait for it. */
async function syscall_sleep(
  k: Kernel,
  td: Thread,
  r: Promise<number>,
  rv: number[],
): Promise<SyscallResult> {
  let error = await r;
  k.load_registers(td);
  error = syscallret(td, error);
  const hook = (k as unknown as UserretHook).userret;
  if (typeof hook === 'function') {
    const u = hook.call(k, td);
    if (u !== undefined) await u;
    k.load_registers(td);
  }
  return { error, retval: error === 0 ? rv[0]! : -1, retval1: rv[1]! };
}

/** userret switched (or the hook is asynchronous): the result once td runs again. */
async function syscall_userret(
  k: Kernel,
  td: Thread,
  u: Promise<void>,
  error: number,
  rv: number[],
): Promise<SyscallResult> {
  await u;
  k.load_registers(td);
  return { error, retval: error === 0 ? rv[0]! : -1, retval1: rv[1]! };
}
