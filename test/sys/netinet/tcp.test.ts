// TCP (netinet/tcp_*.ts) between two vnets over an epair (lab2: a = 192.0.2.1,
// b = 192.0.2.2).  bootVimage: runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { runIn, sys } from '../../lib/inet.js';
import { delta, inv, ip, lab2, type Counters } from '../../lib/inet_lab.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Vnet } from '../../../src/net/vnet.js';
import type { Libc } from '../../../src/lib/libc.js';
import { prison_find_name, type Prison } from '../../../src/kern/kern_jail.js';
import { AF_INET, SOCK_STREAM } from '../../../src/sys/socket.js';
import { sockaddr_in, sockaddr_in_encode } from '../../../src/netinet/in.js';
import { V_tcpstat } from '../../../src/netinet/tcp_var.js';

function sin(a: number, port: number): Uint8Array {
  const b = new Uint8Array(16);
  sockaddr_in_encode(sockaddr_in(a, port), b);
  return b;
}

function pr(k: Kernel, name: string): Prison {
  const p = prison_find_name(k, k.prison0, name);
  assert.ok(p !== null);
  return p;
}

function tcpstat(k: Kernel, v: Vnet): Counters {
  return inv(k, v, () => V_tcpstat.fetchAll(v));
}

async function readAll(c: Libc, s: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await c.read(s, buf);
    assert.ok(n >= 0, `read: ${c.errno}`);
    if (n === 0) break;
    chunks.push(buf.slice(0, n));
  }
  return Buffer.concat(chunks);
}

test('a connection, 100 kB each way, orderly close', async () => {
  const L = lab2(bootVimage());
  const { k, va, vb } = L;
  const data = new Uint8Array(100000).map((_, i) => (i * 13) & 0xff);
  const sa0 = tcpstat(k, va);
  let got: Uint8Array | null = null;
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await sys(c, c.bind(l, sin(0, 8080))), 0);
      assert.equal(await sys(c, c.listen(l, 5)), 0);
      const s = await c.accept(l, null, null);
      assert.ok(s >= 0, `accept ${c.errno}`);
      got = await readAll(c, s);
      let off = 0;
      while (off < data.length) {
        const n = await c.write(s, data.subarray(off));
        assert.ok(n > 0);
        off += n;
      }
      await c.close(s);
      await c.close(l);
    },
    pr(k, 'b'),
  );
  let back: Uint8Array | null = null;
  const client = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await sys(c, c.connect(s, sin(ip('192.0.2.2'), 8080))), 0);
      let off = 0;
      while (off < data.length) {
        const n = await c.write(s, data.subarray(off));
        assert.ok(n > 0, `write ${c.errno}`);
        off += n;
      }
      assert.equal(await c.shutdown(s, 1), 0);
      back = await readAll(c, s);
      await c.close(s);
    },
    pr(k, 'a'),
  );
  await Promise.all([server, client]);
  assert.equal(Buffer.compare(got!, data), 0);
  assert.equal(Buffer.compare(back!, data), 0);
  const d = delta(sa0, tcpstat(k, va));
  assert.equal(d['tcps_connects'], 1);
  void vb;
});
