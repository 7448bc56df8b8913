// net.inet.tcp.drop (netinet/tcp_subr.ts), the sysctl tcpdrop(8) writes: two
// sockaddr_storage, foreign first.  A synchronized connection is dropped as tcp_drop
// does (RST to the peer, ECONNABORTED here, tcps_drops); one in TIME_WAIT is closed
// without a segment; errors for a short value, a wrong family, an unknown connection.
// vnet a = 192.0.2.1, b = 192.0.2.2 (lab2).  bootVimage: runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { runIn, sys } from '../../lib/inet.js';
import { pr, delta, inv, lab2, type Counters } from '../../lib/inet_lab.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Vnet } from '../../../src/net/vnet.js';
import type { Libc } from '../../../src/lib/libc.js';
import { AF_INET, SOCK_STREAM } from '../../../src/sys/socket.js';
import { in_addr, in_port, sockaddr_in_bytes } from '../../../src/netinet/in.js';
import { V_tcpstat } from '../../../src/netinet/tcp_var.js';
import { ECONNABORTED, ECONNRESET, EINVAL, ENOMEM, ESRCH } from '../../../src/sys/errno.js';
import { nanosleep } from '../../../src/lib/process.js';
import { tcp_drop_conn, tcp_pcblist, type TcpConn } from '../../../src/sbin/tcpdrop.js';

const A = 0xc0000201;
const B = 0xc0000202;
const PORT = 7200;
const MS = 1e6;

function tcpstat(k: Kernel, v: Vnet): Counters {
  return inv(k, v, () => V_tcpstat.fetchAll(v));
}

const sin = (a: number, p: number): Uint8Array => sockaddr_in_bytes(in_addr(a), in_port(p));

/** b accepts one connection on PORT and reads until end of file or an error. */
function server(k: Kernel, got: { err: number; eof: boolean }): Promise<void> {
  return runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.bind(l, sin(B, PORT)), 0);
      assert.equal(await c.listen(l, 1), 0);
      const s = await c.accept(l);
      assert.ok(s >= 0);
      const n = await sys(c, c.recv(s, new Uint8Array(16)));
      if (n < 0) got.err = -n;
      else got.eof = n === 0;
      await c.close(s);
      await c.close(l);
    },
    pr(k, 'b'),
  );
}

async function connect(c: Libc): Promise<{ s: number; conn: TcpConn }> {
  const s = await c.socket(AF_INET, SOCK_STREAM, 0);
  assert.equal(await c.connect(s, sin(B, PORT)), 0);
  const list = await tcp_pcblist(c);
  assert.ok(list !== null);
  const conn = list.find((x) => x.fport === PORT);
  assert.ok(conn !== undefined);
  return { s, conn };
}

test('net.inet.tcp.drop: an established connection is reset', async () => {
  const L = lab2(bootVimage());
  const { k, va } = L;
  const got = { err: 0, eof: false };
  const r: Record<string, number> = {};
  const srv = server(k, got); // listening before the client connects
  const client = runIn(
    k,
    async (c) => {
      const { s, conn } = await connect(c);
      assert.equal(conn.state, 4, 'ESTABLISHED');
      const s0 = tcpstat(k, va);
      r['drop'] = await sys(c, tcp_drop_conn(c, conn));
      r['drops'] = delta(s0, tcpstat(k, va))['tcps_drops'] ?? 0;
      r['recv'] = await sys(c, c.recv(s, new Uint8Array(4)));
      r['again'] = await sys(c, tcp_drop_conn(c, conn));
      // The socket is still open: its pcb stays, CLOSED, until close(2).
      r['state'] = (await tcp_pcblist(c))!.find((x) => x.fport === PORT)?.state ?? -1;
      await c.close(s);
      r['left'] = (await tcp_pcblist(c))!.filter((x) => x.fport === PORT).length;
    },
    pr(k, 'a'),
  );
  await Promise.all([srv, client]);
  assert.deepEqual(r, {
    drop: 0,
    drops: 1,
    recv: -ECONNABORTED,
    again: -ESRCH,
    state: 0,
    left: 0,
  });
  assert.equal(got.err, ECONNRESET, 'the peer was reset');
});

test('net.inet.tcp.drop: TIME_WAIT is closed without a segment; bad values', async () => {
  const L = lab2(bootVimage());
  const { k, va } = L;
  const got = { err: 0, eof: false };
  const r: Record<string, unknown> = {};
  const srv = server(k, got);
  const client = runIn(
    k,
    async (c) => {
      const { s, conn } = await connect(c);
      await c.close(s); // active close: a ends in TIME_WAIT once b closes
      await nanosleep(c, 100 * MS);
      const tw = (await tcp_pcblist(c))!.filter((x) => x.fport === PORT);
      r['states'] = tw.map((x) => x.state);
      const v = new Uint8Array(256);
      v.set(sin(B, PORT), 0);
      v.set(sin(A, conn.lport), 128);
      r['short'] = await sys(c, c.sysctlbyname('net.inet.tcp.drop', null, null, v.slice(0, 200)));
      const bad = v.slice();
      bad[129] = 1; // AF_UNIX in the local address
      r['family'] = await sys(c, c.sysctlbyname('net.inet.tcp.drop', null, null, bad));
      const s0 = tcpstat(k, va);
      r['drop'] = await sys(c, c.sysctlbyname('net.inet.tcp.drop', null, null, v));
      const d = delta(s0, tcpstat(k, va));
      r['sent'] = d['tcps_sndtotal'] ?? 0;
      r['closed'] = d['tcps_closed'] ?? 0;
      r['left'] = (await tcp_pcblist(c))!.filter((x) => x.fport === PORT).length;
    },
    pr(k, 'a'),
  );
  await Promise.all([srv, client]);
  assert.equal(got.eof, true);
  assert.deepEqual(r, {
    states: [10], // TIME_WAIT
    short: -ENOMEM,
    family: -EINVAL,
    drop: 0,
    sent: 0,
    closed: 1,
    left: 0,
  });
});
