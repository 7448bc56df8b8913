// Congestion control modules: kldload cc_cubic registers "cubic" beside the built-in
// newreno; TCP_CONGESTION picks it for one connection, net.inet.tcp.cc.algorithm for
// the vnet's new connections while existing ones keep theirs; a transfer with 1% loss
// completes under cubic.  VIMAGE_ONLY: the lab needs two vnets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { runIn, sys } from '../../lib/inet.js';
import { ip, lab2 } from '../../lib/inet_lab.js';
import type { Libc } from '../../../src/lib/libc.js';
import { prison_find_name } from '../../../src/kern/kern_jail.js';
import { AF_INET, SOCK_STREAM } from '../../../src/sys/socket.js';
import { IPPROTO_TCP, sockaddr_in_bytes as sin } from '../../../src/netinet/in.js';
import { TCP_CONGESTION } from '../../../src/netinet/tcp_var.js';
import { EBUSY, ENOENT, EPERM } from '../../../src/sys/errno.js';
import { epair_set_impairment } from '../../../src/net/if_epair.js';

async function cc_of(c: Libc, s: number): Promise<string> {
  const b = new Uint8Array(16);
  assert.equal(await c.getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, b), 0);
  return new TextDecoder().decode(b.subarray(0, b.indexOf(0)));
}

test('kldload cc_cubic; TCP_CONGESTION and net.inet.tcp.cc.algorithm; a lossy transfer under cubic', async () => {
  const L = lab2(bootVimage());
  const { k } = L;
  k.enter(() => {
    epair_set_impairment(L.a, { loss: 0.01 });
    epair_set_impairment(L.b, { loss: 0.01 });
  });
  const total = 8 << 20;
  // Before and after kldload, which only the host may do (a jail gets EPERM).
  const pre = await runIn(
    k,
    async (c) => {
      const a = await c.socket(AF_INET, SOCK_STREAM, 0);
      const cub = new TextEncoder().encode('cubic\0');
      return {
        'before-load': await sys(c, c.setsockopt(a, IPPROTO_TCP, TCP_CONGESTION, cub)),
        'available-before': await c.sysctlbyname_str('net.inet.tcp.cc.available'),
        'jail-kldload': await sys(c, c.kldload('cc_cubic')),
      };
    },
    prison_find_name(k, k.prison0, 'a')!,
  );
  const load = await runIn(k, async (c) => ({
    kldload: (await c.kldload('cc_cubic')) >= 0,
    available: await c.sysctlbyname_str('net.inet.tcp.cc.available'),
  }));
  let got = 0;
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      await c.bind(l, sin(0, 5002));
      await c.listen(l, 4);
      for (let i = 0; i < 2; i++) {
        const s = await c.accept(l, null, null);
        const buf = new Uint8Array(65536);
        for (;;) {
          const n = await c.read(s, buf);
          if (n <= 0) break;
          got += n;
        }
        await c.close(s);
      }
    },
    prison_find_name(k, k.prison0, 'b')!,
  );
  const out: Record<string, unknown> = {};
  const client = runIn(
    k,
    async (c) => {
      const a = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.connect(a, sin(ip('192.0.2.2'), 5002)), 0);
      out['a'] = await cc_of(c, a);
      // The vnet's default changes: new connections get cubic, a keeps newreno.
      const v = new TextEncoder().encode('cubic\0');
      assert.equal(await c.sysctlbyname('net.inet.tcp.cc.algorithm', null, null, v), 0);
      out['default'] = await c.sysctlbyname_str('net.inet.tcp.cc.algorithm');
      const b = await c.socket(AF_INET, SOCK_STREAM, 0);
      out['b'] = await cc_of(c, b);
      out['a-after'] = await cc_of(c, a);
      await c.close(a);
      assert.equal(await c.connect(b, sin(ip('192.0.2.2'), 5002)), 0);
      const d = new Uint8Array(65536);
      let off = 0;
      while (off < total) off += await c.write(b, d);
      await c.close(b);
    },
    prison_find_name(k, k.prison0, 'a')!,
  );
  await Promise.all([server, client]);
  assert.deepEqual(
    { ...pre, ...load, ...out },
    {
      'before-load': -ENOENT,
      'available-before': 'newreno',
      'jail-kldload': -EPERM,
      kldload: true,
      available: 'newreno, cubic',
      a: 'newreno',
      default: 'cubic',
      b: 'cubic',
      'a-after': 'newreno',
    },
  );
  assert.equal(got, total);
});

test('kldunload cc_cubic is refused with EBUSY while a connection uses cubic', async () => {
  const k = bootVimage();
  const r = await runIn(k, async (c) => {
    const fileid = await c.kldload('cc_cubic');
    const s = await c.socket(AF_INET, SOCK_STREAM, 0);
    const cub = new TextEncoder().encode('cubic\0');
    assert.equal(await c.setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, cub), 0);
    assert.equal(await c.sysctlbyname('net.inet.tcp.cc.algorithm', null, null, cub), 0);
    const busy = await sys(c, c.kldunload(fileid));
    const still = await c.sysctlbyname_str('net.inet.tcp.cc.available');
    const mine = await cc_of(c, s);
    await c.close(s);
    return {
      busy,
      still,
      mine,
      unload: await sys(c, c.kldunload(fileid)),
      available: await c.sysctlbyname_str('net.inet.tcp.cc.available'),
      // The vnet chose cubic; with cubic gone it is back on newreno.
      default: await c.sysctlbyname_str('net.inet.tcp.cc.algorithm'),
      reload: (await c.kldload('cc_cubic')) > 0,
    };
  });
  assert.deepEqual(r, {
    busy: -EBUSY,
    still: 'newreno, cubic',
    mine: 'cubic',
    unload: 0,
    available: 'newreno',
    default: 'newreno',
    reload: true,
  });
});
