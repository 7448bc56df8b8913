import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KLD, MODULE_VERSION } from '../../src/sys/module.js';
import {
  DPCPU_DEFINE_U32,
  DPCPU_DEFINE_BYTES,
  DPCPU_MODMIN,
  type PcpuU32,
} from '../../src/sys/pcpu.js';
import {
  VNET_PCPUSTAT_DEFINE,
  CURVNET_SET,
  CURVNET_RESTORE,
  type VnetPcpuStat,
} from '../../src/net/vnet.js';
import { counter_u64_add } from '../../src/kern/subr_counter.js';
import { counterStruct, bytes } from '../../src/sys/types.js';
import { cpu, cpu_load_pcpu } from '../../src/host/cpu.js';
import { bootWithModules, kldload } from '../lib/kmods.js';
import { bootTest } from '../lib/kernel.js';
import { LinkerError } from '../../src/kern/kern_linker.js';
import { ENOSPC } from '../../src/sys/errno.js';

test('every CPU has a DPCPU block laid out like the master section', () => {
  const k = bootTest({ ncpu: 4 });
  assert.equal(k.pcpu.length, 4);
  for (const pc of k.pcpu) {
    assert.equal(pc.pc_dyn!.size, k.image.dpcpu_size);
    assert.equal(pc.pc_dynamic, pc.pc_dyn!.kva - k.image.dpcpu_start);
    assert.equal(k.dpcpu_off[pc.pc_cpuid], pc.pc_dynamic);
  }
  assert.equal(k.dpcpu_off[4], 0, 'no such CPU');
  assert.equal(k.dpcpu_modspace.avail, DPCPU_MODMIN);
});

test('DPCPU get/set on the current CPU and by id, sum and zero; module defaults reach every CPU', async () => {
  const acc: { c?: PcpuU32 } = {};
  const m = KLD('pc', [], (o) => {
    acc.c = DPCPU_DEFINE_U32(o, 'pc_count', 3);
    MODULE_VERSION(o, 'pc', 1);
  });
  const k = bootWithModules([m], {}, { ncpu: 3 });
  await kldload(k, 'pc');
  const c = acc.c!;
  k.enter(() => {
    assert.deepEqual(
      [0, 1, 2].map((i) => c.getOn(i)),
      [3, 3, 3],
    );
    // curcpu belongs to the running thread: switch the processor to CPU 2.
    cpu_load_pcpu(2, k.pcpu[2]!.pc_dyn!);
    assert.equal(cpu.cpuid, 2);
    c.set(40);
    c.inc(2);
    assert.deepEqual(
      [0, 1, 2].map((i) => c.getOn(i)),
      [3, 3, 42],
    );
    assert.equal(c.sum(), 48);
    c.zero();
    assert.equal(c.sum(), 0);
  });
});

test('DPCPU module space exhaustion is ENOSPC', async () => {
  const m = KLD('pcbig', [], (o) => {
    DPCPU_DEFINE_BYTES(o, 'pcbig_area', bytes(DPCPU_MODMIN + 8));
    MODULE_VERSION(o, 'pcbig', 1);
  });
  const k = bootWithModules([m]);
  await assert.rejects(
    kldload(k, 'pcbig'),
    (e: unknown) => e instanceof LinkerError && e.errno === ENOSPC,
  );
  assert.equal(k.dpcpu_modspace.avail, DPCPU_MODMIN);
});

test('counter(9): updates touch only the running CPU; fetch sums; VNET_PCPUSTAT per vnet', async () => {
  const layout = counterStruct('teststat', ['ts_in', 'ts_out', 'ts_drop']);
  const acc: { s?: VnetPcpuStat } = {};
  const m = KLD('ts', [], (o) => {
    acc.s = VNET_PCPUSTAT_DEFINE(o, 'teststat', layout);
    MODULE_VERSION(o, 'ts', 1);
  });
  const k = bootWithModules([m], {}, { ncpu: 2 });
  await kldload(k, 'ts');
  const s = acc.s!;
  k.enter(() => {
    const saved = CURVNET_SET(k.vnet0);
    const f_out = s.field('ts_out');
    s.inc(f_out);
    cpu_load_pcpu(1, k.pcpu[1]!.pc_dyn!);
    s.add(f_out, 2 ** 32 + 5); // carries into the high word
    s.inc(s.field('ts_drop'));
    assert.equal(s.fetch(f_out), 2 ** 32 + 6);
    assert.equal(k.zpcpu.fetchCpu(s.counter(f_out), 0), 1);
    assert.equal(k.zpcpu.fetchCpu(s.counter(f_out), 1), 2 ** 32 + 5);
    assert.deepEqual(s.fetchAll(), { ts_in: 0, ts_out: 2 ** 32 + 6, ts_drop: 1 });
    counter_u64_add(s.counter(s.field('ts_in')), 7);
    assert.equal(s.fetch(s.field('ts_in')), 7);
    // A sum past the low word by more than one carry, then a borrow back below it.
    s.add(s.field('ts_in'), 3 * 2 ** 32 + 2);
    assert.equal(s.fetch(s.field('ts_in')), 3 * 2 ** 32 + 9);
    s.add(s.field('ts_in'), -10);
    assert.equal(s.fetch(s.field('ts_in')), 3 * 2 ** 32 - 1);
    assert.equal(k.zpcpu.fetchCpu(s.counter(s.field('ts_in')), 0), 0);
    s.zero();
    assert.deepEqual(s.fetchAll(), { ts_in: 0, ts_out: 0, ts_drop: 0 });
    CURVNET_RESTORE(saved);
  });
});
