// __sysctl(2) through libc: sysctlbyname, the oldlen protocol, meta nodes, jails, vnets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EFAULT, EINVAL, ENOENT, ENOMEM, EPERM, EISDIR } from '../../src/sys/errno.js';
import { __vimage_version } from '../../src/sys/param.js';
import {
  CTLFLAG_PRISON,
  CTLFLAG_RD,
  CTLFLAG_RW,
  CTLFLAG_VNET,
  CTLTYPE_INT,
  SYSCTL_OUT,
  type SysctlOidDecl,
} from '../../src/sys/sysctl.js';
import { SYS___sysctl } from '../../src/sys/sysent.js';
import { Prison } from '../../src/kern/kern_jail.js';
import { curvnet, vnet_alloc } from '../../src/net/vnet.js';
import type { Kernel } from '../../src/kern/kernel.js';
import { bootTest } from '../lib/kernel.js';
import { userproc } from '../lib/proc.js';

function i32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

function rdi32(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true);
}

/** A read-write int node (debug.test_rw) backed by a closure. */
function rwnode(k: Kernel, flags = 0): { get(): number } {
  let v = 5;
  const decl: SysctlOidDecl = {
    name: 'debug.test_rw',
    kind: CTLTYPE_INT,
    flags: CTLFLAG_RW | flags,
    fmt: 'I',
    descr: 'test',
    handler: null,
    arg1: { get: () => v, set: (n: number) => (v = n) },
    arg2: 0,
    number: -1,
  };
  k.sysctl.register(decl);
  return { get: () => v };
}

test('kern.osreldate is __vimage_version; kern.ostype is vimage', async () => {
  const k = bootTest();
  const { libc } = userproc(k);
  const b = new Uint8Array(4);
  const len: [number] = [4];
  assert.equal(await libc.sysctlbyname('kern.osreldate', b, len), 0);
  assert.equal(len[0], 4);
  assert.equal(rdi32(b), __vimage_version);
  assert.equal(await libc.sysctlbyname_str('kern.ostype'), 'vimage');
});

test('kern.features.vimage: 1 in a VIMAGE kernel, ENOENT without', async () => {
  const k = bootTest();
  const { libc } = userproc(k);
  const v = await libc.sysctlbyname_num('kern.features.vimage');
  if (k.vimage) assert.equal(v, 1);
  else {
    assert.equal(v, null);
    assert.equal(libc.errno, ENOENT);
  }
});

test('unknown names and MIBs give ENOENT; a bare node EISDIR', async () => {
  const k = bootTest();
  const { libc } = userproc(k);
  assert.equal(await libc.sysctlbyname('kern.no_such_thing', new Uint8Array(4), [4]), -1);
  assert.equal(libc.errno, ENOENT);
  assert.equal(await libc.sysctl([1, 99999], new Uint8Array(4), [4]), -1);
  assert.equal(libc.errno, ENOENT);
  assert.equal(await libc.sysctl([1], new Uint8Array(4), [4]), -1, 'namelen < 2');
  assert.equal(libc.errno, EINVAL);
  assert.equal(await libc.sysctlbyname('kern.features', new Uint8Array(4), [4]), -1);
  assert.equal(libc.errno, EISDIR);
});

test('the oldlen protocol: size query, short buffer ENOMEM, exact fit', async () => {
  const k = bootTest();
  const { libc } = userproc(k);
  const len: [number] = [0];
  assert.equal(await libc.sysctlbyname('kern.ostype', null, len), 0);
  assert.equal(len[0], 'vimage'.length + 1);
  const short = new Uint8Array(3);
  len[0] = 3;
  assert.equal(await libc.sysctlbyname('kern.ostype', short, len), -1);
  assert.equal(libc.errno, ENOMEM);
  assert.equal(len[0], 3, 'oldlen says what was copied');
  assert.deepEqual([...short], [...new TextEncoder().encode('vim')]);
  const exact = new Uint8Array(7);
  len[0] = 7;
  assert.equal(await libc.sysctlbyname('kern.ostype', exact, len), 0);
  assert.equal(new TextDecoder().decode(exact), 'vimage\0');
  // A buffer larger than the value: oldlen shrinks to the value.
  const big = new Uint8Array(64);
  len[0] = 64;
  assert.equal(await libc.sysctlbyname('kern.osreldate', big, len), 0);
  assert.equal(len[0], 4);
});

test('EFAULT for unmapped user pointers', async () => {
  const k = bootTest();
  const { libc } = userproc(k);
  const m = libc.malloc(8)!;
  new DataView(m.buf.buffer).setInt32(0, 1, true);
  new DataView(m.buf.buffer).setInt32(4, 1, true);
  assert.equal(await libc.syscall(SYS___sysctl, 0x1000, 2, 0, 0, 0, 0), -1);
  assert.equal(libc.errno, EFAULT);
  const lenp = libc.malloc(8)!;
  lenp.buf[0] = 64;
  assert.equal(await libc.syscall(SYS___sysctl, m.addr, 2, 0x2000, lenp.addr, 0, 0), -1);
  assert.equal(libc.errno, EFAULT);
});

