// VIMAGE_ONLY: ifconfig vnet / -vnet move an interface into a jail's vnet and back;
// errors in FreeBSD's words ("SIOCSIFRVNET(jid, name)", a jail that is not there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sh } from '../lib/sh.js';

test('ifconfig IF vnet JAIL and IF -vnet JAIL; errors', async () => {
  const r = await sh(
    [
      'jail -c name=a vnet persist',
      'ifconfig epair create >/dev/null',
      'ifconfig epair0b vnet a',
      'ifconfig -l; jexec a ifconfig -l',
      'ifconfig epair0b -vnet a',
      'ifconfig -l; jexec a ifconfig -l',
      'ifconfig epair0b -vnet a; echo back=$?',
      'ifconfig epair0b vnet nosuch; echo nosuch=$?',
    ].join('\n'),
  );
  assert.equal(
    r.out,
    'a: created\n' +
      'lo0 epair0a\n' +
      'lo0 epair0b\n' +
      'lo0 epair0a epair0b\n' +
      'lo0\n' +
      'back=1\n' +
      'nosuch=1\n',
  );
  assert.equal(
    r.err,
    'ifconfig: SIOCSIFRVNET(1, epair0b): Device not configured\n' +
      'ifconfig: jail "nosuch" not found\n',
  );
});
