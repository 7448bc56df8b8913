/*
 * sys/mbuf.ts — the packet type (mbuf(9)) over pooled byte buffers, and mbufq.
 *
 * FreeBSD's mbuf is a small header plus either internal storage or an external
 * cluster, linked into chains (m_next) to hold a packet and into queues (m_nextpkt).
 * Here a packet is ONE Mbuf over ONE contiguous Uint8Array taken from a size-class
 * pool (the analogue of the mbuf, cluster and jumbo-cluster UMA zones):
 *
 *     m_buf:  [ leading space | data (m_len bytes) | trailing space ]
 *                              ^ m_data
 *
 * Headers are prepended by moving m_data back into the leading space (M_PREPEND);
 * a freshly allocated packet gets `headroom` bytes (default 128: Ethernet 14 + VLAN 4
 * + IPv4 with options 60 + outer VXLAN/UDP/IP/Ethernet 50) so the usual output path
 * never copies.  When the leading space is exhausted the data moves to a larger
 * buffer inside the same Mbuf object, so the caller's reference stays valid.
 *
 * Consequences of contiguity, documented where FreeBSD differs:
 * - m_pullup(m, len) never gathers anything: it only checks that the packet holds
 *   `len` bytes; if not, it frees m and returns null, exactly as FreeBSD does when the
 *   chain is too short.  Code written against FreeBSD's contract stays correct.
 * - m_len === m_pkthdr.len always (`m.len` is the packet header length).
 * - There is no m_next; m_cat and m_split copy bytes.
 *
 * Ownership is written beside every function: "consumes m" means the caller must not
 * touch m afterwards unless it is returned; "m is borrowed" means the caller still
 * owns it.  A freed Mbuf is poisoned (m_buf empty, M_FREED set) so a use after free
 * fails loudly instead of reading another packet's bytes; a double free throws.
 *
 * Pool: buffers come in size classes MSIZE-like 256, MCLBYTES 2048, MJUM16BYTES 16384
 * and 65536 + 256 (a maximal IPv4 datagram plus link headers); larger requests are
 * allocated exactly and never pooled.  Each class keeps at most MBUF_POOL_FREEBYTES
 * (8 MiB) of free buffers, or `maxFree` buffers when given (bounded pool).  The bound
 * is in bytes because what comes back is what was in flight: a bulk TCP stream over an
 * MTU 1500 epair has a 2 MiB receive buffer of 2 KiB clusters outstanding, and a bound
 * of 512 clusters made every second segment a fresh allocation for the garbage
 * collector.  The pool also keeps a DataView per buffer (m_dataview) for the checksum's
 * word reads, so no packet makes one.  A kernel owns one MbufPool; nothing here is
 * module state.
 *
 * Checksum flags and m_flags have FreeBSD's values (sys/sys/mbuf.h, FreeBSD 14), so a
 * reader can hold them beside FreeBSD's stack.  Nothing here throws on packet
 * contents; exceptions are for API misuse (offsets outside the packet, double free).
 */

import { ENOBUFS } from './errno.js';
import { TS_MBUF, typestable } from './typestable.js';

/* m_flags (sys/mbuf.h). */
export const M_EXT = 0x00000001;
export const M_PKTHDR = 0x00000002;
export const M_EOR = 0x00000004;
export const M_RDONLY = 0x00000008;
export const M_BCAST = 0x00000010;
export const M_MCAST = 0x00000020;
export const M_PROMISC = 0x00000040;
export const M_VLANTAG = 0x00000080;
export const M_NOFREE = 0x00000200;
export const M_TSTMP = 0x00000400;
export const M_TSTMP_HPREC = 0x00000800;
export const M_TSTMP_LRO = 0x00001000;
export const M_PROTO1 = 0x00002000;
export const M_PROTO2 = 0x00004000;
export const M_PROTO3 = 0x00008000;
export const M_PROTO4 = 0x00010000;
export const M_PROTO5 = 0x00020000;
export const M_PROTO6 = 0x00040000;
export const M_PROTO7 = 0x00080000;
export const M_PROTO8 = 0x00100000;
export const M_PROTO9 = 0x00200000;
export const M_PROTO10 = 0x00400000;
export const M_PROTO11 = 0x00800000;
export const M_PROTO12 = 0x01000000;
/** Protocol-private flags, cleared when a packet changes layer (m_demote). */
export const M_PROTOFLAGS =
  M_PROTO1 |
  M_PROTO2 |
  M_PROTO3 |
  M_PROTO4 |
  M_PROTO5 |
  M_PROTO6 |
  M_PROTO7 |
  M_PROTO8 |
  M_PROTO9 |
  M_PROTO10 |
  M_PROTO11 |
  M_PROTO12;
