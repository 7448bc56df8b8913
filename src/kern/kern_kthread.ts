/*
 * kern/kern_kthread.ts — kernel processes and threads, and the kernel's own threads.
 *
 * kproc_create(9) makes a kernel process (P_SYSTEM | P_KPROC, in prison0, child of
 * proc0) with one thread; kthread_add(9) adds a thread to a kernel process (proc0,
 * "kernel", by default).  Their functions are async kernel code that blocks only in
 * kernel primitives (tsleep and friends).
 *
 * The threads every kernel starts at boot, named as FreeBSD's `procstat -t 0 12` shows:
 *   - in process "intr": "swi4: clock (0)", the softclock thread that runs expired
 *     callouts (kern_timeout.ts) and then sleeps on the callwheel; "swi1: netisr N", one
 *     per CPU and pinned to it, with an (empty, for now) work loop that sleeps on its
 *     workstream — netisr_queue_work() gives it a function to run, and the network stack
 *     will replace that with its mbuf queues;
 *   - in process "kernel" (proc0): "thread taskq", the taskqueue_thread queue
 *     (taskqueue(9): taskqueue_enqueue coalesces a pending task by counting it).
 *
 * Deliberate differences: one softclock thread (on CPU 0) instead of one per CPU; swi
 * threads are ordinary sleeping threads (wmesg "-") rather than interrupt threads with
 * their own inhibitor.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import {
  SI_ORDER_FIRST,
  SI_ORDER_SECOND,
  SI_SUB_CONFIGURE,
  SI_SUB_SOFTINTR,
  SYSINIT,
} from '../sys/kernel.js';
import {
  P_KPROC,
  P_SYSTEM,
  PI_NET,
  PI_SOFT,
  PVM,
  TDF_NEEDRESCHED,
  type Proc,
  type Thread,
} from '../sys/proc.js';
import { curkernel } from './kern_cur.js';
import type { Kernel } from './kernel.js';
import { proc_alloc, thread_alloc, thread_start, type ThreadMain } from './kern_proc.js';
import { _sleep, wakeup_k } from './kern_synch.js';
import { softclock } from './kern_timeout.js';

export const K = new ObjFile('kern/kern_kthread.ts', VIMAGEID('src/kern/kern_kthread.ts'));

export interface KthreadOpts {
  /** The kernel process to add the thread to (kthread_add; default proc0). */
  proc?: Proc;
  /** Pin to this CPU. */
  cpu?: number;
  /** Priority (default PVM). */
  pri?: number;
  /** kproc_create: the name of its first thread (default: the process name). */
  tdname?: string;
}

