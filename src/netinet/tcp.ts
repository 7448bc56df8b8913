/*
 * netinet/tcp.ts — the TCP header (netinet/tcp.h struct tcphdr) as a view over bytes,
 * flag and option constants, tcp_input's header checks and an option parser.
 *
 * RFC 9293 §3.1 "Header Format" (with the AE bit of RFC 9768/AccECN in the reserved
 * bits, FreeBSD's TH_AE, read through tcp_get_flags as a 12-bit value):
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  0 |          Source Port          |       Destination Port        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  4 |                        Sequence Number                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  8 |                    Acknowledgment Number                      |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * 12 |  Data |     |A|C|E|U|A|P|R|S|F|                               |
 *    | Offset| Rsrv|E|W|C|R|C|S|S|Y|I|            Window             |
 *    |       |     | |R|E|G|K|H|T|N|N|                               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * 16 |           Checksum            |         Urgent Pointer        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * 20 |                           [Options]                           |
 *
 * Options: RFC 9293 §3.2 (EOL, NOP, MSS), RFC 7323 §2.2/§3.2 (window scale,
 * timestamps), RFC 2018 (SACK), RFC 7413 (fast open), RFC 2385 (signature).
 * tcp_dooptions fills a caller-owned Tcpopt record, as FreeBSD's does; malformed
 * options end the parse (FreeBSD's behaviour), they are never an error.
 *
 * tcp_check follows tcp_input's order and returns the tcpstat counter of a drop.
 * Nothing here throws on packet contents.
 */

import { WireView } from '../sys/wireview.js';
import { in_cksum_l4 } from './in_cksum.js';
import { IPPROTO_TCP } from './in.js';
import type { in_port_t } from './in.js';

/** A TCP sequence number (modulo 2^32 arithmetic lives in tcp_seq.ts). */
export type tcp_seq = number & { readonly __brand: 'tcp_seq' };

export const TCP_HDR_LEN = 20;
export const TH_OFF_SPORT = 0;
export const TH_OFF_DPORT = 2;
export const TH_OFF_SEQ = 4;
export const TH_OFF_ACK = 8;
export const TH_OFF_OFFX2 = 12;
export const TH_OFF_FLAGS = 13;
export const TH_OFF_WIN = 14;
export const TH_OFF_SUM = 16;
export const TH_OFF_URP = 18;

export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PUSH = 0x08;
export const TH_ACK = 0x10;
export const TH_URG = 0x20;
export const TH_ECE = 0x40;
export const TH_CWR = 0x80;
export const TH_AE = 0x100;
export const TH_RES3 = 0x200;
export const TH_RES2 = 0x400;
export const TH_RES1 = 0x800;
export const TH_FLAGS = TH_FIN | TH_SYN | TH_RST | TH_PUSH | TH_ACK | TH_URG | TH_ECE | TH_CWR;
export const PRINT_TH_FLAGS = '\x20\x01FIN\x02SYN\x03RST\x04PUSH\x05ACK\x06URG\x07ECE\x08CWR\x09AE';

export const TCPOPT_EOL = 0;
export const TCPOLEN_EOL = 1;
export const TCPOPT_PAD = 0;
export const TCPOLEN_PAD = 1;
export const TCPOPT_NOP = 1;
export const TCPOLEN_NOP = 1;
export const TCPOPT_MAXSEG = 2;
export const TCPOLEN_MAXSEG = 4;
export const TCPOPT_WINDOW = 3;
export const TCPOLEN_WINDOW = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOLEN_SACK_PERMITTED = 2;
export const TCPOPT_SACK = 5;
export const TCPOLEN_SACKHDR = 2;
export const TCPOLEN_SACK = 8;
export const TCPOPT_TIMESTAMP = 8;
export const TCPOLEN_TIMESTAMP = 10;
export const TCPOLEN_TSTAMP_APPA = TCPOLEN_TIMESTAMP + 2;
export const TCPOPT_SIGNATURE = 19;
export const TCPOLEN_SIGNATURE = 18;
export const TCPOPT_FAST_OPEN = 34;
export const TCPOLEN_FAST_OPEN_EMPTY = 2;
export const TCP_FASTOPEN_MIN_COOKIE_LEN = 4;
export const TCP_FASTOPEN_MAX_COOKIE_LEN = 16;
/** NOP NOP TIMESTAMP 10: the appendix A layout, as one 32-bit word. */
export const TCPOPT_TSTAMP_HDR =
  ((TCPOPT_NOP << 24) | (TCPOPT_NOP << 16) | (TCPOPT_TIMESTAMP << 8) | TCPOLEN_TIMESTAMP) >>> 0;

