// ip_output: fragmentation to the interface MTU and reassembly at the peer (checksums
// checked by tshark), DF → EMSGSIZE (ips_cantfrag), no route → EHOSTUNREACH
// (ips_noroute), reject and blackhole routes, source address selection, our own
// address through lo0, ip_fragment's headers.  bootVimage: runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest, bootVimage } from '../../lib/kernel.js';
import { delta, echo_request, icmpstat, inv, ip, ipstat, lab2 } from '../../lib/inet_lab.js';
import { addaddr, epair, ping1 } from '../../lib/inet_lab.js';
import { eth_src_filter, tshark_lint } from '../../lib/tshark.js';
import { bpf_capture_pcapng } from '../../../src/net/bpf.js';
import { ether_sprintf } from '../../../src/net/ethernet.js';
import { ip_fragment } from '../../../src/netinet/ip_output.js';
import { V_rib } from '../../../src/netinet/in_var.js';
import { ip_protox_register } from '../../../src/netinet/ip_input.js';
import { icmp_input } from '../../../src/netinet/icmp.js';
import { gw_inet } from '../../../src/net/route/route_var.js';
import { RTF_BLACKHOLE, RTF_GATEWAY, RTF_REJECT } from '../../../src/net/route.js';
import { EHOSTUNREACH, EMSGSIZE, ENETUNREACH } from '../../../src/sys/errno.js';
import { in_cksum } from '../../../src/netinet/in_cksum.js';
import { m_freem, mtod } from '../../../src/sys/mbuf.js';

test('fragmentation to the MTU, reassembly at the peer, and back (tshark clean)', async () => {
  const k = bootVimage();
  const cap = bpf_capture_pcapng(k);
  const l = lab2(k);
  l.a.if_mtu = 576;
  await k.run_for(1);
  const a0 = ipstat(k, l.va);
  const b0 = ipstat(k, l.vb);
  const ia0 = icmpstat(k, l.va);
  assert.equal(
    inv(k, l.va, () => ping1(k, ip('192.0.2.2'), { datalen: 2000 })),
    0,
  );
  await k.run_for(1);
  const da = delta(a0, ipstat(k, l.va));
  assert.equal(da['ips_fragmented'], 1);
  assert.equal(da['ips_ofragments'], 4, '2008 bytes in 552-byte pieces');
  assert.equal(da['ips_reassembled'], 1, 'the reply came back in 2 fragments');
  const db = delta(b0, ipstat(k, l.vb));
  assert.equal(db['ips_fragments'], 4);
  assert.equal(db['ips_reassembled'], 1);
  assert.equal(db['ips_ofragments'], 2);
  assert.equal(delta(ia0, icmpstat(k, l.va))['icps_inhist[0]'], 1);
  tshark_lint(
    cap.stop(),
    eth_src_filter([ether_sprintf(l.a.if_lladdr!), ether_sprintf(l.b.if_lladdr!)]),
  );
});

test('ip_fragment: offsets, MF, lengths and checksums of each fragment', () => {
  const k = bootVimage();
  const l = lab2(k);
  inv(k, l.va, () => {
    const m = echo_request(k, ip('192.0.2.2'), { src: ip('192.0.2.1'), datalen: 1000 });
    const fr = ip_fragment(m, l.a, 300);
    m_freem(m);
    assert.ok(Array.isArray(fr));
    let off = 0;
    fr.forEach((f, i) => {
      const b = mtod(f);
      assert.equal(in_cksum(b, 0, 20), 0);
      const len = (b[2]! << 8) | b[3]!;
      assert.equal(len, b.length);
      assert.ok(len <= 300);
      const o = (b[6]! << 8) | b[7]!;
      assert.equal((o & 0x1fff) * 8, off);
      assert.equal(!!(o & 0x2000), i < fr.length - 1, 'MF on all but the last');
      off += len - 20;
      m_freem(f);
    });
    assert.equal(off, 1008);
  });
});

test('DF and too big: EMSGSIZE and ips_cantfrag', () => {
  const k = bootVimage();
  const l = lab2(k);
  const a0 = ipstat(k, l.va);
  assert.equal(
    inv(k, l.va, () => ping1(k, ip('192.0.2.2'), { datalen: 1600, df: true })),
    EMSGSIZE,
  );
  assert.deepEqual(delta(a0, ipstat(k, l.va)), { ips_localout: 1, ips_cantfrag: 1 });
});

test('no route: EHOSTUNREACH and ips_noroute; reject and blackhole routes', () => {
  const k = bootVimage();
  const l = lab2(k);
  inv(k, l.va, () => {
    const a0 = ipstat(k, l.va);
    assert.equal(ping1(k, ip('203.0.113.1')), EHOSTUNREACH);
    assert.deepEqual(delta(a0, ipstat(k, l.va)), { ips_localout: 1, ips_noroute: 1 });
    const rib = V_rib.get();
    const add = (d: string, plen: number, flags: number): void => {
      assert.equal(
        rib.add({
          dst: ip(d),
          plen,
          gateway: gw_inet(ip('192.0.2.2')),
          flags: RTF_GATEWAY | flags,
          ifp: l.a,
          ifa: ip('192.0.2.1'),
        }).error,
        0,
      );
    };
    add('198.51.100.0', 24, RTF_REJECT);
    add('198.51.100.7', 32, RTF_REJECT);
    add('233.252.0.0', 24, RTF_BLACKHOLE);
    assert.equal(ping1(k, ip('198.51.100.1')), ENETUNREACH);
    assert.equal(ping1(k, ip('198.51.100.7')), EHOSTUNREACH);
    assert.equal(ping1(k, ip('233.252.0.1')), 0, 'a blackhole drops silently');
  });
});

test('source address selection and our own address through lo0', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  const srcs: number[] = [];
  ip_protox_register(k, 1, (m, hlen) => {
    srcs.push(new DataView(mtod(m).buffer, mtod(m).byteOffset).getUint32(12));
    icmp_input(m, hlen);
  });
  inv(k, l.va, () => ping1(k, ip('192.0.2.2')));
  await k.run_for(1);
  assert.equal(srcs[0], ip('192.0.2.1'), "the route's address is the source");
  const a0 = icmpstat(k, l.va);
  inv(k, l.va, () => ping1(k, ip('192.0.2.1')));
  await k.run_for(1);
  assert.deepEqual(delta(a0, icmpstat(k, l.va)), {
    'icps_inhist[8]': 1,
    'icps_inhist[0]': 1,
    'icps_outhist[0]': 1,
    icps_reflect: 1,
  });
});

test('the kernel of the pass (GENERIC or NOVIMAGE): ping our own address through lo0', async () => {
  const k = bootTest();
  const { a } = epair(k, k.vnet0, k.vnet0);
  inv(k, k.vnet0, () => addaddr(a, '192.0.2.1/24'));
  const s0 = icmpstat(k, k.vnet0);
  const i0 = ipstat(k, k.vnet0);
  assert.equal(
    inv(k, k.vnet0, () => ping1(k, ip('192.0.2.1'))),
    0,
  );
  await k.run_for(1);
  assert.deepEqual(delta(s0, icmpstat(k, k.vnet0)), {
    'icps_inhist[8]': 1,
    'icps_inhist[0]': 1,
    'icps_outhist[0]': 1,
    icps_reflect: 1,
  });
  assert.deepEqual(delta(i0, ipstat(k, k.vnet0)), {
    ips_total: 2,
    ips_delivered: 2,
    ips_localout: 2,
  });
});
