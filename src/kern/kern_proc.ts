/*
 * kern/kern_proc.ts — processes and threads: ids, creation, exit, zombies, wait, kill.
 *
 * A process (struct proc, sys/proc.ts) has a pid, a command name, a credential naming
 * its jail, a parent and threads.  A user process runs an async function `main(td)`
 * (a userland program reaching the kernel only through syscalls); a kernel process
 * (kproc_create, kern_kthread.ts) runs kernel code.  Both are started by thread_start:
 * the thread goes on the run queue, and its function runs when the scheduler first
 * dispatches it, with its registers loaded.
 *
 * Life and death, as in FreeBSD's kern_exit.c:
 *   - a thread exits when its function returns (its value is the exit status), or at
 *     userret once its process is exiting, or by kern_exit (exit(2));
 *   - the last thread's exit runs exit1(): children are given to proc0 (there is no
 *     init), the jail loses a process (which may finish removing it), the process
 *     becomes a zombie and its parent is woken;
 *   - kern_wait (wait4(2)) reaps a zombie child: it leaves allproc, its pid is free.
 *     Children of proc0 (there is no init) are reaped as soon as they exit.
 *   - proc_kill (SIGKILL's effect; there are no other signals): P_WEXIT is set, every
 *     sleeping thread of the process is woken with EINTR, and each thread exits when it
 *     next returns to user mode, sleeps with PCATCH or returns from its function.  The
 *     wait status says "killed by signal 9".
 *
 * Ids: pids from 1 to PID_MAX, the next unused after the last one given (no random
 * pids); tids from 100001 up (thread0 is 100000), never reused within a boot.
 *
 * Visibility: a jailed process sees only processes of its own jail and of jails below
 * it (p_cansee, prison_check); others do not exist for it: ESRCH.
 */

import type { Kernel } from './kernel.js';
import {
  P_SYSTEM,
  P_WEXIT,
  PRS_NORMAL,
  PRS_ZOMBIE,
  PUSER,
  Proc,
  TDI_SLEEPING,
  TDS_CAN_RUN,
  TDS_INACTIVE,
  Thread,
  type Ucred,
} from '../sys/proc.js';
import { ECHILD, EINTR, ESRCH } from '../sys/errno.js';
import { FileDesc, fdescfree } from './kern_descrip.js';
import { sched_assert_running, thread_gone } from './sched.js';
import { PCATCH, _sleep, sleepq_abort, wakeup_k } from './kern_synch.js';
import { prison_check, prison_proc_free, prison_proc_hold } from './kern_jail.js';

export const PID_MAX = 99999;
export const NO_PID = 100000;
export const THREAD0_TID = 100000;

export const SIGKILL = 9;
export const WNOHANG = 1;

/* Wait status (sys/wait.h). */
export function W_EXITCODE(ret: number, sig: number): number {
  return ((ret & 0xff) << 8) | sig;
}
export function WIFEXITED(s: number): boolean {
  return (s & 0x7f) === 0;
}
export function WEXITSTATUS(s: number): number {
  return (s >> 8) & 0xff;
}
export function WIFSIGNALED(s: number): boolean {
  return (s & 0x7f) !== 0x7f && (s & 0x7f) !== 0;
}
export function WTERMSIG(s: number): number {
  return s & 0x7f;
}

/** The function a thread runs; a number it returns is its exit status. */
export type ThreadMain = (td: Thread) => Promise<number | void> | number | void;

/** Per-kernel id allocation. */
export class ProcTable {
  lastpid = 0;
  lasttid = THREAD0_TID;
}

/** pid allocation: the next pid after the last one that is not in use. */
export function pid_alloc(k: Kernel): number {
  const used = new Set<number>();
  for (const p of k.allproc) used.add(p.p_pid);
  let pid = k.ptab.lastpid;
  for (let n = 0; n < PID_MAX; n++) {
    pid = pid >= PID_MAX ? 1 : pid + 1;
    if (!used.has(pid)) {
      k.ptab.lastpid = pid;
      return pid;
    }
  }
  return -1;
}

export function tid_alloc(k: Kernel): number {
  return ++k.ptab.lasttid;
}

export interface ThreadOpts {
  /** Pin the thread to this CPU (sched_bind). */
  cpu?: number;
  pri?: number;
}

/** thread_alloc + thread_link: a new thread of p, not yet runnable. */
export function thread_alloc(
  k: Kernel,
  p: Proc,
  name: string,
  pri: number,
  opts: ThreadOpts = {},
): Thread {
  const td = new Thread(tid_alloc(k), p, name, opts.pri ?? pri);
  if (opts.cpu !== undefined && opts.cpu >= 0 && opts.cpu < k.mp_ncpus) {
    td.td_pinned = opts.cpu;
    td.td_lastcpu = opts.cpu;
  } else td.td_lastcpu = td.td_tid % k.mp_ncpus;
  td.td_oncpu = td.td_lastcpu;
  p.p_threads.push(td);
  return td;
}

