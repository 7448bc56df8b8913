// RST in every state (RFC 9293 §3.10.7, RFC 5961 §3, RFC 1337), with FreeBSD's rules:
// an RST whose sequence number is exactly the next expected one drops a synchronized
// connection (ECONNRESET, tcps_drops); SYN_SENT takes only an RST that acknowledges its
// SYN (ECONNREFUSED); a listener's syncache entry goes on an RST at irs + 1
// (tcps_sc_reset); a listener itself and a TIME_WAIT connection ignore RSTs.
//
// The victim is always vnet a (192.0.2.1); its peer is vnet b (192.0.2.2).  Segments
// "from b" are forged inside a by a raw IP_HDRINCL socket addressed to a's own address
// (so they arrive through lo0 even while the epair drops b's traffic), with sequence
// numbers read from a's tcpcb.  bootVimage: runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { runIn, send_tcp_raw, sys } from '../../lib/inet.js';
import { pr, delta, inv, ip, lab2, type Counters, type Lab2 } from '../../lib/inet_lab.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Vnet } from '../../../src/net/vnet.js';
import type { Libc } from '../../../src/lib/libc.js';
import { AF_INET, SHUT_WR, SOCK_STREAM, SOL_SOCKET, SO_ERROR } from '../../../src/sys/socket.js';
import { sockaddr_in_bytes as sin } from '../../../src/netinet/in.js';
import { V_tcpstat, intotcpcb, tcpstates, type Tcpcb } from '../../../src/netinet/tcp_var.js';
import { V_tcbinfo } from '../../../src/netinet/tcp_subr.js';
import { syncache_count } from '../../../src/netinet/tcp_syncache.js';
import { epair_set_impairment } from '../../../src/net/if_epair.js';
import { ECONNREFUSED, ECONNRESET } from '../../../src/sys/errno.js';
import { nanosleep } from '../../../src/lib/process.js';

const A = ip('192.0.2.1');
const B = ip('192.0.2.2');
const TH_FIN = 0x01;
const TH_RST = 0x04;
const TH_ACK = 0x10;
const APORT = 40000;
const BPORT = 7100;
const MS = 1e6;

function tcpstat(k: Kernel, v: Vnet): Counters {
  return inv(k, v, () => V_tcpstat.fetchAll(v));
}

/** The TCP pcbs of vnet v: "lport>fport STATE". */
function states(k: Kernel, v: Vnet): string[] {
  return inv(k, v, () =>
    [...V_tcbinfo().ipi_listhead].map((inp) => {
      const tp = intotcpcb(inp);
      return `${inp.inp_lport}>${inp.inp_fport} ${tp === null ? '-' : tcpstates[tp.t_state]}`;
    }),
  );
}

/** vnet v's tcpcb for local port lport and foreign port fport. */
function tcb(k: Kernel, v: Vnet, lport: number, fport: number): Tcpcb {
  const inp = inv(k, v, () =>
    [...V_tcbinfo().ipi_listhead].find((i) => i.inp_lport === lport && i.inp_fport === fport),
  );
  assert.ok(inp !== undefined, `no pcb ${lport}>${fport}`);
  const tp = intotcpcb(inp);
  assert.ok(tp !== null);
  return tp;
}

/**
 * Forge a bare segment from B:sport to A:dport inside a's vnet (c runs in jail a) and
 * give the stack a millisecond to take it.
 */
async function forge(
  c: Libc,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
): Promise<void> {
  await send_tcp_raw(c, { src: B, sport, dst: A, dport, seq, ack, flags });
  await nanosleep(c, 1 * MS); // a's netisr takes it
}

async function so_error(c: Libc, s: number): Promise<number> {
  const b = new Uint8Array(4);
  assert.equal(await c.getsockopt(s, SOL_SOCKET, SO_ERROR, b), 0);
  return new DataView(b.buffer).getInt32(0, true);
}

/** b listens on BPORT and accepts one connection; it runs `then` on it, then closes. */
function peer(L: Lab2, then: (c: Libc, s: number) => Promise<void>): Promise<void> {
  return runIn(
    L.k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.bind(l, sin(0, BPORT)), 0);
      assert.equal(await c.listen(l, 1), 0);
      const s = await c.accept(l, null, null);
      assert.ok(s >= 0);
      await c.close(l);
      await then(c, s);
      await c.close(s);
    },
    pr(L.k, 'b'),
  );
}

