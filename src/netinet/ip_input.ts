/*
 * netinet/ip_input.ts — IPv4 input, options and forwarding (FreeBSD's
 * netinet/ip_input.c and the ip_dooptions part of ip_options.c).
 *
 * ip_input(m) is the NETISR_IP handler.  Checks in FreeBSD's order, each drop counted
 * in exactly one ipstat field (RFC 1122 §3.2.1, RFC 791 §3.1):
 *
 *   ips_total; shorter than a header: ips_toosmall; version: ips_badvers; header
 *   length < 20 or beyond the packet: ips_badhlen; 127/8 on a non-loopback interface
 *   (RFC 1122 §3.2.1.3): ips_badaddr; header checksum (skipped when the driver says
 *   CSUM_IP_CHECKED|CSUM_IP_VALID): ips_badsum; ip_len < header length: ips_badlen;
 *   packet shorter than ip_len: ips_tooshort; longer: trailing bytes trimmed.
 *
 * Then options (ip_dooptions: record route is recorded, source routes are honoured
 * only when they end here, timestamps are stamped (only / with address / prespecified,
 * overflow counted); a malformed
 * option: ips_badoptions + ICMP parameter problem, RFC 1812 §5.2.5), then the
 * destination: one of the vnet's addresses (any interface: the weak end-system model
 * of FreeBSD's default), a broadcast address of the receiving interface, the limited
 * broadcast, a link-local multicast group, or anything arriving on a loopback
 * interface — is ours: fragments go to ip_reass, whole datagrams to the protocol
 * registered for ip_p in this kernel's protocol switch (ip_protox_register; ICMP is
 * netinet/icmp.ts, UDP/TCP/raw register later).  No protocol: ips_noproto and ICMP
 * protocol unreachable (FreeBSD's rip_input does this when no raw socket wants it).
 *
 * Not ours: with net.inet.ip.forwarding=1, ip_forward (RFC 1812 §5.2 / §5.3: TTL
 * decremented with an RFC 1624 incremental checksum update, time exceeded at TTL <= 1,
 * redirect when the packet leaves by the interface it came in on towards a host of
 * that subnet (§5.2.7.2), unreachable / need-frag errors from ip_output's result);
 * forwarding off: ips_cantforward, as FreeBSD.
 *
 * Differences: no pfil hooks, no IPsec, no fast-forward path, no multicast routing;
 * multicast beyond 224.0.0.0/24 is ips_notmember (there is no IGMP membership yet).
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { BKPT } from '../kern/subr_kdb.js';
import { curkernel } from '../kern/kern_cur.js';
import type { Kernel } from '../kern/kernel.js';
import { SI_ORDER_ANY, SI_SUB_PROTO_DOMAIN, SYSINIT } from '../sys/kernel.js';
import {
  CSUM_IP,
  CSUM_IP_CHECKED,
  CSUM_IP_VALID,
  M_BCAST,
  M_MCAST,
  m_adj,
  m_freem,
  mtod,
  type Mbuf,
} from '../sys/mbuf.js';
import { NETISR_IP, netisr_register } from '../net/netisr.js';
import { IFF_LOOPBACK, type Ifnet } from '../net/if_var.js';
import { ifnet_byindex } from '../net/if.js';
import { RTF_GATEWAY, RTF_DYNAMIC } from '../net/route.js';
import { in_cksum, in_cksum_hdr } from './in_cksum.js';
import { ip_decttl } from './in_cksum.js';
import {
  IN_EXPERIMENTAL,
  IN_LOCAL_GROUP,
  IN_LOOPBACK,
  IN_MULTICAST,
  IN_ZERONET,
  INADDR_ANY,
  INADDR_BROADCAST,
  in_addr_read,
  in_addr_write,
  type in_addr_t,
} from './in.js';
import {
  IPOPT_EOL,
  IPOPT_LSRR,
  IPOPT_NOP,
  IPOPT_OFFSET,
  IPOPT_OLEN,
  IPOPT_RR,
  IPOPT_SSRR,
  IPOPT_TS,
  IPOPT_TS_PRESPEC,
  IPOPT_TS_TSANDADDR,
  IPOPT_TS_TSONLY,
  IPTTLDEC,
  IPVERSION,
  IP_HDR_LEN,
  IP_MF,
  IP_OFFMASK,
  ip_opt_check,
  ip_rr_record,
} from './ip.js';
import { IPS, IPSTAT_INC, V_ipforwarding, V_ipsendredirects } from './ip_var.js';
import { ip_reass } from './ip_reass.js';
import { V_rib, in_broadcast, in_ifaddrs_of, ifa_ifwithaddr, type InIfaddr } from './in_var.js';
import {
  ICMP_PARAMPROB,
  ICMP_REDIRECT,
  ICMP_REDIRECT_HOST,
  ICMP_TIMXCEED,
  ICMP_TIMXCEED_INTRANS,
  ICMP_UNREACH,
  ICMP_UNREACH_HOST,
  ICMP_UNREACH_NEEDFRAG,
  ICMP_UNREACH_PROTOCOL,
  ICMP_UNREACH_SRCFAIL,
} from './ip_icmp.js';
import { icmp_error } from './icmp.js';
import { rip_input } from './raw_ip.js';
import { IP_FORWARDING, ip_output, type IpRoute } from './ip_output.js';
import { EMSGSIZE, ENOBUFS, EACCES } from '../sys/errno.js';

export const K = new ObjFile('netinet/ip_input.ts', VIMAGEID('src/netinet/ip_input.ts'));

const S_ip_input = K.TEXT('ip_input');
const S_ip_forward = K.TEXT('ip_forward');
const S_ip_dooptions = K.TEXT('ip_dooptions');

/* ------------------------------------------------------------------------------ */
/* The protocol switch (inetsw / ip_protox).                                        */

