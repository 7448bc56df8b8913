// ECN for TCP (RFC 3168) as FreeBSD 14 does it (netinet/tcp_ecn.ts), on the wire and in
// the counters.  Two vnets over an epair (2 ms each way, virtual clock, the kernel's
// seeded RNG); frames are read where they arrive, so a CE mark the epair made is seen.
//
//   - Defaults (net.inet.tcp.ecn.enable 2 at both ends): no ECE|CWR on the SYN, no ECT
//     on the wire — and the epair's CE marking, asked to mark every frame, marks none,
//     since none is ECN-capable.
//   - A client with enable 1: SYN with ECE|CWR, SYN-ACK with ECE, tcps_ecn_shs at both
//     ends, TCPI_OPT_ECN, new data ECT(0), pure ACKs not ECT.
//   - The epair marking 2% of ECN-capable frames CE: the receiver counts them and echoes
//     ECE, the sender reduces cwnd (tcps_ecn_rcwnd) and answers with CWR; nothing is
//     retransmitted, the stream arrives intact and the capture lints clean with tshark;
//     netstat -s prints the counters in FreeBSD's words.
//   - A server with enable 0 answers without ECE, and the client sends no ECT.
//   - SYN cookies: the SYN-ACK says ECE, but the connection the cookie makes is not
//     ECN-permitted (FreeBSD's cookie has no bit for it): marks are neither counted nor
//     echoed there.  A syncache SYN-ACK retransmitted more than the server's
//     ecn.maxretries times goes without ECE.
//   - net.inet.tcp.ecn.maxretries: the SYN goes without ECE|CWR once it has been
//     retransmitted more than that many times; values outside the sysctls' ranges are
//     refused with EINVAL.
//   - Over lo0 in one stack (this one runs on both kernels; the rest boot a VIMAGE
//     kernel for their two vnets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest, bootVimage } from '../../lib/kernel.js';
import { runIn, tcp_stream } from '../../lib/inet.js';
import { sh } from '../../lib/sh.js';
import { addaddr, delta, inv, ip, lab2, type Counters, type Lab2 } from '../../lib/inet_lab.js';
import { eth_src_filter, tshark_lint } from '../../lib/tshark.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Vnet } from '../../../src/net/vnet.js';
import { prison_find_name } from '../../../src/kern/kern_jail.js';
import { AF_INET, SOCK_STREAM } from '../../../src/sys/socket.js';
import { IPPROTO_TCP, sockaddr_in_bytes as sin } from '../../../src/netinet/in.js';
import {
  TCP_INFO,
  V_tcp_rexmit_initial,
  V_tcp_syncookiesonly,
  V_tcpstat,
} from '../../../src/netinet/tcp_var.js';
import { TCPI_OPT_ECN, tcp_info_layout } from '../../../src/netinet/tcp_info.js';
import { V_tcp_do_ecn, V_tcp_ecn_maxretries } from '../../../src/netinet/tcp_ecn.js';
import { epair_set_impairment, epair_softc } from '../../../src/net/if_epair.js';
import { BpfLabCapture, bpf_capture_set } from '../../../src/net/bpf.js';
import { ether_sprintf } from '../../../src/net/ethernet.js';
import { V_loif } from '../../../src/net/if_loop.js';
import { EINVAL } from '../../../src/sys/errno.js';
import type { Libc } from '../../../src/lib/libc.js';
import { nanosleep } from '../../../src/lib/process.js';

const MS = 1_000_000;
const A = ip('192.0.2.1');
const B = ip('192.0.2.2');

const FIN = 0x01;
const SYN = 0x02;
const ACK = 0x10;
const ECE = 0x40;
const CWR = 0x80;
const NOTECT = 0;
const ECT0 = 2;
const CE = 3;

const rd32 = (b: Uint8Array, o: number): number =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

function tcpstat(k: Kernel, v: Vnet): Counters {
  return inv(k, v, () => V_tcpstat.fetchAll(v));
}

/** A TCP segment as it was seen on the wire. */
interface Seg {
  /** Sent by a (192.0.2.1) or b. */
  from: 'a' | 'b';
  flags: number;
  /** The ECN field of the IP header. */
  ecn: number;
  /** Data bytes. */
  len: number;
}