/** a connects from APORT to b's BPORT (once b listens). */
async function connect_b(c: Libc): Promise<number> {
  await nanosleep(c, 10 * MS);
  const s = await c.socket(AF_INET, SOCK_STREAM, 0);
  assert.equal(await c.bind(s, sin(0, APORT)), 0);
  assert.equal(await c.connect(s, sin(B, BPORT)), 0);
  return s;
}

/** b's ACKs and data stop reaching a (the epair drops what b transmits). */
function mute_b(L: Lab2): void {
  L.k.enter(() => epair_set_impairment(L.b, { loss: 1 }));
}

/** The RST a accepts for its connection: seq = rcv_nxt (= last_ack_sent). */
async function rst_exact(c: Libc, L: Lab2): Promise<void> {
  const tp = tcb(L.k, L.va, APORT, BPORT);
  await forge(c, BPORT, APORT, tp.rcv_nxt, 0, TH_RST);
}

interface Outcome {
  before: string[];
  after: string[];
  so_error?: number;
  drops: number;
}

/**
 * Bring a's connection into a state with `reach` (run in a on the connected socket,
 * while b runs `peerside`), send the exact RST, report a's pcbs and the socket's error.
 */
async function rst_in(
  reach: (c: Libc, s: number, L: Lab2) => Promise<void>,
  peerside: (c: Libc, s: number) => Promise<void> = async (c) => {
    await nanosleep(c, 2000 * MS);
  },
): Promise<Outcome> {
  const L = lab2(bootVimage());
  const { k, va } = L;
  let out: Outcome | null = null;
  const victim = runIn(
    k,
    async (c) => {
      const s = await connect_b(c);
      await reach(c, s, L);
      await nanosleep(c, 50 * MS);
      const before = states(k, va);
      const s0 = tcpstat(k, va);
      await rst_exact(c, L);
      await nanosleep(c, 1 * MS);
      out = {
        before,
        after: states(k, va),
        so_error: await so_error(c, s),
        drops: delta(s0, tcpstat(k, va))['tcps_drops'] ?? 0,
      };
      await c.close(s);
    },
    pr(k, 'a'),
  );
  await Promise.all([victim, peer(L, peerside)]);
  assert.ok(out !== null);
  return out;
}

test('RST in ESTABLISHED: the connection is dropped, read fails with ECONNRESET', async () => {
  const L = lab2(bootVimage());
  const { k, va } = L;
  let r: Record<string, unknown> = {};
  const victim = runIn(
    k,
    async (c) => {
      const s = await connect_b(c);
      const before = states(k, va);
      const s0 = tcpstat(k, va);
      // A forged RST one byte off only draws a challenge ACK; the exact one drops.
      const tp = tcb(k, va, APORT, BPORT);
      await forge(c, BPORT, APORT, tp.rcv_nxt + 1, 0, TH_RST);
      const mid = states(k, va);
      await forge(c, BPORT, APORT, tp.rcv_nxt, 0, TH_RST);
      const read = await sys(c, c.read(s, new Uint8Array(8)));
      const d = delta(s0, tcpstat(k, va));
      r = {
        before,
        mid,
        read,
        after: states(k, va),
        drops: d['tcps_drops'],
        badrst: d['tcps_badrst'],
        challenge: d['tcps_challenge_acks'],
      };
      await c.close(s);
    },
    pr(k, 'a'),
  );
  await Promise.all([
    victim,
    peer(L, async (c) => {
      await nanosleep(c, 1000 * MS);
    }),
  ]);
  assert.deepEqual(r, {
    before: [`${APORT}>${BPORT} ESTABLISHED`],
    mid: [`${APORT}>${BPORT} ESTABLISHED`],
    read: -ECONNRESET,
    after: [`${APORT}>${BPORT} CLOSED`],
    drops: 1,
    badrst: 1,
    challenge: 1,
  });
});

