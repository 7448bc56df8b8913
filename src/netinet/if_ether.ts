/*
 * netinet/if_ether.ts — ARP for IPv4 over Ethernet (FreeBSD's netinet/if_ether.c and
 * the IPv4 lltable of netinet/in.c).  RFC 826 (the protocol), RFC 1122 §2.3.2 (cache
 * timeout, at most a few packets queued per unresolved address, retransmission at
 * most once per second), RFC 5227 §2.4 (duplicate address detection, announcements).
 *
 * How the work is split:
 *
 *   ip_output --if_output--> ether_output --resolver(AF_INET)--> arpresolve(ifp, m, dst)
 *     broadcast / multicast destinations map directly (RFC 1112 §6.4 for multicast);
 *     a complete entry answers { mac }; otherwise the packet joins the entry's hold
 *     queue (at most net.link.ether.inet.maxhold, the oldest is dropped: arpstat
 *     dropped), a request goes out and arpresolve answers 'held'.  An entry that did
 *     not resolve after net.link.ether.inet.max_tries requests (one per second) drops
 *     its held packets (arpstat dropped, timeouts) and stays "down" for
 *     net.link.ether.inet.wait seconds, during which arpresolve fails at once with
 *     EHOSTDOWN (EHOSTUNREACH when the route was through a gateway), as FreeBSD does.
 *   ether_input --netisr NETISR_ARP--> arpintr --> in_arpinput: FreeBSD's checks (header,
 *     hardware/protocol formats, our own frame, broadcast sender), then the cache update
 *     for the sender (existing entry, or a new one when the target is us), the held
 *     packets are sent, and a request for one of our addresses is answered.  A sender
 *     using our address is a duplicate (arpstat dupips); a request doing so is answered
 *     (defending the address), a reply is not (two defenders would loop).
 *
 * The lltable is per vnet and per interface (Map<Ifnet, Map<in_addr_t, Llentry>>).
 * Entries: 'incomplete' (request outstanding), 'reachable' (resolved for
 * net.link.ether.inet.max_age), 'verify' (the same, in its last maxtries seconds: FreeBSD's
 * ARP_LLINFO_VERIFY), 'down' (unresolved, negative cache), 'static' (arp -s, never
 * expires).  Each dynamic entry owns one callout (retransmit / expiry).  An entry in use
 * does not expire under its traffic: maxtries seconds before max_age runs out the timer
 * asks the datapath for feedback (r_skip_req) and the entry turns 'verify'; once a
 * second after that, if a packet went out through it meanwhile (arpresolve, or
 * ether_output from a route's cached entry, clears r_skip_req) a request refreshes it,
 * at most maxtries times (la_preempt), and the reply makes it reachable for max_age
 * again; an unused entry goes at max_age, as before.
 *
 * Counters: struct arpstat (netinet/if_ether.h) with FreeBSD's field order as a
 * VNET_PCPUSTAT, sysctl net.link.ether.arp.stats; two fields are appended (ours):
 * rxbad (malformed packets, which FreeBSD only logs) and rxignored (valid packets that
 * are neither for one of our addresses nor about an entry we have, and our own frames
 * echoed back — FreeBSD drops these silently; counting them keeps every drop visible).
 *
 * Differences from FreeBSD: no proxy ARP, no STALE/DELAY states (an entry is
 * refreshed by ARP traffic from its owner, and while in use, as above), no LLE_IFADDR entries (our own addresses are
 * answered from the address list), no bridge-specific checks.  Interface departure
 * (destroy or vnet move) frees every entry of the interface with its held packets
 * (FreeBSD's lltable_free on if_detach: the pending_delete_if case).
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { BKPT } from '../kern/subr_kdb.js';
import { curkernel } from '../kern/kern_cur.js';
import { counterStruct } from '../sys/types.js';
import {
  CURVNET_RESTORE,
  CURVNET_SET,
  VNET_DEFINE_INT,
  VNET_OBJ,
  VNET_PCPUSTAT_DEFINE,
  VNET_SYSINIT,
  VNET_SYSUNINIT,
  curvnet,
  type Vnet,
  type VnetPcpuStat,
} from '../net/vnet.js';
import { SI_ORDER_ANY, SI_SUB_PROTO_DOMAIN, SYSINIT } from '../sys/kernel.js';
import {
  CTLFLAG_RW,
  CTLFLAG_VNET,
  SYSCTL_INT,
  SYSCTL_NODE,
  SYSCTL_OPAQUE_RO,
} from '../sys/sysctl.js';
import { Callout, callout_reset_sbt, callout_stop } from '../kern/kern_timeout.js';
import { SBT_1S } from '../kern/kern_clock.js';
import {
  AF_INET,
  AF_UNSPEC,
  IFF_NOARP,
  IFF_LOOPBACK,
  type IfDst,
  type IfLle,
  type IfRoute,
  type Ifnet,
} from '../net/if_var.js';
import { if_event_register } from '../net/if.js';
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IP,
  ETHER_BCAST,
  ETHER_HDR_LEN,
  ETHER_IS_MULTICAST,
  ether_addr_write,
  ether_sprintf,
  type ether_addr_t,
} from '../net/ethernet.js';
import { ether_resolver_register } from '../net/if_ethersubr.js';
import { NETISR_ARP, netisr_register } from '../net/netisr.js';
import {
  M_BCAST,
  M_MCAST,
  m_freem,
  mbufq,
  mbufq_dequeue,
  mbufq_drain,
  mbufq_enqueue,
  mbufq_len,
  mtod,
  type Mbuf,
} from '../sys/mbuf.js';
import { EHOSTDOWN, EHOSTUNREACH, EINVAL, ENOENT, EEXIST } from '../sys/errno.js';
import {
  ARPOP_REPLY,
  ARPOP_REQUEST,
  ETHER_ARP_LEN,
  EtherArp,
  arp_check,
  arp_emit,
} from './if_ether_hdr.js';
import { IN_MULTICAST, inet_ntoa, type in_addr_t } from './in.js';
import { InIfaddr, in_broadcast, in_ifaddrs_of } from './in_var.js';
import { in_ifaddr_event_register } from './in_control.js';
import { RTF_GATEWAY } from '../net/route.js';

export const K = new ObjFile('netinet/if_ether.ts', VIMAGEID('src/netinet/if_ether.ts'));

const S_arpresolve = K.TEXT('arpresolve');
const S_in_arpinput = K.TEXT('in_arpinput');
const S_arprequest = K.TEXT('arprequest');

/* ------------------------------------------------------------------------------ */
/* Statistics and tunables.                                                        */

