/*
 * netinet/ip_ctloutput.ts — socket options at level IPPROTO_IP for sockets with an
 * Internet pcb (FreeBSD's ip_ctloutput in sys/netinet/ip_output.c), and the control
 * messages they produce on receive (ip_savecontrol in ip_input.c).
 *
 * Options: IP_TOS, IP_TTL, IP_MINTTL (int, 0..255; EINVAL outside), the boolean
 * flags IP_RECVDSTADDR, IP_RECVTTL, IP_RECVTOS, IP_DONTFRAG, IP_ONESBCAST and
 * IP_BINDANY (which needs privilege: root in the host or in a jail with its own vnet;
 * EPERM otherwise), and IP_PORTRANGE (IP_PORTRANGE_DEFAULT, _HIGH, _LOW; EINVAL for
 * anything else).  A value shorter than an int is EINVAL; an unknown option
 * ENOPROTOOPT.  SOL_SOCKET follow-up calls are ignored, as FreeBSD's udp_ctloutput does.
 *
 * ip_pcbopts checks and stores the value of IP_OPTIONS (the options a socket's
 * datagrams carry, RFC 791 §3.1) as FreeBSD's ip_pcbopts does; raw sockets (raw_ip.ts,
 * which is how ping -R records a route), UDP and TCP sockets (inp_options, sent with
 * every datagram; tcp_output takes their length off each segment) use it.  Segments
 * sent from the syncache (SYN-ACK) and bare RSTs carry none.
 */

import type { Socket, SockOpt } from '../sys/socketvar.js';
import { EINVAL, ENOPROTOOPT, EPERM } from '../sys/errno.js';
import { PR_VNET } from '../kern/kern_jail.js';
import { CMSG_DATA_OFF, CMSG_LEN, CMSG_SPACE } from '../sys/socket.js';
import { sooptcopyin, sooptcopyout, SOPT_SET } from '../kern/uipc_socket.js';
import { curkernel } from '../kern/kern_cur.js';
import { IPPROTO_IP, in_addr_read } from './in.js';
import {
  IPOPT_EOL,
  IPOPT_LSRR,
  IPOPT_MINOFF,
  IPOPT_NOP,
  IPOPT_OLEN,
  IPOPT_SSRR,
  MAX_IPOPTLEN,
} from './ip.js';
import {
  INP_BINDANY,
  INP_DONTFRAG,
  INP_HIGHPORT,
  INP_LOWPORT,
  INP_ONESBCAST,
  INP_RECVDSTADDR,
  INP_RECVTOS,
  INP_RECVTTL,
  type Inpcb,
} from './in_pcb.js';

/* IPPROTO_IP option names (netinet/in.h). */
export const IP_OPTIONS = 1;
export const IP_HDRINCL = 2;
export const IP_TOS = 3;
export const IP_TTL = 4;
export const IP_RECVOPTS = 5;
export const IP_RECVRETOPTS = 6;
export const IP_RECVDSTADDR = 7;
export const IP_SENDSRCADDR = IP_RECVDSTADDR;
export const IP_RETOPTS = 8;
export const IP_MULTICAST_IF = 9;
export const IP_MULTICAST_TTL = 10;
export const IP_MULTICAST_LOOP = 11;
export const IP_ADD_MEMBERSHIP = 12;
export const IP_DROP_MEMBERSHIP = 13;
export const IP_PORTRANGE = 19;
export const IP_RECVIF = 20;
export const IP_ONESBCAST = 23;
export const IP_BINDANY = 24;
export const IP_RECVTTL = 65;
export const IP_MINTTL = 66;
export const IP_DONTFRAG = 67;
export const IP_RECVTOS = 68;

export const IP_PORTRANGE_DEFAULT = 0;
export const IP_PORTRANGE_HIGH = 1;
export const IP_PORTRANGE_LOW = 2;

const FLAG_OPTS: ReadonlyMap<number, number> = new Map([
  [IP_RECVDSTADDR, INP_RECVDSTADDR],
  [IP_RECVTTL, INP_RECVTTL],
  [IP_RECVTOS, INP_RECVTOS],
  [IP_DONTFRAG, INP_DONTFRAG],
  [IP_ONESBCAST, INP_ONESBCAST],
  [IP_BINDANY, INP_BINDANY],
]);

/** PRIV_NETINET_BINDANY: root, in the host or in a jail with its own vnet. */
function priv_bindany(so: Socket): boolean {
  const cr = so.so_cred;
  if (cr.cr_uid !== 0) return false;
  const pr = cr.cr_prison;
  return pr === curkernel().prison0 || (pr.pr_flags & PR_VNET) !== 0;
}

