// The socket layer end to end through libc, with AF_UNIX as the protocol: processes on
// the scheduler, blocking calls woken by their peers, the virtual clock for timeouts.
// Passes on both kernels (GENERIC and NOVIMAGE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../lib/kernel.js';
import type { Kernel } from '../../src/kern/kernel.js';
import { Libc, sockaddr_un, sockaddr_un_decode, type PollFd } from '../../src/lib/libc.js';
import {
  AF_INET,
  AF_UNIX,
  MSG_DONTWAIT,
  MSG_PEEK,
  MSG_TRUNC,
  MSG_WAITALL,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDHUP,
  POLLNVAL,
  SHUT_RD,
  SHUT_WR,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_DOMAIN,
  SO_ERROR,
  SO_LINGER,
  SO_LISTENQLIMIT,
  SO_RCVBUF,
  SO_RCVTIMEO,
  SO_REUSEADDR,
  SO_SNDBUF,
  SO_TYPE,
  timeval,
} from '../../src/sys/socket.js';
import {
  EADDRINUSE,
  EAFNOSUPPORT,
  EAGAIN,
  EBADF,
  ECONNREFUSED,
  EDESTADDRREQ,
  EINVAL,
  EISCONN,
  EMSGSIZE,
  ENOENT,
  ENOPROTOOPT,
  ENOTCONN,
  ENOTSOCK,
  EPIPE,
  EPROTONOSUPPORT,
  EPROTOTYPE,
} from '../../src/sys/errno.js';
import { F_GETFL, F_SETFL, O_NONBLOCK } from '../../src/sys/fcntl.js';
import { FIONBIO, FIONREAD } from '../../src/sys/sockio.js';
import { so_globals } from '../../src/kern/uipc_sockbuf.js';
import type { Thread } from '../../src/sys/proc.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array, n = b.length): string => new TextDecoder().decode(b.subarray(0, n));

/** Start a user process running main(libc) in prison0. */
function spawn(k: Kernel, name: string, main: (c: Libc, td: Thread) => Promise<unknown>): void {
  k.proc_create(name, { cr_uid: 0, cr_prison: k.prison0 }, async (td) => {
    await main(new Libc(k, td), td);
    return 0;
  });
}

/** Run one program to completion and return what it returned. */
async function run<T>(k: Kernel, main: (c: Libc) => Promise<T>): Promise<T> {
  let out: { v: T } | null = null;
  spawn(k, 'prog', async (c) => {
    out = { v: await main(c) };
  });
  await k.run_until_idle();
  assert.ok(out !== null, 'the program finished');
  return (out as { v: T }).v;
}

/** An errno-returning call: -1 with errno, as "E<n>", or the value. */
async function e(c: Libc, p: Promise<number>): Promise<number | string> {
  const r = await p;
  return r < 0 ? `E${c.errno}` : r;
}
const E = (n: number): string => `E${n}`;

test('stream: blocking accept and recv are woken by connect and send', async () => {
  const k = bootTest();
  const log: string[] = [];
  spawn(k, 'server', async (c) => {
    const s = await c.socket(AF_UNIX, SOCK_STREAM, 0);
    assert.equal(await c.bind(s, sockaddr_un('/tmp/srv')), 0);
    assert.equal(await c.listen(s, 5), 0);
    log.push('listening');
    const peer = new Uint8Array(106);
    const plen: [number] = [peer.length];
    const a = await c.accept(s, peer, plen);
    assert.ok(a >= 0);
    log.push(`accepted ${sockaddr_un_decode(peer.subarray(0, plen[0]))}`);
    const buf = new Uint8Array(64);
    const n = await c.recv(a, buf);
    log.push(`got ${dec(buf, n)}`);
    assert.equal(await c.send(a, enc('pong')), 4);
    assert.equal(await c.recv(a, buf), 0, 'EOF after the client closed');
    log.push('eof');
    await c.close(a);
    await c.close(s);
  });
  spawn(k, 'client', async (c) => {
    const s = await c.socket(AF_UNIX, SOCK_STREAM, 0);
    assert.equal(await c.bind(s, sockaddr_un('/tmp/cli')), 0);
    assert.equal(await c.connect(s, sockaddr_un('/tmp/srv')), 0);
    log.push('connected');
    const name = new Uint8Array(106);
    const nl: [number] = [name.length];
    assert.equal(await c.getpeername(s, name, nl), 0);
    assert.equal(sockaddr_un_decode(name.subarray(0, nl[0])), '/tmp/srv');
    assert.equal(await c.send(s, enc('ping')), 4);
    const buf = new Uint8Array(64);
    const n = await c.recv(s, buf);
    log.push(`reply ${dec(buf, n)}`);
    await c.close(s);
  });
  await k.run_until_idle();
  assert.deepEqual(log, [
    'listening',
    'connected',
    'accepted /tmp/cli',
    'got ping',
    'reply pong',
    'eof',
  ]);
  assert.equal(so_globals(k).numopensockets, 0, 'every socket freed');
});

