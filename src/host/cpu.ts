/*
 * host/cpu.ts — the registers of the one physical processor.
 *
 * Node runs JavaScript on one thread: that thread is the machine's only physical
 * processor, and this object is its register file (the analogue of %gs pointing at
 * the running CPU's struct pcpu on amd64).  A kernel loads it whenever it puts a thread
 * on the processor: at dispatch, at every syscall entry, and when a blocking primitive
 * returns to its thread.  Nothing else in the program may hold "the current thread";
 * every kernel — several may live in one process — reaches its current thread, CPU and
 * vnet through these registers, so curthread/curcpu/curvnet are right across awaits.
 *
 * The vnet views (`vu32` ...) are a cache of the current vnet's data region, loaded by
 * CURVNET_SET/RESTORE and at dispatch.  In a kernel without `options VIMAGE` they point
 * at the one and only region and are never reloaded; `vnet` is then null (there is no
 * curvnet), and the accessors are the same single indexed load in both configurations.
 *
 * This is the only mutable module-level state in the program, and it lives in src/host
 * because it models hardware, not kernel state.
 */

import { EMPTY_REGION, type Region } from '../kern/kern_region.js';

/** Forward declarations of the kernel types the registers point at. */
export interface CpuKernel {
  readonly kid: number;
}
export interface CpuThread {
  readonly td_tid: number;
}
export interface CpuVnet {
  readonly v: Region;
}

export interface CpuRegisters {
  /** The kernel whose thread is on the processor. */
  kernel: CpuKernel | null;
  /** curthread */
  td: CpuThread | null;
  /** curcpu: the logical CPU the running thread is on. */
  cpuid: number;
  /** curvnet (VIMAGE), or null. */
  vnet: CpuVnet | null;
  /** The current vnet data region and its views. */
  v: Region;
  vu8: Uint8Array;
  vu16: Uint16Array;
  vu32: Uint32Array;
  vi32: Int32Array;
  vobj: unknown[];
  /** The current CPU's dynamic per-CPU block and its views. */
  p: Region;
  pu32: Uint32Array;
  pi32: Int32Array;
  /** The kernel's counter(9) arena (all CPUs). */
  zp: Uint32Array;
}

export const cpu: CpuRegisters = {
  kernel: null,
  td: null,
  cpuid: 0,
  vnet: null,
  v: EMPTY_REGION,
  vu8: EMPTY_REGION.u8,
  vu16: EMPTY_REGION.u16,
  vu32: EMPTY_REGION.u32,
  vi32: EMPTY_REGION.i32,
  vobj: EMPTY_REGION.objs,
  p: EMPTY_REGION,
  pu32: EMPTY_REGION.u32,
  pi32: EMPTY_REGION.i32,
  zp: new Uint32Array(0),
};

/** Load the vnet data registers from a region. */
export function cpu_load_vnet(r: Region): void {
  cpu.v = r;
  cpu.vu8 = r.u8;
  cpu.vu16 = r.u16;
  cpu.vu32 = r.u32;
  cpu.vi32 = r.i32;
  cpu.vobj = r.objs;
}

/** Load the per-CPU data registers from a CPU's dynamic block. */
export function cpu_load_pcpu(cpuid: number, r: Region): void {
  cpu.cpuid = cpuid;
  cpu.p = r;
  cpu.pu32 = r.u32;
  cpu.pi32 = r.i32;
}
