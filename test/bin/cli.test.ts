// The real command line, as a new user drives it: `vimage run FILE`, `vimage -c`, the
// exit statuses, and the interactive console on a piped stdin (commands, the break
// sequence CR ~ ^B into the debugger and back, exit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempRoot } from '../lib/sh.js';
import { TEST_KERNCONF } from '../lib/kernel.js';

const CLI = resolve('dist/src/bin/vimage.js');

function vimage(
  args: string[],
  cwd: string,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, '-k', TEST_KERNCONF, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 30000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('vimage run FILE: output, files in the working directory, first failure ends it', () => {
  const t = tempRoot();
  try {
    writeFileSync(
      join(t.dir, 'ok.sh'),
      '# a script\necho start\nsysctl kern.ostype\necho data > out.txt\ncat out.txt | wc -c\nsleep 30 &\nwait\necho "args: $0 $1"\n',
    );
    const r = vimage(['run', 'ok.sh', 'A1'], t.dir);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'start\nkern.ostype: vimage\n       5\nargs: ok.sh A1\n');
    assert.equal(r.status, 0);

    writeFileSync(join(t.dir, 'fail.sh'), 'echo one\ngrep -q nothing out.txt\necho two\n');
    const f = vimage(['run', 'fail.sh'], t.dir);
    assert.equal(f.stdout, 'one\n');
    assert.equal(f.status, 1);

    writeFileSync(join(t.dir, 'plus.sh'), 'set +e\nfalse\necho on\nnosuch\n');
    const p = vimage(['run', 'plus.sh'], t.dir);
    assert.equal(p.stdout, 'on\n');
    assert.equal(p.stderr, 'plus.sh: nosuch: not found\n'); /* sh names errors after the script */
    assert.equal(p.status, 127);
  } finally {
    t.cleanup();
  }
});

test('vimage -c, usage errors, missing script, report and ident', () => {
  const t = tempRoot();
  try {
    const c = vimage(['-c', 'echo hi; uname -s; exit 3'], t.dir);
    assert.equal(c.stdout, 'hi\nvimage\n');
    assert.equal(c.status, 3);
    const u = vimage(['bogus'], t.dir);
    assert.equal(u.status, 64);
    assert.match(u.stderr, /^usage: vimage/);
    const m = vimage(['run', 'missing.sh'], t.dir);
    assert.equal(m.status, 66);
    assert.equal(m.stderr, 'vimage: missing.sh: No such file or directory\n');
    const rep = vimage(['report'], t.dir);
    assert.equal(rep.status, 0);
    assert.match(rep.stdout, /Id Refs Symbols Name/);
    const syn = vimage(['-c', 'echo "unterminated'], t.dir);
    assert.equal(syn.status, 2);
    assert.match(syn.stderr, /^sh: Syntax error: Unterminated quoted string\n$/);
    assert.doesNotMatch(syn.stderr + syn.stdout, /at .*\.js:\d+/);
  } finally {
    t.cleanup();
  }
});

/** Drive the interactive console: send chunks when the output shows `waitFor`. */
async function console_session(
  cwd: string,
  steps: { waitFor: string | RegExp; send: string }[],
): Promise<{ out: string; status: number | null }> {
  const child = spawn(process.execPath, [CLI, '-k', TEST_KERNCONF], {
    cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let next = 0;
  const kick = (): void => {
    while (next < steps.length) {
      const s = steps[next]!;
      const seen = typeof s.waitFor === 'string' ? out.includes(s.waitFor) : s.waitFor.test(out);
      if (!seen) return;
      next++;
      child.stdin.write(s.send);
    }
  };
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString('utf8');
    kick();
  });
  child.stderr.on('data', (b: Buffer) => {
    out += b.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
  const status = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  clearTimeout(timer);
  return { out, status };
}

test('the interactive console: prompt, commands, exit status', async () => {
  const t = tempRoot();
  try {
    const r = await console_session(t.dir, [
      { waitFor: 'root@vimage:/ # ', send: 'echo hello > f; cat f\n' },
      { waitFor: 'hello\n', send: 'sysctl -n kern.ostype; nosuch\n' },
      { waitFor: 'not found', send: 'exit 5\n' },
    ]);
    assert.equal(r.status, 5, r.out);
    assert.match(
      r.out,
      /^root@vimage:\/ # hello\nroot@vimage:\/ # vimage\nsh: nosuch: not found\nroot@vimage:\/ # $/,
    );
  } finally {
    t.cleanup();
  }
});

test('the break sequence CR ~ ^B enters the debugger; `c` returns to the console', async () => {
  const t = tempRoot();
  try {
    const r = await console_session(t.dir, [
      { waitFor: 'root@vimage:/ # ', send: 'echo before\n' },
      { waitFor: 'before\n', send: '\r~\x02show threads\nc\n' },
      { waitFor: /db> c\n[^]*# $/, send: 'echo after\nexit\n' },
    ]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /KDB: enter: Break to debugger\n/);
    assert.match(r.out, /db> show threads\n/);
    assert.match(r.out, /\(pid \d+ "sh"\)/);
    assert.match(r.out, /swi4: clock/);
    assert.match(r.out, /db> c\n[^]*after\n/);
  } finally {
    t.cleanup();
  }
});
