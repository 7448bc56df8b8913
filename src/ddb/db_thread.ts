/*
 * ddb/db_thread.ts — thread awareness: show threads, thread X, trace [tid|pid],
 * show thread, ps, show registers.
 *
 * "Thread awareness introduces the following new commands: thread X (switch to thread
 * X, where X is the TID), show threads (list all threads).  The backtrace code has been
 * made more flexible so that one can create backtraces for any thread by giving the
 * thread ID as an argument to trace."  Registers come from the trapframe of the thread
 * that entered the debugger; backtraces of other threads come from the context saved
 * when they last blocked (td_pcb: the JavaScript stack at the switch, async frames
 * included), and the entering thread's from its live context.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { CS_OWN, DB_COMMAND, DB_SHOW_COMMAND, DbError, db_decimal, type DbSession } from './ddb.js';
import { kdb_state } from '../kern/subr_kdb.js';
import {
  TDI_SLEEPING,
  TDI_SUSPENDED,
  TDS_CAN_RUN,
  TDS_INACTIVE,
  TDS_INHIBITED,
  TDS_RUNNING,
  TDS_RUNQ,
  PRS_ZOMBIE,
  type Proc,
  type Thread,
} from '../sys/proc.js';
import type { Kernel } from '../kern/kernel.js';

export const K = new ObjFile('ddb/db_thread.ts', VIMAGEID('src/ddb/db_thread.ts'));

export interface DbFrame {
  readonly fn: string;
  readonly where: string;
}

/** Frames of the debugger's own machinery, never shown in a trace. */
const HIDDEN = /\/src\/(ddb\/[^/]+|kern\/subr_kdb)\.[jt]s:|node:internal|\(native\)/;

/** Parse a V8 stack into frames, innermost first (kernel and userland alike). */
export function db_frames(e: Error | null, hideDebugger = true): DbFrame[] {
  if (!e || !e.stack) return [];
  const out: DbFrame[] = [];
  for (const raw of e.stack.split('\n').slice(1)) {
    const line = raw.trim();
    if (!line.startsWith('at ')) continue;
    if (hideDebugger && HIDDEN.test(line)) continue;
    let m = /^at (?:async )?(.+?) \((.+)\)$/.exec(line);
    let fn: string;
    let loc: string;
    if (m) {
      fn = m[1]!;
      loc = m[2]!;
    } else {
      m = /^at (?:async )?(.+)$/.exec(line);
      fn = '??';
      loc = m ? m[1]! : line;
    }
    fn = fn.replace(/^Object\./, '').replace(/^(new )/, '$1');
    out.push({ fn, where: shortpath(loc) });
  }
  return out;
}

