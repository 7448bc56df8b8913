/*
 * modules/cc_cubic.ts — CUBIC congestion control as a loadable module
 * (/boot/kernel/cc_cubic.ko; FreeBSD sys/netinet/cc/cc_cubic.c, RFC 9438).
 *
 * kldload cc_cubic registers the algorithm "cubic"; net.inet.tcp.cc.algorithm=cubic
 * makes it the default for new connections of a vnet, TCP_CONGESTION selects it for
 * one.  Connections that exist keep theirs.
 *
 * The window after a congestion event follows W_cubic(t) = C (t - K)^3 + W_max with
 * C = 0.4 and K = cbrt(W_max (1 - beta) / C), beta = 0.7, never below the
 * TCP-friendly estimate W_est(t) = W_max beta + 3 (1 - beta)/(1 + beta) t / RTT
 * (RFC 9438 §4.2-4.3); the window grows towards W_cubic(t + RTT) by
 * (target - cwnd) / cwnd segments per ACK.  Fast convergence (§4.7) lowers W_max when
 * a loss comes before the previous maximum was reached.  Slow start, the RTO and
 * recovery exits are NewReno's with beta instead of 1/2.  Time is the kernel's ticks
 * since the last congestion event; the RTT is the connection's smoothed RTT.
 */

import { KLD, DECLARE_MODULE, MODULE_VERSION, MOD_LOAD, MOD_UNLOAD } from '../sys/module.js';
import { SI_ORDER_ANY, SI_SUB_PROTO_DOMAIN } from '../sys/kernel.js';
import { get_ticks } from '../kern/kern_clock.js';
import { cc_deregister_algo, cc_register_algo, tcp_compute_initwnd } from '../netinet/cc/cc.js';
import {
  CC_ACK,
  CC_ECN,
  CC_NDUPACK,
  CC_RTO,
  CCF_CWND_LIMITED,
  IN_CONGRECOVERY,
  IN_FASTRECOVERY,
  IN_RECOVERY,
  TCP_MAXWIN,
  TCP_RTT_SHIFT,
  TF_CONGRECOVERY,
  TF_FASTRECOVERY,
  V_tcp_abc_l_var,
  tcp_maxseg,
  type CcAlgo,
  type CcVar,
} from '../netinet/tcp_var.js';

const CUBIC_C = 0.4;
const CUBIC_BETA = 0.7;

interface CubicState {
  /** W_max in bytes. */
  max_cwnd: number;
  prev_max_cwnd: number;
  /** K in ticks. */
  K: number;
  t_last_cong: number;
  num_cong_events: number;
}

function st(ccv: CcVar): CubicState {
  return ccv.cc_data as CubicState;
}

/** K (ticks) for a W_max in bytes. */
function cubic_k(wmax: number, maxseg: number): number {
  return Math.cbrt(((wmax / maxseg) * (1 - CUBIC_BETA)) / CUBIC_C) * 1000;
}

/** W_cubic(t) in bytes, t in ticks. */
function cubic_cwnd(t: number, wmax: number, maxseg: number, K: number): number {
  const s = (t - K) / 1000;
  return (CUBIC_C * s * s * s + wmax / maxseg) * maxseg;
}

/** W_est(t) in bytes (RFC 9438 §4.3). */
function tf_cwnd(t: number, rtt: number, wmax: number, maxseg: number): number {
  const alpha = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);
  return wmax * CUBIC_BETA + alpha * (t / Math.max(1, rtt)) * maxseg;
}

function cubic_ssthresh_update(ccv: CcVar): void {
  const tp = ccv.tp;
  const s = st(ccv);
  const maxseg = tcp_maxseg(tp);
  /* Fast convergence: a loss before the old maximum means the share shrinks. */
  if (tp.snd_cwnd < s.max_cwnd) s.max_cwnd = (tp.snd_cwnd * (1 + CUBIC_BETA)) / 2;
  else s.max_cwnd = tp.snd_cwnd;
  s.prev_max_cwnd = s.max_cwnd;
  tp.snd_ssthresh = Math.max(Math.floor((tp.snd_cwnd * CUBIC_BETA) / maxseg), 2) * maxseg;
  s.K = cubic_k(s.max_cwnd, maxseg);
  s.t_last_cong = get_ticks();
  s.num_cong_events++;
}

