/*
 * netinet/in_cksum.ts — the Internet checksum (RFC 1071) and its incremental update
 * (RFC 1624), as FreeBSD's in_cksum(9) family provides them.
 *
 * RFC 1071 §1: the checksum is the 16-bit one's complement of the one's complement sum
 * of the data taken as big-endian 16-bit words; an odd trailing byte is padded with a
 * zero byte on the right (§4.1, the "if (count > 0)" step).  We read byte pairs (long
 * buffers: big-endian 32-bit words through a DataView, each congruent to the sum of its
 * two 16-bit halves modulo 0xffff), so the starting offset may be odd and nothing is
 * ever read past off + len.  The sum is
 * accumulated in a JavaScript number (exact below 2^53) and folded once at the end
 * (§2(C) "deferred carries"), which is why no fold is needed inside the loop for any
 * buffer shorter than 2^37 bytes.
 *
 * Partial sums of two adjacent pieces combine with in_cksum_combine(): when the first
 * piece has odd length, the second piece's sum is byte-swapped (§2(B), byte-order
 * independence).
 *
 * in_pseudo(a, b, c) is FreeBSD's: the folded (not complemented) sum of three 32-bit
 * words, used for the TCP/UDP pseudo header (RFC 768, RFC 9293 §3.1):
 * in_pseudo(src, dst, proto + len).
 *
 * RFC 1624 §3, equation 3: HC' = ~(~HC + ~m + m').  It gives the same result as a full
 * recomputation (equation 2 of RFC 1141 does not: it can produce 0xffff for 0x0000).
 * ip_decttl() uses it for the forwarding path (FreeBSD ip_forward/ip_tryforward).
 *
 * Addresses are host-order numbers whose big-endian byte image is the wire image, so
 * summing their 16-bit halves is exactly summing the wire words.
 *
 * Deliberate difference from FreeBSD: no mbuf-chain walking (our mbufs are contiguous,
 * see sys/mbuf.ts); in_cksum_mbuf sums a byte range of one buffer.
 */

import { CSUM_UDP, m_dataview, type Mbuf } from '../sys/mbuf.js';

/** Fold a non-negative sum (< 2^53) to 16 bits with end-around carry (RFC 1071 §4.1). */
export function in_cksum_fold(sum: number): number {
  // Bring a possibly > 2^32 value below 2^32 first without bitwise truncation
  // (2^32 = 1 mod 0xffff, so the high part folds in by addition).
  while (sum > 0xffffffff) sum = (sum % 0x100000000) + Math.floor(sum / 0x100000000);
  sum = (sum >>> 16) + (sum & 0xffff);
  sum = (sum >>> 16) + (sum & 0xffff);
  sum = (sum >>> 16) + (sum & 0xffff);
  return sum;
}

/**
 * The unfolded one's complement sum of b[off, off+len) as big-endian 16-bit words,
 * plus `initial`.  Never reads outside [off, off+len).  The result is a non-negative
 * number; fold it with in_cksum_fold.  `dv`, when given, is a DataView over exactly b's
 * bytes (an mbuf's m_dataview), which spares making one.
 */
export function in_cksum_sum(
  b: Uint8Array,
  off: number,
  len: number,
  initial = 0,
  dv?: DataView,
): number {
  let sum = initial;
  let i = off;
  const end = off + len;
  if (len >= 64) {
    /* Big-endian 32-bit words: hi * 2^16 + lo = hi + lo (mod 0xffff), so their plain
     * sum folds to the same one's complement sum (exact below 2^53: 8 MiB at a time). */
    const v = dv ?? new DataView(b.buffer, b.byteOffset, b.byteLength);
    const end16 = end - 15;
    while (i < end16) {
      sum += v.getUint32(i) + v.getUint32(i + 4) + v.getUint32(i + 8) + v.getUint32(i + 12);
      i += 16;
    }
  }
  const end8 = end - 7;
  // Unrolled by four words; b[i] with i in range is always a number.
  while (i < end8) {
    sum +=
      ((b[i]! << 8) | b[i + 1]!) +
      ((b[i + 2]! << 8) | b[i + 3]!) +
      ((b[i + 4]! << 8) | b[i + 5]!) +
      ((b[i + 6]! << 8) | b[i + 7]!);
    i += 8;
  }
  const end2 = end - 1;
  while (i < end2) {
    sum += (b[i]! << 8) | b[i + 1]!;
    i += 2;
  }
  if (i < end) sum += b[i]! << 8; // odd trailing byte, padded on the right
  return sum;
}

