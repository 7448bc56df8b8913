// The socket API's edge semantics on AF_INET datagram sockets, after FreeBSD's
// tests/sys/netinet/socket_afinet.c (bind_zero, bind_ok, bindany, multibind) and
// udp_bindings: exact errno values for bind/connect/sendto, which socket of several
// bound to one port gets a datagram, ephemeral ports from the seeded RNG and
// net.inet.ip.portrange, IP_PORTRANGE, poll, MSG_PEEK and MSG_TRUNC.
// One stack (lo0: 127.0.0.1/8 and 198.18.0.1/32): runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../../lib/kernel.js';
import { runIn, sys } from '../../lib/inet.js';
import { addaddr, inv, ip } from '../../lib/inet_lab.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Libc } from '../../../src/lib/libc.js';
import { kern_jail_set } from '../../../src/kern/kern_jail.js';
import { nanosleep } from '../../../src/lib/process.js';
import { V_loif } from '../../../src/net/if_loop.js';
import {
  AF_INET,
  AF_UNIX,
  MSG_DONTWAIT,
  MSG_PEEK,
  MSG_TRUNC,
  POLLIN,
  POLLOUT,
  SHUT_RDWR,
  SOCK_DGRAM,
  SOL_SOCKET,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_TYPE,
} from '../../../src/sys/socket.js';
import {
  IPPROTO_IP,
  sockaddr_in_decode,
  sockaddr_in_bytes as sin,
} from '../../../src/netinet/in.js';
import { IP_BINDANY, IP_PORTRANGE, IP_PORTRANGE_HIGH } from '../../../src/netinet/ip_ctloutput.js';
import {
  V_ipport_firstauto,
  V_ipport_lastauto,
  V_ipport_randomized,
} from '../../../src/netinet/in_pcb.js';
import {
  EACCES,
  EADDRINUSE,
  EADDRNOTAVAIL,
  EAFNOSUPPORT,
  EDESTADDRREQ,
  EINVAL,
  EISCONN,
  ENETUNREACH,
  ENOTCONN,
  EPERM,
  EWOULDBLOCK,
} from '../../../src/sys/errno.js';

function boot1(seed?: number): Kernel {
  const k = bootTest(seed === undefined ? {} : { seed });
  inv(k, k.vnet0, () => {
    addaddr(V_loif.get()!, '127.0.0.1/8');
    addaddr(V_loif.get()!, '198.18.0.1/32');
  });
  return k;
}

async function dgram(c: Libc, opts = 0): Promise<number> {
  const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
  assert.ok(s >= 0, `socket: ${c.errno}`);
  if (opts & SO_REUSEADDR) assert.equal(await c.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, 1), 0);
  if (opts & SO_REUSEPORT) assert.equal(await c.setsockopt(s, SOL_SOCKET, SO_REUSEPORT, 1), 0);
  return s;
}

async function name(c: Libc, s: number, peer = false): Promise<string | number> {
  const b = new Uint8Array(16);
  const r = await sys(c, peer ? c.getpeername(s, b) : c.getsockname(s, b));
  if (r < 0) return r;
  const a = sockaddr_in_decode(b)!;
  return `${a.sin_addr >>> 24}.${(a.sin_addr >>> 16) & 255}.${(a.sin_addr >>> 8) & 255}.${a.sin_addr & 255}:${a.sin_port}`;
}