/** A transport's input: the datagram (header included) and its header length.  Consumes m. */
export type IpProtoInput = (m: Mbuf, hlen: number) => void;

interface IpGlobal {
  protox: (IpProtoInput | undefined)[];
}

function ip_global(k: Kernel): IpGlobal {
  let g = k.netglobal['ip_protox'] as IpGlobal | undefined;
  if (g === undefined) k.netglobal['ip_protox'] = g = { protox: [] };
  return g;
}

/** Register the input routine of IP protocol `proto` in this kernel (null removes). */
export function ip_protox_register(k: Kernel, proto: number, fn: IpProtoInput | null): void {
  if (!Number.isInteger(proto) || proto < 0 || proto > 255)
    throw new RangeError(`ip_protox_register: bad protocol ${proto}`);
  ip_global(k).protox[proto] = fn ?? undefined;
}

/** The input routine registered for proto, if any. */
export function ip_protox_lookup(k: Kernel, proto: number): IpProtoInput | null {
  return ip_global(k).protox[proto] ?? null;
}

SYSINIT(K, 'ip_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  netisr_register(curkernel(), {
    nh_name: 'ip',
    nh_proto: NETISR_IP,
    nh_handler: ip_input,
    nh_qlimit: 256,
  });
});

/* ------------------------------------------------------------------------------ */
/* ip_input                                                                         */

/* What ip_ours found. */
const IP_NOTOURS = 0;
/** One of our addresses (or anything on a loopback interface). */
const IP_OURS = 1;
/** A broadcast address of ifp (or the limited broadcast, or 0). */
const IP_OURS_BCAST = 2;

/**
 * Is `dst` for this host, arriving on ifp?  A match with one of our addresses needs no
 * broadcast test afterwards (FreeBSD's ip_input goes to `ours` at the first address
 * that matches), so the answer says which way it matched: the address (whose counters
 * the datagram goes to), or one of the codes.
 */
function ip_ours(dst: number, ifp: Ifnet | null): InIfaddr | number {
  const ia = ifa_ifwithaddr(dst as in_addr_t);
  if (ia !== null) return ia;
  if (ifp !== null && ifp.if_flags & IFF_LOOPBACK)
    return in_broadcast(dst as in_addr_t, ifp) ? IP_OURS_BCAST : IP_OURS;
  if (dst === INADDR_BROADCAST || dst === INADDR_ANY) return IP_OURS_BCAST;
  if (ifp !== null && in_broadcast(dst as in_addr_t, ifp)) return IP_OURS_BCAST;
  return IP_NOTOURS;
}

