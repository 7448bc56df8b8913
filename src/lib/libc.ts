/*
 * lib/libc.ts — the C library's system call side, for userland programs.
 *
 * A Libc is bound to one user thread.  Every call goes through syscallenter — the only
 * way into the kernel — with the argument registers a C program would pass: integers
 * and user addresses.  Buffers a TypeScript caller hands over (ioctl structures, sysctl
 * old/new values, path names) are "bounced" through the process's user memory
 * (vm/vm_map.ts): mapped for the call, copied in, and copied back afterwards, so the
 * kernel sees exactly what it would see from C — a pointer it must copyin/copyout, and
 * EFAULT when the buffer is shorter than the length it was told.  Programs that build
 * structures holding pointers (struct ifconf's ifc_buf) allocate user memory with
 * malloc() and pass addresses.
 *
 * Like C: each call returns -1 and sets errno on failure (errno is per thread:
 * td.td_errno), and a result (fd, pid, file id) on success; errno is not cleared on
 * success.  sysctlbyname() is FreeBSD's libc algorithm: name2oid ({0,3}) with the name
 * as the new value, then sysctl() on the MIB.
 *
 * kvm() returns the backend libkvm (lib/libkvm.ts) needs: kldsym, reads of /dev/kmem
 * with pread, and kern.vnet_self.
 */

import { strerror as errstr } from '../sys/errno.js';
import { CTL_MAXNAME } from '../sys/sysctl.js';
import type { Thread } from '../sys/proc.js';
import type { Kernel } from '../kern/kernel.js';
import { syscallenter } from '../kern/kern_syscall.js';
import {
  SYS___sysctl,
  SYS_close,
  SYS_dup,
  SYS_fcntl,
  SYS_getpid,
  SYS_getppid,
  SYS_getuid,
  SYS_ioctl,
  SYS_kldfind,
  SYS_kldload,
  SYS_kldnext,
  SYS_kldstat,
  SYS_kldsym,
  SYS_kldunload,
  SYS_lseek,
  SYS_open,
  SYS_pread,
  SYS_pwrite,
  SYS_read,
  SYS_write,
} from '../sys/sysent.js';
import { vmspace, type VmMap } from '../vm/vm_map.js';
import { KLDSYM_LOOKUP, kld_file_stat, kld_sym_lookup } from '../kern/kern_kld_syscalls.js';
import { O_RDONLY } from '../sys/fcntl.js';
import { MAXPATHLEN } from '../sys/param.js';
import { IOCPARM_MAX } from '../sys/ioccom.js';

/** Size of the per-Libc bounce mapping (the largest ioctl argument). */
const SCRATCH_SIZE = IOCPARM_MAX;

/** A decoded struct kld_file_stat. */
export interface KldFileStat {
  version: number;
  name: string;
  refs: number;
  id: number;
  address: number;
  size: number;
  pathname: string;
}

/** struct kld_sym_lookup as the caller fills it (version defaults to 32). */
export interface KldSymLookup {
  version?: number;
  symname: string;
  symvalue: number;
  symsize: number;
}

/** A size_t in/out argument (oldlenp): a one-element array. */
export type SizeP = [number];

function rd64(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 4294967296;
}

function wr64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v >>> 0, true);
  dv.setUint32(off + 4, Math.floor(v / 4294967296) >>> 0, true);
}

function cstr(b: Uint8Array): string {
  const n = b.indexOf(0);
  return new TextDecoder().decode(n >= 0 ? b.subarray(0, n) : b);
}

export class Libc {
  private readonly vm: VmMap;
  private kmemfd = -1;
  /**
   * One reusable bounce mapping for the common small buffer: data is placed flush
   * against the end of the mapping, so a kernel access past data.length still faults.
   * Nested or concurrent calls on the same Libc fall back to a fresh mapping.
   */
  private scratch: { addr: number; buf: Uint8Array } | null = null;
  private scratchBusy = false;

  constructor(
    readonly k: Kernel,
    readonly td: Thread,
  ) {
    this.vm = vmspace(td.td_proc);
  }

  /** errno(2): the thread's last error. */
  get errno(): number {
    return this.td.td_errno;
  }
  set errno(e: number) {
    this.td.td_errno = e;
  }

  /** strerror(3). */
  strerror(e: number = this.td.td_errno): string {
    return errstr(e);
  }

  /* ---------------------------------------------------------------------------- */
  /* Memory.                                                                       */

