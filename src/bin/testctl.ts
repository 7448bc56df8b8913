/*
 * bin/testctl.ts — the test-control endpoint behind `vimage ctl`: a Unix socket on the
 * host that speaks JSON lines, so that any external harness (a Python or Go test, a
 * protocol conformance suite) drives a kernel without knowing its code.  The protocol
 * is documented in docs/TESTCTL.md; this comment is about how it is built.
 *
 * Requests and replies.  A client writes one JSON object per line, {"id", "op", ...};
 * the endpoint answers each with one line carrying the same id and either "result" or
 * "error" (a FreeBSD errno name), "errno" (its number) and "message".  Events (packets
 * from a tap, a panic) are lines with "event" and no id.  Every reply and event has
 * "time_ns", the kernel clock (nanoseconds since boot) when it was produced.  Malformed
 * lines and bad arguments get an EINVAL reply, unknown ops ENOSYS; the connection stays
 * usable.
 *
 * Socket calls are system calls.  For each (client, jail) there is one user process,
 * `testctl JAIL`, which starts in prison0 and enters the jail with jail_getid +
 * jail_attach, as jexec(8) does; its first thread then parks in read(2) on a pipe of its
 * own.  Every request that needs the kernel (socket calls, sysctl, the dumps, tcpdrop)
 * runs in a new thread of that process (thread_create) with a Libc bound to it, so each
 * result is exactly what the system call returned, errno included, and the descriptors
 * are the process's: a client's sockets are private to it and are closed, as at any
 * process exit, when the client disconnects (the processes are killed).  Because each
 * request has its own thread, a blocking accept, recv, connect or poll blocks nothing
 * else: requests are pipelined, and a reply is written, from the kernel thread itself,
 * the moment its call returns.  Replies therefore come in completion order, while the
 * requests themselves reach the kernel in arrival order, across clients (submitq: the
 * next request is handed over once the previous one's thread is started).
 *
 * Time.  On the virtual clock (the default) time moves only when a client says so: after
 * each request the kernel runs what became runnable with run_for(0) (everything due now,
 * callouts included, but no jump to the next callout), and `clock` advances it (run_for
 * the given time, replies and packet events flowing as threads complete) or runs it
 * until nothing is pending.  A poll with a 1000 ms timeout thus answers after the
 * client advanced the clock by a second.  All host-side kernel work is serialized on
 * one chain (drive), so two clients never run the kernel at once.  On the real clock
 * (`vimage ctl -r`) the kernel runs by itself and `clock` only reports or waits.
 *
 * Raw IP tap.  `tap` attaches to an interface of a jail's vnet.  Packets are seen
 * through bpf's kernel-wide capture hook (net/bpf.ts bpf_capture_set; whatever hook was
 * installed before is still called), filtered by interface and direction, and sent to
 * the client as events: by default the IPv4 packets the interface transmits (the
 * Ethernet header or lo0's address-family word stripped), with the kernel clock's
 * time.  `inject` gives an IPv4 packet to the interface's if_input as if it had arrived
 * on the wire (in an Ethernet frame addressed to the interface, or lo0's if_simloop),
 * as a host interrupt in the interface's vnet, so ether_input and ip_input check and
 * count it as they would any received packet.
 *
 * Dumps read what the tools read: net.inet.{tcp,udp}.pcblist (netstat -a),
 * net.route.inet.llinfo (arp -a), net.route.inet.dump (netstat -r) and the stats
 * structures by sysctl (netstat -s), decoded into JSON.  `tcpdrop` is tcpdrop(8)'s
 * algorithm: the pcblist, then net.inet.tcp.drop per connection.
 *
 * Exactly one reply per request, whatever happens to what it waits for.  A jail's
 * removal kills the processes in it; a request whose thread was blocked there is
 * answered EINTR after the drive that noticed (reap; on the real clock also a timer).
 * A jail is resolved to its Prison before anything else, so every way of naming it
 * reaches the same process.  `sh` shells belong to the session like its processes: a
 * client that leaves takes its shells and what they spawned with it, and a shell
 * killed otherwise answers 128 + the signal, as sh(1) reports a killed command.  At a
 * panic every request still waiting (blocked calls, shells) is answered with the panic
 * error.  submitq never waits on a promise that might not settle: a process's ready
 * is refused when it dies, its client leaves or the kernel panics, and the queue moves
 * past a request whose client is gone.
 *
 * XXX: IPv4 only; the tap sees only interfaces that call bpf (all of ours do); output to
 * a client is not flow-controlled.
 */

import * as net from 'node:net';
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import type { Kernel } from '../kern/kernel.js';
import { Libc, type PollFd } from '../lib/libc.js';
import { pipe2 } from '../lib/process.js';
import { jail_attach } from '../lib/libjail.js';
import { proc_kill, thread_create } from '../kern/kern_proc.js';
import {
  PRISON_STATE_ALIVE,
  PR_VNET,
  prison_find,
  prison_find_name,
  type Prison,
} from '../kern/kern_jail.js';
import { PRS_NORMAL, P_WEXIT, type Proc } from '../sys/proc.js';
import { PanicError } from '../kern/sched.js';
import { exec_lookup } from '../kern/kern_exec.js';
import { Cons, cons_file } from '../dev/cons.js';
import { install_programs } from './programs.js';
import {
  EAGAIN,
  EDOOFUS,
  EINTR,
  EINVAL,
  ENOBUFS,
  ENOENT,
  ENOSYS,
  ENXIO,
  EOPNOTSUPP,
  ESRCH,
  errname,
  strerror,
} from '../sys/errno.js';
import * as SK from '../sys/socket.js';
import * as FC from '../sys/fcntl.js';
import { inet_ntoa } from '../netinet/in.js';
import { IP_MAXPACKET } from '../netinet/ip.js';
import { xinpcb_decode } from '../netinet/in_pcb.js';
import { STATS, TCPSTATES } from '../usr.bin/netstat.js';
import { rt_sysctl_msgs } from '../lib/librtsock.js';
import { RTAX_DST, RTAX_GATEWAY, RTAX_IFP, RTAX_NETMASK } from '../net/route.js';
import { rt_flags_letters } from '../net/route/route_var.js';
import { ether_addr_write, ether_sprintf } from '../net/ethernet.js';
import { bpf_capture_set, type BpfCapture } from '../net/bpf.js';
import { DLT_EN10MB, DLT_NULL } from '../net/bpf_filter.js';
import { ifunit } from '../net/if.js';
import { IFF_LOOPBACK, type Ifnet } from '../net/if_var.js';
import { if_simloop } from '../net/if_loop.js';
import { with_vnet, type Vnet } from '../net/vnet.js';
import { tcp_conn_name, tcp_drop_conn, tcp_droppable, tcp_pcblist } from '../sbin/tcpdrop.js';
import { __vimage_version } from '../sys/param.js';
import {
  type Json,
  type Req,
  CtlError,
  fail,
  einval,
  CTL_MAXLINE,
  CTL_MAXADVANCE,
  CTL_MAXIO,
  a_int,
  a_str,
  a_bool,
  a_const,
  a_flags,
  flag_names,
  type Encoding,
  a_encoding,
  a_bytes,
  encode,
  parse_inet,
  a_sockaddr,
  sockaddr_json,
  DOMAINS,
  TYPES,
  PROTOS,
  LEVELS,
  MSGFLAGS,
  POLLFLAGS,
  SHUTHOW,
  FCNTLCMDS,
  OFLAGS,
  FD_CLOEXEC,
  opt_prefix,
  opt_table,
  DEF_SRC_MAC,
  parse_mac,
  ctltype_name,
  sysctl_json,
  sysctl_encode,
  mask_len,
  gw_json,
} from './testctl_proto.js';

