// The routing socket (FreeBSD net/rtsock.c) through libc: RTM_ADD of a default route
// and a host route via a connected gateway, RTM_GET with dst/gateway/netmask/ifp/ifa,
// RTM_CHANGE, RTM_DELETE, the errno values (ESRCH, EEXIST, ENETUNREACH, EINVAL,
// EPROTONOSUPPORT, EADDRINUSE), notifications to a second socket (RTM_ADD,
// RTM_NEWADDR, RTM_DELADDR, RTM_IFINFO, RTM_IFANNOUNCE), one message per read and
// drops on a full buffer; then the lpm scenario (netinet/lpm: overlapping prefixes pick
// the longest) and ICMP redirects (netinet/redirect: UP,GATEWAY,HOST,DYNAMIC,DONE and
// the expiry).  Boots VIMAGE kernels, so the file runs the same in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import {
  drain,
  ifreq,
  in_aliasreq,
  inetSocketReady,
  ip,
  ntoa,
  runIn,
  sys,
} from '../../lib/inet.js';
import { Libc } from '../../../src/lib/libc.js';
import { proc_create } from '../../../src/kern/kern_proc.js';
import { kern_jail_set } from '../../../src/kern/kern_jail.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import { with_vnet } from '../../../src/net/vnet.js';
import {
  AF_INET,
  SOCK_DGRAM,
  SOCK_RAW,
  PF_ROUTE,
  MSG_TRUNC,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_USELOOPBACK,
} from '../../../src/sys/socket.js';
import { SIOCAIFADDR, SIOCDIFADDR, SIOCIFCREATE, SIOCIFDESTROY } from '../../../src/sys/sockio.js';
import {
  EADDRINUSE,
  EEXIST,
  EINVAL,
  ENETUNREACH,
  EPROTONOSUPPORT,
  ESRCH,
} from '../../../src/sys/errno.js';
import {
  RTAX_DST,
  RTAX_GATEWAY,
  RTAX_IFA,
  RTAX_IFP,
  RTAX_NETMASK,
  RTF_GATEWAY,
  RTF_HOST,
  RTF_STATIC,
  RTF_UP,
  RTM_ADD,
  RTM_CHANGE,
  RTM_DELADDR,
  RTM_DELETE,
  RTM_GET,
  RTM_IFANNOUNCE,
  RTM_IFINFO,
  RTM_NEWADDR,
  RTM_REDIRECT,
  RTV_MTU,
  rt_addrs,
  rtsock_decode,
  rtsock_encode,
  sa_inet,
  type RtsockMsg,
} from '../../../src/net/route.js';
import { rt_flags_names } from '../../../src/net/route/route_var.js';
import { V_rts_drops } from '../../../src/net/rtsock.js';
import { rtalloc, rtredirect, V_icmp_redirtimeout } from '../../../src/netinet/in_rmx.js';
import { V_rib } from '../../../src/netinet/in_var.js';

/** A routing request: RTM_type for dst (/plen; 32 = host) via gw (0 = none). */
function req(type: number, dst: number, plen: number, gw = 0, flags = 0, seq = 1): Uint8Array {
  const a = rt_addrs();
  a[RTAX_DST] = sa_inet(dst);
  if (gw !== 0) a[RTAX_GATEWAY] = sa_inet(gw);
  if (plen !== 32) a[RTAX_NETMASK] = sa_inet(plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0);
  const f =
    flags | RTF_UP | RTF_STATIC | (gw !== 0 ? RTF_GATEWAY : 0) | (plen === 32 ? RTF_HOST : 0);
  return rtsock_encode({ type, hdr: { rtm_flags: f, rtm_seq: seq }, addrs: a });
}

/** Write a request; returns [write result (-errno), the reply read back on the same socket]. */
async function rtreq(c: Libc, s: number, m: Uint8Array): Promise<[number, RtsockMsg | null]> {
  const w = await sys(c, c.write(s, m));
  const msgs = await drain(c, s);
  return [
    w,
    msgs.find((x) => x.hdr['rtm_seq'] === new DataView(m.buffer).getInt32(20, true)) ?? null,
  ];
}

