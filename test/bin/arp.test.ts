// arp(8): -an through sysctl net.route.inet.llinfo, -s and -d through RTM_ADD /
// RTM_DELETE with RTF_LLDATA on the routing socket, with FreeBSD's output and
// exit statuses.  The learnt-entry case boots a VIMAGE kernel (two vnets over an
// epair, bootVimage), so the file runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sh } from '../lib/sh.js';
import { bootVimage } from '../lib/kernel.js';
import { inv, ip, lab2, ping1 } from '../lib/inet_lab.js';
import { ether_sprintf } from '../../src/net/ethernet.js';

test('arp -s / -an / -d: permanent entries, lookups and errors in FreeBSD words', async () => {
  const r = await sh(
    [
      'ifconfig epair create >/dev/null',
      'ifconfig epair0a inet 192.0.2.1/24 up',
      'arp -an; echo empty=$?',
      'arp -s 192.0.2.9 02:00:00:00:00:99; echo s=$?',
      'arp -s 192.0.2.7 02:00:00:00:00:77',
      'arp -an',
      'arp -n 192.0.2.9; echo one=$?',
      'arp -n 192.0.2.10; echo none=$?',
      'route add default 192.0.2.254 >/dev/null',
      'arp -s 203.0.113.5 02:00:00:00:00:55; echo gw=$?',
      'arp -s 192.0.2.8 02:00:00:00:00; echo bad=$?',
      'arp -s 192.0.2.8 01:00:5e:00:00:01; echo mc=$?',
      'arp -d 192.0.2.9; echo d=$?',
      'arp -d 192.0.2.9; echo again=$?',
      'arp -d nosuchhost; echo host=$?',
      'arp -an',
      'arp -x; echo usage=$?',
    ].join('\n'),
  );
  assert.equal(
    r.out,
    'empty=0\n' +
      's=0\n' +
      '? (192.0.2.7) at 02:00:00:00:00:77 on epair0a permanent [ethernet]\n' +
      '? (192.0.2.9) at 02:00:00:00:00:99 on epair0a permanent [ethernet]\n' +
      '? (192.0.2.9) at 02:00:00:00:00:99 on epair0a permanent [ethernet]\n' +
      'one=0\n' +
      '192.0.2.10 (192.0.2.10) -- no entry\n' +
      'none=1\n' +
      'gw=1\n' +
      'bad=1\n' +
      'mc=1\n' +
      '192.0.2.9 (192.0.2.9) deleted\n' +
      'd=0\n' +
      'again=1\n' +
      'host=1\n' +
      '? (192.0.2.7) at 02:00:00:00:00:77 on epair0a permanent [ethernet]\n' +
      'usage=1\n',
  );
  assert.match(r.err, /arp: cannot intuit interface index and type for 203\.0\.113\.5\n/);
  assert.match(r.err, /arp: invalid Ethernet address '02:00:00:00:00'\n/);
  assert.match(r.err, /arp: writing to routing socket: Invalid argument\n/);
  assert.match(r.err, /arp: writing to routing socket: No such file or directory\n/);
  assert.match(r.err, /arp: nosuchhost: Unknown host\n/);
  assert.match(r.err, /arp: illegal option -- x\nusage: arp \[-n\] \[-i interface\] hostname\n/);
});

test('arp -an shows a learnt entry counting down, per vnet', async () => {
  const k = bootVimage();
  const l = lab2(k);
  assert.equal(
    inv(k, l.va, () => ping1(k, ip('192.0.2.2'), { seq: 1 })),
    0,
  );
  await k.run_for(1);
  const macb = ether_sprintf(l.b.if_lladdr!);
  const maca = ether_sprintf(l.a.if_lladdr!);
  /* One shell: the batch runs the virtual clock on after it ends.  600 s later the
   * entry has 599 s left, after 1200 s it is gone. */
  const r1 = await sh(
    'jexec a arp -an; jexec b arp -an; arp -an; echo host=$?; ' +
      'sleep 600; jexec a arp -an; sleep 600; jexec a arp -an; echo gone=$?',
    { kernel: k },
  );
  assert.equal(
    r1.out,
    `? (192.0.2.2) at ${macb} on epair0a expires in 1199 seconds [ethernet]\n` +
      `? (192.0.2.1) at ${maca} on epair0b expires in 1199 seconds [ethernet]\n` +
      'host=0\n' +
      `? (192.0.2.2) at ${macb} on epair0a expires in 599 seconds [ethernet]\n` +
      'gone=0\n',
  );
  /* A static entry replaces the learnt one; deleting it leaves nothing. */
  const r3 = await sh(
    'jexec a arp -s 192.0.2.2 02:00:00:00:00:22; jexec a arp -an; jexec a arp -d 192.0.2.2; jexec a arp -an',
    { kernel: k },
  );
  assert.equal(
    r3.out,
    '? (192.0.2.2) at 02:00:00:00:00:22 on epair0a permanent [ethernet]\n' +
      '192.0.2.2 (192.0.2.2) deleted\n',
  );
});
