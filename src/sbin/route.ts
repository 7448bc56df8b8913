/*
 * sbin/route.ts — route(8): manipulate the routing tables, through the routing socket.
 *
 *   route [-nq] add|change [-net|-host] destination[/len] gateway [-netmask mask]
 *         [-interface] [-ifp ifname] [-mtu n] [-reject] [-blackhole] [-static]
 *   route [-nq] delete [-net|-host] destination[/len] [gateway]
 *   route [-n] get|show destination
 *   route [-n] monitor
 *
 * Every operation is a message (struct rt_msghdr + sockaddrs, net/route.ts) written on a
 * PF_ROUTE socket; the answer is the kernel's echo of the message with rtm_errno, found
 * by our pid and sequence number among whatever else the socket receives — exactly as
 * FreeBSD's route(8) does.  Output and messages follow FreeBSD's:
 *
 *   add net default: gateway 192.0.2.1
 *   add net 198.51.100.0: gateway 192.0.2.1: route already in table
 *
 * and `route get` prints the destination, mask, gateway, interface, flags and metrics.
 */

import type { Program } from '../lib/process.js';
import { AF_ROUTE, SOCK_RAW } from '../sys/socket.js';
import {
  RTAX_DST,
  RTAX_GATEWAY,
  RTAX_IFP,
  RTAX_NETMASK,
  RTF_BLACKHOLE,
  RTF_GATEWAY,
  RTF_HOST,
  RTF_REJECT,
  RTF_STATIC,
  RTF_UP,
  RTM_ADD,
  RTM_CHANGE,
  RTM_DELETE,
  RTM_GET,
  rtsock_decode,
  sa_inet,
  sa_link,
  type RtSockaddr,
} from '../net/route.js';
import { rt_flags_names } from '../net/route/route_var.js';
import { inet_aton, inet_ntoa, in_len2mask, type in_addr_t } from '../netinet/in.js';
import { EBUSY, EEXIST, ENOBUFS, ESRCH, strerror } from '../sys/errno.js';
import { RtSock } from '../lib/librtsock.js';

const USAGE =
  'usage: route [-nq] command [[modifiers] args]\n' +
  '       commands: add, change, delete, get, show, monitor\n';

function sa_str(sa: RtSockaddr | null, numeric: boolean): string {
  if (sa === null) return '(none)';
  if (sa.kind === 'inet')
    return sa.addr === 0 && !numeric ? 'default' : inet_ntoa(sa.addr as in_addr_t);
  if (sa.kind === 'link') return sa.name !== '' ? sa.name : `link#${sa.index}`;
  return `(${sa.family})`;
}

/** Parse "default", "a.b.c.d", "a.b.c.d/len" (and -netmask later). */
function parseDest(s: string): { addr: number; plen: number } | null {
  if (s === 'default') return { addr: 0, plen: 0 };
  const m = /^([0-9.]+)(?:\/([0-9]{1,2}))?$/.exec(s);
  if (!m) return null;
  const a = inet_aton(m[1]!);
  if (a === null) return null;
  const plen = m[2] !== undefined ? Number(m[2]) : -1;
  if (plen > 32) return null;
  return { addr: a, plen };
}

function errtext(e: number): string {
  switch (e) {
    case ESRCH:
      return 'not in table';
    case EBUSY:
      return 'entry in use';
    case ENOBUFS:
      return 'not enough memory';
    case EEXIST:
      return 'route already in table';
    default:
      return strerror(e);
  }
}