/** in_cksum: the Internet checksum of b[off, off+len) (already complemented). */
export function in_cksum(
  b: Uint8Array,
  off: number,
  len: number,
  initial = 0,
  dv?: DataView,
): number {
  return ~in_cksum_fold(in_cksum_sum(b, off, len, initial, dv)) & 0xffff;
}

/**
 * in_cksum_hdr: the checksum of an IPv4 header of hlen bytes at off (sum field
 * included).  The common 20-byte header is summed as ten words in one expression, as
 * FreeBSD's in_cksum_hdr is its own short routine: every datagram sent and received
 * pays it.
 */
export function in_cksum_hdr(b: Uint8Array, off: number, hlen = 20): number {
  if (hlen !== 20) return in_cksum(b, off, hlen);
  const sum =
    ((b[off]! << 8) | b[off + 1]!) +
    ((b[off + 2]! << 8) | b[off + 3]!) +
    ((b[off + 4]! << 8) | b[off + 5]!) +
    ((b[off + 6]! << 8) | b[off + 7]!) +
    ((b[off + 8]! << 8) | b[off + 9]!) +
    ((b[off + 10]! << 8) | b[off + 11]!) +
    ((b[off + 12]! << 8) | b[off + 13]!) +
    ((b[off + 14]! << 8) | b[off + 15]!) +
    ((b[off + 16]! << 8) | b[off + 17]!) +
    ((b[off + 18]! << 8) | b[off + 19]!);
  /* At most 10 * 0xffff: two folds bring it to 16 bits. */
  let f = (sum >>> 16) + (sum & 0xffff);
  f = (f >>> 16) + (f & 0xffff);
  return ~f & 0xffff;
}

/** Swap the bytes of a 16-bit sum (RFC 1071 §2(B)). */
export function in_cksum_swap(sum16: number): number {
  return ((sum16 & 0xff) << 8) | ((sum16 >>> 8) & 0xff);
}

/**
 * Combine the folded sum `a` of a first piece of length lenA with the folded sum `b`
 * of the piece that follows it (RFC 1071 §2(B)): b is byte-swapped when lenA is odd.
 */
export function in_cksum_combine(a: number, b: number, lenA: number): number {
  return in_cksum_fold(a + ((lenA & 1) !== 0 ? in_cksum_swap(b) : b));
}

/** in_addword: one's complement addition of two 16-bit values. */
export function in_addword(a: number, b: number): number {
  return in_cksum_fold((a & 0xffff) + (b & 0xffff));
}

/**
 * in_pseudo(a, b, c): the folded one's complement sum of three 32-bit words, not
 * complemented.  For TCP/UDP: in_pseudo(ip_src, ip_dst, proto + ulen).
 */
export function in_pseudo(a: number, b: number, c: number): number {
  return in_cksum_fold(
    (a >>> 16) + (a & 0xffff) + (b >>> 16) + (b & 0xffff) + (c >>> 16) + (c & 0xffff),
  );
}

/**
 * The transport checksum of b[off, off+len) with the IPv4 pseudo header (src, dst,
 * proto, len), complemented.  UDP senders map a result of 0 to 0xffff (RFC 768).
 */
export function in_cksum_l4(
  b: Uint8Array,
  off: number,
  len: number,
  src: number,
  dst: number,
  proto: number,
  dv?: DataView,
): number {
  return in_cksum(b, off, len, in_pseudo(src, dst, proto + len), dv);
}

