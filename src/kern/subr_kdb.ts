/*
 * kern/subr_kdb.ts — kdb(4): the debugger framework under DDB.
 *
 * Backends register in the kdb_dbbe_set linker set (KDB_BACKEND); the one whose init
 * returns the highest priority is current (ddb now; a gdb stub could come later).
 * kdb_enter(why, msg) stops the world and runs the backend: "KDB: enter: msg", the
 * entering thread's live context is captured (the analogue of makectx() synthesising a
 * PCB from the trapframe), the thread becomes kdb_thread, and the backend's trap hook
 * runs the command loop.  Because the debugger reads its console synchronously, no other
 * JavaScript — thread, callout, packet or host event — runs until it returns: the world
 * is stopped, and the time spent there is subtracted from the kernel clock
 * (kdb_stopped_ns) so that it does not advance either.
 *
 * Breakpoints are set on text symbols (TextSym): the symbol's `armed` byte is the
 * breakpoint instruction, checked at function entry by BKPT(); the kernel's own table
 * holds the skip counts (`break sym,count` fires on every count-th hit).  `step` arms
 * every text symbol once: the next kernel function entered stops.
 */

import { cpu } from '../host/cpu.js';
import type { Kernel } from './kernel.js';
import { ObjFile, SET_FOREACH, TextSym, VIMAGEID } from '../sys/linker_set.js';
import type { Thread, TrapFrame } from '../sys/proc.js';
import {
  CTLFLAG_RD,
  CTLFLAG_RW,
  CTLTYPE_INT,
  CTLTYPE_STRING,
  SYSCTL_NODE,
  SYSCTL_OUT,
  SYSCTL_PROC,
  SYSCTL_INT,
} from '../sys/sysctl.js';
import { EBUSY, EINVAL } from '../sys/errno.js';
import { curkernel } from './kern_cur.js';

export const K = new ObjFile('kern/subr_kdb.ts', VIMAGEID('src/kern/subr_kdb.ts'));

export const SET_KDB_DBBE = 'kdb_dbbe_set';

export const KDB_WHY_UNSET = 'unset';
export const KDB_WHY_BREAK = 'break';
export const KDB_WHY_PANIC = 'panic';
export const KDB_WHY_SYSCTL = 'sysctl';
export const KDB_WHY_BREAKPOINT = 'breakpoint';
export const KDB_WHY_TRAP = 'trap';

export interface KdbBackend {
  readonly name: string;
  /** Priority: < 0 unavailable; the highest wins. */
  init(k: Kernel): number;
  /** Run the debugger; returns how it was left (and, for a step, how many entries). */
  trap(k: Kernel, st: KdbState, how: KdbEntry): KdbLeave;
}

export function KDB_BACKEND(obj: ObjFile, be: KdbBackend): void {
  obj.DATA_SET(SET_KDB_DBBE, be);
}

/** What the debugger is told about an entry. */
export interface KdbEntry {
  readonly why: string;
  readonly msg: string;
  /** For breakpoints: the symbol hit. */
  readonly sym?: TextSym;
}

export interface KdbLeave {
  readonly how: 'continue' | 'step' | 'reset' | 'panic';
  readonly count: number;
}

/** The console the debugger reads and writes (synchronously). */
export interface KdbIo {
  readline(prompt: string): string | null;
  write(s: string): void;
}

export interface Breakpoint {
  readonly sym: TextSym;
  count: number;
  readonly init: number;
}

export class KdbState {
  active = 0;
  why = KDB_WHY_UNSET;
  dbbe: KdbBackend | null = null;
  available: KdbBackend[] = [];
  /** The thread that entered, its trapframe and its live context. */
  entered: Thread | null = null;
  frame: TrapFrame | null = null;
  livectx: Error | null = null;
  /** The thread selected with `thread X` (kdb_thread). */
  thread: Thread | null = null;
  /** The console; null: no console (scripts only, then the debugger continues). */
  io: KdbIo | null = null;
  /** ddb(8) scripts: name -> commands ("show threads; trace; continue"). */
  readonly scripts = new Map<string, string>();
  readonly breakpoints: Breakpoint[] = [];
  /** Entries left in a `step`: > 0 arms every text symbol. */
  stepping = 0;
  /** Host nanoseconds spent stopped in the debugger (the clock subtracts them). */
  stopped_ns = 0;
  /** Number of entries, for tests and `show kdb`. */
  entries = 0;
  /** Set by `reset`: the kernel stops. */
  reset = false;
  /** The DDB session (dot, variables), kept across entries. */
  session: unknown = null;
}

