/*
 * kern/uipc_sockbuf.ts — socket buffers and the socket state transitions protocols
 * drive (sys/kern/uipc_sockbuf.c, and soisconnected & co. from uipc_socket.c).
 *
 * Buffers: sbappend (stream data, coalesced into the last record), sbappendrecord (a
 * new record: SOCK_SEQPACKET, SOCK_STREAM with SB_NOCOALESCE), sbappendaddr (a
 * datagram with its source address; returns false when it does not fit — the caller
 * counts the drop, as udp_input does with udps_fullsock), sbdrop (consume bytes from
 * the front), sbflush, sbreserve/soreserve (SO_SNDBUF/SO_RCVBUF, bounded by the
 * kern.ipc.maxsockbuf sysctl), sbspace.
 *
 * State: socantsendmore/socantrcvmore (half close), soisconnecting, soisconnected (on a
 * listener's incomplete queue this moves the socket to the completed queue and wakes
 * accept), soisdisconnecting, soisdisconnected, and sonewconn, which protocols call
 * when a connection request arrives on a listener: a new socket of the same protocol
 * goes onto the listener's incomplete queue (or the completed one), or null when the
 * queue is over its limit — FreeBSD's rule: refuse when the completed queue holds more
 * than 3/2 of sol_qlimit (sol_qlimit = min(backlog, kern.ipc.soacceptqueue)).
 *
 * Wakeups: sorwakeup/sowwakeup wake threads sleeping in receive/send (channel: the
 * buffer) and every poll(2) waiter recorded in the buffer's selinfo.
 *
 * Per-kernel tunables (FreeBSD globals, not per vnet): kern.ipc.maxsockbuf (2 MiB)
 * and kern.ipc.soacceptqueue (kern.ipc.somaxconn, 128) live in k.so_globals.
 */

import type { Kernel } from './kernel.js';
import { curkernel } from './kern_cur.js';
import { wakeup_k } from './kern_synch.js';
import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { CTLFLAG_RW, SYSCTL_INT, SYSCTL_NODE } from '../sys/sysctl.js';
import { m_adj, m_freem, mtod, type Mbuf } from '../sys/mbuf.js';
import {
  MSIZE,
  SB_NOCOALESCE,
  SB_SEL,
  SB_WAIT,
  SBS_CANTRCVMORE,
  SBS_CANTSENDMORE,
  SQ_COMP,
  SQ_INCOMP,
  SS_ISCONFIRMING,
  SS_ISCONNECTED,
  SS_ISCONNECTING,
  SS_ISDISCONNECTED,
  SS_ISDISCONNECTING,
  SS_NBIO,
  SelInfo,
  Socket,
  type SbRecord,
  type Sockbuf,
} from '../sys/socketvar.js';
import { SOMAXCONN } from '../sys/socket.js';
import { ENOBUFS } from '../sys/errno.js';
import { soalloc_attach } from './uipc_socket.js';

export const K = new ObjFile('kern/uipc_sockbuf.ts', VIMAGEID('src/kern/uipc_sockbuf.ts'));

/** SB_MAX: the default kern.ipc.maxsockbuf. */
export const SB_MAX = 2 * 1024 * 1024;
/** sb_efficiency: mbuf storage allowed per byte of data. */
export const SB_EFFICIENCY = 8;

/** The socket layer's per-kernel globals. */
export class SoGlobals {
  sb_max = SB_MAX;
  somaxconn = SOMAXCONN;
  /** Sockets alive in this kernel (all vnets), for tests and ddb. */
  numopensockets = 0;
  /** Generation count: each socket's so_gencnt, its identity in kern.file and pcblists. */
  so_gencnt = 0;
  /** Every live socket (sovnet_drain at jail removal; later sockstat). */
  readonly sockets = new Set<Socket>();
}

declare module './kernel.js' {
  interface Kernel {
    /** Socket layer globals (kern/uipc_sockbuf.ts), created on first use. */
    so_globals?: SoGlobals;
  }
}