test('writes: wrong size EINVAL, value stored; non-root and jailed callers EPERM', async () => {
  const k = bootTest();
  const node = rwnode(k);
  const { libc } = userproc(k);
  assert.equal(await libc.sysctlbyname('debug.test_rw', null, null, new Uint8Array(2)), -1);
  assert.equal(libc.errno, EINVAL);
  assert.equal(node.get(), 5);
  const old = new Uint8Array(4);
  const len: [number] = [4];
  assert.equal(await libc.sysctlbyname('debug.test_rw', old, len, i32(77)), 0);
  assert.equal(rdi32(old), 5, 'the old value comes back');
  assert.equal(node.get(), 77);
  assert.equal(await libc.sysctlbyname('kern.osreldate', null, null, i32(1)), -1);
  assert.equal(libc.errno, EPERM, 'read-only node');

  const user = userproc(k, { uid: 1001 });
  assert.equal(await user.libc.sysctlbyname('debug.test_rw', null, null, i32(1)), -1);
  assert.equal(user.libc.errno, EPERM);
  assert.equal(await user.libc.sysctlbyname_num('debug.test_rw'), 77, 'reads are fine');

  const jail = new Prison(1, 'j1', k.prison0);
  jail.pr_vnet = k.prison0.pr_vnet;
  const jailed = userproc(k, { prison: jail });
  assert.equal(await jailed.libc.sysctlbyname('debug.test_rw', null, null, i32(1)), -1);
  assert.equal(jailed.libc.errno, EPERM);
  assert.equal(node.get(), 77);
  // A CTLFLAG_PRISON node is writable from a jail.
  assert.equal(
    await jailed.libc.sysctlbyname('kern.hostname', null, null, new TextEncoder().encode('j')),
    0,
  );
  void CTLFLAG_PRISON;
});

test('CTLFLAG_VNET nodes run in the vnet of the caller\u2019s prison', async () => {
  const k = bootTest();
  const decl: SysctlOidDecl = {
    name: 'debug.test_whichvnet',
    kind: CTLTYPE_INT,
    flags: CTLFLAG_RD | CTLFLAG_VNET,
    fmt: 'I',
    descr: 'vnet id of curvnet',
    handler: (_o, req) => SYSCTL_OUT(req, i32(curvnet()?.vnet_id ?? -1)),
    arg1: null,
    arg2: 0,
    number: -1,
  };
  k.sysctl.register(decl);
  const host = userproc(k);
  const hv = await host.libc.sysctlbyname_num('debug.test_whichvnet');
  if (!k.vimage) {
    assert.equal(hv, -1, 'no curvnet without VIMAGE');
    return;
  }
  assert.equal(hv, k.vnet0.vnet_id);
  const v1 = k.enter(() => vnet_alloc());
  const jail = new Prison(1, 'j1', k.prison0);
  jail.pr_vnet = v1;
  const jailed = userproc(k, { prison: jail });
  jailed.td.td_vnet = null; /* the syscall, not the thread, decides the vnet */
  assert.equal(await jailed.libc.sysctlbyname_num('debug.test_whichvnet'), v1.vnet_id);
  assert.equal(jailed.td.td_vnet, null, 'curvnet restored after the handler');
});

test('{0,2} next walks the tree and visits kern.ostype; {0,1} names', async () => {
  const k = bootTest();
  const { libc } = userproc(k);
  const names: string[] = [];
  let mib: number[] = [];
  for (let i = 0; i < 10000; i++) {
    const out = new Uint8Array(24 * 4);
    const len: [number] = [out.length];
    if ((await libc.sysctl([0, 2, ...mib], out, len)) < 0) {
      assert.equal(libc.errno, ENOENT);
      break;
    }
    const dv = new DataView(out.buffer);
    mib = [];
    for (let j = 0; j < len[0] / 4; j++) mib.push(dv.getInt32(j * 4, true));
    const nb = new Uint8Array(256);
    const nlen: [number] = [256];
    assert.equal(await libc.sysctl([0, 1, ...mib], nb, nlen), 0);
    names.push(new TextDecoder().decode(nb.subarray(0, nlen[0] - 1)));
  }
  assert.ok(names.includes('kern.ostype'), names.join(' '));
  assert.ok(names.includes('kern.osreldate'));
  const mibp: number[] = [];
  const sz: [number] = [24];
  assert.equal(await libc.sysctlnametomib('kern.ostype', mibp, sz), 0);
  assert.equal(sz[0], 2);
  assert.equal(mibp[0], 1);
});
