/*
 * net/if_clone.ts — interface cloning (sys/net/if_clone.c): `ifconfig epair create`,
 * `ifconfig lo1 create`, `ifconfig bridge0 destroy`.
 *
 * A cloner is per vnet: a driver's VNET_SYSINIT calls if_clone_attach(name, match,
 * create, destroy) and keeps the result; the cloner lives on curvnet's list (V_if_cloners,
 * a VNET_OBJ) and records the interfaces it made (ifc_iflist) and the units in use.
 * if_clone_detach (the driver's VNET_SYSUNINIT) destroys every interface still on its
 * list — wherever they are now, each in its own vnet — and unlinks the cloner.
 *
 * if_clone_create(name, params): the first cloner whose match accepts the name (EINVAL
 * if none), EEXIST if an interface of exactly that name exists in curvnet, then the
 * cloner's create, which returns the final name (epair0a for "epair").
 * if_clone_destroy(name): the interface by name in curvnet (ENXIO), its cloner (EINVAL
 * if it was not cloned), ifc_destroy.  Interfaces remember their cloner (if_clone), so
 * destroying a moved epair side from its new vnet works.
 *
 * Deliberate differences: match/create/destroy are closures, not a struct of pointers
 * with a flags word; no "simple" vs "advanced" cloner distinction (ifc_simple_match and
 * the unit allocator are helpers any cloner may use).
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SI_ORDER_FIRST, SI_SUB_INIT_IF } from '../sys/kernel.js';
import {
  CURVNET_RESTORE,
  CURVNET_SET,
  VNET_OBJ,
  VNET_SYSINIT,
  curvnet,
  type Vnet,
} from './vnet.js';
import type { Ifnet } from './if_var.js';
import { EEXIST, EINVAL, ENOSPC, ENXIO, EOPNOTSUPP } from '../sys/errno.js';
import { IFNAMSIZ } from '../sys/sockio.js';
import { curkernel } from '../kern/kern_cur.js';
import { ifunit } from './if.js';

export const K = new ObjFile('net/if_clone.ts', VIMAGEID('src/net/if_clone.ts'));

export type IfcMatch = (ifc: IfClone, name: string) => boolean;
/** Create: returns an errno and, on success, the final interface name. */
export type IfcCreate = (
  ifc: IfClone,
  name: string,
  params: number | null,
) => { error: number; name: string };
export type IfcDestroy = (ifc: IfClone, ifp: Ifnet) => number;

export class IfClone {
  /** Interfaces made by this cloner (ifc_iflist). */
  readonly ifc_iflist: Ifnet[] = [];
  /** Units in use. */
  readonly ifc_units = new Set<number>();
  /** Highest unit (IF_MAXUNIT). */
  ifc_maxunit = 0x7fff;
  constructor(
    readonly ifc_name: string,
    readonly ifc_match: IfcMatch,
    readonly ifc_create: IfcCreate,
    readonly ifc_destroy: IfcDestroy | null,
    readonly ifc_vnet: Vnet,
  ) {}
}

export const V_if_cloners = VNET_OBJ<IfClone[]>(K, 'if_cloners');

VNET_SYSINIT(K, 'vnet_if_clone_init', SI_SUB_INIT_IF, SI_ORDER_FIRST, () => {
  V_if_cloners.set([]);
});

/** ifc_simple_match: "<name>" or "<name><digits>". */
export function ifc_simple_match(ifc: IfClone, name: string): boolean {
  if (!name.startsWith(ifc.ifc_name)) return false;
  return /^[0-9]*$/.test(name.slice(ifc.ifc_name.length));
}

/** The unit in "<dname><digits>", -1 when there are no digits (wildcard), NaN if bad. */
export function ifc_name2unit(ifc: IfClone, name: string): number {
  const rest = name.slice(ifc.ifc_name.length);
  if (rest === '') return -1;
  if (!/^[0-9]+$/.test(rest) || (rest.length > 1 && rest[0] === '0')) return NaN;
  return Number(rest);
}

