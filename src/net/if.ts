/*
 * net/if.ts — the interface layer: allocation, attach/detach, the per-vnet interface
 * list and index table, up/down/link state, renaming, moving interfaces between vnets,
 * and the generic interface ioctls (sys/net/if.c).
 *
 * How it is split:
 *   - if_alloc/if_free make an Ifnet and its IFCOUNTERS counter(9) handles;
 *   - if_attach puts it on curvnet's list (V_ifnet, attach order) with the lowest free
 *     index of that vnet's index table (ifindex_alloc), builds its AF_LINK address
 *     (struct sockaddr_dl) and bumps vnet_ifcnt; if_detach undoes that;
 *   - if_vmove / if_vmove_loan / if_vmove_reclaim are §9.4 of the mechanisms reference:
 *     detach in "vmove" mode (the ifnet, its lladdr and its AF_LINK address survive),
 *     attach in the target vnet with a new index there; if_home_vnet never changes;
 *   - vnet_if_return, a VNET_SYSUNINIT at (SI_SUB_VNET_DONE, SI_ORDER_ANY) — so among the
 *     first destructors to run — sends every loaned interface home before the rest of
 *     a dying vnet is torn down;
 *   - ifioctl_generic is the interface half of ifioctl()/ifhwioctl(): the socket layer
 *     (someone else's) sets curvnet to the socket's vnet and calls it with the 32-byte
 *     ifreq (or ifconf, if_clonereq); ENOIOCTL means "not mine", so the protocol layer
 *     (in_control) can take the address ioctls.
 *
 * Interface events (arrival, departure, link state, lladdr change) are delivered to
 * handlers registered per kernel with if_event_register (EVENTHANDLER(9) in spirit):
 * the routing socket and the protocols' address purge plug in there.
 *
 * Deliberate differences: no ifnet locks or epoch (one thread); the index table is per
 * vnet and an interface that moves gets a fresh index in the target (FreeBSD's older
 * behaviour, also what newer code does in effect); SIOCGIFCONF takes the copyout as a
 * parameter because the socket layer owns the user buffer; privilege is "root, and in
 * prison0 or a vnet jail" (FreeBSD's PRIV_NET_* in a vnet jail).
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import {
  SI_ORDER_ANY,
  SI_ORDER_FIRST,
  SI_SUB_INIT_IF,
  SI_SUB_VNET_DONE,
  SYSINIT,
} from '../sys/kernel.js';
import { socket_ifioctl_register } from '../kern/sys_socket.js';
import { BKPT } from '../kern/subr_kdb.js';
import { curkernel, curthread_or_null } from '../kern/kern_cur.js';
import type { Kernel } from '../kern/kernel.js';
import {
  CURVNET_RESTORE,
  CURVNET_SET,
  VNET_MAGIC_N,
  VNET_OBJ,
  VNET_SYSINIT,
  VNET_SYSUNINIT,
  curvnet,
  type Vnet,
} from './vnet.js';
import {
  AF_LINK,
  IFCOUNTERS,
  IFCOUNTER_IERRORS,
  IFCOUNTER_IPACKETS,
  IFCOUNTER_OERRORS,
  IFCOUNTER_OPACKETS,
  if_flags_string,
  if_get_counter,
  IFF_CANTCHANGE,
  IFF_DRV_RUNNING,
  IFF_PPROMISC,
  IFF_PROMISC,
  IFF_UP,
  IFT_ETHER,
  Ifnet,
  type Ifaddr,
} from './if_var.js';
import { EBUSY, EEXIST, EFAULT, EINVAL, ENOIOCTL, ENXIO, EOPNOTSUPP, EPERM } from '../sys/errno.js';
import {
  IFNAMSIZ,
  IFR_FLAGS,
  IFR_FLAGSHIGH,
  IFR_INDEX,
  IFR_JID,
  IFR_MTU,
  IFR_REQCAP,
  IFR_CURCAP,
  IFR_DATA,
  IFR_ADDR,
  SIOCGIFCONF,
  SIOCGIFFLAGS,
  SIOCGIFINDEX,
  SIOCGIFMTU,
  SIOCGIFCAP,
  SIOCSIFCAP,
  SIOCGIFMEDIA,
  SIOCSIFMEDIA,
  SIOCGIFSTATUS,
  SIOCIFCREATE,
  SIOCIFCREATE2,
  SIOCIFDESTROY,
  SIOCIFGCLONERS,
  SIOCSIFFLAGS,
  SIOCSIFLLADDR,
  SIOCSIFMTU,
  SIOCSIFNAME,
  SIOCSIFRVNET,
  SIOCSIFVNET,
  SIOCGIFMETRIC,
  SIOCSIFMETRIC,
  SIOCSDRVSPEC,
  SIOCGDRVSPEC,
} from '../sys/sockio.js';
import { prison_find_child, PR_VNET, type Prison } from '../kern/kern_jail.js';
import type { Thread } from '../sys/proc.js';
import { copyin, copyinstr, copyout } from '../vm/vm_map.js';
import {
  ether_addr_from,
  ETHER_IS_MULTICAST,
  ether_addr_write,
  ether_sprintf,
} from './ethernet.js';
import { if_clone_create, if_clone_destroy, if_clone_list } from './if_clone.js';
import { bpfattach, bpfdetach, type BpfIf } from './bpf.js';
import { DB_SHOW_ALL_COMMAND, type DbSession } from '../ddb/ddb.js';

export const K = new ObjFile('net/if.ts', VIMAGEID('src/net/if.ts'));

const S_if_attach = K.TEXT('if_attach');
const S_if_detach = K.TEXT('if_detach');
const S_if_vmove = K.TEXT('if_vmove');
const S_ifioctl = K.TEXT('ifioctl');

/** Smallest and largest MTU ifhwioctl accepts (IF_MINMTU, IF_MAXMTU). */
export const IF_MINMTU = 72;
export const IF_MAXMTU = 65535;

