/*
 * sbin/tcpdump.ts — tcpdump(1), the capture side: packets from a bpf(4) descriptor,
 * filtered in the kernel by a program pcap_compile built from the expression, printed
 * one line each or written to a pcap file.  Installed as /usr/sbin/tcpdump.
 *
 *   tcpdump [-nqt] [-c count] [-i interface] [-r file] [-s snaplen] [-w file]
 *           [expression]
 *
 * It opens /dev/bpf, sets the buffer length it reads with (BIOCGBLEN), the interface
 * (BIOCSETIF, in the caller's vnet), immediate mode, and the filter (BIOCSETF), then
 * reads records (struct bpf_hdr + bytes) until `count` packets passed.  The lines are
 * tcpdump's for the protocols this stack speaks: ARP requests and replies, IPv4 with
 * ICMP (echo, unreachable, time exceeded...), UDP and TCP ports, fragments; anything
 * else prints its ethertype or protocol number.  -n is accepted (there is no resolver:
 * addresses are always numeric).  On exit the counters go to standard error as tcpdump
 * prints them: captured, received by filter (BIOCGSTATS bs_recv), dropped by kernel.
 *
 * -r reads a capture file (pcap or pcapng, lib's pcap_read) instead of an interface:
 * the same program filters each record in this process (bpf_filter, as libpcap does for
 * savefiles), and the records that pass are printed, or written to -w's file; the
 * header line is "reading from file F, link-type ..." and no counters follow.
 */

import type { Program, ProcCtx } from '../lib/process.js';
import { EX_USAGE } from '../lib/process.js';
import { O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from '../sys/fcntl.js';
import { FdReader } from '../lib/process.js';
import { BIOCGBLEN, BIOCGDLT, BIOCGSTATS, BIOCIMMEDIATE, BIOCSETIF } from '../net/bpf.js';
import {
  BIOCSETF,
  BPF_WORDALIGN,
  DLT_EN10MB,
  bpf_filter,
  bpf_program_encode,
} from '../net/bpf_filter.js';
import { ifr_name_set } from '../net/if.js';
import { ether_addr_read, ether_sprintf } from '../net/ethernet.js';
import { pcap_compile } from '../lib/pcap_compile.js';
import { inet_ntoa, in_addr_read } from '../netinet/in.js';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_NULL,
  pcap_read,
  PCAP_FILE_HDR_LEN,
  PCAP_MAGIC_USEC,
  PCAP_REC_HDR_LEN,
  PCAP_VERSION_MAJOR,
  PCAP_VERSION_MINOR,
} from '../net/pcap.js';

const USAGE =
  'usage: tcpdump [-nqt] [-c count] [-i interface] [-r file] [-s snaplen] [-w file]\n' +
  '               [expression]\n';

interface Opts {
  count: number;
  ifname: string;
  snaplen: number;
  wfile: string | null;
  rfile: string | null;
  notime: boolean;
  expr: string;
}

function parse(argv: readonly string[]): Opts | string {
  const o: Opts = {
    count: 0,
    ifname: '',
    snaplen: 262144,
    wfile: null,
    rfile: null,
    notime: false,
    expr: '',
  };
  const a = argv.slice(1);
  const rest: string[] = [];
  while (a.length > 0) {
    const s = a.shift()!;
    if (!s.startsWith('-') || s === '-' || rest.length > 0) {
      rest.push(s);
      continue;
    }
    for (let i = 1; i < s.length; i++) {
      const f = s[i]!;
      /* -n (no resolver here anyway), -p, -l and -q change nothing in these lines. */
      if (f === 'n' || f === 'p' || f === 'l' || f === 'q') continue;
      if (f === 't') {
        o.notime = true;
        continue;
      }
      const v = s.slice(i + 1) !== '' ? s.slice(i + 1) : a.shift();
      if (v === undefined) return USAGE;
      const n = Number(v);
      switch (f) {
        case 'c':
          if (!Number.isInteger(n) || n <= 0) return `tcpdump: invalid packet count ${v}\n`;
          o.count = n;
          break;
        case 'i':
          o.ifname = v;
          break;
        case 's':
          if (!Number.isInteger(n) || n < 0 || n > 262144) return `tcpdump: invalid snaplen ${v}\n`;
          o.snaplen = n === 0 ? 262144 : n;
          break;
        case 'w':
          o.wfile = v;
          break;
        case 'r':
          o.rfile = v;
          break;
        default:
          return USAGE;
      }
      break;
    }
  }
  o.expr = rest.join(' ');
  return o;
}

