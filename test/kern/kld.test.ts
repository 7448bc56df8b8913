import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  KLD,
  DECLARE_MODULE,
  MODULE_DEPEND,
  MODULE_VERSION,
  type KldImage,
} from '../../src/sys/module.js';
import {
  SYSINIT,
  SYSUNINIT,
  SI_SUB_PSEUDO,
  SI_SUB_PROTO_DOMAIN,
  SI_ORDER_FIRST,
  SI_ORDER_ANY,
} from '../../src/sys/kernel.js';
import {
  CURVNET_RESTORE,
  CURVNET_SET,
  VNET_DEFINE_BYTES,
  VNET_DEFINE_U32,
  VNET_MODMIN,
  type VnetU32,
} from '../../src/net/vnet.js';
import { DPCPU_DEFINE_U64, type PcpuU64 } from '../../src/sys/pcpu.js';
import { SYSCTL_INT, CTLFLAG_RW } from '../../src/sys/sysctl.js';
import { LinkerError } from '../../src/kern/kern_linker.js';
import { bytes } from '../../src/sys/types.js';
import { EEXIST, ENOENT, ENOEXEC, ENOSPC, EBUSY } from '../../src/sys/errno.js';
import { __vimage_version } from '../../src/sys/param.js';
import { boot } from '../../src/kern/boot.js';
import { bootWithModules, kldload } from '../lib/kmods.js';
import { TEST_KERNCONF } from '../lib/kernel.js';
import type { Kernel } from '../../src/kern/kernel.js';

async function loadErr(k: Kernel, name: string): Promise<LinkerError> {
  try {
    await kldload(k, name);
  } catch (e) {
    assert.ok(e instanceof LinkerError, `expected a LinkerError, got ${String(e)}`);
    return e;
  }
  assert.fail(`kldload ${name} succeeded`);
}

function fileNames(k: Kernel): string[] {
  return k.linker.files.map((f) => f.filename);
}

test('module variables get module space; the module code reaches the relocated slot', async () => {
  const acc: { v?: VnetU32; p?: PcpuU64 } = {};
  const m = KLD('m1', ['$Vimage: m1 $'], (o) => {
    acc.v = VNET_DEFINE_U32(o, 'm1_var', 99);
    acc.p = DPCPU_DEFINE_U64(o, 'm1_pcpu', 5);
    MODULE_VERSION(o, 'm1', 1);
  });
  const k = bootWithModules([m]);
  const before = k.vnet_modspace.snapshot();
  const id = await kldload(k, 'm1');
  const lf = k.linker.find_file(id)!;
  assert.equal(lf.vnet_base, before[0]!.start, 'first fit at the start of modspace');
  assert.equal(acc.v!.off, lf.vnet_base);
  k.enter(() => {
    assert.equal(acc.v!.on(k.vnet0), 99);
    const saved = CURVNET_SET(k.vnet0);
    assert.equal(acc.v!.get(), 99, 'the accessor reads the current vnet');
    acc.v!.set(100);
    CURVNET_RESTORE(saved);
    assert.equal(acc.v!.on(k.vnet0), 100);
    for (let c = 0; c < k.mp_ncpus; c++) assert.equal(acc.p!.getOn(c), 5, `DPCPU copy on CPU ${c}`);
    acc.p!.setOn(1, 10);
    assert.equal(acc.p!.sum(), 5 + 10);
  });
  const sym = k.linker.lookup_symbol(k.vimage ? 'vnet_entry_m1_var' : 'm1_var');
  assert.ok(sym, 'the variable has a symbol');
  assert.equal(sym.value, k.image.vnet_start + lf.vnet_base);
  assert.equal(
    k.linker.lookup_symbol('pcpu_entry_m1_pcpu')!.value,
    k.image.dpcpu_start + lf.pcpu_base,
  );
});

test('module-space exhaustion fails with ENOSPC and leaves the free list unchanged', async () => {
  const big = KLD('big', [], (o) => {
    VNET_DEFINE_BYTES(o, 'big_table', bytes(VNET_MODMIN - 64));
    MODULE_VERSION(o, 'big', 1);
  });
  const big2 = KLD('big2', [], (o) => {
    VNET_DEFINE_BYTES(o, 'big2_table', bytes(128));
    SYSINIT(o, 'never', SI_SUB_PSEUDO, SI_ORDER_ANY, () =>
      assert.fail('SYSINIT of a refused module ran'),
    );
    MODULE_VERSION(o, 'big2', 1);
  });
  const k = bootWithModules([big, big2]);
  await kldload(k, 'big');
  const snap = k.vnet_modspace.snapshot();
  const nfiles = k.linker.files.length;
  const e = await loadErr(k, 'big2');
  assert.equal(e.errno, ENOSPC);
  assert.match(e.message, /vnet module space is out of space; cannot allocate 128 for big2\.ko/);
  assert.deepEqual(k.vnet_modspace.snapshot(), snap);
  assert.equal(k.linker.files.length, nfiles);
  assert.equal(k.linker.lookup_symbol('vnet_entry_big2_table'), undefined);
});