/** The kernel's kdb state; kdb_init picks the backend on first use. */
export function kdb_state(k: Kernel): KdbState {
  if (k.kdb) return k.kdb;
  const st = new KdbState();
  const objs: ObjFile[] = [...k.image.objs];
  const bes = SET_FOREACH<KdbBackend>(objs, SET_KDB_DBBE);
  let best = -1;
  for (const be of bes) {
    const pri = k.conf.options.has('KDB') ? be.init(k) : -1;
    if (pri >= 0) st.available.push(be);
    if (pri > best) {
      best = pri;
      st.dbbe = be;
    }
  }
  k.kdb = st;
  return st;
}

/** Host time source for the stopped-time accounting (set by the host glue). */
export interface KdbHostTime {
  now_ns(): number;
}

/**
 * kdb_enter(why, msg): enter the debugger from the running thread.  Returns when the
 * debugger is left; 'reset' and 'panic' are reported to the caller.
 */
export function kdb_enter(
  k: Kernel,
  why: string,
  msg: string,
  sym?: TextSym,
  host?: KdbHostTime,
  /** The context to show for the entering thread (an exception's stack), else live. */
  ctx?: Error,
): 'continue' | 'step' | 'reset' | 'panic' | 'none' {
  const st = kdb_state(k);
  if (!st.dbbe || st.active > 0) return 'none';
  st.active++;
  st.entries++;
  st.why = why;
  const td = cpu.td as Thread | null;
  st.entered = td;
  st.thread = td;
  st.frame = td ? td.td_frame : null;
  // makectx(): the live context of the entering thread, deep enough to reach userland.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 64;
  const live = ctx ?? new Error('kdb_enter');
  void live.stack;
  st.livectx = live;
  Error.stackTraceLimit = limit;
  const t0 = host?.now_ns() ?? 0;
  // The world stops: the kernel clock does not advance while the debugger runs.
  const thaw = k.clock.freeze();
  disarm_all(k, st);
  let leave: KdbLeave;
  try {
    leave = st.dbbe.trap(k, st, sym ? { why, msg, sym } : { why, msg });
  } finally {
    thaw();
    if (host) st.stopped_ns += host.now_ns() - t0;
    st.active--;
    st.why = KDB_WHY_UNSET;
    st.livectx = null;
    st.entered = null;
    st.frame = null;
  }
  const how = leave.how;
  if (how === 'step') st.stepping = Math.max(1, leave.count);
  arm_all(k, st);
  if (how === 'reset') {
    st.reset = true;
    k.printf('Rebooting...');
    k.sched.halt('reset from the debugger');
  } else if (how === 'panic' && k.panicstr === null) k.panic('from debugger');
  return how;
}

/* ---------------------------------------------------------------------------------- */
/* Breakpoints                                                                          */

/** break sym[,count]: "Already set." when the symbol has one. */
export function kdb_break_set(k: Kernel, sym: TextSym, count: number): string | null {
  const st = kdb_state(k);
  if (st.breakpoints.some((b) => b.sym === sym)) return 'Already set.';
  if (st.breakpoints.length >= 100) return 'Too many breakpoints.';
  st.breakpoints.unshift({ sym, count: count > 0 ? count : 1, init: count > 0 ? count : 1 });
  return null;
}

export function kdb_break_delete(k: Kernel, sym: TextSym): boolean {
  const st = kdb_state(k);
  const i = st.breakpoints.findIndex((b) => b.sym === sym);
  if (i < 0) return false;
  st.breakpoints.splice(i, 1);
  return true;
}

/** Every text symbol of the kernel image and the loaded modules. */
function all_text(k: Kernel): TextSym[] {
  const out: TextSym[] = [...k.image.text];
  for (const f of k.linker.files) if (f.obj) out.push(...f.obj.text);
  return out;
}

/** Write the breakpoint "instructions" (on resume). */
function arm_all(k: Kernel, st: KdbState): void {
  if (st.stepping > 0) for (const t of all_text(k)) t.armed++;
  for (const b of st.breakpoints) b.sym.armed++;
}

/** Remove them (on every entry), so the debugger sees original code. */
function disarm_all(k: Kernel, st: KdbState): void {
  if (st.stepping > 0) {
    for (const t of all_text(k)) if (t.armed > 0) t.armed--;
  }
  for (const b of st.breakpoints) if (b.sym.armed > 0) b.sym.armed--;
}

/**
 * The breakpoint trap, reached from BKPT() when a symbol is armed in some kernel: stop
 * if this kernel has a breakpoint there whose skip count runs out, or is stepping.
 */
