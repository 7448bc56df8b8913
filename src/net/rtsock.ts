/*
 * net/rtsock.ts — the routing socket (FreeBSD sys/net/rtsock.c): PF_ROUTE/SOCK_RAW
 * sockets through which route(8) and routing daemons change the routing table and
 * hear about routes, addresses and interfaces.
 *
 * How the work is split:
 *   - the wire format (rt_msghdr, ifa_msghdr, if_msghdr, sockaddrs) is net/route.ts;
 *     the table itself is net/route/route_var.ts's Rib, one per vnet (netinet/in_var.ts
 *     V_rib);
 *   - route_output (pr_send) takes one message per write(2): the written length must
 *     equal rtm_msglen (EINVAL, no reply), rtm_version must be RTM_VERSION
 *     (EPROTONOSUPPORT, no reply); then RTM_ADD / RTM_DELETE / RTM_CHANGE / RTM_GET run
 *     against V_rib and the message comes back to every routing socket of the vnet (the
 *     sender too unless it cleared SO_USELOOPBACK), with rtm_errno set and RTF_DONE on
 *     success; write(2) returns that errno;
 *   - the notification half (rt_routemsg, rt_missmsg, rt_newaddrmsg, rt_ifmsg,
 *     rt_ifannouncemsg) is what other code calls: in_control for addresses and
 *     interface routes, ICMP redirects (netinet/in_rmx.ts), and an interface event
 *     handler here for RTM_IFINFO and RTM_IFANNOUNCE;
 *   - RTM_ADD / RTM_DELETE with RTF_LLDATA go to the ARP table instead of the routing
 *     table (lla_rt_output, arp(8) -s and -d), and sysctl net.route.inet.dump /
 *     net.route.inet.llinfo return the routing table and the ARP table as rt_msghdr
 *     records (FreeBSD's NET_RT_DUMP and NET_RT_FLAGS/RTF_LLINFO; netstat -r, arp -a);
 *   - rt_getifa: which interface and local address a new route uses.  An address
 *     gateway (RTF_GATEWAY) must lie in the subnet of one of the vnet's addresses, or be
 *     reached through a non-gateway route (ENETUNREACH otherwise); a gateway that is
 *     one of our own addresses makes an interface route; a link gateway (sockaddr_dl)
 *     names the interface by index or name; RTA_IFP overrides the interface.
 *
 * Errors (the errno of write(2) and rtm_errno):
 *   EINVAL           length != rtm_msglen, shorter than rt_msghdr, bad sockaddrs, no
 *                    RTA_DST, RTM_ADD without a gateway, a non-contiguous netmask
 *   EPROTONOSUPPORT  rtm_version != RTM_VERSION
 *   EAFNOSUPPORT     a destination that is not AF_INET
 *   EOPNOTSUPP       a message type other than ADD, DELETE, CHANGE, GET
 *   EEXIST           RTM_ADD of a prefix that is present
 *   ESRCH            RTM_DELETE / RTM_CHANGE / RTM_GET of a prefix that is not
 *   ENETUNREACH      a gateway not on a connected network, an unknown link gateway
 *   EADDRINUSE       RTM_DELETE of a pinned route (interface and local routes)
 *
 * Where it differs from FreeBSD: messages are delivered synchronously to the
 * receivers' buffers (FreeBSD queues them on the NETISR_ROUTE netisr); there is no
 * message filter (RO_MSGFILTER), no multipath, no RTM_LOCK and no per-FIB sockets
 * (SO_SETFIB); the protocol argument of socket(2) filters nothing but AF_INET and 0
 * are the only families there are.  A full receive buffer drops the message and counts
 * it in the vnet's rts_drops (FreeBSD counts it in the netisr queue drops), and sets
 * so_rerror = ENOBUFS when the socket has SO_RERROR (soroverflow).
 * XXX: RTM_IFINFO carries no interface statistics (if_data counters are zero except
 * type, MTU, link state, address length); RTM_NEWMADDR/RTM_DELMADDR are never sent.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SI_ORDER_ANY, SI_ORDER_SECOND, SI_SUB_PROTO_DOMAIN, SYSINIT } from '../sys/kernel.js';
import { VNET_DEFINE_U64, VNET_OBJ, VNET_SYSINIT, type VnetU64 } from './vnet.js';
import { curkernel } from '../kern/kern_cur.js';
import { DOMAIN_SET, PR_ADDR, PR_ATOMIC, type Domain, type Protosw } from '../sys/protosw.js';
import { SOCK_RAW, SO_RERROR, SO_USELOOPBACK } from '../sys/socket.js';
import type { Socket } from '../sys/socketvar.js';
import type { Thread } from '../sys/proc.js';
import { m_freem, mtod, type Mbuf } from '../sys/mbuf.js';
import {
  EADDRINUSE,
  EAFNOSUPPORT,
  EINVAL,
  ENETUNREACH,
  ENOBUFS,
  EOPNOTSUPP,
  EPROTONOSUPPORT,
  ESRCH,
} from '../sys/errno.js';
import {
  sbappendaddr,
  socantsendmore,
  soisconnected,
  soisdisconnected,
  soreserve,
  sorwakeup,
} from '../kern/uipc_sockbuf.js';
import {
  IFAN_ARRIVAL,
  IFAN_DEPARTURE,
  RTAX_BRD,
  RTAX_DST,
  RTAX_GATEWAY,
  RTAX_IFA,
  RTAX_IFP,
  RTAX_NETMASK,
  RTF_DONE,
  RTF_GATEWAY,
  RTF_HOST,
  RTF_ANNOUNCE,
  RTF_LLDATA,
  RTF_PINNED,
  RTF_UP,
  RTF_STATIC,
  RTM_ADD,
  RTM_CHANGE,
  RTM_DELADDR,
  RTM_DELETE,
  RTM_GET,
  RTM_IFANNOUNCE,
  RTM_IFINFO,
  RTM_NEWADDR,
  RTV_EXPIRE,
  RTV_MTU,
  RTV_WEIGHT,
  rt_addrs,
  rtsock_decode,
  rtsock_encode,
  sa_inet,
  sa_link,
  sa_mask,
  type RtAddrs,
  type RtSockaddr,
  type RtsockMsg,
  rt_msghdr_flat,
} from './route.js';
import {
  gw_inet,
  gw_link,
  type RtAddRequest,
  type RtChangeRequest,
  type RtGateway,
  type Rtentry,
} from './route/route_var.js';
import {
  AF_INET,
  AF_ROUTE,
  IFCOUNTER_COLLISIONS,
  IFCOUNTER_IBYTES,
  IFCOUNTER_IERRORS,
  IFCOUNTER_IPACKETS,
  IFCOUNTER_IQDROPS,
  IFCOUNTER_OBYTES,
  IFCOUNTER_OERRORS,
  IFCOUNTER_OPACKETS,
  IFCOUNTER_OQDROPS,
  IFT_ETHER,
  if_get_counter,
  type Ifnet,
} from './if_var.js';
import { ether_addr_read, ether_addr_write } from './ethernet.js';
import { V_ifnet, if_event_register, ifnet_byindex, ifunit } from './if.js';
import {
  V_rib,
  ifa_ifwithaddr,
  in_ifaddr_byifp,
  in_ifaddr_bynet,
  in_ifaddrs_of,
  type InIfaddr,
} from '../netinet/in_var.js';
import { in_addr, in_mask2len } from '../netinet/in.js';
import { readScalar } from '../sys/types.js';
import { SBT_1S, time_second, time_uptime } from '../kern/kern_clock.js';
import { V_arp, arp_add_static, arp_delete } from '../netinet/if_ether.js';
import {
  CTLFLAG_RD,
  CTLFLAG_VNET,
  CTLTYPE_OPAQUE,
  SYSCTL_NODE,
  SYSCTL_OUT,
  SYSCTL_PROC,
} from '../sys/sysctl.js';

/** rmx_expire from a user (wall-clock seconds) to the route's uptime seconds. */
function expire_in(wall: number): number {
  return wall === 0 ? 0 : Math.max(1, wall - time_second() + time_uptime());
}

