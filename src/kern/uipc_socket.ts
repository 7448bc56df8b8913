/*
 * kern/uipc_socket.ts — the protocol-independent socket layer (sys/kern/uipc_socket.c).
 *
 * socreate finds the protocol (sys/protosw.ts: pffindproto/pffindtype over the
 * registered domains), allocates the socket in the caller's jail vnet and asks the
 * protocol to attach.  Every socket counts in its vnet (vnet_sockcnt) from soalloc to
 * sofree, so a vnet with sockets is never destroyed: jail removal kills the jail's
 * processes, their exit closes their descriptors (fdfree), soclose frees the sockets,
 * and only then is the vnet destroyed.
 *
 * sosend and soreceive are FreeBSD's generic algorithms, reduced to one contiguous
 * mbuf per chunk:
 *   - sosend: atomic protocols (PR_ATOMIC: datagrams, seqpacket) send one record and
 *     fail with EMSGSIZE when it is larger than the send buffer; stream protocols send
 *     as much as fits and block for the rest.  EPIPE after shutdown(SHUT_WR) or a peer
 *     gone (there are no signals: SIGPIPE is not posted; MSG_NOSIGNAL/SO_NOSIGPIPE are
 *     accepted), ENOTCONN for connection-oriented protocols, EDESTADDRREQ for
 *     connectionless ones without an address, EAGAIN for a full buffer with
 *     SS_NBIO/MSG_DONTWAIT or when SO_SNDTIMEO expires.
 *   - soreceive: datagrams are returned whole (MSG_TRUNC when the buffer is shorter,
 *     the rest discarded) with their source address; stream data is returned as it is
 *     there once the low-water mark is met, MSG_WAITALL waits for the full amount,
 *     MSG_PEEK leaves the data, so_error is reported once (then cleared), EOF (0) once
 *     the receive side is shut and empty.
 *   Both sleep on the socket buffer with PCATCH (a killed process gets EINTR) and the
 *     buffer's timeout.
 *
 * Other operations: sobind, solisten (+ solisten_proto for protocols), soconnect,
 * sodisconnect, soshutdown (EINVAL for a bad how; ENOTCONN when not connected — for
 * datagram sockets the shutdown is still done, as FreeBSD 14 does), soclose (SO_LINGER
 * with l_linger 0 aborts through pr_abort so TCP can reset; otherwise pr_disconnect and
 * pr_close, and with a non-zero linger time close(2) sleeps until the disconnection is
 * done or the time is up), sosetopt/sogetopt (SOL_SOCKET here, other levels to
 * pr_ctloutput; ENOPROTOOPT when nobody knows the option), sopoll (FreeBSD 14's
 * sopoll_generic, including POLLRDHUP and POLLHUP; POLLERR is never set for sockets).
 *
 * curvnet is set to so.so_vnet around every protocol call.
 *
 * Deliberate differences: no socket locks (one JS thread); only close(2) lingers (a
 * process that exits with a lingering socket does not wait; FreeBSD's exit would), and
 * it sleeps on the socket, not on so_timeo; no MSG_OOB receive path (pr_rcvoob is not
 * part of the contract yet: EOPNOTSUPP); no accept filters, upcalls, kqueue,
 * SO_TIMESTAMP control messages or SCM_RIGHTS.
 */

import type { Kernel } from './kernel.js';
import { curkernel } from './kern_cur.js';
import { SBT_1S, hz } from './kern_clock.js';
import { tsleep_sbt, PCATCH, wakeup_k } from './kern_synch.js';
import { uiomove_buf, UIO_WRITE, type Uio } from './kern_descrip.js';
import { BKPT } from './subr_kdb.js';
import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { CURVNET_RESTORE, CURVNET_SET, VNET_MAGIC_N, type Vnet } from '../net/vnet.js';
import type { Thread, Ucred } from '../sys/proc.js';
import { MBUF_MAXBUF, type Mbuf } from '../sys/mbuf.js';
import {
  EAFNOSUPPORT,
  EALREADY,
  EDESTADDRREQ,
  EDOM,
  EINVAL,
  EISCONN,
  EMSGSIZE,
  ENOBUFS,
  ENOPROTOOPT,
  ENOTCONN,
  EOPNOTSUPP,
  EPIPE,
  EPROTONOSUPPORT,
  EPROTOTYPE,
  EWOULDBLOCK,
  ECONNABORTED,
} from '../sys/errno.js';
import {
  MSG_DONTWAIT,
  MSG_EOF,
  MSG_EOR,
  MSG_OOB,
  MSG_PEEK,
  MSG_TRUNC,
  MSG_WAITALL,
  POLLIN,
  POLLHUP,
  POLLOUT,
  POLLPRI,
  POLLRDBAND,
  POLLRDHUP,
  POLLRDNORM,
  POLLINIGNEOF,
  POLLWRNORM,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_BROADCAST,
  SO_DEBUG,
  SO_DOMAIN,
  SO_DONTROUTE,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_LISTENINCQLEN,
  SO_LISTENQLEN,
  SO_LISTENQLIMIT,
  SO_NOSIGPIPE,
  SO_OOBINLINE,
  SO_PROTOCOL,
  SO_RCVBUF,
  SO_RCVLOWAT,
  SO_RCVTIMEO,
  SO_RERROR,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_REUSEPORT_LB,
  SO_SNDBUF,
  SO_SNDLOWAT,
  SO_SNDTIMEO,
  SO_TIMESTAMP,
  SO_TYPE,
  SO_USELOOPBACK,
  int_bytes,
  le32_get,
  linger,
  timeval,
} from '../sys/socket.js';
import {
  PR_ADDR,
  PR_ATOMIC,
  PR_CONNREQUIRED,
  PR_IMPLOPCL,
  PR_WANTRCVD,
  PRUS_EOF,
  PRUS_OOB,
  pffinddomain,
  pffindproto,
  pffindtype,
  type Protosw,
} from '../sys/protosw.js';
import {
  SB_AUTOSIZE,
  SB_SEL,
  SB_WAIT,
  SBS_CANTRCVMORE,
  SBS_CANTSENDMORE,
  SBS_RCVATMARK,
  SOLISTENING,
  SOPT_GET,
  SOPT_SET,
  SS_ISCONFIRMING,
  SS_ISCONNECTED,
  SS_ISCONNECTING,
  SS_ISDISCONNECTING,
  SS_NBIO,
  Socket,
  type SockOpt,
  type Sockbuf,
  type SoRecvResult,
} from '../sys/socketvar.js';
import {
  sbavail,
  sbcopy,
  sbdrop,
  sbdroprecord,
  sbflush,
  sbreserve,
  sbspace,
  selrecord,
  selwakeup,
  so_globals,
  socantrcvmore,
  socantsendmore,
  soqremove,
  sorwakeup,
  sowwakeup,
} from './uipc_sockbuf.js';