function shortpath(loc: string): string {
  const s = loc.replace(/^file:\/\//, '');
  const i = s.search(/\/(src|test|bench|examples)\//);
  return i >= 0 ? s.slice(i + 1) : s;
}

/** Every thread, process by process (kdb_thr_first / kdb_thr_next). */
export function db_threads(k: Kernel): Thread[] {
  const out: Thread[] = [];
  for (const p of k.allproc) if (p.p_state !== PRS_ZOMBIE) out.push(...p.p_threads);
  return out;
}

export function db_thread_lookup(k: Kernel, tid: number): Thread | undefined {
  return db_threads(k).find((t) => t.td_tid === tid);
}

function db_proc_lookup(k: Kernel, pid: number): Proc | undefined {
  return k.allproc.find((p) => p.p_pid === pid);
}

/** The frames of a thread: live for the one that entered, else its saved context. */
export function db_thread_frames(k: Kernel, td: Thread): DbFrame[] {
  const st = kdb_state(k);
  if (td === st.entered && st.livectx) return db_frames(st.livectx);
  return db_frames(td.td_pcb.pcb_stack);
}

function frameLine(f: DbFrame): string {
  return `${f.fn}() at ${f.where}`;
}

export function db_thread_line(td: Thread): string {
  return `[ thread pid ${td.td_proc.p_pid} tid ${td.td_tid} ]`;
}

/** The location line (the analogue of "Stopped at <sym>: <instruction>"). */
export function db_location(k: Kernel, td: Thread): string {
  const f = db_thread_frames(k, td)[0];
  return f ? `${f.fn}: ${f.where}` : td.td_pcb.pcb_where || '(unknown)';
}

export function db_state_name(td: Thread): string {
  switch (td.td_state) {
    case TDS_INACTIVE:
      return 'INACTIVE';
    case TDS_CAN_RUN:
      return 'CAN RUN';
    case TDS_RUNQ:
      return 'RUNQ';
    case TDS_RUNNING:
      return `RUNNING (CPU ${td.td_oncpu})`;
    case TDS_INHIBITED: {
      const w: string[] = [];
      if (td.td_inhibitors & TDI_SLEEPING) w.push('SLEEPING');
      if (td.td_inhibitors & TDI_SUSPENDED) w.push('SUSPENDED');
      return `INHIBITED: {${w.join(', ')}}`;
    }
    default:
      return `??? (${td.td_state})`;
  }
}

DB_SHOW_COMMAND(
  K,
  'threads',
  (db) => {
    for (const td of db_threads(db.k)) {
      const f = db_thread_frames(db.k, td)[0];
      db.printf(
        `  ${String(td.td_tid).padStart(6)} (pid ${td.td_proc.p_pid} "${td.td_name}")  ${f ? frameLine(f) : '***'}\n`,
      );
    }
  },
  'list all threads',
);

DB_COMMAND(
  K,
  'thread',
  (db, a) => {
    const st = kdb_state(db.k);
    if (a.rest !== '') {
      const tid = db_decimal(a.rest);
      const td = tid === null ? undefined : db_thread_lookup(db.k, tid);
      if (!td) {
        db.printf(`${a.rest}: invalid thread\n`);
        return;
      }
      st.thread = td;
    }
    const td = st.thread;
    if (!td) {
      db.printf('no thread selected\n');
      return;
    }
    db.printf(`${db_thread_line(td)}\n`);
    db.printf(`${db_location(db.k, td)}\n`);
  },
  'switch to thread X (by tid)',
  CS_OWN,
);

function db_trace(db: DbSession, rest: string): void {
  const st = kdb_state(db.k);
  const [what, cnt] = rest.split(',').map((x) => x.trim());
  let count = -1;
  if (cnt !== undefined && cnt !== '') {
    const c = db_decimal(cnt);
    if (c === null) throw new DbError('Bad count');
    count = c;
  }
  let td: Thread | undefined | null = st.thread;
  if (what) {
    const id = db_decimal(what);
    if (id === null) throw new DbError(`Bad thread or process id ${what}`);
    td = db_thread_lookup(db.k, id) ?? db_proc_lookup(db.k, id)?.p_threads[0];
    if (!td) {
      db.printf(`Thread ${what} not found\n`);
      return;
    }
  }
  if (!td) {
    db.printf('no thread\n');
    return;
  }
  db.printf(`Tracing pid ${td.td_proc.p_pid} tid ${td.td_tid} td ${td.td_name}\n`);
  const frames = db_thread_frames(db.k, td);
  const n = count < 0 ? frames.length : Math.min(count, frames.length);
  for (let i = 0; i < n; i++) db.printf(`${frameLine(frames[i]!)}\n`);
  if (frames.length === 0) db.printf('(no saved context: the thread has not run)\n');
}

for (const name of ['trace', 't', 'bt', 'where'])
  DB_COMMAND(K, name, (db, a) => db_trace(db, a.rest), 'stack trace [tid|pid][,count]', CS_OWN);

DB_SHOW_COMMAND(
  K,
  'thread',
  (db, a) => {
    const st = kdb_state(db.k);
    let td: Thread | undefined | null = st.thread;
    if (a.rest !== '') {
      const tid = db_decimal(a.rest);
      td = tid === null ? undefined : db_thread_lookup(db.k, tid);
      if (!td) throw new DbError(`${a.rest}: invalid thread`);
    }
    if (!td) throw new DbError('no thread selected');
    db.printf(`Thread ${td.td_tid} at ${td.td_name}:\n`);
    db.printf(` proc (pid ${td.td_proc.p_pid}): "${td.td_proc.p_comm}"\n`);
    db.printf(` name: ${td.td_name}\n`);
    db.printf(` priority: ${td.td_pri}\n`);
    db.printf(` state: ${db_state_name(td)}\n`);
    if (td.td_wmesg !== null) db.printf(` wmesg: ${td.td_wmesg}  wchan: ${String(td.td_wchan)}\n`);
    db.printf(` lastcpu: ${td.td_lastcpu}\n`);
    if (db.k.vimage) db.printf(` vnet: ${td.td_vnet ? `vnet ${td.td_vnet.vnet_id}` : 'none'}\n`);
    db.printf(` syscalls: ${td.td_nsyscalls}\n`);
  },
  'show one thread',
  CS_OWN,
);

function pstate(p: Proc): string {
  if (p.p_state === PRS_ZOMBIE) return 'Z';
  const td = p.p_threads[0];
  if (!td) return 'N';
  if (td.td_state === TDS_RUNNING) return 'R';
  if (td.td_state === TDS_RUNQ || td.td_state === TDS_CAN_RUN) return 'R';
  if (td.td_inhibitors & TDI_SLEEPING) return 'S';
  return 'D';
}

DB_COMMAND(
  K,
  'ps',
  (db) => {
    db.printf('  pid  ppid  jid   uid  state   wmesg   wchan               cmd\n');
    for (const p of db.k.allproc) {
      const td = p.p_threads[0];
      const jid = p.p_ucred.cr_prison.pr_id;
      db.printf(
        `${String(p.p_pid).padStart(5)} ${String(p.p_pptr?.p_pid ?? 0).padStart(5)} ${String(jid).padStart(4)} ${String(
          p.p_ucred.cr_uid,
        ).padStart(5)}  ${pstate(p).padEnd(6)}  ${(td?.td_wmesg ?? '').padEnd(7)} ${String(
          td?.td_wchan ?? '',
        )
          .slice(0, 18)
          .padEnd(18)}  ${p.p_comm}\n`,
      );
      if (p.p_threads.length > 1)
        for (const t of p.p_threads)
          db.printf(
            `                                                        ${t.td_tid} ${t.td_name}\n`,
          );
    }
  },
  'list processes',
);

/** amd64 syscall argument registers, in order. */
const ARGREGS = ['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9'];

DB_SHOW_COMMAND(
  K,
  'registers',
  (db) => {
    const st = kdb_state(db.k);
    const tf = st.frame;
    const td = st.entered;
    if (!tf || !td) throw new DbError('no trapframe');
    const hex = (n: number): string => `0x${(n < 0 ? n + 2 ** 64 : n).toString(16)}`;
    const reg = (name: string, v: string, note = ''): void =>
      db.printf(`${name.padEnd(12)}${v}${note ? `\t${note}` : ''}\n`);
    reg('trapno', tf.tf_kind, `(${tf.tf_name})`);
    reg('rax', hex(tf.tf_code), tf.tf_kind === 'syscall' ? `SYS_${tf.tf_name}` : '');
    tf.tf_args.slice(0, 6).forEach((v, i) => reg(ARGREGS[i]!, hex(v)));
    const sym = db.k.linker.lookup_symbol(tf.tf_rip);
    reg('rip', sym ? hex(sym.value) : '0', tf.tf_rip);
    reg('retval', hex(tf.tf_rax));
    db.printf(`${db_location(db.k, td)}\n`);
  },
  'registers from the trapframe of the thread that entered',
);
