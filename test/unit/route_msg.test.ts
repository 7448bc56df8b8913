/*
 * test/unit/route_msg.test.ts — the routing socket ABI (src/net/route.ts): FreeBSD/amd64
 * layout sizes and offsets, encode/decode round trips with SA_SIZE padding, and errno
 * (never an exception) for malformed messages.
 */

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { EINVAL, EPROTONOSUPPORT } from '../../src/sys/errno.js';
import {
  IFAN_ARRIVAL,
  if_announcemsghdr,
  if_data,
  if_msghdr,
  if_msghdr_flat,
  ifa_msghdr,
  ifma_msghdr,
  rt_addrs,
  rt_metrics,
  rt_msghdr,
  rt_msghdr_flat,
  RTA_DST,
  RTA_GATEWAY,
  RTA_IFA,
  RTA_IFP,
  RTA_NETMASK,
  RTAX_DST,
  RTAX_GATEWAY,
  RTAX_IFA,
  RTAX_IFP,
  RTAX_NETMASK,
  RTF_DONE,
  RTF_GATEWAY,
  RTF_STATIC,
  RTF_UP,
  RTM_ADD,
  RTM_GET,
  RTM_IFANNOUNCE,
  RTM_IFINFO,
  RTM_NEWADDR,
  RTM_NEWMADDR,
  RTM_VERSION,
  RTV_MTU,
  SA_SIZE,
  sa_inet,
  sa_link,
  sa_mask,
  sockaddr_dl,
  rtsock_decode,
  rtsock_encode,
  rtsock_hdrlen,
  type RtsockMsg,
} from '../../src/net/route.js';
import { xorshift32 } from '../lib/rng.js';

function off(l: typeof rt_msghdr, f: string): number {
  const x = l.byName.get(f);
  assert.ok(x, `field ${f}`);
  return x.offset;
}

test('layout sizes are those of FreeBSD/amd64', () => {
  assert.equal(rt_metrics.size, 112);
  assert.equal(rt_msghdr.size, 152);
  assert.equal(rt_msghdr_flat.size, 152);
  assert.equal(if_data.size, 152);
  assert.equal(if_msghdr.size, 168);
  assert.equal(if_msghdr_flat.size, 168);
  assert.equal(ifa_msghdr.size, 20);
  assert.equal(ifma_msghdr.size, 16);
  assert.equal(if_announcemsghdr.size, 24);
  assert.equal(sockaddr_dl.size, 54);
  assert.equal(rtsock_hdrlen(RTM_ADD), 152);
  assert.equal(rtsock_hdrlen(RTM_NEWADDR), 20);
  assert.equal(rtsock_hdrlen(RTM_IFINFO), 168);
  assert.equal(rtsock_hdrlen(0x7f), 0);
});

test('rt_msghdr and rt_metrics offsets', () => {
  const want: [string, number][] = [
    ['rtm_msglen', 0],
    ['rtm_version', 2],
    ['rtm_type', 3],
    ['rtm_index', 4],
    ['_rtm_spare1', 6],
    ['rtm_flags', 8],
    ['rtm_addrs', 12],
    ['rtm_pid', 16],
    ['rtm_seq', 20],
    ['rtm_errno', 24],
    ['rtm_fmask', 28],
    ['rtm_inits', 32],
    ['rtm_rmx', 40],
  ];
  for (const [f, o] of want) assert.equal(off(rt_msghdr, f), o, f);
  const rmx: [string, number][] = [
    ['rmx_locks', 0],
    ['rmx_mtu', 8],
    ['rmx_hopcount', 16],
    ['rmx_expire', 24],
    ['rmx_recvpipe', 32],
    ['rmx_sendpipe', 40],
    ['rmx_ssthresh', 48],
    ['rmx_rtt', 56],
    ['rmx_rttvar', 64],
    ['rmx_pksent', 72],
    ['rmx_weight', 80],
    ['rmx_nhidx', 88],
    ['rmx_filler', 96],
  ];
  for (const [f, o] of rmx) {
    assert.equal(off(rt_metrics, f), o, f);
    /* The flattened header puts each metric at 40 + its offset in rt_metrics. */
    assert.equal(off(rt_msghdr_flat, f), 40 + o, `flat ${f}`);
  }
  /* The flat if_msghdr matches the nested one. */
  for (const f of if_data.fields) assert.equal(off(if_msghdr_flat, f.name), 16 + f.offset, f.name);
  assert.equal(off(if_data, 'ifi_mtu'), 8);
  assert.equal(off(if_data, 'ifi_baudrate'), 16);
  assert.equal(off(if_data, 'ifi_hwassist'), 120);
  assert.equal(off(if_data, 'ifi_epoch'), 128);
  assert.equal(off(if_data, 'ifi_lastchange_sec'), 136);
  assert.equal(off(ifa_msghdr, 'ifam_metric'), 16);
  assert.equal(off(if_announcemsghdr, 'ifan_name'), 6);
  assert.equal(off(if_announcemsghdr, 'ifan_what'), 22);
  assert.equal(off(sockaddr_dl, 'sdl_data'), 8);
});