/** Flags copied with the packet header (M_COPYFLAGS). */
export const M_COPYFLAGS =
  M_PKTHDR |
  M_EOR |
  M_RDONLY |
  M_BCAST |
  M_MCAST |
  M_PROMISC |
  M_VLANTAG |
  M_TSTMP |
  M_TSTMP_HPREC |
  M_TSTMP_LRO |
  M_PROTOFLAGS;
/** Ours, not FreeBSD's: set on a freed mbuf (outside FreeBSD's flag space). */
export const M_FREED = 0x40000000;

/* csum_flags (sys/mbuf.h): outbound offload requests. */
export const CSUM_IP = 0x00000001;
export const CSUM_IP_UDP = 0x00000002;
export const CSUM_IP_TCP = 0x00000004;
export const CSUM_IP_SCTP = 0x00000008;
export const CSUM_IP_TSO = 0x00000010;
export const CSUM_IP_ISCSI = 0x00000020;
export const CSUM_IP6_UDP = 0x00000200;
export const CSUM_IP6_TCP = 0x00000400;
export const CSUM_IP6_SCTP = 0x00000800;
export const CSUM_IP6_TSO = 0x00001000;
export const CSUM_ENCAP_VXLAN = 0x00040000;
/* csum_flags: inbound results. */
export const CSUM_L3_CALC = 0x01000000;
export const CSUM_L3_VALID = 0x02000000;
export const CSUM_L4_CALC = 0x04000000;
export const CSUM_L4_VALID = 0x08000000;
export const CSUM_L5_CALC = 0x10000000;
export const CSUM_L5_VALID = 0x20000000;
export const CSUM_COALESCED = 0x40000000;
export const CSUM_SND_TAG = 0x80000000;
/* Compatibility names, as FreeBSD maps them. */
export const CSUM_IP_CHECKED = CSUM_L3_CALC;
export const CSUM_IP_VALID = CSUM_L3_VALID;
export const CSUM_DATA_VALID = CSUM_L4_VALID;
export const CSUM_PSEUDO_HDR = CSUM_L4_CALC;
export const CSUM_SCTP_VALID = CSUM_L4_VALID;
export const CSUM_TCP = CSUM_IP_TCP;
export const CSUM_UDP = CSUM_IP_UDP;
export const CSUM_SCTP = CSUM_IP_SCTP;
export const CSUM_TSO = CSUM_IP_TSO | CSUM_IP6_TSO;
export const CSUM_UDP_IPV6 = CSUM_IP6_UDP;
export const CSUM_TCP_IPV6 = CSUM_IP6_TCP;
export const CSUM_DELAY_DATA = CSUM_TCP | CSUM_UDP;
export const CSUM_DELAY_IP = CSUM_IP;
export const CSUM_DELAY_DATA_IPV6 = CSUM_TCP_IPV6 | CSUM_UDP_IPV6;
export const CSUM_DATA_VALID_IPV6 = CSUM_DATA_VALID;

/* M_HASHTYPE values for m.rsstype (only the ones without RSS). */
export const M_HASHTYPE_NONE = 0;
export const M_HASHTYPE_OPAQUE = 0x3f;
export const M_HASHTYPE_OPAQUE_HASH = 0x3e;

