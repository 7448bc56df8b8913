/*
 * netinet/raw_ip.ts — raw IP sockets and the AF_INET domain (FreeBSD
 * sys/netinet/raw_ip.c and in_proto.c).
 *
 * socket(AF_INET, SOCK_RAW, proto) gives a socket that receives a copy of every
 * datagram for `proto` (0: all) that reaches the transport layer of its vnet, header
 * included, and sends datagrams for which the kernel writes the IP header (or, with
 * the IP_HDRINCL option, takes the caller's).  This is what ping(8) and traceroute(8)
 * use.
 *
 *   - rip_input(m, hlen) is called by ip_input for a protocol nobody registered and by
 *     icmp_input after it handled a message; it returns whether a socket took the
 *     datagram.  A socket matches on protocol, bound local address and connected
 *     foreign address, as in FreeBSD; each match gets its own copy, the last one the
 *     original.  A full receive buffer drops and counts in the vnet variable
 *     rip_drops (symbol vnet_entry_rip_drops).
 *   - rip_output: ip_output with flags from SO_DONTROUTE (IP_ROUTETOIF) and
 *     SO_BROADCAST (IP_ALLOWBROADCAST); IP_HDRINCL adds IP_RAWOUTPUT after checking
 *     the caller's header (ip_hl, ip_len matching what was written: EINVAL otherwise)
 *     and counts ips_rawout; the source address is the caller's to choose (spoofing
 *     is allowed, as in FreeBSD).
 *   - Options at IPPROTO_IP: IP_HDRINCL, IP_TTL, IP_TOS, IP_DONTFRAG (DF on what the
 *     kernel writes, as FreeBSD's rip_output: ping -D), and IP_OPTIONS (checked and
 *     stored by ip_pcbopts, ip_ctloutput.ts): ip_output inserts them after the header
 *     of every datagram, the header the kernel writes or the caller's (which must then
 *     have none of its own: EINVAL, as FreeBSD); a source route sends the datagram to
 *     its first hop.  getsockopt returns the first hop and the options; an empty value
 *     clears them.  This is what ping -R sets (a record-route option).
 *
 * XXX: FreeBSD refuses raw sockets in a jail without allow.raw_sockets; every jail may
 * open them here.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { IP_DF } from './ip.js';
import { SI_ORDER_ANY, SI_SUB_PROTO_DOMAIN } from '../sys/kernel.js';
import { VNET_DEFINE_U64, VNET_OBJ, VNET_SYSINIT, type VnetU64 } from '../net/vnet.js';
import { PR_ADDR, PR_ATOMIC, type Protosw } from '../sys/protosw.js';
import { SOCK_RAW, SO_BROADCAST, SO_DONTROUTE } from '../sys/socket.js';
import { SS_ISCONNECTED, type Socket, type SockOpt } from '../sys/socketvar.js';
import type { Thread } from '../sys/proc.js';
import { m_dup, m_freem, mtod, M_PREPEND, type Mbuf } from '../sys/mbuf.js';
import {
  EADDRNOTAVAIL,
  EDESTADDRREQ,
  EINVAL,
  EISCONN,
  EMSGSIZE,
  ENOBUFS,
  ENOPROTOOPT,
  ENOTCONN,
  EPROTONOSUPPORT,
} from '../sys/errno.js';
import {
  sbappendaddr,
  socantsendmore,
  soisconnected,
  soisdisconnected,
  soreserve,
  sorwakeup,
} from '../kern/uipc_sockbuf.js';
import { sooptcopyin, sooptcopyout, SOPT_SET } from '../kern/uipc_socket.js';
import {
  INADDR_ANY,
  IPPROTO_IP,
  SOCKADDR_IN_SIZE,
  in_addr_read,
  type in_addr_t,
  sockaddr_in,
  sockaddr_in_check,
  sockaddr_in_decode,
  sockaddr_in_encode,
} from './in.js';
import { in_localip } from './in_var.js';
import { IPS, IPSTAT_INC } from './ip_var.js';
import { ip_output, IP_ALLOWBROADCAST, IP_RAWOUTPUT, IP_ROUTETOIF } from './ip_output.js';
import {
  IP_DONTFRAG,
  IP_OPTIONS,
  ip_opts_route,
  ip_pcbopts,
  ip_pcbopts_get,
  type IpPcbOpts,
} from './ip_ctloutput.js';

export const K = new ObjFile('netinet/raw_ip.ts', VIMAGEID('src/netinet/raw_ip.ts'));

/* IPPROTO_IP socket options (netinet/in.h). */
export const IP_HDRINCL = 2;
export const IP_TOS = 3;
export const IP_TTL = 4;