test('bind: bind_zero, bind_ok and the errno of every bad bind', async () => {
  const k = boot1();
  const r = await runIn(k, async (c) => {
    const out: Record<string, number | string> = {};
    // bind_zero: an all-zero sockaddr (AF_UNSPEC, INADDR_ANY) is FreeBSD's old form.
    let s = await dgram(c);
    out['zero'] = await sys(c, c.bind(s, new Uint8Array(16)));
    out['again'] = await sys(c, c.bind(s, sin(0, 0)));
    s = await dgram(c);
    out['ok'] = await sys(c, c.bind(s, sin(0, 0)));
    const port = Number(String(await name(c, s)).split(':')[1]);
    out['ephemeral'] = port >= 10000 && port <= 65535 ? 'in range' : port;
    s = await dgram(c);
    const unspec = sin(ip('127.0.0.1'), 0);
    unspec[1] = 0;
    out['unspec-addr'] = await sys(c, c.bind(s, unspec));
    const unix = sin(0, 0);
    unix[1] = AF_UNIX;
    out['af_unix'] = await sys(c, c.bind(s, unix));
    out['short'] = await sys(c, c.bind(s, sin(0, 0).subarray(0, 8)));
    out['not-ours'] = await sys(c, c.bind(s, sin(ip('203.0.113.9'), 0)));
    out['local'] = await sys(c, c.bind(s, sin(ip('198.18.0.1'), 5353)));
    out['name'] = await name(c, s);
    out['type'] = (await c.getsockopt_int(s, SOL_SOCKET, SO_TYPE))!;
    return out;
  });
  assert.deepEqual(r, {
    zero: 0,
    again: -EINVAL,
    ok: 0,
    ephemeral: 'in range',
    'unspec-addr': -EAFNOSUPPORT,
    af_unix: -EAFNOSUPPORT,
    short: -EINVAL,
    'not-ours': -EADDRNOTAVAIL,
    local: 0,
    name: '198.18.0.1:5353',
    type: SOCK_DGRAM,
  });
  // Reserved ports need root.
  const user = await runIn(
    k,
    async (c) => [
      await sys(c, c.bind(await dgram(c), sin(0, 80))),
      await sys(c, c.bind(await dgram(c), sin(0, 1024))),
    ],
    k.prison0,
    1001,
  );
  assert.deepEqual(user, [-EACCES, 0]);
});

test('bindany: IP_BINDANY binds a foreign address; only root in a vnet may set it', async () => {
  const k = boot1();
  const root = await runIn(k, async (c) => {
    const s = await dgram(c);
    const before = await sys(c, c.bind(await dgram(c), sin(ip('203.0.113.9'), 0)));
    const set = await sys(c, c.setsockopt(s, IPPROTO_IP, IP_BINDANY, 1));
    const get = await c.getsockopt_int(s, IPPROTO_IP, IP_BINDANY);
    const bind = await sys(c, c.bind(s, sin(ip('203.0.113.9'), 4000)));
    return [before, set, get, bind, await name(c, s)];
  });
  assert.deepEqual(root, [-EADDRNOTAVAIL, 0, 1, 0, '203.0.113.9:4000']);
  const user = await runIn(
    k,
    async (c) => sys(c, c.setsockopt(await dgram(c), IPPROTO_IP, IP_BINDANY, 1)),
    k.prison0,
    1001,
  );
  assert.equal(user, -EPERM);
  // A jail without its own vnet shares the host's stack: no PRIV_NETINET_BINDANY.
  const j = k.enter(() => kern_jail_set(k, k.prison0, { name: 'shared', persist: true }));
  assert.equal(j.error, 0);
  const jailed = await runIn(
    k,
    async (c) => sys(c, c.setsockopt(await dgram(c), IPPROTO_IP, IP_BINDANY, 1)),
    j.pr!,
  );
  assert.equal(jailed, -EPERM);
});

test('multibind: a second bind of one address and port needs SO_REUSEPORT on both', async () => {
  const k = boot1();
  const opts = [0, SO_REUSEADDR, SO_REUSEPORT, SO_REUSEADDR | SO_REUSEPORT];
  const r = await runIn(k, async (c) => {
    const got: string[] = [];
    let port = 7700;
    for (const o1 of opts)
      for (const o2 of opts) {
        port++;
        const s1 = await dgram(c, o1);
        const s2 = await dgram(c, o2);
        assert.equal(await sys(c, c.bind(s1, sin(ip('127.0.0.1'), port))), 0);
        got.push(`${o1}/${o2}: ${await sys(c, c.bind(s2, sin(ip('127.0.0.1'), port)))}`);
        await c.close(s1);
        await c.close(s2);
      }
    // Wildcard against a specific address: SO_REUSEADDR on the second is enough.
    for (const [a1, a2] of [
      [0, ip('127.0.0.1')],
      [ip('127.0.0.1'), 0],
    ] as const)
      for (const o2 of [0, SO_REUSEADDR]) {
        port++;
        const s1 = await dgram(c);
        const s2 = await dgram(c, o2);
        assert.equal(await sys(c, c.bind(s1, sin(a1, port))), 0);
        got.push(
          `${a1 === 0 ? '*' : 'lo'}+${a2 === 0 ? '*' : 'lo'} ${o2}: ${await sys(c, c.bind(s2, sin(a2, port)))}`,
        );
      }
    return got;
  });
  const E = -EADDRINUSE;
  const RP = SO_REUSEPORT;
  const want = opts.flatMap((o1) => opts.map((o2) => `${o1}/${o2}: ${o1 & RP && o2 & RP ? 0 : E}`));
  want.push(`*+lo 0: ${E}`, `*+lo ${SO_REUSEADDR}: 0`, `lo+* 0: ${E}`, `lo+* ${SO_REUSEADDR}: 0`);
  assert.deepEqual(r, want);
});