function sa_str(m: RtsockMsg, i: number): string {
  const sa = m.addrs[i];
  if (sa === null || sa === undefined) return '-';
  if (sa.kind === 'inet') return ntoa(sa.addr);
  if (sa.kind === 'link') return `link#${sa.index}${sa.name !== '' ? ` ${sa.name}` : ''}`;
  return `raw${sa.family}`;
}

/** The host with epair0a 192.0.2.1/24 and epair1a 198.18.0.1/24; returns nothing. */
async function setup(k: Kernel): Promise<void> {
  await inetSocketReady(k);
  await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.equal(await c.ioctl(s, SIOCIFCREATE, ifreq('epair')), 0);
    assert.equal(await c.ioctl(s, SIOCIFCREATE, ifreq('epair')), 0);
    assert.equal(
      await c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair0a', ip('192.0.2.1'), ip('255.255.255.0'))),
      0,
    );
    assert.equal(
      await c.ioctl(s, SIOCAIFADDR, in_aliasreq('epair1a', ip('198.18.0.1'), ip('255.255.255.0'))),
      0,
    );
    await c.close(s);
    return 0;
  });
}

test('RTM_ADD / RTM_GET / RTM_CHANGE / RTM_DELETE of a default and a host route', async () => {
  const k = bootVimage();
  await setup(k);
  const r = await runIn(k, async (c) => {
    const s = await c.socket(PF_ROUTE, SOCK_RAW, 0);
    assert.ok(s >= 0);
    const out: Record<string, unknown> = {};
    const [w1, a1] = await rtreq(c, s, req(RTM_ADD, 0, 0, ip('192.0.2.254'), 0, 1));
    out['add default'] = [w1, a1?.hdr['rtm_errno'], rt_flags_names(a1?.hdr['rtm_flags'] ?? 0)];
    const [w2] = await rtreq(c, s, req(RTM_ADD, ip('203.0.113.7'), 32, ip('192.0.2.10'), 0, 2));
    out['add host'] = w2;
    const g = req(RTM_GET, ip('203.0.113.7'), 32, 0, 0, 3);
    const [w3, a3] = await rtreq(c, s, g);
    out['get host'] = [
      w3,
      sa_str(a3!, RTAX_DST),
      sa_str(a3!, RTAX_GATEWAY),
      sa_str(a3!, RTAX_NETMASK),
      sa_str(a3!, RTAX_IFP),
      sa_str(a3!, RTAX_IFA),
      rt_flags_names(a3!.hdr['rtm_flags']!),
      a3!.hdr['rmx_mtu'],
      a3!.hdr['rtm_pid'] !== 0,
    ];
    // RTM_GET without a netmask is a longest match: 203.0.113.8 finds the default.
    const gm = rtsock_encode({
      type: RTM_GET,
      hdr: { rtm_seq: 4 },
      addrs: [sa_inet(ip('203.0.113.8')), null, null, null, null, null, null, null],
    });
    const [w4, a4] = await rtreq(c, s, gm);
    out['get 203.0.113.8'] = [
      w4,
      sa_str(a4!, RTAX_DST),
      sa_str(a4!, RTAX_GATEWAY),
      sa_str(a4!, RTAX_NETMASK),
    ];
    out['dup'] = (await rtreq(c, s, req(RTM_ADD, 0, 0, ip('192.0.2.254'), 0, 5)))[0];
    const [w6, a6] = await rtreq(c, s, req(RTM_ADD, ip('198.19.0.0'), 16, ip('203.0.113.1'), 0, 6));
    out['unreach'] = [w6, a6?.hdr['rtm_errno']];
    // RTM_CHANGE: a new gateway on the other network, and an MTU.
    const ch = rtsock_encode({
      type: RTM_CHANGE,
      hdr: {
        rtm_flags: RTF_UP | RTF_GATEWAY | RTF_HOST | RTF_STATIC,
        rtm_seq: 7,
        rtm_inits: RTV_MTU,
        rmx_mtu: 1280,
      },
      addrs: [
        sa_inet(ip('203.0.113.7')),
        sa_inet(ip('198.18.0.9')),
        null,
        null,
        null,
        null,
        null,
        null,
      ],
    });
    out['change'] = (await rtreq(c, s, ch))[0];
    const [, a8] = await rtreq(c, s, req(RTM_GET, ip('203.0.113.7'), 32, 0, 0, 8));
    out['after change'] = [sa_str(a8!, RTAX_GATEWAY), sa_str(a8!, RTAX_IFP), a8!.hdr['rmx_mtu']];
    out['del'] = (await rtreq(c, s, req(RTM_DELETE, ip('203.0.113.7'), 32, 0, 0, 9)))[0];
    out['del again'] = (await rtreq(c, s, req(RTM_DELETE, ip('203.0.113.7'), 32, 0, 0, 10)))[0];
    out['get gone'] = (await rtreq(c, s, req(RTM_GET, ip('198.18.0.0'), 16, 0, 0, 11)))[0];
    out['del pinned'] = (await rtreq(c, s, req(RTM_DELETE, ip('192.0.2.0'), 24, 0, 0, 12)))[0];
    out['change none'] = (
      await rtreq(c, s, req(RTM_CHANGE, ip('198.18.0.0'), 16, ip('192.0.2.3'), 0, 13))
    )[0];
    return out;
  });
  assert.deepEqual(r, {
    'add default': [152 + 16 * 3, 0, 'UP,GATEWAY,DONE,STATIC'],
    'add host': 152 + 16 * 2,
    'get host': [
      152 + 16,
      '203.0.113.7',
      '192.0.2.10',
      '-',
      'link#2 epair0a',
      '192.0.2.1',
      'UP,GATEWAY,HOST,DONE,STATIC',
      1500,
      true,
    ],
    'get 203.0.113.8': [152 + 16, '0.0.0.0', '192.0.2.254', '0.0.0.0'],
    dup: -EEXIST,
    unreach: [-ENETUNREACH, ENETUNREACH],
    change: 152 + 16 * 2,
    'after change': ['198.18.0.9', 'link#4 epair1a', 1280],
    del: 152 + 16,
    'del again': -ESRCH,
    'get gone': -ESRCH,
    'del pinned': -EADDRINUSE,
    'change none': -ESRCH,
  });
});

