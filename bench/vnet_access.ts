/*
 * bench/vnet_access.ts — read+increment of a virtualized u_int counter.
 *
 * The same module variable (relocated into module space) in a GENERIC kernel with
 * curvnet set (read through the processor registers: the current vnet's region), in a
 * NOVIMAGE kernel (bound by the linker to the one region: no indirection), and a plain
 * JavaScript property as the baseline.
 * Goals (issue 2): VIMAGE at most 1.10x NOVIMAGE; NOVIMAGE at most 1.05x plain.
 * Rounds alternate between the three so that machine noise spreads evenly.
 */

import { boot } from '../src/kern/boot.js';
import { KLD, MODULE_VERSION } from '../src/sys/module.js';
import { CURVNET_SET, VNET_DEFINE_U32, type VnetU32 } from '../src/net/vnet.js';
import type { Kernel } from '../src/kern/kernel.js';
import { report, timeit } from './lib.js';

async function kernelWith(conf: string): Promise<{ k: Kernel; v: VnetU32 }> {
  const acc: { v?: VnetU32 } = {};
  const img = KLD('bench_counter', [], (o) => {
    acc.v = VNET_DEFINE_U32(o, 'bench_counter', 0);
    MODULE_VERSION(o, 'bench_counter', 1);
  });
  const k = boot({ kernconf: conf });
  await k.enterAsync(() =>
    k.linker.load_file(img, 'bench_counter.ko', '/boot/kernel/bench_counter.ko'),
  );
  return { k, v: acc.v! };
}

const N = 20_000_000;
const gen = await kernelWith('GENERIC');
const nov = await kernelWith('NOVIMAGE');
const plain = { count: 0 };

function incPlain(n: number): void {
  for (let i = 0; i < n; i++) plain.count = (plain.count + 1) >>> 0;
}
// One loop per kernel, as in real code each call site sees one accessor: sharing a loop
// between the two would measure V8's polymorphic inline caches, not the accessors.
function incGen(n: number): void {
  const v = gen.v;
  for (let i = 0; i < n; i++) v.inc();
}
function incNov(n: number): void {
  const v = nov.v;
  for (let i = 0; i < n; i++) v.inc();
}

const samples = { plain: [] as number[], nov: [] as number[], gen: [] as number[] };
for (let round = 0; round < 5; round++) {
  samples.plain.push(timeit(incPlain, N, 3));
  nov.k.load_registers();
  samples.nov.push(timeit(incNov, N, 3));
  gen.k.load_registers();
  CURVNET_SET(gen.k.vnet0);
  samples.gen.push(timeit(incGen, N, 3));
}
const med = (a: number[]): number => a.sort((x, y) => x - y)[a.length >> 1]!;
const tPlain = med(samples.plain);
const tNov = med(samples.nov);
const tGen = med(samples.gen);

report('vnet_access', [
  {
    name: 'VIMAGE read+increment',
    value: tGen,
    unit: 'ns/op',
    baseline: tNov,
    baselineName: 'NOVIMAGE read+increment',
    ratio: tGen / tNov,
    goal: '<= 1.10',
  },
  {
    name: 'NOVIMAGE read+increment',
    value: tNov,
    unit: 'ns/op',
    baseline: tPlain,
    baselineName: 'plain JS property',
    ratio: tNov / tPlain,
    goal: '<= 1.05',
  },
]);
