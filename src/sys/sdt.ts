/*
 * sys/sdt.ts — statically defined tracing probes (FreeBSD's sys/sdt.h, the points
 * DTrace's sdt provider fires: tcp:::state-change, ip:::send, ...).
 *
 * SDT_PROBE_DEFINE names a probe provider:module:function:name once, at module load;
 * the code fires it with SDT_PROBE(probe, args...).  A probe costs a look at the
 * current kernel's handler table (absent until something attaches).  Consumers attach
 * per kernel (sdt_attach), so two kernels in one process see only their own events; the
 * handler runs synchronously in the firing thread's context (curvnet set), and must not
 * sleep.  The probe objects themselves are immutable.
 *
 * Deliberate difference: there is no DTrace; the consumers are the kernel's own tests
 * (a test records every TCP state transition) and anything else in the process that
 * holds a Kernel.
 */

import { curkernel } from '../kern/kern_cur.js';
import type { Kernel } from '../kern/kernel.js';

export type SdtHandler = (...args: unknown[]) => void;

/** struct sdt_probe */
export class SdtProbe {
  constructor(
    readonly provider: string,
    readonly mod: string,
    readonly func: string,
    readonly name: string,
  ) {}
  get fullname(): string {
    return `${this.provider}:${this.mod}:${this.func}:${this.name}`;
  }
}

/** SDT_PROBE_DEFINE(prov, mod, func, name) */
export function SDT_PROBE_DEFINE(
  provider: string,
  mod: string,
  func: string,
  name: string,
): SdtProbe {
  return new SdtProbe(provider, mod, func, name);
}

function handlers(k: Kernel): Map<SdtProbe, SdtHandler[]> {
  let m = k.netglobal['sdt'] as Map<SdtProbe, SdtHandler[]> | undefined;
  if (m === undefined) k.netglobal['sdt'] = m = new Map();
  return m;
}

/** SDT_PROBE(probe, args...): call the current kernel's handlers, if any. */
export function SDT_PROBE(probe: SdtProbe, ...args: unknown[]): void {
  const m = curkernel().netglobal['sdt'] as Map<SdtProbe, SdtHandler[]> | undefined;
  const fns = m?.get(probe);
  if (fns !== undefined) for (const fn of fns) fn(...args);
}

/** Attach fn to probe in kernel k; returns the function that detaches it. */
export function sdt_attach(k: Kernel, probe: SdtProbe, fn: SdtHandler): () => void {
  const m = handlers(k);
  let fns = m.get(probe);
  if (fns === undefined) m.set(probe, (fns = []));
  fns.push(fn);
  return () => {
    const i = fns.indexOf(fn);
    if (i < 0) return;
    fns.splice(i, 1);
    if (fns.length === 0 && m.get(probe) === fns) m.delete(probe);
  };
}
