/*
 * usr.bin/netstat.ts — netstat(1): network statistics.
 *
 * `netstat -s [-p proto]` prints a protocol's statistics structure the way FreeBSD's
 * does (usr.bin/netstat/inet.c): it looks the structure up BY SYMBOL through libkvm
 * (kvm_nlist("_ipstat") finds vnet_entry_ipstat in a VIMAGE kernel, plain `ipstat`
 * without VIMAGE), reads the array of counter(9) handles from the caller's vnet and sums
 * each counter over the CPUs (kvm_counter_u64_fetch) — it knows only the symbol's name
 * and the structure's layout, never the kernel code that defines it.  When kernel memory
 * cannot be read (inside a jail /dev/kmem is refused, as in FreeBSD) it falls back to
 * the sysctl that exports the same structure (net.inet.ip.stats), as FreeBSD's netstat
 * does on a live system.  `-j JAIL` runs inside the jail (jail_attach), so the
 * statistics are that vnet's.  With one -s every line is printed, with -ss zeros are
 * left out, as in FreeBSD.
 *
 * `netstat -r [-n] [-f inet] [-j jail]` lists the IPv4 routing table the way FreeBSD's
 * does on a live system (usr.bin/netstat/route.c, p_rtentry_sysctl): the table comes
 * from sysctl net.route.inet.dump (FreeBSD's {CTL_NET, PF_ROUTE, 0, AF_INET,
 * NET_RT_DUMP}) as rt_msghdr records with their sockaddrs, one line per route:
 *
 *   Routing tables
 *
 *   Internet:
 *   Destination        Gateway            Flags     Netif Expire
 *   default            192.0.2.254        UGS     epair0a
 *   192.0.2.0/24       link#2             U       epair0a
 *
 * There is no resolver: -r prints numbers with or without -n.
 *
 * `netstat [-a] [-n] [-p tcp|udp] [-j jail]` lists the vnet's Internet sockets
 * (inet.c protopr) from the protocols' pcblist sysctls (net.inet.udp.pcblist, and
 * net.inet.tcp.pcblist once TCP is there), newest first, in FreeBSD's columns:
 *
 *   Active Internet connections (including servers)
 *   Proto Recv-Q Send-Q Local Address          Foreign Address        (state)
 *   udp4       0      0 192.0.2.1.5000         192.0.2.2.9
 *   udp4       0      0 *.5353                 *.*
 *
 * There is no resolver, so addresses and ports are numeric with or without -n.
 * `netstat -i [-n] [-j jail]` lists the interfaces with their counters and addresses
 * from sysctl net.route.iflist (FreeBSD's NET_RT_IFLIST).
 *
 * `netstat -m` prints the mbuf zones' use in FreeBSD's lines (mbpr below), from
 * kern.ipc.mbuf_zones.
 */

import type { Program, ProcCtx } from '../lib/process.js';
import { Kvm, type NlistEntry } from '../lib/libkvm.js';
import { jail_attach, jail_getid } from '../lib/libjail.js';
import { rt_sysctl_msgs, wall_seconds } from '../lib/librtsock.js';
import {
  RTAX_DST,
  RTAX_GATEWAY,
  RTAX_IFA,
  RTAX_IFP,
  RTAX_NETMASK,
  RTM_IFINFO,
  RTM_NEWADDR,
  type RtSockaddr,
} from '../net/route.js';
import { rt_flags_letters } from '../net/route/route_var.js';
import { ether_sprintf } from '../net/ethernet.js';
import { in_mask2len, inet_ntoa, type in_addr_t } from '../netinet/in.js';
import { xinpcb_decode } from '../netinet/in_pcb.js';
import { TCPSTAT_FIELDS } from '../netinet/tcp_var.js';
import { ARPSTAT_FIELDS } from '../netinet/if_ether.js';
import { mbuf_zones_decode } from '../kern/kern_mbuf.js';
import type { MbufZoneStat } from '../sys/mbuf.js';

const USAGE =
  'usage: netstat [-an] [-p protocol] [-j jail]\n' +
  '       netstat -i [-n] [-j jail]\n' +
  '       netstat -s [-s] [-p protocol] [-j jail]\n' +
  '       netstat -r [-n] [-f address_family] [-j jail]\n' +
  '       netstat -m\n';

/** One statistics structure: its symbol, its sysctl, and how each field prints. */
interface StatDef {
  readonly proto: string;
  readonly symbol: string;
  readonly sysctl: string;
  /** Field names in structure order (each a uint64_t counter). */
  readonly fields: readonly string[];
  /** [field, format] with %ju for the value and %s for the plural "s"; a line starting
   * with '+' continues the previous line. */
  readonly lines: readonly (readonly [string, string])[];
  /** Counters netstat computes from the others (udp's "delivered"). */
  readonly derive?: (vals: Map<string, number>) => void;
}

