/*
 * host/physmem.ts — the machine's physical memory.
 *
 * One ArrayBuffer (1 GiB by default, VIMAGE_PHYSMEM_MB to change; the host only backs
 * the pages that are touched) holds every kernel memory region that is reached through
 * the processor registers: vnet data regions, the reference image of set_vnet, the
 * per-CPU DPCPU blocks.  Because the array is one constant object, an accessor compiles
 * to "element at register + offset" — exactly FreeBSD's vnet_data_base + &vnet_entry_x —
 * with no typed-array pointer to reload when curvnet changes.
 *
 * Pages are handed out first fit in 4 KiB units to every kernel of the process (the
 * analogue of a hypervisor giving guests memory).  The first PM_GUARD bytes are never
 * allocated: an access through a NULL curvnet lands there and reads zeros, and tests
 * check that nothing was ever written to it (physmem_guard_clean).
 */

import { ModSpace } from '../kern/subr_modspace.js';

const MB = 1024 * 1024;
const envMb = Number(process.env['VIMAGE_PHYSMEM_MB'] ?? '');
export const PHYSMEM_SIZE =
  (Number.isInteger(envMb) && envMb >= 16 && envMb <= 4095 ? envMb : 1024) * MB;
export const PM_GUARD = 1 * MB;
export const PM_PAGE = 4096;

const buf = new ArrayBuffer(PHYSMEM_SIZE);
export const PM8 = new Uint8Array(buf);
export const PMI8 = new Int8Array(buf);
export const PM16 = new Uint16Array(buf);
export const PMI16 = new Int16Array(buf);
export const PM32 = new Uint32Array(buf);
export const PMI32 = new Int32Array(buf);

const pages = new ModSpace('physmem', PM_GUARD, PHYSMEM_SIZE - PM_GUARD);

/** Allocate zeroed memory; returns the byte offset, or -1 when memory is exhausted. */
export function physmem_alloc(bytes: number): number {
  const size = Math.ceil(bytes / PM_PAGE) * PM_PAGE;
  const off = pages.alloc(size);
  if (off >= 0) PM8.fill(0, off, off + size);
  return off;
}

export function physmem_free(off: number, bytes: number): void {
  pages.release(off, Math.ceil(bytes / PM_PAGE) * PM_PAGE);
}

/** Bytes not yet handed out. */
export function physmem_avail(): number {
  return pages.avail;
}

/** True when nothing has written into the NULL guard area. */
export function physmem_guard_clean(): boolean {
  for (let i = 0; i < PM_GUARD / 4; i++) if (PM32[i] !== 0) return false;
  return true;
}
