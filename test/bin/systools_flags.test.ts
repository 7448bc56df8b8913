// The flags the audit of issue 7 added or fixed in the system tools, with FreeBSD's
// words and exit statuses: kldstat -m/-d/-q/-h, sysctl's integer range (strtol's
// ERANGE), ddb script NAME / unscript errors (EX_DATAERR), jls parameters (-h, -n, -q,
// unknown jails and parameters) and jail(8)'s checks of parameter values.  Runs in both
// passes (the jails have no vnet of their own).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sh } from '../lib/sh.js';

test('kldstat -m, -d, -q and -h; sysctl out of range; ddb script NAME', async () => {
  const r = await sh(
    [
      // Module ids: the kernel's own modules (ether, if_lo, if_epair, if_bridge, newreno,
      // if_vxlan) are 1-6, so cubic is 7.
      'kldload cc_cubic',
      'kldstat -m cubic; kldstat -d -m cubic; kldstat -q -m cubic; echo q=$?',
      'kldstat -m nosuch; echo m=$?',
      'kldstat -q -n nosuch.ko; echo qn=$?',
      'kldstat -h | head -n 1',
      'kldstat extra; echo usage=$?',
      'sysctl net.inet.ip.ttl=99999999999999999999; echo big=$?',
      'sysctl net.inet.ip.ttl=4294967361',
      'ddb script kdb.enter.default="show pcpu; continue"',
      'ddb script kdb.enter.default',
      'ddb script nosuch; echo noscript=$?',
      'ddb unscript nosuch; echo nounscript=$?',
      'ddb unscript kdb.enter.default; ddb scripts | wc -l',
    ].join('\n'),
  );
  assert.equal(
    r.out,
    'Id  Refs Name\n' +
      '  7    1 cubic\n' +
      'Id  Refs Name data..(int, uint, ulong)\n' +
      '  7    1 cubic (0, 0, 0x0)\n' +
      'q=0\n' +
      'm=1\n' +
      'qn=1\n' +
      'Id Refs Address             Size Name\n' +
      'usage=64\n' +
      'big=1\n' +
      'net.inet.ip.ttl: 64 -> 65\n' /* 2^32 + 65 keeps its low 32 bits, as C's cast */ +
      'show pcpu; continue\n' +
      'noscript=65\n' +
      'nounscript=65\n' +
      '       0\n',
  );
  assert.equal(
    r.err,
    "kldstat: can't find module nosuch: No such file or directory\n" +
      'usage: kldstat [-d] [-h] [-q] [-v] [-i id] [-n filename]\n' +
      '       kldstat [-d] [-q] [-m modname]\n' +
      "sysctl: invalid integer '99999999999999999999'\n" +
      'ddb: nosuch: No such file or directory\n' +
      'ddb: sysctl: nosuch: No such file or directory\n',
  );
});

test('jls with parameters (-h, -n, -q), unknown jails and parameters; jail value checks', async () => {
  const r = await sh(
    [
      'jail -c name=a persist; jail -c name=b persist host.hostname="my host"',
      'jls -h jid name vnet persist',
      'jls -n jid persist host.hostname',
      'jls -q host.hostname',
      'jls -n -j a',
      'jls -j nosuch; echo nosuch=$?',
      'jls -j 9; echo nine=$?',
      'jls foo; echo foo=$?',
      'jls -x; echo x=$?',
      'jail -c name=c vnet=foo; echo vnet=$?',
      'jail -c name=c children.max=abc; echo cmax=$?',
      'jls | wc -l',
    ].join('\n'),
  );
  assert.equal(
    r.out,
    'a: created\n' +
      'b: created\n' +
      'jid name vnet persist\n' +
      '1 a inherit true\n' +
      '2 b inherit true\n' +
      'jid=1 persist host.hostname=a\n' +
      'jid=2 persist host.hostname=my host\n' +
      'a\n' +
      '"my host"\n' +
      'nodying jid=1 name=a parent=0 path=/ persist vnet=inherit children.cur=0 children.max=0 ' +
      'host.hostname=a\n' +
      'nosuch=1\n' +
      'nine=1\n' +
      'foo=1\n' +
      'x=64\n' +
      'vnet=1\n' +
      'cmax=1\n' +
      '       3\n',
  );
  assert.equal(
    r.err,
    'jls: jail "nosuch" not found\n' +
      'jls: jail 9 not found\n' +
      'jls: unknown parameter: foo\n' +
      'jls: illegal option -- x\n' +
      'usage: jls [-dhNnqsv] [-j jail] [param ...]\n' +
      'jail: vnet: unknown jailsys value "foo"\n' +
      'jail: children.max: non-integer value "abc"\n',
  );
});
