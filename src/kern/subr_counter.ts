/*
 * kern/subr_counter.ts — counter(9): per-CPU 64-bit counters.
 *
 * FreeBSD allocates a counter_u64_t from the UMA per-CPU zone: one 8-byte slot whose
 * copy for CPU c lives at the counter's address + c * UMA_PCPU_ALLOC_SIZE (a page).
 * Updates touch only the running CPU's copy (no atomics, no sharing); a fetch sums every
 * CPU's copy.  Stats structures such as ipstat are arrays of these (VNET_PCPUSTAT), so
 * the per-vnet data holds counter addresses and the values live here, per CPU.
 *
 * The arena is the per-CPU analogue of the DPCPU blocks: slabs of one page per CPU, laid
 * out in kernel virtual memory exactly as in the backing array, so a counter's address
 * converts to an array index with one subtraction and one shift:
 *
 *     slab s, CPU c, slot i  ->  ZPCPU_KVA + s * ncpu * PAGE_SIZE + c * PAGE_SIZE + i * 8
 *
 * libkvm's kvm_counter_u64_fetch reads the same addresses.  Values are little-endian
 * uint64_t (two 32-bit words); JavaScript numbers hold them exactly below 2^53.
 */

import { cpu } from '../host/cpu.js';
import { PAGE_SIZE } from '../sys/param.js';

export const ZPCPU_SLOTS = PAGE_SIZE / 8; // counters per slab
const PAGE_U32 = PAGE_SIZE / 4;

/** A counter_u64_t is the kernel virtual address of its CPU-0 copy. */
export type counter_u64_t = number;

export class CounterArena {
  u32: Uint32Array;
  nslabs = 0;
  /** Per slab: sorted free runs [start, len) of slots. */
  private readonly slabfree: { start: number; len: number }[][] = [];
  allocated = 0;

  constructor(
    readonly kva: number,
    readonly ncpu: number,
    /** The kernel owning this arena: its `zp` register is reloaded when the arena grows. */
    readonly owner: unknown,
  ) {
    this.u32 = new Uint32Array(0);
  }

  get slabBytes(): number {
    return this.ncpu * PAGE_SIZE;
  }

  private grow(): void {
    const s = this.nslabs++;
    const need = this.nslabs * this.ncpu * PAGE_U32;
    if (need > this.u32.length) {
      const n = new Uint32Array(Math.max(need, this.u32.length * 2));
      n.set(this.u32);
      this.u32 = n;
      if (cpu.kernel !== null && cpu.kernel === this.owner) cpu.zp = n;
    }
    this.slabfree[s] = [{ start: 0, len: ZPCPU_SLOTS }];
  }

  /** COUNTER_ARRAY_ALLOC: n contiguous counters (n <= 512), zeroed on every CPU. */
  alloc(n: number): counter_u64_t {
    if (n <= 0 || n > ZPCPU_SLOTS) throw new RangeError(`counter_u64_alloc: bad count ${n}`);
    for (;;) {
      for (let s = 0; s < this.nslabs; s++) {
        const runs = this.slabfree[s]!;
        for (let r = 0; r < runs.length; r++) {
          const run = runs[r]!;
          if (run.len < n) continue;
          const slot = run.start;
          if (run.len === n) runs.splice(r, 1);
          else {
            run.start += n;
            run.len -= n;
          }
          this.allocated += n;
          const addr = this.kva + s * this.slabBytes + slot * 8;
          this.zeroRange(addr, n);
          return addr;
        }
      }
      this.grow();
    }
  }

