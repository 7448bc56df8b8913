/*
 * kern/vfs_host.ts — regular files for processes: the host's files below the jail root.
 *
 * There is no VFS here, no vnodes and no mounts: a path that is not a device (devopen,
 * dev/memdev.ts) names a host file below the root of the caller's jail.  The root of
 * prison0 is the host directory given at boot (`root`, default: the directory the host
 * process started in); the root of a jail is its `path=` below its parent's root, as
 * jail(8) would chroot it.
 *
 * Name lookup (namei) is lexical: a relative path starts at the process's working
 * directory (p_cwd, a path inside the jail), `.` and empty components are dropped and
 * `..` pops a component but never above the root — exactly what `..` does at the root
 * directory of a chroot.  The resolved host path is then checked with realpath: a
 * symbolic link that leads out of the root is EACCES (FreeBSD would follow it inside the
 * chroot; we cannot re-root a host link, so we refuse it).
 *
 * The file operations use the host descriptor synchronously (host/hostfs.ts): read and
 * write at uio_offset (pread/pwrite and the file position alike), O_APPEND writes at the
 * end.  Host errors come back as FreeBSD errno values by name.
 *
 * stat, getdirentries, mkdir, unlink and rmdir are in kern/vfs_syscalls.ts.
 *
 * XXX: no rename, links or permissions beyond the host's own (every process acts as the
 * host user).
 */

import { posix } from 'node:path';
import { EACCES, EIO, EISDIR, ENOTDIR } from '../sys/errno.js';
import { errno_byname } from '../sys/errno.js';
import {
  O_ACCMODE,
  O_APPEND,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  FFLAGS,
  FMASK,
} from '../sys/fcntl.js';
import type { Thread } from '../sys/proc.js';
import { File, FNONBLOCK, uiomove, type FileOps, type Uio } from './kern_descrip.js';
import type { Kernel } from './kernel.js';
import type { Prison } from './kern_jail.js';
import { FIOASYNC, FIONBIO } from '../sys/sockio.js';
import { ENOIOCTL } from '../sys/errno.js';
import {
  hostfs_close,
  hostfs_fstat,
  hostfs_open,
  hostfs_pread,
  hostfs_pwrite,
  hostfs_realpath,
  hostfs_stat,
  is_hosterr,
} from '../host/hostfs.js';

/** A host error name as an errno (EIO for anything unknown). */
export function host_errno(code: string): number {
  return errno_byname(code) ?? EIO;
}

/** The host directory that is pr's root. */
export function prison_root(k: Kernel, pr: Prison): string {
  const base = k.rootdir;
  if (pr === k.prison0 || pr.pr_path === '/' || pr.pr_path === '') return base;
  return posix.join(base, vfs_normalize('/', pr.pr_path));
}

/** Lexical lookup: an absolute path inside the root, `..` clamped at "/". */
export function vfs_normalize(cwd: string, path: string): string {
  const parts: string[] = [];
  const all = path.startsWith('/') ? path : `${cwd}/${path}`;
  for (const c of all.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  return '/' + parts.join('/');
}

export interface VfsLookup {
  /** The path inside the jail. */
  readonly vpath: string;
  /** The host path. */
  readonly hpath: string;
}

/** namei: resolve path for td; EACCES when a link leads out of the root. */
export function vfs_lookup(k: Kernel, td: Thread, path: string): VfsLookup | number {
  const p = td.td_proc;
  const root = prison_root(k, p.p_ucred.cr_prison);
  const vpath = vfs_normalize(p.p_cwd, path);
  const hpath = vpath === '/' ? root : posix.join(root, vpath);
  /* Check the deepest existing ancestor really lies below the root. */
  const rroot = hostfs_realpath(root);
  if (is_hosterr(rroot)) return host_errno(rroot.code);
  let probe = hpath;
  for (;;) {
    const r = hostfs_realpath(probe);
    if (!is_hosterr(r)) {
      if (r !== rroot && !r.startsWith(rroot.endsWith('/') ? rroot : rroot + '/')) return EACCES;
      break;
    }
    if (probe === root || probe.length <= root.length) break;
    probe = posix.dirname(probe);
  }
  return { vpath, hpath };
}

export interface HostFile {
  hfd: number;
  closed: boolean;
  /** The host path (getdirentries lists it). */
  hpath: string;
}

export const vn_ops: FileOps = {
  fo_type: 'vnode',
  fo_read(fp: File, uio: Uio): number {
    const hf = fp.f_data as HostFile;
    const b = new Uint8Array(uio.uio_resid);
    const n = hostfs_pread(hf.hfd, b, uio.uio_offset);
    if (is_hosterr(n)) return host_errno(n.code);
    uiomove(b.subarray(0, n), uio);
    return 0;
  },
  fo_write(fp: File, uio: Uio): number {
    const hf = fp.f_data as HostFile;
    if (fp.f_flag & O_APPEND) {
      const st = hostfs_fstat(hf.hfd);
      if (is_hosterr(st)) return host_errno(st.code);
      uio.uio_offset = st.size;
    }
    const at = uio.uio_buf.length - uio.uio_resid;
    const n = hostfs_pwrite(hf.hfd, uio.uio_buf.subarray(at), uio.uio_offset);
    if (is_hosterr(n)) return host_errno(n.code);
    uio.uio_resid -= n;
    uio.uio_offset += n;
    return 0;
  },
  fo_ioctl(_fp: File, com: number): number {
    return com === FIONBIO || com === FIOASYNC ? 0 : ENOIOCTL;
  },
  fo_close(fp: File): number {
    const hf = fp.f_data as HostFile;
    if (!hf.closed) {
      hf.closed = true;
      hostfs_close(hf.hfd);
    }
    return 0;
  },
};

/** vn_open: open(2) of a regular file (flags are open flags, mode the creation mode). */
export function vfs_open(
  k: Kernel,
  td: Thread,
  path: string,
  flags: number,
  mode: number,
): File | number {
  const l = vfs_lookup(k, td, path);
  if (typeof l === 'number') return l;
  const acc = flags & O_ACCMODE;
  const write = acc === O_WRONLY || acc === O_RDWR;
  const st = hostfs_stat(l.hpath);
  if (!is_hosterr(st) && st.isDir && (write || flags & O_CREAT)) return EISDIR;
  if (is_hosterr(st) && st.code === 'ENOTDIR') return ENOTDIR;
  if (flags & O_DIRECTORY && !is_hosterr(st) && !st.isDir) return ENOTDIR;
  const hfd = hostfs_open(
    l.hpath,
    {
      read: acc !== O_WRONLY,
      write,
      creat: (flags & O_CREAT) !== 0,
      trunc: (flags & O_TRUNC) !== 0 && write,
      excl: (flags & O_EXCL) !== 0 && (flags & O_CREAT) !== 0,
      append: false /* the kernel positions O_APPEND writes itself */,
    },
    mode === 0 && flags & O_CREAT ? 0o644 : mode,
  );
  if (is_hosterr(hfd)) return host_errno(hfd.code);
  const hf: HostFile = { hfd, closed: false, hpath: l.hpath };
  return new File(vn_ops, hf, FFLAGS(flags) & FMASK & ~FNONBLOCK);
}

/** Is the jail path a directory?  0, ENOTDIR or the lookup error. */
export function vfs_isdir(k: Kernel, td: Thread, path: string): VfsLookup | number {
  const l = vfs_lookup(k, td, path);
  if (typeof l === 'number') return l;
  const st = hostfs_stat(l.hpath);
  if (is_hosterr(st)) return host_errno(st.code);
  return st.isDir ? l : ENOTDIR;
}
