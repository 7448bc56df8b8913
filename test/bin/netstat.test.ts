// netstat -s -p ip: the ipstat structure read by symbol through libkvm (host) or the
// sysctl (inside a jail), in FreeBSD's format; -ss leaves zeros out; -j reads the jail's
// vnet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sh } from '../lib/sh.js';
import { bootTest, bootVimage } from '../lib/kernel.js';
import { IPS, IPSTAT_INC } from '../../src/netinet/ip_var.js';
import { with_vnet } from '../../src/net/vnet.js';
import { prison_find_name } from '../../src/kern/kern_jail.js';

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
