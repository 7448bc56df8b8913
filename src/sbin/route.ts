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
 * A failed write is reported first on standard error as FreeBSD's rtmsg() does ("route
 * has not been found" for ESRCH, nothing for EEXIST, the errno's text otherwise); -q
 * silences the command's line (also its error), not that warning.
 *
 * `route monitor` prints every message the kernel broadcasts in the format of
 * FreeBSD's rtsock route(8) (FreeBSD 14 prints Netlink events; this stack has only the
 * routing socket):
 *
 *   got message of size 200 on Thu Jan  1 00:00:01 1970
 *   RTM_ADD: Add Route: len 200, pid: 7, seq 1, errno 0, flags:<UP,GATEWAY,DONE,STATIC>
 *   locks:  inits:
 *   sockaddrs: <DST,GATEWAY,NETMASK>
 *    203.0.113.0 192.0.2.254 255.255.255.0
 *
 * (a blank line before each message; interface messages show "if# N, link: up,
 * flags:<...>", address messages "metric 0, flags:<...>", arrivals "if# N, what:
 * arrival").  It runs until killed.
 */

import type { Program } from '../lib/process.js';
import { AF_ROUTE, SOCK_RAW } from '../sys/socket.js';
import {
  RTM_DELADDR,
  RTM_IFANNOUNCE,
  RTM_IFINFO,
  RTM_LOCK,
  RTM_LOSING,
  RTM_MISS,
  RTM_NEWADDR,
  RTM_REDIRECT,
  RTM_RESOLVE,
  RTAX_MAX,
  IFAN_ARRIVAL,
  IFAN_DEPARTURE,
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
  type RtsockMsg,
} from '../net/route.js';
import { RT_FLAG_NAMES as RT_FLAGS, rt_flags_names } from '../net/route/route_var.js';
import { IFF_NAMES, LINK_STATE_DOWN, LINK_STATE_UP } from '../net/if_var.js';
import { clock_gettime, CLOCK_REALTIME } from '../lib/process.js';
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

/* route(8)'s names for message types, metric bits and address bits. */
const MSGTYPES: Record<number, string> = {
  [RTM_ADD]: 'RTM_ADD: Add Route',
  [RTM_DELETE]: 'RTM_DELETE: Delete Route',
  [RTM_CHANGE]: 'RTM_CHANGE: Change Metrics or flags',
  [RTM_GET]: 'RTM_GET: Report Metrics',
  [RTM_LOSING]: 'RTM_LOSING: Kernel Suspects Partitioning',
  [RTM_REDIRECT]: 'RTM_REDIRECT: Told to use different route',
  [RTM_MISS]: 'RTM_MISS: Lookup failed on this address',
  [RTM_LOCK]: 'RTM_LOCK: fix specified metrics',
  [RTM_RESOLVE]: 'RTM_RESOLVE: Route created by cloning',
  [RTM_NEWADDR]: 'RTM_NEWADDR: address being added to iface',
  [RTM_DELADDR]: 'RTM_DELADDR: address being removed from iface',
  [RTM_IFINFO]: 'RTM_IFINFO: iface status change',
  [RTM_IFANNOUNCE]: 'RTM_IFANNOUNCE: iface arrival/departure',
};
/** Metric bits in route(8)'s order (RTV_WEIGHT first). */
const METRICNAMES: readonly (readonly [number, string])[] = [
  [0x100, 'weight'],
  [0x80, 'rttvar'],
  [0x40, 'rtt'],
  [0x20, 'ssthresh'],
  [0x10, 'sendpipe'],
  [0x8, 'recvpipe'],
  [0x4, 'expire'],
  [0x2, 'hopcount'],
  [0x1, 'mtu'],
];
const ADDRNAMES = ['DST', 'GATEWAY', 'NETMASK', 'GENMASK', 'IFP', 'IFA', 'AUTHOR', 'BRD'];

/** printb: "<A,B>" for the set bits, nothing at all when none is. */
function printb(v: number, names: readonly (readonly [number, string])[]): string {
  const l = names.filter(([b]) => (v & b) !== 0).map(([, n]) => n);
  return l.length > 0 ? `<${l.join(',')}>` : '';
}

/** routename() of a message's sockaddr: "default" for 0.0.0.0, link_ntoa for links. */
function routename(sa: RtSockaddr): string {
  if (sa.kind === 'inet') return sa.addr === 0 ? 'default' : inet_ntoa(sa.addr as in_addr_t);
  if (sa.kind === 'link') {
    if (sa.name === '' && sa.lladdr.length === 0) return `link#${sa.index}`;
    const ll = [...sa.lladdr].map((x) => x.toString(16)).join('.');
    return ll === '' ? sa.name : `${sa.name}:${ll}`;
  }
  return `(${sa.family})`;
}

/** "\nsockaddrs: <...>\n addr addr...\n", or "\n" when the message has none. */
function pmsg_addrs(addrs: readonly (RtSockaddr | null)[]): string {
  let bits = 0;
  const l: string[] = [];
  for (let i = 0; i < RTAX_MAX; i++) {
    const sa = addrs[i];
    if (sa === null || sa === undefined) continue;
    bits |= 1 << i;
    l.push(` ${routename(sa)}`);
  }
  if (bits === 0) return '\n';
  const names = ADDRNAMES.map((n, i) => [1 << i, n] as const);
  return `\nsockaddrs: ${printb(bits, names)}\n${l.join('')}\n`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ctime(3) in UTC (the system has no time zone): "Thu Jan  1 00:00:00 1970\n". */
export function ctime(sec: number): string {
  const d = new Date(sec * 1000);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${d.getUTCFullYear()}\n`
  );
}

/** print_rtmsg: one message as route monitor shows it. */
function print_rtmsg(m: RtsockMsg): string {
  const h = m.hdr;
  const g = (f: string): number => h[f] ?? 0;
  const name = MSGTYPES[m.type] ?? `unknown type ${m.type}`;
  switch (m.type) {
    case RTM_IFINFO: {
      const ls = g('ifi_link_state');
      const st = ls === LINK_STATE_UP ? 'up' : ls === LINK_STATE_DOWN ? 'down' : 'unknown';
      return (
        `${name}: len ${g('ifm_msglen')}, if# ${g('ifm_index')}, link: ${st}, flags:` +
        printb(g('ifm_flags'), IFF_NAMES) +
        pmsg_addrs(m.addrs)
      );
    }
    case RTM_NEWADDR:
    case RTM_DELADDR:
      return (
        `${name}: len ${g('ifam_msglen')}, metric ${g('ifam_metric')}, flags:` +
        printb(g('ifam_flags'), RT_FLAGS) +
        pmsg_addrs(m.addrs)
      );
    case RTM_IFANNOUNCE: {
      const w = g('ifan_what');
      const what = w === IFAN_ARRIVAL ? 'arrival' : w === IFAN_DEPARTURE ? 'departure' : `#${w}`;
      return `${name}: len ${g('ifan_msglen')}, if# ${g('ifan_index')}, what: ${what}\n`;
    }
    default:
      return (
        `${name}: len ${g('rtm_msglen')}, pid: ${g('rtm_pid')}, seq ${g('rtm_seq')}, ` +
        `errno ${g('rtm_errno')}, flags:${printb(g('rtm_flags'), RT_FLAGS)}\n` +
        `locks: ${printb(g('rmx_locks'), METRICNAMES)} inits: ${printb(g('rtm_inits'), METRICNAMES)}` +
        pmsg_addrs(m.addrs)
      );
  }
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
      if (argv.length > 0) {
        await ctx.err(USAGE);
        return 64;
      }
      const rb = new Uint8Array(2048);
      for (;;) {
        const n = await libc.read(s, rb);
        if (n < 0) {
          await ctx.err(`route: read: ${libc.strerror()}\n`);
          return 1;
        }
        if (n === 0) return 0;
        const now = Math.floor((await clock_gettime(libc, CLOCK_REALTIME)) / 1e9);
        const d = rtsock_decode(rb.subarray(0, n));
        const body =
          d.msg !== null
            ? print_rtmsg(d.msg)
            : n >= 4 && rb[2] !== 5
              ? `routing message version ${rb[2]} not understood\n`
              : `unknown type ${rb[3] ?? 0}: len ${n}\n`;
        await ctx.out(`\ngot message of size ${n} on ${ctime(now)}${body}`);
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
      /* "%8lu%c " per metric, the lock flag 'L' or a space; rtt in milliseconds. */
      const locks = h['rmx_locks'] ?? 0;
      const col = (f: string, bit: number, v = h[f] ?? 0): string =>
        `${String(v).padStart(8)}${locks & bit ? 'L' : ' '}`;
      let expire = h['rmx_expire'] ?? 0;
      if (expire > 0) expire -= Math.floor((await clock_gettime(libc, CLOCK_REALTIME)) / 1e9);
      out +=
        [
          col('rmx_recvpipe', 0x8),
          col('rmx_sendpipe', 0x10),
          col('rmx_ssthresh', 0x20),
          col('rmx_rtt', 0x40, Math.floor(((h['rmx_rtt'] ?? 0) + 500) / 1000)),
          col('rmx_mtu', 0x1),
          col('rmx_weight', 0x100),
          col('rmx_expire', 0x4, expire),
        ].join(' ') + '\n';
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
      /* Modifiers with a value: a missing one is usage, as FreeBSD's `if (!--argc)`. */
      if ((a === '-netmask' || a === '-mtu' || a === '-ifp') && argv[i + 1] === undefined) {
        await ctx.err(USAGE);
        return 64;
      }
      if (a === '-host') host = true;
      else if (a === '-net') net = true;
      else if (a === '-reject') flags |= RTF_REJECT;
      else if (a === '-blackhole') flags |= RTF_BLACKHOLE;
      else if (a === '-static') flags |= RTF_STATIC;
      else if (a === '-iface' || a === '-interface') flags &= ~RTF_GATEWAY;
      else if (a === '-netmask') {
        const v = argv[++i]!;
        netmask = inet_aton(v);
        if (netmask === null) {
          await ctx.err(`route: bad address: ${v}\n`);
          return 1;
        }
      } else if (a === '-mtu') {
        /* set_metric: strtol with the whole string, else err(EX_USAGE, value). */
        const v = argv[++i]!;
        if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(v)) {
          await ctx.err(`route: ${v}: Invalid argument\n`);
          return 64;
        }
        mtu = Number(v);
      } else if (a === '-ifp') ifp = argv[++i]!;
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
    /* rtmsg()'s warning about the failed write. */
    if (r.errno === ESRCH) await ctx.err('route: route has not been found\n');
    else if (r.errno !== 0 && r.errno !== EEXIST)
      await ctx.err(`route: writing to routing socket: ${strerror(r.errno)}\n`);
    const what = `${cmd} ${plen === 32 ? 'host' : 'net'} ${p.addr === 0 && plen === 0 ? 'default' : inet_ntoa(p.addr as in_addr_t)}`;
    const gwtxt = gwS !== undefined ? `: gateway ${gwS}` : '';
    if (r.errno !== 0) {
      if (!quiet) await ctx.out(`${what}${gwtxt}: ${errtext(r.errno)}\n`);
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
