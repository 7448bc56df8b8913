// vxlan(4) over real host UDP on loopback: two vxlan interfaces exchange frames through
// the host's network, learn each other's MAC, drop malformed datagrams and datagrams of
// another VNI; a transmitted frame's RFC 7348 encapsulation is checked byte for byte by a
// raw host socket; the host endpoint (host/udp.ts) hands over one event-loop turn's
// datagrams as one batch and copies what it sends, and a burst from the host enters the
// kernel with one netisr wakeup per batch, not one per frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { boot } from '../../../src/kern/boot.js';
import { TEST_KERNCONF } from '../../lib/kernel.js';
import { sh } from '../../lib/sh.js';
import { ifunit } from '../../../src/net/if.js';
import { with_vnet } from '../../../src/net/vnet.js';
import { vxlan_ftable } from '../../../src/net/if_vxlan.js';
import {
  IFCOUNTER_IERRORS,
  IFCOUNTER_IPACKETS,
  IFF_DRV_RUNNING,
  if_get_counter,
} from '../../../src/net/if_var.js';
import { mtod } from '../../../src/sys/mbuf.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import { host_net, type HostUdpBatch } from '../../../src/host/udp.js';

const P1 = 40000 + (process.pid % 5000) * 2;
const P2 = P1 + 1;
/* Two more ports for the host-endpoint and encapsulation tests. */
const P3 = 30000 + (process.pid % 5000) * 2;
const P4 = P3 + 1;

/** A raw host UDP socket bound on loopback, collecting what it receives. */
async function raw_socket(port = 0): Promise<{
  s: ReturnType<typeof createSocket>;
  port: number;
  got: Buffer[];
}> {
  const s = createSocket('udp4');
  const got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  await new Promise<void>((res) => s.bind(port, '127.0.0.1', () => res()));
  return { s, port: s.address().port, got };
}

/** Wait for the host event loop (no kernel involved) until cond() holds. */
async function host_until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

