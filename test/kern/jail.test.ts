// Jails: ids, names, vnet jails (a fresh vnet under GENERIC, EINVAL under NOVIMAGE),
// removal, visibility.  Runs on both kernels: the vnet assertions depend on k.vimage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../lib/kernel.js';
import { boot } from '../../src/kern/boot.js';
import type { Kernel } from '../../src/kern/kernel.js';
import {
  PR_PERSIST,
  PR_VNET,
  jexec,
  kern_jail_attach,
  kern_jail_remove,
  kern_jail_set,
  prison_find,
  prison_find_child,
  prison_find_name,
  prison_list,
  prison_name,
  type JailParams,
  type JailSetResult,
} from '../../src/kern/kern_jail.js';
import { kern_kill, p_cansee, pfind_cansee } from '../../src/kern/kern_proc.js';
import { PCATCH, tsleep } from '../../src/kern/kern_synch.js';
import { VNET_MAGIC_DEAD, VNET_MAGIC_N, curvnet } from '../../src/net/vnet.js';
import { EEXIST, EINTR, EINVAL, EPERM, ESRCH } from '../../src/sys/errno.js';
import { PRS_ZOMBIE, type Proc } from '../../src/sys/proc.js';

function jail(k: Kernel, params: JailParams): JailSetResult {
  return k.enter(() => kern_jail_set(k, k.prison0, params));
}

/** A process that sleeps (interruptibly) until killed, recording what woke it. */
function sleeper(k: Kernel, jid: number, woke: number[]): Proc {
  const r = jexec(k, k.prison0, jid, `sleeper${jid}`, async () => {
    woke.push(await tsleep('forever', PCATCH, 'pause', 0));
  });
  assert.equal(r.error, 0);
  return r.p!;
}

test('jail ids and names', () => {
  const k = bootTest();
  const a = jail(k, { name: 'a', persist: true });
  const b = jail(k, { persist: true });
  assert.equal(a.error, 0);
  assert.equal(a.jid, 1);
  assert.equal(b.jid, 2);
  assert.equal(b.pr!.pr_name, '2', 'the default name is the jid');
  assert.equal(jail(k, { name: 'a' }).error, EEXIST, 'names are unique among siblings');
  assert.equal(jail(k, { jid: 1 }).error, EEXIST);
  assert.equal(jail(k, { name: '17' }).error, EINVAL, 'a numeric name must be the jid');
  const c = jail(k, { jid: 10, name: 'ten', path: '/jails/ten', 'host.hostname': 'ten.example' });
  assert.equal(c.jid, 10);
  assert.equal(c.pr!.pr_path, '/jails/ten');
  assert.equal(c.pr!.pr_hostname, 'ten.example');
  assert.equal(jail(k, {}).jid, 3, 'an explicit jid does not move the allocator');
  assert.equal(prison_find(k, 1), a.pr);
  assert.equal(prison_find_name(k, k.prison0, 'a'), a.pr);
  assert.equal(prison_find_name(k, k.prison0, '10'), c.pr);
  assert.ok(a.pr!.pr_flags & PR_PERSIST);
  assert.deepEqual(
    prison_list(k, k.prison0).map((p) => p.pr_id),
    [1, 2, 3, 10],
  );
});

test('a vnet jail gets a fresh vnet (VIMAGE); NOVIMAGE refuses vnet with EINVAL', () => {
  const k = bootTest();
  const r = jail(k, { name: 'v', vnet: true, persist: true });
  const plain = jail(k, { name: 'p', persist: true });
  assert.equal(plain.error, 0);
  assert.equal(plain.pr!.pr_vnet, k.prison0.pr_vnet, 'without vnet: the parent vnet');
  if (k.vimage) {
    assert.equal(r.error, 0);
    const v = r.pr!.pr_vnet!;
    assert.ok(r.pr!.pr_flags & PR_VNET);
    assert.notEqual(v, k.vnet0);
    assert.ok(k.vnet_head.includes(v));
    assert.equal(v.vnet_magic_n, VNET_MAGIC_N);
  } else {
    assert.equal(r.error, EINVAL);
    assert.equal(r.pr, null);
  }
  const nov = boot({ kernconf: 'NOVIMAGE' });
  assert.equal(
    nov.enter(() => kern_jail_set(nov, nov.prison0, { name: 'v', vnet: true })).error,
    EINVAL,
  );
});

test('jail removal kills its processes, then destroys its vnet', async () => {
  const k = bootTest();
  const r = jail(k, { name: 'doomed', vnet: k.vimage, persist: true });
  assert.equal(r.error, 0);
  const pr = r.pr!;
  const v = pr.pr_vnet!;
  const woke: number[] = [];
  const seen: unknown[] = [];
  const p1 = sleeper(k, r.jid, woke);
  const p2 = sleeper(k, r.jid, woke);
  jexec(k, k.prison0, 'doomed', 'vnet-check', () => void seen.push(curvnet()));
  await k.run_until_idle();
  assert.deepEqual(seen, [k.vimage ? v : null], 'a jailed process runs in its jail vnet');
  assert.equal(pr.pr_nprocs, 2);
  assert.equal(
    k.enter(() => kern_jail_remove(k, k.prison0, r.jid)),
    0,
  );
  assert.equal(prison_find(k, r.jid), null, 'a dying jail cannot be found');
  await k.run_until_idle();
  assert.deepEqual(woke, [EINTR, EINTR]);
  assert.equal(p1.p_state, PRS_ZOMBIE);
  assert.equal(p2.p_state, PRS_ZOMBIE);
  assert.equal(pr.pr_nprocs, 0);
  assert.ok(!k.prison0.pr_children.includes(pr));
  if (k.vimage) {
    assert.equal(v.vnet_magic_n, VNET_MAGIC_DEAD);
    assert.equal(v.vnet_magic_n, 0xdeadbeef);
    assert.ok(!k.vnet_head.includes(v), 'vnet_head no longer contains it');
  } else assert.equal(k.vnet0.vnet_magic_n, VNET_MAGIC_N, 'vnet0 is untouched');
  assert.equal(
    k.enter(() => kern_jail_remove(k, k.prison0, r.jid)),
    EINVAL,
  );
});

