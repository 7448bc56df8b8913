/*
 * ddb/db_vnet.ts — DDB commands for VNET and DPCPU: show vnet, show all vnets,
 * show vnet_sysinit, show vnet_sysuninit, show pcpu, show all pcpu, show dpcpu_off
 * (FreeBSD's net/vnet.c and kern/subr_pcpu.c DB_SHOW_COMMANDs, same output fields).
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import {
  DB_SHOW_ALL_COMMAND,
  DB_SHOW_COMMAND,
  DbError,
  db_decimal,
  type DbSession,
} from './ddb.js';
import { VNET_MAGIC_N, vnet_lookup, type Vnet, type VnetSysinit } from '../net/vnet.js';
import { si_sub_name } from '../sys/kernel.js';
import type { Pcpu } from '../sys/pcpu.js';

export const K = new ObjFile('ddb/db_vnet.ts', VIMAGEID('src/ddb/db_vnet.ts'));

const hex = (n: number): string => `0x${n.toString(16)}`;

function db_vnet_print(db: DbSession, v: Vnet): void {
  const ok = v.vnet_magic_n === VNET_MAGIC_N;
  db.printf(`vnet ${v.vnet_id} = ${hex(v.kva)}\n`);
  db.printf(
    ` vnet_magic_n      = ${hex(v.vnet_magic_n)} (${ok ? 'ok' : `mismatch=${hex(VNET_MAGIC_N)}`})\n`,
  );
  db.printf(` vnet_ifcnt        = ${v.vnet_ifcnt}\n`);
  db.printf(` vnet_sockcnt      = ${v.vnet_sockcnt}\n`);
  db.printf(` vnet_data_mem     = ${hex(v.vnet_data_mem)}\n`);
  db.printf(` vnet_data_base    = ${hex(v.vnet_data_base)}\n`);
  db.printf(` vnet_state        = ${hex(v.vnet_state)} (${si_sub_name(v.vnet_state)})\n`);
  db.printf(` vnet_shutdown     = ${v.vnet_shutdown ? 1 : 0}\n`);
  db.printf('\n');
}

DB_SHOW_ALL_COMMAND(
  K,
  'vnets',
  (db) => {
    if (!db.k.vimage) {
      db.printf('no vnets: kernel built without options VIMAGE\n');
      return;
    }
    for (const v of db.k.vnet_head) db_vnet_print(db, v);
  },
  'list all vnets',
);

DB_SHOW_COMMAND(
  K,
  'vnet',
  (db, a) => {
    if (!a.have_addr) {
      db.printf('usage: show vnet <struct vnet *> (or the vnet id)\n');
      return;
    }
    // An id typed in decimal (the hex parse of "12" is 0x12) or a struct address.
    const asDec = db_decimal(a.rest);
    const v = (asDec !== null ? vnet_lookup(db.k, asDec) : undefined) ?? vnet_lookup(db.k, a.addr);
    if (!v) throw new DbError(`no vnet ${a.rest}`);
    db_vnet_print(db, v);
  },
  'show one vnet',
);

function db_show_vnet_sysinit_list(db: DbSession, list: readonly VnetSysinit[]): void {
  db.printf('  Subsystem  Order\n');
  db.printf('  Function(Name)(Arg)\n');
  for (const vs of list) {
    db.printf(`  ${hex(vs.subsystem).padStart(9)} ${hex(vs.order).padStart(10)}\n`);
    db.printf(`  ${vs.name}(${vs.obj.path})(${vs.arg === undefined ? '0' : String(vs.arg)})\n`);
  }
}

DB_SHOW_COMMAND(
  K,
  'vnet_sysinit',
  (db) => {
    db.printf('VNET_SYSINIT vs Name(Ptr)\n');
    db_show_vnet_sysinit_list(db, db.k.vnet_constructors);
  },
  'list VNET constructors in order',
);

DB_SHOW_COMMAND(
  K,
  'vnet_sysuninit',
  (db) => {
    db.printf('VNET_SYSUNINIT vs Name(Ptr)\n');
    db_show_vnet_sysinit_list(db, [...db.k.vnet_destructors].reverse());
  },
  'list VNET destructors in the order they run',
);

function db_show_pcpu(db: DbSession, pc: Pcpu): void {
  const td = pc.pc_curthread;
  db.printf(`cpuid        = ${pc.pc_cpuid}\n`);
  db.printf(`dynamic pcpu = ${hex(pc.pc_dynamic)}\n`);
  db.printf(
    `curthread    = ${td ? `${hex(0)}: pid ${td.td_proc.p_pid} tid ${td.td_tid} "${td.td_name}"` : 'none'}\n`,
  );
  const idle = pc.pc_idlethread;
  db.printf(
    `idlethread   = ${idle ? `pid ${idle.td_proc.p_pid} tid ${idle.td_tid} "${idle.td_name}"` : 'none'}\n`,
  );
  if (db.k.vimage) db.printf(`curvnet      = ${td && td.td_vnet ? hex(td.td_vnet.kva) : '0'}\n`);
}

DB_SHOW_COMMAND(
  K,
  'pcpu',
  (db, a) => {
    let id = 0;
    if (a.have_addr) {
      const d = db_decimal(a.rest);
      id = d ?? a.addr;
    } else id = db.db_cpu >= 0 ? db.db_cpu : 0;
    const pc = db.k.pcpu[id];
    if (!pc) throw new DbError(`CPU ${id} not found`);
    db_show_pcpu(db, pc);
  },
  'show a CPU',
);

DB_SHOW_ALL_COMMAND(
  K,
  'pcpu',
  (db) => {
    for (const pc of db.k.pcpu) {
      db_show_pcpu(db, pc);
      db.printf('\n');
    }
  },
  'show all CPUs',
);

DB_SHOW_COMMAND(
  K,
  'dpcpu_off',
  (db) => {
    for (const pc of db.k.pcpu)
      db.printf(
        `dpcpu_off[${pc.pc_cpuid}] = ${hex(pc.pc_dynamic)} (${hex(pc.pc_dynamic + db.k.image.dpcpu_start)})\n`,
      );
  },
  'show the DPCPU offsets',
);
