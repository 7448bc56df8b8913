/*
 * netinet/tcp_info.ts — struct tcp_info for getsockopt(TCP_INFO) (FreeBSD
 * netinet/tcp.h, tcp_fill_info in tcp_usrreq.c): the connection's state, options,
 * timers and windows.  Times are microseconds (FreeBSD converts its ticks the same
 * way); the layout follows FreeBSD's field order through tcpi_snd_zerowin, padded to
 * FreeBSD's size.
 */

import { bytes, struct, u8, u32, writeScalar } from '../sys/types.js';
import { sbspace } from '../kern/uipc_sockbuf.js';
import {
  TCP_RTTVAR_SHIFT,
  TCP_RTT_SHIFT,
  TF_RCVD_SCALE,
  TF_RCVD_TSTMP,
  TF_SACK_PERMIT,
  TF_TOE,
  TF2_ECN_PERMIT,
  type Tcpcb,
} from './tcp_var.js';

/* tcpi_options */
export const TCPI_OPT_TIMESTAMPS = 0x01;
export const TCPI_OPT_SACK = 0x02;
export const TCPI_OPT_WSCALE = 0x04;
export const TCPI_OPT_ECN = 0x08;
export const TCPI_OPT_TOE = 0x10;

export const tcp_info_layout = struct('tcp_info', [
  ['tcpi_state', u8],
  ['__tcpi_ca_state', u8],
  ['__tcpi_retransmits', u8],
  ['__tcpi_probes', u8],
  ['__tcpi_backoff', u8],
  ['tcpi_options', u8],
  ['tcpi_snd_rcv_wscale', u8],
  ['_pad0', u8],
  ['tcpi_rto', u32],
  ['__tcpi_ato', u32],
  ['tcpi_snd_mss', u32],
  ['tcpi_rcv_mss', u32],
  ['__tcpi_unacked', u32],
  ['__tcpi_sacked', u32],
  ['__tcpi_lost', u32],
  ['__tcpi_retrans', u32],
  ['__tcpi_fackets', u32],
  ['__tcpi_last_data_sent', u32],
  ['__tcpi_last_ack_sent', u32],
  ['tcpi_last_data_recv', u32],
  ['__tcpi_last_ack_recv', u32],
  ['__tcpi_pmtu', u32],
  ['__tcpi_rcv_ssthresh', u32],
  ['tcpi_rtt', u32],
  ['tcpi_rttvar', u32],
  ['tcpi_snd_ssthresh', u32],
  ['tcpi_snd_cwnd', u32],
  ['__tcpi_advmss', u32],
  ['__tcpi_reordering', u32],
  ['__tcpi_rcv_rtt', u32],
  ['tcpi_rcv_space', u32],
  ['tcpi_snd_wnd', u32],
  ['tcpi_snd_bwnd', u32],
  ['tcpi_snd_nxt', u32],
  ['tcpi_rcv_nxt', u32],
  ['tcpi_toe_tid', u32],
  ['tcpi_snd_rexmitpack', u32],
  ['tcpi_rcv_ooopack', u32],
  ['tcpi_snd_zerowin', u32],
  ['__tcpi_pad', bytes(26 * 4, 4)],
]);

/** tcp_fill_info(tp): the struct's bytes. */
export function tcp_info(tp: Tcpcb): Uint8Array {
  const b = new Uint8Array(tcp_info_layout.size);
  const dv = new DataView(b.buffer);
  const w = (n: string, v: number): void => {
    const f = tcp_info_layout.byName.get(n)!;
    writeScalar(dv, f.offset, f.type, v);
  };
  let opts = 0;
  if (tp.t_flags & TF_RCVD_TSTMP) opts |= TCPI_OPT_TIMESTAMPS;
  if (tp.t_flags & TF_SACK_PERMIT) opts |= TCPI_OPT_SACK;
  if (tp.t_flags & TF_RCVD_SCALE) opts |= TCPI_OPT_WSCALE;
  if (tp.t_flags & TF_TOE) opts |= TCPI_OPT_TOE;
  if (tp.t_flags2 & TF2_ECN_PERMIT) opts |= TCPI_OPT_ECN;
  w('tcpi_state', tp.t_state);
  w('tcpi_options', opts);
  if (tp.t_flags & TF_RCVD_SCALE)
    w('tcpi_snd_rcv_wscale', (tp.snd_scale & 15) | ((tp.rcv_scale & 15) << 4));
  w('tcpi_rto', tp.t_rxtcur * 1000);
  w('tcpi_snd_mss', tp.t_maxseg);
  w('tcpi_rcv_mss', tp.t_maxseg);
  w('tcpi_rtt', ((tp.t_srtt * 1000) >> TCP_RTT_SHIFT) >>> 0);
  w('tcpi_rttvar', ((tp.t_rttvar * 1000) >> TCP_RTTVAR_SHIFT) >>> 0);
  w('tcpi_snd_ssthresh', Math.min(tp.snd_ssthresh, 0xffffffff));
  w('tcpi_snd_cwnd', Math.min(tp.snd_cwnd, 0xffffffff));
  const so = tp.t_inpcb.inp_socket;
  w('tcpi_rcv_space', so !== null ? Math.max(0, sbspace(so.so_rcv)) : 0);
  w('tcpi_snd_wnd', tp.snd_wnd);
  w('tcpi_snd_bwnd', 0);
  w('tcpi_snd_nxt', tp.snd_nxt);
  w('tcpi_rcv_nxt', tp.rcv_nxt);
  w('tcpi_snd_rexmitpack', tp.t_sndrexmitpack);
  w('tcpi_rcv_ooopack', tp.t_rcvoopack);
  w('tcpi_snd_zerowin', tp.t_sndzerowin);
  return b;
}
