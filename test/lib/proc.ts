/*
 * test/lib/proc.ts — user processes for tests that make system calls without the
 * scheduler.
 *
 * userproc() builds a struct proc (credential, jail, descriptor table) and one thread,
 * as fork+exec would, and binds a Libc to it; the test then calls libc (or
 * syscallenter directly) from its own async code, which plays the user program.  The
 * process is not put on allproc nor on a run queue: it only ever runs inside its own
 * syscalls.  A kernel with the scheduler's proc_create can be used instead once that
 * lands; this helper stays the no-scheduler path.
 */

import type { Kernel } from '../../src/kern/kernel.js';
import type { Prison } from '../../src/kern/kern_jail.js';
import { FileDesc, File, FREAD, FWRITE, type FileOps } from '../../src/kern/kern_descrip.js';
import { Proc, Thread, PRS_NORMAL, PUSER } from '../../src/sys/proc.js';
import { Libc } from '../../src/lib/libc.js';

export interface UserProcOptions {
  comm?: string;
  uid?: number;
  /** The jail (default prison0). */
  prison?: Prison;
  pid?: number;
}

export interface UserProc {
  p: Proc;
  td: Thread;
  libc: Libc;
}

/** Make a user process with one thread and a Libc bound to it. */
export function userproc(k: Kernel, opts: UserProcOptions = {}): UserProc {
  let maxpid = 0;
  let maxtid = 100000;
  for (const q of k.allproc) {
    maxpid = Math.max(maxpid, q.p_pid);
    for (const t of q.p_threads) maxtid = Math.max(maxtid, t.td_tid);
  }
  const pid = opts.pid ?? 100 + maxpid;
  const p = new Proc(pid, opts.comm ?? 'a.out', {
    cr_uid: opts.uid ?? 0,
    cr_prison: opts.prison ?? k.prison0,
  });
  p.p_state = PRS_NORMAL;
  p.p_pptr = k.proc0;
  p.p_fd = new FileDesc();
  const td = new Thread(maxtid + 1 + pid, p, p.p_comm, PUSER);
  td.td_oncpu = 0;
  // As proc_create does: a user thread starts in its jail's vnet.
  td.td_vnet = k.vimage ? p.p_ucred.cr_prison.pr_vnet : null;
  p.p_threads.push(td);
  return { p, td, libc: new Libc(k, td) };
}

/** Install a file with the given operations in a process; returns the descriptor. */
export function installFile(up: UserProc, ops: FileOps, flags = FREAD | FWRITE): number {
  const fd = up.p.p_fd!.install(new File(ops, null, flags));
  if (fd < 0) throw new Error(`installFile: errno ${-fd}`);
  return fd;
}
