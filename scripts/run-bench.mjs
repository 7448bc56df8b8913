#!/usr/bin/env node
// npm run bench [NAME...]: runs dist/bench/NAME.js (all when no name is given), each in
// its own process with --expose-gc, from the repository root.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const all = readdirSync('dist/bench')
  .filter((f) => f.endsWith('.js') && f !== 'lib.js')
  .map((f) => f.slice(0, -3))
  .sort();
const want = process.argv.slice(2);
const run = want.length ? want : all;
let rc = 0;
for (const name of run) {
  if (!all.includes(name)) {
    console.error(`bench: no benchmark named ${name} (have: ${all.join(', ')})`);
    rc = 2;
    continue;
  }
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--enable-source-maps', `dist/bench/${name}.js`],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) rc = r.status ?? 1;
}
process.exit(rc);
