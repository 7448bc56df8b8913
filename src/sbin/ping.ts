/*
 * sbin/ping.ts — ping(8): ICMP ECHO_REQUEST to a host, on a raw ICMP socket.
 *
 *   ping [-bDnqR] [-c count] [-i wait] [-m ttl] [-s packetsize] [-S src_addr]
 *        [-t timeout] [-W waittime] host
 *
 * Every `wait` seconds (default 1) an echo request goes out with our pid as the
 * identifier, the sequence number, and the send time (struct timeval, 16 bytes) at the
 * start of the data, as FreeBSD's ping does; replies are matched on identifier and
 * the round trip is computed from the time they carry; a sequence number seen before
 * is a duplicate ("(DUP!)", "+N duplicates" in the summary).  ICMP errors quoting one
 * of our requests are reported as FreeBSD 14's pr_icmph does: the message, then the
 * returned header (pr_retip: "Vr HL TOS  Len   ID Flg  off TTL Pro  cks      Src
 * Dst" and its values, and the ports of a quoted TCP or UDP header).  After the last
 * request ping waits two round trips (at least a second) when replies came back, else
 * `waittime` milliseconds (-W, default 10000); with -W, a reply later than waittime is
 * not printed and counts as "out of wait time".  -t ends everything after `timeout`
 * seconds.  Exit status: 0 when at least one reply came back, 2 when none did, 64 for
 * bad usage, 68 for an unknown host — FreeBSD's values.
 *
 * -D sets Don't Fragment on every request, so a router whose next link is too small
 * answers "frag needed and DF set (MTU n)" instead of fragmenting (path MTU probing).
 * Deliberate difference: the socket's IP_DONTFRAG sets it; FreeBSD's ping writes the
 * header itself (IP_HDRINCL) for it.  The datagrams on the wire are the same.
 *
 * -R asks every hop to record its address (RFC 791 §3.1 "Record Route"): the socket's
 * IP_OPTIONS is a record-route option with room for nine addresses (39 bytes: type,
 * length, pointer 4, 36 zero bytes) and an EOL, the 40 bytes an IP header can carry.
 * Routers record the address they forward from, the destination its own, the echo
 * reply carries the option back (icmp_reflect) and collects the return path.  The
 * options of a reply are printed after its line as FreeBSD's pr_pack prints them: a
 * route is "\nRR: " and the addresses, tab-indented one per line; a route equal to the
 * previous one is "\t(same route)" on the reply's line; a reply of another length than
 * we sent adds "wrong total length".
 */

import type { Libc } from '../lib/libc.js';
import type { Program, ProcCtx } from '../lib/process.js';
import { clock_gettime, CLOCK_MONOTONIC, EX_USAGE } from '../lib/process.js';
import {
  AF_INET,
  SOCK_RAW,
  POLLIN,
  SOL_SOCKET,
  SO_BROADCAST,
  SO_RCVBUF,
  SO_SNDBUF,
} from '../sys/socket.js';
import {
  IPPROTO_ICMP,
  IPPROTO_IP,
  inet_aton,
  inet_ntoa,
  in_addr_read,
  sockaddr_in,
  sockaddr_in_encode,
} from '../netinet/in.js';
import { in_cksum } from '../netinet/in_cksum.js';
import { IP_TTL } from '../netinet/raw_ip.js';
import { IP_DONTFRAG, IP_OPTIONS } from '../netinet/ip_ctloutput.js';
import {
  IPOPT_EOL,
  IPOPT_LSRR,
  IPOPT_MINOFF,
  IPOPT_NOP,
  IPOPT_OFFSET,
  IPOPT_OLEN,
  IPOPT_RR,
  IPOPT_SSRR,
  IP_MAXPACKET,
  MAX_IPOPTLEN,
} from '../netinet/ip.js';

const USAGE =
  'usage: ping [-bDnqR] [-c count] [-i wait] [-m ttl] [-s packetsize] [-S src_addr]\n' +
  '            [-t timeout] [-W waittime] host\n';
const EX_NOHOST = 68;
const EX_OSERR = 71;
const ICMP_ECHOREPLY = 0;
const ICMP_ECHO = 8;
const TIMEVAL = 16;

const hex = (v: number, w: number): string => v.toString(16).padStart(w, '0');