function errstr(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

/** kthread_add(9): a new kernel thread running fn, runnable now. */
export function kthread_add(
  k: Kernel,
  name: string,
  fn: ThreadMain,
  opts: KthreadOpts = {},
): Thread {
  const p = opts.proc ?? k.proc0;
  const td = thread_alloc(
    k,
    p,
    name,
    opts.pri ?? PVM,
    opts.cpu !== undefined ? { cpu: opts.cpu } : {},
  );
  thread_start(k, td, fn);
  return td;
}

/** kproc_create(9): a new kernel process whose one thread runs fn. */
export function kproc_create(
  k: Kernel,
  name: string,
  fn: ThreadMain,
  opts: KthreadOpts = {},
): Proc {
  const p = proc_alloc(k, name, k.proc0.p_ucred, k.proc0, P_SYSTEM | P_KPROC);
  kthread_add(k, opts.tdname ?? name, fn, { ...opts, proc: p });
  return p;
}

/* -------------------------------------------------------------------------------- */
/* netisr threads                                                                     */

export type NetisrWork = () => void;

/** A netisr workstream: one per CPU, served by its pinned thread. */
export class NetisrWorkstream {
  nws_td: Thread | null = null;
  readonly nws_work: NetisrWork[] = [];
  /** Work items handled (for netstat -Q style statistics). */
  nws_handled = 0;
  constructor(readonly nws_cpu: number) {}
}

/**
 * Give the netisr thread of a CPU a function to run (the hook the network stack's
 * netisr_queue will use).  Returns 0, or ENXIO (6) for a CPU without a workstream.
 *
 * Interrupt coalescing: work queued by a user thread does not preempt it.  The netisr
 * thread takes the work when that thread blocks or yields (at the latest when its
 * SCHED_SLICE of system calls is used up), as another CPU would have taken it
 * meanwhile on FreeBSD; a sender of many datagrams thus hands them over in batches
 * instead of switching twice per packet.  Work queued by kernel threads (a netisr
 * feeding another vnet, callouts) wakes the netisr with its usual priority.
 */
export function netisr_queue_work(k: Kernel, cpuid: number, fn: NetisrWork): number {
  const nws = k.kthr.nws[cpuid];
  if (!nws) return 6;
  nws.nws_work.push(fn);
  const cur = k.sched.running;
  const had = cur === null ? 0 : cur.td_flags & TDF_NEEDRESCHED;
  wakeup_k(k, nws);
  if (cur !== null && had === 0 && !(cur.td_proc.p_flag & P_KPROC))
    cur.td_flags &= ~TDF_NEEDRESCHED;
  return 0;
}

async function netisr_loop(k: Kernel, td: Thread, nws: NetisrWorkstream): Promise<void> {
  for (;;) {
    while (nws.nws_work.length > 0) {
      const fn = nws.nws_work.shift()!;
      nws.nws_handled++;
      k.clock.hardclock();
      try {
        fn();
      } catch (e) {
        k.panic(`netisr ${nws.nws_cpu}: ${errstr(e)}`);
        return;
      }
      if (td.td_vnet !== null) {
        td.td_vnet = null;
        k.load_registers(td);
      }
    }
    if (k.panicstr !== null) return;
    await _sleep(k, td, nws, 0, '-', 0);
  }
}

/* -------------------------------------------------------------------------------- */
/* taskqueue(9)                                                                       */

export type TaskFunc = (context: unknown, pending: number) => void | Promise<void>;

export class Task {
  ta_pending = 0;
  constructor(
    readonly ta_func: TaskFunc,
    readonly ta_context: unknown = null,
    readonly ta_priority = 0,
  ) {}
}

export class Taskqueue {
  readonly tq_queue: Task[] = [];
  tq_td: Thread | null = null;
  tq_running: Task | null = null;
  constructor(readonly tq_name: string) {}
}

/** taskqueue_enqueue(9): queue a task; a task already queued counts one more. */
export function taskqueue_enqueue(k: Kernel, tq: Taskqueue, task: Task): number {
  if (task.ta_pending > 0) {
    if (task.ta_pending < 0xffff) task.ta_pending++;
    return 0;
  }
  // Higher ta_priority first, FIFO among equals (as FreeBSD's insertion).
  let i = tq.tq_queue.length;
  while (i > 0 && tq.tq_queue[i - 1]!.ta_priority < task.ta_priority) i--;
  tq.tq_queue.splice(i, 0, task);
  task.ta_pending = 1;
  wakeup_k(k, tq);
  return 0;
}

/** taskqueue_cancel(9): dequeue a pending task; EBUSY (16) if it is running. */
export function taskqueue_cancel(tq: Taskqueue, task: Task): number {
  const i = tq.tq_queue.indexOf(task);
  if (i >= 0) tq.tq_queue.splice(i, 1);
  task.ta_pending = 0;
  return tq.tq_running === task ? 16 : 0;
}

async function taskqueue_loop(k: Kernel, td: Thread, tq: Taskqueue): Promise<void> {
  for (;;) {
    const task = tq.tq_queue.shift();
    if (!task) {
      if (k.panicstr !== null) return;
      await _sleep(k, td, tq, 0, '-', 0);
      continue;
    }
    const pending = task.ta_pending;
    task.ta_pending = 0;
    tq.tq_running = task;
    try {
      await task.ta_func(task.ta_context, pending);
    } catch (e) {
      k.panic(`taskqueue ${tq.tq_name}: ${errstr(e)}`);
      return;
    }
    tq.tq_running = null;
    if (td.td_vnet !== null) td.td_vnet = null;
    k.load_registers(td);
    wakeup_k(k, task);
  }
}

/* -------------------------------------------------------------------------------- */
/* The kernel's threads                                                              */

export class KThreads {
  /** The "intr" process holding the software interrupt threads. */
  intr: Proc | null = null;
  softclock_td: Thread | null = null;
  readonly nws: NetisrWorkstream[] = [];
  /** taskqueue_thread(9) */
  taskqueue_thread: Taskqueue | null = null;

  /** Run expired callouts on thread0 (a kernel that was never booted). */
  softclock_inline(k: Kernel): void {
    k.callwheel.cc_pending = false;
    k.enter(() => softclock(k));
  }
}

async function softclock_loop(k: Kernel, td: Thread): Promise<void> {
  const w = k.callwheel;
  for (;;) {
    w.cc_pending = false;
    softclock(k);
    if (k.panicstr !== null) return;
    if (w.cc_pending) continue;
    await _sleep(k, td, w, 0, '-', 0);
  }
}

/** start_softclock: the intr process and its softclock thread. */
SYSINIT(K, 'start_softclock', SI_SUB_SOFTINTR, SI_ORDER_FIRST, () => {
  const k = curkernel();
  const t = k.kthr;
  t.intr = kproc_create(k, 'intr', (td) => softclock_loop(k, td), {
    tdname: 'swi4: clock (0)',
    pri: PI_SOFT,
    cpu: 0,
  });
  t.softclock_td = t.intr.p_threads[0]!;
});

/** netisr_start: one netisr thread per CPU, pinned. */
SYSINIT(K, 'netisr_start', SI_SUB_SOFTINTR, SI_ORDER_SECOND, () => {
  const k = curkernel();
  const t = k.kthr;
  for (let c = 0; c < k.mp_ncpus; c++) {
    const nws = new NetisrWorkstream(c);
    t.nws.push(nws);
    nws.nws_td = kthread_add(k, `swi1: netisr ${c}`, (td) => netisr_loop(k, td, nws), {
      proc: t.intr ?? k.proc0,
      pri: PI_NET,
      cpu: c,
    });
  }
});

/** taskqueue_thread: TASKQUEUE_DEFINE_THREAD(thread). */
SYSINIT(K, 'taskqueue_define_thread', SI_SUB_CONFIGURE, SI_ORDER_SECOND, () => {
  const k = curkernel();
  const tq = new Taskqueue('thread');
  k.kthr.taskqueue_thread = tq;
  tq.tq_td = kthread_add(k, 'thread taskq', (td) => taskqueue_loop(k, td, tq), {
    pri: PI_SOFT,
  });
});
