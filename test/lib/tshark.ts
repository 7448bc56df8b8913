/*
 * test/lib/tshark.ts — lint a capture with Wireshark's dissectors
 * (../shared/reference/scenarios.md "Lint every capture with tshark"): the capture is
 * written to a temporary file and both commands must print nothing for our frames.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * tshark_lint(pcap, ours, lossless): `ours` is a display filter selecting our stack's
 * frames (e.g. "eth.src==02:..:0a || eth.src==02:..:0b").  `ipsrc` (optional) is the
 * filter for the retransmission check of lossless runs.  `extra` are more tshark
 * options for both passes, e.g. `-d tcp.port==5001-5004,data` so that random payload is
 * not taken for a protocol by a heuristic dissector (Thrift's can claim a bulk transfer
 * and spend tens of seconds reassembling it).
 */
export function tshark_lint(
  pcap: Uint8Array,
  ours: string,
  ipsrc?: string,
  extra: readonly string[] = [],
): void {
  const dir = mkdtempSync(join(tmpdir(), 'vimage-tshark-'));
  const f = join(dir, 'run.pcapng');
  try {
    writeFileSync(f, pcap);
    const run = (args: string[]): string =>
      execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const errs = run([
      '-r',
      f,
      ...extra,
      '-o',
      'ip.check_checksum:TRUE',
      '-o',
      'tcp.check_checksum:TRUE',
      '-o',
      'udp.check_checksum:TRUE',
      '-Y',
      `(${ours}) && (_ws.expert.severity == error || _ws.malformed || tcp.option.len.invalid || tcp.ack.nonzero || tcp.options.wscale.shift.invalid)`,
    ]);
    assert.equal(errs, '', `tshark finds errors in our frames:\n${errs}`);
    if (ipsrc !== undefined) {
      const re = run([
        '-r',
        f,
        ...extra,
        '-Y',
        `(${ipsrc}) && (tcp.analysis.retransmission || tcp.analysis.out_of_order)`,
      ]);
      assert.equal(re, '', `tshark finds retransmissions:\n${re}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A display filter matching frames from any of these MACs (ether_sprintf strings). */
export function eth_src_filter(macs: readonly string[]): string {
  return macs.map((m) => `eth.src==${m}`).join(' || ');
}
