/*
 * kern/kern_timeout.ts — callout(9): functions to run at a time in the future.
 *
 * FreeBSD keeps per-CPU callwheels (hash buckets by tick) and runs expired callouts in
 * a per-CPU softclock software interrupt thread.  Here one kernel has one callwheel: a
 * binary heap ordered by (c_time, c_seq) — deadline, then the order in which the
 * callouts were armed — so callouts due at the same instant always run in the same
 * order and a run is reproducible event for event.  The heap keeps each callout's
 * index, so callout_stop is O(log n).
 *
 * Expired callouts run in the softclock kernel thread ("swi4: clock (0)", created by
 * kern/kern_kthread.ts), one after the other, synchronously: a callout function may not
 * sleep (as in FreeBSD), may wake threads and re-arm callouts.  It runs with curvnet
 * unset and sets it itself (CURVNET_SET), as FreeBSD's network timers do.  An exception
 * escaping a callout is a panic.
 *
 * The scheduler (kern/sched.ts) decides when softclock runs: with the virtual clock it
 * advances time to the earliest deadline when nothing else is runnable; with the real
 * clock it keeps a host timer armed for that deadline (callwheel_changed tells it).
 *
 * Deliberate differences: no callout locks (one processor, no preemption inside a
 * callout), so callout_drain is callout_stop plus the check that the callout is not the
 * one running; no per-CPU wheels (c_cpu is recorded for show callout only);
 * precision/C_PREL flags are accepted and ignored.
 */

import { curkernel } from './kern_cur.js';
import type { Kernel } from './kernel.js';
import { ticks2sbt, type sbintime_t } from './kern_clock.js';

/* c_iflags / c_flags */
export const CALLOUT_LOCAL_ALLOC = 0x0001;
export const CALLOUT_ACTIVE = 0x0002;
export const CALLOUT_PENDING = 0x0004;
export const CALLOUT_MPSAFE = 0x0008;
export const CALLOUT_RETURNUNLOCKED = 0x0010;
export const CALLOUT_DIRECT = 0x0100;

/* callout_reset_sbt flags */
export const C_DIRECT_EXEC = 0x0001;
export const C_ABSOLUTE = 0x0200;

export type CalloutFunc = (arg: unknown) => void;

export class Callout {
  /** Absolute deadline (sbintime_t, ns of uptime). */
  c_time = 0;
  /** Arming order, the tie-breaker among equal deadlines. */
  c_seq = 0;
  c_flags = 0;
  c_func: CalloutFunc | null = null;
  c_arg: unknown = null;
  c_cpu = 0;
  /** Index in the heap, -1 when not pending. */
  c_idx = -1;
  /** The wheel the callout is armed on. */
  c_wheel: Callwheel | null = null;
}

/** The kernel's callwheel: a heap of pending callouts. */
export class Callwheel {
  readonly heap: Callout[] = [];
  private seq = 0;
  /** The callout whose function is running (cc_exec_entity). */
  cc_exec: Callout | null = null;
  /** Set when softclock should make another pass before sleeping. */
  cc_pending = false;
  /** Statistics. */
  ncalls = 0;

  constructor(readonly k: Kernel) {}

  get size(): number {
    return this.heap.length;
  }

  /** The earliest deadline, or +Infinity. */
  next_time(): number {
    const c = this.heap[0];
    return c ? c.c_time : Infinity;
  }

  private less(a: Callout, b: Callout): boolean {
    return a.c_time < b.c_time || (a.c_time === b.c_time && a.c_seq < b.c_seq);
  }

  private up(i: number): void {
    const h = this.heap;
    const c = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pc = h[p]!;
      if (!this.less(c, pc)) break;
      h[i] = pc;
      pc.c_idx = i;
      i = p;
    }
    h[i] = c;
    c.c_idx = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const c = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && this.less(h[r]!, h[l]!) ? r : l;
      const mc = h[m]!;
      if (!this.less(mc, c)) break;
      h[i] = mc;
      mc.c_idx = i;
      i = m;
    }
    h[i] = c;
    c.c_idx = i;
  }

  insert(c: Callout, t: number): void {
    const first = this.next_time();
    c.c_time = t;
    c.c_seq = ++this.seq;
    c.c_wheel = this;
    this.heap.push(c);
    this.up(this.heap.length - 1);
    if (t < first) this.k.sched.callwheel_changed();
  }

  remove(c: Callout): void {
    const i = c.c_idx;
    if (i < 0) return;
    const h = this.heap;
    const last = h.pop()!;
    c.c_idx = -1;
    if (last !== c) {
      h[i] = last;
      last.c_idx = i;
      this.down(i);
      this.up(last.c_idx);
    }
  }

  /**
   * A pending callout's new deadline, in place.  It takes a new c_seq as insert does,
   * so the (c_time, c_seq) order — the order callouts run in — is exactly what
   * remove + insert would leave, with one sift instead of three (a connection's
   * retransmission timer is re-armed by every ACK of a bulk transfer).  The scheduler
   * hears of it when the deadline is earlier than every other one, as with insert.
   */
  rekey(c: Callout, t: number): void {
    const h = this.heap;
    const i = c.c_idx;
    let first: number;
    if (i === 0) {
      const l = h[1];
      const r = h[2];
      first = Math.min(
        l !== undefined ? l.c_time : Infinity,
        r !== undefined ? r.c_time : Infinity,
      );
    } else first = h[0]!.c_time;
    const old = c.c_time;
    c.c_time = t;
    c.c_seq = ++this.seq;
    /* A later or equal deadline (with the newest c_seq) sorts after the old key. */
    if (t >= old) this.down(i);
    else this.up(i);
    if (t < first) this.k.sched.callwheel_changed();
  }

  /** Remove and return the earliest callout if it is due at `now`. */
  pop_due(now: number): Callout | null {
    const c = this.heap[0];
    if (!c || c.c_time > now) return null;
    this.remove(c);
    return c;
  }
}

