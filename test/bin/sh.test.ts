// The shell (bin/sh): parsing, quoting and expansion, status, lists, pipelines over
// pipe(2), redirections to real files below the jail root, background jobs, set -e.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, SyntaxError } from '../../src/bin/sh/parse.js';
import { sh, tempRoot } from '../lib/sh.js';

test('parser: lists, pipelines, redirections, background', () => {
  const items = parse('a 1 | b && c || d; e > f 2>&1 & # comment\ng');
  assert.equal(items.length, 3);
  assert.equal(items[0]!.andor.first.cmds.length, 2);
  assert.deepEqual(
    items[0]!.andor.rest.map((r) => r.op),
    ['&&', '||'],
  );
  assert.equal(items[1]!.bg, true);
  assert.deepEqual(
    items[1]!.andor.first.cmds[0]!.redirs.map((r) => [r.fd, r.op]),
    [
      [1, '>'],
      [2, '>&'],
    ],
  );
  assert.equal(items[2]!.bg, false);
  assert.throws(() => parse('echo "abc'), SyntaxError);
  assert.throws(() => parse('| x'), /Syntax error: "\|" unexpected/);
  assert.throws(() => parse('a &&'), /end of file unexpected/);
});

test('quotes, escapes and parameter expansion', async () => {
  const r = await sh(
    `X=world; echo 'single $X' "double $X" \\$X \${X}s a\\ b; Y="1  2"; echo $Y; echo "$Y"; echo "" | wc -l; E=; echo [$E] x`,
  );
  assert.equal(r.status, 0);
  assert.equal(r.out, 'single $X double world $X worlds a b\n1 2\n1  2\n       1\n[] x\n');
});

test('$? and && || ;', async () => {
  const r = await sh(
    'false; echo $?; true && echo and; false && echo no; false || echo or; true || echo no2; echo $?',
  );
  assert.equal(r.out, '1\nand\nor\n0\n');
  const r2 = await sh('exit 7');
  assert.equal(r2.status, 7);
  const r3 = await sh('! true; echo $?; ! false; echo $?');
  assert.equal(r3.out, '1\n0\n');
});

test('pipelines run as processes connected by pipes; status is the last command', async () => {
  const r = await sh(
    'echo b; printf_missing | cat; echo "c\na\nb" | sort | uniq | wc -l; false | true; echo $?; true | false; echo $?',
  );
  assert.match(r.err, /sh: printf_missing: not found/);
  assert.equal(r.out, 'b\n       3\n0\n1\n');
  // A big transfer goes through the 16 KiB pipe in pieces.
  const big = await sh('dd if=/dev/zero bs=1k count=100 2>/dev/null | wc -c');
  assert.equal(big.out, '  102400\n');
});

test('unknown command: "sh: foo: not found" and 127', async () => {
  const r = await sh('foo; echo $?');
  assert.equal(r.err, 'sh: foo: not found\n');
  assert.equal(r.out, '127\n');
});

test('redirections to real files below the root', async () => {
  const t = tempRoot();
  try {
    mkdirSync(join(t.dir, 'sub'));
    writeFileSync(join(t.dir, 'in.txt'), 'one\ntwo\nthree\n');
    const r = await sh(
      'echo hi > out.txt; echo there >> out.txt; cat < in.txt | grep t > sub/t.txt; ' +
        'nosuchcmd 2> err.txt; cat missing 2>&1 | wc -l; cd sub; pwd; cat t.txt; cd ..; cat /sub/../../../in.txt | head -n 1; ' +
        'echo x > /nodir/f; echo $?',
      { root: t.dir },
    );
    assert.equal(readFileSync(join(t.dir, 'out.txt'), 'utf8'), 'hi\nthere\n');
    assert.equal(readFileSync(join(t.dir, 'sub/t.txt'), 'utf8'), 'two\nthree\n');
    assert.equal(readFileSync(join(t.dir, 'err.txt'), 'utf8'), 'sh: nosuchcmd: not found\n');
    assert.equal(r.out, '       1\n/sub\ntwo\nthree\none\n2\n');
    assert.match(r.err, /cannot create \/nodir\/f: No such file or directory/);
  } finally {
    t.cleanup();
  }
});

