// VIMAGE_ONLY: a module's variables in 100 vnets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KLD, MODULE_VERSION } from '../../src/sys/module.js';
import {
  VNET_DEFINE_U32,
  VNET_SYSINIT,
  VNET_SYSUNINIT,
  vnet_alloc,
  vnet_destroy,
  type Vnet,
  type VnetU32,
  curvnet,
} from '../../src/net/vnet.js';
import { SI_SUB_PSEUDO, SI_ORDER_ANY } from '../../src/sys/kernel.js';
import { bootWithModules, kldload } from '../lib/kmods.js';

test('a module loaded after 100 vnets exist shows its initial value in all of them and in later vnets', async () => {
  const acc: { v?: VnetU32 } = {};
  const inits: Vnet[] = [];
  const m = KLD('late', [], (o) => {
    acc.v = VNET_DEFINE_U32(o, 'late_var', 0xfeed);
    VNET_SYSINIT(o, 'late_init', SI_SUB_PSEUDO, SI_ORDER_ANY, () => {
      inits.push(curvnet()!);
    });
    MODULE_VERSION(o, 'late', 1);
  });
  const k = bootWithModules([m], {}, { kernconf: 'GENERIC' });
  const vnets = k.enter(() => Array.from({ length: 100 }, () => vnet_alloc()));
  // Scribble over the future module slot in one vnet: the load must overwrite it.
  vnets[3]!.v.u32.fill(
    0xdead,
    k.vnet_modspace.free[0]!.start >>> 2,
    (k.vnet_modspace.free[0]!.start >>> 2) + 4,
  );
  await kldload(k, 'late');
  const v = acc.v!;
  for (const x of vnets) assert.equal(v.on(x), 0xfeed);
  assert.equal(v.on(k.vnet0), 0xfeed);
  assert.equal(inits.length, 101, 'the VNET_SYSINIT ran on vnet0 and every vnet');
  k.enter(() => {
    const later = vnet_alloc();
    assert.equal(
      v.on(later),
      0xfeed,
      'a vnet created later copies the defaults from the reference image',
    );
    assert.equal(inits.length, 102);
    vnet_destroy(later);
    for (const x of vnets) vnet_destroy(x);
  });
  assert.equal(k.vnet_head.length, 1);
});

test('module unload runs its VNET_SYSUNINIT on every vnet', async () => {
  let dtor = 0;
  const m = KLD('dt', [], (o) => {
    VNET_SYSUNINIT(o, 'dt_uninit', SI_SUB_PSEUDO, SI_ORDER_ANY, () => void dtor++);
    MODULE_VERSION(o, 'dt', 1);
  });
  const k = bootWithModules([m], {}, { kernconf: 'GENERIC' });
  const vnets = k.enter(() => Array.from({ length: 4 }, () => vnet_alloc()));
  const id = await kldload(k, 'dt');
  assert.equal(
    k.enter(() => k.linker.kldunload(id)),
    0,
  );
  assert.equal(dtor, 5);
  k.enter(() => vnets.forEach(vnet_destroy));
  assert.equal(dtor, 5, 'deregistered: not run again');
});
