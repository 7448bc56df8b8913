/*
 * netinet/ip_output.ts — IPv4 output and fragmentation (FreeBSD's
 * netinet/ip_output.c).  RFC 791 §3.2 (fragmentation), RFC 1122 §3.3.1 (routing
 * outbound datagrams), §3.3.6 (broadcasts), RFC 6864 §4 (the ID of atomic datagrams),
 * RFC 1812 §5.2.1 (forwarded datagrams).
 *
 * ip_output(m, opt, ro, flags, imo, inp) takes a datagram whose 20-byte header the
 * caller wrote (ip_p, ip_dst, ip_src or 0, ip_len, ip_tos, ip_ttl or 0, ip_off with
 * DF) — or a complete header for IP_FORWARDING / IP_RAWOUTPUT — and "consumes m":
 *
 *   1. options `opt` (raw bytes, padded to 4 with EOL) inserted after the 20-byte
 *      header, for a raw socket's own header too; locally generated: version/hl set,
 *      ip_id filled (0 for DF datagrams as FreeBSD's net.inet.ip.rfc6864, else the
 *      per-vnet counter FreeBSD uses by default, seeded from arc4random), TTL 0 means
 *      net.inet.ip.ttl, ips_localout;
 *   2. route: IP_ROUTETOIF (SO_DONTROUTE) sends to a directly connected destination
 *      only; otherwise the longest match in V_rib: none → EHOSTUNREACH + ips_noroute
 *      (FreeBSD's ip_output since the nexthop rework returns EHOSTUNREACH here);
 *      RTF_BLACKHOLE → silently dropped (0); RTF_REJECT → EHOSTUNREACH for a host
 *      route, ENETUNREACH for a net route (looutput's rule in FreeBSD);
 *   3. source address 0 → the route's ifa, else the outgoing interface's first
 *      address (EADDRNOTAVAIL when it has none);
 *   4. broadcast destinations need IP_ALLOWBROADCAST (SO_BROADCAST) else EACCES, and a
 *      broadcast-capable interface else EADDRNOTAVAIL; M_BCAST is set for the link;
 *   5. a transport checksum the protocol left to the interface (CSUM_DELAY_DATA: TCP
 *      writes only the pseudo-header sum, csum_data is where the sum goes) is finished
 *      here with in_delayed_cksum unless the interface offloads it (if_hwassist: lo0),
 *      and always before fragmenting, as FreeBSD's ip_output does;
 *   6. fits the MTU (route MTU, else the interface's): header checksum (deferred with
 *      CSUM_IP when the interface offloads it), ifp.if_output with the next hop
 *      (gateway or destination); too big: DF → EMSGSIZE + ips_cantfrag (ro.ro_mtu
 *      tells ip_forward the MTU for ICMP need-frag), else ip_fragment and every
 *      fragment sent (ips_fragmented once, ips_ofragments per fragment).
 *
 * Traffic to our own addresses follows the /32 local route through lo0 (looutput).
 * A caller's `ro` (a TCP connection's t_route) caches the route and interface while
 * the rib's generation is unchanged.
 * Differences: no pfil, no IPsec, no multicast options (imo/inp are accepted for the
 * signature only).
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { BKPT } from '../kern/subr_kdb.js';
import { arc4random } from '../kern/subr_random.js';
import {
  VNET_DEFINE_INT,
  VNET_DEFINE_U32,
  VNET_SYSINIT,
  type VnetI32,
  type VnetU32,
} from '../net/vnet.js';
import { SI_ORDER_ANY, SI_SUB_PROTO_DOMAIN } from '../sys/kernel.js';
import { CTLFLAG_RW, CTLFLAG_VNET, SYSCTL_INT } from '../sys/sysctl.js';
import {
  CSUM_DELAY_DATA,
  CSUM_IP,
  M_BCAST,
  M_MCAST,
  m_freem,
  mtod,
  type Mbuf,
} from '../sys/mbuf.js';
import { AF_INET, IFF_BROADCAST, type IfDst, type IfRoute, type Ifnet } from '../net/if_var.js';
import { ifnet_byindex } from '../net/if.js';
import { RTF_BLACKHOLE, RTF_BROADCAST, RTF_GATEWAY, RTF_HOST, RTF_REJECT } from '../net/route.js';
import type { Rib, Rtentry } from '../net/route/route_var.js';
import { in_cksum_hdr, in_delayed_cksum } from './in_cksum.js';

export { in_delayed_cksum };
import { IN_MULTICAST, in_addr_read, in_addr_write, type in_addr_t } from './in.js';
import { IPOPT_COPIED, IPOPT_EOL, IPOPT_NOP, IP_DF, IP_HDR_LEN, IP_MF, IP_OFFMASK } from './ip.js';
import { IPS, IPSTAT_ADD, IPSTAT_INC, V_ip_defttl } from './ip_var.js';
import {
  V_rib,
  in_broadcast,
  in_ifaddr_bynet,
  in_ifaddrs_of,
  ifa_ifwithaddr,
  type InIfaddr,
} from './in_var.js';
import {
  EACCES,
  EADDRNOTAVAIL,
  EHOSTUNREACH,
  EMSGSIZE,
  ENETUNREACH,
  ENOBUFS,
} from '../sys/errno.js';

export const K = new ObjFile('netinet/ip_output.ts', VIMAGEID('src/netinet/ip_output.ts'));

const S_ip_output = K.TEXT('ip_output');
const S_ip_fragment = K.TEXT('ip_fragment');

/* ip_output flags (netinet/ip_var.h). */
export const IP_FORWARDING = 0x1;
export const IP_RAWOUTPUT = 0x2;
export const IP_SENDONES = 0x4;
export const IP_SENDTOIF = 0x8;
export const IP_ROUTETOIF = 0x10; /* SO_DONTROUTE */
export const IP_ALLOWBROADCAST = 0x20; /* SO_BROADCAST */
export const IP_NODEFAULTFLOWID = 0x40;

