/*
 * netinet/cc/cc.ts — the congestion control framework (FreeBSD sys/netinet/cc/cc.c):
 * a per-kernel list of algorithms, the default per vnet (net.inet.tcp.cc.algorithm),
 * net.inet.tcp.cc.available, and the glue tcp_input/tcp_timer call (cc_ack_received,
 * cc_cong_signal, cc_post_recovery, cc_after_idle, cc_conn_init).
 *
 * Algorithms register with cc_register_algo(k, algo) — the kernel image's newreno at
 * boot, others from their module's MOD_LOAD (cc_cubic.ko) — and leave with
 * cc_deregister_algo, which fails with EBUSY while a connection uses them, as
 * FreeBSD's does.  A connection keeps the algorithm it started with; changing the
 * default affects new connections only.  TCP_CONGESTION switches one connection.
 */

import { ObjFile, VIMAGEID } from '../../sys/linker_set.js';
import { EBUSY, EEXIST, ENOENT } from '../../sys/errno.js';
import {
  CTLFLAG_RD,
  CTLFLAG_RW,
  CTLFLAG_VNET,
  CTLTYPE_STRING,
  SYSCTL_NODE,
  SYSCTL_OUT,
  SYSCTL_PROC,
} from '../../sys/sysctl.js';
import { VNET_DEFINE_BYTES, type VnetBytes } from '../../net/vnet.js';
import { bytes } from '../../sys/types.js';
import { curkernel } from '../../kern/kern_cur.js';
import type { Kernel } from '../../kern/kernel.js';
import {
  CC_ACK,
  CC_ECN,
  CC_NDUPACK,
  CCF_ABC_SENTAWND,
  CCF_CWND_LIMITED,
  IN_CONGRECOVERY,
  IN_FASTRECOVERY,
  IN_RECOVERY,
  TCPSTAT_INC,
  TCPS_,
  TF2_ECN_PERMIT,
  TF2_ECN_SND_CWR,
  TCP_CA_NAME_MAX,
  TCP_RTTVAR_SCALE,
  TCP_RTT_SCALE,
  TCPTV_REXMTMAX,
  TCPT_RANGESET,
  V_tcp_initcwnd_segments,
  tcp_maxseg,
  type CcAlgo,
  type Tcpcb,
} from '../tcp_var.js';
import { tcp_hc_get } from '../tcp_hostcache.js';

export const K = new ObjFile('netinet/cc/cc.ts', VIMAGEID('src/netinet/cc/cc.ts'));

interface CcGlobals {
  readonly list: CcAlgo[];
  /** Connections using each algorithm (cc_refcount). */
  readonly refs: Map<CcAlgo, number>;
}

function cc_globals(k: Kernel = curkernel()): CcGlobals {
  let g = k.netglobal['cc'] as CcGlobals | undefined;
  if (g === undefined) k.netglobal['cc'] = g = { list: [], refs: new Map() };
  return g;
}

/** cc_register_algo: EEXIST when the name is taken. */
export function cc_register_algo(algo: CcAlgo, k: Kernel = curkernel()): number {
  const g = cc_globals(k);
  if (g.list.some((a) => a.name === algo.name)) return EEXIST;
  g.list.push(algo);
  return 0;
}

/** cc_deregister_algo: EBUSY while a connection uses it, ENOENT when unknown. */
export function cc_deregister_algo(algo: CcAlgo, k: Kernel = curkernel()): number {
  const g = cc_globals(k);
  const i = g.list.indexOf(algo);
  if (i < 0) return ENOENT;
  if ((g.refs.get(algo) ?? 0) > 0) return EBUSY;
  g.list.splice(i, 1);
  /* cc_checkreset_default: vnets that chose it go back to newreno. */
  for (const v of k.vimage ? k.vnet_head : [k.vnet0]) {
    const b = V_default_cc_name.bytes(v);
    if (new TextDecoder().decode(b.subarray(0, b.indexOf(0))) === algo.name) b.fill(0);
  }
  return 0;
}

