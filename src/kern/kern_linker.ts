/*
 * kern/kern_linker.ts — the kernel linker: linker files, modules, symbols, kldload.
 *
 * The kernel itself is linker file 1 ("kernel"), linked once with the image
 * (kern/kernel_image.ts).  A loadable module is a JavaScript file whose default export
 * is a KldImage; loading it (linker_load_module):
 *
 *   1. finds the file (a module name is searched as NAME.ko in kern.module_path; a name
 *      with '/' or '.' is a path) and refuses anything that is not a module (ENOEXEC);
 *   2. links the image into a fresh object file and reads its metadata;
 *   3. checks the implicit `kernel` dependency and loads other dependencies first
 *      (linker_load_dependencies), refusing a duplicate interface (EEXIST);
 *   4. places its set_vnet and set_pcpu sections in the reserved module space
 *      (vnet_data_alloc / dpcpu_alloc; ENOSPC when full), writes the initial values into
 *      the reference copy and propagates them to every vnet and every CPU, and relocates
 *      the module's accessors to the new offsets;
 *   5. registers its modules (EEXIST on a name clash), its sysctls, and runs its
 *      SYSINITs in (subsystem, order) order.
 *
 * Any failure undoes everything done so far — SYSUNINITs of what ran, sysctls, space,
 * dependency references — so a failed load leaves nothing loaded or allocated.
 * Unloading runs the module's SYSUNINITs in reverse order and frees its space.
 */

import { EBUSY, EEXIST, EINVAL, ENOENT, ENOEXEC, ENOSPC, EPERM, errname } from '../sys/errno.js';
import {
  ObjFile,
  SET_MODMETADATA,
  SET_SYSCTL,
  SET_SYSINIT,
  SET_SYSUNINIT,
  type TextSym,
} from '../sys/linker_set.js';
import { sysinit_sort, type Sysinit } from '../sys/kernel.js';
import {
  is_kld,
  MDT_DEPEND,
  MDT_MODULE,
  MDT_VERSION,
  MOD_QUIESCE,
  ModuleLoadError,
  type KldImage,
  type ModDepend,
  type ModMetadata,
  type ModuleData,
  module_unload,
} from '../sys/module.js';
import type { SysctlOidDecl } from '../sys/sysctl.js';
import { __vimage_version } from '../sys/param.js';
import { section_reloc, section_write_init } from './kernel_image.js';
import { dpcpu_copy } from './subr_pcpu.js';
import { vnet_data_copy, VNET_SYMPREFIX } from '../net/vnet.js';
import { DPCPU_SYMPREFIX } from '../sys/pcpu.js';
import type { Kernel } from './kernel.js';
import { cpu } from '../host/cpu.js';
import type { Thread } from '../sys/proc.js';

export interface KSym {
  readonly name: string;
  readonly value: number;
  readonly size: number;
  /** 'T' text, 'D' data, 'B' set bounds */
  readonly type: string;
}

export interface Module {
  readonly name: string;
  readonly id: number;
  readonly file: LinkerFile;
  readonly data: ModuleData;
  /** Its module metadata record (MDT_MODULE). */
  readonly md: ModMetadata;
}

/** The address of text slot n (64 bytes each, after the kernel's first page). */
function KVA_TEXT_SLOT(n: number): number {
  return 0xffff80000000 + 0x1000 + n * 64;
}

export class LinkerFile {
  refs = 1;
  userrefs = 0;
  /** Files this one depends on (references held). */
  readonly deps: LinkerFile[] = [];
  readonly modules: Module[] = [];
  readonly symbols = new Map<string, KSym>();
  vnet_base = -1;
  vnet_size = 0;
  pcpu_base = -1;
  pcpu_size = 0;
  /** Text range (for symbolising addresses). */
  text_base = 0;
  /** Where the file is mapped and how much (kldstat); the kernel's is set apart. */
  address = 0;
  size = 0;
  /** SYSINITs that have run, for unwinding and unload. */
  sysinits_run: Sysinit[] = [];
  sysctls: SysctlOidDecl[] = [];
  /** Versions this file provides: [name, version]. */
  readonly versions: [string, number][] = [];

