/*
 * net/route/route_var.ts — routing table entries (rtentry) and the per-vnet routing
 * information base (Rib) over the LPM table of radix.ts.
 *
 * What: the kernel's side of the routing table as the IPv4 stack, the routing socket
 * and route(8)/netstat(1) need it: add / delete / change / get with FreeBSD's errno
 * values (rtrequest1_fib / rib_action in FreeBSD 13+), longest-prefix match for the
 * output path, a walk in netstat -rn order, a generation counter for route caches
 * (FreeBSD's rnh_gen), and the two flag spellings users see: netstat -rn's letters and
 * route(8)'s names.
 *
 * How: a Rib owns one RadixTable<Rtentry>; an Rtentry is a small mutable object (the
 * FreeBSD rtentry and its nexthop folded together: gateway, interface, MTU, flags and
 * counters live on the entry).  Every change bumps rnh_gen, so a cached route is
 * still valid iff the generation it was looked up at equals the current one.
 * Interfaces are referenced through the two fields a route needs (RtIfp), so this file
 * does not depend on ifnet.
 *
 * Errors (the errno values route(8) prints):
 *   add     EINVAL  prefix length not 0..32, RTF_GATEWAY with a link-level gateway,
 *                   weight or MTU out of range;   EEXIST  the prefix is present
 *   delete  ESRCH   no such prefix, or a gateway was given and does not match
 *   change  ESRCH   no such prefix;               EINVAL  as for add
 *   get     ESRCH   no such prefix (exact) / nothing matches (longest match)
 *   rtalloc ENETUNREACH  nothing matches (what ip_output reports)
 *
 * Where it differs from FreeBSD: no nexthop objects or nexthop groups, so no
 * multipath (ROUTE_MPATH): a second route to the same prefix is EEXIST whatever its
 * gateway; RTF_HOST is derived from the prefix length (/32 is a host route), as
 * FreeBSD does for an all-ones netmask; the destination is masked to its prefix as
 * rt_maskedcopy does; only IPv4 (one address family per Rib).
 * XXX: RTF_PINNED protection (interface routes that route(8) may not replace), route
 * expiry (rmx_expire is stored, not acted on), and the rtstat counters are left to
 * the code that wires the Rib into a vnet (a VNET_OBJ slot created by a VNET_SYSINIT)
 * and the routing socket.
 */

import { EEXIST, EINVAL, ENETUNREACH, ESRCH } from '../../sys/errno.js';
import {
  RTF_BLACKHOLE,
  RTF_BROADCAST,
  RTF_DONE,
  RTF_DYNAMIC,
  RTF_FIXEDMTU,
  RTF_FMASK,
  RTF_GATEWAY,
  RTF_GWFLAG_COMPAT,
  RTF_HOST,
  RTF_LLINFO,
  RTF_LOCAL,
  RTF_MODIFIED,
  RTF_MULTICAST,
  RTF_PINNED,
  RTF_PROTO1,
  RTF_PROTO2,
  RTF_PROTO3,
  RTF_REJECT,
  RTF_STATIC,
  RTF_STICKY,
  RTF_UP,
  RTF_XRESOLVE,
} from '../route.js';
import { PLEN_MASK, RadixTable } from './radix.js';

/** The interface a route points at, as little of an ifnet as a route needs. */
export interface RtIfp {
  readonly if_index: number;
  readonly if_xname: string;
}

/** A gateway: an IPv4 next hop, or a link (interface index + link-level address). */
export type RtGateway =
  | { readonly kind: 'inet'; readonly addr: number }
  | { readonly kind: 'link'; readonly index: number; readonly lladdr: Uint8Array };

export function gw_inet(addr: number): RtGateway {
  return { kind: 'inet', addr: addr >>> 0 };
}

export function gw_link(index: number, lladdr: Uint8Array = new Uint8Array(0)): RtGateway {
  return { kind: 'link', index, lladdr };
}

/** Do two gateways name the same next hop? */
export function gw_equal(a: RtGateway, b: RtGateway): boolean {
  if (a.kind === 'inet') return b.kind === 'inet' && a.addr === b.addr;
  if (b.kind !== 'link' || a.index !== b.index || a.lladdr.length !== b.lladdr.length) return false;
  for (let i = 0; i < a.lladdr.length; i++) if (a.lladdr[i] !== b.lladdr[i]) return false;
  return true;
}

/** Default route weight (RT_DEFAULT_WEIGHT). */
export const RT_DEFAULT_WEIGHT = 1;
/** Largest accepted weight (RT_MAX_WEIGHT). */
export const RT_MAX_WEIGHT = 16777215;

