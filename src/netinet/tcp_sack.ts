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
 * and sorted (tcp_sack_doack on every ACK that carries blocks, or while a scoreboard
 * exists).  tcp_sack_doack reports whether the ACK changed it (FreeBSD 14's
 * sack_changed), and tcp_input counts a duplicate ACK under SACK only then — whatever
 * its window, which a Linux receiver moves with every out-of-order segment.  The holes
 * below the highest SACKed sequence (snd_fack) are taken as lost once recovery starts
 * (three such duplicates, or more than two segments SACKed: RFC 6675's trigger), and
 * RFC 6675's pipe is then (snd_max - snd_fack) plus what was retransmitted from the
 * holes; tcp_output retransmits the holes first, one segment while cwnd - pipe allows
 * it (tcp_sack_output), and new data after.  A partial ACK keeps recovery going; an
 * ACK at snd_recover ends it.
 *
 * Proportional Rate Reduction (RFC 6937; net.inet.tcp.do_prr, on by default as in
 * FreeBSD 14; do_prr_conservative off): cwnd in recovery is set on every ACK from what
 * the peer received since recovery began (prr_delivered: the cumulative ACK's advance
 * plus the change in SACKed bytes) and what we sent in it (prr_out, counted by
 * tcp_output): while the pipe is at or above ssthresh, sending follows delivery in
 * proportion ssthresh/recover_fs — one new segment per two delivered with newreno —
 * instead of stopping until half a window has drained and then sending one per ACK;
 * below ssthresh it grows back by at most what was delivered plus a segment
 * (tcp_prr_cwnd; tcp_prr_start as an episode begins, also after a lost retransmission).
 *
 * Lost retransmission detection (net.inet.tcp.sack.lrd, FreeBSD 14's default on,
 * tcps_sack_lostrexmt): when data sent after a hole's retransmission is SACKed while
 * the hole is still missing, the retransmission was lost; every hole goes again and the
 * congestion control takes it as a new loss, instead of waiting for the RTO.
 *
 * Rescue retransmission (RFC 6675 §4 NextSeg rule 4, as FreeBSD 14's
 * tcp_sack_partialack with net.inet.tcp.sack.revised on): a partial ACK that leaves
 * nothing SACKed above it, while nothing new was sent in the episode (snd_recover is
 * still snd_max: the sender is application limited), may mean the tail of the window
 * was lost with nothing after it to be SACKed.  The last segment's worth below snd_max
 * (not the FIN) is then retransmitted once (tcp_sack_rescue); what the receiver says
 * of it shows the rest of the holes, where an RTO would otherwise be the only way on.
 *
 * A first retransmission timeout keeps the scoreboard and marks every hole as not
 * retransmitted (tcp_resend_sackholes, FreeBSD 14), and tcp_output's tcp_sack_adjust
 * makes snd_nxt, going back over the window, skip what the peer SACKed; a second
 * timeout forgets it (tcp_free_sackholes), since a receiver may renege (RFC 2018 §8).
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
 * used to undo spurious retransmissions (RFC 3708); PRR uses the pipe above (from
 * snd_max), FreeBSD's default counts from snd_nxt — they differ only while snd_nxt is
 * behind snd_max after a timeout.  Holes share one retransmission point (sack_rxmit)
 * instead of one per hole, and the rescue is kept beside them (sack_rescue) rather than
 * inserted as a hole; LRD compares snd_fack with snd_max at the
 * time of the hole's retransmission (sack_rxmarks) rather than with snd_recover, which
 * takes holes found late in an episode, retransmitted after new data, for lost (see
 * tcp_sack_lost_retransmission).
 */

import { cc_cong_signal } from './cc/cc.js';
import {
  CC_NDUPACK,
  IN_FASTRECOVERY,
  SEQ_GEQ,
  SEQ_GT,
  SEQ_LEQ,
  SEQ_LT,
  SEQ_MAX,
  TCPSTAT_ADD,
  TCPSTAT_INC,
  TCPS_,
  TF_CONGRECOVERY,
  TF_FASTRECOVERY,
  TF_LRD,
  TF_SENTFIN,
  V_tcp_do_newsack,
  V_tcp_do_prr_conservative,
  seq_sub,
  tcp_maxseg,
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

/**
 * tcp_sack_doack: merge the blocks of an ACK into the scoreboard.  Returns FreeBSD's
 * sack_changed: whether the ACK told us something new — bytes SACKed that were not, or
 * (with a scoreboard) a cumulative ACK that took the front of the first hole.  An ACK
 * without a SACK option never counts as a change: a pure cumulative ACK is not a
 * duplicate.  tcp_input counts a duplicate ACK under SACK only when this is true, so
 * window updates and repeated ACKs (a duplicating switch, an attacker) carrying stale
 * blocks do not start a retransmission.
 */
export function tcp_sack_doack(
  tp: Tcpcb,
  blocks: readonly (readonly [number, number])[],
  ack: number,
  hassack: boolean,
): boolean {
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
  /* A rescue retransmission is over once its data is acknowledged (or SACKed, below). */
  if (tp.sack_rescue !== null && SEQ_GEQ(ack, tp.sack_rescue.end)) tp.sack_rescue = null;
  /* Only a D-SACK, and no scoreboard: nothing to update (as for an ACK without blocks). */
  if (first === blocks.length && tp.t_sacked.length === 0) return false;
  /* The front of the first hole always sits at snd_una, so with a scoreboard any
   * advance of the cumulative ACK fills part of a hole (FreeBSD's [snd_una, th_ack)
   * block). */
  let changed = tp.t_sacked.length > 0 && SEQ_GT(ack, tp.snd_una);
  let before = 0;
  let sb = tp.t_sacked
    .filter((r) => SEQ_GT(r[1], ack))
    .map((r): [number, number] => [SEQ_MAX(r[0], ack), r[1]]);
  for (const r of sb) before += seq_sub(r[1], r[0]);
  for (let i = first; i < blocks.length; i++) {
    const [s0, e] = blocks[i]!;
    if (!SEQ_LT(s0, e) || !SEQ_GT(e, ack) || SEQ_GT(e, tp.snd_max)) continue;
    const s = SEQ_MAX(s0, ack);
    sb.push([s, e]);
    TCPSTAT_INC(TCPS_.tcps_sack_rcv_blocks);
  }
  sb.sort((a, b) => seq_sub(a[0], b[0]));
  const merged: [number, number][] = [];
  let after = 0;
  for (const r of sb) {
    const last = merged[merged.length - 1];
    if (last !== undefined && SEQ_GEQ(last[1], r[0])) last[1] = SEQ_MAX(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  for (const r of merged) after += seq_sub(r[1], r[0]);
  if (after > before) changed = true;
  sb = merged;
  tp.t_sacked = sb;
  const r = tp.sack_rescue;
  if (r !== null && sb.some((x) => SEQ_LT(x[0], r.end) && SEQ_GT(x[1], r.start)))
    tp.sack_rescue = null;
  tp.snd_fack = sb.length > 0 ? sb[sb.length - 1]![1] : SEQ_MAX(tp.snd_una, ack);
  if (SEQ_LT(tp.sack_rxmit, ack)) tp.sack_rxmit = ack;
  const marks = tp.sack_rxmarks;
  let gone = 0;
  while (gone < marks.length && SEQ_LEQ(marks[gone]![0], ack)) gone++;
  if (gone > 0) marks.splice(0, gone);
  return hassack && changed;
}

/** The bytes SACKed above the cumulative ACK (FreeBSD's sackhint.sacked_bytes). */
export function tcp_sack_sacked_bytes(tp: Tcpcb): number {
  let n = 0;
  for (const r of tp.t_sacked) n += seq_sub(r[1], r[0]);
  return n;
}

/**
 * tcp_sack_lost_retransmission: FreeBSD 14's lost retransmission detection
 * (net.inet.tcp.sack.lrd).  Holes are retransmitted before any new data goes out in
 * recovery, so once data sent after the recovery point (snd_recover) is SACKed while
 * the first hole, entirely retransmitted, is still not acknowledged, that
 * retransmission was lost too.  Instead of waiting for the RTO, every hole is sent
 * again from the first (ack: the cumulative ACK of the segment, snd_una is not yet
 * moved), and the loss is a new congestion signal: recovery is left and entered again
 * through the congestion control (cwnd at ssthresh first, so the reduction is from
 * there; a new snd_recover at snd_max), cwnd one segment until tcp_input decides what
 * goes now.  Counted in tcps_sack_lostrexmt.  Returns whether it fired.
 */
export function tcp_sack_lost_retransmission(tp: Tcpcb, ack: number): boolean {
  if (!(tp.t_flags & TF_LRD) || !IN_FASTRECOVERY(tp.t_flags)) return false;
  if (!SEQ_GT(tp.snd_fack, tp.snd_recover)) return false;
  const una = SEQ_MAX(tp.snd_una, ack);
  const r = tp.t_sacked[0];
  /* The first hole is [una, r[0]); it must have been retransmitted entirely. */
  if (r === undefined || !SEQ_GT(r[0], una) || SEQ_LT(tp.sack_rxmit, r[0])) return false;
  /* ...and something sent after its last retransmission SACKed.  FreeBSD compares
   * snd_fack with snd_recover; a hole found late in the episode is retransmitted
   * after new data beyond snd_recover went out, and that data's SACK arrives before
   * the retransmission can (a false detection, another cwnd halving: 70 of them per
   * 64 MiB at 1% loss in tcp_transfer).  So the point is snd_max when the hole's last
   * piece left, which is snd_recover whenever no new data had gone yet. */
  let sent_at = tp.snd_recover;
  for (const m of tp.sack_rxmarks)
    if (SEQ_GEQ(m[0], r[0])) {
      if (SEQ_GT(m[1], sent_at)) sent_at = m[1];
      break;
    }
  if (!SEQ_GT(tp.snd_fack, sent_at)) return false;
  TCPSTAT_INC(TCPS_.tcps_sack_lostrexmt);
  tcp_sack_restart(tp, una);
  tp.snd_cwnd = tp.snd_ssthresh;
  tp.t_flags &= ~(TF_FASTRECOVERY | TF_CONGRECOVERY);
  cc_cong_signal(tp, CC_NDUPACK);
  tp.snd_cwnd = tcp_maxseg(tp);
  return true;
}

/**
 * tcp_resend_sackholes: after the first retransmission timeout the scoreboard is kept
 * (FreeBSD 14, after the RFC 2018 erratum: SACK information stays useful past an RTO)
 * and every hole counts as not yet retransmitted.
 */
export function tcp_resend_sackholes(tp: Tcpcb): void {
  tcp_sack_restart(tp, tp.snd_una);
}

/** Every hole from `from` on counts as not retransmitted (a new episode, LRD, RTO). */
export function tcp_sack_restart(tp: Tcpcb, from: number): void {
  tp.sack_rxmit = from;
  tp.sack_rxmarks = [];
  tp.sack_rescue = null;
}

/**
 * tcp_sack_adjust: after a timeout snd_nxt goes back to snd_una; when it reaches data
 * the peer SACKed, it skips to the end of that block (the next hole, or snd_fack), so
 * what the peer holds is not sent again.  tcp_output calls it before each segment.
 */
export function tcp_sack_adjust(tp: Tcpcb): void {
  if (tp.t_sacked.length === 0 || SEQ_GEQ(tp.snd_nxt, tp.snd_fack)) return;
  for (const [s, e] of tp.t_sacked) {
    if (SEQ_LT(tp.snd_nxt, s)) return;
    if (SEQ_LT(tp.snd_nxt, e)) {
      tp.snd_nxt = e;
      return;
    }
  }
}

/** tcp_free_sackholes: forget the scoreboard (RTO, end of recovery). */
export function tcp_free_sackholes(tp: Tcpcb): void {
  tp.t_sacked = [];
  tp.snd_fack = tp.snd_una;
  tcp_sack_restart(tp, tp.snd_una);
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
  const r = tp.sack_rescue;
  if (r !== null && r.sent) pipe += seq_sub(r.end, r.start);
  return pipe;
}

/** PRR's state as a recovery episode begins (FreeBSD's sackhint at the third dupack). */
export function tcp_prr_start(tp: Tcpcb): void {
  tp.prr_delivered = tcp_sack_sacked_bytes(tp);
  tp.prr_out = 0;
  tp.recover_fs = Math.max(1, seq_sub(tp.snd_nxt, tp.snd_una));
}

/**
 * Proportional Rate Reduction (RFC 6937, FreeBSD 14's net.inet.tcp.do_prr): on an ACK
 * in SACK recovery that delivered `delivered` bytes to the peer (the cumulative ACK's
 * advance plus the change in SACKed bytes), how much may go now.  While the pipe is at
 * or above ssthresh the sending follows the delivery in proportion ssthresh/recover_fs
 * (the window comes down smoothly over one round trip instead of stopping and then
 * resuming); below it, it grows back towards ssthresh by at most what was delivered
 * plus one segment (slow start bound; with net.inet.tcp.do_prr_conservative only what
 * was delivered).  The result is set as cwnd: the pipe plus that many whole segments,
 * at least one segment.
 */
export function tcp_prr_cwnd(tp: Tcpcb, delivered: number, maxseg: number): void {
  const pipe = tcp_sack_pipe(tp);
  tp.prr_delivered += delivered;
  let snd_cnt: number;
  if (pipe >= tp.snd_ssthresh) {
    if (tp.recover_fs === 0) tp.recover_fs = Math.max(1, seq_sub(tp.snd_nxt, tp.snd_una));
    snd_cnt = Math.ceil((tp.prr_delivered * tp.snd_ssthresh) / tp.recover_fs) - tp.prr_out;
  } else {
    const limit =
      V_tcp_do_prr_conservative.get() !== 0
        ? tp.prr_delivered - tp.prr_out
        : Math.max(tp.prr_delivered - tp.prr_out, delivered) + maxseg;
    snd_cnt = Math.min(tp.snd_ssthresh - pipe, limit);
  }
  snd_cnt = Math.floor(Math.max(snd_cnt, 0) / maxseg);
  tp.snd_cwnd = Math.max(maxseg, pipe + snd_cnt * maxseg);
}

/** Is there scoreboard state to drive recovery (SACKed data, or a rescue)? */
export function tcp_sack_active(tp: Tcpcb): boolean {
  return tp.t_sacked.length > 0 || tp.sack_rescue !== null;
}

/**
 * tcp_sack_rescue(tp, ack, maxseg): on a partial ACK in SACK recovery that carried no
 * SACK option, arm the rescue retransmission when it applies (see the file comment):
 * [max(ack, high - maxseg), high) with high snd_max less a FIN, unless only the FIN is
 * unacknowledged.  snd_fack comes down to ack: nothing above it is SACKed.
 */
export function tcp_sack_rescue(tp: Tcpcb, ack: number, maxseg: number): void {
  if (
    V_tcp_do_newsack.get() === 0 ||
    !SEQ_LT(ack, tp.snd_recover) ||
    tp.snd_recover !== tp.snd_max ||
    tp.t_sacked.length > 0 ||
    tp.sack_rescue !== null
  )
    return;
  const high = tp.t_flags & TF_SENTFIN ? (tp.snd_max - 1) >>> 0 : tp.snd_max;
  if (ack === high) return;
  tp.snd_fack = ack;
  const from = (high - maxseg) >>> 0;
  tp.sack_rescue = { start: SEQ_GT(from, ack) ? from : ack, end: high, sent: false };
}

/**
 * tcp_sack_output: the next piece of a hole to retransmit, at most maxseg bytes:
 * [seq, len], or null when every hole was retransmitted.
 */
export function tcp_sack_output(tp: Tcpcb, maxseg: number): [number, number] | null {
  for (const [s, e0] of holes(tp)) {
    /* Not beyond the recovery point: a recovery entered after a timeout, while snd_nxt
     * is still going back over old data, leaves that data to snd_nxt (FreeBSD). */
    const e = SEQ_GT(e0, tp.snd_recover) ? tp.snd_recover : e0;
    const from = SEQ_GT(tp.sack_rxmit, s) ? tp.sack_rxmit : s;
    if (SEQ_GEQ(from, e)) continue;
    return [from, Math.min(seq_sub(e, from), maxseg)];
  }
  /* The holes done, a pending rescue goes (once). */
  const r = tp.sack_rescue;
  if (r !== null && !r.sent) {
    const from = SEQ_GT(tp.snd_una, r.start) ? tp.snd_una : r.start;
    if (SEQ_LT(from, r.end)) return [from, Math.min(seq_sub(r.end, from), maxseg)];
  }
  return null;
}

/** A hole segment went out. */
export function tcp_sack_sent(tp: Tcpcb, seq: number, len: number): void {
  TCPSTAT_INC(TCPS_.tcps_sack_rexmits);
  TCPSTAT_ADD(TCPS_.tcps_sack_rexmit_bytes, len);
  /* The rescue is not a hole: the holes' retransmission point stays where it is. */
  const r = tp.sack_rescue;
  if (r !== null && !r.sent && SEQ_GEQ(seq, tp.snd_fack)) {
    r.sent = true;
    return;
  }
  tp.sack_rxmit = (seq + len) >>> 0;
  /* Where this retransmission sits among what was sent (LRD): one mark per snd_max. */
  const marks = tp.sack_rxmarks;
  const last = marks[marks.length - 1];
  if (last !== undefined && last[1] === tp.snd_max) last[0] = tp.sack_rxmit;
  else marks.push([tp.sack_rxmit, tp.snd_max]);
}
