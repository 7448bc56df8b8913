// VIMAGE_ONLY: ping(8)'s FreeBSD timing and summary over an impaired epair: with -W a
// reply later than waittime is not printed and the summary counts it "out of wait
// time"; duplicated replies print "(DUP!)" and "+N duplicates"; -S names the source in
// the first line; -t over an hour is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sh } from '../lib/sh.js';
import { bootVimage } from '../lib/kernel.js';
import { inv } from '../lib/inet_lab.js';
import { prison_find_name } from '../../src/kern/kern_jail.js';
import { ifunit } from '../../src/net/if.js';
import { epair_set_impairment } from '../../src/net/if_epair.js';
import type { Kernel } from '../../src/kern/kernel.js';

const LAB = [
  'jail -c name=a vnet persist; jail -c name=b vnet persist',
  'ifconfig epair create >/dev/null',
  'ifconfig epair0a vnet a; ifconfig epair0b vnet b',
  'jexec a ifconfig epair0a inet 192.0.2.1/24 up',
  'jexec b ifconfig epair0b inet 192.0.2.2/24 up',
  'jexec a ping -c 1 192.0.2.2 >/dev/null',
].join('\n');

/** Impair what b's epair0b sends (the replies). */
function impair_b(k: Kernel, imp: { delay_ns?: number; dup?: number }): void {
  const pr = k.enter(() => prison_find_name(k, k.prison0, 'b'))!;
  inv(k, pr.pr_vnet!, () => epair_set_impairment(ifunit('epair0b')!, imp));
}

test('ping -W: late replies are counted out of wait time, not printed', async () => {
  const k = bootVimage();
  await sh(LAB, { kernel: k });
  impair_b(k, { delay_ns: 300e6 });
  /* The first ping resolves a's ARP entry again (sh runs the kernel to idle, which
   * lets the lab's entry expire); the second is timed on the echo alone. */
  const r = await sh(
    'jexec a ping -c 1 192.0.2.2 >/dev/null; jexec a ping -c 2 -W 100 192.0.2.2; echo st=$?',
    { kernel: k },
  );
  assert.equal(
    r.out,
    'PING 192.0.2.2 (192.0.2.2): 56 data bytes\n' +
      '\n--- 192.0.2.2 ping statistics ---\n' +
      '2 packets transmitted, 2 packets received, 0.0% packet loss, ' +
      '2 packets out of wait time\n' +
      'round-trip min/avg/max/stddev = 300.000/300.000/300.000/0.000 ms\n' +
      'st=0\n',
  );
  const r2 = await sh(
    'jexec a ping -c 1 192.0.2.2 >/dev/null; jexec a ping -c 1 -W 1000 192.0.2.2',
    { kernel: k },
  );
  assert.match(r2.out, /64 bytes from 192\.0\.2\.2: icmp_seq=0 ttl=64 time=300\.000 ms\n/);
});

test('duplicated replies: (DUP!) and +N duplicates; -S in the first line; -t limit', async () => {
  const k = bootVimage();
  await sh(LAB, { kernel: k });
  impair_b(k, { dup: 1 });
  const r = await sh(
    [
      'jexec a ping -c 2 -S 192.0.2.1 192.0.2.2; echo st=$?',
      'ping -t 3601 192.0.2.2; echo t=$?',
    ].join('\n'),
    { kernel: k },
  );
  assert.equal(
    r.out,
    'PING 192.0.2.2 (192.0.2.2) from 192.0.2.1: 56 data bytes\n' +
      '64 bytes from 192.0.2.2: icmp_seq=0 ttl=64 time=0.000 ms\n' +
      '64 bytes from 192.0.2.2: icmp_seq=0 ttl=64 time=0.000 ms (DUP!)\n' +
      '64 bytes from 192.0.2.2: icmp_seq=1 ttl=64 time=0.000 ms\n' /* then it stops reading */ +
      '\n--- 192.0.2.2 ping statistics ---\n' +
      '2 packets transmitted, 2 packets received, +1 duplicates, 0.0% packet loss\n' +
      'round-trip min/avg/max/stddev = 0.000/0.000/0.000/0.000 ms\n' +
      'st=0\n' +
      't=64\n',
  );
  assert.equal(r.err, "ping: invalid timeout: `3601' > 3600\n");
});
