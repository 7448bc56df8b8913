/*
 * kern/kern_descrip.ts — per-process descriptor tables.
 *
 * A descriptor indexes a struct file; close-on-exec and non-blocking flags are kept as
 * FreeBSD does (fde_flags for UF_EXCLOSE, f_flag for FNONBLOCK).  The lowest free
 * descriptor is allocated first.
 */

import { EBADF, EMFILE } from '../sys/errno.js';

export const UF_EXCLOSE = 0x01;
export const FREAD = 0x0001;
export const FWRITE = 0x0002;
export const FNONBLOCK = 0x0004;
export const FASYNC = 0x0040;

/** struct fileops: what a file type implements (sockets, devices, host files). */
export interface FileOps {
  readonly fo_type: string;
  fo_ioctl?(fp: File, com: number, data: Uint8Array): number;
  fo_close?(fp: File): number;
}

export class File {
  f_flag: number;
  f_count = 1;
  constructor(
    readonly f_ops: FileOps,
    readonly f_data: unknown,
    flags: number,
  ) {
    this.f_flag = flags;
  }
}

export interface FileDescEnt {
  fde_file: File;
  fde_flags: number;
}

export class FileDesc {
  readonly fd_ofiles: (FileDescEnt | undefined)[] = [];
  constructor(readonly maxfiles = 1024) {}

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
