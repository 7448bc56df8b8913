// route(8) and ifconfig inet through the routing socket and address ioctls, with
// FreeBSD's messages; the lpm scenario (longest prefix wins) through route get.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sh } from '../lib/sh.js';

test('route add/get/delete with FreeBSD output; errors in FreeBSD words', async () => {
  const r = await sh(
    [
      'ifconfig epair create',
      'ifconfig epair0a inet 192.0.2.1/24 up',
      'ifconfig epair0a',
      'route add default 192.0.2.254',
      'route add 198.51.100.0/24 192.0.2.2',
      'route add -net 198.51.100.0/24 192.0.2.2; echo st=$?',
      'route add -host 198.51.100.7 192.0.2.3',
      'route add -net 203.0.113.0/24 198.18.0.1; echo st=$?',
      'route -n get 198.51.100.7',
      'route -n get 198.51.100.8',
      'route -n get 203.0.113.1',
      'route delete -host 198.51.100.7',
      'route delete 198.51.100.0/24',
      'route delete 198.51.100.0/24; echo st=$?',
    ].join('\n'),
  );
  const o = r.out;
  assert.match(o, /\tinet 192\.0\.2\.1 netmask 0xffffff00 broadcast 192\.0\.2\.255\n/);
  assert.match(o, /add net default: gateway 192\.0\.2\.254\n/);
  assert.match(o, /add net 198\.51\.100\.0: gateway 192\.0\.2\.2\n/);
  assert.match(o, /add net 198\.51\.100\.0: gateway 192\.0\.2\.2: route already in table\nst=1\n/);
  assert.match(o, /add host 198\.51\.100\.7: gateway 192\.0\.2\.3\n/);
  assert.match(o, /add net 203\.0\.113\.0: gateway 198\.18\.0\.1: Network is unreachable\nst=1\n/);
  // Longest prefix match: the host route, then the /24, then the default.
  assert.match(
    o,
    / {3}route to: 198\.51\.100\.7\ndestination: 198\.51\.100\.7\n {4}gateway: 192\.0\.2\.3\n/,
  );
  assert.match(
    o,
    / {3}route to: 198\.51\.100\.8\ndestination: 198\.51\.100\.0\n {7}mask: 255\.255\.255\.0\n {4}gateway: 192\.0\.2\.2\n/,
  );
  assert.match(
    o,
    / {3}route to: 203\.0\.113\.1\ndestination: 0\.0\.0\.0\n {7}mask: 0\.0\.0\.0\n {4}gateway: 192\.0\.2\.254\n/,
  );
  assert.match(o, / {2}interface: epair0a\n {6}flags: <UP,GATEWAY,DONE,STATIC>\n/);
  assert.match(
    o,
    /delete host 198\.51\.100\.7\ndelete net 198\.51\.100\.0\ndelete net 198\.51\.100\.0: not in table\nst=1\n/,
  );
});
