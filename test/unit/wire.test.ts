import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ETHERMTU,
  ETHERTYPE_ARP,
  ETHERTYPE_IP,
  ETHERTYPE_IPV6,
  ETHERTYPE_VLAN,
  ETHER_ADDR_LEN,
  ETHER_HDR_LEN,
  ETHER_IS_BROADCAST,
  ETHER_IS_MULTICAST,
  ETHER_MIN_LEN,
  EtherHeader,
  ether_addr_bytes,
  ether_addr_from,
  ether_aton,
  ether_check,
  ether_emit,
  ether_parse,
  ether_sprintf,
  type ether_addr_t,
} from '../../src/net/ethernet.js';
import {
  ARPOP_REPLY,
  ARPOP_REQUEST,
  ETHER_ARP_LEN,
  EtherArp,
  arp_check,
  arp_emit,
  arp_parse,
} from '../../src/netinet/if_ether_hdr.js';
import {
  AF_INET,
  IN_CLASSA,
  IN_CLASSB,
  IN_CLASSC,
  IN_CLASSD,
  IN_EXPERIMENTAL,
  IN_LINKLOCAL,
  IN_LOOPBACK,
  IN_MULTICAST,
  IN_PRIVATE,
  INADDR_ANY,
  INADDR_BROADCAST,
  INADDR_LOOPBACK,
  SOCKADDR_IN_SIZE,
  in_addr,
  in_broadcast_of,
  in_classful_mask,
  in_len2mask,
  in_mask2len,
  inet_aton,
  inet_ntoa,
  inet_pton4,
  sockaddr_in,
  sockaddr_in_check,
  sockaddr_in_decode,
  sockaddr_in_encode,
} from '../../src/netinet/in.js';
import { EAFNOSUPPORT, EINVAL } from '../../src/sys/errno.js';
import {
  IPOPT_NOP,
  IPOPT_RR,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IP_DF,
  IP_MF,
  IP_OFFMASK,
  Ip,
  ip_check,
  ip_emit,
  ip_opt_check,
  ip_opt_find,
  ip_parse,
  ip_rr_record,
} from '../../src/netinet/ip.js';
import {
  ICMP_ECHO,
  ICMP_ECHOREPLY,
  ICMP_PARAMPROB,
  ICMP_REDIRECT,
  ICMP_TIMXCEED,
  ICMP_UNREACH,
  ICMP_UNREACH_NEEDFRAG,
  ICMP_UNREACH_PORT,
  ICMP_INFOTYPE,
  Icmp,
  icmp_check,
  icmp_check_adv,
  icmp_emit,
  icmp_parse,
} from '../../src/netinet/ip_icmp.js';
import { UDP_HDR_LEN, Udphdr, udp_check, udp_emit, udp_parse } from '../../src/netinet/udp.js';
import {
  TH_ACK,
  TH_AE,
  TH_CWR,
  TH_FIN,
  TH_SYN,
  TOF_MSS,
  TOF_SACK,
  TOF_SACKPERM,
  TOF_SCALE,
  TOF_TS,
  TO_SYN,
  Tcphdr,
  Tcpopt,
  tcp_check,
  tcp_dooptions,
  tcp_emit,
  tcp_get_flags,
  tcp_parse,
  tcp_set_flags,
  type tcp_seq,
} from '../../src/netinet/tcp.js';

function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, '');
  return Uint8Array.from(t.match(/../g)!.map((x) => parseInt(x, 16)));
}

// A frame assembled by hand from RFC 894/791/792: Ethernet / IPv4 / ICMP echo request
// 192.0.2.1 -> 192.0.2.2, TTL 64, id 0x1c46, DF, 8 data bytes; both checksums worked out
// by hand (IP: ~0x6570 = 0x9a8f, ICMP: ~0x2a49 = 0xd5b6).
const ECHO_FRAME = hex(`
  02 00 00 00 00 0b 02 00 00 00 00 0a 08 00
  45 00 00 24 1c 46 40 00 40 01 9a 8f c0 00 02 01 c0 00 02 02
  08 00 d5 b6 12 34 00 01 01 02 03 04 05 06 07 08`);

