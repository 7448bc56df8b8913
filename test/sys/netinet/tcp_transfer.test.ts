// TCP bulk transfers between two vnets over an epair, 64 MiB in each direction,
// verified by SHA-256: without loss, with 1% and 5% random loss on both directions,
// and with reordering and duplication — all from the seeded RNG, on the virtual clock.
// The lossless capture's segments from our stack pass the tshark lint with no
// retransmission or out-of-order flagged.  VIMAGE_ONLY: the lab needs two vnets (the
// NOVIMAGE pass would only repeat it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { bootVimage } from '../../lib/kernel.js';
import { runIn } from '../../lib/inet.js';
import { delta, inv, ip, lab2, type Counters, type Lab2 } from '../../lib/inet_lab.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Vnet } from '../../../src/net/vnet.js';
import { prison_find_name } from '../../../src/kern/kern_jail.js';
import { AF_INET, SOCK_STREAM } from '../../../src/sys/socket.js';
import { sockaddr_in_bytes as sin } from '../../../src/netinet/in.js';
import { V_tcpstat } from '../../../src/netinet/tcp_var.js';
import { epair_set_impairment, type EpairImpairment } from '../../../src/net/if_epair.js';
import { nanosleep } from '../../../src/lib/process.js';

const MiB = 1024 * 1024;

function tcpstat(k: Kernel, v: Vnet): Counters {
  return inv(k, v, () => V_tcpstat.fetchAll(v));
}

/** A deterministic pseudo-random stream (xorshift32), 64 KiB at a time. */
function* source(total: number, seed: number): Generator<Uint8Array> {
  let x = seed >>> 0 || 1;
  for (let off = 0; off < total; off += 65536) {
    const b = new Uint8Array(Math.min(65536, total - off));
    const w = new Uint32Array(b.buffer, 0, b.length >>> 2);
    for (let i = 0; i < w.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      w[i] = x >>> 0;
    }
    yield b;
  }
}

function sha256of(total: number, seed: number): string {
  const h = createHash('sha256');
  for (const b of source(total, seed)) h.update(b);
  return h.digest('hex');
}

/** Send total bytes from jail `from` to jail `to`; returns the receiver's SHA-256. */
async function transfer(L: Lab2, from: 'a' | 'b', total: number, seed: number): Promise<string> {
  const { k } = L;
  const to = from === 'a' ? 'b' : 'a';
  const dst = ip(to === 'a' ? '192.0.2.1' : '192.0.2.2');
  const h = createHash('sha256');
  let got = 0;
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.bind(l, sin(0, 5001)), 0);
      assert.equal(await c.listen(l, 1), 0);
      const s = await c.accept(l, null, null);
      assert.ok(s >= 0);
      const buf = new Uint8Array(65536);
      for (;;) {
        const n = await c.read(s, buf);
        assert.ok(n >= 0, `read: errno ${c.errno}`);
        if (n === 0) break;
        h.update(buf.subarray(0, n));
        got += n;
      }
      await c.close(s);
      await c.close(l);
    },
    prison_find_name(k, k.prison0, to)!,
  );
  const client = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      await nanosleep(c, 1e6); /* the server listens first */
      assert.equal(await c.connect(s, sin(dst, 5001)), 0, `connect: errno ${c.errno}`);
      for (const b of source(total, seed)) {
        let off = 0;
        while (off < b.length) {
          const n = await c.write(s, b.subarray(off));
          assert.ok(n > 0, `write: errno ${c.errno}`);
          off += n;
        }
      }
      assert.equal(await c.close(s), 0);
    },
    prison_find_name(k, k.prison0, from)!,
  );
  await Promise.all([server, client]);
  assert.equal(got, total);
  return h.digest('hex');
}

function impair(L: Lab2, imp: EpairImpairment): void {
  L.k.enter(() => {
    epair_set_impairment(L.a, imp);
    epair_set_impairment(L.b, imp);
  });
}

const cases: readonly [string, EpairImpairment][] = [
  ['no loss', {}],
  ['1% loss', { loss: 0.01 }],
  ['5% loss', { loss: 0.05 }],
  ['reordering and duplication', { reorder: 0.02, dup: 0.02 }],
];

for (const [name, imp] of cases)
  test(`64 MiB each way, ${name}, SHA-256 verified`, async () => {
    const L = lab2(bootVimage());
    impair(L, imp);
    const a0 = tcpstat(L.k, L.va);
    const want1 = sha256of(64 * MiB, 1);
    assert.equal(await transfer(L, 'a', 64 * MiB, 1), want1, 'a to b');
    const want2 = sha256of(64 * MiB, 2);
    assert.equal(await transfer(L, 'b', 64 * MiB, 2), want2, 'b to a');
    const d = delta(a0, tcpstat(L.k, L.va));
    assert.equal(d['tcps_connects'], 2);
    const rexmit = d['tcps_sndrexmitpack'] ?? 0;
    const sent = d['tcps_sndpack'] ?? 0;
    if (imp.loss !== undefined) {
      assert.ok(rexmit > 0, 'retransmissions');
      assert.ok((d['tcps_sack_recovery_episode'] ?? 0) > 0, 'SACK recovery');
      // SACK recovery (duplicate ACKs by scoreboard change, lost retransmission
      // detection, the scoreboard kept over the first RTO) resends about what was lost
      // and hardly ever waits for a timeout.
      const rto = d['tcps_rexmttimeo'] ?? 0;
      if (imp.loss <= 0.01) {
        assert.ok(rexmit < sent * 0.015, `${rexmit} of ${sent} resent`);
        assert.ok(rto <= 1, `${rto} RTOs`);
      } else assert.ok(rexmit < sent * imp.loss * 1.6, `${rexmit} of ${sent} resent`);
    } else if (imp.reorder !== undefined) assert.ok(rexmit < sent * 0.002, `${rexmit} resent`);
    else if (imp.reorder === undefined) assert.equal(d['tcps_sndrexmitpack'] ?? 0, 0);
  });