  constructor(
    /** File id; assigned when the file goes on the list (after its dependencies). */
    public id: number,
    readonly filename: string,
    readonly pathname: string,
    readonly obj: ObjFile | null,
    readonly image: KldImage | null,
  ) {}

  get idents(): readonly string[] {
    return this.image ? this.image.idents : [];
  }
}

/** A loader for module files: given a path, produce the default export (or throw). */
export type KldFetcher = (path: string) => Promise<unknown>;

/** Error carried out of the linker: errno and the message the console shows. */
export class LinkerError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

export class Linker {
  readonly files: LinkerFile[] = [];
  readonly modules: Module[] = [];
  /** found_modules: (name, version, file) for every MDT_VERSION provided. */
  readonly found: { name: string; version: number; file: LinkerFile }[] = [];
  private nextFileId = 1;
  private nextModId = 1;
  /** Module text addresses start after the kernel's. */
  private textNext = 0;
  module_path = '/boot/kernel;/boot/modules';

  constructor(
    readonly k: Kernel,
    readonly fetch: KldFetcher,
    readonly exists: (path: string) => boolean,
  ) {}

  /** Create linker file 1 for the kernel image. */
  link_kernel(): LinkerFile {
    const k = this.k;
    const lf = new LinkerFile(this.nextFileId++, 'kernel', '/boot/kernel/kernel', null, null);
    lf.userrefs = 0;
    const img = k.image;
    for (const t of img.text)
      lf.symbols.set(t.name, { name: t.name, value: t.addr, size: 64, type: 'T' });
    for (const o of img.objs) {
      for (const v of o.vnet.vars) {
        const nm = k.vimage ? VNET_SYMPREFIX + v.name : v.name;
        lf.symbols.set(nm, {
          name: nm,
          value: img.vnet_start + (v.acc as unknown as { off: number }).off,
          size: v.type.size,
          type: 'D',
        });
      }
      for (const v of o.pcpu.vars) {
        const nm = DPCPU_SYMPREFIX + v.name;
        lf.symbols.set(nm, {
          name: nm,
          value: img.dpcpu_start + (v.acc as unknown as { off: number }).off,
          size: v.type.size,
          type: 'D',
        });
      }
    }
    const bound = (n: string, v: number): void => {
      lf.symbols.set(n, { name: n, value: v, size: 0, type: 'B' });
    };
    if (k.vimage) {
      bound('__start_set_vnet', img.vnet_start);
      bound('__stop_set_vnet', img.vnet_start + img.vnet_bytes);
    }
    bound('__start_set_pcpu', img.dpcpu_start);
    bound('__stop_set_pcpu', img.dpcpu_start + img.dpcpu_bytes);
    const kd = k.kdata.kva;
    lf.symbols.set('dpcpu_off', { name: 'dpcpu_off', value: kd, size: 8 * 64, type: 'D' });
    lf.symbols.set('mp_ncpus', { name: 'mp_ncpus', value: kd + 64 * 8, size: 4, type: 'D' });
    lf.symbols.set('mp_maxid', { name: 'mp_maxid', value: kd + 64 * 8 + 4, size: 4, type: 'D' });
    lf.versions.push(['kernel', __vimage_version]);
    this.found.push({ name: 'kernel', version: __vimage_version, file: lf });
    this.files.push(lf);
    this.textNext = img.text.length;
    /* The modules compiled into the kernel (if_lo, ether, newreno, ...) and the
     * interfaces they provide: `kldstat -v` lists them under the kernel, and kldload
     * of one says it is already in the kernel. */
    for (const o of img.objs) {
      for (const m of o.SET<ModMetadata>(SET_MODMETADATA)) {
        if (m.md_type === MDT_MODULE) {
          const data = m.md_data as ModuleData;
          const mod: Module = { name: data.name, id: this.nextModId++, file: lf, data, md: m };
          this.modules.push(mod);
          lf.modules.push(mod);
        } else if (m.md_type === MDT_VERSION) {
          const version = (m.md_data as { mv_version: number }).mv_version;
          lf.versions.push([m.md_cval, version]);
          this.found.push({ name: m.md_cval, version, file: lf });
        }
      }
    }
    return lf;
  }

