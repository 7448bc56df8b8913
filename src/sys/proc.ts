/*
 * sys/proc.ts — struct proc, struct thread, struct ucred (the parts this kernel keeps).
 *
 * A thread is a JavaScript async function the kernel schedules: kernel threads (netisr,
 * softclock, taskqueues, thread0) and user threads (a userland program that reaches the
 * kernel only through syscalls).  Exactly one runs at a time; the processor registers
 * (host/cpu.ts) name it.  A thread that blocks records where it blocked (td_pcb: the
 * JavaScript stack at the switch, the analogue of the PCB saved by cpu_switch) and every
 * kernel entry records what it was (td_frame: the analogue of the trapframe).
 */

import type { CpuThread } from '../host/cpu.js';
import type { Vnet } from '../net/vnet.js';
import type { Prison } from '../kern/kern_jail.js';
import type { FileDesc } from '../kern/kern_descrip.js';
import type { Callout } from '../kern/kern_timeout.js';
import { TS_PROC, TS_THREAD, typestable } from './typestable.js';

/* td_state */
export const TDS_INACTIVE = 0;
export const TDS_INHIBITED = 1;
export const TDS_CAN_RUN = 2;
export const TDS_RUNQ = 3;
export const TDS_RUNNING = 4;

/* td_inhibitors */
export const TDI_SUSPENDED = 0x0001;
export const TDI_SLEEPING = 0x0002;
export const TDI_SWAPPED = 0x0004;
export const TDI_LOCK = 0x0008;
export const TDI_IWAIT = 0x0010;

/* td_flags */
export const TDF_SINTR = 0x00000008; /* sleep is interruptible */
export const TDF_TIMEOUT = 0x00000010; /* timing out during sleep */
export const TDF_NEEDRESCHED = 0x00010000; /* thread needs to yield */
export const TDF_SLEEPABORT = 0x00000080; /* sleepq_abort was called */
export const TDF_TIMOFAIL = 0x00001000; /* timeout from sleep after we were awake */
export const TDF_IDLETD = 0x00000020; /* this is a per-CPU idle thread */

/* p_flag */
export const P_SYSTEM = 0x00200; /* system process: no sigs, stats or swapping */
export const P_WEXIT = 0x02000; /* working on exiting */
export const P_KPROC = 0x00004; /* kernel process */
export const P_INMEM = 0x10000000; /* loaded into memory */

/* p_state */
export const PRS_NEW = 0;
export const PRS_NORMAL = 1;
export const PRS_ZOMBIE = 2;

/* Priorities (sys/priority.h): lower is more urgent. */
export const PRI_MIN_ITHD = 0;
export const PI_NET = 16; /* netisr, epair tasks */
export const PI_SOFT = 36; /* softclock, taskqueues */
export const PRI_MIN_KERN = 48;
export const PVM = PRI_MIN_KERN + 4;
export const PRI_MIN_TIMESHARE = 88;
export const PUSER = PRI_MIN_TIMESHARE;
export const PRI_MAX_IDLE = 255;

/** The trapframe: what the thread's last kernel entry was. */
export interface TrapFrame {
  /** 'syscall' | 'intr' | 'callout' | 'trap' | 'kthread' */
  tf_kind: string;
  /** Syscall number, or an interrupt/queue id. */
  tf_code: number;
  /** Name of the entry (syscall name, interrupt source, callout function). */
  tf_name: string;
  /** Up to six argument registers (rdi, rsi, rdx, r10, r8, r9). */
  tf_args: number[];
  /** Kernel symbol the entry went to. */
  tf_rip: string;
  /** Return value register after the entry completes. */
  tf_rax: number;
}

/** The saved context: where the thread was when it last left the processor. */
export interface Pcb {
  /** The JavaScript stack captured at the switch (V8 keeps async frames). */
  pcb_stack: Error | null;
  /** The innermost kernel function at the switch (for a one-frame trace). */
  pcb_where: string;
}

export interface Ucred {
  cr_uid: number;
  cr_prison: Prison;
}

export class Thread implements CpuThread {
  td_name: string;
  td_state = TDS_INACTIVE;
  td_inhibitors = 0;
  td_flags = 0;
  td_pri: number;
  /** The CPU the thread runs on (sched_bind pins kernel threads). */
  td_oncpu = -1;
  td_lastcpu = 0;
  td_pinned = -1;
  /** The vnet the thread is working in (CURVNET_SET), or null. */
  td_vnet: Vnet | null = null;
  td_vnet_lpush: string | null = null;
  /** Sleep queue wait channel and message. */
  td_wchan: unknown = null;
  td_wmesg: string | null = null;
  /** Result delivered by wakeup/timeout/abort to the sleeping primitive. */
  td_slpret = 0;
  td_frame: TrapFrame;
  td_pcb: Pcb = { pcb_stack: null, pcb_where: '' };
  /** errno of the last failed syscall (userland's errno). */
  td_errno = 0;
  /** Resumes the thread's suspended JavaScript continuation. */
  td_resume: ((v: number) => void) | null = null;
  /** Run-queue linkage. */
  td_runq_next: Thread | null = null;
  /** Number of syscalls entered (for ddb and stats). */
  td_nsyscalls = 0;
  /** Exit status of the thread's function (for reaping). */
  td_exitval = 0;
  /** The timeout of the thread's sleeps (kern_synch.ts), allocated on first use. */
  td_slpcallout: Callout | null = null;

  constructor(
    readonly td_tid: number,
    readonly td_proc: Proc,
    name: string,
    pri: number,
  ) {
    this.td_name = name;
    this.td_pri = pri;
    this.td_frame = {
      tf_kind: 'kthread',
      tf_code: 0,
      tf_name: name,
      tf_args: [],
      tf_rip: '',
      tf_rax: 0,
    };
    typestable(TS_THREAD, this);
  }
}

export class Proc {
  p_flag = 0;
  p_state = PRS_NEW;
  readonly p_threads: Thread[] = [];
  p_xexit = 0;
  p_xsig = 0;
  p_pptr: Proc | null = null;
  readonly p_children: Proc[] = [];
  /** Descriptor table (kern_descrip.ts); null for kernel processes. */
  p_fd: FileDesc | null = null;
  /** Working directory, relative to the jail root ("/" = the root). */
  p_cwd = '/';
  /** Exit waiters' channel is the proc itself. */
  p_exited = false;

  constructor(
    readonly p_pid: number,
    public p_comm: string,
    public p_ucred: Ucred,
  ) {
    typestable(TS_PROC, this);
  }
}