export const K = new ObjFile('kern/uipc_socket.ts', VIMAGEID('src/kern/uipc_socket.ts'));
const S_socreate = K.TEXT('socreate');
const S_sobind = K.TEXT('sobind');
const S_solisten = K.TEXT('solisten');
const S_soaccept = K.TEXT('soaccept');
const S_soconnect = K.TEXT('soconnect');
const S_sosend = K.TEXT('sosend');
const S_soreceive = K.TEXT('soreceive');
const S_soshutdown = K.TEXT('soshutdown');
const S_soclose = K.TEXT('soclose');
const S_sosetopt = K.TEXT('sosetopt');
const S_sogetopt = K.TEXT('sogetopt');
const S_sopoll = K.TEXT('sopoll');

/** Largest data chunk one mbuf carries on the send path. */
const SOSEND_CHUNK = 65536;

/* ------------------------------------------------------------------------------ */
/* Allocation.                                                                     */

function vnet_alive(v: Vnet | null): v is Vnet {
  return v !== null && v.vnet_magic_n === VNET_MAGIC_N;
}

/** Run fn with curvnet = so.so_vnet (when it has one and it is alive). */
export function so_vnet_call<T>(so: Socket, fn: () => T): T {
  const v = so.so_vnet;
  if (!vnet_alive(v) || !v.kernel.vimage) return fn();
  const saved = CURVNET_SET(v);
  try {
    return fn();
  } finally {
    CURVNET_RESTORE(saved);
  }
}

/** soalloc(): a socket counted in its vnet and in kern.ipc.numopensockets. */
export function soalloc(pr: Protosw, vnet: Vnet | null, cred: Ucred, type: number): Socket {
  const so = new Socket(pr, vnet, cred, type);
  if (vnet !== null) vnet.vnet_sockcnt = vnet.vnet_sockcnt + 1;
  const g = so_globals();
  g.numopensockets++;
  so.so_gencnt = ++g.so_gencnt;
  g.sockets.add(so);
  return so;
}

/** sofree(): the last of a socket; its vnet count drops. */
export function sofree(so: Socket): void {
  if (so.so_freed) return;
  /* The protocol still needs it (TCP sending what was written before close). */
  if (so.so_protoref) return;
  so.so_freed = true;
  sbflush(so.so_rcv);
  sbflush(so.so_snd);
  selwakeup(so.so_rcv.sb_sel);
  selwakeup(so.so_snd.sb_sel);
  const v = so.so_vnet;
  if (v !== null) v.vnet_sockcnt = v.vnet_sockcnt - 1;
  const g = so_globals();
  g.numopensockets--;
  g.sockets.delete(so);
}

/**
 * sovnet_drain(): a safety net for jail removal.  The sockets of a vnet normally all
 * close when the jail's processes exit (their descriptors are freed); any socket still
 * alive in vnet (held by a descriptor outside the jail) is aborted and freed here so
 * that vnet_destroy never sees vnet_sockcnt > 0.  Returns how many were drained.
 */
export function sovnet_drain(vnet: Vnet, k: Kernel = curkernel()): number {
  let n = 0;
  for (const so of [...so_globals(k).sockets]) {
    if (so.so_vnet !== vnet || so.so_freed) continue;
    soqremove(so);
    soabort(so);
    n++;
  }
  return n;
}

/**
 * socreate(dom, type, proto): EAFNOSUPPORT for an unknown family, EPROTOTYPE for a
 * type the family does not have (protocol 0), EPROTONOSUPPORT for an unknown protocol.
 * The socket lives in the vnet of cred's jail.
 */
export function socreate(
  dom: number,
  type: number,
  proto: number,
  cred: Ucred,
  td: Thread | null,
  k: Kernel = curkernel(),
): Socket | number {
  BKPT(S_socreate);
  const pr = proto !== 0 ? pffindproto(k, dom, proto, type) : pffindtype(k, dom, type);
  if (pr === null) {
    if (pffinddomain(k, dom) === null) return EAFNOSUPPORT;
    if (proto === 0 && type !== 0) return EPROTOTYPE;
    return EPROTONOSUPPORT;
  }
  if (pr.pr_type !== type) return EPROTOTYPE;
  const so = soalloc(pr, cred.cr_prison.pr_vnet, cred, type);
  const e = so_vnet_call(so, () => pr.pr_attach(so, proto, td));
  if (e !== 0) {
    sofree(so);
    return e;
  }
  return so;
}

