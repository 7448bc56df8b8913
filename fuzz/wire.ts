/*
 * fuzz/wire.ts — seeded fuzz target for every wire parser and view, and the capture
 * readers.
 *
 * Inputs are random byte strings and mutations (bit flips, byte sets, truncation,
 * extension) of a small corpus of well-formed frames built here: Ethernet/ARP,
 * Ethernet/IPv4/ICMP echo, an ICMP error quoting a header, IPv4 with a record-route
 * option, UDP, TCP SYN with options, and pcap/pcapng files holding them.
 *
 * Invariants (style item 13):
 * - no exception escapes any parser, check or view getter used after a passing check;
 * - no read outside the range a parser is given: every parser runs twice, once on the
 *   exact bytes and once on the same bytes embedded between random garbage (passing
 *   offset and length), and both runs must give identical results;
 * - parse(emit(x)) equals x for every header that parsed;
 * - capture readers never report an internal error, and every packet they return lies
 *   inside the input.
 *
 * Run directly: node dist/fuzz/wire.js [iterations] [seed]
 */

import {
  ether_check,
  ether_emit,
  ether_parse,
  EtherHeader,
  ETHERTYPE_ARP,
  ETHERTYPE_IP,
  type ether_addr_t,
} from '../src/net/ethernet.js';
import {
  arp_check,
  arp_emit,
  arp_parse,
  ARPOP_REQUEST,
  EtherArp,
} from '../src/netinet/if_ether_hdr.js';
import { in_cksum } from '../src/netinet/in_cksum.js';
import {
  Ip,
  ip_check,
  ip_emit,
  ip_opt_check,
  ip_opt_find,
  ip_parse,
  IPOPT_RR,
} from '../src/netinet/ip.js';
import {
  Icmp,
  icmp_check,
  icmp_check_adv,
  icmp_emit,
  icmp_parse,
  ICMP_ECHO,
  ICMP_UNREACH,
} from '../src/netinet/ip_icmp.js';
import { udp_check, udp_emit, udp_parse, Udphdr } from '../src/netinet/udp.js';
import {
  tcp_check,
  tcp_dooptions,
  tcp_emit,
  tcp_parse,
  Tcphdr,
  Tcpopt,
  TH_SYN,
  TO_SYN,
} from '../src/netinet/tcp.js';
import {
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  in_addr,
  sockaddr_in_decode,
} from '../src/netinet/in.js';
import { concatChunks, pcap_read, PcapngWriter, PcapWriter } from '../src/net/pcap.js';

