/*
 * bin/testctl_proto.ts — the vocabulary of the test-control protocol (bin/testctl.ts,
 * docs/TESTCTL.md): decoding a request's arguments (integers, strings, constants by
 * name or number, flag lists, byte strings in hex/base64/utf8, IPv4 socket addresses)
 * with an EINVAL CtlError for anything malformed, and encoding what the kernel returns
 * (socket addresses, flag names, sysctl values by their CTLTYPE, routes) as JSON.
 *
 * Names are FreeBSD's (SOCK_STREAM, SO_REUSEADDR, TCP_NODELAY, MSG_PEEK, POLLIN,
 * F_SETFL, O_NONBLOCK) and are accepted case-insensitively with or without their prefix,
 * so a harness writes "stream" or "SOCK_STREAM"; numbers always work.
 */

import { EINVAL, strerror } from '../sys/errno.js';
import * as SK from '../sys/socket.js';
import * as FC from '../sys/fcntl.js';
import {
  IPPROTO_ICMP,
  IPPROTO_IP,
  IPPROTO_RAW,
  IPPROTO_TCP,
  IPPROTO_UDP,
  in_addr,
  in_port,
  inet_ntoa,
  sockaddr_in_bytes,
  sockaddr_in_decode,
} from '../netinet/in.js';
import * as TV from '../netinet/tcp_var.js';
import * as IPO from '../netinet/ip_ctloutput.js';
import { RTF_HOST, type RtSockaddr } from '../net/route.js';
import { ether_sprintf } from '../net/ethernet.js';

/* ---------------------------------------------------------------------------------- */
/* JSON values, errors and arguments                                                    */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Req = Record<string, unknown>;

/** A request failed with errno (FreeBSD's numbers; the reply carries its name). */
export class CtlError extends Error {
  constructor(
    readonly errno: number,
    message?: string,
  ) {
    super(message ?? strerror(errno));
  }
}

export function fail(errno: number, message?: string): never {
  throw new CtlError(errno, message);
}

export function einval(message: string): never {
  throw new CtlError(EINVAL, message);
}

/** The longest request line (bytes); longer ones are refused with EINVAL. */
export const CTL_MAXLINE = 1 << 24;
/**
 * The longest single clock advance: ten days.  Kernel time is nanoseconds in a double,
 * exact for about 104 days of uptime (host/clock.ts).
 */
export const CTL_MAXADVANCE = 10 * 86400 * 1e9;
/** The largest read/recv a request may ask for. */
export const CTL_MAXIO = 1 << 20;

export function a_int(
  r: Req,
  name: string,
  def?: number,
  min = -0x80000000,
  max = 0x7fffffff,
): number {
  const v = r[name];
  if (v === undefined || v === null) {
    if (def === undefined) einval(`"${name}" is required (an integer)`);
    return def;
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) einval(`"${name}" must be an integer`);
  if (v < min || v > max) einval(`"${name}" must be between ${min} and ${max}`);
  return v;
}

export function a_str(r: Req, name: string, def?: string): string {
  const v = r[name];
  if (v === undefined || v === null) {
    if (def === undefined) einval(`"${name}" is required (a string)`);
    return def;
  }
  if (typeof v !== 'string') einval(`"${name}" must be a string`);
  return v;
}

export function a_bool(r: Req, name: string, def = false): boolean {
  const v = r[name];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') einval(`"${name}" must be true or false`);
  return v;
}

/** A constant given as its number or its name (case-insensitive, prefix optional). */
export function lookup_const(
  table: ReadonlyMap<string, number>,
  prefix: string,
  what: string,
  v: unknown,
): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') {
    const u = v.toUpperCase();
    const n = table.get(u) ?? table.get(prefix + u);
    if (n !== undefined) return n;
  }
  einval(`unknown ${what} ${JSON.stringify(v)}`);
}

export function a_const(
  r: Req,
  name: string,
  table: ReadonlyMap<string, number>,
  prefix: string,
  def?: number,
): number {
  const v = r[name];
  if (v === undefined || v === null) {
    if (def === undefined) einval(`"${name}" is required`);
    return def;
  }
  return lookup_const(table, prefix, name, v);
}

