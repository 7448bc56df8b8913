import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CSUM_DATA_VALID,
  CSUM_DELAY_DATA,
  CSUM_IP,
  CSUM_IP_CHECKED,
  CSUM_IP_VALID,
  CSUM_PSEUDO_HDR,
  CSUM_SND_TAG,
  M_BCAST,
  M_LEADINGSPACE,
  M_MCAST,
  M_PREPEND,
  M_PROTO1,
  M_PROTOFLAGS,
  M_TRAILINGSPACE,
  MBUF_HEADROOM,
  MBUF_MAXBUF,
  MbufPool,
  m_adj,
  m_append,
  m_cat,
  m_clrprotoflags,
  m_copyback,
  m_copydata,
  m_dataview,
  m_dup,
  m_freem,
  m_pullup,
  m_split,
  mbufq,
  mbufq_concat,
  mbufq_dequeue,
  mbufq_drain,
  mbufq_enqueue,
  mbufq_flush,
  mbufq_full,
  mbufq_len,
  mbufq_prepend,
  mtod,
  type Mbuf,
} from '../../src/sys/mbuf.js';
import { ENOBUFS } from '../../src/sys/errno.js';

function get(pool: MbufPool, len: number, leading?: number): Mbuf {
  const m = pool.m_gethdr(len, leading);
  assert.ok(m !== null);
  return m;
}

test('flag and checksum values are FreeBSD’s', () => {
  assert.equal(M_BCAST, 0x10);
  assert.equal(M_MCAST, 0x20);
  assert.equal(M_PROTO1, 0x2000);
  assert.equal(M_PROTOFLAGS, 0x01ffe000);
  assert.equal(CSUM_IP, 0x1);
  assert.equal(CSUM_DELAY_DATA, 0x6);
  assert.equal(CSUM_IP_CHECKED, 0x01000000);
  assert.equal(CSUM_IP_VALID, 0x02000000);
  assert.equal(CSUM_PSEUDO_HDR, 0x04000000);
  assert.equal(CSUM_DATA_VALID, 0x08000000);
  assert.equal(CSUM_SND_TAG, 0x80000000);
});

test('m_gethdr: headroom, zeroed data, packet header defaults', () => {
  const pool = new MbufPool();
  const m = get(pool, 100);
  assert.equal(M_LEADINGSPACE(m), MBUF_HEADROOM);
  assert.equal(m.m_len, 100);
  assert.equal(m.len, 100);
  assert.equal(m.m_buf.length, 256, 'smallest size class');
  assert.ok(mtod(m).every((x) => x === 0));
  assert.equal(m.rcvif, null);
  assert.equal(m.csum_flags, 0);
  assert.equal(m.m_nextpkt, null);
  assert.equal(pool.stats.inuse, 1);
  m_freem(m);
  assert.equal(pool.stats.inuse, 0);
});

test('M_PREPEND within the headroom reuses the buffer (no copy)', () => {
  const pool = new MbufPool();
  const m = get(pool, 4);
  mtod(m).set([1, 2, 3, 4]);
  const buf = m.m_buf;
  const r = M_PREPEND(m, 20);
  assert.equal(r, m);
  assert.equal(m.m_buf, buf, 'same storage');
  assert.equal(M_LEADINGSPACE(m), MBUF_HEADROOM - 20);
  assert.equal(m.m_len, 24);
  assert.deepEqual(Array.from(mtod(m).subarray(20)), [1, 2, 3, 4]);
  m_freem(m);
});

test('M_PREPEND past the headroom moves the data and keeps the Mbuf object', () => {
  const pool = new MbufPool();
  const m = get(pool, 3, 2);
  mtod(m).set([7, 8, 9]);
  m.m_flags |= M_BCAST;
  m.flowid = 42;
  const r = M_PREPEND(m, 14);
  assert.equal(r, m);
  assert.equal(m.m_len, 17);
  assert.equal(M_LEADINGSPACE(m), pool.headroom, 'fresh headroom after the move');
  assert.deepEqual(Array.from(mtod(m).subarray(14)), [7, 8, 9]);
  assert.equal(m.flowid, 42);
  assert.ok(m.m_flags & M_BCAST);
  assert.equal(pool.stats.inuse, 1, 'old buffer returned');
  m_freem(m);
  assert.equal(pool.stats.inuse, 0);
});

test('M_PREPEND beyond the largest buffer fails, freeing m', () => {
  const pool = new MbufPool();
  const m = get(pool, 10);
  assert.equal(M_PREPEND(m, MBUF_MAXBUF), null);
  assert.equal(pool.stats.inuse, 0);
  assert.throws(() => m_adj(m, 1), /freed/);
});

