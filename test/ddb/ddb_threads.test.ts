// The thread-aware debugger with scheduled threads: show threads lists the netisr,
// softclock and user threads; trace of a sleeping thread shows the path from the program
// into the kernel; thread X then trace shows X; continue resumes; a failed KASSERT panics
// into ddb with a useful trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../lib/kernel.js';
import { ScriptIo } from '../lib/ddb.js';
import { kdb_state } from '../../src/kern/subr_kdb.js';
import { PCATCH, tsleep, wakeup } from '../../src/kern/kern_synch.js';
import { Libc } from '../../src/lib/libc.js';
import { KASSERT } from '../../src/sys/systm.js';
import { PanicError } from '../../src/kern/sched.js';
import type { Kernel } from '../../src/kern/kernel.js';
import type { Thread } from '../../src/sys/proc.js';

const cred = (k: Kernel) => ({ cr_uid: 0, cr_prison: k.prison0 });

/** A user program that sleeps in the kernel until woken (plays "ping in recvfrom"). */
async function user_program_waiting(td: Thread, chan: object): Promise<number> {
  return await tsleep(chan, PCATCH, 'sbwait', 0);
}

test('show threads, trace of a sleeping thread, thread X then trace, continue resumes', async () => {
  const k = bootTest();
  const chan = { name: 'sb' };
  let woke = -1;
  const sleeper = k.proc_create('ping', cred(k), async (td) => {
    woke = await user_program_waiting(td, chan);
    return 0;
  });
  const std = sleeper.p_threads[0]!;
  let result = -1;
  k.proc_create('sysctl', cred(k), async (td) => {
    const libc = new Libc(k, td);
    const one = new Uint8Array(4);
    one[0] = 1;
    result = await libc.sysctlbyname('debug.kdb.enter', null, null, one);
    wakeup(chan);
    return 0;
  });
  const io = new ScriptIo([
    'show threads',
    `trace ${std.td_tid}`,
    `thread ${std.td_tid}`,
    'trace',
    `trace ${sleeper.p_pid}`,
    'show thread',
    'ps',
    'c',
  ]);
  kdb_state(k).io = io;
  await k.run_until_idle();
  const out = io.out;
  assert.equal(result, 0, 'the sysctl returned after continue');
  assert.equal(woke, 0, 'and the sleeper ran to completion afterwards');
  assert.match(out, /swi1: netisr 0/);
  assert.match(out, /swi4: clock \(0\)/);
  assert.match(
    out,
    new RegExp(`\\s${std.td_tid} \\(pid ${sleeper.p_pid} "ping"\\)\\s+\\S+\\(\\) at src/kern/`),
  );
  // trace <tid>: from the sleep primitive up through the program.
  const tr = out.split(`db> trace ${std.td_tid}\n`)[1]!.split('db> ')[0]!;
  assert.match(tr, new RegExp(`^Tracing pid ${sleeper.p_pid} tid ${std.td_tid} td ping\\n`));
  assert.match(tr, /_sleep\(\) at src\/kern\/kern_synch\.ts:\d+/);
  assert.match(tr, /user_program_waiting\(\) at test\/ddb\/ddb_threads\.test\.ts:\d+/);
  assert.ok(
    tr.indexOf('kern_synch.ts') < tr.indexOf('user_program_waiting'),
    'innermost first: the kernel frames come before the program',
  );
  assert.match(
    out,
    new RegExp(
      `db> thread ${std.td_tid}\\n\\[ thread pid ${sleeper.p_pid} tid ${std.td_tid} \\]\\n`,
    ),
  );
  const tr2 = out.split('db> trace\n')[1]!.split('db> ')[0]!;
  assert.match(
    tr2,
    new RegExp(`^Tracing pid ${sleeper.p_pid} tid ${std.td_tid} td ping\\n`),
    'trace follows thread X',
  );
  assert.match(
    out,
    new RegExp(`db> trace ${sleeper.p_pid}\\nTracing pid ${sleeper.p_pid} tid ${std.td_tid}`),
    'a pid works too',
  );
  assert.match(out, /state: INHIBITED: \{SLEEPING\}\n wmesg: sbwait/);
  assert.match(out, /pid +ppid +jid +uid +state +wmesg +wchan +cmd\n/);
  assert.match(out, /S +sbwait .* ping\n/);
});

test('a failed KASSERT panics into ddb with a trace of the failing code, then the kernel stops', async () => {
  const k = bootTest();
  const io = new ScriptIo([]);
  kdb_state(k).io = io;
  kdb_state(k).scripts.set('kdb.enter.panic', 'trace; show registers');
  function ip_checks(len: number): void {
    KASSERT(len >= 20, `ip_checks: short header ${len}`);
  }
  k.kthread_add('checker', async () => {
    ip_checks(12);
  });
  await assert.rejects(k.run_until_idle(), (e: unknown) => e instanceof PanicError);
  assert.equal(k.panicstr, 'ip_checks: short header 12');
  assert.match(
    io.out,
    /KDB: enter: panic: ip_checks: short header 12\n\[ thread pid \d+ tid \d+ \]\n/,
  );
  assert.match(
    io.out,
    /db:0:trace> trace\nTracing pid \d+ tid \d+ td checker\n(.*\n)*?KASSERT\(\) at src\/sys\/systm\.ts:\d+/,
  );
  assert.match(io.out, /ip_checks\(\) at test\/ddb\/ddb_threads\.test\.ts:\d+/);
  assert.ok(k.msgbuf.includes('panic: ip_checks: short header 12'));
});

test('without a debugger configured to run, a panic stops the kernel cleanly with its message', async () => {
  const k = bootTest();
  k.debugger_on_panic = 0;
  k.kthread_add('bad', async () => {
    throw new TypeError('cannot read properties of undefined');
  });
  await assert.rejects(
    k.run_until_idle(),
    /panic: thread \d+ \(bad\): TypeError: cannot read properties of undefined/,
  );
  assert.equal(kdb_state(k).entries, 0);
});