/** callout_init(9): mpsafe is accepted for the API (there are no locks). */
export function callout_init(c: Callout, mpsafe = 1): void {
  if (c.c_idx >= 0 && c.c_wheel) c.c_wheel.remove(c);
  c.c_flags = mpsafe ? CALLOUT_MPSAFE : 0;
  c.c_func = null;
  c.c_arg = null;
  c.c_wheel = null;
}

/**
 * callout_reset_sbt(9): arm c to call fn(arg) at sbt (relative, or absolute with
 * C_ABSOLUTE).  Returns 1 if a pending callout was cancelled, else 0.
 */
export function callout_reset_sbt_on(
  c: Callout,
  sbt: sbintime_t,
  _pr: sbintime_t,
  fn: CalloutFunc,
  arg: unknown,
  cpu: number,
  flags: number,
): number {
  const k = c.c_wheel?.k ?? curkernel();
  const w = k.callwheel;
  const t = flags & C_ABSOLUTE ? sbt : k.clock.now() + Math.max(0, sbt);
  c.c_func = fn;
  c.c_arg = arg;
  c.c_cpu = cpu < 0 ? 0 : cpu;
  c.c_flags |= CALLOUT_PENDING | CALLOUT_ACTIVE;
  if (c.c_idx >= 0) {
    /* Pending: move it (on its own wheel, in place), which cancels the old deadline. */
    if (c.c_wheel === w) w.rekey(c, t);
    else {
      c.c_wheel!.remove(c);
      w.insert(c, t);
    }
    return 1;
  }
  w.insert(c, t);
  return 0;
}

export function callout_reset_sbt(
  c: Callout,
  sbt: sbintime_t,
  pr: sbintime_t,
  fn: CalloutFunc,
  arg: unknown,
  flags = 0,
): number {
  return callout_reset_sbt_on(c, sbt, pr, fn, arg, -1, flags);
}

/** callout_reset(9): in ticks; 0 or fewer ticks means one. */
export function callout_reset(c: Callout, ticks: number, fn: CalloutFunc, arg: unknown): number {
  return callout_reset_sbt_on(c, ticks2sbt(ticks), 0, fn, arg, -1, 0);
}

export function callout_reset_on(
  c: Callout,
  ticks: number,
  fn: CalloutFunc,
  arg: unknown,
  cpu: number,
): number {
  return callout_reset_sbt_on(c, ticks2sbt(ticks), 0, fn, arg, cpu, 0);
}

/** callout_schedule(9): re-arm with the function and argument it already has. */
export function callout_schedule(c: Callout, ticks: number): number {
  if (!c.c_func) return 0;
  return callout_reset(c, ticks, c.c_func, c.c_arg);
}

/** callout_stop(9): 1 if the callout was pending and is now cancelled, else 0. */
export function callout_stop(c: Callout): number {
  c.c_flags &= ~CALLOUT_ACTIVE;
  if (c.c_idx < 0) return 0;
  c.c_wheel!.remove(c);
  c.c_flags &= ~CALLOUT_PENDING;
  return 1;
}

/**
 * callout_drain(9): stop, and be sure the function is not running.  On one processor
 * a callout function cannot be running while another thread calls this, so only a
 * callout draining itself could find it running; that is a bug (it would deadlock in
 * FreeBSD) and panics.
 */
export function callout_drain(c: Callout): number {
  const w = c.c_wheel;
  if (w && w.cc_exec === c) {
    w.k.panic('callout_drain: callout drained from its own function');
    return 0;
  }
  return callout_stop(c);
}

export function callout_pending(c: Callout): boolean {
  return (c.c_flags & CALLOUT_PENDING) !== 0;
}
export function callout_active(c: Callout): boolean {
  return (c.c_flags & CALLOUT_ACTIVE) !== 0;
}
export function callout_deactivate(c: Callout): void {
  c.c_flags &= ~CALLOUT_ACTIVE;
}

/** A name for a callout function in traces. */
function fname(fn: CalloutFunc): string {
  return fn.name || 'anonymous';
}

/**
 * softclock(): run every callout whose deadline has passed, in (time, seq) order, in the
 * calling (softclock) thread.  Returns how many ran.  Callouts armed while it runs with
 * a deadline already passed run in the same pass.
 */
export function softclock(k: Kernel): number {
  const w = k.callwheel;
  const now = k.clock.now();
  let n = 0;
  for (;;) {
    if (k.panicstr !== null) break;
    const c = w.pop_due(now);
    if (!c) break;
    c.c_flags &= ~CALLOUT_PENDING;
    const fn = c.c_func!;
    const arg = c.c_arg;
    if (k.trace) k.trace.push(`callout ${fname(fn)} at ${c.c_time}`);
    w.cc_exec = c;
    w.ncalls++;
    n++;
    try {
      fn(arg);
    } catch (e) {
      w.cc_exec = null;
      k.panic(`callout ${fname(fn)}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      break;
    }
    w.cc_exec = null;
    // A callout must leave curvnet as it found it (unset).
    const td = k.sched.running;
    if (td && td.td_vnet !== null) {
      td.td_vnet = null;
      k.load_registers(td);
    }
  }
  return n;
}
