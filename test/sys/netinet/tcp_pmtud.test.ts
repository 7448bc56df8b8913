// TCP path MTU discovery (RFC 1191) as FreeBSD's tcp_ctlinput, tcp_mtudisc and host
// cache: every segment leaves with DF; a router whose next link is too small answers
// ICMP unreachable/need-frag with that link's MTU; the sender lowers its MSS to fit,
// sends again from snd_una at once (tcps_mturesent) and remembers the MTU for the
// destination (net.inet.tcp.hostcache), so the next connection starts small and costs
// the router no error at all.  An error without a next-hop MTU (an old router) makes
// the sender try the next RFC 1191 plateau below the datagram's size.
// lab3: h1 192.0.2.1 — r — 198.51.100.2 h2; r's interface towards h2 has MTU 1280.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { tcp_conns, tcp_stream } from '../../lib/inet.js';
import { sh } from '../../lib/sh.js';
import { delta, icmpstat, inv, ip, lab2, lab3, pr, type Lab3 } from '../../lib/inet_lab.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Vnet } from '../../../src/net/vnet.js';
import { V_tcpstat } from '../../../src/netinet/tcp_var.js';
import { tcp_hc_count, tcp_hc_getmtu } from '../../../src/netinet/tcp_hostcache.js';
import type { Libc } from '../../../src/lib/libc.js';
import { nanosleep } from '../../../src/lib/process.js';
import { bpf_capture_set } from '../../../src/net/bpf.js';
import { ip_next_mtu } from '../../../src/netinet/icmp.js';
import { epair_set_impairment } from '../../../src/net/if_epair.js';

const H2 = ip('198.51.100.2');

function tcpstat(k: Kernel, v: Vnet): Record<string, number> {
  return inv(k, v, () => V_tcpstat.fetchAll(v));
}

const DATA = new Uint8Array(256 * 1024).map((_, i) => (i * 7 + (i >> 8)) & 0xff);

function lab(): Lab3 {
  const L = lab3(bootVimage());
  /* Only r's side: h2 still offers an MSS for 1500, so only the router can tell. */
  L.ifs[2]!.if_mtu = 1280;
  for (const ifp of L.ifs) epair_set_impairment(ifp, { delay_ns: 1_000_000 });
  return L;
}

/**
 * Connections from h1 to h2 one after the other, each moving DATA (checked); after each
 * one `after(i)` runs in h1's program (see tcp_conns: time passes only there).
 */
async function streams(L: Lab3, n: number, after: (i: number, c: Libc) => Promise<void>) {
  const buf = new Uint8Array(65536);
  await tcp_conns(L.k, {
    from: pr(L.k, 'h1'),
    to: pr(L.k, 'h2'),
    dst: H2,
    port: 7300,
    n,
    serve: async (c, s) => {
      let got = 0;
      for (;;) {
        const r = await c.read(s, buf);
        assert.ok(r >= 0, `read: errno ${c.errno}`);
        if (r === 0) break;
        for (let j = 0; j < r; j++) assert.equal(buf[j], DATA[got + j]);
        got += r;
      }
      assert.equal(got, DATA.length);
      await c.close(s);
    },
    use: async (c, s, i) => {
      assert.equal(await c.write(s, DATA), DATA.length);
      assert.equal(await c.close(s), 0);
      await nanosleep(c, 100_000_000);
      await after(i, c);
    },
  });
}

