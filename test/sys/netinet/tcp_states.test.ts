// Every TCP state transition, recorded at the tcp:::state-change probe (sys/sdt.ts,
// fired by tcp_state_change as FreeBSD's TCP_PROBE6 is): each scenario's connections
// go through exactly FreeBSD's sequence of states, and together the scenarios cover
// every edge of RFC 9293's state diagram that FreeBSD takes (a passive open goes
// through the syncache, so its tcpcb starts in SYN_RCVD; a FIN that acknowledges ours
// passes FIN_WAIT_2 on its way to TIME_WAIT).
// Two vnets over an epair (lab2: a = 192.0.2.1, b = 192.0.2.2).  bootVimage: runs in
// both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { runIn, sys } from '../../lib/inet.js';
import { pr, ip, lab2, type Lab2 } from '../../lib/inet_lab.js';
import type { Libc } from '../../../src/lib/libc.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import { AF_INET, SHUT_WR, SOCK_STREAM, SOL_SOCKET, SO_LINGER } from '../../../src/sys/socket.js';
import { sockaddr_in_bytes as sin } from '../../../src/netinet/in.js';
import { tcpstates, type Tcpcb } from '../../../src/netinet/tcp_var.js';
import { tcp_probe_state_change } from '../../../src/netinet/tcp_subr.js';
import { sdt_attach } from '../../../src/sys/sdt.js';
import { epair_set_impairment, epair_softc } from '../../../src/net/if_epair.js';
import { ECONNREFUSED, ECONNRESET } from '../../../src/sys/errno.js';
import { nanosleep } from '../../../src/lib/process.js';

const MS = 1e6;

/** Every connection's states, in order, keyed "vnet-side lport>fport" at its end. */
class Recorder {
  private readonly seqs = new Map<Tcpcb, string[]>();
  readonly edges = new Set<string>();
  /** "lport STATE @Tms" for every change, in order. */
  readonly times: string[] = [];
  constructor(k: Kernel) {
    sdt_attach(k, tcp_probe_state_change, (tp, from, to) => {
      const t = tp as Tcpcb;
      let s = this.seqs.get(t);
      if (s === undefined) this.seqs.set(t, (s = [tcpstates[from as number]!]));
      s.push(tcpstates[to as number]!);
      this.times.push(`${t.t_inpcb.inp_lport} ${tcpstates[to as number]} @${k.now() / 1e6}ms`);
      this.edges.add(`${tcpstates[from as number]}>${tcpstates[to as number]}`);
    });
  }
  /** The sequences, as "lport>fport: A B C", sorted. */
  sequences(): string[] {
    return [...this.seqs]
      .map(([tp, s]) => `${tp.t_inpcb.inp_lport}>${tp.t_inpcb.inp_fport}: ${s.join(' ')}`)
      .sort();
  }
}

async function listen(c: Libc, port: number): Promise<number> {
  const l = await c.socket(AF_INET, SOCK_STREAM, 0);
  assert.equal(await c.bind(l, sin(0, port)), 0);
  assert.equal(await c.listen(l, 4), 0);
  return l;
}

async function connect(c: Libc, lport: number, addr: string, port: number): Promise<number> {
  const s = await c.socket(AF_INET, SOCK_STREAM, 0);
  assert.equal(await c.bind(s, sin(0, lport)), 0);
  const e = await sys(c, c.connect(s, sin(ip(addr), port)));
  return e < 0 ? e : s;
}

function both(L: Lab2, a: (c: Libc) => Promise<void>, b: (c: Libc) => Promise<void>) {
  return Promise.all([runIn(L.k, a, pr(L.k, 'a')), runIn(L.k, b, pr(L.k, 'b'))]);
}

const all = new Set<string>();

test('orderly close: the active closer passes FIN_WAIT_1, FIN_WAIT_2 and TIME_WAIT', async () => {
  const L = lab2(bootVimage());
  const rec = new Recorder(L.k);
  await both(
    L,
    async (c) => {
      await nanosleep(c, 1 * MS);
      const s = await connect(c, 40001, '192.0.2.2', 7001);
      assert.ok(s >= 0);
      await c.close(s);
    },
    async (c) => {
      const l = await listen(c, 7001);
      const s = await c.accept(l, null, null);
      assert.equal(await c.read(s, new Uint8Array(8)), 0);
      await nanosleep(c, 500 * MS); // long past the delayed ACK: FIN_WAIT_2 first
      await c.close(s);
      await c.close(l);
    },
  );
  await L.k.run_until_idle();
  assert.deepEqual(rec.sequences(), [
    '40001>7001: CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT CLOSED',
    '7001>0: CLOSED LISTEN CLOSED',
    '7001>40001: CLOSED SYN_RCVD ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED',
  ]);
  for (const e of rec.edges) all.add(e);
});

