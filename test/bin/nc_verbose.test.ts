// nc(1): a refused connection is silent without -v and reported with it (OpenBSD's
// remote_connect warns only when verbose), exit 1 either way; -zv reports success.
// route(8): a modifier without its value is usage, a bad -mtu is EX_USAGE with the
// value named.  Runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sh } from '../lib/sh.js';

test('nc -v reports a refused connect, nc alone only exits 1; route modifiers', async () => {
  const r = await sh(
    [
      'ifconfig lo0 inet 127.0.0.1/8 up',
      'nc 127.0.0.1 5999; echo quiet=$?',
      'nc -v 127.0.0.1 5999; echo verbose=$?',
      'nc -l 127.0.0.1 6000 &',
      'sleep 1',
      'nc -zv 127.0.0.1 6000; echo z=$?',
      'wait',
      'route add 203.0.113.0/24 127.0.0.1 -netmask; echo nomask=$?',
      'route add 203.0.113.0/24 127.0.0.1 -mtu abc; echo mtu=$?',
      'route add 203.0.113.0/24 127.0.0.1 -netmask 255.255.0.0.1; echo badmask=$?',
    ].join('\n'),
  );
  assert.equal(r.out, 'quiet=1\nverbose=1\nz=0\nnomask=64\nmtu=64\nbadmask=1\n');
  assert.equal(
    r.err,
    'nc: connect to 127.0.0.1 port 5999 (tcp) failed: Connection refused\n' +
      'Connection to 127.0.0.1 6000 port [tcp/*] succeeded!\n' +
      'usage: route [-nq] command [[modifiers] args]\n' +
      '       commands: add, change, delete, get, show, monitor\n' +
      'route: abc: Invalid argument\n' +
      'route: bad address: 255.255.0.0.1\n',
  );
});
