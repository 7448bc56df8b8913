/*
 * lib/vnet_net.ts — a node:net-compatible API bound to a jail's vnet, so that unmodified
 * Node code (node:http servers and clients in particular) talks TCP through this kernel.
 *
 *   const na = vnet_net(k, 'a');                  // jail "a" (its vnet); '0' = the host
 *   const srv = na.createServer({ noDelay: true }, (s) => s.pipe(s));
 *   srv.listen(7, '192.0.2.1', () => console.log(srv.address()));
 *   const s = vnet_net(k, 'b').createConnection(7, '192.0.2.1', () => s.end('hi'));
 *
 *   // node:http over a vnet:
 *   const hs = http.createServer(handler);
 *   nb.createServer({ noDelay: true }, (sock) => hs.emit('connection', sock)).listen(80);
 *   const agent = new http.Agent({ keepAlive: true });
 *   agent.createConnection = na.createConnection;
 *   http.request({ host: '192.0.2.2', agent, ... });
 *
 * node:http notes: the http.Server never listens itself (our Server does, and hands it
 * each connection), so give our createServer the socket options node:http would apply
 * (noDelay: true is node:http's default); server.close() of the http.Server does not
 * close our listener.  Per request, `createConnection: na.createConnection` works only
 * without an `agent` option: Node ignores createConnection when `agent: false` (it makes
 * a fresh Agent).  http.Agent's keepAlive sets SO_KEEPALIVE with TCP_KEEPIDLE =
 * keepAliveMsecs rounded down to seconds on each connection, as over the host's TCP.
 *
 * The API mirrors node:net: createServer([options][, connectionListener]),
 * createConnection/connect(options | port[, host][, connectListener]), Socket (a Duplex:
 * 'connect', 'ready', 'data', 'end', 'close' (hadError), 'error', 'timeout', 'lookup';
 * write/end/destroy/destroySoon/resetAndDestroy, setNoDelay, setKeepAlive, setTimeout,
 * ref/unref, address(), remoteAddress/remotePort/remoteFamily, localAddress/localPort/
 * localFamily, bytesRead/bytesWritten, connecting/pending/readyState) and Server
 * ('listening', 'connection', 'close', 'error'; listen(port[, host][, backlog][, cb]) or
 * listen({ port, host, backlog }[, cb]), close([cb]), address(), getConnections(cb),
 * maxConnections, listening, ref/unref).  Server options: allowHalfOpen,
 * pauseOnConnect, noDelay, keepAlive, keepAliveInitialDelay (node:net's; noDelay and
 * keepAlive are applied to every accepted socket).  Socket/connect options: host, port,
 * localAddress, localPort, allowHalfOpen, noDelay, keepAlive, keepAliveInitialDelay,
 * timeout.  IPv4 only (AF_INET); a host that is not dotted is looked up with
 * getaddrinfo in the jail (its /etc/hosts), except 'localhost' = 127.0.0.1.
 *
 * Errors are Node's shape: an Error whose `code` is the errno name ('ECONNREFUSED',
 * 'EADDRINUSE', 'ENETUNREACH', 'ECONNRESET', 'EPIPE'...), `errno` its negated value (as
 * libuv's are negative; the numbers are FreeBSD's), `syscall` ('connect', 'listen',
 * 'read', 'write'...) and, for connect/listen, `address` and `port`; the message reads
 * "connect ECONNREFUSED 192.0.2.2:9".  A failed name lookup is code 'ENOTFOUND' (or
 * the EAI_* name), syscall 'getaddrinfo'.
 *
 * Extensions (not in node:net): socket.getsockopt(level, name) and
 * socket.setsockopt(level, name, value) (int options, through the kernel: a promise),
 * vn.ready (the agent is in its jail), vn.shutdown() (close everything, end the agent).
 *
 * DESIGN
 *
 * Userland reaches the kernel only through system calls, so everything here is done by a
 * process in the jail: one "agent" per (kernel, jail), `vnet_net <jail>`, a user process
 * (proc_create) that starts in prison0 and enters the jail with jail_getid +
 * jail_attach, as jexec(8) and `netstat -j` do.  Its one thread serves every socket of
 * that jail with non-blocking sockets (SOCK_NONBLOCK, accept4) and poll(2), so a slow
 * peer never blocks another socket:
 *
 *   loop: run the queued requests (socket/bind/connect/listen/send/shutdown/close/
 *         setsockopt/getsockopt, each a closure over the agent's Libc, FIFO);
 *         poll(2) on the doorbell and every socket with an interest
 *           (listening: POLLIN; connecting: POLLOUT; connected: POLLIN while the
 *           reader wants data and before EOF, POLLOUT while a write is blocked);
 *         accept4 until EAGAIN; finish connects (SO_ERROR); recv until EAGAIN (a
 *         bounded number of 64 KiB reads); send what the kernel takes.
 *
 * The host asks by queueing a request and ringing a doorbell: descriptor 0 of the agent
 * is a console device (dev/cons.ts, installed before the process first runs, as init
 * opens /dev/console), and ringing is cons_input — a host interrupt (k.sched.hostintr)
 * that queues a newline and wakes the poller, and starts the processor if it is idle.
 * At most one ring is outstanding (the agent reads it, then drains the queue).
 *
 * The agent answers through the host: completions and events (connected, data, end,
 * errors, accepted connections, write callbacks) are queued and delivered from the
 * host's macrotask queue (k.clock.defer, i.e. setImmediate), never from inside the
 * kernel thread, so user callbacks (node:http, tests) run outside the kernel and may
 * call back into this API freely; their exceptions are theirs, not a kernel panic.
 *
 * Flow control: a write's callback runs when the kernel has taken all its bytes (the
 * send buffer), so the Duplex's highWaterMark applies end to end (large writes go to
 * send(2) 128 KiB at a time).  Reading: when push() says the reader is full the agent
 * stops polling POLLIN on that socket until _read() asks again, so the receive buffer
 * fills and TCP closes the window; and since the host runs only when the kernel lets
 * the event loop turn, the agent reads at most RCREDIT (256 KiB) ahead of what has been
 * pushed — a paused socket holds at most that plus its highWaterMark.
 *
 * Time: this is for kernels booted with the real clock (boot({ clock: 'real' })): the
 * kernel then runs by itself from Node's event loop (host timers for callouts, host
 * interrupts for requests), as node:http needs.  vnet_net throws on a virtual clock.
 * Socket idle timeouts (setTimeout) use the kernel's clock timers (host timers).
 *
 * Lifetime: an agent runs until vn.shutdown(), which closes its descriptors (each open
 * Socket and Server then closes, without an error) and ends the process; later requests
 * fail with ESRCH, and vnet_net(k, jail) makes a new agent.  If the jail is removed, the
 * kernel kills the agent: this is noticed at the next request, which fails with ESRCH
 * while the jail's sockets close (their connections were reset by the removal).
 * Sockets hold no Node handles, so ref/unref do nothing; the kernel's own host timers
 * (TCP and ARP callouts) keep Node's event loop alive while they are armed — a program
 * that is done shuts the agents down, lets the kernel finish what the closes started
 * (until nothing is runnable) and then calls k.clock.shutdown().
 *
 * XXX: IPv4 stream sockets only (no IPv6, no local-domain paths, no UDP/dgram), no
 * 'drop' event, no blockList/signal options, no server.listen(handle).  A request
 * queued just before the jail's removal killed the agent is never answered.
 */

