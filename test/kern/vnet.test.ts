// VIMAGE_ONLY: these tests create many vnets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjFile } from '../../src/sys/linker_set.js';
import {
  CURVNET_RESTORE,
  CURVNET_SET,
  VNET_DEFINE_U32,
  VNET_MAGIC_N,
  VNET_SYSINIT,
  VNET_SYSUNINIT,
  vnet_alloc,
  vnet_destroy,
  vnet_register_sysinit,
  V_modspace,
  curvnet,
  type Vnet,
  type VnetU32,
} from '../../src/net/vnet.js';
import { KLD, MODULE_VERSION } from '../../src/sys/module.js';
import { bootWithModules, kldload } from '../lib/kmods.js';
import {
  SI_ORDER_ANY,
  SI_ORDER_FIRST,
  SI_SUB_PROTO_DOMAIN,
  SI_SUB_PSEUDO,
  SI_SUB_VNET_DONE,
} from '../../src/sys/kernel.js';
import { bootVimage } from '../lib/kernel.js';
import { physmem_avail, physmem_guard_clean, PM_GUARD } from '../../src/host/physmem.js';

test('two vnets diverge after a write to one', async () => {
  const obj: { V_x?: VnetU32 } = {};
  const mod = KLD('diverge', ['$Vimage: test/diverge $'], (o) => {
    obj.V_x = VNET_DEFINE_U32(o, 'x', 7);
    MODULE_VERSION(o, 'diverge', 1);
  });
  const k = bootWithModules([mod], {}, { kernconf: 'GENERIC' });
  await kldload(k, 'diverge');
  const V_x = obj.V_x!;
  k.enter(() => {
    const a = vnet_alloc();
    const b = vnet_alloc();
    assert.equal(V_x.on(a), 7);
    assert.equal(V_x.on(b), 7);
    const s = CURVNET_SET(a);
    assert.equal(V_x.get(), 7);
    V_x.set(42);
    CURVNET_RESTORE(s);
    assert.equal(V_x.on(a), 42);
    assert.equal(V_x.on(b), 7, 'the other vnet keeps its own copy');
    assert.equal(V_x.on(k.vnet0), 7);
    vnet_destroy(a);
    vnet_destroy(b);
  });
});

test('vnet_alloc copies the reference image and ends in SI_SUB_VNET_DONE; destroy poisons the magic', () => {
  const k = bootVimage();
  k.enter(() => {
    const v = vnet_alloc();
    assert.equal(v.vnet_magic_n, VNET_MAGIC_N);
    assert.equal(v.vnet_state, SI_SUB_VNET_DONE);
    assert.equal(v.vnet_data_base, v.vnet_data_mem - k.image.vnet_start);
    assert.equal(k.vnet_head[0], v, 'new vnets go to the head of the list');
    assert.equal(v.v.size, k.image.vnet_size);
    assert.deepEqual(
      v.v.u8.subarray(V_modspace.off, V_modspace.off + 64),
      k.vnet_ref.u8.subarray(V_modspace.off, V_modspace.off + 64),
    );
    vnet_destroy(v);
    assert.equal(v.vnet_magic_n, 0xdeadbeef);
    assert.equal(k.vnet_head.includes(v), false);
    assert.throws(() => CURVNET_SET(v), /bad magic/);
  });
});

test('destructors run in exactly the reverse order of constructors', () => {
  const k = bootVimage();
  const log: string[] = [];
  const obj = new ObjFile('test/order.ts');
  const mk = (name: string, sub: number, order: number) => {
    const vsi = VNET_SYSINIT(obj, name, sub, order, () => log.push(`init ${name}`));
    const vsu = VNET_SYSUNINIT(obj, name, sub, order, () => log.push(`uninit ${name}`));
    return [vsi, vsu] as const;
  };
  const recs = [
    mk('c', SI_SUB_PROTO_DOMAIN, SI_ORDER_FIRST),
    mk('a', SI_SUB_PSEUDO, SI_ORDER_ANY),
    mk('b', SI_SUB_PSEUDO, SI_ORDER_FIRST),
    mk('d', SI_SUB_PROTO_DOMAIN, SI_ORDER_FIRST),
  ];
  k.enter(() => {
    // Register by hand (as the SYSINITs of a loaded module would).
    for (const [si] of recs) vnet_register_sysinit(si);
    for (const [, su] of recs) k.vnet_destructors.push(su);
    k.vnet_destructors.sort((x, y) => x.subsystem - y.subsystem || x.order - y.order);
    log.length = 0;
    const v = vnet_alloc();
    const inits = log.splice(0);
    assert.deepEqual(inits, ['init b', 'init a', 'init c', 'init d']);
    vnet_destroy(v);
    const uninits = log.filter((l) => l.startsWith('uninit')).map((l) => l.slice(7));
    assert.deepEqual(uninits, ['d', 'c', 'a', 'b']);
  });
});

test('a VNET_SYSINIT registered while vnets exist runs at once on every vnet', () => {
  const k = bootVimage();
  k.enter(() => {
    const vs: Vnet[] = [];
    for (let i = 0; i < 5; i++) vs.push(vnet_alloc());
    const seen = new Set<Vnet | null>();
    const obj = new ObjFile('test/late.ts');
    const rec = VNET_SYSINIT(
      obj,
      'late',
      SI_SUB_PSEUDO,
      SI_ORDER_ANY,
      () => void seen.add(curvnet()),
    );
    vnet_register_sysinit(rec);
    assert.equal(seen.size, 6, 'vnet0 and the five new vnets, each with curvnet set');
    assert.ok(seen.has(k.vnet0));
    for (const v of vs) assert.ok(seen.has(v));
    const v = vnet_alloc();
    assert.equal(seen.size, 7, 'and every vnet created later');
    assert.ok(seen.has(v));
    for (const x of [...vs, v]) vnet_destroy(x);
  });
});

test('vnet data lives in physical memory; destroy returns it and nothing writes the NULL guard', () => {
  const k = bootVimage();
  k.enter(() => {
    const before = physmem_avail();
    const vs = Array.from({ length: 10 }, () => vnet_alloc());
    assert.equal(before - physmem_avail(), 10 * k.image.vnet_size);
    for (const v of vs) assert.ok(v.v.b8 >= PM_GUARD, 'never in the guard area');
    vs.forEach(vnet_destroy);
    assert.equal(physmem_avail(), before);
  });
  assert.ok(physmem_guard_clean());
});
