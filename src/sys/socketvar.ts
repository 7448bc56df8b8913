/*
 * sys/socketvar.ts — struct socket, struct sockbuf and struct sockopt
 * (sys/sys/socketvar.h, sys/sys/sockbuf.h, sys/sys/sockopt.h, sys/sys/selinfo.h).
 *
 * A socket is the protocol-independent half of a communication endpoint: its type and
 * options, its state bits, its protocol (so_proto, a struct protosw) and the
 * protocol's control block (so_pcb), the vnet and credential it was created in, and
 * two socket buffers.  A listening socket also has its two queues of connections
 * (sol_incomp: being set up, sol_comp: ready for accept).
 *
 * A socket buffer (struct sockbuf) holds data as a list of records.  Each record keeps
 * the sender's address and control data beside its mbufs, so datagram boundaries and
 * source addresses survive until soreceive; stream data is appended to the last record
 * (coalesced) and read across records.  sb_ccc counts data bytes, sb_mbcnt the storage
 * the mbufs hold; sbspace() is the smaller of the two free amounts, as in FreeBSD.
 *
 * Wait channels: a thread blocking in send waits on so_snd, in receive on so_rcv, in
 * accept and connect on the socket itself (so_timeo in FreeBSD).  poll(2) waiters are
 * recorded in each buffer's selinfo (sb_sel) and woken by sorwakeup/sowwakeup
 * (kern/uipc_sockbuf.ts).
 *
 * Deliberate differences: one JS thread, so no socket or buffer locks, no so_count
 * reference races; the listening state is kept in the same object (FreeBSD 14 overlays
 * it in a union) — SOLISTENING(so) is the SO_ACCEPTCONN option bit.
 */

import type { Mbuf } from './mbuf.js';
import type { Protosw } from './protosw.js';
import type { Ucred } from './proc.js';
import type { Vnet } from '../net/vnet.js';
import { TS_SOCKET, typestable } from './typestable.js';

/* so_state */
export const SS_ISCONNECTED = 0x0002;
export const SS_ISCONNECTING = 0x0004;
export const SS_ISDISCONNECTING = 0x0008;
export const SS_NBIO = 0x0100;
export const SS_ASYNC = 0x0200;
export const SS_ISCONFIRMING = 0x0400;
export const SS_ISDISCONNECTED = 0x2000;

/* so_qstate */
export const SQ_INCOMP = 0x0800;
export const SQ_COMP = 0x1000;

/* sb_state */
export const SBS_CANTSENDMORE = 0x0010;
export const SBS_CANTRCVMORE = 0x0020;
export const SBS_RCVATMARK = 0x0040;

/* sb_flags */
export const SB_TLS_RX = 0x01;
export const SB_TLS_RX_RUNNING = 0x02;
export const SB_WAIT = 0x04;
export const SB_SEL = 0x08;
export const SB_ASYNC = 0x10;
export const SB_UPCALL = 0x20;
export const SB_NOINTR = 0x40;
export const SB_AIO = 0x80;
export const SB_KNOTE = 0x100;
export const SB_NOCOALESCE = 0x200;
export const SB_IN_TOE = 0x400;
export const SB_AUTOSIZE = 0x800;
export const SB_STOP = 0x1000;

/** MSIZE: the storage an mbuf header counts for in sb_mbcnt. */
export const MSIZE = 256;

/**
 * struct selinfo: the poll(2) waiters of one buffer.  A waiter is the private channel
 * of a thread in poll; selwakeup wakes every one and forgets them.
 */
export class SelInfo {
  /** Made by the first selrecord: an idle socket carries no set. */
  si_waiters: Set<object> | null = null;
}

/** One record of a socket buffer. */
export interface SbRecord {
  /** Source address (datagrams), or null. */
  addr: Uint8Array | null;
  /** Control data (ancillary messages), or null. */
  control: Uint8Array | null;
  /** The data, in order; the first mbuf may have been partly consumed (m_adj). */
  readonly data: Mbuf[];
  /** Data bytes in this record. */
  len: number;
}