import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { Kernel } from '../kern/kernel.js';
import { Libc, type PollFd } from './libc.js';
import { Cons, cons_file, cons_input } from '../dev/cons.js';
import { jail_attach, jail_getid } from './libjail.js';
import { ResolveError, resolve, vaddr_decode, vaddr_encode } from './vsocket.js';
import { EAI_NONAME } from './netdb.js';
import {
  EAFNOSUPPORT,
  EAGAIN,
  ECONNABORTED,
  EINPROGRESS,
  EINTR,
  EINVAL,
  ENOTCONN,
  ESRCH,
  errname,
} from '../sys/errno.js';
import {
  AF_INET,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  SHUT_WR,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_REUSEADDR,
} from '../sys/socket.js';
import { IPPROTO_TCP } from '../netinet/in.js';
import { TCP_KEEPIDLE, TCP_NODELAY } from '../netinet/tcp_var.js';
import { PRS_NORMAL, P_WEXIT, type Proc } from '../sys/proc.js';

/* ---------------------------------------------------------------------------------- */
/* Errors                                                                               */

/** A Node-style system error: code (errno name), errno (negated), syscall, address, port. */
export interface VnetNetError extends Error {
  code: string;
  errno?: number;
  syscall: string;
  address?: string;
  port?: number;
  hostname?: string;
}

/** Node's errnoException / exceptionWithHostPort for a kernel errno. */
export function vnet_errno_error(
  errno: number,
  syscall: string,
  address?: string,
  port?: number,
): VnetNetError {
  const code = errname(errno);
  let details = '';
  if (address !== undefined) details = port !== undefined ? ` ${address}:${port}` : ` ${address}`;
  const e = new Error(`${syscall} ${code}${details}`) as VnetNetError;
  e.errno = -errno;
  e.code = code;
  e.syscall = syscall;
  if (address !== undefined) e.address = address;
  if (port !== undefined) e.port = port;
  return e;
}

function lookup_error(r: ResolveError): VnetNetError {
  const code = r.eai === EAI_NONAME ? 'ENOTFOUND' : r.code;
  const e = new Error(`getaddrinfo ${code} ${r.host}`) as VnetNetError;
  e.code = code;
  e.syscall = 'getaddrinfo';
  e.hostname = r.host;
  return e;
}

function socket_closed_error(): VnetNetError {
  const e = new Error('Socket is closed') as VnetNetError;
  e.code = 'ERR_SOCKET_CLOSED';
  e.syscall = 'write';
  return e;
}

/* ---------------------------------------------------------------------------------- */
/* The agent: one process per (kernel, jail), one thread serving every socket.         */

/** A request for the agent: run() in its thread, or abort() if it will never run. */
interface Op {
  run(c: Libc): Promise<void> | void;
  abort(e: Error): void;
}

/** Host-side receivers of a kernel socket's events (a Socket or a Server). */
interface SockHost {
  ks_connected?(local: InetAddr, remote: InetAddr): void;
  ks_data?(b: Buffer): void;
  ks_end?(): void;
  ks_error(e: Error): void;
  /** The agent is gone (vn.shutdown()): the descriptor is closed. */
  ks_gone(): void;
  ks_accept?(ks: KSock, local: InetAddr, remote: InetAddr): void;
}

interface InetAddr {
  address: string;
  port: number;
}

interface WriteReq {
  b: Uint8Array;
  off: number;
  cb: (e?: Error | null) => void;
}

/** One kernel socket as the agent sees it (shared with its host object). */
class KSock {
  fd = -1;
  listening = false;
  connecting = false;
  connected = false;
  /** The reader wants data (false after push() returned false, until _read). */
  wantRead = true;
  /** Bytes read and queued for the host but not yet pushed (read-ahead credit). */
  inflight = 0;
  /** End of file was read. */
  eof = false;
  /** Closed, failed or given up: no more polling. */
  dead = false;
  /** The accept queue is being served (a listener). */
  accepting = true;
  readonly wq: WriteReq[] = [];
  /** shutdown(SHUT_WR) requested: done when wq is empty. */
  shut: (() => void) | null = null;
  /** For connect errors. */
  peer: InetAddr | null = null;
  /** Options as last set (applied when the socket exists). */
  nodelay = false;
  keepalive = false;
  keepidle = 0;
  host: SockHost | null = null;

  /** The poll(2) events this socket waits for now (0: leave it out). */
  events(): number {
    if (this.dead || this.fd < 0) return 0;
    if (this.listening) return this.accepting ? POLLIN : 0;
    if (this.connecting) return POLLOUT;
    if (!this.connected) return 0;
    let ev = 0;
    if (this.wantRead && !this.eof && this.inflight < RCREDIT) ev |= POLLIN;
    if (this.wq.length > 0) ev |= POLLOUT;
    return ev;
  }
}

const NL = new Uint8Array([0x0a]);
/** Bytes per recv(2). */
const RBUF = 65536;
/** recv(2) calls per socket per wakeup (then poll again: other sockets get a turn). */
const RBUDGET = 8;
/**
 * Bytes a socket may have read ahead of the host (queued for delivery, not yet pushed):
 * the host runs only when the kernel lets the event loop turn, so without a bound a
 * busy kernel would read everything before push() could say "enough".
 */
const RCREDIT = 4 * RBUF;
/**
 * Bytes per send(2): libc copies the whole buffer into user memory for each call, and a
 * non-blocking send takes only what fits, so a large write goes in pieces.
 */
const SEND_MAX = 1 << 17;

function int_of(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true);
}

function inet_of(b: Uint8Array, len: number): InetAddr | null {
  const a = vaddr_decode(b, Math.min(len, b.length));
  return a !== null && a.family === 'inet' ? { address: a.address, port: a.port } : null;
}