export function cc_findalgo(name: string, k: Kernel = curkernel()): CcAlgo | null {
  return cc_globals(k).list.find((a) => a.name === name) ?? null;
}

/** The vnet's default algorithm name (V_default_cc_ptr). */
export const V_default_cc_name: VnetBytes = VNET_DEFINE_BYTES(
  K,
  'default_cc_name',
  bytes(TCP_CA_NAME_MAX),
);

function default_name(): string {
  const b = V_default_cc_name.bytes();
  const z = b.indexOf(0);
  const s = new TextDecoder().decode(z < 0 ? b : b.subarray(0, z));
  return s === '' ? 'newreno' : s;
}

/** The algorithm new connections of this vnet get. */
export function cc_default_algo(): CcAlgo {
  const g = cc_globals();
  return cc_findalgo(default_name()) ?? g.list[0]!;
}

SYSCTL_NODE(K, 'net.inet.tcp.cc', CTLFLAG_RW, 'Congestion control related settings');
SYSCTL_PROC(
  K,
  'net.inet.tcp.cc.algorithm',
  CTLTYPE_STRING | CTLFLAG_RW | CTLFLAG_VNET,
  (_o, req) => {
    if (req.newptr !== null) {
      const z = req.newptr.indexOf(0);
      const name = new TextDecoder().decode(z < 0 ? req.newptr : req.newptr.subarray(0, z));
      if (cc_findalgo(name) === null) return ENOENT;
      const b = V_default_cc_name.bytes();
      b.fill(0);
      b.set(new TextEncoder().encode(name).subarray(0, TCP_CA_NAME_MAX - 1));
      return 0;
    }
    return SYSCTL_OUT(req, new TextEncoder().encode(default_name() + '\0'));
  },
  'A',
  'Default congestion control algorithm',
);
SYSCTL_PROC(
  K,
  'net.inet.tcp.cc.available',
  CTLTYPE_STRING | CTLFLAG_RD,
  (_o, req) =>
    SYSCTL_OUT(
      req,
      new TextEncoder().encode(
        cc_globals()
          .list.map((a) => a.name)
          .join(', ') + '\0',
      ),
    ),
  'A',
  'List available congestion control algorithms',
);

/* ------------------------------------------------------------------------------ */
/* The hooks tcp calls.                                                             */

/** Attach algo to tp (tcp_newtcpcb, TCP_CONGESTION). */
export function cc_attach(tp: Tcpcb, algo: CcAlgo): number {
  const g = cc_globals();
  tp.ccv.cc_data = null;
  const e = algo.cb_init?.(tp.ccv) ?? 0;
  if (e !== 0) return e;
  tp.cc_algo = algo;
  g.refs.set(algo, (g.refs.get(algo) ?? 0) + 1);
  return 0;
}

/** Detach tp's algorithm (tcp_discardcb, TCP_CONGESTION). */
export function cc_detach(tp: Tcpcb): void {
  const g = cc_globals();
  tp.cc_algo.cb_destroy?.(tp.ccv);
  g.refs.set(tp.cc_algo, Math.max(0, (g.refs.get(tp.cc_algo) ?? 1) - 1));
}

/** tcp_compute_initwnd (RFC 6928): initcwnd_segments segments, at least 2. */
export function tcp_compute_initwnd(maxseg: number): number {
  const n = V_tcp_initcwnd_segments.get();
  if (n > 0) return Math.max(2, n) * maxseg;
  return Math.min(4 * maxseg, Math.max(2 * maxseg, 4380));
}

