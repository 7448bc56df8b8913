// lib/vnet_net.ts: the node:net API over a jail's vnet, on a real-clock kernel.  Two
// jails a = 192.0.2.1 and b = 192.0.2.2 over an epair (lab2); each gets one agent
// process.  An echo with node:net's events and addresses, errors with their codes,
// flow control from a paused reader back to the writer, node:http with a keep-alive
// agent (1,000 requests on one connection), and setNoDelay/setKeepAlive seen through
// getsockopt.  Real time, so each test has a timeout; the last hook stops the agents
// and the kernel's host timers so the process exits.  VIMAGE_ONLY: jails with vnets.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { bootVimage } from '../../lib/kernel.js';
import { lab2 } from '../../lib/inet_lab.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import {
  vnet_net,
  type VnetNet,
  type VnetNetError,
  type VnetSocket,
} from '../../../src/lib/vnet_net.js';
import { IPPROTO_TCP } from '../../../src/netinet/in.js';
import { TCP_KEEPIDLE, TCP_NODELAY } from '../../../src/netinet/tcp_var.js';
import { SOL_SOCKET, SO_KEEPALIVE } from '../../../src/sys/socket.js';

/** Real time: a test that hangs fails instead. */
const T = { timeout: 20_000 };

let k: Kernel;
let na: VnetNet;
let nb: VnetNet;

before(async () => {
  k = bootVimage({ clock: 'real' });
  lab2(k);
  na = vnet_net(k, 'a');
  nb = vnet_net(k, 'b');
  await Promise.all([na.ready, nb.ready]);
});

after(async () => {
  await na.shutdown();
  await nb.shutdown();
  // Let the kernel finish what the closes started (segments through the netisr), then
  // cancel its host timers (TIME_WAIT, ARP), which would keep the test process alive.
  while (k.sched.running !== null || k.sched.runq_len > 0)
    await new Promise((r) => setImmediate(r));
  k.clock.shutdown();
  assert.equal(k.panicstr, null);
});

/** Bytes 0..n-1 of a pattern that depends on seed. */
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

function collect(s: VnetSocket): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  return new Promise((res, rej) => {
    s.on('end', () => res(Buffer.concat(parts)));
    s.on('error', rej);
  });
}

test('echo between two jails: events, address(), remote and local addresses', T, async () => {
  const accepted: VnetSocket[] = [];
  const srv = nb.createServer((s) => {
    accepted.push(s);
    s.pipe(s); // echo; the end of the input ends the output
  });
  let listening = 0;
  srv.on('listening', () => listening++);
  srv.listen(7007, '192.0.2.2');
  assert.equal(srv.address(), null, 'not listening before the agent has done it');
  await once(srv, 'listening');
  assert.equal(listening, 1);
  assert.deepEqual(srv.address(), { address: '192.0.2.2', family: 'IPv4', port: 7007 });

  const data = pattern(200_000, 1);
  const events: string[] = [];
  const c = na.createConnection({ host: '192.0.2.2', port: 7007 }, () => events.push('cb'));
  assert.equal(c.connecting, true);
  assert.equal(c.readyState, 'opening');
  c.on('connect', () => events.push('connect'));
  c.on('ready', () => events.push('ready'));
  c.on('end', () => events.push('end'));
  const closed = new Promise<boolean>((res) => c.on('close', (hadError: boolean) => res(hadError)));
  const got = collect(c);
  // Written before the connection is up: queued until 'connect'.
  c.write(data.subarray(0, 1000));
  await once(c, 'connect');
  assert.equal(c.connecting, false);
  assert.equal(c.readyState, 'open');
  assert.equal(c.remoteAddress, '192.0.2.2');
  assert.equal(c.remotePort, 7007);
  assert.equal(c.remoteFamily, 'IPv4');
  assert.equal(c.localAddress, '192.0.2.1');
  assert.ok(c.localPort! > 0 && c.localPort! < 65536);
  assert.deepEqual(c.address(), { address: '192.0.2.1', family: 'IPv4', port: c.localPort });
  c.end(data.subarray(1000));
  const back = await got;
  assert.equal(await closed, false, "'close' without an error");
  assert.equal(back.length, data.length);
  assert.ok(back.equals(data), 'the echo is byte for byte what was sent');
  assert.deepEqual(events, ['cb', 'connect', 'ready', 'end']);
  assert.equal(c.bytesRead, data.length);
  assert.equal(c.bytesWritten, data.length);

  assert.equal(accepted.length, 1);
  const s = accepted[0]!;
  assert.equal(s.remoteAddress, '192.0.2.1');
  assert.equal(s.remotePort, c.localPort);
  assert.equal(s.localAddress, '192.0.2.2');
  assert.equal(s.localPort, 7007);
  assert.equal(s.server, srv);
  const count = await new Promise<number>((res) => srv.getConnections((_e, n) => res(n)));
  assert.ok(count <= 1);
  const srvClosed = once(srv, 'close');
  srv.close();
  await srvClosed;
  assert.equal(srv.listening, false);
  assert.equal(srv.address(), null);
});

