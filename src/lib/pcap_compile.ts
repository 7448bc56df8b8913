/*
 * lib/pcap_compile.ts — libpcap's filter language (pcap-filter(7)) compiled to classic
 * BPF (net/bpf_filter.ts), and bpf_dump(), tcpdump's -d/-dd/-ddd disassembler.
 * Userland: tcpdump compiles here and hands the program to the kernel with BIOCSETF.
 *
 * How the work is split (as libpcap's gencode.c/grammar.y/optimize.c/bpf_image.c):
 * 1. a lexer and a recursive-descent parser for libpcap's grammar build a boolean tree
 *    (Bool) whose leaves are tests: straight-line loads plus one conditional jump;
 * 2. gen() turns the tree into a DAG of blocks, back to front: `a and b` is a with its
 *    true edge going to b, `a or b` is a with its false edge going to b, `not` swaps
 *    the edges — libpcap's backpatching, done by passing the targets down;
 * 3. two small optimisations from libpcap's optimize.c: jump threading (an edge whose
 *    source just proved `[12] == 0x800` skips a block that tests `[12]` again) and
 *    redundant-load elimination (a load whose value every predecessor left in A or X);
 * 4. layout in topological order (every jump forward), `ret #snaplen` and `ret #0`
 *    last; a jump farther than 255 instructions goes through an inserted `ja`.
 *
 * Mirrored from libpcap (for DLT_EN10MB; DLT_NULL too, with the link header a 4-byte
 * host-order address family, little endian as on amd64):
 * - `and` and `or` have equal precedence and associate left to right; `not` binds
 *   tightest (pcap-filter(7)): `a or b and c` is `(a or b) and c`;
 * - qualifier inheritance: after `host a`, `or b` means `or host b`, also through
 *   `not` and parentheses (`host a and not (b or c)`);
 * - `host`/`net` without a protocol match IPv4 source/destination, ARP and RARP sender
 *   and target protocol addresses; `tcp`, `udp` and `port` also match IPv6 (next header
 *   at [20]; `tcp`/`udp` look through one fragment header, as libpcap does); ports on
 *   IPv4 skip non-first fragments (`ldh [20]; jset #0x1fff`) and find the transport
 *   header with `ldxb 4*([14]&0xf)`; `port` alone means tcp, udp or sctp;
 * - `proto[expr:size]` on tcp/udp/icmp implies that protocol on a first fragment;
 *   `x & k != 0` compiles to `jset #k`;
 * - error messages are libpcap's: "syntax error", "unknown host 'x'",
 *   "illegal port number 70000 > 65535", "non-network bits set in \"198.18.0.1/15\"",
 *   "netmask not known, so 'ip broadcast' not supported", ...
 *
 * Where we differ:
 * - no name service: host names resolve through `opts.hosts` (plus `localhost`), ports
 *   and protocols through small built-in tables (/etc/services, /etc/protocols subsets);
 *   keyword protocol names after `proto` are accepted with or without libpcap's
 *   backslash (`ip proto \tcp`, `ip proto tcp`);
 * - the optimiser is a small subset of libpcap's (`opts.optimize: false` turns it off,
 *   like pcap_compile's `optimize` argument; tests and the fuzz target check that both
 *   programs agree on every packet), so `tcpdump -d` output can differ from libpcap's
 *   in instruction order and count while filtering identically.  Simple filters (`ip`,
 *   `ip host A`, `host A`, `tcp`, `port 53`) come out as tcpdump prints them, modulo
 *   block order; tcpdump was not installed here to diff more;
 * - XXX: not yet: IPv6 addresses (`ip6 host`), `gateway`, `vlan`/`mpls`, `protochain`,
 *   llc/802.2 (`ether proto` <= 1500 is compared as an ethertype), `ip broadcast`
 *   (needs the netmask), `icmp6`/`ip6[...]` loads through extension headers,
 *   MAC addresses written with '-' or '.'.
 * Compilation errors are values ({ error }); nothing throws to the caller.
 */

import {
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_B,
  BPF_DIV,
  BPF_H,
  BPF_IMM,
  BPF_IND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MEM,
  BPF_MEMWORDS,
  BPF_MISC,
  BPF_MOD,
  BPF_MSH,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_SUB,
  BPF_TAX,
  BPF_W,
  BPF_X,
  BPF_XOR,
  BPF_CLASS,
  BPF_MODE,
  BPF_OP,
  BPF_RVAL,
  BPF_SIZE,
  BPF_SRC,
  BPF_A,
  BPF_MISCOP,
  BPF_TXA,
  BPF_STX,
  DLT_EN10MB,
  DLT_NULL,
  type bpf_insn,
  type bpf_program,
} from '../net/bpf_filter.js';

export interface PcapCompileOptions {
  /** Host name table (the only resolver): name -> IPv4 address (host order number). */
  readonly hosts?: ReadonlyMap<string, number>;
  /** Run the optimiser (libpcap's `optimize` argument); default true. */
  readonly optimize?: boolean;
}

export type PcapCompileResult = { prog: bpf_insn[] } | { error: string };

/** Default snapshot length (libpcap's MAXIMUM_SNAPLEN). */
export const PCAP_DEFAULT_SNAPLEN = 262144;

/* ---------------------------------------------------------------- constants */

const ETHERTYPE_IP = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_REVARP = 0x8035;
const ETHERTYPE_IPV6 = 0x86dd;
const IPPROTO_ICMP = 1;
const IPPROTO_IGMP = 2;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_FRAGMENT = 44;
const IPPROTO_SCTP = 132;
/* FreeBSD's address families, as DLT_NULL carries them. */
const AF_INET = 2;
const AF_INET6 = 28;

const SERVICES: ReadonlyMap<string, number> = new Map([
  ['echo', 7],
  ['discard', 9],
  ['ftp-data', 20],
  ['ftp', 21],
  ['ssh', 22],
  ['telnet', 23],
  ['smtp', 25],
  ['domain', 53],
  ['bootps', 67],
  ['bootpc', 68],
  ['tftp', 69],
  ['http', 80],
  ['www', 80],
  ['pop3', 110],
  ['sunrpc', 111],
  ['ntp', 123],
  ['imap', 143],
  ['snmp', 161],
  ['bgp', 179],
  ['ldap', 389],
  ['https', 443],
  ['syslog', 514],
  ['submission', 587],
  ['nfsd', 2049],
  ['vxlan', 4789],
]);

const IP_PROTOS: ReadonlyMap<string, number> = new Map([
  ['icmp', IPPROTO_ICMP],
  ['igmp', IPPROTO_IGMP],
  ['tcp', IPPROTO_TCP],
  ['udp', IPPROTO_UDP],
  ['gre', 47],
  ['esp', 50],
  ['ah', 51],
  ['icmp6', 58],
  ['pim', 103],
  ['vrrp', 112],
  ['sctp', IPPROTO_SCTP],
]);

const ETHER_PROTOS: ReadonlyMap<string, number> = new Map([
  ['ip', ETHERTYPE_IP],
  ['arp', ETHERTYPE_ARP],
  ['rarp', ETHERTYPE_REVARP],
  ['ip6', ETHERTYPE_IPV6],
]);

/** Named offsets and values usable inside expressions (pcap-filter(7)). */
const ARTH_NAMES: ReadonlyMap<string, number> = new Map([
  ['icmptype', 0],
  ['icmpcode', 1],
  ['icmp-echoreply', 0],
  ['icmp-unreach', 3],
  ['icmp-sourcequench', 4],
  ['icmp-redirect', 5],
  ['icmp-echo', 8],
  ['icmp-routeradvert', 9],
  ['icmp-routersolicit', 10],
  ['icmp-timxceed', 11],
  ['icmp-paramprob', 12],
  ['icmp-tstamp', 13],
  ['icmp-tstampreply', 14],
  ['icmp-ireq', 15],
  ['icmp-ireqreply', 16],
  ['icmp-maskreq', 17],
  ['icmp-maskreply', 18],
  ['tcpflags', 13],
  ['tcp-fin', 0x01],
  ['tcp-syn', 0x02],
  ['tcp-rst', 0x04],
  ['tcp-push', 0x08],
  ['tcp-ack', 0x10],
  ['tcp-urg', 0x20],
  ['tcp-ece', 0x40],
  ['tcp-cwr', 0x80],
]);

