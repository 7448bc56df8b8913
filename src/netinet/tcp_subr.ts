/*
 * netinet/tcp_subr.ts — the life of a TCP connection block (FreeBSD
 * sys/netinet/tcp_subr.c): creation, the per-vnet pcb table (V_tcbinfo), initial
 * sequence numbers, MSS from the route, bare segments (RST, challenge ACK, keepalive
 * probe), dropping and closing, TIME_WAIT, ICMP errors and the pcblist sysctl.
 *
 *   - tcp_new_isn: RFC 6528 — a keyed hash of the 4-tuple with a per-vnet secret from
 *     the kernel's seeded RNG, plus a clock that advances every 4 microseconds.
 *   - tcp_mss(tp, offer): t_maxseg from the route's MTU (the interface MTU less 40)
 *     and the peer's MSS option, at least net.inet.tcp.minmss; tcp_mssopt is the MSS
 *     we advertise.
 *   - tcp_drop(tp, errno): a synchronized connection sends RST; the socket gets errno;
 *     tcp_close removes the pcb from the tables and wakes the socket.
 *   - tcp_twstart: TIME_WAIT for 2*MSL (net.inet.tcp.msl); a pcb whose socket is gone
 *     stays in the tables (netstat shows it) until the 2msl timer closes it.
 *   - tcp_ctlinput: ICMP port or protocol unreachable drops a connection still in
 *     SYN_SENT with ECONNREFUSED; other errors are soft errors (reported if the
 *     connection then times out), host/net unreachable are ignored once established
 *     (RFC 1122 4.2.3.9), need-fragment lowers t_maxseg.
 *
 * Deliberate differences: no compressed TIME_WAIT structure (the tcpcb stays), no host
 * cache, no TCP_LOG, no stack switching (tcp_function_block).
 */

import { SDT_PROBE, SDT_PROBE_DEFINE } from '../sys/sdt.js';
import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SI_ORDER_ANY, SI_SUB_PROTO_DOMAIN } from '../sys/kernel.js';
import { VNET_OBJ, VNET_SYSINIT, curvnet } from '../net/vnet.js';
import {
  CTLFLAG_RD,
  CTLFLAG_SKIP,
  CTLFLAG_VNET,
  CTLFLAG_WR,
  CTLTYPE_OPAQUE,
  CTLTYPE_STRUCT,
  SYSCTL_OUT,
  SYSCTL_PROC,
} from '../sys/sysctl.js';
import { M_PREPEND, m_freem, mtod } from '../sys/mbuf.js';
import {
  ECONNABORTED,
  ECONNREFUSED,
  EHOSTDOWN,
  EHOSTUNREACH,
  EINVAL,
  ENETUNREACH,
  ENOMEM,
  EPERM,
  ESRCH,
  ETIMEDOUT,
} from '../sys/errno.js';
import { curkernel } from '../kern/kern_cur.js';
import { arc4random } from '../kern/subr_random.js';
import { get_ticks } from '../kern/kern_clock.js';
import { sbspace, soisdisconnected, sorwakeup, sowwakeup } from '../kern/uipc_sockbuf.js';
import { sofree } from '../kern/uipc_socket.js';
import { ifnet_byindex } from '../net/if.js';
import {
  AF_INET,
  IPPROTO_TCP,
  SOCKADDR_IN_SIZE,
  in_addr_read,
  in_addr_write,
  sockaddr_in_decode,
  type in_addr_t,
} from './in.js';
import { in_cksum_l4 } from './in_cksum.js';
import { V_rib } from './in_var.js';
import {
  InpcbInfo,
  in_pcbdetach,
  in_pcbdrop,
  in_pcbfree,
  in_pcblist,
  in_pcblookup,
  in_pcbnotifyall,
  type Inpcb,
} from './in_pcb.js';
import { ip_output } from './ip_output.js';
import {
  ip_next_mtu,
  PRC_HOSTDEAD,
  PRC_MSGSIZE,
  PRC_UNREACH_HOST,
  PRC_UNREACH_NET,
  PRC_UNREACH_PORT,
  PRC_UNREACH_PROTOCOL,
} from './icmp.js';
import { cc_attach, cc_default_algo, cc_detach } from './cc/cc.js';
import {
  TCPOPT_NOP,
  TCPOPT_TIMESTAMP,
  TCPOLEN_TIMESTAMP,
  TCPS_CLOSED,
  TCPS_ESTABLISHED,
  TCPS_SYN_SENT,
  TCPS_TIME_WAIT,
  TCPSTAT_INC,
  TCPS_,
  TCPS_HAVERCVDSYN,
  TCPTV_RTOBASE,
  TCPTV_SRTTBASE,
  TCP_MAXWIN,
  TCP_MAX_WINSHIFT,
  TCP_RTTVAR_SHIFT,
  TF_FASTRECOVERY,
  TF_LRD,
  TF_RCVD_TSTMP,
  TF_SACK_PERMIT,
  TF_REQ_SCALE,
  TF_REQ_TSTMP,
  TH_ACK,
  TH_RST,
  TT_2MSL,
  Tcpcb,
  V_tcp_do_lrd,
  V_tcp_do_rfc1323,
  V_tcp_minmss,
  V_tcp_mssdflt,
  V_tcp_msl,
  V_tcp_rexmit_initial,
  V_tcp_rexmit_min,
  intotcpcb,
  seq_add,
} from './tcp_var.js';
import { tcp_timer_activate, tcp_timer_stop_all } from './tcp_timer.js';
import { tcp_hc_getmtu, tcp_hc_update, tcp_hc_updatemtu } from './tcp_hostcache.js';
import { tcp_output } from './tcp_output.js';
import { tcp_free_sackholes } from './tcp_sack.js';

