// VIMAGE_ONLY: tcpdump -r reads a capture file written by tcpdump -w and filters it in
// the process (bpf_filter over the compiled expression: host, net, port, src/dst,
// protocol names, and/or/not, parentheses), -c stops early, -r with -w copies what
// passes (tshark reads the copy), and a missing or malformed file fails cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, tempRoot } from '../lib/sh.js';
import { tshark_lint } from '../lib/tshark.js';

test('tcpdump -r: filter expressions over a saved capture, -c, -w, bad files', async () => {
  const root = tempRoot();
  try {
    const r = await sh(
      [
        'jail -c name=a vnet persist; jail -c name=b vnet persist',
        'ifconfig epair create >/dev/null',
        'ifconfig epair0a vnet a; ifconfig epair0b vnet b',
        'jexec a ifconfig epair0a inet 192.0.2.1/24 up',
        'jexec b ifconfig epair0b inet 192.0.2.2/24 up',
        'jexec a tcpdump -c 7 -i epair0a -w /c.pcap 2>/dev/null &',
        'jexec a ping -c 2 192.0.2.2 >/dev/null',
        'jexec b nc -u -l 5000 >/dev/null &',
        'jexec a sh -c "echo hi | nc -u -w 1 -p 4000 192.0.2.2 5000"',
        'kill %2',
        'wait',
        'tcpdump -n -t -r /c.pcap | wc -l',
        'echo 1; tcpdump -t -r /c.pcap icmp[icmptype] == icmp-echo',
        'echo 2; tcpdump -t -r /c.pcap "udp port 5000"',
        'echo 3; tcpdump -t -r /c.pcap "tcp or dst port 4000"; echo st=$?',
        'echo 4; tcpdump -t -r /c.pcap "src host 192.0.2.2 and not arp"',
        'echo 5; tcpdump -t -r /c.pcap "net 192.0.2.0/24 and (udp or arp)"',
        'echo 6; tcpdump -t -c 1 -r /c.pcap arp',
        'echo 7; tcpdump -r /c.pcap -w /d.pcap "icmp or udp"; tcpdump -t -r /d.pcap | wc -l',
        'tcpdump -r /nosuch.pcap; echo st=$?',
        'echo junk > /j.pcap; tcpdump -r /j.pcap; echo st=$?',
        'tcpdump -r /c.pcap "port"; echo st=$?',
      ].join('\n'),
      { root: root.dir },
    );
    const mac = /is-at ([0-9a-f:]+),/.exec(r.out)?.[1] ?? 'none';
    assert.equal(
      r.out,
      [
        'a: created',
        'b: created',
        '       7',
        '1',
        'IP 192.0.2.1 > 192.0.2.2: ICMP echo request, id 15, seq 0, length 64',
        'IP 192.0.2.1 > 192.0.2.2: ICMP echo request, id 15, seq 1, length 64',
        '2',
        'IP 192.0.2.1.4000 > 192.0.2.2.5000: UDP, length 3',
        '3',
        'st=0',
        '4',
        'IP 192.0.2.2 > 192.0.2.1: ICMP echo reply, id 15, seq 0, length 64',
        'IP 192.0.2.2 > 192.0.2.1: ICMP echo reply, id 15, seq 1, length 64',
        '5',
        'ARP, Request who-has 192.0.2.2 tell 192.0.2.1, length 28',
        `ARP, Reply 192.0.2.2 is-at ${mac}, length 28`,
        'IP 192.0.2.1.4000 > 192.0.2.2.5000: UDP, length 3',
        '6',
        'ARP, Request who-has 192.0.2.2 tell 192.0.2.1, length 28',
        '7',
        '       5',
        'st=1',
        'st=1',
        'st=1',
        '',
      ].join('\n'),
    );
    const reading =
      'reading from file /c.pcap, link-type EN10MB (Ethernet), snapshot length 262144\n';
    assert.equal(
      r.err,
      reading.repeat(8) +
        reading.replace('/c.pcap', '/d.pcap') +
        'tcpdump: /nosuch.pcap: No such file or directory\n' +
        'tcpdump: bad dump file format\n' +
        'tcpdump: syntax error\n',
    );
    tshark_lint(new Uint8Array(readFileSync(join(root.dir, 'd.pcap'))), 'eth');
  } finally {
    root.cleanup();
  }
});