const PROTO_QUALS = new Set([
  'ether',
  'link',
  'ip',
  'ip6',
  'arp',
  'rarp',
  'tcp',
  'udp',
  'icmp',
  'igmp',
  'sctp',
]);
const DIR_QUALS = new Set(['src', 'dst']);
const ADDR_QUALS = new Set(['host', 'net', 'port', 'portrange', 'proto', 'gateway']);
const KEYWORDS = new Set([
  ...PROTO_QUALS,
  ...DIR_QUALS,
  ...ADDR_QUALS,
  'and',
  'or',
  'not',
  'less',
  'greater',
  'broadcast',
  'multicast',
  'len',
  'mask',
  'vlan',
  'mpls',
  'protochain',
]);
const ARTH_PROTOS = new Set([
  'ether',
  'link',
  'ip',
  'ip6',
  'arp',
  'rarp',
  'tcp',
  'udp',
  'icmp',
  'igmp',
  'sctp',
]);

/* ---------------------------------------------------------------- lexer */

type Tok =
  | { readonly t: 'num'; readonly v: number; readonly s: string }
  | { readonly t: 'hid'; readonly s: string }
  | { readonly t: 'mac'; readonly s: string }
  | { readonly t: 'id'; readonly s: string; readonly esc: boolean }
  | { readonly t: 'op'; readonly s: string }
  | { readonly t: 'eof'; readonly s: '' };

class CompileError {
  constructor(readonly msg: string) {}
}

function fail(msg: string): never {
  throw new CompileError(msg);
}

const OPS = ['&&', '||', '!=', '==', '<=', '>=', '<<', '>>', ...'()[]:!=<>+-*/%&|^'];

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = src.slice(i);
    const mac = /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}(?![0-9a-zA-Z:])/.exec(rest);
    if (mac) {
      out.push({ t: 'mac', s: mac[0] });
      i += mac[0].length;
      continue;
    }
    const hid = /^[0-9]+(\.[0-9]+){1,3}(?![0-9a-zA-Z.])/.exec(rest);
    if (hid) {
      out.push({ t: 'hid', s: hid[0] });
      i += hid[0].length;
      continue;
    }
    const num = /^(0[xX][0-9a-fA-F]+|[0-9]+)(?![0-9a-zA-Z_])/.exec(rest);
    if (num) {
      const s = num[0];
      const v = /^0[xX]/.test(s)
        ? parseInt(s.slice(2), 16)
        : /^0[0-7]+$/.test(s)
          ? parseInt(s, 8)
          : Number(s);
      if (!Number.isSafeInteger(v) || v > 0xffffffff) fail(`number ${s} too large`);
      out.push({ t: 'num', v, s });
      i += s.length;
      continue;
    }
    const word = /^\\?[A-Za-z_][A-Za-z0-9_.-]*/.exec(rest);
    if (word) {
      const esc = word[0].startsWith('\\');
      out.push({ t: 'id', s: esc ? word[0].slice(1) : word[0], esc });
      i += word[0].length;
      continue;
    }
    const op = OPS.find((o) => rest.startsWith(o));
    if (op === undefined) fail(`illegal character '${c}'`);
    out.push({ t: 'op', s: op });
    i += op.length;
  }
  out.push({ t: 'eof', s: '' });
  return out;
}

/* ---------------------------------------------------------------- boolean tree */

/** A leaf test: `stmts` (loads) then a conditional jump `jcode` (BPF_JMP|op|src) #k. */
interface Test {
  readonly k: 'test';
  readonly stmts: readonly bpf_insn[];
  readonly jcode: number;
  readonly jk: number;
}
type Bool =
  | Test
  | { readonly k: 'and' | 'or'; readonly l: Bool; readonly r: Bool }
  | { readonly k: 'not'; readonly e: Bool }
  | { readonly k: 'true' | 'false' };

const S = (code: number, k = 0): bpf_insn => ({ code, jt: 0, jf: 0, k: k >>> 0 });
const TRUE: Bool = { k: 'true' };
const FALSE: Bool = { k: 'false' };
function test(stmts: readonly bpf_insn[], op: number, k: number, src = BPF_K): Bool {
  return { k: 'test', stmts, jcode: BPF_JMP | op | src, jk: k >>> 0 };
}
function and(...bs: Bool[]): Bool {
  return bs.reduce((l, r) => ({ k: 'and', l, r }));
}
function or(...bs: Bool[]): Bool {
  return bs.reduce((l, r) => ({ k: 'or', l, r }));
}
function not(e: Bool): Bool {
  return { k: 'not', e };
}
const ldw = (k: number): bpf_insn => S(BPF_LD | BPF_W | BPF_ABS, k);
const ldh = (k: number): bpf_insn => S(BPF_LD | BPF_H | BPF_ABS, k);
const ldb = (k: number): bpf_insn => S(BPF_LD | BPF_B | BPF_ABS, k);

/* ---------------------------------------------------------------- link layer */

interface Link {
  readonly dlt: number;
  /** Offset of the network-layer header. */
  readonly nl: number;
}

function linktype(L: Link, ethertype: number): Bool {
  if (L.dlt === DLT_NULL) {
    // The family is a host-order (little endian) u_int32; loads are big endian.
    const af = ethertype === ETHERTYPE_IP ? AF_INET : ethertype === ETHERTYPE_IPV6 ? AF_INET6 : -1;
    if (af < 0) return FALSE;
    return test([ldw(0)], BPF_JEQ, (af << 24) >>> 0);
  }
  return test([ldh(12)], BPF_JEQ, ethertype);
}

function needEther(L: Link, what: string): void {
  if (L.dlt !== DLT_EN10MB) fail(`${what} supported only on ethernet`);
}

/** IPv4 with ip_p == p. */
function ipproto(L: Link, p: number): Bool {
  return and(linktype(L, ETHERTYPE_IP), test([ldb(L.nl + 9)], BPF_JEQ, p));
}

/** IPv6 with next header p, directly or after one fragment header (libpcap's gen_proto). */
function ip6proto(L: Link, p: number, throughFrag = true): Bool {
  const nh = test([ldb(L.nl + 6)], BPF_JEQ, p);
  const frag = and(
    test([ldb(L.nl + 6)], BPF_JEQ, IPPROTO_FRAGMENT),
    test([ldb(L.nl + 40)], BPF_JEQ, p),
  );
  return and(linktype(L, ETHERTYPE_IPV6), throughFrag ? or(nh, frag) : nh);
}

/** First (or only) fragment: ip[6:2] & 0x1fff = 0. */
function ipfirstfrag(L: Link): Bool {
  return not(test([ldh(L.nl + 6)], BPF_JSET, 0x1fff));
}

const ldxIpHdrLen = (L: Link): bpf_insn => S(BPF_LDX | BPF_B | BPF_MSH, L.nl);

/* ---------------------------------------------------------------- qualifiers */

type Dir = 'src' | 'dst' | 'src or dst' | 'src and dst';
interface Qual {
  readonly proto: string | null;
  readonly dir: Dir | null;
  readonly addr: string | null;
}
const QDEFAULT: Qual = { proto: null, dir: null, addr: null };

