/*
 * netinet/icmp.ts — ICMP logic (FreeBSD's netinet/ip_icmp.c); the wire view is
 * netinet/ip_icmp.ts.  RFC 792, RFC 1122 §3.2.2, RFC 1812 §4.3 (which errors are never
 * sent), RFC 1191 §4 (next-hop MTU), RFC 791 §3.1 (options reflected in replies).
 *
 *   icmp_input(m, hlen) — the IPPROTO_ICMP entry of the IP protocol switch: length and
 *     checksum (icps_tooshort, icps_checksum), icps_inhist[type]; codes out of range
 *     (icps_badcode); errors (unreach, time exceeded, parameter problem, source quench)
 *     must quote a whole header + 8 bytes (icps_badlen) and are handed to the quoted
 *     protocol's ctlinput (ip_ctlinput_register, for UDP/TCP); echo and timestamp
 *     requests are answered (icps_reflect, icps_outhist) except to broadcast/multicast
 *     destinations unless net.inet.icmp.bmcastecho=1 (icps_bmcastecho,
 *     icps_bmcasttstamp); redirects go to netinet/in_rmx.ts rtredirect unless
 *     net.inet.icmp.drop_redirect=1;
 *   icmp_error(n, type, code, dest, mtu) — FreeBSD's rules: icps_error, never about a
 *     non-first fragment, a link broadcast/multicast, or an ICMP error (icps_oldicmp),
 *     nothing when the datagram is shorter than a header + ICMP_MINLEN
 *     (icps_oldshort); quotes the header + 8 bytes; rate limited;
 *   icmp_reflect(m) — swaps the addresses (our address that was the destination, else
 *     the receiving interface's), keeps record-route / timestamp / security options,
 *     TTL net.inet.ip.ttl, and sends with ip_output.  A source that is multicast, class
 *     E or 0/8 is icps_badaddr; no address to answer from is icps_noroute.
 *
 * Rate limiting (net.inet.icmp.icmplim, default 200/s, per vnet and per kind of
 * response as FreeBSD's badport_bandlim): replies beyond the limit in a one-second
 * window are dropped; the drops are counted per vnet (icmp_ratelimit_drops) where
 * FreeBSD logs "Limiting ..." when net.inet.icmp.icmplim_output=1.  No jitter.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { BKPT } from '../kern/subr_kdb.js';
import { curkernel } from '../kern/kern_cur.js';
import type { Kernel } from '../kern/kernel.js';
import { counterStruct } from '../sys/types.js';
import {
  VNET_DEFINE_INT,
  VNET_OBJ,
  VNET_PCPUSTAT_DEFINE,
  VNET_SYSINIT,
  type VnetI32,
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
import { SBT_1S } from '../kern/kern_clock.js';
import { M_BCAST, M_MCAST, m_freem, mtod, type Mbuf } from '../sys/mbuf.js';
import type { Ifnet } from '../net/if_var.js';
import {
  IN_EXPERIMENTAL,
  IN_MULTICAST,
  IN_ZERONET,
  IPPROTO_ICMP,
  in_addr_read,
  in_addr_write,
  type in_addr_t,
} from './in.js';
import {
  ICMP_ECHO,
  ICMP_ECHOREPLY,
  ICMP_INFOTYPE,
  ICMP_MAXTYPE,
  ICMP_MINLEN,
  ICMP_PARAMPROB,
  ICMP_REDIRECT,
  ICMP_SOURCEQUENCH,
  ICMP_TIMXCEED,
  ICMP_TIMXCEED_REASS,
  ICMP_TSLEN,
  ICMP_TSTAMP,
  ICMP_TSTAMPREPLY,
  ICMP_UNREACH,
  ICMP_UNREACH_NEEDFRAG,
  ICMP_UNREACH_PRECEDENCE_CUTOFF,
  Icmp,
  icmp_check,
  icmp_check_adv,
} from './ip_icmp.js';
import {
  IPOPT_EOL,
  IPOPT_NOP,
  IPOPT_RR,
  IPOPT_SECURITY,
  IPOPT_TS,
  IP_HDR_LEN,
  IP_OFFMASK,
} from './ip.js';
import { V_ip_defttl } from './ip_var.js';
import { in_broadcast, in_ifaddrs_of, ifa_ifwithaddr, V_rib } from './in_var.js';
import { iptime, ip_protox_register } from './ip_input.js';
import { rip_input } from './raw_ip.js';
import { ip_output } from './ip_output.js';
import { V_ipq, type Ipq } from './ip_reass.js';
import { rtredirect } from './in_rmx.js';

export const K = new ObjFile('netinet/icmp.ts', VIMAGEID('src/netinet/icmp.ts'));

const S_icmp_input = K.TEXT('icmp_input');
const S_icmp_error = K.TEXT('icmp_error');
const S_icmp_reflect = K.TEXT('icmp_reflect');

/* ------------------------------------------------------------------------------ */
/* struct icmpstat (netinet/icmp_var.h), field order kept.                          */

