/*
 * net/if_ethersubr.ts — the Ethernet link layer (sys/net/if_ethersubr.c): attach,
 * output with link-level resolution, input validation and demultiplexing.
 *
 *   protocol --ether_output(ifp, m, dst)--> resolve dst (AF_INET: the resolver the ARP
 *     code registered; AF_UNSPEC/pseudo_AF_HDRCMPLT: the header the caller gave) -->
 *     M_PREPEND the 14-byte header --> ether_output_frame --> ifp.if_transmit (the
 *     driver taps bpf, as FreeBSD's drivers do)
 *   driver --if_input = ether_input(ifp, m)--> checks in FreeBSD's order: runt (shorter
 *     than a header: if_ierrors); interface down (if_iqdrops, see below); M_BCAST /
 *     M_MCAST and if_imcasts; bpf tap; if_ibytes; a frame for another station gets
 *     M_PROMISC; a bridge member hands the frame to its bridge first --> ether_demux:
 *     M_PROMISC frames are dropped; the header is stripped and the ethertype chooses a
 *     netisr protocol (IP, ARP, IPv6), dispatched directly; an ethertype nobody handles
 *     counts if_noproto.
 *
 * Resolvers are registered per kernel by address family (ether_resolver_register): the
 * ARP code (netinet/if_ether.ts) plugs arpresolve in for AF_INET.  A resolver returns
 * { mac } (send now), 'held' (it kept m on its hold queue) or an errno (ether_output
 * frees m and returns it).  It runs with curvnet set (the interface's vnet).
 *
 * Deliberate differences: ether_output_frame does not tap bpf (drivers do, as in
 * FreeBSD — tapping here too would show each frame twice); no VLAN, no pfil, no
 * netgraph.  FreeBSD drops input on a down interface without counting it; we count
 * if_iqdrops so every drop is visible.  As FreeBSD, a SIMPLEX interface loops a copy
 * of its own broadcasts, and frames to its own address, back to the stack (if_simloop,
 * net/if_loop.ts) for protocol families, never for prebuilt (AF_UNSPEC) headers.
 */

import { SI_SUB_INIT_IF, SI_ORDER_ANY } from '../sys/kernel.js';
import { DECLARE_MODULE, MODULE_VERSION } from '../sys/module.js';
import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { BKPT } from '../kern/subr_kdb.js';
import { curkernel } from '../kern/kern_cur.js';
import type { Kernel } from '../kern/kernel.js';
import {
  AF_UNSPEC,
  IFCOUNTER_IBYTES,
  IFCOUNTER_IERRORS,
  IFCOUNTER_IMCASTS,
  IFCOUNTER_IQDROPS,
  IFCOUNTER_NOPROTO,
  IFCOUNTER_OERRORS,
  IFF_DRV_RUNNING,
  IFF_SIMPLEX,
  IFF_UP,
  if_inc_counter,
  pseudo_AF_HDRCMPLT,
  type IfDst,
  type IfRoute,
  type Ifnet,
} from './if_var.js';
import {
  ETHERMTU,
  ETHERTYPE_ARP,
  ETHERTYPE_IP,
  ETHERTYPE_IPV6,
  ETHER_BCAST,
  ETHER_HDR_LEN,
  ETHER_IS_MULTICAST,
  ether_addr_read,
  ether_ip_off,
  ether_addr_write,
  type ether_addr_t,
} from './ethernet.js';
import {
  CSUM_DELAY_DATA,
  M_BCAST,
  M_MCAST,
  M_PROMISC,
  M_PREPEND,
  m_adj,
  m_dup,
  m_freem,
  type Mbuf,
} from '../sys/mbuf.js';
import { if_simloop } from './if_loop.js';
import { in_delayed_cksum } from '../netinet/in_cksum.js';
import { EAFNOSUPPORT, EINVAL, ENETDOWN, ENOBUFS, ENOIOCTL } from '../sys/errno.js';
import { SIOCSIFMTU, SIOCSIFFLAGS, SIOCADDMULTI, SIOCDELMULTI, IFR_MTU } from '../sys/sockio.js';
import { if_attach, if_detach } from './if.js';
import { bpfattach, bpfdetach, bpf_mtap, DLT_EN10MB } from './bpf.js';
import {
  NETISR_ARP,
  NETISR_IP,
  NETISR_IPV6,
  netisr_dispatch,
  netisr_registered,
} from './netisr.js';

export const K = new ObjFile('net/if_ethersubr.ts', VIMAGEID('src/net/if_ethersubr.ts'));

/* The module record FreeBSD's ether declares (kldstat -v lists it under the kernel). */
DECLARE_MODULE(K, { name: 'ether', evhand: null }, SI_SUB_INIT_IF, SI_ORDER_ANY);
MODULE_VERSION(K, 'ether', 1);

const S_ether_output = K.TEXT('ether_output');
const S_ether_output_frame = K.TEXT('ether_output_frame');
const S_ether_input = K.TEXT('ether_input');
const S_ether_demux = K.TEXT('ether_demux');

