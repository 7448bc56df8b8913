// Ethernet input/output over an epair: frames cross from one stack to the other
// (two vnets under GENERIC, one under NOVIMAGE) with the counters FreeBSD keeps; runts
// and unknown ethertypes are dropped and counted; broadcast/multicast flags; frames for
// another station never reach the protocols; epair link impairments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../../lib/kernel.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import { kern_jail_set } from '../../../src/kern/kern_jail.js';
import { if_clone_create } from '../../../src/net/if_clone.js';
import { ifunit, if_up, if_down, if_vmove } from '../../../src/net/if.js';
import { curvnet, with_vnet, type Vnet } from '../../../src/net/vnet.js';
import {
  AF_INET,
  AF_UNSPEC,
  IFCOUNTER_IBYTES,
  IFCOUNTER_IERRORS,
  IFCOUNTER_IMCASTS,
  IFCOUNTER_IPACKETS,
  IFCOUNTER_NOPROTO,
  IFCOUNTER_OBYTES,
  IFCOUNTER_OERRORS,
  IFCOUNTER_OPACKETS,
  if_get_counter,
  type Ifnet,
} from '../../../src/net/if_var.js';
import { ETHER_BCAST, ETHERTYPE_ARP, type ether_addr_t } from '../../../src/net/ethernet.js';
import { NETISR_ARP, NETISR_IP, netisr_register } from '../../../src/net/netisr.js';
import { ether_resolver_register, type EtherResolve } from '../../../src/net/if_ethersubr.js';
import type { in_addr_t } from '../../../src/netinet/in.js';
import { M_BCAST, M_MCAST, mtod, m_freem, type Mbuf } from '../../../src/sys/mbuf.js';
import { epair_set_impairment, epair_softc } from '../../../src/net/if_epair.js';
import { EHOSTUNREACH, ENETDOWN } from '../../../src/sys/errno.js';

interface Rx {
  ifname: string;
  vnet: Vnet | null;
  flags: number;
  data: Uint8Array;
}

interface Lab {
  k: Kernel;
  a: Ifnet;
  b: Ifnet;
  va: Vnet;
  vb: Vnet;
  rx: Rx[];
}

function lab(): Lab {
  const k = bootTest();
  const rx: Rx[] = [];
  netisr_register(k, {
    nh_name: 'arp',
    nh_proto: NETISR_ARP,
    nh_qlimit: 256,
    nh_handler: (m: Mbuf) => {
      rx.push({
        ifname: m.rcvif!.if_xname,
        vnet: curvnet(),
        flags: m.m_flags,
        data: mtod(m).slice(),
      });
      m_freem(m);
    },
  });
  const va = k.vnet0;
  let vb = va;
  if (k.vimage) {
    const j = k.enter(() => kern_jail_set(k, k.prison0, { name: 'b', vnet: true, persist: true }));
    vb = j.pr!.pr_vnet!;
  }
  const { a, b } = k.enter(() =>
    with_vnet(va, () => {
      if_clone_create('epair', null);
      const a = ifunit('epair0a')!;
      const b = ifunit('epair0b')!;
      if (vb !== va) if_vmove(b, vb);
      if_up(a);
      if_up(b);
      return { a, b };
    }),
  );
  return { k, a, b, va, vb, rx };
}

function send(l: Lab, ifp: Ifnet, dhost: number, type: number, payload: Uint8Array): number {
  return l.k.enter(() =>
    with_vnet(ifp.if_vnet!, () => {
      const m = l.k.mbpool.m_gethdr(payload.length)!;
      mtod(m).set(payload);
      return ifp.if_output(
        ifp,
        m,
        { sa_family: AF_UNSPEC, ether_dhost: dhost as ether_addr_t, ether_type: type },
        null,
      );
    }),
  );
}

function inject(l: Lab, ifp: Ifnet, frame: Uint8Array): void {
  l.k.enter(() =>
    with_vnet(ifp.if_vnet!, () => {
      const m = l.k.mbpool.m_devget(frame)!;
      ifp.if_input(ifp, m);
    }),
  );
}

