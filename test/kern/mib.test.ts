import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../lib/kernel.js';
import { boot } from '../../src/kern/boot.js';
import { __vimage_version, P_OSREL_MAJOR, MODULE_KERNEL_MAXVER } from '../../src/sys/param.js';
import type { Kernel } from '../../src/kern/kernel.js';

/** Read an integer OID through the tree's handler, as the sysctl syscall does. */
function readInt(k: Kernel, name: string): number | null {
  const o = k.sysctl.find(name);
  if (!o) return null;
  const req = { oldptr: new Uint8Array(8), oldidx: 0, newptr: null, arg1: null, arg2: 0 };
  const e = k.enter(() => k.sysctl.handle(o, req, { vnet: null, jailed: false }, () => null));
  assert.equal(e, 0);
  return new DataView(req.oldptr.buffer).getInt32(0, true);
}

test('kern.osreldate is __vimage_version; the version scheme', () => {
  const k = bootTest();
  assert.equal(readInt(k, 'kern.osreldate'), __vimage_version);
  assert.equal(P_OSREL_MAJOR(__vimage_version), 1);
  assert.equal(MODULE_KERNEL_MAXVER(100002), 199999);
  assert.equal(MODULE_KERNEL_MAXVER(100000), 199999);
});

test('kern.features.vimage is 1 in GENERIC and does not exist in NOVIMAGE', () => {
  const g = boot({ kernconf: 'GENERIC' });
  assert.equal(readInt(g, 'kern.features.vimage'), 1);
  assert.equal(readInt(g, 'kern.features.inet'), 1);
  const n = boot({ kernconf: 'NOVIMAGE' });
  assert.equal(readInt(n, 'kern.features.vimage'), null);
  assert.equal(readInt(n, 'kern.features.inet'), 1);
  assert.equal(g.vimage, true);
  assert.equal(n.vimage, false);
  assert.equal(n.vnet_head.length, 0, 'no vnets without VIMAGE');
  assert.equal(g.vnet_head.length, 1, 'vnet0');
  assert.equal(g.linker.lookup_symbol('vnet_entry_modspace')?.value, g.image.vnet_start);
  assert.equal(
    n.linker.lookup_symbol('vnet_entry_modspace'),
    undefined,
    'plain names without VIMAGE',
  );
  assert.equal(n.linker.lookup_symbol('modspace')?.value, n.image.vnet_start);
});
