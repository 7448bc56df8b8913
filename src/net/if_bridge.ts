/*
 * net/if_bridge.ts — the learning Ethernet bridge, if_bridge(4) (sys/net/if_bridge.c).
 *
 * `ifconfig bridge create` (cloner "bridge", per vnet, VNET_SYSINIT at SI_SUB_PSEUDO)
 * makes bridgeN, an Ethernet-like interface (IFT_BRIDGE) with its own MAC (FreeBSD's
 * OUI 58:9c:fc, the rest from the seeded RNG), which can carry addresses: frames for
 * its MAC go up its own stack.  Members (`ifconfig bridge0 addm epair0a`) must be
 * Ethernet interfaces of the bridge's vnet; an interface already in a bridge is EBUSY;
 * a member goes promiscuous and its ether_input hands every frame to the bridge
 * (ifp.if_bridge hook) before anything else.
 *
 * Forwarding (bridge_input / bridge_forward): the source MAC is learned against the
 * arrival port; a frame for the bridge's or a member's own MAC goes up the stack of
 * that interface (the bridge's own for its MAC); broadcast and multicast frames are
 * flooded to every other member and a copy goes up the bridge's stack; a unicast frame
 * goes to the learned port, or is flooded when unknown; a frame whose destination is
 * on the port it came from is dropped.  Frames the local stack sends through the bridge
 * interface (bridge_transmit) follow the same table.
 *
 * Ageing: a learned entry expires brt_timeout seconds (default 1200, BRDGSTO,
 * net.link.bridge) after it was last refreshed; the prune callout runs every
 * min(timeout, 300 s) while the table holds dynamic entries (it is not armed on an empty
 * table, so an idle kernel stays idle).
 *
 * ioctl: SIOCSDRVSPEC / SIOCGDRVSPEC with struct ifdrv (40 bytes) and the BRDG*
 * commands FreeBSD's ifconfig uses: BRDGADD / BRDGDEL (struct ifbreq, 80 bytes),
 * BRDGGIFS (struct ifbifconf), BRDGRTS (struct ifbaconf of ifbareq), BRDGSTO / BRDGGTO
 * (struct ifbrparam), BRDGFLUSH; a wrong ifd_len or direction is EINVAL.
 *
 * net.link.bridge.inherit_mac (per vnet, default 0): a bridge takes the MAC of its first
 * member, and when that member leaves, the next member's or its own again.
 *
 * Span ports (`ifconfig bridge0 span epair2a`, BRDGADDS/BRDGDELS): an Ethernet interface
 * of the bridge's vnet that is not a member gets a copy of every frame a member
 * receives and of every frame the local stack sends through the bridge (bridge_span);
 * it forwards nothing it receives.  BRDGGIFS lists span ports after the members, with
 * IFBIF_SPAN.
 *
 * MTU: the first member sets the bridge's MTU; a later member with another MTU is
 * given the bridge's (EINVAL if its driver refuses); `ifconfig bridge0 mtu N` sets every
 * member's, and puts back the ones already changed when one refuses.
 *
 * Deliberate differences: no STP/RSTP, no VLAN filtering; one routing table per bridge
 * without a hash (a Map keyed by the 48-bit address).
 */

import { DECLARE_MODULE, MODULE_VERSION } from '../sys/module.js';
import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SI_ORDER_ANY, SI_SUB_INIT_IF, SI_SUB_PSEUDO } from '../sys/kernel.js';
import { BKPT } from '../kern/subr_kdb.js';
import { curkernel, curthread_or_null } from '../kern/kern_cur.js';
import type { Kernel } from '../kern/kernel.js';
import { Callout, callout_pending, callout_reset_sbt, callout_stop } from '../kern/kern_timeout.js';
import { SBT_1S } from '../kern/kern_clock.js';
import {
  CURVNET_RESTORE,
  CURVNET_SET,
  VNET_DEFINE_INT,
  VNET_OBJ,
  VNET_SYSINIT,
  VNET_SYSUNINIT,
} from './vnet.js';
import { CTLFLAG_RW, CTLFLAG_VNET, SYSCTL_INT, SYSCTL_NODE } from '../sys/sysctl.js';
import {
  IFCOUNTER_IBYTES,
  IFCOUNTER_IPACKETS,
  IFCOUNTER_OBYTES,
  IFCOUNTER_OERRORS,
  IFCOUNTER_OPACKETS,
  IFF_BROADCAST,
  IFF_DRV_RUNNING,
  IFF_MULTICAST,
  IFF_UP,
  IFT_BRIDGE,
  IFT_ETHER,
  IFT_L2VLAN,
  LINK_STATE_UP,
  if_inc_counter,
  type IfBridgeHook,
  type Ifnet,
} from './if_var.js';
import {
  ETHER_HDR_LEN,
  ETHER_IS_MULTICAST,
  ether_addr_read,
  ether_addr_write,
  type ether_addr_t,
} from './ethernet.js';
import { CSUM_DELAY_DATA, M_PROMISC, m_dup, m_freem, type Mbuf } from '../sys/mbuf.js';
import { EBUSY, EEXIST, EFAULT, EINVAL, ENOENT, ENOIOCTL, ENXIO } from '../sys/errno.js';
import { SIOCGDRVSPEC, SIOCSDRVSPEC, SIOCSIFFLAGS, SIOCSIFMTU, IFR_MTU } from '../sys/sockio.js';
import {
  if_alloc,
  if_event_register,
  if_free,
  if_initname,
  if_link_state_change,
  ifpromisc,
  ifr_name_get,
  ifr_name_set,
  if_setlladdr,
  ifunit,
} from './if.js';
import {
  if_clone_addif,
  if_clone_attach,
  if_clone_detach,
  ifc_alloc_unit,
  ifc_free_unit,
  ifc_name2unit,
  type IfClone,
} from './if_clone.js';
import { ether_ifattach, ether_ifdetach, ether_ioctl, ether_sw_csum } from './if_ethersubr.js';
import { bpf_mtap } from './bpf.js';
import { copyin, copyout } from '../vm/vm_map.js';
import type { Thread } from '../sys/proc.js';