const ICMP_TYPES: Readonly<Record<number, string>> = {
  0: 'echo reply',
  3: 'unreachable',
  4: 'source quench',
  5: 'redirect',
  8: 'echo request',
  11: 'time exceeded in-transit',
  12: 'parameter problem',
  13: 'time stamp request',
  14: 'time stamp reply',
};
const UNREACH = ['net', 'host', 'protocol', 'port', 'need to frag', 'source route failed'];

/** One line for an IPv4 datagram (tcpdump's ip_print, reduced). */
function ip_line(b: Uint8Array): string {
  if (b.length < 20 || b[0]! >> 4 !== 4) return 'IP truncated-ip';
  const hl = (b[0]! & 15) << 2;
  const len = (b[2]! << 8) | b[3]!;
  const off = ((b[6]! << 8) | b[7]!) & 0x1fff;
  const mf = (b[6]! & 0x20) !== 0;
  const p = b[9]!;
  const src = inet_ntoa(in_addr_read(b, 12));
  const dst = inet_ntoa(in_addr_read(b, 16));
  const l4 = b.subarray(hl);
  const plen = len - hl;
  if (off !== 0) return `IP ${src} > ${dst}: ip-proto-${p}`;
  const frag = mf ? ` (frag ${(b[4]! << 8) | b[5]!}:${plen}@0+)` : '';
  switch (p) {
    case 1: {
      if (l4.length < 8) return `IP ${src} > ${dst}: ICMP truncated`;
      const t = l4[0]!;
      const c = l4[1]!;
      let what = ICMP_TYPES[t] ?? `type-#${t}`;
      if (t === 0 || t === 8) {
        const id = (l4[4]! << 8) | l4[5]!;
        const seq = (l4[6]! << 8) | l4[7]!;
        what += `, id ${id}, seq ${seq}`;
      } else if (t === 3 && l4.length >= 28) {
        const oip = l4.subarray(8);
        const od = inet_ntoa(in_addr_read(oip, 16));
        what = `${od} ${UNREACH[c] ?? `#${c}`} unreachable`;
        if (c === 2) what = `${od} protocol ${oip[9]!} unreachable`;
        if (c === 3 && oip.length >= ((oip[0]! & 15) << 2) + 4) {
          const ohl = (oip[0]! & 15) << 2;
          const port = (oip[ohl + 2]! << 8) | oip[ohl + 3]!;
          what = `${od} ${oip[9] === 17 ? 'udp' : 'tcp'} port ${port} unreachable`;
        }
      } else if (t === 11 && c === 1) what = 'ip reassembly time exceeded';
      return `IP ${src} > ${dst}: ICMP ${what}, length ${plen}${frag}`;
    }
    case 17: {
      if (l4.length < 8) return `IP ${src} > ${dst}: UDP truncated`;
      const sp = (l4[0]! << 8) | l4[1]!;
      const dp = (l4[2]! << 8) | l4[3]!;
      const ul = ((l4[4]! << 8) | l4[5]!) - 8;
      return `IP ${src}.${sp} > ${dst}.${dp}: UDP, length ${ul}${frag}`;
    }
    case 6: {
      if (l4.length < 20) return `IP ${src} > ${dst}: tcp truncated`;
      const sp = (l4[0]! << 8) | l4[1]!;
      const dp = (l4[2]! << 8) | l4[3]!;
      const fl = l4[13]!;
      const flags =
        (fl & 2 ? 'S' : '') +
        (fl & 1 ? 'F' : '') +
        (fl & 4 ? 'R' : '') +
        (fl & 8 ? 'P' : '') +
        (fl & 16 ? '.' : '');
      const dl = plen - ((l4[12]! >> 4) << 2);
      return `IP ${src}.${sp} > ${dst}.${dp}: Flags [${flags || 'none'}], length ${dl}`;
    }
    default:
      return `IP ${src} > ${dst}: ip-proto-${p} ${plen}${frag}`;
  }
}

/** One line for an Ethernet frame. */
export function ether_line(f: Uint8Array): string {
  if (f.length < 14) return '[|ether]';
  const type = (f[12]! << 8) | f[13]!;
  const pl = f.subarray(14);
  if (type === 0x0800) return ip_line(pl);
  if (type === 0x0806) {
    if (pl.length < 28) return 'ARP, truncated';
    const op = (pl[6]! << 8) | pl[7]!;
    const spa = inet_ntoa(in_addr_read(pl, 14));
    const tpa = inet_ntoa(in_addr_read(pl, 24));
    if (op === 1) return `ARP, Request who-has ${tpa} tell ${spa}, length ${pl.length}`;
    if (op === 2)
      return `ARP, Reply ${spa} is-at ${ether_sprintf(ether_addr_read(pl, 8))}, length ${pl.length}`;
    return `ARP, op ${op}, length ${pl.length}`;
  }
  return `ethertype Unknown (0x${type.toString(16).padStart(4, '0')}), length ${f.length}`;
}

