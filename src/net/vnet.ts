/*
 * net/vnet.ts — the per-virtual-network-stack memory allocator (VIMAGE).
 *
 * This is the seed's design (FreeBSD r196019, sys/net/vnet.c), in TypeScript:
 *
 * - Virtualized globals are tagged at declaration: VNET_DEFINE(obj, name, type, init)
 *   puts the variable into its object file's set_vnet section.  The kernel linker lays
 *   the set_vnet sections of all objects of the kernel image out contiguously in a
 *   reference image (the "master copy", at VNET_START), with the initial values in it.
 *   The image ends with `modspace`, VNET_MODMIN bytes reserved for the variables of
 *   modules loaded later; the kernel linker relocates those into it (vnet_data_alloc)
 *   and copies their initial values into every vnet (vnet_data_copy).
 *
 * - A vnet is one Region of VNET_SIZE bytes, initialised by one copy of the reference
 *   image: vnet_alloc is one allocation, one Uint8Array.set, then only the registered
 *   VNET_SYSINITs that need code, in (subsystem, order) order.  vnet_destroy runs the
 *   VNET_SYSUNINITs in exactly the reverse order and frees everything.
 *
 * - Run-time access is through an accessor: V_x.get() reads the current vnet's copy at
 *   the variable's fixed offset; V_x.on(vnet) reads another vnet's (VNET_VNET).  The
 *   current vnet is curthread->td_vnet, set with CURVNET_SET/CURVNET_RESTORE at entry
 *   points; its data region is cached in the processor registers (host/cpu.ts), so an
 *   access is one indexed load from a typed array.
 *
 * - Without `options VIMAGE` there are no vnets: the reference image itself is the
 *   one and only copy of every variable (as FreeBSD's globals live at their link
 *   address), the registers point at it for good, curvnet is null, CURVNET_SET/RESTORE
 *   do nothing, and the symbols are plain names (`ipstat`, not `vnet_entry_ipstat`).
 *
 * State that cannot live in bytes (interface lists, hash tables, PCBs) lives in per-vnet
 * object slots (VNET_OBJ), created by VNET_SYSINITs and dropped by VNET_SYSUNINITs.
 *
 * Deliberate differences from FreeBSD: one JavaScript thread, so no vnet list locks;
 * the sysinit registration and the list insertion cannot race (see §3.12 of the
 * mechanisms reference); CURVNET_SET returns the saved vnet instead of declaring a
 * block-local, and callers restore it in a finally block.
 */

import { cpu, cpu_load_vnet } from '../host/cpu.js';
import { PM8, PM16, PM32, PMI32 } from '../host/physmem.js';
import { EMPTY_REGION, Region } from '../kern/kern_region.js';
import { counter_u64_add_lo, type counter_u64_t } from '../kern/subr_counter.js';
import { ModSpace } from '../kern/subr_modspace.js';
import { curkernel } from '../kern/kern_cur.js';
import type { Kernel } from '../kern/kernel.js';
import { ObjFile, VIMAGEID, type Relocatable } from '../sys/linker_set.js';
import {
  SI_ORDER_ANY,
  SI_ORDER_FIRST,
  SI_SUB_INIT_IF,
  SI_SUB_VNET,
  SI_SUB_VNET_DONE,
  SYSINIT,
  SYSUNINIT,
} from '../sys/kernel.js';
import { PAGE_SIZE } from '../sys/param.js';
import {
  bytes,
  struct,
  ptr,
  uint,
  u8 as u8t,
  type CType,
  type StructLayout,
} from '../sys/types.js';
import type { Thread } from '../sys/proc.js';

export const K = new ObjFile('net/vnet.ts', VIMAGEID('src/net/vnet.ts'));

export const VNET_SETNAME = 'set_vnet';
export const VNET_SYMPREFIX = 'vnet_entry_';
export const VNET_MAGIC_N = 0x3e0d8f29;
export const VNET_MAGIC_DEAD = 0xdeadbeef;
/** Module space: 8 pages, as in FreeBSD 13 and later on amd64. */
export const VNET_MODMIN = 8 * PAGE_SIZE;

/* ------------------------------------------------------------------------------------ */
/* Accessors                                                                             */
/* ------------------------------------------------------------------------------------ */

/** Fails loudly: an accessor used before the linker relocated it. */
function unrelocated(this: { name?: string }): never {
  throw new Error(`VNET accessor ${this?.name ?? '?'} used before it was linked`);
}

