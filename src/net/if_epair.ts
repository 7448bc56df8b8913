/*
 * net/if_epair.ts — a pair of Ethernet interfaces joined back to back, epair(4)
 * (sys/net/if_epair.c), as §9.1-9.3 of the mechanisms reference describes it.
 *
 * Cloner: per vnet, attached by a VNET_SYSINIT at (SI_SUB_PSEUDO, SI_ORDER_ANY) and kept
 * in V_epair_cloner, detached by a VNET_SYSUNINIT at (SI_SUB_INIT_IF, SI_ORDER_ANY).  The
 * match accepts "epair" and "epair<digits>" only (never a name ending in a or b).
 * `ifconfig epair create` allocates the lowest free unit N and makes epairNa and epairNb
 * (EEXIST if either exists), each IFT_ETHER with BROADCAST|SIMPLEX|MULTICAST, VLAN_MTU
 * and the checksum capabilities below, 10 Gbit/s, running, link up; the caller gets
 * "epairNa" back.  MAC addresses: side a is 02:h0:h1:h2:h3:0a where h is a Jenkins
 * hash (lookup3 hashword) of (a per-kernel counter, host id low, host id high), side b
 * the same with 0b.  The host id comes from the kernel's seeded RNG, once per kernel,
 * so a run with the same seed gives the same MACs (FreeBSD uses the prison's hostid,
 * random if zero).
 *
 * Data path: epair_transmit on X drops with ENXIO if X is not running and ENETDOWN if
 * it is not up (both count oerrors); taps bpf; if the peer is not up and running the
 * frame is dropped silently (oerrors, returns 0); else it is counted out on X
 * (opackets, obytes), goes through X's link impairment (loss, CE marking of
 * ECN-capable IPv4 frames, duplication, reordering, delay — all from the seeded RNG,
 * delay by callout), and is enqueued on the peer's receive queue (RXRSIZE 4096
 * packets; full: oqdrops on X).  An idle queue schedules a drain on the netisr thread
 * of CPU 0, which feeds every queued frame to the peer's if_input with curvnet = the
 * peer's vnet at that moment (ipackets counted there).
 *
 * Checksum offload, as FreeBSD 15's epair(4): RXCSUM and RXCSUM6 are always on (a
 * frame may arrive with its checksum validated or still pending; -rxcsum is ignored),
 * TXCSUM and TXCSUM6 are on by default and are one setting for both ends (SIOCSIFCAP on
 * either side applies them to the other).  With TXCSUM if_hwassist has CSUM_IP_TCP and
 * CSUM_IP_UDP (and the IPv6 ones), so ip_output leaves the transport checksum pending:
 * the frame crosses with the pseudo-header sum in the field and its csum flags intact,
 * and the receiving stack accepts it unchecked since it never left the host (tcp_input
 * and udp_input, FreeBSD's D51475).  Where it would leave — forwarded out an interface
 * without the capability (ip_output), bridged to such a member (if_bridge), sent in a
 * vxlan datagram — it is finished first; a bpf tap sees it finished (net/bpf.ts).  The
 * IPv4 header checksum is always computed.  The two transport sums it saves (a pass
 * over every byte at each end) were about a quarter of the per-segment cost of a bulk
 * TCP stream (bench/tcp.ts).
 *
 * Destroy: either side takes both down, detaches both (each in its own vnet) and frees
 * the unit — so destroying epair0a also removes epair0b even if b lives in a jail.
 *
 * Deliberate differences: one delivery queue per interface served by the netisr
 * thread instead of taskqueues per CPU; no ALTQ.  Media as FreeBSD's (SIOCGIFMEDIA:
 * 10Gbase-T, active, full duplex).  The impairment hook is ours (FreeBSD would
 * use dummynet).
 */

