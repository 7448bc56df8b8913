/*
 * sys/param.ts — the kernel version number and basic machine parameters.
 *
 * __vimage_version plays the part of FreeBSD's __FreeBSD_version (sys/sys/param.h): one
 * integer that drivers, modules and userland test to detect interface changes.  Our scheme
 * mirrors FreeBSD's <major><two-digit minor>Rxx:
 *
 *     M mm R xx      e.g. 100001 = 1.00, R = 0, change 01
 *
 *   M   major version (P_OSREL_MAJOR(v) = floor(v / 100000))
 *   mm  minor version
 *   R   0-4 on a release branch or before the first release of a major, 5-9 otherwise
 *   xx  bumped for every change a module or a monitoring tool could notice
 *
 * Every bump gets a dated entry in the top-level UPDATING file.  A module records the
 * version it was built against; the linker refuses one built for a newer kernel or for
 * another major version (see kern/kern_module.ts, MODULE_KERNEL_MAXVER).
 */

export const __vimage_version = 100013;

/** Master version string pieces, as newvers.sh would produce them. */
export const OSTYPE = 'vimage';
export const OSRELEASE = '1.0-CURRENT';

export function P_OSREL_MAJOR(v: number): number {
  return Math.floor(v / 100000);
}

/**
 * The newest kernel a module built against version v loads on: the last version of the
 * same major, so a module built on M.x loads on M.y for y >= x.  FreeBSD writes this as
 * roundup(__FreeBSD_version, 100000) - 1, which is below v itself when v is an exact
 * multiple of 100000; we use the end of the major instead.
 */
export function MODULE_KERNEL_MAXVER(v: number = __vimage_version): number {
  return P_OSREL_MAJOR(v) * 100000 + 99999;
}

export const PAGE_SIZE = 4096;
export const PAGE_MASK = PAGE_SIZE - 1;
export const MAXCPU = 64;
export const MAXCOMLEN = 19;
export const MAXHOSTNAMELEN = 256;
export const MAXPATHLEN = 1024;
export const MAXMODNAME = 32;
export const IFNAMSIZ = 16;

/** Round up to a multiple of `a` (a power of two). */
export function roundup2(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

export function howmany(x: number, y: number): number {
  return Math.floor((x + y - 1) / y);
}