/**
 * Common part of every VNET accessor: the variable's offset in the vnet image.
 *
 * The access methods are closures made when the linker relocates the variable: they
 * capture physical memory (a constant array), the processor registers and the offset,
 * so V_x.get() compiles to one load of the vnet base register plus one element access —
 * FreeBSD's `*(curvnet->vnet_data_base + &vnet_entry_x)`.  Without VIMAGE a module's
 * variables are bound by the linker to the one region (bind), with no register at all.
 */
abstract class VnetVar implements Relocatable {
  /** Byte offset in the image (VNET_START-relative), -1 until linked. */
  off = -1;
  constructor(
    readonly name: string,
    readonly type: CType,
  ) {}
  reloc(off: number): void {
    this.off = off;
    this.relocated();
  }
  protected relocated(): void {}
  /** The vnet's region (VNET_VNET), or the current one. */
  protected region(vnet?: Vnet | null): Region {
    return vnet ? vnet.v : cpu.v;
  }
  /** Kernel virtual address of this variable in a vnet (or the current one). */
  addr(vnet?: Vnet | null): number {
    return this.region(vnet).kva + this.off;
  }
  /**
   * Bind the accessor to one region for good: without VIMAGE the kernel linker binds a
   * module's variables to the kernel's only copy, so get/set read it directly with no
   * register indirection (the analogue of a module's plain global).  Accessors of the
   * kernel image are shared by every kernel in the process and are never bound.
   */
  bind(_r: Region): void {}
}

/** A 32-bit unsigned virtualized global (u_int). */
export class VnetU32 extends VnetVar {
  idx = -1;
  get: () => number = unrelocated;
  set: (v: number) => void = unrelocated;
  inc: (n?: number) => number = unrelocated;
  protected override relocated(): void {
    const i = (this.idx = this.off >>> 2);
    const pm = PM32;
    const c = cpu;
    this.get = () => pm[c.vb32 + i]!;
    this.set = (v) => void (pm[c.vb32 + i] = v);
    this.inc = (n = 1) => (pm[c.vb32 + i] = pm[c.vb32 + i]! + n);
  }
  override bind(r: Region): void {
    const j = r.b32 + this.idx;
    const pm = PM32;
    this.get = () => pm[j]!;
    this.set = (v) => void (pm[j] = v);
    this.inc = (n = 1) => (pm[j] = pm[j]! + n);
  }
  on(vnet: Vnet): number {
    return vnet.v.u32[this.idx]!;
  }
  seton(vnet: Vnet, v: number): void {
    vnet.v.u32[this.idx] = v;
  }
}

/** A 32-bit signed virtualized global (int). */
export class VnetI32 extends VnetVar {
  idx = -1;
  get: () => number = unrelocated;
  set: (v: number) => void = unrelocated;
  inc: (n?: number) => number = unrelocated;
  protected override relocated(): void {
    const i = (this.idx = this.off >>> 2);
    const pm = PMI32;
    const c = cpu;
    this.get = () => pm[c.vb32 + i]!;
    this.set = (v) => void (pm[c.vb32 + i] = v);
    this.inc = (n = 1) => (pm[c.vb32 + i] = pm[c.vb32 + i]! + n);
  }
  override bind(r: Region): void {
    const j = r.b32 + this.idx;
    const pm = PMI32;
    this.get = () => pm[j]!;
    this.set = (v) => void (pm[j] = v);
    this.inc = (n = 1) => (pm[j] = pm[j]! + n);
  }
  on(vnet: Vnet): number {
    return vnet.v.i32[this.idx]!;
  }
  seton(vnet: Vnet, v: number): void {
    vnet.v.i32[this.idx] = v;
  }
}

/** An 8-bit virtualized global (u_char, bool). */
export class VnetU8 extends VnetVar {
  get: () => number = unrelocated;
  set: (v: number) => void = unrelocated;
  protected override relocated(): void {
    const i = this.off;
    const pm = PM8;
    const c = cpu;
    this.get = () => pm[c.vb8 + i]!;
    this.set = (v) => void (pm[c.vb8 + i] = v);
  }
  override bind(r: Region): void {
    const j = r.b8 + this.off;
    const pm = PM8;
    this.get = () => pm[j]!;
    this.set = (v) => void (pm[j] = v);
  }
  on(vnet: Vnet): number {
    return vnet.v.u8[this.off]!;
  }
  seton(vnet: Vnet, v: number): void {
    vnet.v.u8[this.off] = v;
  }
}

