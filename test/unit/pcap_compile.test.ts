// libpcap's filter language (src/lib/pcap_compile.ts): every primitive compiled and run
// through bpf_filter against hand-built frames, fragments and IPv4 options for ports,
// and/or/not precedence, qualifier inheritance, error messages and tcpdump -d output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bpf_dump, bpf_image, pcap_compile } from '../../src/lib/pcap_compile.js';
import {
  bpf_filter,
  bpf_validate,
  DLT_EN10MB,
  DLT_NULL,
  type bpf_insn,
} from '../../src/net/bpf_filter.js';

/* ------------------------------------------------------------ frame builders */

type Mac = readonly number[];
const MAC_A: Mac = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: Mac = [0x02, 0, 0, 0, 0, 0x0b];
const BCAST: Mac = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const MCAST: Mac = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01];

const ip4 = (s: string): number[] => s.split('.').map(Number);
const A = '198.51.100.1';
const B = '198.51.100.2';
const C = '203.0.113.9';

function be16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff];
}

function ether(dst: Mac, src: Mac, type: number, payload: readonly number[]): Uint8Array {
  return Uint8Array.from([...dst, ...src, ...be16(type), ...payload]);
}

interface Ip4Opts {
  src?: string;
  dst?: string;
  p: number;
  payload: readonly number[];
  /** option bytes (a multiple of 4) */
  opts?: readonly number[];
  /** fragment offset in 8-byte units */
  fragoff?: number;
  mf?: boolean;
  ttl?: number;
}

function ipv4(o: Ip4Opts): number[] {
  const opts = o.opts ?? [];
  const hl = 20 + opts.length;
  const len = hl + o.payload.length;
  const off = (o.fragoff ?? 0) | (o.mf ? 0x2000 : 0);
  return [
    0x40 | (hl >> 2),
    0,
    ...be16(len),
    ...be16(0x1234),
    ...be16(off),
    o.ttl ?? 64,
    o.p,
    0,
    0, // checksum: not needed for filtering
    ...ip4(o.src ?? A),
    ...ip4(o.dst ?? B),
    ...opts,
    ...o.payload,
  ];
}

function ipv6(nh: number, payload: readonly number[]): number[] {
  const addr = (last: number): number[] => [
    0x20,
    0x01,
    0x0d,
    0xb8,
    ...new Array<number>(11).fill(0),
    last,
  ];
  return [0x60, 0, 0, 0, ...be16(payload.length), nh, 64, ...addr(1), ...addr(2), ...payload];
}

const TH_FIN = 0x01;
const TH_SYN = 0x02;
const TH_ACK = 0x10;

function tcp(sport: number, dport: number, flags: number): number[] {
  return [
    ...be16(sport),
    ...be16(dport),
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0x50,
    flags,
    0xff,
    0xff,
    0,
    0,
    0,
    0,
  ];
}

function udp(sport: number, dport: number, data: readonly number[] = [1, 2, 3, 4]): number[] {
  return [...be16(sport), ...be16(dport), ...be16(8 + data.length), 0, 0, ...data];
}

function icmp(type: number, code = 0): number[] {
  return [type, code, 0, 0, 0, 7, 0, 1];
}

function arp(op: number, spa: string, tpa: string, ethertype = 0x0806): Uint8Array {
  const body = [
    0,
    1,
    8,
    0,
    6,
    4,
    ...be16(op),
    ...MAC_A,
    ...ip4(spa),
    0,
    0,
    0,
    0,
    0,
    0,
    ...ip4(tpa),
  ];
  return ether(op === 1 ? BCAST : MAC_B, MAC_A, ethertype, body);
}

const ip4frame = (o: Ip4Opts, dst: Mac = MAC_B, src: Mac = MAC_A): Uint8Array =>
  ether(dst, src, 0x0800, ipv4(o));

