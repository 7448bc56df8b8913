// Checksum offload on epair (FreeBSD 15's epair(4): RXCSUM/RXCSUM6 always on,
// TXCSUM/TXCSUM6 on by default and shared by both ends) and the rules that keep a
// pending checksum from ever reaching a place that would need it finished:
//
//   - with TXCSUM, TCP and UDP leave the checksum to the interface (if_hwassist, seen by
//     the routing socket as ifi_hwassist); the frame crosses the epair with the
//     pseudo-header sum in the field and the receiving stack does not check it (it
//     never left the host); a tap is handed a copy with the checksum finished, so the
//     capture passes tshark's checksum checks;
//   - with -txcsum the sender computes it and the receiver checks it: a frame corrupted
//     in place on the way is dropped (tcps_rcvbadsum) and sent again;
//   - a router that forwards a pending checksum out an interface without TXCSUM finishes
//     it in ip_output, and a bridge does so for a member without TXCSUM (FreeBSD's
//     if_bridge since D54948) but forwards it pending to a member that has it.
//
// How "finished" is observed: a tap that flips one payload byte of the first data frame
// leaving an interface hits the frame itself only when its checksum is already done (a
// pending one is tapped as a finished copy).  So tcps_rcvbadsum at the receiver says
// whether the frame left that interface with its checksum computed.
//
// VIMAGE_ONLY: several vnets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { runIn, tcp_stream } from '../../lib/inet.js';
import {
  addaddr,
  delta,
  epair,
  ifcap_set,
  inv,
  ip,
  jail,
  lab3,
  type Counters,
} from '../../lib/inet_lab.js';
import { eth_src_filter, tshark_lint } from '../../lib/tshark.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Vnet } from '../../../src/net/vnet.js';
import { prison_find_name } from '../../../src/kern/kern_jail.js';
import { AF_INET, SOCK_DGRAM } from '../../../src/sys/socket.js';
import { sockaddr_in_bytes as sin } from '../../../src/netinet/in.js';
import { V_tcpstat } from '../../../src/netinet/tcp_var.js';
import { V_udpstat } from '../../../src/netinet/udp_usrreq.js';
import { bpf_capture_pcapng, bpf_capture_set } from '../../../src/net/bpf.js';
import { ether_sprintf } from '../../../src/net/ethernet.js';
import { if_clone_create } from '../../../src/net/if_clone.js';
import { ifioctl_generic, ifunit } from '../../../src/net/if.js';
import { SIOCSIFFLAGS } from '../../../src/sys/sockio.js';
import { bridge_addm } from '../../../src/net/if_bridge.js';
import { rt_dump_iflist } from '../../../src/net/rtsock.js';
import { rtsock_decode } from '../../../src/net/route.js';
import { IFCAP_TXCSUM, IFCAP_TXCSUM_IPV6, IFF_UP, type Ifnet } from '../../../src/net/if_var.js';
import { CSUM_IP6_TCP, CSUM_IP6_UDP, CSUM_IP_TCP, CSUM_IP_UDP } from '../../../src/sys/mbuf.js';
import { nanosleep } from '../../../src/lib/process.js';

const MS = 1_000_000;
const TOTAL = 256 * 1024;
const PORT = 5201;

function tcpstat(k: Kernel, v: Vnet): Counters {
  return inv(k, v, () => V_tcpstat.fetchAll(v));
}

function udpstat(k: Kernel, v: Vnet): Counters {
  return inv(k, v, () => V_udpstat.fetchAll(v));
}

/** ifi_hwassist of ifp as net.route.iflist (NET_RT_IFLIST) reports it. */
function hwassist(k: Kernel, ifp: Ifnet): number {
  const buf = inv(k, ifp.if_vnet!, () => rt_dump_iflist());
  for (let off = 0; off < buf.length;) {
    const d = rtsock_decode(buf.subarray(off));
    assert.equal(d.error, 0);
    const h = d.msg!.hdr;
    if (h['ifm_index'] === ifp.if_index && h['ifi_hwassist'] !== undefined)
      return h['ifi_hwassist'];
    off += d.len;
  }
  throw new Error(`${ifp.if_xname} not in net.route.iflist`);
}

/**
 * Flip the last payload byte of the first TCP data frame (from `src`) tapped leaving
 * ifp — in the tapped bytes, which are the frame itself unless its checksum is pending.
 */
