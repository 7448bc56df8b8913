import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  PCAPNG_BT_SPB,
  PCAP_MAGIC_NSEC,
  PCAP_MAGIC_USEC,
  PcapWriter,
  PcapngWriter,
  concatChunks,
  pcap_read,
  type Capture,
  type CaptureResult,
} from '../../src/net/pcap.js';

function frame(n: number, fill: number): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

function ok(r: CaptureResult): Capture {
  if (!r.ok) assert.fail(`unexpected error: ${r.error} at ${r.offset}`);
  return r.capture;
}

test('classic pcap, microseconds: header layout and round trip', () => {
  const w = new PcapWriter();
  const h = w.header();
  const dv = new DataView(h.buffer);
  assert.equal(h.length, 24);
  assert.equal(dv.getUint32(0, true), PCAP_MAGIC_USEC);
  assert.deepEqual([dv.getUint16(4, true), dv.getUint16(6, true)], [2, 4]);
  assert.equal(dv.getUint32(16, true), 65535);
  assert.equal(dv.getUint32(20, true), LINKTYPE_ETHERNET);
  const f1 = frame(60, 1);
  const f2 = frame(1514, 2);
  const file = concatChunks([h, w.packet(1_500_000_123_456n, f1), w.packet(2_000_000_999, f2)]);
  const cap = ok(pcap_read(file));
  assert.equal(cap.format, 'pcap');
  assert.equal(cap.nanosecond, false);
  assert.equal(cap.interfaces[0]!.linktype, LINKTYPE_ETHERNET);
  assert.equal(cap.packets.length, 2);
  assert.equal(cap.packets[0]!.ts_ns, 1_500_000_123_000n, 'microsecond resolution');
  assert.equal(cap.packets[1]!.ts_ns, 2_000_000_000n);
  assert.deepEqual(cap.packets[0]!.data, f1);
  assert.deepEqual(cap.packets[1]!.data, f2);
  assert.equal(cap.packets[1]!.origlen, 1514);
});

test('classic pcap, nanoseconds, snaplen truncation, other link type', () => {
  const w = new PcapWriter({ nanosecond: true, snaplen: 100, linktype: LINKTYPE_RAW });
  const h = w.header();
  assert.equal(new DataView(h.buffer).getUint32(0, true), PCAP_MAGIC_NSEC);
  const big = frame(300, 7);
  const cap = ok(pcap_read(concatChunks([h, w.packet(1_234_567_891n, big)])));
  assert.equal(cap.nanosecond, true);
  assert.equal(cap.interfaces[0]!.linktype, LINKTYPE_RAW);
  assert.equal(cap.packets[0]!.ts_ns, 1_234_567_891n);
  assert.equal(cap.packets[0]!.caplen, 100);
  assert.equal(cap.packets[0]!.origlen, 300);
});

test('classic pcap written big-endian (by another host) is read too', () => {
  const le = concatChunks([
    new PcapWriter().header(),
    new PcapWriter().packet(3_000_001_000n, frame(4, 9)),
  ]);
  const be = le.slice();
  const swap = (o: number, n: number): void => {
    be.subarray(o, o + n).reverse();
  };
  swap(0, 4);
  swap(4, 2);
  swap(6, 2);
  for (const o of [8, 12, 16, 20, 24, 28, 32, 36]) swap(o, 4);
  const cap = ok(pcap_read(be));
  assert.equal(cap.bigEndian, true);
  assert.equal(cap.packets[0]!.ts_ns, 3_000_001_000n);
  assert.deepEqual(cap.packets[0]!.data, frame(4, 9));
});

