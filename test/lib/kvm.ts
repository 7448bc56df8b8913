/*
 * test/lib/kvm.ts — a libkvm backend that answers from the kernel directly, as the
 * kldsym(2), /dev/kmem and kern.vnet_self syscalls do for a process in `prison`.
 */

import type { KvmBackend } from '../../src/lib/libkvm.js';
import type { Kernel } from '../../src/kern/kernel.js';
import type { Prison } from '../../src/kern/kern_jail.js';
import { EFAULT, ENOENT } from '../../src/sys/errno.js';

export function kernelKvmBackend(k: Kernel, prison: Prison = k.prison0): KvmBackend {
  return {
    kldsym: async (name) => {
      const s = k.linker.lookup_symbol(name);
      return s ? { error: 0, value: s.value, size: s.size } : { error: ENOENT, value: 0, size: 0 };
    },
    kread: async (addr, len) => {
      const b = k.kva.read(addr, len);
      return b ? b.slice() : EFAULT;
    },
    curvnet: async () => (k.vimage && prison.pr_vnet ? prison.pr_vnet.kva : 0),
  };
}
