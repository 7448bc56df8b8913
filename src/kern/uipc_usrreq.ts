/*
 * kern/uipc_usrreq.ts — the local (AF_UNIX) domain (sys/kern/uipc_usrreq.c):
 * SOCK_STREAM, SOCK_DGRAM and SOCK_SEQPACKET sockets inside one kernel.
 *
 * Each socket has a unix pcb (UnpCb): its bound name, its peer (unp_conn) and, for a
 * datagram socket, the sockets connected to it (unp_refs).
 *
 *   - bind: the name goes into the namespace of the caller's jail (a map from path to
 *     pcb on the prison; relative paths are taken from the process's working
 *     directory).  EADDRINUSE when the path is taken, EINVAL when already bound or the
 *     address has no path, EAFNOSUPPORT for another family.
 *     DIFFERENCE: FreeBSD creates a socket vnode in the file system, which stays after
 *     close until unlink(2); here the name belongs to the socket and disappears when
 *     it is closed, and nothing touches host files.  Jails do not see each other's
 *     names (each has its own root in FreeBSD too; a jail whose path lies inside
 *     another's file system would share names there — not modelled).
 *   - connect: ENOENT for an unknown path, EPROTOTYPE when the socket types differ,
 *     ECONNREFUSED when the stream/seqpacket socket there does not listen or its queue
 *     is full (sonewconn returns null).  The new socket is connected at once and put on
 *     the listener's completed queue; connect returns without blocking.  A datagram
 *     socket just records its default destination.
 *   - send: stream data goes straight into the peer's receive buffer (sbappend), a
 *     seqpacket record likewise (sbappendrecord), a datagram with the sender's name as
 *     its source (sbappendaddr; ENOBUFS when the receiver's buffer is full, as FreeBSD
 *     14's uipc_sosend_dgram).  Back-pressure for streams: the sender's so_snd mirrors
 *     the byte and mbuf counts of the peer's so_rcv (FreeBSD's pre-14 scheme), so the
 *     generic sosend blocks when the receiver is full and pr_rcvd (the reader took data)
 *     wakes the writer.
 *   - shutdown(SHUT_WR) gives the peer EOF; close disconnects: the peer reads what is
 *     left, then EOF, and its writes fail with EPIPE; a connection still queued on a
 *     closed listener is dropped (the client gets ECONNRESET).
 *
 * Defaults (FreeBSD 14): stream and seqpacket 8192-byte buffers, datagrams up to 8192
 * bytes (send buffer) into a 16384-byte receive buffer.
 *
 * Not implemented: SCM_RIGHTS / SCM_CREDS control messages (control data is EINVAL),
 * LOCAL_PEERCRED and other SOL_LOCAL options, unp_gc, the net.local sysctls.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import {
  AF_UNIX,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SUN_PATH_OFF,
  sockaddr_un,
  sockaddr_un_decode,
  SHUT_RD,
} from '../sys/socket.js';
import {
  DOMAIN_SET,
  PR_ADDR,
  PR_ATOMIC,
  PR_CAPATTACH,
  PR_CONNREQUIRED,
  PR_WANTRCVD,
  PRUS_EOF,
  type Domain,
  type Protosw,
} from '../sys/protosw.js';
import { SOLISTENING, SS_ISCONNECTED, type Socket } from '../sys/socketvar.js';
import type { Thread } from '../sys/proc.js';
import type { Prison } from './kern_jail.js';
import { m_freem, type Mbuf } from '../sys/mbuf.js';
import {
  EADDRINUSE,
  EAFNOSUPPORT,
  ECONNREFUSED,
  ECONNRESET,
  EINVAL,
  EISCONN,
  ENOBUFS,
  ENOENT,
  ENOTCONN,
  EPROTOTYPE,
} from '../sys/errno.js';
import {
  sbappend,
  sbappendaddr,
  sbappendrecord,
  socantrcvmore,
  socantsendmore,
  soisconnected,
  soisdisconnected,
  sonewconn,
  soreserve,
  sorwakeup,
  sowwakeup,
} from './uipc_sockbuf.js';
import { solisten_proto, solisten_proto_check } from './uipc_socket.js';

export const K = new ObjFile('kern/uipc_usrreq.ts', VIMAGEID('src/kern/uipc_usrreq.ts'));

export const PIPSIZ = 8192;
export const UNPST_SENDSPACE = PIPSIZ;
export const UNPST_RECVSPACE = PIPSIZ;
export const UNPDG_MAXDGRAM = 8 * 1024;
export const UNPDG_RECVSPACE = 16 * 1024;
export const UNPSP_SENDSPACE = PIPSIZ;
export const UNPSP_RECVSPACE = PIPSIZ;

/** The address of an unbound socket (sun_noname: a bare struct sockaddr). */
function sun_noname(): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = 16;
  b[1] = AF_UNIX;
  return b;
}

