/*
 * netinet/tcp_usrreq.ts — TCP's socket interface (FreeBSD sys/netinet/tcp_usrreq.c):
 * the SOCK_STREAM protocol of the AF_INET domain and its options.
 *
 *   - attach: buffers of net.inet.tcp.sendspace/recvspace with autosizing, a pcb in
 *     V_tcbinfo and a tcpcb.  bind: in_pcbbind (a multicast address is
 *     EAFNOSUPPORT, as FreeBSD's tcp_usr_bind).  listen: LISTEN with the backlog
 *     (an unbound socket gets an ephemeral port).  connect: the route gives the source
 *     (ENETUNREACH), an ephemeral port, the ISN (RFC 6528), the window scale we want,
 *     SYN_SENT and the keepinit timer; connect on a listener is EOPNOTSUPP, on a
 *     connected socket EISCONN (generic layer).
 *   - send: data joins so_snd and tcp_output decides; sendto with an address on an
 *     unconnected socket connects first (implied connect, PR_IMPLOPCL); MSG_EOF
 *     closes after the data.  rcvd: window updates.
 *   - shutdown(SHUT_WR) and close: tcp_usrclosed's transitions (ESTABLISHED →
 *     FIN_WAIT_1, CLOSE_WAIT → LAST_ACK, before ESTABLISHED the FIN waits for the
 *     handshake).  close with SO_LINGER 0 is abort: RST (tcp_drop).  A closed socket
 *     whose connection still has data or a FIN to deliver stays with the pcb
 *     (so_protoref, FreeBSD's INP_SOCKREF) until tcp_close.
 *   - Options at IPPROTO_TCP: TCP_NODELAY, TCP_NOPUSH, TCP_MAXSEG, TCP_NOOPT,
 *     TCP_KEEPINIT/IDLE/INTVL (seconds) and TCP_KEEPCNT, TCP_CONGESTION (an algorithm
 *     name; ENOENT when not loaded), TCP_INFO (struct tcp_info, get only); others go
 *     to ip_ctloutput.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SI_ORDER_ANY, SI_SUB_PROTO_DOMAIN } from '../sys/kernel.js';
import { VNET_SYSUNINIT } from '../net/vnet.js';
import {
  PRUS_EOF,
  PR_CONNREQUIRED,
  PR_IMPLOPCL,
  PR_WANTRCVD,
  type Protosw,
} from '../sys/protosw.js';
import { SB_AUTOSIZE, SOPT_SET, type Socket, type SockOpt } from '../sys/socketvar.js';
import { SOCK_STREAM, SO_LINGER } from '../sys/socket.js';
import type { Thread } from '../sys/proc.js';
import { m_freem, type Mbuf } from '../sys/mbuf.js';
import {
  EAFNOSUPPORT,
  ECONNABORTED,
  ECONNRESET,
  EINVAL,
  EISCONN,
  ENOENT,
  ENOPROTOOPT,
  ENOTCONN,
} from '../sys/errno.js';
import { get_ticks } from '../kern/kern_clock.js';
import { arc4random } from '../kern/subr_random.js';
import {
  sbappendstream,
  sbflush,
  soisconnecting,
  soisdisconnected,
  soisdisconnecting,
  socantsendmore,
  soreserve,
  so_globals,
} from '../kern/uipc_sockbuf.js';
import {
  sooptcopyin,
  sooptcopyout,
  solisten_proto,
  solisten_proto_check,
} from '../kern/uipc_socket.js';
import { INADDR_ANY, IN_MULTICAST, IPPROTO_TCP } from './in.js';
import {
  INP_DROPPED,
  in_getpeeraddr,
  in_getsockaddr,
  in_pcballoc,
  in_pcbbind,
  in_pcbconnect,
  in_pcbdetach,
  in_pcbfree,
  in_pcblisten,
  in_sockaddr_check,
  type Inpcb,
} from './in_pcb.js';
import { ip_ctloutput } from './ip_ctloutput.js';
import { cc_attach, cc_detach, cc_findalgo } from './cc/cc.js';
import {
  TCPS_CLOSED,
  TCPS_CLOSE_WAIT,
  TCPS_ESTABLISHED,
  TCPS_FIN_WAIT_1,
  TCPS_FIN_WAIT_2,
  TCPS_LAST_ACK,
  TCPS_LISTEN,
  TCPS_SYN_RECEIVED,
  TCPS_SYN_SENT,
  TCPS_TIME_WAIT,
  TCPSTAT_INC,
  TCPS_,
  TCP_CA_NAME_MAX,
  TCP_CONGESTION,
  TCP_INFO,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINIT,
  TCP_KEEPINTVL,
  TCP_MAXSEG,
  TCP_MAXWIN,
  TCP_NODELAY,
  TCP_NOOPT,
  TCP_NOPUSH,
  TF_NEEDFIN,
  TF_NODELAY,
  TF_NOOPT,
  TF_NOPUSH,
  TT_2MSL,
  TT_KEEP,
  V_tcp_finwait2_timeout,
  V_tcp_minmss,
  V_tcp_recvspace,
  V_tcp_sendspace,
  intotcpcb,
  type Tcpcb,
} from './tcp_var.js';
import {
  V_tcbinfo,
  tcp_close,
  tcp_discardcb,
  tcp_drop,
  tcp_new_isn,
  tcp_newtcpcb,
  tcp_state_change,
} from './tcp_subr.js';
import { tcp_output, tcp_request_scale } from './tcp_output.js';
import { TP_KEEPINIT, tcp_timer_activate, tcp_timer_stop_all } from './tcp_timer.js';
import { tcp_info } from './tcp_info.js';

export const K = new ObjFile('netinet/tcp_usrreq.ts', VIMAGEID('src/netinet/tcp_usrreq.ts'));

/** Every pcb of a dying vnet goes (timers stopped) before its memory does. */
VNET_SYSUNINIT(K, 'tcp_destroy', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  for (const inp of [...V_tcbinfo().ipi_listhead]) {
    const tp = intotcpcb(inp);
    if (tp !== null) {
      tcp_timer_stop_all(tp);
      tcp_discardcb(tp);
    }
    inp.inp_ppcb = null;
    in_pcbfree(inp);
  }
});

