/*
 * bench/thread_switch.ts — a thread switch: sleep/wakeup ping-pong between two kernel
 * threads, against a plain awaited async function call measured in the same run.
 *
 * One operation is one switch (a thread wakes its peer and sleeps; the peer runs):
 * tsleep records the context (a captured Error), hands the processor off through the
 * run queue and awaits; the woken thread reloads its registers.  The baseline is
 * `await f()` of an async function that returns at once — the cheapest possible
 * "resume another continuation" in Node.  Virtual clock, GENERIC kernel.
 * Measured twice: as booted (every switch captures the JS stack for the debugger's
 * `trace <tid>`, which dominates the cost), and with that capture off.
 * Goals (chosen here): with capture, at most 100 plain async calls per switch (ratio
 * >= 0.01); without, at most 20 (>= 0.05).
 */

import { boot } from '../src/kern/boot.js';
import { tsleep, wakeup } from '../src/kern/kern_synch.js';
import { report } from './lib.js';

const N = 100_000;
const ROUNDS = 5;

async function pingpong(n: number, capture: boolean): Promise<number> {
  const k = boot({ kernconf: 'GENERIC' });
  k.sched.pcb_capture = capture;
  await k.run_until_idle(); // let the kernel's own threads go to sleep
  const a = { name: 'ping' };
  const b = { name: 'pong' };
  let stop = false;
  k.kthread_add('pong', async () => {
    while (!stop) {
      await tsleep(b, 0, 'pong', 0);
      wakeup(a);
    }
  });
  k.kthread_add('ping', async () => {
    await Promise.resolve();
    for (let i = 0; i < n; i++) {
      wakeup(b);
      await tsleep(a, 0, 'ping', 0);
    }
    stop = true;
    wakeup(b);
  });
  const t0 = process.hrtime.bigint();
  await k.run_until_idle();
  const ns = Number(process.hrtime.bigint() - t0);
  return ns / (2 * n); // ns per switch
}

async function plain(n: number): Promise<number> {
  let acc = 0;
  const f = async (i: number): Promise<number> => i & 1;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) acc += await f(i);
  const ns = Number(process.hrtime.bigint() - t0);
  if (acc < 0) console.log(acc);
  return ns / n;
}

async function median(fn: (n: number) => Promise<number>, n: number): Promise<number> {
  await fn(Math.min(n, 10000));
  const t: number[] = [];
  for (let r = 0; r < ROUNDS; r++) t.push(await fn(n));
  t.sort((x, y) => x - y);
  return t[t.length >> 1]!;
}

// Alternate so that machine noise spreads over both.
const sw: number[] = [];
const sn: number[] = [];
const pl: number[] = [];
for (let r = 0; r < 3; r++) {
  sw.push(await median((n) => pingpong(n, true), N));
  sn.push(await median((n) => pingpong(n, false), N));
  pl.push(await median(plain, 2 * N));
}
for (const a of [sw, sn, pl]) a.sort((x, y) => x - y);
const swOps = 1e9 / sw[1]!;
const snOps = 1e9 / sn[1]!;
const plOps = 1e9 / pl[1]!;

report('thread_switch', [
  {
    name: 'thread switch (sleep/wakeup ping-pong)',
    value: Math.round(swOps),
    unit: 'ops/s',
    baseline: Math.round(plOps),
    baselineName: 'plain async function call (await f())',
    ratio: swOps / plOps,
    goal: '>= 0.01',
  },
  {
    name: 'thread switch without the saved JS stack (k.sched.pcb_capture = false)',
    value: Math.round(snOps),
    unit: 'ops/s',
    baseline: Math.round(plOps),
    baselineName: 'plain async function call (await f())',
    ratio: snOps / plOps,
    goal: '>= 0.05',
  },
]);