/** The segment in an untagged IPv4 frame, or null. */
function seg_of(f: Uint8Array): Seg | null {
  if (f.length < 54 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 6) return null;
  const ihl = (f[14]! & 15) << 2;
  const th = 14 + ihl;
  const iplen = (f[16]! << 8) | f[17]!;
  return {
    from: rd32(f, 26) === A ? 'a' : 'b',
    flags: f[th + 13]!,
    ecn: f[15]! & 3,
    len: iplen - ihl - ((f[th + 12]! >> 4) << 2),
  };
}

interface Plan {
  /** Net.inet.tcp.ecn.enable in a (the client) and b (the server); undefined: 2. */
  ecn_a?: number;
  ecn_b?: number;
  /** Net.inet.tcp.ecn.maxretries in a and in b. */
  maxretries_a?: number;
  maxretries_b?: number;
  /** Net.inet.tcp.rexmit_initial in a (ms). */
  rexmit_initial_a?: number;
  /** Net.inet.tcp.syncookies_only in b: every SYN is answered with a cookie. */
  cookies_b?: boolean;
  /** Probability the epair marks a's ECN-capable frames CE. */
  ce?: number;
  /** The first n SYNs from a, SYN-ACKs from b, are lost. */
  drop_syns?: number;
  drop_synacks?: number;
  total?: number;
  /** Keep a pcapng of the frames as b sees them. */
  capture?: boolean;
}

interface Run {
  da: Counters;
  db: Counters;
  /** Every segment once: a's as they arrive at b (after the epair), b's as b sends them. */
  segs: Seg[];
  /** a's SYNs and b's SYN-ACKs as they were sent, lost ones included. */
  syns: number[];
  synacks: number[];
  /** tcpi_options of the client's and the server's connection. */
  opts_a: number;
  opts_b: number;
  /** Frames the epair marked CE. */
  marked: number;
  /** The client's slow-start threshold when it had written everything. */
  ssthresh_a: number;
  pcap: Uint8Array | null;
}

/** A field of the connection's struct tcp_info (u8 or u32). */
async function tcpi(c: Libc, s: number, field: string): Promise<number> {
  const b = new Uint8Array(tcp_info_layout.size);
  assert.equal(await c.getsockopt(s, IPPROTO_TCP, TCP_INFO, b), 0, `TCP_INFO: ${c.errno}`);
  const f = tcp_info_layout.byName.get(field)!;
  return f.type.size === 1 ? b[f.offset]! : new DataView(b.buffer).getUint32(f.offset, true);
}

/** plan.total bytes (default 256 KiB) from a to b, checked byte for byte. */
async function transfer(L: Lab2, plan: Plan, port: number): Promise<Run> {
  const { k, va, vb } = L;
  const total = plan.total ?? 256 * 1024;
  if (plan.ecn_a !== undefined) inv(k, va, () => V_tcp_do_ecn.set(plan.ecn_a!));
  if (plan.ecn_b !== undefined) inv(k, vb, () => V_tcp_do_ecn.set(plan.ecn_b!));
  if (plan.maxretries_a !== undefined)
    inv(k, va, () => V_tcp_ecn_maxretries.set(plan.maxretries_a!));
  if (plan.maxretries_b !== undefined)
    inv(k, vb, () => V_tcp_ecn_maxretries.set(plan.maxretries_b!));
  if (plan.rexmit_initial_a !== undefined)
    inv(k, va, () => V_tcp_rexmit_initial.set(plan.rexmit_initial_a!));
  if (plan.cookies_b === true) inv(k, vb, () => V_tcp_syncookiesonly.set(1));
  k.enter(() => {
    epair_set_impairment(L.a, { delay_ns: 2 * MS, ce: plan.ce ?? 0 });
    epair_set_impairment(L.b, { delay_ns: 2 * MS });
  });
  const sc = k.enter(() => epair_softc(L.a))!;
  const scb = k.enter(() => epair_softc(L.b))!;
  const ce0 = sc.imp_ce;
  const cap = plan.capture === true ? new BpfLabCapture(k) : null;
  const segs: Seg[] = [];
  const syns: number[] = [];
  const synacks: number[] = [];
  let dropped = 0;
  let dropped_b = 0;
  bpf_capture_set(k, (ifp, dlt, f, wirelen) => {
    const s = seg_of(f);
    if (s === null) return;
    if (ifp === L.a && s.from === 'a' && s.flags & SYN) {
      /* Tapped as a sends it, just before the epair's impairment: lose it there. */
      syns.push(s.flags);
      const drop = dropped < (plan.drop_syns ?? 0);
      if (drop) dropped++;
      sc.imp.loss = drop ? 1 : 0;
    }
    if (ifp === L.b && s.from === 'b' && s.flags & SYN) {
      synacks.push(s.flags);
      const drop = dropped_b < (plan.drop_synacks ?? 0);
      if (drop) dropped_b++;
      scb.imp.loss = drop ? 1 : 0;
    }
    if (ifp !== L.b) return;
    segs.push(s);
    cap?.tap(ifp, dlt, f, wirelen);
  });
  const a0 = tcpstat(k, va);
  const b0 = tcpstat(k, vb);
  let opts_a = -1;
  let opts_b = -1;
  let ssthresh_a = -1;
  await tcp_stream(k, {
    from: prison_find_name(k, k.prison0, 'a')!,
    to: prison_find_name(k, k.prison0, 'b')!,
    dst: B,
    port,
    data: new Uint8Array(total).map((_, i) => (i * 7 + (i >> 11)) & 0xff),
    accepted: async (c, s) => {
      opts_b = await tcpi(c, s, 'tcpi_options');
    },
    connected: async (c, s) => {
      opts_a = await tcpi(c, s, 'tcpi_options');
    },
    written: async (c, s) => {
      ssthresh_a = await tcpi(c, s, 'tcpi_snd_ssthresh');
    },
  });
  bpf_capture_set(k, null);
  sc.imp.loss = 0;
  scb.imp.loss = 0;
  return {
    da: delta(a0, tcpstat(k, va)),
    db: delta(b0, tcpstat(k, vb)),
    segs,
    syns,
    synacks,
    opts_a,
    opts_b,
    marked: sc.imp_ce - ce0,
    ssthresh_a,
    pcap: cap !== null ? cap.bytes() : null,
  };
}

