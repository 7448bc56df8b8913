/*
 * kern/subr_random.ts — the kernel's seeded random number generator.
 *
 * FreeBSD feeds arc4random(9) and random(9) from the entropy device.  Here every
 * random number the kernel uses (ISNs, ephemeral ports, IP ids, MAC addresses, pids if
 * randomised) comes from one xoshiro128** generator per kernel, seeded at boot from the
 * `seed` boot option through splitmix32, so two boots with the same seed make the same
 * choices in the same order.  Math.random is forbidden in the kernel (eslint).
 *
 * Deliberate difference: not cryptographically secure.  A kernel talking to real peers
 * should be booted with a seed from the host (host/clock.ts host_entropy_seed).
 */

import { curkernel } from './kern_cur.js';

/** Default seed when the boot options give none (deterministic by default). */
export const DEFAULT_SEED = 0x5eed;

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  constructor(readonly seed: number) {
    this.reseed(seed);
  }

  /** Re-seed: four words of splitmix32 output (never all zero). */
  reseed(seed: number): void {
    let x = seed >>> 0;
    const sm = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.s0 = sm();
    this.s1 = sm();
    this.s2 = sm();
    this.s3 = sm();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** xoshiro128**: the next 32-bit unsigned value. */
  next(): number {
    const s1 = this.s1;
    const m = Math.imul(s1, 5);
    const r = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return r;
  }

  /** A uniform value in [0, n) without modulo bias (arc4random_uniform). */
  uniform(n: number): number {
    if (n < 2) return 0;
    const min = (0x100000000 - n) % n;
    for (;;) {
      const r = this.next();
      if (r >= min) return r % n;
    }
  }

  /** Fill a buffer with random bytes (arc4random_buf). */
  fill(buf: Uint8Array): void {
    for (let i = 0; i < buf.length; i += 4) {
      const r = this.next();
      for (let j = 0; j < 4 && i + j < buf.length; j++) buf[i + j] = (r >>> (8 * j)) & 0xff;
    }
  }
}

/** arc4random(9): 32 random bits from the running kernel's generator. */
export function arc4random(): number {
  return curkernel().rng.next();
}

/** arc4random_uniform(9) */
export function arc4random_uniform(n: number): number {
  return curkernel().rng.uniform(n);
}

/** arc4random_buf(9) */
export function arc4random_buf(buf: Uint8Array): void {
  curkernel().rng.fill(buf);
}

/** random(9): 31 random bits. */
export function random(): number {
  return curkernel().rng.next() >>> 1;
}