class Agent {
  private readonly ops: Op[] = [];
  private bell = false;
  private readonly cn: Cons;
  private readonly proc: Proc;
  private readonly socks = new Set<KSock>();
  private hostq: (() => void)[] = [];
  private hostq_armed = false;
  private stopping = false;
  /** Why requests cannot run (jail_attach failed, agent gone), or null. */
  private dead: Error | null = null;
  private stopped: (() => void)[] = [];
  readonly ready: Promise<void>;
  private ready_cb: { ok: () => void; fail: (e: Error) => void } | null = null;

  constructor(
    readonly k: Kernel,
    readonly jail: string,
  ) {
    this.ready = new Promise<void>((ok, fail) => {
      this.ready_cb = { ok, fail };
    });
    // Nobody has to wait on ready for errors to be reported elsewhere.
    this.ready.catch(() => {});
    this.cn = new Cons(k, () => {});
    this.proc = k.proc_create(`vnet_net ${jail}`, { cr_uid: 0, cr_prison: k.prison0 }, async (td) =>
      this.main(new Libc(k, td)),
    );
    // Descriptor 0: the doorbell (the console device, host interrupt on the far side).
    this.proc.p_fd!.install(cons_file(this.cn));
    k.sched.kick();
  }

  /** Queue a request for the agent thread and ring. */
  submit(op: Op): void {
    this.check_alive();
    if (this.dead !== null || this.stopping) {
      const e = this.dead ?? vnet_errno_error(ESRCH, 'vnet_net');
      this.host(() => op.abort(e));
      return;
    }
    this.ops.push(op);
    this.ring();
  }

  /**
   * The agent process was killed (its jail removed): its descriptors are closed, so its
   * sockets are gone — they close (without an error) and later requests fail, ESRCH.
   */
  private check_alive(): void {
    const p = this.proc;
    if (this.dead !== null || (p.p_state === PRS_NORMAL && !p.p_exited && !(p.p_flag & P_WEXIT)))
      return;
    const e = vnet_errno_error(ESRCH, 'vnet_net');
    this.dead = e;
    for (const op of this.ops.splice(0)) this.host(() => op.abort(e));
    for (const s of this.socks) {
      s.dead = true;
      s.fd = -1;
      this.host(() => s.host?.ks_gone());
    }
    this.socks.clear();
  }

  /** Ask the agent to look at its sockets' interests again. */
  ring(): void {
    if (this.bell || this.dead !== null) return;
    this.bell = true;
    cons_input(this.cn, NL);
  }

  /** Run fn on the host, outside the kernel (the host's macrotask queue). */
  host(fn: () => void): void {
    this.hostq.push(fn);
    if (this.hostq_armed) return;
    this.hostq_armed = true;
    this.k.clock.defer(() => this.flush());
  }

  private flush(): void {
    this.hostq_armed = false;
    const q = this.hostq;
    this.hostq = [];
    for (let i = 0; i < q.length; i++) {
      try {
        q[i]!();
      } catch (e) {
        // A user callback threw: keep the rest for the next turn, then let it propagate.
        const rest = q.slice(i + 1);
        if (rest.length > 0) {
          this.hostq = rest.concat(this.hostq);
          if (!this.hostq_armed) {
            this.hostq_armed = true;
            this.k.clock.defer(() => this.flush());
          }
        }
        throw e;
      }
    }
  }

  /** vn.shutdown(): close every socket and end the agent. */
  stop(): Promise<void> {
    return new Promise<void>((res) => {
      this.check_alive();
      if (this.dead !== null) {
        res();
        return;
      }
      this.stopped.push(res);
      if (this.stopping) return;
      this.ops.push({
        run: () => {
          this.stopping = true;
        },
        abort: () => res(),
      });
      this.ring();
    });
  }

  /* ------------------------------------------------------------------------------ */
  /* The agent thread.                                                                */

  private async main(c: Libc): Promise<number> {
    if (this.jail !== '0' && this.jail !== '') {
      const jid = await jail_getid(c, this.jail);
      if (jid < 0 || (await jail_attach(c, jid)) < 0) {
        const e = vnet_errno_error(c.errno || EINVAL, 'jail_attach', this.jail);
        e.message = `vnet_net: no jail ${this.jail} (${e.message})`;
        this.dead = e;
        this.ready_cb!.fail(e);
        for (const op of this.ops.splice(0)) this.host(() => op.abort(e));
        for (const r of this.stopped.splice(0)) this.host(r);
        return 1;
      }
    }
    this.host(() => this.ready_cb!.ok());
    const bellbuf = new Uint8Array(16);
    for (;;) {
      while (this.ops.length > 0 && !this.stopping) {
        const op = this.ops.shift()!;
        try {
          await op.run(c);
        } catch (e) {
          const err = e instanceof Error ? e : new Error(String(e));
          this.host(() => op.abort(err));
        }
      }
      if (this.stopping) break;
      const fds: PollFd[] = [{ fd: 0, events: POLLIN, revents: 0 }];
      const who: KSock[] = [];
      for (const s of this.socks) {
        const ev = s.events();
        if (ev === 0) continue;
        fds.push({ fd: s.fd, events: ev, revents: 0 });
        who.push(s);
      }
      if ((await c.poll(fds, -1)) < 0) {
        if (c.errno === EINTR) break;
        continue;
      }
      if (fds[0]!.revents & POLLIN) {
        await c.read(0, bellbuf);
        this.bell = false;
      }
      for (let i = 0; i < who.length; i++) {
        const rev = fds[i + 1]!.revents;
        const s = who[i]!;
        if (rev === 0 || s.dead || !this.socks.has(s)) continue;
        await this.service(c, s, rev);
      }
    }
    // Shut down: every socket closes (the kernel finishes what it can, as at exit).
    const e = vnet_errno_error(ESRCH, 'vnet_net');
    this.dead = e;
    for (const op of this.ops.splice(0)) this.host(() => op.abort(e));
    for (const s of this.socks) {
      s.dead = true;
      if (s.fd >= 0) await c.close(s.fd);
      s.fd = -1;
      this.host(() => s.host?.ks_gone());
    }
    this.socks.clear();
    for (const r of this.stopped.splice(0)) this.host(r);
    return 0;
  }

  private async service(c: Libc, s: KSock, rev: number): Promise<void> {
    if (rev & POLLNVAL) {
      s.dead = true;
      return;
    }
    if (s.listening) return this.accept_all(c, s);
    if (s.connecting) return this.finish_connect(c, s);
    if (rev & (POLLIN | POLLHUP | POLLERR) && s.wantRead && !s.eof) await this.read_some(c, s);
    if (!s.dead && s.wq.length > 0 && rev & (POLLOUT | POLLHUP | POLLERR))
      await this.flush_writes(c, s);
  }