function bydir(dir: Dir | null, src: () => Bool, dst: () => Bool): Bool {
  switch (dir ?? 'src or dst') {
    case 'src':
      return src();
    case 'dst':
      return dst();
    case 'src and dst':
      return and(src(), dst());
    default:
      return or(src(), dst());
  }
}

/* ---------------------------------------------------------------- primitives */

function maskedLoad(off: number, mask: number): bpf_insn[] {
  return mask === 0xffffffff ? [ldw(off)] : [ldw(off), S(BPF_ALU | BPF_AND | BPF_K, mask)];
}

function hostnet(L: Link, q: Qual, addr: number, mask: number): Bool {
  const cmp = (off: number): Bool => test(maskedLoad(off, mask), BPF_JEQ, addr & mask);
  const ip = (): Bool =>
    and(
      linktype(L, ETHERTYPE_IP),
      bydir(
        q.dir,
        () => cmp(L.nl + 12),
        () => cmp(L.nl + 16),
      ),
    );
  const arp = (t: number): Bool =>
    and(
      linktype(L, t),
      bydir(
        q.dir,
        () => cmp(L.nl + 14),
        () => cmp(L.nl + 24),
      ),
    );
  switch (q.proto) {
    case null:
      return or(ip(), arp(ETHERTYPE_ARP), arp(ETHERTYPE_REVARP));
    case 'ip':
      return ip();
    case 'arp':
      return arp(ETHERTYPE_ARP);
    case 'rarp':
      return arp(ETHERTYPE_REVARP);
    case 'ip6':
      return fail(`'ip6' modifier applied to IPv4 address`);
    default:
      return fail(`'${q.proto}' modifier applied to ${q.addr ?? 'host'}`);
  }
}

function etherhost(L: Link, dir: Dir | null, mac: readonly [number, number]): Bool {
  needEther(L, 'ether host');
  const at = (off: number): Bool =>
    and(test([ldw(off + 2)], BPF_JEQ, mac[1]), test([ldh(off)], BPF_JEQ, mac[0]));
  return bydir(
    dir,
    () => at(6),
    () => at(0),
  );
}

/** Which transport protocols `port` covers. */
function portProtos(proto: string | null): { v4: boolean; v6: boolean; ps: number[] } {
  switch (proto) {
    case null:
      return { v4: true, v6: true, ps: [IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP] };
    case 'ip':
      return { v4: true, v6: false, ps: [IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP] };
    case 'ip6':
      return { v4: false, v6: true, ps: [IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP] };
    case 'tcp':
      return { v4: true, v6: true, ps: [IPPROTO_TCP] };
    case 'udp':
      return { v4: true, v6: true, ps: [IPPROTO_UDP] };
    case 'sctp':
      return { v4: true, v6: true, ps: [IPPROTO_SCTP] };
    default:
      return fail(`'${proto}' modifier applied to port`);
  }
}

function portrange(L: Link, q: Qual, lo: number, hi: number): Bool {
  for (const p of [lo, hi]) if (p > 65535) fail(`illegal port number ${p} > 65535`);
  if (lo > hi) [lo, hi] = [hi, lo];
  const { v4, v6, ps } = portProtos(q.proto);
  const cmp = (ld: readonly bpf_insn[]): Bool =>
    lo === hi ? test(ld, BPF_JEQ, lo) : and(test(ld, BPF_JGE, lo), not(test(ld, BPF_JGT, hi)));
  const alts: Bool[] = [];
  if (v6) {
    const nh = or(...ps.map((p) => test([ldb(L.nl + 6)], BPF_JEQ, p)));
    const ports = bydir(
      q.dir,
      () => cmp([ldh(L.nl + 40)]),
      () => cmp([ldh(L.nl + 42)]),
    );
    alts.push(and(linktype(L, ETHERTYPE_IPV6), nh, ports));
  }
  if (v4) {
    const pr = or(...ps.map((p) => test([ldb(L.nl + 9)], BPF_JEQ, p)));
    const ldx = ldxIpHdrLen(L);
    const ind = (o: number): bpf_insn[] => [ldx, S(BPF_LD | BPF_H | BPF_IND, L.nl + o)];
    const ports = bydir(
      q.dir,
      () => cmp(ind(0)),
      () => cmp(ind(2)),
    );
    alts.push(and(linktype(L, ETHERTYPE_IP), pr, ipfirstfrag(L), ports));
  }
  return or(...alts);
}

/** A protocol name alone (`tcp`, `ip`, `arp`, ...). */
function pname(L: Link, proto: string): Bool {
  switch (proto) {
    case 'ip':
      return linktype(L, ETHERTYPE_IP);
    case 'ip6':
      return linktype(L, ETHERTYPE_IPV6);
    case 'arp':
      return linktype(L, ETHERTYPE_ARP);
    case 'rarp':
      return linktype(L, ETHERTYPE_REVARP);
    case 'tcp':
    case 'udp':
    case 'sctp': {
      const p = IP_PROTOS.get(proto)!;
      return or(ip6proto(L, p), ipproto(L, p));
    }
    case 'icmp':
      return ipproto(L, IPPROTO_ICMP);
    case 'igmp':
      return ipproto(L, IPPROTO_IGMP);
    default:
      return fail(`'${proto}' is not a valid primitive by itself`);
  }
}

/** `[pqual] proto N`. */
function protoPrim(L: Link, proto: string | null, v: number): Bool {
  switch (proto) {
    case 'ether':
    case 'link':
      if (v > 0xffff) fail(`ether proto ${v} out of range`);
      return linktype(L, v);
    case 'ip':
      return ipproto(L, v & 0xff);
    case 'ip6':
      return ip6proto(L, v & 0xff);
    case null:
      return or(ipproto(L, v & 0xff), ip6proto(L, v & 0xff));
    default:
      return fail(`'${proto}' modifier applied to proto`);
  }
}

/** inet_aton's forms for a host: a.b.c.d, a.b.c (c: 16 bits), a.b (b: 24 bits). */
function parseHostAddr(s: string): number {
  const parts = s.split('.').map(Number);
  // The last part fills the remaining bytes: a.b.c.d, a.b.c (16 bits), a.b (24 bits).
  const lastMax = [0, 0xffffffff, 0xffffff, 0xffff, 0xff][parts.length] ?? -1;
  const ok = parts.every(
    (p, i) => Number.isInteger(p) && p >= 0 && p <= (i === parts.length - 1 ? lastMax : 255),
  );
  if (!ok) fail(`invalid IPv4 address '${s}'`);
  let v = 0;
  parts.forEach((p, i) => {
    v = i === parts.length - 1 ? v + p : v + p * 2 ** (24 - 8 * i);
  });
  return v >>> 0;
}

/** A network written as 1-4 octets: the given octets, left-justified, and its mask. */
function parseNetAddr(s: string): { addr: number; mask: number } {
  const parts = s.split('.').map(Number);
  if (parts.length > 4 || parts.some((p) => !Number.isInteger(p) || p > 255))
    fail(`invalid IPv4 network '${s}'`);
  let addr = 0;
  parts.forEach((p, i) => (addr |= p << (24 - 8 * i)));
  const mask = parts.length === 4 ? 0xffffffff : (0xffffffff << (32 - 8 * parts.length)) >>> 0;
  return { addr: addr >>> 0, mask };
}

function parseMac(s: string): [number, number] {
  const b = s.split(':').map((x) => parseInt(x, 16));
  const [b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0] = b;
  return [(b0 << 8) | b1, ((b2 << 24) | (b3 << 16) | (b4 << 8) | b5) >>> 0];
}

/* ---------------------------------------------------------------- arithmetic */

type Arth =
  | { readonly k: 'num'; readonly v: number }
  | { readonly k: 'len' }
  | { readonly k: 'load'; readonly proto: string; readonly idx: Arth; readonly size: number }
  | { readonly k: 'bin'; readonly op: string; readonly l: Arth; readonly r: Arth }
  | { readonly k: 'neg'; readonly e: Arth };

