// bin/testctl_proto.ts: the test-control protocol's argument decoding and JSON
// encodings — names with or without prefixes, flag lists, byte encodings, addresses,
// sysctl values by type — and an EINVAL CtlError (never another exception) for
// malformed arguments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CtlError,
  LEVELS,
  MSGFLAGS,
  POLLFLAGS,
  TYPES,
  a_bytes,
  a_const,
  a_flags,
  a_int,
  a_sockaddr,
  encode,
  flag_names,
  mask_len,
  opt_prefix,
  opt_table,
  sockaddr_json,
  sysctl_encode,
  sysctl_json,
} from '../../src/bin/testctl_proto.js';
import { EINVAL } from '../../src/sys/errno.js';
import {
  CTLTYPE_INT,
  CTLTYPE_LONG,
  CTLTYPE_OPAQUE,
  CTLTYPE_S8,
  CTLTYPE_STRING,
  CTLTYPE_U16,
  CTLTYPE_U64,
  CTLTYPE_U8,
  CTLTYPE_UINT,
} from '../../src/sys/sysctl.js';
import {
  MSG_PEEK,
  MSG_WAITALL,
  POLLIN,
  POLLOUT,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_REUSEADDR,
} from '../../src/sys/socket.js';
import { IPPROTO_TCP } from '../../src/netinet/in.js';
import { TCP_NODELAY } from '../../src/netinet/tcp_var.js';

function einval(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CtlError, `a CtlError, not ${String(e)}`);
    assert.equal(e.errno, EINVAL);
    return e.message;
  }
  assert.fail('no error');
}

test('constants by name (any case, prefix optional) or number', () => {
  assert.equal(a_const({ t: 'SOCK_STREAM' }, 't', TYPES, 'SOCK_'), SOCK_STREAM);
  assert.equal(a_const({ t: 'dgram' }, 't', TYPES, 'SOCK_'), SOCK_DGRAM);
  assert.equal(a_const({ t: 5 }, 't', TYPES, 'SOCK_'), 5);
  assert.equal(a_const({}, 't', TYPES, 'SOCK_', 1), 1);
  assert.match(
    einval(() => a_const({ t: 'bogus' }, 't', TYPES, 'SOCK_')),
    /unknown t "bogus"/,
  );
  assert.match(
    einval(() => a_const({}, 't', TYPES, 'SOCK_')),
    /required/,
  );
  einval(() => a_const({ t: 1.5 }, 't', TYPES, 'SOCK_'));
  const tcp = a_const({ l: 'tcp' }, 'l', LEVELS, 'IPPROTO_');
  assert.equal(tcp, IPPROTO_TCP);
  assert.equal(a_const({ n: 'nodelay' }, 'n', opt_table(tcp), opt_prefix(tcp)), TCP_NODELAY);
  const sol = a_const({ l: 'socket' }, 'l', LEVELS, 'IPPROTO_');
  assert.equal(sol, SOL_SOCKET);
  assert.equal(a_const({ n: 'SO_REUSEADDR' }, 'n', opt_table(sol), opt_prefix(sol)), SO_REUSEADDR);
});

test('flags: a list, a name or a number; names back', () => {
  assert.equal(
    a_flags({ f: ['MSG_PEEK', 'waitall'] }, 'f', MSGFLAGS, 'MSG_'),
    MSG_PEEK | MSG_WAITALL,
  );
  assert.equal(a_flags({ f: 'POLLIN' }, 'f', POLLFLAGS, 'POLL'), POLLIN);
  assert.equal(a_flags({}, 'f', POLLFLAGS, 'POLL'), 0);
  einval(() => a_flags({ f: ['POLLIN', {}] }, 'f', POLLFLAGS, 'POLL'));
  assert.deepEqual(flag_names(POLLIN | POLLOUT | 0x100000, POLLFLAGS), [
    'POLLIN',
    'POLLOUT',
    '0x100000',
  ]);
});

test('integers are checked against their range', () => {
  assert.equal(a_int({ n: 7 }, 'n'), 7);
  assert.match(
    einval(() => a_int({ n: 70000 }, 'n', 0, 0, 65535)),
    /between 0 and 65535/,
  );
  einval(() => a_int({ n: '7' }, 'n'));
  einval(() => a_int({ n: NaN }, 'n'));
});

