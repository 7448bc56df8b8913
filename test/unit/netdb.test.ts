// The libc resolver (lib/netdb.ts): inet_pton/inet_ntop edge cases, gai_strerror,
// getaddrinfo's hints, services and the explore order (UDP, then TCP) on numeric and
// null hosts, names from each jail's own /etc/hosts (a temporary host directory is the
// boot root; jails' paths are below it), /etc/services per jail, AI_ADDRCONFIG against
// the configured interfaces, getnameinfo through the same files, and vsocket's names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootTest } from '../lib/kernel.js';
import { in_aliasreq, ip, runIn } from '../lib/inet.js';
import { tempRoot } from '../lib/sh.js';
import type { Kernel } from '../../src/kern/kernel.js';
import type { Libc } from '../../src/lib/libc.js';
import { kern_jail_set, type Prison } from '../../src/kern/kern_jail.js';
import {
  AF_INET,
  AF_INET6,
  AF_LOCAL,
  AF_UNSPEC,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  sockaddr_un_encode,
} from '../../src/sys/socket.js';
import {
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  inet_ntoa,
  sockaddr_in,
  sockaddr_in_decode,
  sockaddr_in_encode,
} from '../../src/netinet/in.js';
import { SIOCAIFADDR } from '../../src/sys/sockio.js';
import { EAFNOSUPPORT, ENOSPC } from '../../src/sys/errno.js';
import {
  AI_ADDRCONFIG,
  AI_CANONNAME,
  AI_NUMERICHOST,
  AI_NUMERICSERV,
  AI_PASSIVE,
  EAI_BADFLAGS,
  EAI_BADHINTS,
  EAI_FAMILY,
  EAI_MAX,
  EAI_MEMORY,
  EAI_NONAME,
  EAI_SERVICE,
  EAI_SYSTEM,
  INET_ADDRSTRLEN,
  NI_DGRAM,
  NI_NAMEREQD,
  NI_NUMERICHOST,
  NI_NUMERICSERV,
  eai_name,
  gai_strerror,
  getaddrinfo,
  getnameinfo,
  getservbyname,
  getservbyport,
  inet_ntop,
  inet_pton,
  type AddrInfoHints,
  type GaiResult,
} from '../../src/lib/netdb.js';
import { ResolveError, SocketError, VSocket, resolve } from '../../src/lib/vsocket.js';

const dec = new TextDecoder();

/** An answer as "address:port socktype/protocol [canonname]", or the EAI_* name. */
function show(r: GaiResult): string[] | string {
  if ('error' in r) return eai_name(r.error);
  return r.res.map((ai) => {
    assert.equal(ai.ai_family, AF_INET);
    assert.equal(ai.ai_addrlen, 16);
    assert.equal(ai.ai_addr.length, 16);
    const s = sockaddr_in_decode(ai.ai_addr)!;
    assert.equal(s.sin_len, 16);
    assert.equal(s.sin_family, AF_INET);
    const canon = ai.ai_canonname === null ? '' : ` ${ai.ai_canonname}`;
    return `${inet_ntoa(s.sin_addr)}:${s.sin_port} ${ai.ai_socktype}/${ai.ai_protocol}${canon}`;
  });
}

async function gai(
  c: Libc,
  host: string | null,
  serv: string | null,
  hints: AddrInfoHints | null = null,
): Promise<string[] | string> {
  return show(await getaddrinfo(c, host, serv, hints));
}

/** Both socket types, UDP first, as FreeBSD's explore table orders them. */
const both = (a: string, canon = ''): string[] => [`${a} 2/17${canon}`, `${a} 1/6${canon}`];

function jail(k: Kernel, name: string, path: string): Prison {
  const r = k.enter(() => kern_jail_set(k, k.prison0, { name, path, persist: true }));
  assert.equal(r.error, 0);
  return r.pr!;
}

function sin(addr: string, port: number): Uint8Array {
  const b = new Uint8Array(16);
  sockaddr_in_encode(sockaddr_in(ip(addr), port), b);
  return b;
}

