/*
 * netinet/if_ether_hdr.ts — the ARP packet (net/if_arp.h struct arphdr and
 * netinet/if_ether.h struct ether_arp) as a view over bytes.
 *
 * RFC 826 "Packet format", for IPv4 over Ethernet (hln 6, pln 4):
 *
 *     0       2       4    5    6       8              14        18             24        28
 *     +-------+-------+----+----+-------+--------------+---------+--------------+---------+
 *     |ar_hrd |ar_pro |hln |pln | ar_op | arp_sha (6)  | arp_spa | arp_tha (6)  | arp_tpa |
 *     +-------+-------+----+----+-------+--------------+---------+--------------+---------+
 *
 * The generic struct arphdr is the first 8 bytes; the address fields after it have
 * lengths hln/pln (arphdr_len).  This module handles the Ethernet/IPv4 case the stack
 * uses, and arp_check reports why any other packet is unusable, in FreeBSD's order
 * (arpintr, then in_arpinput).  FreeBSD only logs these (ARP_LOG) and frees the
 * packet; the reasons are returned as stable names so the caller can count them.
 * Nothing here throws on packet contents.
 */

import { WireView } from '../sys/wireview.js';
import {
  ETHERTYPE_IP,
  ETHER_ADDR_LEN,
  ether_addr_read,
  ether_addr_write,
} from '../net/ethernet.js';
import type { ether_addr_t } from '../net/ethernet.js';
import { in_addr_read, in_addr_write } from './in.js';
import type { in_addr_t } from './in.js';

export const ARPHRD_ETHER = 1;
export const ARPHRD_IEEE802 = 6;
export const ARPHRD_ARCNET = 7;
export const ARPHRD_FRELAY = 15;
export const ARPHRD_IEEE1394 = 24;
export const ARPHRD_INFINIBAND = 32;

export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;
export const ARPOP_REVREQUEST = 3;
export const ARPOP_REVREPLY = 4;
export const ARPOP_INVREQUEST = 8;
export const ARPOP_INVREPLY = 9;

/** sizeof(struct arphdr) */
export const ARPHDR_LEN = 8;
/** sizeof(struct ether_arp) */
export const ETHER_ARP_LEN = 28;

export const AR_OFF_HRD = 0;
export const AR_OFF_PRO = 2;
export const AR_OFF_HLN = 4;
export const AR_OFF_PLN = 5;
export const AR_OFF_OP = 6;
export const ARP_OFF_SHA = 8;
export const ARP_OFF_SPA = 14;
export const ARP_OFF_THA = 18;
export const ARP_OFF_TPA = 24;

/** arphdr_len2(hln, pln): the full length of an ARP packet with these address sizes. */
export function arphdr_len2(hln: number, pln: number): number {
  return ARPHDR_LEN + 2 * hln + 2 * pln;
}

/** Why an ARP packet is unusable for IPv4 over Ethernet (FreeBSD's log messages). */
export type ArpDrop =
  | 'arp_short_header' // "packet with short header"
  | 'arp_short_packet' // "short packet" (less than arphdr_len)
  | 'arp_bad_hrd' // "packet with unknown hardware format"
  | 'arp_bad_hln' // "packet with invalid ... address length"
  | 'arp_bad_pro' // not ETHERTYPE_IP: not ours
  | 'arp_bad_pln'; // "requested protocol length != 4"

/**
 * Validate an ARP packet of `len` bytes at b[off] for IPv4 over Ethernet.  Returns the
 * drop reason or null.  Reads nothing outside [off, off+len).
 */
export function arp_check(b: Uint8Array, off: number, len: number): ArpDrop | null {
  if (len < ARPHDR_LEN) return 'arp_short_header';
  const hln = b[off + AR_OFF_HLN]!;
  const pln = b[off + AR_OFF_PLN]!;
  if (len < arphdr_len2(hln, pln)) return 'arp_short_packet';
  const hrd = (b[off]! << 8) | b[off + 1]!;
  if (hrd !== ARPHRD_ETHER && hrd !== ARPHRD_IEEE802) return 'arp_bad_hrd';
  if (hln !== ETHER_ADDR_LEN) return 'arp_bad_hln';
  if (((b[off + 2]! << 8) | b[off + 3]!) !== ETHERTYPE_IP) return 'arp_bad_pro';
  if (pln !== 4) return 'arp_bad_pln';
  return null;
}