/** A 16-bit virtualized global (u_short). */
export class VnetU16 extends VnetVar {
  idx = -1;
  get: () => number = unrelocated;
  set: (v: number) => void = unrelocated;
  protected override relocated(): void {
    const i = (this.idx = this.off >>> 1);
    const pm = PM16;
    const c = cpu;
    this.get = () => pm[c.vb16 + i]!;
    this.set = (v) => void (pm[c.vb16 + i] = v);
  }
  override bind(r: Region): void {
    const j = r.b16 + this.idx;
    const pm = PM16;
    this.get = () => pm[j]!;
    this.set = (v) => void (pm[j] = v);
  }
  on(vnet: Vnet): number {
    return vnet.v.u16[this.idx]!;
  }
  seton(vnet: Vnet, v: number): void {
    vnet.v.u16[this.idx] = v;
  }
}

/** A 64-bit virtualized global (uint64_t / u_long), exact below 2^53. */
export class VnetU64 extends VnetVar {
  idx = -1;
  get: () => number = unrelocated;
  set: (v: number) => void = unrelocated;
  protected override relocated(): void {
    const i = (this.idx = this.off >>> 2);
    const pm = PM32;
    const c = cpu;
    this.get = () => pm[c.vb32 + i]! + pm[c.vb32 + i + 1]! * 4294967296;
    this.set = (v) => {
      const lo = v >>> 0;
      pm[c.vb32 + i] = lo;
      pm[c.vb32 + i + 1] = Math.floor((v - lo) / 4294967296);
    };
  }
  inc(n = 1): number {
    const v = this.get() + n;
    this.set(v);
    return v;
  }
  on(vnet: Vnet): number {
    return vnet.v.getU64(this.off);
  }
  seton(vnet: Vnet, v: number): void {
    vnet.v.setU64(this.off, v);
  }
}

/** A struct or array virtualized global: a byte view of the current vnet's copy. */
export class VnetBytes extends VnetVar {
  constructor(
    name: string,
    type: CType,
    readonly layout: StructLayout | undefined,
  ) {
    super(name, type);
  }
  /** The bytes of the current vnet's copy (a view, not a copy). */
  bytes(vnet?: Vnet | null): Uint8Array {
    const r = this.region(vnet);
    return r.u8.subarray(this.off, this.off + this.type.size);
  }
  /** Field offset (absolute) by name, for the fast field accessors below. */
  fieldOff(field: string): number {
    const f = this.layout?.byName.get(field);
    if (!f) throw new Error(`${this.name}: no field ${field}`);
    return this.off + f.offset;
  }
  getU32(fieldOff: number, vnet?: Vnet | null): number {
    return vnet ? vnet.v.u32[fieldOff >>> 2]! : PM32[cpu.vb32 + (fieldOff >>> 2)]!;
  }
  setU32(fieldOff: number, v: number, vnet?: Vnet | null): void {
    if (vnet) vnet.v.u32[fieldOff >>> 2] = v;
    else PM32[cpu.vb32 + (fieldOff >>> 2)] = v;
  }
  getU64(fieldOff: number, vnet?: Vnet | null): number {
    return this.region(vnet).getU64(fieldOff);
  }
  setU64(fieldOff: number, v: number, vnet?: Vnet | null): void {
    this.region(vnet).setU64(fieldOff, v);
  }
}

/**
 * VNET_PCPUSTAT: a per-vnet stats structure of uint64_t counters whose values live in
 * per-CPU counter(9) storage.  The vnet data holds one counter address per field, so a
 * kvm reader finds them by symbol (`vnet_entry_ipstat`) exactly as FreeBSD's libkvm
 * does, and sums each over the CPUs (kvm_counter_u64_fetch).
 */