/** mulberry32: a tiny seeded PRNG (uint32 outputs). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const ETH_A = 0x020000000001 as ether_addr_t;
const ETH_B = 0x020000000002 as ether_addr_t;
const ETH_BCAST = 0xffffffffffff as ether_addr_t;
const IP_A = in_addr(0xc6120001);
const IP_B = in_addr(0xc6120002);

function ipv4(p: number, payload: Uint8Array, opts: Uint8Array = new Uint8Array(0)): Uint8Array {
  const hlen = 20 + opts.length;
  const b = new Uint8Array(14 + hlen + payload.length);
  const eh = new EtherHeader(b, 0);
  eh.ether_dhost = ETH_B;
  eh.ether_shost = ETH_A;
  eh.ether_type = ETHERTYPE_IP;
  const ip = new Ip(b, 14);
  ip.ip_v = 4;
  ip.ip_hl = hlen >> 2;
  ip.ip_len = hlen + payload.length;
  ip.ip_id = 0x1234;
  ip.ip_ttl = 64;
  ip.ip_p = p;
  ip.ip_src = IP_A;
  ip.ip_dst = IP_B;
  b.set(opts, 34);
  b.set(payload, 14 + hlen);
  ip.setChecksum();
  return b;
}

/** Well-formed frames the mutations start from. */
export function corpus(): Uint8Array[] {
  const out: Uint8Array[] = [];
  // ARP request
  const arp = new Uint8Array(42);
  ether_emit({ ether_dhost: ETH_BCAST, ether_shost: ETH_A, ether_type: ETHERTYPE_ARP }, arp);
  arp_emit(
    {
      ar_op: ARPOP_REQUEST,
      arp_sha: ETH_A,
      arp_spa: IP_A,
      arp_tha: 0 as ether_addr_t,
      arp_tpa: IP_B,
    },
    arp,
    14,
  );
  out.push(arp);
  // ICMP echo
  const echo = new Uint8Array(16);
  const ic = new Icmp(echo);
  ic.icmp_type = ICMP_ECHO;
  ic.icmp_id = 7;
  ic.icmp_seq = 1;
  ic.setChecksum(echo.length);
  out.push(ipv4(IPPROTO_ICMP, echo));
  // ICMP port unreachable quoting a UDP header
  const inner = ipv4(IPPROTO_UDP, new Uint8Array(8)).subarray(14);
  const unr = new Uint8Array(8 + inner.length);
  const iu = new Icmp(unr);
  iu.icmp_type = ICMP_UNREACH;
  iu.icmp_code = 3;
  unr.set(inner, 8);
  iu.setChecksum(unr.length);
  out.push(ipv4(IPPROTO_ICMP, unr));
  // IPv4 with record route (3 slots) carrying ICMP echo
  const rr = Uint8Array.of(IPOPT_RR, 15, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
  out.push(ipv4(IPPROTO_ICMP, echo, rr));
  // UDP
  const udp = new Uint8Array(12);
  const uh = new Udphdr(udp);
  uh.uh_sport = 5353;
  uh.uh_dport = 53;
  uh.uh_ulen = 12;
  udp.set([1, 2, 3, 4], 8);
  uh.setChecksum(IP_A, IP_B);
  out.push(ipv4(IPPROTO_UDP, udp));
  // TCP SYN with MSS, NOP, WS, SACK permitted, TS
  const tcp = new Uint8Array(40);
  const th = new Tcphdr(tcp);
  th.th_sport = 40000;
  th.th_dport = 80;
  th.th_seq = 0x01020304;
  th.th_off = 10;
  th.th_flags = TH_SYN;
  th.th_win = 65535;
  tcp.set([2, 4, 5, 0xb4, 1, 3, 3, 6, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0], 20);
  th.setChecksum(tcp.length, IP_A, IP_B);
  out.push(ipv4(IPPROTO_TCP, tcp));
  return out;
}

function captureCorpus(frames: Uint8Array[]): Uint8Array[] {
  const pw = new PcapWriter({ nanosecond: true });
  const classic = concatChunks([pw.header(), ...frames.map((f, i) => pw.packet(i * 1000, f))]);
  const ng = new PcapngWriter();
  const chunks = [
    ng.header(),
    ng.addInterface({ name: 'a' }).block,
    ng.addInterface({ name: 'b' }).block,
  ];
  frames.forEach((f, i) => chunks.push(ng.packet(i & 1, BigInt(i) << 40n, f, f.length, 'c')));
  return [classic, concatChunks(chunks)];
}

function canon(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? Array.from(x) : x,
  );
}