test('errors carry errno names: ECONNREFUSED, EADDRINUSE, ENETUNREACH, ENOTFOUND', T, async () => {
  const c = na.connect(9, '192.0.2.2');
  const closed = new Promise<boolean>((res) => c.once('close', res));
  const [err] = (await once(c, 'error')) as [VnetNetError];
  assert.equal(err.code, 'ECONNREFUSED');
  assert.equal(err.syscall, 'connect');
  assert.equal(err.address, '192.0.2.2');
  assert.equal(err.port, 9);
  assert.equal(err.errno, -61);
  assert.equal(err.message, 'connect ECONNREFUSED 192.0.2.2:9');
  assert.equal(await closed, true, "then 'close' with hadError");

  const s1 = nb.createServer().listen(7100, '192.0.2.2');
  await once(s1, 'listening');
  const s2 = nb.createServer().listen({ port: 7100, host: '192.0.2.2' });
  const [e2] = (await once(s2, 'error')) as [VnetNetError];
  assert.equal(e2.code, 'EADDRINUSE');
  assert.equal(e2.syscall, 'listen');
  assert.equal(s2.listening, false);
  s1.close();
  await once(s1, 'close');

  // No route to 203.0.113.0/24 from jail a.
  const u = na.createConnection(80, '203.0.113.9');
  const [e3] = (await once(u, 'error')) as [VnetNetError];
  assert.equal(e3.code, 'ENETUNREACH');
  assert.equal(e3.syscall, 'connect');

  // A name that the jail's /etc/hosts does not have.
  const n = na.createConnection(80, 'nosuchhost.invalid');
  const [e4] = (await once(n, 'error')) as [VnetNetError];
  assert.equal(e4.code, 'ENOTFOUND');
  assert.equal(e4.syscall, 'getaddrinfo');
});

test('a paused reader stops the writer: flow control through the kernel', T, async () => {
  let ss: VnetSocket | null = null;
  const srv = nb.createServer((s) => {
    ss = s;
    s.pause();
  });
  srv.listen(7300, '192.0.2.2');
  await once(srv, 'listening');
  const c = na.createConnection(7300, '192.0.2.2');
  await once(c, 'connect');
  // 16 MiB cannot fit in the socket buffers (kern.ipc.maxsockbuf is 2 MiB each).
  const big = pattern(16 << 20, 3);
  let written = false;
  assert.equal(
    c.write(big, () => (written = true)),
    false,
  );
  c.end();
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(ss !== null);
  const s = ss as VnetSocket;
  assert.equal(written, false, 'the write is not done while the reader is paused');
  assert.ok(s.bytesRead <= 1 << 20, `the paused side read ahead only a little: ${s.bytesRead}`);
  c.resume();
  const got = collect(s);
  s.resume();
  const all = await got;
  assert.equal(written, true);
  assert.ok(all.equals(big), 'everything arrives, in order, once reading resumes');
  await once(c, 'close');
  const closed = once(srv, 'close');
  srv.close();
  await closed;
});

