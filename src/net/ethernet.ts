/*
 * net/ethernet.ts — the Ethernet II header (net/ethernet.h) as a view over bytes, and
 * MAC address helpers.
 *
 * Layout (IEEE 802.3 clause 3.1.1; Ethernet II / RFC 894 "Transmission of IP
 * Datagrams over Ethernet Networks"):
 *
 *     0                   6                  12        14
 *     +-------------------+-------------------+---------+------------------
 *     | ether_dhost (6)   | ether_shost (6)   | ether_  | payload
 *     |                   |                   | type BE |
 *     +-------------------+-------------------+---------+------------------
 *
 * The FCS is not carried (as in FreeBSD, drivers strip it).  A MAC address is kept as
 * a 48-bit number (`ether_addr_t`, exact in a double), the value of its six bytes
 * read big-endian, so getters never allocate and comparisons are `===`.  Bytes are
 * available through ether_addr_read/ether_addr_write; strings only at the API edge
 * (ether_sprintf, ether_aton).
 *
 * Validation never throws: ether_check returns the name of the per-interface counter
 * that FreeBSD's ether_input bumps for a runt frame (if_ierrors), or null.
 */

export const ETHER_ADDR_LEN = 6;
export const ETHER_TYPE_LEN = 2;
export const ETHER_CRC_LEN = 4;
export const ETHER_HDR_LEN = ETHER_ADDR_LEN * 2 + ETHER_TYPE_LEN;
export const ETHER_MIN_LEN = 64;
export const ETHER_MAX_LEN = 1518;
export const ETHER_MAX_LEN_JUMBO = 9018;
export const ETHERMTU = ETHER_MAX_LEN - ETHER_HDR_LEN - ETHER_CRC_LEN;
export const ETHERMIN = ETHER_MIN_LEN - ETHER_HDR_LEN - ETHER_CRC_LEN;
export const ETHERMTU_JUMBO = ETHER_MAX_LEN_JUMBO - ETHER_HDR_LEN - ETHER_CRC_LEN;
export const ETHER_VLAN_ENCAP_LEN = 4;

/* Offsets in struct ether_header. */
export const ETHER_OFF_DHOST = 0;
export const ETHER_OFF_SHOST = 6;
export const ETHER_OFF_TYPE = 12;

/* Ethernet types (net/ethernet.h). */
export const ETHERTYPE_IP = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_REVARP = 0x8035;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_PAE = 0x888e;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_LLDP = 0x88cc;
export const ETHERTYPE_LOOPBACK = 0x9000;

/**
 * Where the IPv4 header of the Ethernet frame b[o, o+len) starts, relative to o: after
 * the 14-byte header, or after one 802.1Q tag; -1 for any other payload.
 */
export function ether_ip_off(b: Uint8Array, o: number, len: number): number {
  if (len < ETHER_HDR_LEN) return -1;
  const t = (b[o + ETHER_OFF_TYPE]! << 8) | b[o + ETHER_OFF_TYPE + 1]!;
  if (t === ETHERTYPE_IP) return ETHER_HDR_LEN;
  if (t !== ETHERTYPE_VLAN || len < ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN) return -1;
  const it = (b[o + ETHER_OFF_TYPE + 4]! << 8) | b[o + ETHER_OFF_TYPE + 5]!;
  return it === ETHERTYPE_IP ? ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN : -1;
}

/** A MAC address as a 48-bit number (the big-endian value of its six bytes). */
export type ether_addr_t = number & { readonly __brand: 'ether_addr_t' };

export const ETHER_BCAST = 0xffffffffffff as ether_addr_t;
export const ETHER_ZERO = 0 as ether_addr_t;

/** ETHER_IS_MULTICAST: the group bit (broadcast included). */
export function ETHER_IS_MULTICAST(a: ether_addr_t): boolean {
  /* The first octet is below 2^8, so its low bit is an integer test (no float %). */
  return (Math.floor(a / 0x10000000000) & 1) === 1;
}

export function ETHER_IS_BROADCAST(a: ether_addr_t): boolean {
  return a === ETHER_BCAST;
}

/** Read six bytes at b[off] as an address (no bounds check: callers check the length). */
export function ether_addr_read(b: Uint8Array, off: number): ether_addr_t {
  return (((b[off]! << 8) | b[off + 1]!) * 0x100000000 +
    (((b[off + 2]! << 24) | (b[off + 3]! << 16) | (b[off + 4]! << 8) | b[off + 5]!) >>>
      0)) as ether_addr_t;
}

/** Write an address as six bytes at b[off]. */
export function ether_addr_write(b: Uint8Array, off: number, a: number): void {
  const hi = Math.floor(a / 0x100000000);
  const lo = a >>> 0;
  b[off] = (hi >>> 8) & 0xff;
  b[off + 1] = hi & 0xff;
  b[off + 2] = lo >>> 24;
  b[off + 3] = (lo >>> 16) & 0xff;
  b[off + 4] = (lo >>> 8) & 0xff;
  b[off + 5] = lo & 0xff;
}