/**
 * ether_sw_csum(m): finish in software a transport checksum still pending in the frame
 * m (CSUM_DELAY_DATA: a sender behind an interface that offloads it, epair's TXCSUM),
 * before the frame goes where nothing would finish it — a bridge member without the
 * capability (FreeBSD's if_bridge since D54948), vxlan's encapsulation.  IPv4 only (no
 * IPv6 here); m is borrowed.
 */
export function ether_sw_csum(m: Mbuf): void {
  if (!(m.csum_flags & CSUM_DELAY_DATA)) return;
  const off = ether_ip_off(m.m_buf, m.m_data, m.m_len);
  if (off >= 0) in_delayed_cksum(m, off);
  m.csum_flags &= ~CSUM_DELAY_DATA;
}

/** What a resolver answers: send to this MAC, I kept the packet, or an errno. */
export type EtherResolve = { readonly mac: ether_addr_t } | 'held' | number;
/** A link-level resolver (arpresolve for AF_INET).  m is borrowed unless it says 'held'. */
export type EtherResolver = (ifp: Ifnet, m: Mbuf, dst: IfDst, ro: IfRoute | null) => EtherResolve;

interface EtherGlobal {
  resolvers: (EtherResolver | undefined)[];
}

function ether_global(k: Kernel): EtherGlobal {
  let g = k.netglobal['ether'] as EtherGlobal | undefined;
  if (g === undefined) k.netglobal['ether'] = g = { resolvers: [] };
  return g;
}

/** Register the resolver of an address family (AF_INET: arpresolve) in this kernel. */
export function ether_resolver_register(k: Kernel, af: number, fn: EtherResolver | null): void {
  ether_global(k).resolvers[af] = fn ?? undefined;
}

/** Ethertype -> netisr protocol. */
function ether_isr(type: number): number {
  switch (type) {
    case ETHERTYPE_IP:
      return NETISR_IP;
    case ETHERTYPE_ARP:
      return NETISR_ARP;
    case ETHERTYPE_IPV6:
      return NETISR_IPV6;
    default:
      return -1;
  }
}

/**
 * ether_ifattach(ifp, lla): an Ethernet interface (IFT_ETHER, 14-byte header, MTU
 * 1500 unless the driver set another) joins curvnet, with a bpf attachment.
 */
export function ether_ifattach(ifp: Ifnet, lla: ether_addr_t): void {
  ifp.if_addrlen = 6;
  ifp.if_hdrlen = ETHER_HDR_LEN;
  ifp.if_lladdr = lla;
  if (ifp.if_mtu === 0) ifp.if_mtu = ETHERMTU;
  ifp.if_output = ether_output;
  ifp.if_input = ether_input;
  if_attach(ifp);
  bpfattach(ifp, DLT_EN10MB, ETHER_HDR_LEN);
}

/** ether_ifdetach(ifp) */
export function ether_ifdetach(ifp: Ifnet): void {
  bpfdetach(ifp);
  if_detach(ifp);
}

/**
 * ether_output(ifp, m, dst, ro): prepend the Ethernet header and transmit.  Consumes m.
 * ENETDOWN when the interface is not up and running; EAFNOSUPPORT for a family
 * without a resolver; 0 when a resolver holds the packet.
 */
export function ether_output(ifp: Ifnet, m: Mbuf, dst: IfDst, ro: IfRoute | null): number {
  BKPT(S_ether_output);
  if (!(ifp.if_flags & IFF_UP) || !(ifp.if_drv_flags & IFF_DRV_RUNNING)) {
    m_freem(m);
    return ENETDOWN;
  }
  let edst: ether_addr_t;
  let type: number;
  /* The link header ready in the entry a caching route holds (ro_lle, RT_LLE_CACHE),
   * while that entry is valid and still resolves this next hop on this interface. */
  let hdr: Uint8Array | null = null;
  const lle = ro !== null ? ro.ro_lle : undefined;
  if (lle != null) {
    if (
      lle.ifp === ifp &&
      lle.addr === dst.sin_addr &&
      !(m.m_flags & (M_BCAST | M_MCAST)) &&
      lle.lle_valid()
    ) {
      hdr = lle.r_linkdata();
      if (lle.r_skip_req) lle.llentry_provide_feedback();
    } else ro!.ro_lle = null;
  }
  if (hdr !== null) {
    edst = lle!.mac!;
    type = ETHERTYPE_IP;
  } else if (dst.sa_family === AF_UNSPEC || dst.sa_family === pseudo_AF_HDRCMPLT) {
    edst = (dst.ether_dhost ?? ETHER_BCAST) as ether_addr_t;
    type = dst.ether_type ?? 0;
  } else {
    const fn = ether_global(curkernel()).resolvers[dst.sa_family];
    if (fn === undefined) {
      m_freem(m);
      return EAFNOSUPPORT;
    }
    const r = fn(ifp, m, dst, ro);
    if (r === 'held') return 0;
    if (typeof r === 'number') {
      m_freem(m);
      return r;
    }
    edst = r.mac;
    type = dst.sa_family === 28 ? ETHERTYPE_IPV6 : ETHERTYPE_IP;
  }
  if (ETHER_IS_MULTICAST(edst)) m.m_flags |= edst === ETHER_BCAST ? M_BCAST : M_MCAST;
  const n = M_PREPEND(m, ETHER_HDR_LEN);
  if (n === null) {
    if_inc_counter(ifp, IFCOUNTER_OERRORS, 1);
    return ENOBUFS;
  }
  const b = n.m_buf;
  const o = n.m_data;
  if (hdr !== null) b.set(hdr, o);
  else {
    ether_addr_write(b, o, edst);
    ether_addr_write(b, o + 6, ifp.if_lladdr ?? 0);
    b[o + 12] = (type >>> 8) & 0xff;
    b[o + 13] = type & 0xff;
  }
  // A SIMPLEX interface cannot hear itself: loop our own broadcasts (a copy) and frames
  // to our own address back to the stack here (protocol families only, not AF_UNSPEC).
  if (
    ifp.if_flags & IFF_SIMPLEX &&
    dst.sa_family !== AF_UNSPEC &&
    dst.sa_family !== pseudo_AF_HDRCMPLT
  ) {
    if (n.m_flags & M_BCAST) {
      const c = m_dup(n);
      if (c !== null) if_simloop(ifp, c, dst.sa_family, ETHER_HDR_LEN);
    } else if (edst === ifp.if_lladdr) {
      if_simloop(ifp, n, dst.sa_family, ETHER_HDR_LEN);
      return 0;
    }
  }
  return ether_output_frame(ifp, n);
}