test('datagrams keep boundaries and source addresses; MSG_TRUNC; EMSGSIZE', async () => {
  const k = bootTest();
  const r = await run(k, async (c) => {
    const a = await c.socket(AF_UNIX, SOCK_DGRAM, 0);
    const b = await c.socket(AF_UNIX, SOCK_DGRAM, 0);
    await c.bind(a, sockaddr_un('/a'));
    await c.bind(b, sockaddr_un('/b'));
    const out: (string | number)[] = [];
    out.push(await c.sendto(a, enc('one'), 3, 0, sockaddr_un('/b')));
    out.push(await c.sendto(a, enc('two!'), 4, 0, sockaddr_un('/b')));
    out.push(await e(c, c.send(a, enc('x'))));
    const buf = new Uint8Array(16);
    const from = new Uint8Array(106);
    const fl: [number] = [from.length];
    const n = await c.recvfrom(b, buf, 16, 0, from, fl);
    out.push(`${dec(buf, n)} from ${sockaddr_un_decode(from.subarray(0, fl[0]))}`);
    const msg = { iov: [new Uint8Array(2)], name: new Uint8Array(106) };
    const m = await c.recvmsg(b, msg);
    out.push(
      `${m} ${dec(msg.iov[0]!)} trunc=${(msg as { flags?: number }).flags! & MSG_TRUNC ? 1 : 0}`,
    );
    const sb = await c.getsockopt_int(a, SOL_SOCKET, SO_SNDBUF);
    out.push(await e(c, c.sendto(a, new Uint8Array(sb! + 1), sb! + 1, 0, sockaddr_un('/b'))));
    out.push(await e(c, c.sendto(a, enc('z'), 1, 0, sockaddr_un('/nobody'))));
    // A connected datagram socket: send without an address; EISCONN with one.
    out.push(await c.connect(a, sockaddr_un('/b')));
    out.push(await c.send(a, enc('c')));
    out.push(await e(c, c.sendto(a, enc('c'), 1, 0, sockaddr_un('/b'))));
    out.push(await c.recv(b, buf));
    return out;
  });
  assert.deepEqual(r, [
    3,
    4,
    E(EDESTADDRREQ),
    'one from /a',
    '2 tw trunc=1',
    E(EMSGSIZE),
    E(ENOENT),
    0,
    1,
    E(EISCONN),
    1,
  ]);
});

