/*
 * netinet/tcp_input.ts — receiving segments (FreeBSD sys/netinet/tcp_input.c and
 * tcp_reass.c).
 *
 * tcp_input (IPPROTO_TCP): length, checksum (tcps_rcvbadsum) and data offset
 * (tcps_rcvbadoff) checks, option parsing (tcp_dooptions), the pcb lookup; no pcb, or
 * a CLOSED one, is answered with RST (tcp_dropwithreset) unless net.inet.tcp.blackhole;
 * a LISTEN pcb hands SYNs, ACKs and RSTs to the syncache (tcp_syncache.ts); everything
 * else goes to tcp_do_segment, the state machine of RFC 9293 §3.10.7 in FreeBSD's
 * order:
 *
 *   SYN_SENT: an unacceptable ACK gets RST; RST with an acceptable ACK is "connection
 *   refused"; SYN+ACK establishes (window scale and timestamps take effect only when
 *   both sides offered them), a bare SYN is a simultaneous open (SYN_RECEIVED).
 *   Synchronized states (TIME_WAIT ignores RSTs, RFC 1337, as tcp_twcheck does): RST
 *   and SYN per RFC 5961 (an RST exactly at rcv_nxt resets,
 *   one elsewhere in the window gets a challenge ACK — or resets, with
 *   net.inet.tcp.insecure_rst; a SYN gets a challenge ACK), PAWS (RFC 7323 §5), trimming
 *   to the receive window (duplicates counted, a zero-window probe ACKed), the ACK
 *   (duplicate ACKs — with SACK, those that changed the scoreboard, FreeBSD 14's
 *   sack_changed, whatever their window; without, those with an unchanged window —
 *   fast retransmit, then SACK recovery (tcp_sack.ts: RFC 6675 with lost
 *   retransmission detection) or NewReno recovery with partial ACKs, RFC 6582;
 *   limited transmit, RFC 3042; RTT from timestamps or the timed segment, RFC 6298;
 *   a spurious timeout undone by Eifel, RFC 3522),
 *   FIN_WAIT_1→FIN_WAIT_2, CLOSING→TIME_WAIT, LAST_ACK→CLOSED, the send window update,
 *   then data: in order to the socket (delayed ACK: every second full segment is
 *   ACKed at once, otherwise net.inet.tcp.delacktime later), out of order into the
 *   reassembly queue (at most net.inet.tcp.reass.maxqueuelen segments), and FIN.
 *   The urgent pointer is accepted and its data delivered in line.
 *
 * Duplicate data (below rcv_nxt, or already in the reassembly queue) is reported to a
 * SACK-permitted peer as a D-SACK block (RFC 2883, tcp_sack.ts).  Segments do not
 * re-arm the keep timer (t_rcvtime is what it reads, as in FreeBSD).
 *
 * Header prediction (tcp_header_prediction) takes the two commonest segments of a bulk
 * transfer — a pure ACK for outstanding data, pure in-sequence data — before the checks
 * of tcp_do_segment, as FreeBSD's does; the option parse has FreeBSD's NOP NOP TS
 * shortcut.  ECN (RFC 3168) is tcp_ecn.ts's: the SYN-ACK's agreement, and for every
 * segment of an ECN-permitted connection the CE it carries and the ECE it echoes.
 * Deliberate differences: no TCP Fast Open, no MD5 signatures.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SYSINIT, SI_ORDER_ANY, SI_SUB_PROTO_DOMAIN } from '../sys/kernel.js';
import {
  CSUM_DATA_VALID,
  CSUM_PSEUDO_HDR,
  CSUM_TCP,
  M_BCAST,
  M_MCAST,
  m_adj,
  m_dataview,
  m_freem,
  type Mbuf,
} from '../sys/mbuf.js';
import { ECONNREFUSED, ECONNRESET } from '../sys/errno.js';
import { curkernel } from '../kern/kern_cur.js';
import { get_ticks } from '../kern/kern_clock.js';
import { BKPT } from '../kern/subr_kdb.js';
import {
  sbappendstream,
  sbavail,
  sbdrop,
  sbspace,
  socantrcvmore,
  soisconnected,
  soisdisconnected,
  sorwakeup,
  sowwakeup,
} from '../kern/uipc_sockbuf.js';
import { SBS_CANTRCVMORE } from '../sys/socketvar.js';
import { INADDR_BROADCAST, IN_MULTICAST, IPPROTO_TCP, in_addr_read, type in_addr_t } from './in.js';
import { in_cksum_l4 } from './in_cksum.js';
import { in_broadcast } from './in_var.js';
import type { Ifnet } from '../net/if_var.js';
import { INPLOOKUP_WILDCARD, in_pcblookup } from './in_pcb.js';
import { ip_protox_register } from './ip_input.js';
import { ip_ctlinput_register } from './icmp.js';
import { cc_ack_received, cc_cong_signal, cc_conn_init, cc_post_recovery } from './cc/cc.js';
import {
  CC_ACK,
  CC_DUPACK,
  CC_ECN,
  CC_NDUPACK,
  CC_PARTIALACK,
  IN_FASTRECOVERY,
  SEQ_GEQ,
  SEQ_GT,
  SEQ_LEQ,
  SEQ_LT,
  TCPOPT_EOL,
  TCPOPT_MAXSEG,
  TCPOPT_NOP,
  TCPOPT_SACK,
  TCPOPT_SACK_PERMITTED,
  TCPOPT_TIMESTAMP,
  TCPOPT_WINDOW,
  TCPS_CLOSED,
  TCPS_CLOSE_WAIT,
  TCPS_CLOSING,
  TCPS_ESTABLISHED,
  TCPS_FIN_WAIT_1,
  TCPS_FIN_WAIT_2,
  TCPS_LAST_ACK,
  TCPS_LISTEN,
  TCPS_SYN_RECEIVED,
  TCPS_SYN_SENT,
  TCPS_TIME_WAIT,
  TCPS_HAVERCVDFIN,
  TCPSTAT_ADD,
  TCPSTAT_INC,
  TCPS_,
  TCPTV_REXMTMAX,
  TCP_DELTA_SHIFT,
  TCP_MAX_WINSHIFT,
  TCP_REXMTVAL,
  TCP_RTTVAR_SHIFT,
  TCP_RTT_SHIFT,
  TCPT_RANGESET,
  TF_ACKNOW,
  TF_CONGRECOVERY,
  TF_DELACK,
  TF_FASTRECOVERY,
  TF_NEEDFIN,
  TF_NEEDSYN,
  TF_PREVVALID,
  TF_RCVD_SCALE,
  TF_RCVD_TSTMP,
  TF_REQ_SCALE,
  TF_REQ_TSTMP,
  TF_RXWIN0SENT,
  TF_SACK_PERMIT,
  TF_SENTFIN,
  TF2_ECN_PERMIT,
  TH_ACK,
  TH_FIN,
  TH_PUSH,
  TH_RST,
  TH_SYN,
  TH_URG,
  TT_2MSL,
  TT_DELACK,
  TT_KEEP,
  TT_PERSIST,
  TT_REXMT,
  V_tcp_ack_war_cnt,
  V_tcp_ack_war_timewindow,
  V_tcp_blackhole,
  V_tcp_delacktime,
  V_tcp_delack_enabled,
  V_tcp_do_autorcvbuf,
  V_tcp_autorcvbuf_max,
  V_tcp_do_prr,
  V_tcp_do_rfc3042,
  V_tcp_finwait2_timeout,
  V_tcp_insecure_rst,
  V_tcp_reass_maxqueuelen,
  intotcpcb,
  seq_add,
  seq_sub,
  tcp_maxseg,
  type Tcpcb,
  type TsegQent,
} from './tcp_var.js';
import {
  V_tcbinfo,
  V_tcp,
  rd32,
  tcp_close,
  tcp_ctlinput,
  tcp_drop,
  tcp_mss,
  tcp_respond,
  tcp_respond_tp,
  tcp_state_change,
  tcp_twstart,
} from './tcp_subr.js';
import { tcp_output } from './tcp_output.js';
import { tcp_timer_activate, tcp_timer_active, TP_KEEPIDLE } from './tcp_timer.js';
import { syncache_add, syncache_chkrst, syncache_expand } from './tcp_syncache.js';
import {
  tcp_clean_sackreport,
  tcp_dsack_report,
  tcp_free_sackholes,
  tcp_prr_cwnd,
  tcp_prr_start,
  tcp_sack_doack,
  tcp_sack_lost_retransmission,
  tcp_sack_pipe,
  tcp_sack_rescue,
  tcp_sack_active,
  tcp_sack_restart,
  tcp_sack_sacked_bytes,
  tcp_update_sack_list,
} from './tcp_sack.js';
import { sbreserve } from '../kern/uipc_sockbuf.js';
import {
  tcp_ecn_input_parallel_syn,
  tcp_ecn_input_segment,
  tcp_ecn_input_syn_sent,
} from './tcp_ecn.js';
import { SB_AUTOSIZE } from '../sys/socketvar.js';

export const K = new ObjFile('netinet/tcp_input.ts', VIMAGEID('src/netinet/tcp_input.ts'));
const S_tcp_input = K.TEXT('tcp_input');
const S_tcp_do_segment = K.TEXT('tcp_do_segment');

SYSINIT(K, 'tcp_register', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  const k = curkernel();
  ip_protox_register(k, IPPROTO_TCP, tcp_input);
  ip_ctlinput_register(k, IPPROTO_TCP, tcp_ctlinput);
});

/* struct tcpopt (to_flags) */
export const TOF_MSS = 0x0001;
export const TOF_SCALE = 0x0002;
export const TOF_SACKPERM = 0x0004;
export const TOF_TS = 0x0010;
export const TOF_SACK = 0x0080;

