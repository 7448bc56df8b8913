// Socket buffer unit tests: the send pointer (sbcopy_sndptr, FreeBSD's sb_sndptr) must
// copy exactly what sbcopy copies, whatever mix of appends (coalesced small ones
// included), partial and whole-mbuf drops, in-order copies and retransmissions (copies
// behind the pointer) came before; and it must actually be used: after in-order copies
// it points at the mbuf holding the last byte copied.  Seeded (xorshift32).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MbufPool } from '../../src/sys/mbuf.js';
import { MSIZE, Sockbuf } from '../../src/sys/socketvar.js';
import {
  sbappendaddr,
  sbappendrecord,
  sbappendstream,
  sbcopy,
  sbcopy_sndptr,
  sbdrop,
  sbflush,
} from '../../src/kern/uipc_sockbuf.js';
import { xorshift32 } from '../lib/rng.js';

/** Append n bytes counting on from `next` (mod 251) as one mbuf; returns the new next. */
function append(pool: MbufPool, sb: Sockbuf, n: number, next: number): number {
  const m = pool.m_gethdr(n, 16)!;
  for (let i = 0; i < n; i++) m.m_buf[m.m_data + i] = (next + i) % 251;
  sbappendstream(sb, m);
  return next + n;
}

test('sbcopy_sndptr copies what sbcopy copies, across appends, drops and retransmissions', () => {
  const r = xorshift32(0x5eed);
  const pool = new MbufPool();
  const sb = new Sockbuf('snd');
  /* Byte i of the buffer holds (base + i) % 251; sndoff plays snd_nxt - snd_una. */
  let base = 0;
  let next = 0;
  let sndoff = 0;
  let fromptr = 0;
  for (let step = 0; step < 20000; step++) {
    const op = r() % 10;
    if (op < 3) {
      /* Writes: 64 KiB chunks as sosend makes them, or small ones that coalesce. */
      const n = r() % 3 === 0 ? 1 + (r() % 256) : 1 + (r() % 65536);
      if (sb.sb_ccc + n <= 1 << 20) next = append(pool, sb, n, next);
    } else if (op < 5) {
      /* An ACK: drop up to what was sent, in part of an mbuf or several. */
      const n = Math.min(sndoff, r() % 8000);
      sbdrop(sb, n);
      base += n;
      sndoff -= n;
    } else {
      /* A segment: usually the next data, sometimes a retransmission from the front. */
      const off = r() % 8 === 0 ? r() % (sndoff + 1) : sndoff;
      const len = Math.min(1 + (r() % 1448), sb.sb_ccc - off);
      if (len <= 0) continue;
      const before = sb.sb_sndptr_r >= 0 && off >= sb.sb_sndptroff;
      const a = new Uint8Array(len + 40);
      const b = new Uint8Array(len + 40);
      assert.equal(sbcopy_sndptr(sb, off, len, a, 40), len);
      assert.equal(sbcopy(sb, b, off, 40, len), len);
      assert.deepEqual(a, b, `step ${step}: off ${off} len ${len}`);
      for (let i = 0; i < len; i++)
        if (a[40 + i] !== (base + off + i) % 251) assert.fail(`step ${step}: byte ${off + i}`);
      if (before) fromptr++;
      if (off === sndoff) sndoff += len;
    }
    /* The pointer, when set, names an mbuf whose offset is the bytes before it. */
    if (sb.sb_sndptr_r >= 0) {
      let o = 0;
      for (let ri = 0; ri < sb.sb_sndptr_r; ri++) o += sb.sb_records[ri]!.len;
      const data = sb.sb_records[sb.sb_sndptr_r]!.data;
      assert.ok(sb.sb_sndptr_m < data.length, `step ${step}: pointer past the record`);
      for (let mi = 0; mi < sb.sb_sndptr_m; mi++) o += data[mi]!.m_len;
      assert.equal(sb.sb_sndptroff, o, `step ${step}: sb_sndptroff`);
    }
  }
  assert.ok(fromptr > 5000, `most copies started at the send pointer (${fromptr})`);
  sbflush(sb);
  assert.equal(sb.sb_sndptr_r, -1);
  assert.equal(pool.stats.inuse, 0, 'every mbuf went back to the pool');
});