export const K = new ObjFile('net/rtsock.ts', VIMAGEID('src/net/rtsock.ts'));

/* ------------------------------------------------------------------------------ */
/* Per-vnet state.                                                                 */

/** The routing sockets of a vnet (FreeBSD's rawcb_list for PF_ROUTE). */
export class RtsockVnet {
  readonly socks: Socket[] = [];
}

export const V_rtsock = VNET_OBJ<RtsockVnet>(K, 'rtsock');
/** Messages dropped because a routing socket's receive buffer was full. */
export const V_rts_drops: VnetU64 = VNET_DEFINE_U64(K, 'rts_drops', 0);

VNET_SYSINIT(K, 'rts_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  V_rtsock.set(new RtsockVnet());
});

/** The routing sockets of curvnet ([] before the routing socket layer is up). */
function rts_list(): Socket[] {
  return (V_rtsock.get() as RtsockVnet | undefined)?.socks ?? [];
}

/** Per-socket state (struct rawcb, reduced). */
interface RtsockCb {
  /** socket(2)'s protocol: the address family of interest, 0 = all. */
  readonly rcb_proto: number;
}

/** sockaddr of the messages' source (route_src: sa_len 2, AF_ROUTE). */
const ROUTE_SRC = new Uint8Array([2, AF_ROUTE]);

/* ------------------------------------------------------------------------------ */
/* Delivery.                                                                       */

/**
 * rt_dispatch: a copy of msg into every routing socket of curvnet, except `skip`
 * (the sender that cleared SO_USELOOPBACK).  A full buffer drops and counts.
 */
function rt_dispatch(msg: Uint8Array, family: number, skip: Socket | null = null): void {
  const k = curkernel();
  for (const so of rts_list()) {
    if (so === skip || so.so_freed) continue;
    const cb = so.so_pcb as RtsockCb | null;
    if (cb !== null && cb.rcb_proto !== 0 && family !== 0 && cb.rcb_proto !== family) continue;
    const m = k.mbpool.m_gethdr(msg.length);
    if (m === null) {
      V_rts_drops.set(V_rts_drops.get() + 1);
      continue;
    }
    mtod(m).set(msg);
    if (!sbappendaddr(so.so_rcv, ROUTE_SRC, m, null)) {
      m_freem(m);
      V_rts_drops.set(V_rts_drops.get() + 1);
      if (so.so_options & SO_RERROR) so.so_rerror = ENOBUFS;
    }
    sorwakeup(so);
  }
}

/** Is anybody listening in curvnet? (saves building messages for nobody) */
function rts_listeners(): boolean {
  return rts_list().length > 0;
}

/* ------------------------------------------------------------------------------ */
/* Building messages.                                                              */

