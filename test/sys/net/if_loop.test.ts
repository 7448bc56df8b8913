// lo(4) in every vnet, looutput's loop back through netisr with the checksum flags
// that let protocols skip verification, and the interface-list ioctls
// (SIOCGIFCONF with sockaddr_dl records, SIOCIFGCLONERS).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../../lib/kernel.js';
import { userproc } from '../../lib/proc.js';
import { kern_jail_set } from '../../../src/kern/kern_jail.js';
import {
  ifioctl_generic,
  ifr_name_get,
  ifr_name_set,
  ifunit,
  if_list,
} from '../../../src/net/if.js';
import { curvnet, with_vnet } from '../../../src/net/vnet.js';
import {
  AF_INET,
  AF_LINK,
  IFCOUNTER_IPACKETS,
  IFCOUNTER_OPACKETS,
  IFF_LOOPBACK,
  IFF_MULTICAST,
  IFF_UP,
  IFT_LOOP,
  if_get_counter,
} from '../../../src/net/if_var.js';
import { NETISR_IP, netisr_register } from '../../../src/net/netisr.js';
import {
  CSUM_DATA_VALID,
  CSUM_IP_CHECKED,
  CSUM_IP_VALID,
  CSUM_PSEUDO_HDR,
  m_freem,
  type Mbuf,
} from '../../../src/sys/mbuf.js';
import { LOMTU } from '../../../src/net/if_loop.js';
import {
  SIOCGIFCONF,
  SIOCIFCREATE,
  SIOCIFGCLONERS,
  SIOCSIFFLAGS,
} from '../../../src/sys/sockio.js';
import { ENETDOWN } from '../../../src/sys/errno.js';

test('lo0 exists in every vnet and loops packets back with checksums marked valid', async () => {
  const k = bootTest();
  const got: { flags: number; rcvif: string; vnet: unknown }[] = [];
  netisr_register(k, {
    nh_name: 'ip',
    nh_proto: NETISR_IP,
    nh_qlimit: 256,
    nh_handler: (m: Mbuf) => {
      got.push({ flags: m.csum_flags, rcvif: m.rcvif!.if_xname, vnet: curvnet() });
      m_freem(m);
    },
  });
  const up = userproc(k);
  const lo = k.enter(() => with_vnet(k.vnet0, () => ifunit('lo0')!));
  assert.equal(lo.if_type, IFT_LOOP);
  assert.equal(lo.if_flags, IFF_LOOPBACK | IFF_MULTICAST);
  assert.equal(lo.if_mtu, LOMTU);
  assert.equal(lo.if_index, 1);
  const send = (): number =>
    k.enter(() =>
      with_vnet(k.vnet0, () =>
        lo.if_output(lo, k.mbpool.m_gethdr(20)!, { sa_family: AF_INET }, null),
      ),
    );
  assert.equal(send(), ENETDOWN, 'not running before it is brought up');
  const f = new Uint8Array(32);
  ifr_name_set(f, 'lo0');
  new DataView(f.buffer).setUint16(16, IFF_UP, true);
  assert.equal(
    k.enter(() => with_vnet(k.vnet0, () => ifioctl_generic(null, SIOCSIFFLAGS, f, up.td))),
    0,
  );
  assert.equal(send(), 0);
  assert.equal(got.length, 0, 'deferred through netisr');
  await k.run_until_idle();
  assert.equal(got.length, 1);
  assert.equal(got[0]!.flags, CSUM_DATA_VALID | CSUM_PSEUDO_HDR | CSUM_IP_CHECKED | CSUM_IP_VALID);
  assert.equal(got[0]!.rcvif, 'lo0');
  assert.equal(
    k.enter(() => if_get_counter(lo, IFCOUNTER_OPACKETS)),
    1,
  );
  assert.equal(
    k.enter(() => if_get_counter(lo, IFCOUNTER_IPACKETS)),
    1,
  );
  if (k.vimage) {
    const j = k.enter(() => kern_jail_set(k, k.prison0, { name: 'j', vnet: true, persist: true }));
    const names = k.enter(() => with_vnet(j.pr!.pr_vnet!, () => if_list().map((i) => i.if_xname)));
    assert.deepEqual(names, ['lo0']);
    const jlo = k.enter(() => with_vnet(j.pr!.pr_vnet!, () => ifunit('lo0')!));
    assert.notEqual(jlo, lo, 'each vnet has its own lo0');
  }
});

test('SIOCGIFCONF and SIOCIFGCLONERS', async () => {
  const k = bootTest();
  const up = userproc(k);
  const io = (cmd: number, d: Uint8Array): number =>
    k.enter(() => with_vnet(k.vnet0, () => ifioctl_generic(null, cmd, d, up.td)));
  const c = new Uint8Array(32);
  ifr_name_set(c, 'epair');
  assert.equal(io(SIOCIFCREATE, c), 0);
  // Size query, then the records.
  const ifc = new Uint8Array(16);
  const dv = new DataView(ifc.buffer);
  assert.equal(io(SIOCGIFCONF, ifc), 0);
  const need = dv.getInt32(0, true);
  assert.equal(need, 3 * (16 + 56), 'one sockaddr_dl record per interface');
  const ub = up.libc.malloc(need)!;
  dv.setInt32(0, need, true);
  dv.setBigUint64(8, BigInt(ub.addr), true);
  assert.equal(io(SIOCGIFCONF, ifc), 0);
  assert.equal(dv.getInt32(0, true), need);
  const names = [0, 1, 2].map((i) => ifr_name_get(ub.buf, i * 72));
  assert.deepEqual(names, ['lo0', 'epair0a', 'epair0b']);
  const sdl = ub.buf.subarray(72 + 16, 72 + 16 + 56);
  assert.equal(sdl[0], 56);
  assert.equal(sdl[1], AF_LINK);
  assert.equal(sdl[5], 7, 'sdl_nlen');
  assert.equal(sdl[6], 6, 'sdl_alen');
  assert.equal(sdl[8 + 7], 0x02, 'the MAC follows the name');
  // Cloners.
  const names2 = up.libc.malloc(16 * 8)!;
  const cr = new Uint8Array(16);
  const cdv = new DataView(cr.buffer);
  cdv.setInt32(4, 8, true);
  cdv.setBigUint64(8, BigInt(names2.addr), true);
  assert.equal(io(SIOCIFGCLONERS, cr), 0);
  const total = cdv.getInt32(0, true);
  const cl = [];
  for (let i = 0; i < total; i++) cl.push(ifr_name_get(names2.buf, i * 16));
  assert.deepEqual(cl.sort(), ['bridge', 'epair', 'lo', 'vxlan']);
});
