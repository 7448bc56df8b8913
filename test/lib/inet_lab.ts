/*
 * test/lib/inet_lab.ts — IPv4 data-path labs: vnets (jails with vnet) joined by epairs,
 * addresses added as in_control does (netinet/in_control.ts in_aifaddr: address lists,
 * prefix route, local route via lo0, gratuitous ARP), static routes, ICMP echo
 * requests built by hand, and counter snapshots/deltas per vnet.
 */

import assert from 'node:assert/strict';
import type { Kernel } from '../../src/kern/kernel.js';
import { kern_jail_set, prison_find_name, type Prison } from '../../src/kern/kern_jail.js';
import { if_clone_create } from '../../src/net/if_clone.js';
import { ifioctl_generic, ifunit, if_up, if_vmove } from '../../src/net/if.js';
import { SIOCSIFCAP } from '../../src/sys/sockio.js';
import { with_vnet, type Vnet } from '../../src/net/vnet.js';
import { IFF_DRV_RUNNING, IFF_UP, type Ifnet } from '../../src/net/if_var.js';
import { V_loif } from '../../src/net/if_loop.js';
import { in_aifaddr } from '../../src/netinet/in_control.js';
import { V_rib, in_ifaddr_bynet, type InIfaddr } from '../../src/netinet/in_var.js';
import { gw_inet } from '../../src/net/route/route_var.js';
import { RTF_GATEWAY, RTF_STATIC } from '../../src/net/route.js';
import { in_addr, in_len2mask, type in_addr_t } from '../../src/netinet/in.js';
import { mtod, type Mbuf } from '../../src/sys/mbuf.js';
import { in_cksum } from '../../src/netinet/in_cksum.js';
import { ip_output } from '../../src/netinet/ip_output.js';
import { V_ipforwarding, V_ipstat } from '../../src/netinet/ip_var.js';
import { V_arpstat } from '../../src/netinet/if_ether.js';
import { icmpstat_fetch } from '../../src/netinet/icmp.js';

