/*
 * netinet/in_pcb.ts — Internet protocol control blocks (FreeBSD sys/netinet/in_pcb.c,
 * in_pcb.h): the per-socket state UDP and TCP share, the per-vnet tables that find a
 * socket for an arriving datagram, and the rules for binding and connecting.
 *
 * A protocol keeps one InpcbInfo per vnet (V_udbinfo, V_tcbinfo).  A pcb is in at most
 * one of two hash tables, as in FreeBSD 14:
 *   - ipi_hash_exact, keyed by a hash of (faddr, fport, lport), holds connected pcbs;
 *   - ipi_hash_wild, keyed by lport, holds bound but unconnected ones.
 * ipi_porthash (by lport) holds every bound pcb: bind(2)'s conflict checks and the
 * ephemeral port search look there.  in_pcblookup(faddr, fport, laddr, lport, wild)
 * tries the exact table first and then the wildcard one, where a pcb bound to laddr
 * beats one bound to INADDR_ANY.
 *
 * in_pcbbind follows in_pcbbind_setup: EINVAL when already bound, EADDRNOTAVAIL for an
 * address that is not ours (unless IP_BINDANY), EACCES for a reserved port without
 * privilege, EADDRINUSE when another pcb holds the port unless both sockets set
 * SO_REUSEPORT (or SO_REUSEPORT_LB); SO_REUSEADDR narrows the conflict check to pcbs
 * bound to exactly the same address, and on a multicast address it means
 * SO_REUSEPORT.  Port 0 picks an ephemeral port: a random start in
 * [net.inet.ip.portrange.first, last] from the kernel's seeded RNG (when
 * net.inet.ip.portrange.randomized is set), then the next free one, EADDRNOTAVAIL when
 * the range is exhausted.  IP_PORTRANGE selects the high or low range.
 *
 * in_pcbconnect: EADDRNOTAVAIL for port 0, INADDR_ANY means our first address and
 * INADDR_BROADCAST our first broadcast address (as FreeBSD does), the source address
 * comes from the route (in_pcbladdr: ENETUNREACH without one), EADDRINUSE when the
 * same 4-tuple exists, and an unbound socket gets an ephemeral port.
 *
 * SO_REUSEPORT_LB: pcbs bound to the same (laddr, lport) with the option form a
 * load-balancing group (struct inpcblbgroup, at most INPCBLBGROUP_SIZMAX members, then
 * ENOBUFS); UDP pcbs join when they bind, TCP ones when they listen; an arriving
 * datagram or SYN that matches no connected pcb goes to the member chosen by a hash of
 * (faddr, lport, fport), so one flow always reaches the same socket.  A group bound to
 * laddr beats one bound to INADDR_ANY, and groups beat plain wildcard pcbs.
 *
 * Deliberate differences: no locks, no SMR, no NUMA domains for load-balancing groups,
 * no IPv6, no credential (uid) checks between sockets: every process of a jail is the
 * same user.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import {
  bytes,
  decodeStruct,
  i32,
  readScalar,
  struct,
  u8,
  u32,
  u64,
  writeScalar,
} from '../sys/types.js';
import { VNET_DEFINE_INT, type VnetI32 } from '../net/vnet.js';
import { CTLFLAG_RW, CTLFLAG_VNET, SYSCTL_INT, SYSCTL_NODE } from '../sys/sysctl.js';
import type { Socket } from '../sys/socketvar.js';
import type { Ucred } from '../sys/proc.js';
import {
  EACCES,
  EADDRINUSE,
  EADDRNOTAVAIL,
  EAFNOSUPPORT,
  EINVAL,
  ENETUNREACH,
  ENOBUFS,
} from '../sys/errno.js';
import { SO_DONTROUTE, SO_REUSEADDR, SO_REUSEPORT, SO_REUSEPORT_LB } from '../sys/socket.js';
import { arc4random_uniform } from '../kern/subr_random.js';
import {
  AF_INET,
  INADDR_ANY,
  INADDR_BROADCAST,
  IN_MULTICAST,
  IPPROTO_TCP,
  SOCKADDR_IN_SIZE,
  in_addr_read,
  sockaddr_in,
  sockaddr_in_decode,
  sockaddr_in_bytes,
  type in_addr_t,
} from './in.js';
import {
  V_in_ifaddrhead,
  V_rib,
  ifa_ifwithaddr,
  in_ifaddr_bynet,
  in_ifaddrs_of,
} from './in_var.js';
import { V_ip_defttl } from './ip_var.js';
import type { IpPcbOpts } from './ip_ctloutput.js';
import { IFF_BROADCAST, IFF_LOOPBACK } from '../net/if_var.js';
import { ifnet_byindex } from '../net/if.js';
import { TS_INPCB, typestable } from '../sys/typestable.js';

export const K = new ObjFile('netinet/in_pcb.ts', VIMAGEID('src/netinet/in_pcb.ts'));

/* inp_flags (netinet/in_pcb.h) */
export const INP_RECVOPTS = 0x00000001;
export const INP_RECVRETOPTS = 0x00000002;
export const INP_RECVDSTADDR = 0x00000004;
export const INP_HDRINCL = 0x00000008;
export const INP_HIGHPORT = 0x00000010;
export const INP_LOWPORT = 0x00000020;
export const INP_ANONPORT = 0x00000040;
export const INP_RECVIF = 0x00000080;
export const INP_MTUDISC = 0x00000100;
export const INP_RECVTTL = 0x00000400;
export const INP_DONTFRAG = 0x00000800;
export const INP_BINDANY = 0x00001000;
export const INP_INHASHLIST = 0x00002000;
export const INP_RECVTOS = 0x00004000;
/** In a load-balancing group (FreeBSD keeps it in inp_flags2). */
export const INP_INLBGROUP = 0x01000000;
export const INP_ONESBCAST = 0x02000000;
export const INP_DROPPED = 0x04000000;
export const INP_SOCKREF = 0x08000000;
/** Not FreeBSD's: the local address was chosen by connect, not by bind. */
export const INP_IMPLICITLADDR = 0x40000000;

