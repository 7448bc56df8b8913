/*
 * test/lib/inet.ts — helpers for the IPv4 control-plane tests: run a user program in a
 * jail, build in_aliasreq / ifreq buffers and routing messages, read a routing socket
 * dry.
 *
 * Address ioctls go through an AF_INET datagram socket, as ifconfig(8)'s do.
 */

import assert from 'node:assert/strict';
import type { Kernel } from '../../src/kern/kernel.js';
import type { Prison } from '../../src/kern/kern_jail.js';
import { proc_create } from '../../src/kern/kern_proc.js';
import { Libc } from '../../src/lib/libc.js';
import { pffindproto } from '../../src/sys/protosw.js';
import { SOCK_DGRAM } from '../../src/sys/socket.js';
import { IPPROTO_UDP } from '../../src/netinet/in.js';
import { ifr_name_set } from '../../src/net/if.js';
import { AF_INET } from '../../src/net/if_var.js';
import { rtsock_decode, rtsock_encode, type RtsockMsg } from '../../src/net/route.js';
import {
  MSG_DONTWAIT,
  SOCK_RAW,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_BROADCAST,
} from '../../src/sys/socket.js';
import { nanosleep } from '../../src/lib/process.js';
import { IPPROTO_IP, IPPROTO_TCP, sockaddr_in_bytes } from '../../src/netinet/in.js';
import { IP_HDRINCL } from '../../src/netinet/ip_ctloutput.js';
import { in_cksum_l4 } from '../../src/netinet/in_cksum.js';

/** The kernel image has AF_INET datagram sockets (netinet/udp_usrreq.ts). */
export async function inetSocketReady(k: Kernel): Promise<void> {
  await Promise.resolve();
  assert.ok(
    k.enter(() => pffindproto(k, AF_INET, IPPROTO_UDP, SOCK_DGRAM)) !== null,
    'socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP)',
  );
}

/** Run main(libc) as a root process of prison pr (default prison0) to completion. */
export async function runIn<T>(
  k: Kernel,
  main: (c: Libc) => Promise<T>,
  pr: Prison = k.prison0,
  uid = 0,
): Promise<T> {
  let out: { v: T } | null = null;
  let err: unknown = null;
  proc_create(k, 'prog', { cr_uid: uid, cr_prison: pr }, async (td) => {
    try {
      out = { v: await main(new Libc(k, td)) };
    } catch (e) {
      err = e;
    }
    return 0;
  });
  await k.run_until_idle();
  if (err !== null) throw err;
  assert.ok(out !== null, 'the program finished');
  return (out as { v: T }).v;
}

/** -errno when the call failed, else its result. */
export async function sys(c: Libc, p: Promise<number>): Promise<number> {
  const r = await p;
  return r < 0 ? -c.errno : r;
}

function sin(b: Uint8Array, off: number, a: number): void {
  b[off] = 16;
  b[off + 1] = AF_INET;
  b[off + 4] = a >>> 24;
  b[off + 5] = (a >>> 16) & 0xff;
  b[off + 6] = (a >>> 8) & 0xff;
  b[off + 7] = a & 0xff;
}

