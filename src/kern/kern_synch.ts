/*
 * kern/kern_synch.ts — sleep and wakeup on wait channels (tsleep(9), wakeup(9)).
 *
 * A wait channel is any JS value (usually the object being waited for; FreeBSD uses
 * its address).  Each kernel keeps one sleep queue per channel with sleepers in the
 * order they went to sleep (Sched.sleepq).  tsleep puts curthread on the queue, marks
 * it TDI_SLEEPING with td_wchan/td_wmesg, arms its private timeout callout if asked, and
 * hands the processor off (sched_block).  It returns what woke it:
 *
 *   0            wakeup(chan) or wakeup_one(chan)
 *   EWOULDBLOCK  the timeout expired (35, the same number as EAGAIN)
 *   EINTR        the sleep was aborted (sleepq_abort): the process is being killed
 *   ERESTART     aborted by a caller asking for the syscall to be restarted
 *
 * wakeup makes every sleeper runnable in sleep order (so among equal priorities they
 * run FIFO); wakeup_one only the first.  Neither switches: the woken thread runs when
 * the waker blocks or yields (a more urgent one sets TDF_NEEDRESCHED on the waker).
 *
 * Interruption: there are no signals; killing a process (kern_proc.ts proc_kill) aborts
 * every sleep of its threads with EINTR, and from then on a PCATCH sleep by one of its
 * threads fails at once with EINTR, while a sleep without PCATCH still sleeps (cleanup
 * paths may need to wait).  Kernel processes are never interrupted this way.
 *
 * Deliberate differences: no interlock (msleep's mutex) is needed on one processor
 * with no preemption, so msleep == tsleep; the priority in `pri` is not applied to the
 * thread; every sleep is on one list per channel (no hash of sleepqueue chains).
 */

import type { Kernel } from './kernel.js';
import { curkernel, curthread } from './kern_cur.js';
import { sched_assert_running, sched_block } from './sched.js';
import { Callout, callout_reset_sbt_on, callout_stop } from './kern_timeout.js';
import { ticks2sbt, type sbintime_t } from './kern_clock.js';
import {
  P_KPROC,
  P_WEXIT,
  Proc,
  TDF_SINTR,
  TDF_TIMEOUT,
  TDI_SLEEPING,
  TDS_INHIBITED,
  Thread,
} from '../sys/proc.js';
import { EINTR, EWOULDBLOCK } from '../sys/errno.js';

/* tsleep priority flags (sys/param.h) */
export const PRIMASK = 0x0ff;
export const PCATCH = 0x100; /* OR'd with pri for tsleep to check signals */
export const PDROP = 0x200; /* OR'd with pri to stop re-entry of interlock mutex */
export const PNOLOCK = 0x400;

/** A stable, run-independent name for a channel (for traces and ddb). */
export function chan_name(k: Kernel, chan: unknown): string {
  if (typeof chan === 'string') return chan;
  if (typeof chan === 'number') return `0x${chan.toString(16)}`;
  if (chan instanceof Thread) return `td${chan.td_tid}`;
  if (chan instanceof Proc) return `proc${chan.p_pid}`;
  if (chan !== null && (typeof chan === 'object' || typeof chan === 'function')) {
    const ids = k.sched.chan_ids;
    let id = ids.get(chan);
    if (id === undefined) ids.set(chan, (id = ++k.sched.chan_lastid));
    const ctor = (chan as { constructor?: { name?: string } }).constructor?.name ?? 'chan';
    return `${ctor}#${id}`;
  }
  return String(chan);
}

/** Take td off its sleep queue and make it runnable with return value rv. */
function sleepq_resume_thread(k: Kernel, td: Thread, rv: number): void {
  td.td_wchan = null;
  td.td_wmesg = null;
  td.td_inhibitors &= ~TDI_SLEEPING;
  td.td_flags &= ~(TDF_SINTR | TDF_TIMEOUT);
  td.td_slpret = rv;
  if (td.td_slpcallout !== null) callout_stop(td.td_slpcallout);
  k.sched.setrunnable(td);
}

function sleepq_remove_from(k: Kernel, td: Thread): void {
  const q = k.sched.sleepq.get(td.td_wchan);
  if (!q) return;
  const i = q.indexOf(td);
  if (i >= 0) q.splice(i, 1);
  if (q.length === 0) k.sched.sleepq.delete(td.td_wchan);
}

/** The timeout callout of a sleeping thread. */
function sleepq_timeout(arg: unknown): void {
  const td = arg as Thread;
  const k = curkernel();
  if (!(td.td_inhibitors & TDI_SLEEPING)) return;
  sleepq_remove_from(k, td);
  if (k.trace) k.trace.push(`timeout ${td.td_tid}`);
  sleepq_resume_thread(k, td, EWOULDBLOCK);
}

/**
 * The common sleep: curthread sleeps on chan (null: a private channel, as pause(9))
 * for at most sbt (0: no timeout).  Resolves 0, EWOULDBLOCK, EINTR or ERESTART.
 */
