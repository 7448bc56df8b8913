// IPv4 reassembly, mirroring FreeBSD's tests/sys/netinet/ip_reass_test.c cases with
// exact ipstat counter deltas: multiple_last_fragments, zero_length_fragment,
// large_fragment; plus in-order and out-of-order reassembly, overlaps, and the timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../../lib/kernel.js';
import { ip_reass, ipreass_count } from '../../../src/netinet/ip_reass.js';
import { IPS, V_ipstat } from '../../../src/netinet/ip_var.js';
import { CURVNET_RESTORE, CURVNET_SET } from '../../../src/net/vnet.js';
import { mtod, type Mbuf } from '../../../src/sys/mbuf.js';
import { in_cksum_hdr } from '../../../src/netinet/in_cksum.js';
import type { Kernel } from '../../../src/kern/kernel.js';

const SRC = 0xc0000201; // 192.0.2.1
const DST = 0xc0000202; // 192.0.2.2

/** An IPv4 fragment: payload bytes [off, off+len) of a datagram whose byte i is i & 0xff. */
function frag(k: Kernel, id: number, off: number, len: number, mf: boolean, tos = 0): Mbuf {
  const m = k.mbpool.m_gethdr(20 + len)!;
  const b = mtod(m);
  b[0] = 0x45;
  b[1] = tos;
  b[2] = (20 + len) >>> 8;
  b[3] = (20 + len) & 0xff;
  b[4] = id >>> 8;
  b[5] = id & 0xff;
  const offw = (mf ? 0x2000 : 0) | (off >>> 3);
  b[6] = offw >>> 8;
  b[7] = offw & 0xff;
  b[8] = 64;
  b[9] = 17;
  new DataView(b.buffer, b.byteOffset).setUint32(12, SRC);
  new DataView(b.buffer, b.byteOffset).setUint32(16, DST);
  const s = in_cksum_hdr(b, 0, 20);
  b[10] = s >>> 8;
  b[11] = s & 0xff;
  for (let i = 0; i < len; i++) b[20 + i] = (off + i) & 0xff;
  return m;
}

function stats(): Record<string, number> {
  return V_ipstat.fetchAll();
}

function delta(before: Record<string, number>): Record<string, number> {
  const now = stats();
  const d: Record<string, number> = {};
  for (const [f, v] of Object.entries(now)) if (v !== before[f]) d[f] = v - before[f]!;
  return d;
}

function inVnet<T>(k: Kernel, fn: () => T): T {
  return k.enter(() => {
    const s = CURVNET_SET(k.vnet0);
    try {
      return fn();
    } finally {
      CURVNET_RESTORE(s);
    }
  });
}

test('fragments in any order reassemble into the datagram with a fresh header checksum', () => {
  const k = bootTest();
  inVnet(k, () => {
    const before = stats();
    assert.equal(ip_reass(frag(k, 7, 16, 8, false)), null);
    assert.equal(ip_reass(frag(k, 7, 0, 8, true)), null);
    const m = ip_reass(frag(k, 7, 8, 8, true));
    assert.ok(m);
    const b = mtod(m);
    assert.equal((b[2]! << 8) | b[3]!, 20 + 24);
    assert.equal((b[6]! << 8) | b[7]!, 0, 'no MF, offset 0');
    assert.equal(in_cksum_hdr(b, 0, 20), 0, 'header checksum verifies');
    for (let i = 0; i < 24; i++) assert.equal(b[20 + i], i);
    assert.deepEqual(delta(before), { ips_fragments: 3, ips_reassembled: 1 });
    assert.equal(ipreass_count(), 0);
  });
});

test('multiple_last_fragments: a second last fragment ending elsewhere is dropped', () => {
  const k = bootTest();
  inVnet(k, () => {
    const before = stats();
    assert.equal(ip_reass(frag(k, 1, 16, 8, false)), null);
    assert.equal(ip_reass(frag(k, 1, 24, 8, false)), null, 'contradicts the known end');
    assert.equal(ip_reass(frag(k, 1, 8, 16, true)), null, 'MF reaching the known end');
    assert.deepEqual(delta(before), { ips_fragments: 3, ips_fragdropped: 2 });
    assert.equal(ipreass_count(), 1);
  });
});