const ALU_OPS: ReadonlyMap<string, number> = new Map([
  ['+', BPF_ADD],
  ['-', BPF_SUB],
  ['*', BPF_MUL],
  ['/', BPF_DIV],
  ['%', BPF_MOD],
  ['&', BPF_AND],
  ['|', BPF_OR],
  ['^', BPF_XOR],
  ['<<', BPF_LSH],
  ['>>', BPF_RSH],
]);

function fold(op: string, a: number, b: number): number {
  switch (op) {
    case '+':
      return (a + b) >>> 0;
    case '-':
      return (a - b) >>> 0;
    case '*':
      return Math.imul(a, b) >>> 0;
    case '/':
      if (b === 0) fail('division by zero');
      return Math.floor(a / b) >>> 0;
    case '%':
      if (b === 0) fail('modulus by zero');
      return (a % b) >>> 0;
    case '&':
      return (a & b) >>> 0;
    case '|':
      return (a | b) >>> 0;
    case '^':
      return (a ^ b) >>> 0;
    case '<<':
      return b >= 32 ? 0 : (a << b) >>> 0;
    default:
      return b >= 32 ? 0 : a >>> b;
  }
}

function constOf(a: Arth): number | null {
  if (a.k === 'num') return a.v;
  if (a.k === 'neg') {
    const v = constOf(a.e);
    return v === null ? null : -v >>> 0;
  }
  if (a.k === 'bin') {
    const l = constOf(a.l);
    const r = constOf(a.r);
    if (l !== null && r !== null) return fold(a.op, l, r);
  }
  return null;
}

/** Code leaving the value of `a` in A; protocol checks the loads imply go to `checks`. */
function genArth(L: Link, a: Arth, depth: number, checks: Bool[]): bpf_insn[] {
  const c = constOf(a);
  if (c !== null) return [S(BPF_LD | BPF_W | BPF_IMM, c)];
  switch (a.k) {
    case 'num':
      return [S(BPF_LD | BPF_W | BPF_IMM, a.v)];
    case 'len':
      return [S(BPF_LD | BPF_W | BPF_LEN)];
    case 'neg':
      return [...genArth(L, a.e, depth, checks), S(BPF_ALU | BPF_NEG)];
    case 'bin': {
      const op = ALU_OPS.get(a.op)!;
      const r = constOf(a.r);
      if (r !== null) {
        if ((a.op === '/' || a.op === '%') && r === 0)
          fail(a.op === '/' ? 'division by zero' : 'modulus by zero');
        return [...genArth(L, a.l, depth, checks), S(BPF_ALU | op | BPF_K, r)];
      }
      if (depth >= BPF_MEMWORDS) fail('too many registers needed to evaluate expression');
      return [
        ...genArth(L, a.r, depth + 1, checks),
        S(BPF_ST, depth),
        ...genArth(L, a.l, depth + 1, checks),
        S(BPF_LDX | BPF_W | BPF_MEM, depth),
        S(BPF_ALU | op | BPF_X),
      ];
    }
    case 'load':
      return genLoad(L, a, depth, checks);
  }
}

function genLoad(
  L: Link,
  a: Extract<Arth, { k: 'load' }>,
  depth: number,
  checks: Bool[],
): bpf_insn[] {
  const sz = a.size === 4 ? BPF_W : a.size === 2 ? BPF_H : BPF_B;
  const idx = constOf(a.idx);
  let base: number;
  let transport = false;
  switch (a.proto) {
    case 'ether':
    case 'link':
      base = 0;
      break;
    case 'ip':
    case 'arp':
    case 'rarp':
    case 'ip6':
      base = L.nl;
      checks.push(pname(L, a.proto));
      break;
    case 'tcp':
    case 'udp':
    case 'sctp':
    case 'icmp':
    case 'igmp': {
      base = L.nl;
      transport = true;
      const p = IP_PROTOS.get(a.proto)!;
      checks.push(and(ipproto(L, p), ipfirstfrag(L)));
      break;
    }
    default:
      return fail(`unsupported index operation on '${a.proto}'`);
  }
  if (!transport) {
    if (idx !== null) return [S(BPF_LD | sz | BPF_ABS, base + idx)];
    return [
      ...genArth(L, a.idx, depth, checks),
      S(BPF_MISC | BPF_TAX),
      S(BPF_LD | sz | BPF_IND, base),
    ];
  }
  if (idx !== null) return [ldxIpHdrLen(L), S(BPF_LD | sz | BPF_IND, base + idx)];
  if (depth >= BPF_MEMWORDS) fail('too many registers needed to evaluate expression');
  return [
    ...genArth(L, a.idx, depth, checks),
    S(BPF_ST, depth),
    ldxIpHdrLen(L),
    S(BPF_LD | BPF_W | BPF_MEM, depth),
    S(BPF_ALU | BPF_ADD | BPF_X),
    S(BPF_MISC | BPF_TAX),
    S(BPF_LD | sz | BPF_IND, base),
  ];
}

function relation(L: Link, op: string, l: Arth, r: Arth): Bool {
  const checks: Bool[] = [];
  let b: Bool;
  const rc = constOf(r);
  if (
    rc === 0 &&
    (op === '!=' || op === '=' || op === '==') &&
    l.k === 'bin' &&
    l.op === '&' &&
    constOf(l.r) !== null &&
    constOf(l.l) === null
  ) {
    // x & k != 0  ->  jset #k
    const t = test(genArth(L, l.l, 0, checks), BPF_JSET, constOf(l.r)!);
    b = op === '!=' ? t : not(t);
  } else {
    let stmts: bpf_insn[];
    let src = BPF_K;
    let k = 0;
    if (rc !== null) {
      stmts = genArth(L, l, 0, checks);
      k = rc;
    } else {
      stmts = [
        ...genArth(L, r, 1, checks),
        S(BPF_ST, 0),
        ...genArth(L, l, 1, checks),
        S(BPF_LDX | BPF_W | BPF_MEM, 0),
      ];
      src = BPF_X;
    }
    switch (op) {
      case '=':
      case '==':
        b = test(stmts, BPF_JEQ, k, src);
        break;
      case '!=':
        b = not(test(stmts, BPF_JEQ, k, src));
        break;
      case '>':
        b = test(stmts, BPF_JGT, k, src);
        break;
      case '>=':
        b = test(stmts, BPF_JGE, k, src);
        break;
      case '<':
        b = not(test(stmts, BPF_JGE, k, src));
        break;
      default: // '<='
        b = not(test(stmts, BPF_JGT, k, src));
    }
  }
  // Nested loads (`tcp[tcp[12] >> 2]`) imply the same check twice: keep one.
  const seen = new Set<string>();
  const uniq = checks.filter((c) => {
    const key = JSON.stringify(c);
    return seen.has(key) ? false : (seen.add(key), true);
  });
  return uniq.length ? and(...uniq, b) : b;
}

/* ---------------------------------------------------------------- parser */

const RELOPS = new Set(['>', '>=', '=', '==', '!=', '<', '<=']);
const ARTH_LEVELS: readonly (readonly string[])[] = [
  ['|', '^'],
  ['&'],
  ['<<', '>>'],
  ['+', '-'],
  ['*', '/', '%'],
];

class Parser {
  private pos = 0;
  /** The qualifiers of the last `head id`, for libpcap's inheritance. */
  private lastq: Qual = QDEFAULT;

  constructor(
    private readonly toks: readonly Tok[],
    private readonly L: Link,
    private readonly hosts: ReadonlyMap<string, number>,
  ) {}

