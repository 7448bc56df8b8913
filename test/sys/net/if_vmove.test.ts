// VIMAGE_ONLY: moving interfaces between vnets (ifconfig IF vnet JAIL / -vnet JAIL):
// SIOCSIFVNET / SIOCSIFRVNET through ifioctl_generic with FreeBSD's errors, and a
// destroyed jail's vnet sending loaned interfaces home (§9.4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { userproc } from '../../lib/proc.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import { kern_jail_set, prison_remove } from '../../../src/kern/kern_jail.js';
import {
  ifioctl_generic,
  ifr_name_get,
  ifr_name_set,
  ifunit,
  if_list,
} from '../../../src/net/if.js';
import { with_vnet, type Vnet } from '../../../src/net/vnet.js';
import {
  SIOCGIFFLAGS,
  SIOCGIFINDEX,
  SIOCGIFMTU,
  SIOCSIFFLAGS,
  SIOCSIFMTU,
  SIOCSIFRVNET,
  SIOCSIFVNET,
  SIOCIFCREATE,
  SIOCIFDESTROY,
  SIOCSIFNAME,
} from '../../../src/sys/sockio.js';
import { EEXIST, EINVAL, ENOIOCTL, ENXIO, EPERM } from '../../../src/sys/errno.js';
import { IFF_UP, IFF_DRV_RUNNING } from '../../../src/net/if_var.js';
import type { Thread } from '../../../src/sys/proc.js';
import { bpf_listeners } from '../../../src/net/bpf.js';
import { SIOCGIFADDR } from '../../../src/sys/sockio.js';

function ifreq(name: string, int16?: number): Uint8Array {
  const b = new Uint8Array(32);
  ifr_name_set(b, name);
  if (int16 !== undefined) new DataView(b.buffer).setInt32(16, int16, true);
  return b;
}

function ioctl(k: Kernel, td: Thread, v: Vnet, cmd: number, data: Uint8Array): number {
  return k.enter(() => with_vnet(v, () => ifioctl_generic(null, cmd, data, td)));
}

function names(k: Kernel, v: Vnet): string[] {
  return k.enter(() => with_vnet(v, () => if_list().map((i) => i.if_xname)));
}

test('ifconfig epair0b vnet j / -vnet j', () => {
  const k = bootVimage();
  const up = userproc(k);
  const j = k.enter(() => kern_jail_set(k, k.prison0, { name: 'j', vnet: true, persist: true }));
  const jv = j.pr!.pr_vnet!;
  const v0 = k.vnet0;
  const c = ifreq('epair');
  assert.equal(ioctl(k, up.td, v0, SIOCIFCREATE, c), 0);
  assert.equal(ifr_name_get(c), 'epair0a', 'the created name is copied back');
  const idxBefore = k.enter(() => with_vnet(v0, () => ifunit('epair0b')!.if_index));
  assert.equal(idxBefore, 3);

  // ENXIO for a jail that does not exist.
  assert.equal(ioctl(k, up.td, v0, SIOCSIFVNET, ifreq('epair0b', 99)), ENXIO);
  // Move b into the jail.
  const r = ifreq('epair0b', j.jid);
  assert.equal(ioctl(k, up.td, v0, SIOCSIFVNET, r), 0);
  assert.equal(ifr_name_get(r), 'epair0b');
  assert.deepEqual(names(k, v0), ['lo0', 'epair0a']);
  assert.deepEqual(names(k, jv), ['lo0', 'epair0b']);
  const moved = k.enter(() => with_vnet(jv, () => ifunit('epair0b')!));
  assert.equal(moved.if_index, 2, 'a new index in the target vnet');
  assert.equal(moved.if_vnet, jv);
  assert.equal(moved.if_home_vnet, v0, 'home does not change');
  assert.equal(jv.vnet_ifcnt, 2);
  assert.ok(moved.if_bpf !== null, 'bpf attachment made again in the target');
  assert.equal(bpf_listeners(moved).length, 0, 'old descriptors lost it');
  assert.equal(v0.vnet_ifcnt, 2);
  // SIOCSIFVNET on a name that is no longer here: ENXIO.
  assert.equal(ioctl(k, up.td, v0, SIOCSIFVNET, ifreq('epair0b', j.jid)), ENXIO);

  // Name clash in the target: EEXIST.  Make an epair0a... in the jail? The host's
  // epair0a would clash with nothing; create lo1 in both and try to move the host's.
  assert.equal(ioctl(k, up.td, v0, SIOCIFCREATE, ifreq('lo1')), 0);
  assert.equal(ioctl(k, up.td, jv, SIOCIFCREATE, ifreq('lo1')), 0);
  assert.equal(ioctl(k, up.td, v0, SIOCSIFVNET, ifreq('lo1', j.jid)), EEXIST);

  // A jailed process sees only its vnet; it cannot move interfaces to its own jail.
  const jp = userproc(k, { prison: j.pr! });
  assert.equal(ioctl(k, jp.td, jv, SIOCSIFVNET, ifreq('epair0b', j.jid)), ENXIO);
  assert.equal(ioctl(k, jp.td, jv, SIOCGIFINDEX, ifreq('epair0a')), ENXIO);

  // -vnet: reclaim.
  assert.equal(ioctl(k, up.td, v0, SIOCSIFRVNET, ifreq('epair0b', 99)), ENXIO);
  assert.equal(ioctl(k, up.td, v0, SIOCSIFRVNET, ifreq('nosuch0', j.jid)), ENXIO);
  const rr = ifreq('epair0b', j.jid);
  assert.equal(ioctl(k, up.td, v0, SIOCSIFRVNET, rr), 0);
  assert.equal(ifr_name_get(rr), 'epair0b');
  assert.deepEqual(names(k, v0), ['lo0', 'epair0a', 'lo1', 'epair0b']);
  // Same vnet: EEXIST (moving to where it already is).
  const j2 = k.enter(() => kern_jail_set(k, k.prison0, { name: 'nv', persist: true }));
  assert.equal(j2.error, 0);
  assert.equal(ioctl(k, up.td, v0, SIOCSIFVNET, ifreq('epair0b', j2.jid)), EEXIST);
});