export class VnetPcpuStat extends VnetVar {
  idx = -1;
  /** XXXSTAT_ADD(field, n) in the current vnet, on the current CPU. */
  add: (f: number, n: number) => void = unrelocated;
  /** XXXSTAT_INC(field) */
  inc: (f: number) => void = unrelocated;
  constructor(
    name: string,
    readonly layout: StructLayout,
  ) {
    super(name, bytes(layout.size, 8, `counter_u64_t[${layout.fields.length}]`));
  }
  protected override relocated(): void {
    const i = (this.idx = this.off >>> 2);
    const pm = PM32;
    const c = cpu;
    this.add = (f, n) => {
      counter_u64_add_lo(pm[c.vb32 + i + f * 2]!, n);
    };
    this.inc = (f) => {
      counter_u64_add_lo(pm[c.vb32 + i + f * 2]!, 1);
    };
  }
  get nfields(): number {
    return this.layout.fields.length;
  }
  /** Field index by name. */
  field(name: string): number {
    const f = this.layout.byName.get(name);
    if (!f) throw new Error(`${this.name}: no field ${name}`);
    return f.offset >>> 3;
  }
  /** The counter(9) handle of field f in the current vnet. */
  counter(f: number): counter_u64_t {
    const j = cpu.vb32 + this.idx + f * 2;
    return PM32[j]! + PM32[j + 1]! * 4294967296;
  }
  /** Sum of field f over the CPUs, in a vnet or the current one. */
  fetch(f: number, vnet?: Vnet | null): number {
    const r = this.region(vnet);
    return curkernel().zpcpu.fetch(r.getU64(this.off + f * 8));
  }
  /** All fields, summed over CPUs, as a record keyed by field name. */
  fetchAll(vnet?: Vnet | null): Record<string, number> {
    const out: Record<string, number> = {};
    for (let f = 0; f < this.nfields; f++) out[this.layout.fields[f]!.name] = this.fetch(f, vnet);
    return out;
  }
  /** The summed structure as bytes (what sysctl net.inet.ip.stats returns). */
  fetchBytes(vnet?: Vnet | null): Uint8Array {
    const out = new Uint8Array(this.layout.size);
    const dv = new DataView(out.buffer);
    for (let f = 0; f < this.nfields; f++) {
      const v = this.fetch(f, vnet);
      dv.setUint32(f * 8, v >>> 0, true);
      dv.setUint32(f * 8 + 4, Math.floor(v / 4294967296), true);
    }
    return out;
  }
  /** Zero every counter (netstat -z / sysctl write of zeros). */
  zero(vnet?: Vnet | null): void {
    const r = this.region(vnet);
    const z = curkernel().zpcpu;
    for (let f = 0; f < this.nfields; f++) z.zero(r.getU64(this.off + f * 8));
  }
}

/** Per-vnet object slot: state that cannot live in bytes. */
export class VnetObj<T> {
  slot = -1;
  constructor(readonly name: string) {}
  reloc(slot: number): void {
    this.slot = slot;
  }
  get(): T {
    return cpu.vobj[this.slot] as T;
  }
  set(v: T): void {
    cpu.vobj[this.slot] = v;
  }
  on(vnet: Vnet): T {
    return vnet.v.objs[this.slot] as T;
  }
  seton(vnet: Vnet, v: T): void {
    vnet.v.objs[this.slot] = v;
  }
}

/* ------------------------------------------------------------------------------------ */
/* Definitions                                                                           */
/* ------------------------------------------------------------------------------------ */

function initBytes(
  t: CType,
  init: number | Uint8Array | undefined,
): number | Uint8Array | undefined {
  if (init instanceof Uint8Array && init.length > t.size)
    throw new RangeError(`initial value larger than ${t.cname}`);
  return init;
}

/** VNET_DEFINE(u_int, name) = init */
export function VNET_DEFINE_U32(obj: ObjFile, name: string, init = 0): VnetU32 {
  const acc = new VnetU32(name, uint);
  obj.vnet.add(name, uint, init, acc);
  return acc;
}

/** VNET_DEFINE(int, name) = init */
export function VNET_DEFINE_INT(obj: ObjFile, name: string, init = 0): VnetI32 {
  const acc = new VnetI32(name, { kind: 'i32', size: 4, align: 4, cname: 'int' });
  obj.vnet.add(name, acc.type, init, acc);
  return acc;
}

/** VNET_DEFINE(u_char, name) = init */
export function VNET_DEFINE_U8(obj: ObjFile, name: string, init = 0): VnetU8 {
  const acc = new VnetU8(name, u8t);
  obj.vnet.add(name, u8t, init, acc);
  return acc;
}

/** VNET_DEFINE(u_short, name) = init */
export function VNET_DEFINE_U16(obj: ObjFile, name: string, init = 0): VnetU16 {
  const t: CType = { kind: 'u16', size: 2, align: 2, cname: 'u_short' };
  const acc = new VnetU16(name, t);
  obj.vnet.add(name, t, init, acc);
  return acc;
}

/** VNET_DEFINE(uint64_t, name) = init */
export function VNET_DEFINE_U64(obj: ObjFile, name: string, init = 0): VnetU64 {
  const t: CType = { kind: 'u64', size: 8, align: 8, cname: 'uint64_t' };
  const acc = new VnetU64(name, t);
  obj.vnet.add(name, t, init, acc);
  return acc;
}

