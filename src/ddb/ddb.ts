/*
 * ddb/ddb.ts — DDB's command interface: tables, syntax, the command loop.
 *
 * As in FreeBSD (sys/ddb/db_command.c), commands live in linker sets — db_cmd_set,
 * db_show_cmd_set, db_show_all_cmd_set — so any kernel object or module adds its own
 * with DB_COMMAND / DB_SHOW_COMMAND / DB_SHOW_ALL_COMMAND.  A session collects the sets
 * of the kernel image and of every loaded module.
 *
 * Syntax: `command[/modifier] [addr][,count]`.  An exact name wins, else a unique prefix
 * ("Ambiguous" / "No such command" otherwise); `show` and `show all` take the next word
 * from their own table.  Addresses are expressions (ddb/db_expr.ts) in radix 16 by
 * default.  An empty line repeats the last command at `next`.  Commands flagged CS_OWN
 * parse their own arguments.
 *
 * The debugger reads its console synchronously: while it runs no other JavaScript runs,
 * so no thread, callout or packet makes progress — the world is stopped.
 */

import type { Kernel } from '../kern/kernel.js';
import { ObjFile, SET_FOREACH } from '../sys/linker_set.js';
import { db_expression, DbExprError, db_radix_parse } from './db_expr.js';

export const SET_DB_CMD = 'db_cmd_set';
export const SET_DB_SHOW_CMD = 'db_show_cmd_set';
export const SET_DB_SHOW_ALL_CMD = 'db_show_all_cmd_set';

export const CS_OWN = 0x1; /* parses its own arguments */
export const CS_MORE = 0x2; /* takes more than one argument */
export const CS_SET_DOT = 0x100; /* moves dot after running */

/** What a command receives: the parsed standard arguments. */
export interface DbArgs {
  readonly have_addr: boolean;
  readonly addr: number;
  readonly count: number;
  readonly modif: string;
  /** The rest of the line (for CS_OWN commands: everything after the name). */
  readonly rest: string;
}

export type DbCmdFunc = (db: DbSession, args: DbArgs) => void;

export interface DbCommand {
  readonly name: string;
  readonly fn: DbCmdFunc;
  readonly flags: number;
  readonly help: string;
}

export function DB_COMMAND(obj: ObjFile, name: string, fn: DbCmdFunc, help = '', flags = 0): void {
  obj.DATA_SET<DbCommand>(SET_DB_CMD, { name, fn, flags, help });
}
export function DB_SHOW_COMMAND(
  obj: ObjFile,
  name: string,
  fn: DbCmdFunc,
  help = '',
  flags = 0,
): void {
  obj.DATA_SET<DbCommand>(SET_DB_SHOW_CMD, { name, fn, flags, help });
}
export function DB_SHOW_ALL_COMMAND(
  obj: ObjFile,
  name: string,
  fn: DbCmdFunc,
  help = '',
  flags = 0,
): void {
  obj.DATA_SET<DbCommand>(SET_DB_SHOW_ALL_CMD, { name, fn, flags, help });
}

/** Thrown by a command to leave the command loop (continue, step, reset). */
export class DbLeave {
  constructor(
    readonly how: 'continue' | 'step' | 'reset' | 'panic',
    readonly count = 1,
  ) {}
}

/** Thrown to abort the current command with a message (db_error). */
export class DbError extends Error {}

export interface DbIo {
  /** Next input line, or null at end of input (treated as `continue`). */
  readline(prompt: string): string | null;
  write(s: string): void;
}

/**
 * One debugger session on a kernel: dot/next, the last command, DDB variables, and the
 * command tables.  The session outlives entries: breakpoints and scripts persist.
 */
export class DbSession {
  dot = 0;
  next = 0;
  prev = 0;
  radix = 16;
  /** $db_vnet: struct vnet address for vnet_entry_ symbols (0 = curvnet). */
  db_vnet = 0;
  /** $db_cpu: CPU for pcpu_entry_ symbols (-1 = curcpu). */
  db_cpu = -1;
  lastLine = '';
  io: DbIo;

  constructor(
    readonly k: Kernel,
    io: DbIo,
  ) {
    this.io = io;
  }

  printf(s: string): void {
    this.io.write(s);
  }