test('need-frag from a router lowers the MSS, resends at once and is remembered', async () => {
  const L = lab();
  const { k } = L;
  let biggest = 0;
  bpf_capture_set(k, (ifp, _dlt, f) => {
    if (ifp === L.ifs[2]) biggest = Math.max(biggest, f.length);
  });
  const seen: { needfrag: number; mturesent: number; rexmttimeo: number; hc: number }[] = [];
  let list = '';
  let t = tcpstat(k, L.h1);
  let r = icmpstat(k, L.r);
  await streams(L, 2, async (i, c) => {
    if (i === 0) {
      const b = await c.sysctlbyname_bytes('net.inet.tcp.hostcache.list');
      list = new TextDecoder().decode(b ?? new Uint8Array()).replace(/\0.*$/s, '');
    }
    const dt = delta(t, tcpstat(k, L.h1));
    seen.push({
      needfrag: delta(r, icmpstat(k, L.r))['icps_outhist[3]'] ?? 0,
      mturesent: dt['tcps_mturesent'] ?? 0,
      rexmttimeo: dt['tcps_rexmttimeo'] ?? 0,
      hc: inv(k, L.h1, () => tcp_hc_getmtu(H2)),
    });
    t = tcpstat(k, L.h1);
    r = icmpstat(k, L.r);
  });
  bpf_capture_set(k, null);
  const [first, second] = seen;
  assert.ok(first!.needfrag >= 1, 'the router said need-frag');
  assert.equal(first!.mturesent, 1, 'one MTU-driven resend');
  assert.equal(first!.rexmttimeo, 0, 'no retransmission timeout');
  assert.equal(first!.hc, 1280, 'the host cache has the path MTU');
  /* sysctl net.inet.tcp.hostcache.list, FreeBSD's table. */
  const lines = list.split('\n');
  assert.equal(
    lines[1],
    'IP address        MTU SSTRESH      RTT   RTTVAR     CWND SENDPIPE RECVPIPE EXP',
  );
  assert.match(lines[2]!, /^198\.51\.100\.2\s+1280\s+0\s+0ms\s+0ms\s+0\s+0\s+0\s+3600$/);
  assert.ok(biggest <= 14 + 1280, `frames on the small link fit it (${biggest})`);
  /* The next connection starts at the remembered MTU: no error from the router. */
  assert.deepEqual(second, { needfrag: 0, mturesent: 0, rexmttimeo: 0, hc: 1280 });
  /* netstat -s in FreeBSD's words. */
  const ns = await sh('netstat -ss -p tcp -j h1', { kernel: k });
  assert.match(ns.out, /\t\t1 resend initiated by MTU discovery\n/);
  assert.match(ns.out, /\t1 hostcache entry added\n/);
});

test('the host cache entry goes after net.inet.tcp.hostcache.expire (+ prune) unused', async () => {
  const L = lab();
  const { k } = L;
  const counts: number[] = [];
  await streams(L, 1, async (_i, c) => {
    const count = (): number => inv(k, L.h1, () => tcp_hc_count());
    counts.push(count());
    await nanosleep(c, 3500 * 1e9);
    counts.push(count());
    await nanosleep(c, 450 * 1e9);
    counts.push(count());
  });
  assert.deepEqual(counts, [1, 1, 0]);
});

test('net.inet.tcp.hostcache.purge empties it at the next run, purgenow at once', async () => {
  const L = lab();
  const { k } = L;
  const counts: number[] = [];
  const one = new Uint8Array([1, 0, 0, 0]);
  await streams(L, 2, async (i, c) => {
    const count = (): number => inv(k, L.h1, () => tcp_hc_count());
    counts.push(count());
    assert.equal(
      await c.sysctlbyname(
        i === 0 ? 'net.inet.tcp.hostcache.purge' : 'net.inet.tcp.hostcache.purgenow',
        null,
        null,
        one,
      ),
      0,
    );
    counts.push(count());
    if (i === 0) {
      await nanosleep(c, 301 * 1e9);
      counts.push(count());
    }
  });
  /* purge: still there until the run (at most prune = 300 s later); purgenow: gone. */
  assert.deepEqual(counts, [1, 1, 0, 1, 0]);
});

test("an interface's MTU lowered under a connection: the next segment fits (EMSGSIZE)", async () => {
  const L = lab2(bootVimage());
  const { k } = L;
  let biggest = 0;
  bpf_capture_set(k, (ifp, _dlt, f) => {
    if (ifp === L.a) biggest = Math.max(biggest, f.length);
  });
  const t0 = tcpstat(k, L.va);
  await tcp_stream(k, {
    from: pr(k, 'a'),
    to: pr(k, 'b'),
    dst: ip('192.0.2.2'),
    port: 7310,
    data: DATA,
    /* The MSS is agreed for 1500; then the link shrinks. */
    connected: async () => {
      L.a.if_mtu = 1280;
      L.b.if_mtu = 1280;
    },
  });
  bpf_capture_set(k, null);
  assert.ok(biggest <= 14 + 1280, `frames fit the new MTU (${biggest})`);
  assert.equal(delta(t0, tcpstat(k, L.va))['tcps_rexmttimeo'] ?? 0, 0, 'no timeout');
});

test('ip_next_mtu: the RFC 1191 plateau below a size', () => {
  assert.equal(ip_next_mtu(1500, 1), 1492);
  assert.equal(ip_next_mtu(1492, 1), 1280);
  assert.equal(ip_next_mtu(1281, 1), 1280);
  assert.equal(ip_next_mtu(576, 1), 508);
  assert.equal(ip_next_mtu(68, 1), 0);
  assert.equal(ip_next_mtu(1280, -1), 1492, 'and the next one up');
});