function flip_first(k: Kernel, ifp: Ifnet, src: number): void {
  let done = false;
  bpf_capture_set(k, (i, _dlt, f, _wirelen, out) => {
    if (done || i !== ifp || !out || f.length < 60 || f[12] !== 0x08 || f[23] !== 6) return;
    const s = ((f[26]! << 24) | (f[27]! << 16) | (f[28]! << 8) | f[29]!) >>> 0;
    const ihl = (f[14]! & 15) << 2;
    const iplen = (f[16]! << 8) | f[17]!;
    const thl = (f[14 + ihl + 12]! >> 4) << 2;
    if (s !== src || iplen - ihl - thl <= 0) return;
    f[14 + iplen - 1]! ^= 0x5a;
    done = true;
  });
}

/** TOTAL bytes from jail `from` to dst:PORT in jail `to`; the stream is checked. */
async function transfer(k: Kernel, from: string, to: string, dst: number): Promise<void> {
  await tcp_stream(k, {
    from: prison_find_name(k, k.prison0, from)!,
    to: prison_find_name(k, k.prison0, to)!,
    dst,
    port: PORT,
    data: new Uint8Array(TOTAL).map((_, i) => (i * 7 + (i >> 10)) & 0xff),
  });
}

/** a (192.0.2.1) — epair0 — b (192.0.2.2). */
function two(k: Kernel): { va: Vnet; vb: Vnet; a: Ifnet; b: Ifnet } {
  const va = jail(k, 'a');
  const vb = jail(k, 'b');
  const { a, b } = epair(k, va, vb);
  inv(k, va, () => addaddr(a, '192.0.2.1/24'));
  inv(k, vb, () => addaddr(b, '192.0.2.2/24'));
  return { va, vb, a, b };
}

test('TXCSUM: TCP and UDP cross an epair with their checksums pending, accepted, and tapped finished', async () => {
  const k = bootVimage();
  const { va, vb, a, b } = two(k);
  const all = CSUM_IP_TCP | CSUM_IP_UDP | CSUM_IP6_TCP | CSUM_IP6_UDP;
  assert.equal(hwassist(k, a), all, 'epair0a offloads TCP and UDP checksums');
  assert.equal(hwassist(k, b), all, 'so does epair0b');
  const cap = bpf_capture_pcapng(k);
  const t0 = tcpstat(k, vb);
  const u0 = udpstat(k, vb);
  await transfer(k, 'a', 'b', ip('192.0.2.2'));
  /* Three datagrams (one of them zero-length) and their replies. */
  const got: number[] = [];
  const udp_server = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
      assert.equal(await c.bind(s, sin(0, 7)), 0);
      const buf = new Uint8Array(2000);
      const from = new Uint8Array(16);
      for (let i = 0; i < 3; i++) {
        const n = await c.recvfrom(s, buf, buf.length, 0, from);
        got.push(n);
        await c.sendto(s, buf.subarray(0, n), n, 0, from);
      }
      await c.close(s);
    },
    prison_find_name(k, k.prison0, 'b')!,
  );
  const udp_client = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
      await nanosleep(c, MS);
      const buf = new Uint8Array(2000);
      for (const n of [1, 0, 1472]) {
        const d = new Uint8Array(n).fill(0xa5);
        assert.equal(await c.sendto(s, d, n, 0, sin(ip('192.0.2.2'), 7)), n);
        assert.equal(await c.recv(s, buf, buf.length, 0), n);
      }
      await c.close(s);
    },
    prison_find_name(k, k.prison0, 'a')!,
  );
  await Promise.all([udp_server, udp_client]);
  assert.deepEqual(got, [1, 0, 1472]);
  const dt = delta(t0, tcpstat(k, vb));
  assert.equal(dt['tcps_rcvbadsum'] ?? 0, 0);
  assert.ok((dt['tcps_rcvbyte'] ?? 0) >= TOTAL);
  assert.equal(delta(u0, udpstat(k, vb))['udps_badsum'] ?? 0, 0);
  assert.equal(udpstat(k, va)['udps_badsum'] ?? 0, 0);
  tshark_lint(
    cap.stop(),
    eth_src_filter([a, b].map((i) => ether_sprintf(i.if_lladdr!))),
    undefined,
    ['-d', `tcp.port==${PORT},data`],
  );
});

