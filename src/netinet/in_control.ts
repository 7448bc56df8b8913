/*
 * netinet/in_control.ts — IPv4 address configuration (FreeBSD sys/netinet/in.c:
 * in_control, in_aifaddr_ioctl, in_difaddr_ioctl, in_addprefix/in_scrubprefix,
 * ifa_maintain_loopback_route in sys/net/if.c, in_ifdetach/if_purgeaddrs).
 *
 * What it does:
 *   - the address ioctls on sockets: SIOCAIFADDR (struct in_aliasreq, 68 bytes: add or
 *     change an address), SIOCDIFADDR (struct ifreq: delete; INADDR_ANY deletes the
 *     first address), SIOCGIFADDR / SIOCGIFNETMASK / SIOCGIFBRDADDR / SIOCGIFDSTADDR
 *     (EADDRNOTAVAIL when the interface has no IPv4 address).  The socket layer sends
 *     group 'i' ioctls to the hook registered here, which runs net/if.ts's
 *     ifioctl_generic first and, on ENOIOCTL, looks the interface up (ENXIO) and comes
 *     here for AF_INET sockets (other families: their pr_control, else EOPNOTSUPP), as
 *     FreeBSD's ifioctl does;
 *   - on add: the InIfaddr goes on the interface's if_addrhead and V_in_ifaddrhead;
 *     the interface (prefix) route goes into V_rib — RTF_UP|RTF_PINNED, a link
 *     gateway (link#index), rt_ifa = the address — unless another address already
 *     holds that prefix (in_addprefix: the first one keeps it, so a second address of
 *     the same prefix on another interface does not replace it); the loopback route to
 *     the address itself (RTF_HOST|RTF_LOCAL|RTF_STATIC|RTF_PINNED via lo0,
 *     ifa_maintain_loopback_route); the interface is brought up (IFF_UP, and the
 *     driver's SIOCSIFADDR, as ether_ioctl/loioctl do); the routing sockets hear
 *     RTM_NEWADDR and RTM_ADD; the in_ifaddr event handlers (ARP's gratuitous ARP) are
 *     called with 'add';
 *   - on delete the same in reverse: the prefix route moves to another address of the
 *     same prefix if there is one (in_scrubprefix), RTM_DELADDR, 'delete' events;
 *   - an interface that leaves the vnet (if_vmove) or is destroyed loses its IPv4
 *     addresses, and every route through it goes (if_purgeaddrs + rt_flushifroutes).
 *
 * Privilege: SIOCAIFADDR / SIOCDIFADDR need root in prison0 or in a jail with its own
 * vnet (priv_check_net: a jail without a vnet cannot configure interfaces): EPERM.
 *
 * Where it differs from FreeBSD:
 *   - SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFBRDADDR and SIOCSIFDSTADDR return EINVAL, as
 *     FreeBSD 11+ does ("We no longer support that old commands");
 *   - a netmask must be contiguous (EINVAL): the radix table is prefix-length based;
 *   - an address already configured on another interface of the vnet is EEXIST;
 *   - ifra_vhid != 0 (CARP) is EPROTONOSUPPORT: there is no carp;
 *   - no IGMP joins (224.0.0.1) and no prison_check_ip4 filtering of the get ioctls in
 *     a non-vnet jail (XXX);
 *   - /32 addresses on a broadcast interface get only the loopback route (no prefix
 *     route); an address on a loopback interface gets one host route to itself through
 *     that interface (FreeBSD's rtinitflags: 127.0.0.1 UH lo0), a point-to-point one a
 *     host route to its destination.
 *
 * All state is the vnet's (netinet/in_var.ts); the event handler list is per kernel on
 * k.netglobal['in_ifaddr'].
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SI_ORDER_ANY, SI_SUB_PROTO_DOMAIN, SYSINIT } from '../sys/kernel.js';
import type { Kernel } from '../kern/kernel.js';
import { curkernel } from '../kern/kern_cur.js';
import { socket_ifioctl_register } from '../kern/sys_socket.js';
import type { Socket } from '../sys/socketvar.js';
import type { Thread } from '../sys/proc.js';
import {
  EADDRNOTAVAIL,
  EEXIST,
  EINVAL,
  ENOIOCTL,
  ENOTTY,
  ENXIO,
  EOPNOTSUPP,
  EPROTONOSUPPORT,
} from '../sys/errno.js';
import {
  IFR_ADDR,
  SIOCAIFADDR,
  SIOCDIFADDR,
  SIOCGIFADDR,
  SIOCGIFBRDADDR,
  SIOCGIFDSTADDR,
  SIOCGIFNETMASK,
  SIOCSIFADDR,
  SIOCSIFBRDADDR,
  SIOCSIFDSTADDR,
  SIOCSIFNETMASK,
} from '../sys/sockio.js';
import {
  AF_INET,
  IFF_BROADCAST,
  IFF_LOOPBACK,
  IFF_POINTOPOINT,
  IFF_UP,
  type Ifnet,
} from '../net/if_var.js';
import {
  if_event_register,
  if_up,
  ifioctl_generic,
  ifr_name_get,
  ifunit,
  priv_check_net,
} from '../net/if.js';
import { V_loif } from '../net/if_loop.js';
import {
  RTF_HOST,
  RTF_LOCAL,
  RTF_PINNED,
  RTF_STATIC,
  RTF_UP,
  RTM_ADD,
  RTM_DELETE,
} from '../net/route.js';
import { gw_link, type Rtentry } from '../net/route/route_var.js';
import { rt_newaddrmsg, rt_routemsg } from '../net/rtsock.js';
import {
  V_in_ifaddrhead,
  V_rib,
  InIfaddr,
  IFA_ROUTE,
  IFA_RTSELF,
  in_ifaddrs_of,
} from './in_var.js';
import {
  INADDR_ANY,
  in_addr,
  in_broadcast_of,
  in_classful_mask,
  in_mask2len,
  type in_addr_t,
} from './in.js';

export const K = new ObjFile('netinet/in_control.ts', VIMAGEID('src/netinet/in_control.ts'));

/* struct in_aliasreq offsets (68 bytes). */
export const IFRA_NAME = 0;
export const IFRA_ADDR = 16;
export const IFRA_BROADADDR = 32;
export const IFRA_DSTADDR = 32;
export const IFRA_MASK = 48;
export const IFRA_VHID = 64;
export const IN_ALIASREQ_SIZE = 68;