test('udp_bindings: connected beats bound-to-address beats wildcard', async () => {
  const k = boot1();
  const r = await runIn(k, async (c) => {
    const RA = SO_REUSEADDR | SO_REUSEPORT;
    const w = await dgram(c, RA);
    const b = await dgram(c, RA);
    const cn = await dgram(c, RA);
    assert.equal(await sys(c, c.bind(w, sin(0, 7000))), 0);
    assert.equal(await sys(c, c.bind(b, sin(ip('127.0.0.1'), 7000))), 0);
    assert.equal(await sys(c, c.bind(cn, sin(ip('127.0.0.1'), 7000))), 0);
    assert.equal(await sys(c, c.connect(cn, sin(ip('127.0.0.1'), 9000))), 0);
    const p9000 = await dgram(c);
    assert.equal(await sys(c, c.bind(p9000, sin(ip('127.0.0.1'), 9000))), 0);
    const other = await dgram(c);
    await c.sendto(p9000, Uint8Array.of(1), 1, 0, sin(ip('127.0.0.1'), 7000));
    await c.sendto(other, Uint8Array.of(2), 1, 0, sin(ip('127.0.0.1'), 7000));
    await c.sendto(other, Uint8Array.of(3), 1, 0, sin(ip('198.18.0.1'), 7000));
    await nanosleep(c, 1e6); /* the loopback's netisr delivers meanwhile */
    const buf = new Uint8Array(4);
    const got: Record<string, number[]> = { w: [], b: [], cn: [] };
    for (const [n, s] of [
      ['w', w],
      ['b', b],
      ['cn', cn],
    ] as const)
      for (;;) {
        const x = await sys(c, c.recv(s, buf, 4, MSG_DONTWAIT));
        if (x < 0) break;
        got[n]!.push(buf[0]!);
      }
    return got;
  });
  assert.deepEqual(r, { w: [3], b: [2], cn: [1] });
});

test('ephemeral ports: seeded, within net.inet.ip.portrange, EADDRNOTAVAIL when exhausted', async () => {
  const first = async (seed: number): Promise<string | number> => {
    const k = boot1(seed);
    return runIn(k, async (c) => {
      const s = await dgram(c);
      await c.bind(s, sin(0, 0));
      return name(c, s);
    });
  };
  const a = await first(1);
  assert.equal(await first(1), a, 'same seed, same port');
  assert.notEqual(await first(2), a, 'another seed, another port');

  const k = boot1();
  inv(k, k.vnet0, () => {
    V_ipport_firstauto.set(40000);
    V_ipport_lastauto.set(40001);
  });
  const r = await runIn(k, async (c) => {
    const out: (string | number)[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await dgram(c);
      const e = await sys(c, c.bind(s, sin(0, 0)));
      out.push(e === 0 ? Number(String(await name(c, s)).split(':')[1]) : e);
    }
    // An implicit bind by sendto fails the same way.
    const s = await dgram(c);
    out.push(await sys(c, c.sendto(s, Uint8Array.of(0), 1, 0, sin(ip('127.0.0.1'), 9))));
    const h = await dgram(c);
    assert.equal(await sys(c, c.setsockopt(h, IPPROTO_IP, IP_PORTRANGE, IP_PORTRANGE_HIGH)), 0);
    assert.equal(await sys(c, c.bind(h, sin(0, 0))), 0);
    const hp = Number(String(await name(c, h)).split(':')[1]);
    out.push(hp >= 49152 && hp <= 65535 ? 'high' : hp);
    assert.equal(await sys(c, c.setsockopt(h, IPPROTO_IP, IP_PORTRANGE, 7)), -EINVAL);
    return out;
  });
  assert.deepEqual([...r.slice(0, 2)].sort(), [40000, 40001]);
  assert.deepEqual(r.slice(2), [-EADDRNOTAVAIL, -EADDRNOTAVAIL, 'high']);

  const k2 = boot1();
  inv(k2, k2.vnet0, () => V_ipport_randomized.set(0));
  const seq = await runIn(k2, async (c) => {
    const out: (string | number)[] = [];
    for (let i = 0; i < 2; i++) {
      const s = await dgram(c);
      await c.bind(s, sin(0, 0));
      out.push(await name(c, s));
    }
    return out;
  });
  assert.deepEqual(seq, ['0.0.0.0:10000', '0.0.0.0:10001']);
});

