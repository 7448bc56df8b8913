/*
 * kern/uipc_syscalls.ts — the socket system calls (sys/kern/uipc_syscalls.c) and
 * poll(2) (sys/kern/sys_generic.c), with FreeBSD's numbers:
 *
 *   socket 97, connect 98, bind 104, setsockopt 105, listen 106, getsockopt 118,
 *   recvfrom 29, sendto 133, recvmsg 27, sendmsg 28, shutdown 134, socketpair 135,
 *   accept 30, accept4 541, getpeername 31, getsockname 32, poll 209.
 *
 * Each handler gets user addresses and copies in and out (vm/vm_map.ts): a sockaddr is
 * copied in with its length (ENAMETOOLONG above SOCK_MAXADDRLEN, EINVAL below the
 * two-byte header; sa_len is overwritten with the length, as getsockaddr() does),
 * copied out truncated to the caller's length with the length written back.  EBADF for
 * a bad descriptor, ENOTSOCK for a descriptor that is not a socket, EFAULT for any
 * unmapped pointer.  A send or receive interrupted (EINTR) or timed out (EAGAIN) after
 * moving data returns the count, as FreeBSD does.
 *
 * poll(2): every descriptor's fo_poll is asked for its ready events; when none is ready
 * the thread sleeps (PCATCH) on a private channel that sopoll recorded in the socket
 * buffers' selinfo (td_pollchan), so sorwakeup/sowwakeup wake it; the timeout (ms) is
 * measured on the kernel clock (virtual in tests).  Descriptors that are not sockets
 * and have no fo_poll are always readable and writable, as regular files are.
 *
 * Differences: no SIGPIPE (no signals); control messages are passed to the protocol
 * as bytes (AF_UNIX rejects them: no SCM_RIGHTS yet); msg_iovlen up to UIO_MAXIOV 1024.
 */

import type { Thread } from '../sys/proc.js';
import {
  EBADF,
  EFAULT,
  EINTR,
  EINVAL,
  EMSGSIZE,
  ENAMETOOLONG,
  ENOTCONN,
  ENOTSOCK,
  ERESTART,
  EWOULDBLOCK,
  EALREADY,
  EINPROGRESS,
  EPIPE,
  ECONNABORTED,
} from '../sys/errno.js';
import {
  MSG_CTRUNC,
  MSG_NAMELEN_OFF,
  MSG_CONTROL_OFF,
  MSG_CONTROLLEN_OFF,
  MSG_FLAGS_OFF,
  MSG_IOV_OFF,
  MSG_IOVLEN_OFF,
  MSG_NAME_OFF,
  MSG_NOSIGNAL,
  SO_NOSIGPIPE,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  POLLRDNORM,
  POLLWRNORM,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_MAXADDRLEN,
  SOCK_NONBLOCK,
  le32_get,
  le32_put,
  msghdr,
  pollfd,
} from '../sys/socket.js';
import {
  SBS_CANTRCVMORE,
  SOLISTENING,
  SS_ISCONFIRMING,
  SS_ISCONNECTED,
  SS_ISCONNECTING,
  SS_NBIO,
  type Socket,
  type SoRecvResult,
} from '../sys/socketvar.js';
import {
  File,
  FNONBLOCK,
  FREAD,
  FWRITE,
  UF_EXCLOSE,
  UIO_READ,
  UIO_WRITE,
  type Uio,
} from './kern_descrip.js';
import { closef, fdesc, fget } from './sys_generic.js';
import { copyin, copyout, fuword64, vmspace } from '../vm/vm_map.js';
import { curkernel } from './kern_cur.js';
import { PCATCH, tsleep_sbt } from './kern_synch.js';
import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { BKPT } from './subr_kdb.js';
import { socketops } from './sys_socket.js';
import {
  SOPT_GET,
  SOPT_SET,
  soaccept,
  sobind,
  soclose,
  soconnect,
  soconnect2,
  socreate,
  sogetopt,
  solisten,
  soreceive,
  sosend,
  sosetopt,
  soshutdown,
  sockopt,
  so_vnet_call,
} from './uipc_socket.js';
import { PollWait, seltdclear, soqremove } from './uipc_sockbuf.js';
import { SBT_1MS } from './kern_clock.js';

