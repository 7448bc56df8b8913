/*
 * net/pcap.ts — capture file formats: classic pcap and pcapng, writers and readers,
 * bytes in, bytes out (no file I/O; bpf and tcpdump put the bytes where they belong).
 *
 * Classic pcap (draft-ietf-opsawg-pcap §4-§5; libpcap's savefile format):
 *
 *     file header, 24 bytes:  magic u32 | major u16 = 2 | minor u16 = 4 | thiszone i32 |
 *                             sigfigs u32 | snaplen u32 | linktype u32
 *     record header, 16 bytes: ts_sec u32 | ts_usec-or-nsec u32 | incl_len u32 | orig_len u32
 *
 *   magic 0xa1b2c3d4 means microsecond timestamps, 0xa1b23c4d nanosecond ones; the
 *   byte order of the magic as read gives the file's byte order.  One link type per
 *   file.
 *
 * pcapng (draft-ietf-opsawg-pcapng §3-§4): a sequence of blocks
 *
 *     block type u32 | block total length u32 | body ... (padded to 32 bits) |
 *     block total length u32
 *
 *   - Section Header Block (0x0A0D0D0A, §4.1): byte-order magic 0x1A2B3C4D, version
 *     1.0, section length -1 (unknown), options (shb_hardware, shb_os, shb_userappl).
 *   - Interface Description Block (1, §4.2): link type, snap length, options: if_name
 *     (2), if_description (3), if_tsresol (9).  Interfaces are numbered in order of
 *     their IDBs within a section.
 *   - Enhanced Packet Block (6, §4.3): interface id, 64-bit timestamp in units of the
 *     interface's if_tsresol, captured and original lengths, data padded to 32 bits.
 *   - Simple Packet Block (3, §4.4) is read (interface 0, no timestamp); Name
 *     Resolution, Interface Statistics and unknown blocks are skipped.
 *   - Options (§3.5): code u16 | length u16 | value padded to 32 bits, ended by
 *     opt_endofopt (0).
 *
 * The pcapng writer is the one bpf uses for the whole kernel: one timeline across all
 * interfaces of all vnets, each interface an IDB (if_name "vnet3:epair0b" or whatever
 * the caller chooses) with if_tsresol = 9 (nanoseconds), timestamps taken from the
 * kernel clock in ns.  Writers emit little-endian; readers accept both byte orders.
 *
 * Readers never throw on malformed input: they return { ok: false, error, offset,
 * partial } with a message naming what is wrong and where, and the packets read so far.
 * Writers throw only on API misuse (an unknown interface id).
 */

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;

export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const PCAP_FILE_HDR_LEN = 24;
export const PCAP_REC_HDR_LEN = 16;
/** libpcap's MAXIMUM_SNAPLEN: larger records are taken as corruption. */
export const PCAP_MAX_SNAPLEN = 262144;

export const PCAPNG_BT_SHB = 0x0a0d0d0a;
export const PCAPNG_BT_IDB = 0x00000001;
export const PCAPNG_BT_SPB = 0x00000003;
export const PCAPNG_BT_NRB = 0x00000004;
export const PCAPNG_BT_ISB = 0x00000005;
export const PCAPNG_BT_EPB = 0x00000006;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
export const PCAPNG_VERSION_MAJOR = 1;
export const PCAPNG_VERSION_MINOR = 0;

export const PCAPNG_OPT_ENDOFOPT = 0;
export const PCAPNG_OPT_COMMENT = 1;
export const PCAPNG_SHB_HARDWARE = 2;
export const PCAPNG_SHB_OS = 3;
export const PCAPNG_SHB_USERAPPL = 4;
export const PCAPNG_IF_NAME = 2;
export const PCAPNG_IF_DESCRIPTION = 3;
export const PCAPNG_IF_TSRESOL = 9;
export const PCAPNG_EPB_FLAGS = 2;

/** Kernel time in nanoseconds (a number is exact below 2^53 ns, about 104 days). */
export type TimeNs = number | bigint;

const NS_PER_SEC = 1000000000n;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: false });

function toBig(ts: TimeNs): bigint {
  if (typeof ts === 'bigint') return ts;
  if (!Number.isFinite(ts) || ts < 0) throw new RangeError(`pcap: bad timestamp ${ts}`);
  return BigInt(Math.floor(ts));
}

/* ---------------------------------------------------------------- classic pcap */

