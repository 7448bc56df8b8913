/*
 * sbin/traceroute.ts — traceroute(8) (FreeBSD's /usr/sbin/traceroute, contrib/traceroute):
 * print the route packets take to a host.
 *
 *   traceroute [-n] [-f first_ttl] [-m max_ttl] [-p port] [-q nqueries] [-s src_addr]
 *              [-w waittime] host [packetlen]
 *
 * UDP probes with growing TTLs, nqueries (3) per hop, each to port + its sequence number
 * (base port 33434) from the source port ident (pid | 0x8000), written whole on a raw
 * socket (IPPROTO_RAW: the IP header is ours, as FreeBSD's), packetlen bytes in all
 * (default 40).  Answers come on a raw ICMP socket: a router's time exceeded (the hop),
 * the destination's port unreachable (there: the last hop), or another unreachable,
 * noted as FreeBSD notes them (!N !H !P !F-mtu !S !X !V !C !<code>).  A probe without
 * an answer within waittime seconds (5) prints "*".  The hop limit defaults to
 * net.inet.ip.ttl (64).  The first line goes to standard error, the hops to standard
 * output, as FreeBSD's:
 *
 *   traceroute to 198.51.100.1 (198.51.100.1), 64 hops max, 40 byte packets
 *    1  192.0.2.254 (192.0.2.254)  0.112 ms  0.050 ms  0.047 ms
 *    2  198.51.100.1 (198.51.100.1)  0.102 ms  0.080 ms  0.078 ms
 *
 * A hop's name comes from the jail's /etc/hosts (getnameinfo), else its address; -n
 * prints addresses only.  Exit status 0; 1 for bad usage or an unknown host, as
 * FreeBSD's.  Deliberate differences: no -I/-P (ICMP or other probe protocols), -g, -i,
 * -t, -v, -A or -z; names are not looked up in DNS.
 */

import type { Program } from '../lib/process.js';
import { clock_gettime, CLOCK_MONOTONIC } from '../lib/process.js';
import { AF_INET, POLLIN, SOCK_DGRAM, SOCK_RAW } from '../sys/socket.js';
import {
  IPPROTO_ICMP,
  IPPROTO_UDP,
  inet_aton,
  inet_ntoa,
  in_addr_read,
  in_addr_write,
  sockaddr_in,
  sockaddr_in_decode,
  sockaddr_in_encode,
  type in_addr_t,
} from '../netinet/in.js';
import { in_cksum_l4 } from '../netinet/in_cksum.js';
import { getnameinfo } from '../lib/netdb.js';

const USAGE =
  'Usage: traceroute [-n] [-f first_ttl] [-m max_ttl] [-p port] [-q nqueries]\n' +
  '\t[-s src_addr] [-w waittime] host [packetlen]\n';
const IPPROTO_RAW = 255;
const ICMP_UNREACH = 3;
const ICMP_TIMXCEED = 11;
const ICMP_TIMXCEED_INTRANS = 0;
/** The smallest probe: IP and UDP headers and the seq/ttl bytes of FreeBSD's outdata. */
const MINPACKET = 20 + 8 + 2;

interface Opts {
  numeric: boolean;
  first: number;
  max: number;
  port: number;
  nprobes: number;
  src: in_addr_t | null;
  waittime: number;
  packlen: number;
}

function parse(argv: readonly string[]): { o: Opts; host: string } | string {
  const o: Opts = {
    numeric: false,
    first: 1,
    max: 0,
    port: 32768 + 666,
    nprobes: 3,
    src: null,
    waittime: 5,
    packlen: 40,
  };
  const a = argv.slice(1);
  const pos: string[] = [];
  while (a.length > 0) {
    const s = a.shift()!;
    if (!s.startsWith('-') || s === '-') {
      pos.push(s);
      continue;
    }
    for (let i = 1; i < s.length; i++) {
      const f = s[i]!;
      if (f === 'n') {
        o.numeric = true;
        continue;
      }
      const rest = s.slice(i + 1);
      const v = rest !== '' ? rest : a.shift();
      if (v === undefined) return USAGE;
      const n = Number(v);
      const int = Number.isInteger(n);
      switch (f) {
        case 'f':
          if (!int || n < 1 || n > 255) return `traceroute: first ttl must be > 0 and <= 255\n`;
          o.first = n;
          break;
        case 'm':
          if (!int || n < 1 || n > 255) return `traceroute: max ttl must be > 0 and <= 255\n`;
          o.max = n;
          break;
        case 'p':
          if (!int || n < 1 || n > 65535) return `traceroute: port must be > 0 and < 65536\n`;
          o.port = n;
          break;
        case 'q':
          if (!int || n < 1 || n > 255) return `traceroute: nprobes must be > 0 and <= 255\n`;
          o.nprobes = n;
          break;
        case 'w':
          if (!int || n < 1 || n > 86400) return `traceroute: wait must be > 0 and <= 86400\n`;
          o.waittime = n;
          break;
        case 's': {
          const x = inet_aton(v);
          if (x === null) return `traceroute: unknown host ${v}\n`;
          o.src = x;
          break;
        }
        default:
          return USAGE;
      }
      break;
    }
  }
  if (pos.length < 1 || pos.length > 2) return USAGE;
  if (pos.length === 2) {
    const n = Number(pos[1]);
    if (!Number.isInteger(n) || n < MINPACKET || n > 32768)
      return `traceroute: packet length must be ${MINPACKET} <= x < 32768\n`;
    o.packlen = n;
  }
  return { o, host: pos[0]! };
}

