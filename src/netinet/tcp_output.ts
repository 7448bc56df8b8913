/*
 * netinet/tcp_output.ts — sending segments (FreeBSD sys/netinet/tcp_output.c).
 *
 * tcp_output(tp) decides whether a segment should go now and builds it, following
 * FreeBSD's order: the usable window is min(snd_wnd, snd_cwnd); data is sent when a
 * full segment is ready, when the connection is idle or TCP_NODELAY is set and this
 * is the end of what was written (Nagle, RFC 896; TCP_NOPUSH holds it), when forced by
 * the persist timer, when it is at least half the largest window the peer offered, or
 * when retransmitting; a window update when it grows by two segments or half the
 * buffer; SYN, FIN, RST and pending ACKs always.  A zero window with data waiting
 * starts the persist timer.
 *
 * Options, in the order FreeBSD's tcp_addoptions writes them: MSS, NOP+window scale,
 * SACK permitted, timestamps (padded with NOPs to FreeBSD's alignments), EOL padding to
 * 4 bytes — so a SYN carries 02 04 mss 01 03 03 ws 04 02 08 0a tsval tsecr.
 *
 * Each segment updates snd_nxt/snd_max, times one segment per window for the RTT
 * (when there are no timestamps), arms the retransmission timer and counts in
 * tcpstat (sndpack/sndbyte, sndrexmitpack/byte, sndacks, sndprobe, sndwinup,
 * sndctrl).  Send buffer autotuning (net.inet.tcp.sendbuf_auto) grows so_snd by
 * sendbuf_inc when the window in flight nears it.
 */

import { mtod } from '../sys/mbuf.js';
import { curkernel } from '../kern/kern_cur.js';
import { get_ticks } from '../kern/kern_clock.js';
import { sbavail, sbcopy, sbreserve, sbspace } from '../kern/uipc_sockbuf.js';
import { BKPT } from '../kern/subr_kdb.js';
import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SB_AUTOSIZE } from '../sys/socketvar.js';
import { SO_DONTROUTE } from '../sys/socket.js';
import { EHOSTDOWN, EHOSTUNREACH, EMSGSIZE, ENETDOWN, ENETUNREACH, ENOBUFS } from '../sys/errno.js';
import { IPPROTO_TCP, in_addr_write } from './in.js';
import { in_cksum_l4 } from './in_cksum.js';
import { ip_output, IP_ROUTETOIF } from './ip_output.js';
import {
  IN_FASTRECOVERY,
  MAX_TCPOPTLEN,
  SEQ_GT,
  SEQ_LT,
  TCPOLEN_MAXSEG,
  TCPOLEN_SACK_PERMITTED,
  TCPOLEN_TIMESTAMP,
  TCPOLEN_WINDOW,
  TCPOPT_EOL,
  TCPOPT_MAXSEG,
  TCPOPT_NOP,
  TCPOPT_SACK,
  TCPOPT_SACK_PERMITTED,
  TCPOPT_TIMESTAMP,
  TCPOPT_WINDOW,
  TCPS_ESTABLISHED,
  TCPS_SYN_RECEIVED,
  TCPS_SYN_SENT,
  TCPSTAT_ADD,
  TCPSTAT_INC,
  TCPS_,
  TCP_MAXWIN,
  TF_ACKNOW,
  TF_DELACK,
  TF_FORCEDATA,
  TF_LASTIDLE,
  TF_NODELAY,
  TF_NOOPT,
  TF_NOPUSH,
  TF_RCVD_SCALE,
  TF_RCVD_TSTMP,
  TF_REQ_SCALE,
  TF_REQ_TSTMP,
  TF_RXWIN0SENT,
  TF_SACK_PERMIT,
  TF_SENTFIN,
  TH_ACK,
  TH_FIN,
  TH_PUSH,
  TH_RST,
  TH_SYN,
  TT_DELACK,
  TT_PERSIST,
  TT_REXMT,
  V_tcp_autosndbuf_inc,
  V_tcp_autosndbuf_max,
  V_tcp_do_autosndbuf,
  V_tcp_do_sack,
  seq_add,
  seq_sub,
  tcp_maxseg,
  tcp_outflags,
  type Tcpcb,
} from './tcp_var.js';
import { tcp_setpersist, tcp_timer_activate, tcp_timer_active } from './tcp_timer.js';
import { tcp_mssopt, tcp_ts_getticks, wr32 } from './tcp_subr.js';
import { cc_after_idle } from './cc/cc.js';
import { tcp_sack_active, tcp_sack_output, tcp_sack_pipe, tcp_sack_sent } from './tcp_sack.js';

