/*
 * kern/kern_sysctl.ts — the sysctl tree.
 *
 * OIDs declared in objects' sysctl_set are registered into one tree per kernel (the
 * image's at boot, a module's at load, removed at unload).  Intermediate nodes are
 * created on demand.  The tree answers sysctl(3) requests by MIB and the meta nodes
 * sysctl(8) uses: {0,1} name, {0,2} next, {0,3} name2oid, {0,4} oidfmt, {0,5} oiddescr.
 * CTLFLAG_VNET nodes run with curvnet set to the caller's vnet.  Unknown names give
 * ENOENT, values of the wrong size EINVAL, writes to read-only nodes EPERM.
 */

import { EINVAL, ENOENT, ENOMEM, EPERM, EISDIR } from '../sys/errno.js';
import {
  CTLFLAG_RD,
  CTLFLAG_VNET,
  CTLFLAG_WR,
  CTLFLAG_PRISON,
  CTLFLAG_SKIP,
  CTLTYPE_INT,
  CTLTYPE_LONG,
  CTLTYPE_NODE,
  CTLTYPE_OPAQUE,
  CTLTYPE_S64,
  CTLTYPE_STRING,
  CTLTYPE_U64,
  CTLTYPE_UINT,
  CTLTYPE_ULONG,
  CTLTYPE_U8,
  CTLTYPE_U16,
  CTLTYPE_U32,
  CTL_AUTO_START,
  CTL_DEBUG,
  CTL_HW,
  CTL_KERN,
  CTL_MACHDEP,
  CTL_NET,
  CTL_SECURITY,
  CTL_SYSCTL_NAME,
  CTL_SYSCTL_NAME2OID,
  CTL_SYSCTL_NEXT,
  CTL_SYSCTL_NEXTNOSKIP,
  CTL_SYSCTL_OIDDESCR,
  CTL_SYSCTL_OIDFMT,
  CTL_SYSCTL_OIDLABEL,
  CTL_USER,
  CTL_VFS,
  CTL_VM,
  OID_AUTO,
  SYSCTL_OUT,
  type SysctlIntVar,
  type SysctlOidDecl,
  type SysctlReq,
} from '../sys/sysctl.js';
import type { Vnet } from '../net/vnet.js';
import { CURVNET_RESTORE, CURVNET_SET } from '../net/vnet.js';

export class SysctlOid {
  readonly children: SysctlOid[] = [];
  decl: SysctlOidDecl | null;
  /** Module (linker file id) that registered it; 0 = kernel or auto-created. */
  owner = 0;
  constructor(
    readonly number: number,
    readonly name: string,
    readonly parent: SysctlOid | null,
    decl: SysctlOidDecl | null,
  ) {
    this.decl = decl;
  }
  get kind(): number {
    return this.decl ? this.decl.kind : CTLTYPE_NODE;
  }
  get flags(): number {
    return this.decl ? this.decl.flags : CTLFLAG_RD;
  }
  get fullname(): string {
    const parts: string[] = [];
    for (let o: SysctlOid | null = this as SysctlOid | null; o && o.parent; o = o.parent)
      parts.unshift(o.name);
    return parts.join('.');
  }
  get mib(): number[] {
    const m: number[] = [];
    for (let o: SysctlOid | null = this as SysctlOid | null; o && o.parent; o = o.parent)
      m.unshift(o.number);
    return m;
  }
}

const WELL_KNOWN: Readonly<Record<string, number>> = {
  kern: CTL_KERN,
  vm: CTL_VM,
  vfs: CTL_VFS,
  net: CTL_NET,
  debug: CTL_DEBUG,
  hw: CTL_HW,
  machdep: CTL_MACHDEP,
  user: CTL_USER,
  security: CTL_SECURITY,
};

/** The per-request context the tree needs from the kernel. */
export interface SysctlCtx {
  /** The caller's vnet (for CTLFLAG_VNET), or null. */
  vnet: Vnet | null;
  /** Whether the caller may write (not jailed, or the node is CTLFLAG_PRISON). */
  jailed: boolean;
}

export class SysctlTree {
  readonly root = new SysctlOid(0, '', null, null);

  private nextNumber(parent: SysctlOid): number {
    let n = CTL_AUTO_START;
    for (const c of parent.children) if (c.number >= n) n = c.number + 1;
    return n;
  }

  private child(parent: SysctlOid, name: string): SysctlOid | undefined {
    return parent.children.find((c) => c.name === name);
  }

  private insert(parent: SysctlOid, o: SysctlOid): void {
    let i = 0;
    while (i < parent.children.length && parent.children[i]!.number < o.number) i++;
    parent.children.splice(i, 0, o);
  }

