/*
 * host/hostfs.ts — the host's file system, for kern/vfs_host.ts.
 *
 * Processes read and write real host files below their jail's root directory.  The
 * kernel never touches node:fs itself: it calls these few synchronous wrappers, which
 * return host errors as their code names ('ENOENT', 'EISDIR', ...) so the kernel can
 * map them to its own errno values.  Synchronous I/O keeps the scheduler simple (a
 * syscall that touches a host file never yields the processor); host files are local
 * and small enough that this is acceptable for a console and scripts.
 *
 * XXX: no asynchronous path for large files; a read of a slow host file (a FIFO, a
 * network mount) stops every kernel in the process while it lasts.
 */

import * as fs from 'node:fs';

/** A host error as its code name, or the result. */
export type HostResult<T> = T | { readonly code: string };

function code(e: unknown): { code: string } {
  const c = (e as { code?: unknown }).code;
  return { code: typeof c === 'string' ? c : 'EIO' };
}

export function is_hosterr(x: unknown): x is { readonly code: string } {
  return typeof x === 'object' && x !== null && 'code' in x;
}

/** The directory the host process started in (the default root of prison0). */
export function host_cwd(): string {
  return process.cwd();
}

export interface HostOpenFlags {
  read: boolean;
  write: boolean;
  creat: boolean;
  trunc: boolean;
  excl: boolean;
  append: boolean;
}

export function hostfs_open(path: string, f: HostOpenFlags, mode: number): HostResult<number> {
  const C = fs.constants;
  let fl = f.read && f.write ? C.O_RDWR : f.write ? C.O_WRONLY : C.O_RDONLY;
  if (f.creat) fl |= C.O_CREAT;
  if (f.trunc) fl |= C.O_TRUNC;
  if (f.excl) fl |= C.O_EXCL;
  if (f.append) fl |= C.O_APPEND;
  try {
    return fs.openSync(path, fl, mode & 0o7777);
  } catch (e) {
    return code(e);
  }
}

export function hostfs_pread(fd: number, buf: Uint8Array, pos: number): HostResult<number> {
  try {
    return fs.readSync(fd, buf, 0, buf.length, pos);
  } catch (e) {
    return code(e);
  }
}

export function hostfs_pwrite(fd: number, buf: Uint8Array, pos: number | null): HostResult<number> {
  try {
    return fs.writeSync(fd, buf, 0, buf.length, pos);
  } catch (e) {
    return code(e);
  }
}

export function hostfs_close(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    /* already closed */
  }
}

export interface HostStat {
  isDir: boolean;
  size: number;
}

/** What lstat(2) reports, for struct stat. */
export interface HostLstat {
  mode: number;
  nlink: number;
  ino: number;
  size: number;
  blocks: number;
  blksize: number;
  /** Nanoseconds since the epoch. */
  atime: number;
  mtime: number;
  ctime: number;
  birthtime: number;
}

export function hostfs_lstat(path: string): HostResult<HostLstat> {
  try {
    const s = fs.lstatSync(path, { bigint: true });
    return {
      mode: Number(s.mode),
      nlink: Number(s.nlink),
      ino: Number(s.ino & 0xffffffffffffn),
      size: Number(s.size),
      blocks: Number(s.blocks),
      blksize: Number(s.blksize),
      atime: Number(s.atimeNs),
      mtime: Number(s.mtimeNs),
      ctime: Number(s.ctimeNs),
      birthtime: Number(s.birthtimeNs),
    };
  } catch (e) {
    return code(e);
  }
}

/** A directory's entries (without . and ..): name and d_type-like kind. */
export function hostfs_readdir(path: string): HostResult<{ name: string; type: number }[]> {
  try {
    return fs.readdirSync(path, { withFileTypes: true }).map((d) => ({
      name: d.name,
      type: d.isDirectory() ? 4 : d.isSymbolicLink() ? 10 : d.isFile() ? 8 : 0,
    }));
  } catch (e) {
    return code(e);
  }
}

export function hostfs_mkdir(path: string, mode: number): HostResult<0> {
  try {
    fs.mkdirSync(path, { mode: mode & 0o7777 });
    return 0;
  } catch (e) {
    return code(e);
  }
}

export function hostfs_unlink(path: string): HostResult<0> {
  try {
    fs.unlinkSync(path);
    return 0;
  } catch (e) {
    return code(e);
  }
}

export function hostfs_rmdir(path: string): HostResult<0> {
  try {
    fs.rmdirSync(path);
    return 0;
  } catch (e) {
    return code(e);
  }
}

export function hostfs_fstat(fd: number): HostResult<HostStat> {
  try {
    const s = fs.fstatSync(fd);
    return { isDir: s.isDirectory(), size: s.size };
  } catch (e) {
    return code(e);
  }
}

export function hostfs_stat(path: string): HostResult<HostStat> {
  try {
    const s = fs.statSync(path);
    return { isDir: s.isDirectory(), size: s.size };
  } catch (e) {
    return code(e);
  }
}

/** realpath(3) of a host path (symbolic links resolved). */
export function hostfs_realpath(path: string): HostResult<string> {
  try {
    return fs.realpathSync(path);
  } catch (e) {
    return code(e);
  }
}