export const TCP_MAXOLEN = 40;
export const TCP_MAXHLEN = 0xf << 2;
export const TCP_MSS = 536;
export const TCP6_MSS = 1220;
export const TCP_MAXWIN = 65535;
export const TCP_MAX_WINSHIFT = 14;
export const TCP_MAX_SACK = 4;

/** struct tcphdr as a view. */
export class Tcphdr extends WireView {
  constructor(b: Uint8Array = new Uint8Array(TCP_HDR_LEN), o = 0) {
    super(b, o);
  }

  get th_sport(): in_port_t {
    return this.g16(TH_OFF_SPORT) as in_port_t;
  }
  set th_sport(v: number) {
    this.s16(TH_OFF_SPORT, v);
  }
  get th_dport(): in_port_t {
    return this.g16(TH_OFF_DPORT) as in_port_t;
  }
  set th_dport(v: number) {
    this.s16(TH_OFF_DPORT, v);
  }
  get th_seq(): tcp_seq {
    return this.g32(TH_OFF_SEQ) as tcp_seq;
  }
  set th_seq(v: number) {
    this.s32(TH_OFF_SEQ, v);
  }
  get th_ack(): tcp_seq {
    return this.g32(TH_OFF_ACK) as tcp_seq;
  }
  set th_ack(v: number) {
    this.s32(TH_OFF_ACK, v);
  }
  /** Data offset in 32-bit words. */
  get th_off(): number {
    return this.b[this.o + TH_OFF_OFFX2]! >>> 4;
  }
  set th_off(v: number) {
    const i = this.o + TH_OFF_OFFX2;
    this.b[i] = ((v & 15) << 4) | (this.b[i]! & 15);
  }
  /** The reserved nibble (its low bit is AE). */
  get th_x2(): number {
    return this.b[this.o + TH_OFF_OFFX2]! & 15;
  }
  set th_x2(v: number) {
    const i = this.o + TH_OFF_OFFX2;
    this.b[i] = (this.b[i]! & 0xf0) | (v & 15);
  }
  /** The low 8 flag bits (FIN..CWR). */
  get th_flags(): number {
    return this.b[this.o + TH_OFF_FLAGS]!;
  }
  set th_flags(v: number) {
    this.b[this.o + TH_OFF_FLAGS] = v;
  }
  get th_win(): number {
    return this.g16(TH_OFF_WIN);
  }
  set th_win(v: number) {
    this.s16(TH_OFF_WIN, v);
  }
  get th_sum(): number {
    return this.g16(TH_OFF_SUM);
  }
  set th_sum(v: number) {
    this.s16(TH_OFF_SUM, v);
  }
  get th_urp(): number {
    return this.g16(TH_OFF_URP);
  }
  set th_urp(v: number) {
    this.s16(TH_OFF_URP, v);
  }
  /** Header length in bytes (th_off << 2). */
  get hlen(): number {
    return (this.b[this.o + TH_OFF_OFFX2]! >>> 4) << 2;
  }
  /** The options area (a subarray). */
  options(): Uint8Array {
    return this.b.subarray(this.o + TCP_HDR_LEN, this.o + this.hlen);
  }
  /** Compute and store the checksum of a segment of `len` bytes. */
  setChecksum(len: number, src: number, dst: number): void {
    this.th_sum = 0;
    this.th_sum = in_cksum_l4(this.b, this.o, len, src, dst, IPPROTO_TCP);
  }
}