test('bytes in hex, base64 and utf8', () => {
  assert.deepEqual(a_bytes({ data: '68 69' }), new Uint8Array([0x68, 0x69]));
  assert.deepEqual(a_bytes({ data: 'aGk=', encoding: 'base64' }), new Uint8Array([0x68, 0x69]));
  assert.deepEqual(a_bytes({ data: 'hi', encoding: 'utf8' }), new Uint8Array([0x68, 0x69]));
  assert.match(
    einval(() => a_bytes({ data: '6' })),
    /not hex/,
  );
  einval(() => a_bytes({ data: 'zz' }));
  einval(() => a_bytes({ data: '!!', encoding: 'base64' }));
  einval(() => a_bytes({ data: 'x', encoding: 'rot13' }));
  assert.equal(encode(new Uint8Array([1, 255]), 'hex'), '01ff');
  assert.equal(encode(new Uint8Array([0x68, 0x69]), 'base64'), 'aGk=');
});

test('IPv4 socket addresses both ways', () => {
  const b = a_sockaddr({ addr: '192.0.2.1', port: 5001 });
  assert.deepEqual([...b.subarray(0, 8)], [16, 2, 0x13, 0x89, 192, 0, 2, 1]);
  assert.deepEqual(sockaddr_json(b, 16), { family: 'inet', addr: '192.0.2.1', port: 5001 });
  einval(() => a_sockaddr({ addr: '192.0.2', port: 1 }));
  einval(() => a_sockaddr({ addr: '192.0.2.256', port: 1 }));
  einval(() => a_sockaddr({ addr: '192.0.2.1', port: 65536 }));
  assert.equal(sockaddr_json(b, 0), null);
});

test('sysctl values by their type', () => {
  const i = new Uint8Array([0xd0, 0x07, 0, 0]);
  assert.equal(sysctl_json(CTLTYPE_INT, i), 2000);
  assert.deepEqual(sysctl_encode(CTLTYPE_INT, 2000), i);
  assert.equal(sysctl_json(CTLTYPE_STRING, new Uint8Array([0x76, 0x69, 0])), 'vi');
  assert.deepEqual(sysctl_json(CTLTYPE_OPAQUE, new Uint8Array([1, 2])), { hex: '0102' });
  assert.equal(sysctl_json(CTLTYPE_U64, sysctl_encode(CTLTYPE_U64, 2 ** 40)), 2 ** 40);
  einval(() => sysctl_encode(CTLTYPE_INT, 'x'));
  einval(() => sysctl_encode(CTLTYPE_STRING, 5));
  einval(() => sysctl_encode(CTLTYPE_OPAQUE, 5));
});

test('a sysctl value out of the range of its type is EINVAL, never truncated', () => {
  // Each type's bounds are accepted and stored exactly...
  const edges: [number, number][] = [
    [CTLTYPE_INT, -0x80000000],
    [CTLTYPE_INT, 0x7fffffff],
    [CTLTYPE_UINT, 0],
    [CTLTYPE_UINT, 0xffffffff],
    [CTLTYPE_U8, 255],
    [CTLTYPE_S8, -128],
    [CTLTYPE_U16, 65535],
    [CTLTYPE_LONG, -(2 ** 53)],
    [CTLTYPE_U64, 2 ** 53],
  ];
  for (const [kind, v] of edges) assert.equal(sysctl_json(kind, sysctl_encode(kind, v)), v);
  // ...and one past them is refused (4294967296 used to store 0 in an int).
  const over: [number, number][] = [
    [CTLTYPE_INT, 4294967296],
    [CTLTYPE_INT, 0x80000000],
    [CTLTYPE_INT, -0x80000001],
    [CTLTYPE_INT, 2 ** 33 + 5],
    [CTLTYPE_UINT, -1],
    [CTLTYPE_UINT, 0x100000000],
    [CTLTYPE_U8, 256],
    [CTLTYPE_S8, 128],
    [CTLTYPE_S8, -129],
    [CTLTYPE_U16, -1],
    [CTLTYPE_U64, -1],
    [CTLTYPE_U64, 2 ** 64],
    [CTLTYPE_LONG, 2 ** 63],
  ];
  for (const [kind, v] of over)
    assert.match(
      einval(() => sysctl_encode(kind, v)),
      /out of range/,
      `${v} for kind ${kind}`,
    );
});

test('prefix lengths of route masks', () => {
  const m = (a: number) => ({ kind: 'inet' as const, len: 8, addr: a, port: 0 });
  assert.equal(mask_len(m(0xffffff00), 0), 24);
  assert.equal(mask_len(m(0), 0), 0);
  assert.equal(mask_len(null, 0x4), 32);
  assert.equal(mask_len(null, 0), 32);
});