/**
 * Finish a delayed transport checksum in a byte image (in_delayed_cksum's work): the
 * IPv4 datagram at b[o], of which `avail` bytes are present; the transport header's
 * checksum field, `field` bytes into it, holds the pseudo-header sum, so the sum of the
 * transport bytes complemented is the checksum (a UDP zero is sent as 0xffff, RFC 768).
 * A datagram too short to hold the field is left alone.
 */
export function in_delayed_cksum_buf(
  b: Uint8Array,
  o: number,
  avail: number,
  field: number,
  udp: boolean,
  dv?: DataView,
): void {
  if (avail < 20) return;
  const hlen = (b[o]! & 15) << 2;
  const len = Math.min((b[o + 2]! << 8) | b[o + 3]!, avail) - hlen;
  if (len < field + 2) return;
  let s = in_cksum(b, o + hlen, len, 0, dv);
  if (s === 0 && udp) s = 0xffff;
  const at = o + hlen + field;
  b[at] = s >>> 8;
  b[at + 1] = s & 0xff;
}

/**
 * in_delayed_cksum(m, off): finish the transport checksum of a datagram whose protocol
 * delayed it (CSUM_DELAY_DATA), the IPv4 header `off` bytes into m (0 from ip_output;
 * the link header's length where a frame is finished, as if_bridge and vxlan do).  m is
 * borrowed; the caller clears the CSUM_DELAY_DATA flags.
 */
export function in_delayed_cksum(m: Mbuf, off = 0): void {
  in_delayed_cksum_buf(
    m.m_buf,
    m.m_data + off,
    m.m_len - off,
    m.csum_data,
    (m.csum_flags & CSUM_UDP) !== 0,
    m_dataview(m),
  );
}

/** The checksum of `len` bytes of an mbuf's data from `off` (in_cksum_skip-like). */
export function in_cksum_mbuf(m: Mbuf, off: number, len: number, initial = 0): number {
  if (off < 0 || len < 0 || off + len > m.m_len)
    throw new RangeError(`in_cksum_mbuf: range ${off}+${len} outside ${m.m_len} bytes`);
  return in_cksum(m.m_buf, m.m_data + off, len, initial);
}

/**
 * RFC 1624 §3 eqn. 3: the new checksum after one 16-bit word of the covered data
 * changed from `oldw` to `neww`.  `sum` is the checksum field as stored.
 */
export function in_cksum_update16(sum: number, oldw: number, neww: number): number {
  return ~in_cksum_fold((~sum & 0xffff) + (~oldw & 0xffff) + (neww & 0xffff)) & 0xffff;
}

/** RFC 1624 for a 32-bit field (an address rewrite): two word updates in one fold. */
export function in_cksum_update32(sum: number, oldv: number, newv: number): number {
  return (
    ~in_cksum_fold(
      (~sum & 0xffff) +
        (~(oldv >>> 16) & 0xffff) +
        (~oldv & 0xffff) +
        (newv >>> 16) +
        (newv & 0xffff),
    ) & 0xffff
  );
}

/**
 * Decrement the TTL of the IPv4 header at b[off] by `dec` (IPTTLDEC) and update its
 * checksum incrementally (RFC 1624; TTL is the high byte of the word at offset 8).
 * The caller has checked ttl > dec (else ICMP time exceeded).  Returns the new TTL.
 */
export function ip_decttl(b: Uint8Array, off: number, dec = 1): number {
  const ttl = b[off + 8]!;
  const p = b[off + 9]!;
  const nttl = (ttl - dec) & 0xff;
  const sum = (b[off + 10]! << 8) | b[off + 11]!;
  const nsum = in_cksum_update16(sum, (ttl << 8) | p, (nttl << 8) | p);
  b[off + 8] = nttl;
  b[off + 10] = nsum >>> 8;
  b[off + 11] = nsum & 0xff;
  return nttl;
}