  /** Allocate zeroed user memory: the address to pass to the kernel and a view. */
  malloc(len: number): { addr: number; buf: Uint8Array } | null {
    const r = this.vm.mmap(Math.max(len, 0));
    if (typeof r === 'number') {
      this.errno = r;
      return null;
    }
    return r;
  }

  free(addr: number): void {
    if (addr !== 0) this.vm.munmap(addr);
  }

  /** A user copy of bytes (exactly data.length long, unmapped memory after it). */
  private bounce(data: Uint8Array): number {
    const n = data.length;
    if (!this.scratchBusy && n <= SCRATCH_SIZE) {
      if (this.scratch === null)
        this.scratch = this.vm.mmap(SCRATCH_SIZE) as { addr: number; buf: Uint8Array };
      this.scratchBusy = true;
      const addr = this.scratch.addr + SCRATCH_SIZE - n;
      this.vm.write(data, addr);
      return addr;
    }
    const m = this.vm.mmap(n) as { addr: number; buf: Uint8Array };
    m.buf.set(data);
    return m.addr;
  }

  /** Release a bounce buffer (scratch or its own mapping). */
  private release(addr: number): void {
    const sc = this.scratch;
    if (sc !== null && addr >= sc.addr && addr <= sc.addr + SCRATCH_SIZE) {
      this.scratchBusy = false;
      return;
    }
    this.vm.munmap(addr);
  }

  private bounceStr(s: string): number {
    const b = new TextEncoder().encode(s);
    const m = this.vm.mmap(b.length + 1) as { addr: number; buf: Uint8Array };
    m.buf.set(b);
    return m.addr;
  }

  /** Copy a bounce buffer back and unmap it. */
  private unbounce(addr: number, data: Uint8Array | null): void {
    if (data !== null && data.length > 0) this.vm.read(addr, data);
    this.release(addr);
  }

  /** syscall(2): raw entry; returns td_retval[0] or -1 with errno set. */
  async syscall(code: number, ...args: number[]): Promise<number> {
    const r = await syscallenter(this.k, this.td, code, args);
    return r.error === 0 ? r.retval : -1;
  }

  /* ---------------------------------------------------------------------------- */
  /* Descriptors.                                                                  */

  async open(path: string, flags: number = O_RDONLY, mode = 0): Promise<number> {
    const up = this.bounceStr(path);
    try {
      return await this.syscall(SYS_open, up, flags, mode);
    } finally {
      this.vm.munmap(up);
    }
  }

  async close(fd: number): Promise<number> {
    return this.syscall(SYS_close, fd);
  }

  async dup(fd: number): Promise<number> {
    return this.syscall(SYS_dup, fd);
  }

  /** read(2) into buf (nbyte defaults to buf.length). */
  async read(fd: number, buf: Uint8Array, nbyte = buf.length): Promise<number> {
    const ua = this.bounce(buf);
    try {
      return await this.syscall(SYS_read, fd, ua, nbyte);
    } finally {
      this.unbounce(ua, buf);
    }
  }

  async pread(fd: number, buf: Uint8Array, nbyte: number, offset: number): Promise<number> {
    const ua = this.bounce(buf);
    try {
      return await this.syscall(SYS_pread, fd, ua, nbyte, offset);
    } finally {
      this.unbounce(ua, buf);
    }
  }

  async write(fd: number, buf: Uint8Array, nbyte = buf.length): Promise<number> {
    const ua = this.bounce(buf);
    try {
      return await this.syscall(SYS_write, fd, ua, nbyte);
    } finally {
      this.release(ua);
    }
  }

  async pwrite(fd: number, buf: Uint8Array, nbyte: number, offset: number): Promise<number> {
    const ua = this.bounce(buf);
    try {
      return await this.syscall(SYS_pwrite, fd, ua, nbyte, offset);
    } finally {
      this.release(ua);
    }
  }

  async lseek(fd: number, offset: number, whence: number): Promise<number> {
    return this.syscall(SYS_lseek, fd, offset, whence);
  }

  async fcntl(fd: number, cmd: number, arg = 0): Promise<number> {
    return this.syscall(SYS_fcntl, fd, cmd, arg);
  }