  private async accept_all(c: Libc, l: KSock): Promise<void> {
    const sa = new Uint8Array(128);
    for (;;) {
      const len: [number] = [sa.length];
      const fd = await c.accept4(l.fd, sa, len, SOCK_NONBLOCK);
      if (fd < 0) {
        const e = c.errno;
        if (e === EAGAIN) return;
        if (e === ECONNABORTED || e === EINTR) continue;
        // EMFILE and the like: stop polling the listener until a descriptor closes
        // (then it is tried again), rather than spin; node:net does not report these.
        l.accepting = false;
        return;
      }
      const remote = inet_of(sa, len[0]) ?? { address: '0.0.0.0', port: 0 };
      const local = (await this.getname(c, fd, false)) ?? { address: '0.0.0.0', port: 0 };
      const ks = new KSock();
      ks.fd = fd;
      ks.connected = true;
      // The server's options for accepted sockets (its own record carries them).
      ks.nodelay = l.nodelay;
      ks.keepalive = l.keepalive;
      ks.keepidle = l.keepidle;
      ks.wantRead = l.wantRead; /* false: pauseOnConnect */
      await this.apply_opts(c, ks);
      this.socks.add(ks);
      this.host(() => l.host?.ks_accept?.(ks, local, remote));
    }
  }

  private async finish_connect(c: Libc, s: KSock): Promise<void> {
    const e = await c.getsockopt_int(s.fd, SOL_SOCKET, SO_ERROR);
    const err = e === null ? c.errno : e;
    if (err !== 0) {
      s.connecting = false;
      await this.fail(c, s, vnet_errno_error(err, 'connect', s.peer?.address, s.peer?.port));
      return;
    }
    await this.connected(c, s);
  }

  /** A connect finished: the addresses, the options, the host told. */
  private async connected(c: Libc, s: KSock): Promise<void> {
    s.connecting = false;
    s.connected = true;
    const local = (await this.getname(c, s.fd, false)) ?? { address: '0.0.0.0', port: 0 };
    const remote = (await this.getname(c, s.fd, true)) ?? s.peer ?? { address: '', port: 0 };
    await this.apply_opts(c, s);
    this.host(() => s.host?.ks_connected?.(local, remote));
  }

  private async getname(c: Libc, fd: number, peer: boolean): Promise<InetAddr | null> {
    const b = new Uint8Array(128);
    const len: [number] = [b.length];
    const r = peer ? await c.getpeername(fd, b, len) : await c.getsockname(fd, b, len);
    return r < 0 ? null : inet_of(b, len[0]);
  }

