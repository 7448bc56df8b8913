// The classic BPF machine (src/net/bpf_filter.ts): every instruction class, bounds,
// division by zero, bpf_validate's rules, the byte form of bf_insns, bpf_hdr sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BIOCSETF,
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_B,
  BPF_DIV,
  BPF_H,
  BPF_IMM,
  BPF_IND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_JUMP,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MAXINSNS,
  BPF_MEM,
  BPF_MEMWORDS,
  BPF_MISC,
  BPF_MOD,
  BPF_MSH,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STMT,
  BPF_STX,
  BPF_SUB,
  BPF_TAX,
  BPF_TXA,
  BPF_VALID_CODES,
  BPF_W,
  BPF_WORDALIGN,
  BPF_X,
  BPF_XOR,
  bpf_filter,
  bpf_hdr,
  bpf_hdr_encode,
  bpf_hdrlen,
  bpf_program_decode,
  bpf_program_encode,
  bpf_program_layout,
  bpf_validate,
  DLT_EN10MB,
  DLT_NULL,
  SIZEOF_BPF_HDR,
  type bpf_insn,
} from '../../src/net/bpf_filter.js';

const RET_A = BPF_STMT(BPF_RET | BPF_A, 0);
const pkt = Uint8Array.from({ length: 64 }, (_, i) => i);

/** Run `body` and return A (the program ends with ret a). */
function runA(body: bpf_insn[], p: Uint8Array = pkt, wirelen = p.length): number {
  const prog = [...body, RET_A];
  return bpf_filter(prog, p, wirelen, p.length);
}

test('ld: W/H/B ABS loads are big endian; IMM, LEN, MEM', () => {
  assert.equal(runA([BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4)]), 0x04050607);
  assert.equal(runA([BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 10)]), 0x0a0b);
  assert.equal(runA([BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 63)]), 63);
  assert.equal(runA([BPF_STMT(BPF_LD | BPF_IMM, 0xdeadbeef)]), 0xdeadbeef);
  assert.equal(runA([BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0)], pkt, 1500), 1500);
  assert.equal(
    runA([
      BPF_STMT(BPF_LD | BPF_IMM, 77),
      BPF_STMT(BPF_ST, 15),
      BPF_STMT(BPF_LD | BPF_IMM, 0),
      BPF_STMT(BPF_LD | BPF_MEM, 15),
    ]),
    77,
  );
  // A 32-bit load with the top bit set stays unsigned.
  const hi = Uint8Array.of(0xff, 0xfe, 0xfd, 0xfc);
  assert.equal(runA([BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0)], hi), 0xfffefdfc);
});

test('ld IND and ldx MSH: X-relative loads, 4*([k]&0xf)', () => {
  assert.equal(
    runA([BPF_STMT(BPF_LDX | BPF_IMM, 8), BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2)]),
    0x0a0b,
  );
  assert.equal(
    runA([BPF_STMT(BPF_LDX | BPF_IMM, 60), BPF_STMT(BPF_LD | BPF_W | BPF_IND, 0)]),
    0x3c3d3e3f,
  );
  const ip = Uint8Array.of(0x46, 0, 0, 0);
  assert.equal(
    runA([BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0), BPF_STMT(BPF_MISC | BPF_TXA, 0)], ip),
    24,
  );
});

test('ldx: IMM, LEN, MEM; st/stx; tax/txa', () => {
  assert.equal(runA([BPF_STMT(BPF_LDX | BPF_IMM, 9), BPF_STMT(BPF_MISC | BPF_TXA, 0)]), 9);
  assert.equal(
    runA([BPF_STMT(BPF_LDX | BPF_W | BPF_LEN, 0), BPF_STMT(BPF_MISC | BPF_TXA, 0)], pkt, 999),
    999,
  );
  assert.equal(
    runA([
      BPF_STMT(BPF_LDX | BPF_IMM, 5),
      BPF_STMT(BPF_STX, 3),
      BPF_STMT(BPF_LDX | BPF_IMM, 0),
      BPF_STMT(BPF_LDX | BPF_MEM, 3),
      BPF_STMT(BPF_MISC | BPF_TXA, 0),
    ]),
    5,
  );
  assert.equal(
    runA([
      BPF_STMT(BPF_LD | BPF_IMM, 42),
      BPF_STMT(BPF_MISC | BPF_TAX, 0),
      BPF_STMT(BPF_LD | BPF_IMM, 0),
      BPF_STMT(BPF_MISC | BPF_TXA, 0),
    ]),
    42,
  );
  // Scratch memory starts zeroed.
  assert.equal(runA([BPF_STMT(BPF_LD | BPF_MEM, 0)]), 0);
});

