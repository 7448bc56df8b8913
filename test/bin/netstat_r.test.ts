// netstat -rn: the IPv4 routing table through sysctl net.route.inet.dump, in
// FreeBSD's layout (columns, flags letters, default, prefixes, link#N gateways).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sh } from '../lib/sh.js';
import { bootVimage } from '../lib/kernel.js';

const HEAD =
  'Routing tables\n\nInternet:\nDestination        Gateway            Flags     Netif Expire\n';

test('netstat -rn lists routes in FreeBSD format', async () => {
  const r = await sh(
    [
      'ifconfig epair create >/dev/null',
      'ifconfig epair0a inet 192.0.2.1/24 up',
      'route add default 192.0.2.254 >/dev/null',
      'route add 198.51.100.0/24 192.0.2.2 >/dev/null',
      'route add -host 198.51.100.7 192.0.2.3 >/dev/null',
      'route add -net 203.0.113.0/25 192.0.2.4 -reject >/dev/null',
      'netstat -rn; echo st=$?',
      'route delete 198.51.100.0/24 >/dev/null',
      'netstat -r -f inet | grep -c 198.51.100',
      'netstat -rn -f inet6; echo af=$?',
      'netstat -rs; echo both=$?',
      'netstat -rx; echo ill=$?',
    ].join('\n'),
  );
  assert.equal(
    r.out,
    HEAD +
      'default            192.0.2.254        UGS     epair0a\n' +
      '192.0.2.0/24       link#2             U       epair0a\n' +
      '192.0.2.1          link#2             UHS         lo0\n' +
      '198.51.100.0/24    192.0.2.2          UGS     epair0a\n' +
      '198.51.100.7       192.0.2.3          UGHS    epair0a\n' +
      '203.0.113.0/25     192.0.2.4          UGRS    epair0a\n' +
      'st=0\n' +
      '1\n' +
      'af=1\n' +
      'both=64\n' +
      'ill=64\n',
  );
  assert.match(r.err, /netstat: inet6: unknown address family\n/);
  assert.match(r.err, /netstat: illegal option -- x\nusage: netstat \[-an\]/);
});

test('netstat -rn -j and inside a jail: the jail vnet table only', async () => {
  const k = bootVimage();
  const r = await sh(
    [
      'ifconfig epair create >/dev/null',
      'ifconfig epair0a inet 192.0.2.1/24 up',
      'jail -c name=j1 vnet persist >/dev/null',
      'ifconfig epair0b vnet j1',
      'jexec j1 ifconfig epair0b inet 198.18.0.2/15 up',
      'jexec j1 route add default 198.18.0.1 >/dev/null',
      'netstat -rn -j j1',
      'jexec j1 netstat -rn',
      'netstat -rn | grep -c 198.18',
    ].join('\n'),
    { kernel: k },
  );
  const jt =
    HEAD +
    'default            198.18.0.1         UGS     epair0b\n' +
    '198.18.0.0/15      link#2             U       epair0b\n' +
    '198.18.0.2         link#2             UHS         lo0\n';
  assert.equal(r.out, jt + jt + '0\n');
});