/** struct arpstat's fields (netstat takes them from here, as it includes if_ether.h). */
export const ARPSTAT_FIELDS = [
  'txrequests',
  'txreplies',
  'rxrequests',
  'rxreplies',
  'received',
  'txerrors',
  'arp_spares0',
  'arp_spares1',
  'arp_spares2',
  'dropped',
  'timeouts',
  'dupips',
  /* ours, appended */
  'rxbad',
  'rxignored',
] as const;

export const arpstat_layout = counterStruct('arpstat', ARPSTAT_FIELDS);
export const V_arpstat: VnetPcpuStat = VNET_PCPUSTAT_DEFINE(K, 'arpstat', arpstat_layout);
export const ARPS = Object.fromEntries(ARPSTAT_FIELDS.map((f, i) => [f, i])) as {
  readonly [F in (typeof ARPSTAT_FIELDS)[number]]: number;
};
function ARPSTAT_INC(f: number): void {
  V_arpstat.inc(f);
}
function ARPSTAT_ADD(f: number, n: number): void {
  if (n > 0) V_arpstat.add(f, n);
}

SYSCTL_NODE(K, 'net.link', CTLFLAG_RW, 'Link layers');
SYSCTL_NODE(K, 'net.link.ether', CTLFLAG_RW, 'Ethernet');
SYSCTL_NODE(K, 'net.link.ether.inet', CTLFLAG_RW, 'IPv4 over Ethernet (ARP)');
SYSCTL_NODE(K, 'net.link.ether.arp', CTLFLAG_RW, 'ARP');

