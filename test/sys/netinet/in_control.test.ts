// IPv4 address configuration through socket ioctls (FreeBSD netinet/in.c in_control):
// SIOCAIFADDR / SIOCDIFADDR / SIOCGIF{ADDR,NETMASK,BRDADDR,DSTADDR} from user processes
// in the host, a vnet jail and a jail without a vnet; the interface and loopback
// routes in V_rib; addresses purged when an interface changes vnet or is destroyed.
// The jail cases boot VIMAGE kernels (bootVimage); two run on the pass's kernel
// (GENERIC or NOVIMAGE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest, bootVimage } from '../../lib/kernel.js';
import { ifr_addr, ifreq, in_aliasreq, inetSocketReady, ip, runIn, sys } from '../../lib/inet.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import { kern_jail_set, type Prison } from '../../../src/kern/kern_jail.js';
import { ifunit } from '../../../src/net/if.js';
import { with_vnet, type Vnet } from '../../../src/net/vnet.js';
import { AF_INET, IFF_UP, type Ifnet } from '../../../src/net/if_var.js';
import { AF_ROUTE, SOCK_DGRAM, SOCK_RAW } from '../../../src/sys/socket.js';
import {
  SIOCAIFADDR,
  SIOCDIFADDR,
  SIOCGIFADDR,
  SIOCGIFBRDADDR,
  SIOCGIFDSTADDR,
  SIOCGIFFLAGS,
  SIOCGIFNETMASK,
  SIOCIFCREATE,
  SIOCIFDESTROY,
  SIOCSIFADDR,
  SIOCSIFRVNET,
  SIOCSIFVNET,
} from '../../../src/sys/sockio.js';
import {
  EADDRNOTAVAIL,
  EEXIST,
  EINVAL,
  ENXIO,
  EOPNOTSUPP,
  EPERM,
  EPROTONOSUPPORT,
} from '../../../src/sys/errno.js';
import { RTF_GATEWAY, RTF_STATIC } from '../../../src/net/route.js';
import { V_in_ifaddrhead, V_rib, in_ifaddrs_of } from '../../../src/netinet/in_var.js';
import { gw_inet, rt_flags_names, type Rtentry } from '../../../src/net/route/route_var.js';
import {
  in_ifaddr_event_deregister,
  in_ifaddr_event_register,
} from '../../../src/netinet/in_control.js';

function mkjail(k: Kernel, name: string, vnet: boolean): Prison {
  const r = k.enter(() => kern_jail_set(k, k.prison0, { name, vnet, persist: true }));
  assert.equal(r.error, 0);
  return r.pr!;
}

/** The routes of a vnet as "dst/plen gw ifp flags". */
function routes(k: Kernel, v: Vnet): string[] {
  return k.enter(() =>
    with_vnet(v, () =>
      V_rib.get()
        .entries()
        .map((rt: Rtentry) => {
          const a = rt.rt_dst;
          const d = [a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff].join('.');
          const g = rt.rt_gateway;
          const gs =
            g.kind === 'inet'
              ? [g.addr >>> 24, (g.addr >>> 16) & 0xff, (g.addr >>> 8) & 0xff, g.addr & 0xff].join(
                  '.',
                )
              : `link#${g.index}`;
          return `${d}/${rt.rt_plen} ${gs} ${rt.rt_ifp?.if_xname ?? '-'} ${rt_flags_names(rt.rt_flags)}`;
        }),
    ),
  );
}

function inaddrs(k: Kernel, v: Vnet): string[] {
  return k.enter(() =>
    with_vnet(v, () =>
      V_in_ifaddrhead.get().map((ia) => `${ia.ifa_ifp.if_xname} ${ia.ia_addr >>> 0}/${ia.ia_plen}`),
    ),
  );
}

function ifnet(k: Kernel, v: Vnet, name: string): Ifnet | null {
  return k.enter(() => with_vnet(v, () => ifunit(name)));
}