const n = (c: Counters, f: string): number => c[f] ?? 0;
const data_of = (r: Run, from: 'a' | 'b'): Seg[] =>
  r.segs.filter((s) => s.from === from && s.len > 0);

test('defaults (ecn.enable 2 at both ends): no ECN on the wire, nothing for CE marking to mark', async () => {
  const L = lab2(bootVimage());
  assert.equal(
    inv(L.k, L.va, () => [V_tcp_do_ecn.get(), V_tcp_ecn_maxretries.get()]).join(),
    '2,1',
    "FreeBSD's defaults",
  );
  // Mark every ECN-capable frame: there must be none.
  const r = await transfer(L, { ce: 1 }, 5101);
  const syn = r.segs.find((s) => s.from === 'a' && s.flags & SYN)!;
  const synack = r.segs.find((s) => s.from === 'b' && s.flags & SYN)!;
  assert.equal(syn.flags, SYN, 'a SYN without ECE|CWR');
  assert.equal(synack.flags, SYN | ACK, 'a SYN-ACK without ECE');
  assert.ok(data_of(r, 'a').length > 100);
  for (const s of r.segs) {
    assert.equal(s.ecn, NOTECT, 'no ECN field anywhere');
    assert.equal(s.flags & (ECE | CWR), 0, 'no ECE or CWR anywhere');
  }
  assert.equal(r.marked, 0, 'the epair marked nothing');
  for (const d of [r.da, r.db]) {
    assert.equal(n(d, 'tcps_ecn_shs'), 0);
    assert.equal(n(d, 'tcps_ecn_sndect0'), 0);
    assert.equal(n(d, 'tcps_ecn_rcvect0'), 0);
  }
  assert.equal(r.opts_a & TCPI_OPT_ECN, 0);
  assert.equal(r.opts_b & TCPI_OPT_ECN, 0);
});

