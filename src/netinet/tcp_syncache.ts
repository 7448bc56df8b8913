/*
 * netinet/tcp_syncache.ts — the SYN cache and SYN cookies (FreeBSD
 * sys/netinet/tcp_syncache.c).
 *
 * A SYN for a listening socket does not make a socket: it makes a small syncache entry
 * (the peer's options, our ISS) and a SYN-ACK, retransmitted with the usual backoff up
 * to net.inet.tcp.syncache.rexmtlimit times.  Only the ACK that completes the
 * handshake (ack = ISS + 1) makes the connection: syncache_socket clones the
 * listener (sonewconn), gives the new pcb the entry's addresses and negotiated options
 * in SYN_RECEIVED, and tcp_input's ACK processing establishes it and puts it on the
 * listen queue for accept(2).  A full listen queue drops it (tcps_listendrop).
 *
 * When a hash bucket (net.inet.tcp.syncache.bucketlimit) or the whole cache
 * (cachelimit) is full — a SYN flood — and net.inet.tcp.syncookies is set, the SYN-ACK
 * carries a SYN cookie instead of state: the ISS's upper 24 bits are a keyed hash of
 * the 4-tuple, the peer's ISN and the low 8 bits, which encode the secret in use
 * (odd/even), the MSS (3 bits, an index into FreeBSD's table), whether the peer
 * offered window scaling and its shift (2 bits: 0, 4, 6 or 7, rounded down) and
 * SACK-permitted.  The secrets change every 16 seconds (a cookie is good for
 * up to two periods); an ACK whose ack - 1 is a valid cookie makes the connection
 * without any entry.  Cookie connections have no timestamps (their TS value is not
 * encoded), as when FreeBSD's TS encoding fails.  Without syncookies the oldest entry
 * of the bucket makes room.
 *
 * An ECN-setup SYN (ECE|CWR) is answered with ECE unless net.inet.tcp.ecn.enable is 0,
 * and the connection is ECN-permitted (tcp_ecn.ts) — not one a cookie makes: as in
 * FreeBSD the cookie has no bit for it.
 *
 * Deliberate differences: the limits are per vnet sysctls that can be changed at run
 * time (FreeBSD makes them loader tunables); there is no TCP Fast Open.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SI_ORDER_ANY, SI_SUB_PROTO_DOMAIN } from '../sys/kernel.js';
import {
  VNET_DEFINE_INT,
  VNET_OBJ,
  VNET_SYSINIT,
  VNET_SYSUNINIT,
  type VnetI32,
} from '../net/vnet.js';
import { CTLFLAG_RD, CTLFLAG_RW, CTLFLAG_VNET, SYSCTL_INT, SYSCTL_NODE } from '../sys/sysctl.js';
import { Callout, callout_reset, callout_stop } from '../kern/kern_timeout.js';
import { CURVNET_RESTORE, CURVNET_SET, curvnet, type Vnet } from '../net/vnet.js';
import { get_ticks } from '../kern/kern_clock.js';
import { arc4random } from '../kern/subr_random.js';
import { sbspace, so_globals, sonewconn } from '../kern/uipc_sockbuf.js';
import { in_pcbrehash, type Inpcb } from './in_pcb.js';
import { SB_AUTOSIZE } from '../sys/socketvar.js';
import {
  SEQ_LEQ,
  TCPS_SYN_RECEIVED,
  TCPSTAT_INC,
  TCPS_,
  TCP_MAXWIN,
  TF_NODELAY,
  TF_NOPUSH,
  TF_RCVD_SCALE,
  TF_RCVD_TSTMP,
  TF_REQ_SCALE,
  TF_REQ_TSTMP,
  TF_SACK_PERMIT,
  TH_ACK,
  TH_CWR,
  TH_ECE,
  TH_SYN,
  TT_KEEP,
  V_tcp_do_rfc1323,
  V_tcp_do_sack,
  V_tcp_rexmit_initial,
  V_tcp_syncookies,
  V_tcp_syncookiesonly,
  intotcpcb,
  seq_add,
  tcp_backoff,
  type Tcpcb,
} from './tcp_var.js';
import type { TcpOpt, TcpSeg } from './tcp_input.js';
import { TOF_MSS, TOF_SACKPERM, TOF_SCALE, TOF_TS } from './tcp_input.js';
import { tcp_ip_output, tcp_addoptions, tcp_request_scale, type TcpOpts } from './tcp_output.js';
import { tcp_mss, tcp_mssopt, tcp_new_isn, tcp_state_change } from './tcp_subr.js';
import { tcp_timer_activate, TP_KEEPINIT } from './tcp_timer.js';
import { cc_attach, cc_detach } from './cc/cc.js';
import {
  SCF_ECN,
  V_tcp_ecn_maxretries,
  tcp_ecn_syncache_add,
  tcp_ecn_syncache_respond,
  tcp_ecn_syncache_socket,
} from './tcp_ecn.js';

export const K = new ObjFile('netinet/tcp_syncache.ts', VIMAGEID('src/netinet/tcp_syncache.ts'));

const SCF_WINSCALE = 0x01;
const SCF_TIMESTAMP = 0x02;
const SCF_SACK = 0x80;

/** One half-open connection. */
interface Syncache {
  laddr: number;
  lport: number;
  faddr: number;
  fport: number;
  irs: number;
  iss: number;
  flags: number;
  /** The peer's window scale and ours. */
  requested_s_scale: number;
  requested_r_scale: number;
  peer_mss: number;
  tsreflect: number;
  tsoff: number;
  rxmits: number;
  readonly timer: Callout;
  /** The listener's pcb. */
  readonly ltp: Tcpcb;
  readonly vnet: Vnet | null;
}

