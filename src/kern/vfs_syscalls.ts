/*
 * kern/vfs_syscalls.ts — the file system calls for host files (vfs_host.ts): fstatat(2),
 * getdirentries(2), mkdir(2), unlink(2), rmdir(2); what ls, mkdir and rm need.
 *
 * Paths resolve below the caller's jail root as open(2)'s do.  fstatat accepts only
 * AT_FDCWD as the directory descriptor and fills FreeBSD/amd64's struct stat (224
 * bytes; uid and gid are 0: every process acts as the host user, shown as root).
 * getdirentries reads a directory opened with open(2): struct dirent records (d_fileno,
 * d_off, d_reclen, d_type, d_namlen, d_name, 8-byte aligned), "." and ".." first; the
 * file offset counts entries; *basep gets the offset before the call.
 *
 * XXX: the directory is listed afresh from the host at every call (entries added or
 * removed between calls may be skipped or repeated); no fstat(2) on descriptors yet.
 */

import { EBADF, EINVAL, ENOTDIR } from '../sys/errno.js';
import { MAXPATHLEN } from '../sys/param.js';
import type { Thread } from '../sys/proc.js';
import { copyinstr, copyout, suword64 } from '../vm/vm_map.js';
import { curkernel } from './kern_cur.js';
import { fget } from './sys_generic.js';
import { host_errno, vfs_lookup, vn_ops, type HostFile } from './vfs_host.js';
import {
  hostfs_lstat,
  hostfs_mkdir,
  hostfs_readdir,
  hostfs_rmdir,
  hostfs_unlink,
  is_hosterr,
} from '../host/hostfs.js';

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x0200;
/** sizeof(struct stat) on amd64. */
export const STAT_SIZE = 224;

function path_arg(td: Thread, u: number): string | number {
  return copyinstr(td.td_proc, u, MAXPATHLEN);
}

/** fstatat(fd, path, sb, flag). */
export function sys_fstatat(td: Thread, args: readonly number[]): number {
  const [fd = 0, upath = 0, usb = 0] = args;
  if ((fd | 0) !== AT_FDCWD) return EBADF; /* XXX: only AT_FDCWD */
  const path = path_arg(td, upath);
  if (typeof path === 'number') return path;
  const l = vfs_lookup(curkernel(), td, path);
  if (typeof l === 'number') return l;
  const st = hostfs_lstat(l.hpath);
  if (is_hosterr(st)) return host_errno(st.code);
  const b = new Uint8Array(STAT_SIZE);
  const dv = new DataView(b.buffer);
  const u64 = (off: number, v: number): void => {
    dv.setUint32(off, v >>> 0, true);
    dv.setUint32(off + 4, Math.floor(v / 4294967296) >>> 0, true);
  };
  const ts = (off: number, ns: number): void => {
    const sec = Math.floor(ns / 1e9);
    u64(off, sec);
    u64(off + 8, ns - sec * 1e9);
  };
  u64(8, st.ino);
  u64(16, st.nlink);
  dv.setUint16(24, st.mode & 0xffff, true);
  ts(48, st.atime);
  ts(64, st.mtime);
  ts(80, st.ctime);
  ts(96, st.birthtime);
  u64(112, st.size);
  u64(120, st.blocks);
  dv.setInt32(128, st.blksize, true);
  return copyout(td.td_proc, b, usb);
}

/** getdirentries(fd, buf, nbytes, basep). */
export function sys_getdirentries(td: Thread, args: readonly number[]): number {
  const [fd = 0, ubuf = 0, nbytes = 0, ubasep = 0] = args;
  const ent = fget(td, fd);
  if (ent === undefined) return EBADF;
  const fp = ent.fde_file;
  if (fp.f_ops !== vn_ops) return EINVAL;
  const hf = fp.f_data as HostFile;
  const list = hostfs_readdir(hf.hpath);
  if (is_hosterr(list)) return list.code === 'ENOTDIR' ? ENOTDIR : host_errno(list.code);
  const all = [{ name: '.', type: 4 }, { name: '..', type: 4 }, ...list];
  const out = new Uint8Array(Math.max(0, Math.min(nbytes, 65536)));
  const dv = new DataView(out.buffer);
  const base = fp.f_offset;
  let at = 0;
  let i = base;
  const enc = new TextEncoder();
  for (; i < all.length; i++) {
    const e = all[i]!;
    const name = enc.encode(e.name);
    const reclen = Math.ceil((24 + name.length + 1) / 8) * 8;
    if (at + reclen > out.length) break;
    dv.setUint32(at, (i + 1) >>> 0, true); /* d_fileno: XXX not the inode */
    dv.setUint32(at + 8, i + 1, true); /* d_off: the next entry */
    dv.setUint16(at + 16, reclen, true);
    dv.setUint8(at + 18, e.type);
    dv.setUint16(at + 20, name.length, true);
    out.set(name, at + 24);
    at += reclen;
  }
  if (at === 0 && i < all.length) return EINVAL; /* buffer too small for one entry */
  const ce = copyout(td.td_proc, out.subarray(0, at), ubuf);
  if (ce !== 0) return ce;
  fp.f_offset = i;
  if (ubasep !== 0) {
    const e = suword64(td.td_proc, ubasep, base);
    if (e !== 0) return e;
  }
  td.td_retval[0] = at;
  return 0;
}

function path_op(
  td: Thread,
  upath: number,
  op: (hpath: string) => ReturnType<typeof hostfs_unlink>,
): number {
  const path = path_arg(td, upath);
  if (typeof path === 'number') return path;
  const l = vfs_lookup(curkernel(), td, path);
  if (typeof l === 'number') return l;
  if (l.vpath === '/') return EINVAL;
  const r = op(l.hpath);
  return is_hosterr(r) ? host_errno(r.code) : 0;
}

/** mkdir(path, mode). */
export function sys_mkdir(td: Thread, args: readonly number[]): number {
  const mode = args[1] ?? 0o777;
  return path_op(td, args[0] ?? 0, (h) => hostfs_mkdir(h, mode));
}

/** unlink(path). */
export function sys_unlink(td: Thread, args: readonly number[]): number {
  return path_op(td, args[0] ?? 0, hostfs_unlink);
}

/** rmdir(path). */
export function sys_rmdir(td: Thread, args: readonly number[]): number {
  return path_op(td, args[0] ?? 0, hostfs_rmdir);
}
