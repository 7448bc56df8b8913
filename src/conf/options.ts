/*
 * conf/options.ts — kernel configurations, the analogue of sys/amd64/conf/GENERIC.
 *
 * A kernel boots from a named configuration: its ident, its options and the number of
 * CPUs.  GENERIC has `options VIMAGE` (the default); NOVIMAGE is GENERIC without it.
 * `vimage -k NAME` chooses one; tests run under both (VIMAGE_KERNEL=NOVIMAGE).
 */

export interface KernConf {
  readonly ident: string;
  readonly options: ReadonlySet<string>;
  readonly ncpu: number;
}

const BASE = ['SMP', 'INET', 'KDB', 'DDB', 'INVARIANTS', 'BPF'];

export const KERNCONFS: ReadonlyMap<string, KernConf> = new Map([
  ['GENERIC', { ident: 'GENERIC', options: new Set([...BASE, 'VIMAGE']), ncpu: 2 }],
  ['NOVIMAGE', { ident: 'NOVIMAGE', options: new Set(BASE), ncpu: 2 }],
]);

/** Look up a configuration; `ncpu` may be overridden at boot (hw.ncpu). */
export function kernconf(name: string, ncpu?: number): KernConf {
  const c = KERNCONFS.get(name);
  if (!c)
    throw new Error(
      `unknown kernel configuration ${name} (have: ${[...KERNCONFS.keys()].join(', ')})`,
    );
  return ncpu === undefined ? c : { ...c, ncpu };
}
