// kern.hostname is per jail; security.jail.* answer for the caller's jail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../lib/kernel.js';
import { userproc } from '../lib/proc.js';
import { kern_jail_set } from '../../src/kern/kern_jail.js';
import { EPERM } from '../../src/sys/errno.js';
import type { Libc } from '../../src/lib/libc.js';

async function str(libc: Libc, name: string): Promise<string> {
  const b = new Uint8Array(256);
  const len: [number] = [256];
  assert.equal(await libc.sysctlbyname(name, b, len, null), 0, name);
  return new TextDecoder().decode(b.subarray(0, len[0] - 1));
}

async function int(libc: Libc, name: string): Promise<number> {
  const b = new Uint8Array(4);
  const len: [number] = [4];
  assert.equal(await libc.sysctlbyname(name, b, len, null), 0, name);
  return new DataView(b.buffer).getInt32(0, true);
}

test('kern.hostname per jail; security.jail.jailed and .vnet', async () => {
  const k = bootTest();
  const j = k.enter(() =>
    kern_jail_set(k, k.prison0, {
      name: 'web',
      persist: true,
      vnet: k.vimage,
      'host.hostname': 'web.example',
    }),
  );
  assert.equal(j.error, 0);
  const host = userproc(k, { comm: 'sysctl' });
  const jailed = userproc(k, { comm: 'sysctl', prison: j.pr! });
  assert.equal(await str(host.libc, 'kern.hostname'), 'vimage');
  assert.equal(await str(jailed.libc, 'kern.hostname'), 'web.example');
  assert.equal(
    await jailed.libc.sysctlbyname('kern.hostname', null, null, new TextEncoder().encode('www')),
    0,
  );
  assert.equal(await str(jailed.libc, 'kern.hostname'), 'www');
  assert.equal(await str(host.libc, 'kern.hostname'), 'vimage', 'the host is unaffected');
  assert.equal(await int(host.libc, 'security.jail.jailed'), 0);
  assert.equal(await int(jailed.libc, 'security.jail.jailed'), 1);
  assert.equal(await int(jailed.libc, 'security.jail.vnet'), k.vimage ? 1 : 0);
  assert.equal(await int(host.libc, 'security.jail.vnet'), 0);
  // A jailed process cannot change non-prison knobs.
  assert.equal(
    await jailed.libc.sysctlbyname('kern.module_path', null, null, new TextEncoder().encode('/x')),
    -1,
  );
  assert.equal(jailed.libc.errno, EPERM);
});
