// ARP, mirroring FreeBSD's tests/sys/netinet/arp.sh cases (arp_add_success,
// arp_del_success, arp_lookup_host, pending_delete_if, garp) plus the hold queue,
// request retransmission and expiry with arpstat deltas.  Two vnets over an epair:
// bootVimage, so the file runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import {
  addaddr,
  arpstat,
  delta,
  echo_request,
  epair,
  icmpstat,
  inv,
  ip,
  jail,
  lab2,
  ping1,
} from '../../lib/inet_lab.js';
import { tshark_lint, eth_src_filter } from '../../lib/tshark.js';
import {
  arp_add_static,
  arp_delete,
  arp_format,
  arp_held_count,
  arp_list,
  V_arp,
  V_arpt_keep,
} from '../../../src/netinet/if_ether.js';
import { ether_addr_read, ether_sprintf } from '../../../src/net/ethernet.js';
import { if_setlladdr } from '../../../src/net/if.js';
import type { IfLle } from '../../../src/net/if_var.js';
import { ip_output, type IpRoute } from '../../../src/netinet/ip_output.js';
import { if_clone_destroy } from '../../../src/net/if_clone.js';
import { bpf_capture_pcapng } from '../../../src/net/bpf.js';
import { EHOSTDOWN, ENOENT } from '../../../src/sys/errno.js';

test('arp_add_success / arp_del_success: static entries print as permanent and go away', () => {
  const k = bootVimage();
  const l = lab2(k);
  inv(k, l.va, () => {
    assert.equal(arp_add_static(l.a, ip('192.0.2.50'), 0x020000000050), 0);
    const e = arp_list().find((x) => x.addr === ip('192.0.2.50'))!;
    assert.equal(
      arp_format(e),
      '? (192.0.2.50) at 02:00:00:00:00:50 on epair0a permanent [ethernet]',
    );
    assert.equal(arp_delete(ip('192.0.2.50')), 0);
    assert.equal(
      arp_list().find((x) => x.addr === ip('192.0.2.50')),
      undefined,
    );
    assert.equal(arp_delete(ip('192.0.2.50')), ENOENT);
  });
});

test('arp_lookup_host: the peer MAC appears after one echo exchange (tshark-clean capture)', async () => {
  const k = bootVimage();
  const cap = bpf_capture_pcapng(k);
  const l = lab2(k);
  await k.run_for(1);
  const a0 = arpstat(k, l.va);
  const b0 = arpstat(k, l.vb);
  const ia0 = icmpstat(k, l.va);
  const ib0 = icmpstat(k, l.vb);
  assert.equal(
    inv(k, l.va, () => ping1(k, ip('192.0.2.2'), { seq: 1 })),
    0,
  );
  await k.run_for(1);
  const e = inv(k, l.va, () => arp_list()).find((x) => x.addr === ip('192.0.2.2'));
  assert.ok(e, 'an entry for the peer');
  assert.equal(e.mac, ether_sprintf(l.b.if_lladdr!));
  assert.equal(e.ifname, 'epair0a');
  assert.ok(e.expires !== null && e.expires > 1190 && e.expires <= 1200, `expires ${e.expires}`);
  /* The peer learnt us from the request (the target was its address). */
  const eb = inv(k, l.vb, () => arp_list()).find((x) => x.addr === ip('192.0.2.1'));
  assert.equal(eb?.mac, ether_sprintf(l.a.if_lladdr!));
  assert.deepEqual(delta(a0, arpstat(k, l.va)), { txrequests: 1, rxreplies: 1, received: 1 });
  assert.deepEqual(delta(b0, arpstat(k, l.vb)), { rxrequests: 1, txreplies: 1, received: 1 });
  assert.deepEqual(delta(ib0, icmpstat(k, l.vb)), {
    'icps_inhist[8]': 1,
    'icps_outhist[0]': 1,
    icps_reflect: 1,
  });
  assert.deepEqual(delta(ia0, icmpstat(k, l.va)), { 'icps_inhist[0]': 1 });
  /* A second echo needs no ARP. */
  assert.equal(
    inv(k, l.va, () => ping1(k, ip('192.0.2.2'), { seq: 2 })),
    0,
  );
  await k.run_for(1);
  assert.equal(delta(a0, arpstat(k, l.va))['txrequests'], 1);
  tshark_lint(
    cap.stop(),
    eth_src_filter([ether_sprintf(l.a.if_lladdr!), ether_sprintf(l.b.if_lladdr!)]),
  );
});

