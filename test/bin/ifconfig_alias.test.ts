// ifconfig(8): -alias after the address (FreeBSD's "inet ADDR -alias") or before it,
// delete, the errors of a missing or unknown address, and a bridge listing its members
// (BRDGGIFS) as "member: IF flags=3<LEARNING,DISCOVER>".  Runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sh } from '../lib/sh.js';

test('ifconfig -alias in both positions and delete remove addresses; errors exit 1', async () => {
  const r = await sh(
    [
      'ifconfig epair create >/dev/null',
      'ifconfig epair0a inet 192.0.2.5/24',
      'ifconfig epair0a inet 192.0.2.6/24 alias',
      'ifconfig epair0a inet 198.51.100.1 netmask 255.255.255.0 alias',
      'ifconfig epair0a | grep -c inet',
      'ifconfig epair0a inet 192.0.2.5 -alias',
      'ifconfig epair0a | grep inet',
      'ifconfig epair0a -alias 192.0.2.6',
      'ifconfig epair0a delete 198.51.100.1',
      'ifconfig epair0a | grep -c inet',
      'ifconfig epair0a -alias; echo none=$?',
      'ifconfig epair0a inet 192.0.2.7 -alias; echo absent=$?',
    ].join('\n'),
  );
  assert.equal(
    r.out,
    '3\n' +
      '\tinet 192.0.2.6 netmask 0xffffff00 broadcast 192.0.2.255\n' +
      '\tinet 198.51.100.1 netmask 0xffffff00 broadcast 198.51.100.255\n' +
      '0\n' +
      'none=1\n' +
      'absent=1\n',
  );
  assert.equal(
    r.err,
    'ifconfig: -alias: no address given\n' +
      "ifconfig: ioctl (SIOCDIFADDR): Can't assign requested address\n",
  );
});

test('ifconfig bridgeN shows its ether address and members; deletem removes one', async () => {
  const r = await sh(
    [
      'ifconfig epair create >/dev/null',
      'ifconfig bridge create >/dev/null',
      'ifconfig bridge0 addm epair0a addm epair0b up',
      'ifconfig bridge0',
      'ifconfig bridge0 deletem epair0a',
      'ifconfig bridge0 | grep member',
    ].join('\n'),
  );
  assert.match(
    r.out,
    /^bridge0: flags=8043<UP,BROADCAST,RUNNING,MULTICAST> metric 0 mtu 1500\n\tether [0-9a-f]{2}(:[0-9a-f]{2}){5}\n\tmember: epair0a flags=3<LEARNING,DISCOVER>\n\tmember: epair0b flags=3<LEARNING,DISCOVER>\n\tmember: epair0b flags=3<LEARNING,DISCOVER>\n$/,
  );
  assert.equal(r.err, '');
});
