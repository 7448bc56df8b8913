/*
 * kern/kern_jail_syscalls.ts — jail(2): jail_set, jail_get, jail_remove, jail_attach
 * (sys/kern/kern_jail.c's sys_jail_set ... sys_jail_attach) over kern_jail.ts.
 *
 * jail_set(iov, niov, flags) and jail_get(iov, niov, flags) take FreeBSD's parameter
 * list: niov/2 pairs of struct iovec { void *iov_base; size_t iov_len } — a
 * NUL-terminated parameter name, then its value (a string with its NUL, an int, or
 * nothing for a boolean).  Parameters understood:
 *
 *   jid (int)  name (string)  path (string)  host.hostname (string)
 *   vnet (int: JAIL_SYS_NEW 1 / JAIL_SYS_INHERIT 2, or no value = new), novnet
 *   persist (no value or int), nopersist   children.max (int)
 *   lastjid (int, jail_get: the first jail with a larger jid)
 *   errmsg (string buffer: the kernel writes its error message there)
 *   jail_get also reports children.cur, parent and dying.
 *
 * An unknown parameter is ENOENT ("unknown parameter: NAME" in errmsg).  Flags:
 * JAIL_CREATE makes a jail below the caller's, JAIL_UPDATE changes host.hostname and
 * persist of an existing one, JAIL_ATTACH also moves the caller in.  Creating, updating,
 * removing and attaching need root (EPERM).  jail_attach makes the caller's working
 * directory the jail's root.
 *
 * Differences: no ip4/ip6 addresses, allow.* or enforce_statfs parameters; JAIL_DYING
 * is accepted and ignored.
 */

import { EINVAL, ENOENT, EPERM } from '../sys/errno.js';
import type { Proc, Thread } from '../sys/proc.js';
import { copyin, copyinstr, copyout, fuword64 } from '../vm/vm_map.js';
import { curkernel } from './kern_cur.js';
import {
  PR_PERSIST,
  PR_VNET,
  PRISON_STATE_ALIVE,
  kern_jail_attach,
  kern_jail_remove,
  kern_jail_set,
  prison_find_child,
  prison_find_name,
  prison_list,
  prison_name,
  prison_proc_free,
  type JailParams,
  type Prison,
} from './kern_jail.js';
import type { Kernel } from './kernel.js';

export const JAIL_CREATE = 0x01;
export const JAIL_UPDATE = 0x02;
export const JAIL_ATTACH = 0x04;
export const JAIL_DYING = 0x08;
export const JAIL_SYS_DISABLE = 0;
export const JAIL_SYS_NEW = 1;
export const JAIL_SYS_INHERIT = 2;
/** Largest parameter list (pairs). */
export const JAIL_MAXPARAMS = 64;

interface Param {
  name: string;
  /** The value bytes (null: no value). */
  value: Uint8Array | null;
  /** Where the value lives in user memory (for jail_get and errmsg). */
  ubase: number;
  ulen: number;
}

function copyin_params(p: Proc, uiov: number, niov: number): Param[] | number {
  if (!Number.isInteger(niov) || niov < 0 || niov % 2 !== 0 || niov > JAIL_MAXPARAMS * 2)
    return EINVAL;
  const out: Param[] = [];
  for (let i = 0; i < niov; i += 2) {
    const nb = fuword64(p, uiov + i * 16);
    const vb = fuword64(p, uiov + (i + 1) * 16);
    const vl = fuword64(p, uiov + (i + 1) * 16 + 8);
    if (nb === null || vb === null || vl === null) return 14; /* EFAULT */
    const name = copyinstr(p, nb, 256);
    if (typeof name === 'number') return name;
    let value: Uint8Array | null = null;
    if (vb !== 0 && vl > 0) {
      const v = copyin(p, vb, Math.min(vl, 4096));
      if (typeof v === 'number') return v;
      value = v;
    }
    out.push({ name, value, ubase: vb, ulen: vl });
  }
  return out;
}

function vstr(v: Uint8Array | null): string {
  if (v === null) return '';
  const n = v.indexOf(0);
  return new TextDecoder().decode(n >= 0 ? v.subarray(0, n) : v);
}