test('an empty jail is removed at once; a non-persistent jail dies with its last process', async () => {
  const k = bootTest();
  const e = jail(k, { name: 'empty', vnet: k.vimage, persist: true });
  const v = e.pr!.pr_vnet!;
  assert.equal(
    k.enter(() => kern_jail_remove(k, k.prison0, e.jid)),
    0,
  );
  if (k.vimage) assert.equal(v.vnet_magic_n, VNET_MAGIC_DEAD);
  const t = jail(k, { name: 'transient' });
  jexec(k, k.prison0, t.jid, 'short', () => 0);
  await k.run_until_idle();
  assert.equal(prison_find(k, t.jid), null);
  const kept = jail(k, { name: 'kept', persist: true });
  jexec(k, k.prison0, kept.jid, 'short', () => 0);
  await k.run_until_idle();
  assert.equal(prison_find(k, kept.jid), kept.pr);
});

test('a jailed process cannot see processes of other jails: ESRCH', async () => {
  const k = bootTest();
  const a = jail(k, { name: 'a', persist: true, 'children.max': 1 });
  const b = jail(k, { name: 'b', persist: true });
  const wb: number[] = [];
  const pb = sleeper(k, b.jid, wb);
  const results: Record<string, number> = {};
  let child: JailSetResult | null = null;
  jexec(k, k.prison0, a.jid, 'prober', async (td) => {
    results.seeB = pfind_cansee(k, td, pb.p_pid).error;
    results.killB = kern_kill(k, td, pb.p_pid);
    results.seeSelf = pfind_cansee(k, td, td.td_proc.p_pid).error;
    results.seeHost = pfind_cansee(k, td, 1).error;
    results.jailB = prison_find_child(k, td.td_proc.p_ucred.cr_prison, b.jid) === null ? 1 : 0;
    child = kern_jail_set(k, td.td_proc.p_ucred.cr_prison, { name: 'inner', persist: true });
    results.grandchild = kern_jail_set(k, child.pr!, { name: 'deeper' }).error;
    results.again = kern_jail_set(k, td.td_proc.p_ucred.cr_prison, { name: 'x' }).error;
  });
  await k.run_until_idle();
  assert.equal(results.seeB, ESRCH);
  assert.equal(results.killB, ESRCH);
  assert.equal(results.seeSelf, 0);
  assert.equal(results.seeHost, ESRCH, 'not even the host processes');
  assert.equal(results.jailB, 1, 'nor a sibling jail');
  assert.equal(pb.p_state, 1, 'b untouched');
  // children.max: a may create one child, which may create none.
  const c = child as JailSetResult | null;
  assert.ok(c && c.error === 0);
  assert.equal(results.grandchild, EPERM);
  assert.equal(results.again, EPERM);
  assert.equal(prison_name(k.prison0, c.pr!), 'a.inner');
  assert.equal(prison_find_name(k, k.prison0, 'a.inner'), c.pr);
  // The host sees everything.
  const host = k.proc_create('host', { cr_uid: 0, cr_prison: k.prison0 }, () => 0);
  assert.equal(p_cansee(host.p_threads[0]!, pb), 0);
  // Removing a removes its child jail too.
  assert.equal(
    k.enter(() => kern_jail_remove(k, k.prison0, a.jid)),
    0,
  );
  assert.equal(prison_find(k, c.pr!.pr_id), null);
  assert.equal(
    k.enter(() => kern_jail_remove(k, k.prison0, b.jid)),
    0,
  );
  await k.run_until_idle();
  assert.deepEqual(wb, [EINTR]);
});

test('jail_attach moves a process into a jail below its own', async () => {
  const k = bootTest();
  const j = jail(k, { name: 'target', vnet: k.vimage, persist: true });
  const seen: unknown[] = [];
  const p = k.proc_create('mover', { cr_uid: 0, cr_prison: k.prison0 }, async (td) => {
    seen.push(kern_jail_attach(k, td.td_proc, j.jid));
    seen.push(td.td_proc.p_ucred.cr_prison === j.pr);
    seen.push(kern_jail_attach(k, td.td_proc, j.jid), 'no jail below itself');
  });
  await k.run_until_idle();
  assert.deepEqual(seen, [0, true, EINVAL, 'no jail below itself']);
  assert.equal(p.p_ucred.cr_prison, j.pr);
  assert.equal(j.pr!.pr_nprocs, 0, 'it has exited');
  assert.equal(prison_find(k, j.jid), j.pr, 'persist keeps the jail');
});
