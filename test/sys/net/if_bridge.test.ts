// VIMAGE_ONLY: if_bridge(4) — three hosts (vnets) joined by a bridge in a fourth
// (mirrors tests/sys/net/if_bridge_test.sh): learning, flooding of broadcast and
// unknown unicast, forwarding to the learned port only, frames for the bridge's own
// MAC going up its stack, ageing after the timeout on the virtual clock, and the
// SIOC[SG]DRVSPEC BRDG* ioctls ifconfig uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { userproc } from '../../lib/proc.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import { kern_jail_set, prison_remove } from '../../../src/kern/kern_jail.js';
import { if_clone_create } from '../../../src/net/if_clone.js';
import {
  ifioctl_generic,
  ifr_name_get,
  ifr_name_set,
  ifunit,
  if_up,
  if_vmove,
} from '../../../src/net/if.js';
import { curvnet, with_vnet, type Vnet } from '../../../src/net/vnet.js';
import {
  AF_UNSPEC,
  IFCOUNTER_IPACKETS,
  IFF_PROMISC,
  if_get_counter,
  type Ifnet,
} from '../../../src/net/if_var.js';
import { ETHER_BCAST, ETHERTYPE_ARP, type ether_addr_t } from '../../../src/net/ethernet.js';
import { NETISR_ARP, netisr_register } from '../../../src/net/netisr.js';
import { mtod, m_freem, type Mbuf } from '../../../src/sys/mbuf.js';
import {
  BRDGADD,
  BRDGGIFS,
  BRDGGTO,
  BRDGRTS,
  BRDGSTO,
  SIZEOF_IFBAREQ,
  SIZEOF_IFBREQ,
  bridge_addm,
  bridge_deletem,
  bridge_members,
  bridge_rtable,
} from '../../../src/net/if_bridge.js';
import { SIOCGDRVSPEC, SIOCSDRVSPEC, SIOCSIFFLAGS } from '../../../src/sys/sockio.js';
import { EBUSY, EEXIST, EINVAL, ENOENT } from '../../../src/sys/errno.js';
import type { UserProc } from '../../lib/proc.js';

interface Rx {
  vnet: Vnet | null;
  ifname: string;
  tag: number;
}

interface Lab {
  k: Kernel;
  vb: Vnet;
  hosts: { v: Vnet; ifp: Ifnet }[];
  ports: Ifnet[];
  br: Ifnet;
  rx: Rx[];
  up: UserProc;
}

function jail(k: Kernel, name: string): Vnet {
  const j = k.enter(() => kern_jail_set(k, k.prison0, { name, vnet: true, persist: true }));
  assert.equal(j.error, 0);
  return j.pr!.pr_vnet!;
}

function setup(): Lab {
  const k = bootVimage();
  const rx: Rx[] = [];
  netisr_register(k, {
    nh_name: 'arp',
    nh_proto: NETISR_ARP,
    nh_qlimit: 256,
    nh_handler: (m: Mbuf) => {
      rx.push({ vnet: curvnet(), ifname: m.rcvif!.if_xname, tag: mtod(m)[0]! });
      m_freem(m);
    },
  });
  const vb = jail(k, 'br');
  const hv = [jail(k, 'h1'), jail(k, 'h2'), jail(k, 'h3')];
  const up = userproc(k);
  const hosts: { v: Vnet; ifp: Ifnet }[] = [];
  const ports: Ifnet[] = [];
  const br = k.enter(() =>
    with_vnet(vb, () => {
      assert.equal(if_clone_create('bridge', null).name, 'bridge0');
      const br = ifunit('bridge0')!;
      for (let i = 0; i < 3; i++) {
        if_clone_create('epair', null);
        const a = ifunit(`epair${i}a`)!;
        const b = ifunit(`epair${i}b`)!;
        if_up(a);
        if_up(b);
        if_vmove(b, hv[i]!);
        hosts.push({ v: hv[i]!, ifp: b });
        ports.push(a);
        assert.equal(bridge_addm(br, `epair${i}a`), 0);
      }
      const f = new Uint8Array(32);
      ifr_name_set(f, 'bridge0');
      new DataView(f.buffer).setUint16(16, 1, true);
      assert.equal(ifioctl_generic(null, SIOCSIFFLAGS, f, up.td), 0);
      return br;
    }),
  );
  return { k, vb, hosts, ports, br, rx, up };
}

function send(l: Lab, ifp: Ifnet, dst: number, tag: number): void {
  l.k.enter(() =>
    with_vnet(ifp.if_vnet!, () => {
      const m = l.k.mbpool.m_gethdr(46)!;
      mtod(m)[0] = tag;
      ifp.if_output(
        ifp,
        m,
        { sa_family: AF_UNSPEC, ether_dhost: dst as ether_addr_t, ether_type: ETHERTYPE_ARP },
        null,
      );
    }),
  );
}