/** struct rtentry (with its nexthop's fields). */
export class Rtentry {
  /** Destination, host byte order, masked to rt_plen. */
  readonly rt_dst: number;
  /** Prefix length 0..32. */
  readonly rt_plen: number;
  rt_gateway: RtGateway;
  /** RTF_* (always RTF_UP; RTF_HOST iff rt_plen is 32). */
  rt_flags: number;
  rt_ifp: RtIfp | null;
  /** The local address packets sent on this route use as source (rt_ifa), or null. */
  rt_ifa: number | null;
  /** rmx_mtu: 0 = the interface's MTU. */
  rt_mtu: number;
  /** rmx_expire: uptime second when the route expires, 0 = never. */
  rt_expire: number;
  /** rmx_pksent: packets sent on this route (netstat's "Use"). */
  rt_pksent: number;
  /** rmx_weight. */
  rt_weight: number;

  constructor(
    dst: number,
    plen: number,
    gateway: RtGateway,
    flags: number,
    ifp: RtIfp | null,
    ifa: number | null,
    mtu: number,
    expire: number,
    weight: number,
  ) {
    this.rt_dst = dst;
    this.rt_plen = plen;
    this.rt_gateway = gateway;
    this.rt_flags = flags;
    this.rt_ifp = ifp;
    this.rt_ifa = ifa;
    this.rt_mtu = mtu;
    this.rt_expire = expire;
    this.rt_pksent = 0;
    this.rt_weight = weight;
  }

  /** The netmask, host byte order. */
  get rt_netmask(): number {
    return PLEN_MASK[this.rt_plen]!;
  }
}

/** What rtrequest(RTM_ADD) needs (struct rt_addrinfo, reduced). */
export interface RtAddRequest {
  readonly dst: number;
  /** Prefix length; 32 for a host route. */
  readonly plen: number;
  readonly gateway: RtGateway;
  /** RTF_* as route(8) sends them (RTF_UP is added; RTF_HOST follows plen). */
  readonly flags?: number;
  readonly ifp?: RtIfp | null;
  readonly ifa?: number | null;
  readonly mtu?: number;
  readonly expire?: number;
  readonly weight?: number;
}

/** What RTM_CHANGE may change; absent fields are kept. */
export interface RtChangeRequest {
  readonly gateway?: RtGateway;
  /** New values of the flags selected by fmask (only RTF_FMASK bits are honoured). */
  readonly flags?: number;
  readonly fmask?: number;
  readonly ifp?: RtIfp | null;
  readonly ifa?: number | null;
  readonly mtu?: number;
  readonly expire?: number;
  readonly weight?: number;
}

/** The result of a RIB operation: 0 and the entry, or an errno and null. */
export type RtResult =
  { readonly error: 0; readonly rt: Rtentry } | { readonly error: number; readonly rt: null };

function ok(rt: Rtentry): RtResult {
  return { error: 0, rt };
}

function err(error: number): RtResult {
  return { error, rt: null };
}

function validPlen(plen: number): boolean {
  return Number.isInteger(plen) && plen >= 0 && plen <= 32;
}

function validU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

/** Flags the kernel keeps on a route (message-only bits dropped). */
const RTF_KEEP = ~(RTF_DONE | RTF_GWFLAG_COMPAT);

/**
 * A routing information base: one address family (IPv4) of one FIB of one vnet.
 * Created per vnet by the code that wires routing into the stack.
 */
export class Rib {
  private readonly rnh = new RadixTable<Rtentry>();
  /** Generation: bumped by every successful add, delete and change. */
  rnh_gen = 0;

  constructor(readonly rib_fibnum = 0) {}

  /** Number of routes. */
  get size(): number {
    return this.rnh.size;
  }

  /** RTM_ADD. */
  add(req: RtAddRequest): RtResult {
    if (!validPlen(req.plen) || !Number.isInteger(req.dst)) return err(EINVAL);
    const flags0 = req.flags ?? 0;
    if ((flags0 & RTF_GATEWAY) !== 0 && req.gateway.kind !== 'inet') return err(EINVAL);
    const mtu = req.mtu ?? 0;
    const weight = req.weight ?? RT_DEFAULT_WEIGHT;
    if (!validU32(mtu) || !Number.isInteger(weight) || weight < 1 || weight > RT_MAX_WEIGHT)
      return err(EINVAL);
    let flags = (flags0 & RTF_KEEP & ~RTF_HOST) | RTF_UP;
    if (req.plen === 32) flags |= RTF_HOST;
    if (mtu !== 0) flags |= RTF_FIXEDMTU;
    const dst = (req.dst & PLEN_MASK[req.plen]!) >>> 0;
    const rt = new Rtentry(
      dst,
      req.plen,
      req.gateway,
      flags >>> 0,
      req.ifp ?? null,
      req.ifa ?? null,
      mtu,
      req.expire ?? 0,
      weight,
    );
    if (!this.rnh.insert(dst, req.plen, rt)) return err(EEXIST);
    this.rnh_gen++;
    return ok(rt);
  }

