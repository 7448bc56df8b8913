/*
 * bench/vxlan.ts — TCP throughput and 64-byte UDP datagram rate between a vnet and a
 * Linux network namespace over vxlan, beside Linux-to-Linux over a veth pair measured
 * in the same run.
 *
 * Needs root and network namespaces (ip from iproute2, ethtool); otherwise it says why
 * and exits 0 without writing a result (benchmarks are not part of CI).  Everything it
 * makes on the host — two namespaces, two veth pairs, a Linux vxlan — is removed at the
 * end, also when a round fails or the run is interrupted.  Underlay and overlay
 * addresses differ from test/sys/net/linux_peer.test.ts's, so both can run at once.
 *
 *   GENERIC kernel, real clock                namespace L                 namespace P
 *   jail "vx": vxlan0 198.18.1.1/24           vx43 198.18.1.2/24
 *     host UDP 198.18.254.1:4789 == veth ==== 198.18.254.2:4789
 *                                             veth 198.18.2.2/24 ======== 198.18.2.1/24
 *
 * The Linux endpoints are one small Node program (PEER_JS below, written to a temporary
 * file and run with `ip netns exec`), the same in every measurement, so a figure and its
 * baseline differ only in the other end and the path: a process in our vnet over vxlan
 * (frames through vxlan(4), the host's UDP socket and the veth into Linux's vxlan), or
 * the same program in namespace P over a plain veth pair.  Our end is a process in the
 * jail using the socket API through Libc, as bench/tcp.ts's.
 *
 * TCP: the sender writes TOTAL bytes (BASE_TOTAL for Linux to Linux, which is a hundred
 * times faster: a longer run keeps setup out of the figure) in 64 KiB writes and
 * closes; the receiver reads until EOF and times from accept to EOF, counting bytes,
 * which must be the total.  Figures in bytes/s, each direction against the same
 * baseline (Linux to Linux; veth is symmetric).
 *
 * UDP: the sender sends 64-byte datagrams with at most WINDOW not yet acknowledged; the
 * receiver answers every ACK_EVERY datagrams with its count (a 4-byte datagram back to
 * the sender), so neither end's socket buffer overflows however fast either side is;
 * a sender that hears nothing for 100 ms counts a stall and goes on (a lost
 * acknowledgement or datagram must not hang the run).  The receiver times from its
 * first datagram to its last; rate = datagrams received / that time, and the datagrams
 * lost are printed.  N datagrams from our end, BASE_N between Linux ends.
 *
 * Rounds alternate (WARMUP first, not counted); the figures are the medians of ROUNDS.
 * Expect +-30% between runs on a shared machine (the Linux UDP figure most: Node's
 * per-datagram cost on both of its ends bounds it).
 *
 * Goals: what this design should reach, not what Linux does.  Between two vnets over an
 * epair our TCP moves about 130 MB/s (bench/tcp); over vxlan every segment also costs
 * one host UDP send or receive from JavaScript, so 60-70 MB/s is within reach: TCP >=
 * 0.05 of Linux-to-Linux each way.  Our 64-byte datagrams cost less than Node's own, so
 * UDP >= 0.5 each way.  Measured at first: TCP 0.04-0.05 out, 0.02-0.024 in, UDP 0.45-0.5
 * out and 0.24-0.28 in.  Then a Linux-to-vnet TCP run switched threads twice per frame
 * (48k switches per 32 MiB; k.sched.pcb_capture was a quarter of the profile): Node
 * drains the microtask queue after every datagram it delivers, and the driver entered
 * the kernel per datagram, so the netisr thread and the reader ran once per frame.  The
 * host endpoint now hands over a turn's datagrams as one batch (host/udp.ts; about 31 a
 * batch here, 0.04 switches a frame), and a frame leaves with its header prepended in
 * the mbuf: TCP 0.055-0.06 out and 0.07-0.085 in, UDP 0.54-0.58 out and 0.6-0.62 in
 * (three runs).
 *
 * Where the time goes now (the counts after each measurement, `node dist/bench/vxlan.js
 * tcp-in` with VXLAN_CPUPROF=FILE for a profile of one direction): about 5-9 us of
 * JavaScript and 5-7 us of system time a frame.  The host's send is the largest item
 * (35-50% of a TCP profile): over a veth the Linux side's receive path — the outer
 * IP/UDP, the vxlan decapsulation, the inner TCP and the peer's wakeup — runs inside our
 * sendmsg, and on two shared cores the woken peer may preempt us there (perf shows the
 * switch on sendmsg's way back to user mode).  A Linux-to-vnet
 * run sends an ACK every second segment (delayed ACK), a third of its host sends;
 * FreeBSD's LRO would merge a batch's segments and ACK once, which is where the next
 * gain is.  64-byte UDP is paced by the window of 256 and the Node sink in the
 * namespace: our process is idle about a third of a vnet-to-Linux run.
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot } from '../src/kern/boot.js';
import type { Kernel } from '../src/kern/kernel.js';
import { prison_find_name, type Prison } from '../src/kern/kern_jail.js';
import { proc_create } from '../src/kern/kern_proc.js';
import { Libc } from '../src/lib/libc.js';
import { shell_batch } from '../src/bin/console.js';
import {
  AF_INET,
  MSG_DONTWAIT,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_RCVTIMEO,
} from '../src/sys/socket.js';
import { EWOULDBLOCK } from '../src/sys/errno.js';
import { inet_aton, sockaddr_in_bytes as sin } from '../src/netinet/in.js';
import { host_net, type HostNet } from '../src/host/udp.js';
import { report } from './lib.js';

const MiB = 1024 * 1024;
const TOTAL = 32 * MiB;
const BASE_TOTAL = 512 * MiB;
const CHUNK = 65536;
const SIZE = 64;
const N = 50_000;
const BASE_N = 400_000;
const WINDOW = 256;
const ACK_EVERY = 32;
const WARMUP = 1;
const ROUNDS = 5;
const TCP_PORT = 5201;
const UDP_PORT = 5202;

const pid = process.pid;
const NSL = `vimage-vxb-${pid}`;
const NSP = `vimage-vxp-${pid}`;
const VU = `vxb${pid}`; // root side of the underlay veth
const VUN = `vxbn${pid}`; // its namespace-L side
const VPL = `vxpl${pid}`; // the Linux-to-Linux veth, L side
const VPP = `vxpp${pid}`; // its P side
const OURS = '198.18.1.1';
const LINUX = '198.18.1.2';
const PEER_L = '198.18.2.2';
const PEER_P = '198.18.2.1';

/* ------------------------------------------------------------------------------ */
/* The Linux end: one Node program, one JSON line of result on standard output.    */

