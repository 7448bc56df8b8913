// The TCP host cache's metrics, as FreeBSD's: a connection that measured at least four
// RTTs — a data sender: a receiver samples only its SYN-ACK and FIN — leaves its
// smoothed RTT and variance when its tcpcb goes with the socket still there (the
// passive closer; the active one goes through TIME_WAIT without its socket and leaves
// nothing, as in FreeBSD), and the next connection with that host starts from them
// (tcps_usedrtt: its first RTO is the learnt one, not the 1 s default).  sysctl
// net.inet.tcp.hostcache.list shows the entry.  Two vnets over an epair with 50 ms
// each way (lab2: a = 192.0.2.1, b = 192.0.2.2); b serves 256 KiB to a, which closes
// first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { tcp_conns } from '../../lib/inet.js';
import { delta, inv, ip, lab2, pr, type Lab2 } from '../../lib/inet_lab.js';
import { nanosleep } from '../../../src/lib/process.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Vnet } from '../../../src/net/vnet.js';
import { V_tcpstat, intotcpcb } from '../../../src/netinet/tcp_var.js';
import { V_tcbinfo } from '../../../src/netinet/tcp_subr.js';
import { tcp_hc_get, type HcMetrics } from '../../../src/netinet/tcp_hostcache.js';
import type { Libc } from '../../../src/lib/libc.js';
import { epair_set_impairment } from '../../../src/net/if_epair.js';

const A = ip('192.0.2.1');
const B = ip('192.0.2.2');
const DATA = new Uint8Array(256 * 1024).map((_, i) => i & 0xff);
const PORT = 7400;

function tcpstat(k: Kernel, v: Vnet): Record<string, number> {
  return inv(k, v, () => V_tcpstat.fetchAll(v));
}

/**
 * Two connections from a to b, one after the other: b writes DATA, a reads it all and
 * closes first, b closes on EOF (LAST_ACK: its tcpcb goes with the socket).  Between
 * them b's program calls `between`, and `second` once the second is accepted (see
 * tcp_conns: time passes only in the programs).
 */
async function serve(L: Lab2, between: (c: Libc) => Promise<void>, second: () => void) {
  const buf = new Uint8Array(65536);
  await tcp_conns(L.k, {
    from: pr(L.k, 'a'),
    to: pr(L.k, 'b'),
    dst: B,
    port: PORT,
    n: 2,
    serve: async (c, s, i) => {
      if (i === 1) second();
      assert.equal(await c.write(s, DATA), DATA.length);
      assert.equal(await c.read(s, new Uint8Array(16)), 0, 'EOF');
      await c.close(s);
      /* The last ACK arrives and the tcpcb goes. */
      await nanosleep(c, 1_000_000_000);
      if (i === 0) await between(c);
    },
    use: async (c, s) => {
      let got = 0;
      while (got < DATA.length) {
        const n = await c.read(s, buf);
        assert.ok(n > 0, `read: ${n}`);
        got += n;
      }
      await c.close(s);
      await nanosleep(c, 5_000_000_000);
    },
  });
}

test('the passive closer leaves srtt and rttvar; the next connection starts from them', async () => {
  const L = lab2(bootVimage());
  const { k } = L;
  epair_set_impairment(L.a, { delay_ns: 50_000_000 });
  epair_set_impairment(L.b, { delay_ns: 50_000_000 });
  const b0 = tcpstat(k, L.vb);
  const a0 = tcpstat(k, L.va);
  let d1: Record<string, number> = {};
  let da: Record<string, number> = {};
  let m: HcMetrics | null = null;
  let list = '';
  let b1: Record<string, number> = {};
  let rxtcur = 0;
  await serve(
    L,
    async (c) => {
      d1 = delta(b0, tcpstat(k, L.vb));
      da = delta(a0, tcpstat(k, L.va));
      m = inv(k, L.vb, () => tcp_hc_get(A));
      const b = await c.sysctlbyname_bytes('net.inet.tcp.hostcache.list');
      list = new TextDecoder().decode(b ?? new Uint8Array()).replace(/\0.*$/s, '');
      b1 = tcpstat(k, L.vb);
    },
    () =>
      inv(k, L.vb, () => {
        for (const inp of V_tcbinfo().ipi_listhead)
          if (inp.inp_lport === PORT && inp.inp_faddr === A) rxtcur = intotcpcb(inp)!.t_rxtcur;
      }),
  );
  assert.equal(d1['tcps_cachedrtt'], 1, 'b saved the RTT');
  assert.equal(d1['tcps_cachedrttvar'], 1);
  assert.equal(da['tcps_cachedrtt'] ?? 0, 0, 'a went through TIME_WAIT');
  const e = m as HcMetrics | null;
  assert.ok(e !== null);
  /* About 100 ms (ticks << 5), as tcp_xmit_timer smoothed it. */
  assert.ok(e.rtt >= 95 * 32 && e.rtt <= 115 * 32, `srtt ${e.rtt / 32} ms`);
  assert.equal(e.mtu, 0, 'no path MTU learnt');
  /* sysctl net.inet.tcp.hostcache.list in b: RTT in ms as FreeBSD converts it. */
  const line = list.split('\n')[2]!.split(/\s+/);
  assert.equal(line[0], '192.0.2.1');
  assert.equal(line[3], `${Math.floor((e.rtt * 31 + 500) / 1000)}ms`);
  /* The next connection: b's tcpcb started from the cached RTT. */
  const d2 = delta(b1, tcpstat(k, L.vb));
  assert.equal(d2['tcps_usedrtt'], 1, 'b used the cached RTT');
  assert.equal(d2['tcps_usedrttvar'], 1);
  /* An RTO from ~100 ms of RTT: well below the 1 s a connection without history has. */
  assert.ok(rxtcur > 0 && rxtcur < 1000, `first RTO ${rxtcur} ticks`);
});
