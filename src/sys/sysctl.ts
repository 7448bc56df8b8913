/*
 * sys/sysctl.ts — sysctl(3) ABI and the declaration macros.
 *
 * A sysctl OID is declared right beside the variable it exposes (SYSCTL_INT and friends
 * put a record into the object's sysctl_set); the kernel registers the records of the
 * image at boot and those of a module at load (kern/kern_sysctl.ts).  CTLFLAG_VNET nodes
 * read and write the copy of the caller's vnet.
 */

import { ObjFile, SET_SYSCTL } from './linker_set.js';

export const CTLTYPE = 0xf;
export const CTLTYPE_NODE = 1;
export const CTLTYPE_INT = 2;
export const CTLTYPE_STRING = 3;
export const CTLTYPE_S64 = 4;
export const CTLTYPE_OPAQUE = 5;
export const CTLTYPE_STRUCT = CTLTYPE_OPAQUE;
export const CTLTYPE_UINT = 6;
export const CTLTYPE_LONG = 7;
export const CTLTYPE_ULONG = 8;
export const CTLTYPE_U64 = 9;
export const CTLTYPE_U8 = 0xa;
export const CTLTYPE_U16 = 0xb;
export const CTLTYPE_S8 = 0xc;
export const CTLTYPE_S16 = 0xd;
export const CTLTYPE_S32 = 0xe;
export const CTLTYPE_U32 = 0xf;

export const CTLFLAG_RD = 0x80000000;
export const CTLFLAG_WR = 0x40000000;
export const CTLFLAG_RW = CTLFLAG_RD | CTLFLAG_WR;
export const CTLFLAG_DORMANT = 0x20000000;
export const CTLFLAG_ANYBODY = 0x10000000;
export const CTLFLAG_SECURE = 0x08000000;
export const CTLFLAG_PRISON = 0x04000000;
export const CTLFLAG_DYN = 0x02000000;
export const CTLFLAG_SKIP = 0x01000000;
export const CTLFLAG_TUN = 0x00080000;
export const CTLFLAG_RDTUN = CTLFLAG_RD | CTLFLAG_TUN;
export const CTLFLAG_RWTUN = CTLFLAG_RW | CTLFLAG_TUN;
export const CTLFLAG_MPSAFE = 0x00040000;
export const CTLFLAG_VNET = 0x00020000;
export const CTLFLAG_STATS = 0x00002000;
export const CTLFLAG_NOFETCH = 0x00001000;
export const CTLFLAG_CAPRD = 0x00008000;
export const CTLFLAG_CAPWR = 0x00004000;

export const OID_AUTO = -1;
export const CTL_AUTO_START = 0x100;
export const CTL_MAXNAME = 24;

/* Top-level identifiers. */
export const CTL_SYSCTL = 0;
export const CTL_KERN = 1;
export const CTL_VM = 2;
export const CTL_VFS = 3;
export const CTL_NET = 4;
export const CTL_DEBUG = 5;
export const CTL_HW = 6;
export const CTL_MACHDEP = 7;
export const CTL_USER = 8;
export const CTL_P1003_1B = 9;
export const CTL_SECURITY = 14;

/* The sysctl "meta" nodes under {0, ...} that sysctl(8) uses. */
export const CTL_SYSCTL_DEBUG = 0;
export const CTL_SYSCTL_NAME = 1;
export const CTL_SYSCTL_NEXT = 2;
export const CTL_SYSCTL_NAME2OID = 3;
export const CTL_SYSCTL_OIDFMT = 4;
export const CTL_SYSCTL_OIDDESCR = 5;
export const CTL_SYSCTL_OIDLABEL = 6;
export const CTL_SYSCTL_NEXTNOSKIP = 7;

/** A handler request: old (out) and new (in) buffers, as struct sysctl_req. */
export interface SysctlReq {
  /** Bytes to return (null: size query only). */
  oldptr: Uint8Array | null;
  /** How many bytes the handler produced (or would). */
  oldidx: number;
  /** New value, or null when not setting. */
  newptr: Uint8Array | null;
  /** The OID's argument (a variable accessor or anything). */
  readonly arg1: unknown;
  readonly arg2: number;
}

/** The value interface SYSCTL_INT and friends bind to (VNET, DPCPU or plain). */
export interface SysctlIntVar {
  get(): number;
  set(v: number): void;
}

export type SysctlHandler = (oid: SysctlOidDecl, req: SysctlReq) => number;

/** A declared OID (a record in sysctl_set). */
export interface SysctlOidDecl {
  /** Dotted name: "net.inet.ip.forwarding". */
  readonly name: string;
  readonly kind: number;
  readonly flags: number;
  readonly fmt: string;
  readonly descr: string;
  readonly handler: SysctlHandler | null;
  readonly arg1: unknown;
  readonly arg2: number;
  /** Explicit number (well-known OIDs), or OID_AUTO. */
  readonly number: number;
  readonly label?: string;
}

export function SYSCTL_OID(obj: ObjFile, decl: SysctlOidDecl): SysctlOidDecl {
  return obj.DATA_SET(SET_SYSCTL, decl);
}