export const K = new ObjFile('net/if_bridge.ts', VIMAGEID('src/net/if_bridge.ts'));

/* The module record FreeBSD's if_bridge declares (kldstat -v lists it under the kernel). */
DECLARE_MODULE(K, { name: 'if_bridge', evhand: null }, SI_SUB_PSEUDO, SI_ORDER_ANY);
MODULE_VERSION(K, 'if_bridge', 1);

const S_bridge_input = K.TEXT('bridge_input');
const S_bridge_forward = K.TEXT('bridge_forward');
const S_bridge_transmit = K.TEXT('bridge_transmit');

/** Default routing-table timeout (seconds) and size, as FreeBSD. */
export const BRIDGE_RTABLE_TIMEOUT = 1200;
export const BRIDGE_RTABLE_MAX = 2000;
export const BRIDGE_RTABLE_PRUNE_PERIOD = 5 * 60;

/* BRDG* commands (net/if_bridgevar.h). */
export const BRDGADD = 0;
export const BRDGDEL = 1;
export const BRDGGIFFLGS = 2;
export const BRDGSIFFLGS = 3;
export const BRDGSCACHE = 4;
export const BRDGGCACHE = 5;
export const BRDGGIFS = 6;
export const BRDGRTS = 7;
export const BRDGSADDR = 8;
export const BRDGSTO = 9;
export const BRDGGTO = 10;
export const BRDGDADDR = 11;
export const BRDGFLUSH = 12;
export const BRDGADDS = 23;
export const BRDGDELS = 24;

/* Sizes of the structures (amd64). */
export const SIZEOF_IFDRV = 40;
export const SIZEOF_IFBREQ = 80;
export const SIZEOF_IFBIFCONF = 16;
export const SIZEOF_IFBACONF = 16;
export const SIZEOF_IFBAREQ = 40;
export const SIZEOF_IFBRPARAM = 4;

/* ifbr_ifsflags */
export const IFBIF_LEARNING = 0x0001;
export const IFBIF_DISCOVER = 0x0002;
export const IFBIF_SPAN = 0x0008;
/* ifba_flags */
export const IFBAF_DYNAMIC = 0x00;
export const IFBAF_STATIC = 0x01;

/** A member port (struct bridge_iflist). */
export class BridgeIf {
  bif_flags = IFBIF_LEARNING | IFBIF_DISCOVER;
  bif_addrcnt = 0;
  constructor(readonly bif_ifp: Ifnet) {}
}

/** A routing table entry (struct bridge_rtnode). */
export interface BridgeRt {
  brt_addr: ether_addr_t;
  brt_ifp: Ifnet;
  /** Expiry, ns of uptime (dynamic entries). */
  brt_expire: number;
  brt_flags: number;
}

/** struct bridge_softc */
export class BridgeSoftc implements IfBridgeHook {
  readonly sc_iflist: BridgeIf[] = [];
  /** Span ports (sc_spanlist). */
  readonly sc_spanlist: BridgeIf[] = [];
  readonly sc_rt = new Map<number, BridgeRt>();
  sc_brttimeout = BRIDGE_RTABLE_TIMEOUT;
  sc_brtmax = BRIDGE_RTABLE_MAX;
  readonly sc_callout = new Callout();
  /** The member whose MAC the bridge took (inherit_mac), or null. */
  sc_ifaddr: Ifnet | null = null;
  /** The bridge's own MAC (sc_defaddr). */
  sc_defaddr = 0;
  constructor(
    readonly sc_ifp: Ifnet,
    readonly sc_unit: number,
  ) {}
  brh_input(ifp: Ifnet, m: Mbuf): Mbuf | null {
    return bridge_input(this, ifp, m);
  }
}

