/*
 * fuzz/bpf.ts — seeded fuzz target for the BPF machine (src/net/bpf_filter.ts) and the
 * filter compiler (src/lib/pcap_compile.ts).
 *
 * Inputs: random programs (opcodes mostly from the valid set, offsets near packet
 * sizes, jumps near the end of the program, some raw garbage), random packets and
 * mutated Ethernet frames, and random filter expressions built from pcap-filter tokens.
 *
 * Invariants (style item 13):
 * - no exception escapes bpf_filter, bpf_validate, the bf_insns codec or pcap_compile;
 * - no read past the buffer: every program runs twice, once on the exact packet and
 *   once on the packet followed by random garbage with buflen = the packet's length;
 *   both runs must return the same value;
 * - bpf_filter returns an unsigned 32-bit integer;
 * - bpf_program_decode(bpf_program_encode(p)) equals p;
 * - whatever pcap_compile accepts passes bpf_validate, and its optimised and
 *   unoptimised programs give the same result on every packet.
 *
 * Run directly: node dist/fuzz/bpf.js [iterations] [seed]
 */

import {
  BPF_JMP,
  BPF_MAXINSNS,
  BPF_RET,
  BPF_VALID_CODES,
  bpf_filter,
  bpf_program_decode,
  bpf_program_encode,
  bpf_validate,
  type bpf_insn,
} from '../src/net/bpf_filter.js';
import { pcap_compile } from '../src/lib/pcap_compile.js';

/** mulberry32: a tiny seeded PRNG (uint32 outputs). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const CODES = [...BPF_VALID_CODES];

function randK(rnd: () => number): number {
  switch (rnd() % 6) {
    case 0:
      return rnd();
    case 1:
      return rnd() % 16;
    case 2:
      return 0xffffffff - (rnd() % 4);
    default:
      return rnd() % 80;
  }
}

function randProgram(rnd: () => number): bpf_insn[] {
  const n = 1 + (rnd() % 24);
  const prog: bpf_insn[] = [];
  for (let i = 0; i < n; i++) {
    const code = rnd() % 20 === 0 ? rnd() & 0xffff : CODES[rnd() % CODES.length]!;
    const left = n - i - 1;
    const near = (): number => (rnd() % 8 === 0 ? rnd() & 0xff : left > 0 ? rnd() % left : 0);
    let k = randK(rnd);
    if ((code & 0x07) === BPF_JMP && (code & 0xf0) === 0 && rnd() % 4) k = near();
    prog.push({ code, jt: near(), jf: near(), k: k >>> 0 });
  }
  if (rnd() % 8) prog.push({ code: BPF_RET | (rnd() % 2 ? 0x10 : 0), jt: 0, jf: 0, k: randK(rnd) });
  return prog;
}

function ether(rnd: () => number): Uint8Array {
  const type = [0x0800, 0x0806, 0x86dd, 0x8035, 0x88cc][rnd() % 5]!;
  const len = 14 + (rnd() % 90);
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = rnd() & 0xff;
  b[12] = type >> 8;
  b[13] = type & 0xff;
  if (type === 0x0800 && len > 24) {
    b[14] = 0x45 + (rnd() % 3);
    b[23] = [1, 6, 17][rnd() % 3]!;
    if (rnd() % 2) b[20] = b[21] = 0;
    // Plant values the structured expressions look for.
    if (rnd() % 2 && len >= 34) b.set([192, 0, 2, 1], rnd() % 2 ? 26 : 30);
    if (rnd() % 2 && len >= 34) b.set([10, rnd() & 0xff, 0, 1], rnd() % 2 ? 26 : 30);
    if (rnd() % 2 && len >= 38) b.set([0, rnd() % 2 ? 53 : rnd() & 0xff], rnd() % 2 ? 34 : 36);
  }
  return b;
}

function randPacket(rnd: () => number): Uint8Array {
  if (rnd() % 2) return ether(rnd);
  const b = new Uint8Array(rnd() % 72);
  for (let i = 0; i < b.length; i++) b[i] = rnd() & 0xff;
  return b;
}

const TOKENS = [
  'ip',
  'ip6',
  'arp',
  'rarp',
  'tcp',
  'udp',
  'icmp',
  'ether',
  'host',
  'net',
  'port',
  'portrange',
  'src',
  'dst',
  'proto',
  'and',
  'or',
  'not',
  '!',
  '&&',
  '||',
  '(',
  ')',
  'less',
  'greater',
  'broadcast',
  'multicast',
  'len',
  '[',
  ']',
  ':',
  '=',
  '!=',
  '<',
  '>',
  '<=',
  '>=',
  '&',
  '|',
  '+',
  '-',
  '*',
  '/',
  '%',
  '<<',
  '>>',
  '1',
  '2',
  '4',
  '13',
  '53',
  '80',
  '0x1fff',
  '70000',
  '198.18.0.0/15',
  '192.0.2.1',
  '198.51.100',
  'mask',
  '255.255.0.0',
  '02:00:00:00:00:01',
  'tcpflags',
  'tcp-syn',
  'icmptype',
  'domain',
  '\\tcp',
  'localhost',
  'nosuchhost',
  '1-1024',
  '$',
];

const PRIMS = [
  'ip',
  'arp',
  'tcp',
  'udp',
  'icmp',
  'ip6',
  'host 192.0.2.1',
  'src net 198.18.0.0/15',
  'dst port 53',
  'portrange 1-1024',
  'ether src 02:00:00:00:00:01',
  'broadcast',
  'multicast',
  'less 64',
  'greater 100',
  'tcp[tcpflags] & tcp-syn != 0',
  'ip[8] < 5',
  'udp[0:2] = udp[2:2]',
  'ip proto \\tcp',
  'ether proto 0x806',
  'len - 14 > ip[2:2]',
  'ip[ip[0] & 0xf] = 1',
];

/** Structured expressions (mostly valid) or token soup (mostly not). */
function randExpr(rnd: () => number): string {
  const out: string[] = [];
  if (rnd() % 2) {
    const n = 1 + (rnd() % 5);
    for (let i = 0; i < n; i++) {
      if (i) out.push(['and', 'or', '&&', '||'][rnd() % 4]!);
      if (rnd() % 4 === 0) out.push('not');
      out.push(rnd() % 3 ? PRIMS[rnd() % PRIMS.length]! : `(${PRIMS[rnd() % PRIMS.length]!})`);
    }
    if (rnd() % 4 === 0) out.splice(rnd() % (out.length + 1), 0, TOKENS[rnd() % TOKENS.length]!);
  } else {
    const n = 1 + (rnd() % 10);
    for (let i = 0; i < n; i++) out.push(TOKENS[rnd() % TOKENS.length]!);
  }
  return out.join(' ');
}

