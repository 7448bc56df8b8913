/*
 * netinet/in_rmx.ts — IPv4 routing helpers for the datagram path (FreeBSD
 * sys/netinet/in_rmx.c, sys/net/route.c: rtalloc, rt_setgate, in_ifadown, and the
 * ICMP redirect half of sys/net/route/route_ctl.c rib_add_redirect with icmp_input's
 * icmp_verify_redirect_gateway).
 *
 *   - rtalloc(dst): the longest match in curvnet's V_rib, or null; counts rmx_pksent
 *     (what ip_output calls once per packet);
 *   - rt_setgate(rt, gw): a new gateway for a route (RTM_CHANGE from the kernel);
 *   - in_ifadown(ifp): drop the dynamic (redirect) routes through an interface;
 *   - rtredirect(dst, gateway, src): an ICMP redirect from src saying "use gateway for
 *     dst".  Accepted only when (FreeBSD's icmp_verify_redirect_gateway) the new gateway
 *     is on a directly connected network and is not one of our addresses, the current
 *     route to dst goes through a gateway, that gateway is src (the redirect comes from
 *     our first hop), and the new gateway is on the same interface.  Installs (or
 *     modifies, RTF_MODIFIED) the host route dst/32 with RTF_GATEWAY|RTF_HOST|
 *     RTF_DYNAMIC, announces RTM_REDIRECT on the routing sockets, and arms a callout that
 *     deletes it after net.inet.icmp.redirtimeout seconds (default 600; 0 = never).
 *     Returns 0 or the errno of the refusal (EHOSTUNREACH gateway not on a connected
 *     network or ours, ESRCH no current gateway route, EPERM the redirect is not from
 *     the first hop or changes the interface, EEXIST a static host route is present).
 *     The ICMP code (someone else's) counts; this file does not.  route get prints the
 *     route's flags as UP,GATEWAY,HOST,DYNAMIC,DONE (RTF_DONE is the reply's).
 *
 * Differences: the expiry is a callout per redirect route (FreeBSD's expire is checked
 * by a per-rib timer, rt_expire_timer); the route is not marked RTF_DYNAMIC|RTF_MODIFIED
 * both, as FreeBSD does only when it modifies an existing dynamic route.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SI_ORDER_ANY, SI_SUB_PROTO_DOMAIN } from '../sys/kernel.js';
import {
  CURVNET_RESTORE,
  CURVNET_SET,
  VNET_DEFINE_INT,
  VNET_OBJ,
  VNET_SYSINIT,
  VNET_SYSUNINIT,
  curvnet,
  type VnetI32,
} from '../net/vnet.js';
import { CTLFLAG_RW, CTLFLAG_VNET, SYSCTL_INT } from '../sys/sysctl.js';
import { Callout, callout_init, callout_reset_sbt, callout_stop } from '../kern/kern_timeout.js';
import { SBT_1S, time_uptime } from '../kern/kern_clock.js';
import { EEXIST, EHOSTUNREACH, EPERM, ESRCH } from '../sys/errno.js';
import {
  RTAX_AUTHOR,
  RTAX_DST,
  RTAX_GATEWAY,
  RTF_DYNAMIC,
  RTF_GATEWAY,
  RTF_HOST,
  RTF_MODIFIED,
  RTF_STATIC,
  RTF_UP,
  RTM_ADD,
  RTM_CHANGE,
  RTM_DELETE,
  RTM_REDIRECT,
  rt_addrs,
  sa_inet,
} from '../net/route.js';
import { gw_inet, type RtGateway, type Rtentry } from '../net/route/route_var.js';
import { rt_missmsg, rt_routemsg } from '../net/rtsock.js';
import type { Ifnet } from '../net/if_var.js';
import type { Vnet } from '../net/vnet.js';
import { V_rib, ifa_ifwithaddr, in_ifaddr_bynet } from './in_var.js';
import { DB_SHOW_COMMAND } from '../ddb/ddb.js';
import { rt_flags_letters } from '../net/route/route_var.js';
import { inet_ntoa } from './in.js';
import { in_addr, type in_addr_t } from './in.js';

export const K = new ObjFile('netinet/in_rmx.ts', VIMAGEID('src/netinet/in_rmx.ts'));

/** net.inet.icmp.redirtimeout: seconds a redirect route lives (0 = forever). */
export const V_icmp_redirtimeout: VnetI32 = VNET_DEFINE_INT(K, 'icmp_redirtimeout', 600);
SYSCTL_INT(
  K,
  'net.inet.icmp.redirtimeout',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_icmp_redirtimeout,
  'Delay in seconds before expiring redirect route',
);