test('socketpair, MSG_PEEK, MSG_DONTWAIT, O_NONBLOCK and FIONBIO, FIONREAD', async () => {
  const k = bootTest();
  const r = await run(k, async (c) => {
    const sv: [number, number] = [-1, -1];
    assert.equal(await c.socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    const [x, y] = sv;
    const out: (string | number)[] = [];
    const buf = new Uint8Array(16);
    out.push(await e(c, c.recv(y, buf, 16, MSG_DONTWAIT)));
    await c.send(x, enc('hello'));
    const fion = new Uint8Array(4);
    await c.ioctl(y, FIONREAD, fion);
    out.push(new DataView(fion.buffer).getInt32(0, true));
    out.push(dec(buf, await c.recv(y, buf, 16, MSG_PEEK)));
    out.push(dec(buf, await c.recv(y, buf, 3)));
    out.push(dec(buf, await c.recv(y, buf, 16)));
    // O_NONBLOCK through fcntl
    const fl = await c.fcntl(y, F_GETFL);
    assert.equal(await c.fcntl(y, F_SETFL, fl | O_NONBLOCK), 0);
    out.push(await e(c, c.recv(y, buf)));
    out.push(await e(c, c.read(y, buf)));
    await c.fcntl(y, F_SETFL, fl);
    // FIONBIO
    const on = new Uint8Array(4);
    on[0] = 1;
    assert.equal(await c.ioctl(x, FIONBIO, on), 0);
    out.push(await e(c, c.recv(x, buf)));
    // SOCK_NONBLOCK at creation
    const nb = await c.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    await c.bind(nb, sockaddr_un('/nb'));
    out.push(await e(c, c.recv(nb, buf)));
    // write/read work on sockets too
    out.push(await c.write(y, enc('w')));
    out.push(await c.read(x, buf));
    return out;
  });
  assert.deepEqual(r, [
    E(EAGAIN),
    5,
    'hello',
    'hel',
    'lo',
    E(EAGAIN),
    E(EAGAIN),
    E(EAGAIN),
    E(EAGAIN),
    1,
    1,
  ]);
});

test('MSG_WAITALL waits for the whole amount across several sends', async () => {
  const k = bootTest();
  let got = '';
  const sv: [number, number] = [-1, -1];
  let ready = false;
  spawn(k, 'p', async (c) => {
    await c.socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    ready = true;
    const buf = new Uint8Array(6);
    const n = await c.recv(sv[1], buf, 6, MSG_WAITALL);
    got = dec(buf, n);
    // The writer thread shares the descriptor table: send in pieces from a second thread.
  });
  await k.run_until_idle();
  assert.ok(ready);
  const p = k.allproc.find((q) => q.p_comm === 'p')!;
  const { thread_create } = await import('../../src/kern/kern_proc.js');
  thread_create(k, p, 'writer', async (td) => {
    const c = new Libc(k, td);
    for (const s of ['ab', 'cd', 'ef']) {
      await c.send(sv[0], enc(s));
      const { pause } = await import('../../src/kern/kern_synch.js');
      await pause('w', 10);
    }
  });
  await k.run_until_idle();
  assert.equal(got, 'abcdef');
});

test('EOF after shutdown(SHUT_WR), EPIPE after the peer closes, ENOTCONN, EINVAL', async () => {
  const k = bootTest();
  const r = await run(k, async (c) => {
    const sv: [number, number] = [-1, -1];
    await c.socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    const out: (string | number)[] = [];
    const buf = new Uint8Array(8);
    await c.send(sv[0], enc('bye'));
    out.push(await c.shutdown(sv[0], SHUT_WR));
    out.push(await c.recv(sv[1], buf));
    out.push(await c.recv(sv[1], buf), 'eof');
    out.push(await e(c, c.send(sv[0], enc('x'))));
    out.push(await e(c, c.shutdown(sv[0], 7)));
    // the other direction still works
    out.push(await c.send(sv[1], enc('ok')));
    out.push(await c.recv(sv[0], buf));
    await c.close(sv[0]);
    out.push(await e(c, c.send(sv[1], enc('x'))));
    const lone = await c.socket(AF_UNIX, SOCK_STREAM, 0);
    out.push(await e(c, c.send(lone, enc('x'))));
    out.push(await e(c, c.shutdown(lone, SHUT_RD)));
    out.push(await e(c, c.recv(lone, buf)));
    return out;
  });
  assert.deepEqual(r, [
    0,
    3,
    0,
    'eof',
    E(EPIPE),
    E(EINVAL),
    2,
    2,
    E(EPIPE),
    E(ENOTCONN),
    E(ENOTCONN),
    E(ENOTCONN),
  ]);
});

test('errors: EAFNOSUPPORT, EPROTONOSUPPORT, EPROTOTYPE, ENOTSOCK, EBADF, ECONNREFUSED, EISCONN', async () => {
  const k = bootTest();
  const r = await run(k, async (c) => {
    const out: (string | number)[] = [];
    out.push(await e(c, c.socket(99, SOCK_STREAM, 0)));
    out.push(await e(c, c.socket(AF_UNIX, SOCK_STREAM, 17)));
    out.push(await e(c, c.socket(AF_UNIX, SOCK_RAW, 0)));
    const devnull = await c.open('/dev/null');
    out.push(await e(c, c.listen(devnull, 1)));
    out.push(await e(c, c.listen(77, 1)));
    const s = await c.socket(AF_UNIX, SOCK_STREAM, 0);
    out.push(await e(c, c.connect(s, sockaddr_un('/none'))));
    const d = await c.socket(AF_UNIX, SOCK_DGRAM, 0);
    await c.bind(d, sockaddr_un('/dg'));
    out.push(await e(c, c.connect(s, sockaddr_un('/dg'))));
    const l = await c.socket(AF_UNIX, SOCK_STREAM, 0);
    await c.bind(l, sockaddr_un('/notlistening'));
    out.push(await e(c, c.connect(s, sockaddr_un('/notlistening'))));
    out.push(await e(c, c.bind(s, sockaddr_un('/dg'))));
    out.push(await e(c, c.bind(s, new Uint8Array([16, AF_INET, 0, 0]))));
    out.push(await e(c, c.bind(s, new Uint8Array([1]))));
    await c.listen(l, 1);
    out.push(await c.connect(s, sockaddr_un('/notlistening')));
    out.push(await e(c, c.connect(s, sockaddr_un('/notlistening'))));
    out.push(await e(c, c.listen(s, 1)));
    // listen on an unbound socket
    const u = await c.socket(AF_UNIX, SOCK_STREAM, 0);
    out.push(await e(c, c.listen(u, 1)));
    out.push(await e(c, c.getpeername(u, new Uint8Array(16))));
    out.push(await e(c, c.close(u)), await e(c, c.close(u)));
    return out;
  });
  assert.deepEqual(r, [
    E(EAFNOSUPPORT),
    E(EPROTONOSUPPORT),
    E(EPROTOTYPE),
    E(ENOTSOCK),
    E(EBADF),
    E(ENOENT),
    E(EPROTOTYPE),
    E(ECONNREFUSED),
    E(EADDRINUSE),
    E(EAFNOSUPPORT),
    E(EINVAL),
    0,
    E(EISCONN),
    E(EINVAL),
    E(EINVAL),
    E(ENOTCONN),
    0,
    E(EBADF),
  ]);
});

test('socket options: SO_TYPE, SO_ERROR, buffers, SO_LINGER, flags, ENOPROTOOPT', async () => {
  const k = bootTest();
  const r = await run(k, async (c) => {
    const s = await c.socket(AF_UNIX, SOCK_STREAM, 0);
    const out: (string | number | null)[] = [];
    out.push(await c.getsockopt_int(s, SOL_SOCKET, SO_TYPE));
    out.push(await c.getsockopt_int(s, SOL_SOCKET, SO_DOMAIN));
    out.push(await c.getsockopt_int(s, SOL_SOCKET, SO_ERROR));
    out.push(await c.setsockopt(s, SOL_SOCKET, SO_RCVBUF, 32768));
    out.push(await c.getsockopt_int(s, SOL_SOCKET, SO_RCVBUF));
    out.push(await c.setsockopt(s, SOL_SOCKET, SO_SNDBUF, 12345));
    out.push(await c.getsockopt_int(s, SOL_SOCKET, SO_SNDBUF));
    out.push(await e(c, c.setsockopt(s, SOL_SOCKET, SO_SNDBUF, 0)));
    out.push(await e(c, c.setsockopt(s, SOL_SOCKET, SO_SNDBUF, 3 * 1024 * 1024)));
    out.push(await c.getsockopt_int(s, SOL_SOCKET, SO_REUSEADDR));
    await c.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, 1);
    out.push((await c.getsockopt_int(s, SOL_SOCKET, SO_REUSEADDR))! !== 0 ? 'on' : 'off');
    const lg = new Uint8Array(8);
    lg[0] = 1;
    lg[4] = 7;
    out.push(await c.setsockopt(s, SOL_SOCKET, SO_LINGER, lg));
    const lb = new Uint8Array(8);
    const ll: [number] = [8];
    await c.getsockopt(s, SOL_SOCKET, SO_LINGER, lb, ll);
    out.push(`${lb[0] !== 0 ? 'on' : 'off'} ${lb[4]} ${ll[0]}`);
    out.push(await e(c, c.setsockopt(s, SOL_SOCKET, 0x7777, 1)));
    out.push(await e(c, c.setsockopt(s, 6, 1, 1)));
    out.push(await e(c, c.setsockopt(s, SOL_SOCKET, SO_LINGER, new Uint8Array(2))));
    out.push(await c.getsockopt_int(s, SOL_SOCKET, SO_ACCEPTCONN));
    out.push(await e(c, c.getsockopt(s, SOL_SOCKET, SO_LISTENQLIMIT, new Uint8Array(4))));
    // SO_ERROR is reported once and cleared.
    const sv: [number, number] = [-1, -1];
    await c.socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    return out;
  });
  assert.deepEqual(r, [
    SOCK_STREAM,
    AF_UNIX,
    0,
    0,
    32768,
    0,
    12345,
    E(EINVAL),
    E(55),
    0,
    'on',
    0,
    'on 7 8',
    E(ENOPROTOOPT),
    E(ENOPROTOOPT),
    E(EINVAL),
    0,
    E(EINVAL),
  ]);
});