/** The most members a load-balancing group takes. */
export const INPCBLBGROUP_SIZMAX = 256;

/* in_pcblookup flags */
export const INPLOOKUP_WILDCARD = 0x1;

/* ------------------------------------------------------------------------------ */
/* Port ranges (net.inet.ip.portrange.*), per vnet as in FreeBSD.                   */

SYSCTL_NODE(K, 'net.inet.ip.portrange', CTLFLAG_RW, 'IP Ports');

function portrange_int(name: string, sym: string, init: number, descr: string): VnetI32 {
  const v = VNET_DEFINE_INT(K, sym, init);
  SYSCTL_INT(K, `net.inet.ip.portrange.${name}`, CTLFLAG_VNET | CTLFLAG_RW, v, descr);
  return v;
}

export const V_ipport_lowfirstauto = portrange_int('lowfirst', 'ipport_lowfirstauto', 1023, '');
export const V_ipport_lowlastauto = portrange_int('lowlast', 'ipport_lowlastauto', 600, '');
export const V_ipport_firstauto = portrange_int('first', 'ipport_firstauto', 10000, '');
export const V_ipport_lastauto = portrange_int('last', 'ipport_lastauto', 65535, '');
export const V_ipport_hifirstauto = portrange_int('hifirst', 'ipport_hifirstauto', 49152, '');
export const V_ipport_hilastauto = portrange_int('hilast', 'ipport_hilastauto', 65535, '');
export const V_ipport_reservedhigh = portrange_int('reservedhigh', 'ipport_reservedhigh', 1023, '');
export const V_ipport_reservedlow = portrange_int('reservedlow', 'ipport_reservedlow', 0, '');
export const V_ipport_randomized = portrange_int(
  'randomized',
  'ipport_randomized',
  1,
  'Enable random port allocation',
);

/* ------------------------------------------------------------------------------ */
/* The control block and the tables.                                               */

/** struct inpcb.  Addresses and ports in host byte order. */
export class Inpcb {
  inp_laddr: in_addr_t = INADDR_ANY;
  inp_lport = 0;
  inp_faddr: in_addr_t = INADDR_ANY;
  inp_fport = 0;
  inp_flags = 0;
  inp_ip_ttl: number;
  inp_ip_tos = 0;
  inp_ip_minttl = 0;
  /** IP_OPTIONS: inserted into every datagram the pcb sends (UDP). */
  inp_options: IpPcbOpts | null = null;
  /** The protocol's own block (struct tcpcb), or null. */
  inp_ppcb: unknown = null;
  /** Generation number: when the pcb was made (netstat sorts by it). */
  readonly inp_gencnt: number;
  /** 0: in no table, 1: the wildcard table, 2: the exact table. */
  inp_hashed = 0;

  constructor(
    public inp_socket: Socket | null,
    readonly inp_pcbinfo: InpcbInfo,
    readonly inp_cred: Ucred,
    readonly inp_ip_p: number,
  ) {
    this.inp_ip_ttl = V_ip_defttl.get();
    this.inp_gencnt = ++inp_pcbinfo.ipi_gencnt;
    typestable(TS_INPCB, this);
  }
}

/** struct inpcbinfo: one protocol's pcbs in one vnet. */
export class InpcbInfo {
  ipi_count = 0;
  ipi_gencnt = 0;
  /** Every pcb, in creation order (ipi_listhead). */
  readonly ipi_listhead = new Set<Inpcb>();
  readonly ipi_hash_exact = new Map<number, Inpcb[]>();
  readonly ipi_hash_wild = new Map<number, Inpcb[]>();
  readonly ipi_porthash = new Map<number, Inpcb[]>();
  /** SO_REUSEPORT_LB groups by lport (ipi_lbgrouphashbase). */
  readonly ipi_lbgrouphash = new Map<number, InpcbLbGroup[]>();