const HIST = ICMP_MAXTYPE + 1;
const ICMPSTAT_FIELDS: string[] = [
  'icps_error',
  'icps_oldshort',
  'icps_oldicmp',
  ...Array.from({ length: HIST }, (_, i) => `icps_outhist[${i}]`),
  'icps_badcode',
  'icps_tooshort',
  'icps_checksum',
  'icps_badlen',
  'icps_reflect',
  ...Array.from({ length: HIST }, (_, i) => `icps_inhist[${i}]`),
  'icps_bmcastecho',
  'icps_bmcasttstamp',
  'icps_badaddr',
  'icps_noroute',
];

export const icmpstat_layout = counterStruct('icmpstat', ICMPSTAT_FIELDS);
export const V_icmpstat: VnetPcpuStat = VNET_PCPUSTAT_DEFINE(K, 'icmpstat', icmpstat_layout);

const F = (n: string): number => ICMPSTAT_FIELDS.indexOf(n);
/** Field indexes of the scalar counters. */
export const ICPS = {
  icps_error: F('icps_error'),
  icps_oldshort: F('icps_oldshort'),
  icps_oldicmp: F('icps_oldicmp'),
  icps_badcode: F('icps_badcode'),
  icps_tooshort: F('icps_tooshort'),
  icps_checksum: F('icps_checksum'),
  icps_badlen: F('icps_badlen'),
  icps_reflect: F('icps_reflect'),
  icps_bmcastecho: F('icps_bmcastecho'),
  icps_bmcasttstamp: F('icps_bmcasttstamp'),
  icps_badaddr: F('icps_badaddr'),
  icps_noroute: F('icps_noroute'),
} as const;
const OUTHIST0 = F('icps_outhist[0]');
const INHIST0 = F('icps_inhist[0]');

function ICMPSTAT_INC(f: number): void {
  V_icmpstat.inc(f);
}

/** A readable snapshot: scalars by name, histograms as arrays indexed by type. */
export interface IcmpStat {
  readonly [name: string]: number | readonly number[];
  readonly icps_outhist: readonly number[];
  readonly icps_inhist: readonly number[];
}

/** icmpstat of the current vnet (or another), histograms folded into arrays. */
export function icmpstat_fetch(): Record<string, number> & {
  icps_outhist: number[];
  icps_inhist: number[];
} {
  const all = V_icmpstat.fetchAll();
  const out: Record<string, number> = {};
  const outhist: number[] = [];
  const inhist: number[] = [];
  for (const [k, v] of Object.entries(all)) {
    const mo = /^icps_outhist\[(\d+)\]$/.exec(k);
    const mi = /^icps_inhist\[(\d+)\]$/.exec(k);
    if (mo) outhist[Number(mo[1])] = v;
    else if (mi) inhist[Number(mi[1])] = v;
    else out[k] = v;
  }
  return Object.assign(out, { icps_outhist: outhist, icps_inhist: inhist });
}

SYSCTL_NODE(K, 'net.inet.icmp', CTLFLAG_RW, 'ICMP');
SYSCTL_OPAQUE_RO(
  K,
  'net.inet.icmp.stats',
  CTLFLAG_VNET,
  () => V_icmpstat.fetchBytes(),
  'S,icmpstat',
  'ICMP statistics (struct icmpstat, netinet/icmp_var.h)',
);

