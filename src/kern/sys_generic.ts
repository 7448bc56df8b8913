/*
 * kern/sys_generic.ts — the generic descriptor syscalls: ioctl, read, write, pread,
 * open, close, fcntl, lseek, dup (sys/kern/sys_generic.c, kern_descrip.c,
 * vfs_syscalls.c), and the process identity calls.
 *
 * sys_ioctl follows FreeBSD exactly (reference §7.2-7.3):
 *   1. the command word is truncated to 32 bits (a sign-extended or wider value from
 *      userland is the same command; INVARIANTS kernels print the warning FreeBSD does);
 *   2. size = IOCPARM_LEN(com); ENOTTY when size > IOCPARM_MAX, no direction bit is set,
 *      IN or OUT has size 0, or VOID has a size other than 0 or sizeof(int);
 *   3. VOID with an int size: the data argument *is* the int (no copies); size 0: the
 *      handler sees the argument word itself; otherwise a kernel buffer of size bytes;
 *   4. IN (and INOUT): copyin, a fault (short or unmapped user buffer) is EFAULT and the
 *      file is never called; OUT only: the buffer is zero-filled;
 *   5. kern_ioctl: EBADF for a bad descriptor or one open neither for reading nor
 *      writing; FIOCLEX/FIONCLEX set/clear UF_EXCLOSE without calling the file;
 *      FIONBIO/FIOASYNC set/clear FNONBLOCK/FASYNC and still pass a copy of the int down;
 *      everything else goes to fo_ioctl, and ENOIOCTL ("not mine") becomes ENOTTY;
 *   6. copyout only when the result is 0 and the command is OUT.
 *
 * read/write move data through one kernel buffer (a uio of one iovec): the user range
 * is checked first (EFAULT), the file fills or drains the buffer, the syscall copies
 * out what was transferred.  A read interrupted after moving data returns the count.
 *
 * Handlers return an errno and put results in td.td_retval; they reach the kernel
 * through the processor registers (curkernel), loaded by syscallenter.
 */

import {
  EBADF,
  EFAULT,
  EINTR,
  EINVAL,
  ENOENT,
  ENOIOCTL,
  ENOTTY,
  EOPNOTSUPP,
  ERESTART,
  EWOULDBLOCK,
} from '../sys/errno.js';
import { IOCPARM_LEN, IOCPARM_MAX, IOC_IN, IOC_OUT, IOC_VOID, SIZEOF_INT } from '../sys/ioccom.js';
import { FIOASYNC, FIOCLEX, FIONBIO, FIONCLEX } from '../sys/sockio.js';
import {
  FCNTLFLAGS,
  FD_CLOEXEC,
  FFLAGS,
  F_DUPFD,
  F_DUPFD_CLOEXEC,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  O_ACCMODE,
  O_CLOEXEC,
  OFLAGS,
  SEEK_CUR,
  SEEK_SET,
  FMASK,
} from '../sys/fcntl.js';
import { MAXPATHLEN } from '../sys/param.js';
import type { Thread } from '../sys/proc.js';
import {
  FASYNC,
  FileDesc,
  FNONBLOCK,
  FOF_OFFSET,
  FREAD,
  FWRITE,
  UF_EXCLOSE,
  UIO_READ,
  UIO_WRITE,
  type File,
  type FileDescEnt,
  type Uio,
} from './kern_descrip.js';
import { copyin_buf, copyinstr, copyout, vmspace } from '../vm/vm_map.js';
import { curkernel } from './kern_cur.js';
import { devopen } from '../dev/memdev.js';
import { vfs_open } from './vfs_host.js';
import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { BKPT } from './subr_kdb.js';

export const K = new ObjFile('kern/sys_generic.ts', VIMAGEID('src/kern/sys_generic.ts'));
const S_sys_ioctl = K.TEXT('sys_ioctl');
const S_kern_ioctl = K.TEXT('kern_ioctl');

/** Largest read/write (IOSIZE_MAX, with devfs_iosize_max_clamp). */
export const IOSIZE_MAX = 0x7fffffff;

