/*
 * sys/fcntl.ts — open(2) and fcntl(2) flags (sys/sys/fcntl.h).
 *
 * The kernel keeps a file's flags as FFLAGS(oflags) (= oflags + 1, so that O_RDONLY
 * becomes FREAD and O_WRONLY FWRITE); F_GETFL returns OFLAGS(f_flag) (= f_flag - 1).
 * FREAD/FWRITE/FNONBLOCK/FASYNC themselves are in kern/kern_descrip.ts beside struct file.
 */

export const O_RDONLY = 0x0000;
export const O_WRONLY = 0x0001;
export const O_RDWR = 0x0002;
export const O_ACCMODE = 0x0003;
export const O_NONBLOCK = 0x0004;
export const O_APPEND = 0x0008;
export const O_SHLOCK = 0x0010;
export const O_EXLOCK = 0x0020;
export const O_ASYNC = 0x0040;
export const O_FSYNC = 0x0080;
export const O_SYNC = 0x0080;
export const O_NOFOLLOW = 0x0100;
export const O_CREAT = 0x0200;
export const O_TRUNC = 0x0400;
export const O_EXCL = 0x0800;
export const O_NOCTTY = 0x8000;
export const O_DIRECT = 0x00010000;
export const O_DIRECTORY = 0x00020000;
export const O_EXEC = 0x00040000;
export const O_CLOEXEC = 0x00100000;

export const FAPPEND = O_APPEND;
export const FFSYNC = O_FSYNC;
export const FRDAHEAD = O_CREAT; /* fcntl-only alias, as in FreeBSD */
/** Flags F_SETFL may change. */
export const FCNTLFLAGS = FAPPEND | O_ASYNC | FFSYNC | O_NONBLOCK | FRDAHEAD | O_DIRECT;
/** Bits of f_flag that are open flags (FMASK). */
export const FMASK = 0x0003 | O_NONBLOCK | O_APPEND | O_ASYNC | O_FSYNC | O_NOFOLLOW | O_DIRECT;

export function FFLAGS(oflags: number): number {
  return (oflags & O_EXEC) !== 0 ? oflags : oflags + 1;
}
export function OFLAGS(fflags: number): number {
  return (fflags & O_EXEC) !== 0 ? fflags : fflags - 1;
}

/* fcntl(2) commands */
export const F_DUPFD = 0;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_DUPFD_CLOEXEC = 17;
export const FD_CLOEXEC = 1;

/* lseek(2) whence */
export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