test('pcapng: several interfaces on one timeline, names, ns timestamps', () => {
  const w = new PcapngWriter({ os: 'vimage' });
  const chunks = [w.header()];
  const a = w.addInterface({ name: 'vnet1:epair0a', description: 'jail one' });
  chunks.push(a.block);
  chunks.push(w.packet(a.id, 10n, frame(60, 0xa)));
  const b = w.addInterface({ name: 'vnet2:epair0b', snaplen: 64 });
  chunks.push(b.block);
  // Beyond 2^53 ns: bigint timestamps keep every nanosecond.
  const late = (1n << 60n) + 7n;
  chunks.push(w.packet(b.id, late, frame(100, 0xb), 100, 'truncated by snaplen'));
  chunks.push(w.packet(a.id, 12345, frame(61, 0xc)));
  assert.equal(w.interfaceCount, 2);
  for (const c of chunks) assert.equal(c.length % 4, 0, 'blocks are 32-bit aligned');
  const cap = ok(pcap_read(concatChunks(chunks)));
  assert.equal(cap.format, 'pcapng');
  assert.deepEqual(
    cap.interfaces.map((i) => [i.name, i.description, i.linktype, i.snaplen]),
    [
      ['vnet1:epair0a', 'jail one', LINKTYPE_ETHERNET, 262144],
      ['vnet2:epair0b', null, LINKTYPE_ETHERNET, 64],
    ],
  );
  assert.deepEqual(
    cap.packets.map((p) => [p.ifid, p.ts_ns, p.caplen, p.origlen, p.data[0], p.comment]),
    [
      [0, 10n, 60, 60, 0xa, null],
      [1, late, 64, 100, 0xb, 'truncated by snaplen'],
      [0, 12345n, 61, 61, 0xc, null],
    ],
  );
  assert.throws(() => w.packet(5, 0, frame(1, 0)), RangeError, 'unknown interface is API misuse');
});

test('pcapng: a second section renumbers interfaces; unknown blocks are skipped', () => {
  const w1 = new PcapngWriter();
  const s1 = [w1.header(), w1.addInterface({ name: 'a' }).block, w1.packet(0, 1, frame(8, 1))];
  // An unknown (custom) block between: type 0x40000BAD, 16 bytes.
  const custom = new Uint8Array(16);
  const dv = new DataView(custom.buffer);
  dv.setUint32(0, 0x40000bad, true);
  dv.setUint32(4, 16, true);
  dv.setUint32(12, 16, true);
  // A Simple Packet Block: interface 0, original length 3.
  const spb = new Uint8Array(20);
  const sv = new DataView(spb.buffer);
  sv.setUint32(0, PCAPNG_BT_SPB, true);
  sv.setUint32(4, 20, true);
  sv.setUint32(8, 3, true);
  spb.set([5, 6, 7], 12);
  sv.setUint32(16, 20, true);
  const w2 = new PcapngWriter();
  const s2 = [w2.header(), w2.addInterface({ name: 'b' }).block, w2.packet(0, 2, frame(8, 2))];
  const cap = ok(pcap_read(concatChunks([...s1, custom, spb, ...s2])));
  assert.deepEqual(
    cap.interfaces.map((i) => i.name),
    ['a', 'b'],
  );
  assert.deepEqual(
    cap.packets.map((p) => [p.ifid, p.ts_ns, Array.from(p.data.subarray(0, 3))]),
    [
      [0, 1n, [1, 1, 1]],
      [0, 0n, [5, 6, 7]],
      [1, 2n, [2, 2, 2]],
    ],
  );
});

function pcapngChunks(): Uint8Array[] {
  const w = new PcapngWriter();
  return [
    w.header(),
    w.addInterface({ name: 'lo0' }).block,
    w.packet(0, 5, frame(33, 3)),
    w.packet(0, 6, frame(34, 4)),
  ];
}

function pcapChunks(): Uint8Array[] {
  const w = new PcapWriter();
  return [w.header(), w.packet(5, frame(33, 3)), w.packet(6, frame(34, 4))];
}

const validPcapng = (): Uint8Array => concatChunks(pcapngChunks());
const validPcap = (): Uint8Array => concatChunks(pcapChunks());

/** Offsets where a file made of these chunks may end and still be whole. */
function boundaries(chunks: Uint8Array[]): Set<number> {
  const s = new Set<number>();
  let o = 0;
  for (const c of chunks) s.add((o += c.length));
  return s;
}

test('every truncation of a valid file is an error, never an exception', () => {
  for (const [name, chunks] of [
    ['pcap', pcapChunks()],
    ['pcapng', pcapngChunks()],
  ] as const) {
    const file = concatChunks(chunks);
    const whole = boundaries(chunks);
    assert.ok(pcap_read(file).ok);
    for (let n = 0; n < file.length; n++) {
      const r = pcap_read(file.subarray(0, n));
      // A cut exactly between blocks/records is a valid shorter file.
      assert.equal(r.ok, whole.has(n), `${name} cut at ${n}`);
      if (r.ok) continue;
      assert.ok(
        r.error.length > 0 && !r.error.startsWith('internal'),
        `${name} cut at ${n}: ${r.error}`,
      );
      assert.ok(r.partial.packets.length <= 2);
    }
  }
});

