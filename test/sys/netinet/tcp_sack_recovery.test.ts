// SACK loss recovery as FreeBSD 14 does it, segment by segment.  Two vnets over an
// epair (2 ms each way, virtual clock); a tap on the sender's side drops chosen data
// segments a chosen number of times (the epair's loss switched on for exactly that
// frame), and for the first rule a tap on the receiver's side rewrites its duplicate
// ACKs so that each advertises a larger window, as a Linux receiver does while
// out-of-order data arrives.
//
//   - Duplicate ACKs: under SACK an ACK whose window changed still counts when it
//     changed the scoreboard (FreeBSD's sack_changed), so one loss is repaired by a
//     fast retransmit; without SACK such ACKs are window updates (RFC 5681) and the
//     same loss costs a retransmission timeout.
//   - Lost retransmission detection (net.inet.tcp.sack.lrd, on by default): when the
//     fast retransmission is lost too, data sent after it is SACKed first; the hole
//     goes again at once (tcps_sack_lostrexmt) instead of after an RTO.  With the
//     sysctl off it takes the RTO.
//   - Rescue retransmission (net.inet.tcp.sack.revised, on by default): when the tail
//     of the data is lost as well, nothing above it can be SACKed; the partial ACK
//     that the fast retransmission brings makes the last segment go again at once, and
//     its SACK shows the other hole.  With the sysctl off it takes the RTO.
//   - After the first RTO the scoreboard is kept: going back from snd_una skips what
//     the receiver SACKed, so only the holes are sent again (no duplicates arrive).
//
// VIMAGE_ONLY: two vnets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { tcp_stream } from '../../lib/inet.js';
import { delta, ifcap_set, inv, ip, lab2, type Counters, type Lab2 } from '../../lib/inet_lab.js';
import { IFCAP_TXCSUM } from '../../../src/net/if_var.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Vnet } from '../../../src/net/vnet.js';
import { prison_find_name } from '../../../src/kern/kern_jail.js';
import {
  V_tcp_do_lrd,
  V_tcp_do_newsack,
  V_tcp_do_prr,
  V_tcp_do_sack,
  V_tcpstat,
} from '../../../src/netinet/tcp_var.js';
import { epair_set_impairment, epair_softc } from '../../../src/net/if_epair.js';
import { bpf_capture_set } from '../../../src/net/bpf.js';
import type { Libc } from '../../../src/lib/libc.js';
import { nanosleep } from '../../../src/lib/process.js';

const MSS = 1448; // MTU 1500 with timestamps
const MS = 1_000_000;
const TOTAL = 1 << 20;
const A = ip('192.0.2.1');
const B = ip('192.0.2.2');

const rd32 = (b: Uint8Array, o: number): number =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

function tcpstat(k: Kernel, v: Vnet): Counters {
  return inv(k, v, () => V_tcpstat.fetchAll(v));
}

interface Plan {
  /** Stream offsets whose segment is dropped, and how many of its transmissions. */
  drops: [number, number][];
  /** Rewrite the receiver's duplicate ACKs with a window one unit larger each time. */
  growwin?: boolean;
  /** Net.inet.tcp.do_prr in the sender's vnet (default: as it is, 1). */
  prr?: number;
  /** Bytes to send (default TOTAL), and a pause after the last write before close. */
  total?: number;
  pause_ns?: number;
}

/** One frame: data leaving a (offset, length), or an ACK arriving at a. */
type WireEvent = { data: number; len: number } | { ack: number };

interface Run {
  da: Counters;
  db: Counters;
  /** Transmissions of each planned offset (how many times the sender sent it). */
  sent: number[];
  /** Duplicate ACKs whose window was rewritten. */
  grown: number;
  /** The frames of the connection in the order they were sent (stream offsets). */
  events: WireEvent[];
}

/** The TCP header of an IPv4 frame: [offset of the header, data length] or null. */
function tcp_of(f: Uint8Array): [number, number] | null {
  if (f.length < 54 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 6) return null;
  const ihl = (f[14]! & 15) << 2;
  const th = 14 + ihl;
  const iplen = (f[16]! << 8) | f[17]!;
  return [th, iplen - ihl - ((f[th + 12]! >> 4) << 2)];
}