/** net.inet.icmp.bmcastecho */
export const V_icmpbmcastecho: VnetI32 = VNET_DEFINE_INT(K, 'icmpbmcastecho', 0);
SYSCTL_INT(
  K,
  'net.inet.icmp.bmcastecho',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_icmpbmcastecho,
  'Reply to multicast and broadcast echo requests',
);
/** net.inet.icmp.icmplim: responses per second, 0 = unlimited. */
export const V_icmplim: VnetI32 = VNET_DEFINE_INT(K, 'icmplim', 200);
SYSCTL_INT(
  K,
  'net.inet.icmp.icmplim',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_icmplim,
  'Maximum number of ICMP responses per second',
);
/** net.inet.icmp.icmplim_output */
export const V_icmplim_output: VnetI32 = VNET_DEFINE_INT(K, 'icmplim_output', 1);
SYSCTL_INT(
  K,
  'net.inet.icmp.icmplim_output',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_icmplim_output,
  'Enable logging of ICMP response rate limiting',
);
/** net.inet.icmp.drop_redirect */
export const V_drop_redirect: VnetI32 = VNET_DEFINE_INT(K, 'drop_redirect', 0);
SYSCTL_INT(
  K,
  'net.inet.icmp.drop_redirect',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_drop_redirect,
  'Ignore ICMP redirects',
);
/** net.inet.icmp.log_redirect */
export const V_log_redirect: VnetI32 = VNET_DEFINE_INT(K, 'log_redirect', 0);
SYSCTL_INT(
  K,
  'net.inet.icmp.log_redirect',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_log_redirect,
  'Log ICMP redirects to the console',
);

/* ------------------------------------------------------------------------------ */
/* Rate limiting (badport_bandlim).                                                 */

export const BANDLIM_ICMP_UNREACH = 0;
export const BANDLIM_ICMP_ECHO = 1;
export const BANDLIM_ICMP_TSTAMP = 2;
export const BANDLIM_OTHER = 3;
const BANDLIM_MAX = 4;

class IcmpVnet {
  readonly windowStart: number[] = new Array<number>(BANDLIM_MAX).fill(-Infinity);
  readonly count: number[] = new Array<number>(BANDLIM_MAX).fill(0);
  /** Responses suppressed by the limit (FreeBSD logs them; we count). */
  drops = 0;
}
const V_icmp = VNET_OBJ<IcmpVnet>(K, 'icmp');
VNET_SYSINIT(K, 'icmp_vnet_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  V_icmp.set(new IcmpVnet());
  /* RFC 792 / RFC 1122 §3.2.1.4: time exceeded in reassembly, quoting the first
   * fragment, when a queue whose first fragment arrived times out. */
  const rq = V_ipq.get();
  if (rq) rq.ontimeout = icmp_reass_timeout;
});

function icmp_reass_timeout(q: Ipq): void {
  const hdr = q.hdr;
  const first = q.frags.find((f) => f.off === 0);
  if (hdr === null || first === undefined) return;
  const dlen = Math.min(8, first.data.length);
  const m = curkernel().mbpool.m_gethdr(hdr.length + dlen);
  if (m === null) return;
  const b = mtod(m);
  b.set(hdr, 0);
  b.set(first.data.subarray(0, dlen), hdr.length);
  icmp_error(m, ICMP_TIMXCEED, ICMP_TIMXCEED_REASS, 0, 0);
}

/** Responses the rate limit suppressed in this vnet. */
export function icmp_ratelimit_drops(): number {
  return V_icmp.get().drops;
}

function bandlim_of(type: number): number {
  switch (type) {
    case ICMP_UNREACH:
      return BANDLIM_ICMP_UNREACH;
    case ICMP_ECHOREPLY:
      return BANDLIM_ICMP_ECHO;
    case ICMP_TSTAMPREPLY:
      return BANDLIM_ICMP_TSTAMP;
    default:
      return BANDLIM_OTHER;
  }
}

/** True when the response must be suppressed (ppsratecheck over one-second windows). */
export function icmp_ratelimit(type: number): boolean {
  const lim = V_icmplim.get();
  if (lim <= 0) return false;
  const st = V_icmp.get();
  const w = bandlim_of(type);
  const now = curkernel().now();
  if (now - st.windowStart[w]! >= SBT_1S) {
    st.windowStart[w] = now;
    st.count[w] = 0;
  }
  st.count[w]!++;
  if (st.count[w]! > lim) {
    st.drops++;
    return true;
  }
  return false;
}