/** A new socket for sonewconn: same protocol, vnet and credential as head. */
export function soalloc_attach(head: Socket): Socket | null {
  const so = soalloc(head.so_proto, head.so_vnet, head.so_cred, head.so_type);
  const e = so_vnet_call(so, () => head.so_proto.pr_attach(so, 0, null));
  if (e !== 0) {
    sofree(so);
    return null;
  }
  /* Inherit the listener's buffer sizes (FreeBSD's solisten_clone). */
  sbreserve(so.so_snd, head.so_snd.sb_hiwat);
  sbreserve(so.so_rcv, head.so_rcv.sb_hiwat);
  so.so_snd.sb_lowat = head.so_snd.sb_lowat;
  so.so_rcv.sb_lowat = head.so_rcv.sb_lowat;
  so.so_snd.sb_timeo = head.so_snd.sb_timeo;
  so.so_rcv.sb_timeo = head.so_rcv.sb_timeo;
  return so;
}

/* ------------------------------------------------------------------------------ */
/* Connection management.                                                          */

async function await_num(r: number | Promise<number>): Promise<number> {
  return typeof r === 'number' ? r : await r;
}

export function sobind(so: Socket, nam: Uint8Array, td: Thread | null): Promise<number> {
  BKPT(S_sobind);
  const f = so.so_proto.pr_bind;
  if (f === undefined) return Promise.resolve(EOPNOTSUPP);
  return await_num(so_vnet_call(so, () => f.call(so.so_proto, so, nam, td)));
}

/** solisten(): the protocol decides (it calls solisten_proto_check/solisten_proto). */
export function solisten(so: Socket, backlog: number, td: Thread | null): number {
  BKPT(S_solisten);
  const f = so.so_proto.pr_listen;
  if (f === undefined) return EOPNOTSUPP;
  return so_vnet_call(so, () => f.call(so.so_proto, so, backlog, td));
}

/** solisten_proto_check(): EINVAL for a connected or connecting socket. */
export function solisten_proto_check(so: Socket): number {
  if (so.so_state & (SS_ISCONNECTED | SS_ISCONNECTING | SS_ISDISCONNECTING)) return EINVAL;
  return 0;
}

/** solisten_proto(): so becomes a listener with sol_qlimit = min(backlog, somaxconn). */
export function solisten_proto(so: Socket, backlog: number): void {
  const max = so_globals().somaxconn;
  if (backlog < 0 || backlog > max) backlog = max;
  so.sol_qlimit = backlog;
  so.so_options |= SO_ACCEPTCONN;
}

/** soaccept(): the peer address of a socket just taken off a completed queue. */
export function soaccept(so: Socket): Uint8Array | number {
  BKPT(S_soaccept);
  const f = so.so_proto.pr_accept;
  if (f === undefined) return new Uint8Array(0);
  return so_vnet_call(so, () => f.call(so.so_proto, so));
}

/**
 * soconnect(): EOPNOTSUPP on a listener; EISCONN when already connected (a
 * connectionless socket is disconnected first and may connect elsewhere).  The
 * caller (kern_connectat) checks EALREADY and waits for completion.
 */
export async function soconnect(so: Socket, nam: Uint8Array, td: Thread | null): Promise<number> {
  BKPT(S_soconnect);
  if (SOLISTENING(so)) return EOPNOTSUPP;
  if (
    so.so_state & (SS_ISCONNECTED | SS_ISCONNECTING) &&
    (so.so_proto.pr_flags & PR_CONNREQUIRED || sodisconnect(so) !== 0)
  )
    return EISCONN;
  so.so_error = 0;
  const f = so.so_proto.pr_connect;
  if (f === undefined) return EOPNOTSUPP;
  return await_num(so_vnet_call(so, () => f.call(so.so_proto, so, nam, td)));
}

/** soconnect2(): connect two sockets of the same protocol (socketpair). */
export function soconnect2(so1: Socket, so2: Socket): number {
  const f = so1.so_proto.pr_connect2;
  if (f === undefined) return EOPNOTSUPP;
  return so_vnet_call(so1, () => f.call(so1.so_proto, so1, so2));
}

export function sodisconnect(so: Socket): number {
  if (!(so.so_state & SS_ISCONNECTED)) return ENOTCONN;
  if (so.so_state & SS_ISDISCONNECTING) return EALREADY;
  const f = so.so_proto.pr_disconnect;
  if (f === undefined) return EOPNOTSUPP;
  return so_vnet_call(so, () => f.call(so.so_proto, so));
}

/** sorflush(): discard the receive buffer and refuse more (shutdown SHUT_RD). */
export function sorflush(so: Socket): void {
  socantrcvmore(so);
  sbflush(so.so_rcv);
}

/**
 * soshutdown(how): EINVAL for a bad how.  A listener given SHUT_RD/SHUT_RDWR fails
 * pending accepts with ECONNABORTED.  ENOTCONN when not connected (a datagram socket is
 * shut down anyway, as FreeBSD 14 does, and still gets ENOTCONN).
 */