test('SO_ERROR: a connection dropped from a listener queue reports ECONNRESET once', async () => {
  const k = bootTest();
  const r = await run(k, async (c) => {
    const l = await c.socket(AF_UNIX, SOCK_STREAM, 0);
    await c.bind(l, sockaddr_un('/l'));
    await c.listen(l, 1);
    const s = await c.socket(AF_UNIX, SOCK_STREAM, 0);
    await c.connect(s, sockaddr_un('/l'));
    await c.close(l); /* the queued connection is aborted */
    return [
      await c.getsockopt_int(s, SOL_SOCKET, SO_ERROR),
      await c.getsockopt_int(s, SOL_SOCKET, SO_ERROR),
      await c.recv(s, new Uint8Array(4)),
    ];
  });
  assert.deepEqual(r, [54, 0, 0]);
});

test('listen backlog: connections beyond 3/2 of the limit are refused; SO_LISTENQLEN', async () => {
  const k = bootTest();
  const r = await run(k, async (c) => {
    const l = await c.socket(AF_UNIX, SOCK_STREAM, 0);
    await c.bind(l, sockaddr_un('/bl'));
    await c.listen(l, 2);
    const out: (string | number | null)[] = [];
    out.push(await c.getsockopt_int(l, SOL_SOCKET, SO_LISTENQLIMIT));
    for (let i = 0; i < 5; i++) {
      const s = await c.socket(AF_UNIX, SOCK_STREAM, 0);
      out.push(await e(c, c.connect(s, sockaddr_un('/bl'))));
    }
    out.push(await c.getsockopt_int(l, SOL_SOCKET, 0x1012));
    const a = await c.accept(l);
    out.push(a >= 0 ? 'accepted' : a);
    const s = await c.socket(AF_UNIX, SOCK_STREAM, 0);
    out.push(await e(c, c.connect(s, sockaddr_un('/bl'))));
    // non-blocking accept on an empty queue
    const l2 = await c.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    await c.bind(l2, sockaddr_un('/bl2'));
    await c.listen(l2, 0);
    out.push(await e(c, c.accept(l2)));
    return out;
  });
  assert.deepEqual(r, [2, 0, 0, 0, 0, E(ECONNREFUSED), 4, 'accepted', 0, E(EAGAIN)]);
});

