/*
 * kern/sched.ts — the run queue and the context switch (sched_4bsd's role, one CPU).
 *
 * The machine has one physical processor: the JavaScript thread (host/cpu.ts holds its
 * registers).  A kernel or user thread is an async JS function; exactly one holds the
 * processor at a time (`Sched.running`).  A thread gives the processor away only at
 * well-defined points — tsleep, kern_yield, userret, exit — by a DIRECT HAND-OFF:
 *
 *   sched_block(td): record the context (td_pcb: a captured Error, whose stack V8
 *   fills with the async frames, and the blocking primitive's name), create the promise
 *   it will wait on (td_resume resolves it), then dispatch(): take the most urgent
 *   runnable thread (lowest td_pri, FIFO among equals), load its registers and resolve
 *   its promise; then await its own promise.  When resumed it reloads its own registers
 *   before returning to its caller, so curthread/curcpu/curvnet are right across awaits.
 *
 * When nothing is runnable the processor is idle:
 *   - VirtualClock: advance time to the earliest callout (or to the deadline of a
 *     run_for in progress, whichever comes first) and run softclock; with neither, the
 *     kernel is idle and run_until_idle() returns.  Time never moves while a thread is
 *     runnable, so everything is a function of the seed.
 *   - RealClock: a host timer stays armed for the earliest callout; when it fires (or
 *     any host event arrives through hostintr()) the processor is kicked if idle.  Every
 *     SCHED_DEFER_EVERY switches the hand-off goes through the host's macrotask queue so
 *     host timers and I/O are not starved.
 *
 * Preemption is cooperative: waking a thread more urgent than the running one sets
 * TDF_NEEDRESCHED on the running thread, and the syscall layer's userret (sched_userret)
 * yields when it is set, and every SCHED_SLICE returns to user mode for fairness.
 *
 * A wakeup never switches by itself; it only makes the thread runnable (setrunnable).
 * Host events enter through hostintr(fn): fn runs on thread0's registers, then the
 * processor is started if it was idle.
 *
 * Cost: capturing the JS stack at every block (pcb_capture, for the debugger's
 * `trace <tid>`) is most of a switch (~4 us of ~5 us; bench/thread_switch.ts); turning
 * it off keeps only pcb_where.
 *
 * A thread that awaits a host promise directly (not through a kernel primitive) keeps
 * the processor while it waits: nothing else in its kernel runs meanwhile.  Do not call
 * run_until_idle/run_for from a kernel thread (it would wait for itself).
 *
 * Deliberate differences from FreeBSD: no idle threads (an idle processor is
 * `running === null`), no priority decay or interactivity scoring (td_pri is fixed; the
 * priority argument of tsleep is not applied), no per-CPU run queues (a thread runs on
 * its pinned CPU or the CPU it last ran on, which only selects the DPCPU registers).
 * XXX: two kernels in one process must not run threads at the same time (each
 * kernel's threads reload their registers when resumed, but an interleaving in the same
 * microtask turn could leave the other kernel's registers loaded); drive one at a time.
 */

import type { Kernel } from './kernel.js';
import { wakeup_k } from './kern_synch.js';
import {
  P_KPROC,
  P_WEXIT,
  TDF_NEEDRESCHED,
  TDS_INACTIVE,
  TDS_RUNNING,
  TDS_RUNQ,
  type Thread,
} from '../sys/proc.js';

/** Yield every this many returns to user mode (round-robin among equals). */
export const SCHED_SLICE = 64;
/** With the real clock, hand off through the host's macrotask queue this often. */
export const SCHED_DEFER_EVERY = 256;
/** Priorities 0..255, one FIFO each. */
const NQS = 256;

export class PanicError extends Error {
  constructor(msg: string) {
    super(`panic: ${msg}`);
    this.name = 'PanicError';
  }
}