/* ------------------------------------------------------------------------------ */
/* Control input to upper protocols (pr_ctlinput).                                  */

/* PRC_* (sys/protosw.h). */
export const PRC_QUENCH = 4;
export const PRC_MSGSIZE = 5;
export const PRC_HOSTDEAD = 6;
export const PRC_UNREACH_NET = 8;
export const PRC_UNREACH_HOST = 9;
export const PRC_UNREACH_PROTOCOL = 10;
export const PRC_UNREACH_PORT = 11;
export const PRC_UNREACH_SRCFAIL = 13;
export const PRC_REDIRECT_HOST = 15;
export const PRC_TIMXCEED_INTRANS = 18;
export const PRC_TIMXCEED_REASS = 19;
export const PRC_PARAMPROB = 20;
export const PRC_UNREACH_ADMIN_PROHIB = 21;

/** A protocol's ctlinput: cmd (PRC_*), the destination of the original datagram, the
 * quoted IP header (+ at least 8 bytes), a subarray valid during the call, and for
 * PRC_MSGSIZE the next-hop MTU the error carried (RFC 1191; 0 from an older router). */
export type IpCtlInput = (cmd: number, dst: in_addr_t, ip: Uint8Array, nextmtu: number) => void;

/** The MTU plateaus of RFC 1191 §7, largest first (FreeBSD's ip_next_mtu table). */
const MTUTAB = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1280, 1006, 508, 296, 68];

/**
 * ip_next_mtu(mtu, dir): the plateau below mtu (dir >= 0: the guess for a need-frag
 * without a next-hop MTU), or above it (dir < 0); 0 when there is none.
 */
export function ip_next_mtu(mtu: number, dir: number): number {
  if (dir >= 0) {
    for (const m of MTUTAB) if (mtu > m) return m;
    return 0;
  }
  for (let i = MTUTAB.length - 1; i >= 0; i--) if (mtu < MTUTAB[i]!) return MTUTAB[i]!;
  return mtu === MTUTAB[0] ? MTUTAB[0] : 0;
}

interface IcmpGlobal {
  ctlinput: (IpCtlInput | undefined)[];
}

function icmp_global(k: Kernel): IcmpGlobal {
  let g = k.netglobal['ip_ctlinput'] as IcmpGlobal | undefined;
  if (g === undefined) k.netglobal['ip_ctlinput'] = g = { ctlinput: [] };
  return g;
}

/** Register the ctlinput of IP protocol `proto` (UDP, TCP) in this kernel. */
export function ip_ctlinput_register(k: Kernel, proto: number, fn: IpCtlInput | null): void {
  icmp_global(k).ctlinput[proto] = fn ?? undefined;
}

function icmp_prc(type: number, code: number): number {
  switch (type) {
    case ICMP_UNREACH:
      switch (code) {
        case 0:
        case 6:
        case 8:
        case 11:
          return PRC_UNREACH_NET;
        case 1:
        case 7:
        case 12:
          return PRC_UNREACH_HOST;
        case 2:
          return PRC_UNREACH_PROTOCOL;
        case 3:
          return PRC_UNREACH_PORT;
        case ICMP_UNREACH_NEEDFRAG:
          return PRC_MSGSIZE;
        case 5:
          return PRC_UNREACH_SRCFAIL;
        default:
          return PRC_UNREACH_ADMIN_PROHIB;
      }
    case ICMP_TIMXCEED:
      return code === 0 ? PRC_TIMXCEED_INTRANS : PRC_TIMXCEED_REASS;
    case ICMP_PARAMPROB:
      return PRC_PARAMPROB;
    case ICMP_SOURCEQUENCH:
      return PRC_QUENCH;
    default:
      return -1;
  }
}

/** Largest valid code per error type (icps_badcode beyond it). */
function icmp_maxcode(type: number): number {
  switch (type) {
    case ICMP_UNREACH:
      return ICMP_UNREACH_PRECEDENCE_CUTOFF;
    case ICMP_TIMXCEED:
      return 1;
    case ICMP_PARAMPROB:
      return 2;
    case ICMP_SOURCEQUENCH:
      return 0;
    case ICMP_REDIRECT:
      return 3;
    default:
      return 255;
  }
}