test('inet_pton: strict dotted quads only; other families are EAFNOSUPPORT', () => {
  assert.deepEqual(inet_pton(AF_INET, '192.0.2.1'), {
    ret: 1,
    addr: new Uint8Array([192, 0, 2, 1]),
  });
  assert.deepEqual(inet_pton(AF_INET, '0.0.0.0'), { ret: 1, addr: new Uint8Array(4) });
  assert.deepEqual(inet_pton(AF_INET, '255.255.255.255'), {
    ret: 1,
    addr: new Uint8Array([255, 255, 255, 255]),
  });
  for (const bad of [
    '192.0.2.01', // a leading zero
    '192.0.02.1',
    '00.0.0.0',
    '256.0.2.1', // out of range
    '192.0.2.256',
    '1000.0.0.1',
    '192.0.2', // inet_aton's short forms
    '3221225985',
    '0xc0.0.2.1', // hex and octal
    '192.0.2.1.', // separators
    '.192.0.2.1',
    '192..2.1',
    '192.0.2.1.7',
    ' 192.0.2.1', // blanks
    '192.0.2.1 ',
    '192.0.2.-1',
    '+192.0.2.1',
    '',
  ])
    assert.deepEqual(inet_pton(AF_INET, bad), { ret: 0 }, bad);
  assert.deepEqual(inet_pton(AF_INET6, '::1'), { ret: -1, errno: EAFNOSUPPORT });
  assert.deepEqual(inet_pton(AF_UNSPEC, '192.0.2.1'), { ret: -1, errno: EAFNOSUPPORT });
});

test('inet_ntop: "a.b.c.d" when it fits with its NUL, else ENOSPC', () => {
  const a = new Uint8Array([198, 51, 100, 7]);
  assert.deepEqual(inet_ntop(AF_INET, a), { ret: '198.51.100.7' });
  assert.deepEqual(inet_ntop(AF_INET, a, 13), { ret: '198.51.100.7' }, '12 characters + NUL');
  assert.deepEqual(inet_ntop(AF_INET, a, 12), { ret: null, errno: ENOSPC });
  assert.deepEqual(inet_ntop(AF_INET, a, 0), { ret: null, errno: ENOSPC });
  const max = new Uint8Array([255, 255, 255, 255]);
  assert.equal(INET_ADDRSTRLEN, 16);
  assert.deepEqual(inet_ntop(AF_INET, max, INET_ADDRSTRLEN), { ret: '255.255.255.255' });
  assert.deepEqual(inet_ntop(AF_INET, max, 15), { ret: null, errno: ENOSPC });
  assert.deepEqual(inet_ntop(AF_INET6, a), { ret: null, errno: EAFNOSUPPORT });
  // A round trip through both.
  for (const s of ['203.0.113.255', '198.18.0.1', '127.0.0.1']) {
    const p = inet_pton(AF_INET, s);
    assert.equal(p.ret, 1);
    if (p.ret === 1) assert.deepEqual(inet_ntop(AF_INET, p.addr), { ret: s });
  }
});

test("gai_strerror: FreeBSD's messages", () => {
  assert.deepEqual(
    Array.from({ length: EAI_MAX + 1 }, (_, i) => gai_strerror(i)),
    [
      'Success',
      'Address family for hostname not supported',
      'Name could not be resolved at this time',
      'Flags parameter had an invalid value',
      'Non-recoverable failure in name resolution',
      'Address family not recognized',
      'Memory allocation failure',
      'No address associated with hostname',
      'Name does not resolve',
      'Service was not recognized for socket type',
      'Intended socket type was not recognized',
      'System error returned in errno',
      'Invalid value for hints',
      'Resolved protocol is unknown',
      'Argument buffer overflow',
      'Unknown error',
    ],
  );
  assert.equal(gai_strerror(-1), 'Unknown error');
  // netdb.h's numbers.
  assert.deepEqual(
    [EAI_BADFLAGS, EAI_FAMILY, EAI_MEMORY, EAI_NONAME, EAI_SERVICE, EAI_SYSTEM, EAI_BADHINTS],
    [3, 5, 6, 8, 9, 11, 12],
  );
  assert.deepEqual(
    [AI_PASSIVE, AI_CANONNAME, AI_NUMERICHOST, AI_NUMERICSERV, AI_ADDRCONFIG],
    [1, 2, 4, 8, 0x400],
  );
  assert.equal(eai_name(EAI_NONAME), 'EAI_NONAME');
  assert.equal(eai_name(EAI_SERVICE), 'EAI_SERVICE');
  assert.equal(eai_name(99), 'EAI_99');
});