export interface TcpOpt {
  to_flags: number;
  to_mss: number;
  to_wscale: number;
  to_tsval: number;
  to_tsecr: number;
  to_nsacks: number;
  /** The SACK blocks, [start, end). */
  to_sacks: [number, number][];
}

/** A parsed segment: addresses and header fields in host order. */
export interface TcpSeg {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  /** Data bytes (after the TCP header). */
  tlen: number;
  /** Offset of the data in the mbuf. */
  doff: number;
  ttl: number;
  /** The IP header's TOS byte (its ECN field, tcp_ecn.ts). */
  iptos: number;
}

/** The to_sacks of a segment without SACK blocks (shared: frozen, never written). */
const NO_SACKS = Object.freeze([]) as unknown as [number, number][];

/** tcp_dooptions: parse cnt option bytes at b[off]; MSS, WS and SACK-permitted only on a SYN. */
export function tcp_dooptions(b: Uint8Array, off: number, cnt: number, syn: boolean): TcpOpt {
  const to: TcpOpt = {
    to_flags: 0,
    to_mss: 0,
    to_wscale: 0,
    to_tsval: 0,
    to_tsecr: 0,
    to_nsacks: 0,
    to_sacks: NO_SACKS,
  };
  /* The layout every segment of a timestamping connection has, NOP NOP TS (RFC 7323
   * appendix A, FreeBSD's TCPOPT_TSTAMP_HDR test): read it without the walk. */
  if (
    cnt === 12 &&
    b[off] === TCPOPT_NOP &&
    b[off + 1] === TCPOPT_NOP &&
    b[off + 2] === TCPOPT_TIMESTAMP &&
    b[off + 3] === 10
  ) {
    to.to_flags = TOF_TS;
    to.to_tsval = rd32(b, off + 4);
    to.to_tsecr = rd32(b, off + 8);
    return to;
  }
  let i = 0;
  while (i < cnt) {
    const opt = b[off + i]!;
    if (opt === TCPOPT_EOL) break;
    if (opt === TCPOPT_NOP) {
      i++;
      continue;
    }
    if (cnt - i < 2) break;
    const optlen = b[off + i + 1]!;
    if (optlen < 2 || optlen > cnt - i) break;
    const p = off + i;
    switch (opt) {
      case TCPOPT_MAXSEG:
        if (optlen === 4 && syn) {
          to.to_flags |= TOF_MSS;
          to.to_mss = (b[p + 2]! << 8) | b[p + 3]!;
        }
        break;
      case TCPOPT_WINDOW:
        if (optlen === 3 && syn) {
          to.to_flags |= TOF_SCALE;
          to.to_wscale = Math.min(b[p + 2]!, TCP_MAX_WINSHIFT);
        }
        break;
      case TCPOPT_TIMESTAMP:
        if (optlen === 10) {
          to.to_flags |= TOF_TS;
          to.to_tsval = rd32(b, p + 2);
          to.to_tsecr = rd32(b, p + 6);
        }
        break;
      case TCPOPT_SACK_PERMITTED:
        if (optlen === 2 && syn) to.to_flags |= TOF_SACKPERM;
        break;
      case TCPOPT_SACK:
        if (optlen > 2 && (optlen - 2) % 8 === 0 && !syn) {
          to.to_flags |= TOF_SACK;
          to.to_nsacks = (optlen - 2) / 8;
          to.to_sacks = [];
          for (let j = 0; j < to.to_nsacks; j++)
            to.to_sacks.push([rd32(b, p + 2 + 8 * j), rd32(b, p + 6 + 8 * j)]);
        }
        break;
    }
    i += optlen;
  }
  return to;
}

/**
 * tcp_dropwithreset: answer a segment with RST (never a RST, nor a broadcast or
 * multicast).  With an ACK the RST takes its number; otherwise it acknowledges the
 * segment.  Consumes m.
 */
export function tcp_dropwithreset(m: Mbuf, th: TcpSeg, tp: Tcpcb | null): void {
  const bcast = tcp_bcast(m, th);
  m_freem(m);
  if (th.flags & TH_RST || bcast) return;
  const ttl = tp !== null ? tp.t_inpcb.inp_ip_ttl : 64;
  if (th.flags & TH_ACK)
    tcp_respond(th.dst, th.dport, th.src, th.sport, 0, th.ack, TH_RST, 0, ttl, null);
  else {
    let ack = seq_add(th.seq, th.tlen);
    if (th.flags & TH_SYN) ack = seq_add(ack, 1);
    if (th.flags & TH_FIN) ack = seq_add(ack, 1);
    tcp_respond(th.dst, th.dport, th.src, th.sport, ack, 0, TH_RST | TH_ACK, 0, ttl, null);
  }
}

/** tcp_input(m, hlen): a TCP segment for us.  Consumes m. */
export function tcp_input(m: Mbuf, hlen: number): void {
  BKPT(S_tcp_input);
  TCPSTAT_INC(TCPS_.tcps_rcvtotal);
  /* The datagram in place, b[o...] (no view made per segment); the TCP header at t. */
  const b = m.m_buf;
  const o = m.m_data;
  const t = o + hlen;
  const iplen = m.len;
  if (iplen < hlen + 20) {
    TCPSTAT_INC(TCPS_.tcps_rcvshort);
    m_freem(m);
    return;
  }
  const src = in_addr_read(b, o + 12);
  const dst = in_addr_read(b, o + 16);
  const tcplen = iplen - hlen;
  /* The interface may have checked it already (lo0: CSUM_DATA_VALID | CSUM_PSEUDO_HDR),
   * or the sender left it to an interface (CSUM_TCP still set: epair's TXCSUM) and the
   * segment never left this host, so there is nothing to check (FreeBSD since D51475). */
  const valid =
    (m.csum_flags & (CSUM_DATA_VALID | CSUM_PSEUDO_HDR)) === (CSUM_DATA_VALID | CSUM_PSEUDO_HDR) ||
    (m.csum_flags & CSUM_TCP) !== 0;
  if (!valid && in_cksum_l4(b, t, tcplen, src, dst, IPPROTO_TCP, m_dataview(m)) !== 0) {
    TCPSTAT_INC(TCPS_.tcps_rcvbadsum);
    m_freem(m);
    return;
  }
  const thoff = (b[t + 12]! >>> 4) << 2;
  if (thoff < 20 || thoff > tcplen) {
    TCPSTAT_INC(TCPS_.tcps_rcvbadoff);
    m_freem(m);
    return;
  }
  const th: TcpSeg = {
    src,
    dst,
    sport: (b[t]! << 8) | b[t + 1]!,
    dport: (b[t + 2]! << 8) | b[t + 3]!,
    seq: rd32(b, t + 4),
    ack: rd32(b, t + 8),
    flags: b[t + 13]!,
    win: (b[t + 14]! << 8) | b[t + 15]!,
    tlen: tcplen - thoff,
    doff: hlen + thoff,
    ttl: b[o + 8]!,
    iptos: b[o + 1]!,
  };
  const to = tcp_dooptions(b, t + 20, thoff - 20, (th.flags & TH_SYN) !== 0);
  const inp = in_pcblookup(V_tcbinfo(), src, th.sport, dst, th.dport, INPLOOKUP_WILDCARD);
  const tp = inp !== null ? intotcpcb(inp) : null;
  if (inp === null || tp === null || tp.t_state === TCPS_CLOSED) {
    if (V_tcp_blackhole.get() !== 0 && (th.flags & TH_SYN || V_tcp_blackhole.get() >= 2)) {
      m_freem(m);
      return;
    }
    tcp_dropwithreset(m, th, null);
    return;
  }
  if (inp.inp_ip_minttl !== 0 && inp.inp_ip_minttl > th.ttl) {
    m_freem(m);
    return;
  }
  if (tp.t_state === TCPS_LISTEN) {
    /* A connection is never made to or from a broadcast or multicast address (RFC 1122
     * §4.2.3.10); FreeBSD looks only here and before a reset, as no other pcb can match
     * such a segment. */
    if (tcp_bcast(m, th)) {
      m_freem(m);
      return;
    }
    tcp_listen_input(tp, m, th, to);
    return;
  }
  tcp_do_segment(tp, m, th, to);
}

