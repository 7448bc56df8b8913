/*
 * netinet/tcp_timer.ts — TCP's five timers (FreeBSD sys/netinet/tcp_timer.c): each a
 * callout on the kernel's callwheel, run by the softclock thread with curvnet set to
 * the connection's vnet.
 *
 *   - delack: send the delayed ACK (tcps_delack).
 *   - rexmt: retransmission timeout (RFC 6298): back off (tcp_backoff[]), after
 *     TCP_MAXRXTSHIFT drop the connection with ETIMEDOUT (or the soft error an ICMP
 *     message left); past a quarter of the shifts forget the RTT estimate; congestion
 *     signal CC_RTO; resend from snd_una, skipping what the peer SACKed when this
 *     is the first timeout (the scoreboard is kept then, forgotten after a second).
 *   - persist: probe a zero window (tcp_setpersist backs off between TCPTV_PERSMIN
 *     and TCPTV_PERSMAX); give up after the full backoff when nothing came back.
 *   - keep: in the handshake, connection establishment timeout (keepinit); on an
 *     idle established connection with SO_KEEPALIVE, probes every keepintvl after
 *     keepidle, dropping after keepcnt unanswered ones (tcps_keepdrops).  As in
 *     FreeBSD, arriving segments only move t_rcvtime: the timer is not re-armed for
 *     each of them, and when it fires early it waits for the rest of keepidle.
 *   - 2msl: TIME_WAIT ends (tcp_close); FIN_WAIT_2 of a closed socket ends after
 *     net.inet.tcp.finwait2_timeout.
 */

import { callout_reset, callout_stop, callout_pending } from '../kern/kern_timeout.js';
import { get_ticks } from '../kern/kern_clock.js';
import { CURVNET_RESTORE, CURVNET_SET } from '../net/vnet.js';
import { SO_KEEPALIVE } from '../sys/socket.js';
import { ETIMEDOUT } from '../sys/errno.js';
import {
  CC_RTO,
  TCPS_CLOSING,
  TCPS_ESTABLISHED,
  TCPS_FIN_WAIT_2,
  TCPS_SYN_SENT,
  TCPS_TIME_WAIT,
  TCPSTAT_INC,
  TCPS_,
  TCPTV_PERSMAX,
  TCPTV_PERSMIN,
  TCPTV_REXMTMAX,
  TCP_MAXRXTSHIFT,
  TCP_REXMTVAL,
  TCP_RTT_SHIFT,
  TCPT_RANGESET,
  TF_ACKNOW,
  TF_CONGRECOVERY,
  TF_FASTRECOVERY,
  TF_FORCEDATA,
  TF_PREVVALID,
  TF_RCVD_TSTMP,
  TT_2MSL,
  TT_DELACK,
  TT_KEEP,
  TT_PERSIST,
  TT_REXMT,
  V_tcp_always_keepalive,
  V_tcp_finwait2_timeout,
  V_tcp_keepcnt,
  V_tcp_keepidle,
  V_tcp_keepinit,
  V_tcp_keepintvl,
  V_tcp_rexmit_initial,
  tcp_backoff,
  tcp_totbackoff,
  type Tcpcb,
} from './tcp_var.js';
import { cc_cong_signal } from './cc/cc.js';
import { tcp_close, tcp_drop, tcp_respond_keepalive } from './tcp_subr.js';
import { tcp_output } from './tcp_output.js';
import { tcp_free_sackholes, tcp_resend_sackholes } from './tcp_sack.js';

type TimerFn = (tp: Tcpcb) => void;

const handlers: TimerFn[] = [];

/** Run a timer with the connection's vnet as curvnet (the callout has none). */
function timer_entry(which: number): (arg: unknown) => void {
  return (arg) => {
    const tp = arg as Tcpcb;
    const v = tp.t_vnet;
    const saved = v !== null && v.kernel.vimage ? CURVNET_SET(v) : null;
    try {
      handlers[which]!(tp);
    } finally {
      if (v !== null && v.kernel.vimage) CURVNET_RESTORE(saved);
    }
  };
}

const entries = [0, 1, 2, 3, 4].map(timer_entry);