test('ethernet: constants, view offsets, MAC helpers, round trip', () => {
  assert.equal(ETHER_ADDR_LEN, 6);
  assert.equal(ETHER_HDR_LEN, 14);
  assert.equal(ETHERMTU, 1500);
  assert.equal(ETHER_MIN_LEN, 64);
  assert.deepEqual(
    [ETHERTYPE_IP, ETHERTYPE_ARP, ETHERTYPE_IPV6, ETHERTYPE_VLAN],
    [0x0800, 0x0806, 0x86dd, 0x8100],
  );
  const eh = new EtherHeader(ECHO_FRAME);
  assert.equal(ether_sprintf(eh.ether_dhost), '02:00:00:00:00:0b');
  assert.equal(ether_sprintf(eh.ether_shost), '02:00:00:00:00:0a');
  assert.equal(ether_sprintf(ECHO_FRAME, 6), '02:00:00:00:00:0a');
  assert.equal(eh.ether_type, ETHERTYPE_IP);
  assert.equal(eh.payload(ECHO_FRAME.length).length, ECHO_FRAME.length - 14);
  assert.equal(ether_aton('2:0:0:0:0:b'), eh.ether_dhost);
  assert.equal(ether_aton('02:00:00:00:00:0B'), eh.ether_dhost);
  assert.equal(ether_aton('02:00:00:00:00'), null);
  assert.equal(ether_aton('02:00:00:00:00:100'), null);
  assert.equal(ether_sprintf(0xffffffffffff), 'ff:ff:ff:ff:ff:ff');
  const a = ether_aton('ab:cd:ef:01:23:45')!;
  assert.deepEqual(Array.from(ether_addr_bytes(a)), [0xab, 0xcd, 0xef, 1, 0x23, 0x45]);
  assert.equal(ether_addr_from([0xab, 0xcd, 0xef, 1, 0x23, 0x45]), a);
  assert.ok(ETHER_IS_MULTICAST(ether_aton('01:00:5e:00:00:01')!));
  assert.ok(ETHER_IS_MULTICAST(a), '0xab has the group bit');
  assert.ok(!ETHER_IS_MULTICAST(ether_aton('02:00:00:00:00:01')!));
  assert.ok(!ETHER_IS_BROADCAST(a));
  assert.ok(ETHER_IS_MULTICAST(ether_aton('ff:ff:ff:ff:ff:ff')!));
  assert.ok(ETHER_IS_BROADCAST(ether_aton('ff:ff:ff:ff:ff:ff')!));
  // Setters write in place at the RFC 894 offsets.
  const b = new Uint8Array(14);
  const v = new EtherHeader(b);
  v.ether_dhost = a;
  v.ether_type = ETHERTYPE_ARP;
  assert.deepEqual(Array.from(b.subarray(0, 6)), [0xab, 0xcd, 0xef, 1, 0x23, 0x45]);
  assert.deepEqual([b[12], b[13]], [0x08, 0x06]);
  const r = ether_parse(ECHO_FRAME)!;
  const out = new Uint8Array(14);
  ether_emit(r, out);
  assert.deepEqual(ether_parse(out), r);
  assert.deepEqual(out, ECHO_FRAME.subarray(0, 14));
  assert.equal(ether_check(13), 'if_ierrors');
  assert.equal(ether_check(14), null);
  assert.equal(ether_parse(ECHO_FRAME, 0, 13), null);
});

test('ip: a captured header decodes to the right fields', () => {
  const ip = new Ip(ECHO_FRAME, 14);
  assert.equal(ip.ip_v, 4);
  assert.equal(ip.ip_hl, 5);
  assert.equal(ip.hlen, 20);
  assert.equal(ip.ip_tos, 0);
  assert.equal(ip.ip_len, 36);
  assert.equal(ip.ip_id, 0x1c46);
  assert.equal(ip.ip_off, IP_DF);
  assert.equal(ip.ip_off & IP_OFFMASK, 0);
  assert.equal(ip.ip_ttl, 64);
  assert.equal(ip.ip_p, IPPROTO_ICMP);
  assert.equal(ip.ip_sum, 0x9a8f);
  assert.equal(inet_ntoa(ip.ip_src), '192.0.2.1');
  assert.equal(ip.ip_dst, 0xc0000202);
  assert.ok(ip.checksumOk());
  assert.equal(ip_check(ECHO_FRAME, 14, ECHO_FRAME.length - 14), null);
  assert.equal(ip.payload().length, 16);
  // Setters land at RFC 791 offsets.
  const h = new Uint8Array(20);
  const v = new Ip(h);
  v.ip_v = 4;
  v.ip_hl = 5;
  v.ip_off = IP_MF | 185;
  v.ip_src = 0xc0000201;
  v.ip_p = IPPROTO_UDP;
  assert.equal(h[0], 0x45);
  assert.deepEqual([h[6], h[7]], [0x20, 185]);
  assert.deepEqual(Array.from(h.subarray(12, 16)), [192, 0, 2, 1]);
  assert.equal(h[9], 17);
  v.setChecksum();
  assert.ok(v.checksumOk());
});