test('poll: POLLIN, POLLOUT, POLLHUP, POLLRDHUP, POLLNVAL, timeouts on the virtual clock', async () => {
  const k = bootTest();
  const log: string[] = [];
  const sv: [number, number] = [-1, -1];
  spawn(k, 'poller', async (c) => {
    await c.socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    const fds: PollFd[] = [
      { fd: sv[1], events: POLLIN | POLLOUT | POLLRDHUP, revents: 0 },
      { fd: 99, events: POLLIN, revents: 0 },
    ];
    log.push(`n=${await c.poll(fds, 0)} ${fds[0]!.revents} ${fds[1]!.revents}`);
    const t0 = k.now();
    const only: PollFd[] = [{ fd: sv[1], events: POLLIN, revents: 0 }];
    log.push(`timeout n=${await c.poll(only, 250)} after ${Math.round((k.now() - t0) / 1e6)}ms`);
    // Blocks until the writer thread sends.
    const t1 = k.now();
    log.push(
      `woken n=${await c.poll(only, -1)} ${only[0]!.revents} after ${Math.round((k.now() - t1) / 1e6)}ms`,
    );
    const buf = new Uint8Array(8);
    await c.recv(sv[1], buf);
    // The peer shuts its write side: POLLIN (EOF) and POLLRDHUP, not POLLHUP yet.
    const h: PollFd[] = [{ fd: sv[1], events: POLLIN | POLLRDHUP, revents: 0 }];
    log.push(`shut n=${await c.poll(h, -1)} ${h[0]!.revents}`);
    await c.shutdown(sv[1], SHUT_WR);
    log.push(`both n=${await c.poll(h, 0)} ${h[0]!.revents}`);
  });
  await k.run_until_idle();
  const p = k.allproc.find((q) => q.p_comm === 'poller')!;
  const { thread_create } = await import('../../src/kern/kern_proc.js');
  const { pause } = await import('../../src/kern/kern_synch.js');
  thread_create(k, p, 'writer', async (td) => {
    const c = new Libc(k, td);
    await pause('w', 500);
    await c.send(sv[0], enc('x'));
    await pause('w', 100);
    await c.shutdown(sv[0], SHUT_WR);
  });
  await k.run_until_idle();
  assert.deepEqual(log, [
    `n=2 ${POLLOUT} ${POLLNVAL}`,
    'timeout n=0 after 250ms',
    `woken n=1 ${POLLIN} after 500ms`,
    `shut n=1 ${POLLIN | POLLRDHUP}`,
    `both n=1 ${POLLIN | POLLRDHUP | POLLHUP}`,
  ]);
});