/* ------------------------------------------------------------------------------ */
/* Address events (EVENTHANDLER ifaddr_event_ext, IPv4 part).                       */

export type InIfaddrEventKind = 'add' | 'delete';
export type InIfaddrHandler = (ifp: Ifnet, ia: InIfaddr, kind: InIfaddrEventKind) => void;

/** The kernel-wide list of in_ifaddr event handlers (k.netglobal['in_ifaddr']). */
export interface InIfaddrGlobal {
  readonly handlers: InIfaddrHandler[];
}

export function in_ifaddr_global(k: Kernel = curkernel()): InIfaddrGlobal {
  let g = k.netglobal['in_ifaddr'] as InIfaddrGlobal | undefined;
  if (g === undefined) k.netglobal['in_ifaddr'] = g = { handlers: [] };
  return g;
}

/** Register a handler called after an address is added and before it is deleted. */
export function in_ifaddr_event_register(k: Kernel, fn: InIfaddrHandler): void {
  in_ifaddr_global(k).handlers.push(fn);
}

export function in_ifaddr_event_deregister(k: Kernel, fn: InIfaddrHandler): void {
  const h = in_ifaddr_global(k).handlers;
  const i = h.indexOf(fn);
  if (i >= 0) h.splice(i, 1);
}

/** in_ifaddr_event(ifp, ia, kind): run the handlers (curvnet is the address's vnet). */
export function in_ifaddr_event(ifp: Ifnet, ia: InIfaddr, kind: InIfaddrEventKind): void {
  const k = curkernel();
  for (const fn of [...in_ifaddr_global(k).handlers]) fn(ifp, ia, kind);
  k.trace?.push(`in_ifaddr_${kind} ${ifp.if_xname}`);
}