test('-txcsum: the sender computes and the receiver checks; a corrupted frame is dropped and sent again', async () => {
  const k = bootVimage();
  const { vb, a, b } = two(k);
  /* With TXCSUM on, the flip lands in a tapped copy and nothing is noticed. */
  flip_first(k, a, ip('192.0.2.1'));
  let t0 = tcpstat(k, vb);
  await transfer(k, 'a', 'b', ip('192.0.2.2'));
  assert.equal(delta(t0, tcpstat(k, vb))['tcps_rcvbadsum'] ?? 0, 0);
  /* Off on one end is off on both. */
  ifcap_set(k, a, a.if_capenable & ~(IFCAP_TXCSUM | IFCAP_TXCSUM_IPV6));
  assert.equal(hwassist(k, a), 0);
  assert.equal(hwassist(k, b), 0);
  assert.equal(b.if_capenable & (IFCAP_TXCSUM | IFCAP_TXCSUM_IPV6), 0);
  await k.run_for(120); /* the first connection's TIME_WAIT */
  flip_first(k, a, ip('192.0.2.1'));
  t0 = tcpstat(k, vb);
  await transfer(k, 'a', 'b', ip('192.0.2.2'));
  assert.equal(delta(t0, tcpstat(k, vb))['tcps_rcvbadsum'], 1, 'the corrupted frame was caught');
  bpf_capture_set(k, null);
});

/**
 * TCP from h1 to dst in h2, whose frames leave through `out`: with TXCSUM on out the
 * flipped byte lands in a tapped copy (the frame goes on pending, accepted); with it off
 * the frame leaves finished, the flip hits it and h2 drops it once (tcps_rcvbadsum).
 */
async function finished_on_the_way(k: Kernel, out: Ifnet, dst: number, h2: Vnet): Promise<void> {
  flip_first(k, out, ip('192.0.2.1'));
  let t0 = tcpstat(k, h2);
  await transfer(k, 'h1', 'h2', dst);
  assert.equal(delta(t0, tcpstat(k, h2))['tcps_rcvbadsum'] ?? 0, 0, 'forwarded pending');
  ifcap_set(k, out, out.if_capenable & ~IFCAP_TXCSUM);
  await k.run_for(120); /* the first connection's TIME_WAIT */
  flip_first(k, out, ip('192.0.2.1'));
  t0 = tcpstat(k, h2);
  await transfer(k, 'h1', 'h2', dst);
  assert.equal(delta(t0, tcpstat(k, h2))['tcps_rcvbadsum'], 1, 'finished on the way');
  bpf_capture_set(k, null);
}

test('a router finishes a pending checksum for an interface without TXCSUM (ip_output)', async () => {
  const L = lab3(bootVimage());
  await finished_on_the_way(L.k, L.ifs[2]!, ip('198.51.100.2'), L.h2);
});

test('a bridge finishes a pending checksum for a member without TXCSUM, and only for it', async () => {
  const k = bootVimage();
  const h1 = jail(k, 'h1');
  const r = jail(k, 'r');
  const h2 = jail(k, 'h2');
  const e0 = epair(k, h1, r);
  const e1 = epair(k, r, h2);
  inv(k, h1, () => addaddr(e0.a, '192.0.2.1/24'));
  inv(k, h2, () => addaddr(e1.b, '192.0.2.2/24'));
  inv(k, r, () => {
    const c = if_clone_create('bridge', null);
    assert.equal(c.error, 0);
    const br = ifunit(c.name)!;
    assert.equal(bridge_addm(br, e0.b.if_xname), 0);
    assert.equal(bridge_addm(br, e1.a.if_xname), 0);
    /* ifconfig bridge0 up: SIOCSIFFLAGS, which the bridge's ioctl turns into RUNNING. */
    const f = new Uint8Array(32);
    f.set([...br.if_xname].map((ch) => ch.charCodeAt(0)));
    new DataView(f.buffer).setUint16(16, IFF_UP, true);
    assert.equal(ifioctl_generic(br, SIOCSIFFLAGS, f, null), 0);
  });
  await finished_on_the_way(k, e1.a, ip('192.0.2.2'), h2);
});