test('m_adj trims head and tail, never below zero', () => {
  const pool = new MbufPool();
  const m = get(pool, 10);
  mtod(m).set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  m_adj(m, 3);
  assert.deepEqual(Array.from(mtod(m)), [3, 4, 5, 6, 7, 8, 9]);
  m_adj(m, -2);
  assert.deepEqual(Array.from(mtod(m)), [3, 4, 5, 6, 7]);
  assert.equal(M_LEADINGSPACE(m), MBUF_HEADROOM + 3, 'trimmed head becomes leading space');
  m_adj(m, -100);
  assert.equal(m.m_len, 0);
  m_freem(m);
});

test('m_pullup only checks the length; a short packet is freed', () => {
  const pool = new MbufPool();
  const m = get(pool, 20);
  assert.equal(m_pullup(m, 20), m);
  assert.equal(m_pullup(m, 21), null);
  assert.equal(pool.stats.inuse, 0);
  assert.throws(() => m_freem(m), /freed/, 'double free is caught');
});

test('m_copydata / m_copyback, with extension and growth', () => {
  const pool = new MbufPool();
  const m = get(pool, 8);
  m_copyback(m, 2, Uint8Array.of(1, 2, 3));
  const out = new Uint8Array(5);
  m_copydata(m, 1, 4, out, 1);
  assert.deepEqual(Array.from(out), [0, 0, 1, 2, 3]);
  assert.throws(() => m_copydata(m, 6, 3, out), RangeError);
  // Extending past m_len zero-fills the gap.
  assert.ok(m_copyback(m, 10, Uint8Array.of(9)));
  assert.equal(m.m_len, 11);
  assert.deepEqual(Array.from(mtod(m).subarray(8)), [0, 0, 9]);
  // Growing past the buffer moves to a larger class, keeping leading space.
  const big = new Uint8Array(3000).fill(5);
  assert.ok(m_append(m, big));
  assert.equal(m.m_len, 3011);
  assert.equal(M_LEADINGSPACE(m), MBUF_HEADROOM);
  assert.equal(m.m_buf.length, 16384);
  assert.equal(mtod(m)[2], 1);
  assert.equal(mtod(m)[3010], 5);
  m_freem(m);
  assert.equal(pool.stats.inuse, 0);
});

test('m_dup is a deep copy with the packet header', () => {
  const pool = new MbufPool();
  const ifp = { if_index: 3, if_xname: 'epair0a' };
  const m = pool.m_devget(Uint8Array.of(1, 2, 3), ifp);
  assert.ok(m !== null);
  m.csum_flags = CSUM_IP_CHECKED | CSUM_IP_VALID;
  m.m_flags |= M_MCAST;
  const n = m_dup(m);
  assert.ok(n !== null);
  assert.notEqual(n.m_buf, m.m_buf);
  assert.deepEqual(Array.from(mtod(n)), [1, 2, 3]);
  assert.equal(n.rcvif, ifp);
  assert.equal(n.csum_flags, m.csum_flags);
  assert.ok(n.m_flags & M_MCAST);
  mtod(n)[0] = 99;
  assert.equal(mtod(m)[0], 1);
  m_freem(m);
  m_freem(n);
});

test('m_split and m_cat', () => {
  const pool = new MbufPool();
  const m = pool.m_devget(Uint8Array.of(1, 2, 3, 4, 5));
  assert.ok(m !== null);
  const tail = m_split(m, 2);
  assert.ok(tail !== null);
  assert.deepEqual(Array.from(mtod(m)), [1, 2]);
  assert.deepEqual(Array.from(mtod(tail)), [3, 4, 5]);
  assert.equal(m_split(m, 3), null);
  assert.ok(m_cat(m, tail));
  assert.deepEqual(Array.from(mtod(m)), [1, 2, 3, 4, 5]);
  assert.equal(pool.stats.inuse, 1, 'm_cat consumed tail');
  m.m_flags |= M_PROTO1;
  m_clrprotoflags(m);
  assert.equal(m.m_flags & M_PROTOFLAGS, 0);
  m_freem(m);
});