/** net.link.ether.inet.max_age: seconds a resolved entry lives. */
export const V_arpt_keep = VNET_DEFINE_INT(K, 'arpt_keep', 1200);
SYSCTL_INT(
  K,
  'net.link.ether.inet.max_age',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_arpt_keep,
  'ARP entry lifetime in seconds',
);
/** net.link.ether.inet.maxtries: requests sent before an address is declared down. */
export const V_arp_maxtries = VNET_DEFINE_INT(K, 'arp_maxtries', 5);
SYSCTL_INT(
  K,
  'net.link.ether.inet.maxtries',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_arp_maxtries,
  'ARP resolution attempts before returning error',
);
/** net.link.ether.inet.maxhold: packets held per unresolved entry. */
export const V_arp_maxhold = VNET_DEFINE_INT(K, 'arp_maxhold', 16);
SYSCTL_INT(
  K,
  'net.link.ether.inet.maxhold',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_arp_maxhold,
  'Number of packets to hold per ARP entry',
);
/** net.link.ether.inet.wait: seconds an unresolvable address stays down. */
export const V_arpt_down = VNET_DEFINE_INT(K, 'arpt_down', 20);
SYSCTL_INT(
  K,
  'net.link.ether.inet.wait',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_arpt_down,
  'Incomplete ARP entry lifetime in seconds',
);
SYSCTL_OPAQUE_RO(
  K,
  'net.link.ether.arp.stats',
  CTLFLAG_VNET,
  () => V_arpstat.fetchBytes(),
  'S,arpstat',
  'ARP statistics (struct arpstat, netinet/if_ether.h)',
);

/* ------------------------------------------------------------------------------ */
/* The lltable.                                                                    */

export type LleState = 'incomplete' | 'reachable' | 'verify' | 'down' | 'static';

/** struct llentry (IPv4). */
export class Llentry implements IfLle {
  state: LleState = 'incomplete';
  /** LLE_LINKED: in its table (routes that cached the entry look here). */
  linked = true;
  /** The timer asked for usage feedback and no packet has used the entry since. */
  r_skip_req = false;
  /** Refresh requests left before the entry may expire (la_preempt). */
  la_preempt = 0;
  /** r_linkdata and the interface address it was made with. */
  private _hdr: Uint8Array | null = null;
  private _hdrsrc: ether_addr_t | null = null;
  private _mac: ether_addr_t | null = null;
  /**
   * The resolver's answer for this entry, made once when the MAC is set (FreeBSD keeps
   * the link header ready in the entry, r_linkdata, for arpresolve_fast).
   */
  res: { readonly mac: ether_addr_t } | null = null;
  get mac(): ether_addr_t | null {
    return this._mac;
  }
  set mac(a: ether_addr_t | null) {
    this._mac = a;
    this.res = a === null ? null : { mac: a };
    this._hdrsrc = null;
  }
  lle_valid(): boolean {
    return (
      this.linked &&
      (this.state === 'reachable' || this.state === 'verify' || this.state === 'static')
    );
  }
  /** llentry_mark_used: a packet went out through the entry since the timer asked. */
  llentry_provide_feedback(): void {
    this.r_skip_req = false;
  }
  /** The Ethernet header to the entry's MAC from ifp's (lltable_calc_llheader). */
  r_linkdata(): Uint8Array {
    const src = this.ifp.if_lladdr;
    if (this._hdr === null || this._hdrsrc !== src) {
      const h = (this._hdr ??= new Uint8Array(ETHER_HDR_LEN));
      ether_addr_write(h, 0, this._mac ?? 0);
      ether_addr_write(h, 6, src ?? 0);
      h[12] = ETHERTYPE_IP >>> 8;
      h[13] = ETHERTYPE_IP & 0xff;
      this._hdrsrc = src;
    }
    return this._hdr;
  }
  /** Uptime (ns) when the entry expires; 0 for static entries. */
  expire = 0;
  /** Published (LLE_PUB, arp -s ... pub): we answer requests for it (proxy ARP). */
  pub = false;
  /** Requests sent (la_asked). */
  asked = 0;
  /** Packets waiting for resolution (la_hold). */
  readonly hold = new mbufq(16);
  readonly timer = new Callout();
  constructor(
    readonly ifp: Ifnet,
    readonly addr: in_addr_t,
  ) {}
}