/**
 * pr_iph: the quoted IP header as FreeBSD 14 prints it.  (Its flags and offset come
 * from ntohl() of the 16-bit ip_off, which on a little-endian machine leaves nothing
 * in either mask: they always print as "0 0000"; we compute the same.)
 */
function pr_iph(ip: Uint8Array): string {
  const hl = ip[0]! & 15;
  const len = (ip[2]! << 8) | ip[3]!;
  const id = (ip[4]! << 8) | ip[5]!;
  const off16le = ip[6]! | (ip[7]! << 8);
  const offl = (((off16le & 0xff) << 24) | ((off16le >>> 8) << 16)) >>> 0;
  const sum = (ip[10]! << 8) | ip[11]!;
  let s = 'Vr HL TOS  Len   ID Flg  off TTL Pro  cks      Src      Dst\n';
  s += ` ${hex(ip[0]! >> 4, 1)}  ${hex(hl, 1)}  ${hex(ip[1]!, 2)} ${hex(len, 4)} ${hex(id, 4)}`;
  s += `   ${hex((offl & 0xe000) >>> 13, 1)} ${hex(offl & 0x1fff, 4)}`;
  s += `  ${hex(ip[8]!, 2)}  ${hex(ip[9]!, 2)} ${hex(sum, 4)}`;
  s += ` ${inet_ntoa(in_addr_read(ip, 12))}  ${inet_ntoa(in_addr_read(ip, 16))} `;
  for (let i = 20; i < hl << 2 && i < ip.length; i++) s += hex(ip[i]!, 2);
  return s + '\n';
}

/** pr_retip: the quoted header, and the ports of a quoted TCP or UDP header. */
function pr_retip(ip: Uint8Array): string {
  let s = pr_iph(ip);
  const p = ip.subarray((ip[0]! & 15) << 2);
  if ((ip[9] === 6 || ip[9] === 17) && p.length >= 4)
    s += `${ip[9] === 6 ? 'TCP' : 'UDP'}: from port ${(p[0]! << 8) | p[1]!}, to port ${(p[2]! << 8) | p[3]!} (decimal)\n`;
  return s;
}

/** pr_icmph: what an ICMP message says (FreeBSD 14's words), with the returned header. */
function pr_icmph(icp: Uint8Array): string {
  const type = icp[0]!;
  const code = icp[1]!;
  const oip = icp.subarray(8);
  switch (type) {
    case 0:
      return 'Echo Reply\n';
    case 3: {
      const mtu = (icp[6]! << 8) | icp[7]!;
      const t =
        [
          'Destination Net Unreachable',
          'Destination Host Unreachable',
          'Destination Protocol Unreachable',
          'Destination Port Unreachable',
          `frag needed and DF set (MTU ${mtu})`,
          'Source Route Failed',
        ][code] ??
        (code === 13
          ? 'Communication prohibited by filter'
          : `Dest Unreachable, Bad Code: ${code}`);
      return `${t}\n${pr_retip(oip)}`;
    }
    case 4:
      return `Source Quench\n${pr_retip(oip)}`;
    case 5: {
      const t =
        [
          'Redirect Network',
          'Redirect Host',
          'Redirect Type of Service and Network',
          'Redirect Type of Service and Host',
        ][code] ?? `Redirect, Bad Code: ${code}`;
      return `${t}(New addr: ${inet_ntoa(in_addr_read(icp, 4))})\n${pr_retip(oip)}`;
    }
    case 8:
      return 'Echo Request\n';
    case 11: {
      const t =
        code === 0
          ? 'Time to live exceeded'
          : code === 1
            ? 'Frag reassembly time exceeded'
            : `Time exceeded, Bad Code: ${code}`;
      return `${t}\n${pr_retip(oip)}`;
    }
    case 12:
      return `Parameter problem: pointer = 0x${hex(icp[4]!, 2)}\n${pr_retip(oip)}`;
    default:
      return `Bad ICMP type: ${type}\n`;
  }
}

interface Opts {
  count: number;
  interval: number;
  ttl: number;
  size: number;
  src: number | null;
  timeout: number;
  waittime: number;
  quiet: boolean;
  /** -b: allow a broadcast destination (SO_BROADCAST). */
  broadcast: boolean;
  /** -R: the record-route option on every request. */
  rroute: boolean;
  /** -D: Don't Fragment on every request (IP_DONTFRAG). */
  dontfrag: boolean;
  /** -W given (F_WAITTIME): replies later than waittime are not printed. */
  fwaittime: boolean;
}

