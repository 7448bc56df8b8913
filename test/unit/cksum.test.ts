import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  in_cksum,
  in_cksum_combine,
  in_cksum_fold,
  in_cksum_hdr,
  in_cksum_l4,
  in_cksum_mbuf,
  in_cksum_sum,
  in_cksum_update16,
  in_cksum_update32,
  in_pseudo,
  ip_decttl,
} from '../../src/netinet/in_cksum.js';
import { MbufPool, m_dataview } from '../../src/sys/mbuf.js';

/** mulberry32: a tiny seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function randomBytes(rnd: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rnd() & 0xff;
  return b;
}

/** The slowest possible reference: RFC 1071 §4.1 with a fold per word. */
function refCksum(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += (bytes[i]! << 8) + (i + 1 < bytes.length ? bytes[i + 1]! : 0);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return ~sum & 0xffff;
}

// The IPv4 header used in many textbooks (and Wikipedia's "IPv4 header checksum").
const HDR = Uint8Array.of(
  0x45,
  0x00,
  0x00,
  0x73,
  0x00,
  0x00,
  0x40,
  0x00,
  0x40,
  0x11,
  0xb8,
  0x61,
  0xc0,
  0xa8,
  0x00,
  0x01,
  0xc0,
  0xa8,
  0x00,
  0xc7,
);

test('RFC 1071 §3 example and a known IPv4 header', () => {
  const ex = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
  assert.equal(in_cksum_fold(in_cksum_sum(ex, 0, ex.length)), 0xddf2);
  assert.equal(in_cksum(ex, 0, ex.length), 0x220d);
  assert.equal(in_cksum_hdr(HDR, 0, 20), 0, 'a correct header sums to zero');
  const h = HDR.slice();
  h[10] = h[11] = 0;
  assert.equal(in_cksum(h, 0, 20), 0xb861);
});

test('empty, one byte, all zero and all ones', () => {
  assert.equal(in_cksum(new Uint8Array(0), 0, 0), 0xffff);
  assert.equal(in_cksum(Uint8Array.of(0xab), 0, 1), ~0xab00 & 0xffff);
  assert.equal(in_cksum(new Uint8Array(64), 0, 64), 0xffff);
  assert.equal(in_cksum(new Uint8Array(64).fill(0xff), 0, 64), 0);
});

test('odd lengths and odd offsets match the reference; nothing outside is read', () => {
  const rnd = prng(1071);
  for (let iter = 0; iter < 2000; iter++) {
    const len = rnd() % 130;
    const off = rnd() % 9;
    const data = randomBytes(rnd, len);
    const expect = refCksum(Array.from(data));
    // Embedded between random bytes: any read outside [off, off+len) changes the result.
    const buf = randomBytes(rnd, off + len + 9);
    buf.set(data, off);
    assert.equal(in_cksum(buf, off, len), expect, `len ${len} off ${off}`);
    // Exactly sized buffer (a read past the end would give undefined -> different value).
    assert.equal(in_cksum(data, 0, len), expect);
  }
});

test('partial sums combine (odd split points byte-swap the second piece)', () => {
  const rnd = prng(7);
  for (let iter = 0; iter < 500; iter++) {
    const len = 1 + (rnd() % 200);
    const b = randomBytes(rnd, len);
    const cut = rnd() % (len + 1);
    const a = in_cksum_fold(in_cksum_sum(b, 0, cut));
    const c = in_cksum_fold(in_cksum_sum(b, cut, len - cut));
    const whole = in_cksum_fold(in_cksum_sum(b, 0, len));
    const comb = in_cksum_combine(a, c, cut);
    // 0 and 0xffff are the same one's complement number.
    assert.equal(comb % 0xffff, whole % 0xffff, `len ${len} cut ${cut}`);
  }
});

test('in_pseudo equals summing a real pseudo header', () => {
  const rnd = prng(768);
  for (let i = 0; i < 200; i++) {
    const src = rnd();
    const dst = rnd();
    const ulen = rnd() & 0xffff;
    const ph = new Uint8Array(12);
    const dv = new DataView(ph.buffer);
    dv.setUint32(0, src);
    dv.setUint32(4, dst);
    dv.setUint8(9, 17);
    dv.setUint16(10, ulen);
    const want = in_cksum_fold(in_cksum_sum(ph, 0, 12));
    assert.equal(in_pseudo(src, dst, 17 + ulen) % 0xffff, want % 0xffff);
  }
  // A UDP datagram with its checksum filled in verifies to zero.
  const u = Uint8Array.of(0x13, 0x89, 0x00, 0x35, 0x00, 0x0b, 0, 0, 0x61, 0x62, 0x63);
  const s = in_cksum_l4(u, 0, u.length, 0xc0000201, 0xc00002c7, 17);
  u[6] = s >>> 8;
  u[7] = s & 0xff;
  assert.equal(in_cksum_l4(u, 0, u.length, 0xc0000201, 0xc00002c7, 17), 0);
});

function randomHeader(rnd: () => number): Uint8Array {
  const h = randomBytes(rnd, 20);
  h[0] = 0x45;
  h[10] = h[11] = 0;
  const s = in_cksum(h, 0, 20);
  h[10] = s >>> 8;
  h[11] = s & 0xff;
  return h;
}