/** cc_conn_init: the initial window once the handshake is done. */
export function cc_conn_init(tp: Tcpcb): void {
  const maxseg = tcp_maxseg(tp);
  /* What the host cache knows of the peer: the first RTO from an earlier connection's
   * RTT (no sample yet), ssthresh from its losses (not below two segments). */
  const m = tcp_hc_get(tp.t_inpcb.inp_faddr);
  if (m !== null) {
    if (tp.t_srtt === 0 && m.rtt !== 0) {
      tp.t_srtt = m.rtt;
      TCPSTAT_INC(TCPS_.tcps_usedrtt);
      if (m.rttvar !== 0) {
        tp.t_rttvar = m.rttvar;
        TCPSTAT_INC(TCPS_.tcps_usedrttvar);
      } else tp.t_rttvar = Math.floor((tp.t_srtt * TCP_RTTVAR_SCALE) / TCP_RTT_SCALE);
      tp.t_rxtcur = TCPT_RANGESET(
        ((tp.t_srtt >> 2) + tp.t_rttvar) >> 1,
        tp.t_rttmin,
        TCPTV_REXMTMAX,
      );
    }
    if (m.ssthresh !== 0) {
      tp.snd_ssthresh = Math.max(2 * maxseg, m.ssthresh);
      TCPSTAT_INC(TCPS_.tcps_usedssthresh);
    }
  }
  tp.snd_cwnd = tcp_compute_initwnd(maxseg);
  tp.cc_algo.conn_init?.(tp.ccv);
}

/** cc_ack_received (tcp_input.c): ABC accounting, then the algorithm. */
export function cc_ack_received(tp: Tcpcb, nsegs: number, type: number, bytes: number): void {
  const ccv = tp.ccv;
  ccv.nsegs = nsegs;
  ccv.bytes_this_ack = bytes;
  if (tp.snd_cwnd <= tp.snd_wnd) ccv.flags |= CCF_CWND_LIMITED;
  else ccv.flags &= ~CCF_CWND_LIMITED;
  if (type === CC_ACK) {
    if (tp.snd_cwnd > tp.snd_ssthresh) {
      tp.t_bytes_acked += Math.min(bytes, nsegs * 2 * tcp_maxseg(tp));
      if (tp.t_bytes_acked >= tp.snd_cwnd) {
        tp.t_bytes_acked -= tp.snd_cwnd;
        ccv.flags |= CCF_ABC_SENTAWND;
      }
    } else {
      ccv.flags &= ~CCF_ABC_SENTAWND;
      tp.t_bytes_acked = 0;
    }
  }
  tp.cc_algo.ack_received?.(ccv, type);
}

/**
 * cc_cong_signal: tcp_input.c's part first, then the algorithm's.  An ECN echo outside
 * congestion recovery is a reduction (tcps_ecn_rcwnd) that the peer must hear of: CWR
 * goes on our next new data segment (RFC 3168 §6.1.2); so does a fast retransmit's on
 * an ECN-permitted connection, as in FreeBSD.  The algorithm enters the recovery that
 * makes the next echoes of the same window count for nothing.
 */
export function cc_cong_signal(tp: Tcpcb, type: number): void {
  switch (type) {
    case CC_NDUPACK:
      if (!IN_FASTRECOVERY(tp.t_flags) && tp.t_flags2 & TF2_ECN_PERMIT)
        tp.t_flags2 |= TF2_ECN_SND_CWR;
      break;
    case CC_ECN:
      if (!IN_CONGRECOVERY(tp.t_flags)) {
        TCPSTAT_INC(TCPS_.tcps_ecn_rcwnd);
        if (tp.t_flags2 & TF2_ECN_PERMIT) tp.t_flags2 |= TF2_ECN_SND_CWR;
      }
      break;
  }
  tp.cc_algo.cong_signal?.(tp.ccv, type);
}

/** cc_post_recovery: leaving fast recovery. */
export function cc_post_recovery(tp: Tcpcb): void {
  tp.cc_algo.post_recovery?.(tp.ccv);
  tp.t_bytes_acked = 0;
}

/** cc_after_idle: restart after an idle period (RFC 5681 §4.1). */
export function cc_after_idle(tp: Tcpcb): void {
  if (IN_RECOVERY(tp.t_flags)) return;
  tp.cc_algo.after_idle?.(tp.ccv);
}
