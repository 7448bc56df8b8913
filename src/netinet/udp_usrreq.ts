/*
 * netinet/udp_usrreq.ts — the User Datagram Protocol (FreeBSD
 * sys/netinet/udp_usrreq.c, udp_var.h): input, output, ICMP errors, statistics and
 * the SOCK_DGRAM protocol of the AF_INET domain.
 *
 *   - udp_input (registered for IPPROTO_UDP): header and length checks
 *     (udps_hdrops, udps_badlen; a uh_ulen shorter than the IP payload trims it),
 *     the checksum over the pseudo header (udps_badsum; a zero checksum means none and
 *     counts udps_nosum), then delivery.  A broadcast or multicast datagram goes to
 *     every socket bound to its port whose local address is INADDR_ANY or the
 *     destination and whose foreign address, if connected, is the source — stopping
 *     after a socket without SO_REUSEADDR/SO_REUSEPORT, as FreeBSD does
 *     (udps_noportbcast / udps_noportmcast when nobody takes it, never an ICMP error).
 *     A unicast one goes to in_pcblookup's socket; with none it counts udps_noport and
 *     is answered with ICMP port unreachable unless net.inet.udp.blackhole is set.  A
 *     full receive buffer counts udps_fullsock.  IP_MINTTL drops quietly.
 *   - udp_output: EMSGSIZE beyond IP_MAXPACKET, EISCONN for sendto on a connected
 *     socket, an implicit bind to an ephemeral port, the source address from
 *     IP_SENDSRCADDR, the bound address or the route; the checksum unless
 *     net.inet.udp.checksum is 0; SO_BROADCAST, SO_DONTROUTE and IP_DONTFRAG become
 *     ip_output flags and DF.  udps_opackets.
 *   - udp_ctlinput: ICMP errors are mapped with FreeBSD's inetctlerrmap and reported as
 *     so_error to the connected socket they concern (ECONNREFUSED for port
 *     unreachable), so the next send or receive fails once with it.
 *
 * udpstat (FreeBSD 14 field order) is per vnet and read by netstat through
 * vnet_entry_udpstat or net.inet.udp.stats.  net.inet.udp.pcblist lists the pcbs
 * (xinpcb records, netinet/in_pcblist.ts).
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SI_ORDER_ANY, SI_SUB_PROTO_DOMAIN } from '../sys/kernel.js';
import { counterStruct } from '../sys/types.js';
import {
  VNET_DEFINE_INT,
  VNET_OBJ,
  VNET_PCPUSTAT_DEFINE,
  VNET_SYSINIT,
  type VnetI32,
  type VnetPcpuStat,
} from '../net/vnet.js';
import {
  CTLFLAG_RW,
  CTLFLAG_VNET,
  SYSCTL_INT,
  SYSCTL_NODE,
  SYSCTL_OPAQUE_RO,
  SYSCTL_OUT,
  SYSCTL_PROC,
  CTLTYPE_OPAQUE,
  CTLFLAG_RD,
} from '../sys/sysctl.js';
import { PR_ADDR, PR_ATOMIC, type Protosw } from '../sys/protosw.js';
import {
  SOCK_DGRAM,
  SO_BROADCAST,
  SO_DONTROUTE,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_REUSEPORT_LB,
} from '../sys/socket.js';
import { SS_ISCONNECTED, type Socket, type SockOpt } from '../sys/socketvar.js';
import type { Thread } from '../sys/proc.js';
import {
  CSUM_DATA_VALID,
  CSUM_PSEUDO_HDR,
  CSUM_UDP,
  M_BCAST,
  M_MCAST,
  M_PREPEND,
  m_adj,
  m_dup,
  m_freem,
  mtod,
  type Mbuf,
} from '../sys/mbuf.js';
import { BKPT } from '../kern/subr_kdb.js';
import {
  EADDRNOTAVAIL,
  ECONNREFUSED,
  EHOSTDOWN,
  EHOSTUNREACH,
  EINVAL,
  EISCONN,
  EMSGSIZE,
  ENOBUFS,
  ENOPROTOOPT,
  ENOTCONN,
} from '../sys/errno.js';
import {
  sbappendaddr,
  socantsendmore,
  soisconnected,
  soisdisconnected,
  soreserve,
  sorwakeup,
  sowwakeup,
} from '../kern/uipc_sockbuf.js';
import { curkernel } from '../kern/kern_cur.js';
import { SYSINIT } from '../sys/kernel.js';
import type { Kernel } from '../kern/kernel.js';
import {
  INADDR_ANY,
  IN_MULTICAST,
  IPPROTO_IP,
  IPPROTO_UDP,
  SIN_OFF_ADDR,
  SIN_OFF_PORT,
  SOCKADDR_IN_SIZE,
  in_addr_read,
  in_addr_write,
  sockaddr_in,
  sockaddr_in_encode,
  type in_addr_t,
} from './in.js';
import { in_broadcast, ifa_ifwithaddr } from './in_var.js';
import type { Ifnet } from '../net/if_var.js';
import { in_cksum_l4, in_pseudo } from './in_cksum.js';
import {
  INP_BINDANY,
  INP_DONTFRAG,
  INP_RECVDSTADDR,
  INP_RECVTOS,
  INP_RECVTTL,
  INPLOOKUP_WILDCARD,
  Inpcb,
  InpcbInfo,
  in_getpeeraddr,
  in_getsockaddr,
  in_pcb_faddr,
  in_pcballoc,
  in_pcbbind,
  in_pcbconnect,
  in_pcbdisconnect,
  in_pcbfree,
  in_pcbladdr,
  in_pcblist,
  in_pcblookup,
  in_pcbnotifyall,
  in_sockaddr_check,
} from './in_pcb.js';
import {
  IP_SENDSRCADDR,
  IP_TOS,
  cmsg_foreach,
  ip_ctloutput,
  ip_opts_route,
  ip_savecontrol,
} from './ip_ctloutput.js';
import { ip_protox_register } from './ip_input.js';
import { ip_output, IP_ALLOWBROADCAST, IP_ROUTETOIF } from './ip_output.js';
import { icmp_error, ip_ctlinput_register, PRC_HOSTDEAD, PRC_REDIRECT_HOST } from './icmp.js';
import { ICMP_UNREACH, ICMP_UNREACH_PORT } from './ip_icmp.js';

export const K = new ObjFile('netinet/udp_usrreq.ts', VIMAGEID('src/netinet/udp_usrreq.ts'));
const S_udp_input = K.TEXT('udp_input');
const S_udp_output = K.TEXT('udp_output');

const IP_MAXPACKET = 65535;
/** The control messages ip_savecontrol makes (INP_CONTROLOPTS). */
const INP_CONTROLOPTS = INP_RECVDSTADDR | INP_RECVTTL | INP_RECVTOS;
const UDPIP_HDR = 28;
const IP_DF = 0x4000;