/** The sockaddr_dl of an interface (RTA_IFP). */
export function rt_ifp_sa(ifp: Ifnet): RtSockaddr {
  const lla = ifp.if_lladdr !== null ? ether_bytes(ifp) : new Uint8Array(0);
  return sa_link(ifp.if_index, ifp.if_type, ifp.if_xname, lla);
}

function ether_bytes(ifp: Ifnet): Uint8Array {
  const b = new Uint8Array(6);
  if (ifp.if_lladdr !== null) ether_addr_write(b, 0, ifp.if_lladdr);
  return b;
}

/** The interface of a route, in curvnet. */
function rt_ifnet(rt: Rtentry): Ifnet | null {
  if (rt.rt_ifp === null) return null;
  const ifp = ifnet_byindex(rt.rt_ifp.if_index);
  return ifp !== null && ifp.if_xname === rt.rt_ifp.if_xname ? ifp : null;
}

function gw_sa(gw: RtGateway): RtSockaddr {
  if (gw.kind === 'inet') return sa_inet(gw.addr);
  const ifp = ifnet_byindex(gw.index);
  return sa_link(gw.index, ifp?.if_type ?? 0, '', gw.lladdr);
}

/** The sockaddrs describing a route: dst, gateway, netmask, ifp, ifa. */
function rt_info(rt: Rtentry): RtAddrs {
  const a = rt_addrs();
  a[RTAX_DST] = sa_inet(rt.rt_dst);
  a[RTAX_GATEWAY] = gw_sa(rt.rt_gateway);
  if (rt.rt_plen !== 32) a[RTAX_NETMASK] = sa_inet(rt.rt_netmask);
  const ifp = rt_ifnet(rt);
  if (ifp !== null) a[RTAX_IFP] = rt_ifp_sa(ifp);
  if (rt.rt_ifa !== null) a[RTAX_IFA] = sa_inet(rt.rt_ifa);
  return a;
}

/** The rt_msghdr fields of a route (flags, index, metrics). */
function rt_hdr(rt: Rtentry): Record<string, number> {
  const ifp = rt_ifnet(rt);
  return {
    rtm_flags: rt.rt_flags | 0,
    rtm_index: ifp?.if_index ?? 0,
    rmx_mtu: rt.rt_mtu !== 0 ? rt.rt_mtu : (ifp?.if_mtu ?? 0),
    rmx_expire: rt.rt_expire !== 0 ? rt.rt_expire - time_uptime() + time_second() : 0,
    rmx_pksent: rt.rt_pksent,
    rmx_weight: rt.rt_weight,
  };
}

/**
 * rt_routemsg(type, rt, error): tell the routing sockets that a route was added,
 * deleted or changed by the kernel (interface routes, redirects, expiry).
 */
export function rt_routemsg(type: number, rt: Rtentry, error = 0): void {
  if (!rts_listeners()) return;
  const hdr = rt_hdr(rt);
  hdr['rtm_errno'] = error;
  if (error === 0) hdr['rtm_flags'] = hdr['rtm_flags']! | RTF_DONE | 0;
  rt_dispatch(rtsock_encode({ type, hdr, addrs: rt_info(rt) }), AF_INET);
}

/**
 * rt_missmsg(type, addrs, flags, error): a message about a destination without a
 * route entry of its own (RTM_MISS, RTM_REDIRECT with RTAX_AUTHOR, RTM_LOSING).
 */
export function rt_missmsg(type: number, addrs: RtAddrs, flags: number, error: number): void {
  if (!rts_listeners()) return;
  const msg: RtsockMsg = { type, hdr: { rtm_flags: flags | 0, rtm_errno: error }, addrs };
  rt_dispatch(rtsock_encode(msg), AF_INET);
}

/** rt_newaddrmsg: RTM_NEWADDR (cmd RTM_ADD) or RTM_DELADDR (RTM_DELETE) for an address. */
export function rt_newaddrmsg(cmd: number, ia: InIfaddr): void {
  if (!rts_listeners()) return;
  const ifp = ia.ifa_ifp;
  const a = rt_addrs();
  a[RTAX_NETMASK] = sa_inet(ia.ia_netmask);
  a[RTAX_IFP] = rt_ifp_sa(ifp);
  a[RTAX_IFA] = sa_inet(ia.ia_addr);
  if (ia.ia_broadaddr !== 0) a[RTAX_BRD] = sa_inet(ia.ia_broadaddr);
  else if (ia.ia_dstaddr !== 0) a[RTAX_BRD] = sa_inet(ia.ia_dstaddr);
  const msg: RtsockMsg = {
    type: cmd === RTM_DELETE ? RTM_DELADDR : RTM_NEWADDR,
    hdr: { ifam_flags: ia.ifa_flags, ifam_index: ifp.if_index, ifam_metric: ifp.if_metric },
    addrs: a,
  };
  rt_dispatch(rtsock_encode(msg), AF_INET);
}

