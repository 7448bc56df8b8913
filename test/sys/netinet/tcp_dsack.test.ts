// D-SACK (RFC 2883) between two vnets over an epair whose a side duplicates (and in the
// second run also reorders) what it sends: b reports every duplicate once, as the first
// SACK block of an ACK (below the ACK, or inside the queued block that follows it), a
// recognises and counts those blocks (tcps_dsack_count, tcps_dsack_bytes) without
// taking them for data above a hole, and tshark finds the same D-SACKs in the capture.
// With net.inet.tcp.sack.enable=0 nothing is reported.  bootVimage: both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootVimage } from '../../lib/kernel.js';
import { tcp_stream } from '../../lib/inet.js';
import { delta, inv, ip, lab2, type Counters, type Lab2 } from '../../lib/inet_lab.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Vnet } from '../../../src/net/vnet.js';
import { prison_find_name } from '../../../src/kern/kern_jail.js';
import { V_tcp_do_sack, V_tcpstat } from '../../../src/netinet/tcp_var.js';
import { epair_set_impairment, type EpairImpairment } from '../../../src/net/if_epair.js';
import { bpf_capture_pcapng, bpf_capture_set } from '../../../src/net/bpf.js';
import { ether_sprintf } from '../../../src/net/ethernet.js';
import { eth_src_filter, tshark_lint } from '../../lib/tshark.js';

function tcpstat(k: Kernel, v: Vnet): Counters {
  return inv(k, v, () => V_tcpstat.fetchAll(v));
}

const rd32 = (b: Uint8Array, o: number): number =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const lt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
const leq = (a: number, b: number): boolean => ((a - b) | 0) <= 0;

/** An ACK's number and SACK blocks (Ethernet + IPv4 frame), or null if it has none. */
function sack_of(f: Uint8Array): { ack: number; blocks: [number, number][] } | null {
  if (f.length < 54 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 6) return null;
  const ihl = (f[14]! & 15) << 2;
  const th = 14 + ihl;
  const thoff = (f[th + 12]! >> 4) << 2;
  for (let i = th + 20; i < th + thoff;) {
    const kind = f[i]!;
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    const len = f[i + 1]!;
    if (len < 2) break;
    if (kind === 5) {
      const blocks: [number, number][] = [];
      for (let j = i + 2; j + 8 <= i + len; j += 8) blocks.push([rd32(f, j), rd32(f, j + 4)]);
      return { ack: rd32(f, th + 8), blocks };
    }
    i += len;
  }
  return null;
}

/** RFC 2883 §4: is the first block a D-SACK (at or below the ACK, or inside the second)? */
function is_dsack(s: { ack: number; blocks: [number, number][] }): boolean {
  const [d, b1] = s.blocks;
  if (d === undefined) return false;
  if (leq(d[1], s.ack)) return true;
  return b1 !== undefined && leq(b1[0], d[0]) && leq(d[1], b1[1]);
}

/** b's frames as epair0b sends them (the capture also has them arriving on epair0a). */
const B_OUT = 'ip.src==192.0.2.2 && frame.interface_name contains "epair0b"';