test('ip: the widely published sample header, readdressed to 192.0.2.0/24, decodes', () => {
  // 192.0.2.1 -> 192.0.2.199, UDP, total length 115, DF, TTL 64, sum 0xb5b1.
  const h = hex('4500 0073 0000 4000 4011 b5b1 c000 0201 c000 02c7');
  const r = ip_parse(h)!;
  assert.equal(r.ip_v, 4);
  assert.equal(r.ip_hl, 5);
  assert.equal(r.ip_len, 115);
  assert.equal(r.ip_off, IP_DF);
  assert.equal(r.ip_ttl, 64);
  assert.equal(r.ip_p, IPPROTO_UDP);
  assert.equal(r.ip_sum, 0xb5b1);
  assert.equal(inet_ntoa(r.ip_src), '192.0.2.1');
  assert.equal(inet_ntoa(r.ip_dst), '192.0.2.199');
  assert.ok(new Ip(h).checksumOk());
  assert.equal(ip_check(h, 0, 20), 'ips_tooshort', 'the 95 payload bytes are missing');
});

test('ip: parse(emit(x)) == x, with options', () => {
  const r = ip_parse(ECHO_FRAME, 14)!;
  const out = new Uint8Array(60);
  const n = ip_emit(r, out);
  assert.equal(n, 20);
  assert.deepEqual(ip_parse(out, 0, n), r);
  assert.deepEqual(out.subarray(0, 20), ECHO_FRAME.subarray(14, 34));
  const withOpts = {
    ...r,
    ip_hl: 7,
    ip_len: 28,
    options: Uint8Array.of(IPOPT_NOP, IPOPT_RR, 7, 4, 0, 0, 0, 0),
  };
  const m = ip_emit(withOpts, out);
  assert.equal(m, 28);
  assert.deepEqual(ip_parse(out, 0, 28), withOpts);
});

test('ip_check: each drop reason, in FreeBSD order', () => {
  const good = ECHO_FRAME.slice(14);
  const n = good.length;
  assert.equal(ip_check(good, 0, 19), 'ips_toosmall');
  const bv = good.slice();
  bv[0] = 0x65;
  assert.equal(ip_check(bv, 0, n), 'ips_badvers');
  const bh = good.slice();
  bh[0] = 0x44;
  assert.equal(ip_check(bh, 0, n), 'ips_badhlen');
  const bh2 = good.slice();
  bh2[0] = 0x4f; // 60 bytes > 36
  assert.equal(ip_check(bh2, 0, n), 'ips_badhlen');
  const bs = good.slice();
  bs[11]! ^= 1;
  assert.equal(ip_check(bs, 0, n), 'ips_badsum');
  assert.equal(ip_check(bs, 0, n, false), null, 'sum check skipped (CSUM_IP_VALID)');
  const bl = good.slice();
  new Ip(bl).ip_len = 19;
  new Ip(bl).setChecksum();
  assert.equal(ip_check(bl, 0, n), 'ips_badlen');
  const ts = good.slice();
  new Ip(ts).ip_len = 100;
  new Ip(ts).setChecksum();
  assert.equal(ip_check(ts, 0, n), 'ips_tooshort');
});

test('ip options: check, find, record route', () => {
  const h = new Uint8Array(32);
  const v = new Ip(h);
  v.ip_v = 4;
  v.ip_hl = 8;
  h.set([IPOPT_NOP, IPOPT_RR, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0], 20);
  assert.equal(ip_opt_check(h, 0, 32), -1);
  const cp = ip_opt_find(h, 0, 32, IPOPT_RR);
  assert.equal(cp, 21);
  assert.ok(ip_rr_record(h, 0, cp, 0xc0000201));
  assert.ok(ip_rr_record(h, 0, cp, 0xc0000202));
  assert.ok(!ip_rr_record(h, 0, cp, 0xc0000203), 'full');
  assert.deepEqual(Array.from(h.subarray(24, 32)), [192, 0, 2, 1, 192, 0, 2, 2]);
  assert.equal(h[23], 12);
  // Bad option length points at the length byte; bad pointer at the pointer byte.
  const bad = h.slice();
  bad[22] = 40;
  assert.equal(ip_opt_check(bad, 0, 32), 22);
  const badp = h.slice();
  badp[23] = 2;
  assert.equal(ip_opt_check(badp, 0, 32), 23);
  const trunc = h.slice();
  trunc[31] = IPOPT_RR; // option kind in the last byte: no room for its length
  trunc[21] = IPOPT_NOP;
  trunc.fill(IPOPT_NOP, 22, 31);
  assert.equal(ip_opt_check(trunc, 0, 32), 32);
});