/** The descriptor table of td's process, created on first use (user processes). */
export function fdesc(td: Thread): FileDesc {
  const p = td.td_proc;
  if (p.p_fd === null) p.p_fd = new FileDesc();
  return p.p_fd;
}

/** fget: the descriptor entry, or undefined (EBADF). */
export function fget(td: Thread, fd: number): FileDescEnt | undefined {
  const fdp = td.td_proc.p_fd;
  return fdp === null ? undefined : fdp.get(fd);
}

function arg(args: readonly number[], i: number): number {
  return args[i] ?? 0;
}

/** An int in a fresh 8-byte kernel buffer (the intptr_t FreeBSD passes by address). */
function le32(v: number): Uint8Array {
  const b = new Uint8Array(8);
  b[0] = v;
  b[1] = v >>> 8;
  b[2] = v >>> 16;
  b[3] = v >>> 24;
  if (v < 0) b.fill(0xff, 4);
  return b;
}

function argword(v: number): Uint8Array {
  const lo = v >>> 0;
  const b = le32(lo);
  const hi = Math.floor(v / 4294967296) >>> 0;
  b[4] = hi;
  b[5] = hi >>> 8;
  b[6] = hi >>> 16;
  b[7] = hi >>> 24;
  return b;
}

function int_of(data: Uint8Array): number {
  return data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24);
}

/* ------------------------------------------------------------------------------ */
/* ioctl                                                                            */

/** ioctl(fd, com, data). */
export function sys_ioctl(td: Thread, args: readonly number[]): number | Promise<number> {
  BKPT(S_sys_ioctl);
  const fd = arg(args, 0);
  const ucom = arg(args, 1);
  const udata = arg(args, 2);
  const com = ucom >>> 0;
  if (com !== ucom) {
    const k = curkernel();
    if (k.conf.options.has('INVARIANTS'))
      k.printf(
        `WARNING pid ${td.td_proc.p_pid} (${td.td_proc.p_comm}): ioctl sign-extension ioctl ${
          Number.isSafeInteger(ucom) && ucom < 0
            ? 'ffffffff' + com.toString(16).padStart(8, '0')
            : ucom.toString(16)
        }`,
      );
  }
  let size = IOCPARM_LEN(com);
  const isIn = (com & IOC_IN) !== 0;
  const isOut = (com & IOC_OUT) !== 0;
  const isVoid = (com & IOC_VOID) !== 0;
  if (
    size > IOCPARM_MAX ||
    (!isIn && !isOut && !isVoid) ||
    ((isIn || isOut) && size === 0) ||
    (isVoid && size > 0 && size !== SIZEOF_INT)
  )
    return ENOTTY;

  let data: Uint8Array;
  if (size > 0) {
    if (isVoid) {
      /* Integer argument passed by value. */
      data = le32(udata);
      size = 0;
    } else data = new Uint8Array(size); /* zero-filled: the OUT case's bzero */
  } else data = argword(udata);

  if (isIn && size > 0) {
    const e = copyin_buf(td.td_proc, udata, data);
    if (e !== 0) return e;
  }
  const r = kern_ioctl(td, fd, com, data);
  if (typeof r === 'number') return ioctl_done(td, r, isOut, data, size, udata);
  return r.then((e) => ioctl_done(td, e, isOut, data, size, udata));
}

function ioctl_done(
  td: Thread,
  error: number,
  isOut: boolean,
  data: Uint8Array,
  size: number,
  udata: number,
): number {
  if (error === 0 && isOut && size > 0) return copyout(td.td_proc, data, udata);
  return error;
}

/** kern_ioctl: the descriptor-level part, with a kernel buffer. */
export function kern_ioctl(
  td: Thread,
  fd: number,
  com: number,
  data: Uint8Array,
): number | Promise<number> {
  BKPT(S_kern_ioctl);
  const ent = fget(td, fd);
  if (ent === undefined) return EBADF;
  const fp = ent.fde_file;
  if ((fp.f_flag & (FREAD | FWRITE)) === 0) return EBADF;
  switch (com) {
    case FIONCLEX:
      ent.fde_flags &= ~UF_EXCLOSE;
      return 0;
    case FIOCLEX:
      ent.fde_flags |= UF_EXCLOSE;
      return 0;
    case FIONBIO: {
      const tmp = int_of(data);
      if (tmp !== 0) fp.f_flag |= FNONBLOCK;
      else fp.f_flag &= ~FNONBLOCK;
      data = le32(tmp);
      break;
    }
    case FIOASYNC: {
      const tmp = int_of(data);
      if (tmp !== 0) fp.f_flag |= FASYNC;
      else fp.f_flag &= ~FASYNC;
      data = le32(tmp);
      break;
    }
  }
  return fo_ioctl(td, fp, com, data);
}