export const V_bridge_cloner = VNET_OBJ<IfClone | null>(K, 'bridge_cloner');

SYSCTL_NODE(K, 'net.link.bridge', CTLFLAG_RW, 'Bridge');
/** net.link.bridge.inherit_mac: a bridge takes its first member's MAC. */
export const V_bridge_inherit_mac = VNET_DEFINE_INT(K, 'bridge_inherit_mac', 0);
SYSCTL_INT(
  K,
  'net.link.bridge.inherit_mac',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_bridge_inherit_mac,
  'Inherit MAC address from the first bridge member',
);

function bridge_sc(ifp: Ifnet): BridgeSoftc | null {
  return ifp.if_softc instanceof BridgeSoftc ? ifp.if_softc : null;
}

/* ------------------------------------------------------------------------------ */
/* Routing table.                                                                    */

function bridge_timer_arm(sc: BridgeSoftc): void {
  if (callout_pending(sc.sc_callout)) return;
  const period = Math.min(sc.sc_brttimeout, BRIDGE_RTABLE_PRUNE_PERIOD);
  callout_reset_sbt(sc.sc_callout, period * SBT_1S, 0, bridge_timer, sc);
}

function bridge_timer(arg: unknown): void {
  const sc = arg as BridgeSoftc;
  bridge_rtage(sc);
  for (const rt of sc.sc_rt.values())
    if (rt.brt_flags === IFBAF_DYNAMIC) {
      bridge_timer_arm(sc);
      return;
    }
}

/** bridge_rtage: drop dynamic entries whose time is up. */
export function bridge_rtage(sc: BridgeSoftc): number {
  const now = curkernel().now();
  let n = 0;
  for (const [a, rt] of sc.sc_rt)
    if (rt.brt_flags === IFBAF_DYNAMIC && rt.brt_expire <= now) {
      sc.sc_rt.delete(a);
      n++;
    }
  return n;
}

function bridge_rtupdate(sc: BridgeSoftc, dst: ether_addr_t, ifp: Ifnet): void {
  const now = curkernel().now();
  let rt = sc.sc_rt.get(dst);
  if (rt === undefined) {
    if (sc.sc_rt.size >= sc.sc_brtmax) {
      bridge_rtage(sc);
      if (sc.sc_rt.size >= sc.sc_brtmax) return;
    }
    rt = { brt_addr: dst, brt_ifp: ifp, brt_expire: 0, brt_flags: IFBAF_DYNAMIC };
    sc.sc_rt.set(dst, rt);
  }
  if (rt.brt_flags === IFBAF_DYNAMIC) {
    rt.brt_ifp = ifp;
    rt.brt_expire = now + sc.sc_brttimeout * SBT_1S;
    bridge_timer_arm(sc);
  }
}

function bridge_rtdelete(sc: BridgeSoftc, ifp: Ifnet): void {
  for (const [a, rt] of sc.sc_rt) if (rt.brt_ifp === ifp) sc.sc_rt.delete(a);
}

/* ------------------------------------------------------------------------------ */
/* Data path.                                                                        */

function bridge_enqueue(sc: BridgeSoftc, dst: Ifnet, m: Mbuf): void {
  if (!(dst.if_drv_flags & IFF_DRV_RUNNING)) {
    m_freem(m);
    return;
  }
  const len = m.len;
  m.m_flags &= ~M_PROMISC;
  /* A checksum its sender left to the interface (epair's TXCSUM) is finished here when
   * this member cannot do it (FreeBSD's if_bridge since D54948). */
  if (m.csum_flags & CSUM_DELAY_DATA & ~dst.if_hwassist) ether_sw_csum(m);
  const e = dst.if_transmit(dst, m);
  if (e !== 0) {
    if_inc_counter(sc.sc_ifp, IFCOUNTER_OERRORS, 1);
    return;
  }
  if_inc_counter(sc.sc_ifp, IFCOUNTER_OPACKETS, 1);
  if_inc_counter(sc.sc_ifp, IFCOUNTER_OBYTES, len);
}

