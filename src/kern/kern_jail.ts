/*
 * kern/kern_jail.ts — prisons (jails): creation, lookup, visibility, removal.
 *
 * prison0 is the host; it owns vnet0.  A jail is created below the creator's prison
 * (`jail -c name=… vnet persist`, kern_jail_set) with a jail id (the next unused one
 * after the last given, up to JAIL_MAX), a name (relative to the creator; the full name
 * of a grandchild is "parent.child"; the default is the jid), a path (under the
 * parent's), a hostname, and either its parent's vnet or — with `vnet`, VIMAGE kernels
 * only — a new one from vnet_alloc().  In a kernel without VIMAGE, `vnet` is EINVAL.
 * `children.max` bounds the jails it may create below itself (default 0: none, EPERM).
 *
 * Life: a jail counts its live processes (pr_nprocs).  Removing it (jail_remove) marks
 * it dying, removes its child jails first, and kills every process in it; when its last
 * process has exited — at once if it has none — it is finished: its sockets are closed
 * (by its processes' exit; sovnet_drain catches any left), its own vnet is destroyed
 * (vnet_destroy), and it leaves its parent and the jail list.  A jail without `persist`
 * goes away the same way when its last process exits.
 *
 * Visibility: a process sees only its own prison and the prisons below it
 * (prison_check, prison_find_child); everything else fails with ESRCH (processes) or
 * is simply not found (jails, EINVAL from jail_remove/jail_attach as FreeBSD does).
 *
 * Deliberate differences: a jail created without `persist` and never given a process
 * stays until removed (FreeBSD would let it die at once); no ip4/ip6 restrictions, no
 * allow.* permissions, no enforce_statfs, no securelevel; no jail_get(2) iterator yet
 * (prison_list serves jls).
 */

import type { Vnet } from '../net/vnet.js';
import { vnet_alloc, vnet_destroy } from '../net/vnet.js';
import type { Kernel } from './kernel.js';
import { EEXIST, EINVAL, EAGAIN, EPERM, ESRCH } from '../sys/errno.js';
import { PRS_NORMAL, type Proc, type Thread } from '../sys/proc.js';
import { curthread } from './kern_cur.js';
import { proc_create, proc_kill, type ProcCreateOpts, type ThreadMain } from './kern_proc.js';
import { sovnet_drain } from './uipc_socket.js';

export const PR_PERSIST = 0x00000001; /* can exist without processes */
export const PR_HOST = 0x00000002; /* virtualize hostname et al */
export const PR_VNET = 0x00000010; /* virtual network stack */

export const PRISON_STATE_INVALID = 0;
export const PRISON_STATE_ALIVE = 1;
export const PRISON_STATE_DYING = 2;

export const JAIL_MAX = 999999;

export class Prison {
  pr_flags = 0;
  pr_vnet: Vnet | null = null;
  pr_hostname: string;
  pr_path: string;
  readonly pr_children: Prison[] = [];
  pr_ref = 1;
  pr_state = PRISON_STATE_ALIVE;
  /** Live processes in this prison (FreeBSD's pr_uref, as far as processes go). */
  pr_nprocs = 0;
  /** How many descendant jails it may have, and has. */
  pr_childmax: number;
  pr_childcount = 0;

  constructor(
    readonly pr_id: number,
    public pr_name: string,
    readonly pr_parent: Prison | null,
    hostname = '',
    path = '/',
  ) {
    this.pr_hostname = hostname;
    this.pr_path = path;
    this.pr_childmax = pr_parent === null ? JAIL_MAX : 0;
  }
}

/** The kernel's jail list (allprison) and id allocation. */
export class JailTable {
  readonly allprison: Prison[] = [];
  lastprid = 0;
}

/** Is pr1 a (strict) descendant of pr2? */
export function prison_ischild(pr1: Prison, pr2: Prison): boolean {
  for (let p = pr1.pr_parent; p; p = p.pr_parent) if (p === pr2) return true;
  return false;
}

/** prison_check(): 0 if a process in pr1 may see one in pr2, else ESRCH. */
export function prison_check(pr1: Prison, pr2: Prison): number {
  return pr1 === pr2 || prison_ischild(pr2, pr1) ? 0 : ESRCH;
}

/** prison_find(): an alive prison by jid (not checking visibility). */
export function prison_find(k: Kernel, jid: number): Prison | null {
  if (jid === 0) return k.prison0;
  for (const pr of k.jails.allprison)
    if (pr.pr_id === jid && pr.pr_state === PRISON_STATE_ALIVE) return pr;
  return null;
}

/** prison_find_child(): an alive prison by jid, only if it is below mypr. */
export function prison_find_child(k: Kernel, mypr: Prison, jid: number): Prison | null {
  const pr = prison_find(k, jid);
  return pr !== null && pr !== k.prison0 && prison_ischild(pr, mypr) ? pr : null;
}