/** The ARP state of one vnet. */
export class ArpVnet {
  readonly tables = new Map<Ifnet, Map<number, Llentry>>();
}

export const V_arp = VNET_OBJ<ArpVnet>(K, 'arp');

VNET_SYSINIT(K, 'arp_vnet_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  V_arp.set(new ArpVnet());
});

VNET_SYSUNINIT(K, 'arp_vnet_uninit', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  const st = V_arp.get();
  if (!st) return;
  for (const ifp of [...st.tables.keys()]) lltable_free_if(st, ifp);
  V_arp.set(undefined as unknown as ArpVnet);
});

function lltable(ifp: Ifnet, create: boolean): Map<number, Llentry> | null {
  const st = V_arp.get();
  if (!st) return null;
  let t = st.tables.get(ifp);
  if (t === undefined && create) st.tables.set(ifp, (t = new Map()));
  return t ?? null;
}

/** Free an entry: stop its timer and drop its held packets (returns how many). */
function llentry_free(lle: Llentry): number {
  callout_stop(lle.timer);
  const n = mbufq_len(lle.hold);
  mbufq_drain(lle.hold);
  return n;
}

function lle_unlink(lle: Llentry): void {
  const t = lltable(lle.ifp, false);
  if (t && t.get(lle.addr) === lle) t.delete(lle.addr);
  lle.linked = false;
}

/** lltable_free on interface departure: every entry goes, held packets dropped. */
function lltable_free_if(st: ArpVnet, ifp: Ifnet): void {
  const t = st.tables.get(ifp);
  if (!t) return;
  let dropped = 0;
  for (const lle of t.values()) {
    dropped += llentry_free(lle);
    lle.linked = false;
  }
  ARPSTAT_ADD(ARPS.dropped, dropped);
  t.clear();
  st.tables.delete(ifp);
}

function lle_arm(lle: Llentry, secs: number, vnet: Vnet | null): void {
  lle.expire = curkernel().now() + secs * SBT_1S;
  lle_timer(lle, secs, vnet);
}

function lle_timer(lle: Llentry, secs: number, vnet: Vnet | null): void {
  callout_reset_sbt(lle.timer, secs * SBT_1S, 0, () => arptimer(lle, vnet), null);
}

/** arpt_rexmit: seconds between the checks (and refresh requests) of a 'verify' entry. */
const ARPT_REXMIT = 1;

/**
 * arp_mark_lle_reachable: resolved for max_age seconds; the timer comes maxtries
 * seconds early, to look for use (and refresh) before the entry would go.
 */
function arp_mark_reachable(lle: Llentry, secs: number, vnet: Vnet | null): void {
  lle.state = 'reachable';
  lle.la_preempt = V_arp_maxtries.get();
  lle.expire = curkernel().now() + secs * SBT_1S;
  const early = secs - lle.la_preempt * ARPT_REXMIT;
  lle_timer(lle, early > 0 ? early : secs, vnet);
}