function sin(addr: number, port = 0): Uint8Array {
  const b = new Uint8Array(16);
  sockaddr_in_encode(sockaddr_in(addr, port), b);
  return b;
}

export const traceroute: Program = async (ctx) => {
  const p = parse(ctx.argv);
  if (typeof p === 'string') {
    await ctx.err(p);
    return 1;
  }
  const { o, host } = p;
  const libc = ctx.libc;
  const dst = inet_aton(host);
  if (dst === null) {
    await ctx.err(`traceroute: unknown host ${host}\n`);
    return 1;
  }
  if (o.max === 0) {
    /* The hop limit: net.inet.ip.ttl, as FreeBSD's. */
    const b = new Uint8Array(4);
    const len: [number] = [4];
    o.max = (await libc.sysctlbyname('net.inet.ip.ttl', b, len)) === 0 ? b[0]! | (b[1]! << 8) : 64;
  }
  if (o.first > o.max) {
    await ctx.err(
      `traceroute: first ttl (${o.first}) may not be greater than max ttl (${o.max})\n`,
    );
    return 1;
  }
  /* The source address: the one the route to dst gives (the UDP checksum covers it). */
  let src = o.src;
  if (src === null) {
    const u = await libc.socket(AF_INET, SOCK_DGRAM, 0);
    const name = new Uint8Array(16);
    const ok =
      u >= 0 &&
      (await libc.connect(u, sin(dst, o.port))) === 0 &&
      (await libc.getsockname(u, name, [16])) === 0;
    if (u >= 0) await libc.close(u);
    if (!ok) {
      await ctx.err(`traceroute: findsaddr: ${libc.strerror()}\n`);
      return 1;
    }
    src = sockaddr_in_decode(name)!.sin_addr;
  }
  const snd = await libc.socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  const rcv = await libc.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (snd < 0 || rcv < 0) {
    await ctx.err(`traceroute: socket: ${libc.strerror()}\n`);
    return 1;
  }
  const ident = ((await libc.getpid()) & 0xffff) | 0x8000;
  await ctx.err(
    `traceroute to ${host} (${inet_ntoa(dst)}), ${o.max} hops max, ${o.packlen} byte packets\n`,
  );
  const now = (): Promise<number> => clock_gettime(libc, CLOCK_MONOTONIC);
  const names = new Map<number, string>();
  const hop = async (a: in_addr_t): Promise<string> => {
    if (o.numeric) return ` ${inet_ntoa(a)}`;
    let n = names.get(a);
    if (n === undefined) {
      const r = await getnameinfo(libc, sin(a));
      n = 'host' in r && r.host !== null ? r.host : inet_ntoa(a);
      names.set(a, n);
    }
    return ` ${n} (${inet_ntoa(a)})`;
  };
  const pkt = new Uint8Array(o.packlen);
  const buf = new Uint8Array(65536);
  const from = new Uint8Array(16);
  let seq = 0;
  for (let ttl = o.first; ttl <= o.max; ttl++) {
    let line = `${String(ttl).padStart(2)} `;
    let last: number | null = null;
    let got_there = 0;
    let unreachable = 0;
    for (let probe = 0; probe < o.nprobes; probe++) {
      seq = (seq + 1) & 0xffff;
      const dport = (o.port + seq) & 0xffff;
      /* The probe: IP header (ttl, our id), UDP from ident to port + seq, then seq and ttl. */
      pkt.fill(0);
      pkt[0] = 0x45;
      pkt[2] = o.packlen >>> 8;
      pkt[3] = o.packlen & 0xff;
      pkt[4] = ((ident + seq) >>> 8) & 0xff;
      pkt[5] = (ident + seq) & 0xff;
      pkt[8] = ttl;
      pkt[9] = IPPROTO_UDP;
      in_addr_write(pkt, 12, src);
      in_addr_write(pkt, 16, dst);
      const ulen = o.packlen - 20;
      pkt[20] = ident >>> 8;
      pkt[21] = ident & 0xff;
      pkt[22] = dport >>> 8;
      pkt[23] = dport & 0xff;
      pkt[24] = ulen >>> 8;
      pkt[25] = ulen & 0xff;
      pkt[28] = seq & 0xff;
      pkt[29] = ttl;
      const sum = in_cksum_l4(pkt, 20, ulen, src, dst, IPPROTO_UDP) || 0xffff;
      pkt[26] = sum >>> 8;
      pkt[27] = sum & 0xff;
      const t1 = await now();
      if ((await libc.sendto(snd, pkt, pkt.length, 0, sin(dst))) < 0)
        await ctx.err(`traceroute: wrote ${host} ${pkt.length} chars, ret=-1\n`);
      /* Wait for the answer to this probe (FreeBSD's wait_for_reply + packet_ok). */
      const deadline = t1 + o.waittime * 1e9;
      let code: number | null = null;
      let at = 0;
      let rttl = 0;
      let rfrom = 0 as in_addr_t;
      let pmtu = 0;
      for (;;) {
        const left = deadline - (await now());
        if (left <= 0) break;
        const fds = [{ fd: rcv, events: POLLIN, revents: 0 }];
        if ((await libc.poll(fds, Math.ceil(left / 1e6))) <= 0) continue;
        const n = await libc.recvfrom(rcv, buf, buf.length, 0, from, [16]);
        if (n < 20) continue;
        const b = buf.subarray(0, n);
        const hlen = (b[0]! & 15) << 2;
        const icp = b.subarray(hlen);
        if (icp.length < 8 + 20 + 8) continue;
        const type = icp[0]!;
        if (!(type === ICMP_TIMXCEED && icp[1] === ICMP_TIMXCEED_INTRANS) && type !== ICMP_UNREACH)
          continue;
        /* About this probe: UDP from ident to its port, to our destination. */
        const ip = icp.subarray(8);
        const ohl = (ip[0]! & 15) << 2;
        const up = ip.subarray(ohl);
        if (ip[9] !== IPPROTO_UDP || up.length < 4) continue;
        if (((up[0]! << 8) | up[1]!) !== ident || ((up[2]! << 8) | up[3]!) !== dport) continue;
        if (in_addr_read(ip, 16) !== dst) continue;
        at = await now();
        code = type === ICMP_TIMXCEED ? -1 : icp[1]!;
        rttl = b[8]!;
        rfrom = in_addr_read(b, 12);
        pmtu = (icp[6]! << 8) | icp[7]!;
        break;
      }
      if (code === null) {
        line += ' *';
        continue;
      }
      if (rfrom !== last) {
        line += await hop(rfrom);
        last = rfrom;
      }
      line += `  ${((at - t1) / 1e6).toFixed(3)} ms`;
      switch (code) {
        case -1:
          break;
        case 3 /* ICMP_UNREACH_PORT: there */:
          if (rttl <= 1) line += ' !';
          got_there++;
          break;
        case 0:
          unreachable++;
          line += ' !N';
          break;
        case 1:
          unreachable++;
          line += ' !H';
          break;
        case 2:
          got_there++;
          line += ' !P';
          break;
        case 4:
          unreachable++;
          line += ` !F-${pmtu}`;
          break;
        case 5:
          unreachable++;
          line += ' !S';
          break;
        case 9:
        case 10:
        case 13:
          unreachable++;
          line += ' !X';
          break;
        case 14:
          unreachable++;
          line += ' !V';
          break;
        case 15:
          unreachable++;
          line += ' !C';
          break;
        default:
          unreachable++;
          line += ` !<${code}>`;
      }
    }
    await ctx.out(line + '\n');
    if (got_there > 0 || (unreachable > 0 && unreachable >= o.nprobes - 1)) break;
  }
  await libc.close(snd);
  await libc.close(rcv);
  return 0;
};