test('malformed writes: EINVAL for a length mismatch or a short message, EPROTONOSUPPORT for a bad version', async () => {
  const k = bootVimage();
  await setup(k);
  const r = await runIn(k, async (c) => {
    const s = await c.socket(PF_ROUTE, SOCK_RAW, 0);
    const m = req(RTM_ADD, ip('198.18.0.0'), 16, ip('192.0.2.5'));
    const longer = new Uint8Array(m.length + 8);
    longer.set(m);
    const badver = m.slice();
    badver[2] = 4;
    const noDst = rtsock_encode({ type: RTM_ADD, hdr: { rtm_seq: 9 }, addrs: rt_addrs() });
    const badSa = m.slice();
    badSa[152] = 200; /* the first sockaddr's sa_len runs past the message */
    return [
      await sys(c, c.write(s, longer)),
      await sys(c, c.write(s, m.subarray(0, 100))),
      await sys(c, c.write(s, badver)),
      await sys(c, c.write(s, noDst)),
      await sys(c, c.write(s, badSa)),
      (await drain(c, s)).map((x) => [x.type, x.hdr['rtm_errno']]),
    ];
  });
  assert.deepEqual(r, [
    -EINVAL,
    -EINVAL,
    -EPROTONOSUPPORT,
    -EINVAL,
    -EINVAL,
    [
      [RTM_ADD, EINVAL],
      [RTM_ADD, EINVAL],
    ],
  ]);
});