export function so_globals(k: Kernel = curkernel()): SoGlobals {
  let g = k.so_globals;
  if (g === undefined) k.so_globals = g = new SoGlobals();
  return g;
}

SYSCTL_NODE(K, 'kern.ipc', CTLFLAG_RW, 'IPC');
SYSCTL_INT(
  K,
  'kern.ipc.maxsockbuf',
  CTLFLAG_RW,
  {
    get: () => so_globals().sb_max,
    set: (v: number) => {
      if (v >= 1024) so_globals().sb_max = v;
    },
  },
  'Maximum socket buffer size',
);
SYSCTL_INT(
  K,
  'kern.ipc.soacceptqueue',
  CTLFLAG_RW,
  {
    get: () => so_globals().somaxconn,
    set: (v: number) => {
      if (v >= 1 && v <= 65535) so_globals().somaxconn = v;
    },
  },
  'Maximum listen socket pending connection accept queue size',
);
SYSCTL_INT(
  K,
  'kern.ipc.numopensockets',
  0x80000000,
  { get: () => so_globals().numopensockets, set: () => {} },
  'Number of open sockets',
);

/* ------------------------------------------------------------------------------ */
/* Wakeups.                                                                        */

/**
 * A poll(2) waiter's channel: it remembers the selinfos it was recorded on so that
 * seltdclear() can forget it when the poll returns (a plain object channel also works;
 * it is then only forgotten at the next selwakeup).
 */
export class PollWait {
  readonly pw_sels = new Set<SelInfo>();
}

/** selrecord(): remember a poll waiter's channel on si. */
export function selrecord(chan: object, si: SelInfo): void {
  (si.si_waiters ??= new Set()).add(chan);
  if (chan instanceof PollWait) chan.pw_sels.add(si);
}

/** seltdclear(): the poll is over; take its channel off every selinfo. */
export function seltdclear(pw: PollWait): void {
  for (const si of pw.pw_sels) si.si_waiters?.delete(pw);
  pw.pw_sels.clear();
}

/** selwakeup(): wake every poll waiter of si. */
export function selwakeup(si: SelInfo, k: Kernel = curkernel()): void {
  if (si.si_waiters === null || si.si_waiters.size === 0) return;
  const w = [...si.si_waiters];
  si.si_waiters.clear();
  for (const c of w) wakeup_k(k, c);
}

/** sowakeup(): wake sleepers of a buffer and its poll waiters. */
export function sowakeup(sb: Sockbuf, k: Kernel = curkernel()): void {
  if (sb.sb_flags & SB_WAIT) {
    sb.sb_flags &= ~SB_WAIT;
    wakeup_k(k, sb);
  }
  if (sb.sb_flags & SB_SEL) {
    sb.sb_flags &= ~SB_SEL;
    selwakeup(sb.sb_sel, k);
  }
}

export function sorwakeup(so: Socket): void {
  sowakeup(so.so_rcv);
}

export function sowwakeup(so: Socket): void {
  sowakeup(so.so_snd);
}

/* ------------------------------------------------------------------------------ */
/* Space.                                                                          */

/** sbspace(): free bytes (the smaller of the data and the storage allowance). */
export function sbspace(sb: Sockbuf): number {
  const bleft = sb.sb_hiwat - sb.sb_ccc;
  const mleft = sb.sb_mbmax - sb.sb_mbcnt;
  return Math.min(bleft, mleft);
}

/** sbavail(): bytes available to read. */
export function sbavail(sb: Sockbuf): number {
  return sb.sb_ccc;
}

/**
 * sbreserve(): set the high-water mark to cc bytes; false when cc is 0 or above what
 * kern.ipc.maxsockbuf allows (sb_max_adj, here sb_max).
 */
