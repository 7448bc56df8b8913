/*
 * lib/netdb.ts — the resolver side of libc (netdb.h, arpa/inet.h): inet_pton and
 * inet_ntop, getaddrinfo, getnameinfo, gai_strerror, getservbyname/getservbyport.
 *
 * getaddrinfo is FreeBSD's libc algorithm (lib/libc/net/getaddrinfo.c, KAME) for a
 * libc built without INET6: the hints are checked in the same order with the same
 * errors (EAI_NONAME when both names are null, then EAI_BADHINTS, EAI_BADFLAGS outside
 * AI_MASK, EAI_FAMILY, EAI_BADHINTS for a socktype/protocol pair no row of the explore
 * table allows), the service is matched up front (EAI_SERVICE, EAI_SOCKTYPE, EAI_NONAME
 * under AI_NUMERICSERV), a null host is the wildcard (AI_PASSIVE) or loopback address
 * once a socket(AF_INET, SOCK_DGRAM) probe succeeds, a numeric host is parsed with
 * inet_aton (so "127.1" works, as RFC 3493 asks), AI_NUMERICHOST refuses anything
 * else, AI_ADDRCONFIG wants an IPv4 address on an interface that is up and not
 * 127/8 (EAI_FAIL otherwise; FreeBSD asks getifaddrs, we ask SIOCGIFCONF and
 * SIOCGIFFLAGS), and names come from the "files" source: every line of /etc/hosts
 * naming the host, case-insensitively, in file order, ai_canonname the line's first
 * name.  The answers are then copied once per matching row of the explore table:
 * SOCK_DGRAM/IPPROTO_UDP first, then SOCK_STREAM/IPPROTO_TCP, each row only if the
 * service exists for its protocol; nothing left is EAI_FAIL.  Numeric ports are
 * strtoul's (0..65535), names come from /etc/services.  Each call reads the files
 * afresh through open(2)/read(2), so /etc is the calling process's jail's: its root
 * (the jail's path below the boot root) is a host directory.
 *
 * What differs from FreeBSD:
 *  - No IPv6.  AF_INET6 in the hints is EAI_FAMILY, as in FreeBSD built WITHOUT_INET6;
 *    so is PF_LOCAL (FreeBSD 15 added it).  inet_pton/inet_ntop know only AF_INET (the
 *    rest is EAFNOSUPPORT); /etc/hosts lines with other addresses are skipped.
 *  - No DNS and no NIS: "files" is the only source.  In its place "localhost" resolves
 *    to 127.0.0.1, and 127.0.0.1 back to "localhost", when /etc/hosts does not say
 *    otherwise (the stock FreeBSD /etc/hosts line, for jails whose root has none).
 *  - With socktype and protocol both 0 FreeBSD also returns SOCK_SEQPACKET/
 *    IPPROTO_SCTP; the kernel has no SCTP, so the wildcard stops at UDP and TCP.  An
 *    explicit SCTP or UDP-Lite request still gets its entry, as in FreeBSD.
 *  - Without /etc/services in the jail a built-in table of well-known services
 *    stands in (FreeBSD would have none); when the file exists it is the only source.
 *  - The result is an array, not an ai_next chain (no freeaddrinfo); ai_addr is the
 *    16-byte struct sockaddr_in.  getnameinfo returns the strings instead of filling
 *    buffers; hostlen/servlen keep their meaning (0: not wanted; too short:
 *    EAI_MEMORY).  It knows AF_INET only (FreeBSD also formats AF_LOCAL and AF_LINK).
 *  - getservbyport takes the port in host order.
 */

import type { Libc } from './libc.js';
import { EAFNOSUPPORT, EINVAL, EMFILE, ENOSPC } from '../sys/errno.js';
import { O_CLOEXEC, O_RDONLY } from '../sys/fcntl.js';
import {
  AF_INET,
  AF_LOCAL,
  AF_UNSPEC,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOCK_STREAM,
} from '../sys/socket.js';
import {
  INADDR_ANY,
  INADDR_LOOPBACK,
  IN_EXPERIMENTAL,
  IN_LOOPBACK,
  IN_MULTICAST,
  IN_ZERONET,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPPROTO_UDPLITE,
  SOCKADDR_IN_SIZE,
  inet_aton,
  inet_ntoa,
  inet_pton4,
  sockaddr_in,
  sockaddr_in_decode,
  sockaddr_in_encode,
  type in_addr_t,
} from '../netinet/in.js';
import { SIOCGIFCONF, SIOCGIFFLAGS } from '../sys/sockio.js';
import { IFF_UP } from '../net/if_var.js';

