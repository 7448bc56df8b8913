/*
 * bench/lib.ts — shared benchmark plumbing.
 *
 * Every benchmark measures its baseline in the same run, prints ratios, and writes
 * bench/results/NAME.json: {"node", "machine", "figures": [{name, value, unit, baseline,
 * baselineName, ratio, goal}]} where goal is a comparison on the ratio (">= 2.0").
 * Benchmarks are never run by the tests.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline: number | null;
  baselineName: string;
  ratio: number | null;
  goal: string;
}

export function machine(): string {
  const c = cpus();
  return `${c.length} x ${c[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB`;
}

/** Does a ratio meet a goal such as ">= 2.0" or "<= 1.10"? */
export function meets(ratio: number | null, goal: string): boolean | null {
  if (ratio === null) return null;
  const m = /^(<=|>=|<|>)\s*([0-9.]+)$/.exec(goal.trim());
  if (!m) return null;
  const g = Number(m[2]);
  switch (m[1]) {
    case '<=':
      return ratio <= g;
    case '>=':
      return ratio >= g;
    case '<':
      return ratio < g;
    default:
      return ratio > g;
  }
}

export function report(name: string, figures: Figure[]): void {
  const out = { node: process.version, machine: machine(), figures };
  const dir = join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(out, null, 2) + '\n');
  console.log(`\n${name} (${out.node}, ${out.machine})`);
  for (const f of figures) {
    const ok = meets(f.ratio, f.goal);
    console.log(
      `  ${f.name}: ${fmt(f.value)} ${f.unit}` +
        (f.baseline !== null
          ? `  vs ${f.baselineName} ${fmt(f.baseline)} ${f.unit}`
          : `  (${f.baselineName})`) +
        (f.ratio !== null ? `  ratio ${f.ratio.toFixed(3)}` : '') +
        `  goal ${f.goal}${ok === null ? '' : ok ? '  [met]' : '  [NOT met]'}`,
    );
  }
  console.log(`  -> bench/results/${name}.json`);
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(4);
}

/** Median of several timed rounds (ns per op) of fn(n). */
export function timeit(fn: (n: number) => void, n: number, rounds = 7): number {
  fn(Math.min(n, 10000)); // warm up
  const t: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    fn(n);
    t.push(Number(process.hrtime.bigint() - t0) / n);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1]!;
}
