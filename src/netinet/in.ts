/*
 * netinet/in.ts — IPv4 addresses (netinet/in.h): in_addr_t, the address classes and
 * well-known addresses, masks and prefix lengths, protocol numbers, struct sockaddr_in.
 *
 * Inside the stack an IPv4 address is a number: the host-order value of the 32-bit
 * big-endian wire word (RFC 791 §3.1 "Source Address", RFC 1166 dotted notation), so
 * 192.0.2.1 is 0xc0000201 and comparisons, masks and hashing are integer operations.
 * The brand `in_addr_t` keeps addresses from mixing with other numbers.  Strings exist
 * only at the API edge: inet_ntoa for output, inet_aton/inet_pton for input.
 *
 * The class macros (IN_CLASSA...) take host-order values, as FreeBSD's do.
 * struct sockaddr_in is the FreeBSD/amd64 16-byte layout:
 *
 *     0        1          2              4                 8                16
 *     +--------+----------+--------------+-----------------+-----------------+
 *     | sin_len|sin_family| sin_port (BE)|  sin_addr (BE)  |  sin_zero[8]    |
 *     +--------+----------+--------------+-----------------+-----------------+
 *
 * Decoders never throw: they return null for short input; sockaddr_in_check gives the
 * errno FreeBSD's in_pcbbind/connect return for a bad sockaddr.
 */

import { EAFNOSUPPORT, EINVAL } from '../sys/errno.js';

/** An IPv4 address as a host-order unsigned 32-bit number. */
export type in_addr_t = number & { readonly __brand: 'in_addr_t' };
/** A port number in host order (the wire carries it big-endian). */
export type in_port_t = number & { readonly __brand: 'in_port_t' };

/** Brand a number as an address (taken modulo 2^32, unsigned). */
export function in_addr(n: number): in_addr_t {
  return (n >>> 0) as in_addr_t;
}

export function in_port(n: number): in_port_t {
  return (n & 0xffff) as in_port_t;
}

/** htons/ntohs on 16-bit values (byte swap; the stack reads wire fields big-endian). */
export function htons(x: number): number {
  return ((x & 0xff) << 8) | ((x >>> 8) & 0xff);
}
export const ntohs = htons;
export function htonl(x: number): number {
  return (
    (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | ((x >>> 24) & 0xff)) >>> 0
  );
}
export const ntohl = htonl;

export const INADDR_ANY = 0x00000000 as in_addr_t;
export const INADDR_LOOPBACK = 0x7f000001 as in_addr_t;
export const INADDR_BROADCAST = 0xffffffff as in_addr_t;
export const INADDR_NONE = 0xffffffff as in_addr_t;
export const INADDR_UNSPEC_GROUP = 0xe0000000 as in_addr_t;
export const INADDR_ALLHOSTS_GROUP = 0xe0000001 as in_addr_t;
export const INADDR_ALLRTRS_GROUP = 0xe0000002 as in_addr_t;
export const INADDR_ALLRPTS_GROUP = 0xe0000016 as in_addr_t;
export const INADDR_MAX_LOCAL_GROUP = 0xe00000ff as in_addr_t;

export const IN_CLASSA_NET = 0xff000000;
export const IN_CLASSA_NSHIFT = 24;
export const IN_CLASSA_HOST = 0x00ffffff;
export const IN_CLASSA_MAX = 128;
export const IN_CLASSB_NET = 0xffff0000;
export const IN_CLASSB_NSHIFT = 16;
export const IN_CLASSB_HOST = 0x0000ffff;
export const IN_CLASSB_MAX = 65536;
export const IN_CLASSC_NET = 0xffffff00;
export const IN_CLASSC_NSHIFT = 8;
export const IN_CLASSC_HOST = 0x000000ff;
export const IN_CLASSD_NET = 0xf0000000;
export const IN_CLASSD_NSHIFT = 28;
export const IN_CLASSD_HOST = 0x0fffffff;
export const IN_LOOPBACKNET = 127;

