/*
 * netinet/ip_icmp.ts — the ICMP header (netinet/ip_icmp.h struct icmp) as a view over
 * bytes, FreeBSD's type and code constants, and icmp_input's length/checksum checks.
 *
 * RFC 792 (message formats), RFC 1191 §4 (next-hop MTU in "fragmentation needed"),
 * RFC 1256 (router advertisement), RFC 1812 §5.2.7 (codes):
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  0 |     Type      |     Code      |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  4 | union icmp_hun: id | seq  /  void  /  pptr  /  gwaddr         |
 *    |                  /  (ipm_void | ipm_nextmtu)                  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  8 | union icmp_dun: timestamps / inner ip header + 8 bytes / mask |
 *    |                 / data ...                                    |
 *
 * The ICMP checksum covers the whole message (RFC 792).  icmp_check returns the
 * icmpstat counter icmp_input bumps on a drop (icps_tooshort, icps_checksum);
 * icmp_check_adv the one for an error message whose quoted header is too short
 * (icps_badlen).  Nothing here throws on packet contents.
 */

import { WireView } from '../sys/wireview.js';
import { in_cksum } from './in_cksum.js';
import { in_addr_read, in_addr_write } from './in.js';
import type { in_addr_t } from './in.js';

export const ICMP_ECHOREPLY = 0;
export const ICMP_UNREACH = 3;
export const ICMP_UNREACH_NET = 0;
export const ICMP_UNREACH_HOST = 1;
export const ICMP_UNREACH_PROTOCOL = 2;
export const ICMP_UNREACH_PORT = 3;
export const ICMP_UNREACH_NEEDFRAG = 4;
export const ICMP_UNREACH_SRCFAIL = 5;
export const ICMP_UNREACH_NET_UNKNOWN = 6;
export const ICMP_UNREACH_HOST_UNKNOWN = 7;
export const ICMP_UNREACH_ISOLATED = 8;
export const ICMP_UNREACH_NET_PROHIB = 9;
export const ICMP_UNREACH_HOST_PROHIB = 10;
export const ICMP_UNREACH_TOSNET = 11;
export const ICMP_UNREACH_TOSHOST = 12;
export const ICMP_UNREACH_FILTER_PROHIB = 13;
export const ICMP_UNREACH_HOST_PRECEDENCE = 14;
export const ICMP_UNREACH_PRECEDENCE_CUTOFF = 15;
export const ICMP_SOURCEQUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_REDIRECT_NET = 0;
export const ICMP_REDIRECT_HOST = 1;
export const ICMP_REDIRECT_TOSNET = 2;
export const ICMP_REDIRECT_TOSHOST = 3;
export const ICMP_ALTHOSTADDR = 6;
export const ICMP_ECHO = 8;
export const ICMP_ROUTERADVERT = 9;
export const ICMP_ROUTERADVERT_NORMAL = 0;
export const ICMP_ROUTERADVERT_NOROUTE_COMMON = 16;
export const ICMP_ROUTERSOLICIT = 10;
export const ICMP_TIMXCEED = 11;
export const ICMP_TIMXCEED_INTRANS = 0;
export const ICMP_TIMXCEED_REASS = 1;
export const ICMP_PARAMPROB = 12;
export const ICMP_PARAMPROB_ERRATPTR = 0;
export const ICMP_PARAMPROB_OPTABSENT = 1;
export const ICMP_PARAMPROB_LENGTH = 2;
export const ICMP_TSTAMP = 13;
export const ICMP_TSTAMPREPLY = 14;
export const ICMP_IREQ = 15;
export const ICMP_IREQREPLY = 16;
export const ICMP_MASKREQ = 17;
export const ICMP_MASKREPLY = 18;
export const ICMP_TRACEROUTE = 30;
export const ICMP_DATACONVERR = 31;
export const ICMP_MOBILE_REDIRECT = 32;
export const ICMP_IPV6_WHEREAREYOU = 33;
export const ICMP_IPV6_IAMHERE = 34;
export const ICMP_MOBILE_REGREQUEST = 35;
export const ICMP_MOBILE_REGREPLY = 36;
export const ICMP_SKIP = 39;
export const ICMP_PHOTURIS = 40;
export const ICMP_MAXTYPE = 40;