/** ifc_alloc_unit: a wildcard (-1) takes the lowest free unit; else that one or EEXIST. */
export function ifc_alloc_unit(ifc: IfClone, unit: number): { error: number; unit: number } {
  if (unit < 0) {
    for (let u = 0; u <= ifc.ifc_maxunit; u++)
      if (!ifc.ifc_units.has(u)) {
        ifc.ifc_units.add(u);
        return { error: 0, unit: u };
      }
    return { error: ENOSPC, unit: -1 };
  }
  if (unit > ifc.ifc_maxunit) return { error: EINVAL, unit: -1 };
  if (ifc.ifc_units.has(unit)) return { error: EEXIST, unit: -1 };
  ifc.ifc_units.add(unit);
  return { error: 0, unit };
}

export function ifc_free_unit(ifc: IfClone, unit: number): void {
  ifc.ifc_units.delete(unit);
}

/** Record an interface as made by ifc (if_clone_addif). */
export function if_clone_addif(ifc: IfClone, ifp: Ifnet): void {
  ifp.if_clone = ifc;
  if (!ifc.ifc_iflist.includes(ifp)) ifc.ifc_iflist.push(ifp);
}

/** Forget an interface (before destroying it). */
export function if_clone_delif(ifc: IfClone, ifp: Ifnet): void {
  const i = ifc.ifc_iflist.indexOf(ifp);
  if (i >= 0) ifc.ifc_iflist.splice(i, 1);
}

/** if_clone_attach: a cloner in curvnet. */
export function if_clone_attach(
  name: string,
  match: IfcMatch | null,
  create: IfcCreate,
  destroy: IfcDestroy | null,
): IfClone {
  const v = curvnet() ?? curkernel().vnet0;
  const ifc = new IfClone(name, match ?? ifc_simple_match, create, destroy, v);
  V_if_cloners.get().push(ifc);
  return ifc;
}

/** if_clone_detach: destroy every interface the cloner made, then unlink it. */
export function if_clone_detach(ifc: IfClone): void {
  const list = V_if_cloners.on(ifc.ifc_vnet);
  for (const ifp of [...ifc.ifc_iflist]) if_clone_destroyif(ifc, ifp);
  const i = list.indexOf(ifc);
  if (i >= 0) list.splice(i, 1);
}

/** if_clone_create(name, params) in curvnet. */
export function if_clone_create(
  name: string,
  params: number | null,
): { error: number; name: string } {
  if (name.length >= IFNAMSIZ) return { error: EINVAL, name };
  const ifc = V_if_cloners.get().find((c) => c.ifc_match(c, name));
  if (ifc === undefined) return { error: EINVAL, name };
  if (ifunit(name) !== null) return { error: EEXIST, name };
  return ifc.ifc_create(ifc, name, params);
}

/** Destroy one interface of a cloner, in the interface's vnet. */
export function if_clone_destroyif(ifc: IfClone, ifp: Ifnet): number {
  if (ifc.ifc_destroy === null) return EOPNOTSUPP;
  if_clone_delif(ifc, ifp);
  const v = ifp.if_vnet;
  const saved = v ? CURVNET_SET(v) : null;
  let e: number;
  try {
    e = ifc.ifc_destroy(ifc, ifp);
  } finally {
    if (v) CURVNET_RESTORE(saved);
  }
  if (e !== 0) if_clone_addif(ifc, ifp);
  return e;
}

/** if_clone_destroy(name) in curvnet. */
export function if_clone_destroy(name: string): number {
  const ifp = ifunit(name);
  if (ifp === null) return ENXIO;
  const ifc = ifp.if_clone as IfClone | null;
  if (ifc === null) return EINVAL;
  return if_clone_destroyif(ifc, ifp);
}

/** The cloner names of curvnet (SIOCIFGCLONERS). */
export function if_clone_list(): string[] {
  return V_if_cloners.get().map((c) => c.ifc_name);
}
