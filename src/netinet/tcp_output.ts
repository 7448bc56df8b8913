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
 * ECN (tcp_ecn.ts): a client that asks puts ECE|CWR on its SYN; on an ECN-permitted
 * connection new data goes out ECT(0), with CWR after a reduction and ECE while a CE is
 * being echoed (the IP header's ECN field is TCP's there, whatever IP_TOS said).
 *
 * Each segment updates snd_nxt/snd_max, times one segment per window for the RTT
 * (when there are no timestamps), arms the retransmission timer and counts in
 * tcpstat (sndpack/sndbyte, sndrexmitpack/byte, sndacks, sndprobe, sndwinup,
 * sndctrl).  Send buffer autotuning (net.inet.tcp.sendbuf_auto) grows so_snd by
 * sendbuf_inc when it is nearly full and the peer's window is larger than it.
 *
 * A segment is one mbuf built in place: tcp_optlen sizes the options, tcp_seg_alloc
 * writes the IP and TCP headers, tcp_addopts the options and sbcopy_sndptr the data
 * straight from the send buffer, from where the previous segment's copy ended (FreeBSD's
 * send pointer); the checksum is delayed as in FreeBSD (CSUM_TCP with the
 * pseudo-header sum in th_sum), so ip_output finishes it only for an interface that
 * does not offload it (lo0 does).  No arrays, closures or intermediate copies per
 * segment: this is the hot path of a bulk transfer (bench/tcp.ts).
 */

import { ip_opts_route, type IpPcbOpts } from './ip_ctloutput.js';
import { CSUM_TCP, type Mbuf } from '../sys/mbuf.js';
import { curkernel } from '../kern/kern_cur.js';
import { get_ticks } from '../kern/kern_clock.js';
import { sbavail, sbcopy, sbcopy_sndptr, sbreserve, sbspace } from '../kern/uipc_sockbuf.js';
import { BKPT } from '../kern/subr_kdb.js';
import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SB_AUTOSIZE, type Sockbuf } from '../sys/socketvar.js';
import { SO_DONTROUTE } from '../sys/socket.js';
import { EHOSTDOWN, EHOSTUNREACH, EMSGSIZE, ENETDOWN, ENETUNREACH, ENOBUFS } from '../sys/errno.js';
import { IPPROTO_TCP, in_addr_write } from './in.js';
import { in_pseudo } from './in_cksum.js';
import { ip_output, IP_ROUTETOIF, type IpRoute } from './ip_output.js';
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
  TCPS_HAVERCVDSYN,
  TCPSTAT_ADD,
  TCPSTAT_INC,
  TCPS_,
  TCP_MAXWIN,
  TF_ACKNOW,
  TF_CONGRECOVERY,
  TF_DELACK,
  TF_FASTRECOVERY,
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
  TF2_ECN_PERMIT,
  TF2_ECN_SND_ECE,
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
  V_tcp_minmss,
  seq_add,
  seq_sub,
  tcp_maxseg,
  tcp_outflags,
  type Tcpcb,
} from './tcp_var.js';
import { tcp_setpersist, tcp_timer_activate, tcp_timer_active } from './tcp_timer.js';
import { tcp_maxmtu, tcp_mssopt, tcp_ts_getticks, wr32 } from './tcp_subr.js';
import { cc_after_idle } from './cc/cc.js';
import { IPTOS_ECN_MASK } from './ip.js';
import { tcp_ecn_output_established, tcp_ecn_output_syn_sent } from './tcp_ecn.js';
import {
  tcp_sack_active,
  tcp_sack_adjust,
  tcp_sack_blocks,
  tcp_sack_output,
  tcp_sack_pipe,
  tcp_sack_sent,
} from './tcp_sack.js';

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

/* to_flags-like selectors for tcp_addopts. */
const OPT_MSS = 0x01;
const OPT_SCALE = 0x02;
const OPT_SACKPERM = 0x04;
const OPT_TS = 0x10;

/**
 * tcp_optlen: the length tcp_addopts writes for these options (the same walk, without
 * the bytes), so tcp_output can size the segment first and then write the options
 * straight into its header: no array and no copy per segment.
 */
