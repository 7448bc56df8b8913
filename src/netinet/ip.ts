/*
 * netinet/ip.ts — the IPv4 header (netinet/ip.h struct ip) as a view over bytes, the
 * header validation of ip_input, and IP options.
 *
 * RFC 791 §3.1 "Internet Header Format":
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  0 |Version|  IHL  |Type of Service|          Total Length         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  4 |         Identification        |Flags|      Fragment Offset    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  8 |  Time to Live |    Protocol   |         Header Checksum       |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * 12 |                       Source Address                          |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * 16 |                    Destination Address                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * 20 |                    Options                    |    Padding    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Field values are host order numbers (ip_len, ip_off, ip_id as on the wire read
 * big-endian); ip_src/ip_dst are in_addr_t.  FreeBSD keeps ip_len/ip_off in network
 * order since 10.0 too and converts at use; the getters do that conversion.
 *
 * ip_check follows ip_input's order of checks (FreeBSD sys/netinet/ip_input.c) and
 * returns the ipstat counter a drop bumps.  ip_opt_check walks the options as
 * ip_dooptions does (RFC 791 §3.1 "Options", RFC 1812 §4.2.2.1 and §5.2.4) and gives
 * the offset of the bad byte for the ICMP parameter problem pointer.  Nothing here
 * throws on packet contents or reads past the length it is given.
 */

import { WireView } from '../sys/wireview.js';
import { in_cksum } from './in_cksum.js';
import { in_addr_read, in_addr_write } from './in.js';
import type { in_addr_t } from './in.js';

export {
  IPPROTO_IP,
  IPPROTO_ICMP,
  IPPROTO_IGMP,
  IPPROTO_IPV4,
  IPPROTO_IPIP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPPROTO_IPV6,
  IPPROTO_GRE,
  IPPROTO_ICMPV6,
  IPPROTO_ETHERIP,
  IPPROTO_SCTP,
  IPPROTO_UDPLITE,
  IPPROTO_RAW,
  IPPROTO_MAX,
} from './in.js';

export const IPVERSION = 4;
/** sizeof(struct ip) without options */
export const IP_HDR_LEN = 20;
export const IP_MAXPACKET = 65535;
export const MAX_IPOPTLEN = 40;

export const IP_RF = 0x8000;
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
export const IP_OFFMASK = 0x1fff;

export const MAXTTL = 255;
export const IPDEFTTL = 64;
export const IPFRAGTTL = 60;
export const IPTTLDEC = 1;
export const IP_MSS = 576;

export const IPTOS_LOWDELAY = 0x10;
export const IPTOS_THROUGHPUT = 0x08;
export const IPTOS_RELIABILITY = 0x04;
export const IPTOS_MINCOST = 0x02;
export const IPTOS_ECN_MASK = 0x03;
export const IPTOS_ECN_NOTECT = 0x00;
export const IPTOS_ECN_ECT1 = 0x01;
export const IPTOS_ECN_ECT0 = 0x02;
export const IPTOS_ECN_CE = 0x03;
export const IPTOS_DSCP_CS6 = 0xc0;

/* IP options (RFC 791 §3.1, netinet/ip.h). */
export const IPOPT_COPIED = (o: number): number => o & 0x80;
export const IPOPT_CLASS = (o: number): number => o & 0x60;
export const IPOPT_NUMBER = (o: number): number => o & 0x1f;
export const IPOPT_CONTROL = 0x00;
export const IPOPT_RESERVED1 = 0x20;
export const IPOPT_DEBMEAS = 0x40;
export const IPOPT_RESERVED2 = 0x60;

export const IPOPT_EOL = 0;
export const IPOPT_NOP = 1;
export const IPOPT_RR = 7;
export const IPOPT_TS = 68;
export const IPOPT_SECURITY = 130;
export const IPOPT_LSRR = 131;
export const IPOPT_ESO = 133;
export const IPOPT_CIPSO = 134;
export const IPOPT_SATID = 136;
export const IPOPT_SSRR = 137;
export const IPOPT_RA = 148;

/* Offsets inside an option. */
export const IPOPT_OPTVAL = 0;
export const IPOPT_OLEN = 1;
export const IPOPT_OFFSET = 2;
export const IPOPT_MINOFF = 4;

/* Timestamp option flags (low nibble of byte 3). */
export const IPOPT_TS_TSONLY = 0;
export const IPOPT_TS_TSANDADDR = 1;
export const IPOPT_TS_PRESPEC = 3;

/* Offsets in struct ip. */
export const IP_OFF_VHL = 0;
export const IP_OFF_TOS = 1;
export const IP_OFF_LEN = 2;
export const IP_OFF_ID = 4;
export const IP_OFF_OFF = 6;
export const IP_OFF_TTL = 8;
export const IP_OFF_P = 9;
export const IP_OFF_SUM = 10;
export const IP_OFF_SRC = 12;
export const IP_OFF_DST = 16;
export const IP_OFF_OPTIONS = 20;

/** struct ip as a view.  Bind it to a packet and read/write fields in place. */
export class Ip extends WireView {
  constructor(b: Uint8Array = new Uint8Array(IP_HDR_LEN), o = 0) {
    super(b, o);
  }