export interface PcapWriterOptions {
  readonly snaplen?: number;
  readonly linktype?: number;
  /** Nanosecond timestamps (magic 0xa1b23c4d); default microseconds. */
  readonly nanosecond?: boolean;
}

/** A classic pcap writer: header() once, then packet() per frame. */
export class PcapWriter {
  readonly snaplen: number;
  readonly linktype: number;
  readonly nanosecond: boolean;

  constructor(opts: PcapWriterOptions = {}) {
    this.snaplen = opts.snaplen ?? 65535;
    this.linktype = opts.linktype ?? LINKTYPE_ETHERNET;
    this.nanosecond = opts.nanosecond ?? false;
  }

  /** The 24-byte file header. */
  header(): Uint8Array {
    const b = new Uint8Array(PCAP_FILE_HDR_LEN);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, this.nanosecond ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, true);
    dv.setUint16(4, PCAP_VERSION_MAJOR, true);
    dv.setUint16(6, PCAP_VERSION_MINOR, true);
    dv.setInt32(8, 0, true);
    dv.setUint32(12, 0, true);
    dv.setUint32(16, this.snaplen, true);
    dv.setUint32(20, this.linktype, true);
    return b;
  }

  /** One record: data (borrowed) truncated to snaplen, stamped with ts (ns). */
  packet(ts: TimeNs, data: Uint8Array, origlen: number = data.length): Uint8Array {
    const t = toBig(ts);
    const sec = t / NS_PER_SEC;
    const ns = t % NS_PER_SEC;
    const frac = this.nanosecond ? ns : ns / 1000n;
    const caplen = Math.min(data.length, this.snaplen);
    const b = new Uint8Array(PCAP_REC_HDR_LEN + caplen);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, Number(sec & 0xffffffffn), true);
    dv.setUint32(4, Number(frac), true);
    dv.setUint32(8, caplen, true);
    dv.setUint32(12, origlen, true);
    b.set(data.subarray(0, caplen), PCAP_REC_HDR_LEN);
    return b;
  }
}

/* ---------------------------------------------------------------- pcapng writer */

/** An interface as described in an IDB. */
export interface PcapngInterfaceDesc {
  readonly name: string;
  readonly linktype?: number;
  readonly snaplen?: number;
  readonly description?: string;
}

export interface PcapngWriterOptions {
  readonly hardware?: string;
  readonly os?: string;
  readonly userappl?: string;
}

class BlockBuilder {
  private chunks: Uint8Array[] = [];
  private len = 0;

  u16(v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, true);
    return this.raw(b);
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.raw(b);
  }
  raw(b: Uint8Array): this {
    this.chunks.push(b);
    this.len += b.length;
    return this;
  }
  pad(): this {
    const p = (4 - (this.len & 3)) & 3;
    if (p) this.raw(new Uint8Array(p));
    return this;
  }
  opt(code: number, value: Uint8Array): this {
    this.u16(code).u16(value.length).raw(value).pad();
    return this;
  }
  /** Wrap the body as a block of type `type`. */
  block(type: number): Uint8Array {
    const total = 12 + this.len;
    const out = new Uint8Array(total);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, type >>> 0, true);
    dv.setUint32(4, total, true);
    let o = 8;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    dv.setUint32(total - 4, total, true);
    return out;
  }
}

/**
 * A pcapng writer spanning many interfaces.  header() gives the Section Header Block;
 * addInterface() an Interface Description Block (emit it before that interface's
 * first packet); packet() an Enhanced Packet Block.  Every method returns a chunk to
 * append, in call order.
 */
export class PcapngWriter {
  private readonly ifs: { snaplen: number }[] = [];

  constructor(readonly opts: PcapngWriterOptions = {}) {}

  /** Interfaces described so far. */
  get interfaceCount(): number {
    return this.ifs.length;
  }

  header(): Uint8Array {
    const bb = new BlockBuilder()
      .u32(PCAPNG_BYTE_ORDER_MAGIC)
      .u16(PCAPNG_VERSION_MAJOR)
      .u16(PCAPNG_VERSION_MINOR)
      .u32(0xffffffff)
      .u32(0xffffffff); // section length -1: unknown
    if (this.opts.hardware !== undefined)
      bb.opt(PCAPNG_SHB_HARDWARE, textEncoder.encode(this.opts.hardware));
    if (this.opts.os !== undefined) bb.opt(PCAPNG_SHB_OS, textEncoder.encode(this.opts.os));
    bb.opt(PCAPNG_SHB_USERAPPL, textEncoder.encode(this.opts.userappl ?? 'vimage'));
    bb.u16(PCAPNG_OPT_ENDOFOPT).u16(0);
    return bb.block(PCAPNG_BT_SHB);
  }