test('getaddrinfo: numeric and null hosts, services, hints and their errors', async () => {
  const t = tempRoot(); // no /etc at all: the built-in services, no hosts file
  try {
    const k = bootTest({ root: t.dir });
    const r = await runIn(k, async (c) => {
      const o: Record<string, unknown> = {};
      o['nothing'] = await gai(c, null, null);
      o['numeric'] = await gai(c, '192.0.2.1', '80');
      o['aton'] = await gai(c, '127.1', null);
      o['passive'] = await gai(c, null, '8080', { ai_flags: AI_PASSIVE });
      o['loopback'] = await gai(c, null, '8080');
      o['stream'] = await gai(c, '198.51.100.9', 'http', { ai_socktype: SOCK_STREAM });
      o['dgram'] = await gai(c, '198.51.100.9', '53', { ai_socktype: SOCK_DGRAM });
      o['proto'] = await gai(c, '198.51.100.9', '53', { ai_protocol: IPPROTO_TCP });
      o['www'] = await gai(c, '203.0.113.1', 'www');
      o['udponly'] = await gai(c, '203.0.113.1', 'syslog');
      o['tcponly'] = await gai(c, '203.0.113.1', 'shell');
      o['strtoul'] = await gai(c, '203.0.113.1', '+443', { ai_socktype: SOCK_STREAM });
      o['raw'] = await gai(c, '203.0.113.1', null, { ai_socktype: SOCK_RAW });
      o['sctp'] = await gai(c, '203.0.113.1', '9', { ai_protocol: IPPROTO_SCTP });
      o['seqpacket'] = await gai(c, '203.0.113.1', '9', { ai_socktype: SOCK_SEQPACKET });
      o['canon'] = await gai(c, '192.0.2.7', null, { ai_flags: AI_CANONNAME });
      o['localhost'] = await gai(c, 'LocalHost', 'ssh', { ai_flags: AI_CANONNAME });
      // Errors.
      o['badhints'] = await gai(c, '192.0.2.1', '80', {
        ai_socktype: SOCK_DGRAM,
        ai_protocol: IPPROTO_TCP,
      });
      const prev = await getaddrinfo(c, '192.0.2.1', null);
      o['reuse'] = 'res' in prev ? await gai(c, '192.0.2.1', null, prev.res[0]!) : prev;
      o['badflags'] = await gai(c, '192.0.2.1', null, { ai_flags: 0x10000 });
      o['inet6'] = await gai(c, '192.0.2.1', null, { ai_family: AF_INET6 });
      o['local'] = await gai(c, '/tmp/s', null, { ai_family: AF_LOCAL });
      o['noservice'] = await gai(c, '192.0.2.1', 'nosuchservice');
      o['bigport'] = await gai(c, '192.0.2.1', '65536');
      o['negport'] = await gai(c, '192.0.2.1', '-1');
      o['numericserv'] = await gai(c, '192.0.2.1', 'http', { ai_flags: AI_NUMERICSERV });
      o['rawserv'] = await gai(c, '192.0.2.1', '80', { ai_socktype: SOCK_RAW });
      o['socktype'] = await gai(c, '192.0.2.1', '80', { ai_socktype: 99 });
      o['numerichost'] = await gai(c, 'localhost', null, { ai_flags: AI_NUMERICHOST });
      o['unknown'] = await gai(c, 'nosuch.example.test', '80');
      o['badaddr'] = await gai(c, '192.0.2.256', null);
      return o;
    });
    assert.deepEqual(r, {
      nothing: 'EAI_NONAME',
      numeric: both('192.0.2.1:80'),
      aton: both('127.0.0.1:0'),
      passive: both('0.0.0.0:8080'),
      loopback: both('127.0.0.1:8080'),
      stream: ['198.51.100.9:80 1/6'],
      dgram: ['198.51.100.9:53 2/17'],
      proto: ['198.51.100.9:53 1/6'],
      www: both('203.0.113.1:80'),
      udponly: ['203.0.113.1:514 2/17'],
      tcponly: ['203.0.113.1:514 1/6'],
      strtoul: ['203.0.113.1:443 1/6'],
      raw: ['203.0.113.1:0 3/0'],
      sctp: ['203.0.113.1:9 1/132', '203.0.113.1:9 5/132'],
      seqpacket: ['203.0.113.1:9 5/132'],
      canon: both('192.0.2.7:0', ' 192.0.2.7'),
      localhost: both('127.0.0.1:22', ' localhost'),
      badhints: 'EAI_BADHINTS',
      reuse: 'EAI_BADHINTS',
      badflags: 'EAI_BADFLAGS',
      inet6: 'EAI_FAMILY',
      local: 'EAI_FAMILY',
      noservice: 'EAI_SERVICE',
      bigport: 'EAI_SERVICE',
      negport: 'EAI_SERVICE',
      numericserv: 'EAI_NONAME',
      rawserv: 'EAI_SERVICE',
      socktype: 'EAI_SOCKTYPE',
      numerichost: 'EAI_NONAME',
      unknown: 'EAI_NONAME',
      badaddr: 'EAI_NONAME',
    });
    // The answer carries the hints' flags and the exact sockaddr_in bytes.
    const one = await runIn(k, (c) => getaddrinfo(c, '192.0.2.1', '80', { ai_flags: AI_PASSIVE }));
    assert.ok('res' in one);
    assert.equal(one.res[0]!.ai_flags, AI_PASSIVE);
    assert.deepEqual(one.res[0]!.ai_protocol, IPPROTO_UDP);
    assert.deepEqual(one.res[0]!.ai_addr, sin('192.0.2.1', 80));
  } finally {
    t.cleanup();
  }
});

