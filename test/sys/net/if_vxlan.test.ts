// vxlan(4) over real host UDP on loopback: two vxlan interfaces exchange frames through
// the host's network (RFC 7348 encapsulation checked byte for byte by a raw host
// socket), learn each other's MAC, drop malformed datagrams and datagrams of another VNI.
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

const P1 = 40000 + (process.pid % 5000) * 2;
const P2 = P1 + 1;

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
