/*
 * kern/sys_socket.ts — sockets as files (sys/kern/sys_socket.c): the socket fileops.
 *
 * read(2)/write(2) on a socket are soreceive/sosend without flags or addresses;
 * close(2) of the last reference is soclose; poll(2) is sopoll.  ioctl(2):
 *
 *   FIONBIO   SS_NBIO (sys_generic has already set FNONBLOCK on the file)
 *   FIOASYNC  SS_ASYNC (no SIGIO: there are no signals)
 *   FIONREAD  bytes in the receive buffer;  FIONWRITE bytes in the send buffer;
 *   FIONSPACE free space in the send buffer;  SIOCATMARK at the out-of-band mark
 *   group 'i' interface ioctls: the hook the interface layer registers on the kernel
 *             (socket_ifioctl_register; net/if.ts), ENOTTY when none is registered;
 *   group 'r' routing ioctls: likewise (socket_rtioctl_register);
 *   others    the protocol's pr_control, EOPNOTSUPP when it has none (FreeBSD's
 *             pr_control_notsupp).
 *
 * The hooks live on the Kernel object (declared here by augmenting it), so several
 * kernels in one process each have their own interface layer.
 */

import type { Kernel } from './kernel.js';
import { curkernel } from './kern_cur.js';
import type { File, FileOps, Uio } from './kern_descrip.js';
import type { Thread } from '../sys/proc.js';
import { EOPNOTSUPP, ENOTTY, EPIPE } from '../sys/errno.js';
import { IOCGROUP } from '../sys/ioccom.js';
import { FIOASYNC, FIONBIO, FIONREAD, FIONSPACE, FIONWRITE, SIOCATMARK } from '../sys/sockio.js';
import { SO_NOSIGPIPE, le32_get, le32_put } from '../sys/socket.js';
import { SBS_RCVATMARK, SS_ASYNC, SS_NBIO, type Socket } from '../sys/socketvar.js';
import { sbavail, sbspace } from './uipc_sockbuf.js';
import { soclose, sopoll, soreceive, sosend, so_vnet_call } from './uipc_socket.js';

/** An ioctl handler the interface or routing layer gives the socket layer. */
export type SoIoctlHook = (
  so: Socket,
  cmd: number,
  data: Uint8Array,
  td: Thread | null,
) => number | Promise<number>;

declare module './kernel.js' {
  interface Kernel {
    /** ifioctl(): group 'i' socket ioctls (registered by net/if.ts). */
    socket_ifioctl_hook?: SoIoctlHook;
    /** rtioctl_fib(): group 'r' socket ioctls (registered by the routing code). */
    socket_rtioctl_hook?: SoIoctlHook;
  }
}

declare module '../sys/proc.js' {
  interface Thread {
    /** The private wait channel of a thread inside poll(2) (kern/uipc_syscalls.ts). */
    td_pollchan?: object | null;
    /** SIGPIPEs that would have been posted (EPIPE without MSG_NOSIGNAL); no signals yet. */
    td_sigpipe?: number;
  }
}

/** Register the interface layer's ioctl handler (ifioctl) for sockets. */
export function socket_ifioctl_register(k: Kernel, h: SoIoctlHook | null): void {
  if (h === null) delete k.socket_ifioctl_hook;
  else k.socket_ifioctl_hook = h;
}

/** Register the routing layer's ioctl handler for sockets. */
export function socket_rtioctl_register(k: Kernel, h: SoIoctlHook | null): void {
  if (h === null) delete k.socket_rtioctl_hook;
  else k.socket_rtioctl_hook = h;
}

const G_i = 'i'.charCodeAt(0);
const G_r = 'r'.charCodeAt(0);

function so_of(fp: File): Socket {
  return fp.f_data as Socket;
}

function soo_ioctl(fp: File, cmd: number, data: Uint8Array, td?: Thread): number | Promise<number> {
  const so = so_of(fp);
  switch (cmd) {
    case FIONBIO:
      if (le32_get(data) !== 0) so.so_state |= SS_NBIO;
      else so.so_state &= ~SS_NBIO;
      return 0;
    case FIOASYNC:
      if (le32_get(data) !== 0) so.so_state |= SS_ASYNC;
      else so.so_state &= ~SS_ASYNC;
      return 0;
    case FIONREAD:
      le32_put(data, 0, sbavail(so.so_rcv));
      return 0;
    case FIONWRITE:
      le32_put(data, 0, so.so_snd.sb_ccc);
      return 0;
    case FIONSPACE:
      le32_put(data, 0, Math.max(0, sbspace(so.so_snd)));
      return 0;
    case SIOCATMARK:
      le32_put(data, 0, so.so_rcv.sb_state & SBS_RCVATMARK ? 1 : 0);
      return 0;
  }
  const k = curkernel();
  const g = IOCGROUP(cmd);
  if (g === G_i || g === G_r) {
    const h = g === G_i ? k.socket_ifioctl_hook : k.socket_rtioctl_hook;
    if (h === undefined) return ENOTTY;
    return so_vnet_call(so, () => h(so, cmd, data, td ?? null));
  }
  const f = so.so_proto.pr_control;
  if (f === undefined) return EOPNOTSUPP;
  return so_vnet_call(so, () => f.call(so.so_proto, so, cmd, data, null, td ?? null));
}

/* read(2)/write(2) on a socket finish synchronously when soreceive/sosend do (nothing
 * slept): only a call that sleeps costs a promise, as for recvfrom/sendto. */
function soo_read(fp: File, uio: Uio, _flags: number, td?: Thread): number | Promise<number> {
  const r = soreceive(so_of(fp), uio, 0, td ?? null);
  return r instanceof Promise ? r.then((x) => x.error) : r.error;
}

function soo_write(fp: File, uio: Uio, _flags: number, td?: Thread): number | Promise<number> {
  const so = so_of(fp);
  const e = sosend(so, null, uio, null, 0, td ?? null);
  return typeof e === 'number' ? soo_sigpipe(so, e, td) : e.then((x) => soo_sigpipe(so, x, td));
}

/** EPIPE on a socket without SO_NOSIGPIPE raises SIGPIPE (counted: there are no signals). */
function soo_sigpipe(so: Socket, e: number, td?: Thread): number {
  if (e === EPIPE && td !== undefined && !(so.so_options & SO_NOSIGPIPE))
    td.td_sigpipe = (td.td_sigpipe ?? 0) + 1;
  return e;
}

function soo_poll(fp: File, events: number, td?: Thread): number {
  return sopoll(so_of(fp), events, td?.td_pollchan ?? null);
}

function soo_close(fp: File, td?: Thread): number | Promise<number> {
  return soclose(so_of(fp), td !== undefined);
}

/** socketops: the fileops of every socket descriptor. */
export const socketops: FileOps = {
  fo_type: 'socket',
  fo_read: soo_read,
  fo_write: soo_write,
  fo_ioctl: soo_ioctl,
  fo_poll: soo_poll,
  fo_close: soo_close,
};