interface TimeWaiter {
  t: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface IdleWaiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

export class Sched {
  /** The thread holding the processor, or null when it is idle. */
  running: Thread | null = null;
  private readonly qs: Thread[][] = [];
  private readonly qbits = new Uint32Array(NQS / 32);
  /** Threads on the run queue. */
  runq_len = 0;
  /** Context switches so far. */
  nswitch = 0;
  /**
   * Capture the JS stack (td_pcb.pcb_stack) at every block, for the debugger's
   * `trace <tid>`.  It is most of the cost of a switch (a V8 stack capture with async
   * frames, ~4 us); with it off only pcb_where (the blocking primitive) is kept.
   */
  pcb_capture = true;
  /** Returns to user mode so far (for the fairness slice). */
  nuserret = 0;
  private readonly idle_waiters: IdleWaiter[] = [];
  private readonly time_waiters: TimeWaiter[] = [];
  /** Real clock: the host timer armed for the earliest callout. */
  private htimer: { t: number; h: unknown } | null = null;
  /** Sleep queues: wait channel -> sleepers in sleep order (kern_synch.ts). */
  readonly sleepq = new Map<unknown, Thread[]>();
  /** Stable names of object channels, in order of first use (chan_name). */
  readonly chan_ids = new WeakMap<object, number>();
  chan_lastid = 0;

  constructor(readonly k: Kernel) {
    for (let i = 0; i < NQS; i++) this.qs.push([]);
  }

  /* ---------------------------------------------------------------------------- */
  /* Run queue                                                                      */

  /** sched_add(): put td at the tail of its priority's queue. */
  sched_add(td: Thread): void {
    const p = td.td_pri < 0 ? 0 : td.td_pri > 255 ? 255 : td.td_pri;
    td.td_state = TDS_RUNQ;
    this.qs[p]!.push(td);
    this.qbits[p >> 5]! |= 1 << (p & 31);
    this.runq_len++;
  }

  /** runq_choose(): the most urgent runnable thread, removed from the queue. */
  runq_choose(): Thread | null {
    if (this.runq_len === 0) return null;
    for (let w = 0; w < this.qbits.length; w++) {
      const b = this.qbits[w]!;
      if (b === 0) continue;
      const p = (w << 5) + (31 - Math.clz32(b & -b));
      const q = this.qs[p]!;
      const td = q.shift()!;
      if (q.length === 0) this.qbits[w]! &= ~(1 << (p & 31));
      this.runq_len--;
      return td;
    }
    return null;
  }

  /** The priority of the most urgent runnable thread (256 if none). */
  runq_best_pri(): number {
    for (let w = 0; w < this.qbits.length; w++) {
      const b = this.qbits[w]!;
      if (b !== 0) return (w << 5) + (31 - Math.clz32(b & -b));
    }
    return NQS;
  }

  /** The threads on the run queue, in dispatch order (for ddb and tests). */
  runq_list(): Thread[] {
    const out: Thread[] = [];
    for (const q of this.qs) out.push(...q);
    return out;
  }

  /**
   * setrunnable(): a thread whose inhibitors are all gone goes on the run queue; if it
   * is more urgent than the running thread, that thread is asked to yield.
   */
  setrunnable(td: Thread): void {
    if (td.td_inhibitors !== 0 || td.td_state === TDS_INACTIVE) return;
    this.sched_add(td);
    const cur = this.running;
    if (cur !== null && td.td_pri < cur.td_pri) cur.td_flags |= TDF_NEEDRESCHED;
  }

  /* ---------------------------------------------------------------------------- */
  /* Dispatch                                                                       */

  /**
   * Give the processor to the next runnable thread.  `from` is the thread leaving the
   * processor (it has already recorded its new state), or null when the processor was
   * idle.  Never blocks; the chosen thread resumes from its own await.
   */
  dispatch(from: Thread | null): void {
    const k = this.k;
    const virt = k.clock.kind === 'virtual';
    k.clock.hardclock();
    for (;;) {
      if (k.panicstr !== null) {
        this.running = null;
        return;
      }
      const next = this.runq_choose();
      if (next !== null) {
        this.switch_to(from, next);
        return;
      }
      this.running = null;
      const tc = k.callwheel.next_time();
      if (virt) {
        const tw = this.time_waiters.length ? this.time_waiters[0]!.t : Infinity;
        if (tc !== Infinity && tc <= tw) {
          k.clock.advance(tc);
          this.softclock_wake();
          continue;
        }
        if (tw !== Infinity) {
          k.clock.advance(tw);
          this.resolve_time_waiters();
          return;
        }
        this.resolve_idle_waiters();
        return;
      }
      // Real clock.
      if (tc <= k.clock.now()) {
        this.softclock_wake();
        continue;
      }
      this.arm_host_timer();
      if (tc === Infinity) this.resolve_idle_waiters();
      return;
    }
  }