/* ---------------------------------------------------------------------------------- */
/* Sessions, processes, taps                                                            */

/** A client's process in one jail. */
interface JailProc {
  readonly pr: Prison;
  proc: Proc | null;
  readonly ready: Promise<Proc>;
  /** Whether ready has settled; until then no() may reject it (reap, panic, exit). */
  settled: boolean;
  readonly no: (e: CtlError) => void;
  /** Requests running in its threads, not answered yet. */
  readonly pending: Set<Ctx>;
}

/** A client's `sh` request: its shell process and what it wrote so far. */
interface ShRun {
  readonly ctx: Ctx;
  proc: Proc | null;
  readonly out: () => { stdout: string; stderr: string };
}

interface Tap {
  readonly id: number;
  readonly s: Session;
  /** The interface, or null: every interface of the vnet. */
  readonly ifp: Ifnet | null;
  readonly vnet: Vnet;
  readonly dir: 'in' | 'out' | 'inout';
  readonly link: boolean;
  readonly encoding: Encoding;
}

class Session {
  /*
   * Keyed by the Prison, not by how a request spelled the jail ("host", "0", no jail,
   * a name, a jid, a vnet number all resolve first), so one jail is one process and one
   * descriptor table.  A removed jail's Prison is never found again, and its entry goes
   * when its process dies (reap), so a new jail that reuses the name or the jid gets a
   * process of its own.
   */
  readonly procs = new Map<Prison, JailProc>();
  readonly shs = new Set<ShRun>();
  /**
   * What a finished shell left running (`nc -l 6000 &`): taken from the shell's
   * children as it returns, before exit hands them to proc0, and killed with the rest
   * when the client leaves.
   */
  readonly orphans = new Set<Proc>();
  readonly taps = new Set<Tap>();
  closed = false;
  /** Settles when the client leaves: no request of a gone client holds up submitq. */
  readonly gone: Promise<void>;
  release: () => void = () => {};
  private buf: Buffer = Buffer.alloc(0);
  /** Discarding the rest of an over-long line. */
  private skipping = false;

  constructor(
    readonly ctl: TestCtl,
    readonly id: number,
    readonly sock: net.Socket,
  ) {
    this.gone = new Promise<void>((res) => (this.release = res));
  }

  send(obj: Record<string, Json>): void {
    if (this.closed || this.sock.destroyed) return;
    this.sock.write(JSON.stringify(obj) + '\n');
  }

  /** Bytes from the client: split lines, hand each to the endpoint. */
  input(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) {
        if (this.buf.length > CTL_MAXLINE) {
          if (!this.skipping) this.ctl.reply_error(this, null, EINVAL, 'request line too long');
          this.skipping = true;
          this.buf = Buffer.alloc(0);
        }
        return;
      }
      const line = this.buf.subarray(0, nl).toString('utf8').replace(/\r$/, '');
      this.buf = this.buf.subarray(nl + 1);
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      if (line.trim() === '') continue;
      this.ctl.request(this, line);
    }
  }
}

/** Per-request reply state: the reply goes out once, with the kernel time of completion. */
interface Ctx {
  readonly id: Json;
  sent: boolean;
}

const SENT = Symbol('sent');
type OpResult = Json | typeof SENT;
type OpFn = (s: Session, r: Req, ctx: Ctx) => Promise<OpResult>;

export interface TestCtlOptions {
  /** Called when a client asks the endpoint to shut down (op "shutdown"). */
  onShutdown?: () => void;
}

export class TestCtl {
  private server: net.Server | null = null;
  private path: string | null = null;
  private readonly sessions = new Set<Session>();
  private nsession = 0;
  private ntap = 0;
  /** Taps by interface, and vnet-wide taps by vnet. */
  private readonly taps = new Map<Ifnet | Vnet, Tap[]>();
  private prev_capture: BpfCapture | null = null;
  private capture_on = false;
  /** Host-side kernel work, one at a time. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Requests in arrival order (see request()). */
  private submitq: Promise<void> = Promise.resolve();
  private panicked: string | null = null;
  /** Settles at a panic: nothing queued in submitq waits past it. */
  private readonly panic_p: Promise<void>;
  private panic_release: () => void = () => {};
  /** On the real clock, reap() also runs on a timer (see reap_timer_start). */
  private reap_timer: NodeJS.Timeout | null = null;
  private readonly ops: ReadonlyMap<string, OpFn>;

  constructor(
    readonly k: Kernel,
    readonly opts: TestCtlOptions = {},
  ) {
    this.ops = this.optable();
    this.panic_p = new Promise<void>((res) => (this.panic_release = res));
  }

  /* ------------------------------------------------------------------------------ */
  /* The socket                                                                       */

  /** Listen on a Unix socket path (a stale socket file there is replaced). */
  listen(path: string): Promise<void> {
    if (existsSync(path)) {
      if (!lstatSync(path).isSocket()) throw new Error(`${path}: File exists`);
      unlinkSync(path);
    }
    const srv = net.createServer((sock) => this.attach(sock));
    this.server = srv;
    this.path = path;
    return new Promise((res, rej) => {
      srv.once('error', rej);
      srv.listen(path, () => {
        srv.off('error', rej);
        res();
      });
    });
  }

  /** Serve one connected stream (the server does this for each client). */
  attach(sock: net.Socket): void {
    const s = new Session(this, ++this.nsession, sock);
    this.sessions.add(s);
    this.reap_timer_start();
    sock.on('data', (b: Buffer) => s.input(b));
    sock.on('error', () => {});
    sock.on('close', () => this.session_end(s));
  }

  /** Stop listening, end every session, remove the socket file. */
  async close(): Promise<void> {
    const srv = this.server;
    this.server = null;
    for (const s of [...this.sessions]) s.sock.destroy();
    if (srv !== null) await new Promise<void>((res) => srv.close(() => res()));
    for (const s of [...this.sessions]) this.session_end(s);
    if (this.path !== null && existsSync(this.path)) unlinkSync(this.path);
    this.path = null;
    if (this.reap_timer !== null) clearInterval(this.reap_timer);
    this.reap_timer = null;
    await this.chain.catch(() => {});
  }

  /**
   * On the real clock the kernel runs by itself, so a process can die (a jail removed by
   * someone else's `sh`) when no drive of ours follows to notice it; a light timer runs
   * reap() while clients are connected.  The virtual clock needs none: nothing happens
   * in the kernel outside a drive, and every drive ends with reap().
   */
  private reap_timer_start(): void {
    if (this.virtual || this.reap_timer !== null) return;
    this.reap_timer = setInterval(() => {
      if (this.sessions.size === 0) {
        clearInterval(this.reap_timer!);
        this.reap_timer = null;
        return;
      }
      if (this.k.panicstr !== null) this.on_panic(this.k.panicstr);
      else this.reap();
    }, 20);
    this.reap_timer.unref();
  }

