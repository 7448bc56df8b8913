/*
 * lib/libc_fs.ts — the file system side of libc that ls, mkdir and rm need: stat(2)
 * (fstatat with AT_FDCWD), the directory reader (opendir/readdir over getdirentries(2)),
 * mkdir(2), unlink(2), rmdir(2).  Each returns -1/null with errno set on failure.
 */

import type { Libc } from './libc.js';
import { O_DIRECTORY, O_RDONLY } from '../sys/fcntl.js';
import { SYS_fstatat, SYS_getdirentries, SYS_mkdir, SYS_rmdir, SYS_unlink } from '../sys/sysent.js';

export const AT_FDCWD = -100;

/* st_mode (sys/stat.h). */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

/** The fields of struct stat that the tools use. */
export interface Stat {
  st_ino: number;
  st_nlink: number;
  st_mode: number;
  st_uid: number;
  st_gid: number;
  st_size: number;
  /** 512-byte blocks. */
  st_blocks: number;
  /** Seconds since the epoch. */
  st_mtime: number;
}

async function withPath<T>(libc: Libc, path: string, fn: (addr: number) => Promise<T>): Promise<T> {
  const b = new TextEncoder().encode(path);
  const m = libc.malloc(b.length + 1)!;
  m.buf.set(b);
  try {
    return await fn(m.addr);
  } finally {
    libc.free(m.addr);
  }
}

function u64(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 4294967296;
}

/** lstat(2) (symbolic links are not followed). */
export async function lstat(libc: Libc, path: string): Promise<Stat | null> {
  const sb = libc.malloc(224)!;
  try {
    const r = await withPath(libc, path, (a) =>
      libc.syscall(SYS_fstatat, AT_FDCWD, a, sb.addr, 0x200),
    );
    if (r < 0) return null;
    const dv = new DataView(sb.buf.buffer, sb.buf.byteOffset, 224);
    return {
      st_ino: u64(dv, 8),
      st_nlink: u64(dv, 16),
      st_mode: dv.getUint16(24, true),
      st_uid: dv.getUint32(28, true),
      st_gid: dv.getUint32(32, true),
      st_size: u64(dv, 112),
      st_blocks: u64(dv, 120),
      st_mtime: u64(dv, 64),
    };
  } finally {
    libc.free(sb.addr);
  }
}

export interface Dirent {
  d_name: string;
  d_type: number;
}

/** opendir+readdir+closedir: every entry of a directory, or null. */
export async function readdir(libc: Libc, path: string): Promise<Dirent[] | null> {
  const fd = await libc.open(path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return null;
  const buf = libc.malloc(8192)!;
  const out: Dirent[] = [];
  try {
    for (;;) {
      const n = await libc.syscall(SYS_getdirentries, fd, buf.addr, 8192, 0);
      if (n < 0) return null;
      if (n === 0) return out;
      const dv = new DataView(buf.buf.buffer, buf.buf.byteOffset, n);
      for (let at = 0; at < n;) {
        const reclen = dv.getUint16(at + 16, true);
        const type = dv.getUint8(at + 18);
        const namlen = dv.getUint16(at + 20, true);
        out.push({
          d_name: new TextDecoder().decode(buf.buf.subarray(at + 24, at + 24 + namlen)),
          d_type: type,
        });
        at += reclen;
      }
    }
  } finally {
    libc.free(buf.addr);
    await libc.close(fd);
  }
}

export async function mkdir(libc: Libc, path: string, mode = 0o777): Promise<number> {
  return withPath(libc, path, (a) => libc.syscall(SYS_mkdir, a, mode));
}

export async function unlink(libc: Libc, path: string): Promise<number> {
  return withPath(libc, path, (a) => libc.syscall(SYS_unlink, a));
}

export async function rmdir(libc: Libc, path: string): Promise<number> {
  return withPath(libc, path, (a) => libc.syscall(SYS_rmdir, a));
}