SYSCTL_NODE(K, 'net.inet.tcp.syncache', CTLFLAG_RW, 'TCP SYN cache');

function sc_int(name: string, sym: string, init: number, flags: number, descr: string): VnetI32 {
  const v = VNET_DEFINE_INT(K, sym, init);
  SYSCTL_INT(K, `net.inet.tcp.syncache.${name}`, CTLFLAG_VNET | flags, v, descr);
  return v;
}

const TCP_SYNCACHE_HASHSIZE = 512;
export const V_syncache_bucketlimit = sc_int(
  'bucketlimit',
  'tcp_syncache_bucketlimit',
  30,
  CTLFLAG_RW,
  'Per-bucket hash limit for syncache',
);
export const V_syncache_cachelimit = sc_int(
  'cachelimit',
  'tcp_syncache_cachelimit',
  TCP_SYNCACHE_HASHSIZE * 30,
  CTLFLAG_RW,
  'Overall entry limit for syncache',
);
export const V_syncache_rexmtlimit = sc_int(
  'rexmtlimit',
  'tcp_syncache_rexmtlimit',
  3,
  CTLFLAG_RW,
  'Limit on SYN/ACK retransmissions',
);
export const V_syncache_count = sc_int(
  'count',
  'tcp_syncache_count',
  0,
  CTLFLAG_RD,
  'Current number of entries in syncache',
);

/** The vnet's cache and cookie secrets. */
class SyncacheVnet {
  readonly buckets = new Map<number, Syncache[]>();
  readonly secret: number[] = [arc4random(), arc4random()];
  /** The 16-second period each secret was made for. */
  readonly secret_period: number[] = [-2, -2];
}

const V_syncache = VNET_OBJ<SyncacheVnet>(K, 'tcp_syncache');
VNET_SYSINIT(K, 'syncache_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  V_syncache.set(new SyncacheVnet());
});
VNET_SYSUNINIT(K, 'syncache_destroy', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  const st = V_syncache.get();
  for (const b of st.buckets.values()) for (const sc of b) callout_stop(sc.timer);
  st.buckets.clear();
});

function hash(faddr: number, fport: number, laddr: number, lport: number): number {
  let h = Math.imul(faddr ^ (fport << 16) ^ lport, 0x9e3779b1) ^ laddr;
  h ^= h >>> 13;
  return (h >>> 0) % TCP_SYNCACHE_HASHSIZE;
}

function sc_lookup(th: TcpSeg): { bucket: Syncache[] | undefined; sc: Syncache | null; h: number } {
  const h = hash(th.src, th.sport, th.dst, th.dport);
  const bucket = V_syncache.get().buckets.get(h);
  const sc =
    bucket?.find(
      (e) =>
        e.faddr === th.src && e.fport === th.sport && e.laddr === th.dst && e.lport === th.dport,
    ) ?? null;
  return { bucket, sc, h };
}

