/*
 * netinet/tcp_hostcache.ts — the TCP host cache (FreeBSD's netinet/tcp_hostcache.c),
 * per vnet: what TCP learnt about a destination outlives the connection that learnt
 * it.  The path MTU (tcp_hc_updatemtu from path MTU discovery, tcp_hc_getmtu for
 * tcp_mss and tcp_mssopt), so the second connection to a host behind a smaller link
 * starts with segments that fit instead of losing its first ones to the same ICMP
 * need-frag; and the smoothed RTT, its variance, ssthresh and cwnd of a connection
 * that measured at least four RTTs, saved when its tcpcb goes (tcp_hc_update from
 * tcp_discardcb, averaged with what the entry had: tcps_cachedrtt, cachedrttvar,
 * cachedssthresh), which cc_conn_init gives the next connection as its first RTO and
 * slow-start threshold (tcp_hc_get: tcps_usedrtt, usedrttvar, usedssthresh).
 *
 * Expiry as FreeBSD's: an entry lives net.inet.tcp.hostcache.expire seconds (3600)
 * from its last update or use; the purge callout runs every
 * net.inet.tcp.hostcache.prune seconds (300) while entries exist and takes the ones
 * whose time is up, so one goes between expire and expire + prune after its last use.
 * net.inet.tcp.hostcache.purge=1 takes every entry at the next run, purgenow=1 at
 * once; net.inet.tcp.hostcache.enable=0 stops new entries (FreeBSD: a loader
 * tunable); count says how many there are and list shows them in FreeBSD's table
 * (tcps_hc_added counts the new ones).
 *
 * Deliberate differences: no send/receive pipe sizes (FreeBSD saves them as 0 too);
 * one map per vnet instead of hash buckets, so no bucketlimit/cachelimit.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SI_ORDER_ANY, SI_SUB_PROTO_DOMAIN } from '../sys/kernel.js';
import {
  CTLFLAG_RD,
  CTLFLAG_RW,
  CTLFLAG_SKIP,
  CTLFLAG_VNET,
  CTLTYPE_STRING,
  SYSCTL_INT,
  SYSCTL_NODE,
  SYSCTL_OUT,
  SYSCTL_PROC,
} from '../sys/sysctl.js';
import { TCPSTAT_INC, TCPS_, TCP_RTTVAR_SCALE, TCP_RTT_SCALE } from './tcp_var.js';
import { inet_ntoa } from './in.js';
import { Callout, callout_reset_sbt, callout_stop } from '../kern/kern_timeout.js';
import { SBT_1S, hz } from '../kern/kern_clock.js';
import { curkernel } from '../kern/kern_cur.js';
import {
  CURVNET_RESTORE,
  CURVNET_SET,
  VNET_DEFINE_INT,
  VNET_OBJ,
  VNET_SYSINIT,
  VNET_SYSUNINIT,
  curvnet,
  type Vnet,
  type VnetI32,
} from '../net/vnet.js';

export const K = new ObjFile('netinet/tcp_hostcache.ts', VIMAGEID('src/netinet/tcp_hostcache.ts'));

/** What a connection leaves (FreeBSD's hc_metrics_lite): 0 is "not known". */
export interface HcMetrics {
  mtu: number;
  /** Bytes. */
  ssthresh: number;
  /** t_srtt and t_rttvar units (ticks << TCP_RTT_SHIFT, << TCP_RTTVAR_SHIFT). */
  rtt: number;
  rttvar: number;
  cwnd: number;
}

interface HcEntry extends HcMetrics {
  /** When it goes (ns of uptime): expire seconds after its last update or use. */
  expire: number;
}

class TcpHostcache {
  readonly entries = new Map<number, HcEntry>();
  readonly purge = new Callout();
  /** net.inet.tcp.hostcache.purge: take every entry at the next run. */
  purgeall = 0;
}

const V_tcp_hostcache = VNET_OBJ<TcpHostcache>(K, 'tcp_hostcache');

SYSCTL_NODE(K, 'net.inet.tcp.hostcache', CTLFLAG_RW, 'TCP Host cache');

