/*
 * sys/socket.ts — the socket ABI (sys/sys/socket.h, sys/sys/un.h, sys/sys/poll.h,
 * sys/sys/_iovec.h, sys/sys/_timeval.h): address and protocol families, socket types,
 * socket-level options, message flags, and the byte layouts userland passes to the
 * socket system calls.
 *
 * Every value is FreeBSD/amd64's (LP64, little endian): pointers and size_t are 8
 * bytes, socklen_t is 4, so struct msghdr is 48 bytes with msg_namelen at 8 and
 * msg_flags at 44, struct iovec 16, struct timeval 16, struct cmsghdr 12 with data
 * aligned to 8 (CMSG_ALIGN).  struct sockaddr itself (16 bytes) is declared in
 * sys/sockio.ts (ifreq carries it) and re-exported here.
 *
 * The kernel reads and writes these layouts with the offsets below; the libc side
 * (lib/libc.ts) builds them the same way, so a program reaching the kernel through
 * libc passes exactly the bytes a C program would.
 */

import { bytes, i16, i32, i64, int, ptr, struct, u8, uint, ulong } from './types.js';
import { sockaddr } from './sockio.js';

export { sockaddr };

/* Address families (sys/socket.h). */
export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_LOCAL = AF_UNIX;
export const AF_INET = 2;
export const AF_ROUTE = 17;
export const AF_LINK = 18;
export const AF_INET6 = 28;
export const AF_MAX = 42;

/* Protocol families: the same numbers. */
export const PF_UNSPEC = AF_UNSPEC;
export const PF_UNIX = AF_UNIX;
export const PF_LOCAL = AF_LOCAL;
export const PF_INET = AF_INET;
export const PF_ROUTE = AF_ROUTE;
export const PF_LINK = AF_LINK;
export const PF_INET6 = AF_INET6;

/* Socket types. */
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_RDM = 4;
export const SOCK_SEQPACKET = 5;
/* Creation flags, OR'd into the type argument of socket(2)/socketpair(2). */
export const SOCK_CLOEXEC = 0x10000000;
export const SOCK_NONBLOCK = 0x20000000;

/* Option level for socket-level options. */
export const SOL_SOCKET = 0xffff;

/* Socket-level options (the boolean ones are bits of so_options). */
export const SO_DEBUG = 0x00000001;
export const SO_ACCEPTCONN = 0x00000002;
export const SO_REUSEADDR = 0x00000004;
export const SO_KEEPALIVE = 0x00000008;
export const SO_DONTROUTE = 0x00000010;
export const SO_BROADCAST = 0x00000020;
export const SO_USELOOPBACK = 0x00000040;
export const SO_LINGER = 0x00000080;
export const SO_OOBINLINE = 0x00000100;
export const SO_REUSEPORT = 0x00000200;
export const SO_TIMESTAMP = 0x00000400;
export const SO_NOSIGPIPE = 0x00000800;
export const SO_ACCEPTFILTER = 0x00001000;
export const SO_BINTIME = 0x00002000;
export const SO_NO_OFFLOAD = 0x00004000;
export const SO_NO_DDP = 0x00008000;
export const SO_REUSEPORT_LB = 0x00010000;
export const SO_RERROR = 0x00020000;
/* Valued options. */
export const SO_SNDBUF = 0x1001;
export const SO_RCVBUF = 0x1002;
export const SO_SNDLOWAT = 0x1003;
export const SO_RCVLOWAT = 0x1004;
export const SO_SNDTIMEO = 0x1005;
export const SO_RCVTIMEO = 0x1006;
export const SO_ERROR = 0x1007;
export const SO_TYPE = 0x1008;
export const SO_LABEL = 0x1009;
export const SO_PEERLABEL = 0x1010;
export const SO_LISTENQLIMIT = 0x1011;
export const SO_LISTENQLEN = 0x1012;
export const SO_LISTENINCQLEN = 0x1013;
export const SO_SETFIB = 0x1014;
export const SO_USER_COOKIE = 0x1015;
export const SO_PROTOCOL = 0x1016;
export const SO_PROTOTYPE = SO_PROTOCOL;
export const SO_TS_CLOCK = 0x1017;
export const SO_MAX_PACING_RATE = 0x1018;
export const SO_DOMAIN = 0x1019;

/* Message flags (send/recv). */
export const MSG_OOB = 0x00000001;
export const MSG_PEEK = 0x00000002;
export const MSG_DONTROUTE = 0x00000004;
export const MSG_EOR = 0x00000008;
export const MSG_TRUNC = 0x00000010;
export const MSG_CTRUNC = 0x00000020;
export const MSG_WAITALL = 0x00000040;
export const MSG_DONTWAIT = 0x00000080;
export const MSG_EOF = 0x00000100;
export const MSG_NOTIFICATION = 0x00002000;
export const MSG_NBIO = 0x00004000;
export const MSG_COMPAT = 0x00008000;
export const MSG_NOSIGNAL = 0x00020000;
export const MSG_CMSG_CLOEXEC = 0x00040000;
export const MSG_WAITFORONE = 0x00080000;

/* shutdown(2) how. */
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/* Control message types at SOL_SOCKET. */
export const SCM_RIGHTS = 0x01;
export const SCM_TIMESTAMP = 0x02;
export const SCM_CREDS = 0x03;

/** listen(2) default upper bound (SOMAXCONN); kern.ipc.soacceptqueue is the tunable. */
export const SOMAXCONN = 128;
/** Longest sockaddr the kernel accepts (SOCK_MAXADDRLEN). */
export const SOCK_MAXADDRLEN = 255;

