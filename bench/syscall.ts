/*
 * bench/syscall.ts — the cost of entering the kernel.
 *
 * Round trips per second, each measured against a plain `await` of an async function
 * in the same run (the cheapest thing a user thread written as an async function can
 * do; the ratio is the fraction of that rate a syscall achieves):
 *
 *   1. ioctl(fd, FIONBIO, &one) on /dev/null through libc — the buffer is bounced through
 *      user memory (map, copy in, copy back, unmap), the full C-like path;
 *   2. the same ioctl with a pointer the program already holds (malloc'd once): the
 *      kernel path alone — trapframe, registers, copyin, kern_ioctl, fo_ioctl;
 *   3. ioctl(fd, SIOCGIFFLAGS, ...) on /dev/null, which fails with ENOTTY after a copyin
 *      of 32 bytes (informational; goal >= 0.05);
 *   4. getpid().
 *
 * Goal (issue 3): a no-op ioctl at least a tenth as fast as an async call (ratio >= 0.1).
 */

import { boot } from '../src/kern/boot.js';
import { FIONBIO, SIOCGIFFLAGS } from '../src/sys/sockio.js';
import { O_RDWR } from '../src/sys/fcntl.js';
import { userproc } from '../test/lib/proc.js';
import { report, type Figure } from './lib.js';

async function timeAsync(fn: (n: number) => Promise<void>, n: number, rounds = 7): Promise<number> {
  await fn(Math.min(n, 20000)); /* warm up */
  const t: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    await fn(n);
    t.push(Number(process.hrtime.bigint() - t0) / n);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1]!; /* ns per op */
}

const k = boot({ kernconf: 'GENERIC' });
const { libc } = userproc(k, { comm: 'bench' });
const fd = await libc.open('/dev/null', O_RDWR);
if (fd < 0) throw new Error(`open /dev/null: ${libc.strerror()}`);
const one = new Uint8Array(4);
one[0] = 1;
const held = libc.malloc(4)!;
held.buf[0] = 1;
const ifr = new Uint8Array(32);

let sink = 0;
async function plain(x: number): Promise<number> {
  return x + 1;
}

const N = 200000;
const baseNs = await timeAsync(async (n) => {
  for (let i = 0; i < n; i++) sink += await plain(i);
}, N);
const bounceNs = await timeAsync(async (n) => {
  for (let i = 0; i < n; i++) sink += await libc.ioctl(fd, FIONBIO, one);
}, N);
const heldNs = await timeAsync(async (n) => {
  for (let i = 0; i < n; i++) sink += await libc.ioctl(fd, FIONBIO, held.addr);
}, N);
const enottyNs = await timeAsync(async (n) => {
  for (let i = 0; i < n; i++) sink += await libc.ioctl(fd, SIOCGIFFLAGS, ifr);
}, N);
const getpidNs = await timeAsync(async (n) => {
  for (let i = 0; i < n; i++) sink += await libc.getpid();
}, N);
if (sink === 0.5) console.log(sink);

const baseOps = 1e9 / baseNs;
const fig = (name: string, ns: number, goal: string): Figure => {
  const ops = 1e9 / ns;
  return {
    name,
    value: ops,
    unit: 'ops/s',
    baseline: baseOps,
    baselineName: 'await of a plain async function',
    ratio: ops / baseOps,
    goal,
  };
};

report('syscall', [
  fig('ioctl(FIONBIO) on /dev/null via libc (bounced buffer)', bounceNs, '>= 0.1'),
  fig('ioctl(FIONBIO) on /dev/null, user pointer held', heldNs, '>= 0.1'),
  fig('ioctl(SIOCGIFFLAGS) on /dev/null -> ENOTTY', enottyNs, '>= 0.05'),
  fig('getpid()', getpidNs, '>= 0.1'),
]);
