/*
 * net/if_var.ts — the interface layer contract: struct ifnet, struct ifaddr, the
 * interface flags and counters (net/if.h, net/if_var.h, net/if_types.h).
 *
 * Everything that is an interface (lo, epair, bridge, vxlan, ...) is an Ifnet; drivers
 * fill in the methods, the link layer (net/if_ethersubr.ts) and the protocols call them:
 *
 *   protocol --if_output(ifp, m, dst, ro)--> link layer --if_transmit(ifp, m)--> driver
 *   driver --if_input(ifp, m)--> link layer --netisr / direct--> protocol
 *
 * Every method "consumes m" and returns an errno (0 = sent or queued; a dropped packet is
 * counted in the interface's counters, not thrown).  An interface belongs to one vnet at a
 * time (if_vnet); if_home_vnet is where it was created — destroying a vnet sends loaned
 * interfaces home (net/if.ts).  Per-interface counters are counter(9) (IFCOUNTERS
 * contiguous counters, summed over CPUs), as in FreeBSD since 11.
 *
 * Deliberate differences: no locks (one thread runs at a time); addresses are kept as
 * numbers (in_addr_t, ether_addr_t) inside the stack.
 */

import type { Mbuf, MbufIfnet } from '../sys/mbuf.js';
import type { Vnet } from './vnet.js';
import type { Thread } from '../sys/proc.js';
import type { counter_u64_t } from '../kern/subr_counter.js';
import { counter_u64_add } from '../kern/subr_counter.js';
import { curkernel } from '../kern/kern_cur.js';
import type { ether_addr_t } from './ethernet.js';
import type { in_addr_t } from '../netinet/in.js';

/* if_flags (net/if.h).  IFF_DRV_RUNNING/OACTIVE live in if_drv_flags. */
export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_DEBUG = 0x4;
export const IFF_LOOPBACK = 0x8;
export const IFF_POINTOPOINT = 0x10;
export const IFF_NEEDSEPOCH = 0x20;
export const IFF_DRV_RUNNING = 0x40;
export const IFF_RUNNING = IFF_DRV_RUNNING;
export const IFF_NOARP = 0x80;
export const IFF_PROMISC = 0x100;
export const IFF_ALLMULTI = 0x200;
export const IFF_DRV_OACTIVE = 0x400;
export const IFF_OACTIVE = IFF_DRV_OACTIVE;
export const IFF_SIMPLEX = 0x800;
export const IFF_LINK0 = 0x1000;
export const IFF_LINK1 = 0x2000;
export const IFF_LINK2 = 0x4000;
export const IFF_MULTICAST = 0x8000;
export const IFF_CANTCONFIG = 0x10000;
export const IFF_PPROMISC = 0x20000;
export const IFF_MONITOR = 0x40000;
export const IFF_STATICARP = 0x80000;
export const IFF_STICKYARP = 0x100000;
export const IFF_DYING = 0x200000;
export const IFF_RENAMING = 0x400000;
/** Flags the user cannot change with SIOCSIFFLAGS. */
export const IFF_CANTCHANGE =
  IFF_BROADCAST |
  IFF_POINTOPOINT |
  IFF_DRV_RUNNING |
  IFF_DRV_OACTIVE |
  IFF_SIMPLEX |
  IFF_MULTICAST |
  IFF_ALLMULTI |
  IFF_PROMISC |
  IFF_DYING |
  IFF_CANTCONFIG;

/** The names ifconfig prints, in bit order (flags=8843<UP,BROADCAST,RUNNING,...>). */
export const IFF_NAMES: readonly (readonly [number, string])[] = [
  [IFF_UP, 'UP'],
  [IFF_BROADCAST, 'BROADCAST'],
  [IFF_DEBUG, 'DEBUG'],
  [IFF_LOOPBACK, 'LOOPBACK'],
  [IFF_POINTOPOINT, 'POINTOPOINT'],
  [IFF_NEEDSEPOCH, 'NEEDSEPOCH'],
  [IFF_DRV_RUNNING, 'RUNNING'],
  [IFF_NOARP, 'NOARP'],
  [IFF_PROMISC, 'PROMISC'],
  [IFF_ALLMULTI, 'ALLMULTI'],
  [IFF_DRV_OACTIVE, 'OACTIVE'],
  [IFF_SIMPLEX, 'SIMPLEX'],
  [IFF_LINK0, 'LINK0'],
  [IFF_LINK1, 'LINK1'],
  [IFF_LINK2, 'LINK2'],
  [IFF_MULTICAST, 'MULTICAST'],
  [IFF_CANTCONFIG, 'CANTCONFIG'],
  [IFF_PPROMISC, 'PPROMISC'],
  [IFF_MONITOR, 'MONITOR'],
  [IFF_STATICARP, 'STATICARP'],
  [IFF_STICKYARP, 'STICKYARP'],
  [IFF_DYING, 'DYING'],
  [IFF_RENAMING, 'RENAMING'],
];

/* Link states. */
export const LINK_STATE_UNKNOWN = 0;
export const LINK_STATE_DOWN = 1;
export const LINK_STATE_UP = 2;