  constructor(
    readonly ipi_name: string,
    readonly ipi_proto: number,
  ) {}
}

/** struct inpcblbgroup: the SO_REUSEPORT_LB pcbs bound to one (laddr, lport). */
export interface InpcbLbGroup {
  readonly il_laddr: in_addr_t;
  readonly il_lport: number;
  readonly il_inp: Inpcb[];
}

/** INP_PCBLBGROUP_PKTHASH: which member of a group takes a flow. */
function INP_PCBLBGROUP_PKTHASH(faddr: number, lport: number, fport: number): number {
  return (faddr ^ (faddr >>> 16) ^ lport ^ fport) >>> 0;
}

function INP_PCBHASH(faddr: number, lport: number, fport: number): number {
  return ((faddr ^ (faddr >>> 16) ^ (lport << 7) ^ fport) & 0xffff) >>> 0;
}

function list_add(m: Map<number, Inpcb[]>, key: number, inp: Inpcb): void {
  const l = m.get(key);
  if (l === undefined) m.set(key, [inp]);
  else l.push(inp);
}

function list_del(m: Map<number, Inpcb[]>, key: number, inp: Inpcb): void {
  const l = m.get(key);
  if (l === undefined) return;
  const i = l.indexOf(inp);
  if (i >= 0) l.splice(i, 1);
  if (l.length === 0) m.delete(key);
}

/** in_pcballoc(so, pcbinfo): a new pcb for so (so.so_pcb). */
export function in_pcballoc(so: Socket, pcbinfo: InpcbInfo, proto: number): Inpcb {
  const inp = new Inpcb(so, pcbinfo, so.so_cred, proto);
  pcbinfo.ipi_listhead.add(inp);
  pcbinfo.ipi_count++;
  so.so_pcb = inp;
  return inp;
}

/** in_pcbremhash */
function in_pcbremhash(inp: Inpcb): void {
  const pi = inp.inp_pcbinfo;
  if (inp.inp_hashed === 2)
    list_del(pi.ipi_hash_exact, INP_PCBHASH(inp.inp_faddr, inp.inp_lport, inp.inp_fport), inp);
  else if (inp.inp_hashed === 1) list_del(pi.ipi_hash_wild, inp.inp_lport, inp);
  if (inp.inp_flags & INP_INHASHLIST) list_del(pi.ipi_porthash, inp.inp_lport, inp);
  if (inp.inp_flags & INP_INLBGROUP) in_pcbremlbgrouphash(inp);
  inp.inp_hashed = 0;
  inp.inp_flags &= ~INP_INHASHLIST;
}

/**
 * in_pcbinshash / in_pcbrehash: put the pcb in the table its addresses call for; an
 * unconnected SO_REUSEPORT_LB pcb of a datagram protocol also joins its group (TCP
 * pcbs join in in_pcblisten).  ENOBUFS when the group is full.
 */
export function in_pcbrehash(inp: Inpcb): number {
  in_pcbremhash(inp);
  const pi = inp.inp_pcbinfo;
  if (inp.inp_faddr !== INADDR_ANY) {
    list_add(pi.ipi_hash_exact, INP_PCBHASH(inp.inp_faddr, inp.inp_lport, inp.inp_fport), inp);
    inp.inp_hashed = 2;
  } else {
    list_add(pi.ipi_hash_wild, inp.inp_lport, inp);
    inp.inp_hashed = 1;
  }
  list_add(pi.ipi_porthash, inp.inp_lport, inp);
  inp.inp_flags |= INP_INHASHLIST;
  /* A full group leaves the pcb in the tables but outside the group; the caller
   * decides (bind undoes itself, disconnect keeps the pcb reachable). */
  if (inp.inp_faddr === INADDR_ANY && pi.ipi_proto !== IPPROTO_TCP)
    return in_pcbinslbgrouphash(inp);
  return 0;
}

/** in_pcblisten: a listening pcb with SO_REUSEPORT_LB joins its group. */
export function in_pcblisten(inp: Inpcb): number {
  return in_pcbinslbgrouphash(inp);
}

/** in_pcbinslbgrouphash: join the group of (laddr, lport) if SO_REUSEPORT_LB is set. */
function in_pcbinslbgrouphash(inp: Inpcb): number {
  if (inp.inp_flags & INP_INLBGROUP || !(so_options(inp) & SO_REUSEPORT_LB)) return 0;
  const pi = inp.inp_pcbinfo;
  let groups = pi.ipi_lbgrouphash.get(inp.inp_lport);
  if (groups === undefined) pi.ipi_lbgrouphash.set(inp.inp_lport, (groups = []));
  let g = groups.find((x) => x.il_laddr === inp.inp_laddr);
  if (g === undefined) {
    g = { il_laddr: inp.inp_laddr, il_lport: inp.inp_lport, il_inp: [] };
    groups.push(g);
  }
  if (g.il_inp.length >= INPCBLBGROUP_SIZMAX) return ENOBUFS;
  g.il_inp.push(inp);
  inp.inp_flags |= INP_INLBGROUP;
  return 0;
}