/** The frames every expression is tried against. */
const F = {
  tcpSyn: ip4frame({ p: 6, payload: tcp(40000, 80, TH_SYN) }),
  tcpSynAck: ip4frame({ src: B, dst: A, p: 6, payload: tcp(80, 40000, TH_SYN | TH_ACK) }),
  tcpAck443: ip4frame({ src: A, dst: C, p: 6, payload: tcp(40001, 443, TH_ACK) }),
  tcpFin: ip4frame({ p: 6, payload: tcp(40000, 80, TH_FIN | TH_ACK) }),
  udpDns: ip4frame({ src: A, dst: C, p: 17, payload: udp(5353, 53), ttl: 5 }),
  udpDnsOpts: ip4frame({ src: C, dst: A, p: 17, payload: udp(53, 5353), opts: [1, 1, 1, 0] }),
  udpFragFirst: ip4frame({ p: 17, payload: udp(1000, 53), mf: true }),
  udpFragLater: ip4frame({ p: 17, payload: [0, 0, 0, 53, 0, 0, 0, 53], fragoff: 185 }),
  icmpEcho: ip4frame({ p: 1, payload: icmp(8) }),
  icmpUnreach: ip4frame({ src: C, dst: A, p: 1, payload: icmp(3, 3) }),
  arpReq: arp(1, A, B),
  arpRepC: arp(2, C, A),
  rarp: arp(3, B, C, 0x8035),
  ip6tcp: ether(MAC_B, MAC_A, 0x86dd, ipv6(6, tcp(40000, 22, TH_SYN))),
  ip6udp: ether(MAC_B, MAC_A, 0x86dd, ipv6(17, udp(1000, 53))),
  ip6fragTcp: ether(MAC_B, MAC_A, 0x86dd, ipv6(44, [6, 0, 0, 1, 0, 0, 0, 9, ...tcp(1, 2, 0)])),
  bcastUdp: ip4frame({ src: A, dst: '255.255.255.255', p: 17, payload: udp(68, 67) }, BCAST),
  mcastUdp: ip4frame({ src: A, dst: '224.0.0.251', p: 17, payload: udp(5353, 5353) }, MCAST),
  lldp: ether(MCAST, MAC_B, 0x88cc, new Array<number>(46).fill(0)),
  big: ip4frame({ p: 17, payload: udp(9, 9, new Array<number>(1000).fill(0)) }),
  runt: Uint8Array.of(...MAC_B, ...MAC_A, 0x08),
};
type FrameName = keyof typeof F;
const ALL = Object.keys(F) as FrameName[];

function compile(expr: string, dlt = DLT_EN10MB, snaplen = 262144): bpf_insn[] {
  const r = pcap_compile(expr, dlt, snaplen);
  if ('error' in r) assert.fail(`${expr}: ${r.error}`);
  assert.ok(
    bpf_validate(r.prog),
    `${expr}: compiled program fails bpf_validate\n${bpf_dump(r.prog)}`,
  );
  return r.prog;
}

/** Frames the compiled filter matches; the unoptimised program must agree on each. */
function matching(expr: string): FrameName[] {
  const prog = compile(expr);
  const plain = pcap_compile(expr, DLT_EN10MB, 262144, { optimize: false });
  assert.ok('prog' in plain && bpf_validate(plain.prog), `${expr}: unoptimised`);
  return ALL.filter((n) => {
    const f = F[n];
    const r = bpf_filter(prog, f, f.length, f.length);
    assert.equal(r, bpf_filter(plain.prog, f, f.length, f.length), `${expr} on ${n}: optimiser`);
    return r !== 0;
  });
}

function expectMatch(expr: string, want: FrameName[]): void {
  assert.deepEqual(
    matching(expr),
    ALL.filter((n) => want.includes(n)),
    expr,
  );
}

const IP4: FrameName[] = [
  'tcpSyn',
  'tcpSynAck',
  'tcpAck443',
  'tcpFin',
  'udpDns',
  'udpDnsOpts',
  'udpFragFirst',
  'udpFragLater',
  'icmpEcho',
  'icmpUnreach',
  'bcastUdp',
  'mcastUdp',
  'big',
];
const TCP4: FrameName[] = ['tcpSyn', 'tcpSynAck', 'tcpAck443', 'tcpFin'];
const UDP4: FrameName[] = [
  'udpDns',
  'udpDnsOpts',
  'udpFragFirst',
  'udpFragLater',
  'bcastUdp',
  'mcastUdp',
  'big',
];