/** fo_ioctl with ENOIOCTL ("not mine") converted to the user-visible ENOTTY. */
export function fo_ioctl(
  td: Thread,
  fp: File,
  com: number,
  data: Uint8Array,
): number | Promise<number> {
  const op = fp.f_ops.fo_ioctl;
  if (op === undefined) return ENOTTY;
  const r = op.call(fp.f_ops, fp, com, data, td);
  if (typeof r === 'number') return r === ENOIOCTL ? ENOTTY : r;
  return r.then((e) => (e === ENOIOCTL ? ENOTTY : e));
}

/* ------------------------------------------------------------------------------ */
/* read / write                                                                    */

function rw_result(td: Thread, error: number, nbyte: number, uio: Uio): number {
  const done = nbyte - uio.uio_resid;
  if (error !== 0 && done > 0 && (error === ERESTART || error === EINTR || error === EWOULDBLOCK))
    error = 0;
  if (error === 0) td.td_retval[0] = done;
  return error;
}

async function await_rw(r: number | Promise<number>): Promise<number> {
  return typeof r === 'number' ? r : await r;
}

const EMPTY_BUF = new Uint8Array(0);

/** The user range [ubuf, ubuf + n) as a view (already checked by resolve: EFAULT first). */
function user_range(td: Thread, ubuf: number, n: number): Uint8Array {
  return n === 0 ? EMPTY_BUF : vmspace(td.td_proc).resolve(ubuf, n)!;
}

function dofileread(
  td: Thread,
  fd: number,
  ubuf: number,
  nbyte: number,
  offset: number,
  flags: number,
): number | Promise<number> {
  const ent = fget(td, fd);
  if (ent === undefined || (ent.fde_file.f_flag & FREAD) === 0) return EBADF;
  const fp = ent.fde_file;
  if (!Number.isSafeInteger(nbyte) || nbyte < 0 || nbyte > IOSIZE_MAX) return EINVAL;
  if (nbyte > 0 && vmspace(td.td_proc).resolve(ubuf, nbyte) === null) return EFAULT;
  const op = fp.f_ops.fo_read;
  if (op === undefined) return EOPNOTSUPP;
  /* A socket reads straight into user memory (a uio over user space, as recvfrom(2)
   * does); other files through a kernel buffer copied out at the end. */
  const direct = fp.f_ops.fo_type === 'socket';
  const uio: Uio = {
    uio_buf: direct ? user_range(td, ubuf, nbyte) : new Uint8Array(nbyte),
    uio_offset: flags & FOF_OFFSET ? offset : fp.f_offset,
    uio_resid: nbyte,
    uio_rw: UIO_READ,
  };
  const finish = (e: number): number => {
    const done = nbyte - uio.uio_resid;
    if (!(flags & FOF_OFFSET)) fp.f_offset = uio.uio_offset;
    if (done > 0 && !direct) {
      const ce = copyout(td.td_proc, uio.uio_buf.subarray(0, done), ubuf);
      if (ce !== 0) return ce;
    }
    return rw_result(td, e, nbyte, uio);
  };
  const r = op.call(fp.f_ops, fp, uio, flags, td);
  return typeof r === 'number' ? finish(r) : await_rw(r).then(finish);
}