export const K = new ObjFile('netinet/tcp_subr.ts', VIMAGEID('src/netinet/tcp_subr.ts'));

/** The vnet's TCP pcbs (V_tcbinfo) and its ISN secret. */
export class TcpVnet {
  readonly tcbinfo = new InpcbInfo('tcp', IPPROTO_TCP);
  readonly isn_secret: number[] = [arc4random(), arc4random(), arc4random(), arc4random()];
  /** Challenge ACK rate limiting (tcp_ack_war_*). */
  ack_war_start = 0;
  ack_war_cnt = 0;
}

export const V_tcp = VNET_OBJ<TcpVnet>(K, 'tcp');
VNET_SYSINIT(K, 'tcp_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  V_tcp.set(new TcpVnet());
});

export function V_tcbinfo(): InpcbInfo {
  return V_tcp.get().tcbinfo;
}

SYSCTL_PROC(
  K,
  'net.inet.tcp.pcblist',
  CTLTYPE_OPAQUE | CTLFLAG_RD | CTLFLAG_VNET,
  (_o, req) =>
    SYSCTL_OUT(
      req,
      in_pcblist(V_tcbinfo(), (inp) => intotcpcb(inp)?.t_state ?? TCPS_CLOSED),
    ),
  'S,xinpcb',
  'List of active TCP connections',
);

/*
 * net.inet.tcp.drop (sysctl_drop): how tcpdrop(8) drops a connection.  The new value
 * is two struct sockaddr_storage (128 bytes each), the foreign address first and the
 * local one second, as tcpdrop.c fills them.  Only the exact 4-tuple matches (listeners
 * and bound sockets are not connections).  A synchronized connection is dropped with
 * tcp_drop(ECONNABORTED) and so resets its peer; one in TIME_WAIT is closed without a
 * segment, as FreeBSD's tcp_twclose does (the peer already has everything).  Errors:
 * a read or a value shorter than the two addresses (EPERM / ENOMEM, FreeBSD's), a
 * family other than AF_INET (EINVAL), no such connection (ESRCH).
 * XXX: AF_INET only (no IPv6 stack); the 128-byte sockaddr_storage slots are FreeBSD's.
 */
const SOCKADDR_STORAGE_SIZE = 128;

SYSCTL_PROC(
  K,
  'net.inet.tcp.drop',
  CTLTYPE_STRUCT | CTLFLAG_WR | CTLFLAG_SKIP | CTLFLAG_VNET,
  (_o, req) => {
    if (req.oldptr !== null && req.oldptr.length > 0) return EINVAL;
    const nb = req.newptr;
    if (nb === null) return EPERM;
    if (nb.length < 2 * SOCKADDR_STORAGE_SIZE) return ENOMEM;
    const fin = sockaddr_in_decode(nb, 0);
    const lin = sockaddr_in_decode(nb, SOCKADDR_STORAGE_SIZE);
    if (fin === null || lin === null) return EINVAL;
    if (fin.sin_family !== AF_INET || lin.sin_family !== AF_INET) return EINVAL;
    if (fin.sin_len < SOCKADDR_IN_SIZE || lin.sin_len < SOCKADDR_IN_SIZE) return EINVAL;
    const inp = in_pcblookup(
      V_tcbinfo(),
      fin.sin_addr,
      fin.sin_port,
      lin.sin_addr,
      lin.sin_port,
      0,
    );
    const tp = inp !== null ? intotcpcb(inp) : null;
    if (tp === null || tp.t_state === TCPS_CLOSED) return ESRCH;
    if (tp.t_state === TCPS_TIME_WAIT) tcp_close(tp);
    else tcp_drop(tp, ECONNABORTED);
    return 0;
  },
  'S,sockaddr_storage[2]',
  'Drop TCP connection',
);