/** Default leading space of a new packet (max_linkhdr + max_protohdr, generously). */
export const MBUF_HEADROOM = 128;
/** Buffer size classes: MSIZE-like, MCLBYTES, MJUM16BYTES, 64 KiB + headers. */
export const MBUF_SIZE_CLASSES: readonly number[] = [256, 2048, 16384, 65536 + 256];
/** Free bytes each size class keeps for reuse (the default bound of the pool). */
export const MBUF_POOL_FREEBYTES = 8 * 1024 * 1024;
/** Largest buffer this pool hands out (a request above it fails with null/ENOBUFS). */
export const MBUF_MAXBUF = 1 << 20;

/**
 * What the packet header knows of the receiving interface.  net/if_var.ts's ifnet
 * satisfies it; mbufs do not depend on ifnet.
 */
export interface MbufIfnet {
  readonly if_index: number;
  readonly if_xname: string;
}

const EMPTY = new Uint8Array(0);

/** One packet: a pooled contiguous buffer with leading space, and its packet header. */
export class Mbuf {
  /** The whole storage (m_ext.ext_buf). */
  m_buf: Uint8Array;
  /** Offset of the first data byte in m_buf (m_data). */
  m_data: number;
  /** Data length; equals the packet header length (one contiguous buffer). */
  m_len: number;
  m_flags: number;
  /** Next packet in a queue (mbufq, ifqueue, socket buffer record list). */
  m_nextpkt: Mbuf | null = null;
  /* m_pkthdr */
  rcvif: MbufIfnet | null = null;
  csum_flags = 0;
  csum_data = 0;
  flowid = 0;
  rsstype = M_HASHTYPE_NONE;
  fibnum = 0;
  /** 802.1Q tag when M_VLANTAG is set. */
  ether_vtag = 0;
  /** mtod's last view and the (m_buf, m_data, m_len) it was made for. */
  m_view: Uint8Array = EMPTY;
  m_vbuf: Uint8Array = EMPTY;
  m_vdata = 0;
  m_vlen = 0;

  /** @internal use MbufPool.m_gethdr */
  constructor(
    readonly pool: MbufPool,
    buf: Uint8Array,
    data: number,
    len: number,
  ) {
    this.m_buf = buf;
    this.m_data = data;
    this.m_len = len;
    this.m_flags = M_PKTHDR | M_EXT;
    typestable(TS_MBUF, this);
  }

  /** m_pkthdr.len */
  get len(): number {
    return this.m_len;
  }
}

/**
 * mtod(m): a view of the packet's data (a subarray: a view, not bytes).  The view is
 * kept and handed out again while m_buf, m_data and m_len are unchanged, so the layers
 * a packet crosses do not each make one.
 */
export function mtod(m: Mbuf): Uint8Array {
  const buf = m.m_buf;
  const data = m.m_data;
  const len = m.m_len;
  if (m.m_vbuf === buf && m.m_vdata === data && m.m_vlen === len) return m.m_view;
  const v = buf.subarray(data, data + len);
  m.m_view = v;
  m.m_vbuf = buf;
  m.m_vdata = data;
  m.m_vlen = len;
  return v;
}

/**
 * m_dataview(m): a DataView over m's whole buffer, m_buf's offsets (the pool keeps one per
 * buffer, so packets reusing a buffer reuse its view).  For word-wide reads (in_cksum).
 */
export function m_dataview(m: Mbuf): DataView {
  return m.pool.dataview(m.m_buf);
}

/** M_LEADINGSPACE: bytes available before the data. */
export function M_LEADINGSPACE(m: Mbuf): number {
  return m.m_data;
}

/** M_TRAILINGSPACE: bytes available after the data. */
export function M_TRAILINGSPACE(m: Mbuf): number {
  return m.m_buf.length - m.m_data - m.m_len;
}