/* ------------------------------------------------------------------------------ */
/* Layouts.                                                                        */

/** Size of struct sockaddr. */
export const SOCKADDR_SIZE = sockaddr.size; /* 16 */

/** struct sockaddr_un (sys/un.h): 106 bytes, sun_path[104]. */
export const SUN_PATH_LEN = 104;
export const sockaddr_un = struct('sockaddr_un', [
  ['sun_len', u8],
  ['sun_family', u8],
  ['sun_path', bytes(SUN_PATH_LEN)],
]);
/** offsetof(struct sockaddr_un, sun_path) */
export const SUN_PATH_OFF = 2;

/** struct sockaddr_storage: 128 bytes, 8-aligned. */
export const sockaddr_storage = struct('sockaddr_storage', [
  ['ss_len', u8],
  ['ss_family', u8],
  ['__ss_pad1', bytes(6)],
  ['__ss_align', i64],
  ['__ss_pad2', bytes(112)],
]);

/** struct linger: l_onoff, l_linger (seconds). */
export const linger = struct('linger', [
  ['l_onoff', int],
  ['l_linger', int],
]);

/** struct iovec: iov_base, iov_len. */
export const iovec = struct('iovec', [
  ['iov_base', ptr],
  ['iov_len', ulong],
]);

/** struct msghdr (48 bytes). */
export const msghdr = struct('msghdr', [
  ['msg_name', ptr],
  ['msg_namelen', uint],
  ['msg_iov', ptr],
  ['msg_iovlen', int],
  ['msg_control', ptr],
  ['msg_controllen', uint],
  ['msg_flags', int],
]);
export const MSG_NAME_OFF = 0;
export const MSG_NAMELEN_OFF = 8;
export const MSG_IOV_OFF = 16;
export const MSG_IOVLEN_OFF = 24;
export const MSG_CONTROL_OFF = 32;
export const MSG_CONTROLLEN_OFF = 40;
export const MSG_FLAGS_OFF = 44;

/** struct cmsghdr: cmsg_len (socklen_t), cmsg_level, cmsg_type; data follows aligned. */
export const cmsghdr = struct('cmsghdr', [
  ['cmsg_len', uint],
  ['cmsg_level', int],
  ['cmsg_type', int],
]);

/** _ALIGN on amd64: 8 bytes. */
export function CMSG_ALIGN(n: number): number {
  return (n + 7) & ~7;
}
export function CMSG_DATA_OFF(): number {
  return CMSG_ALIGN(cmsghdr.size);
}
export function CMSG_LEN(l: number): number {
  return CMSG_ALIGN(cmsghdr.size) + l;
}
export function CMSG_SPACE(l: number): number {
  return CMSG_ALIGN(cmsghdr.size) + CMSG_ALIGN(l);
}

/** struct timeval (amd64): tv_sec time_t, tv_usec suseconds_t (long). */
export const timeval = struct('timeval', [
  ['tv_sec', i64],
  ['tv_usec', i64],
]);

/* poll(2) events. */
export const POLLIN = 0x0001;
export const POLLPRI = 0x0002;
export const POLLOUT = 0x0004;
export const POLLERR = 0x0008;
export const POLLHUP = 0x0010;
export const POLLNVAL = 0x0020;
export const POLLRDNORM = 0x0040;
export const POLLRDBAND = 0x0080;
export const POLLWRNORM = POLLOUT;
export const POLLWRBAND = 0x0100;
export const POLLINIGNEOF = 0x2000;
export const POLLRDHUP = 0x4000;
export const POLLSTANDARD =
  POLLIN | POLLPRI | POLLOUT | POLLRDNORM | POLLRDBAND | POLLWRBAND | POLLERR | POLLHUP | POLLNVAL;
export const INFTIM = -1;

/** struct pollfd: fd, events, revents (8 bytes). */
export const pollfd = struct('pollfd', [
  ['fd', i32],
  ['events', i16],
  ['revents', i16],
]);

/* ------------------------------------------------------------------------------ */
/* Small helpers over the byte layouts (kernel and libc share them).              */

/** A sockaddr_un for path (sun_len = 2 + path bytes + NUL, as SUN_LEN() computes). */
export function sockaddr_un_encode(path: string): Uint8Array {
  const p = new TextEncoder().encode(path);
  const n = Math.min(p.length, SUN_PATH_LEN - 1);
  const b = new Uint8Array(sockaddr_un.size);
  b[0] = SUN_PATH_OFF + n + 1;
  b[1] = AF_UNIX;
  b.set(p.subarray(0, n), SUN_PATH_OFF);
  return b.subarray(0, SUN_PATH_OFF + n + 1);
}

/** The path of a sockaddr_un (up to sun_len, or the first NUL); null when not AF_UNIX. */
export function sockaddr_un_decode(b: Uint8Array): string | null {
  if (b.length < SUN_PATH_OFF || b[1] !== AF_UNIX) return null;
  const end = Math.min(b.length, b[0]! === 0 ? b.length : b[0]!);
  const p = b.subarray(SUN_PATH_OFF, Math.max(SUN_PATH_OFF, end));
  const nul = p.indexOf(0);
  return new TextDecoder().decode(nul >= 0 ? p.subarray(0, nul) : p);
}

/** Read / write a little-endian int32 (socklen_t, int options). */
export function le32_get(b: Uint8Array, off = 0): number {
  return b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24);
}
export function le32_put(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}
/** An int option value (4 bytes). */
export function int_bytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  le32_put(b, 0, v);
  return b;
}
