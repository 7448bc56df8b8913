import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../lib/kernel.js';
import { userproc } from '../lib/proc.js';
import { ddb } from '../lib/ddb.js';
import { AF_INET, AF_UNIX, SOCK_DGRAM, SOCK_STREAM } from '../../src/sys/socket.js';
import { IPPROTO_IP, sockaddr_in, sockaddr_in_encode } from '../../src/netinet/in.js';
import { IP_RECVDSTADDR } from '../../src/netinet/ip_ctloutput.js';
import { so_globals } from '../../src/kern/uipc_sockbuf.js';
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

test('show inpcb lists the UDP pcbs of the vnet; show inpcb N prints one', async () => {
  const k = bootTest();
  const up = userproc(k);
  const c = up.libc;
  const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
  const b = new Uint8Array(16);
  sockaddr_in_encode(sockaddr_in(0, 5353), b);
  assert.equal(await c.bind(s, b), 0);
  assert.equal(await c.setsockopt(s, IPPROTO_IP, IP_RECVDSTADDR, 1), 0);
  const so = [...so_globals(k).sockets].find((x) => x.so_family === AF_INET)!;
  const out = ddb(k, 'show inpcb', `show inpcb ${so.so_gencnt}`, 'show inpcb 99999');
  assert.match(out, /Proto +Socket +Local Address +Foreign Address +Flags +State\n/);
  assert.match(
    out,
    new RegExp(`udp +${so.so_gencnt} +0\\.0\\.0\\.0:5353 +0\\.0\\.0\\.0:0 +0x2004 +\\n`),
  );
  assert.match(out, /inp_laddr: 0\.0\.0\.0 +inp_lport: 5353\n/);
  assert.match(out, /inp_flags: 0x2004 \(INP_RECVDSTADDR\|INP_INHASHLIST\)\n/);
  assert.match(out, /inp_ip_ttl: 64 +inp_ip_p: 17 /);
  assert.match(out, /no inpcb for socket 99999/);
});