  async apply_opts(c: Libc, s: KSock): Promise<void> {
    if (s.fd < 0 || s.listening) return;
    if (s.nodelay) await c.setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, 1);
    if (s.keepalive) {
      await c.setsockopt(s.fd, SOL_SOCKET, SO_KEEPALIVE, 1);
      if (s.keepidle >= 1) await c.setsockopt(s.fd, IPPROTO_TCP, TCP_KEEPIDLE, s.keepidle);
    }
  }

  /** A socket failed: close it and tell the host. */
  private async fail(c: Libc, s: KSock, err: Error): Promise<void> {
    s.dead = true;
    this.socks.delete(s);
    if (s.fd >= 0) await c.close(s.fd);
    s.fd = -1;
    this.host(() => s.host?.ks_error(err));
  }

  private async read_some(c: Libc, s: KSock): Promise<void> {
    for (let i = 0; i < RBUDGET && s.wantRead && s.inflight < RCREDIT; i++) {
      const n = await c.recv(s.fd, this.rbuf, RBUF);
      if (n < 0) {
        const e = c.errno;
        if (e === EAGAIN) return;
        s.dead = true;
        const err = vnet_errno_error(e, 'read');
        this.host(() => s.host?.ks_error(err));
        return;
      }
      if (n === 0) {
        s.eof = true;
        this.host(() => s.host?.ks_end?.());
        return;
      }
      const b = Buffer.from(this.rbuf.slice(0, n).buffer, 0, n);
      s.inflight += n;
      this.host(() => {
        const was = s.inflight;
        s.inflight -= n;
        s.host?.ks_data?.(b);
        // The agent stopped reading for want of credit: it may go on.
        if (was >= RCREDIT && s.inflight < RCREDIT && s.wantRead && !s.eof) this.ring();
      });
      if (n < RBUF) return;
    }
  }
  private readonly rbuf = new Uint8Array(RBUF);

  /** Send what the kernel takes; a write's callback runs when all its bytes are in. */
  async flush_writes(c: Libc, s: KSock): Promise<void> {
    while (s.wq.length > 0 && !s.dead) {
      const w = s.wq[0]!;
      const end = Math.min(w.b.length, w.off + SEND_MAX);
      const n = await c.send(
        s.fd,
        w.off === 0 && end === w.b.length ? w.b : w.b.subarray(w.off, end),
      );
      if (n < 0) {
        const e = c.errno;
        if (e === EAGAIN) return;
        s.dead = true;
        const err = vnet_errno_error(e, 'write');
        for (const x of s.wq.splice(0)) this.host(() => x.cb(err));
        return;
      }
      w.off += n;
      if (w.off >= w.b.length) {
        s.wq.shift();
        this.host(() => w.cb(null));
      }
    }
    if (s.wq.length === 0 && s.shut !== null && !s.dead) {
      const done = s.shut;
      s.shut = null;
      await c.shutdown(s.fd, SHUT_WR); /* ENOTCONN after a reset: nothing to do */
      this.host(done);
    }
  }

  /* ------------------------------------------------------------------------------ */
  /* Requests (each runs in the agent thread).                                        */

  /** Resolve host (dotted, 'localhost', or a name in the jail's /etc/hosts). */
  async lookup(c: Libc, host: string): Promise<string> {
    if (host === 'localhost') return '127.0.0.1';
    if (isIPv4(host)) return host;
    if (isIPv6(host)) throw vnet_errno_error(EAFNOSUPPORT, 'connect', host);
    try {
      return (await resolve(c, host, 0)).address;
    } catch (e) {
      if (e instanceof ResolveError) throw lookup_error(e);
      throw e;
    }
  }

  /** socket(2) + bind(2) to local (when given); the new descriptor in s.fd. */
  async open(c: Libc, s: KSock, syscall: string, local: InetAddr | null): Promise<void> {
    const fd = await c.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) throw vnet_errno_error(c.errno, 'socket');
    s.fd = fd;
    this.socks.add(s);
    if (local === null) return;
    if (s.listening && (await c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1)) < 0)
      throw vnet_errno_error(c.errno, 'setsockopt');
    const sa = vaddr_encode({ family: 'inet', address: local.address, port: local.port });
    if ((await c.bind(fd, sa)) < 0)
      throw vnet_errno_error(c.errno, syscall, local.address, local.port);
  }

  /** Undo open() after a failure. */
  async discard(c: Libc, s: KSock): Promise<void> {
    s.dead = true;
    this.socks.delete(s);
    if (s.fd >= 0) await c.close(s.fd);
    s.fd = -1;
  }

  connect(
    s: KSock,
    host: string,
    port: number,
    local: { address?: string; port?: number },
    onlookup: (addr: string) => void,
  ): void {
    this.submit({
      run: async (c) => {
        if (s.dead) return;
        try {
          const addr = await this.lookup(c, host);
          if (addr !== host) this.host(() => onlookup(addr));
          s.peer = { address: addr, port };
          const la =
            local.address !== undefined || local.port !== undefined
              ? { address: await this.lookup(c, local.address ?? '0.0.0.0'), port: local.port ?? 0 }
              : null;
          await this.open(c, s, 'bind', la);
          const sa = vaddr_encode({ family: 'inet', address: addr, port });
          if ((await c.connect(s.fd, sa)) === 0) {
            await this.connected(c, s);
            return;
          }
          if (c.errno !== EINPROGRESS) throw vnet_errno_error(c.errno, 'connect', addr, port);
          s.connecting = true;
        } catch (e) {
          await this.discard(c, s);
          throw e;
        }
      },
      abort: (e) => s.host?.ks_error(e),
    });
  }

  listen(s: KSock, host: string, port: number, backlog: number, done: (a: InetAddr) => void): void {
    this.submit({
      run: async (c) => {
        try {
          const addr = await this.lookup(c, host);
          s.listening = true;
          await this.open(c, s, 'listen', { address: addr, port });
          if ((await c.listen(s.fd, backlog)) < 0)
            throw vnet_errno_error(c.errno, 'listen', addr, port);
          const a = (await this.getname(c, s.fd, false)) ?? { address: addr, port };
          this.host(() => done(a));
        } catch (e) {
          await this.discard(c, s);
          throw e;
        }
      },
      abort: (e) => s.host?.ks_error(e),
    });
  }

  write(s: KSock, b: Uint8Array, cb: (e?: Error | null) => void): void {
    this.submit({
      run: async (c) => {
        if (s.dead || s.fd < 0) {
          this.host(() => cb(socket_closed_error()));
          return;
        }
        s.wq.push({ b, off: 0, cb });
        if (s.wq.length === 1) await this.flush_writes(c, s);
      },
      abort: (e) => cb(e),
    });
  }

  shutdown(s: KSock, cb: () => void): void {
    this.submit({
      run: async (c) => {
        if (s.dead || s.fd < 0) {
          this.host(cb);
          return;
        }
        s.shut = cb;
        if (s.wq.length === 0) await this.flush_writes(c, s);
      },
      abort: () => cb(),
    });
  }

  /** close(2); with reset, SO_LINGER 0 first (an RST, not a FIN). */
  close(s: KSock, reset: boolean, cb: () => void): void {
    this.submit({
      run: async (c) => {
        s.dead = true;
        this.socks.delete(s);
        const fd = s.fd;
        s.fd = -1;
        const cbs = s.wq.splice(0);
        for (const o of this.socks) if (o.listening) o.accepting = true;
        if (fd >= 0) {
          if (reset) {
            const l = new Uint8Array(8);
            new DataView(l.buffer).setInt32(0, 1, true);
            await c.setsockopt(fd, SOL_SOCKET, SO_LINGER, l);
          }
          await c.close(fd);
        }
        this.host(() => {
          for (const w of cbs) w.cb(socket_closed_error());
          cb();
        });
      },
      abort: () => cb(),
    });
  }

  /** setsockopt(2) with an int (no-op before the socket exists). */
  setopt(s: KSock, level: number, name: number, v: number): void {
    this.submit({
      run: async (c) => {
        if (s.fd >= 0 && !s.dead && !s.connecting) await c.setsockopt(s.fd, level, name, v);
      },
      abort: () => {},
    });
  }

  getsockopt(s: KSock, level: number, name: number): Promise<number> {
    return new Promise<number>((res, rej) => {
      this.submit({
        run: async (c) => {
          if (s.fd < 0) throw vnet_errno_error(s.dead ? EINVAL : ENOTCONN, 'getsockopt');
          const b = new Uint8Array(4);
          if ((await c.getsockopt(s.fd, level, name, b)) < 0)
            throw vnet_errno_error(c.errno, 'getsockopt');
          this.host(() => res(int_of(b)));
        },
        abort: rej,
      });
    });
  }

  setsockopt(s: KSock, level: number, name: number, v: number): Promise<void> {
    return new Promise<void>((res, rej) => {
      this.submit({
        run: async (c) => {
          if (s.fd < 0) throw vnet_errno_error(s.dead ? EINVAL : ENOTCONN, 'setsockopt');
          if ((await c.setsockopt(s.fd, level, name, v)) < 0)
            throw vnet_errno_error(c.errno, 'setsockopt');
          this.host(() => res());
        },
        abort: rej,
      });
    });
  }

  /** The reader wants data again (or a listener resumes accepting). */
  want(s: KSock): void {
    if (s.wantRead) return;
    s.wantRead = true;
    this.ring();
  }
}

/* ---------------------------------------------------------------------------------- */
/* Socket                                                                               */

export interface VnetSocketOptions {
  allowHalfOpen?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  timeout?: number;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
}

export interface VnetConnectOptions extends VnetSocketOptions {
  port?: number | string;
  host?: string;
  localAddress?: string;
  localPort?: number;
  [key: string]: unknown;
}

export type ConnectListener = () => void;

function port_of(p: unknown): number {
  const n = typeof p === 'string' && p.trim() !== '' ? Number(p) : p;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
    const e = new RangeError(`Port should be >= 0 and < 65536. Received ${String(p)}.`);
    (e as RangeError & { code: string }).code = 'ERR_SOCKET_BAD_PORT';
    throw e;
  }
  return n;
}