test('alu: every op with K and X, 32-bit unsigned wrap-around', () => {
  const cases: [number, number, number, number][] = [
    [BPF_ADD, 0xffffffff, 2, 1],
    [BPF_SUB, 1, 2, 0xffffffff],
    [BPF_MUL, 0x10000, 0x10000, 0],
    [BPF_MUL, 0xffffffff, 0xffffffff, 1],
    [BPF_DIV, 0xffffffff, 16, 0x0fffffff],
    [BPF_MOD, 100, 7, 2],
    [BPF_AND, 0xf0f0f0f0, 0xff00ff00, 0xf000f000],
    [BPF_OR, 0xf0000000, 0x0f, 0xf000000f],
    [BPF_XOR, 0xffffffff, 0x0f0f0f0f, 0xf0f0f0f0],
    [BPF_LSH, 1, 31, 0x80000000],
    [BPF_LSH, 1, 32, 0],
    [BPF_RSH, 0x80000000, 31, 1],
    [BPF_RSH, 0x80000000, 40, 0],
  ];
  for (const [op, a, v, want] of cases) {
    const k = runA([BPF_STMT(BPF_LD | BPF_IMM, a), BPF_STMT(BPF_ALU | op | BPF_K, v)]);
    assert.equal(k, want, `op 0x${op.toString(16)} K`);
    const x = runA([
      BPF_STMT(BPF_LDX | BPF_IMM, v),
      BPF_STMT(BPF_LD | BPF_IMM, a),
      BPF_STMT(BPF_ALU | op | BPF_X, 0),
    ]);
    assert.equal(x, want, `op 0x${op.toString(16)} X`);
  }
  assert.equal(runA([BPF_STMT(BPF_LD | BPF_IMM, 1), BPF_STMT(BPF_ALU | BPF_NEG, 0)]), 0xffffffff);
  assert.equal(runA([BPF_STMT(BPF_LD | BPF_IMM, 0), BPF_STMT(BPF_ALU | BPF_NEG, 0)]), 0);
});

test('division and modulo by zero reject the packet', () => {
  for (const op of [BPF_DIV, BPF_MOD]) {
    const byX = [
      BPF_STMT(BPF_LDX | BPF_IMM, 0),
      BPF_STMT(BPF_LD | BPF_IMM, 10),
      BPF_STMT(BPF_ALU | op | BPF_X, 0),
      BPF_STMT(BPF_RET | BPF_K, 100),
    ];
    assert.ok(bpf_validate(byX), 'X divisor is only known at run time');
    assert.equal(bpf_filter(byX, pkt, 64, 64), 0);
    const byK = [BPF_STMT(BPF_ALU | op | BPF_K, 0), BPF_STMT(BPF_RET | BPF_K, 100)];
    assert.equal(bpf_validate(byK), false, 'constant divisor 0 is rejected');
    assert.equal(bpf_filter(byK, pkt, 64, 64), 0, 'and rejects if run anyway');
  }
});

test('jmp: ja, jeq/jgt/jge/jset with K and X take jt or jf', () => {
  const j = (op: number, a: number, v: number, src: number): number =>
    bpf_filter(
      [
        BPF_STMT(BPF_LDX | BPF_IMM, v),
        BPF_STMT(BPF_LD | BPF_IMM, a),
        BPF_JUMP(BPF_JMP | op | src, v, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, 2), // false
        BPF_STMT(BPF_RET | BPF_K, 1), // true
      ],
      pkt,
      64,
      64,
    );
  for (const src of [BPF_K, BPF_X]) {
    assert.equal(j(BPF_JEQ, 5, 5, src), 1);
    assert.equal(j(BPF_JEQ, 5, 6, src), 2);
    assert.equal(j(BPF_JGT, 6, 5, src), 1);
    assert.equal(j(BPF_JGT, 5, 5, src), 2);
    assert.equal(j(BPF_JGE, 5, 5, src), 1);
    assert.equal(j(BPF_JGE, 4, 5, src), 2);
    assert.equal(j(BPF_JSET, 6, 2, src), 1);
    assert.equal(j(BPF_JSET, 5, 2, src), 2);
    // Comparisons are unsigned.
    assert.equal(j(BPF_JGT, 0x80000000, 1, src), 1);
  }
  const ja = [
    BPF_STMT(BPF_JMP | BPF_JA, 1),
    BPF_STMT(BPF_RET | BPF_K, 0),
    BPF_STMT(BPF_RET | BPF_K, 7),
  ];
  assert.ok(bpf_validate(ja));
  assert.equal(bpf_filter(ja, pkt, 64, 64), 7);
});

