/*
 * bench/echo.ts — ICMP echo round trips per second between two vnets over an epair
 * (issue 4, benchmarks).
 *
 * A GENERIC kernel with jails a (192.0.2.1) and b (192.0.2.2), each with its own vnet,
 * joined by epair0.  One round trip: an echo request leaves a (ip_output), crosses the
 * epair into b (ether_input, the IP netisr, ip_input, icmp_input, icmp_reflect,
 * ip_output), and the reply comes back through a's input path to icmp_input; the
 * kernel runs until idle after each batch of 64 requests.  Every reply is checked in
 * a's icmpstat input histogram.  As for a flood ping, net.inet.icmp.icmplim is 0 and
 * the ARP entries are static.
 *
 * Baseline, same run and kernel: the same echo from a to its own address, which goes
 * through lo0 inside one vnet (no Ethernet, no ARP, no second stack).  The ratio says
 * what the epair, Ethernet and the crossing into another vnet cost on top of the IP and
 * ICMP work.  Goal (informational): ratio >= 0.5.
 */

import { boot } from '../src/kern/boot.js';
import type { Kernel } from '../src/kern/kernel.js';
import type { Vnet } from '../src/net/vnet.js';
import { icmpstat, inv, ip, lab2, ping1 } from '../test/lib/inet_lab.js';
import { V_icmplim } from '../src/netinet/icmp.js';
import { arp_add_static } from '../src/netinet/if_ether.js';
import { report } from './lib.js';

const BATCH = 64;

function replies(k: Kernel, v: Vnet): number {
  return icmpstat(k, v)['icps_inhist[0]'] ?? 0;
}

/** n echo round trips from vnet va to dst; ns per round trip. */
async function run(k: Kernel, va: Vnet, dst: number, n: number): Promise<number> {
  const before = replies(k, va);
  const t0 = process.hrtime.bigint();
  for (let sent = 0; sent < n; sent += BATCH) {
    inv(k, va, () => {
      for (let i = 0; i < BATCH; i++) {
        const e = ping1(k, dst, { seq: i });
        if (e !== 0) throw new Error(`ip_output: ${e}`);
      }
    });
    await k.run_until_idle();
  }
  const t = Number(process.hrtime.bigint() - t0);
  const got = replies(k, va) - before;
  if (got !== n) throw new Error(`${got} of ${n} echo replies`);
  return t / n;
}

const k = boot({ kernconf: 'GENERIC' });
const lab = lab2(k);
// As for ping -f on FreeBSD: no ICMP response rate limit (net.inet.icmp.icmplim=0).
for (const v of [lab.va, lab.vb]) inv(k, v, () => V_icmplim.set(0));
// Static ARP entries (arp -s) both ways: running until idle on the virtual clock runs
// every pending callout, ARP expiry included, so learnt entries would not last a batch.
inv(k, lab.va, () => arp_add_static(lab.a, ip('192.0.2.2'), lab.b.if_lladdr!));
inv(k, lab.vb, () => arp_add_static(lab.b, ip('192.0.2.1'), lab.a.if_lladdr!));
const peer = ip('192.0.2.2');
const self = ip('192.0.2.1');
const N = 64 * 300;
await run(k, lab.va, peer, N);
await run(k, lab.va, self, N);
const se: number[] = [];
const sl: number[] = [];
for (let round = 0; round < 7; round++) {
  se.push(await run(k, lab.va, peer, N));
  sl.push(await run(k, lab.va, self, N));
}
const med = (a: number[]): number => a.sort((x, y) => x - y)[a.length >> 1]!;
const re = 1e9 / med(se);
const rl = 1e9 / med(sl);

report('echo', [
  {
    name: 'ICMP echo round trips, two vnets over an epair',
    value: Math.round(re),
    unit: 'round trips/s',
    baseline: Math.round(rl),
    baselineName: 'ICMP echo to the own address over lo0, one vnet',
    ratio: re / rl,
    goal: '>= 0.5',
  },
]);
