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
 * `vb32` (with vb8/vb16) is the physical base of the current vnet's data region — the
 * vnet_data_base of FreeBSD's accessor — loaded by CURVNET_SET/RESTORE and at dispatch;
 * a VNET accessor reads physmem at vb32 + its offset.  `pb32` is the same for the
 * current CPU's DPCPU block.  In a kernel without `options VIMAGE` vb* point at the one
 * and only region and never change, and `vnet` is null (there is no curvnet).
 *
 * This, with the physical memory beside it, is the only mutable module-level state in
 * the program, and it lives in src/host because it models hardware, not kernel state.
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
  /** The current vnet data region, its physical base and object slots. */
  v: Region;
  vb8: number;
  vb16: number;
  vb32: number;
  vobj: unknown[];
  /** The current CPU's dynamic per-CPU block and its physical base. */
  p: Region;
  pb8: number;
  pb32: number;
  /** The kernel's counter(9) arena (all CPUs). */
  zp: Uint32Array;
}

export const cpu: CpuRegisters = {
  kernel: null,
  td: null,
  cpuid: 0,
  vnet: null,
  v: EMPTY_REGION,
  vb8: 0,
  vb16: 0,
  vb32: 0,
  vobj: EMPTY_REGION.objs,
  p: EMPTY_REGION,
  pb8: 0,
  pb32: 0,
  zp: new Uint32Array(0),
};

/** Load the vnet data registers from a region. */
export function cpu_load_vnet(r: Region): void {
  cpu.v = r;
  cpu.vb8 = r.b8;
  cpu.vb16 = r.b16;
  cpu.vb32 = r.b32;
  cpu.vobj = r.objs;
}

/** Load the per-CPU data registers from a CPU's dynamic block. */
export function cpu_load_pcpu(cpuid: number, r: Region): void {
  cpu.cpuid = cpuid;
  cpu.p = r;
  cpu.pb8 = r.b8;
  cpu.pb32 = r.b32;
}