/** What ip_output reports back to its caller (FreeBSD's struct route, reduced). */
export interface IpRoute {
  /** The path MTU of the route used (set on EMSGSIZE for ICMP need-frag). */
  ro_mtu?: number;
  /**
   * A connection's route cache (FreeBSD's inp_route: ro_nh checked against the rib's
   * generation): the route and interface looked up for ro_dst in ro_rib, valid while
   * that rib's rnh_gen is still ro_gen (every add, delete and change bumps it).  The
   * route's own fields are read per datagram, so what changes in place is seen.
   */
  ro_rt?: Rtentry;
  ro_ifp?: Ifnet;
  ro_dst?: number;
  ro_rib?: Rib;
  ro_gen?: number;
  /** With the route: the source's interface address (ifa counters), and whether
   * ro_dst is a broadcast address of ro_ifp — both fixed until the rib changes. */
  ro_ia?: InIfaddr | null;
  ro_bcast?: boolean;
  /** What goes down to if_output with the route: its MTU and flags, and the link-layer
   * entry the interface's resolver found (RT_LLE_CACHE, as in_pcballoc sets); and the
   * next hop, FreeBSD's ro_dst, which ip_output hands if_output as the destination. */
  ro_ifro?: IpIfRoute;
  ro_ifdst?: IpIfDst;
}

/** The IfRoute a connection's route cache hands to if_output, updated per datagram. */
interface IpIfRoute extends IfRoute {
  ro_mtu: number;
  ro_flags: number;
}
/** Its destination (the gateway or the destination itself), updated per datagram. */
interface IpIfDst extends IfDst {
  sin_addr: in_addr_t;
}

/** The per-vnet IP ID counter (FreeBSD's V_ip_id, per CPU there). */
export const V_ip_id: VnetU32 = VNET_DEFINE_U32(K, 'ip_id', 0);
VNET_SYSINIT(K, 'ip_id_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  V_ip_id.set(arc4random() & 0xffff);
});

/** net.inet.ip.rfc6864: ID 0 for atomic (DF, unfragmented) datagrams. */
export const V_ip_rfc6864: VnetI32 = VNET_DEFINE_INT(K, 'ip_rfc6864', 1);
SYSCTL_INT(
  K,
  'net.inet.ip.rfc6864',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_ip_rfc6864,
  'Use constant IP ID for atomic datagrams',
);

/** ip_fillid: the ID of a locally generated datagram (header at b[o]). */
function ip_fillid(b: Uint8Array, o: number): void {
  const off = (b[o + 6]! << 8) | b[o + 7]!;
  let id = 0;
  if (!(V_ip_rfc6864.get() !== 0 && off & IP_DF)) {
    id = (V_ip_id.get() + 1) & 0xffff;
    V_ip_id.set(id);
  }
  b[o + 4] = id >>> 8;
  b[o + 5] = id & 0xff;
}

/** The header checksum of the hlen-byte header at b[o]. */
function ip_setsum(b: Uint8Array, o: number, hlen: number): void {
  b[o + 10] = b[o + 11] = 0;
  const s = in_cksum_hdr(b, o, hlen);
  b[o + 10] = s >>> 8;
  b[o + 11] = s & 0xff;
}