export const K = new ObjFile('kern/uipc_syscalls.ts', VIMAGEID('src/kern/uipc_syscalls.ts'));
const S_sys_socket = K.TEXT('sys_socket');
const S_kern_accept4 = K.TEXT('kern_accept4');
const S_kern_connectat = K.TEXT('kern_connectat');
const S_kern_sendit = K.TEXT('kern_sendit');
const S_kern_recvit = K.TEXT('kern_recvit');
const S_sys_poll = K.TEXT('sys_poll');

/* Syscall numbers (sys/syscall.h). */
export const SYS_recvmsg = 27;
export const SYS_sendmsg = 28;
export const SYS_recvfrom = 29;
export const SYS_accept = 30;
export const SYS_getpeername = 31;
export const SYS_getsockname = 32;
export const SYS_socket = 97;
export const SYS_connect = 98;
export const SYS_bind = 104;
export const SYS_setsockopt = 105;
export const SYS_listen = 106;
export const SYS_getsockopt = 118;
export const SYS_sendto = 133;
export const SYS_shutdown = 134;
export const SYS_socketpair = 135;
export const SYS_poll = 209;
export const SYS_accept4 = 541;

export const UIO_MAXIOV = 1024;
/** accept(2) inherits the listener's non-blocking flag; accept4 takes it from flags. */
const ACCEPT4_INHERIT = 0x1;

function arg(args: readonly number[], i: number): number {
  return args[i] ?? 0;
}

/** getsock(): the socket of descriptor fd, EBADF or ENOTSOCK. */
export function getsock(td: Thread, fd: number): { fp: File; so: Socket } | number {
  const ent = fget(td, fd);
  if (ent === undefined) return EBADF;
  const fp = ent.fde_file;
  if (fp.f_ops !== socketops) return ENOTSOCK;
  return { fp, so: fp.f_data as Socket };
}

/** getsock() for the data path: the socket of fd, or EBADF / ENOTSOCK (no wrapper object). */
function getsock_so(td: Thread, fd: number): Socket | number {
  const ent = fget(td, fd);
  if (ent === undefined) return EBADF;
  const fp = ent.fde_file;
  if (fp.f_ops !== socketops) return ENOTSOCK;
  return fp.f_data as Socket;
}

/**
 * The user buffer [uaddr, uaddr + len) for a uio over user space (FreeBSD's
 * UIO_USERSPACE): the range is checked up front as copyin/copyout would check it
 * (EFAULT), and the socket layer's uiomove then moves the bytes straight between the
 * mbufs and user memory, with no kernel bounce buffer.
 */
function user_buf(td: Thread, uaddr: number, len: number): Uint8Array | number {
  if (len === 0) return EMPTY;
  return vmspace(td.td_proc).resolve(uaddr, len) ?? EFAULT;
}

const EMPTY = new Uint8Array(0);

/** getsockaddr(): copy a sockaddr in; its sa_len becomes len. */
export function getsockaddr(td: Thread, uaddr: number, len: number): Uint8Array | number {
  if (len > SOCK_MAXADDRLEN) return ENAMETOOLONG;
  if (len < 2) return EINVAL;
  const sa = copyin(td.td_proc, uaddr, len);
  if (typeof sa === 'number') return sa;
  sa[0] = len;
  return sa;
}

function read_int(td: Thread, uaddr: number): number | null {
  const b = copyin(td.td_proc, uaddr, 4);
  return typeof b === 'number' ? null : le32_get(b);
}

function write_int(td: Thread, uaddr: number, v: number): number {
  const b = new Uint8Array(4);
  le32_put(b, 0, v);
  return copyout(td.td_proc, b, uaddr);
}

/** Copy a sockaddr out to (asa, *alen): truncated to *alen, which gets the length. */
function sockaddr_out(td: Thread, sa: Uint8Array, asa: number, alen: number, len: number): number {
  const n = Math.max(0, Math.min(len, sa.length));
  if (n > 0) {
    const e = copyout(td.td_proc, sa.subarray(0, n), asa);
    if (e !== 0) return e;
  }
  return write_int(td, alen, n);
}