/** The header fields of an RTM_IFINFO for ifp: if_msghdr with its if_data (if_data_copy). */
function if_msghdr_of(ifp: Ifnet): Record<string, number> {
  return {
    ifm_flags: ifp.flags_user | 0,
    ifm_index: ifp.if_index,
    ifi_type: ifp.if_type,
    ifi_addrlen: ifp.if_lladdr !== null ? 6 : 0,
    ifi_hdrlen: ifp.if_hdrlen,
    ifi_link_state: ifp.if_link_state,
    ifi_datalen: 152,
    ifi_mtu: ifp.if_mtu,
    ifi_metric: ifp.if_metric,
    ifi_baudrate: ifp.if_baudrate,
    ifi_hwassist: ifp.if_hwassist,
    ifi_ipackets: if_get_counter(ifp, IFCOUNTER_IPACKETS),
    ifi_ierrors: if_get_counter(ifp, IFCOUNTER_IERRORS),
    ifi_opackets: if_get_counter(ifp, IFCOUNTER_OPACKETS),
    ifi_oerrors: if_get_counter(ifp, IFCOUNTER_OERRORS),
    ifi_collisions: if_get_counter(ifp, IFCOUNTER_COLLISIONS),
    ifi_ibytes: if_get_counter(ifp, IFCOUNTER_IBYTES),
    ifi_obytes: if_get_counter(ifp, IFCOUNTER_OBYTES),
    ifi_iqdrops: if_get_counter(ifp, IFCOUNTER_IQDROPS),
    ifi_oqdrops: if_get_counter(ifp, IFCOUNTER_OQDROPS),
  };
}

/** rt_ifmsg: RTM_IFINFO (flags, link state, MTU changed), with the if_data counters. */
export function rt_ifmsg(ifp: Ifnet): void {
  if (!rts_listeners()) return;
  const msg: RtsockMsg = { type: RTM_IFINFO, hdr: if_msghdr_of(ifp), addrs: rt_addrs() };
  rt_dispatch(rtsock_encode(msg), 0);
}

/** rt_ifannouncemsg: RTM_IFANNOUNCE (IFAN_ARRIVAL / IFAN_DEPARTURE). */
export function rt_ifannouncemsg(ifp: Ifnet, what: number): void {
  if (!rts_listeners()) return;
  const msg: RtsockMsg = {
    type: RTM_IFANNOUNCE,
    hdr: { ifan_index: ifp.if_index, ifan_what: what },
    addrs: rt_addrs(),
    ifname: ifp.if_xname,
  };
  rt_dispatch(rtsock_encode(msg), 0);
}

/* ------------------------------------------------------------------------------ */
/* route_output.                                                                   */

/** The interface and local address a route uses (rt_getifa_fib). */
interface RtIfa {
  readonly ifp: Ifnet;
  readonly ifa: number | null;
}

/** The interface named by a sockaddr_dl (index first, then name). */
function link_ifp(sa: RtSockaddr): Ifnet | null {
  if (sa.kind !== 'link') return null;
  if (sa.index !== 0) return ifnet_byindex(sa.index);
  return sa.name !== '' ? ifunit(sa.name) : null;
}

/**
 * rt_getifa: the outgoing interface for a gateway.  Returns the interface and address
 * or an errno (ENETUNREACH when no connected network holds the gateway).
 */
export function rt_getifa(gw: RtSockaddr, flags: number, ifpsa: RtSockaddr | null): RtIfa | number {
  const forced = ifpsa !== null ? link_ifp(ifpsa) : null;
  if (gw.kind === 'link') {
    const ifp = forced ?? link_ifp(gw);
    if (ifp === null) return ENETUNREACH;
    return { ifp, ifa: in_ifaddr_byifp(ifp)?.ia_addr ?? null };
  }
  if (gw.kind !== 'inet') return EAFNOSUPPORT;
  if ((flags & RTF_GATEWAY) === 0) {
    const own = ifa_ifwithaddr(in_addr(gw.addr));
    if (own !== null) return { ifp: forced ?? own.ifa_ifp, ifa: own.ia_addr };
  }
  const ia = in_ifaddr_bynet(in_addr(gw.addr));
  if (ia !== null) {
    const ifp = forced ?? ia.ifa_ifp;
    return { ifp, ifa: ifp === ia.ifa_ifp ? ia.ia_addr : (in_ifaddr_byifp(ifp)?.ia_addr ?? null) };
  }
  /* A gateway reached through a direct (non-gateway) route, e.g. a host route -iface. */
  const rt = V_rib.get().lookup(gw.addr);
  if (rt !== null && (rt.rt_flags & RTF_GATEWAY) === 0) {
    const ifp = forced ?? rt_ifnet(rt);
    if (ifp !== null) return { ifp, ifa: rt.rt_ifa ?? in_ifaddr_byifp(ifp)?.ia_addr ?? null };
  }
  return ENETUNREACH;
}

/** Prefix length of the request: RTF_HOST or no netmask is /32. */
function req_plen(addrs: RtAddrs, flags: number): number {
  if (flags & RTF_HOST) return 32;
  const m = sa_mask(addrs[RTAX_NETMASK] ?? null);
  if (addrs[RTAX_NETMASK] === null || addrs[RTAX_NETMASK] === undefined) return 32;
  if (m === null) return -1;
  return in_mask2len(m);
}

interface RtOutcome {
  error: number;
  rt: Rtentry | null;
}