test('a client with ecn.enable 1: ECN-setup SYN, SYN-ACK with ECE, data ECT(0), ACKs not', async () => {
  const L = lab2(bootVimage());
  const r = await transfer(L, { ecn_a: 1 }, 5102);
  const syns = r.segs.filter((s) => s.flags & SYN);
  assert.deepEqual(
    syns.map((s) => `${s.from} ${s.flags.toString(16)}`),
    [`a ${(SYN | ECE | CWR).toString(16)}`, `b ${(SYN | ACK | ECE).toString(16)}`],
    'SYN with ECE|CWR, SYN-ACK with ECE only',
  );
  assert.equal(n(r.da, 'tcps_ecn_shs'), 1, 'the client counts the handshake');
  assert.equal(n(r.db, 'tcps_ecn_shs'), 1, 'the server counts the handshake');
  assert.equal(r.opts_a & TCPI_OPT_ECN, TCPI_OPT_ECN, "the client's TCP_INFO says ECN");
  assert.equal(r.opts_b & TCPI_OPT_ECN, TCPI_OPT_ECN, "the server's TCP_INFO says ECN");
  const data = data_of(r, 'a');
  assert.ok(data.length > 100);
  for (const s of data) assert.equal(s.ecn, ECT0, 'new data is ECT(0)');
  const bare = r.segs.filter((s) => s.len === 0);
  assert.ok(
    bare.some((s) => s.from === 'b' && s.flags === ACK),
    'pure ACKs went',
  );
  for (const s of bare) assert.equal(s.ecn, NOTECT, 'SYNs, ACKs and FINs are not ECT');
  assert.ok(
    r.segs.some((s) => s.from === 'a' && s.flags & FIN),
    "a's FIN went",
  );
  // Nothing marked, so nothing echoed.
  for (const s of r.segs.filter((x) => !(x.flags & SYN))) assert.equal(s.flags & (ECE | CWR), 0);
  assert.equal(n(r.da, 'tcps_sndrexmitpack'), 0);
  assert.equal(n(r.da, 'tcps_ecn_sndect0'), data.length, 'every data segment counted as sent');
  assert.equal(n(r.db, 'tcps_ecn_rcvect0'), data.length, 'and as received ECT(0)');
  assert.equal(n(r.db, 'tcps_ecn_rcvce'), 0);
  assert.equal(n(r.da, 'tcps_ecn_rcwnd'), 0);
  assert.equal(r.ssthresh_a, 65535 << 14, 'ssthresh untouched (TCP_MAXWIN << TCP_MAX_WINSHIFT)');
});

test('CE marks on the epair: ECE echoed, cwnd reduced, CWR sent, no retransmission (tshark clean)', async () => {
  const L = lab2(bootVimage());
  const r = await transfer(L, { ecn_a: 1, ce: 0.02, total: 2 << 20, capture: true }, 5103);
  const data = data_of(r, 'a');
  const ce = data.filter((s) => s.ecn === CE).length;
  assert.ok(r.marked > 10, `${r.marked} frames marked`);
  assert.equal(ce, r.marked, 'every mark reached b');
  assert.equal(n(r.db, 'tcps_ecn_rcvce'), r.marked, 'b counted every CE');
  assert.equal(n(r.db, 'tcps_ecn_rcvect0') + ce, data.length, 'the rest arrived ECT(0)');
  // b echoes: ECE on its ACKs from a CE until a's CWR.
  const bece = r.segs.filter((s) => s.from === 'b' && s.flags & ECE && !(s.flags & SYN));
  assert.ok(bece.length >= r.marked / 2, `${bece.length} ACKs with ECE`);
  let echoing = false;
  let cwrs = 0;
  for (const s of r.segs) {
    if (s.from === 'a' && s.len > 0) {
      if (s.flags & CWR) {
        cwrs++;
        echoing = false;
      }
      if (s.ecn === CE) echoing = true;
    } else if (s.from === 'b' && !(s.flags & SYN) && echoing)
      assert.ok(s.flags & ECE, 'every ACK after a CE carries ECE until CWR arrives');
  }
  // a reduces cwnd once per window of echoes and says so with CWR on new data.
  const rcwnd = n(r.da, 'tcps_ecn_rcwnd');
  assert.ok(rcwnd > 0, 'a reduced its congestion window');
  assert.ok(r.ssthresh_a < 1 << 20, `ssthresh came down to ${r.ssthresh_a}`);
  assert.ok(rcwnd < bece.length, `once per window: ${rcwnd} reductions for ${bece.length} echoes`);
  assert.ok(cwrs > 0 && cwrs <= rcwnd, `${cwrs} CWR for ${rcwnd} reductions`);
  for (const s of r.segs.filter((x) => x.flags & CWR && !(x.flags & SYN)))
    assert.ok(s.from === 'a' && s.len > 0, 'CWR only on new data');
  assert.equal(n(r.da, 'tcps_sndrexmitpack'), 0, 'nothing retransmitted');
  assert.equal(n(r.da, 'tcps_rexmttimeo'), 0);
  assert.equal(n(r.da, 'tcps_sack_recovery_episode'), 0);
  // netstat -s prints them in FreeBSD's words (b's vnet saw only this connection).
  const ns = await sh('netstat -ss -p tcp -j b', { kernel: L.k });
  assert.match(ns.out, new RegExp(`\\t${r.marked} packets received with ECN CE bit set\\n`));
  assert.match(ns.out, /\t1 successful ECN handshake\n/);
  const na = await sh('netstat -ss -p tcp -j a', { kernel: L.k });
  assert.match(na.out, new RegExp(`\\t${rcwnd} times ECN reduced the congestion window\\n`));
  assert.match(na.out, new RegExp(`\\t${data.length} packets sent with ECN ECT\\(0\\) bit set\\n`));
  const macs = [L.a, L.b].map((i) => ether_sprintf(i.if_lladdr!));
  tshark_lint(r.pcap!, eth_src_filter(macs), 'ip.src==192.0.2.1 || ip.src==192.0.2.2', [
    '-d',
    'tcp.port==5103,data',
  ]);
});