/* ------------------------------------------------------------ tests */

test('protocol names match the ethertype / IP protocol', () => {
  expectMatch('ip', IP4);
  expectMatch('arp', ['arpReq', 'arpRepC']);
  expectMatch('rarp', ['rarp']);
  expectMatch('ip6', ['ip6tcp', 'ip6udp', 'ip6fragTcp']);
  expectMatch('icmp', ['icmpEcho', 'icmpUnreach']);
  expectMatch('tcp', [...TCP4, 'ip6tcp', 'ip6fragTcp']);
  expectMatch('udp', [...UDP4, 'ip6udp']);
  expectMatch('ether proto 0x88cc', ['lldp']);
  expectMatch('ether proto \\arp', ['arpReq', 'arpRepC']);
  expectMatch('ip proto 17', UDP4);
  expectMatch('ip proto \\tcp', TCP4);
  expectMatch('ip6 proto 17', ['ip6udp']);
  expectMatch('proto 6', [...TCP4, 'ip6tcp', 'ip6fragTcp']);
});

test('host, src host, dst host: IPv4 addresses and ARP/RARP protocol addresses', () => {
  expectMatch(`host ${C}`, ['tcpAck443', 'udpDns', 'udpDnsOpts', 'icmpUnreach', 'arpRepC', 'rarp']);
  expectMatch(`src host ${C}`, ['udpDnsOpts', 'icmpUnreach', 'arpRepC']);
  expectMatch(`dst host ${C}`, ['tcpAck443', 'udpDns', 'rarp']);
  expectMatch(`ip host ${C}`, ['tcpAck443', 'udpDns', 'udpDnsOpts', 'icmpUnreach']);
  expectMatch(`arp host ${C}`, ['arpRepC']);
  expectMatch(`rarp dst host ${C}`, ['rarp']);
  expectMatch(`src and dst host ${A}`, []);
  expectMatch(`src or dst host ${B}`, [
    'tcpSyn',
    'tcpSynAck',
    'tcpFin',
    'udpFragFirst',
    'udpFragLater',
    'icmpEcho',
    'big',
    'arpReq',
    'rarp',
  ]);
  // A bare address is a host (default qualifiers).
  assert.deepEqual(matching(C), matching(`host ${C}`));
  // Names resolve only through the table we pass.
  const r = pcap_compile('host gw', DLT_EN10MB, 100, { hosts: new Map([['gw', 0xcb007109]]) });
  assert.ok('prog' in r);
  assert.deepEqual(r.prog, compile(`host ${C}`, DLT_EN10MB, 100));
});

test('net N/len and net N mask M (src/dst), partial networks', () => {
  const netAll = ALL.filter((n) => n !== 'lldp' && n !== 'runt' && !n.startsWith('ip6'));
  expectMatch('net 198.51.100.0/24', netAll);
  expectMatch('net 203.0.113.0/24', [
    'tcpAck443',
    'udpDns',
    'udpDnsOpts',
    'icmpUnreach',
    'arpRepC',
    'rarp',
  ]);
  expectMatch('src net 203.0.113.0 mask 255.255.255.0', ['udpDnsOpts', 'icmpUnreach', 'arpRepC']);
  expectMatch('dst net 203.0.113', ['tcpAck443', 'udpDns', 'rarp']);
  expectMatch('dst net 224.0.0.0/4', ['mcastUdp']);
  expectMatch('ip dst net 255.255.255.255/32', ['bcastUdp']);
  expectMatch('net 0.0.0.0/0', netAll);
  expectMatch('dst net 203', ['tcpAck443', 'udpDns', 'rarp']);
  expectMatch('dst net 203/8', ['tcpAck443', 'udpDns', 'rarp']);
  expectMatch('src net 198.51/16 and src net 198.51.100.0 mask 255.255.255.252', [
    'tcpSyn',
    'tcpSynAck',
    'tcpAck443',
    'tcpFin',
    'udpDns',
    'udpFragFirst',
    'udpFragLater',
    'icmpEcho',
    'bcastUdp',
    'mcastUdp',
    'big',
    'arpReq',
    'rarp',
  ]);
  // An address with a mask and no qualifier is a network, as in libpcap.
  assert.deepEqual(matching('203.0.113.0/24'), matching('net 203.0.113.0/24'));
});

