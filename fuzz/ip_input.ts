/*
 * fuzz/ip_input.ts — seeded fuzz target for the IPv4 and ARP input paths of a live
 * stack: two vnets over an epair (192.0.2.1/24, 192.0.2.2/24); mutated frames from a
 * small corpus (ICMP echo, echo with record route, a first fragment, a UDP datagram,
 * ICMP errors quoting a TCP segment — need-frag with a next-hop MTU, the path MTU
 * discovery input — and a UDP datagram, an ARP request and reply) are injected on the
 * receiving side's interface.
 *
 * Invariants (style item 13):
 * - no exception escapes ip_input / arpintr / icmp_input (nothing throws on the wire);
 * - every injected IPv4 frame is counted in ips_total, and arpstat received counts no
 *   more ARP frames than were injected or sent by the other side;
 * - after the stack settles (ARP retries and reassembly timeouts expire), no mbuf is
 *   left allocated: every drop path freed its packet.
 *
 * Run directly: node dist/fuzz/ip_input.js [iterations] [seed]
 */

import { boot } from '../src/kern/boot.js';
import type { Kernel } from '../src/kern/kernel.js';
import { kern_jail_set } from '../src/kern/kern_jail.js';
import { if_clone_create } from '../src/net/if_clone.js';
import { ifunit, if_up, if_vmove } from '../src/net/if.js';
import { with_vnet, type Vnet } from '../src/net/vnet.js';
import { IFF_DRV_RUNNING, IFF_UP, type Ifnet } from '../src/net/if_var.js';
import { V_loif } from '../src/net/if_loop.js';
import { ETHERTYPE_ARP, ETHERTYPE_IP, ether_addr_write } from '../src/net/ethernet.js';
import { in_aifaddr } from '../src/netinet/in_control.js';
import { in_cksum } from '../src/netinet/in_cksum.js';
import { in_addr, in_len2mask } from '../src/netinet/in.js';
import { V_ipstat } from '../src/netinet/ip_var.js';
import { V_arpstat } from '../src/netinet/if_ether.js';
import { arp_emit } from '../src/netinet/if_ether_hdr.js';
import type { ether_addr_t } from '../src/net/ethernet.js';
import { xorshift32 } from '../test/lib/rng.js';

export interface IpFuzzReport {
  iterations: number;
  ipFrames: number;
  arpFrames: number;
  failures: string[];
}

function ipv4(p: number, payload: Uint8Array, opts = new Uint8Array(0), off = 0): Uint8Array {
  const hl = 20 + opts.length;
  const b = new Uint8Array(hl + payload.length);
  b[0] = 0x40 | (hl >>> 2);
  b[2] = b.length >>> 8;
  b[3] = b.length & 0xff;
  b[4] = 0x42;
  b[6] = off >>> 8;
  b[7] = off & 0xff;
  b[8] = 64;
  b[9] = p;
  b.set([192, 0, 2, 1, 192, 0, 2, 2], 12);
  b.set(opts, 20);
  b.set(payload, hl);
  const s = in_cksum(b, 0, hl);
  b[10] = s >>> 8;
  b[11] = s & 0xff;
  return b;
}

function echo(len: number): Uint8Array {
  const p = new Uint8Array(8 + len);
  p[0] = 8;
  for (let i = 8; i < p.length; i++) p[i] = i;
  const s = in_cksum(p, 0, p.length);
  p[2] = s >>> 8;
  p[3] = s & 0xff;
  return p;
}

/** An ICMP error (type, code, the word after the checksum) quoting a datagram vb sent. */
function icmp_error(type: number, code: number, word: number, p: number): Uint8Array {
  const quoted = new Uint8Array(28);
  quoted[0] = 0x45;
  quoted[3] = 60;
  quoted[6] = 0x40;
  quoted[8] = 64;
  quoted[9] = p;
  quoted.set([192, 0, 2, 2, 192, 0, 2, 1], 12);
  quoted.set([0x9c, 0x40, 0x1f, 0x90, 0x12, 0x34, 0x56, 0x78], 20);
  const m = new Uint8Array(8 + quoted.length);
  m[0] = type;
  m[1] = code;
  m[4] = word >>> 24;
  m[5] = (word >>> 16) & 0xff;
  m[6] = (word >>> 8) & 0xff;
  m[7] = word & 0xff;
  m.set(quoted, 8);
  const s = in_cksum(m, 0, m.length);
  m[2] = s >>> 8;
  m[3] = s & 0xff;
  return m;
}

function corpus(): { type: number; data: Uint8Array }[] {
  const rr = new Uint8Array(12);
  rr.set([1, 7, 11, 4]);
  const arp = (op: number): Uint8Array => {
    const b = new Uint8Array(28);
    arp_emit(
      {
        ar_op: op,
        arp_sha: 0x020000000001 as ether_addr_t,
        arp_spa: in_addr(0xc0000201),
        arp_tha: 0 as ether_addr_t,
        arp_tpa: in_addr(0xc0000202),
      },
      b,
    );
    return b;
  };
  return [
    { type: ETHERTYPE_IP, data: ipv4(1, echo(32)) },
    { type: ETHERTYPE_IP, data: ipv4(1, echo(16), rr) },
    { type: ETHERTYPE_IP, data: ipv4(1, echo(40), new Uint8Array(0), 0x2000) },
    { type: ETHERTYPE_IP, data: ipv4(17, new Uint8Array([0, 7, 0, 9, 0, 12, 0, 0, 1, 2, 3, 4])) },
    { type: ETHERTYPE_IP, data: ipv4(1, icmp_error(3, 4, 1280, 6)) },
    { type: ETHERTYPE_IP, data: ipv4(1, icmp_error(11, 0, 0, 17)) },
    { type: ETHERTYPE_ARP, data: arp(1) },
    { type: ETHERTYPE_ARP, data: arp(2) },
  ];
}