function parse(argv: readonly string[]): { o: Opts; host: string } | string {
  const o: Opts = {
    count: 0,
    interval: 1,
    ttl: -1,
    size: 56,
    src: null,
    timeout: 0,
    waittime: 10000,
    quiet: false,
    broadcast: false,
    rroute: false,
    dontfrag: false,
    fwaittime: false,
  };
  const a = argv.slice(1);
  let host: string | undefined;
  while (a.length > 0) {
    const s = a.shift()!;
    if (!s.startsWith('-') || s === '-') {
      if (host !== undefined) return USAGE;
      host = s;
      continue;
    }
    for (let i = 1; i < s.length; i++) {
      const f = s[i]!;
      if (f === 'n') continue;
      if (f === 'q') {
        o.quiet = true;
        continue;
      }
      if (f === 'b') {
        o.broadcast = true;
        continue;
      }
      if (f === 'R') {
        o.rroute = true;
        continue;
      }
      if (f === 'D') {
        o.dontfrag = true;
        continue;
      }
      const rest = s.slice(i + 1);
      const v = rest !== '' ? rest : a.shift();
      if (v === undefined) return USAGE;
      const n = Number(v);
      const bad = (what: string): string => `ping: invalid ${what}: \`${v}'\n`;
      switch (f) {
        case 'c':
          if (!Number.isInteger(n) || n <= 0) return bad('count of packets to transmit');
          o.count = n;
          break;
        case 'i':
          if (!Number.isFinite(n) || n <= 0) return bad('timing interval');
          o.interval = n;
          break;
        case 'm':
          if (!Number.isInteger(n) || n < 1 || n > 255) return bad('TTL');
          o.ttl = n;
          break;
        case 's':
          if (v === '' || !Number.isInteger(n) || n < 0) return bad('packet size');
          o.size = n;
          break;
        case 't':
          if (!Number.isInteger(n) || n <= 0) return bad('timeout');
          if (n > 3600) return `ping: invalid timeout: \`${v}' > 3600\n`;
          o.timeout = n;
          break;
        case 'W':
          if (!Number.isFinite(n) || n < 0 || n > 2147483647) return bad('timing interval');
          o.waittime = Math.trunc(n);
          o.fwaittime = true;
          break;
        case 'S': {
          const x = inet_aton(v);
          if (x === null) return `ping: unknown host ${v}\n`;
          o.src = x;
          break;
        }
        default:
          return USAGE;
      }
      break;
    }
  }
  if (host === undefined) return USAGE;
  /* The largest payload: an IP datagram's 65535 bytes less the headers (FreeBSD). */
  const maxpayload = IP_MAXPACKET - 20 - 8 - (o.rroute ? MAX_IPOPTLEN : 0);
  if (o.size > maxpayload) return `ping: packet size too large: ${o.size} > ${maxpayload}\n`;
  return { o, host };
}

function sin(addr: number): Uint8Array {
  const b = new Uint8Array(16);
  sockaddr_in_encode(sockaddr_in(addr, 0), b);
  return b;
}

class Pinger {
  ntransmitted = 0;
  nreceived = 0;
  nrepeats = 0;
  /** Replies later than -W's waittime (FreeBSD's nrcvtimeout). */
  nrcvtimeout = 0;
  /** The longest round trip, ms (tmax: the final wait is two of them). */
  tmax = 0;
  readonly rtts: number[] = [];
  readonly ident: number;
  private readonly seen = new Set<number>();

  constructor(
    private readonly ctx: ProcCtx,
    private readonly s: number,
    private readonly dst: number,
    private readonly o: Opts,
    pid: number,
  ) {
    this.ident = pid & 0xffff;
  }

  private get libc(): Libc {
    return this.ctx.libc;
  }

  async now(): Promise<number> {
    return clock_gettime(this.libc, CLOCK_MONOTONIC);
  }