test('a second routing socket hears RTM_ADD, RTM_NEWADDR, RTM_DELADDR, RTM_IFINFO and RTM_IFANNOUNCE', async () => {
  const k = bootVimage();
  await setup(k);
  const r = await runIn(k, async (c) => {
    const a = await c.socket(PF_ROUTE, SOCK_RAW, 0);
    const b = await c.socket(PF_ROUTE, SOCK_RAW, AF_INET);
    const out: Record<string, unknown> = {};
    await rtreq(c, a, req(RTM_ADD, ip('198.19.0.0'), 16, ip('192.0.2.6'), 0, 77));
    const mb = await drain(c, b);
    out['b add'] = mb.map((m) => [
      m.type,
      m.hdr['rtm_seq'],
      sa_str(m, RTAX_DST),
      sa_str(m, RTAX_GATEWAY),
    ]);
    const ifs = await c.socket(AF_INET, SOCK_DGRAM, 0);
    assert.equal(await c.ioctl(ifs, SIOCIFCREATE, ifreq('epair')), 0);
    assert.equal(
      await c.ioctl(
        ifs,
        SIOCAIFADDR,
        in_aliasreq('epair2a', ip('203.0.113.77'), ip('255.255.255.0')),
      ),
      0,
    );
    assert.equal(await c.ioctl(ifs, SIOCDIFADDR, ifreq('epair2a', ip('203.0.113.77'))), 0);
    assert.equal(await c.ioctl(ifs, SIOCIFDESTROY, ifreq('epair2a')), 0);
    out['b ifs'] = (await drain(c, b)).map((m) => {
      switch (m.type) {
        case RTM_NEWADDR:
        case RTM_DELADDR:
          return `${m.type === RTM_NEWADDR ? 'NEWADDR' : 'DELADDR'} ${sa_str(m, RTAX_IFA)} ${sa_str(m, RTAX_NETMASK)} ${sa_str(m, RTAX_IFP)}`;
        case RTM_ADD:
        case RTM_DELETE:
          return `${m.type === RTM_ADD ? 'ADD' : 'DELETE'} ${sa_str(m, RTAX_DST)}`;
        case RTM_IFINFO:
          return `IFINFO ${m.hdr['ifm_index']}`;
        case RTM_IFANNOUNCE:
          return `IFANNOUNCE ${m.ifname} ${m.hdr['ifan_what']}`;
        default:
          return `type ${m.type}`;
      }
    });
    // Without SO_USELOOPBACK the sender does not hear its own message; b still does.
    await drain(c, a);
    const off = new Uint8Array(4);
    assert.equal(await c.setsockopt(a, SOL_SOCKET, SO_USELOOPBACK, off), 0);
    await c.write(a, req(RTM_DELETE, ip('198.19.0.0'), 16, 0, 0, 78));
    out['a after loopback off'] = (await drain(c, a)).length;
    out['b delete'] = (await drain(c, b)).map((m) => [m.type, m.hdr['rtm_seq']]);
    return out;
  });
  const ifinfo = (r['b ifs'] as string[]).filter((s) => s.startsWith('IFINFO'));
  const rest = (r['b ifs'] as string[]).filter((s) => !s.startsWith('IFINFO'));
  assert.ok(ifinfo.length >= 1, 'the interface came up: RTM_IFINFO');
  assert.deepEqual(r['b add'], [[RTM_ADD, 77, '198.19.0.0', '192.0.2.6']]);
  assert.deepEqual(rest, [
    'IFANNOUNCE epair2a 0',
    'IFANNOUNCE epair2b 0',
    'NEWADDR 203.0.113.77 255.255.255.0 link#6 epair2a',
    'ADD 203.0.113.0',
    'ADD 203.0.113.77',
    'DELETE 203.0.113.0',
    'DELETE 203.0.113.77',
    'DELADDR 203.0.113.77 255.255.255.0 link#6 epair2a',
    'IFANNOUNCE epair2a 1',
    'IFANNOUNCE epair2b 1',
  ]);
  assert.equal(r['a after loopback off'], 0);
  assert.deepEqual(r['b delete'], [[RTM_DELETE, 78]]);
});