/** A per-vnet int tunable net.inet.tcp.hostcache.<name>. */
function hc_int(name: string, init: number, descr: string): VnetI32 {
  const v = VNET_DEFINE_INT(K, `tcp_hc_${name}`, init);
  SYSCTL_INT(K, `net.inet.tcp.hostcache.${name}`, CTLFLAG_VNET | CTLFLAG_RW, v, descr);
  return v;
}

export const V_tcp_hc_enable = hc_int('enable', 1, 'Enable the TCP hostcache');
export const V_tcp_hc_expire = hc_int('expire', 3600, 'Expire time of TCP hostcache entries');
export const V_tcp_hc_prune = hc_int('prune', 300, 'Time between purge runs');
SYSCTL_INT(
  K,
  'net.inet.tcp.hostcache.count',
  CTLFLAG_VNET | CTLFLAG_RD,
  { get: () => V_tcp_hostcache.get()?.entries.size ?? 0, set: () => {} },
  'Current number of entries in hostcache',
);
SYSCTL_INT(
  K,
  'net.inet.tcp.hostcache.purge',
  CTLFLAG_VNET | CTLFLAG_RW,
  {
    get: () => V_tcp_hostcache.get()?.purgeall ?? 0,
    set: (v: number) => {
      const hc = V_tcp_hostcache.get();
      if (hc) hc.purgeall = v;
    },
  },
  'Expire all entries on next purge run',
);
SYSCTL_PROC(
  K,
  'net.inet.tcp.hostcache.list',
  CTLTYPE_STRING | CTLFLAG_RD | CTLFLAG_SKIP | CTLFLAG_VNET,
  (_o, req) => SYSCTL_OUT(req, new TextEncoder().encode(tcp_hc_list() + '\0')),
  'A',
  'List of all hostcache entries',
);
SYSCTL_INT(
  K,
  'net.inet.tcp.hostcache.purgenow',
  CTLFLAG_VNET | CTLFLAG_RW,
  {
    get: () => 0,
    set: (v: number) => {
      if (v === 1) tcp_hc_purge(true);
    },
  },
  'Immediate purge of all entries',
);

VNET_SYSINIT(K, 'tcp_hc_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  V_tcp_hostcache.set(new TcpHostcache());
});

VNET_SYSUNINIT(K, 'tcp_hc_destroy', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  const hc = V_tcp_hostcache.get();
  if (!hc) return;
  callout_stop(hc.purge);
  hc.entries.clear();
});

/** The entry for faddr if it is still alive; a use restarts its time. */
function tcp_hc_lookup(faddr: number): HcEntry | null {
  const e = V_tcp_hostcache.get()?.entries.get(faddr);
  if (e === undefined) return null;
  e.expire = curkernel().now() + V_tcp_hc_expire.get() * SBT_1S;
  return e;
}

/** tcp_hc_getmtu: the path MTU cached for faddr, 0 when none. */
export function tcp_hc_getmtu(faddr: number): number {
  return tcp_hc_lookup(faddr)?.mtu ?? 0;
}

/** tcp_hc_updatemtu: remember a path MTU for faddr (path MTU discovery). */
export function tcp_hc_updatemtu(faddr: number, mtu: number): void {
  const hc = V_tcp_hostcache.get();
  if (!hc || V_tcp_hc_enable.get() === 0) return;
  (tcp_hc_lookup(faddr) ?? tcp_hc_insert(hc, faddr)).mtu = mtu;
}

function tcp_hc_insert(hc: TcpHostcache, faddr: number): HcEntry {
  const e: HcEntry = {
    mtu: 0,
    ssthresh: 0,
    rtt: 0,
    rttvar: 0,
    cwnd: 0,
    expire: curkernel().now() + V_tcp_hc_expire.get() * SBT_1S,
  };
  hc.entries.set(faddr, e);
  TCPSTAT_INC(TCPS_.tcps_hc_added);
  if (hc.entries.size === 1) tcp_hc_arm(hc, curvnet());
  return e;
}

/** tcp_hc_get: what the cache knows of faddr (a use: its time starts over), or null. */
export function tcp_hc_get(faddr: number): HcMetrics | null {
  return tcp_hc_lookup(faddr);
}