/** net.inet.raw.maxdgram / recvspace defaults. */
export const RIP_SENDSPACE = 9216;
export const RIP_RECVSPACE = 9216;
const IP_MAXPACKET = 65535;

/** struct inpcb, the part a raw socket uses. */
export interface RipCb {
  readonly inp_ip_p: number;
  inp_laddr: number;
  inp_faddr: number;
  inp_hdrincl: boolean;
  /** IP_DONTFRAG (INP_DONTFRAG): DF on the datagrams the kernel writes the header of. */
  inp_dontfrag: boolean;
  inp_ttl: number;
  inp_tos: number;
  /** IP_OPTIONS: inserted by ip_output into every datagram sent (inp_options). */
  inp_options: IpPcbOpts | null;
}

export class RipVnet {
  readonly socks: Socket[] = [];
}

export const V_ripcb = VNET_OBJ<RipVnet>(K, 'ripcb');
/** Datagrams a raw socket could not take because its receive buffer was full. */
export const V_rip_drops: VnetU64 = VNET_DEFINE_U64(K, 'rip_drops', 0);

VNET_SYSINIT(K, 'rip_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  V_ripcb.set(new RipVnet());
});

function rip_list(): Socket[] {
  return (V_ripcb.get() as RipVnet | undefined)?.socks ?? [];
}

function rip_list_of(so: Socket): Socket[] {
  const v = so.so_vnet;
  const st = (v !== null && v.kernel.vimage ? V_ripcb.on(v) : V_ripcb.get()) as RipVnet | undefined;
  return st?.socks ?? [];
}

/**
 * rip_input(m, hlen): hand the datagram (header included) to every matching raw
 * socket of curvnet.  Consumes m when it returns true; otherwise the caller still owns
 * it.
 */
export function rip_input(m: Mbuf, _hlen: number): boolean {
  const b = mtod(m);
  const p = b[9]!;
  const src = in_addr_read(b, 12);
  const dst = in_addr_read(b, 16);
  const matches = rip_list().filter((so) => {
    const cb = so.so_pcb as RipCb | null;
    if (cb === null || so.so_freed) return false;
    if (cb.inp_ip_p !== 0 && cb.inp_ip_p !== p) return false;
    if (cb.inp_laddr !== INADDR_ANY && cb.inp_laddr !== dst) return false;
    if (cb.inp_faddr !== INADDR_ANY && cb.inp_faddr !== src) return false;
    return true;
  });
  if (matches.length === 0) return false;
  const from = new Uint8Array(SOCKADDR_IN_SIZE);
  sockaddr_in_encode(sockaddr_in(src, 0), from);
  matches.forEach((so, i) => {
    const n = i === matches.length - 1 ? m : m_dup(m);
    if (n === null) {
      V_rip_drops.set(V_rip_drops.get() + 1);
      return;
    }
    if (!sbappendaddr(so.so_rcv, from, n, null)) {
      m_freem(n);
      V_rip_drops.set(V_rip_drops.get() + 1);
      return;
    }
    sorwakeup(so);
  });
  return true;
}