export function sbreserve(sb: Sockbuf, cc: number): boolean {
  const max = so_globals().sb_max;
  if (!Number.isInteger(cc) || cc <= 0 || cc > max) return false;
  sb.sb_hiwat = cc;
  sb.sb_mbmax = Math.min(cc * SB_EFFICIENCY, max);
  if (sb.sb_lowat > sb.sb_hiwat) sb.sb_lowat = sb.sb_hiwat;
  return true;
}

/**
 * soreserve(): size both buffers (protocols call it from pr_attach); the receive
 * low-water mark is 1 byte and the send one MCLBYTES (2048), capped by the size.
 */
export function soreserve(so: Socket, sndcc: number, rcvcc: number): number {
  if (!sbreserve(so.so_snd, sndcc)) return ENOBUFS;
  if (!sbreserve(so.so_rcv, rcvcc)) return ENOBUFS;
  if (so.so_rcv.sb_lowat === 0) so.so_rcv.sb_lowat = 1;
  if (so.so_snd.sb_lowat === 0) so.so_snd.sb_lowat = 2048;
  if (so.so_snd.sb_lowat > so.so_snd.sb_hiwat) so.so_snd.sb_lowat = so.so_snd.sb_hiwat;
  return 0;
}

/* ------------------------------------------------------------------------------ */
/* Appending and dropping.                                                         */

function mstore(m: Mbuf): number {
  return MSIZE + m.m_buf.length;
}

function sballoc(sb: Sockbuf, r: SbRecord, m: Mbuf): void {
  r.data.push(m);
  r.len += m.m_len;
  sb.sb_ccc += m.m_len;
  sb.sb_mbcnt += mstore(m);
}

/** sbappend(): stream data, coalesced into the last plain record.  Consumes m. */
export function sbappend(sb: Sockbuf, m: Mbuf, _flags = 0): void {
  if (m.m_len === 0) {
    m_freem(m);
    return;
  }
  const last = sb.sb_records[sb.sb_records.length - 1];
  if (
    last !== undefined &&
    last.addr === null &&
    last.control === null &&
    !(sb.sb_flags & SB_NOCOALESCE)
  ) {
    /* Coalesce small writes into the last mbuf when it has room (sbcompress). */
    const tail = last.data[last.data.length - 1];
    if (
      tail !== undefined &&
      m.m_len <= 256 &&
      tail.m_buf.length - tail.m_data - tail.m_len >= m.m_len
    ) {
      tail.m_buf.set(mtod(m), tail.m_data + tail.m_len);
      tail.m_len += m.m_len;
      last.len += m.m_len;
      sb.sb_ccc += m.m_len;
      m_freem(m);
      return;
    }
    sballoc(sb, last, m);
    return;
  }
  sbappendrecord(sb, m);
}

/** sbappendstream(): the same for protocols that never keep addresses (TCP). */
export const sbappendstream = sbappend;

/** sbappendrecord(): m starts a new record.  Consumes m. */
export function sbappendrecord(sb: Sockbuf, m: Mbuf, control: Uint8Array | null = null): void {
  const r: SbRecord = { addr: null, control, data: [], len: 0 };
  sb.sb_records.push(r);
  if (control !== null) sb.sb_mbcnt += MSIZE;
  sballoc(sb, r, m);
}

/**
 * sbappendaddr(): a datagram from asa with optional control data, as one record.
 * Returns false (and frees nothing: the caller still owns m and drops it, counting
 * the drop) when it does not fit in sbspace().  Consumes m on success.
 */
export function sbappendaddr(
  sb: Sockbuf,
  asa: Uint8Array | null,
  m: Mbuf,
  control: Uint8Array | null = null,
): boolean {
  const space = m.m_len + (asa === null ? 0 : asa.length) + (control?.length ?? 0);
  if (space > sbspace(sb)) return false;
  /* The record is made with its one mbuf (sballoc's accounting, without a push). */
  const r: SbRecord = {
    addr: asa === null ? null : sbcopyaddr(sb, asa),
    control,
    data: [m],
    len: m.m_len,
  };
  sb.sb_records.push(r);
  sb.sb_mbcnt += MSIZE; /* the address mbuf */
  sb.sb_ccc += m.m_len;
  sb.sb_mbcnt += mstore(m);
  return true;
}