  /** COUNTER_ARRAY_FREE */
  free(addr: counter_u64_t, n: number): void {
    const rel = addr - this.kva;
    const s = Math.floor(rel / this.slabBytes);
    const slot = (rel - s * this.slabBytes) / 8;
    const runs = this.slabfree[s];
    if (!runs || slot < 0 || slot + n > ZPCPU_SLOTS)
      throw new RangeError('counter_u64_free: bad counter');
    let i = 0;
    while (i < runs.length && runs[i]!.start < slot) i++;
    runs.splice(i, 0, { start: slot, len: n });
    // Coalesce neighbours.
    for (let j = Math.max(0, i - 1); j < runs.length - 1;) {
      const a = runs[j]!;
      const b = runs[j + 1]!;
      if (a.start + a.len > b.start) throw new RangeError('counter_u64_free: double free');
      if (a.start + a.len === b.start) {
        a.len += b.len;
        runs.splice(j + 1, 1);
      } else if (j >= i) break;
      else j++;
    }
    this.allocated -= n;
  }

  /** u32 index of the CPU-0 low word of a counter. */
  index(addr: counter_u64_t): number {
    return (addr - this.kva) >>> 2;
  }

  /** counter_u64_fetch: the sum over CPUs. */
  fetch(addr: counter_u64_t): number {
    const base = this.index(addr);
    let sum = 0;
    for (let c = 0; c < this.ncpu; c++) {
      const i = base + c * PAGE_U32;
      sum += this.u32[i]! + this.u32[i + 1]! * 4294967296;
    }
    return sum;
  }

  /** The copy of one CPU. */
  fetchCpu(addr: counter_u64_t, c: number): number {
    const i = this.index(addr) + c * PAGE_U32;
    return this.u32[i]! + this.u32[i + 1]! * 4294967296;
  }

  /** counter_u64_zero on every CPU. */
  zero(addr: counter_u64_t): void {
    this.zeroRange(addr, 1);
  }

  private zeroRange(addr: counter_u64_t, n: number): void {
    const base = this.index(addr);
    for (let c = 0; c < this.ncpu; c++) {
      const i = base + c * PAGE_U32;
      this.u32.fill(0, i, i + n * 2);
    }
  }

  /** Raw bytes for kvm reads: [addr, addr + len) if inside the arena, else null. */
  bytes(addr: number, len: number): Uint8Array | null {
    const rel = addr - this.kva;
    if (rel < 0 || rel + len > this.nslabs * this.slabBytes) return null;
    return new Uint8Array(this.u32.buffer, rel, len);
  }
}

/**
 * counter_u64_add(c, inc): add to the running CPU's copy.  The arena of the kernel on the
 * processor is in the `zp` register; every kernel places it at ZPCPU_KVA.
 */
export function counter_u64_add(addr: counter_u64_t, inc: number): void {
  zpcpu_add((addr - ZPCPU_KVA) >>> 2, inc);
}

/**
 * counter_u64_add by the low word of the counter's address, as a structure of
 * counter_u64_t holds it first (little-endian): the arena is under 4 GiB, so the word
 * alone places the counter, in 32-bit arithmetic (the whole address is a double: a
 * float load, multiply and subtract on every count).  The XXXSTAT_INC/ADD of protocols.
 */
export function counter_u64_add_lo(lo: number, inc: number): void {
  zpcpu_add((lo - ZPCPU_KVA_LO) >>> 2, inc);
}

/**
 * Add inc to the running CPU's copy of the counter at u32 index i of the arena: the
 * store wraps the low word (ToUint32), and a sum outside it carries into or borrows
 * from the high word out of line.  This is inlined into every protocol's counting, and
 * V8 inlines by bytecode size.
 */
function zpcpu_add(i: number, inc: number): void {
  const zp = cpu.zp;
  i += cpu.cpuid * PAGE_U32;
  const v = zp[i]! + inc;
  zp[i] = v;
  if (v >>> 0 !== v) zpcpu_carry(zp, i, v);
}

/** zpcpu_add's sum v left the low word (stored wrapped): carry or borrow into the high. */
function zpcpu_carry(zp: Uint32Array, i: number, v: number): void {
  zp[i + 1] = zp[i + 1]! + Math.floor(v / 4294967296);
}

/** The KVA every kernel places its counter arena at (see kern/kern_kva.ts). */
export const ZPCPU_KVA = 0xffff88000000;
/** Its low word: a counter's offset in the arena is its address's low word minus it. */
const ZPCPU_KVA_LO = ZPCPU_KVA % 4294967296;