/** ip_input(m): the NETISR_IP handler.  Consumes m. */
export function ip_input(m: Mbuf): void {
  BKPT(S_ip_input);
  IPSTAT_INC(IPS.ips_total);
  const ifp = m.rcvif as Ifnet | null;
  if (m.len < IP_HDR_LEN) {
    IPSTAT_INC(IPS.ips_toosmall);
    m_freem(m);
    return;
  }
  /* The header at b[o] (mtod(m, struct ip *) without making a view). */
  let b = m.m_buf;
  let o = m.m_data;
  if (b[o]! >>> 4 !== IPVERSION) {
    IPSTAT_INC(IPS.ips_badvers);
    m_freem(m);
    return;
  }
  let hlen = (b[o]! & 15) << 2;
  if (hlen < IP_HDR_LEN || hlen > m.len) {
    IPSTAT_INC(IPS.ips_badhlen);
    m_freem(m);
    return;
  }
  const src = in_addr_read(b, o + 12);
  const dst = in_addr_read(b, o + 16);
  /* RFC 1122 §3.2.1.3: 127/8 must not appear on the wire. */
  if ((IN_LOOPBACK(dst) || IN_LOOPBACK(src)) && (ifp === null || !(ifp.if_flags & IFF_LOOPBACK))) {
    IPSTAT_INC(IPS.ips_badaddr);
    m_freem(m);
    return;
  }
  /* Checked by the interface, or left to one by a sender on this host (CSUM_IP still
   * set: lo0 without RXCSUM) and so never on a wire. */
  const checked =
    (m.csum_flags & (CSUM_IP_CHECKED | CSUM_IP_VALID)) === (CSUM_IP_CHECKED | CSUM_IP_VALID) ||
    (m.csum_flags & CSUM_IP) !== 0;
  if (!checked && in_cksum_hdr(b, o, hlen) !== 0) {
    IPSTAT_INC(IPS.ips_badsum);
    m_freem(m);
    return;
  }
  const ip_len = (b[o + 2]! << 8) | b[o + 3]!;
  if (ip_len < hlen) {
    IPSTAT_INC(IPS.ips_badlen);
    m_freem(m);
    return;
  }
  if (m.len < ip_len) {
    IPSTAT_INC(IPS.ips_tooshort);
    m_freem(m);
    return;
  }
  if (m.len > ip_len) m_adj(m, ip_len - m.len); /* trims the tail: b and o stay */
  /* Options: process them; true when they consumed the packet. */
  if (hlen > IP_HDR_LEN && ip_dooptions(m, hlen)) return;

  const ours = ip_ours(dst, ifp);
  if (ours === IP_NOTOURS) {
    if (IN_MULTICAST(dst)) {
      if (!IN_LOCAL_GROUP(dst)) {
        IPSTAT_INC(IPS.ips_notmember);
        m_freem(m);
        return;
      }
    } else {
      if (V_ipforwarding.get() === 0) {
        IPSTAT_INC(IPS.ips_cantforward);
        m_freem(m);
      } else ip_forward(m);
      return;
    }
  }
  if (typeof ours !== 'number') {
    ours.ifa_ipackets++;
    ours.ifa_ibytes += m.len;
  } else if (ours === IP_OURS_BCAST && in_broadcast(dst as in_addr_t, ifp)) m.m_flags |= M_BCAST;
  if (IN_MULTICAST(dst)) m.m_flags |= M_MCAST;

  /* Reassembly. */
  const off = (b[o + 6]! << 8) | b[o + 7]!;
  if (off & (IP_MF | IP_OFFMASK)) {
    const r = ip_reass(m);
    if (r === null) return;
    r.rcvif = ifp;
    m = r;
    b = m.m_buf;
    o = m.m_data;
    hlen = (b[o]! & 15) << 2;
  }
  const p = b[o + 9]!;
  const fn = ip_global(curkernel()).protox[p];
  if (fn === undefined) {
    /* rip_input: a raw socket for the protocol takes it; else protocol unreachable. */
    if (rip_input(m, hlen)) {
      IPSTAT_INC(IPS.ips_delivered);
      return;
    }
    IPSTAT_INC(IPS.ips_noproto);
    icmp_error(m, ICMP_UNREACH, ICMP_UNREACH_PROTOCOL, 0, 0);
    return;
  }
  IPSTAT_INC(IPS.ips_delivered);
  fn(m, hlen);
}

/* ------------------------------------------------------------------------------ */
/* Options (RFC 791 §3.1 "Options"; FreeBSD ip_dooptions).                           */

/** The address we would send to `dst` from (ip_rtaddr), or null without a route. */
function ip_rtaddr(dst: number): number | null {
  const rt = V_rib.get().lookup(dst);
  if (rt === null) return null;
  if (rt.rt_ifa !== null) return rt.rt_ifa;
  const ifp = rt.rt_ifp ? ifnet_byindex(rt.rt_ifp.if_index) : null;
  const ia = ifp ? in_ifaddrs_of(ifp)[0] : undefined;
  return ia ? ia.ia_addr : null;
}