function dofilewrite(
  td: Thread,
  fd: number,
  ubuf: number,
  nbyte: number,
  offset: number,
  flags: number,
): number | Promise<number> {
  const ent = fget(td, fd);
  if (ent === undefined || (ent.fde_file.f_flag & FWRITE) === 0) return EBADF;
  const fp = ent.fde_file;
  if (!Number.isSafeInteger(nbyte) || nbyte < 0 || nbyte > IOSIZE_MAX) return EINVAL;
  /* A socket's sosend copies straight from user memory into mbufs (as sendto(2));
   * other files get a kernel copy first (they may keep views of what they are given). */
  let kbuf: Uint8Array;
  if (fp.f_ops.fo_type === 'socket') {
    const u = nbyte === 0 ? EMPTY_BUF : vmspace(td.td_proc).resolve(ubuf, nbyte);
    if (u === null) return EFAULT;
    kbuf = u;
  } else {
    kbuf = new Uint8Array(nbyte);
    const ce = copyin_buf(td.td_proc, ubuf, kbuf);
    if (ce !== 0) return ce;
  }
  const op = fp.f_ops.fo_write;
  if (op === undefined) return EOPNOTSUPP;
  const uio: Uio = {
    uio_buf: kbuf,
    uio_offset: flags & FOF_OFFSET ? offset : fp.f_offset,
    uio_resid: nbyte,
    uio_rw: UIO_WRITE,
  };
  const finish = (e: number): number => {
    if (!(flags & FOF_OFFSET)) fp.f_offset = uio.uio_offset;
    return rw_result(td, e, nbyte, uio);
  };
  const r = op.call(fp.f_ops, fp, uio, flags, td);
  return typeof r === 'number' ? finish(r) : await_rw(r).then(finish);
}

/** read(fd, buf, nbyte). */
export function sys_read(td: Thread, args: readonly number[]): number | Promise<number> {
  return dofileread(td, arg(args, 0), arg(args, 1), arg(args, 2), -1, 0);
}

/** write(fd, buf, nbyte). */
export function sys_write(td: Thread, args: readonly number[]): number | Promise<number> {
  return dofilewrite(td, arg(args, 0), arg(args, 1), arg(args, 2), -1, 0);
}

/** pread(fd, buf, nbyte, offset). */
export function sys_pread(td: Thread, args: readonly number[]): number | Promise<number> {
  const off = arg(args, 3);
  if (!Number.isSafeInteger(off) || off < 0) return EINVAL;
  return dofileread(td, arg(args, 0), arg(args, 1), arg(args, 2), off, FOF_OFFSET);
}

/** pwrite(fd, buf, nbyte, offset). */
export function sys_pwrite(td: Thread, args: readonly number[]): number | Promise<number> {
  const off = arg(args, 3);
  if (!Number.isSafeInteger(off) || off < 0) return EINVAL;
  return dofilewrite(td, arg(args, 0), arg(args, 1), arg(args, 2), off, FOF_OFFSET);
}

/** lseek(fd, offset, whence): SEEK_SET and SEEK_CUR (devices have no end). */
export function sys_lseek(td: Thread, args: readonly number[]): number {
  const ent = fget(td, arg(args, 0));
  if (ent === undefined) return EBADF;
  const fp = ent.fde_file;
  const off = arg(args, 1);
  const whence = arg(args, 2);
  let n: number;
  if (whence === SEEK_SET) n = off;
  else if (whence === SEEK_CUR) n = fp.f_offset + off;
  else return EINVAL;
  if (!Number.isSafeInteger(n) || n < 0) return EINVAL;
  fp.f_offset = n;
  td.td_retval[0] = n;
  return 0;
}

/* ------------------------------------------------------------------------------ */
/* open / close / dup / fcntl                                                      */

/** open(path, flags, mode). */
export function sys_open(td: Thread, args: readonly number[]): number {
  const path = copyinstr(td.td_proc, arg(args, 0), MAXPATHLEN);
  if (typeof path === 'number') return path;
  const flags = arg(args, 1);
  if ((flags & O_ACCMODE) === O_ACCMODE) return EINVAL;
  let fp = devopen(curkernel(), td, path, FFLAGS(flags) & FMASK);
  /* Not a device: a regular file below the jail's root (kern/vfs_host.ts). */
  if (fp === ENOENT && !path.startsWith('/dev/'))
    fp = vfs_open(curkernel(), td, path, flags, arg(args, 2));
  if (typeof fp === 'number') return fp;
  const fd = fdesc(td).install(fp, flags & O_CLOEXEC ? UF_EXCLOSE : 0);
  if (fd < 0) return -fd;
  td.td_retval[0] = fd;
  return 0;
}