/* ------------------------------------------------------------------------------ */
/* Statistics and tunables.                                                        */

/** struct udpstat (FreeBSD 14 field order). */
export const UDPSTAT_FIELDS = [
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
] as const;

export const udpstat_layout = counterStruct('udpstat', UDPSTAT_FIELDS);
export const V_udpstat: VnetPcpuStat = VNET_PCPUSTAT_DEFINE(K, 'udpstat', udpstat_layout);
export const UDPS = Object.fromEntries(UDPSTAT_FIELDS.map((f, i) => [f, i])) as {
  readonly [F in (typeof UDPSTAT_FIELDS)[number]]: number;
};

function UDPSTAT_INC(f: number): void {
  V_udpstat.inc(f);
}

SYSCTL_NODE(K, 'net.inet.udp', CTLFLAG_RW, 'UDP');
SYSCTL_OPAQUE_RO(
  K,
  'net.inet.udp.stats',
  CTLFLAG_VNET,
  () => V_udpstat.fetchBytes(),
  'S,udpstat',
  'UDP statistics (struct udpstat, netinet/udp_var.h)',
);

/** net.inet.udp.checksum: compute checksums on output. */
export const V_udp_cksum: VnetI32 = VNET_DEFINE_INT(K, 'udp_cksum', 1);
SYSCTL_INT(
  K,
  'net.inet.udp.checksum',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_udp_cksum,
  'compute udp checksum',
);

