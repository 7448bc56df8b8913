#!/usr/bin/env node
// Runs the compiled test suite with node's test runner, twice: first on a GENERIC
// (options VIMAGE) kernel, then on a NOVIMAGE kernel for every test file that does not
// need several vnets (files that mention VIMAGE_ONLY are skipped in the second pass).
// Each pass prints node's own summary; the exit status is non-zero if either failed.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, out = []) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) find(p, out);
    else if (p.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = find('dist/test').sort();
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
const novimage = files.filter((f) => !readFileSync(f, 'utf8').includes('VIMAGE_ONLY'));

function pass(kernconf, list) {
  if (list.length === 0) return 0;
  console.log(`\n=== kernel ${kernconf}: ${list.length} test files ===`);
  const r = spawnSync(
    process.execPath,
    ['--enable-source-maps', '--test', '--test-concurrency=2', ...list],
    { stdio: 'inherit', env: { ...process.env, VIMAGE_KERNEL: kernconf } },
  );
  return r.status ?? 1;
}

const a = pass('GENERIC', files);
const b = pass('NOVIMAGE', novimage);
process.exit(a || b ? 1 : 0);
