/*
 * net/bpf_filter.ts — the classic Berkeley Packet Filter machine (FreeBSD
 * sys/net/bpf_filter.c, sys/net/bpf.h): instruction encoding, the interpreter
 * bpf_filter(), the program checker bpf_validate(), struct bpf_program's byte form for
 * BIOCSETF, and the capture header (struct bpf_hdr) constants.
 *
 * The machine (McCanne & Jacobson, "The BSD Packet Filter", USENIX 1993): an
 * accumulator A, an index register X, BPF_MEMWORDS (16) 32-bit scratch words M[], and
 * an implicit program counter.  Every instruction is struct bpf_insn { u_short code;
 * u_char jt; u_char jf; uint32_t k; } — 8 bytes.  Conditional jumps are forward only
 * (jt/jf are unsigned offsets from the next instruction), so every program terminates.
 * The value of a RET is the number of bytes of the packet to keep (0 = reject).
 *
 * What we mirror from FreeBSD:
 * - all arithmetic is on unsigned 32-bit words (`>>> 0`, Math.imul for MUL);
 * - packet loads are big endian (network order), bounds-checked against `buflen`; a
 *   load that does not fit rejects the packet (returns 0), as do BPF_DIV/BPF_MOD by a
 *   zero X;
 * - BPF_LD|BPF_LEN / BPF_LDX|BPF_LEN load `wirelen` (the length on the wire), while the
 *   loads are checked against `buflen` (the bytes we actually hold);
 * - an unknown opcode at run time returns 0 (the kernel's `default: return (0)`);
 * - bpf_validate() is FreeBSD's: 1..BPF_MAXINSNS instructions, every opcode in the
 *   valid set (the same set as FreeBSD's bpf_code_map bitmap, derived here from the
 *   table of implemented opcodes), jumps within the program, M[] indices below
 *   BPF_MEMWORDS, no constant division/modulo by zero, and a RET last.
 *
 * Where we differ (deliberately):
 * - the interpreter never trusts that the program was validated: a jump past the end, a
 *   scratch index >= BPF_MEMWORDS, a constant divisor of 0 or falling off the end all
 *   reject the packet instead of reading stray memory.  FreeBSD relies on bpf_validate
 *   having run (BIOCSETF always validates; callers here should too);
 * - shifts by 32 or more give 0 (libpcap's userland bpf_filter does this; in C the
 *   kernel's `A <<= X` is undefined behaviour for X >= 32 and masks on amd64).
 *   bpf_validate also rejects a constant shift >= 32 as libpcap's does; FreeBSD's
 *   kernel checker accepts it;
 * - there is no mbuf-chain mode (FreeBSD's buflen == 0 convention): packets are one
 *   contiguous Uint8Array; a caller holding a chain copies it (XXX: bpf_mtap will have
 *   to linearise or we add a chain-walking loader);
 * - a null program accepts the whole packet (FreeBSD: pc == NULL returns (u_int)-1),
 *   but an empty array is just a program that falls off its end and rejects.
 */

import { struct, u16, u32, i64, ptr, uint } from '../sys/types.js';
import { _IOW } from '../sys/ioccom.js';

/** struct bpf_insn, as a plain record (the byte form is bpf_program_encode's). */
export interface bpf_insn {
  /** u_short */
  readonly code: number;
  /** u_char: offset from the next instruction when the condition holds */
  readonly jt: number;
  /** u_char: offset from the next instruction when it does not */
  readonly jf: number;
  /** uint32_t: the generic field */
  readonly k: number;
}

export type bpf_program = readonly bpf_insn[];

/* Instruction classes: BPF_CLASS(code). */
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;

/* ld/ldx fields: BPF_SIZE(code), BPF_MODE(code). */
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_LEN = 0x80;
export const BPF_MSH = 0xa0;

/* alu/jmp fields: BPF_OP(code), BPF_SRC(code). */
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;

export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;

export const BPF_K = 0x00;
export const BPF_X = 0x08;

/* ret: BPF_RVAL(code). */
export const BPF_A = 0x10;

/* misc: BPF_MISCOP(code). */
export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;

export const BPF_CLASS = (code: number): number => code & 0x07;
export const BPF_SIZE = (code: number): number => code & 0x18;
export const BPF_MODE = (code: number): number => code & 0xe0;
export const BPF_OP = (code: number): number => code & 0xf0;
export const BPF_SRC = (code: number): number => code & 0x08;
export const BPF_RVAL = (code: number): number => code & 0x18;
export const BPF_MISCOP = (code: number): number => code & 0xf8;

/** Scratch memory words (M[0..15]). */
export const BPF_MEMWORDS = 16;
/** Longest program BIOCSETF accepts. */
export const BPF_MAXINSNS = 512;
/** Size of struct bpf_insn in bytes. */
export const BPF_INSN_SIZE = 8;