/** Flags: a number, a name, or a list of names, OR'ed. */
export function a_flags(
  r: Req,
  name: string,
  table: ReadonlyMap<string, number>,
  prefix: string,
): number {
  const v = r[name];
  if (v === undefined || v === null) return 0;
  if (Array.isArray(v))
    return v.reduce<number>((f, x) => f | lookup_const(table, prefix, name, x), 0);
  return lookup_const(table, prefix, name, v);
}

/** The names of the bits set in v (unknown bits as a hex number). */
export function flag_names(v: number, table: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  let rest = v;
  for (const [n, bit] of table)
    if (bit !== 0 && (bit & (bit - 1)) === 0 && v & bit && rest & bit) {
      out.push(n);
      rest &= ~bit;
    }
  if (rest !== 0) out.push(`0x${rest.toString(16)}`);
  return out;
}

export type Encoding = 'hex' | 'base64' | 'utf8';

export function a_encoding(r: Req): Encoding {
  const e = a_str(r, 'encoding', 'hex');
  if (e !== 'hex' && e !== 'base64' && e !== 'utf8')
    einval(`"encoding" must be hex, base64 or utf8`);
  return e;
}

/** Bytes from a string in the request's encoding. */
export function a_bytes(r: Req, name = 'data'): Uint8Array {
  const s = a_str(r, name);
  const e = a_encoding(r);
  if (e === 'hex') {
    const h = s.replace(/\s+/g, '');
    if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) einval(`"${name}" is not hex`);
    return new Uint8Array(Buffer.from(h, 'hex'));
  }
  if (e === 'base64') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) einval(`"${name}" is not base64`);
    return new Uint8Array(Buffer.from(s, 'base64'));
  }
  return new TextEncoder().encode(s);
}

export function encode(b: Uint8Array, e: Encoding): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return e === 'utf8' ? buf.toString('utf8') : buf.toString(e);
}

