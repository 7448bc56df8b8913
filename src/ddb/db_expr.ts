/*
 * ddb/db_expr.ts — DDB expressions: numbers, symbols, $variables, arithmetic.
 *
 * Numbers are in the session radix (16 by default); 0x, 0t (decimal) and 0o prefixes
 * override it.  A name that is not a plain kernel symbol is tried as a per-CPU variable
 * (pcpu_entry_<name>, relocated to $db_cpu or the current CPU) and then as a virtualized
 * one (vnet_entry_<name>, relocated to $db_vnet's vnet_data_base, or curvnet's) — so
 * `x/x ipforwarding` reads the copy of the vnet under inspection (FreeBSD's
 * db_sym.c / db_variables.c behaviour).  `*expr` reads a long at an address.
 */

import { cpu } from '../host/cpu.js';
import type { DbSession } from './ddb.js';
import { VNET_SYMPREFIX, vnet_lookup, type Vnet } from '../net/vnet.js';
import { DPCPU_SYMPREFIX } from '../sys/pcpu.js';

export class DbExprError extends Error {}

export function db_radix_parse(s: string, radix: number): number | null {
  let t = s.trim().toLowerCase();
  let r = radix;
  if (t.startsWith('0x')) {
    r = 16;
    t = t.slice(2);
  } else if (t.startsWith('0t')) {
    r = 10;
    t = t.slice(2);
  } else if (t.startsWith('0o')) {
    r = 8;
    t = t.slice(2);
  }
  if (t === '') return null;
  const digits = '0123456789abcdef'.slice(0, r);
  let v = 0;
  for (const ch of t) {
    const d = digits.indexOf(ch);
    if (d < 0) return null;
    v = v * r + d;
  }
  return v;
}

/** The vnet $db_vnet names, or curvnet, or vnet0 when there is none. */
export function db_selected_vnet(db: DbSession): Vnet | null {
  const k = db.k;
  if (!k.vimage) return null;
  if (db.db_vnet !== 0) return vnet_lookup(k, db.db_vnet) ?? null;
  return (cpu.vnet as Vnet | null) ?? k.vnet0;
}

/** Resolve a name to an address, with the per-CPU and per-vnet fallbacks. */
export function db_symbol_value(db: DbSession, name: string): number {
  const k = db.k;
  const plain = k.linker.lookup_symbol(name);
  if (plain) return plain.value;
  const p = k.linker.lookup_symbol(DPCPU_SYMPREFIX + name);
  if (p && p.value >= k.image.dpcpu_start && p.value < k.image.dpcpu_start + k.image.dpcpu_size) {
    const c = db.db_cpu >= 0 ? db.db_cpu : cpu.cpuid;
    return p.value + (k.dpcpu_off[c] ?? 0);
  }
  const v = k.linker.lookup_symbol(VNET_SYMPREFIX + name);
  if (v && v.value >= k.image.vnet_start && v.value < k.image.vnet_start + k.image.vnet_size) {
    const vnet = db_selected_vnet(db);
    if (!vnet) throw new DbExprError(`Symbol '${name}' not found`);
    return v.value + vnet.vnet_data_base;
  }
  throw new DbExprError(`Symbol '${name}' not found`);
}

function db_variable(db: DbSession, name: string): number {
  switch (name) {
    case 'db_vnet':
      return db.db_vnet;
    case 'db_cpu':
      return db.db_cpu;
    case 'curcpu':
      return cpu.cpuid;
    case 'curvnet': {
      const v = cpu.vnet as Vnet | null;
      return v ? v.kva : 0;
    }
    case 'radix':
      return db.radix;
    case 'dot':
      return db.dot;
    case 'next':
      return db.next;
    case 'prev':
      return db.prev;
    default:
      throw new DbExprError(`Unknown variable $${name}`);
  }
}

