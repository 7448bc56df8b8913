/*
 * kern/kern_kld_syscalls.ts — the kld(2) family over the kernel linker
 * (sys/kern/kern_linker.c: sys_kldload ... sys_kldsym).
 *
 *   kldload(file)            root in the host only (EPERM otherwise); a name without '/'
 *                            or '.' is a module name (EEXIST if that module is already
 *                            loaded), otherwise a file; td_retval = the file id; the
 *                            linker's message goes to the console, its errno to the caller
 *   kldunload(fileid)        ENOENT unknown; EBUSY if the kernel loaded it (no user
 *   kldunloadf(fileid, fl)   reference) or others depend on it; EPERM for the kernel
 *   kldfind(file)            by basename, "foo" or "foo.ko"; ENOENT if absent
 *   kldnext(fileid)          0 → the first file; the next in load order; 0 at the end;
 *                            ENOENT for an unknown id
 *   kldstat(fileid, stat)    struct kld_file_stat, version-checked (EINVAL)
 *   kldsym(fileid, cmd, data) struct kld_sym_lookup: version must be 32 and cmd
 *                            KLDSYM_LOOKUP, else EINVAL; symname by copyinstr
 *                            (MAXPATHLEN); fileid 0 searches every file in load order,
 *                            kernel first; ENOENT when not found
 *
 * kldsym is what libkvm's kvm_nlist uses, so any process — jailed or not — may call it,
 * as in FreeBSD (only a MAC policy could refuse).
 */

import { EINVAL, ENOENT, ENOEXEC, EPERM } from '../sys/errno.js';
import { MAXPATHLEN } from '../sys/param.js';
import { bytes, int, ptr, struct, ulong } from '../sys/types.js';
import type { Thread } from '../sys/proc.js';
import { copyin, copyinstr, copyout } from '../vm/vm_map.js';
import { curkernel } from './kern_cur.js';
import { LinkerError, type LinkerFile } from './kern_linker.js';
import type { Kernel } from './kernel.js';
import { KERNBASE, KVA_TEXT } from './kern_kva.js';

export const KLDSYM_LOOKUP = 1;
export const LINKER_UNLOAD_NORMAL = 0;
export const LINKER_UNLOAD_FORCE = 1;

/** struct kld_file_stat (version 2, 2080 bytes). */
export const kld_file_stat = struct('kld_file_stat', [
  ['version', int],
  ['name', bytes(MAXPATHLEN)],
  ['refs', int],
  ['id', int],
  ['address', ptr] /* caddr_t */,
  ['size', ulong] /* size_t */,
  ['pathname', bytes(MAXPATHLEN)],
]);

/** struct kld_file_stat_1: without pathname (1056 bytes). */
export const kld_file_stat_1 = struct('kld_file_stat_1', [
  ['version', int],
  ['name', bytes(MAXPATHLEN)],
  ['refs', int],
  ['id', int],
  ['address', ptr],
  ['size', ulong],
]);

/** struct kld_sym_lookup (32 bytes). */
export const kld_sym_lookup = struct('kld_sym_lookup', [
  ['version', int] /* sizeof(struct kld_sym_lookup) */,
  ['symname', ptr] /* const char * */,
  ['symvalue', ulong],
  ['symsize', ulong] /* size_t */,
]);

function priv_kld(k: Kernel, td: Thread): number {
  const cr = td.td_proc.p_ucred;
  return cr.cr_prison !== k.prison0 || cr.cr_uid !== 0 ? EPERM : 0;
}

function setU64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v >>> 0, true);
  dv.setUint32(off + 4, Math.floor(v / 4294967296) >>> 0, true);
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i >= 0 ? p.slice(i + 1) : p;
}

/**
 * The load address and size of a file: where the linker mapped it (its text and the
 * reference copies of its data); the kernel (file 1) starts at KERNBASE and covers at
 * least the page before its text.
 */
export function linker_file_span(lf: LinkerFile): { address: number; size: number } {
  if (lf.id !== 1) return { address: lf.address, size: lf.size };
  let hi = 0;
  for (const s of lf.symbols.values()) if (s.type === 'T') hi = Math.max(hi, s.value + s.size);
  return { address: KERNBASE, size: Math.max(hi, KVA_TEXT) - KERNBASE };
}

/** kldload(file). */
export async function sys_kldload(td: Thread, args: readonly number[]): Promise<number> {
  const k = curkernel();
  const pe = priv_kld(k, td);
  if (pe !== 0) return pe;
  const file = copyinstr(td.td_proc, args[0] ?? 0, MAXPATHLEN);
  if (typeof file === 'number') return file;
  const isfile = file.includes('/') || file.includes('.');
  try {
    const lf = await k.linker.load_module(file, isfile ? null : file);
    lf.userrefs++;
    td.td_retval[0] = lf.id;
    return 0;
  } catch (e) {
    if (e instanceof LinkerError) {
      k.printf(e.message);
      return e.errno === 0 ? ENOEXEC : e.errno;
    }
    throw e;
  }
}