test('RFC 1624 eqn. 3 equals a full recompute (TTL, any word, addresses)', () => {
  const rnd = prng(1624);
  for (let iter = 0; iter < 5000; iter++) {
    const h = randomHeader(rnd);
    // TTL decrement, including TTL 1 -> 0 and wraps of the sum.
    if (iter % 7 === 0) h[8] = 1 + (rnd() % 2);
    if (iter % 7 === 0) {
      h[10] = h[11] = 0;
      const s = in_cksum(h, 0, 20);
      h[10] = s >>> 8;
      h[11] = s & 0xff;
    }
    const t = h.slice();
    if (t[8]! > 0) {
      ip_decttl(t, 0);
      const full = t.slice();
      full[10] = full[11] = 0;
      const want = in_cksum(full, 0, 20);
      assert.equal((t[10]! << 8) | t[11]!, want, `ttl ${h[8]} iter ${iter}`);
      assert.equal(in_cksum(t, 0, 20), 0);
    }
    // Any 16-bit word other than the checksum.
    let w = rnd() % 10;
    if (w === 5) w = 4;
    const u = h.slice();
    const oldw = (u[2 * w]! << 8) | u[2 * w + 1]!;
    const neww = rnd() & 0xffff;
    u[2 * w] = neww >>> 8;
    u[2 * w + 1] = neww & 0xff;
    const inc = in_cksum_update16((u[10]! << 8) | u[11]!, oldw, neww);
    u[10] = u[11] = 0;
    assert.equal(inc, in_cksum(u, 0, 20), `word ${w}`);
    // A 32-bit address rewrite (NAT-style).
    const v = h.slice();
    const dv = new DataView(v.buffer);
    const olda = dv.getUint32(12);
    const newa = rnd();
    dv.setUint32(12, newa);
    const inc32 = in_cksum_update32(dv.getUint16(10), olda, newa);
    dv.setUint16(10, 0);
    assert.equal(inc32, in_cksum(v, 0, 20));
  }
});

test('in_cksum_mbuf sums the packet data and rejects ranges outside it', () => {
  const pool = new MbufPool();
  const m = pool.m_devget(HDR);
  assert.ok(m !== null);
  assert.equal(in_cksum_mbuf(m, 0, 20), 0);
  assert.throws(() => in_cksum_mbuf(m, 10, 11), RangeError);
});

test('in_cksum_fold is exact up to 2^53', () => {
  for (const v of [0xffffffff, 0x100000000, 2 ** 53 - 1, 0xffffffff * 0x10000, 0x1fffffffe]) {
    const f = in_cksum_fold(v);
    assert.ok(f <= 0xffff);
    assert.equal(f % 0xffff, v % 0xffff, `fold ${v}`);
  }
  assert.equal(
    in_cksum_fold(in_cksum_sum(Uint8Array.of(0xff, 0xff), 0, 2, 2 ** 53 - 0x10000)) % 0xffff,
    (2 ** 53 - 0x10000 + 0xffff) % 0xffff,
  );
});

test('large buffers: deferred carries stay exact', () => {
  const b = new Uint8Array(1 << 20).fill(0xff);
  assert.equal(in_cksum(b, 0, b.length), 0);
  b[0] = 0xfe;
  assert.equal(in_cksum(b, 0, b.length), 0x0100);
});

test('long buffers (the 32-bit word path) match the reference at any offset', () => {
  const rnd = prng(6298);
  for (let iter = 0; iter < 40; iter++) {
    const len = 64 + (rnd() % 65472);
    const off = rnd() % 7;
    const data = randomBytes(rnd, len);
    const buf = randomBytes(rnd, off + len + 5);
    buf.set(data, off);
    assert.equal(in_cksum(buf, off, len), refCksum(Array.from(data)), `len ${len} off ${off}`);
  }
});

test('a DataView handed in (an mbuf’s m_dataview) gives the same sums as without', () => {
  const rnd = prng(1071);
  const pool = new MbufPool();
  for (let iter = 0; iter < 40; iter++) {
    const len = 1 + (rnd() % 3000);
    const m = pool.m_gethdr(len, rnd() % 9);
    assert.ok(m !== null);
    m.m_buf.set(randomBytes(rnd, m.m_buf.length));
    const off = m.m_data + (rnd() % 3);
    const n = Math.min(len - (off - m.m_data), rnd() % 3000);
    const dv = m_dataview(m);
    assert.equal(in_cksum(m.m_buf, off, n, 0, dv), in_cksum(m.m_buf, off, n), `len ${n}`);
    assert.equal(
      in_cksum_l4(m.m_buf, off, n, 0xc0000201, 0xc0000202, 6, dv),
      in_cksum_l4(m.m_buf, off, n, 0xc0000201, 0xc0000202, 6),
    );
    assert.equal(in_cksum_sum(m.m_buf, off, n, 7, dv), in_cksum_sum(m.m_buf, off, n, 7));
  }
});

test('in_cksum_hdr: the unrolled 20-byte header sum equals the reference at any offset', () => {
  const rnd = prng(20);
  for (let t = 0; t < 5000; t++) {
    const off = t % 7;
    const b = randomBytes(rnd, off + 20 + 3);
    /* Every fourth header is all ones (the largest sum: the folds must carry twice). */
    if (t % 4 === 0) b.fill(0xff, off, off + 20);
    const want = refCksum([...b.subarray(off, off + 20)]);
    assert.equal(in_cksum_hdr(b, off), want);
    assert.equal(in_cksum_hdr(b, off, 20), in_cksum(b, off, 20));
  }
  /* Longer headers (options) take the general sum. */
  const opt = randomBytes(rnd, 24);
  assert.equal(in_cksum_hdr(opt, 0, 24), refCksum([...opt]));
});