/** Pool statistics (a kernel can expose them as `netstat -m` style counters). */
export interface MbufPoolStats {
  /** Buffers handed out and not yet returned (mbufs in use). */
  inuse: number;
  /** Allocations served from a free list. */
  hits: number;
  /** Allocations that created a new buffer. */
  misses: number;
  /** Frees that dropped the buffer because its class free list was full. */
  overflow: number;
  /** Allocations refused (size above MBUF_MAXBUF). */
  denied: number;
}

export interface MbufPoolOptions {
  /** Leading space of a new packet; default MBUF_HEADROOM. */
  readonly headroom?: number;
  /** Free buffers kept per size class; default MBUF_POOL_FREEBYTES' worth of each. */
  readonly maxFree?: number;
}

function classOf(size: number): number {
  for (let i = 0; i < MBUF_SIZE_CLASSES.length; i++) if (size <= MBUF_SIZE_CLASSES[i]!) return i;
  return -1;
}

/** Names of the pool's zones, as `netstat -m` and kern.ipc.mbuf_zones give them. */
export const MBUF_ZONE_NAMES: readonly string[] = [
  'mbuf',
  'mbuf_cluster',
  'mbuf_jumbo_16k',
  'mbuf_jumbo_64k',
  'mbuf_exact',
];

/** One zone's statistics (a UMA zone's, as vmstat -z and netstat -m read them). */
export interface MbufZoneStat {
  readonly name: string;
  /** Buffer size; 0 for the exact-size buffers (each its own). */
  readonly size: number;
  /** Free buffers the zone keeps at most (its cache bound); 0: none kept. */
  readonly cachemax: number;
  /** Buffers handed out and not returned. */
  readonly current: number;
  /** Free buffers kept for reuse. */
  readonly cache: number;
  /** Bytes of the buffers in use. */
  readonly bytes: number;
  /** Allocations from this zone (UMA's allocs). */
  readonly allocs: number;
  /** Allocations refused (above MBUF_MAXBUF, counted on the exact-size zone). */
  readonly fails: number;
}

/** The buffer zones of one kernel. */
export class MbufPool {
  readonly headroom: number;
  private readonly maxFree: readonly number[];
  private readonly free: Uint8Array[][];
  readonly stats: MbufPoolStats = { inuse: 0, hits: 0, misses: 0, overflow: 0, denied: 0 };
  /** Per size class, then the exact-size buffers: in use, and allocations. */
  private readonly zinuse: number[] = MBUF_ZONE_NAMES.map(() => 0);
  private readonly zallocs: number[] = MBUF_ZONE_NAMES.map(() => 0);
  /** Bytes of the exact-size buffers in use. */
  private exactbytes = 0;
  /**
   * A DataView per buffer, made the first time one is asked for and kept with the buffer
   * while it lives (free list included): the checksum reads 32-bit words through it, and
   * making a DataView is a call into the runtime that cost more than summing a short
   * segment.
   */
  private readonly dvs = new WeakMap<Uint8Array, DataView>();

  constructor(opts: MbufPoolOptions = {}) {
    this.headroom = opts.headroom ?? MBUF_HEADROOM;
    const mf = opts.maxFree;
    this.maxFree = MBUF_SIZE_CLASSES.map((s) => mf ?? Math.floor(MBUF_POOL_FREEBYTES / s));
    this.free = MBUF_SIZE_CLASSES.map(() => []);
  }

  /** A DataView over the whole of buffer b (offsets as in b), kept per buffer. */
  dataview(b: Uint8Array): DataView {
    let dv = this.dvs.get(b);
    if (dv === undefined) {
      dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      this.dvs.set(b, dv);
    }
    return dv;
  }

  /** Free buffers held per class (for tests and `show mbufs`). */
  freeCounts(): number[] {
    return this.free.map((l) => l.length);
  }