/**
 * ip_dooptions(m, hlen): process the options of a valid header.  Returns true when m
 * was consumed (error sent, or dropped), false to go on.
 */
export function ip_dooptions(m: Mbuf, hlen: number): boolean {
  BKPT(S_ip_dooptions);
  const b = mtod(m);
  const bad = ip_opt_check(b, 0, hlen);
  if (bad >= 0) {
    IPSTAT_INC(IPS.ips_badoptions);
    icmp_error(m, ICMP_PARAMPROB, bad, 0, 0);
    return true;
  }
  const dst = in_addr_read(b, 16);
  const ifp = m.rcvif as Ifnet | null;
  let changed = false;
  let cp = IP_HDR_LEN;
  while (cp < hlen) {
    const opt = b[cp]!;
    if (opt === IPOPT_EOL) break;
    if (opt === IPOPT_NOP) {
      cp++;
      continue;
    }
    const optlen = b[cp + IPOPT_OLEN]!;
    switch (opt) {
      case IPOPT_RR: {
        const ptr = b[cp + IPOPT_OFFSET]!;
        if (ptr - 1 + 4 > optlen) break; /* full: RFC 791 says forward without recording */
        /* Record the outgoing interface's address (ours when we are the destination). */
        const ia = ifa_ifwithaddr(dst as in_addr_t);
        const addr = ia !== null ? ia.ia_addr : ip_rtaddr(dst);
        if (addr === null) {
          IPSTAT_INC(IPS.ips_badoptions);
          icmp_error(m, ICMP_UNREACH, ICMP_UNREACH_HOST, 0, 0);
          return true;
        }
        ip_rr_record(b, 0, cp, addr);
        changed = true;
        break;
      }
      case IPOPT_LSRR:
      case IPOPT_SSRR: {
        /* Source routing: only a route that has ended (here) is accepted; FreeBSD's
         * net.inet.ip.sourceroute defaults to 0. */
        const ptr = b[cp + IPOPT_OFFSET]!;
        if (ptr > optlen && ip_ours(dst, ifp) !== IP_NOTOURS) break;
        if (V_ipforwarding.get() !== 0) {
          IPSTAT_INC(IPS.ips_badoptions);
          icmp_error(m, ICMP_UNREACH, ICMP_UNREACH_SRCFAIL, 0, 0);
        } else {
          IPSTAT_INC(IPS.ips_cantforward);
          m_freem(m);
        }
        return true;
      }
      case IPOPT_TS: {
        /* RFC 791 "Internet Timestamp": stamp if there is room, else count the overflow
         * (a full overflow counter is a parameter problem, as FreeBSD). */
        const ptr = b[cp + IPOPT_OFFSET]!;
        const oflw = b[cp + 3]!;
        const flg = oflw & 0x0f;
        const need = flg === IPOPT_TS_TSONLY ? 4 : 8;
        if (flg !== IPOPT_TS_TSONLY && flg !== IPOPT_TS_TSANDADDR && flg !== IPOPT_TS_PRESPEC) {
          IPSTAT_INC(IPS.ips_badoptions);
          icmp_error(m, ICMP_PARAMPROB, cp + 3, 0, 0);
          return true;
        }
        if (ptr - 1 + need > optlen) {
          const of = (oflw >>> 4) + 1;
          if (of > 15) {
            IPSTAT_INC(IPS.ips_badoptions);
            icmp_error(m, ICMP_PARAMPROB, cp + 3, 0, 0);
            return true;
          }
          b[cp + 3] = (of << 4) | flg;
          changed = true;
          break;
        }
        const at = cp + ptr - 1;
        if (flg === IPOPT_TS_TSONLY) {
          in_addr_write(b, at, iptime());
        } else if (flg === IPOPT_TS_TSANDADDR) {
          const ia = ifp !== null ? in_ifaddrs_of(ifp)[0] : undefined;
          in_addr_write(b, at, ia?.ia_addr ?? 0);
          in_addr_write(b, at + 4, iptime());
        } else {
          /* Prespecified: only when the next address is ours. */
          if (ifa_ifwithaddr(in_addr_read(b, at)) === null) break;
          in_addr_write(b, at + 4, iptime());
        }
        b[cp + IPOPT_OFFSET] = ptr + need;
        changed = true;
        break;
      }
      default:
        break;
    }
    cp += optlen;
  }
  if (changed) {
    b[10] = b[11] = 0;
    const s = in_cksum(b, 0, hlen);
    b[10] = s >>> 8;
    b[11] = s & 0xff;
  }
  return false;
}