/** node:net's normalizeArgs for connect: [options, callback]. */
function connect_args(args: unknown[]): [VnetConnectOptions, ConnectListener | null] {
  let opts: VnetConnectOptions;
  let i = 1;
  const a0 = args[0];
  if (a0 !== null && typeof a0 === 'object') opts = { ...(a0 as VnetConnectOptions) };
  else {
    opts = { port: a0 as number | string };
    if (typeof args[1] === 'string') {
      opts.host = args[1];
      i = 2;
    }
  }
  const cb = args.slice(i).find((x) => typeof x === 'function') as ConnectListener | undefined;
  return [opts, cb ?? null];
}

/** A TCP connection in a vnet, as a node:net Socket (a Duplex). */
export class VnetSocket extends Duplex implements SockHost {
  connecting = false;
  remoteAddress: string | undefined = undefined;
  remotePort: number | undefined = undefined;
  remoteFamily: string | undefined = undefined;
  localAddress: string | undefined = undefined;
  localPort: number | undefined = undefined;
  localFamily: string | undefined = undefined;
  bytesRead = 0;
  /** Bytes handed to write() so far. */
  private _dispatched = 0;
  /** The idle timeout (ms) set by setTimeout, undefined when never set. */
  timeout: number | undefined = undefined;
  /** The server that accepted this connection. */
  server: VnetServer | null = null;
  private ks: KSock | null = null;
  /** A write or end waiting for the connection. */
  private deferred: (() => void) | null = null;
  private tmr: ReturnType<Kernel['clock']['timer']> = null;
  private lastActive = 0;
  private hadError = false;
  /** resetAndDestroy(): close with an RST. */
  private resetOnClose = false;

  constructor(
    private readonly agent: Agent,
    opts: VnetSocketOptions = {},
  ) {
    super({
      allowHalfOpen: opts.allowHalfOpen ?? false,
      emitClose: false,
      autoDestroy: true,
      decodeStrings: true,
      ...(opts.readableHighWaterMark !== undefined
        ? { readableHighWaterMark: opts.readableHighWaterMark }
        : {}),
      ...(opts.writableHighWaterMark !== undefined
        ? { writableHighWaterMark: opts.writableHighWaterMark }
        : {}),
    });
    this.nodelay0 = opts.noDelay ?? false;
    this.keepalive0 = opts.keepAlive ?? false;
    this.keepidle0 = Math.floor((opts.keepAliveInitialDelay ?? 0) / 1000);
    if (opts.timeout) this.setTimeout(opts.timeout);
  }
  private nodelay0: boolean;
  private keepalive0: boolean;
  private keepidle0: number;

  /** Bind an accepted kernel socket (server side). */
  _attach(ks: KSock, local: InetAddr, remote: InetAddr): void {
    this.ks = ks;
    ks.host = this;
    this.nodelay0 = ks.nodelay;
    this.keepalive0 = ks.keepalive;
    this.keepidle0 = ks.keepidle;
    this.set_addrs(local, remote);
  }

  private set_addrs(local: InetAddr, remote: InetAddr): void {
    this.localAddress = local.address;
    this.localPort = local.port;
    this.localFamily = 'IPv4';
    this.remoteAddress = remote.address;
    this.remotePort = remote.port;
    this.remoteFamily = 'IPv4';
  }

  /** node:net's socket.pending: not connected yet. */
  get pending(): boolean {
    return this.ks === null || !this.ks.connected || this.connecting;
  }