test('unload then reload reuses the same space; unload frees it', async () => {
  const m = KLD('re', [], (o) => {
    VNET_DEFINE_U32(o, 're_a', 1);
    VNET_DEFINE_U32(o, 're_b', 2);
    MODULE_VERSION(o, 're', 1);
  });
  const k = bootWithModules([m]);
  const empty = k.vnet_modspace.snapshot();
  const id1 = await kldload(k, 're');
  const base1 = k.linker.find_file(id1)!.vnet_base;
  assert.equal(k.vnet_modspace.avail, empty[0]!.size - 8);
  assert.equal(
    k.enter(() => k.linker.kldunload(id1)),
    0,
  );
  assert.deepEqual(k.vnet_modspace.snapshot(), empty, 'the free list coalesced back');
  const id2 = await kldload(k, 're');
  assert.notEqual(id2, id1, 'a new file id');
  assert.equal(k.linker.find_file(id2)!.vnet_base, base1);
});

test('a file that is not a module is refused with ENOEXEC', async () => {
  const dir = join(fileURLToPath(import.meta.url), '..', '..', 'fixtures');
  const k = boot({ kernconf: TEST_KERNCONF, kld: { root: dir } });
  const e = await loadErr(k, '/not_a_module.js');
  assert.equal(e.errno, ENOEXEC);
  assert.match(e.message, /not a kernel module/);
  assert.deepEqual(fileNames(k), ['kernel']);
  const e2 = await loadErr(k, 'no_such_module');
  assert.equal(e2.errno, ENOENT);
  // A real module file, by path: loads, and its ident strings are kept byte for byte.
  const id = await kldload(k, './kmod_hello.js');
  const lf = k.linker.find_file(id)!;
  assert.deepEqual(lf.idents, [
    '$Vimage: test/fixtures/kmod_hello.ts $',
    '$Id: hello.c,v 1.3 1998/02/11 09:12:33 vendor Exp $',
  ]);
  assert.equal(k.linker.find_module('kmod_hello')?.file, lf);
});

test('missing dependency and version mismatch fail with a clear message and leave nothing', async () => {
  const needsMissing = KLD('needs_missing', [], (o) => {
    VNET_DEFINE_U32(o, 'nm', 1);
    DECLARE_MODULE(o, { name: 'needs_missing', evhand: null }, SI_SUB_PSEUDO, SI_ORDER_ANY);
    MODULE_DEPEND(o, 'needs_missing', 'nosuch', 1, 1, 1);
  });
  const lib2 = KLD('libv', [], (o) => MODULE_VERSION(o, 'libv', 2));
  const needsV3 = KLD('needs_v3', [], (o) => {
    DECLARE_MODULE(o, { name: 'needs_v3', evhand: null }, SI_SUB_PSEUDO, SI_ORDER_ANY);
    MODULE_DEPEND(o, 'needs_v3', 'libv', 3, 3, 4);
  });
  const k = bootWithModules([needsMissing, lib2, needsV3]);
  const snap = k.vnet_modspace.snapshot();
  const e = await loadErr(k, 'needs_missing');
  assert.equal(e.errno, ENOENT);
  assert.match(
    e.message,
    /KLD needs_missing\.ko: depends on nosuch - not available or version mismatch/,
  );
  assert.deepEqual(k.vnet_modspace.snapshot(), snap);
  assert.deepEqual(fileNames(k), ['kernel']);
  const e2 = await loadErr(k, 'needs_v3');
  assert.equal(e2.errno, ENOENT);
  assert.match(e2.message, /depends on libv - not available or version mismatch/);
  assert.deepEqual(fileNames(k), ['kernel'], 'the wrong-version dependency was unloaded again');
  assert.equal(k.linker.find_module('needs_v3'), undefined);
});

test('a module built for a newer kernel or another major version is refused', async () => {
  const newer = KLD('newer', [], (o) =>
    DECLARE_MODULE(o, { name: 'newer', evhand: null }, SI_SUB_PSEUDO, SI_ORDER_ANY, {
      builtFor: __vimage_version + 1,
    }),
  );
  const major2 = KLD('major2', [], (o) =>
    DECLARE_MODULE(o, { name: 'major2', evhand: null }, SI_SUB_PSEUDO, SI_ORDER_ANY, {
      builtFor: 200001,
    }),
  );
  const older = KLD('older', [], (o) =>
    DECLARE_MODULE(o, { name: 'older', evhand: null }, SI_SUB_PSEUDO, SI_ORDER_ANY, {
      builtFor: 100000,
    }),
  );
  const k = bootWithModules([newer, major2, older]);
  for (const name of ['newer', 'major2']) {
    const e = await loadErr(k, name);
    assert.equal(e.errno, ENOEXEC);
    assert.match(
      e.message,
      new RegExp(`KLD ${name}\\.ko: depends on kernel - not available or version mismatch`),
    );
  }
  await kldload(k, 'older'); // built on 1.00 change 00: loads on any later 1.x kernel
  assert.deepEqual(fileNames(k), ['kernel', 'older.ko']);
});