  get ip_v(): number {
    return this.b[this.o]! >>> 4;
  }
  set ip_v(v: number) {
    this.b[this.o] = ((v & 15) << 4) | (this.b[this.o]! & 15);
  }
  /** Header length in 32-bit words. */
  get ip_hl(): number {
    return this.b[this.o]! & 15;
  }
  set ip_hl(v: number) {
    this.b[this.o] = (this.b[this.o]! & 0xf0) | (v & 15);
  }
  get ip_tos(): number {
    return this.b[this.o + IP_OFF_TOS]!;
  }
  set ip_tos(v: number) {
    this.b[this.o + IP_OFF_TOS] = v;
  }
  get ip_len(): number {
    return this.g16(IP_OFF_LEN);
  }
  set ip_len(v: number) {
    this.s16(IP_OFF_LEN, v);
  }
  get ip_id(): number {
    return this.g16(IP_OFF_ID);
  }
  set ip_id(v: number) {
    this.s16(IP_OFF_ID, v);
  }
  /** Flags (IP_RF, IP_DF, IP_MF) and the fragment offset in 8-byte units (IP_OFFMASK). */
  get ip_off(): number {
    return this.g16(IP_OFF_OFF);
  }
  set ip_off(v: number) {
    this.s16(IP_OFF_OFF, v);
  }
  get ip_ttl(): number {
    return this.b[this.o + IP_OFF_TTL]!;
  }
  set ip_ttl(v: number) {
    this.b[this.o + IP_OFF_TTL] = v;
  }
  get ip_p(): number {
    return this.b[this.o + IP_OFF_P]!;
  }
  set ip_p(v: number) {
    this.b[this.o + IP_OFF_P] = v;
  }
  get ip_sum(): number {
    return this.g16(IP_OFF_SUM);
  }
  set ip_sum(v: number) {
    this.s16(IP_OFF_SUM, v);
  }
  get ip_src(): in_addr_t {
    return in_addr_read(this.b, this.o + IP_OFF_SRC);
  }
  set ip_src(a: number) {
    in_addr_write(this.b, this.o + IP_OFF_SRC, a);
  }
  get ip_dst(): in_addr_t {
    return in_addr_read(this.b, this.o + IP_OFF_DST);
  }
  set ip_dst(a: number) {
    in_addr_write(this.b, this.o + IP_OFF_DST, a);
  }
  /** Header length in bytes (ip_hl << 2). */
  get hlen(): number {
    return (this.b[this.o]! & 15) << 2;
  }
  /** Recompute and store the header checksum over hlen bytes. */
  setChecksum(): void {
    this.ip_sum = 0;
    this.ip_sum = in_cksum(this.b, this.o, this.hlen);
  }
  /** True when the header checksum verifies. */
  checksumOk(): boolean {
    return in_cksum(this.b, this.o, this.hlen) === 0;
  }
  /** The options area (a subarray). */
  options(): Uint8Array {
    return this.b.subarray(this.o + IP_HDR_LEN, this.o + this.hlen);
  }
  /** The payload of a datagram whose header says ip_len (a subarray). */
  payload(): Uint8Array {
    return this.b.subarray(this.o + this.hlen, this.o + this.ip_len);
  }
}

/** ipstat counters an input header check can bump (FreeBSD names). */
export type IpDrop =
  'ips_toosmall' | 'ips_badvers' | 'ips_badhlen' | 'ips_badsum' | 'ips_badlen' | 'ips_tooshort';

/**
 * ip_input's header checks for a packet of `len` bytes at b[off], in FreeBSD's order:
 * len < 20 (ips_toosmall), version (ips_badvers), hlen < 20 (ips_badhlen), hlen > len
 * (ips_badhlen: m_pullup failed), checksum (ips_badsum, skipped when `checkSum` is
 * false, e.g. CSUM_IP_CHECKED|CSUM_IP_VALID), ip_len < hlen (ips_badlen),
 * len < ip_len (ips_tooshort).  null when the header is good; the caller then trims
 * the packet to ip_len.  Reads nothing outside [off, off+len).
 */
export function ip_check(b: Uint8Array, off: number, len: number, checkSum = true): IpDrop | null {
  if (len < IP_HDR_LEN) return 'ips_toosmall';
  const vhl = b[off]!;
  if (vhl >>> 4 !== IPVERSION) return 'ips_badvers';
  const hlen = (vhl & 15) << 2;
  if (hlen < IP_HDR_LEN) return 'ips_badhlen';
  if (hlen > len) return 'ips_badhlen';
  if (checkSum && in_cksum(b, off, hlen) !== 0) return 'ips_badsum';
  const ip_len = (b[off + 2]! << 8) | b[off + 3]!;
  if (ip_len < hlen) return 'ips_badlen';
  if (len < ip_len) return 'ips_tooshort';
  return null;
}

