import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../lib/kernel.js';
import { userproc, installFile } from '../lib/proc.js';
import { ScriptIo } from '../lib/ddb.js';
import { kdb_state } from '../../src/kern/subr_kdb.js';
import { FIONBIO } from '../../src/sys/sockio.js';
import type { Kernel } from '../../src/kern/kernel.js';

function withConsole(k: Kernel, lines: string[]): ScriptIo {
  const io = new ScriptIo(lines);
  kdb_state(k).io = io;
  return io;
}

async function sysctlEnter(up: ReturnType<typeof userproc>): Promise<number> {
  const one = new Uint8Array(4);
  new DataView(one.buffer).setInt32(0, 1, true);
  return up.libc.sysctlbyname('debug.kdb.enter', null, null, one);
}

test('sysctl debug.kdb.enter=1 enters ddb; registers come from the syscall trapframe; continue resumes', async () => {
  const k = bootTest();
  const up = userproc(k, { comm: 'sysctl' });
  const io = withConsole(k, ['show registers', 'trace', 'thread 999999', 'c']);
  const r = await sysctlEnter(up);
  assert.equal(r, 0, 'the syscall completes after continue');
  const out = io.out;
  assert.match(out, /KDB: enter: sysctl debug\.kdb\.enter\n/);
  assert.match(out, new RegExp(`\\[ thread pid ${up.p.p_pid} tid ${up.td.td_tid} \\]\\n`));
  assert.match(
    out,
    /trapno {6}syscall\t\(__sysctl\)\nrax {9}0xca\tSYS___sysctl\n/,
    'SYS___sysctl = 202',
  );
  assert.match(out, /rip {9}0x[0-9a-f]+\tsys___sysctl/);
  assert.match(out, /Tracing pid \d+ tid \d+ td sysctl\n/);
  assert.match(
    out,
    /kern_sysctl[\w.]*\(\) at src\/kern\/kern_sysctl_syscall\.ts:\d+/,
    'kernel frames',
  );
  assert.match(
    out,
    /sysctlbyname\(\) at src\/lib\/libc\.ts:\d+/,
    'the userland frames below the syscall',
  );
  assert.match(out, /db> thread 999999\n999999: invalid thread\n/);
  assert.equal(kdb_state(k).active, 0);
  assert.equal(kdb_state(k).entries, 1);
});

test('a script bound to the entry reason drives the debugger without a console', async () => {
  const k = bootTest();
  const up = userproc(k, { comm: 'ddb' });
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(
    await up.libc.sysctlbyname(
      'debug.ddb.scripting.script',
      null,
      null,
      enc('kdb.enter.sysctl=show pcpu; ps; continue'),
    ),
    0,
  );
  const buf = new Uint8Array(256);
  const len: [number] = [256];
  assert.equal(await up.libc.sysctlbyname('debug.ddb.scripting.scripts', buf, len, null), 0);
  assert.equal(
    new TextDecoder().decode(buf.subarray(0, len[0] - 1)),
    'kdb.enter.sysctl=show pcpu; ps; continue\n',
  );
  const before = k.msgbuf.length;
  assert.equal(await sysctlEnter(up), 0);
  const log = k.msgbuf.slice(before).join('\n');
  assert.match(log, /KDB: enter: sysctl debug\.kdb\.enter/);
  assert.match(log, /db:0:show pcpu> show pcpu/);
  assert.match(log, /cpuid {8}= 0/);
  assert.match(log, /db:0:ps> ps/);
  assert.equal(
    await up.libc.sysctlbyname('debug.ddb.scripting.unscript', null, null, enc('kdb.enter.sysctl')),
    0,
  );
  assert.equal(kdb_state(k).scripts.size, 0);
});

test('break SYMBOL,count fires on every count-th hit, announced with the thread line', async () => {
  const k = bootTest();
  const up = userproc(k, { comm: 'ioctler' });
  const fd = installFile(up, { fo_type: 'test', fo_ioctl: () => 0 });
  // Set the breakpoint from a first debugger entry.
  const io = withConsole(k, [
    'break sys_ioctl,2',
    'break sys_ioctl',
    'show breaks',
    'break nosuchfn',
    'c',
  ]);
  assert.equal(await sysctlEnter(up), 0);
  assert.match(io.out, /db> break sys_ioctl\nAlready set\.\n/);
  assert.match(io.out, /\*kernel +2 +sys_ioctl/);
  assert.match(io.out, /Symbol 'nosuchfn' not found/);
  const io2 = withConsole(k, [
    'trace 0t0',
    'show registers',
    'delete sys_ioctl',
    'delete sys_ioctl',
    'c',
  ]);
  const nb = new Uint8Array(4);
  assert.equal(await up.libc.ioctl(fd, FIONBIO, nb), 0, 'first hit: skipped');
  assert.equal(kdb_state(k).entries, 1);
  assert.equal(await up.libc.ioctl(fd, FIONBIO, nb), 0, 'second hit: stops, then continues');
  assert.equal(kdb_state(k).entries, 2);
  assert.match(
    io2.out,
    /KDB: enter: Breakpoint at sys_ioctl\n\[ thread pid \d+ tid \d+ \]\nBreakpoint at {6}sys_ioctl: src\/kern\/sys_generic\.ts:\d+/,
  );
  assert.match(
    io2.out,
    /rax {9}0x36\tSYS_ioctl\nrdi {9}0x[0-9a-f]+\nrsi {9}0x8004667e\n/,
    'ioctl(fd, FIONBIO, ...)',
  );
  assert.match(io2.out, /db> delete sys_ioctl\ndb> delete sys_ioctl\nNot set\.\n/);
  assert.equal(await up.libc.ioctl(fd, FIONBIO, nb), 0);
  assert.equal(await up.libc.ioctl(fd, FIONBIO, nb), 0);
  assert.equal(kdb_state(k).entries, 2, 'deleted: no more stops');
});

test('step stops at the next kernel function entered', async () => {
  const k = bootTest();
  const up = userproc(k, { comm: 'stepper' });
  const fd = installFile(up, { fo_type: 'test', fo_ioctl: () => 0 });
  withConsole(k, ['step']);
  assert.equal(await sysctlEnter(up), 0);
  const io = withConsole(k, ['c']);
  await up.libc.ioctl(fd, FIONBIO, new Uint8Array(4));
  assert.match(io.out, /KDB: enter: Stopped at sys_ioctl\n/);
  assert.equal(kdb_state(k).entries, 2);
  await up.libc.ioctl(fd, FIONBIO, new Uint8Array(4));
  assert.equal(kdb_state(k).entries, 2, 'the step is over');
});