/** VNET_DEFINE(struct s, name) or an array, with optional initial bytes. */
export function VNET_DEFINE_BYTES(
  obj: ObjFile,
  name: string,
  type: CType,
  init?: Uint8Array,
): VnetBytes {
  const acc = new VnetBytes(name, type, type.struct);
  obj.vnet.add(name, type, initBytes(type, init), acc);
  return acc;
}

/** VNET_DEFINE(struct s, name) with a struct layout. */
export function VNET_DEFINE_STRUCT(
  obj: ObjFile,
  name: string,
  layout: StructLayout,
  init?: Uint8Array,
): VnetBytes {
  return VNET_DEFINE_BYTES(obj, name, layout.type, init);
}

/**
 * VNET_PCPUSTAT_DEFINE(struct s, name) together with VNET_PCPUSTAT_SYSINIT and
 * VNET_PCPUSTAT_SYSUNINIT: the counters are allocated in every vnet at
 * (SI_SUB_INIT_IF, SI_ORDER_FIRST) and freed when it goes away.
 */
export function VNET_PCPUSTAT_DEFINE(
  obj: ObjFile,
  name: string,
  layout: StructLayout,
): VnetPcpuStat {
  for (const f of layout.fields)
    if (f.type.kind !== 'u64')
      throw new Error(`${layout.name}.${f.name}: PCPUSTAT fields are uint64_t`);
  const acc = new VnetPcpuStat(name, layout);
  obj.vnet.add(name, acc.type, undefined, acc);
  const n = layout.fields.length;
  VNET_SYSINIT(obj, `${name}_pcpustat_init`, SI_SUB_INIT_IF, SI_ORDER_FIRST, () => {
    const k = curkernel();
    const base = k.zpcpu.alloc(n);
    for (let f = 0; f < n; f++) cpu.v.setU64(acc.off + f * 8, base + f * 8);
  });
  VNET_SYSUNINIT(obj, `${name}_pcpustat_uninit`, SI_SUB_INIT_IF, SI_ORDER_FIRST, () => {
    const k = curkernel();
    k.zpcpu.free(cpu.v.getU64(acc.off), n);
    for (let f = 0; f < n; f++) cpu.v.setU64(acc.off + f * 8, 0);
  });
  return acc;
}

/** A per-vnet object slot. */
export function VNET_OBJ<T>(obj: ObjFile, name: string): VnetObj<T> {
  const acc = new VnetObj<T>(name);
  obj.vslots.push({ name, acc });
  return acc;
}

/* ------------------------------------------------------------------------------------ */
/* struct vnet                                                                           */
/* ------------------------------------------------------------------------------------ */

/** struct vnet as kvm and DDB see it (amd64 layout, with vnet_shutdown). */
export const vnet_layout = struct('vnet', [
  ['le_next', ptr],
  ['le_prev', ptr],
  ['vnet_magic_n', uint],
  ['vnet_ifcnt', uint],
  ['vnet_sockcnt', uint],
  ['vnet_state', uint],
  ['vnet_data_mem', ptr],
  ['vnet_data_base', ptr],
  ['vnet_shutdown', u8t],
]);

/**
 * A virtual network stack.  The struct itself is bytes at a kernel address (so libkvm
 * and DDB read it like FreeBSD's), with getters for the kernel's own use.
 */
export class Vnet {
  /** The struct vnet bytes. */
  readonly s: Region;
  /** The vnet's data: a copy of the reference image. */
  v: Region;
  /** Small ordinal for humans (show vnet ID, jls), never reused within a boot. */
  readonly vnet_id: number;

  constructor(
    readonly kernel: Kernel,
    structKva: number,
    id: number,
  ) {
    this.s = new Region(64, structKva);
    this.v = EMPTY_REGION;
    this.vnet_id = id;
  }
  get vnet_magic_n(): number {
    return this.s.u32[4]!;
  }
  set vnet_magic_n(v: number) {
    this.s.u32[4] = v;
  }
  get vnet_ifcnt(): number {
    return this.s.u32[5]!;
  }
  set vnet_ifcnt(v: number) {
    this.s.u32[5] = v;
  }
  get vnet_sockcnt(): number {
    return this.s.u32[6]!;
  }
  set vnet_sockcnt(v: number) {
    this.s.u32[6] = v;
  }
  get vnet_state(): number {
    return this.s.u32[7]!;
  }
  set vnet_state(v: number) {
    this.s.u32[7] = v;
  }
  get vnet_data_mem(): number {
    return this.s.getU64(32);
  }
  set vnet_data_mem(v: number) {
    this.s.setU64(32, v);
  }
  get vnet_data_base(): number {
    return this.s.getU64(40);
  }
  set vnet_data_base(v: number) {
    this.s.setU64(40, v);
  }
  get vnet_shutdown(): boolean {
    return this.s.u8[48] !== 0;
  }
  set vnet_shutdown(v: boolean) {
    this.s.u8[48] = v ? 1 : 0;
  }
  /** The struct's kernel address ("the vnet pointer"). */
  get kva(): number {
    return this.s.kva;
  }
}