test('SO_RCVTIMEO: a blocking recv times out with EAGAIN on the virtual clock', async () => {
  const k = bootTest();
  const r = await run(k, async (c) => {
    const sv: [number, number] = [-1, -1];
    await c.socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    const tv = new Uint8Array(timeval.size);
    new DataView(tv.buffer).setUint32(0, 2, true); /* 2 s */
    await c.setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, tv);
    const t0 = k.now();
    const n = await e(c, c.recv(sv[0], new Uint8Array(4)));
    return [n, Math.round((k.now() - t0) / 1e9)];
  });
  assert.deepEqual(r, [E(EAGAIN), 2]);
});

test('a stream writer blocks on a full peer and resumes when the reader drains', async () => {
  const k = bootTest();
  let wrote = -1;
  const sv: [number, number] = [-1, -1];
  spawn(k, 'w', async (c) => {
    await c.socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    wrote = await c.send(sv[0], new Uint8Array(20000));
  });
  await k.run_until_idle();
  assert.equal(wrote, -1, 'blocked: 20000 bytes do not fit in 8192');
  const p = k.allproc.find((q) => q.p_comm === 'w')!;
  const { thread_create } = await import('../../src/kern/kern_proc.js');
  let total = 0;
  thread_create(k, p, 'r', async (td) => {
    const c = new Libc(k, td);
    const buf = new Uint8Array(4096);
    while (total < 20000) {
      const n = await c.recv(sv[1], buf);
      if (n <= 0) break;
      total += n;
    }
  });
  await k.run_until_idle();
  assert.equal(wrote, 20000);
  assert.equal(total, 20000);
});

test('SOCK_SEQPACKET keeps record boundaries over a connection', async () => {
  const k = bootTest();
  const r = await run(k, async (c) => {
    const sv: [number, number] = [-1, -1];
    await c.socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    await c.send(sv[0], enc('abc'));
    await c.send(sv[0], enc('de'));
    const buf = new Uint8Array(16);
    return [dec(buf, await c.recv(sv[1], buf)), dec(buf, await c.recv(sv[1], buf))];
  });
  assert.deepEqual(r, ['abc', 'de']);
});

test('SO_LINGER with l_linger 0 aborts: the peer sees ECONNRESET', async () => {
  const k = bootTest();
  const r = await run(k, async (c) => {
    const sv: [number, number] = [-1, -1];
    await c.socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    const lg = new Uint8Array(8);
    lg[0] = 1;
    await c.setsockopt(sv[0], SOL_SOCKET, SO_LINGER, lg);
    await c.close(sv[0]);
    return [await e(c, c.recv(sv[1], new Uint8Array(4))), await c.recv(sv[1], new Uint8Array(4))];
  });
  assert.deepEqual(r, [E(54), 0]);
});

test('ioctl: interface/routing groups go to the registered hooks, others to pr_control', async () => {
  const k = bootTest();
  const { socket_ifioctl_register } = await import('../../src/kern/sys_socket.js');
  const { SIOCGIFFLAGS, FIONWRITE } = await import('../../src/sys/sockio.js');
  const saved = k.socket_ifioctl_hook ?? null;
  const seen: number[] = [];
  const r = await run(k, async (c) => {
    const s = await c.socket(AF_UNIX, SOCK_DGRAM, 0);
    const out: (string | number)[] = [];
    socket_ifioctl_register(k, null);
    out.push(await e(c, c.ioctl(s, SIOCGIFFLAGS, new Uint8Array(32))));
    socket_ifioctl_register(k, (_so, cmd, data) => {
      seen.push(cmd);
      data[16] = 0x42;
      return 0;
    });
    const ifr = new Uint8Array(32);
    out.push(await c.ioctl(s, SIOCGIFFLAGS, ifr), ifr[16]!);
    socket_ifioctl_register(k, saved);
    out.push(await e(c, c.ioctl(s, 0x2000_7401 /* _IO('t', 1) */)));
    const w = new Uint8Array(4);
    out.push(await c.ioctl(s, FIONWRITE, w));
    return out;
  });
  assert.deepEqual(r, [E(25 /* ENOTTY */), 0, 0x42, E(45 /* EOPNOTSUPP */), 0]);
  assert.equal(seen.length, 1);
});