test('node:http: 1,000 keep-alive requests from jail a to a server in jail b', T, async (t) => {
  const N = 1000;
  const hs = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const i = Number(req.url!.slice(1));
      assert.equal(req.method, 'POST');
      assert.equal(req.socket.remoteAddress, '192.0.2.1');
      const want = pattern(i % 97 === 0 ? 20_000 + i : 64 + ((i * 37) % 1500), i);
      const ok = body.equals(want);
      res.setHeader('content-type', 'application/octet-stream');
      res.setHeader('x-ok', ok ? 'yes' : 'no');
      res.end(pattern(100 + ((i * 53) % 3000), i + 1));
    });
  });
  let conns = 0;
  const srv = nb.createServer({ noDelay: true }, (sock) => {
    conns++;
    hs.emit('connection', sock);
  });
  srv.listen(80, '192.0.2.2');
  await once(srv, 'listening');

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  (agent as unknown as { createConnection: unknown }).createConnection = na.createConnection;
  const t0 = process.hrtime.bigint();
  const socks = new Set<VnetSocket>();
  for (let i = 0; i < N; i++) {
    const body = pattern(i % 97 === 0 ? 20_000 + i : 64 + ((i * 37) % 1500), i);
    const r = await new Promise<{ status: number; ok: string; body: Buffer; reused: boolean }>(
      (res, rej) => {
        const req = http.request(
          {
            host: '192.0.2.2',
            port: 80,
            method: 'POST',
            path: `/${i}`,
            agent,
            headers: { 'content-length': body.length },
          },
          (resp) => {
            const parts: Buffer[] = [];
            resp.on('data', (d: Buffer) => parts.push(d));
            resp.on('end', () =>
              res({
                status: resp.statusCode!,
                ok: String(resp.headers['x-ok']),
                body: Buffer.concat(parts),
                reused: req.reusedSocket,
              }),
            );
            resp.on('error', rej);
          },
        );
        req.on('socket', (s: VnetSocket) => socks.add(s));
        req.on('error', rej);
        req.end(body);
      },
    );
    assert.equal(r.status, 200);
    assert.equal(r.ok, 'yes', `request ${i}: the server saw the body that was sent`);
    assert.ok(r.body.equals(pattern(100 + ((i * 53) % 3000), i + 1)), `response ${i}`);
    if (i > 0) assert.equal(r.reused, true, `request ${i} reused the connection`);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  t.diagnostic(`${N} requests in ${ms.toFixed(0)} ms (${((ms * 1000) / N).toFixed(0)} us each)`);
  assert.equal(conns, 1, 'one TCP connection carried every request');
  assert.equal(socks.size, 1, 'and one client socket');
  // http.Agent's socket options (noDelay, keepAlive with keepAliveMsecs 1000), in the kernel.
  const cs = [...socks][0]!;
  assert.equal(await cs.getsockopt(IPPROTO_TCP, TCP_NODELAY), 1);
  assert.equal(await cs.getsockopt(SOL_SOCKET, SO_KEEPALIVE), SO_KEEPALIVE);
  assert.equal(await cs.getsockopt(IPPROTO_TCP, TCP_KEEPIDLE), 1);
  agent.destroy();
  const closed = once(srv, 'close');
  srv.close();
  await closed;
  hs.close();
  assert.ok(ms < 20_000, `${ms} ms`);
});

test('setNoDelay and setKeepAlive are TCP_NODELAY, SO_KEEPALIVE and TCP_KEEPIDLE', T, async () => {
  let accepted: VnetSocket | null = null;
  const srv = nb.createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 45_000 });
  srv.on('connection', (s) => {
    accepted = s;
    s.resume();
  });
  srv.listen(7200, '192.0.2.2');
  await once(srv, 'listening');
  const c = na.createConnection(7200, '192.0.2.2');
  await once(c, 'connect');
  assert.equal(await c.getsockopt(IPPROTO_TCP, TCP_NODELAY), 0, 'off by default');
  assert.equal(await c.getsockopt(SOL_SOCKET, SO_KEEPALIVE), 0);
  assert.equal(c.setNoDelay(), c, 'chainable');
  assert.equal(await c.getsockopt(IPPROTO_TCP, TCP_NODELAY), 1, 'setNoDelay() sets it');
  c.setNoDelay(false);
  assert.equal(await c.getsockopt(IPPROTO_TCP, TCP_NODELAY), 0);
  c.setKeepAlive(true, 30_000);
  assert.equal(await c.getsockopt(SOL_SOCKET, SO_KEEPALIVE), SO_KEEPALIVE);
  assert.equal(await c.getsockopt(IPPROTO_TCP, TCP_KEEPIDLE), 30);
  c.setKeepAlive(false);
  assert.equal(await c.getsockopt(SOL_SOCKET, SO_KEEPALIVE), 0);

  // Options given before the connection exists apply once it does.
  const d = na.createConnection({ host: '192.0.2.2', port: 7200, noDelay: true, keepAlive: true });
  d.setKeepAlive(true, 10_000);
  await once(d, 'connect');
  assert.equal(await d.getsockopt(IPPROTO_TCP, TCP_NODELAY), 1);
  assert.equal(await d.getsockopt(SOL_SOCKET, SO_KEEPALIVE), SO_KEEPALIVE);
  assert.equal(await d.getsockopt(IPPROTO_TCP, TCP_KEEPIDLE), 10);

  // The server's options are the accepted sockets'.
  while (accepted === null) await new Promise((r) => setImmediate(r));
  const a = accepted as VnetSocket;
  assert.equal(await a.getsockopt(IPPROTO_TCP, TCP_NODELAY), 1);
  assert.equal(await a.getsockopt(SOL_SOCKET, SO_KEEPALIVE), SO_KEEPALIVE);
  assert.equal(await a.getsockopt(IPPROTO_TCP, TCP_KEEPIDLE), 45);

  c.destroy();
  d.destroy();
  await Promise.all([once(c, 'close'), once(d, 'close')]);
  const closed = once(srv, 'close');
  srv.close();
  await closed;
});