function tcp_optlen(which: number, nsacks: number): number {
  /* Every segment of a timestamping connection: NOP NOP TS. */
  if (which === OPT_TS && nsacks === 0) return 2 + TCPOLEN_TIMESTAMP;
  let n = 0;
  if (which & OPT_MSS) n += TCPOLEN_MAXSEG;
  if (which & OPT_SCALE) {
    while (n === 0 || n % 2 !== 1) n++;
    n += TCPOLEN_WINDOW;
  }
  if (which & OPT_SACKPERM) {
    while (n % 2 !== 0) n++;
    n += TCPOLEN_SACK_PERMITTED;
  }
  if (which & OPT_TS) {
    while (n === 0 || n % 4 !== 2) n++;
    n += TCPOLEN_TIMESTAMP;
  }
  if (nsacks > 0) {
    while (n % 4 !== 2) n++;
    n += 2 + 8 * Math.min(nsacks, Math.floor((MAX_TCPOPTLEN - n - 2) / 8));
  }
  while (n % 4 !== 0) n++;
  return n;
}

/**
 * tcp_addopts: write the options selected by `which` (OPT_*) at b[at], in FreeBSD's
 * order and alignment (MSS, window scale after a NOP, SACK permitted, timestamps after
 * NOPs so they start at 2 mod 4, SACK blocks after NOPs, as many as fit in
 * MAX_TCPOPTLEN), padded with EOL to a multiple of 4; returns the length (tcp_optlen's).
 */
function tcp_addopts(
  b: Uint8Array,
  at: number,
  which: number,
  mss: number,
  wscale: number,
  tsval: number,
  tsecr: number,
  sacks: readonly (readonly [number, number])[] | null,
): number {
  let n = at;
  if (which === OPT_TS && (sacks === null || sacks.length === 0)) {
    /* The commonest layout, NOP NOP TS (RFC 7323 appendix A), without the padding walk:
     * the same 12 bytes the general case below writes. */
    b[n] = TCPOPT_NOP;
    b[n + 1] = TCPOPT_NOP;
    b[n + 2] = TCPOPT_TIMESTAMP;
    b[n + 3] = TCPOLEN_TIMESTAMP;
    wr32(b, n + 4, tsval);
    wr32(b, n + 8, tsecr);
    return 2 + TCPOLEN_TIMESTAMP;
  }
  if (which & OPT_MSS) {
    b[n++] = TCPOPT_MAXSEG;
    b[n++] = TCPOLEN_MAXSEG;
    b[n++] = mss >>> 8;
    b[n++] = mss & 0xff;
  }
  if (which & OPT_SCALE) {
    while (n === at || (n - at) % 2 !== 1) b[n++] = TCPOPT_NOP;
    b[n++] = TCPOPT_WINDOW;
    b[n++] = TCPOLEN_WINDOW;
    b[n++] = wscale;
  }
  if (which & OPT_SACKPERM) {
    while ((n - at) % 2 !== 0) b[n++] = TCPOPT_NOP;
    b[n++] = TCPOPT_SACK_PERMITTED;
    b[n++] = TCPOLEN_SACK_PERMITTED;
  }
  if (which & OPT_TS) {
    while (n === at || (n - at) % 4 !== 2) b[n++] = TCPOPT_NOP;
    b[n++] = TCPOPT_TIMESTAMP;
    b[n++] = TCPOLEN_TIMESTAMP;
    wr32(b, n, tsval);
    wr32(b, n + 4, tsecr);
    n += 8;
  }
  if (sacks !== null && sacks.length > 0) {
    while ((n - at) % 4 !== 2) b[n++] = TCPOPT_NOP;
    const cnt = Math.min(sacks.length, Math.floor((MAX_TCPOPTLEN - (n - at) - 2) / 8));
    b[n++] = TCPOPT_SACK;
    b[n++] = 2 + 8 * cnt;
    for (let i = 0; i < cnt; i++) {
      wr32(b, n, sacks[i]![0]);
      wr32(b, n + 4, sacks[i]![1]);
      n += 8;
    }
  }
  while ((n - at) % 4 !== 0) b[n++] = TCPOPT_EOL;
  return n - at;
}

