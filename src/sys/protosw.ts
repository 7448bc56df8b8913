/*
 * sys/protosw.ts — the protocol contract (sys/sys/protosw.h, sys/sys/domain.h,
 * sys/kern/uipc_domain.c): what a protocol gives the socket layer, and how the socket
 * layer finds it.
 *
 * The socket layer (kern/uipc_socket.ts) is protocol independent: socket(2) finds a
 * struct protosw by (family, type, protocol) and from then on every operation that
 * needs the protocol goes through the pr_* methods below, exactly as FreeBSD 14 has
 * them directly on struct protosw (pr_usrreqs was folded into it).  A protocol:
 *
 *   1. declares `export const xxx_protosw = { ... } satisfies Protosw` for each socket
 *      type it serves, with pr_type, pr_protocol and pr_flags;
 *   2. groups them in a struct domain (dom_family, dom_name, dom_protosw) and registers
 *      it with DOMAIN_SET(K, domain) on its own object file, which must be listed in
 *      conf/files.ts (or be part of a loaded module: domains of loaded modules are found
 *      too, as DDB finds their commands);
 *   3. keeps its per-socket state in so.so_pcb and its per-vnet state in VNET slots.
 *
 * The rules of the contract (what the generic layer does before and after calling):
 *
 *   - Every method returns 0 or an errno (never throws on user input).  curvnet is
 *     so.so_vnet during every call (the generic layer sets it).
 *   - pr_attach(so, proto, td) is called by socreate after the socket buffers exist; it
 *     allocates so_pcb and calls soreserve() to size so_snd/so_rcv.  On error the socket
 *     is freed without pr_detach.
 *   - pr_detach(so) frees the pcb; it is the last call a socket gets.
 *   - pr_bind/pr_connect get the sockaddr bytes as the user gave them (sa_len already
 *     set to the length copied in, at least 2 bytes); family and length checks are the
 *     protocol's (EAFNOSUPPORT, EINVAL).
 *   - pr_listen must call solisten_proto_check() and solisten_proto(so, backlog)
 *     (uipc_socket.ts) to turn the socket into a listener.
 *   - pr_accept(so) is called on a socket taken off a listener's completed queue and
 *     returns its peer's address (or an errno).
 *   - pr_connect(so, nam, td): start connecting; call soisconnecting() and, when the
 *     connection is made (now or later), soisconnected().  A connection request that
 *     arrives on a listener creates its socket with sonewconn(head, 0) (null when the
 *     listen queue is full: refuse the connection).
 *   - pr_send(so, flags, m, addr, control, td) CONSUMES m (and control): the generic
 *     sosend has already checked the connection state, the address requirement and
 *     the send buffer space (sbspace(so_snd)); the protocol appends to so_snd (TCP) or
 *     passes the data on at once (UDP, local sockets).  flags may carry PRUS_OOB,
 *     PRUS_EOF, PRUS_MORETOCOME.
 *   - pr_rcvd(so, flags) is called after soreceive removed data from so_rcv, for
 *     protocols with PR_WANTRCVD (window updates).
 *   - pr_shutdown(so, how): the generic soshutdown has validated `how` and the
 *     connection state; SHUT_RD flushing is generic (sorflush) — the protocol handles
 *     the write side (FIN) and may look at SHUT_RD too.
 *   - pr_abort(so): drop the connection at once (RST); used for sockets left on a
 *     listener's queues at close and for close with SO_LINGER and l_linger 0.
 *   - pr_close(so): the orderly close (FIN); pr_disconnect(so): disconnect a
 *     connected socket.
 *   - pr_sockaddr/pr_peeraddr return the address bytes (sa_len first).
 *   - pr_control(so, cmd, data, ifp, td): ioctls the socket layer does not handle
 *     (ENOIOCTL / EOPNOTSUPP when not the protocol's either).
 *   - pr_ctloutput(so, sopt): get/setsockopt for levels other than SOL_SOCKET; as in
 *     FreeBSD it is also called after every successful SOL_SOCKET set (so a protocol
 *     can react to SO_SNDBUF, SO_KEEPALIVE...), and must return quietly for those.
 *     Values: sooptcopyin(sopt, minlen) and sooptcopyout(sopt, bytes) in
 *     kern/uipc_socket.ts; ENOPROTOOPT for an unknown option.
 *   - Receive path (the protocol's input): sbappendaddr(so.so_rcv, from, m, control)
 *     for datagrams (false when full: the caller still owns m, frees it and counts the
 *     drop), sbappendstream for stream data, then sorwakeup(so); so.so_error = errno
 *     plus sorwakeup/sowwakeup reports an asynchronous error (ICMP unreachable) to
 *     the next receive or send, once.
 *   - pr_soreceive / pr_sosend / pr_sopoll replace the generic functions when present.
 *
 * Deliberate differences from FreeBSD: no pr_ctlinput/pr_input here (the internet
 * protocols define their input path themselves), no pr_aio_queue, pr_sendfile_wait or
 * kernel TLS hooks; a sockaddr is bytes, not a struct pointer.
 */

import type { Thread } from './proc.js';
import type { Mbuf } from './mbuf.js';
import type { Socket, SockOpt, SoRecvResult } from './socketvar.js';
import type { Uio } from '../kern/kern_descrip.js';
import { ObjFile, SET_FOREACH } from './linker_set.js';
import type { Kernel } from '../kern/kernel.js';
import { SOCK_RAW } from './socket.js';