test('a server with ecn.enable 0 answers an ECN-setup SYN without ECE; no ECT follows', async () => {
  const L = lab2(bootVimage());
  const r = await transfer(L, { ecn_a: 1, ecn_b: 0, ce: 1 }, 5104);
  const syns = r.segs.filter((s) => s.flags & SYN);
  assert.deepEqual(
    syns.map((s) => `${s.from} ${s.flags.toString(16)}`),
    [`a ${(SYN | ECE | CWR).toString(16)}`, `b ${(SYN | ACK).toString(16)}`],
  );
  for (const s of r.segs) assert.equal(s.ecn, NOTECT);
  for (const s of r.segs.filter((x) => !(x.flags & SYN))) assert.equal(s.flags & (ECE | CWR), 0);
  assert.equal(r.marked, 0);
  assert.equal(n(r.da, 'tcps_ecn_shs'), 0);
  assert.equal(n(r.db, 'tcps_ecn_shs'), 0);
  assert.equal(r.opts_a & TCPI_OPT_ECN, 0);
  assert.equal(r.opts_b & TCPI_OPT_ECN, 0);
});

test('SYN cookies: the SYN-ACK says ECE, but the cookie cannot remember it (as in FreeBSD)', async () => {
  const L = lab2(bootVimage());
  const r = await transfer(L, { ecn_a: 1, cookies_b: true, ce: 1 }, 5109);
  assert.equal(n(r.db, 'tcps_sc_sendcookie'), 1);
  assert.equal(n(r.db, 'tcps_sc_recvcookie'), 1);
  assert.deepEqual(r.synacks, [SYN | ACK | ECE], 'the SYN-ACK agrees');
  assert.equal(n(r.da, 'tcps_ecn_shs'), 1);
  assert.equal(n(r.db, 'tcps_ecn_shs'), 1, 'counted as the SYN-ACK goes');
  assert.equal(r.opts_a & TCPI_OPT_ECN, TCPI_OPT_ECN, 'the client believes it');
  assert.equal(r.opts_b & TCPI_OPT_ECN, 0, "the cookie's connection is not ECN-permitted");
  // So a's data is ECN-capable and marked, and b neither counts nor echoes the marks.
  const data = data_of(r, 'a');
  assert.ok(data.length > 100 && data.every((s) => s.ecn === CE), 'every data frame marked');
  assert.equal(r.marked, data.length);
  assert.equal(n(r.db, 'tcps_ecn_rcvce'), 0);
  assert.ok(
    r.segs.every((s) => s.from === 'a' || s.flags & SYN || !(s.flags & ECE)),
    'no echo',
  );
  assert.equal(n(r.da, 'tcps_ecn_rcwnd'), 0);
});

test('ecn.maxretries at the server: a retransmitted SYN-ACK goes without ECE', async () => {
  const L = lab2(bootVimage());
  // The client's SYN would be retransmitted after 1 s and answered with ECE again (it
  // still asks): it waits 3 s, so the syncache's own retransmission comes first.
  const r = await transfer(
    L,
    { ecn_a: 1, maxretries_b: 0, drop_synacks: 1, rexmit_initial_a: 3000 },
    5110,
  );
  assert.deepEqual(r.syns, [SYN | ECE | CWR], 'one SYN');
  assert.deepEqual(r.synacks, [SYN | ACK | ECE, SYN | ACK], 'the retransmission gives up ECE');
  assert.equal(n(r.db, 'tcps_sc_retransmitted'), 1);
  assert.equal(n(r.da, 'tcps_ecn_shs'), 0, 'the client saw no agreement');
  assert.equal(r.opts_a & TCPI_OPT_ECN, 0);
  assert.equal(r.opts_b & TCPI_OPT_ECN, 0);
  assert.ok(r.segs.every((s) => s.ecn === NOTECT));
});