  private peek(n = 0): Tok {
    return this.toks[Math.min(this.pos + n, this.toks.length - 1)]!;
  }
  private next(): Tok {
    const t = this.peek();
    this.pos++; // may pass the end: peek() clamps, and `pos--` undoes exactly
    return t;
  }
  private isWord(t: Tok, ...ws: string[]): boolean {
    return t.t === 'id' && !t.esc && ws.includes(t.s);
  }
  private isOp(t: Tok, ...os: string[]): boolean {
    return t.t === 'op' && os.includes(t.s);
  }
  private syntax(): never {
    const t = this.peek();
    return fail(t.t === 'eof' ? 'syntax error' : `syntax error near '${t.s}'`);
  }
  private expectOp(s: string): void {
    if (!this.isOp(this.next(), s)) {
      this.pos--;
      this.syntax();
    }
  }

  parse(): Bool {
    if (this.peek().t === 'eof') return TRUE; // an empty filter accepts everything
    const b = this.expr();
    if (this.peek().t !== 'eof') this.syntax();
    return b;
  }

  private andor(): 'and' | 'or' | null {
    const t = this.peek();
    if (this.isWord(t, 'and') || this.isOp(t, '&&')) return 'and';
    if (this.isWord(t, 'or') || this.isOp(t, '||')) return 'or';
    return null;
  }

  private expr(): Bool {
    let b = this.term();
    for (let op = this.andor(); op !== null; op = this.andor()) {
      this.next();
      const r = this.idStarts() ? this.id(this.lastq) : this.term();
      b = op === 'and' ? and(b, r) : or(b, r);
    }
    return b;
  }

  /** Does a bare value (an `id` inheriting the last qualifiers) start here? */
  private idStarts(): boolean {
    let i = 0;
    while (this.isWord(this.peek(i), 'not') || this.isOp(this.peek(i), '!', '(')) i++;
    const t = this.peek(i);
    const after = this.peek(i + 1);
    switch (t.t) {
      case 'hid':
      case 'mac':
        return true;
      case 'num':
        // `and 3 > 2` is a relation; `or 80` an inherited port.
        if (after.t === 'op' && (RELOPS.has(after.s) || ALU_OPS.has(after.s)))
          return after.s === '-' && this.lastq.addr === 'portrange';
        return true;
      case 'id':
        return t.esc || (!KEYWORDS.has(t.s) && !ARTH_NAMES.has(t.s));
      default:
        return false;
    }
  }

  private term(): Bool {
    const t = this.peek();
    if (this.isWord(t, 'not') || this.isOp(t, '!')) {
      this.next();
      return not(this.term());
    }
    return this.rterm();
  }

  private rterm(): Bool {
    const t = this.peek();
    if (this.isOp(t, '(')) {
      const rel = this.tryRelation();
      if (rel !== null) return rel;
      this.next();
      const b = this.expr();
      this.expectOp(')');
      return b;
    }
    if (
      t.t === 'num' ||
      this.isOp(t, '-') ||
      this.isWord(t, 'len') ||
      (t.t === 'id' && ARTH_NAMES.has(t.s)) ||
      (t.t === 'id' && ARTH_PROTOS.has(t.s) && this.isOp(this.peek(1), '['))
    ) {
      const rel = this.tryRelation();
      if (rel !== null) return rel;
      if (t.t !== 'num') return this.relationOrFail();
    }
    if (this.isWord(t, 'less', 'greater')) {
      this.next();
      const n = this.next();
      if (n.t !== 'num') {
        this.pos--;
        this.syntax();
      }
      const ld = [S(BPF_LD | BPF_W | BPF_LEN)];
      return t.s === 'less' ? not(test(ld, BPF_JGT, n.v)) : test(ld, BPF_JGE, n.v);
    }
    if (this.isWord(t, 'broadcast', 'multicast')) {
      this.next();
      return this.other(null, t.s);
    }
    if (this.idStarts()) return this.id(QDEFAULT);
    return this.head();
  }

  private relationOrFail(): Bool {
    const l = this.arth();
    const op = this.next();
    if (op.t !== 'op' || !RELOPS.has(op.s)) {
      this.pos--;
      this.syntax();
    }
    return relation(this.L, op.s, l, this.arth());
  }

  private tryRelation(): Bool | null {
    const save = this.pos;
    try {
      return this.relationOrFail();
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      this.pos = save;
      return null;
    }
  }

  private arth(level = 0): Arth {
    if (level >= ARTH_LEVELS.length) return this.unary();
    let l = this.arth(level + 1);
    const ops = ARTH_LEVELS[level]!;
    while (this.peek().t === 'op' && ops.includes(this.peek().s)) {
      const op = this.next().s;
      l = { k: 'bin', op, l, r: this.arth(level + 1) };
    }
    return l;
  }

  private unary(): Arth {
    const t = this.next();
    if (this.isOp(t, '-')) return { k: 'neg', e: this.unary() };
    if (this.isOp(t, '(')) {
      const a = this.arth();
      this.expectOp(')');
      return a;
    }
    if (t.t === 'num') return { k: 'num', v: t.v };
    if (this.isWord(t, 'len')) return { k: 'len' };
    if (t.t === 'id' && ARTH_NAMES.has(t.s)) return { k: 'num', v: ARTH_NAMES.get(t.s)! };
    if (t.t === 'id' && ARTH_PROTOS.has(t.s) && this.isOp(this.peek(), '[')) {
      this.next();
      const idx = this.arth();
      let size = 1;
      if (this.isOp(this.peek(), ':')) {
        this.next();
        const n = this.next();
        if (n.t !== 'num' || ![1, 2, 4].includes(n.v)) fail('data size must be 1, 2, or 4');
        size = n.v;
      }
      this.expectOp(']');
      return { k: 'load', proto: t.s, idx, size };
    }
    this.pos--;
    return this.syntax();
  }

  /** head id | pname | pqual broadcast/multicast | pqual proto N */
  private head(): Bool {
    let proto: string | null = null;
    let dir: Dir | null = null;
    let addr: string | null = null;
    let t = this.peek();
    if (t.t === 'id' && !t.esc && PROTO_QUALS.has(t.s)) {
      proto = t.s;
      this.next();
      t = this.peek();
    }
    if (this.isWord(t, 'src', 'dst')) {
      this.next();
      dir = t.s as Dir;
      const a = this.peek();
      const b = this.peek(1);
      if (this.isWord(a, 'or', 'and') && this.isWord(b, 'src', 'dst') && b.s !== t.s) {
        this.next();
        this.next();
        dir = a.s === 'or' ? 'src or dst' : 'src and dst';
      }
      t = this.peek();
    }
    if (t.t === 'id' && !t.esc && ADDR_QUALS.has(t.s)) {
      addr = t.s;
      this.next();
      t = this.peek();
    }
    if (proto !== null && dir === null && addr === null) {
      if (this.isWord(t, 'broadcast', 'multicast')) {
        this.next();
        return this.other(proto, t.s);
      }
      return pname(this.L, proto);
    }
    if (dir === null && addr === null) return this.syntax();
    const q: Qual = { proto, dir, addr };
    this.lastq = q;
    return this.id(q);
  }

  private other(proto: string | null, what: string): Bool {
    const L = this.L;
    if (what === 'broadcast') {
      if (proto === null || proto === 'ether' || proto === 'link') {
        needEther(L, 'broadcast');
        return and(test([ldw(2)], BPF_JEQ, 0xffffffff), test([ldh(0)], BPF_JEQ, 0xffff));
      }
      if (proto === 'ip') return fail("netmask not known, so 'ip broadcast' not supported");
      return fail(`only link-layer/IP broadcast filters supported`);
    }
    switch (proto) {
      case null:
      case 'ether':
      case 'link':
        needEther(L, 'multicast');
        return test([ldb(0)], BPF_JSET, 1);
      case 'ip':
        return and(linktype(L, ETHERTYPE_IP), test([ldb(L.nl + 16)], BPF_JGE, 224));
      case 'ip6':
        return and(linktype(L, ETHERTYPE_IPV6), test([ldb(L.nl + 24)], BPF_JEQ, 255));
      default:
        return fail(`only link-layer/IP multicast filters supported`);
    }
  }