const IPSTAT: StatDef = {
  proto: 'ip',
  symbol: '_ipstat',
  sysctl: 'net.inet.ip.stats',
  fields: [
    'ips_total',
    'ips_badsum',
    'ips_tooshort',
    'ips_toosmall',
    'ips_badhlen',
    'ips_badlen',
    'ips_fragments',
    'ips_fragdropped',
    'ips_fragtimeout',
    'ips_forward',
    'ips_fastforward',
    'ips_cantforward',
    'ips_redirectsent',
    'ips_noproto',
    'ips_delivered',
    'ips_localout',
    'ips_odropped',
    'ips_reassembled',
    'ips_fragmented',
    'ips_ofragments',
    'ips_cantfrag',
    'ips_badoptions',
    'ips_noroute',
    'ips_badvers',
    'ips_rawout',
    'ips_toolong',
    'ips_notmember',
    'ips_nogif',
    'ips_badaddr',
  ],
  lines: [
    ['ips_total', '\t%ju total packet%s received'],
    ['ips_badsum', '\t%ju bad header checksum%s'],
    ['ips_toosmall', '\t%ju with size smaller than minimum'],
    ['ips_tooshort', '\t%ju with data size < data length'],
    ['ips_toolong', '\t%ju with ip length > max ip packet size'],
    ['ips_badhlen', '\t%ju with header length < data size'],
    ['ips_badlen', '\t%ju with data length < header length'],
    ['ips_badoptions', '\t%ju with bad options'],
    ['ips_badvers', '\t%ju with incorrect version number'],
    ['ips_fragments', '\t%ju fragment%s received'],
    ['ips_fragdropped', '\t%ju fragment%s dropped (dup or out of space)'],
    ['ips_fragtimeout', '\t%ju fragment%s dropped after timeout'],
    ['ips_reassembled', '\t%ju packet%s reassembled ok'],
    ['ips_delivered', '\t%ju packet%s for this host'],
    ['ips_noproto', '\t%ju packet%s for unknown/unsupported protocol'],
    ['ips_forward', '\t%ju packet%s forwarded'],
    ['ips_fastforward', '+ (%ju packet%s fast forwarded)'],
    ['ips_cantforward', '\t%ju packet%s not forwardable'],
    ['ips_notmember', '\t%ju packet%s received for unknown multicast group'],
    ['ips_redirectsent', '\t%ju redirect%s sent'],
    ['ips_localout', '\t%ju packet%s sent from this host'],
    ['ips_rawout', '\t%ju packet%s sent with fabricated ip header'],
    ['ips_odropped', '\t%ju output packet%s dropped due to no bufs, etc.'],
    ['ips_noroute', '\t%ju output packet%s discarded due to no route'],
    ['ips_fragmented', '\t%ju output datagram%s fragmented'],
    ['ips_ofragments', '\t%ju fragment%s created'],
    ['ips_cantfrag', "\t%ju datagram%s that can't be fragmented"],
    ['ips_nogif', "\t%ju tunneling packet%s that can't find gif"],
    ['ips_badaddr', '\t%ju datagram%s with bad address in header'],
  ],
};

/* icmp_stats: the type names of the histograms (inet.c icmpnames), 41 entries. */
const ICMPNAMES: readonly string[] = [
  'echo reply',
  '#1',
  '#2',
  'destination unreachable',
  'source quench',
  'routing redirect',
  '#6',
  '#7',
  'echo',
  'router advertisement',
  'router solicitation',
  'time exceeded',
  'parameter problem',
  'time stamp',
  'time stamp reply',
  'information request',
  'information request reply',
  'address mask request',
  'address mask reply',
  ...Array.from({ length: 22 }, (_, i) => `#${19 + i}`),
];
const hist = (name: string): string[] => ICMPNAMES.map((_, i) => `${name}[${i}]`);

const ICMPSTAT: StatDef = {
  proto: 'icmp',
  symbol: '_icmpstat',
  sysctl: 'net.inet.icmp.stats',
  fields: [
    'icps_error',
    'icps_oldshort',
    'icps_oldicmp',
    ...hist('icps_outhist'),
    'icps_badcode',
    'icps_tooshort',
    'icps_checksum',
    'icps_badlen',
    'icps_reflect',
    ...hist('icps_inhist'),
    'icps_bmcastecho',
    'icps_bmcasttstamp',
    'icps_badaddr',
    'icps_noroute',
  ],
  lines: [
    ['icps_error', '\t%ju call%s to icmp_error'],
    ['icps_oldicmp', '\t%ju error%s not generated in response to an icmp message'],
    ['#icps_outhist', '\tOutput histogram:'],
    ['icps_badcode', '\t%ju message%s with bad code fields'],
    ['icps_tooshort', '\t%ju message%s less than the minimum length'],
    ['icps_checksum', '\t%ju message%s with bad checksum'],
    ['icps_badlen', '\t%ju message%s with bad length'],
    ['icps_bmcastecho', '\t%ju multicast echo requests ignored'],
    ['icps_bmcasttstamp', '\t%ju multicast timestamp requests ignored'],
    ['#icps_inhist', '\tInput histogram:'],
    ['icps_reflect', '\t%ju message response%s generated'],
    ['icps_badaddr', '\t%ju invalid return address%es'],
    ['icps_noroute', '\t%ju no return route%s'],
    ['=', '\tICMP address mask responses are disabled'],
  ],
};