  get readyState(): string {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable && !this.writable) return 'readOnly';
    if (!this.readable && this.writable) return 'writeOnly';
    return 'closed';
  }

  get bytesWritten(): number {
    return this._dispatched;
  }

  /** Deprecated in node:net, still read by some code. */
  get bufferSize(): number {
    return this.writableLength;
  }

  connect(options: VnetConnectOptions, connectListener?: ConnectListener): this;
  connect(port: number | string, host?: string, connectListener?: ConnectListener): this;
  connect(port: number | string, connectListener?: ConnectListener): this;
  connect(...args: unknown[]): this {
    const [opts, cb] = connect_args(args);
    if (this.ks !== null || this.destroyed) {
      const e = new Error('Socket is already connected or destroyed') as VnetNetError;
      e.code = 'ERR_SOCKET_CONNECTING';
      throw e;
    }
    const port = port_of(opts.port);
    const host = opts.host ?? 'localhost';
    if (cb !== null) this.once('connect', cb);
    if (opts.noDelay !== undefined) this.nodelay0 = opts.noDelay;
    if (opts.keepAlive !== undefined) this.keepalive0 = opts.keepAlive;
    if (opts.keepAliveInitialDelay !== undefined)
      this.keepidle0 = Math.floor(opts.keepAliveInitialDelay / 1000);
    const ks = new KSock();
    ks.host = this;
    ks.nodelay = this.nodelay0;
    ks.keepalive = this.keepalive0;
    ks.keepidle = this.keepidle0;
    this.ks = ks;
    this.connecting = true;
    const local: { address?: string; port?: number } = {};
    if (opts.localAddress !== undefined) local.address = opts.localAddress;
    if (opts.localPort !== undefined) local.port = port_of(opts.localPort);
    this.agent.connect(ks, host, port, local, (addr) => {
      this.emit('lookup', null, addr, 4, host);
    });
    return this;
  }

  /* SockHost: what the agent reports (on the host, in order). */

  ks_connected(local: InetAddr, remote: InetAddr): void {
    if (this.destroyed) return;
    this.connecting = false;
    this.set_addrs(local, remote);
    this.activity();
    const p = this.deferred;
    this.deferred = null;
    this.emit('connect');
    this.emit('ready');
    if (p !== null) p();
  }

  ks_data(b: Buffer): void {
    if (this.destroyed) return;
    this.bytesRead += b.length;
    this.activity();
    if (!this.push(b) && this.ks !== null) this.ks.wantRead = false;
  }

  ks_end(): void {
    if (this.destroyed) return;
    this.push(null);
  }

  ks_error(e: Error): void {
    this.connecting = false;
    if (this.ks !== null) this.ks.dead = true;
    this.destroy(e);
  }

  ks_gone(): void {
    this.connecting = false;
    this.destroy();
  }

  /* Duplex. */

  override _read(_size: number): void {
    if (this.ks !== null && this.ks.connected) this.agent.want(this.ks);
    else if (this.ks !== null) this.ks.wantRead = true;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.connecting || this.ks === null) {
      if (this.ks === null && !this.connecting) {
        cb(vnet_errno_error(ENOTCONN, 'write'));
        return;
      }
      this.deferred = () => this._write(chunk, _enc, cb);
      return;
    }
    this._dispatched += chunk.length;
    this.activity();
    this.agent.write(this.ks, chunk, (e) => {
      if (e) {
        cb(e);
        return;
      }
      this.activity();
      if (this.destroyed) cb(socket_closed_error());
      else cb();
    });
  }

  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    cb: (e?: Error | null) => void,
  ): void {
    const b = chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this._write(b, 'binary', cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (this.connecting) {
      this.deferred = () => this._final(cb);
      return;
    }
    if (this.ks === null) {
      cb();
      return;
    }
    this.agent.shutdown(this.ks, () => cb());
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.clear_timer();
    this.connecting = false;
    this.hadError = err !== null;
    const ks = this.ks;
    const reset = this.resetOnClose;
    const closed = (): void => {
      this.emit('close', this.hadError);
    };
    cb(err);
    if (ks === null) {
      process.nextTick(closed);
      return;
    }
    this.agent.close(ks, reset, closed);
  }

  /* node:net's extras. */

  /** destroySoon(): end, and destroy once everything is written. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** resetAndDestroy(): close with an RST (SO_LINGER 0). */
  resetAndDestroy(): this {
    this.resetOnClose = true;
    this.destroy();
    return this;
  }

  address(): { address: string; family: string; port: number } | Record<string, never> {
    if (this.localAddress === undefined || this.localPort === undefined) return {};
    return { address: this.localAddress, family: 'IPv4', port: this.localPort };
  }

  /** TCP_NODELAY (default true, as node:net). */
  setNoDelay(noDelay?: boolean): this {
    const v = noDelay === undefined ? true : Boolean(noDelay);
    if (this.ks === null || !this.ks.connected) {
      this.nodelay0 = v;
      if (this.ks !== null) this.ks.nodelay = v;
      return this;
    }
    if (v !== this.ks.nodelay) {
      this.ks.nodelay = v;
      this.agent.setopt(this.ks, IPPROTO_TCP, TCP_NODELAY, v ? 1 : 0);
    }
    return this;
  }

  /** SO_KEEPALIVE, and TCP_KEEPIDLE = initialDelay (ms, rounded down to s) when >= 1 s. */
  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    const on = Boolean(enable);
    const idle = Math.floor((initialDelay ?? 0) / 1000);
    if (this.ks === null || !this.ks.connected) {
      this.keepalive0 = on;
      this.keepidle0 = idle;
      if (this.ks !== null) {
        this.ks.keepalive = on;
        this.ks.keepidle = idle;
      }
      return this;
    }
    const ks = this.ks;
    if (on !== ks.keepalive || (on && idle !== ks.keepidle)) {
      if (on !== ks.keepalive) this.agent.setopt(ks, SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0);
      if (on && idle >= 1 && idle !== ks.keepidle)
        this.agent.setopt(ks, IPPROTO_TCP, TCP_KEEPIDLE, idle);
      ks.keepalive = on;
      ks.keepidle = idle;
    }
    return this;
  }

  /** Emit 'timeout' after ms of inactivity (0 disables). */
  setTimeout(ms: number, cb?: () => void): this {
    this.timeout = ms;
    if (cb !== undefined) {
      if (ms === 0) this.removeListener('timeout', cb);
      else this.once('timeout', cb);
    }
    this.clear_timer();
    if (ms > 0 && !this.destroyed) {
      this.lastActive = this.agent.k.clock.now();
      this.arm_timer(ms);
    }
    return this;
  }

  /** node:net refreshes the idle timer through this (node:http calls it too). */
  _unrefTimer(): void {
    this.activity();
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** Extension: getsockopt(2) of an int option, through the kernel. */
  getsockopt(level: number, name: number): Promise<number> {
    if (this.ks === null) return Promise.reject(vnet_errno_error(ENOTCONN, 'getsockopt'));
    return this.agent.getsockopt(this.ks, level, name);
  }

  /** Extension: setsockopt(2) of an int option, through the kernel. */
  setsockopt(level: number, name: number, value: number): Promise<void> {
    if (this.ks === null) return Promise.reject(vnet_errno_error(ENOTCONN, 'setsockopt'));
    return this.agent.setsockopt(this.ks, level, name, value);
  }

  private activity(): void {
    if (!this.timeout) return;
    this.lastActive = this.agent.k.clock.now();
    if (this.tmr === null && !this.destroyed) this.arm_timer(this.timeout);
  }

  private arm_timer(ms: number): void {
    const clock = this.agent.k.clock;
    this.tmr = clock.timer(this.lastActive + ms * 1e6, () => {
      this.tmr = null;
      const t = this.timeout ?? 0;
      if (t <= 0 || this.destroyed) return;
      const idle = clock.now() - this.lastActive;
      if (idle >= t * 1e6) this.emit('timeout');
      else this.arm_timer(t);
    });
  }

  private clear_timer(): void {
    if (this.tmr !== null) this.agent.k.clock.cancel(this.tmr);
    this.tmr = null;
  }
}

/* ---------------------------------------------------------------------------------- */
/* Server                                                                               */

export interface VnetServerOptions {
  allowHalfOpen?: boolean;
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

export interface VnetListenOptions {
  port?: number | string;
  host?: string;
  backlog?: number;
}

export type ConnectionListener = (socket: VnetSocket) => void;

/** A TCP listener in a vnet, as a node:net Server. */
export class VnetServer extends EventEmitter implements SockHost {
  listening = false;
  maxConnections: number | undefined = undefined;
  private ks: KSock | null = null;
  private addr: { address: string; family: string; port: number } | null = null;
  private conns = new Set<VnetSocket>();
  private closing = false;
  private closeWaiters: ((e?: Error) => void)[] = [];
  private readonly opts: VnetServerOptions;

  constructor(
    private readonly agent: Agent,
    opts: VnetServerOptions = {},
    listener?: ConnectionListener,
  ) {
    super();
    this.opts = opts;
    if (listener !== undefined) this.on('connection', listener);
  }