/** Install a socket in a new descriptor. */
function falloc_socket(td: Thread, so: Socket, nonblock: boolean, cloexec: boolean): number {
  const fp = new File(socketops, so, FREAD | FWRITE | (nonblock ? FNONBLOCK : 0));
  so.so_count++;
  if (nonblock) so.so_state |= SS_NBIO;
  const fd = fdesc(td).install(fp, cloexec ? UF_EXCLOSE : 0);
  return fd;
}

/* ------------------------------------------------------------------------------ */

/** socket(domain, type, protocol) */
export function sys_socket(td: Thread, args: readonly number[]): number {
  BKPT(S_sys_socket);
  const domain = arg(args, 0);
  let type = arg(args, 1);
  const protocol = arg(args, 2);
  const oflags = type & (SOCK_CLOEXEC | SOCK_NONBLOCK);
  type &= ~(SOCK_CLOEXEC | SOCK_NONBLOCK);
  const so = socreate(domain, type, protocol, td.td_proc.p_ucred, td);
  if (typeof so === 'number') return so;
  const fd = falloc_socket(td, so, (oflags & SOCK_NONBLOCK) !== 0, (oflags & SOCK_CLOEXEC) !== 0);
  if (fd < 0) {
    soclose(so);
    return -fd;
  }
  td.td_retval[0] = fd;
  return 0;
}

/** bind(s, name, namelen) */
export async function sys_bind(td: Thread, args: readonly number[]): Promise<number> {
  const g = getsock(td, arg(args, 0));
  if (typeof g === 'number') return g;
  const sa = getsockaddr(td, arg(args, 1), arg(args, 2));
  if (typeof sa === 'number') return sa;
  return sobind(g.so, sa, td);
}

/** listen(s, backlog) */
export function sys_listen(td: Thread, args: readonly number[]): number {
  const g = getsock(td, arg(args, 0));
  if (typeof g === 'number') return g;
  return solisten(g.so, arg(args, 1) | 0, td);
}

/** kern_connectat(): EALREADY while connecting, EINPROGRESS when non-blocking. */
export async function kern_connectat(td: Thread, so: Socket, sa: Uint8Array): Promise<number> {
  BKPT(S_kern_connectat);
  if (so.so_state & SS_ISCONNECTING) return EALREADY;
  let error = await soconnect(so, sa, td);
  if (error !== 0) {
    so.so_state &= ~SS_ISCONNECTING;
    return error === ERESTART ? EINTR : error;
  }
  if (so.so_state & SS_NBIO && so.so_state & SS_ISCONNECTING) return EINPROGRESS;
  let interrupted = false;
  while (so.so_state & SS_ISCONNECTING && so.so_error === 0) {
    const e = await tsleep_sbt(so, PCATCH, 'connec', 0);
    if (e !== 0) {
      interrupted = true;
      error = e === ERESTART ? EINTR : e;
      break;
    }
  }
  if (error === 0) {
    error = so.so_error;
    so.so_error = 0;
  }
  if (!interrupted) so.so_state &= ~SS_ISCONNECTING;
  return error;
}

/** connect(s, name, namelen) */
export async function sys_connect(td: Thread, args: readonly number[]): Promise<number> {
  const g = getsock(td, arg(args, 0));
  if (typeof g === 'number') return g;
  const sa = getsockaddr(td, arg(args, 1), arg(args, 2));
  if (typeof sa === 'number') return sa;
  return kern_connectat(td, g.so, sa);
}

/** kern_accept4(): wait for a completed connection on a listener. */
export async function kern_accept4(
  td: Thread,
  s: number,
  name: number,
  anamelen: number,
  flags: number,
): Promise<number> {
  BKPT(S_kern_accept4);
  let namelen = 0;
  if (name !== 0) {
    const v = read_int(td, anamelen);
    if (v === null) return EFAULT;
    if (v < 0) return EINVAL;
    namelen = v;
  }
  const g = getsock(td, s);
  if (typeof g === 'number') return g;
  const head = g.so;
  if (!SOLISTENING(head)) return EINVAL;
  while (head.sol_comp.length === 0 && head.so_error === 0) {
    if (head.so_rcv.sb_state & SBS_CANTRCVMORE) return ECONNABORTED;
    if (head.so_state & SS_NBIO) return EWOULDBLOCK;
    const e = await tsleep_sbt(head, PCATCH, 'accept', 0);
    if (e !== 0) return e === ERESTART ? EINTR : e;
    if (head.so_freed) return ECONNABORTED;
  }
  if (head.so_error !== 0) {
    const e = head.so_error;
    head.so_error = 0;
    return e;
  }
  const so = head.sol_comp[0]!;
  soqremove(so);
  const nonblock =
    flags & ACCEPT4_INHERIT ? (g.fp.f_flag & FNONBLOCK) !== 0 : (flags & SOCK_NONBLOCK) !== 0;
  so.so_state &= ~SS_NBIO;
  const fd = falloc_socket(td, so, nonblock, (flags & SOCK_CLOEXEC) !== 0);
  if (fd < 0) {
    soclose(so);
    return -fd;
  }
  const sa = soaccept(so);
  if (typeof sa === 'number') {
    close_fd(td, fd);
    return sa;
  }
  if (name !== 0) {
    const e = sockaddr_out(td, sa, name, anamelen, namelen);
    if (e !== 0) {
      close_fd(td, fd);
      return e;
    }
  }
  td.td_retval[0] = fd;
  return 0;
}