/** To or from a broadcast or multicast address, at the link or IP layer. */
function tcp_bcast(m: Mbuf, th: TcpSeg): boolean {
  return (
    (m.m_flags & (M_BCAST | M_MCAST)) !== 0 ||
    IN_MULTICAST(th.dst) ||
    IN_MULTICAST(th.src) ||
    th.src === INADDR_BROADCAST ||
    in_broadcast(th.dst as in_addr_t, m.rcvif as Ifnet | null)
  );
}

/** A segment for a listening socket: the syncache's business (FreeBSD's LISTEN case). */
function tcp_listen_input(tp: Tcpcb, m: Mbuf, th: TcpSeg, to: TcpOpt): void {
  const so = tp.t_inpcb.inp_socket;
  if (so === null) {
    m_freem(m);
    return;
  }
  const f = th.flags & (TH_SYN | TH_ACK | TH_RST | TH_FIN);
  if (f & TH_RST) {
    syncache_chkrst(th);
    m_freem(m);
    return;
  }
  if (f & TH_ACK) {
    if (f & TH_SYN) {
      /* SYN+ACK to a listener: reset (tcps_badsyn). */
      TCPSTAT_INC(TCPS_.tcps_badsyn);
      tcp_dropwithreset(m, th, tp);
      return;
    }
    const ntp = syncache_expand(tp, th, to);
    if (ntp === null) {
      /* Not one of ours (or the listen queue is full): reset, as FreeBSD does. */
      tcp_dropwithreset(m, th, tp);
      return;
    }
    tcp_do_segment(ntp, m, th, to);
    return;
  }
  if (!(f & TH_SYN) || f & TH_FIN) {
    if (f & TH_SYN) TCPSTAT_INC(TCPS_.tcps_badsyn);
    m_freem(m);
    return;
  }
  syncache_add(tp, th, to);
  m_freem(m);
}

/* ------------------------------------------------------------------------------ */
/* RTT                                                                              */

/** tcp_xmit_timer(tp, rtt): a new RTT sample in ticks (RFC 6298). */
export function tcp_xmit_timer(tp: Tcpcb, rtt: number): void {
  TCPSTAT_INC(TCPS_.tcps_rttupdated);
  tp.t_rttupdated++;
  if (tp.t_srtt !== 0) {
    let delta = ((rtt - 1) << TCP_DELTA_SHIFT) - (tp.t_srtt >> (TCP_RTT_SHIFT - TCP_DELTA_SHIFT));
    if ((tp.t_srtt += delta) <= 0) tp.t_srtt = 1;
    if (delta < 0) delta = -delta;
    delta -= tp.t_rttvar >> (TCP_RTTVAR_SHIFT - TCP_DELTA_SHIFT);
    if ((tp.t_rttvar += delta) <= 0) tp.t_rttvar = 1;
  } else {
    tp.t_srtt = rtt << TCP_RTT_SHIFT;
    tp.t_rttvar = rtt << (TCP_RTTVAR_SHIFT - 1);
  }
  tp.t_rtttime = 0;
  tp.t_rxtshift = 0;
  tp.t_rxtcur = TCPT_RANGESET(TCP_REXMTVAL(tp), Math.max(tp.t_rttmin, rtt + 2), TCPTV_REXMTMAX);
  tp.t_softerror = 0;
}

/* ------------------------------------------------------------------------------ */
/* Reassembly (tcp_reass.c)                                                         */

/** Free a queue entry's data. */
function tseg_free(e: TsegQent): void {
  for (const m of e.ms) m_freem(m);
  e.ms.length = 0;
}

/** Drop n bytes from the front of an entry. */
function tseg_trim_front(e: TsegQent, n: number): void {
  while (n > 0 && e.ms.length > 0) {
    const m = e.ms[0]!;
    if (m.m_len <= n) {
      n -= m.m_len;
      e.len -= m.m_len;
      e.seq = seq_add(e.seq, m.m_len);
      e.ms.shift();
      m_freem(m);
    } else {
      m_adj(m, n);
      e.len -= n;
      e.seq = seq_add(e.seq, n);
      n = 0;
    }
  }
}

/**
 * tcp_reass(tp, seq, m, len, fin): queue an out-of-order segment (m holds just its
 * data), then deliver whatever is now in order.  Returns TH_FIN when the FIN was
 * reached.  m null: only deliver.
 *
 * As FreeBSD 14's tcp_reass, adjacent data is kept in one queue entry, so
 * net.inet.tcp.reass.maxqueuelen limits the number of holes, and the bytes queued
 * (t_segqlen) may not exceed the receive buffer's room or the window we advertised,
 * whichever is more (tcps_rcvreassfull).
 */
function tcp_reass(tp: Tcpcb, seq: number, m: Mbuf | null, len: number, fin: boolean): number {
  const so = tp.t_inpcb.inp_socket!;
  if (m !== null) {
    const q = tp.t_segq;
    /* Room: the buffer's, or the window we advertised if that is more (data inside
     * the advertised window is never refused; the reader may simply not have run). */
    const room = Math.max(sbspace(so.so_rcv), seq_sub(tp.rcv_adv, tp.rcv_nxt));
    if (
      seq !== tp.rcv_nxt &&
      (tp.t_segqlen + len > room || q.length >= V_tcp_reass_maxqueuelen.get())
    ) {
      TCPSTAT_INC(TCPS_.tcps_rcvreassfull);
      m_freem(m);
      return 0;
    }
    /* Trim what the previous entry already covers. */
    let i = 0;
    while (i < q.length && SEQ_LT(q[i]!.seq, seq)) i++;
    const prev = q[i - 1];
    if (prev !== undefined) {
      const over = seq_sub(seq_add(prev.seq, prev.len), seq);
      if (over > 0) {
        /* Data the queue already holds: a duplicate to report (D-SACK, RFC 2883 §4.1.2). */
        if (tp.t_flags & TF_SACK_PERMIT)
          tcp_dsack_report(tp, seq, seq_add(seq, Math.min(over, len)));
        if (over >= len) {
          TCPSTAT_INC(TCPS_.tcps_rcvduppack);
          TCPSTAT_ADD(TCPS_.tcps_rcvdupbyte, len);
          m_freem(m);
          if (fin) prev.fin = true;
          return tcp_reass(tp, 0, null, 0, false);
        }
        m_adj(m, over);
        seq = seq_add(seq, over);
        len -= over;
      }
    }
    /* Later entries the new data covers go; a partly covered one is trimmed. */
    while (i < q.length) {
      const nx = q[i]!;
      const over = seq_sub(seq_add(seq, len), nx.seq);
      if (over <= 0) break;
      if (tp.t_flags & TF_SACK_PERMIT)
        tcp_dsack_report(tp, nx.seq, seq_add(nx.seq, Math.min(over, nx.len)));
      if (over < nx.len) {
        tp.t_segqlen -= over;
        tseg_trim_front(nx, over);
        break;
      }
      tp.t_segqlen -= nx.len;
      if (nx.fin) fin = true;
      tseg_free(nx);
      q.splice(i, 1);
    }
    TCPSTAT_INC(TCPS_.tcps_rcvoopack);
    TCPSTAT_ADD(TCPS_.tcps_rcvoobyte, len);
    tp.t_rcvoopack++;
    tp.t_segqlen += len;
    /* Join the previous entry, the next one, or stand alone. */
    const before = q[i - 1];
    let at: TsegQent;
    if (before !== undefined && seq_add(before.seq, before.len) === seq && !before.fin) {
      before.ms.push(m);
      before.len += len;
      before.fin = fin;
      at = before;
      i--;
    } else {
      at = { seq, len, fin, ms: [m] };
      q.splice(i, 0, at);
    }
    const after = q[i + 1];
    if (after !== undefined && seq_add(at.seq, at.len) === after.seq && !at.fin) {
      at.ms.push(...after.ms);
      at.len += after.len;
      at.fin = after.fin;
      q.splice(i + 1, 1);
    }
  }
  if (tp.t_state < TCPS_ESTABLISHED) return 0;
  let flags = 0;
  const q = tp.t_segq;
  let delivered = false;
  while (q.length > 0 && q[0]!.seq === tp.rcv_nxt) {
    const e = q.shift()!;
    tp.t_segqlen -= e.len;
    tp.rcv_nxt = seq_add(tp.rcv_nxt, e.len);
    for (const d of e.ms) {
      if (so.so_rcv.sb_state & SBS_CANTRCVMORE || d.m_len === 0) m_freem(d);
      else {
        sbappendstream(so.so_rcv, d);
        delivered = true;
      }
    }
    if (e.fin) {
      flags = TH_FIN;
      break;
    }
  }
  if (delivered) sorwakeup(so);
  return flags;
}