/**
 * The record's copy of a source address.  A record's address is never written once
 * appended (receivers copy it out), so a datagram from the same source as the last
 * record shares that record's copy instead of making another.
 */
function sbcopyaddr(sb: Sockbuf, asa: Uint8Array): Uint8Array {
  const last = sb.sb_records[sb.sb_records.length - 1];
  const a = last === undefined ? null : last.addr;
  if (a !== null && a.length === asa.length) {
    let i = 0;
    while (i < a.length && a[i] === asa[i]) i++;
    if (i === a.length) return a;
  }
  return new Uint8Array(asa);
}

/** Drop the first record entirely (datagram consumed or discarded). */
export function sbdroprecord(sb: Sockbuf): void {
  const r = sb.sb_records.shift();
  if (r === undefined) return;
  sb.sb_sndptr_r = -1;
  if (r.addr !== null || r.control !== null) sb.sb_mbcnt -= MSIZE;
  const data = r.data;
  for (let i = 0; i < data.length; i++) {
    const m = data[i]!;
    sb.sb_ccc -= m.m_len;
    sb.sb_mbcnt -= mstore(m);
    m_freem(m);
  }
}

/**
 * sbdrop(): discard len bytes from the front (stream semantics, across records).  The
 * whole mbufs consumed from a record leave its array with one splice: a receive buffer
 * can hold a thousand segments, and a read of 64 KiB frees some 45 of them (a shift
 * each would move the array 45 times).
 */
export function sbdrop(sb: Sockbuf, len: number): void {
  const want = len;
  /* Mbufs freed from the front of the first record (for the send pointer). */
  let freed = 0;
  while (len > 0) {
    const r = sb.sb_records[0];
    if (r === undefined) break;
    const data = r.data;
    let i = 0;
    while (i < data.length && len > 0) {
      const m = data[i]!;
      if (m.m_len <= len) {
        len -= m.m_len;
        r.len -= m.m_len;
        sb.sb_ccc -= m.m_len;
        sb.sb_mbcnt -= mstore(m);
        m_freem(m);
        i++;
      } else {
        m_adj(m, len);
        r.len -= len;
        sb.sb_ccc -= len;
        len = 0;
      }
    }
    if (i === data.length) {
      /* The record is empty (or had no data): it goes. */
      data.length = 0;
      if (r.addr !== null || r.control !== null) sb.sb_mbcnt -= MSIZE;
      sb.sb_records.shift();
      sb.sb_sndptr_r = -1;
    } else if (i > 0) {
      data.splice(0, i);
      freed += i;
    }
  }
  if (sb.sb_sndptr_r >= 0) sbsndptr_drop(sb, want - len, freed);
}

/**
 * The send pointer after sbdrop took `dropped` bytes and `freed` whole mbufs from the
 * front of the first record (a record that went entirely has already cleared it): the
 * pointed mbuf moves down by freed (gone if it was one of them), and its offset by the
 * bytes dropped — 0 when it is now the first mbuf, whose front m_adj may have trimmed.
 */
function sbsndptr_drop(sb: Sockbuf, dropped: number, freed: number): void {
  if (sb.sb_sndptr_r > 0) {
    sb.sb_sndptroff -= dropped;
    return;
  }
  const mi = sb.sb_sndptr_m - freed;
  if (mi < 0) {
    sb.sb_sndptr_r = -1;
    return;
  }
  sb.sb_sndptr_m = mi;
  sb.sb_sndptroff = mi === 0 ? 0 : sb.sb_sndptroff - dropped;
}

/** sbflush(): discard everything. */
export function sbflush(sb: Sockbuf): void {
  while (sb.sb_records.length > 0) sbdroprecord(sb);
  sb.sb_ccc = 0;
  sb.sb_mbcnt = 0;
  sb.sb_sndptr_r = -1;
}

