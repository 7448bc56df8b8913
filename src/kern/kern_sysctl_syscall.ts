/*
 * kern/kern_sysctl_syscall.ts — __sysctl(2): the user side of the sysctl tree
 * (sys___sysctl / userland_sysctl in sys/kern/kern_sysctl.c).
 *
 *   __sysctl(name, namelen, old, oldlenp, new, newlen)
 *
 * name is a user array of namelen ints (2 ≤ namelen ≤ CTL_MAXNAME, else EINVAL).
 * oldlenp points at a size_t: on entry the size of the old buffer, on return the
 * number of bytes the node produced.  With old == NULL the call is a size query: the
 * handler runs without a buffer and *oldlenp says how much it would have written.  A
 * buffer that is too short is filled as far as it goes and the call fails with ENOMEM,
 * *oldlenp then being the bytes actually copied.  *oldlenp is written back only on
 * success or ENOMEM, as FreeBSD does.  The old and new user ranges are checked up front
 * (EFAULT), as useracc() does.
 *
 * The meta nodes {0, ...} (name, next, name2oid, oidfmt, oiddescr) are served by
 * kern_sysctl.ts's sysctl_meta.  A CTLFLAG_VNET node runs with curvnet set to the vnet
 * of the caller's prison (td_proc.p_ucred.cr_prison.pr_vnet).  Writes need root
 * (PRIV_SYSCTL_WRITE) unless the node is CTLFLAG_ANYBODY; a jailed caller may write
 * only CTLFLAG_PRISON and CTLFLAG_VNET nodes (EPERM otherwise; kern_sysctl.ts).
 *
 * XXX: MIB components past a handler node (kern.proc.pid.N style) are resolved but not
 * yet handed to the handler (struct sysctl_req has no slot for them here).
 */

import { EFAULT, EINVAL, ENOENT, ENOMEM, EPERM } from '../sys/errno.js';
import { CTL_MAXNAME, CTL_SYSCTL, CTLFLAG_ANYBODY, type SysctlReq } from '../sys/sysctl.js';
import type { Thread } from '../sys/proc.js';
import { copyin, copyout, fuword64, suword64, vmspace } from '../vm/vm_map.js';
import { sysctl_meta, type SysctlCtx } from './kern_sysctl.js';
import { curkernel } from './kern_cur.js';
import type { Kernel } from './kernel.js';
import type { Vnet } from '../net/vnet.js';

/** The sysctl context (vnet, jailed) of a calling thread. */
export function sysctl_ctx(k: Kernel, td: Thread): SysctlCtx {
  const pr = td.td_proc.p_ucred.cr_prison;
  const vnet: Vnet | null = k.vimage ? (pr.pr_vnet ?? k.vnet0) : null;
  return { vnet, jailed: pr !== k.prison0 };
}

/**
 * kernel_sysctl / userland_sysctl core over kernel buffers: run one request.  Returns
 * the errno and the byte count the node produced (oldidx).
 */
export function kern_sysctl(
  k: Kernel,
  td: Thread,
  mib: readonly number[],
  oldbuf: Uint8Array | null,
  newbuf: Uint8Array | null,
): { error: number; oldidx: number } {
  const tree = k.sysctl;
  const req: SysctlReq = { oldptr: oldbuf, oldidx: 0, newptr: newbuf, arg1: null, arg2: 0 };
  if (mib[0] === CTL_SYSCTL) {
    const error = sysctl_meta(tree, mib, req, () => true);
    return { error, oldidx: req.oldidx };
  }
  const r = tree.lookupMib(mib);
  if (r === null) return { error: ENOENT, oldidx: 0 };
  const d = r.oid.decl;
  if (
    newbuf !== null &&
    td.td_proc.p_ucred.cr_uid !== 0 &&
    d !== null &&
    (d.flags & CTLFLAG_ANYBODY) === 0
  )
    return { error: EPERM, oldidx: 0 };
  const hreq: SysctlReq =
    d !== null ? { oldptr: oldbuf, oldidx: 0, newptr: newbuf, arg1: d.arg1, arg2: d.arg2 } : req;
  const error = tree.handle(r.oid, hreq, sysctl_ctx(k, td), (c) => c.vnet);
  return { error, oldidx: hreq.oldidx };
}

/** __sysctl(name, namelen, old, oldlenp, new, newlen). */
export function sys___sysctl(td: Thread, args: readonly number[]): number {
  const [uname = 0, namelen = 0, uold = 0, uoldlenp = 0, unew = 0, newlen = 0] = args;
  if (!Number.isInteger(namelen) || namelen > CTL_MAXNAME || namelen < 2) return EINVAL;
  const p = td.td_proc;
  const nb = copyin(p, uname, namelen * 4);
  if (typeof nb === 'number') return nb;
  const ndv = new DataView(nb.buffer, nb.byteOffset, nb.byteLength);
  const mib: number[] = [];
  for (let i = 0; i < namelen; i++) mib.push(ndv.getInt32(i * 4, true));

  let oldlen = 0;
  if (uoldlenp !== 0) {
    const v = fuword64(p, uoldlenp);
    if (v === null) return EFAULT;
    oldlen = v;
  }
  let oldbuf: Uint8Array | null = null;
  if (uold !== 0) {
    if (oldlen > 0 && vmspace(p).resolve(uold, oldlen) === null) return EFAULT;
    oldbuf = new Uint8Array(oldlen);
  }
  let newbuf: Uint8Array | null = null;
  if (unew !== 0) {
    const b = copyin(p, unew, newlen);
    if (typeof b === 'number') return b;
    newbuf = b;
  }

  const k = curkernel();
  const { error, oldidx } = kern_sysctl(k, td, mib, oldbuf, newbuf);
  if (error !== 0 && error !== ENOMEM) return error;
  let retlen = oldidx;
  if (oldbuf !== null) {
    const n = Math.min(oldidx, oldlen);
    if (oldidx > oldlen) retlen = oldlen;
    const ce = copyout(p, oldbuf.subarray(0, n), uold);
    if (ce !== 0) return ce;
  }
  if (uoldlenp !== 0) {
    const se = suword64(p, uoldlenp, retlen);
    if (se !== 0) return se;
  }
  td.td_retval[0] = 0;
  return error;
}
