/*
 * host/clock.ts — the kernel's injected clock: the host's timers, or virtual time.
 *
 * The kernel never reads host time itself (eslint forbids Date.now, setTimeout and
 * performance.now outside src/host): it asks its Clock.  Time is kept as nanoseconds
 * since boot in a JS number (exact up to 2^53 ns, about 104 days of uptime); the kernel
 * calls that unit `sbintime_t` (kern/kern_clock.ts) even though FreeBSD's is 32.32
 * fixed point, so code written `5 * SBT_1S` reads the same.
 *
 * - RealClock: monotonic host time (process.hrtime) and host timers (setTimeout).  The
 *   scheduler (kern/sched.ts) keeps one host timer armed for the earliest callout; when
 *   it fires the softclock thread is made runnable and dispatched if the processor is
 *   idle.  `defer` hands a continuation to the host's macrotask queue so that a busy
 *   kernel still lets host I/O and timers in.
 *
 * - VirtualClock: time only moves when the scheduler says so.  When nothing is runnable
 *   the scheduler advances it to the next callout deadline and runs softclock, so a
 *   one-hour timeout costs one jump, and a run is a pure function of its inputs and the
 *   seed.  Its timers never fire and `defer` runs at once.
 *
 * This file is host glue: it is the only place kernel time touches the machine.
 */

/** A host timer handle (opaque to the kernel). */
export interface ClockTimer {
  readonly t: number;
}

export interface Clock {
  readonly kind: 'real' | 'virtual';
  /** Nanoseconds since boot, monotonic. */
  now(): number;
  /**
   * Nanoseconds since boot as of the last hardclock() or now() — FreeBSD's
   * getsbinuptime() and `ticks`, which hardclock updates, against sbinuptime()'s read
   * of the timecounter.  A real clock's read costs a call into the host (~60 ns, and
   * TCP asks for `ticks` several times a segment); this costs a field.  A virtual
   * clock's is now().
   */
  coarse(): number;
  /**
   * The clock interrupt: bring coarse() up to date.  The scheduler calls it at every
   * dispatch and host interrupt, and the netisr threads between work items, so coarse
   * time is at most one run of kernel code behind.
   */
  hardclock(): void;
  /** Wall-clock time at boot in nanoseconds since the Unix epoch (kern.boottime). */
  readonly boottime: number;
  /** Virtual clocks: move time forward to t (never backwards).  Real clocks ignore it. */
  advance(t: number): void;
  /** Call fn once when uptime reaches t (host timer).  Virtual clocks return null. */
  timer(t: number, fn: () => void): ClockTimer | null;
  cancel(h: ClockTimer | null): void;
  /** Run fn from the host's macrotask queue (real) or at once (virtual). */
  defer(fn: () => void): void;
  /** Cancel every host timer (kernel halted). */
  shutdown(): void;
  /**
   * Stop time (the debugger is active): returns the function that starts it again.
   * A real clock excludes the stopped interval from uptime; a virtual one never moves
   * by itself.
   */
  freeze(): () => void;
}

/** Nanoseconds at 2026-01-01T00:00:00Z: the default wall time of a virtual boot. */
export const VIRTUAL_EPOCH_NS = 1767225600 * 1e9;

export class VirtualClock implements Clock {
  readonly kind = 'virtual';
  private t = 0;
  readonly boottime: number;
  constructor(boottime: number = VIRTUAL_EPOCH_NS) {
    this.boottime = boottime;
  }
  now(): number {
    return this.t;
  }
  coarse(): number {
    return this.t;
  }
  hardclock(): void {}
  advance(t: number): void {
    if (t > this.t) this.t = t;
  }
  timer(_t: number, _fn: () => void): ClockTimer | null {
    return null;
  }
  cancel(_h: ClockTimer | null): void {}
  defer(fn: () => void): void {
    fn();
  }
  shutdown(): void {}
  freeze(): () => void {
    return () => {};
  }
}

interface RealTimer extends ClockTimer {
  h: ReturnType<typeof setTimeout>;
}

export class RealClock implements Clock {
  readonly kind = 'real';
  private base: bigint;
  readonly boottime: number;
  private readonly timers = new Set<RealTimer>();
  /** Host nanoseconds spent frozen (in the debugger), excluded from uptime. */
  frozen_ns = 0;
  constructor() {
    this.base = process.hrtime.bigint();
    this.boottime = Date.now() * 1e6;
  }
  /** The last reading (coarse()). */
  private last = 0;
  now(): number {
    return (this.last = Number(process.hrtime.bigint() - this.base));
  }
  coarse(): number {
    return this.last;
  }
  hardclock(): void {
    this.now();
  }
  advance(_t: number): void {}
  timer(t: number, fn: () => void): ClockTimer {
    const ms = Math.max(0, Math.ceil((t - this.now()) / 1e6));
    const rt: RealTimer = {
      t,
      h: setTimeout(() => {
        this.timers.delete(rt);
        fn();
      }, ms),
    };
    this.timers.add(rt);
    return rt;
  }
  cancel(h: ClockTimer | null): void {
    if (h === null) return;
    const rt = h as RealTimer;
    if (this.timers.delete(rt)) clearTimeout(rt.h);
  }
  defer(fn: () => void): void {
    setImmediate(fn);
  }
  shutdown(): void {
    for (const rt of this.timers) clearTimeout(rt.h);
    this.timers.clear();
  }
  freeze(): () => void {
    const t0 = process.hrtime.bigint();
    return () => {
      const d = process.hrtime.bigint() - t0;
      this.base += d;
      this.frozen_ns += Number(d);
    };
  }
}

/** A host source of entropy for seeding a real-clock kernel that was given no seed. */
export function host_entropy_seed(): number {
  return (Math.random() * 0x100000000) >>> 0;
}

export function make_clock(kind: 'real' | 'virtual'): Clock {
  return kind === 'real' ? new RealClock() : new VirtualClock();
}