/* Interface types (net/if_types.h). */
export const IFT_OTHER = 0x1;
export const IFT_ETHER = 0x6;
export const IFT_LOOP = 0x18;
export const IFT_PROPVIRTUAL = 0x35;
export const IFT_L2VLAN = 0x87;
export const IFT_BRIDGE = 0xd1;

/* Capabilities (net/if.h) used here. */
export const IFCAP_RXCSUM = 0x00001;
export const IFCAP_TXCSUM = 0x00002;
export const IFCAP_VLAN_MTU = 0x00008;
export const IFCAP_LINKSTATE = 0x80000;
export const IFCAP_RXCSUM_IPV6 = 0x200000;
export const IFCAP_TXCSUM_IPV6 = 0x400000;
export const IFCAP_HWCSUM = IFCAP_RXCSUM | IFCAP_TXCSUM;
export const IFCAP_HWCSUM_IPV6 = IFCAP_RXCSUM_IPV6 | IFCAP_TXCSUM_IPV6;

/**
 * The names of the capability bits for printb(), as ifconfig prints `options=`
 * (net/if.h IFCAPBITS, FreeBSD 14: bit 1 is the lowest).
 */
export const IFCAPBITS: readonly string[] = [
  'RXCSUM',
  'TXCSUM',
  'NETCONS',
  'VLAN_MTU',
  'VLAN_HWTAGGING',
  'JUMBO_MTU',
  'POLLING',
  'VLAN_HWCSUM',
  'TSO4',
  'TSO6',
  'LRO',
  'WOL_UCAST',
  'WOL_MCAST',
  'WOL_MAGIC',
  'TOE4',
  'TOE6',
  'VLAN_HWFILTER',
  'NV',
  'VLAN_HWTSO',
  'LINKSTATE',
  'NETMAP',
  'RXCSUM_IPV6',
  'TXCSUM_IPV6',
  'HWSTATS',
  'TXRTLMT',
  'HWRXTSTMP',
  'MEXTPG',
  'TXTLS4',
  'TXTLS6',
  'VXLAN_HWCSUM',
  'VXLAN_HWTSO',
  'TXTLS_RTLMT',
];

/* Address families (sys/socket.h) the interface layer names. */
export const AF_UNSPEC = 0;
export const AF_LOCAL = 1;
export const AF_INET = 2;
export const AF_ROUTE = 17;
export const AF_LINK = 18;
export const pseudo_AF_HDRCMPLT = 31;
export const AF_INET6 = 28;

/* ift_counter: indexes into if_counters (net/if.h). */
export const IFCOUNTER_IPACKETS = 0;
export const IFCOUNTER_IERRORS = 1;
export const IFCOUNTER_OPACKETS = 2;
export const IFCOUNTER_OERRORS = 3;
export const IFCOUNTER_COLLISIONS = 4;
export const IFCOUNTER_IBYTES = 5;
export const IFCOUNTER_OBYTES = 6;
export const IFCOUNTER_IMCASTS = 7;
export const IFCOUNTER_OMCASTS = 8;
export const IFCOUNTER_IQDROPS = 9;
export const IFCOUNTER_OQDROPS = 10;
export const IFCOUNTER_NOPROTO = 11;
export const IFCOUNTERS = 12;

/**
 * The destination handed to if_output: an IPv4 next hop to resolve (AF_INET), or a
 * complete link-level header the caller built (AF_UNSPEC / pseudo_AF_HDRCMPLT, as ARP
 * does), in which case `hdr` holds the Ethernet destination and type.  Valid for the
 * call only: a connection's route hands the same object for each of its datagrams.
 */
export interface IfDst {
  readonly sa_family: number;
  /** AF_INET: the next hop. */
  readonly sin_addr?: in_addr_t;
  /** AF_UNSPEC: destination MAC and ethertype of a prebuilt header. */
  readonly ether_dhost?: ether_addr_t;
  readonly ether_type?: number;
}

/**
 * A link-layer entry as a route caches it (FreeBSD's struct llentry as ether_output
 * reads ro_lle): checked on every use (LLE_VALID) and written out as its prepared link
 * header (r_linkdata).
 */
export interface IfLle {
  readonly ifp: Ifnet;
  /** The protocol address it resolves (the next hop). */
  readonly addr: number;
  /** LLE_VALID: resolved, and still in its table. */
  lle_valid(): boolean;
  /** The link destination address. */
  readonly mac: ether_addr_t | null;
  /** r_linkdata: the whole link header for ifp's current address (r_hdrlen bytes). */
  r_linkdata(): Uint8Array;
  /** The entry's timer wants to know whether the datapath still uses it... */
  readonly r_skip_req: boolean;
  /** ...and a packet sent through it says so (llentry_provide_feedback). */
  llentry_provide_feedback(): void;
}

/** struct route: what a caller's cached route lookup can pass down (ro_flags, MTU...). */
export interface IfRoute {
  /** The route's MTU, 0 = the interface's. */
  readonly ro_mtu?: number;
  /** RTF_* of the route used (gateway/host/reject/blackhole). */
  readonly ro_flags?: number;
  /**
   * RT_LLE_CACHE: the route outlives the datagram (an inpcb's, which FreeBSD's
   * in_pcballoc marks so) and keeps the link-layer entry the resolver found in ro_lle.
   */
  readonly ro_lle_cache?: boolean;
  ro_lle?: IfLle | null;
}