/** BPF_STMT(code, k) */
export function BPF_STMT(code: number, k: number): bpf_insn {
  return { code: code & 0xffff, jt: 0, jf: 0, k: k >>> 0 };
}

/** BPF_JUMP(code, k, jt, jf) */
export function BPF_JUMP(code: number, k: number, jt: number, jf: number): bpf_insn {
  return { code: code & 0xffff, jt: jt & 0xff, jf: jf & 0xff, k: k >>> 0 };
}

/* Data link types (net/dlt.h) — the ones we produce. */
export const DLT_NULL = 0;
export const DLT_EN10MB = 1;

/*
 * Capture records: struct bpf_hdr (net/bpf.h, amd64).
 *
 *   struct bpf_hdr {
 *       struct timeval bh_tstamp;   // 16 bytes: time_t tv_sec, long tv_usec
 *       uint32_t       bh_caplen;   // bytes captured
 *       uint32_t       bh_datalen;  // length on the wire
 *       u_short        bh_hdrlen;   // this header plus alignment padding
 *   };
 *
 * sizeof(struct bpf_hdr) is 32 with tail padding, but the kernel uses
 * SIZEOF_BPF_HDR = offsetof(bh_hdrlen) + sizeof(bh_hdrlen) = 26 and pads so the
 * network-layer header after the link header is BPF_WORDALIGN'ed:
 * bh_hdrlen = BPF_WORDALIGN(hdrlen + SIZEOF_BPF_HDR) - hdrlen.
 */
export const timeval = struct('timeval', [
  ['tv_sec', i64],
  ['tv_usec', i64],
]);
export const bpf_hdr = struct('bpf_hdr', [
  ['bh_tstamp', timeval.type],
  ['bh_caplen', u32],
  ['bh_datalen', u32],
  ['bh_hdrlen', u16],
]);
export const SIZEOF_BPF_HDR = 26;
/** sizeof(long) on amd64. */
export const BPF_ALIGNMENT = 8;
export function BPF_WORDALIGN(x: number): number {
  return (x + (BPF_ALIGNMENT - 1)) & ~(BPF_ALIGNMENT - 1);
}
/** bh_hdrlen for a link type whose header is `linkhdrlen` bytes (14 for Ethernet: 26). */
export function bpf_hdrlen(linkhdrlen: number): number {
  return BPF_WORDALIGN(linkhdrlen + SIZEOF_BPF_HDR) - linkhdrlen;
}

/** Write a struct bpf_hdr at b[off..]; returns bh_hdrlen (where the packet goes). */
export function bpf_hdr_encode(
  b: Uint8Array,
  off: number,
  tv_sec: number,
  tv_usec: number,
  caplen: number,
  datalen: number,
  hdrlen: number,
): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  dv.setBigInt64(off, BigInt(Math.trunc(tv_sec)), true);
  dv.setBigInt64(off + 8, BigInt(Math.trunc(tv_usec)), true);
  dv.setUint32(off + 16, caplen >>> 0, true);
  dv.setUint32(off + 20, datalen >>> 0, true);
  dv.setUint16(off + 24, hdrlen & 0xffff, true);
  return hdrlen;
}

/** struct bpf_program { u_int bf_len; struct bpf_insn *bf_insns; } (16 bytes on amd64). */
export const bpf_program_layout = struct('bpf_program', [
  ['bf_len', uint],
  ['bf_insns', ptr],
]);
/** BIOCSETF: _IOW('B', 103, struct bpf_program) */
export const BIOCSETF = _IOW('B', 103, bpf_program_layout);

/** The bf_insns array as bytes: 8 per instruction, little endian (amd64). */
export function bpf_program_encode(prog: bpf_program): Uint8Array {
  const b = new Uint8Array(prog.length * BPF_INSN_SIZE);
  const dv = new DataView(b.buffer);
  prog.forEach((p, i) => {
    const o = i * BPF_INSN_SIZE;
    dv.setUint16(o, p.code & 0xffff, true);
    dv.setUint8(o + 2, p.jt & 0xff);
    dv.setUint8(o + 3, p.jf & 0xff);
    dv.setUint32(o + 4, p.k >>> 0, true);
  });
  return b;
}

/** Decode a bf_insns array; null if the length is not a whole number of instructions. */
export function bpf_program_decode(
  b: Uint8Array,
  off = 0,
  len = b.length - off,
): bpf_insn[] | null {
  if (len < 0 || off < 0 || off + len > b.length || len % BPF_INSN_SIZE !== 0) return null;
  const dv = new DataView(b.buffer, b.byteOffset + off, len);
  const out: bpf_insn[] = [];
  for (let o = 0; o < len; o += BPF_INSN_SIZE) {
    out.push({
      code: dv.getUint16(o, true),
      jt: dv.getUint8(o + 2),
      jf: dv.getUint8(o + 3),
      k: dv.getUint32(o + 4, true),
    });
  }
  return out;
}

