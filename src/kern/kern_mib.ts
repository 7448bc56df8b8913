/*
 * kern/kern_mib.ts — the top of the sysctl tree: kern.*, hw.*, kern.features.*.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import {
  CTLFLAG_RD,
  CTLFLAG_PRISON,
  CTLFLAG_RW,
  CTLTYPE_INT,
  CTLTYPE_U64,
  SYSCTL_CONST_INT,
  SYSCTL_NODE,
  SYSCTL_OUT,
  SYSCTL_PROC,
  SYSCTL_STRING,
  type SysctlOidDecl,
} from '../sys/sysctl.js';
import { __vimage_version, MAXHOSTNAMELEN, OSRELEASE, OSTYPE } from '../sys/param.js';
import { PR_VNET, type Prison } from './kern_jail.js';
import { SI_ORDER_ANY, SI_SUB_KLD, SYSINIT } from '../sys/kernel.js';
import { curkernel, curthread_or_null } from './kern_cur.js';

export const K = new ObjFile('kern/kern_mib.ts', VIMAGEID('src/kern/kern_mib.ts'));

SYSCTL_NODE(K, 'kern', CTLFLAG_RW, 'High kernel, proc, limits &c', 1);
SYSCTL_NODE(K, 'vm', CTLFLAG_RW, 'Virtual memory', 2);
SYSCTL_NODE(K, 'net', CTLFLAG_RW, 'Network, (see socket.h)', 4);
SYSCTL_NODE(K, 'debug', CTLFLAG_RW, 'Debugging', 5);
SYSCTL_NODE(K, 'hw', CTLFLAG_RW, 'hardware', 6);
SYSCTL_NODE(K, 'security', CTLFLAG_RW, 'Security', 14);
SYSCTL_NODE(K, 'kern.features', CTLFLAG_RD, 'Kernel Features');

SYSCTL_STRING(K, 'kern.ostype', CTLFLAG_RD, { get: () => OSTYPE }, 'Operating system type');
SYSCTL_STRING(
  K,
  'kern.osrelease',
  CTLFLAG_RD,
  { get: () => OSRELEASE },
  'Operating system release',
);
SYSCTL_CONST_INT(K, 'kern.osreldate', CTLFLAG_RD, __vimage_version, 'Kernel release date');
SYSCTL_CONST_INT(K, 'kern.osrevision', CTLFLAG_RD, 199506, 'Operating system revision');
SYSCTL_STRING(
  K,
  'kern.version',
  CTLFLAG_RD,
  { get: () => `${OSTYPE} ${OSRELEASE} #0: ${curkernel().ident}\n` },
  'Kernel version',
);
SYSCTL_STRING(K, 'kern.ident', CTLFLAG_RD, { get: () => curkernel().ident }, 'Kernel identifier');
SYSCTL_PROC(
  K,
  'hw.ncpu',
  CTLTYPE_INT | CTLFLAG_RD,
  (_o, req) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, curkernel().mp_ncpus, true);
    return SYSCTL_OUT(req, b);
  },
  'I',
  'Number of active CPUs',
);
SYSCTL_STRING(
  K,
  'kern.module_path',
  CTLFLAG_RW,
  {
    get: () => curkernel().linker.module_path,
    set: (s) => {
      curkernel().linker.module_path = s;
      return 0;
    },
  },
  'module load search path',
  1024,
);
/** The prison of the calling thread (prison0 for the kernel itself). */
function callerPrison(): Prison {
  const td = curthread_or_null();
  return td ? td.td_proc.p_ucred.cr_prison : curkernel().prison0;
}

SYSCTL_STRING(
  K,
  'kern.hostname',
  CTLFLAG_RW | CTLFLAG_PRISON,
  {
    get: () => callerPrison().pr_hostname,
    set: (s) => {
      callerPrison().pr_hostname = s;
      return 0;
    },
  },
  'Hostname',
  MAXHOSTNAMELEN,
);