test('SIOCAIFADDR in the host: address, netmask, broadcast, interface and loopback routes', async () => {
  const k = bootVimage();
  await inetSocketReady(k);
  const seen: string[] = [];
  const h = (ifp: Ifnet, ia: { ia_addr: number }, kind: string): void => {
    seen.push(`${kind} ${ifp.if_xname} ${ia.ia_addr >>> 0}`);
  };
  in_ifaddr_event_register(k, h);
  const r = await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.ok(s >= 0);
    const out: Record<string, number> = {};
    out['create'] = await sys(c, c.ioctl(s, SIOCIFCREATE, ifreq('epair')));
    out['add'] = await sys(
      c,
      c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair0a', ip('198.18.0.1'), ip('255.255.255.0'))),
    );
    const g = ifreq('epair0a');
    out['gaddr'] = await sys(c, c.ioctl(s, SIOCGIFADDR, g));
    out['addr'] = ifr_addr(g);
    out['gmask'] = await sys(c, c.ioctl(s, SIOCGIFNETMASK, g));
    out['mask'] = ifr_addr(g);
    out['gbrd'] = await sys(c, c.ioctl(s, SIOCGIFBRDADDR, g));
    out['brd'] = ifr_addr(g);
    out['gdst'] = await sys(c, c.ioctl(s, SIOCGIFDSTADDR, g));
    const f = ifreq('epair0a');
    await c.ioctl(s, SIOCGIFFLAGS, f);
    out['up'] = new DataView(f.buffer).getInt16(16, true) & IFF_UP;
    out['noaddr'] = await sys(c, c.ioctl(s, SIOCGIFADDR, ifreq('epair0b')));
    out['noif'] = await sys(c, c.ioctl(s, SIOCGIFADDR, ifreq('nope0')));
    out['old'] = await sys(c, c.ioctl(s, SIOCSIFADDR, ifreq('epair0b', ip('198.18.0.9'))));
    out['vhid'] = await sys(
      c,
      c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair0b', ip('198.19.0.1'), ip('255.255.0.0'), 0, 3)),
    );
    out['dupother'] = await sys(
      c,
      c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair0b', ip('198.18.0.1'), ip('255.255.255.0'))),
    );
    const bad = in_aliasreq('epair0b', ip('198.18.0.7'));
    bad[17] = 99;
    out['badfam'] = await sys(c, c.ioctl(s, SIOCAIFADDR, bad));
    out['noncontig'] = await sys(
      c,
      c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair0b', ip('198.18.0.7'), 0xff00ff00)),
    );
    return out;
  });
  in_ifaddr_event_deregister(k, h);
  assert.deepEqual(r, {
    create: 0,
    add: 0,
    gaddr: 0,
    addr: ip('198.18.0.1'),
    gmask: 0,
    mask: ip('255.255.255.0'),
    gbrd: 0,
    brd: ip('198.18.0.255'),
    gdst: -EINVAL,
    up: IFF_UP,
    noaddr: -EADDRNOTAVAIL,
    noif: -ENXIO,
    old: -EINVAL,
    vhid: -EPROTONOSUPPORT,
    dupother: -EEXIST,
    badfam: -EINVAL,
    noncontig: -EINVAL,
  });
  const v0 = k.vnet0;
  assert.deepEqual(routes(k, v0), [
    '198.18.0.0/24 link#2 epair0a UP,PINNED',
    '198.18.0.1/32 link#2 lo0 UP,HOST,STATIC,PINNED,LOCAL',
  ]);
  assert.deepEqual(inaddrs(k, v0), [`epair0a ${ip('198.18.0.1')}/24`]);
  assert.deepEqual(seen, [`add epair0a ${ip('198.18.0.1')}`]);
});