  /** id: nid | pnum | '(' pid ')', with qualifiers q; `not id` too. */
  private id(q: Qual): Bool {
    const t = this.peek();
    if (this.isWord(t, 'not') || this.isOp(t, '!')) {
      this.next();
      return not(this.id(q));
    }
    if (this.isOp(t, '(')) {
      this.next();
      let b = this.id(q);
      for (let op = this.andor(); op !== null; op = this.andor()) {
        this.next();
        const r = this.id(q);
        b = op === 'and' ? and(b, r) : or(b, r);
      }
      this.expectOp(')');
      return b;
    }
    this.next();
    return this.value(q, t);
  }

  private value(q: Qual, t: Tok): Bool {
    const L = this.L;
    const addr = q.addr;
    switch (t.t) {
      case 'num':
      case 'hid': {
        const masked = this.isOp(this.peek(), '/') || this.isWord(this.peek(), 'mask');
        if (t.t === 'num' && !(masked && (addr === null || addr === 'net')))
          return this.number(q, t.v);
        // `N/len` and `N mask M` without a qualifier are networks (libpcap's nid rules).
        if (addr === 'net' || (addr === null && masked)) {
          const { addr: a, mask: m0 } = parseNetAddr(t.s);
          let mask = m0;
          if (this.isOp(this.peek(), '/')) {
            this.next();
            const n = this.next();
            if (n.t !== 'num') {
              this.pos--;
              this.syntax();
            }
            if (n.v > 32) fail('mask length must be <= 32');
            mask = n.v === 0 ? 0 : (0xffffffff << (32 - n.v)) >>> 0;
            if ((a & ~mask) >>> 0 !== 0) fail(`non-network bits set in "${t.s}/${n.v}"`);
          } else if (this.isWord(this.peek(), 'mask')) {
            this.next();
            const m = this.next();
            if (m.t !== 'hid') {
              this.pos--;
              this.syntax();
            }
            mask = parseHostAddr(m.s);
            if ((a & ~mask) >>> 0 !== 0) fail(`non-network bits set in "${t.s} mask ${m.s}"`);
          }
          return hostnet(L, q, a, mask);
        }
        if (addr !== null && addr !== 'host') return fail(`illegal qualifier of '${addr}'`);
        if (masked) return fail('Mask syntax for networks only');
        if (q.proto === 'ether' || q.proto === 'link') return fail('illegal ether address');
        return hostnet(L, q, parseHostAddr(t.s), 0xffffffff);
      }
      case 'mac':
        if (addr !== null && addr !== 'host')
          return fail(`illegal qualifier of '${addr}' for ethernet address`);
        if (q.proto !== null && q.proto !== 'ether' && q.proto !== 'link')
          return fail('ethernet address used in non-ether expression');
        return etherhost(L, q.dir, parseMac(t.s));
      case 'id': {
        const name = t.s;
        if (addr === 'port' || addr === 'portrange') {
          const p = SERVICES.get(name);
          if (p === undefined) return fail(`unknown port '${name}'`);
          if (addr === 'portrange') {
            this.expectOp('-');
            const n = this.next();
            const hi = n.t === 'num' ? n.v : n.t === 'id' ? SERVICES.get(n.s) : undefined;
            if (hi === undefined) return fail(`unknown port '${n.s}'`);
            return portrange(L, q, p, hi);
          }
          return portrange(L, q, p, p);
        }
        if (addr === 'proto') {
          const table = q.proto === 'ether' || q.proto === 'link' ? ETHER_PROTOS : IP_PROTOS;
          const v = table.get(name);
          if (v === undefined)
            return fail(`unknown ${q.proto === 'ether' ? 'ether' : 'ip'} proto '${name}'`);
          return protoPrim(L, q.proto, v);
        }
        if (addr === 'gateway') return fail(`'gateway' not supported in this configuration`);
        if (q.proto === 'ether' || q.proto === 'link') return fail(`unknown ether host '${name}'`);
        const a = name === 'localhost' ? 0x7f000001 : this.hosts.get(name);
        if (a === undefined) return fail(`unknown host '${name}'`);
        return hostnet(L, q, a >>> 0, 0xffffffff); // `net NAME`: the whole address
      }
      default:
        this.pos--;
        return this.syntax();
    }
  }
  /** A number with qualifiers q: a port, a protocol, a network or a host. */
  private number(q: Qual, v: number): Bool {
    const L = this.L;
    const addr = q.addr;
    if (addr === 'port' || addr === 'portrange') {
      let hi = v;
      if (addr === 'portrange') {
        this.expectOp('-');
        const n = this.next();
        if (n.t !== 'num') {
          this.pos--;
          this.syntax();
        }
        hi = n.v;
      }
      return portrange(L, q, v, hi);
    }
    if (addr === 'proto') return protoPrim(L, q.proto, v);
    if (addr === 'net') {
      // `net 198.51` is 198.51.0.0/16: a number names the network by its leading octets.
      const octets = v > 0xffffff ? 4 : v > 0xffff ? 3 : v > 0xff ? 2 : 1;
      const a = (v * 2 ** (8 * (4 - octets))) >>> 0;
      const mask = (0xffffffff << (32 - 8 * octets)) >>> 0;
      return hostnet(L, q, a, mask);
    }
    if (q.proto === 'ether' || q.proto === 'link') return fail('illegal ether address');
    return hostnet(L, q, v, 0xffffffff);
  }
}

/* ---------------------------------------------------------------- blocks */

interface Block {
  readonly id: number;
  stmts: bpf_insn[];
  /** BPF_JMP|op|src, or -1 for a return block. */
  readonly jcode: number;
  readonly jk: number;
  t: Block | null;
  f: Block | null;
}

class Gen {
  private nid = 0;
  readonly accept: Block;
  readonly reject: Block;

  constructor(snaplen: number) {
    this.reject = this.block([S(BPF_RET | BPF_K, 0)], -1, 0, null, null);
    this.accept = this.block([S(BPF_RET | BPF_K, snaplen)], -1, 0, null, null);
  }

  block(stmts: bpf_insn[], jcode: number, jk: number, t: Block | null, f: Block | null): Block {
    return { id: this.nid++, stmts, jcode, jk, t, f };
  }

  gen(b: Bool, T: Block, F: Block): Block {
    switch (b.k) {
      case 'true':
        return T;
      case 'false':
        return F;
      case 'not':
        return this.gen(b.e, F, T);
      case 'and':
        return this.gen(b.l, this.gen(b.r, T, F), F);
      case 'or':
        return this.gen(b.l, T, this.gen(b.r, T, F));
      case 'test':
        return this.block([...b.stmts], b.jcode, b.jk, T, F);
    }
  }
}

const insnKey = (i: bpf_insn): string => `${i.code}:${i.k}`;

/** Is `i` a pure load into A (its value depends only on the packet)? */
function isALoad(i: bpf_insn): boolean {
  const m = BPF_MODE(i.code);
  return BPF_CLASS(i.code) === BPF_LD && (m === BPF_ABS || m === BPF_LEN || m === BPF_IMM);
}
const isXLoad = (i: bpf_insn): boolean => i.code === (BPF_LDX | BPF_B | BPF_MSH);

/** The value a load into A gives, as a key, given X's key; null if not a pure load. */
function aKey(i: bpf_insn, x: string | null): string | null {
  if (isALoad(i)) return insnKey(i);
  if (BPF_CLASS(i.code) === BPF_LD && BPF_MODE(i.code) === BPF_IND && x !== null)
    return `${insnKey(i)}@${x}`;
  return null;
}

