/*
 * sys/pcpu.ts — struct pcpu and dynamic per-CPU data (DPCPU).
 *
 * DPCPU_DEFINE(obj, name, type, init) puts a variable into its object's set_pcpu
 * section; the kernel linker lays them out in the master section (DPCPU_START), which
 * ends with `modspace` (DPCPU_MODMIN = 2048 bytes) for modules.  At boot every CPU gets a
 * block of DPCPU_SIZE bytes initialised from the master (dpcpu_init), and
 * dpcpu_off[cpu] = block address - DPCPU_START.  An access on the running CPU is one
 * indexed load from the `p*` processor registers; DPCPU_ID_* name another CPU;
 * DPCPU_SUM adds every CPU's copy, DPCPU_ZERO clears them all.
 *
 * curcpu belongs to the running thread: the scheduler loads the registers of the CPU
 * the thread runs on (host/cpu.ts).  The number of CPUs is chosen at boot (default 2).
 */

import { cpu } from '../host/cpu.js';
import { PM32, PMI32 } from '../host/physmem.js';
import type { Region } from '../kern/kern_region.js';
import type { Kernel } from '../kern/kernel.js';
import { curkernel } from '../kern/kern_cur.js';
import type { ObjFile, Relocatable } from './linker_set.js';
import { bytes, uint, u64 as u64t, i32 as i32t, type CType } from './types.js';
import type { Thread } from './proc.js';
import type { Vnet } from '../net/vnet.js';

export const DPCPU_SETNAME = 'set_pcpu';
export const DPCPU_SYMPREFIX = 'pcpu_entry_';
export const DPCPU_MODMIN = 2048;

/** struct pcpu: the fixed per-CPU structure (the fields DDB shows). */
export class Pcpu {
  pc_curthread: Thread | null = null;
  pc_idlethread: Thread | null = null;
  pc_curpcb = 0;
  /** dpcpu_off[cpuid]: block KVA - DPCPU_START. */
  pc_dynamic = 0;
  /** The CPU's dynamic per-CPU block. */
  pc_dyn: Region | null = null;
  /** The vnet the CPU's current thread is in (for show pcpu). */
  pc_curvnet: Vnet | null = null;
  constructor(readonly pc_cpuid: number) {}
}

abstract class PcpuVar implements Relocatable {
  off = -1;
  idx = -1;
  constructor(
    readonly name: string,
    readonly type: CType,
  ) {}
  reloc(off: number): void {
    this.off = off;
    this.idx = off >>> (this.type.size >= 4 ? 2 : 0);
  }
  protected block(k: Kernel, c: number): Region {
    const pc = k.pcpu[c];
    if (!pc || !pc.pc_dyn) throw new RangeError(`DPCPU: no CPU ${c}`);
    return pc.pc_dyn;
  }
  /** Kernel virtual address of the copy of CPU c (DPCPU_ID_PTR). */
  addr(c: number): number {
    const k = curkernel();
    return k.dpcpu_off[c]! + k.image.dpcpu_start + this.off;
  }
}

function unrelocated(): never {
  throw new Error('DPCPU accessor used before it was linked');
}

/** A DPCPU u_int. */
export class PcpuU32 extends PcpuVar {
  /** DPCPU_GET */
  get: () => number = unrelocated;
  /** DPCPU_SET */
  set: (v: number) => void = unrelocated;
  inc: (n?: number) => void = unrelocated;
  override reloc(off: number): void {
    super.reloc(off);
    const i = this.idx;
    const pm = PM32;
    const c = cpu;
    this.get = () => pm[c.pb32 + i]!;
    this.set = (v) => void (pm[c.pb32 + i] = v);
    this.inc = (n = 1) => void (pm[c.pb32 + i] = pm[c.pb32 + i]! + n);
  }
  /** DPCPU_ID_GET */
  getOn(c: number): number {
    return this.block(curkernel(), c).u32[this.idx]!;
  }
  /** DPCPU_ID_SET */
  setOn(c: number, v: number): void {
    this.block(curkernel(), c).u32[this.idx] = v;
  }
  /** DPCPU_SUM */
  sum(): number {
    const k = curkernel();
    let s = 0;
    for (let c = 0; c < k.mp_ncpus; c++) s += this.block(k, c).u32[this.idx]!;
    return s;
  }
  /** DPCPU_ZERO */
  zero(): void {
    const k = curkernel();
    for (let c = 0; c < k.mp_ncpus; c++) this.block(k, c).u32[this.idx] = 0;
  }
}