function int_out(sopt: SockOpt, n: number): number {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, n, true);
  return sooptcopyout(sopt, out);
}

/**
 * The stored IP_OPTIONS of a socket (FreeBSD keeps them in an mbuf whose first four
 * bytes are the first-hop address, followed by the options as they go on the wire).
 */
export interface IpPcbOpts {
  /** The first hop of a source route (the first address the user listed), or 0. */
  readonly ipopt_dst: number;
  /** The options inserted after the header: source routes without their first hop. */
  readonly ipopt_list: Uint8Array;
}

/**
 * ip_pcbopts(val) → the options to store, null to clear them (an empty value), or an
 * errno.  Rules (FreeBSD's): the length is a multiple of 4 (EINVAL otherwise); every
 * option up to EOL is whole — a length byte of at least 2 that stays inside the value;
 * a loose or strict source route lists the first hop first, which is taken out of the
 * option (the datagram goes there first; the final destination is the route's last
 * address); what is left must fit the 40 bytes an IP header has for options.
 */
export function ip_pcbopts(val: Uint8Array): IpPcbOpts | null | number {
  if (val.length === 0) return null;
  if (val.length % 4 !== 0) return EINVAL;
  const out: number[] = [];
  let first = 0;
  let cp = 0;
  while (cp < val.length) {
    const opt = val[cp]!;
    if (opt === IPOPT_EOL) {
      /* The rest is padding: keep it, as FreeBSD keeps the whole buffer. */
      for (; cp < val.length; cp++) out.push(val[cp]!);
      break;
    }
    if (opt === IPOPT_NOP) {
      out.push(opt);
      cp++;
      continue;
    }
    if (val.length - cp < 2) return EINVAL;
    const optlen = val[cp + IPOPT_OLEN]!;
    if (optlen < 2 || optlen > val.length - cp) return EINVAL;
    if (opt === IPOPT_LSRR || opt === IPOPT_SSRR) {
      /* type, length, pointer and at least the first hop (a later route's wins). */
      if (optlen < IPOPT_MINOFF - 1 + 4) return EINVAL;
      first = in_addr_read(val, cp + IPOPT_MINOFF - 1);
      out.push(opt, optlen - 4, val[cp + 2]!);
      for (let i = cp + IPOPT_MINOFF - 1 + 4; i < cp + optlen; i++) out.push(val[i]!);
    } else for (let i = cp; i < cp + optlen; i++) out.push(val[i]!);
    cp += optlen;
  }
  if (out.length > MAX_IPOPTLEN) return EINVAL;
  return { ipopt_dst: first >>> 0, ipopt_list: Uint8Array.from(out) };
}

/**
 * The options to give ip_output for the datagram whose IP header is at b[o] (null when
 * there are none); a source route's first hop becomes the header's destination, as
 * ip_insertoptions does (transport checksums were computed with the final one).
 */
export function ip_opts_route(b: Uint8Array, o: number, opts: IpPcbOpts | null): Uint8Array | null {
  if (opts === null) return null;
  const d = opts.ipopt_dst;
  if (d !== 0) {
    b[o + 16] = d >>> 24;
    b[o + 17] = (d >>> 16) & 0xff;
    b[o + 18] = (d >>> 8) & 0xff;
    b[o + 19] = d & 0xff;
  }
  return opts.ipopt_list;
}

/** IP_OPTIONS for getsockopt: the first hop, then the options (FreeBSD's layout). */
export function ip_pcbopts_get(o: IpPcbOpts | null): Uint8Array {
  if (o === null) return new Uint8Array(0);
  const b = new Uint8Array(4 + o.ipopt_list.length);
  b[0] = o.ipopt_dst >>> 24;
  b[1] = (o.ipopt_dst >>> 16) & 0xff;
  b[2] = (o.ipopt_dst >>> 8) & 0xff;
  b[3] = o.ipopt_dst & 0xff;
  b.set(o.ipopt_list, 4);
  return b;
}