/** The expiry callouts of this vnet's redirect routes. */
export const V_rt_redirects = VNET_OBJ<Map<Rtentry, Callout>>(K, 'rt_redirects');

VNET_SYSINIT(K, 'in_rmx_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  V_rt_redirects.set(new Map());
});

VNET_SYSUNINIT(K, 'in_rmx_uninit', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  const m = V_rt_redirects.get() as Map<Rtentry, Callout> | undefined;
  if (m === undefined) return;
  for (const c of m.values()) callout_stop(c);
  m.clear();
});

/** rtalloc(dst): longest match in curvnet, counting a packet sent on it; null on a miss. */
export function rtalloc(dst: in_addr_t | number): Rtentry | null {
  const rt = V_rib.get().lookup(dst >>> 0);
  if (rt !== null) rt.rt_pksent++;
  return rt;
}

/** rt_setgate(rt, gw): give a route a new gateway (and tell the routing sockets). */
export function rt_setgate(rt: Rtentry, gw: RtGateway): number {
  const r = V_rib.get().change(rt.rt_dst, rt.rt_plen, { gateway: gw });
  if (r.rt !== null) rt_routemsg(RTM_CHANGE, r.rt);
  return r.error;
}

function rt_ifp_is(rt: Rtentry, ifp: Ifnet): boolean {
  return (
    rt.rt_ifp !== null && rt.rt_ifp.if_index === ifp.if_index && rt.rt_ifp.if_xname === ifp.if_xname
  );
}

/** in_ifadown(ifp): delete the dynamic routes through ifp; returns how many. */
export function in_ifadown(ifp: Ifnet): number {
  const rib = V_rib.get();
  const gone: Rtentry[] = [];
  rib.walk((rt) => {
    if (rt.rt_flags & RTF_DYNAMIC && rt_ifp_is(rt, ifp)) gone.push(rt);
  });
  for (const rt of gone) {
    rib.delete(rt.rt_dst, rt.rt_plen);
    rt_redirect_forget(rt);
    rt_routemsg(RTM_DELETE, rt);
  }
  return gone.length;
}

function rt_redirect_forget(rt: Rtentry): void {
  const m = V_rt_redirects.get();
  const c = m.get(rt);
  if (c !== undefined) {
    callout_stop(c);
    m.delete(rt);
  }
}

/** The expiry of a redirect route (runs from softclock: curvnet set from the arg). */
function rt_redirect_expire(arg: unknown): void {
  const { vnet, rt } = arg as { vnet: Vnet | null; rt: Rtentry };
  const saved = vnet !== null ? CURVNET_SET(vnet) : null;
  try {
    const m = V_rt_redirects.get() as Map<Rtentry, Callout> | undefined;
    if (m === undefined) return;
    m.delete(rt);
    const rib = V_rib.get();
    if (rib.get(rt.rt_dst, rt.rt_plen).rt !== rt) return;
    rib.delete(rt.rt_dst, rt.rt_plen);
    rt_routemsg(RTM_DELETE, rt);
  } finally {
    if (vnet !== null) CURVNET_RESTORE(saved);
  }
}