/* netinet/in.h */
export const INET_ADDRSTRLEN = 16;

/* netdb.h: getaddrinfo() and getnameinfo() errors (EAI_ADDRFAMILY 1 and EAI_NODATA 7
 * are obsolete and not defined, but gai_strerror still knows them). */
export const EAI_AGAIN = 2;
export const EAI_BADFLAGS = 3;
export const EAI_FAIL = 4;
export const EAI_FAMILY = 5;
export const EAI_MEMORY = 6;
export const EAI_NONAME = 8;
export const EAI_SERVICE = 9;
export const EAI_SOCKTYPE = 10;
export const EAI_SYSTEM = 11;
export const EAI_BADHINTS = 12;
export const EAI_PROTOCOL = 13;
export const EAI_OVERFLOW = 14;
export const EAI_MAX = 15;

/* netdb.h: getaddrinfo() flags. */
export const AI_PASSIVE = 0x00000001;
export const AI_CANONNAME = 0x00000002;
export const AI_NUMERICHOST = 0x00000004;
export const AI_NUMERICSERV = 0x00000008;
export const AI_ALL = 0x00000100;
export const AI_V4MAPPED_CFG = 0x00000200;
export const AI_ADDRCONFIG = 0x00000400;
export const AI_V4MAPPED = 0x00000800;
export const AI_DEFAULT = AI_V4MAPPED_CFG | AI_ADDRCONFIG;
/** The flags getaddrinfo accepts (anything else is EAI_BADFLAGS). */
export const AI_MASK =
  AI_PASSIVE |
  AI_CANONNAME |
  AI_NUMERICHOST |
  AI_NUMERICSERV |
  AI_ADDRCONFIG |
  AI_ALL |
  AI_V4MAPPED;

/* netdb.h: getnameinfo(). */
export const NI_MAXHOST = 1025;
export const NI_MAXSERV = 32;
export const NI_NOFQDN = 0x00000001;
export const NI_NUMERICHOST = 0x00000002;
export const NI_NAMEREQD = 0x00000004;
export const NI_NUMERICSERV = 0x00000008;
export const NI_DGRAM = 0x00000010;
export const NI_NUMERICSCOPE = 0x00000020;

export const _PATH_HOSTS = '/etc/hosts';
export const _PATH_SERVICES = '/etc/services';

const ANY = 0;

/* ------------------------------------------------------------------------------ */
/* inet_pton / inet_ntop                                                             */

/** inet_pton's int result: 1 and the address, 0 (not an address) or -1 with errno. */
export type InetPtonResult = { ret: 1; addr: Uint8Array } | { ret: 0 } | { ret: -1; errno: number };

/** inet_ntop's result: the string, or null with errno (ENOSPC, EAFNOSUPPORT). */
export type InetNtopResult = { ret: string } | { ret: null; errno: number };

/**
 * inet_pton(3): AF_INET takes exactly four decimal parts, each 0..255 without leading
 * zeros ("1.2.3.4"; not "01.2.3.4", "1.2.3", "256.1.1.1" nor inet_aton's hex or octal);
 * addr is the 4 bytes in network order.  Other families: -1, EAFNOSUPPORT.
 */
export function inet_pton(af: number, src: string): InetPtonResult {
  if (af !== AF_INET) return { ret: -1, errno: EAFNOSUPPORT };
  const a = inet_pton4(src);
  if (a === null) return { ret: 0 };
  return {
    ret: 1,
    addr: new Uint8Array([a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff]),
  };
}

/**
 * inet_ntop(3): "a.b.c.d" from the first 4 bytes of src, which must fit in size bytes
 * with its terminating NUL (INET_ADDRSTRLEN always does) or ENOSPC.  Other families:
 * EAFNOSUPPORT; fewer than 4 bytes (C cannot tell): EINVAL.
 */
export function inet_ntop(
  af: number,
  src: Uint8Array,
  size: number = INET_ADDRSTRLEN,
): InetNtopResult {
  if (af !== AF_INET) return { ret: null, errno: EAFNOSUPPORT };
  if (src.length < 4) return { ret: null, errno: EINVAL };
  const s = `${src[0]}.${src[1]}.${src[2]}.${src[3]}`;
  if (s.length >= size) return { ret: null, errno: ENOSPC };
  return { ret: s };
}

/* ------------------------------------------------------------------------------ */
/* gai_strerror                                                                      */