/** net.inet.udp.blackhole: no ICMP port unreachable for closed ports. */
export const V_udp_blackhole: VnetI32 = VNET_DEFINE_INT(K, 'udp_blackhole', 0);
SYSCTL_INT(
  K,
  'net.inet.udp.blackhole',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_udp_blackhole,
  'Do not send port unreachables for refused connects',
);

/** The socket buffer defaults (global in FreeBSD: udp_sendspace, udp_recvspace). */
interface UdpGlobals {
  sendspace: number;
  recvspace: number;
  /** udp_input's struct sockaddr_in udp_in: the source address being appended. */
  readonly udp_in: Uint8Array;
}

function udp_globals(k: Kernel = curkernel()): UdpGlobals {
  let g = k.netglobal['udp'] as UdpGlobals | undefined;
  if (g === undefined) {
    const udp_in = new Uint8Array(SOCKADDR_IN_SIZE);
    sockaddr_in_encode(sockaddr_in(INADDR_ANY, 0), udp_in);
    k.netglobal['udp'] = g = { sendspace: 9216, recvspace: 40 * (1024 + 16), udp_in };
  }
  return g;
}

function global_int(name: string, field: 'sendspace' | 'recvspace', descr: string): void {
  SYSCTL_INT(
    K,
    name,
    CTLFLAG_RW,
    {
      get: () => udp_globals()[field],
      set: (v: number) => {
        if (v >= 1) udp_globals()[field] = v;
      },
    },
    descr,
  );
}
global_int('net.inet.udp.maxdgram', 'sendspace', 'Maximum outgoing UDP datagram size');
global_int('net.inet.udp.recvspace', 'recvspace', 'Maximum space for incoming UDP datagrams');

SYSCTL_PROC(
  K,
  'net.inet.udp.pcblist',
  CTLTYPE_OPAQUE | CTLFLAG_RD | CTLFLAG_VNET,
  (_o, req) =>
    SYSCTL_OUT(
      req,
      in_pcblist(V_udbinfo.get(), () => -1),
    ),
  'S,xinpcb',
  'List of active UDP sockets',
);

/** The vnet's UDP pcbs (V_udbinfo). */
export const V_udbinfo = VNET_OBJ<InpcbInfo>(K, 'udbinfo');
VNET_SYSINIT(K, 'udp_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  V_udbinfo.set(new InpcbInfo('udp', IPPROTO_UDP));
});

SYSINIT(K, 'udp_register', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  const k = curkernel();
  ip_protox_register(k, IPPROTO_UDP, udp_input);
  ip_ctlinput_register(k, IPPROTO_UDP, udp_ctlinput);
});

function udbinfo_of(so: Socket): InpcbInfo {
  const v = so.so_vnet;
  return v !== null && v.kernel.vimage ? V_udbinfo.on(v) : V_udbinfo.get();
}

/* ------------------------------------------------------------------------------ */
/* Input.                                                                          */

