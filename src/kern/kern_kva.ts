/*
 * kern/kern_kva.ts — the kernel's virtual address space, as kvm and DDB see it.
 *
 * Kernel memory here is a set of Regions (ArrayBuffers).  Each is mapped at a kernel
 * virtual address so that symbols have addresses, `vnet_data_base` is an address
 * difference as in FreeBSD, DDB's examine command reads memory by address, and libkvm
 * reads it through /dev/kmem.  Addresses stay below 2^53 so they are exact numbers.
 *
 * Layout (fixed for every kernel, so addresses are reproducible):
 *
 *   KERNBASE          0xffff80000000   text symbols (one 64-byte slot per function)
 *   DPCPU_START       0xffff81000000   master set_pcpu section
 *   VNET_START        0xffff82000000   master set_vnet section (the reference image)
 *   KVA_STRUCTS       0xffff84000000   struct vnet and other small kernel structures
 *   KVA_DPCPU         0xffff86000000   per-CPU dynamic blocks
 *   ZPCPU_KVA         0xffff88000000   counter(9) arena
 *   KVA_VNETS         0xffffa0000000   vnet data regions
 */

import type { Region } from './kern_region.js';

export const KERNBASE = 0xffff80000000;
export const KVA_TEXT = KERNBASE + 0x1000;
export const DPCPU_START = 0xffff81000000;
export const VNET_START = 0xffff82000000;
export const KVA_STRUCTS = 0xffff84000000;
export const KVA_DPCPU = 0xffff86000000;
export const KVA_VNETS = 0xffffa0000000;

/** A sorted map of mapped regions. */
export class KvaMap {
  private readonly regions: Region[] = [];
  /** Extra readers for memory that is not a plain Region (the counter arena). */
  private readonly readers: ((addr: number, len: number) => Uint8Array | null)[] = [];

  map(r: Region): void {
    let i = 0;
    while (i < this.regions.length && this.regions[i]!.kva < r.kva) i++;
    this.regions.splice(i, 0, r);
  }

  unmap(r: Region): void {
    const i = this.regions.indexOf(r);
    if (i >= 0) this.regions.splice(i, 1);
  }

  addReader(fn: (addr: number, len: number) => Uint8Array | null): void {
    this.readers.push(fn);
  }

  /** The region containing [addr, addr + len), by binary search. */
  find(addr: number, len = 1): Region | null {
    let lo = 0;
    let hi = this.regions.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.regions[mid]!;
      if (addr < r.kva) hi = mid - 1;
      else if (addr >= r.kva + r.size) lo = mid + 1;
      else return addr + len <= r.kva + r.size ? r : null;
    }
    return null;
  }

  /** Bytes at [addr, addr + len) (a view), or null when unmapped (EFAULT). */
  read(addr: number, len: number): Uint8Array | null {
    const r = this.find(addr, len);
    if (r) return r.u8.subarray(addr - r.kva, addr - r.kva + len);
    for (const rd of this.readers) {
      const b = rd(addr, len);
      if (b) return b;
    }
    return null;
  }
}