test('each jail resolves from its own /etc/hosts and /etc/services', async () => {
  const t = tempRoot();
  try {
    mkdirSync(join(t.dir, 'etc'));
    writeFileSync(join(t.dir, 'etc', 'hosts'), '192.0.2.10\twww.example.test www\n');
    mkdirSync(join(t.dir, 'j1', 'etc'), { recursive: true });
    writeFileSync(
      join(t.dir, 'j1', 'etc', 'hosts'),
      [
        '# j1: two addresses for db',
        '198.51.100.1  db.example.test db',
        'nonsense',
        '203.0.113.9 other # a comment',
        '198.51.100.2 db.example.test',
        '2001:db8::1 db.example.test',
        '',
      ].join('\n'),
    );
    mkdirSync(join(t.dir, 'j2', 'etc'), { recursive: true });
    writeFileSync(
      join(t.dir, 'j2', 'etc', 'hosts'),
      '203.0.113.5 db.example.test\n127.0.0.1 localhost loopback\n',
    );
    writeFileSync(
      join(t.dir, 'j2', 'etc', 'services'),
      '# j2 only\nmyproto\t4242/tcp mp\nhttp 8080/tcp www\n',
    );
    const k = bootTest({ root: t.dir });
    const j1 = jail(k, 'j1', '/j1');
    const j2 = jail(k, 'j2', '/j2');
    const c = { ai_flags: AI_CANONNAME };

    const host = await runIn(k, async (libc) => ({
      www: await gai(libc, 'www', '80'),
      db: await gai(libc, 'db.example.test', '80'),
    }));
    assert.deepEqual(host, { www: both('192.0.2.10:80'), db: 'EAI_NONAME' });

    const r1 = await runIn(
      k,
      async (libc) => ({
        db: await gai(libc, 'db', '53', c),
        fold: await gai(libc, 'DB.Example.TEST', '53'),
        other: await gai(libc, 'other', null, { ai_socktype: SOCK_STREAM }),
        www: await gai(libc, 'www', '80'),
        myproto: await gai(libc, '192.0.2.1', 'myproto'),
        localhost: await gai(libc, 'localhost', null, { ai_socktype: SOCK_DGRAM }),
      }),
      j1,
    );
    assert.deepEqual(r1, {
      // An alias: its line only, the line's first name canonical.
      db: both('198.51.100.1:53', ' db.example.test'),
      // Every line naming the host (case-insensitively), in file order, once per
      // socket type.
      fold: [
        '198.51.100.1:53 2/17',
        '198.51.100.2:53 2/17',
        '198.51.100.1:53 1/6',
        '198.51.100.2:53 1/6',
      ],
      other: ['203.0.113.9:0 1/6'],
      www: 'EAI_NONAME',
      myproto: 'EAI_SERVICE',
      localhost: ['127.0.0.1:0 2/17'],
    });

    const r2 = await runIn(
      k,
      async (libc) => ({
        db: await gai(libc, 'db.example.test', 'www'),
        // The service exists for TCP only: no UDP entry.
        myproto: await gai(libc, 'db.example.test', 'mp'),
        ssh: await gai(libc, '192.0.2.1', 'ssh'),
        loopback: await gai(libc, 'loopback', null, c),
        byname: await getservbyname(libc, 'mp', 'tcp'),
        byname_udp: await getservbyname(libc, 'mp', 'udp'),
        byport: await getservbyport(libc, 8080, null),
      }),
      j2,
    );
    assert.deepEqual(r2, {
      db: ['203.0.113.5:8080 1/6'],
      myproto: ['203.0.113.5:4242 1/6'],
      ssh: 'EAI_SERVICE', // the jail's file is the only source once it exists
      loopback: both('127.0.0.1:0', ' localhost'),
      byname: { s_name: 'myproto', s_aliases: ['mp'], s_port: 4242, s_proto: 'tcp' },
      byname_udp: null,
      byport: { s_name: 'http', s_aliases: ['www'], s_port: 8080, s_proto: 'tcp' },
    });

    // getnameinfo goes through the same files.
    const n1 = await runIn(
      k,
      async (libc) => ({
        name: await getnameinfo(libc, sin('198.51.100.2', 80)),
        numhost: await getnameinfo(libc, sin('198.51.100.2', 80), 16, NI_NUMERICHOST),
        numserv: await getnameinfo(libc, sin('198.51.100.2', 80), 16, NI_NUMERICSERV),
        shell: await getnameinfo(libc, sin('203.0.113.9', 514)),
        syslog: await getnameinfo(libc, sin('203.0.113.9', 514), 16, NI_DGRAM),
        unnamed: await getnameinfo(libc, sin('192.0.2.99', 4242)),
        namereqd: await getnameinfo(libc, sin('192.0.2.99', 4242), 16, NI_NAMEREQD),
        wildcard: await getnameinfo(libc, sin('0.0.0.0', 0), 16, NI_NAMEREQD),
        localhost: await getnameinfo(libc, sin('127.0.0.1', 22)),
        hostonly: await getnameinfo(libc, sin('198.51.100.1', 80), 16, 0, 1025, 0),
        servonly: await getnameinfo(libc, sin('198.51.100.1', 80), 16, 0, 0),
        hostshort: await getnameinfo(libc, sin('198.51.100.1', 80), 16, 0, 15),
        hostfits: await getnameinfo(libc, sin('198.51.100.1', 80), 16, 0, 16, 5),
        servshort: await getnameinfo(libc, sin('198.51.100.1', 80), 16, 0, 1025, 4),
        numshort: await getnameinfo(libc, sin('192.0.2.99', 80), 16, NI_NUMERICHOST, 10),
        salen: await getnameinfo(libc, sin('192.0.2.99', 80), 8),
        local: await getnameinfo(libc, sockaddr_un_encode('/tmp/s')),
      }),
      j1,
    );
    assert.deepEqual(n1, {
      name: { host: 'db.example.test', serv: 'http' },
      numhost: { host: '198.51.100.2', serv: 'http' },
      numserv: { host: 'db.example.test', serv: '80' },
      shell: { host: 'other', serv: 'shell' },
      syslog: { host: 'other', serv: 'syslog' },
      unnamed: { host: '192.0.2.99', serv: '4242' },
      namereqd: { error: EAI_NONAME },
      wildcard: { error: EAI_NONAME },
      localhost: { host: 'localhost', serv: 'ssh' },
      hostonly: { host: 'db.example.test', serv: null },
      servonly: { host: null, serv: 'http' },
      hostshort: { error: EAI_MEMORY },
      hostfits: { host: 'db.example.test', serv: 'http' },
      servshort: { error: EAI_MEMORY },
      numshort: { error: EAI_MEMORY },
      salen: { error: EAI_FAMILY },
      local: { error: EAI_FAMILY },
    });
    // The dotted fallback that does not fit is inet_ntop's ENOSPC.
    const sys = await runIn(
      k,
      async (libc) => {
        const r = await getnameinfo(libc, sin('192.0.2.99', 80), 16, 0, 10);
        return { r, errno: libc.errno };
      },
      j1,
    );
    assert.deepEqual(sys, { r: { error: EAI_SYSTEM }, errno: ENOSPC });
    const n2 = await runIn(k, (libc) => getnameinfo(libc, sin('198.51.100.2', 8080)), j2);
    assert.deepEqual(n2, { host: '198.51.100.2', serv: 'http' });
  } finally {
    t.cleanup();
  }
});

