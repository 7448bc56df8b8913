/*
 * kern/kern_cur.ts — curkernel, curthread, curcpu: what the processor registers say.
 */

import { cpu } from '../host/cpu.js';
import type { Kernel } from './kernel.js';
import type { Thread } from '../sys/proc.js';

/** The kernel that is on the processor.  Panics (throws) when none is. */
export function curkernel(): Kernel {
  const k = cpu.kernel;
  if (k === null) throw new Error('curkernel: no kernel is running on this processor');
  return k as Kernel;
}

export function curthread(): Thread {
  const td = cpu.td;
  if (td === null) throw new Error('curthread: no thread is running on this processor');
  return td as Thread;
}

export function curthread_or_null(): Thread | null {
  return cpu.td as Thread | null;
}

export function curcpu(): number {
  return cpu.cpuid;
}