test("RT_LLE_CACHE: a connection's route keeps the entry, and follows arp -s, arp -d and lladdr", async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  const peer = ip('192.0.2.2');
  /* What tcp_output hands ip_output: the connection's own route (tp.t_route). */
  const ro: IpRoute = {};
  /* A function, so that TypeScript does not narrow what the kernel changes. */
  const cached = (): IfLle | null => ro.ro_ifro?.ro_lle ?? null;
  let seq = 0;
  const send = (): number =>
    inv(k, l.va, () => ip_output(echo_request(k, peer, { seq: ++seq }), null, ro, 0, null, null));
  const echoes = async (): Promise<number> => {
    const b0 = icmpstat(k, l.vb);
    assert.equal(send(), 0);
    await k.run_for(1);
    return delta(b0, icmpstat(k, l.vb))['icps_inhist[8]'] ?? 0;
  };
  /* The first datagram waits for ARP; the entry is the route's from the next one on. */
  assert.equal(await echoes(), 1);
  assert.equal(cached(), null);
  assert.equal(await echoes(), 1);
  const lle = cached()!;
  assert.equal(lle.addr, peer);
  assert.equal(lle.mac, l.b.if_lladdr);
  assert.equal(ether_sprintf(ether_addr_read(lle.r_linkdata(), 0)), ether_sprintf(l.b.if_lladdr!));
  /* arp -s to another MAC: the same entry, a new header; the peer hears nothing more. */
  inv(k, l.va, () => assert.equal(arp_add_static(l.a, peer, 0x020000000099), 0));
  assert.equal(await echoes(), 0);
  assert.equal(cached(), lle);
  assert.equal(ether_sprintf(ether_addr_read(lle.r_linkdata(), 0)), '02:00:00:00:00:99');
  /* arp -d: the cached entry is no longer valid; ARP is asked again and answered. */
  inv(k, l.va, () => assert.equal(arp_delete(peer), 0));
  assert.equal(lle.lle_valid(), false);
  const a0 = arpstat(k, l.va);
  assert.equal(await echoes(), 1);
  assert.equal(delta(a0, arpstat(k, l.va))['txrequests'], 1);
  assert.equal(cached(), null);
  assert.equal(await echoes(), 1);
  const lle2 = cached()!;
  assert.notEqual(lle2, lle);
  assert.equal(lle2.mac, l.b.if_lladdr);
  /* A new address on our interface: the prepared header's source follows it. */
  const lla = new Uint8Array([0x02, 0, 0, 0, 0, 0x42]);
  inv(k, l.va, () => assert.equal(if_setlladdr(l.a, lla), 0));
  assert.equal(await echoes(), 1);
  assert.equal(cached(), lle2);
  assert.equal(ether_sprintf(ether_addr_read(lle2.r_linkdata(), 6)), '02:00:00:00:00:42');
});

test('garp: adding an address sends one gratuitous request the peer hears', async () => {
  const k = bootVimage();
  const va = jail(k, 'a');
  const vb = jail(k, 'b');
  const { a, b } = epair(k, va, vb);
  inv(k, vb, () => addaddr(b, '192.0.2.2/24'));
  await k.run_for(1);
  const a0 = arpstat(k, va);
  const b0 = arpstat(k, vb);
  inv(k, va, () => addaddr(a, '192.0.2.1/24'));
  await k.run_for(1);
  assert.deepEqual(delta(a0, arpstat(k, va)), { txrequests: 1 });
  /* FreeBSD only updates existing entries from a gratuitous request: nothing learnt. */
  assert.deepEqual(delta(b0, arpstat(k, vb)), { received: 1, rxrequests: 1, rxignored: 1 });
  assert.equal(inv(k, vb, () => arp_list()).length, 0);
});

test('garp: a peer claiming our address is a duplicate (dupips) and is answered', async () => {
  const k = bootVimage();
  const va = jail(k, 'a');
  const vb = jail(k, 'b');
  const { a, b } = epair(k, va, vb);
  inv(k, vb, () => addaddr(b, '192.0.2.1/24'));
  await k.run_for(1);
  const b0 = arpstat(k, vb);
  inv(k, va, () => addaddr(a, '192.0.2.1/24'));
  await k.run_for(1);
  const d = delta(b0, arpstat(k, vb));
  assert.equal(d['dupips'], 1);
  assert.equal(d['txreplies'], 1);
});

test('hold queue: at most maxhold packets, retries once a second, then dropped and down', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  const a0 = arpstat(k, l.va);
  const inuse0 = k.mbpool.stats.inuse;
  for (let i = 0; i < 20; i++)
    assert.equal(
      inv(k, l.va, () => ping1(k, ip('192.0.2.99'), { seq: i })),
      0,
    );
  assert.equal(
    inv(k, l.va, () => arp_held_count()),
    16,
  );
  assert.deepEqual(delta(a0, arpstat(k, l.va)), { txrequests: 1, dropped: 4 });
  const e = inv(k, l.va, () => arp_list()).find((x) => x.addr === ip('192.0.2.99'))!;
  assert.equal(e.mac, '(incomplete)');
  await k.run_for(4.5);
  assert.equal(delta(a0, arpstat(k, l.va))['txrequests'], 5, 'one request per second, maxtries 5');
  await k.run_for(1);
  assert.deepEqual(delta(a0, arpstat(k, l.va)), { txrequests: 5, dropped: 20, timeouts: 1 });
  assert.equal(
    inv(k, l.va, () => arp_held_count()),
    0,
  );
  assert.equal(k.mbpool.stats.inuse, inuse0, 'no mbuf leaked');
  /* Down: an immediate EHOSTDOWN, nothing queued, no request. */
  assert.equal(
    inv(k, l.va, () => ping1(k, ip('192.0.2.99'))),
    EHOSTDOWN,
  );
  assert.equal(delta(a0, arpstat(k, l.va))['txrequests'], 5);
  await k.run_for(21);
  assert.equal(
    inv(k, l.va, () => arp_list()).find((x) => x.addr === ip('192.0.2.99')),
    undefined,
  );
});