function close_fd(td: Thread, fd: number): void {
  const fp = fdesc(td).remove(fd);
  if (typeof fp !== 'number') closef(fp);
}

/** accept(s, name, anamelen) */
export function sys_accept(td: Thread, args: readonly number[]): Promise<number> {
  return kern_accept4(td, arg(args, 0), arg(args, 1), arg(args, 2), ACCEPT4_INHERIT);
}

/** accept4(s, name, anamelen, flags) */
export function sys_accept4(td: Thread, args: readonly number[]): number | Promise<number> {
  const flags = arg(args, 3);
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return EINVAL;
  return kern_accept4(td, arg(args, 0), arg(args, 1), arg(args, 2), flags);
}

function getname(td: Thread, args: readonly number[], peer: boolean): number {
  const g = getsock(td, arg(args, 0));
  if (typeof g === 'number') return g;
  const so = g.so;
  const asa = arg(args, 1);
  const alen = arg(args, 2);
  const len = read_int(td, alen);
  if (len === null) return EFAULT;
  if (len < 0) return EINVAL;
  if (peer && !(so.so_state & (SS_ISCONNECTED | SS_ISCONFIRMING))) return ENOTCONN;
  const f = peer ? so.so_proto.pr_peeraddr : so.so_proto.pr_sockaddr;
  if (f === undefined) return sockaddr_out(td, new Uint8Array(0), asa, alen, 0);
  const sa = so_vnet_call(so, () => f.call(so.so_proto, so));
  if (typeof sa === 'number') return sa;
  return sockaddr_out(td, sa, asa, alen, len);
}

/** getsockname(s, asa, alen) */
export function sys_getsockname(td: Thread, args: readonly number[]): number {
  return getname(td, args, false);
}

/** getpeername(s, asa, alen) */
export function sys_getpeername(td: Thread, args: readonly number[]): number {
  return getname(td, args, true);
}

/** shutdown(s, how) */
export function sys_shutdown(td: Thread, args: readonly number[]): number {
  const g = getsock(td, arg(args, 0));
  if (typeof g === 'number') return g;
  return soshutdown(g.so, arg(args, 1));
}

/** socketpair(domain, type, protocol, rsv) */
export function sys_socketpair(td: Thread, args: readonly number[]): number {
  const domain = arg(args, 0);
  let type = arg(args, 1);
  const protocol = arg(args, 2);
  const rsv = arg(args, 3);
  const oflags = type & (SOCK_CLOEXEC | SOCK_NONBLOCK);
  type &= ~(SOCK_CLOEXEC | SOCK_NONBLOCK);
  const cred = td.td_proc.p_ucred;
  const so1 = socreate(domain, type, protocol, cred, td);
  if (typeof so1 === 'number') return so1;
  const so2 = socreate(domain, type, protocol, cred, td);
  if (typeof so2 === 'number') {
    soclose(so1);
    return so2;
  }
  let e = soconnect2(so1, so2);
  if (e === 0 && type === SOCK_DGRAM) e = soconnect2(so2, so1);
  if (e !== 0) {
    soclose(so1);
    soclose(so2);
    return e;
  }
  const nb = (oflags & SOCK_NONBLOCK) !== 0;
  const ce = (oflags & SOCK_CLOEXEC) !== 0;
  const fd1 = falloc_socket(td, so1, nb, ce);
  if (fd1 < 0) {
    soclose(so1);
    soclose(so2);
    return -fd1;
  }
  const fd2 = falloc_socket(td, so2, nb, ce);
  if (fd2 < 0) {
    close_fd(td, fd1);
    soclose(so2);
    return -fd2;
  }
  const b = new Uint8Array(8);
  le32_put(b, 0, fd1);
  le32_put(b, 4, fd2);
  const ce2 = copyout(td.td_proc, b, rsv);
  if (ce2 !== 0) {
    close_fd(td, fd1);
    close_fd(td, fd2);
    return ce2;
  }
  return 0;
}

