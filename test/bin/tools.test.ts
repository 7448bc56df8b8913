// The tools that need no network stack, run through the shell: sysctl, kldstat, uname,
// hostname, sha256/md5, dd, grep/head/tail/wc/sort/uniq/tee, ident, ddb — output in
// FreeBSD's formats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, tempRoot } from '../lib/sh.js';
import { OSRELEASE } from '../../src/sys/param.js';
import { kdb_state } from '../../src/kern/subr_kdb.js';
import { bootWithModules } from '../lib/kmods.js';
import hello from '../fixtures/kmod_hello.js';

test('sysctl: NAME, -n, unknown oid, NAME=VALUE, read-only, -d, subtree, -a', async () => {
  const r = await sh(
    'sysctl kern.ostype; sysctl -n kern.osrelease; sysctl nosuch.oid; echo $?; ' +
      'sysctl kern.hostname=lab1; hostname; sysctl kern.ostype=x; echo $?; sysctl -d kern.ostype; ' +
      'sysctl hw.ncpu; sysctl kern.hostname=; sysctl -n kern.osreldate | grep -c "^[0-9][0-9]*$"',
  );
  assert.equal(
    r.out,
    `kern.ostype: vimage\n${OSRELEASE}\n1\nkern.hostname: vimage -> lab1\nlab1\n1\n` +
      `kern.ostype: Operating system type\nhw.ncpu: ${r.k.mp_ncpus}\nkern.hostname: lab1 -> \n1\n`,
  );
  assert.equal(r.err, "sysctl: unknown oid 'nosuch.oid'\nsysctl: oid 'kern.ostype' is read only\n");
  const sub = await sh(
    'sysctl kern | grep -c "^kern\\."; sysctl -a | grep -c "^hw.ncpu: "; sysctl -a | wc -l',
  );
  const [nkern, nhw, nall] = sub.out.trim().split(/\s+/).map(Number);
  assert.ok(nkern! >= 5, sub.out);
  assert.equal(nhw, 1);
  assert.ok(nall! > nkern!, sub.out);
});

