// kld(2) through libc: kldsym's struct checks and lookups, kldnext/kldstat/kldfind,
// kldload/kldunload privileges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EBUSY, EINVAL, ENOENT, EPERM } from '../../src/sys/errno.js';
import { KLD, MODULE_VERSION } from '../../src/sys/module.js';
import { KLDSYM_LOOKUP, kld_file_stat, kld_sym_lookup } from '../../src/kern/kern_kld_syscalls.js';
import { SYS_kldsym } from '../../src/sys/sysent.js';
import { Prison } from '../../src/kern/kern_jail.js';
import { kld_file_stat_new, type KldSymLookup } from '../../src/lib/libc.js';
import { bootTest } from '../lib/kernel.js';
import { bootWithModules } from '../lib/kmods.js';
import { userproc } from '../lib/proc.js';
import { Kvm } from '../../src/lib/libkvm.js';

test('struct layouts', () => {
  assert.equal(kld_sym_lookup.size, 32);
  assert.equal(kld_sym_lookup.byName.get('symname')!.offset, 8);
  assert.equal(kld_sym_lookup.byName.get('symvalue')!.offset, 16);
  assert.equal(kld_sym_lookup.byName.get('symsize')!.offset, 24);
  assert.equal(kld_file_stat.size, 2080);
  assert.equal(kld_file_stat.byName.get('address')!.offset, 1040);
});

test('kldsym finds a kernel symbol with its value and size', async () => {
  const k = bootTest();
  const { libc } = userproc(k);
  for (const name of ['mp_ncpus', 'dpcpu_off', '__start_set_pcpu']) {
    const want = k.linker.lookup_symbol(name)!;
    const l: KldSymLookup = { symname: name, symvalue: 0, symsize: 0 };
    assert.equal(await libc.kldsym(0, KLDSYM_LOOKUP, l), 0, name);
    assert.equal(l.symvalue, want.value, name);
    assert.equal(l.symsize, want.size, name);
    assert.ok(l.symvalue > 0xffff80000000, 'a kernel address above 2^47');
  }
  // In file 1 (the kernel) explicitly.
  const l1: KldSymLookup = { symname: 'mp_ncpus', symvalue: 0, symsize: 0 };
  assert.equal(await libc.kldsym(1, KLDSYM_LOOKUP, l1), 0);
});

test('kldsym: EINVAL for a wrong struct version or command; ENOENT when missing', async () => {
  const k = bootTest();
  const { libc } = userproc(k);
  const l: KldSymLookup = { version: 24, symname: 'mp_ncpus', symvalue: 0, symsize: 0 };
  assert.equal(await libc.kldsym(0, KLDSYM_LOOKUP, l), -1);
  assert.equal(libc.errno, EINVAL);
  l.version = 32;
  assert.equal(await libc.kldsym(0, 2, l), -1);
  assert.equal(libc.errno, EINVAL);
  const miss: KldSymLookup = { symname: 'no_such_symbol', symvalue: 7, symsize: 7 };
  assert.equal(await libc.kldsym(0, KLDSYM_LOOKUP, miss), -1);
  assert.equal(libc.errno, ENOENT);
  assert.equal(miss.symvalue, 7, 'nothing copied out on failure');
  assert.equal(await libc.kldsym(999, KLDSYM_LOOKUP, { ...l }), -1, 'no such file');
  assert.equal(libc.errno, ENOENT);
  // A NULL data pointer faults.
  assert.equal(await libc.syscall(SYS_kldsym, 0, KLDSYM_LOOKUP, 0), -1);
  assert.equal(libc.errno, 14 /* EFAULT */);
});

test('jailed processes may look symbols up (libkvm needs it)', async () => {
  const k = bootTest();
  const jailed = userproc(k, { prison: new Prison(1, 'j', k.prison0), uid: 0 });
  const l: KldSymLookup = { symname: 'mp_ncpus', symvalue: 0, symsize: 0 };
  assert.equal(await jailed.libc.kldsym(0, KLDSYM_LOOKUP, l), 0);
});

