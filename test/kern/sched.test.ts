// Threads, the run queue, sleep/wakeup, processes, on the virtual clock.  Passes on both
// kernels (GENERIC and NOVIMAGE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../lib/kernel.js';
import { curthread, curcpu } from '../../src/kern/kern_cur.js';
import {
  PCATCH,
  sleepq_sleepers,
  tsleep,
  wakeup,
  wakeup_one,
  pause,
} from '../../src/kern/kern_synch.js';
import { kern_yield, PanicError, SCHED_SLICE } from '../../src/kern/sched.js';
import { Libc } from '../../src/lib/libc.js';
import { Callout, callout_reset } from '../../src/kern/kern_timeout.js';
import { arc4random_uniform } from '../../src/kern/subr_random.js';
import {
  kern_wait,
  proc_kill,
  WIFSIGNALED,
  WTERMSIG,
  WIFEXITED,
  WEXITSTATUS,
  proc_create,
} from '../../src/kern/kern_proc.js';
import { netisr_queue_work, Task, taskqueue_enqueue } from '../../src/kern/kern_kthread.js';
import { curvnet } from '../../src/net/vnet.js';
import { cpu } from '../../src/host/cpu.js';
import {
  PRS_ZOMBIE,
  PUSER,
  TDF_NEEDRESCHED,
  TDI_SLEEPING,
  type Thread,
} from '../../src/sys/proc.js';
import { EINTR, EWOULDBLOCK } from '../../src/sys/errno.js';

const S = 1e9;

/** A scenario with random sleeps, wakeups and callouts: its trace is the run. */
async function scenario(seed: number): Promise<{ trace: string[]; log: string[] }> {
  const k = bootTest({ seed, trace: true });
  const log: string[] = [];
  const chan = { name: 'work' };
  for (let i = 0; i < 4; i++)
    k.kthread_add(`worker${i}`, async () => {
      for (let n = 0; n < 5; n++) {
        const r = await tsleep(chan, 0, 'work', 1 + arc4random_uniform(50));
        log.push(`w${i} ${r} ${k.now()}`);
      }
    });
  const c = new Callout();
  let ticks = 0;
  const tick = (): void => {
    log.push(`tick ${k.now()}`);
    if (arc4random_uniform(2) === 0) wakeup_one(chan);
    if (++ticks < 20) callout_reset(c, 1 + arc4random_uniform(10), tick, null);
  };
  k.enter(() => callout_reset(c, 1, tick, null));
  await k.run_until_idle();
  return { trace: k.trace!, log };
}

test('two runs with the same seed produce identical event traces', async () => {
  const a = await scenario(42);
  const b = await scenario(42);
  assert.ok(a.trace.length > 50, 'the scenario does something');
  assert.deepEqual(a.trace, b.trace);
  assert.deepEqual(a.log, b.log);
  const c = await scenario(43);
  assert.notDeepEqual(a.log, c.log, 'another seed, another run');
});

test('a one-hour virtual timeout completes at once, with EWOULDBLOCK', async () => {
  const k = bootTest();
  const t0 = k.now();
  let r = -1;
  k.kthread_add('sleeper', async () => {
    r = await tsleep('never', 0, 'hour', 3600 * 1000);
  });
  await k.run_until_idle();
  assert.equal(r, EWOULDBLOCK);
  assert.equal(EWOULDBLOCK, 35);
  assert.equal(k.now() - t0, 3600 * S, 'virtual time advanced by exactly 3600 s');
});

test('wakeup runs sleepers FIFO among equal priority; wakeup_one wakes the first', async () => {
  const k = bootTest();
  const order: string[] = [];
  const chan = {};
  for (const n of ['a', 'b', 'c'])
    k.kthread_add(n, async () => {
      const r = await tsleep(chan, 0, 'fifo', 0);
      order.push(`${n}${r}`);
    });
  await k.run_until_idle();
  assert.deepEqual(
    sleepq_sleepers(k, chan).map((td) => td.td_name),
    ['a', 'b', 'c'],
  );
  k.enter(() => wakeup_one(chan));
  await k.run_until_idle();
  assert.deepEqual(order, ['a0']);
  k.enter(() => wakeup(chan));
  await k.run_until_idle();
  assert.deepEqual(order, ['a0', 'b0', 'c0']);
  assert.equal(sleepq_sleepers(k, chan).length, 0);
});

