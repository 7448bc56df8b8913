/*
 * sbin/arp.ts — arp(8): address resolution display and control.
 *
 *   arp -a [-n]              every entry of the ARP table
 *   arp [-n] hostname        the entry of one address
 *   arp -d hostname          delete an entry
 *   arp -s hostname ether_addr
 *                            add a permanent entry
 *
 * Like FreeBSD's usr.sbin/arp/arp.c it reaches the kernel only through system calls:
 * the table is read with sysctl (net.route.inet.llinfo, FreeBSD's
 * {CTL_NET, PF_ROUTE, 0, AF_INET, NET_RT_FLAGS, RTF_LLINFO}) as rt_msghdr records, and
 * entries are added and removed with RTM_ADD / RTM_DELETE messages carrying RTF_LLDATA
 * on a routing socket.  -s first asks the kernel for the route to the address
 * (RTM_GET) to learn the interface, as FreeBSD does; an address reached through a
 * gateway has no interface to put the entry on.  Lines are FreeBSD's:
 *
 *   ? (192.0.2.2) at 02:00:00:00:00:0b on epair0a expires in 1200 seconds [ethernet]
 *   ? (192.0.2.9) at 02:00:00:00:00:99 on epair0a permanent [ethernet]
 *
 * There is no resolver: names are always shown as "?" and hosts must be numeric.
 */

import type { Program, ProcCtx } from '../lib/process.js';
import { AF_ROUTE, SOCK_RAW } from '../sys/socket.js';
import {
  RTAX_DST,
  RTAX_GATEWAY,
  RTF_GATEWAY,
  RTF_HOST,
  RTF_LLDATA,
  RTF_STATIC,
  RTF_UP,
  RTM_ADD,
  RTM_DELETE,
  RTM_GET,
  sa_inet,
  sa_link,
  type RtsockMsg,
} from '../net/route.js';
import { ether_addr_write, ether_aton, ether_sprintf } from '../net/ethernet.js';
import { inet_aton, inet_ntoa, type in_addr_t } from '../netinet/in.js';
import { strerror } from '../sys/errno.js';
import { RtSock, rt_sysctl_msgs, wall_seconds } from '../lib/librtsock.js';

const IFT_ETHER = 0x6;

const USAGE =
  'usage: arp [-n] hostname\n' +
  '       arp -a [-n]\n' +
  '       arp -d hostname\n' +
  '       arp -s hostname ether_addr\n';

/** One line of arp -a for an llinfo record (print_entry in arp.c). */
function print_entry(m: RtsockMsg, now: number): string {
  const dst = m.addrs[RTAX_DST] ?? null;
  const gw = m.addrs[RTAX_GATEWAY] ?? null;
  if (dst === null || dst.kind !== 'inet' || gw === null || gw.kind !== 'link') return '';
  let s = `? (${inet_ntoa(dst.addr as in_addr_t)}) at `;
  s += gw.lladdr.length > 0 ? ether_sprintf(gw.lladdr) : '(incomplete)';
  s += ` on ${gw.name !== '' ? gw.name : `link#${gw.index}`}`;
  const exp = m.hdr['rmx_expire'] ?? 0;
  if (exp === 0) s += ' permanent';
  else if (exp - now > 0) s += ` expires in ${exp - now} seconds`;
  else s += ' expired';
  if (gw.type === IFT_ETHER) s += ' [ethernet]';
  return s + '\n';
}

async function open_rtsock(ctx: ProcCtx): Promise<RtSock | null> {
  const s = await ctx.libc.socket(AF_ROUTE, SOCK_RAW, 0);
  if (s < 0) {
    await ctx.err(`arp: socket: ${ctx.libc.strerror()}\n`);
    return null;
  }
  const r = new RtSock(ctx.libc, s);
  await r.init();
  return r;
}

async function getaddr(ctx: ProcCtx, host: string): Promise<number | null> {
  const a = inet_aton(host);
  if (a === null) await ctx.err(`arp: ${host}: Unknown host\n`);
  return a;
}