/* udp_stats (inet.c): struct udpstat, FreeBSD 14 field order. */
const UDPSTAT: StatDef = {
  proto: 'udp',
  symbol: '_udpstat',
  sysctl: 'net.inet.udp.stats',
  fields: [
    'udps_ipackets',
    'udps_hdrops',
    'udps_badsum',
    'udps_nosum',
    'udps_badlen',
    'udps_noport',
    'udps_noportbcast',
    'udps_fullsock',
    'udpps_pcbcachemiss',
    'udpps_pcbhashmiss',
    'udps_opackets',
    'udps_fastout',
    'udps_noportmcast',
    'udps_filtermcast',
  ],
  lines: [
    ['udps_ipackets', '\t%ju datagram%s received'],
    ['udps_hdrops', '\t%ju with incomplete header'],
    ['udps_badlen', '\t%ju with bad data length field'],
    ['udps_badsum', '\t%ju with bad checksum'],
    ['udps_nosum', '\t%ju with no checksum'],
    ['udps_noport', '\t%ju dropped due to no socket'],
    ['udps_noportbcast', '\t%ju broadcast/multicast datagram%s undelivered'],
    ['udps_fullsock', '\t%ju dropped due to full socket buffers'],
    ['udpps_pcbhashmiss', '\t%ju not for hashed pcb'],
    ['udps_delivered', '\t%ju delivered'],
    ['udps_opackets', '\t%ju datagram%s output'],
    ['udps_filtermcast', '\t%ju time%s multicast source filter matched'],
  ],
  derive: (v) => {
    const g = (f: string): number => v.get(f) ?? 0;
    v.set(
      'udps_delivered',
      g('udps_ipackets') -
        g('udps_hdrops') -
        g('udps_badlen') -
        g('udps_badsum') -
        g('udps_noport') -
        g('udps_noportbcast') -
        g('udps_fullsock'),
    );
  },
};