test('SIOCDIFADDR removes the address and its routes; EADDRNOTAVAIL when absent', async () => {
  const k = bootTest(); /* both kernels */
  await inetSocketReady(k);
  const r = await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    const out: number[] = [];
    out.push(await sys(c, c.ioctl(s, SIOCIFCREATE, ifreq('epair'))));
    out.push(await sys(c, c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair0a', ip('203.0.113.1')))));
    const g = ifreq('epair0a');
    await c.ioctl(s, SIOCGIFNETMASK, g);
    out.push(ifr_addr(g)); /* classful: a class C */
    out.push(await sys(c, c.ioctl(s, SIOCDIFADDR, ifreq('epair0a', ip('203.0.113.2')))));
    out.push(await sys(c, c.ioctl(s, SIOCDIFADDR, ifreq('epair0a', ip('203.0.113.1')))));
    out.push(await sys(c, c.ioctl(s, SIOCDIFADDR, ifreq('epair0a', ip('203.0.113.1')))));
    out.push(await sys(c, c.ioctl(s, SIOCGIFADDR, ifreq('epair0a'))));
    return out;
  });
  assert.deepEqual(r, [
    0,
    0,
    ip('255.255.255.0'),
    -EADDRNOTAVAIL,
    0,
    -EADDRNOTAVAIL,
    -EADDRNOTAVAIL,
  ]);
  assert.deepEqual(routes(k, k.vnet0), []);
  assert.deepEqual(inaddrs(k, k.vnet0), []);
  assert.equal(in_ifaddrs_of(ifnet(k, k.vnet0, 'epair0a')!).length, 0);
});

test('a second address of the same prefix on another interface does not take the route', async () => {
  const k = bootVimage();
  await inetSocketReady(k);
  await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.equal(await c.ioctl(s, SIOCIFCREATE, ifreq('epair')), 0);
    assert.equal(await c.ioctl(s, SIOCIFCREATE, ifreq('epair')), 0);
    assert.equal(
      await c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair0a', ip('198.19.0.1'), ip('255.255.0.0'))),
      0,
    );
    assert.equal(
      await c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair1a', ip('198.19.0.2'), ip('255.255.0.0'))),
      0,
    );
    return 0;
  });
  const idx0 = ifnet(k, k.vnet0, 'epair0a')!.if_index;
  const idx1 = ifnet(k, k.vnet0, 'epair1a')!.if_index;
  assert.deepEqual(routes(k, k.vnet0), [
    `198.19.0.0/16 link#${idx0} epair0a UP,PINNED`,
    `198.19.0.1/32 link#${idx0} lo0 UP,HOST,STATIC,PINNED,LOCAL`,
    `198.19.0.2/32 link#${idx1} lo0 UP,HOST,STATIC,PINNED,LOCAL`,
  ]);
  // Deleting the first address hands the prefix to the second (in_scrubprefix).
  await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.equal(await c.ioctl(s, SIOCDIFADDR, ifreq('epair0a', ip('198.19.0.1'))), 0);
    return 0;
  });
  assert.deepEqual(routes(k, k.vnet0), [
    `198.19.0.0/16 link#${idx1} epair1a UP,PINNED`,
    `198.19.0.2/32 link#${idx1} lo0 UP,HOST,STATIC,PINNED,LOCAL`,
  ]);
});

test('EPERM from a jail without a vnet; a vnet jail configures its own interfaces', async () => {
  const k = bootVimage();
  await inetSocketReady(k);
  const plain = mkjail(k, 'plain', false);
  const vj = mkjail(k, 'vj', true);
  const jv = vj.pr_vnet!;
  await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.equal(await c.ioctl(s, SIOCIFCREATE, ifreq('epair')), 0);
    assert.equal(
      await c.ioctl(
        s,
        SIOCAIFADDR,
        in_aliasreq('epair0a', ip('198.51.100.1'), ip('255.255.255.0')),
      ),
      0,
    );
    assert.equal(await c.ioctl(s, SIOCSIFVNET, ifreq('epair0b', undefined, vj.pr_id)), 0);
    return 0;
  });
  const pr = await runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
      const g = ifreq('epair0a');
      return [
        await sys(
          c,
          c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair0a', ip('198.51.100.5'), ip('255.255.255.0'))),
        ),
        await sys(c, c.ioctl(s, SIOCDIFADDR, ifreq('epair0a', ip('198.51.100.1')))),
        await sys(c, c.ioctl(s, SIOCGIFADDR, g)),
        ifr_addr(g),
      ];
    },
    plain,
  );
  assert.deepEqual(pr, [-EPERM, -EPERM, 0, ip('198.51.100.1')]);
  const jr = await runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
      const g = ifreq('epair0b');
      return [
        await sys(
          c,
          c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair0b', ip('198.51.100.2'), ip('255.255.255.0'))),
        ),
        await sys(c, c.ioctl(s, SIOCGIFADDR, g)),
        ifr_addr(g),
        await sys(c, c.ioctl(s, SIOCGIFADDR, ifreq('epair0a'))),
      ];
    },
    vj,
  );
  assert.deepEqual(jr, [0, 0, ip('198.51.100.2'), -ENXIO]);
  const bidx = ifnet(k, jv, 'epair0b')!.if_index;
  assert.deepEqual(routes(k, jv), [
    `198.51.100.0/24 link#${bidx} epair0b UP,PINNED`,
    `198.51.100.2/32 link#${bidx} lo0 UP,HOST,STATIC,PINNED,LOCAL`,
  ]);
  assert.equal(routes(k, k.vnet0).length, 2, "the host's table is its own");
  // Taking the interface back purges its addresses and routes from the jail's vnet.
  await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.equal(await c.ioctl(s, SIOCSIFRVNET, ifreq('epair0b', undefined, vj.pr_id)), 0);
    return 0;
  });
  assert.deepEqual(routes(k, jv), []);
  assert.deepEqual(inaddrs(k, jv), []);
  assert.equal(in_ifaddrs_of(ifnet(k, k.vnet0, 'epair0b')!).length, 0, 'no address came along');
});