/** Add d to a 16-bit field covered by the TCP checksum at th+16 (RFC 1624). */
function bump16(f: Uint8Array, at: number, th: number, d: number): void {
  const old = (f[at]! << 8) | f[at + 1]!;
  const now = Math.min(0xffff, old + d);
  f[at] = now >> 8;
  f[at + 1] = now & 0xff;
  let sum = ~((f[th + 16]! << 8) | f[th + 17]!) & 0xffff;
  sum += ~old & 0xffff;
  sum += now;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const ck = ~sum & 0xffff;
  f[th + 16] = ck >> 8;
  f[th + 17] = ck & 0xff;
}

/** 1 MiB from a to b through the plan; the stream is checked byte for byte. */
async function transfer(L: Lab2, plan: Plan, port: number): Promise<Run> {
  const { k, va, vb } = L;
  k.enter(() => {
    epair_set_impairment(L.a, { delay_ns: 2 * MS });
    epair_set_impairment(L.b, { delay_ns: 2 * MS });
  });
  /* The ACKs are rewritten in place: with TXCSUM on, a tap is handed a copy with the
   * pending checksum finished, so the rewrite would not reach the wire. */
  if (plan.growwin === true) ifcap_set(k, L.b, L.b.if_capenable & ~IFCAP_TXCSUM);
  const sc = k.enter(() => epair_softc(L.a))!;
  let isn: number | null = null;
  const sent = plan.drops.map(() => 0);
  let lastack = -1;
  let grown = 0;
  const events: WireEvent[] = [];
  if (plan.prr !== undefined) inv(k, va, () => V_tcp_do_prr.set(plan.prr!));
  bpf_capture_set(k, (ifp, _dlt, f) => {
    const t = tcp_of(f);
    if (t === null) return;
    const [th, len] = t;
    const flags = f[th + 13]!;
    /* Each frame is tapped leaving one side and entering the other: the source says. */
    const src = rd32(f, 26);
    if (ifp === L.a && src === A) {
      if (flags & 0x02) isn = rd32(f, th + 4);
      let drop = false;
      if (len > 0 && isn !== null) {
        const rel = (rd32(f, th + 4) - isn - 1) >>> 0;
        events.push({ data: rel, len });
        plan.drops.forEach(([off, n], i) => {
          if (rel <= off && off < rel + len) drop = ++sent[i]! <= n;
        });
      }
      /* Read by epair_transmit right after this tap: this frame alone is lost. */
      sc.imp.loss = drop ? 1 : 0;
    } else if (ifp === L.a && src === B && len === 0 && isn !== null && !(flags & 0x07))
      events.push({ ack: (rd32(f, th + 8) - isn - 1) >>> 0 });
    if (ifp === L.b && src === B && plan.growwin === true && len === 0 && !(flags & 0x07)) {
      const ack = rd32(f, th + 8);
      if (ack === lastack) bump16(f, th + 14, th, ++grown);
      lastack = ack;
    }
  });
  const a0 = tcpstat(k, va);
  const b0 = tcpstat(k, vb);
  await tcp_stream(k, {
    from: prison_find_name(k, k.prison0, 'a')!,
    to: prison_find_name(k, k.prison0, 'b')!,
    dst: B,
    port,
    data: new Uint8Array(plan.total ?? TOTAL).map((_, i) => (i * 13 + (i >> 9)) & 0xff),
    ...(plan.pause_ns === undefined
      ? {}
      : { written: async (c: Libc) => void (await nanosleep(c, plan.pause_ns!)) }),
  });
  bpf_capture_set(k, null);
  return { da: delta(a0, tcpstat(k, va)), db: delta(b0, tcpstat(k, vb)), sent, grown, events };
}

const FIELDS = [
  'tcps_sack_recovery_episode',
  'tcps_rexmttimeo',
  'tcps_sndrexmitpack',
  'tcps_sack_lostrexmt',
  'tcps_rcvdupack',
];
const show = (r: Run): string =>
  FIELDS.map((f) => `${f}=${r.da[f] ?? 0}`).join(' ') +
  ` sent=${r.sent.join(',')} grown=${r.grown} b.rcvduppack=${r.db['tcps_rcvduppack'] ?? 0}`;
const n = (r: Run, f: string): number => r.da[f] ?? 0;

/* One segment well into the transfer (cwnd has grown), lost once or twice. */
const K = 300 * MSS + 100;