/**
 * tcp_hc_update: a closing connection's metrics; each known one (non-zero) is averaged
 * with the entry's, or taken when the entry had none (FreeBSD's rule).
 */
export function tcp_hc_update(faddr: number, m: HcMetrics): void {
  const hc = V_tcp_hostcache.get();
  if (!hc || V_tcp_hc_enable.get() === 0) return;
  const e = tcp_hc_lookup(faddr) ?? tcp_hc_insert(hc, faddr);
  const avg = (old: number, v: number): number => (old === 0 ? v : Math.floor((old + v) / 2));
  if (m.rtt !== 0) {
    e.rtt = avg(e.rtt, m.rtt);
    TCPSTAT_INC(TCPS_.tcps_cachedrtt);
  }
  if (m.rttvar !== 0) {
    e.rttvar = avg(e.rttvar, m.rttvar);
    TCPSTAT_INC(TCPS_.tcps_cachedrttvar);
  }
  if (m.ssthresh !== 0) {
    e.ssthresh = avg(e.ssthresh, m.ssthresh);
    TCPSTAT_INC(TCPS_.tcps_cachedssthresh);
  }
  if (m.cwnd !== 0) e.cwnd = avg(e.cwnd, m.cwnd);
}

function tcp_hc_arm(hc: TcpHostcache, vnet: Vnet | null): void {
  if (hc.entries.size === 0) {
    callout_stop(hc.purge);
    return;
  }
  const every = Math.max(1, V_tcp_hc_prune.get()) * SBT_1S;
  callout_reset_sbt(hc.purge, every, 0, () => tcp_hc_purge_callout(vnet), null);
}

function tcp_hc_purge_callout(vnet: Vnet | null): void {
  const saved = vnet ? CURVNET_SET(vnet) : null;
  try {
    const hc = V_tcp_hostcache.get();
    const all = hc !== undefined && hc.purgeall !== 0;
    if (all) hc.purgeall = 0;
    tcp_hc_purge(all);
  } finally {
    if (vnet) CURVNET_RESTORE(saved);
  }
}

/** tcp_hc_purge: drop the entries whose time is up (all of them with all). */
function tcp_hc_purge(all: boolean): void {
  const hc = V_tcp_hostcache.get();
  if (!hc) return;
  const now = curkernel().now();
  for (const [a, e] of hc.entries) if (all || e.expire <= now) hc.entries.delete(a);
  tcp_hc_arm(hc, curvnet());
}

/**
 * net.inet.tcp.hostcache.list: FreeBSD's table, one line per entry: RTT and RTTVAR in
 * ms (FreeBSD's integer conversion from ticks), SENDPIPE and RECVPIPE 0, EXP the
 * seconds the entry has left.
 */
function tcp_hc_list(): string {
  const now = curkernel().now();
  const msec = (us: number): number => Math.floor((us + 500) / 1000);
  /* RTM_RTTUNIT (1e6) / (hz * TCP_RTT_SCALE), and with TCP_RTTVAR_SCALE: C's integers. */
  const rttunit = Math.floor(1000000 / (hz * TCP_RTT_SCALE));
  const varunit = Math.floor(1000000 / (hz * TCP_RTTVAR_SCALE));
  const col = (v: number, w: number): string => String(v).padStart(w);
  let out = '\nIP address        MTU SSTRESH      RTT   RTTVAR     CWND SENDPIPE RECVPIPE EXP\n';
  for (const [a, e] of V_tcp_hostcache.get()?.entries ?? []) {
    const exp = Math.max(0, Math.ceil((e.expire - now) / SBT_1S));
    out +=
      `${inet_ntoa(a).padEnd(15)} ${col(e.mtu, 5)} ${col(e.ssthresh, 8)} ` +
      `${col(msec(e.rtt * rttunit), 6)}ms ${col(msec(e.rttvar * varunit), 6)}ms ` +
      `${col(e.cwnd, 8)} ${col(0, 8)} ${col(0, 8)} ${col(exp, 4)}\n`;
  }
  return out;
}

/** Entries in this vnet's cache (tests; net.inet.tcp.hostcache.count). */
export function tcp_hc_count(): number {
  return V_tcp_hostcache.get()?.entries.size ?? 0;
}