export function soshutdown(so: Socket, how: number): number {
  BKPT(S_soshutdown);
  if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) return EINVAL;
  if (SOLISTENING(so)) {
    if (how !== SHUT_WR) {
      so.so_error = ECONNABORTED;
      so.so_rcv.sb_state |= SBS_CANTRCVMORE;
      sorwakeup(so);
      wakeupso(so);
    }
    return 0;
  }
  let notconn = false;
  if (!(so.so_state & (SS_ISCONNECTED | SS_ISCONNECTING | SS_ISDISCONNECTING))) {
    if (so.so_type !== SOCK_DGRAM) return ENOTCONN;
    notconn = true;
  }
  return so_vnet_call(so, () => {
    if (how !== SHUT_WR) sorflush(so);
    if (how !== SHUT_RD) {
      const f = so.so_proto.pr_shutdown;
      const e = f === undefined ? (socantsendmore(so), 0) : f.call(so.so_proto, so, how);
      if (e !== 0) return e;
    }
    wakeupso(so);
    return notconn ? ENOTCONN : 0;
  });
}

function wakeupso(so: Socket): void {
  wakeup_k(curkernel(), so);
}

/** soabort(): drop a socket that never reached a descriptor (listener queues). */
export function soabort(so: Socket): void {
  so_vnet_call(so, () => {
    so.so_proto.pr_abort?.call(so.so_proto, so);
    so.so_proto.pr_detach.call(so.so_proto, so);
  });
  sofree(so);
}

/**
 * soclose(so, canlinger): the last descriptor reference is gone.  A listener aborts the
 * connections still queued on it.  A connected socket with SO_LINGER and l_linger 0 is
 * aborted (pr_abort: TCP sends a reset); otherwise it is disconnected (pr_disconnect),
 * and with a non-zero l_linger on a blocking socket the caller (close(2): canlinger)
 * sleeps until it is no longer connected — for TCP, until its data and FIN are
 * acknowledged — or l_linger seconds have passed (EWOULDBLOCK, the connection goes on
 * without it) or it is interrupted (EINTR), as FreeBSD's soclose.  Then pr_close,
 * pr_detach and sofree.  Returns the errno, or a promise of it while it lingers.
 */
export function soclose(so: Socket, canlinger = false): number | Promise<number> {
  BKPT(S_soclose);
  if (so.so_freed) return 0;
  let error = 0;
  let linger = false;
  let abort = false;
  so_vnet_call(so, () => {
    const pr = so.so_proto;
    if (SOLISTENING(so)) {
      for (const sp of [...so.sol_incomp, ...so.sol_comp]) {
        soqremove(sp);
        soabort(sp);
      }
    }
    abort = (so.so_options & SO_LINGER) !== 0 && so.so_linger === 0 && pr.pr_abort !== undefined;
    if (abort) {
      pr.pr_abort!.call(pr, so);
      return;
    }
    if (so.so_state & SS_ISCONNECTED && !(so.so_state & SS_ISDISCONNECTING)) {
      const e = sodisconnect(so);
      if (e !== 0 && e !== ENOTCONN && e !== EOPNOTSUPP) error = e;
    }
    linger =
      canlinger &&
      error === 0 &&
      (so.so_options & SO_LINGER) !== 0 &&
      so.so_linger > 0 &&
      (so.so_state & SS_ISCONNECTED) !== 0 &&
      !(so.so_state & SS_ISDISCONNECTING && so.so_state & SS_NBIO);
  });
  if (linger) return soclose_linger(so);
  return soclose_drop(so, abort, error);
}

/** soclose's sleep: while connected, for at most l_linger seconds. */
async function soclose_linger(so: Socket): Promise<number> {
  const k = curkernel();
  const deadline = k.now() + so.so_linger * SBT_1S;
  let error = 0;
  while (so.so_state & SS_ISCONNECTED) {
    const left = deadline - k.now();
    error = left > 0 ? await tsleep_sbt(so, PCATCH, 'soclos', left) : EWOULDBLOCK;
    if (error !== 0) break;
  }
  /* Its vnet may have gone meanwhile, closing it (sovnet_drain). */
  if (so.so_freed) return error;
  return soclose_drop(so, false, error);
}

/** The rest of soclose: pr_close (unless aborted), pr_detach, wakeups and sofree. */
function soclose_drop(so: Socket, abort: boolean, error: number): number {
  so_vnet_call(so, () => {
    const pr = so.so_proto;
    if (!abort) pr.pr_close?.call(pr, so);
    pr.pr_detach.call(pr, so);
  });
  /* Wake anyone still sleeping on it (another thread of the process). */
  const k = curkernel();
  so.so_rcv.sb_state |= SBS_CANTRCVMORE;
  so.so_snd.sb_state |= SBS_CANTSENDMORE;
  wakeup_k(k, so.so_rcv);
  wakeup_k(k, so.so_snd);
  wakeup_k(k, so);
  sofree(so);
  return error;
}

/* ------------------------------------------------------------------------------ */
/* Data transfer.                                                                  */

/** sbwait(): sleep until the buffer changes; 0, EWOULDBLOCK (timeout) or EINTR. */
export function sbwait(_so: Socket, sb: Sockbuf): Promise<number> {
  sb.sb_flags |= SB_WAIT;
  return tsleep_sbt(sb, PCATCH, 'sbwait', sb.sb_timeo);
}

function nonblocking(so: Socket, flags: number): boolean {
  return (so.so_state & SS_NBIO) !== 0 || (flags & MSG_DONTWAIT) !== 0;
}

/** sosend(): the protocol's override, else sosend_generic. */
export function sosend(
  so: Socket,
  addr: Uint8Array | null,
  uio: Uio,
  control: Uint8Array | null,
  flags: number,
  td: Thread | null,
): number | Promise<number> {
  BKPT(S_sosend);
  const f = so.so_proto.pr_sosend;
  if (f !== undefined) return f.call(so.so_proto, so, addr, uio, control, flags, td);
  return sosend_generic(so, addr, uio, control, flags, td);
}