const PEER_JS = `
import net from 'node:net';
import dgram from 'node:dgram';
const [mode, host, p, n1, n2, n3] = process.argv.slice(2);
const port = Number(p);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const now = () => Number(process.hrtime.bigint()) / 1e6;
const fail = (e) => { out({ error: String(e && e.message || e) }); process.exit(1); };
if (mode === 'tcp-sink') {
  const srv = net.createServer((s) => {
    const t0 = now();
    let bytes = 0;
    s.on('data', (b) => { bytes += b.length; });
    s.on('end', () => { out({ bytes, ms: now() - t0 }); s.end(); srv.close(); });
    s.on('error', fail);
  });
  srv.on('error', fail);
  srv.listen(port, host, () => out({ ready: true }));
} else if (mode === 'tcp-source') {
  const total = Number(n1);
  const chunk = Buffer.alloc(${CHUNK}, 0x5a);
  let sent = 0;
  const s = net.connect(port, host);
  const pump = () => {
    while (sent < total) {
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { s.once('drain', pump); return; }
    }
    s.end();
  };
  s.on('connect', pump);
  s.on('error', fail);
  s.on('close', () => out({ sent }));
} else if (mode === 'udp-sink') {
  const count = Number(n1), every = Number(n2);
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
  let got = 0, t0 = 0, t1 = 0, idle = null;
  const ack = Buffer.alloc(4);
  const finish = () => { out({ got, ms: t1 - t0 }); s.close(); };
  s.on('message', (m, r) => {
    if (m.length !== ${SIZE}) return;
    t1 = now();
    if (got++ === 0) t0 = t1;
    if (got % every === 0 || got === count) { ack.writeUInt32BE(got); s.send(ack, r.port, r.address); }
    if (idle !== null) clearTimeout(idle);
    if (got === count) finish(); else idle = setTimeout(finish, 1000);
  });
  s.on('error', fail);
  s.bind(port, host, () => out({ ready: true }));
} else if (mode === 'udp-source') {
  const count = Number(n1), window = Number(n2);
  const s = dgram.createSocket('udp4');
  const d = Buffer.alloc(${SIZE}, 0x5a);
  let sent = 0, acked = 0, stalls = 0, timer = null;
  const pump = () => {
    if (timer !== null) clearTimeout(timer);
    while (sent < count && sent - acked < window) { s.send(d); sent++; }
    if (sent < count || acked < count) timer = setTimeout(() => { stalls++; acked = sent; if (sent < count) pump(); else done(); }, 100);
    else done();
  };
  const done = () => { if (timer !== null) clearTimeout(timer); timer = null; out({ sent, stalls }); s.close(); };
  s.on('message', (m) => { if (m.length === 4) { acked = Math.max(acked, m.readUInt32BE(0)); if (sent < count || acked < count) pump(); else done(); } });
  s.on('error', fail);
  s.connect(port, host, pump);
} else fail('mode?');
`;