test('the run queue is by priority, then FIFO; a more urgent wakeup asks for a reschedule', async () => {
  const k = bootTest();
  const order: string[] = [];
  const chan = {};
  let flagged = false;
  k.kthread_add('low', () => void order.push('low'), { pri: 120 });
  k.kthread_add('high', () => void order.push('high'), { pri: 20 });
  k.kthread_add('mid1', () => void order.push('mid1'), { pri: 60 });
  k.kthread_add('mid2', () => void order.push('mid2'), { pri: 60 });
  await k.run_until_idle();
  assert.deepEqual(order, ['high', 'mid1', 'mid2', 'low']);

  order.length = 0;
  k.kthread_add(
    'urgent',
    async () => {
      await tsleep(chan, 0, 'urg', 0);
      order.push('urgent');
    },
    { pri: 10 },
  );
  await k.run_until_idle();
  k.proc_create('user', { cr_uid: 0, cr_prison: k.prison0 }, async (td) => {
    wakeup(chan);
    flagged = (td.td_flags & TDF_NEEDRESCHED) !== 0;
    order.push('user before userret');
    await k.userret(td);
    order.push('user after userret');
  });
  await k.run_until_idle();
  assert.ok(flagged, 'TDF_NEEDRESCHED set on the waker');
  assert.deepEqual(order, ['user before userret', 'urgent', 'user after userret']);
});

test('curthread, curcpu and curvnet are right across awaits', async () => {
  const k = bootTest();
  const bad: string[] = [];
  const chan = {};
  const check = (td: Thread, where: string): void => {
    if (curthread() !== td) bad.push(`${td.td_name} curthread at ${where}`);
    if (cpu.kernel !== k) bad.push(`${td.td_name} kernel at ${where}`);
    if (td.td_pinned >= 0 && curcpu() !== td.td_pinned) bad.push(`${td.td_name} cpu`);
    if (curvnet() !== (k.vimage ? td.td_vnet : null)) bad.push(`${td.td_name} vnet at ${where}`);
  };
  for (let i = 0; i < 2; i++)
    k.kthread_add(
      `t${i}`,
      async (td) => {
        if (i === 1 && k.vimage) td.td_vnet = k.vnet0;
        k.load_registers(td);
        for (let n = 0; n < 10; n++) {
          check(td, `before ${n}`);
          wakeup(chan);
          await tsleep(chan, 0, 'pp', 2);
          check(td, `after sleep ${n}`);
          await kern_yield(k, td);
          check(td, `after yield ${n}`);
        }
      },
      { cpu: i % k.mp_ncpus },
    );
  await k.run_until_idle();
  assert.deepEqual(bad, []);
});

test('killing a process: its sleep returns EINTR, it becomes a zombie reaped by wait', async () => {
  const k = bootTest();
  const cred = { cr_uid: 0, cr_prison: k.prison0 };
  let slept = -1;
  let waited: { error: number; pid: number; status: number } | null = null;
  let childPid = 0;
  const parent = k.proc_create('parent', cred, async (td) => {
    const child = proc_create(
      k,
      'child',
      cred,
      async () => {
        slept = await tsleep('forever', PCATCH, 'forever', 0);
        return 0;
      },
      { parent: td.td_proc },
    );
    childPid = child.p_pid;
    waited = await kern_wait(k, td, child.p_pid);
    return 3;
  });
  await k.run_for(10);
  const child = k.allproc.find((p) => p.p_pid === childPid)!;
  assert.ok(child.p_threads[0]!.td_inhibitors & TDI_SLEEPING, 'child sleeps');
  assert.equal(waited, null, 'parent waits');
  k.enter(() => proc_kill(k, child));
  await k.run_until_idle();
  assert.equal(slept, EINTR);
  assert.ok(waited);
  const w = waited as { error: number; pid: number; status: number };
  assert.equal(w.error, 0);
  assert.equal(w.pid, childPid);
  assert.ok(WIFSIGNALED(w.status));
  assert.equal(WTERMSIG(w.status), 9);
  assert.equal(child.p_state, PRS_ZOMBIE);
  assert.ok(!k.allproc.includes(child), 'reaped: gone from allproc');
  // The parent returned 3; proc0 (standing in for init) reaped it at once.
  assert.equal(parent.p_state, PRS_ZOMBIE);
  assert.ok(!k.allproc.includes(parent));
  assert.ok(WIFEXITED(parent.p_xexit << 8));
  assert.equal(WEXITSTATUS(parent.p_xexit << 8), 3);
});

test('a killed process exits at userret; its PCATCH sleeps fail at once', async () => {
  const k = bootTest();
  const steps: string[] = [];
  const p = k.proc_create('victim', { cr_uid: 0, cr_prison: k.prison0 }, async (td) => {
    steps.push(`sleep ${await tsleep('x', PCATCH, 'x', 0)}`);
    steps.push(`again ${await tsleep('x', PCATCH, 'x', 0)}`);
    await k.userret(td);
    steps.push('never');
  });
  await k.run_until_idle();
  k.enter(() => proc_kill(k, p));
  await k.run_until_idle();
  assert.deepEqual(steps, [`sleep ${EINTR}`, `again ${EINTR}`]);
  assert.equal(p.p_state, PRS_ZOMBIE);
  assert.equal(p.p_threads.length, 0);
});