  find_file(idOrName: number | string): LinkerFile | undefined {
    return typeof idOrName === 'number'
      ? this.files.find((f) => f.id === idOrName)
      : this.files.find((f) => f.filename === idOrName || f.pathname === idOrName);
  }

  find_module(name: string): Module | undefined {
    return this.modules.find((m) => m.name === name);
  }

  /** modlist_lookup2: the preferred version, else the highest within [min, max]. */
  modlist_lookup(
    name: string,
    dep?: ModDepend,
  ): { name: string; version: number; file: LinkerFile } | undefined {
    const cands = this.found.filter((f) => f.name === name);
    if (!dep) return cands[0];
    const pref = cands.find((c) => c.version === dep.md_ver_preferred);
    if (pref) return pref;
    let best: (typeof cands)[number] | undefined;
    for (const c of cands)
      if (
        c.version >= dep.md_ver_minimum &&
        c.version <= dep.md_ver_maximum &&
        (!best || c.version > best.version)
      )
        best = c;
    return best;
  }

  /** Symbol lookup: one file, or every file in load order (kernel first). */
  lookup_symbol(name: string, fileid = 0): KSym | undefined {
    if (fileid !== 0) return this.find_file(fileid)?.symbols.get(name);
    for (const f of this.files) {
      const s = f.symbols.get(name);
      if (s) return s;
    }
    return undefined;
  }

  /** The text symbol containing an address (for traces and x/i). */
  symbolize(addr: number): { sym: KSym; off: number } | null {
    // The nearest symbol at or below addr; on a tie the most specific one (a module's
    // variable rather than the kernel's `modspace` that contains it; never a set bound).
    let best: KSym | null = null;
    for (const f of this.files)
      for (const s of f.symbols.values()) {
        if (s.value > addr || s.type === 'B') continue;
        if (
          !best ||
          s.value > best.value ||
          (s.value === best.value && s.size > 0 && (best.size === 0 || s.size < best.size))
        )
          best = s;
      }
    if (!best || addr - best.value > 0x10000) return null;
    return { sym: best, off: addr - best.value };
  }

  /** Resolve a module name to a file path in module_path. */
  private resolve(name: string): string | null {
    if (name.includes('/') || name.includes('.')) return this.exists(name) ? name : null;
    for (const dir of this.module_path.split(';')) {
      if (!dir) continue;
      const p = `${dir}/${name}.ko`;
      if (this.exists(p)) return p;
    }
    return null;
  }

