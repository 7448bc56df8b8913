/*
 * kern/kern_file.ts — sysctl kern.file: the open files of every process the caller
 * may see (FreeBSD's sysctl_kern_file in sys/kern/kern_descrip.c), as struct xfile
 * records.  sockstat(1) joins them with the protocols' pcblists: a socket's xf_data is
 * its so_gencnt, the number the pcblist gives as xso_so.
 *
 * Deliberate difference: FreeBSD's sockstat reads each command name from kern.proc;
 * there is no kern.proc yet, so xfile carries the process's command in xf_comm.
 * Kernel pointers (xf_file) are 0.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { CTLFLAG_RD, CTLTYPE_OPAQUE, SYSCTL_OUT, SYSCTL_PROC } from '../sys/sysctl.js';
import { bytes, i16, i32, i64, struct, u32, u64, writeScalar } from '../sys/types.js';
import { PRS_ZOMBIE } from '../sys/proc.js';
import type { Socket } from '../sys/socketvar.js';
import { curkernel, curthread_or_null } from './kern_cur.js';
import { p_cansee } from './kern_proc.js';

export const K = new ObjFile('kern/kern_file.ts', VIMAGEID('src/kern/kern_file.ts'));

/* xf_type (sys/file.h DTYPE_*) */
export const DTYPE_NONE = 0;
export const DTYPE_VNODE = 1;
export const DTYPE_SOCKET = 2;
export const DTYPE_PIPE = 3;
export const DTYPE_FIFO = 4;
export const DTYPE_KQUEUE = 5;
export const DTYPE_CRYPTO = 6;
export const DTYPE_MQUEUE = 7;
export const DTYPE_SHM = 8;
export const DTYPE_SEM = 9;
export const DTYPE_PTS = 10;
export const DTYPE_DEV = 11;

const DTYPES: Readonly<Record<string, number>> = {
  socket: DTYPE_SOCKET,
  pipe: DTYPE_PIPE,
  vnode: DTYPE_VNODE,
};

export const XF_COMM_LEN = 20;

/** struct xfile (FreeBSD's fields, then vimage's xf_comm). */
export const xfile = struct('xfile', [
  ['xf_size', u64],
  ['xf_pid', i32],
  ['xf_uid', u32],
  ['xf_fd', i32],
  ['_xf_int_pad1', i32],
  ['xf_file', u64],
  ['xf_type', i16],
  ['_xf_short_pad1', i16],
  ['xf_count', i32],
  ['xf_data', u64],
  ['xf_offset', i64],
  ['xf_flag', u32],
  ['xf_comm', bytes(XF_COMM_LEN)],
]);

function kern_file(): Uint8Array {
  const k = curkernel();
  const td = curthread_or_null();
  const recs: Uint8Array[] = [];
  for (const p of k.allproc) {
    if (p.p_state === PRS_ZOMBIE || p.p_fd === null) continue;
    if (td !== null && p_cansee(td, p) !== 0) continue;
    p.p_fd.fd_ofiles.forEach((ent, fd) => {
      if (ent === undefined) return;
      const fp = ent.fde_file;
      const r = new Uint8Array(xfile.size);
      const dv = new DataView(r.buffer);
      const w = (n: string, v: number): void => {
        const f = xfile.byName.get(n)!;
        writeScalar(dv, f.offset, f.type, v);
      };
      const type = DTYPES[fp.f_ops.fo_type] ?? (fp.f_ops.fo_type === 'tty' ? DTYPE_PTS : DTYPE_DEV);
      w('xf_size', xfile.size);
      w('xf_pid', p.p_pid);
      w('xf_uid', p.p_ucred.cr_uid);
      w('xf_fd', fd);
      w('xf_type', type);
      w('xf_count', fp.f_count);
      w('xf_data', type === DTYPE_SOCKET ? (fp.f_data as Socket).so_gencnt : 0);
      w('xf_offset', fp.f_offset);
      w('xf_flag', fp.f_flag);
      r.set(
        new TextEncoder().encode(p.p_comm).subarray(0, XF_COMM_LEN - 1),
        xfile.byName.get('xf_comm')!.offset,
      );
      recs.push(r);
    });
  }
  const out = new Uint8Array(recs.length * xfile.size);
  recs.forEach((r, i) => out.set(r, i * xfile.size));
  return out;
}

SYSCTL_PROC(
  K,
  'kern.file',
  CTLTYPE_OPAQUE | CTLFLAG_RD,
  (_o, req) => SYSCTL_OUT(req, kern_file()),
  'S,xfile',
  'Entire file table',
);