function tp_of(so: Socket): Tcpcb | null {
  const inp = so.so_pcb as Inpcb | null;
  return inp === null ? null : intotcpcb(inp);
}

/** tcp_connect: bind if needed, set the foreign address, start the handshake. */
function tcp_connect(tp: Tcpcb, nam: Uint8Array): number {
  const inp = tp.t_inpcb;
  const so = inp.inp_socket!;
  const sin = in_sockaddr_check(nam);
  if (typeof sin === 'number') return sin;
  if (IN_MULTICAST(sin.sin_addr) || sin.sin_addr === 0xffffffff) return EAFNOSUPPORT;
  if (inp.inp_faddr !== INADDR_ANY) return EISCONN;
  const e = in_pcbconnect(inp, sin);
  if (e !== 0) return e;
  tp.request_r_scale = tcp_request_scale(Math.max(so_globals().sb_max, so.so_rcv.sb_hiwat));
  soisconnecting(so);
  TCPSTAT_INC(TCPS_.tcps_connattempt);
  tcp_state_change(tp, TCPS_SYN_SENT);
  tp.iss = tcp_new_isn(inp.inp_laddr, inp.inp_lport, inp.inp_faddr, inp.inp_fport);
  tp.snd_una = tp.snd_nxt = tp.snd_max = tp.snd_up = tp.iss;
  tp.ts_offset = arc4random();
  tp.t_rcvtime = get_ticks();
  tcp_timer_activate(tp, TT_KEEP, TP_KEEPINIT(tp));
  return 0;
}

