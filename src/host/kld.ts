/*
 * host/kld.ts — where module files come from.
 *
 * `/boot/kernel/NAME.ko` names the built-in module compiled from src/modules/NAME.ts
 * (dist/src/modules/NAME.js); `/boot/modules/NAME.ko` is searched in the host directory
 * given as `modulesDir`; any other path is a host file below the root directory (the
 * jail root of the caller, for the host jail the directory the console started in).
 * Loading is a dynamic import of the JavaScript file: the module's default export must
 * be a KldImage, otherwise the linker refuses it (ENOEXEC).
 */

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** dist/src/modules, next to this compiled file's parent. */
export const BUILTIN_MODULES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'modules');

export interface KldHostOptions {
  /** Host directory that "/" resolves to for paths outside /boot. */
  root?: string;
  /** Host directory for /boot/modules. */
  modulesDir?: string;
}

export function kld_host_path(path: string, opts: KldHostOptions = {}): string {
  const m = /^\/boot\/kernel\/([A-Za-z0-9_.-]+)\.ko$/.exec(path);
  if (m) return join(BUILTIN_MODULES_DIR, `${m[1]}.js`);
  const u = /^\/boot\/modules\/([A-Za-z0-9_.-]+)\.ko$/.exec(path);
  if (u)
    return join(
      opts.modulesDir ?? join(opts.root ?? process.cwd(), 'boot', 'modules'),
      `${u[1]}.js`,
    );
  const root = opts.root ?? process.cwd();
  return path.startsWith('/') ? join(root, path) : resolve(root, path);
}

export function kld_host_exists(path: string, opts: KldHostOptions = {}): boolean {
  return existsSync(kld_host_path(path, opts));
}

export async function kld_host_fetch(path: string, opts: KldHostOptions = {}): Promise<unknown> {
  const file = kld_host_path(path, opts);
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  return mod.default;
}