/** arp -a / arp hostname: print the entries (all, or those of one address). */
async function search(ctx: ProcCtx, only: number | null, host: string): Promise<number> {
  const msgs = await rt_sysctl_msgs(ctx.libc, 'net.route.inet.llinfo');
  if (msgs === null) {
    await ctx.err(`arp: sysctl: net.route.inet.llinfo: ${ctx.libc.strerror()}\n`);
    return 1;
  }
  const now = await wall_seconds(ctx.libc);
  let out = '';
  let found = 0;
  for (const m of msgs) {
    const dst = m.addrs[RTAX_DST] ?? null;
    if (only !== null && (dst === null || dst.kind !== 'inet' || dst.addr !== only)) continue;
    out += print_entry(m, now);
    found++;
  }
  await ctx.out(out);
  if (only !== null && found === 0) {
    await ctx.out(`${host} (${inet_ntoa(only as in_addr_t)}) -- no entry\n`);
    return 1;
  }
  return 0;
}

/** arp -s host ether_addr. */
async function set(ctx: ProcCtx, host: string, eaddr: string): Promise<number> {
  const dst = await getaddr(ctx, host);
  if (dst === null) return 1;
  const mac = ether_aton(eaddr);
  if (mac === null) {
    await ctx.err(`arp: invalid Ethernet address '${eaddr}'\n`);
    return 1;
  }
  const rs = await open_rtsock(ctx);
  if (rs === null) return 1;
  const g = await rs.rtmsg(RTM_GET, { rtm_flags: RTF_UP | RTF_HOST }, [sa_inet(dst)]);
  if (g.errno !== 0 || g.reply === null) {
    await ctx.err(`arp: ${host}: ${strerror(g.errno)}\n`);
    return 1;
  }
  const idx = g.reply.hdr['rtm_index'] ?? 0;
  if (((g.reply.hdr['rtm_flags'] ?? 0) & RTF_GATEWAY) !== 0 || idx === 0) {
    await ctx.err(`arp: cannot intuit interface index and type for ${host}\n`);
    return 1;
  }
  const lla = new Uint8Array(6);
  ether_addr_write(lla, 0, mac);
  const r = await rs.rtmsg(RTM_ADD, { rtm_flags: RTF_UP | RTF_HOST | RTF_STATIC | RTF_LLDATA }, [
    sa_inet(dst),
    sa_link(idx, IFT_ETHER, '', lla),
  ]);
  if (r.errno !== 0) {
    await ctx.err(`arp: writing to routing socket: ${strerror(r.errno)}\n`);
    return 1;
  }
  return 0;
}

/** arp -d host. */
async function del(ctx: ProcCtx, host: string): Promise<number> {
  const dst = await getaddr(ctx, host);
  if (dst === null) return 1;
  const rs = await open_rtsock(ctx);
  if (rs === null) return 1;
  const r = await rs.rtmsg(RTM_DELETE, { rtm_flags: RTF_HOST | RTF_LLDATA }, [sa_inet(dst)]);
  if (r.errno !== 0) {
    await ctx.err(`arp: writing to routing socket: ${strerror(r.errno)}\n`);
    return 1;
  }
  await ctx.out(`${host} (${inet_ntoa(dst as in_addr_t)}) deleted\n`);
  return 0;
}

export const arp: Program = async (ctx) => {
  const argv = ctx.argv.slice(1);
  let aflag = false;
  let dflag = false;
  let sflag = false;
  while (argv[0] !== undefined && /^-[andsS]+$/.test(argv[0])) {
    const f = argv.shift()!;
    if (f.includes('a')) aflag = true;
    if (f.includes('d')) dflag = true;
    if (f.includes('s') || f.includes('S')) sflag = true;
    /* -n: numeric, which is all there is. */
  }
  if (argv[0] !== undefined && argv[0].startsWith('-')) {
    await ctx.err(`arp: illegal option -- ${argv[0].slice(1, 2)}\n${USAGE}`);
    return 64;
  }
  if (Number(aflag) + Number(dflag) + Number(sflag) > 1) {
    await ctx.err(USAGE);
    return 64;
  }
  if (aflag) {
    if (argv.length !== 0) {
      await ctx.err(USAGE);
      return 64;
    }
    return search(ctx, null, '');
  }
  if (dflag) {
    if (argv.length !== 1) {
      await ctx.err(USAGE);
      return 64;
    }
    return del(ctx, argv[0]!);
  }
  if (sflag) {
    if (argv.length !== 2) {
      await ctx.err(USAGE);
      return 64;
    }
    return set(ctx, argv[0]!, argv[1]!);
  }
  if (argv.length !== 1) {
    await ctx.err(USAGE);
    return 64;
  }
  const a = await getaddr(ctx, argv[0]!);
  if (a === null) return 1;
  return search(ctx, a, argv[0]!);
};