function syncache_drop(sc: Syncache): void {
  callout_stop(sc.timer);
  const st = V_syncache.get();
  const h = hash(sc.faddr, sc.fport, sc.laddr, sc.lport);
  const b = st.buckets.get(h);
  if (b === undefined) return;
  const i = b.indexOf(sc);
  if (i >= 0) {
    b.splice(i, 1);
    V_syncache_count.set(V_syncache_count.get() - 1);
  }
  if (b.length === 0) st.buckets.delete(h);
}

/** The SYN-ACK for an entry (or a cookie, which has the same fields). */
function syncache_respond(sc: Syncache): void {
  const lso = sc.ltp.t_inpcb.inp_socket;
  const wnd = Math.min(lso !== null ? sbspace(lso.so_rcv) : TCP_MAXWIN, TCP_MAXWIN);
  const o: TcpOpts = { mss: tcp_mssopt(sc.faddr) };
  if (sc.flags & SCF_WINSCALE) o.wscale = sc.requested_r_scale;
  if (sc.flags & SCF_SACK) o.sackok = true;
  if (sc.flags & SCF_TIMESTAMP) o.ts = [(get_ticks() + sc.tsoff) >>> 0, sc.tsreflect];
  const inp = sc.ltp.t_inpcb;
  TCPSTAT_INC(TCPS_.tcps_sndtotal);
  tcp_ip_output(
    sc.laddr,
    sc.lport,
    sc.faddr,
    sc.fport,
    sc.iss,
    seq_add(sc.irs, 1),
    tcp_ecn_syncache_respond(TH_SYN | TH_ACK, sc.flags),
    wnd,
    tcp_addoptions(o),
    null,
    0,
    0,
    inp.inp_ip_ttl,
    inp.inp_ip_tos,
    0,
    true,
  );
}

function syncache_timer(arg: unknown): void {
  const sc = arg as Syncache;
  const saved = sc.vnet !== null && sc.vnet.kernel.vimage ? CURVNET_SET(sc.vnet) : null;
  try {
    if (sc.rxmits >= V_syncache_rexmtlimit.get()) {
      TCPSTAT_INC(TCPS_.tcps_sc_stale);
      syncache_drop(sc);
      return;
    }
    sc.rxmits++;
    TCPSTAT_INC(TCPS_.tcps_sc_retransmitted);
    /* A SYN-ACK with ECE may be what a middlebox drops: past ecn.maxretries, without. */
    if (sc.rxmits > V_tcp_ecn_maxretries.get()) sc.flags &= ~SCF_ECN;
    syncache_respond(sc);
    callout_reset(
      sc.timer,
      V_tcp_rexmit_initial.get() * tcp_backoff[sc.rxmits]!,
      syncache_timer,
      sc,
    );
  } finally {
    if (saved !== null || (sc.vnet !== null && sc.vnet.kernel.vimage)) CURVNET_RESTORE(saved);
  }
}

/* ------------------------------------------------------------------------------ */
/* SYN cookies                                                                      */

/** FreeBSD's tcp_sc_msstab and wscale table (3 bits each). */
const tcp_sc_msstab = [216, 536, 1200, 1360, 1400, 1440, 1452, 1460];
const tcp_sc_wstab = [0, 4, 6, 7];
const SYNCOOKIE_LIFETIME = 16 * 1000;

function cookie_period(): number {
  return Math.floor(get_ticks() / SYNCOOKIE_LIFETIME);
}

/** The secret for a period, rotating the odd/even slots as time goes on. */
function cookie_secret(period: number): number | null {
  const st = V_syncache.get();
  const odd = period & 1;
  if (st.secret_period[odd] !== period) {
    if (period !== cookie_period()) return null; /* an old period's secret is gone */
    st.secret[odd] = arc4random();
    st.secret_period[odd] = period;
  }
  return st.secret[odd]!;
}

