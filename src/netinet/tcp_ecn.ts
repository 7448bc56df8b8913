/*
 * netinet/tcp_ecn.ts — Explicit Congestion Notification for TCP, RFC 3168 (FreeBSD
 * 14 sys/netinet/tcp_ecn.c, the classic half of it).
 *
 * Negotiation: with net.inet.tcp.ecn.enable = 1 a client's SYN carries ECE|CWR (an
 * "ECN-setup SYN"); after net.inet.tcp.ecn.maxretries retransmissions the SYN goes
 * without them, in case a middlebox drops such SYNs (RFC 3168 §6.1.1.1).  A server
 * with enable != 0 (the default 2 accepts without ever asking) answers an ECN-setup
 * SYN with ECE on the SYN-ACK — from the syncache, or tcp_output for a simultaneous
 * open — and a client that sees SYN-ACK with ECE and without CWR agrees.  Both ends
 * then set TF2_ECN_PERMIT and count tcps_ecn_shs.
 *
 * Data: with ECN permitted, new data segments go out with ECT(0) in the IP header
 * (tcps_ecn_sndect0); retransmissions, window probes and segments without data do
 * not (RFC 3168 §6.1.5, §6.1.6), so a marked segment never hides a loss.  A receiver
 * that gets CE sets TF2_ECN_SND_ECE and puts ECE on everything it sends until a
 * segment with CWR arrives (§6.1.3), which it acknowledges at once.  A sender that
 * gets ECE calls cc_cong_signal(CC_ECN): once per window of data (TF_CONGRECOVERY until
 * snd_recover) the algorithm reduces cwnd, tcps_ecn_rcwnd counts it and CWR goes on
 * the next new data segment (TF2_ECN_SND_CWR).  A fast retransmit's reduction also
 * sends CWR (cc.ts), as FreeBSD's does.  The received codepoints are counted
 * (tcps_ecn_rcvce, tcps_ecn_rcvect0, tcps_ecn_rcvect1).
 *
 * As in FreeBSD, a SYN cookie has no bit for ECN: the SYN-ACK of a cookie says ECE,
 * but the connection the cookie makes is not ECN-permitted.  AccECN (enable 3 and 4 in
 * FreeBSD 14) is not implemented; those values are refused.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { VNET_DEFINE_INT, type VnetI32 } from '../net/vnet.js';
import {
  CTLFLAG_RW,
  CTLFLAG_VNET,
  CTLTYPE_INT,
  SYSCTL_NODE,
  SYSCTL_OUT,
  SYSCTL_PROC,
  type SysctlReq,
} from '../sys/sysctl.js';
import { EINVAL } from '../sys/errno.js';
import {
  IPTOS_ECN_CE,
  IPTOS_ECN_ECT0,
  IPTOS_ECN_ECT1,
  IPTOS_ECN_MASK,
  IPTOS_ECN_NOTECT,
} from './ip.js';
import {
  SEQ_GEQ,
  TCPSTAT_INC,
  TCPS_,
  TF2_ECN_PERMIT,
  TF2_ECN_SND_CWR,
  TF2_ECN_SND_ECE,
  TF_ACKNOW,
  TF_FORCEDATA,
  TH_ACK,
  TH_CWR,
  TH_ECE,
  TH_SYN,
  type Tcpcb,
} from './tcp_var.js';

export const K = new ObjFile('netinet/tcp_ecn.ts', VIMAGEID('src/netinet/tcp_ecn.ts'));

SYSCTL_NODE(K, 'net.inet.tcp.ecn', CTLFLAG_RW, 'TCP ECN');

/** net.inet.tcp.ecn.enable: 0 off, 1 ask and accept, 2 (the default) accept only. */
export const V_tcp_do_ecn: VnetI32 = VNET_DEFINE_INT(K, 'tcp_do_ecn', 2);
/** net.inet.tcp.ecn.maxretries: ECN-setup SYNs retransmitted before giving up on ECN. */
export const V_tcp_ecn_maxretries: VnetI32 = VNET_DEFINE_INT(K, 'tcp_ecn_maxretries', 1);

/** An int sysctl over v that refuses values outside [lo, hi] with EINVAL. */
function ecn_int(name: string, v: VnetI32, lo: number, hi: number, descr: string): void {
  SYSCTL_PROC(
    K,
    `net.inet.tcp.ecn.${name}`,
    CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_VNET,
    (_o, req: SysctlReq) => {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setInt32(0, v.get(), true);
      const e = SYSCTL_OUT(req, out);
      if (e !== 0 || req.newptr === null) return e;
      if (req.newptr.length !== 4) return EINVAL;
      const n = new DataView(req.newptr.buffer, req.newptr.byteOffset, 4).getInt32(0, true);
      if (n < lo || n > hi) return EINVAL;
      v.set(n);
      return 0;
    },
    'I',
    descr,
  );
}

/* FreeBSD 14 also takes 3 and 4 (Accurate ECN); without AccECN they are refused rather
 * than silently meaning something else. */
ecn_int('enable', V_tcp_do_ecn, 0, 2, 'TCP ECN support');
ecn_int('maxretries', V_tcp_ecn_maxretries, 0, 0x7fffffff, 'Max retries before giving up on ECN');

/* ------------------------------------------------------------------------------ */
/* The handshake                                                                    */

/**
 * tcp_ecn_output_syn_sent: the ECN flags of our SYN — ECE|CWR when we ask (enable 1),
 * unless the SYN has been retransmitted more than maxretries times already.
 */
export function tcp_ecn_output_syn_sent(tp: Tcpcb): number {
  if (V_tcp_do_ecn.get() !== 1) return 0;
  if (tp.t_rxtshift >= 1 && tp.t_rxtshift > V_tcp_ecn_maxretries.get()) return 0;
  return TH_ECE | TH_CWR;
}