test('run_for stops at the deadline; periodic callouts keep their period', async () => {
  const k = bootTest();
  const c = new Callout();
  const at: number[] = [];
  const tick = (): void => {
    at.push(k.now());
    callout_reset(c, 1000, tick, null);
  };
  k.enter(() => callout_reset(c, 1000, tick, null));
  await k.run_for(10);
  assert.equal(k.now(), 10 * S);
  assert.deepEqual(
    at,
    Array.from({ length: 10 }, (_, i) => (i + 1) * S),
  );
  await k.run_for(2.5);
  assert.equal(k.now(), 12.5 * S);
  assert.equal(at.length, 12);
});

test('pause sleeps for the given ticks', async () => {
  const k = bootTest();
  let r = -1;
  let t = 0;
  k.kthread_add('p', async () => {
    r = await pause('pause', 250);
    t = k.now();
  });
  await k.run_until_idle();
  assert.equal(r, 0);
  assert.equal(t, 0.25 * S);
});

test('kernel threads: netisr threads pinned per CPU, the taskqueue thread, softclock', async () => {
  const k = bootTest();
  await k.run_until_idle();
  assert.equal(k.kthr.nws.length, k.mp_ncpus);
  const ran: string[] = [];
  k.enter(() => {
    for (let c = 0; c < k.mp_ncpus; c++)
      netisr_queue_work(k, c, () => ran.push(`netisr cpu${curcpu()} ${curthread().td_name}`));
  });
  await k.run_until_idle();
  assert.deepEqual(
    ran,
    Array.from({ length: k.mp_ncpus }, (_, c) => `netisr cpu${c} swi1: netisr ${c}`),
  );
  let pending = 0;
  let name = '';
  const task = new Task((_ctx, n) => {
    pending = n;
    name = curthread().td_name;
  });
  const tq = k.kthr.taskqueue_thread!;
  k.enter(() => {
    taskqueue_enqueue(k, tq, task);
    taskqueue_enqueue(k, tq, task);
    taskqueue_enqueue(k, tq, task);
  });
  await k.run_until_idle();
  assert.equal(pending, 3, 'a pending task is coalesced and counted');
  assert.equal(name, 'thread taskq');
  const sc = k.kthr.softclock_td!;
  assert.equal(sc.td_name, 'swi4: clock (0)');
  assert.equal(sc.td_proc.p_comm, 'intr');
});

test('an exception escaping a thread panics the kernel; run_until_idle rejects', async () => {
  const k = bootTest();
  k.kthread_add('bad', () => {
    throw new Error('boom');
  });
  await assert.rejects(k.run_until_idle(), PanicError);
  assert.match(k.panicstr!, /boom/);
  await assert.rejects(k.run_until_idle(), PanicError);
});

test('user threads run at PUSER; tids and pids are allocated in order', async () => {
  const k = bootTest();
  const cred = { cr_uid: 0, cr_prison: k.prison0 };
  const a = k.proc_create('a', cred, () => 0);
  const b = k.proc_create('b', cred, () => 0);
  assert.equal(b.p_pid, a.p_pid + 1);
  assert.equal(b.p_threads[0]!.td_tid, a.p_threads[0]!.td_tid + 1);
  assert.equal(a.p_threads[0]!.td_pri, PUSER);
  await k.run_until_idle();
  assert.equal(a.p_state, PRS_ZOMBIE);
});

test('user processes making syscalls share the processor (userret slices)', async () => {
  const k = bootTest();
  await k.run_until_idle();
  const cred = { cr_uid: 0, cr_prison: k.prison0 };
  const runs: string[] = [];
  const hz: (number | null)[] = [];
  for (const name of ['a', 'b'])
    k.proc_create(name, cred, async (td) => {
      const libc = new Libc(k, td);
      hz.push(await libc.sysctlbyname_num('kern.hz'));
      for (let i = 0; i < 3 * SCHED_SLICE; i++) {
        const pid = await libc.getpid();
        assert.equal(pid, td.td_proc.p_pid);
        if (runs[runs.length - 1] !== name) runs.push(name);
      }
    });
  await k.run_until_idle();
  assert.deepEqual(hz, [1000, 1000]);
  assert.ok(runs.length >= 4, `a and b alternate: ${runs.join('')}`);
});

test('a host event (hostintr) wakes a thread and starts the idle processor', async () => {
  const k = bootTest({ trace: true });
  const chan = {};
  let r = -1;
  k.kthread_add('waiter', async () => {
    r = await tsleep(chan, 0, 'hostev', 0);
  });
  await k.run_until_idle();
  assert.equal(r, -1);
  assert.equal(k.sched.running, null, 'the processor is idle');
  k.sched.hostintr(() => wakeup(chan));
  assert.notEqual(k.sched.running, null, 'the woken thread has the processor');
  await k.run_until_idle();
  assert.equal(r, 0);
  assert.ok(k.trace!.some((e) => e.startsWith('wakeup Object#')));
});