import { DECLARE_MODULE, MODULE_VERSION } from '../sys/module.js';
import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SI_ORDER_ANY, SI_ORDER_MIDDLE, SI_SUB_INIT_IF, SI_SUB_PSEUDO } from '../sys/kernel.js';
import { BKPT } from '../kern/subr_kdb.js';
import { curkernel } from '../kern/kern_cur.js';
import type { Kernel } from '../kern/kernel.js';
import { netisr_queue_work } from '../kern/kern_kthread.js';
import { Callout, callout_reset_sbt, callout_stop } from '../kern/kern_timeout.js';
import {
  CURVNET_RESTORE,
  CURVNET_SET,
  VNET_MAGIC_N,
  VNET_OBJ,
  VNET_SYSINIT,
  VNET_SYSUNINIT,
} from './vnet.js';
import {
  IFCAP_HWCSUM,
  IFCAP_HWCSUM_IPV6,
  IFCAP_RXCSUM,
  IFCAP_RXCSUM_IPV6,
  IFCAP_TXCSUM,
  IFCAP_TXCSUM_IPV6,
  IFCAP_VLAN_MTU,
  IFCOUNTER_IPACKETS,
  IFCOUNTER_OBYTES,
  IFCOUNTER_OERRORS,
  IFCOUNTER_OMCASTS,
  IFCOUNTER_OPACKETS,
  IFCOUNTER_OQDROPS,
  IFF_BROADCAST,
  IFF_DRV_RUNNING,
  IFF_MULTICAST,
  IFF_SIMPLEX,
  IFF_UP,
  IFT_ETHER,
  LINK_STATE_DOWN,
  LINK_STATE_UP,
  if_inc_counter,
  type Ifnet,
} from './if_var.js';
import { ETHERMTU, ether_ip_off, type ether_addr_t } from './ethernet.js';
import {
  CSUM_IP6_TCP,
  CSUM_IP6_UDP,
  CSUM_IP_TCP,
  CSUM_IP_UDP,
  M_BCAST,
  M_MCAST,
  mbufq,
  mbufq_dequeue,
  mbufq_drain,
  mbufq_enqueue,
  m_dup,
  m_freem,
  type Mbuf,
} from '../sys/mbuf.js';
import { EEXIST, EFAULT, ENETDOWN, ENOIOCTL, ENOSPC, ENXIO } from '../sys/errno.js';
import {
  IFNAMSIZ,
  SIOCSIFMTU,
  SIOCSIFFLAGS,
  SIOCADDMULTI,
  SIOCDELMULTI,
  IFR_MTU,
  IFR_REQCAP,
  SIOCGIFMEDIA,
  SIOCSIFCAP,
  SIOCSIFMEDIA,
} from '../sys/sockio.js';
import {
  IFM_10G_T,
  IFM_ACTIVE,
  IFM_AVALID,
  IFM_ETHER,
  IFM_FDX,
  ifmedia_ioctl,
  type IfMedia,
} from './if_media.js';
import { copyout } from '../vm/vm_map.js';
import type { Thread } from '../sys/proc.js';
import { if_alloc, if_free, if_initname, if_link_state_change, ifunit } from './if.js';
import {
  if_clone_addif,
  if_clone_attach,
  if_clone_delif,
  if_clone_detach,
  ifc_alloc_unit,
  ifc_free_unit,
  type IfClone,
} from './if_clone.js';
import { ether_ifattach, ether_ifdetach, ether_ioctl } from './if_ethersubr.js';
import { bpf_mtap } from './bpf.js';
import { in_cksum_update16 } from '../netinet/in_cksum.js';
import { IPTOS_ECN_CE, IPTOS_ECN_ECT0, IPTOS_ECN_ECT1, IPTOS_ECN_MASK } from '../netinet/ip.js';

export const K = new ObjFile('net/if_epair.ts', VIMAGEID('src/net/if_epair.ts'));

/* The module record FreeBSD's if_epair declares (kldstat -v lists it under the kernel). */
DECLARE_MODULE(K, { name: 'if_epair', evhand: null }, SI_SUB_PSEUDO, SI_ORDER_MIDDLE);
MODULE_VERSION(K, 'if_epair', 3);

const S_epair_transmit = K.TEXT('epair_transmit');
const S_epair_intr = K.TEXT('epair_intr');
const S_epair_clone_create = K.TEXT('epair_clone_create');
const S_epair_clone_destroy = K.TEXT('epair_clone_destroy');

export const epairname = 'epair';
export const RXRSIZE = 4096;