  /**
   * RTM_DELETE of (dst, plen).  With a gateway, the route's gateway must match
   * (FreeBSD checks it the same way when RTA_GATEWAY is given).
   */
  delete(dst: number, plen: number, gateway: RtGateway | null = null): RtResult {
    if (!validPlen(plen)) return err(EINVAL);
    const rt = this.rnh.get(dst, plen);
    if (rt === undefined) return err(ESRCH);
    if (gateway !== null && !gw_equal(gateway, rt.rt_gateway)) return err(ESRCH);
    this.rnh.delete(dst, plen);
    this.rnh_gen++;
    return ok(rt);
  }

  /** RTM_CHANGE of (dst, plen). */
  change(dst: number, plen: number, ch: RtChangeRequest): RtResult {
    if (!validPlen(plen)) return err(EINVAL);
    const rt = this.rnh.get(dst, plen);
    if (rt === undefined) return err(ESRCH);
    if (ch.mtu !== undefined && !validU32(ch.mtu)) return err(EINVAL);
    if (
      ch.weight !== undefined &&
      (!Number.isInteger(ch.weight) || ch.weight < 1 || ch.weight > RT_MAX_WEIGHT)
    )
      return err(EINVAL);
    let flags = rt.rt_flags;
    if (ch.gateway !== undefined) {
      /* RTF_GATEWAY follows the request (route(8) sets it for an address gateway). */
      const gwflag =
        ch.flags !== undefined
          ? ch.flags & RTF_GATEWAY
          : ch.gateway.kind === 'inet'
            ? RTF_GATEWAY
            : 0;
      if (gwflag !== 0 && ch.gateway.kind !== 'inet') return err(EINVAL);
      flags = (flags & ~RTF_GATEWAY) | gwflag;
    }
    if (ch.fmask !== undefined && ch.flags !== undefined) {
      const m = ch.fmask & RTF_FMASK;
      flags = (flags & ~m) | (ch.flags & m);
    }
    if (ch.gateway !== undefined) rt.rt_gateway = ch.gateway;
    if (ch.ifp !== undefined) rt.rt_ifp = ch.ifp;
    if (ch.ifa !== undefined) rt.rt_ifa = ch.ifa;
    if (ch.mtu !== undefined) {
      rt.rt_mtu = ch.mtu;
      flags = ch.mtu !== 0 ? flags | RTF_FIXEDMTU : flags & ~RTF_FIXEDMTU;
    }
    if (ch.expire !== undefined) rt.rt_expire = ch.expire;
    if (ch.weight !== undefined) rt.rt_weight = ch.weight;
    rt.rt_flags = flags >>> 0;
    this.rnh_gen++;
    return ok(rt);
  }

  /**
   * RTM_GET: with a prefix length, the exact route (dst, plen); without, the longest
   * match for dst (what `route get ADDR` asks).  ESRCH if there is none.
   */
  get(dst: number, plen?: number): RtResult {
    if (plen === undefined) {
      const rt = this.rnh.lookup(dst >>> 0);
      return rt === undefined ? err(ESRCH) : ok(rt);
    }
    if (!validPlen(plen)) return err(EINVAL);
    const rt = this.rnh.get(dst, plen);
    return rt === undefined ? err(ESRCH) : ok(rt);
  }

  /** Longest-prefix match for the forwarding path: the route or null.  No allocation. */
  lookup(addr: number): Rtentry | null {
    return this.rnh.lookup(addr) ?? null;
  }

  /** rtalloc: longest match, ENETUNREACH on a miss (the caller decides about REJECT). */
  rtalloc(addr: number): RtResult {
    const rt = this.rnh.lookup(addr);
    return rt === undefined ? err(ENETUNREACH) : ok(rt);
  }

  /** Every route in netstat -rn order; fn returning true stops the walk. */
  walk(fn: (rt: Rtentry) => boolean | void): void {
    this.rnh.walk((_d, _l, rt) => fn(rt));
  }