/* ------------------------------------------------------------------------------------ */
/* VNET_SYSINIT / VNET_SYSUNINIT                                                         */
/* ------------------------------------------------------------------------------------ */

export interface VnetSysinit {
  readonly name: string;
  readonly subsystem: number;
  readonly order: number;
  readonly func: (arg: unknown) => void;
  readonly arg: unknown;
  readonly obj: ObjFile;
}

/** Insert keeping (subsystem, order) order; equal keys keep registration order. */
function sysinit_insert(list: VnetSysinit[], vs: VnetSysinit): void {
  let i = 0;
  while (
    i < list.length &&
    (list[i]!.subsystem < vs.subsystem ||
      (list[i]!.subsystem === vs.subsystem && list[i]!.order <= vs.order))
  )
    i++;
  list.splice(i, 0, vs);
}

/** vnet_register_sysinit: add a constructor and run it at once on every existing vnet. */
export function vnet_register_sysinit(vs: VnetSysinit): void {
  const k = curkernel();
  if (vs.subsystem <= SI_SUB_VNET) throw new Error(`vnet sysinit too early: ${vs.name}`);
  sysinit_insert(k.vnet_constructors, vs);
  if (!k.vimage) {
    // One global instance: run the constructor on it now, as SYSINIT would.
    vs.func(vs.arg);
    return;
  }
  for (const vnet of k.vnet_head) {
    const saved = CURVNET_SET_QUIET(vnet);
    try {
      // Unlike FreeBSD we also advance vnet_state, so that vnet0 — allocated before any
      // constructor was registered — ends boot in SI_SUB_VNET_DONE like every other vnet.
      if (vnet.vnet_state < vs.subsystem) vnet.vnet_state = vs.subsystem;
      vs.func(vs.arg);
    } finally {
      CURVNET_RESTORE(saved);
    }
  }
}

/** vnet_deregister_sysinit: remove only. */
export function vnet_deregister_sysinit(vs: VnetSysinit): void {
  const k = curkernel();
  const i = k.vnet_constructors.indexOf(vs);
  if (i >= 0) k.vnet_constructors.splice(i, 1);
}

/** vnet_register_sysuninit: add a destructor (no call). */
export function vnet_register_sysuninit(vs: VnetSysinit): void {
  sysinit_insert(curkernel().vnet_destructors, vs);
}

/** vnet_deregister_sysuninit (module unload): run it on every vnet, then remove it. */
export function vnet_deregister_sysuninit(vs: VnetSysinit): void {
  const k = curkernel();
  if (!k.vimage) vs.func(vs.arg);
  else
    for (const vnet of k.vnet_head) {
      const saved = CURVNET_SET_QUIET(vnet);
      try {
        vs.func(vs.arg);
      } finally {
        CURVNET_RESTORE(saved);
      }
    }
  const i = k.vnet_destructors.indexOf(vs);
  if (i >= 0) k.vnet_destructors.splice(i, 1);
}

/**
 * VNET_SYSINIT(ident, subsystem, order, func, arg): a constructor run in every vnet, now
 * and at creation.  Implemented, as in FreeBSD, by an ordinary SYSINIT at the same
 * (subsystem, order) that registers it and a SYSUNINIT that deregisters it.
 */
export function VNET_SYSINIT(
  obj: ObjFile,
  name: string,
  subsystem: number,
  order: number,
  func: (arg: unknown) => void,
  arg?: unknown,
): VnetSysinit {
  const vs: VnetSysinit = { name, subsystem, order, func, arg, obj };
  SYSINIT(obj, `${name}_vnet_init`, subsystem, order, () => vnet_register_sysinit(vs));
  SYSUNINIT(obj, `${name}_vnet_uninit`, subsystem, order, () => vnet_deregister_sysinit(vs));
  return vs;
}