test('port, src port, dst port, tcp/udp port, portrange, service names', () => {
  expectMatch('port 53', ['udpDns', 'udpDnsOpts', 'udpFragFirst', 'ip6udp']);
  expectMatch('port domain', ['udpDns', 'udpDnsOpts', 'udpFragFirst', 'ip6udp']);
  expectMatch('src port 53', ['udpDnsOpts']);
  expectMatch('dst port 53', ['udpDns', 'udpFragFirst', 'ip6udp']);
  expectMatch('tcp port 53', []);
  expectMatch('udp dst port 53', ['udpDns', 'udpFragFirst', 'ip6udp']);
  expectMatch('tcp port 80', ['tcpSyn', 'tcpSynAck', 'tcpFin']);
  expectMatch('tcp port http', ['tcpSyn', 'tcpSynAck', 'tcpFin']);
  expectMatch('tcp port 22', ['ip6tcp']);
  expectMatch('ip and tcp port 22', []);
  expectMatch('portrange 440-450', ['tcpAck443']);
  expectMatch('tcp dst portrange 1-1024', ['tcpSyn', 'tcpAck443', 'tcpFin', 'ip6tcp']);
  expectMatch('udp portrange 67-68', ['bcastUdp']);
  expectMatch('portrange 68-67', ['bcastUdp']);
});

test('ports on IPv4: header length from IHL, non-first fragments never match', () => {
  // udpDnsOpts has a 24-byte header (IHL 6): its source port 53 is at [38], not [34].
  expectMatch('src port 53', ['udpDnsOpts']);
  expectMatch('udp[0:2] = 53', ['udpDnsOpts']);
  // A non-first fragment carrying bytes that look like port 53 must not match.
  expectMatch('port 53 and ip[6:2] & 0x1fff != 0', []);
  expectMatch('ip[6:2] & 0x1fff != 0', ['udpFragLater']);
  expectMatch('udp[2:2] = 53', ['udpDns', 'udpFragFirst']);
  // The transport-layer loads check protocol and first fragment themselves.
  expectMatch('udp[0:2] = 0', []);
  // And the listing shows libpcap's sequence.
  const d = bpf_dump(compile('udp dst port 53'));
  assert.match(
    d,
    /ldh {6}\[20\]\n\(\d{3}\) jset {5}#0x1fff {10}jt \d+\tjf \d+\n\(\d{3}\) ldxb {5}4\*\(\[14\]&0xf\)\n\(\d{3}\) ldh {6}\[x \+ 16\]/,
  );
});

test('ether host/src/dst, broadcast, multicast', () => {
  expectMatch(
    'ether src 02:00:00:00:00:0a',
    ALL.filter((n) => n !== 'lldp'),
  );
  expectMatch('ether dst 02:00:00:00:00:0a', []);
  expectMatch(
    'ether host 02:00:00:00:00:0b',
    ALL.filter((n) => !['bcastUdp', 'mcastUdp', 'arpReq'].includes(n)),
  );
  expectMatch('ether src host 2:0:0:0:0:b', ['lldp']);
  expectMatch('ether dst host 2:0:0:0:0:b and not ip', [
    'arpRepC',
    'rarp',
    'ip6tcp',
    'ip6udp',
    'ip6fragTcp',
  ]);
  expectMatch('broadcast', ['bcastUdp', 'arpReq']);
  expectMatch('ether broadcast', ['bcastUdp', 'arpReq']);
  expectMatch('multicast', ['bcastUdp', 'arpReq', 'mcastUdp', 'lldp']);
  expectMatch('ether multicast and not broadcast', ['mcastUdp', 'lldp']);
  expectMatch('ip multicast', ['bcastUdp', 'mcastUdp']);
});

