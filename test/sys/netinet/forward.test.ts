// Forwarding, mirroring FreeBSD's tests/sys/netinet/forward.sh (fwd_ip_icmp_*): a
// router vnet between two epairs with net.inet.ip.forwarding=1; one echo forwarded is
// exactly "1 packet forwarded" (ips_forward) in the router; TTL 1 gives time exceeded;
// forwarding off is ips_cantforward; a redirect when the packet leaves by the
// interface it came in on (redirect.sh valid_redirect); need-frag with the next-hop MTU.
// bootVimage: runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { delta, icmpstat, inv, ip, ipstat, lab3, ping1, route_add } from '../../lib/inet_lab.js';
import { eth_src_filter, tshark_lint } from '../../lib/tshark.js';
import { bpf_capture_pcapng } from '../../../src/net/bpf.js';
import { ether_sprintf } from '../../../src/net/ethernet.js';
import { V_ipforwarding } from '../../../src/netinet/ip_var.js';
import { V_rib } from '../../../src/netinet/in_var.js';
import { RTF_DYNAMIC, RTF_GATEWAY, RTF_HOST } from '../../../src/net/route.js';

test('fwd_ip_icmp_iface: one echo through the router is exactly 1 packet forwarded', async () => {
  const k = bootVimage();
  const cap = bpf_capture_pcapng(k);
  const l = lab3(k, false);
  await k.run_for(1);
  const r0 = ipstat(k, l.r);
  const h20 = icmpstat(k, l.h2);
  assert.equal(
    inv(k, l.h1, () => ping1(k, ip('198.51.100.2'))),
    0,
  );
  await k.run_for(2);
  const d = delta(r0, ipstat(k, l.r));
  assert.equal(d['ips_forward'], 1, '1 packet forwarded');
  assert.equal(d['ips_cantforward'], undefined);
  assert.equal(delta(h20, icmpstat(k, l.h2))['icps_inhist[8]'], 1);
  tshark_lint(cap.stop(), eth_src_filter(l.ifs.map((i) => ether_sprintf(i.if_lladdr!))));
});

test('fwd: the echo and its reply are both forwarded and the reply arrives', async () => {
  const k = bootVimage();
  const l = lab3(k);
  await k.run_for(1);
  const r0 = ipstat(k, l.r);
  const h10 = icmpstat(k, l.h1);
  assert.equal(
    inv(k, l.h1, () => ping1(k, ip('198.51.100.2'))),
    0,
  );
  await k.run_for(2);
  assert.equal(delta(r0, ipstat(k, l.r))['ips_forward'], 2);
  assert.equal(delta(h10, icmpstat(k, l.h1))['icps_inhist[0]'], 1);
});

test('TTL 1: the router answers time exceeded in transit and forwards nothing', async () => {
  const k = bootVimage();
  const l = lab3(k);
  await k.run_for(1);
  const r0 = ipstat(k, l.r);
  const ri0 = icmpstat(k, l.r);
  const h10 = icmpstat(k, l.h1);
  assert.equal(
    inv(k, l.h1, () => ping1(k, ip('198.51.100.2'), { ttl: 1 })),
    0,
  );
  await k.run_for(1);
  assert.deepEqual(delta(r0, ipstat(k, l.r)), { ips_total: 1, ips_localout: 1 });
  assert.deepEqual(delta(ri0, icmpstat(k, l.r)), { icps_error: 1, 'icps_outhist[11]': 1 });
  assert.deepEqual(delta(h10, icmpstat(k, l.h1)), { 'icps_inhist[11]': 1 });
});

test('forwarding off: not forwarded, ips_cantforward', async () => {
  const k = bootVimage();
  const l = lab3(k);
  inv(k, l.r, () => V_ipforwarding.set(0));
  await k.run_for(1);
  const r0 = ipstat(k, l.r);
  const h20 = icmpstat(k, l.h2);
  inv(k, l.h1, () => ping1(k, ip('198.51.100.2')));
  await k.run_for(1);
  assert.deepEqual(delta(r0, ipstat(k, l.r)), { ips_total: 1, ips_cantforward: 1 });
  assert.deepEqual(delta(h20, icmpstat(k, l.h2)), {});
});

test('valid_redirect: same interface in and out sends a redirect; the host installs it', async () => {
  const k = bootVimage();
  const l = lab3(k);
  /* The router reaches 203.0.113.0/24 through 192.0.2.3, on h1's own link. */
  inv(k, l.r, () => route_add('203.0.113.0/24', '192.0.2.3'));
  await k.run_for(1);
  const r0 = ipstat(k, l.r);
  const h10 = icmpstat(k, l.h1);
  inv(k, l.h1, () => ping1(k, ip('203.0.113.5')));
  await k.run_for(0.5);
  const d = delta(r0, ipstat(k, l.r));
  assert.equal(d['ips_forward'], 1);
  assert.equal(d['ips_redirectsent'], 1);
  assert.equal(delta(h10, icmpstat(k, l.h1))['icps_inhist[5]'], 1);
  const rt = inv(k, l.h1, () => V_rib.get().get(ip('203.0.113.5'), 32).rt);
  assert.ok(rt, 'a host route was installed');
  assert.equal(rt.rt_gateway.kind === 'inet' && rt.rt_gateway.addr, ip('192.0.2.3'));
  assert.equal(
    rt.rt_flags & (RTF_GATEWAY | RTF_HOST | RTF_DYNAMIC),
    RTF_GATEWAY | RTF_HOST | RTF_DYNAMIC,
  );
});

test('need-frag: DF too big for the next link gives ICMP unreach with the next-hop MTU', async () => {
  const k = bootVimage();
  const l = lab3(k);
  l.ifs[2]!.if_mtu = 1280;
  await k.run_for(1);
  const r0 = ipstat(k, l.r);
  const h10 = icmpstat(k, l.h1);
  inv(k, l.h1, () => ping1(k, ip('198.51.100.2'), { df: true, datalen: 1400 }));
  await k.run_for(1);
  const d = delta(r0, ipstat(k, l.r));
  assert.equal(d['ips_cantforward'], 1);
  assert.equal(d['ips_cantfrag'], 2, 'ip_output and ip_forward each count it, as FreeBSD');
  assert.equal(delta(h10, icmpstat(k, l.h1))['icps_inhist[3]'], 1);
});