test('reads return one message each (MSG_TRUNC when short); a full buffer drops and counts', async () => {
  const k = bootVimage();
  await setup(k);
  const drops0 = k.enter(() => V_rts_drops.on(k.vnet0));
  const r = await runIn(k, async (c) => {
    const a = await c.socket(PF_ROUTE, SOCK_RAW, 0);
    const b = await c.socket(PF_ROUTE, SOCK_RAW, 0);
    const sz = new Uint8Array(4);
    new DataView(sz.buffer).setInt32(0, 1024, true);
    assert.equal(await c.setsockopt(b, SOL_SOCKET, SO_RCVBUF, sz), 0);
    for (let i = 0; i < 20; i++)
      await c.write(a, req(RTM_ADD, ip('198.18.20.0') + i * 256, 24, ip('192.0.2.20'), 0, 100 + i));
    const lens: number[] = [];
    const two = new Uint8Array(400);
    lens.push(await c.recv(a, two, two.length));
    const small = new Uint8Array(10);
    const flags: [number] = [0];
    void flags;
    lens.push(await c.recv(a, small, small.length));
    const rest = await drain(c, a);
    const got = await drain(c, b);
    return { lens, rest: rest.length, got: got.length, seq0: rest[0]?.hdr['rtm_seq'] };
  });
  assert.deepEqual(r.lens, [152 + 16 * 3 + 56 + 16, 10], 'dst, gateway, netmask, ifp, ifa');
  assert.equal(r.rest, 18, 'the truncated message is gone, the others remain');
  assert.equal(r.seq0, 102);
  assert.ok(r.got < 20 && r.got > 0, `b kept ${r.got} of 20`);
  const drops = k.enter(() => V_rts_drops.on(k.vnet0)) - drops0;
  assert.equal(drops, 20 - r.got, 'every dropped message counted');
  void MSG_TRUNC;
});

test('lpm: overlapping prefixes pick the longest (netinet/lpm)', async () => {
  const k = bootVimage();
  await setup(k);
  const routes: [string, number, string][] = [
    ['198.18.0.0', 15, '192.0.2.8'],
    ['198.19.0.0', 16, '198.18.0.16'],
    ['198.19.1.0', 24, '192.0.2.24'],
    ['198.19.1.128', 25, '198.18.0.25'],
    ['198.19.1.129', 32, '192.0.2.32'],
  ];
  const r = await runIn(k, async (c) => {
    const s = await c.socket(PF_ROUTE, SOCK_RAW, 0);
    let seq = 1;
    for (const [d, p, g] of routes)
      assert.equal((await rtreq(c, s, req(RTM_ADD, ip(d), p, ip(g), 0, seq++)))[0] > 0, true);
    const out: string[] = [];
    for (const q of [
      '198.18.3.4',
      '198.19.2.3',
      '198.19.1.1',
      '198.19.1.200',
      '198.19.1.129',
      '203.0.113.1',
    ]) {
      const m = rtsock_encode({
        type: RTM_GET,
        hdr: { rtm_seq: seq },
        addrs: [sa_inet(ip(q)), null, null, null, null, null, null, null],
      });
      const [w, a] = await rtreq(c, s, m);
      seq++;
      out.push(w < 0 ? `${q} ${-w}` : `${q} ${sa_str(a!, RTAX_GATEWAY)} ${sa_str(a!, RTAX_IFP)}`);
    }
    return out;
  });
  assert.deepEqual(r, [
    '198.18.3.4 192.0.2.8 link#2 epair0a',
    '198.19.2.3 198.18.0.16 link#4 epair1a',
    '198.19.1.1 192.0.2.24 link#2 epair0a',
    '198.19.1.200 198.18.0.25 link#4 epair1a',
    '198.19.1.129 192.0.2.32 link#2 epair0a',
    `203.0.113.1 ${ESRCH}`,
  ]);
  // rtalloc, what ip_output uses, agrees and counts packets.
  const g = k.enter(() =>
    with_vnet(k.vnet0, () => {
      const rt = rtalloc(ip('198.19.1.200'));
      rtalloc(ip('198.19.1.201'));
      return [rt?.rt_plen, rt?.rt_pksent, rtalloc(ip('203.0.113.1'))];
    }),
  );
  assert.deepEqual(g, [25, 2, null]);
});