/** in_pcbremlbgrouphash: leave the group; an empty group goes. */
function in_pcbremlbgrouphash(inp: Inpcb): void {
  const pi = inp.inp_pcbinfo;
  const groups = pi.ipi_lbgrouphash.get(inp.inp_lport);
  inp.inp_flags &= ~INP_INLBGROUP;
  if (groups === undefined) return;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    const j = g.il_inp.indexOf(inp);
    if (j < 0) continue;
    g.il_inp.splice(j, 1);
    if (g.il_inp.length === 0) groups.splice(i, 1);
    break;
  }
  if (groups.length === 0) pi.ipi_lbgrouphash.delete(inp.inp_lport);
}

/** in_pcblookup_lbgroup: the member of the best group for this flow, if any. */
function in_pcblookup_lbgroup(
  pi: InpcbInfo,
  faddr: number,
  fport: number,
  laddr: number,
  lport: number,
): Inpcb | null {
  const groups = pi.ipi_lbgrouphash.get(lport);
  if (groups === undefined) return null;
  let g: InpcbLbGroup | undefined = groups.find((x) => x.il_laddr === laddr);
  if (g === undefined) g = groups.find((x) => x.il_laddr === INADDR_ANY);
  if (g === undefined) return null;
  return g.il_inp[INP_PCBLBGROUP_PKTHASH(faddr, lport, fport) % g.il_inp.length] ?? null;
}

/** in_pcbfree: the pcb leaves every table; the socket no longer points at it. */
export function in_pcbfree(inp: Inpcb): void {
  in_pcbremhash(inp);
  const pi = inp.inp_pcbinfo;
  if (pi.ipi_listhead.delete(inp)) pi.ipi_count--;
  inp.inp_flags |= INP_DROPPED;
  if (inp.inp_socket !== null) inp.inp_socket.so_pcb = null;
  inp.inp_socket = null;
}

/**
 * in_pcbdrop: the pcb leaves the lookup tables (a closed TCP connection whose socket
 * is still open); it stays on the list until in_pcbfree.
 */
export function in_pcbdrop(inp: Inpcb): void {
  in_pcbremhash(inp);
  inp.inp_flags |= INP_DROPPED;
}

/**
 * in_pcbdetach: the socket is gone but the pcb lives on (TCP's TIME_WAIT and closing
 * states); it stays in the tables until the protocol frees it.
 */
export function in_pcbdetach(inp: Inpcb): void {
  if (inp.inp_socket !== null) inp.inp_socket.so_pcb = null;
  inp.inp_socket = null;
}

function so_options(inp: Inpcb): number {
  return inp.inp_socket?.so_options ?? 0;
}

/**
 * in_pcblookup_local(laddr, lport, lookupflags): a pcb bound to the local address and
 * port.  Without INPLOOKUP_WILDCARD only an unconnected pcb bound to exactly laddr
 * matches; with it the pcb needing the fewest wildcards wins.
 */
export function in_pcblookup_local(
  pi: InpcbInfo,
  laddr: number,
  lport: number,
  lookupflags: number,
): Inpcb | null {
  const l = pi.ipi_porthash.get(lport);
  if (l === undefined) return null;
  if (!(lookupflags & INPLOOKUP_WILDCARD)) {
    for (const inp of l)
      if (inp.inp_faddr === INADDR_ANY && inp.inp_laddr === laddr && inp.inp_lport === lport)
        return inp;
    return null;
  }
  let match: Inpcb | null = null;
  let matchwild = 3;
  for (const inp of l) {
    let wildcard = 0;
    if (inp.inp_faddr !== INADDR_ANY) wildcard++;
    if (inp.inp_laddr !== INADDR_ANY) {
      if (laddr === INADDR_ANY) wildcard++;
      else if (inp.inp_laddr !== laddr) continue;
    } else if (laddr !== INADDR_ANY) wildcard++;
    if (wildcard < matchwild) {
      match = inp;
      matchwild = wildcard;
      if (matchwild === 0) break;
    }
  }
  return match;
}

/**
 * in_pcblookup(faddr, fport, laddr, lport, lookupflags): the pcb for an arriving
 * datagram from faddr:fport to laddr:lport.  Exact (connected) matches first; then,
 * with INPLOOKUP_WILDCARD, an unconnected pcb bound to laddr, else one bound to
 * INADDR_ANY.
 */