/** tcp_get_flags: the 12 flag bits (x2 << 8 | flags), so TH_AE is visible. */
export function tcp_get_flags(th: Tcphdr): number {
  return (th.th_x2 << 8) | th.th_flags;
}

/** tcp_set_flags: write the 12 flag bits. */
export function tcp_set_flags(th: Tcphdr, flags: number): void {
  th.th_x2 = (flags >>> 8) & 15;
  th.th_flags = flags & 0xff;
}

/** tcpstat counters tcp_input's header checks bump (FreeBSD names). */
export type TcpDrop = 'tcps_rcvshort' | 'tcps_rcvbadsum' | 'tcps_rcvbadoff';

/**
 * tcp_input's checks on a segment of `len` bytes at b[off]: shorter than a header
 * (tcps_rcvshort), checksum with the pseudo header (tcps_rcvbadsum; skipped when
 * `checkSum` is false), data offset < 20 or > len (tcps_rcvbadoff).  null when good.
 */
export function tcp_check(
  b: Uint8Array,
  off: number,
  len: number,
  src: number,
  dst: number,
  checkSum = true,
): TcpDrop | null {
  if (len < TCP_HDR_LEN) return 'tcps_rcvshort';
  if (checkSum && in_cksum_l4(b, off, len, src, dst, IPPROTO_TCP) !== 0) return 'tcps_rcvbadsum';
  const hlen = (b[off + TH_OFF_OFFX2]! >>> 4) << 2;
  if (hlen < TCP_HDR_LEN || hlen > len) return 'tcps_rcvbadoff';
  return null;
}

/* struct tcpopt flags (netinet/tcp_var.h). */
export const TOF_MSS = 0x0001;
export const TOF_SCALE = 0x0002;
export const TOF_SACKPERM = 0x0004;
export const TOF_TS = 0x0010;
export const TOF_SIGNATURE = 0x0040;
export const TOF_SACK = 0x0080;
export const TOF_FASTOPEN = 0x0100;

/** struct tcpopt: the parsed options of one segment (caller-owned, reused). */
export class Tcpopt {
  to_flags = 0;
  to_tsval = 0;
  to_tsecr = 0;
  /** Offset in the segment's buffer of the first SACK block. */
  to_sacks = 0;
  /** Offset of the signature, or of the fast open cookie. */
  to_signature = 0;
  to_tfo_cookie = 0;
  to_mss = 0;
  to_wscale = 0;
  to_nsacks = 0;
  to_tfo_len = 0;
}

/** TO_SYN: options only meaningful on a SYN are parsed. */
export const TO_SYN = 0x01;

/**
 * tcp_dooptions: parse `cnt` option bytes at b[cp] into `to` (cleared first).  With
 * TO_SYN, MSS/window scale/SACK permitted/fast open are accepted, as FreeBSD does.
 * A bad length ends the parse.  Reads nothing outside [cp, cp+cnt).
 */
