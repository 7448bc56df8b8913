/*
 * ddb/db_examine.ts — examine (x), print (p) and set: the memory and value commands.
 *
 * x/FMT addr[,count]: size b (1), h (2), l (4, the default) or g (8); format x (hex),
 * z (signed hex), d (signed decimal), u (unsigned decimal), o (octal), r (signed, in the
 * radix), c (character), s (NUL-terminated string), a (address with its symbol).  Each
 * line starts with the address as symbol+offset.  Memory is the kernel's virtual
 * address space (kern/kern_kva.ts): vnet regions, DPCPU blocks, struct vnet, counters.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { CS_OWN, DB_COMMAND, DbError, DbLeave, type DbSession } from './ddb.js';
import { db_set_variable } from './db_expr.js';

export const K = new ObjFile('ddb/db_examine.ts', VIMAGEID('src/ddb/db_examine.ts'));

/**
 * Address as symbol+offset (within 0x10000, as db_maxoff), else hex.  An address inside
 * a vnet's data or a CPU's DPCPU block is named by its master symbol, so a relocated
 * variable reads as `vnet_entry_ipforwarding` in whichever vnet it was examined.
 */
export function db_printsym(db: DbSession, addr: number): string {
  const k = db.k;
  let master = addr;
  for (const v of k.vnet_head)
    if (addr >= v.vnet_data_mem && addr < v.vnet_data_mem + v.v.size)
      master = addr - v.vnet_data_base;
  for (const pc of k.pcpu)
    if (pc.pc_dyn && addr >= pc.pc_dyn.kva && addr < pc.pc_dyn.kva + pc.pc_dyn.size)
      master = addr - pc.pc_dynamic;
  const s = db.k.linker.symbolize(master);
  if (!s) return `0x${addr.toString(16)}`;
  return s.off === 0 ? s.sym.name : `${s.sym.name}+0x${s.off.toString(16)}`;
}

function fmtValue(db: DbSession, v: number, size: number, f: string): string {
  const bits = size * 8;
  const signed = (): number => (v >= 2 ** (bits - 1) ? v - 2 ** bits : v);
  switch (f) {
    case 'x':
      return v.toString(16);
    case 'z': {
      const sv = signed();
      return sv < 0 ? `-${(-sv).toString(16)}` : sv.toString(16);
    }
    case 'd':
      return String(signed());
    case 'u':
      return String(v);
    case 'o':
      return v.toString(8);
    case 'r': {
      const sv = signed();
      return sv < 0 ? `-${(-sv).toString(db.radix)}` : sv.toString(db.radix);
    }
    case 'c':
      return v >= 0x20 && v < 0x7f ? String.fromCharCode(v) : `\\${v.toString(8).padStart(3, '0')}`;
    case 'a':
      return db_printsym(db, v);
    default:
      throw new DbError(`Bad modifier '${f}'`);
  }
}

export function db_examine(db: DbSession, addr: number, modif: string, count: number): void {
  let size = 4;
  let fmt = 'x';
  for (const ch of modif) {
    if (ch === 'b') size = 1;
    else if (ch === 'h') size = 2;
    else if (ch === 'l') size = 4;
    else if (ch === 'g') size = 8;
    else fmt = ch;
  }
  if (fmt === 'a') size = 8;
  if (count < 0) count = 1;
  const k = db.k;
  if (fmt === 's') {
    for (let n = 0; n < count; n++) {
      let str = '';
      let a = addr;
      for (;;) {
        const b = k.kva.read(a, 1);
        if (!b) throw new DbError(`Memory at 0x${a.toString(16)} not mapped`);
        a++;
        if (b[0] === 0 || str.length > 4096) break;
        str += String.fromCharCode(b[0]!);
      }
      db.printf(`${db_printsym(db, addr)}:\t${str}\n`);
      addr = a;
    }
    db.next = addr;
    return;
  }
  const perLine = size === 8 ? 2 : 4;
  let line = '';
  for (let n = 0; n < count; n++) {
    const b = k.kva.read(addr, size);
    if (!b) {
      if (line) db.printf(line + '\n');
      throw new DbError(`Memory at 0x${addr.toString(16)} not mapped`);
    }
    const dv = new DataView(b.buffer, b.byteOffset, size);
    const v =
      size === 1
        ? dv.getUint8(0)
        : size === 2
          ? dv.getUint16(0, true)
          : size === 4
            ? dv.getUint32(0, true)
            : dv.getUint32(0, true) + dv.getUint32(4, true) * 4294967296;
    if (n % perLine === 0) {
      if (line) db.printf(line + '\n');
      line = `${db_printsym(db, addr)}:`;
    }
    line += `\t${fmtValue(db, v, size, fmt)}`;
    addr += size;
  }
  if (line) db.printf(line + '\n');
  db.next = addr;
}

DB_COMMAND(
  K,
  'examine',
  (db, a) => db_examine(db, a.addr, a.modif || 'x', a.count),
  'examine memory: x/FMT addr[,count]',
);
DB_COMMAND(K, 'x', (db, a) => db_examine(db, a.addr, a.modif || 'x', a.count), 'examine memory');

/** print[/fmt] expr: the value in the radix (or x/d/u/o/z/c/a). */
function db_print(db: DbSession, a: { have_addr: boolean; addr: number; modif: string }): void {
  if (!a.have_addr) throw new DbError('Missing expression');
  const f = a.modif || 'r';
  db.printf(`${fmtValue(db, a.addr < 0 ? a.addr + 2 ** 64 : a.addr, 8, f === 'r' ? 'x' : f)}\n`);
}
DB_COMMAND(K, 'print', (db, a) => db_print(db, a), 'print an expression');
DB_COMMAND(K, 'p', (db, a) => db_print(db, a), 'print an expression');

/** set $var = expr */
DB_COMMAND(
  K,
  'set',
  (db, a) => {
    const m = /^\$([A-Za-z_]\w*)\s*=?\s*(.+)$/.exec(a.rest);
    if (!m) throw new DbError('Syntax error: set $variable = expression');
    db_set_variable(db, m[1]!, db.expr(m[2]!));
  },
  'set a DDB variable',
  CS_OWN,
);

DB_COMMAND(
  K,
  'continue',
  () => {
    throw new DbLeave('continue');
  },
  'leave the debugger',
);
DB_COMMAND(
  K,
  'c',
  () => {
    throw new DbLeave('continue');
  },
  'leave the debugger',
);