export function SYSCTL_NODE(
  obj: ObjFile,
  name: string,
  flags: number,
  descr: string,
  number = OID_AUTO,
): SysctlOidDecl {
  return SYSCTL_OID(obj, {
    name,
    kind: CTLTYPE_NODE,
    flags,
    fmt: 'N',
    descr,
    handler: null,
    arg1: null,
    arg2: 0,
    number,
  });
}

/** SYSCTL_INT / SYSCTL_UINT / SYSCTL_U64 ... bound to a variable (get/set). */
export function SYSCTL_INT(
  obj: ObjFile,
  name: string,
  flags: number,
  v: SysctlIntVar,
  descr: string,
): SysctlOidDecl {
  return SYSCTL_OID(obj, {
    name,
    kind: CTLTYPE_INT,
    flags,
    fmt: 'I',
    descr,
    handler: null,
    arg1: v,
    arg2: 0,
    number: OID_AUTO,
  });
}

export function SYSCTL_UINT(
  obj: ObjFile,
  name: string,
  flags: number,
  v: SysctlIntVar,
  descr: string,
): SysctlOidDecl {
  return SYSCTL_OID(obj, {
    name,
    kind: CTLTYPE_UINT,
    flags,
    fmt: 'IU',
    descr,
    handler: null,
    arg1: v,
    arg2: 0,
    number: OID_AUTO,
  });
}

export function SYSCTL_LONG(
  obj: ObjFile,
  name: string,
  flags: number,
  v: SysctlIntVar,
  descr: string,
): SysctlOidDecl {
  return SYSCTL_OID(obj, {
    name,
    kind: CTLTYPE_LONG,
    flags,
    fmt: 'L',
    descr,
    handler: null,
    arg1: v,
    arg2: 0,
    number: OID_AUTO,
  });
}

export function SYSCTL_U64(
  obj: ObjFile,
  name: string,
  flags: number,
  v: SysctlIntVar,
  descr: string,
): SysctlOidDecl {
  return SYSCTL_OID(obj, {
    name,
    kind: CTLTYPE_U64,
    flags,
    fmt: 'QU',
    descr,
    handler: null,
    arg1: v,
    arg2: 0,
    number: OID_AUTO,
  });
}

/** A constant integer (SYSCTL_INT with a NULL pointer and a value). */
export function SYSCTL_CONST_INT(
  obj: ObjFile,
  name: string,
  flags: number,
  value: number,
  descr: string,
): SysctlOidDecl {
  const v: SysctlIntVar = { get: () => value, set: () => {} };
  return SYSCTL_INT(obj, name, flags & ~CTLFLAG_WR, v, descr);
}

/** SYSCTL_STRING bound to a getter/setter (strings live in JS, not in bytes). */
export function SYSCTL_STRING(
  obj: ObjFile,
  name: string,
  flags: number,
  v: { get(): string; set?(s: string): number },
  descr: string,
  maxlen = 256,
): SysctlOidDecl {
  return SYSCTL_OID(obj, {
    name,
    kind: CTLTYPE_STRING,
    flags,
    fmt: 'A',
    descr,
    handler: null,
    arg1: v,
    arg2: maxlen,
    number: OID_AUTO,
  });
}

/** SYSCTL_PROC: a node with its own handler. */
export function SYSCTL_PROC(
  obj: ObjFile,
  name: string,
  kindflags: number,
  handler: SysctlHandler,
  fmt: string,
  descr: string,
  arg1: unknown = null,
  arg2 = 0,
): SysctlOidDecl {
  return SYSCTL_OID(obj, {
    name,
    kind: kindflags & CTLTYPE,
    flags: kindflags & ~CTLTYPE,
    fmt,
    descr,
    handler,
    arg1,
    arg2,
    number: OID_AUTO,
  });
}

/** SYSCTL_OPAQUE over a producer of bytes (read-only), e.g. a stats struct. */
export function SYSCTL_OPAQUE_RO(
  obj: ObjFile,
  name: string,
  flags: number,
  produce: () => Uint8Array,
  fmt: string,
  descr: string,
): SysctlOidDecl {
  return SYSCTL_OID(obj, {
    name,
    kind: CTLTYPE_OPAQUE,
    flags: flags | CTLFLAG_RD,
    fmt,
    descr,
    handler: (_o, req) => SYSCTL_OUT(req, produce()),
    arg1: null,
    arg2: 0,
    number: OID_AUTO,
  });
}

/** Copy bytes out to the request (as SYSCTL_OUT): ENOMEM if the buffer is short. */
export function SYSCTL_OUT(req: SysctlReq, data: Uint8Array): number {
  const at = req.oldidx;
  req.oldidx += data.length;
  if (req.oldptr === null) return 0;
  if (at + data.length > req.oldptr.length) {
    const n = Math.max(0, req.oldptr.length - at);
    req.oldptr.set(data.subarray(0, n), at);
    return 12; /* ENOMEM */
  }
  req.oldptr.set(data, at);
  return 0;
}