  private switch_to(from: Thread | null, next: Thread): void {
    const k = this.k;
    this.running = next;
    next.td_state = TDS_RUNNING;
    next.td_flags &= ~TDF_NEEDRESCHED;
    next.td_oncpu = next.td_pinned >= 0 ? next.td_pinned : next.td_lastcpu;
    this.nswitch++;
    if (k.trace) k.trace.push(`switch ${from ? from.td_tid : 'idle'}->${next.td_tid}`);
    const resume = next.td_resume;
    next.td_resume = null;
    if (resume === null) {
      k.panic(`sched_switch: thread ${next.td_tid} (${next.td_name}) has no continuation`);
      return;
    }
    k.load_registers(next);
    if (k.clock.kind === 'real' && this.nswitch % SCHED_DEFER_EVERY === 0)
      k.clock.defer(() => resume(next.td_slpret));
    else resume(next.td_slpret);
  }

  /** Wake the softclock thread (or, before it exists, run the callouts in place). */
  softclock_wake(): void {
    const k = this.k;
    const w = k.callwheel;
    const td = k.kthr.softclock_td;
    w.cc_pending = true;
    if (td === null || td.td_state === TDS_INACTIVE) {
      // No softclock thread (a kernel that was not booted): run them as thread0.
      k.kthr.softclock_inline(k);
      return;
    }
    if (td.td_wchan === w) wakeup_k(k, w);
    // Called from an idle processor, the thread must now be runnable; if it is not (it
    // is blocked elsewhere, a bug), run the callouts here rather than spin.
    if (this.running === null && td.td_state !== TDS_RUNQ) k.kthr.softclock_inline(k);
  }

  /** Start the processor if it is idle (host events, run_until_idle, run_for). */
  kick(): void {
    if (this.running === null) this.dispatch(null);
  }