const AI_ERRLIST: readonly string[] = [
  'Success',
  'Address family for hostname not supported',
  'Name could not be resolved at this time',
  'Flags parameter had an invalid value',
  'Non-recoverable failure in name resolution',
  'Address family not recognized',
  'Memory allocation failure',
  'No address associated with hostname',
  'Name does not resolve',
  'Service was not recognized for socket type',
  'Intended socket type was not recognized',
  'System error returned in errno',
  'Invalid value for hints',
  'Resolved protocol is unknown',
  'Argument buffer overflow',
];

const AI_ERRNAMES: readonly string[] = [
  '',
  'EAI_ADDRFAMILY',
  'EAI_AGAIN',
  'EAI_BADFLAGS',
  'EAI_FAIL',
  'EAI_FAMILY',
  'EAI_MEMORY',
  'EAI_NODATA',
  'EAI_NONAME',
  'EAI_SERVICE',
  'EAI_SOCKTYPE',
  'EAI_SYSTEM',
  'EAI_BADHINTS',
  'EAI_PROTOCOL',
  'EAI_OVERFLOW',
];

/** gai_strerror(3): FreeBSD's message for an EAI_* code. */
export function gai_strerror(ecode: number): string {
  return Number.isInteger(ecode) && ecode >= 0 && ecode < EAI_MAX
    ? AI_ERRLIST[ecode]!
    : 'Unknown error';
}

/** The macro name of an EAI_* code ("EAI_NONAME"), or "EAI_<n>" when unknown. */
export function eai_name(ecode: number): string {
  return (ecode > 0 && ecode < EAI_MAX && AI_ERRNAMES[ecode]) || `EAI_${ecode}`;
}

/* ------------------------------------------------------------------------------ */
/* The files: /etc/hosts and /etc/services, read through the jail's root.             */

/** Read a whole (small) file with open/read; null when it cannot be opened. */
async function readfile(libc: Libc, path: string, max = 1 << 20): Promise<string | null> {
  const fd = await libc.open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return null;
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    const buf = new Uint8Array(4096);
    while (total < max) {
      const n = await libc.read(fd, buf);
      if (n <= 0) break; // a read error ends the file, as fgets(3) does
      parts.push(buf.slice(0, n));
      total += n;
    }
  } finally {
    await libc.close(fd);
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return new TextDecoder().decode(all);
}