function cookie_mac(key: number, sc: Syncache, low: number): number {
  let h = key;
  for (const v of [sc.laddr, sc.faddr, (sc.lport << 16) | sc.fport, sc.irs, low]) {
    h = Math.imul(h ^ v, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** syncookie_generate: the ISS that encodes sc's options. */
function syncookie_generate(sc: Syncache): number {
  const period = cookie_period();
  const key = cookie_secret(period)!;
  let mssidx = 0;
  for (let i = tcp_sc_msstab.length - 1; i >= 0; i--)
    if (tcp_sc_msstab[i]! <= sc.peer_mss) {
      mssidx = i;
      break;
    }
  let wsbits = 0;
  if (sc.flags & SCF_WINSCALE) {
    let i = 0;
    for (let j = tcp_sc_wstab.length - 1; j >= 0; j--)
      if (tcp_sc_wstab[j]! <= sc.requested_s_scale) {
        i = j;
        break;
      }
    /* Rounding the peer's shift down only makes its window look smaller: safe. */
    sc.requested_s_scale = tcp_sc_wstab[i]!;
    wsbits = 0x08 | (i << 1);
  }
  const low8 = ((period & 1) << 7) | (mssidx << 4) | wsbits | (sc.flags & SCF_SACK ? 1 : 0);
  sc.iss = ((cookie_mac(key, sc, low8) & 0xffffff00) | low8) >>> 0;
  return sc.iss;
}

/* ------------------------------------------------------------------------------ */
/* The three entry points tcp_input uses.                                          */

/** syncache_add: a SYN for listener ltp. */
export function syncache_add(ltp: Tcpcb, th: TcpSeg, to: TcpOpt): void {
  const st = V_syncache.get();
  const { bucket, sc: old, h } = sc_lookup(th);
  if (old !== null) {
    /* A retransmitted SYN: answer again (tcps_sc_dupsyn). */
    TCPSTAT_INC(TCPS_.tcps_sc_dupsyn);
    if (to.to_flags & TOF_TS) old.tsreflect = to.to_tsval;
    /* The peer gave up on ECN (its SYN retransmitted without ECE|CWR): so do we. */
    if (old.flags & SCF_ECN && (th.flags & (TH_ECE | TH_CWR)) !== (TH_ECE | TH_CWR))
      old.flags &= ~SCF_ECN;
    syncache_respond(old);
    return;
  }
  const sc: Syncache = {
    laddr: th.dst,
    lport: th.dport,
    faddr: th.src,
    fport: th.sport,
    irs: th.seq,
    iss: 0,
    flags: 0,
    requested_s_scale: 0,
    requested_r_scale: 0,
    peer_mss: to.to_flags & TOF_MSS ? to.to_mss : 536,
    tsreflect: 0,
    tsoff: 0,
    rxmits: 0,
    timer: new Callout(),
    ltp,
    vnet: curvnet(),
  };
  const lso = ltp.t_inpcb.inp_socket!;
  if (V_tcp_do_rfc1323.get() !== 0 && to.to_flags & TOF_SCALE) {
    sc.flags |= SCF_WINSCALE;
    sc.requested_s_scale = to.to_wscale;
    sc.requested_r_scale = tcp_request_scale(Math.max(so_globals().sb_max, lso.so_rcv.sb_hiwat));
  }
  if (V_tcp_do_rfc1323.get() !== 0 && to.to_flags & TOF_TS) {
    sc.flags |= SCF_TIMESTAMP;
    sc.tsreflect = to.to_tsval;
    sc.tsoff = arc4random();
  }
  if (V_tcp_do_sack.get() !== 0 && to.to_flags & TOF_SACKPERM) sc.flags |= SCF_SACK;
  /* An ECN-setup SYN (its SYN-ACK says ECE, a cookie's too, though the cookie cannot
   * remember it: the connection a cookie makes is not ECN-permitted, as in FreeBSD). */
  sc.flags |= tcp_ecn_syncache_add(th.flags);

  const full =
    (bucket?.length ?? 0) >= V_syncache_bucketlimit.get() ||
    V_syncache_count.get() >= V_syncache_cachelimit.get();
  if (full || V_tcp_syncookiesonly.get() !== 0) {
    if (full) {
      TCPSTAT_INC(
        (bucket?.length ?? 0) >= V_syncache_bucketlimit.get()
          ? TCPS_.tcps_sc_bucketoverflow
          : TCPS_.tcps_sc_cacheoverflow,
      );
    }
    if (V_tcp_syncookies.get() !== 0) {
      /* No state: the SYN-ACK carries a cookie (without timestamps). */
      sc.flags &= ~SCF_TIMESTAMP;
      syncookie_generate(sc);
      TCPSTAT_INC(TCPS_.tcps_sc_sendcookie);
      syncache_respond(sc);
      return;
    }
    if (bucket !== undefined && bucket.length > 0) syncache_drop(bucket[0]!);
  }
  sc.iss = tcp_new_isn(sc.laddr, sc.lport, sc.faddr, sc.fport);
  const b = st.buckets.get(h);
  if (b === undefined) st.buckets.set(h, [sc]);
  else b.push(sc);
  V_syncache_count.set(V_syncache_count.get() + 1);
  TCPSTAT_INC(TCPS_.tcps_sc_added);
  syncache_respond(sc);
  callout_reset(sc.timer, V_tcp_rexmit_initial.get(), syncache_timer, sc);
}

/** syncookie_lookup: the entry a valid cookie in th.ack - 1 stands for, or null. */
function syncookie_lookup(ltp: Tcpcb, th: TcpSeg): Syncache | null {
  const iss = seq_add(th.ack, -1);
  const low8 = iss & 0xff;
  const cur = cookie_period();
  const odd = (low8 >>> 7) & 1;
  const period = (cur & 1) === odd ? cur : cur - 1;
  const key = cookie_secret(period);
  if (key === null) return null;
  const sc: Syncache = {
    laddr: th.dst,
    lport: th.dport,
    faddr: th.src,
    fport: th.sport,
    irs: seq_add(th.seq, -1),
    iss,
    flags: 0,
    requested_s_scale: 0,
    requested_r_scale: 0,
    peer_mss: tcp_sc_msstab[(low8 >>> 4) & 7]!,
    tsreflect: 0,
    tsoff: 0,
    rxmits: 0,
    timer: new Callout(),
    ltp,
    vnet: curvnet(),
  };
  if ((cookie_mac(key, sc, low8) & 0xffffff00) >>> 0 !== (iss & 0xffffff00) >>> 0) return null;
  if (low8 & 0x08) {
    sc.flags |= SCF_WINSCALE;
    sc.requested_s_scale = tcp_sc_wstab[(low8 >>> 1) & 3]!;
    const lso = ltp.t_inpcb.inp_socket!;
    sc.requested_r_scale = tcp_request_scale(Math.max(so_globals().sb_max, lso.so_rcv.sb_hiwat));
  }
  if (low8 & 1) sc.flags |= SCF_SACK;
  return sc;
}

/**
 * syncache_expand: the ACK of a SYN-ACK.  Returns the new connection's tcpcb in
 * SYN_RECEIVED (tcp_input finishes the handshake with it), or null: not ours, a bad
 * ACK, or no room on the listen queue.
 */
export function syncache_expand(ltp: Tcpcb, th: TcpSeg, _to: TcpOpt): Tcpcb | null {
  let { sc } = sc_lookup(th);
  if (sc === null) {
    if (V_tcp_syncookies.get() === 0) return null;
    sc = syncookie_lookup(ltp, th);
    if (sc === null) {
      TCPSTAT_INC(TCPS_.tcps_sc_badack);
      return null;
    }
    TCPSTAT_INC(TCPS_.tcps_sc_recvcookie);
  } else {
    if (th.ack !== seq_add(sc.iss, 1) || SEQ_LEQ(th.seq, sc.irs)) {
      TCPSTAT_INC(TCPS_.tcps_sc_badack);
      return null;
    }
    syncache_drop(sc);
  }
  const tp = syncache_socket(sc);
  if (tp === null) {
    TCPSTAT_INC(TCPS_.tcps_listendrop);
    TCPSTAT_INC(TCPS_.tcps_sc_aborted);
    return null;
  }
  TCPSTAT_INC(TCPS_.tcps_sc_completed);
  return tp;
}

/** syncache_socket: a new socket and pcb for the connection sc describes. */
function syncache_socket(sc: Syncache): Tcpcb | null {
  const lso = sc.ltp.t_inpcb.inp_socket;
  if (lso === null) return null;
  const so = sonewconn(lso, 0);
  if (so === null) return null;
  const inp = so.so_pcb as Inpcb;
  const tp = intotcpcb(inp)!;
  const ltp = sc.ltp;
  /* Buffer autosizing as the listener has it (SO_SNDBUF/SO_RCVBUF turned it off). */
  so.so_snd.sb_flags = (so.so_snd.sb_flags & ~SB_AUTOSIZE) | (lso.so_snd.sb_flags & SB_AUTOSIZE);
  so.so_rcv.sb_flags = (so.so_rcv.sb_flags & ~SB_AUTOSIZE) | (lso.so_rcv.sb_flags & SB_AUTOSIZE);
  inp.inp_laddr = sc.laddr as typeof inp.inp_laddr;
  inp.inp_lport = sc.lport;
  inp.inp_faddr = sc.faddr as typeof inp.inp_faddr;
  inp.inp_fport = sc.fport;
  inp.inp_flags |= ltp.t_inpcb.inp_flags & 0x00004000;
  inp.inp_ip_ttl = ltp.t_inpcb.inp_ip_ttl;
  inp.inp_ip_tos = ltp.t_inpcb.inp_ip_tos;
  in_pcbrehash(inp);
  /* The listener's algorithm and options carry over. */
  if (tp.cc_algo !== ltp.cc_algo) {
    cc_detach(tp);
    cc_attach(tp, ltp.cc_algo);
  }
  tp.t_flags =
    (tp.t_flags & ~(TF_REQ_SCALE | TF_REQ_TSTMP)) | (ltp.t_flags & (TF_NOPUSH | TF_NODELAY));
  tp.t_keepinit = ltp.t_keepinit;
  tp.t_keepidle = ltp.t_keepidle;
  tp.t_keepintvl = ltp.t_keepintvl;
  tp.t_keepcnt = ltp.t_keepcnt;
  tp.iss = sc.iss;
  tp.irs = sc.irs;
  tp.snd_una = tp.snd_nxt = tp.snd_max = tp.snd_up = seq_add(sc.iss, 1);
  tp.rcv_nxt = tp.rcv_up = seq_add(sc.irs, 1);
  tp.snd_wl1 = sc.irs;
  if (sc.flags & SCF_WINSCALE) {
    tp.t_flags |= TF_REQ_SCALE | TF_RCVD_SCALE;
    tp.snd_scale = sc.requested_s_scale;
    tp.rcv_scale = sc.requested_r_scale;
    tp.request_r_scale = sc.requested_r_scale;
  }
  if (sc.flags & SCF_TIMESTAMP) {
    tp.t_flags |= TF_REQ_TSTMP | TF_RCVD_TSTMP;
    tp.ts_recent = sc.tsreflect;
    tp.ts_recent_age = get_ticks();
    tp.ts_offset = sc.tsoff;
  }
  if (sc.flags & SCF_SACK) tp.t_flags |= TF_SACK_PERMIT;
  tcp_ecn_syncache_socket(tp, sc.flags);
  tp.rcv_adv = seq_add(tp.rcv_nxt, Math.min(sbspace(so.so_rcv), TCP_MAXWIN << tp.rcv_scale));
  tp.last_ack_sent = tp.rcv_nxt;
  tcp_state_change(tp, TCPS_SYN_RECEIVED);
  tcp_mss(tp, sc.peer_mss);
  tp.t_rcvtime = get_ticks();
  tcp_timer_activate(tp, TT_KEEP, TP_KEEPINIT(tp));
  TCPSTAT_INC(TCPS_.tcps_accepts);
  return tp;
}

/** syncache_chkrst: an RST for a pending entry removes it when it hits irs + 1. */
export function syncache_chkrst(th: TcpSeg): void {
  const { sc } = sc_lookup(th);
  if (sc === null) return;
  if (th.seq === seq_add(sc.irs, 1)) {
    TCPSTAT_INC(TCPS_.tcps_sc_reset);
    syncache_drop(sc);
  } else TCPSTAT_INC(TCPS_.tcps_badrst);
}

/** The number of entries (tests and ddb). */
export function syncache_count(): number {
  return V_syncache_count.get();
}
