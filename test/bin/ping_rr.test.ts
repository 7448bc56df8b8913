// VIMAGE_ONLY: ping -R across a router jail (h1 - r - h2): the recorded route printed
// as FreeBSD's ping prints it ("RR:" and the four addresses the first time, "(same
// route)" after), and the record-route option on the wire as r's tcpdump -w captured it
// on h2's side — the request with r's address recorded, the reply with h2's as well.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, tempRoot } from '../lib/sh.js';
import { tshark_lint } from '../lib/tshark.js';

const LAB = [
  'jail -c name=h1 vnet persist; jail -c name=r vnet persist; jail -c name=h2 vnet persist',
  'ifconfig epair create >/dev/null; ifconfig epair create >/dev/null',
  'ifconfig epair0a vnet h1; ifconfig epair0b vnet r',
  'ifconfig epair1a vnet r; ifconfig epair1b vnet h2',
  'jexec h1 ifconfig epair0a inet 192.0.2.1/24 up',
  'jexec r ifconfig epair0b inet 192.0.2.254/24 up',
  'jexec r ifconfig epair1a inet 198.51.100.254/24 up',
  'jexec h2 ifconfig epair1b inet 198.51.100.1/24 up',
  'jexec r sysctl net.inet.ip.forwarding=1 >/dev/null',
  'jexec h1 route -q add default 192.0.2.254',
  'jexec h2 route -q add default 198.51.100.254',
];

/** The frames of a pcap file (Ethernet), without their record headers. */
function frames(pcap: Uint8Array): Uint8Array[] {
  const dv = new DataView(pcap.buffer, pcap.byteOffset, pcap.byteLength);
  const out: Uint8Array[] = [];
  for (let o = 24; o < pcap.length; o += 16 + dv.getUint32(o + 8, true))
    out.push(pcap.subarray(o + 16, o + 16 + dv.getUint32(o + 8, true)));
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('ping -R prints the route of the first reply, then (same route); the option on the wire', async () => {
  const root = tempRoot();
  try {
    const r = await sh(
      [
        ...LAB,
        'jexec r tcpdump -c 4 -i epair1a -w /rr.pcap icmp 2>/dev/null &',
        'jexec h1 ping -R -c 2 198.51.100.1; echo st=$?',
        'wait',
        'jexec h1 ping -R -q -c 1 198.51.100.1 | tail -n 2',
      ].join('\n'),
      { root: root.dir },
    );
    assert.equal(r.err, '');
    assert.equal(
      r.out, // the virtual clock: the epairs deliver in no time
      [
        'h1: created',
        'r: created',
        'h2: created',
        'PING 198.51.100.1 (198.51.100.1): 56 data bytes',
        '64 bytes from 198.51.100.1: icmp_seq=0 ttl=63 time=0.000 ms',
        'RR: \t198.51.100.254',
        '\t198.51.100.1',
        '\t192.0.2.254',
        '\t192.0.2.1',
        '64 bytes from 198.51.100.1: icmp_seq=1 ttl=63 time=0.000 ms\t(same route)',
        '',
        '--- 198.51.100.1 ping statistics ---',
        '2 packets transmitted, 2 packets received, 0.0% packet loss',
        'round-trip min/avg/max/stddev = 0.000/0.000/0.000/0.000 ms',
        'st=0',
        '1 packets transmitted, 1 packets received, 0.0% packet loss',
        'round-trip min/avg/max/stddev = 0.000/0.000/0.000/0.000 ms',
        '',
      ].join('\n'),
    );
    const f = frames(new Uint8Array(readFileSync(join(root.dir, 'rr.pcap'))));
    assert.equal(f.length, 4, 'two requests, two replies');
    const empty = (n: number): string => '00000000'.repeat(n);
    for (const [i, fr] of f.entries()) {
      const iph = fr.subarray(14);
      assert.equal(iph[0], 0x4f, 'a 60-byte header');
      assert.equal((iph[2]! << 8) | iph[3]!, 60 + 8 + 56, 'ip_len');
      const opts = hex(iph.subarray(20, 60));
      if (i % 2 === 0)
        /* Request as r forwarded it: r's outgoing address in the first slot. */
        assert.equal(opts, '072708' + 'c63364fe' + empty(8) + '00', `request ${i / 2}`);
      /* Reply as h2 sent it: h2 added its own address. */ else
        assert.equal(opts, '07270c' + 'c63364fe' + 'c6336401' + empty(7) + '00', `reply`);
      assert.equal(iph[20 + 40], i % 2 === 0 ? 8 : 0, 'ICMP echo, echo reply');
    }
    tshark_lint(new Uint8Array(readFileSync(join(root.dir, 'rr.pcap'))), 'eth');
  } finally {
    root.cleanup();
  }
});

test('ping -R on lo0: our address twice; the largest payload leaves room for the option', async () => {
  const r = await sh(
    [
      'ifconfig lo0 inet 127.0.0.1/8 up',
      'ping -R -s 65468 127.0.0.1; echo st=$?',
      'ping -s 65508 127.0.0.1; echo st=$?',
      'ping -R -c 1 -s 65467 127.0.0.1 | head -n 4',
    ].join('\n'),
  );
  assert.equal(
    r.out,
    [
      'st=64',
      'st=64',
      'PING 127.0.0.1 (127.0.0.1): 65467 data bytes',
      '65475 bytes from 127.0.0.1: icmp_seq=0 ttl=64 time=0.000 ms',
      'RR: \t127.0.0.1',
      '\t127.0.0.1',
      '',
    ].join('\n'),
  );
  assert.equal(
    r.err,
    'ping: packet size too large: 65468 > 65467\nping: packet size too large: 65508 > 65507\n',
  );
});