test('ret: K, A; snap length is the returned value; null program accepts all', () => {
  assert.equal(bpf_filter([BPF_STMT(BPF_RET | BPF_K, 96)], pkt, 64, 64), 96);
  assert.equal(runA([BPF_STMT(BPF_LD | BPF_IMM, 3)]), 3);
  assert.equal(bpf_filter(null, pkt, 64, 64), 0xffffffff);
  assert.equal(bpf_filter([], pkt, 64, 64), 0, 'falling off the end rejects');
});

test('loads past the end of the captured bytes reject the packet', () => {
  const accept = BPF_STMT(BPF_RET | BPF_K, 1);
  const run = (ins: bpf_insn, buflen: number, x = 0): number =>
    bpf_filter([BPF_STMT(BPF_LDX | BPF_IMM, x), ins, accept], pkt, 64, buflen);
  assert.equal(run(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 60), 64), 1);
  assert.equal(run(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 61), 64), 0);
  assert.equal(run(BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 63), 64), 0);
  assert.equal(run(BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 64), 64), 0);
  assert.equal(run(BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0xffffffff), 64), 0);
  // buflen, not the array length, bounds the loads (a snapped capture).
  assert.equal(run(BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 20), 20), 0);
  assert.equal(run(BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 19), 20), 1);
  // buflen larger than the array is clamped to the array.
  assert.equal(run(BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 64), 1000), 0);
  // IND: X + k past the end, and X + k overflowing 32 bits.
  assert.equal(run(BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2), 64, 61), 0);
  assert.equal(run(BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2), 64, 60), 1);
  assert.equal(run(BPF_STMT(BPF_LD | BPF_B | BPF_IND, 0xffffffff), 64, 2), 0);
  assert.equal(run(BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 64), 64), 0);
  // An empty packet: any load rejects; LEN still works.
  const none = new Uint8Array(0);
  assert.equal(bpf_filter([BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0), accept], none, 0, 0), 0);
  assert.equal(bpf_filter([BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0), RET_A], none, 60, 0), 60);
});

test('the interpreter rejects, not crashes, on unvalidated programs', () => {
  const bad: bpf_insn[][] = [
    [BPF_STMT(BPF_LD | BPF_MEM, 16), RET_A],
    [BPF_STMT(BPF_ST, 99), RET_A],
    [BPF_STMT(BPF_JMP | BPF_JA, 100), RET_A],
    [BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 200, 200), RET_A],
    [{ code: 0xffff, jt: 0, jf: 0, k: 0 }, RET_A],
    [BPF_STMT(BPF_LD | BPF_IMM, 1)],
  ];
  for (const p of bad) {
    assert.equal(bpf_validate(p), false);
    assert.equal(bpf_filter(p, pkt, 64, 64), 0);
  }
});

test('bpf_validate: FreeBSD rules', () => {
  const ret = BPF_STMT(BPF_RET | BPF_K, 1);
  assert.equal(bpf_validate([]), false, 'empty');
  assert.equal(bpf_validate([ret]), true);
  assert.equal(bpf_validate([BPF_STMT(BPF_LD | BPF_IMM, 1)]), false, 'no RET last');
  assert.equal(bpf_validate([ret, BPF_STMT(BPF_LD | BPF_IMM, 1)]), false, 'RET not last');
  // A "backward" jump: ja's k is unsigned, so -1 is a huge offset.
  assert.equal(bpf_validate([BPF_STMT(BPF_JMP | BPF_JA, 0xffffffff), ret]), false);
  // Jump targets must be inside the program (the last valid offset reaches the end).
  assert.equal(bpf_validate([BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), ret]), false);
  assert.equal(bpf_validate([BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), ret, ret]), true);
  assert.equal(bpf_validate([BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0), ret, ret]), false);
  assert.equal(bpf_validate([BPF_STMT(BPF_JMP | BPF_JA, 1), ret]), false);
  assert.equal(bpf_validate([BPF_STMT(BPF_JMP | BPF_JA, 0), ret]), true);
  // Memory indices.
  for (const code of [BPF_ST, BPF_STX, BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM]) {
    assert.equal(bpf_validate([BPF_STMT(code, BPF_MEMWORDS - 1), ret]), true);
    assert.equal(bpf_validate([BPF_STMT(code, BPF_MEMWORDS), ret]), false);
  }
  // Opcodes: the valid set and nothing else.
  assert.equal(bpf_validate([{ code: 0x18, jt: 0, jf: 0, k: 0 }, ret]), false);
  assert.equal(bpf_validate([{ code: 0x0e, jt: 0, jf: 0, k: 0 }]), false, 'ret x');
  assert.equal(bpf_validate([BPF_STMT(BPF_LD | BPF_H | BPF_IMM, 0), ret]), false);
  // FreeBSD's bpf_code_map: one 16-bit word per 16 opcodes.
  const code_map = [
    0x10ff, 0x3070, 0x3131, 0x3031, 0x3131, 0x1011, 0x1013, 0x1010, 0x0093, 0x1010, 0x1010, 0x0002,
    0, 0, 0, 0,
  ];
  for (let c = 0; c < 0x100; c++)
    assert.equal(
      BPF_VALID_CODES.has(c),
      ((code_map[c >> 4]! >> (c & 0xf)) & 1) === 1,
      `0x${c.toString(16)}`,
    );
  assert.equal(BPF_VALID_CODES.size, 49);
  // Length.
  const long = Array.from({ length: BPF_MAXINSNS }, () => ret);
  assert.equal(bpf_validate(long), true);
  assert.equal(bpf_validate([...long, ret]), false);
  // Constant shifts of 32 or more (libpcap's rule).
  assert.equal(bpf_validate([BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32), ret]), false);
  assert.equal(bpf_validate([BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 31), ret]), true);
});