test('kldnext / kldstat / kldfind over the kernel file', async () => {
  const k = bootTest();
  const { libc } = userproc(k);
  assert.equal(await libc.kldnext(0), 1);
  assert.equal(await libc.kldnext(1), 0, 'the end of the list');
  assert.equal(await libc.kldnext(42), -1);
  assert.equal(libc.errno, ENOENT);
  const st = kld_file_stat_new();
  assert.equal(await libc.kldstat(1, st), 0);
  assert.equal(st.name, 'kernel');
  assert.equal(st.id, 1);
  assert.equal(st.pathname, '/boot/kernel/kernel');
  assert.ok(st.refs >= 1);
  assert.ok(st.address >= 0xffff80000000 && st.size > 0);
  st.version = 100;
  assert.equal(await libc.kldstat(1, st), -1);
  assert.equal(libc.errno, EINVAL);
  assert.equal(await libc.kldstat(77, kld_file_stat_new()), -1);
  assert.equal(libc.errno, ENOENT);
  assert.equal(await libc.kldfind('kernel'), 1);
  assert.equal(await libc.kldfind('nothere'), -1);
  assert.equal(libc.errno, ENOENT);
});

test('kldload / kldunload: root in the host only; module symbols become visible', async () => {
  const mod = KLD('symmod', ['$Vimage: test/symmod $'], (o) => {
    o.TEXT('symmod_hello');
    MODULE_VERSION(o, 'symmod', 1);
  });
  const k = bootWithModules([mod]);
  const root = userproc(k);
  const jailed = userproc(k, { prison: new Prison(1, 'j', k.prison0) });
  const user = userproc(k, { uid: 1001 });
  assert.equal(await jailed.libc.kldload('symmod'), -1);
  assert.equal(jailed.libc.errno, EPERM);
  assert.equal(await user.libc.kldload('symmod'), -1);
  assert.equal(user.libc.errno, EPERM);
  assert.equal(await root.libc.kldload('nosuchmod'), -1);
  assert.equal(root.libc.errno, ENOENT);

  const id = await root.libc.kldload('symmod');
  assert.ok(id > 1, `kldload: ${root.libc.strerror()}`);
  assert.equal(await root.libc.kldfind('symmod.ko'), id);
  assert.equal(await root.libc.kldfind('symmod'), id);
  assert.equal(await root.libc.kldnext(1), id);
  const l: KldSymLookup = { symname: 'symmod_hello', symvalue: 0, symsize: 0 };
  assert.equal(await root.libc.kldsym(0, KLDSYM_LOOKUP, l), 0);
  assert.equal(await root.libc.kldsym(id, KLDSYM_LOOKUP, { ...l }), 0);
  assert.equal(await root.libc.kldsym(1, KLDSYM_LOOKUP, { ...l }), -1, 'not in the kernel');
  assert.equal(await root.libc.kldload('symmod'), -1, 'already loaded');

  assert.equal(await jailed.libc.kldunload(id), -1);
  assert.equal(jailed.libc.errno, EPERM);
  assert.equal(await root.libc.kldunload(1), -1);
  assert.equal(root.libc.errno, EPERM);
  assert.equal(await root.libc.kldunload(id), 0);
  assert.equal(await root.libc.kldfind('symmod'), -1);
  assert.equal(await root.libc.kldunload(id), -1);
  assert.equal(root.libc.errno, ENOENT);
  void EBUSY;
});

test('libkvm over libc: kvm_nlist (kldsym) and kvm_read (/dev/kmem)', async () => {
  const k = bootTest();
  const { libc } = userproc(k);
  const kd = await Kvm.open(libc.kvm());
  const nl = [{ n_name: '_mp_ncpus', n_value: 0, n_size: 0 }];
  assert.equal(await kd.kvm_nlist(nl), 0);
  assert.equal(nl[0]!.n_value, k.linker.lookup_symbol('mp_ncpus')!.value);
  const b = await kd.kvm_read(nl[0]!.n_value, 4);
  assert.ok(b instanceof Uint8Array);
  assert.equal(new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true), k.mp_ncpus);
});
