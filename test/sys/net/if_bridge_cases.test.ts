// if_bridge(4) cases after FreeBSD's tests/sys/net/if_bridge_test: span, inherit_mac,
// mac_conflict, mtu.
//
// Span ports: `ifconfig bridge0 span
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

test("inherit_mac: the bridge takes its first member's MAC, the next one's, then its own; bridges in two vnets differ", async () => {
  const r = await sh(
    [
      'sysctl net.link.bridge.inherit_mac=1 >/dev/null',
      'ifconfig bridge create >/dev/null',
      'ifconfig epair create >/dev/null; ifconfig epair create >/dev/null',
      'ifconfig bridge0 | grep ether',
      'ifconfig bridge0 addm epair0a addm epair1a',
      'ifconfig bridge0 | grep ether; ifconfig epair0a | grep ether',
      'ifconfig bridge0 deletem epair0a',
      'ifconfig bridge0 | grep ether; ifconfig epair1a | grep ether',
      'ifconfig bridge0 deletem epair1a',
      'ifconfig bridge0 | grep ether',
      // mac_conflict: a bridge in another vnet gets a MAC of its own.
      'jail -c name=x vnet persist >/dev/null',
      'jexec x ifconfig bridge create >/dev/null',
      'jexec x ifconfig bridge0 | grep ether',
      'jexec x sysctl -n net.link.bridge.inherit_mac',
    ].join('\n'),
    { kernel: bootVimage() },
  );
  const macs = r.out
    .split('\n')
    .filter((l) => l.startsWith('\tether '))
    .map((l) => l.slice(7));
  assert.equal(macs.length, 7, r.out + r.err);
  const [own, inherited, first, second, next, back, other] = macs as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  assert.match(own, /^58:9c:fc:/, "FreeBSD's OUI for bridges");
  assert.equal(inherited, first, "the first member's MAC");
  assert.equal(second, next, "then the next member's");
  assert.notEqual(first, next);
  assert.equal(back, own, 'then its own again');
  assert.notEqual(other, own, 'two vnets, two bridges, two MACs');
  // The sysctl is per vnet: the jail's is still 0.
  assert.match(r.out, /\n0\n$/);
});

test('mtu: the first member sets it, a later member is given it, and the bridge sets every member', async () => {
  const r = await sh(
    [
      'ifconfig bridge create >/dev/null',
      'ifconfig epair create >/dev/null; ifconfig epair create >/dev/null',
      'ifconfig epair0a mtu 1492',
      'ifconfig bridge0 addm epair0a',
      'ifconfig bridge0 | head -1',
      'ifconfig bridge0 addm epair1a',
      'ifconfig epair1a | head -1',
      'ifconfig bridge0 mtu 9000',
      'ifconfig epair0a | head -1; ifconfig epair1a | head -1; ifconfig bridge0 | head -1',
      'ifconfig bridge0 mtu 70000; echo big=$?',
      'ifconfig bridge0 | head -1',
    ].join('\n'),
    { kernel: bootVimage() },
  );
  const mtus = [...r.out.matchAll(/^(\w+): .* mtu (\d+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
  assert.deepEqual(mtus, [
    'bridge0 1492',
    'epair1a 1492',
    'epair0a 9000',
    'epair1a 9000',
    'bridge0 9000',
    'bridge0 9000',
  ]);
  assert.match(r.out, /\nbig=1\n/);
});
