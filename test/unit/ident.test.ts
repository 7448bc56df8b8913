import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { ident_scan } from '../../src/usr.bin/ident.js';

const here = fileURLToPath(import.meta.url);

test('ident finds our keyword and keeps vendor $Id$ strings byte for byte', () => {
  const file = join(here, '..', '..', 'fixtures', 'kmod_hello.js');
  const ids = ident_scan(new Uint8Array(readFileSync(file)));
  assert.deepEqual(ids, [
    '$Vimage: test/fixtures/kmod_hello.ts $',
    '$Id: hello.c,v 1.3 1998/02/11 09:12:33 vendor Exp $',
  ]);
});

test('ident ignores unexpanded and malformed keywords', () => {
  const s = 'a $Id$ b $Vimage$ c $Foo:no-space$ d $Bar: multi\nline $ e $Baz: ok $';
  assert.deepEqual(ident_scan(new TextEncoder().encode(s)), ['$Baz: ok $']);
});

test('vimage ident prints idents and fails for a missing file', () => {
  const cli = join(here, '..', '..', '..', 'src', 'bin', 'vimage.js');
  const fix = join(here, '..', '..', 'fixtures', 'kmod_hello.js');
  const r = spawnSync(process.execPath, [cli, 'ident', fix, '/nonexistent/x.ko'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 1);
  assert.match(
    r.stdout,
    /kmod_hello\.js:\n {5}\$Vimage: test\/fixtures\/kmod_hello\.ts \$\n {5}\$Id: hello\.c,v 1\.3/,
  );
  assert.match(r.stderr, /ident: \/nonexistent\/x\.ko: No such file or directory/);
});

test('the kernel report lists each kernel object with its ident', () => {
  const cli = join(here, '..', '..', '..', 'src', 'bin', 'vimage.js');
  const g = spawnSync(process.execPath, [cli, 'report'], { encoding: 'utf8' });
  assert.equal(g.status, 0);
  assert.match(g.stdout, /GENERIC/);
  assert.match(g.stdout, /VIMAGE \(virtualized network stack\) enabled/);
  assert.match(g.stdout, /\$Vimage: src\/net\/vnet\.ts \$/);
  const n = spawnSync(process.execPath, [cli, '-k', 'NOVIMAGE', 'report'], {
    encoding: 'utf8',
  });
  assert.equal(n.status, 0);
  assert.match(n.stdout, /VIMAGE not configured/);
  const bad = spawnSync(process.execPath, [cli, '-k', 'NOSUCH', 'report'], {
    encoding: 'utf8',
  });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /unknown kernel configuration NOSUCH/);
});