/**
 * ip_insertoptions: put `opt` (padded to 4 bytes with EOL) after the 20-byte header.
 * Consumes m; returns the datagram with the options, m itself when they do not fit,
 * null when no mbuf was free (m freed).
 */
function ip_insertoptions(m: Mbuf, opt: Uint8Array): Mbuf | null {
  const olen = (opt.length + 3) & ~3;
  if (olen === 0) return m;
  /* No room (FreeBSD sends the datagram without them). */
  if (IP_HDR_LEN + olen > 60 || m.len + olen > 65535) return m;
  const b = mtod(m);
  const hdr = b.slice(0, IP_HDR_LEN);
  const k = m.pool;
  const n = k.m_gethdr(m.len + olen);
  if (n === null) {
    m_freem(m);
    return null;
  }
  const nb = mtod(n);
  nb.set(hdr, 0);
  nb.set(opt, IP_HDR_LEN);
  nb.fill(IPOPT_EOL, IP_HDR_LEN + opt.length, IP_HDR_LEN + olen);
  nb.set(b.subarray(IP_HDR_LEN), IP_HDR_LEN + olen);
  n.rcvif = m.rcvif;
  n.m_flags = m.m_flags;
  /* A delayed transport checksum travels with it (csum_data is transport-relative). */
  n.csum_flags = m.csum_flags;
  n.csum_data = m.csum_data;
  m_freem(m);
  const len = n.len;
  nb[2] = len >>> 8;
  nb[3] = len & 0xff;
  nb[0] = 0x40 | ((IP_HDR_LEN + olen) >>> 2);
  return n;
}

/**
 * ip_output(m, opt, ro, flags, imo, inp) → errno.  Consumes m.
 */