/* ------------------------------------------------------------------------------ */
/* Connection blocks                                                                */

/** tcp_newtcpcb(inp): a fresh block with FreeBSD's defaults. */
export function tcp_newtcpcb(inp: Inpcb): Tcpcb {
  const tp = new Tcpcb(inp, cc_default_algo());
  tp.t_vnet = inp.inp_socket?.so_vnet ?? curvnet();
  cc_attach(tp, tp.cc_algo);
  tp.t_maxseg = V_tcp_mssdflt.get();
  if (V_tcp_do_rfc1323.get() !== 0) tp.t_flags = TF_REQ_SCALE | TF_REQ_TSTMP;
  if (V_tcp_do_lrd.get() !== 0) tp.t_flags |= TF_LRD;
  tp.t_srtt = TCPTV_SRTTBASE;
  tp.t_rttvar = ((TCPTV_RTOBASE - TCPTV_SRTTBASE) << TCP_RTTVAR_SHIFT) / 4;
  tp.t_rttmin = V_tcp_rexmit_min.get();
  tp.t_rxtcur = V_tcp_rexmit_initial.get();
  tp.snd_cwnd = TCP_MAXWIN << TCP_MAX_WINSHIFT;
  tp.snd_ssthresh = TCP_MAXWIN << TCP_MAX_WINSHIFT;
  tp.t_rcvtime = get_ticks();
  inp.inp_ppcb = tp;
  return tp;
}

/** tcp_discardcb: stop the timers, free the reassembly queue, leave the algorithm. */
export function tcp_discardcb(tp: Tcpcb): void {
  tcp_timer_stop_all(tp);
  /* Four RTT samples are enough for srtt to mean something: the host cache keeps it for
   * the next connection, with ssthresh when a loss set it below half the send buffer
   * (rounded to whole segments, headers counted), as FreeBSD's tcp_discardcb. */
  const so = tp.t_inpcb.inp_socket;
  if (tp.t_rttupdated >= 4 && so !== null) {
    let ssthresh = tp.snd_ssthresh;
    if (ssthresh !== 0 && ssthresh < so.so_snd.sb_hiwat / 2) {
      ssthresh = Math.max(2, Math.floor((ssthresh + tp.t_maxseg / 2) / tp.t_maxseg));
      ssthresh *= tp.t_maxseg + 40;
    } else ssthresh = 0;
    tcp_hc_update(tp.t_inpcb.inp_faddr, {
      mtu: 0,
      ssthresh,
      rtt: tp.t_srtt,
      rttvar: tp.t_rttvar,
      cwnd: tp.snd_cwnd,
    });
  }
  for (const e of tp.t_segq) for (const m of e.ms) m_freem(m);
  tp.t_segq.length = 0;
  tp.t_segqlen = 0;
  cc_detach(tp);
}

/** tcp_state_change */
export function tcp_state_change(tp: Tcpcb, newstate: number): void {
  const pstate = tp.t_state;
  tp.t_state = newstate;
  SDT_PROBE(tcp_probe_state_change, tp, pstate, newstate);
}

/** tcp:::state-change (tp, previous state, new state), as FreeBSD's TCP_PROBE6. */
export const tcp_probe_state_change = SDT_PROBE_DEFINE('tcp', 'kernel', '', 'state-change');

/**
 * tcp_close(tp): the connection is over.  The pcb leaves the tables; the socket (if
 * any) is disconnected and will free the pcb at detach; a socketless pcb is freed now.
 */
export function tcp_close(tp: Tcpcb): null {
  const inp = tp.t_inpcb;
  tcp_timer_stop_all(tp);
  /* tcp_drop and tcp_usrclosed may have set it already (one state change). */
  if (tp.t_state !== TCPS_CLOSED) tcp_state_change(tp, TCPS_CLOSED);
  TCPSTAT_INC(TCPS_.tcps_closed);
  const so = inp.inp_socket;
  if (so === null) {
    tcp_discardcb(tp);
    inp.inp_ppcb = null;
    in_pcbfree(inp);
    return null;
  }
  in_pcbdrop(inp);
  soisdisconnected(so);
  tcp_release_socket(tp);
  return null;
}

