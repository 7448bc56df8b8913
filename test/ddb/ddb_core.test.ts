import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../lib/kernel.js';
import { ddb } from '../lib/ddb.js';
import { bootWithModules, kldload } from '../lib/kmods.js';
import { KLD, MODULE_VERSION } from '../../src/sys/module.js';
import { VNET_DEFINE_U32, vnet_alloc, type VnetU32 } from '../../src/net/vnet.js';
import { DPCPU_DEFINE_U32, type PcpuU32 } from '../../src/sys/pcpu.js';

test('command syntax: unique prefixes, ambiguity, unknown commands, help, empty line repeats', () => {
  const k = bootTest();
  const out = ddb(k, 'p 0t10', 'p/d 10', 'pr 1+2*3', 'zzz', 'help', 'show', 'p (2+3)*4', '');
  assert.match(out, /db> p 0t10\na\n/, 'radix 16 by default, 0t is decimal');
  assert.match(out, /db> p\/d 10\n16\n/);
  assert.match(out, /db> pr 1\+2\*3\n7\n/);
  assert.match(out, /db> zzz\nNo such command; use "help" to list available commands\n/);
  assert.match(out, /commands:\n.*continue/s);
  assert.match(out, /show commands:\n.*dpcpu_off/s);
  assert.match(out, /db> p \(2\+3\)\*4\n14\ndb> \n14\n/, 'an empty line repeats the last command');
});

test('show all vnets / show vnet / vnet_sysinit: struct vnet fields with the magic check', () => {
  const k = bootTest();
  if (k.vimage) k.enter(() => vnet_alloc());
  const out = ddb(
    k,
    'show all vnets',
    'show vnet 1',
    'show vnet 99',
    'sh vnet_sysinit',
    'show all pcpu',
    'show dpcpu_off',
  );
  if (k.vimage) {
    assert.match(out, /vnet 2 = 0x[0-9a-f]+\n vnet_magic_n {6}= 0x3e0d8f29 \(ok\)/);
    assert.match(out, /vnet 1 = 0x[0-9a-f]+\n/);
    assert.match(out, /vnet_state {8}= 0xdc00000 \(SI_SUB_VNET_DONE\)/);
    assert.match(out, /db> show vnet 99\nno vnet 99\n/);
    assert.match(out, /VNET_SYSINIT vs Name\(Ptr\)\n.*vnet_init_done_marker/s);
  } else assert.match(out, /no vnets: kernel built without options VIMAGE/);
  assert.match(out, /cpuid {8}= 0\ndynamic pcpu = 0x[0-9a-f]+\n/);
  assert.match(out, /cpuid {8}= 1\n/);
  assert.match(out, new RegExp(`dpcpu_off\\[1\\] = 0x${k.pcpu[1]!.pc_dynamic.toString(16)} `));
});

test('x/FMT resolves vnet_entry_ symbols in $db_vnet and pcpu_entry_ symbols in $db_cpu', async () => {
  const acc: { v?: VnetU32; p?: PcpuU32 } = {};
  const m = KLD('dbm', [], (o) => {
    acc.v = VNET_DEFINE_U32(o, 'dbm_counter', 0x1234);
    acc.p = DPCPU_DEFINE_U32(o, 'dbm_percpu', 7);
    MODULE_VERSION(o, 'dbm', 1);
  });
  const k = bootWithModules([m]);
  await kldload(k, 'dbm');
  const v2 = k.vimage ? k.enter(() => vnet_alloc()) : null;
  if (v2) acc.v!.seton(v2, 0xbeef);
  k.enter(() => acc.p!.setOn(1, 99));
  const lines = [
    'x/x dbm_counter',
    'x/d dbm_percpu',
    'set $db_cpu = 1',
    'x/d dbm_percpu',
    'x/bx dbm_counter,4',
  ];
  if (v2) lines.push(`set $db_vnet = ${v2.kva.toString(16)}`, 'x/x dbm_counter', 'p $db_vnet');
  lines.push('x/x no_such_symbol', 'set $curcpu = 1', 'set $db_cpu = 5');
  const out = ddb(k, ...lines);
  assert.match(out, /db> x\/x dbm_counter\n(vnet_entry_)?dbm_counter:\t1234\n/);
  assert.match(out, /db> x\/d dbm_percpu\npcpu_entry_dbm_percpu:\t7\n/, 'CPU 0 by default');
  assert.match(out, /set \$db_cpu = 1\ndb> x\/d dbm_percpu\npcpu_entry_dbm_percpu:\t99\n/);
  assert.match(out, /db> x\/bx dbm_counter,4\n(vnet_entry_)?dbm_counter:\t34\t12\t0\t0\n/);
  if (v2) {
    assert.match(
      out,
      /set \$db_vnet = [0-9a-f]+\ndb> x\/x dbm_counter\nvnet_entry_dbm_counter:\tbeef\n/,
    );
    assert.match(out, new RegExp(`db> p \\$db_vnet\\n${v2.kva.toString(16)}\\n`));
  }
  assert.match(out, /Symbol 'no_such_symbol' not found/);
  assert.match(out, /\$curcpu is read-only/);
  assert.match(out, /Invalid value: 5/);
});
