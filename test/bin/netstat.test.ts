// netstat -s -p ip: the ipstat structure read by symbol through libkvm (host) or the
// sysctl (inside a jail), in FreeBSD's format; -ss leaves zeros out; -j reads the jail's
// vnet.  netstat -m: the mbuf zones, held and freed buffers counted where they belong,
// and none left in use after a lossy TCP transfer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sh } from '../lib/sh.js';
import { bootTest, bootVimage } from '../lib/kernel.js';
import { IPS, IPSTAT_INC } from '../../src/netinet/ip_var.js';
import { with_vnet } from '../../src/net/vnet.js';
import { prison_find_name } from '../../src/kern/kern_jail.js';
import { m_freem } from '../../src/sys/mbuf.js';
import { epair_set_impairment } from '../../src/net/if_epair.js';
import { V_tcpstat } from '../../src/netinet/tcp_var.js';
import { inv, ip, lab2, pr } from '../lib/inet_lab.js';
import { tcp_stream } from '../lib/inet.js';

test('netstat -sp ip prints every ipstat line; "1 packet forwarded"; -ss drops zeros', async () => {
  const k = bootTest();
  k.enter(() =>
    with_vnet(k.vnet0, () => {
      IPSTAT_INC(IPS.ips_forward);
      IPSTAT_INC(IPS.ips_total);
      IPSTAT_INC(IPS.ips_total);
    }),
  );
  const r = await sh('netstat -sp ip; netstat -ss -p ip; netstat -s -p nosuch; echo st=$?', {
    kernel: k,
  });
  assert.match(r.out, /^ip:\n\t2 total packets received\n\t0 bad header checksums\n/);
  assert.match(r.out, /\t1 packet forwarded \(0 packets fast forwarded\)\n/);
  assert.match(
    r.out,
    /\t0 datagrams with bad address in header\nip:\n\t2 total packets received\n\t1 packet forwarded\nst=1\n$/,
  );
  assert.match(r.err, /netstat: nosuch: unknown or uninstrumented protocol/);
});

test("netstat -j JAIL shows that vnet's counters (VIMAGE)", async () => {
  const k = bootVimage();
  const r0 = await sh('jail -c name=r vnet persist', { kernel: k });
  assert.equal(r0.status, 0);
  const pr = k.enter(() => prison_find_name(k, k.prison0, 'r'))!;
  k.enter(() => with_vnet(pr.pr_vnet!, () => IPSTAT_INC(IPS.ips_forward)));
  const r = await sh('netstat -ss -p ip -j r; netstat -ss -p ip', { kernel: k });
  assert.equal(r.status, 0, r.err);
  assert.equal(r.out, 'ip:\n\t1 packet forwarded\nip:\n');
});