test('less, greater, len', () => {
  expectMatch('greater 1000', ['big']);
  expectMatch('less 20', ['runt']);
  expectMatch('len <= 20', ['runt']);
  expectMatch('len > 1000 - 10 * 2', ['big']);
  expectMatch('less 60 and arp', ['arpReq', 'arpRepC']); // 42-byte frames
});

test('tcp flags and byte/half/word accesses with comparisons', () => {
  expectMatch('tcp[tcpflags] & tcp-syn != 0', ['tcpSyn', 'tcpSynAck']);
  expectMatch('tcp[13] & 2 != 0', ['tcpSyn', 'tcpSynAck']);
  expectMatch('tcp[13] = 18', ['tcpSynAck']);
  expectMatch('tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn', ['tcpSyn']);
  expectMatch('tcp[tcpflags] & tcp-fin = 0', ['tcpSyn', 'tcpSynAck', 'tcpAck443']);
  expectMatch('tcp[2:2] >= 443', ['tcpSynAck', 'tcpAck443']);
  expectMatch('tcp[2:2] > 443', ['tcpSynAck']);
  expectMatch('tcp[2:2] < 443 and tcp[2:2] >= 80', ['tcpSyn', 'tcpFin']);
  expectMatch('tcp[4:4] = 1', TCP4);
  expectMatch('icmp[icmptype] = icmp-echo', ['icmpEcho']);
  expectMatch('icmp[icmptype] != icmp-echo', ['icmpUnreach']);
  expectMatch('ip[8] < 10', ['udpDns']);
  expectMatch('ether[12:2] = 0x88cc', ['lldp']);
  expectMatch('arp[7] = 2', ['arpRepC']);
  // Variable index and both sides non-constant.
  expectMatch('tcp[12 + 1] = 2', ['tcpSyn']);
  expectMatch('ip[2:2] + 14 = len', IP4);
  expectMatch(
    'ip[(ip[0] & 0xf) - 5 + 9] = 17',
    UDP4.filter((n) => n !== 'udpDnsOpts'),
  );
  expectMatch('udp[0:2] = udp[2:2]', ['mcastUdp', 'big']);
  expectMatch('ether[0] & 1 = 1 and ether[0:4] != 0xffffffff', ['mcastUdp', 'lldp']);
  expectMatch('ip[0] >> 4 = 4 and (ip[0] & 0xf) * 4 > 20', ['udpDnsOpts']);
  expectMatch('-1 = 0xffffffff and arp', ['arpReq', 'arpRepC']);
});

test('and/or/not, parentheses, equal precedence left to right', () => {
  // The 13-byte runt is rejected even by `not ip`: the load of [12] fails, and a failed
  // load rejects the packet whatever the expression around it says (BPF semantics).
  expectMatch('not ip', ['arpReq', 'arpRepC', 'rarp', 'ip6tcp', 'ip6udp', 'ip6fragTcp', 'lldp']);
  expectMatch('! tcp and ! udp and ip', ['icmpEcho', 'icmpUnreach']);
  expectMatch('tcp && port 80 || icmp', [
    'tcpSyn',
    'tcpSynAck',
    'tcpFin',
    'icmpEcho',
    'icmpUnreach',
  ]);
  // libpcap: `icmp or tcp and port 80` is `(icmp or tcp) and port 80`.
  expectMatch('icmp or tcp and port 80', ['tcpSyn', 'tcpSynAck', 'tcpFin']);
  expectMatch('icmp or (tcp and port 80)', [
    'tcpSyn',
    'tcpSynAck',
    'tcpFin',
    'icmpEcho',
    'icmpUnreach',
  ]);
  expectMatch('not (tcp or udp or icmp) and ip', []);
  expectMatch('not not arp', ['arpReq', 'arpRepC']);
  expectMatch('(((arp)))', ['arpReq', 'arpRepC']);
  expectMatch('', ALL);
});

