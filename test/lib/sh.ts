/*
 * test/lib/sh.ts — run shell command lines on a fresh kernel whose root is a temporary
 * host directory, and collect what the console showed.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootTest } from './kernel.js';
import type { Kernel } from '../../src/kern/kernel.js';
import { shell_batch, type BatchResult } from '../../src/bin/console.js';

/** A temporary directory, removed by the returned cleanup. */
export function tempRoot(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'vimage-sh-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ShOptions {
  root?: string;
  kernel?: Kernel;
  /** Extra sh options (e.g. '-e'). */
  flags?: string[];
  input?: string;
}

/** Run `sh [flags] -c text` and return its status and output. */
export async function sh(text: string, opts: ShOptions = {}): Promise<BatchResult & { k: Kernel }> {
  const k = opts.kernel ?? bootTest(opts.root !== undefined ? { root: opts.root } : {});
  const r = await shell_batch(k, ['sh', ...(opts.flags ?? []), '-c', text], {
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
  return { ...r, k };
}