/* ------------------------------------------------------------------------------ */
/* Input.                                                                          */

SYSINIT(K, 'icmp_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  ip_protox_register(curkernel(), IPPROTO_ICMP, icmp_input);
});

/** icmp_input(m, hlen): an ICMP message for us.  Consumes m. */
export function icmp_input(m: Mbuf, hlen: number): void {
  BKPT(S_icmp_input);
  const b = mtod(m);
  const icmplen = ((b[2]! << 8) | b[3]!) - hlen;
  const bad = icmp_check(b, hlen, icmplen);
  if (bad !== null) {
    ICMPSTAT_INC(ICPS[bad]);
    m_freem(m);
    return;
  }
  const icp = new Icmp(b, hlen);
  const type = icp.icmp_type;
  const code = icp.icmp_code;
  if (type <= ICMP_MAXTYPE) ICMPSTAT_INC(INHIST0 + type);
  switch (type) {
    case ICMP_UNREACH:
    case ICMP_TIMXCEED:
    case ICMP_PARAMPROB:
    case ICMP_SOURCEQUENCH: {
      if (code > icmp_maxcode(type)) {
        ICMPSTAT_INC(ICPS.icps_badcode);
        break;
      }
      if (icmp_check_adv(b, hlen, icmplen) !== null) {
        ICMPSTAT_INC(ICPS.icps_badlen);
        break;
      }
      const qoff = hlen + 8;
      const qip = b.subarray(qoff, hlen + icmplen);
      const qp = qip[9]!;
      const fn = icmp_global(curkernel()).ctlinput[qp];
      const cmd = icmp_prc(type, code);
      if (fn !== undefined && cmd >= 0)
        fn(cmd, in_addr_read(qip, 16), qip, cmd === PRC_MSGSIZE ? icp.icmp_nextmtu : 0);
      break;
    }
    case ICMP_ECHO:
      if (!(V_icmpbmcastecho.get() !== 0) && icmp_bmcast(m, b)) {
        ICMPSTAT_INC(ICPS.icps_bmcastecho);
        m_freem(m);
        return;
      }
      if (icmp_ratelimit(ICMP_ECHOREPLY)) {
        m_freem(m);
        return;
      }
      icp.icmp_type = ICMP_ECHOREPLY;
      ICMPSTAT_INC(ICPS.icps_reflect);
      ICMPSTAT_INC(OUTHIST0 + ICMP_ECHOREPLY);
      icmp_reflect(m);
      return;
    case ICMP_TSTAMP:
      if (!(V_icmpbmcastecho.get() !== 0) && icmp_bmcast(m, b)) {
        ICMPSTAT_INC(ICPS.icps_bmcasttstamp);
        m_freem(m);
        return;
      }
      if (icmplen < ICMP_TSLEN) {
        ICMPSTAT_INC(ICPS.icps_badlen);
        break;
      }
      if (icmp_ratelimit(ICMP_TSTAMPREPLY)) {
        m_freem(m);
        return;
      }
      icp.icmp_type = ICMP_TSTAMPREPLY;
      icp.icmp_rtime = iptime();
      icp.icmp_ttime = icp.icmp_rtime;
      ICMPSTAT_INC(ICPS.icps_reflect);
      ICMPSTAT_INC(OUTHIST0 + ICMP_TSTAMPREPLY);
      icmp_reflect(m);
      return;
    case ICMP_REDIRECT:
      if (code > 3) {
        ICMPSTAT_INC(ICPS.icps_badcode);
        break;
      }
      if (icmp_check_adv(b, hlen, icmplen) !== null) {
        ICMPSTAT_INC(ICPS.icps_badlen);
        break;
      }
      if (V_drop_redirect.get() !== 0) break;
      /* RFC 1122 §3.2.2.2: a host route through the new gateway, if the redirect
       * came from the current first hop (netinet/in_rmx.ts rtredirect checks). */
      rtredirect(in_addr_read(b, hlen + 8 + 16), icp.icmp_gwaddr, in_addr_read(b, 12));
      break;
    default:
      break;
  }
  /* Whatever the kernel did not consume goes to the raw ICMP sockets (ping). */
  if (!rip_input(m, hlen)) m_freem(m);
}