/** ether_output_frame(ifp, m): hand a complete frame to the driver.  Consumes m. */
export function ether_output_frame(ifp: Ifnet, m: Mbuf): number {
  BKPT(S_ether_output_frame);
  return ifp.if_transmit(ifp, m);
}

/**
 * ether_input(ifp, m): a frame from the driver, in ifp's vnet (the driver set curvnet).
 * Consumes m.
 */
export function ether_input(ifp: Ifnet, m: Mbuf): void {
  BKPT(S_ether_input);
  if (m.len < ETHER_HDR_LEN) {
    if_inc_counter(ifp, IFCOUNTER_IERRORS, 1);
    m_freem(m);
    return;
  }
  m.rcvif = ifp;
  const b = m.m_buf;
  const o = m.m_data;
  const dhost = ether_addr_read(b, o);
  if (ETHER_IS_MULTICAST(dhost)) {
    m.m_flags |= dhost === ETHER_BCAST ? M_BCAST : M_MCAST;
    if_inc_counter(ifp, IFCOUNTER_IMCASTS, 1);
  }
  bpf_mtap(ifp, m, false);
  if_inc_counter(ifp, IFCOUNTER_IBYTES, m.len);
  if (!(ifp.if_flags & IFF_UP)) {
    if_inc_counter(ifp, IFCOUNTER_IQDROPS, 1);
    m_freem(m);
    return;
  }
  if (!ETHER_IS_MULTICAST(dhost) && ifp.if_lladdr !== null && dhost !== ifp.if_lladdr)
    m.m_flags |= M_PROMISC;
  if (ifp.if_bridge !== null) {
    const r = ifp.if_bridge.brh_input(ifp, m);
    if (r === null) return;
    m = r;
    // The bridge may hand the frame up as its own interface's.
    ifp = (m.rcvif as Ifnet | null) ?? ifp;
  }
  ether_demux(ifp, m);
}

/** ether_demux(ifp, m): strip the header and dispatch by ethertype.  Consumes m. */
export function ether_demux(ifp: Ifnet, m: Mbuf): void {
  BKPT(S_ether_demux);
  if (m.m_flags & M_PROMISC) {
    m_freem(m);
    return;
  }
  const type = (m.m_buf[m.m_data + 12]! << 8) | m.m_buf[m.m_data + 13]!;
  const isr = ether_isr(type);
  if (isr < 0 || !netisr_registered(curkernel(), isr)) {
    if_inc_counter(ifp, IFCOUNTER_NOPROTO, 1);
    m_freem(m);
    return;
  }
  m_adj(m, ETHER_HDR_LEN);
  netisr_dispatch(isr, m);
}

/**
 * ether_ioctl(ifp, cmd, data): the Ethernet defaults drivers fall back to.
 * SIOCSIFMTU: EINVAL above ETHERMTU (the generic layer already refused < 72).
 */
export function ether_ioctl(ifp: Ifnet, cmd: number, data: Uint8Array): number {
  switch (cmd >>> 0) {
    case SIOCSIFMTU: {
      const mtu = new DataView(data.buffer, data.byteOffset, data.byteLength).getInt32(
        IFR_MTU,
        true,
      );
      if (mtu > ETHERMTU) return EINVAL;
      ifp.if_mtu = mtu;
      return 0;
    }
    case SIOCSIFFLAGS:
    case SIOCADDMULTI:
    case SIOCDELMULTI:
      return 0;
  }
  return ENOIOCTL;
}
