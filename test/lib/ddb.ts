/*
 * test/lib/ddb.ts — a programmatic console for the debugger: feed lines, collect output.
 */

import { DbSession, type DbIo } from '../../src/ddb/ddb.js';
import type { Kernel } from '../../src/kern/kernel.js';

export class ScriptIo implements DbIo {
  out = '';
  constructor(private readonly lines: string[]) {}
  readline(prompt: string): string | null {
    const l = this.lines.shift();
    if (l === undefined) return null;
    this.out += prompt + l + '\n';
    return l;
  }
  write(s: string): void {
    this.out += s;
  }
}

/** Run DDB commands on a kernel (as thread0) and return what the console showed. */
export function ddb(k: Kernel, ...lines: string[]): string {
  const io = new ScriptIo([...lines]);
  const db = new DbSession(k, io);
  k.enter(() => db.loop());
  return io.out;
}