test('ICMP redirect: a host route UP,GATEWAY,HOST,DYNAMIC,DONE that expires (netinet/redirect)', async () => {
  const k = bootVimage();
  await setup(k);
  const r = await runIn(k, async (c) => {
    const s = await c.socket(PF_ROUTE, SOCK_RAW, 0);
    assert.ok((await rtreq(c, s, req(RTM_ADD, 0, 0, ip('192.0.2.254'), 0, 1)))[0] > 0);
    return s;
  });
  const v0 = k.vnet0;
  const errs = k.enter(() =>
    with_vnet(v0, () => [
      rtredirect(
        ip('203.0.113.50'),
        ip('192.0.2.99'),
        ip('192.0.2.253'),
      ) /* not from the first hop */,
      rtredirect(
        ip('203.0.113.50'),
        ip('198.51.100.1'),
        ip('192.0.2.254'),
      ) /* gateway not connected */,
      rtredirect(ip('203.0.113.50'), ip('192.0.2.1'), ip('192.0.2.254')) /* our own address */,
      rtredirect(ip('203.0.113.50'), ip('198.18.0.7'), ip('192.0.2.254')) /* another interface */,
      rtredirect(ip('203.0.113.50'), ip('192.0.2.99'), ip('192.0.2.254')),
    ]),
  );
  assert.deepEqual(
    errs.slice(0, 4).map((e) => e !== 0),
    [true, true, true, true],
  );
  assert.equal(errs[4], 0);
  const timeout = k.enter(() => V_icmp_redirtimeout.on(v0));
  assert.equal(timeout, 600);
  await k.run_for(599);
  assert.ok(
    k.enter(() => with_vnet(v0, () => V_rib.get().get(ip('203.0.113.50'), 32).rt !== null)),
    'still there after 599 s',
  );
  // route get: the reply carries RTF_DONE; then the idle kernel reaches the expiry.
  const got = await runIn(k, async (c) => {
    const s = await c.socket(PF_ROUTE, SOCK_RAW, 0);
    const [w, a] = await rtreq(c, s, req(RTM_GET, ip('203.0.113.50'), 32, 0, 0, 5));
    return [
      w > 0,
      sa_str(a!, RTAX_GATEWAY),
      rt_flags_names(a!.hdr['rtm_flags']!),
      a!.hdr['rmx_expire']! > 0,
    ];
  });
  assert.deepEqual(got, [true, '192.0.2.99', 'UP,GATEWAY,HOST,DYNAMIC,DONE', true]);
  void r;
  await k.run_for(2);
  assert.equal(
    k.enter(() => with_vnet(v0, () => V_rib.get().get(ip('203.0.113.50'), 32).rt)),
    null,
    'expired after net.inet.icmp.redirtimeout',
  );
  void RTM_REDIRECT;
});

