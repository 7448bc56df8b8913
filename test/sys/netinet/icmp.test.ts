// ICMP between two vnets over an epair: echo request/reply with icmpstat histograms,
// broadcast echo (net.inet.icmp.bmcastecho), rate limiting (net.inet.icmp.icmplim),
// protocol unreachable and icmp_error's rules, record route reflected (ping -R).
// bootVimage: runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { delta, echo_request, icmpstat, inv, ip, ipstat, lab2, ping1 } from '../../lib/inet_lab.js';
import { eth_src_filter, tshark_lint } from '../../lib/tshark.js';
import { runIn } from '../../lib/inet.js';
import { bpf_capture_pcapng } from '../../../src/net/bpf.js';
import { ether_sprintf } from '../../../src/net/ethernet.js';
import {
  V_icmpbmcastecho,
  V_icmplim,
  icmp_error,
  icmp_input,
  icmp_ratelimit_drops,
} from '../../../src/netinet/icmp.js';
import {
  IP_ALLOWBROADCAST,
  IP_RAWOUTPUT,
  ip_fragment,
  ip_output,
} from '../../../src/netinet/ip_output.js';
import { ip_protox_register } from '../../../src/netinet/ip_input.js';
import { EACCES } from '../../../src/sys/errno.js';
import { M_BCAST, m_freem, mtod } from '../../../src/sys/mbuf.js';
import { in_cksum } from '../../../src/netinet/in_cksum.js';

test('echo request/reply between two vnets, counted in the histograms (tshark clean)', async () => {
  const k = bootVimage();
  const cap = bpf_capture_pcapng(k);
  const l = lab2(k);
  await k.run_for(1);
  const a0 = icmpstat(k, l.va);
  const b0 = icmpstat(k, l.vb);
  for (let i = 0; i < 3; i++)
    assert.equal(
      inv(k, l.va, () => ping1(k, ip('192.0.2.2'), { seq: i })),
      0,
    );
  await k.run_for(1);
  assert.deepEqual(delta(b0, icmpstat(k, l.vb)), {
    'icps_inhist[8]': 3,
    'icps_outhist[0]': 3,
    icps_reflect: 3,
  });
  assert.deepEqual(delta(a0, icmpstat(k, l.va)), { 'icps_inhist[0]': 3 });
  tshark_lint(
    cap.stop(),
    eth_src_filter([ether_sprintf(l.a.if_lladdr!), ether_sprintf(l.b.if_lladdr!)]),
  );
});

test('broadcast echo: no reply by default (icps_bmcastecho), a reply with bmcastecho=1', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  assert.equal(
    inv(k, l.va, () => ping1(k, ip('192.0.2.255'))),
    EACCES,
    'SO_BROADCAST needed',
  );
  let a0 = icmpstat(k, l.va);
  let b0 = icmpstat(k, l.vb);
  assert.equal(
    inv(k, l.va, () => ping1(k, ip('192.0.2.255'), { flags: IP_ALLOWBROADCAST })),
    0,
  );
  await k.run_for(1);
  assert.deepEqual(delta(b0, icmpstat(k, l.vb)), { 'icps_inhist[8]': 1, icps_bmcastecho: 1 });
  /* The sender hears its own broadcast (SIMPLEX loop) and does not answer it either. */
  assert.deepEqual(delta(a0, icmpstat(k, l.va)), { 'icps_inhist[8]': 1, icps_bmcastecho: 1 });
  inv(k, l.vb, () => V_icmpbmcastecho.set(1));
  a0 = icmpstat(k, l.va);
  b0 = icmpstat(k, l.vb);
  assert.equal(
    inv(k, l.va, () => ping1(k, ip('192.0.2.255'), { flags: IP_ALLOWBROADCAST })),
    0,
  );
  await k.run_for(1);
  assert.deepEqual(delta(b0, icmpstat(k, l.vb)), {
    'icps_inhist[8]': 1,
    'icps_outhist[0]': 1,
    icps_reflect: 1,
  });
  assert.equal(delta(a0, icmpstat(k, l.va))['icps_inhist[0]'], 1, 'the reply arrives');
});