/** Dotted quad to a host-order number. */
export function ip(s: string): in_addr_t {
  const p = s.split('.').map(Number);
  return in_addr(((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0);
}

/** Run fn in vnet v of kernel k (thread0, curvnet set). */
export function inv<T>(k: Kernel, v: Vnet, fn: () => T): T {
  return k.enter(() => with_vnet(v, fn));
}

/** A jail with its own vnet. */
export function jail(k: Kernel, name: string): Vnet {
  const j = k.enter(() => kern_jail_set(k, k.prison0, { name, vnet: true, persist: true }));
  assert.equal(j.error, 0);
  return j.pr!.pr_vnet!;
}

/** lo0 up and running in the current vnet (rc.conf's ifconfig lo0 up). */
export function lo_up(): void {
  const lo = V_loif.get();
  if (lo === null) return;
  lo.if_flags |= IFF_UP;
  lo.if_drv_flags |= IFF_DRV_RUNNING;
}

/** ifconfig IFP inet A.B.C.D/LEN (in the current vnet). */
export function addaddr(ifp: Ifnet, cidr: string): InIfaddr {
  const [a, l] = cidr.split('/');
  lo_up();
  const e = in_aifaddr(ifp, {
    addr: ip(a!),
    mask: in_len2mask(Number(l ?? 32)),
    broadaddr: null,
  });
  assert.equal(e, 0, `in_aifaddr ${cidr}`);
  if_up(ifp);
  const ia = ifp.if_addrhead.find((x) => (x as InIfaddr).ia_addr === ip(a!)) as InIfaddr;
  assert.ok(ia);
  return ia;
}

/** route add DST/LEN GW (in the current vnet). */
export function route_add(cidr: string, gw: string): void {
  const [d, l] = cidr.split('/');
  const ia = in_ifaddr_bynet(ip(gw));
  assert.ok(ia, `gateway ${gw} is directly connected`);
  const r = V_rib.get().add({
    dst: ip(d!),
    plen: Number(l ?? 32),
    gateway: gw_inet(ip(gw)),
    flags: RTF_GATEWAY | RTF_STATIC,
    ifp: ia.ifa_ifp,
    ifa: ia.ia_addr,
  });
  assert.equal(r.error, 0, `route add ${cidr} ${gw}`);
}

/**
 * An epair whose a side is in va and b side in vb (both up).  Created in vnet0 (whose
 * cloner numbers units for the whole lab) and moved, as `ifconfig epairNb vnet j` does.
 */
export function epair(k: Kernel, va: Vnet, vb: Vnet): { a: Ifnet; b: Ifnet } {
  const { a, b } = inv(k, k.vnet0, () => {
    const r = if_clone_create('epair', null);
    assert.equal(r.error, 0);
    const a = ifunit(r.name)!;
    const b = ifunit(r.name.slice(0, -1) + 'b')!;
    if (va !== k.vnet0) if_vmove(a, va);
    if (vb !== k.vnet0) if_vmove(b, vb);
    return { a, b };
  });
  inv(k, va, () => if_up(a));
  inv(k, vb, () => if_up(b));
  return { a, b };
}

/**
 * SIOCSIFCAP on ifp, as `ifconfig IF -txcsum` ends up doing: `cap` is the whole set of
 * capabilities wanted on (an epair applies TXCSUM to both of its ends).
 */
export function ifcap_set(k: Kernel, ifp: Ifnet, cap: number): void {
  const r = new Uint8Array(32);
  for (let i = 0; i < ifp.if_xname.length; i++) r[i] = ifp.if_xname.charCodeAt(i);
  new DataView(r.buffer).setInt32(16, cap, true);
  assert.equal(
    inv(k, ifp.if_vnet!, () => ifioctl_generic(ifp, SIOCSIFCAP, r, null)),
    0,
    `SIOCSIFCAP ${ifp.if_xname}`,
  );
}

export interface Lab3 {
  k: Kernel;
  h1: Vnet;
  r: Vnet;
  h2: Vnet;
  ifs: Ifnet[];
}

/**
 * Three vnets (jails h1, r, h2) in a line, r forwarding (net.inet.ip.forwarding=1):
 * h1 192.0.2.1 — (192.0.2.254) r (198.51.100.254) — 198.51.100.2 h2, over epair0 and
 * epair1 (ifs: epair0a, epair0b, epair1a, epair1b).  h1 routes 198.51.100/24 and
 * 203.0.113/24 through r; h2 routes back unless backRoute is false.
 */
export function lab3(k: Kernel, backRoute = true): Lab3 {
  const h1 = jail(k, 'h1');
  const r = jail(k, 'r');
  const h2 = jail(k, 'h2');
  const e0 = epair(k, h1, r);
  const e1 = epair(k, r, h2);
  inv(k, h1, () => {
    addaddr(e0.a, '192.0.2.1/24');
    route_add('198.51.100.0/24', '192.0.2.254');
    route_add('203.0.113.0/24', '192.0.2.254');
  });
  inv(k, r, () => {
    addaddr(e0.b, '192.0.2.254/24');
    addaddr(e1.a, '198.51.100.254/24');
    V_ipforwarding.set(1);
  });
  inv(k, h2, () => {
    addaddr(e1.b, '198.51.100.2/24');
    if (backRoute) route_add('192.0.2.0/24', '198.51.100.254');
  });
  return { k, h1, r, h2, ifs: [e0.a, e0.b, e1.a, e1.b] };
}

export interface Lab2 {
  k: Kernel;
  va: Vnet;
  vb: Vnet;
  a: Ifnet;
  b: Ifnet;
}

/** The jail called name (a lab's "a", "b", "r"...); the test fails when there is none. */
export function pr(k: Kernel, name: string): Prison {
  const p = prison_find_name(k, k.prison0, name);
  assert.ok(p !== null, `no jail ${name}`);
  return p;
}

/** Two vnets (jails "a" and "b") over epair0: 192.0.2.1/24 and 192.0.2.2/24. */
export function lab2(k: Kernel): Lab2 {
  const va = jail(k, 'a');
  const vb = jail(k, 'b');
  const { a, b } = epair(k, va, vb);
  inv(k, va, () => addaddr(a, '192.0.2.1/24'));
  inv(k, vb, () => addaddr(b, '192.0.2.2/24'));
  return { k, va, vb, a, b };
}

export interface EchoOpts {
  src?: number;
  ttl?: number;
  /** ICMP data bytes (default 56, as ping). */
  datalen?: number;
  id?: number;
  seq?: number;
  df?: boolean;
  /** IP options bytes (padded by ip_output). */
  opt?: Uint8Array;
  type?: number;
  flags?: number;
}

/** Build an ICMP echo request datagram (IP header left for ip_output to finish). */
export function echo_request(k: Kernel, dst: number, o: EchoOpts = {}): Mbuf {
  const dl = o.datalen ?? 56;
  const m = k.mbpool.m_gethdr(20 + 8 + dl)!;
  const b = mtod(m);
  b[0] = 0x45;
  b[2] = (28 + dl) >>> 8;
  b[3] = (28 + dl) & 0xff;
  if (o.df) b[6] = 0x40;
  b[8] = o.ttl ?? 0;
  b[9] = 1;
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  dv.setUint32(12, o.src ?? 0);
  dv.setUint32(16, dst);
  b[20] = o.type ?? 8;
  dv.setUint16(24, o.id ?? 0x1234);
  dv.setUint16(26, o.seq ?? 0);
  for (let i = 0; i < dl; i++) b[28 + i] = i & 0xff;
  const s = in_cksum(b, 20, 8 + dl);
  dv.setUint16(22, s);
  return m;
}

/** ping -c 1: send one echo request from the current vnet; returns ip_output's errno. */
export function ping1(k: Kernel, dst: number, o: EchoOpts = {}): number {
  return ip_output(echo_request(k, dst, o), o.opt ?? null, null, o.flags ?? 0, null, null);
}

export type Counters = Record<string, number>;

export function ipstat(k: Kernel, v: Vnet): Counters {
  return inv(k, v, () => V_ipstat.fetchAll(v));
}
export function arpstat(k: Kernel, v: Vnet): Counters {
  return inv(k, v, () => V_arpstat.fetchAll(v));
}

/** icmpstat of vnet v, histograms as "icps_inhist[N]" keys. */
export function icmpstat(k: Kernel, v: Vnet): Counters {
  const s = inv(k, v, () => icmpstat_fetch());
  const out: Counters = {};
  for (const [key, val] of Object.entries(s)) {
    if (Array.isArray(val)) val.forEach((x: number, i: number) => (out[`${key}[${i}]`] = x));
    else out[key] = val as number;
  }
  return out;
}

/** Non-zero differences now - before. */
export function delta(before: Counters, now: Counters): Counters {
  const d: Counters = {};
  for (const [f, v] of Object.entries(now)) if (v !== (before[f] ?? 0)) d[f] = v - (before[f] ?? 0);
  return d;
}