/** rip_output: the datagram in m (payload, or a whole header with IP_HDRINCL). */
function rip_output(so: Socket, cb: RipCb, m: Mbuf, dst: number): number {
  let flags = 0;
  if (so.so_options & SO_DONTROUTE) flags |= IP_ROUTETOIF;
  if (so.so_options & SO_BROADCAST) flags |= IP_ALLOWBROADCAST;
  if (!cb.inp_hdrincl) {
    if (m.len + 20 > IP_MAXPACKET) {
      m_freem(m);
      return EMSGSIZE;
    }
    const n = M_PREPEND(m, 20);
    if (n === null) return ENOBUFS;
    m = n;
    const b = mtod(m);
    b.fill(0, 0, 20);
    b[0] = 0x45;
    b[1] = cb.inp_tos;
    b[2] = m.len >>> 8;
    b[3] = m.len & 0xff;
    if (cb.inp_dontfrag) b[6] = IP_DF >>> 8;
    b[8] = cb.inp_ttl;
    b[9] = cb.inp_ip_p;
    const src = cb.inp_laddr;
    b[12] = src >>> 24;
    b[13] = (src >>> 16) & 0xff;
    b[14] = (src >>> 8) & 0xff;
    b[15] = src & 0xff;
    b[16] = dst >>> 24;
    b[17] = (dst >>> 16) & 0xff;
    b[18] = (dst >>> 8) & 0xff;
    b[19] = dst & 0xff;
    return ip_output(m, ip_opts_route(b, 0, cb.inp_options), null, flags, null, cb);
  }
  /* IP_HDRINCL: the caller's header, checked as FreeBSD's rip_output does. */
  const b = mtod(m);
  const hlen = (b[0]! & 15) << 2;
  if (
    m.len < 20 ||
    hlen < 20 ||
    hlen > m.len ||
    ((b[2]! << 8) | b[3]!) !== m.len ||
    (hlen !== 20 && cb.inp_options !== null)
  ) {
    m_freem(m);
    return EINVAL;
  }
  /* Any source address, as FreeBSD allows root outside address-restricted jails. */
  IPSTAT_INC(IPS.ips_rawout);
  return ip_output(m, ip_opts_route(b, 0, cb.inp_options), null, flags | IP_RAWOUTPUT, null, cb);
}

function sin_from(nam: Uint8Array): { addr: number } | number {
  const sin = sockaddr_in_decode(nam);
  if (sin === null) return EINVAL;
  const e = sockaddr_in_check(sin);
  return e !== 0 ? e : { addr: sin.sin_addr };
}