/** Dotted quad to a host-order number. */
export function ip(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

export function ntoa(a: number): string {
  return [a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff].join('.');
}

/** struct in_aliasreq (68 bytes); mask/broadcast 0 = leave the sockaddr empty. */
export function in_aliasreq(name: string, addr: number, mask = 0, brd = 0, vhid = 0): Uint8Array {
  const b = new Uint8Array(68);
  ifr_name_set(b, name);
  sin(b, 16, addr);
  if (brd !== 0) sin(b, 32, brd);
  if (mask !== 0) sin(b, 48, mask);
  new DataView(b.buffer).setInt32(64, vhid, true);
  return b;
}

/** struct ifreq (32 bytes) with an optional AF_INET ifr_addr or int at 16. */
export function ifreq(name: string, addr?: number, int32?: number): Uint8Array {
  const b = new Uint8Array(32);
  ifr_name_set(b, name);
  if (addr !== undefined) sin(b, 16, addr);
  if (int32 !== undefined) new DataView(b.buffer).setInt32(16, int32, true);
  return b;
}

/** The AF_INET address in ifr_addr (host order). */
export function ifr_addr(b: Uint8Array): number {
  return ((b[20]! << 24) | (b[21]! << 16) | (b[22]! << 8) | b[23]!) >>> 0;
}

export function rtmsg(m: RtsockMsg): Uint8Array {
  return rtsock_encode(m);
}

/** Read every message waiting on a routing socket (non-blocking). */
export async function drain(c: Libc, s: number): Promise<RtsockMsg[]> {
  const out: RtsockMsg[] = [];
  for (;;) {
    const buf = new Uint8Array(2048);
    const n = await c.recv(s, buf, buf.length, MSG_DONTWAIT);
    if (n <= 0) return out;
    const d = rtsock_decode(buf.subarray(0, n));
    assert.equal(d.error, 0, 'the kernel writes well-formed messages');
    assert.equal(d.len, n, 'one message per read');
    out.push(d.msg!);
  }
}

/** A bare TCP segment (no options, no data) for send_tcp_raw. */
export interface RawTcpSeg {
  src: number;
  sport: number;
  dst: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
}

/**
 * Send a bare TCP segment with any addresses through a raw IP_HDRINCL socket of c's
 * jail (root may use any source address, as on FreeBSD).  To one of the jail's own
 * addresses it arrives through lo0; to a broadcast address it needs opts.broadcast
 * (SO_BROADCAST).
 */
export async function send_tcp_raw(
  c: Libc,
  g: RawTcpSeg,
  opts: { broadcast?: boolean } = {},
): Promise<void> {
  const r = await c.socket(AF_INET, SOCK_RAW, IPPROTO_TCP);
  assert.equal(await c.setsockopt(r, IPPROTO_IP, IP_HDRINCL, 1), 0);
  if (opts.broadcast) assert.equal(await c.setsockopt(r, SOL_SOCKET, SO_BROADCAST, 1), 0);
  const d = new Uint8Array(40);
  const dv = new DataView(d.buffer);
  d[0] = 0x45;
  dv.setUint16(2, 40);
  d[8] = 64;
  d[9] = IPPROTO_TCP;
  dv.setUint32(12, g.src);
  dv.setUint32(16, g.dst);
  dv.setUint16(20, g.sport);
  dv.setUint16(22, g.dport);
  dv.setUint32(24, g.seq >>> 0);
  dv.setUint32(28, g.ack >>> 0);
  d[32] = 5 << 4;
  d[33] = g.flags;
  dv.setUint16(34, 65535);
  dv.setUint16(36, in_cksum_l4(d, 20, 20, g.src, g.dst, IPPROTO_TCP));
  assert.equal(await c.sendto(r, d, d.length, 0, sockaddr_in_bytes(g.dst, 0)), 40);
  await c.close(r);
}

/** What tcp_stream moves, where, and what it may do on the way (hooks see the socket). */
export interface StreamOpts {
  /** The sender's and the receiver's jails. */
  from: Prison;
  to: Prison;
  /** The receiver listens on port (any address); the sender connects to dst:port. */
  dst: number;
  port: number;
  data: Uint8Array;
  /** Read size on the receiving side (default 65536). */
  rdsize?: number;
  /** Write in pieces of this many bytes (default: all at once), pausing gap_ns after each. */
  chunk?: number;
  gap_ns?: number;
  accepted?: (c: Libc, s: number) => Promise<void>;
  connected?: (c: Libc, s: number) => Promise<void>;
  /** After the last write, before close. */
  written?: (c: Libc, s: number) => Promise<void>;
}

/**
 * One TCP stream: a receiver in `to` accepts and reads to EOF, a sender in `from`
 * (1 ms later, so the listener is up) connects, writes `data` and closes.  Asserts that
 * exactly `data` arrived, byte for byte.
 */
export async function tcp_stream(k: Kernel, o: StreamOpts): Promise<void> {
  const want = o.data;
  let got = 0;
  let same = true;
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.bind(l, sockaddr_in_bytes(0, o.port)), 0);
      assert.equal(await c.listen(l, 1), 0);
      const s = await c.accept(l, null, null);
      assert.ok(s >= 0, `accept: errno ${c.errno}`);
      if (o.accepted) await o.accepted(c, s);
      const buf = new Uint8Array(o.rdsize ?? 65536);
      for (;;) {
        const n = await c.read(s, buf);
        assert.ok(n >= 0, `read: errno ${c.errno}`);
        if (n === 0) break;
        for (let i = 0; i < n; i++) if (buf[i] !== want[got + i]) same = false;
        got += n;
      }
      await c.close(s);
      await c.close(l);
    },
    o.to,
  );
  const client = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      await nanosleep(c, 1_000_000);
      assert.equal(
        await c.connect(s, sockaddr_in_bytes(o.dst, o.port)),
        0,
        `connect: errno ${c.errno}`,
      );
      if (o.connected) await o.connected(c, s);
      const chunk = o.chunk ?? want.length;
      for (let at = 0; at < want.length; at += chunk) {
        const end = Math.min(want.length, at + chunk);
        for (let off = at; off < end;) {
          const n = await c.write(s, want.subarray(off, end));
          assert.ok(n > 0, `write: errno ${c.errno}`);
          off += n;
        }
        if (o.gap_ns) await nanosleep(c, o.gap_ns);
      }
      if (o.written) await o.written(c, s);
      assert.equal(await c.close(s), 0);
    },
    o.from,
  );
  await Promise.all([server, client]);
  assert.equal(got, want.length);
  assert.ok(same, 'the stream arrived intact');
}

