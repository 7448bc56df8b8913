/*
 * kern/boot.ts — boot a kernel from a named configuration.
 */

import { IMAGE } from '../conf/files.js';
import { kernconf } from '../conf/options.js';
import { kld_host_exists, kld_host_fetch, type KldHostOptions } from '../host/kld.js';
import { host_net } from '../host/udp.js';
import { Kernel, type KernelOptions } from './kernel.js';

export interface BootOptions extends KernelOptions {
  /** Kernel configuration name: GENERIC (VIMAGE, the default) or NOVIMAGE. */
  kernconf?: string;
  ncpu?: number;
  /** Where module files are found when no fetch/exists is given. */
  kld?: KldHostOptions;
}

export function boot(opts: BootOptions = {}): Kernel {
  const kld = opts.kld ?? {};
  const k = new Kernel(kernconf(opts.kernconf ?? 'GENERIC', opts.ncpu), IMAGE, {
    ...opts,
    fetch: opts.fetch ?? ((p) => kld_host_fetch(p, kld)),
    exists: opts.exists ?? ((p) => kld_host_exists(p, kld)),
    hostnet: opts.hostnet ?? host_net,
  });
  k.boot();
  return k;
}