export function ip_output(
  m: Mbuf,
  opt: Uint8Array | null,
  ro: IpRoute | null,
  flags: number,
  _imo: unknown,
  _inp: unknown,
): number {
  BKPT(S_ip_output);
  /* Options go in first, also behind a raw socket's own header (as FreeBSD). */
  if (opt !== null && opt.length > 0) {
    const n = ip_insertoptions(m, opt);
    if (n === null) {
      IPSTAT_INC(IPS.ips_odropped);
      return ENOBUFS;
    }
    m = n;
  }
  if (!(flags & (IP_FORWARDING | IP_RAWOUTPUT))) {
    const b = m.m_buf;
    const o = m.m_data;
    b[o] = 0x40 | (b[o]! & 15 || 5);
    const off = ((b[o + 6]! << 8) | b[o + 7]!) & IP_DF;
    b[o + 6] = off >>> 8;
    b[o + 7] = 0;
    ip_fillid(b, o);
    if (b[o + 8] === 0) b[o + 8] = V_ip_defttl.get() & 0xff;
    IPSTAT_INC(IPS.ips_localout);
  }
  /* The header in place: b[o...] (mtod(m, struct ip *) without making a view). */
  const b = m.m_buf;
  const o = m.m_data;
  const hlen = (b[o]! & 15) << 2;
  const dst = in_addr_read(b, o + 16);

  /* Route. */
  let ifp: Ifnet | null = null;
  let gw: number = dst;
  let mtu = 0;
  let rtflags = 0;
  let ifa: number | null = null;
  /* The interface address whose counters the datagram goes to (the route's ia). */
  let ia: InIfaddr | null = null;
  /* The connection's route cache when it holds this route (ia and broadcast known). */
  let cached: IpRoute | null = null;
  if (flags & IP_ROUTETOIF) {
    ia = in_ifaddr_bynet(dst);
    if (ia === null) {
      IPSTAT_INC(IPS.ips_noroute);
      m_freem(m);
      return ENETUNREACH;
    }
    ifp = ia.ifa_ifp;
    ifa = ia.ia_addr;
  } else {
    const rib = V_rib.get();
    let rt: Rtentry | null;
    let rifp: Ifnet | null;
    if (ro !== null && ro.ro_rib === rib && ro.ro_gen === rib.rnh_gen && ro.ro_dst === dst) {
      rt = ro.ro_rt!;
      rifp = ro.ro_ifp!;
      cached = ro;
    } else {
      rt = rib.lookup(dst);
      rifp = rt !== null && rt.rt_ifp !== null ? ifnet_byindex(rt.rt_ifp.if_index) : null;
      if (ro !== null && rt !== null && rifp !== null) {
        ro.ro_rt = rt;
        ro.ro_ifp = rifp;
        ro.ro_dst = dst;
        ro.ro_rib = rib;
        ro.ro_gen = rib.rnh_gen;
        ro.ro_ia = rt.rt_ifa !== null ? ifa_ifwithaddr(rt.rt_ifa as in_addr_t) : null;
        ro.ro_bcast = in_broadcast(dst, rifp);
        ro.ro_ifro = { ro_mtu: 0, ro_flags: 0, ro_lle_cache: true, ro_lle: null };
        ro.ro_ifdst = { sa_family: AF_INET, sin_addr: dst as in_addr_t };
        cached = ro;
      }
    }
    if (rt === null || rifp === null) {
      IPSTAT_INC(IPS.ips_noroute);
      m_freem(m);
      return EHOSTUNREACH;
    }
    if (rt.rt_flags & RTF_BLACKHOLE) {
      m_freem(m);
      return 0;
    }
    if (rt.rt_flags & RTF_REJECT) {
      m_freem(m);
      return rt.rt_flags & RTF_HOST ? EHOSTUNREACH : ENETUNREACH;
    }
    ifp = rifp;
    rtflags = rt.rt_flags;
    ifa = rt.rt_ifa;
    mtu = rt.rt_mtu;
    if (rt.rt_flags & RTF_GATEWAY && rt.rt_gateway.kind === 'inet') gw = rt.rt_gateway.addr;
    rt.rt_pksent++;
  }
  if (mtu === 0 || mtu > ifp.if_mtu) mtu = ifp.if_mtu;

  /* Source address selection. */
  if (in_addr_read(b, o + 12) === 0) {
    const src = ifa ?? in_ifaddrs_of(ifp)[0]?.ia_addr ?? null;
    if (src === null) {
      IPSTAT_INC(IPS.ips_noroute);
      m_freem(m);
      return EADDRNOTAVAIL;
    }
    in_addr_write(b, o + 12, src);
  }

  /* Broadcasts (RFC 1122 §3.3.6). */
  m.m_flags &= ~(M_BCAST | M_MCAST);
  if (IN_MULTICAST(dst)) m.m_flags |= M_MCAST;
  else if (
    rtflags & RTF_BROADCAST ||
    (cached !== null ? cached.ro_bcast : in_broadcast(dst, ifp))
  ) {
    if (!(ifp.if_flags & IFF_BROADCAST)) {
      m_freem(m);
      return EADDRNOTAVAIL;
    }
    if (!(flags & IP_ALLOWBROADCAST)) {
      m_freem(m);
      return EACCES;
    }
    m.m_flags |= M_BCAST;
  }

  const len = (b[o + 2]! << 8) | b[o + 3]!;
  /* A delayed transport checksum: the interface's, or ours now (and before fragmenting). */
  if (
    m.csum_flags & CSUM_DELAY_DATA &&
    (m.csum_flags & CSUM_DELAY_DATA & ~ifp.if_hwassist || len > mtu)
  ) {
    in_delayed_cksum(m);
    m.csum_flags &= ~CSUM_DELAY_DATA;
  }
  /* The route and destination if_output gets: the connection's own when it has a route
   * cache (the route keeps the link-layer entry), else made for this datagram. */
  let dstsa: IfDst;
  let ifro: IfRoute;
  if (cached !== null && cached.ro_ifro !== undefined && cached.ro_ifdst !== undefined) {
    const r = cached.ro_ifro;
    r.ro_mtu = mtu;
    r.ro_flags = rtflags;
    ifro = r;
    const d = cached.ro_ifdst;
    d.sin_addr = gw as in_addr_t;
    dstsa = d;
  } else {
    dstsa = { sa_family: AF_INET, sin_addr: gw as in_addr_t };
    ifro = { ro_mtu: mtu, ro_flags: rtflags };
  }
  /* Statistics for the interface address (ifa_opackets), not for forwarded ones. */
  if (flags & IP_FORWARDING) ia = null;
  else if (ia === null && cached !== null) ia = cached.ro_ia ?? null;
  else if (ia === null && ifa !== null) ia = ifa_ifwithaddr(ifa as in_addr_t);
  if (len <= mtu) {
    if (ifp.if_hwassist & CSUM_IP) m.csum_flags |= CSUM_IP;
    else ip_setsum(b, o, hlen);
    if (ia !== null) {
      ia.ifa_opackets++;
      ia.ifa_obytes += len;
    }
    return ifp.if_output(ifp, m, dstsa, ifro);
  }
  /* Too big: fragment unless DF. */
  const off = (b[o + 6]! << 8) | b[o + 7]!;
  if (off & IP_DF || m.m_flags & M_BCAST) {
    IPSTAT_INC(IPS.ips_cantfrag);
    if (ro !== null) ro.ro_mtu = mtu;
    m_freem(m);
    return EMSGSIZE;
  }
  const frags = ip_fragment(m, ifp, mtu);
  m_freem(m);
  if (typeof frags === 'number') return frags;
  let error = 0;
  for (const f of frags) {
    if (error !== 0) {
      m_freem(f);
      continue;
    }
    if (ia !== null) {
      ia.ifa_opackets++;
      ia.ifa_obytes += f.len;
    }
    error = ifp.if_output(ifp, f, dstsa, ifro);
  }
  if (error === 0) IPSTAT_INC(IPS.ips_fragmented);
  return error;
}