/** struct ifaddr: one address of an interface (AF_LINK, AF_INET, ...). */
export interface Ifaddr {
  readonly ifa_family: number;
  readonly ifa_ifp: Ifnet;
  ifa_flags: number;
  /** The address as a struct sockaddr of sa_len bytes (SIOCGIFCONF copies it out). */
  ifa_sockaddr?(): Uint8Array;
}

/**
 * The hook a bridge puts on a member interface (FreeBSD's if_bridge pointer and
 * bridge_input_p): ether_input hands every frame to it first; it returns the frame for
 * the local stack, or null when the bridge consumed it.
 */
export interface IfBridgeHook {
  brh_input(ifp: Ifnet, m: Mbuf): Mbuf | null;
}

export type IfOutput = (ifp: Ifnet, m: Mbuf, dst: IfDst, ro: IfRoute | null) => number;
export type IfInput = (ifp: Ifnet, m: Mbuf) => void;
export type IfTransmit = (ifp: Ifnet, m: Mbuf) => number;
/** td: the calling thread, for drivers that copy user memory (SIOCSDRVSPEC). */
export type IfIoctl = (ifp: Ifnet, cmd: number, data: Uint8Array, td?: Thread | null) => number;

/** The per-address-family data of an interface (if_afdata[AF_INET] ...). */
export interface IfAfdata {
  readonly af: number;
}

/** struct ifnet */
export class Ifnet implements MbufIfnet {
  if_xname = '';
  if_dname = '';
  if_dunit = -1;
  if_index = 0;
  if_flags = 0;
  if_drv_flags = 0;
  if_mtu = 1500;
  if_metric = 0;
  if_baudrate = 0;
  if_link_state = LINK_STATE_UNKNOWN;
  if_capabilities = 0;
  if_capenable = 0;
  if_hwassist = 0;
  if_hdrlen = 0;
  if_addrlen = 0;
  /** Link-level address (Ethernet MAC), or null. */
  if_lladdr: ether_addr_t | null = null;
  /** Addresses: the AF_LINK one first, then protocol addresses in the order added. */
  readonly if_addrhead: Ifaddr[] = [];
  /** counter(9) handles: IFCOUNTERS contiguous counters (allocated by if_alloc). */
  if_counters: counter_u64_t = 0;
  /** The vnet the interface is in now, and the one it was created in. */
  if_vnet: Vnet | null = null;
  if_home_vnet: Vnet | null = null;
  if_softc: unknown = null;
  /** BPF attachment (net/bpf.ts), or null. */
  if_bpf: unknown = null;
  /** The cloner that made it, if any (net/if_clone.ts). */
  if_clone: unknown = null;
  if_descr = '';
  /** Promiscuous mode reference count. */
  if_pcount = 0;
  /** Uptime (ns) of the last change (ifi_lastchange). */
  if_lastchange = 0;
  /** Per-address-family data, indexed by AF_*. */
  readonly if_afdata: (IfAfdata | undefined)[] = [];

  if_output: IfOutput = notsupp_output;
  if_input: IfInput = drop_input;
  if_transmit: IfTransmit = notsupp_output2;
  if_ioctl: IfIoctl = () => 25; /* ENOTTY */
  /** The bridge this interface is a member of (net/if_bridge.ts), or null. */
  if_bridge: IfBridgeHook | null = null;
  /** Called when the interface moves to another vnet (driver hook), optional. */
  if_reassign: ((ifp: Ifnet, newvnet: Vnet) => void) | null = null;

  constructor(readonly if_type: number) {}

  /** The flags ifconfig reports: if_flags with the driver's RUNNING/OACTIVE merged. */
  get flags_user(): number {
    return (this.if_flags & 0xffffffff & ~(IFF_DRV_RUNNING | IFF_DRV_OACTIVE)) | this.if_drv_flags;
  }
}

function notsupp_output(_ifp: Ifnet, m: Mbuf): number {
  void m;
  return 45; /* EOPNOTSUPP */
}
function notsupp_output2(_ifp: Ifnet, m: Mbuf): number {
  void m;
  return 45;
}
function drop_input(_ifp: Ifnet, _m: Mbuf): void {}

/** if_inc_counter(ifp, cnt, inc): on the current CPU. */
export function if_inc_counter(ifp: Ifnet, cnt: number, inc: number): void {
  counter_u64_add(ifp.if_counters + cnt * 8, inc);
}

/** if_get_counter: summed over CPUs. */
export function if_get_counter(ifp: Ifnet, cnt: number): number {
  return curkernel().zpcpu.fetch(ifp.if_counters + cnt * 8);
}

/** The "flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST>" text of ifconfig. */
export function if_flags_string(flags: number): string {
  const names = IFF_NAMES.filter(([b]) => flags & b).map(([, n]) => n);
  return `flags=${(flags >>> 0).toString(16)}<${names.join(',')}>`;
}