  /** Every command table, from the kernel image and the loaded modules. */
  table(set: string): DbCommand[] {
    const objs: ObjFile[] = [...this.k.image.objs];
    for (const f of this.k.linker.files) if (f.obj) objs.push(f.obj);
    const cmds = SET_FOREACH<DbCommand>(objs, set);
    return cmds.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Exact match, else a unique prefix. */
  lookup(set: string, word: string): DbCommand | 'ambiguous' | null {
    const t = this.table(set);
    const exact = t.find((c) => c.name === word);
    if (exact) return exact;
    const pre = t.filter((c) => c.name.startsWith(word));
    if (pre.length === 1) return pre[0]!;
    return pre.length > 1 ? 'ambiguous' : null;
  }

  /** Evaluate an expression in the session's radix (symbols, $variables). */
  expr(s: string): number {
    return db_expression(this, s);
  }

  /** Run one command line; throws DbLeave to end the loop. */
  command(line: string): void {
    let text = line.trim();
    if (text === '') {
      if (this.lastLine === '') return;
      text = this.lastLine;
      // Repeat at `next`, as DDB does.
      if (/^[a-z]+\S*\s*$/i.test(text)) text = `${text} ${this.next.toString(16)}`;
    } else this.lastLine = text;
    // Several commands separated by ';' (scripts use this).
    if (text.includes(';')) {
      for (const part of text.split(';')) if (part.trim()) this.command(part.trim());
      this.lastLine = text;
      return;
    }
    const m = /^([A-Za-z_][\w]*)(.*)$/.exec(text);
    if (!m) {
      this.printf('Syntax error\n');
      return;
    }
    let word = m[1]!;
    let rest = m[2]!;
    let set = SET_DB_CMD;
    if (word.length >= 2 && 'show'.startsWith(word) && this.lookup(SET_DB_CMD, word) === null)
      word = 'show';
    if (word === 'show') {
      const m2 = /^\s+([A-Za-z_][\w]*)(.*)$/.exec(rest);
      if (!m2) {
        this.help(SET_DB_SHOW_CMD, 'show');
        return;
      }
      word = m2[1]!;
      rest = m2[2]!;
      set = SET_DB_SHOW_CMD;
      if (word.length >= 2 && 'all'.startsWith(word) && this.lookup(SET_DB_SHOW_CMD, word) === null)
        word = 'all';
      if (word === 'all') {
        const m3 = /^\s+([A-Za-z_][\w]*)(.*)$/.exec(rest);
        if (!m3) {
          this.help(SET_DB_SHOW_ALL_CMD, 'show all');
          return;
        }
        word = m3[1]!;
        rest = m3[2]!;
        set = SET_DB_SHOW_ALL_CMD;
      }
    }
    if (set === SET_DB_CMD && word === 'help') {
      this.help(SET_DB_CMD, '');
      return;
    }
    const cmd = this.lookup(set, word);
    if (cmd === 'ambiguous') {
      this.printf('Ambiguous\n');
      return;
    }
    if (cmd === null) {
      this.printf('No such command; use "help" to list available commands\n');
      return;
    }
    let args: DbArgs;
    try {
      args =
        cmd.flags & CS_OWN
          ? { have_addr: false, addr: 0, count: -1, modif: '', rest: rest.trim() }
          : this.parseArgs(rest);
    } catch (e) {
      if (e instanceof DbExprError || e instanceof DbError) {
        this.printf(`${e.message}\n`);
        return;
      }
      throw e;
    }
    try {
      cmd.fn(this, args);
    } catch (e) {
      if (e instanceof DbExprError || e instanceof DbError) this.printf(`${e.message}\n`);
      else throw e;
    }
    if (cmd.flags & CS_SET_DOT) {
      /* dot moved by the command */
    } else if (args.have_addr) {
      this.prev = this.dot;
      this.dot = args.addr;
      this.next = args.addr;
    }
  }

  /** `[/modifier] [addr][,count]` */
  parseArgs(rest: string): DbArgs {
    let s = rest;
    let modif = '';
    const mm = /^\/(\w*)/.exec(s);
    if (mm) {
      modif = mm[1]!;
      s = s.slice(mm[0].length);
    }
    s = s.trim();
    let have_addr = false;
    let addr = this.dot;
    let count = -1;
    const comma = topLevelComma(s);
    const addrText = (comma >= 0 ? s.slice(0, comma) : s).trim();
    if (addrText !== '') {
      addr = this.expr(addrText);
      have_addr = true;
    }
    if (comma >= 0) {
      const ct = s.slice(comma + 1).trim();
      if (ct === '') throw new DbError('Count missing');
      count = this.expr(ct);
    }
    return { have_addr, addr, count, modif, rest: s };
  }

  help(set: string, prefix: string): void {
    const names = this.table(set).map((c) => c.name);
    if (set === SET_DB_CMD) names.push('show', 'help');
    names.sort();
    this.printf(`${prefix ? prefix + ' ' : ''}commands:\n`);
    let line = '';
    for (const n of names) {
      if (line.length + n.length + 1 > 72) {
        this.printf(line.trimEnd() + '\n');
        line = '';
      }
      line += n.padEnd(Math.ceil((n.length + 1) / 12) * 12);
    }
    if (line) this.printf(line.trimEnd() + '\n');
  }

  /**
   * The command loop: prompt `db> `, run commands until one leaves.  End of input is a
   * `continue`.  Returns how the loop was left.
   */
  loop(): DbLeave {
    for (;;) {
      const line = this.io.readline('db> ');
      if (line === null) return new DbLeave('continue');
      try {
        this.command(line);
      } catch (e) {
        if (e instanceof DbLeave) return e;
        throw e;
      }
    }
  }
}

function topLevelComma(s: string): number {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) return i;
  }
  return -1;
}

/** Parse a number in decimal (thread ids, pids, CPU numbers). */
export function db_decimal(s: string): number | null {
  return db_radix_parse(s, 10);
}