test('AI_ADDRCONFIG wants a configured IPv4 address other than loopback', async () => {
  const t = tempRoot();
  try {
    const k = bootTest({ root: t.dir });
    const h = { ai_flags: AI_ADDRCONFIG, ai_socktype: SOCK_STREAM };
    const alias = async (c: Libc, a: string, m: string): Promise<number> => {
      const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
      const r = await c.ioctl(s, SIOCAIFADDR, in_aliasreq('lo0', ip(a), ip(m)));
      await c.close(s);
      return r < 0 ? -c.errno : r;
    };
    const r = await runIn(k, async (c) => ({
      before: await gai(c, 'localhost', null, h),
      numeric: await gai(c, '192.0.2.1', null, h),
      lo: await alias(c, '127.0.0.1', '255.0.0.0'),
      loopback: await gai(c, 'localhost', null, h),
      other: await alias(c, '192.0.2.1', '255.255.255.255'),
      after: await gai(c, 'localhost', null, h),
    }));
    assert.deepEqual(r, {
      before: 'EAI_FAIL',
      numeric: ['192.0.2.1:0 1/6'], // numeric hosts are not checked
      lo: 0,
      loopback: 'EAI_FAIL',
      other: 0,
      after: ['127.0.0.1:0 1/6'],
    });
  } finally {
    t.cleanup();
  }
});