function ctr(l: Lab, ifp: Ifnet, c: number): number {
  return l.k.enter(() => if_get_counter(ifp, c));
}

test('a unicast frame crosses the epair into the other stack, counted on both sides', async () => {
  const l = lab();
  const payload = new Uint8Array(28).fill(7);
  assert.equal(send(l, l.a, l.b.if_lladdr!, ETHERTYPE_ARP, payload), 0);
  assert.equal(l.rx.length, 0, 'delivery is deferred to the netisr thread');
  await l.k.run_until_idle();
  assert.equal(l.rx.length, 1);
  const r = l.rx[0]!;
  assert.equal(r.ifname, 'epair0b');
  assert.equal(r.vnet, l.k.vimage ? l.vb : null, 'the protocol runs in the receiver vnet');
  assert.deepEqual(r.data, payload, 'the Ethernet header was stripped');
  assert.equal(r.flags & (M_BCAST | M_MCAST), 0);
  assert.equal(ctr(l, l.a, IFCOUNTER_OPACKETS), 1);
  assert.equal(ctr(l, l.a, IFCOUNTER_OBYTES), 42);
  assert.equal(ctr(l, l.b, IFCOUNTER_IPACKETS), 1);
  assert.equal(ctr(l, l.b, IFCOUNTER_IBYTES), 42);
  assert.equal(ctr(l, l.b, IFCOUNTER_IERRORS), 0);
});

test('broadcast frames carry M_BCAST and count imcasts', async () => {
  const l = lab();
  send(l, l.a, ETHER_BCAST, ETHERTYPE_ARP, new Uint8Array(28));
  send(l, l.a, 0x01005e000001, ETHERTYPE_ARP, new Uint8Array(28));
  await l.k.run_until_idle();
  assert.equal(l.rx.length, 2);
  assert.ok(l.rx[0]!.flags & M_BCAST);
  assert.ok(l.rx[1]!.flags & M_MCAST);
  assert.equal(ctr(l, l.b, IFCOUNTER_IMCASTS), 2);
});

test('runts, unknown ethertypes and frames for others are dropped and counted', async () => {
  const l = lab();
  inject(l, l.b, new Uint8Array(10));
  inject(l, l.b, new Uint8Array(0));
  assert.equal(ctr(l, l.b, IFCOUNTER_IERRORS), 2);
  const f = new Uint8Array(60);
  f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
  f[12] = 0x88;
  f[13] = 0xb5;
  inject(l, l.b, f);
  assert.equal(ctr(l, l.b, IFCOUNTER_NOPROTO), 1);
  // Unicast to another station: not for us, never reaches a protocol.
  send(l, l.a, 0x020000000099, ETHERTYPE_ARP, new Uint8Array(28));
  await l.k.run_until_idle();
  assert.equal(l.rx.length, 0);
  assert.equal(ctr(l, l.b, IFCOUNTER_IPACKETS), 1);
});

test('transmit errors: down sender ENETDOWN, down peer silently dropped', async () => {
  const l = lab();
  l.k.enter(() => if_down(l.a));
  assert.equal(send(l, l.a, l.b.if_lladdr!, ETHERTYPE_ARP, new Uint8Array(28)), ENETDOWN);
  l.k.enter(() => {
    if_up(l.a);
    if_down(l.b);
  });
  assert.equal(send(l, l.a, l.b.if_lladdr!, ETHERTYPE_ARP, new Uint8Array(28)), 0);
  assert.equal(ctr(l, l.a, IFCOUNTER_OERRORS), 1);
  await l.k.run_until_idle();
  assert.equal(l.rx.length, 0);
});