test("qualifier inheritance: 'host A or B', 'port 80 or 443', through not and parens", () => {
  assert.deepEqual(matching(`host ${A} or ${C}`), matching(`host ${A} or host ${C}`));
  assert.deepEqual(matching(`src host ${B} or ${C}`), matching(`src host ${B} or src host ${C}`));
  expectMatch('tcp dst port 80 or 443', ['tcpSyn', 'tcpAck443', 'tcpFin']);
  // `not C` inherits `src host`: nothing from A is excluded.
  expectMatch(`ip and src host ${A} and not ${C}`, [
    'tcpSyn',
    'tcpAck443',
    'tcpFin',
    'udpDns',
    'udpFragFirst',
    'udpFragLater',
    'icmpEcho',
    'bcastUdp',
    'mcastUdp',
    'big',
  ]);
  assert.deepEqual(matching(`host ${A} and not ${C}`), matching(`host ${A} and not host ${C}`));
  assert.deepEqual(
    matching(`dst host ${B} or (${C} or ${A})`),
    matching(`dst host ${B} or dst host ${C} or dst host ${A}`),
  );
  // A keyword after `or` starts a new primitive, not an inherited value.
  expectMatch('port 53 or icmp', [
    'udpDns',
    'udpDnsOpts',
    'udpFragFirst',
    'ip6udp',
    'icmpEcho',
    'icmpUnreach',
  ]);
  expectMatch('port 80 or 1 = 0', ['tcpSyn', 'tcpSynAck', 'tcpFin']);
});

test('errors are values with libpcap messages, never exceptions', () => {
  const err = (e: string): string => {
    const r = pcap_compile(e, DLT_EN10MB, 65535);
    assert.ok('error' in r, `${e} should fail`);
    return r.error;
  };
  assert.equal(err('host'), 'syntax error');
  assert.equal(err('tcp and'), 'syntax error');
  assert.equal(err('(tcp'), 'syntax error');
  assert.equal(err('tcp)'), "syntax error near ')'");
  assert.equal(err('tcp port'), 'syntax error');
  assert.equal(err('ip[1:3] = 0'), 'data size must be 1, 2, or 4');
  assert.equal(err('host nosuchhost'), "unknown host 'nosuchhost'");
  assert.equal(err('port 70000'), 'illegal port number 70000 > 65535');
  assert.equal(err('portrange 1-70000'), 'illegal port number 70000 > 65535');
  assert.equal(err('port nosuchservice'), "unknown port 'nosuchservice'");
  assert.equal(err('net 198.18.0.1/15'), 'non-network bits set in "198.18.0.1/15"');
  assert.equal(err('net 198.18.0.0/33'), 'mask length must be <= 32');
  assert.equal(err('host 198.18.0.0/15'), 'Mask syntax for networks only');
  assert.equal(err('host 192.0.2.256'), "invalid IPv4 address '192.0.2.256'");
  assert.equal(err('ip broadcast'), "netmask not known, so 'ip broadcast' not supported");
  assert.equal(err('tcp host 192.0.2.4'), "'tcp' modifier applied to host");
  assert.equal(err('ip proto nosuch'), "unknown ip proto 'nosuch'");
  assert.equal(err('ip[0] / 0 = 1'), 'division by zero');
  assert.equal(err('host 192.0.2.4 $'), "illegal character '$'");
  assert.equal(err('ether host 192.0.2.4'), 'illegal ether address');
  assert.equal(err('ip ip'), "syntax error near 'ip'");
  assert.deepEqual(pcap_compile('ip', 105), { error: 'unknown data link type 105' });
  // Garbage never throws.
  for (const junk of [
    '[',
    ']',
    ':',
    'ip[',
    'ip[0',
    'ip[0:',
    '(((',
    ')))',
    '!',
    '&& ||',
    'a b c',
    '1 2',
    '0x',
    'ether[0:4] & ',
  ]) {
    const r = pcap_compile(junk);
    assert.ok('error' in r, junk);
  }
});