export const K = new ObjFile('netinet/tcp_output.ts', VIMAGEID('src/netinet/tcp_output.ts'));
const S_tcp_output = K.TEXT('tcp_output');

/** What tcp_addoptions writes. */
export interface TcpOpts {
  mss?: number;
  wscale?: number;
  sackok?: boolean;
  ts?: readonly [number, number];
  sacks?: readonly (readonly [number, number])[];
}

/**
 * tcp_addoptions: the option bytes, in FreeBSD's order and alignment (MSS, window
 * scale after a NOP, SACK permitted, timestamps after NOPs so they start at 2 mod 4),
 * padded with EOL to a multiple of 4.
 */
export function tcp_addoptions(o: TcpOpts): Uint8Array {
  const out: number[] = [];
  if (o.mss !== undefined) out.push(TCPOPT_MAXSEG, TCPOLEN_MAXSEG, o.mss >>> 8, o.mss & 0xff);
  if (o.wscale !== undefined) {
    while (out.length === 0 || out.length % 2 !== 1) out.push(TCPOPT_NOP);
    out.push(TCPOPT_WINDOW, TCPOLEN_WINDOW, o.wscale);
  }
  if (o.sackok) {
    while (out.length % 2 !== 0) out.push(TCPOPT_NOP);
    out.push(TCPOPT_SACK_PERMITTED, TCPOLEN_SACK_PERMITTED);
  }
  if (o.ts !== undefined) {
    while (out.length === 0 || out.length % 4 !== 2) out.push(TCPOPT_NOP);
    out.push(TCPOPT_TIMESTAMP, TCPOLEN_TIMESTAMP);
    for (const v of o.ts)
      out.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  }
  if (o.sacks !== undefined && o.sacks.length > 0) {
    while (out.length % 4 !== 2) out.push(TCPOPT_NOP);
    const n = Math.min(o.sacks.length, Math.floor((MAX_TCPOPTLEN - out.length - 2) / 8));
    out.push(TCPOPT_SACK, 2 + 8 * n);
    for (let i = 0; i < n; i++)
      for (const v of o.sacks[i]!)
        out.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  }
  while (out.length % 4 !== 0) out.push(TCPOPT_EOL);
  return Uint8Array.from(out);
}

/**
 * Build and send one segment from laddr:lport to faddr:fport with the given header
 * fields, options and payload.  Returns ip_output's errno.
 */