/** tcp_timer_activate(tp, which, delta): arm (delta ticks) or stop (0). */
export function tcp_timer_activate(tp: Tcpcb, which: number, delta: number): void {
  const c = tp.t_timers[which]!;
  if (delta === 0) callout_stop(c);
  else callout_reset(c, delta, entries[which]!, tp);
}

export function tcp_timer_active(tp: Tcpcb, which: number): boolean {
  return callout_pending(tp.t_timers[which]!);
}

export function tcp_timer_stop_all(tp: Tcpcb): void {
  for (const c of tp.t_timers) callout_stop(c);
}

/* Keepalive values: the connection's own (TCP_KEEP*) or the vnet's. */
export function TP_KEEPINIT(tp: Tcpcb): number {
  return tp.t_keepinit || V_tcp_keepinit.get();
}
export function TP_KEEPIDLE(tp: Tcpcb): number {
  return tp.t_keepidle || V_tcp_keepidle.get();
}
export function TP_KEEPINTVL(tp: Tcpcb): number {
  return tp.t_keepintvl || V_tcp_keepintvl.get();
}
export function TP_KEEPCNT(tp: Tcpcb): number {
  return tp.t_keepcnt || V_tcp_keepcnt.get();
}
export function TP_MAXIDLE(tp: Tcpcb): number {
  return TP_KEEPCNT(tp) * TP_KEEPINTVL(tp);
}

/** tcp_setpersist: arm the persist timer with the backed-off interval. */
export function tcp_setpersist(tp: Tcpcb): void {
  const t = ((tp.t_srtt >> 2) + tp.t_rttvar) >> 1;
  if (tcp_timer_active(tp, TT_REXMT)) return;
  const tt = Math.min(
    Math.max(t * tcp_backoff[Math.min(tp.t_rxtshift, TCP_MAXRXTSHIFT)]!, TCPTV_PERSMIN),
    TCPTV_PERSMAX,
  );
  tcp_timer_activate(tp, TT_PERSIST, tt);
  if (tp.t_rxtshift < TCP_MAXRXTSHIFT) tp.t_rxtshift++;
}

handlers[TT_DELACK] = (tp) => {
  tp.t_flags |= TF_ACKNOW;
  TCPSTAT_INC(TCPS_.tcps_delack);
  tcp_output(tp);
};

handlers[TT_REXMT] = (tp) => {
  if (++tp.t_rxtshift > TCP_MAXRXTSHIFT) {
    tp.t_rxtshift = TCP_MAXRXTSHIFT;
    TCPSTAT_INC(TCPS_.tcps_timeoutdrop);
    tcp_drop(tp, tp.t_softerror !== 0 ? tp.t_softerror : ETIMEDOUT);
    return;
  }
  TCPSTAT_INC(TCPS_.tcps_rexmttimeo);
  if (tp.t_rxtshift === 1 && tp.t_state >= TCPS_ESTABLISHED) {
    /* Remember the state before the first timeout, to undo it if spurious. */
    tp.snd_cwnd_prev = tp.snd_cwnd;
    tp.snd_ssthresh_prev = tp.snd_ssthresh;
    tp.snd_recover_prev = tp.snd_recover;
    /* With timestamps tcp_output sets it as the retransmission leaves (Eifel). */
    tp.t_badrxtwin =
      tp.t_flags & TF_RCVD_TSTMP ? 0 : get_ticks() + (tp.t_srtt >> (TCP_RTT_SHIFT + 1));
    tp.t_flags |= TF_PREVVALID;
  } else tp.t_flags &= ~TF_PREVVALID;
  const rexmt =
    tp.t_state === TCPS_SYN_SENT
      ? V_tcp_rexmit_initial.get() * tcp_backoff[tp.t_rxtshift]!
      : TCP_REXMTVAL(tp) * tcp_backoff[tp.t_rxtshift]!;
  tp.t_rxtcur = TCPT_RANGESET(rexmt, tp.t_rttmin, TCPTV_REXMTMAX);
  if (tp.t_rxtshift > TCP_MAXRXTSHIFT / 4) {
    tp.t_rttvar += tp.t_srtt >> TCP_RTT_SHIFT;
    tp.t_srtt = 0;
  }
  tp.snd_nxt = tp.snd_una;
  tp.snd_recover = tp.snd_max;
  tp.t_flags |= TF_ACKNOW;
  tp.t_rtttime = 0;
  /* FreeBSD 14: the first timeout keeps the scoreboard and marks every hole for
   * retransmission (tcp_resend_sackholes; RFC 2018's erratum lets SACK information be
   * used past an RTO), so snd_nxt going back over the window skips what the peer holds
   * (tcp_sack_adjust in tcp_output).  A further timeout forgets it: the peer may have
   * reneged (RFC 2018 §8, RFC 6675 §5.1). */
  if (tp.t_rxtshift === 1 && tp.t_state >= TCPS_ESTABLISHED) tcp_resend_sackholes(tp);
  else tcp_free_sackholes(tp);
  if (tp.t_state >= TCPS_ESTABLISHED) cc_cong_signal(tp, CC_RTO);
  tp.t_flags &= ~(TF_FASTRECOVERY | TF_CONGRECOVERY);
  tp.t_dupacks = 0;
  tcp_output(tp);
};

