// IP_OPTIONS on raw sockets (ip_pcbopts in netinet/ip_ctloutput.ts, rip_output and
// ip_insertoptions): FreeBSD's checks on the value, getsockopt's layout (first hop,
// then the options), a record-route option filled by both ends of an epair and
// reflected in the echo reply, a loose source route sent to its first hop, and
// IP_HDRINCL with a header that has options of its own.
// bootVimage: runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { runIn } from '../../lib/inet.js';
import { addaddr, delta, epair, inv, ip, ipstat } from '../../lib/inet_lab.js';
import { kern_jail_set, prison_find_name } from '../../../src/kern/kern_jail.js';
import { AF_INET, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM } from '../../../src/sys/socket.js';
import {
  IPPROTO_ICMP,
  IPPROTO_IP,
  sockaddr_in,
  sockaddr_in_bytes,
  sockaddr_in_encode,
} from '../../../src/netinet/in.js';
import { in_cksum } from '../../../src/netinet/in_cksum.js';
import { IP_HDRINCL } from '../../../src/netinet/raw_ip.js';
import { IP_OPTIONS } from '../../../src/netinet/ip_ctloutput.js';
import { EINVAL } from '../../../src/sys/errno.js';
import { bpf_capture_set } from '../../../src/net/bpf.js';
import { nanosleep } from '../../../src/lib/process.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Prison } from '../../../src/kern/kern_jail.js';
import type { Vnet } from '../../../src/net/vnet.js';

function sin(a: number): Uint8Array {
  const b = new Uint8Array(16);
  sockaddr_in_encode(sockaddr_in(a, 0), b);
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

/** Jails a (192.0.2.1) and b (192.0.2.2) on an epair; returns a's prison and b's vnet. */
function lab(): { k: Kernel; pa: Prison; va: Vnet; vb: Vnet } {
  const k = bootVimage();
  const ja = k.enter(() => kern_jail_set(k, k.prison0, { name: 'a', vnet: true, persist: true }));
  const jb = k.enter(() => kern_jail_set(k, k.prison0, { name: 'b', vnet: true, persist: true }));
  assert.equal(ja.error, 0);
  assert.equal(jb.error, 0);
  const va = ja.pr!.pr_vnet!;
  const vb = jb.pr!.pr_vnet!;
  const e = epair(k, va, vb);
  inv(k, va, () => addaddr(e.a, '192.0.2.1/24'));
  inv(k, vb, () => addaddr(e.b, '192.0.2.2/24'));
  return { k, pa: ja.pr!, va, vb };
}

test('setsockopt IP_OPTIONS: EINVAL for bad values; getsockopt gives first hop and options', async () => {
  const k = bootVimage();
  const r = await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    const set = async (v: number[]): Promise<number> =>
      (await c.setsockopt(s, IPPROTO_IP, IP_OPTIONS, Uint8Array.from(v))) < 0 ? c.errno : 0;
    const get = async (): Promise<number[]> => {
      const b = new Uint8Array(64);
      const len: [number] = [64];
      assert.equal(await c.getsockopt(s, IPPROTO_IP, IP_OPTIONS, b, len), 0);
      return [...b.subarray(0, len[0])];
    };
    const empty = await get();
    const errs = [
      await set([7, 7, 4]), // not a multiple of 4
      await set([7, 1, 4, 0]), // length below 2
      await set([7, 12, 4, 0, 0, 0, 0, 0]), // past the end
      await set([131, 3, 4, 0]), // a source route without its first hop
      await set([7, 43, 4, ...new Array<number>(41).fill(0)]), // 44 bytes: more than 40
    ];
    /* NOP, then a loose source route 192.0.2.2 -> 203.0.113.5 (the first hop leaves). */
    const lsrr = await set([1, 131, 11, 4, 192, 0, 2, 2, 203, 0, 113, 5]);
    const stored = await get();
    const rr = await set([7, 39, 4, ...new Array<number>(36).fill(0), 0]);
    const rrStored = await get();
    const cleared = await set([]);
    const after = await get();
    return { empty, errs, lsrr, stored, rr, rrStored, cleared, after };
  });
  assert.deepEqual(r.empty, [], 'no options: nothing');
  assert.deepEqual(r.errs, [EINVAL, EINVAL, EINVAL, EINVAL, EINVAL]);
  assert.equal(r.lsrr, 0);
  assert.deepEqual(r.stored, [192, 0, 2, 2, 1, 131, 7, 4, 203, 0, 113, 5]);
  assert.equal(r.rr, 0, '40 bytes fit');
  assert.deepEqual(r.rrStored, [0, 0, 0, 0, 7, 39, 4, ...new Array<number>(37).fill(0)]);
  assert.equal(r.cleared, 0);
  assert.deepEqual(r.after, [], 'an empty value clears them');
});

