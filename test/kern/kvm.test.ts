import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kvm, type NlistEntry } from '../../src/lib/libkvm.js';
import { boot } from '../../src/kern/boot.js';
import { counterStruct, struct, uint } from '../../src/sys/types.js';
import { TEST_KERNCONF } from '../lib/kernel.js';
import { kernelKvmBackend } from '../lib/kvm.js';
import { kldload } from '../lib/kmods.js';

// The tool side knows only names and layouts — it imports neither the module nor the
// kernel code that defines the variable.
const hello_layout = struct('hello', [['hello_count', uint]]);

test('a variable is read knowing only its symbol name and layout (kvm_nlist + kvm_read)', async () => {
  const dir = join(fileURLToPath(import.meta.url), '..', '..', 'fixtures');
  const k = boot({ kernconf: TEST_KERNCONF, kld: { root: dir } });
  await kldload(k, './kmod_hello.js');
  const kd = await Kvm.open(kernelKvmBackend(k));
  const nl: NlistEntry[] = [
    { n_name: '_hello_count', n_value: 0, n_size: 0 },
    { n_name: '_no_such_var', n_value: 0, n_size: 0 },
  ];
  assert.equal(await kd.kvm_nlist(nl), 1, 'one name left unresolved');
  assert.equal(nl[0]!.n_size, hello_layout.size);
  assert.equal(
    nl[0]!.n_kind,
    k.vimage ? 1 : 0,
    'VIMAGE symbols are found with the vnet_entry_ prefix',
  );
  const b = await kd.kvm_read(nl[0]!.n_value, 4);
  assert.ok(b instanceof Uint8Array);
  assert.equal(new DataView(b.buffer, b.byteOffset).getUint32(0, true), 1234);
  if (k.vimage)
    assert.equal(
      nl[0]!.n_value,
      k.vnet0.vnet_data_base + k.linker.lookup_symbol('vnet_entry_hello_count')!.value,
    );
  else
    assert.equal(
      nl[0]!.n_value,
      k.linker.lookup_symbol('hello_count')!.value,
      'plain global, no indirection',
    );
});

test('counter(9) stats are read through kvm and summed over CPUs (kvm_counter_u64_fetch)', async () => {
  const k = boot({ kernconf: TEST_KERNCONF });
  const { KLD, MODULE_VERSION } = await import('../../src/sys/module.js');
  const { VNET_PCPUSTAT_DEFINE, CURVNET_SET, CURVNET_RESTORE } =
    await import('../../src/net/vnet.js');
  const { cpu_load_pcpu } = await import('../../src/host/cpu.js');
  const layout = counterStruct('kvmstat', ['ks_a', 'ks_b']);
  const img = KLD('kvmstat', [], (o) => {
    const s = VNET_PCPUSTAT_DEFINE(o, 'kvmstat', layout);
    MODULE_VERSION(o, 'kvmstat', 1);
    // Count on both CPUs once loaded.
    o.DATA_SET('sysinit_set', {
      name: 'count',
      subsystem: 0x8800000,
      order: 0,
      obj: o,
      arg: undefined,
      func: () => {
        const saved = CURVNET_SET(k.vnet0);
        s.add(1, 10);
        cpu_load_pcpu(1, k.pcpu[1]!.pc_dyn!);
        s.add(1, 5);
        cpu_load_pcpu(0, k.pcpu[0]!.pc_dyn!);
        CURVNET_RESTORE(saved);
      },
    });
  });
  const lf = await k.enterAsync(() =>
    k.linker.load_file(img, 'kvmstat.ko', '/boot/kernel/kvmstat.ko'),
  );
  assert.ok(lf.id > 1);
  const kd = await Kvm.open(kernelKvmBackend(k));
  const nl: NlistEntry[] = [{ n_name: '_kvmstat', n_value: 0, n_size: 0 }];
  assert.equal(await kd.kvm_nlist(nl), 0);
  const arr = await kd.kvm_read(nl[0]!.n_value, layout.size);
  assert.ok(arr instanceof Uint8Array);
  const dv = new DataView(arr.buffer, arr.byteOffset);
  const ctr = (f: number) => dv.getUint32(f * 8, true) + dv.getUint32(f * 8 + 4, true) * 2 ** 32;
  assert.equal(await kd.kvm_counter_u64_fetch(ctr(0)), 0);
  assert.equal(await kd.kvm_counter_u64_fetch(ctr(1)), 15);
});