test('bpf_dump: tcpdump -d, -dd and -ddd formats', () => {
  const prog = compile('ip');
  assert.equal(
    bpf_dump(prog),
    '(000) ldh      [12]\n' +
      '(001) jeq      #0x800           jt 2\tjf 3\n' +
      '(002) ret      #262144\n' +
      '(003) ret      #0\n',
  );
  assert.equal(
    bpf_dump(prog, 2),
    '{ 0x28, 0, 0, 0x0000000c },\n' +
      '{ 0x15, 0, 1, 0x00000800 },\n' +
      '{ 0x6, 0, 0, 0x00040000 },\n' +
      '{ 0x6, 0, 0, 0x00000000 },\n',
  );
  assert.equal(bpf_dump(prog, 3), '4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n');
  // tcpdump -d 'ip host 192.0.2.4', instruction for instruction.
  assert.equal(
    bpf_dump(compile('ip host 192.0.2.4')),
    [
      '(000) ldh      [12]',
      '(001) jeq      #0x800           jt 2\tjf 7',
      '(002) ld       [26]',
      '(003) jeq      #0xc0000204      jt 6\tjf 4',
      '(004) ld       [30]',
      '(005) jeq      #0xc0000204      jt 6\tjf 7',
      '(006) ret      #262144',
      '(007) ret      #0',
      '',
    ].join('\n'),
  );
  // The listings tcpdump -d prints for these (libpcap 1.9/1.10 on Ethernet). tcpdump is
  // not installed here, so they were written from known tcpdump output, not diffed live.
  const listing = (...lines: string[]): string => lines.map((l) => `${l}\n`).join('');
  assert.equal(
    bpf_dump(compile('host 192.0.2.4')),
    listing(
      '(000) ldh      [12]',
      '(001) jeq      #0x800           jt 2\tjf 6',
      '(002) ld       [26]',
      '(003) jeq      #0xc0000204      jt 12\tjf 4',
      '(004) ld       [30]',
      '(005) jeq      #0xc0000204      jt 12\tjf 13',
      '(006) jeq      #0x806           jt 8\tjf 7',
      '(007) jeq      #0x8035          jt 8\tjf 13',
      '(008) ld       [28]',
      '(009) jeq      #0xc0000204      jt 12\tjf 10',
      '(010) ld       [38]',
      '(011) jeq      #0xc0000204      jt 12\tjf 13',
      '(012) ret      #262144',
      '(013) ret      #0',
    ),
  );
  assert.equal(
    bpf_dump(compile('tcp')),
    listing(
      '(000) ldh      [12]',
      '(001) jeq      #0x86dd          jt 2\tjf 7',
      '(002) ldb      [20]',
      '(003) jeq      #0x6             jt 10\tjf 4',
      '(004) jeq      #0x2c            jt 5\tjf 11',
      '(005) ldb      [54]',
      '(006) jeq      #0x6             jt 10\tjf 11',
      '(007) jeq      #0x800           jt 8\tjf 11',
      '(008) ldb      [23]',
      '(009) jeq      #0x6             jt 10\tjf 11',
      '(010) ret      #262144',
      '(011) ret      #0',
    ),
  );
  assert.equal(
    bpf_dump(compile('port 53')),
    listing(
      '(000) ldh      [12]',
      '(001) jeq      #0x86dd          jt 2\tjf 10',
      '(002) ldb      [20]',
      '(003) jeq      #0x84            jt 6\tjf 4',
      '(004) jeq      #0x6             jt 6\tjf 5',
      '(005) jeq      #0x11            jt 6\tjf 23',
      '(006) ldh      [54]',
      '(007) jeq      #0x35            jt 22\tjf 8',
      '(008) ldh      [56]',
      '(009) jeq      #0x35            jt 22\tjf 23',
      '(010) jeq      #0x800           jt 11\tjf 23',
      '(011) ldb      [23]',
      '(012) jeq      #0x84            jt 15\tjf 13',
      '(013) jeq      #0x6             jt 15\tjf 14',
      '(014) jeq      #0x11            jt 15\tjf 23',
      '(015) ldh      [20]',
      '(016) jset     #0x1fff          jt 23\tjf 17',
      '(017) ldxb     4*([14]&0xf)',
      '(018) ldh      [x + 14]',
      '(019) jeq      #0x35            jt 22\tjf 20',
      '(020) ldh      [x + 16]',
      '(021) jeq      #0x35            jt 22\tjf 23',
      '(022) ret      #262144',
      '(023) ret      #0',
    ),
  );
  const img = (code: number, k: number): string => bpf_image({ code, jt: 0, jf: 0, k }, 5);
  assert.equal(img(0x07, 0), '(005) tax      ');
  assert.equal(img(0x87, 0), '(005) txa      ');
  assert.equal(img(0x05, 3), '(005) ja       9');
  assert.equal(img(0x16, 0), '(005) ret      ');
  assert.equal(img(0x80, 0), '(005) ld       #pktlen');
  assert.equal(img(0x60, 3), '(005) ld       M[3]');
  assert.equal(img(0x02, 3), '(005) st       M[3]');
  assert.equal(img(0x03, 3), '(005) stx      M[3]');
  assert.equal(img(0x54, 0xf0), '(005) and      #0xf0');
  assert.equal(img(0x04, 14), '(005) add      #14');
  assert.equal(img(0x0c, 0), '(005) add      x');
  assert.equal(img(0x84, 0), '(005) neg      ');
  assert.equal(img(0x50, 14), '(005) ldb      [x + 14]');
  assert.equal(img(0xff, 0), '(005) unimp    0xff');
  assert.equal(img(0x0e, 0), '(005) unimp    0xe');
});