test('ecn.maxretries: the SYN gives up ECE|CWR after that many retransmissions', async () => {
  const setup = SYN | ECE | CWR;
  // The default, 1: the first retransmission still asks, the second does not.
  let L = lab2(bootVimage());
  let r = await transfer(L, { ecn_a: 1, drop_syns: 2 }, 5105);
  assert.deepEqual(r.syns, [setup, setup, SYN]);
  assert.equal(n(r.da, 'tcps_ecn_shs'), 0, 'no ECN: the SYN that arrived did not ask');
  assert.equal(n(r.db, 'tcps_ecn_shs'), 0);
  assert.ok(r.segs.every((s) => s.ecn === NOTECT));
  // 2: the third SYN still asks, and ECN is agreed.
  L = lab2(bootVimage());
  r = await transfer(L, { ecn_a: 1, maxretries_a: 2, drop_syns: 2 }, 5106);
  assert.deepEqual(r.syns, [setup, setup, setup]);
  assert.equal(n(r.da, 'tcps_ecn_shs'), 1);
  assert.equal(n(r.db, 'tcps_ecn_shs'), 1);
  assert.ok(data_of(r, 'a').every((s) => s.ecn === ECT0));
  // 0: only the first SYN asks.
  L = lab2(bootVimage());
  r = await transfer(L, { ecn_a: 1, maxretries_a: 0, drop_syns: 1 }, 5107);
  assert.deepEqual(r.syns, [setup, SYN]);
  // The sysctls refuse what they cannot mean.
  const errs = await runIn(L.k, async (c) => {
    const set = async (name: string, v: number): Promise<number> => {
      const nv = new Uint8Array(4);
      new DataView(nv.buffer).setInt32(0, v, true);
      return (await c.sysctlbyname(name, null, null, nv)) < 0 ? c.errno : 0;
    };
    return [
      await set('net.inet.tcp.ecn.enable', 3),
      await set('net.inet.tcp.ecn.enable', -1),
      await set('net.inet.tcp.ecn.maxretries', -1),
      await set('net.inet.tcp.ecn.enable', 1),
      await c.sysctlbyname_num('net.inet.tcp.ecn.enable'),
    ];
  });
  assert.deepEqual(errs, [EINVAL, EINVAL, EINVAL, 0, 1]);
});

test('over lo0 in one stack: ECN negotiated, every data segment ECT(0) out and in', async () => {
  const k = bootTest();
  const v = k.vnet0;
  const lo = inv(k, v, () => V_loif.get()!);
  inv(k, v, () => addaddr(lo, '127.0.0.1/8'));
  inv(k, v, () => V_tcp_do_ecn.set(1));
  const LO = ip('127.0.0.1');
  const total = 128 * 1024;
  const c0 = tcpstat(k, v);
  let got = 0;
  let opts = -1;
  const server = runIn(k, async (c) => {
    const l = await c.socket(AF_INET, SOCK_STREAM, 0);
    assert.equal(await c.bind(l, sin(LO, 5108)), 0);
    assert.equal(await c.listen(l, 1), 0);
    const s = await c.accept(l, null, null);
    const buf = new Uint8Array(65536);
    for (;;) {
      const m = await c.read(s, buf);
      assert.ok(m >= 0);
      if (m === 0) break;
      got += m;
    }
    await c.close(s);
    await c.close(l);
  });
  const client = runIn(k, async (c) => {
    await nanosleep(c, MS);
    const s = await c.socket(AF_INET, SOCK_STREAM, 0);
    assert.equal(await c.connect(s, sin(LO, 5108)), 0);
    opts = await tcpi(c, s, 'tcpi_options');
    const b = new Uint8Array(total);
    for (let off = 0; off < total;) off += await c.write(s, b.subarray(off));
    assert.equal(await c.close(s), 0);
  });
  await Promise.all([server, client]);
  assert.equal(got, total);
  assert.equal(opts & TCPI_OPT_ECN, TCPI_OPT_ECN);
  const d = delta(c0, tcpstat(k, v));
  assert.equal(n(d, 'tcps_ecn_shs'), 2, 'both ends of the connection agreed');
  assert.ok(n(d, 'tcps_sndpack') > 0);
  assert.equal(n(d, 'tcps_ecn_sndect0'), n(d, 'tcps_sndpack'));
  assert.equal(n(d, 'tcps_ecn_rcvect0'), n(d, 'tcps_sndpack'));
  assert.equal(n(d, 'tcps_ecn_rcvce'), 0);
});