test('SA_SIZE rounds to sizeof(long), 8 for an empty sockaddr', () => {
  assert.equal(SA_SIZE(0), 8);
  assert.equal(SA_SIZE(1), 8);
  assert.equal(SA_SIZE(8), 8);
  assert.equal(SA_SIZE(9), 16);
  assert.equal(SA_SIZE(16), 16);
  assert.equal(SA_SIZE(54), 56);
});

test('RTM_ADD round trip: header, metrics and sockaddrs (route add -net 198.19.0.0/16 198.51.100.1)', () => {
  const addrs = rt_addrs();
  addrs[RTAX_DST] = sa_inet(0xc6130000);
  addrs[RTAX_GATEWAY] = sa_inet(0xc6336401);
  addrs[RTAX_NETMASK] = sa_inet(0xffff0000);
  const msg: RtsockMsg = {
    type: RTM_ADD,
    hdr: {
      rtm_flags: RTF_UP | RTF_GATEWAY | RTF_STATIC,
      rtm_pid: 4242,
      rtm_seq: 7,
      rtm_inits: RTV_MTU,
      rmx_mtu: 1400,
      rtm_index: 3,
    },
    addrs,
  };
  const b = rtsock_encode(msg);
  assert.equal(b.length, 152 + 3 * 16);
  assert.equal(b[0]! | (b[1]! << 8), b.length);
  assert.equal(b[2], RTM_VERSION);
  assert.equal(b[3], RTM_ADD);
  const dv = new DataView(b.buffer);
  assert.equal(dv.getInt32(12, true), RTA_DST | RTA_GATEWAY | RTA_NETMASK);
  assert.equal(dv.getUint32(40 + 8, true), 1400, 'rmx_mtu at 48');
  /* The first sockaddr_in right after the header: len 16, AF_INET, address in network order. */
  assert.deepEqual([...b.subarray(152, 160)], [16, 2, 0, 0, 198, 19, 0, 0]);
  assert.deepEqual([...b.subarray(168, 176)], [16, 2, 0, 0, 198, 51, 100, 1]);

  const d = rtsock_decode(b);
  assert.equal(d.error, 0);
  assert.equal(d.len, b.length);
  const m = d.msg!;
  assert.equal(m.type, RTM_ADD);
  assert.equal(m.hdr['rtm_flags'], RTF_UP | RTF_GATEWAY | RTF_STATIC);
  assert.equal(m.hdr['rtm_pid'], 4242);
  assert.equal(m.hdr['rtm_seq'], 7);
  assert.equal(m.hdr['rmx_mtu'], 1400);
  assert.equal(m.hdr['rtm_index'], 3);
  assert.equal(m.hdr['rtm_addrs'], RTA_DST | RTA_GATEWAY | RTA_NETMASK);
  assert.deepEqual(m.addrs[RTAX_DST], sa_inet(0xc6130000));
  assert.deepEqual(m.addrs[RTAX_GATEWAY], sa_inet(0xc6336401));
  assert.equal(sa_mask(m.addrs[RTAX_NETMASK] ?? null), 0xffff0000);
  assert.equal(m.addrs[RTAX_IFP], null);
  /* Encoding the decoded message gives the same bytes. */
  assert.deepEqual(rtsock_encode(m), b);
});