export const route: Program = async (ctx) => {
  const argv = ctx.argv.slice(1);
  let numeric = false;
  let quiet = false;
  while (argv[0] !== undefined && /^-[nqv]+$/.test(argv[0])) {
    const f = argv.shift()!;
    if (f.includes('n')) numeric = true;
    if (f.includes('q')) quiet = true;
  }
  const cmd = argv.shift();
  if (cmd === undefined) {
    await ctx.err(USAGE);
    return 64;
  }
  const libc = ctx.libc;
  const s = await libc.socket(AF_ROUTE, SOCK_RAW, 0);
  if (s < 0) {
    await ctx.err(`route: socket: ${libc.strerror()}\n`);
    return 1;
  }
  const rc = new RtSock(libc, s);
  await rc.init();
  try {
    if (cmd === 'monitor') {
      const rb = new Uint8Array(2048);
      for (;;) {
        const n = await libc.read(s, rb);
        if (n <= 0) return n < 0 ? 1 : 0;
        const d = rtsock_decode(rb.subarray(0, n));
        if (d.msg === null) continue;
        await ctx.out(`got message of size ${n}: type ${d.msg.type}\n`);
      }
    }
    if (cmd === 'get' || cmd === 'show') {
      const dst = argv[0] === '-net' || argv[0] === '-host' ? argv[1] : argv[0];
      const p = dst === undefined ? null : parseDest(dst);
      if (p === null) {
        await ctx.err(dst === undefined ? USAGE : `route: bad address: ${dst}\n`);
        return dst === undefined ? 64 : 1;
      }
      const addrs: (RtSockaddr | null)[] = [
        sa_inet(p.addr),
        null,
        p.plen >= 0 ? sa_inet(in_len2mask(p.plen)) : null,
        null,
        sa_link(0),
      ];
      const r = await rc.rtmsg(
        RTM_GET,
        { rtm_flags: RTF_UP | (p.plen < 0 || p.plen === 32 ? RTF_HOST : 0) },
        addrs,
      );
      if (r.errno !== 0 || r.reply === null) {
        await ctx.err(`route: route has not been found\n`);
        return 1;
      }
      const m = r.reply;
      const a = m.addrs;
      const h = m.hdr;
      let out = `   route to: ${inet_ntoa(p.addr as in_addr_t)}\n`;
      out += `destination: ${sa_str(a[RTAX_DST] ?? null, numeric)}\n`;
      if (a[RTAX_NETMASK])
        out += `       mask: ${inet_ntoa((a[RTAX_NETMASK] as { addr: number }).addr as in_addr_t)}\n`;
      if (a[RTAX_GATEWAY] && ((h['rtm_flags'] ?? 0) & RTF_GATEWAY) !== 0)
        out += `    gateway: ${sa_str(a[RTAX_GATEWAY] ?? null, true)}\n`;
      out += `        fib: 0\n`;
      if (a[RTAX_IFP]) out += `  interface: ${sa_str(a[RTAX_IFP] ?? null, true)}\n`;
      out += `      flags: <${rt_flags_names(h['rtm_flags'] ?? 0)}>\n`;
      out += ' recvpipe  sendpipe  ssthresh  rtt,msec    mtu        weight    expire\n';
      const col = (v: number, w: number): string => String(v).padStart(w);
      out += `${col(h['rmx_recvpipe'] ?? 0, 8)}${col(h['rmx_sendpipe'] ?? 0, 10)}${col(h['rmx_ssthresh'] ?? 0, 10)}${col(h['rmx_rtt'] ?? 0, 10)}${col(h['rmx_mtu'] ?? 0, 11)}${col(h['rmx_weight'] ?? 0, 14)}${col(h['rmx_expire'] ?? 0, 10)}\n`;
      await ctx.out(out);
      return 0;
    }
    if (cmd !== 'add' && cmd !== 'delete' && cmd !== 'change') {
      await ctx.err(`route: ${cmd}: unknown command\n${USAGE}`);
      return 64;
    }
    let host = false;
    let net = false;
    let flags = RTF_UP | RTF_STATIC;
    let netmask: number | null = null;
    let mtu = 0;
    let ifp: string | null = null;
    const pos: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '-host') host = true;
      else if (a === '-net') net = true;
      else if (a === '-reject') flags |= RTF_REJECT;
      else if (a === '-blackhole') flags |= RTF_BLACKHOLE;
      else if (a === '-static') flags |= RTF_STATIC;
      else if (a === '-iface' || a === '-interface') flags &= ~RTF_GATEWAY;
      else if (a === '-netmask') netmask = inet_aton(argv[++i] ?? '');
      else if (a === '-mtu') mtu = Number(argv[++i]);
      else if (a === '-ifp') ifp = argv[++i] ?? null;
      else pos.push(a);
    }
    const dstS = pos[0];
    const gwS = pos[1];
    const p = dstS === undefined ? null : parseDest(dstS);
    if (p === null || (cmd !== 'delete' && gwS === undefined)) {
      await ctx.err(p === null && dstS !== undefined ? `route: bad address: ${dstS}\n` : USAGE);
      return p === null && dstS !== undefined ? 1 : 64;
    }
    let plen = p.plen;
    if (netmask !== null) {
      let n = 0;
      for (let m = netmask; m & 0x80000000; m = (m << 1) >>> 0) n++;
      plen = n;
    }
    if (plen < 0)
      plen = host || (!net && p.addr !== 0 && (p.addr & 0xff) !== 0) ? 32 : classfulLen(p.addr);
    if (host) plen = 32;
    const gwAddr = gwS === undefined ? null : inet_aton(gwS);
    if (gwS !== undefined && gwAddr === null && !ifp) {
      await ctx.err(`route: bad address: ${gwS}\n`);
      return 1;
    }
    if (gwAddr !== null) flags |= RTF_GATEWAY;
    if (plen === 32) flags |= RTF_HOST;
    const addrs: (RtSockaddr | null)[] = [
      sa_inet(p.addr),
      gwAddr !== null ? sa_inet(gwAddr) : null,
      plen === 32 ? null : sa_inet(in_len2mask(plen)),
      null,
      ifp !== null ? sa_link(0, 0, ifp) : null,
    ];
    const type = cmd === 'add' ? RTM_ADD : cmd === 'delete' ? RTM_DELETE : RTM_CHANGE;
    const hdr: Record<string, number> = { rtm_flags: flags };
    if (mtu > 0) {
      hdr['rmx_mtu'] = mtu;
      hdr['rtm_inits'] = 0x4; /* RTV_MTU */
    }
    const r = await rc.rtmsg(type, hdr, addrs);
    const what = `${cmd} ${plen === 32 ? 'host' : 'net'} ${p.addr === 0 && plen === 0 ? 'default' : inet_ntoa(p.addr as in_addr_t)}`;
    const gwtxt = gwS !== undefined ? `: gateway ${gwS}` : '';
    if (r.errno !== 0) {
      await ctx.out(`${what}${gwtxt}: ${errtext(r.errno)}\n`);
      return 1;
    }
    if (!quiet) await ctx.out(`${what}${gwtxt}\n`);
    return 0;
  } finally {
    await libc.close(s);
  }
};

function classfulLen(a: number): number {
  if ((a & 0x80000000) === 0) return 8;
  if ((a & 0xc0000000) >>> 0 === 0x80000000) return 16;
  return 24;
}