function vint(v: Uint8Array | null): number | null {
  if (v === null || v.length < 4) return null;
  return new DataView(v.buffer, v.byteOffset, 4).getInt32(0, true);
}

/** Write the error message into the errmsg parameter, if the caller gave one. */
function errmsg(p: Proc, params: readonly Param[], msg: string): void {
  const e = params.find((x) => x.name === 'errmsg');
  if (e === undefined || e.ubase === 0 || e.ulen === 0) return;
  const b = new TextEncoder().encode(msg).subarray(0, e.ulen - 1);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  copyout(p, out, e.ubase);
}

function priv_jail(td: Thread): boolean {
  return td.td_proc.p_ucred.cr_uid === 0;
}

/** jail_set(iov, niov, flags): the jid. */
export function sys_jail_set(td: Thread, args: readonly number[]): number {
  const [uiov = 0, niov = 0, flags = 0] = args;
  const p = td.td_proc;
  const params = copyin_params(p, uiov, niov);
  if (typeof params === 'number') return params;
  const fail = (e: number, msg: string): number => {
    errmsg(p, params, msg);
    return e;
  };
  if (!priv_jail(td)) return fail(EPERM, 'jail_set: not permitted');
  if (
    flags & ~(JAIL_CREATE | JAIL_UPDATE | JAIL_ATTACH | JAIL_DYING) ||
    !(flags & (JAIL_CREATE | JAIL_UPDATE))
  )
    return fail(EINVAL, 'jail_set: bad flags');
  const jp: JailParams = {};
  let persist: boolean | undefined;
  for (const x of params) {
    switch (x.name) {
      case 'errmsg':
        break;
      case 'name':
        jp.name = vstr(x.value);
        break;
      case 'jid':
        jp.jid = vint(x.value) ?? 0;
        break;
      case 'path':
        jp.path = vstr(x.value);
        break;
      case 'host.hostname':
        jp['host.hostname'] = vstr(x.value);
        break;
      case 'children.max':
        jp['children.max'] = vint(x.value) ?? 0;
        break;
      case 'persist':
        persist = x.value === null || (vint(x.value) ?? 1) !== 0;
        break;
      case 'nopersist':
        persist = false;
        break;
      case 'vnet': {
        const v = x.value === null ? JAIL_SYS_NEW : x.value.length >= 4 ? vint(x.value) : null;
        const s = vstr(x.value);
        jp.vnet = v === JAIL_SYS_NEW || s === 'new';
        break;
      }
      case 'novnet':
        jp.vnet = false;
        break;
      default:
        return fail(ENOENT, `unknown parameter: ${x.name}`);
    }
  }
  if (persist !== undefined) jp.persist = persist;
  const k = curkernel();
  const mypr = p.p_ucred.cr_prison;
  let pr: Prison | null = null;
  const existing =
    jp.jid !== undefined && jp.jid !== 0
      ? prison_find_child(k, mypr, jp.jid)
      : jp.name !== undefined
        ? prison_find_name(k, mypr, jp.name)
        : null;
  if (existing !== null && flags & JAIL_UPDATE) {
    pr = existing;
    if (jp['host.hostname'] !== undefined) pr.pr_hostname = jp['host.hostname'];
    if (persist === true) pr.pr_flags |= PR_PERSIST;
    if (persist === false) {
      pr.pr_flags &= ~PR_PERSIST;
      if (pr.pr_nprocs === 0 && !(flags & JAIL_ATTACH)) {
        /* A jail without persist and without processes goes away. */
        pr.pr_nprocs++;
        prison_proc_free(k, pr);
      }
    }
  } else if (existing !== null && !(flags & JAIL_UPDATE))
    return fail(17 /* EEXIST */, `jail ${jp.name ?? jp.jid} already exists`);
  else if (!(flags & JAIL_CREATE)) return fail(ENOENT, `jail ${jp.name ?? jp.jid ?? ''} not found`);
  else {
    const r = kern_jail_set(k, mypr, jp);
    if (r.error !== 0 || r.pr === null)
      return fail(
        r.error,
        r.error === EINVAL && jp.vnet && !k.vimage
          ? 'vnet jails need options VIMAGE'
          : 'jail_set failed',
      );
    pr = r.pr;
  }
  if (flags & JAIL_ATTACH) {
    const e = kern_jail_attach(k, p, pr.pr_id);
    if (e !== 0) return fail(e, 'jail_attach failed');
    p.p_cwd = '/';
  }
  td.td_retval[0] = pr.pr_id;
  return 0;
}