/** VNET_SYSUNINIT(ident, subsystem, order, func, arg): a destructor run in every vnet. */
export function VNET_SYSUNINIT(
  obj: ObjFile,
  name: string,
  subsystem: number,
  order: number,
  func: (arg: unknown) => void,
  arg?: unknown,
): VnetSysinit {
  const vs: VnetSysinit = { name, subsystem, order, func, arg, obj };
  SYSINIT(obj, `${name}_vnet_uninit_reg`, subsystem, order, () => vnet_register_sysuninit(vs));
  SYSUNINIT(obj, `${name}_vnet_uninit_dereg`, subsystem, order, () =>
    vnet_deregister_sysuninit(vs),
  );
  return vs;
}

/** vnet_sysinit(): run every constructor in ascending order on curvnet. */
function vnet_sysinit(k: Kernel, vnet: Vnet): void {
  for (const vs of k.vnet_constructors) {
    vnet.vnet_state = vs.subsystem;
    vs.func(vs.arg);
  }
}

/** vnet_sysuninit(): run every destructor in descending order on curvnet. */
function vnet_sysuninit(k: Kernel, vnet: Vnet): void {
  const list = k.vnet_destructors;
  for (let i = list.length - 1; i >= 0; i--) {
    const vs = list[i]!;
    vnet.vnet_state = vs.subsystem;
    vs.func(vs.arg);
  }
}

/* ------------------------------------------------------------------------------------ */
/* curvnet                                                                               */
/* ------------------------------------------------------------------------------------ */

/** curvnet: the running thread's td_vnet (null without VIMAGE). */
export function curvnet(): Vnet | null {
  return cpu.vnet as Vnet | null;
}

/** Load a thread's vnet into the registers (dispatch). */
export function vnet_load_thread(k: Kernel, td: Thread): void {
  if (!k.vimage) return;
  const v = td.td_vnet;
  cpu.vnet = v;
  cpu_load_vnet(v ? v.v : EMPTY_REGION);
}

/**
 * CURVNET_SET_QUIET(vnet): make vnet current for this thread; returns the vnet to give
 * back to CURVNET_RESTORE.  Asserts the vnet is alive (its magic number is right).
 */
export function CURVNET_SET_QUIET(vnet: Vnet): Vnet | null {
  const saved = cpu.vnet as Vnet | null;
  if (vnet.kernel.vimage) {
    if (vnet.vnet_magic_n !== VNET_MAGIC_N)
      throw new Error(
        `CURVNET_SET at ${new Error().stack?.split('\n')[2]?.trim() ?? '?'} ` +
          `${saved ? saved.kva.toString(16) : '0'}->${vnet.kva.toString(16)}: bad magic`,
      );
    const td = cpu.td as Thread | null;
    if (td) td.td_vnet = vnet;
    cpu.vnet = vnet;
    cpu_load_vnet(vnet.v);
  }
  return saved;
}

/** CURVNET_SET(vnet) (same as the quiet form; VNET_DEBUG recursion logging not kept). */
export const CURVNET_SET = CURVNET_SET_QUIET;

/** CURVNET_RESTORE() */
export function CURVNET_RESTORE(saved: Vnet | null): void {
  const k = cpu.kernel as Kernel | null;
  if (!k || !k.vimage) return;
  const td = cpu.td as Thread | null;
  if (td) td.td_vnet = saved;
  cpu.vnet = saved;
  cpu_load_vnet(saved ? saved.v : EMPTY_REGION);
}

/** Run fn with curvnet = vnet (CURVNET_SET ... CURVNET_RESTORE around a call). */
export function with_vnet<T>(vnet: Vnet, fn: () => T): T {
  const saved = CURVNET_SET(vnet);
  try {
    return fn();
  } finally {
    CURVNET_RESTORE(saved);
  }
}

export function IS_DEFAULT_VNET(vnet: Vnet | null): boolean {
  const k = curkernel();
  return !k.vimage || vnet === k.vnet0;
}

/* ------------------------------------------------------------------------------------ */
/* vnet_alloc / vnet_destroy                                                             */
/* ------------------------------------------------------------------------------------ */

/**
 * vnet_alloc(): one allocation of VNET_SIZE bytes, one copy of the reference image
 * (which includes the module space, so module defaults come along), then the
 * registered constructors in order with curvnet set, then insertion at the list head.
 */
