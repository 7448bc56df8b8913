/*
 * sys/systm.ts — panic(9) and KASSERT(9) for kernel code.
 *
 * panic(msg) records the message and enters the debugger where it is called (so the
 * trace shows the failing code), then unwinds the current thread with a PanicError; the
 * scheduler stops dispatching.  KASSERT(cond, msg) panics when cond is false.  Both are
 * for broken invariants only — bad input from the wire or from userland is an errno or a
 * counted drop, never a panic.
 */

import { curkernel } from '../kern/kern_cur.js';
import { PanicError } from '../kern/sched.js';

export function panic(msg: string): never {
  curkernel().panic(msg);
  throw new PanicError(msg);
}

export function KASSERT(cond: unknown, msg: string): asserts cond {
  if (!cond) panic(msg);
}