  /** Register one declaration; creates missing parents.  Returns the node. */
  register(decl: SysctlOidDecl, owner = 0): SysctlOid {
    const parts = decl.name.split('.');
    let p = this.root;
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      const nm = parts[i]!;
      let c = this.child(p, nm);
      if (!c) {
        const num =
          last && decl.number !== OID_AUTO
            ? decl.number
            : p === this.root && WELL_KNOWN[nm] !== undefined
              ? WELL_KNOWN[nm]!
              : this.nextNumber(p);
        c = new SysctlOid(num, nm, p, last ? decl : null);
        c.owner = last ? owner : 0;
        this.insert(p, c);
      } else if (last) {
        if (c.decl && c.decl.kind !== CTLTYPE_NODE)
          throw new Error(`sysctl: ${decl.name} registered twice`);
        if (decl.kind !== CTLTYPE_NODE && c.children.length > 0)
          throw new Error(`sysctl: ${decl.name} is a node with children`);
        if (!c.decl || decl.kind !== CTLTYPE_NODE || c.decl.descr === '') c.decl = decl;
        if (owner) c.owner = owner;
      }
      p = c;
    }
    return p;
  }

  /** Remove a module's OIDs (and nodes left empty that it created implicitly). */
  unregister(decl: SysctlOidDecl): void {
    const o = this.find(decl.name);
    if (!o || o.decl !== decl) return;
    if (o.children.length > 0 && decl.kind === CTLTYPE_NODE) {
      o.decl = null;
      return;
    }
    let n: SysctlOid | null = o;
    while (n && n.parent && n.children.length === 0 && (n === o || n.decl === null)) {
      const par: SysctlOid = n.parent;
      par.children.splice(par.children.indexOf(n), 1);
      n = par;
    }
  }

  find(name: string): SysctlOid | null {
    let p = this.root;
    for (const nm of name.split('.')) {
      const c = this.child(p, nm);
      if (!c) return null;
      p = c;
    }
    return p;
  }

  lookupMib(mib: readonly number[]): { oid: SysctlOid; rest: number[] } | null {
    let p = this.root;
    for (let i = 0; i < mib.length; i++) {
      const c = p.children.find((x) => x.number === mib[i]);
      if (!c) return null;
      p = c;
      if (c.decl && c.decl.handler && c.kind === CTLTYPE_NODE)
        return { oid: c, rest: mib.slice(i + 1) };
    }
    return { oid: p, rest: [] };
  }

  /** Depth-first successor of a MIB (for {0,2}); leaves only, skipping CTLFLAG_SKIP unless noskip. */
  next(
    mib: readonly number[],
    noskip: boolean,
    visible: (o: SysctlOid) => boolean,
  ): SysctlOid | null {
    const leaves: SysctlOid[] = [];
    const walk = (o: SysctlOid): void => {
      for (const c of o.children) {
        if (!visible(c)) continue;
        if (!noskip && c.flags & CTLFLAG_SKIP) continue;
        if (c.kind === CTLTYPE_NODE && !(c.decl && c.decl.handler)) walk(c);
        else leaves.push(c);
      }
    };
    walk(this.root);
    for (const l of leaves) {
      const m = l.mib;
      if (cmpMib(m, mib) > 0 && !isPrefix(m, mib)) return l;
    }
    return null;
  }

  /** Handle a request on a resolved OID. */
  handle(
    o: SysctlOid,
    req: SysctlReq,
    ctx: SysctlCtx,
    vnetOf: (ctx: SysctlCtx) => Vnet | null,
  ): number {
    const d = o.decl;
    if (!d || (o.kind === CTLTYPE_NODE && !d.handler)) return EISDIR;
    if (req.newptr !== null) {
      if (!(d.flags & CTLFLAG_WR)) return EPERM;
      if (ctx.jailed && !(d.flags & CTLFLAG_PRISON) && !(d.flags & CTLFLAG_VNET)) return EPERM;
    }
    const vnet = d.flags & CTLFLAG_VNET ? vnetOf(ctx) : null;
    const saved = vnet ? CURVNET_SET(vnet) : null;
    try {
      if (d.handler) return d.handler(d, req);
      return defaultHandler(d, req);
    } finally {
      if (vnet) CURVNET_RESTORE(saved);
    }
  }
}