  /**
   * ioctl(2).  data is a buffer (bounced through user memory: copied in, and copied back
   * after the call) or the raw argument word — an int passed by value (_IOWINT) or a
   * user address from malloc().
   */
  async ioctl(fd: number, cmd: number, data: Uint8Array | number = 0): Promise<number> {
    if (typeof data === 'number') return this.syscall(SYS_ioctl, fd, cmd, data);
    const ua = this.bounce(data);
    try {
      return await this.syscall(SYS_ioctl, fd, cmd, ua);
    } finally {
      this.unbounce(ua, data);
    }
  }

  /* ---------------------------------------------------------------------------- */
  /* Processes.                                                                    */

  async getpid(): Promise<number> {
    return this.syscall(SYS_getpid);
  }

  async getppid(): Promise<number> {
    return this.syscall(SYS_getppid);
  }

  async getuid(): Promise<number> {
    return this.syscall(SYS_getuid);
  }

  /* ---------------------------------------------------------------------------- */
  /* sysctl(3).                                                                    */

  /**
   * sysctl(name, namelen, oldp, oldlenp, newp, newlen).  oldlenp[0] is the size of
   * oldp on entry and the produced length on return; oldp null with oldlenp is a size
   * query.
   */
  async sysctl(
    mib: readonly number[],
    oldp: Uint8Array | null = null,
    oldlenp: SizeP | null = null,
    newp: Uint8Array | null = null,
  ): Promise<number> {
    const nb = new Uint8Array(mib.length * 4);
    const ndv = new DataView(nb.buffer);
    mib.forEach((x, i) => ndv.setInt32(i * 4, x, true));
    const uname = this.bounce(nb);
    const uold = oldp !== null ? this.bounce(oldp) : 0;
    let ulenp = 0;
    if (oldlenp !== null) {
      const lb = new Uint8Array(8);
      wr64(new DataView(lb.buffer), 0, oldlenp[0]);
      ulenp = this.bounce(lb);
    }
    const unew = newp !== null ? this.bounce(newp) : 0;
    try {
      return await this.syscall(
        SYS___sysctl,
        uname,
        mib.length,
        uold,
        ulenp,
        unew,
        newp !== null ? newp.length : 0,
      );
    } finally {
      this.release(uname);
      if (uold !== 0) this.unbounce(uold, oldp);
      if (ulenp !== 0) {
        const lb = new Uint8Array(8);
        this.unbounce(ulenp, lb);
        oldlenp![0] = rd64(new DataView(lb.buffer), 0);
      }
      if (unew !== 0) this.release(unew);
    }
  }

  /** sysctlnametomib(3): fills mibp (up to sizep[0] entries); sizep[0] = the length. */
  async sysctlnametomib(name: string, mibp: number[], sizep: SizeP): Promise<number> {
    const oid = new Uint8Array(CTL_MAXNAME * 4);
    const len: SizeP = [oid.length];
    const r = await this.sysctl([0, 3], oid, len, new TextEncoder().encode(name));
    if (r < 0) return r;
    const n = Math.min(len[0] / 4, sizep[0]);
    const dv = new DataView(oid.buffer);
    mibp.length = 0;
    for (let i = 0; i < n; i++) mibp.push(dv.getInt32(i * 4, true));
    sizep[0] = n;
    return 0;
  }

  /** sysctlbyname(3). */
  async sysctlbyname(
    name: string,
    oldp: Uint8Array | null = null,
    oldlenp: SizeP | null = null,
    newp: Uint8Array | null = null,
  ): Promise<number> {
    const mib: number[] = [];
    const sz: SizeP = [CTL_MAXNAME];
    if ((await this.sysctlnametomib(name, mib, sz)) < 0) return -1;
    return this.sysctl(mib, oldp, oldlenp, newp);
  }

  /** Convenience: an integer node's value (int, u_int, long, u64 by size), or null. */
  async sysctlbyname_num(name: string): Promise<number | null> {
    const b = new Uint8Array(8);
    const len: SizeP = [8];
    if ((await this.sysctlbyname(name, b, len)) < 0) return null;
    const dv = new DataView(b.buffer);
    if (len[0] === 4) return dv.getInt32(0, true);
    if (len[0] === 8) return rd64(dv, 0);
    if (len[0] === 2) return dv.getUint16(0, true);
    if (len[0] === 1) return dv.getUint8(0);
    return null;
  }

  /** Convenience: a string node's value (size query, then fetch), or null. */
  async sysctlbyname_str(name: string): Promise<string | null> {
    const len: SizeP = [0];
    if ((await this.sysctlbyname(name, null, len)) < 0) return null;
    const b = new Uint8Array(len[0]);
    if ((await this.sysctlbyname(name, b, len)) < 0) return null;
    return cstr(b.subarray(0, len[0]));
  }