function who(l: Lab, tag: number): string[] {
  return l.rx
    .filter((r) => r.tag === tag)
    .map((r) => {
      const h = l.hosts.findIndex((x) => x.v === r.vnet);
      return h >= 0 ? `h${h + 1}` : `br:${r.ifname}`;
    })
    .sort();
}

test('learning, flooding, forwarding and ageing', async () => {
  const l = setup();
  const [h1, h2, h3] = l.hosts as [
    { v: Vnet; ifp: Ifnet },
    { v: Vnet; ifp: Ifnet },
    { v: Vnet; ifp: Ifnet },
  ];
  assert.deepEqual(bridge_members(l.br), ['epair0a', 'epair1a', 'epair2a']);
  assert.ok(l.ports[0]!.if_flags & IFF_PROMISC, 'members are promiscuous');

  // Broadcast from h1: h2, h3 and the bridge's own stack.
  send(l, h1.ifp, ETHER_BCAST, 1);
  await l.k.run_for(0.01);
  assert.deepEqual(who(l, 1), ['br:bridge0', 'h2', 'h3']);
  let rt = l.k.enter(() => bridge_rtable(l.br));
  assert.deepEqual(
    rt.map((r) => [r.addr, r.ifname]),
    [[h1.ifp.if_lladdr, 'epair0a']],
  );
  assert.equal(rt[0]!.expire, 1200);

  // h2 -> h1 unicast: only the learned port.
  const before3 = l.k.enter(() => if_get_counter(h3.ifp, IFCOUNTER_IPACKETS));
  send(l, h2.ifp, h1.ifp.if_lladdr!, 2);
  await l.k.run_for(0.01);
  assert.deepEqual(who(l, 2), ['h1']);
  assert.equal(
    l.k.enter(() => if_get_counter(h3.ifp, IFCOUNTER_IPACKETS)),
    before3,
    'h3 saw nothing',
  );

  // h3 -> unknown MAC: flooded to h1 and h2 (they drop it: not theirs).
  const b1 = l.k.enter(() => if_get_counter(h1.ifp, IFCOUNTER_IPACKETS));
  const b2 = l.k.enter(() => if_get_counter(h2.ifp, IFCOUNTER_IPACKETS));
  send(l, h3.ifp, 0x020000000099, 3);
  await l.k.run_for(0.01);
  assert.deepEqual(who(l, 3), []);
  assert.equal(
    l.k.enter(() => if_get_counter(h1.ifp, IFCOUNTER_IPACKETS)),
    b1 + 1,
  );
  assert.equal(
    l.k.enter(() => if_get_counter(h2.ifp, IFCOUNTER_IPACKETS)),
    b2 + 1,
  );

  // h1 -> h3 now learned.
  send(l, h1.ifp, h3.ifp.if_lladdr!, 4);
  await l.k.run_for(0.01);
  assert.deepEqual(who(l, 4), ['h3']);

  // A frame for the bridge's own MAC goes up the bridge's stack only.
  send(l, h2.ifp, l.br.if_lladdr!, 5);
  await l.k.run_for(0.01);
  assert.deepEqual(who(l, 5), ['br:bridge0']);

  rt = l.k.enter(() => bridge_rtable(l.br));
  assert.equal(rt.length, 3);
  // Ageing: still there after 1000 s, gone after the 1200 s timeout.
  await l.k.run_for(1000);
  assert.equal(l.k.enter(() => bridge_rtable(l.br)).length, 3);
  await l.k.run_for(600);
  assert.equal(l.k.enter(() => bridge_rtable(l.br)).length, 0);
  // Unknown again: flooding resumes.
  send(l, h2.ifp, h1.ifp.if_lladdr!, 6);
  await l.k.run_for(0.01);
  assert.deepEqual(who(l, 6), ['h1']);
  assert.ok(l.k.enter(() => if_get_counter(h3.ifp, IFCOUNTER_IPACKETS)) > before3 + 1);

  // Removing the bridge's jail destroys its bridge and epairs, including the b sides
  // that live in the host jails.
  const pr = l.k.jails.allprison.find((p) => p.pr_vnet === l.vb)!;
  l.k.enter(() => prison_remove(l.k, pr));
  for (const h of l.hosts) assert.equal(h.v.vnet_ifcnt, 1, 'only lo0 is left in each host');
  await l.k.run_until_idle();
  assert.equal(l.k.mbpool.stats.inuse, 0, 'no mbuf leaked');
});