/* ------------------------------------------------------------------------------ */
/* Host plumbing.                                                                  */

function host(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function host_err(e: unknown): string {
  const x = e as { stderr?: string; message?: string };
  return (x.stderr?.trim() || x.message || String(e)).trim();
}

const children = new Set<ChildProcess>();
let made = false;
let peerdir = '';

function skip(why: string): never {
  console.log(`vxlan: skipped: ${why}`);
  process.exit(0);
}

/** Namespaces and the root-side veth of runs that died before cleaning up. */
function remove_stale(): void {
  let list = '';
  try {
    list = host('ip', ['netns', 'list']);
  } catch {
    return;
  }
  for (const m of list.matchAll(/^vimage-vx[bp]-(\d+)\b/gm)) {
    const p = Number(m[1]);
    try {
      process.kill(p, 0);
      continue; // that run is alive
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    for (const [c, a] of [
      ['ip', ['link', 'del', `vxb${p}`]],
      ['ip', ['netns', 'del', m[0]]],
    ] as const) {
      try {
        host(c, a);
      } catch {
        /* already gone */
      }
    }
  }
}

function linux_setup(): void {
  if (process.getuid?.() !== 0) skip('needs root (network namespaces, veth, vxlan)');
  try {
    host('ip', ['-V']);
    host('ethtool', ['--version']);
  } catch {
    skip('needs ip (iproute2) and ethtool');
  }
  remove_stale();
  try {
    host('ip', ['netns', 'add', NSL]);
  } catch (e) {
    skip(`cannot create a network namespace (ip netns add: ${host_err(e)})`);
  }
  made = true;
  host('ip', ['netns', 'add', NSP]);
  const ip = (...a: string[]): string => host('ip', a);
  const nl = (...a: string[]): string => host('ip', ['-n', NSL, ...a]);
  const np = (...a: string[]): string => host('ip', ['-n', NSP, ...a]);
  const noipv6 = (ns: string, dev: string): string =>
    host('ip', [
      'netns',
      'exec',
      ns,
      'sh',
      '-c',
      `echo 1 > /proc/sys/net/ipv6/conf/${dev}/disable_ipv6`,
    ]);
  // The underlay: root <-> L, room for 1500-byte inner frames plus 50 bytes of VXLAN.
  ip('link', 'add', VU, 'type', 'veth', 'peer', 'name', VUN, 'netns', NSL);
  ip('link', 'set', VU, 'mtu', '1550');
  ip('addr', 'add', '198.18.254.1/30', 'dev', VU);
  ip('link', 'set', VU, 'up');
  nl('link', 'set', 'lo', 'up');
  nl('link', 'set', VUN, 'mtu', '1550');
  nl('addr', 'add', '198.18.254.2/30', 'dev', VUN);
  noipv6(NSL, VUN);
  nl('link', 'set', VUN, 'up');
  nl(
    ...['link', 'add', 'vx43', 'type', 'vxlan', 'id', '43', 'local', '198.18.254.2'],
    ...['remote', '198.18.254.1', 'dstport', '4789', 'dev', VUN, 'nolearning'],
  );
  nl('link', 'set', 'vx43', 'mtu', '1500');
  // Inner checksums in software (see linux_peer.test.ts: CHECKSUM_PARTIAL otherwise).
  host('ip', ['netns', 'exec', NSL, 'ethtool', '-K', 'vx43', 'tx', 'off']);
  noipv6(NSL, 'vx43');
  nl('addr', 'add', `${LINUX}/24`, 'dev', 'vx43');
  nl('link', 'set', 'vx43', 'up');
  // Linux to Linux: L <-> P over a plain veth pair.
  nl('link', 'add', VPL, 'type', 'veth', 'peer', 'name', VPP, 'netns', NSP);
  nl('addr', 'add', `${PEER_L}/24`, 'dev', VPL);
  noipv6(NSL, VPL);
  nl('link', 'set', VPL, 'up');
  np('link', 'set', 'lo', 'up');
  np('addr', 'add', `${PEER_P}/24`, 'dev', VPP);
  noipv6(NSP, VPP);
  np('link', 'set', VPP, 'up');
  peerdir = mkdtempSync(join(tmpdir(), 'vimage-vxb-'));
  writeFileSync(join(peerdir, 'peer.mjs'), PEER_JS);
}

function linux_teardown(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  if (peerdir !== '') rmSync(peerdir, { recursive: true, force: true });
  peerdir = '';
  if (!made) return;
  made = false;
  const errs: string[] = [];
  for (const [c, a, must] of [
    ['ip', ['link', 'del', VU], false],
    ['ip', ['netns', 'del', NSL], true],
    ['ip', ['netns', 'del', NSP], true],
  ] as const) {
    try {
      host(c, a);
    } catch (e) {
      if (must) errs.push(`${c} ${a.join(' ')}: ${host_err(e)}`);
    }
  }
  if (errs.length) console.error(`vxlan: cleanup: ${errs.join('; ')}`);
}

interface PeerRun {
  /** Resolves once a listener says it is ready (a client: at once). */
  ready: Promise<void>;
  /** The program's last JSON line; rejects if it failed or timed out. */
  done: Promise<Record<string, number>>;
}

/** Run PEER_JS in namespace ns. */
function peer(ns: string, args: readonly (string | number)[], timeout_ms = 120_000): PeerRun {
  const c = spawn(
    'ip',
    ['netns', 'exec', ns, process.execPath, join(peerdir, 'peer.mjs'), ...args.map(String)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(c);
  let out = '';
  let err = '';
  let ready: () => void = () => {};
  const rp = new Promise<void>((r) => (ready = r));
  if (String(args[0]).endsWith('source')) ready();
  c.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    if (out.includes('"ready":true')) ready();
  });
  c.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const done = new Promise<Record<string, number>>((resolve, reject) => {
    const t = setTimeout(() => {
      err += `[killed after ${timeout_ms} ms]`;
      c.kill('SIGKILL');
    }, timeout_ms);
    c.on('close', (code) => {
      clearTimeout(t);
      children.delete(c);
      const lines = out.trim().split('\n');
      let last: Record<string, number> = {};
      try {
        last = JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, number>;
      } catch {
        /* reported below */
      }
      if (code !== 0 || 'error' in last || 'ready' in last || Object.keys(last).length === 0)
        reject(new Error(`peer ${args.join(' ')} in ${ns}: exit ${code}: ${out}${err}`));
      else resolve(last);
    });
  });
  done.catch(() => ready()); // a listener that died never says ready
  return { ready: rp, done };
}

/* ------------------------------------------------------------------------------ */
/* Our end: processes in the jail.                                                 */

/** Start main(libc) as a root process of pr; resolves when it returns. */
function kproc(k: Kernel, pr: Prison, main: (c: Libc) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    proc_create(k, 'vxbench', { cr_uid: 0, cr_prison: pr }, async (td) => {
      try {
        await main(new Libc(k, td));
        resolve();
      } catch (e) {
        reject(e as Error);
      }
      return 0;
    });
    k.sched.kick();
  });
}