/** Run every parser over b[off, off+len) as an Ethernet frame; returns all results. */
function runAll(b: Uint8Array, off: number, len: number): unknown[] {
  const r: unknown[] = [];
  r.push(ether_check(len), ether_parse(b, off, len), in_cksum(b, off, len));
  if (len >= 16) r.push(sockaddr_in_decode(b.subarray(off, off + 16)));
  // Layer 3 at the start of the buffer and after an Ethernet header.
  for (const l3 of [0, 14]) {
    if (len < l3) break;
    const o = off + l3;
    const n = len - l3;
    const ac = arp_check(b, o, n);
    r.push(ac, arp_parse(b, o, n));
    if (ac === null) {
      const v = new EtherArp(b, o);
      r.push(v.ar_op, v.arp_sha, v.arp_spa, v.arp_tha, v.arp_tpa);
    }
    const ic = ip_check(b, o, n, false);
    r.push(ic, ip_check(b, o, n, true), ip_parse(b, o, n));
    let l4 = -1;
    let l4len = 0;
    let src = 0;
    let dst = 0;
    if (ic === null) {
      const ip = new Ip(b, o);
      r.push(ip.ip_v, ip.ip_hl, ip.ip_tos, ip.ip_len, ip.ip_id, ip.ip_off, ip.ip_ttl, ip.ip_p);
      r.push(ip.ip_sum, ip.ip_src, ip.ip_dst, ip.checksumOk());
      r.push(ip_opt_check(b, o, ip.hlen), ip_opt_find(b, o, ip.hlen, IPOPT_RR));
      l4 = o + ip.hlen;
      l4len = ip.ip_len - ip.hlen;
      src = ip.ip_src;
      dst = ip.ip_dst;
    } else {
      l4 = o + 20;
      l4len = Math.max(0, n - 20);
    }
    if (l4len > 0 || ic === null) {
      const icc = icmp_check(b, l4, l4len);
      r.push(icc, icmp_check_adv(b, l4, l4len), icmp_parse(b, l4, l4len));
      if (icc === null) {
        const v = new Icmp(b, l4);
        r.push(v.icmp_type, v.icmp_code, v.icmp_id, v.icmp_seq, v.icmp_nextmtu, v.icmp_gwaddr);
      }
      const uc = udp_check(b, l4, l4len, src, dst);
      r.push(uc, udp_parse(b, l4, l4len));
      if (uc === null) {
        const v = new Udphdr(b, l4);
        r.push(v.uh_sport, v.uh_dport, v.uh_ulen, v.uh_sum);
      }
      const tc = tcp_check(b, l4, l4len, src, dst, false);
      r.push(tc, tcp_check(b, l4, l4len, src, dst, true), tcp_parse(b, l4, l4len));
      if (tc === null) {
        const v = new Tcphdr(b, l4);
        const to = new Tcpopt();
        tcp_dooptions(to, b, l4 + 20, v.hlen - 20, TO_SYN);
        const { to_flags, to_mss, to_wscale, to_tsval, to_tsecr, to_nsacks, to_tfo_len } = to;
        r.push(v.th_seq, v.th_ack, v.th_flags, v.th_win, v.th_urp);
        r.push([to_flags, to_mss, to_wscale, to_tsval, to_tsecr, to_nsacks, to_tfo_len]);
      }
    }
  }
  return r;
}

/** parse(emit(x)) === x for each header that parsed from b. */
function roundTrips(b: Uint8Array): string | null {
  const scratch = new Uint8Array(b.length + 64);
  const e = ether_parse(b);
  if (e !== null) {
    ether_emit(e, scratch);
    if (canon(ether_parse(scratch, 0, 14)) !== canon(e)) return 'ether';
  }
  const p = b.subarray(Math.min(14, b.length));
  const a = arp_parse(p);
  if (a !== null) {
    arp_emit(a, scratch);
    if (canon(arp_parse(scratch, 0, 28)) !== canon(a)) return 'arp';
  }
  const ip = ip_parse(p);
  if (ip !== null) {
    const n = ip_emit(ip, scratch);
    if (canon(ip_parse(scratch, 0, n)) !== canon(ip)) return 'ip';
  }
  const ic = icmp_parse(p);
  if (ic !== null) {
    icmp_emit(ic, scratch);
    if (canon(icmp_parse(scratch, 0, 8)) !== canon(ic)) return 'icmp';
  }
  const u = udp_parse(p);
  if (u !== null) {
    udp_emit(u, scratch);
    if (canon(udp_parse(scratch, 0, 8)) !== canon(u)) return 'udp';
  }
  const t = tcp_parse(p);
  if (t !== null) {
    const n = tcp_emit(t, scratch);
    if (canon(tcp_parse(scratch, 0, n)) !== canon(t)) return 'tcp';
  }
  return null;
}

