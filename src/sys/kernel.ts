/*
 * sys/kernel.ts — SYSINIT/SYSUNINIT: ordered initialisation of the kernel and modules.
 *
 * As in FreeBSD (sys/sys/kernel.h), every piece of code that must run at boot or at
 * module load declares a record (subsystem, order, function, argument) in the
 * sysinit_set linker set; the kernel sorts all records of the image by (subsystem,
 * order) and runs them (mi_startup), and the linker does the same for each module it
 * loads.  SYSUNINITs run in the reverse order at module unload.  Ties keep link order.
 */

import { ObjFile, SET_SYSINIT, SET_SYSUNINIT } from './linker_set.js';

/* Subsystem ids (sys/sys/kernel.h values). */
export const SI_SUB_DUMMY = 0x0000000;
export const SI_SUB_TUNABLES = 0x0700000;
export const SI_SUB_COPYRIGHT = 0x0800001;
export const SI_SUB_VM = 0x1000000;
export const SI_SUB_COUNTER = 0x1100000;
export const SI_SUB_KMEM = 0x1800000;
export const SI_SUB_CPU = 0x2100000;
export const SI_SUB_VNET_PRELINK = 0x1e00000;
export const SI_SUB_KLD = 0x2000000;
export const SI_SUB_VNET = 0x21e0000;
export const SI_SUB_KDTRACE = 0x2140000;
export const SI_SUB_MAC = 0x2180000;
export const SI_SUB_RANDOM = 0x2120000;
export const SI_SUB_INTRINSIC = 0x2800000;
export const SI_SUB_EVENTHANDLER = 0x2a00000;
export const SI_SUB_KTHREAD_INIT = 0x2b00000;
export const SI_SUB_DRIVERS = 0x3100000;
export const SI_SUB_INIT_IF = 0x3000000;
export const SI_SUB_CREATE_INIT = 0x2500000;
export const SI_SUB_CONFIGURE = 0x3800000;
export const SI_SUB_CLOCKS = 0x4800000;
export const SI_SUB_SOFTINTR = 0x5a00000;
export const SI_SUB_DEVFS = 0x6000000;
export const SI_SUB_INIT_PSEUDO = 0x6400000;
export const SI_SUB_PSEUDO = 0x7000000;
export const SI_SUB_EXEC = 0x7400000;
export const SI_SUB_PROTO_BEGIN = 0x8000000;
export const SI_SUB_PROTO_PFIL = 0x8100000;
export const SI_SUB_PROTO_IF = 0x8400000;
export const SI_SUB_PROTO_DOMAININIT = 0x8600000;
export const SI_SUB_PROTO_MC = 0x8700000;
export const SI_SUB_PROTO_DOMAIN = 0x8800000;
export const SI_SUB_PROTO_FIREWALL = 0x8806000;
export const SI_SUB_PROTO_IFATTACHDOMAIN = 0x8808000;
export const SI_SUB_PROTO_END = 0x8ffffff;
export const SI_SUB_KPROF = 0x9000000;
export const SI_SUB_KICK_SCHEDULER = 0xa000000;
export const SI_SUB_INT_CONFIG_HOOKS = 0xa800000;
export const SI_SUB_ROOT_CONF = 0xb000000;
export const SI_SUB_INTRINSIC_POST = 0xd000000;
export const SI_SUB_SYSCALLS = 0xd800000;
export const SI_SUB_VNET_DONE = 0xdc00000;
export const SI_SUB_KTHREAD_IDLE = 0xe600000;
export const SI_SUB_SMP = 0xf000000;
export const SI_SUB_RACCTD = 0xf100000;
export const SI_SUB_LAST = 0xfffffff;

export const SI_ORDER_FIRST = 0x0000000;
export const SI_ORDER_SECOND = 0x0000001;
export const SI_ORDER_THIRD = 0x0000002;
export const SI_ORDER_FOURTH = 0x0000003;
export const SI_ORDER_FIFTH = 0x0000004;
export const SI_ORDER_SIXTH = 0x0000005;
export const SI_ORDER_SEVENTH = 0x0000006;
export const SI_ORDER_EIGHTH = 0x0000007;
export const SI_ORDER_MIDDLE = 0x1000000;
export const SI_ORDER_ANY = 0xfffffff;

/** A sysinit function receives the kernel it runs in (the "arg" of FreeBSD's record). */
export type SysinitFunc = (arg: unknown) => void;

export interface Sysinit {
  readonly name: string;
  readonly subsystem: number;
  readonly order: number;
  readonly func: SysinitFunc;
  readonly arg: unknown;
  readonly obj: ObjFile;
}

/** SYSINIT(uniquifier, subsystem, order, func, ident) */
export function SYSINIT(
  obj: ObjFile,
  name: string,
  subsystem: number,
  order: number,
  func: SysinitFunc,
  arg?: unknown,
): Sysinit {
  return obj.DATA_SET<Sysinit>(SET_SYSINIT, { name, subsystem, order, func, arg, obj });
}

/** SYSUNINIT(uniquifier, subsystem, order, func, ident) */
export function SYSUNINIT(
  obj: ObjFile,
  name: string,
  subsystem: number,
  order: number,
  func: SysinitFunc,
  arg?: unknown,
): Sysinit {
  return obj.DATA_SET<Sysinit>(SET_SYSUNINIT, { name, subsystem, order, func, arg, obj });
}

/** Stable sort by (subsystem, order): equal keys keep link order. */
export function sysinit_sort<T extends { subsystem: number; order: number }>(list: T[]): T[] {
  return list
    .map((s, i) => [s, i] as const)
    .sort((a, b) => a[0].subsystem - b[0].subsystem || a[0].order - b[0].order || a[1] - b[1])
    .map(([s]) => s);
}

export function si_sub_name(sub: number): string {
  for (const [k, v] of Object.entries(SI_SUB_NAMES)) if (v === sub) return k;
  return `0x${sub.toString(16)}`;
}

const SI_SUB_NAMES: Readonly<Record<string, number>> = {
  SI_SUB_VNET_PRELINK,
  SI_SUB_KLD,
  SI_SUB_VNET,
  SI_SUB_INIT_IF,
  SI_SUB_PSEUDO,
  SI_SUB_PROTO_BEGIN,
  SI_SUB_PROTO_IF,
  SI_SUB_PROTO_DOMAININIT,
  SI_SUB_PROTO_DOMAIN,
  SI_SUB_PROTO_IFATTACHDOMAIN,
  SI_SUB_PROTO_END,
  SI_SUB_VNET_DONE,
};