test('netstat -i: a row per interface with its counters (2 pings on lo0: 4 in, 4 out), a row per address with its own', async () => {
  const k = bootTest();
  const r = await sh(
    'ifconfig lo0 inet 127.0.0.1/8 up; ping -c 2 127.0.0.1 >/dev/null; ' +
      'ifconfig epair create >/dev/null; ifconfig epair0a inet 192.0.2.1/24 up; netstat -i',
    { kernel: k },
  );
  assert.equal(r.status, 0, r.err);
  const lines = r.out.split('\n');
  assert.equal(
    lines[0],
    'Name      Mtu Network       Address              Ipkts Ierrs Idrop    Opkts Oerrs  Coll',
  );
  assert.equal(
    lines[1],
    'lo0     16384 <Link#1>      lo0                      4     0     0        4     0     0',
  );
  assert.equal(
    lines[2],
    // The address's own datagrams (requests and replies both to and from 127.0.0.1).
    'lo0         - 127.0.0.0/8   127.0.0.1                4     -     -        4     -     -',
  );
  assert.match(lines[3]!, /^epair0a {2}1500 <Link#2> {6}02:[0-9a-f:]{14} +0 +0 +0 +\d+ +\d+ +0$/);
  assert.equal(
    lines[4],
    'epair0a     - 192.0.2.0/24  192.0.2.1                0     -     -        0     -     -',
  );
  assert.match(lines[5]!, /^epair0b {2}1500 <Link#3> /);
});

test('netstat -i per-address counters (NET_RT_IFLISTL): three echo requests in, three replies out', async () => {
  const r = await sh(
    [
      'ifconfig epair create >/dev/null',
      'jail -c name=b vnet persist >/dev/null',
      'ifconfig epair0b vnet b',
      'ifconfig epair0a inet 192.0.2.1/24 up',
      'jexec b ifconfig epair0b inet 192.0.2.2/24 up',
      'ping -c 3 192.0.2.2 >/dev/null',
      'jexec b netstat -in | grep 192.0.2.2',
      'netstat -in | grep 192.0.2.1',
    ].join('\n'),
    { kernel: bootVimage() },
  );
  assert.equal(
    r.out,
    'epair0b     - 192.0.2.0/24  192.0.2.2                3     -     -        3     -     -\n' +
      'epair0a     - 192.0.2.0/24  192.0.2.1                3     -     -        3     -     -\n',
  );
});

/** netstat -m's numbers: "a/b/c[/d] <what>" lines by their text. */
function mbstat(out: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const line of out.split('\n')) {
    const r = /^([0-9K/]+) (.*)$/.exec(line);
    if (r)
      m.set(
        r[2]!,
        r[1]!.split('/').map((x) => Number.parseInt(x, 10)),
      );
  }
  return m;
}

test('netstat -m: mbufs, clusters and jumbo buffers held show as current, freed ones as cache; FreeBSD lines', async () => {
  const k = bootTest();
  const before = mbstat((await sh('netstat -m', { kernel: k })).out);
  const MB = 'mbufs in use (current/cache/total)';
  const CL = 'mbuf clusters in use (current/cache/total/max)';
  const J16 = '16k jumbo clusters in use (current/cache/total/max)';
  const J64 = '64k jumbo clusters in use (current/cache/total/max)';
  const BIG = 'larger buffers in use (68K)';
  // 100 bytes + 128 of headroom: an mbuf; 1000: a cluster; 10000: 16k; 20000: 64k;
  // 70000: a buffer of its own.
  const held = k.enter(() =>
    [100, 100, 100, 1000, 1000, 10000, 20000, 70000].map((n) => k.mbpool.m_gethdr(n)!),
  );
  const r = await sh('netstat -m; netstat -m -x; echo st=$?', { kernel: k });
  const during = mbstat(r.out);
  assert.equal(during.get(MB)![0]! - before.get(MB)![0]!, 3);
  assert.equal(during.get(CL)![0]! - before.get(CL)![0]!, 2);
  assert.equal(during.get(J16)![0]! - before.get(J16)![0]!, 1);
  assert.equal(during.get(J64)![0]! - before.get(J64)![0]!, 1);
  assert.deepEqual(during.get(BIG), [1]);
  assert.match(r.out, /^\d+\/\d+\/\d+ mbufs in use \(current\/cache\/total\)\n/);
  assert.match(
    r.out,
    /\n0\/0 mbuf\+clusters out of packet secondary zone in use \(current\/cache\)\n/,
  );
  assert.match(r.out, /\n\d+K\/\d+K\/\d+K bytes allocated to network \(current\/cache\/total\)\n/);
  assert.match(r.out, /\n0\/0\/0 requests for mbufs denied \(mbufs\/clusters\/mbuf\+clusters\)\n/);
  assert.match(r.out, /\n0 requests for sfbufs delayed\nst=64\n$/);
  assert.match(r.err, /netstat: illegal option -- x/);
  // In use: at least what is held (3 x 256 + 2 x 2048 + 16384 + 65792 + 70128 bytes).
  const cur = during.get('bytes allocated to network (current/cache/total)')!;
  assert.ok(cur[0]! >= Math.floor((3 * 256 + 2 * 2048 + 16384 + 65792 + 70128) / 1024));
  k.enter(() => held.forEach((m) => m_freem(m)));
  const after = mbstat((await sh('netstat -m', { kernel: k })).out);
  for (const [what, n] of [
    [MB, 3],
    [CL, 2],
    [J16, 1],
    [J64, 1],
  ] as const) {
    assert.equal(after.get(what)![0], before.get(what)![0], `${what}: back to before`);
    assert.equal(after.get(what)![1]! - during.get(what)![1]!, n, `${what}: cached`);
  }
  assert.equal(after.get('larger buffers in use (0K)')![0], 0);
});

test('netstat -m: a TCP transfer over a lossy epair leaves no mbuf in use', async () => {
  const k = bootVimage();
  const L = lab2(k);
  const count = (): number[] => k.mbpool.zones().map((z) => z.current);
  const r0 = mbstat((await sh('netstat -m', { kernel: k })).out);
  const idle = count();
  epair_set_impairment(L.a, { loss: 0.02, reorder: 0.02, dup: 0.01 });
  epair_set_impairment(L.b, { loss: 0.02 });
  const data = new Uint8Array(2 << 20).map((_, i) => (i * 7) & 0xff);
  await tcp_stream(k, { from: pr(k, 'a'), to: pr(k, 'b'), dst: ip('192.0.2.2'), port: 7, data });
  await k.run_until_idle();
  const st = inv(k, L.va, () => V_tcpstat.fetchAll(L.va));
  assert.ok((st.tcps_sndrexmitpack ?? 0) > 0, 'the loss made retransmissions');
  assert.deepEqual(count(), idle, 'every zone back to what was in use before');
  const r1 = mbstat((await sh('netstat -m', { kernel: k })).out);
  const CL = 'mbuf clusters in use (current/cache/total/max)';
  assert.equal(r1.get(CL)![0], r0.get(CL)![0]);
  assert.ok(r1.get(CL)![1]! > r0.get(CL)![1]!, 'the segments buffers are cached for reuse');
});
