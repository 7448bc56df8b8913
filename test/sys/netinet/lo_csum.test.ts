// lo0's checksum capabilities (SIOCSIFCAP, as `ifconfig lo0 [-]rxcsum [-]txcsum`): with
// TXCSUM the IP header and transport sums are left pending, with RXCSUM the receiving
// side is told everything is verified; with TXCSUM but not RXCSUM the pending sums are
// accepted as never having left the host (FreeBSD 15's rule), with neither every sum is
// computed and checked.  In each of the four states a TCP stream and UDP datagrams over
// 127.0.0.1 arrive intact with no checksum drop counted.  Runs on both kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../../lib/kernel.js';
import { runIn } from '../../lib/inet.js';
import { addaddr, delta, ifcap_set, inv, ip } from '../../lib/inet_lab.js';
import { V_loif } from '../../../src/net/if_loop.js';
import {
  IFCAP_LINKSTATE,
  IFCAP_RXCSUM,
  IFCAP_RXCSUM_IPV6,
  IFCAP_TXCSUM,
  IFCAP_TXCSUM_IPV6,
} from '../../../src/net/if_var.js';
import { AF_INET, SOCK_DGRAM, SOCK_STREAM } from '../../../src/sys/socket.js';
import { sockaddr_in_bytes as sin } from '../../../src/netinet/in.js';
import { V_tcpstat } from '../../../src/netinet/tcp_var.js';
import { V_udpstat } from '../../../src/netinet/udp_usrreq.js';
import { V_ipstat } from '../../../src/netinet/ip_var.js';
import { nanosleep } from '../../../src/lib/process.js';
import type { Kernel } from '../../../src/kern/kernel.js';

const LO = ip('127.0.0.1');
const TOTAL = 64 * 1024;

function counters(k: Kernel): Record<string, number> {
  const v = k.vnet0;
  return inv(k, v, () => ({
    ...V_tcpstat.fetchAll(v),
    ...V_udpstat.fetchAll(v),
    ...V_ipstat.fetchAll(v),
  }));
}

async function exchange(k: Kernel, port: number): Promise<void> {
  const want = new Uint8Array(TOTAL).map((_, i) => (i * 5 + 3) & 0xff);
  let got = 0;
  let same = true;
  let dgram = -1;
  const server = runIn(k, async (c) => {
    const l = await c.socket(AF_INET, SOCK_STREAM, 0);
    assert.equal(await c.bind(l, sin(LO, port)), 0);
    assert.equal(await c.listen(l, 1), 0);
    const u = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.equal(await c.bind(u, sin(LO, port)), 0);
    const s = await c.accept(l, null, null);
    const buf = new Uint8Array(8192);
    for (;;) {
      const n = await c.read(s, buf);
      assert.ok(n >= 0);
      if (n === 0) break;
      for (let i = 0; i < n; i++) if (buf[i] !== want[got + i]) same = false;
      got += n;
    }
    dgram = await c.recv(u, buf);
    await c.close(s);
    await c.close(l);
    await c.close(u);
  });
  const client = runIn(k, async (c) => {
    await nanosleep(c, 1_000_000);
    const s = await c.socket(AF_INET, SOCK_STREAM, 0);
    assert.equal(await c.connect(s, sin(LO, port)), 0);
    for (let off = 0; off < TOTAL;) off += await c.write(s, want.subarray(off));
    assert.equal(await c.close(s), 0);
    const u = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.equal(await c.sendto(u, want.subarray(0, 999), 999, 0, sin(LO, port)), 999);
    await c.close(u);
  });
  await Promise.all([server, client]);
  assert.equal(got, TOTAL);
  assert.ok(same, 'the stream arrived intact');
  assert.equal(dgram, 999);
}

test('lo0 [-]rxcsum [-]txcsum: TCP and UDP over 127.0.0.1 in all four states, no checksum drops', async () => {
  const k = bootTest();
  const lo = inv(k, k.vnet0, () => V_loif.get()!);
  inv(k, k.vnet0, () => addaddr(lo, '127.0.0.1/8'));
  const ALL = IFCAP_RXCSUM | IFCAP_TXCSUM | IFCAP_RXCSUM_IPV6 | IFCAP_TXCSUM_IPV6;
  assert.equal(lo.if_capenable, ALL | IFCAP_LINKSTATE, "FreeBSD's set, on by default");
  let port = 7100;
  for (const cap of [IFCAP_RXCSUM | IFCAP_TXCSUM, IFCAP_TXCSUM, IFCAP_RXCSUM, 0]) {
    ifcap_set(k, lo, cap);
    assert.equal(lo.if_capenable, cap | IFCAP_LINKSTATE, 'LINKSTATE stays');
    assert.equal(lo.if_hwassist !== 0, (cap & IFCAP_TXCSUM) !== 0, 'if_hwassist follows TXCSUM');
    const c0 = counters(k);
    await exchange(k, port++);
    const d = delta(c0, counters(k));
    for (const f of ['tcps_rcvbadsum', 'udps_badsum', 'ips_badsum'])
      assert.equal(d[f] ?? 0, 0, `${f} with capabilities ${cap}`);
    assert.ok((d['tcps_rcvbyte'] ?? 0) >= TOTAL);
    await k.run_for(120); /* past TIME_WAIT */
  }
});
