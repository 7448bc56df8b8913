// netisr: direct dispatch, deferred queueing to the netisr threads, per-vnet queue
// limits with drops counted and visible through sysctl net.inet.ip.intr_queue_maxlen /
// intr_queue_drops (mirrors the ip intr queue behaviour of FreeBSD's netisr).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../../lib/kernel.js';
import { userproc } from '../../lib/proc.js';
import { kern_jail_set } from '../../../src/kern/kern_jail.js';
import {
  NETISR_IP,
  netisr_dispatch,
  netisr_getqdrops,
  netisr_queue,
  netisr_register,
  netisr_setqlimit,
  netisr_stats,
} from '../../../src/net/netisr.js';
import { curvnet, with_vnet } from '../../../src/net/vnet.js';
import { m_freem, type Mbuf } from '../../../src/sys/mbuf.js';
import { ENOBUFS, EINVAL, EPROTONOSUPPORT } from '../../../src/sys/errno.js';

test('direct dispatch runs the handler now; deferred runs on a netisr thread', async () => {
  const k = bootTest();
  const seen: string[] = [];
  netisr_register(k, {
    nh_name: 'ip',
    nh_proto: NETISR_IP,
    nh_qlimit: 256,
    nh_handler: (m: Mbuf) => {
      seen.push(`${m.len}:${k.sched.running?.td_name ?? 'thread0'}`);
      m_freem(m);
    },
  });
  k.enter(() =>
    with_vnet(k.vnet0, () => {
      assert.equal(netisr_dispatch(NETISR_IP, k.mbpool.m_gethdr(20)!), 0);
      assert.equal(netisr_queue(NETISR_IP, k.mbpool.m_gethdr(21)!), 0);
      assert.equal(netisr_dispatch(7, k.mbpool.m_gethdr(1)!), EPROTONOSUPPORT);
    }),
  );
  assert.deepEqual(seen, ['20:thread0']);
  await k.run_until_idle();
  assert.equal(seen.length, 2);
  assert.match(seen[1]!, /^21:swi1: netisr 0$/);
  const st = k.enter(() => with_vnet(k.vnet0, () => netisr_stats()));
  const ip = st.find((s) => s.proto === NETISR_IP)!;
  assert.equal(ip.dispatched, 1);
  assert.equal(ip.queued, 1);
  assert.equal(ip.handled, 1);
  assert.equal(ip.qdrops, 0);
  assert.equal(k.mbpool.stats.inuse, 0, 'every mbuf was freed');
});

test('a full queue drops and counts; the limit is per vnet and set by sysctl', async () => {
  const k = bootTest();
  let handled = 0;
  const where: unknown[] = [];
  netisr_register(k, {
    nh_name: 'ip',
    nh_proto: NETISR_IP,
    nh_qlimit: 256,
    nh_handler: (m: Mbuf) => {
      handled++;
      where.push(curvnet());
      m_freem(m);
    },
  });
  const up = userproc(k);
  assert.equal(await up.libc.sysctlbyname_num('net.inet.ip.intr_queue_maxlen'), 256);
  const nv = new Uint8Array(4);
  new DataView(nv.buffer).setInt32(0, 4, true);
  assert.equal(await up.libc.sysctlbyname('net.inet.ip.intr_queue_maxlen', null, null, nv), 0);
  assert.equal(await up.libc.sysctlbyname_num('net.inet.ip.intr_queue_maxlen'), 4);
  let errs = 0;
  k.enter(() =>
    with_vnet(k.vnet0, () => {
      assert.equal(netisr_setqlimit(NETISR_IP, 0), EINVAL);
      for (let i = 0; i < 10; i++)
        if (netisr_queue(NETISR_IP, k.mbpool.m_gethdr(20)!) === ENOBUFS) errs++;
      assert.equal(netisr_getqdrops(NETISR_IP), 6);
    }),
  );
  assert.equal(errs, 6);
  assert.equal(await up.libc.sysctlbyname_num('net.inet.ip.intr_queue_drops'), 6);
  assert.equal(await up.libc.sysctlbyname_num('net.isr.qdrops'), 6);
  await k.run_until_idle();
  assert.equal(handled, 4);
  assert.equal(k.mbpool.stats.inuse, 0);
  if (k.vimage) {
    // Another vnet has its own queue and limit.
    const j = k.enter(() => kern_jail_set(k, k.prison0, { name: 'j', vnet: true, persist: true }));
    const jv = j.pr!.pr_vnet!;
    k.enter(() =>
      with_vnet(jv, () => {
        for (let i = 0; i < 10; i++)
          assert.equal(netisr_queue(NETISR_IP, k.mbpool.m_gethdr(20)!), 0);
        assert.equal(netisr_getqdrops(NETISR_IP), 0);
      }),
    );
    await k.run_until_idle();
    assert.equal(handled, 14);
    assert.equal(where[where.length - 1], jv, 'drained with curvnet = the queue vnet');
    const jp = userproc(k, { prison: j.pr! });
    assert.equal(await jp.libc.sysctlbyname_num('net.inet.ip.intr_queue_maxlen'), 256);
    assert.equal(await jp.libc.sysctlbyname_num('net.inet.ip.intr_queue_drops'), 0);
  }
});
