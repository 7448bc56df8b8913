/*
 * sbin/arp.ts — arp(8): address resolution display and control.
 *
 *   arp -a [-n] [-i if]      every entry of the ARP table (of one interface)
 *   arp [-n] [-i if] hostname
 *                            the entry of one address
 *   arp -d hostname          delete an entry
 *   arp -d [-i if] -a        delete every entry (of one interface), one line each
 *   arp -s|-S hostname ether_addr [temp] [blackhole | reject] [pub [only]]
 *                            add an entry (-S deletes an old one first): permanent,
 *                            or for 20 minutes with temp; pub publishes it (the kernel
 *                            answers requests for the address: proxy ARP)
 *   arp -f filename          arp -s for each line "hostname ether_addr [modifiers]"
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
 * Usage errors exit 1, as FreeBSD's arp does.  blackhole and reject are accepted and
 * passed to the kernel, which ignores them as FreeBSD 14's lltable does.
 */

import { FdReader, type Program, type ProcCtx } from '../lib/process.js';
import { AF_ROUTE, SOCK_RAW } from '../sys/socket.js';
import {
  RTAX_DST,
  RTAX_GATEWAY,
  RTAX_IFP,
  RTF_ANNOUNCE,
  RTF_BLACKHOLE,
  RTF_GATEWAY,
  RTF_HOST,
  RTF_REJECT,
  RTF_LLDATA,
  RTF_STATIC,
  RTF_UP,
  RTM_ADD,
  RTM_DELETE,
  RTM_GET,
  RTV_EXPIRE,
  sa_inet,
  sa_link,
  type RtsockMsg,
} from '../net/route.js';
import { ether_addr_write, ether_aton, ether_sprintf } from '../net/ethernet.js';
import { inet_aton, inet_ntoa, type in_addr_t } from '../netinet/in.js';
import { strerror } from '../sys/errno.js';
import { RtSock, rt_sysctl_msgs, wall_seconds } from '../lib/librtsock.js';
import { O_RDONLY } from '../sys/fcntl.js';

const IFT_ETHER = 0x6;

const USAGE =
  'usage: arp [-n] [-i interface] hostname\n' +
  '       arp [-n] [-i interface] -a\n' +
  '       arp -d hostname\n' +
  '       arp -d [-i interface] -a\n' +
  '       arp -s hostname ether_addr [temp] [blackhole | reject] [pub [only]]\n' +
  '       arp -S hostname ether_addr [temp] [blackhole | reject] [pub [only]]\n' +
  '       arp -f filename\n';
const EX_USAGE_ARP = 1;

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
  if ((m.hdr['rtm_flags'] ?? 0) & RTF_ANNOUNCE) s += ' published';
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

/** The interface an entry is on (its gateway's sockaddr_dl name). */
function entry_if(m: RtsockMsg): string {
  const gw = m.addrs[RTAX_GATEWAY] ?? null;
  return gw !== null && gw.kind === 'link' ? gw.name : '';
}

/** The ARP table's records (net.route.inet.llinfo); null after reporting an error. */
async function llinfo(ctx: ProcCtx): Promise<RtsockMsg[] | null> {
  const msgs = await rt_sysctl_msgs(ctx.libc, 'net.route.inet.llinfo');
  if (msgs === null) await ctx.err(`arp: sysctl: net.route.inet.llinfo: ${ctx.libc.strerror()}\n`);
  return msgs;
}