/**
 * Walk the options of the header at b[off] (hlen bytes, already validated by
 * ip_check) as ip_dooptions does: returns -1 when every option is well formed, else
 * the offset of the bad byte from the start of the IP header (the ICMP_PARAMPROB
 * pointer; FreeBSD counts ips_badoptions).  Source-route/RR/TS offsets are checked
 * (RFC 791: pointer >= 4, option length >= 3).
 */
export function ip_opt_check(b: Uint8Array, off: number, hlen: number): number {
  let cp = IP_HDR_LEN;
  while (cp < hlen) {
    const opt = b[off + cp]!;
    if (opt === IPOPT_EOL) break;
    if (opt === IPOPT_NOP) {
      cp++;
      continue;
    }
    if (cp + IPOPT_OLEN >= hlen) return cp + IPOPT_OLEN;
    const optlen = b[off + cp + IPOPT_OLEN]!;
    if (optlen < 2 || cp + optlen > hlen) return cp + IPOPT_OLEN;
    switch (opt) {
      case IPOPT_RR:
      case IPOPT_LSRR:
      case IPOPT_SSRR:
      case IPOPT_TS:
        if (optlen < 3) return cp + IPOPT_OLEN;
        if (b[off + cp + IPOPT_OFFSET]! < IPOPT_MINOFF) return cp + IPOPT_OFFSET;
        if (opt === IPOPT_TS && optlen < 5) return cp + IPOPT_OLEN;
        break;
    }
    cp += optlen;
  }
  return -1;
}

/**
 * The offset (from the IP header start) of the first option of kind `kind`, or -1.
 * Assumes ip_opt_check accepted the options.
 */
export function ip_opt_find(b: Uint8Array, off: number, hlen: number, kind: number): number {
  let cp = IP_HDR_LEN;
  while (cp < hlen) {
    const opt = b[off + cp]!;
    if (opt === IPOPT_EOL) break;
    if (opt === kind) return cp;
    if (opt === IPOPT_NOP) {
      cp++;
      continue;
    }
    if (cp + 1 >= hlen) break;
    const optlen = b[off + cp + 1]!;
    if (optlen < 2) break;
    cp += optlen;
  }
  return -1;
}

/**
 * Record `addr` in the record-route option at b[off + cp] (RFC 791 "Record Route":
 * the pointer names the next free 4-byte slot, counting from 1).  Returns false when
 * the option is full (RFC 791: the datagram is forwarded without recording).
 */
export function ip_rr_record(b: Uint8Array, off: number, cp: number, addr: number): boolean {
  const optlen = b[off + cp + IPOPT_OLEN]!;
  const ptr = b[off + cp + IPOPT_OFFSET]!;
  if (ptr < IPOPT_MINOFF || ptr - 1 + 4 > optlen) return false;
  in_addr_write(b, off + cp + ptr - 1, addr);
  b[off + cp + IPOPT_OFFSET] = ptr + 4;
  return true;
}

/** A decoded IPv4 header (tools, tests, emit).  `options` is copied on parse. */
export interface IpRecord {
  ip_v: number;
  ip_hl: number;
  ip_tos: number;
  ip_len: number;
  ip_id: number;
  ip_off: number;
  ip_ttl: number;
  ip_p: number;
  ip_sum: number;
  ip_src: in_addr_t;
  ip_dst: in_addr_t;
  options: Uint8Array;
}

/** Parse the header at b[off] of a packet of len bytes; null when ip_check (without sum) fails on lengths. */
export function ip_parse(b: Uint8Array, off = 0, len = b.length - off): IpRecord | null {
  if (off < 0 || off + len > b.length || len < IP_HDR_LEN) return null;
  const v = new Ip(b, off);
  const hlen = v.hlen;
  if (hlen < IP_HDR_LEN || hlen > len) return null;
  return {
    ip_v: v.ip_v,
    ip_hl: v.ip_hl,
    ip_tos: v.ip_tos,
    ip_len: v.ip_len,
    ip_id: v.ip_id,
    ip_off: v.ip_off,
    ip_ttl: v.ip_ttl,
    ip_p: v.ip_p,
    ip_sum: v.ip_sum,
    ip_src: v.ip_src,
    ip_dst: v.ip_dst,
    options: b.slice(off + IP_HDR_LEN, off + hlen),
  };
}

/**
 * Write a header at b[off] with every field as given (ip_hl and ip_sum included, so a
 * round trip is exact); options are written after the 20 fixed bytes.  Returns
 * 20 + options.length.  Use Ip.setChecksum() to fill in a correct sum.
 */
export function ip_emit(r: IpRecord, b: Uint8Array, off = 0): number {
  const v = new Ip(b, off);
  b[off] = ((r.ip_v & 15) << 4) | (r.ip_hl & 15);
  v.ip_tos = r.ip_tos;
  v.ip_len = r.ip_len;
  v.ip_id = r.ip_id;
  v.ip_off = r.ip_off;
  v.ip_ttl = r.ip_ttl;
  v.ip_p = r.ip_p;
  v.ip_sum = r.ip_sum;
  v.ip_src = r.ip_src;
  v.ip_dst = r.ip_dst;
  b.set(r.options, off + IP_HDR_LEN);
  return IP_HDR_LEN + r.options.length;
}