/* ------------------------------------------------------------------------------ */
/* The state machine                                                                */

/** Challenge ACK (RFC 5961 §3.2, §4.2), rate limited per vnet (tcp_ack_war_*). */
function tcp_send_challenge_ack(tp: Tcpcb): void {
  if (!tcp_ack_war_check()) return;
  TCPSTAT_INC(TCPS_.tcps_challenge_acks);
  tcp_respond_tp(tp, tp.rcv_nxt, tp.snd_nxt, TH_ACK);
}

/**
 * ACK throttling (RFC 5961 §7; net.inet.tcp.ack_war_timewindow, ack_war_cnt): may one
 * more ACK that answers an unacceptable segment go out in this window?
 */
function tcp_ack_war_check(): boolean {
  const st = V_tcp.get();
  const now = get_ticks();
  if (now - st.ack_war_start >= V_tcp_ack_war_timewindow.get()) {
    st.ack_war_start = now;
    st.ack_war_cnt = 0;
  }
  if (st.ack_war_cnt >= V_tcp_ack_war_cnt.get()) return false;
  st.ack_war_cnt++;
  return true;
}

/** Receive buffer autotuning (FreeBSD's tcp_autorcvbuf): grow when a window's worth arrived. */
function tcp_autorcvbuf(tp: Tcpcb, tlen: number): void {
  const so = tp.t_inpcb.inp_socket!;
  const sb = so.so_rcv;
  if (V_tcp_do_autorcvbuf.get() === 0 || !(sb.sb_flags & SB_AUTOSIZE)) return;
  if (sbavail(sb) + tlen >= (sb.sb_hiwat / 8) * 7 && sb.sb_hiwat < V_tcp_autorcvbuf_max.get())
    sbreserve(sb, Math.min(sb.sb_hiwat * 2, V_tcp_autorcvbuf_max.get()));
}

/** DELAY_ACK(tp, tlen): may this segment's ACK wait? */
function DELAY_ACK(tp: Tcpcb, tlen: number): boolean {
  return (
    !tcp_timer_active(tp, TT_DELACK) &&
    !(tp.t_flags & TF_RXWIN0SENT) &&
    tlen <= tp.t_maxseg &&
    (V_tcp_delack_enabled.get() !== 0 || (tp.t_flags & TF_NEEDSYN) !== 0)
  );
}

/** The connection is up: from SYN_SENT (SYN+ACK) or SYN_RECEIVED (the ACK). */
function tcp_established(tp: Tcpcb): void {
  const so = tp.t_inpcb.inp_socket;
  TCPSTAT_INC(TCPS_.tcps_connects);
  if (tp.t_flags & TF_NEEDFIN) {
    tcp_state_change(tp, TCPS_FIN_WAIT_1);
    tp.t_flags &= ~TF_NEEDFIN;
  } else {
    tcp_state_change(tp, TCPS_ESTABLISHED);
    tcp_timer_activate(tp, TT_KEEP, TP_KEEPIDLE(tp));
  }
  cc_conn_init(tp);
  if (so !== null) soisconnected(so);
}

/**
 * Header prediction (FreeBSD's fast path at the top of tcp_do_segment, Van Jacobson's
 * idea; RFC 9293 §3.10.7.4 in its two commonest cases).  On an ESTABLISHED connection
 * with nothing unusual going on, almost every segment is one of:
 *
 *   - a pure ACK for outstanding data (the sender of a bulk transfer): no data, the
 *     window unchanged, acknowledging new data up to at most snd_max, outside any
 *     recovery, with no SACK blocks and an empty scoreboard;
 *   - pure in-sequence data (its receiver): exactly at rcv_nxt, acknowledging nothing
 *     new, with an empty reassembly queue and room for all of it in the buffer.
 *
 * Both are the slow path's outcome without its checks: nothing to trim, no RST/SYN,
 * PAWS passed, no window change, no state change.  The preconditions are FreeBSD's
 * (state, flags exactly ACK [+PSH], seq = rcv_nxt, snd_nxt = snd_max, a non-zero
 * window equal to snd_wnd, no NEEDSYN/NEEDFIN, empty reassembly queue, timestamp not
 * older than ts_recent), plus ours: no TF_PREVVALID (the first ACK after a timeout goes
 * the slow way, which runs the Eifel check and clears it) and, for an ACK, no
 * congestion recovery of either kind (FreeBSD's IN_RECOVERY).  The effects are the
 * slow path's, step for step: ts_recent, RTT sample, the retransmission timer, cc, the
 * send buffer, snd_una/snd_wl1/snd_wl2; for data, the delayed-ACK rule, rcv_nxt,
 * receive-buffer autotuning, the append and the reader's wakeup.  As in FreeBSD, a
 * data segment calls tcp_output only when its ACK may not wait (the slow path's window
 * bookkeeping would call it for every segment to find nothing to send).
 * tcps_predack / tcps_preddat count the segments taken.
 *
 * m holds only the data (tcp_do_segment stripped the headers), to_tsecr is already
 * relative to ts_offset.  Returns false, touching nothing, when the slow path must
 * run; true when it consumed m.
 */
function tcp_header_prediction(
  tp: Tcpcb,
  m: Mbuf,
  th: TcpSeg,
  to: TcpOpt,
  tiwin: number,
  now: number,
): boolean {
  if (
    tp.t_state !== TCPS_ESTABLISHED ||
    (th.flags & (TH_SYN | TH_FIN | TH_RST | TH_URG | TH_ACK)) !== TH_ACK ||
    th.seq !== tp.rcv_nxt ||
    tp.snd_nxt !== tp.snd_max ||
    tiwin === 0 ||
    tiwin !== tp.snd_wnd ||
    tp.t_flags & (TF_NEEDSYN | TF_NEEDFIN | TF_PREVVALID) ||
    tp.t_segq.length !== 0 ||
    (to.to_flags & TOF_TS && tp.ts_recent !== 0 && SEQ_LT(to.to_tsval, tp.ts_recent))
  )
    return false;
  const so = tp.t_inpcb.inp_socket;
  if (so === null) return false;
  const tlen = th.tlen;
  if (tlen === 0) {
    if (
      !SEQ_GT(th.ack, tp.snd_una) ||
      SEQ_GT(th.ack, tp.snd_max) ||
      tp.t_flags & (TF_FASTRECOVERY | TF_CONGRECOVERY) ||
      to.to_flags & TOF_SACK ||
      tp.t_sacked.length !== 0
    )
      return false;
    const acked = seq_sub(th.ack, tp.snd_una);
    const snd = so.so_snd;
    /* Our FIN is not in flight in ESTABLISHED; if the buffer disagrees, look closer. */
    if (acked > sbavail(snd)) return false;
    TCPSTAT_INC(TCPS_.tcps_predack);
    if (to.to_flags & TOF_TS && th.seq === tp.last_ack_sent) {
      tp.ts_recent_age = now;
      tp.ts_recent = to.to_tsval;
    }
    tp.t_dupacks = 0;
    TCPSTAT_INC(TCPS_.tcps_rcvackpack);
    TCPSTAT_ADD(TCPS_.tcps_rcvackbyte, acked);
    if (to.to_flags & TOF_TS && to.to_tsecr !== 0)
      tcp_xmit_timer(tp, ((now - to.to_tsecr) | 0) + 1);
    else if (tp.t_rtttime !== 0 && SEQ_GT(th.ack, tp.t_rtseq))
      tcp_xmit_timer(tp, now - tp.t_rtttime);
    if (th.ack === tp.snd_max) tcp_timer_activate(tp, TT_REXMT, 0);
    else if (!tcp_timer_active(tp, TT_PERSIST)) tcp_timer_activate(tp, TT_REXMT, tp.t_rxtcur);
    cc_ack_received(tp, Math.max(1, Math.ceil(acked / tcp_maxseg(tp))), CC_ACK, acked);
    sbdrop(snd, acked);
    tp.snd_una = th.ack;
    /* Pulled up with the ACK so they never fall a sequence-space half behind. */
    tp.snd_wl1 = th.seq;
    tp.snd_wl2 = th.ack;
    m_freem(m);
    sowwakeup(so);
    if (tp.sackblks.length > 0) tcp_clean_sackreport(tp);
    /* The ACK opened the window: what is waiting goes now (or the persist timer). */
    tcp_output(tp);
  } else {
    const rcv = so.so_rcv;
    if (th.ack !== tp.snd_una || tlen > sbspace(rcv)) return false;
    TCPSTAT_INC(TCPS_.tcps_preddat);
    if (
      to.to_flags & TOF_TS &&
      SEQ_LEQ(th.seq, tp.last_ack_sent) &&
      SEQ_LEQ(tp.last_ack_sent, seq_add(th.seq, tlen))
    ) {
      tp.ts_recent_age = now;
      tp.ts_recent = to.to_tsval;
    }
    if (SEQ_LT(tp.snd_wl1, th.seq) || (tp.snd_wl1 === th.seq && SEQ_LT(tp.snd_wl2, th.ack))) {
      tp.snd_wl1 = th.seq;
      tp.snd_wl2 = th.ack;
    }
    if (DELAY_ACK(tp, tlen)) tp.t_flags |= TF_DELACK;
    else tp.t_flags |= TF_ACKNOW;
    tp.rcv_nxt = seq_add(tp.rcv_nxt, tlen);
    TCPSTAT_INC(TCPS_.tcps_rcvpack);
    TCPSTAT_ADD(TCPS_.tcps_rcvbyte, tlen);
    tcp_autorcvbuf(tp, tlen);
    if (rcv.sb_state & SBS_CANTRCVMORE) m_freem(m);
    else {
      sbappendstream(rcv, m);
      sorwakeup(so);
    }
    if (tp.sackblks.length > 0) tcp_clean_sackreport(tp);
    if (tp.t_flags & TF_ACKNOW) tcp_output(tp);
  }
  /* FreeBSD's check_delack. */
  if (tp.t_flags & TF_DELACK) {
    tp.t_flags &= ~TF_DELACK;
    tcp_timer_activate(tp, TT_DELACK, V_tcp_delacktime.get());
  }
  return true;
}