test('destroying an interface purges its addresses and every route through it', async () => {
  const k = bootVimage();
  await inetSocketReady(k);
  await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.equal(await c.ioctl(s, SIOCIFCREATE, ifreq('epair')), 0);
    assert.equal(
      await c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair0a', ip('198.18.3.1'), ip('255.255.255.0'))),
      0,
    );
    assert.equal(
      await c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair0a', ip('198.18.4.1'), ip('255.255.255.0'))),
      0,
    );
    return 0;
  });
  assert.equal(routes(k, k.vnet0).length, 4);
  assert.equal(inaddrs(k, k.vnet0).length, 2);
  await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.equal(await c.ioctl(s, SIOCIFDESTROY, ifreq('epair0a')), 0);
    return 0;
  });
  assert.deepEqual(routes(k, k.vnet0), []);
  assert.deepEqual(inaddrs(k, k.vnet0), []);
});

test('address ioctls on a routing socket are EOPNOTSUPP; generic ones still work', async () => {
  // (Local-domain sockets are accepted for address ioctls until the inet domain has
  // datagram sockets: ifconfig falls back to them; see in_ifioctl.)
  const k = bootVimage();
  const r = await runIn(k, async (c) => {
    const s = await c.socket(AF_ROUTE, SOCK_RAW, 0);
    return [
      await sys(c, c.ioctl(s, SIOCIFCREATE, ifreq('epair'))),
      await sys(c, c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair0a', ip('198.18.0.1')))),
      await sys(c, c.ioctl(s, SIOCGIFADDR, ifreq('nope0'))),
    ];
  });
  assert.deepEqual(r, [0, -EOPNOTSUPP, -ENXIO]);
});

test('lo0 127.0.0.1/8: one host route to the address through lo0 (rtinitflags)', async () => {
  const k = bootTest(); /* both kernels */
  await inetSocketReady(k);
  const r = await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    const out: number[] = [];
    out.push(
      await sys(c, c.ioctl(s, SIOCAIFADDR, in_aliasreq('lo0', ip('127.0.0.1'), ip('255.0.0.0')))),
    );
    const g = ifreq('lo0');
    out.push(await sys(c, c.ioctl(s, SIOCGIFNETMASK, g)), ifr_addr(g));
    out.push(await sys(c, c.ioctl(s, SIOCGIFBRDADDR, ifreq('lo0'))));
    return out;
  });
  assert.deepEqual(r, [0, 0, ip('255.0.0.0'), -EINVAL]);
  assert.deepEqual(routes(k, k.vnet0), ['127.0.0.1/32 link#1 lo0 UP,HOST,PINNED']);
});