test('duplicate ACKs with a growing window: counted under SACK when the scoreboard changed', async (t) => {
  const L = lab2(bootVimage());
  const r = await transfer(L, { drops: [[K, 1]], growwin: true }, 47201);
  t.diagnostic(`SACK: ${show(r)}`);
  assert.ok(r.grown >= 3, `the duplicate ACKs carried larger windows (${r.grown})`);
  assert.equal(n(r, 'tcps_sack_recovery_episode'), 1, show(r));
  assert.equal(n(r, 'tcps_rexmttimeo'), 0, show(r));
  assert.equal(n(r, 'tcps_sndrexmitpack'), 1, show(r));
  assert.deepEqual(r.sent, [2]);

  /* Without SACK the same ACKs are window updates: the loss waits for the timer. */
  const L2 = lab2(bootVimage());
  inv(L2.k, L2.va, () => V_tcp_do_sack.set(0));
  const r2 = await transfer(L2, { drops: [[K, 1]], growwin: true }, 47202);
  t.diagnostic(`no SACK: ${show(r2)}`);
  assert.ok(r2.grown >= 3, `the duplicate ACKs carried larger windows (${r2.grown})`);
  assert.equal(n(r2, 'tcps_sack_recovery_episode'), 0, show(r2));
  assert.equal(n(r2, 'tcps_rexmttimeo'), 1, show(r2));
});

test('a lost fast retransmission is sent again without an RTO (net.inet.tcp.sack.lrd)', async (t) => {
  const L = lab2(bootVimage());
  assert.equal(
    inv(L.k, L.va, () => V_tcp_do_lrd.get()),
    1,
    'net.inet.tcp.sack.lrd is on by default',
  );
  const r = await transfer(L, { drops: [[K, 2]] }, 47203);
  t.diagnostic(`lrd=1: ${show(r)}`);
  assert.equal(n(r, 'tcps_sack_lostrexmt'), 1, show(r));
  assert.equal(n(r, 'tcps_rexmttimeo'), 0, show(r));
  assert.equal(n(r, 'tcps_sndrexmitpack'), 2, show(r));
  assert.equal(n(r, 'tcps_sack_recovery_episode'), 1, show(r));
  assert.deepEqual(r.sent, [3]);

  const L2 = lab2(bootVimage());
  inv(L2.k, L2.va, () => V_tcp_do_lrd.set(0));
  const r2 = await transfer(L2, { drops: [[K, 2]] }, 47204);
  t.diagnostic(`lrd=0: ${show(r2)}`);
  assert.equal(n(r2, 'tcps_sack_lostrexmt'), 0, show(r2));
  assert.equal(n(r2, 'tcps_rexmttimeo'), 1, show(r2));
  assert.equal(n(r2, 'tcps_sndrexmitpack'), 2, show(r2));
});

test('a lost tail is rescued without an RTO (net.inet.tcp.sack.revised)', async (t) => {
  /* Full segments only, then a pause: the sender has nothing new to send in recovery. */
  const total = 700 * MSS;
  const drops: [number, number][] = [
    [total - 20 * MSS, 1],
    [total - 2 * MSS, 1],
    [total - MSS, 1],
  ];
  const L = lab2(bootVimage());
  assert.equal(
    inv(L.k, L.va, () => V_tcp_do_newsack.get()),
    1,
    'on by default',
  );
  const r = await transfer(L, { drops, total, pause_ns: 10_000 * MS }, 47206);
  t.diagnostic(`revised=1: ${show(r)}`);
  assert.equal(n(r, 'tcps_rexmttimeo'), 0, show(r));
  assert.equal(n(r, 'tcps_sack_recovery_episode'), 1, show(r));
  assert.equal(n(r, 'tcps_sndrexmitpack'), 3, show(r));
  assert.deepEqual(r.sent, [2, 2, 2]);
  /* The rescue is the last segment, sent right after the ACK for the first hole. */
  const rex = r.events.filter((e) => 'data' in e && e.data >= total - 20 * MSS);
  const order = rex.map((e) => ('data' in e ? (e.data - total) / MSS : 0));
  assert.deepEqual(order.slice(-3), [-20, -1, -2], `retransmission order ${order.join(' ')}`);

  const L2 = lab2(bootVimage());
  inv(L2.k, L2.va, () => V_tcp_do_newsack.set(0));
  const r2 = await transfer(L2, { drops, total, pause_ns: 10_000 * MS }, 47207);
  t.diagnostic(`revised=0: ${show(r2)}`);
  assert.equal(n(r2, 'tcps_rexmttimeo'), 1, show(r2));
  assert.deepEqual(r2.sent, [2, 2, 2]);
});