/**
 * A closed socket the connection kept (so_protoref, FreeBSD's INP_SOCKREF) is let go:
 * the pcb (if closed) is freed with it, or lives on without it (TIME_WAIT).
 */
export function tcp_release_socket(tp: Tcpcb): void {
  const inp = tp.t_inpcb;
  const so = inp.inp_socket;
  if (so === null || !so.so_protoref) return;
  so.so_protoref = false;
  if (tp.t_state === TCPS_CLOSED) {
    tcp_discardcb(tp);
    inp.inp_ppcb = null;
    in_pcbfree(inp);
  } else in_pcbdetach(inp);
  sofree(so);
}

/** tcp_drop(tp, errno): abort; a synchronized connection resets its peer. */
export function tcp_drop(tp: Tcpcb, errno: number): null {
  const so = tp.t_inpcb.inp_socket;
  if (TCPS_HAVERCVDSYN(tp.t_state)) {
    tcp_state_change(tp, TCPS_CLOSED);
    tcp_respond_tp(tp, tp.rcv_nxt, tp.snd_nxt, TH_RST | TH_ACK);
    TCPSTAT_INC(TCPS_.tcps_drops);
  } else TCPSTAT_INC(TCPS_.tcps_conndrops);
  if (errno === ETIMEDOUT && tp.t_softerror !== 0) errno = tp.t_softerror;
  if (so !== null) so.so_error = errno;
  return tcp_close(tp);
}

/** tcp_twstart: enter TIME_WAIT for 2*MSL. */
export function tcp_twstart(tp: Tcpcb): void {
  tcp_state_change(tp, TCPS_TIME_WAIT);
  tcp_timer_stop_all(tp);
  for (const e of tp.t_segq) for (const m of e.ms) m_freem(m);
  tp.t_segq.length = 0;
  tp.t_segqlen = 0;
  tcp_timer_activate(tp, TT_2MSL, 2 * V_tcp_msl.get());
  const so = tp.t_inpcb.inp_socket;
  if (so !== null) soisdisconnected(so);
  tcp_release_socket(tp);
}

/* ------------------------------------------------------------------------------ */
/* Sequence numbers and segment sizes                                               */

function mix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x9e3779b1);
  return (h ^ (h >>> 15)) >>> 0;
}

/** tcp_new_isn (RFC 6528): F(4-tuple, secret) + a 4-microsecond clock. */
export function tcp_new_isn(laddr: number, lport: number, faddr: number, fport: number): number {
  const sec = V_tcp.get().isn_secret;
  let h = sec[0]!;
  h = mix(h, laddr);
  h = mix(h, faddr);
  h = mix(h, (lport << 16) | fport);
  h = mix(h, sec[1]!);
  h = mix(h, sec[2]!);
  const m = Math.floor(curkernel().clock.now() / 4000);
  return (h + m) >>> 0;
}

/** The interface MTU of the route to faddr (0 without one). */
export function tcp_maxmtu(faddr: number): number {
  const rt = V_rib.get().lookup(faddr);
  if (rt === null || rt.rt_ifp === null) return 0;
  const ifp = ifnet_byindex(rt.rt_ifp.if_index);
  if (ifp === null) return 0;
  return rt.rt_mtu !== 0 && rt.rt_mtu < ifp.if_mtu ? rt.rt_mtu : ifp.if_mtu;
}

/**
 * The MTU towards faddr: the route's (tcp_maxmtu), lowered to a path MTU the host
 * cache learnt (tcp_hostcache.ts) — or that alone, when there is no route.  0: none.
 */
function tcp_pathmtu(faddr: number): number {
  const mtu = tcp_maxmtu(faddr);
  const hc = tcp_hc_getmtu(faddr);
  return mtu > 0 && hc > 0 ? Math.min(mtu, hc) : Math.max(mtu, hc);
}

/** tcp_mssopt: the MSS we advertise. */
export function tcp_mssopt(faddr: number): number {
  const mtu = tcp_pathmtu(faddr);
  return mtu > 0 ? Math.max(mtu - 40, V_tcp_minmss.get()) : V_tcp_mssdflt.get();
}