/* ------------------------------------------------------------------------------ */
/* Per-vnet state: the interface list and index table.                             */

/** V_ifnet and V_ifindex_table of one vnet. */
export class IfnetVnet {
  /** Interfaces in attach order (TAILQ V_ifnet). */
  readonly ifnet: Ifnet[] = [];
  /** Index -> interface; slot 0 unused (V_ifindex_table). */
  readonly byindex: (Ifnet | null)[] = [null];
}

export const V_ifnet = VNET_OBJ<IfnetVnet>(K, 'ifnet');

VNET_SYSINIT(K, 'vnet_if_init', SI_SUB_INIT_IF, SI_ORDER_FIRST, () => {
  V_ifnet.set(new IfnetVnet());
});

/**
 * vnet_if_uninit: whatever is still attached when the interface layer of a vnet goes
 * (cloners have destroyed theirs already) is detached and freed.
 */
VNET_SYSUNINIT(K, 'vnet_if_uninit', SI_SUB_INIT_IF, SI_ORDER_FIRST, () => {
  const st = V_ifnet.get();
  for (const ifp of [...st.ifnet]) {
    if_detach(ifp);
    if_free(ifp);
  }
});

/**
 * vnet_if_return (§9.4): a loaned interface goes back to its home vnet before anything
 * else of the dying vnet is torn down.  All are unlinked first, then moved one by one.
 */
VNET_SYSUNINIT(K, 'vnet_if_return', SI_SUB_VNET_DONE, SI_ORDER_ANY, () => {
  const v = curvnet();
  if (v === null) return;
  const st = V_ifnet.get();
  const loaned = st.ifnet.filter((ifp) => ifp.if_home_vnet !== null && ifp.if_home_vnet !== v);
  for (const ifp of loaned) {
    const home = ifp.if_home_vnet!;
    if (home.vnet_magic_n !== VNET_MAGIC_N || home.vnet_shutdown) continue;
    if_vmove(ifp, home);
  }
});

/* ------------------------------------------------------------------------------ */
/* Events (EVENTHANDLER ifnet_arrival_event, ifnet_departure_event, ...).          */

export type IfEventKind = 'arrival' | 'departure' | 'link' | 'lladdr' | 'flags' | 'rename';
export type IfEventHandler = (ifp: Ifnet, kind: IfEventKind, vmove: boolean) => void;

interface IfGlobal {
  handlers: IfEventHandler[];
}

function if_global(k: Kernel): IfGlobal {
  let g = k.netglobal['if'] as IfGlobal | undefined;
  if (g === undefined) k.netglobal['if'] = g = { handlers: [] };
  return g;
}

/** Register a handler for interface events in this kernel (all vnets). */
export function if_event_register(k: Kernel, fn: IfEventHandler): void {
  if_global(k).handlers.push(fn);
}

export function if_event_deregister(k: Kernel, fn: IfEventHandler): void {
  const h = if_global(k).handlers;
  const i = h.indexOf(fn);
  if (i >= 0) h.splice(i, 1);
}

function if_event(ifp: Ifnet, kind: IfEventKind, vmove = false): void {
  const k = curkernel();
  for (const fn of if_global(k).handlers) fn(ifp, kind, vmove);
  k.trace?.push(`if_${kind} ${ifp.if_xname}`);
}

/* ------------------------------------------------------------------------------ */
/* Helpers.                                                                          */