/** A dotted quad (strictly four decimal parts) as a host-order number. */
export function parse_inet(s: string, name: string): number {
  const m = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(s);
  if (m === null || m.slice(1).some((x) => Number(x) > 255))
    einval(`"${name}" must be a dotted-quad IPv4 address`);
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

/** The socket address of a request: {addr, port} (AF_INET) or {path} (AF_UNIX). */
export function a_sockaddr(r: Req, addrname = 'addr', portname = 'port'): Uint8Array {
  if (r['path'] !== undefined && addrname === 'addr')
    return SK.sockaddr_un_encode(a_str(r, 'path'));
  const a = parse_inet(a_str(r, addrname), addrname);
  const p = a_int(r, portname, 0, 0, 65535);
  return sockaddr_in_bytes(in_addr(a), in_port(p));
}

/** A sockaddr the kernel returned, as JSON. */
export function sockaddr_json(b: Uint8Array, len: number): Json {
  if (len < 2) return null;
  const fam = b[1];
  if (fam === SK.AF_INET) {
    const s = sockaddr_in_decode(b.subarray(0, Math.max(len, 16)));
    if (s === null) return null;
    return { family: 'inet', addr: inet_ntoa(s.sin_addr), port: s.sin_port };
  }
  if (fam === SK.AF_UNIX)
    return { family: 'unix', path: SK.sockaddr_un_decode(b.subarray(0, len)) };
  return { family: fam ?? 0 };
}

export function table(
  entries: readonly (readonly [string, number])[],
): ReadonlyMap<string, number> {
  return new Map(entries);
}

export const DOMAINS = table([
  ['AF_INET', SK.AF_INET],
  ['INET', SK.AF_INET],
  ['AF_UNIX', SK.AF_UNIX],
  ['AF_LOCAL', SK.AF_UNIX],
  ['UNIX', SK.AF_UNIX],
  ['LOCAL', SK.AF_UNIX],
  ['AF_ROUTE', SK.AF_ROUTE],
  ['ROUTE', SK.AF_ROUTE],
]);
export const TYPES = table([
  ['SOCK_STREAM', SK.SOCK_STREAM],
  ['SOCK_DGRAM', SK.SOCK_DGRAM],
  ['SOCK_RAW', SK.SOCK_RAW],
  ['SOCK_SEQPACKET', SK.SOCK_SEQPACKET],
]);
export const PROTOS = table([
  ['IPPROTO_IP', IPPROTO_IP],
  ['IPPROTO_ICMP', IPPROTO_ICMP],
  ['IPPROTO_TCP', IPPROTO_TCP],
  ['IPPROTO_UDP', IPPROTO_UDP],
  ['IPPROTO_RAW', IPPROTO_RAW],
]);
export const LEVELS = table([['SOL_SOCKET', SK.SOL_SOCKET], ['SOCKET', SK.SOL_SOCKET], ...PROTOS]);
export const SOCKOPTS = table([
  ['SO_DEBUG', SK.SO_DEBUG],
  ['SO_ACCEPTCONN', SK.SO_ACCEPTCONN],
  ['SO_REUSEADDR', SK.SO_REUSEADDR],
  ['SO_KEEPALIVE', SK.SO_KEEPALIVE],
  ['SO_DONTROUTE', SK.SO_DONTROUTE],
  ['SO_BROADCAST', SK.SO_BROADCAST],
  ['SO_LINGER', SK.SO_LINGER],
  ['SO_OOBINLINE', SK.SO_OOBINLINE],
  ['SO_REUSEPORT', SK.SO_REUSEPORT],
  ['SO_TIMESTAMP', SK.SO_TIMESTAMP],
  ['SO_NOSIGPIPE', SK.SO_NOSIGPIPE],
  ['SO_REUSEPORT_LB', SK.SO_REUSEPORT_LB],
  ['SO_SNDBUF', SK.SO_SNDBUF],
  ['SO_RCVBUF', SK.SO_RCVBUF],
  ['SO_SNDLOWAT', SK.SO_SNDLOWAT],
  ['SO_RCVLOWAT', SK.SO_RCVLOWAT],
  ['SO_SNDTIMEO', SK.SO_SNDTIMEO],
  ['SO_RCVTIMEO', SK.SO_RCVTIMEO],
  ['SO_ERROR', SK.SO_ERROR],
  ['SO_TYPE', SK.SO_TYPE],
  ['SO_LISTENQLIMIT', SK.SO_LISTENQLIMIT],
  ['SO_LISTENQLEN', SK.SO_LISTENQLEN],
  ['SO_LISTENINCQLEN', SK.SO_LISTENINCQLEN],
  ['SO_PROTOCOL', SK.SO_PROTOCOL],
  ['SO_DOMAIN', SK.SO_DOMAIN],
]);
export const TCPOPTS = table([
  ['TCP_NODELAY', TV.TCP_NODELAY],
  ['TCP_MAXSEG', TV.TCP_MAXSEG],
  ['TCP_NOPUSH', TV.TCP_NOPUSH],
  ['TCP_NOOPT', TV.TCP_NOOPT],
  ['TCP_INFO', TV.TCP_INFO],
  ['TCP_CONGESTION', TV.TCP_CONGESTION],
  ['TCP_KEEPINIT', TV.TCP_KEEPINIT],
  ['TCP_KEEPIDLE', TV.TCP_KEEPIDLE],
  ['TCP_KEEPINTVL', TV.TCP_KEEPINTVL],
  ['TCP_KEEPCNT', TV.TCP_KEEPCNT],
]);
export const IPOPTS = table([
  ['IP_OPTIONS', IPO.IP_OPTIONS],
  ['IP_HDRINCL', IPO.IP_HDRINCL],
  ['IP_TOS', IPO.IP_TOS],
  ['IP_TTL', IPO.IP_TTL],
  ['IP_RECVDSTADDR', IPO.IP_RECVDSTADDR],
  ['IP_PORTRANGE', IPO.IP_PORTRANGE],
  ['IP_RECVIF', IPO.IP_RECVIF],
  ['IP_BINDANY', IPO.IP_BINDANY],
  ['IP_RECVTTL', IPO.IP_RECVTTL],
  ['IP_MINTTL', IPO.IP_MINTTL],
  ['IP_DONTFRAG', IPO.IP_DONTFRAG],
  ['IP_RECVTOS', IPO.IP_RECVTOS],
]);
export const MSGFLAGS = table([
  ['MSG_OOB', SK.MSG_OOB],
  ['MSG_PEEK', SK.MSG_PEEK],
  ['MSG_DONTROUTE', SK.MSG_DONTROUTE],
  ['MSG_EOR', SK.MSG_EOR],
  ['MSG_TRUNC', SK.MSG_TRUNC],
  ['MSG_CTRUNC', SK.MSG_CTRUNC],
  ['MSG_WAITALL', SK.MSG_WAITALL],
  ['MSG_DONTWAIT', SK.MSG_DONTWAIT],
  ['MSG_EOF', SK.MSG_EOF],
  ['MSG_NOSIGNAL', SK.MSG_NOSIGNAL],
]);
export const POLLFLAGS = table([
  ['POLLIN', SK.POLLIN],
  ['POLLPRI', SK.POLLPRI],
  ['POLLOUT', SK.POLLOUT],
  ['POLLERR', SK.POLLERR],
  ['POLLHUP', SK.POLLHUP],
  ['POLLNVAL', SK.POLLNVAL],
  ['POLLRDNORM', SK.POLLRDNORM],
  ['POLLRDBAND', SK.POLLRDBAND],
  ['POLLWRBAND', SK.POLLWRBAND],
  ['POLLINIGNEOF', SK.POLLINIGNEOF],
  ['POLLRDHUP', SK.POLLRDHUP],
]);
export const SHUTHOW = table([
  ['SHUT_RD', SK.SHUT_RD],
  ['SHUT_WR', SK.SHUT_WR],
  ['SHUT_RDWR', SK.SHUT_RDWR],
]);
export const FCNTLCMDS = table([
  ['F_GETFD', FC.F_GETFD],
  ['F_SETFD', FC.F_SETFD],
  ['F_GETFL', FC.F_GETFL],
  ['F_SETFL', FC.F_SETFL],
]);
export const OFLAGS = table([
  ['O_WRONLY', FC.O_WRONLY],
  ['O_RDWR', FC.O_RDWR],
  ['O_NONBLOCK', FC.O_NONBLOCK],
  ['O_APPEND', FC.O_APPEND],
  ['O_ASYNC', FC.O_ASYNC],
]);
export const FD_CLOEXEC = 1;

/** The prefix of a level's option names (SO_, TCP_, IP_). */
export function opt_prefix(level: number): string {
  return level === SK.SOL_SOCKET ? 'SO_' : level === IPPROTO_TCP ? 'TCP_' : 'IP_';
}

/** The option names of a level. */
export function opt_table(level: number): ReadonlyMap<string, number> {
  if (level === SK.SOL_SOCKET) return SOCKOPTS;
  if (level === IPPROTO_TCP) return TCPOPTS;
  if (level === IPPROTO_IP) return IPOPTS;
  return new Map();
}

/* ---------------------------------------------------------------------------------- */
/* Helpers                                                                              */

/** A locally administered address for the "wire" side of injected frames. */
export const DEF_SRC_MAC = new Uint8Array([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01]);

export function parse_mac(s: string): Uint8Array {
  const p = s.split(':');
  if (p.length !== 6 || p.some((x) => !/^[0-9a-fA-F]{1,2}$/.test(x)))
    einval('"src_mac" must be six hex bytes separated by colons');
  return new Uint8Array(p.map((x) => parseInt(x, 16)));
}

export const CTLTYPES: readonly string[] = [
  '',
  'node',
  'int',
  'string',
  's64',
  'opaque',
  'uint',
  'long',
  'ulong',
  'u64',
  'u8',
  'u16',
  's8',
  's16',
  's32',
  'u32',
];

export function ctltype_name(kind: number): string {
  return CTLTYPES[kind & 0xf] ?? 'unknown';
}

/** Width and signedness of an integer sysctl type, or null. */
export function ctl_int(kind: number): { size: number; signed: boolean } | null {
  switch (ctltype_name(kind)) {
    case 'int':
    case 's32':
      return { size: 4, signed: true };
    case 'uint':
    case 'u32':
      return { size: 4, signed: false };
    case 'long':
    case 's64':
      return { size: 8, signed: true };
    case 'ulong':
    case 'u64':
      return { size: 8, signed: false };
    case 'u8':
      return { size: 1, signed: false };
    case 's8':
      return { size: 1, signed: true };
    case 'u16':
      return { size: 2, signed: false };
    case 's16':
      return { size: 2, signed: true };
    default:
      return null;
  }
}

/** A sysctl value as JSON: a number (or a list of them), a string, or hex. */
export function sysctl_json(kind: number, b: Uint8Array): Json {
  if (ctltype_name(kind) === 'string') {
    const n = b.indexOf(0);
    return new TextDecoder().decode(n >= 0 ? b.subarray(0, n) : b);
  }
  const t = ctl_int(kind);
  if (t === null) return { hex: encode(b, 'hex') };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const vals: number[] = [];
  for (let o = 0; o + t.size <= b.length; o += t.size) {
    if (t.size === 1) vals.push(t.signed ? dv.getInt8(o) : dv.getUint8(o));
    else if (t.size === 2) vals.push(t.signed ? dv.getInt16(o, true) : dv.getUint16(o, true));
    else if (t.size === 4) vals.push(t.signed ? dv.getInt32(o, true) : dv.getUint32(o, true));
    else vals.push(Number(t.signed ? dv.getBigInt64(o, true) : dv.getBigUint64(o, true)));
  }
  return vals.length === 1 ? vals[0]! : vals;
}

/**
 * A new value for a sysctl of this type, EINVAL when it does not fit: the range is the
 * type's (its size and sign), as sysctl(8) refuses a number its strtol/strtoul cannot
 * hold, so 4294967296 for an int or -1 for a uint is an error and never a truncated store.
 */
export function sysctl_encode(kind: number, v: unknown): Uint8Array {
  if (ctltype_name(kind) === 'string') {
    if (typeof v !== 'string') einval('"value" must be a string for this sysctl');
    return new TextEncoder().encode(v);
  }
  const t = ctl_int(kind);
  if (t === null) einval('set an opaque sysctl with "data" (and "encoding")');
  if (typeof v !== 'number' || !Number.isInteger(v)) einval('"value" must be an integer');
  // Compared as BigInt: a double near 2^63 or 2^64 rounds, and the bounds must not.
  const bits = BigInt(t.size * 8);
  const min = t.signed ? -(1n << (bits - 1n)) : 0n;
  const max = t.signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  const bv = BigInt(v);
  if (bv < min || bv > max)
    einval(`"value" ${v} is out of range for a ${ctltype_name(kind)} (${min} to ${max})`);
  const b = new Uint8Array(t.size);
  const dv = new DataView(b.buffer);
  if (t.size === 1) dv.setUint8(0, v & 0xff);
  else if (t.size === 2) dv.setUint16(0, v & 0xffff, true);
  else if (t.size === 4) dv.setUint32(0, v >>> 0, true);
  else dv.setBigUint64(0, BigInt.asUintN(64, bv), true);
  return b;
}

/** The prefix length of a route's netmask (32 for host routes). */
export function mask_len(mask: RtSockaddr | null, flags: number): number {
  if (flags & RTF_HOST) return 32;
  if (mask === null || mask.kind !== 'inet') return mask === null ? 32 : 0;
  let n = 0;
  for (let m = mask.addr >>> 0; m & 0x80000000; m = (m << 1) >>> 0) n++;
  return n;
}

export function gw_json(gw: RtSockaddr | null): Json {
  if (gw === null) return null;
  if (gw.kind === 'inet') return inet_ntoa(gw.addr);
  if (gw.kind === 'link')
    return gw.lladdr.length > 0 ? ether_sprintf(gw.lladdr) : `link#${gw.index}`;
  return null;
}