export function tcp_ip_output(
  laddr: number,
  lport: number,
  faddr: number,
  fport: number,
  seq: number,
  ack: number,
  flags: number,
  win: number,
  opt: Uint8Array,
  /** Writes the dlen data bytes at dst[at] (straight from the socket buffer). */
  fill: ((dst: Uint8Array, at: number) => void) | null,
  dlen: number,
  ttl: number,
  tos: number,
  ipflags: number,
  df: boolean,
): number {
  const k = curkernel();
  const hlen = 20 + opt.length;
  const total = 20 + hlen + dlen;
  const m = k.mbpool.m_gethdr(total);
  if (m === null) return ENOBUFS;
  const b = mtod(m);
  b[0] = 0x45;
  b[1] = tos;
  b[2] = total >>> 8;
  b[3] = total & 0xff;
  b[4] = b[5] = 0;
  b[6] = df ? 0x40 : 0;
  b[7] = 0;
  b[8] = ttl;
  b[9] = IPPROTO_TCP;
  b[10] = b[11] = 0;
  in_addr_write(b, 12, laddr);
  in_addr_write(b, 16, faddr);
  const t = 20;
  b[t] = lport >>> 8;
  b[t + 1] = lport & 0xff;
  b[t + 2] = fport >>> 8;
  b[t + 3] = fport & 0xff;
  wr32(b, t + 4, seq);
  wr32(b, t + 8, ack);
  b[t + 12] = (hlen >>> 2) << 4;
  b[t + 13] = flags;
  b[t + 14] = (win >>> 8) & 0xff;
  b[t + 15] = win & 0xff;
  b[t + 16] = b[t + 17] = 0;
  b[t + 18] = b[t + 19] = 0;
  b.set(opt, t + 20);
  if (dlen > 0 && fill !== null) fill(b, t + hlen);
  const s = in_cksum_l4(b, t, hlen + dlen, laddr, faddr, IPPROTO_TCP);
  b[t + 16] = s >>> 8;
  b[t + 17] = s & 0xff;
  return ip_output(m, null, null, ipflags, null, null);
}

/** The window scale we ask for: the smallest that covers the largest buffer. */
export function tcp_request_scale(sb_max: number): number {
  let s = 0;
  while (s < 14 && TCP_MAXWIN << s < sb_max) s++;
  return s;
}