  /** The zones' statistics: the size classes, then the exact-size buffers. */
  zones(): MbufZoneStat[] {
    const nc = MBUF_SIZE_CLASSES.length;
    return MBUF_ZONE_NAMES.map((name, z) => {
      const size = z < nc ? MBUF_SIZE_CLASSES[z]! : 0;
      return {
        name,
        size,
        cachemax: z < nc ? this.maxFree[z]! : 0,
        current: this.zinuse[z]!,
        cache: z < nc ? this.free[z]!.length : 0,
        bytes: z < nc ? this.zinuse[z]! * size : this.exactbytes,
        allocs: this.zallocs[z]!,
        fails: z < nc ? 0 : this.stats.denied,
      };
    });
  }

  /** A buffer of at least `size` bytes, or null when size exceeds MBUF_MAXBUF. */
  allocBuf(size: number): Uint8Array | null {
    if (size > MBUF_MAXBUF) {
      this.stats.denied++;
      return null;
    }
    const c = classOf(size);
    this.stats.inuse++;
    if (c < 0) {
      const z = MBUF_SIZE_CLASSES.length;
      this.zinuse[z]!++;
      this.zallocs[z]!++;
      this.exactbytes += size;
      this.stats.misses++;
      return new Uint8Array(size);
    }
    this.zinuse[c]!++;
    this.zallocs[c]!++;
    const b = this.free[c]!.pop();
    if (b !== undefined) {
      this.stats.hits++;
      return b;
    }
    this.stats.misses++;
    return new Uint8Array(MBUF_SIZE_CLASSES[c]!);
  }

  /** Return a buffer obtained from allocBuf. */
  freeBuf(b: Uint8Array): void {
    this.stats.inuse--;
    const c = MBUF_SIZE_CLASSES.indexOf(b.length);
    if (c < 0) {
      /* An exact-size large buffer: left to the GC. */
      this.zinuse[MBUF_SIZE_CLASSES.length]!--;
      this.exactbytes -= b.length;
      return;
    }
    this.zinuse[c]!--;
    const list = this.free[c]!;
    if (list.length < this.maxFree[c]!) list.push(b);
    else this.stats.overflow++;
  }

  /**
   * m_gethdr: a new packet of `len` data bytes (zeroed) with `leading` bytes of
   * leading space.  Returns null (ENOBUFS) only when the size is above MBUF_MAXBUF.
   * The caller owns the result.  zero = false leaves the data bytes as the buffer had
   * them, for a caller that writes every one of them at once (m_uiotombuf).
   */
  m_gethdr(len: number, leading: number = this.headroom, zero = true): Mbuf | null {
    if (len < 0 || leading < 0) throw new RangeError(`m_gethdr: bad length ${len}/${leading}`);
    const buf = this.allocBuf(leading + len);
    if (buf === null) return null;
    if (zero) buf.fill(0, leading, leading + len);
    return new Mbuf(this, buf, leading, len);
  }

  /**
   * m_gethdr_fit: m_gethdr for a protocol's own datagram (tcp_output).  When the data
   * alone fits a jumbo class (MJUM16BYTES and up) but not with the full leading space,
   * the leading space is what that class leaves, not a buffer of the next class: a
   * full lo0 datagram (MTU 16384) would otherwise take 64 KiB, and a receive buffer
   * of them would churn the garbage collector.  lo0 prepends nothing; a link that does
   * moves the data (M_PREPEND), as FreeBSD would prepend an mbuf.
   */
  m_gethdr_fit(len: number, zero = true): Mbuf | null {
    let leading = this.headroom;
    const c = classOf(len);
    if (c >= 0) {
      const size = MBUF_SIZE_CLASSES[c]!;
      if (size >= 16384 && len + leading > size) leading = size - len;
    }
    return this.m_gethdr(len, leading, zero);
  }

