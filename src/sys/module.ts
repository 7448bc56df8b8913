/*
 * sys/module.ts — module metadata: DECLARE_MODULE, MODULE_VERSION, MODULE_DEPEND.
 *
 * As in FreeBSD (sys/sys/module.h), each declaration is a record in the object's
 * modmetadata_set; the kernel linker reads them to check versions and load
 * dependencies before a module's code runs.  DECLARE_MODULE adds the implicit
 * dependency on `kernel`: [built-for version, built-for version, MODULE_KERNEL_MAXVER],
 * so a module built for a newer kernel, or for another major version, is refused.
 */

import { ObjFile, SET_MODMETADATA } from './linker_set.js';
import { SYSINIT, SYSUNINIT } from './kernel.js';
import { __vimage_version, MODULE_KERNEL_MAXVER } from './param.js';

export const MDT_DEPEND = 1;
export const MDT_MODULE = 2;
export const MDT_VERSION = 3;
export const MDT_PNP_INFO = 4;
export const MDT_STRUCT_VERSION = 1;

/* modeventtype_t */
export const MOD_LOAD = 0;
export const MOD_UNLOAD = 1;
export const MOD_SHUTDOWN = 2;
export const MOD_QUIESCE = 3;

/** A module event handler: returns 0 or an errno. */
export type ModEventHand = (what: number, arg: unknown) => number;

export interface ModuleData {
  readonly name: string;
  readonly evhand: ModEventHand | null;
  readonly priv?: unknown;
}

export interface ModDepend {
  readonly md_ver_minimum: number;
  readonly md_ver_preferred: number;
  readonly md_ver_maximum: number;
}

export interface ModMetadata {
  readonly md_version: number;
  readonly md_type: number;
  /** MDT_MODULE: ModuleData; MDT_DEPEND: ModDepend; MDT_VERSION: { mv_version }. */
  readonly md_data: ModuleData | ModDepend | { readonly mv_version: number };
  /** The module name this record names (MDT_DEPEND: the dependency). */
  readonly md_cval: string;
  /** MDT_DEPEND: the depending module. */
  readonly md_owner?: string;
  /** MDT_MODULE: set once kldunload delivered MOD_UNLOAD (module_unload), per load. */
  readonly md_unload?: { delivered: boolean };
}

export function MODULE_VERSION(obj: ObjFile, name: string, version: number): void {
  obj.DATA_SET<ModMetadata>(SET_MODMETADATA, {
    md_version: MDT_STRUCT_VERSION,
    md_type: MDT_VERSION,
    md_data: { mv_version: version },
    md_cval: name,
  });
}

export function MODULE_DEPEND(
  obj: ObjFile,
  mod: string,
  dep: string,
  min: number,
  pref: number,
  max: number,
): void {
  obj.DATA_SET<ModMetadata>(SET_MODMETADATA, {
    md_version: MDT_STRUCT_VERSION,
    md_type: MDT_DEPEND,
    md_data: { md_ver_minimum: min, md_ver_preferred: pref, md_ver_maximum: max },
    md_cval: dep,
    md_owner: mod,
  });
}

/**
 * DECLARE_MODULE(name, data, sub, order): the module record, the implicit kernel
 * dependency, and a SYSINIT at (sub, order) that delivers MOD_LOAD (module_register_init)
 * and a SYSUNINIT delivering MOD_UNLOAD.  `builtFor` is the __vimage_version the module
 * was compiled against (default: this tree's); `tied` pins it to exactly that version.
 */
export function DECLARE_MODULE(
  obj: ObjFile,
  data: ModuleData,
  sub: number,
  order: number,
  opts: { builtFor?: number; tied?: boolean } = {},
): void {
  const v = opts.builtFor ?? __vimage_version;
  MODULE_DEPEND(obj, data.name, 'kernel', v, v, opts.tied ? v : MODULE_KERNEL_MAXVER(v));
  const unload = { delivered: false };
  obj.DATA_SET<ModMetadata>(SET_MODMETADATA, {
    md_version: MDT_STRUCT_VERSION,
    md_type: MDT_MODULE,
    md_data: data,
    md_cval: data.name,
    md_unload: unload,
  });
  SYSINIT(obj, `${data.name}_modevent_load`, sub, order, () => {
    if (!data.evhand) return;
    const e = data.evhand(MOD_LOAD, data.priv);
    if (e !== 0) throw new ModuleLoadError(data.name, e);
  });
  SYSUNINIT(obj, `${data.name}_modevent_unload`, sub, order, () => {
    /* Only when the load is unwound: a kldunload delivered MOD_UNLOAD already. */
    if (!unload.delivered && data.evhand) data.evhand(MOD_UNLOAD, data.priv);
  });
}

/**
 * module_unload (kern_module.c): deliver MOD_UNLOAD before the file's SYSUNINITs run.
 * A handler that refuses (cc_cubic while a connection uses it: EBUSY) stops the
 * unload and the module stays.
 */
export function module_unload(md: ModMetadata): number {
  const data = md.md_data as ModuleData;
  const e = data.evhand ? data.evhand(MOD_UNLOAD, data.priv) : 0;
  if (e === 0 && md.md_unload) md.md_unload.delivered = true;
  return e;
}

/** A MOD_LOAD handler refused: carries its errno to the linker. */
export class ModuleLoadError extends Error {
  constructor(
    readonly module: string,
    readonly errno: number,
  ) {
    super(`module_register_init: MOD_LOAD (${module}) error ${errno}`);
  }
}

/* ---------------------------------------------------------------------------------- */
/* Loadable module images (the .ko files)                                              */
/* ---------------------------------------------------------------------------------- */

export const KLD_MAGIC = 'vimage-kld-v1';

/**
 * A loadable module file.  `link` fills a fresh object file with the module's
 * declarations each time the module is loaded, so that the module's code is bound to
 * that load's relocated variables — the analogue of link_elf_obj relocating a .ko.
 */
export interface KldImage {
  readonly __kld: typeof KLD_MAGIC;
  readonly name: string;
  readonly idents: readonly string[];
  link(obj: ObjFile): void;
}

export function KLD(
  name: string,
  idents: readonly string[],
  link: (obj: ObjFile) => void,
): KldImage {
  return { __kld: KLD_MAGIC, name, idents, link };
}

export function is_kld(x: unknown): x is KldImage {
  return (
    typeof x === 'object' &&
    x !== null &&
    (x as { __kld?: unknown }).__kld === KLD_MAGIC &&
    typeof (x as { link?: unknown }).link === 'function'
  );
}
