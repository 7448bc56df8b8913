/*
 * sys/ioccom.ts — ioctl command word encoding (sys/sys/ioccom.h).
 *
 * A command is a 32-bit word: bits 0-7 the number within its group, 8-15 the group
 * (an ASCII letter: 'i' interfaces, 's' sockets, 'f' files), 16-28 the length of the
 * argument structure (13 bits), and the direction bits 29 (IOC_VOID: no data, or an int
 * passed by value), 30 (IOC_OUT: the kernel copies out) and 31 (IOC_IN: copies in).
 *
 * The word is an unsigned long in FreeBSD and unsigned 32 bits here, everywhere: JS
 * bitwise operators produce signed 32-bit results, so every value leaves this file
 * through `>>> 0`.  A length is given in bytes or as a struct layout (sys/types.ts), so
 * command values are computed from the same layouts the kernel copies, as the C macros
 * compute them from sizeof.  Because the length is masked to 13 bits, a length above
 * IOCPARM_MAX silently wraps, exactly as in C; `_IOC` refuses it instead (API misuse).
 */

import type { StructLayout, CType } from './types.js';

export const IOCPARM_SHIFT = 13;
export const IOCPARM_MASK = (1 << IOCPARM_SHIFT) - 1; /* 0x1fff */
export const IOCPARM_MAX = 1 << IOCPARM_SHIFT; /* 8192 */

export const IOC_VOID = 0x20000000;
export const IOC_OUT = 0x40000000;
export const IOC_IN = 0x80000000;
export const IOC_INOUT = (IOC_IN | IOC_OUT) >>> 0; /* 0xc0000000 */
export const IOC_DIRMASK = (IOC_VOID | IOC_OUT | IOC_IN) >>> 0; /* 0xe0000000 */

/** sizeof(int) on every FreeBSD ABI. */
export const SIZEOF_INT = 4;

/** A parameter type: a size in bytes, a struct layout, or a scalar C type. */
export type IocParam = number | StructLayout | CType;

function sizeofParam(t: IocParam): number {
  return typeof t === 'number' ? t : t.size;
}

function groupOf(g: string | number): number {
  return typeof g === 'number' ? g & 0xff : g.charCodeAt(0) & 0xff;
}

/** The length field of a command. */
export function IOCPARM_LEN(x: number): number {
  return ((x >>> 0) >>> 16) & IOCPARM_MASK;
}

/** The command with its length field cleared (direction, group, number). */
export function IOCBASECMD(x: number): number {
  return ((x >>> 0) & ~(IOCPARM_MASK << 16)) >>> 0;
}

/** The group byte. */
export function IOCGROUP(x: number): number {
  return ((x >>> 0) >>> 8) & 0xff;
}

/** The direction bits. */
export function IOCDIR(x: number): number {
  return ((x >>> 0) & IOC_DIRMASK) >>> 0;
}

/** _IOC(inout, group, num, len). */
export function _IOC(inout: number, group: string | number, num: number, len: number): number {
  if (!Number.isInteger(len) || len < 0 || len > IOCPARM_MASK)
    throw new RangeError(`_IOC: parameter length ${len} does not fit in ${IOCPARM_SHIFT} bits`);
  return (
    ((inout >>> 0) | ((len & IOCPARM_MASK) << 16) | (groupOf(group) << 8) | (num & 0xff)) >>> 0
  );
}

/** No data. */
export function _IO(g: string | number, n: number): number {
  return _IOC(IOC_VOID, g, n, 0);
}

/** An int passed by value (the data argument itself). */
export function _IOWINT(g: string | number, n: number): number {
  return _IOC(IOC_VOID, g, n, SIZEOF_INT);
}

/** The kernel copies t out to the user. */
export function _IOR(g: string | number, n: number, t: IocParam): number {
  return _IOC(IOC_OUT, g, n, sizeofParam(t));
}

/** The kernel copies t in from the user. */
export function _IOW(g: string | number, n: number, t: IocParam): number {
  return _IOC(IOC_IN, g, n, sizeofParam(t));
}

/** In and out (named _IOWR because stdio already owned _IORW). */
export function _IOWR(g: string | number, n: number, t: IocParam): number {
  return _IOC(IOC_INOUT, g, n, sizeofParam(t));
}

/** _IOC_NEWLEN: the same command with another parameter length. */
export function _IOC_NEWLEN(ioc: number, len: number): number {
  return ((IOCBASECMD(ioc) | ((len & IOCPARM_MASK) << 16)) >>> 0) as number;
}

/** _IOC_NEWTYPE: the same command with another parameter type. */
export function _IOC_NEWTYPE(ioc: number, t: IocParam): number {
  return _IOC_NEWLEN(ioc, sizeofParam(t));
}

/** Render a command as ktrace/kdump does: _IOWR('i',33,32). */
export function ioctlname(com: number): string {
  const c = com >>> 0;
  const dir = IOCDIR(c);
  const g = IOCGROUP(c);
  const gs = g >= 0x20 && g < 0x7f ? `'${String.fromCharCode(g)}'` : `0x${g.toString(16)}`;
  const n = c & 0xff;
  const len = IOCPARM_LEN(c);
  const m =
    dir === IOC_INOUT
      ? '_IOWR'
      : dir === IOC_IN
        ? '_IOW'
        : dir === IOC_OUT
          ? '_IOR'
          : dir === IOC_VOID
            ? len === SIZEOF_INT
              ? '_IOWINT'
              : '_IO'
            : '_IOC';
  return m === '_IO' || m === '_IOWINT' ? `${m}(${gs},${n})` : `${m}(${gs},${n},${len})`;
}