/** arptimer: retransmit an incomplete entry, give up after maxtries, expire others. */
function arptimer(lle: Llentry, vnet: Vnet | null): void {
  const saved = vnet ? CURVNET_SET(vnet) : null;
  try {
    if (!V_arp.get()) return;
    if (lle.state === 'incomplete') {
      if (lle.asked < V_arp_maxtries.get()) {
        arprequest_for(lle);
        lle_arm(lle, 1, vnet);
        return;
      }
      /* Give up: drop what was held and remember the failure for a while. */
      ARPSTAT_ADD(ARPS.dropped, llentry_free(lle));
      ARPSTAT_INC(ARPS.timeouts);
      lle.state = 'down';
      lle_arm(lle, V_arpt_down.get(), vnet);
      return;
    }
    if (lle.state === 'reachable') {
      /* Expiry is near: ask the datapath whether the entry is in use. */
      lle.r_skip_req = true;
      lle.state = 'verify';
      lle_timer(lle, ARPT_REXMIT, vnet);
      return;
    }
    if (lle.state === 'verify') {
      if (!lle.r_skip_req && lle.la_preempt > 0) {
        /* Used since: ask again (the reply makes it reachable for max_age); then once
         * a second while the owner is silent, at most la_preempt times. */
        lle.la_preempt--;
        lle_timer(lle, ARPT_REXMIT, vnet);
        arprequest_for(lle);
        return;
      }
      if (lle.expire > curkernel().now()) {
        lle_timer(lle, ARPT_REXMIT, vnet);
        return;
      }
      ARPSTAT_INC(ARPS.timeouts);
    }
    llentry_free(lle);
    lle_unlink(lle);
  } finally {
    if (vnet) CURVNET_RESTORE(saved);
  }
}

/** The address to send requests for `tip` from: one on tip's subnet, else the first. */
function arp_srcaddr(ifp: Ifnet, tip: number): InIfaddr | null {
  const list = in_ifaddrs_of(ifp);
  for (const ia of list) if ((tip & ia.ia_netmask) >>> 0 === ia.ia_subnet) return ia;
  return list[0] ?? null;
}

function arprequest_for(lle: Llentry): void {
  const ia = arp_srcaddr(lle.ifp, lle.addr);
  if (ia === null) return;
  lle.asked++;
  arprequest(lle.ifp, ia.ia_addr, lle.addr, null);
}

/** Send an ARP packet (consumes nothing; builds the frame). */
function arp_send(
  ifp: Ifnet,
  op: number,
  sip: number,
  tip: number,
  tha: number,
  edst: ether_addr_t,
  sha: number = ifp.if_lladdr ?? 0,
): number {
  const k = curkernel();
  const m = k.mbpool.m_gethdr(ETHER_ARP_LEN);
  if (m === null) return 0;
  arp_emit(
    {
      ar_op: op,
      arp_sha: sha as ether_addr_t,
      arp_spa: sip as in_addr_t,
      arp_tha: tha as ether_addr_t,
      arp_tpa: tip as in_addr_t,
    },
    mtod(m),
  );
  m.m_flags |= edst === ETHER_BCAST ? M_BCAST : 0;
  const dst: IfDst = { sa_family: AF_UNSPEC, ether_dhost: edst, ether_type: ETHERTYPE_ARP };
  const error = ifp.if_output(ifp, m, dst, null);
  if (error !== 0) ARPSTAT_INC(ARPS.txerrors);
  return error;
}

/**
 * arprequest(ifp, sip, tip, enaddr): broadcast "who has tip? tell sip" (a gratuitous
 * request when sip === tip).  enaddr: the sender hardware address (null: ifp's).
 */
export function arprequest(ifp: Ifnet, sip: number, tip: number, _enaddr: number | null): void {
  BKPT(S_arprequest);
  ARPSTAT_INC(ARPS.txrequests);
  arp_send(ifp, ARPOP_REQUEST, sip, tip, 0, ETHER_BCAST);
}

/** The Ethernet group address of an IPv4 multicast group (RFC 1112 §6.4). */
export function ETHER_MAP_IP_MULTICAST(ip: number): ether_addr_t {
  return (0x01005e000000 + (ip & 0x7fffff)) as ether_addr_t;
}

/** The broadcast answer, made once. */
const ETHER_BCAST_RES = { mac: ETHER_BCAST } as const;

/**
 * arpresolve(ifp, m, dst, ro): the AF_INET resolver of ether_output.  m is borrowed,
 * except when 'held' is returned (the hold queue owns it).
 */