/** sosend_generic_locked's answer when it has to sleep for space (sbwait). */
const SO_SLEEP = -1;

/**
 * sosend_generic: the checks that come once, then the loop (sosend_generic_locked).
 * Nothing blocks on the common path (room in the buffer, a protocol that sends at
 * once), and then the errno comes back synchronously; the first time the loop has to
 * sleep or the protocol returns a promise, sosend_generic_sleep carries on.
 */
export function sosend_generic(
  so: Socket,
  addr: Uint8Array | null,
  uio: Uio,
  control: Uint8Array | null,
  flags: number,
  td: Thread | null,
): number | Promise<number> {
  const pr = so.so_proto;
  const atomic = (pr.pr_flags & PR_ATOMIC) !== 0;
  const snd = so.so_snd;
  const clen = control?.length ?? 0;
  if (uio.uio_resid < 0 || (so.so_type === SOCK_STREAM && flags & MSG_EOR)) return EINVAL;
  if ((atomic && uio.uio_resid > snd.sb_hiwat) || clen > snd.sb_hiwat) return EMSGSIZE;
  const resid = uio.uio_resid;
  const r = sosend_generic_locked(so, addr, uio, control, clen, flags, td);
  if (r === SO_SLEEP || typeof r !== 'number')
    return sosend_generic_sleep(
      so,
      addr,
      uio,
      uio.uio_resid < resid ? null : control,
      clen,
      flags,
      td,
      r,
    );
  return r;
}

/**
 * The loop of sosend_generic: wait for space (atomic: the whole record), copy a chunk
 * into an mbuf and hand it to pr_send, until the uio is empty.  Returns 0 or an errno;
 * SO_SLEEP when it must wait for space (nothing of this round sent); or pr_send's
 * promise (its chunk is gone: the loop goes on when it settles with 0).  control goes
 * with the first chunk only; clen stays the original length for the space checks.
 */
function sosend_generic_locked(
  so: Socket,
  addr: Uint8Array | null,
  uio: Uio,
  control: Uint8Array | null,
  clen: number,
  flags: number,
  td: Thread | null,
): number | Promise<number> {
  const pr = so.so_proto;
  const atomic = (pr.pr_flags & PR_ATOMIC) !== 0;
  const snd = so.so_snd;
  const k = curkernel();
  do {
    if (snd.sb_state & SBS_CANTSENDMORE) return EPIPE; /* SIGPIPE: there are no signals */
    if (so.so_error !== 0) {
      const e = so.so_error;
      so.so_error = 0;
      return e;
    }
    if (!(so.so_state & SS_ISCONNECTED)) {
      if (pr.pr_flags & PR_CONNREQUIRED) {
        if (
          !(uio.uio_resid === 0 && clen !== 0) &&
          !(so.so_state & SS_ISCONFIRMING) &&
          !(addr !== null && pr.pr_flags & PR_IMPLOPCL)
        )
          return ENOTCONN;
      } else if (addr === null) return EDESTADDRREQ;
    }
    let space = sbspace(snd);
    if (flags & MSG_OOB) space += 1024;
    if (space < uio.uio_resid + clen && (atomic || space < snd.sb_lowat || space < clen)) {
      if (nonblocking(so, flags)) return EWOULDBLOCK;
      return SO_SLEEP;
    }
    space = Math.max(0, space);
    let len = atomic ? uio.uio_resid : Math.min(uio.uio_resid, space, SOSEND_CHUNK);
    if (!atomic && len === 0 && uio.uio_resid > 0) len = Math.min(uio.uio_resid, SOSEND_CHUNK);
    if (len + k.mbpool.headroom > MBUF_MAXBUF) return ENOBUFS;
    /* m_uiotombuf: the chunk goes straight from the uio into the mbuf, every byte. */
    const m = k.mbpool.m_gethdr(len, k.mbpool.headroom, false);
    if (m === null) return ENOBUFS;
    if (len > 0) uiomove_buf(m.m_buf, m.m_data, len, uio);
    let pflags = flags & MSG_OOB ? PRUS_OOB : 0;
    if (flags & MSG_EOF && pr.pr_flags & PR_IMPLOPCL && uio.uio_resid === 0) pflags |= PRUS_EOF;
    const c = control;
    control = null;
    const e = so_pr_send(so, pflags, m, addr, c, td);
    if (typeof e !== 'number') return e;
    if (e !== 0) return e;
  } while (uio.uio_resid > 0);
  return 0;
}

/** pr_send with curvnet = so's vnet (so_vnet_call without the closure). */
function so_pr_send(
  so: Socket,
  pflags: number,
  m: Mbuf,
  addr: Uint8Array | null,
  control: Uint8Array | null,
  td: Thread | null,
): number | Promise<number> {
  const pr = so.so_proto;
  const v = so.so_vnet;
  if (!vnet_alive(v) || !v.kernel.vimage) return pr.pr_send(so, pflags, m, addr, control, td);
  const saved = CURVNET_SET(v);
  try {
    return pr.pr_send(so, pflags, m, addr, control, td);
  } finally {
    CURVNET_RESTORE(saved);
  }
}