/* ------------------------------------------------------------------------------ */
/* Sockaddr helpers.                                                               */

function sin_write(b: Uint8Array, off: number, a: number): void {
  b.fill(0, off, off + 16);
  b[off] = 16;
  b[off + 1] = AF_INET;
  b[off + 4] = (a >>> 24) & 0xff;
  b[off + 5] = (a >>> 16) & 0xff;
  b[off + 6] = (a >>> 8) & 0xff;
  b[off + 7] = a & 0xff;
}

function sin_addr(b: Uint8Array, off: number): in_addr_t {
  return in_addr(
    ((b[off + 4]! << 24) | (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!) >>> 0,
  );
}

/* ------------------------------------------------------------------------------ */
/* Routes of an address.                                                           */

/** The prefix route an address wants: (dst, plen) or null (a /32 on a broadcast link). */
function ia_prefix(ia: InIfaddr): { dst: number; plen: number } | null {
  const ifp = ia.ifa_ifp;
  /* rtinitflags(): loopback and point-to-point interfaces get a host route. */
  if (ifp.if_flags & IFF_POINTOPOINT)
    return ia.ia_dstaddr !== INADDR_ANY ? { dst: ia.ia_dstaddr, plen: 32 } : null;
  if (ifp.if_flags & IFF_LOOPBACK) return { dst: ia.ia_addr, plen: 32 };
  const plen = in_mask2len(ia.ia_netmask);
  if (plen === 32) return null;
  return { dst: ia.ia_subnet, plen };
}

/** Does this address want the loopback route to itself? */
function ia_wants_rtself(ia: InIfaddr): boolean {
  const ifp = ia.ifa_ifp;
  if (ifp.if_flags & IFF_LOOPBACK) return false;
  if (ifp.if_flags & IFF_POINTOPOINT && ia.ia_dstaddr === ia.ia_addr) return false;
  return V_loif.get() !== null && V_loif.get() !== undefined;
}

/**
 * in_addprefix: install the interface route of ia unless another address of the vnet
 * holds the same prefix already (then that one keeps it).  A non-pinned route to the
 * prefix (a static route someone added) is replaced, a pinned one is not.
 */
function in_addprefix(ia: InIfaddr): number {
  const p = ia_prefix(ia);
  if (p === null) return 0;
  for (const other of V_in_ifaddrhead.get()) {
    if (other === ia || !(other.ifa_flags & IFA_ROUTE)) continue;
    const q = ia_prefix(other);
    if (q !== null && q.dst === p.dst && q.plen === p.plen) return 0;
  }
  const rib = V_rib.get();
  const cur = rib.get(p.dst, p.plen).rt;
  if (cur !== null) {
    if (cur.rt_flags & RTF_PINNED) return 0;
    rib.delete(p.dst, p.plen);
    rt_routemsg(RTM_DELETE, cur);
  }
  const ifp = ia.ifa_ifp;
  const r = rib.add({
    dst: p.dst,
    plen: p.plen,
    gateway: gw_link(ifp.if_index),
    flags: RTF_UP | RTF_PINNED | (p.plen === 32 ? RTF_HOST : 0),
    ifp,
    ifa: ia.ia_addr,
  });
  if (r.rt === null) return r.error;
  ia.ifa_flags |= IFA_ROUTE;
  rt_routemsg(RTM_ADD, r.rt);
  return 0;
}

/**
 * in_scrubprefix: remove ia's interface route; if another address (on any interface)
 * has the same prefix, the route is re-added for it (FreeBSD moves it likewise).
 */
function in_scrubprefix(ia: InIfaddr): void {
  if (!(ia.ifa_flags & IFA_ROUTE)) return;
  ia.ifa_flags &= ~IFA_ROUTE;
  const p = ia_prefix(ia);
  if (p === null) return;
  const rib = V_rib.get();
  const cur = rib.get(p.dst, p.plen).rt;
  if (cur !== null && cur.rt_ifa === ia.ia_addr && cur.rt_flags & RTF_PINNED) {
    rib.delete(p.dst, p.plen);
    rt_routemsg(RTM_DELETE, cur);
  }
  for (const other of V_in_ifaddrhead.get()) {
    if (other === ia || other.ifa_flags & IFA_ROUTE) continue;
    const q = ia_prefix(other);
    if (q !== null && q.dst === p.dst && q.plen === p.plen) {
      in_addprefix(other);
      break;
    }
  }
}

/** ifa_add_loopback_route: dst = the address, /32, via lo0. */
function in_add_rtself(ia: InIfaddr): void {
  if (!ia_wants_rtself(ia)) return;
  const lo = V_loif.get()!;
  const rib = V_rib.get();
  const cur = rib.get(ia.ia_addr, 32).rt;
  if (cur !== null) {
    /* Another address's local route (the same address cannot be configured twice). */
    if (cur.rt_flags & RTF_PINNED) return;
    rib.delete(ia.ia_addr, 32);
    rt_routemsg(RTM_DELETE, cur);
  }
  const r = rib.add({
    dst: ia.ia_addr,
    plen: 32,
    gateway: gw_link(ia.ifa_ifp.if_index),
    flags: RTF_UP | RTF_HOST | RTF_LOCAL | RTF_STATIC | RTF_PINNED,
    ifp: lo,
    ifa: ia.ia_addr,
  });
  if (r.rt !== null) {
    ia.ifa_flags |= IFA_RTSELF;
    rt_routemsg(RTM_ADD, r.rt);
  }
}

/** ifa_del_loopback_route */
function in_del_rtself(ia: InIfaddr): void {
  if (!(ia.ifa_flags & IFA_RTSELF)) return;
  ia.ifa_flags &= ~IFA_RTSELF;
  const rib = V_rib.get();
  const cur = rib.get(ia.ia_addr, 32).rt;
  if (cur !== null && cur.rt_flags & RTF_LOCAL && cur.rt_ifa === ia.ia_addr) {
    rib.delete(ia.ia_addr, 32);
    rt_routemsg(RTM_DELETE, cur);
  }
}

/* ------------------------------------------------------------------------------ */
/* Add, change, delete.                                                            */

/** What in_aifaddr needs: the address, its mask and broadcast (or p2p destination). */
export interface InAliasReq {
  readonly addr: in_addr_t;
  /** null: the classful mask of the address. */
  readonly mask: number | null;
  /** null: derived (subnet broadcast on IFF_BROADCAST interfaces). */
  readonly broadaddr: in_addr_t | null;
}

/**
 * in_aifaddr: add (or change) an IPv4 address of ifp in curvnet.  Returns 0 or
 * EINVAL (non-contiguous mask), EEXIST (the address is on another interface).
 */
export function in_aifaddr(ifp: Ifnet, req: InAliasReq): number {
  const mask = req.mask ?? in_classful_mask(req.addr);
  if (in_mask2len(mask) < 0) return EINVAL;
  const head = V_in_ifaddrhead.get();
  let ia: InIfaddr | null = null;
  for (const x of head) {
    if (x.ia_addr !== req.addr) continue;
    if (x.ifa_ifp !== ifp) return EEXIST;
    ia = x;
  }
  const isNew = ia === null;
  if (ia !== null) {
    /* A change: the routes are redone with the new mask. */
    in_scrubprefix(ia);
    in_del_rtself(ia);
    ia.ia_netmask = mask >>> 0;
    ia.ia_subnet = (req.addr & mask) >>> 0;
  } else {
    ia = new InIfaddr(ifp, req.addr, mask);
  }
  ia.ia_broadaddr = INADDR_ANY;
  ia.ia_dstaddr = INADDR_ANY;
  if (ifp.if_flags & IFF_POINTOPOINT) {
    if (req.broadaddr !== null) ia.ia_dstaddr = req.broadaddr;
  } else if (ifp.if_flags & IFF_BROADCAST) {
    ia.ia_broadaddr =
      req.broadaddr !== null && req.broadaddr !== INADDR_ANY
        ? req.broadaddr
        : in_broadcast_of(req.addr, mask);
  }
  if (isNew) {
    ifp.if_addrhead.push(ia);
    head.push(ia);
  }
  /* in_ifinit: the interface comes up and the driver hears SIOCSIFADDR. */
  if (!(ifp.if_flags & IFF_UP)) if_up(ifp);
  const ifr = new Uint8Array(32);
  sin_write(ifr, IFR_ADDR, ia.ia_addr);
  const e = ifp.if_ioctl(ifp, SIOCSIFADDR, ifr);
  void e; /* ENOIOCTL / ENOTTY: a driver without address handling is fine. */
  rt_newaddrmsg(RTM_ADD, ia);
  in_addprefix(ia);
  in_add_rtself(ia);
  in_ifaddr_event(ifp, ia, 'add');
  return 0;
}

/** in_difaddr: remove one address (its routes, the lists, the notifications). */
export function in_difaddr(ia: InIfaddr): void {
  const ifp = ia.ifa_ifp;
  in_ifaddr_event(ifp, ia, 'delete');
  const head = V_in_ifaddrhead.get() as InIfaddr[] | undefined;
  if (head !== undefined) {
    in_scrubprefix(ia);
    in_del_rtself(ia);
    const i = head.indexOf(ia);
    if (i >= 0) head.splice(i, 1);
  }
  const j = ifp.if_addrhead.indexOf(ia);
  if (j >= 0) ifp.if_addrhead.splice(j, 1);
  if (head !== undefined) rt_newaddrmsg(RTM_DELETE, ia);
}

/**
 * in_ifdetach / if_purgeaddrs for IPv4: every address of ifp goes, then every route
 * through ifp (rt_flushifroutes).  Called when ifp leaves curvnet.
 */
export function in_purgeaddrs(ifp: Ifnet): void {
  for (const ia of in_ifaddrs_of(ifp)) in_difaddr(ia);
  const rib = (V_rib.get() as ReturnType<typeof V_rib.get> | undefined) ?? null;
  if (rib === null) return;
  const gone: Rtentry[] = [];
  rib.walk((rt) => {
    if (rt_uses_ifp(rt, ifp)) gone.push(rt);
  });
  for (const rt of gone) {
    rib.delete(rt.rt_dst, rt.rt_plen);
    rt_routemsg(RTM_DELETE, rt);
  }
}

function rt_uses_ifp(rt: Rtentry, ifp: Ifnet): boolean {
  if (rt.rt_ifp === ifp) return true;
  if (
    rt.rt_ifp !== null &&
    rt.rt_ifp.if_index === ifp.if_index &&
    rt.rt_ifp.if_xname === ifp.if_xname
  )
    return true;
  return false;
}

/* ------------------------------------------------------------------------------ */
/* in_control                                                                      */

/** The address a get/delete names: ifr_addr when set and present on ifp, else the first. */
function ia_lookup(ifp: Ifnet, data: Uint8Array, exact: boolean): InIfaddr | null {
  const list = in_ifaddrs_of(ifp);
  const want =
    data.length >= IFR_ADDR + 8 && data[IFR_ADDR + 1] === AF_INET ? sin_addr(data, IFR_ADDR) : 0;
  if (want !== INADDR_ANY) {
    for (const ia of list) if (ia.ia_addr === want) return ia;
    if (exact) return null;
  }
  return list[0] ?? null;
}

/**
 * in_control(so, cmd, data, ifp, td): the IPv4 address ioctls.  data is the ifreq (32
 * bytes) or in_aliasreq (68 bytes) the ioctl layer copied in; ifp the interface it
 * names.  Unknown commands: EOPNOTSUPP.
 */
export function in_control(
  _so: Socket | null,
  cmd: number,
  data: Uint8Array,
  ifp: Ifnet | null,
  td: Thread | null,
): number {
  cmd = cmd >>> 0;
  switch (cmd) {
    case SIOCSIFADDR:
    case SIOCSIFBRDADDR:
    case SIOCSIFDSTADDR:
    case SIOCSIFNETMASK:
      /* FreeBSD 11+: "We no longer support that old commands." */
      return EINVAL;
    case SIOCAIFADDR:
    case SIOCDIFADDR:
    case SIOCGIFADDR:
    case SIOCGIFNETMASK:
    case SIOCGIFBRDADDR:
    case SIOCGIFDSTADDR:
      break;
    default:
      return EOPNOTSUPP;
  }
  if (ifp === null) return ENXIO;
  switch (cmd) {
    case SIOCAIFADDR: {
      const e = priv_check_net(td);
      if (e !== 0) return e;
      if (data.length < IN_ALIASREQ_SIZE) return EINVAL;
      if (data[IFRA_ADDR] !== 16 || data[IFRA_ADDR + 1] !== AF_INET) return EINVAL;
      const bl = data[IFRA_BROADADDR]!;
      if (bl !== 0 && (bl !== 16 || data[IFRA_BROADADDR + 1] !== AF_INET)) return EINVAL;
      const ml = data[IFRA_MASK]!;
      if (ml !== 0 && ml < 8) return EINVAL;
      const vhid = new DataView(data.buffer, data.byteOffset, data.length).getInt32(
        IFRA_VHID,
        true,
      );
      if (vhid !== 0) return EPROTONOSUPPORT;
      const addr = sin_addr(data, IFRA_ADDR);
      if (addr === INADDR_ANY) return EINVAL;
      return in_aifaddr(ifp, {
        addr,
        mask: ml !== 0 ? sin_addr(data, IFRA_MASK) : null,
        broadaddr: bl !== 0 ? sin_addr(data, IFRA_BROADADDR) : null,
      });
    }
    case SIOCDIFADDR: {
      const e = priv_check_net(td);
      if (e !== 0) return e;
      const ia = ia_lookup(ifp, data, true);
      if (ia === null) return EADDRNOTAVAIL;
      in_difaddr(ia);
      return 0;
    }
    case SIOCGIFADDR:
    case SIOCGIFNETMASK:
    case SIOCGIFBRDADDR:
    case SIOCGIFDSTADDR: {
      if (cmd === SIOCGIFBRDADDR && !(ifp.if_flags & IFF_BROADCAST)) return EINVAL;
      if (cmd === SIOCGIFDSTADDR && !(ifp.if_flags & IFF_POINTOPOINT)) return EINVAL;
      const ia = ia_lookup(ifp, data, false);
      if (ia === null) return EADDRNOTAVAIL;
      const v =
        cmd === SIOCGIFADDR
          ? ia.ia_addr
          : cmd === SIOCGIFNETMASK
            ? ia.ia_netmask
            : cmd === SIOCGIFBRDADDR
              ? ia.ia_broadaddr
              : ia.ia_dstaddr;
      sin_write(data, IFR_ADDR, v);
      return 0;
    }
  }
  return EOPNOTSUPP;
}

/**
 * The socket layer's group 'i' hook (ifioctl): generic interface ioctls first, then
 * the address family's control for the socket (in_control for AF_INET).
 */
export function in_ifioctl(
  so: Socket,
  cmd: number,
  data: Uint8Array,
  td: Thread | null,
): number | Promise<number> {
  const e = ifioctl_generic(null, cmd, data, td);
  if (e !== ENOIOCTL) return e;
  const ifp = ifunit(ifr_name_get(data));
  if (ifp === null) return ENXIO;
  if (so.so_family === AF_INET) return in_control(so, cmd, data, ifp, td);
  const f = so.so_proto.pr_control;
  if (f === undefined) return EOPNOTSUPP;
  const r = f.call(so.so_proto, so, cmd, data, ifp, td);
  const fix = (x: number): number => (x === ENOIOCTL || x === ENOTTY ? EOPNOTSUPP : x);
  return typeof r === 'number' ? fix(r) : r.then(fix);
}

/** The interface event handler: addresses and routes go with a departing interface. */
function in_if_event(ifp: Ifnet, kind: string): void {
  if (kind !== 'departure') return;
  in_purgeaddrs(ifp);
}

SYSINIT(K, 'in_control_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  const k = curkernel();
  socket_ifioctl_register(k, in_ifioctl);
  if_event_register(k, in_if_event);
});