test('after the first RTO only the holes are sent again: the scoreboard is kept', async (t) => {
  const L = lab2(bootVimage());
  /* No LRD, so the three lost retransmissions end in a timeout. */
  inv(L.k, L.va, () => V_tcp_do_lrd.set(0));
  /* More holes than an ACK has room to report (3 blocks beside timestamps): a
   * scoreboard rebuilt from the ACKs after the timeout would miss some SACKed data. */
  const holes = [0, 1, 2, 3, 4, 5, 6].map((i) => K + 10 * i * MSS);
  const r = await transfer(L, { drops: holes.map((o): [number, number] => [o, 2]) }, 47205);
  t.diagnostic(show(r));
  assert.equal(n(r, 'tcps_rexmttimeo'), 1, show(r));
  assert.equal(n(r, 'tcps_sack_recovery_episode'), 1, show(r));
  /* Each hole once in recovery (lost) and once after the timeout; nothing SACKed. */
  assert.equal(n(r, 'tcps_sndrexmitpack'), 2 * holes.length, show(r));
  assert.deepEqual(
    r.sent,
    holes.map(() => 3),
  );
  assert.equal(r.db['tcps_rcvduppack'] ?? 0, 0, show(r));
});

/**
 * After the fast retransmission of offset K, the first `n` ACKs that come back and the
 * new data (above everything sent before it) that goes out between them: for each ACK,
 * how many new segments followed it before the next.
 */
function after_fast_rexmit(r: Run, n: number): number[] {
  const ev = r.events;
  let i = ev.findIndex(
    (e, j) =>
      'data' in e &&
      e.data <= K &&
      K < e.data + e.len &&
      j > 0 &&
      ev.slice(0, j).some((p) => 'data' in p && p.data === e.data),
  );
  assert.ok(i > 0, 'the fast retransmission is on the wire');
  let high = 0;
  for (const e of ev.slice(0, i)) if ('data' in e) high = Math.max(high, e.data + e.len);
  const out: number[] = [];
  for (i++; i < ev.length && out.length <= n; i++) {
    const e = ev[i]!;
    if ('ack' in e) out.push(0);
    else if (out.length > 0 && e.data >= high) out[out.length - 1]!++;
  }
  return out.slice(0, n);
}

test('recovery paces new data by Proportional Rate Reduction (net.inet.tcp.do_prr)', async (t) => {
  const L = lab2(bootVimage());
  assert.equal(
    inv(L.k, L.va, () => V_tcp_do_prr.get()),
    1,
    'net.inet.tcp.do_prr is on by default',
  );
  const r = await transfer(L, { drops: [[K, 1]] }, 47205);
  const prr = after_fast_rexmit(r, 16);
  t.diagnostic(`PRR: new segments after each of the first 16 ACKs: ${prr.join(' ')}; ${show(r)}`);
  /* Without PRR cwnd drops to ssthresh at once: nothing new goes until the pipe has
   * drained to it, half a window of ACKs later. */
  const L2 = lab2(bootVimage());
  const r2 = await transfer(L2, { drops: [[K, 1]], prr: 0 }, 47206);
  const rfc = after_fast_rexmit(r2, 16);
  t.diagnostic(`no PRR: ${rfc.join(' ')}; ${show(r2)}`);
  const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
  /* PRR sends in proportion ssthresh/recover_fs (a half with newreno) from the start. */
  assert.ok(sum(prr) >= 6 && sum(prr) <= 10, `PRR: about one new segment per two ACKs (${prr})`);
  assert.equal(sum(rfc), 0, `without PRR nothing new in the first ACKs (${rfc})`);
  for (const x of [r, r2]) {
    assert.equal(n(x, 'tcps_sack_recovery_episode'), 1, show(x));
    assert.equal(n(x, 'tcps_rexmttimeo'), 0, show(x));
    assert.deepEqual(x.sent, [2]);
  }
});