/** udp_append: queue the payload of m (headers still on) to inp's socket. */
function udp_append(inp: Inpcb, m: Mbuf, off: number, src: number, sport: number): void {
  const so = inp.inp_socket;
  if (so === null) {
    m_freem(m);
    return;
  }
  /* FreeBSD's INP_CONTROLOPTS test: the header is looked at only when asked for. */
  const control = inp.inp_flags & INP_CONTROLOPTS ? ip_savecontrol(inp, mtod(m)) : null;
  m_adj(m, off);
  /*
   * The source address in udp_input's struct sockaddr_in udp_in, as FreeBSD fills it:
   * sin_len, sin_family and sin_zero are set once, the port and address per datagram.
   * sbappendaddr copies it.
   */
  const sa = udp_globals().udp_in;
  sa[SIN_OFF_PORT] = sport >>> 8;
  sa[SIN_OFF_PORT + 1] = sport & 0xff;
  in_addr_write(sa, SIN_OFF_ADDR, src);
  if (!sbappendaddr(so.so_rcv, sa, m, control)) {
    m_freem(m);
    UDPSTAT_INC(UDPS.udps_fullsock);
    return;
  }
  sorwakeup(so);
}

function minttl_drops(inp: Inpcb, ttl: number): boolean {
  return inp.inp_ip_minttl !== 0 && inp.inp_ip_minttl > ttl;
}

/** udp_input(m, hlen): a UDP datagram for us (IP header at m's start).  Consumes m. */
export function udp_input(m: Mbuf, hlen: number): void {
  BKPT(S_udp_input);
  UDPSTAT_INC(UDPS.udps_ipackets);
  if (m.len < hlen + 8) {
    UDPSTAT_INC(UDPS.udps_hdrops);
    m_freem(m);
    return;
  }
  /* The IP and UDP headers at b[o] (mtod without making a view). */
  const b = m.m_buf;
  const o = m.m_data;
  const iplen = m.len;
  const src = in_addr_read(b, o + 12);
  const dst = in_addr_read(b, o + 16);
  const uh = o + hlen;
  const sport = (b[uh]! << 8) | b[uh + 1]!;
  const dport = (b[uh + 2]! << 8) | b[uh + 3]!;
  const ulen = (b[uh + 4]! << 8) | b[uh + 5]!;
  const sum = (b[uh + 6]! << 8) | b[uh + 7]!;
  const len = iplen - hlen;
  if (ulen !== len) {
    if (ulen > len || ulen < 8) {
      UDPSTAT_INC(UDPS.udps_badlen);
      m_freem(m);
      return;
    }
    m_adj(m, ulen - len); /* trims the tail: m_buf and m_data stay */
    b[o + 2] = (hlen + ulen) >>> 8;
    b[o + 3] = (hlen + ulen) & 0xff;
  }
  if (sum !== 0) {
    /* Checked by the interface, or left to one by a sender on this host (CSUM_UDP). */
    const valid =
      (m.csum_flags & (CSUM_DATA_VALID | CSUM_PSEUDO_HDR)) ===
        (CSUM_DATA_VALID | CSUM_PSEUDO_HDR) || (m.csum_flags & CSUM_UDP) !== 0;
    if (!valid && in_cksum_l4(b, uh, ulen, src, dst, IPPROTO_UDP) !== 0) {
      UDPSTAT_INC(UDPS.udps_badsum);
      m_freem(m);
      return;
    }
  } else UDPSTAT_INC(UDPS.udps_nosum);

  const pi = V_udbinfo.get();
  const ttl = b[o + 8]!;
  if (
    IN_MULTICAST(dst) ||
    m.m_flags & (M_BCAST | M_MCAST) ||
    in_broadcast(dst as in_addr_t, m.rcvif as Ifnet | null)
  ) {
    udp_multi_input(pi, m, hlen, src, sport, dst, dport, ttl);
    return;
  }
  const inp = in_pcblookup(pi, src, sport, dst, dport, INPLOOKUP_WILDCARD);
  if (inp === null) {
    UDPSTAT_INC(UDPS.udps_noport);
    if (V_udp_blackhole.get() !== 0) {
      m_freem(m);
      return;
    }
    icmp_error(m, ICMP_UNREACH, ICMP_UNREACH_PORT, 0, 0);
    return;
  }
  if (minttl_drops(inp, ttl)) {
    m_freem(m);
    return;
  }
  udp_append(inp, m, hlen + 8, src, sport);
}