function rt_redirect_arm(rt: Rtentry): void {
  const secs = V_icmp_redirtimeout.get();
  rt_redirect_forget(rt);
  if (secs <= 0) {
    rt.rt_expire = 0;
    return;
  }
  rt.rt_expire = time_uptime() + secs;
  const c = new Callout();
  callout_init(c);
  V_rt_redirects.get().set(rt, c);
  callout_reset_sbt(c, secs * SBT_1S, 0, rt_redirect_expire, { vnet: curvnet(), rt });
}

/**
 * rtredirect(dst, gateway, src): act on an ICMP redirect (see the header).  Returns 0
 * when the host route was installed or updated, else the errno of the refusal.
 */
export function rtredirect(
  dst: in_addr_t | number,
  gateway: in_addr_t | number,
  src: in_addr_t | number,
): number {
  dst = dst >>> 0;
  gateway = gateway >>> 0;
  src = src >>> 0;
  const ia = in_ifaddr_bynet(in_addr(gateway));
  if (ia === null || ifa_ifwithaddr(in_addr(gateway)) !== null) return EHOSTUNREACH;
  const rib = V_rib.get();
  const cur = rib.lookup(dst);
  if (cur === null || !(cur.rt_flags & RTF_GATEWAY) || cur.rt_gateway.kind !== 'inet') return ESRCH;
  if (cur.rt_gateway.addr !== src) return EPERM;
  if (cur.rt_ifp !== null && !rt_ifp_is(cur, ia.ifa_ifp)) return EPERM;
  let rt: Rtentry;
  if (cur.rt_plen === 32) {
    /* An existing host route: a dynamic one is modified, a static one stays. */
    if (!(cur.rt_flags & RTF_DYNAMIC) || cur.rt_flags & RTF_STATIC) return EEXIST;
    const r = rib.change(dst, 32, { gateway: gw_inet(gateway), ifp: ia.ifa_ifp, ifa: ia.ia_addr });
    if (r.rt === null) return r.error;
    r.rt.rt_flags |= RTF_MODIFIED;
    rt = r.rt;
    rt_redirect_arm(rt);
    rt_routemsg(RTM_CHANGE, rt);
  } else {
    const r = rib.add({
      dst,
      plen: 32,
      gateway: gw_inet(gateway),
      flags: RTF_UP | RTF_GATEWAY | RTF_HOST | RTF_DYNAMIC,
      ifp: ia.ifa_ifp,
      ifa: ia.ia_addr,
    });
    if (r.rt === null) return r.error;
    rt = r.rt;
    rt_redirect_arm(rt);
    rt_routemsg(RTM_ADD, rt);
  }
  const a = rt_addrs();
  a[RTAX_DST] = sa_inet(dst);
  a[RTAX_GATEWAY] = sa_inet(gateway);
  a[RTAX_AUTHOR] = sa_inet(src);
  rt_missmsg(RTM_REDIRECT, a, rt.rt_flags, 0);
  return 0;
}

/* ------------------------------------------------------------------------------ */
/* DDB: show routetable (FreeBSD's db_show_routetable, every vnet).                */

DB_SHOW_COMMAND(
  K,
  'routetable',
  (db) => {
    const k = db.k;
    const vnets = k.vimage ? [...k.vnet_head].reverse() : [k.vnet0];
    for (const v of vnets) {
      const rib = V_rib.on(v) as ReturnType<typeof V_rib.get> | undefined;
      if (rib === undefined) continue;
      db.printf(`vnet ${v.vnet_id} (${rib.size} routes):\n`);
      for (const rt of rib.entries()) {
        const g = rt.rt_gateway;
        const gw = g.kind === 'inet' ? inet_ntoa(g.addr) : `link#${g.index}`;
        db.printf(
          `  ${`${inet_ntoa(rt.rt_dst)}/${rt.rt_plen}`.padEnd(19)} ${gw.padEnd(16)} ` +
            `${rt_flags_letters(rt.rt_flags).padEnd(6)} ${rt.rt_ifp?.if_xname ?? '-'}\n`,
        );
      }
    }
  },
  'the IPv4 routing table of every vnet',
);