SYSCTL_NODE(K, 'security.jail', CTLFLAG_RW, 'Jails');
SYSCTL_PROC(
  K,
  'security.jail.jailed',
  CTLTYPE_INT | CTLFLAG_RD | CTLFLAG_PRISON,
  (_o, req) => intOut(req, callerPrison().pr_parent !== null ? 1 : 0),
  'I',
  'Process in jail?',
);
SYSCTL_PROC(
  K,
  'security.jail.vnet',
  CTLTYPE_INT | CTLFLAG_RD | CTLFLAG_PRISON,
  (_o, req) => {
    const pr = callerPrison();
    return intOut(req, pr.pr_parent !== null && pr.pr_flags & PR_VNET ? 1 : 0);
  },
  'I',
  'Jail owns vnet?',
);
SYSCTL_PROC(
  K,
  'security.jail.children.max',
  CTLTYPE_INT | CTLFLAG_RD | CTLFLAG_PRISON,
  (_o, req) => intOut(req, callerPrison().pr_childmax),
  'I',
  'Maximum number of child jails',
);
SYSCTL_PROC(
  K,
  'security.jail.children.cur',
  CTLTYPE_INT | CTLFLAG_RD | CTLFLAG_PRISON,
  (_o, req) => intOut(req, callerPrison().pr_children.length),
  'I',
  'Current number of child jails',
);

function intOut(req: Parameters<typeof SYSCTL_OUT>[0], v: number): number {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return SYSCTL_OUT(req, b);
}

/**
 * kern.vnet_self: the kernel address of the calling process's struct vnet (0 without
 * VIMAGE).  libkvm uses it to select the caller's vnet by default — where FreeBSD's
 * libkvm walks allproc through kernel memory (_kvm_vnet_selectpid), this kernel keeps
 * process structures out of kernel memory and answers directly.
 */
SYSCTL_PROC(
  K,
  'kern.vnet_self',
  CTLTYPE_U64 | CTLFLAG_RD | CTLFLAG_PRISON,
  (_o, req) => {
    const k = curkernel();
    const td = curthread_or_null();
    const v = k.vimage ? (td ? td.td_proc.p_ucred.cr_prison.pr_vnet : k.vnet0) : null;
    const b = new Uint8Array(8);
    const addr = v ? v.kva : 0;
    new DataView(b.buffer).setUint32(0, addr >>> 0, true);
    new DataView(b.buffer).setUint32(4, Math.floor(addr / 4294967296), true);
    return SYSCTL_OUT(req, b);
  },
  'QU',
  'Address of the struct vnet of the calling process (for libkvm)',
);

/**
 * FEATURE(name, descr): kern.features.<name> = 1, present only when the kernel has the
 * feature — `sysctl kern.features.vimage` prints 1 in a VIMAGE kernel and does not exist
 * otherwise, as in FreeBSD.  Registered at boot because both configurations share the
 * linked image.
 */
const FEATURES: readonly { name: string; descr: string; option: string }[] = [
  { name: 'vimage', descr: 'VIMAGE kernel virtualization', option: 'VIMAGE' },
  { name: 'inet', descr: 'Internet Protocol version 4', option: 'INET' },
  { name: 'kdb', descr: 'Kernel debugger support', option: 'KDB' },
  { name: 'ddb', descr: 'Kernel debugger', option: 'DDB' },
  {
    name: 'invariants',
    descr: 'Kernel compiled with INVARIANTS, may affect performance',
    option: 'INVARIANTS',
  },
  { name: 'bpf', descr: 'Berkeley Packet Filter', option: 'BPF' },
];

SYSINIT(K, 'feature_register', SI_SUB_KLD, SI_ORDER_ANY, () => {
  const k = curkernel();
  for (const f of FEATURES) {
    if (!k.conf.options.has(f.option)) continue;
    const decl: SysctlOidDecl = {
      name: `kern.features.${f.name}`,
      kind: CTLTYPE_INT,
      flags: CTLFLAG_RD,
      fmt: 'I',
      descr: f.descr,
      handler: null,
      arg1: { get: () => 1, set: () => {} },
      arg2: 0,
      number: -1,
    };
    k.sysctl.register(decl);
  }
});