/** tcp_mss(tp, offer): t_maxseg from the path MTU and the peer's MSS option (0: none). */
export function tcp_mss(tp: Tcpcb, offer: number): void {
  const inp = tp.t_inpcb;
  const mtu = tcp_pathmtu(inp.inp_faddr);
  let mss = mtu > 0 ? mtu - 40 : V_tcp_mssdflt.get();
  if (offer === 0) offer = V_tcp_mssdflt.get();
  mss = Math.min(mss, offer);
  mss = Math.max(mss, V_tcp_minmss.get());
  tp.t_maxseg = mss;
}

/* ------------------------------------------------------------------------------ */
/* Bare segments                                                                    */

/**
 * tcp_respond: send a segment with no data from laddr:lport to faddr:fport (the
 * pcb's, or the reversed addresses of a segment we answer).  ts: [tsval, tsecr] to
 * carry the timestamp option.
 */
export function tcp_respond(
  laddr: number,
  lport: number,
  faddr: number,
  fport: number,
  ack: number,
  seq: number,
  flags: number,
  win: number,
  ttl: number,
  ts: readonly [number, number] | null,
): void {
  const k = curkernel();
  const optlen = ts !== null ? 12 : 0;
  const m = k.mbpool.m_gethdr(0);
  if (m === null) return;
  const n = M_PREPEND(m, 40 + optlen);
  if (n === null) return;
  const b = mtod(n);
  b.fill(0, 0, 40 + optlen);
  const len = 40 + optlen;
  b[0] = 0x45;
  b[2] = len >>> 8;
  b[3] = len & 0xff;
  b[8] = ttl;
  b[9] = IPPROTO_TCP;
  in_addr_write(b, 12, laddr);
  in_addr_write(b, 16, faddr);
  const t = 20;
  b[t] = lport >>> 8;
  b[t + 1] = lport & 0xff;
  b[t + 2] = fport >>> 8;
  b[t + 3] = fport & 0xff;
  wr32(b, t + 4, seq);
  wr32(b, t + 8, ack);
  b[t + 12] = ((20 + optlen) >>> 2) << 4;
  b[t + 13] = flags;
  b[t + 14] = (win >>> 8) & 0xff;
  b[t + 15] = win & 0xff;
  if (ts !== null) {
    b[t + 20] = TCPOPT_NOP;
    b[t + 21] = TCPOPT_NOP;
    b[t + 22] = TCPOPT_TIMESTAMP;
    b[t + 23] = TCPOLEN_TIMESTAMP;
    wr32(b, t + 24, ts[0]);
    wr32(b, t + 28, ts[1]);
  }
  const s = in_cksum_l4(b, t, 20 + optlen, laddr, faddr, IPPROTO_TCP);
  b[t + 16] = s >>> 8;
  b[t + 17] = s & 0xff;
  TCPSTAT_INC(TCPS_.tcps_sndtotal);
  if (flags & TH_RST) TCPSTAT_INC(TCPS_.tcps_sndctrl);
  else TCPSTAT_INC(TCPS_.tcps_sndacks);
  ip_output(n, null, null, 0, null, null);
}

export function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

export function rd32(b: Uint8Array, o: number): number {
  return in_addr_read(b, o) >>> 0;
}

/** The timestamp option a bare segment of tp carries, or null. */
export function tcp_ts_of(tp: Tcpcb): [number, number] | null {
  if (!(tp.t_flags & TF_RCVD_TSTMP)) return null;
  return [tcp_ts_getticks(tp), tp.ts_recent];
}

/** Our timestamp clock for tp (ticks plus the connection's random offset). */
export function tcp_ts_getticks(tp: Tcpcb): number {
  return (get_ticks() + tp.ts_offset) >>> 0;
}

/** A bare segment of an existing connection (window from its receive buffer). */
export function tcp_respond_tp(tp: Tcpcb, ack: number, seq: number, flags: number): void {
  const inp = tp.t_inpcb;
  const so = inp.inp_socket;
  let win = so !== null ? sbspace(so.so_rcv) >> tp.rcv_scale : 0;
  if (win > TCP_MAXWIN) win = TCP_MAXWIN;
  if (flags & TH_RST) win = 0;
  tcp_respond(
    inp.inp_laddr,
    inp.inp_lport,
    inp.inp_faddr,
    inp.inp_fport,
    ack,
    seq,
    flags,
    win,
    inp.inp_ip_ttl,
    flags & TH_RST ? null : tcp_ts_of(tp),
  );
}

/** A keepalive probe: one byte below snd_una, so the peer must answer with an ACK. */
export function tcp_respond_keepalive(tp: Tcpcb): void {
  tcp_respond_tp(tp, tp.rcv_nxt, seq_add(tp.snd_una, -1), TH_ACK);
}