export const rip_protosw = {
  pr_type: SOCK_RAW,
  pr_protocol: 0,
  pr_flags: PR_ATOMIC | PR_ADDR,

  pr_attach(so: Socket, proto: number, _td: Thread | null): number {
    if (proto < 0 || proto > 255) return EPROTONOSUPPORT;
    const e = soreserve(so, RIP_SENDSPACE, RIP_RECVSPACE);
    if (e !== 0) return e;
    const cb: RipCb = {
      inp_ip_p: proto,
      inp_laddr: INADDR_ANY,
      inp_faddr: INADDR_ANY,
      inp_hdrincl: proto === 255 /* IPPROTO_RAW */,
      inp_dontfrag: false,
      inp_ttl: 64,
      inp_tos: 0,
      inp_options: null,
    };
    so.so_pcb = cb;
    rip_list_of(so).push(so);
    return 0;
  },

  pr_detach(so: Socket): void {
    const l = rip_list_of(so);
    const i = l.indexOf(so);
    if (i >= 0) l.splice(i, 1);
    so.so_pcb = null;
  },

  pr_bind(so: Socket, nam: Uint8Array, _td: Thread | null): number {
    const cb = so.so_pcb as RipCb;
    const a = sin_from(nam);
    if (typeof a === 'number') return a;
    if (a.addr !== INADDR_ANY && !in_localip(a.addr as in_addr_t)) return EADDRNOTAVAIL;
    cb.inp_laddr = a.addr;
    return 0;
  },

  pr_connect(so: Socket, nam: Uint8Array, _td: Thread | null): number {
    const cb = so.so_pcb as RipCb;
    const a = sin_from(nam);
    if (typeof a === 'number') return a;
    cb.inp_faddr = a.addr;
    soisconnected(so);
    return 0;
  },

  pr_send(
    so: Socket,
    _flags: number,
    m: Mbuf,
    addr: Uint8Array | null,
    _control: Uint8Array | null,
    _td: Thread | null,
  ): number {
    const cb = so.so_pcb as RipCb;
    let dst: number;
    if (so.so_state & SS_ISCONNECTED) {
      if (addr !== null) {
        m_freem(m);
        return EISCONN;
      }
      dst = cb.inp_faddr;
    } else {
      if (addr === null) {
        m_freem(m);
        return ENOTCONN;
      }
      const a = sin_from(addr);
      if (typeof a === 'number') {
        m_freem(m);
        return a === EINVAL && addr.length < SOCKADDR_IN_SIZE ? EDESTADDRREQ : a;
      }
      dst = a.addr;
    }
    return rip_output(so, cb, m, dst);
  },

  pr_ctloutput(so: Socket, sopt: SockOpt): number {
    if (sopt.sopt_level !== IPPROTO_IP) return 0; /* SOL_SOCKET follow-up */
    const cb = so.so_pcb as RipCb;
    if (sopt.sopt_name === IP_OPTIONS) {
      if (sopt.sopt_dir !== SOPT_SET) return sooptcopyout(sopt, ip_pcbopts_get(cb.inp_options));
      const o = ip_pcbopts(sopt.sopt_val);
      if (typeof o === 'number') return o;
      cb.inp_options = o;
      return 0;
    }
    if (sopt.sopt_dir === SOPT_SET) {
      const v = sooptcopyin(sopt, 4);
      if (typeof v === 'number') return v;
      const n = new DataView(v.buffer, v.byteOffset, 4).getInt32(0, true);
      switch (sopt.sopt_name) {
        case IP_HDRINCL:
          cb.inp_hdrincl = n !== 0;
          return 0;
        case IP_DONTFRAG:
          cb.inp_dontfrag = n !== 0;
          return 0;
        case IP_TTL:
          if (n < 0 || n > 255) return EINVAL;
          cb.inp_ttl = n;
          return 0;
        case IP_TOS:
          if (n < 0 || n > 255) return EINVAL;
          cb.inp_tos = n;
          return 0;
        default:
          return ENOPROTOOPT;
      }
    }
    let n: number;
    switch (sopt.sopt_name) {
      case IP_HDRINCL:
        n = cb.inp_hdrincl ? 1 : 0;
        break;
      case IP_DONTFRAG:
        n = cb.inp_dontfrag ? 1 : 0;
        break;
      case IP_TTL:
        n = cb.inp_ttl;
        break;
      case IP_TOS:
        n = cb.inp_tos;
        break;
      default:
        return ENOPROTOOPT;
    }
    const out = new Uint8Array(4);
    new DataView(out.buffer).setInt32(0, n, true);
    return sooptcopyout(sopt, out);
  },

  pr_shutdown(so: Socket, _how: number): number {
    socantsendmore(so);
    return 0;
  },

  pr_disconnect(so: Socket): number {
    if (!(so.so_state & SS_ISCONNECTED)) return ENOTCONN;
    (so.so_pcb as RipCb).inp_faddr = INADDR_ANY;
    soisdisconnected(so);
    return 0;
  },

  pr_abort(so: Socket): void {
    soisdisconnected(so);
  },

  pr_close(so: Socket): void {
    soisdisconnected(so);
  },

  pr_sockaddr(so: Socket): Uint8Array {
    const b = new Uint8Array(SOCKADDR_IN_SIZE);
    sockaddr_in_encode(sockaddr_in((so.so_pcb as RipCb | null)?.inp_laddr ?? 0, 0), b);
    return b;
  },

  pr_peeraddr(so: Socket): Uint8Array {
    const b = new Uint8Array(SOCKADDR_IN_SIZE);
    sockaddr_in_encode(sockaddr_in((so.so_pcb as RipCb | null)?.inp_faddr ?? 0, 0), b);
    return b;
  },
} satisfies Protosw;
