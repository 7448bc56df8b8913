// Raw IP sockets (netinet/raw_ip.ts), FreeBSD's output.sh "raw" case and rip_input:
// an IP_HDRINCL echo request from vnet0 to a jail's vnet gets its reply on the same
// raw socket and counts in ips_rawout; a bad ip_len is EINVAL; a datagram of a protocol
// no one registered reaches a raw socket bound to it instead of protocol unreachable.
// bootVimage: runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { runIn } from '../../lib/inet.js';
import { addaddr, delta, epair, inv, ip, ipstat } from '../../lib/inet_lab.js';
import { kern_jail_set } from '../../../src/kern/kern_jail.js';
import { AF_INET, SOCK_RAW } from '../../../src/sys/socket.js';
import {
  IPPROTO_ICMP,
  IPPROTO_IP,
  sockaddr_in,
  sockaddr_in_encode,
} from '../../../src/netinet/in.js';
import { in_cksum } from '../../../src/netinet/in_cksum.js';
import { IP_HDRINCL } from '../../../src/netinet/raw_ip.js';
import { EINVAL } from '../../../src/sys/errno.js';

function sin(a: number): Uint8Array {
  const b = new Uint8Array(16);
  sockaddr_in_encode(sockaddr_in(a, 0), b);
  return b;
}

/** A whole datagram: IP header (ip_src 0: the kernel fills it) and payload. */
function datagram(
  p: number,
  dst: number,
  payload: Uint8Array,
  len = 20 + payload.length,
): Uint8Array {
  const b = new Uint8Array(20 + payload.length);
  b[0] = 0x45;
  b[2] = len >>> 8;
  b[3] = len & 0xff;
  b[8] = 64;
  b[9] = p;
  new DataView(b.buffer).setUint32(16, dst);
  b.set(payload, 20);
  return b;
}

function echo(id: number): Uint8Array {
  const e = new Uint8Array(16);
  e[0] = 8;
  e[4] = id >>> 8;
  e[5] = id & 0xff;
  const s = in_cksum(e, 0, e.length);
  e[2] = s >>> 8;
  e[3] = s & 0xff;
  return e;
}

test('IP_HDRINCL echo request out, the reply in; ips_rawout; bad ip_len; rip_input for proto 253', async () => {
  const k = bootVimage();
  const j = k.enter(() => kern_jail_set(k, k.prison0, { name: 'b', vnet: true, persist: true }));
  assert.equal(j.error, 0);
  const pb = j.pr!;
  const vb = pb.pr_vnet!;
  const e = epair(k, k.vnet0, vb);
  inv(k, k.vnet0, () => addaddr(e.a, '192.0.2.1/24'));
  inv(k, vb, () => addaddr(e.b, '192.0.2.2/24'));
  const s0 = ipstat(k, k.vnet0);
  const sb = ipstat(k, vb);

  // b listens for protocol 253 on a raw socket.
  const got253 = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_RAW, 253);
      const buf = new Uint8Array(256);
      const from = new Uint8Array(16);
      const n = await c.recvfrom(s, buf, buf.length, 0, from, [16]);
      return { n, buf: buf.slice(0, n), from };
    },
    pb,
  );

  const r = await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    assert.equal(await c.setsockopt(s, IPPROTO_IP, IP_HDRINCL, 1), 0);
    const dst = ip('192.0.2.2');
    const bad = await c.sendto(s, datagram(IPPROTO_ICMP, dst, echo(7), 99), 36, 0, sin(dst));
    const badErr = c.errno;
    const sent = await c.sendto(s, datagram(IPPROTO_ICMP, dst, echo(7)), 36, 0, sin(dst));
    const buf = new Uint8Array(256);
    const n = await c.recvfrom(s, buf, buf.length, 0, null, null);
    const u = await c.socket(AF_INET, SOCK_RAW, 253);
    const sent253 = await c.sendto(u, new TextEncoder().encode('hello'), 5, 0, sin(dst));
    return { bad, badErr, sent, n, reply: buf.slice(0, n), sent253 };
  });
  assert.equal(r.bad, -1);
  assert.equal(r.badErr, EINVAL, 'ip_len that is not the written length');
  assert.equal(r.sent, 36);
  assert.equal(r.n, 36, 'the reply with its IP header');
  assert.equal(r.reply[9], IPPROTO_ICMP);
  assert.equal(r.reply[20], 0, 'echo reply');
  assert.equal((r.reply[24]! << 8) | r.reply[25]!, 7, 'our id');
  assert.deepEqual([...r.reply.subarray(12, 16)], [192, 0, 2, 2]);
  assert.equal(r.sent253, 5);

  const b = await got253;
  assert.equal(b.n, 25, 'header and payload');
  assert.equal(b.buf[9], 253);
  assert.equal(new TextDecoder().decode(b.buf.subarray(20)), 'hello');
  assert.deepEqual([...b.from.subarray(4, 8)], [192, 0, 2, 1], 'from: the sender');

  const d0 = delta(s0, ipstat(k, k.vnet0));
  assert.equal(d0['ips_rawout'], 1, 'one datagram with a fabricated header');
  const db = delta(sb, ipstat(k, vb));
  assert.equal(db['ips_noproto'], undefined, 'a raw socket took proto 253');
  assert.equal(db['ips_delivered'], 2, 'the echo request and the proto 253 datagram');
});
