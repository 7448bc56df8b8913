/*
 * kern/kern_region.ts — a contiguous block of kernel memory with typed views.
 *
 * Every instance of a data set (the reference image of set_vnet, each vnet's copy, the
 * master set_pcpu section, each CPU's dynamic per-CPU block) is one Region: the same
 * layout as its template, and a kernel virtual address (KVA) so that kvm readers and the
 * debugger can name it.  Regions that accessors reach through the processor registers
 * live in physical memory (host/physmem.ts) and know their base there (b8/b16/b32);
 * small structures (struct vnet, kernel .data) have a buffer of their own.
 *
 * A vnet's Region also carries its object slots: the per-vnet state that cannot live in
 * bytes (hash tables, lists, interface objects), created by VNET_SYSINITs.
 */

import {
  PM8,
  PMI8,
  PM16,
  PMI16,
  PM32,
  PMI32,
  physmem_alloc,
  physmem_free,
} from '../host/physmem.js';

export class Region {
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly u16: Uint16Array;
  readonly i16: Int16Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly dv: DataView;
  /** Base in physical memory in bytes, 16-bit and 32-bit units (0 = the NULL guard). */
  readonly b8: number;
  readonly b16: number;
  readonly b32: number;
  /** Object slots (vnet regions only). */
  objs: unknown[];
  private freed = false;

  constructor(
    readonly size: number,
    /** Kernel virtual address of byte 0. */
    public kva: number,
    nslots = 0,
    /** Allocate in physical memory (needed for register-relative accessors). */
    readonly phys = false,
  ) {
    if (size % 8 !== 0) throw new RangeError(`Region size ${size} is not a multiple of 8`);
    if (phys && size > 0) {
      const off = physmem_alloc(size);
      if (off < 0) throw new RangeError(`physmem: out of memory allocating ${size} bytes`);
      this.b8 = off;
      this.u8 = PM8.subarray(off, off + size);
      this.i8 = PMI8.subarray(off, off + size);
      this.u16 = PM16.subarray(off >>> 1, (off + size) >>> 1);
      this.i16 = PMI16.subarray(off >>> 1, (off + size) >>> 1);
      this.u32 = PM32.subarray(off >>> 2, (off + size) >>> 2);
      this.i32 = PMI32.subarray(off >>> 2, (off + size) >>> 2);
      this.dv = new DataView(PM8.buffer, off, size);
    } else {
      const buf = new ArrayBuffer(size);
      this.b8 = 0;
      this.u8 = new Uint8Array(buf);
      this.i8 = new Int8Array(buf);
      this.u16 = new Uint16Array(buf);
      this.i16 = new Int16Array(buf);
      this.u32 = new Uint32Array(buf);
      this.i32 = new Int32Array(buf);
      this.dv = new DataView(buf);
    }
    this.b16 = this.b8 >>> 1;
    this.b32 = this.b8 >>> 2;
    this.objs = nslots > 0 ? new Array<unknown>(nslots).fill(undefined) : [];
  }

  /** Give the memory back (physical regions only; idempotent). */
  release(): void {
    if (this.phys && !this.freed && this.size > 0) physmem_free(this.b8, this.size);
    this.freed = true;
  }

  /** Read a uint64_t at a byte offset (exact below 2^53). */
  getU64(off: number): number {
    const i = off >>> 2;
    return this.u32[i]! + this.u32[i + 1]! * 4294967296;
  }

  setU64(off: number, v: number): void {
    const i = off >>> 2;
    const lo = v >>> 0;
    this.u32[i] = lo;
    this.u32[i + 1] = Math.floor((v - lo) / 4294967296);
  }
}

/** The region of a NULL curvnet: size 0, based on the physical memory guard. */
export const EMPTY_REGION = new Region(0, 0);
