/*
 * kern/kernel_image.ts — the static link of the kernel image.
 *
 * The objects listed in conf/files.ts are linked once, in that order, the way the
 * build's final `ld` would: set_vnet and set_pcpu sections are concatenated (8-byte
 * aligned) into the two master sections with their initial values; text symbols get
 * addresses; per-vnet object slots get numbers; every accessor is relocated to its
 * final offset.  The layout depends only on the list, so every kernel booted in the
 * process — GENERIC or NOVIMAGE — shares it, as two boots of one kernel file would.
 * Modules are linked per load by kern/kern_linker.ts.
 */

import {
  DataSection,
  ObjFile,
  SET_SYSINIT,
  SET_SYSUNINIT,
  SET_FOREACH,
  TextSym,
} from '../sys/linker_set.js';
import { sysinit_sort, type Sysinit } from '../sys/kernel.js';
import { PAGE_SIZE, roundup2 } from '../sys/param.js';
import { writeScalar } from '../sys/types.js';
import { DPCPU_START, KVA_TEXT, VNET_START } from './kern_kva.js';

export interface KernelImage {
  readonly objs: readonly ObjFile[];
  readonly vnet_start: number;
  /** VNET_BYTES: the used size of the master section. */
  readonly vnet_bytes: number;
  /** VNET_SIZE: VNET_BYTES rounded up to a page (the size of every vnet's block). */
  readonly vnet_size: number;
  readonly vnet_init: Uint8Array;
  readonly dpcpu_start: number;
  readonly dpcpu_bytes: number;
  readonly dpcpu_size: number;
  readonly dpcpu_init: Uint8Array;
  /** Number of per-vnet object slots of the image. */
  readonly nvslots: number;
  readonly text: readonly TextSym[];
  readonly sysinits: readonly Sysinit[];
  readonly sysuninits: readonly Sysinit[];
}

/** Write a section's initial values into an image at base. */
export function section_write_init(sec: DataSection, image: Uint8Array, base: number): void {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  for (const v of sec.vars) {
    if (v.init === undefined) continue;
    const at = base + v.relOff;
    if (v.init instanceof Uint8Array) image.set(v.init, at);
    else writeScalar(dv, at, v.type, v.init);
  }
}

/** Relocate a section's accessors to base. */
export function section_reloc(sec: DataSection, base: number): void {
  for (const v of sec.vars) v.acc.reloc(base + v.relOff);
}

function layout(
  objs: readonly ObjFile[],
  pick: (o: ObjFile) => DataSection,
): { bases: number[]; bytes: number } {
  let off = 0;
  const bases: number[] = [];
  for (const o of objs) {
    const sec = pick(o);
    off = roundup2(off, 8);
    bases.push(off);
    off += sec.size;
  }
  return { bases, bytes: roundup2(off, 8) };
}

export function link_image(objs: readonly ObjFile[]): KernelImage {
  const v = layout(objs, (o) => o.vnet);
  const p = layout(objs, (o) => o.pcpu);
  const vnet_size = roundup2(Math.max(v.bytes, 8), PAGE_SIZE);
  const dpcpu_size = roundup2(Math.max(p.bytes, 8), PAGE_SIZE);
  const vnet_init = new Uint8Array(vnet_size);
  const dpcpu_init = new Uint8Array(dpcpu_size);
  const text: TextSym[] = [];
  let nvslots = 0;
  objs.forEach((o, i) => {
    section_reloc(o.vnet, v.bases[i]!);
    section_write_init(o.vnet, vnet_init, v.bases[i]!);
    section_reloc(o.pcpu, p.bases[i]!);
    section_write_init(o.pcpu, dpcpu_init, p.bases[i]!);
    for (const s of o.vslots) s.acc.reloc(nvslots++);
    for (const t of o.text) {
      t.addr = KVA_TEXT + text.length * 64;
      text.push(t);
    }
  });
  return {
    objs,
    vnet_start: VNET_START,
    vnet_bytes: v.bytes,
    vnet_size,
    vnet_init,
    dpcpu_start: DPCPU_START,
    dpcpu_bytes: p.bytes,
    dpcpu_size,
    dpcpu_init,
    nvslots,
    text,
    sysinits: sysinit_sort(SET_FOREACH<Sysinit>(objs, SET_SYSINIT)),
    sysuninits: sysinit_sort(SET_FOREACH<Sysinit>(objs, SET_SYSUNINIT)),
  };
}