/** bridge_span: a copy of m to every running span port.  m is borrowed. */
function bridge_span(sc: BridgeSoftc, m: Mbuf): void {
  for (const bif of sc.sc_spanlist) {
    const dst = bif.bif_ifp;
    if (!(dst.if_drv_flags & IFF_DRV_RUNNING)) continue;
    const mc = m_dup(m);
    if (mc === null) {
      if_inc_counter(sc.sc_ifp, IFCOUNTER_OERRORS, 1);
      continue;
    }
    bridge_enqueue(sc, dst, mc);
  }
}

/** Flood to every member but src_if (null: all).  Consumes m. */
function bridge_broadcast(sc: BridgeSoftc, src_if: Ifnet | null, m: Mbuf): void {
  const targets = sc.sc_iflist.filter(
    (b) => b.bif_ifp !== src_if && b.bif_ifp.if_drv_flags & IFF_DRV_RUNNING,
  );
  if (targets.length === 0) {
    m_freem(m);
    return;
  }
  for (let i = 0; i < targets.length; i++) {
    const last = i === targets.length - 1;
    const mc = last ? m : m_dup(m);
    if (mc === null) continue;
    bridge_enqueue(sc, targets[i]!.bif_ifp, mc);
  }
}

/** bridge_forward(sc, src member, m): to the learned port or everywhere.  Consumes m. */
function bridge_forward(sc: BridgeSoftc, src: Ifnet, m: Mbuf): void {
  BKPT(S_bridge_forward);
  const bifp = sc.sc_ifp;
  if_inc_counter(bifp, IFCOUNTER_IPACKETS, 1);
  if_inc_counter(bifp, IFCOUNTER_IBYTES, m.len);
  const dst = ether_addr_read(m.m_buf, m.m_data);
  if (!ETHER_IS_MULTICAST(dst)) {
    const rt = sc.sc_rt.get(dst);
    if (rt !== undefined) {
      if (rt.brt_ifp === src) {
        m_freem(m);
        return;
      }
      bpf_mtap(bifp, m, true);
      bridge_enqueue(sc, rt.brt_ifp, m);
      return;
    }
  }
  bpf_mtap(bifp, m, true);
  bridge_broadcast(sc, src, m);
}

/**
 * bridge_input(sc, member, m): ether_input of a member calls this first.  Returns m to
 * go up a local stack (its rcvif says whose), or null when the bridge took it.
 */
export function bridge_input(sc: BridgeSoftc, ifp: Ifnet, m: Mbuf): Mbuf | null {
  BKPT(S_bridge_input);
  const bifp = sc.sc_ifp;
  if (!(bifp.if_flags & IFF_UP) || !(bifp.if_drv_flags & IFF_DRV_RUNNING)) return m;
  if (m.len < ETHER_HDR_LEN) {
    m_freem(m);
    return null;
  }
  const bif = sc.sc_iflist.find((b) => b.bif_ifp === ifp);
  if (bif === undefined) return m;
  if (sc.sc_spanlist.length > 0) bridge_span(sc, m);
  const dst = ether_addr_read(m.m_buf, m.m_data);
  const src = ether_addr_read(m.m_buf, m.m_data + 6);
  if (bif.bif_flags & IFBIF_LEARNING && !ETHER_IS_MULTICAST(src) && src !== 0)
    bridge_rtupdate(sc, src, ifp);
  if (ETHER_IS_MULTICAST(dst)) {
    const mc = m_dup(m);
    if (mc !== null) bridge_forward(sc, ifp, mc);
    // A copy goes up the bridge's own stack.
    m.rcvif = bifp;
    m.m_flags &= ~M_PROMISC;
    bpf_mtap(bifp, m, false);
    if_inc_counter(bifp, IFCOUNTER_IPACKETS, 1);
    if_inc_counter(bifp, IFCOUNTER_IBYTES, m.len);
    return m;
  }
  if (dst === bifp.if_lladdr) {
    m.rcvif = bifp;
    m.m_flags &= ~M_PROMISC;
    bpf_mtap(bifp, m, false);
    if_inc_counter(bifp, IFCOUNTER_IPACKETS, 1);
    if_inc_counter(bifp, IFCOUNTER_IBYTES, m.len);
    return m;
  }
  for (const b of sc.sc_iflist)
    if (b.bif_ifp.if_lladdr === dst) {
      m.rcvif = b.bif_ifp;
      m.m_flags &= ~M_PROMISC;
      return m;
    }
  bridge_forward(sc, ifp, m);
  return null;
}

/** bridge_transmit: the local stack sends through the bridge interface.  Consumes m. */
function bridge_transmit(bifp: Ifnet, m: Mbuf): number {
  BKPT(S_bridge_transmit);
  const sc = bridge_sc(bifp)!;
  bpf_mtap(bifp, m, true);
  if (sc.sc_spanlist.length > 0) bridge_span(sc, m);
  const dst = ether_addr_read(m.m_buf, m.m_data);
  if (!ETHER_IS_MULTICAST(dst)) {
    const rt = sc.sc_rt.get(dst);
    if (rt !== undefined) {
      bridge_enqueue(sc, rt.brt_ifp, m);
      return 0;
    }
  }
  bridge_broadcast(sc, null, m);
  return 0;
}

