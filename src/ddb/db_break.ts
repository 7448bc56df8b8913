/*
 * ddb/db_break.ts — breakpoints: break SYMBOL[,count], delete, show breaks, step.
 *
 * Breakpoints are on kernel text symbols from the linker's symbol table (ip_input,
 * tcp_input, ...); the count is a skip count — the breakpoint fires on every count-th
 * hit and re-arms.  `step[,n]` resumes and stops at the n-th kernel function entered.
 */

import { ObjFile, VIMAGEID, type TextSym } from '../sys/linker_set.js';
import {
  CS_OWN,
  DB_COMMAND,
  DB_SHOW_COMMAND,
  DbError,
  DbLeave,
  db_decimal,
  type DbSession,
} from './ddb.js';
import { kdb_break_delete, kdb_break_set, kdb_state } from '../kern/subr_kdb.js';

export const K = new ObjFile('ddb/db_break.ts', VIMAGEID('src/ddb/db_break.ts'));

/** A text symbol by name, from the kernel image or a loaded module. */
export function db_text_lookup(db: DbSession, name: string): TextSym | undefined {
  for (const t of db.k.image.text) if (t.name === name) return t;
  for (const f of db.k.linker.files)
    if (f.obj) for (const t of f.obj.text) if (t.name === name) return t;
  return undefined;
}

function parseSymCount(db: DbSession, rest: string): { sym: TextSym; count: number } {
  const [name, cnt] = rest.split(',').map((x) => x.trim());
  if (!name) throw new DbError('Missing symbol');
  const sym = db_text_lookup(db, name);
  if (!sym) throw new DbError(`Symbol '${name}' not found`);
  let count = 1;
  if (cnt !== undefined && cnt !== '') {
    const c = db_decimal(cnt);
    if (c === null || c < 1) throw new DbError('Bad count');
    count = c;
  }
  return { sym, count };
}

for (const name of ['break', 'b'])
  DB_COMMAND(
    K,
    name,
    (db, a) => {
      const { sym, count } = parseSymCount(db, a.rest);
      const err = kdb_break_set(db.k, sym, count);
      if (err) db.printf(`${err}\n`);
    },
    'set a breakpoint: break SYMBOL[,count]',
    CS_OWN,
  );

for (const name of ['delete', 'd'])
  DB_COMMAND(
    K,
    name,
    (db, a) => {
      const { sym } = parseSymCount(db, a.rest);
      if (!kdb_break_delete(db.k, sym)) db.printf('Not set.\n');
    },
    'delete a breakpoint',
    CS_OWN,
  );

DB_SHOW_COMMAND(
  K,
  'breaks',
  (db) => {
    const st = kdb_state(db.k);
    if (st.breakpoints.length === 0) {
      db.printf('No breakpoints set\n');
      return;
    }
    db.printf(' Map      Count    Address\n');
    for (const b of st.breakpoints)
      db.printf(
        `*kernel   ${String(b.init).padStart(5)}    ${b.sym.name}  (0x${b.sym.addr.toString(16)})\n`,
      );
  },
  'list breakpoints',
);

for (const name of ['step', 's'])
  DB_COMMAND(
    K,
    name,
    (_db, a) => {
      throw new DbLeave('step', a.count > 0 ? a.count : 1);
    },
    'resume and stop at the next kernel function entered',
  );