/**
 * tcp_ecn_input_syn_sent: the SYN-ACK to our SYN.  ECE without CWR agrees (RFC 3168
 * §6.1.1: ECE|CWR on a SYN-ACK would be a reflected ECN-setup SYN, not an answer).
 */
export function tcp_ecn_input_syn_sent(tp: Tcpcb, thflags: number): void {
  if (V_tcp_do_ecn.get() === 0) return;
  if ((thflags & (TH_ECE | TH_CWR)) === TH_ECE) {
    tp.t_flags2 |= TF2_ECN_PERMIT;
    TCPSTAT_INC(TCPS_.tcps_ecn_shs);
  }
}

/**
 * tcp_ecn_input_parallel_syn: a bare SYN in SYN_SENT (simultaneous open).  An
 * ECN-setup SYN is agreed to; our SYN-ACK says so with ECE (TF2_ECN_SND_ECE, which
 * tcp_ecn_output_established clears again once the SYN-ACK is built).
 */
export function tcp_ecn_input_parallel_syn(tp: Tcpcb, thflags: number): void {
  if (thflags & TH_ACK || V_tcp_do_ecn.get() === 0) return;
  if ((thflags & (TH_ECE | TH_CWR)) === (TH_ECE | TH_CWR)) {
    tp.t_flags2 |= TF2_ECN_PERMIT | TF2_ECN_SND_ECE;
    TCPSTAT_INC(TCPS_.tcps_ecn_shs);
  }
}

/** The syncache entry's flag for an ECN-setup SYN (FreeBSD's SCF_ECN). */
export const SCF_ECN = 0x100;

/** tcp_ecn_syncache_add: the syncache flags an incoming SYN's ECE|CWR asks for. */
export function tcp_ecn_syncache_add(thflags: number): number {
  if (V_tcp_do_ecn.get() === 0) return 0;
  return (thflags & (TH_ECE | TH_CWR)) === (TH_ECE | TH_CWR) ? SCF_ECN : 0;
}

/** tcp_ecn_syncache_respond: ECE on the SYN-ACK of an ECN-setup SYN. */
export function tcp_ecn_syncache_respond(thflags: number, scflags: number): number {
  if (thflags & TH_SYN && scflags & SCF_ECN) {
    TCPSTAT_INC(TCPS_.tcps_ecn_shs);
    return thflags | TH_ECE;
  }
  return thflags;
}

/** tcp_ecn_syncache_socket: the connection a syncache entry makes. */
export function tcp_ecn_syncache_socket(tp: Tcpcb, scflags: number): void {
  if (scflags & SCF_ECN) tp.t_flags2 |= TF2_ECN_PERMIT;
}

/* ------------------------------------------------------------------------------ */
/* Segments                                                                         */

/**
 * tcp_ecn_input_segment: a segment of an ECN-permitted connection, before anything
 * else looks at it.  Counts the codepoint, remembers a CE (ECE from now on), stops
 * echoing on CWR (and ACKs that at once, so the peer sees the echo stop), and returns
 * whether the segment echoes congestion (ECE on a non-SYN): the caller signals CC_ECN.
 */
export function tcp_ecn_input_segment(tp: Tcpcb, thflags: number, iptos: number): boolean {
  if (!(tp.t_flags2 & TF2_ECN_PERMIT)) return false;
  switch (iptos & IPTOS_ECN_MASK) {
    case IPTOS_ECN_CE:
      TCPSTAT_INC(TCPS_.tcps_ecn_rcvce);
      break;
    case IPTOS_ECN_ECT0:
      TCPSTAT_INC(TCPS_.tcps_ecn_rcvect0);
      break;
    case IPTOS_ECN_ECT1:
      TCPSTAT_INC(TCPS_.tcps_ecn_rcvect1);
      break;
  }
  if (thflags & TH_CWR) {
    tp.t_flags2 &= ~TF2_ECN_SND_ECE;
    tp.t_flags |= TF_ACKNOW;
  }
  /* A CE after the CWR in the same segment starts a new echo (RFC 3168 §6.1.3). */
  if ((iptos & IPTOS_ECN_MASK) === IPTOS_ECN_CE) tp.t_flags2 |= TF2_ECN_SND_ECE;
  return (thflags & (TH_SYN | TH_ECE)) === TH_ECE;
}

/**
 * tcp_ecn_output_established: for a segment of an ECN-permitted connection about to
 * go, the ECN codepoint of its IP header (ECT(0) for new data only: not a
 * retransmission, not a window probe, not a segment without data) and the flags it
 * carries: CWR on new data after a reduction, ECE while echoing.  Returns
 * (codepoint << 8) | flags to add, so the hot path makes no object.
 */
export function tcp_ecn_output_established(tp: Tcpcb, len: number, rxmit: boolean): number {
  let flags = 0;
  let ipecn = IPTOS_ECN_NOTECT;
  const newdata =
    len > 0 &&
    SEQ_GEQ(tp.snd_nxt, tp.snd_max) &&
    !rxmit &&
    !(tp.t_flags & TF_FORCEDATA && len === 1);
  if (newdata) {
    ipecn = IPTOS_ECN_ECT0;
    TCPSTAT_INC(TCPS_.tcps_ecn_sndect0);
    if (tp.t_flags2 & TF2_ECN_SND_CWR) {
      flags |= TH_CWR;
      tp.t_flags2 &= ~TF2_ECN_SND_CWR;
    }
  }
  if (tp.t_flags2 & TF2_ECN_SND_ECE) flags |= TH_ECE;
  return (ipecn << 8) | flags;
}