test('bad pointers and lengths: EFAULT, EINVAL, ENAMETOOLONG; kern.ipc.maxsockbuf bounds SO_SNDBUF', async () => {
  const k = bootTest();
  const { SYS_bind, SYS_getsockopt } = await import('../../src/kern/uipc_syscalls.js');
  const r = await run(k, async (c) => {
    const s = await c.socket(AF_UNIX, SOCK_STREAM, 0);
    const out: (string | number)[] = [];
    out.push(await e(c, c.syscall(SYS_bind, s, 0xdead0000, 16)));
    out.push(await e(c, c.syscall(SYS_bind, s, 0xdead0000, 300)));
    out.push(await e(c, c.syscall(SYS_bind, s, 0xdead0000, 1)));
    out.push(await e(c, c.syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, 0xdead0000, 0xdead0000)));
    const cur = new Uint8Array(4);
    const len: [number] = [4];
    await c.sysctlbyname('kern.ipc.maxsockbuf', cur, len);
    out.push(new DataView(cur.buffer).getInt32(0, true));
    const nv = new Uint8Array(4);
    new DataView(nv.buffer).setInt32(0, 65536, true);
    out.push(await c.sysctlbyname('kern.ipc.maxsockbuf', null, null, nv));
    out.push(await c.setsockopt(s, SOL_SOCKET, SO_SNDBUF, 65536));
    out.push(await e(c, c.setsockopt(s, SOL_SOCKET, SO_SNDBUF, 65537)));
    return out;
  });
  assert.deepEqual(r, [E(14), E(63), E(EINVAL), E(14), 2097152, 0, 0, E(55)]);
});

test('ABI layouts are FreeBSD/amd64 sizes and offsets', async () => {
  const s = await import('../../src/sys/socket.js');
  assert.equal(s.sockaddr.size, 16);
  assert.equal(s.sockaddr_un.size, 106);
  assert.equal(s.sockaddr_storage.size, 128);
  assert.equal(s.linger.size, 8);
  assert.equal(s.iovec.size, 16);
  assert.equal(s.msghdr.size, 48);
  assert.deepEqual(
    s.msghdr.fields.map((f) => [f.name, f.offset]),
    [
      ['msg_name', 0],
      ['msg_namelen', 8],
      ['msg_iov', 16],
      ['msg_iovlen', 24],
      ['msg_control', 32],
      ['msg_controllen', 40],
      ['msg_flags', 44],
    ],
  );
  assert.equal(s.cmsghdr.size, 12);
  assert.equal(s.CMSG_LEN(4), 20);
  assert.equal(s.CMSG_SPACE(4), 24);
  assert.equal(s.timeval.size, 16);
  assert.equal(s.pollfd.size, 8);
  assert.equal(sockaddr_un('/tmp/x').length, 9);
  assert.equal(sockaddr_un('/tmp/x')[0], 9);
});

