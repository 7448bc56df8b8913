/*
 * bench/lib/proc.ts — processes in a benchmark's kernel: find a jail, start a root
 * process in it, and check a libc call.
 */

import type { Kernel } from '../../src/kern/kernel.js';
import { prison_find_name, type Prison } from '../../src/kern/kern_jail.js';
import { proc_create } from '../../src/kern/kern_proc.js';
import { Libc } from '../../src/lib/libc.js';

/** The jail called name (a child of prison0). */
export function jailed(k: Kernel, name: string): Prison {
  const p = k.enter(() => prison_find_name(k, k.prison0, name));
  if (p === null) throw new Error(`no jail ${name}`);
  return p;
}

/**
 * Start main(libc) as a root process of prison pr.  The function returned rethrows the
 * process's error, and complains if it has not finished (unless finished is false).
 */
export function spawn(
  k: Kernel,
  pr: Prison,
  main: (c: Libc) => Promise<void>,
  name = 'bench',
): (finished?: boolean) => void {
  let err: unknown = null;
  let done = false;
  proc_create(k, name, { cr_uid: 0, cr_prison: pr }, async (td) => {
    try {
      await main(new Libc(k, td));
      done = true;
    } catch (e) {
      err = e;
    }
    return 0;
  });
  return (finished = true) => {
    if (err !== null) throw err;
    if (finished && !done) throw new Error('a bench process did not finish');
  };
}

/** A libc call's result; a negative one throws with what and strerror(errno). */
export async function sys(c: Libc, what: string, p: Promise<number>): Promise<number> {
  const r = await p;
  if (r < 0) throw new Error(`${what}: ${c.strerror()}`);
  return r;
}