test('RTM_GET reply with a sockaddr_dl gateway and RTA_IFP (SA_SIZE padding of 54 to 56)', () => {
  const addrs = rt_addrs();
  addrs[RTAX_DST] = sa_inet(0xc0000201);
  addrs[RTAX_GATEWAY] = sa_link(2);
  addrs[RTAX_IFP] = sa_link(1, 6, 'em0', new Uint8Array([0, 0x0c, 0x29, 1, 2, 3]));
  addrs[RTAX_IFA] = sa_inet(0xc0000202);
  const b = rtsock_encode({ type: RTM_GET, hdr: { rtm_flags: RTF_UP | RTF_DONE }, addrs });
  assert.equal(b.length, 152 + 16 + 56 + 56 + 16);
  /* The link gateway: sdl_len 54, AF_LINK, sdl_index 2, nothing else. */
  assert.deepEqual([...b.subarray(168, 176)], [54, 18, 2, 0, 0, 0, 0, 0]);
  /* The ifp: em0 with its MAC. */
  assert.deepEqual([...b.subarray(224, 232)], [54, 18, 1, 0, 6, 3, 6, 0]);
  assert.equal(new TextDecoder().decode(b.subarray(232, 235)), 'em0');
  const d = rtsock_decode(b);
  assert.equal(d.error, 0);
  const ifp = d.msg!.addrs[RTAX_IFP];
  assert.ok(ifp?.kind === 'link');
  assert.equal(ifp.name, 'em0');
  assert.equal(ifp.index, 1);
  assert.equal(ifp.type, 6);
  assert.deepEqual([...ifp.lladdr], [0, 0x0c, 0x29, 1, 2, 3]);
  assert.deepEqual(d.msg!.addrs[RTAX_IFA], sa_inet(0xc0000202));
  assert.equal(d.msg!.hdr['rtm_addrs'], RTA_DST | RTA_GATEWAY | RTA_IFP | RTA_IFA);
  assert.deepEqual(rtsock_encode(d.msg!), b);
});

test('RTM_NEWADDR, RTM_IFINFO, RTM_NEWMADDR and RTM_IFANNOUNCE round trips', () => {
  const a = rt_addrs();
  a[RTAX_IFA] = sa_inet(0xc6336402);
  a[RTAX_NETMASK] = sa_inet(0xffffff00);
  a[RTAX_IFP] = sa_link(1, 6, 'em0');
  const na = rtsock_encode({
    type: RTM_NEWADDR,
    hdr: { ifam_index: 1, ifam_flags: 0, ifam_metric: 0 },
    addrs: a,
  });
  assert.equal(na.length, 20 + 16 + 56 + 16);
  const nd = rtsock_decode(na);
  assert.equal(nd.error, 0);
  assert.equal(nd.msg!.hdr['ifam_index'], 1);
  assert.deepEqual(rtsock_encode(nd.msg!), na);

  const ii = rtsock_encode({
    type: RTM_IFINFO,
    hdr: { ifm_index: 2, ifm_flags: 0x8843, ifi_mtu: 1500, ifi_type: 6, ifi_ipackets: 2 ** 40 },
    addrs: rt_addrs(),
  });
  assert.equal(ii.length, 168);
  const id = rtsock_decode(ii);
  assert.equal(id.error, 0);
  assert.equal(id.msg!.hdr['ifi_mtu'], 1500);
  assert.equal(id.msg!.hdr['ifi_ipackets'], 2 ** 40);
  assert.equal(id.msg!.hdr['ifm_flags'], 0x8843);

  const ma = rt_addrs();
  ma[RTAX_IFA] = sa_inet(0xe0000001);
  const mm = rtsock_encode({ type: RTM_NEWMADDR, hdr: { ifmam_index: 1 }, addrs: ma });
  assert.equal(mm.length, 16 + 16);
  assert.equal(rtsock_decode(mm).error, 0);

  const an = rtsock_encode({
    type: RTM_IFANNOUNCE,
    hdr: { ifan_index: 5, ifan_what: IFAN_ARRIVAL },
    addrs: rt_addrs(),
    ifname: 'epair0a',
  });
  assert.equal(an.length, 24);
  const ad = rtsock_decode(an);
  assert.equal(ad.error, 0);
  assert.equal(ad.msg!.ifname, 'epair0a');
  assert.equal(ad.msg!.hdr['ifan_index'], 5);
  assert.deepEqual(rtsock_encode(ad.msg!), an);
});