test('snaplen is what a match returns; DLT_NULL link headers', () => {
  const p = compile('tcp', DLT_EN10MB, 96);
  assert.equal(bpf_filter(p, F.tcpSyn, F.tcpSyn.length, F.tcpSyn.length), 96);
  assert.equal(bpf_filter(p, F.udpDns, F.udpDns.length, F.udpDns.length), 0);
  // DLT_NULL: a 4-byte host-order (little endian) address family, then IP.
  const lo = (af: number, l3: readonly number[]): Uint8Array =>
    Uint8Array.from([af, 0, 0, 0, ...l3]);
  const v4 = lo(2, ipv4({ src: '127.0.0.1', dst: '127.0.0.1', p: 17, payload: udp(1, 53) }));
  const v6 = lo(28, ipv6(17, udp(1, 53)));
  const run = (e: string, f: Uint8Array): boolean =>
    bpf_filter(compile(e, DLT_NULL), f, f.length, f.length) !== 0;
  assert.equal(run('ip', v4), true);
  assert.equal(run('ip', v6), false);
  assert.equal(run('ip6', v6), true);
  assert.equal(run('udp port 53', v4), true);
  assert.equal(run('udp port 53', v6), true);
  assert.equal(run('host 127.0.0.1', v4), true);
  assert.equal(run('localhost', v4), true);
  assert.equal(run('arp', v4), false);
  const r = pcap_compile('ether host 1:2:3:4:5:6', DLT_NULL);
  assert.ok('error' in r);
});

test('long programs: far jumps go through ja and still validate', () => {
  const hosts = Array.from({ length: 40 }, (_, i) => `198.18.${i}.1`);
  const expr = `host ${hosts.join(' or ')}`;
  const prog = compile(expr);
  assert.ok(prog.length > 256, `program is long (${prog.length})`);
  assert.ok(
    prog.some((i) => i.code === 0x05),
    'uses ja',
  );
  for (const [h, want] of [
    ['198.18.0.1', true],
    ['198.18.39.1', true],
    ['198.18.15.1', true],
    ['198.18.40.1', false],
  ] as const) {
    const f = ip4frame({ src: h, dst: h, p: 17, payload: udp(1, 2) });
    assert.equal(bpf_filter(prog, f, f.length, f.length) !== 0, want, h);
  }
});

test('every compiled program agrees with a truncated capture: loads past buflen reject', () => {
  const prog = compile('udp port 53');
  const f = F.udpDns;
  assert.notEqual(bpf_filter(prog, f, f.length, f.length), 0);
  // Snapped before the ports: rejected, not an exception.
  assert.equal(bpf_filter(prog, f.subarray(0, 36), f.length, 36), 0);
});