export function in_pcblookup(
  pi: InpcbInfo,
  faddr: number,
  fport: number,
  laddr: number,
  lport: number,
  lookupflags: number,
): Inpcb | null {
  const e = pi.ipi_hash_exact.get(INP_PCBHASH(faddr, lport, fport));
  if (e !== undefined)
    for (const inp of e)
      if (
        inp.inp_faddr === faddr &&
        inp.inp_fport === fport &&
        inp.inp_lport === lport &&
        inp.inp_laddr === laddr
      )
        return inp;
  if (!(lookupflags & INPLOOKUP_WILDCARD)) return null;
  if (pi.ipi_lbgrouphash.size !== 0) {
    const lb = in_pcblookup_lbgroup(pi, faddr, fport, laddr, lport);
    if (lb !== null) return lb;
  }
  const w = pi.ipi_hash_wild.get(lport);
  if (w === undefined) return null;
  let wild: Inpcb | null = null;
  for (const inp of w) {
    if (inp.inp_lport !== lport) continue;
    if (inp.inp_laddr === laddr) return inp;
    if (inp.inp_laddr === INADDR_ANY && wild === null) wild = inp;
  }
  return wild;
}

/* ------------------------------------------------------------------------------ */
/* bind                                                                             */

/** Privilege for reserved ports and IP_BINDANY: root (jails included). */
function priv_root(cred: Ucred): boolean {
  return cred.cr_uid === 0;
}

/**
 * in_pcb_lport_dest: an ephemeral port for (laddr, and, when connecting, faddr:fport)
 * from the range the pcb's IP_PORTRANGE selects.  EADDRNOTAVAIL when none is free.
 */
export function in_pcb_lport_dest(
  inp: Inpcb,
  laddr: number,
  faddr: number,
  fport: number,
  lookupflags: number,
): { port: number } | number {
  const pi = inp.inp_pcbinfo;
  let first: number;
  let last: number;
  if (inp.inp_flags & INP_HIGHPORT) {
    first = V_ipport_hifirstauto.get();
    last = V_ipport_hilastauto.get();
  } else if (inp.inp_flags & INP_LOWPORT) {
    if (!priv_root(inp.inp_cred)) return EACCES;
    first = V_ipport_lowfirstauto.get();
    last = V_ipport_lowlastauto.get();
  } else {
    first = V_ipport_firstauto.get();
    last = V_ipport_lastauto.get();
  }
  if (first > last) [first, last] = [last, first];
  first = Math.max(1, Math.min(65535, first));
  last = Math.max(1, Math.min(65535, last));
  const count = last - first + 1;
  let port = first;
  if (V_ipport_randomized.get() !== 0) port = first + arc4random_uniform(count);
  for (let tries = 0; tries < count; tries++) {
    const inuse =
      faddr !== INADDR_ANY
        ? in_pcblookup(pi, faddr, fport, laddr, port, 0) !== null
        : in_pcblookup_local(pi, laddr, port, lookupflags) !== null;
    if (!inuse) return { port };
    port = port === last ? first : port + 1;
  }
  return EADDRNOTAVAIL;
}

/**
 * in_pcbbind_setup: the local address and port a bind to `sin` (null: any address,
 * an ephemeral port) would give; an errno when it may not.
 */
export function in_pcbbind_setup(
  inp: Inpcb,
  sin: sockaddr_in | null,
  cred: Ucred,
): { laddr: in_addr_t; lport: number } | number {
  const pi = inp.inp_pcbinfo;
  const opts = so_options(inp);
  let laddr: in_addr_t = inp.inp_laddr;
  let lport = inp.inp_lport;
  let reuseport = opts & SO_REUSEPORT;
  const reuseport_lb = opts & SO_REUSEPORT_LB;
  const lookupflags =
    opts & (SO_REUSEADDR | SO_REUSEPORT | SO_REUSEPORT_LB) ? 0 : INPLOOKUP_WILDCARD;
  if (sin !== null) {
    if (sin.sin_port !== lport) {
      if (lport !== 0) return EINVAL;
      lport = sin.sin_port;
    }
    if (IN_MULTICAST(sin.sin_addr)) {
      /* Multicast: SO_REUSEADDR means SO_REUSEPORT (several listeners of a group). */
      if (opts & SO_REUSEADDR) reuseport = SO_REUSEADDR | SO_REUSEPORT;
    } else if (sin.sin_addr !== INADDR_ANY) {
      if (!(inp.inp_flags & INP_BINDANY) && ifa_ifwithaddr(sin.sin_addr) === null)
        return EADDRNOTAVAIL;
    }
    laddr = sin.sin_addr;
    if (lport !== 0) {
      if (
        lport <= V_ipport_reservedhigh.get() &&
        lport >= V_ipport_reservedlow.get() &&
        !priv_root(cred)
      )
        return EACCES;
      const t = in_pcblookup_local(pi, laddr, lport, lookupflags);
      if (
        t !== null &&
        t !== inp &&
        (reuseport & so_options(t)) === 0 &&
        (reuseport_lb & so_options(t)) === 0
      )
        return EADDRINUSE;
    }
  }
  if (lport === 0) {
    const r = in_pcb_lport_dest(inp, laddr, INADDR_ANY, 0, lookupflags);
    if (typeof r === 'number') return r;
    lport = r.port;
  }
  return { laddr, lport };
}