/* ------------------------------------------------------------------------------ */
/* Sending and receiving.                                                          */

/**
 * kern_sendit(): one send of buf (a kernel buffer, or the caller's user buffer:
 * user_buf); td_retval[0] = bytes sent.  Synchronous unless sosend sleeps.
 */
export function kern_sendit(
  td: Thread,
  s: number,
  to: Uint8Array | null,
  buf: Uint8Array,
  control: Uint8Array | null,
  flags: number,
): number | Promise<number> {
  BKPT(S_kern_sendit);
  const so = getsock_so(td, s);
  if (typeof so === 'number') return so;
  const uio: Uio = { uio_buf: buf, uio_offset: 0, uio_resid: buf.length, uio_rw: UIO_WRITE };
  const error = sosend(so, to, uio, control, flags, td);
  if (typeof error !== 'number') return kern_sendit_sleep(td, so, uio, error, flags);
  return kern_sendit_done(td, so, uio, error, flags);
}

async function kern_sendit_sleep(
  td: Thread,
  so: Socket,
  uio: Uio,
  error: Promise<number>,
  flags: number,
): Promise<number> {
  return kern_sendit_done(td, so, uio, await error, flags);
}

function kern_sendit_done(td: Thread, so: Socket, uio: Uio, error: number, flags: number): number {
  if (error === EPIPE && !(flags & MSG_NOSIGNAL)) sigpipe(td, so);
  const done = uio.uio_buf.length - uio.uio_resid;
  if (error !== 0 && done > 0 && (error === ERESTART || error === EINTR || error === EWOULDBLOCK))
    error = 0;
  if (error === ERESTART) error = EINTR;
  if (error === 0) td.td_retval[0] = done;
  return error;
}

/**
 * The SIGPIPE FreeBSD posts on EPIPE (unless MSG_NOSIGNAL or SO_NOSIGPIPE).  There are
 * no signals yet: the thread counts it in td_sigpipe, for a signal implementation (and
 * tests) to find.
 */
export function sigpipe(td: Thread, so: Socket): void {
  if (so.so_options & SO_NOSIGPIPE) return;
  td.td_sigpipe = (td.td_sigpipe ?? 0) + 1;
}

/** sendto(s, buf, len, flags, to, tolen) */
export function sys_sendto(td: Thread, args: readonly number[]): number | Promise<number> {
  /* The argument registers read in place (arg() here would box the user addresses). */
  const len = args[2] ?? 0;
  if (!Number.isSafeInteger(len) || len < 0) return EINVAL;
  const buf = user_buf(td, args[1] ?? 0, len);
  if (typeof buf === 'number') return buf;
  let to: Uint8Array | null = null;
  const uto = args[4] ?? 0;
  if (uto !== 0) {
    const sa = getsockaddr(td, uto, args[5] ?? 0);
    if (typeof sa === 'number') return sa;
    to = sa;
  }
  return kern_sendit(td, args[0] ?? 0, to, buf, null, args[3] ?? 0);
}

interface Iov {
  base: number;
  len: number;
}

