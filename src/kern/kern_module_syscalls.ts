/*
 * kern/kern_module_syscalls.ts — the module side of kld(2): kldfirstmod(2),
 * modnext(2) and modstat(2) (sys/kern/kern_module.c), which `kldstat -v` uses to list
 * the modules a linker file contains.
 *
 *   kldfirstmod(fileid)  the id of the file's first module, 0 if it has none; ENOENT
 *                        for an unknown file
 *   modnext(modid)       0 → the first module; the next in registration order; 0 at
 *                        the end; ENOENT for an unknown id
 *   modstat(modid, stat) struct module_stat (version = sizeof, 56 bytes; EINVAL for
 *                        another version): name, refs (1), id, data (0)
 *
 * Modules of one file are consecutive in the kernel's list here, so kldstat's walk
 * (kldfirstmod, then modnext while the module's file is the same) works as on FreeBSD.
 */

import { EINVAL, ENOENT } from '../sys/errno.js';
import type { Thread } from '../sys/proc.js';
import { copyin, copyout } from '../vm/vm_map.js';
import { curkernel } from './kern_cur.js';

export const MAXMODNAME = 32;
/** sizeof(struct module_stat) on amd64. */
export const MODULE_STAT_SIZE = 56;

/** kldfirstmod(fileid). */
export function sys_kldfirstmod(td: Thread, args: readonly number[]): number {
  const k = curkernel();
  const f = k.linker.files.find((x) => x.id === (args[0] ?? 0));
  if (f === undefined) return ENOENT;
  td.td_retval[0] = f.modules[0]?.id ?? 0;
  return 0;
}

/** modnext(modid). */
export function sys_modnext(td: Thread, args: readonly number[]): number {
  const k = curkernel();
  const mods = [...k.linker.modules].sort((a, b) => a.id - b.id);
  const id = args[0] ?? 0;
  if (id === 0) {
    td.td_retval[0] = mods[0]?.id ?? 0;
    return 0;
  }
  const i = mods.findIndex((m) => m.id === id);
  if (i < 0) return ENOENT;
  td.td_retval[0] = mods[i + 1]?.id ?? 0;
  return 0;
}

/** modstat(modid, stat). */
export function sys_modstat(td: Thread, args: readonly number[]): number {
  const k = curkernel();
  const m = k.linker.modules.find((x) => x.id === (args[0] ?? 0));
  if (m === undefined) return ENOENT;
  const ustat = args[1] ?? 0;
  const vb = copyin(td.td_proc, ustat, 4);
  if (typeof vb === 'number') return vb;
  const version = new DataView(vb.buffer, vb.byteOffset, 4).getInt32(0, true);
  if (version !== MODULE_STAT_SIZE) return EINVAL;
  const b = new Uint8Array(MODULE_STAT_SIZE);
  const dv = new DataView(b.buffer);
  dv.setInt32(0, MODULE_STAT_SIZE, true);
  b.set(new TextEncoder().encode(m.name).subarray(0, MAXMODNAME - 1), 4);
  dv.setInt32(36, 1, true);
  dv.setInt32(40, m.id, true);
  return copyout(td.td_proc, b, ustat);
}