/** ip_ctloutput(so, sopt) for a socket whose so_pcb is an Inpcb. */
export function ip_ctloutput(so: Socket, sopt: SockOpt): number {
  if (sopt.sopt_level !== IPPROTO_IP) return 0; /* SOL_SOCKET follow-up */
  const inp = so.so_pcb as Inpcb | null;
  if (inp === null) return EINVAL;
  const name = sopt.sopt_name;
  if (name === IP_OPTIONS) {
    if (sopt.sopt_dir !== SOPT_SET) return sooptcopyout(sopt, ip_pcbopts_get(inp.inp_options));
    const o = ip_pcbopts(sopt.sopt_val);
    if (typeof o === 'number') return o;
    inp.inp_options = o;
    return 0;
  }
  if (sopt.sopt_dir === SOPT_SET) {
    const v = sooptcopyin(sopt, 4);
    if (typeof v === 'number') return v;
    const n = new DataView(v.buffer, v.byteOffset, 4).getInt32(0, true);
    const flag = FLAG_OPTS.get(name);
    if (flag !== undefined) {
      if (name === IP_BINDANY && !priv_bindany(so)) return EPERM;
      if (n !== 0) inp.inp_flags |= flag;
      else inp.inp_flags &= ~flag;
      return 0;
    }
    switch (name) {
      case IP_TOS:
      case IP_TTL:
      case IP_MINTTL:
        if (n < 0 || n > 255) return EINVAL;
        if (name === IP_TOS) inp.inp_ip_tos = n;
        else if (name === IP_TTL) inp.inp_ip_ttl = n;
        else inp.inp_ip_minttl = n;
        return 0;
      case IP_PORTRANGE:
        inp.inp_flags &= ~(INP_HIGHPORT | INP_LOWPORT);
        if (n === IP_PORTRANGE_HIGH) inp.inp_flags |= INP_HIGHPORT;
        else if (n === IP_PORTRANGE_LOW) inp.inp_flags |= INP_LOWPORT;
        else if (n !== IP_PORTRANGE_DEFAULT) return EINVAL;
        return 0;
      default:
        return ENOPROTOOPT;
    }
  }
  const flag = FLAG_OPTS.get(name);
  if (flag !== undefined) return int_out(sopt, inp.inp_flags & flag ? 1 : 0);
  switch (name) {
    case IP_TOS:
      return int_out(sopt, inp.inp_ip_tos);
    case IP_TTL:
      return int_out(sopt, inp.inp_ip_ttl);
    case IP_MINTTL:
      return int_out(sopt, inp.inp_ip_minttl);
    case IP_PORTRANGE:
      return int_out(
        sopt,
        inp.inp_flags & INP_HIGHPORT
          ? IP_PORTRANGE_HIGH
          : inp.inp_flags & INP_LOWPORT
            ? IP_PORTRANGE_LOW
            : IP_PORTRANGE_DEFAULT,
      );
    default:
      return ENOPROTOOPT;
  }
}

/** One control message (level IPPROTO_IP) with its data, padded to CMSG_SPACE. */
function cmsg(type: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(CMSG_SPACE(data.length));
  const dv = new DataView(b.buffer);
  dv.setUint32(0, CMSG_LEN(data.length), true);
  dv.setInt32(4, IPPROTO_IP, true);
  dv.setInt32(8, type, true);
  b.set(data, CMSG_DATA_OFF());
  return b;
}

/**
 * ip_savecontrol(inp, ip): the control messages the pcb asked for, for a datagram
 * whose IP header is `ip`; null when none.
 */
export function ip_savecontrol(inp: Inpcb, ip: Uint8Array): Uint8Array | null {
  const f = inp.inp_flags;
  if (!(f & (INP_RECVDSTADDR | INP_RECVTTL | INP_RECVTOS))) return null;
  const parts: Uint8Array[] = [];
  if (f & INP_RECVDSTADDR) {
    const a = new Uint8Array(4);
    a.set(ip.subarray(16, 20));
    parts.push(cmsg(IP_RECVDSTADDR, a));
  }
  if (f & INP_RECVTTL) parts.push(cmsg(IP_RECVTTL, Uint8Array.of(ip[8]!)));
  if (f & INP_RECVTOS) parts.push(cmsg(IP_RECVTOS, Uint8Array.of(ip[1]!)));
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Walk the control messages of sendmsg: fn(level, type, data); EINVAL when malformed. */
export function cmsg_foreach(
  control: Uint8Array,
  fn: (level: number, type: number, data: Uint8Array) => number,
): number {
  const dv = new DataView(control.buffer, control.byteOffset, control.byteLength);
  let off = 0;
  while (off < control.length) {
    if (control.length - off < CMSG_LEN(0)) return EINVAL;
    const len = dv.getUint32(off, true);
    if (len < CMSG_LEN(0) || off + len > control.length) return EINVAL;
    const e = fn(
      dv.getInt32(off + 4, true),
      dv.getInt32(off + 8, true),
      control.subarray(off + CMSG_DATA_OFF(), off + len),
    );
    if (e !== 0) return e;
    off += CMSG_SPACE(len - CMSG_DATA_OFF());
  }
  return 0;
}