/** arp -a / arp hostname: print the entries (all, or those of one address). */
async function search(
  ctx: ProcCtx,
  only: number | null,
  host: string,
  ifname: string | null,
): Promise<number> {
  const msgs = await llinfo(ctx);
  if (msgs === null) return 1;
  const now = await wall_seconds(ctx.libc);
  let out = '';
  let found = 0;
  for (const m of msgs) {
    const dst = m.addrs[RTAX_DST] ?? null;
    if (only !== null && (dst === null || dst.kind !== 'inet' || dst.addr !== only)) continue;
    if (ifname !== null && entry_if(m) !== ifname) continue;
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

/**
 * The modifiers after arp -s host ether_addr: RTF_* flags and the expiry (wall-clock
 * seconds, 0 = permanent); null after a diagnostic (the caller prints usage).
 */
async function set_modifiers(
  ctx: ProcCtx,
  mods: readonly string[],
): Promise<{ flags: number; expire: number } | null> {
  let flags = 0;
  let expire = 0;
  for (let i = 0; i < mods.length; i++) {
    const a = mods[i]!;
    if (a === 'temp') expire = (await wall_seconds(ctx.libc)) + 20 * 60;
    else if (a === 'pub') {
      flags |= RTF_ANNOUNCE;
      /* "only" meant "publish only" before FreeBSD 8; it is accepted and means pub. */
      if (mods[i + 1] === 'only') i++;
    } else if (a === 'blackhole' || a === 'reject') {
      const mine = a === 'blackhole' ? RTF_BLACKHOLE : RTF_REJECT;
      if (flags & (RTF_BLACKHOLE | RTF_REJECT) & ~mine) {
        await ctx.err('arp: Choose one of blackhole or reject, not both.\n');
        return null;
      }
      flags |= mine;
    } else {
      await ctx.err(`arp: Invalid parameter '${a}'\n`);
      return null;
    }
  }
  return { flags, expire };
}

/** arp -s host ether_addr [modifiers]. */
async function set(
  ctx: ProcCtx,
  host: string,
  eaddr: string,
  mods: { flags: number; expire: number } = { flags: 0, expire: 0 },
): Promise<number> {
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
  const hdr: Record<string, number> = {
    rtm_flags: RTF_UP | RTF_HOST | RTF_LLDATA | mods.flags | (mods.expire === 0 ? RTF_STATIC : 0),
  };
  if (mods.expire !== 0) {
    hdr['rmx_expire'] = mods.expire;
    hdr['rtm_inits'] = RTV_EXPIRE;
  }
  const r = await rs.rtmsg(RTM_ADD, hdr, [sa_inet(dst), sa_link(idx, IFT_ETHER, '', lla)]);
  if (r.errno !== 0) {
    await ctx.err(`arp: writing to routing socket: ${strerror(r.errno)}\n`);
    return 1;
  }
  return 0;
}

/** arp -d -a: delete every entry (of one interface), each as arp -d would. */
async function del_all(ctx: ProcCtx, ifname: string | null): Promise<number> {
  const msgs = await llinfo(ctx);
  if (msgs === null) return 1;
  let st = 0;
  for (const m of msgs) {
    const dst = m.addrs[RTAX_DST] ?? null;
    if (dst === null || dst.kind !== 'inet') continue;
    if (ifname !== null && entry_if(m) !== ifname) continue;
    if ((await del(ctx, inet_ntoa(dst.addr as in_addr_t))) !== 0) st = 1;
  }
  return st;
}

/** arp -d host. */
async function del(ctx: ProcCtx, host: string, quiet = false): Promise<number> {
  const dst = await getaddr(ctx, host);
  if (dst === null) return 1;
  const rs = await open_rtsock(ctx);
  if (rs === null) return 1;
  const r = await rs.rtmsg(RTM_DELETE, { rtm_flags: RTF_HOST | RTF_LLDATA }, [sa_inet(dst)]);
  if (r.errno !== 0) {
    await ctx.err(`arp: writing to routing socket: ${strerror(r.errno)}\n`);
    return 1;
  }
  if (!quiet) await ctx.out(`${host} (${inet_ntoa(dst as in_addr_t)}) deleted\n`);
  return 0;
}

/** Does the interface exist?  (if_nametoindex through the interface list.) */
async function if_exists(ctx: ProcCtx, name: string): Promise<boolean> {
  const msgs = await rt_sysctl_msgs(ctx.libc, 'net.route.iflist');
  return (msgs ?? []).some((m) => {
    const ifp = m.addrs[RTAX_IFP] ?? null;
    return ifp !== null && ifp.kind === 'link' && ifp.name === name;
  });
}

export const arp: Program = async (ctx) => {
  const argv = ctx.argv.slice(1);
  let aflag = false;
  let dflag = false;
  let sflag = false;
  let replace = false;
  let file: string | null = null;
  let ifname: string | null = null;
  const usage = async (msg = ''): Promise<number> => {
    await ctx.err(msg + USAGE);
    return EX_USAGE_ARP;
  };
  /* getopt("andi:sS"): flags may be grouped; options end at the first operand. */
  while (argv[0] !== undefined && argv[0].startsWith('-') && argv[0] !== '-') {
    const f = argv.shift()!;
    if (f === '--') break;
    for (let j = 1; j < f.length; j++) {
      const c = f[j]!;
      if (c === 'a') aflag = true;
      else if (c === 'd') dflag = true;
      else if (c === 'n') continue; /* numeric: all there is */
      else if (c === 's') sflag = true;
      else if (c === 'S') sflag = replace = true;
      else if (c === 'f') {
        const v = f.slice(j + 1) || argv.shift();
        if (v === undefined) return usage(`arp: option requires an argument -- f\n`);
        file = v;
        break;
      } else if (c === 'i') {
        const v = f.slice(j + 1) || argv.shift();
        if (v === undefined) return usage(`arp: option requires an argument -- i\n`);
        ifname = v;
        break;
      } else return usage(`arp: illegal option -- ${c}\n`);
    }
  }
  if (ifname !== null && !(await if_exists(ctx, ifname))) {
    await ctx.err(`arp: interface ${ifname} does not exist\n`);
    return 1;
  }
  if (file !== null) {
    if (aflag || dflag || sflag || ifname !== null || argv.length !== 0) return usage();
    return file_set(ctx, file);
  }
  if (sflag) {
    if (aflag || dflag || ifname !== null || argv.length < 2) return usage();
    const mods = await set_modifiers(ctx, argv.slice(2));
    if (mods === null) return usage();
    if (replace) {
      const a = inet_aton(argv[0]!);
      /* -S: an existing entry goes first; none is not an error. */
      if (a !== null && (await has_entry(ctx, a))) await del(ctx, argv[0]!, true);
    }
    return set(ctx, argv[0]!, argv[1]!, mods);
  }
  if (dflag) {
    if (aflag) return argv.length === 0 ? del_all(ctx, ifname) : usage();
    if (argv.length !== 1 || ifname !== null) return usage();
    return del(ctx, argv[0]!);
  }
  if (aflag) return argv.length === 0 ? search(ctx, null, '', ifname) : usage();
  if (argv.length !== 1) return usage();
  const a = await getaddr(ctx, argv[0]!);
  if (a === null) return 1;
  return search(ctx, a, argv[0]!, ifname);
};

/**
 * arp -f file: each line "hostname ether_addr [modifiers]" as arp -s (blank lines and
 * lines starting with '#' skipped); a bad line is reported with its number and the
 * rest still go in; the status is 1 if any failed.
 */
async function file_set(ctx: ProcCtx, file: string): Promise<number> {
  const fd = await ctx.libc.open(file, O_RDONLY);
  if (fd < 0) {
    await ctx.err(`arp: cannot open ${file}: ${ctx.libc.strerror()}\n`);
    return 1;
  }
  const text = new TextDecoder().decode(await new FdReader(ctx.libc, fd).readAll());
  await ctx.libc.close(fd);
  let st = 0;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const w = lines[n]!.trim()
      .split(/\s+/)
      .filter((x) => x !== '');
    if (w.length === 0 || w[0]!.startsWith('#')) continue;
    const mods = w.length >= 2 ? await set_modifiers(ctx, w.slice(2)) : null;
    if (mods === null) {
      await ctx.err(`arp: bad line ${n + 1} in ${file}: ${lines[n]!.trim()}\n`);
      st = 1;
      continue;
    }
    if ((await set(ctx, w[0]!, w[1]!, mods)) !== 0) st = 1;
  }
  return st;
}

/** Is there an entry for addr? */
async function has_entry(ctx: ProcCtx, addr: number): Promise<boolean> {
  const msgs = (await rt_sysctl_msgs(ctx.libc, 'net.route.inet.llinfo')) ?? [];
  return msgs.some((m) => {
    const d = m.addrs[RTAX_DST] ?? null;
    return d !== null && d.kind === 'inet' && d.addr === addr;
  });
}