function udp_multi_input(
  pi: InpcbInfo,
  m: Mbuf,
  hlen: number,
  src: number,
  sport: number,
  dst: number,
  dport: number,
  ttl: number,
): void {
  const l = pi.ipi_porthash.get(dport);
  const matches: Inpcb[] = [];
  if (l !== undefined)
    for (const inp of l) {
      if (inp.inp_lport !== dport) continue;
      if (inp.inp_laddr !== INADDR_ANY && inp.inp_laddr !== dst) continue;
      if (inp.inp_faddr !== INADDR_ANY && (inp.inp_faddr !== src || inp.inp_fport !== sport))
        continue;
      if (minttl_drops(inp, ttl)) continue;
      matches.push(inp);
      const so = inp.inp_socket;
      if (so === null || !(so.so_options & (SO_REUSEADDR | SO_REUSEPORT | SO_REUSEPORT_LB))) break;
    }
  if (matches.length === 0) {
    UDPSTAT_INC(UDPS.udps_noport);
    UDPSTAT_INC(IN_MULTICAST(dst) ? UDPS.udps_noportmcast : UDPS.udps_noportbcast);
    m_freem(m);
    return;
  }
  for (let i = 0; i < matches.length; i++) {
    const n = i === matches.length - 1 ? m : m_dup(m);
    if (n === null) {
      UDPSTAT_INC(UDPS.udps_fullsock);
      continue;
    }
    udp_append(matches[i]!, n, hlen + 8, src, sport);
  }
}

/** inetctlerrmap: PRC_* to errno. */
const inetctlerrmap: readonly number[] = [
  0,
  0,
  0,
  0,
  0,
  EMSGSIZE,
  EHOSTDOWN,
  EHOSTUNREACH,
  EHOSTUNREACH,
  EHOSTUNREACH,
  ECONNREFUSED,
  ECONNREFUSED,
  EMSGSIZE,
  EHOSTUNREACH,
  0,
  0,
  0,
  0,
  EHOSTUNREACH,
  0,
  ENOPROTOOPT,
  ECONNREFUSED,
];

function udp_notify(inp: Inpcb, errno: number): void {
  const so = inp.inp_socket;
  if (so === null) return;
  so.so_error = errno;
  sorwakeup(so);
  sowwakeup(so);
}

/** udp_ctlinput(cmd, dst, ip): an ICMP error about a datagram we sent. */
export function udp_ctlinput(cmd: number, dst: in_addr_t, ip: Uint8Array): void {
  const errno = inetctlerrmap[cmd] ?? 0;
  if (errno === 0 && cmd !== PRC_HOSTDEAD) return;
  const pi = V_udbinfo.get();
  if (cmd === PRC_HOSTDEAD || cmd === PRC_REDIRECT_HOST) {
    if (errno !== 0) in_pcbnotifyall(pi, dst, errno, udp_notify);
    return;
  }
  const hl = (ip[0]! & 15) << 2;
  if (ip.length < hl + 4) return;
  const src = in_addr_read(ip, 12);
  const sport = (ip[hl]! << 8) | ip[hl + 1]!;
  const dport = (ip[hl + 2]! << 8) | ip[hl + 3]!;
  const inp = in_pcblookup(pi, dst, dport, src, sport, 0);
  if (inp !== null) udp_notify(inp, errno);
}

/* ------------------------------------------------------------------------------ */
/* Output.                                                                         */