/**
 * tcp_addoptions: the option bytes of o as a new array (the SYN-ACK of the syncache;
 * tcp_output writes its options in place with tcp_addopts).
 */
export function tcp_addoptions(o: TcpOpts): Uint8Array {
  const which =
    (o.mss !== undefined ? OPT_MSS : 0) |
    (o.wscale !== undefined ? OPT_SCALE : 0) |
    (o.sackok ? OPT_SACKPERM : 0) |
    (o.ts !== undefined ? OPT_TS : 0);
  const sacks = o.sacks ?? null;
  const out = new Uint8Array(tcp_optlen(which, sacks?.length ?? 0));
  tcp_addopts(out, 0, which, o.mss ?? 0, o.wscale ?? 0, o.ts?.[0] ?? 0, o.ts?.[1] ?? 0, sacks);
  return out;
}

/**
 * A new segment of hlen bytes of TCP header (options included) and dlen of data, with
 * its IP header and the fixed TCP header written; options, data and the checksum are
 * the caller's.  null: no mbuf (ENOBUFS).
 */
function tcp_seg_alloc(
  laddr: number,
  lport: number,
  faddr: number,
  fport: number,
  seq: number,
  ack: number,
  flags: number,
  win: number,
  hlen: number,
  dlen: number,
  ttl: number,
  tos: number,
  df: boolean,
): Mbuf | null {
  const total = 20 + hlen + dlen;
  const m = curkernel().mbpool.m_gethdr_fit(total, false);
  if (m === null) return null;
  const b = m.m_buf;
  const o = m.m_data;
  b[o] = 0x45;
  b[o + 1] = tos;
  b[o + 2] = total >>> 8;
  b[o + 3] = total & 0xff;
  b[o + 4] = b[o + 5] = 0;
  b[o + 6] = df ? 0x40 : 0;
  b[o + 7] = 0;
  b[o + 8] = ttl;
  b[o + 9] = IPPROTO_TCP;
  b[o + 10] = b[o + 11] = 0;
  in_addr_write(b, o + 12, laddr);
  in_addr_write(b, o + 16, faddr);
  const t = o + 20;
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
  b[t + 18] = b[t + 19] = 0;
  return m;
}

/**
 * Hand a segment built by tcp_seg_alloc to ip_output with its checksum delayed, as
 * FreeBSD's tcp_output does: th_sum holds the pseudo-header sum (in_pseudo), csum_flags
 * says CSUM_TCP and csum_data where th_sum is; ip_output finishes the sum
 * (in_delayed_cksum) unless the interface offloads it — lo0 does (LO_CSUM_FEATURES), so
 * a segment over lo0 is never summed at all, and bpf on lo0 shows the pseudo-header
 * sum in the field, as it does on FreeBSD.  Consumes m; returns ip_output's errno.
 */
function tcp_seg_send(
  m: Mbuf,
  laddr: number,
  faddr: number,
  ipflags: number,
  ro: IpRoute | null = null,
  ipopts: IpPcbOpts | null = null,
): number {
  const b = m.m_buf;
  const t = m.m_data + 20;
  const s = in_pseudo(laddr, faddr, IPPROTO_TCP + m.m_len - 20);
  b[t + 16] = s >>> 8;
  b[t + 17] = s & 0xff;
  m.csum_flags = CSUM_TCP;
  m.csum_data = 16; /* offsetof(struct tcphdr, th_sum) */
  /* IP_OPTIONS: the sum above used the final destination; a source route's first hop
   * becomes the header's. */
  const opts = ipopts === null ? null : ip_opts_route(b, m.m_data, ipopts);
  return ip_output(m, opts, ro, ipflags, null, null);
}