export function tcp_dooptions(
  to: Tcpopt,
  b: Uint8Array,
  cp: number,
  cnt: number,
  flags: number,
): void {
  to.to_flags = 0;
  to.to_nsacks = 0;
  const end = cp + cnt;
  while (cp < end) {
    const opt = b[cp]!;
    if (opt === TCPOPT_EOL) break;
    let optlen: number;
    if (opt === TCPOPT_NOP) optlen = 1;
    else {
      if (cp + 1 >= end) break;
      optlen = b[cp + 1]!;
      if (optlen < 2 || optlen > end - cp) break;
    }
    const syn = (flags & TO_SYN) !== 0;
    switch (opt) {
      case TCPOPT_MAXSEG:
        if (optlen !== TCPOLEN_MAXSEG || !syn) break;
        to.to_flags |= TOF_MSS;
        to.to_mss = (b[cp + 2]! << 8) | b[cp + 3]!;
        break;
      case TCPOPT_WINDOW:
        if (optlen !== TCPOLEN_WINDOW || !syn) break;
        to.to_flags |= TOF_SCALE;
        to.to_wscale = Math.min(b[cp + 2]!, TCP_MAX_WINSHIFT);
        break;
      case TCPOPT_TIMESTAMP:
        if (optlen !== TCPOLEN_TIMESTAMP) break;
        to.to_flags |= TOF_TS;
        to.to_tsval =
          ((b[cp + 2]! << 24) | (b[cp + 3]! << 16) | (b[cp + 4]! << 8) | b[cp + 5]!) >>> 0;
        to.to_tsecr =
          ((b[cp + 6]! << 24) | (b[cp + 7]! << 16) | (b[cp + 8]! << 8) | b[cp + 9]!) >>> 0;
        break;
      case TCPOPT_SIGNATURE:
        if (optlen !== TCPOLEN_SIGNATURE) break;
        to.to_flags |= TOF_SIGNATURE;
        to.to_signature = cp + 2;
        break;
      case TCPOPT_SACK_PERMITTED:
        if (optlen !== TCPOLEN_SACK_PERMITTED || !syn) break;
        to.to_flags |= TOF_SACKPERM;
        break;
      case TCPOPT_SACK:
        if (optlen <= 2 || (optlen - 2) % TCPOLEN_SACK !== 0) break;
        if (syn) break;
        to.to_flags |= TOF_SACK;
        to.to_nsacks = (optlen - 2) / TCPOLEN_SACK;
        to.to_sacks = cp + 2;
        break;
      case TCPOPT_FAST_OPEN:
        if (!syn) break;
        if (
          optlen !== TCPOLEN_FAST_OPEN_EMPTY &&
          (optlen < TCPOLEN_FAST_OPEN_EMPTY + TCP_FASTOPEN_MIN_COOKIE_LEN ||
            optlen > TCPOLEN_FAST_OPEN_EMPTY + TCP_FASTOPEN_MAX_COOKIE_LEN)
        )
          break;
        to.to_flags |= TOF_FASTOPEN;
        to.to_tfo_len = optlen - 2;
        to.to_tfo_cookie = to.to_tfo_len > 0 ? cp + 2 : 0;
        break;
    }
    cp += optlen;
  }
}

export interface TcpRecord {
  th_sport: in_port_t;
  th_dport: in_port_t;
  th_seq: tcp_seq;
  th_ack: tcp_seq;
  th_off: number;
  /** 12 flag bits (tcp_get_flags). */
  th_flags: number;
  th_win: number;
  th_sum: number;
  th_urp: number;
  options: Uint8Array;
}

/** Parse the header at b[off] of a segment of len bytes; null when short or bad offset. */
export function tcp_parse(b: Uint8Array, off = 0, len = b.length - off): TcpRecord | null {
  if (off < 0 || off + len > b.length || len < TCP_HDR_LEN) return null;
  const v = new Tcphdr(b, off);
  const hlen = v.hlen;
  if (hlen < TCP_HDR_LEN || hlen > len) return null;
  return {
    th_sport: v.th_sport,
    th_dport: v.th_dport,
    th_seq: v.th_seq,
    th_ack: v.th_ack,
    th_off: v.th_off,
    th_flags: tcp_get_flags(v),
    th_win: v.th_win,
    th_sum: v.th_sum,
    th_urp: v.th_urp,
    options: b.slice(off + TCP_HDR_LEN, off + hlen),
  };
}

/** Write the header (and options) at b[off]; returns 20 + options.length. */
export function tcp_emit(r: TcpRecord, b: Uint8Array, off = 0): number {
  const v = new Tcphdr(b, off);
  v.th_sport = r.th_sport;
  v.th_dport = r.th_dport;
  v.th_seq = r.th_seq;
  v.th_ack = r.th_ack;
  v.th_off = r.th_off;
  tcp_set_flags(v, r.th_flags);
  v.th_win = r.th_win;
  v.th_sum = r.th_sum;
  v.th_urp = r.th_urp;
  b.set(r.options, off + TCP_HDR_LEN);
  return TCP_HDR_LEN + r.options.length;
}