/** strcasecmp: ASCII letters only fold. */
function casefold(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** Split on blanks and tabs (the only separators the C parsers know). */
function fields(s: string): string[] {
  return s.split(/[ \t]+/).filter((f) => f !== '');
}

/** An /etc/hosts line as _gethtent splits it: the address text and the names. */
interface HostLine {
  addr: string;
  names: string[];
}

function parse_hosts(text: string): HostLine[] {
  const out: HostLine[] = [];
  for (let line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    const sp = line.search(/[ \t]/);
    if (sp < 0) continue;
    out.push({ addr: line.slice(0, sp), names: fields(line.slice(sp + 1)) });
  }
  return out;
}

/** struct servent. */
export interface ServEnt {
  s_name: string;
  s_aliases: string[];
  /** Host order (FreeBSD keeps it in network order). */
  s_port: number;
  s_proto: string;
}

/** An /etc/services line: "name port/proto [aliases...]" (getservent.c's parser). */
function parse_services(text: string): ServEnt[] {
  const out: ServEnt[] = [];
  for (let line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    const sp = line.search(/[ \t]/);
    if (sp < 0) continue;
    const name = line.slice(0, sp);
    const rest = line.slice(sp + 1).replace(/^[ \t]+/, '');
    const slash = rest.search(/[,/]/);
    if (slash < 0) continue;
    const port = rest.slice(0, slash);
    if (!/^[+-]?[0-9]+$/.test(port)) continue;
    const n = Number(port);
    if (n < 0 || n > 0xffff) continue;
    const [proto = '', ...aliases] = rest.slice(slash + 1).split(/[ \t]+/);
    out.push({
      s_name: name,
      s_aliases: aliases.filter((a) => a !== ''),
      s_port: n,
      s_proto: proto,
    });
  }
  return out;
}

/** [name, port, protocols, aliases]: well-known services as FreeBSD's /etc/services has them. */
const BUILTIN_SERVICES: readonly [string, number, string, string[]][] = [
  ['echo', 7, 'tcp udp', []],
  ['discard', 9, 'tcp udp', ['sink', 'null']],
  ['daytime', 13, 'tcp udp', []],
  ['ftp-data', 20, 'tcp udp', []],
  ['ftp', 21, 'tcp udp', []],
  ['ssh', 22, 'tcp udp', []],
  ['telnet', 23, 'tcp udp', []],
  ['smtp', 25, 'tcp udp', ['mail']],
  ['time', 37, 'tcp udp', ['timserver']],
  ['domain', 53, 'tcp udp', []],
  ['bootps', 67, 'tcp udp', []],
  ['bootpc', 68, 'tcp udp', []],
  ['tftp', 69, 'udp', []],
  ['http', 80, 'tcp udp', ['www', 'www-http']],
  ['pop3', 110, 'tcp udp', []],
  ['sunrpc', 111, 'tcp udp', ['rpcbind']],
  ['ntp', 123, 'tcp udp', []],
  ['imap', 143, 'tcp udp', ['imap2', 'imap4']],
  ['snmp', 161, 'tcp udp', []],
  ['snmptrap', 162, 'tcp udp', ['snmp-trap']],
  ['https', 443, 'tcp udp', []],
  ['syslog', 514, 'udp', []],
  ['shell', 514, 'tcp', ['cmd']],
  ['submission', 587, 'tcp udp', []],
  ['imaps', 993, 'tcp udp', []],
  ['pop3s', 995, 'tcp udp', []],
];

const builtin_servents: readonly ServEnt[] = BUILTIN_SERVICES.flatMap(([name, port, protos, al]) =>
  protos.split(' ').map((p) => ({ s_name: name, s_aliases: [...al], s_port: port, s_proto: p })),
);

/** The files one call reads, each at most once. */
class NetdbFiles {
  private hosts: HostLine[] | null = null;
  private services: readonly ServEnt[] | null = null;
  constructor(readonly libc: Libc) {}

  async hostlines(): Promise<HostLine[]> {
    if (this.hosts === null) {
      const t = await readfile(this.libc, _PATH_HOSTS);
      this.hosts = t === null ? [] : parse_hosts(t);
    }
    return this.hosts;
  }

  async servents(): Promise<readonly ServEnt[]> {
    if (this.services === null) {
      const t = await readfile(this.libc, _PATH_SERVICES);
      this.services = t === null ? builtin_servents : parse_services(t);
    }
    return this.services;
  }

  async servbyname(name: string, proto: string | null): Promise<ServEnt | null> {
    for (const s of await this.servents())
      if (
        (s.s_name === name || s.s_aliases.includes(name)) &&
        (proto === null || s.s_proto === proto)
      )
        return s;
    return null;
  }

  async servbyport(port: number, proto: string | null): Promise<ServEnt | null> {
    for (const s of await this.servents())
      if (s.s_port === port && (proto === null || s.s_proto === proto)) return s;
    return null;
  }

  /** The first name of the first /etc/hosts line for the address (gethostbyaddr). */
  async hostbyaddr(a: in_addr_t): Promise<string | null> {
    for (const l of await this.hostlines()) {
      if (inet_pton4(l.addr) === a && l.names.length > 0) return l.names[0]!;
    }
    return a === INADDR_LOOPBACK ? 'localhost' : null;
  }
}

/** getservbyname(3): proto null matches any protocol.  /etc/services or the built-in table. */
export async function getservbyname(
  libc: Libc,
  name: string,
  proto: string | null = null,
): Promise<ServEnt | null> {
  return new NetdbFiles(libc).servbyname(name, proto);
}

/** getservbyport(3) with the port in host order. */
export async function getservbyport(
  libc: Libc,
  port: number,
  proto: string | null = null,
): Promise<ServEnt | null> {
  return new NetdbFiles(libc).servbyport(port, proto);
}

/* ------------------------------------------------------------------------------ */
/* getaddrinfo                                                                       */

/** struct addrinfo, one element of getaddrinfo's answer. */
export interface AddrInfo {
  ai_flags: number;
  ai_family: number;
  ai_socktype: number;
  ai_protocol: number;
  ai_addrlen: number;
  /** struct sockaddr_in (16 bytes; sockaddr_in_decode reads it). */
  ai_addr: Uint8Array;
  ai_canonname: string | null;
}

/**
 * The hints: flags, family, socktype and protocol; the other members must be empty
 * (EAI_BADHINTS), so an AddrInfo from an earlier answer is not acceptable as hints.
 */
export interface AddrInfoHints {
  ai_flags?: number;
  ai_family?: number;
  ai_socktype?: number;
  ai_protocol?: number;
  ai_addrlen?: number;
  ai_addr?: Uint8Array | null;
  ai_canonname?: string | null;
  ai_next?: unknown;
}

export type GaiResult = { res: AddrInfo[] } | { error: number };

/** An answer under construction (struct addrinfo with the sockaddr's fields). */
interface Ai {
  flags: number;
  family: number;
  socktype: number;
  protocol: number;
  addr: in_addr_t;
  port: number;
  canonname: string | null;
}

/** The query as getaddrinfo narrows it (pai). */
interface Pai {
  flags: number;
  family: number;
  socktype: number;
  protocol: number;
}

const AF_ANY = 0x01;
const SOCKTYPE_ANY = 0x02;
const PROTOCOL_ANY = 0x04;

interface Explore {
  af: number;
  socktype: number;
  protocol: number;
  wild: number;
  /** Not part of the full wildcard here (the kernel has no SCTP). */
  explicit?: boolean;
}

/** FreeBSD's explore[] without the INET6 rows, in its order. */
const EXPLORE: readonly Explore[] = [
  { af: AF_INET, socktype: SOCK_DGRAM, protocol: IPPROTO_UDP, wild: 0x07 },
  { af: AF_INET, socktype: SOCK_STREAM, protocol: IPPROTO_TCP, wild: 0x07 },
  { af: AF_INET, socktype: SOCK_STREAM, protocol: IPPROTO_SCTP, wild: 0x03 },
  { af: AF_INET, socktype: SOCK_SEQPACKET, protocol: IPPROTO_SCTP, wild: 0x07, explicit: true },
  { af: AF_INET, socktype: SOCK_DGRAM, protocol: IPPROTO_UDPLITE, wild: 0x03 },
  { af: AF_INET, socktype: SOCK_RAW, protocol: ANY, wild: 0x05 },
];

const MATCH_FAMILY = (x: number, y: number, w: boolean): boolean =>
  x === y || (w && (x === AF_UNSPEC || y === AF_UNSPEC));
const MATCH = (x: number, y: number, w: boolean): boolean =>
  x === y || (w && (x === ANY || y === ANY));

/** The explore rows a query matches (the full wildcard leaves out explicit-only rows). */
function explore_rows(p: Pai): Explore[] {
  return EXPLORE.filter(
    (ex) =>
      MATCH_FAMILY(p.family, ex.af, (ex.wild & AF_ANY) !== 0) &&
      MATCH(p.socktype, ex.socktype, (ex.wild & SOCKTYPE_ANY) !== 0) &&
      MATCH(p.protocol, ex.protocol, (ex.wild & PROTOCOL_ANY) !== 0) &&
      !(ex.explicit && p.socktype === ANY && p.protocol === ANY),
  );
}

/** str2number: strtoul(p, &ep, 10) consuming everything, and no more than UINT_MAX. */
function str2number(s: string): number | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)$/.exec(s);
  if (m === null) return null;
  let v = BigInt(m[2]!);
  if (v > 0xffffffffffffffffn) return null; // ERANGE
  if (m[1] === '-' && v !== 0n) v = (1n << 64n) - v;
  return v > 0xffffffffn ? null : Number(v);
}