function kern_kldunload(td: Thread, fileid: number, flags: number): number {
  const k = curkernel();
  const pe = priv_kld(k, td);
  if (pe !== 0) return pe;
  if (flags !== LINKER_UNLOAD_NORMAL && flags !== LINKER_UNLOAD_FORCE) return EINVAL;
  const lf = k.linker.find_file(fileid);
  if (lf === undefined) return ENOENT;
  if (lf.userrefs === 0 && lf.id !== 1)
    k.printf('kldunload: attempt to unload file that was loaded by the kernel');
  return k.linker.kldunload(fileid, flags === LINKER_UNLOAD_FORCE);
}

/** kldunload(fileid). */
export function sys_kldunload(td: Thread, args: readonly number[]): number {
  return kern_kldunload(td, args[0] ?? 0, LINKER_UNLOAD_NORMAL);
}

/** kldunloadf(fileid, flags). */
export function sys_kldunloadf(td: Thread, args: readonly number[]): number {
  return kern_kldunload(td, args[0] ?? 0, args[1] ?? 0);
}

/** kldfind(file). */
export function sys_kldfind(td: Thread, args: readonly number[]): number {
  const k = curkernel();
  const file = copyinstr(td.td_proc, args[0] ?? 0, MAXPATHLEN);
  if (typeof file === 'number') return file;
  const name = basename(file);
  const lf = k.linker.files.find((f) => f.filename === name || f.filename === `${name}.ko`);
  if (lf === undefined) return ENOENT;
  td.td_retval[0] = lf.id;
  return 0;
}

/** kldnext(fileid). */
export function sys_kldnext(td: Thread, args: readonly number[]): number {
  const files = curkernel().linker.files;
  const fileid = args[0] ?? 0;
  let next: LinkerFile | undefined;
  if (fileid !== 0) {
    const i = files.findIndex((f) => f.id === fileid);
    if (i < 0) return ENOENT;
    next = files[i + 1];
  } else next = files[0];
  td.td_retval[0] = next ? next.id : 0;
  return 0;
}

/** kldstat(fileid, stat). */
export function sys_kldstat(td: Thread, args: readonly number[]): number {
  const k = curkernel();
  const fileid = args[0] ?? 0;
  const ustat = args[1] ?? 0;
  const vb = copyin(td.td_proc, ustat, 4);
  if (typeof vb === 'number') return vb;
  const version = new DataView(vb.buffer).getInt32(0, true);
  if (version !== kld_file_stat_1.size && version !== kld_file_stat.size) return EINVAL;
  const lf = k.linker.find_file(fileid);
  if (lf === undefined) return ENOENT;
  const st = new Uint8Array(kld_file_stat.size);
  const dv = new DataView(st.buffer);
  const enc = new TextEncoder();
  const L = kld_file_stat.byName;
  dv.setInt32(L.get('version')!.offset, version, true);
  st.set(enc.encode(lf.filename).subarray(0, MAXPATHLEN - 1), L.get('name')!.offset);
  dv.setInt32(L.get('refs')!.offset, lf.refs, true);
  dv.setInt32(L.get('id')!.offset, lf.id, true);
  const span = linker_file_span(lf);
  setU64(dv, L.get('address')!.offset, span.address);
  setU64(dv, L.get('size')!.offset, span.size);
  st.set(enc.encode(lf.pathname).subarray(0, MAXPATHLEN - 1), L.get('pathname')!.offset);
  return copyout(td.td_proc, st.subarray(0, version), ustat);
}

/** kldsym(fileid, cmd, data). */
export function sys_kldsym(td: Thread, args: readonly number[]): number {
  const k = curkernel();
  const [fileid = 0, cmd = 0, udata = 0] = args;
  const p = td.td_proc;
  const b = copyin(p, udata, kld_sym_lookup.size);
  if (typeof b === 'number') return b;
  const dv = new DataView(b.buffer);
  if (dv.getInt32(0, true) !== kld_sym_lookup.size || cmd !== KLDSYM_LOOKUP) return EINVAL;
  const symname = dv.getUint32(8, true) + dv.getUint32(12, true) * 4294967296;
  const name = copyinstr(p, symname, MAXPATHLEN);
  if (typeof name === 'number') return name;
  if (fileid !== 0 && k.linker.find_file(fileid) === undefined) return ENOENT;
  const sym = k.linker.lookup_symbol(name, fileid);
  if (sym === undefined) return ENOENT;
  setU64(dv, 16, sym.value);
  setU64(dv, 24, sym.size);
  return copyout(p, b, udata);
}