  /**
   * kern_kldload / linker_load_module.  Returns the file; throws LinkerError with the
   * errno and the message FreeBSD prints on the console.
   */
  async load_module(
    kldname: string,
    modname: string | null = null,
    parent: LinkerFile | null = null,
    dep?: ModDepend,
  ): Promise<LinkerFile> {
    if (modname && this.modlist_lookup(modname, dep))
      throw new LinkerError(EEXIST, `module ${modname} already loaded`);
    const path = this.resolve(kldname);
    if (!path) throw new LinkerError(ENOENT, `linker_load_file: ${kldname}: file not found`);
    const base = path.replace(/^.*\//, '');
    const dup = this.files.find((f) => f.filename === base);
    if (dup)
      throw new LinkerError(
        EEXIST,
        `linker_load_file: ${base} is already loaded as file ${dup.id}`,
      );
    let img: unknown;
    const td = cpu.td as Thread | null;
    try {
      img = await this.fetch(path);
    } catch (e) {
      throw new LinkerError(ENOEXEC, `link_elf_obj: ${path}: cannot read: ${(e as Error).message}`);
    } finally {
      // Back on the processor after the host read: reload our thread's registers.
      this.k.load_registers(td ?? this.k.thread0);
    }
    if (!is_kld(img)) throw new LinkerError(ENOEXEC, `link_elf_obj: ${path}: not a kernel module`);
    const lf = await this.load_file(img, base, path);
    if (dep && modname && !this.modlist_lookup(modname, dep)) {
      this.unload_file(lf, true);
      throw new LinkerError(
        ENOENT,
        `KLD ${base}: does not provide ${modname} in the required version`,
      );
    }
    if (parent) parent.deps.push(lf);
    return lf;
  }

  /** linker_load_file for an image already in memory. */
  async load_file(img: KldImage, filename: string, pathname: string): Promise<LinkerFile> {
    const k = this.k;
    const obj = new ObjFile(pathname, ...img.idents);
    try {
      img.link(obj);
    } catch (e) {
      throw new LinkerError(
        ENOEXEC,
        `link_elf_obj: ${pathname}: link failed: ${(e as Error).message}`,
      );
    }
    const lf = new LinkerFile(0, filename, pathname, obj, img);
    const md = obj.SET<ModMetadata>(SET_MODMETADATA);
    const undo: (() => void)[] = [];
    const fail = (errno: number, msg: string): never => {
      for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
      throw new LinkerError(errno, msg);
    };
    try {
      // --- dependencies (linker_load_dependencies) ---
      const provides = md.filter((m) => m.md_type === MDT_VERSION);
      for (const p of provides) {
        const have = this.found.find(
          (f) =>
            f.name === p.md_cval && f.version === (p.md_data as { mv_version: number }).mv_version,
        );
        if (have)
          fail(
            EEXIST,
            `interface ${p.md_cval}.${(p.md_data as { mv_version: number }).mv_version} already present in the KLD '${have.file.filename}'!`,
          );
      }
      const selfNames = new Set(provides.map((p) => p.md_cval));
      for (const d of md.filter((m) => m.md_type === MDT_DEPEND)) {
        const dep = d.md_data as ModDepend;
        if (selfNames.has(d.md_cval)) continue;
        const have = this.modlist_lookup(d.md_cval, dep);
        if (have) {
          have.file.refs++;
          lf.deps.push(have.file);
          undo.push(() => {
            have.file.refs--;
          });
          continue;
        }
        if (d.md_cval === 'kernel') {
          const kv = __vimage_version;
          fail(
            ENOEXEC,
            `KLD ${filename}: depends on kernel - not available or version mismatch ` +
              `(module built for ${dep.md_ver_minimum}, accepts ${dep.md_ver_minimum}..${dep.md_ver_maximum}; ` +
              `this kernel is ${kv})`,
          );
        }
        let dlf: LinkerFile;
        const td = cpu.td as Thread | null;
        try {
          dlf = await this.load_module(d.md_cval, d.md_cval, null, dep);
          this.k.load_registers(td ?? this.k.thread0);
        } catch (e) {
          const le = e as LinkerError;
          fail(
            le.errno === EEXIST ? ENOENT : le.errno || ENOENT,
            `KLD ${filename}: depends on ${d.md_cval} - not available or version mismatch (${le.message})`,
          );
          throw e;
        }
        lf.deps.push(dlf);
        undo.push(() => {
          this.unload_file(dlf, true);
        });
      }
      // --- data sections into module space ---
      if (obj.vnet.size > 0) {
        const size = obj.vnet.allocSize;
        const base = k.vnet_modspace.alloc(size);
        if (base < 0)
          fail(
            ENOSPC,
            `link_elf_obj_load_file: vnet module space is out of space; cannot allocate ${size} for ${filename}`,
          );
        undo.push(() => k.vnet_modspace.release(base, size));
        lf.vnet_base = base;
        lf.vnet_size = size;
        k.vnet_ref.u8.fill(0, base, base + size);
        section_write_init(obj.vnet, k.vnet_ref.u8, base);
        section_reloc(obj.vnet, base);
        if (!k.vimage)
          for (const v of obj.vnet.vars)
            (v.acc as { bind?: (r: typeof k.vnet_ref) => void }).bind?.(k.vnet_ref);
        vnet_data_copy(k, base, size);
      }
      if (obj.pcpu.size > 0) {
        const size = obj.pcpu.allocSize;
        const base = k.dpcpu_modspace.alloc(size);
        if (base < 0)
          fail(
            ENOSPC,
            `link_elf_obj_load_file: pcpu module space is out of space; cannot allocate ${size} for ${filename}`,
          );
        undo.push(() => k.dpcpu_modspace.release(base, size));
        lf.pcpu_base = base;
        lf.pcpu_size = size;
        k.dpcpu_ref.u8.fill(0, base, base + size);
        section_write_init(obj.pcpu, k.dpcpu_ref.u8, base);
        section_reloc(obj.pcpu, base);
        dpcpu_copy(k, base, size);
      }
      for (const s of obj.vslots) {
        const slot = k.vslot_alloc();
        s.acc.reloc(slot);
        undo.push(() => k.vslot_free(slot));
      }
      // --- symbols ---
      lf.text_base = this.textNext;
      obj.text.forEach((t: TextSym) => {
        t.addr = KVA_TEXT_SLOT(this.textNext++);
        lf.symbols.set(t.name, { name: t.name, value: t.addr, size: 64, type: 'T' });
      });
      /* The file's mapping: its text, then room for its data (the reference copies
       * of its vnet and DPCPU variables), at least one 64-byte slot. */
      const dataslots = Math.ceil((obj.vnet.size + obj.pcpu.size) / 64);
      this.textNext = Math.max(this.textNext + dataslots, lf.text_base + 1);
      lf.address = KVA_TEXT_SLOT(lf.text_base);
      lf.size = (this.textNext - lf.text_base) * 64;
      for (const v of obj.vnet.vars) {
        const nm = k.vimage ? VNET_SYMPREFIX + v.name : v.name;
        lf.symbols.set(nm, {
          name: nm,
          value: k.image.vnet_start + lf.vnet_base + v.relOff,
          size: v.type.size,
          type: 'D',
        });
      }
      for (const v of obj.pcpu.vars) {
        const nm = DPCPU_SYMPREFIX + v.name;
        lf.symbols.set(nm, {
          name: nm,
          value: k.image.dpcpu_start + lf.pcpu_base + v.relOff,
          size: v.type.size,
          type: 'D',
        });
      }
      // --- the file is now on the list ---
      lf.id = this.nextFileId++;
      this.files.push(lf);
      undo.push(() => this.files.splice(this.files.indexOf(lf), 1));
      for (const p of provides) {
        const ent = {
          name: p.md_cval,
          version: (p.md_data as { mv_version: number }).mv_version,
          file: lf,
        };
        this.found.push(ent);
        lf.versions.push([ent.name, ent.version]);
        undo.push(() => this.found.splice(this.found.indexOf(ent), 1));
      }
      // --- modules ---
      for (const m of md.filter((x) => x.md_type === MDT_MODULE)) {
        const data = m.md_data as ModuleData;
        if (this.find_module(data.name))
          fail(
            EEXIST,
            `module_register: cannot register ${data.name} from ${filename}; already loaded from ${this.find_module(data.name)!.file.filename}`,
          );
        const mod: Module = { name: data.name, id: this.nextModId++, file: lf, data, md: m };
        this.modules.push(mod);
        lf.modules.push(mod);
        undo.push(() => {
          this.modules.splice(this.modules.indexOf(mod), 1);
          lf.modules.splice(lf.modules.indexOf(mod), 1);
        });
      }
      // --- sysctls ---
      for (const d of obj.SET<SysctlOidDecl>(SET_SYSCTL)) {
        try {
          k.sysctl.register(d, lf.id);
        } catch (e) {
          fail(EEXIST, `${filename}: ${(e as Error).message}`);
        }
        lf.sysctls.push(d);
        undo.push(() => k.sysctl.unregister(d));
      }
      // --- SYSINITs ---
      undo.push(() => this.run_sysuninits(lf));
      for (const si of sysinit_sort([...obj.SET<Sysinit>(SET_SYSINIT)])) {
        try {
          si.func(si.arg);
        } catch (e) {
          if (e instanceof ModuleLoadError)
            fail(e.errno === 0 ? ENOEXEC : e.errno, `${e.message}: ${filename} not loaded`);
          fail(ENOEXEC, `${filename}: SYSINIT ${si.name} failed: ${(e as Error).message}`);
        }
        lf.sysinits_run.push(si);
      }
      return lf;
    } catch (e) {
      if (e instanceof LinkerError) throw e;
      for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
      throw new LinkerError(ENOEXEC, `${filename}: ${(e as Error).message}`);
    }
  }

  /** Run the SYSUNINITs matching what ran, in reverse (subsystem, order). */
  private run_sysuninits(lf: LinkerFile): void {
    if (!lf.obj || lf.sysinits_run.length === 0) return;
    const last = lf.sysinits_run[lf.sysinits_run.length - 1]!;
    const uninits = sysinit_sort([...lf.obj.SET<Sysinit>(SET_SYSUNINIT)]).filter(
      (u) =>
        u.subsystem < last.subsystem || (u.subsystem === last.subsystem && u.order <= last.order),
    );
    for (let i = uninits.length - 1; i >= 0; i--) {
      try {
        uninits[i]!.func(uninits[i]!.arg);
      } catch {
        /* A destructor failing during unwind must not stop the rest. */
      }
    }
    lf.sysinits_run = [];
  }

  /** kern_kldunload / linker_file_unload. */
  unload_file(lf: LinkerFile, force = false): number {
    const k = this.k;
    if (lf.id === 1) return EPERM;
    if (lf.refs > 1) {
      lf.refs--;
      return 0;
    }
    if (!force) {
      for (const m of lf.modules) {
        if (m.data.evhand) {
          const e = m.data.evhand(MOD_QUIESCE, m.data.priv);
          if (e !== 0 && e !== EINVAL) return e;
        }
      }
      // A file others depend on cannot go.
      if (this.files.some((f) => f !== lf && f.deps.includes(lf))) return EBUSY;
    }
    /* MOD_UNLOAD may refuse even when forced (linker_file_unload). */
    for (let i = lf.modules.length - 1; i >= 0; i--) {
      const e = module_unload(lf.modules[i]!.md);
      if (e !== 0) return e;
    }
    this.run_sysuninits(lf);
    for (const d of lf.sysctls) k.sysctl.unregister(d);
    for (const m of lf.modules) this.modules.splice(this.modules.indexOf(m), 1);
    for (let i = this.found.length - 1; i >= 0; i--)
      if (this.found[i]!.file === lf) this.found.splice(i, 1);
    if (lf.vnet_base >= 0) k.vnet_modspace.release(lf.vnet_base, lf.vnet_size);
    if (lf.pcpu_base >= 0) k.dpcpu_modspace.release(lf.pcpu_base, lf.pcpu_size);
    if (lf.obj)
      for (const s of lf.obj.vslots) k.vslot_free((s.acc as unknown as { slot: number }).slot);
    this.files.splice(this.files.indexOf(lf), 1);
    lf.refs = 0;
    for (const d of lf.deps) if (d.id !== 1) this.unload_file(d, true);
    return 0;
  }

  /** kldunload by user: EBUSY when the kernel loaded it as a dependency. */
  kldunload(fileid: number, force = false): number {
    const lf = this.find_file(fileid);
    if (!lf) return ENOENT;
    if (lf.id === 1) return EPERM;
    if (lf.userrefs === 0 && !force) return EBUSY;
    if (this.files.some((f) => f !== lf && f.deps.includes(lf)) && !force) return EBUSY;
    lf.userrefs--;
    const e = this.unload_file(lf, force);
    if (e !== 0) lf.userrefs++;
    return e;
  }
}

export { errname };