test('destroying the jail brings loaned interfaces home', () => {
  const k = bootVimage();
  const up = userproc(k);
  const j = k.enter(() => kern_jail_set(k, k.prison0, { name: 'j', vnet: true, persist: true }));
  const v0 = k.vnet0;
  assert.equal(ioctl(k, up.td, v0, SIOCIFCREATE, ifreq('epair')), 0);
  assert.equal(ioctl(k, up.td, v0, SIOCSIFVNET, ifreq('epair0b', j.jid)), 0);
  // Unit 0 of the jail's own cloner clashes with the loaned epair0b (EEXIST, §9.2).
  assert.equal(ioctl(k, up.td, j.pr!.pr_vnet!, SIOCIFCREATE, ifreq('epair')), EEXIST);
  // An interface created inside the jail dies with it.
  assert.equal(ioctl(k, up.td, j.pr!.pr_vnet!, SIOCIFCREATE, ifreq('epair5')), 0);
  assert.deepEqual(names(k, j.pr!.pr_vnet!), ['lo0', 'epair0b', 'epair5a', 'epair5b']);
  k.enter(() => prison_remove(k, j.pr!));
  assert.deepEqual(names(k, v0), ['lo0', 'epair0a', 'epair0b']);
  const b = k.enter(() => with_vnet(v0, () => ifunit('epair0b')!));
  assert.equal(b.if_vnet, v0);
  assert.equal(v0.vnet_ifcnt, 3);
});

test('generic ioctls: flags, mtu, index, rename, privilege, ENOIOCTL', () => {
  const k = bootVimage();
  const up = userproc(k);
  const v0 = k.vnet0;
  assert.equal(ioctl(k, up.td, v0, SIOCIFCREATE, ifreq('epair')), 0);
  const f = ifreq('epair0a');
  assert.equal(ioctl(k, up.td, v0, SIOCGIFFLAGS, f), 0);
  const dv = new DataView(f.buffer);
  assert.equal(dv.getUint16(16, true), 0x8842, 'BROADCAST,RUNNING,SIMPLEX,MULTICAST');
  dv.setUint16(16, 0x8843, true);
  assert.equal(ioctl(k, up.td, v0, SIOCSIFFLAGS, f), 0);
  const ifp = k.enter(() => with_vnet(v0, () => ifunit('epair0a')!));
  assert.ok(ifp.if_flags & IFF_UP);
  assert.equal(ifp.if_flags & IFF_DRV_RUNNING, 0, 'RUNNING stays in if_drv_flags');
  // MTU: epair takes anything in 72..65535; ifhwioctl refuses outside.
  assert.equal(ioctl(k, up.td, v0, SIOCSIFMTU, ifreq('epair0a', 9000)), 0);
  assert.equal(ioctl(k, up.td, v0, SIOCSIFMTU, ifreq('epair0a', 71)), EINVAL);
  assert.equal(ioctl(k, up.td, v0, SIOCSIFMTU, ifreq('epair0a', 65536)), EINVAL);
  const m = ifreq('epair0a');
  assert.equal(ioctl(k, up.td, v0, SIOCGIFMTU, m), 0);
  assert.equal(new DataView(m.buffer).getInt32(16, true), 9000);
  // lo0's index is 1.
  const ix = ifreq('lo0');
  assert.equal(ioctl(k, up.td, v0, SIOCGIFINDEX, ix), 0);
  assert.equal(new DataView(ix.buffer).getInt16(16, true), 1);
  // Rename via a user pointer.
  const { addr, buf } = up.libc.malloc(16)!;
  buf.set(new TextEncoder().encode('net0\0'));
  const rn = ifreq('epair0a');
  new DataView(rn.buffer).setBigUint64(16, BigInt(addr), true);
  assert.equal(ioctl(k, up.td, v0, SIOCSIFNAME, rn), 0);
  assert.ok(k.enter(() => with_vnet(v0, () => ifunit('net0'))));
  buf.set(new TextEncoder().encode('lo0\0'));
  const rn2 = ifreq('net0');
  new DataView(rn2.buffer).setBigUint64(16, BigInt(addr), true);
  assert.equal(ioctl(k, up.td, v0, SIOCSIFNAME, rn2), EEXIST);
  // Unprivileged: EPERM for sets, gets allowed.
  const user = userproc(k, { uid: 1001 });
  assert.equal(ioctl(k, user.td, v0, SIOCSIFMTU, ifreq('net0', 1400)), EPERM);
  assert.equal(ioctl(k, user.td, v0, SIOCIFDESTROY, ifreq('net0')), EPERM);
  assert.equal(ioctl(k, user.td, v0, SIOCGIFMTU, ifreq('net0')), 0);
  // Address ioctls belong to the protocol layer.
  assert.equal(ioctl(k, up.td, v0, SIOCGIFADDR, ifreq('net0')), ENOIOCTL);
  assert.equal(ioctl(k, up.td, v0, SIOCIFDESTROY, ifreq('net0')), 0);
  assert.deepEqual(names(k, v0), ['lo0']);
});