/* tcp_stats (inet.c): struct tcpstat, in the order and words of FreeBSD's netstat. */
const TCPSTAT: StatDef = {
  proto: 'tcp',
  symbol: '_tcpstat',
  sysctl: 'net.inet.tcp.stats',
  fields: TCPSTAT_FIELDS,
  lines: [
    ['tcps_sndtotal', '\t%ju packet%s sent'],
    ['tcps_sndpack', '\t\t%ju data packet%s'],
    ['tcps_sndbyte', '+ (%ju byte%s)'],
    ['tcps_sndrexmitpack', '\t\t%ju data packet%s'],
    ['tcps_sndrexmitbyte', '+ (%ju byte%s) retransmitted'],
    ['tcps_sndrexmitbad', '\t\t%ju data packet%s unnecessarily retransmitted'],
    ['tcps_mturesent', '\t\t%ju resend%s initiated by MTU discovery'],
    ['tcps_sndacks', '\t\t%ju ack-only packet%s'],
    ['tcps_delack', '+ (%ju delayed)'],
    ['tcps_sndurg', '\t\t%ju URG only packet%s'],
    ['tcps_sndprobe', '\t\t%ju window probe packet%s'],
    ['tcps_sndwinup', '\t\t%ju window update packet%s'],
    ['tcps_sndctrl', '\t\t%ju control packet%s'],
    ['tcps_rcvtotal', '\t%ju packet%s received'],
    ['tcps_rcvackpack', '\t\t%ju ack%s'],
    ['tcps_rcvackbyte', '+ (for %ju byte%s)'],
    ['tcps_rcvdupack', '\t\t%ju duplicate ack%s'],
    ['tcps_rcvacktoomuch', '\t\t%ju ack%s for unsent data'],
    ['tcps_rcvpack', '\t\t%ju packet%s'],
    ['tcps_rcvbyte', '+ (%ju byte%s) received in-sequence'],
    ['tcps_rcvduppack', '\t\t%ju completely duplicate packet%s'],
    ['tcps_rcvdupbyte', '+ (%ju byte%s)'],
    ['tcps_pawsdrop', '\t\t%ju old duplicate packet%s'],
    ['tcps_rcvpartduppack', '\t\t%ju packet%s with some dup. data'],
    ['tcps_rcvpartdupbyte', '+ (%ju byte%s duped)'],
    ['tcps_rcvoopack', '\t\t%ju out-of-order packet%s'],
    ['tcps_rcvoobyte', '+ (%ju byte%s)'],
    ['tcps_rcvpackafterwin', '\t\t%ju packet%s'],
    ['tcps_rcvbyteafterwin', '+ (%ju byte%s) of data after window'],
    ['tcps_rcvwinprobe', '\t\t%ju window probe%s'],
    ['tcps_rcvwinupd', '\t\t%ju window update packet%s'],
    ['tcps_rcvafterclose', '\t\t%ju packet%s received after close'],
    ['tcps_rcvbadsum', '\t\t%ju discarded for bad checksum%s'],
    ['tcps_rcvbadoff', '\t\t%ju discarded for bad header offset field%s'],
    ['tcps_rcvshort', '\t\t%ju discarded because packet too short'],
    ['tcps_rcvreassfull', '\t\t%ju discarded due to full reassembly queue'],
    ['tcps_connattempt', '\t%ju connection request%s'],
    ['tcps_accepts', '\t%ju connection accept%s'],
    ['tcps_badsyn', '\t%ju bad connection attempt%s'],
    ['tcps_listendrop', '\t%ju listen queue overflow%s'],
    ['tcps_badrst', '\t%ju ignored RSTs in the window%s'],
    ['tcps_connects', '\t%ju connection%s established (including accepts)'],
    ['tcps_closed', '\t%ju connection%s closed'],
    ['tcps_drops', '+ (including %ju drop%s)'],
    ['tcps_conndrops', '\t%ju embryonic connection%s dropped'],
    ['tcps_rttupdated', '\t%ju segment%s updated rtt'],
    ['tcps_segstimed', '+ (of %ju attempt%s)'],
    ['tcps_rexmttimeo', '\t%ju retransmit timeout%s'],
    ['tcps_timeoutdrop', '\t\t%ju connection%s dropped by rexmit timeout'],
    ['tcps_persisttimeo', '\t%ju persist timeout%s'],
    ['tcps_persistdrop', '\t\t%ju connection%s dropped by persist timeout'],
    ['tcps_finwait2_drops', '\t%ju Connections (fin_wait_2) dropped because of timeout'],
    ['tcps_keeptimeo', '\t%ju keepalive timeout%s'],
    ['tcps_keepprobe', '\t\t%ju keepalive probe%s sent'],
    ['tcps_keepdrops', '\t\t%ju connection%s dropped by keepalive'],
    ['tcps_sc_added', '\t%ju syncache entries added'],
    ['tcps_sc_retransmitted', '\t\t%ju retransmitted'],
    ['tcps_sc_dupsyn', '\t\t%ju dupsyn'],
    ['tcps_sc_dropped', '\t\t%ju dropped'],
    ['tcps_sc_completed', '\t\t%ju completed'],
    ['tcps_sc_bucketoverflow', '\t\t%ju bucket overflow'],
    ['tcps_sc_cacheoverflow', '\t\t%ju cache overflow'],
    ['tcps_sc_reset', '\t\t%ju reset'],
    ['tcps_sc_stale', '\t\t%ju stale'],
    ['tcps_sc_aborted', '\t\t%ju aborted'],
    ['tcps_sc_badack', '\t\t%ju badack'],
    ['tcps_sc_unreach', '\t\t%ju unreach'],
    ['tcps_sc_zonefail', '\t\t%ju zone failures'],
    ['tcps_sc_sendcookie', '\t%ju cookie%s sent'],
    ['tcps_sc_recvcookie', '\t%ju cookie%s received'],
    ['tcps_hc_added', '\t%ju hostcache entr%ies added'],
    ['tcps_hc_bucketoverflow', '\t\t%ju bucket overflow'],
    ['tcps_sack_recovery_episode', '\t%ju SACK recovery episode%s'],
    ['tcps_ecn_rcvce', '\t%ju packet%s received with ECN CE bit set'],
    ['tcps_ecn_rcvect0', '\t%ju packet%s received with ECN ECT(0) bit set'],
    ['tcps_ecn_rcvect1', '\t%ju packet%s received with ECN ECT(1) bit set'],
    ['tcps_ecn_sndect0', '\t%ju packet%s sent with ECN ECT(0) bit set'],
    ['tcps_ecn_sndect1', '\t%ju packet%s sent with ECN ECT(1) bit set'],
    ['tcps_ecn_shs', '\t%ju successful ECN handshake%s'],
    ['tcps_ecn_rcwnd', '\t%ju time%s ECN reduced the congestion window'],
    ['tcps_challenge_acks', '\t%ju challenge ACK%s sent'],
  ],
};

/* arp_stats (inet.c): struct arpstat of netinet/if_ether.h (our two extra counters are
 * appended after FreeBSD's fields and not printed). */
const ARPSTAT: StatDef = {
  proto: 'arp',
  symbol: '_arpstat',
  sysctl: 'net.link.ether.arp.stats',
  fields: ARPSTAT_FIELDS,
  lines: [
    ['txrequests', '\t%ju ARP request%s sent'],
    ['txerrors', '\t%ju ARP request%s failed to sent'],
    ['txreplies', '\t%ju ARP repl%ies sent'],
    ['rxrequests', '\t%ju ARP request%s received'],
    ['rxreplies', '\t%ju ARP repl%ies received'],
    ['received', '\t%ju ARP packet%s received'],
    ['dropped', '\t%ju total packet%s dropped due to no ARP entry'],
    /* sic: FreeBSD's plural of "entry" here is "entrys". */
    ['timeouts', '\t%ju ARP entry%s timed out'],
    ['dupips', '\t%ju Duplicate IP%s seen'],
  ],
};

