/*
 * test/unit/radix.test.ts — the LPM table (src/net/route/radix.ts) and the RIB
 * (src/net/route/route_var.ts).
 *
 * Longest-prefix match is checked against a brute-force reference (scan every prefix,
 * keep the longest that contains the address) on seeded random tables of thousands of
 * prefixes, before and after random deletions and re-additions; plus the edges (/0,
 * /32, default route, host routes), walk order, and the RIB's errno contract.
 */

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { EEXIST, EINVAL, ENETUNREACH, ESRCH } from '../../src/sys/errno.js';
import {
  RTF_BLACKHOLE,
  RTF_DONE,
  RTF_DYNAMIC,
  RTF_FIXEDMTU,
  RTF_GATEWAY,
  RTF_HOST,
  RTF_LLINFO,
  RTF_LOCAL,
  RTF_REJECT,
  RTF_STATIC,
  RTF_UP,
} from '../../src/net/route.js';
import { mask2plen, plen2mask, RadixTable } from '../../src/net/route/radix.js';
import {
  gw_inet,
  gw_link,
  Rib,
  rt_flags_letters,
  rt_flags_names,
} from '../../src/net/route/route_var.js';
import { xorshift32 } from '../lib/rng.js';

function ip(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

interface Ref {
  dst: number;
  plen: number;
  id: number;
}

/** Brute-force longest match. */
function refLookup(routes: Map<string, Ref>, addr: number): number | undefined {
  let best: Ref | undefined;
  for (const r of routes.values()) {
    if (((addr ^ r.dst) & plen2mask(r.plen)) >>> 0 !== 0) continue;
    if (best === undefined || r.plen > best.plen) best = r;
  }
  return best?.id;
}

const keyOf = (d: number, l: number): string => `${d}/${l}`;

/** A random prefix length with a routing-table-like mix (lots of /24, some /32). */
function randPlen(rnd: () => number): number {
  const r = rnd() % 100;
  if (r < 50) return 24;
  if (r < 60) return 32;
  if (r < 63) return rnd() % 8; /* short, overlapping a lot */
  return 8 + (rnd() % 25);
}

test('plen2mask and mask2plen', () => {
  assert.equal(plen2mask(0), 0);
  assert.equal(plen2mask(8), 0xff000000);
  assert.equal(plen2mask(32), 0xffffffff);
  for (let l = 0; l <= 32; l++) assert.equal(mask2plen(plen2mask(l)), l);
  assert.equal(mask2plen(0xff00ff00), -1);
  assert.equal(mask2plen(0x00ffffff), -1);
  assert.equal(mask2plen(1), -1);
});

/* blkOn: 1 = the /16 block index from the first route, Infinity = never, 2000 = crossing. */
for (const blkOn of [Infinity, 1, 2000]) {
  test(`longest-prefix match agrees with brute force on random tables (block index at ${blkOn})`, () => {
    for (const seed of [1, 2, 0xdeadbeef]) {
      const rnd = xorshift32(seed);
      const t = new RadixTable<number>(64, blkOn);
      const ref = new Map<string, Ref>();
      let id = 0;
      /* Cluster destinations in a few documentation/benchmark ranges so prefixes nest
       * and collide: [base, host bits]. */
      const bases: [number, number][] = [
        [ip('198.18.0.0'), 0x1ffff],
        [ip('198.51.100.0'), 0xff],
        [ip('203.0.113.0'), 0xff],
        [ip('192.0.2.0'), 0xff],
      ];
      for (let i = 0; i < 3000; i++) {
        const plen = randPlen(rnd);
        const [base, host] = bases[rnd() % bases.length]!;
        const dst = ((base | (rnd() & host)) & plen2mask(plen)) >>> 0;
        const k = keyOf(dst, plen);
        const added = t.insert(dst, plen, id);
        assert.equal(added, !ref.has(k));
        if (added) ref.set(k, { dst, plen, id });
        id++;
      }
      assert.equal(t.size, ref.size);
      const probe = (n: number): void => {
        const refs = [...ref.values()];
        for (let i = 0; i < n; i++) {
          /* Half inside known prefixes, half anywhere. */
          const r = refs[rnd() % refs.length];
          const addr =
            i % 2 === 0 && r !== undefined ? (r.dst | (rnd() & ~plen2mask(r.plen))) >>> 0 : rnd();
          assert.equal(t.lookup(addr), refLookup(ref, addr), `addr ${addr.toString(16)}`);
        }
      };
      probe(2000);
      /* Delete a random half, check, re-add some, check. */
      const all = [...ref.values()];
      const deleted: Ref[] = [];
      for (const r of all) {
        if (rnd() % 2 === 0) {
          assert.equal(t.delete(r.dst, r.plen), r.id);
          assert.equal(t.delete(r.dst, r.plen), undefined);
          ref.delete(keyOf(r.dst, r.plen));
          deleted.push(r);
        }
      }
      assert.equal(t.size, ref.size);
      probe(2000);
      for (const r of deleted.slice(0, deleted.length >> 1)) {
        assert.equal(t.insert(r.dst, r.plen, r.id + 1_000_000), true);
        ref.set(keyOf(r.dst, r.plen), { ...r, id: r.id + 1_000_000 });
      }
      assert.equal(t.size, ref.size);
      probe(2000);
      /* Exact lookups. */
      for (const r of ref.values()) assert.equal(t.get(r.dst, r.plen), r.id);
      for (const r of deleted.slice(deleted.length >> 1))
        assert.equal(t.get(r.dst, r.plen), undefined);
      /* Glue nodes never exceed routes - 1. */
      assert.ok(t.nodes <= 2 * t.size);
      if (blkOn === 1) assert.ok(t.indexed);
      if (blkOn === Infinity) assert.ok(!t.indexed);
    }
  });
}

test('the block index is built past the threshold and dropped below half of it', () => {
  const rnd = xorshift32(3);
  const t = new RadixTable<number>(64, 1000);
  const ref = new Map<string, Ref>();
  t.insert(0, 0, -1);
  ref.set(keyOf(0, 0), { dst: 0, plen: 0, id: -1 });
  let id = 0;
  while (t.size < 1500) {
    const plen = randPlen(rnd);
    const dst = (rnd() & plen2mask(plen)) >>> 0;
    if (t.insert(dst, plen, id)) ref.set(keyOf(dst, plen), { dst, plen, id });
    id++;
  }
  assert.ok(t.indexed);
  const check = (): void => {
    const refs = [...ref.values()];
    for (let i = 0; i < 1500; i++) {
      const r = refs[rnd() % refs.length]!;
      const a = i % 3 === 0 ? rnd() : (r.dst | (rnd() & ~plen2mask(r.plen))) >>> 0;
      assert.equal(t.lookup(a), refLookup(ref, a));
    }
  };
  check();
  /* The default route sits at the top: deleting and re-adding it refreshes every block. */
  assert.equal(t.delete(0, 0), -1);
  ref.delete(keyOf(0, 0));
  check();
  assert.ok(t.insert(0, 0, -2));
  ref.set(keyOf(0, 0), { dst: 0, plen: 0, id: -2 });
  check();
  for (const r of [...ref.values()]) {
    if (t.size <= 400) break;
    if (r.plen === 0) continue;
    assert.equal(t.delete(r.dst, r.plen), r.id);
    ref.delete(keyOf(r.dst, r.plen));
  }
  assert.ok(!t.indexed);
  check();
});

test('deleting everything leaves an empty table and frees every node', () => {
  const rnd = xorshift32(7);
  const t = new RadixTable<number>();
  const keys: [number, number][] = [];
  for (let i = 0; i < 5000; i++) {
    const plen = randPlen(rnd);
    const dst = (rnd() & plen2mask(plen)) >>> 0;
    if (t.insert(dst, plen, i)) keys.push([dst, plen]);
  }
  for (let i = keys.length - 1; i > 0; i--) {
    const j = rnd() % (i + 1);
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  for (const [d, l] of keys) assert.notEqual(t.delete(d, l), undefined);
  assert.equal(t.size, 0);
  assert.equal(t.nodes, 0);
  assert.equal(t.lookup(0xc6120001), undefined);
  assert.deepEqual(t.entries(), []);
  /* And it works again after being emptied. */
  assert.ok(t.insert(ip('198.18.0.0'), 15, 1));
  assert.equal(t.lookup(ip('198.19.2.3')), 1);
});

test('default route, host routes, /0 and /32 edges', () => {
  const t = new RadixTable<string>();
  assert.equal(t.lookup(0), undefined);
  assert.ok(t.insert(0, 0, 'default'));
  assert.equal(t.insert(ip('192.0.2.4'), 0, 'x'), false, '/0 masks the destination to 0');
  assert.equal(t.lookup(0), 'default');
  assert.equal(t.lookup(0xffffffff), 'default');
  assert.ok(t.insert(ip('255.255.255.255'), 32, 'bcast'));
  assert.ok(t.insert(ip('0.0.0.0'), 32, 'zero'));
  assert.ok(t.insert(ip('198.18.0.1'), 32, 'host'));
  assert.ok(t.insert(ip('198.18.0.0'), 24, 'net24'));
  assert.ok(t.insert(ip('198.18.0.0'), 15, 'net8'));
  assert.ok(t.insert(ip('128.0.0.0'), 1, 'half'));
  assert.equal(t.lookup(0xffffffff), 'bcast');
  assert.equal(t.lookup(0xfffffffe), 'half');
  assert.equal(t.lookup(0), 'zero');
  assert.equal(t.lookup(1), 'default');
  assert.equal(t.lookup(ip('198.18.0.1')), 'host');
  assert.equal(t.lookup(ip('198.18.0.2')), 'net24');
  assert.equal(t.lookup(ip('198.19.1.2')), 'net8');
  assert.equal(t.lookup(ip('127.0.0.2')), 'default');
  /* Host bits in the destination are masked off. */
  assert.equal(t.get(ip('198.18.0.77'), 24), 'net24');
  assert.equal(t.delete(ip('198.18.0.1'), 32), 'host');
  assert.equal(t.lookup(ip('198.18.0.1')), 'net24');
  assert.ok(t.insert(ip('198.18.0.1'), 32, 'host2'));
  assert.equal(t.lookup(ip('198.18.0.1')), 'host2');
  assert.equal(t.delete(0, 0), 'default');
  assert.equal(t.lookup(ip('127.0.0.2')), undefined);
  assert.equal(t.lookup(ip('203.0.113.200')), 'half');
  assert.throws(() => t.insert(0, 33, 'bad'), RangeError);
  assert.equal(t.get(0, 33), undefined);
  assert.equal(t.delete(0, -1), undefined);
});

test('walk order: ascending destination, more specific first for one destination', () => {
  const t = new RadixTable<string>();
  const add = (s: string, l: number): void => {
    assert.ok(t.insert(ip(s), l, `${s}/${l}`));
  };
  add('198.51.100.0', 24);
  add('198.18.0.0', 15);
  add('0.0.0.0', 0);
  add('198.18.0.0', 24);
  add('127.0.0.1', 32);
  add('198.18.0.1', 32);
  add('198.51.100.10', 32);
  add('198.18.0.0', 16);
  add('203.0.113.0', 24);
  assert.deepEqual(
    t.entries().map((e) => e[2]),
    [
      '0.0.0.0/0',
      '127.0.0.1/32',
      '198.18.0.0/24',
      '198.18.0.0/16',
      '198.18.0.0/15',
      '198.18.0.1/32',
      '198.51.100.0/24',
      '198.51.100.10/32',
      '203.0.113.0/24',
    ],
  );
  /* Stopping early. */
  const seen: string[] = [];
  t.walk((_d, _l, v) => {
    seen.push(v);
    return seen.length === 3;
  });
  assert.equal(seen.length, 3);
});

test('walk order on a random table is sorted (dst asc, plen desc)', () => {
  const rnd = xorshift32(99);
  const t = new RadixTable<number>();
  for (let i = 0; i < 4000; i++) {
    const plen = randPlen(rnd);
    t.insert((rnd() & 0xf0ffffff & plen2mask(plen)) >>> 0, plen, i);
  }
  const e = t.entries();
  assert.equal(e.length, t.size);
  for (let i = 1; i < e.length; i++) {
    const [d0, l0] = e[i - 1]!;
    const [d1, l1] = e[i]!;
    assert.ok(d0 < d1 || (d0 === d1 && l0 > l1), `order at ${i}`);
  }
});

/* ------------------------------------------------------------------------------ */
/* Rib */

const em0 = { if_index: 1, if_xname: 'em0' };
const lo0 = { if_index: 2, if_xname: 'lo0' };

test('Rib add/get/delete with FreeBSD errno values', () => {
  const rib = new Rib();
  const r = rib.add({
    dst: ip('198.19.0.0'),
    plen: 16,
    gateway: gw_inet(ip('198.51.100.1')),
    flags: RTF_GATEWAY | RTF_STATIC,
    ifp: em0,
  });
  assert.equal(r.error, 0);
  assert.equal(r.rt?.rt_flags, RTF_UP | RTF_GATEWAY | RTF_STATIC);
  assert.equal(r.rt?.rt_netmask, 0xffff0000);
  assert.equal(rib.rnh_gen, 1);
  assert.equal(rib.add({ dst: ip('198.19.2.3'), plen: 16, gateway: gw_inet(1) }).error, EEXIST);
  assert.equal(rib.rnh_gen, 1, 'a failed add does not bump the generation');
  assert.equal(rib.add({ dst: 0, plen: 33, gateway: gw_inet(1) }).error, EINVAL);
  assert.equal(
    rib.add({ dst: 0, plen: 8, gateway: gw_link(1), flags: RTF_GATEWAY }).error,
    EINVAL,
    'RTF_GATEWAY needs an address gateway',
  );
  assert.equal(rib.add({ dst: 0, plen: 8, gateway: gw_inet(1), weight: 0 }).error, EINVAL);

  /* Host route: RTF_HOST follows the prefix length. */
  const h = rib.add({ dst: ip('198.19.2.3'), plen: 32, gateway: gw_link(2), ifp: lo0 });
  assert.equal(h.rt?.rt_flags, RTF_UP | RTF_HOST);
  const n = rib.add({ dst: ip('198.18.0.0'), plen: 16, gateway: gw_link(1), flags: RTF_HOST });
  assert.equal(n.rt?.rt_flags, RTF_UP, 'RTF_HOST on a network route is dropped');

  assert.equal(rib.get(ip('198.19.0.0'), 16).rt, r.rt);
  assert.equal(rib.get(ip('198.19.0.0'), 24).error, ESRCH);
  assert.equal(rib.get(ip('198.19.99.1')).rt, r.rt, 'get without plen is longest match');
  assert.equal(rib.get(ip('198.19.2.3')).rt, h.rt);
  assert.equal(rib.get(ip('203.0.113.0')).error, ESRCH);
  assert.equal(rib.rtalloc(ip('203.0.113.0')).error, ENETUNREACH);
  assert.equal(rib.lookup(ip('203.0.113.0')), null);

  const d = rib.add({
    dst: 0,
    plen: 0,
    gateway: gw_inet(ip('198.51.100.254')),
    flags: RTF_GATEWAY,
  });
  assert.equal(d.error, 0);
  assert.equal(rib.rtalloc(ip('203.0.113.0')).rt, d.rt);

  /* Delete: gateway must match when given. */
  assert.equal(rib.delete(ip('198.19.0.0'), 16, gw_inet(ip('198.51.100.2'))).error, ESRCH);
  const gen = rib.rnh_gen;
  assert.equal(rib.delete(ip('198.19.0.0'), 16, gw_inet(ip('198.51.100.1'))).rt, r.rt);
  assert.equal(rib.rnh_gen, gen + 1);
  assert.equal(rib.delete(ip('198.19.0.0'), 16).error, ESRCH);
  assert.equal(rib.lookup(ip('198.19.99.1')), d.rt);
  assert.equal(rib.delete(0, 99).error, EINVAL);
  /* Re-add after delete. */
  assert.equal(rib.add({ dst: ip('198.19.0.0'), plen: 16, gateway: gw_inet(5) }).error, 0);
  assert.equal(rib.size, 4);
});

test('Rib change: gateway, flags through fmask, MTU', () => {
  const rib = new Rib();
  rib.add({
    dst: ip('198.18.0.0'),
    plen: 15,
    gateway: gw_inet(ip('192.0.2.1')),
    flags: RTF_GATEWAY | RTF_STATIC,
  });
  assert.equal(rib.change(ip('203.0.113.0'), 8, { mtu: 1400 }).error, ESRCH);
  const gen = rib.rnh_gen;
  const c = rib.change(ip('198.18.0.0'), 15, {
    gateway: gw_inet(ip('192.0.2.2')),
    flags: RTF_GATEWAY | RTF_BLACKHOLE | RTF_LOCAL,
    fmask: RTF_BLACKHOLE | RTF_STATIC | RTF_LOCAL,
    mtu: 1400,
  });
  assert.equal(c.error, 0);
  assert.equal(rib.rnh_gen, gen + 1);
  assert.deepEqual(c.rt?.rt_gateway, gw_inet(ip('192.0.2.2')));
  /* STATIC cleared and BLACKHOLE set through fmask; LOCAL is not in RTF_FMASK. */
  assert.equal(c.rt?.rt_flags, RTF_UP | RTF_GATEWAY | RTF_BLACKHOLE | RTF_FIXEDMTU);
  assert.equal(c.rt?.rt_mtu, 1400);
  /* A link gateway without flags clears RTF_GATEWAY. */
  const l = rib.change(ip('198.18.0.0'), 15, { gateway: gw_link(3), ifp: em0, mtu: 0 });
  assert.equal(l.rt?.rt_flags, RTF_UP | RTF_BLACKHOLE);
  assert.equal(l.rt?.rt_ifp, em0);
  assert.equal(
    rib.change(ip('198.18.0.0'), 15, { gateway: gw_link(3), flags: RTF_GATEWAY }).error,
    EINVAL,
  );
});

test('Rib walk, entries and deleteIf (interface detach)', () => {
  const rib = new Rib();
  rib.add({ dst: ip('198.51.100.0'), plen: 24, gateway: gw_link(1), ifp: em0 });
  rib.add({ dst: ip('127.0.0.1'), plen: 32, gateway: gw_link(2), ifp: lo0 });
  rib.add({ dst: 0, plen: 0, gateway: gw_inet(ip('198.51.100.1')), flags: RTF_GATEWAY, ifp: em0 });
  assert.deepEqual(
    rib.entries().map((rt) => [rt.rt_dst, rt.rt_plen]),
    [
      [0, 0],
      [ip('127.0.0.1'), 32],
      [ip('198.51.100.0'), 24],
    ],
  );
  const gen = rib.rnh_gen;
  assert.equal(
    rib.deleteIf((rt) => rt.rt_ifp === em0),
    2,
  );
  assert.equal(rib.rnh_gen, gen + 1);
  assert.equal(rib.size, 1);
  assert.equal(
    rib.deleteIf(() => false),
    0,
  );
  assert.equal(rib.rnh_gen, gen + 1);
});

test('two Ribs (two vnets) are independent', () => {
  const a = new Rib();
  const b = new Rib();
  a.add({ dst: 0, plen: 0, gateway: gw_inet(1), flags: RTF_GATEWAY });
  assert.notEqual(a.lookup(ip('203.0.113.8')), null);
  assert.equal(b.lookup(ip('203.0.113.8')), null);
  assert.equal(b.rnh_gen, 0);
});

test('flag spellings: netstat letters and route(8) names', () => {
  assert.equal(rt_flags_letters(RTF_UP | RTF_GATEWAY | RTF_HOST | RTF_STATIC), 'UGHS');
  assert.equal(rt_flags_letters(RTF_UP | RTF_GATEWAY | RTF_HOST | RTF_DYNAMIC | RTF_DONE), 'UGHDd');
  assert.equal(rt_flags_letters(RTF_UP | RTF_REJECT | RTF_BLACKHOLE | RTF_LLINFO), 'URBL');
  assert.equal(rt_flags_letters(RTF_UP | RTF_HOST | RTF_LOCAL | RTF_FIXEDMTU), 'UH');
  assert.equal(
    rt_flags_names(RTF_UP | RTF_GATEWAY | RTF_HOST | RTF_DYNAMIC | RTF_DONE),
    'UP,GATEWAY,HOST,DYNAMIC,DONE',
  );
  assert.equal(rt_flags_names(RTF_UP | RTF_HOST | RTF_LOCAL | RTF_STATIC), 'UP,HOST,STATIC,LOCAL');
});
