/*
 * ddb/db_main.ts — the ddb backend of kdb, ddb(8) scripts, panic and reset.
 *
 * db_trap: print the entry ("KDB: enter: ...", the thread line, "Stopped at" or
 * "Breakpoint at" with the location), run the script bound to the entry reason
 * (kdb.enter.<why>, else kdb.enter.default) — which is how scripts and tests drive the
 * debugger without a terminal — then read commands from the console until one leaves.
 * Without a console the debugger only runs the script and continues.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { CS_OWN, DB_COMMAND, DbLeave, DbSession, type DbIo } from './ddb.js';
import { KDB_BACKEND, kdb_state, type KdbLeave, type KdbState } from '../kern/subr_kdb.js';
import { db_location, db_thread_line } from './db_thread.js';
import type { Kernel } from '../kern/kernel.js';

export const K = new ObjFile('ddb/db_main.ts', VIMAGEID('src/ddb/db_main.ts'));

/** An io that only collects output (no console: scripts only). */
class NoConsole implements DbIo {
  constructor(private readonly k: Kernel) {}
  readline(): string | null {
    return null;
  }
  write(s: string): void {
    for (const l of s.split('\n')) if (l) this.k.printf(l);
  }
}

export function db_session(k: Kernel): DbSession {
  const st = kdb_state(k);
  const io: DbIo = st.io ?? new NoConsole(k);
  if (!st.session) st.session = new DbSession(k, io);
  const db = st.session as DbSession;
  db.io = io;
  return db;
}

/** Run a script's commands; a DbLeave ends it. */
function db_run_script(db: DbSession, text: string): DbLeave | null {
  for (const cmd of text.split(';')) {
    const c = cmd.trim();
    if (!c) continue;
    db.printf(`db:0:${c}> ${c}\n`);
    try {
      db.command(c);
    } catch (e) {
      if (e instanceof DbLeave) return e;
      throw e;
    }
  }
  return null;
}

function db_trap(k: Kernel, st: KdbState, entry: { why: string; msg: string }): KdbLeave {
  const db = db_session(k);
  db.printf(`KDB: enter: ${entry.msg}\n`);
  const td = st.entered;
  if (td) {
    db.printf(`${db_thread_line(td)}\n`);
    const kind = entry.why === 'breakpoint' ? 'Breakpoint at' : 'Stopped at';
    db.printf(`${kind}      ${db_location(k, td)}\n`);
  }
  const script = st.scripts.get(`kdb.enter.${entry.why}`) ?? st.scripts.get('kdb.enter.default');
  if (script !== undefined) {
    const leave = db_run_script(db, script);
    if (leave) return { how: leave.how, count: leave.count };
  }
  const leave = db.loop();
  return { how: leave.how, count: leave.count };
}

KDB_BACKEND(K, { name: 'ddb', init: () => 1, trap: db_trap });

/* ddb(8) scripting from inside the debugger: script NAME=CMDS, scripts, unscript NAME. */
DB_COMMAND(
  K,
  'script',
  (db, a) => {
    const m = /^([\w.]+)\s*=\s*"?(.*?)"?$/.exec(a.rest);
    if (!m) {
      db.printf('usage: script scriptname=commands\n');
      return;
    }
    kdb_state(db.k).scripts.set(m[1]!, m[2]!);
  },
  'define a script',
  CS_OWN,
);
DB_COMMAND(
  K,
  'scripts',
  (db) => {
    for (const [n, t] of kdb_state(db.k).scripts) db.printf(`${n}=${t}\n`);
  },
  'list scripts',
);
DB_COMMAND(
  K,
  'unscript',
  (db, a) => {
    if (!kdb_state(db.k).scripts.delete(a.rest.trim()))
      db.printf(`script '${a.rest.trim()}' not found\n`);
  },
  'delete a script',
  CS_OWN,
);
DB_COMMAND(
  K,
  'panic',
  () => {
    throw new DbLeave('panic');
  },
  'panic the kernel',
);
DB_COMMAND(
  K,
  'reset',
  () => {
    throw new DbLeave('reset');
  },
  'reset (stop) the kernel',
);
DB_COMMAND(
  K,
  'reboot',
  () => {
    throw new DbLeave('reset');
  },
  'reset (stop) the kernel',
);

/* ddb(8) talks to these, as FreeBSD's does (debug.ddb.scripting.*). */
import {
  CTLFLAG_RD as RD,
  CTLFLAG_RW as RW,
  CTLTYPE_STRING as STR,
  SYSCTL_NODE as NODE,
  SYSCTL_OUT as OUT,
  SYSCTL_PROC as PROC,
} from '../sys/sysctl.js';
import { curkernel } from '../kern/kern_cur.js';
import { EINVAL as E_INVAL, ENOENT as E_NOENT } from '../sys/errno.js';

NODE(K, 'debug.ddb', RW, 'DDB settings');
NODE(K, 'debug.ddb.scripting', RW, 'DDB script settings');

const enc = (s: string): Uint8Array => new TextEncoder().encode(s + '\0');
const dec = (b: Uint8Array): string => new TextDecoder().decode(b).replace(/\0.*$/s, '');

PROC(
  K,
  'debug.ddb.scripting.scripts',
  STR | RD,
  (_o, req) => {
    const st = kdb_state(curkernel());
    return OUT(req, enc([...st.scripts].map(([n, t]) => `${n}=${t}\n`).join('')));
  },
  'A',
  'List of defined scripts',
);

PROC(
  K,
  'debug.ddb.scripting.script',
  STR | RW,
  (_o, req) => {
    const e = OUT(req, enc(''));
    if (e !== 0 || !req.newptr) return e;
    const m = /^([\w.]+)=(.*)$/s.exec(dec(req.newptr));
    if (!m) return E_INVAL;
    kdb_state(curkernel()).scripts.set(m[1]!, m[2]!);
    return 0;
  },
  'A',
  'Set a script',
);

PROC(
  K,
  'debug.ddb.scripting.unscript',
  STR | RW,
  (_o, req) => {
    const e = OUT(req, enc(''));
    if (e !== 0 || !req.newptr) return e;
    return kdb_state(curkernel()).scripts.delete(dec(req.newptr)) ? 0 : E_NOENT;
  },
  'A',
  'Unset a script',
);