  /**
   * m_devget: a new packet holding a copy of `src` (a driver's receive path), with
   * rcvif set.  `src` is borrowed.  The caller owns the result.
   */
  m_devget(
    src: Uint8Array,
    rcvif: MbufIfnet | null = null,
    leading: number = this.headroom,
  ): Mbuf | null {
    const buf = this.allocBuf(leading + src.length);
    if (buf === null) return null;
    buf.set(src, leading);
    const m = new Mbuf(this, buf, leading, src.length);
    m.rcvif = rcvif;
    return m;
  }
}

function assertLive(m: Mbuf, fn: string): void {
  if ((m.m_flags & M_FREED) !== 0) throw new Error(`${fn}: use of a freed mbuf`);
}

/** m_freem / m_free: return the buffer to its pool.  Consumes m.  Double free throws. */
export function m_freem(m: Mbuf): void {
  assertLive(m, 'm_freem');
  m.pool.freeBuf(m.m_buf);
  m.m_buf = EMPTY;
  m.m_data = 0;
  m.m_len = 0;
  m.m_flags = M_FREED;
  m.m_nextpkt = null;
  m.rcvif = null;
  m.m_view = m.m_vbuf = EMPTY;
}

/** FreeBSD's m_free frees one mbuf of a chain; a packet here is one mbuf. */
export const m_free = m_freem;

/** Free a list of packets linked by m_nextpkt.  Consumes every packet of the list. */
export function m_freem_list(m: Mbuf | null): void {
  while (m !== null) {
    const n = m.m_nextpkt;
    m_freem(m);
    m = n;
  }
}

/** Move the data of m into a new buffer with `leading` front and `trailing` back space. */
function m_realloc(m: Mbuf, leading: number, trailing: number): boolean {
  const nb = m.pool.allocBuf(leading + m.m_len + trailing);
  if (nb === null) return false;
  nb.set(m.m_buf.subarray(m.m_data, m.m_data + m.m_len), leading);
  m.pool.freeBuf(m.m_buf);
  m.m_buf = nb;
  m.m_data = leading;
  return true;
}

/**
 * M_PREPEND(m, plen): make room for plen bytes in front of the data; the new bytes are
 * uninitialised (the caller writes the header).  Consumes m; returns the packet (m
 * itself: with no leading space left, the data moves to a bigger buffer with fresh
 * headroom), or null after freeing m when no buffer is available (ENOBUFS).
 */
export function M_PREPEND(m: Mbuf, plen: number): Mbuf | null {
  assertLive(m, 'M_PREPEND');
  if (plen < 0) throw new RangeError(`M_PREPEND: negative length ${plen}`);
  if (m.m_data < plen) {
    if (!m_realloc(m, plen + m.pool.headroom, M_TRAILINGSPACE(m))) {
      m_freem(m);
      return null;
    }
  }
  m.m_data -= plen;
  m.m_len += plen;
  return m;
}

/**
 * m_adj(m, req_len): trim req_len bytes from the head (req_len > 0) or -req_len bytes
 * from the tail (req_len < 0); trimming more than the packet empties it.  m is
 * borrowed (it stays the caller's).
 */
export function m_adj(m: Mbuf, req_len: number): void {
  assertLive(m, 'm_adj');
  if (req_len >= 0) {
    const n = Math.min(req_len, m.m_len);
    m.m_data += n;
    m.m_len -= n;
  } else {
    m.m_len -= Math.min(-req_len, m.m_len);
  }
}

/**
 * m_pullup(m, len): FreeBSD makes the first len bytes contiguous.  Data here is always
 * contiguous, so this only checks that the packet has len bytes.  Consumes m; returns
 * m, or null after freeing m when the packet is shorter than len (the caller counts
 * the drop, e.g. ips_toosmall).
 */
export function m_pullup(m: Mbuf, len: number): Mbuf | null {
  assertLive(m, 'm_pullup');
  if (m.m_len >= len) return m;
  m_freem(m);
  return null;
}

function checkRange(m: Mbuf, off: number, len: number, fn: string): void {
  assertLive(m, fn);
  if (!(off >= 0 && len >= 0 && off + len <= m.m_len))
    throw new RangeError(`${fn}: range ${off}+${len} outside ${m.m_len} bytes`);
}