  /** One echo request; a failed sendto is reported and counted as sent, as FreeBSD does. */
  async pinger(): Promise<void> {
    const b = new Uint8Array(8 + this.o.size);
    b[0] = ICMP_ECHO;
    b[4] = this.ident >>> 8;
    b[5] = this.ident & 0xff;
    const seq = this.ntransmitted & 0xffff;
    b[6] = seq >>> 8;
    b[7] = seq & 0xff;
    if (this.o.size >= TIMEVAL) {
      const t = await this.now();
      const dv = new DataView(b.buffer);
      const sec = Math.floor(t / 1e9);
      dv.setBigInt64(8, BigInt(sec), true);
      dv.setBigInt64(16, BigInt(Math.floor((t - sec * 1e9) / 1e3)), true);
    }
    for (let i = 8 + TIMEVAL; i < b.length; i++) b[i] = i - 8;
    const ck = in_cksum(b, 0, b.length);
    b[2] = ck >>> 8;
    b[3] = ck & 0xff;
    this.ntransmitted++;
    const n = await this.libc.sendto(this.s, b, b.length, 0, sin(this.dst));
    if (n < 0) await this.ctx.err(`ping: sendto: ${this.libc.strerror()}\n`);
  }

  /** Read and report whatever arrived; returns when the socket has nothing left. */
  async drain(): Promise<void> {
    const buf = new Uint8Array(65536);
    const from = new Uint8Array(16);
    /* FreeBSD stops reading as soon as every request has its reply. */
    for (; !(this.o.count > 0 && this.nreceived >= this.o.count);) {
      const fds = [{ fd: this.s, events: POLLIN, revents: 0 }];
      if ((await this.libc.poll(fds, 0)) <= 0) return;
      const n = await this.libc.recvfrom(this.s, buf, buf.length, 0, from, [16]);
      if (n < 0) return;
      await this.pr_pack(buf.subarray(0, n), await this.now());
    }
  }

  private async pr_pack(b: Uint8Array, now: number): Promise<void> {
    if (b.length < 20) return;
    const hlen = (b[0]! & 15) << 2;
    const cc = b.length - hlen;
    if (cc < 8) return;
    const src = inet_ntoa(in_addr_read(b, 12));
    const icp = b.subarray(hlen);
    const type = icp[0]!;
    let line: string;
    if (type === ICMP_ECHOREPLY) {
      if (((icp[4]! << 8) | icp[5]!) !== this.ident) return;
      const seq = (icp[6]! << 8) | icp[7]!;
      line = `${cc} bytes from ${src}: icmp_seq=${seq} ttl=${b[8]!}`;
      let rtt = 0;
      if (cc >= 8 + TIMEVAL) {
        const dv = new DataView(icp.buffer, icp.byteOffset, icp.length);
        const sent = Number(dv.getBigInt64(8, true)) * 1e9 + Number(dv.getBigInt64(16, true)) * 1e3;
        rtt = Math.max(0, (now - sent) / 1e6);
        this.rtts.push(rtt);
        this.tmax = Math.max(this.tmax, rtt);
        line += ` time=${rtt.toFixed(3)} ms`;
      }
      if (this.seen.has(seq)) {
        line += ' (DUP!)';
        this.nrepeats++;
      } else {
        this.seen.add(seq);
        this.nreceived++;
      }
      if (this.o.quiet) return;
      if (this.o.fwaittime && rtt > this.o.waittime) {
        this.nrcvtimeout++;
        return;
      }
      const send_len = 20 + (this.o.rroute ? MAX_IPOPTLEN : 0) + 8 + this.o.size;
      if (b.length !== send_len) line += `\nwrong total length ${b.length} instead of ${send_len}`;
    } else {
      /* An error about one of our requests: the quoted header and 8 bytes of it. */
      if (cc < 8 + 20 + 8) return;
      const ip = icp.subarray(8);
      const ohl = (ip[0]! & 15) << 2;
      if (ip[9] !== IPPROTO_ICMP || ip.length < ohl + 8) return;
      const oicmp = ip.subarray(ohl);
      /* About one of ours: to our destination, ICMP, an echo request with our id. */
      if (in_addr_read(ip, 16) !== this.dst) return;
      if (oicmp[0] !== ICMP_ECHO || ((oicmp[4]! << 8) | oicmp[5]!) !== this.ident) return;
      if (this.o.quiet) return;
      /* pr_icmph ends with a newline; the options follow, then one more (a blank line
       * after the returned header, as FreeBSD prints it). */
      line = `${cc} bytes from ${src}: ${pr_icmph(icp)}`;
    }
    await this.ctx.out(`${line}${this.pr_options(b, hlen)}\n`);
  }

