/*
 * netinet/tcp_var.ts — TCP's shared definitions (FreeBSD sys/netinet/tcp_var.h,
 * tcp_seq.h, tcp_fsm.h, tcp_timer.h, tcp.h): sequence arithmetic, the states, the
 * connection block (struct tcpcb), the statistics (struct tcpstat) and the tunables
 * under net.inet.tcp.
 *
 * Sequence numbers are unsigned 32-bit values kept in JS numbers (always >>> 0);
 * SEQ_LT and friends compare them modulo 2^32 as tcp_seq.h does.  Times are kernel
 * ticks (hz = 1000, so milliseconds) as in FreeBSD: t_rcvtime, t_rtttime, the
 * smoothed RTT in TCP_RTT_SCALE units and the variance in TCP_RTTVAR_SCALE units.
 *
 * The tunables are per vnet (VNET_DEFINE in FreeBSD) and their sysctls carry FreeBSD's
 * names and defaults; times in sysctls are milliseconds as FreeBSD's
 * sysctl_msec_to_ticks handlers show them.
 */

import type { IpRoute } from './ip_output.js';
import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { counterStruct } from '../sys/types.js';
import {
  VNET_DEFINE_INT,
  VNET_PCPUSTAT_DEFINE,
  type VnetI32,
  type VnetPcpuStat,
} from '../net/vnet.js';
import {
  CTLFLAG_RW,
  CTLFLAG_VNET,
  SYSCTL_INT,
  SYSCTL_NODE,
  SYSCTL_OPAQUE_RO,
} from '../sys/sysctl.js';
import { Callout } from '../kern/kern_timeout.js';
import type { Inpcb } from './in_pcb.js';
import type { Mbuf } from '../sys/mbuf.js';
import type { Vnet } from '../net/vnet.js';
import { TS_TCPCB, typestable } from '../sys/typestable.js';

export const K = new ObjFile('netinet/tcp_var.ts', VIMAGEID('src/netinet/tcp_var.ts'));

/* ------------------------------------------------------------------------------ */
/* tcp_seq.h                                                                        */

