/*
 * netinet/tcp_sack.ts — selective acknowledgements (FreeBSD sys/netinet/tcp_sack.c;
 * RFC 2018, RFC 6675).
 *
 * Receiver: while the reassembly queue holds data, every ACK reports it in SACK blocks
 * (tcp_update_sack_list): the block holding the segment that arrived last comes first,
 * the earlier ones follow in the order they were reported, blocks at or below rcv_nxt
 * are dropped; tcp_output sends as many as fit (3 beside timestamps, 4 without).
 *
 * Sender: the scoreboard (t_sacked) is the list of SACKed ranges above snd_una, merged
 * and sorted (tcp_sack_doack on every ACK that carries blocks).  The holes below the
 * highest SACKed sequence (snd_fack) are taken as lost once recovery starts (three
 * duplicate ACKs), and RFC 6675's pipe is then (snd_max - snd_fack) plus what was
 * retransmitted from the holes; tcp_output retransmits the holes first, one segment
 * while cwnd - pipe allows it (tcp_sack_output), and new data after.  A partial ACK
 * keeps recovery going; an ACK at snd_recover ends it; a retransmission timeout
 * forgets the scoreboard (tcp_free_sackholes), as FreeBSD does.
 *
 * Deliberate differences: no D-SACK generation, the "lost" rule is FreeBSD's simple one
 * (every hole below snd_fack) rather than RFC 6675's IsLost() per segment.
 */

import {
  SEQ_GEQ,
  SEQ_GT,
  SEQ_LEQ,
  SEQ_LT,
  SEQ_MAX,
  TCPSTAT_ADD,
  TCPSTAT_INC,
  TCPS_,
  seq_sub,
  type Tcpcb,
} from './tcp_var.js';

export const MAX_SACK_BLKS = 6;
export const TCP_MAX_SACK = 4;

/* ------------------------------------------------------------------------------ */
/* Receiver                                                                         */

/** The contiguous ranges the reassembly queue holds, in sequence order. */
function segq_ranges(tp: Tcpcb): [number, number][] {
  const out: [number, number][] = [];
  for (const e of tp.t_segq) {
    const end = (e.seq + e.len) >>> 0;
    const last = out[out.length - 1];
    if (last !== undefined && SEQ_GEQ(last[1], e.seq)) last[1] = SEQ_MAX(last[1], end);
    else out.push([e.seq, end]);
  }
  return out;
}

/** tcp_update_sack_list: an out-of-order segment [start, end) was queued. */
export function tcp_update_sack_list(tp: Tcpcb, start: number): void {
  const ranges = segq_ranges(tp);
  const find = (s: number): [number, number] | undefined =>
    ranges.find((r) => SEQ_LEQ(r[0], s) && SEQ_LT(s, r[1]));
  const out: [number, number][] = [];
  const first = find(start);
  if (first !== undefined) out.push(first);
  for (const b of tp.sackblks) {
    const r = find(b[0]);
    if (r !== undefined && !out.includes(r)) out.push(r);
    if (out.length >= MAX_SACK_BLKS) break;
  }
  tp.sackblks = out.map((r) => [r[0], r[1]]);
}

/** Drop the blocks the cumulative ACK point has reached (tcp_clean_sackreport). */
export function tcp_clean_sackreport(tp: Tcpcb): void {
  if (tp.t_segq.length === 0) {
    tp.sackblks = [];
    return;
  }
  tp.sackblks = tp.sackblks.filter((b) => SEQ_GT(b[1], tp.rcv_nxt));
}

/* ------------------------------------------------------------------------------ */
/* Sender                                                                           */

/** tcp_sack_doack: merge the blocks of an ACK into the scoreboard. */
export function tcp_sack_doack(
  tp: Tcpcb,
  blocks: readonly (readonly [number, number])[],
  ack: number,
): void {
  let sb = tp.t_sacked
    .filter((r) => SEQ_GT(r[1], ack))
    .map((r): [number, number] => [SEQ_MAX(r[0], ack), r[1]]);
  for (const [s0, e] of blocks) {
    if (!SEQ_LT(s0, e) || !SEQ_GT(e, ack) || SEQ_GT(e, tp.snd_max)) continue;
    const s = SEQ_MAX(s0, ack);
    sb.push([s, e]);
    TCPSTAT_INC(TCPS_.tcps_sack_rcv_blocks);
  }
  sb.sort((a, b) => seq_sub(a[0], b[0]));
  const merged: [number, number][] = [];
  for (const r of sb) {
    const last = merged[merged.length - 1];
    if (last !== undefined && SEQ_GEQ(last[1], r[0])) last[1] = SEQ_MAX(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  sb = merged;
  tp.t_sacked = sb;
  tp.snd_fack = sb.length > 0 ? sb[sb.length - 1]![1] : tp.snd_una;
  if (SEQ_LT(tp.sack_rxmit, ack)) tp.sack_rxmit = ack;
}

/** tcp_free_sackholes: forget the scoreboard (RTO, end of recovery). */
export function tcp_free_sackholes(tp: Tcpcb): void {
  tp.t_sacked = [];
  tp.snd_fack = tp.snd_una;
  tp.sack_rxmit = tp.snd_una;
}

/** The holes (not SACKed) between snd_una and snd_fack. */
function holes(tp: Tcpcb): [number, number][] {
  const out: [number, number][] = [];
  let at = tp.snd_una;
  for (const [s, e] of tp.t_sacked) {
    if (SEQ_GT(s, at)) out.push([at, s]);
    at = SEQ_MAX(at, e);
  }
  return out;
}

/** RFC 6675 pipe: in flight beyond snd_fack, plus hole bytes retransmitted. */
export function tcp_sack_pipe(tp: Tcpcb): number {
  let pipe = Math.max(0, seq_sub(tp.snd_max, tp.snd_fack));
  for (const [s, e] of holes(tp)) {
    if (SEQ_LEQ(tp.sack_rxmit, s)) break;
    pipe += seq_sub(SEQ_LT(tp.sack_rxmit, e) ? tp.sack_rxmit : e, s);
  }
  return pipe;
}

/** Is there scoreboard state to drive recovery? */
export function tcp_sack_active(tp: Tcpcb): boolean {
  return tp.t_sacked.length > 0;
}

/**
 * tcp_sack_output: the next piece of a hole to retransmit, at most maxseg bytes:
 * [seq, len], or null when every hole was retransmitted.
 */
export function tcp_sack_output(tp: Tcpcb, maxseg: number): [number, number] | null {
  for (const [s, e] of holes(tp)) {
    const from = SEQ_GT(tp.sack_rxmit, s) ? tp.sack_rxmit : s;
    if (SEQ_GEQ(from, e)) continue;
    return [from, Math.min(seq_sub(e, from), maxseg)];
  }
  return null;
}

/** A hole segment went out. */
export function tcp_sack_sent(tp: Tcpcb, seq: number, len: number): void {
  tp.sack_rxmit = (seq + len) >>> 0;
  TCPSTAT_INC(TCPS_.tcps_sack_rexmits);
  TCPSTAT_ADD(TCPS_.tcps_sack_rexmit_bytes, len);
}
