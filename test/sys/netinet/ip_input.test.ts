// ip_input: malformed datagrams of every kind injected on an interface, each dropped
// and counted in exactly one FreeBSD-named ipstat counter (after ips_total); trailing
// bytes trimmed; checksum offload honoured; delivery to a registered protocol; bad
// options answered with a parameter problem; not for us with forwarding off.
// bootVimage: runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import {
  delta,
  echo_request,
  icmpstat,
  inv,
  ip,
  ipstat,
  lab2,
  type Lab2,
} from '../../lib/inet_lab.js';
import { ETHERTYPE_IP, ether_addr_write } from '../../../src/net/ethernet.js';
import { CSUM_IP_CHECKED, CSUM_IP_VALID, mtod, m_freem } from '../../../src/sys/mbuf.js';
import { in_cksum } from '../../../src/netinet/in_cksum.js';
import { ip_protox_register } from '../../../src/netinet/ip_input.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import { ddb } from '../../lib/ddb.js';

/** A valid echo request 192.0.2.1 -> 192.0.2.2 (header checksummed). */
function datagram(k: Kernel, datalen = 56): Uint8Array {
  const m = echo_request(k, ip('192.0.2.2'), { src: ip('192.0.2.1'), ttl: 64, datalen });
  const b = mtod(m).slice();
  m_freem(m);
  b[4] = 0x12;
  sum(b);
  return b;
}

function sum(b: Uint8Array, hlen = (b[0]! & 15) << 2): void {
  b[10] = b[11] = 0;
  const s = in_cksum(b, 0, Math.min(hlen, b.length));
  b[10] = s >>> 8;
  b[11] = s & 0xff;
}

/** Inject an IPv4 datagram in an Ethernet frame on l.b (vb), as from l.a. */
function inject(l: Lab2, dg: Uint8Array, csum_flags = 0): void {
  const f = new Uint8Array(14 + dg.length);
  ether_addr_write(f, 0, l.b.if_lladdr!);
  ether_addr_write(f, 6, l.a.if_lladdr!);
  f[12] = ETHERTYPE_IP >>> 8;
  f[13] = ETHERTYPE_IP & 0xff;
  f.set(dg, 14);
  inv(l.k, l.vb, () => {
    const m = l.k.mbpool.m_devget(f)!;
    m.csum_flags = csum_flags;
    l.b.if_input(l.b, m);
  });
}

function expectDrop(l: Lab2, dg: Uint8Array, counter: string, csum = 0): void {
  const s0 = ipstat(l.k, l.vb);
  inject(l, dg, csum);
  assert.deepEqual(delta(s0, ipstat(l.k, l.vb)), { ips_total: 1, [counter]: 1 }, counter);
}

test('malformed datagrams: each dropped and counted once, in FreeBSD order', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  const inuse0 = k.mbpool.stats.inuse;

  expectDrop(l, datagram(k).subarray(0, 19), 'ips_toosmall');

  let b = datagram(k);
  b[0] = 0x65;
  expectDrop(l, b, 'ips_badvers');

  b = datagram(k);
  b[0] = 0x44;
  expectDrop(l, b, 'ips_badhlen');

  b = datagram(k, 0);
  b[0] = 0x4f; /* 60-byte header in a 28-byte packet */
  expectDrop(l, b, 'ips_badhlen');

  b = datagram(k);
  new DataView(b.buffer).setUint32(12, ip('127.0.0.1'));
  sum(b);
  expectDrop(l, b, 'ips_badaddr');

  b = datagram(k);
  b[10]! ^= 0x55;
  expectDrop(l, b, 'ips_badsum');

  /* A bad checksum with a bad length is ips_badsum: the sum is checked first. */
  b = datagram(k);
  b[3] = 10;
  expectDrop(l, b, 'ips_badsum');

  b = datagram(k);
  b[2] = 0;
  b[3] = 10;
  sum(b);
  expectDrop(l, b, 'ips_badlen');

  b = datagram(k);
  b[3] = b[3]! + 10;
  sum(b);
  expectDrop(l, b, 'ips_tooshort');

  /* Not for us, forwarding off. */
  b = datagram(k);
  new DataView(b.buffer).setUint32(16, ip('198.51.100.9'));
  sum(b);
  expectDrop(l, b, 'ips_cantforward');

  /* Multicast beyond 224.0.0.0/24 without a membership. */
  b = datagram(k);
  new DataView(b.buffer).setUint32(16, ip('233.252.0.3'));
  sum(b);
  expectDrop(l, b, 'ips_notmember');

  await k.run_for(1);
  assert.equal(k.mbpool.stats.inuse, inuse0, 'every dropped mbuf was freed');
});