export interface BpfFuzzReport {
  iterations: number;
  /** Random programs bpf_validate accepted (sanity: the fuzzer reaches valid code). */
  validPrograms: number;
  /** Runs that returned non-zero. */
  accepted: number;
  /** Random expressions pcap_compile accepted. */
  compiled: number;
  failures: string[];
}

/** Run `iterations` seeded cases; returns what broke (empty `failures` is a pass). */
export function fuzzBpf(iterations: number, seed: number): BpfFuzzReport {
  const rnd = prng(seed);
  const rep: BpfFuzzReport = {
    iterations,
    validPrograms: 0,
    accepted: 0,
    compiled: 0,
    failures: [],
  };
  const show = (p: bpf_insn[]): string => JSON.stringify(p.map((i) => [i.code, i.jt, i.jf, i.k]));
  for (let it = 0; it < iterations && rep.failures.length < 10; it++) {
    let prog: bpf_insn[] = [];
    try {
      let expr = '';
      let dlt = 1;
      let snaplen = 0;
      let unopt: bpf_insn[] | null = null;
      if (rnd() % 4 === 0) {
        expr = randExpr(rnd);
        dlt = rnd() % 3 ? 1 : 0;
        snaplen = 1 + (rnd() % 65535);
        const r = pcap_compile(expr, dlt, snaplen);
        if ('prog' in r) {
          rep.compiled++;
          prog = r.prog;
          if (prog.length > BPF_MAXINSNS) continue;
          if (!bpf_validate(prog)) rep.failures.push(`#${it}: compiled '${expr}' fails validate`);
          const plain = pcap_compile(expr, dlt, snaplen, { optimize: false });
          if (!('prog' in plain)) rep.failures.push(`#${it}: '${expr}' fails unoptimised`);
          else unopt = plain.prog;
        } else if (r.error.startsWith('internal')) {
          rep.failures.push(`#${it}: '${expr}': ${r.error}`);
        }
      } else {
        prog = randProgram(rnd);
        if (bpf_validate(prog)) rep.validPrograms++;
      }
      const dec = bpf_program_decode(bpf_program_encode(prog));
      if (dec === null || show(dec) !== show(prog)) rep.failures.push(`#${it}: codec round trip`);
      for (let j = 0; j < 4; j++) {
        const pkt = randPacket(rnd);
        const wirelen = pkt.length + (rnd() % 3 === 0 ? rnd() % 1500 : 0);
        const exact = bpf_filter(prog, pkt, wirelen, pkt.length);
        const big = new Uint8Array(pkt.length + 1 + (rnd() % 64));
        for (let i = 0; i < big.length; i++) big[i] = rnd() & 0xff;
        big.set(pkt);
        const embedded = bpf_filter(prog, big, wirelen, pkt.length);
        if (exact !== embedded)
          rep.failures.push(
            `#${it}: read past the buffer (${exact} vs ${embedded}) ${show(prog)} on [${pkt.join(',')}]`,
          );
        if (!Number.isInteger(exact) || exact < 0 || exact > 0xffffffff)
          rep.failures.push(`#${it}: result ${exact} is not a u32`);
        if (exact !== 0) rep.accepted++;
        if (unopt !== null) {
          const u = bpf_filter(unopt, pkt, wirelen, pkt.length);
          if (u !== exact)
            rep.failures.push(`#${it}: '${expr}' optimised ${exact} vs ${u} on [${pkt.join(',')}]`);
        }
      }
    } catch (e) {
      rep.failures.push(`#${it}: exception ${String(e)} on ${show(prog)}`);
    }
  }
  return rep;
}

if (
  process.argv[1] !== undefined &&
  import.meta.url.endsWith(process.argv[1].replace(/.*\//, '/'))
) {
  const n = Number(process.argv[2] ?? 100000);
  const seed = Number(process.argv[3] ?? 1);
  const rep = fuzzBpf(n, seed);
  console.log(JSON.stringify(rep, null, 2));
  process.exitCode = rep.failures.length ? 1 : 0;
}
