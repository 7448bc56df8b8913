/*
 * kern/subr_modspace.ts — the module-space allocator of DPCPU and VNET.
 *
 * FreeBSD reserves a slice of the kernel's own set_pcpu (DPCPU_MODMIN = 2048 bytes) and
 * set_vnet (VNET_MODMIN = 8 pages) sections for the variables of modules loaded later,
 * and hands it out with the same small first-fit allocator in subr_pcpu.c
 * (dpcpu_alloc/dpcpu_free) and vnet.c (vnet_data_alloc/vnet_data_free): a free list of
 * extents sorted by address; sizes round up to sizeof(void *); an exact fit removes the
 * extent, a larger one shrinks from the front; a free coalesces with the extent before
 * and/or after it.
 *
 * Deliberate difference: FreeBSD's merge-with-next step dereferences the next extent
 * without a NULL check; a missing successor here simply means "no merge".
 */

export interface Extent {
  start: number;
  size: number;
}

export class ModSpace {
  /** Sorted by start, never overlapping, never adjacent (adjacent extents are merged). */
  readonly free: Extent[];

  constructor(
    readonly name: string,
    readonly start: number,
    readonly size: number,
  ) {
    this.free = [{ start, size }];
  }

  static roundsize(size: number): number {
    return Math.ceil(size / 8) * 8;
  }

  /** First fit; returns the start offset, or -1 when nothing fits (the caller's ENOSPC). */
  alloc(size: number): number {
    size = ModSpace.roundsize(size);
    if (size <= 0) return -1;
    for (let i = 0; i < this.free.length; i++) {
      const e = this.free[i]!;
      if (e.size < size) continue;
      const at = e.start;
      if (e.size === size) this.free.splice(i, 1);
      else {
        e.start += size;
        e.size -= size;
      }
      return at;
    }
    return -1;
  }

  /** Return a range; coalesces with its neighbours. */
  release(start: number, size: number): void {
    size = ModSpace.roundsize(size);
    const end = start + size;
    if (start < this.start || end > this.start + this.size)
      throw new RangeError(`${this.name}: free of [${start}, ${end}) outside module space`);
    let i = 0;
    while (i < this.free.length && this.free[i]!.start < end) {
      const e = this.free[i]!;
      if (e.start + e.size > start)
        throw new RangeError(`${this.name}: double free of [${start}, ${end})`);
      i++;
    }
    // i: first extent starting at or beyond `end`; i - 1: the last one before the range.
    const prev = i > 0 ? this.free[i - 1]! : undefined;
    const next = this.free[i];
    if (prev && prev.start + prev.size === start) {
      prev.size += size;
      if (next && next.start === end) {
        prev.size += next.size;
        this.free.splice(i, 1);
      }
    } else if (next && next.start === end) {
      next.start = start;
      next.size += size;
    } else {
      this.free.splice(i, 0, { start, size });
    }
  }

  /** Bytes still free. */
  get avail(): number {
    let n = 0;
    for (const e of this.free) n += e.size;
    return n;
  }

  /** A copy of the free list, for tests and the debugger. */
  snapshot(): Extent[] {
    return this.free.map((e) => ({ ...e }));
  }
}