test('vsocket: resolve() and host names in bind/sendto', async () => {
  const t = tempRoot();
  try {
    mkdirSync(join(t.dir, 'etc'));
    writeFileSync(join(t.dir, 'etc', 'hosts'), '127.0.0.1 localhost me.example.test\n');
    const k = bootTest({ root: t.dir });
    const r = await runIn(k, async (c) => {
      const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
      await c.ioctl(s, SIOCAIFADDR, in_aliasreq('lo0', ip('127.0.0.1'), ip('255.0.0.0')));
      await c.close(s);
      const o: Record<string, unknown> = {};
      o['resolve'] = await resolve(c, 'me.example.test', 7);
      o['numeric'] = await resolve(c, '198.51.100.4', 9);
      try {
        await resolve(c, 'nosuch.example.test', 1);
      } catch (e) {
        assert.ok(e instanceof ResolveError && e instanceof SocketError);
        o['error'] = [e.code, e.syscall, e.message];
      }
      const a = await VSocket.create(c, 'inet', 'dgram');
      await a.bind({ family: 'inet', address: 'me.example.test', port: 5353 });
      o['bound'] = await a.address();
      const b = await VSocket.create(c, 'inet', 'dgram');
      await b.sendto('hello', { family: 'inet', address: 'localhost', port: 5353 });
      const got = await a.recvfrom(64);
      o['got'] = dec.decode(got.data);
      try {
        await b.sendto('x', { family: 'inet', address: 'nosuch', port: 1 });
      } catch (e) {
        o['sendto'] = (e as SocketError).code;
      }
      await a.close();
      await b.close();
      return o;
    });
    assert.deepEqual(r, {
      resolve: { family: 'inet', address: '127.0.0.1', port: 7 },
      numeric: { family: 'inet', address: '198.51.100.4', port: 9 },
      error: [
        'EAI_NONAME',
        'getaddrinfo',
        'getaddrinfo nosuch.example.test: Name does not resolve',
      ],
      bound: { family: 'inet', address: '127.0.0.1', port: 5353 },
      got: 'hello',
      sendto: 'EAI_NONAME',
    });
  } finally {
    t.cleanup();
  }
});

test('getaddrinfo: an unknown family is EAI_FAMILY, stray flags EAI_BADFLAGS', async () => {
  const k = bootTest();
  const r = await runIn(k, async (c) => ({
    family: await gai(c, 'localhost', null, { ai_family: 99 }),
    badflags: await getaddrinfo(c, null, '80', { ai_flags: AI_PASSIVE | 0x1000 }),
  }));
  assert.deepEqual(r, { family: 'EAI_FAMILY', badflags: { error: EAI_BADFLAGS } });
});