/**
 * get_port: check servname against the socket type and protocol, and set the port
 * unless matchonly.  0 or an EAI_* error.
 */
async function get_port(
  files: NetdbFiles,
  ai: { flags: number; family: number; socktype: number; protocol: number; port?: number },
  servname: string | null,
  matchonly: boolean,
): Promise<number> {
  if (servname === null) return 0;
  if (ai.family !== AF_INET) return 0;
  let allownumeric: boolean;
  switch (ai.socktype) {
    case SOCK_RAW:
      return EAI_SERVICE;
    case SOCK_DGRAM:
    case SOCK_STREAM:
    case SOCK_SEQPACKET:
    case ANY:
      allownumeric = true;
      break;
    default:
      return EAI_SOCKTYPE;
  }
  let port = str2number(servname);
  if (port !== null) {
    if (!allownumeric || port > 65535) return EAI_SERVICE;
  } else {
    if (ai.flags & AI_NUMERICSERV) return EAI_NONAME;
    const proto =
      ai.protocol === IPPROTO_UDP
        ? 'udp'
        : ai.protocol === IPPROTO_TCP
          ? 'tcp'
          : ai.protocol === IPPROTO_SCTP
            ? 'sctp'
            : ai.protocol === IPPROTO_UDPLITE
              ? 'udplite'
              : null;
    const sp = await files.servbyname(servname, proto);
    if (sp === null) return EAI_SERVICE;
    port = sp.s_port;
  }
  if (!matchonly) ai.port = port;
  return 0;
}