test('tcpdump -d ip: the hand-written program filters frames', () => {
  // (000) ldh [12]; (001) jeq #0x800 jt 2 jf 3; (002) ret #262144; (003) ret #0
  const ip = [
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x800, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 262144),
    BPF_STMT(BPF_RET | BPF_K, 0),
  ];
  assert.ok(bpf_validate(ip));
  const frame = (type: number): Uint8Array => {
    const f = new Uint8Array(60);
    f[12] = type >> 8;
    f[13] = type & 0xff;
    return f;
  };
  assert.equal(bpf_filter(ip, frame(0x0800), 60, 60), 262144);
  assert.equal(bpf_filter(ip, frame(0x0806), 60, 60), 0);
  assert.equal(bpf_filter(ip, frame(0x86dd), 60, 60), 0);
  assert.equal(bpf_filter(ip, frame(0x0800).subarray(0, 13), 60, 13), 0, 'truncated');
});

test('bf_insns byte form: 8 bytes per instruction, little endian, round trip', () => {
  const prog = [
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x800, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xfffffffe),
    BPF_STMT(BPF_RET | BPF_K, 0),
  ];
  const b = bpf_program_encode(prog);
  assert.equal(b.length, 32);
  assert.deepEqual(
    Array.from(b.subarray(0, 16)),
    [0x28, 0, 0, 0, 12, 0, 0, 0, 0x15, 0, 0, 1, 0, 8, 0, 0],
  );
  assert.deepEqual(bpf_program_decode(b), prog);
  assert.equal(bpf_program_decode(b.subarray(0, 7)), null);
  assert.deepEqual(bpf_program_decode(b, 8, 8), [prog[1]]);
  assert.equal(bpf_program_decode(b, 8, 32), null, 'range past the end');
});

test('bpf_hdr, struct bpf_program, BIOCSETF, DLTs', () => {
  assert.equal(bpf_hdr.size, 32);
  assert.equal(bpf_hdr.byName.get('bh_caplen')!.offset, 16);
  assert.equal(bpf_hdr.byName.get('bh_datalen')!.offset, 20);
  assert.equal(bpf_hdr.byName.get('bh_hdrlen')!.offset, 24);
  assert.equal(SIZEOF_BPF_HDR, 26);
  assert.equal(BPF_WORDALIGN(26), 32);
  assert.equal(BPF_WORDALIGN(32), 32);
  assert.equal(bpf_hdrlen(14), 26, 'Ethernet: the IP header lands 8-byte aligned');
  assert.equal(bpf_hdrlen(4), 28, 'DLT_NULL');
  assert.equal(bpf_program_layout.size, 16);
  assert.equal(BIOCSETF, 0x80104267);
  assert.equal(DLT_EN10MB, 1);
  assert.equal(DLT_NULL, 0);
  const b = new Uint8Array(40);
  assert.equal(bpf_hdr_encode(b, 0, 1700000000, 123456, 60, 1514, 26), 26);
  const dv = new DataView(b.buffer);
  assert.equal(dv.getBigInt64(0, true), 1700000000n);
  assert.equal(dv.getBigInt64(8, true), 123456n);
  assert.equal(dv.getUint32(16, true), 60);
  assert.equal(dv.getUint32(20, true), 1514);
  assert.equal(dv.getUint16(24, true), 26);
});

test('BPF_TXA/TAX and misc opcodes outside the set reject at run time', () => {
  assert.equal(bpf_filter([{ code: BPF_MISC | 0x40, jt: 0, jf: 0, k: 0 }, RET_A], pkt, 64, 64), 0);
  assert.equal(
    runA([
      BPF_STMT(BPF_LD | BPF_IMM, 1),
      BPF_STMT(BPF_MISC | BPF_TAX, 0),
      BPF_STMT(BPF_MISC | BPF_TXA, 0),
    ]),
    1,
  );
});
