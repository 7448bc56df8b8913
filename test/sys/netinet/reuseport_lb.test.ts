// SO_REUSEPORT_LB (FreeBSD's load-balancing groups, in_pcb.c): UDP sockets bound to one
// address and port with the option share the flows arriving there, each flow (source
// address and port) always reaching the same socket; TCP listeners share connections
// the same way, and a bound socket that does not listen gets none.  Plain SO_REUSEPORT
// gives every unicast datagram to one socket.  One stack on lo0: runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../../lib/kernel.js';
import { runIn, sys } from '../../lib/inet.js';
import { addaddr, inv } from '../../lib/inet_lab.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Libc } from '../../../src/lib/libc.js';
import { nanosleep } from '../../../src/lib/process.js';
import { V_loif } from '../../../src/net/if_loop.js';
import {
  AF_INET,
  MSG_DONTWAIT,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_REUSEPORT,
  SO_REUSEPORT_LB,
} from '../../../src/sys/socket.js';
import { sockaddr_in_bytes as sin } from '../../../src/netinet/in.js';
import { F_SETFL, O_NONBLOCK } from '../../../src/sys/fcntl.js';
import { INPCBLBGROUP_SIZMAX } from '../../../src/netinet/in_pcb.js';
import { EADDRINUSE, ENOBUFS, EWOULDBLOCK } from '../../../src/sys/errno.js';

const LO = 0x7f000001;
const FLOWS = 40;

function boot1(): Kernel {
  const k = bootTest();
  inv(k, k.vnet0, () => addaddr(V_loif.get()!, '127.0.0.1/8'));
  return k;
}

async function sock(c: Libc, type: number, opt: number, port: number): Promise<number> {
  const s = await c.socket(AF_INET, type, 0);
  assert.equal(await c.setsockopt(s, SOL_SOCKET, opt, 1), 0);
  assert.equal(await c.bind(s, sin(LO, port)), 0);
  return s;
}

/** Send `rounds` datagrams from each of FLOWS source ports; which receiver got each. */
async function udp_flows(c: Libc, rx: number[], rounds: number): Promise<number[][]> {
  const got: number[][] = rx.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < FLOWS; i++) {
      const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
      assert.equal(await c.bind(s, sin(LO, 41000 + i)), 0);
      assert.equal(await c.sendto(s, Uint8Array.of(i), 1, 0, sin(LO, 6000)), 1);
      await c.close(s);
    }
    await nanosleep(c, 1e6);
    const b = new Uint8Array(4);
    for (let j = 0; j < rx.length; j++)
      for (;;) {
        const n = await sys(c, c.recv(rx[j]!, b, 4, MSG_DONTWAIT));
        if (n === -EWOULDBLOCK) break;
        assert.equal(n, 1);
        got[j]!.push(b[0]!);
      }
  }
  return got;
}

test('UDP: a load-balancing group shares flows; each flow sticks to one socket', async () => {
  const k = boot1();
  await runIn(k, async (c) => {
    const rx: number[] = [];
    for (let j = 0; j < 4; j++) rx.push(await sock(c, SOCK_DGRAM, SO_REUSEPORT_LB, 6000));
    const got = await udp_flows(c, rx, 2);
    // Every datagram arrived once; each socket has some flows, and both datagrams of
    // a flow went to the same socket.
    assert.deepEqual(
      got.flat().sort((x, y) => x - y),
      [...Array(FLOWS).keys()].flatMap((i) => [i, i]),
    );
    for (const g of got) {
      assert.ok(g.length > 0, `a member got nothing: ${JSON.stringify(got)}`);
      for (const i of g) assert.equal(g.filter((x) => x === i).length, 2, `flow ${i} split`);
    }
    // A member that closes leaves the group: the others take all flows.
    await c.close(rx[0]!);
    const after = await udp_flows(c, rx.slice(1), 1);
    assert.equal(after.flat().length, FLOWS);
    for (const g of after) assert.ok(g.length > 0);
  });
});