  /** Every route in netstat -rn order. */
  entries(): Rtentry[] {
    const out: Rtentry[] = [];
    this.rnh.walk((_d, _l, rt) => {
      out.push(rt);
    });
    return out;
  }

  /**
   * Delete every route for which pred is true (interface detach, `route flush`);
   * returns how many.  One generation bump if anything went.
   */
  deleteIf(pred: (rt: Rtentry) => boolean): number {
    const doomed = this.entries().filter(pred);
    for (const rt of doomed) this.rnh.delete(rt.rt_dst, rt.rt_plen);
    if (doomed.length > 0) this.rnh_gen++;
    return doomed.length;
  }
}

/* ------------------------------------------------------------------------------ */
/* Flag spellings.                                                                 */

/**
 * netstat -rn's Flags column (usr.bin/netstat/route.c, bits[]), in its order:
 *
 *   U RTF_UP        G RTF_GATEWAY   H RTF_HOST      R RTF_REJECT
 *   D RTF_DYNAMIC   M RTF_MODIFIED  d RTF_DONE      X RTF_XRESOLVE
 *   S RTF_STATIC    1 RTF_PROTO1    2 RTF_PROTO2    3 RTF_PROTO3
 *   B RTF_BLACKHOLE b RTF_BROADCAST L RTF_LLINFO
 *
 * RTF_LOCAL, RTF_MULTICAST, RTF_FIXEDMTU, RTF_PINNED and RTF_STICKY have no letter
 * (netstat prints nothing for them).  Older netstat also had C (RTF_CLONING),
 * W (RTF_WASCLONED) and c (RTF_PRCLONING), whose bits are unused now.
 */
export const RT_FLAG_LETTERS: readonly (readonly [number, string])[] = [
  [RTF_UP, 'U'],
  [RTF_GATEWAY, 'G'],
  [RTF_HOST, 'H'],
  [RTF_REJECT, 'R'],
  [RTF_DYNAMIC, 'D'],
  [RTF_MODIFIED, 'M'],
  [RTF_DONE, 'd'],
  [RTF_XRESOLVE, 'X'],
  [RTF_STATIC, 'S'],
  [RTF_PROTO1, '1'],
  [RTF_PROTO2, '2'],
  [RTF_PROTO3, '3'],
  [RTF_BLACKHOLE, 'B'],
  [RTF_BROADCAST, 'b'],
  [RTF_LLINFO, 'L'],
];

/** The Flags column of netstat -rn: rt_flags_letters(RTF_UP|RTF_GATEWAY|RTF_STATIC) = "UGS". */
export function rt_flags_letters(flags: number): string {
  let s = '';
  for (const [bit, c] of RT_FLAG_LETTERS) if ((flags & bit) !== 0) s += c;
  return s;
}

/**
 * route(8)'s names (sbin/route/route.c, routeflags[]), in bit order, as `route get`
 * prints them: "flags: <UP,GATEWAY,HOST,DYNAMIC,DONE>".
 */
export const RT_FLAG_NAMES: readonly (readonly [number, string])[] = [
  [RTF_UP, 'UP'],
  [RTF_GATEWAY, 'GATEWAY'],
  [RTF_HOST, 'HOST'],
  [RTF_REJECT, 'REJECT'],
  [RTF_DYNAMIC, 'DYNAMIC'],
  [RTF_MODIFIED, 'MODIFIED'],
  [RTF_DONE, 'DONE'],
  [RTF_XRESOLVE, 'XRESOLVE'],
  [RTF_LLINFO, 'LLINFO'],
  [RTF_STATIC, 'STATIC'],
  [RTF_BLACKHOLE, 'BLACKHOLE'],
  [RTF_PROTO2, 'PROTO2'],
  [RTF_PROTO1, 'PROTO1'],
  [0x10000, 'PRCLONING'],
  [0x20000, 'WASCLONED'],
  [RTF_PROTO3, 'PROTO3'],
  [RTF_FIXEDMTU, 'FIXEDMTU'],
  [RTF_PINNED, 'PINNED'],
  [RTF_LOCAL, 'LOCAL'],
  [RTF_BROADCAST, 'BROADCAST'],
  [RTF_MULTICAST, 'MULTICAST'],
  [RTF_STICKY, 'STICKY'],
];

/** route(8)'s flag list, without the angle brackets: "UP,GATEWAY,HOST,STATIC". */
export function rt_flags_names(flags: number): string {
  const out: string[] = [];
  for (const [bit, n] of RT_FLAG_NAMES) if ((flags & bit) !== 0) out.push(n);
  return out.join(',');
}