/** Read a struct msghdr and its iovec array. */
function read_msghdr(
  td: Thread,
  umsg: number,
): { hdr: Uint8Array; iov: Iov[]; total: number } | number {
  const hdr = copyin(td.td_proc, umsg, msghdr.size);
  if (typeof hdr === 'number') return hdr;
  const dv = new DataView(hdr.buffer, hdr.byteOffset, hdr.byteLength);
  const iovlen = dv.getInt32(MSG_IOVLEN_OFF, true);
  if (iovlen < 0 || iovlen > UIO_MAXIOV) return EMSGSIZE;
  const uiov = rd64(dv, MSG_IOV_OFF);
  const iov: Iov[] = [];
  let total = 0;
  for (let i = 0; i < iovlen; i++) {
    const base = fuword64(td.td_proc, uiov + i * 16);
    const len = fuword64(td.td_proc, uiov + i * 16 + 8);
    if (base === null || len === null) return EFAULT;
    if (len > 0x7fffffff) return EINVAL;
    iov.push({ base, len });
    total += len;
  }
  if (total > 0x7fffffff) return EINVAL;
  return { hdr, iov, total };
}

function rd64(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 4294967296;
}

/** sendmsg(s, msg, flags) */
export function sys_sendmsg(td: Thread, args: readonly number[]): number | Promise<number> {
  const m = read_msghdr(td, arg(args, 1));
  if (typeof m === 'number') return m;
  const dv = new DataView(m.hdr.buffer, m.hdr.byteOffset, m.hdr.byteLength);
  const kbuf = new Uint8Array(m.total);
  let at = 0;
  for (const v of m.iov) {
    if (v.len === 0) continue;
    const src = vmspace(td.td_proc).resolve(v.base, v.len);
    if (src === null) return EFAULT;
    kbuf.set(src, at);
    at += v.len;
  }
  let to: Uint8Array | null = null;
  const uname = rd64(dv, MSG_NAME_OFF);
  if (uname !== 0) {
    const sa = getsockaddr(td, uname, dv.getUint32(MSG_NAMELEN_OFF, true));
    if (typeof sa === 'number') return sa;
    to = sa;
  }
  let control: Uint8Array | null = null;
  const clen = dv.getUint32(MSG_CONTROLLEN_OFF, true);
  if (clen > 0) {
    if (clen < 12) return EINVAL;
    const c = copyin(td.td_proc, rd64(dv, MSG_CONTROL_OFF), clen);
    if (typeof c === 'number') return c;
    control = c;
  }
  return kern_sendit(td, arg(args, 0), to, kbuf, control, arg(args, 2));
}

/**
 * kern_recvit(): one receive into uio (over a kernel buffer, or the caller's user
 * buffer: user_buf); the bytes moved are len - uio_resid.  EINTR, ERESTART or
 * EWOULDBLOCK after moving data become success.  Synchronous unless soreceive sleeps.
 */
export function kern_recvit(
  td: Thread,
  s: number,
  uio: Uio,
  flags: number,
): SoRecvResult | Promise<SoRecvResult> {
  BKPT(S_kern_recvit);
  const so = getsock_so(td, s);
  if (typeof so === 'number') return { error: so, addr: null, control: null, flags: 0 };
  const resid = uio.uio_resid;
  const r = soreceive(so, uio, flags, td);
  if (r instanceof Promise) return kern_recvit_sleep(r, uio, resid);
  return kern_recvit_done(r, uio, resid);
}

async function kern_recvit_sleep(
  r: Promise<SoRecvResult>,
  uio: Uio,
  resid: number,
): Promise<SoRecvResult> {
  return kern_recvit_done(await r, uio, resid);
}

function kern_recvit_done(r: SoRecvResult, uio: Uio, resid: number): SoRecvResult {
  const done = resid - uio.uio_resid;
  let error = r.error;
  if (error !== 0 && done > 0 && (error === ERESTART || error === EINTR || error === EWOULDBLOCK))
    error = 0;
  if (error === ERESTART) error = EINTR;
  r.error = error;
  return r;
}

/** recvfrom(s, buf, len, flags, from, fromlenaddr) */
export function sys_recvfrom(td: Thread, args: readonly number[]): number | Promise<number> {
  /* The argument registers read in place (arg() here would box the user addresses). */
  const ubuf = args[1] ?? 0;
  const len = args[2] ?? 0;
  if (!Number.isSafeInteger(len) || len < 0) return EINVAL;
  const buf = user_buf(td, ubuf, len);
  if (typeof buf === 'number') return buf;
  const from = args[4] ?? 0;
  const fromlenaddr = args[5] ?? 0;
  let fromlen = 0;
  if (from !== 0) {
    const v = read_int(td, fromlenaddr);
    if (v === null) return EFAULT;
    if (v < 0) return EINVAL;
    fromlen = v;
  }
  const uio: Uio = { uio_buf: buf, uio_offset: 0, uio_resid: len, uio_rw: UIO_READ };
  const r = kern_recvit(td, args[0] ?? 0, uio, args[3] ?? 0);
  if (r instanceof Promise) return sys_recvfrom_sleep(td, r, uio, ubuf, from, fromlenaddr, fromlen);
  return sys_recvfrom_done(td, r, uio, from, fromlenaddr, fromlen);
}

