/*
 * test/lib/rng.ts — xorshift32 (Marsaglia 2003), the seeded generator the unit tests,
 * fuzzers and benchmarks share: tests never use Math.random, so a failure repeats with
 * its seed.
 */

/** A generator of 32-bit unsigned values from `seed` (0 is taken as 1). */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