test('rate limiting: net.inet.icmp.icmplim replies per second, per vnet', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  inv(k, l.vb, () => V_icmplim.set(5));
  const a0 = icmpstat(k, l.va);
  for (let i = 0; i < 10; i++) inv(k, l.va, () => ping1(k, ip('192.0.2.2'), { seq: i }));
  await k.run_for(0.5);
  assert.equal(delta(a0, icmpstat(k, l.va))['icps_inhist[0]'], 5);
  assert.equal(
    inv(k, l.vb, () => icmp_ratelimit_drops()),
    5,
  );
  assert.equal(
    inv(k, l.va, () => V_icmplim.get()),
    200,
    'the other vnet keeps the default',
  );
  await k.run_for(1);
  for (let i = 0; i < 3; i++) inv(k, l.va, () => ping1(k, ip('192.0.2.2'), { seq: 20 + i }));
  await k.run_for(0.5);
  assert.equal(delta(a0, icmpstat(k, l.va))['icps_inhist[0]'], 8, 'a new second, a new budget');
});

test('protocol unreachable for an unknown protocol; icmp_error rules', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  const a0 = icmpstat(k, l.va);
  const b0 = icmpstat(k, l.vb);
  const bi0 = ipstat(k, l.vb);
  inv(k, l.va, () => {
    const m = echo_request(k, ip('192.0.2.2'));
    mtod(m)[9] = 253;
    return ip_output(m, null, null, 0, null, null);
  });
  await k.run_for(1);
  assert.deepEqual(delta(bi0, ipstat(k, l.vb)), {
    ips_total: 1,
    ips_noproto: 1,
    ips_localout: 1,
  });
  assert.deepEqual(delta(b0, icmpstat(k, l.vb)), { icps_error: 1, 'icps_outhist[3]': 1 });
  assert.deepEqual(delta(a0, icmpstat(k, l.va)), { 'icps_inhist[3]': 1 });

  /* Rules: never about an ICMP error, a later fragment, a link broadcast. */
  inv(k, l.vb, () => {
    const s0 = icmpstat(k, l.vb);
    const err = echo_request(k, ip('192.0.2.2'), { type: 3, src: ip('192.0.2.1') });
    icmp_error(err, 3, 3, 0, 0);
    const frag = echo_request(k, ip('192.0.2.2'), { src: ip('192.0.2.1') });
    mtod(frag)[7] = 10;
    icmp_error(frag, 3, 3, 0, 0);
    const bc = echo_request(k, ip('192.0.2.2'), { src: ip('192.0.2.1') });
    bc.m_flags |= M_BCAST;
    icmp_error(bc, 3, 3, 0, 0);
    assert.deepEqual(delta(s0, icmpstat(k, l.vb)), { icps_error: 3, icps_oldicmp: 1 });
  });
});

test('ping -R: the record route option is filled in and reflected in the reply', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  const seen: Uint8Array[] = [];
  ip_protox_register(k, 1, (m, hlen) => {
    seen.push(mtod(m).slice(0, hlen));
    icmp_input(m, hlen);
  });
  const opt = new Uint8Array(40);
  opt[0] = 1; /* NOP */
  opt[1] = 7; /* RR */
  opt[2] = 39;
  opt[3] = 4;
  assert.equal(
    inv(k, l.va, () => ping1(k, ip('192.0.2.2'), { opt })),
    0,
  );
  await k.run_for(1);
  assert.equal(seen.length, 2, 'the request at b, the reply at a');
  const reply = seen[1]!;
  assert.equal(reply.length, 60);
  assert.equal(in_cksum(reply, 0, 60), 0);
  const rr = reply.indexOf(7, 20);
  assert.ok(rr >= 20);
  assert.equal(reply[rr + 2], 12, 'two addresses recorded');
  const dv = new DataView(reply.buffer, reply.byteOffset);
  assert.equal(dv.getUint32(rr + 3), ip('192.0.2.2'));
  assert.equal(dv.getUint32(rr + 7), ip('192.0.2.1'));
});