test('routing sockets are per vnet: a jail hears only its own vnet; redirtimeout is per vnet', async () => {
  const k = bootVimage();
  await setup(k);
  const r = k.enter(() => kern_jail_set(k, k.prison0, { name: 'rj', vnet: true, persist: true }));
  assert.equal(r.error, 0);
  const pr = r.pr!;
  const jv = pr.pr_vnet!;
  // A jail process opens a routing socket and waits; the host adds a route.
  let jailMsgs: RtsockMsg[] | null = null;
  proc_create(k, 'listener', { cr_uid: 0, cr_prison: pr }, async (td) => {
    const c = new Libc(k, td);
    const s = await c.socket(PF_ROUTE, SOCK_RAW, 0);
    const buf = new Uint8Array(2048);
    const n = await c.read(s, buf); /* blocks until its own vnet says something */
    jailMsgs = [rtsock_decode(buf.subarray(0, n)).msg!];
    return 0;
  });
  await k.run_until_idle();
  await runIn(k, async (c) => {
    const s = await c.socket(PF_ROUTE, SOCK_RAW, 0);
    assert.ok(
      (await rtreq(c, s, req(RTM_ADD, ip('198.18.0.0'), 16, ip('192.0.2.30'), 0, 1)))[0] > 0,
    );
    return 0;
  });
  assert.equal(jailMsgs, null, "the host's route is not the jail's business");
  await runIn(
    k,
    async (c) => {
      const s = await c.socket(PF_ROUTE, SOCK_RAW, 0);
      const [w] = await rtreq(c, s, req(RTM_ADD, ip('198.19.0.0'), 16, ip('192.0.2.30'), 0, 2));
      assert.equal(w, -ENETUNREACH, 'the jail has no connected network');
      return 0;
    },
    pr,
  );
  assert.ok(jailMsgs !== null);
  assert.equal((jailMsgs as RtsockMsg[])[0]!.hdr['rtm_errno'], ENETUNREACH);
  // net.inet.icmp.redirtimeout in the jail does not change the host's.
  const v = await runIn(
    k,
    async (c) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, 30, true);
      return c.sysctlbyname('net.inet.icmp.redirtimeout', null, null, b);
    },
    pr,
  );
  assert.equal(v, 0);
  assert.equal(
    k.enter(() => V_icmp_redirtimeout.on(jv)),
    30,
  );
  assert.equal(
    k.enter(() => V_icmp_redirtimeout.on(k.vnet0)),
    600,
  );
});

test('fuzz: mutated routing messages give an errno or succeed, never throw (seeded)', async () => {
  const k = bootVimage();
  await setup(k);
  let x = 0x9e3779b9;
  const rnd = (n: number): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  const seeds = [
    req(RTM_ADD, ip('198.19.0.0'), 16, ip('192.0.2.50')),
    req(RTM_DELETE, ip('198.19.0.0'), 16),
    req(RTM_GET, ip('198.19.1.1'), 32),
    req(RTM_CHANGE, ip('198.19.0.0'), 16, ip('198.18.0.50')),
  ];
  const errs = await runIn(k, async (c) => {
    const s = await c.socket(PF_ROUTE, SOCK_RAW, 0);
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const m = seeds[rnd(seeds.length)]!.slice();
      for (let j = rnd(4) + 1; j > 0; j--) m[rnd(m.length)] = rnd(256);
      if (rnd(4) === 0) m[0] = m.length & 0xff; /* keep msglen right more often */
      const w = await sys(c, c.write(s, m));
      seen.add(w < 0 ? -w : 0);
      await drain(c, s);
    }
    return [...seen].sort((a, b) => a - b);
  });
  for (const e of errs) assert.ok(e === 0 || e < 100, `errno ${e}`);
  assert.ok(errs.includes(EINVAL));
});

test('ddb: show routetable lists every vnet', async () => {
  const k = bootVimage();
  await setup(k);
  const { ddb } = await import('../../lib/ddb.js');
  const out = ddb(k, 'show routetable');
  assert.match(out, new RegExp(`vnet ${k.vnet0.vnet_id} \\(4 routes\\):`));
  assert.match(out, /192\.0\.2\.0\/24\s+link#2\s+U\s+epair0a/);
  assert.match(out, /192\.0\.2\.1\/32\s+link#2\s+UHS\s+lo0/);
});