export function SEQ_LT(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
export function SEQ_LEQ(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
export function SEQ_GT(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
export function SEQ_GEQ(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}
export function SEQ_MIN(a: number, b: number): number {
  return SEQ_LT(a, b) ? a : b;
}
export function SEQ_MAX(a: number, b: number): number {
  return SEQ_GT(a, b) ? a : b;
}
/** a + b modulo 2^32. */
export function seq_add(a: number, b: number): number {
  return (a + b) >>> 0;
}
/** a - b as a signed 32-bit distance. */
export function seq_sub(a: number, b: number): number {
  return (a - b) | 0;
}

/* ------------------------------------------------------------------------------ */
/* tcp.h: header flags and options                                                 */

export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PUSH = 0x08;
export const TH_ACK = 0x10;
export const TH_URG = 0x20;
export const TH_ECE = 0x40;
export const TH_CWR = 0x80;
export const TH_FLAGS = 0xff;

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MAXSEG = 2;
export const TCPOLEN_MAXSEG = 4;
export const TCPOPT_WINDOW = 3;
export const TCPOLEN_WINDOW = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOLEN_SACK_PERMITTED = 2;
export const TCPOPT_SACK = 5;
export const TCPOLEN_SACK = 8;
export const TCPOPT_TIMESTAMP = 8;
export const TCPOLEN_TIMESTAMP = 10;
export const MAX_TCPOPTLEN = 40;

export const TCP_MAXWIN = 65535;
export const TCP_MAX_WINSHIFT = 14;
export const TCP_MSS = 536;
export const TCP_MINMSS = 216;
export const TCP_MAXOLEN = 40;
export const TCP_HDR_LEN = 20;

/* Socket options at IPPROTO_TCP (netinet/tcp.h). */
export const TCP_NODELAY = 1;
export const TCP_MAXSEG = 2;
export const TCP_NOPUSH = 4;
export const TCP_NOOPT = 8;
export const TCP_MD5SIG = 16;
export const TCP_INFO = 32;
export const TCP_CONGESTION = 64;
export const TCP_KEEPINIT = 128;
export const TCP_KEEPIDLE = 256;
export const TCP_KEEPINTVL = 512;
export const TCP_KEEPCNT = 1024;
export const TCP_CA_NAME_MAX = 16;

/* ------------------------------------------------------------------------------ */
/* tcp_fsm.h                                                                        */

export const TCPS_CLOSED = 0;
export const TCPS_LISTEN = 1;
export const TCPS_SYN_SENT = 2;
export const TCPS_SYN_RECEIVED = 3;
export const TCPS_ESTABLISHED = 4;
export const TCPS_CLOSE_WAIT = 5;
export const TCPS_FIN_WAIT_1 = 6;
export const TCPS_CLOSING = 7;
export const TCPS_LAST_ACK = 8;
export const TCPS_FIN_WAIT_2 = 9;
export const TCPS_TIME_WAIT = 10;
export const TCP_NSTATES = 11;

export const tcpstates: readonly string[] = [
  'CLOSED',
  'LISTEN',
  'SYN_SENT',
  'SYN_RCVD',
  'ESTABLISHED',
  'CLOSE_WAIT',
  'FIN_WAIT_1',
  'CLOSING',
  'LAST_ACK',
  'FIN_WAIT_2',
  'TIME_WAIT',
];

export function TCPS_HAVERCVDSYN(s: number): boolean {
  return s >= TCPS_SYN_RECEIVED;
}
export function TCPS_HAVEESTABLISHED(s: number): boolean {
  return s >= TCPS_ESTABLISHED;
}
export function TCPS_HAVERCVDFIN(s: number): boolean {
  return s === TCPS_CLOSE_WAIT || s === TCPS_CLOSING || s === TCPS_LAST_ACK || s === TCPS_TIME_WAIT;
}

/** tcp_outflags[]: the flags a segment carries in each state. */
export const tcp_outflags: readonly number[] = [
  TH_RST | TH_ACK,
  0,
  TH_SYN,
  TH_SYN | TH_ACK,
  TH_ACK,
  TH_ACK,
  TH_FIN | TH_ACK,
  TH_FIN | TH_ACK,
  TH_FIN | TH_ACK,
  TH_ACK,
  TH_ACK,
];

/* ------------------------------------------------------------------------------ */
/* tcp_timer.h: times in ticks (ms)                                                 */

export const TCPTV_MSL = 30 * 1000;
export const TCPTV_SRTTBASE = 0;
export const TCPTV_RTOBASE = 1000;
export const TCPTV_PERSMIN = 5 * 1000;
export const TCPTV_PERSMAX = 60 * 1000;
export const TCPTV_KEEP_INIT = 75 * 1000;
export const TCPTV_KEEP_IDLE = 120 * 60 * 1000;
export const TCPTV_KEEPINTVL = 75 * 1000;
export const TCPTV_KEEPCNT = 8;
export const TCPTV_FINWAIT2_TIMEOUT = 60 * 1000;
export const TCPTV_MIN = 30;
export const TCPTV_CPU_VAR = 200;
export const TCPTV_REXMTMAX = 64 * 1000;
export const TCPTV_TWTRUNC = 8;
export const TCPTV_DELACK = 40;
export const TCP_MAXRXTSHIFT = 12;
export const TCP_RTT_SCALE = 32;
export const TCP_RTT_SHIFT = 5;
export const TCP_RTTVAR_SCALE = 16;
export const TCP_RTTVAR_SHIFT = 4;
export const TCP_DELTA_SHIFT = 2;
export const tcp_backoff: readonly number[] = [
  1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 512, 512, 512,
];
export const tcp_totbackoff = 2559;

/* ------------------------------------------------------------------------------ */
/* t_flags (tcp_var.h)                                                              */

export const TF_ACKNOW = 0x00000001;
export const TF_DELACK = 0x00000002;
export const TF_NODELAY = 0x00000004;
export const TF_NOOPT = 0x00000008;
export const TF_SENTFIN = 0x00000010;
export const TF_REQ_SCALE = 0x00000020;
export const TF_RCVD_SCALE = 0x00000040;
export const TF_REQ_TSTMP = 0x00000080;
export const TF_RCVD_TSTMP = 0x00000100;
export const TF_SACK_PERMIT = 0x00000200;
export const TF_NEEDSYN = 0x00000400;
export const TF_NEEDFIN = 0x00000800;
export const TF_NOPUSH = 0x00001000;
export const TF_PREVVALID = 0x00002000;
export const TF_WAKESOR = 0x00004000;
export const TF_LQ_OVERFLOW = 0x00020000;
export const TF_LASTIDLE = 0x00040000;
export const TF_RXWIN0SENT = 0x00080000;
export const TF_FASTRECOVERY = 0x00100000;
export const TF_WASFRECOVERY = 0x00200000;
export const TF_SIGNATURE = 0x00400000;
export const TF_FORCEDATA = 0x00800000;
export const TF_TSO = 0x01000000;
export const TF_TOE = 0x02000000;
export const TF_CONGRECOVERY = 0x04000000;
export const TF_WASCRECOVERY = 0x08000000;
export const TF_FASTOPEN = 0x10000000;
/** Lost Retransmission Detection (net.inet.tcp.sack.lrd when the block was made). */
export const TF_LRD = 0x20000000;

/* t_flags2 (tcp_var.h TF2_*): the ECN state of a connection (tcp_ecn.ts). */
/** The handshake agreed on ECN (RFC 3168 §6.1.1): data goes out ECN-capable. */
export const TF2_ECN_PERMIT = 0x00000020;
/** CWR goes on the next new data segment (we reduced cwnd after an ECE). */
export const TF2_ECN_SND_CWR = 0x00000040;
/** ECE goes on every segment until the peer's CWR (we received CE). */
export const TF2_ECN_SND_ECE = 0x00000080;

/* The five timers (tcp_timer.h tt_*). */
export const TT_DELACK = 0;
export const TT_REXMT = 1;
export const TT_PERSIST = 2;
export const TT_KEEP = 3;
export const TT_2MSL = 4;
export const TT_N = 5;
export const tt_names: readonly string[] = ['delack', 'rexmt', 'persist', 'keep', '2msl'];

/* ------------------------------------------------------------------------------ */
/* Congestion control: the interface netinet/cc modules implement (cc.h).           */

/** CC_ACK / CC_DUPACK / CC_PARTIALACK / CC_ECN / CC_RTO / CC_RTO_ERR / CC_NDUPACK */
export const CC_ACK = 0x0001;
export const CC_DUPACK = 0x0002;
export const CC_PARTIALACK = 0x0004;
export const CC_ECN = 0x0008;
export const CC_RTO = 0x0010;
export const CC_RTO_ERR = 0x0020;
export const CC_NDUPACK = 0x0040;

/** struct cc_var: what an algorithm sees of a connection. */
export interface CcVar {
  readonly tp: Tcpcb;
  /** The algorithm's own state (cc_data). */
  cc_data: unknown;
  /** CCF_* flags. */
  flags: number;
  /** Bytes newly acknowledged by the current ACK. */
  bytes_this_ack: number;
  /** Segments in the current ACK (for ABC). */
  nsegs: number;
  curack: number;
}
export const CCF_ABC_SENTAWND = 0x0001;
export const CCF_CWND_LIMITED = 0x0002;
export const CCF_USE_LOCAL_ABC = 0x0004;
export const CCF_ACKNOW = 0x0008;

/** struct cc_algo */
export interface CcAlgo {
  readonly name: string;
  cb_init?(ccv: CcVar): number;
  cb_destroy?(ccv: CcVar): void;
  conn_init?(ccv: CcVar): void;
  ack_received?(ccv: CcVar, type: number): void;
  cong_signal?(ccv: CcVar, type: number): void;
  post_recovery?(ccv: CcVar): void;
  after_idle?(ccv: CcVar): void;
}

/* ------------------------------------------------------------------------------ */
/* struct tcpcb                                                                    */

/** A rescue retransmission: the range [start, end) and whether it went. */
export interface TcpRescue {
  start: number;
  end: number;
  sent: boolean;
}

/** Contiguous data waiting in the reassembly queue (struct tseg_qent). */
export interface TsegQent {
  seq: number;
  len: number;
  fin: boolean;
  ms: Mbuf[];
}

export class Tcpcb {
  t_state = TCPS_CLOSED;
  t_flags = 0;
  /** TF2_* flags (ECN). */
  t_flags2 = 0;
  t_maxseg = TCP_MSS;
  t_segq: TsegQent[] = [];
  /** Bytes in the reassembly queue. */
  t_segqlen = 0;
  t_dupacks = 0;
  readonly t_timers: Callout[] = Array.from({ length: TT_N }, () => new Callout());
  /* send sequence variables */
  snd_una = 0;
  snd_max = 0;
  snd_nxt = 0;
  snd_up = 0;
  snd_wl1 = 0;
  snd_wl2 = 0;
  iss = 0;
  irs = 0;
  /* receive sequence variables */
  rcv_nxt = 0;
  rcv_adv = 0;
  rcv_wnd = 0;
  rcv_up = 0;
  snd_wnd = 0;
  snd_cwnd = 0;
  snd_ssthresh = 0;
  snd_recover = 0;
  max_sndwnd = 0;
  /* RTT */
  t_rcvtime = 0;
  t_starttime = 0;
  t_rtttime = 0;
  t_rtseq = 0;
  t_rxtcur = 0;
  t_rxtshift = 0;
  t_srtt = 0;
  t_rttvar = 0;
  t_rttmin = TCPTV_MIN;
  t_rttupdated = 0;
  t_rttlow = 0;
  t_softerror = 0;
  /* window scaling and timestamps (RFC 7323) */
  snd_scale = 0;
  rcv_scale = 0;
  request_r_scale = 0;
  ts_recent = 0;
  ts_recent_age = 0;
  ts_offset = 0;
  last_ack_sent = 0;
  /* congestion control state saved for undo */
  snd_cwnd_prev = 0;
  snd_ssthresh_prev = 0;
  snd_recover_prev = 0;
  t_badrxtwin = 0;
  /* keepalive (0: the vnet default) */
  t_keepinit = 0;
  t_keepidle = 0;
  t_keepintvl = 0;
  t_keepcnt = 0;
  t_sndzerowin = 0;
  /** Bytes acknowledged since cwnd was last grown in congestion avoidance (ABC). */
  t_bytes_acked = 0;
  /* SACK (netinet/tcp_sack.ts): the blocks we report, most recent first... */
  sackblks: [number, number][] = [];
  /** The route cache ip_output keeps for this connection (inp_route), made on first send. */
  t_route: IpRoute | null = null;
  /** A duplicate range received, for the first block of the next ACK (D-SACK, RFC 2883). */
  t_dsack: [number, number] | null = null;
  /* ...and the peer's: SACKed ranges above snd_una, the highest SACKed sequence, and
   * the retransmission point in the holes during recovery. */
  t_sacked: [number, number][] = [];
  snd_fack = 0;
  sack_rxmit = 0;
  /** Hole retransmissions of this episode in order: [end, snd_max when sent] (LRD). */
  sack_rxmarks: [number, number][] = [];
  /** RFC 6675's rescue retransmission, while one is pending or in flight (tcp_sack.ts). */
  sack_rescue: TcpRescue | null = null;
  /* Proportional Rate Reduction (FreeBSD's sackhint.prr_delivered, prr_out,
   * recover_fs): data delivered to the peer and sent by us since recovery began, and
   * the flight size when it began. */
  prr_delivered = 0;
  prr_out = 0;
  recover_fs = 0;
  t_sndrexmitpack = 0;
  t_rcvoopack = 0;
  /** The user closed the socket (FreeBSD's TF_CLOSED): data that still arrives is reset. */
  t_closed = false;
  /** The vnet the connection lives in (timers run there). */
  t_vnet: Vnet | null = null;
  /** Congestion control. */
  cc_algo: CcAlgo;
  readonly ccv: CcVar;

  constructor(
    readonly t_inpcb: Inpcb,
    cc: CcAlgo,
  ) {
    this.cc_algo = cc;
    this.ccv = { tp: this, cc_data: null, flags: 0, bytes_this_ack: 0, nsegs: 0, curack: 0 };
    typestable(TS_TCPCB, this);
  }
}

export function intotcpcb(inp: Inpcb): Tcpcb | null {
  return inp.inp_ppcb as Tcpcb | null;
}

/** TCP_REXMTVAL(tp): the RTO before clamping, in ticks. */
export function TCP_REXMTVAL(tp: Tcpcb): number {
  return Math.max(
    tp.t_rttmin,
    ((tp.t_srtt >> (TCP_RTT_SHIFT - TCP_DELTA_SHIFT)) + tp.t_rttvar) >> TCP_DELTA_SHIFT,
  );
}

/** TCPT_RANGESET(value, min, max): value + the slop, clamped. */
export function TCPT_RANGESET(value: number, tvmin: number, tvmax: number): number {
  const v = value + V_tcp_rexmit_slop.get();
  return v < tvmin ? tvmin : v > tvmax ? tvmax : v;
}

/* Congestion window helpers (tcp_var.h IN_FASTRECOVERY & co). */
export function IN_FASTRECOVERY(f: number): boolean {
  return (f & TF_FASTRECOVERY) !== 0;
}
export function IN_CONGRECOVERY(f: number): boolean {
  return (f & TF_CONGRECOVERY) !== 0;
}
export function IN_RECOVERY(f: number): boolean {
  return (f & (TF_CONGRECOVERY | TF_FASTRECOVERY)) !== 0;
}

/** tcp_maxseg(tp): the segment size less the options every segment carries. */
export function tcp_maxseg(tp: Tcpcb): number {
  let optlen = 0;
  if (tp.t_flags & TF_NOOPT) return tp.t_maxseg;
  if (tp.t_flags & TF_RCVD_TSTMP) optlen = TCPOLEN_TIMESTAMP + 2;
  return tp.t_maxseg - optlen;
}

/* ------------------------------------------------------------------------------ */
/* struct tcpstat: FreeBSD's counter names.  The layout is vimage's (a subset, close   */
/* to FreeBSD's order); netstat takes it from this header, as FreeBSD's netstat      */
/* includes tcp_var.h.                                                               */

export const TCPSTAT_FIELDS = [
  'tcps_connattempt',
  'tcps_accepts',
  'tcps_connects',
  'tcps_drops',
  'tcps_conndrops',
  'tcps_minmssdrops',
  'tcps_closed',
  'tcps_segstimed',
  'tcps_rttupdated',
  'tcps_delack',
  'tcps_timeoutdrop',
  'tcps_rexmttimeo',
  'tcps_persisttimeo',
  'tcps_keeptimeo',
  'tcps_keepprobe',
  'tcps_keepdrops',
  'tcps_sndtotal',
  'tcps_sndpack',
  'tcps_sndbyte',
  'tcps_sndrexmitpack',
  'tcps_sndrexmitbyte',
  'tcps_sndrexmitbad',
  'tcps_sndacks',
  'tcps_sndprobe',
  'tcps_sndurg',
  'tcps_sndwinup',
  'tcps_sndctrl',
  'tcps_rcvtotal',
  'tcps_rcvpack',
  'tcps_rcvbyte',
  'tcps_rcvbadsum',
  'tcps_rcvbadoff',
  'tcps_rcvreassfull',
  'tcps_rcvshort',
  'tcps_rcvduppack',
  'tcps_rcvdupbyte',
  'tcps_rcvpartduppack',
  'tcps_rcvpartdupbyte',
  'tcps_rcvoopack',
  'tcps_rcvoobyte',
  'tcps_rcvpackafterwin',
  'tcps_rcvbyteafterwin',
  'tcps_rcvafterclose',
  'tcps_rcvwinprobe',
  'tcps_rcvdupack',
  'tcps_rcvacktoomuch',
  'tcps_rcvackpack',
  'tcps_rcvackbyte',
  'tcps_rcvwinupd',
  'tcps_pawsdrop',
  'tcps_predack',
  'tcps_preddat',
  'tcps_pcbcachemiss',
  'tcps_cachedrtt',
  'tcps_cachedrttvar',
  'tcps_cachedssthresh',
  'tcps_usedrtt',
  'tcps_usedrttvar',
  'tcps_usedssthresh',
  'tcps_persistdrop',
  'tcps_badsyn',
  'tcps_mturesent',
  'tcps_listendrop',
  'tcps_badrst',
  'tcps_sc_added',
  'tcps_sc_retransmitted',
  'tcps_sc_dupsyn',
  'tcps_sc_dropped',
  'tcps_sc_completed',
  'tcps_sc_bucketoverflow',
  'tcps_sc_cacheoverflow',
  'tcps_sc_reset',
  'tcps_sc_stale',
  'tcps_sc_aborted',
  'tcps_sc_badack',
  'tcps_sc_unreach',
  'tcps_sc_zonefail',
  'tcps_sc_sendcookie',
  'tcps_sc_recvcookie',
  'tcps_hc_added',
  'tcps_hc_bucketoverflow',
  'tcps_finwait2_drops',
  'tcps_sack_recovery_episode',
  'tcps_sack_rexmits',
  'tcps_sack_rexmit_bytes',
  'tcps_sack_rcv_blocks',
  'tcps_sack_send_blocks',
  'tcps_sack_lostrexmt',
  'tcps_sack_sboverflow',
  'tcps_ecn_rcvce',
  'tcps_ecn_rcvect0',
  'tcps_ecn_rcvect1',
  'tcps_ecn_shs',
  'tcps_ecn_rcwnd',
  'tcps_sig_rcvgoodsig',
  'tcps_sig_rcvbadsig',
  'tcps_sig_err_buildsig',
  'tcps_sig_err_sigopt',
  'tcps_sig_err_nosigopt',
  'tcps_pmtud_blackhole_activated',
  'tcps_pmtud_blackhole_activated_min_mss',
  'tcps_pmtud_blackhole_failed',
  'tcps_tunneled_pkts',
  'tcps_tunneled_errs',
  'tcps_dsack_count',
  'tcps_dsack_bytes',
  'tcps_dsack_tlp_bytes',
  'tcps_tw_recycles',
  'tcps_tw_resets',
  'tcps_tw_responds',
  'tcps_ace_nego',
  'tcps_ace_ect1',
  'tcps_ace_ect0',
  'tcps_ace_ce',
  'tcps_ecn_sndect0',
  'tcps_ecn_sndect1',
  'tcps_tlpresends',
  'tcps_tlpresend_bytes',
  'tcps_rcvghostack',
  'tcps_rcvacktooold',
  'tcps_states_closed',
  'tcps_challenge_acks',
  'tcps_rcvbadsyn',
] as const;

export const tcpstat_layout = counterStruct('tcpstat', TCPSTAT_FIELDS);
export const V_tcpstat: VnetPcpuStat = VNET_PCPUSTAT_DEFINE(K, 'tcpstat', tcpstat_layout);
export const TCPS_ = Object.fromEntries(TCPSTAT_FIELDS.map((f, i) => [f, i])) as {
  readonly [F in (typeof TCPSTAT_FIELDS)[number]]: number;
};
export function TCPSTAT_INC(f: number): void {
  V_tcpstat.inc(f);
}
export function TCPSTAT_ADD(f: number, n: number): void {
  V_tcpstat.add(f, n);
}

SYSCTL_NODE(K, 'net.inet.tcp', CTLFLAG_RW, 'TCP');
SYSCTL_OPAQUE_RO(
  K,
  'net.inet.tcp.stats',
  CTLFLAG_VNET,
  () => V_tcpstat.fetchBytes(),
  'S,tcpstat',
  'TCP statistics (struct tcpstat, netinet/tcp_var.h)',
);

/* ------------------------------------------------------------------------------ */
/* Tunables                                                                        */

function tcp_int(name: string, sym: string, init: number, descr: string): VnetI32 {
  const v = VNET_DEFINE_INT(K, sym, init);
  SYSCTL_INT(K, `net.inet.tcp.${name}`, CTLFLAG_VNET | CTLFLAG_RW, v, descr);
  return v;
}

export const V_tcp_mssdflt = tcp_int(
  'mssdflt',
  'tcp_mssdflt',
  TCP_MSS,
  'Default TCP Maximum Segment Size',
);
export const V_tcp_minmss = tcp_int(
  'minmss',
  'tcp_minmss',
  TCP_MINMSS,
  'Minimum TCP Maximum Segment Size',
);
export const V_tcp_do_rfc1323 = tcp_int(
  'rfc1323',
  'tcp_do_rfc1323',
  1,
  'Enable rfc1323 (high performance TCP) extensions',
);
export const V_tcp_do_sack = tcp_int(
  'sack.enable',
  'tcp_do_sack',
  1,
  'Enable/Disable TCP SACK support',
);
/* FreeBSD 14's lost retransmission detection (tcp_sack.ts), on by default; read when a
 * connection block is made (TF_LRD), as FreeBSD's tcp_newtcpcb does. */
export const V_tcp_do_lrd = tcp_int(
  'sack.lrd',
  'tcp_do_lrd',
  1,
  'Perform Lost Retransmission Detection',
);
/* RFC 6675's revised SACK recovery, FreeBSD 14's default: here its rescue
 * retransmission (tcp_sack_rescue). */
export const V_tcp_do_newsack = tcp_int(
  'sack.revised',
  'tcp_do_newsack',
  1,
  'Use revised SACK loss recovery per RFC 6675',
);
/* Proportional Rate Reduction (RFC 6937) in SACK recovery, on by default as in FreeBSD
 * 14; the conservative variant (packet conservation only) off. */
export const V_tcp_do_prr = tcp_int(
  'do_prr',
  'tcp_do_prr',
  1,
  'Enable Proportional Rate Reduction per RFC 6937',
);
export const V_tcp_do_prr_conservative = tcp_int(
  'do_prr_conservative',
  'tcp_do_prr_conservative',
  0,
  'Do conservative Proportional Rate Reduction',
);
export const V_tcp_sendspace = tcp_int(
  'sendspace',
  'tcp_sendspace',
  32768,
  'Initial send socket buffer size',
);
export const V_tcp_recvspace = tcp_int(
  'recvspace',
  'tcp_recvspace',
  65536,
  'Initial receive socket buffer size',
);
export const V_tcp_do_autosndbuf = tcp_int(
  'sendbuf_auto',
  'tcp_do_autosndbuf',
  1,
  'Enable automatic send buffer sizing',
);
export const V_tcp_autosndbuf_inc = tcp_int(
  'sendbuf_inc',
  'tcp_autosndbuf_inc',
  8192,
  'Incrementor step size of automatic send buffer',
);
export const V_tcp_autosndbuf_max = tcp_int(
  'sendbuf_max',
  'tcp_autosndbuf_max',
  2 * 1024 * 1024,
  'Max size of automatic send buffer',
);
export const V_tcp_do_autorcvbuf = tcp_int(
  'recvbuf_auto',
  'tcp_do_autorcvbuf',
  1,
  'Enable automatic receive buffer sizing',
);
export const V_tcp_autorcvbuf_max = tcp_int(
  'recvbuf_max',
  'tcp_autorcvbuf_max',
  2 * 1024 * 1024,
  'Max size of automatic receive buffer',
);
export const V_tcp_delack_enabled = tcp_int(
  'delayed_ack',
  'tcp_delack_enabled',
  1,
  'Delay ACK to try and piggyback it onto a data packet',
);
export const V_tcp_delacktime = tcp_int(
  'delacktime',
  'tcp_delacktime',
  TCPTV_DELACK,
  'Time before a delayed ACK is sent (ms)',
);
export const V_tcp_msl = tcp_int('msl', 'tcp_msl', TCPTV_MSL, 'Maximum Segment Lifetime (ms)');
export const V_tcp_rexmit_initial = tcp_int(
  'rexmit_initial',
  'tcp_rexmit_initial',
  TCPTV_RTOBASE,
  'Initial Retransmission Timeout (ms)',
);
export const V_tcp_rexmit_min = tcp_int(
  'rexmit_min',
  'tcp_rexmit_min',
  TCPTV_MIN,
  'Minimum Retransmission Timeout (ms)',
);
export const V_tcp_rexmit_slop = tcp_int(
  'rexmit_slop',
  'tcp_rexmit_slop',
  TCPTV_CPU_VAR,
  'Retransmission Timer Slop (ms)',
);
export const V_tcp_keepinit = tcp_int(
  'keepinit',
  'tcp_keepinit',
  TCPTV_KEEP_INIT,
  'time to establish connection (ms)',
);
export const V_tcp_keepidle = tcp_int(
  'keepidle',
  'tcp_keepidle',
  TCPTV_KEEP_IDLE,
  'time before keepalive probes begin (ms)',
);
export const V_tcp_keepintvl = tcp_int(
  'keepintvl',
  'tcp_keepintvl',
  TCPTV_KEEPINTVL,
  'time between keepalive probes (ms)',
);
export const V_tcp_keepcnt = tcp_int(
  'keepcnt',
  'tcp_keepcnt',
  TCPTV_KEEPCNT,
  'Number of keepalive probes to send',
);
export const V_tcp_always_keepalive = tcp_int(
  'always_keepalive',
  'tcp_always_keepalive',
  1,
  'Assume SO_KEEPALIVE on all TCP connections',
);
export const V_tcp_finwait2_timeout = tcp_int(
  'finwait2_timeout',
  'tcp_finwait2_timeout',
  TCPTV_FINWAIT2_TIMEOUT,
  'FIN-WAIT2 timeout (ms)',
);
export const V_tcp_fast_finwait2_recycle = tcp_int(
  'fast_finwait2_recycle',
  'tcp_fast_finwait2_recycle',
  0,
  'Recycle closed FIN_WAIT_2 connections faster',
);
export const V_tcp_blackhole = tcp_int(
  'blackhole',
  'tcp_blackhole',
  0,
  'Do not send RST on segments to closed ports',
);
export const V_tcp_insecure_rst = tcp_int(
  'insecure_rst',
  'tcp_insecure_rst',
  0,
  'Follow RFC793 instead of RFC5961 criteria for accepting RST packets',
);
export const V_tcp_insecure_syn = tcp_int(
  'insecure_syn',
  'tcp_insecure_syn',
  0,
  'Follow RFC793 instead of RFC5961 criteria for accepting SYN packets',
);
export const V_tcp_initcwnd_segments = tcp_int(
  'initcwnd_segments',
  'tcp_initcwnd_segments',
  10,
  'Slow-start flight size (initial congestion window) in number of segments',
);
export const V_tcp_abc_l_var = tcp_int(
  'abc_l_var',
  'tcp_abc_l_var',
  2,
  'Cap the max cwnd increment during slow-start to this number of segments',
);
export const V_tcp_do_rfc3042 = tcp_int(
  'rfc3042',
  'tcp_do_rfc3042',
  1,
  'Enable RFC 3042 (Limited Transmit)',
);
export const V_tcp_reass_maxqueuelen = tcp_int(
  'reass.maxqueuelen',
  'tcp_reass_maxqueuelen',
  100,
  'Maximum number of TCP Segments per Reassembly Queue',
);
export const V_tcp_ack_war_timewindow = tcp_int(
  'ack_war_timewindow',
  'tcp_ack_war_timewindow',
  1000,
  'Challenge ACK rate limit window (ms)',
);
export const V_tcp_ack_war_cnt = tcp_int(
  'ack_war_cnt',
  'tcp_ack_war_cnt',
  5,
  'Maximum challenge ACKs per window',
);
export const V_tcp_syncookies = tcp_int(
  'syncookies',
  'tcp_syncookies',
  1,
  'Use TCP SYN cookies if the syncache overflows',
);
export const V_tcp_syncookiesonly = tcp_int(
  'syncookies_only',
  'tcp_syncookiesonly',
  0,
  'Use only TCP SYN cookies',
);
export const V_tcp_log_in_vain = tcp_int(
  'log_in_vain',
  'tcp_log_in_vain',
  0,
  'Log all incoming TCP segments to closed ports',
);
