/*
 * sys/linker_set.ts — linker sets and object files.
 *
 * FreeBSD's DATA_SET(set, sym) emits a pointer into an ELF section `set_<set>`; the
 * linker concatenates those sections from every object and synthesises
 * __start_set_<set>/__stop_set_<set>, and SET_FOREACH walks the result.  Here each
 * compilation unit — a kernel source file, or a loadable module — owns one ObjFile (its
 * "object file") and adds entries to named sets on it.  The kernel linker
 * (kern/kern_linker.ts) concatenates the sets of every object of the kernel image in
 * link order (conf/files.ts), and does the same for each module it loads.
 *
 * Two sets are different, exactly as in FreeBSD: set_vnet and set_pcpu hold the
 * variables themselves, not pointers.  They are DataSections: byte layouts of variables
 * with initial values, placed by the linker into the kernel's contiguous reference image
 * (or, for a module, into the reserved module space) — see net/vnet.ts and
 * sys/pcpu.ts.
 *
 * Object files are declarations: once the linker has placed them nothing here changes,
 * except the `armed` byte of a text symbol, which is the analogue of the breakpoint
 * instruction DDB writes into kernel text (shared by every kernel in the process, and
 * checked against the running kernel's own breakpoint table when it fires).
 */

import type { CType } from './types.js';

/** Standard set names (FreeBSD's, where one exists). */
export const SET_SYSINIT = 'sysinit_set';
export const SET_SYSUNINIT = 'sysuninit_set';
export const SET_MODMETADATA = 'modmetadata_set';
export const SET_SYSCTL = 'sysctl_set';
export const SET_VNET = 'set_vnet';
export const SET_PCPU = 'set_pcpu';

/** Something the linker relocates once it knows a variable's final byte offset. */
export interface Relocatable {
  /** Called by the linker with the absolute offset within the section's image. */
  reloc(off: number): void;
}

/** One variable of a data set (set_vnet or set_pcpu). */
export interface DataVar {
  readonly name: string;
  readonly type: CType;
  /** Initial value: a number for scalars, bytes for structs and arrays, absent = zero. */
  readonly init: number | Uint8Array | undefined;
  /** Offset within this object's section. */
  readonly relOff: number;
  readonly acc: Relocatable;
}

/** A set_vnet or set_pcpu section of one object file: variables laid out back to back. */
export class DataSection {
  readonly vars: DataVar[] = [];
  size = 0;
  align = 8;

  constructor(readonly name: string) {}

  add(name: string, type: CType, init: number | Uint8Array | undefined, acc: Relocatable): DataVar {
    if (this.vars.some((v) => v.name === name))
      throw new Error(`${this.name}: duplicate definition of ${name}`);
    const relOff = Math.ceil(this.size / type.align) * type.align;
    const dv: DataVar = { name, type, init, relOff, acc };
    this.vars.push(dv);
    this.size = relOff + type.size;
    return dv;
  }

  /** The section rounded to 8 bytes, as the allocators hand out space. */
  get allocSize(): number {
    return Math.ceil(this.size / 8) * 8;
  }
}

/** A function symbol: a name a breakpoint can be set on. */
export class TextSym {
  /** Kernel virtual address, set when the object is linked. */
  addr = 0;
  /** Non-zero while a breakpoint (or a step) is armed on this symbol in some kernel. */
  armed = 0;
  constructor(
    readonly name: string,
    readonly obj: ObjFile,
  ) {}
}

/** A per-vnet (or per-kernel) object slot: state that cannot live in bytes. */
export interface SlotDef {
  readonly name: string;
  readonly acc: { reloc(slot: number): void };
}

/**
 * An object file: one compilation unit's linker sets, data sections and symbols.
 * `path` names the source (src/netinet/ip_input.ts -> "netinet/ip_input.ts").
 */
export class ObjFile {
  readonly sets = new Map<string, unknown[]>();
  readonly vnet = new DataSection(SET_VNET);
  readonly pcpu = new DataSection(SET_PCPU);
  readonly text: TextSym[] = [];
  readonly vslots: SlotDef[] = [];
  /** Ident strings: the project's own keyword first, vendor ids after, byte for byte. */
  readonly idents: string[];

  constructor(
    readonly path: string,
    ...idents: string[]
  ) {
    this.idents = idents;
  }

  /** DATA_SET(set, entry) */
  DATA_SET<T>(set: string, entry: T): T {
    let s = this.sets.get(set);
    if (!s) this.sets.set(set, (s = []));
    s.push(entry);
    return entry;
  }

  /** SET_FOREACH over this object's own entries. */
  SET<T>(set: string): readonly T[] {
    return (this.sets.get(set) as T[] | undefined) ?? [];
  }

  /** Declare a function symbol (for the symbol table, traces and breakpoints). */
  TEXT(name: string): TextSym {
    const t = new TextSym(name, this);
    this.text.push(t);
    return t;
  }
}

/** SET_FOREACH over a list of objects, in link order. */
export function SET_FOREACH<T>(objs: readonly ObjFile[], set: string): T[] {
  const out: T[] = [];
  for (const o of objs) for (const e of o.SET<T>(set)) out.push(e);
  return out;
}

/**
 * __FBSDID for this project: the keyword is `$Vimage$`.  The ident of a file is
 * `$Vimage: <path> <version> $`; vendor ids (`$Id: ... $` and friends) of imported code
 * are kept byte for byte beside it and are never rewritten.
 */
export function VIMAGEID(path: string): string {
  return `$Vimage: ${path} $`;
}