/** sosend_generic once it has to wait: for space (sbwait) or for pr_send. */
async function sosend_generic_sleep(
  so: Socket,
  addr: Uint8Array | null,
  uio: Uio,
  control: Uint8Array | null,
  clen: number,
  flags: number,
  td: Thread | null,
  r: number | Promise<number>,
): Promise<number> {
  for (;;) {
    if (r === SO_SLEEP) {
      const e = await sbwait(so, so.so_snd);
      if (e !== 0) return e;
    } else if (typeof r !== 'number') {
      /* A chunk went to a protocol that answered later: the rest, as the loop would. */
      const e = await r;
      if (e !== 0 || uio.uio_resid <= 0) return e;
      control = null;
    } else return r;
    const resid = uio.uio_resid;
    r = sosend_generic_locked(so, addr, uio, control, clen, flags, td);
    if (uio.uio_resid < resid) control = null;
  }
}

/** soreceive(): the protocol's override, else soreceive_generic. */
export function soreceive(
  so: Socket,
  uio: Uio,
  flags: number,
  td: Thread | null,
): SoRecvResult | Promise<SoRecvResult> {
  BKPT(S_soreceive);
  const f = so.so_proto.pr_soreceive;
  if (f !== undefined) return f.call(so.so_proto, so, uio, flags, td);
  return soreceive_generic(so, uio, flags, td);
}

/**
 * soreceive_generic: synchronous when there is something to return (or an error, EOF,
 * EWOULDBLOCK); the first time it has to wait, soreceive_generic_sleep carries on.
 */
export function soreceive_generic(
  so: Socket,
  uio: Uio,
  flags: number,
  _td: Thread | null,
): SoRecvResult | Promise<SoRecvResult> {
  const res: SoRecvResult = { error: 0, addr: null, control: null, flags: 0 };
  if (uio.uio_rw === UIO_WRITE) throw new Error('soreceive: write uio');
  if (flags & MSG_OOB) {
    res.error = EOPNOTSUPP;
    return res;
  }
  const resid = uio.uio_resid;
  if (soreceive_generic_locked(so, uio, flags, res, resid) === SO_SLEEP)
    return soreceive_generic_sleep(so, uio, flags, res, resid);
  return res;
}

/**
 * The loop of soreceive_generic up to its end (0, res filled) or to the point where it
 * must wait (SO_SLEEP).  What it moved so far is resid0 - uio_resid (resid0: the
 * uio_resid at the start of the call).
 */
function soreceive_generic_locked(
  so: Socket,
  uio: Uio,
  flags: number,
  res: SoRecvResult,
  resid0: number,
): number {
  const pr = so.so_proto;
  const sb = so.so_rcv;
  const atomic = (pr.pr_flags & PR_ATOMIC) !== 0;
  const peek = (flags & MSG_PEEK) !== 0;
  for (;;) {
    const moved = resid0 - uio.uio_resid;
    const avail = sbavail(sb);
    if (atomic) {
      const r = sb.sb_records[0];
      if (r !== undefined) {
        if (pr.pr_flags & PR_ADDR) res.addr = r.addr;
        res.control = r.control;
        const before = uio.uio_resid;
        const data = r.data;
        for (let i = 0; i < data.length && uio.uio_resid !== 0; i++) {
          const m = data[i]!;
          uiomove_buf(m.m_buf, m.m_data, m.m_len, uio);
        }
        if (before - uio.uio_resid < r.len) res.flags |= MSG_TRUNC;
        if (!peek) {
          sbdroprecord(sb);
          if (pr.pr_flags & PR_WANTRCVD) so_vnet_call(so, () => pr.pr_rcvd?.call(pr, so, flags));
        }
        if (pr.pr_flags & PR_CONNREQUIRED && !(res.flags & MSG_TRUNC)) res.flags |= MSG_EOR;
        return 0;
      }
    } else if (
      avail > 0 &&
      (avail >= Math.min(uio.uio_resid, sb.sb_lowat) ||
        so.so_error !== 0 ||
        sb.sb_state & SBS_CANTRCVMORE ||
        flags & MSG_DONTWAIT ||
        moved > 0)
    ) {
      const n = Math.min(avail, uio.uio_resid);
      const at = uio.uio_buf.length - uio.uio_resid;
      sbcopy(sb, uio.uio_buf.subarray(at, at + n));
      uio.uio_resid -= n;
      uio.uio_offset += n;
      if (!peek) {
        sbdrop(sb, n);
        if (pr.pr_flags & PR_WANTRCVD) so_vnet_call(so, () => pr.pr_rcvd?.call(pr, so, flags));
      }
      if (
        !(flags & MSG_WAITALL) ||
        peek ||
        uio.uio_resid === 0 ||
        sb.sb_state & SBS_CANTRCVMORE ||
        so.so_error !== 0
      )
        return 0;
      continue;
    }
    /* Nothing (or not enough) to return: error, EOF, or wait. */
    if (so.so_error !== 0 || so.so_rerror !== 0) {
      if (moved === 0) {
        if (so.so_error !== 0) {
          res.error = so.so_error;
          if (!peek) so.so_error = 0;
        } else {
          res.error = so.so_rerror;
          if (!peek) so.so_rerror = 0;
        }
      }
      return 0;
    }
    if (sb.sb_state & SBS_CANTRCVMORE) return 0;
    if (pr.pr_flags & PR_CONNREQUIRED && !(so.so_state & (SS_ISCONNECTED | SS_ISCONNECTING))) {
      if (moved === 0) res.error = ENOTCONN;
      return 0;
    }
    if (uio.uio_resid === 0) return 0;
    if (nonblocking(so, flags)) {
      if (moved === 0) res.error = EWOULDBLOCK;
      return 0;
    }
    return SO_SLEEP;
  }
}