  listen(port?: number | string, host?: string, backlog?: number, cb?: () => void): this;
  listen(port?: number | string, host?: string, cb?: () => void): this;
  listen(port?: number | string, cb?: () => void): this;
  listen(options: VnetListenOptions, cb?: () => void): this;
  listen(cb?: () => void): this;
  listen(...args: unknown[]): this {
    let o: VnetListenOptions = {};
    const rest: unknown[] = [];
    const a0 = args[0];
    if (a0 !== null && typeof a0 === 'object') {
      o = { ...(a0 as VnetListenOptions) };
      rest.push(...args.slice(1));
    } else {
      let i = 0;
      if (typeof a0 === 'number' || typeof a0 === 'string') {
        o.port = a0;
        i = 1;
        if (typeof args[1] === 'string') {
          o.host = args[1];
          i = 2;
          if (typeof args[2] === 'number') {
            o.backlog = args[2];
            i = 3;
          }
        } else if (typeof args[1] === 'number') {
          o.backlog = args[1];
          i = 2;
        }
      }
      rest.push(...args.slice(i));
    }
    const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined;
    if (this.listening || this.ks !== null) {
      const e = new Error('Listen method has been called more than once without closing.');
      (e as VnetNetError).code = 'ERR_SERVER_ALREADY_LISTEN';
      throw e;
    }
    const port = port_of(o.port ?? 0);
    if (cb !== undefined) this.once('listening', cb);
    const ks = new KSock();
    ks.host = this;
    ks.nodelay = this.opts.noDelay ?? false;
    ks.keepalive = this.opts.keepAlive ?? false;
    ks.keepidle = Math.floor((this.opts.keepAliveInitialDelay ?? 0) / 1000);
    ks.wantRead = !(this.opts.pauseOnConnect ?? false);
    this.ks = ks;
    this.closing = false;
    this.agent.listen(ks, o.host ?? '0.0.0.0', port, o.backlog ?? 511, (a) => {
      if (this.ks !== ks) return;
      this.addr = { address: a.address, family: 'IPv4', port: a.port };
      this.listening = true;
      this.emit('listening');
    });
    return this;
  }

  address(): { address: string; family: string; port: number } | null {
    return this.listening ? this.addr : null;
  }

  /** Stop accepting; 'close' once every connection has ended. */
  close(cb?: (err?: Error) => void): this {
    if (cb !== undefined) {
      if (!this.listening && this.ks === null) {
        const e = new Error('Server is not running.') as VnetNetError;
        e.code = 'ERR_SERVER_NOT_RUNNING';
        this.once('close', () => cb(e));
      } else this.closeWaiters.push(cb);
    }
    const ks = this.ks;
    this.ks = null;
    this.listening = false;
    this.closing = true;
    if (ks !== null) this.agent.close(ks, false, () => this.maybe_closed());
    else process.nextTick(() => this.maybe_closed());
    return this;
  }

  private maybe_closed(): void {
    if (!this.closing || this.ks !== null || this.conns.size > 0) return;
    this.closing = false;
    const ws = this.closeWaiters.splice(0);
    this.emit('close');
    for (const w of ws) w();
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    const n = this.conns.size;
    process.nextTick(() => cb(null, n));
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /* SockHost */

  ks_error(e: Error): void {
    if (this.ks !== null && this.ks.dead) this.ks = null;
    this.listening = false;
    this.emit('error', e);
  }

  ks_gone(): void {
    if (this.ks !== null) this.close();
  }

  ks_accept(ks: KSock, local: InetAddr, remote: InetAddr): void {
    const s = new VnetSocket(this.agent, { allowHalfOpen: this.opts.allowHalfOpen ?? false });
    s._attach(ks, local, remote);
    if (
      this.ks === null ||
      (this.maxConnections !== undefined && this.conns.size >= this.maxConnections)
    ) {
      s.destroy();
      return;
    }
    s.server = this;
    this.conns.add(s);
    s.once('close', () => {
      this.conns.delete(s);
      this.maybe_closed();
    });
    this.emit('connection', s);
  }
}

/* ---------------------------------------------------------------------------------- */
/* vnet_net(kernel, jail)                                                               */

export interface VnetNet {
  readonly kernel: Kernel;
  /** The jail's name ('0': the host's vnet). */
  readonly jail: string;
  /** Resolves when the agent is in its jail; rejects if there is no such jail. */
  readonly ready: Promise<void>;
  readonly Socket: new (opts?: VnetSocketOptions) => VnetSocket;
  readonly Server: new (opts?: VnetServerOptions, listener?: ConnectionListener) => VnetServer;
  createServer(listener?: ConnectionListener): VnetServer;
  createServer(opts?: VnetServerOptions, listener?: ConnectionListener): VnetServer;
  createConnection(options: VnetConnectOptions, connectListener?: ConnectListener): VnetSocket;
  createConnection(port: number | string, host?: string, cb?: ConnectListener): VnetSocket;
  createConnection(port: number | string, cb?: ConnectListener): VnetSocket;
  connect: VnetNet['createConnection'];
  isIP: typeof isIP;
  isIPv4: typeof isIPv4;
  isIPv6: typeof isIPv6;
  /** Close every socket of this jail's agent and end it (the process exits). */
  shutdown(): Promise<void>;
}

const instances = new WeakMap<Kernel, Map<string, VnetNet>>();

/**
 * The node:net API of jail `jail` (by name or jid; '0' or '' for the host's vnet) of
 * kernel k, which must run on the real clock.  One agent process per (kernel, jail):
 * repeated calls return the same object until shutdown().
 */
export function vnet_net(k: Kernel, jail: string | number = '0'): VnetNet {
  if (k.clock.kind !== 'real')
    throw new Error("vnet_net: the kernel must run on the real clock (boot({ clock: 'real' }))");
  const name = String(jail);
  let m = instances.get(k);
  if (m === undefined) {
    m = new Map();
    instances.set(k, m);
  }
  const have = m.get(name);
  if (have !== undefined) return have;
  const agent = new Agent(k, name);
  class Socket extends VnetSocket {
    constructor(opts: VnetSocketOptions = {}) {
      super(agent, opts);
    }
  }
  class Server extends VnetServer {
    constructor(opts: VnetServerOptions = {}, listener?: ConnectionListener) {
      super(agent, opts, listener);
    }
  }
  const createConnection = (...args: unknown[]): VnetSocket => {
    const [opts, cb] = connect_args(args);
    const s = new Socket(opts);
    return cb !== null ? s.connect(opts, cb) : s.connect(opts);
  };
  const createServer = (a?: unknown, b?: unknown): VnetServer => {
    if (typeof a === 'function') return new Server({}, a as ConnectionListener);
    return new Server((a ?? {}) as VnetServerOptions, b as ConnectionListener | undefined);
  };
  const vn: VnetNet = {
    kernel: k,
    jail: name,
    ready: agent.ready,
    Socket,
    Server,
    createServer: createServer as VnetNet['createServer'],
    createConnection: createConnection as VnetNet['createConnection'],
    connect: createConnection as VnetNet['createConnection'],
    isIP,
    isIPv4,
    isIPv6,
    shutdown: async () => {
      m.delete(name);
      await agent.stop();
    },
  };
  m.set(name, vn);
  return vn;
}
