// epair(4): creation of both sides, FreeBSD's MAC layout, destroy of either side
// (even across vnets), unit reuse, names ending in a/b refused (mirrors
// tests/sys/net/if_epair.sh and the cloning rules of §9.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest, bootVimage } from '../../lib/kernel.js';
import { ddb } from '../../lib/ddb.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import { if_clone_create, if_clone_destroy, if_clone_list } from '../../../src/net/if_clone.js';
import { ifr_name_set, ifunit, if_list, if_vmove } from '../../../src/net/if.js';
import { runIn } from '../../lib/inet.js';
import { AF_INET, SOCK_DGRAM } from '../../../src/sys/socket.js';
import { SIOCGIFMEDIA, SIOCSIFMEDIA } from '../../../src/sys/sockio.js';
import {
  IFM_10G_T,
  IFM_ACTIVE,
  IFM_AUTO,
  IFM_AVALID,
  IFM_ETHER,
  IFM_FDX,
  ifmedia_string,
} from '../../../src/net/if_media.js';
import { ether_sprintf } from '../../../src/net/ethernet.js';
import { kern_jail_set } from '../../../src/kern/kern_jail.js';
import { with_vnet } from '../../../src/net/vnet.js';
import { EEXIST, EINVAL, ENXIO } from '../../../src/sys/errno.js';
import {
  IFF_BROADCAST,
  IFF_DRV_RUNNING,
  IFF_MULTICAST,
  IFF_SIMPLEX,
  IFT_ETHER,
  LINK_STATE_UP,
} from '../../../src/net/if_var.js';

function v0<T>(k: Kernel, fn: () => T): T {
  return k.enter(() => with_vnet(k.vnet0, fn));
}

test('epair create makes both sides with FreeBSD MACs and flags', () => {
  const k = bootTest();
  v0(k, () => {
    assert.ok(if_clone_list().includes('epair'));
    assert.ok(if_clone_list().includes('lo'));
    const r = if_clone_create('epair', null);
    assert.equal(r.error, 0);
    assert.equal(r.name, 'epair0a', 'ifconfig epair create prints epair0a');
    const a = ifunit('epair0a')!;
    const b = ifunit('epair0b')!;
    assert.ok(a && b);
    assert.equal(a.if_type, IFT_ETHER);
    assert.equal(a.if_flags, IFF_BROADCAST | IFF_SIMPLEX | IFF_MULTICAST);
    assert.ok(a.if_drv_flags & IFF_DRV_RUNNING);
    assert.equal(a.if_link_state, LINK_STATE_UP);
    const ma = ether_sprintf(a.if_lladdr!);
    const mb = ether_sprintf(b.if_lladdr!);
    assert.match(ma, /^02:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}:0a$/);
    assert.equal(mb, ma.slice(0, -2) + '0b');
    assert.deepEqual(
      if_list().map((i) => i.if_xname),
      ['lo0', 'epair0a', 'epair0b'],
    );
    assert.equal(a.if_index, 2);
    assert.equal(b.if_index, 3);
    const r2 = if_clone_create('epair', null);
    assert.equal(r2.name, 'epair1a');
    assert.notEqual(ether_sprintf(ifunit('epair1a')!.if_lladdr!), ma, 'MACs differ per pair');
  });
});

test('the same seed gives the same MACs', () => {
  const macs = [0, 1].map(() => {
    const k = bootTest({ seed: 42 });
    return v0(k, () => {
      if_clone_create('epair', null);
      return ether_sprintf(ifunit('epair0a')!.if_lladdr!);
    });
  });
  assert.equal(macs[0], macs[1]);
});

test('destroying either side removes both; units are reused lowest first', () => {
  const k = bootTest();
  v0(k, () => {
    if_clone_create('epair', null);
    if_clone_create('epair', null);
    if_clone_create('epair', null);
    assert.equal(if_clone_destroy('epair1b'), 0);
    assert.equal(ifunit('epair1a'), null);
    assert.equal(ifunit('epair1b'), null);
    assert.equal(if_clone_create('epair', null).name, 'epair1a', 'lowest free unit');
    assert.equal(if_clone_destroy('epair0a'), 0);
    assert.equal(ifunit('epair0b'), null);
    assert.equal(if_clone_destroy('epair0a'), ENXIO);
    assert.equal(if_clone_create('epair7', null).name, 'epair7a', 'an explicit unit');
    assert.equal(if_clone_create('epair7', null).error, EEXIST);
    assert.equal(if_clone_create('epair0', null).name, 'epair0a');
  });
});