/** tcp_usrclosed: the user will send no more; the state machine's close transitions. */
function tcp_usrclosed(tp: Tcpcb): Tcpcb | null {
  switch (tp.t_state) {
    case TCPS_CLOSED:
    case TCPS_LISTEN:
      tcp_state_change(tp, TCPS_CLOSED);
      tcp_close(tp);
      return null;
    case TCPS_SYN_SENT:
    case TCPS_SYN_RECEIVED:
      tp.t_flags |= TF_NEEDFIN;
      break;
    case TCPS_ESTABLISHED:
      tcp_state_change(tp, TCPS_FIN_WAIT_1);
      break;
    case TCPS_CLOSE_WAIT:
      tcp_state_change(tp, TCPS_LAST_ACK);
      break;
  }
  if (tp.t_state >= TCPS_FIN_WAIT_2) {
    const so = tp.t_inpcb.inp_socket;
    if (so !== null) soisdisconnected(so);
    if (tp.t_state === TCPS_FIN_WAIT_2)
      tcp_timer_activate(tp, TT_2MSL, V_tcp_finwait2_timeout.get());
  }
  return tp;
}

/** tcp_disconnect: close (before ESTABLISHED), abort (linger 0) or start the FIN. */
function tcp_disconnect(tp: Tcpcb): void {
  const so = tp.t_inpcb.inp_socket!;
  if (tp.t_state < TCPS_ESTABLISHED) {
    tcp_close(tp);
    return;
  }
  if (so.so_options & SO_LINGER && so.so_linger === 0) {
    tcp_drop(tp, 0);
    return;
  }
  soisdisconnecting(so);
  sbflush(so.so_rcv);
  if (tcp_usrclosed(tp) !== null && !(tp.t_inpcb.inp_flags & INP_DROPPED)) tcp_output(tp);
}

function int_of(v: Uint8Array): number {
  return new DataView(v.buffer, v.byteOffset, 4).getInt32(0, true);
}

function int_bytes(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n, true);
  return b;
}