test('background jobs: $!, jobs, wait, kill', async () => {
  const r = await sh(
    'sleep 10 & p=$!; echo started; jobs; kill $p; wait $p; echo killed=$?; ' +
      'sleep 1 & sleep 2 & wait; echo waited; (true); echo never',
  );
  // "(" is not supported: a syntax error stops the -c string before anything runs.
  assert.equal(r.status, 2);
  const r2 = await sh(
    'sleep 10 & p=$!; echo started; jobs; kill $p; wait $p; echo killed=$?; ' +
      'sleep 1 & sleep 2 & wait; echo waited; sleep 1 & kill %1; wait %1; echo $?',
  );
  assert.equal(r2.status, 0);
  assert.match(r2.out, /^started\n\[1\] \+ Running +sleep 10\nkilled=143\nwaited\n143\n$/);
  // Virtual time: waiting took the longest sleep, not the sum.
  assert.ok(r2.k.now() >= 2e9 && r2.k.now() < 3e9, `uptime ${r2.k.now()}`);
});

test('a background job reads /dev/null, not the lines typed at the shell; < still applies', async () => {
  const t = tempRoot();
  try {
    writeFileSync(join(t.dir, 'in.txt'), 'from the file\n');
    const { shell_batch } = await import('../../src/bin/console.js');
    const { bootTest } = await import('../lib/kernel.js');
    const k = bootTest({ root: t.dir });
    /* Without job control (POSIX: an asynchronous list's input is /dev/null), the cat in
     * the background must not take "wait" and the lines after it. */
    const i = await shell_batch(k, ['sh', '-i'], {
      input: 'cat > bg.txt &\ncat < in.txt > bg2.txt &\nwait\necho after\nexit 3\n',
    });
    assert.equal(readFileSync(join(t.dir, 'bg.txt'), 'utf8'), '');
    assert.equal(readFileSync(join(t.dir, 'bg2.txt'), 'utf8'), 'from the file\n');
    assert.match(i.out, /after\n/);
    assert.equal(i.status, 3);
  } finally {
    t.cleanup();
  }
});

test('set -e stops at the first failure; && lists and ! are exempt', async () => {
  const r = await sh('set -e; false && echo no; ! true; echo one; grep -q x /dev/null; echo two');
  assert.equal(r.out, 'one\n');
  assert.equal(r.status, 1);
  const r2 = await sh('echo a; false; echo b', { flags: ['-e'] });
  assert.equal(r2.out, 'a\n');
  assert.equal(r2.status, 1);
  const r3 = await sh('set -e; set +e; false; echo still');
  assert.equal(r3.out, 'still\n');
});

test('builtins: cd errors, export to children, help', async () => {
  const r = await sh(
    'cd /nonexistent; echo $?; export V=1; sh -c "echo V=\\$V"; W=2 sh -c \'echo W=$W\'; help | grep -c sysctl',
  );
  assert.equal(r.err, 'cd: /nonexistent: No such file or directory\n');
  assert.equal(r.out, '2\nV=1\nW=2\n1\n');
});

test('an interactive shell reads lines from its console and prints prompts', async () => {
  const r = await sh('', { flags: [], input: '' });
  assert.equal(r.status, 0);
  const { shell_batch } = await import('../../src/bin/console.js');
  const { bootTest } = await import('../lib/kernel.js');
  const k = bootTest();
  const i = await shell_batch(k, ['sh', '-i'], { input: 'echo hi\nexit 4\n' });
  assert.equal(i.out, 'root@vimage:/ # hi\nroot@vimage:/ # ');
  assert.equal(i.status, 4);
});