/* pr_flags */
export const PR_ATOMIC = 0x01; /* exchange atomic messages only */
export const PR_ADDR = 0x02; /* addresses given with messages */
export const PR_CONNREQUIRED = 0x04; /* connection required by protocol */
export const PR_WANTRCVD = 0x08; /* want PRU_RCVD calls */
export const PR_RIGHTS = 0x10; /* passes capabilities */
export const PR_IMPLOPCL = 0x20; /* implied open/close */
export const PR_CAPATTACH = 0x80; /* socket can attach in cap mode */

/* pr_send flags */
export const PRUS_OOB = 0x1;
export const PRUS_EOF = 0x2;
export const PRUS_MORETOCOME = 0x4;
export const PRUS_NOTREADY = 0x8;
export const PRUS_IPV6 = 0x10;

/** Errno or a value. */
export type Result<T> = T | number;
/** A protocol method may complete now or later. */
export type MaybeAsync<T> = T | Promise<T>;

/** Anything an interface-aware pr_control receives (net/if_var.ts's ifnet). */
export type IfnetLike = object | null;

/** struct protosw (FreeBSD 14: the user requests live directly on it). */
export interface Protosw {
  readonly pr_type: number;
  readonly pr_protocol: number;
  readonly pr_flags: number;
  /** Back pointer, filled when the domain is registered (pr_domain). */
  pr_domain?: Domain;

  pr_attach(so: Socket, proto: number, td: Thread | null): number;
  pr_detach(so: Socket): void;
  pr_bind?(so: Socket, nam: Uint8Array, td: Thread | null): MaybeAsync<number>;
  pr_listen?(so: Socket, backlog: number, td: Thread | null): number;
  /** The peer's address of an accepted socket, or an errno. */
  pr_accept?(so: Socket): Result<Uint8Array>;
  pr_connect?(so: Socket, nam: Uint8Array, td: Thread | null): MaybeAsync<number>;
  pr_connect2?(so1: Socket, so2: Socket): number;
  pr_disconnect?(so: Socket): number;
  pr_shutdown?(so: Socket, how: number): number;
  pr_rcvd?(so: Socket, flags: number): number;
  /** Consumes m and control. */
  pr_send(
    so: Socket,
    flags: number,
    m: Mbuf,
    addr: Uint8Array | null,
    control: Uint8Array | null,
    td: Thread | null,
  ): MaybeAsync<number>;
  pr_ready?(so: Socket, m: Mbuf, count: number): number;
  pr_abort?(so: Socket): void;
  pr_close?(so: Socket): void;
  pr_sockaddr?(so: Socket): Result<Uint8Array>;
  pr_peeraddr?(so: Socket): Result<Uint8Array>;
  pr_control?(
    so: Socket,
    cmd: number,
    data: Uint8Array,
    ifp: IfnetLike,
    td: Thread | null,
  ): MaybeAsync<number>;
  pr_ctloutput?(so: Socket, sopt: SockOpt): MaybeAsync<number>;
  /** Replacements for the generic soreceive/sosend/sopoll. */
  pr_soreceive?(so: Socket, uio: Uio, flags: number, td: Thread | null): Promise<SoRecvResult>;
  pr_sosend?(
    so: Socket,
    addr: Uint8Array | null,
    uio: Uio,
    control: Uint8Array | null,
    flags: number,
    td: Thread | null,
  ): Promise<number>;
  pr_sopoll?(so: Socket, events: number, td: Thread | null): number;
}

/** struct domain */
export interface Domain {
  readonly dom_family: number;
  readonly dom_name: string;
  readonly dom_protosw: readonly Protosw[];
}

export const SET_DOMAIN = 'domain_set';

/** DOMAIN_SET(domain): register a domain in obj's linker set "domain_set". */
export function DOMAIN_SET(obj: ObjFile, dom: Domain): Domain {
  for (const pr of dom.dom_protosw) pr.pr_domain = dom;
  return obj.DATA_SET(SET_DOMAIN, dom);
}

/** Every registered domain: the kernel image's, then the loaded modules'. */
export function domains(k: Kernel): Domain[] {
  const objs: ObjFile[] = [...k.image.objs];
  for (const f of k.linker.files) if (f.obj) objs.push(f.obj);
  return SET_FOREACH<Domain>(objs, SET_DOMAIN);
}

/** pffinddomain(family) */
export function pffinddomain(k: Kernel, family: number): Domain | null {
  for (const d of domains(k)) if (d.dom_family === family) return d;
  return null;
}

/** pffindtype(family, type): the first protocol of that socket type. */
export function pffindtype(k: Kernel, family: number, type: number): Protosw | null {
  const d = pffinddomain(k, family);
  if (d === null) return null;
  for (const pr of d.dom_protosw) if (pr.pr_type === type) return pr;
  return null;
}

/**
 * pffindproto(family, protocol, type): an exact (type, protocol) match, else a
 * wildcard raw protocol (SOCK_RAW with pr_protocol 0) when type is SOCK_RAW.
 */
export function pffindproto(
  k: Kernel,
  family: number,
  protocol: number,
  type: number,
): Protosw | null {
  const d = pffinddomain(k, family);
  if (d === null) return null;
  let maybe: Protosw | null = null;
  for (const pr of d.dom_protosw) {
    if (pr.pr_protocol === protocol && pr.pr_type === type) return pr;
    if (type === SOCK_RAW && pr.pr_type === SOCK_RAW && pr.pr_protocol === 0 && maybe === null)
      maybe = pr;
  }
  return maybe;
}