test('names ending in a or b are refused; lo0 cannot be destroyed', () => {
  const k = bootTest();
  v0(k, () => {
    assert.equal(if_clone_create('epair0a', null).error, EINVAL);
    assert.equal(if_clone_create('epair3b', null).error, EINVAL);
    assert.equal(if_clone_create('foo0', null).error, EINVAL);
    assert.equal(if_clone_destroy('lo0'), EINVAL);
    assert.equal(if_clone_create('lo', null).name, 'lo1');
    assert.equal(if_clone_destroy('lo1'), 0);
    assert.equal(if_clone_create('lo0', null).error, EEXIST);
  });
});

test('destroying a side removes the other even when it lives in another vnet', () => {
  // Needs a vnet jail: runs on a VIMAGE kernel in both passes.
  const k = bootVimage();
  const j = k.enter(() => kern_jail_set(k, k.prison0, { name: 'j', vnet: true, persist: true }));
  assert.equal(j.error, 0);
  const jv = j.pr!.pr_vnet!;
  v0(k, () => {
    if_clone_create('epair', null);
    if_vmove(ifunit('epair0b')!, jv);
    assert.equal(ifunit('epair0b'), null);
  });
  k.enter(() =>
    with_vnet(jv, () => {
      assert.ok(ifunit('epair0b'));
      // Destroying b from inside the jail removes a in the host too.
      assert.equal(if_clone_destroy('epair0b'), 0);
    }),
  );
  v0(k, () => assert.equal(ifunit('epair0a'), null));
  assert.equal(jv.vnet_ifcnt, 1, 'only the jail lo0 remains');
  v0(k, () => {
    if_clone_create('epair', null);
    if_vmove(ifunit('epair0b')!, jv);
    assert.equal(if_clone_destroy('epair0a'), 0);
  });
  k.enter(() => with_vnet(jv, () => assert.equal(ifunit('epair0b'), null)));
});

test('ddb: show all ifnets', () => {
  const k = bootTest();
  v0(k, () => {
    if_clone_create('epair', null);
  });
  const out = ddb(k, 'show all ifnets');
  assert.match(out, /lo0 +index +1 flags=8008<LOOPBACK,MULTICAST> mtu 16384/);
  assert.match(
    out,
    /epair0a +index +2 flags=8842<BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500 ether 02:/,
  );
  assert.match(out, /epair0b +index +3 .* ether 02:[0-9a-f:]+:0b/);
});

test('SIOCGIFMEDIA: an epair is 10Gbase-T, active, full duplex; SIOCSIFMEDIA takes only that', async () => {
  const k = bootTest();
  k.enter(() => with_vnet(k.vnet0, () => assert.equal(if_clone_create('epair', null).error, 0)));
  const out = await runIn(k, async (c) => {
    const s = await c.socket(AF_INET, SOCK_DGRAM, 0);
    const list = c.malloc(16)!;
    const req = new Uint8Array(48);
    ifr_name_set(req, 'epair0a');
    const dv = new DataView(req.buffer);
    dv.setInt32(32, 4, true); /* ifm_count: room for four words */
    dv.setUint32(40, list.addr >>> 0, true);
    dv.setUint32(44, Math.floor(list.addr / 4294967296), true);
    const r = [await c.ioctl(s, SIOCGIFMEDIA, req)];
    const words = new DataView(list.buf.buffer, list.buf.byteOffset, 16);
    r.push(dv.getInt32(16, true), dv.getInt32(24, true), dv.getInt32(28, true));
    r.push(dv.getInt32(32, true), words.getInt32(0, true), words.getInt32(4, true));
    /* Another medium is refused; the one listed is accepted. */
    const set = new Uint8Array(32);
    ifr_name_set(set, 'epair0a');
    new DataView(set.buffer).setInt32(16, IFM_ETHER | IFM_AUTO, true);
    r.push(await c.ioctl(s, SIOCSIFMEDIA, set), c.errno);
    new DataView(set.buffer).setInt32(16, IFM_ETHER | IFM_10G_T, true);
    r.push(await c.ioctl(s, SIOCSIFMEDIA, set));
    /* lo0 has no media. */
    ifr_name_set(req, 'lo0');
    r.push(await c.ioctl(s, SIOCGIFMEDIA, req), c.errno);
    return r;
  });
  assert.deepEqual(out, [
    0,
    IFM_ETHER | IFM_10G_T, // ifm_current
    IFM_AVALID | IFM_ACTIVE, // ifm_status
    IFM_ETHER | IFM_10G_T | IFM_FDX, // ifm_active
    1, // ifm_count
    IFM_ETHER | IFM_10G_T, // the list
    0, // nothing past it
    -1,
    ENXIO,
    0,
    -1,
    EINVAL,
  ]);
  assert.equal(ifmedia_string(IFM_ETHER | IFM_10G_T, true), 'Ethernet 10Gbase-T');
  assert.equal(ifmedia_string(IFM_ETHER | IFM_10G_T | IFM_FDX, false), '10Gbase-T <full-duplex>');
});