export function arpresolve(ifp: Ifnet, m: Mbuf, dst: IfDst, ro: IfRoute | null) {
  BKPT(S_arpresolve);
  const ip = (dst.sin_addr ?? 0) >>> 0;
  /* ip_output has marked broadcasts and multicasts; then arpresolve_fast's order: a
   * valid entry answers with what it keeps ready, and only a miss looks further. */
  if (m.m_flags & M_BCAST) return ETHER_BCAST_RES;
  if (m.m_flags & M_MCAST) return { mac: ETHER_MAP_IP_MULTICAST(ip) };
  const t = lltable(ifp, true);
  if (t === null) return EHOSTDOWN;
  let lle = t.get(ip);
  if (lle !== undefined && lle.lle_valid()) {
    lle.r_skip_req = false;
    /* A route that keeps the link layer (RT_LLE_CACHE) takes the entry with it. */
    if (ro !== null && ro.ro_lle_cache === true) ro.ro_lle = lle;
    return lle.res!;
  }
  if (in_broadcast(ip as in_addr_t, ifp)) return ETHER_BCAST_RES;
  if (IN_MULTICAST(ip)) return { mac: ETHER_MAP_IP_MULTICAST(ip) };
  for (const ia of ifp.if_addrhead)
    if (ia instanceof InIfaddr && ia.ia_addr === ip && ifp.if_lladdr !== null)
      return { mac: ifp.if_lladdr };
  if (lle !== undefined && lle.state === 'down')
    return ro !== null && (ro.ro_flags ?? 0) & RTF_GATEWAY ? EHOSTUNREACH : EHOSTDOWN;
  if (ifp.if_flags & IFF_NOARP) return EHOSTDOWN;
  if (lle === undefined) {
    lle = new Llentry(ifp, ip as in_addr_t);
    t.set(ip, lle);
  }
  /* Hold the packet; the oldest goes when the queue is full (FreeBSD la_numheld). */
  lle.hold.mq_maxlen = Math.max(1, V_arp_maxhold.get());
  while (mbufq_len(lle.hold) >= lle.hold.mq_maxlen) {
    const old = mbufq_dequeue(lle.hold);
    if (old === null) break;
    m_freem(old);
    ARPSTAT_INC(ARPS.dropped);
  }
  mbufq_enqueue(lle.hold, m);
  if (lle.asked === 0) {
    arprequest_for(lle);
    lle_arm(lle, 1, curvnet());
  }
  return 'held' as const;
}

/* ------------------------------------------------------------------------------ */
/* Input.                                                                          */

/** arpintr(m): the NETISR_ARP handler.  Consumes m. */
export function arpintr(m: Mbuf): void {
  const b = mtod(m);
  if (arp_check(b, 0, b.length) !== null) {
    ARPSTAT_INC(ARPS.rxbad);
    m_freem(m);
    return;
  }
  ARPSTAT_INC(ARPS.received);
  in_arpinput(m);
}

/** Update (or create) the entry for `isaddr` at `sha`; send what it held. */
function arp_update(ifp: Ifnet, lle: Llentry, sha: ether_addr_t): void {
  if (lle.state === 'static') return;
  lle.mac = sha;
  lle.asked = 0;
  arp_mark_reachable(lle, V_arpt_keep.get(), curvnet());
  for (;;) {
    const h = mbufq_dequeue(lle.hold);
    if (h === null) break;
    ifp.if_output(ifp, h, { sa_family: AF_INET, sin_addr: lle.addr }, null);
  }
}

