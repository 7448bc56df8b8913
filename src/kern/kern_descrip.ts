/*
 * kern/kern_descrip.ts — per-process descriptor tables.
 *
 * A descriptor indexes a struct file; close-on-exec and non-blocking flags are kept as
 * FreeBSD does (fde_flags for UF_EXCLOSE, f_flag for FNONBLOCK).  The lowest free
 * descriptor is allocated first.
 */

import { EBADF, EMFILE } from '../sys/errno.js';
import type { Thread } from '../sys/proc.js';
import { TS_FILE, TS_FILEDESC, typestable } from '../sys/typestable.js';

export const UF_EXCLOSE = 0x01;
export const FREAD = 0x0001;
export const FWRITE = 0x0002;
export const FNONBLOCK = 0x0004;
export const FASYNC = 0x0040;

/* fo_read/fo_write flags */
export const FOF_OFFSET = 0x01; /* use uio_offset (pread/pwrite), not f_offset */

export const UIO_READ = 0;
export const UIO_WRITE = 1;

/**
 * struct uio, reduced to one kernel buffer: a read fills uio_buf from the front, a
 * write consumes it; uio_resid counts what is left, uio_offset the file position.  The
 * syscall layer does the copyin/copyout of the user buffer around the file operation.
 */
export interface Uio {
  readonly uio_buf: Uint8Array;
  uio_offset: number;
  uio_resid: number;
  readonly uio_rw: number;
}

/** uiomove(9): move up to uio_resid bytes between data and the uio; returns the count. */
export function uiomove(data: Uint8Array, uio: Uio): number {
  return uiomove_buf(data, 0, data.length, uio);
}

/** Moves below this size go byte by byte (cheaper than TypedArray.set and a view). */
const UIO_SMALL = 16;

/**
 * uiomove(cp, n, uio) with cp = buf + off: move up to min(n, uio_resid) bytes between
 * buf[off...] and the uio without making a view of buf; returns the count.
 */
export function uiomove_buf(buf: Uint8Array, off: number, n: number, uio: Uio): number {
  if (n > uio.uio_resid) n = uio.uio_resid;
  const ub = uio.uio_buf;
  const at = ub.length - uio.uio_resid;
  if (n <= UIO_SMALL) {
    if (uio.uio_rw === UIO_READ) for (let i = 0; i < n; i++) ub[at + i] = buf[off + i]!;
    else for (let i = 0; i < n; i++) buf[off + i] = ub[at + i]!;
  } else if (uio.uio_rw === UIO_READ) ub.set(buf.subarray(off, off + n), at);
  else buf.set(at === 0 && n === ub.length ? ub : ub.subarray(at, at + n), off);
  uio.uio_resid -= n;
  uio.uio_offset += n;
  return n;
}

/**
 * struct fileops: what a file type implements (sockets, devices, host files).  Each
 * returns an errno (0 on success); ENOIOCTL from fo_ioctl means "not mine" and reaches
 * userland as ENOTTY.  A missing operation is EOPNOTSUPP (read/write), ENOTTY (ioctl).
 */
export interface FileOps {
  readonly fo_type: string;
  fo_ioctl?(fp: File, com: number, data: Uint8Array, td?: Thread): number | Promise<number>;
  /**
   * The last reference is gone.  td: the thread of a close(2), which may sleep in it
   * (a socket's SO_LINGER); without it (process exit, an error path) it never does.
   */
  fo_close?(fp: File, td?: Thread): number | Promise<number>;
  fo_read?(fp: File, uio: Uio, flags: number, td?: Thread): number | Promise<number>;
  fo_write?(fp: File, uio: Uio, flags: number, td?: Thread): number | Promise<number>;
  /** Returns the subset of events (POLLIN ...) that are ready now. */
  fo_poll?(fp: File, events: number, td?: Thread): number;
}

export class File {
  f_flag: number;
  f_count = 1;
  /** File position for read/write without an explicit offset. */
  f_offset = 0;
  constructor(
    readonly f_ops: FileOps,
    readonly f_data: unknown,
    flags: number,
  ) {
    this.f_flag = flags;
    typestable(TS_FILE, this);
  }
}

export interface FileDescEnt {
  fde_file: File;
  fde_flags: number;
}

export class FileDesc {
  readonly fd_ofiles: (FileDescEnt | undefined)[] = [];
  constructor(readonly maxfiles = 1024) {
    typestable(TS_FILEDESC, this);
  }

  /** fdalloc + finstall: the lowest free descriptor. */
  install(fp: File, flags = 0): number {
    let fd = 0;
    while (fd < this.fd_ofiles.length && this.fd_ofiles[fd]) fd++;
    if (fd >= this.maxfiles) return -EMFILE;
    this.fd_ofiles[fd] = { fde_file: fp, fde_flags: flags };
    return fd;
  }

  get(fd: number): FileDescEnt | undefined {
    return Number.isInteger(fd) && fd >= 0 ? this.fd_ofiles[fd] : undefined;
  }

  /** Remove a descriptor; returns its file (the caller drops the reference). */
  remove(fd: number): File | number {
    const ent = this.get(fd);
    if (!ent) return EBADF;
    this.fd_ofiles[fd] = undefined;
    while (this.fd_ofiles.length > 0 && !this.fd_ofiles[this.fd_ofiles.length - 1])
      this.fd_ofiles.pop();
    return ent.fde_file;
  }
}

/**
 * fdescfree(): a process is exiting; drop every descriptor's reference (the last one
 * closes the file: a pipe's writer leaving gives its reader end-of-file).
 */
export function fdescfree(fdp: FileDesc): void {
  for (let fd = 0; fd < fdp.fd_ofiles.length; fd++) {
    const ent = fdp.fd_ofiles[fd];
    if (ent === undefined) continue;
    fdp.fd_ofiles[fd] = undefined;
    const fp = ent.fde_file;
    if (--fp.f_count === 0 && fp.f_ops.fo_close) fp.f_ops.fo_close(fp);
  }
  fdp.fd_ofiles.length = 0;
}
