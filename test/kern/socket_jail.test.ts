// Sockets, processes and jails: per-vnet socket counts, descriptors closed at exit,
// jail removal closing its sockets before its vnet is destroyed, per-jail AF_UNIX names.
// The vnet-jail cases boot a VIMAGE kernel explicitly (bootVimage); the rest run on both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest, bootVimage } from '../lib/kernel.js';
import type { Kernel } from '../../src/kern/kernel.js';
import { Libc, sockaddr_un } from '../../src/lib/libc.js';
import { AF_UNIX, SOCK_DGRAM, SOCK_STREAM } from '../../src/sys/socket.js';
import { EINTR, ENOENT } from '../../src/sys/errno.js';
import { jexec, kern_jail_set, prison_remove, type Prison } from '../../src/kern/kern_jail.js';
import { proc_kill } from '../../src/kern/kern_proc.js';
import { so_globals } from '../../src/kern/uipc_sockbuf.js';
import { PRS_ZOMBIE, type Thread } from '../../src/sys/proc.js';

function mkjail(k: Kernel, name: string, vnet: boolean): Prison {
  const r = k.enter(() => kern_jail_set(k, k.prison0, { name, vnet, persist: true }));
  assert.equal(r.error, 0);
  return r.pr!;
}

test('vnet_sockcnt counts the sockets of a vnet jail; removing the jail closes them first', async () => {
  const k = bootVimage();
  const pr = mkjail(k, 'j', true);
  const v = pr.pr_vnet!;
  let tdp: Thread | null = null;
  const r = jexec(k, k.prison0, 'j', 'server', async (td) => {
    tdp = td;
    const c = new Libc(k, td);
    const s = await c.socket(AF_UNIX, SOCK_STREAM, 0);
    await c.bind(s, sockaddr_un('/srv'));
    await c.listen(s, 4);
    await c.socket(AF_UNIX, SOCK_DGRAM, 0);
    const sv: [number, number] = [-1, -1];
    await c.socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    await c.accept(s); /* blocks until the jail is removed; the process exits at userret */
    return 0;
  });
  assert.equal(r.error, 0);
  await k.run_until_idle();
  assert.equal(v.vnet_sockcnt, 4, 'listener, datagram socket, a pair');
  assert.equal(k.vnet0.vnet_sockcnt, 0, 'none in vnet0');
  // vnet_destroy throws if a socket is left: removal must close them on the way.
  k.enter(() => prison_remove(k, pr));
  await k.run_until_idle();
  assert.equal((tdp as Thread | null)?.td_errno, EINTR, 'the blocked accept was interrupted');
  assert.equal(r.p!.p_state, PRS_ZOMBIE);
  assert.equal(v.vnet_sockcnt, 0);
  assert.ok(!k.vnet_head.includes(v), 'vnet destroyed');
  assert.equal(so_globals(k).numopensockets, 0);
});

test('two vnet jails count their sockets separately', async () => {
  const k = bootVimage();
  const a = mkjail(k, 'a', true);
  const b = mkjail(k, 'b', true);
  for (const [jail, n] of [
    ['a', 1],
    ['b', 3],
  ] as const)
    jexec(k, k.prison0, jail, 'p', async (td) => {
      const c = new Libc(k, td);
      for (let i = 0; i < n; i++) await c.socket(AF_UNIX, SOCK_DGRAM, 0);
      const { pause } = await import('../../src/kern/kern_synch.js');
      await pause('hold', 1000);
      return 0;
    });
  await k.run_for(0.5);
  assert.equal(a.pr_vnet!.vnet_sockcnt, 1);
  assert.equal(b.pr_vnet!.vnet_sockcnt, 3);
  await k.run_until_idle();
  assert.equal(a.pr_vnet!.vnet_sockcnt, 0, 'closed at exit');
  assert.equal(b.pr_vnet!.vnet_sockcnt, 0);
});