/** closef: drop a reference; the last one closes the file. */
export function closef(fp: File, td?: Thread): number | Promise<number> {
  if (--fp.f_count > 0) return 0;
  return fp.f_ops.fo_close ? fp.f_ops.fo_close(fp, td) : 0;
}

/** close(fd). */
export function sys_close(td: Thread, args: readonly number[]): number | Promise<number> {
  const fdp = td.td_proc.p_fd;
  if (fdp === null) return EBADF;
  const fp = fdp.remove(arg(args, 0));
  if (typeof fp === 'number') return fp;
  return closef(fp, td);
}

function do_dup(td: Thread, fd: number, cloexec: boolean): number {
  const ent = fget(td, fd);
  if (ent === undefined) return EBADF;
  const fp = ent.fde_file;
  fp.f_count++;
  const nfd = fdesc(td).install(fp, cloexec ? UF_EXCLOSE : 0);
  if (nfd < 0) {
    fp.f_count--;
    return -nfd;
  }
  td.td_retval[0] = nfd;
  return 0;
}

/** dup(fd). */
export function sys_dup(td: Thread, args: readonly number[]): number {
  return do_dup(td, arg(args, 0), false);
}

/** fcntl(fd, cmd, arg). */
export function sys_fcntl(td: Thread, args: readonly number[]): number | Promise<number> {
  const fd = arg(args, 0);
  const cmd = arg(args, 1);
  const a = arg(args, 2);
  const ent = fget(td, fd);
  if (ent === undefined) return EBADF;
  const fp = ent.fde_file;
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
      /* XXX: the minimum descriptor argument is ignored (the lowest free one is used). */
      return do_dup(td, fd, cmd === F_DUPFD_CLOEXEC);
    case F_GETFD:
      td.td_retval[0] = ent.fde_flags & UF_EXCLOSE ? FD_CLOEXEC : 0;
      return 0;
    case F_SETFD:
      ent.fde_flags = a & FD_CLOEXEC ? ent.fde_flags | UF_EXCLOSE : ent.fde_flags & ~UF_EXCLOSE;
      return 0;
    case F_GETFL:
      td.td_retval[0] = OFLAGS(fp.f_flag);
      return 0;
    case F_SETFL: {
      /* Change the flags, then tell the file (FIONBIO, FIOASYNC); revert on error. */
      const old = fp.f_flag;
      fp.f_flag = (fp.f_flag & ~FCNTLFLAGS) | (FFLAGS(a & ~O_ACCMODE) & FCNTLFLAGS);
      if (fp.f_ops.fo_ioctl === undefined) return 0;
      const nb = le32(fp.f_flag & FNONBLOCK ? 1 : 0);
      const as = le32(fp.f_flag & FASYNC ? 1 : 0);
      const revert = (e: number): number => {
        if (e !== 0) fp.f_flag = old;
        return e;
      };
      const r1 = fo_ioctl(td, fp, FIONBIO, nb);
      const then2 = (e: number): number | Promise<number> => {
        if (e !== 0) return revert(e);
        const r2 = fo_ioctl(td, fp, FIOASYNC, as);
        return typeof r2 === 'number' ? revert(r2) : r2.then(revert);
      };
      return typeof r1 === 'number' ? then2(r1) : r1.then(then2);
    }
    default:
      return EINVAL;
  }
}

/* ------------------------------------------------------------------------------ */
/* Process identity                                                                */

export function sys_getpid(td: Thread): number {
  td.td_retval[0] = td.td_proc.p_pid;
  return 0;
}

export function sys_getppid(td: Thread): number {
  td.td_retval[0] = td.td_proc.p_pptr ? td.td_proc.p_pptr.p_pid : 0;
  return 0;
}

export function sys_getuid(td: Thread): number {
  td.td_retval[0] = td.td_proc.p_ucred.cr_uid;
  return 0;
}