function timestr(sec: number, usec: number): string {
  const d = sec % 86400;
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${p2(Math.floor(d / 3600))}:${p2(Math.floor(d / 60) % 60)}:${p2(d % 60)}.${String(usec).padStart(6, '0')} `;
}

/** A pcap file header for link type `dlt` (DLT and LINKTYPE agree for these two). */
function pcap_file_header(snaplen: number, dlt: number): Uint8Array {
  const h = new Uint8Array(PCAP_FILE_HDR_LEN);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, PCAP_MAGIC_USEC, true);
  dv.setUint16(4, PCAP_VERSION_MAJOR, true);
  dv.setUint16(6, PCAP_VERSION_MINOR, true);
  dv.setUint32(16, snaplen, true);
  dv.setUint32(20, dlt === DLT_EN10MB ? LINKTYPE_ETHERNET : dlt, true);
  return h;
}

/** A pcap record: header and bytes. */
function pcap_record(sec: number, usec: number, data: Uint8Array, wirelen: number): Uint8Array {
  const r = new Uint8Array(PCAP_REC_HDR_LEN + data.length);
  const rv = new DataView(r.buffer);
  rv.setUint32(0, sec >>> 0, true);
  rv.setUint32(4, usec, true);
  rv.setUint32(8, data.length, true);
  rv.setUint32(12, wirelen, true);
  r.set(data, PCAP_REC_HDR_LEN);
  return r;
}

function linktype_name(dlt: number): string {
  return dlt === DLT_EN10MB ? 'EN10MB (Ethernet)' : 'NULL (BSD loopback)';
}

/** tcpdump -r: the records of a capture file that pass the filter. */
async function readfile(ctx: ProcCtx, o: Opts, rfile: string): Promise<number> {
  const libc = ctx.libc;
  const fd = await libc.open(rfile, O_RDONLY);
  if (fd < 0) {
    await ctx.err(`tcpdump: ${rfile}: ${libc.strerror()}\n`);
    return 1;
  }
  const rd = new FdReader(libc, fd);
  const bytes = await rd.readAll();
  await libc.close(fd);
  const res = pcap_read(bytes);
  const cap = res.ok ? res.capture : res.partial;
  const ifc = cap.interfaces[0];
  if (!res.ok && cap.packets.length === 0) {
    await ctx.err(`tcpdump: bad dump file format\n`);
    return 1;
  }
  const dlt = ifc?.linktype ?? LINKTYPE_ETHERNET;
  if (dlt !== LINKTYPE_ETHERNET && dlt !== LINKTYPE_NULL) {
    await ctx.err(`tcpdump: unsupported link type ${dlt}\n`);
    return 1;
  }
  const snaplen = ifc?.snaplen || o.snaplen;
  const prog = pcap_compile(o.expr, dlt, snaplen);
  if ('error' in prog) {
    await ctx.err(`tcpdump: ${prog.error}\n`);
    return 1;
  }
  await ctx.err(
    `reading from file ${rfile}, link-type ${linktype_name(dlt)}, snapshot length ${snaplen}\n`,
  );
  let wfd = -1;
  if (o.wfile !== null) {
    wfd = await libc.open(o.wfile, O_WRONLY | O_CREAT | O_TRUNC, 0o644);
    if (wfd < 0) {
      await ctx.err(`tcpdump: ${o.wfile}: ${libc.strerror()}\n`);
      return 1;
    }
    await libc.write(wfd, pcap_file_header(snaplen, dlt));
  }
  let n = 0;
  let out = '';
  for (const p of cap.packets) {
    if (o.count > 0 && n >= o.count) break;
    if (bpf_filter(prog.prog, p.data, p.origlen, p.data.length) === 0) continue;
    n++;
    const usecs = p.ts_ns / 1000n;
    const sec = Number(usecs / 1000000n);
    const usec = Number(usecs % 1000000n);
    if (wfd >= 0) {
      await libc.write(wfd, pcap_record(sec, usec, p.data, p.origlen));
      continue;
    }
    const line = dlt === DLT_EN10MB ? ether_line(p.data) : ip_line(p.data.subarray(4));
    out += `${o.notime ? '' : timestr(sec, usec)}${line}\n`;
  }
  if (wfd >= 0) await libc.close(wfd);
  await ctx.out(out);
  if (!res.ok) {
    await ctx.err(`tcpdump: pcap_loop: truncated dump file; ${res.error}\n`);
    return 1;
  }
  return 0;
}

export const tcpdump: Program = async (ctx: ProcCtx) => {
  const o = parse(ctx.argv);
  if (typeof o === 'string') {
    await ctx.err(o);
    return EX_USAGE;
  }
  if (o.rfile !== null) return readfile(ctx, o, o.rfile);
  const libc = ctx.libc;
  const fd = await libc.open('/dev/bpf', O_RDWR);
  if (fd < 0) {
    await ctx.err(`tcpdump: /dev/bpf: ${libc.strerror()}\n`);
    return 1;
  }
  if (o.ifname === '') {
    await ctx.err('tcpdump: no interface given (-i)\n');
    return 1;
  }
  const ifr = new Uint8Array(32);
  ifr_name_set(ifr, o.ifname);
  if ((await libc.ioctl(fd, BIOCSETIF, ifr)) < 0) {
    await ctx.err(`tcpdump: ${o.ifname}: ${libc.strerror()}\n`);
    return 1;
  }
  const u = new Uint8Array(4);
  await libc.ioctl(fd, BIOCGDLT, u);
  const dlt = new DataView(u.buffer).getUint32(0, true);
  const prog = pcap_compile(o.expr, dlt, o.snaplen);
  if ('error' in prog) {
    await ctx.err(`tcpdump: ${prog.error}\n`);
    return 1;
  }
  const ins = bpf_program_encode(prog.prog);
  const m = libc.malloc(Math.max(8, ins.length))!;
  m.buf.set(ins);
  const bp = new Uint8Array(16);
  const bdv = new DataView(bp.buffer);
  bdv.setUint32(0, prog.prog.length, true);
  bdv.setBigUint64(8, BigInt(m.addr), true);
  const e = await libc.ioctl(fd, BIOCSETF, bp);
  libc.free(m.addr);
  if (e < 0) {
    await ctx.err(`tcpdump: BIOCSETF: ${libc.strerror()}\n`);
    return 1;
  }
  const one = new Uint8Array(4);
  one[0] = 1;
  await libc.ioctl(fd, BIOCIMMEDIATE, one);
  const bl = new Uint8Array(4);
  await libc.ioctl(fd, BIOCGBLEN, bl);
  const blen = new DataView(bl.buffer).getUint32(0, true);

  let wfd = -1;
  if (o.wfile !== null) {
    wfd = await libc.open(o.wfile, O_WRONLY | O_CREAT | O_TRUNC, 0o644);
    if (wfd < 0) {
      await ctx.err(`tcpdump: ${o.wfile}: ${libc.strerror()}\n`);
      return 1;
    }
    await libc.write(wfd, pcap_file_header(o.snaplen, dlt));
  }
  const ltype = linktype_name(dlt);
  await ctx.err(
    wfd >= 0
      ? `tcpdump: listening on ${o.ifname}, link-type ${ltype}, snapshot length ${o.snaplen} bytes\n`
      : `tcpdump: verbose output suppressed, use -v[v]... for full protocol decode\n` +
          `listening on ${o.ifname}, link-type ${ltype}, snapshot length ${o.snaplen} bytes\n`,
  );
  const buf = new Uint8Array(blen);
  let captured = 0;
  while (o.count === 0 || captured < o.count) {
    const n = await libc.read(fd, buf);
    if (n <= 0) break;
    const dv = new DataView(buf.buffer, 0, n);
    let off = 0;
    while (off + 26 <= n && (o.count === 0 || captured < o.count)) {
      const sec = Number(dv.getBigInt64(off, true));
      const usec = Number(dv.getBigInt64(off + 8, true));
      const caplen = dv.getUint32(off + 16, true);
      const datalen = dv.getUint32(off + 20, true);
      const hdrlen = dv.getUint16(off + 24, true);
      const data = buf.subarray(off + hdrlen, off + hdrlen + caplen);
      off += BPF_WORDALIGN(hdrlen + caplen);
      captured++;
      if (wfd >= 0) {
        await libc.write(wfd, pcap_record(sec, usec, data, datalen));
        continue;
      }
      const line = dlt === DLT_EN10MB ? ether_line(data) : ip_line(data.subarray(4));
      await ctx.out(`${o.notime ? '' : timestr(sec, usec)}${line}\n`);
    }
  }
  if (wfd >= 0) await libc.close(wfd);
  const st = new Uint8Array(8);
  await libc.ioctl(fd, BIOCGSTATS, st);
  const sv = new DataView(st.buffer);
  const pl = (n: number): string => (n === 1 ? '' : 's');
  const recv = sv.getUint32(0, true);
  const drop = sv.getUint32(4, true);
  await ctx.err(
    `${captured} packet${pl(captured)} captured\n` +
      `${recv} packet${pl(recv)} received by filter\n` +
      `${drop} packet${pl(drop)} dropped by kernel\n`,
  );
  await libc.close(fd);
  return 0;
};