/**
 * in_pcbbind(inp, nam, cred): bind to the sockaddr bytes nam (null: an ephemeral
 * port on any address).  Checks the sockaddr as udp_bind/tcp_usr_bind do.
 */
export function in_pcbbind(inp: Inpcb, nam: Uint8Array | null, cred: Ucred): number {
  if (inp.inp_lport !== 0 || inp.inp_laddr !== INADDR_ANY) return EINVAL;
  let sin: sockaddr_in | null = null;
  if (nam !== null) {
    const s = in_sockaddr_check(nam, true);
    if (typeof s === 'number') return s;
    sin = s;
  }
  const r = in_pcbbind_setup(inp, sin, cred);
  if (typeof r === 'number') return r;
  inp.inp_laddr = r.laddr;
  inp.inp_lport = r.lport;
  if (sin === null || sin.sin_port === 0) inp.inp_flags |= INP_ANONPORT;
  const e = in_pcbrehash(inp);
  if (e !== 0) {
    in_pcbremhash(inp);
    inp.inp_laddr = INADDR_ANY;
    inp.inp_lport = 0;
    inp.inp_flags &= ~INP_ANONPORT;
  }
  return e;
}

/**
 * The sockaddr_in a user gave bind/connect/sendto (sa_len is the length copied in):
 * EAFNOSUPPORT for another family, EINVAL for a length other than 16.  bind
 * (`compat`) also takes FreeBSD's old AF_UNSPEC form with INADDR_ANY.
 */
export function in_sockaddr_check(nam: Uint8Array, compat = false): sockaddr_in | number {
  const fam = nam.length >= 2 ? nam[1]! : -1;
  if (fam !== AF_INET) {
    if (!compat || fam !== 0 || nam.length < 8 || in_addr_read(nam, 4) !== INADDR_ANY)
      return EAFNOSUPPORT;
  }
  const sin = nam.length === SOCKADDR_IN_SIZE ? sockaddr_in_decode(nam) : null;
  return sin ?? EINVAL;
}

/* ------------------------------------------------------------------------------ */
/* connect                                                                          */

/**
 * in_pcbladdr(inp, faddr): the source address for datagrams to faddr — that of the
 * route's interface address (the destination itself when it is one of ours over a
 * loopback route); with SO_DONTROUTE an address on faddr's subnet.  ENETUNREACH
 * without a route, EADDRNOTAVAIL when the interface has no address.
 */
export function in_pcbladdr(inp: Inpcb, faddr: in_addr_t): { addr: in_addr_t } | number {
  if (so_options(inp) & SO_DONTROUTE) {
    const ia = in_ifaddr_bynet(faddr);
    return ia === null ? ENETUNREACH : { addr: ia.ia_addr };
  }
  const rt = V_rib.get().lookup(faddr);
  if (rt === null || rt.rt_ifp === null) {
    const ia = in_ifaddr_bynet(faddr);
    return ia === null ? ENETUNREACH : { addr: ia.ia_addr };
  }
  const ifp = ifnet_byindex(rt.rt_ifp.if_index);
  if (ifp === null) return ENETUNREACH;
  if (ifp.if_flags & IFF_LOOPBACK) {
    const ia = ifa_ifwithaddr(faddr);
    if (ia !== null) return { addr: ia.ia_addr };
  }
  if (rt.rt_ifa !== null) return { addr: rt.rt_ifa as in_addr_t };
  const ia = in_ifaddrs_of(ifp)[0];
  return ia === undefined ? EADDRNOTAVAIL : { addr: ia.ia_addr };
}

/** The destination connect/sendto means: INADDR_ANY and INADDR_BROADCAST are mapped. */
export function in_pcb_faddr(faddr: in_addr_t): in_addr_t {
  const head = V_in_ifaddrhead.get();
  if (head.length === 0) return faddr;
  if (faddr === INADDR_ANY) return head[0]!.ia_addr;
  if (faddr === INADDR_BROADCAST) {
    const ia = head[0]!;
    if (ia.ifa_ifp.if_flags & IFF_BROADCAST && ia.ia_broadaddr !== INADDR_ANY)
      return ia.ia_broadaddr;
  }
  return faddr;
}

/**
 * in_pcbconnect_setup: the (laddr, lport, faddr, fport) connecting to sin would
 * give, or an errno.
 */
export function in_pcbconnect_setup(
  inp: Inpcb,
  sin: sockaddr_in,
): { laddr: in_addr_t; lport: number; faddr: in_addr_t; fport: number } | number {
  if (sin.sin_port === 0) return EADDRNOTAVAIL;
  const faddr = in_pcb_faddr(sin.sin_addr);
  const fport = sin.sin_port;
  let laddr = inp.inp_laddr;
  let lport = inp.inp_lport;
  if (laddr === INADDR_ANY) {
    const l = in_pcbladdr(inp, faddr);
    if (typeof l === 'number') return l;
    laddr = l.addr;
  }
  if (lport !== 0) {
    const o = in_pcblookup(inp.inp_pcbinfo, faddr, fport, laddr, lport, 0);
    if (o !== null && o !== inp) return EADDRINUSE;
  } else {
    const r = in_pcb_lport_dest(inp, laddr, faddr, fport, INPLOOKUP_WILDCARD);
    if (typeof r === 'number') return r;
    lport = r.port;
  }
  return { laddr, lport, faddr, fport };
}