/** tcp_conns: what runs on each side of each connection. */
export interface ConnsOpts {
  /** The client's and the server's jails; the server listens on port (any address). */
  from: Prison;
  to: Prison;
  dst: number;
  port: number;
  /** Connections, made one after the other. */
  n: number;
  /** Server side of connection i on the accepted socket s (closes it). */
  serve: (c: Libc, s: number, i: number) => Promise<void>;
  /** Client side of connection i on the connected socket s (closes it). */
  use: (c: Libc, s: number, i: number) => Promise<void>;
}

/**
 * n TCP connections, one after the other, between a server process in `to` and a
 * client process in `from` (which starts once the server listens).  Time passes only
 * inside the two programs, so state that lives on timers (the host cache, TIME_WAIT)
 * is still there between connections; run_until_idle runs once, when both are done.
 */
export async function tcp_conns(k: Kernel, o: ConnsOpts): Promise<void> {
  let listening = false;
  await Promise.all([
    runIn(
      k,
      async (c) => {
        const l = await c.socket(AF_INET, SOCK_STREAM, 0);
        assert.equal(await c.bind(l, sockaddr_in_bytes(0, o.port)), 0);
        assert.equal(await c.listen(l, 1), 0);
        listening = true;
        for (let i = 0; i < o.n; i++) {
          const s = await c.accept(l, null, null);
          assert.ok(s >= 0, `accept: errno ${c.errno}`);
          await o.serve(c, s, i);
        }
        await c.close(l);
      },
      o.to,
    ),
    runIn(
      k,
      async (c) => {
        while (!listening) await nanosleep(c, 1_000_000);
        for (let i = 0; i < o.n; i++) {
          const s = await c.socket(AF_INET, SOCK_STREAM, 0);
          assert.equal(await sys(c, c.connect(s, sockaddr_in_bytes(o.dst, o.port))), 0);
          await o.use(c, s, i);
        }
      },
      o.from,
    ),
  ]);
}