  /**
   * An event from the host (timer, I/O): run fn as an interrupt — on thread0's
   * registers, outside any thread — then start the processor if it is idle.
   */
  hostintr(fn: () => void): void {
    const k = this.k;
    if (k.panicstr !== null) return;
    k.clock.hardclock();
    try {
      k.enter(fn);
    } catch (e) {
      k.panic(`interrupt: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.kick();
  }

  /**
   * Real clock: keep one host timer armed, no later than the earliest callout.  One
   * armed earlier stays: it fires, softclock finds nothing due, and the idle dispatch
   * arms the next one.  A connection's retransmission timer, pushed later by every ACK
   * of a bulk transfer, thus costs no host timer each time (clearTimeout and setTimeout
   * were a sixth of the epair path on the real clock).  With no callout left the timer
   * goes, so that it does not keep the host process alive.
   */
  private arm_host_timer(): void {
    const k = this.k;
    const t = k.callwheel.next_time();
    if (this.htimer && this.htimer.t <= t && t !== Infinity) return;
    if (this.htimer) k.clock.cancel(this.htimer.h as never);
    this.htimer = null;
    if (t === Infinity) return;
    const h = k.clock.timer(t, () => {
      this.htimer = null;
      this.hostintr(() => this.softclock_wake());
    });
    this.htimer = { t, h };
  }

  /** The earliest callout changed (kern_timeout calls this). */
  callwheel_changed(): void {
    if (this.k.clock.kind === 'real') this.arm_host_timer();
  }

  /* ---------------------------------------------------------------------------- */
  /* Waiting from the host                                                          */

  private resolve_idle_waiters(): void {
    const ws = this.idle_waiters.splice(0);
    for (const w of ws) w.resolve();
  }

  private resolve_time_waiters(): void {
    const now = this.k.clock.now();
    while (this.time_waiters.length && this.time_waiters[0]!.t <= now)
      this.time_waiters.shift()!.resolve();
  }

  /** Run until nothing is runnable and no callout is pending. */
  run_until_idle(): Promise<void> {
    const k = this.k;
    if (k.panicstr !== null) return Promise.reject(new PanicError(k.panicstr));
    return new Promise<void>((resolve, reject) => {
      this.idle_waiters.push({ resolve, reject });
      this.kick();
    });
  }

  /** Run for `seconds` of kernel time (virtual: exactly; real: host time passes). */
  run_for(seconds: number): Promise<void> {
    const k = this.k;
    if (k.panicstr !== null) return Promise.reject(new PanicError(k.panicstr));
    const t = k.clock.now() + Math.round(seconds * 1e9);
    return new Promise<void>((resolve, reject) => {
      if (k.clock.kind === 'real') {
        const w: TimeWaiter = { t, resolve, reject };
        this.time_waiters.push(w);
        k.clock.timer(t, () => {
          const i = this.time_waiters.indexOf(w);
          if (i >= 0) this.time_waiters.splice(i, 1);
          resolve();
        });
        this.kick();
        return;
      }
      let i = 0;
      while (i < this.time_waiters.length && this.time_waiters[i]!.t <= t) i++;
      this.time_waiters.splice(i, 0, { t, resolve, reject });
      this.kick();
    });
  }

  /** panic: stop dispatching and fail everyone waiting on the kernel. */
  halt(msg: string): void {
    this.running = null;
    const e = new PanicError(msg);
    for (const w of this.idle_waiters.splice(0)) w.reject(e);
    for (const w of this.time_waiters.splice(0)) w.reject(e);
    if (this.htimer) this.k.clock.cancel(this.htimer.h as never);
    this.htimer = null;
    this.k.clock.shutdown();
  }
}

/* ------------------------------------------------------------------------------ */
/* Blocking                                                                         */

/**
 * mi_switch for a thread that blocks: td has recorded why (sleeping, on the run queue,
 * or gone); save its context, hand the processor off, and wait to be resumed.
 * Resolves with the value the waker left in td_slpret.
 */
export async function sched_block(k: Kernel, td: Thread, where: string): Promise<number> {
  if (k.sched.pcb_capture) {
    // The saved context: deep enough to reach from the blocking point through the
    // syscall into the user program (V8 includes the awaiting async frames).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 32;
    td.td_pcb.pcb_stack = new Error(where);
    Error.stackTraceLimit = limit;
  } else td.td_pcb.pcb_stack = null;
  td.td_pcb.pcb_where = where;
  td.td_lastcpu = td.td_oncpu >= 0 ? td.td_oncpu : td.td_lastcpu;
  const p = new Promise<number>((r) => {
    td.td_resume = r;
  });
  k.sched.dispatch(td);
  const v = await p;
  k.load_registers(td);
  td.td_pcb.pcb_stack = null;
  td.td_pcb.pcb_where = '';
  return v;
}

/** The caller must be the thread on the processor (a broken invariant otherwise). */
export function sched_assert_running(k: Kernel, td: Thread, what: string): void {
  if (k.sched.running !== td)
    throw new Error(
      `${what}: thread ${td.td_tid} (${td.td_name}) is not on the processor ` +
        `(running: ${k.sched.running ? k.sched.running.td_tid : 'none'})`,
    );
}

/** kern_yield(): go to the back of the run queue and let others run. */
export async function kern_yield(k: Kernel, td: Thread): Promise<void> {
  sched_assert_running(k, td, 'kern_yield');
  k.sched.sched_add(td);
  await sched_block(k, td, 'kern_yield');
}

/** A promise that never settles: the continuation of a thread that has exited. */
export function thread_gone(): Promise<never> {
  return new Promise<never>(() => {});
}

/**
 * sched_userret(): on the way back to user mode.  A thread of an exiting process
 * exits here (the promise never settles: its user code never runs again); otherwise it
 * yields if a more urgent thread is waiting or its slice is used up.  When it neither
 * exits nor yields it returns synchronously (undefined): no promise on the way out.
 */
export function sched_userret(
  k: Kernel,
  td: Thread,
  exit: (k: Kernel, td: Thread) => void,
): Promise<void> | undefined {
  const p = td.td_proc;
  if (p.p_flag & P_WEXIT && !(p.p_flag & P_KPROC)) {
    exit(k, td);
    return thread_gone();
  }
  const s = k.sched;
  if (td.td_flags & TDF_NEEDRESCHED || ++s.nuserret % SCHED_SLICE === 0) {
    td.td_flags &= ~TDF_NEEDRESCHED;
    /* kern_yield reloads td's registers when td runs again. */
    if (s.running === td && s.runq_len > 0 && s.runq_best_pri() <= td.td_pri)
      return kern_yield(k, td);
  }
  k.load_registers(td);
  return undefined;
}