test("the ACK of our FIN is lost; the peer's FIN+ACK takes FIN_WAIT_1 through FIN_WAIT_2 to TIME_WAIT", async () => {
  const L = lab2(bootVimage());
  const rec = new Recorder(L.k);
  await both(
    L,
    async (c) => {
      await nanosleep(c, 1 * MS);
      const s = await connect(c, 40002, '192.0.2.2', 7002);
      assert.ok(s >= 0);
      await nanosleep(c, 10 * MS); // b is ready to lose its ACK
      await c.close(s);
    },
    async (c) => {
      const l = await listen(c, 7002);
      const s = await c.accept(l, null, null);
      // b acknowledges a's FIN at once (FreeBSD ACKs a FIN immediately); that ACK is
      // lost, so a is still in FIN_WAIT_1 when b's own FIN arrives acknowledging it.
      L.k.enter(() => epair_set_impairment(L.b, { loss: 1 }));
      assert.equal(await c.read(s, new Uint8Array(8)), 0);
      L.k.enter(() => epair_set_impairment(L.b, { loss: 0 }));
      await c.close(s);
      await c.close(l);
    },
  );
  await L.k.run_until_idle();
  // As in FreeBSD's tcp_input, the ACK is processed before the FIN: the one segment
  // takes a through FIN_WAIT_2 into TIME_WAIT at the same instant (RFC 9293's direct
  // FIN_WAIT_1 -> TIME_WAIT edge is not a separate step in FreeBSD).
  assert.ok(
    rec
      .sequences()
      .includes('40002>7002: CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT CLOSED'),
    rec.sequences().join('\n'),
  );
  const at = (x: string): string => rec.times.find((t) => t.startsWith(x))!.replace(/^.*@/, '');
  assert.equal(at('40002 FIN_WAIT_2'), at('40002 TIME_WAIT'));
  assert.equal(epair_softc(L.b)!.imp_lost, 1, "b's ACK of the FIN was lost");
  for (const e of rec.edges) all.add(e);
});

test('simultaneous open and close: SYN_SENT -> SYN_RCVD, FIN_WAIT_1 -> CLOSING', async () => {
  const L = lab2(bootVimage());
  const rec = new Recorder(L.k);
  // 10 ms each way: both connects leave before either SYN arrives, and both FINs cross.
  L.k.enter(() => {
    epair_set_impairment(L.a, { delay_ns: 10 * MS });
    epair_set_impairment(L.b, { delay_ns: 10 * MS });
  });
  const side = (lport: number, peer: string, fport: number) => async (c: Libc) => {
    const s = await connect(c, lport, peer, fport);
    assert.ok(s >= 0);
    await nanosleep(c, 100 * MS);
    await c.shutdown(s, SHUT_WR);
    assert.equal(await c.read(s, new Uint8Array(8)), 0);
    await c.close(s);
  };
  await both(L, side(6001, '192.0.2.2', 6002), side(6002, '192.0.2.1', 6001));
  await L.k.run_until_idle();
  assert.deepEqual(rec.sequences(), [
    '6001>6002: CLOSED SYN_SENT SYN_RCVD ESTABLISHED FIN_WAIT_1 CLOSING TIME_WAIT CLOSED',
    '6002>6001: CLOSED SYN_SENT SYN_RCVD ESTABLISHED FIN_WAIT_1 CLOSING TIME_WAIT CLOSED',
  ]);
  for (const e of rec.edges) all.add(e);
});

test('resets: refused (SYN_SENT -> CLOSED) and aborted (ESTABLISHED -> CLOSED both sides)', async () => {
  const L = lab2(bootVimage());
  const rec = new Recorder(L.k);
  await both(
    L,
    async (c) => {
      await nanosleep(c, 1 * MS);
      assert.equal(await connect(c, 40003, '192.0.2.2', 9), -ECONNREFUSED);
      const s = await connect(c, 40004, '192.0.2.2', 7004);
      assert.ok(s >= 0);
      assert.equal(await sys(c, c.read(s, new Uint8Array(8))), -ECONNRESET);
      await c.close(s);
    },
    async (c) => {
      const l = await listen(c, 7004);
      const s = await c.accept(l, null, null);
      const lg = new Uint8Array(8);
      lg[0] = 1; // SO_LINGER {1, 0}: close sends RST
      assert.equal(await c.setsockopt(s, SOL_SOCKET, SO_LINGER, lg), 0);
      await c.close(s);
      await c.close(l);
    },
  );
  await L.k.run_until_idle();
  assert.deepEqual(rec.sequences(), [
    '40003>9: CLOSED SYN_SENT CLOSED',
    '40004>7004: CLOSED SYN_SENT ESTABLISHED CLOSED',
    '7004>0: CLOSED LISTEN CLOSED',
    '7004>40004: CLOSED SYN_RCVD ESTABLISHED CLOSED',
  ]);
  for (const e of rec.edges) all.add(e);
});

test("together: every edge of FreeBSD's state diagram", () => {
  assert.deepEqual([...all].sort(), [
    'CLOSED>LISTEN',
    'CLOSED>SYN_RCVD',
    'CLOSED>SYN_SENT',
    'CLOSE_WAIT>LAST_ACK',
    'CLOSING>TIME_WAIT',
    'ESTABLISHED>CLOSED',
    'ESTABLISHED>CLOSE_WAIT',
    'ESTABLISHED>FIN_WAIT_1',
    'FIN_WAIT_1>CLOSING',
    'FIN_WAIT_1>FIN_WAIT_2',
    'FIN_WAIT_2>TIME_WAIT',
    'LAST_ACK>CLOSED',
    'LISTEN>CLOSED',
    'SYN_RCVD>ESTABLISHED',
    'SYN_SENT>CLOSED',
    'SYN_SENT>ESTABLISHED',
    'SYN_SENT>SYN_RCVD',
    'TIME_WAIT>CLOSED',
  ]);
});