test('short and empty netmasks (the radix-trimmed form) decode as AF_INET masks', () => {
  const a = rt_addrs();
  a[RTAX_DST] = sa_inet(0);
  a[RTAX_GATEWAY] = sa_inet(0xc0000201);
  const b = rtsock_encode({ type: RTM_ADD, hdr: {}, addrs: a });
  /* Append a netmask of sa_len 6, family 0: 255.255.0.0 trimmed. */
  const ext = new Uint8Array(b.length + 8);
  ext.set(b);
  ext.set([6, 0, 0, 0, 255, 255], b.length);
  ext[0] = ext.length & 0xff;
  ext[1] = ext.length >> 8;
  ext[12] = RTA_DST | RTA_GATEWAY | RTA_NETMASK;
  const d = rtsock_decode(ext);
  assert.equal(d.error, 0);
  assert.equal(sa_mask(d.msg!.addrs[RTAX_NETMASK] ?? null), 0xffff0000);
  /* A zero-length netmask (the default route's) is an empty mask, 8 bytes long. */
  ext.fill(0, b.length);
  const d0 = rtsock_decode(ext);
  assert.equal(d0.error, 0);
  assert.equal(sa_mask(d0.msg!.addrs[RTAX_NETMASK] ?? null), 0);
});

test('malformed messages give an errno, never an exception', () => {
  const a = rt_addrs();
  a[RTAX_DST] = sa_inet(0xc6120000);
  a[RTAX_GATEWAY] = sa_link(1, 6, 'em0', new Uint8Array(6));
  const good = rtsock_encode({ type: RTM_ADD, hdr: {}, addrs: a });
  assert.equal(rtsock_decode(good).error, 0);

  const cases: [string, Uint8Array, number][] = [];
  cases.push(['empty', new Uint8Array(0), EINVAL]);
  cases.push(['three bytes', good.slice(0, 3), EINVAL]);
  cases.push(['truncated buffer (msglen > buffer)', good.slice(0, 100), EINVAL]);
  {
    const v = good.slice();
    v[2] = 4;
    cases.push(['wrong version', v, EPROTONOSUPPORT]);
  }
  {
    const v = good.slice();
    v[3] = 0x7f;
    cases.push(['unknown type', v, EINVAL]);
  }
  {
    const v = good.slice();
    v[0] = 100;
    v[1] = 0;
    cases.push(['msglen shorter than rt_msghdr', v, EINVAL]);
  }
  {
    /* msglen cuts the second sockaddr in half: sa_len runs past the message. */
    const v = good.slice();
    const ml = 152 + 16 + 20;
    v[0] = ml;
    v[1] = 0;
    cases.push(['sockaddr overruns msglen', v, EINVAL]);
  }
  {
    const v = good.slice();
    v[152 + 16 + 5] = 200; /* sdl_nlen */
    cases.push(['sockaddr_dl name overruns sdl_len', v, EINVAL]);
  }
  {
    const v = good.slice();
    v[152 + 16] = 6; /* sdl_len shorter than the fixed part */
    cases.push(['sockaddr_dl shorter than 8', v, EINVAL]);
  }
  for (const [what, buf, e] of cases) {
    const d = rtsock_decode(buf);
    assert.equal(d.error, e, what);
    assert.equal(d.msg, null, what);
  }
});

test('decoding random and mutated bytes never throws', () => {
  const rnd = xorshift32(12345);
  const a = rt_addrs();
  a[RTAX_DST] = sa_inet(0xc6120000);
  a[RTAX_GATEWAY] = sa_link(1, 6, 'em0', new Uint8Array(6));
  a[RTAX_NETMASK] = sa_inet(0xff000000);
  const good = rtsock_encode({ type: RTM_ADD, hdr: {}, addrs: a });
  let ok = 0;
  for (let i = 0; i < 20000; i++) {
    const v = good.slice(0, good.length - (rnd() % 8 === 0 ? rnd() % good.length : 0));
    const flips = 1 + (rnd() % 4);
    for (let f = 0; f < flips && v.length > 0; f++) {
      /* Mostly the interesting bytes: the length, version, type, addrs and sockaddr heads. */
      const pos =
        rnd() % 2 === 0 ? [0, 1, 2, 3, 12, 152, 168, 173, 174][rnd() % 9]! : rnd() % v.length;
      if (pos < v.length) v[pos] = rnd() & 0xff;
    }
    const d = rtsock_decode(v);
    if (d.error === 0) {
      ok++;
      assert.ok(d.len <= v.length);
    } else assert.ok(d.error === EINVAL || d.error === EPROTONOSUPPORT);
  }
  assert.ok(ok > 0);
});
