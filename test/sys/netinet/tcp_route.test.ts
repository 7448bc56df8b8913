// A TCP connection's route cache (tcpcb t_route, FreeBSD's inp_route) follows the
// routing table: a blackhole host route added in the sender's vnet in the middle of a
// transfer stops its segments at once, and once it is deleted the retransmissions go
// through the interface route again and the stream completes.  A cache that ignored
// the rib's generation would keep sending over the old route.  bootVimage: both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { runIn } from '../../lib/inet.js';
import { delta, inv, ip, lab2 } from '../../lib/inet_lab.js';
import { prison_find_name } from '../../../src/kern/kern_jail.js';
import { Callout, callout_reset_sbt } from '../../../src/kern/kern_timeout.js';
import { AF_INET, SOCK_STREAM } from '../../../src/sys/socket.js';
import { sockaddr_in_bytes as sin } from '../../../src/netinet/in.js';
import { V_rib } from '../../../src/netinet/in_var.js';
import { RTF_BLACKHOLE, RTF_STATIC } from '../../../src/net/route.js';
import { gw_inet } from '../../../src/net/route/route_var.js';
import { V_loif } from '../../../src/net/if_loop.js';
import { V_tcpstat } from '../../../src/netinet/tcp_var.js';
import { nanosleep } from '../../../src/lib/process.js';

const S = 1e9;

test("a connection's cached route follows a blackhole route added and deleted mid-transfer", async () => {
  const L = lab2(bootVimage());
  const { k, va, vb } = L;
  const b = ip('192.0.2.2');
  const part = 20000;
  let got = 0;
  const seen: number[] = [];
  /* At 1.5 s (virtual) a host route to b through lo0 drops everything for it; at 4 s
   * it goes.  Run as callouts in a's vnet, between the programs' steps. */
  const at = (t: number, fn: () => void): void =>
    k.enter(() => {
      const c = new Callout();
      callout_reset_sbt(c, t, 0, () => inv(k, va, fn), null);
    });
  at(1.5 * S, () => {
    seen.push(got);
    const r = V_rib.get().add({
      dst: b,
      plen: 32,
      gateway: gw_inet(ip('127.0.0.1')),
      flags: RTF_BLACKHOLE | RTF_STATIC,
      ifp: V_loif.get()!,
    });
    assert.equal(r.error, 0);
  });
  at(4 * S, () => {
    seen.push(got);
    assert.equal(V_rib.get().delete(b, 32).error, 0);
  });
  const a0 = inv(k, va, () => V_tcpstat.fetchAll(va));
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.bind(l, sin(0, 47200)), 0);
      assert.equal(await c.listen(l, 1), 0);
      const s = await c.accept(l, null, null);
      const buf = new Uint8Array(65536);
      for (;;) {
        const n = await c.read(s, buf);
        assert.ok(n >= 0, `read: ${c.errno}`);
        if (n === 0) break;
        got += n;
      }
      await c.close(s);
      await c.close(l);
    },
    prison_find_name(k, k.prison0, 'b')!,
  );
  const client = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.connect(s, sin(b, 47200)), 0);
      const d = new Uint8Array(part).fill(7);
      assert.equal(await c.write(s, d), part);
      await nanosleep(c, 2 * S);
      assert.equal(await c.write(s, d), part, 'buffered while the route is a blackhole');
      await nanosleep(c, 3 * S);
      assert.equal(await c.close(s), 0);
    },
    prison_find_name(k, k.prison0, 'a')!,
  );
  await Promise.all([server, client]);
  assert.deepEqual(seen, [part, part], 'nothing got through the blackhole');
  assert.equal(got, 2 * part, 'all of it once the route was gone');
  const d = delta(
    a0,
    inv(k, va, () => V_tcpstat.fetchAll(va)),
  );
  assert.ok((d['tcps_rexmttimeo'] ?? 0) > 0, 'the blackholed segments were retransmitted');
  void vb;
});
