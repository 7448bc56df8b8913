/*
 * kern/kern_clock.ts — hz, ticks, uptime and boot time.
 *
 * FreeBSD's hardclock() increments `ticks` hz times a second and the timecounter gives
 * sbinuptime().  Here there is no periodic interrupt: the kernel's injected clock
 * (host/clock.ts) is the timecounter, and `ticks` is derived from it on demand
 * (uptime / tick), so a virtual clock that jumps an hour moves ticks by 3,600,000 at
 * once.  hz is fixed at 1000.
 *
 * Units: `sbintime_t` in this kernel is nanoseconds since boot in a JS number (not
 * FreeBSD's 32.32 fixed point); write durations with the SBT_* constants and they mean
 * the same thing in both.  k.now() returns it.
 *
 * Sysctls: kern.hz (int) and kern.boottime (struct timeval), declared beside the
 * values they expose.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { CTLFLAG_RD, SYSCTL_CONST_INT, SYSCTL_OPAQUE_RO } from '../sys/sysctl.js';
import { curkernel } from './kern_cur.js';
import type { Kernel } from './kernel.js';

export const K = new ObjFile('kern/kern_clock.ts', VIMAGEID('src/kern/kern_clock.ts'));

/** sbintime_t: nanoseconds (see the file comment). */
export type sbintime_t = number;
export const SBT_1NS = 1;
export const SBT_1US = 1000;
export const SBT_1MS = 1000000;
export const SBT_1S = 1000000000;
export const SBT_1M = 60 * SBT_1S;

/** The clock interrupt rate. */
export const hz = 1000;
SYSCTL_CONST_INT(K, 'kern.hz', CTLFLAG_RD, hz, 'Number of clock ticks per second');

/** tick: microseconds per clock tick (as FreeBSD's `tick`). */
export const tick = 1000000 / hz;
/** tick_sbt: one tick as sbintime_t. */
export const tick_sbt = SBT_1S / hz;

/** sbinuptime(): the kernel's uptime, read from the clock. */
export function sbinuptime(k: Kernel = curkernel()): sbintime_t {
  return k.clock.now();
}

/** getsbinuptime(): the uptime as of the last clock interrupt (Clock.coarse). */
export function getsbinuptime(k: Kernel = curkernel()): sbintime_t {
  return k.clock.coarse();
}

/**
 * ticks: clock ticks since boot, as a wrapping int — as of the last clock interrupt,
 * as FreeBSD's hardclock-updated global (Clock.coarse: exact on the virtual clock).
 */
export function get_ticks(k: Kernel = curkernel()): number {
  return Math.floor(k.clock.coarse() / tick_sbt) | 0;
}

/** time_uptime: whole seconds since boot. */
export function time_uptime(k: Kernel = curkernel()): number {
  return Math.floor(k.clock.now() / SBT_1S);
}

/** time_second: wall-clock seconds since the epoch. */
export function time_second(k: Kernel = curkernel()): number {
  return Math.floor((k.clock.boottime + k.clock.now()) / SBT_1S);
}

export interface Timeval {
  tv_sec: number;
  tv_usec: number;
}

function ns2tv(ns: number): Timeval {
  const tv_sec = Math.floor(ns / SBT_1S);
  return { tv_sec, tv_usec: Math.floor((ns - tv_sec * SBT_1S) / SBT_1US) };
}

/** getmicrouptime(9) */
export function getmicrouptime(k: Kernel = curkernel()): Timeval {
  return ns2tv(k.clock.now());
}

/** getmicrotime(9): wall-clock time. */
export function getmicrotime(k: Kernel = curkernel()): Timeval {
  return ns2tv(k.clock.boottime + k.clock.now());
}

/** boottime: the wall-clock time of boot. */
export function getboottime(k: Kernel = curkernel()): Timeval {
  return ns2tv(k.clock.boottime);
}

/** Ticks to sbintime_t (a timeout of 0 or less is one tick, as callout_reset). */
export function ticks2sbt(ticks: number): sbintime_t {
  return (ticks <= 0 ? 1 : ticks) * tick_sbt;
}

/** tvtohz(9): a timeval to ticks, rounded up, at least 1. */
export function tvtohz(tv: Timeval): number {
  const us = tv.tv_sec * 1000000 + tv.tv_usec;
  return Math.max(1, Math.ceil(us / tick));
}

/** struct timeval on amd64: time_t tv_sec; suseconds_t (long) tv_usec — 16 bytes. */
SYSCTL_OPAQUE_RO(
  K,
  'kern.boottime',
  CTLFLAG_RD,
  () => {
    const tv = getboottime();
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    dv.setBigInt64(0, BigInt(tv.tv_sec), true);
    dv.setBigInt64(8, BigInt(tv.tv_usec), true);
    return b;
  },
  'S,timeval',
  'System boottime',
);