test('RST in FIN_WAIT_1: dropped, SO_ERROR is ECONNRESET', async () => {
  const o = await rst_in(async (c, s, L) => {
    mute_b(L); // b's ACK of our FIN never arrives
    assert.equal(await c.shutdown(s, SHUT_WR), 0);
  });
  assert.deepEqual(o, {
    before: [`${APORT}>${BPORT} FIN_WAIT_1`],
    after: [`${APORT}>${BPORT} CLOSED`],
    so_error: ECONNRESET,
    drops: 1,
  });
});

test('RST in FIN_WAIT_2: dropped, SO_ERROR is ECONNRESET', async () => {
  const o = await rst_in(async (c, s) => {
    assert.equal(await c.shutdown(s, SHUT_WR), 0);
  });
  assert.deepEqual(o, {
    before: [`${APORT}>${BPORT} FIN_WAIT_2`],
    after: [`${APORT}>${BPORT} CLOSED`],
    so_error: ECONNRESET,
    drops: 1,
  });
});

test('RST in CLOSE_WAIT: dropped, SO_ERROR is ECONNRESET', async () => {
  const o = await rst_in(
    async (c, s) => {
      assert.equal(await c.read(s, new Uint8Array(8)), 0); // b's FIN
    },
    async (c, s) => {
      assert.equal(await c.shutdown(s, SHUT_WR), 0);
      await nanosleep(c, 2000 * MS);
    },
  );
  assert.deepEqual(o, {
    before: [`${APORT}>${BPORT} CLOSE_WAIT`],
    after: [`${APORT}>${BPORT} CLOSED`],
    so_error: ECONNRESET,
    drops: 1,
  });
});

test('RST in CLOSING: the connection is closed', async () => {
  const o = await rst_in(async (c, s, L) => {
    mute_b(L);
    assert.equal(await c.shutdown(s, SHUT_WR), 0);
    // b's FIN crosses ours and does not acknowledge it: simultaneous close.
    const tp = tcb(L.k, L.va, APORT, BPORT);
    await forge(c, BPORT, APORT, tp.rcv_nxt, tp.snd_una, TH_FIN | TH_ACK);
  });
  assert.deepEqual(
    { ...o, so_error: undefined },
    {
      before: [`${APORT}>${BPORT} CLOSING`],
      after: [`${APORT}>${BPORT} CLOSED`],
      so_error: undefined,
      drops: 1,
    },
  );
});

test('RST in LAST_ACK: the connection is closed', async () => {
  const o = await rst_in(
    async (c, s, L) => {
      assert.equal(await c.read(s, new Uint8Array(8)), 0); // b's FIN
      mute_b(L); // b's ACK of our FIN never arrives
      assert.equal(await c.shutdown(s, SHUT_WR), 0);
    },
    async (c, s) => {
      assert.equal(await c.shutdown(s, SHUT_WR), 0);
      await nanosleep(c, 2000 * MS);
    },
  );
  assert.deepEqual(
    { ...o, so_error: undefined },
    {
      before: [`${APORT}>${BPORT} LAST_ACK`],
      after: [`${APORT}>${BPORT} CLOSED`],
      so_error: undefined,
      drops: 1,
    },
  );
});

test('RST in TIME_WAIT is ignored (RFC 1337): the pcb waits out 2*MSL', async () => {
  const o = await rst_in(
    async (c, s) => {
      assert.equal(await c.shutdown(s, SHUT_WR), 0);
      assert.equal(await c.read(s, new Uint8Array(8)), 0); // b's FIN
    },
    async (c, s) => {
      assert.equal(await c.read(s, new Uint8Array(8)), 0);
      await c.shutdown(s, SHUT_WR);
      await nanosleep(c, 2000 * MS);
    },
  );
  assert.deepEqual(o, {
    before: [`${APORT}>${BPORT} TIME_WAIT`],
    after: [`${APORT}>${BPORT} TIME_WAIT`],
    so_error: 0,
    drops: 0,
  });
});