/* ------------------------------------------------------------------------------ */
/* Membership.                                                                       */

function bridge_lookup_member(sc: BridgeSoftc, name: string): BridgeIf | undefined {
  return sc.sc_iflist.find((b) => b.bif_ifp.if_xname === name);
}

/** The interface `name` in the bridge's vnet (ifunit there), or null. */
function bridge_ifunit(bifp: Ifnet, name: string): Ifnet | null {
  const saved = bifp.if_vnet ? CURVNET_SET(bifp.if_vnet) : null;
  try {
    return ifunit(name);
  } finally {
    if (bifp.if_vnet) CURVNET_RESTORE(saved);
  }
}

/** BRDGADD: add the interface `name` of the bridge's vnet. */
export function bridge_addm(bifp: Ifnet, name: string): number {
  const sc = bridge_sc(bifp);
  if (sc === null) return EINVAL;
  const ifs = bridge_ifunit(bifp, name);
  if (ifs === null) return ENOENT;
  if (ifs === bifp) return EINVAL;
  if (ifs.if_bridge !== null) return ifs.if_bridge === sc ? EEXIST : EBUSY;
  if (ifs.if_type !== IFT_ETHER && ifs.if_type !== IFT_L2VLAN) return EINVAL;
  /* The first member sets the MTU; later ones are given the bridge's. */
  if (sc.sc_iflist.length === 0) bifp.if_mtu = ifs.if_mtu;
  else if (ifs.if_mtu !== bifp.if_mtu && bridge_member_mtu(ifs, bifp.if_mtu) !== 0) return EINVAL;
  ifpromisc(ifs, true);
  ifs.if_bridge = sc;
  sc.sc_iflist.push(new BridgeIf(ifs));
  if (V_bridge_inherit_mac.get() !== 0 && sc.sc_ifaddr === null && ifs.if_lladdr !== null) {
    bridge_setlladdr(bifp, ifs.if_lladdr);
    sc.sc_ifaddr = ifs;
  }
  return 0;
}

/** Set a member's MTU through its driver (SIOCSIFMTU with a struct ifreq). */
function bridge_member_mtu(ifs: Ifnet, mtu: number): number {
  const ifr = new Uint8Array(32);
  ifr_name_set(ifr, ifs.if_xname, 0);
  new DataView(ifr.buffer).setInt32(IFR_MTU, mtu, true);
  const e = ifs.if_ioctl(ifs, SIOCSIFMTU, ifr);
  return e === ENOIOCTL ? EINVAL : e;
}

/** The bridge's MAC becomes mac (if_setlladdr announces the change). */
function bridge_setlladdr(bifp: Ifnet, mac: number): void {
  const b = new Uint8Array(6);
  ether_addr_write(b, 0, mac as ether_addr_t);
  if_setlladdr(bifp, b);
}

/** BRDGDEL */
export function bridge_deletem(bifp: Ifnet, name: string): number {
  const sc = bridge_sc(bifp);
  if (sc === null) return EINVAL;
  const bif = bridge_lookup_member(sc, name);
  if (bif === undefined) return ENOENT;
  bridge_delete_member(sc, bif);
  return 0;
}

function bridge_delete_member(sc: BridgeSoftc, bif: BridgeIf): void {
  const ifs = bif.bif_ifp;
  const i = sc.sc_iflist.indexOf(bif);
  if (i >= 0) sc.sc_iflist.splice(i, 1);
  ifs.if_bridge = null;
  ifpromisc(ifs, false);
  bridge_rtdelete(sc, ifs);
  if (sc.sc_ifaddr === ifs) {
    const next = sc.sc_iflist[0]?.bif_ifp ?? null;
    sc.sc_ifaddr = next !== null && next.if_lladdr !== null ? next : null;
    bridge_setlladdr(sc.sc_ifp, sc.sc_ifaddr !== null ? sc.sc_ifaddr.if_lladdr! : sc.sc_defaddr);
  }
}

/**
 * BRDGADDS: make `name` (an Ethernet interface of the bridge's vnet, not in a bridge)
 * a span port.  EBUSY when it already is one or is a member.
 */