test('a protocol in a loadable module: EINPROGRESS, EALREADY, poll for connect, ECONNREFUSED', async () => {
  const { KLD, DECLARE_MODULE, MODULE_VERSION } = await import('../../src/sys/module.js');
  const { SI_SUB_PSEUDO, SI_ORDER_ANY } = await import('../../src/sys/kernel.js');
  const { DOMAIN_SET, PR_CONNREQUIRED } = await import('../../src/sys/protosw.js');
  const sb = await import('../../src/kern/uipc_sockbuf.js');
  const { Callout, callout_reset } = await import('../../src/kern/kern_timeout.js');
  const { bootWithModules, kldload } = await import('../lib/kmods.js');
  const AF_TEST = 41;
  /* A toy connection-oriented protocol: connecting to "1" succeeds 100 ms later, to
   * anything else it is refused 100 ms later; data sent comes back (echo). */
  const mod = KLD('testproto', ['$Vimage: test/kern/socket.test.ts $'], (obj) => {
    DOMAIN_SET(obj, {
      dom_family: AF_TEST,
      dom_name: 'test',
      dom_protosw: [
        {
          pr_type: SOCK_STREAM,
          pr_protocol: 0,
          pr_flags: PR_CONNREQUIRED,
          pr_attach: (so) => sb.soreserve(so, 8192, 8192),
          pr_detach: () => {},
          pr_connect: (so, nam) => {
            sb.soisconnecting(so);
            const ok = nam[2] === 1;
            callout_reset(
              new Callout(),
              100,
              () => {
                if (ok) sb.soisconnected(so);
                else {
                  so.so_error = ECONNREFUSED;
                  sb.soisdisconnected(so);
                }
              },
              null,
            );
            return 0;
          },
          pr_send: (so, _f, m) => {
            sb.sbappend(so.so_rcv, m);
            sb.sorwakeup(so);
            return 0;
          },
          pr_disconnect: (so) => {
            sb.soisdisconnected(so);
            return 0;
          },
        },
      ],
    });
    DECLARE_MODULE(obj, { name: 'testproto', evhand: () => 0 }, SI_SUB_PSEUDO, SI_ORDER_ANY);
    MODULE_VERSION(obj, 'testproto', 1);
  });
  const k = bootWithModules([mod]);
  const before = await run(k, async (c) => e(c, c.socket(AF_TEST, SOCK_STREAM, 0)));
  assert.equal(before, E(EAFNOSUPPORT));
  await kldload(k, 'testproto');
  const addr = (b: number): Uint8Array => new Uint8Array([3, AF_TEST, b]);
  const r = await run(k, async (c) => {
    const out: (string | number | null)[] = [];
    const s = await c.socket(AF_TEST, SOCK_STREAM, 0);
    let t0 = k.now();
    out.push(await c.connect(s, addr(1)), `${(k.now() - t0) / 1e6}ms`);
    const nb = await c.socket(AF_TEST, SOCK_STREAM | SOCK_NONBLOCK, 0);
    out.push(await e(c, c.connect(nb, addr(1))));
    out.push(await e(c, c.connect(nb, addr(1))));
    out.push(await e(c, c.send(nb, enc('x'))));
    t0 = k.now();
    const p: PollFd[] = [{ fd: nb, events: POLLOUT, revents: 0 }];
    out.push(await c.poll(p, 1000), p[0]!.revents, `${(k.now() - t0) / 1e6}ms`);
    out.push(await c.send(nb, enc('echo')));
    const buf = new Uint8Array(8);
    out.push(dec(buf, await c.recv(nb, buf)));
    const bad = await c.socket(AF_TEST, SOCK_STREAM, 0);
    out.push(await e(c, c.connect(bad, addr(2))));
    out.push(await c.getsockopt_int(bad, SOL_SOCKET, SO_ERROR));
    return out;
  });
  assert.deepEqual(r, [
    0,
    '100ms',
    E(36 /* EINPROGRESS */),
    E(37 /* EALREADY */),
    E(ENOTCONN),
    1,
    POLLOUT,
    '100ms',
    4,
    'echo',
    E(ECONNREFUSED),
    0,
  ]);
});

test('SO_SNDTIMEO: a blocked send returns the partial count, then EAGAIN; SIGPIPE is counted', async () => {
  const k = bootTest();
  const { SO_SNDTIMEO, MSG_NOSIGNAL } = await import('../../src/sys/socket.js');
  let tdp: Thread | null = null;
  const r = await run(k, async (c) => {
    tdp = c.td;
    const sv: [number, number] = [-1, -1];
    await c.socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    const tv = new Uint8Array(timeval.size);
    new DataView(tv.buffer).setUint32(0, 1, true); /* 1 s */
    await c.setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, tv);
    const out: (string | number)[] = [];
    let t0 = k.now();
    out.push(await c.send(sv[0], new Uint8Array(20000)), (k.now() - t0) / 1e9);
    t0 = k.now();
    out.push(await e(c, c.send(sv[0], new Uint8Array(10))), (k.now() - t0) / 1e9);
    await c.close(sv[1]);
    out.push(await e(c, c.send(sv[0], new Uint8Array(1), 1, MSG_NOSIGNAL)), c.td.td_sigpipe ?? 0);
    out.push(await e(c, c.write(sv[0], new Uint8Array(1))), c.td.td_sigpipe ?? 0);
    return out;
  });
  assert.ok(tdp !== null);
  assert.deepEqual(r, [8192, 1, E(EAGAIN), 1, E(EPIPE), 0, E(EPIPE), 1]);
});
