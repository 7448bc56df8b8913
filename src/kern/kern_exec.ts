/*
 * kern/kern_exec.ts — program images and process creation (posix_spawn).
 *
 * A program here is an async JavaScript function, not an ELF file, so the image
 * activator's table (execsw) maps a path (`/bin/cat`) to an entry point: the host
 * installs the programs at boot (bin/programs.ts: the contents of /bin, /sbin,
 * /usr/bin), as a file system would hold binaries.  An entry receives its thread and
 * its argument and environment strings — what execve copies onto the new stack — and
 * its C runtime (lib/process.ts crt0) binds a Libc to the thread; the value it returns
 * is the exit status.
 *
 * Process creation is posix_spawn(3): FreeBSD's libc builds it from vfork(2)+execve(2),
 * which needs a copy of the caller's continuation that a JavaScript function cannot
 * make, so here it is one system call:
 *
 *   vimage_spawn(path, argv, envp, fdmap, nfd)  →  pid
 *
 * argv and envp are NULL-terminated arrays of string pointers in user memory, as
 * execve's; fdmap is an array of nfd ints: the child's descriptor i is a copy of the
 * parent's fdmap[i] (-1: closed) — the effect of posix_spawn_file_actions_adddup2 with
 * every other descriptor closed.  The child is in the caller's jail, with its working
 * directory and credential, and is the caller's child (wait4 reaps it).  ENOENT when no
 * image has that path, EBADF for a bad descriptor in fdmap, E2BIG for too many strings.
 *
 * The number (SYS_vimage_spawn, 700) is above FreeBSD's table on purpose: it is not a
 * FreeBSD system call.
 */

import { E2BIG, EBADF, EFAULT, EINVAL, ENOENT } from '../sys/errno.js';
import { MAXPATHLEN } from '../sys/param.js';
import type { Proc, Thread, Ucred } from '../sys/proc.js';
import { copyin, copyinstr, fuword64 } from '../vm/vm_map.js';
import { curkernel } from './kern_cur.js';
import type { File } from './kern_descrip.js';
import { proc_create } from './kern_proc.js';
import { fget } from './sys_generic.js';
import type { Kernel } from './kernel.js';
import { vfs_normalize } from './vfs_host.js';

/** A program's entry point: returns its exit status. */
export type ExecImage = (
  k: Kernel,
  td: Thread,
  argv: readonly string[],
  envp: readonly string[],
) => Promise<number>;

/** Limits on what a spawn copies in (ARG_MAX-like). */
export const SPAWN_MAXARGS = 4096;
export const SPAWN_MAXFDS = 1024;

declare module './kernel.js' {
  interface Kernel {
    /** The image activator's table: path → entry (kern/kern_exec.ts). */
    k_execsw?: Map<string, ExecImage>;
  }
}

/** Install a program at path (host side, like placing a binary in /bin). */
export function exec_register(k: Kernel, path: string, img: ExecImage): void {
  if (k.k_execsw === undefined) k.k_execsw = new Map();
  k.k_execsw.set(vfs_normalize('/', path), img);
}

/** The image at path (resolved against cwd), or undefined. */
export function exec_lookup(k: Kernel, cwd: string, path: string): ExecImage | undefined {
  return k.k_execsw?.get(vfs_normalize(cwd, path));
}

/** The installed program paths, sorted. */
export function exec_list(k: Kernel): string[] {
  return [...(k.k_execsw?.keys() ?? [])].sort();
}

/**
 * kern_spawn: a new process running the image at path with files[i] as descriptor i
 * (null: none).  Each file gains a reference.  Returns the process or an errno.
 */
export function kern_spawn(
  k: Kernel,
  parent: Proc,
  cred: Ucred,
  path: string,
  argv: readonly string[],
  envp: readonly string[],
  files: readonly (File | null)[],
): Proc | number {
  const img = exec_lookup(k, parent.p_cwd, path);
  if (img === undefined) return ENOENT;
  const name = (argv[0] ?? path).split('/').pop() || path;
  const a = [...argv];
  const e = [...envp];
  const p = proc_create(k, name.slice(0, 19), cred, (td) => img(k, td, a, e), { parent });
  p.p_cwd = parent.p_cwd;
  const fdp = p.p_fd!;
  files.forEach((fp, i) => {
    if (fp === null) return;
    fp.f_count++;
    fdp.fd_ofiles[i] = { fde_file: fp, fde_flags: 0 };
  });
  return p;
}

/** Copy in a NULL-terminated array of string pointers. */
function copyin_strv(p: Proc, uaddr: number): string[] | number {
  const out: string[] = [];
  if (uaddr === 0) return out;
  for (let i = 0; ; i++) {
    if (i >= SPAWN_MAXARGS) return E2BIG;
    const sp = fuword64(p, uaddr + i * 8);
    if (sp === null) return EFAULT;
    if (sp === 0) return out;
    const s = copyinstr(p, sp, 65536);
    if (typeof s === 'number') return s;
    out.push(s);
  }
}

/** vimage_spawn(path, argv, envp, fdmap, nfd). */
export function sys_vimage_spawn(td: Thread, args: readonly number[]): number {
  const [upath = 0, uargv = 0, uenvp = 0, ufdmap = 0, nfd = 0] = args;
  const p = td.td_proc;
  const path = copyinstr(p, upath, MAXPATHLEN);
  if (typeof path === 'number') return path;
  const argv = copyin_strv(p, uargv);
  if (typeof argv === 'number') return argv;
  const envp = copyin_strv(p, uenvp);
  if (typeof envp === 'number') return envp;
  if (!Number.isInteger(nfd) || nfd < 0 || nfd > SPAWN_MAXFDS) return EINVAL;
  const fb = copyin(p, ufdmap, nfd * 4);
  if (typeof fb === 'number') return fb;
  const dv = new DataView(fb.buffer, fb.byteOffset, fb.byteLength);
  const files: (File | null)[] = [];
  for (let i = 0; i < nfd; i++) {
    const fd = dv.getInt32(i * 4, true);
    if (fd < 0) {
      files.push(null);
      continue;
    }
    const ent = fget(td, fd);
    if (ent === undefined) return EBADF;
    files.push(ent.fde_file);
  }
  const r = kern_spawn(curkernel(), p, p.p_ucred, path, argv, envp, files);
  if (typeof r === 'number') return r;
  td.td_retval[0] = r.p_pid;
  return 0;
}
