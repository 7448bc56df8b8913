import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../lib/kernel.js';
import { userproc } from '../lib/proc.js';
import { ddb } from '../lib/ddb.js';
import { AF_UNIX, SOCK_DGRAM, SOCK_STREAM } from '../../src/sys/socket.js';
import { V_rib } from '../../src/netinet/in_var.js';
import { gw_inet } from '../../src/net/route/route_var.js';
import { RTF_GATEWAY, RTF_STATIC } from '../../src/net/route.js';

test('show sockets lists every socket; show route dumps the vnet routing table', async () => {
  const k = bootTest();
  const up = userproc(k);
  const sv: [number, number] = [-1, -1];
  assert.equal(await up.libc.socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  assert.ok((await up.libc.socket(AF_UNIX, SOCK_DGRAM, 0)) >= 0);
  const rib = V_rib.on(k.vnet0);
  assert.equal(
    rib.add({ dst: 0, plen: 0, gateway: gw_inet(0xc0000201), flags: RTF_GATEWAY | RTF_STATIC })
      .error,
    0,
  );
  assert.equal(
    rib.add({ dst: 0xc6336400, plen: 24, gateway: gw_inet(0xc0000202), flags: RTF_GATEWAY }).error,
    0,
  );
  const out = ddb(k, 'show sockets', 'show route');
  assert.match(out, /3 sockets\n/);
  assert.equal((out.match(/ local +stream /g) ?? []).length, 2);
  assert.equal((out.match(/ local +dgram /g) ?? []).length, 1);
  assert.match(out, /Routing table of vnet \d+ \(2 routes\)\n/);
  assert.match(out, /default +192\.0\.2\.1 +UGS/);
  assert.match(out, /198\.51\.100\.0\/24 +192\.0\.2\.2 +UG /);
});