test('malformed files give clear errors', () => {
  const errs = (b: Uint8Array): string => {
    const r = pcap_read(b);
    assert.ok(!r.ok, 'expected an error');
    return r.error;
  };
  assert.match(errs(new Uint8Array(0)), /too short/);
  assert.match(
    errs(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n')),
    /not a pcap or pcapng file/,
  );
  const p = validPcap();
  const badver = p.slice();
  badver[4] = 9;
  assert.match(errs(badver), /unsupported pcap version 9/);
  const huge = p.slice();
  new DataView(huge.buffer).setUint32(24 + 8, 0x7fffffff, true);
  assert.match(errs(huge), /caplen 2147483647/);
  const truncated = p.subarray(0, p.length - 1);
  const tr = pcap_read(truncated);
  assert.ok(!tr.ok);
  assert.match(tr.error, /truncated packet data/);
  assert.equal(tr.partial.packets.length, 1, 'packets before the damage are kept');
  const ng = validPcapng();
  const bom = ng.slice();
  bom[8] = 0;
  assert.match(errs(bom), /byte-order magic/);
  const badlen = ng.slice();
  new DataView(badlen.buffer).setUint32(4, 13, true);
  assert.match(errs(badlen), /bad block length 13/);
  const trail = ng.slice();
  trail[new DataView(ng.buffer).getUint32(4, true) - 4]! ^= 4;
  assert.match(errs(trail), /trailing length/);
  // An EPB naming interface 7.
  const shbLen = new DataView(ng.buffer).getUint32(4, true);
  const idbLen = new DataView(ng.buffer).getUint32(shbLen + 4, true);
  const badif = ng.slice();
  new DataView(badif.buffer).setUint32(shbLen + idbLen + 8, 7, true);
  assert.match(errs(badif), /unknown interface 7/);
  const badcap = ng.slice();
  new DataView(badcap.buffer).setUint32(shbLen + idbLen + 20, 1000, true);
  assert.match(errs(badcap), /caplen 1000 overruns/);
  const noshb = ng.subarray(shbLen);
  assert.match(errs(noshb), /not a pcap|section header/);
});

test('pcapng from a big-endian host, default microsecond resolution and 2^-n resolution', () => {
  const parts: number[] = [];
  const u32 = (...vs: number[]): void => {
    for (const v of vs)
      parts.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  };
  const u16 = (...vs: number[]): void => {
    for (const v of vs) parts.push((v >>> 8) & 0xff, v & 0xff);
  };
  // SHB: type, len 28, BOM, version 1.0, section length -1, len
  u32(0x0a0d0d0a, 28, 0x1a2b3c4d);
  u16(1, 0);
  u32(0xffffffff, 0xffffffff, 28);
  // IDB 0: no options (if_tsresol defaults to 10^-6)
  u32(1, 20);
  u16(1, 0);
  u32(0, 20);
  // IDB 1: if_tsresol 0x8a (2^-10 s), if_name "be"
  u32(1, 36);
  u16(1, 0);
  u32(0);
  u16(9, 1);
  parts.push(0x8a, 0, 0, 0);
  u16(2, 2);
  parts.push(0x62, 0x65, 0, 0);
  u32(36);
  // EPB on if 0: ts 1500 us; EPB on if 1: 2048 ticks of 2^-10 s = 2 s; 1 data byte each
  for (const [id, ts] of [
    [0, 1500],
    [1, 2048],
  ] as const) {
    u32(6, 36, id, 0, ts, 1, 1);
    parts.push(0xee, 0, 0, 0);
    u32(36);
  }
  const cap = ok(pcap_read(Uint8Array.from(parts)));
  assert.equal(cap.bigEndian, true);
  assert.deepEqual(
    cap.interfaces.map((i) => i.name),
    [null, 'be'],
  );
  assert.deepEqual(
    cap.packets.map((p) => [p.ifid, p.ts_ns, p.data[0]]),
    [
      [0, 1_500_000n, 0xee],
      [1, 2_000_000_000n, 0xee],
    ],
  );
});