test('kldload, kldstat (FreeBSD table; -v lists the modules), kldunload', async () => {
  const k = bootWithModules([hello]);
  const r = await sh(
    'kldload -v kmod_hello; kldload kmod_hello; echo $?; kldstat; kldstat -v -n kmod_hello; ' +
      'kldunload -v kmod_hello; kldunload nosuch; echo $?; kldstat | wc -l',
    { kernel: k },
  );
  const lines = r.out.split('\n');
  assert.match(lines[0]!, /^Loaded kmod_hello, id=2$/);
  assert.equal(lines[1], '1');
  assert.equal(lines[2], 'Id Refs Address                Size Name');
  assert.match(lines[3]!, /^ 1 +\d+ +0x[0-9a-f]+ +[0-9a-f]+ kernel$/);
  // The address column is 18 wide and the size column 8, as FreeBSD's %*p and %*zx.
  assert.equal(lines[4]!.length - ' kmod_hello.ko'.length, 2 + 1 + 4 + 1 + 18 + 1 + 8);
  assert.match(lines[4]!, /^ 2 +1 +0x[0-9a-f]+ +[0-9a-f]+ kmod_hello\.ko$/);
  assert.match(
    r.out,
    /kmod_hello\.ko \(\/boot\/kernel\/kmod_hello.ko\)\n\tContains modules:\n\t\t Id Name\n\t\t +\d+ kmod_hello\n/,
  );
  assert.match(r.out, /Unloading kmod_hello\.ko, id=2\n1\n {7}2\n$/);
  assert.match(r.err, /kldload: can't load kmod_hello: module already loaded or in kernel/);
  assert.match(r.err, /kldunload: can't find file nosuch/);
});

test('kldstat -v: the kernel lists its compiled-in modules; a loaded file is mapped after it', async () => {
  const r = await sh('kldload cc_cubic; kldstat -v; kldload if_epair; echo $?');
  assert.match(
    r.out,
    /kernel \(\/boot\/kernel\/kernel\)\n\tContains modules:\n\t\t Id Name\n(\t\t +\d+ \S+\n)+/,
  );
  const kmods =
    /kernel \(\/boot\/kernel\/kernel\)\n\tContains modules:\n\t\t Id Name\n((?:\t\t +\d+ \S+\n)+)/
      .exec(r.out)![1]!
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/ +/)[1])
      .sort();
  assert.deepEqual(kmods, ['ether', 'if_bridge', 'if_epair', 'if_lo', 'if_vxlan', 'newreno']);
  // Addresses and sizes: the kernel at KERNBASE, cc_cubic.ko right after its text.
  const row = (name: string): [number, number] => {
    const m = new RegExp(
      `^ *\\d+ +\\d+ +0x([0-9a-f]+) +([0-9a-f]+) ${name.replace('.', '\\.')} `,
      'm',
    ).exec(r.out);
    assert.ok(m, name);
    return [parseInt(m[1]!, 16), parseInt(m[2]!, 16)];
  };
  const [ka, ks] = row('kernel');
  const [ca, cs] = row('cc_cubic.ko');
  assert.equal(ka, 0xffff80000000);
  assert.ok(cs > 0, 'a loaded file has a size');
  assert.ok(ca >= ka + ks, 'after the kernel');
  // A module compiled into the kernel cannot be loaded again.
  assert.match(r.err, /kldload: can't load if_epair: module already loaded or in kernel/);
  assert.match(r.out, /\n1\n$/);
});

test('uname and hostname', async () => {
  const r = await sh('uname; uname -s; uname -r; uname -m; uname -a; uname -v');
  const v = `vimage ${OSRELEASE} #0: ${r.k.ident}`;
  assert.equal(
    r.out,
    `vimage\nvimage\n${OSRELEASE}\namd64\nvimage vimage ${OSRELEASE} ${v} amd64\n${v}\n`,
  );
});

test('sha256 and md5 of known strings, files and stdin', async () => {
  const t = tempRoot();
  try {
    writeFileSync(join(t.dir, 'abc'), 'abc');
    const r = await sh(
      'echo -n abc | sha256; sha256 abc; echo -n abc | md5; md5 abc; md5 -s abc; sha256 -q abc; md5 nosuch; echo $?',
      { root: t.dir },
    );
    assert.equal(
      r.out,
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n' +
        'SHA256 (abc) = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n' +
        '900150983cd24fb0d6963f7d28e17f72\n' +
        'MD5 (abc) = 900150983cd24fb0d6963f7d28e17f72\n' +
        'MD5 ("abc") = 900150983cd24fb0d6963f7d28e17f72\n' +
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n1\n',
    );
    assert.equal(r.err, 'md5: nosuch: No such file or directory\n');
  } finally {
    t.cleanup();
  }
});

test('dd: records, bytes, /dev/zero and the seeded /dev/urandom', async () => {
  const t = tempRoot();
  try {
    const r = await sh(
      'dd if=/dev/zero of=z bs=1k count=3; wc -c < z; dd if=/dev/urandom bs=16 count=2 2>/dev/null | sha256',
      { root: t.dir },
    );
    assert.equal(
      r.err,
      '3+0 records in\n3+0 records out\n3072 bytes transferred in 0.000000 secs (3072000000 bytes/sec)\n',
    );
    const [wc, h1] = r.out.trim().split('\n');
    assert.equal(wc!.trim(), '3072');
    // Same seed, same bytes.
    const r2 = await sh('dd if=/dev/urandom bs=16 count=2 2>/dev/null | sha256', { root: t.dir });
    assert.equal(r2.out.trim(), h1);
    const part = await sh('echo hello | dd bs=4 2>&1 >/dev/null | head -n 2');
    assert.equal(part.out, '1+1 records in\n1+1 records out\n');
  } finally {
    t.cleanup();
  }
});

test('grep, head, tail, wc, sort, uniq, tee', async () => {
  const t = tempRoot();
  try {
    writeFileSync(join(t.dir, 'f'), 'banana\napple\nCherry\napple\n10\n9\n');
    const r = await sh(
      'grep an f; grep -c apple f; grep -v a f | head -n 1; grep -i cherry f; grep -q zzz f; echo $?; ' +
        'grep -E "^(9|10)$" f | wc -l; grep "a\\{2\\}" f; grep "an\\(an\\)" f; ' +
        'head -n 2 f; tail -n 2 f; tail -1 f; wc f; wc -l < f; ' +
        'sort f | head -n 3; sort -n f | tail -n 2; sort -r -u f | head -n 2; sort f | uniq -c | head -n 2; ' +
        'echo tee-me | tee t1 > /dev/null; cat t1',
      { root: t.dir },
    );
    assert.equal(
      r.out,
      [
        'banana',
        '2',
        'Cherry',
        'Cherry',
        '1',
        '       2',
        'banana',
        'banana',
        'apple',
        '10',
        '9',
        '9',
        '       6       6      31 f',
        '       6',
        '10',
        '9',
        'Cherry',
        '9',
        '10',
        'banana',
        'apple',
        '   1 10',
        '   1 9',
        'tee-me',
        '',
      ].join('\n'),
    );
  } finally {
    t.cleanup();
  }
});

test('ident reads files through open/read', async () => {
  const t = tempRoot();
  try {
    writeFileSync(join(t.dir, 'm.c'), 'x $Id: m.c,v 1.1 2026/01/01 $ y $FreeBSD: src/m.c 1 $\n');
    const r = await sh('ident m.c; ident nosuch; echo $?', { root: t.dir });
    assert.equal(r.out, 'm.c:\n     $Id: m.c,v 1.1 2026/01/01 $\n     $FreeBSD: src/m.c 1 $\n1\n');
    assert.equal(r.err, 'ident: nosuch: No such file or directory\n');
  } finally {
    t.cleanup();
  }
});

test('ddb: script, scripts, unscript, enter (scripts drive the debugger)', async () => {
  const r = await sh(
    'ddb script kdb.enter.sysctl="show threads; continue"; ddb scripts; ddb enter; echo $?; ' +
      'ddb unscript kdb.enter.sysctl; ddb scripts | wc -l; ddb bogus; echo $?',
  );
  assert.equal(r.out, 'kdb.enter.sysctl=show threads; continue\n0\n       0\n64\n');
  assert.match(r.err, /usage: ddb script/);
  assert.equal(kdb_state(r.k).entries, 1);
  assert.ok(r.k.msgbuf.some((l) => l.includes('KDB: enter: sysctl debug.kdb.enter')));
});

test('jail -c/-r, jls, jexec: processes in a jail see its root, hostname and vnet', async () => {
  const t = tempRoot();
  try {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(t.dir, 'j1'));
    writeFileSync(join(t.dir, 'j1', 'inside'), 'in\n');
    const probe = await sh('true', { root: t.dir });
    const vnet = probe.k.vimage ? 'vnet' : 'novnet';
    const r = await sh(
      `jail -c name=j1 ${vnet} persist path=/j1; jls; jls name vnet persist; jexec j1 hostname; ` +
        'jexec j1 cat /inside; jexec j1 sysctl -n security.jail.jailed; jexec j1 jls | wc -l; ' +
        'jexec 1 sh -c "exit 3"; echo $?; jail -c name=t2 command=hostname; jls | wc -l; ' +
        'jail -r j1; jls | wc -l; jexec j1 true; echo $?; jail -c name=v vnet=new persist; echo $?',
      { root: t.dir },
    );
    assert.equal(
      r.out,
      'j1: created\n' +
        '   JID  IP Address      Hostname                      Path\n' +
        '     1                  j1                            /j1\n' +
        `j1 ${probe.k.vimage ? 'new' : 'inherit'} true\n` +
        'j1\nin\n1\n       1\n3\nt2: created\nt2\n       2\nj1: removed\n       1\n1\n' +
        (probe.k.vimage ? 'v: created\n0\n' : '1\n'),
    );
    assert.match(r.err, /jexec: jail "j1" not found/);
    if (!probe.k.vimage) assert.match(r.err, /jail: vnet jails need options VIMAGE/);
  } finally {
    t.cleanup();
  }
});

test('ls, mkdir, rm, rmdir on the files below the root', async () => {
  const t = tempRoot();
  try {
    writeFileSync(join(t.dir, 'b.txt'), 'hello');
    writeFileSync(join(t.dir, '.hidden'), '');
    const r = await sh(
      'ls; mkdir -p d/e; ls -F; ls -A | wc -l; ls -l b.txt; ls d; rm d; echo $?; rmdir d/e; rm -d d; ' +
        'rm b.txt nosuch; ls; rm -f nosuch; echo $?; ls /..; ls nosuch',
      { root: t.dir },
    );
    assert.equal(
      r.out,
      'b.txt\nb.txt\nd/\n       3\n' +
        '-rw-r--r--  1 root  wheel  5 ' +
        r.out.split('wheel  5 ')[1]!.slice(0, 12) +
        ' b.txt\ne\n1\n0\n',
    );
    assert.match(r.out, /wheel {2}5 [A-Z][a-z]{2} [ 1-3][0-9] {1,2}[0-9:]{4,5} b\.txt/);
    assert.equal(
      r.err,
      'rm: d: is a directory\nrm: nosuch: No such file or directory\nls: nosuch: No such file or directory\n',
    );
  } finally {
    t.cleanup();
  }
});
