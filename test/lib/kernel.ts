/*
 * test/lib/kernel.ts — boot kernels for tests.
 *
 * VIMAGE_KERNEL chooses the configuration of the kernel a test boots by default
 * (scripts/run-tests.mjs runs the suite under GENERIC, then under NOVIMAGE for every
 * file that does not say VIMAGE_ONLY).
 */

import { boot, type BootOptions } from '../../src/kern/boot.js';
import type { Kernel } from '../../src/kern/kernel.js';

export const TEST_KERNCONF = process.env['VIMAGE_KERNEL'] ?? 'GENERIC';

export function bootTest(opts: BootOptions = {}): Kernel {
  return boot({ kernconf: TEST_KERNCONF, ...opts });
}

/** Boot a VIMAGE kernel regardless of the pass (for tests that need several vnets). */
export function bootVimage(opts: BootOptions = {}): Kernel {
  return boot({ ...opts, kernconf: 'GENERIC' });
}
