/*
 * kern/kern_region.ts — a contiguous block of kernel memory with typed views.
 *
 * Every instance of a data set (the reference image of set_vnet, each vnet's copy, the
 * master set_pcpu section, each CPU's dynamic per-CPU block) is one Region: one
 * ArrayBuffer, the same layout as its template, and a kernel virtual address (KVA) so
 * that kvm readers and the debugger can name it.  Views are created once per region so
 * that accessors index them directly.
 *
 * A vnet's Region also carries its object slots: the per-vnet state that cannot live in
 * bytes (hash tables, lists, interface objects), created by VNET_SYSINITs.
 */

export class Region {
  readonly buf: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly u16: Uint16Array;
  readonly i16: Int16Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly dv: DataView;
  /** Object slots (vnet regions only). */
  objs: unknown[];

  constructor(
    readonly size: number,
    /** Kernel virtual address of byte 0. */
    public kva: number,
    nslots = 0,
  ) {
    if (size % 8 !== 0) throw new RangeError(`Region size ${size} is not a multiple of 8`);
    this.buf = new ArrayBuffer(size);
    this.u8 = new Uint8Array(this.buf);
    this.i8 = new Int8Array(this.buf);
    this.u16 = new Uint16Array(this.buf);
    this.i16 = new Int16Array(this.buf);
    this.u32 = new Uint32Array(this.buf);
    this.i32 = new Int32Array(this.buf);
    this.dv = new DataView(this.buf);
    this.objs = nslots > 0 ? new Array<unknown>(nslots).fill(undefined) : [];
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

/** A zero-length region used before anything is loaded. */
export const EMPTY_REGION = new Region(0, 0);