  private session_end(s: Session): void {
    if (s.closed) return;
    s.closed = true;
    this.sessions.delete(s);
    s.release();
    for (const t of [...s.taps]) this.untap(t);
    const procs = [...s.procs.values()];
    s.procs.clear();
    const shs = [...s.shs];
    s.shs.clear();
    const orphans = [...s.orphans];
    s.orphans.clear();
    // A process still starting is refused now (nobody waits for it any more); one the
    // drive has yet to make is not made (jailproc checks s.closed).
    for (const jp of procs) this.settle_no(jp, new CtlError(ESRCH, 'the client left'));
    // The client's processes die as any process does: their descriptors are closed (a
    // listener stops, a connection sends its FIN).  So do its shells and their commands,
    // which are their children (posix_spawn), as a terminal's hangup kills a session's
    // jobs: otherwise `sh 'nc -l 6000'` would keep listening after the client left.
    if (procs.length > 0 || shs.length > 0 || orphans.length > 0)
      void this.drive(() => {
        for (const jp of procs) if (jp.proc !== null) proc_kill(this.k, jp.proc);
        for (const sh of shs)
          if (sh.proc !== null) for (const q of proc_tree(sh.proc)) proc_kill(this.k, q);
        for (const q of orphans) for (const d of proc_tree(q)) proc_kill(this.k, d);
      }).catch(() => {});
  }

  private settle_no(jp: JailProc, e: CtlError): void {
    if (jp.settled) return;
    jp.settled = true;
    jp.no(e);
  }

  /* ------------------------------------------------------------------------------ */
  /* Requests and replies                                                             */

  reply_error(s: Session, id: Json, errno: number, message?: string): void {
    const name = errno === 0 ? 'panic' : errname(errno);
    const r: Record<string, Json> = {
      id,
      error: name,
      errno,
      message: message ?? strerror(errno),
      time_ns: this.k.now(),
    };
    if (errno === EAGAIN) r['alias'] = 'EWOULDBLOCK';
    else if (errno === EOPNOTSUPP) r['alias'] = 'ENOTSUP';
    s.send(r);
  }

  /** Send the reply of ctx (once): a result or a CtlError. */
  private finish(s: Session, ctx: Ctx, out: Json | CtlError): void {
    if (ctx.sent) return;
    ctx.sent = true;
    if (out instanceof CtlError) this.reply_error(s, ctx.id, out.errno, out.message);
    else s.send({ id: ctx.id, result: out, time_ns: this.k.now() });
  }