/**
 * m_copydata(m, off, len, dst, dstoff): copy len bytes at off of the packet into dst.
 * m and dst are borrowed.  A range outside the packet is API misuse and throws.
 */
export function m_copydata(m: Mbuf, off: number, len: number, dst: Uint8Array, dstoff = 0): void {
  checkRange(m, off, len, 'm_copydata');
  dst.set(m.m_buf.subarray(m.m_data + off, m.m_data + off + len), dstoff);
}

/**
 * m_copyback(m, off, src): copy src into the packet at off, extending the packet
 * (zero-filling any gap) when off + src.length > m_len.  m and src are borrowed.
 * Returns false (ENOBUFS, m unchanged) when the packet could not grow.
 */
export function m_copyback(m: Mbuf, off: number, src: Uint8Array): boolean {
  assertLive(m, 'm_copyback');
  if (off < 0) throw new RangeError(`m_copyback: negative offset ${off}`);
  const end = off + src.length;
  if (end > m.m_len) {
    const grow = end - m.m_len;
    if (M_TRAILINGSPACE(m) < grow && !m_realloc(m, m.m_data, grow)) return false;
    m.m_buf.fill(0, m.m_data + m.m_len, m.m_data + end);
    m.m_len = end;
  }
  m.m_buf.set(src, m.m_data + off);
  return true;
}

/** m_append(m, src): append src at the tail.  m and src are borrowed.  False: ENOBUFS. */
export function m_append(m: Mbuf, src: Uint8Array): boolean {
  return m_copyback(m, m.m_len, src);
}

/** Copy the packet header fields of `from` into `to` (m_dup_pkthdr).  Both borrowed. */
export function m_dup_pkthdr(to: Mbuf, from: Mbuf): void {
  to.m_flags = (to.m_flags & ~M_COPYFLAGS) | (from.m_flags & M_COPYFLAGS);
  to.rcvif = from.rcvif;
  to.csum_flags = from.csum_flags;
  to.csum_data = from.csum_data;
  to.flowid = from.flowid;
  to.rsstype = from.rsstype;
  to.fibnum = from.fibnum;
  to.ether_vtag = from.ether_vtag;
}

/**
 * m_dup(m): a deep copy (data and packet header, same leading space; not m_nextpkt).
 * m is borrowed.  The caller owns the copy; null when no buffer is available.
 */
export function m_dup(m: Mbuf): Mbuf | null {
  assertLive(m, 'm_dup');
  const n = m.pool.m_devget(mtod(m), m.rcvif, Math.max(m.m_data, m.pool.headroom));
  if (n === null) return null;
  m_dup_pkthdr(n, m);
  return n;
}

/**
 * m_split(m, len0): split the packet at len0: m keeps the first len0 bytes; the rest
 * is returned as a new packet (copied, with fresh headroom and m's packet header).
 * m is borrowed; the caller owns the result.  null when len0 > m_len or no buffer.
 */
export function m_split(m: Mbuf, len0: number): Mbuf | null {
  assertLive(m, 'm_split');
  if (len0 < 0 || len0 > m.m_len) return null;
  const n = m.pool.m_devget(m.m_buf.subarray(m.m_data + len0, m.m_data + m.m_len), m.rcvif);
  if (n === null) return null;
  m_dup_pkthdr(n, m);
  m.m_len = len0;
  return n;
}

/**
 * m_cat(m, n): append n's data to m.  Consumes n (freed even on failure); m is
 * borrowed.  Returns false (ENOBUFS) when m could not grow.
 */
export function m_cat(m: Mbuf, n: Mbuf): boolean {
  assertLive(n, 'm_cat');
  const ok = m_append(m, mtod(n));
  m_freem(n);
  return ok;
}