export const tcp_protosw = {
  pr_type: SOCK_STREAM,
  pr_protocol: IPPROTO_TCP,
  pr_flags: PR_CONNREQUIRED | PR_IMPLOPCL | PR_WANTRCVD,

  pr_attach(so: Socket, _proto: number, _td: Thread | null): number {
    if (so.so_snd.sb_hiwat === 0 || so.so_rcv.sb_hiwat === 0) {
      const e = soreserve(so, V_tcp_sendspace.get(), V_tcp_recvspace.get());
      if (e !== 0) return e;
    }
    so.so_snd.sb_flags |= SB_AUTOSIZE;
    so.so_rcv.sb_flags |= SB_AUTOSIZE;
    const inp = in_pcballoc(so, V_tcbinfo(), IPPROTO_TCP);
    tcp_newtcpcb(inp);
    return 0;
  },

  pr_detach(so: Socket): void {
    const inp = so.so_pcb as Inpcb | null;
    if (inp === null) return;
    const tp = intotcpcb(inp);
    if (inp.inp_flags & INP_DROPPED || tp === null || tp.t_state === TCPS_CLOSED) {
      if (tp !== null) tcp_discardcb(tp);
      inp.inp_ppcb = null;
      in_pcbfree(inp);
      return;
    }
    if (tp.t_state === TCPS_TIME_WAIT || tp.t_state === TCPS_LISTEN) {
      /* TIME_WAIT lives on without the socket; a listener is simply gone. */
      if (tp.t_state === TCPS_LISTEN) {
        tcp_discardcb(tp);
        inp.inp_ppcb = null;
        in_pcbfree(inp);
      } else in_pcbdetach(inp);
      return;
    }
    /* Still sending: the connection keeps the socket (INP_SOCKREF). */
    tp.t_closed = true;
    so.so_protoref = true;
  },

  pr_bind(so: Socket, nam: Uint8Array, _td: Thread | null): number {
    const inp = so.so_pcb as Inpcb | null;
    if (inp === null) return EINVAL;
    const sin = in_sockaddr_check(nam, true);
    if (typeof sin === 'number') return sin;
    if (IN_MULTICAST(sin.sin_addr)) return EAFNOSUPPORT;
    return in_pcbbind(inp, nam, so.so_cred);
  },

  pr_listen(so: Socket, backlog: number, _td: Thread | null): number {
    const tp = tp_of(so);
    if (tp === null) return EINVAL;
    const e = solisten_proto_check(so);
    if (e !== 0) return e;
    const inp = tp.t_inpcb;
    if (inp.inp_lport === 0) {
      const be = in_pcbbind(inp, null, so.so_cred);
      if (be !== 0) return be;
    }
    if (tp.t_state !== TCPS_LISTEN) {
      const le = in_pcblisten(inp);
      if (le !== 0) return le;
      tcp_state_change(tp, TCPS_LISTEN);
      tp.request_r_scale = tcp_request_scale(Math.max(so_globals().sb_max, so.so_rcv.sb_hiwat));
    }
    solisten_proto(so, backlog);
    return 0;
  },

  pr_accept(so: Socket): Uint8Array | number {
    const inp = so.so_pcb as Inpcb | null;
    if (inp === null) return ECONNABORTED;
    return in_getpeeraddr(inp);
  },

  pr_connect(so: Socket, nam: Uint8Array, _td: Thread | null): number {
    const tp = tp_of(so);
    if (tp === null) return ECONNRESET;
    if (tp.t_state === TCPS_LISTEN) return EINVAL;
    const e = tcp_connect(tp, nam);
    if (e !== 0) return e;
    tcp_output(tp);
    return 0;
  },

  pr_disconnect(so: Socket): number {
    const tp = tp_of(so);
    if (tp === null) return ECONNRESET;
    tcp_disconnect(tp);
    return 0;
  },

  pr_shutdown(so: Socket, _how: number): number {
    const tp = tp_of(so);
    socantsendmore(so);
    if (tp === null) return 0;
    if (tcp_usrclosed(tp) !== null && tp.t_state !== TCPS_CLOSED) tcp_output(tp);
    return 0;
  },

  pr_rcvd(so: Socket, _flags: number): number {
    const tp = tp_of(so);
    if (tp !== null && tp.t_state >= TCPS_ESTABLISHED) tcp_output(tp);
    return 0;
  },

  pr_send(
    so: Socket,
    flags: number,
    m: Mbuf,
    addr: Uint8Array | null,
    _control: Uint8Array | null,
    _td: Thread | null,
  ): number {
    const tp = tp_of(so);
    if (tp === null || tp.t_inpcb.inp_flags & INP_DROPPED) {
      m_freem(m);
      return ECONNRESET;
    }
    if (addr !== null && tp.t_state < TCPS_SYN_SENT) {
      /* Implied connect (sendto on an unconnected socket). */
      if (tp.t_state === TCPS_LISTEN) {
        m_freem(m);
        return EINVAL;
      }
      const e = tcp_connect(tp, addr);
      if (e !== 0) {
        m_freem(m);
        return e;
      }
    } else if (addr !== null && tp.t_state >= TCPS_SYN_SENT) {
      m_freem(m);
      return EISCONN;
    }
    sbappendstream(so.so_snd, m);
    if (flags & PRUS_EOF) {
      socantsendmore(so);
      tcp_usrclosed(tp);
    }
    if (tp.t_state !== TCPS_CLOSED) tcp_output(tp);
    return 0;
  },

  pr_abort(so: Socket): void {
    const tp = tp_of(so);
    if (tp !== null && tp.t_state !== TCPS_CLOSED && !(tp.t_inpcb.inp_flags & INP_DROPPED))
      tcp_drop(tp, ECONNABORTED);
  },

  pr_close(so: Socket): void {
    const tp = tp_of(so);
    if (tp === null || tp.t_inpcb.inp_flags & INP_DROPPED) return;
    if (tp.t_state === TCPS_LISTEN) {
      tcp_close(tp);
      return;
    }
    if (!(so.so_state & 0x0008) /* SS_ISDISCONNECTING */) tcp_disconnect(tp);
  },

  pr_sockaddr(so: Socket): Uint8Array {
    return in_getsockaddr(so.so_pcb as Inpcb | null);
  },

  pr_peeraddr(so: Socket): Uint8Array | number {
    const inp = so.so_pcb as Inpcb | null;
    if (inp === null || inp.inp_faddr === INADDR_ANY) return ENOTCONN;
    return in_getpeeraddr(inp);
  },

  pr_ctloutput(so: Socket, sopt: SockOpt): number {
    if (sopt.sopt_level !== IPPROTO_TCP) return ip_ctloutput(so, sopt);
    const tp = tp_of(so);
    if (tp === null) return ECONNRESET;
    const flagopt: Record<number, number> = {
      [TCP_NODELAY]: TF_NODELAY,
      [TCP_NOPUSH]: TF_NOPUSH,
      [TCP_NOOPT]: TF_NOOPT,
    };
    const name = sopt.sopt_name;
    if (sopt.sopt_dir === SOPT_SET) {
      if (name === TCP_CONGESTION) {
        const b = sopt.sopt_val;
        const z = b.indexOf(0);
        const algo = cc_findalgo(new TextDecoder().decode(z < 0 ? b : b.subarray(0, z)));
        if (algo === null) return ENOENT;
        if (algo !== tp.cc_algo) {
          cc_detach(tp);
          cc_attach(tp, algo);
        }
        return 0;
      }
      const v = sooptcopyin(sopt, 4);
      if (typeof v === 'number') return v;
      const n = int_of(v);
      const f = flagopt[name];
      if (f !== undefined) {
        if (n !== 0) tp.t_flags |= f;
        else tp.t_flags &= ~f;
        if (name === TCP_NOPUSH && n === 0 && tp.t_state >= TCPS_ESTABLISHED) tcp_output(tp);
        if (name === TCP_NODELAY && n !== 0 && tp.t_state >= TCPS_ESTABLISHED) tcp_output(tp);
        return 0;
      }
      switch (name) {
        case TCP_MAXSEG:
          if (n <= 0 || n > TCP_MAXWIN || n < V_tcp_minmss.get()) return EINVAL;
          tp.t_maxseg = Math.min(tp.t_maxseg, n);
          return 0;
        case TCP_KEEPIDLE:
        case TCP_KEEPINTVL:
        case TCP_KEEPINIT:
          if (n < 1 || n > 0x7fffffff / 1000) return EINVAL;
          if (name === TCP_KEEPIDLE) {
            tp.t_keepidle = n * 1000;
            if (tp.t_state >= TCPS_ESTABLISHED && tp.t_state <= TCPS_CLOSE_WAIT)
              tcp_timer_activate(tp, TT_KEEP, tp.t_keepidle);
          } else if (name === TCP_KEEPINTVL) tp.t_keepintvl = n * 1000;
          else tp.t_keepinit = n * 1000;
          return 0;
        case TCP_KEEPCNT:
          if (n < 1) return EINVAL;
          tp.t_keepcnt = n;
          return 0;
        case TCP_INFO:
          return EINVAL;
        default:
          return ENOPROTOOPT;
      }
    }
    const f = flagopt[name];
    if (f !== undefined) return sooptcopyout(sopt, int_bytes(tp.t_flags & f ? 1 : 0));
    switch (name) {
      case TCP_MAXSEG:
        return sooptcopyout(sopt, int_bytes(tp.t_maxseg));
      case TCP_KEEPIDLE:
        return sooptcopyout(sopt, int_bytes(Math.floor((tp.t_keepidle || 0) / 1000)));
      case TCP_KEEPINTVL:
        return sooptcopyout(sopt, int_bytes(Math.floor((tp.t_keepintvl || 0) / 1000)));
      case TCP_KEEPINIT:
        return sooptcopyout(sopt, int_bytes(Math.floor((tp.t_keepinit || 0) / 1000)));
      case TCP_KEEPCNT:
        return sooptcopyout(sopt, int_bytes(tp.t_keepcnt));
      case TCP_CONGESTION: {
        const b = new Uint8Array(TCP_CA_NAME_MAX);
        b.set(new TextEncoder().encode(tp.cc_algo.name).subarray(0, TCP_CA_NAME_MAX - 1));
        return sooptcopyout(sopt, b);
      }
      case TCP_INFO:
        return sooptcopyout(sopt, tcp_info(tp));
      default:
        return ENOPROTOOPT;
    }
  },
} satisfies Protosw;
