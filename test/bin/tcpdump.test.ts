// VIMAGE_ONLY: tcpdump(1) on bpf(4) in a jail's vnet while ping(8) runs: the lines it
// prints, the kernel filter from the expression, the counters on exit, a pcap file
// (-w) that tshark reads without complaint, and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, tempRoot } from '../lib/sh.js';
import { tshark_lint } from '../lib/tshark.js';

const LAB = [
  'jail -c name=a vnet persist; jail -c name=b vnet persist',
  'ifconfig epair create >/dev/null',
  'ifconfig epair0a vnet a; ifconfig epair0b vnet b',
  'jexec a ifconfig epair0a inet 192.0.2.1/24 up',
  'jexec b ifconfig epair0b inet 192.0.2.2/24 up',
];

test('tcpdump prints ARP and ICMP as tcpdump does, filters in the kernel, counts', async () => {
  const r = await sh(
    [
      ...LAB,
      'jexec b tcpdump -n -t -c 4 -i epair0b &',
      'jexec a ping -c 2 192.0.2.2 >/dev/null',
      'wait',
      'jexec b tcpdump -t -c 1 -i epair0b "icmp[icmptype] == icmp-echoreply" &',
      'jexec a ping -c 1 192.0.2.2 >/dev/null',
      'wait; echo st=$?',
    ].join('\n'),
  );
  assert.match(
    r.out,
    /b: created\nARP, Request who-has 192\.0\.2\.2 tell 192\.0\.2\.1, length 28\nARP, Reply 192\.0\.2\.2 is-at 02:[0-9a-f:]{14}, length 28\nIP 192\.0\.2\.1 > 192\.0\.2\.2: ICMP echo request, id \d+, seq 0, length 64\nIP 192\.0\.2\.2 > 192\.0\.2\.1: ICMP echo reply, id \d+, seq 0, length 64\n/,
  );
  assert.match(
    r.out,
    /\nIP 192\.0\.2\.2 > 192\.0\.2\.1: ICMP echo reply, id \d+, seq 0, length 64\nst=0\n$/,
    'only the reply passed the filter',
  );
  assert.match(
    r.err,
    /listening on epair0b, link-type EN10MB \(Ethernet\), snapshot length 262144 bytes\n/,
  );
  assert.match(
    r.err,
    /4 packets captured\n4 packets received by filter\n0 packets dropped by kernel\n/,
  );
  assert.match(r.err, /1 packet captured\n/);
});

test('tcpdump -w writes a pcap file tshark reads; bad interface and expression fail', async () => {
  const root = tempRoot();
  try {
    const r = await sh(
      [
        ...LAB,
        'jexec a tcpdump -c 6 -i epair0a -w /cap.pcap &',
        'jexec a ping -c 2 -s 200 192.0.2.2 >/dev/null',
        'wait',
        'tcpdump -i nosuch0; echo st=$?',
        'tcpdump -i lo0 "tcp port"; echo st=$?',
        'tcpdump -c 0 -i lo0; echo st=$?',
      ].join('\n'),
      { root: root.dir },
    );
    assert.match(r.out, /st=1\nst=1\nst=64\n$/);
    assert.match(r.err, /tcpdump: nosuch0: Device not configured\n/);
    assert.match(r.err, /tcpdump: syntax error\n/);
    assert.match(r.err, /tcpdump: invalid packet count 0\n/);
    const pcap = readFileSync(join(root.dir, 'cap.pcap'));
    const dv = new DataView(pcap.buffer, pcap.byteOffset, pcap.byteLength);
    assert.equal(dv.getUint32(0, true), 0xa1b2c3d4, 'pcap magic (microseconds)');
    assert.equal(dv.getUint32(20, true), 1, 'LINKTYPE_ETHERNET');
    const lens: number[] = [];
    for (let o = 24; o < pcap.length; o += 16 + dv.getUint32(o + 8, true))
      lens.push(dv.getUint32(o + 8, true));
    assert.deepEqual(lens, [42, 42, 242, 242, 242, 242], 'ARP, ARP, then 4 ICMP of 200 data bytes');
    tshark_lint(new Uint8Array(pcap), 'eth');
  } finally {
    root.cleanup();
  }
});