test('expiry: a resolved entry goes after net.link.ether.inet.max_age', async () => {
  const k = bootVimage();
  const l = lab2(k);
  inv(k, l.va, () => V_arpt_keep.set(60));
  inv(k, l.va, () => ping1(k, ip('192.0.2.2')));
  await k.run_for(1);
  assert.ok(inv(k, l.va, () => arp_list()).some((x) => x.addr === ip('192.0.2.2')));
  const a0 = arpstat(k, l.va);
  await k.run_for(60);
  assert.equal(
    inv(k, l.va, () => arp_list()).some((x) => x.addr === ip('192.0.2.2')),
    false,
  );
  assert.deepEqual(delta(a0, arpstat(k, l.va)), { timeouts: 1 });
  /* The other vnet keeps the default (1200 s). */
  assert.ok(inv(k, l.vb, () => arp_list()).some((x) => x.addr === ip('192.0.2.1')));
});

test('refresh: an entry in use is asked for again before max_age and never goes; unused, it goes', async () => {
  const k = bootVimage();
  const l = lab2(k);
  inv(k, l.va, () => V_arpt_keep.set(60));
  await k.run_for(1); /* the gratuitous requests of lab2's addresses */
  const peer = ip('192.0.2.2');
  const entry = () => inv(k, l.va, () => arp_list()).find((x) => x.addr === peer);
  const a0 = arpstat(k, l.va);
  const b0 = icmpstat(k, l.vb);
  /* One echo a second for 130 s, first through a connection's route (the cached entry
   * tells the timer it is in use), then through arpresolve alone (no route). */
  let present = 0;
  const ro: IpRoute = {};
  const run = async (send: (seq: number) => number, from: number): Promise<void> => {
    for (let s = from; s < from + 130; s++) {
      assert.equal(send(s), 0);
      await k.run_for(1);
      if (entry()?.mac === ether_sprintf(l.b.if_lladdr!)) present++;
    }
  };
  await run(
    (seq) => inv(k, l.va, () => ip_output(echo_request(k, peer, { seq }), null, ro, 0, null, null)),
    0,
  );
  /* The first resolution, then a refresh each time the entry had 5 s (maxtries) left. */
  assert.deepEqual(delta(a0, arpstat(k, l.va)), { txrequests: 3, rxreplies: 3, received: 3 });
  await run((seq) => inv(k, l.va, () => ping1(k, peer, { seq })), 130);
  assert.deepEqual(delta(a0, arpstat(k, l.va)), { txrequests: 5, rxreplies: 5, received: 5 });
  assert.equal(present, 260, 'the entry was there after every second');
  assert.equal(delta(b0, icmpstat(k, l.vb))['icps_inhist[8]'], 260);
  /* Refreshed every 56 s (the timer 5 s early, the check a second later), last at 225 s:
   * max_age from then, at 261 s. */
  const left = entry()!.expires!;
  assert.ok(left >= 23 && left <= 25, `expires in ${left}`);
  /* Silence: no request, and the entry goes at max_age. */
  await k.run_for(61);
  assert.equal(entry(), undefined);
  assert.deepEqual(delta(a0, arpstat(k, l.va)), {
    txrequests: 5,
    rxreplies: 5,
    received: 5,
    timeouts: 1,
  });
});

test('pending_delete_if: many pending resolutions, then the interface is destroyed', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  const inuse0 = k.mbpool.stats.inuse;
  inv(k, l.va, () => {
    for (let i = 10; i < 210; i++) ping1(k, ip(`192.0.2.${i % 250}`), { seq: i });
  });
  assert.ok(inv(k, l.va, () => arp_held_count()) > 100);
  assert.equal(
    inv(k, l.va, () => if_clone_destroy('epair0a')),
    0,
  );
  assert.equal(
    inv(k, l.va, () => arp_held_count()),
    0,
  );
  assert.equal(
    inv(k, l.va, () => V_arp.get().tables.size),
    0,
  );
  await k.run_for(30);
  assert.equal(k.mbpool.stats.inuse, inuse0, 'no mbuf leaked');
});