/** A DPCPU int. */
export class PcpuI32 extends PcpuVar {
  get: () => number = unrelocated;
  set: (v: number) => void = unrelocated;
  override reloc(off: number): void {
    super.reloc(off);
    const i = this.idx;
    const pm = PMI32;
    const c = cpu;
    this.get = () => pm[c.pb32 + i]!;
    this.set = (v) => void (pm[c.pb32 + i] = v);
  }
  getOn(c: number): number {
    return this.block(curkernel(), c).i32[this.idx]!;
  }
  sum(): number {
    const k = curkernel();
    let s = 0;
    for (let c = 0; c < k.mp_ncpus; c++) s += this.block(k, c).i32[this.idx]!;
    return s;
  }
}

/** A DPCPU uint64_t (exact below 2^53). */
export class PcpuU64 extends PcpuVar {
  get(): number {
    return cpu.p.getU64(this.off);
  }
  set(v: number): void {
    cpu.p.setU64(this.off, v);
  }
  add(n: number): void {
    const a = PM32;
    const i = cpu.pb32 + this.idx;
    const v = a[i]! + n;
    if (v > 0xffffffff) {
      a[i] = v - 4294967296;
      a[i + 1]!++;
    } else a[i] = v;
  }
  getOn(c: number): number {
    return this.block(curkernel(), c).getU64(this.off);
  }
  setOn(c: number, v: number): void {
    this.block(curkernel(), c).setU64(this.off, v);
  }
  sum(): number {
    const k = curkernel();
    let s = 0;
    for (let c = 0; c < k.mp_ncpus; c++) s += this.block(k, c).getU64(this.off);
    return s;
  }
  zero(): void {
    const k = curkernel();
    for (let c = 0; c < k.mp_ncpus; c++) this.block(k, c).setU64(this.off, 0);
  }
}

/** A DPCPU struct or array: byte views per CPU. */
export class PcpuBytes extends PcpuVar {
  override reloc(off: number): void {
    this.off = off;
    this.idx = off;
  }
  /** DPCPU_PTR: the current CPU's copy. */
  ptr(): Uint8Array {
    return cpu.p.u8.subarray(this.off, this.off + this.type.size);
  }
  /** DPCPU_ID_PTR */
  ptrOn(c: number): Uint8Array {
    return this.block(curkernel(), c).u8.subarray(this.off, this.off + this.type.size);
  }
  zero(): void {
    const k = curkernel();
    for (let c = 0; c < k.mp_ncpus; c++) this.ptrOn(c).fill(0);
  }
}

export function DPCPU_DEFINE_U32(obj: ObjFile, name: string, init = 0): PcpuU32 {
  const acc = new PcpuU32(name, uint);
  obj.pcpu.add(name, uint, init, acc);
  return acc;
}

export function DPCPU_DEFINE_INT(obj: ObjFile, name: string, init = 0): PcpuI32 {
  const acc = new PcpuI32(name, i32t);
  obj.pcpu.add(name, i32t, init, acc);
  return acc;
}

export function DPCPU_DEFINE_U64(obj: ObjFile, name: string, init = 0): PcpuU64 {
  const acc = new PcpuU64(name, u64t);
  obj.pcpu.add(name, u64t, init, acc);
  return acc;
}

export function DPCPU_DEFINE_BYTES(
  obj: ObjFile,
  name: string,
  type: CType,
  init?: Uint8Array,
): PcpuBytes {
  const acc = new PcpuBytes(name, type);
  obj.pcpu.add(name, type, init, acc);
  return acc;
}

export function DPCPU_MODSPACE_TYPE(): CType {
  return bytes(DPCPU_MODMIN, 8);
}