/* ------------------------------------------------------------------------------ */
/* ICMP errors                                                                      */

function tcp_notify(inp: Inpcb, error: number): void {
  const tp = intotcpcb(inp);
  if (tp === null || tp.t_state === TCPS_TIME_WAIT) return;
  const so = inp.inp_socket;
  if (
    tp.t_state >= TCPS_ESTABLISHED &&
    (error === EHOSTUNREACH || error === ENETUNREACH || error === EHOSTDOWN)
  )
    return;
  if (tp.t_state < TCPS_ESTABLISHED && tp.t_rxtshift > 3 && tp.t_softerror !== 0) {
    tcp_drop(tp, error);
    return;
  }
  tp.t_softerror = error;
  if (so !== null) {
    sorwakeup(so);
    sowwakeup(so);
  }
}

/**
 * tcp_mtudisc(tp, mtu): the path to the peer takes at most mtu bytes: t_maxseg comes
 * down to fit (not below net.inet.tcp.minmss, not above the send buffer), and what is
 * in flight goes again at once from snd_una in the new size (tcps_mturesent) instead of
 * waiting for the retransmission timer; SACK recovery is left with its scoreboard.
 */
export function tcp_mtudisc(tp: Tcpcb, mtu: number): void {
  tp.t_maxseg = Math.max(V_tcp_minmss.get(), Math.min(tp.t_maxseg, mtu - 40));
  const so = tp.t_inpcb.inp_socket;
  if (so !== null && so.so_snd.sb_hiwat < tp.t_maxseg) tp.t_maxseg = so.so_snd.sb_hiwat;
  TCPSTAT_INC(TCPS_.tcps_mturesent);
  tp.t_rtttime = 0;
  tp.snd_nxt = tp.snd_una;
  tcp_free_sackholes(tp);
  tp.snd_recover = tp.snd_max;
  if (tp.t_flags & TF_SACK_PERMIT) tp.t_flags &= ~TF_FASTRECOVERY;
  tcp_output(tp);
}

/** tcp_ctlinput(cmd, dst, ip, nextmtu): an ICMP error about a segment we sent. */
export function tcp_ctlinput(cmd: number, dst: in_addr_t, ip: Uint8Array, nextmtu: number): void {
  const pi = V_tcbinfo();
  if (cmd === PRC_HOSTDEAD) {
    in_pcbnotifyall(pi, dst, EHOSTDOWN, tcp_notify);
    return;
  }
  const hl = (ip[0]! & 15) << 2;
  if (ip.length < hl + 8) return;
  const src = in_addr_read(ip, 12);
  const sport = (ip[hl]! << 8) | ip[hl + 1]!;
  const dport = (ip[hl + 2]! << 8) | ip[hl + 3]!;
  const seq = rd32(ip, hl + 4);
  const inp = in_pcblookup(pi, dst, dport, src, sport, 0);
  if (inp === null) return;
  const tp = intotcpcb(inp);
  if (tp === null) return;
  /* Only an error about a sequence number in flight is believable (RFC 5927). */
  if (((seq - tp.snd_una) | 0) < 0 || ((seq - tp.snd_max) | 0) > 0) return;
  switch (cmd) {
    case PRC_UNREACH_PORT:
    case PRC_UNREACH_PROTOCOL:
      if (tp.t_state === TCPS_SYN_SENT) tcp_drop(tp, ECONNREFUSED);
      return;
    case PRC_MSGSIZE: {
      /* Path MTU discovery (RFC 1191; FreeBSD's tcp_next_pmtu): the next-hop MTU the
       * router gave, or the plateau below the datagram it could not forward; never
       * below what tcp_minmss allows; taken only when smaller than what we send. */
      let mtu = nextmtu !== 0 ? nextmtu : ip_next_mtu((ip[2]! << 8) | ip[3]!, 1);
      mtu = Math.max(mtu, V_tcp_minmss.get() + 40);
      if (mtu < tp.t_maxseg + 40) {
        tcp_hc_updatemtu(dst, mtu);
        tcp_mtudisc(tp, mtu);
      }
      return;
    }
    case PRC_UNREACH_NET:
      tcp_notify(inp, ENETUNREACH);
      return;
    case PRC_UNREACH_HOST:
      tcp_notify(inp, EHOSTUNREACH);
      return;
    default:
      tcp_notify(inp, EHOSTUNREACH);
  }
}