/** soreceive_generic once it has to wait for data (sbwait). */
async function soreceive_generic_sleep(
  so: Socket,
  uio: Uio,
  flags: number,
  res: SoRecvResult,
  resid0: number,
): Promise<SoRecvResult> {
  do {
    const e = await sbwait(so, so.so_rcv);
    if (e !== 0) {
      res.error = e;
      return res;
    }
  } while (soreceive_generic_locked(so, uio, flags, res, resid0) === SO_SLEEP);
  return res;
}

/* ------------------------------------------------------------------------------ */
/* Socket options.                                                                 */

/** sooptcopyin(): the value, EINVAL when shorter than minlen. */
export function sooptcopyin(sopt: SockOpt, minlen: number): Uint8Array | number {
  if (sopt.sopt_val.length < minlen) return EINVAL;
  return sopt.sopt_val;
}

/** sooptcopyout(): return bytes, truncated to the caller's buffer. */
export function sooptcopyout(sopt: SockOpt, b: Uint8Array): number {
  const n = Math.min(b.length, sopt.sopt_valsize);
  sopt.sopt_val = b.slice(0, n);
  sopt.sopt_valsize = n;
  return 0;
}

const BOOL_OPTS: readonly number[] = [
  SO_DEBUG,
  SO_KEEPALIVE,
  SO_DONTROUTE,
  SO_USELOOPBACK,
  SO_BROADCAST,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_REUSEPORT_LB,
  SO_OOBINLINE,
  SO_TIMESTAMP,
  SO_NOSIGPIPE,
  SO_RERROR,
];

function rd64(b: Uint8Array, off: number): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return dv.getUint32(off, true) + dv.getInt32(off + 4, true) * 4294967296;
}

function timeval_bytes(ns: number): Uint8Array {
  const b = new Uint8Array(timeval.size);
  const dv = new DataView(b.buffer);
  const sec = Math.floor(ns / 1e9);
  const usec = Math.floor((ns - sec * 1e9) / 1000);
  dv.setUint32(0, sec >>> 0, true);
  dv.setUint32(4, Math.floor(sec / 4294967296) >>> 0, true);
  dv.setUint32(8, usec >>> 0, true);
  return b;
}

function ctloutput(so: Socket, sopt: SockOpt): Promise<number> {
  const f = so.so_proto.pr_ctloutput;
  if (f === undefined) return Promise.resolve(ENOPROTOOPT);
  return await_num(so_vnet_call(so, () => f.call(so.so_proto, so, sopt)));
}

/** sosetopt(): SOL_SOCKET options here, other levels to pr_ctloutput. */
export async function sosetopt(so: Socket, sopt: SockOpt): Promise<number> {
  BKPT(S_sosetopt);
  if (sopt.sopt_level !== SOL_SOCKET) return ctloutput(so, sopt);
  const name = sopt.sopt_name;
  let error = 0;
  if (BOOL_OPTS.includes(name)) {
    const v = sooptcopyin(sopt, 4);
    if (typeof v === 'number') return v;
    if (le32_get(v) !== 0) so.so_options |= name;
    else so.so_options &= ~name;
  } else
    switch (name) {
      case SO_LINGER: {
        const v = sooptcopyin(sopt, linger.size);
        if (typeof v === 'number') return v;
        const onoff = le32_get(v, 0);
        const l = le32_get(v, 4);
        /* FreeBSD's bounds: a linger time in seconds that hz ticks can hold. */
        if (l < 0 || l > 0xffff || l > Math.floor(0x7fffffff / hz)) return EDOM;
        so.so_linger = l;
        if (onoff) so.so_options |= SO_LINGER;
        else so.so_options &= ~SO_LINGER;
        break;
      }
      case SO_SNDBUF:
      case SO_RCVBUF:
      case SO_SNDLOWAT:
      case SO_RCVLOWAT: {
        const v = sooptcopyin(sopt, 4);
        if (typeof v === 'number') return v;
        const optval = le32_get(v);
        if (optval < 1) return EINVAL;
        const sb = name === SO_SNDBUF || name === SO_SNDLOWAT ? so.so_snd : so.so_rcv;
        if (name === SO_SNDBUF || name === SO_RCVBUF) {
          if (!sbreserve(sb, optval)) return ENOBUFS;
          sb.sb_flags &= ~SB_AUTOSIZE;
        } else sb.sb_lowat = Math.min(optval, sb.sb_hiwat);
        break;
      }
      case SO_SNDTIMEO:
      case SO_RCVTIMEO: {
        const v = sooptcopyin(sopt, timeval.size);
        if (typeof v === 'number') return v;
        const sec = rd64(v, 0);
        const usec = rd64(v, 8);
        if (sec < 0 || usec < 0 || usec >= 1000000) return EDOM;
        const ns = sec * 1e9 + usec * 1000;
        (name === SO_SNDTIMEO ? so.so_snd : so.so_rcv).sb_timeo = ns;
        break;
      }
      default:
        error = ENOPROTOOPT;
    }
  if (error === 0 && so.so_proto.pr_ctloutput !== undefined) void (await ctloutput(so, sopt));
  return error;
}