/**
 * Copy up to len bytes (default: what fits in dst after dstoff) from offset skip of sb
 * (across records) into dst at dstoff, without removing them; returns the count.
 * tcp_output gives the segment's own buffer and offset, so no view is made for the
 * destination (one per source mbuf is what TypedArray.set needs).
 */
export function sbcopy(
  sb: Sockbuf,
  dst: Uint8Array,
  skip = 0,
  dstoff = 0,
  len = dst.length - dstoff,
): number {
  let at = 0;
  const recs = sb.sb_records;
  for (let ri = 0; ri < recs.length; ri++) {
    const r = recs[ri]!;
    /* Whole records before the offset are skipped without looking at their mbufs. */
    if (skip >= r.len) {
      skip -= r.len;
      continue;
    }
    const data = r.data;
    for (let i = 0; i < data.length; i++) {
      const m = data[i]!;
      const mlen = m.m_len;
      if (skip >= mlen) {
        skip -= mlen;
        continue;
      }
      const n = Math.min(mlen - skip, len - at);
      const from = m.m_data + skip;
      dst.set(m.m_buf.subarray(from, from + n), dstoff + at);
      skip = 0;
      at += n;
      if (at === len) return at;
    }
  }
  return at;
}

/**
 * sbcopy_sndptr(sb, off, len, dst, dstoff): sbcopy for tcp_output, which copies each
 * segment's data from just after the previous one's.  FreeBSD's sbsndptr_noadv,
 * m_copydata and sbsndptr_adv: the copy starts at the send pointer when off is at or
 * after it (else, a retransmission, from the start of the buffer, leaving the pointer
 * where it is), and a copy from the pointer moves it to the mbuf holding the last byte
 * copied.  A bulk transfer thus no longer walks a send buffer of hundreds of
 * kilobytes for every segment.  Returns the count, as sbcopy.
 */
export function sbcopy_sndptr(
  sb: Sockbuf,
  off: number,
  len: number,
  dst: Uint8Array,
  dstoff: number,
): number {
  const recs = sb.sb_records;
  let ri = 0;
  let mi = 0;
  /* Buffer offset of mbuf (ri, mi)'s first byte. */
  let moff = 0;
  const fromptr = sb.sb_sndptr_r >= 0 && off >= sb.sb_sndptroff;
  if (fromptr) {
    ri = sb.sb_sndptr_r;
    mi = sb.sb_sndptr_m;
    moff = sb.sb_sndptroff;
  }
  let skip = off - moff;
  let at = 0;
  for (; ri < recs.length; ri++, mi = 0) {
    const data = recs[ri]!.data;
    for (; mi < data.length; mi++) {
      const m = data[mi]!;
      const mlen = m.m_len;
      if (skip >= mlen) {
        skip -= mlen;
        moff += mlen;
        continue;
      }
      const n = Math.min(mlen - skip, len - at);
      const from = m.m_data + skip;
      dst.set(m.m_buf.subarray(from, from + n), dstoff + at);
      skip = 0;
      at += n;
      if (at === len) {
        if (fromptr || sb.sb_sndptr_r < 0) {
          sb.sb_sndptr_r = ri;
          sb.sb_sndptr_m = mi;
          sb.sb_sndptroff = moff;
        }
        return at;
      }
      moff += mlen;
    }
  }
  return at;
}

/* ------------------------------------------------------------------------------ */
/* State transitions.                                                              */

/** socantsendmore(): no more data will be sent (shutdown(SHUT_WR), peer gone). */
export function socantsendmore(so: Socket): void {
  so.so_snd.sb_state |= SBS_CANTSENDMORE;
  sowwakeup(so);
}

/** socantrcvmore(): no more data will arrive (EOF). */
export function socantrcvmore(so: Socket): void {
  so.so_rcv.sb_state |= SBS_CANTRCVMORE;
  sorwakeup(so);
}