test('UDP: plain SO_REUSEPORT gives each unicast datagram to one socket', async () => {
  const k = boot1();
  await runIn(k, async (c) => {
    const rx: number[] = [];
    for (let j = 0; j < 3; j++) rx.push(await sock(c, SOCK_DGRAM, SO_REUSEPORT, 6000));
    const got = await udp_flows(c, rx, 1);
    assert.deepEqual(
      got.map((g) => g.length).sort((x, y) => x - y),
      [0, 0, FLOWS],
    );
  });
});

test('TCP: listeners in a group share connections; a bound non-listener gets none', async () => {
  const k = boot1();
  const accepted = await runIn(k, async (c) => {
    const ls: number[] = [];
    for (let j = 0; j < 3; j++) {
      const l = await sock(c, SOCK_STREAM, SO_REUSEPORT_LB, 6001);
      assert.equal(await c.listen(l, 64), 0);
      assert.equal(await c.fcntl(l, F_SETFL, O_NONBLOCK), 0);
      ls.push(l);
    }
    // Bound with the option but not listening: not a member.
    const idle = await sock(c, SOCK_STREAM, SO_REUSEPORT_LB, 6001);
    const cs: number[] = [];
    for (let i = 0; i < 30; i++) {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.bind(s, sin(LO, 42000 + i)), 0);
      assert.equal(await c.connect(s, sin(LO, 6001)), 0);
      cs.push(s);
    }
    const n: number[] = [];
    for (const l of ls) {
      let a = 0;
      while ((await sys(c, c.accept(l, null, null))) >= 0) a++;
      n.push(a);
    }
    await c.close(idle);
    return n;
  });
  assert.equal(
    accepted.reduce((x, y) => x + y, 0),
    30,
  );
  for (const a of accepted) assert.ok(a > 0, `a listener got nothing: ${accepted}`);
});

test(`a group takes at most ${INPCBLBGROUP_SIZMAX} sockets, then bind fails with ENOBUFS`, async () => {
  const k = boot1();
  const r = await runIn(k, async (c) => {
    for (let j = 0; j < INPCBLBGROUP_SIZMAX; j++) await sock(c, SOCK_DGRAM, SO_REUSEPORT_LB, 6002);
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.equal(await c.setsockopt(s, SOL_SOCKET, SO_REUSEPORT_LB, 1), 0);
    const e = await sys(c, c.bind(s, sin(LO, 6002)));
    // The failed bind left the socket unbound: another port is fine.
    return { e, again: await sys(c, c.bind(s, sin(LO, 6003))) };
  });
  assert.deepEqual(r, { e: -ENOBUFS, again: 0 });
});

test('a disconnected socket that finds its group full stays bound and reachable', async () => {
  const k = boot1();
  const r = await runIn(k, async (c) => {
    const members: number[] = [];
    for (let j = 0; j < INPCBLBGROUP_SIZMAX; j++)
      members.push(await sock(c, SOCK_DGRAM, SO_REUSEPORT_LB, 6004));
    // x leaves the group by connecting; y takes its place; x disconnects: no room.
    const x = members.shift()!;
    assert.equal(await c.connect(x, sin(LO, 9)), 0);
    members.push(await sock(c, SOCK_DGRAM, SO_REUSEPORT_LB, 6004));
    // connect(2) to an AF_UNSPEC address disconnects a datagram socket first.
    const unspec = new Uint8Array(16);
    unspec[0] = 16;
    await c.connect(x, unspec);
    for (const m of members) await c.close(m);
    // x is still bound to 6004 (a plain bind fails) and still gets datagrams.
    const p = await c.socket(AF_INET, SOCK_DGRAM, 0);
    const bind = await sys(c, c.bind(p, sin(LO, 6004)));
    assert.equal(await c.sendto(p, Uint8Array.of(7), 1, 0, sin(LO, 6004)), 1);
    await nanosleep(c, 1e6);
    const b = new Uint8Array(4);
    return { bind, got: await sys(c, c.recv(x, b, 4, MSG_DONTWAIT)), byte: b[0] };
  });
  assert.deepEqual(r, { bind: -EADDRINUSE, got: 1, byte: 7 });
});
