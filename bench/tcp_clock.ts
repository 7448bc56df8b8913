/*
 * bench/tcp_clock.ts — what the real clock costs TCP: one bulk stream between two vnets
 * over an epair (MTU 1500) in a kernel on the real clock (host time: the console's, and
 * a real peer's), against the same in a kernel on the virtual clock, in the same run.
 *
 * Two kernels, each with bench/lib/tcp_round.ts's lab (jails a and b joined by epair0,
 * static ARP entries); the real one with net.inet.tcp.msl at 5 ms in both vnets, so a
 * round's TIME_WAIT ends 10 ms of host time after it.  A round moves TOTAL bytes over a
 * new connection in 64 KiB writes and reads, as bench/tcp.ts's epair rounds; it is timed
 * from spawning the two processes until the receiver has read EOF (the real kernel
 * still has its TIME_WAIT to run out after that).  The two alternate, each from a
 * collected heap: WARMUP rounds each, then ROUNDS; the figure is the ratio of the
 * medians.
 *
 * The real clock reads host time (process.hrtime, some 60 ns a call) and keeps a host
 * timer armed for the earliest callout.  TCP asks for `ticks` several times a segment
 * and re-arms a retransmission timer with every ACK: with a host read for each and a
 * host timer re-armed for each, the real kernel ran at 0.6 of the virtual one.  Since
 * `ticks` is the coarse time of the last clock interrupt (Clock.coarse) and the host
 * timer is re-armed only for an earlier deadline, it is 0.85-0.95.  Goal: >= 0.75.
 */

import { MiB, TOTAL, gc, lab, vimage, type Lab, type Result } from './lib/tcp_round.js';
import { ip } from '../test/lib/inet_lab.js';
import { report } from './lib.js';

const WARMUP = 4;
const ROUNDS = 11;

const LV = lab('virtual');
const LR = lab('real');
const epair = (L: Lab): Promise<Result> => {
  gc();
  return vimage(L, L.pa, L.va, L.pb, L.vb, ip('192.0.2.2'));
};

for (let i = 0; i < WARMUP; i++) {
  await epair(LV);
  await epair(LR);
}
const virt: number[] = [];
const real: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  virt.push((await epair(LV)).rateEof);
  real.push((await epair(LR)).rateEof);
}
/* Nothing is left armed on the real clock; this is in case (a host timer would keep
 * the process alive). */
LR.k.clock.shutdown();

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const v = median(virt);
const r = median(real);
console.log(
  `tcp_clock: ${ROUNDS} rounds of ${TOTAL / MiB} MiB over the epair: virtual clock ` +
    `${(v / MiB).toFixed(1)} MiB/s, real clock ${(r / MiB).toFixed(1)} MiB/s`,
);
report('tcp_clock', [
  {
    name:
      `tcp bulk ${TOTAL / MiB} MiB, one stream between two vnets over epair (MTU 1500), ` +
      `kernel on the real clock, until the receiver reads EOF`,
    value: Math.round(r),
    unit: 'bytes/s',
    baseline: Math.round(v),
    baselineName: 'the same in a kernel on the virtual clock, same run',
    ratio: r / v,
    goal: '>= 0.75',
  },
]);
process.exit(0);
