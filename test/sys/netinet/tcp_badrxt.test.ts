// Spurious retransmission timeouts with timestamps (RFC 3522, Eifel detection, as
// FreeBSD's tcp_output/tcp_input): an RTO is undone only when the ACK that follows it
// echoes a timestamp older than the retransmission — the ACK was for the original
// segment — and never merely because the ACK came sooner than half a smoothed RTT.
//
// Two vnets over an epair, virtual clock.  A connection first learns an RTT of 100 ms
// (50 ms of delay each way).  Then the delay goes and two full segments are lost: the
// RTO resends the first, whose ACK comes back at once, far inside srtt/2 — a real
// loss, so the second segment must follow in slow start without a second timeout
// (the RTT test alone takes it for spurious, jumps snd_nxt to snd_max and waits for
// another RTO).  Last, a real spurious timeout: the data direction is delayed 1.5 x
// the RTO, the timer fires, and the ACK of the original segment undoes it.
// VIMAGE_ONLY: two vnets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { runIn } from '../../lib/inet.js';
import { delta, inv, ip, lab2, type Counters } from '../../lib/inet_lab.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Vnet } from '../../../src/net/vnet.js';
import { prison_find_name } from '../../../src/kern/kern_jail.js';
import { AF_INET, SOCK_STREAM } from '../../../src/sys/socket.js';
import { sockaddr_in_bytes as sin } from '../../../src/netinet/in.js';
import { V_tcpstat, intotcpcb, TCPS_ESTABLISHED } from '../../../src/netinet/tcp_var.js';
import { V_tcbinfo } from '../../../src/netinet/tcp_subr.js';
import { epair_set_impairment } from '../../../src/net/if_epair.js';
import { clock_gettime, nanosleep } from '../../../src/lib/process.js';
import type { Libc } from '../../../src/lib/libc.js';

const MSS = 1448; // MTU 1500 with timestamps
const MS = 1_000_000;

function tcpstat(k: Kernel, v: Vnet): Counters {
  return inv(k, v, () => V_tcpstat.fetchAll(v));
}

/** The RTO (ms) of the one established connection in v. */
function rxtcur(k: Kernel, v: Vnet): number {
  return inv(k, v, () => {
    for (const inp of V_tcbinfo().ipi_listhead) {
      const tp = intotcpcb(inp);
      if (tp?.t_state === TCPS_ESTABLISHED) return tp.t_rxtcur;
    }
    throw new Error('no established connection');
  });
}

async function full(c: Libc, s: number, n: number): Promise<void> {
  const buf = new Uint8Array(65536);
  for (let got = 0; got < n;) {
    const r = await c.read(s, buf.subarray(0, Math.min(buf.length, n - got)));
    assert.ok(r > 0, `read: ${r} (errno ${c.errno})`);
    got += r;
  }
}

test('an RTO answered at once is not spurious; one answered for the original is', async (t) => {
  const k = bootVimage();
  const L = lab2(k);
  const delay = (a: number, b: number): void =>
    k.enter(() => {
      epair_set_impairment(L.a, { delay_ns: a * MS });
      epair_set_impairment(L.b, { delay_ns: b * MS });
    });
  const loss = (p: number): void => k.enter(() => epair_set_impairment(L.a, { loss: p }));
  delay(50, 50);
  const now = async (c: Libc): Promise<number> => (await clock_gettime(c, 4)) / MS; // MONOTONIC
  const rounds: { name: string; ms: number; d: Counters }[] = [];
  let step = 0;
  let listening = false;
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.bind(l, sin(0, 5001)), 0);
      assert.equal(await c.listen(l, 1), 0);
      listening = true;
      const s = await c.accept(l, null, null);
      assert.ok(s >= 0);
      for (const n of [65536, 2 * MSS, MSS]) {
        await full(c, s, n);
        assert.equal(await c.write(s, new Uint8Array(1)), 1);
      }
      await c.close(s);
      await c.close(l);
    },
    prison_find_name(k, k.prison0, 'b')!,
  );
  const client = runIn(
    k,
    async (c) => {
      while (!listening) await nanosleep(c, MS);
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.connect(s, sin(ip('192.0.2.2'), 5001)), 0);
      const one = new Uint8Array(1);
      // 1: 64 KiB at an RTT of 100 ms, answered by one byte.
      assert.equal(await c.write(s, new Uint8Array(65536)), 65536);
      assert.equal(await c.read(s, one), 1);
      // 2: no delay; both segments of a write are lost on the way out.
      delay(0, 0);
      const d0 = tcpstat(k, L.va);
      let t0 = await now(c);
      loss(1);
      step = 2;
      assert.equal(await c.write(s, new Uint8Array(2 * MSS)), 2 * MSS);
      loss(0);
      assert.equal(await c.read(s, one), 1);
      rounds.push({ name: 'lost', ms: (await now(c)) - t0, d: delta(d0, tcpstat(k, L.va)) });
      // 3: data delayed past the RTO, ACKs not.
      const rto = rxtcur(k, L.va);
      delay(Math.round(1.5 * rto), 0);
      const d1 = tcpstat(k, L.va);
      t0 = await now(c);
      step = 3;
      assert.equal(await c.write(s, new Uint8Array(MSS)), MSS);
      assert.equal(await c.read(s, one), 1);
      rounds.push({
        name: `late (data delayed ${Math.round(1.5 * rto)} ms, RTO ${rto} ms)`,
        ms: (await now(c)) - t0,
        d: delta(d1, tcpstat(k, L.va)),
      });
      await c.close(s);
    },
    prison_find_name(k, k.prison0, 'a')!,
  );
  await Promise.all([server, client]);
  assert.equal(step, 3);
  const [lost, late] = rounds;
  for (const r of rounds) t.diagnostic(`${r.name}: ${Math.round(r.ms)} ms`);
  const pick = (d: Counters): string =>
    ['tcps_rexmttimeo', 'tcps_sndrexmitpack', 'tcps_sndrexmitbad']
      .map((x) => `${x}=${d[x] ?? 0}`)
      .join(' ');
  // A real loss: one timeout, both segments resent, nothing undone.
  assert.equal(lost!.d['tcps_rexmttimeo'] ?? 0, 1, `lost: ${pick(lost!.d)}`);
  assert.equal(lost!.d['tcps_sndrexmitpack'] ?? 0, 2, `lost: ${pick(lost!.d)}`);
  assert.equal(lost!.d['tcps_sndrexmitbad'] ?? 0, 0, `lost: ${pick(lost!.d)}`);
  // A late original: one timeout, undone by the ACK that echoes the original.
  assert.equal(late!.d['tcps_rexmttimeo'] ?? 0, 1, `${late!.name}: ${pick(late!.d)}`);
  assert.equal(late!.d['tcps_sndrexmitbad'] ?? 0, 1, `${late!.name}: ${pick(late!.d)}`);
});