function get_ai(p: Pai, addr: in_addr_t): Ai {
  return { ...p, family: AF_INET, addr, port: 0, canonname: null };
}

/** A null hostname: the wildcard (AI_PASSIVE) or loopback address, if the AF works. */
async function explore_null(
  files: NetdbFiles,
  p: Pai,
  servname: string | null,
): Promise<{ error: number; ai: Ai | null }> {
  const libc = files.libc;
  // Filter out address families the kernel does not support.
  const s = await libc.socket(p.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    if (libc.errno !== EMFILE) return { error: 0, ai: null };
  } else await libc.close(s);
  const ai = get_ai(p, p.flags & AI_PASSIVE ? INADDR_ANY : INADDR_LOOPBACK);
  const error = await get_port(files, ai, servname, false);
  return error !== 0 ? { error, ai: null } : { error: 0, ai };
}

/** A numeric hostname (inet_aton's forms, as RFC 3493 wants for AF_INET). */
async function explore_numeric(
  files: NetdbFiles,
  p: Pai,
  hostname: string,
  servname: string | null,
): Promise<{ error: number; ai: Ai | null }> {
  const a = inet_aton(hostname);
  if (a === null) return { error: 0, ai: null };
  const ai = get_ai(p, a);
  const error = await get_port(files, ai, servname, false);
  if (error !== 0) return { error, ai: null };
  if (p.flags & AI_CANONNAME) ai.canonname = hostname;
  return { error: 0, ai };
}

/**
 * AI_ADDRCONFIG: is an IPv4 address other than 127/8 configured on an interface that
 * is up?  (FreeBSD walks getifaddrs(3); the same list comes from SIOCGIFCONF.)
 */