/** The A and X values a block leaves, as load keys (null = unknown); starts from a, x. */
function effect(
  stmts: readonly bpf_insn[],
  a: string | null,
  x: string | null,
): [string | null, string | null] {
  for (const s of stmts) {
    const cls = BPF_CLASS(s.code);
    const k = aKey(s, x);
    if (k !== null) a = k;
    else if (isXLoad(s)) x = insnKey(s);
    else if (cls === BPF_LD || cls === BPF_ALU) a = null;
    else if (cls === BPF_LDX) x = null;
    else if (cls === BPF_MISC) {
      if (BPF_MISCOP(s.code) === BPF_TAX) x = null;
      else a = null;
    }
  }
  return [a, x];
}

/**
 * What is known about pure packet loads (`[12]`, `#pktlen`) on entry to a block: the
 * value equals `eq`, or differs from every value in `ne`.  Packet bytes never change,
 * so a fact learnt from a `jeq` holds on every path below it.
 */
interface Fact {
  readonly eq: number | null;
  readonly ne: ReadonlySet<number>;
}
type Facts = ReadonlyMap<string, Fact>;

function meetFacts(a: Facts, b: Facts): Facts {
  const out = new Map<string, Fact>();
  for (const [key, fa] of a) {
    const fb = b.get(key);
    if (fb === undefined) continue;
    if (fa.eq !== null && fa.eq === fb.eq) {
      out.set(key, fa);
      continue;
    }
    // Both as sets of excluded values (eq v excludes everything but v).
    const excl = (f: Fact, w: number): boolean => (f.eq !== null ? w !== f.eq : f.ne.has(w));
    const ne = new Set([...fa.ne, ...fb.ne].filter((w) => excl(fa, w) && excl(fb, w)));
    if (ne.size) out.set(key, { eq: null, ne });
  }
  return out;
}

function withFact(f: Facts, key: string, eq: boolean, k: number): Facts {
  const out = new Map(f);
  const old = f.get(key);
  if (eq) out.set(key, { eq: k, ne: new Set() });
  else if (old?.eq === null || old === undefined)
    out.set(key, { eq: null, ne: new Set([...(old?.ne ?? []), k]) });
  return out;
}

/** The pure load a self-contained `jeq #k` block tests, or null. */
function testedKey(b: Block): string | null {
  if (b.jcode !== (BPF_JMP | BPF_JEQ | BPF_K) || b.stmts.length === 0) return null;
  const key = insnKey(b.stmts[0]!);
  return b.stmts.every((s) => isALoad(s) && insnKey(s) === key) ? key : null;
}

/**
 * Jump threading (libpcap's opt_j, on facts rather than value numbers): an edge into a
 * block whose `jeq` outcome the facts on that edge already decide goes straight to the
 * decided successor.  Safe because, before load elimination, every block carries its own
 * loads.  Processes blocks in topological order, so a block's facts are final when read.
 */
function thread(entry: Block, g: Gen): void {
  const facts = new Map<Block, Facts>([[entry, new Map()]]);
  for (const b of order(entry, g)) {
    const F = facts.get(b);
    if (F === undefined) continue; // no longer reachable
    const key = b.jcode === (BPF_JMP | BPF_JEQ | BPF_K) ? effect(b.stmts, null, null)[0] : null;
    for (const edge of ['t', 'f'] as const) {
      let ef = key === null ? F : withFact(F, key, edge === 't', b.jk);
      let target = b[edge]!;
      for (let guard = 0; guard < 100000; guard++) {
        const tk = testedKey(target);
        if (tk === null) break;
        const f = ef.get(tk);
        let res: boolean | null = null;
        if (f?.eq != null) res = f.eq === target.jk;
        else if (f?.ne.has(target.jk)) res = false;
        if (res === null) break;
        ef = withFact(ef, tk, res, target.jk);
        target = res ? target.t! : target.f!;
      }
      b[edge] = target;
      const old = facts.get(target);
      facts.set(target, old === undefined ? ef : meetFacts(old, ef));
    }
  }
}

/** Reverse postorder from the entry: every edge goes forward.  Returns blocks only. */
function order(entry: Block, g: Gen): Block[] {
  const seen = new Set<Block>([g.accept, g.reject]);
  const post: Block[] = [];
  const stack: [Block, number][] = [];
  if (!seen.has(entry)) {
    seen.add(entry);
    stack.push([entry, 0]);
  }
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [b, i] = top;
    const kids = [b.f, b.t];
    if (i < kids.length) {
      top[1]++;
      const c = kids[i];
      if (c && !seen.has(c)) {
        seen.add(c);
        stack.push([c, 0]);
      }
    } else {
      stack.pop();
      post.push(b);
    }
  }
  return post.reverse();
}

/**
 * Merge equal blocks (same code, same successors), working from the returns up —
 * libpcap merges such blocks too (`host` shares one ARP/RARP address test).  Sound only
 * while every block carries its own loads (before dropRedundantLoads).  Unlike libpcap
 * we keep a test whose two edges meet: its load may fail on a short packet, which
 * rejects it (so `tcp or not tcp` is not `ret #snaplen`).  Returns the new entry.
 */
function mergeEqual(entry: Block, g: Gen): Block {
  const rep = new Map<Block, Block>();
  const byKey = new Map<string, Block>();
  const r = (b: Block): Block => rep.get(b) ?? b;
  for (const b of order(entry, g).reverse()) {
    b.t = r(b.t!);
    b.f = r(b.f!);
    const key = JSON.stringify([b.stmts.map(insnKey), b.jcode, b.jk, b.t.id, b.f.id]);
    const same = byKey.get(key);
    if (same !== undefined) rep.set(b, same);
    else byKey.set(key, b);
  }
  return r(entry);
}

/** Drop loads whose value every predecessor left in A (or X). */
function dropRedundantLoads(blocks: readonly Block[], entry: Block): void {
  const inA = new Map<Block, string | null>();
  const inX = new Map<Block, string | null>();
  const meet = (m: Map<Block, string | null>, b: Block, v: string | null): void => {
    if (!m.has(b)) m.set(b, v);
    else if (m.get(b) !== v) m.set(b, null);
  };
  inA.set(entry, null);
  inX.set(entry, null);
  for (const b of blocks) {
    let a = inA.get(b) ?? null;
    let x = inX.get(b) ?? null;
    const kept: bpf_insn[] = [];
    let aMem = -1; // the scratch word A was just stored to, in this block
    for (const s of b.stmts) {
      const k = aKey(s, x);
      if (k !== null && k === a) continue;
      if (isXLoad(s) && insnKey(s) === x) continue;
      if (s.code === (BPF_LD | BPF_W | BPF_MEM) && s.k === aMem) continue;
      kept.push(s);
      if (s.code === BPF_ST) aMem = s.k;
      else if (BPF_CLASS(s.code) === BPF_LD || BPF_CLASS(s.code) === BPF_ALU) aMem = -1;
      else if (s.code === (BPF_MISC | BPF_TXA)) aMem = -1;
      [a, x] = effect([s], a, x);
    }
    b.stmts = kept;
    for (const c of [b.t, b.f]) {
      if (c === null) continue;
      meet(inA, c, a);
      meet(inX, c, x);
    }
  }
}