test('removing a vnet jail with configured addresses: the interface goes home bare', async () => {
  const k = bootVimage();
  await inetSocketReady(k);
  const vj = mkjail(k, 'vj2', true);
  const jv = vj.pr_vnet!;
  await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.equal(await c.ioctl(s, SIOCIFCREATE, ifreq('epair')), 0);
    assert.equal(await c.ioctl(s, SIOCSIFVNET, ifreq('epair0b', undefined, vj.pr_id)), 0);
    return 0;
  });
  await runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
      assert.equal(
        await c.ioctl(
          s,
          SIOCAIFADDR,
          in_aliasreq('epair0b', ip('198.18.8.2'), ip('255.255.255.0')),
        ),
        0,
      );
      assert.equal(
        await c.ioctl(s, SIOCAIFADDR, in_aliasreq('lo0', ip('127.0.0.1'), ip('255.0.0.0'))),
        0,
      );
      return 0;
    },
    vj,
  );
  assert.equal(routes(k, jv).length, 3);
  const { prison_remove } = await import('../../../src/kern/kern_jail.js');
  k.enter(() => prison_remove(k, vj));
  await k.run_until_idle();
  assert.ok(!k.vnet_head.includes(jv), 'the vnet is gone');
  const b = ifnet(k, k.vnet0, 'epair0b');
  assert.ok(b !== null, 'epair0b came home');
  assert.equal(in_ifaddrs_of(b).length, 0);
  assert.deepEqual(routes(k, k.vnet0), []);
});

test('a static route to a prefix yields to the interface route; the interface route is pinned', async () => {
  const k = bootVimage();
  await inetSocketReady(k);
  await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.equal(await c.ioctl(s, SIOCIFCREATE, ifreq('epair')), 0);
    assert.equal(await c.ioctl(s, SIOCIFCREATE, ifreq('epair')), 0);
    assert.equal(
      await c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair1a', ip('198.18.12.1'), ip('255.255.255.0'))),
      0,
    );
    return 0;
  });
  const v0 = k.vnet0;
  const e1a = ifnet(k, v0, 'epair1a')!;
  // A static route to 198.18.11.0/24 through epair1a's network, then an address there.
  const add = k.enter(() =>
    with_vnet(v0, () => {
      return V_rib.get().add({
        dst: ip('198.18.11.0'),
        plen: 24,
        gateway: gw_inet(ip('198.18.12.9')),
        flags: RTF_GATEWAY | RTF_STATIC,
        ifp: e1a,
      }).error;
    }),
  );
  assert.equal(add, 0);
  await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.equal(
      await c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair0a', ip('198.18.11.1'), ip('255.255.255.0'))),
      0,
    );
    return 0;
  });
  const idx = ifnet(k, v0, 'epair0a')!.if_index;
  assert.ok(
    routes(k, v0).includes(`198.18.11.0/24 link#${idx} epair0a UP,PINNED`),
    routes(k, v0).join('\n'),
  );
});

test('SIOCAIFADDR of an existing address changes its netmask, broadcast and routes', async () => {
  const k = bootTest(); /* both kernels */
  await inetSocketReady(k);
  const r = await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.equal(await c.ioctl(s, SIOCIFCREATE, ifreq('epair')), 0);
    assert.equal(
      await c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair0a', ip('198.18.40.1'), ip('255.255.255.0'))),
      0,
    );
    assert.equal(
      await c.ioctl(
        s,
        SIOCAIFADDR,
        in_aliasreq('epair0a', ip('198.18.40.1'), ip('255.255.0.0'), ip('198.18.40.254')),
      ),
      0,
    );
    const g = ifreq('epair0a');
    await c.ioctl(s, SIOCGIFNETMASK, g);
    const m = ifr_addr(g);
    await c.ioctl(s, SIOCGIFBRDADDR, g);
    return [m, ifr_addr(g)];
  });
  assert.deepEqual(r, [ip('255.255.0.0'), ip('198.18.40.254')]);
  const v = k.vnet0;
  assert.deepEqual(inaddrs(k, v), [`epair0a ${ip('198.18.40.1')}/16`]);
  assert.deepEqual(routes(k, v), [
    '198.18.0.0/16 link#2 epair0a UP,PINNED',
    '198.18.40.1/32 link#2 lo0 UP,HOST,STATIC,PINNED,LOCAL',
  ]);
});