test('timestamp option: each hop stamps (ping -T tsonly)', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  const seen: Uint8Array[] = [];
  ip_protox_register(k, 1, (m, hlen) => {
    seen.push(mtod(m).slice(0, hlen));
    icmp_input(m, hlen);
  });
  const opt = new Uint8Array(12);
  opt[0] = 68; /* IPOPT_TS */
  opt[1] = 12;
  opt[2] = 5;
  opt[3] = 0; /* tsonly */
  await k.run_for(0.25);
  assert.equal(
    inv(k, l.va, () => ping1(k, ip('192.0.2.2'), { opt })),
    0,
  );
  await k.run_for(1);
  const reply = seen[1]!;
  assert.equal(reply[22], 13, 'two stamps taken');
  assert.equal(reply[23], 0, 'no overflow');
  const dv = new DataView(reply.buffer, reply.byteOffset);
  assert.ok(dv.getUint32(24) > 0 && dv.getUint32(28) >= dv.getUint32(24));
});

test('reassembly timeout: time exceeded in reassembly quoting the first fragment', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  const b0 = icmpstat(k, l.vb);
  const a0 = icmpstat(k, l.va);
  inv(k, l.va, () => {
    const m = echo_request(k, ip('192.0.2.2'), { src: ip('192.0.2.1'), ttl: 64, datalen: 1000 });
    const fr = ip_fragment(m, l.a, 300);
    m_freem(m);
    assert.ok(Array.isArray(fr));
    assert.equal(ip_output(fr[0]!, null, null, IP_RAWOUTPUT, null, null), 0);
    for (const f of fr.slice(1)) m_freem(f);
  });
  await k.run_for(40);
  assert.equal(ipstat(k, l.vb)['ips_fragtimeout'], 1);
  assert.deepEqual(delta(b0, icmpstat(k, l.vb)), { icps_error: 1, 'icps_outhist[11]': 1 });
  assert.deepEqual(delta(a0, icmpstat(k, l.va)), { 'icps_inhist[11]': 1 });
});

test('sysctls: icmpstat/arpstat/ipstat structs and per-vnet tunables through __sysctl', async () => {
  const k = bootVimage();
  const l = lab2(k);
  await k.run_for(1);
  inv(k, l.va, () => ping1(k, ip('192.0.2.2')));
  await k.run_for(1);
  const prb = k.jails.allprison.find((p) => p.pr_vnet === l.vb)!;
  const r = await runIn(
    k,
    async (c) => {
      const len: [number] = [0];
      assert.equal(await c.sysctlbyname('net.inet.icmp.stats', null, len), 0);
      const st = new Uint8Array(len[0]);
      assert.equal(await c.sysctlbyname('net.inet.icmp.stats', st, len), 0);
      const alen: [number] = [0];
      assert.equal(await c.sysctlbyname('net.link.ether.arp.stats', null, alen), 0);
      const nv = new Uint8Array(4);
      new DataView(nv.buffer).setInt32(0, 7, true);
      assert.equal(await c.sysctlbyname('net.inet.icmp.icmplim', null, null, nv), 0);
      return {
        icmplen: len[0],
        arplen: alen[0],
        st,
        maxage: await c.sysctlbyname_num('net.link.ether.inet.max_age'),
        maxhold: await c.sysctlbyname_num('net.link.ether.inet.maxhold'),
        bm: await c.sysctlbyname_num('net.inet.icmp.bmcastecho'),
        lim: await c.sysctlbyname_num('net.inet.icmp.icmplim'),
      };
    },
    prb,
  );
  assert.equal(r.icmplen, (3 + 41 + 5 + 41 + 4) * 8, 'struct icmpstat');
  assert.equal(r.arplen, 14 * 8, 'struct arpstat (12 FreeBSD fields + 2 appended)');
  const dv = new DataView(r.st.buffer);
  assert.equal(dv.getUint32((3 + 41 + 5 + 8) * 8, true), 1, 'icps_inhist[ICMP_ECHO] in the jail');
  assert.equal(r.maxage, 1200);
  assert.equal(r.maxhold, 16);
  assert.equal(r.bm, 0);
  assert.equal(r.lim, 7);
  assert.equal(
    inv(k, l.vb, () => V_icmplim.get()),
    7,
  );
  assert.equal(
    inv(k, l.va, () => V_icmplim.get()),
    200,
    'the other vnet is unaffected',
  );
});
