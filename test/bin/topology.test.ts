// vimage up: topology files parsed with line-accurate errors and built through the shell.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { topology_parse, topology_script, TopologyError } from '../../src/bin/topology.js';
import { tempRoot } from '../lib/sh.js';

const cli = join(fileURLToPath(import.meta.url), '..', '..', '..', 'src', 'bin', 'vimage.js');

function parseErr(text: string): string {
  try {
    topology_parse(text, 'lab.yml');
  } catch (e) {
    assert.ok(e instanceof TopologyError);
    return e.message;
  }
  assert.fail('parsed');
}

test('a bad file gets a message naming the line and the field', () => {
  assert.equal(parseErr('name: x\n'), 'lab.yml:1: topology: missing');
  assert.equal(
    parseErr(
      'topology:\n  nodes:\n    h1: {}\n  links:\n    - endpoints: ["h1:eth0", "h9:eth0"]\n',
    ),
    'lab.yml:5: topology.links[0].endpoints: unknown node "h9"',
  );
  assert.equal(
    parseErr('topology:\n  nodes:\n    h1:\n      colour: red\n'),
    'lab.yml:4: topology.nodes.h1.colour: unknown field',
  );
  assert.equal(
    parseErr('topology:\n  nodes:\n    h1:\n      interfaces: { eth0: 300.1.2 }\n'),
    'lab.yml:4: topology.nodes.h1.interfaces.eth0: "300.1.2" is not an IPv4 address[/len]',
  );
  assert.match(parseErr('topology: [\n'), /^lab\.yml:\d+: /);
  assert.equal(
    parseErr(
      'topology:\n  nodes:\n    a: {}\n    b: {}\n  links:\n    - endpoints: ["a:e0", "b:e0"]\n    - endpoints: ["a:e0", "b:e1"]\n',
    ),
    'lab.yml:7: topology.links[1].endpoints: a:e0 is used twice',
  );
});

test('the script makes one vnet jail per node and an epair per link, renamed in place', () => {
  const t = topology_parse(
    'name: two\ntopology:\n  nodes:\n    a: { sysctl: { net.inet.ip.forwarding: 1 } }\n    b: {}\n  links:\n    - endpoints: ["a:eth0", "b:eth1"]\n',
  );
  assert.equal(
    topology_script(t),
    [
      '# lab two',
      'jail -c name=a vnet persist host.hostname=a >/dev/null',
      'jail -c name=b vnet persist host.hostname=b >/dev/null',
      'ifconfig epair create >/dev/null',
      'ifconfig epair0a vnet a',
      'jexec a ifconfig epair0a name eth0 >/dev/null',
      'ifconfig epair0b vnet b',
      'jexec b ifconfig epair0b name eth1 >/dev/null',
      'jexec a sysctl net.inet.ip.forwarding=1 >/dev/null',
      '',
    ].join('\n'),
  );
});

test('vimage up builds the lab, then runs commands in it', () => {
  const { dir, cleanup } = tempRoot();
  try {
    const f = join(dir, 'lab.yml');
    writeFileSync(
      f,
      'name: t\ntopology:\n  nodes:\n    a: {}\n    b: {}\n    c: {}\n  links:\n    - endpoints: ["a:eth0", "b:eth0"]\n  bridges:\n    br0: { node: c, members: ["a:eth1", "b:eth1"] }\n',
    );
    const r = spawnSync(
      process.execPath,
      [
        cli,
        'up',
        f,
        '-c',
        'jls; jexec a ifconfig -l; jexec b ifconfig -l; jexec c ifconfig -l; jexec a hostname',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ +JID .*\n +1 +a +\/\n +2 +b +\/\n +3 +c +\/\n/);
    assert.match(r.stdout, /\nlo0 eth0 eth1\nlo0 eth0 eth1\nlo0 bridge0 epair1b epair2b\na\n$/);
    const bad = spawnSync(process.execPath, [cli, 'up', join(dir, 'nosuch.yml')], {
      encoding: 'utf8',
    });
    assert.equal(bad.status, 66);
    writeFileSync(f, 'topology:\n  nodes: 3\n');
    const bad2 = spawnSync(process.execPath, [cli, 'up', f], { encoding: 'utf8' });
    assert.equal(bad2.status, 65);
    assert.match(bad2.stderr, /lab\.yml:2: topology\.nodes: must be a mapping/);
  } finally {
    cleanup();
  }
});