function rt_add(msg: RtsockMsg): RtOutcome {
  const h = msg.hdr;
  const a = msg.addrs;
  const dst = a[RTAX_DST] ?? null;
  const gw = a[RTAX_GATEWAY] ?? null;
  let flags = (h['rtm_flags'] ?? 0) >>> 0;
  if (dst === null || gw === null) return { error: EINVAL, rt: null };
  if (dst.kind !== 'inet') return { error: EAFNOSUPPORT, rt: null };
  const plen = req_plen(a, flags);
  if (plen < 0) return { error: EINVAL, rt: null };
  /* An address gateway that is not one of ours is a next hop. */
  if (gw.kind === 'inet' && ifa_ifwithaddr(in_addr(gw.addr)) === null) flags |= RTF_GATEWAY;
  if (gw.kind !== 'inet' && gw.kind !== 'link') return { error: EAFNOSUPPORT, rt: null };
  const r = rt_getifa(gw, flags, a[RTAX_IFP] ?? null);
  if (typeof r === 'number') return { error: r, rt: null };
  const ifaSa = a[RTAX_IFA] ?? null;
  const ifa = ifaSa !== null && ifaSa.kind === 'inet' ? ifaSa.addr : r.ifa;
  const inits = h['rtm_inits'] ?? 0;
  const gateway: RtGateway =
    gw.kind === 'inet' && flags & RTF_GATEWAY
      ? gw_inet(gw.addr)
      : gw.kind === 'link'
        ? gw_link(r.ifp.if_index, gw.lladdr)
        : gw_link(r.ifp.if_index);
  const req: RtAddRequest = {
    dst: dst.addr,
    plen,
    gateway,
    flags: (flags | RTF_STATIC) & ~RTF_PINNED,
    ifp: r.ifp,
    ifa,
    ...(inits & RTV_MTU ? { mtu: h['rmx_mtu'] ?? 0 } : {}),
    ...(inits & RTV_EXPIRE ? { expire: expire_in(h['rmx_expire'] ?? 0) } : {}),
    ...(inits & RTV_WEIGHT ? { weight: h['rmx_weight'] ?? 1 } : {}),
  };
  const res = V_rib.get().add(req);
  return { error: res.error, rt: res.rt };
}

function rt_delete(msg: RtsockMsg): RtOutcome {
  const a = msg.addrs;
  const flags = (msg.hdr['rtm_flags'] ?? 0) >>> 0;
  const dst = a[RTAX_DST] ?? null;
  if (dst === null) return { error: EINVAL, rt: null };
  if (dst.kind !== 'inet') return { error: EAFNOSUPPORT, rt: null };
  const plen = req_plen(a, flags);
  if (plen < 0) return { error: EINVAL, rt: null };
  const rib = V_rib.get();
  const cur = rib.get(dst.addr, plen);
  if (cur.rt === null) return { error: ESRCH, rt: null };
  if (cur.rt.rt_flags & RTF_PINNED && !(flags & RTF_PINNED)) return { error: EADDRINUSE, rt: null };
  const gw = a[RTAX_GATEWAY] ?? null;
  let g: RtGateway | null = null;
  if (gw !== null && gw.kind === 'inet') g = gw_inet(gw.addr);
  if (g !== null && cur.rt.rt_gateway.kind !== 'inet') g = null; /* -iface routes */
  const res = rib.delete(dst.addr, plen, g);
  return { error: res.error, rt: res.rt };
}

function rt_change(msg: RtsockMsg): RtOutcome {
  const h = msg.hdr;
  const a = msg.addrs;
  let flags = (h['rtm_flags'] ?? 0) >>> 0;
  const dst = a[RTAX_DST] ?? null;
  if (dst === null) return { error: EINVAL, rt: null };
  if (dst.kind !== 'inet') return { error: EAFNOSUPPORT, rt: null };
  const plen = req_plen(a, flags);
  if (plen < 0) return { error: EINVAL, rt: null };
  const rib = V_rib.get();
  if (rib.get(dst.addr, plen).rt === null) return { error: ESRCH, rt: null };
  const gw = a[RTAX_GATEWAY] ?? null;
  const inits = h['rtm_inits'] ?? 0;
  let ch: RtChangeRequest = {
    ...(inits & RTV_MTU ? { mtu: h['rmx_mtu'] ?? 0 } : {}),
    ...(inits & RTV_EXPIRE ? { expire: expire_in(h['rmx_expire'] ?? 0) } : {}),
    ...(inits & RTV_WEIGHT ? { weight: h['rmx_weight'] ?? 1 } : {}),
  };
  if (h['rtm_fmask'] !== undefined && h['rtm_fmask'] !== 0)
    ch = { ...ch, fmask: h['rtm_fmask'], flags };
  if (gw !== null) {
    if (gw.kind === 'inet' && ifa_ifwithaddr(in_addr(gw.addr)) === null) flags |= RTF_GATEWAY;
    const r = rt_getifa(gw, flags, a[RTAX_IFP] ?? null);
    if (typeof r === 'number') return { error: r, rt: null };
    const gateway =
      gw.kind === 'inet' && flags & RTF_GATEWAY ? gw_inet(gw.addr) : gw_link(r.ifp.if_index);
    ch = {
      ...ch,
      gateway,
      flags: (ch.flags ?? flags) | (gateway.kind === 'inet' ? RTF_GATEWAY : 0),
      ifp: r.ifp,
      ifa: r.ifa,
    };
  } else if (a[RTAX_IFP] !== null && a[RTAX_IFP] !== undefined) {
    const ifp = link_ifp(a[RTAX_IFP]);
    if (ifp === null) return { error: ENETUNREACH, rt: null };
    ch = { ...ch, ifp, ifa: in_ifaddr_byifp(ifp)?.ia_addr ?? null };
  }
  const res = rib.change(dst.addr, plen, ch);
  return { error: res.error, rt: res.rt };
}