/** struct ether_arp as a view (valid after arp_check returned null). */
export class EtherArp extends WireView {
  constructor(b: Uint8Array = new Uint8Array(ETHER_ARP_LEN), o = 0) {
    super(b, o);
  }

  get ar_hrd(): number {
    return this.g16(AR_OFF_HRD);
  }
  set ar_hrd(v: number) {
    this.s16(AR_OFF_HRD, v);
  }
  get ar_pro(): number {
    return this.g16(AR_OFF_PRO);
  }
  set ar_pro(v: number) {
    this.s16(AR_OFF_PRO, v);
  }
  get ar_hln(): number {
    return this.b[this.o + AR_OFF_HLN]!;
  }
  set ar_hln(v: number) {
    this.b[this.o + AR_OFF_HLN] = v;
  }
  get ar_pln(): number {
    return this.b[this.o + AR_OFF_PLN]!;
  }
  set ar_pln(v: number) {
    this.b[this.o + AR_OFF_PLN] = v;
  }
  get ar_op(): number {
    return this.g16(AR_OFF_OP);
  }
  set ar_op(v: number) {
    this.s16(AR_OFF_OP, v);
  }
  get arp_sha(): ether_addr_t {
    return ether_addr_read(this.b, this.o + ARP_OFF_SHA);
  }
  set arp_sha(a: number) {
    ether_addr_write(this.b, this.o + ARP_OFF_SHA, a);
  }
  get arp_spa(): in_addr_t {
    return in_addr_read(this.b, this.o + ARP_OFF_SPA);
  }
  set arp_spa(a: number) {
    in_addr_write(this.b, this.o + ARP_OFF_SPA, a);
  }
  get arp_tha(): ether_addr_t {
    return ether_addr_read(this.b, this.o + ARP_OFF_THA);
  }
  set arp_tha(a: number) {
    ether_addr_write(this.b, this.o + ARP_OFF_THA, a);
  }
  get arp_tpa(): in_addr_t {
    return in_addr_read(this.b, this.o + ARP_OFF_TPA);
  }
  set arp_tpa(a: number) {
    in_addr_write(this.b, this.o + ARP_OFF_TPA, a);
  }
}

/** A decoded Ethernet/IPv4 ARP packet. */
export interface EtherArpRecord {
  ar_op: number;
  arp_sha: ether_addr_t;
  arp_spa: in_addr_t;
  arp_tha: ether_addr_t;
  arp_tpa: in_addr_t;
}

/** Parse an Ethernet/IPv4 ARP packet; null when arp_check rejects it. */
export function arp_parse(b: Uint8Array, off = 0, len = b.length - off): EtherArpRecord | null {
  if (off < 0 || off + len > b.length || arp_check(b, off, len) !== null) return null;
  const v = new EtherArp(b, off);
  return {
    ar_op: v.ar_op,
    arp_sha: v.arp_sha,
    arp_spa: v.arp_spa,
    arp_tha: v.arp_tha,
    arp_tpa: v.arp_tpa,
  };
}

/** Write an Ethernet/IPv4 ARP packet (hrd ETHER, pro IP, hln 6, pln 4).  Returns 28. */
export function arp_emit(r: EtherArpRecord, b: Uint8Array, off = 0): number {
  const v = new EtherArp(b, off);
  v.ar_hrd = ARPHRD_ETHER;
  v.ar_pro = ETHERTYPE_IP;
  v.ar_hln = ETHER_ADDR_LEN;
  v.ar_pln = 4;
  v.ar_op = r.ar_op;
  v.arp_sha = r.arp_sha;
  v.arp_spa = r.arp_spa;
  v.arp_tha = r.arp_tha;
  v.arp_tpa = r.arp_tpa;
  return ETHER_ARP_LEN;
}
