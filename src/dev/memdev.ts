/*
 * dev/memdev.ts — the memory devices: /dev/kmem (kernel virtual memory, as
 * sys/dev/mem/memdev.c) and /dev/null and /dev/zero (sys/dev/null/null.c).
 *
 * libkvm reads a live kernel through /dev/kmem: pread(fd, buf, len, offset) with the
 * offset a kernel virtual address, answered from the kernel's KVA map (kern_kva.ts);
 * any unmapped byte in the range is EFAULT, as a read of an unmapped kernel page is.
 * Opening it needs root in the host (prison0): a jailed process gets EPERM (FreeBSD's
 * memopen refuses with the PRIV_KMEM_READ privilege, which jails never hold) and a
 * non-root user EACCES (the node is 0640 root:kmem).  Writes are refused (EPERM).
 *
 * /dev/random and /dev/urandom read the kernel's seeded generator.
 *
 * /dev/null swallows writes and reads end-of-file; both accept FIONBIO/FIOASYNC (the
 * generic layer has already set the flag), which makes them the no-op ioctl target the
 * syscall benchmark uses.
 *
 * XXX: there is no devfs yet; devopen() is the whole name space of the open syscall.
 */

import { EACCES, EFAULT, ENOENT, ENOIOCTL, EPERM } from '../sys/errno.js';
import { FIOASYNC, FIONBIO, FIONREAD } from '../sys/sockio.js';
import { File, uiomove, type FileOps, type Uio } from '../kern/kern_descrip.js';
import type { Kernel } from '../kern/kernel.js';
import type { Thread } from '../sys/proc.js';
import { bpf_open } from '../net/bpf.js';

/** The largest single kmem transfer (MAXPHYS-like; larger reads are split by libkvm). */
export const KMEM_MAXIO = 1 << 20;

function generic_ioctl(com: number, data: Uint8Array): number {
  if (com === FIONBIO || com === FIOASYNC) return 0;
  if (com === FIONREAD) {
    data.fill(0, 0, 4);
    return 0;
  }
  return ENOIOCTL;
}

export const kmem_ops: FileOps = {
  fo_type: 'kmem',
  fo_read(fp: File, uio: Uio): number {
    const k = fp.f_data as Kernel;
    const len = Math.min(uio.uio_resid, KMEM_MAXIO);
    if (len === 0) return 0;
    const b = k.kva.read(uio.uio_offset, len);
    if (b === null) return EFAULT;
    uiomove(b, uio);
    return 0;
  },
  fo_write(): number {
    return EPERM;
  },
  fo_ioctl(_fp: File, com: number, data: Uint8Array): number {
    return generic_ioctl(com, data);
  },
};

export const null_ops: FileOps = {
  fo_type: 'null',
  fo_read(): number {
    return 0;
  },
  fo_write(_fp: File, uio: Uio): number {
    uio.uio_offset += uio.uio_resid;
    uio.uio_resid = 0;
    return 0;
  },
  fo_ioctl(_fp: File, com: number, data: Uint8Array): number {
    return generic_ioctl(com, data);
  },
};

export const zero_ops: FileOps = {
  fo_type: 'zero',
  fo_read(_fp: File, uio: Uio): number {
    uiomove(new Uint8Array(uio.uio_resid), uio);
    return 0;
  },
  fo_write: null_ops.fo_write!,
  fo_ioctl: null_ops.fo_ioctl!,
};

/**
 * /dev/random and /dev/urandom (sys/dev/random): bytes from the kernel's seeded
 * generator (kern/subr_random.ts), so a run with the same seed reads the same bytes.
 * Writes are accepted and ignored (FreeBSD mixes them into the entropy pool).
 */
export const random_ops: FileOps = {
  fo_type: 'random',
  fo_read(fp: File, uio: Uio): number {
    const k = fp.f_data as Kernel;
    const b = new Uint8Array(Math.min(uio.uio_resid, KMEM_MAXIO));
    k.rng.fill(b);
    uiomove(b, uio);
    return 0;
  },
  fo_write: null_ops.fo_write!,
  fo_ioctl: null_ops.fo_ioctl!,
};

/**
 * Look a device up by path and make an open file for it, or return an errno.
 * fflags are FFLAGS(open flags) (FREAD/FWRITE ...).
 */
export function devopen(k: Kernel, td: Thread, path: string, fflags: number): File | number {
  switch (path) {
    case '/dev/kmem': {
      const cr = td.td_proc.p_ucred;
      if (cr.cr_prison !== k.prison0) return EPERM;
      if (cr.cr_uid !== 0) return EACCES;
      return new File(kmem_ops, k, fflags);
    }
    case '/dev/null':
      return new File(null_ops, null, fflags);
    case '/dev/zero':
      return new File(zero_ops, null, fflags);
    case '/dev/random':
    case '/dev/urandom':
      return new File(random_ops, k, fflags);
    default:
      // bpf(4): /dev/bpf clones a descriptor; /dev/bpfN are the same here.
      if (/^\/dev\/bpf[0-9]*$/.test(path)) return bpf_open(k, td, fflags);
      return ENOENT;
  }
}