  /** Describe an interface; its id is its position (0, 1, ...). */
  addInterface(desc: PcapngInterfaceDesc): { id: number; block: Uint8Array } {
    const snaplen = desc.snaplen ?? 262144;
    const bb = new BlockBuilder()
      .u16(desc.linktype ?? LINKTYPE_ETHERNET)
      .u16(0)
      .u32(snaplen)
      .opt(PCAPNG_IF_NAME, textEncoder.encode(desc.name));
    if (desc.description !== undefined)
      bb.opt(PCAPNG_IF_DESCRIPTION, textEncoder.encode(desc.description));
    bb.opt(PCAPNG_IF_TSRESOL, Uint8Array.of(9));
    bb.u16(PCAPNG_OPT_ENDOFOPT).u16(0);
    const id = this.ifs.length;
    this.ifs.push({ snaplen });
    return { id, block: bb.block(PCAPNG_BT_IDB) };
  }

  /**
   * An Enhanced Packet Block for interface `ifid` at kernel time ts (ns); data is
   * borrowed and truncated to the interface's snaplen.
   */
  packet(
    ifid: number,
    ts: TimeNs,
    data: Uint8Array,
    origlen: number = data.length,
    comment?: string,
  ): Uint8Array {
    const i = this.ifs[ifid];
    if (i === undefined) throw new RangeError(`pcapng: unknown interface id ${ifid}`);
    const t = toBig(ts);
    const caplen = Math.min(data.length, i.snaplen);
    const bb = new BlockBuilder()
      .u32(ifid)
      .u32(Number((t >> 32n) & 0xffffffffn))
      .u32(Number(t & 0xffffffffn))
      .u32(caplen)
      .u32(origlen)
      .raw(data.subarray(0, caplen))
      .pad();
    if (comment !== undefined) {
      bb.opt(PCAPNG_OPT_COMMENT, textEncoder.encode(comment));
      bb.u16(PCAPNG_OPT_ENDOFOPT).u16(0);
    }
    return bb.block(PCAPNG_BT_EPB);
  }
}

/** Concatenate chunks into one file image. */
export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/* ---------------------------------------------------------------- readers */

export interface CaptureInterface {
  linktype: number;
  snaplen: number;
  /** if_name, or null when absent (always null in classic pcap). */
  name: string | null;
  description: string | null;
  /** Timestamp unit in ns per tick as a rational: ts_ns = ts * mul / div. */
  tsMul: bigint;
  tsDiv: bigint;
}

export interface CapturePacket {
  /** Index into Capture.interfaces (counting across sections). */
  ifid: number;
  /** Timestamp in nanoseconds (0 for Simple Packet Blocks). */
  ts_ns: bigint;
  caplen: number;
  origlen: number;
  /** The captured bytes (a subarray of the input). */
  data: Uint8Array;
  comment: string | null;
}

export interface Capture {
  format: 'pcap' | 'pcapng';
  /** Classic pcap: nanosecond magic. */
  nanosecond: boolean;
  bigEndian: boolean;
  interfaces: CaptureInterface[];
  packets: CapturePacket[];
}

export type CaptureResult =
  { ok: true; capture: Capture } | { ok: false; error: string; offset: number; partial: Capture };

function fail(cap: Capture, offset: number, error: string): CaptureResult {
  return { ok: false, error, offset, partial: cap };
}

function emptyCapture(format: 'pcap' | 'pcapng'): Capture {
  return { format, nanosecond: false, bigEndian: false, interfaces: [], packets: [] };
}

function hex32(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}

/** Read a capture file of either format (by its magic). */
export function pcap_read(bytes: Uint8Array): CaptureResult {
  try {
    if (bytes.length < 4) return fail(emptyCapture('pcap'), 0, 'file too short for a magic number');
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const m = dv.getUint32(0, true);
    if (m === PCAPNG_BT_SHB) return readPcapng(bytes, dv);
    return readClassic(bytes, dv);
  } catch (e) {
    // A bug in this reader, not a malformed file: still never escape.
    return fail(emptyCapture('pcap'), 0, `internal error: ${String(e)}`);
  }
}