/* Lengths (netinet/ip_icmp.h). */
export const ICMP_MINLEN = 8;
export const ICMP_TSLEN = 8 + 3 * 4;
export const ICMP_MASKLEN = 12;
/** Minimal length of an error message: 8 + a 20-byte inner header + 8 data bytes. */
export const ICMP_ADVLENMIN = 8 + 20 + 8;

/* Offsets in struct icmp. */
export const ICMP_OFF_TYPE = 0;
export const ICMP_OFF_CODE = 1;
export const ICMP_OFF_CKSUM = 2;
export const ICMP_OFF_PPTR = 4;
export const ICMP_OFF_GWADDR = 4;
export const ICMP_OFF_ID = 4;
export const ICMP_OFF_SEQ = 6;
export const ICMP_OFF_VOID = 4;
export const ICMP_OFF_NEXTMTU = 6;
export const ICMP_OFF_NUM_ADDRS = 4;
export const ICMP_OFF_WPA = 5;
export const ICMP_OFF_LIFETIME = 6;
export const ICMP_OFF_OTIME = 8;
export const ICMP_OFF_RTIME = 12;
export const ICMP_OFF_TTIME = 16;
export const ICMP_OFF_IP = 8;
export const ICMP_OFF_MASK = 8;
export const ICMP_OFF_DATA = 8;

/** ICMP_INFOTYPE: query/informational types (never answered with an ICMP error). */
export function ICMP_INFOTYPE(type: number): boolean {
  switch (type) {
    case ICMP_ECHOREPLY:
    case ICMP_ECHO:
    case ICMP_ROUTERADVERT:
    case ICMP_ROUTERSOLICIT:
    case ICMP_TSTAMP:
    case ICMP_TSTAMPREPLY:
    case ICMP_IREQ:
    case ICMP_IREQREPLY:
    case ICMP_MASKREQ:
    case ICMP_MASKREPLY:
      return true;
    default:
      return false;
  }
}

/** struct icmp as a view. */
export class Icmp extends WireView {
  constructor(b: Uint8Array = new Uint8Array(ICMP_MINLEN), o = 0) {
    super(b, o);
  }

  get icmp_type(): number {
    return this.b[this.o]!;
  }
  set icmp_type(v: number) {
    this.b[this.o] = v;
  }
  get icmp_code(): number {
    return this.b[this.o + ICMP_OFF_CODE]!;
  }
  set icmp_code(v: number) {
    this.b[this.o + ICMP_OFF_CODE] = v;
  }
  get icmp_cksum(): number {
    return this.g16(ICMP_OFF_CKSUM);
  }
  set icmp_cksum(v: number) {
    this.s16(ICMP_OFF_CKSUM, v);
  }
  /** Parameter problem pointer. */
  get icmp_pptr(): number {
    return this.b[this.o + ICMP_OFF_PPTR]!;
  }
  set icmp_pptr(v: number) {
    this.b[this.o + ICMP_OFF_PPTR] = v;
  }
  /** Redirect gateway. */
  get icmp_gwaddr(): in_addr_t {
    return in_addr_read(this.b, this.o + ICMP_OFF_GWADDR);
  }
  set icmp_gwaddr(a: number) {
    in_addr_write(this.b, this.o + ICMP_OFF_GWADDR, a);
  }
  get icmp_id(): number {
    return this.g16(ICMP_OFF_ID);
  }
  set icmp_id(v: number) {
    this.s16(ICMP_OFF_ID, v);
  }
  get icmp_seq(): number {
    return this.g16(ICMP_OFF_SEQ);
  }
  set icmp_seq(v: number) {
    this.s16(ICMP_OFF_SEQ, v);
  }
  /** The unused word of error messages (u_int32_t ih_void). */
  get icmp_void(): number {
    return in_addr_read(this.b, this.o + ICMP_OFF_VOID);
  }
  set icmp_void(v: number) {
    in_addr_write(this.b, this.o + ICMP_OFF_VOID, v);
  }
  /** ipm_void: the unused half before the next-hop MTU. */
  get icmp_pmvoid(): number {
    return this.g16(ICMP_OFF_VOID);
  }
  set icmp_pmvoid(v: number) {
    this.s16(ICMP_OFF_VOID, v);
  }
  /** RFC 1191 next-hop MTU of ICMP_UNREACH_NEEDFRAG. */
  get icmp_nextmtu(): number {
    return this.g16(ICMP_OFF_NEXTMTU);
  }
  set icmp_nextmtu(v: number) {
    this.s16(ICMP_OFF_NEXTMTU, v);
  }
  get icmp_num_addrs(): number {
    return this.b[this.o + ICMP_OFF_NUM_ADDRS]!;
  }
  get icmp_wpa(): number {
    return this.b[this.o + ICMP_OFF_WPA]!;
  }
  get icmp_lifetime(): number {
    return this.g16(ICMP_OFF_LIFETIME);
  }
  get icmp_otime(): number {
    return in_addr_read(this.b, this.o + ICMP_OFF_OTIME);
  }
  set icmp_otime(v: number) {
    in_addr_write(this.b, this.o + ICMP_OFF_OTIME, v);
  }
  get icmp_rtime(): number {
    return in_addr_read(this.b, this.o + ICMP_OFF_RTIME);
  }
  set icmp_rtime(v: number) {
    in_addr_write(this.b, this.o + ICMP_OFF_RTIME, v);
  }
  get icmp_ttime(): number {
    return in_addr_read(this.b, this.o + ICMP_OFF_TTIME);
  }
  set icmp_ttime(v: number) {
    in_addr_write(this.b, this.o + ICMP_OFF_TTIME, v);
  }
  get icmp_mask(): in_addr_t {
    return in_addr_read(this.b, this.o + ICMP_OFF_MASK);
  }
  set icmp_mask(a: number) {
    in_addr_write(this.b, this.o + ICMP_OFF_MASK, a);
  }
  /** Offset (in b) of the quoted IP header of an error message (icmp_ip). */
  get ipOffset(): number {
    return this.o + ICMP_OFF_IP;
  }
  /** icmp_data of a message of `len` bytes (a subarray). */
  data(len: number): Uint8Array {
    return this.b.subarray(this.o + ICMP_OFF_DATA, this.o + len);
  }
  /** Compute and store the checksum over a message of `len` bytes. */
  setChecksum(len: number): void {
    this.icmp_cksum = 0;
    this.icmp_cksum = in_cksum(this.b, this.o, len);
  }
}

