// VIMAGE_ONLY: every example lab in examples/ builds (a smoke test of the README's labs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const cli = join(root, 'dist', 'src', 'bin', 'vimage.js');
const dir = join(root, 'examples');

const checks: Readonly<Record<string, [string, RegExp]>> = {
  'twojails.yml': [
    'jexec a ifconfig eth0; jexec b ifconfig eth0; jexec a ping -c 1 192.0.2.2',
    /inet 192\.0\.2\.1 netmask 0xffffff00.*inet 192\.0\.2\.2 netmask.*1 packets received/s,
  ],
  'router.yml': [
    'jexec r sysctl net.inet.ip.forwarding; jexec h1 route -n get 198.51.100.1; jexec h1 ping -c 1 198.51.100.1',
    /net\.inet\.ip\.forwarding: 1\n.*gateway: 192\.0\.2\.254\n.*interface: eth0.*icmp_seq=0 ttl=63/s,
  ],
  'bridge3.yml': [
    'ifconfig -l; jexec h3 ifconfig eth0; jexec h1 ping -c 1 192.0.2.3',
    /bridge0 .*\n.*inet 192\.0\.2\.3 .*1 packets received/s,
  ],
};

for (const f of readdirSync(dir)
  .filter((x) => x.endsWith('.yml'))
  .sort()) {
  test(`examples/${f} builds`, () => {
    const c = checks[f];
    assert.ok(c, `add a check for examples/${f} to test/examples.test.ts`);
    const r = spawnSync(process.execPath, [cli, 'up', join(dir, f), '-c', c[0]], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, c[1]);
  });
}