/** The unix protocol control block. */
export class UnpCb {
  unp_conn: UnpCb | null = null;
  readonly unp_refs = new Set<UnpCb>();
  unp_addr: Uint8Array | null = null;
  unp_path: string | null = null;
  unp_prison: Prison | null = null;
  constructor(readonly unp_socket: Socket) {}
}

declare module './kern_jail.js' {
  interface Prison {
    /** The jail's AF_UNIX name space (kern/uipc_usrreq.ts). */
    pr_unpnames?: Map<string, UnpCb>;
  }
}

function sotounpcb(so: Socket): UnpCb | null {
  return so.so_pcb instanceof UnpCb ? so.so_pcb : null;
}

function names(pr: Prison): Map<string, UnpCb> {
  let m = pr.pr_unpnames;
  if (m === undefined) pr.pr_unpnames = m = new Map();
  return m;
}

/** The name-space key of a sockaddr_un: EINVAL without a path, EAFNOSUPPORT. */
function unp_path(nam: Uint8Array, td: Thread | null): string | number {
  if (nam.length < 2 || nam[1] !== AF_UNIX) return EAFNOSUPPORT;
  if (nam.length <= SUN_PATH_OFF || nam[0]! <= SUN_PATH_OFF || nam[0]! > sockaddr_un.size)
    return EINVAL;
  const p = sockaddr_un_decode(nam);
  if (p === null || p === '') return EINVAL;
  if (p.startsWith('/') || td === null) return p;
  const cwd = td.td_proc.p_cwd;
  return (cwd.endsWith('/') ? cwd : cwd + '/') + p;
}

function prison_of(so: Socket): Prison {
  return so.so_cred.cr_prison;
}

function uipc_attach(so: Socket, _proto: number, _td: Thread | null): number {
  let e: number;
  switch (so.so_type) {
    case SOCK_STREAM:
      e = soreserve(so, UNPST_SENDSPACE, UNPST_RECVSPACE);
      break;
    case SOCK_DGRAM:
      e = soreserve(so, UNPDG_MAXDGRAM, UNPDG_RECVSPACE);
      break;
    default:
      e = soreserve(so, UNPSP_SENDSPACE, UNPSP_RECVSPACE);
  }
  if (e !== 0) return e;
  so.so_pcb = new UnpCb(so);
  return 0;
}

function unp_unname(unp: UnpCb): void {
  if (unp.unp_path !== null && unp.unp_prison !== null) {
    const m = names(unp.unp_prison);
    if (m.get(unp.unp_path) === unp) m.delete(unp.unp_path);
  }
  unp.unp_path = null;
}

/** unp_disconnect(): break the connection of unp (both sides for streams). */
function unp_disconnect(unp: UnpCb): void {
  const unp2 = unp.unp_conn;
  if (unp2 === null) return;
  const so = unp.unp_socket;
  unp.unp_conn = null;
  if (so.so_type === SOCK_DGRAM) {
    unp2.unp_refs.delete(unp);
    so.so_state &= ~SS_ISCONNECTED;
    return;
  }
  unp2.unp_conn = null;
  soisdisconnected(so);
  soisdisconnected(unp2.unp_socket);
}

/** Everything a socket holds goes: peer, datagram senders pointing at it, its name. */
function unp_drop_all(unp: UnpCb): void {
  unp_disconnect(unp);
  for (const ref of [...unp.unp_refs]) {
    ref.unp_conn = null;
    ref.unp_socket.so_state &= ~SS_ISCONNECTED;
  }
  unp.unp_refs.clear();
  unp_unname(unp);
}