/** An address from six bytes (e.g. an interface's lladdr). */
export function ether_addr_from(bytes: ArrayLike<number>): ether_addr_t {
  let a = 0;
  for (let i = 0; i < ETHER_ADDR_LEN; i++) a = a * 256 + ((bytes[i] ?? 0) & 0xff);
  return a as ether_addr_t;
}

/** The six bytes of an address. */
export function ether_addr_bytes(a: number): Uint8Array {
  const b = new Uint8Array(ETHER_ADDR_LEN);
  ether_addr_write(b, 0, a);
  return b;
}

const HEX = '0123456789abcdef';

/** ether_sprintf: "xx:xx:xx:xx:xx:xx", lower case (API edge: allocates a string). */
export function ether_sprintf(a: number | Uint8Array, off = 0): string {
  const v = typeof a === 'number' ? a : ether_addr_read(a, off);
  let s = '';
  for (let i = 5; i >= 0; i--) {
    const byte = Math.floor(v / 2 ** (8 * i)) & 0xff;
    s += (i === 5 ? '' : ':') + HEX[byte >>> 4]! + HEX[byte & 15]!;
  }
  return s;
}

/**
 * ether_aton(3): parse six ':'-separated hex octets of one or two digits
 * ("2:0:0:0:0:a" or "02:00:00:00:00:0a").  null when invalid.
 */
export function ether_aton(s: string): ether_addr_t | null {
  const parts = s.split(':');
  if (parts.length !== ETHER_ADDR_LEN) return null;
  let a = 0;
  for (const p of parts) {
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) return null;
    a = a * 256 + parseInt(p, 16);
  }
  return a as ether_addr_t;
}

/** struct ether_header as a view: bind it to bytes, read and write fields in place. */
export class EtherHeader {
  constructor(
    public b: Uint8Array = new Uint8Array(ETHER_HDR_LEN),
    public o = 0,
  ) {}

  /** Rebind to another frame without allocating. */
  bind(b: Uint8Array, o = 0): this {
    this.b = b;
    this.o = o;
    return this;
  }

  get ether_dhost(): ether_addr_t {
    return ether_addr_read(this.b, this.o + ETHER_OFF_DHOST);
  }
  set ether_dhost(a: number) {
    ether_addr_write(this.b, this.o + ETHER_OFF_DHOST, a);
  }
  get ether_shost(): ether_addr_t {
    return ether_addr_read(this.b, this.o + ETHER_OFF_SHOST);
  }
  set ether_shost(a: number) {
    ether_addr_write(this.b, this.o + ETHER_OFF_SHOST, a);
  }
  get ether_type(): number {
    return (this.b[this.o + ETHER_OFF_TYPE]! << 8) | this.b[this.o + ETHER_OFF_TYPE + 1]!;
  }
  set ether_type(t: number) {
    this.b[this.o + ETHER_OFF_TYPE] = (t >>> 8) & 0xff;
    this.b[this.o + ETHER_OFF_TYPE + 1] = t & 0xff;
  }
  /** The payload after the header, up to `len` bytes of frame (a subarray). */
  payload(len: number): Uint8Array {
    return this.b.subarray(this.o + ETHER_HDR_LEN, this.o + len);
  }
}

/** The counter ether_input bumps for a frame too short for a header, else null. */
export function ether_check(len: number): 'if_ierrors' | null {
  return len < ETHER_HDR_LEN ? 'if_ierrors' : null;
}

/** A decoded Ethernet header (for tests, tools and emit). */
export interface EtherRecord {
  ether_dhost: ether_addr_t;
  ether_shost: ether_addr_t;
  ether_type: number;
}

/** Parse the header of a frame of `len` bytes at b[off]; null when too short. */
export function ether_parse(b: Uint8Array, off = 0, len = b.length - off): EtherRecord | null {
  if (len < ETHER_HDR_LEN || off < 0 || off + len > b.length) return null;
  return {
    ether_dhost: ether_addr_read(b, off),
    ether_shost: ether_addr_read(b, off + 6),
    ether_type: (b[off + 12]! << 8) | b[off + 13]!,
  };
}

/** Write a header at b[off]; returns ETHER_HDR_LEN. */
export function ether_emit(r: EtherRecord, b: Uint8Array, off = 0): number {
  ether_addr_write(b, off, r.ether_dhost);
  ether_addr_write(b, off + 6, r.ether_shost);
  b[off + 12] = (r.ether_type >>> 8) & 0xff;
  b[off + 13] = r.ether_type & 0xff;
  return ETHER_HDR_LEN;
}