/** Link impairments of one side's transmit direction. */
export interface EpairImpairment {
  /** Probability [0, 1] a frame is lost. */
  loss?: number;
  /** Probability a frame is delivered twice. */
  dup?: number;
  /** Probability a frame is held back and delivered after the next one. */
  reorder?: number;
  /** Fixed one-way delay, nanoseconds. */
  delay_ns?: number;
  /**
   * Probability an ECN-capable IPv4 frame (ECT(0) or ECT(1)) is marked Congestion
   * Experienced, as an AQM queue would mark it (RFC 3168 §5).  Frames that are not
   * ECN-capable pass unmarked: an AQM would drop some of them, which is `loss`'s job.
   */
  ce?: number;
}

/** struct epair_softc */
export class EpairSoftc {
  oifp: Ifnet | null = null;
  readonly rxq = new mbufq(RXRSIZE);
  rx_scheduled = false;
  imp: Required<EpairImpairment> = { loss: 0, dup: 0, reorder: 0, delay_ns: 0, ce: 0 };
  /** A frame held back for reordering. */
  held: Mbuf | null = null;
  readonly delayed = new Set<Callout>();
  destroyed = false;
  /** Statistics of the impairment (for tests). */
  imp_lost = 0;
  imp_duped = 0;
  imp_reordered = 0;
  /** Frames marked CE. */
  imp_ce = 0;
  /** The netisr work that drains rxq, made once (a closure per frame cost a context). */
  readonly intr: () => void;
  /** Pseudo media, as FreeBSD's epair: 10Gbase-T, always active, full duplex. */
  readonly media: IfMedia = {
    list: [IFM_ETHER | IFM_10G_T],
    current: IFM_ETHER | IFM_10G_T,
    status: () => ({ active: IFM_ETHER | IFM_10G_T | IFM_FDX, status: IFM_AVALID | IFM_ACTIVE }),
  };
  constructor(
    readonly ifp: Ifnet,
    readonly unit: number,
  ) {
    this.intr = () => epair_intr(ifp);
  }
}

export const V_epair_cloner = VNET_OBJ<IfClone | null>(K, 'epair_cloner');

/* ------------------------------------------------------------------------------ */
/* MAC addresses: Jenkins lookup3 hashword over (index, hostid low, hostid high).   */

function rot(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** jenkins_hash32(k, length, initval): Bob Jenkins' lookup3 hashword. */
export function jenkins_hash32(key: readonly number[], initval: number): number {
  let length = key.length;
  let a = (0xdeadbeef + (length << 2) + initval) >>> 0;
  let b = a;
  let c = a;
  let i = 0;
  while (length > 3) {
    a = (a + key[i]!) >>> 0;
    b = (b + key[i + 1]!) >>> 0;
    c = (c + key[i + 2]!) >>> 0;
    // mix(a, b, c)
    a = (a - c) >>> 0;
    a = (a ^ rot(c, 4)) >>> 0;
    c = (c + b) >>> 0;
    b = (b - a) >>> 0;
    b = (b ^ rot(a, 6)) >>> 0;
    a = (a + c) >>> 0;
    c = (c - b) >>> 0;
    c = (c ^ rot(b, 8)) >>> 0;
    b = (b + a) >>> 0;
    a = (a - c) >>> 0;
    a = (a ^ rot(c, 16)) >>> 0;
    c = (c + b) >>> 0;
    b = (b - a) >>> 0;
    b = (b ^ rot(a, 19)) >>> 0;
    a = (a + c) >>> 0;
    c = (c - b) >>> 0;
    c = (c ^ rot(b, 4)) >>> 0;
    b = (b + a) >>> 0;
    length -= 3;
    i += 3;
  }
  if (length === 0) return c >>> 0;
  if (length >= 3) c = (c + key[i + 2]!) >>> 0;
  if (length >= 2) b = (b + key[i + 1]!) >>> 0;
  a = (a + key[i]!) >>> 0;
  // final(a, b, c)
  c = (c ^ b) >>> 0;
  c = (c - rot(b, 14)) >>> 0;
  a = (a ^ c) >>> 0;
  a = (a - rot(c, 11)) >>> 0;
  b = (b ^ a) >>> 0;
  b = (b - rot(a, 25)) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rot(b, 16)) >>> 0;
  a = (a ^ c) >>> 0;
  a = (a - rot(c, 4)) >>> 0;
  b = (b ^ a) >>> 0;
  b = (b - rot(a, 14)) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rot(b, 24)) >>> 0;
  return c >>> 0;
}