function uipc_detach(so: Socket): void {
  const unp = sotounpcb(so);
  if (unp === null) return;
  unp_drop_all(unp);
  so.so_pcb = null;
}

function uipc_close(so: Socket): void {
  const unp = sotounpcb(so);
  if (unp !== null) unp_drop_all(unp);
}

function uipc_abort(so: Socket): void {
  const unp = sotounpcb(so);
  if (unp === null) return;
  const peer = unp.unp_conn;
  if (peer !== null && so.so_type !== SOCK_DGRAM) peer.unp_socket.so_error = ECONNRESET;
  unp_drop_all(unp);
}

function uipc_bind(so: Socket, nam: Uint8Array, td: Thread | null): number {
  const unp = sotounpcb(so);
  if (unp === null) return EINVAL;
  const path = unp_path(nam, td);
  if (typeof path === 'number') return path;
  if (unp.unp_addr !== null) return EINVAL;
  const pr = prison_of(so);
  const m = names(pr);
  if (m.has(path)) return EADDRINUSE;
  m.set(path, unp);
  unp.unp_path = path;
  unp.unp_prison = pr;
  unp.unp_addr = nam.slice(0, Math.min(nam[0]!, nam.length));
  return 0;
}

function uipc_listen(so: Socket, backlog: number, _td: Thread | null): number {
  const unp = sotounpcb(so);
  if (unp === null || unp.unp_addr === null) return EINVAL;
  const e = solisten_proto_check(so);
  if (e !== 0) return e;
  solisten_proto(so, backlog);
  return 0;
}

/** unp_connect2(): pair two pcbs (streams both ways; datagrams one way). */
function unp_connect2(so: Socket, so2: Socket): number {
  const unp = sotounpcb(so);
  const unp2 = sotounpcb(so2);
  if (unp === null || unp2 === null) return EINVAL;
  if (so.so_type !== so2.so_type) return EPROTOTYPE;
  unp.unp_conn = unp2;
  if (so.so_type === SOCK_DGRAM) {
    unp2.unp_refs.add(unp);
    soisconnected(so);
    return 0;
  }
  unp2.unp_conn = unp;
  soisconnected(so2);
  soisconnected(so);
  return 0;
}

function uipc_connect(so: Socket, nam: Uint8Array, td: Thread | null): number {
  const unp = sotounpcb(so);
  if (unp === null) return EINVAL;
  const path = unp_path(nam, td);
  if (typeof path === 'number') return path;
  const unp2 = names(prison_of(so)).get(path);
  if (unp2 === undefined) return ENOENT;
  const so2 = unp2.unp_socket;
  if (so2.so_type !== so.so_type) return EPROTOTYPE;
  if (so.so_proto.pr_flags & PR_CONNREQUIRED) {
    if (!SOLISTENING(so2)) return ECONNREFUSED;
    const so3 = sonewconn(so2, 0);
    if (so3 === null) return ECONNREFUSED;
    const unp3 = sotounpcb(so3)!;
    if (unp2.unp_addr !== null) unp3.unp_addr = unp2.unp_addr.slice();
    return unp_connect2(so, so3);
  }
  return unp_connect2(so, so2);
}

function uipc_disconnect(so: Socket): number {
  const unp = sotounpcb(so);
  if (unp !== null) unp_disconnect(unp);
  return 0;
}

function uipc_shutdown(so: Socket, how: number): number {
  if (how === SHUT_RD) return 0;
  const unp = sotounpcb(so);
  socantsendmore(so);
  if (unp !== null && unp.unp_conn !== null && so.so_type !== SOCK_DGRAM)
    socantrcvmore(unp.unp_conn.unp_socket);
  return 0;
}

/** Mirror the peer's receive buffer counts in the sender's send buffer. */
function unp_mirror(sender: Socket, receiver: Socket): void {
  sender.so_snd.sb_ccc = receiver.so_rcv.sb_ccc;
  sender.so_snd.sb_mbcnt = receiver.so_rcv.sb_mbcnt;
}

function uipc_rcvd(so: Socket, _flags: number): number {
  const unp = sotounpcb(so);
  const peer = unp?.unp_conn ?? null;
  if (peer === null) return 0;
  unp_mirror(peer.unp_socket, so);
  sowwakeup(peer.unp_socket);
  return 0;
}