/**
 * Build and send one segment from laddr:lport to faddr:fport with the given header
 * fields, options and dlen bytes of data taken at offset soff of the send buffer sb
 * (null: no data).  Returns ip_output's errno.
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
  sb: Sockbuf | null,
  soff: number,
  dlen: number,
  ttl: number,
  tos: number,
  ipflags: number,
  df: boolean,
): number {
  if (sb === null) dlen = 0;
  const hlen = 20 + opt.length;
  const m = tcp_seg_alloc(
    laddr,
    lport,
    faddr,
    fport,
    seq,
    ack,
    flags,
    win,
    hlen,
    dlen,
    ttl,
    tos,
    df,
  );
  if (m === null) return ENOBUFS;
  const t = m.m_data + 20;
  m.m_buf.set(opt, t + 20);
  if (sb !== null && dlen > 0) sbcopy(sb, m.m_buf, soff, t + hlen, dlen);
  return tcp_seg_send(m, laddr, faddr, ipflags);
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
    /* After a timeout snd_nxt is behind snd_max: skip what the peer SACKed. */
    if (tp.t_flags & TF_SACK_PERMIT && SEQ_LT(tp.snd_nxt, tp.snd_max) && tp.t_sacked.length > 0)
      tcp_sack_adjust(tp);
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
    /* Send buffer autotuning (FreeBSD's tcp_sndbuf_autoscale): grow while the peer's
     * window is larger than the buffer, the buffer is 7/8 full, and the window can take
     * all that is not yet sent; a refused reservation ends autosizing.  A buffer at the
     * maximum already is left alone (FreeBSD would reserve the same size again, for
     * every segment of a bulk transfer).  Sizes and windows are below 2^31. */
    if (
      snd.sb_flags & SB_AUTOSIZE &&
      snd.sb_hiwat < V_tcp_autosndbuf_max.get() &&
      V_tcp_do_autosndbuf.get() !== 0 &&
      (tp.snd_wnd >>> 2) * 5 >= snd.sb_hiwat &&
      sbavail(snd) >= (snd.sb_hiwat >>> 3) * 7 &&
      sbavail(snd) < V_tcp_autosndbuf_max.get() &&
      sendwin >= sbavail(snd) - off &&
      !sbreserve(
        snd,
        Math.min(snd.sb_hiwat + V_tcp_autosndbuf_inc.get(), V_tcp_autosndbuf_max.get()),
      )
    )
      snd.sb_flags &= ~SB_AUTOSIZE;
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
      /* In SACK recovery nothing may go while the retransmission timer is off (tcp_input
       * stops it as recovery starts): keep it armed, as FreeBSD does. */
      if (
        tp.t_flags & TF_SACK_PERMIT &&
        SEQ_GT(tp.snd_max, tp.snd_una) &&
        !tcp_timer_active(tp, TT_REXMT) &&
        !tcp_timer_active(tp, TT_PERSIST)
      ) {
        tcp_timer_activate(tp, TT_REXMT, tp.t_rxtcur);
        return 0;
      }
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

    /* Options (measured here, written straight into the header below). */
    let which = 0;
    let mss = 0;
    let sacks: readonly (readonly [number, number])[] | null = null;
    if (!(tp.t_flags & TF_NOOPT)) {
      if (flags & TH_SYN) {
        which |= OPT_MSS;
        mss = tcp_mssopt(inp.inp_faddr);
        if (tp.t_flags & TF_REQ_SCALE && (!(flags & TH_ACK) || tp.t_flags & TF_RCVD_SCALE))
          which |= OPT_SCALE;
        if (V_tcp_do_sack.get() !== 0 && (!(flags & TH_ACK) || tp.t_flags & TF_SACK_PERMIT))
          which |= OPT_SACKPERM;
      }
      if (
        tp.t_flags & TF_RCVD_TSTMP ||
        (flags & TH_SYN && !(flags & TH_ACK) && tp.t_flags & TF_REQ_TSTMP)
      )
        which |= OPT_TS;
      if (
        tp.t_flags & TF_SACK_PERMIT &&
        (tp.sackblks.length > 0 || tp.t_dsack !== null) &&
        !(flags & TH_SYN)
      ) {
        /* A pending D-SACK goes first, once (RFC 2883 §4). */
        sacks = tcp_sack_blocks(tp);
        tp.t_dsack = null;
        TCPSTAT_INC(TCPS_.tcps_sack_send_blocks);
      }
    }
    const tsval = which & OPT_TS ? tcp_ts_getticks(tp) : 0;
    /* Eifel detection (RFC 3522): remember when the first retransmission left (only
     * that one, RFC 3522's RetransmitTS: later segments of the same round would make
     * their own ACKs look spurious).  Deliberate difference: FreeBSD stamps every
     * segment sent while t_rxtshift is 1. */
    if (which & OPT_TS && tp.t_rxtshift === 1 && tp.t_badrxtwin === 0)
      tp.t_badrxtwin = (tsval - tp.ts_offset) >>> 0;
    const optlen = tcp_optlen(which, sacks !== null ? sacks.length : 0);
    /* IP options (IP_OPTIONS) come out of the segment too (ip_optlen). */
    const ipoptlen = inp.inp_options !== null ? inp.inp_options.ipopt_list.length : 0;
    if (len + optlen + ipoptlen > tp.t_maxseg) {
      len = tp.t_maxseg - optlen - ipoptlen;
      sendalot = true;
      if (flags & TH_FIN) flags &= ~TH_FIN;
    }
    if (len > 0 && off + len === sbavail(snd)) flags |= TH_PUSH;

    /* ECN (tcp_ecn.ts): an ECN-setup SYN when we ask; on an ECN-permitted connection
     * ECT(0) on new data, CWR after a reduction, ECE while echoing a CE.  The ECN
     * field of the TOS is TCP's then, whatever IP_TOS set. */
    let tos = inp.inp_ip_tos;
    if (flags & TH_SYN && tp.t_state === TCPS_SYN_SENT) flags |= tcp_ecn_output_syn_sent(tp);
    if (tp.t_flags2 & TF2_ECN_PERMIT && TCPS_HAVERCVDSYN(tp.t_state)) {
      const ecn = tcp_ecn_output_established(tp, len, sack_rxmit);
      flags |= ecn & 0xff;
      tos = (tos & ~IPTOS_ECN_MASK) | (ecn >>> 8);
      /* The ECE of a simultaneous open's SYN-ACK was the agreement, not an echo. */
      if (tp.t_state === TCPS_SYN_RECEIVED) tp.t_flags2 &= ~TF2_ECN_SND_ECE;
    }

    /* Counters for the data. */
    if (len > 0) {
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
    /* Everything sent in recovery counts for PRR (FreeBSD's sackhint.prr_out). */
    if (tp.t_flags & (TF_FASTRECOVERY | TF_CONGRECOVERY)) tp.prr_out += len;

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
    /* The segment: headers, options in place, the data straight from the send buffer. */
    const hlen = 20 + optlen;
    const m = tcp_seg_alloc(
      inp.inp_laddr,
      inp.inp_lport,
      inp.inp_faddr,
      inp.inp_fport,
      seq,
      ack,
      flags,
      win,
      hlen,
      len,
      inp.inp_ip_ttl,
      tos,
      true /* path MTU discovery: DF on every segment, as net.inet.tcp.path_mtu_discovery */,
    );
    let error = ENOBUFS;
    if (m !== null) {
      const b = m.m_buf;
      const t = m.m_data + 20;
      tcp_addopts(b, t + 20, which, mss, tp.request_r_scale, tsval, tp.ts_recent, sacks);
      if (len > 0) sbcopy_sndptr(snd, off, len, b, t + hlen);
      /* The connection's route cache (ip_output revalidates it by the rib's generation). */
      error = tcp_seg_send(
        m,
        inp.inp_laddr,
        inp.inp_faddr,
        ipflags,
        (tp.t_route ??= {}),
        inp.inp_options,
      );
    }
    if (error !== 0) {
      /* The segment is lost; the retransmission timer will try again. */
      if (error === ENOBUFS) {
        if (!tcp_timer_active(tp, TT_REXMT) && !tcp_timer_active(tp, TT_PERSIST))
          tcp_timer_activate(tp, TT_REXMT, tp.t_rxtcur);
        return 0;
      }
      if (error === EMSGSIZE) {
        /* The interface's MTU went down under the connection: take the new size and
         * send this data again at once (FreeBSD: tcp_mss_update, then again). */
        const mtu = tcp_maxmtu(inp.inp_faddr);
        if (mtu > 0 && mtu - 40 < tp.t_maxseg && !sack_rxmit && !(flags & (TH_SYN | TH_FIN))) {
          tp.t_maxseg = Math.max(V_tcp_minmss.get(), mtu - 40);
          tp.snd_nxt = seq;
          continue;
        }
        return 0;
      }
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