/** m_demote_pkthdr: forget protocol-private flags when a packet changes layer. */
export function m_clrprotoflags(m: Mbuf): void {
  m.m_flags &= ~M_PROTOFLAGS;
}

/*
 * struct mbufq (sys/mbuf.h): a packet queue with a length limit, linked through
 * m_nextpkt.  Ours also counts the packets it refused (mq_drops), the analogue of
 * ifq_drops, so a netisr or interface queue can report its drops.
 */
export class mbufq {
  mq_head: Mbuf | null = null;
  mq_tail: Mbuf | null = null;
  mq_len = 0;
  mq_drops = 0;
  constructor(public mq_maxlen: number) {}
}

/** mbufq_init: empty the queue head and set its limit (packets already queued are lost). */
export function mbufq_init(mq: mbufq, maxlen: number): void {
  mq.mq_head = mq.mq_tail = null;
  mq.mq_len = 0;
  mq.mq_drops = 0;
  mq.mq_maxlen = maxlen;
}

export function mbufq_full(mq: mbufq): boolean {
  return mq.mq_len >= mq.mq_maxlen;
}

export function mbufq_len(mq: mbufq): number {
  return mq.mq_len;
}

export function mbufq_first(mq: mbufq): Mbuf | null {
  return mq.mq_head;
}

export function mbufq_last(mq: mbufq): Mbuf | null {
  return mq.mq_tail;
}

/**
 * mbufq_enqueue: append m.  Returns 0 (the queue consumes m) or ENOBUFS when full: then
 * mq_drops is bumped and the caller still owns m and must free it, as in FreeBSD.
 */
export function mbufq_enqueue(mq: mbufq, m: Mbuf): number {
  assertLive(m, 'mbufq_enqueue');
  if (mbufq_full(mq)) {
    mq.mq_drops++;
    return ENOBUFS;
  }
  m.m_nextpkt = null;
  if (mq.mq_tail === null) mq.mq_head = m;
  else mq.mq_tail.m_nextpkt = m;
  mq.mq_tail = m;
  mq.mq_len++;
  return 0;
}

/** mbufq_prepend: put m at the head, ignoring the limit (requeue).  Consumes m. */
export function mbufq_prepend(mq: mbufq, m: Mbuf): void {
  m.m_nextpkt = mq.mq_head;
  mq.mq_head = m;
  if (mq.mq_tail === null) mq.mq_tail = m;
  mq.mq_len++;
}

/** mbufq_dequeue: remove the first packet; the caller owns it.  null when empty. */
export function mbufq_dequeue(mq: mbufq): Mbuf | null {
  const m = mq.mq_head;
  if (m === null) return null;
  mq.mq_head = m.m_nextpkt;
  if (mq.mq_head === null) mq.mq_tail = null;
  m.m_nextpkt = null;
  mq.mq_len--;
  return m;
}

/**
 * mbufq_flush: take every packet; returns the list head (linked by m_nextpkt), which
 * the caller owns.  The queue is left empty.
 */
export function mbufq_flush(mq: mbufq): Mbuf | null {
  const m = mq.mq_head;
  mq.mq_head = mq.mq_tail = null;
  mq.mq_len = 0;
  return m;
}

/** mbufq_drain: free every queued packet. */
export function mbufq_drain(mq: mbufq): void {
  m_freem_list(mbufq_flush(mq));
}

/** mbufq_concat: move every packet of mq_src to the tail of mq_dst (no limit check). */
export function mbufq_concat(mq_dst: mbufq, mq_src: mbufq): void {
  if (mq_src.mq_head === null) return;
  if (mq_dst.mq_tail === null) mq_dst.mq_head = mq_src.mq_head;
  else mq_dst.mq_tail.m_nextpkt = mq_src.mq_head;
  mq_dst.mq_tail = mq_src.mq_tail;
  mq_dst.mq_len += mq_src.mq_len;
  mq_src.mq_head = mq_src.mq_tail = null;
  mq_src.mq_len = 0;
}