  /* ---------------------------------------------------------------------------- */
  /* kld(2).                                                                       */

  async kldload(file: string): Promise<number> {
    const up = this.bounceStr(file);
    try {
      return await this.syscall(SYS_kldload, up);
    } finally {
      this.vm.munmap(up);
    }
  }

  async kldunload(fileid: number): Promise<number> {
    return this.syscall(SYS_kldunload, fileid);
  }

  async kldfind(file: string): Promise<number> {
    const up = this.bounceStr(file);
    try {
      return await this.syscall(SYS_kldfind, up);
    } finally {
      this.vm.munmap(up);
    }
  }

  async kldnext(fileid: number): Promise<number> {
    return this.syscall(SYS_kldnext, fileid);
  }

  /** kldstat(2): fills stat (version defaults to sizeof(struct kld_file_stat)). */
  async kldstat(fileid: number, stat: KldFileStat): Promise<number> {
    const b = new Uint8Array(kld_file_stat.size);
    const dv = new DataView(b.buffer);
    dv.setInt32(0, stat.version || kld_file_stat.size, true);
    const ua = this.bounce(b);
    let r: number;
    try {
      r = await this.syscall(SYS_kldstat, fileid, ua);
    } finally {
      this.unbounce(ua, b);
    }
    if (r < 0) return r;
    const L = kld_file_stat.byName;
    const o = (n: string): number => L.get(n)!.offset;
    stat.version = dv.getInt32(0, true);
    stat.name = cstr(b.subarray(o('name'), o('name') + MAXPATHLEN));
    stat.refs = dv.getInt32(o('refs'), true);
    stat.id = dv.getInt32(o('id'), true);
    stat.address = rd64(dv, o('address'));
    stat.size = rd64(dv, o('size'));
    stat.pathname =
      stat.version >= kld_file_stat.size
        ? cstr(b.subarray(o('pathname'), o('pathname') + MAXPATHLEN))
        : '';
    return 0;
  }

  /** kldsym(2) with KLDSYM_LOOKUP by default; fills symvalue and symsize. */
  async kldsym(fileid: number, cmd: number, lookup: KldSymLookup): Promise<number> {
    const b = new Uint8Array(kld_sym_lookup.size);
    const dv = new DataView(b.buffer);
    const uname = this.bounceStr(lookup.symname);
    dv.setInt32(0, lookup.version ?? kld_sym_lookup.size, true);
    wr64(dv, 8, uname);
    wr64(dv, 16, lookup.symvalue);
    wr64(dv, 24, lookup.symsize);
    const ua = this.bounce(b);
    let r: number;
    try {
      r = await this.syscall(SYS_kldsym, fileid, cmd, ua);
    } finally {
      this.unbounce(ua, b);
      this.vm.munmap(uname);
    }
    if (r < 0) return r;
    lookup.symvalue = rd64(dv, 16);
    lookup.symsize = rd64(dv, 24);
    return 0;
  }

  /* ---------------------------------------------------------------------------- */
  /* libkvm's way into the kernel.                                                  */

  kvm(): {
    kldsym(name: string): Promise<{ error: number; value: number; size: number }>;
    kread(addr: number, len: number): Promise<Uint8Array | number>;
    curvnet(): Promise<number>;
  } {
    return {
      kldsym: async (name) => {
        const l: KldSymLookup = { symname: name, symvalue: 0, symsize: 0 };
        const r = await this.kldsym(0, KLDSYM_LOOKUP, l);
        return { error: r < 0 ? this.errno : 0, value: l.symvalue, size: l.symsize };
      },
      kread: async (addr, len) => {
        if (this.kmemfd < 0) {
          const fd = await this.open('/dev/kmem', O_RDONLY);
          if (fd < 0) return this.errno;
          this.kmemfd = fd;
        }
        const b = new Uint8Array(len);
        const n = await this.pread(this.kmemfd, b, len, addr);
        return n < 0 ? this.errno : b.subarray(0, n);
      },
      curvnet: async () => (await this.sysctlbyname_num('kern.vnet_self')) ?? 0,
    };
  }
}

/** A zeroed KldFileStat for kldstat(). */
export function kld_file_stat_new(): KldFileStat {
  return {
    version: kld_file_stat.size,
    name: '',
    refs: 0,
    id: 0,
    address: 0,
    size: 0,
    pathname: '',
  };
}