/** curvnet, or vnet0 in a kernel without VIMAGE (so if_vnet is always a Vnet). */
export function curvnet0(): Vnet {
  return curvnet() ?? curkernel().vnet0;
}

/** The NUL-terminated name at b[off..off+IFNAMSIZ). */
export function ifr_name_get(b: Uint8Array, off = 0): string {
  let s = '';
  for (let i = 0; i < IFNAMSIZ && off + i < b.length; i++) {
    const c = b[off + i]!;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

/** Write a name into a 16-byte field (NUL padded). */
export function ifr_name_set(b: Uint8Array, name: string, off = 0): void {
  b.fill(0, off, off + IFNAMSIZ);
  for (let i = 0; i < name.length && i < IFNAMSIZ - 1; i++) b[off + i] = name.charCodeAt(i) & 0xff;
}

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/* ------------------------------------------------------------------------------ */
/* Allocation, attach, detach.                                                       */

/** if_alloc(type): a new interface with its IFCOUNTERS counters. */
export function if_alloc(type: number): Ifnet {
  const k = curkernel();
  const ifp = new Ifnet(type);
  ifp.if_counters = k.zpcpu.alloc(IFCOUNTERS);
  return ifp;
}

/** if_free: release the counters (the interface must be detached). */
export function if_free(ifp: Ifnet): void {
  if (ifp.if_index !== 0) throw new Error(`if_free: ${ifp.if_xname} still attached`);
  if (ifp.if_counters !== 0) {
    curkernel().zpcpu.free(ifp.if_counters, IFCOUNTERS);
    ifp.if_counters = 0;
  }
}

/** if_initname(ifp, dname, unit): "epair" + 0 + "a" and friends. */
export function if_initname(ifp: Ifnet, dname: string, unit: number, xname?: string): void {
  ifp.if_dname = dname;
  ifp.if_dunit = unit;
  ifp.if_xname = xname ?? (unit >= 0 ? `${dname}${unit}` : dname);
}

/** struct sockaddr_dl of an interface: 8 bytes of header, name, address; >= 54, 8-aligned. */
export function if_sockaddr_dl(ifp: Ifnet): Uint8Array {
  const nlen = Math.min(ifp.if_xname.length, IFNAMSIZ - 1);
  const alen = ifp.if_lladdr !== null ? ifp.if_addrlen || 6 : 0;
  let len = 8 + nlen + alen;
  if (len < 54) len = 54;
  len = Math.ceil(len / 8) * 8;
  const b = new Uint8Array(len);
  b[0] = len;
  b[1] = AF_LINK;
  dv(b).setUint16(2, ifp.if_index, true);
  b[4] = ifp.if_type;
  b[5] = nlen;
  b[6] = alen;
  b[7] = 0;
  for (let i = 0; i < nlen; i++) b[8 + i] = ifp.if_xname.charCodeAt(i) & 0xff;
  if (alen === 6 && ifp.if_lladdr !== null) ether_addr_write(b, 8 + nlen, ifp.if_lladdr);
  return b;
}

function if_link_ifaddr(ifp: Ifnet): Ifaddr {
  return {
    ifa_family: AF_LINK,
    ifa_ifp: ifp,
    ifa_flags: 0,
    ifa_sockaddr: () => if_sockaddr_dl(ifp),
  };
}

function ifindex_alloc(st: IfnetVnet, ifp: Ifnet): number {
  for (let i = 1; i < st.byindex.length; i++)
    if (st.byindex[i] === null) {
      st.byindex[i] = ifp;
      return i;
    }
  st.byindex.push(ifp);
  return st.byindex.length - 1;
}

function ifindex_free(st: IfnetVnet, idx: number): void {
  st.byindex[idx] = null;
  while (st.byindex.length > 1 && st.byindex[st.byindex.length - 1] === null) st.byindex.pop();
}

function if_attach_internal(ifp: Ifnet, vmove: boolean): void {
  const k = curkernel();
  const v = curvnet0();
  const st = V_ifnet.get();
  ifp.if_vnet = v;
  if (ifp.if_home_vnet === null) ifp.if_home_vnet = v;
  ifp.if_index = ifindex_alloc(st, ifp);
  if (!vmove) {
    if (ifp.if_addrhead.length === 0 || ifp.if_addrhead[0]!.ifa_family !== AF_LINK)
      ifp.if_addrhead.unshift(if_link_ifaddr(ifp));
  }
  ifp.if_lastchange = k.now();
  st.ifnet.push(ifp);
  v.vnet_ifcnt = v.vnet_ifcnt + 1;
  if_event(ifp, 'arrival', vmove);
}

/** if_attach(ifp): join curvnet's interface list with the lowest free index there. */
export function if_attach(ifp: Ifnet): void {
  BKPT(S_if_attach);
  if (ifp.if_index !== 0) throw new Error(`if_attach: ${ifp.if_xname} already attached`);
  if (ifp.if_xname === '') throw new Error('if_attach: interface without a name');
  if_attach_internal(ifp, false);
}

function if_detach_internal(ifp: Ifnet, vmove: boolean): boolean {
  const v = ifp.if_vnet;
  if (v === null) return false;
  const saved = CURVNET_SET(v);
  try {
    const st = V_ifnet.get();
    const i = st.ifnet.indexOf(ifp);
    if (i < 0) return false;
    if_event(ifp, 'departure', vmove);
    st.ifnet.splice(i, 1);
    ifindex_free(st, ifp.if_index);
    ifp.if_index = 0;
    v.vnet_ifcnt = v.vnet_ifcnt - 1;
    if (!vmove) {
      // Protocol addresses were purged by the departure handlers; the AF_LINK one goes.
      ifp.if_addrhead.length = 0;
    }
    return true;
  } finally {
    CURVNET_RESTORE(saved);
  }
}

/** if_detach(ifp): leave the interface list (of whatever vnet it is in). */
export function if_detach(ifp: Ifnet): void {
  BKPT(S_if_detach);
  ifp.if_flags &= ~IFF_UP;
  if_detach_internal(ifp, false);
}

/** ifunit(name): the interface of that name in curvnet, or null. */
export function ifunit(name: string): Ifnet | null {
  for (const ifp of V_ifnet.get().ifnet) if (ifp.if_xname === name) return ifp;
  return null;
}

/** ifnet_byindex(idx) in curvnet. */
export function ifnet_byindex(idx: number): Ifnet | null {
  return V_ifnet.get().byindex[idx] ?? null;
}

/** The interfaces of curvnet in attach order (a copy). */
export function if_list(): Ifnet[] {
  return [...V_ifnet.get().ifnet];
}

/** The interfaces of a vnet in attach order (a copy). */
export function if_list_on(v: Vnet): Ifnet[] {
  return [...V_ifnet.on(v).ifnet];
}

/* ------------------------------------------------------------------------------ */
/* State changes.                                                                    */

/** if_up: mark up (IFF_UP) and tell the world. */
export function if_up(ifp: Ifnet): void {
  ifp.if_flags |= IFF_UP;
  ifp.if_lastchange = curkernel().now();
  if_event(ifp, 'flags');
}

/** if_down: mark down. */
export function if_down(ifp: Ifnet): void {
  ifp.if_flags &= ~IFF_UP;
  ifp.if_lastchange = curkernel().now();
  if_event(ifp, 'flags');
}

/** if_link_state_change(ifp, LINK_STATE_*) */
export function if_link_state_change(ifp: Ifnet, state: number): void {
  if (ifp.if_link_state === state) return;
  ifp.if_link_state = state;
  if_event(ifp, 'link');
}

/**
 * if_setlladdr(ifp, bytes): a new link-level address (Ethernet: six bytes, not
 * multicast).  EINVAL for a bad length or a group address, ENODEV without one.
 */
export function if_setlladdr(ifp: Ifnet, lla: Uint8Array): number {
  if (ifp.if_lladdr === null) return EINVAL;
  if (lla.length !== (ifp.if_addrlen || 6)) return EINVAL;
  const a = ether_addr_from(lla);
  if (ifp.if_type === IFT_ETHER && ETHER_IS_MULTICAST(a)) return EINVAL;
  ifp.if_lladdr = a;
  if_event(ifp, 'lladdr');
  return 0;
}

/** if_rename (SIOCSIFNAME): EEXIST if the name is taken in the interface's vnet. */
export function if_rename(ifp: Ifnet, name: string): number {
  if (name === '' || name.length >= IFNAMSIZ) return EINVAL;
  if (name === ifp.if_xname) return 0;
  const saved = ifp.if_vnet ? CURVNET_SET(ifp.if_vnet) : null;
  try {
    if (ifunit(name) !== null) return EEXIST;
  } finally {
    if (ifp.if_vnet) CURVNET_RESTORE(saved);
  }
  ifp.if_xname = name;
  if_event(ifp, 'rename');
  return 0;
}

/** ifpromisc(ifp, pswitch): reference-counted promiscuous mode. */
export function ifpromisc(ifp: Ifnet, on: boolean): number {
  if (on) {
    if (ifp.if_pcount++ === 0) ifp.if_flags |= IFF_PROMISC;
  } else {
    if (ifp.if_pcount > 0 && --ifp.if_pcount === 0 && !(ifp.if_flags & IFF_PPROMISC))
      ifp.if_flags &= ~IFF_PROMISC;
  }
  return 0;
}

/* ------------------------------------------------------------------------------ */
/* Moving between vnets (§9.4).                                                      */

/** A hook drivers and bpf use to save/restore state across a move. */
export type IfVmoveHook = (ifp: Ifnet, phase: 'before' | 'after') => void;

/**
 * if_vmove(ifp, newvnet): detach from the current vnet in vmove mode (departure events,
 * the lladdr and AF_LINK address kept), let the driver reassign, attach in the target
 * with a new index.  if_home_vnet is unchanged.
 */
export function if_vmove(ifp: Ifnet, newvnet: Vnet): void {
  BKPT(S_if_vmove);
  // Descriptors of the old vnet lose the interface (their reads return ENXIO); the
  // attachment is made again, with the same DLT and header length, in the target.
  const bif = ifp.if_bpf as BpfIf | null;
  if (bif !== null) bpfdetach(ifp);
  if_detach_internal(ifp, true);
  if (ifp.if_reassign) ifp.if_reassign(ifp, newvnet);
  const saved = CURVNET_SET(newvnet);
  try {
    if_attach_internal(ifp, true);
    if (bif !== null) bpfattach(ifp, bif.bif_dlt, bif.bif_hdrlen);
  } finally {
    CURVNET_RESTORE(saved);
  }
}

function td_prison_of(td: Thread | null): Prison {
  return td ? td.td_proc.p_ucred.cr_prison : curkernel().prison0;
}

/**
 * if_vmove_loan (SIOCSIFVNET): move ifp into the vnet of jail jid, a child of the
 * caller's prison.  ENXIO: no such visible jail; EEXIST: already there, or the name is
 * taken there; EBUSY: the source vnet is going away.  Returns the errno and the
 * interface's (possibly new) name to write back.
 */
export function if_vmove_loan(
  td: Thread | null,
  ifp: Ifnet,
  jid: number,
): { error: number; name: string } {
  const k = curkernel();
  if (!k.vimage) return { error: EOPNOTSUPP, name: ifp.if_xname };
  const pr = prison_find_child(k, td_prison_of(td), jid);
  if (pr === null || pr.pr_vnet === null) return { error: ENXIO, name: ifp.if_xname };
  const target = pr.pr_vnet;
  if (target === ifp.if_vnet) return { error: EEXIST, name: ifp.if_xname };
  const saved = CURVNET_SET(target);
  let clash: Ifnet | null;
  try {
    clash = ifunit(ifp.if_xname);
  } finally {
    CURVNET_RESTORE(saved);
  }
  if (clash !== null) return { error: EEXIST, name: ifp.if_xname };
  if (ifp.if_vnet !== null && ifp.if_vnet.vnet_shutdown)
    return { error: EBUSY, name: ifp.if_xname };
  if_vmove(ifp, target);
  return { error: 0, name: ifp.if_xname };
}

/**
 * if_vmove_reclaim (SIOCSIFRVNET): take interface `name` back from child jail jid into
 * the caller's vnet.  ENXIO: no such jail or interface there; EEXIST: same vnet or the
 * name is taken here; EBUSY: that vnet is going away.
 */
export function if_vmove_reclaim(
  td: Thread | null,
  name: string,
  jid: number,
): { error: number; name: string } {
  const k = curkernel();
  if (!k.vimage) return { error: EOPNOTSUPP, name };
  const mypr = td_prison_of(td);
  const pr = prison_find_child(k, mypr, jid);
  if (pr === null || pr.pr_vnet === null) return { error: ENXIO, name };
  const src = pr.pr_vnet;
  const saved = CURVNET_SET(src);
  let ifp: Ifnet | null;
  try {
    ifp = ifunit(name);
  } finally {
    CURVNET_RESTORE(saved);
  }
  if (ifp === null) return { error: ENXIO, name };
  const dest = mypr.pr_vnet ?? k.vnet0;
  if (dest === src) return { error: EEXIST, name };
  if (src.vnet_shutdown) return { error: EBUSY, name };
  const saved2 = CURVNET_SET(dest);
  let clash: Ifnet | null;
  try {
    clash = ifunit(name);
  } finally {
    CURVNET_RESTORE(saved2);
  }
  if (clash !== null) return { error: EEXIST, name };
  if_vmove(ifp, dest);
  return { error: 0, name: ifp.if_xname };
}

/* ------------------------------------------------------------------------------ */
/* ioctl                                                                             */

/** How SIOCGIFCONF / SIOCIFGCLONERS reach user memory: copyout(kbuf, uaddr) -> errno. */
export type IfCopyout = (kbuf: Uint8Array, uaddr: number) => number;

export interface IfioctlOpts {
  /** Copy to user memory (default: the calling thread's process, vm_map copyout). */
  copyout?: IfCopyout;
  /** Copy from user memory (SIOCSIFNAME's name, SIOCSDRVSPEC data...). */
  copyin?: (uaddr: number, len: number) => Uint8Array | number;
}

/** PRIV_NET_*: root, and in prison0 or a jail with its own vnet. */
export function priv_check_net(td: Thread | null): number {
  if (td === null) return 0;
  const cr = td.td_proc.p_ucred;
  if (cr.cr_uid !== 0) return EPERM;
  const pr = cr.cr_prison;
  if (pr === curkernel().prison0 || pr.pr_flags & PR_VNET) return 0;
  return EPERM;
}

function default_copyout(td: Thread | null): IfCopyout {
  return (kbuf, uaddr) => (td ? copyout(td.td_proc, kbuf, uaddr) : EFAULT);
}

function default_copyin(td: Thread | null): (uaddr: number, len: number) => Uint8Array | number {
  return (uaddr, len) => (td ? copyin(td.td_proc, uaddr, len) : EFAULT);
}

/** SIOCGIFCONF: one ifreq-like record per address, sockaddrs longer than 16 kept whole. */
function ifconf(data: Uint8Array, out: IfCopyout): number {
  const d = dv(data);
  const space = d.getInt32(0, true);
  const ubuf = d.getUint32(8, true) + d.getUint32(12, true) * 4294967296;
  if (space < 0) return EINVAL;
  const recs: Uint8Array[] = [];
  for (const ifp of V_ifnet.get().ifnet) {
    const addrs = ifp.if_addrhead.filter((a) => a.ifa_sockaddr !== undefined);
    if (addrs.length === 0) {
      const r = new Uint8Array(32);
      ifr_name_set(r, ifp.if_xname);
      recs.push(r);
      continue;
    }
    for (const ifa of addrs) {
      const sa = ifa.ifa_sockaddr!();
      const r = new Uint8Array(16 + Math.max(16, sa.length));
      ifr_name_set(r, ifp.if_xname);
      r.set(sa, 16);
      recs.push(r);
    }
  }
  let off = 0;
  for (const r of recs) {
    if (off + r.length > space) break;
    if (ubuf !== 0) {
      const e = out(r, ubuf + off);
      if (e !== 0) return e;
    }
    off += r.length;
  }
  // With a zero-length buffer FreeBSD reports the size needed.
  d.setInt32(0, space === 0 ? recs.reduce((n, r) => n + r.length, 0) : off, true);
  return 0;
}

function ifgcloners(data: Uint8Array, out: IfCopyout): number {
  const d = dv(data);
  const names = if_clone_list();
  const count = d.getInt32(4, true);
  const ubuf = d.getUint32(8, true) + d.getUint32(12, true) * 4294967296;
  d.setInt32(0, names.length, true);
  if (ubuf === 0) return 0;
  if (count < 0) return EINVAL;
  const n = Math.min(count, names.length);
  const buf = new Uint8Array(n * IFNAMSIZ);
  for (let i = 0; i < n; i++) ifr_name_set(buf, names[i]!, i * IFNAMSIZ);
  return out(buf, ubuf);
}

/**
 * ifioctl_generic(ifp | null, cmd, data, td): the interface ioctls of ifioctl and
 * ifhwioctl, with curvnet the socket's vnet.  ifp null: looked up by ifr_name in
 * curvnet (ENXIO) for the commands that need one.  Unknown commands: ENOIOCTL.
 */
export function ifioctl_generic(
  ifp: Ifnet | null,
  cmd: number,
  data: Uint8Array,
  td: Thread | null = curthread_or_null(),
  opts: IfioctlOpts = {},
): number {
  BKPT(S_ifioctl);
  cmd = cmd >>> 0;
  const out = opts.copyout ?? default_copyout(td);
  const cin = opts.copyin ?? default_copyin(td);
  const d = dv(data);
  // Commands that do not name an existing interface.
  switch (cmd) {
    case SIOCGIFCONF:
      return ifconf(data, out);
    case SIOCIFGCLONERS:
      return ifgcloners(data, out);
    case SIOCIFCREATE:
    case SIOCIFCREATE2: {
      const e = priv_check_net(td);
      if (e) return e;
      const params =
        cmd === SIOCIFCREATE2
          ? d.getUint32(IFR_DATA, true) + d.getUint32(IFR_DATA + 4, true) * 4294967296
          : 0;
      const r = if_clone_create(ifr_name_get(data), params === 0 ? null : params);
      if (r.error === 0) ifr_name_set(data, r.name);
      return r.error;
    }
    case SIOCIFDESTROY: {
      const e = priv_check_net(td);
      if (e) return e;
      return if_clone_destroy(ifr_name_get(data));
    }
    case SIOCSIFRVNET: {
      const e = priv_check_net(td);
      if (e) return e;
      const r = if_vmove_reclaim(td, ifr_name_get(data), d.getInt32(IFR_JID, true));
      if (r.error === 0) ifr_name_set(data, r.name);
      return r.error;
    }
  }
  const known = [
    SIOCGIFFLAGS,
    SIOCSIFFLAGS,
    SIOCGIFMTU,
    SIOCSIFMTU,
    SIOCGIFINDEX,
    SIOCSIFNAME,
    SIOCSIFVNET,
    SIOCSIFLLADDR,
    SIOCGIFMETRIC,
    SIOCSIFMETRIC,
    SIOCGIFSTATUS,
    SIOCSDRVSPEC,
    SIOCGDRVSPEC,
    SIOCGIFCAP,
    SIOCSIFCAP,
    SIOCGIFMEDIA,
    SIOCSIFMEDIA,
  ];
  if (!known.includes(cmd)) return ENOIOCTL;
  if (ifp === null) ifp = ifunit(ifr_name_get(data));
  if (ifp === null) return ENXIO;
  const sets = [
    SIOCSIFFLAGS,
    SIOCSIFMTU,
    SIOCSIFNAME,
    SIOCSIFVNET,
    SIOCSIFLLADDR,
    SIOCSIFMETRIC,
    SIOCSDRVSPEC,
    SIOCSIFCAP,
    SIOCSIFMEDIA,
  ];
  if (sets.includes(cmd)) {
    const e = priv_check_net(td);
    if (e) return e;
  }
  switch (cmd) {
    case SIOCGIFFLAGS: {
      const f = ifp.flags_user;
      d.setInt16(IFR_FLAGS, f & 0xffff, true);
      d.setInt16(IFR_FLAGSHIGH, (f >>> 16) & 0xffff, true);
      return 0;
    }
    case SIOCSIFFLAGS: {
      const nf = (d.getUint16(IFR_FLAGS, true) | (d.getUint16(IFR_FLAGSHIGH, true) << 16)) >>> 0;
      const was = ifp.if_flags;
      if (was & IFF_UP && !(nf & IFF_UP)) if_down(ifp);
      else if (!(was & IFF_UP) && nf & IFF_UP) if_up(ifp);
      if ((nf ^ was) & IFF_PPROMISC) {
        if (nf & IFF_PPROMISC) ifp.if_flags |= IFF_PROMISC;
        else if (ifp.if_pcount === 0) ifp.if_flags &= ~IFF_PROMISC;
      }
      ifp.if_flags = ((ifp.if_flags & IFF_CANTCHANGE) | (nf & ~IFF_CANTCHANGE)) >>> 0;
      const e = ifp.if_ioctl(ifp, cmd, data);
      ifp.if_lastchange = curkernel().now();
      return e === ENOIOCTL || e === 25 ? 0 : e;
    }
    case SIOCGIFMTU:
      d.setInt32(IFR_MTU, ifp.if_mtu, true);
      return 0;
    case SIOCSIFMTU: {
      const mtu = d.getInt32(IFR_MTU, true);
      if (mtu < IF_MINMTU || mtu > IF_MAXMTU) return EINVAL;
      const e = ifp.if_ioctl(ifp, cmd, data);
      if (e === 0) ifp.if_lastchange = curkernel().now();
      return e === ENOIOCTL || e === 25 ? EINVAL : e;
    }
    case SIOCGIFINDEX:
      d.setInt16(IFR_INDEX, ifp.if_index, true);
      return 0;
    case SIOCGIFCAP:
      d.setInt32(IFR_REQCAP, ifp.if_capabilities, true);
      d.setInt32(IFR_CURCAP, ifp.if_capenable, true);
      return 0;
    case SIOCSIFCAP: {
      /* ifhwioctl: nothing the interface cannot do; the driver applies the rest. */
      if (d.getUint32(IFR_REQCAP, true) & ~ifp.if_capabilities) return EINVAL;
      const e = ifp.if_ioctl(ifp, cmd, data);
      if (e === ENOIOCTL || e === 25) return EOPNOTSUPP;
      if (e === 0) ifp.if_lastchange = curkernel().now();
      return e;
    }
    case SIOCGIFMETRIC:
      d.setInt32(IFR_MTU, ifp.if_metric, true);
      return 0;
    case SIOCSIFMETRIC:
      ifp.if_metric = d.getInt32(IFR_MTU, true);
      return 0;
    case SIOCSIFNAME: {
      const uaddr = d.getUint32(IFR_DATA, true) + d.getUint32(IFR_DATA + 4, true) * 4294967296;
      let name: string;
      if (opts.copyin === undefined && td !== null) {
        const s = copyinstr(td.td_proc, uaddr, IFNAMSIZ);
        if (typeof s === 'number') return s;
        name = s;
      } else {
        const b = cin(uaddr, IFNAMSIZ);
        if (typeof b === 'number') return b;
        name = ifr_name_get(b);
      }
      return if_rename(ifp, name);
    }
    case SIOCSIFVNET: {
      const r = if_vmove_loan(td, ifp, d.getInt32(IFR_JID, true));
      if (r.error === 0) ifr_name_set(data, r.name);
      return r.error;
    }
    case SIOCSIFLLADDR: {
      // As FreeBSD's ifconfig sets it: sa_len is the address length (ETHER_ADDR_LEN),
      // sa_data the address (if_setlladdr(ifp, sa_data, sa_len)).
      const alen = data[IFR_ADDR]!;
      if (alen !== 6) return EINVAL;
      const lla = data.slice(IFR_ADDR + 2, IFR_ADDR + 2 + alen);
      const e = if_setlladdr(ifp, lla);
      return e;
    }
    case SIOCGIFSTATUS: {
      const e = ifp.if_ioctl(ifp, cmd, data);
      if (e === ENOIOCTL || e === 25) {
        data.fill(0, IFNAMSIZ);
        return 0;
      }
      return e;
    }
    case SIOCSDRVSPEC:
    case SIOCGDRVSPEC: {
      const e = ifp.if_ioctl(ifp, cmd, data, td);
      return e === ENOIOCTL || e === 25 ? EOPNOTSUPP : e;
    }
    case SIOCGIFMEDIA:
    case SIOCSIFMEDIA: {
      /* The driver's ifmedia_ioctl; an interface without media says EINVAL (lo, bridge). */
      const e = ifp.if_ioctl(ifp, cmd, data, td);
      return e === ENOIOCTL || e === 25 ? EINVAL : e;
    }
  }
  return ENOIOCTL;
}

/** Flags as ifconfig prints them, RUNNING merged from if_drv_flags. */
export function if_getflags(ifp: Ifnet): number {
  return ifp.flags_user | (ifp.if_drv_flags & IFF_DRV_RUNNING);
}

/** Which vnet slot of `st` holds this kernel's interfaces (for DDB / tests). */
export function if_vnet_state(v: Vnet): IfnetVnet {
  return V_ifnet.on(v);
}

/* ------------------------------------------------------------------------------ */
/* DDB: show all ifnets.                                                           */

function db_show_ifnet(db: DbSession, ifp: Ifnet): void {
  db.printf(
    `  ${ifp.if_xname.padEnd(10)} index ${String(ifp.if_index).padStart(3)} ` +
      `${if_flags_string(ifp.flags_user)} mtu ${ifp.if_mtu}` +
      (ifp.if_lladdr !== null ? ` ether ${ether_sprintf(ifp.if_lladdr)}` : '') +
      (ifp.if_home_vnet !== ifp.if_vnet ? ` (home vnet ${ifp.if_home_vnet?.vnet_id ?? '?'})` : '') +
      '\n',
  );
  db.printf(
    `             ipackets ${if_get_counter(ifp, IFCOUNTER_IPACKETS)} ierrors ` +
      `${if_get_counter(ifp, IFCOUNTER_IERRORS)} opackets ${if_get_counter(ifp, IFCOUNTER_OPACKETS)} ` +
      `oerrors ${if_get_counter(ifp, IFCOUNTER_OERRORS)}\n`,
  );
}

DB_SHOW_ALL_COMMAND(
  K,
  'ifnets',
  (db) => {
    const k = db.k;
    const vnets = k.vimage ? [...k.vnet_head].reverse() : [k.vnet0];
    for (const v of vnets) {
      db.printf(`vnet ${v.vnet_id} (${v.vnet_ifcnt} interfaces):\n`);
      for (const ifp of V_ifnet.on(v).ifnet) db_show_ifnet(db, ifp);
    }
  },
  'list the interfaces of every vnet',
);

/**
 * ifioctl for sockets: until an address family registers its own control (in_control
 * chains this one), socket ioctls of group 'i' reach the generic interface ioctls; an
 * address ioctl then has no taker: EOPNOTSUPP for an existing interface, ENXIO otherwise.
 */
SYSINIT(K, 'ifioctl_socket_hook', SI_SUB_INIT_IF, SI_ORDER_ANY, () => {
  socket_ifioctl_register(curkernel(), (_so, cmd, data, td) => {
    const e = ifioctl_generic(null, cmd, data, td);
    if (e !== ENOIOCTL) return e;
    return ifunit(ifr_name_get(data)) === null ? ENXIO : EOPNOTSUPP;
  });
});
