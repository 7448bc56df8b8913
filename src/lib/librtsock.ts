/*
 * lib/librtsock.ts — a routing-socket request and its answer, as route(8) and arp(8)
 * both do it (rtmsg in sbin/route/route.c and usr.sbin/arp/arp.c): write one message
 * stamped with our pid and a sequence number, then read until the kernel's echo of
 * that message (rtm_errno set on failure) comes back among whatever else the socket
 * receives.  Also the reader of the routing sysctls (net.route.inet.dump, .llinfo)
 * that netstat -r and arp -a use.
 */

import type { Libc } from './libc.js';
import { CLOCK_REALTIME, clock_gettime } from './process.js';
import {
  rt_addrs,
  rtsock_decode,
  rtsock_encode,
  type RtSockaddr,
  type RtsockMsg,
} from '../net/route.js';

export class RtSock {
  private seq = 0;
  private pid = 0;
  constructor(
    private readonly libc: Libc,
    /** A PF_ROUTE socket. */
    readonly s: number,
  ) {}

  async init(): Promise<void> {
    this.pid = await this.libc.getpid();
  }

  /** Write a message and wait for the kernel's answer to it. */
  async rtmsg(
    type: number,
    hdr: Record<string, number>,
    addrs: (RtSockaddr | null)[],
  ): Promise<{ errno: number; reply: RtsockMsg | null }> {
    const libc = this.libc;
    const seq = ++this.seq;
    const a = rt_addrs();
    addrs.forEach((x, i) => (a[i] = x));
    const buf = rtsock_encode({ type, hdr: { ...hdr, rtm_seq: seq, rtm_pid: this.pid }, addrs: a });
    if ((await libc.write(this.s, buf)) < 0) return { errno: libc.errno, reply: null };
    const rb = new Uint8Array(2048);
    for (;;) {
      const n = await libc.read(this.s, rb);
      if (n < 0) return { errno: libc.errno, reply: null };
      const d = rtsock_decode(rb.subarray(0, n));
      if (d.msg === null) continue;
      if (d.msg.hdr['rtm_pid'] !== this.pid || d.msg.hdr['rtm_seq'] !== seq) continue;
      return { errno: d.msg.hdr['rtm_errno'] ?? 0, reply: d.msg };
    }
  }
}

/**
 * Read a sysctl that returns rt_msghdr records (net.route.inet.dump/llinfo) and split
 * it into messages.  null (errno in libc) if the sysctl fails.
 */
export async function rt_sysctl_msgs(
  libc: Libc,
  name: string,
  long = false,
): Promise<RtsockMsg[] | null> {
  const buf = await libc.sysctlbyname_bytes(name);
  if (buf === null) return null;
  const out: RtsockMsg[] = [];
  for (let off = 0; off + 4 <= buf.length;) {
    const msglen = buf[off]! | (buf[off + 1]! << 8);
    if (msglen === 0) break;
    const d = rtsock_decode(buf.subarray(off, off + msglen), long);
    if (d.msg !== null) out.push(d.msg);
    off += msglen;
  }
  return out;
}

/** Wall-clock seconds (CLOCK_REALTIME). */
export async function wall_seconds(libc: Libc): Promise<number> {
  const ns = await clock_gettime(libc, CLOCK_REALTIME);
  return ns < 0 ? 0 : Math.floor(ns / 1e9);
}