/** in_pcbconnect(inp, sin): set the foreign address (and the local one if unset). */
export function in_pcbconnect(inp: Inpcb, sin: sockaddr_in): number {
  const r = in_pcbconnect_setup(inp, sin);
  if (typeof r === 'number') return r;
  if (inp.inp_laddr === INADDR_ANY) inp.inp_flags |= INP_IMPLICITLADDR;
  if (inp.inp_lport === 0) inp.inp_flags |= INP_ANONPORT;
  inp.inp_laddr = r.laddr;
  inp.inp_lport = r.lport;
  inp.inp_faddr = r.faddr;
  inp.inp_fport = r.fport;
  in_pcbrehash(inp);
  return 0;
}

/** in_pcbdisconnect: forget the foreign address (and a local one connect chose). */
export function in_pcbdisconnect(inp: Inpcb): void {
  inp.inp_faddr = INADDR_ANY;
  inp.inp_fport = 0;
  if (inp.inp_flags & INP_IMPLICITLADDR) inp.inp_laddr = INADDR_ANY;
  inp.inp_flags &= ~INP_IMPLICITLADDR;
  /* Back into its load-balancing group, if there is room; without room it stays
   * reachable through the wildcard table, outside the group. */
  void in_pcbrehash(inp);
}

/* ------------------------------------------------------------------------------ */
/* Addresses for getsockname/getpeername and recvfrom.                             */

export const in_sockaddr = sockaddr_in_bytes;

/** in_getsockaddr */
export function in_getsockaddr(inp: Inpcb | null): Uint8Array {
  return in_sockaddr(inp?.inp_laddr ?? 0, inp?.inp_lport ?? 0);
}

/** in_getpeeraddr */
export function in_getpeeraddr(inp: Inpcb | null): Uint8Array {
  return in_sockaddr(inp?.inp_faddr ?? 0, inp?.inp_fport ?? 0);
}

/**
 * in_pcbnotifyall(pi, faddr, errno, notify): every pcb connected to faddr is told
 * (ICMP host and net unreachable reach all of them).
 */
export function in_pcbnotifyall(
  pi: InpcbInfo,
  faddr: number,
  errno: number,
  notify: (inp: Inpcb, errno: number) => void,
): void {
  for (const inp of [...pi.ipi_listhead])
    if (inp.inp_faddr === faddr && inp.inp_socket !== null) notify(inp, errno);
}

/* ------------------------------------------------------------------------------ */
/* PCB lists for netstat and sockstat (net.inet.udp.pcblist, net.inet.tcp.pcblist). */

/**
 * struct xinpgen: the header and trailer of a pcblist.  xig_gen is the pcbinfo's
 * generation count; a reader that finds different counts in the two retries.
 */
export const xinpgen = struct('xinpgen', [
  ['xig_len', u64],
  ['xig_count', u32],
  ['_xig_spare32', i32],
  ['xig_gen', u64],
]);

/**
 * struct xinpcb, vimage's layout: FreeBSD's carries a whole struct xsocket and inpcb;
 * this one the fields netstat -a and sockstat print.  xso_so is the socket's
 * so_gencnt (the same number as kern.file's xf_data), addresses and ports are in
 * network byte order as in the kernel structure, t_state is the TCP state or -1.
 */
export const xinpcb = struct('xinpcb', [
  ['xi_len', u64],
  ['xso_so', u64],
  ['inp_gencnt', u64],
  ['xso_protocol', i32],
  ['xso_family', i32],
  ['so_rcv_cc', u32],
  ['so_snd_cc', u32],
  ['so_rcv_hiwat', u32],
  ['so_snd_hiwat', u32],
  ['so_options', i32],
  ['so_state', i32],
  ['so_uid', u32],
  ['so_qlen', u32],
  ['so_incqlen', u32],
  ['so_qlimit', u32],
  ['inp_flags', i32],
  ['t_state', i32],
  ['inp_vflag', u8],
  ['inp_ip_ttl', u8],
  ['inp_ip_p', u8],
  ['_pad', u8],
  ['inp_laddr', bytes(4, 4)],
  ['inp_faddr', bytes(4, 4)],
  ['inp_lport', bytes(2, 2)],
  ['inp_fport', bytes(2, 2)],
]);

export const INP_IPV4 = 0x1;

/** A decoded xinpcb (addresses and ports in host order). */
export interface XInpcb {
  xso_so: number;
  inp_gencnt: number;
  xso_protocol: number;
  so_rcv_cc: number;
  so_snd_cc: number;
  so_rcv_hiwat: number;
  so_snd_hiwat: number;
  so_options: number;
  so_state: number;
  so_uid: number;
  so_qlen: number;
  so_incqlen: number;
  so_qlimit: number;
  t_state: number;
  inp_laddr: number;
  inp_lport: number;
  inp_faddr: number;
  inp_fport: number;
}