export function soisconnecting(so: Socket): void {
  so.so_state &= ~(SS_ISCONNECTED | SS_ISDISCONNECTING);
  so.so_state |= SS_ISCONNECTING;
}

/**
 * soisconnected(): the connection is up.  A socket on a listener's incomplete queue
 * moves to the completed queue and the listener's accept and poll waiters are woken.
 */
export function soisconnected(so: Socket): void {
  so.so_state &= ~(SS_ISCONNECTING | SS_ISDISCONNECTING | SS_ISCONFIRMING);
  so.so_state |= SS_ISCONNECTED;
  const head = so.so_listen;
  if (head !== null && so.so_qstate === SQ_INCOMP) {
    const i = head.sol_incomp.indexOf(so);
    if (i >= 0) head.sol_incomp.splice(i, 1);
    head.sol_comp.push(so);
    so.so_qstate = SQ_COMP;
    wakeup_k(curkernel(), head);
    sorwakeup(head);
    return;
  }
  wakeup_k(curkernel(), so);
  sorwakeup(so);
  sowwakeup(so);
}

export function soisdisconnecting(so: Socket): void {
  so.so_state &= ~SS_ISCONNECTING;
  so.so_state |= SS_ISDISCONNECTING;
  so.so_rcv.sb_state |= SBS_CANTRCVMORE;
  so.so_snd.sb_state |= SBS_CANTSENDMORE;
  sorwakeup(so);
  sowwakeup(so);
  wakeup_k(curkernel(), so);
}

/** soisdisconnected(): both directions are closed; everyone waiting is woken. */
export function soisdisconnected(so: Socket): void {
  so.so_state &= ~(SS_ISCONNECTING | SS_ISCONNECTED | SS_ISDISCONNECTING);
  so.so_state |= SS_ISDISCONNECTED;
  so.so_rcv.sb_state |= SBS_CANTRCVMORE;
  so.so_snd.sb_state |= SBS_CANTSENDMORE;
  sbflush(so.so_snd);
  sorwakeup(so);
  sowwakeup(so);
  wakeup_k(curkernel(), so);
}

/**
 * sonewconn(head, connstatus): a protocol received a connection request on listener
 * head.  Returns a new socket of the same protocol (pr_attach done, options and buffer
 * sizes inherited) on head's incomplete queue — or on the completed queue, accept
 * woken, when connstatus is SS_ISCONNECTED — or null when the queue is full
 * (sol_qlen > 3 * sol_qlimit / 2) or the socket cannot be made.
 */
export function sonewconn(head: Socket, connstatus: number): Socket | null {
  const over = head.sol_comp.length > Math.floor((3 * head.sol_qlimit) / 2);
  if (over) return null;
  const so = soalloc_attach(head);
  if (so === null) return null;
  so.so_options = head.so_options & ~0x2; /* not SO_ACCEPTCONN */
  so.so_linger = head.so_linger;
  so.so_state = (head.so_state & SS_NBIO) | SS_ISCONNECTING;
  so.so_listen = head;
  if (connstatus & SS_ISCONNECTED) {
    head.sol_comp.push(so);
    so.so_qstate = SQ_COMP;
    so.so_state = (so.so_state & ~SS_ISCONNECTING) | connstatus;
    wakeup_k(curkernel(), head);
    sorwakeup(head);
  } else {
    head.sol_incomp.push(so);
    so.so_qstate = SQ_INCOMP;
  }
  return so;
}

/** Take so off its listener's queue (accept, abort). */
export function soqremove(so: Socket): void {
  const head = so.so_listen;
  if (head === null) return;
  const q = so.so_qstate === SQ_COMP ? head.sol_comp : head.sol_incomp;
  const i = q.indexOf(so);
  if (i >= 0) q.splice(i, 1);
  so.so_listen = null;
  so.so_qstate = 0;
}

/** Does the receive buffer hold a whole record (datagram) or any data? */
export function sb_hasdata(sb: Sockbuf): boolean {
  return sb.sb_records.length > 0;
}