function cmpMib(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function isPrefix(a: readonly number[], b: readonly number[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function intSize(kind: number): number {
  switch (kind) {
    case CTLTYPE_U8:
      return 1;
    case CTLTYPE_U16:
      return 2;
    case CTLTYPE_INT:
    case CTLTYPE_UINT:
    case CTLTYPE_U32:
      return 4;
    default:
      return 8;
  }
}

/** sysctl_handle_int / _long / _64 / _string over a get/set binding. */
export function defaultHandler(d: SysctlOidDecl, req: SysctlReq): number {
  switch (d.kind) {
    case CTLTYPE_INT:
    case CTLTYPE_UINT:
    case CTLTYPE_U32:
    case CTLTYPE_LONG:
    case CTLTYPE_ULONG:
    case CTLTYPE_U64:
    case CTLTYPE_S64:
    case CTLTYPE_U8:
    case CTLTYPE_U16: {
      const v = d.arg1 as SysctlIntVar;
      const size = intSize(d.kind);
      const out = new Uint8Array(size);
      const dv = new DataView(out.buffer);
      const cur = v.get();
      if (size === 1) dv.setUint8(0, cur);
      else if (size === 2) dv.setUint16(0, cur, true);
      else if (size === 4) dv.setUint32(0, cur >>> 0, true);
      else {
        dv.setUint32(0, cur >>> 0, true);
        dv.setInt32(4, Math.floor(cur / 4294967296), true);
      }
      const e = SYSCTL_OUT(req, out);
      if (e !== 0 || req.newptr === null) return e;
      if (req.newptr.length !== size) return EINVAL;
      const nd = new DataView(req.newptr.buffer, req.newptr.byteOffset, size);
      let nv: number;
      if (size === 1) nv = nd.getUint8(0);
      else if (size === 2) nv = nd.getUint16(0, true);
      else if (size === 4)
        nv = d.kind === CTLTYPE_INT ? nd.getInt32(0, true) : nd.getUint32(0, true);
      else nv = nd.getUint32(0, true) + nd.getInt32(4, true) * 4294967296;
      v.set(nv);
      return 0;
    }
    case CTLTYPE_STRING: {
      const v = d.arg1 as { get(): string; set?(s: string): number };
      const e = SYSCTL_OUT(req, new TextEncoder().encode(v.get() + '\0'));
      if (e !== 0 || req.newptr === null) return e;
      if (!v.set) return EPERM;
      let s = new TextDecoder().decode(req.newptr);
      const nul = s.indexOf('\0');
      if (nul >= 0) s = s.slice(0, nul);
      if (s.length >= d.arg2) return EINVAL;
      return v.set(s);
    }
    case CTLTYPE_OPAQUE:
      return EINVAL;
    default:
      return EINVAL;
  }
}

/** The meta nodes {0, ...}: implemented by the kernel's syscall with the tree. */
export function sysctl_meta(
  tree: SysctlTree,
  mib: readonly number[],
  req: SysctlReq,
  visible: (o: SysctlOid) => boolean,
): number {
  const op = mib[1];
  const arg = mib.slice(2);
  const enc = new TextEncoder();
  const outInts = (ints: readonly number[]): number => {
    const b = new Uint8Array(ints.length * 4);
    const dv = new DataView(b.buffer);
    ints.forEach((x, i) => dv.setInt32(i * 4, x, true));
    return SYSCTL_OUT(req, b);
  };
  switch (op) {
    case CTL_SYSCTL_NAME2OID: {
      if (!req.newptr) return EINVAL;
      let name = new TextDecoder().decode(req.newptr);
      const nul = name.indexOf('\0');
      if (nul >= 0) name = name.slice(0, nul);
      const o = tree.find(name);
      if (!o || !visible(o)) return ENOENT;
      return outInts(o.mib);
    }
    case CTL_SYSCTL_NEXT:
    case CTL_SYSCTL_NEXTNOSKIP: {
      const o = tree.next(arg, op === CTL_SYSCTL_NEXTNOSKIP, visible);
      if (!o) return ENOENT;
      return outInts(o.mib);
    }
    case CTL_SYSCTL_NAME: {
      const r = tree.lookupMib(arg);
      if (!r || !visible(r.oid)) return ENOENT;
      return SYSCTL_OUT(req, enc.encode(r.oid.fullname + '\0'));
    }
    case CTL_SYSCTL_OIDFMT: {
      const r = tree.lookupMib(arg);
      if (!r || !visible(r.oid)) return ENOENT;
      const o = r.oid;
      const b = new Uint8Array(4 + (o.decl?.fmt.length ?? 1) + 1);
      new DataView(b.buffer).setUint32(0, (o.flags | o.kind) >>> 0, true);
      b.set(enc.encode(o.decl?.fmt ?? 'N'), 4);
      return SYSCTL_OUT(req, b);
    }
    case CTL_SYSCTL_OIDDESCR: {
      const r = tree.lookupMib(arg);
      if (!r || !visible(r.oid)) return ENOENT;
      return SYSCTL_OUT(req, enc.encode((r.oid.decl?.descr ?? '') + '\0'));
    }
    case CTL_SYSCTL_OIDLABEL: {
      const r = tree.lookupMib(arg);
      if (!r || !r.oid.decl?.label) return ENOENT;
      return SYSCTL_OUT(req, enc.encode(r.oid.decl.label + '\0'));
    }
    default:
      return ENOENT;
  }
}

export { ENOMEM };