function readClassic(bytes: Uint8Array, dv: DataView): CaptureResult {
  const cap = emptyCapture('pcap');
  const mle = dv.getUint32(0, true);
  const mbe = dv.getUint32(0, false);
  let le: boolean;
  if (mle === PCAP_MAGIC_USEC || mle === PCAP_MAGIC_NSEC) le = true;
  else if (mbe === PCAP_MAGIC_USEC || mbe === PCAP_MAGIC_NSEC) le = false;
  else return fail(cap, 0, `not a pcap or pcapng file (magic ${hex32(mbe)})`);
  const magic = le ? mle : mbe;
  cap.nanosecond = magic === PCAP_MAGIC_NSEC;
  cap.bigEndian = !le;
  if (bytes.length < PCAP_FILE_HDR_LEN)
    return fail(cap, bytes.length, 'truncated pcap file header');
  const major = dv.getUint16(4, le);
  if (major !== PCAP_VERSION_MAJOR) return fail(cap, 4, `unsupported pcap version ${major}`);
  const snaplen = dv.getUint32(16, le);
  const linktype = dv.getUint32(20, le) & 0x03ffffff; // LT_LINKTYPE: FCS bits above
  cap.interfaces.push({
    linktype,
    snaplen,
    name: null,
    description: null,
    tsMul: cap.nanosecond ? 1n : 1000n,
    tsDiv: 1n,
  });
  const maxcap = Math.max(snaplen, PCAP_MAX_SNAPLEN);
  let o = PCAP_FILE_HDR_LEN;
  while (o < bytes.length) {
    if (o + PCAP_REC_HDR_LEN > bytes.length)
      return fail(cap, o, `truncated packet record header at offset ${o}`);
    const sec = dv.getUint32(o, le);
    const frac = dv.getUint32(o + 4, le);
    const caplen = dv.getUint32(o + 8, le);
    const origlen = dv.getUint32(o + 12, le);
    if (caplen > maxcap)
      return fail(cap, o + 8, `packet record at offset ${o}: caplen ${caplen} > ${maxcap}`);
    const d = o + PCAP_REC_HDR_LEN;
    if (d + caplen > bytes.length)
      return fail(cap, o, `truncated packet data at offset ${o}: ${caplen} bytes announced`);
    cap.packets.push({
      ifid: 0,
      ts_ns: BigInt(sec) * NS_PER_SEC + BigInt(frac) * (cap.nanosecond ? 1n : 1000n),
      caplen,
      origlen,
      data: bytes.subarray(d, d + caplen),
      comment: null,
    });
    o = d + caplen;
  }
  return { ok: true, capture: cap };
}

interface OptionSink {
  (code: number, value: Uint8Array): void;
}

/** Walk options in [o, end); returns an error string or null. */
function readOptions(
  bytes: Uint8Array,
  dv: DataView,
  le: boolean,
  o: number,
  end: number,
  sink: OptionSink,
): string | null {
  while (o < end) {
    if (o + 4 > end) return `truncated option header at offset ${o}`;
    const code = dv.getUint16(o, le);
    const len = dv.getUint16(o + 2, le);
    if (code === PCAPNG_OPT_ENDOFOPT) return null;
    const v = o + 4;
    if (v + len > end) return `option ${code} at offset ${o} overruns its block`;
    sink(code, bytes.subarray(v, v + len));
    o = v + ((len + 3) & ~3);
  }
  return null;
}

function tsresol(v: number): { mul: bigint; div: bigint } {
  const e = BigInt(v & 0x7f);
  if ((v & 0x80) !== 0) return { mul: NS_PER_SEC, div: 1n << e }; // 2^-e seconds
  if (e <= 9n) return { mul: 10n ** (9n - e), div: 1n };
  return { mul: 1n, div: 10n ** (e - 9n) };
}