async function sys_recvfrom_sleep(
  td: Thread,
  rp: Promise<SoRecvResult>,
  uio: Uio,
  ubuf: number,
  from: number,
  fromlenaddr: number,
  fromlen: number,
): Promise<number> {
  const r = await rp;
  /* It slept: the buffer must still be mapped, as a copyout now would find it. */
  const done = uio.uio_buf.length - uio.uio_resid;
  if (r.error === 0 && done > 0 && vmspace(td.td_proc).entry(ubuf, done) === null) return EFAULT;
  return sys_recvfrom_done(td, r, uio, from, fromlenaddr, fromlen);
}

function sys_recvfrom_done(
  td: Thread,
  r: SoRecvResult,
  uio: Uio,
  from: number,
  fromlenaddr: number,
  fromlen: number,
): number {
  if (r.error !== 0) return r.error;
  if (from !== 0) {
    const e2 = sockaddr_out(td, r.addr ?? EMPTY, from, fromlenaddr, fromlen);
    if (e2 !== 0) return e2;
  }
  td.td_retval[0] = uio.uio_buf.length - uio.uio_resid;
  return 0;
}

/** recvmsg(s, msg, flags) */
export async function sys_recvmsg(td: Thread, args: readonly number[]): Promise<number> {
  const umsg = arg(args, 1);
  const m = read_msghdr(td, umsg);
  if (typeof m === 'number') return m;
  for (const v of m.iov)
    if (v.len > 0 && vmspace(td.td_proc).resolve(v.base, v.len) === null) return EFAULT;
  const kbuf = new Uint8Array(m.total);
  const uio: Uio = { uio_buf: kbuf, uio_offset: 0, uio_resid: m.total, uio_rw: UIO_READ };
  const r = await kern_recvit(td, arg(args, 0), uio, arg(args, 2));
  if (r.error !== 0) return r.error;
  const data = kbuf.subarray(0, m.total - uio.uio_resid);
  let at = 0;
  for (const v of m.iov) {
    if (at >= data.length) break;
    const n = Math.min(v.len, data.length - at);
    const e = copyout(td.td_proc, data.subarray(at, at + n), v.base);
    if (e !== 0) return e;
    at += n;
  }
  const hdr = m.hdr;
  const dv = new DataView(hdr.buffer, hdr.byteOffset, hdr.byteLength);
  let oflags = r.flags;
  const uname = rd64(dv, MSG_NAME_OFF);
  if (uname !== 0) {
    const sa = r.addr ?? new Uint8Array(0);
    const n = Math.min(dv.getUint32(MSG_NAMELEN_OFF, true), sa.length);
    if (n > 0) {
      const e = copyout(td.td_proc, sa.subarray(0, n), uname);
      if (e !== 0) return e;
    }
    dv.setUint32(MSG_NAMELEN_OFF, n, true);
  } else dv.setUint32(MSG_NAMELEN_OFF, 0, true);
  const ucontrol = rd64(dv, MSG_CONTROL_OFF);
  const clen = dv.getUint32(MSG_CONTROLLEN_OFF, true);
  if (r.control !== null && ucontrol !== 0) {
    const n = Math.min(clen, r.control.length);
    if (n < r.control.length) oflags |= MSG_CTRUNC;
    const e = copyout(td.td_proc, r.control.subarray(0, n), ucontrol);
    if (e !== 0) return e;
    dv.setUint32(MSG_CONTROLLEN_OFF, n, true);
  } else {
    if (r.control !== null) oflags |= MSG_CTRUNC;
    dv.setUint32(MSG_CONTROLLEN_OFF, 0, true);
  }
  dv.setInt32(MSG_FLAGS_OFF, oflags, true);
  const e = copyout(td.td_proc, hdr, umsg);
  if (e !== 0) return e;
  td.td_retval[0] = data.length;
  return 0;
}