/** ip_optcopy: the options of a later fragment — only those with the copied flag. */
function ip_optcopy(b: Uint8Array, hlen: number): Uint8Array {
  const out: number[] = [];
  let cp = IP_HDR_LEN;
  while (cp < hlen) {
    const opt = b[cp]!;
    if (opt === IPOPT_EOL) break;
    if (opt === IPOPT_NOP) {
      out.push(IPOPT_NOP);
      cp++;
      continue;
    }
    const optlen = b[cp + 1] ?? 0;
    if (optlen < 2 || cp + optlen > hlen) break;
    if (IPOPT_COPIED(opt)) for (let i = 0; i < optlen; i++) out.push(b[cp + i]!);
    cp += optlen;
  }
  while (out.length & 3) out.push(IPOPT_EOL);
  return Uint8Array.from(out);
}

/**
 * ip_fragment(m, ifp, mtu): split the datagram in m (header complete, too big for mtu)
 * into fragments of at most mtu bytes, each with a valid header and checksum (unless
 * the interface offloads CSUM_IP).  m is borrowed (the caller frees it).  Returns the
 * fragments in order (the caller owns them) or an errno: EMSGSIZE when not even 8 data
 * bytes fit (ips_cantfrag), ENOBUFS (ips_odropped).  Counts ips_ofragments.
 */
export function ip_fragment(m: Mbuf, ifp: Ifnet, mtu: number): Mbuf[] | number {
  BKPT(S_ip_fragment);
  const b = mtod(m);
  const hlen = (b[0]! & 15) << 2;
  const total = (b[2]! << 8) | b[3]!;
  const off0 = (b[6]! << 8) | b[7]!;
  const len = (mtu - hlen) & ~7;
  if (len < 8) {
    IPSTAT_INC(IPS.ips_cantfrag);
    return EMSGSIZE;
  }
  const later = ip_optcopy(b, hlen);
  const out: Mbuf[] = [];
  const k = m.pool;
  for (let doff = 0; hlen + doff < total;) {
    const first = doff === 0;
    const fh = first ? hlen : IP_HDR_LEN + later.length;
    const flen = Math.min(first ? len : (mtu - fh) & ~7, total - hlen - doff);
    const f = k.m_gethdr(fh + flen);
    if (f === null) {
      for (const x of out) m_freem(x);
      IPSTAT_INC(IPS.ips_odropped);
      return ENOBUFS;
    }
    const fb = mtod(f);
    fb.set(b.subarray(0, IP_HDR_LEN), 0);
    if (first) fb.set(b.subarray(IP_HDR_LEN, hlen), IP_HDR_LEN);
    else fb.set(later, IP_HDR_LEN);
    fb[0] = 0x40 | (fh >>> 2);
    fb.set(b.subarray(hlen + doff, hlen + doff + flen), fh);
    const last = hlen + doff + flen >= total;
    const foff =
      (off0 & ~IP_OFFMASK & ~IP_MF) |
      ((off0 & IP_OFFMASK) + (doff >>> 3)) |
      (last ? off0 & IP_MF : IP_MF);
    fb[6] = (foff >>> 8) & 0xff;
    fb[7] = foff & 0xff;
    fb[2] = (fh + flen) >>> 8;
    fb[3] = (fh + flen) & 0xff;
    f.m_flags = m.m_flags;
    if (ifp.if_hwassist & CSUM_IP) f.csum_flags |= CSUM_IP;
    else ip_setsum(fb, 0, fh);
    out.push(f);
    doff += flen;
  }
  IPSTAT_ADD(IPS.ips_ofragments, out.length);
  return out;
}