function readPcapng(bytes: Uint8Array, dv: DataView): CaptureResult {
  const cap = emptyCapture('pcapng');
  let le = true;
  let sectionBase = 0; // index in cap.interfaces of this section's interface 0
  let o = 0;
  let first = true;
  while (o < bytes.length) {
    if (o + 12 > bytes.length) return fail(cap, o, `truncated block header at offset ${o}`);
    const type = dv.getUint32(o, le);
    if (type === PCAPNG_BT_SHB) {
      if (o + 12 > bytes.length) return fail(cap, o, 'truncated section header block');
      const bom = dv.getUint32(o + 8, true);
      if (bom === PCAPNG_BYTE_ORDER_MAGIC) le = true;
      else if (dv.getUint32(o + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) le = false;
      else return fail(cap, o + 8, `bad byte-order magic ${hex32(bom)} at offset ${o + 8}`);
      if (first) cap.bigEndian = !le;
      first = false;
      sectionBase = cap.interfaces.length;
    } else if (first) {
      return fail(cap, o, 'pcapng file does not start with a section header block');
    }
    const total = dv.getUint32(o + 4, le);
    if (total < 12 || (total & 3) !== 0)
      return fail(cap, o + 4, `bad block length ${total} at offset ${o}`);
    if (o + total > bytes.length)
      return fail(cap, o, `truncated block at offset ${o}: ${total} bytes announced`);
    if (dv.getUint32(o + total - 4, le) !== total)
      return fail(cap, o + total - 4, `block at offset ${o}: trailing length does not match`);
    const body = o + 8;
    const end = o + total - 4;
    switch (type) {
      case PCAPNG_BT_SHB: {
        if (end - body < 16) return fail(cap, o, 'section header block too short');
        const major = dv.getUint16(body + 4, le);
        if (major !== PCAPNG_VERSION_MAJOR)
          return fail(cap, body + 4, `unsupported pcapng version ${major}`);
        const err = readOptions(bytes, dv, le, body + 16, end, () => {});
        if (err !== null) return fail(cap, o, err);
        break;
      }
      case PCAPNG_BT_IDB: {
        if (end - body < 8) return fail(cap, o, 'interface description block too short');
        const ifc: CaptureInterface = {
          linktype: dv.getUint16(body, le),
          snaplen: dv.getUint32(body + 4, le),
          name: null,
          description: null,
          tsMul: 1000n, // default if_tsresol 6: microseconds
          tsDiv: 1n,
        };
        const err = readOptions(bytes, dv, le, body + 8, end, (code, v) => {
          if (code === PCAPNG_IF_NAME) ifc.name = textDecoder.decode(v);
          else if (code === PCAPNG_IF_DESCRIPTION) ifc.description = textDecoder.decode(v);
          else if (code === PCAPNG_IF_TSRESOL && v.length >= 1) {
            const r = tsresol(v[0]!);
            ifc.tsMul = r.mul;
            ifc.tsDiv = r.div;
          }
        });
        if (err !== null) return fail(cap, o, err);
        cap.interfaces.push(ifc);
        break;
      }
      case PCAPNG_BT_EPB: {
        if (end - body < 20) return fail(cap, o, 'enhanced packet block too short');
        const id = dv.getUint32(body, le);
        const ifc = cap.interfaces[sectionBase + id];
        if (ifc === undefined || sectionBase + id >= cap.interfaces.length)
          return fail(cap, body, `packet block at offset ${o} names unknown interface ${id}`);
        const ts = (BigInt(dv.getUint32(body + 4, le)) << 32n) | BigInt(dv.getUint32(body + 8, le));
        const caplen = dv.getUint32(body + 12, le);
        const origlen = dv.getUint32(body + 16, le);
        const d = body + 20;
        if (caplen > end - d)
          return fail(
            cap,
            body + 12,
            `packet block at offset ${o}: caplen ${caplen} overruns the block`,
          );
        let comment: string | null = null;
        const err = readOptions(bytes, dv, le, d + ((caplen + 3) & ~3), end, (code, v) => {
          if (code === PCAPNG_OPT_COMMENT) comment = textDecoder.decode(v);
        });
        if (err !== null) return fail(cap, o, err);
        cap.packets.push({
          ifid: sectionBase + id,
          ts_ns: (ts * ifc.tsMul) / ifc.tsDiv,
          caplen,
          origlen,
          data: bytes.subarray(d, d + caplen),
          comment,
        });
        break;
      }
      case PCAPNG_BT_SPB: {
        if (end - body < 4) return fail(cap, o, 'simple packet block too short');
        const ifc = cap.interfaces[sectionBase];
        if (ifc === undefined)
          return fail(cap, o, `simple packet block at offset ${o} before any interface`);
        const origlen = dv.getUint32(body, le);
        const d = body + 4;
        const caplen = Math.min(origlen, end - d, ifc.snaplen === 0 ? origlen : ifc.snaplen);
        cap.packets.push({
          ifid: sectionBase,
          ts_ns: 0n,
          caplen,
          origlen,
          data: bytes.subarray(d, d + caplen),
          comment: null,
        });
        break;
      }
      default:
        break; // NRB, ISB, custom and unknown blocks are skipped (§3.1)
    }
    o += total;
  }
  return { ok: true, capture: cap };
}