test('sbcopy_sndptr: in-order copies move the pointer, a retransmission leaves it', () => {
  const pool = new MbufPool();
  const sb = new Sockbuf('snd');
  let next = 0;
  for (let i = 0; i < 4; i++) next = append(pool, sb, 4000, next);
  const seg = new Uint8Array(1448);
  sbcopy_sndptr(sb, 0, 1448, seg, 0);
  sbcopy_sndptr(sb, 1448, 1448, seg, 0);
  sbcopy_sndptr(sb, 2896, 1448, seg, 0); /* bytes 2896..4343: ends in the second mbuf */
  assert.deepEqual([sb.sb_sndptr_r, sb.sb_sndptr_m, sb.sb_sndptroff], [0, 1, 4000]);
  sbcopy_sndptr(sb, 100, 1448, seg, 0); /* behind the pointer: from the start */
  assert.deepEqual([sb.sb_sndptr_r, sb.sb_sndptr_m, sb.sb_sndptroff], [0, 1, 4000]);
  assert.equal(seg[0], 100 % 251);
  /* An ACK for the first mbuf and a bit: the pointed mbuf is now the first. */
  sbdrop(sb, 4100);
  assert.deepEqual([sb.sb_sndptr_r, sb.sb_sndptr_m, sb.sb_sndptroff], [0, 0, 0]);
  sbcopy_sndptr(sb, 244, 1448, seg, 0);
  assert.equal(seg[0], (4100 + 244) % 251);
  /* An ACK past the pointed mbuf forgets it; the next copy starts from the front. */
  sbdrop(sb, 5000);
  assert.equal(sb.sb_sndptr_r, -1);
  sbcopy_sndptr(sb, 0, 10, seg, 0);
  assert.equal(seg[0], 9100 % 251);
  sbflush(sb);
  assert.equal(pool.stats.inuse, 0);
});

test('sbdrop across records and many mbufs keeps the counts and frees what it took', () => {
  const pool = new MbufPool();
  const sb = new Sockbuf('rcv');
  sb.sb_hiwat = 1 << 21; /* sbreserve's result for 2 MiB, without a kernel */
  sb.sb_mbmax = 1 << 24;
  const addr = new Uint8Array(16);
  /* Three datagrams of 100, 200, 300 bytes (with addresses), then a stream record of
   * 1000 segments of 1448 bytes, as a receive buffer a slow reader left. */
  for (const n of [100, 200, 300]) {
    const m = pool.m_gethdr(n, 16)!;
    m.m_buf.fill(n / 100, m.m_data, m.m_data + n);
    assert.ok(sbappendaddr(sb, addr, m));
  }
  let next = 0;
  const seg = (): void => {
    const m = pool.m_gethdr(1448, 16)!;
    for (let i = 0; i < 1448; i++) m.m_buf[m.m_data + i] = (next + i) % 251;
    next += 1448;
    sbappendrecord(sb, m);
  };
  seg();
  for (let i = 1; i < 1000; i++) {
    const m = pool.m_gethdr(1448, 16)!;
    for (let j = 0; j < 1448; j++) m.m_buf[m.m_data + j] = (next + j) % 251;
    next += 1448;
    sbappendstream(sb, m);
  }
  const mb = MSIZE + sb.sb_records[3]!.data[0]!.m_buf.length;
  assert.equal(sb.sb_records.length, 4);
  assert.equal(sb.sb_ccc, 600 + 1000 * 1448);
  /* The datagrams and 10 bytes of the first segment. */
  sbdrop(sb, 610);
  assert.equal(sb.sb_records.length, 1);
  assert.equal(sb.sb_records[0]!.data.length, 1000);
  assert.equal(sb.sb_ccc, 1000 * 1448 - 10);
  /* A 64 KiB read: 45 whole segments and part of the 46th go. */
  const buf = new Uint8Array(65536);
  assert.equal(sbcopy(sb, buf), 65536);
  assert.equal(buf[0], 10);
  sbdrop(sb, 65536);
  const left = 1000 * 1448 - 10 - 65536;
  assert.equal(sb.sb_ccc, left);
  assert.equal(sb.sb_records[0]!.len, left);
  assert.equal(sb.sb_records[0]!.data.length, 1000 - 45);
  assert.equal(sb.sb_records[0]!.data[0]!.m_len, 1448 * 46 - 10 - 65536);
  assert.equal(sb.sb_mbcnt, 955 * mb);
  assert.equal(sbcopy(sb, buf, 0, 0, 1), 1);
  assert.equal(buf[0], (10 + 65536) % 251);
  sbdrop(sb, left);
  assert.equal(sb.sb_records.length, 0);
  assert.equal(sb.sb_ccc, 0);
  assert.equal(sb.sb_mbcnt, 0);
  assert.equal(pool.stats.inuse, 0, 'every mbuf went back to the pool');
});