/** Frames of a capture tshark sees as carrying a D-SACK (tcp.options.sack.dsack). */
function tshark_dsacks(pcap: Uint8Array, filter: string): number {
  const dir = mkdtempSync(join(tmpdir(), 'vimage-dsack-'));
  try {
    const f = join(dir, 'run.pcapng');
    writeFileSync(f, pcap);
    const out = execFileSync(
      'tshark',
      [
        '-r',
        f,
        '-Y',
        `(${filter}) && tcp.options.sack.dsack`,
        '-T',
        'fields',
        '-e',
        'frame.number',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return out.split('\n').filter((l) => l.trim() !== '').length;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Run {
  /** The SACK-carrying ACKs b sent, in order. */
  acks: { ack: number; blocks: [number, number][] }[];
  da: Counters;
  db: Counters;
  pcap: Uint8Array;
}

/** 1 MiB from a to b through the impairment on a's side; every frame b sends is kept. */
async function transfer(L: Lab2, imp: EpairImpairment, port: number): Promise<Run> {
  const { k, va, vb } = L;
  k.enter(() => epair_set_impairment(L.a, imp));
  const cap = bpf_capture_pcapng(k);
  const acks: Run['acks'] = [];
  bpf_capture_set(k, (ifp, dlt, data, wirelen) => {
    cap.tap(ifp, dlt, data, wirelen);
    /* What b transmits, tapped once on its way out of epair0b. */
    if (ifp !== L.b || data[29] !== 2) return;
    const s = sack_of(data);
    if (s !== null) acks.push(s);
  });
  const a0 = tcpstat(k, va);
  const b0 = tcpstat(k, vb);
  const total = 1 << 20;
  await tcp_stream(k, {
    from: prison_find_name(k, k.prison0, 'a')!,
    to: prison_find_name(k, k.prison0, 'b')!,
    dst: ip('192.0.2.2'),
    port,
    data: new Uint8Array(total).map((_, i) => (i * 7 + (i >> 11)) & 0xff),
  });
  const pcap = cap.stop();
  bpf_capture_set(k, null);
  return { acks, da: delta(a0, tcpstat(k, va)), db: delta(b0, tcpstat(k, vb)), pcap };
}

test('D-SACK: each duplicate is reported once, first, and counted by the sender', async () => {
  const L = lab2(bootVimage());
  const r = await transfer(L, { dup: 0.05 }, 47100);
  const dsacks = r.acks.filter(is_dsack);
  const dupbytes = (r.db['tcps_rcvdupbyte'] ?? 0) + (r.db['tcps_rcvpartdupbyte'] ?? 0);
  assert.ok(dsacks.length > 10, `D-SACKs on the wire: ${dsacks.length}`);
  assert.equal(r.db['tcps_rcvoopack'] ?? 0, 0, 'duplication alone: nothing out of order');
  // Only duplicates made b send SACK options, and each D-SACK block is below the ACK.
  assert.equal(r.acks.length, dsacks.length);
  for (const s of dsacks) assert.ok(leq(s.blocks[0]![1], s.ack), 'duplicate data below rcv_nxt');
  // Once each: the reported bytes are exactly the duplicate bytes b received.
  const wire = dsacks.reduce((n, s) => n + ((s.blocks[0]![1] - s.blocks[0]![0]) >>> 0), 0);
  assert.equal(wire, dupbytes, 'every duplicate byte reported exactly once');
  assert.equal(r.da['tcps_dsack_count'], dsacks.length, 'a recognised each D-SACK');
  assert.equal(r.da['tcps_dsack_bytes'], wire);
  assert.equal(r.da['tcps_sack_recovery_episode'] ?? 0, 0, 'D-SACKs are no loss signal');
  assert.equal(tshark_dsacks(r.pcap, B_OUT), dsacks.length, 'tshark agrees');
  const macs = [L.a, L.b].map((i) => ether_sprintf(i.if_lladdr!));
  tshark_lint(r.pcap, eth_src_filter(macs));
});

test('D-SACK of data the reassembly queue holds: the containing block comes second', async () => {
  const L = lab2(bootVimage());
  const r = await transfer(L, { dup: 0.05, reorder: 0.05 }, 47101);
  const dsacks = r.acks.filter(is_dsack);
  assert.ok((r.db['tcps_rcvoopack'] ?? 0) > 0, 'segments arrived out of order');
  const above = dsacks.filter((s) => lt(s.ack, s.blocks[0]![1]));
  assert.ok(above.length > 0, 'some duplicates were of queued data');
  for (const s of above) {
    const [d, b1] = s.blocks;
    assert.ok(b1 !== undefined && leq(b1[0], d![0]) && leq(d![1], b1[1]), 'inside block 2');
  }
  assert.equal(r.da['tcps_dsack_count'], dsacks.length);
  assert.equal(tshark_dsacks(r.pcap, B_OUT), dsacks.length, 'tshark agrees');
  const macs = [L.a, L.b].map((i) => ether_sprintf(i.if_lladdr!));
  tshark_lint(r.pcap, eth_src_filter(macs));
});

test('D-SACK follows net.inet.tcp.sack.enable: off in the receiver, nothing is reported', async () => {
  const L = lab2(bootVimage());
  inv(L.k, L.vb, () => V_tcp_do_sack.set(0));
  const r = await transfer(L, { dup: 0.05 }, 47102);
  assert.ok((r.db['tcps_rcvduppack'] ?? 0) > 0, 'duplicates arrived');
  assert.equal(r.acks.length, 0, 'no SACK option at all');
  assert.equal(r.da['tcps_dsack_count'] ?? 0, 0);
});
