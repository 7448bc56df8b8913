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
 * D-SACK (RFC 2883): a receiver that gets data it already has — below rcv_nxt, or
 * inside what its reassembly queue holds — remembers the duplicate range
 * (tcp_dsack_report, the first duplicate of a segment) and its next ACK reports it once
 * as the first SACK block, followed by the queued block that contains it, if any, then
 * the usual blocks (tcp_sack_blocks, §4).  A sender recognises a D-SACK block as §4
 * defines it — a first block at or below the cumulative ACK, or inside the second
 * block — counts it (tcps_dsack_count, tcps_dsack_bytes, FreeBSD's names) and keeps it
 * out of the scoreboard: it says nothing about holes.  Both follow net.inet.tcp.sack.enable
 * through the negotiated SACK-permitted option, as in FreeBSD (no separate switch).
 *
 * Deliberate differences: the "lost" rule is FreeBSD's simple one (every hole below
 * snd_fack) rather than RFC 6675's IsLost() per segment; D-SACKs are counted, not yet
 * used to undo spurious retransmissions (RFC 3708).
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

/**
 * tcp_dsack_report: [start, end) arrived again (a duplicate).  The first duplicate since
 * the last ACK is the one reported (RFC 2883 §4: one D-SACK block per ACK).
 */
export function tcp_dsack_report(tp: Tcpcb, start: number, end: number): void {
  if (tp.t_dsack === null && SEQ_LT(start, end)) tp.t_dsack = [start, end];
}

/**
 * The SACK blocks for the next segment: tp.sackblks, or, with a D-SACK pending, that
 * block first, then the queued block containing it (if any), then the others.
 */
export function tcp_sack_blocks(tp: Tcpcb): readonly (readonly [number, number])[] {
  const d = tp.t_dsack;
  if (d === null) return tp.sackblks;
  const inside = tp.sackblks.find((b) => SEQ_LEQ(b[0], d[0]) && SEQ_LEQ(d[1], b[1]));
  const out: (readonly [number, number])[] = [d];
  if (inside !== undefined) out.push(inside);
  for (const b of tp.sackblks) if (b !== inside) out.push(b);
  return out;
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
  /* A D-SACK block (RFC 2883 §4): the first, at or below the cumulative ACK or inside
   * the second block.  Counted, and not taken for data held above a hole. */
  let first = 0;
  const d = blocks[0];
  if (d !== undefined && SEQ_LT(d[0], d[1])) {
    const b1 = blocks[1];
    if (SEQ_LEQ(d[1], ack) || (b1 !== undefined && SEQ_LEQ(b1[0], d[0]) && SEQ_LEQ(d[1], b1[1]))) {
      TCPSTAT_INC(TCPS_.tcps_dsack_count);
      TCPSTAT_ADD(TCPS_.tcps_dsack_bytes, seq_sub(d[1], d[0]));
      first = 1;
    }
  }
  /* Only a D-SACK, and no scoreboard: nothing to update (as for an ACK without blocks). */
  if (first === blocks.length && tp.t_sacked.length === 0) return;
  let sb = tp.t_sacked
    .filter((r) => SEQ_GT(r[1], ack))
    .map((r): [number, number] => [SEQ_MAX(r[0], ack), r[1]]);
  for (let i = first; i < blocks.length; i++) {
    const [s0, e] = blocks[i]!;
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