/** The statistics netstat knows, by protocol name, in the order of FreeBSD's protox
 * (what netstat -s without -p prints). */
export const STATS: ReadonlyMap<string, StatDef> = new Map([
  [TCPSTAT.proto, TCPSTAT],
  [UDPSTAT.proto, UDPSTAT],
  [IPSTAT.proto, IPSTAT],
  [ICMPSTAT.proto, ICMPSTAT],
  [ARPSTAT.proto, ARPSTAT],
]);

/** Read a stats structure through libkvm: counter handles, summed over CPUs. */
async function kvm_stats(ctx: ProcCtx, def: StatDef): Promise<Map<string, number> | null> {
  const kd = await Kvm.open(ctx.libc.kvm());
  const nl: NlistEntry[] = [{ n_name: def.symbol, n_value: 0, n_size: 0 }];
  if ((await kd.kvm_nlist(nl)) !== 0) return null;
  const arr = await kd.kvm_read(nl[0]!.n_value, def.fields.length * 8);
  if (typeof arr === 'number') return null;
  const dv = new DataView(arr.buffer, arr.byteOffset, arr.byteLength);
  const out = new Map<string, number>();
  for (let i = 0; i < def.fields.length; i++) {
    const h = dv.getUint32(i * 8, true) + dv.getUint32(i * 8 + 4, true) * 4294967296;
    const v = await kd.kvm_counter_u64_fetch(h);
    if (v < 0) return null;
    out.set(def.fields[i]!, v);
  }
  return out;
}

/** The same structure through sysctl (already summed by the kernel). */
async function sysctl_stats(ctx: ProcCtx, def: StatDef): Promise<Map<string, number> | null> {
  /* Room for fields the kernel appends after the ones we print (arpstat has two). */
  const b = new Uint8Array(def.fields.length * 8 + 256);
  const len: [number] = [b.length];
  if ((await ctx.libc.sysctlbyname(def.sysctl, b, len, null)) < 0) return null;
  if (len[0] < def.fields.length * 8) return null;
  const dv = new DataView(b.buffer);
  const out = new Map<string, number>();
  def.fields.forEach((f, i) =>
    out.set(f, dv.getUint32(i * 8, true) + dv.getUint32(i * 8 + 4, true) * 4294967296),
  );
  return out;
}

function format(fmt: string, v: number): string {
  return fmt
    .replace('%ju', String(v))
    .replace('%ies', v === 1 ? 'y' : 'ies')
    .replace('%es', v === 1 ? '' : 'es')
    .replace('%s', v === 1 ? '' : 's');
}

/** A histogram (ICMP types): a header and one line per nonzero type, or nothing. */
function hist_text(name: string, header: string, vals: ReadonlyMap<string, number>): string {
  let out = '';
  ICMPNAMES.forEach((type, i) => {
    const v = vals.get(`${name}[${i}]`) ?? 0;
    if (v === 0) return;
    if (out === '') out = `${header}\n`;
    out += `\t\t${type}: ${v}\n`;
  });
  return out;
}

/*
 * A structure's lines: `field` lines print the counter (left out when zero with -ss),
 * `+` lines continue the previous one, `#name` lines print the histogram `name`, `=`
 * lines print as they are.
 */
export function stats_text(def: StatDef, vals: ReadonlyMap<string, number>, sflag: number): string {
  let out = `${def.proto}:\n`;
  let line = '';
  for (const [field, fmt] of def.lines) {
    if (field.startsWith('#') || field === '=') {
      if (line) out += line + '\n';
      line = '';
      out += field === '=' ? `${fmt}\n` : hist_text(field.slice(1), fmt, vals);
      continue;
    }
    const v = vals.get(field) ?? 0;
    const cont = fmt.startsWith('+');
    if (v === 0 && sflag > 1) continue;
    if (!cont) {
      if (line) out += line + '\n';
      line = format(fmt, v);
    } else line += format(fmt.slice(1), v);
  }
  if (line) out += line + '\n';
  return out;
}

/* Column widths of netstat -r for AF_INET (route.c: WID_DST_DEFAULT, WID_GW_DEFAULT,
 * wid.flags, WID_IF_DEFAULT, wid.expire). */
const WID_DST = 18;
const WID_GW = 18;
const WID_FLAGS = 6;
const WID_IF = 8;
const WID_EXPIRE = 6;

/** A destination as netname() prints it: "default", "192.0.2.0/24", "198.51.100.7". */
function netname(dst: RtSockaddr | null, mask: RtSockaddr | null): string {
  if (dst === null || dst.kind !== 'inet') return '(none)';
  if (mask === null) return inet_ntoa(dst.addr as in_addr_t);
  const m = mask.kind === 'inet' ? mask.addr : 0xffffffff;
  const plen = in_mask2len(m);
  if (dst.addr === 0 && plen === 0) return 'default';
  return `${inet_ntoa(dst.addr as in_addr_t)}/${plen < 0 ? inet_ntoa(m as in_addr_t) : plen}`;
}