/** Was this datagram sent to a broadcast or multicast address? */
function icmp_bmcast(m: Mbuf, b: Uint8Array): boolean {
  if (m.m_flags & (M_BCAST | M_MCAST)) return true;
  const dst = in_addr_read(b, 16);
  return IN_MULTICAST(dst) || in_broadcast(dst, m.rcvif as Ifnet | null);
}

/* ------------------------------------------------------------------------------ */
/* Reflection and errors.                                                           */

/**
 * icmp_reflect(m): send the ICMP message in m (header and ICMP part already turned
 * into the answer) back to its source.  Consumes m.
 */
export function icmp_reflect(m: Mbuf): void {
  BKPT(S_icmp_reflect);
  const k = curkernel();
  const b = mtod(m);
  const hlen = (b[0]! & 15) << 2;
  const src = in_addr_read(b, 12);
  const dst = in_addr_read(b, 16);
  if (IN_MULTICAST(src) || IN_EXPERIMENTAL(src) || IN_ZERONET(src)) {
    ICMPSTAT_INC(ICPS.icps_badaddr);
    m_freem(m);
    return;
  }
  /* Our address to answer from: the destination when it is ours, or the broadcast
   * address of one of the receiving interface's subnets; else that interface's first
   * address; else the address of the route back. */
  const ifp = m.rcvif as Ifnet | null;
  let t: number | null = ifa_ifwithaddr(dst)?.ia_addr ?? null;
  if (t === null && ifp !== null)
    for (const ia of in_ifaddrs_of(ifp))
      if (ia.ia_broadaddr === dst || (src & ia.ia_netmask) >>> 0 === ia.ia_subnet) t = ia.ia_addr;
  if (t === null && ifp !== null) t = in_ifaddrs_of(ifp)[0]?.ia_addr ?? null;
  if (t === null) {
    const rt = V_rib.get().lookup(src);
    t = rt?.rt_ifa ?? null;
  }
  if (t === null) {
    ICMPSTAT_INC(ICPS.icps_noroute);
    m_freem(m);
    return;
  }
  /* Options kept in the answer (FreeBSD: RR, TS, security). */
  const opts: number[] = [];
  for (let cp = IP_HDR_LEN; cp < hlen;) {
    const opt = b[cp]!;
    if (opt === IPOPT_EOL) break;
    if (opt === IPOPT_NOP) {
      cp++;
      continue;
    }
    const olen = b[cp + 1] ?? 0;
    if (olen < 2 || cp + olen > hlen) break;
    if (opt === IPOPT_RR || opt === IPOPT_TS || opt === IPOPT_SECURITY)
      for (let i = 0; i < olen; i++) opts.push(b[cp + i]!);
    cp += olen;
  }
  while (opts.length & 3) opts.push(IPOPT_EOL);
  const ilen = ((b[2]! << 8) | b[3]!) - hlen;
  const nh = IP_HDR_LEN + opts.length;
  const n = k.mbpool.m_gethdr(nh + ilen);
  if (n === null) {
    m_freem(m);
    return;
  }
  const nb = mtod(n);
  nb[0] = 0x40 | (nh >>> 2);
  nb[1] = b[1]!;
  nb[2] = (nh + ilen) >>> 8;
  nb[3] = (nh + ilen) & 0xff;
  nb[8] = V_ip_defttl.get() & 0xff;
  nb[9] = IPPROTO_ICMP;
  in_addr_write(nb, 12, t);
  in_addr_write(nb, 16, src);
  nb.set(opts, IP_HDR_LEN);
  nb.set(b.subarray(hlen, hlen + ilen), nh);
  n.rcvif = m.rcvif;
  m_freem(m);
  /* icmp_send: the ICMP checksum over the message; ip_output does the rest (with the
   * options already in place, as a raw header). */
  const icp = new Icmp(nb, nh);
  icp.setChecksum(ilen);
  icmp_send(n);
}