/** in_arpinput(m): a valid Ethernet/IPv4 ARP packet.  Consumes m. */
export function in_arpinput(m: Mbuf): void {
  BKPT(S_in_arpinput);
  const ifp = m.rcvif as Ifnet | null;
  const b = mtod(m);
  const ah = new EtherArp(b, 0);
  const op = ah.ar_op;
  if (ifp === null || (op !== ARPOP_REQUEST && op !== ARPOP_REPLY)) {
    ARPSTAT_INC(ARPS.rxbad);
    m_freem(m);
    return;
  }
  if (op === ARPOP_REQUEST) ARPSTAT_INC(ARPS.rxrequests);
  else ARPSTAT_INC(ARPS.rxreplies);
  const isaddr = ah.arp_spa >>> 0;
  const itaddr = ah.arp_tpa >>> 0;
  const sha = ah.arp_sha;
  m_freem(m);
  const addrs = in_ifaddrs_of(ifp);
  /* Our own frame coming back, or a broadcast sender address: ignore. */
  if (sha === ifp.if_lladdr || sha === ETHER_BCAST || ETHER_IS_MULTICAST(sha)) {
    ARPSTAT_INC(ARPS.rxignored);
    return;
  }
  let target: InIfaddr | null = null;
  for (const ia of addrs) if (ia.ia_addr === itaddr) target = ia;
  const myaddr = target ?? addrs[0] ?? null;
  if (myaddr === null) {
    ARPSTAT_INC(ARPS.rxignored);
    return;
  }
  /* RFC 5227 §2.4: someone else claims our address: count, defend with a reply. */
  for (const ia of addrs) {
    if (isaddr === ia.ia_addr) {
      ARPSTAT_INC(ARPS.dupips);
      /* FreeBSD answers requests only ("goto reply"): never a reply to a reply. */
      if (op === ARPOP_REQUEST) {
        ARPSTAT_INC(ARPS.txreplies);
        arp_send(ifp, ARPOP_REPLY, ia.ia_addr, isaddr, sha, sha);
      }
      return;
    }
  }
  const t = lltable(ifp, true);
  let lle = t?.get(isaddr);
  if (lle !== undefined) arp_update(ifp, lle, sha);
  else if (target !== null && t !== null && isaddr !== 0) {
    lle = new Llentry(ifp, isaddr as in_addr_t);
    t.set(isaddr, lle);
    arp_update(ifp, lle, sha);
  }
  if (op === ARPOP_REQUEST && target !== null) {
    ARPSTAT_INC(ARPS.txreplies);
    arp_send(ifp, ARPOP_REPLY, target.ia_addr, isaddr, sha, sha);
    return;
  }
  /* Proxy ARP: a published entry for the target is answered with its address. */
  const pub = op === ARPOP_REQUEST && target === null ? t?.get(itaddr) : undefined;
  if (pub !== undefined && pub.pub && pub.mac !== null) {
    ARPSTAT_INC(ARPS.txreplies);
    arp_send(ifp, ARPOP_REPLY, itaddr, isaddr, sha, sha, pub.mac);
  } else if (lle === undefined && target === null) {
    ARPSTAT_INC(ARPS.rxignored);
  }
}

/**
 * arp_ifinit(ifp, ia): a new address on an Ethernet interface: announce it with a
 * gratuitous request (RFC 5227 §2.3), from in_control's in_ifaddr_event 'add'.
 */
export function arp_ifinit(ifp: Ifnet, ia: InIfaddr): void {
  if (ifp.if_lladdr === null || ifp.if_flags & (IFF_NOARP | IFF_LOOPBACK)) return;
  if (ia.ia_addr === 0) return;
  arprequest(ifp, ia.ia_addr, ia.ia_addr, null);
}

/* ------------------------------------------------------------------------------ */
/* arp(8) interface: static entries, deletion, dumps.                               */

/**
 * arp -s: an entry set by hand (lla_rt_output's RTM_ADD).  Permanent unless `secs`
 * gives its lifetime (arp -s ... temp); `pub` publishes it (LLE_PUB: requests for the
 * address are answered with `mac`, proxy ARP).  EINVAL for a multicast/broadcast MAC,
 * EEXIST when the same permanent entry is there.
 */