test('a duplicate module name fails with EEXIST', async () => {
  const a = KLD('dupa', [], (o) =>
    DECLARE_MODULE(o, { name: 'dup', evhand: null }, SI_SUB_PSEUDO, SI_ORDER_ANY),
  );
  const b = KLD('dupb', [], (o) => {
    VNET_DEFINE_U32(o, 'dupb_v', 3);
    DECLARE_MODULE(o, { name: 'dup', evhand: null }, SI_SUB_PSEUDO, SI_ORDER_ANY);
  });
  const k = bootWithModules([a, b]);
  await kldload(k, 'dupa');
  const snap = k.vnet_modspace.snapshot();
  const e = await loadErr(k, 'dupb');
  assert.equal(e.errno, EEXIST);
  assert.match(e.message, /cannot register dup from dupb\.ko; already loaded from dupa\.ko/);
  assert.deepEqual(k.vnet_modspace.snapshot(), snap);
  const e2 = await loadErr(k, 'dupa');
  assert.equal(e2.errno, EEXIST, 'the same file twice');
});

test('a module whose SYSINIT throws is unwound: nothing loaded, allocated or registered', async () => {
  const log: string[] = [];
  const m = KLD('boom', [], (o) => {
    VNET_DEFINE_U32(o, 'boom_v', 1);
    DPCPU_DEFINE_U64(o, 'boom_p', 1);
    const knob = { get: () => 1, set: () => {} };
    SYSCTL_INT(o, 'debug.boom_knob', CTLFLAG_RW, knob, 'test knob');
    SYSINIT(o, 'first', SI_SUB_PSEUDO, SI_ORDER_FIRST, () => log.push('init first'));
    SYSUNINIT(o, 'first', SI_SUB_PSEUDO, SI_ORDER_FIRST, () => log.push('uninit first'));
    SYSINIT(o, 'second', SI_SUB_PROTO_DOMAIN, SI_ORDER_FIRST, () => {
      throw new Error('device not found');
    });
    SYSUNINIT(o, 'late', SI_SUB_PROTO_DOMAIN + 1, SI_ORDER_FIRST, () => log.push('uninit late'));
    DECLARE_MODULE(o, { name: 'boom', evhand: null }, SI_SUB_PSEUDO, SI_ORDER_ANY);
  });
  const k = bootWithModules([m]);
  const vsnap = k.vnet_modspace.snapshot();
  const psnap = k.dpcpu_modspace.snapshot();
  const e = await loadErr(k, 'boom');
  assert.equal(e.errno, ENOEXEC);
  assert.match(e.message, /SYSINIT second failed: device not found/);
  assert.deepEqual(log, ['init first', 'uninit first'], 'only what ran is undone');
  assert.deepEqual(k.vnet_modspace.snapshot(), vsnap);
  assert.deepEqual(k.dpcpu_modspace.snapshot(), psnap);
  assert.equal(k.sysctl.find('debug.boom_knob'), null);
  assert.equal(k.linker.find_module('boom'), undefined);
  assert.deepEqual(fileNames(k), ['kernel']);
});

test('dependencies load first; SYSINITs run in order and SYSUNINITs in reverse', async () => {
  const log: string[] = [];
  const base = KLD('base', [], (o) => {
    SYSINIT(o, 'base_init', SI_SUB_PSEUDO, SI_ORDER_ANY, () => log.push('base init'));
    SYSUNINIT(o, 'base_uninit', SI_SUB_PSEUDO, SI_ORDER_ANY, () => log.push('base uninit'));
    DECLARE_MODULE(o, { name: 'base', evhand: null }, SI_SUB_PSEUDO, SI_ORDER_ANY);
    MODULE_VERSION(o, 'base', 1);
  });
  const top: KldImage = KLD('top', [], (o) => {
    SYSINIT(o, 'top_b', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => log.push('top b'));
    SYSINIT(o, 'top_a', SI_SUB_PSEUDO, SI_ORDER_FIRST, () => log.push('top a'));
    SYSUNINIT(o, 'top_ua', SI_SUB_PSEUDO, SI_ORDER_FIRST, () => log.push('top ua'));
    SYSUNINIT(o, 'top_ub', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => log.push('top ub'));
    DECLARE_MODULE(o, { name: 'top', evhand: null }, SI_SUB_PSEUDO, SI_ORDER_ANY);
    MODULE_DEPEND(o, 'top', 'base', 1, 1, 1);
  });
  const k = bootWithModules([base, top]);
  const id = await kldload(k, 'top');
  assert.deepEqual(fileNames(k), ['kernel', 'base.ko', 'top.ko']);
  assert.deepEqual(log, ['base init', 'top a', 'top b']);
  const baseId = k.linker.find_file('base.ko')!.id;
  assert.equal(
    k.enter(() => k.linker.kldunload(baseId)),
    EBUSY,
    'loaded by the kernel as a dependency',
  );
  log.length = 0;
  assert.equal(
    k.enter(() => k.linker.kldunload(id)),
    0,
  );
  assert.deepEqual(log, ['top ub', 'top ua', 'base uninit']);
  assert.deepEqual(fileNames(k), ['kernel']);
});