function icmp_send(m: Mbuf): void {
  const b = mtod(m);
  /* ip_output fills id and checksum; the header (with options) is complete. */
  const hl = b[0]! & 15;
  b[6] = b[7] = 0;
  if (hl === 5) ip_output(m, null, null, 0, null, null);
  else {
    const opt = b.slice(IP_HDR_LEN, hl << 2);
    const n = m.pool.m_gethdr(m.len - opt.length);
    if (n === null) {
      m_freem(m);
      return;
    }
    const nb = mtod(n);
    nb.set(b.subarray(0, IP_HDR_LEN), 0);
    nb[0] = 0x45;
    nb.set(b.subarray(hl << 2), IP_HDR_LEN);
    nb[2] = n.len >>> 8;
    nb[3] = n.len & 0xff;
    n.rcvif = m.rcvif;
    m_freem(m);
    ip_output(n, opt, null, 0, null, null);
  }
}

/**
 * icmp_error(n, type, code, dest, mtu): send an ICMP error about the datagram n (IP
 * header at its start).  Consumes n.  For ICMP_PARAMPROB `code` is the pointer; for
 * ICMP_REDIRECT `dest` is the better gateway; for need-frag `mtu` the next-hop MTU.
 */
export function icmp_error(n: Mbuf, type: number, code: number, dest: number, mtu: number): void {
  BKPT(S_icmp_error);
  const k = curkernel();
  if (type !== ICMP_REDIRECT) ICMPSTAT_INC(ICPS.icps_error);
  const ob = mtod(n);
  if (n.len < IP_HDR_LEN) {
    ICMPSTAT_INC(ICPS.icps_oldshort);
    m_freem(n);
    return;
  }
  const oiphlen = (ob[0]! & 15) << 2;
  const oiplen = (ob[2]! << 8) | ob[3]!;
  const ooff = (ob[6]! << 8) | ob[7]!;
  /* Never about a fragment other than the first, nor a link broadcast/multicast. */
  if (ooff & IP_OFFMASK || n.m_flags & (M_BCAST | M_MCAST)) {
    m_freem(n);
    return;
  }
  const odst = in_addr_read(ob, 16);
  if (IN_MULTICAST(odst) || in_broadcast(odst, n.rcvif as Ifnet | null)) {
    m_freem(n);
    return;
  }
  if (oiplen < oiphlen + ICMP_MINLEN || n.len < oiphlen + ICMP_MINLEN) {
    ICMPSTAT_INC(ICPS.icps_oldshort);
    m_freem(n);
    return;
  }
  if (ob[9] === IPPROTO_ICMP && type !== ICMP_REDIRECT && !ICMP_INFOTYPE(ob[oiphlen]!)) {
    ICMPSTAT_INC(ICPS.icps_oldicmp);
    m_freem(n);
    return;
  }
  if (icmp_ratelimit(type)) {
    m_freem(n);
    return;
  }
  /* Quote the header and 8 bytes (RFC 792; FreeBSD's icmp_quotelen default 8). */
  const qlen = Math.min(oiphlen + 8, oiplen, n.len);
  const m = k.mbpool.m_gethdr(IP_HDR_LEN + ICMP_MINLEN + qlen);
  if (m === null) {
    m_freem(n);
    return;
  }
  const b = mtod(m);
  const icp = new Icmp(b, IP_HDR_LEN);
  icp.icmp_type = type;
  if (type === ICMP_PARAMPROB) {
    icp.icmp_pptr = code;
    icp.icmp_code = 0;
  } else {
    icp.icmp_code = code;
    if (type === ICMP_REDIRECT) icp.icmp_gwaddr = dest;
    else if (type === ICMP_UNREACH && code === ICMP_UNREACH_NEEDFRAG) icp.icmp_nextmtu = mtu;
  }
  b.set(ob.subarray(0, qlen), IP_HDR_LEN + ICMP_MINLEN);
  ICMPSTAT_INC(OUTHIST0 + Math.min(type, ICMP_MAXTYPE));
  /* The new header: from the original's destination back to its source; icmp_reflect
   * chooses our address and sends. */
  b[0] = 0x45;
  b[1] = ob[1]! & 0xfc;
  const len = IP_HDR_LEN + ICMP_MINLEN + qlen;
  b[2] = len >>> 8;
  b[3] = len & 0xff;
  b[9] = IPPROTO_ICMP;
  in_addr_write(b, 12, in_addr_read(ob, 12));
  in_addr_write(b, 16, odst);
  m.rcvif = n.rcvif;
  m_freem(n);
  icmp_reflect(m);
}