handlers[TT_PERSIST] = (tp) => {
  TCPSTAT_INC(TCPS_.tcps_persisttimeo);
  /* Give up when the peer has said nothing for the whole backoff. */
  const idle = get_ticks() - tp.t_rcvtime;
  if (
    tp.t_rxtshift >= TCP_MAXRXTSHIFT &&
    (idle >= TP_KEEPIDLE(tp) || idle >= TCP_REXMTVAL(tp) * tcp_totbackoff)
  ) {
    TCPSTAT_INC(TCPS_.tcps_persistdrop);
    tcp_drop(tp, ETIMEDOUT);
    return;
  }
  tcp_setpersist(tp);
  tp.t_flags |= TF_FORCEDATA;
  tcp_output(tp);
  tp.t_flags &= ~TF_FORCEDATA;
};

handlers[TT_KEEP] = (tp) => {
  /* tcp_do_segment does not re-arm this timer for every segment (only t_rcvtime moves),
   * so on a synchronized connection it may fire before the connection has been idle
   * for keepidle: then it only waits for the rest, uncounted (FreeBSD's tcp_timer_keep). */
  if (tp.t_state >= TCPS_ESTABLISHED) {
    const idle = get_ticks() - tp.t_rcvtime;
    if (idle < TP_KEEPIDLE(tp)) {
      tcp_timer_activate(tp, TT_KEEP, TP_KEEPIDLE(tp) - idle);
      return;
    }
  }
  TCPSTAT_INC(TCPS_.tcps_keeptimeo);
  if (tp.t_state < TCPS_ESTABLISHED) {
    TCPSTAT_INC(TCPS_.tcps_keepdrops);
    tcp_drop(tp, ETIMEDOUT);
    return;
  }
  const so = tp.t_inpcb.inp_socket;
  const keepon =
    V_tcp_always_keepalive.get() !== 0 || (so !== null && so.so_options & SO_KEEPALIVE);
  if (keepon && tp.t_state <= TCPS_CLOSING) {
    const idle = get_ticks() - tp.t_rcvtime;
    if (idle >= TP_KEEPIDLE(tp) + TP_MAXIDLE(tp)) {
      TCPSTAT_INC(TCPS_.tcps_keepdrops);
      tcp_drop(tp, ETIMEDOUT);
      return;
    }
    if (idle >= TP_KEEPIDLE(tp)) {
      TCPSTAT_INC(TCPS_.tcps_keepprobe);
      tcp_respond_keepalive(tp);
      tcp_timer_activate(tp, TT_KEEP, TP_KEEPINTVL(tp));
      return;
    }
    tcp_timer_activate(tp, TT_KEEP, TP_KEEPIDLE(tp) - idle);
    return;
  }
  tcp_timer_activate(tp, TT_KEEP, TP_KEEPIDLE(tp));
};

handlers[TT_2MSL] = (tp) => {
  if (tp.t_state === TCPS_TIME_WAIT) {
    tcp_close(tp);
    return;
  }
  if (tp.t_state === TCPS_FIN_WAIT_2) {
    const idle = get_ticks() - tp.t_rcvtime;
    const lim = V_tcp_finwait2_timeout.get();
    if (tp.t_inpcb.inp_socket === null || idle >= lim) {
      TCPSTAT_INC(TCPS_.tcps_finwait2_drops);
      tcp_close(tp);
      return;
    }
    tcp_timer_activate(tp, TT_2MSL, lim - idle);
  }
};