/** struct sockbuf */
export class Sockbuf {
  readonly sb_records: SbRecord[] = [];
  /** Bytes of data (sb_acc and sb_ccc are the same here: no "not ready" data). */
  sb_ccc = 0;
  /** Storage used by the mbufs (and their headers). */
  sb_mbcnt = 0;
  sb_hiwat = 0;
  sb_lowat = 0;
  sb_mbmax = 0;
  sb_state = 0;
  sb_flags = 0;
  /** Timeout for blocking operations in ns (SO_SNDTIMEO/SO_RCVTIMEO); 0 = forever. */
  sb_timeo = 0;
  readonly sb_sel = new SelInfo();
  /**
   * The send pointer (FreeBSD's sb_sndptr and sb_sndptroff): the mbuf holding the last
   * byte tcp_output copied — its record and index there (-1: none) — and the offset of
   * its first byte in the buffer, so the next segment's copy starts there instead of
   * walking the buffer from its start (sbcopy_sndptr; sbdrop keeps it right).
   */
  sb_sndptr_r = -1;
  sb_sndptr_m = 0;
  sb_sndptroff = 0;

  constructor(readonly sb_which: 'rcv' | 'snd') {}

  get sb_acc(): number {
    return this.sb_ccc;
  }
}

/** struct socket */
export class Socket {
  so_type: number;
  so_options = 0;
  /** SO_LINGER time in seconds. */
  so_linger = 0;
  so_state = 0;
  so_error = 0;
  /** Receive error (SO_RERROR), reported once like so_error. */
  so_rerror = 0;
  so_pcb: unknown = null;
  so_fibnum = 0;
  so_oobmark = 0;
  readonly so_rcv = new Sockbuf('rcv');
  readonly so_snd = new Sockbuf('snd');
  /* Listening state (valid when SO_ACCEPTCONN is set). */
  sol_qlimit = 0;
  readonly sol_incomp: Socket[] = [];
  readonly sol_comp: Socket[] = [];
  /** Listener this socket is queued on (so_listen), and which queue (so_qstate). */
  so_listen: Socket | null = null;
  so_qstate = 0;
  /** Freed (sofree has run): every operation after this is a kernel bug. */
  so_freed = false;
  /** Descriptor references (struct file) and queue references. */
  so_count = 0;
  /** Generation number (so_gencnt): set by soalloc, unique in the kernel. */
  so_gencnt = 0;
  /**
   * The protocol holds the socket after its last descriptor closed (FreeBSD's
   * INP_SOCKREF/SS_PROTOREF): sofree waits until the protocol clears this and calls
   * it again.
   */
  so_protoref = false;

  constructor(
    readonly so_proto: Protosw,
    readonly so_vnet: Vnet | null,
    readonly so_cred: Ucred,
    type: number,
  ) {
    this.so_type = type;
    typestable(TS_SOCKET, this);
  }

  /** The socket's domain family (so_proto->pr_domain->dom_family). */
  get so_family(): number {
    return this.so_proto.pr_domain?.dom_family ?? 0;
  }
}

/** SOLISTENING(so) */
export function SOLISTENING(so: Socket): boolean {
  return (so.so_options & 0x2) !== 0; /* SO_ACCEPTCONN */
}

/* struct sockopt */
export const SOPT_GET = 0;
export const SOPT_SET = 1;

export interface SockOpt {
  readonly sopt_dir: number;
  readonly sopt_level: number;
  readonly sopt_name: number;
  /** SET: the value copied in; GET: the result (sooptcopyout sets it). */
  sopt_val: Uint8Array;
  /** GET: the user's buffer size on entry, the result size on return. */
  sopt_valsize: number;
  readonly sopt_td: unknown;
}

/** What soreceive returns beside the data it moved into the uio. */
export interface SoRecvResult {
  error: number;
  /** Source address (PR_ADDR protocols), or null. */
  addr: Uint8Array | null;
  control: Uint8Array | null;
  /** Output message flags (MSG_TRUNC, MSG_EOR, MSG_CTRUNC). */
  flags: number;
}