/** tcp_output(tp): send what should be sent now.  Returns an errno (0 usually). */
export function tcp_output(tp: Tcpcb): number {
  BKPT(S_tcp_output);
  const inp = tp.t_inpcb;
  const so = inp.inp_socket;
  if (so === null) return 0;
  const snd = so.so_snd;
  const rcv = so.so_rcv;
  /* Idle for more than an RTO: restart from the initial window (RFC 5681 §4.1). */
  const idle = tp.t_flags & TF_LASTIDLE || tp.snd_max === tp.snd_una;
  if (idle && get_ticks() - tp.t_rcvtime >= tp.t_rxtcur) cc_after_idle(tp);
  tp.t_flags &= ~TF_LASTIDLE;
  for (let loops = 0; loops < 1000; loops++) {
    let sendalot = false;
    const maxseg = tcp_maxseg(tp);
    let off = seq_sub(tp.snd_nxt, tp.snd_una);
    let sendwin = Math.min(tp.snd_wnd, tp.snd_cwnd);
    let flags = tcp_outflags[tp.t_state]!;
    if (tp.t_flags & TF_FORCEDATA) {
      if (sendwin === 0) {
        if (off < sbavail(snd)) sendwin = 1;
      } else {
        tcp_timer_activate(tp, TT_PERSIST, 0);
        tp.t_rxtshift = 0;
      }
    }
    /* SACK recovery (RFC 6675): holes first while cwnd - pipe allows, then new data. */
    let sack_rxmit = false;
    let sack_seq = 0;
    let sack_len = 0;
    const in_sack_recovery =
      (tp.t_flags & TF_SACK_PERMIT) !== 0 && IN_FASTRECOVERY(tp.t_flags) && tcp_sack_active(tp);
    if (in_sack_recovery) {
      const avail = tp.snd_cwnd - tcp_sack_pipe(tp);
      const hole = avail > 0 ? tcp_sack_output(tp, maxseg) : null;
      if (hole !== null) {
        sack_rxmit = true;
        sack_seq = hole[0];
        sack_len = hole[1];
      } else sendwin = Math.min(tp.snd_wnd, off + Math.max(0, avail));
    }
    let len = sack_rxmit ? 0 : Math.min(sbavail(snd), sendwin) - off;
    /* The SYN occupies a sequence number: once sent, it is not sent again except
     * from SYN_RECEIVED (where the SYN-ACK is repeated until acknowledged). */
    if (flags & TH_SYN && SEQ_GT(tp.snd_nxt, tp.snd_una)) {
      if (tp.t_state !== TCPS_SYN_RECEIVED) flags &= ~TH_SYN;
      off--;
      len++;
    }
    if (flags & TH_SYN) len = 0;
    if (len < 0) {
      len = 0;
      if (sendwin === 0) {
        tcp_timer_activate(tp, TT_REXMT, 0);
        tp.t_rxtshift = 0;
        tp.snd_nxt = tp.snd_una;
        if (!tcp_timer_active(tp, TT_PERSIST)) tcp_setpersist(tp);
      }
    }
    if (sack_rxmit) {
      off = seq_sub(sack_seq, tp.snd_una);
      len = Math.min(sack_len, Math.max(0, sbavail(snd) - off));
      sendalot = true;
    }
    if (len > maxseg) {
      len = maxseg;
      sendalot = true;
    }
    if (sack_rxmit || SEQ_LT(seq_add(tp.snd_nxt, len), seq_add(tp.snd_una, sbavail(snd))))
      flags &= ~TH_FIN;
    /* Send buffer autotuning (FreeBSD's tcp_sndbuf_autoscale). */
    if (
      V_tcp_do_autosndbuf.get() !== 0 &&
      snd.sb_flags & SB_AUTOSIZE &&
      sbavail(snd) >= (snd.sb_hiwat / 8) * 7 &&
      sbavail(snd) < V_tcp_autosndbuf_max.get() &&
      sendwin >= sbavail(snd) - off
    )
      sbreserve(
        snd,
        Math.min(snd.sb_hiwat + V_tcp_autosndbuf_inc.get(), V_tcp_autosndbuf_max.get()),
      );
    let recwin = sbspace(rcv);
    if (recwin < rcv.sb_hiwat / 4 && recwin < maxseg) recwin = 0;
    if (recwin > TCP_MAXWIN << tp.rcv_scale) recwin = TCP_MAXWIN << tp.rcv_scale;

    let send = sack_rxmit && len > 0;
    if (!send && len > 0) {
      if (len >= maxseg) send = true;
      else if (
        (idle || tp.t_flags & TF_NODELAY) &&
        len + off >= sbavail(snd) &&
        !(tp.t_flags & TF_NOPUSH)
      )
        send = true;
      else if (tp.t_flags & TF_FORCEDATA) send = true;
      else if (tp.max_sndwnd > 0 && len >= tp.max_sndwnd / 2) send = true;
      else if (SEQ_LT(tp.snd_nxt, tp.snd_max)) send = true;
    }
    if (!send && recwin > 0) {
      const adv = recwin - seq_sub(tp.rcv_adv, tp.rcv_nxt);
      const oldwin = seq_sub(tp.rcv_adv, tp.rcv_nxt);
      if (oldwin === 0 && adv > 0 && tp.t_state >= TCPS_ESTABLISHED) send = true;
      else if (
        adv >= 2 * maxseg &&
        (adv >= rcv.sb_hiwat / 4 || recwin <= rcv.sb_hiwat / 8 || rcv.sb_hiwat <= 8 * maxseg)
      )
        send = true;
      else if (2 * adv >= rcv.sb_hiwat) send = true;
    }
    if (!send && tp.t_flags & TF_ACKNOW) send = true;
    if (!send && flags & (TH_SYN | TH_RST)) send = true;
    if (!send && flags & TH_FIN && (!(tp.t_flags & TF_SENTFIN) || tp.snd_nxt === tp.snd_una))
      send = true;
    if (!send) {
      if (
        sbavail(snd) > 0 &&
        !tcp_timer_active(tp, TT_REXMT) &&
        !tcp_timer_active(tp, TT_PERSIST)
      ) {
        tp.t_rxtshift = 0;
        tcp_setpersist(tp);
      }
      return 0;
    }

    /* Options. */
    const o: TcpOpts = {};
    if (!(tp.t_flags & TF_NOOPT)) {
      if (flags & TH_SYN) {
        o.mss = tcp_mssopt(inp.inp_faddr);
        if (tp.t_flags & TF_REQ_SCALE && (!(flags & TH_ACK) || tp.t_flags & TF_RCVD_SCALE))
          o.wscale = tp.request_r_scale;
        if (V_tcp_do_sack.get() !== 0 && (!(flags & TH_ACK) || tp.t_flags & TF_SACK_PERMIT))
          o.sackok = true;
      }
      if (
        tp.t_flags & TF_RCVD_TSTMP ||
        (flags & TH_SYN && !(flags & TH_ACK) && tp.t_flags & TF_REQ_TSTMP)
      )
        o.ts = [tcp_ts_getticks(tp), tp.ts_recent];
      if (tp.t_flags & TF_SACK_PERMIT && tp.sackblks.length > 0 && !(flags & TH_SYN)) {
        o.sacks = tp.sackblks;
        TCPSTAT_INC(TCPS_.tcps_sack_send_blocks);
      }
    }
    const opt = tcp_addoptions(o);
    if (len + opt.length > tp.t_maxseg) {
      len = tp.t_maxseg - opt.length;
      sendalot = true;
      if (flags & TH_FIN) flags &= ~TH_FIN;
    }
    if (len > 0 && off + len === sbavail(snd)) flags |= TH_PUSH;

    /* The data. */
    let fill: ((dst: Uint8Array, at: number) => void) | null = null;
    if (len > 0) {
      const dlen = len;
      const doff = off;
      fill = (dst, at) => void sbcopy(snd, dst.subarray(at, at + dlen), doff);
      if (tp.t_flags & TF_FORCEDATA && len === 1) TCPSTAT_INC(TCPS_.tcps_sndprobe);
      else if (sack_rxmit || SEQ_LT(tp.snd_nxt, tp.snd_max)) {
        TCPSTAT_INC(TCPS_.tcps_sndrexmitpack);
        TCPSTAT_ADD(TCPS_.tcps_sndrexmitbyte, len);
        tp.t_sndrexmitpack++;
      } else {
        TCPSTAT_INC(TCPS_.tcps_sndpack);
        TCPSTAT_ADD(TCPS_.tcps_sndbyte, len);
      }
    } else if (tp.t_flags & TF_ACKNOW) TCPSTAT_INC(TCPS_.tcps_sndacks);
    else if (flags & (TH_SYN | TH_FIN | TH_RST)) TCPSTAT_INC(TCPS_.tcps_sndctrl);
    else TCPSTAT_INC(TCPS_.tcps_sndwinup);

    /* Sequence number: a repeated FIN reuses its number. */
    if (flags & TH_FIN && tp.t_flags & TF_SENTFIN && tp.snd_nxt === tp.snd_max)
      tp.snd_nxt = seq_add(tp.snd_nxt, -1);
    const seq = sack_rxmit
      ? sack_seq
      : len > 0 || flags & (TH_SYN | TH_FIN) || tcp_timer_active(tp, TT_PERSIST)
        ? tp.snd_nxt
        : tp.snd_max;
    const ack = flags & TH_ACK || tp.t_state !== TCPS_SYN_SENT ? tp.rcv_nxt : 0;
    /* Never shrink the window we offered. */
    if (recwin < seq_sub(tp.rcv_adv, tp.rcv_nxt) && tp.t_state >= TCPS_ESTABLISHED)
      recwin = seq_sub(tp.rcv_adv, tp.rcv_nxt);
    let win = flags & TH_SYN ? Math.min(recwin, TCP_MAXWIN) : recwin >> tp.rcv_scale;
    if (win > TCP_MAXWIN) win = TCP_MAXWIN;
    if (win === 0 && tp.t_state >= TCPS_ESTABLISHED) tp.t_flags |= TF_RXWIN0SENT;
    else tp.t_flags &= ~TF_RXWIN0SENT;

    /* Advance the send state. */
    if (sack_rxmit) {
      tcp_sack_sent(tp, seq, len);
      if (!tcp_timer_active(tp, TT_REXMT)) tcp_timer_activate(tp, TT_REXMT, tp.t_rxtcur);
    } else if (!(tp.t_flags & TF_FORCEDATA) || !tcp_timer_active(tp, TT_PERSIST)) {
      const startseq = tp.snd_nxt;
      if (flags & (TH_SYN | TH_FIN)) {
        if (flags & TH_SYN) tp.snd_nxt = seq_add(tp.snd_nxt, 1);
        if (flags & TH_FIN) {
          tp.snd_nxt = seq_add(tp.snd_nxt, 1);
          tp.t_flags |= TF_SENTFIN;
        }
      }
      tp.snd_nxt = seq_add(tp.snd_nxt, len);
      if (SEQ_GT(tp.snd_nxt, tp.snd_max)) {
        tp.snd_max = tp.snd_nxt;
        if (tp.t_rtttime === 0 && !(tp.t_flags & TF_RCVD_TSTMP)) {
          tp.t_rtttime = get_ticks();
          tp.t_rtseq = startseq;
          TCPSTAT_INC(TCPS_.tcps_segstimed);
        }
      }
      if (!tcp_timer_active(tp, TT_REXMT) && tp.snd_nxt !== tp.snd_una) {
        if (tcp_timer_active(tp, TT_PERSIST)) {
          tcp_timer_activate(tp, TT_PERSIST, 0);
          tp.t_rxtshift = 0;
        }
        tcp_timer_activate(tp, TT_REXMT, tp.t_rxtcur);
      }
    } else {
      let xlen = len;
      if (flags & TH_SYN) xlen++;
      if (flags & TH_FIN) {
        xlen++;
        tp.t_flags |= TF_SENTFIN;
      }
      if (SEQ_GT(seq_add(tp.snd_nxt, xlen), tp.snd_max)) tp.snd_max = seq_add(tp.snd_nxt, xlen);
    }
    if (recwin > 0 && SEQ_GT(seq_add(tp.rcv_nxt, recwin), tp.rcv_adv))
      tp.rcv_adv = seq_add(tp.rcv_nxt, recwin);
    tp.last_ack_sent = tp.rcv_nxt;
    tp.t_flags &= ~(TF_ACKNOW | TF_DELACK);
    if (tcp_timer_active(tp, TT_DELACK)) tcp_timer_activate(tp, TT_DELACK, 0);

    TCPSTAT_INC(TCPS_.tcps_sndtotal);
    const ipflags = so.so_options & SO_DONTROUTE ? IP_ROUTETOIF : 0;
    const error = tcp_ip_output(
      inp.inp_laddr,
      inp.inp_lport,
      inp.inp_faddr,
      inp.inp_fport,
      seq,
      ack,
      flags,
      win,
      opt,
      fill,
      len,
      inp.inp_ip_ttl,
      inp.inp_ip_tos,
      ipflags,
      true /* path MTU discovery: DF on every segment, as net.inet.tcp.path_mtu_discovery */,
    );
    if (error !== 0) {
      /* The segment is lost; the retransmission timer will try again. */
      if (error === ENOBUFS) {
        if (!tcp_timer_active(tp, TT_REXMT) && !tcp_timer_active(tp, TT_PERSIST))
          tcp_timer_activate(tp, TT_REXMT, tp.t_rxtcur);
        return 0;
      }
      if (error === EMSGSIZE) return 0;
      if (
        (error === EHOSTUNREACH ||
          error === ENETUNREACH ||
          error === EHOSTDOWN ||
          error === ENETDOWN) &&
        tp.t_state >= TCPS_SYN_SENT
      ) {
        tp.t_softerror = error;
        return 0;
      }
      return error;
    }
    if (!sendalot) return 0;
  }
  return 0;
}