function udp_output(
  inp: Inpcb,
  m: Mbuf,
  addr: Uint8Array | null,
  control: Uint8Array | null,
  so: Socket,
): number {
  BKPT(S_udp_output);
  let tos = inp.inp_ip_tos;
  let srcaddr: number = INADDR_ANY;
  if (control !== null) {
    const e = cmsg_foreach(control, (level, type, data) => {
      if (level !== IPPROTO_IP) return 0;
      switch (type) {
        case IP_SENDSRCADDR:
          if (data.length !== 4) return EINVAL;
          srcaddr = in_addr_read(data, 0);
          return 0;
        case IP_TOS:
          if (data.length !== 1) return EINVAL;
          tos = data[0]!;
          return 0;
        default:
          return ENOPROTOOPT;
      }
    });
    if (e !== 0) {
      m_freem(m);
      return e;
    }
  }
  const len = m.len;
  if (len + UDPIP_HDR > IP_MAXPACKET) {
    m_freem(m);
    return EMSGSIZE;
  }
  let faddr: number;
  let fport: number;
  let laddr: number = inp.inp_laddr;
  if (srcaddr !== INADDR_ANY) {
    if (!(inp.inp_flags & INP_BINDANY) && ifa_ifwithaddr(srcaddr as in_addr_t) === null) {
      m_freem(m);
      return EADDRNOTAVAIL;
    }
    laddr = srcaddr;
  }
  if (addr !== null) {
    const sin = in_sockaddr_check(addr);
    if (typeof sin === 'number') {
      m_freem(m);
      return sin;
    }
    if (inp.inp_faddr !== INADDR_ANY) {
      m_freem(m);
      return EISCONN;
    }
    if (sin.sin_port === 0) {
      m_freem(m);
      return EADDRNOTAVAIL;
    }
    if (inp.inp_lport === 0) {
      const e = in_pcbbind(inp, null, so.so_cred);
      if (e !== 0) {
        m_freem(m);
        return e;
      }
    }
    faddr = in_pcb_faddr(sin.sin_addr);
    fport = sin.sin_port;
    if (laddr === INADDR_ANY) {
      const l = in_pcbladdr(inp, faddr as in_addr_t);
      if (typeof l === 'number') {
        m_freem(m);
        return l;
      }
      laddr = l.addr;
    }
  } else {
    if (inp.inp_faddr === INADDR_ANY) {
      m_freem(m);
      return ENOTCONN;
    }
    faddr = inp.inp_faddr;
    fport = inp.inp_fport;
  }
  const n = M_PREPEND(m, UDPIP_HDR);
  if (n === null) return ENOBUFS;
  m = n;
  /* struct udpiphdr at b[o] (mtod without making a view). */
  const b = m.m_buf;
  const o = m.m_data;
  const total = len + UDPIP_HDR;
  b[o] = 0x45;
  b[o + 1] = tos;
  b[o + 2] = total >>> 8;
  b[o + 3] = total & 0xff;
  b[o + 4] = b[o + 5] = 0;
  b[o + 6] = inp.inp_flags & INP_DONTFRAG ? IP_DF >>> 8 : 0;
  b[o + 7] = 0;
  b[o + 8] = inp.inp_ip_ttl;
  b[o + 9] = IPPROTO_UDP;
  b[o + 10] = b[o + 11] = 0;
  in_addr_write(b, o + 12, laddr);
  in_addr_write(b, o + 16, faddr);
  const ulen = len + 8;
  b[o + 20] = inp.inp_lport >>> 8;
  b[o + 21] = inp.inp_lport & 0xff;
  b[o + 22] = fport >>> 8;
  b[o + 23] = fport & 0xff;
  b[o + 24] = ulen >>> 8;
  b[o + 25] = ulen & 0xff;
  b[o + 26] = b[o + 27] = 0;
  if (V_udp_cksum.get() !== 0) {
    /* Delayed as in FreeBSD: uh_sum holds the pseudo-header sum and ip_output (or the
     * interface, if_hwassist) finishes it; 0 goes out as 0xffff (RFC 768). */
    const ps = in_pseudo(laddr, faddr, IPPROTO_UDP + ulen);
    b[o + 26] = ps >>> 8;
    b[o + 27] = ps & 0xff;
    m.csum_flags = CSUM_UDP;
    m.csum_data = 6; /* offsetof(struct udphdr, uh_sum) */
  }
  let ipflags = 0;
  if (so.so_options & SO_DONTROUTE) ipflags |= IP_ROUTETOIF;
  if (so.so_options & SO_BROADCAST) ipflags |= IP_ALLOWBROADCAST;
  UDPSTAT_INC(UDPS.udps_opackets);
  return ip_output(m, ip_opts_route(b, o, inp.inp_options), null, ipflags, null, inp);
}