test('exit closes a process descriptors: the peer reads EOF, then EPIPE on write', async () => {
  const k = bootTest();
  const log: (string | number)[] = [];
  const cred = { cr_uid: 0, cr_prison: k.prison0 };
  k.proc_create('server', cred, async (td) => {
    const c = new Libc(k, td);
    const s = await c.socket(AF_UNIX, SOCK_STREAM, 0);
    await c.bind(s, sockaddr_un('/x'));
    await c.listen(s, 1);
    const a = await c.accept(s);
    const buf = new Uint8Array(8);
    log.push(await c.recv(a, buf));
    log.push(await c.recv(a, buf));
    log.push((await c.send(a, new Uint8Array(1))) < 0 ? `E${c.errno}` : 'sent');
    return 0;
  });
  const client = k.proc_create('client', cred, async (td) => {
    const c = new Libc(k, td);
    const s = await c.socket(AF_UNIX, SOCK_STREAM, 0);
    await c.connect(s, sockaddr_un('/x'));
    await c.send(s, new Uint8Array(3));
    return 0; /* exits without closing */
  });
  await k.run_until_idle();
  assert.equal(client.p_state, PRS_ZOMBIE);
  assert.deepEqual(log, [3, 0, 'E32']);
  assert.equal(so_globals(k).numopensockets, 0);
});

test('a killed process blocked in recv gets EINTR and its sockets are closed', async () => {
  const k = bootTest();
  let tdp: Thread | null = null;
  const p = k.proc_create('victim', { cr_uid: 0, cr_prison: k.prison0 }, async (td) => {
    tdp = td;
    const c = new Libc(k, td);
    const sv: [number, number] = [-1, -1];
    await c.socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    await c.recv(sv[0], new Uint8Array(4));
    return 0;
  });
  await k.run_until_idle();
  assert.equal(so_globals(k).numopensockets, 2);
  k.enter(() => proc_kill(k, p));
  await k.run_until_idle();
  assert.equal((tdp as Thread | null)?.td_errno, EINTR);
  assert.equal(so_globals(k).numopensockets, 0);
});

test('AF_UNIX names are per jail', async () => {
  const k = bootTest();
  mkjail(k, 'j', false);
  const out: number[] = [];
  k.proc_create('host', { cr_uid: 0, cr_prison: k.prison0 }, async (td) => {
    const c = new Libc(k, td);
    const s = await c.socket(AF_UNIX, SOCK_DGRAM, 0);
    out.push(await c.bind(s, sockaddr_un('/shared')));
    const { pause } = await import('../../src/kern/kern_synch.js');
    await pause('hold', 100);
    return 0;
  });
  jexec(k, k.prison0, 'j', 'jailed', async (td) => {
    const c = new Libc(k, td);
    const s = await c.socket(AF_UNIX, SOCK_DGRAM, 0);
    out.push(
      (await c.sendto(s, new Uint8Array(1), 1, 0, sockaddr_un('/shared'))) < 0 ? c.errno : 0,
    );
    out.push(await c.bind(s, sockaddr_un('/shared')));
    return 0;
  });
  await k.run_until_idle();
  assert.deepEqual(out, [0, ENOENT, 0]);
});

test('a vnet socket held from outside the jail is drained before the vnet is destroyed', async () => {
  const k = bootVimage();
  const pr = mkjail(k, 'd', true);
  const v = pr.pr_vnet!;
  const { socreate } = await import('../../src/kern/uipc_socket.js');
  const so = k.enter(() => socreate(AF_UNIX, SOCK_DGRAM, 0, { cr_uid: 0, cr_prison: pr }, null));
  assert.ok(typeof so !== 'number');
  assert.equal(so.so_vnet, v);
  assert.equal(v.vnet_sockcnt, 1);
  k.enter(() => prison_remove(k, pr));
  await k.run_until_idle();
  assert.ok(so.so_freed);
  assert.equal(v.vnet_sockcnt, 0);
  assert.ok(!k.vnet_head.includes(v));
});