  /** One request line. */
  request(s: Session, line: string): void {
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch (e) {
      this.reply_error(s, null, EINVAL, `malformed JSON: ${(e as Error).message}`);
      return;
    }
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      this.reply_error(s, null, EINVAL, 'a request is a JSON object');
      return;
    }
    const req = r as Req;
    const idv = req['id'];
    const id: Json = typeof idv === 'number' || typeof idv === 'string' ? idv : null;
    if (idv !== undefined && idv !== null && id === null) {
      this.reply_error(s, null, EINVAL, '"id" must be a number or a string');
      return;
    }
    const ctx: Ctx = { id, sent: false };
    const opname = req['op'];
    if (typeof opname !== 'string') {
      this.finish(s, ctx, new CtlError(EINVAL, '"op" is required (a string)'));
      return;
    }
    const fn = this.ops.get(opname);
    if (fn === undefined) {
      this.finish(s, ctx, new CtlError(ENOSYS, `unknown op "${opname}"`));
      return;
    }
    if (this.panicked !== null && opname !== 'hello') {
      this.finish(s, ctx, new CtlError(0, `panic: ${this.panicked}`));
      return;
    }
    // Requests reach the kernel in the order they arrived (from every client): each
    // op's promise settles once its work is handed to the kernel — a blocking call's
    // thread started, a clock advance done — not when a blocked call returns.  Every
    // promise an op waits on settles (jailproc's ready is refused when its process
    // dies, the client leaves or the kernel panics), and as a guard the queue also
    // moves on when the request's client is gone or the kernel panicked, whatever the
    // op still waits for: one stuck request must never silence every client.
    const run = (): Promise<unknown> => {
      let p: Promise<OpResult>;
      try {
        p = fn(s, req, ctx);
      } catch (e) {
        p = Promise.reject(e);
      }
      return p.then(
        (v) => {
          if (v !== SENT) this.finish(s, ctx, v);
        },
        (e: unknown) => this.finish(s, ctx, this.as_error(e)),
      );
    };
    const step = (): Promise<void> =>
      Promise.race([run(), s.gone, this.panic_p]).then(
        () => {},
        () => {},
      );
    this.submitq = this.submitq.then(step, step);
  }

  private as_error(e: unknown): CtlError {
    if (e instanceof CtlError) return e;
    if (e instanceof PanicError) {
      this.on_panic(e.message);
      return new CtlError(0, e.message);
    }
    return new CtlError(EDOOFUS, e instanceof Error ? e.message : String(e));
  }

  /**
   * The kernel panicked: its threads never run again, so every request still waiting
   * for one (a blocked call, a shell, a process being made) is answered now with the
   * panic error, after the panic event; later requests are refused in request().
   */
  private on_panic(msg: string): void {
    if (this.panicked !== null) return;
    this.panicked = msg.replace(/^panic: /, '');
    const e = new CtlError(0, `panic: ${this.panicked}`);
    for (const s of this.sessions) {
      s.send({ event: 'panic', message: this.panicked, time_ns: this.k.now() });
      for (const jp of s.procs.values()) {
        this.settle_no(jp, e);
        for (const ctx of jp.pending) this.finish(s, ctx, e);
        jp.pending.clear();
      }
      for (const sh of s.shs) this.finish(s, sh.ctx, e);
      s.shs.clear();
    }
    this.panic_release();
  }

  /* ------------------------------------------------------------------------------ */
  /* Driving the kernel                                                               */

  private get virtual(): boolean {
    return this.k.clock.kind === 'virtual';
  }

  /**
   * Run fn on the host side after every earlier piece of host work, then let the kernel
   * run what it made runnable — on the virtual clock without moving time (run_for(0):
   * what is due now, nothing later); on the real clock the processor is kicked.
   */
  private drive<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.k.panicstr !== null) throw new PanicError(this.k.panicstr);
      try {
        return await fn();
      } finally {
        if (this.k.panicstr === null) {
          if (this.virtual) await this.k.run_for(0);
          else this.k.sched.kick();
          this.reap();
        }
        if (this.k.panicstr !== null) this.on_panic(this.k.panicstr);
      }
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch((e: unknown) => {
      if (e instanceof PanicError) this.on_panic(e.message);
    });
    return p;
  }

  /** A host interrupt: fn with the kernel's registers (the drive that follows runs it). */
  private intr(fn: () => void): void {
    if (this.virtual) this.k.enter(fn);
    else this.k.sched.hostintr(fn);
  }

  /* ------------------------------------------------------------------------------ */
  /* Jails                                                                            */

  /**
   * The jail a request names, resolved on the host side to its Prison: "jail" is a name
   * (or a dotted path below the host), a jid as a number or a string of digits, "host",
   * "0" or absent for the host (prison0); or "vnet", a vnet_id (`vimage report`, ddb's
   * show vnet), names the jail that owns that vnet (vnet0's is the host's, also under
   * NOVIMAGE where it is the only one).  Every spelling of one jail gives the same
   * Prison, hence the same process and descriptors.
   */
  private jailpr(r: Req): Prison {
    const k = this.k;
    const v = r['vnet'];
    if (v !== undefined && v !== null) {
      if (typeof v !== 'number' || !Number.isInteger(v)) einval('"vnet" must be an integer');
      if (v === k.vnet0.vnet_id) return k.prison0;
      const pr = k.jails.allprison.find(
        (p) =>
          p.pr_state === PRISON_STATE_ALIVE &&
          (p.pr_flags & PR_VNET) !== 0 &&
          p.pr_vnet !== null &&
          p.pr_vnet.vnet_id === v,
      );
      if (pr === undefined) fail(ENOENT, `no vnet ${v}`);
      return pr;
    }
    const j = r['jail'];
    if (j === undefined || j === null || j === 'host' || j === '0' || j === 0) return k.prison0;
    let pr: Prison | null;
    if (typeof j === 'number') {
      if (!Number.isInteger(j) || j < 0) einval('"jail" must be a name or a jid');
      pr = prison_find(k, j);
    } else if (typeof j !== 'string' || j === '') einval('"jail" must be a name or a jid');
    // As jail_getid(3): digits are a jid, anything else a name.
    else if (/^[0-9]+$/.test(j)) pr = prison_find(k, Number(j));
    else pr = prison_find_name(k, k.prison0, j);
    if (pr === null) fail(ENOENT, `jail "${String(j)}" not found`);
    return pr;
  }

  /** A jail's name for messages and process names. */
  private jname(pr: Prison): string {
    return pr === this.k.prison0 ? 'host' : pr.pr_name;
  }

  /** Host-side lookup of a jail (for taps and sh), and the vnet it works in. */
  private prison(r: Req): { pr: Prison; vnet: Vnet } {
    const pr = this.jailpr(r);
    return { pr, vnet: pr.pr_vnet ?? this.k.vnet0 };
  }

  private alive(p: Proc): boolean {
    return p.p_state === PRS_NORMAL && !(p.p_flag & P_WEXIT) && !p.p_exited;
  }

  /**
   * The client's process in a jail, made on first use (it enters the jail itself).  Its
   * ready promise always settles: with the process once it is in the jail, or refused
   * when it could not enter it, when it dies first (reap), when the client leaves
   * (session_end) or when the kernel panics (on_panic).
   */
  private jailproc(s: Session, pr: Prison): JailProc {
    const old = s.procs.get(pr);
    if (old !== undefined && (old.proc === null || this.alive(old.proc))) return old;
    const k = this.k;
    const name = this.jname(pr);
    let ok: (p: Proc) => void = () => {};
    let no: (e: CtlError) => void = () => {};
    const ready = new Promise<Proc>((a, b) => {
      ok = a;
      no = b;
    });
    const jp: JailProc = { pr, proc: null, ready, settled: false, no, pending: new Set() };
    s.procs.set(pr, jp);
    ready.catch(() => {
      if (s.procs.get(pr) === jp) s.procs.delete(pr);
    });
    this.drive(() => {
      // The client left while this waited its turn: make nothing (session_end has
      // already refused ready, and there would be nobody to kill the process).
      if (s.closed) {
        this.settle_no(jp, new CtlError(ESRCH, 'the client left'));
        return;
      }
      const p = k.proc_create(
        `testctl ${name}`,
        { cr_uid: 0, cr_prison: k.prison0 },
        async (td) => {
          const c = new Libc(k, td);
          if (pr !== k.prison0 && (await jail_attach(c, pr.pr_id)) < 0) {
            // A jail removed meanwhile is EINVAL from jail_attach: say it is gone.
            this.settle_no(
              jp,
              c.errno === EINVAL
                ? new CtlError(ENOENT, `jail "${name}" not found`)
                : new CtlError(c.errno, `jail_attach ${name}: ${c.strerror()}`),
            );
            return 1;
          }
          if (!jp.settled) {
            jp.settled = true;
            ok(p);
          }
          // Park: the process lives until it is killed (the client leaves).  The pipe
          // and a dup of its read end fill descriptors 0-2, so the client's sockets
          // start at 3, as a program's do after its standard streams.
          const fds = await pipe2(c);
          if (fds !== null) {
            await c.dup(fds[0]);
            await c.read(fds[0], new Uint8Array(1));
          }
          return 0;
        },
      );
      jp.proc = p;
    }).catch((e: unknown) => this.settle_no(jp, this.as_error(e)));
    return jp;
  }

  /**
   * Run fn as a new thread of the client's process in the request's jail; the reply is
   * sent from that thread when fn returns, with the kernel time of that moment.
   */
  private async thread_op(
    s: Session,
    r: Req,
    ctx: Ctx,
    fn: (c: Libc) => Promise<Json>,
  ): Promise<OpResult> {
    const jp = this.jailproc(s, this.jailpr(r));
    const p = await jp.ready;
    const k = this.k;
    await this.drive(() => {
      jp.pending.add(ctx);
      const td = thread_create(k, p, `testctl ${String(r['op'])}`, async (td) => {
        const c = new Libc(k, td);
        let out: Json | CtlError;
        try {
          out = await fn(c);
        } catch (e) {
          out = this.as_error(e);
        }
        jp.pending.delete(ctx);
        this.finish(s, ctx, out);
        return 0;
      });
      if (td === null) {
        jp.pending.delete(ctx);
        if (s.procs.get(jp.pr) === jp) s.procs.delete(jp.pr);
        fail(ESRCH, `the process in jail "${this.jname(jp.pr)}" is gone`);
      }
    });
    return SENT;
  }

  /**
   * After each drive (and on the real clock, on a timer): a jail's removal kills the
   * processes in it, and a thread blocked in a system call then exits on its way back
   * to user mode without returning to us.  Answer what is left of a dead process with
   * EINTR and forget the process (the next request in that jail makes a new one, or
   * says the jail is gone); a process that died before it entered its jail refuses its
   * waiters the same way.  A dead shell answers its `sh` with the status a shell gives
   * a command killed by a signal, 128 + the signal (137 for SIGKILL), and the output it
   * wrote until then.
   */
  private reap(): void {
    for (const s of this.sessions) {
      for (const [pr, jp] of s.procs) {
        if (jp.proc === null || this.alive(jp.proc)) continue;
        s.procs.delete(pr);
        const e = new CtlError(EINTR, `the process in jail "${this.jname(pr)}" was killed`);
        this.settle_no(jp, e);
        for (const ctx of jp.pending) this.finish(s, ctx, e);
        jp.pending.clear();
      }
      for (const q of s.orphans) if (!this.alive(q)) s.orphans.delete(q);
      for (const sh of s.shs) {
        if (sh.proc === null || this.alive(sh.proc)) continue;
        s.shs.delete(sh);
        const p = sh.proc;
        const res: Record<string, Json> = {
          status: p.p_xsig !== 0 ? 128 + p.p_xsig : p.p_xexit,
          ...sh.out(),
        };
        if (p.p_xsig !== 0) res['signal'] = p.p_xsig;
        this.finish(s, sh.ctx, res);
      }
    }
  }

  /* ------------------------------------------------------------------------------ */
  /* Taps                                                                             */

  private capture: BpfCapture = (ifp, dlt, data, wirelen, out) => {
    let list = this.taps.get(ifp);
    const vl = ifp.if_vnet !== null ? this.taps.get(ifp.if_vnet) : undefined;
    if (vl !== undefined) list = list === undefined ? vl : [...list, ...vl];
    if (list !== undefined && list.length > 0) {
      let ip: Uint8Array | null = null;
      if (dlt === DLT_EN10MB && data.length >= 14 && data[12] === 0x08 && data[13] === 0x00)
        ip = data.subarray(14);
      else if (
        dlt === DLT_NULL &&
        data.length >= 4 &&
        new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true) === SK.AF_INET
      )
        ip = data.subarray(4);
      for (const t of list) {
        if (t.dir === 'in' ? out : t.dir === 'out' ? !out : false) continue;
        if (ip === null && !t.link) continue;
        const ev: Record<string, Json> = {
          event: 'packet',
          tap: t.id,
          ifname: ifp.if_xname,
          dir: out ? 'out' : 'in',
          time_ns: this.k.now(),
          len: ip !== null ? ip.length : wirelen,
        };
        if (ip !== null) ev['ip'] = encode(ip, t.encoding);
        if (t.link) ev['frame'] = encode(data, t.encoding);
        t.s.send(ev);
      }
    }
    if (this.prev_capture !== null) this.prev_capture(ifp, dlt, data, wirelen, out);
  };

  private untap(t: Tap): void {
    t.s.taps.delete(t);
    const key = t.ifp ?? t.vnet;
    const list = this.taps.get(key);
    if (list !== undefined) {
      const i = list.indexOf(t);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.taps.delete(key);
    }
    if (this.taps.size === 0 && this.capture_on) {
      this.capture_on = false;
      bpf_capture_set(this.k, this.prev_capture);
      this.prev_capture = null;
    }
  }

  private find_tap(s: Session, r: Req): Tap {
    const id = a_int(r, 'tap', undefined, 1);
    for (const t of s.taps) if (t.id === id) return t;
    fail(ENOENT, `no tap ${id}`);
  }

  /** The interface a request names in its jail's vnet (host side). */
  private find_if(r: Req): { ifp: Ifnet; vnet: Vnet } {
    const { vnet } = this.prison(r);
    const name = a_str(r, 'ifname');
    const ifp = this.k.enter(() => with_vnet(vnet, () => ifunit(name)));
    if (ifp === null) fail(ENXIO, `${name}: no such interface in that jail`);
    return { ifp, vnet };
  }

  /* ------------------------------------------------------------------------------ */
  /* The operations                                                                   */

  private optable(): ReadonlyMap<string, OpFn> {
    const k = this.k;
    const ops = new Map<string, OpFn>();
    const sys = (fn: (c: Libc, r: Req) => Promise<Json>): OpFn => {
      return (s, r, ctx) => this.thread_op(s, r, ctx, (c) => fn(c, r));
    };
    const check = (c: Libc, rv: number, what?: string): number => {
      if (rv < 0) fail(c.errno, what !== undefined ? `${what}: ${c.strerror()}` : undefined);
      return rv;
    };

    ops.set('hello', async () => ({
      name: 'vimage testctl',
      protocol: 1,
      version: __vimage_version,
      kernel: k.ident,
      vimage: k.vimage,
      clock: k.clock.kind,
      time_ns: k.now(),
      ops: [...this.ops.keys()],
    }));

    /* Socket calls ------------------------------------------------------------------ */

    ops.set(
      'socket',
      sys(async (c, r) => {
        const dom = a_const(r, 'domain', DOMAINS, 'AF_', SK.AF_INET);
        let type = a_const(r, 'type', TYPES, 'SOCK_');
        const proto = a_const(r, 'protocol', PROTOS, 'IPPROTO_', 0);
        if (a_bool(r, 'nonblock')) type |= SK.SOCK_NONBLOCK;
        if (a_bool(r, 'cloexec')) type |= SK.SOCK_CLOEXEC;
        return { fd: check(c, await c.socket(dom, type, proto)) };
      }),
    );
    ops.set(
      'bind',
      sys(async (c, r) => {
        const fd = a_int(r, 'fd', undefined, 0);
        check(c, await c.bind(fd, a_sockaddr(r)));
        return {};
      }),
    );
    ops.set(
      'listen',
      sys(async (c, r) => {
        const fd = a_int(r, 'fd', undefined, 0);
        check(c, await c.listen(fd, a_int(r, 'backlog', SK.SOMAXCONN)));
        return {};
      }),
    );
    ops.set(
      'accept',
      sys(async (c, r) => {
        const fd = a_int(r, 'fd', undefined, 0);
        const b = new Uint8Array(SK.SOCK_MAXADDRLEN);
        const len: [number] = [b.length];
        let flags = 0;
        if (a_bool(r, 'nonblock')) flags |= SK.SOCK_NONBLOCK;
        const nfd = check(c, await c.accept4(fd, b, len, flags));
        return { fd: nfd, peer: sockaddr_json(b, len[0]) };
      }),
    );
    ops.set(
      'connect',
      sys(async (c, r) => {
        const fd = a_int(r, 'fd', undefined, 0);
        check(c, await c.connect(fd, a_sockaddr(r)));
        return {};
      }),
    );
    const recv = (useread: boolean) =>
      sys(async (c, r) => {
        const fd = a_int(r, 'fd', undefined, 0);
        const len = a_int(r, 'len', 65536, 0, CTL_MAXIO);
        const e = a_encoding(r);
        const buf = new Uint8Array(len);
        if (useread) {
          const n = check(c, await c.read(fd, buf, len));
          return { len: n, data: encode(buf.subarray(0, n), e) };
        }
        let flags = a_flags(r, 'flags', MSGFLAGS, 'MSG_');
        if (a_bool(r, 'peek')) flags |= SK.MSG_PEEK;
        if (a_bool(r, 'dontwait')) flags |= SK.MSG_DONTWAIT;
        if (a_bool(r, 'waitall')) flags |= SK.MSG_WAITALL;
        const from = new Uint8Array(SK.SOCK_MAXADDRLEN);
        const fromlen: [number] = [from.length];
        const n = check(c, await c.recvfrom(fd, buf, len, flags, from, fromlen));
        const out: Record<string, Json> = { len: n, data: encode(buf.subarray(0, n), e) };
        if (fromlen[0] > 0) out['from'] = sockaddr_json(from, fromlen[0]);
        return out;
      });
    ops.set('recv', recv(false));
    ops.set('read', recv(true));
    const send = (usewrite: boolean) =>
      sys(async (c, r) => {
        const fd = a_int(r, 'fd', undefined, 0);
        const data = a_bytes(r);
        if (usewrite) return { len: check(c, await c.write(fd, data)) };
        let flags = a_flags(r, 'flags', MSGFLAGS, 'MSG_');
        if (a_bool(r, 'dontwait')) flags |= SK.MSG_DONTWAIT;
        const to = r['addr'] !== undefined || r['path'] !== undefined ? a_sockaddr(r) : null;
        return { len: check(c, await c.sendto(fd, data, data.length, flags, to)) };
      });
    ops.set('send', send(false));
    ops.set('write', send(true));
    ops.set(
      'close',
      sys(async (c, r) => {
        check(c, await c.close(a_int(r, 'fd', undefined, 0)));
        return {};
      }),
    );
    ops.set(
      'shutdown',
      sys(async (c, r) => {
        const fd = a_int(r, 'fd', undefined, 0);
        check(c, await c.shutdown(fd, a_const(r, 'how', SHUTHOW, 'SHUT_', SK.SHUT_RDWR)));
        return {};
      }),
    );
    ops.set(
      'fcntl',
      sys(async (c, r) => {
        const fd = a_int(r, 'fd', undefined, 0);
        const cmd = a_const(r, 'cmd', FCNTLCMDS, 'F_');
        let arg = 0;
        if (cmd === FC.F_SETFL) arg = a_flags(r, 'arg', OFLAGS, 'O_');
        else if (cmd === FC.F_SETFD) arg = a_bool(r, 'cloexec') ? FD_CLOEXEC : a_int(r, 'arg', 0);
        const v = check(c, await c.fcntl(fd, cmd, arg));
        const out: Record<string, Json> = { value: v };
        if (cmd === FC.F_GETFL) out['flags'] = flag_names(v, OFLAGS);
        if (cmd === FC.F_GETFD) out['cloexec'] = (v & FD_CLOEXEC) !== 0;
        return out;
      }),
    );
    ops.set(
      'getsockopt',
      sys(async (c, r) => {
        const fd = a_int(r, 'fd', undefined, 0);
        const level = a_const(r, 'level', LEVELS, 'IPPROTO_');
        const name = a_const(r, 'name', opt_table(level), opt_prefix(level));
        const len = a_int(r, 'len', 4, 0, 4096);
        const b = new Uint8Array(len);
        const ol: [number] = [len];
        check(c, await c.getsockopt(fd, level, name, b, ol));
        const v = b.subarray(0, ol[0]);
        const out: Record<string, Json> = { len: ol[0], hex: encode(v, 'hex') };
        if (ol[0] === 4) out['value'] = new DataView(v.buffer, v.byteOffset, 4).getInt32(0, true);
        return out;
      }),
    );
    ops.set(
      'setsockopt',
      sys(async (c, r) => {
        const fd = a_int(r, 'fd', undefined, 0);
        const level = a_const(r, 'level', LEVELS, 'IPPROTO_');
        const name = a_const(r, 'name', opt_table(level), opt_prefix(level));
        let val: Uint8Array | number;
        if (r['data'] !== undefined) val = a_bytes(r);
        else if (typeof r['value'] === 'boolean') val = r['value'] ? 1 : 0;
        else val = a_int(r, 'value');
        check(c, await c.setsockopt(fd, level, name, val));
        return {};
      }),
    );
    const getname = (peer: boolean) =>
      sys(async (c, r) => {
        const fd = a_int(r, 'fd', undefined, 0);
        const b = new Uint8Array(SK.SOCK_MAXADDRLEN);
        const len: [number] = [b.length];
        check(c, await (peer ? c.getpeername(fd, b, len) : c.getsockname(fd, b, len)));
        return sockaddr_json(b, len[0]);
      });
    ops.set('getsockname', getname(false));
    ops.set('getpeername', getname(true));
    ops.set(
      'poll',
      sys(async (c, r) => {
        const list = r['fds'];
        if (!Array.isArray(list) || list.length > 1024)
          einval('"fds" must be a list of {fd, events} (at most 1024)');
        const fds: PollFd[] = list.map((x: unknown) => {
          if (typeof x !== 'object' || x === null) einval('each of "fds" is {fd, events}');
          const o = x as Req;
          return {
            fd: a_int(o, 'fd', undefined, -1),
            events: a_flags(o, 'events', POLLFLAGS, 'POLL'),
            revents: 0,
          };
        });
        const n = check(c, await c.poll(fds, a_int(r, 'timeout', -1, -1)));
        return {
          n,
          fds: fds.map((p) => ({ fd: p.fd, revents: flag_names(p.revents, POLLFLAGS) })),
        };
      }),
    );

    /* Kernel state --------------------------------------------------------------- */

    ops.set(
      'sysctl',
      sys(async (c, r) => {
        const name = a_str(r, 'name');
        const mib: number[] = [];
        const sz: [number] = [24];
        check(c, await c.sysctlnametomib(name, mib, sz), name);
        const fb = new Uint8Array(1024);
        const fl: [number] = [fb.length];
        check(c, await c.sysctl([0, 4, ...mib], fb, fl), name);
        const kind = new DataView(fb.buffer).getUint32(0, true);
        const out: Record<string, Json> = { name, type: ctltype_name(kind) };
        const len: [number] = [0];
        const isnode = (kind & 0xf) === 1;
        if (!isnode) {
          if ((await c.sysctl(mib, null, len)) < 0) fail(c.errno, `${name}: ${c.strerror()}`);
          const b = new Uint8Array(len[0] + 64);
          const l2: [number] = [b.length];
          check(c, await c.sysctl(mib, b, l2), name);
          out['value'] = sysctl_json(kind, b.subarray(0, l2[0]));
        }
        if (r['value'] !== undefined || r['data'] !== undefined) {
          const nb = r['data'] !== undefined ? a_bytes(r) : sysctl_encode(kind, r['value']);
          check(c, await c.sysctl(mib, null, null, nb), name);
          const b = new Uint8Array(Math.max(len[0], nb.length) + 64);
          const l3: [number] = [b.length];
          check(c, await c.sysctl(mib, b, l3), name);
          out['old'] = out['value'] ?? null;
          out['value'] = sysctl_json(kind, b.subarray(0, l3[0]));
        }
        return out;
      }),
    );
    ops.set(
      'pcblist',
      sys(async (c, r) => {
        const proto = a_str(r, 'proto', 'all');
        if (proto !== 'tcp' && proto !== 'udp' && proto !== 'all')
          einval('"proto" must be tcp, udp or all');
        const out: Json[] = [];
        for (const p of ['tcp', 'udp'] as const) {
          if (proto !== 'all' && proto !== p) continue;
          const b = await c.sysctlbyname_bytes(`net.inet.${p}.pcblist`);
          if (b === null) fail(c.errno, `net.inet.${p}.pcblist: ${c.strerror()}`);
          const list = xinpcb_decode(b);
          if (list === null) fail(EDOOFUS, `net.inet.${p}.pcblist: bad xinpcb list`);
          for (const x of list) {
            const e: Record<string, Json> = {
              proto: p,
              laddr: inet_ntoa(x.inp_laddr),
              lport: x.inp_lport,
              faddr: inet_ntoa(x.inp_faddr),
              fport: x.inp_fport,
              rcv_cc: x.so_rcv_cc,
              snd_cc: x.so_snd_cc,
              socket: x.xso_so !== 0,
            };
            if (p === 'tcp') e['state'] = TCPSTATES[x.t_state] ?? String(x.t_state);
            out.push(e);
          }
        }
        return { pcbs: out };
      }),
    );
    ops.set(
      'arp',
      sys(async (c) => {
        const msgs = await rt_sysctl_msgs(c, 'net.route.inet.llinfo');
        if (msgs === null) fail(c.errno, `net.route.inet.llinfo: ${c.strerror()}`);
        const now = Math.floor(k.clock.boottime / 1e9 + k.now() / 1e9);
        const out: Json[] = [];
        for (const m of msgs) {
          const dst = m.addrs[RTAX_DST] ?? null;
          const gw = m.addrs[RTAX_GATEWAY] ?? null;
          if (dst === null || dst.kind !== 'inet' || gw === null || gw.kind !== 'link') continue;
          const exp = m.hdr['rmx_expire'] ?? 0;
          out.push({
            addr: inet_ntoa(dst.addr),
            mac: gw.lladdr.length > 0 ? ether_sprintf(gw.lladdr) : null,
            ifname: gw.name,
            permanent: exp === 0,
            expires: exp === 0 ? null : Math.max(0, exp - now),
          });
        }
        return { entries: out };
      }),
    );
    ops.set(
      'routes',
      sys(async (c) => {
        const msgs = await rt_sysctl_msgs(c, 'net.route.inet.dump');
        if (msgs === null) fail(c.errno, `net.route.inet.dump: ${c.strerror()}`);
        const out: Json[] = [];
        for (const m of msgs) {
          const dst = m.addrs[RTAX_DST] ?? null;
          if (dst === null || dst.kind !== 'inet') continue;
          const mask = m.addrs[RTAX_NETMASK] ?? null;
          const flags = m.hdr['rtm_flags'] ?? 0;
          const ifp = m.addrs[RTAX_IFP] ?? null;
          out.push({
            dst: inet_ntoa(dst.addr),
            prefixlen: mask_len(mask, flags),
            gateway: gw_json(m.addrs[RTAX_GATEWAY] ?? null),
            flags: rt_flags_letters(flags),
            ifname: ifp !== null && ifp.kind === 'link' ? ifp.name : null,
          });
        }
        return { routes: out };
      }),
    );
    ops.set(
      'stats',
      sys(async (c, r) => {
        const want = a_str(r, 'proto', 'all');
        if (want !== 'all' && !STATS.has(want))
          einval(`"proto" must be one of ${[...STATS.keys()].join(', ')} or all`);
        const nz = a_bool(r, 'nonzero');
        const out: Record<string, Json> = {};
        for (const [p, def] of STATS) {
          if (want !== 'all' && want !== p) continue;
          const b = new Uint8Array(def.fields.length * 8 + 256);
          const len: [number] = [b.length];
          check(c, await c.sysctlbyname(def.sysctl, b, len), def.sysctl);
          const dv = new DataView(b.buffer);
          const vals: Record<string, Json> = {};
          def.fields.forEach((f, i) => {
            if ((i + 1) * 8 > len[0]) return;
            const v = dv.getUint32(i * 8, true) + dv.getUint32(i * 8 + 4, true) * 4294967296;
            if (!nz || v !== 0) vals[f] = v;
          });
          out[p] = vals;
        }
        return out;
      }),
    );
    ops.set(
      'tcpdrop',
      sys(async (c, r) => {
        const list = await tcp_pcblist(c);
        if (list === null) fail(c.errno, `net.inet.tcp.pcblist: ${c.strerror()}`);
        const one = r['laddr'] !== undefined;
        let want = -1;
        if (!one) {
          const st = a_str(r, 'state', 'TIME_WAIT');
          if (st.toLowerCase() !== 'all') {
            want = TCPSTATES.findIndex((n) => n.toLowerCase() === st.toLowerCase());
            if (want < 0) einval(`unknown TCP state "${st}"`);
          }
        }
        const targets = one
          ? [
              {
                laddr: parse_inet(a_str(r, 'laddr'), 'laddr'),
                lport: a_int(r, 'lport', undefined, 1, 65535),
                faddr: parse_inet(a_str(r, 'faddr'), 'faddr'),
                fport: a_int(r, 'fport', undefined, 1, 65535),
                state: 0,
              },
            ]
          : list.filter((x) => tcp_droppable(x) && (want < 0 || x.state === want));
        const dropped: Json[] = [];
        for (const t of targets) {
          if ((await tcp_drop_conn(c, t)) < 0) {
            if (one) fail(c.errno, `${tcp_conn_name(t)}: ${c.strerror()}`);
            continue; // gone meanwhile
          }
          dropped.push({
            laddr: inet_ntoa(t.laddr),
            lport: t.lport,
            faddr: inet_ntoa(t.faddr),
            fport: t.fport,
          });
        }
        return { count: dropped.length, dropped };
      }),
    );

    /* Time ------------------------------------------------------------------------ */

    ops.set('clock', async (_s, r) => {
      const ms = r['advance_ms'];
      const ns = r['advance_ns'];
      let adv = 0;
      if (ns !== undefined) adv = a_int(r, 'advance_ns', 0, 0, CTL_MAXADVANCE);
      else if (ms !== undefined) {
        if (typeof ms !== 'number' || !(ms >= 0) || ms * 1e6 > CTL_MAXADVANCE)
          einval(`"advance_ms" must be a number from 0 to ${CTL_MAXADVANCE / 1e6}`);
        adv = Math.round(ms * 1e6);
      }
      const idle = a_bool(r, 'idle');
      if (idle && adv > 0) einval('give "idle" or an advance, not both');
      let isidle: boolean | null = null;
      if (idle) {
        const max = a_int(r, 'max_ms', 3600000, 0, CTL_MAXADVANCE / 1e6) * 1e6;
        isidle = await this.drive(() => this.run_idle(max));
      } else if (adv > 0) await this.drive(() => k.run_for(adv / 1e9));
      const out: Record<string, Json> = {
        time_ns: k.now(),
        time_ms: k.now() / 1e6,
        clock: k.clock.kind,
      };
      if (isidle !== null) out['idle'] = isidle;
      return out;
    });

    /* Taps ------------------------------------------------------------------------ */

    ops.set('tap', async (s, r) => {
      // Without "ifname": every interface of the jail's vnet.
      const { ifp, vnet } =
        r['ifname'] === undefined ? { ifp: null, vnet: this.prison(r).vnet } : this.find_if(r);
      const dir = a_str(r, 'direction', 'out');
      if (dir !== 'in' && dir !== 'out' && dir !== 'inout')
        einval('"direction" must be in, out or inout');
      const t: Tap = {
        id: ++this.ntap,
        s,
        ifp,
        vnet,
        dir,
        link: a_bool(r, 'link'),
        encoding: a_encoding(r),
      };
      s.taps.add(t);
      const list = this.taps.get(ifp ?? vnet) ?? [];
      list.push(t);
      this.taps.set(ifp ?? vnet, list);
      if (!this.capture_on) {
        const g = k.netglobal['bpf'] as { capture: BpfCapture | null } | undefined;
        this.prev_capture = g?.capture ?? null;
        this.capture_on = true;
        bpf_capture_set(k, this.capture);
      }
      if (ifp === null) return { tap: t.id, ifname: null, dlt: null, mac: null };
      const bp = ifp.if_bpf as { bif_dlt: number } | null;
      return {
        tap: t.id,
        ifname: ifp.if_xname,
        dlt: bp === null ? null : bp.bif_dlt === DLT_EN10MB ? 'EN10MB' : 'NULL',
        mac: ifp.if_lladdr !== null ? ether_sprintf(ifp.if_lladdr) : null,
      };
    });
    ops.set('untap', async (s, r) => {
      this.untap(this.find_tap(s, r));
      return {};
    });
    ops.set('inject', async (s, r) => {
      let ifp: Ifnet | null;
      let vnet: Vnet;
      if (r['tap'] !== undefined && r['ifname'] === undefined)
        ({ ifp, vnet } = this.find_tap(s, r));
      else ({ ifp, vnet } = this.find_if(r));
      if (ifp === null) einval('that tap is on a whole vnet: say which interface ("ifname")');
      const pkt = a_bytes(r);
      if (pkt.length < 20 || pkt[0]! >> 4 !== 4) einval('"data" must be an IPv4 packet');
      // ip_len is 16 bits: nothing longer is an IPv4 packet (nor fits an mbuf cluster).
      if (pkt.length > IP_MAXPACKET)
        einval(`"data" is ${pkt.length} bytes, above the IPv4 maximum of ${IP_MAXPACKET}`);
      const loop = (ifp.if_flags & IFF_LOOPBACK) !== 0;
      let frame = pkt;
      if (!loop) {
        const dst = ifp.if_lladdr;
        if (dst === null) fail(EOPNOTSUPP, `${ifp.if_xname}: not an Ethernet interface`);
        const src = r['src_mac'] !== undefined ? parse_mac(a_str(r, 'src_mac')) : DEF_SRC_MAC;
        frame = new Uint8Array(14 + pkt.length);
        ether_addr_write(frame, 0, dst);
        frame.set(src, 6);
        frame[12] = 0x08;
        frame[13] = 0x00;
        frame.set(pkt, 14);
      }
      // Whether the packet was handed to the interface is known only inside the drive
      // (the interface may have moved to another vnet, the pool may be out of buffers
      // meanwhile): a packet that was not is an error, never a {len}.
      let err = 0;
      await this.drive(() =>
        this.intr(() =>
          with_vnet(vnet, () => {
            if (ifp.if_vnet !== vnet) {
              err = ENXIO;
              return;
            }
            const m = k.mbpool.m_devget(frame, ifp);
            if (m === null) {
              err = ENOBUFS;
              return;
            }
            if (loop) if_simloop(ifp, m, SK.AF_INET);
            else ifp.if_input(ifp, m);
          }),
        ),
      );
      if (err === ENXIO) fail(ENXIO, `${ifp.if_xname}: no longer in that jail's vnet`);
      if (err === ENOBUFS) fail(ENOBUFS, `${ifp.if_xname}: no mbuf for ${frame.length} bytes`);
      return { len: pkt.length };
    });

    /* Commands ---------------------------------------------------------------------- */

    ops.set('sh', async (s, r, ctx) => {
      const cmd = a_str(r, 'command');
      const input = a_str(r, 'stdin', '');
      const { pr } = this.prison(r);
      // Started inside drive, answered from the shell's thread: the shell runs as the
      // kernel does (a command that sleeps finishes when a client moves the clock).
      // The shell belongs to the session (killed when the client leaves; a shell killed
      // otherwise is answered by reap), so it never outlives its client unanswered.
      await this.drive(() => {
        // Removed while this waited its turn: a process must not enter a dying jail.
        if (pr.pr_state !== PRISON_STATE_ALIVE) fail(ENOENT, `jail "${this.jname(pr)}" not found`);
        if (!s.closed) this.sh(s, ctx, pr, cmd, input);
      });
      return SENT;
    });

    ops.set('shutdown_endpoint', async () => {
      setImmediateSafe(() => this.opts.onShutdown?.());
      return {};
    });

    return ops;
  }

  /** clock idle: run callouts one deadline at a time until none is left or max passes. */
  private async run_idle(max_ns: number): Promise<boolean> {
    const k = this.k;
    const deadline = k.now() + max_ns;
    for (;;) {
      const next = k.callwheel.next_time();
      if (next === Infinity) return true;
      if (next > deadline) {
        if (deadline > k.now()) await k.run_for((deadline - k.now()) / 1e9);
        return k.callwheel.next_time() === Infinity;
      }
      await k.run_for(Math.max(0, next - k.now()) / 1e9);
    }
  }

  /** A shell returned: it is answered by its thread; what it left running is the client's. */
  private sh_done(s: Session, run: ShRun, p: Proc): void {
    s.shs.delete(run);
    if (s.closed) return;
    for (const q of proc_tree(p)) if (q !== p && this.alive(q)) s.orphans.add(q);
  }

  /**
   * sh: /bin/sh -c COMMAND as a new process of the jail (as `jexec JAIL sh -c` would
   * run it), its standard output and error collected; the reply, {status, stdout,
   * stderr}, is sent from the shell's thread when the shell returns, or by reap() when
   * the process died otherwise (killed: status 128 + the signal; exit(2)ed: its status).
   * Called inside drive(); the shell runs as the kernel does.
   */
  private sh(s: Session, ctx: Ctx, pr: Prison, cmd: string, input: string): void {
    const k = this.k;
    if (exec_lookup(k, '/', '/bin/sh') === undefined) install_programs(k);
    const img = exec_lookup(k, '/', '/bin/sh')!;
    let out = '';
    let err = '';
    const d1 = new TextDecoder();
    const d2 = new TextDecoder();
    const cout = new Cons(k, (b) => void (out += d1.decode(b, { stream: true })));
    const cerr = new Cons(k, (b) => void (err += d2.decode(b, { stream: true })));
    if (input !== '') cout.push(new TextEncoder().encode(input));
    cout.cn_eof = true;
    const f = cons_file(cout);
    const run: ShRun = { ctx, proc: null, out: () => ({ stdout: out, stderr: err }) };
    s.shs.add(run);
    const p = k.proc_create('sh', { cr_uid: 0, cr_prison: pr }, async (td) => {
      let st: number;
      try {
        st = await img(
          k,
          td,
          ['sh', '-c', cmd],
          ['PATH=/sbin:/bin:/usr/sbin:/usr/bin', 'HOME=/', 'USER=root', 'SHELL=/bin/sh'],
        );
      } catch (e) {
        // A program's exception would panic the kernel from thread_start; it is the
        // endpoint's bug to report (EDOOFUS), and the shell exits as EX_SOFTWARE.
        this.sh_done(s, run, td.td_proc);
        this.finish(s, ctx, this.as_error(e));
        return 70;
      }
      this.sh_done(s, run, td.td_proc);
      this.finish(s, ctx, { status: st, stdout: out, stderr: err });
      return st;
    });
    run.proc = p;
    [f, f, cons_file(cerr)].forEach((fp, i) => {
      if (i === 1) fp.f_count++;
      p.p_fd!.fd_ofiles[i] = { fde_file: fp, fde_flags: 0 };
    });
  }
}

/** p and its descendants, p first (children are taken before any of them exits). */
function proc_tree(p: Proc): Proc[] {
  const out = [p];
  for (let i = 0; i < out.length; i++) out.push(...out[i]!.p_children);
  return out;
}

function setImmediateSafe(fn: () => void): void {
  setImmediate(() => {
    try {
      fn();
    } catch {
      /* the host's callback: nothing to report to */
    }
  });
}