export function arp_add_static(
  ifp: Ifnet,
  ip: number,
  mac: number,
  opts: { pub?: boolean; secs?: number } = {},
): number {
  if (ETHER_IS_MULTICAST(mac as ether_addr_t) || mac === 0) return EINVAL;
  const t = lltable(ifp, true);
  if (t === null) return EINVAL;
  const old = t.get(ip >>> 0);
  const secs = opts.secs ?? 0;
  if (old !== undefined && old.state === 'static' && secs === 0 && old.mac === mac) return EEXIST;
  const lle = old ?? new Llentry(ifp, (ip >>> 0) as in_addr_t);
  callout_stop(lle.timer);
  lle.mac = mac as ether_addr_t;
  lle.asked = 0;
  lle.pub = opts.pub ?? false;
  if (secs > 0) {
    arp_mark_reachable(lle, secs, curvnet());
  } else {
    lle.state = 'static';
    lle.expire = 0;
  }
  t.set(ip >>> 0, lle);
  for (;;) {
    const h = mbufq_dequeue(lle.hold);
    if (h === null) break;
    ifp.if_output(ifp, h, { sa_family: AF_INET, sin_addr: lle.addr }, null);
  }
  return 0;
}

/** arp -d: delete the entry for ip (on any interface of the vnet).  ENOENT if none. */
export function arp_delete(ip: number): number {
  const st = V_arp.get();
  for (const t of st.tables.values()) {
    const lle = t.get(ip >>> 0);
    if (lle !== undefined) {
      ARPSTAT_ADD(ARPS.dropped, llentry_free(lle));
      t.delete(ip >>> 0);
      lle.linked = false;
      return 0;
    }
  }
  return ENOENT;
}

/** One line of arp -a. */
export interface ArpListEntry {
  readonly ifname: string;
  readonly addr: in_addr_t;
  /** "xx:xx:..." or "(incomplete)". */
  readonly mac: string;
  /** Seconds until expiry, or null for permanent entries. */
  readonly expires: number | null;
  readonly state: LleState;
  readonly pub: boolean;
}

/** The entries of the current vnet, interface by interface, address order. */
export function arp_list(): ArpListEntry[] {
  const out: ArpListEntry[] = [];
  const now = curkernel().now();
  for (const [ifp, t] of V_arp.get().tables) {
    const es = [...t.values()].sort((a, b) => a.addr - b.addr);
    for (const e of es)
      out.push({
        ifname: ifp.if_xname,
        addr: e.addr,
        mac: e.mac !== null && e.lle_valid() ? ether_sprintf(e.mac) : '(incomplete)',
        expires: e.state === 'static' ? null : Math.max(0, Math.ceil((e.expire - now) / SBT_1S)),
        state: e.state,
        pub: e.pub,
      });
  }
  return out;
}

/** arp -an's line for an entry: "? (192.0.2.2) at 02:..:0b on epair0a expires in 1200 seconds [ethernet]". */
export function arp_format(e: ArpListEntry): string {
  const exp = e.expires === null ? 'permanent' : `expires in ${e.expires} seconds`;
  const pub = e.pub ? ' published' : '';
  return `? (${inet_ntoa(e.addr)}) at ${e.mac} on ${e.ifname} ${exp}${pub} [ethernet]`;
}

/** Held packets over the vnet (tests: nothing leaks). */
export function arp_held_count(): number {
  let n = 0;
  for (const t of V_arp.get().tables.values()) for (const e of t.values()) n += mbufq_len(e.hold);
  return n;
}

/* ------------------------------------------------------------------------------ */
/* Registration.                                                                   */

SYSINIT(K, 'arp_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  const k = curkernel();
  netisr_register(k, { nh_name: 'arp', nh_proto: NETISR_ARP, nh_handler: arpintr, nh_qlimit: 256 });
  ether_resolver_register(k, AF_INET, arpresolve);
  if_event_register(k, (ifp, kind) => {
    if (kind !== 'departure') return;
    const st = V_arp.get();
    if (st) lltable_free_if(st, ifp);
  });
  /* FreeBSD keeps entries learnt on a deleted address's subnet until they expire. */
  in_ifaddr_event_register(k, (ifp, ia, kind) => {
    if (kind === 'add') arp_ifinit(ifp, ia);
  });
});
