// VIMAGE_ONLY: traceroute(8) across the router lab (three jails with vnets): UDP
// probes with growing TTLs, the router's time exceeded for the first hop, the
// destination's port unreachable for the last, unreachable hosts marked !H, "*" for
// silence, FreeBSD's output and exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const cli = join(root, 'dist', 'src', 'bin', 'vimage.js');
const lab = join(root, 'examples', 'router.yml');

function up(cmds: string[]): { out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, 'up', lab, '-c', cmds.join('\n')], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return { out: r.stdout, err: r.stderr };
}

test('two hops: the router by time exceeded, the host by port unreachable', () => {
  const { out, err } = up([
    'jexec h1 traceroute -n 198.51.100.1; echo st=$?',
    'jexec h1 traceroute -q 1 198.51.100.1 60; echo st=$?',
    'jexec r netstat -ss -p icmp',
    'jexec h2 netstat -ss -p udp',
  ]);
  // The header goes to standard error, as FreeBSD's.
  assert.match(
    err,
    /^traceroute to 198\.51\.100\.1 \(198\.51\.100\.1\), 64 hops max, 40 byte packets\n/,
  );
  assert.match(
    err,
    /\ntraceroute to 198\.51\.100\.1 \(198\.51\.100\.1\), 64 hops max, 60 byte packets\n/,
  );
  assert.match(
    out,
    /^ 1 {2}192\.0\.2\.254 {2}0\.000 ms {2}0\.000 ms {2}0\.000 ms\n 2 {2}198\.51\.100\.1 {2}0\.000 ms {2}0\.000 ms {2}0\.000 ms\nst=0\n/,
  );
  // Without -n: the name (none in /etc/hosts: the address) and the address.
  assert.match(
    out,
    /\n 1 {2}192\.0\.2\.254 \(192\.0\.2\.254\) {2}0\.000 ms\n 2 {2}198\.51\.100\.1 \(198\.51\.100\.1\) {2}0\.000 ms\nst=0\n/,
  );
  // Four probes died at the router (TTL 1), four reached h2 and found no socket.
  assert.match(out, /icmp:\n\t4 calls to icmp_error\n\tOutput histogram:\n\t\ttime exceeded: 4\n/);
  assert.match(out, /udp:\n\t4 datagrams received\n\t4 dropped due to no socket\n/);
});

test('an unreachable host ends the trace (!H); silence is *; bad usage is exit 1', () => {
  const { out, err } = up([
    'jexec h1 traceroute -n -q 2 203.0.113.9; echo st=$?',
    'jexec h2 sysctl net.inet.udp.blackhole=1 >/dev/null',
    'jexec h1 traceroute -n -q 1 -w 1 -f 2 -m 3 198.51.100.1; echo st=$?',
    'jexec h1 traceroute; echo st=$?',
    'jexec h1 traceroute -m 0 198.51.100.1; echo st=$?',
    'jexec h1 traceroute nosuchhost; echo st=$?',
  ]);
  assert.match(
    out,
    /^ 1 {2}192\.0\.2\.254 {2}0\.000 ms {2}0\.000 ms\n 2 {2}192\.0\.2\.254 {2}0\.000 ms !H {2}0\.000 ms !H\nst=0\n/,
  );
  // h2 stays silent (blackhole): hops 2 and 3 are stars, and the trace ends at -m.
  assert.match(out, /\n 2 {2}\*\n 3 {2}\*\nst=0\n/);
  assert.match(err, /Usage: traceroute \[-n\][^\n]*\n[^\n]*host \[packetlen\]\n/);
  assert.match(out, /st=1\nst=1\nst=1\n$/);
  assert.match(err, /traceroute: max ttl must be > 0 and <= 255\n/);
  assert.match(err, /traceroute: unknown host nosuchhost\n/);
});