export const IN_CLASSA = (i: number): boolean => (i & 0x80000000) === 0;
export const IN_CLASSB = (i: number): boolean => (i & 0xc0000000) >>> 0 === 0x80000000;
export const IN_CLASSC = (i: number): boolean => (i & 0xe0000000) >>> 0 === 0xc0000000;
export const IN_CLASSD = (i: number): boolean => (i & 0xf0000000) >>> 0 === 0xe0000000;
export const IN_MULTICAST = IN_CLASSD;
export const IN_EXPERIMENTAL = (i: number): boolean => (i & 0xf0000000) >>> 0 === 0xf0000000;
export const IN_BADCLASS = IN_EXPERIMENTAL;
export const IN_LINKLOCAL = (i: number): boolean => (i & 0xffff0000) >>> 0 === 0xa9fe0000;
export const IN_LOOPBACK = (i: number): boolean => (i & 0xff000000) >>> 0 === 0x7f000000;
export const IN_ZERONET = (i: number): boolean => (i & 0xff000000) === 0;
export const IN_LOCAL_GROUP = (i: number): boolean => (i & 0xffffff00) >>> 0 === 0xe0000000;
export const IN_PRIVATE = (i: number): boolean =>
  (i & 0xff000000) >>> 0 === 0x0a000000 ||
  (i & 0xfff00000) >>> 0 === 0xac100000 ||
  (i & 0xffff0000) >>> 0 === 0xc0a80000;

/* Protocols (netinet/in.h, IANA "Protocol Numbers"). */
export const IPPROTO_IP = 0;
export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_IGMP = 2;
export const IPPROTO_GGP = 3;
export const IPPROTO_IPV4 = 4;
export const IPPROTO_IPIP = IPPROTO_IPV4;
export const IPPROTO_TCP = 6;
export const IPPROTO_EGP = 8;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_GRE = 47;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_ETHERIP = 97;
export const IPPROTO_PIM = 103;
export const IPPROTO_CARP = 112;
export const IPPROTO_SCTP = 132;
export const IPPROTO_UDPLITE = 136;
export const IPPROTO_RAW = 255;
export const IPPROTO_MAX = 256;
export const IPPROTO_DONE = 257;
export const IPPROTO_DIVERT = 258;

/* Port ranges (netinet/in.h). */
export const IPPORT_RESERVED = 1024;
export const IPPORT_EPHEMERALFIRST = 10000;
export const IPPORT_EPHEMERALLAST = 65535;
export const IPPORT_HIFIRSTAUTO = 49152;
export const IPPORT_HILASTAUTO = 65535;
export const IPPORT_MAX = 65535;