test('record route: b records itself, a on the way back; the reply carries both', async () => {
  const { k, pa } = lab();
  const r = await runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
      /* Room for two addresses, then EOL. */
      const o = Uint8Array.from([7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      assert.equal(await c.setsockopt(s, IPPROTO_IP, IP_OPTIONS, o), 0);
      const sent = await c.sendto(s, echo(9), 16, 0, sin(ip('192.0.2.2')));
      const buf = new Uint8Array(256);
      const n = await c.recvfrom(s, buf, buf.length, 0, null, null);
      return { sent, reply: [...buf.subarray(0, n)] };
    },
    pa,
  );
  assert.equal(r.sent, 16);
  assert.equal(r.reply.length, 32 + 16, '32-byte header, the echo reply');
  assert.equal(r.reply[0], 0x48, 'ip_hl 8');
  assert.deepEqual(
    r.reply.slice(20, 32),
    [7, 11, 12, 192, 0, 2, 2, 192, 0, 2, 1, 0],
    'RR full: the destination, then the receiver of the reply',
  );
  assert.equal(r.reply[32], 0, 'echo reply');
  assert.equal(in_cksum(Uint8Array.from(r.reply.slice(0, 32)), 0, 32), 0, 'header checksum');
});

test('a loose source route goes to its first hop; HDRINCL with options of its own is EINVAL', async () => {
  const { k, pa, vb } = lab();
  const before = ipstat(k, vb);
  const r = await runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
      const o = Uint8Array.from([131, 11, 4, 192, 0, 2, 2, 203, 0, 113, 5, 0]);
      assert.equal(await c.setsockopt(s, IPPROTO_IP, IP_OPTIONS, o), 0);
      /* No route to 203.0.113.5 in a: the datagram must go to 192.0.2.2 first. */
      const sent = await c.sendto(s, echo(1), 16, 0, sin(ip('203.0.113.5')));
      assert.equal(await c.setsockopt(s, IPPROTO_IP, IP_HDRINCL, 1), 0);
      const d = new Uint8Array(24 + 16);
      d[0] = 0x46;
      d[2] = 0;
      d[3] = d.length;
      d[8] = 64;
      d[9] = IPPROTO_ICMP;
      d.set([192, 0, 2, 2], 16);
      d[20] = 1; /* NOP */
      d.set(echo(2), 24);
      const bad = await c.sendto(s, d, d.length, 0, sin(ip('192.0.2.2')));
      return { sent, bad, err: c.errno };
    },
    pa,
  );
  assert.equal(r.sent, 16);
  assert.equal(r.bad, -1);
  assert.equal(r.err, EINVAL);
  await k.run_until_idle();
  const d = delta(before, ipstat(k, vb));
  assert.equal(d['ips_total'], 1, 'b got it: the first hop');
  assert.equal(d['ips_cantforward'], 1, 'and does not source-route (forwarding off)');
});