/* ------------------------------------------------------------------------------ */
/* The protocol switch.                                                            */

function inp_of(so: Socket): Inpcb | null {
  return so.so_pcb as Inpcb | null;
}

export const udp_protosw = {
  pr_type: SOCK_DGRAM,
  pr_protocol: IPPROTO_UDP,
  pr_flags: PR_ATOMIC | PR_ADDR,

  pr_attach(so: Socket, _proto: number, _td: Thread | null): number {
    const g = udp_globals();
    const e = soreserve(so, g.sendspace, g.recvspace);
    if (e !== 0) return e;
    in_pcballoc(so, udbinfo_of(so), IPPROTO_UDP);
    return 0;
  },

  pr_detach(so: Socket): void {
    const inp = inp_of(so);
    if (inp !== null) in_pcbfree(inp);
  },

  pr_bind(so: Socket, nam: Uint8Array, _td: Thread | null): number {
    const inp = inp_of(so);
    if (inp === null) return EINVAL;
    return in_pcbbind(inp, nam, so.so_cred);
  },

  pr_connect(so: Socket, nam: Uint8Array, _td: Thread | null): number {
    const inp = inp_of(so);
    if (inp === null) return EINVAL;
    const sin = in_sockaddr_check(nam);
    if (typeof sin === 'number') return sin;
    if (inp.inp_faddr !== INADDR_ANY) return EISCONN;
    const e = in_pcbconnect(inp, sin);
    if (e === 0) soisconnected(so);
    return e;
  },

  pr_disconnect(so: Socket): number {
    const inp = inp_of(so);
    if (inp === null || inp.inp_faddr === INADDR_ANY) return ENOTCONN;
    in_pcbdisconnect(inp);
    so.so_state &= ~SS_ISCONNECTED;
    return 0;
  },

  pr_send(
    so: Socket,
    _flags: number,
    m: Mbuf,
    addr: Uint8Array | null,
    control: Uint8Array | null,
    _td: Thread | null,
  ): number {
    const inp = inp_of(so);
    if (inp === null) {
      m_freem(m);
      return EINVAL;
    }
    return udp_output(inp, m, addr, control, so);
  },

  pr_shutdown(so: Socket, _how: number): number {
    socantsendmore(so);
    return 0;
  },

  pr_abort(so: Socket): void {
    const inp = inp_of(so);
    if (inp !== null && inp.inp_faddr !== INADDR_ANY) in_pcbdisconnect(inp);
    soisdisconnected(so);
  },

  pr_close(so: Socket): void {
    const inp = inp_of(so);
    if (inp !== null && inp.inp_faddr !== INADDR_ANY) in_pcbdisconnect(inp);
    soisdisconnected(so);
  },

  pr_sockaddr(so: Socket): Uint8Array {
    return in_getsockaddr(inp_of(so));
  },

  pr_peeraddr(so: Socket): Uint8Array | number {
    const inp = inp_of(so);
    if (inp === null || inp.inp_faddr === INADDR_ANY) return ENOTCONN;
    return in_getpeeraddr(inp);
  },

  pr_ctloutput(so: Socket, sopt: SockOpt): number {
    return ip_ctloutput(so, sopt);
  },
} satisfies Protosw;