function uipc_send(
  so: Socket,
  flags: number,
  m: Mbuf,
  addr: Uint8Array | null,
  control: Uint8Array | null,
  td: Thread | null,
): number {
  const unp = sotounpcb(so);
  if (unp === null || control !== null) {
    m_freem(m);
    return EINVAL;
  }
  if (so.so_type === SOCK_DGRAM) {
    let target: UnpCb | null;
    if (addr !== null) {
      if (unp.unp_conn !== null) {
        m_freem(m);
        return EISCONN;
      }
      const path = unp_path(addr, td);
      if (typeof path === 'number') {
        m_freem(m);
        return path;
      }
      target = names(prison_of(so)).get(path) ?? null;
      if (target === null) {
        m_freem(m);
        return ENOENT;
      }
      if (target.unp_socket.so_type !== SOCK_DGRAM) {
        m_freem(m);
        return EPROTOTYPE;
      }
    } else {
      target = unp.unp_conn;
      if (target === null) {
        m_freem(m);
        return ENOTCONN;
      }
    }
    const so2 = target.unp_socket;
    const from = unp.unp_addr ?? sun_noname();
    if (!sbappendaddr(so2.so_rcv, from, m, null)) {
      m_freem(m);
      return ENOBUFS;
    }
    sorwakeup(so2);
    return 0;
  }
  const peer = unp.unp_conn;
  if (peer === null) {
    m_freem(m);
    return ENOTCONN;
  }
  const so2 = peer.unp_socket;
  if (so.so_type === SOCK_STREAM) sbappend(so2.so_rcv, m);
  else sbappendrecord(so2.so_rcv, m);
  sorwakeup(so2);
  unp_mirror(so, so2);
  if (flags & PRUS_EOF) {
    socantsendmore(so);
    socantrcvmore(so2);
  }
  return 0;
}

function uipc_accept(so: Socket): Uint8Array {
  const unp = sotounpcb(so);
  const peer = unp?.unp_conn ?? null;
  return peer?.unp_addr?.slice() ?? sun_noname();
}

function uipc_sockaddr(so: Socket): Uint8Array {
  return sotounpcb(so)?.unp_addr?.slice() ?? sun_noname();
}

function uipc_peeraddr(so: Socket): Uint8Array | number {
  const unp = sotounpcb(so);
  if (unp === null) return EINVAL;
  const peer = unp.unp_conn;
  return peer?.unp_addr?.slice() ?? sun_noname();
}

const common = {
  pr_attach: uipc_attach,
  pr_detach: uipc_detach,
  pr_bind: uipc_bind,
  pr_connect: uipc_connect,
  pr_connect2: unp_connect2,
  pr_disconnect: uipc_disconnect,
  pr_shutdown: uipc_shutdown,
  pr_send: uipc_send,
  pr_abort: uipc_abort,
  pr_close: uipc_close,
  pr_sockaddr: uipc_sockaddr,
  pr_peeraddr: uipc_peeraddr,
};

export const streamproto = {
  pr_type: SOCK_STREAM,
  pr_protocol: 0,
  pr_flags: PR_CONNREQUIRED | PR_WANTRCVD | PR_CAPATTACH,
  ...common,
  pr_listen: uipc_listen,
  pr_accept: uipc_accept,
  pr_rcvd: uipc_rcvd,
} satisfies Protosw;

export const dgramproto = {
  pr_type: SOCK_DGRAM,
  pr_protocol: 0,
  pr_flags: PR_ATOMIC | PR_ADDR | PR_CAPATTACH,
  ...common,
} satisfies Protosw;

export const seqpacketproto = {
  pr_type: SOCK_SEQPACKET,
  pr_protocol: 0,
  pr_flags: PR_ADDR | PR_ATOMIC | PR_CONNREQUIRED | PR_WANTRCVD | PR_CAPATTACH,
  ...common,
  pr_listen: uipc_listen,
  pr_accept: uipc_accept,
  pr_rcvd: uipc_rcvd,
} satisfies Protosw;

export const localdomain: Domain = DOMAIN_SET(K, {
  dom_family: AF_UNIX,
  dom_name: 'local',
  dom_protosw: [streamproto, dgramproto, seqpacketproto],
});