/* ------------------------------------------------------------------------------ */
/* Forwarding (RFC 1812 §5).                                                        */

/**
 * iptime(): milliseconds since midnight UT for RFC 791/792 timestamps.  Kernel uptime
 * stands in for the time of day (the virtual clock has no epoch).
 */
export function iptime(): number {
  return Math.floor(curkernel().now() / 1000000) % 86400000;
}

/** in_canforward: not multicast, class E, 0/8 or 127/8. */
export function in_canforward(a: number): boolean {
  return !(IN_MULTICAST(a) || IN_EXPERIMENTAL(a) || IN_ZERONET(a) || IN_LOOPBACK(a));
}

/**
 * ip_forward(m): forward a packet not for us.  Consumes m.  "1 packet forwarded" in
 * netstat -sp ip is ips_forward.
 */
export function ip_forward(m: Mbuf): void {
  BKPT(S_ip_forward);
  const k = curkernel();
  const b = mtod(m);
  const dst = in_addr_read(b, 16);
  const src = in_addr_read(b, 12);
  if (m.m_flags & (M_BCAST | M_MCAST) || !in_canforward(dst)) {
    IPSTAT_INC(IPS.ips_cantforward);
    m_freem(m);
    return;
  }
  if (b[8]! <= IPTTLDEC) {
    icmp_error(m, ICMP_TIMXCEED, ICMP_TIMXCEED_INTRANS, 0, 0);
    return;
  }
  const rt = V_rib.get().lookup(dst);
  /* Keep the header and 8 bytes for an ICMP error (FreeBSD's mcopy). */
  const hlen = (b[0]! & 15) << 2;
  const qlen = Math.min(m.len, hlen + 8);
  const mcopy = k.mbpool.m_devget(b.subarray(0, qlen), m.rcvif);
  if (mcopy !== null) {
    /* The quoted header is the one we received (TTL not yet decremented). */
    mcopy.m_flags = (mcopy.m_flags & ~(M_BCAST | M_MCAST)) | (m.m_flags & (M_BCAST | M_MCAST));
  }
  ip_decttl(b, 0, IPTTLDEC);

  /* Redirect (RFC 1812 §5.2.7.2): same interface out, source on that subnet, no source
   * route.  FreeBSD sends host redirects only. */
  let type = 0;
  let code = 0;
  let dest = 0;
  const inifp = m.rcvif as Ifnet | null;
  if (
    V_ipsendredirects.get() !== 0 &&
    rt !== null &&
    inifp !== null &&
    rt.rt_ifp !== null &&
    rt.rt_ifp.if_index === inifp.if_index &&
    (rt.rt_flags & RTF_DYNAMIC) === 0 &&
    rt.rt_plen !== 0
  ) {
    for (const ia of in_ifaddrs_of(inifp)) {
      if ((src & ia.ia_netmask) >>> 0 !== ia.ia_subnet) continue;
      dest = rt.rt_flags & RTF_GATEWAY && rt.rt_gateway.kind === 'inet' ? rt.rt_gateway.addr : dst;
      type = ICMP_REDIRECT;
      code = ICMP_REDIRECT_HOST;
      break;
    }
  }
  const ro: IpRoute = {};
  const error = ip_output(m, null, ro, IP_FORWARDING, null, null);
  if (error !== 0) IPSTAT_INC(IPS.ips_cantforward);
  else {
    IPSTAT_INC(IPS.ips_forward);
    if (type !== 0) IPSTAT_INC(IPS.ips_redirectsent);
    else {
      if (mcopy !== null) m_freem(mcopy);
      return;
    }
  }
  if (mcopy === null) return;
  let mtu = 0;
  switch (error) {
    case 0:
      break;
    case EMSGSIZE:
      type = ICMP_UNREACH;
      code = ICMP_UNREACH_NEEDFRAG;
      mtu = ro.ro_mtu ?? 0;
      IPSTAT_INC(IPS.ips_cantfrag);
      break;
    case ENOBUFS:
    case EACCES:
      m_freem(mcopy);
      return;
    default:
      type = ICMP_UNREACH;
      code = ICMP_UNREACH_HOST;
      break;
  }
  icmp_error(mcopy, type, code, dest, mtu);
}
