// route(8) as FreeBSD's (rtsock) route prints it: `route monitor` decoding what the
// kernel broadcasts (routes added and refused, an address removed with its routes, an
// interface arriving), the warning of a failed write, -q, and the metrics line of
// `route get`.  Runs in both passes (no jails).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sh } from '../lib/sh.js';

test('route monitor prints each routing message as FreeBSD route(8) does', async () => {
  const r = await sh(
    [
      'ifconfig epair create >/dev/null',
      'ifconfig epair0a inet 192.0.2.1/24 up',
      'route monitor &',
      'sleep 1',
      'route -q add 203.0.113.0/24 192.0.2.254',
      'route -q add 203.0.113.0/24 192.0.2.254; echo exists=$?',
      'ifconfig epair0a inet 192.0.2.1 -alias',
      'ifconfig lo create >/dev/null',
      'sleep 1',
      'kill %1',
      'wait',
      'route monitor extra; echo usage=$?',
    ].join('\n'),
  );
  const mac = /epair0a:([0-9a-f.]+) /.exec(r.out)?.[1] ?? 'none';
  assert.match(mac, /^2(\.[0-9a-f]{1,2}){5}$/, 'link_ntoa: hex bytes without leading zeros');
  const msg = (size: number, body: string): string =>
    `\ngot message of size ${size} on Thu Jan  1 00:00:01 2026\n${body}`;
  assert.equal(
    r.out,
    msg(
      272,
      'RTM_ADD: Add Route: len 272, pid: 6, seq 1, errno 0, flags:<UP,GATEWAY,DONE,STATIC>\n' +
        'locks:  inits: \n' +
        'sockaddrs: <DST,GATEWAY,NETMASK,IFP,IFA>\n' +
        ` 203.0.113.0 192.0.2.254 255.255.255.0 epair0a:${mac} 192.0.2.1\n`,
    ) +
      msg(
        200,
        'RTM_ADD: Add Route: len 200, pid: 7, seq 1, errno 17, flags:<UP,GATEWAY,STATIC>\n' +
          'locks:  inits: \n' +
          'sockaddrs: <DST,GATEWAY,NETMASK>\n' +
          ' 203.0.113.0 192.0.2.254 255.255.255.0\n',
      ) +
      'exists=1\n' +
      msg(
        312,
        'RTM_DELETE: Delete Route: len 312, pid: 0, seq 0, errno 0, flags:<UP,DONE,PINNED>\n' +
          'locks:  inits: \n' +
          'sockaddrs: <DST,GATEWAY,NETMASK,IFP,IFA>\n' +
          ` 192.0.2.0 link#2 255.255.255.0 epair0a:${mac} 192.0.2.1\n`,
      ) +
      msg(
        296,
        'RTM_DELETE: Delete Route: len 296, pid: 0, seq 0, errno 0, ' +
          'flags:<UP,HOST,DONE,STATIC,PINNED,LOCAL>\n' +
          'locks:  inits: \n' +
          'sockaddrs: <DST,GATEWAY,IFP,IFA>\n' +
          ' 192.0.2.1 link#2 lo0 192.0.2.1\n',
      ) +
      msg(
        124,
        'RTM_DELADDR: address being removed from iface: len 124, metric 0, flags:\n' +
          'sockaddrs: <NETMASK,IFP,IFA,BRD>\n' +
          ` 255.255.255.0 epair0a:${mac} 192.0.2.1 192.0.2.255\n`,
      ) +
      msg(24, 'RTM_IFANNOUNCE: iface arrival/departure: len 24, if# 4, what: arrival\n') +
      'usage=64\n',
  );
  assert.equal(
    r.err,
    'usage: route [-nq] command [[modifiers] args]\n' +
      '       commands: add, change, delete, get, show, monitor\n',
    'EEXIST is reported by the command line only (and -q silences it)',
  );
});

test('a failed write warns as rtmsg() does; -q silences the line, not the warning', async () => {
  const r = await sh(
    [
      'ifconfig epair create >/dev/null',
      'ifconfig epair0a inet 192.0.2.1/24 up',
      'route delete 198.51.100.0/24; echo d=$?',
      'route -q delete 198.51.100.0/24; echo q=$?',
      'route add 203.0.113.0/24 198.51.100.1; echo unreach=$?',
      'route add 203.0.113.0/24 192.0.2.254',
      'route get 203.0.113.9',
      'route get 198.18.0.1; echo get=$?',
    ].join('\n'),
  );
  assert.equal(
    r.out,
    'delete net 198.51.100.0: not in table\nd=1\n' +
      'q=1\n' +
      'add net 203.0.113.0: gateway 198.51.100.1: Network is unreachable\nunreach=1\n' +
      'add net 203.0.113.0: gateway 192.0.2.254\n' +
      '   route to: 203.0.113.9\n' +
      'destination: 203.0.113.0\n' +
      '       mask: 255.255.255.0\n' +
      '    gateway: 192.0.2.254\n' +
      '        fib: 0\n' +
      '  interface: epair0a\n' +
      '      flags: <UP,GATEWAY,DONE,STATIC>\n' +
      ' recvpipe  sendpipe  ssthresh  rtt,msec    mtu        weight    expire\n' +
      '       0         0         0         0      1500         1         0 \n' +
      'get=1\n',
  );
  assert.equal(
    r.err,
    'route: route has not been found\n' +
      'route: route has not been found\n' +
      'route: writing to routing socket: Network is unreachable\n' +
      'route: route has not been found\n',
  );
});
