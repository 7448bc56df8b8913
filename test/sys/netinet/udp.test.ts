// UDP (netinet/udp_usrreq.ts) between two vnets over an epair (lab2: a = 192.0.2.1,
// b = 192.0.2.2): datagrams of every size class up to the maximum (fragmented beyond
// the MTU) with checksums verified by udpstat and byte comparison; ICMP port
// unreachable as ECONNREFUSED on a connected socket only; net.inet.udp.blackhole;
// broadcasts (EACCES without SO_BROADCAST, delivery rules, udps_noportbcast); a zero
// checksum accepted; a bad checksum counted; IP_RECVDSTADDR, IP_TTL and IP_TOS.
// bootVimage: runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { runIn, sys } from '../../lib/inet.js';
import {
  pr,
  delta,
  icmpstat,
  inv,
  ip,
  lab2,
  route_add,
  type Counters,
} from '../../lib/inet_lab.js';
import { Libc } from '../../../src/lib/libc.js';
import { proc_create } from '../../../src/kern/kern_proc.js';
import { PRS_NORMAL } from '../../../src/sys/proc.js';
import { so_globals } from '../../../src/kern/uipc_sockbuf.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import { VNET_MAGIC_DEAD, type Vnet } from '../../../src/net/vnet.js';
import {
  AF_INET,
  MSG_DONTWAIT,
  SOCK_DGRAM,
  SOCK_RAW,
  SOL_SOCKET,
  SO_BROADCAST,
  SO_RCVBUF,
  SO_SNDBUF,
  SO_REUSEADDR,
} from '../../../src/sys/socket.js';
import {
  IPPROTO_IP,
  IPPROTO_UDP,
  sockaddr_in_decode,
  sockaddr_in_bytes as sin,
} from '../../../src/netinet/in.js';
import { V_ipforwarding, V_maxfragsperpacket } from '../../../src/netinet/ip_var.js';
import { in_cksum_l4 } from '../../../src/netinet/in_cksum.js';
import {
  V_udbinfo,
  V_udpstat,
  V_udp_blackhole,
  V_udp_cksum,
} from '../../../src/netinet/udp_usrreq.js';
import {
  IP_DONTFRAG,
  IP_HDRINCL,
  IP_RECVDSTADDR,
  IP_TOS,
  IP_TTL,
} from '../../../src/netinet/ip_ctloutput.js';
import {
  EACCES,
  ECONNREFUSED,
  EHOSTUNREACH,
  EMSGSIZE,
  EWOULDBLOCK,
} from '../../../src/sys/errno.js';
import { CMSG_DATA_OFF } from '../../../src/sys/socket.js';
import { bpf_capture_set } from '../../../src/net/bpf.js';
import { nanosleep } from '../../../src/lib/process.js';
import { kern_jail_remove } from '../../../src/kern/kern_jail.js';

function udpstat(k: Kernel, v: Vnet): Counters {
  return inv(k, v, () => V_udpstat.fetchAll(v));
}