function outval(
  k: Kernel,
  mypr: Prison,
  pr: Prison,
  name: string,
): Uint8Array | string | number | null {
  switch (name) {
    case 'jid':
      return pr.pr_id;
    case 'name':
      return prison_name(mypr, pr);
    case 'path':
      return pr.pr_path;
    case 'host.hostname':
      return pr.pr_hostname;
    case 'vnet':
      return pr.pr_flags & PR_VNET ? JAIL_SYS_NEW : JAIL_SYS_INHERIT;
    case 'persist':
      return pr.pr_flags & PR_PERSIST ? 1 : 0;
    case 'dying':
      return pr.pr_state !== PRISON_STATE_ALIVE ? 1 : 0;
    case 'parent':
      return pr.pr_parent === null || pr.pr_parent === mypr ? 0 : pr.pr_parent.pr_id;
    case 'children.max':
      return pr.pr_childmax;
    case 'children.cur':
      return pr.pr_childcount;
    default:
      void k;
      return null;
  }
}

/** jail_get(iov, niov, flags): fill the requested parameters; the jid. */
export function sys_jail_get(td: Thread, args: readonly number[]): number {
  const [uiov = 0, niov = 0] = args;
  const p = td.td_proc;
  const params = copyin_params(p, uiov, niov);
  if (typeof params === 'number') return params;
  const k = curkernel();
  const mypr = p.p_ucred.cr_prison;
  let pr: Prison | null = null;
  const last = params.find((x) => x.name === 'lastjid');
  const jidp = params.find((x) => x.name === 'jid');
  const namep = params.find((x) => x.name === 'name');
  if (last !== undefined) {
    const lj = vint(last.value) ?? 0;
    pr = prison_list(k, mypr).find((x) => x.pr_id > lj) ?? null;
  } else if (jidp !== undefined && (vint(jidp.value) ?? 0) !== 0)
    pr = prison_find_child(k, mypr, vint(jidp.value)!);
  else if (namep !== undefined && namep.value !== null)
    pr = prison_find_name(k, mypr, vstr(namep.value));
  else {
    errmsg(p, params, 'no jail specified');
    return ENOENT;
  }
  if (pr === null) {
    errmsg(p, params, last !== undefined ? 'no more jails' : 'jail not found');
    return ENOENT;
  }
  for (const x of params) {
    if (x.name === 'errmsg' || x.name === 'lastjid') continue;
    const v = outval(k, mypr, pr, x.name);
    if (v === null) {
      errmsg(p, params, `unknown parameter: ${x.name}`);
      return ENOENT;
    }
    if (x.ubase === 0 || x.ulen === 0) continue;
    let b: Uint8Array;
    if (typeof v === 'number') {
      b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, v, true);
    } else if (typeof v === 'string') {
      const s = new TextEncoder().encode(v);
      b = new Uint8Array(Math.min(s.length + 1, x.ulen));
      b.set(s.subarray(0, b.length - 1));
    } else b = v;
    const e = copyout(p, b.subarray(0, Math.min(b.length, x.ulen)), x.ubase);
    if (e !== 0) return e;
  }
  td.td_retval[0] = pr.pr_id;
  return 0;
}

/** jail_remove(jid). */
export function sys_jail_remove(td: Thread, args: readonly number[]): number {
  if (!priv_jail(td)) return EPERM;
  return kern_jail_remove(curkernel(), td.td_proc.p_ucred.cr_prison, args[0] ?? 0);
}

/** jail_attach(jid): the caller moves into the jail; its cwd becomes the jail's root. */
export function sys_jail_attach(td: Thread, args: readonly number[]): number {
  if (!priv_jail(td)) return EPERM;
  const e = kern_jail_attach(curkernel(), td.td_proc, args[0] ?? 0);
  if (e === 0) td.td_proc.p_cwd = '/';
  return e;
}
