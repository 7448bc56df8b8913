// VIMAGE_ONLY: ping(8) on a raw ICMP socket across the router lab (three jails with
// vnets): replies, TTL, forwarding counters, ICMP errors, usage and exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const cli = join(root, 'dist', 'src', 'bin', 'vimage.js');
const lab = join(root, 'examples', 'router.yml');

function up(cmds: string[]): string {
  const r = spawnSync(process.execPath, [cli, 'up', lab, '-c', cmds.join('\n')], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('ping through a router: replies with ttl 63, six datagrams forwarded, exit 0', () => {
  const o = up([
    'jexec h1 ping -c 3 -s 100 198.51.100.1; echo st=$?',
    'jexec r netstat -s -p ip | grep forwarded',
    'jexec h2 netstat -s -p ip | grep -E "total|this host"',
    'jexec h2 netstat -s -p icmp',
  ]);
  assert.match(o, /^PING 198\.51\.100\.1 \(198\.51\.100\.1\): 100 data bytes\n/);
  for (const seq of [0, 1, 2])
    assert.match(o, new RegExp(`108 bytes from 198\\.51\\.100\\.1: icmp_seq=${seq} ttl=63 time=`));
  assert.match(
    o,
    /--- 198\.51\.100\.1 ping statistics ---\n3 packets transmitted, 3 packets received, 0\.0% packet loss\nround-trip min\/avg\/max\/stddev = [0-9.]+\/[0-9.]+\/[0-9.]+\/[0-9.]+ ms\nst=0\n/,
  );
  assert.match(o, /\t6 packets forwarded/);
  assert.match(o, /\t3 total packets received\n/);
  assert.match(o, /\t3 packets for this host\n/);
  // netstat -s -p icmp reads icmpstat (histograms by ICMP type) as FreeBSD prints it.
  assert.match(o, /\tOutput histogram:\n\t\techo reply: 3\n\t0 messages with bad code fields\n/);
  assert.match(o, /\tInput histogram:\n\t\techo: 3\n\t3 message responses generated\n/);
  assert.match(o, /\t0 invalid return addresses\n\t0 no return routes\n/);
});

test('ICMP errors about our requests are reported; no reply is exit 2', () => {
  const o = up([
    'jexec h1 ping -c 2 -W 500 203.0.113.9; echo st=$?',
    'jexec h1 ping -c 1 -m 1 198.51.100.1; echo st=$?',
    'jexec r netstat -ss -p icmp',
  ]);
  // FreeBSD 14's pr_icmph and pr_retip: the message, the returned header, a blank line;
  // the summary has no error count (FreeBSD counts only duplicates).
  const hdr = (ttl: string, dst: string): string =>
    'Vr HL TOS  Len   ID Flg  off TTL Pro  cks      Src      Dst\\n' +
    ` 4  5  00 0054 [0-9a-f]{4}   0 0000  ${ttl}  01 [0-9a-f]{4} 192\\.0\\.2\\.1  ${dst} \\n\\n`;
  const unreach = `36 bytes from 192\\.0\\.2\\.254: Destination Host Unreachable\\n${hdr('40', '203\\.0\\.113\\.9')}`;
  assert.match(
    o,
    new RegExp(
      `^PING 203\\.0\\.113\\.9 \\(203\\.0\\.113\\.9\\): 56 data bytes\\n${unreach}${unreach}\\n` +
        '--- 203\\.0\\.113\\.9 ping statistics ---\\n' +
        '2 packets transmitted, 0 packets received, 100\\.0% packet loss\\nst=2\\n',
    ),
  );
  assert.match(
    o,
    new RegExp(
      `36 bytes from 192\\.0\\.2\\.254: Time to live exceeded\\n${hdr('01', '198\\.51\\.100\\.1')}\\n` +
        '--- 198\\.51\\.100\\.1 ping statistics ---\\n' +
        '1 packets transmitted, 0 packets received, 100\\.0% packet loss\\nst=2\\n',
    ),
  );
  assert.match(
    o,
    /icmp:\n\t3 calls to icmp_error\n\tOutput histogram:\n\t\tdestination unreachable: 2\n\t\ttime exceeded: 1\n\tICMP address mask responses are disabled\n/,
  );
});

test('ping -D across a smaller link: frag needed (MTU 1280); without -D the router fragments', () => {
  const o = up([
    'jexec r ifconfig eth1 mtu 1280',
    'jexec h1 ping -c 1 -D -s 1400 198.51.100.1; echo st=$?',
    'jexec h1 ping -c 1 -s 1400 198.51.100.1; echo st=$?',
    'jexec r netstat -ss -p ip',
  ]);
  // The request's header as pr_retip shows it: 1428 bytes (0x594), DF is in ip_off.
  assert.match(
    o,
    new RegExp(
      '^PING 198\\.51\\.100\\.1 \\(198\\.51\\.100\\.1\\): 1400 data bytes\\n' +
        '36 bytes from 192\\.0\\.2\\.254: frag needed and DF set \\(MTU 1280\\)\\n' +
        'Vr HL TOS  Len   ID Flg  off TTL Pro  cks      Src      Dst\\n' +
        ' 4  5  00 0594 [0-9a-f]{4}   0 0000  40  01 [0-9a-f]{4} 192\\.0\\.2\\.1  198\\.51\\.100\\.1 \\n\\n[^]*' +
        '1 packets transmitted, 0 packets received, 100\\.0% packet loss\\nst=2\\n',
    ),
  );
  assert.match(o, /1408 bytes from 198\.51\.100\.1: icmp_seq=0 ttl=63 time=[^]*st=0\n/);
  assert.match(o, /\t1 output datagram fragmented\n\t2 fragments created\n/);
  // ip_forward and ip_output each count the DF datagram, as FreeBSD's do.
  assert.match(o, /\t2 datagrams that can't be fragmented\n/);
});

test('loopback (configured by /etc/rc at boot), no route, usage and unknown host', () => {
  const o = up([
    'ping -c 1 203.0.113.1 2>&1; echo st=$?',
    'ping -q -c 2 -i 0.5 127.0.0.1; echo st=$?',
    'ping 2>&1; echo st=$?',
    'ping -c 0 192.0.2.1 2>&1; echo st=$?',
    'ping nosuchhost 2>&1; echo st=$?',
  ]);
  assert.match(o, /ping: sendto: No route to host\n/);
  assert.match(o, /1 packets transmitted, 0 packets received, 100\.0% packet loss\nst=2\n/);
  assert.match(
    o,
    /PING 127\.0\.0\.1 \(127\.0\.0\.1\): 56 data bytes\n\n--- 127\.0\.0\.1 ping statistics ---\n2 packets transmitted, 2 packets received, 0\.0% packet loss\n/,
  );
  assert.match(o, /usage: ping \[-bDnqR\][^\n]*\n[^\n]*host\nst=64\n/);
  assert.match(o, /ping: invalid count of packets to transmit: `0'\nst=64\n/);
  assert.match(o, /ping: cannot resolve nosuchhost: Unknown host\nst=68\n/);
});

test('ping -b: a broadcast needs SO_BROADCAST; the router answers when bmcastecho is on', () => {
  const o = up([
    'jexec h1 ping -c 1 192.0.2.255 2>&1; echo st=$?',
    'jexec r sysctl net.inet.icmp.bmcastecho=1 >/dev/null',
    'jexec h1 ping -b -c 1 192.0.2.255; echo st=$?',
  ]);
  assert.match(o, /ping: sendto: Permission denied\n/);
  assert.match(o, /st=2\n/);
  assert.match(o, /64 bytes from 192\.0\.2\.254: icmp_seq=0 ttl=64 time=/);
  assert.match(o, /1 packets transmitted, 1 packets received, 0\.0% packet loss\n[^]*st=0\n$/);
});