/** tcp_do_segment(tp, m, th, to): the segment for a synchronized or connecting pcb. */
export function tcp_do_segment(tp: Tcpcb, m: Mbuf, th: TcpSeg, to: TcpOpt): void {
  BKPT(S_tcp_do_segment);
  const inp = tp.t_inpcb;
  const so = inp.inp_socket;
  let thflags = th.flags;
  let tlen = th.tlen;
  let needoutput = false;
  const now = get_ticks();

  /* Segment received: the connection is not idle (the keep timer reads t_rcvtime when it
   * fires instead of being re-armed for every segment, as in FreeBSD). */
  tp.t_rcvtime = now;
  /* The receive window: the buffer's room, never less than what we advertised. */
  tp.rcv_wnd = Math.max(so !== null ? sbspace(so.so_rcv) : 0, seq_sub(tp.rcv_adv, tp.rcv_nxt), 0);
  /* The window in the header is scaled except on a SYN. */
  const tiwin = thflags & TH_SYN ? th.win : th.win << tp.snd_scale;

  /* Strip the headers: m holds the data from here on. */
  m_adj(m, th.doff);

  /* Timestamps: our clock's echo is relative to ts_offset. */
  if (to.to_flags & TOF_TS && to.to_tsecr !== 0) to.to_tsecr = (to.to_tsecr - tp.ts_offset) >>> 0;

  /* ECN (RFC 3168, tcp_ecn.ts): every segment of an ECN-permitted connection, before
   * header prediction as in FreeBSD — a CE makes our ACKs echo ECE, an ECE is a
   * congestion signal (acted on once per window). */
  if (tp.t_flags2 & TF2_ECN_PERMIT && tcp_ecn_input_segment(tp, thflags, th.iptos))
    cc_cong_signal(tp, CC_ECN);

  /* The common cases of a bulk transfer, without the checks below. */
  if (tcp_header_prediction(tp, m, th, to, tiwin, now)) return;

  if (tp.t_state === TCPS_SYN_SENT) {
    if (thflags & TH_ACK && (SEQ_LEQ(th.ack, tp.iss) || SEQ_GT(th.ack, tp.snd_max))) {
      tcp_dropwithreset(m, th, tp);
      return;
    }
    if (thflags & TH_RST) {
      if (thflags & TH_ACK) tcp_drop(tp, ECONNREFUSED);
      m_freem(m);
      return;
    }
    if (!(thflags & TH_SYN)) {
      m_freem(m);
      return;
    }
    /* Negotiate the options of the SYN(+ACK). */
    if (to.to_flags & TOF_SCALE && tp.t_flags & TF_REQ_SCALE) {
      tp.t_flags |= TF_RCVD_SCALE;
      tp.snd_scale = to.to_wscale;
      tp.rcv_scale = tp.request_r_scale;
    }
    if (to.to_flags & TOF_TS && tp.t_flags & TF_REQ_TSTMP) {
      tp.t_flags |= TF_RCVD_TSTMP;
      tp.ts_recent = to.to_tsval;
      tp.ts_recent_age = now;
    }
    if (to.to_flags & TOF_SACKPERM) tp.t_flags |= TF_SACK_PERMIT;
    if (thflags & TH_ACK) tcp_ecn_input_syn_sent(tp, thflags);
    else tcp_ecn_input_parallel_syn(tp, thflags);
    tcp_mss(tp, to.to_flags & TOF_MSS ? to.to_mss : 0);
    tp.irs = th.seq;
    tp.rcv_nxt = tp.rcv_adv = seq_add(th.seq, 1);
    if (thflags & TH_ACK) {
      tp.snd_una = th.ack;
      tp.snd_wnd = th.win << tp.snd_scale;
      tp.snd_wl1 = th.seq;
      tp.snd_wl2 = th.ack;
      tp.max_sndwnd = tp.snd_wnd;
      if (SEQ_LT(tp.snd_nxt, tp.snd_una)) tp.snd_nxt = tp.snd_una;
      if (tp.t_rtttime !== 0) tcp_xmit_timer(tp, now - tp.t_rtttime);
      tcp_timer_activate(tp, TT_REXMT, 0);
      if (to.to_flags & TOF_TS && to.to_tsecr !== 0)
        tcp_xmit_timer(tp, ((now - to.to_tsecr) | 0) + 1);
      tp.t_flags |= TF_ACKNOW;
      tcp_established(tp);
    } else {
      /* Simultaneous open (RFC 9293 §3.5 figure 7): SYN_RECEIVED, SYN+ACK goes out. */
      tp.t_flags |= TF_ACKNOW;
      tcp_timer_activate(tp, TT_REXMT, 0);
      tcp_state_change(tp, TCPS_SYN_RECEIVED);
      tp.snd_nxt = tp.snd_una;
    }
    /* Data on the SYN is trimmed to the window and kept (RFC 9293 allows it). */
    th.seq = seq_add(th.seq, 1);
    if (tlen > tp.rcv_wnd) {
      m_adj(m, tp.rcv_wnd - tlen);
      tlen = tp.rcv_wnd;
      thflags &= ~TH_FIN;
      TCPSTAT_INC(TCPS_.tcps_rcvpackafterwin);
    }
    tp.snd_wl1 = seq_add(th.seq, -1);
    tp.rcv_up = th.seq;
    if (!(thflags & TH_ACK)) {
      m_freem(m);
      tcp_output(tp);
      return;
    }
    thflags &= ~TH_SYN;
    /* Fall into the data processing (step 6). */
    return tcp_step6(tp, m, th, to, thflags, tlen, tiwin, true);
  }

  /* RST (RFC 5961 §3.2).  TIME_WAIT ignores it (tcp_twcheck; RFC 1337). */
  if (thflags & TH_RST) {
    if (tp.t_state === TCPS_TIME_WAIT) {
      m_freem(m);
      return;
    }
    const inwin =
      (SEQ_GEQ(th.seq, tp.last_ack_sent) &&
        SEQ_LT(th.seq, seq_add(tp.last_ack_sent, tp.rcv_wnd))) ||
      (tp.rcv_wnd === 0 && th.seq === tp.last_ack_sent);
    if (inwin) {
      if (V_tcp_insecure_rst.get() !== 0 || tp.last_ack_sent === th.seq || tp.rcv_nxt === th.seq) {
        TCPSTAT_INC(TCPS_.tcps_drops);
        switch (tp.t_state) {
          case TCPS_SYN_RECEIVED:
            if (so !== null) so.so_error = ECONNREFUSED;
            tcp_close(tp);
            break;
          case TCPS_ESTABLISHED:
          case TCPS_FIN_WAIT_1:
          case TCPS_FIN_WAIT_2:
          case TCPS_CLOSE_WAIT:
            if (so !== null) so.so_error = ECONNRESET;
            tcp_close(tp);
            break;
          default:
            tcp_close(tp);
        }
      } else {
        TCPSTAT_INC(TCPS_.tcps_badrst);
        tcp_send_challenge_ack(tp);
      }
    } else TCPSTAT_INC(TCPS_.tcps_badrst);
    m_freem(m);
    return;
  }

  /* SYN in a synchronized state (RFC 5961 §4.2): challenge ACK. */
  if (thflags & TH_SYN && tp.t_state !== TCPS_SYN_RECEIVED) {
    TCPSTAT_INC(TCPS_.tcps_badsyn);
    tcp_send_challenge_ack(tp);
    m_freem(m);
    return;
  }
  if (thflags & TH_SYN && tp.t_state === TCPS_SYN_RECEIVED && th.seq !== tp.irs) {
    TCPSTAT_INC(TCPS_.tcps_badsyn);
    tcp_send_challenge_ack(tp);
    m_freem(m);
    return;
  }

  /* PAWS (RFC 7323 §5). */
  if (to.to_flags & TOF_TS && tp.ts_recent !== 0 && SEQ_LT(to.to_tsval, tp.ts_recent)) {
    if (now - tp.ts_recent_age > 24 * 24 * 60 * 60 * 1000) tp.ts_recent = 0;
    else {
      TCPSTAT_INC(TCPS_.tcps_rcvduppack);
      TCPSTAT_ADD(TCPS_.tcps_rcvdupbyte, tlen);
      TCPSTAT_INC(TCPS_.tcps_pawsdrop);
      if (tlen > 0) return dropafterack(tp, m, th, thflags);
      m_freem(m);
      return;
    }
  }

  /* Trim what we already have. */
  let todrop = seq_sub(tp.rcv_nxt, th.seq);
  if (todrop > 0) {
    if (thflags & TH_SYN) {
      thflags &= ~TH_SYN;
      th.seq = seq_add(th.seq, 1);
      todrop--;
    }
    if (todrop > tlen || (todrop === tlen && !(thflags & TH_FIN))) {
      /* A complete duplicate: ACK it now. */
      thflags &= ~TH_FIN;
      tp.t_flags |= TF_ACKNOW;
      todrop = tlen;
      TCPSTAT_INC(TCPS_.tcps_rcvduppack);
      TCPSTAT_ADD(TCPS_.tcps_rcvdupbyte, todrop);
    } else {
      TCPSTAT_INC(TCPS_.tcps_rcvpartduppack);
      TCPSTAT_ADD(TCPS_.tcps_rcvpartdupbyte, todrop);
    }
    /* D-SACK (RFC 2883 §4.1.1): the next ACK reports the duplicate range first. */
    if (todrop > 0 && tp.t_flags & TF_SACK_PERMIT)
      tcp_dsack_report(tp, th.seq, seq_add(th.seq, todrop));
    m_adj(m, todrop);
    th.seq = seq_add(th.seq, todrop);
    tlen -= todrop;
  }

  /* Data after the user closed: reset (RFC 9293 §3.10.7.4). */
  if ((so === null || tp.t_closed) && tp.t_state > TCPS_CLOSE_WAIT && tlen > 0) {
    tcp_close(tp);
    TCPSTAT_INC(TCPS_.tcps_rcvafterclose);
    tcp_dropwithreset(m, { ...th, tlen }, null);
    return;
  }

  /* Trim what is beyond the window. */
  todrop = seq_sub(seq_add(th.seq, tlen), seq_add(tp.rcv_nxt, tp.rcv_wnd));
  if (todrop > 0) {
    TCPSTAT_INC(TCPS_.tcps_rcvpackafterwin);
    if (todrop >= tlen) {
      TCPSTAT_ADD(TCPS_.tcps_rcvbyteafterwin, tlen);
      if (tp.rcv_wnd === 0 && th.seq === tp.rcv_nxt) {
        tp.t_flags |= TF_ACKNOW;
        TCPSTAT_INC(TCPS_.tcps_rcvwinprobe);
      } else return dropafterack(tp, m, th, thflags);
    } else TCPSTAT_ADD(TCPS_.tcps_rcvbyteafterwin, todrop);
    m_adj(m, -todrop);
    tlen -= todrop;
    thflags &= ~(TH_PUSH | TH_FIN);
  }

  /* Remember the timestamp to echo (RFC 7323 §4.3). */
  if (
    to.to_flags & TOF_TS &&
    SEQ_LEQ(th.seq, tp.last_ack_sent) &&
    SEQ_LEQ(tp.last_ack_sent, seq_add(th.seq, tlen + (thflags & (TH_SYN | TH_FIN) ? 1 : 0)))
  ) {
    tp.ts_recent_age = now;
    tp.ts_recent = to.to_tsval;
  }

  if (!(thflags & TH_ACK)) {
    if (tp.t_state === TCPS_SYN_RECEIVED || tp.t_flags & TF_NEEDSYN)
      return tcp_step6(tp, m, th, to, thflags, tlen, tiwin, false);
    if (tp.t_flags & TF_ACKNOW) return dropafterack(tp, m, th, thflags);
    m_freem(m);
    return;
  }

  /* The ACK. */
  if (tp.t_state === TCPS_SYN_RECEIVED) {
    if (SEQ_GT(tp.snd_una, th.ack) || SEQ_GT(th.ack, tp.snd_max)) {
      tcp_dropwithreset(m, th, tp);
      return;
    }
    tcp_established(tp);
    /* The ACK of our SYN. */
    tp.snd_wl1 = seq_add(th.seq, -1);
  }

  /* SACK blocks update the scoreboard when the ACK carries some or a scoreboard exists
   * (FreeBSD's tcp_is_sack_recovery); sack_changed says whether it told anything new. */
  const sack = (tp.t_flags & TF_SACK_PERMIT) !== 0;
  const sack_rcv = sack && ((to.to_flags & TOF_SACK) !== 0 || tcp_sack_active(tp));
  let sack_changed = false;
  let lrd = false;
  /* In recovery, what this ACK delivered to the peer (RFC 6937's DeliveredData: the
   * cumulative ACK's advance plus the change in SACKed bytes), for PRR. */
  const prr =
    sack_rcv &&
    IN_FASTRECOVERY(tp.t_flags) &&
    V_tcp_do_prr.get() !== 0 &&
    SEQ_GEQ(th.ack, tp.snd_una);
  const sacked0 = prr ? tcp_sack_sacked_bytes(tp) : 0;
  if (sack_rcv && SEQ_GEQ(th.ack, tp.snd_una)) {
    sack_changed = tcp_sack_doack(tp, to.to_sacks, th.ack, (to.to_flags & TOF_SACK) !== 0);
    /* A retransmission lost as well (net.inet.tcp.sack.lrd): the holes go again. */
    if (sack_changed) lrd = tcp_sack_lost_retransmission(tp, th.ack);
  }
  const delivered = prr ? seq_sub(th.ack, tp.snd_una) + tcp_sack_sacked_bytes(tp) - sacked0 : 0;

  if (SEQ_LEQ(th.ack, tp.snd_una)) {
    /* A duplicate ACK candidate: no data, and the window unchanged — or, when the ACK
     * carries SACK blocks or a scoreboard exists, any window (a Linux receiver grows it
     * with every out-of-order segment).  Such an ACK is counted only when it changed
     * the scoreboard (FreeBSD 14's sack_changed), so stale blocks are not.  Deliberate
     * difference: FreeBSD takes any window change once SACK is permitted, also on ACKs
     * without blocks; those are window updates (46 false fast retransmits in
     * tcp_transfer's lossless run), so they must keep the window, as in RFC 5681.  The
     * peer's first FIN is not a duplicate (simultaneous close). */
    if (tlen === 0 && (tiwin === tp.snd_wnd || sack_rcv)) {
      if (thflags & TH_FIN && !TCPS_HAVERCVDFIN(tp.t_state)) {
        tp.t_dupacks = 0;
        return tcp_step6(tp, m, th, to, thflags, tlen, tiwin, false);
      }
      TCPSTAT_INC(TCPS_.tcps_rcvdupack);
      const maxseg = tcp_maxseg(tp);
      if (th.ack !== tp.snd_una || (sack_rcv && !sack_changed)) {
        /* An old ACK, or SACK blocks with nothing new: not counted. */
      } else if (!tcp_timer_active(tp, TT_REXMT)) tp.t_dupacks = 0;
      else if (++tp.t_dupacks > 3 || IN_FASTRECOVERY(tp.t_flags)) {
        cc_ack_received(tp, 1, CC_DUPACK, 0);
        if (lrd) {
          /* The first hole goes out again now, whatever the pipe; then as when
           * recovery starts (below): PRR from here, or cwnd at the new ssthresh. */
          tcp_prr_start(tp);
          tp.snd_cwnd = tcp_sack_pipe(tp) + maxseg;
          tcp_output(tp);
          tp.snd_cwnd =
            V_tcp_do_prr.get() !== 0 ? Math.max(maxseg, tcp_sack_pipe(tp)) : tp.snd_ssthresh;
        } else if (sack_rcv && IN_FASTRECOVERY(tp.t_flags)) {
          /* SACK recovery: Proportional Rate Reduction (FreeBSD's default), or grow
           * cwnd towards ssthresh while the pipe is below it. */
          if (prr) tcp_prr_cwnd(tp, delivered, maxseg);
          else if (tcp_sack_pipe(tp) < tp.snd_ssthresh)
            tp.snd_cwnd = Math.min(tp.snd_cwnd + maxseg, tp.snd_ssthresh);
          tcp_output(tp);
        } else {
          /* Each further duplicate means a segment left the network: inflate. */
          tp.snd_cwnd += maxseg;
          tcp_output(tp);
        }
        m_freem(m);
        return;
      } else if (tp.t_dupacks === 3 || (sack_rcv && tcp_sack_sacked_bytes(tp) > 2 * maxseg)) {
        /* Three duplicates, or (RFC 6675's trigger, FreeBSD's sack.revised) more than
         * two segments SACKed. */
        tp.t_dupacks = 3;
        if (IN_FASTRECOVERY(tp.t_flags) || (!sack && SEQ_LEQ(th.ack, tp.snd_recover))) {
          /* Already recovering; without SACK, a new loss inside the same window
           * starts no new recovery (RFC 6582 §3.2).  Under SACK FreeBSD asks only the
           * first: after a timeout the scoreboard drives a recovery of its own. */
          tp.t_dupacks = 0;
        } else if (sack_rcv) {
          /* SACK-based loss recovery (RFC 6675): cwnd is ssthresh, the holes go first,
           * and no further than snd_nxt (behind snd_max after a timeout). */
          cc_cong_signal(tp, CC_NDUPACK);
          TCPSTAT_INC(TCPS_.tcps_sack_recovery_episode);
          tcp_timer_activate(tp, TT_REXMT, 0);
          tp.t_rtttime = 0;
          tp.snd_recover = tp.snd_nxt;
          tcp_sack_restart(tp, tp.snd_una);
          tcp_prr_start(tp);
          /* The first hole goes out now, whatever the pipe (RFC 6675 §5 step 4.3). */
          tp.snd_cwnd = tcp_sack_pipe(tp) + maxseg;
          tcp_output(tp);
          /* Then PRR paces what follows by what the peer receives; without it cwnd is
           * ssthresh at once. */
          tp.snd_cwnd =
            V_tcp_do_prr.get() !== 0 ? Math.max(maxseg, tcp_sack_pipe(tp)) : tp.snd_ssthresh;
          m_freem(m);
          return;
        } else {
          cc_cong_signal(tp, CC_NDUPACK);
          tcp_timer_activate(tp, TT_REXMT, 0);
          tp.t_rtttime = 0;
          const onxt = tp.snd_nxt;
          tp.snd_nxt = th.ack;
          tp.snd_cwnd = maxseg;
          tcp_output(tp);
          tp.snd_cwnd = tp.snd_ssthresh + maxseg * tp.t_dupacks;
          if (SEQ_GT(onxt, tp.snd_nxt)) tp.snd_nxt = onxt;
          m_freem(m);
          return;
        }
      } else if (V_tcp_do_rfc3042.get() !== 0 && tp.t_dupacks <= 2) {
        /* Limited transmit (RFC 3042): one new segment per duplicate. */
        const oldcwnd = tp.snd_cwnd;
        tp.snd_cwnd = seq_sub(tp.snd_nxt, tp.snd_una) + tp.t_dupacks * maxseg;
        tcp_output(tp);
        tp.snd_cwnd = oldcwnd;
        m_freem(m);
        return;
      }
    }
    /* Anything else at or below snd_una (data, a window update without SACK) leaves
     * the count alone, as in FreeBSD. */
    return tcp_step6(tp, m, th, to, thflags, tlen, tiwin, false);
  }

  /* New data acknowledged. */
  let prr_partial = false;
  if (IN_FASTRECOVERY(tp.t_flags)) {
    if (SEQ_LT(th.ack, tp.snd_recover)) {
      if (sack) {
        /* Partial ACK in SACK recovery: keep going from the scoreboard, with one or
         * two more segments of room (FreeBSD's tcp_sack_partialack) — also when the
         * ACK emptied the scoreboard: NewReno's go-back-one would resend data that is
         * only still in flight (after a lost retransmission moved snd_recover up). */
        tcp_timer_activate(tp, TT_REXMT, tp.t_rxtcur);
        tp.t_rtttime = 0;
        /* FreeBSD's tcp_prr_partialack (once snd_una moved) for an ACK with SACK
         * blocks; one without goes tcp_sack_partialack's way, rescue included. */
        if (prr && to.to_flags & TOF_SACK) prr_partial = true;
        else {
          const maxseg = tcp_maxseg(tp);
          const segs = seq_sub(th.ack, tp.snd_una) >= 2 * maxseg ? 2 : 1;
          tp.snd_cwnd = Math.max(tp.snd_cwnd, tcp_sack_pipe(tp) + segs * maxseg);
          tcp_sack_rescue(tp, th.ack, maxseg);
        }
        needoutput = true;
      } else tcp_newreno_partial_ack(tp, th);
    } else {
      if (sack) tcp_free_sackholes(tp);
      cc_post_recovery(tp);
      tp.t_flags &= ~(TF_FASTRECOVERY | TF_CONGRECOVERY);
    }
  } else if (tp.t_flags & TF_CONGRECOVERY && SEQ_GEQ(th.ack, tp.snd_recover))
    tp.t_flags &= ~TF_CONGRECOVERY;
  tp.t_dupacks = 0;

  if (SEQ_GT(th.ack, tp.snd_max)) {
    TCPSTAT_INC(TCPS_.tcps_rcvacktoomuch);
    /* RFC 5961 §5.2: answer with an ACK, throttled as challenge ACKs are (§7).  Two
     * ends that disagree (a forged FIN moved one past what the other sent) would
     * otherwise ACK each other forever: this ACK, then the peer's for a duplicate. */
    if (!tcp_ack_war_check()) {
      m_freem(m);
      return;
    }
    return dropafterack(tp, m, th, thflags);
  }
  const acked = seq_sub(th.ack, tp.snd_una);
  TCPSTAT_INC(TCPS_.tcps_rcvackpack);
  TCPSTAT_ADD(TCPS_.tcps_rcvackbyte, acked);

  /* A spurious retransmission timeout: undo.  With timestamps the ACK echoes a segment
   * sent before the retransmission (Eifel, RFC 3522; t_badrxtwin is when that left,
   * tcp_output); without, it came within half an srtt of the timeout.  The RTT test
   * alone misjudges a real loss whose retransmission is answered quickly while srtt is
   * inflated by queueing, and then stalls with snd_nxt at snd_max until the next RTO. */
  if (
    tp.t_rxtshift === 1 &&
    tp.t_flags & TF_PREVVALID &&
    tp.t_badrxtwin !== 0 &&
    (to.to_flags & TOF_TS && to.to_tsecr !== 0
      ? ((to.to_tsecr - tp.t_badrxtwin) | 0) < 0
      : now - tp.t_badrxtwin < 0)
  ) {
    TCPSTAT_INC(TCPS_.tcps_sndrexmitbad);
    tp.snd_cwnd = tp.snd_cwnd_prev;
    tp.snd_ssthresh = tp.snd_ssthresh_prev;
    tp.snd_recover = tp.snd_recover_prev;
    tp.snd_nxt = tp.snd_max;
    tp.t_badrxtwin = 0;
  }
  tp.t_flags &= ~TF_PREVVALID;

  /* RTT sample: timestamps, else the timed segment (Karn: not a retransmission). */
  if (to.to_flags & TOF_TS && to.to_tsecr !== 0) tcp_xmit_timer(tp, ((now - to.to_tsecr) | 0) + 1);
  else if (tp.t_rtttime !== 0 && SEQ_GT(th.ack, tp.t_rtseq)) tcp_xmit_timer(tp, now - tp.t_rtttime);

  if (th.ack === tp.snd_max) {
    tcp_timer_activate(tp, TT_REXMT, 0);
    needoutput = true;
  } else if (!tcp_timer_active(tp, TT_PERSIST)) tcp_timer_activate(tp, TT_REXMT, tp.t_rxtcur);

  if (acked > 0 && !IN_FASTRECOVERY(tp.t_flags))
    cc_ack_received(tp, Math.max(1, Math.ceil(acked / tcp_maxseg(tp))), CC_ACK, acked);

  let ourfinisacked = false;
  if (so !== null) {
    const avail = sbavail(so.so_snd);
    if (acked > avail) {
      tp.snd_wnd -= avail;
      sbdrop(so.so_snd, avail);
      ourfinisacked = true;
    } else {
      sbdrop(so.so_snd, acked);
      tp.snd_wnd -= acked;
    }
    sowwakeup(so);
  } else ourfinisacked = th.ack === tp.snd_max && (tp.t_flags & TF_SENTFIN) !== 0;
  tp.snd_una = th.ack;
  if (SEQ_LT(tp.snd_nxt, tp.snd_una)) tp.snd_nxt = tp.snd_una;
  if (prr_partial) {
    tcp_prr_cwnd(tp, delivered, tcp_maxseg(tp));
    tp.t_flags |= TF_ACKNOW;
  }

  switch (tp.t_state) {
    case TCPS_FIN_WAIT_1:
      if (ourfinisacked) {
        /* The user will not read any more: don't wait forever for the peer's FIN. */
        if (so === null || so.so_rcv.sb_state & SBS_CANTRCVMORE) {
          if (so !== null) soisdisconnected(so);
          tcp_timer_activate(tp, TT_2MSL, V_tcp_finwait2_timeout.get());
        }
        tcp_state_change(tp, TCPS_FIN_WAIT_2);
      }
      break;
    case TCPS_CLOSING:
      if (ourfinisacked) {
        tcp_twstart(tp);
        m_freem(m);
        return;
      }
      break;
    case TCPS_LAST_ACK:
      if (ourfinisacked) {
        tcp_close(tp);
        m_freem(m);
        return;
      }
      break;
  }
  return tcp_step6(tp, m, th, to, thflags, tlen, tiwin, needoutput);
}