export const cubic_cc_algo: CcAlgo = {
  name: 'cubic',

  cb_init(ccv: CcVar): number {
    ccv.cc_data = {
      max_cwnd: 0,
      prev_max_cwnd: 0,
      K: 0,
      t_last_cong: get_ticks(),
      num_cong_events: 0,
    } satisfies CubicState;
    return 0;
  },

  cb_destroy(ccv: CcVar): void {
    ccv.cc_data = null;
  },

  conn_init(ccv: CcVar): void {
    const s = st(ccv);
    s.max_cwnd = ccv.tp.snd_cwnd;
    s.t_last_cong = get_ticks();
  },

  ack_received(ccv: CcVar, type: number): void {
    const tp = ccv.tp;
    if (type !== CC_ACK || IN_RECOVERY(tp.t_flags) || !(ccv.flags & CCF_CWND_LIMITED)) return;
    const maxseg = tcp_maxseg(tp);
    const limit = TCP_MAXWIN << tp.snd_scale;
    if (tp.snd_cwnd <= tp.snd_ssthresh) {
      const incr = Math.min(ccv.bytes_this_ack, ccv.nsegs * V_tcp_abc_l_var.get() * maxseg);
      tp.snd_cwnd = Math.min(tp.snd_cwnd + incr, limit);
      return;
    }
    const s = st(ccv);
    if (s.num_cong_events === 0) {
      /* No loss yet: behave as NewReno's congestion avoidance until one happens. */
      s.max_cwnd = Math.max(s.max_cwnd, tp.snd_cwnd);
    }
    const rtt = Math.max(1, tp.t_srtt >> TCP_RTT_SHIFT);
    const t = get_ticks() - s.t_last_cong;
    const w_tf = tf_cwnd(t, rtt, s.max_cwnd, maxseg);
    const target = cubic_cwnd(t + rtt, s.max_cwnd, maxseg, s.K);
    let cwnd = tp.snd_cwnd;
    if (target < w_tf) cwnd = Math.max(cwnd, w_tf);
    else if (cwnd < target) cwnd += Math.max(1, ((target - cwnd) * maxseg) / cwnd);
    tp.snd_cwnd = Math.min(Math.floor(cwnd), limit);
  },

  cong_signal(ccv: CcVar, type: number): void {
    const tp = ccv.tp;
    const maxseg = tcp_maxseg(tp);
    switch (type) {
      case CC_NDUPACK:
        if (!IN_FASTRECOVERY(tp.t_flags)) {
          if (!IN_CONGRECOVERY(tp.t_flags)) cubic_ssthresh_update(ccv);
          tp.snd_recover = tp.snd_max;
          tp.t_flags |= TF_FASTRECOVERY | TF_CONGRECOVERY;
        }
        break;
      case CC_ECN:
        if (!IN_CONGRECOVERY(tp.t_flags)) {
          cubic_ssthresh_update(ccv);
          tp.snd_cwnd = tp.snd_ssthresh;
          tp.snd_recover = tp.snd_max;
          tp.t_flags |= TF_CONGRECOVERY;
        }
        break;
      case CC_RTO:
        cubic_ssthresh_update(ccv);
        tp.snd_cwnd = maxseg;
        break;
    }
  },

  post_recovery(ccv: CcVar): void {
    const tp = ccv.tp;
    if (!IN_FASTRECOVERY(tp.t_flags)) return;
    const maxseg = tcp_maxseg(tp);
    const pipe = (tp.snd_max - tp.snd_una) >>> 0;
    tp.snd_cwnd = pipe < tp.snd_ssthresh ? Math.max(pipe, maxseg) + maxseg : tp.snd_ssthresh;
  },

  after_idle(ccv: CcVar): void {
    const tp = ccv.tp;
    const s = st(ccv);
    s.max_cwnd = Math.max(s.max_cwnd, tp.snd_cwnd);
    tp.snd_cwnd = Math.min(tp.snd_cwnd, tcp_compute_initwnd(tcp_maxseg(tp)));
    s.t_last_cong = get_ticks();
  },
};

export default KLD('cc_cubic', ['$Vimage: src/modules/cc_cubic.ts $'], (obj) => {
  DECLARE_MODULE(
    obj,
    {
      name: 'cubic',
      evhand: (what: number) => {
        if (what === MOD_LOAD) return cc_register_algo(cubic_cc_algo);
        if (what === MOD_UNLOAD) return cc_deregister_algo(cubic_cc_algo);
        return 0;
      },
    },
    SI_SUB_PROTO_DOMAIN,
    SI_ORDER_ANY,
  );
  MODULE_VERSION(obj, 'cubic', 2);
});
