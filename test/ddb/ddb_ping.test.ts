// VIMAGE_ONLY: a breakpoint on ip_input hit by a real ping(8) between two vnets (jails
// a and b over an epair).  In the debugger: show threads lists the netisr, softclock
// and ping threads; trace of the ping thread shows its path from the program through
// the system call; thread X then trace shows X; continue resumes and the ping
// completes with all its replies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../lib/kernel.js';
import { sh } from '../lib/sh.js';
import { lab2 } from '../lib/inet_lab.js';
import { kdb_state } from '../../src/kern/subr_kdb.js';
import type { DbIo } from '../../src/ddb/ddb.js';

/** A console that decides each line from what the debugger printed so far. */
class AnswerIo implements DbIo {
  out = '';
  constructor(private readonly next: (out: string) => string | null) {}
  readline(prompt: string): string | null {
    const l = this.next(this.out);
    if (l === null) return null;
    this.out += prompt + l + '\n';
    return l;
  }
  write(s: string): void {
    this.out += s;
  }
}

test('break ip_input, ping between two vnets: threads, traces, continue, all replies', async () => {
  const k = bootVimage();
  lab2(k);
  let step = 0;
  let pingTid = '';
  const io = new AnswerIo((out) => {
    switch (step++) {
      case 0:
        return 'break ip_input';
      case 1:
        return 'c';
      case 2:
        return 'show threads';
      case 3: {
        const m = /\s(\d+) \(pid \d+ "ping"\)/.exec(out);
        pingTid = m?.[1] ?? '0';
        return `trace ${pingTid}`;
      }
      case 4:
        return `thread ${pingTid}`;
      case 5:
        return 'trace';
      case 6:
        return 'delete ip_input';
      case 7:
        return 'c';
      default:
        return null;
    }
  });
  kdb_state(k).io = io;
  // The first entry (sysctl debug.kdb.enter) sets the breakpoint, as a user would.
  const r = await sh('sysctl debug.kdb.enter=1; jexec a ping -c 3 192.0.2.2; echo st=$?', {
    kernel: k,
  });
  const out = io.out;

  assert.equal(kdb_state(k).entries, 2, 'the sysctl, then one stop: deleted before continue');
  assert.match(
    out,
    /KDB: enter: Breakpoint at ip_input\n\[ thread pid \d+ tid \d+ \]\nBreakpoint at {6}ip_input: src\/netinet\/ip_input\.ts:\d+/,
  );
  // The thread that hit it is a netisr thread (the echo request crossing into b).
  assert.match(out, /swi1: netisr 0/);
  assert.match(out, /swi4: clock \(0\)/);
  assert.notEqual(pingTid, '0', 'show threads lists the ping thread');
  const tr = out.split(`db> trace ${pingTid}\n`)[1]!.split('db> ')[0]!;
  assert.match(tr, new RegExp(`^Tracing pid \\d+ tid ${pingTid} td ping\\n`));
  // ping sent the request and sleeps in poll(2) for the reply (the netisr thread took
  // the epair's frame once ping blocked): the sleep, the system call, the program.
  assert.match(tr, /tsleep_sbt\(\) at src\/kern\/kern_synch\.ts:\d+/);
  assert.match(tr, /sys_poll\(\) at src\/kern\/uipc_syscalls\.ts:\d+/);
  assert.match(tr, /syscallenter\(\) at src\/kern\/kern_syscall\.ts:\d+/);
  assert.match(tr, /Libc\.poll\(\) at src\/lib\/libc\.ts:\d+/);
  assert.match(tr, /\(\) at src\/sbin\/ping\.ts:\d+/);
  assert.ok(
    tr.indexOf('kern_syscall.ts') < tr.indexOf('sbin/ping.ts'),
    'innermost first: the kernel frames come before the program',
  );
  assert.match(
    out,
    new RegExp(`db> thread ${pingTid}\\n\\[ thread pid \\d+ tid ${pingTid} \\]\\n`),
  );
  const tr2 = out.split('db> trace\n')[1]!.split('db> ')[0]!;
  assert.match(tr2, new RegExp(`^Tracing pid \\d+ tid ${pingTid} td ping\\n`), 'trace follows X');
  // continue: the ping completes with every reply.
  assert.match(r.out, /3 packets transmitted, 3 packets received, 0\.0% packet loss\n/);
  assert.match(r.out, /st=0\n/);
});