async function sys(c: Libc, what: string, p: Promise<number>): Promise<number> {
  const r = await p;
  if (r < 0) throw new Error(`${what}: ${c.strerror()}`);
  return r;
}

/** A struct timeval of ms milliseconds (SO_RCVTIMEO). */
function timeval(ms: number): Uint8Array {
  const b = new Uint8Array(16);
  const d = new DataView(b.buffer);
  d.setBigInt64(0, BigInt(Math.floor(ms / 1000)), true);
  d.setBigInt64(8, BigInt((ms % 1000) * 1000), true);
  return b;
}

const addr = (s: string): number => inet_aton(s)!;

/** Our process writes TOTAL bytes to Linux's sink. */
async function tcp_ours_to_linux(k: Kernel, pr: Prison): Promise<number> {
  const sink = peer(NSL, ['tcp-sink', LINUX, TCP_PORT]);
  await sink.ready;
  const send = kproc(k, pr, async (c) => {
    const s = await sys(c, 'socket', c.socket(AF_INET, SOCK_STREAM, 0));
    await sys(c, 'connect', c.connect(s, sin(addr(LINUX), TCP_PORT)));
    const buf = new Uint8Array(CHUNK).fill(0x5a);
    for (let sent = 0; sent < TOTAL;)
      sent += await sys(c, 'write', c.write(s, buf, Math.min(CHUNK, TOTAL - sent)));
    await sys(c, 'close', c.close(s));
  });
  const [r] = await Promise.all([sink.done, send]);
  if (r['bytes'] !== TOTAL) throw new Error(`Linux received ${r['bytes']} of ${TOTAL} bytes`);
  return (TOTAL * 1000) / r['ms']!;
}