test('zero_length_fragment: dropped and counted as too small', () => {
  const k = bootTest();
  inVnet(k, () => {
    const before = stats();
    assert.equal(ip_reass(frag(k, 2, 8, 0, true)), null);
    assert.equal(ip_reass(frag(k, 2, 8, 5, true)), null, 'MF with a length not a multiple of 8');
    assert.deepEqual(delta(before), { ips_toosmall: 2, ips_fragdropped: 2 });
    assert.equal(ipreass_count(), 0);
  });
});

test('large_fragment: a fragment beyond IP_MAXPACKET is too long', () => {
  const k = bootTest();
  inVnet(k, () => {
    const before = stats();
    assert.equal(ip_reass(frag(k, 3, 0x1fff << 3, 16, false)), null);
    assert.deepEqual(delta(before), { ips_toolong: 1, ips_fragdropped: 1 });
  });
});

test('overlaps: duplicates are dropped, covered fragments removed, data from the first kept', () => {
  const k = bootTest();
  inVnet(k, () => {
    const before = stats();
    assert.equal(ip_reass(frag(k, 4, 8, 8, true)), null);
    assert.equal(ip_reass(frag(k, 4, 8, 8, true)), null, 'a duplicate');
    assert.equal(ip_reass(frag(k, 4, 0, 24, true)), null, 'covers the one at 8');
    const m = ip_reass(frag(k, 4, 24, 8, false));
    assert.ok(m);
    for (let i = 0; i < 32; i++) assert.equal(mtod(m)[20 + i], i);
    assert.deepEqual(delta(before), { ips_fragments: 4, ips_fragdropped: 2, ips_reassembled: 1 });
  });
});

/* ECN codepoints (RFC 3168): Not-ECT 0, ECT(1) 1, ECT(0) 2, CE 3. */
test('ECN: a CE mark on any fragment is kept, whichever arrives first', () => {
  const k = bootTest();
  inVnet(k, () => {
    const before = stats();
    /* The offset-0 fragment, ECT(0), arrives after the CE-marked one. */
    assert.equal(ip_reass(frag(k, 8, 8, 8, false, 3)), null);
    const m = ip_reass(frag(k, 8, 0, 8, true, 2));
    assert.ok(m);
    const b = mtod(m);
    assert.equal(b[1]! & 3, 3, 'the datagram is CE');
    assert.equal(in_cksum_hdr(b, 0, 20), 0, 'header checksum verifies');
    /* All ECT(0): the codepoint passes through. */
    ip_reass(frag(k, 9, 0, 8, true, 2));
    const n = ip_reass(frag(k, 9, 8, 8, false, 2));
    assert.ok(n);
    assert.equal(mtod(n)[1]! & 3, 2);
    assert.deepEqual(delta(before), { ips_fragments: 4, ips_reassembled: 2 });
  });
});

test('ECN: CE with Not-ECT, or Not-ECT after ECN-capable fragments, is dropped', () => {
  const k = bootTest();
  inVnet(k, () => {
    const before = stats();
    assert.equal(ip_reass(frag(k, 10, 0, 8, true, 0)), null);
    assert.equal(ip_reass(frag(k, 10, 8, 8, false, 3)), null, 'CE joining Not-ECT');
    assert.equal(ip_reass(frag(k, 11, 0, 8, true, 1)), null);
    assert.equal(ip_reass(frag(k, 11, 8, 8, false, 0)), null, 'Not-ECT joining ECT(1)');
    assert.deepEqual(delta(before), { ips_fragments: 4, ips_fragdropped: 2 });
    assert.equal(ipreass_count(), 2, 'both datagrams still wait for their last fragment');
    /* Not-ECT fragments reassemble as they are. */
    const m = ip_reass(frag(k, 10, 8, 8, false, 0));
    assert.ok(m);
    assert.equal(mtod(m)[1]! & 3, 0);
  });
});

test('an incomplete datagram times out after net.inet.ip.fragttl (virtual clock)', async () => {
  const k = bootTest();
  inVnet(k, () => {
    ip_reass(frag(k, 5, 0, 8, true));
    ip_reass(frag(k, 5, 16, 8, false));
  });
  const before = inVnet(k, stats);
  await k.run_for(29);
  assert.equal(inVnet(k, ipreass_count), 1, 'still waiting at 29 s');
  await k.run_for(2);
  assert.equal(inVnet(k, ipreass_count), 0);
  const d = inVnet(k, () => delta(before));
  assert.deepEqual(d, { ips_fragtimeout: 2 });
  await k.run_until_idle();
  void IPS;
});