test('pool: size classes, reuse, bound, oversize', () => {
  const pool = new MbufPool({ maxFree: 2 });
  const sizes = [
    [100, 256],
    [1500, 2048],
    [9000, 16384],
    [60000, 65792],
    [70000, 70128],
  ];
  for (const [len, cls] of sizes) {
    const m = get(pool, len!);
    assert.equal(m.m_buf.length, cls, `len ${len}`);
    m_freem(m);
  }
  assert.deepEqual(pool.freeCounts(), [1, 1, 1, 1], 'unpooled large buffer not kept');
  assert.equal(pool.stats.hits, 0);
  const a = get(pool, 1);
  assert.equal(pool.stats.hits, 1, 'buffer reused from the free list');
  const abuf = a.m_buf;
  m_freem(a);
  const b = get(pool, 1);
  assert.equal(b.m_buf, abuf, 'same buffer handed out again');
  const c = get(pool, 1);
  const d = get(pool, 1);
  m_freem(b);
  m_freem(c);
  m_freem(d);
  assert.equal(pool.freeCounts()[0], 2, 'bounded free list');
  assert.equal(pool.stats.overflow, 1);
  assert.equal(pool.m_gethdr(MBUF_MAXBUF), null);
  assert.equal(pool.stats.denied, 1);
  assert.equal(pool.stats.inuse, 0);
  assert.ok(M_TRAILINGSPACE(get(pool, 1)) > 0);
});

test('a reused buffer is zeroed for the new packet', () => {
  const pool = new MbufPool();
  const m = get(pool, 50);
  mtod(m).fill(0xaa);
  m_freem(m);
  const n = get(pool, 50);
  assert.ok(mtod(n).every((x) => x === 0));
});

test('mbufq: FIFO, limit, drops, prepend, flush, drain, concat', () => {
  const pool = new MbufPool();
  const q = new mbufq(2);
  const ms = [0, 1, 2].map((i) => {
    const m = get(pool, 1);
    mtod(m)[0] = i;
    return m;
  });
  assert.equal(mbufq_enqueue(q, ms[0]!), 0);
  assert.equal(mbufq_enqueue(q, ms[1]!), 0);
  assert.ok(mbufq_full(q));
  assert.equal(mbufq_enqueue(q, ms[2]!), ENOBUFS, 'full: caller keeps m');
  assert.equal(q.mq_drops, 1);
  assert.equal(mbufq_len(q), 2);
  const first = mbufq_dequeue(q);
  assert.equal(first, ms[0]);
  assert.equal(first!.m_nextpkt, null);
  mbufq_prepend(q, ms[2]!);
  assert.deepEqual(
    [mbufq_dequeue(q), mbufq_dequeue(q), mbufq_dequeue(q)].map((m) => (m ? mtod(m)[0] : null)),
    [2, 1, null],
  );
  for (const m of ms) mbufq_enqueue(q, m);
  const q2 = new mbufq(10);
  mbufq_concat(q2, q);
  assert.equal(mbufq_len(q), 0);
  assert.equal(mbufq_len(q2), 2);
  const head = mbufq_flush(q2);
  assert.equal(head, ms[0]);
  assert.equal(head!.m_nextpkt, ms[1]);
  assert.equal(mbufq_len(q2), 0);
  mbufq_enqueue(q2, ms[0]!);
  mbufq_enqueue(q2, ms[1]!);
  mbufq_enqueue(q2, ms[2]!);
  mbufq_drain(q2);
  assert.equal(pool.stats.inuse, 0, 'drain frees every packet');
});

test('two pools are independent (one per kernel)', () => {
  const p1 = new MbufPool();
  const p2 = new MbufPool({ headroom: 16 });
  const m = get(p1, 1);
  const n = get(p2, 1);
  assert.equal(M_LEADINGSPACE(n), 16);
  m_freem(m);
  assert.equal(p1.stats.inuse, 0);
  assert.equal(p2.stats.inuse, 1);
  m_freem(n);
});

test('m_dataview: one DataView per buffer, over all of it, kept while the buffer is reused', () => {
  const pool = new MbufPool();
  const m = get(pool, 1000, 64);
  const dv = m_dataview(m);
  assert.equal(dv.buffer, m.m_buf.buffer);
  assert.equal(dv.byteOffset, m.m_buf.byteOffset);
  assert.equal(dv.byteLength, m.m_buf.length, 'the whole buffer, offsets as in m_buf');
  assert.equal(m_dataview(m), dv, 'the same view again');
  m.m_buf[70] = 0xab;
  assert.equal(dv.getUint8(70), 0xab);
  const buf = m.m_buf;
  m_freem(m);
  const n = get(pool, 500);
  assert.equal(n.m_buf, buf, 'the buffer comes back from the free list');
  assert.equal(m_dataview(n), dv, 'with its view');
  // A packet that outgrows its buffer gets a new one, and a view of that.
  const p = M_PREPEND(n, 200);
  assert.ok(p !== null);
  assert.notEqual(p.m_buf, buf);
  assert.equal(m_dataview(p).byteLength, p.m_buf.length);
  assert.notEqual(m_dataview(p), dv);
});