/** Set a DDB variable (the `set` command). */
export function db_set_variable(db: DbSession, name: string, v: number): void {
  switch (name) {
    case 'db_vnet':
      db.db_vnet = v;
      return;
    case 'db_cpu':
      if (v < -1 || v >= db.k.mp_ncpus) throw new DbExprError(`Invalid value: ${v}`);
      db.db_cpu = v;
      return;
    case 'radix':
      if (v !== 8 && v !== 10 && v !== 16) throw new DbExprError('Invalid radix');
      db.radix = v;
      return;
    case 'curcpu':
    case 'curvnet':
      throw new DbExprError(`$${name} is read-only`);
    default:
      throw new DbExprError(`Unknown variable $${name}`);
  }
}

type Tok =
  | { t: 'num'; v: number }
  | { t: 'id'; v: string }
  | { t: 'var'; v: string }
  | { t: 'op'; v: string };

function lex(db: DbSession, s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if ('+-*/%&|()'.includes(c)) {
      out.push({ t: 'op', v: c });
      i++;
      continue;
    }
    if (c === '$') {
      const m = /^\$([A-Za-z_]\w*)/.exec(s.slice(i));
      if (!m) throw new DbExprError('Syntax error');
      out.push({ t: 'var', v: m[1]! });
      i += m[0].length;
      continue;
    }
    const m = /^[A-Za-z0-9_.]+/.exec(s.slice(i));
    if (!m) throw new DbExprError('Syntax error');
    const w = m[0];
    i += w.length;
    // A word starting with a digit is a number; any other word is a symbol, or — when
    // no symbol has that name — a number in the radix (so `dead` is 0xdead in radix 16).
    if (/^[0-9]/.test(w)) {
      const n = db_radix_parse(w, db.radix);
      if (n === null) throw new DbExprError(`Bad number: ${w}`);
      out.push({ t: 'num', v: n });
    } else out.push({ t: 'id', v: w });
  }
  return out;
}

/** Evaluate an expression string. */
export function db_expression(db: DbSession, s: string): number {
  const toks = lex(db, s);
  let p = 0;
  const peek = (): Tok | undefined => toks[p];
  const isOp = (v: string): boolean => {
    const t = peek();
    return t !== undefined && t.t === 'op' && t.v === v;
  };
  const primary = (): number => {
    const t = toks[p++];
    if (!t) throw new DbExprError('Expression syntax error');
    if (t.t === 'num') return t.v;
    if (t.t === 'var') return db_variable(db, t.v);
    if (t.t === 'id') {
      try {
        return db_symbol_value(db, t.v);
      } catch (e) {
        const n = db_radix_parse(t.v, db.radix);
        if (n !== null) return n;
        throw e;
      }
    }
    if (t.v === '(') {
      const v = sum();
      if (!isOp(')')) throw new DbExprError("Syntax error: missing ')'");
      p++;
      return v;
    }
    if (t.v === '-') return -primary();
    if (t.v === '*') {
      const a = primary();
      const b = db.k.kva.read(a, 8);
      if (!b) throw new DbExprError(`Memory at 0x${a.toString(16)} not mapped`);
      const dv = new DataView(b.buffer, b.byteOffset, 8);
      return dv.getUint32(0, true) + dv.getUint32(4, true) * 4294967296;
    }
    throw new DbExprError('Expression syntax error');
  };
  const product = (): number => {
    let v = primary();
    while (isOp('*') || isOp('/') || isOp('%') || isOp('&')) {
      const op = (toks[p++] as { v: string }).v;
      const r = primary();
      if ((op === '/' || op === '%') && r === 0) throw new DbExprError('Divide by 0');
      v =
        op === '*'
          ? v * r
          : op === '/'
            ? Math.trunc(v / r)
            : op === '%'
              ? v % r
              : Number(BigInt(v) & BigInt(r));
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (isOp('+') || isOp('-') || isOp('|')) {
      const op = (toks[p++] as { v: string }).v;
      const r = product();
      v = op === '+' ? v + r : op === '-' ? v - r : Number(BigInt(v) | BigInt(r));
    }
    return v;
  };
  const v = sum();
  if (p !== toks.length) throw new DbExprError('Extra characters at end of expression');
  return v;
}