export async function _sleep(
  k: Kernel,
  td: Thread,
  chan: unknown,
  pri: number,
  wmesg: string,
  sbt: sbintime_t,
  flags = 0,
): Promise<number> {
  sched_assert_running(k, td, 'tsleep');
  const p = td.td_proc;
  if (pri & PCATCH && p.p_flag & P_WEXIT && !(p.p_flag & P_KPROC)) return EINTR;
  const wchan = chan === null || chan === undefined ? td : chan;
  td.td_wchan = wchan;
  td.td_wmesg = wmesg;
  td.td_inhibitors |= TDI_SLEEPING;
  td.td_state = TDS_INHIBITED;
  td.td_slpret = 0;
  if (pri & PCATCH) td.td_flags |= TDF_SINTR;
  else td.td_flags &= ~TDF_SINTR;
  const sq = k.sched.sleepq;
  const q = sq.get(wchan);
  if (q) q.push(td);
  else sq.set(wchan, [td]);
  if (sbt > 0) {
    if (td.td_slpcallout === null) td.td_slpcallout = new Callout();
    td.td_flags |= TDF_TIMEOUT;
    callout_reset_sbt_on(td.td_slpcallout, sbt, 0, sleepq_timeout, td, td.td_oncpu, flags);
  }
  if (k.trace) k.trace.push(`sleep ${td.td_tid} ${chan_name(k, wchan)} "${wmesg}"`);
  return sched_block(k, td, 'sleepq_switch');
}

/**
 * tsleep(9): sleep on chan for at most timo ticks (0: forever).  pri may carry PCATCH.
 * The running thread must be curthread.
 */
export function tsleep(chan: unknown, pri: number, wmesg: string, timo: number): Promise<number> {
  const k = curkernel();
  return _sleep(k, curthread(), chan, pri, wmesg, timo > 0 ? ticks2sbt(timo) : 0);
}

/** msleep(9): the interlock is not needed on one processor (see the file comment). */
export function msleep(
  chan: unknown,
  _mtx: unknown,
  pri: number,
  wmesg: string,
  timo: number,
): Promise<number> {
  return tsleep(chan, pri, wmesg, timo);
}

/** tsleep_sbt(9): the timeout as sbintime_t (relative unless C_ABSOLUTE in flags). */
export function tsleep_sbt(
  chan: unknown,
  pri: number,
  wmesg: string,
  sbt: sbintime_t,
  _pr: sbintime_t = 0,
  flags = 0,
): Promise<number> {
  const k = curkernel();
  return _sleep(k, curthread(), chan, pri, wmesg, sbt, flags);
}

/** pause(9): sleep timo ticks; returns 0 when the time is up (EINTR if killed). */
export async function pause(wmesg: string, timo: number): Promise<number> {
  const e = await tsleep(null, 0, wmesg, timo <= 0 ? 1 : timo);
  return e === EWOULDBLOCK ? 0 : e;
}

/** pause_sbt(9) */
export async function pause_sbt(
  wmesg: string,
  sbt: sbintime_t,
  pr = 0,
  flags = 0,
): Promise<number> {
  const e = await tsleep_sbt(null, 0, wmesg, sbt > 0 ? sbt : 1, pr, flags);
  return e === EWOULDBLOCK ? 0 : e;
}

/** wakeup(9) on a given kernel: every sleeper, in sleep order.  Returns how many. */
export function wakeup_k(k: Kernel, chan: unknown): number {
  const q = k.sched.sleepq.get(chan);
  if (!q) return 0;
  k.sched.sleepq.delete(chan);
  if (k.trace) k.trace.push(`wakeup ${chan_name(k, chan)} n=${q.length}`);
  for (const td of q) sleepq_resume_thread(k, td, 0);
  return q.length;
}

/** wakeup_one(9) on a given kernel: the first sleeper only. */
export function wakeup_one_k(k: Kernel, chan: unknown): number {
  const q = k.sched.sleepq.get(chan);
  if (!q) return 0;
  const td = q.shift()!;
  if (q.length === 0) k.sched.sleepq.delete(chan);
  if (k.trace) k.trace.push(`wakeup_one ${chan_name(k, chan)} td${td.td_tid}`);
  sleepq_resume_thread(k, td, 0);
  return 1;
}

/** wakeup(9): make every thread sleeping on chan runnable. */
export function wakeup(chan: unknown): void {
  wakeup_k(curkernel(), chan);
}

/** wakeup_one(9): make the first thread sleeping on chan runnable. */
export function wakeup_one(chan: unknown): void {
  wakeup_one_k(curkernel(), chan);
}

/**
 * sleepq_abort(): interrupt td's sleep with intrval (EINTR or ERESTART).  Returns
 * whether it was sleeping.
 */
export function sleepq_abort(k: Kernel, td: Thread, intrval: number): boolean {
  if (!(td.td_inhibitors & TDI_SLEEPING)) return false;
  sleepq_remove_from(k, td);
  if (k.trace) k.trace.push(`abort ${td.td_tid} ${intrval}`);
  sleepq_resume_thread(k, td, intrval);
  return true;
}

/** The threads sleeping on chan, in order (for ddb and tests). */
export function sleepq_sleepers(k: Kernel, chan: unknown): readonly Thread[] {
  return k.sched.sleepq.get(chan) ?? [];
}
