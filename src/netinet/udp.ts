/*
 * netinet/udp.ts — the UDP header (netinet/udp.h struct udphdr) as a view over bytes
 * and udp_input's header checks.
 *
 * RFC 768 "Format":
 *
 *      0      7 8     15 16    23 24    31
 *     +--------+--------+--------+--------+
 *   0 |     Source      |   Destination   |
 *     |      Port       |      Port       |
 *     +--------+--------+--------+--------+
 *   4 |                 |                 |
 *     |     Length      |    Checksum     |
 *     +--------+--------+--------+--------+
 *
 * The checksum covers the pseudo header (source, destination, zero, protocol, UDP
 * length), the header and the data (RFC 768 "Fields"); a transmitted sum of zero means
 * "no checksum", so a computed zero is sent as 0xffff.  udp_check follows FreeBSD's
 * udp_input order and returns the udpstat counter of a drop.  Nothing here throws on
 * packet contents.
 */

import { WireView } from '../sys/wireview.js';
import { in_cksum_l4 } from './in_cksum.js';
import { IPPROTO_UDP, in_port } from './in.js';
import type { in_port_t } from './in.js';

export const UDP_HDR_LEN = 8;
export const UH_OFF_SPORT = 0;
export const UH_OFF_DPORT = 2;
export const UH_OFF_ULEN = 4;
export const UH_OFF_SUM = 6;

/** struct udphdr as a view. */
export class Udphdr extends WireView {
  constructor(b: Uint8Array = new Uint8Array(UDP_HDR_LEN), o = 0) {
    super(b, o);
  }

  get uh_sport(): in_port_t {
    return this.g16(UH_OFF_SPORT) as in_port_t;
  }
  set uh_sport(v: number) {
    this.s16(UH_OFF_SPORT, v);
  }
  get uh_dport(): in_port_t {
    return this.g16(UH_OFF_DPORT) as in_port_t;
  }
  set uh_dport(v: number) {
    this.s16(UH_OFF_DPORT, v);
  }
  get uh_ulen(): number {
    return this.g16(UH_OFF_ULEN);
  }
  set uh_ulen(v: number) {
    this.s16(UH_OFF_ULEN, v);
  }
  get uh_sum(): number {
    return this.g16(UH_OFF_SUM);
  }
  set uh_sum(v: number) {
    this.s16(UH_OFF_SUM, v);
  }
  /** The payload of a datagram of uh_ulen bytes (a subarray). */
  payload(): Uint8Array {
    return this.b.subarray(this.o + UDP_HDR_LEN, this.o + this.uh_ulen);
  }
  /** Compute and store the checksum over uh_ulen bytes (0 is sent as 0xffff). */
  setChecksum(src: number, dst: number): void {
    this.uh_sum = 0;
    this.uh_sum = udp_cksum(this.b, this.o, this.uh_ulen, src, dst);
  }
}

/** The UDP checksum of a datagram of ulen bytes at b[off], as it is sent (0 -> 0xffff). */
export function udp_cksum(
  b: Uint8Array,
  off: number,
  ulen: number,
  src: number,
  dst: number,
): number {
  const s = in_cksum_l4(b, off, ulen, src, dst, IPPROTO_UDP);
  return s === 0 ? 0xffff : s;
}

/** udpstat counters the header checks bump (FreeBSD names). */
export type UdpDrop = 'udps_hdrops' | 'udps_badlen' | 'udps_badsum';

/**
 * udp_input's checks on the `len` bytes of IP payload at b[off]: shorter than a
 * header (udps_hdrops); uh_ulen > len or < 8 (udps_badlen; a shorter uh_ulen is
 * legal, the caller trims to it); a non-zero uh_sum that does not verify over uh_ulen
 * bytes (udps_badsum; skipped when `checkSum` is false, e.g. CSUM_DATA_VALID).  A zero
 * uh_sum is "no checksum" (the caller counts udps_nosum).  null when good.
 */
export function udp_check(
  b: Uint8Array,
  off: number,
  len: number,
  src: number,
  dst: number,
  checkSum = true,
): UdpDrop | null {
  if (len < UDP_HDR_LEN) return 'udps_hdrops';
  const ulen = (b[off + 4]! << 8) | b[off + 5]!;
  if (ulen > len || ulen < UDP_HDR_LEN) return 'udps_badlen';
  const sum = (b[off + 6]! << 8) | b[off + 7]!;
  if (checkSum && sum !== 0 && in_cksum_l4(b, off, ulen, src, dst, IPPROTO_UDP) !== 0)
    return 'udps_badsum';
  return null;
}

export interface UdpRecord {
  uh_sport: in_port_t;
  uh_dport: in_port_t;
  uh_ulen: number;
  uh_sum: number;
}

export function udp_parse(b: Uint8Array, off = 0, len = b.length - off): UdpRecord | null {
  if (off < 0 || off + len > b.length || len < UDP_HDR_LEN) return null;
  const v = new Udphdr(b, off);
  return { uh_sport: v.uh_sport, uh_dport: v.uh_dport, uh_ulen: v.uh_ulen, uh_sum: v.uh_sum };
}

/** Write the header at b[off] as given; returns UDP_HDR_LEN. */
export function udp_emit(r: UdpRecord, b: Uint8Array, off = 0): number {
  const v = new Udphdr(b, off);
  v.uh_sport = r.uh_sport;
  v.uh_dport = r.uh_dport;
  v.uh_ulen = r.uh_ulen;
  v.uh_sum = r.uh_sum;
  return UDP_HDR_LEN;
}

export { in_port };