test('UDP sockets carry IP_OPTIONS: record route on the wire, the datagram delivered', async () => {
  const { k, pa, vb } = lab();
  const pb = prison_find_name(k, k.prison0, 'b')!;
  const frames: Uint8Array[] = [];
  bpf_capture_set(k, (_ifp, _dlt, data) => void frames.push(data.slice()));
  const rr = Uint8Array.from([7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const got = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
      assert.equal(await c.bind(s, sockaddr_in_bytes(0, 5300)), 0);
      const buf = new Uint8Array(64);
      const n = await c.recvfrom(s, buf, buf.length, 0, null, null);
      return new TextDecoder().decode(buf.subarray(0, n));
    },
    pb,
  );
  const sent = runIn(
    k,
    async (c) => {
      await nanosleep(c, 1e6);
      const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
      assert.equal(await c.setsockopt(s, IPPROTO_IP, IP_OPTIONS, rr), 0);
      const b = new Uint8Array(64);
      const len: [number] = [b.length];
      assert.equal(await c.getsockopt(s, IPPROTO_IP, IP_OPTIONS, b, len), 0);
      const back = [...b.subarray(0, len[0])];
      const msg = new TextEncoder().encode('routed');
      const n = await c.sendto(s, msg, msg.length, 0, sockaddr_in_bytes(ip('192.0.2.2'), 5300));
      return { back, n };
    },
    pa,
  );
  const [text, r] = await Promise.all([got, sent]);
  bpf_capture_set(k, null);
  assert.equal(text, 'routed');
  assert.deepEqual(r, { back: [0, 0, 0, 0, ...rr], n: 6 });
  // On the epair: a 32-byte header carrying the (still empty: routers and the
  // destination fill it) record route option.
  const udp = frames.filter((f) => f[12] === 0x08 && f[13] === 0 && f[14 + 9] === 17);
  assert.ok(udp.length >= 1);
  const ipb = udp[0]!.subarray(14);
  assert.equal(ipb[0], 0x48);
  assert.deepEqual([...ipb.subarray(20, 32)], [...rr]);
  assert.equal(in_cksum(ipb, 0, 32), 0, 'header checksum');
  void vb;
});

test('TCP sockets carry IP_OPTIONS on every segment, and segments shrink to fit the MTU', async () => {
  const { k, pa } = lab();
  const pb = prison_find_name(k, k.prison0, 'b')!;
  const frames: Uint8Array[] = [];
  bpf_capture_set(k, (ifp, _dlt, data) => {
    if (ifp.if_xname === 'epair0a') frames.push(data.slice());
  });
  const rr = Uint8Array.from([7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const data = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
  const got = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.bind(l, sockaddr_in_bytes(0, 5301)), 0);
      assert.equal(await c.listen(l, 1), 0);
      const s = await c.accept(l, null, null);
      const parts: Uint8Array[] = [];
      const buf = new Uint8Array(65536);
      for (;;) {
        const n = await c.read(s, buf);
        if (n <= 0) break;
        parts.push(buf.slice(0, n));
      }
      return Buffer.concat(parts);
    },
    pb,
  );
  const sent = runIn(
    k,
    async (c) => {
      await nanosleep(c, 1e6);
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.setsockopt(s, IPPROTO_IP, IP_OPTIONS, rr), 0);
      assert.equal(await c.connect(s, sockaddr_in_bytes(ip('192.0.2.2'), 5301)), 0);
      let off = 0;
      while (off < data.length) off += await c.write(s, data.subarray(off));
      await c.close(s);
    },
    pa,
  );
  const [back] = await Promise.all([got, sent]);
  bpf_capture_set(k, null);
  assert.equal(Buffer.compare(back, data), 0, 'the bytes arrived');
  // a's segments from tcp_output (the SYN and every data segment) carry the 12-byte
  // option and none exceeds the 1500 MTU.  Bare segments from tcp_respond (the ACK of
  // b's FIN in TIME_WAIT) carry none, as in FreeBSD.
  const ours = frames
    .map((f) => f.subarray(14))
    .filter((ip) => ip.length >= 20 && ip[9] === 6 && ip[12] === 192 && ip[15] === 1)
    .filter((ip) => {
      const h = (ip[0]! & 15) * 4;
      const syn = (ip[h + 13]! & 0x02) !== 0;
      const data = ((ip[2]! << 8) | ip[3]!) - h - (ip[h + 12]! >>> 4) * 4 > 0;
      return syn || data;
    });
  assert.ok(ours.length > 60, `${ours.length} segments`);
  for (const ipb of ours) {
    assert.equal(ipb[0], 0x48, 'a 32-byte header');
    assert.deepEqual([...ipb.subarray(20, 32)], [...rr]);
    assert.ok(((ipb[2]! << 8) | ipb[3]!) <= 1500, 'fits the MTU');
  }
  const largest = Math.max(...ours.map((ip) => (ip[2]! << 8) | ip[3]!));
  assert.equal(largest, 1500, 'full-sized segments fill the MTU exactly');
});