/** Linux's source writes TOTAL bytes to our process. */
async function tcp_linux_to_ours(k: Kernel, pr: Prison): Promise<number> {
  let listening: () => void = () => {};
  const lp = new Promise<void>((r) => (listening = r));
  let got = 0;
  let ms = 0;
  const recv = kproc(k, pr, async (c) => {
    const l = await sys(c, 'socket', c.socket(AF_INET, SOCK_STREAM, 0));
    await sys(c, 'bind', c.bind(l, sin(addr(OURS), TCP_PORT)));
    await sys(c, 'listen', c.listen(l, 1));
    listening();
    const s = await sys(c, 'accept', c.accept(l, null, null));
    const t0 = performance.now();
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      const n = await sys(c, 'read', c.read(s, buf));
      if (n === 0) break;
      got += n;
    }
    ms = performance.now() - t0;
    await c.close(s);
    await c.close(l);
  });
  await lp;
  const src = peer(NSL, ['tcp-source', OURS, TCP_PORT, TOTAL]);
  await Promise.all([src.done, recv]);
  if (got !== TOTAL) throw new Error(`we received ${got} of ${TOTAL} bytes`);
  return (TOTAL * 1000) / ms;
}

/** Linux to Linux over the veth pair: P's source to L's sink. */
async function tcp_linux_to_linux(): Promise<number> {
  const sink = peer(NSL, ['tcp-sink', PEER_L, TCP_PORT]);
  await sink.ready;
  const src = peer(NSP, ['tcp-source', PEER_L, TCP_PORT, BASE_TOTAL]);
  const [r] = await Promise.all([sink.done, src.done]);
  if (r['bytes'] !== BASE_TOTAL) throw new Error(`received ${r['bytes']} of ${BASE_TOTAL}`);
  return (BASE_TOTAL * 1000) / r['ms']!;
}

interface Rate {
  /** Datagrams per second received. */
  rate: number;
  lost: number;
}