/** A gateway as p_sockaddr prints it: an address, link#N, or a MAC. */
function gwname(gw: RtSockaddr | null): string {
  if (gw === null) return '(none)';
  if (gw.kind === 'inet') return inet_ntoa(gw.addr as in_addr_t);
  if (gw.kind === 'link')
    return gw.lladdr.length === 6 ? ether_sprintf(gw.lladdr) : `link#${gw.index}`;
  return `(${gw.family})`;
}

/** netstat -r: the IPv4 routing table through sysctl net.route.inet.dump. */
export async function routepr(ctx: ProcCtx): Promise<number> {
  const msgs = await rt_sysctl_msgs(ctx.libc, 'net.route.inet.dump');
  if (msgs === null) {
    await ctx.err(`netstat: sysctl: net.route.inet.dump: ${ctx.libc.strerror()}\n`);
    return 1;
  }
  const now = await wall_seconds(ctx.libc);
  let out = 'Routing tables\n\nInternet:\n';
  out +=
    `${'Destination'.padEnd(WID_DST)} ${'Gateway'.padEnd(WID_GW)} ` +
    `${'Flags'.padEnd(WID_FLAGS)} ${'Netif'.padStart(WID_IF)} ${'Expire'.padStart(WID_EXPIRE)}\n`;
  for (const m of msgs) {
    const a = m.addrs;
    let line = `${netname(a[RTAX_DST] ?? null, a[RTAX_NETMASK] ?? null).padEnd(WID_DST)} `;
    line += `${gwname(a[RTAX_GATEWAY] ?? null).padEnd(WID_GW)} `;
    line += `${rt_flags_letters(m.hdr['rtm_flags'] ?? 0).padEnd(WID_FLAGS)} `;
    const ifp = a[RTAX_IFP] ?? null;
    const ifname = ifp !== null && ifp.kind === 'link' && ifp.name !== '' ? ifp.name : ' ';
    line += ifname.padStart(WID_IF);
    const exp = m.hdr['rmx_expire'] ?? 0;
    if (exp !== 0 && exp - now > 0) line += ` ${String(exp - now).padStart(WID_EXPIRE)}`;
    out += line + '\n';
  }
  await ctx.out(out);
  return 0;
}

/* The protocols netstat -a lists (protox order), each with its pcblist sysctl. */
const PCBLISTS: readonly (readonly [string, string])[] = [
  ['tcp', 'net.inet.tcp.pcblist'],
  ['udp', 'net.inet.udp.pcblist'],
];

/** TCP states by number (tcp_fsm.h tcpstates[]). */
export const TCPSTATES: readonly string[] = [
  'CLOSED',
  'LISTEN',
  'SYN_SENT',
  'SYN_RCVD',
  'ESTABLISHED',
  'CLOSE_WAIT',
  'FIN_WAIT_1',
  'CLOSING',
  'LAST_ACK',
  'FIN_WAIT_2',
  'TIME_WAIT',
];

/** inetprint(): "a.b.c.d.port" or "*.port" / "*.*", padded to the column. */
function inetprint(addr: number, port: number): string {
  const line = `${addr === 0 ? '*' : inet_ntoa(addr).slice(0, 16)}.${port === 0 ? '*' : port} `;
  return line.slice(0, 22).padEnd(22) + ' ';
}

/**
 * netstat [-a] [-n] [-p proto]: the Internet sockets of the vnet (protopr in inet.c),
 * from the protocols' pcblist sysctls.  Without -a, servers (sockets bound to
 * INADDR_ANY, TCP listeners) are left out.
 */
export async function protopr(ctx: ProcCtx, aflag: boolean, proto: string | null): Promise<number> {
  let out = '';
  let first = true;
  for (const [name, oid] of PCBLISTS) {
    if (proto !== null && proto !== name) continue;
    const b = await ctx.libc.sysctlbyname_bytes(oid);
    if (b === null) {
      if (proto !== null) {
        await ctx.err(`netstat: sysctl: ${oid}: ${ctx.libc.strerror()}\n`);
        return 1;
      }
      continue;
    }
    const list = xinpcb_decode(b);
    if (list === null) {
      await ctx.err(`netstat: ${oid}: bad xinpcb list\n`);
      return 1;
    }
    for (const x of list) {
      const istcp = name === 'tcp';
      if (!aflag && ((istcp && x.t_state === 1) || x.inp_laddr === 0)) continue;
      if (first) {
        out += `Active Internet connections${aflag ? ' (including servers)' : ''}\n`;
        out += `${'Proto'.padEnd(5)} ${'Recv-Q'.padEnd(6)} ${'Send-Q'.padEnd(6)} `;
        out += `${'Local Address'.padEnd(22)} ${'Foreign Address'.padEnd(22)} ${'(state)'.padEnd(11)}\n`;
        first = false;
      }
      let line = `${name}4  ${String(x.so_rcv_cc).padStart(6)} ${String(x.so_snd_cc).padStart(6)} `;
      line += inetprint(x.inp_laddr, x.inp_lport) + inetprint(x.inp_faddr, x.inp_fport);
      if (istcp) line += TCPSTATES[x.t_state] ?? String(x.t_state);
      out += line + '\n';
    }
  }
  await ctx.out(out);
  return 0;
}