function rt_get(msg: RtsockMsg): RtOutcome {
  const a = msg.addrs;
  const dst = a[RTAX_DST] ?? null;
  if (dst === null) return { error: EINVAL, rt: null };
  if (dst.kind !== 'inet') return { error: EAFNOSUPPORT, rt: null };
  const rib = V_rib.get();
  const nm = a[RTAX_NETMASK] ?? null;
  if (nm !== null) {
    const m = sa_mask(nm);
    const plen = m === null ? -1 : in_mask2len(m);
    if (plen < 0) return { error: EINVAL, rt: null };
    const r = rib.get(dst.addr, plen);
    return { error: r.error, rt: r.rt };
  }
  const r = rib.get(dst.addr);
  return { error: r.error, rt: r.rt };
}

/**
 * route_output: one message written by a user.  Returns the errno for write(2); the
 * reply (when the message was understood) has gone to the routing sockets.
 */
export function route_output(so: Socket, buf: Uint8Array, td: Thread | null): number {
  if (buf.length < rt_msghdr_flat.size) return EINVAL;
  const msglen = buf[0]! | (buf[1]! << 8);
  if (msglen !== buf.length) return EINVAL;
  const d = rtsock_decode(buf);
  if (d.error === EPROTONOSUPPORT) return EPROTONOSUPPORT;
  /* Types without an rt_msghdr (RTM_NEWADDR...) are not requests: no reply. */
  if (!rtsock_hdrkind_ok(buf[3]!)) return EOPNOTSUPP;
  /* Undecodable but versioned: answer with rtm_errno like rt_xaddrs failures do. */
  const hdr: Record<string, number> = {};
  let addrs = rt_addrs();
  const type = buf[3]!;
  let error = 0;
  let rt: Rtentry | null = null;
  if (d.error !== 0 || d.msg === null) {
    /* rt_xaddrs failed (bad sockaddrs) or an unknown type: the header is still read. */
    error = d.error !== 0 ? d.error : EINVAL;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    for (const f of rt_msghdr_flat.fields)
      if (f.type.kind !== 'bytes') hdr[f.name] = readScalar(dv, f.offset, f.type);
  } else {
    const msg = d.msg;
    Object.assign(hdr, msg.hdr);
    addrs = [...msg.addrs];
    let out: RtOutcome;
    if (((msg.hdr['rtm_flags'] ?? 0) & RTF_LLDATA) !== 0) out = lla_rt_output(msg);
    else
      switch (msg.type) {
        case RTM_ADD:
          out = rt_add(msg);
          break;
        case RTM_DELETE:
          out = rt_delete(msg);
          break;
        case RTM_CHANGE:
          out = rt_change(msg);
          break;
        case RTM_GET:
          out = rt_get(msg);
          break;
        default:
          out = { error: EOPNOTSUPP, rt: null };
      }
    error = out.error;
    rt = out.rt;
  }
  hdr['rtm_pid'] = td?.td_proc.p_pid ?? 0;
  hdr['rtm_errno'] = error;
  if (rt !== null) {
    Object.assign(hdr, rt_hdr(rt));
    addrs = rt_info(rt);
  }
  if (error === 0) hdr['rtm_flags'] = (hdr['rtm_flags'] ?? 0) | RTF_DONE | 0;
  else hdr['rtm_flags'] = (hdr['rtm_flags'] ?? 0) & ~RTF_DONE;
  const reply = rtsock_encode({ type, hdr, addrs });
  rt_dispatch(reply, AF_INET, so.so_options & SO_USELOOPBACK ? null : so);
  return error;
}

/** A type whose header rtsock_encode knows as an rt_msghdr. */
function rtsock_hdrkind_ok(type: number): boolean {
  return type >= RTM_ADD && type <= 0xb && type !== 0x9 && type !== 0xa;
}

/* ------------------------------------------------------------------------------ */
/* The protocol.                                                                   */

/** Default buffer sizes (net.route.sendspace / recvspace in spirit: rts_sendspace). */
export const RTS_SENDSPACE = 8192;
export const RTS_RECVSPACE = 8192;

export const route_protosw = {
  pr_type: SOCK_RAW,
  pr_protocol: 0,
  pr_flags: PR_ATOMIC | PR_ADDR,

  pr_attach(so: Socket, proto: number, _td: Thread | null): number {
    if (proto !== 0 && proto !== AF_INET) return EPROTONOSUPPORT;
    const e = soreserve(so, RTS_SENDSPACE, RTS_RECVSPACE);
    if (e !== 0) return e;
    const cb: RtsockCb = { rcb_proto: proto };
    so.so_pcb = cb;
    so.so_options |= SO_USELOOPBACK;
    soisconnected(so);
    rts_list_mut()?.push(so);
    return 0;
  },

  pr_detach(so: Socket): void {
    const l = rts_list_of(so);
    const i = l.indexOf(so);
    if (i >= 0) l.splice(i, 1);
    so.so_pcb = null;
  },

  pr_send(
    so: Socket,
    _flags: number,
    m: Mbuf,
    _addr: Uint8Array | null,
    control: Uint8Array | null,
    td: Thread | null,
  ): number {
    void control;
    const buf = mtod(m).slice();
    m_freem(m);
    return route_output(so, buf, td);
  },

  pr_shutdown(so: Socket, _how: number): number {
    socantsendmore(so);
    return 0;
  },

  pr_disconnect(so: Socket): number {
    soisdisconnected(so);
    return 0;
  },

  pr_abort(so: Socket): void {
    soisdisconnected(so);
  },

  pr_close(so: Socket): void {
    soisdisconnected(so);
  },

  pr_sockaddr(_so: Socket): Uint8Array {
    return ROUTE_SRC.slice();
  },

  pr_peeraddr(_so: Socket): Uint8Array {
    return ROUTE_SRC.slice();
  },
} satisfies Protosw;