/** The name of pr as seen from mypr ("a.b" for a grandchild). */
export function prison_name(mypr: Prison, pr: Prison): string {
  if (pr === mypr) return '0';
  const parts: string[] = [];
  for (let p: Prison | null = pr; p && p !== mypr; p = p.pr_parent) parts.unshift(p.pr_name);
  return parts.join('.');
}

/** prison_find_name(): an alive prison below mypr by relative name (or by jid). */
export function prison_find_name(k: Kernel, mypr: Prison, name: string): Prison | null {
  for (const pr of k.jails.allprison)
    if (
      pr.pr_state === PRISON_STATE_ALIVE &&
      prison_ischild(pr, mypr) &&
      prison_name(mypr, pr) === name
    )
      return pr;
  if (/^[0-9]+$/.test(name)) return prison_find_child(k, mypr, Number(name));
  return null;
}

/** The alive prisons below mypr, by jid (what jls lists). */
export function prison_list(k: Kernel, mypr: Prison): Prison[] {
  return k.jails.allprison
    .filter((pr) => pr.pr_state === PRISON_STATE_ALIVE && prison_ischild(pr, mypr))
    .sort((a, b) => a.pr_id - b.pr_id);
}

/** The prison a thread is in. */
export function td_prison(td: Thread): Prison {
  return td.td_proc.p_ucred.cr_prison;
}

export interface JailParams {
  /** Name relative to the creator; default: the jid. */
  name?: string;
  /** Requested jail id (0 or absent: allocate). */
  jid?: number;
  /** A new virtual network stack (VIMAGE only). */
  vnet?: boolean;
  persist?: boolean;
  path?: string;
  'host.hostname'?: string;
  'children.max'?: number;
}

export interface JailSetResult {
  error: number;
  jid: number;
  pr: Prison | null;
}

function jid_alloc(k: Kernel): number {
  const used = new Set(k.jails.allprison.map((p) => p.pr_id));
  let jid = k.jails.lastprid;
  for (let n = 0; n < JAIL_MAX; n++) {
    jid = jid >= JAIL_MAX ? 1 : jid + 1;
    if (!used.has(jid)) {
      k.jails.lastprid = jid;
      return jid;
    }
  }
  return -1;
}

/**
 * kern_jail_set(JAIL_CREATE): create a jail below mypr.  Errors: EPERM (mypr may not
 * have more child jails), EINVAL (bad name, `vnet` without VIMAGE, bad jid), EEXIST
 * (jid or name taken), EAGAIN (no free jid).  Must run with this kernel on the processor
 * (a new vnet's constructors run).
 */
export function kern_jail_set(k: Kernel, mypr: Prison, params: JailParams): JailSetResult {
  const fail = (error: number): JailSetResult => ({ error, jid: 0, pr: null });
  if (mypr.pr_state !== PRISON_STATE_ALIVE) return fail(EPERM);
  for (let p: Prison | null = mypr; p; p = p.pr_parent)
    if (p.pr_childcount >= p.pr_childmax) return fail(EPERM);
  if (params.vnet && !k.vimage) return fail(EINVAL);
  let jid = params.jid ?? 0;
  if (jid < 0 || jid > JAIL_MAX) return fail(EINVAL);
  if (jid !== 0 && k.jails.allprison.some((p) => p.pr_id === jid)) return fail(EEXIST);
  const name = params.name;
  if (name !== undefined) {
    if (name === '' || name.includes('.') || name === '*') return fail(EINVAL);
    if (/^[0-9]+$/.test(name) && (jid === 0 || Number(name) !== jid)) return fail(EINVAL);
    for (const c of mypr.pr_children)
      if (c.pr_state === PRISON_STATE_ALIVE && c.pr_name === name) return fail(EEXIST);
  }
  const cmax = params['children.max'] ?? 0;
  if (cmax < 0 || cmax > Math.max(0, mypr.pr_childmax - 1)) return fail(EINVAL);
  if (jid === 0) {
    jid = jid_alloc(k);
    if (jid < 0) return fail(EAGAIN);
  }
  let path = mypr.pr_path;
  if (params.path !== undefined) {
    const rel = params.path.replace(/^\/+/, '').replace(/\/+$/, '');
    path = rel === '' ? mypr.pr_path : (mypr.pr_path === '/' ? '' : mypr.pr_path) + '/' + rel;
  }
  const pr = new Prison(
    jid,
    name ?? String(jid),
    mypr,
    params['host.hostname'] ?? mypr.pr_hostname,
    path,
  );
  pr.pr_childmax = cmax;
  if (params.persist) pr.pr_flags |= PR_PERSIST;
  if (params['host.hostname'] !== undefined) pr.pr_flags |= PR_HOST;
  if (params.vnet) {
    pr.pr_flags |= PR_VNET;
    pr.pr_vnet = vnet_alloc();
  } else pr.pr_vnet = mypr.pr_vnet;
  mypr.pr_children.push(pr);
  for (let p: Prison | null = mypr; p; p = p.pr_parent) p.pr_childcount++;
  k.jails.allprison.push(pr);
  if (k.trace) k.trace.push(`jail_create ${jid} ${pr.pr_name}${params.vnet ? ' vnet' : ''}`);
  return { error: 0, jid, pr };
}