function inv<T>(k: Kernel, v: Vnet, fn: () => T): T {
  return k.enter(() => with_vnet(v, fn));
}

function setup(k: Kernel): { va: Vnet; vb: Vnet; a: Ifnet; b: Ifnet } {
  const vnets = ['fa', 'fb'].map((name) => {
    const j = k.enter(() => kern_jail_set(k, k.prison0, { name, vnet: true, persist: true }));
    return j.pr!.pr_vnet!;
  });
  const va = vnets[0]!;
  const vb = vnets[1]!;
  const { a, b } = inv(k, k.vnet0, () => {
    const r = if_clone_create('epair', null);
    const a = ifunit(r.name)!;
    const b = ifunit(r.name.slice(0, -1) + 'b')!;
    if_vmove(a, va);
    if_vmove(b, vb);
    return { a, b };
  });
  for (const [v, ifp, addr] of [
    [va, a, 0xc0000201],
    [vb, b, 0xc0000202],
  ] as const) {
    inv(k, v, () => {
      const lo = V_loif.get();
      if (lo !== null) {
        lo.if_flags |= IFF_UP;
        lo.if_drv_flags |= IFF_DRV_RUNNING;
      }
      if_up(ifp);
      in_aifaddr(ifp, { addr: in_addr(addr), mask: in_len2mask(24), broadaddr: null });
    });
  }
  return { va, vb, a, b };
}

/** Run the target for `iterations` frames with `seed`. */
export async function fuzzIpInput(iterations: number, seed: number): Promise<IpFuzzReport> {
  const k = boot({ kernconf: 'GENERIC', seed });
  const { va, vb, a, b } = setup(k);
  await k.run_for(1);
  const rand = xorshift32(seed);
  const cps = corpus();
  const rep: IpFuzzReport = { iterations, ipFrames: 0, arpFrames: 0, failures: [] };
  const ip0 = inv(k, vb, () => V_ipstat.fetchAll());
  const arp0 = inv(k, vb, () => V_arpstat.fetchAll());
  const peer0 = inv(k, va, () => V_arpstat.fetchAll());
  const inuse0 = k.mbpool.stats.inuse;
  for (let i = 0; i < iterations; i++) {
    const c = cps[rand() % cps.length]!;
    const d = c.data.slice();
    const n = rand() % 5;
    for (let j = 0; j < n; j++) {
      const r = rand() % 4;
      const at = rand() % d.length;
      if (r === 0) d[at] = d[at]! ^ (1 << (rand() % 8));
      else if (r === 1) d[at] = rand() & 0xff;
      else if (r === 2 && at < 12) d[at] = rand() & 0xff; /* header bytes more often */
    }
    const len = rand() % 8 === 0 ? rand() % (d.length + 1) : d.length;
    const f = new Uint8Array(14 + len);
    ether_addr_write(f, 0, b.if_lladdr!);
    ether_addr_write(f, 6, a.if_lladdr!);
    f[12] = c.type >>> 8;
    f[13] = c.type & 0xff;
    f.set(d.subarray(0, len), 14);
    if (c.type === ETHERTYPE_IP) rep.ipFrames++;
    else rep.arpFrames++;
    try {
      inv(k, vb, () => b.if_input(b, k.mbpool.m_devget(f)!));
    } catch (e) {
      rep.failures.push(`iteration ${i}: ${(e as Error).stack ?? String(e)}`);
    }
  }
  try {
    await k.run_for(120);
  } catch (e) {
    rep.failures.push(`settling: ${String(e)}`);
  }
  const ip1 = inv(k, vb, () => V_ipstat.fetchAll());
  const arp1 = inv(k, vb, () => V_arpstat.fetchAll());
  const total = ip1['ips_total']! - ip0['ips_total']!;
  /* Echo replies and errors vb sends are not input; ICMP from a (ARP) is. */
  if (total < rep.ipFrames) rep.failures.push(`ips_total ${total} < ${rep.ipFrames} IP frames`);
  /* What arpintr took (received: a header it could parse — a bad opcode is then also
   * rxbad, as its own count) came from the injected frames or from va (its requests
   * and its replies to vb's). */
  const arpIn = arp1['received']! - arp0['received']!;
  const peer1 = inv(k, va, () => V_arpstat.fetchAll());
  const peerOut =
    peer1['txrequests']! - peer0['txrequests']! + (peer1['txreplies']! - peer0['txreplies']!);
  if (arpIn > rep.arpFrames + peerOut)
    rep.failures.push(
      `arp frames received ${arpIn} > ${rep.arpFrames} injected + ${peerOut} from the peer`,
    );
  if (k.mbpool.stats.inuse !== inuse0)
    rep.failures.push(`mbufs leaked: ${k.mbpool.stats.inuse - inuse0}`);
  return rep;
}

if (process.argv[1]?.endsWith('fuzz/ip_input.js')) {
  const n = Number(process.argv[2] ?? 2000);
  const seed = Number(process.argv[3] ?? 1);
  void fuzzIpInput(n, seed).then((r) => {
    process.stdout.write(
      JSON.stringify({ ...r, failures: r.failures.slice(0, 5) }, null, 1) + '\n',
    );
    process.exitCode = r.failures.length ? 1 : 0;
  });
}