  /** The route of the previous reply with a record-route option (FreeBSD's old_rr). */
  private old_rr: number[] | null = null;

  /**
   * The IP options of a datagram we print, in FreeBSD's form: source routes and
   * recorded routes as tab-indented addresses after "LSRR: ", "SSRR: " or "RR: " on a
   * new line, "(same route)" when a recorded route repeats the last one, NOP and
   * unknown options by name.  EOL ends them; a malformed option is "(truncated route)"
   * and ends them too.
   */
  private pr_options(b: Uint8Array, hlen: number): string {
    const addrs = (from: number, to: number): string => {
      const l: string[] = [];
      for (let p = from; p + 4 <= to; p += 4) l.push(`\t${inet_ntoa(in_addr_read(b, p))}`);
      return l.join('\n');
    };
    let s = '';
    let cp = 20;
    while (cp < hlen) {
      const opt = b[cp]!;
      if (opt === IPOPT_EOL) break;
      if (opt === IPOPT_NOP) {
        s += '\nNOP';
        cp++;
        continue;
      }
      const olen = b[cp + IPOPT_OLEN] ?? 0;
      const ok = olen >= IPOPT_MINOFF - 1 && cp + olen <= hlen;
      if (opt === IPOPT_LSRR || opt === IPOPT_SSRR) {
        s += opt === IPOPT_LSRR ? '\nLSRR: ' : '\nSSRR: ';
        if (!ok || olen < IPOPT_MINOFF - 1 + 4) return `${s}\t(truncated route)`;
        s += addrs(cp + IPOPT_MINOFF - 1, cp + olen);
      } else if (opt === IPOPT_RR) {
        if (!ok) {
          this.old_rr = null;
          return s;
        }
        /* The addresses recorded so far: up to the pointer, within the option. */
        const ptr = Math.min(b[cp + IPOPT_OFFSET]!, olen + 1);
        const end = cp + ptr - 1;
        const rr = Array.from(b.subarray(cp + IPOPT_MINOFF - 1, end));
        const old = this.old_rr;
        if (old !== null && old.length === rr.length && old.every((x, i) => x === rr[i]))
          s += '\t(same route)';
        else {
          this.old_rr = rr;
          s += '\nRR: ';
          s += rr.length >= 4 ? addrs(cp + IPOPT_MINOFF - 1, end) : '\t(truncated route)';
        }
      } else {
        s += `\nunknown option ${opt.toString(16)}`;
        if (olen < 2 || cp + olen > hlen) return s;
      }
      cp += olen;
    }
    return s;
  }

  async summary(host: string): Promise<void> {
    let s = `\n--- ${host} ping statistics ---\n`;
    s += `${this.ntransmitted} packets transmitted, ${this.nreceived} packets received, `;
    if (this.nrepeats > 0) s += `+${this.nrepeats} duplicates, `;
    if (this.ntransmitted > 0) {
      if (this.nreceived > this.ntransmitted) s += "-- somebody's printing up packets!";
      else
        s += `${((100 * (this.ntransmitted - this.nreceived)) / this.ntransmitted).toFixed(1)}% packet loss`;
    }
    if (this.nrcvtimeout > 0) s += `, ${this.nrcvtimeout} packets out of wait time`;
    s += '\n';
    if (this.rtts.length > 0) {
      const n = this.rtts.length;
      const min = Math.min(...this.rtts);
      const max = Math.max(...this.rtts);
      const avg = this.rtts.reduce((x, y) => x + y, 0) / n;
      const vari = this.rtts.reduce((x, y) => x + y * y, 0) / n - avg * avg;
      const sd = Math.sqrt(Math.max(0, vari));
      s += `round-trip min/avg/max/stddev = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)}/${sd.toFixed(3)} ms\n`;
    }
    await this.ctx.out(s);
  }
}

/** Sleep until `until` (monotonic ns) or until the socket is readable. */
async function waitfor(libc: Libc, s: number, until: number, now: number): Promise<void> {
  const ms = Math.max(0, Math.ceil((until - now) / 1e6));
  await libc.poll([{ fd: s, events: POLLIN, revents: 0 }], ms);
}