/** Lay the blocks out; jumps farther than 255 go through `ja`s placed right after. */
function layout(blocks: readonly Block[], g: Gen): bpf_insn[] | null {
  const all = [...blocks, g.accept, g.reject];
  const farT = new Set<Block>();
  const farF = new Set<Block>();
  for (let round = 0; round < 64; round++) {
    const pos = new Map<Block, number>();
    let n = 0;
    for (const b of all) {
      pos.set(b, n);
      n += b.stmts.length;
      if (b.jcode >= 0) n += 1 + (farT.has(b) ? 1 : 0) + (farF.has(b) ? 1 : 0);
    }
    const out: bpf_insn[] = [];
    let grew = false;
    for (const b of all) {
      out.push(...b.stmts);
      if (b.jcode < 0) continue;
      const j = out.length;
      const jas: Block[] = [];
      const off = (target: Block, far: boolean): number => {
        if (!far) return pos.get(target)! - (j + 1);
        jas.push(target);
        return jas.length - 1;
      };
      const jt = off(b.t!, farT.has(b));
      const jf = off(b.f!, farF.has(b));
      if (jt > 255) farT.add(b);
      if (jf > 255) farF.add(b);
      if (jt > 255 || jf > 255) grew = true;
      out.push({ code: b.jcode, jt: jt & 0xff, jf: jf & 0xff, k: b.jk });
      jas.forEach((target, i) => out.push(S(BPF_JMP | BPF_JA, pos.get(target)! - (j + 2 + i))));
    }
    if (!grew) return out;
  }
  return null;
}

/**
 * pcap_compile: compile a pcap-filter(7) expression for link type `dlt` (DLT_EN10MB or
 * DLT_NULL); matching packets return `snaplen`.  Never throws.
 */
export function pcap_compile(
  expr: string,
  dlt: number = DLT_EN10MB,
  snaplen: number = PCAP_DEFAULT_SNAPLEN,
  opts: PcapCompileOptions = {},
): PcapCompileResult {
  try {
    let L: Link;
    if (dlt === DLT_EN10MB) L = { dlt, nl: 14 };
    else if (dlt === DLT_NULL) L = { dlt, nl: 4 };
    else return { error: `unknown data link type ${dlt}` };
    const tree = new Parser(lex(expr), L, opts.hosts ?? new Map()).parse();
    const g = new Gen(snaplen >>> 0);
    let entry = g.gen(tree, g.accept, g.reject);
    if (entry === g.accept || entry === g.reject) return { prog: [...entry.stmts] };
    if (opts.optimize !== false) {
      thread(entry, g);
      entry = mergeEqual(entry, g);
      if (entry === g.accept || entry === g.reject) return { prog: [...entry.stmts] };
    }
    const blocks = order(entry, g);
    if (opts.optimize !== false) dropRedundantLoads(blocks, entry);
    const prog = layout(blocks, g);
    if (prog === null) return { error: 'expression too complex' };
    return { prog };
  } catch (e) {
    if (e instanceof CompileError) return { error: e.msg };
    if (e instanceof RangeError) return { error: 'expression too complex' };
    return { error: `internal error: ${String(e)}` };
  }
}

/* ---------------------------------------------------------------- bpf_image */

const hex = (v: number): string => `#0x${(v >>> 0).toString(16)}`;

/** One instruction as tcpdump -d prints it (libpcap's bpf_image). */
export function bpf_image(p: bpf_insn, n: number): string {
  const c = p.code;
  const k = p.k >>> 0;
  let op: string;
  let operand: string;
  const sz = (base: string): string =>
    BPF_SIZE(c) === BPF_H ? `${base}h` : BPF_SIZE(c) === BPF_B ? `${base}b` : base;
  switch (BPF_CLASS(c)) {
    case BPF_RET:
      op = 'ret';
      op = BPF_RVAL(c) === BPF_A || BPF_RVAL(c) === BPF_K ? 'ret' : 'unimp';
      operand = BPF_RVAL(c) === BPF_A ? '' : `#${k}`;
      break;
    case BPF_LD:
      op = sz('ld');
      switch (BPF_MODE(c)) {
        case BPF_ABS:
          operand = `[${k}]`;
          break;
        case BPF_IND:
          operand = `[x + ${k}]`;
          break;
        case BPF_IMM:
          operand = hex(k);
          break;
        case BPF_LEN:
          operand = '#pktlen';
          break;
        case BPF_MEM:
          operand = `M[${k}]`;
          break;
        default:
          op = 'unimp';
          operand = `0x${c.toString(16)}`;
      }
      break;
    case BPF_LDX:
      op = 'ldx';
      switch (BPF_MODE(c)) {
        case BPF_IMM:
          operand = hex(k);
          break;
        case BPF_LEN:
          operand = '#pktlen';
          break;
        case BPF_MEM:
          operand = `M[${k}]`;
          break;
        case BPF_MSH:
          op = 'ldxb';
          operand = `4*([${k}]&0xf)`;
          break;
        default:
          op = 'unimp';
          operand = `0x${c.toString(16)}`;
      }
      break;
    case BPF_ST:
      op = 'st';
      operand = `M[${k}]`;
      break;
    case BPF_STX:
      op = 'stx';
      operand = `M[${k}]`;
      break;
    case BPF_JMP: {
      const names: Record<number, string> = {
        [BPF_JA]: 'ja',
        [BPF_JEQ]: 'jeq',
        [BPF_JGT]: 'jgt',
        [BPF_JGE]: 'jge',
        [BPF_JSET]: 'jset',
      };
      op = names[BPF_OP(c)] ?? 'unimp';
      if (BPF_OP(c) === BPF_JA) {
        operand = `${n + 1 + k}`;
        break;
      }
      operand = BPF_SRC(c) === BPF_X ? 'x' : hex(k);
      if (op === 'unimp') return `(${String(n).padStart(3, '0')}) unimp    0x${c.toString(16)}`;
      return `(${String(n).padStart(3, '0')}) ${op.padEnd(8)} ${operand.padEnd(16)} jt ${n + 1 + p.jt}\tjf ${n + 1 + p.jf}`;
    }
    case BPF_ALU: {
      const names: Record<number, string> = {
        [BPF_ADD]: 'add',
        [BPF_SUB]: 'sub',
        [BPF_MUL]: 'mul',
        [BPF_DIV]: 'div',
        [BPF_MOD]: 'mod',
        [BPF_AND]: 'and',
        [BPF_OR]: 'or',
        [BPF_XOR]: 'xor',
        [BPF_LSH]: 'lsh',
        [BPF_RSH]: 'rsh',
        [BPF_NEG]: 'neg',
      };
      op = names[BPF_OP(c)] ?? 'unimp';
      const hexk = [BPF_AND, BPF_OR, BPF_XOR].includes(BPF_OP(c));
      operand = BPF_OP(c) === BPF_NEG ? '' : BPF_SRC(c) === BPF_X ? 'x' : hexk ? hex(k) : `#${k}`;
      break;
    }
    default:
      op = BPF_MISCOP(c) === BPF_TAX ? 'tax' : BPF_MISCOP(c) === BPF_TXA ? 'txa' : 'unimp';
      operand = '';
  }
  if (op === 'unimp') operand = `0x${c.toString(16)}`;
  return `(${String(n).padStart(3, '0')}) ${op.padEnd(8)} ${operand}`;
}

/**
 * bpf_dump: the program as tcpdump prints it with -d (level 1), -dd (2, C array) or
 * -ddd (3, decimal).  Lines end with '\n'.
 */
export function bpf_dump(prog: bpf_program, level = 1): string {
  if (level > 2)
    return `${prog.length}\n${prog.map((i) => `${i.code} ${i.jt} ${i.jf} ${i.k >>> 0}\n`).join('')}`;
  if (level > 1)
    return prog
      .map(
        (i) =>
          `{ 0x${i.code.toString(16)}, ${i.jt}, ${i.jf}, 0x${(i.k >>> 0).toString(16).padStart(8, '0')} },\n`,
      )
      .join('');
  return prog.map((i, n) => `${bpf_image(i, n)}\n`).join('');
}