export function bridge_addspan(bifp: Ifnet, name: string): number {
  const sc = bridge_sc(bifp);
  if (sc === null) return EINVAL;
  const ifs = bridge_ifunit(bifp, name);
  if (ifs === null) return ENOENT;
  if (sc.sc_spanlist.some((b) => b.bif_ifp === ifs)) return EBUSY;
  if (ifs.if_bridge !== null) return EBUSY;
  if (ifs.if_type !== IFT_ETHER && ifs.if_type !== IFT_L2VLAN) return EINVAL;
  const bif = new BridgeIf(ifs);
  bif.bif_flags = IFBIF_SPAN;
  sc.sc_spanlist.unshift(bif);
  return 0;
}

/** BRDGDELS */
export function bridge_delspan(bifp: Ifnet, name: string): number {
  const sc = bridge_sc(bifp);
  if (sc === null) return EINVAL;
  const i = sc.sc_spanlist.findIndex((b) => b.bif_ifp.if_xname === name);
  if (i < 0) return ENOENT;
  sc.sc_spanlist.splice(i, 1);
  return 0;
}

/** The member names of a bridge, in order. */
export function bridge_members(bifp: Ifnet): string[] {
  return bridge_sc(bifp)?.sc_iflist.map((b) => b.bif_ifp.if_xname) ?? [];
}

/** The routing table: address, port, seconds left (dynamic) and flags. */
export function bridge_rtable(
  bifp: Ifnet,
): { addr: ether_addr_t; ifname: string; expire: number; flags: number }[] {
  const sc = bridge_sc(bifp);
  if (sc === null) return [];
  const now = curkernel().now();
  return [...sc.sc_rt.values()].map((rt) => ({
    addr: rt.brt_addr,
    ifname: rt.brt_ifp.if_xname,
    expire:
      rt.brt_flags === IFBAF_DYNAMIC ? Math.max(0, Math.ceil((rt.brt_expire - now) / SBT_1S)) : 0,
    flags: rt.brt_flags,
  }));
}

/** BRDGSTO: the table timeout in seconds. */
export function bridge_set_timeout(bifp: Ifnet, seconds: number): number {
  const sc = bridge_sc(bifp);
  if (sc === null) return EINVAL;
  sc.sc_brttimeout = Math.max(0, Math.floor(seconds));
  callout_stop(sc.sc_callout);
  if (sc.sc_rt.size > 0) bridge_timer_arm(sc);
  return 0;
}

/** The kernel's bridges (a span port does not point at its bridge). */
function bridge_softcs(k: Kernel): Set<BridgeSoftc> {
  let set = k.netglobal['bridge'] as Set<BridgeSoftc> | undefined;
  if (set === undefined) {
    k.netglobal['bridge'] = set = new Set();
    const all = set;
    /* A member or span port that leaves its vnet or dies leaves its bridge. */
    if_event_register(k, (ifp, kind) => {
      if (kind !== 'departure') return;
      const br = ifp.if_bridge;
      if (br instanceof BridgeSoftc) {
        const bif = br.sc_iflist.find((b) => b.bif_ifp === ifp);
        if (bif) bridge_delete_member(br, bif);
      }
      for (const sc of all) {
        const i = sc.sc_spanlist.findIndex((b) => b.bif_ifp === ifp);
        if (i >= 0) sc.sc_spanlist.splice(i, 1);
      }
    });
  }
  return set;
}

/* ------------------------------------------------------------------------------ */
/* ioctl: SIOC[SG]DRVSPEC with struct ifdrv.                                         */

interface BridgeCtl {
  func: (sc: BridgeSoftc, arg: Uint8Array, td: Thread | null) => number;
  argsize: number;
  copyin: boolean;
  copyout: boolean;
}

function u32(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}
function setu32(b: Uint8Array, off: number, v: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(off, v >>> 0, true);
}
function ptr64(b: Uint8Array, off: number): number {
  return u32(b, off) + u32(b, off + 4) * 4294967296;
}

function user_out(td: Thread | null, kbuf: Uint8Array, uaddr: number): number {
  return td ? copyout(td.td_proc, kbuf, uaddr) : EFAULT;
}

