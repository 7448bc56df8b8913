/*
 * netinet/in_var.ts — IPv4 per-vnet state shared by the IPv4 code: interface addresses
 * (struct in_ifaddr) and the routing table (the AF_INET RIB of this vnet).
 *
 * This is the contract between the address/route/routing-socket code (netinet/in_control.ts's
 * in_control, net/rtsock.ts) and the datagram path (ARP, ip_input, ip_output, ICMP):
 *
 *   - V_in_ifaddrhead: every IPv4 address of the vnet, in the order added
 *     (FreeBSD's in_ifaddrhead), each an InIfaddr on its interface's if_addrhead too;
 *   - V_rib: the vnet's AF_INET routing table (net/route/route_var.ts Rib);
 *   - lookups: ifa_ifwithaddr (is it one of ours?), in_ifaddr_byifp (the first address
 *     of an interface, for source selection), in_broadcast (a broadcast address on this
 *     interface?), in_localip, in_ifaddr_bynet (the address whose subnet holds an IP).
 *
 * Addresses are numbers in host byte order (in_addr_t).  No locks: one thread runs.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { VNET_OBJ, VNET_SYSINIT, VNET_SYSUNINIT } from '../net/vnet.js';
import { SI_ORDER_FIRST, SI_SUB_PROTO_DOMAIN } from '../sys/kernel.js';
import { Rib } from '../net/route/route_var.js';
import { AF_INET, IFF_BROADCAST, type Ifaddr, type Ifnet } from '../net/if_var.js';
import { INADDR_ANY, INADDR_BROADCAST, type in_addr_t } from './in.js';

export const K = new ObjFile('netinet/in_var.ts', VIMAGEID('src/netinet/in_var.ts'));

/* ifa_flags */
export const IFA_ROUTE = 0x01; /* the interface route is installed */
export const IFA_RTSELF = 0x02; /* the loopback route to self is installed */

/** struct in_ifaddr: one IPv4 address of an interface. */
export class InIfaddr implements Ifaddr {
  readonly ifa_family = AF_INET;
  ifa_flags = 0;
  /** The address. */
  ia_addr: in_addr_t;
  /** The netmask (host byte order, contiguous). */
  ia_netmask: number;
  /** ia_addr & ia_netmask */
  ia_subnet: number;
  /** The broadcast address (BROADCAST interfaces), else 0. */
  ia_broadaddr: in_addr_t;
  /** The other end (POINTOPOINT interfaces), else 0. */
  ia_dstaddr: in_addr_t;
  /** CARP vhid (ifra_vhid), kept for the ABI; 0. */
  ia_vhid = 0;
  /** Datagrams and bytes received for and sent from this address (ifa_ipackets...),
   * which NET_RT_IFLISTL reports and netstat -i prints per address. */
  ifa_ipackets = 0;
  ifa_ibytes = 0;
  ifa_opackets = 0;
  ifa_obytes = 0;

  constructor(
    readonly ifa_ifp: Ifnet,
    addr: in_addr_t,
    netmask: number,
    broadaddr: in_addr_t = INADDR_ANY,
  ) {
    this.ia_addr = addr;
    this.ia_netmask = netmask >>> 0;
    this.ia_subnet = (addr & netmask) >>> 0;
    this.ia_broadaddr = broadaddr;
    this.ia_dstaddr = INADDR_ANY;
  }

  /** The address as a sockaddr_in (SIOCGIFCONF, routing messages). */
  ifa_sockaddr(): Uint8Array {
    const b = new Uint8Array(16);
    b[0] = 16;
    b[1] = AF_INET;
    new DataView(b.buffer).setUint32(4, this.ia_addr >>> 0);
    return b;
  }

  /** Prefix length of the netmask. */
  get ia_plen(): number {
    let n = 0;
    for (let m = this.ia_netmask; m & 0x80000000; m = (m << 1) >>> 0) n++;
    return n;
  }
}

/** The IPv4 addresses of the current vnet, in the order they were added. */
export const V_in_ifaddrhead = VNET_OBJ<InIfaddr[]>(K, 'in_ifaddrhead');
/** The AF_INET routing table of the current vnet. */
export const V_rib = VNET_OBJ<Rib>(K, 'rt_tables');

VNET_SYSINIT(K, 'in_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_FIRST, () => {
  V_in_ifaddrhead.set([]);
  V_rib.set(new Rib(0));
});

VNET_SYSUNINIT(K, 'in_destroy', SI_SUB_PROTO_DOMAIN, SI_ORDER_FIRST, () => {
  V_in_ifaddrhead.set(undefined as unknown as InIfaddr[]);
  V_rib.set(undefined as unknown as Rib);
});

/** The IPv4 addresses of one interface (its if_addrhead, AF_INET only). */
export function in_ifaddrs_of(ifp: Ifnet): InIfaddr[] {
  return ifp.if_addrhead.filter((a): a is InIfaddr => a instanceof InIfaddr);
}

/** ifa_ifwithaddr: the address entry when `addr` is one of this vnet's addresses. */
export function ifa_ifwithaddr(addr: in_addr_t): InIfaddr | null {
  const head = V_in_ifaddrhead.get();
  for (let i = 0; i < head.length; i++) if (head[i]!.ia_addr === addr) return head[i]!;
  return null;
}

/** The first IPv4 address of an interface (source address selection). */
export function in_ifaddr_byifp(ifp: Ifnet): InIfaddr | null {
  for (const ia of V_in_ifaddrhead.get()) if (ia.ifa_ifp === ifp) return ia;
  return null;
}

/** The address whose subnet contains `addr` (directly connected), if any. */
export function in_ifaddr_bynet(addr: in_addr_t): InIfaddr | null {
  for (const ia of V_in_ifaddrhead.get())
    if ((addr & ia.ia_netmask) >>> 0 === ia.ia_subnet) return ia;
  return null;
}

/** in_localip: is this one of the vnet's addresses? */
export function in_localip(addr: in_addr_t): boolean {
  return ifa_ifwithaddr(addr) !== null;
}

/**
 * in_broadcast(addr, ifp): the limited broadcast, INADDR_ANY (old-style broadcast) or
 * the directed broadcast (or old all-zeros host part) of one of ifp's subnets.
 */
export function in_broadcast(addr: in_addr_t, ifp: Ifnet | null): boolean {
  if (addr === INADDR_BROADCAST || addr === INADDR_ANY) return true;
  if (ifp === null || (ifp.if_flags & IFF_BROADCAST) === 0) return false;
  for (const ia of ifp.if_addrhead) {
    if (!(ia instanceof InIfaddr)) continue;
    if (ia.ia_broadaddr !== INADDR_ANY && addr === ia.ia_broadaddr) return true;
    if (
      ia.ia_netmask !== 0xffffffff &&
      (addr === ia.ia_subnet || addr === (ia.ia_subnet | ~ia.ia_netmask) >>> 0)
    )
      return true;
  }
  return false;
}