test('icmp: union fields at their offsets, checks, round trip', () => {
  const ic = new Icmp(ECHO_FRAME, 34);
  assert.equal(ic.icmp_type, ICMP_ECHO);
  assert.equal(ic.icmp_code, 0);
  assert.equal(ic.icmp_id, 0x1234);
  assert.equal(ic.icmp_seq, 1);
  assert.equal(icmp_check(ECHO_FRAME, 34, 16), null);
  assert.equal(icmp_check(ECHO_FRAME, 34, 7), 'icps_tooshort');
  const bad = ECHO_FRAME.slice();
  bad[40]! ^= 0xff;
  assert.equal(icmp_check(bad, 34, 16), 'icps_checksum');
  const b = new Uint8Array(36);
  const v = new Icmp(b);
  v.icmp_type = ICMP_UNREACH;
  v.icmp_code = ICMP_UNREACH_NEEDFRAG;
  v.icmp_nextmtu = 1400;
  assert.deepEqual([b[4], b[5], b[6], b[7]], [0, 0, 0x05, 0x78]);
  v.icmp_pptr = 20;
  assert.equal(b[4], 20);
  v.icmp_gwaddr = 0xc0000201;
  assert.deepEqual(Array.from(b.subarray(4, 8)), [192, 0, 2, 1]);
  b[8] = 0x45;
  v.setChecksum(36);
  assert.equal(icmp_check(b, 0, 36), null);
  assert.equal(icmp_check_adv(b, 0, 36), null);
  assert.equal(icmp_check_adv(b, 0, 35), 'icps_badlen');
  b[8] = 0x46;
  assert.equal(icmp_check_adv(b, 0, 36), 'icps_badlen', 'quoted header with options needs more');
  b[8] = 0x44;
  assert.equal(icmp_check_adv(b, 0, 36), 'icps_badlen');
  const r = icmp_parse(ECHO_FRAME, 34, 16)!;
  const out = new Uint8Array(8);
  icmp_emit(r, out);
  assert.deepEqual(icmp_parse(out), r);
  assert.deepEqual(out, ECHO_FRAME.subarray(34, 42));
  assert.deepEqual(
    [ICMP_ECHOREPLY, ICMP_UNREACH, ICMP_REDIRECT, ICMP_ECHO, ICMP_TIMXCEED, ICMP_PARAMPROB],
    [0, 3, 5, 8, 11, 12],
  );
  assert.equal(ICMP_UNREACH_PORT, 3);
  assert.ok(ICMP_INFOTYPE(ICMP_ECHO) && !ICMP_INFOTYPE(ICMP_UNREACH));
});

test('udp: offsets, checks, round trip', () => {
  const src = inet_aton('192.0.2.1')!;
  const dst = inet_aton('192.0.2.2')!;
  const b = new Uint8Array(13);
  const v = new Udphdr(b);
  v.uh_sport = 5353;
  v.uh_dport = 53;
  v.uh_ulen = 13;
  b.set([104, 101, 108, 108, 111], 8);
  v.setChecksum(src, dst);
  assert.deepEqual(Array.from(b.subarray(0, 6)), [0x14, 0xe9, 0x00, 0x35, 0x00, 13]);
  assert.equal(udp_check(b, 0, 13, src, dst), null);
  assert.equal(udp_check(b, 0, 7, src, dst), 'udps_hdrops');
  assert.equal(udp_check(b, 0, 12, src, dst), 'udps_badlen');
  const bs = b.slice();
  bs[12]! ^= 1;
  assert.equal(udp_check(bs, 0, 13, src, dst), 'udps_badsum');
  bs[6] = bs[7] = 0;
  assert.equal(udp_check(bs, 0, 13, src, dst), null, 'zero sum: no checksum');
  assert.equal(new TextDecoder().decode(v.payload()), 'hello');
  const r = udp_parse(b)!;
  const out = new Uint8Array(UDP_HDR_LEN);
  udp_emit(r, out);
  assert.deepEqual(udp_parse(out), r);
});

