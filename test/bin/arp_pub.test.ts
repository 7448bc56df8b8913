// arp(8) -s modifiers and -f: "pub" publishes an entry (the kernel answers ARP requests
// for it: proxy ARP, LLE_PUB), "temp" makes it expire after 20 minutes, blackhole and
// reject are accepted (FreeBSD 14's lltable ignores them) but not together; -f reads
// "hostname ether_addr [modifiers]" lines from a file under the jail's root.
// Two vnets over an epair (bootVimage): runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, tempRoot } from '../lib/sh.js';
import { bootVimage } from '../lib/kernel.js';

const LAB = [
  'ifconfig epair create >/dev/null',
  'jail -c name=a vnet persist >/dev/null',
  'jail -c name=b vnet persist >/dev/null',
  'ifconfig epair0a vnet a',
  'ifconfig epair0b vnet b',
  'jexec a ifconfig epair0a inet 192.0.2.1/24 up',
  'jexec b ifconfig epair0b inet 192.0.2.2/24 up',
];

test('arp -s ... pub answers for the address (proxy ARP); temp expires; bad modifiers', async () => {
  const r = await sh(
    [
      ...LAB,
      'jexec b arp -s 192.0.2.9 02:00:00:00:00:99 pub; echo pub=$?',
      'jexec b arp -s 192.0.2.10 02:00:00:00:00:10 temp',
      'jexec b arp -s 192.0.2.11 02:00:00:00:00:11 pub only blackhole',
      'jexec b arp -an',
      // a asks for 192.0.2.9, which nobody has: b answers with the published address.
      'jexec a ping -c 1 -t 1 192.0.2.9 >/dev/null; echo ping=$?',
      'jexec a arp -an',
      'jexec b netstat -s -p arp | grep "ARP repl.* sent"',
      'jexec b arp -s 192.0.2.12 02:00:00:00:00:12 blackhole reject; echo both=$?',
      'jexec b arp -s 192.0.2.12 02:00:00:00:00:12 sometimes; echo bad=$?',
    ].join('\n'),
    { kernel: bootVimage() },
  );
  assert.equal(
    r.out,
    'pub=0\n' +
      '? (192.0.2.9) at 02:00:00:00:00:99 on epair0b permanent published [ethernet]\n' +
      '? (192.0.2.10) at 02:00:00:00:00:10 on epair0b expires in 1200 seconds [ethernet]\n' +
      '? (192.0.2.11) at 02:00:00:00:00:11 on epair0b permanent published [ethernet]\n' +
      'ping=2\n' +
      '? (192.0.2.9) at 02:00:00:00:00:99 on epair0a expires in 1199 seconds [ethernet]\n' +
      '\t1 ARP reply sent\n' +
      'both=1\n' +
      'bad=1\n',
  );
  assert.match(r.err, /^arp: Choose one of blackhole or reject, not both\.\nusage: arp /m);
  assert.match(r.err, /^arp: Invalid parameter 'sometimes'\nusage: arp /m);
});

test('arp -f: a file of entries; a bad line is reported and the rest still go in', async () => {
  const root = tempRoot();
  try {
    writeFileSync(
      join(root.dir, 'ethers'),
      '# static entries\n' +
        '192.0.2.20 02:00:00:00:00:20\n' +
        '\n' +
        '192.0.2.21 02:00:00:00:00:21 pub\n' +
        '192.0.2.22 02:00:00:00:00:22 sometimes\n' +
        '192.0.2.23 02:00:00:00:00:23 temp\n',
    );
    const r = await sh(
      [
        'ifconfig epair create >/dev/null',
        'ifconfig epair0a inet 192.0.2.1/24 up',
        'arp -f ethers; echo f=$?',
        'arp -an',
        'arp -f nosuch; echo missing=$?',
      ].join('\n'),
      { root: root.dir },
    );
    assert.equal(
      r.out,
      'f=1\n' +
        '? (192.0.2.20) at 02:00:00:00:00:20 on epair0a permanent [ethernet]\n' +
        '? (192.0.2.21) at 02:00:00:00:00:21 on epair0a permanent published [ethernet]\n' +
        '? (192.0.2.23) at 02:00:00:00:00:23 on epair0a expires in 1200 seconds [ethernet]\n' +
        'missing=1\n',
    );
    assert.match(r.err, /arp: Invalid parameter 'sometimes'\n/);
    assert.match(r.err, /arp: bad line 5 in ethers: 192\.0\.2\.22 02:00:00:00:00:22 sometimes\n/);
    assert.match(r.err, /arp: cannot open nosuch: No such file or directory\n/);
  } finally {
    root.cleanup();
  }
});