interface EpairGlobal {
  next_index: number;
  hostid: number;
}

function epair_global(k: Kernel): EpairGlobal {
  let g = k.netglobal['epair'] as EpairGlobal | undefined;
  if (g === undefined) {
    // The host id (FreeBSD: the prison's pr_hostid, random if 0) from the seeded RNG.
    const hostid = k.rng.next() + (k.rng.next() & 0xffff) * 4294967296;
    k.netglobal['epair'] = g = { next_index: 0, hostid };
  }
  return g;
}

/** epair_generate_mac: 02:h0:h1:h2:h3:0a (the b side replaces the last byte by 0b). */
function epair_generate_mac(k: Kernel): ether_addr_t {
  const g = epair_global(k);
  const key = [g.next_index++ >>> 0, g.hostid >>> 0, Math.floor(g.hostid / 4294967296) >>> 0];
  const h = jenkins_hash32(key, 0);
  // memcpy(&eaddr[1], &hash, 4) on a little-endian machine.
  const b = [0x02, h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff, h >>> 24, 0x0a];
  let a = 0;
  for (const x of b) a = a * 256 + x;
  return a as ether_addr_t;
}

/* ------------------------------------------------------------------------------ */
/* Data path.                                                                        */

function epair_sc(ifp: Ifnet): EpairSoftc {
  return ifp.if_softc as EpairSoftc;
}

/** The netisr-thread work: feed the receive queue of ifp to its if_input, in its vnet. */
function epair_intr(ifp: Ifnet): void {
  BKPT(S_epair_intr);
  const sc = epair_sc(ifp);
  sc.rx_scheduled = false;
  const v = ifp.if_vnet;
  if (sc.destroyed || v === null || v.vnet_magic_n !== VNET_MAGIC_N) {
    mbufq_drain(sc.rxq);
    return;
  }
  /* The whole batch runs in the receiver's vnet (set once, not per frame); a frame whose
   * processing moved the interface to another vnet makes the next one switch again. */
  let cur = v;
  const saved = CURVNET_SET(cur);
  try {
    for (;;) {
      const m = mbufq_dequeue(sc.rxq);
      if (m === null) break;
      const now = ifp.if_vnet!;
      if (now !== cur) {
        CURVNET_SET(now);
        cur = now;
      }
      ifp.if_input(ifp, m);
      if (sc.destroyed) {
        mbufq_drain(sc.rxq);
        return;
      }
    }
  } finally {
    CURVNET_RESTORE(saved);
  }
}

function epair_schedule(oifp: Ifnet): void {
  const osc = epair_sc(oifp);
  if (osc.rx_scheduled) return;
  osc.rx_scheduled = true;
  const k = curkernel();
  if (netisr_queue_work(k, 0, osc.intr) !== 0) epair_intr(oifp);
}

/** Put m on the peer's receive queue (m consumed); full queue: oqdrops on ifp. */
function epair_menq(ifp: Ifnet, oifp: Ifnet, m: Mbuf): void {
  const osc = epair_sc(oifp);
  if (osc.destroyed) {
    m_freem(m);
    return;
  }
  m.rcvif = oifp;
  if (mbufq_enqueue(osc.rxq, m) !== 0) {
    if_inc_counter(ifp, IFCOUNTER_OQDROPS, 1);
    m_freem(m);
    return;
  }
  if_inc_counter(oifp, IFCOUNTER_IPACKETS, 1);
  epair_schedule(oifp);
}

/** After the impairment: deliver now or after the configured delay. */
function epair_deliver(sc: EpairSoftc, oifp: Ifnet, m: Mbuf): void {
  const ifp = sc.ifp;
  if (sc.imp.delay_ns > 0) {
    const c = new Callout();
    sc.delayed.add(c);
    callout_reset_sbt(
      c,
      sc.imp.delay_ns,
      0,
      () => {
        sc.delayed.delete(c);
        epair_menq(ifp, oifp, m);
      },
      null,
    );
    return;
  }
  epair_menq(ifp, oifp, m);
}