/** A process enters pr (proc creation, jail_attach). */
export function prison_proc_hold(pr: Prison): void {
  pr.pr_nprocs++;
}

/** A process of pr has exited; the last one may finish the jail. */
export function prison_proc_free(k: Kernel, pr: Prison): void {
  pr.pr_nprocs--;
  if (pr.pr_nprocs > 0 || pr === k.prison0) return;
  if (pr.pr_state === PRISON_STATE_DYING || !(pr.pr_flags & PR_PERSIST)) prison_deref_final(k, pr);
}

/** The jail is finished: sockets closed, vnet destroyed, off the lists. */
function prison_deref_final(k: Kernel, pr: Prison): void {
  if (pr.pr_state === PRISON_STATE_INVALID) return;
  // Child jails are removed before their parent is finished.
  for (const c of [...pr.pr_children]) prison_deref_final(k, c);
  pr.pr_state = PRISON_STATE_INVALID;
  // The jail's sockets were closed when its processes exited (fdescfree -> soclose);
  // sovnet_drain aborts any still held from outside so vnet_sockcnt is 0.  Loaned
  // interfaces go home with the network stack's vnet destructors.
  if (pr.pr_flags & PR_VNET && pr.pr_vnet !== null) {
    const v = pr.pr_vnet;
    const run = (): void => {
      sovnet_drain(v, k);
      vnet_destroy(v);
    };
    if (k.sched.running !== null) run();
    else k.enter(run);
  }
  const parent = pr.pr_parent;
  if (parent) {
    const i = parent.pr_children.indexOf(pr);
    if (i >= 0) parent.pr_children.splice(i, 1);
    for (let p: Prison | null = parent; p; p = p.pr_parent) p.pr_childcount--;
  }
  const j = k.jails.allprison.indexOf(pr);
  if (j >= 0) k.jails.allprison.splice(j, 1);
  if (k.trace) k.trace.push(`jail_removed ${pr.pr_id}`);
}

/**
 * prison_remove(): kill every process of pr and its children; the jail is finished
 * (vnet destroyed) when the last of them has exited — at once if there are none.
 */
export function prison_remove(k: Kernel, pr: Prison): number {
  if (pr === k.prison0 || pr.pr_state !== PRISON_STATE_ALIVE) return EINVAL;
  for (const c of [...pr.pr_children]) prison_remove(k, c);
  pr.pr_flags &= ~PR_PERSIST;
  pr.pr_state = PRISON_STATE_DYING;
  if (k.trace) k.trace.push(`jail_remove ${pr.pr_id}`);
  for (const p of [...k.allproc])
    if (p.p_ucred.cr_prison === pr && p.p_state === PRS_NORMAL) proc_kill(k, p);
  if (pr.pr_nprocs === 0) prison_deref_final(k, pr);
  return 0;
}

/** jail_remove(2) by a process in mypr: EINVAL for a jail it cannot see. */
export function kern_jail_remove(k: Kernel, mypr: Prison, jid: number): number {
  const pr = prison_find_child(k, mypr, jid);
  if (pr === null) return EINVAL;
  return prison_remove(k, pr);
}

/** jail_attach(2): move p into the jail jid (below its current one). */
export function kern_jail_attach(k: Kernel, p: Proc, jid: number): number {
  const mypr = p.p_ucred.cr_prison;
  const pr = prison_find_child(k, mypr, jid);
  if (pr === null) return EINVAL;
  p.p_ucred = { ...p.p_ucred, cr_prison: pr };
  prison_proc_hold(pr);
  prison_proc_free(k, mypr);
  for (const td of p.p_threads) td.td_vnet = k.vimage ? pr.pr_vnet : null;
  return 0;
}

/**
 * jexec: run main(td) as a new process inside the jail named or numbered `jail`, as
 * seen from mypr.  EINVAL if there is no such jail.
 */
export function jexec(
  k: Kernel,
  mypr: Prison,
  jail: number | string,
  name: string,
  main: ThreadMain,
  opts: ProcCreateOpts & { uid?: number } = {},
): { error: number; p: Proc | null } {
  const pr =
    typeof jail === 'number' ? prison_find_child(k, mypr, jail) : prison_find_name(k, mypr, jail);
  if (pr === null) return { error: EINVAL, p: null };
  const p = proc_create(k, name, { cr_uid: opts.uid ?? 0, cr_prison: pr }, main, opts);
  return { error: 0, p };
}

/** The prison of curthread. */
export function curprison(): Prison {
  return td_prison(curthread());
}