/** Our process sends N datagrams to Linux's sink, at most WINDOW unacknowledged. */
async function udp_ours_to_linux(k: Kernel, pr: Prison): Promise<Rate> {
  const sink = peer(NSL, ['udp-sink', LINUX, UDP_PORT, N, ACK_EVERY]);
  await sink.ready;
  const send = kproc(k, pr, async (c) => {
    const s = await sys(c, 'socket', c.socket(AF_INET, SOCK_DGRAM, 0));
    await sys(c, 'SO_RCVTIMEO', c.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, timeval(100)));
    await sys(c, 'connect', c.connect(s, sin(addr(LINUX), UDP_PORT)));
    const d = new Uint8Array(SIZE).fill(0x5a);
    const a = new Uint8Array(16);
    let sent = 0;
    let acked = 0;
    const ack = (n: number): void => {
      if (n === 4) acked = Math.max(acked, new DataView(a.buffer).getUint32(0));
    };
    while (acked < N) {
      while (sent < N && sent - acked < WINDOW) {
        await sys(c, 'send', c.send(s, d));
        sent++;
      }
      // Take what acknowledgements are there, then wait for one (100 ms at most).
      let n: number;
      while ((n = await c.recv(s, a, a.length, MSG_DONTWAIT)) >= 0) ack(n);
      if (sent - acked < WINDOW && sent < N) continue;
      n = await c.recv(s, a);
      if (n >= 0) ack(n);
      else if (c.errno === EWOULDBLOCK)
        acked = sent; // lost: go on
      else throw new Error(`recv: ${c.strerror()}`);
    }
    await c.close(s);
  });
  const [r] = await Promise.all([sink.done, send]);
  return { rate: ((r['got']! - 1) * 1000) / r['ms']!, lost: N - r['got']! };
}

/** Linux's source sends N datagrams to our process, which acknowledges. */
async function udp_linux_to_ours(k: Kernel, pr: Prison): Promise<Rate> {
  let bound: () => void = () => {};
  const bp = new Promise<void>((r) => (bound = r));
  let got = 0;
  let t0 = 0;
  let t1 = 0;
  const recv = kproc(k, pr, async (c) => {
    const s = await sys(c, 'socket', c.socket(AF_INET, SOCK_DGRAM, 0));
    await sys(c, 'SO_RCVTIMEO', c.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, timeval(1000)));
    await sys(c, 'SO_RCVBUF', c.setsockopt(s, SOL_SOCKET, SO_RCVBUF, 1 << 20));
    await sys(c, 'bind', c.bind(s, sin(addr(OURS), UDP_PORT)));
    bound();
    const buf = new Uint8Array(2048);
    const from = new Uint8Array(16);
    const a = new Uint8Array(4);
    const av = new DataView(a.buffer);
    while (got < N) {
      const n = await c.recvfrom(s, buf, buf.length, 0, from, [from.length]);
      if (n < 0) {
        if (c.errno === EWOULDBLOCK && got > 0) break; // a second of silence: done
        if (c.errno === EWOULDBLOCK) continue;
        throw new Error(`recvfrom: ${c.strerror()}`);
      }
      if (n !== SIZE) continue;
      t1 = performance.now();
      if (got++ === 0) t0 = t1;
      if (got % ACK_EVERY === 0 || got === N) {
        av.setUint32(0, got);
        await sys(c, 'sendto', c.sendto(s, a, 4, 0, from));
      }
    }
    await c.close(s);
  });
  await bp;
  const src = peer(NSL, ['udp-source', OURS, UDP_PORT, N, WINDOW]);
  await Promise.all([src.done, recv]);
  return { rate: ((got - 1) * 1000) / (t1 - t0), lost: N - got };
}

/** Linux to Linux: P's source to L's sink. */
async function udp_linux_to_linux(): Promise<Rate> {
  const sink = peer(NSL, ['udp-sink', PEER_L, UDP_PORT, BASE_N, ACK_EVERY]);
  await sink.ready;
  const src = peer(NSP, ['udp-source', PEER_L, UDP_PORT, BASE_N, WINDOW]);
  const [r] = await Promise.all([sink.done, src.done]);
  return { rate: ((r['got']! - 1) * 1000) / r['ms']!, lost: BASE_N - r['got']! };
}

/* ------------------------------------------------------------------------------ */

/** What our end asked of the host: datagrams sent and received, receive batches. */
const hostio = { sent: 0, received: 0, batches: 0 };

