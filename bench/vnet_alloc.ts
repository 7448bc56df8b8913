/*
 * bench/vnet_alloc.ts — the cost of a vnet.
 *
 * 1. vnet_alloc + vnet_destroy per pair, against creating and deleting a Linux network
 *    namespace (`ip netns add/delete`) measured in the same run when this machine allows
 *    it (root, iproute2).  Goal (issue 2): at most 50 us per pair, i.e. at least 20x
 *    cheaper than a namespace.
 * 2. Heap bytes per idle vnet with 10,000 vnets alive (JS heap, ArrayBuffer memory and
 *    the physical memory of the data regions, after a GC), against VNET_SIZE of the booted kernel (its data region alone).
 *    Goal: at most 64 KiB, i.e. at most 2x the 32 KiB region.
 */

import { spawnSync } from 'node:child_process';
import { boot } from '../src/kern/boot.js';
import { vnet_alloc, vnet_destroy, type Vnet } from '../src/net/vnet.js';
import { physmem_avail } from '../src/host/physmem.js';
import { report, type Figure } from './lib.js';

const gc = (globalThis as { gc?: () => void }).gc;
const k = boot({ kernconf: 'GENERIC' });

// 1. alloc + destroy pairs.
const PAIRS = 20000;
k.enter(() => {
  for (let i = 0; i < 2000; i++) vnet_destroy(vnet_alloc());
});
const t0 = process.hrtime.bigint();
k.enter(() => {
  for (let i = 0; i < PAIRS; i++) vnet_destroy(vnet_alloc());
});
const pairUs = Number(process.hrtime.bigint() - t0) / PAIRS / 1000;

function netnsPairUs(): number | null {
  const name = `vimage-bench-${process.pid}`;
  const ROUNDS = 20;
  const t = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) {
    const a = spawnSync('ip', ['netns', 'add', `${name}-${i}`]);
    if (a.status !== 0) return null;
    spawnSync('ip', ['netns', 'delete', `${name}-${i}`]);
  }
  return Number(process.hrtime.bigint() - t) / ROUNDS / 1000;
}
const nsUs = netnsPairUs();

// 2. heap per idle vnet.
const N = 10000;
gc?.();
const heap0 = process.memoryUsage();
const phys0 = physmem_avail();
const vnets: Vnet[] = k.enter(() => Array.from({ length: N }, () => vnet_alloc()));
gc?.();
const heap1 = process.memoryUsage();
const phys1 = physmem_avail();
// JS heap + off-heap buffers + the physical memory the vnets' data regions took.
const perVnet =
  (heap1.heapUsed - heap0.heapUsed + (heap1.arrayBuffers - heap0.arrayBuffers) + (phys0 - phys1)) /
  N;
k.enter(() => vnets.forEach(vnet_destroy));
vnets.length = 0;

const figures: Figure[] = [
  {
    name: 'vnet_alloc+vnet_destroy pair',
    value: pairUs,
    unit: 'us',
    baseline: nsUs,
    baselineName: nsUs === null ? 'ip netns add/delete (unavailable here)' : 'ip netns add+delete',
    ratio: nsUs === null ? null : nsUs / pairUs,
    goal: '>= 20',
  },
  {
    name: 'heap bytes per idle vnet (10,000 vnets)',
    value: perVnet,
    unit: 'bytes',
    baseline: k.image.vnet_size,
    baselineName: 'VNET_SIZE of this kernel (the data region alone)',
    ratio: perVnet / k.image.vnet_size,
    goal: '<= 2.0',
  },
];
report('vnet_alloc', figures);