export function kdb_bkpt(sym: TextSym): void {
  const k = cpu.kernel as Kernel | null;
  if (!k || !k.kdb) return;
  const st = k.kdb;
  if (st.active > 0) return;
  if (st.stepping > 0) {
    st.stepping--;
    if (st.stepping === 0) {
      // Disarm the step before entering (the entry re-arms breakpoints only).
      for (const t of all_text(k)) if (t.armed > 0) t.armed--;
      for (const b of st.breakpoints) if (b.sym.armed > 0) b.sym.armed++;
      kdb_enter(k, KDB_WHY_BREAK, `Stopped at ${sym.name}`, sym);
      return;
    }
  }
  const b = st.breakpoints.find((x) => x.sym === sym);
  if (!b) return;
  if (--b.count > 0) return;
  b.count = b.init;
  kdb_enter(k, KDB_WHY_BREAKPOINT, `Breakpoint at ${sym.name}`, sym);
}

/** Function-entry hook: `BKPT(S_ip_input)` at the top of a breakable function. */
export function BKPT(sym: TextSym): void {
  if (sym.armed !== 0) kdb_bkpt(sym);
}

/* ---------------------------------------------------------------------------------- */
/* debug.kdb sysctls                                                                    */

function intOut(req: Parameters<typeof SYSCTL_OUT>[0], v: number): number {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return SYSCTL_OUT(req, b);
}

function intIn(req: Parameters<typeof SYSCTL_OUT>[0]): number | null {
  if (!req.newptr) return null;
  if (req.newptr.length !== 4) return -1;
  return new DataView(req.newptr.buffer, req.newptr.byteOffset, 4).getInt32(0, true);
}

SYSCTL_NODE(K, 'debug.kdb', CTLFLAG_RW, 'KDB nodes');

SYSCTL_PROC(
  K,
  'debug.kdb.available',
  CTLTYPE_STRING | CTLFLAG_RD,
  (_o, req) => {
    const st = kdb_state(curkernel());
    return SYSCTL_OUT(
      req,
      new TextEncoder().encode(st.available.map((b) => b.name + ' ').join('') + '\0'),
    );
  },
  'A',
  'list of available KDB backends',
);

SYSCTL_PROC(
  K,
  'debug.kdb.current',
  CTLTYPE_STRING | CTLFLAG_RW,
  (_o, req) => {
    const st = kdb_state(curkernel());
    const e = SYSCTL_OUT(req, new TextEncoder().encode((st.dbbe?.name ?? '') + '\0'));
    if (e !== 0 || !req.newptr) return e;
    const want = new TextDecoder().decode(req.newptr).replace(/\0.*$/s, '');
    const be = st.available.find((b) => b.name === want);
    if (!be) return EINVAL;
    if (st.active > 0) return EBUSY;
    st.dbbe = be;
    return 0;
  },
  'A',
  'currently selected KDB backend',
);

SYSCTL_PROC(
  K,
  'debug.kdb.enter',
  CTLTYPE_INT | CTLFLAG_RW,
  (_o, req) => {
    const e = intOut(req, 0);
    const v = intIn(req);
    if (e !== 0 || v === null) return e;
    if (v === -1) return EINVAL;
    if (v !== 0) kdb_enter(curkernel(), KDB_WHY_SYSCTL, 'sysctl debug.kdb.enter');
    return 0;
  },
  'I',
  'set to enter the debugger',
);

SYSCTL_PROC(
  K,
  'debug.kdb.panic',
  CTLTYPE_INT | CTLFLAG_RW,
  (_o, req) => {
    const e = intOut(req, 0);
    const v = intIn(req);
    if (e !== 0 || v === null) return e;
    if (v === -1) return EINVAL;
    if (v !== 0) kernel_panic(curkernel(), 'kdb_sysctl_panic');
    return 0;
  },
  'I',
  'set to panic the kernel',
);

/** panic(9) through the kernel's hook (kern_shutdown), else a thrown error. */
export function kernel_panic(k: Kernel, msg: string): never {
  const p = (k as unknown as { panic?: (m: string) => never }).panic;
  if (typeof p === 'function') return p.call(k, msg);
  throw new Error(`panic: ${msg}`);
}

SYSCTL_INT(
  K,
  'debug.debugger_on_panic',
  CTLFLAG_RW,
  {
    get: () => curkernel().debugger_on_panic,
    set: (v: number) => void (curkernel().debugger_on_panic = v),
  },
  'Run debugger on kernel panic',
);