/** The host's UDP, counting (the kernel is given this instead of host_net). */
const counting_net: HostNet = {
  udp_open(address, port, oninput, onbound, onerror) {
    const ep = host_net.udp_open(
      address,
      port,
      (batch) => {
        hostio.batches++;
        hostio.received += batch.n;
        oninput(batch);
      },
      onbound,
      onerror,
    );
    return {
      send(data, rport, raddr): void {
        hostio.sent++;
        ep.send(data, rport, raddr);
      },
      close: () => ep.close(),
    };
  },
};

/** Run f, and say per frame what it cost: context switches, host sends and receives. */
async function counted<T>(k: Kernel, what: string, f: () => Promise<T>): Promise<T> {
  const sw0 = k.sched.nswitch;
  const h0 = { ...hostio };
  const cpu0 = process.cpuUsage();
  const r = await f();
  const cpu = process.cpuUsage(cpu0);
  const sent = hostio.sent - h0.sent;
  const received = hostio.received - h0.received;
  const batches = hostio.batches - h0.batches;
  const frames = sent + received;
  console.log(
    `vxlan:   ${what}: ${sent} frames sent, ${received} received in ${batches} batches ` +
      `(${(received / Math.max(1, batches)).toFixed(1)} a batch), ` +
      `${((k.sched.nswitch - sw0) / Math.max(1, frames)).toFixed(3)} switches a frame; ` +
      `this process's CPU ${(cpu.user / Math.max(1, frames)).toFixed(1)} us user, ` +
      `${(cpu.system / Math.max(1, frames)).toFixed(1)} us system a frame`,
  );
  return r;
}

async function ours_setup(): Promise<{ k: Kernel; pr: Prison }> {
  const k = boot({ kernconf: 'GENERIC', clock: 'real', hostnet: counting_net });
  const run = async (text: string): Promise<string> => {
    const r = await shell_batch(k, ['sh', '-e', '-c', text]);
    if (r.status !== 0 || r.deadlock) throw new Error(`${text}: ${r.err}`);
    return r.out;
  };
  await run(
    [
      'jail -c name=vx vnet persist >/dev/null',
      'ifconfig vxlan create vxlanid 43 vxlanlocal 198.18.254.1 vxlanlocalport 4789 ' +
        'vxlanremote 198.18.254.2 vxlanremoteport 4789',
      'ifconfig vxlan0 vnet vx',
      `jexec vx ifconfig vxlan0 inet ${OURS}/24 up`,
    ].join('; '),
  );
  for (let i = 0; ; i++) {
    if (/RUNNING/.test(await run('jexec vx ifconfig vxlan0'))) break;
    if (i === 250) throw new Error('vxlan0 never bound its host UDP socket (198.18.254.1:4789)');
    await new Promise((r) => setTimeout(r, 20));
  }
  const pr = k.enter(() => prison_find_name(k, k.prison0, 'vx'));
  if (pr === null) throw new Error('no jail vx');
  return { k, pr };
}

function median<T>(xs: T[], key: (x: T) => number): T {
  const s = [...xs].sort((a, b) => key(a) - key(b));
  return s[s.length >> 1]!;
}

interface Round {
  tcpOut: number;
  tcpIn: number;
  tcpBase: number;
  udpOut: Rate;
  udpIn: Rate;
  udpBase: Rate;
}