async function until(k: Kernel, cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (k.enter(cond)) return;
    await k.run_for(0.01);
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('two vxlan interfaces carry frames over host UDP and learn MACs', async () => {
  const k = boot({ kernconf: TEST_KERNCONF, clock: 'real' });
  const r = await sh(
    [
      `ifconfig vxlan create vxlanid 42 vxlanlocal 127.0.0.1 vxlanlocalport ${P1} vxlanremote 127.0.0.1 vxlanremoteport ${P2} up`,
      `ifconfig vxlan create vxlanid 42 vxlanlocal 127.0.0.1 vxlanlocalport ${P2} vxlanremote 127.0.0.1 vxlanremoteport ${P1} up`,
      'ifconfig vxlan0',
      'ifconfig vxlan1 vxlanid 7; echo busy=$?',
    ].join('\n'),
    { kernel: k },
  );
  assert.match(r.out, /^vxlan0\nvxlan1\n/);
  assert.match(
    r.out,
    new RegExp(`\\tvxlan vni 42 local 127\\.0\\.0\\.1:${P1} remote 127\\.0\\.0\\.1:${P2}\\n`),
  );
  assert.match(r.out, /busy=1/, 'the VNI cannot change while the interface is up');
  const v0 = k.enter(() => with_vnet(k.vnet0, () => ifunit('vxlan0')!));
  const v1 = k.enter(() => with_vnet(k.vnet0, () => ifunit('vxlan1')!));
  await until(k, () => (v0.if_drv_flags & v1.if_drv_flags & IFF_DRV_RUNNING) !== 0, 'RUNNING');

  // A broadcast frame from vxlan0 floods to the remote and is learned at vxlan1.
  const send = (from: typeof v0, dst: number): void =>
    k.enter(() =>
      with_vnet(k.vnet0, () => {
        const m = k.mbpool.m_gethdr(60)!;
        const b = mtod(m);
        for (let i = 0; i < 6; i++) b[i] = Math.floor(dst / 256 ** (5 - i)) & 0xff;
        for (let i = 0; i < 6; i++) b[6 + i] = Math.floor(from.if_lladdr! / 256 ** (5 - i)) & 0xff;
        b[12] = 0x88;
        b[13] = 0xb5; // local experimental ethertype
        from.if_transmit(from, m);
      }),
    );
  send(v0, 0xffffffffffff);
  await until(k, () => if_get_counter(v1, IFCOUNTER_IPACKETS) === 1, 'the frame at vxlan1');
  const ft = k.enter(() => vxlan_ftable(v1));
  assert.deepEqual(ft, [{ mac: v0.if_lladdr, addr: '127.0.0.1', port: P1 }]);
  send(v1, v0.if_lladdr!);
  await until(k, () => if_get_counter(v0, IFCOUNTER_IPACKETS) === 1, 'the unicast reply at vxlan0');

  // Malformed and foreign-VNI datagrams are counted and dropped.
  const raw = createSocket('udp4');
  await new Promise<void>((res) => raw.bind(0, '127.0.0.1', () => res()));
  const good = Buffer.alloc(8 + 14);
  good[0] = 0x08;
  good[6] = 43; // VNI 43
  raw.send(Buffer.from([1, 2, 3]), P2, '127.0.0.1');
  raw.send(good, P2, '127.0.0.1');
  await until(k, () => if_get_counter(v1, IFCOUNTER_IERRORS) === 2, 'two counted drops');
  raw.close();
  assert.equal(
    k.enter(() => if_get_counter(v1, IFCOUNTER_IPACKETS)),
    1,
  );
  const d = await sh('ifconfig vxlan0 destroy; ifconfig vxlan1 destroy; ifconfig -l', {
    kernel: k,
  });
  assert.equal(d.out, 'lo0\n');
});

test('the host endpoint hands over a turn of datagrams as one batch, and copies what it sends', async () => {
  const raw = await raw_socket();
  const batches: { address: string; port: number; data: Buffer }[][] = [];
  let errors = 0;
  const ep = await new Promise<ReturnType<typeof host_net.udp_open>>((res, rej) => {
    const e = host_net.udp_open(
      '127.0.0.1',
      P3,
      (b: HostUdpBatch) => {
        const l = [];
        for (let i = 0; i < b.n; i++) l.push({ ...b.from[i]!, data: Buffer.from(b.data[i]!) }); // the batch is reused
        batches.push(l);
      },
      () => res(e),
      (code) => (errors++, rej(new Error(code))),
    );
  });
  try {
    // 20 datagrams sent in one turn are all in the socket before the host polls it: they
    // arrive together (libuv reads a few dozen per poll), in order, each with its source.
    for (let i = 0; i < 20; i++) raw.s.send(Buffer.from([i, 0xee]), P3, '127.0.0.1');
    await host_until(() => batches.flat().length === 20, '20 datagrams');
    assert.ok(batches.length <= 2, `20 datagrams of one turn in ${batches.length} batches`);
    assert.deepEqual(
      batches.flat().map((d) => [...d.data]),
      Array.from({ length: 20 }, (_, i) => [i, 0xee]),
    );
    assert.ok(batches.flat().every((d) => d.address === '127.0.0.1' && d.port === raw.port));
    // send() only borrows its argument: the caller reuses the buffer at once (as the
    // driver frees the mbuf), and the datagram still carries what was there.
    const b = new Uint8Array([1, 2, 3, 4, 5]);
    ep.send(b, raw.port, '127.0.0.1');
    b.fill(0);
    ep.send(b.subarray(0, 2), raw.port, '127.0.0.1');
    await host_until(() => raw.got.length === 2, 'two datagrams at the raw socket');
    assert.deepEqual([...raw.got[0]!], [1, 2, 3, 4, 5]);
    assert.deepEqual([...raw.got[1]!], [0, 0]);
    // A send the host refuses at once reaches onerror (node:dgram drops it silently
    // without a completion callback).
    ep.send(new Uint8Array(70000), raw.port, '127.0.0.1');
    await host_until(() => errors === 1, 'EMSGSIZE reported');
  } finally {
    ep.close();
    raw.s.close();
  }
});

test('a frame leaves with the RFC 7348 header; a burst from the host wakes the netisr once per batch', async () => {
  const k = boot({ kernconf: TEST_KERNCONF, clock: 'real' });
  const raw = await raw_socket(P4);
  try {
    await sh(
      `ifconfig vxlan create vxlanid 0x12345 vxlanlocal 127.0.0.1 vxlanlocalport ${P3} ` +
        `vxlanremote 127.0.0.1 vxlanremoteport ${P4} up`,
      { kernel: k },
    );
    const v0 = k.enter(() => with_vnet(k.vnet0, () => ifunit('vxlan0')!));
    await until(k, () => (v0.if_drv_flags & IFF_DRV_RUNNING) !== 0, 'RUNNING');
    const mac = v0.if_lladdr!;
    const macb = Array.from({ length: 6 }, (_, i) => Math.floor(mac / 256 ** (5 - i)) & 0xff);

    // Transmit: 8 bytes of VXLAN header (I flag, VNI 0x012345), then the frame unchanged.
    const frame = [
      ...Array(6).fill(0xff),
      ...macb,
      0x88,
      0xb5,
      ...Array(46)
        .fill(0)
        .map((_, i) => i),
    ];
    k.enter(() =>
      with_vnet(k.vnet0, () => {
        const m = k.mbpool.m_gethdr(frame.length)!;
        mtod(m).set(frame);
        return v0.if_transmit(v0, m);
      }),
    );
    await host_until(() => raw.got.length === 1, 'the encapsulated frame');
    assert.deepEqual([...raw.got[0]!], [0x08, 0, 0, 0, 0x01, 0x23, 0x45, 0, ...frame]);

    // Receive: 40 frames sent in one turn enter as one or two batches; every frame is
    // counted in, and the netisr thread ran the driver's queue once a batch.
    const nws = k.kthr.nws[0]!;
    const handled0 = nws.nws_handled;
    const in0 = k.enter(() => if_get_counter(v0, IFCOUNTER_IPACKETS));
    const peer = [0x02, 0, 0, 0, 0, 0x99];
    for (let i = 0; i < 40; i++)
      raw.s.send(
        Buffer.from([0x08, 0, 0, 0, 0x01, 0x23, 0x45, 0, ...macb, ...peer, 0x88, 0xb5, i]),
        P3,
        '127.0.0.1',
      );
    await until(k, () => if_get_counter(v0, IFCOUNTER_IPACKETS) - in0 === 40, '40 frames in');
    const runs = nws.nws_handled - handled0;
    assert.ok(runs >= 1 && runs <= 2, `40 frames of one turn took ${runs} netisr runs`);
    assert.deepEqual(
      k.enter(() => vxlan_ftable(v0)),
      [{ mac: 0x020000000099, addr: '127.0.0.1', port: P4 }],
    );
    await sh('ifconfig vxlan0 destroy', { kernel: k });
  } finally {
    raw.s.close();
    k.clock.shutdown();
  }
});