export interface FuzzReport {
  iterations: number;
  /** Inputs some layer accepted (sanity: the fuzzer reaches deep code). */
  ipAccepted: number;
  captureAccepted: number;
  failures: string[];
}

function mutate(rnd: () => number, src: Uint8Array): Uint8Array {
  let b: Uint8Array = src.slice();
  const n = 1 + (rnd() % 4);
  for (let k = 0; k < n; k++) {
    switch (rnd() % 5) {
      case 0:
        if (b.length) b[rnd() % b.length]! ^= 1 << (rnd() % 8);
        break;
      case 1:
        if (b.length) b[rnd() % b.length] = rnd() & 0xff;
        break;
      case 2:
        b = b.subarray(0, rnd() % (b.length + 1));
        break;
      case 3: {
        const e = new Uint8Array(b.length + (rnd() % 16));
        e.set(b);
        for (let i = b.length; i < e.length; i++) e[i] = rnd() & 0xff;
        b = e;
        break;
      }
      default:
        // Leave most checksums intact: mutate one header byte only.
        if (b.length > 14) b[14 + (rnd() % Math.min(40, b.length - 14))] = rnd() & 0xff;
    }
  }
  return b;
}

/** Run `iterations` seeded cases; returns what broke (empty `failures` is a pass). */
export function fuzzWire(iterations: number, seed: number): FuzzReport {
  const rnd = prng(seed);
  const frames = corpus();
  const captures = captureCorpus(frames);
  const rep: FuzzReport = { iterations, ipAccepted: 0, captureAccepted: 0, failures: [] };
  for (let it = 0; it < iterations && rep.failures.length < 10; it++) {
    let input: Uint8Array;
    const kind = rnd() % 10;
    if (kind < 2) {
      input = new Uint8Array(rnd() % 128);
      for (let i = 0; i < input.length; i++) input[i] = rnd() & 0xff;
    } else if (kind < 8) {
      input =
        kind === 2
          ? frames[rnd() % frames.length]!.slice()
          : mutate(rnd, frames[rnd() % frames.length]!);
    } else {
      input = mutate(rnd, captures[rnd() % captures.length]!);
    }
    try {
      const exact = canon(runAll(input, 0, input.length));
      const pre = rnd() % 8;
      const big = new Uint8Array(pre + input.length + 64);
      for (let i = 0; i < big.length; i++) big[i] = rnd() & 0xff;
      big.set(input, pre);
      const embedded = canon(runAll(big, pre, input.length));
      if (exact !== embedded)
        rep.failures.push(`#${it}: read outside the input (${canon(Array.from(input))})`);
      if (ip_check(input, 14, input.length - 14) === null) rep.ipAccepted++;
      const rt = roundTrips(input);
      if (rt !== null) rep.failures.push(`#${it}: ${rt} round trip differs`);
      const cr = pcap_read(input);
      const cap = cr.ok ? cr.capture : cr.partial;
      if (!cr.ok && cr.error.startsWith('internal'))
        rep.failures.push(`#${it}: pcap reader ${cr.error}`);
      if (cr.ok) rep.captureAccepted++;
      for (const p of cap.packets) {
        const o = p.data.byteOffset - input.byteOffset;
        if (p.data.buffer !== input.buffer || o < 0 || o + p.data.length > input.length)
          rep.failures.push(`#${it}: capture packet outside the input`);
      }
    } catch (e) {
      rep.failures.push(`#${it}: exception ${String(e)} on ${canon(Array.from(input))}`);
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
  const rep = fuzzWire(n, seed);
  console.log(JSON.stringify(rep, null, 2));
  process.exitCode = rep.failures.length ? 1 : 0;
}