test('membership rules and BRDG* ioctls', async () => {
  const l = setup();
  const { k, up, vb } = l;
  const ioctl = (cmd: number, data: Uint8Array): number =>
    k.enter(() => with_vnet(vb, () => ifioctl_generic(null, cmd, data, up.td)));
  const drv = (bcmd: number, len: number, uaddr: number): Uint8Array => {
    const d = new Uint8Array(40);
    ifr_name_set(d, 'bridge0');
    const dv = new DataView(d.buffer);
    dv.setBigUint64(16, BigInt(bcmd), true);
    dv.setBigUint64(24, BigInt(len), true);
    dv.setBigUint64(32, BigInt(uaddr), true);
    return d;
  };
  k.enter(() =>
    with_vnet(vb, () => {
      assert.equal(bridge_addm(l.br, 'epair0a'), EEXIST);
      assert.equal(bridge_addm(l.br, 'nosuch0'), ENOENT);
      assert.equal(bridge_addm(l.br, 'epair0b'), ENOENT, 'a member must be in the bridge vnet');
      assert.equal(bridge_addm(l.br, 'bridge0'), EINVAL);
      if_clone_create('bridge', null);
      assert.equal(bridge_addm(ifunit('bridge1')!, 'epair1a'), EBUSY);
      assert.equal(bridge_deletem(l.br, 'epair1a'), 0);
      assert.equal(l.ports[1]!.if_flags & IFF_PROMISC, 0);
      assert.equal(bridge_deletem(l.br, 'epair1a'), ENOENT);
    }),
  );
  // BRDGADD through SIOCSDRVSPEC with an ifbreq in user memory.
  const req = up.libc.malloc(SIZEOF_IFBREQ)!;
  ifr_name_set(req.buf, 'epair1a');
  assert.equal(ioctl(SIOCSDRVSPEC, drv(BRDGADD, SIZEOF_IFBREQ, req.addr)), 0);
  assert.equal(ioctl(SIOCSDRVSPEC, drv(BRDGADD, 12, req.addr)), EINVAL, 'wrong ifd_len');
  assert.equal(
    ioctl(SIOCGDRVSPEC, drv(BRDGADD, SIZEOF_IFBREQ, req.addr)),
    EINVAL,
    'wrong direction',
  );
  // BRDGGIFS: the member list.
  const list = up.libc.malloc(SIZEOF_IFBREQ * 8)!;
  const conf = up.libc.malloc(16)!;
  const cdv = new DataView(conf.buf.buffer, conf.buf.byteOffset, 16);
  cdv.setUint32(0, SIZEOF_IFBREQ * 8, true);
  cdv.setBigUint64(8, BigInt(list.addr), true);
  assert.equal(ioctl(SIOCGDRVSPEC, drv(BRDGGIFS, 16, conf.addr)), 0);
  const n = cdv.getUint32(0, true) / SIZEOF_IFBREQ;
  const names = [];
  for (let i = 0; i < n; i++) names.push(ifr_name_get(list.buf, i * SIZEOF_IFBREQ));
  assert.deepEqual(names, ['epair0a', 'epair2a', 'epair1a']);
  // BRDGSTO / BRDGGTO
  const p = up.libc.malloc(4)!;
  new DataView(p.buf.buffer, p.buf.byteOffset, 4).setUint32(0, 30, true);
  assert.equal(ioctl(SIOCSDRVSPEC, drv(BRDGSTO, 4, p.addr)), 0);
  p.buf.fill(0);
  assert.equal(ioctl(SIOCGDRVSPEC, drv(BRDGGTO, 4, p.addr)), 0);
  assert.equal(new DataView(p.buf.buffer, p.buf.byteOffset, 4).getUint32(0, true), 30);
  // BRDGRTS after some traffic; entries age out after 30 s now.
  send(l, l.hosts[0]!.ifp, ETHER_BCAST, 9);
  await k.run_for(0.01);
  const rts = up.libc.malloc(SIZEOF_IFBAREQ * 4)!;
  cdv.setUint32(0, SIZEOF_IFBAREQ * 4, true);
  cdv.setBigUint64(8, BigInt(rts.addr), true);
  assert.equal(ioctl(SIOCGDRVSPEC, drv(BRDGRTS, 16, conf.addr)), 0);
  assert.equal(cdv.getUint32(0, true), SIZEOF_IFBAREQ);
  assert.equal(ifr_name_get(rts.buf, 0), 'epair0a');
  await k.run_for(31);
  assert.equal(k.enter(() => bridge_rtable(l.br)).length, 0);
});