test('connect and send: EADDRNOTAVAIL, ENETUNREACH, EISCONN, EDESTADDRREQ, ENOTCONN', async () => {
  const k = boot1();
  const r = await runIn(k, async (c) => {
    const out: Record<string, number | string> = {};
    const s = await dgram(c);
    out['port0'] = await sys(c, c.connect(s, sin(ip('127.0.0.1'), 0)));
    out['unroutable'] = await sys(c, c.connect(s, sin(ip('203.0.113.1'), 9)));
    out['sendto-unroutable'] = await sys(
      c,
      c.sendto(s, Uint8Array.of(0), 1, 0, sin(ip('203.0.113.1'), 9)),
    );
    out['send-unconnected'] = await sys(c, c.send(s, Uint8Array.of(0)));
    out['peer-unconnected'] = await name(c, s, true);
    out['shutdown-unconnected'] = await sys(c, c.shutdown(await dgram(c), SHUT_RDWR));
    out['connect'] = await sys(c, c.connect(s, sin(ip('127.0.0.1'), 9)));
    out['sockname'] = String(await name(c, s)).replace(/:\d+$/, ':*');
    out['peer'] = await name(c, s, true);
    out['sendto-connected'] = await sys(
      c,
      c.sendto(s, Uint8Array.of(0), 1, 0, sin(ip('127.0.0.1'), 9)),
    );
    out['reconnect'] = await sys(c, c.connect(s, sin(ip('198.18.0.1'), 10)));
    out['peer2'] = await name(c, s, true);
    return out;
  });
  assert.deepEqual(r, {
    port0: -EADDRNOTAVAIL,
    unroutable: -ENETUNREACH,
    'sendto-unroutable': -ENETUNREACH,
    'send-unconnected': -EDESTADDRREQ,
    'peer-unconnected': -ENOTCONN,
    'shutdown-unconnected': -ENOTCONN,
    connect: 0,
    sockname: '127.0.0.1:*',
    peer: '127.0.0.1:9',
    'sendto-connected': -EISCONN,
    reconnect: 0,
    peer2: '198.18.0.1:10',
  });
});

test('poll, MSG_PEEK and MSG_TRUNC on a datagram socket', async () => {
  const k = boot1();
  const r = await runIn(k, async (c) => {
    const s = await dgram(c);
    assert.equal(await sys(c, c.bind(s, sin(ip('127.0.0.1'), 6100))), 0);
    const fds = [{ fd: s, events: POLLIN | POLLOUT, revents: 0 }];
    await c.poll(fds, 0);
    const before = fds[0]!.revents;
    const t = await dgram(c);
    await c.sendto(t, Uint8Array.of(1, 2, 3, 4, 5, 6), 6, 0, sin(ip('127.0.0.1'), 6100));
    const rd = [{ fd: s, events: POLLIN, revents: 0 }];
    assert.equal(await c.poll(rd, -1), 1, 'poll sleeps until the datagram is there');
    await c.poll(fds, 0);
    const after = fds[0]!.revents;
    const buf = new Uint8Array(4);
    const peek = await sys(c, c.recv(s, buf, 4, MSG_PEEK));
    const msg = { name: null, iov: [new Uint8Array(4)], control: null, flags: 0 };
    const n = await c.recvmsg(s, msg, 0);
    const empty = await sys(c, c.recv(s, buf, 4, MSG_DONTWAIT));
    return { before, after, peek, n, trunc: (msg.flags & MSG_TRUNC) !== 0, empty };
  });
  assert.deepEqual(r, {
    before: POLLOUT,
    after: POLLIN | POLLOUT,
    peek: 4,
    n: 4,
    trunc: true,
    empty: -EWOULDBLOCK,
  });
});