/** inet_ntoa: the dotted quad of an address (API edge only: it allocates a string). */
export function inet_ntoa(a: number): string {
  return `${(a >>> 24) & 0xff}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

function parsePart(s: string): number {
  // C inet_aton: 0x.. hex, leading 0 octal, else decimal; empty is an error.
  let base = 10;
  let i = 0;
  if (s.length > 1 && s[0] === '0') {
    if (s[1] === 'x' || s[1] === 'X') {
      base = 16;
      i = 2;
      if (s.length === 2) return 0; // "0x" is 0 in BSD's inet_aton
    } else {
      base = 8;
      i = 1;
    }
  }
  if (s.length === 0) return -1;
  let v = 0;
  for (; i < s.length; i++) {
    const d = parseInt(s[i]!, base);
    if (Number.isNaN(d)) return -1;
    v = v * base + d;
    if (v > 0xffffffff) return -1;
  }
  return v;
}

/**
 * inet_aton(3): parse "a.b.c.d", "a.b.c" (c is 16 bits), "a.b" (b is 24 bits) or "a"
 * (32 bits), each part decimal, octal (0...) or hex (0x...).  null when invalid.
 */
export function inet_aton(s: string): in_addr_t | null {
  const parts = s.split('.');
  if (parts.length > 4) return null;
  const v: number[] = [];
  for (const p of parts) {
    const n = parsePart(p);
    if (n < 0) return null;
    v.push(n);
  }
  const max = [0xffffffff, 0xffffff, 0xffff, 0xff];
  const last = v[v.length - 1]!;
  if (last > max[v.length - 1]!) return null;
  for (let i = 0; i < v.length - 1; i++) if (v[i]! > 0xff) return null;
  let a = 0;
  for (let i = 0; i < v.length - 1; i++) a += v[i]! * 2 ** (24 - 8 * i);
  return in_addr(a + last);
}

/** inet_pton(AF_INET): strict dotted decimal "a.b.c.d" (no leading zeros).  null if invalid. */
export function inet_pton4(s: string): in_addr_t | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let a = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    a = a * 256 + n;
  }
  return in_addr(a);
}

/** The netmask of a prefix length 0..32 (in_len2mask). */
export function in_len2mask(len: number): in_addr_t {
  if (!(len >= 0 && len <= 32)) throw new RangeError(`in_len2mask: bad prefix length ${len}`);
  return in_addr(len === 0 ? 0 : 0xffffffff << (32 - len));
}

/** The prefix length of a contiguous netmask, or -1 when the mask is not contiguous. */
export function in_mask2len(mask: number): number {
  const m = mask >>> 0;
  const inv = ~m >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1; // host part must be 2^k - 1
  return Math.clz32(inv);
}

/** The classful netmask FreeBSD assumes when none is given (in_control, ifconfig). */
export function in_classful_mask(a: number): in_addr_t {
  if (IN_CLASSA(a)) return in_addr(IN_CLASSA_NET);
  if (IN_CLASSB(a)) return in_addr(IN_CLASSB_NET);
  if (IN_CLASSC(a)) return in_addr(IN_CLASSC_NET);
  return in_addr(IN_CLASSD_NET);
}

/** The directed broadcast address of a subnet. */
export function in_broadcast_of(addr: number, mask: number): in_addr_t {
  return in_addr((addr & mask) | ~mask);
}

/* struct sockaddr_in (netinet/in.h), FreeBSD/amd64. */
export const AF_INET = 2;
export const SOCKADDR_IN_SIZE = 16;
export const SIN_OFF_LEN = 0;
export const SIN_OFF_FAMILY = 1;
export const SIN_OFF_PORT = 2;
export const SIN_OFF_ADDR = 4;
export const SIN_OFF_ZERO = 8;

/** A decoded sockaddr_in: port and address in host order. */
export interface sockaddr_in {
  sin_len: number;
  sin_family: number;
  sin_port: in_port_t;
  sin_addr: in_addr_t;
}

/** Build a sockaddr_in record with sin_len 16 and AF_INET. */
export function sockaddr_in(addr: number, port: number): sockaddr_in {
  return {
    sin_len: SOCKADDR_IN_SIZE,
    sin_family: AF_INET,
    sin_port: in_port(port),
    sin_addr: in_addr(addr),
  };
}

/** Write the 16-byte layout at b[off] (sin_zero cleared).  Returns bytes written. */
export function sockaddr_in_encode(sin: sockaddr_in, b: Uint8Array, off = 0): number {
  b[off + SIN_OFF_LEN] = sin.sin_len & 0xff;
  b[off + SIN_OFF_FAMILY] = sin.sin_family & 0xff;
  b[off + SIN_OFF_PORT] = (sin.sin_port >>> 8) & 0xff;
  b[off + SIN_OFF_PORT + 1] = sin.sin_port & 0xff;
  const a = sin.sin_addr >>> 0;
  b[off + SIN_OFF_ADDR] = a >>> 24;
  b[off + SIN_OFF_ADDR + 1] = (a >>> 16) & 0xff;
  b[off + SIN_OFF_ADDR + 2] = (a >>> 8) & 0xff;
  b[off + SIN_OFF_ADDR + 3] = a & 0xff;
  b.fill(0, off + SIN_OFF_ZERO, off + SOCKADDR_IN_SIZE);
  return SOCKADDR_IN_SIZE;
}

/** A fresh 16-byte struct sockaddr_in for addr:port (host order in, wire layout out). */
export function sockaddr_in_bytes(addr: number, port: number): Uint8Array {
  const b = new Uint8Array(SOCKADDR_IN_SIZE);
  sockaddr_in_encode(sockaddr_in(addr, port), b);
  return b;
}

/** Read a sockaddr_in at b[off]; null when fewer than 16 bytes are available. */
export function sockaddr_in_decode(b: Uint8Array, off = 0): sockaddr_in | null {
  if (off < 0 || off + SOCKADDR_IN_SIZE > b.length) return null;
  return {
    sin_len: b[off]!,
    sin_family: b[off + 1]!,
    sin_port: in_port((b[off + 2]! << 8) | b[off + 3]!),
    sin_addr: in_addr((b[off + 4]! << 24) | (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!),
  };
}

/**
 * The errno for a sockaddr_in given to bind/connect: EINVAL when sin_len is not 16,
 * EAFNOSUPPORT when the family is not AF_INET, 0 when acceptable.
 */
export function sockaddr_in_check(sin: sockaddr_in): number {
  if (sin.sin_len !== SOCKADDR_IN_SIZE) return EINVAL;
  if (sin.sin_family !== AF_INET) return EAFNOSUPPORT;
  return 0;
}

/** Read a big-endian address at b[off] (no bounds check: callers validated the length). */
export function in_addr_read(b: Uint8Array, off: number): in_addr_t {
  return (((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>>
    0) as in_addr_t;
}

/** Write an address big-endian at b[off]. */
export function in_addr_write(b: Uint8Array, off: number, a: number): void {
  b[off] = (a >>> 24) & 0xff;
  b[off + 1] = (a >>> 16) & 0xff;
  b[off + 2] = (a >>> 8) & 0xff;
  b[off + 3] = a & 0xff;
}