/** Every opcode the machine implements (FreeBSD's bpf_code_map, as a list). */
export const BPF_VALID_CODES: ReadonlySet<number> = (() => {
  const s = new Set<number>();
  for (const size of [BPF_W, BPF_H, BPF_B])
    for (const mode of [BPF_ABS, BPF_IND]) s.add(BPF_LD | size | mode);
  s.add(BPF_LD | BPF_W | BPF_IMM);
  s.add(BPF_LD | BPF_W | BPF_LEN);
  s.add(BPF_LD | BPF_W | BPF_MEM);
  s.add(BPF_LDX | BPF_W | BPF_IMM);
  s.add(BPF_LDX | BPF_W | BPF_MEM);
  s.add(BPF_LDX | BPF_W | BPF_LEN);
  s.add(BPF_LDX | BPF_B | BPF_MSH);
  s.add(BPF_ST);
  s.add(BPF_STX);
  const aluops = [BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH];
  for (const op of [...aluops, BPF_MOD, BPF_XOR])
    for (const src of [BPF_K, BPF_X]) s.add(BPF_ALU | op | src);
  s.add(BPF_ALU | BPF_NEG);
  s.add(BPF_JMP | BPF_JA);
  for (const op of [BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET])
    for (const src of [BPF_K, BPF_X]) s.add(BPF_JMP | op | src);
  s.add(BPF_RET | BPF_K);
  s.add(BPF_RET | BPF_A);
  s.add(BPF_MISC | BPF_TAX);
  s.add(BPF_MISC | BPF_TXA);
  return s;
})();

/**
 * bpf_validate: true if the program is safe to run (FreeBSD's checks, plus libpcap's
 * constant shift check).  Never throws.
 */
export function bpf_validate(prog: bpf_program): boolean {
  const len = prog.length;
  if (len < 1 || len > BPF_MAXINSNS) return false;
  for (let i = 0; i < len; i++) {
    const p = prog[i]!;
    if (!BPF_VALID_CODES.has(p.code)) return false;
    if (BPF_CLASS(p.code) === BPF_JMP) {
      // Forward and inside the program: the target must be an instruction after i.
      const offset = p.code === (BPF_JMP | BPF_JA) ? p.k >>> 0 : Math.max(p.jt, p.jf);
      if (offset >= len - i - 1) return false;
      continue;
    }
    if (
      p.code === BPF_ST ||
      p.code === BPF_STX ||
      p.code === (BPF_LD | BPF_MEM) ||
      p.code === (BPF_LDX | BPF_MEM)
    ) {
      if (p.k >>> 0 >= BPF_MEMWORDS) return false;
      continue;
    }
    if (
      (p.code === (BPF_ALU | BPF_DIV | BPF_K) || p.code === (BPF_ALU | BPF_MOD | BPF_K)) &&
      p.k === 0
    )
      return false;
    if (
      (p.code === (BPF_ALU | BPF_LSH | BPF_K) || p.code === (BPF_ALU | BPF_RSH | BPF_K)) &&
      p.k >>> 0 >= 32
    )
      return false;
  }
  return BPF_CLASS(prog[len - 1]!.code) === BPF_RET;
}

/** Load `size` bytes big endian at k, or -1 if it does not fit in buflen bytes. */
function load(pkt: Uint8Array, buflen: number, k: number, size: number): number {
  if (k < 0 || k + size > buflen) return -1;
  switch (size) {
    case 4:
      return ((pkt[k]! << 24) | (pkt[k + 1]! << 16) | (pkt[k + 2]! << 8) | pkt[k + 3]!) >>> 0;
    case 2:
      return (pkt[k]! << 8) | pkt[k + 1]!;
    default:
      return pkt[k]!;
  }
}

function aluop(op: number, a: number, v: number): number {
  switch (op) {
    case BPF_ADD:
      return (a + v) >>> 0;
    case BPF_SUB:
      return (a - v) >>> 0;
    case BPF_MUL:
      return Math.imul(a, v) >>> 0;
    case BPF_DIV:
      return Math.floor(a / v) >>> 0;
    case BPF_MOD:
      return (a % v) >>> 0;
    case BPF_AND:
      return (a & v) >>> 0;
    case BPF_OR:
      return (a | v) >>> 0;
    case BPF_XOR:
      return (a ^ v) >>> 0;
    case BPF_LSH:
      return v >= 32 ? 0 : (a << v) >>> 0;
    case BPF_RSH:
      return v >= 32 ? 0 : a >>> v;
    default:
      return -1;
  }
}

