/*
 * sys/types.ts — C scalar types and fixed byte layouts (structs, arrays).
 *
 * Virtualized globals, per-CPU variables and the structures passed through ioctl,
 * sysctl and kvm reads are byte layouts, not JavaScript objects: a monitoring tool
 * that knows a symbol's name and the layout of its type can read it, exactly as
 * FreeBSD's netstat reads `struct ipstat` through libkvm.  Layouts are those of
 * FreeBSD/amd64 (LP64, little endian).
 */

export type CKind = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'bytes';

/** A C type: its kind, size and alignment. */
export interface CType {
  readonly kind: CKind;
  readonly size: number;
  readonly align: number;
  /** For structs: the field table; for arrays: the element type and count. */
  readonly struct?: StructLayout;
  readonly elem?: CType;
  readonly count?: number;
  readonly cname: string;
}

export const u8: CType = { kind: 'u8', size: 1, align: 1, cname: 'uint8_t' };
export const i8: CType = { kind: 'i8', size: 1, align: 1, cname: 'int8_t' };
export const u16: CType = { kind: 'u16', size: 2, align: 2, cname: 'uint16_t' };
export const i16: CType = { kind: 'i16', size: 2, align: 2, cname: 'int16_t' };
export const u32: CType = { kind: 'u32', size: 4, align: 4, cname: 'uint32_t' };
export const i32: CType = { kind: 'i32', size: 4, align: 4, cname: 'int' };
export const u64: CType = { kind: 'u64', size: 8, align: 8, cname: 'uint64_t' };
export const i64: CType = { kind: 'i64', size: 8, align: 8, cname: 'int64_t' };
/** u_long and pointers on LP64. */
export const ulong: CType = { kind: 'u64', size: 8, align: 8, cname: 'u_long' };
export const ptr: CType = { kind: 'u64', size: 8, align: 8, cname: 'void *' };
export const int: CType = i32;
export const uint: CType = { kind: 'u32', size: 4, align: 4, cname: 'u_int' };

/** char name[n] and other raw byte arrays. */
export function bytes(n: number, align = 1, cname = `char[${n}]`): CType {
  return { kind: 'bytes', size: n, align, cname };
}

/** type name[count] */
export function array(elem: CType, count: number): CType {
  return {
    kind: 'bytes',
    size: elem.size * count,
    align: elem.align,
    elem,
    count,
    cname: `${elem.cname}[${count}]`,
  };
}

export interface StructField {
  readonly name: string;
  readonly type: CType;
  readonly offset: number;
}

export interface StructLayout {
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly fields: readonly StructField[];
  readonly byName: ReadonlyMap<string, StructField>;
  /** The struct as a CType, to declare variables of it. */
  readonly type: CType;
}

/** Lay out a C struct with natural alignment, as the amd64 ABI does. */
export function struct(name: string, fields: readonly (readonly [string, CType])[]): StructLayout {
  let off = 0;
  let align = 1;
  const out: StructField[] = [];
  for (const [fname, t] of fields) {
    off = Math.ceil(off / t.align) * t.align;
    out.push({ name: fname, type: t, offset: off });
    off += t.size;
    align = Math.max(align, t.align);
  }
  const size = Math.ceil(off / align) * align;
  const byName = new Map(out.map((f) => [f.name, f]));
  const layout: { -readonly [K in keyof StructLayout]: StructLayout[K] } = {
    name,
    size,
    align,
    fields: out,
    byName,
    type: undefined as unknown as CType,
  };
  layout.type = { kind: 'bytes', size, align, struct: layout, cname: `struct ${name}` };
  return layout;
}

/** A struct made only of uint64_t counters (ipstat, udpstat, ...), in field order. */
export function counterStruct(name: string, fieldNames: readonly string[]): StructLayout {
  return struct(
    name,
    fieldNames.map((n) => [n, u64] as const),
  );
}

/** Read a scalar of type t at byte offset off of a DataView (little endian). */
export function readScalar(dv: DataView, off: number, t: CType): number {
  switch (t.kind) {
    case 'u8':
      return dv.getUint8(off);
    case 'i8':
      return dv.getInt8(off);
    case 'u16':
      return dv.getUint16(off, true);
    case 'i16':
      return dv.getInt16(off, true);
    case 'u32':
      return dv.getUint32(off, true);
    case 'i32':
      return dv.getInt32(off, true);
    case 'u64':
      return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 4294967296;
    case 'i64':
      return dv.getUint32(off, true) + dv.getInt32(off + 4, true) * 4294967296;
    case 'bytes':
      throw new TypeError(`readScalar: ${t.cname} is not a scalar`);
  }
}

/** Write a scalar of type t at byte offset off of a DataView (little endian). */
export function writeScalar(dv: DataView, off: number, t: CType, v: number): void {
  switch (t.kind) {
    case 'u8':
    case 'i8':
      dv.setUint8(off, v & 0xff);
      return;
    case 'u16':
    case 'i16':
      dv.setUint16(off, v & 0xffff, true);
      return;
    case 'u32':
    case 'i32':
      dv.setUint32(off, v >>> 0, true);
      return;
    case 'u64':
    case 'i64': {
      const lo = v >>> 0;
      const hi = Math.floor((v - lo) / 4294967296);
      dv.setUint32(off, lo, true);
      dv.setUint32(off + 4, hi >>> 0, true);
      return;
    }
    case 'bytes':
      throw new TypeError(`writeScalar: ${t.cname} is not a scalar`);
  }
}

/** Decode a struct of scalars into a plain record (for tools and tests). */
export function decodeStruct(
  layout: StructLayout,
  buf: Uint8Array,
  base = 0,
): Record<string, number> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Record<string, number> = {};
  for (const f of layout.fields) {
    if (f.type.kind !== 'bytes') out[f.name] = readScalar(dv, base + f.offset, f.type);
  }
  return out;
}