function xgen(dv: DataView, off: number, count: number, gen: number): void {
  writeScalar(dv, off, u64, xinpgen.size);
  writeScalar(dv, off + 8, u32, count);
  writeScalar(dv, off + 16, u64, gen);
}

/**
 * in_pcblist(pi, t_state): the pcblist sysctl's bytes — xinpgen, one xinpcb per pcb
 * (with its socket, or alive without one: TCP's TIME_WAIT), newest first, xinpgen
 * again.  A socketless pcb has xso_so 0.
 */
export function in_pcblist(pi: InpcbInfo, t_state: (inp: Inpcb) => number): Uint8Array {
  /* Newest first, as FreeBSD's ipi_listhead (LIST_INSERT_HEAD) is walked. */
  const list = [...pi.ipi_listhead]
    .filter((inp) => inp.inp_socket !== null || !(inp.inp_flags & INP_DROPPED))
    .reverse();
  const out = new Uint8Array(2 * xinpgen.size + list.length * xinpcb.size);
  const dv = new DataView(out.buffer);
  xgen(dv, 0, list.length, pi.ipi_gencnt);
  let off = xinpgen.size;
  const f = (n: string): number => xinpcb.byName.get(n)!.offset;
  for (const inp of list) {
    const so = inp.inp_socket;
    const w = (n: string, v: number): void =>
      writeScalar(dv, off + f(n), xinpcb.byName.get(n)!.type, v);
    w('xi_len', xinpcb.size);
    w('xso_so', so?.so_gencnt ?? 0);
    w('inp_gencnt', inp.inp_gencnt);
    w('xso_protocol', inp.inp_ip_p);
    w('xso_family', AF_INET);
    if (so !== null) {
      w('so_rcv_cc', so.so_rcv.sb_ccc);
      w('so_snd_cc', so.so_snd.sb_ccc);
      w('so_rcv_hiwat', so.so_rcv.sb_hiwat);
      w('so_snd_hiwat', so.so_snd.sb_hiwat);
      w('so_options', so.so_options);
      w('so_state', so.so_state);
      w('so_qlen', so.sol_comp.length);
      w('so_incqlen', so.sol_incomp.length);
      w('so_qlimit', so.sol_qlimit);
    }
    w('so_uid', inp.inp_cred.cr_uid);
    w('inp_flags', inp.inp_flags);
    w('t_state', t_state(inp));
    w('inp_vflag', INP_IPV4);
    w('inp_ip_ttl', inp.inp_ip_ttl);
    w('inp_ip_p', inp.inp_ip_p);
    dv.setUint32(off + f('inp_laddr'), inp.inp_laddr);
    dv.setUint32(off + f('inp_faddr'), inp.inp_faddr);
    dv.setUint16(off + f('inp_lport'), inp.inp_lport);
    dv.setUint16(off + f('inp_fport'), inp.inp_fport);
    off += xinpcb.size;
  }
  xgen(dv, off, list.length, pi.ipi_gencnt);
  return out;
}

/** Decode a pcblist sysctl's bytes (netstat, sockstat); null when malformed. */
export function xinpcb_decode(b: Uint8Array): XInpcb[] | null {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 2 * xinpgen.size || readScalar(dv, 0, u64) !== xinpgen.size) return null;
  const n = readScalar(dv, 8, u32);
  if (b.length < 2 * xinpgen.size + n * xinpcb.size) return null;
  const out: XInpcb[] = [];
  for (let i = 0; i < n; i++) {
    const off = xinpgen.size + i * xinpcb.size;
    if (readScalar(dv, off, u64) !== xinpcb.size) return null;
    const r = decodeStruct(xinpcb, b, off);
    const f = (name: string): number => off + xinpcb.byName.get(name)!.offset;
    out.push({
      xso_so: r['xso_so']!,
      inp_gencnt: r['inp_gencnt']!,
      xso_protocol: r['xso_protocol']!,
      so_rcv_cc: r['so_rcv_cc']!,
      so_snd_cc: r['so_snd_cc']!,
      so_rcv_hiwat: r['so_rcv_hiwat']!,
      so_snd_hiwat: r['so_snd_hiwat']!,
      so_options: r['so_options']!,
      so_state: r['so_state']!,
      so_uid: r['so_uid']!,
      so_qlen: r['so_qlen']!,
      so_incqlen: r['so_incqlen']!,
      so_qlimit: r['so_qlimit']!,
      t_state: r['t_state']!,
      inp_laddr: dv.getUint32(f('inp_laddr')),
      inp_faddr: dv.getUint32(f('inp_faddr')),
      inp_lport: dv.getUint16(f('inp_lport')),
      inp_fport: dv.getUint16(f('inp_fport')),
    });
  }
  return out;
}