/** The IPv4 header of an Ethernet frame as its offset in m_buf (ether_ip_off), or -1. */
function epair_ip_header(m: Mbuf): number {
  const off = ether_ip_off(m.m_buf, m.m_data, m.m_len);
  if (off < 0 || m.m_len < off + 20 || m.m_buf[m.m_data + off]! >>> 4 !== 4) return -1;
  return m.m_data + off;
}

/**
 * Mark an ECN-capable IPv4 frame CE with probability ce: the two ECN bits of the TOS
 * set, the header checksum updated for the changed word (RFC 1624).  The frame is
 * edited in place (it is ours from epair_transmit on; bpf has already seen it as
 * sent, so a tap on the receiving side shows the mark).
 */
function epair_mark_ce(sc: EpairSoftc, m: Mbuf, p: () => number): void {
  const ip = epair_ip_header(m);
  if (ip < 0) return;
  const b = m.m_buf;
  const tos = b[ip + 1]!;
  const ecn = tos & IPTOS_ECN_MASK;
  if (ecn !== IPTOS_ECN_ECT0 && ecn !== IPTOS_ECN_ECT1) return;
  if (p() >= sc.imp.ce) return;
  const ntos = tos | IPTOS_ECN_CE;
  b[ip + 1] = ntos;
  const w0 = b[ip]! << 8;
  const sum = in_cksum_update16((b[ip + 10]! << 8) | b[ip + 11]!, w0 | tos, w0 | ntos);
  b[ip + 10] = sum >>> 8;
  b[ip + 11] = sum & 0xff;
  sc.imp_ce++;
}

function epair_impair(sc: EpairSoftc, oifp: Ifnet, m: Mbuf): void {
  const imp = sc.imp;
  const rng = curkernel().rng;
  const p = (): number => rng.next() / 4294967296;
  if (imp.loss > 0 && p() < imp.loss) {
    sc.imp_lost++;
    m_freem(m);
    return;
  }
  if (imp.ce > 0) epair_mark_ce(sc, m, p);
  let dup: Mbuf | null = null;
  if (imp.dup > 0 && p() < imp.dup) {
    dup = m_dup(m);
    if (dup !== null) sc.imp_duped++;
  }
  if (imp.reorder > 0 && sc.held === null && p() < imp.reorder) {
    sc.held = m;
    sc.imp_reordered++;
    if (dup !== null) epair_deliver(sc, oifp, dup);
    return;
  }
  epair_deliver(sc, oifp, m);
  if (dup !== null) epair_deliver(sc, oifp, dup);
  const h = sc.held;
  if (h !== null && h !== m) {
    sc.held = null;
    epair_deliver(sc, oifp, h);
  }
}

/** epair_transmit(ifp, m): consumes m; ENXIO / ENETDOWN as FreeBSD. */
export function epair_transmit(ifp: Ifnet, m: Mbuf): number {
  BKPT(S_epair_transmit);
  if (!(ifp.if_drv_flags & IFF_DRV_RUNNING)) {
    if_inc_counter(ifp, IFCOUNTER_OERRORS, 1);
    m_freem(m);
    return ENXIO;
  }
  if (!(ifp.if_flags & IFF_UP)) {
    if_inc_counter(ifp, IFCOUNTER_OERRORS, 1);
    m_freem(m);
    return ENETDOWN;
  }
  bpf_mtap(ifp, m, true);
  const sc = epair_sc(ifp);
  const oifp = sc.oifp;
  if (oifp === null || !(oifp.if_drv_flags & IFF_DRV_RUNNING) || !(oifp.if_flags & IFF_UP)) {
    if_inc_counter(ifp, IFCOUNTER_OERRORS, 1);
    m_freem(m);
    return 0;
  }
  const len = m.len;
  const mcast = (m.m_flags & (M_BCAST | M_MCAST)) !== 0;
  m.m_flags &= ~(M_BCAST | M_MCAST);
  if_inc_counter(ifp, IFCOUNTER_OPACKETS, 1);
  if_inc_counter(ifp, IFCOUNTER_OBYTES, len);
  if (mcast) if_inc_counter(ifp, IFCOUNTER_OMCASTS, 1);
  const imp = sc.imp;
  if (imp.loss > 0 || imp.dup > 0 || imp.reorder > 0 || imp.ce > 0 || sc.held !== null)
    epair_impair(sc, oifp, m);
  else epair_deliver(sc, oifp, m);
  return 0;
}

