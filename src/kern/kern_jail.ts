/*
 * kern/kern_jail.ts — prisons (jails).  prison0 is the host and owns vnet0.
 *
 * XXX: only what the kernel foundation needs so far (prison0, names, ids, the vnet
 * pointer); jail creation and removal, visibility and jexec come with the runtime.
 */

import type { Vnet } from '../net/vnet.js';

export const PR_VNET = 0x00000010; /* virtual network stack */
export const PR_PERSIST = 0x00000001;

export class Prison {
  pr_flags = 0;
  pr_vnet: Vnet | null = null;
  pr_hostname: string;
  pr_path: string;
  readonly pr_children: Prison[] = [];
  pr_ref = 1;

  constructor(
    readonly pr_id: number,
    public pr_name: string,
    readonly pr_parent: Prison | null,
    hostname = '',
    path = '/',
  ) {
    this.pr_hostname = hostname;
    this.pr_path = path;
  }
}