test('tcp: offsets, 12-bit flags, checks, options, round trip', () => {
  const src = in_addr(0xc0000201);
  const dst = in_addr(0xc0000202);
  const b = new Uint8Array(44);
  const v = new Tcphdr(b);
  v.th_sport = 40000;
  v.th_dport = 80;
  v.th_seq = 0xfffffffe;
  v.th_ack = 1;
  v.th_off = 11;
  tcp_set_flags(v, TH_SYN | TH_ACK | TH_CWR | TH_AE);
  v.th_win = 65535;
  // MSS 1460, NOP, WS 7, SACK_PERMITTED, TS 1/0, NOP NOP, SACK is ignored on SYN
  b.set([2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0], 20);
  v.setChecksum(44, src, dst);
  assert.equal(b[12], 0xb1, 'th_off 11 in the high nibble, AE in the low bit');
  assert.equal(b[13], TH_SYN | TH_ACK | TH_CWR);
  assert.equal(tcp_get_flags(v), TH_SYN | TH_ACK | TH_CWR | TH_AE);
  assert.deepEqual(Array.from(b.subarray(4, 8)), [0xff, 0xff, 0xff, 0xfe]);
  assert.equal(v.th_seq, 0xfffffffe);
  assert.equal(tcp_check(b, 0, 44, src, dst), null);
  assert.equal(tcp_check(b, 0, 19, src, dst), 'tcps_rcvshort');
  const bs = b.slice();
  bs[43]! ^= 1;
  assert.equal(tcp_check(bs, 0, 44, src, dst), 'tcps_rcvbadsum');
  const bo = b.slice();
  new Tcphdr(bo).th_off = 4;
  new Tcphdr(bo).setChecksum(44, src, dst);
  assert.equal(tcp_check(bo, 0, 44, src, dst), 'tcps_rcvbadoff');
  const to = new Tcpopt();
  tcp_dooptions(to, b, 20, v.hlen - 20, TO_SYN);
  assert.equal(to.to_flags, TOF_MSS | TOF_SCALE | TOF_SACKPERM | TOF_TS);
  assert.equal(to.to_mss, 1460);
  assert.equal(to.to_wscale, 7);
  assert.equal(to.to_tsval, 1);
  tcp_dooptions(to, b, 20, v.hlen - 20, 0);
  assert.equal(to.to_flags, TOF_TS, 'SYN-only options ignored otherwise');
  const sack = Uint8Array.of(1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 9);
  tcp_dooptions(to, sack, 0, sack.length, 0);
  assert.equal(to.to_flags, TOF_SACK);
  assert.equal(to.to_nsacks, 1);
  assert.equal(to.to_sacks, 4);
  const broken = Uint8Array.of(2, 40, 5, 0xb4);
  tcp_dooptions(to, broken, 0, 4, TO_SYN);
  assert.equal(to.to_flags, 0, 'bad length ends parsing');
  const r = tcp_parse(b)!;
  assert.equal(r.th_flags & TH_FIN, 0);
  const out = new Uint8Array(44);
  const n = tcp_emit(r, out);
  assert.equal(n, 44);
  assert.deepEqual(tcp_parse(out, 0, n), r);
  assert.deepEqual(out, b);
  const seq: tcp_seq = v.th_ack;
  assert.equal(seq, 1);
});

test('arp: layout, checks, round trip', () => {
  // who-has 192.0.2.2 tell 192.0.2.1 (RFC 826 field order)
  const pkt = hex(`00 01 08 00 06 04 00 01 02 00 00 00 00 0a c0 00 02 01
                   00 00 00 00 00 00 c0 00 02 02`);
  assert.equal(pkt.length, ETHER_ARP_LEN);
  assert.equal(arp_check(pkt, 0, 28), null);
  const v = new EtherArp(pkt);
  assert.equal(v.ar_op, ARPOP_REQUEST);
  assert.equal(ether_sprintf(v.arp_sha), '02:00:00:00:00:0a');
  assert.equal(inet_ntoa(v.arp_spa), '192.0.2.1');
  assert.equal(v.arp_tha, 0);
  assert.equal(inet_ntoa(v.arp_tpa), '192.0.2.2');
  const r = arp_parse(pkt)!;
  const out = new Uint8Array(28);
  arp_emit(r, out);
  assert.deepEqual(out, pkt);
  assert.deepEqual(arp_parse(out), r);
  const reply = { ...r, ar_op: ARPOP_REPLY, arp_tha: 0x02000000000b as ether_addr_t };
  arp_emit(reply, out);
  assert.deepEqual(arp_parse(out), reply);
  assert.equal(arp_check(pkt, 0, 7), 'arp_short_header');
  assert.equal(arp_check(pkt, 0, 27), 'arp_short_packet');
  const bad = (i: number, val: number): Uint8Array => {
    const c = pkt.slice();
    c[i] = val;
    return c;
  };
  assert.equal(arp_check(bad(1, 9), 0, 28), 'arp_bad_hrd');
  assert.equal(arp_check(bad(4, 5), 0, 28), 'arp_bad_hln');
  assert.equal(arp_check(bad(2, 0x86), 0, 28), 'arp_bad_pro');
  assert.equal(arp_check(bad(5, 3), 0, 28), 'arp_bad_pln');
});

