/*
 * kern/subr_pcpu.ts — per-CPU structures and the DPCPU allocator.
 *
 * pcpu_init/dpcpu_init give each CPU its struct pcpu and a dynamic block initialised
 * from the master set_pcpu section; dpcpu_alloc/dpcpu_free hand out the module space
 * (first fit, 8-byte rounding, coalescing); dpcpu_copy propagates a module's initial
 * values to every CPU.  See sys/pcpu.ts for the accessors.
 */

import { Region } from './kern_region.js';
import { ModSpace } from './subr_modspace.js';
import type { Kernel } from './kernel.js';
import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { DPCPU_DEFINE_BYTES, DPCPU_MODMIN, DPCPU_MODSPACE_TYPE, Pcpu } from '../sys/pcpu.js';

export const K = new ObjFile('kern/subr_pcpu.ts', VIMAGEID('src/kern/subr_pcpu.ts'));

/** The kernel's own DPCPU `modspace`: DPCPU_MODMIN bytes for modules. */
export const DPCPU_modspace = DPCPU_DEFINE_BYTES(K, 'modspace', DPCPU_MODSPACE_TYPE());

/** pcpu_init + dpcpu_init for one CPU. */
export function pcpu_init(k: Kernel, cpuid: number): Pcpu {
  const pc = new Pcpu(cpuid);
  const block = new Region(k.image.dpcpu_size, k.kva_dpcpu(cpuid), 0, true);
  block.u8.set(k.dpcpu_ref.u8.subarray(0, k.image.dpcpu_bytes));
  pc.pc_dyn = block;
  pc.pc_dynamic = block.kva - k.image.dpcpu_start;
  k.dpcpu_off[cpuid] = pc.pc_dynamic;
  k.kva.map(block);
  return pc;
}

/** dpcpu_startup: the module-space free list. */
export function dpcpu_startup(): ModSpace {
  return new ModSpace('dpcpu', DPCPU_modspace.off, DPCPU_MODMIN);
}

/** dpcpu_copy(start, size): master -> every CPU. */
export function dpcpu_copy(k: Kernel, start: number, size: number): void {
  const src = k.dpcpu_ref.u8.subarray(start, start + size);
  for (const pc of k.pcpu) pc.pc_dyn!.u8.set(src, start);
}