/** sogetopt(): SOL_SOCKET options here (SO_ERROR clears), others to pr_ctloutput. */
export function sogetopt(so: Socket, sopt: SockOpt): Promise<number> {
  BKPT(S_sogetopt);
  if (sopt.sopt_level !== SOL_SOCKET) return ctloutput(so, sopt);
  const name = sopt.sopt_name;
  const out = (v: number): Promise<number> => Promise.resolve(sooptcopyout(sopt, int_bytes(v)));
  if (BOOL_OPTS.includes(name)) return out(so.so_options & name);
  switch (name) {
    case SO_LINGER: {
      const b = new Uint8Array(linger.size);
      b.set(int_bytes(so.so_options & SO_LINGER), 0);
      b.set(int_bytes(so.so_linger), 4);
      return Promise.resolve(sooptcopyout(sopt, b));
    }
    case SO_TYPE:
      return out(so.so_type);
    case SO_PROTOCOL:
      return out(so.so_proto.pr_protocol);
    case SO_DOMAIN:
      return out(so.so_family);
    case SO_ERROR: {
      let e = so.so_error;
      if (e !== 0) so.so_error = 0;
      else {
        e = so.so_rerror;
        so.so_rerror = 0;
      }
      return out(e);
    }
    case SO_ACCEPTCONN:
      return out(SOLISTENING(so) ? 1 : 0);
    case SO_SNDBUF:
      return out(so.so_snd.sb_hiwat);
    case SO_RCVBUF:
      return out(so.so_rcv.sb_hiwat);
    case SO_SNDLOWAT:
      return out(so.so_snd.sb_lowat);
    case SO_RCVLOWAT:
      return out(so.so_rcv.sb_lowat);
    case SO_SNDTIMEO:
    case SO_RCVTIMEO:
      return Promise.resolve(
        sooptcopyout(sopt, timeval_bytes((name === SO_SNDTIMEO ? so.so_snd : so.so_rcv).sb_timeo)),
      );
    case SO_LISTENQLIMIT:
    case SO_LISTENQLEN:
    case SO_LISTENINCQLEN:
      if (!SOLISTENING(so)) return Promise.resolve(EINVAL);
      return out(
        name === SO_LISTENQLIMIT
          ? so.sol_qlimit
          : name === SO_LISTENQLEN
            ? so.sol_comp.length
            : so.sol_incomp.length,
      );
    default:
      return Promise.resolve(ENOPROTOOPT);
  }
}

/** A sockopt record for the kernel (get: valsize is the buffer size). */
export function sockopt(
  dir: number,
  level: number,
  name: number,
  val: Uint8Array,
  td: unknown = null,
): SockOpt {
  return {
    sopt_dir: dir,
    sopt_level: level,
    sopt_name: name,
    sopt_val: val,
    sopt_valsize: dir === SOPT_GET ? val.length : val.length,
    sopt_td: td,
  };
}
export { SOPT_GET, SOPT_SET };

/* ------------------------------------------------------------------------------ */
/* poll.                                                                           */

/** soreadabledata(): enough data, or an error to report. */
function soreadabledata(so: Socket): boolean {
  return sbavail(so.so_rcv) >= so.so_rcv.sb_lowat || so.so_error !== 0 || so.so_rerror !== 0;
}

/** sowriteable() */
function sowriteable(so: Socket): boolean {
  const snd = so.so_snd;
  return (
    (sbspace(snd) >= snd.sb_lowat &&
      ((so.so_state & SS_ISCONNECTED) !== 0 || (so.so_proto.pr_flags & PR_CONNREQUIRED) === 0)) ||
    (snd.sb_state & SBS_CANTSENDMORE) !== 0 ||
    so.so_error !== 0
  );
}

/**
 * sopoll(): the events of `events` that are ready; when none is, the poller's
 * channel (pollchan) is recorded in the buffers' selinfo so that sorwakeup/sowwakeup
 * wake it.
 */
export function sopoll(so: Socket, events: number, pollchan: object | null): number {
  BKPT(S_sopoll);
  const f = so.so_proto.pr_sopoll;
  if (f !== undefined) return f.call(so.so_proto, so, events, null);
  let revents = 0;
  if (SOLISTENING(so)) {
    if (!(events & (POLLIN | POLLRDNORM))) revents = 0;
    else if (so.sol_comp.length > 0) revents = events & (POLLIN | POLLRDNORM);
    else if (!(events & POLLINIGNEOF) && so.so_error !== 0)
      revents = (events & (POLLIN | POLLRDNORM)) | POLLHUP;
    else if (pollchan !== null) {
      selrecord(pollchan, so.so_rcv.sb_sel);
      so.so_rcv.sb_flags |= SB_SEL;
    }
    return revents;
  }
  if (events & (POLLIN | POLLRDNORM) && soreadabledata(so))
    revents |= events & (POLLIN | POLLRDNORM);
  if (events & (POLLOUT | POLLWRNORM) && sowriteable(so))
    revents |= events & (POLLOUT | POLLWRNORM);
  if (
    events & (POLLPRI | POLLRDBAND) &&
    (so.so_oobmark !== 0 || so.so_rcv.sb_state & SBS_RCVATMARK)
  )
    revents |= events & (POLLPRI | POLLRDBAND);
  if (!(events & POLLINIGNEOF) && so.so_rcv.sb_state & SBS_CANTRCVMORE) {
    revents |= events & (POLLIN | POLLRDNORM);
    if (so.so_snd.sb_state & SBS_CANTSENDMORE) revents |= POLLHUP;
  }
  if (so.so_rcv.sb_state & SBS_CANTRCVMORE) revents |= events & POLLRDHUP;
  if (revents === 0 && pollchan !== null) {
    if (events & (POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND | POLLRDHUP)) {
      selrecord(pollchan, so.so_rcv.sb_sel);
      so.so_rcv.sb_flags |= SB_SEL;
    }
    if (events & (POLLOUT | POLLWRNORM)) {
      selrecord(pollchan, so.so_snd.sb_sel);
      so.so_snd.sb_flags |= SB_SEL;
    }
  }
  return revents;
}

export { sorwakeup, sowwakeup };