function rts_list_mut(): Socket[] | null {
  return (V_rtsock.get() as RtsockVnet | undefined)?.socks ?? null;
}

/** The list a socket is on: its own vnet's (whatever curvnet is). */
function rts_list_of(so: Socket): Socket[] {
  const v = so.so_vnet;
  const st = (v !== null && v.kernel.vimage ? V_rtsock.on(v) : V_rtsock.get()) as
    RtsockVnet | undefined;
  return st?.socks ?? [];
}

export const routedomain: Domain = DOMAIN_SET(K, {
  dom_family: AF_ROUTE,
  dom_name: 'route',
  dom_protosw: [route_protosw],
});

/* ------------------------------------------------------------------------------ */
/* Interface events: RTM_IFINFO and RTM_IFANNOUNCE.                                */

SYSINIT(K, 'rts_ifevents', SI_SUB_PROTO_DOMAIN, SI_ORDER_SECOND, () => {
  if_event_register(curkernel(), (ifp, kind) => {
    switch (kind) {
      case 'arrival':
        rt_ifannouncemsg(ifp, IFAN_ARRIVAL);
        break;
      case 'departure':
        rt_ifannouncemsg(ifp, IFAN_DEPARTURE);
        break;
      case 'link':
      case 'flags':
        rt_ifmsg(ifp);
        break;
      default:
        break;
    }
  });
});

/* ------------------------------------------------------------------------------ */
/* Link-layer entries through the routing socket (lla_rt_output).                  */

/**
 * lla_rt_output: RTM_ADD / RTM_DELETE with RTF_LLDATA, as arp(8) -s and -d send them
 * (FreeBSD net/rt_sockets.c → lltable).  RTM_ADD carries the destination and a
 * sockaddr_dl gateway naming the interface (sdl_index) and the MAC; it makes a
 * permanent entry, or one that expires at rmx_expire (wall-clock seconds, arp -s ...
 * temp); RTF_ANNOUNCE publishes it (LLE_PUB, proxy ARP).  RTF_BLACKHOLE and
 * RTF_REJECT are accepted and ignored, as FreeBSD 14's lltable does.  RTM_DELETE
 * removes the destination's entry on whichever interface has one.  EINVAL for a
 * missing/short sockaddr_dl or an unknown interface, ENOENT when there is nothing to
 * delete, EOPNOTSUPP for other types.
 */
function lla_rt_output(msg: RtsockMsg): RtOutcome {
  const dst = msg.addrs[RTAX_DST] ?? null;
  if (dst === null || dst.kind !== 'inet') return { error: EINVAL, rt: null };
  if (msg.type === RTM_DELETE) return { error: arp_delete(dst.addr), rt: null };
  if (msg.type !== RTM_ADD) return { error: EOPNOTSUPP, rt: null };
  const gw = msg.addrs[RTAX_GATEWAY] ?? null;
  if (gw === null || gw.kind !== 'link' || gw.lladdr.length !== 6)
    return { error: EINVAL, rt: null };
  const ifp = ifnet_byindex(gw.index);
  if (ifp === null || ifp.if_lladdr === null) return { error: EINVAL, rt: null };
  const wall = msg.hdr['rmx_expire'] ?? 0;
  const secs = wall === 0 ? 0 : Math.max(1, wall - time_second());
  const pub = ((msg.hdr['rtm_flags'] ?? 0) & RTF_ANNOUNCE) !== 0;
  return {
    error: arp_add_static(ifp, dst.addr, ether_addr_read(gw.lladdr, 0), { pub, secs }),
    rt: null,
  };
}

/* ------------------------------------------------------------------------------ */
/* sysctl net.route (FreeBSD's sysctl_rtsock: NET_RT_DUMP and NET_RT_FLAGS).        */

/*
 * FreeBSD reaches these by number: {CTL_NET, PF_ROUTE, 0, AF_INET, NET_RT_DUMP} and
 * {CTL_NET, PF_ROUTE, 0, AF_INET, NET_RT_FLAGS, RTF_LLINFO}.  Here they have names:
 *
 *   net.route.inet.dump    every IPv4 route, in netstat -rn order: one RTM_GET
 *                          rt_msghdr per route with RTA_DST, RTA_GATEWAY, RTA_NETMASK
 *                          (not for host routes), RTA_IFP (sockaddr_dl with the
 *                          interface's name), RTA_IFA; rtm_flags, rtm_index and the
 *                          metrics as the routing socket reports them (rmx_expire in
 *                          wall-clock seconds, 0 for none);
 *   net.route.inet.llinfo  the ARP table (the lltables of every interface): one
 *                          RTM_GET per entry, rtm_flags RTF_UP|RTF_HOST|RTF_LLINFO
 *                          (|RTF_STATIC for permanent ones), rtm_index the interface,
 *                          RTA_DST the IPv4 address, RTA_GATEWAY a sockaddr_dl with
 *                          the interface's name, type and the MAC (sdl_alen 0 while
 *                          incomplete), rmx_expire in wall-clock seconds (0 = permanent).
 *
 * Both are per vnet (CTLFLAG_VNET): inside a jail with its own vnet they dump that
 * vnet's tables.  The records are concatenated; a size query (oldptr NULL) returns
 * the length, a short buffer ENOMEM, as in FreeBSD.
 */

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** The records of net.route.inet.dump for curvnet. */
export function rt_dump_inet(): Uint8Array {
  const parts: Uint8Array[] = [];
  const rib = V_rib.get();
  if (rib)
    rib.walk((rt) => {
      parts.push(rtsock_encode({ type: RTM_GET, hdr: rt_hdr(rt), addrs: rt_info(rt) }));
    });
  return concat(parts);
}