/**
 * Apply a capability set to one side: RXCSUM and RXCSUM6 stay on whatever is asked (a
 * frame may arrive with its checksum already validated, or still pending), and
 * if_hwassist follows TXCSUM/TXCSUM6 (TCP and UDP only; the IP header checksum is
 * always computed).
 */
function epair_setcaps(ifp: Ifnet, cap: number): void {
  ifp.if_capenable = (cap | IFCAP_RXCSUM | IFCAP_RXCSUM_IPV6) & ifp.if_capabilities;
  let assist = 0;
  if (ifp.if_capenable & IFCAP_TXCSUM) assist |= CSUM_IP_TCP | CSUM_IP_UDP;
  if (ifp.if_capenable & IFCAP_TXCSUM_IPV6) assist |= CSUM_IP6_TCP | CSUM_IP6_UDP;
  ifp.if_hwassist = assist;
}

function epair_ioctl(ifp: Ifnet, cmd: number, data: Uint8Array, td?: Thread | null): number {
  switch (cmd >>> 0) {
    case SIOCGIFMEDIA:
    case SIOCSIFMEDIA:
      return ifmedia_ioctl(epair_sc(ifp).media, data, cmd >>> 0 === SIOCGIFMEDIA, (b, ua) =>
        td ? copyout(td.td_proc, b, ua) : EFAULT,
      );
    case SIOCSIFCAP: {
      /* TXCSUM and TXCSUM6 are one setting for both ends, as FreeBSD's epair keeps
       * them; RXCSUM stays on (epair_setcaps). */
      const req = new DataView(data.buffer, data.byteOffset, data.byteLength).getInt32(
        IFR_REQCAP,
        true,
      );
      epair_setcaps(ifp, req);
      const oifp = epair_sc(ifp).oifp;
      if (oifp !== null) {
        const tx = IFCAP_TXCSUM | IFCAP_TXCSUM_IPV6;
        epair_setcaps(oifp, (oifp.if_capenable & ~tx) | (ifp.if_capenable & tx));
      }
      return 0;
    }
    case SIOCSIFFLAGS:
    case SIOCADDMULTI:
    case SIOCDELMULTI:
      return 0;
    case SIOCSIFMTU:
      ifp.if_mtu = new DataView(data.buffer, data.byteOffset, data.byteLength).getInt32(
        IFR_MTU,
        true,
      );
      return 0;
  }
  const e = ether_ioctl(ifp, cmd, data);
  return e === ENOIOCTL ? ENOIOCTL : e;
}

/**
 * epair_set_impairment(ifp, imp): impair frames transmitted by ifp (towards its peer).
 * Missing fields keep their value; all zero turns it off.
 */
export function epair_set_impairment(ifp: Ifnet, imp: EpairImpairment): void {
  const sc = epair_sc(ifp);
  if (!(sc instanceof EpairSoftc)) throw new Error(`${ifp.if_xname} is not an epair`);
  const clamp = (x: number | undefined, old: number): number =>
    x === undefined ? old : Math.min(1, Math.max(0, x));
  sc.imp = {
    loss: clamp(imp.loss, sc.imp.loss),
    dup: clamp(imp.dup, sc.imp.dup),
    reorder: clamp(imp.reorder, sc.imp.reorder),
    delay_ns: imp.delay_ns === undefined ? sc.imp.delay_ns : Math.max(0, Math.floor(imp.delay_ns)),
    ce: clamp(imp.ce, sc.imp.ce),
  };
}

/** The softc of an epair side (tests read the impairment statistics). */
export function epair_softc(ifp: Ifnet): EpairSoftc | null {
  return ifp.if_softc instanceof EpairSoftc ? ifp.if_softc : null;
}

/* ------------------------------------------------------------------------------ */
/* Cloning.                                                                          */

function epair_clone_match(ifc: IfClone, name: string): boolean {
  if (!name.startsWith(epairname)) return false;
  return /^[0-9]*$/.test(name.slice(epairname.length));
}