test('fuzzed garbage is dropped without an exception and every packet counted', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  const s0 = ipstat(k, l.vb);
  let seed = 12345;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
  for (let i = 0; i < 300; i++) {
    const b = datagram(k, rnd() % 64);
    const n = 1 + (rnd() % 4);
    for (let j = 0; j < n; j++) b[rnd() % b.length] = rnd() & 0xff;
    if (i % 2) sum(b);
    inject(l, b.subarray(0, rnd() % (b.length + 1)));
  }
  await k.run_for(2);
  const d = delta(s0, ipstat(k, l.vb));
  assert.equal(d['ips_total'], 300);
  const drops = [
    'ips_toosmall',
    'ips_badvers',
    'ips_badhlen',
    'ips_badaddr',
    'ips_badsum',
    'ips_badlen',
    'ips_tooshort',
    'ips_cantforward',
    'ips_notmember',
    'ips_badoptions',
    'ips_noproto',
    'ips_delivered',
    'ips_fragments',
  ];
  const accounted = drops.reduce((a, f) => a + (d[f] ?? 0), 0);
  assert.ok(accounted >= 300, `every packet counted (${JSON.stringify(d)})`);
});

test('trailing bytes are trimmed; the datagram is delivered and answered', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  const s0 = ipstat(k, l.vb);
  const i0 = icmpstat(k, l.vb);
  const b = datagram(k);
  const padded = new Uint8Array(b.length + 10);
  padded.set(b);
  padded.fill(0xee, b.length);
  inject(l, padded);
  assert.deepEqual(delta(s0, ipstat(k, l.vb)), {
    ips_total: 1,
    ips_delivered: 1,
    ips_localout: 1,
  });
  assert.deepEqual(delta(i0, icmpstat(k, l.vb)), {
    'icps_inhist[8]': 1,
    'icps_outhist[0]': 1,
    icps_reflect: 1,
  });
});

test('CSUM_IP_CHECKED|CSUM_IP_VALID skips the header checksum', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  const s0 = ipstat(k, l.vb);
  const b = datagram(k);
  b[10]! ^= 0x55;
  inject(l, b, CSUM_IP_CHECKED | CSUM_IP_VALID);
  assert.equal(delta(s0, ipstat(k, l.vb))['ips_delivered'], 1);
});

test('delivery to a registered protocol with its header length', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  const got: { len: number; hlen: number }[] = [];
  ip_protox_register(k, 253, (m, hlen) => {
    got.push({ len: m.len, hlen });
    m_freem(m);
  });
  const s0 = ipstat(k, l.vb);
  const b = datagram(k, 12);
  b[9] = 253;
  sum(b);
  inject(l, b);
  assert.deepEqual(got, [{ len: 40, hlen: 20 }]);
  assert.deepEqual(delta(s0, ipstat(k, l.vb)), { ips_total: 1, ips_delivered: 1 });
  ip_protox_register(k, 253, null);
});

test('a malformed option: ips_badoptions and an ICMP parameter problem', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  const s0 = ipstat(k, l.vb);
  const i0 = icmpstat(k, l.vb);
  const d = datagram(k, 8);
  const b = new Uint8Array(d.length + 4);
  b.set(d.subarray(0, 20));
  b.set(d.subarray(20), 24);
  b[0] = 0x46;
  b[3] = b.length;
  b[20] = 7; /* RR with length 1 */
  b[21] = 1;
  sum(b);
  inject(l, b);
  assert.deepEqual(delta(s0, ipstat(k, l.vb)), {
    ips_total: 1,
    ips_badoptions: 1,
    ips_localout: 1,
  });
  assert.deepEqual(delta(i0, icmpstat(k, l.vb)), { icps_error: 1, 'icps_outhist[12]': 1 });
});

test('DDB breakpoints can be set on the entry points of the datagram path', () => {
  const k = bootVimage();
  const syms = [
    'ip_input',
    'ip_output',
    'ip_forward',
    'icmp_input',
    'icmp_error',
    'arpresolve',
    'in_arpinput',
  ];
  const out = ddb(
    k,
    ...syms.map((s) => `break ${s}`),
    'show breaks',
    ...syms.map((s) => `delete ${s}`),
  );
  assert.doesNotMatch(out, /not found/);
  for (const s of syms) assert.match(out, new RegExp(`\\*kernel +1 +${s} +\\(0x[0-9a-f]+\\)`));
});
