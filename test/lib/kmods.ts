/*
 * test/lib/kmods.ts — loadable modules for tests, served from memory.
 *
 * bootWithModules() boots a kernel whose module loader finds `/boot/kernel/NAME.ko` in a
 * map of KldImages (and anything else in `files`), so tests can load, fail to load and
 * unload modules without touching the disk.
 */

import type { KldImage } from '../../src/sys/module.js';
import type { Kernel } from '../../src/kern/kernel.js';
import { boot, type BootOptions } from '../../src/kern/boot.js';
import { TEST_KERNCONF } from './kernel.js';

export function bootWithModules(
  mods: readonly KldImage[],
  files: Record<string, unknown> = {},
  opts: BootOptions = {},
): Kernel {
  const table = new Map<string, unknown>(Object.entries(files));
  for (const m of mods) table.set(`/boot/kernel/${m.name}.ko`, m);
  return boot({
    kernconf: TEST_KERNCONF,
    ...opts,
    fetch: async (p) => {
      if (!table.has(p)) throw new Error('no such file');
      return table.get(p);
    },
    exists: (p) => table.has(p),
  });
}

/** Load a module by name inside the kernel; returns the file id or throws LinkerError. */
export async function kldload(k: Kernel, name: string): Promise<number> {
  const lf = await k.enterAsync(() => k.linker.load_module(name));
  lf.userrefs++;
  return lf.id;
}