export function vnet_alloc(): Vnet {
  const k = curkernel();
  if (!k.vimage) throw new Error('vnet_alloc: kernel built without options VIMAGE');
  const vnet = new Vnet(k, k.kva_alloc_struct(64), ++k.vnet_lastid);
  vnet.vnet_magic_n = VNET_MAGIC_N;
  vnet.vnet_state = 0;
  const data = new Region(k.image.vnet_size, k.kva_alloc_vnet(), k.nvslots, true);
  data.u8.set(k.vnet_ref.u8.subarray(0, k.image.vnet_bytes));
  vnet.v = data;
  vnet.vnet_data_mem = data.kva;
  vnet.vnet_data_base = data.kva - k.image.vnet_start;
  k.kva.map(vnet.s);
  k.kva.map(data);
  const saved = CURVNET_SET_QUIET(vnet);
  try {
    vnet_sysinit(k, vnet);
  } finally {
    CURVNET_RESTORE(saved);
  }
  k.vnet_head.unshift(vnet);
  return vnet;
}

/**
 * vnet_destroy(): remove from the list, run the destructors in reverse order with
 * curvnet set, free the data, poison the magic.  The caller has closed every socket
 * (vnet_sockcnt must be 0: jail removal closes them first).
 */
export function vnet_destroy(vnet: Vnet): void {
  const k = vnet.kernel;
  if (vnet.vnet_sockcnt !== 0)
    throw new Error(`vnet_destroy: vnet ${vnet.vnet_id} still has ${vnet.vnet_sockcnt} sockets`);
  if (vnet === k.vnet0) throw new Error('vnet_destroy: cannot destroy vnet0');
  const i = k.vnet_head.indexOf(vnet);
  if (i < 0) throw new Error('vnet_destroy: vnet not on the list');
  k.vnet_head.splice(i, 1);
  vnet.vnet_shutdown = true;
  const saved = CURVNET_SET_QUIET(vnet);
  try {
    vnet_sysuninit(k, vnet);
  } finally {
    CURVNET_RESTORE(saved);
  }
  k.kva.unmap(vnet.v);
  k.kva_free_vnet(vnet.v.kva);
  vnet.v.release();
  k.kva.unmap(vnet.s);
  vnet.v = EMPTY_REGION;
  vnet.vnet_data_mem = 0;
  vnet.vnet_data_base = 0;
  vnet.vnet_magic_n = VNET_MAGIC_DEAD;
}

/* ------------------------------------------------------------------------------------ */
/* Module space                                                                          */
/* ------------------------------------------------------------------------------------ */

/** The kernel's own `modspace` variable: VNET_MODMIN bytes for modules' variables. */
export const V_modspace = VNET_DEFINE_BYTES(K, 'modspace', bytes(VNET_MODMIN, 8));

/** vnet_data_startup: one free extent covering modspace. */
export function vnet_data_startup(_k: Kernel): ModSpace {
  return new ModSpace('vnet_data', V_modspace.off, VNET_MODMIN);
}

/** vnet_data_copy(start, size): propagate module defaults to every existing vnet. */
export function vnet_data_copy(k: Kernel, start: number, size: number): void {
  if (!k.vimage) return; // the reference image is the only copy
  const src = k.vnet_ref.u8.subarray(start, start + size);
  for (const vnet of k.vnet_head) vnet.v.u8.set(src, start);
}

/* ------------------------------------------------------------------------------------ */
/* Boot: vnet0 and the "done" marker                                                     */
/* ------------------------------------------------------------------------------------ */

/** A dummy constructor at (SI_SUB_VNET_DONE, ANY): a built vnet ends in that state. */
VNET_SYSINIT(K, 'vnet_init_done_marker', SI_SUB_VNET_DONE, SI_ORDER_ANY, () => {});

/** vnet0_init (SI_SUB_VNET, FIRST): allocate vnet0 and give it to prison0 and thread0. */
SYSINIT(K, 'vnet0_init', SI_SUB_VNET, SI_ORDER_FIRST, () => {
  const k = curkernel();
  if (!k.vimage) return;
  k.vnet0 = vnet_alloc();
  k.prison0.pr_vnet = k.vnet0;
  CURVNET_SET_QUIET(k.vnet0);
});

/** vnet_init_done (SI_SUB_VNET_DONE, ANY): boot is over; thread0 leaves vnet0. */
SYSINIT(K, 'vnet_init_done', SI_SUB_VNET_DONE, SI_ORDER_ANY, () => {
  const k = curkernel();
  if (!k.vimage) return;
  CURVNET_RESTORE(null);
});

/** Find a vnet by ordinal or by struct address (for DDB and tools). */
export function vnet_lookup(k: Kernel, id: number): Vnet | undefined {
  return k.vnet_head.find((v) => v.vnet_id === id || v.kva === id);
}