/** A bound UDP socket (port 0: ephemeral). */
async function udp(c: Libc, addr = 0, port = 0): Promise<number> {
  const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
  assert.ok(s >= 0);
  if (addr !== 0 || port !== 0) assert.equal(await sys(c, c.bind(s, sin(addr, port))), 0);
  return s;
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

test('datagrams of every size class up to 65507 bytes cross two vnets intact', async () => {
  const L = lab2(bootVimage());
  const { k, va, vb } = L;
  const pa = pr(k, 'a');
  const pb = pr(k, 'b');
  const sizes: number[] = [];
  for (let n = 0; n <= 1500; n++) sizes.push(n);
  for (let n = 1501; n < 65507; n += 997) sizes.push(n);
  sizes.push(2952, 2953, 4441, 65506, 65507);
  // 65507 bytes over Ethernet are 45 fragments: raise FreeBSD's default of 16.
  inv(k, vb, () => V_maxfragsperpacket.set(64));
  inv(k, va, () => V_maxfragsperpacket.set(64));
  const sa0 = udpstat(k, va);
  const sb0 = udpstat(k, vb);
  const got: { n: number; ok: boolean }[] = [];
  const server = runIn(
    k,
    async (c) => {
      const s = await udp(c, 0, 5001);
      assert.equal(await sys(c, c.setsockopt(s, SOL_SOCKET, SO_RCVBUF, 1 << 20)), 0);
      const buf = new Uint8Array(70000);
      const from = new Uint8Array(16);
      for (let i = 0; i < sizes.length; i++) {
        const n = await c.recvfrom(s, buf, buf.length, 0, from, [16]);
        const exp = pattern(sizes[i]!, i);
        got.push({ n, ok: n === exp.length && Buffer.compare(buf.subarray(0, n), exp) === 0 });
        const f = sockaddr_in_decode(from)!;
        assert.equal(f.sin_addr, ip('192.0.2.1'));
        // Answer so the client sends the next one only after this arrived.
        await c.sendto(s, Uint8Array.of(i & 0xff), 1, 0, from);
      }
    },
    pb,
  );
  const client = runIn(
    k,
    async (c) => {
      const s = await udp(c);
      assert.equal(await sys(c, c.setsockopt(s, SOL_SOCKET, SO_SNDBUF, 1 << 17)), 0);
      const ack = new Uint8Array(4);
      for (let i = 0; i < sizes.length; i++) {
        const d = pattern(sizes[i]!, i);
        assert.equal(
          await sys(c, c.sendto(s, d, d.length, 0, sin(ip('192.0.2.2'), 5001))),
          d.length,
        );
        assert.equal(await c.recv(s, ack), 1);
      }
      // One byte more than fits in an IP datagram.
      const big = new Uint8Array(65508);
      assert.equal(
        await sys(c, c.sendto(s, big, big.length, 0, sin(ip('192.0.2.2'), 5001))),
        -EMSGSIZE,
      );
    },
    pa,
  );
  await Promise.all([server, client]);
  assert.equal(got.length, sizes.length);
  assert.deepEqual(
    got.map((g, i) => (g.ok ? null : `${sizes[i]}: got ${g.n}`)).filter((x) => x !== null),
    [],
  );
  const da = delta(sa0, udpstat(k, va));
  const db = delta(sb0, udpstat(k, vb));
  assert.equal(db['udps_ipackets'], sizes.length);
  assert.equal(db['udps_badsum'] ?? 0, 0);
  assert.equal(db['udps_nosum'] ?? 0, 0);
  assert.equal(db['udps_fullsock'] ?? 0, 0);
  assert.equal(da['udps_opackets'], sizes.length);
  assert.equal(db['udps_opackets'], sizes.length);
  assert.equal(da['udps_ipackets'], sizes.length);
});

test('port unreachable: ECONNREFUSED on a connected socket only; blackhole sends nothing', async () => {
  const L = lab2(bootVimage());
  const { k, va, vb } = L;
  const pa = pr(k, 'a');
  const ia0 = icmpstat(k, va);
  const ib0 = icmpstat(k, vb);
  const sb0 = udpstat(k, vb);
  const r = await runIn(
    k,
    async (c) => {
      const out: number[] = [];
      const buf = new Uint8Array(16);
      // Connected: the error comes back on the next call, once.
      const s = await udp(c);
      assert.equal(await sys(c, c.connect(s, sin(ip('192.0.2.2'), 9))), 0);
      out.push(await sys(c, c.send(s, Uint8Array.of(1))));
      out.push(await sys(c, c.recv(s, buf, buf.length)));
      out.push(await sys(c, c.recv(s, buf, buf.length, MSG_DONTWAIT)));
      // Unconnected: nothing is reported.
      const u = await udp(c);
      out.push(await sys(c, c.sendto(u, Uint8Array.of(2), 1, 0, sin(ip('192.0.2.2'), 9))));
      await nanosleep(c, 100e6);
      out.push(await sys(c, c.recv(u, buf, buf.length, MSG_DONTWAIT)));
      return out;
    },
    pa,
  );
  assert.deepEqual(r, [1, -ECONNREFUSED, -EWOULDBLOCK, 1, -EWOULDBLOCK]);
  assert.equal(delta(sb0, udpstat(k, vb))['udps_noport'], 2);
  assert.equal(delta(ib0, icmpstat(k, vb))['icps_outhist[3]'], 2);
  assert.equal(delta(ia0, icmpstat(k, va))['icps_inhist[3]'], 2);

  // net.inet.udp.blackhole=1: counted, not answered.
  inv(k, vb, () => V_udp_blackhole.set(1));
  const ib1 = icmpstat(k, vb);
  const r2 = await runIn(
    k,
    async (c) => {
      const s = await udp(c);
      assert.equal(await sys(c, c.connect(s, sin(ip('192.0.2.2'), 9))), 0);
      await c.send(s, Uint8Array.of(1));
      await nanosleep(c, 100e6);
      return sys(c, c.recv(s, new Uint8Array(4), 4, MSG_DONTWAIT));
    },
    pa,
  );
  assert.equal(r2, -EWOULDBLOCK);
  assert.equal(delta(ib1, icmpstat(k, vb))['icps_outhist[3]'] ?? 0, 0);
  assert.equal(delta(sb0, udpstat(k, vb))['udps_noport'], 3);
});

test('broadcast: EACCES without SO_BROADCAST; wildcard sockets get it, bound ones do not', async () => {
  const L = lab2(bootVimage());
  const { k, vb } = L;
  const pa = pr(k, 'a');
  const pb = pr(k, 'b');
  const ib0 = icmpstat(k, vb);
  const sb0 = udpstat(k, vb);
  const recv: Record<string, number> = {};
  const server = runIn(
    k,
    async (c) => {
      const w = await c.socket(AF_INET, SOCK_DGRAM, 0);
      await c.setsockopt(w, SOL_SOCKET, SO_REUSEADDR, 1);
      assert.equal(await sys(c, c.bind(w, sin(0, 6000))), 0);
      const u = await c.socket(AF_INET, SOCK_DGRAM, 0);
      await c.setsockopt(u, SOL_SOCKET, SO_REUSEADDR, 1);
      assert.equal(await sys(c, c.bind(u, sin(ip('192.0.2.2'), 6000))), 0);
      const buf = new Uint8Array(64);
      recv['wildcard'] = await sys(c, c.recv(w, buf));
      recv['wildcard-again'] = await sys(c, c.recv(w, buf, buf.length, MSG_DONTWAIT));
      recv['bound'] = await sys(c, c.recv(u, buf, buf.length, MSG_DONTWAIT));
    },
    pb,
  );
  const client = runIn(
    k,
    async (c) => {
      const s = await udp(c);
      const d = new Uint8Array(10);
      const a = [await sys(c, c.sendto(s, d, d.length, 0, sin(ip('192.0.2.255'), 6000)))];
      assert.equal(await sys(c, c.setsockopt(s, SOL_SOCKET, SO_BROADCAST, 1)), 0);
      a.push(await sys(c, c.sendto(s, d, d.length, 0, sin(ip('192.0.2.255'), 6000))));
      a.push(await sys(c, c.sendto(s, d, d.length, 0, sin(ip('192.0.2.255'), 6001))));
      return a;
    },
    pa,
  );
  const [, a] = await Promise.all([server, client]);
  assert.deepEqual(a, [-EACCES, 10, 10]);
  assert.deepEqual(recv, { wildcard: 10, 'wildcard-again': -EWOULDBLOCK, bound: -EWOULDBLOCK });
  const db = delta(sb0, udpstat(k, vb));
  assert.equal(db['udps_noportbcast'], 1);
  assert.equal(db['udps_noport'], 1);
  assert.equal(delta(ib0, icmpstat(k, vb))['icps_outhist[3]'] ?? 0, 0);
});

test('checksums: zero accepted (udps_nosum), a bad one dropped (udps_badsum)', async () => {
  const L = lab2(bootVimage());
  const { k, va, vb } = L;
  const pa = pr(k, 'a');
  const pb = pr(k, 'b');
  const sb0 = udpstat(k, vb);
  const got: number[] = [];
  const server = runIn(
    k,
    async (c) => {
      const s = await udp(c, 0, 7000);
      const buf = new Uint8Array(64);
      got.push(await c.recv(s, buf));
      got.push(buf[0]!);
      got.push(await sys(c, c.recv(s, buf, buf.length, MSG_DONTWAIT)));
    },
    pb,
  );
  const client = runIn(
    k,
    async (c) => {
      inv(k, va, () => V_udp_cksum.set(0));
      const s = await udp(c);
      await c.sendto(s, Uint8Array.of(42, 1, 2), 3, 0, sin(ip('192.0.2.2'), 7000));
      inv(k, va, () => V_udp_cksum.set(1));
      // A hand-made datagram with a wrong checksum, through a raw socket.
      const r = await c.socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
      assert.equal(await sys(c, c.setsockopt(r, IPPROTO_IP, IP_HDRINCL, 1)), 0);
      const d = new Uint8Array(20 + 8 + 3);
      const dv = new DataView(d.buffer);
      d[0] = 0x45;
      dv.setUint16(2, d.length);
      d[8] = 64;
      d[9] = IPPROTO_UDP;
      dv.setUint32(12, ip('192.0.2.1'));
      dv.setUint32(16, ip('192.0.2.2'));
      dv.setUint16(20, 1234);
      dv.setUint16(22, 7000);
      dv.setUint16(24, 11);
      d.set([9, 9, 9], 28);
      const good = in_cksum_l4(d, 20, 11, ip('192.0.2.1'), ip('192.0.2.2'), IPPROTO_UDP);
      dv.setUint16(26, (good ^ 0x0101) & 0xffff || 1);
      assert.equal(await sys(c, c.sendto(r, d, d.length, 0, sin(ip('192.0.2.2'), 0))), d.length);
    },
    pa,
  );
  await Promise.all([server, client]);
  assert.deepEqual(got, [3, 42, -EWOULDBLOCK]);
  const db = delta(sb0, udpstat(k, vb));
  assert.equal(db['udps_nosum'], 1);
  assert.equal(db['udps_badsum'], 1);
  assert.equal(db['udps_ipackets'], 2);
});

test('IP_RECVDSTADDR gives the destination; IP_TTL and IP_TOS reach the wire', async () => {
  const L = lab2(bootVimage());
  const { k } = L;
  const pa = pr(k, 'a');
  const pb = pr(k, 'b');
  const frames: Uint8Array[] = [];
  bpf_capture_set(k, (ifp, _dlt, data) => {
    if (ifp === L.b) frames.push(data.slice());
  });
  const res: { dst: number; level: number; type: number }[] = [];
  const server = runIn(
    k,
    async (c) => {
      const s = await udp(c, 0, 7100);
      assert.equal(await sys(c, c.setsockopt(s, IPPROTO_IP, IP_RECVDSTADDR, 1)), 0);
      assert.equal(await c.getsockopt_int(s, IPPROTO_IP, IP_RECVDSTADDR), 1);
      const data = new Uint8Array(16);
      const control = new Uint8Array(64);
      const msg = { name: null, iov: [data], control, flags: 0 };
      const n = await c.recvmsg(s, msg, 0);
      assert.equal(n, 5);
      const dv = new DataView(control.buffer);
      res.push({
        level: dv.getInt32(4, true),
        type: dv.getInt32(8, true),
        dst: dv.getUint32(CMSG_DATA_OFF(), false),
      });
    },
    pb,
  );
  const client = runIn(
    k,
    async (c) => {
      const s = await udp(c);
      assert.equal(await sys(c, c.setsockopt(s, IPPROTO_IP, IP_TTL, 7)), 0);
      assert.equal(await sys(c, c.setsockopt(s, IPPROTO_IP, IP_TOS, 0x20)), 0);
      assert.equal(await c.getsockopt_int(s, IPPROTO_IP, IP_TTL), 7);
      await c.sendto(s, new Uint8Array(5), 5, 0, sin(ip('192.0.2.2'), 7100));
    },
    pa,
  );
  await Promise.all([server, client]);
  assert.deepEqual(res, [{ level: IPPROTO_IP, type: IP_RECVDSTADDR, dst: ip('192.0.2.2') }]);
  bpf_capture_set(k, null);
  const udpf = frames.filter((f) => f[23] === IPPROTO_UDP);
  assert.equal(udpf.length, 1);
  assert.equal(udpf[0]![14 + 8], 7, 'ip_ttl');
  assert.equal(udpf[0]![14 + 1], 0x20, 'ip_tos');
});

test('ICMP net unreachable from a router is EHOSTUNREACH; IP_DONTFRAG beyond the MTU is EMSGSIZE', async () => {
  const L = lab2(bootVimage());
  const { k, va, vb } = L;
  // b forwards but has no route to 203.0.113.0/24: it answers net unreachable.
  inv(k, vb, () => V_ipforwarding.set(1));
  inv(k, va, () => route_add('203.0.113.0/24', '192.0.2.2'));
  const r = await runIn(
    k,
    async (c) => {
      const s = await udp(c);
      assert.equal(await sys(c, c.connect(s, sin(ip('203.0.113.5'), 53))), 0);
      const out = [await sys(c, c.send(s, Uint8Array.of(1)))];
      out.push(await sys(c, c.recv(s, new Uint8Array(4))));
      assert.equal(await sys(c, c.setsockopt(s, IPPROTO_IP, IP_DONTFRAG, 1)), 0);
      out.push(await sys(c, c.send(s, new Uint8Array(1473))));
      out.push(await sys(c, c.send(s, new Uint8Array(1472))));
      return out;
    },
    pr(k, 'a'),
  );
  assert.deepEqual(r, [1, -EHOSTUNREACH, -EMSGSIZE, 1472]);
});

test('jail removal closes the UDP sockets of its processes before the vnet goes', async () => {
  const L = lab2(bootVimage());
  const { k, vb } = L;
  const pb = pr(k, 'b');
  let result: number | null = null;
  proc_create(k, 'server', { cr_uid: 0, cr_prison: pb }, async (td) => {
    const c = new Libc(k, td);
    const s = await udp(c, 0, 5353);
    result = await sys(c, c.recv(s, new Uint8Array(4)));
    return 0;
  });
  await k.run_until_idle();
  const sockets = so_globals(k).numopensockets;
  assert.equal(vb.vnet_sockcnt, 1);
  assert.equal(V_udbinfo.on(vb).ipi_count, 1);
  assert.equal(
    k.enter(() => kern_jail_remove(k, k.prison0, pb.pr_id)),
    0,
  );
  await k.run_until_idle();
  assert.equal(result, null, 'killed in recv: it never returned to the program');
  assert.ok(!k.allproc.some((p) => p.p_comm === 'server' && p.p_state === PRS_NORMAL));
  assert.equal(so_globals(k).numopensockets, sockets - 1);
  assert.equal(vb.vnet_magic_n, VNET_MAGIC_DEAD, 'the vnet is destroyed');
});