/**
 * netstat -i (intpr in if.c): one link row per interface with its if_data counters
 * and one row per IPv4 address, from sysctl net.route.iflistl (NET_RT_IFLISTL,
 * getifaddrs' source).  Address rows show the address's own Ipkts and Opkts and "-"
 * for the counters only links have, as FreeBSD's show_stat does.
 */
/**
 * netstat -m (usr.bin/netstat/mbuf.c): the mbuf zones' use, FreeBSD's lines from
 * kern.ipc.mbuf_zones (kern/kern_mbuf.ts).  There are no 4k or 9k jumbo clusters, no
 * packet zone, no allocation limits (max 0, as an unlimited UMA zone shows), no
 * sleeping allocations and no sendfile(2): those stay 0.  Two lines are ours, after
 * the 16k line: the 64k class, and the exact-size buffers above it.
 */
export async function mbpr(ctx: ProcCtx): Promise<number> {
  const b = await ctx.libc.sysctlbyname_bytes('kern.ipc.mbuf_zones');
  const zones = b === null ? [] : mbuf_zones_decode(b);
  const none: MbufZoneStat = {
    name: '',
    size: 0,
    cachemax: 0,
    current: 0,
    cache: 0,
    bytes: 0,
    allocs: 0,
    fails: 0,
  };
  const z = (name: string): MbufZoneStat => zones.find((x) => x.name === name) ?? none;
  if (zones.length === 0) {
    await ctx.err('netstat: kern.ipc.mbuf_zones: cannot read mbuf statistics\n');
    return 1;
  }
  const m = z('mbuf');
  const cl = z('mbuf_cluster');
  const j16 = z('mbuf_jumbo_16k');
  const j64 = z('mbuf_jumbo_64k');
  const ex = z('mbuf_exact');
  const ccm = (x: MbufZoneStat): string => `${x.current}/${x.cache}/${x.current + x.cache}/0`;
  let inuse = 0;
  let cached = 0;
  let fails = 0;
  for (const x of zones) {
    inuse += x.bytes;
    cached += x.cache * x.size;
    fails += x.fails;
  }
  const K = (n: number): string => `${Math.floor(n / 1024)}K`;
  const lines = [
    `${m.current}/${m.cache}/${m.current + m.cache} mbufs in use (current/cache/total)`,
    `${ccm(cl)} mbuf clusters in use (current/cache/total/max)`,
    '0/0 mbuf+clusters out of packet secondary zone in use (current/cache)',
    '0/0/0/0 4k (page size) jumbo clusters in use (current/cache/total/max)',
    '0/0/0/0 9k jumbo clusters in use (current/cache/total/max)',
    `${ccm(j16)} 16k jumbo clusters in use (current/cache/total/max)`,
    `${ccm(j64)} 64k jumbo clusters in use (current/cache/total/max)`,
    `${ex.current} larger buffers in use (${K(ex.bytes)})`,
    `${K(inuse)}/${K(cached)}/${K(inuse + cached)} bytes allocated to network (current/cache/total)`,
    `0/${fails}/0 requests for mbufs denied (mbufs/clusters/mbuf+clusters)`,
    '0/0/0 requests for mbufs delayed (mbufs/clusters/mbuf+clusters)',
    '0/0/0 requests for jumbo clusters delayed (4k/9k/16k)',
    '0/0/0 requests for jumbo clusters denied (4k/9k/16k)',
    '0 sendfile syscalls',
    '0 sendfile syscalls completed without I/O request',
    '0 requests for I/O initiated by sendfile',
    '0 pages read by sendfile as part of a request',
    '0 pages were valid at time of a sendfile request',
    '0 pages were valid and substituted to bogus page',
    '0 pages were requested for read ahead by applications',
    '0 pages were read ahead by sendfile',
    '0 times sendfile encountered an already busy page',
    '0 requests for sfbufs denied',
    '0 requests for sfbufs delayed',
  ];
  await ctx.out(lines.join('\n') + '\n');
  return 0;
}

