/*
 * kern/boot.ts — boot a kernel from a named configuration.
 */

import { IMAGE } from '../conf/files.js';
import { kernconf } from '../conf/options.js';
import { Kernel, type KernelOptions } from './kernel.js';

export interface BootOptions extends KernelOptions {
  /** Kernel configuration name: GENERIC (VIMAGE, the default) or NOVIMAGE. */
  kernconf?: string;
  ncpu?: number;
}

export function boot(opts: BootOptions = {}): Kernel {
  const k = new Kernel(kernconf(opts.kernconf ?? 'GENERIC', opts.ncpu), IMAGE, opts);
  k.boot();
  return k;
}