/** icmpstat counters icmp_input's checks bump (FreeBSD names). */
export type IcmpDrop = 'icps_tooshort' | 'icps_checksum' | 'icps_badlen';

/**
 * icmp_input's first checks on a message of `len` bytes at b[off]: shorter than
 * ICMP_MINLEN (icps_tooshort), bad checksum (icps_checksum).  null when good.
 */
export function icmp_check(b: Uint8Array, off: number, len: number): IcmpDrop | null {
  if (len < ICMP_MINLEN) return 'icps_tooshort';
  if (in_cksum(b, off, len) !== 0) return 'icps_checksum';
  return null;
}

/**
 * For error messages (unreach, timxceed, paramprob, source quench, redirect): the
 * quoted header must be a whole IPv4 header plus 8 bytes (ICMP_ADVLEN) or the message
 * is dropped with icps_badlen.  null when good.
 */
export function icmp_check_adv(b: Uint8Array, off: number, len: number): IcmpDrop | null {
  if (len < ICMP_ADVLENMIN) return 'icps_badlen';
  const ihl = b[off + ICMP_OFF_IP]! & 15;
  if (ihl < 5) return 'icps_badlen';
  if (len < 8 + (ihl << 2) + 8) return 'icps_badlen';
  return null;
}

/** A decoded ICMP header: type, code, checksum and the 4-byte union word. */
export interface IcmpRecord {
  icmp_type: number;
  icmp_code: number;
  icmp_cksum: number;
  /** The 32-bit union icmp_hun as one value (id<<16|seq, gwaddr, pptr<<24, ...). */
  icmp_hun: number;
}

export function icmp_parse(b: Uint8Array, off = 0, len = b.length - off): IcmpRecord | null {
  if (off < 0 || off + len > b.length || len < ICMP_MINLEN) return null;
  const v = new Icmp(b, off);
  return {
    icmp_type: v.icmp_type,
    icmp_code: v.icmp_code,
    icmp_cksum: v.icmp_cksum,
    icmp_hun: v.icmp_void,
  };
}

/** Write the 8-byte ICMP header at b[off]; returns ICMP_MINLEN. */
export function icmp_emit(r: IcmpRecord, b: Uint8Array, off = 0): number {
  const v = new Icmp(b, off);
  v.icmp_type = r.icmp_type;
  v.icmp_code = r.icmp_code;
  v.icmp_cksum = r.icmp_cksum;
  v.icmp_void = r.icmp_hun;
  return ICMP_MINLEN;
}
