/*
 * netinet/cc/cc_newreno.ts — NewReno congestion control (FreeBSD
 * sys/netinet/cc/cc_newreno.c; RFC 5681, RFC 6582), the default algorithm, linked into
 * the kernel image as GENERIC has it.
 *
 *   - ack_received: in slow start cwnd grows by the bytes acknowledged, at most
 *     abc_l_var segments per ACK (RFC 3465); in congestion avoidance by one segment
 *     per window of acknowledged data (CCF_ABC_SENTAWND).  Only when cwnd limited the
 *     sender and not during recovery.
 *   - cong_signal: three duplicate ACKs (CC_NDUPACK) halve ssthresh (at least two
 *     segments) and enter fast recovery; an ECN echo enters congestion recovery; a
 *     retransmission timeout (CC_RTO) sets ssthresh the same way and cwnd to one
 *     segment.
 *   - post_recovery: cwnd = min(ssthresh, flight + 1 segment) (RFC 6582 §3.2 step 3).
 *   - after_idle: cwnd shrinks back to the initial window (RFC 5681 §4.1).
 */

import { DECLARE_MODULE, MODULE_VERSION } from '../../sys/module.js';
import { ObjFile, VIMAGEID } from '../../sys/linker_set.js';
import {
  SI_ORDER_ANY,
  SI_ORDER_FIRST,
  SI_SUB_PROTO_DOMAIN,
  SI_SUB_PROTO_IFATTACHDOMAIN,
  SYSINIT,
} from '../../sys/kernel.js';
import {
  CC_ACK,
  CC_ECN,
  CC_NDUPACK,
  CC_RTO,
  CCF_ABC_SENTAWND,
  CCF_CWND_LIMITED,
  IN_FASTRECOVERY,
  IN_RECOVERY,
  TCP_MAXWIN,
  TF_CONGRECOVERY,
  TF_FASTRECOVERY,
  V_tcp_abc_l_var,
  tcp_maxseg,
  type CcAlgo,
  type CcVar,
} from '../tcp_var.js';
import { cc_register_algo, tcp_compute_initwnd } from './cc.js';

export const K = new ObjFile('netinet/cc/cc_newreno.ts', VIMAGEID('src/netinet/cc/cc_newreno.ts'));

/* The module record FreeBSD's newreno declares (kldstat -v lists it under the kernel). */
DECLARE_MODULE(K, { name: 'newreno', evhand: null }, SI_SUB_PROTO_IFATTACHDOMAIN, SI_ORDER_ANY);
MODULE_VERSION(K, 'newreno', 2);

/** ssthresh after a congestion signal: half the flight, at least two segments. */
export function newreno_ssthresh(ccv: CcVar): number {
  const tp = ccv.tp;
  const maxseg = tcp_maxseg(tp);
  const win = Math.floor(Math.min(tp.snd_wnd, tp.snd_cwnd) / 2 / maxseg);
  return Math.max(2, win) * maxseg;
}

export const newreno_cc_algo: CcAlgo = {
  name: 'newreno',

  ack_received(ccv: CcVar, type: number): void {
    const tp = ccv.tp;
    if (type !== CC_ACK || IN_RECOVERY(tp.t_flags) || !(ccv.flags & CCF_CWND_LIMITED)) return;
    const maxseg = tcp_maxseg(tp);
    let incr: number;
    if (tp.snd_cwnd > tp.snd_ssthresh) {
      if (!(ccv.flags & CCF_ABC_SENTAWND)) return;
      ccv.flags &= ~CCF_ABC_SENTAWND;
      incr = maxseg;
    } else {
      incr = Math.min(ccv.bytes_this_ack, ccv.nsegs * V_tcp_abc_l_var.get() * maxseg);
    }
    tp.snd_cwnd = Math.min(tp.snd_cwnd + incr, TCP_MAXWIN << tp.snd_scale);
  },

  cong_signal(ccv: CcVar, type: number): void {
    const tp = ccv.tp;
    const maxseg = tcp_maxseg(tp);
    switch (type) {
      case CC_NDUPACK:
        if (!IN_FASTRECOVERY(tp.t_flags)) {
          if (!IN_RECOVERY(tp.t_flags)) tp.snd_ssthresh = newreno_ssthresh(ccv);
          tp.snd_recover = tp.snd_max;
          tp.t_flags |= TF_FASTRECOVERY | TF_CONGRECOVERY;
        }
        break;
      case CC_ECN:
        if (!IN_RECOVERY(tp.t_flags)) {
          tp.snd_ssthresh = newreno_ssthresh(ccv);
          tp.snd_cwnd = tp.snd_ssthresh;
          tp.snd_recover = tp.snd_max;
          tp.t_flags |= TF_CONGRECOVERY;
        }
        break;
      case CC_RTO:
        tp.snd_ssthresh = newreno_ssthresh(ccv);
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
    tp.snd_cwnd = Math.min(tp.snd_cwnd, tcp_compute_initwnd(tcp_maxseg(tp)));
  },
};

SYSINIT(K, 'cc_newreno_register', SI_SUB_PROTO_DOMAIN, SI_ORDER_FIRST, () => {
  cc_register_algo(newreno_cc_algo);
});
