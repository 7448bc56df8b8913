// nc -u between two jails typed at the console, with sockstat and netstat -an showing
// the listener while it waits, netstat -s -p udp counting what crossed, and nc's
// errors and usage.  VIMAGE_ONLY: the lab needs jails with their own vnets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, tempRoot } from '../lib/sh.js';
import { bootVimage } from '../lib/kernel.js';

const LAB =
  'jail -c name=a vnet persist >/dev/null; jail -c name=b vnet persist >/dev/null; ' +
  'ifconfig epair create >/dev/null; ifconfig epair0a vnet a; ifconfig epair0b vnet b; ' +
  'jexec a ifconfig epair0a inet 192.0.2.1/24 up; jexec b ifconfig epair0b inet 192.0.2.2/24 up; ';

test('nc -u: a file crosses two vnets; sockstat and netstat -an show the listener', async () => {
  const root = tempRoot();
  try {
    const data = Array.from({ length: 40 }, (_, i) => `line ${i} of the message\n`).join('');
    writeFileSync(join(root.dir, 'in.txt'), data);
    mkdirSync(join(root.dir, 'etc'));
    writeFileSync(join(root.dir, 'etc/hosts'), '127.0.0.1 localhost\n192.0.2.2 b.example b\n');
    const k = bootVimage({ root: root.dir });
    const r = await sh(
      LAB +
        'jexec b nc -u -l -w 2 5000 > out.txt & ' +
        'sleep 1; jexec b sockstat -4; netstat -an -j b; netstat -n -j b; ' +
        'jexec a nc -u -w 1 b.example 5000 < in.txt; echo client=$?; wait; echo server=$?; ' +
        'jexec a nc -u nosuch 5000; ' +
        'netstat -s -p udp -j b | head -3; jexec b sockstat -4 | wc -l',
      { kernel: k },
    );
    assert.equal(r.err, 'nc: getaddrinfo for host "nosuch" port 5000: Name does not resolve\n');
    const lines = r.out.split('\n');
    assert.equal(
      lines[0],
      'USER     COMMAND    PID   FD  PROTO  LOCAL ADDRESS         FOREIGN ADDRESS      ',
    );
    assert.match(lines[1]!, /^root {5}nc {9}\d+ +3 {3}udp4 {3}\*:5000 {16}\*:\*$/);
    assert.equal(lines[2], 'Active Internet connections (including servers)');
    assert.equal(
      lines[3],
      'Proto Recv-Q Send-Q Local Address          Foreign Address        (state)    ',
    );
    assert.equal(lines[4], 'udp4       0      0 *.5000                 *.*                    ');
    // Without -a the listener (bound to INADDR_ANY) is not shown: nothing at all.
    assert.equal(lines[5], 'client=0');
    assert.equal(lines[6], 'server=0');
    assert.equal(lines[7], 'udp:');
    assert.equal(lines[8], '\t1 datagram received');
    assert.equal(lines[9], '\t0 with incomplete header');
    assert.equal(lines[10]!.trim(), '1', 'only the header: the sockets are closed');
    assert.equal(readFileSync(join(root.dir, 'out.txt'), 'utf8'), data);
  } finally {
    root.cleanup();
  }
});

test('nc: usage, bad port, and ECONNREFUSED-free UDP; connected sockets in netstat -n', async () => {
  const k = bootVimage();
  const r = await sh(
    LAB +
      'nc; echo st=$?; nc -u 192.0.2.2 99999; echo st=$?; ' +
      'jexec a nc -u -w 1 -p 4000 192.0.2.2 9 </dev/null & sleep 0; ' +
      'jexec a netstat -n; wait; echo st=$?',
    { kernel: k },
  );
  assert.match(r.err, /^usage: nc \[-dlnNuvz\]/);
  assert.match(r.err, /nc: port number invalid: 99999\n/);
  const out = r.out.split('\n');
  assert.deepEqual(out.slice(0, 2), ['st=1', 'st=1']);
  assert.equal(out[2], 'Active Internet connections');
  assert.equal(out[4], 'udp4       0      0 192.0.2.1.4000         192.0.2.2.9            ');
  assert.equal(out[5], 'st=0');
});

test('nc over TCP: a file crosses, netstat -an shows LISTEN then ESTABLISHED and TIME_WAIT', async () => {
  const root = tempRoot();
  try {
    const data = Array.from({ length: 5000 }, (_, i) => `tcp line ${i}\n`).join('');
    writeFileSync(join(root.dir, 'in.txt'), data);
    const k = bootVimage({ root: root.dir });
    const r = await sh(
      LAB +
        'jexec b nc -l 5001 > out.txt & sleep 1; netstat -an -j b; ' +
        'jexec a nc -N 192.0.2.2 5001 < in.txt; echo client=$?; wait; echo server=$?; ' +
        'netstat -an -j a; netstat -s -p tcp -j b | grep -E "connection (accept|request)|established"',
      { kernel: k },
    );
    assert.equal(r.err, '');
    const lines = r.out.split('\n');
    assert.equal(lines[0], 'Active Internet connections (including servers)');
    assert.equal(
      lines[2],
      'tcp4       0      0 *.5001                 *.*                    LISTEN',
    );
    assert.equal(lines[3], 'client=0');
    assert.equal(lines[4], 'server=0');
    assert.equal(lines[5], 'Active Internet connections (including servers)');
    assert.match(lines[7]!, /^tcp4 {7}0 {6}0 192\.0\.2\.1\.\d+ +192\.0\.2\.2\.5001 +TIME_WAIT$/);
    assert.deepEqual(lines.slice(8, 11), [
      '\t0 connection requests',
      '\t1 connection accept',
      '\t1 connection established (including accepts)',
    ]);
    assert.equal(readFileSync(join(root.dir, 'out.txt'), 'utf8'), data);
  } finally {
    root.cleanup();
  }
});
