// The promise-based socket API over libc, with AF_UNIX: errors carry errno names,
// addresses are objects, a server and a client run as two scheduled processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../lib/kernel.js';
import { Libc } from '../../src/lib/libc.js';
import { SocketError, VSocket } from '../../src/lib/vsocket.js';
import { SO_TYPE } from '../../src/sys/socket.js';
import type { Kernel } from '../../src/kern/kernel.js';

const cred = (k: Kernel) => ({ cr_uid: 0, cr_prison: k.prison0 });
const dec = new TextDecoder();

test('a stream server and client exchange data; EOF; errors have codes', async () => {
  const k = bootTest();
  const log: string[] = [];
  k.proc_create('server', cred(k), async (td) => {
    const libc = new Libc(k, td);
    const srv = await VSocket.listen(libc, { family: 'local', path: '/tmp/echo.sock' });
    assert.deepEqual(await srv.address(), { family: 'local', path: '/tmp/echo.sock' });
    const { socket } = await srv.accept();
    const got = dec.decode(await socket.readAll());
    log.push(`server got ${got}`);
    await socket.sendAll(got.toUpperCase());
    await socket.close();
    await srv.close();
    return 0;
  });
  k.proc_create('client', cred(k), async (td) => {
    const libc = new Libc(k, td);
    const c = await VSocket.connect(libc, { family: 'local', path: '/tmp/echo.sock' });
    assert.equal(await c.getsockopt(SO_TYPE), 1);
    await c.sendAll('hello vnet');
    await c.shutdown('write');
    log.push(`client got ${dec.decode(await c.readAll())}`);
    await c.close();
    try {
      await VSocket.connect(libc, { family: 'local', path: '/tmp/nobody.sock' });
      log.push('connected?!');
    } catch (e) {
      assert.ok(e instanceof SocketError);
      log.push(`${e.syscall} ${e.code}`);
    }
    try {
      await VSocket.create(libc, 'local', 'raw');
    } catch (e) {
      log.push(`${(e as SocketError).syscall} ${(e as SocketError).code}`);
    }
    return 0;
  });
  await k.run_until_idle();
  assert.deepEqual(log, [
    'server got hello vnet',
    'client got HELLO VNET',
    'connect ENOENT',
    'socket EPROTOTYPE',
  ]);
});

test('datagrams with sender addresses', async () => {
  const k = bootTest();
  const log: string[] = [];
  k.proc_create('dg', cred(k), async (td) => {
    const libc = new Libc(k, td);
    const a = await VSocket.create(libc, 'local', 'dgram');
    await a.bind({ family: 'local', path: '/a' });
    const b = await VSocket.create(libc, 'local', 'dgram');
    await b.bind({ family: 'local', path: '/b' });
    await b.sendto('ping', { family: 'local', path: '/a' });
    const r = await a.recvfrom(100);
    log.push(`${dec.decode(r.data)} from ${JSON.stringify(r.from)}`);
    const [x, y] = await VSocket.pair(libc, 'dgram');
    await x.send(new Uint8Array([1, 2, 3]));
    log.push(`pair ${[...(await y.recv(10))].join(',')}`);
    return 0;
  });
  await k.run_until_idle();
  assert.deepEqual(log, ['ping from {"family":"local","path":"/b"}', 'pair 1,2,3']);
});
