// VIMAGE_ONLY: arp(8)'s -S, -i and -d -a, usage errors exiting 1 as FreeBSD's arp does,
// and netstat -s -p arp (struct arpstat by symbol, or net.link.ether.arp.stats inside a
// jail) in the host and for a jail's vnet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sh } from '../lib/sh.js';

const LAB = [
  'jail -c name=a vnet persist',
  'ifconfig epair create >/dev/null',
  'ifconfig epair0b vnet a',
  'ifconfig epair0a inet 192.0.2.1/24 up',
  'jexec a ifconfig epair0b inet 192.0.2.2/24 up',
  'ping -c 1 192.0.2.2 >/dev/null',
];

test('netstat -s -p arp: the host counts its requests, the jail its answer', async () => {
  const r = await sh(
    [...LAB, 'netstat -s -p arp', 'jexec a netstat -ss -p arp', 'netstat -j a -ss -p arp'].join(
      '\n',
    ),
  );
  const jail =
    'arp:\n' +
    '\t1 ARP request sent\n' +
    '\t1 ARP reply sent\n' +
    '\t1 ARP request received\n' +
    '\t1 ARP packet received\n';
  assert.equal(
    r.out,
    'a: created\n' +
      'arp:\n' +
      '\t2 ARP requests sent\n' +
      '\t0 ARP requests failed to sent\n' +
      '\t0 ARP replies sent\n' +
      '\t1 ARP request received\n' +
      '\t1 ARP reply received\n' +
      '\t2 ARP packets received\n' +
      '\t0 total packets dropped due to no ARP entry\n' +
      '\t0 ARP entrys timed out\n' +
      '\t0 Duplicate IPs seen\n' +
      jail +
      jail,
  );
  assert.equal(r.err, '');
});

test('arp -S replaces, -i selects an interface, -d -a deletes all; usage exits 1', async () => {
  const r = await sh(
    [
      ...LAB,
      'arp -s 192.0.2.50 02:00:00:00:00:50',
      'arp -S 192.0.2.50 02:00:00:00:00:51',
      'arp -S 192.0.2.60 02:00:00:00:00:60',
      'arp -an -i epair0a | grep -c "(192.0.2.2) at 02:[0-9a-f:]* on epair0a expires in 1200"',
      'arp -an -i epair0a | grep permanent',
      'arp -a -i lo0; echo lo=$?',
      'arp -a -i nosuch0; echo nosuch=$?',
      'arp -d -a; echo da=$?',
      'arp -an; echo empty=$?',
      'arp; echo usage=$?',
      'arp -a 192.0.2.2; echo extra=$?',
    ].join('\n'),
  );
  const usage =
    'usage: arp [-n] [-i interface] hostname\n' +
    '       arp [-n] [-i interface] -a\n' +
    '       arp -d hostname\n' +
    '       arp -d [-i interface] -a\n' +
    '       arp -s hostname ether_addr [temp] [blackhole | reject] [pub [only]]\n' +
    '       arp -S hostname ether_addr [temp] [blackhole | reject] [pub [only]]\n' +
    '       arp -f filename\n';
  assert.equal(
    r.out,
    'a: created\n' +
      '1\n' +
      '? (192.0.2.50) at 02:00:00:00:00:51 on epair0a permanent [ethernet]\n' +
      '? (192.0.2.60) at 02:00:00:00:00:60 on epair0a permanent [ethernet]\n' +
      'lo=0\n' +
      'nosuch=1\n' +
      '192.0.2.2 (192.0.2.2) deleted\n' +
      '192.0.2.50 (192.0.2.50) deleted\n' +
      '192.0.2.60 (192.0.2.60) deleted\n' +
      'da=0\n' +
      'empty=0\n' +
      'usage=1\n' +
      'extra=1\n',
  );
  assert.equal(r.err, `arp: interface nosuch0 does not exist\n${usage}${usage}`);
});