/** NewReno partial ACK (RFC 6582 §3.2 step 5): retransmit the next hole, deflate. */
function tcp_newreno_partial_ack(tp: Tcpcb, th: TcpSeg): void {
  const onxt = tp.snd_nxt;
  const ocwnd = tp.snd_cwnd;
  const maxseg = tcp_maxseg(tp);
  cc_ack_received(tp, 1, CC_PARTIALACK, seq_sub(th.ack, tp.snd_una));
  tcp_timer_activate(tp, TT_REXMT, 0);
  tp.t_rtttime = 0;
  tp.snd_nxt = th.ack;
  tp.snd_cwnd = maxseg + seq_sub(th.ack, tp.snd_una);
  tp.t_flags |= TF_ACKNOW;
  tcp_output(tp);
  tp.snd_cwnd = ocwnd;
  if (SEQ_GT(onxt, tp.snd_nxt)) tp.snd_nxt = onxt;
  const acked = seq_sub(th.ack, tp.snd_una);
  tp.snd_cwnd = tp.snd_cwnd > acked ? tp.snd_cwnd - acked : 0;
  tp.snd_cwnd += maxseg;
}

/**
 * Step 6 onwards: the send window, the data and FIN, then output.  Consumes m.
 */
function tcp_step6(
  tp: Tcpcb,
  m: Mbuf,
  th: TcpSeg,
  _to: TcpOpt,
  thflags: number,
  tlen: number,
  tiwin: number,
  needoutput: boolean,
): void {
  const so = tp.t_inpcb.inp_socket;
  /* The send window (RFC 9293 §3.10.7.4 "fifth, check the ACK field"). */
  if (
    thflags & TH_ACK &&
    (SEQ_LT(tp.snd_wl1, th.seq) ||
      (tp.snd_wl1 === th.seq &&
        (SEQ_LT(tp.snd_wl2, th.ack) || (tp.snd_wl2 === th.ack && tiwin > tp.snd_wnd))))
  ) {
    if (tlen === 0 && tp.snd_wl2 === th.ack && tiwin > tp.snd_wnd)
      TCPSTAT_INC(TCPS_.tcps_rcvwinupd);
    tp.snd_wnd = tiwin;
    tp.snd_wl1 = th.seq;
    tp.snd_wl2 = th.ack;
    if (tp.snd_wnd > tp.max_sndwnd) tp.max_sndwnd = tp.snd_wnd;
    needoutput = true;
  }

  /* Data and FIN. */
  if ((tlen > 0 || thflags & TH_FIN) && !TCPS_HAVERCVDFIN(tp.t_state) && so !== null) {
    if (th.seq === tp.rcv_nxt && tp.t_segq.length === 0 && tp.t_state >= TCPS_ESTABLISHED) {
      if (DELAY_ACK(tp, tlen) && tlen > 0) tp.t_flags |= TF_DELACK;
      else tp.t_flags |= TF_ACKNOW;
      tp.rcv_nxt = seq_add(tp.rcv_nxt, tlen);
      if (tlen > 0) {
        TCPSTAT_INC(TCPS_.tcps_rcvpack);
        TCPSTAT_ADD(TCPS_.tcps_rcvbyte, tlen);
        tcp_autorcvbuf(tp, tlen);
        if (so.so_rcv.sb_state & SBS_CANTRCVMORE) m_freem(m);
        else {
          sbappendstream(so.so_rcv, m);
          sorwakeup(so);
        }
      } else m_freem(m);
    } else if (tlen > 0 || thflags & TH_FIN) {
      /* Out of order (or before the handshake finished): the reassembly queue. */
      const fin = (thflags & TH_FIN) !== 0;
      const seq = th.seq;
      thflags = (thflags & ~TH_FIN) | tcp_reass(tp, seq, m, tlen, fin);
      if (tp.t_flags & TF_SACK_PERMIT && tlen > 0) {
        if (tp.t_segq.length > 0) tcp_update_sack_list(tp, seq);
        tcp_clean_sackreport(tp);
      }
      tp.t_flags |= TF_ACKNOW;
    } else m_freem(m);
  } else {
    m_freem(m);
    thflags &= ~TH_FIN;
  }
  /* In-order data may have filled a hole: deliver what is now contiguous. */
  if (tp.t_segq.length > 0 && tp.t_state >= TCPS_ESTABLISHED && so !== null) {
    thflags |= tcp_reass(tp, 0, null, 0, false);
  }
  if (tp.sackblks.length > 0) tcp_clean_sackreport(tp);

  if (thflags & TH_FIN && so !== null) {
    if (!TCPS_HAVERCVDFIN(tp.t_state)) {
      socantrcvmore(so);
      tp.t_flags |= TF_ACKNOW;
      tp.rcv_nxt = seq_add(tp.rcv_nxt, 1);
    }
    switch (tp.t_state) {
      case TCPS_SYN_RECEIVED:
      case TCPS_ESTABLISHED:
        tcp_state_change(tp, TCPS_CLOSE_WAIT);
        break;
      case TCPS_FIN_WAIT_1:
        tcp_state_change(tp, TCPS_CLOSING);
        break;
      case TCPS_FIN_WAIT_2:
        tcp_twstart(tp);
        break;
    }
  } else if (thflags & TH_FIN && so === null && tp.t_state === TCPS_FIN_WAIT_2) {
    tp.rcv_nxt = seq_add(tp.rcv_nxt, 1);
    tp.t_flags |= TF_ACKNOW;
    tcp_twstart(tp);
  } else if (thflags & TH_FIN && tp.t_state === TCPS_TIME_WAIT) {
    /* A retransmitted FIN: ACK it and restart the 2MSL wait. */
    tp.t_flags |= TF_ACKNOW;
    tcp_twstart(tp);
  }

  if (needoutput || tp.t_flags & TF_ACKNOW) {
    if (tp.t_state === TCPS_TIME_WAIT) {
      tcp_respond_tp(tp, tp.rcv_nxt, tp.snd_max, TH_ACK);
      tp.t_flags &= ~TF_ACKNOW;
    } else if (tp.t_state !== TCPS_CLOSED) tcp_output(tp);
  }
  if (tp.t_flags & TF_DELACK) {
    tp.t_flags &= ~TF_DELACK;
    tcp_timer_activate(tp, TT_DELACK, V_tcp_delacktime.get());
  }
}

/** dropafterack: drop the segment but ACK (or reset a bogus ACK in SYN_RECEIVED). */
function dropafterack(tp: Tcpcb, m: Mbuf, th: TcpSeg, thflags: number): void {
  if (
    tp.t_state === TCPS_SYN_RECEIVED &&
    thflags & TH_ACK &&
    (SEQ_GT(tp.snd_una, th.ack) || SEQ_GT(th.ack, tp.snd_max))
  ) {
    tcp_dropwithreset(m, th, tp);
    return;
  }
  m_freem(m);
  tp.t_flags |= TF_ACKNOW;
  if (tp.t_state === TCPS_TIME_WAIT) {
    tcp_respond_tp(tp, tp.rcv_nxt, tp.snd_max, TH_ACK);
    tp.t_flags &= ~TF_ACKNOW;
    return;
  }
  tcp_output(tp);
}