const bridge_ctls: (BridgeCtl | undefined)[] = [];
bridge_ctls[BRDGADD] = {
  func: (sc, a) => bridge_addm(sc.sc_ifp, ifr_name_get(a)),
  argsize: SIZEOF_IFBREQ,
  copyin: true,
  copyout: false,
};
bridge_ctls[BRDGDEL] = {
  func: (sc, a) => bridge_deletem(sc.sc_ifp, ifr_name_get(a)),
  argsize: SIZEOF_IFBREQ,
  copyin: true,
  copyout: false,
};
bridge_ctls[BRDGADDS] = {
  func: (sc, a) => bridge_addspan(sc.sc_ifp, ifr_name_get(a)),
  argsize: SIZEOF_IFBREQ,
  copyin: true,
  copyout: false,
};
bridge_ctls[BRDGDELS] = {
  func: (sc, a) => bridge_delspan(sc.sc_ifp, ifr_name_get(a)),
  argsize: SIZEOF_IFBREQ,
  copyin: true,
  copyout: false,
};
bridge_ctls[BRDGGIFFLGS] = {
  func: (sc, a) => {
    const bif = bridge_lookup_member(sc, ifr_name_get(a));
    if (bif === undefined) return ENOENT;
    setu32(a, 16, bif.bif_flags);
    setu32(a, 36, [...sc.sc_rt.values()].filter((r) => r.brt_ifp === bif.bif_ifp).length);
    return 0;
  },
  argsize: SIZEOF_IFBREQ,
  copyin: true,
  copyout: true,
};
bridge_ctls[BRDGGIFS] = {
  func: (sc, a, td) => {
    const len = u32(a, 0);
    const ubuf = ptr64(a, 8);
    /* The members, then the span ports (bridge_ioctl_gifs). */
    const list = [...sc.sc_iflist, ...sc.sc_spanlist];
    const need = list.length * SIZEOF_IFBREQ;
    if (len === 0 || ubuf === 0) {
      setu32(a, 0, need);
      return 0;
    }
    const n = Math.min(list.length, Math.floor(len / SIZEOF_IFBREQ));
    const buf = new Uint8Array(n * SIZEOF_IFBREQ);
    for (let i = 0; i < n; i++) {
      const bif = list[i]!;
      const o = i * SIZEOF_IFBREQ;
      ifr_name_set(buf, bif.bif_ifp.if_xname, o);
      setu32(buf, o + 16, bif.bif_flags);
      buf[o + 28] = bif.bif_ifp.if_index & 0xff;
    }
    const e = n > 0 ? user_out(td, buf, ubuf) : 0;
    if (e) return e;
    setu32(a, 0, n * SIZEOF_IFBREQ);
    return 0;
  },
  argsize: SIZEOF_IFBIFCONF,
  copyin: true,
  copyout: true,
};
bridge_ctls[BRDGRTS] = {
  func: (sc, a, td) => {
    const len = u32(a, 0);
    const ubuf = ptr64(a, 8);
    const rts = [...sc.sc_rt.values()];
    if (len === 0 || ubuf === 0) {
      setu32(a, 0, rts.length * SIZEOF_IFBAREQ);
      return 0;
    }
    const n = Math.min(rts.length, Math.floor(len / SIZEOF_IFBAREQ));
    const buf = new Uint8Array(n * SIZEOF_IFBAREQ);
    const now = curkernel().now();
    for (let i = 0; i < n; i++) {
      const rt = rts[i]!;
      const o = i * SIZEOF_IFBAREQ;
      ifr_name_set(buf, rt.brt_ifp.if_xname, o);
      const exp =
        rt.brt_flags === IFBAF_DYNAMIC ? Math.max(0, Math.ceil((rt.brt_expire - now) / SBT_1S)) : 0;
      setu32(buf, o + 16, exp);
      buf[o + 24] = rt.brt_flags;
      const v = rt.brt_addr;
      for (let j = 0; j < 6; j++) buf[o + 25 + j] = Math.floor(v / 2 ** (8 * (5 - j))) & 0xff;
    }
    const e = n > 0 ? user_out(td, buf, ubuf) : 0;
    if (e) return e;
    setu32(a, 0, n * SIZEOF_IFBAREQ);
    return 0;
  },
  argsize: SIZEOF_IFBACONF,
  copyin: true,
  copyout: true,
};
bridge_ctls[BRDGSTO] = {
  func: (sc, a) => bridge_set_timeout(sc.sc_ifp, u32(a, 0)),
  argsize: SIZEOF_IFBRPARAM,
  copyin: true,
  copyout: false,
};
bridge_ctls[BRDGGTO] = {
  func: (sc, a) => {
    setu32(a, 0, sc.sc_brttimeout);
    return 0;
  },
  argsize: SIZEOF_IFBRPARAM,
  copyin: false,
  copyout: true,
};
bridge_ctls[BRDGFLUSH] = {
  func: (sc) => {
    for (const [a, rt] of sc.sc_rt) if (rt.brt_flags === IFBAF_DYNAMIC) sc.sc_rt.delete(a);
    return 0;
  },
  argsize: 4,
  copyin: true,
  copyout: false,
};

