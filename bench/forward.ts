/*
 * bench/forward.ts — IPv4 forwarding rate through a router (issue 4, benchmarks).
 *
 * The router is vnet0 of a kernel with net.inet.ip.forwarding=1 and two epairs:
 * epair0a 192.0.2.254/24 and epair1a 198.51.100.254/24, with a static ARP entry for
 * the destination 198.51.100.2 on epair1a.  Ethernet frames carrying UDP datagrams
 * with 64-byte payloads (192.0.2.1 → 198.51.100.2, TTL 64, valid checksums) go in at
 * epair0b; each crosses the epair into epair0a, ether_input, the IP netisr, ip_input,
 * ip_forward, ip_output and ether_output, and leaves by epair1a (its peer is down, so
 * the frame is dropped there).  The kernel runs until idle after each batch of 128.
 * Every forwarded packet is counted in ipstat (ips_forward), which the bench checks.
 *
 * The same router is built in a GENERIC (VIMAGE) kernel and a NOVIMAGE kernel; rounds
 * alternate between them.  Figure: VIMAGE packets/s vs NOVIMAGE packets/s.
 * Goal (issue 4): VIMAGE costs at most 5%, i.e. ratio >= 0.95.
 */

import { boot } from '../src/kern/boot.js';
import type { Kernel } from '../src/kern/kernel.js';
import { with_vnet } from '../src/net/vnet.js';
import { ifunit, if_up, if_down } from '../src/net/if.js';
import { if_clone_create } from '../src/net/if_clone.js';
import type { Ifnet } from '../src/net/if_var.js';
import { ether_addr_write } from '../src/net/ethernet.js';
import { mtod } from '../src/sys/mbuf.js';
import { in_aifaddr } from '../src/netinet/in_control.js';
import { V_ipforwarding, V_ipstat } from '../src/netinet/ip_var.js';
import { in_addr } from '../src/netinet/in.js';
import { arp_add_static } from '../src/netinet/if_ether.js';
import { in_cksum_hdr } from '../src/netinet/in_cksum.js';
import { report } from './lib.js';

const BATCH = 128;
const FRAME = 14 + 20 + 8 + 64;

interface Router {
  k: Kernel;
  in: Ifnet;
  frame: Uint8Array;
}

function ipaddr(s: string): number {
  return s.split('.').reduce((a, x) => a * 256 + Number(x), 0);
}

function router(conf: string): Router {
  const k = boot({ kernconf: conf });
  return k.enter(() =>
    with_vnet(k.vnet0, () => {
      const ends: Ifnet[] = [];
      for (let i = 0; i < 2; i++) {
        const r = if_clone_create('epair', null);
        if (r.error !== 0) throw new Error(`epair create: ${r.error}`);
        ends.push(ifunit(r.name)!, ifunit(r.name.slice(0, -1) + 'b')!);
      }
      const [a0, b0, a1, b1] = ends as [Ifnet, Ifnet, Ifnet, Ifnet];
      for (const ifp of ends) if_up(ifp);
      if_down(b1);
      const mask = 0xffffff00;
      const e1 = in_aifaddr(a0, { addr: in_addr(ipaddr('192.0.2.254')), mask, broadaddr: null });
      const e2 = in_aifaddr(a1, { addr: in_addr(ipaddr('198.51.100.254')), mask, broadaddr: null });
      if (e1 !== 0 || e2 !== 0) throw new Error(`address: ${e1} ${e2}`);
      V_ipforwarding.set(1);
      if (arp_add_static(a1, ipaddr('198.51.100.2'), 0x020000000099) !== 0)
        throw new Error('arp -s');
      const f = new Uint8Array(FRAME);
      ether_addr_write(f, 0, a0.if_lladdr!);
      ether_addr_write(f, 6, b0.if_lladdr!);
      f[12] = 0x08;
      const ip = f.subarray(14);
      ip[0] = 0x45;
      ip[3] = 20 + 8 + 64;
      ip[8] = 64;
      ip[9] = 17;
      new DataView(ip.buffer, ip.byteOffset).setUint32(12, ipaddr('192.0.2.1'));
      new DataView(ip.buffer, ip.byteOffset).setUint32(16, ipaddr('198.51.100.2'));
      const s = in_cksum_hdr(ip, 0);
      ip[10] = s >>> 8;
      ip[11] = s & 0xff;
      ip[20] = 0x30;
      ip[21] = 0x39;
      ip[23] = 9;
      ip[25] = 72;
      return { k, in: b0, frame: f };
    }),
  );
}

function forwarded(r: Router): number {
  return r.k.enter(() =>
    with_vnet(r.k.vnet0, () => V_ipstat.fetchAll(r.k.vnet0)['ips_forward'] ?? 0),
  );
}

/** Push n frames through the router; returns ns per packet. */
async function run(r: Router, n: number): Promise<number> {
  const k = r.k;
  const before = forwarded(r);
  const t0 = process.hrtime.bigint();
  for (let sent = 0; sent < n; sent += BATCH) {
    k.enter(() =>
      with_vnet(k.vnet0, () => {
        for (let i = 0; i < BATCH; i++) {
          const m = k.mbpool.m_gethdr(FRAME)!;
          mtod(m).set(r.frame);
          r.in.if_transmit(r.in, m);
        }
      }),
    );
    await k.run_until_idle();
  }
  const t = Number(process.hrtime.bigint() - t0);
  const got = forwarded(r) - before;
  if (got !== n) throw new Error(`${got} of ${n} packets forwarded`);
  return t / n;
}

const gen = router('GENERIC');
const nov = router('NOVIMAGE');
const N = 128 * 400;
await run(gen, N);
await run(nov, N);
const sg: number[] = [];
const sn: number[] = [];
for (let round = 0; round < 7; round++) {
  sg.push(await run(gen, N));
  sn.push(await run(nov, N));
}
const med = (a: number[]): number => a.sort((x, y) => x - y)[a.length >> 1]!;
const pg = 1e9 / med(sg);
const pn = 1e9 / med(sn);

report('forward', [
  {
    name: 'VIMAGE IPv4 forwarding (64-byte UDP payloads)',
    value: Math.round(pg),
    unit: 'packets/s',
    baseline: Math.round(pn),
    baselineName: 'NOVIMAGE IPv4 forwarding, same router',
    ratio: pg / pn,
    goal: '>= 0.95',
  },
]);