async function main(): Promise<void> {
  linux_setup();
  const { k, pr } = await ours_setup();
  const rounds: Round[] = [];
  const only = process.argv[2];
  if (only !== undefined) {
    // Profiling aid: one measurement, repeated.
    const f = {
      'tcp-out': () => tcp_ours_to_linux(k, pr),
      'tcp-in': () => tcp_linux_to_ours(k, pr),
      'udp-out': async () => (await udp_ours_to_linux(k, pr)).rate,
      'udp-in': async () => (await udp_linux_to_ours(k, pr)).rate,
    }[only];
    if (f === undefined)
      throw new Error(`no measurement ${only} (tcp-out, tcp-in, udp-out, udp-in)`);
    // VXLAN_CPUPROF=FILE: a V8 CPU profile of the counted rounds only (no setup).
    const prof = process.env['VXLAN_CPUPROF'];
    const session = prof ? new Session() : null;
    const post = (m: string, p?: object): Promise<unknown> =>
      new Promise((res, rej) =>
        session!.post(m, p ?? {}, (e: Error | null, r?: unknown) => (e ? rej(e) : res(r))),
      );
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      if (session && i === WARMUP) {
        session.connect();
        await post('Profiler.enable');
        await post('Profiler.setSamplingInterval', { interval: 100 });
        await post('Profiler.start');
      }
      console.log(`vxlan: ${only}: ${Math.round(await counted(k, only, f))}/s`);
    }
    if (session) {
      const r = (await post('Profiler.stop')) as { profile: unknown };
      writeFileSync(prof!, JSON.stringify(r.profile));
      session.disconnect();
    }
    k.clock.shutdown();
    return;
  }
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    const r: Round = {
      tcpOut: await counted(k, 'tcp out', () => tcp_ours_to_linux(k, pr)),
      tcpIn: await counted(k, 'tcp in', () => tcp_linux_to_ours(k, pr)),
      tcpBase: await tcp_linux_to_linux(),
      udpOut: await counted(k, 'udp out', () => udp_ours_to_linux(k, pr)),
      udpIn: await counted(k, 'udp in', () => udp_linux_to_ours(k, pr)),
      udpBase: await udp_linux_to_linux(),
    };
    const mb = (x: number): string => `${(x / MiB).toFixed(1)} MiB/s`;
    const dg = (x: Rate): string => `${Math.round(x.rate)}/s (${x.lost} lost)`;
    console.log(
      `vxlan: ${i < WARMUP ? 'warm-up' : `round ${i - WARMUP + 1}`}: tcp out ${mb(r.tcpOut)}, ` +
        `in ${mb(r.tcpIn)}, Linux ${mb(r.tcpBase)}; udp out ${dg(r.udpOut)}, ` +
        `in ${dg(r.udpIn)}, Linux ${dg(r.udpBase)}`,
    );
    if (i >= WARMUP) rounds.push(r);
  }
  k.clock.shutdown();
  const m = (f: (r: Round) => number): number => f(median(rounds, f));
  const tcpOut = m((r) => r.tcpOut);
  const tcpIn = m((r) => r.tcpIn);
  const tcpBase = m((r) => r.tcpBase);
  const udpOut = m((r) => r.udpOut.rate);
  const udpIn = m((r) => r.udpIn.rate);
  const udpBase = m((r) => r.udpBase.rate);
  const tcpName = `Linux to Linux over a veth pair (two namespaces), ${BASE_TOTAL / MiB} MiB`;
  const udpName = `Linux to Linux over a veth pair (two namespaces), ${BASE_N} datagrams`;
  report('vxlan', [
    {
      name: `tcp ${TOTAL / MiB} MiB, a vnet to a Linux namespace over vxlan`,
      value: Math.round(tcpOut),
      unit: 'bytes/s',
      baseline: Math.round(tcpBase),
      baselineName: tcpName,
      ratio: tcpOut / tcpBase,
      goal: '>= 0.05',
    },
    {
      name: `tcp ${TOTAL / MiB} MiB, a Linux namespace to a vnet over vxlan`,
      value: Math.round(tcpIn),
      unit: 'bytes/s',
      baseline: Math.round(tcpBase),
      baselineName: tcpName,
      ratio: tcpIn / tcpBase,
      goal: '>= 0.05',
    },
    {
      name: `udp ${SIZE}B datagrams/s, a vnet to a Linux namespace over vxlan (${WINDOW} in flight)`,
      value: Math.round(udpOut),
      unit: 'datagrams/s',
      baseline: Math.round(udpBase),
      baselineName: udpName,
      ratio: udpOut / udpBase,
      goal: '>= 0.5',
    },
    {
      name: `udp ${SIZE}B datagrams/s, a Linux namespace to a vnet over vxlan (${WINDOW} in flight)`,
      value: Math.round(udpIn),
      unit: 'datagrams/s',
      baseline: Math.round(udpBase),
      baselineName: udpName,
      ratio: udpIn / udpBase,
      goal: '>= 0.5',
    },
  ]);
}

process.once('exit', () => linux_teardown());
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    linux_teardown();
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  });
try {
  await main();
} catch (e) {
  linux_teardown();
  console.error(`vxlan: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
}
linux_teardown();
process.exit(0);