/**
 * The records of net.route.iflist for curvnet (FreeBSD's NET_RT_IFLIST): per interface
 * an RTM_IFINFO with its if_data counters and its link-level address, then an
 * RTM_NEWADDR per IPv4 address.  `long` gives net.route.iflistl (NET_RT_IFLISTL, what
 * getifaddrs(3) reads): if_msghdrl and ifa_msghdrl, the latter with the address's own
 * packet and byte counters in its if_data.
 */
export function rt_dump_iflist(long = false): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const ifp of V_ifnet.get().ifnet) {
    const a = rt_addrs();
    a[RTAX_IFP] = rt_ifp_sa(ifp);
    parts.push(
      rtsock_encode(
        {
          type: RTM_IFINFO,
          hdr: if_msghdr_of(ifp),
          addrs: a,
        },
        long,
      ),
    );
    for (const ia of in_ifaddrs_of(ifp)) {
      const b = rt_addrs();
      b[RTAX_NETMASK] = sa_inet(ia.ia_netmask);
      b[RTAX_IFP] = rt_ifp_sa(ifp);
      b[RTAX_IFA] = sa_inet(ia.ia_addr);
      if (ia.ia_broadaddr !== 0) b[RTAX_BRD] = sa_inet(ia.ia_broadaddr);
      const hdr: Record<string, number> = {
        ifam_flags: ia.ifa_flags,
        ifam_index: ifp.if_index,
        ifam_metric: ifp.if_metric,
      };
      if (long) {
        hdr['ifi_datalen'] = 152;
        hdr['ifi_ipackets'] = ia.ifa_ipackets;
        hdr['ifi_opackets'] = ia.ifa_opackets;
        hdr['ifi_ibytes'] = ia.ifa_ibytes;
        hdr['ifi_obytes'] = ia.ifa_obytes;
      }
      parts.push(rtsock_encode({ type: RTM_NEWADDR, hdr, addrs: b }, long));
    }
  }
  return concat(parts);
}

/** The records of net.route.inet.llinfo for curvnet. */
export function rt_dump_llinfo(): Uint8Array {
  const parts: Uint8Array[] = [];
  const st = V_arp.get();
  if (!st) return new Uint8Array(0);
  const now = curkernel().now();
  for (const [ifp, t] of st.tables) {
    const es = [...t.values()].sort((a, b) => a.addr - b.addr);
    for (const e of es) {
      const known = e.mac !== null && e.state !== 'incomplete' && e.state !== 'down';
      const lla = new Uint8Array(known ? 6 : 0);
      if (known) ether_addr_write(lla, 0, e.mac!);
      const a = rt_addrs();
      a[RTAX_DST] = sa_inet(e.addr);
      a[RTAX_GATEWAY] = sa_link(ifp.if_index, ifp.if_type || IFT_ETHER, ifp.if_xname, lla);
      const permanent = e.state === 'static';
      const left = Math.max(0, Math.ceil((e.expire - now) / SBT_1S));
      const hdr: Record<string, number> = {
        rtm_flags:
          RTF_UP |
          RTF_HOST |
          RTF_LLDATA |
          (permanent ? RTF_STATIC : 0) |
          (e.pub ? RTF_ANNOUNCE : 0),
        rtm_index: ifp.if_index,
        rmx_expire: permanent ? 0 : time_second() + left,
      };
      parts.push(rtsock_encode({ type: RTM_GET, hdr, addrs: a }));
    }
  }
  return concat(parts);
}

SYSCTL_NODE(K, 'net.route', CTLFLAG_RD, 'Routing socket and tables');
SYSCTL_NODE(K, 'net.route.inet', CTLFLAG_RD, 'IPv4 routing tables');
SYSCTL_PROC(
  K,
  'net.route.inet.dump',
  CTLTYPE_OPAQUE | CTLFLAG_RD | CTLFLAG_VNET,
  (_o, req) => SYSCTL_OUT(req, rt_dump_inet()),
  'S,rt_msghdr',
  'IPv4 routing table (NET_RT_DUMP)',
);
SYSCTL_PROC(
  K,
  'net.route.iflist',
  CTLTYPE_OPAQUE | CTLFLAG_RD | CTLFLAG_VNET,
  (_o, req) => SYSCTL_OUT(req, rt_dump_iflist()),
  'S,if_msghdr',
  'Interfaces and their addresses (NET_RT_IFLIST)',
);
SYSCTL_PROC(
  K,
  'net.route.iflistl',
  CTLTYPE_OPAQUE | CTLFLAG_RD | CTLFLAG_VNET,
  (_o, req) => SYSCTL_OUT(req, rt_dump_iflist(true)),
  'S,if_msghdrl',
  'Interfaces and their addresses with per-address counters (NET_RT_IFLISTL)',
);
SYSCTL_PROC(
  K,
  'net.route.inet.llinfo',
  CTLTYPE_OPAQUE | CTLFLAG_RD | CTLFLAG_VNET,
  (_o, req) => SYSCTL_OUT(req, rt_dump_llinfo()),
  'S,rt_msghdr',
  'ARP table (NET_RT_FLAGS, RTF_LLINFO)',
);
