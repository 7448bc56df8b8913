// if_bridge(4) span ports (FreeBSD's if_bridge "span" case): `ifconfig bridge0 span
// IF` makes IF receive a copy of every frame the bridge's members receive, so a
// capture on the far side of the span epair sees two jails talking across the bridge;
// ifconfig lists it as "member: IF flags=8<SPAN>"; a member cannot be a span port, a
// span port cannot be added twice, -span of a non-span port is ENOENT; destroying the
// span interface removes it.  Three vnet jails (bootVimage): runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sh } from '../../lib/sh.js';
import { bootVimage } from '../../lib/kernel.js';

test('a span port sees the frames crossing the bridge; ifconfig span/-span and their errors', async () => {
  const r = await sh(
    [
      'ifconfig bridge create >/dev/null',
      'ifconfig epair create >/dev/null; ifconfig epair create >/dev/null',
      'ifconfig epair create >/dev/null',
      'jail -c name=a vnet persist >/dev/null; jail -c name=b vnet persist >/dev/null',
      'jail -c name=s vnet persist >/dev/null',
      'ifconfig epair0b vnet a; ifconfig epair1b vnet b; ifconfig epair2b vnet s',
      'ifconfig bridge0 addm epair0a addm epair1a up',
      'ifconfig epair0a up; ifconfig epair1a up; ifconfig epair2a up',
      'jexec a ifconfig epair0b inet 192.0.2.1/24 up',
      'jexec b ifconfig epair1b inet 192.0.2.2/24 up',
      'jexec s ifconfig epair2b up',
      'ifconfig bridge0 span epair2a; echo span=$?',
      'ifconfig bridge0 | grep member:',
      'jexec s tcpdump -n -c 4 -i epair2b icmp &',
      'sleep 1',
      'jexec a ping -c 2 192.0.2.2 >/dev/null; echo ping=$?',
      'wait',
      'ifconfig bridge0 span epair2a; echo twice=$?',
      'ifconfig bridge0 span epair0a; echo member=$?',
      'ifconfig bridge0 -span epair1a; echo notspan=$?',
      'ifconfig bridge0 -span epair2a; echo unspan=$?',
      'ifconfig bridge0 | grep -c member:',
      'ifconfig bridge0 span epair2a',
      'ifconfig epair2a destroy',
      'ifconfig bridge0 | grep -c member:',
    ].join('\n'),
    { kernel: bootVimage() },
  );
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'span=0');
  assert.deepEqual(lines.slice(1, 4), [
    '\tmember: epair0a flags=3<LEARNING,DISCOVER>',
    '\tmember: epair1a flags=3<LEARNING,DISCOVER>',
    '\tmember: epair2a flags=8<SPAN>',
  ]);
  // The span port's far side captured both requests and both replies.
  const icmp = lines.filter((l) => / IP 192\.0\.2\.\d > 192\.0\.2\.\d: ICMP echo/.test(l));
  assert.equal(icmp.length, 4, r.out);
  assert.equal(
    icmp.filter((l) => l.includes('192.0.2.1 > 192.0.2.2: ICMP echo request')).length,
    2,
  );
  assert.equal(icmp.filter((l) => l.includes('192.0.2.2 > 192.0.2.1: ICMP echo reply')).length, 2);
  assert.match(r.out, /\nping=0\n/);
  assert.match(r.out, /\ntwice=1\nmember=1\nnotspan=1\nunspan=0\n2\n2\n$/);
  assert.match(r.err, /ifconfig: BRDGADDS epair2a: Device busy\n/);
  assert.match(r.err, /ifconfig: BRDGADDS epair0a: Device busy\n/);
  assert.match(r.err, /ifconfig: BRDGDELS epair1a: No such file or directory\n/);
});