function epair_setup(ifc: IfClone, unit: number, name: string, mac: ether_addr_t): Ifnet {
  const ifp = if_alloc(IFT_ETHER);
  if_initname(ifp, epairname, unit, name);
  ifp.if_softc = new EpairSoftc(ifp, unit);
  ifp.if_flags = IFF_BROADCAST | IFF_SIMPLEX | IFF_MULTICAST;
  ifp.if_capabilities = IFCAP_VLAN_MTU | IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6;
  epair_setcaps(ifp, ifp.if_capabilities);
  ifp.if_baudrate = 10_000_000_000;
  ifp.if_mtu = ETHERMTU;
  ifp.if_transmit = epair_transmit;
  ifp.if_ioctl = epair_ioctl;
  ether_ifattach(ifp, mac);
  if_clone_addif(ifc, ifp);
  return ifp;
}

function epair_clone_create(
  ifc: IfClone,
  name: string,
  _params: number | null,
): { error: number; name: string } {
  BKPT(S_epair_clone_create);
  const rest = name.slice(epairname.length);
  const wildcard = rest === '';
  const u = ifc_alloc_unit(ifc, wildcard ? -1 : Number(rest));
  if (u.error) return { error: u.error, name };
  const base = wildcard ? `${epairname}${u.unit}` : name;
  if (base.length + 1 >= IFNAMSIZ) {
    ifc_free_unit(ifc, u.unit);
    return { error: ENOSPC, name };
  }
  if (ifunit(`${base}a`) !== null || ifunit(`${base}b`) !== null) {
    ifc_free_unit(ifc, u.unit);
    return { error: EEXIST, name };
  }
  const k = curkernel();
  const mac = epair_generate_mac(k);
  const a = epair_setup(ifc, u.unit, `${base}a`, mac);
  const b = epair_setup(
    ifc,
    u.unit,
    `${base}b`,
    (Math.floor(mac / 256) * 256 + 0x0b) as ether_addr_t,
  );
  epair_sc(a).oifp = b;
  epair_sc(b).oifp = a;
  for (const ifp of [a, b]) {
    ifp.if_drv_flags |= IFF_DRV_RUNNING;
    if_link_state_change(ifp, LINK_STATE_UP);
  }
  return { error: 0, name: a.if_xname };
}

function epair_teardown(ifp: Ifnet): void {
  const sc = epair_sc(ifp);
  sc.destroyed = true;
  for (const c of sc.delayed) callout_stop(c);
  sc.delayed.clear();
  if (sc.held) {
    m_freem(sc.held);
    sc.held = null;
  }
  mbufq_drain(sc.rxq);
}

function epair_clone_destroy(ifc: IfClone, ifp: Ifnet): number {
  BKPT(S_epair_clone_destroy);
  const sc = epair_sc(ifp);
  if (sc.destroyed) return 0;
  const oifp = sc.oifp;
  for (const x of oifp ? [ifp, oifp] : [ifp]) {
    x.if_flags &= ~IFF_UP;
    x.if_drv_flags &= ~IFF_DRV_RUNNING;
    if_link_state_change(x, LINK_STATE_DOWN);
    epair_teardown(x);
  }
  ether_ifdetach(ifp);
  if (oifp) {
    if_clone_delif(ifc, oifp);
    const v = oifp.if_vnet;
    const saved = v ? CURVNET_SET(v) : null;
    try {
      ether_ifdetach(oifp);
    } finally {
      if (v) CURVNET_RESTORE(saved);
    }
    if_free(oifp);
  }
  if_free(ifp);
  ifc_free_unit(ifc, sc.unit);
  return 0;
}

VNET_SYSINIT(K, 'vnet_epair_init', SI_SUB_PSEUDO, SI_ORDER_ANY, () => {
  V_epair_cloner.set(
    if_clone_attach(epairname, epair_clone_match, epair_clone_create, epair_clone_destroy),
  );
});

VNET_SYSUNINIT(K, 'vnet_epair_uninit', SI_SUB_INIT_IF, SI_ORDER_ANY, () => {
  const ifc = V_epair_cloner.get();
  if (ifc) if_clone_detach(ifc);
  V_epair_cloner.set(null);
});