function bridge_ioctl(bifp: Ifnet, cmd: number, data: Uint8Array, tdarg?: Thread | null): number {
  const sc = bridge_sc(bifp);
  if (sc === null) return ENXIO;
  switch (cmd >>> 0) {
    case SIOCSDRVSPEC:
    case SIOCGDRVSPEC: {
      const ifd_cmd = u32(data, 16);
      const ifd_len = ptr64(data, 24);
      const ifd_data = ptr64(data, 32);
      const bc = bridge_ctls[ifd_cmd];
      if (bc === undefined) return EINVAL;
      const isget = cmd >>> 0 === SIOCGDRVSPEC;
      if (isget !== bc.copyout) return EINVAL;
      if (ifd_len !== bc.argsize) return EINVAL;
      const td = tdarg === undefined ? curthread_or_null() : tdarg;
      let arg: Uint8Array = new Uint8Array(bc.argsize);
      if (bc.copyin) {
        if (td === null) return EFAULT;
        const b = copyin(td.td_proc, ifd_data, bc.argsize);
        if (typeof b === 'number') return b;
        arg = b;
      }
      const e = bc.func(sc, arg, td);
      if (e !== 0) return e;
      if (bc.copyout) return user_out(td, arg, ifd_data);
      return 0;
    }
    case SIOCSIFFLAGS:
      if (bifp.if_flags & IFF_UP) bifp.if_drv_flags |= IFF_DRV_RUNNING;
      else bifp.if_drv_flags &= ~IFF_DRV_RUNNING;
      return 0;
    case SIOCSIFMTU: {
      const mtu = new DataView(data.buffer, data.byteOffset, data.byteLength).getInt32(
        IFR_MTU,
        true,
      );
      /* Every member follows; on a refusal the ones changed go back. */
      const done: [Ifnet, number][] = [];
      for (const b of sc.sc_iflist) {
        const ifs = b.bif_ifp;
        if (ifs.if_mtu === mtu) continue;
        const old = ifs.if_mtu;
        const e = bridge_member_mtu(ifs, mtu);
        if (e !== 0) {
          for (const [i, m] of done) bridge_member_mtu(i, m);
          return e;
        }
        done.push([ifs, old]);
      }
      bifp.if_mtu = mtu;
      return 0;
    }
  }
  const e = ether_ioctl(bifp, cmd, data);
  return e === ENOIOCTL ? ENOIOCTL : e;
}

/* ------------------------------------------------------------------------------ */
/* Cloning.                                                                          */

function bridge_mac(k: Kernel): ether_addr_t {
  const r = k.rng.next();
  return (0x589cfc * 0x1000000 + ((r & 0xffffff) | 0x800000)) as ether_addr_t;
}

function bridge_clone_create(ifc: IfClone, name: string): { error: number; name: string } {
  const u = ifc_alloc_unit(ifc, ifc_name2unit(ifc, name));
  if (Number.isNaN(u.unit) || u.error) return { error: u.error || EINVAL, name };
  const k = curkernel();
  const ifp = if_alloc(IFT_BRIDGE);
  if_initname(ifp, 'bridge', u.unit);
  const sc = new BridgeSoftc(ifp, u.unit);
  bridge_softcs(k).add(sc);
  ifp.if_softc = sc;
  ifp.if_flags = IFF_BROADCAST | IFF_MULTICAST;
  ifp.if_transmit = bridge_transmit;
  ifp.if_ioctl = bridge_ioctl;
  sc.sc_defaddr = bridge_mac(k);
  ether_ifattach(ifp, sc.sc_defaddr as ether_addr_t);
  if_link_state_change(ifp, LINK_STATE_UP);
  if_clone_addif(ifc, ifp);
  return { error: 0, name: ifp.if_xname };
}

function bridge_clone_destroy(ifc: IfClone, ifp: Ifnet): number {
  const sc = bridge_sc(ifp);
  if (sc === null) return EINVAL;
  ifp.if_flags &= ~IFF_UP;
  ifp.if_drv_flags &= ~IFF_DRV_RUNNING;
  for (const bif of [...sc.sc_iflist]) bridge_delete_member(sc, bif);
  sc.sc_spanlist.length = 0;
  bridge_softcs(curkernel()).delete(sc);
  callout_stop(sc.sc_callout);
  sc.sc_rt.clear();
  ether_ifdetach(ifp);
  ifc_free_unit(ifc, sc.sc_unit);
  if_free(ifp);
  return 0;
}

VNET_SYSINIT(K, 'vnet_bridge_init', SI_SUB_PSEUDO, SI_ORDER_ANY, () => {
  V_bridge_cloner.set(if_clone_attach('bridge', null, bridge_clone_create, bridge_clone_destroy));
});

VNET_SYSUNINIT(K, 'vnet_bridge_uninit', SI_SUB_INIT_IF, SI_ORDER_ANY, () => {
  const ifc = V_bridge_cloner.get();
  if (ifc) if_clone_detach(ifc);
  V_bridge_cloner.set(null);
});