export const ping: Program = async (ctx) => {
  const p = parse(ctx.argv);
  if (typeof p === 'string') {
    await ctx.err(p);
    return EX_USAGE;
  }
  const { o, host } = p;
  const dst = inet_aton(host);
  if (dst === null) {
    await ctx.err(`ping: cannot resolve ${host}: Unknown host\n`);
    return EX_NOHOST;
  }
  const libc = ctx.libc;
  const s = await libc.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (s < 0) {
    await ctx.err(`ping: socket: ${libc.strerror()}\n`);
    return EX_OSERR;
  }
  if (o.src !== null && (await libc.bind(s, sin(o.src))) < 0) {
    await ctx.err(`ping: bind: ${libc.strerror()}\n`);
    return 1;
  }
  if (o.broadcast && (await libc.setsockopt(s, SOL_SOCKET, SO_BROADCAST, 1)) < 0) {
    await ctx.err(`ping: setsockopt SO_BROADCAST: ${libc.strerror()}\n`);
    return EX_OSERR;
  }
  if (o.rroute) {
    /* Record route: type, length 39, pointer 4, nine empty slots, then EOL. */
    const rspace = new Uint8Array(MAX_IPOPTLEN);
    rspace[0] = IPOPT_RR;
    rspace[IPOPT_OLEN] = MAX_IPOPTLEN - 1;
    rspace[IPOPT_OFFSET] = IPOPT_MINOFF;
    rspace[MAX_IPOPTLEN - 1] = IPOPT_EOL;
    if ((await libc.setsockopt(s, IPPROTO_IP, IP_OPTIONS, rspace)) < 0) {
      await ctx.err(`ping: setsockopt IP_OPTIONS: ${libc.strerror()}\n`);
      return EX_OSERR;
    }
  }
  if (o.dontfrag && (await libc.setsockopt(s, IPPROTO_IP, IP_DONTFRAG, 1)) < 0) {
    await ctx.err(`ping: setsockopt IP_DONTFRAG: ${libc.strerror()}\n`);
    return EX_OSERR;
  }
  if (o.ttl >= 0) {
    const v = new Uint8Array(4);
    new DataView(v.buffer).setInt32(0, o.ttl, true);
    if ((await libc.setsockopt(s, IPPROTO_IP, IP_TTL, v)) < 0) {
      await ctx.err(`ping: setsockopt IP_TTL: ${libc.strerror()}\n`);
      return EX_OSERR;
    }
  }
  /* Room for the largest datagram (FreeBSD's ping asks the same; failures are ignored,
   * and only root may grow the send buffer). */
  const hold = IP_MAXPACKET + 128;
  await libc.setsockopt(s, SOL_SOCKET, SO_RCVBUF, hold);
  if ((await libc.getuid()) === 0) await libc.setsockopt(s, SOL_SOCKET, SO_SNDBUF, hold);
  const pg = new Pinger(ctx, s, dst, o, await libc.getpid());
  const addr = inet_ntoa(dst);
  const from = o.src !== null ? ` from ${inet_ntoa(o.src)}` : '';
  await ctx.out(`PING ${addr} (${addr})${from}: ${o.size} data bytes\n`);
  const start = await pg.now();
  const deadline = o.timeout > 0 ? start + o.timeout * 1e9 : Infinity;
  /*
   * FreeBSD's main loop: a request every interval; once the last is out, one more
   * interval, then the almost_done wait — two round trips (at least a second) when
   * replies came back, else waittime.  Every reply is read as it comes; the run ends
   * early when every request has its reply, and at -t's deadline.
   */
  const wait_until = async (until: number): Promise<boolean> => {
    if (until > deadline) until = deadline;
    for (;;) {
      await pg.drain();
      if (o.count > 0 && pg.nreceived >= o.count) return true;
      const now = await pg.now();
      if (now >= until) return now >= deadline;
      await waitfor(libc, s, until, now);
    }
  };
  for (;;) {
    await pg.pinger();
    if (await wait_until((await pg.now()) + o.interval * 1e9)) break;
    if (o.count > 0 && pg.ntransmitted >= o.count) {
      const final =
        pg.nreceived > 0 ? Math.max(1, Math.floor((2 * pg.tmax) / 1000)) * 1e9 : o.waittime * 1e6;
      await wait_until((await pg.now()) + final);
      break;
    }
  }
  await pg.summary(addr);
  await libc.close(s);
  return pg.nreceived > 0 ? 0 : 2;
};