export async function intpr(ctx: ProcCtx): Promise<number> {
  const msgs = await rt_sysctl_msgs(ctx.libc, 'net.route.iflistl', true);
  if (msgs === null) {
    await ctx.err(`netstat: sysctl: net.route.iflistl: ${ctx.libc.strerror()}\n`);
    return 1;
  }
  const num = (v: number | undefined, w: number): string => String(v ?? 0).padStart(w);
  /* The name column is as wide as the longest name (FreeBSD's ifn_len_max), at least 5. */
  let nw = 5;
  for (const m of msgs) {
    const ifp = m.addrs[RTAX_IFP] ?? null;
    if (m.type === RTM_IFINFO && ifp !== null && ifp.kind === 'link')
      nw = Math.max(nw, ifp.name.length);
  }
  let out =
    `${'Name'.padEnd(nw)} ${'Mtu'.padStart(5)} ${'Network'.padEnd(13)} ${'Address'.padEnd(17)} ` +
    `${'Ipkts'.padStart(8)} ${'Ierrs'.padStart(5)} ${'Idrop'.padStart(5)} ${'Opkts'.padStart(8)} ` +
    `${'Oerrs'.padStart(5)} ${'Coll'.padStart(5)}\n`;
  const names = new Map<number, string>();
  for (const m of msgs) {
    const h = m.hdr;
    const ifp = m.addrs[RTAX_IFP] ?? null;
    if (m.type === RTM_IFINFO) {
      const name = ifp !== null && ifp.kind === 'link' ? ifp.name : `if${h['ifm_index']}`;
      names.set(h['ifm_index'] ?? 0, name);
      const lla =
        ifp !== null && ifp.kind === 'link' && ifp.lladdr.length === 6
          ? ether_sprintf(ifp.lladdr.reduce((a, b) => a * 256 + b, 0))
          : name;
      out +=
        `${name.padEnd(nw)} ${num(h['ifi_mtu'], 5)} ${`<Link#${h['ifm_index']}>`.padEnd(13)} ` +
        `${lla.slice(0, 17).padEnd(17)} ${num(h['ifi_ipackets'], 8)} ${num(h['ifi_ierrors'], 5)} ` +
        `${num(h['ifi_iqdrops'], 5)} ${num(h['ifi_opackets'], 8)} ${num(h['ifi_oerrors'], 5)} ` +
        `${num(h['ifi_collisions'], 5)}\n`;
    } else if (m.type === RTM_NEWADDR) {
      const a = m.addrs[RTAX_IFA] ?? null;
      const mask = m.addrs[RTAX_NETMASK] ?? null;
      if (a === null || a.kind !== 'inet') continue;
      const name = names.get(h['ifam_index'] ?? 0) ?? '?';
      const net = netname(
        { ...a, addr: mask !== null && mask.kind === 'inet' ? (a.addr & mask.addr) >>> 0 : a.addr },
        mask,
      );
      out +=
        `${name.padEnd(nw)} ${'-'.padStart(5)} ${net.slice(0, 13).padEnd(13)} ` +
        `${inet_ntoa(a.addr).padEnd(17)} ${num(h['ifi_ipackets'], 8)} ${'-'.padStart(5)} ` +
        `${'-'.padStart(5)} ${num(h['ifi_opackets'], 8)} ${'-'.padStart(5)} ${'-'.padStart(5)}\n`;
    }
  }
  await ctx.out(out);
  return 0;
}

export const netstat: Program = async (ctx) => {
  const argv = ctx.argv.slice(1);
  let rflag = false;
  let aflag = false;
  let iflag = false;
  let mflag = false;
  let family: string | null = null;
  let sflag = 0;
  let proto: string | null = null;
  let jail: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a === '-') {
      await ctx.err(USAGE);
      return 64;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      if (c === 's') sflag++;
      else if (c === 'r') rflag = true;
      else if (c === 'a') aflag = true;
      else if (c === 'i') iflag = true;
      else if (c === 'm') mflag = true;
      else if (c === 'n' || c === 'W') continue;
      else if (c === 'p' || c === 'j' || c === 'f') {
        const v = a.slice(j + 1) || argv[++i];
        if (v === undefined) {
          await ctx.err(`netstat: option requires an argument -- ${c}\n`);
          return 64;
        }
        if (c === 'p') proto = v;
        else if (c === 'f') family = v;
        else jail = v;
        break;
      } else {
        await ctx.err(`netstat: illegal option -- ${c}\n${USAGE}`);
        return 64;
      }
    }
  }
  if ((sflag > 0 && rflag) || (sflag > 0 && family !== null)) {
    await ctx.err(USAGE);
    return 64;
  }
  if (family !== null && family !== 'inet') {
    await ctx.err(`netstat: ${family}: unknown address family\n`);
    return 1;
  }
  if (jail !== null) {
    const jid = await jail_getid(ctx.libc, jail);
    if (jid < 0 || (await jail_attach(ctx.libc, jid)) < 0) {
      await ctx.err(`netstat: jail "${jail}" not found\n`);
      return 1;
    }
  }
  if (mflag) return mbpr(ctx);
  if (rflag) return routepr(ctx);
  if (iflag) return intpr(ctx);
  if (sflag === 0) return protopr(ctx, aflag, proto);
  const defs = proto === null ? [...STATS.values()] : [STATS.get(proto)];
  if (defs[0] === undefined) {
    await ctx.err(`netstat: ${proto}: unknown or uninstrumented protocol\n`);
    return 1;
  }
  for (const def of defs) {
    if (def === undefined) continue;
    const vals = (await kvm_stats(ctx, def)) ?? (await sysctl_stats(ctx, def));
    if (vals === null) {
      await ctx.err(`netstat: ${def.symbol.slice(1)}: cannot read statistics\n`);
      return 1;
    }
    def.derive?.(vals);
    await ctx.out(stats_text(def, vals, sflag));
  }
  return 0;
};