function errstr(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

/**
 * Start td running fn: it goes on the run queue now and runs when dispatched.  An
 * exception escaping fn panics the kernel.
 */
export function thread_start(k: Kernel, td: Thread, fn: ThreadMain): void {
  const first = new Promise<number>((r) => {
    td.td_resume = r;
  });
  td.td_state = TDS_CAN_RUN;
  k.sched.setrunnable(td);
  const body = async (): Promise<void> => {
    await first;
    k.load_registers(td);
    let rv = 0;
    if (!(td.td_proc.p_flag & P_WEXIT)) {
      try {
        const r = await fn(td);
        if (typeof r === 'number') rv = r;
      } catch (e) {
        k.panic(
          `thread ${td.td_tid} (${td.td_name}): ${errstr(e)}`,
          e instanceof Error ? e : undefined,
        );
        return;
      }
      if (k.panicstr !== null) return;
      k.load_registers(td);
    }
    try {
      thread_exit(k, td, rv);
    } catch (e) {
      k.panic(`thread_exit ${td.td_tid} (${td.td_name}): ${errstr(e)}`);
    }
  };
  void body();
}

/**
 * thread_exit(): td leaves for good.  The last thread of a process takes the process
 * with it (exit1).  The processor goes to the next thread; the caller's JS continuation
 * must not touch the kernel again.
 */
export function thread_exit(k: Kernel, td: Thread, rv: number): void {
  const p = td.td_proc;
  td.td_state = TDS_INACTIVE;
  td.td_exitval = rv;
  td.td_inhibitors = 0;
  td.td_wchan = null;
  td.td_wmesg = null;
  const i = p.p_threads.indexOf(td);
  if (i >= 0) p.p_threads.splice(i, 1);
  if (k.trace) k.trace.push(`thread_exit ${td.td_tid}`);
  // The exiting thread no longer works in any vnet (its jail's may be destroyed now).
  td.td_vnet = null;
  if (k.sched.running === td) k.load_registers(td);
  if (p.p_threads.length === 0 && p !== k.proc0) exit1(k, p, rv);
  if (k.sched.running === td) k.sched.dispatch(td);
}

/** exit1(): the process becomes a zombie; its parent is told. */
export function exit1(k: Kernel, p: Proc, rv: number): void {
  if (p.p_state === PRS_ZOMBIE) return;
  p.p_flag |= P_WEXIT;
  p.p_xexit = rv;
  // fdescfree(): every descriptor's reference is dropped (the last one closes).
  if (p.p_fd !== null) k.enter(() => fdescfree(p.p_fd!), k.sched.running ?? k.thread0);
  p.p_fd = null;
  for (const c of p.p_children.splice(0)) {
    c.p_pptr = k.proc0;
    k.proc0.p_children.push(c);
  }
  p.p_state = PRS_ZOMBIE;
  p.p_exited = true;
  if (k.trace) k.trace.push(`exit ${p.p_pid} status ${proc_wstatus(p)}`);
  prison_proc_free(k, p.p_ucred.cr_prison);
  if (p.p_pptr) wakeup_k(k, p.p_pptr);
  wakeup_k(k, p);
  // proc0 stands in for init(8), which reaps its children at once: the zombie keeps its
  // state and status for whoever holds the Proc, but leaves allproc and frees its pid.
  if (p.p_pptr === k.proc0) proc_reap(k, p);
}

/** The wait(2) status of a zombie. */
export function proc_wstatus(p: Proc): number {
  return p.p_xsig !== 0 ? W_EXITCODE(0, p.p_xsig) : W_EXITCODE(p.p_xexit, 0);
}

/** proc_alloc: a new process (no threads yet) in allproc, child of parent. */
export function proc_alloc(k: Kernel, name: string, cred: Ucred, parent: Proc, flags = 0): Proc {
  const p = new Proc(pid_alloc(k), name, { ...cred });
  p.p_flag |= flags;
  p.p_state = PRS_NORMAL;
  p.p_pptr = parent;
  parent.p_children.push(p);
  k.allproc.push(p);
  prison_proc_hold(p.p_ucred.cr_prison);
  if (k.trace) k.trace.push(`fork ${p.p_pid} ${name}`);
  return p;
}

export interface ProcCreateOpts extends ThreadOpts {
  /** Parent process (default proc0). */
  parent?: Proc;
}

/**
 * Create a user process running main(td) with credential cred (its jail decides its
 * vnet).  It starts when the scheduler first dispatches it.
 */
export function proc_create(
  k: Kernel,
  name: string,
  cred: Ucred,
  main: ThreadMain,
  opts: ProcCreateOpts = {},
): Proc {
  const p = proc_alloc(k, name, cred, opts.parent ?? k.proc0);
  p.p_fd = new FileDesc();
  const td = thread_alloc(k, p, name, PUSER, opts);
  // FreeBSD user threads set curvnet at each syscall entry from their jail; ours
  // start in it, so kernel code they call directly finds the jail's vnet.
  td.td_vnet = k.vimage ? cred.cr_prison.pr_vnet : null;
  thread_start(k, td, main);
  return p;
}

/** thread_create(): another thread in a user process. */
export function thread_create(
  k: Kernel,
  p: Proc,
  name: string,
  fn: ThreadMain,
  opts: ThreadOpts = {},
): Thread | null {
  if (p.p_state !== PRS_NORMAL || p.p_flag & P_WEXIT) return null;
  const td = thread_alloc(k, p, name, PUSER, opts);
  td.td_vnet = k.vimage ? p.p_ucred.cr_prison.pr_vnet : null;
  thread_start(k, td, fn);
  return td;
}

/**
 * proc_kill(): SIGKILL.  Every sleeping thread is woken with EINTR; every thread exits
 * at its next return to user mode, PCATCH sleep, or the end of its function.
 */
export function proc_kill(k: Kernel, p: Proc, sig = SIGKILL): void {
  if (p.p_state !== PRS_NORMAL || p.p_flag & P_WEXIT) return;
  if (p.p_flag & P_SYSTEM) return;
  p.p_flag |= P_WEXIT;
  p.p_xsig = sig;
  if (k.trace) k.trace.push(`kill ${p.p_pid} ${sig}`);
  for (const td of [...p.p_threads])
    if (td.td_inhibitors & TDI_SLEEPING) sleepq_abort(k, td, EINTR);
}

/**
 * kern_exit (exit(2)): td's process exits with status rv.  Other threads are killed;
 * this one is gone at once (the returned promise never settles).
 */
export function kern_exit(k: Kernel, td: Thread, rv: number): Promise<never> {
  sched_assert_running(k, td, 'exit');
  const p = td.td_proc;
  if (!(p.p_flag & P_WEXIT)) {
    p.p_flag |= P_WEXIT;
    p.p_xexit = rv;
    for (const o of [...p.p_threads])
      if (o !== td && o.td_inhibitors & TDI_SLEEPING) sleepq_abort(k, o, EINTR);
  }
  thread_exit(k, td, rv);
  return thread_gone();
}

/** pfind(): a live (not zombie) process by pid. */
export function pfind(k: Kernel, pid: number): Proc | null {
  for (const p of k.allproc) if (p.p_pid === pid && p.p_state === PRS_NORMAL) return p;
  return null;
}

/** pfind_any(): live or zombie. */
export function pfind_any(k: Kernel, pid: number): Proc | null {
  for (const p of k.allproc) if (p.p_pid === pid) return p;
  return null;
}

/** p_cansee(): 0 if td may see p, else ESRCH (p's jail is not td's or below it). */
export function p_cansee(td: Thread, p: Proc): number {
  return prison_check(td.td_proc.p_ucred.cr_prison, p.p_ucred.cr_prison);
}

/** pget(pid) for td: the process if it exists and td may see it, else ESRCH. */
export function pfind_cansee(
  k: Kernel,
  td: Thread,
  pid: number,
): { error: number; p: Proc | null } {
  const p = pfind(k, pid);
  if (p === null || p_cansee(td, p) !== 0) return { error: ESRCH, p: null };
  return { error: 0, p };
}

/** kill(2) with SIGKILL: ESRCH for a process td cannot see. */
export function kern_kill(k: Kernel, td: Thread, pid: number, sig = SIGKILL): number {
  const r = pfind_cansee(k, td, pid);
  if (r.error !== 0 || r.p === null) return r.error;
  if (r.p.p_flag & P_SYSTEM) return ESRCH;
  proc_kill(k, r.p, sig);
  return 0;
}

/** Reap a zombie: it leaves allproc and its parent; its pid becomes free. */
export function proc_reap(k: Kernel, p: Proc): void {
  const i = k.allproc.indexOf(p);
  if (i >= 0) k.allproc.splice(i, 1);
  const q = p.p_pptr;
  if (q) {
    const j = q.p_children.indexOf(p);
    if (j >= 0) q.p_children.splice(j, 1);
  }
  p.p_pptr = null;
  if (k.trace) k.trace.push(`reap ${p.p_pid}`);
}

export interface WaitResult {
  error: number;
  pid: number;
  status: number;
}

/**
 * kern_wait (wait4(2)): wait for a child (pid > 0: that one; -1: any) to become a
 * zombie and reap it.  ECHILD if there is no such child; with WNOHANG, pid 0 if none
 * has exited yet; EINTR if td's process is killed while waiting.
 */
export async function kern_wait(
  k: Kernel,
  td: Thread,
  pid: number,
  options = 0,
): Promise<WaitResult> {
  const q = td.td_proc;
  for (;;) {
    let found = false;
    for (const c of q.p_children) {
      if (pid > 0 && c.p_pid !== pid) continue;
      found = true;
      if (c.p_state === PRS_ZOMBIE) {
        const status = proc_wstatus(c);
        proc_reap(k, c);
        return { error: 0, pid: c.p_pid, status };
      }
    }
    if (!found) return { error: ECHILD, pid: 0, status: 0 };
    if (options & WNOHANG) return { error: 0, pid: 0, status: 0 };
    const e = await _sleep(k, td, q, PCATCH, 'wait', 0);
    if (e !== 0) return { error: e, pid: 0, status: 0 };
  }
}