test('RST in SYN_SENT: only an RST acknowledging the SYN refuses the connection', async () => {
  const L = lab2(bootVimage());
  const { k, va } = L;
  // a's SYNs never reach b.
  k.enter(() => epair_set_impairment(L.a, { loss: 1 }));
  const seen: Record<string, unknown> = {};
  const client = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.bind(s, sin(0, APORT)), 0);
      seen['connect'] = await sys(c, c.connect(s, sin(B, BPORT)));
      seen['so_error'] = await so_error(c, s);
      await c.close(s);
    },
    pr(k, 'a'),
  );
  const injector = runIn(
    k,
    async (c) => {
      await nanosleep(c, 100 * MS);
      const tp = tcb(k, va, APORT, BPORT);
      seen['before'] = states(k, va);
      // No ACK: ignored.  An ACK of something never sent: answered with RST, ignored.
      await forge(c, BPORT, APORT, 1000, 0, TH_RST);
      await forge(c, BPORT, APORT, 1000, tp.iss + 7, TH_RST | TH_ACK);
      await nanosleep(c, 1 * MS);
      seen['ignored'] = states(k, va);
      await forge(c, BPORT, APORT, 1000, tp.iss + 1, TH_RST | TH_ACK);
    },
    pr(k, 'a'),
  );
  await Promise.all([client, injector]);
  assert.deepEqual(seen, {
    before: [`${APORT}>${BPORT} SYN_SENT`],
    ignored: [`${APORT}>${BPORT} SYN_SENT`],
    connect: -ECONNREFUSED,
    so_error: 0,
  });
  assert.deepEqual(states(k, va), []);
});

test('RST for a listener: its syncache entry goes at irs + 1; the listener stays', async () => {
  const L = lab2(bootVimage());
  const { k, va, vb } = L;
  // a listens; a's SYN-ACKs are lost until the test lets them through.
  const s0 = tcpstat(k, va);
  const seen: Record<string, unknown> = {};
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.bind(l, sin(0, BPORT)), 0);
      assert.equal(await c.listen(l, 4), 0);
      const s = await c.accept(l, null, null);
      assert.ok(s >= 0);
      await c.close(s);
      await c.close(l);
    },
    pr(k, 'a'),
  );
  const client = runIn(
    k,
    async (c) => {
      await nanosleep(c, 10 * MS); // once a listens
      // A refused connection first, so that ARP has resolved both ways before a's
      // transmissions are dropped.
      const w = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await sys(c, c.connect(w, sin(A, 9))), -ECONNREFUSED);
      await c.close(w);
      k.enter(() => epair_set_impairment(L.a, { loss: 1 }));
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.bind(s, sin(0, APORT)), 0);
      seen['connect'] = await sys(c, c.connect(s, sin(A, BPORT)));
      await c.close(s);
    },
    pr(k, 'b'),
  );
  const injector = runIn(
    k,
    async (c) => {
      await nanosleep(c, 100 * MS);
      const irs = tcb(k, vb, APORT, BPORT).iss;
      seen['entries'] = inv(k, va, () => syncache_count());
      // Not irs + 1: counted, the entry stays; irs + 1: the entry goes.
      await forge(c, APORT, BPORT, irs + 5, 0, TH_RST);
      seen['after-bad'] = inv(k, va, () => syncache_count());
      await forge(c, APORT, BPORT, irs + 1, 0, TH_RST);
      seen['after-exact'] = inv(k, va, () => syncache_count());
      // An RST that matches nothing: the listener ignores it and sends nothing.
      const sent = tcpstat(k, va)['tcps_sndtotal'];
      await forge(c, 5555, BPORT, 1, 0, TH_RST);
      seen['sent-for-stray'] = (tcpstat(k, va)['tcps_sndtotal'] ?? 0) - (sent ?? 0);
      seen['listener'] = states(k, va);
      k.enter(() => epair_set_impairment(L.a, { loss: 0 }));
    },
    pr(k, 'a'),
  );
  await Promise.all([server, client, injector]);
  const d = delta(s0, tcpstat(k, va));
  assert.deepEqual(seen, {
    entries: 1,
    'after-bad': 1,
    'after-exact': 0,
    'sent-for-stray': 0,
    listener: [`${BPORT}>0 LISTEN`],
    // The client's retransmitted SYN makes a new entry and the connection completes.
    connect: 0,
  });
  assert.equal(d['tcps_sc_reset'], 1);
  assert.equal(d['tcps_badrst'], 1);
  assert.equal(d['tcps_sc_added'], 2);
  assert.equal(d['tcps_accepts'], 1);
});