/**
 * bpf_filter: run `prog` over the first `buflen` bytes of `pkt`, a packet of `wirelen`
 * bytes on the wire.  Returns how many bytes to capture (0 rejects); a null program
 * accepts everything (0xffffffff).  Never throws, never reads outside
 * pkt[0, min(buflen, pkt.length)).
 */
export function bpf_filter(
  prog: bpf_program | null,
  pkt: Uint8Array,
  wirelen: number,
  buflen: number,
): number {
  if (prog === null) return 0xffffffff;
  buflen = Math.max(0, Math.min(Math.trunc(buflen) || 0, pkt.length));
  wirelen = Math.trunc(wirelen) >>> 0;
  // Scratch memory, allocated only by programs that store (reads before a store give 0).
  let mem: Uint32Array | null = null;
  let A = 0;
  let X = 0;
  const n = prog.length;
  for (let pc = 0; pc < n; pc++) {
    const p = prog[pc]!;
    const k = p.k >>> 0;
    const code = p.code;
    switch (BPF_CLASS(code)) {
      case BPF_RET:
        if (code === (BPF_RET | BPF_K)) return k;
        if (code === (BPF_RET | BPF_A)) return A;
        return 0;
      case BPF_LD: {
        const size = BPF_SIZE(code) === BPF_W ? 4 : BPF_SIZE(code) === BPF_H ? 2 : 1;
        switch (BPF_MODE(code)) {
          case BPF_ABS:
          case BPF_IND: {
            if (BPF_SIZE(code) === 0x18) return 0;
            const off = BPF_MODE(code) === BPF_IND ? X + k : k;
            const v = load(pkt, buflen, off, size);
            if (v < 0) return 0;
            A = v;
            break;
          }
          case BPF_IMM:
            if (BPF_SIZE(code) !== BPF_W) return 0;
            A = k;
            break;
          case BPF_LEN:
            if (BPF_SIZE(code) !== BPF_W) return 0;
            A = wirelen;
            break;
          case BPF_MEM:
            if (BPF_SIZE(code) !== BPF_W || k >= BPF_MEMWORDS) return 0;
            A = mem?.[k] ?? 0;
            break;
          default:
            return 0;
        }
        break;
      }
      case BPF_LDX:
        if (code === (BPF_LDX | BPF_W | BPF_IMM)) X = k;
        else if (code === (BPF_LDX | BPF_W | BPF_LEN)) X = wirelen;
        else if (code === (BPF_LDX | BPF_W | BPF_MEM)) {
          if (k >= BPF_MEMWORDS) return 0;
          X = mem?.[k] ?? 0;
        } else if (code === (BPF_LDX | BPF_B | BPF_MSH)) {
          const v = load(pkt, buflen, k, 1);
          if (v < 0) return 0;
          X = (v & 0xf) << 2;
        } else return 0;
        break;
      case BPF_ST:
        if (code !== BPF_ST || k >= BPF_MEMWORDS) return 0;
        (mem ??= new Uint32Array(BPF_MEMWORDS))[k] = A;
        break;
      case BPF_STX:
        if (code !== BPF_STX || k >= BPF_MEMWORDS) return 0;
        (mem ??= new Uint32Array(BPF_MEMWORDS))[k] = X;
        break;
      case BPF_ALU: {
        const op = BPF_OP(code);
        if (op === BPF_NEG) {
          if (code !== (BPF_ALU | BPF_NEG)) return 0;
          A = -A >>> 0;
          break;
        }
        const v = BPF_SRC(code) === BPF_X ? X : k;
        if ((op === BPF_DIV || op === BPF_MOD) && v === 0) return 0;
        const r = aluop(op, A, v);
        if (r < 0) return 0;
        A = r;
        break;
      }
      case BPF_JMP: {
        const op = BPF_OP(code);
        if (op === BPF_JA) {
          if (BPF_SRC(code) !== BPF_K) return 0;
          pc += k; // past the end: the loop ends and we reject
          break;
        }
        const v = BPF_SRC(code) === BPF_X ? X : k;
        let cond: boolean;
        switch (op) {
          case BPF_JEQ:
            cond = A === v;
            break;
          case BPF_JGT:
            cond = A > v;
            break;
          case BPF_JGE:
            cond = A >= v;
            break;
          case BPF_JSET:
            cond = (A & v) !== 0;
            break;
          default:
            return 0;
        }
        pc += cond ? p.jt & 0xff : p.jf & 0xff;
        break;
      }
      default: // BPF_MISC
        if (code === (BPF_MISC | BPF_TAX)) X = A;
        else if (code === (BPF_MISC | BPF_TXA)) A = X;
        else return 0;
    }
  }
  return 0; // fell off the end (an unvalidated program)
}