/* ------------------------------------------------------------------------------ */
/* Socket options.                                                                 */

/** setsockopt(s, level, name, val, valsize) */
export async function sys_setsockopt(td: Thread, args: readonly number[]): Promise<number> {
  const g = getsock(td, arg(args, 0));
  if (typeof g === 'number') return g;
  const uval = arg(args, 3);
  const valsize = arg(args, 4);
  if (valsize < 0) return EINVAL;
  if (uval === 0 && valsize > 0) return EFAULT;
  const val = copyin(td.td_proc, uval, valsize);
  if (typeof val === 'number') return val;
  return sosetopt(g.so, sockopt(SOPT_SET, arg(args, 1), arg(args, 2), val, td));
}

/** getsockopt(s, level, name, val, avalsize) */
export async function sys_getsockopt(td: Thread, args: readonly number[]): Promise<number> {
  const g = getsock(td, arg(args, 0));
  if (typeof g === 'number') return g;
  const uval = arg(args, 3);
  const uvalsize = arg(args, 4);
  let valsize = 0;
  if (uval !== 0) {
    const v = read_int(td, uvalsize);
    if (v === null) return EFAULT;
    if (v < 0) return EINVAL;
    valsize = v;
  }
  const sopt = sockopt(SOPT_GET, arg(args, 1), arg(args, 2), new Uint8Array(valsize), td);
  const e = await sogetopt(g.so, sopt);
  if (e !== 0) return e;
  if (uval !== 0) {
    const n = Math.min(sopt.sopt_valsize, valsize, sopt.sopt_val.length);
    const ce = copyout(td.td_proc, sopt.sopt_val.subarray(0, n), uval);
    if (ce !== 0) return ce;
    return write_int(td, uvalsize, n);
  }
  return 0;
}

/* ------------------------------------------------------------------------------ */
/* poll(2).                                                                        */

/** The most descriptors poll accepts (FreeBSD: max(maxfilesperproc, FD_SETSIZE)). */
const POLL_MAXFDS = 1024;

/** poll(fds, nfds, timeout) */
export async function sys_poll(td: Thread, args: readonly number[]): Promise<number> {
  BKPT(S_sys_poll);
  const ufds = arg(args, 0);
  const nfds = arg(args, 1);
  const timeout = arg(args, 2) | 0;
  if (nfds < 0 || nfds > Math.max(POLL_MAXFDS, td.td_proc.p_fd?.maxfiles ?? 0)) return EINVAL;
  const buf = copyin(td.td_proc, ufds, nfds * pollfd.size);
  if (typeof buf === 'number') return buf;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const k = curkernel();
  const deadline = timeout > 0 ? k.now() + timeout * SBT_1MS : 0;
  const chan = new PollWait();
  let n = 0;
  let timedout = false;
  for (;;) {
    n = 0;
    td.td_pollchan = timeout === 0 || timedout ? null : chan;
    try {
      for (let i = 0; i < nfds; i++) {
        const off = i * pollfd.size;
        const fd = dv.getInt32(off, true);
        const events = dv.getUint16(off + 4, true);
        let revents = 0;
        if (fd >= 0) {
          const ent = fget(td, fd);
          if (ent === undefined) revents = POLLNVAL;
          else {
            const fp = ent.fde_file;
            const op = fp.f_ops.fo_poll;
            revents =
              op !== undefined
                ? op.call(fp.f_ops, fp, events, td)
                : events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
          }
        }
        dv.setUint16(off + 6, revents, true);
        if (revents !== 0) n++;
      }
    } finally {
      td.td_pollchan = null;
    }
    if (n > 0 || timeout === 0 || timedout) break;
    let sbt = 0;
    if (timeout > 0) {
      sbt = deadline - k.now();
      if (sbt <= 0) {
        timedout = true;
        continue;
      }
    }
    const e = await tsleep_sbt(chan, PCATCH, 'poll', sbt);
    seltdclear(chan);
    if (e === EWOULDBLOCK) timedout = true;
    else if (e !== 0) return e === ERESTART ? EINTR : e;
  }
  seltdclear(chan);
  const ce = copyout(td.td_proc, buf, ufds);
  if (ce !== 0) return ce;
  td.td_retval[0] = n;
  return 0;
}
