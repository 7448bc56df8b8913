/*
 * sys/sysent.ts — the system call ABI: numbers (sys/sys/syscall.h), the sysent entry
 * type (sys/sys/sysent.h) and the per-thread return registers.
 *
 * A handler receives the calling thread and the argument registers as numbers (user
 * addresses, descriptors, ints) and returns an errno; results go in td.td_retval[0..1]
 * (rax, rdx), which syscallenter (kern/kern_syscall.ts) zeroes before the call — as
 * FreeBSD does — and hands back to userland.  Numbers are FreeBSD's, so a trace of a
 * program reads like a ktrace of the same program on FreeBSD.
 *
 * td_retval is declared here by augmenting struct thread (sys/proc.ts belongs to the
 * process code); syscallenter creates it on a thread's first syscall.
 */

import type { Thread } from './proc.js';

declare module './proc.js' {
  interface Thread {
    /** Syscall return registers (rax, rdx); valid inside a syscall handler. */
    td_retval: number[];
  }
}

export type SyscallHandler = (td: Thread, args: readonly number[]) => number | Promise<number>;

/** struct sysent. */
export interface Sysent {
  readonly sy_num: number;
  readonly sy_name: string;
  readonly sy_narg: number;
  readonly sy_call: SyscallHandler;
}

/* sys/sys/syscall.h (the subset this kernel implements, FreeBSD's numbers). */
export const SYS_syscall = 0;
export const SYS_exit = 1;
export const SYS_fork = 2;
export const SYS_read = 3;
export const SYS_write = 4;
export const SYS_open = 5;
export const SYS_close = 6;
export const SYS_wait4 = 7;
export const SYS_getpid = 20;
export const SYS_getuid = 24;
export const SYS_geteuid = 25;
export const SYS_getppid = 39;
export const SYS_dup = 41;
export const SYS_ioctl = 54;
export const SYS_dup2 = 90;
export const SYS_fcntl = 92;
export const SYS_socket = 97;
export const SYS___sysctl = 202;
export const SYS_poll = 209;
export const SYS_kldload = 304;
export const SYS_kldunload = 305;
export const SYS_kldfind = 306;
export const SYS_kldnext = 307;
export const SYS_kldstat = 308;
export const SYS_kldfirstmod = 309;
export const SYS_kldsym = 337;
export const SYS_jail = 338;
export const SYS_jail_attach = 436;
export const SYS_pread = 475;
export const SYS_pwrite = 476;
export const SYS_lseek = 478;
export const SYS_jail_get = 506;
export const SYS_jail_set = 507;
export const SYS_jail_remove = 508;
/* Process, file and time calls (kern/sys_process.ts, sys_pipe.ts, kern_exec.ts). */
export const SYS_chdir = 12;
export const SYS_kill = 37;
export const SYS_clock_gettime = 232;
export const SYS_nanosleep = 240;
export const SYS___getcwd = 326;
export const SYS_pipe2 = 542;
/** posix_spawn as one call: not a FreeBSD system call (kern/kern_exec.ts). */
export const SYS_vimage_spawn = 700;
export const SYS_modnext = 300;
export const SYS_modstat = 301;
export const SYS_unlink = 10;
export const SYS_mkdir = 136;
export const SYS_rmdir = 137;
export const SYS_fstatat = 552;
export const SYS_getdirentries = 554;