async function addrconfig(libc: Libc, p: Pai): Promise<boolean> {
  const s = await libc.socket(AF_LOCAL, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  try {
    let size = 4096;
    let buf: Uint8Array | null = null;
    for (;;) {
      const ua = libc.malloc(size);
      if (ua === null) return false;
      const ifc = new Uint8Array(16);
      const dv = new DataView(ifc.buffer);
      dv.setInt32(0, size, true);
      dv.setUint32(8, ua.addr >>> 0, true);
      dv.setUint32(12, Math.floor(ua.addr / 4294967296), true);
      const r = await libc.ioctl(s, SIOCGIFCONF, ifc);
      const len = dv.getInt32(0, true);
      if (r === 0) buf = ua.buf.slice(0, len);
      libc.free(ua.addr);
      if (r < 0) return false;
      if (len + 256 < size || size >= 1 << 20) break;
      size *= 4;
    }
    let seen_inet = false;
    const names = new Map<string, boolean>();
    for (let off = 0; buf !== null && off + 32 <= buf.length;) {
      const salen = buf[off + 16]!;
      if (buf[off + 17] === AF_INET && salen >= SOCKADDR_IN_SIZE) {
        const sin = sockaddr_in_decode(buf, off + 16)!;
        if (!IN_LOOPBACK(sin.sin_addr)) {
          const name = buf.subarray(off, off + 16);
          const nul = name.indexOf(0);
          const key = new TextDecoder().decode(nul < 0 ? name : name.subarray(0, nul));
          let up = names.get(key);
          if (up === undefined) {
            const ifr = new Uint8Array(32);
            ifr.set(name);
            up =
              (await libc.ioctl(s, SIOCGIFFLAGS, ifr)) === 0 &&
              (new DataView(ifr.buffer).getUint16(16, true) & IFF_UP) !== 0;
            names.set(key, up);
          }
          if (up) seen_inet = true;
        }
      }
      if (seen_inet) break;
      off += 16 + Math.max(16, salen);
    }
    // No IPv6 here: AF_UNSPEC narrows to AF_INET when IPv4 is configured.
    if (seen_inet && p.family === AF_UNSPEC) p.family = AF_INET;
    return seen_inet;
  } finally {
    await libc.close(s);
  }
}

/** The "files" source: every /etc/hosts line naming the host, as _gethtent reads it. */
async function files_getaddrinfo(files: NetdbFiles, name: string, p: Pai): Promise<Ai[]> {
  const out: Ai[] = [];
  const want = casefold(name);
  for (const l of await files.hostlines()) {
    if (!l.names.some((n) => casefold(n) === want)) continue;
    if (!MATCH_FAMILY(p.family, AF_INET, true)) continue;
    const a = inet_aton(l.addr);
    if (a === null) continue; // another family, or not an address at all
    const ai = get_ai(p, a);
    if (p.flags & AI_CANONNAME) ai.canonname = l.names[0]!;
    out.push(ai);
  }
  // In place of DNS: the stock "127.0.0.1 localhost" line when the file has none.
  if (out.length === 0 && want === 'localhost' && MATCH_FAMILY(p.family, AF_INET, true)) {
    const ai = get_ai(p, INADDR_LOOPBACK);
    if (p.flags & AI_CANONNAME) ai.canonname = 'localhost';
    out.push(ai);
  }
  return out;
}

/** A name: look it up, then give each answer the service's port. */
async function explore_fqdn(
  files: NetdbFiles,
  p: Pai,
  hostname: string,
  servname: string | null,
): Promise<{ error: number; list: Ai[] | null }> {
  // If the servname does not match socktype/protocol, ignore it.
  if ((await get_port(files, p, servname, true)) !== 0) return { error: 0, list: null };
  const list = await files_getaddrinfo(files, hostname, p);
  if (list.length === 0) return { error: EAI_NONAME, list: null };
  for (const ai of list) {
    const error = await get_port(files, ai, servname, false);
    if (error !== 0) return { error, list: null };
  }
  return { error: 0, list };
}

function to_addrinfo(ai: Ai): AddrInfo {
  const b = new Uint8Array(SOCKADDR_IN_SIZE);
  sockaddr_in_encode(sockaddr_in(ai.addr, ai.port), b);
  return {
    ai_flags: ai.flags,
    ai_family: ai.family,
    ai_socktype: ai.socktype,
    ai_protocol: ai.protocol,
    ai_addrlen: SOCKADDR_IN_SIZE,
    ai_addr: b,
    ai_canonname: ai.canonname,
  };
}

/**
 * getaddrinfo(3): the addresses and ports for hostname (a dotted address, a name in
 * the jail's /etc/hosts, "localhost", or null for the wildcard/loopback address) and
 * servname (a port number, a name in /etc/services, or null for port 0), one entry per
 * socket type and protocol.  { error } carries an EAI_* code (gai_strerror).
 */
export async function getaddrinfo(
  libc: Libc,
  hostname: string | null,
  servname: string | null,
  hints: AddrInfoHints | null = null,
): Promise<GaiResult> {
  if (hostname === null && servname === null) return { error: EAI_NONAME };
  const pai: Pai = { flags: 0, family: AF_UNSPEC, socktype: ANY, protocol: ANY };
  if (hints !== null) {
    const set = (v: unknown): boolean => v !== undefined && v !== null;
    if (hints.ai_addrlen || set(hints.ai_canonname) || set(hints.ai_addr) || set(hints.ai_next))
      return { error: EAI_BADHINTS };
    pai.flags = hints.ai_flags ?? 0;
    if (pai.flags & ~AI_MASK) return { error: EAI_BADFLAGS };
    pai.family = hints.ai_family ?? AF_UNSPEC;
    if (pai.family !== AF_UNSPEC && pai.family !== AF_INET) return { error: EAI_FAMILY };
    pai.socktype = hints.ai_socktype ?? ANY;
    pai.protocol = hints.ai_protocol ?? ANY;
    // Both socktype and protocol given: is it a meaningful combination?
    if (pai.socktype !== ANY && pai.protocol !== ANY && explore_rows(pai).length === 0)
      return { error: EAI_BADHINTS };
  }
  const files = new NetdbFiles(libc);

  // The service must suit the socket type (raw sockets have none) up front.
  if (MATCH_FAMILY(pai.family, AF_INET, true)) {
    const error = await get_port(files, { ...pai, family: AF_INET }, servname, true);
    if (error !== 0) return { error };
  }
  const ai0: Pai = { ...pai };

  // A null or numeric hostname.
  let afai: Ai[] | null = null;
  let numeric = false;
  if (MATCH_FAMILY(ai0.family, AF_INET, true)) {
    const p: Pai = { ...ai0, family: AF_INET };
    if (hostname === null) {
      const r = await explore_null(files, p, servname);
      if (r.error !== 0) return { error: r.error };
      if (r.ai !== null) afai = [r.ai];
    } else {
      const r = await explore_numeric(files, p, hostname, servname);
      if (r.error === 0 && r.ai !== null) afai = [r.ai];
    }
    numeric = afai !== null;
  }

  let error = 0;
  if (!numeric) {
    if (hostname === null) return { error: EAI_NONAME };
    if (ai0.flags & AI_NUMERICHOST) return { error: EAI_NONAME };
    if (ai0.flags & AI_ADDRCONFIG && !(await addrconfig(libc, ai0))) return { error: EAI_FAIL };
    const r = await explore_fqdn(files, { ...ai0 }, hostname, servname);
    error = r.error;
    afai = r.list;
  }

  // One copy of the answers per matching row of the explore table.
  const out: AddrInfo[] = [];
  const answers = afai ?? [];
  for (const ex of answers.length === 0 ? [] : explore_rows(ai0)) {
    const p: Pai = { ...ai0 };
    if (p.family === AF_UNSPEC) p.family = ex.af;
    if (p.socktype === ANY && ex.socktype !== ANY) p.socktype = ex.socktype;
    if (p.protocol === ANY && ex.protocol !== ANY) p.protocol = ex.protocol;
    if ((await get_port(files, p, servname, true)) !== 0) continue;
    for (const src of answers) {
      if (src.family !== p.family) continue;
      out.push(to_addrinfo({ ...src, socktype: p.socktype, protocol: p.protocol }));
    }
  }
  if (error !== 0) return { error };
  if (out.length === 0) return { error: EAI_FAIL };
  return { res: out };
}

/* ------------------------------------------------------------------------------ */
/* getnameinfo                                                                       */

export type GniResult = { host: string | null; serv: string | null } | { error: number };

/**
 * getnameinfo(3) for a struct sockaddr_in: host is the first name of the jail's
 * /etc/hosts line for the address (NI_NAMEREQD: EAI_NONAME without one), else the
 * dotted address (always with NI_NUMERICHOST, and for multicast, class E and 0/8
 * addresses); serv is the /etc/services name for the port and NI_DGRAM's "udp" or
 * "tcp", else the number (always with NI_NUMERICSERV).  hostlen / servlen are the
 * buffer sizes a C caller would pass: 0 means not wanted (null), too short is
 * EAI_MEMORY, or EAI_SYSTEM with errno ENOSPC when the dotted fallback does not fit.
 */
export async function getnameinfo(
  libc: Libc,
  sa: Uint8Array,
  salen: number = sa.length,
  flags = 0,
  hostlen: number = NI_MAXHOST,
  servlen: number = NI_MAXSERV,
): Promise<GniResult> {
  if (sa.length < 2 || sa[1] !== AF_INET) return { error: EAI_FAMILY };
  // RFC 4038 6.2.3: up to sizeof(struct sockaddr_storage).
  if (salen > 128 || salen < SOCKADDR_IN_SIZE || sa.length < SOCKADDR_IN_SIZE)
    return { error: EAI_FAMILY };
  const sin = sockaddr_in_decode(sa)!;
  const files = new NetdbFiles(libc);

  let serv: string | null = null;
  if (servlen > 0) {
    const sp =
      flags & NI_NUMERICSERV
        ? null
        : await files.servbyport(sin.sin_port, flags & NI_DGRAM ? 'udp' : 'tcp');
    serv = sp !== null ? sp.s_name : String(sin.sin_port);
    if (serv.length + 1 > servlen) return { error: EAI_MEMORY };
  }

  const v4a = sin.sin_addr;
  if (IN_MULTICAST(v4a) || IN_EXPERIMENTAL(v4a) || IN_ZERONET(v4a)) flags |= NI_NUMERICHOST;
  let host: string | null = null;
  if (hostlen === 0) {
    /* not wanted */
  } else if (flags & NI_NUMERICHOST) {
    // NUMERICHOST and NAMEREQD conflict with each other.
    if (flags & NI_NAMEREQD) return { error: EAI_NONAME };
    host = inet_ntoa(v4a);
    if (host.length + 1 > hostlen) return { error: EAI_MEMORY };
  } else {
    const name = await files.hostbyaddr(v4a);
    if (name !== null) {
      if (name.length + 1 > hostlen) return { error: EAI_MEMORY };
      host = name;
    } else {
      if (flags & NI_NAMEREQD) return { error: EAI_NONAME };
      const r = inet_ntop(AF_INET, sa.subarray(4, 8), hostlen);
      if (r.ret === null) {
        libc.errno = r.errno;
        return { error: EAI_SYSTEM };
      }
      host = r.ret;
    }
  }
  return { host, serv };
}