test('link impairment: loss, duplication, delay (seeded)', async () => {
  const l = lab();
  l.k.enter(() => epair_set_impairment(l.a, { loss: 1 }));
  for (let i = 0; i < 5; i++) send(l, l.a, l.b.if_lladdr!, ETHERTYPE_ARP, new Uint8Array(28));
  await l.k.run_until_idle();
  assert.equal(l.rx.length, 0);
  assert.equal(epair_softc(l.a)!.imp_lost, 5);
  l.k.enter(() => epair_set_impairment(l.a, { loss: 0, dup: 1 }));
  send(l, l.a, l.b.if_lladdr!, ETHERTYPE_ARP, new Uint8Array(28));
  await l.k.run_until_idle();
  assert.equal(l.rx.length, 2);
  l.k.enter(() => epair_set_impairment(l.a, { dup: 0, delay_ns: 50_000_000 }));
  const t0 = l.k.now();
  send(l, l.a, l.b.if_lladdr!, ETHERTYPE_ARP, new Uint8Array(28));
  await l.k.run_until_idle();
  assert.equal(l.rx.length, 3);
  assert.ok(l.k.now() - t0 >= 50_000_000, 'delivered after the delay on the virtual clock');
  // Reordering: the held frame goes out after the next one.
  l.k.enter(() => epair_set_impairment(l.a, { delay_ns: 0, reorder: 1 }));
  send(l, l.a, l.b.if_lladdr!, ETHERTYPE_ARP, new Uint8Array(28).fill(1));
  l.k.enter(() => epair_set_impairment(l.a, { reorder: 0 }));
  send(l, l.a, l.b.if_lladdr!, ETHERTYPE_ARP, new Uint8Array(28).fill(2));
  await l.k.run_until_idle();
  assert.equal(l.rx[3]!.data[0], 2);
  assert.equal(l.rx[4]!.data[0], 1);
});

test('AF_INET output uses the registered resolver; SIMPLEX loops own broadcasts back', async () => {
  const l = lab();
  const seen: string[] = [];
  netisr_register(l.k, {
    nh_name: 'ip',
    nh_proto: NETISR_IP,
    nh_qlimit: 256,
    nh_handler: (m: Mbuf) => {
      seen.push(`${m.rcvif!.if_xname}:${mtod(m)[0]}`);
      m_freem(m);
    },
  });
  const answers: EtherResolve[] = [
    { mac: ETHER_BCAST },
    { mac: l.a.if_lladdr! },
    'held',
    EHOSTUNREACH,
  ];
  const held: Mbuf[] = [];
  ether_resolver_register(l.k, AF_INET, (_ifp, m) => {
    const r = answers.shift()!;
    if (r === 'held') held.push(m);
    return r;
  });
  const out = (tag: number): number =>
    l.k.enter(() =>
      with_vnet(l.va, () => {
        const m = l.k.mbpool.m_gethdr(20)!;
        mtod(m)[0] = tag;
        return l.a.if_output(l.a, m, { sa_family: AF_INET, sin_addr: 0 as in_addr_t }, null);
      }),
    );
  assert.equal(out(1), 0); // broadcast: to the peer and a copy to ourselves
  assert.equal(out(2), 0); // to our own MAC: only ourselves
  assert.equal(out(3), 0); // held by the resolver
  assert.equal(out(4), EHOSTUNREACH);
  await l.k.run_until_idle();
  assert.deepEqual(seen.sort(), ['epair0a:1', 'epair0a:2', 'epair0b:1']);
  assert.equal(held.length, 1);
  l.k.enter(() => m_freem(held[0]!));
  assert.equal(l.k.mbpool.stats.inuse, 0);
});

test('random frames never throw; every one is delivered or counted (seeded)', async () => {
  const l = lab();
  const rng = l.k.rng;
  let runts = 0;
  for (let i = 0; i < 2000; i++) {
    const len = rng.uniform(80);
    const f = new Uint8Array(len);
    rng.fill(f);
    if (len >= 6 && rng.uniform(4) === 0) f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    if (len >= 14 && rng.uniform(4) === 0) {
      f[12] = 0x08;
      f[13] = 0x06;
    }
    if (len < 14) runts++;
    inject(l, l.b, f);
  }
  await l.k.run_until_idle();
  assert.equal(ctr(l, l.b, IFCOUNTER_IERRORS), runts);
  assert.equal(l.k.mbpool.stats.inuse, 0, 'every frame was freed');
  for (const r of l.rx) assert.ok(r.flags & (M_BCAST | M_MCAST) || r.ifname === 'epair0b');
});