test('in: dotted quads, classes, masks', () => {
  assert.equal(inet_ntoa(INADDR_LOOPBACK), '127.0.0.1');
  assert.equal(inet_aton('198.51.100.3'), 0xc6336403);
  assert.equal(inet_aton('192.513'), 0xc0000201, 'a.b form: b is 24 bits');
  assert.equal(inet_aton('203.0.28929'), 0xcb007101, 'a.b.c form: c is 16 bits');
  assert.equal(inet_aton('0x7f.1'), 0x7f000001);
  assert.equal(inet_aton('0300.0.2.1'), 0xc0000201, 'octal part');
  assert.equal(inet_aton('3221225985'), 0xc0000201);
  assert.equal(inet_aton('192.0.2.256'), null);
  assert.equal(inet_aton('192..2'), null);
  assert.equal(inet_aton('192.0.2.1.5'), null);
  assert.equal(inet_aton('abc'), null);
  assert.equal(inet_pton4('198.51.100.1'), 0xc6336401);
  assert.equal(inet_pton4('198.51.0100.1'), null);
  assert.equal(inet_pton4('192.0'), null);
  assert.equal(INADDR_ANY, 0);
  assert.equal(INADDR_BROADCAST, 0xffffffff);
  assert.ok(IN_CLASSA(0x7f000001) && !IN_CLASSB(0x7f000001));
  assert.ok(IN_CLASSB(0xa9fe0101) && IN_CLASSC(0xc0000201) && IN_CLASSD(0xe0000001));
  assert.ok(IN_MULTICAST(0xefffffff) && !IN_MULTICAST(0xf0000000));
  assert.ok(IN_EXPERIMENTAL(0xf0000000));
  assert.ok(IN_LOOPBACK(0x7f000005) && IN_LINKLOCAL(0xa9fe0101) && IN_PRIVATE(0xc0a80001));
  assert.equal(in_len2mask(24), 0xffffff00);
  assert.equal(in_len2mask(0), 0);
  assert.equal(in_len2mask(32), 0xffffffff);
  assert.equal(in_len2mask(1), 0x80000000);
  for (let l = 0; l <= 32; l++) assert.equal(in_mask2len(in_len2mask(l)), l);
  assert.equal(in_mask2len(0xff00ff00), -1);
  assert.equal(in_classful_mask(0x7f000001), 0xff000000);
  assert.equal(in_classful_mask(0xc0000201), 0xffffff00);
  assert.equal(in_broadcast_of(0xc0000205, 0xffffff00), 0xc00002ff);
});

test('sockaddr_in: 16 bytes, port at offset 2 in network order', () => {
  const sin = sockaddr_in(inet_aton('192.0.2.7')!, 8080);
  const b = new Uint8Array(20).fill(0xee);
  assert.equal(sockaddr_in_encode(sin, b, 2), SOCKADDR_IN_SIZE);
  assert.equal(SOCKADDR_IN_SIZE, 16);
  assert.deepEqual(Array.from(b.subarray(2, 18)), [
    16,
    AF_INET,
    0x1f,
    0x90,
    192,
    0,
    2,
    7,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  assert.equal(b[18], 0xee, 'nothing written past 16 bytes');
  assert.deepEqual(sockaddr_in_decode(b, 2), sin);
  assert.equal(sockaddr_in_decode(b, 5), null);
  assert.equal(sockaddr_in_check(sin), 0);
  assert.equal(sockaddr_in_check({ ...sin, sin_len: 8 }), EINVAL);
  assert.equal(sockaddr_in_check({ ...sin, sin_family: 28 }), EAFNOSUPPORT);
});

test('protocol numbers', () => {
  assert.deepEqual([IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP], [1, 6, 17]);
});
