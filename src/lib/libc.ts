/*
 * lib/libc.ts — the C library's system call side, for userland programs.
 *
 * A Libc is bound to one user thread.  Every call goes through syscallenter — the only
 * way into the kernel — with the argument registers a C program would pass: integers
 * and user addresses.  Buffers a TypeScript caller hands over (ioctl structures, sysctl
 * old/new values, path names, send and receive buffers) are "bounced" through the
 * process's user memory (vm/vm_map.ts): copied into a mapping for the call (a reusable
 * slot, ending where a guard page starts) and copied back afterwards, so the kernel sees
 * exactly what it would see from C — a pointer it must copyin/copyout, and EFAULT when
 * the buffer is shorter than the length it was told.  Programs that build
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

import { ENOMEM, strerror as errstr } from '../sys/errno.js';
import { CTL_MAXNAME } from '../sys/sysctl.js';
import type { Thread } from '../sys/proc.js';
import type { Kernel } from '../kern/kernel.js';
import { syscallenter, type SyscallResult } from '../kern/kern_syscall.js';
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
import { VM_MIN_ADDRESS, vmspace, type VmMap } from '../vm/vm_map.js';
import { KLDSYM_LOOKUP, kld_file_stat, kld_sym_lookup } from '../kern/kern_kld_syscalls.js';
import { O_RDONLY } from '../sys/fcntl.js';
import { MAXPATHLEN } from '../sys/param.js';
import { IOCPARM_MAX } from '../sys/ioccom.js';

import {
  SYS_accept,
  SYS_accept4,
  SYS_bind,
  SYS_connect,
  SYS_getpeername,
  SYS_getsockname,
  SYS_getsockopt,
  SYS_listen,
  SYS_poll as SYS_poll_,
  SYS_recvfrom,
  SYS_recvmsg,
  SYS_sendmsg,
  SYS_sendto,
  SYS_setsockopt,
  SYS_shutdown,
  SYS_socket as SYS_socket_,
  SYS_socketpair,
} from '../kern/uipc_syscalls.js';
import { TS_LIBC, typestable } from '../sys/typestable.js';
export { sockaddr_un_encode as sockaddr_un, sockaddr_un_decode } from '../sys/socket.js';
export { sockaddr_in_encode, sockaddr_in_decode } from '../netinet/in.js';

/** A socklen_t in/out argument (addrlen, optlen): a one-element array. */
export type SockLenP = [number];

/** struct pollfd as a caller builds it; revents is filled by poll(). */
export interface PollFd {
  fd: number;
  events: number;
  revents: number;
}

/** struct msghdr as a caller builds it (buffers, not pointers). */
export interface MsgHdr {
  name?: Uint8Array | null;
  namelen?: number;
  iov: Uint8Array[];
  control?: Uint8Array | null;
  controllen?: number;
  flags?: number;
}

/** Smallest bounce slot (the largest ioctl argument). */
const SLOT_MIN = IOCPARM_MAX;
/** Largest bounce slot; bigger buffers get a mapping of their own for the call. */
const SLOT_MAX = 1 << 17;
/** Bounce slots per Libc. */
const NSLOTS = 6;
/** Lending windows per Libc (read/write calls in progress at once on one Libc). */
const NWINDOWS = 4;
/** Copies below this size go byte by byte (cheaper than TypedArray.set and a view). */
const SMALL_COPY = 16;

/** One reusable bounce mapping of a Libc. */
interface BounceSlot {
  readonly addr: number;
  readonly size: number;
  readonly buf: Uint8Array;
  busy: boolean;
  /** bounceback's last view of buf (the same range recurs call after call). */
  voff: number;
  vlen: number;
  view: Uint8Array;
}

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
   * Reusable bounce mappings (user memory for the buffers a call passes).  A buffer of
   * n bytes is placed flush against the end of a slot, so a kernel access past n bytes
   * still faults (the guard page follows every mapping).  Slots are made on first use
   * and grow to the largest buffer seen (up to SLOT_MAX); a call that finds none free
   * (nested or concurrent calls on the same Libc, more buffers than slots) or needs a
   * bigger buffer gets a fresh mapping of its own, unmapped afterwards.
   */
  private readonly slots: BounceSlot[] = [];
  /**
   * Windows for read(2)/write(2) and their p-variants: address ranges (VmMap.window)
   * that are lent the caller's own buffer for the call, so the kernel reads or fills it
   * in place — no bounce copy either way.  A buffer above SLOT_MAX, or a call that
   * finds every window busy, takes the bounce path.
   */
  private readonly windows: { addr: number; busy: boolean }[] = [];

  constructor(
    readonly k: Kernel,
    readonly td: Thread,
  ) {
    this.vm = vmspace(td.td_proc);
    typestable(TS_LIBC, this);
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

  /**
   * n bytes of user memory for one call (contents unspecified), with unmapped memory
   * right after them: a slot when one is free, else a mapping of its own.
   */
  private ualloc(n: number): number {
    if (n > 0 && n <= SLOT_MAX) {
      const slots = this.slots;
      let small = -1;
      for (let i = 0; i < slots.length; i++) {
        const sl = slots[i]!;
        if (sl.busy) continue;
        if (sl.size >= n) {
          sl.busy = true;
          return sl.addr + sl.size - n;
        }
        small = i;
      }
      if (slots.length < NSLOTS || small >= 0) {
        let size = SLOT_MIN;
        while (size < n) size *= 2;
        const m = this.vm.mmap(size) as { addr: number; buf: Uint8Array };
        const sl: BounceSlot = {
          addr: m.addr,
          size,
          buf: m.buf,
          busy: true,
          voff: -1,
          vlen: -1,
          view: m.buf,
        };
        if (small >= 0) {
          this.vm.munmap(slots[small]!.addr);
          slots[small] = sl;
        } else slots.push(sl);
        return sl.addr + size - n;
      }
    }
    return (this.vm.mmap(n) as { addr: number; buf: Uint8Array }).addr;
  }

  /** The slot holding user address addr, or null (a mapping of its own). */
  private uslot(addr: number): BounceSlot | null {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const sl = slots[i]!;
      if (addr >= sl.addr && addr <= sl.addr + sl.size) return sl;
    }
    return null;
  }

  /** buf mapped as user memory for one call (a window), or -1 (use a bounce). */
  private lend(buf: Uint8Array): number {
    const n = buf.length;
    if (n === 0 || n > SLOT_MAX) return -1;
    const ws = this.windows;
    let w: { addr: number; busy: boolean } | undefined;
    for (let i = 0; i < ws.length; i++)
      if (!ws[i]!.busy) {
        w = ws[i]!;
        break;
      }
    if (w === undefined) {
      if (ws.length >= NWINDOWS) return -1;
      const addr = this.vm.window(SLOT_MAX);
      if (addr < VM_MIN_ADDRESS) return -1;
      ws.push((w = { addr, busy: false }));
    }
    w.busy = true;
    this.vm.lend(w.addr, buf);
    return w.addr;
  }

  /** End a lend(): the window maps nothing again. */
  private unlend(addr: number): void {
    this.vm.unlend(addr);
    for (const w of this.windows) if (w.addr === addr) w.busy = false;
  }

  /** A user copy of bytes (exactly data.length long, unmapped memory after it). */
  private bounce(data: Uint8Array): number {
    const n = data.length;
    const addr = this.ualloc(n);
    if (n === 0) return addr;
    const sl = this.uslot(addr);
    if (sl === null) {
      this.vm.write(data, addr);
      return addr;
    }
    const m = sl.buf;
    const off = addr - sl.addr;
    if (n <= SMALL_COPY) for (let i = 0; i < n; i++) m[off + i] = data[i]!;
    else m.set(data, off);
    return addr;
  }

  /** Copy n bytes of user memory at addr (a bounce buffer) back into data. */
  private bounceback(addr: number, data: Uint8Array, n = data.length): void {
    if (n <= 0) return;
    const sl = this.uslot(addr);
    if (sl === null) {
      this.vm.read(addr, n === data.length ? data : data.subarray(0, n));
      return;
    }
    const m = sl.buf;
    const off = addr - sl.addr;
    if (n <= SMALL_COPY) for (let i = 0; i < n; i++) data[i] = m[off + i]!;
    else {
      if (sl.voff !== off || sl.vlen !== n) {
        sl.view = m.subarray(off, off + n);
        sl.voff = off;
        sl.vlen = n;
      }
      data.set(sl.view);
    }
  }

  /** Release a bounce buffer (a slot, or its own mapping). */
  private release(addr: number): void {
    const sl = this.uslot(addr);
    if (sl !== null) sl.busy = false;
    else this.vm.munmap(addr);
  }

  private bounceStr(s: string): number {
    const b = new TextEncoder().encode(s);
    const m = this.vm.mmap(b.length + 1) as { addr: number; buf: Uint8Array };
    m.buf.set(b);
    return m.addr;
  }

  /** Copy a bounce buffer back and release it. */
  private unbounce(addr: number, data: Uint8Array | null): void {
    if (data !== null) this.bounceback(addr, data);
    this.release(addr);
  }

  /** syscall(2): raw entry; returns td_retval[0] or -1 with errno set. */
  async syscall(code: number, ...args: number[]): Promise<number> {
    let r = syscallenter(this.k, this.td, code, args);
    if (r instanceof Promise) r = await r; /* it slept */
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

  /**
   * One buffer-passing call: buf lent through a window when one is free (the kernel
   * works on buf itself), else a bounce copy (copied back when `back`).
   */
  private async bufcall(
    buf: Uint8Array,
    back: boolean,
    code: number,
    fd: number,
    nbyte: number,
    offset?: number,
  ): Promise<number> {
    const w = this.lend(buf);
    const ua = w >= 0 ? w : this.bounce(buf);
    try {
      return await (offset === undefined
        ? this.syscall(code, fd, ua, nbyte)
        : this.syscall(code, fd, ua, nbyte, offset));
    } finally {
      if (w >= 0) this.unlend(w);
      else if (back) this.unbounce(ua, buf);
      else this.release(ua);
    }
  }

  /** read(2) into buf (nbyte defaults to buf.length). */
  read(fd: number, buf: Uint8Array, nbyte = buf.length): Promise<number> {
    return this.bufcall(buf, true, SYS_read, fd, nbyte);
  }

  pread(fd: number, buf: Uint8Array, nbyte: number, offset: number): Promise<number> {
    return this.bufcall(buf, true, SYS_pread, fd, nbyte, offset);
  }

  write(fd: number, buf: Uint8Array, nbyte = buf.length): Promise<number> {
    return this.bufcall(buf, false, SYS_write, fd, nbyte);
  }

  pwrite(fd: number, buf: Uint8Array, nbyte: number, offset: number): Promise<number> {
    return this.bufcall(buf, false, SYS_pwrite, fd, nbyte, offset);
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

  /**
   * An opaque node's whole value (a table that may grow between the size query and
   * the read: room is added and ENOMEM retried, as FreeBSD's tools do), or null.
   */
  async sysctlbyname_bytes(name: string): Promise<Uint8Array | null> {
    for (let tries = 0; tries < 4; tries++) {
      const len: SizeP = [0];
      if ((await this.sysctlbyname(name, null, len, null)) < 0) return null;
      const buf = new Uint8Array(len[0] + 1024);
      const got: SizeP = [buf.length];
      if ((await this.sysctlbyname(name, buf, got, null)) < 0) {
        if (this.errno === ENOMEM) continue;
        return null;
      }
      return buf.subarray(0, got[0]);
    }
    return null;
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
  /* Sockets (BSD API; kern/uipc_syscalls.ts).                                     */

  /** A user copy of b (a bounce buffer); returns the address. */
  private ucopy(b: Uint8Array): number {
    return this.bounce(b);
  }

  /** Copy a bounce buffer back into b (when given) and release it. */
  private ufree(addr: number, back: Uint8Array | null = null): void {
    this.unbounce(addr, back);
  }

  /** A socklen_t in user memory, optionally read back into lenp afterwards. */
  private ulen(v: number): number {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    return this.ucopy(b);
  }

  private ulenback(addr: number, lenp: SockLenP | null): void {
    const b = new Uint8Array(4);
    this.ufree(addr, b);
    if (lenp !== null) lenp[0] = new DataView(b.buffer).getInt32(0, true);
  }

  /** socket(2): type may carry SOCK_NONBLOCK / SOCK_CLOEXEC. */
  async socket(domain: number, type: number, protocol = 0): Promise<number> {
    return this.syscall(SYS_socket_, domain, type, protocol);
  }

  /** bind(2) to sockaddr bytes (sockaddr_un(), sockaddr_in_encode()). */
  async bind(s: number, addr: Uint8Array, addrlen = addr.length): Promise<number> {
    const ua = this.ucopy(addr);
    try {
      return await this.syscall(SYS_bind, s, ua, addrlen);
    } finally {
      this.ufree(ua);
    }
  }

  async connect(s: number, addr: Uint8Array, addrlen = addr.length): Promise<number> {
    const ua = this.ucopy(addr);
    try {
      return await this.syscall(SYS_connect, s, ua, addrlen);
    } finally {
      this.ufree(ua);
    }
  }

  async listen(s: number, backlog: number): Promise<number> {
    return this.syscall(SYS_listen, s, backlog);
  }

  /**
   * accept(2): addr (if given) receives the peer's address, truncated to addrlen[0]
   * (default addr.length), and addrlen[0] its length.
   */
  async accept(
    s: number,
    addr: Uint8Array | null = null,
    addrlen: SockLenP | null = null,
  ): Promise<number> {
    return this.accept_common(SYS_accept, s, addr, addrlen, 0);
  }

  async accept4(
    s: number,
    addr: Uint8Array | null,
    addrlen: SockLenP | null,
    flags: number,
  ): Promise<number> {
    return this.accept_common(SYS_accept4, s, addr, addrlen, flags);
  }

  private async accept_common(
    code: number,
    s: number,
    addr: Uint8Array | null,
    addrlen: SockLenP | null,
    flags: number,
  ): Promise<number> {
    if (addr === null) return this.syscall(code, s, 0, 0, flags);
    const ua = this.ucopy(addr);
    const ul = this.ulen(addrlen?.[0] ?? addr.length);
    try {
      return await this.syscall(code, s, ua, ul, flags);
    } finally {
      this.ufree(ua, addr);
      this.ulenback(ul, addrlen);
    }
  }

  private async getname(
    code: number,
    s: number,
    addr: Uint8Array,
    addrlen: SockLenP | null,
  ): Promise<number> {
    const ua = this.ucopy(addr);
    const ul = this.ulen(addrlen?.[0] ?? addr.length);
    try {
      return await this.syscall(code, s, ua, ul);
    } finally {
      this.ufree(ua, addr);
      this.ulenback(ul, addrlen);
    }
  }

  async getsockname(s: number, addr: Uint8Array, addrlen: SockLenP | null = null): Promise<number> {
    return this.getname(SYS_getsockname, s, addr, addrlen);
  }

  async getpeername(s: number, addr: Uint8Array, addrlen: SockLenP | null = null): Promise<number> {
    return this.getname(SYS_getpeername, s, addr, addrlen);
  }

  /*
   * send and recv are the data path: when the kernel does not sleep they answer with an
   * already settled promise (no async function, so nothing more to allocate or await);
   * when it sleeps, *_sleep waits for it.  An exception (a kernel bug) rejects the
   * promise, as from an async function.
   */

  /** sendto(2); to (sockaddr bytes) may be null. */
  sendto(
    s: number,
    buf: Uint8Array,
    len: number = buf.length,
    flags = 0,
    to: Uint8Array | null = null,
  ): Promise<number> {
    let ub = 0;
    let ut = 0;
    try {
      ub = this.bounce(buf);
      if (to !== null) ut = this.bounce(to);
      const r = syscallenter(this.k, this.td, SYS_sendto, [s, ub, len, flags, ut, to?.length ?? 0]);
      if (r instanceof Promise) return this.sendto_sleep(r, ub, ut);
      const u = ub;
      ub = 0;
      this.release(u);
      if (ut !== 0) {
        const t = ut;
        ut = 0;
        this.release(t);
      }
      return Promise.resolve(r.error === 0 ? r.retval : -1);
    } catch (e) {
      if (ub !== 0) this.release(ub);
      if (ut !== 0) this.release(ut);
      return Promise.reject(e);
    }
  }

  private async sendto_sleep(r: Promise<SyscallResult>, ub: number, ut: number): Promise<number> {
    try {
      const x = await r;
      return x.error === 0 ? x.retval : -1;
    } finally {
      this.release(ub);
      if (ut !== 0) this.release(ut);
    }
  }

  send(s: number, buf: Uint8Array, len: number = buf.length, flags = 0): Promise<number> {
    return this.sendto(s, buf, len, flags, null);
  }

  /**
   * recvfrom(2): from (if given) receives the source address truncated to
   * fromlen[0] (default from.length); fromlen[0] gets its length.
   */
  recvfrom(
    s: number,
    buf: Uint8Array,
    len: number = buf.length,
    flags = 0,
    from: Uint8Array | null = null,
    fromlen: SockLenP | null = null,
  ): Promise<number> {
    if (from !== null) return this.recvfrom_addr(s, buf, len, flags, from, fromlen);
    /*
     * Without an address the kernel writes buf only when it succeeds, and then exactly
     * the bytes it returns: the buffer is not copied in, and only those are copied back.
     */
    let ub = -1;
    try {
      ub = this.ualloc(buf.length);
      const r = syscallenter(this.k, this.td, SYS_recvfrom, [s, ub, len, flags, 0, 0]);
      if (r instanceof Promise) return this.recvfrom_sleep(r, ub, buf);
      const n = r.error === 0 ? r.retval : -1;
      if (n > 0) this.bounceback(ub, buf, Math.min(n, buf.length));
      const u = ub;
      ub = -1;
      this.release(u);
      return Promise.resolve(n);
    } catch (e) {
      if (ub !== -1) this.release(ub);
      return Promise.reject(e);
    }
  }

  private async recvfrom_sleep(
    r: Promise<SyscallResult>,
    ub: number,
    buf: Uint8Array,
  ): Promise<number> {
    let n = -1;
    try {
      const x = await r;
      if (x.error === 0) n = x.retval;
      return n;
    } finally {
      if (n > 0) this.bounceback(ub, buf, Math.min(n, buf.length));
      this.release(ub);
    }
  }

  /** recvfrom(2) with an address: every buffer is copied in and back, as C sees it. */
  private async recvfrom_addr(
    s: number,
    buf: Uint8Array,
    len: number,
    flags: number,
    from: Uint8Array,
    fromlen: SockLenP | null,
  ): Promise<number> {
    const ub = this.ucopy(buf);
    const uf = this.ucopy(from);
    const ul = this.ulen(fromlen?.[0] ?? from.length);
    try {
      return await this.syscall(SYS_recvfrom, s, ub, len, flags, uf, ul);
    } finally {
      this.ufree(ub, buf);
      this.ufree(uf, from);
      this.ulenback(ul, fromlen);
    }
  }

  recv(s: number, buf: Uint8Array, len: number = buf.length, flags = 0): Promise<number> {
    return this.recvfrom(s, buf, len, flags, null, null);
  }

  /** Build a struct msghdr (and its iovecs) in user memory. */
  private umsghdr(msg: MsgHdr): { hdr: number; maps: number[] } {
    const maps: number[] = [];
    const iov = new Uint8Array(16 * Math.max(1, msg.iov.length));
    const idv = new DataView(iov.buffer);
    msg.iov.forEach((b, i) => {
      const a = this.ucopy(b);
      maps.push(a);
      wr64(idv, i * 16, a);
      wr64(idv, i * 16 + 8, b.length);
    });
    const uiov = this.ucopy(iov);
    const h = new Uint8Array(48);
    const dv = new DataView(h.buffer);
    let uname = 0;
    if (msg.name) uname = this.ucopy(msg.name);
    let uctl = 0;
    if (msg.control) uctl = this.ucopy(msg.control);
    wr64(dv, 0, uname);
    dv.setUint32(8, msg.namelen ?? msg.name?.length ?? 0, true);
    wr64(dv, 16, uiov);
    dv.setInt32(24, msg.iov.length, true);
    wr64(dv, 32, uctl);
    dv.setUint32(40, msg.controllen ?? msg.control?.length ?? 0, true);
    dv.setInt32(44, msg.flags ?? 0, true);
    const hdr = this.ucopy(h);
    return { hdr, maps: [uiov, uname, uctl, ...maps] };
  }

  /** sendmsg(2) with a gather list (msg.iov), optional name and control bytes. */
  async sendmsg(s: number, msg: MsgHdr, flags = 0): Promise<number> {
    const u = this.umsghdr(msg);
    try {
      return await this.syscall(SYS_sendmsg, s, u.hdr, flags);
    } finally {
      this.ufree(u.hdr);
      for (const a of u.maps) if (a !== 0) this.ufree(a);
    }
  }

  /**
   * recvmsg(2): scatters into msg.iov; msg.name / msg.control are filled and
   * msg.namelen / msg.controllen / msg.flags set from the kernel's answer.
   */
  async recvmsg(s: number, msg: MsgHdr, flags = 0): Promise<number> {
    const u = this.umsghdr(msg);
    const [, uname, uctl, ...bufs] = u.maps;
    let r: number;
    try {
      r = await this.syscall(SYS_recvmsg, s, u.hdr, flags);
    } finally {
      const h = new Uint8Array(48);
      this.ufree(u.hdr, h);
      const dv = new DataView(h.buffer);
      msg.iov.forEach((b, i) => this.ufree(bufs[i]!, b));
      this.ufree(u.maps[0]!);
      if (uname !== undefined && uname !== 0) this.ufree(uname, msg.name ?? null);
      if (uctl !== undefined && uctl !== 0) this.ufree(uctl, msg.control ?? null);
      msg.namelen = dv.getUint32(8, true);
      msg.controllen = dv.getUint32(40, true);
      msg.flags = dv.getInt32(44, true);
    }
    return r;
  }

  async shutdown(s: number, how: number): Promise<number> {
    return this.syscall(SYS_shutdown, s, how);
  }

  /** setsockopt(2): val is the option's bytes, or a number for an int option. */
  async setsockopt(
    s: number,
    level: number,
    name: number,
    val: Uint8Array | number,
  ): Promise<number> {
    let b: Uint8Array;
    if (typeof val === 'number') {
      b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, val, true);
    } else b = val;
    const ua = this.ucopy(b);
    try {
      return await this.syscall(SYS_setsockopt, s, level, name, ua, b.length);
    } finally {
      this.ufree(ua);
    }
  }

  /** getsockopt(2): fills val; optlen[0] gets the length (default val.length in). */
  async getsockopt(
    s: number,
    level: number,
    name: number,
    val: Uint8Array,
    optlen: SockLenP | null = null,
  ): Promise<number> {
    const ua = this.ucopy(val);
    const ul = this.ulen(optlen?.[0] ?? val.length);
    try {
      return await this.syscall(SYS_getsockopt, s, level, name, ua, ul);
    } finally {
      this.ufree(ua, val);
      this.ulenback(ul, optlen);
    }
  }

  /** getsockopt for an int option: the value, or null with errno set. */
  async getsockopt_int(s: number, level: number, name: number): Promise<number | null> {
    const b = new Uint8Array(4);
    const r = await this.getsockopt(s, level, name, b);
    return r < 0 ? null : new DataView(b.buffer).getInt32(0, true);
  }

  /** socketpair(2): sv receives the two descriptors. */
  async socketpair(
    domain: number,
    type: number,
    protocol: number,
    sv: [number, number],
  ): Promise<number> {
    const b = new Uint8Array(8);
    const ua = this.ucopy(b);
    let r: number;
    try {
      r = await this.syscall(SYS_socketpair, domain, type, protocol, ua);
    } finally {
      this.ufree(ua, b);
    }
    if (r === 0) {
      const dv = new DataView(b.buffer);
      sv[0] = dv.getInt32(0, true);
      sv[1] = dv.getInt32(4, true);
    }
    return r;
  }

  /** poll(2): revents of each entry are filled; timeout in ms (-1: forever). */
  async poll(fds: PollFd[], timeout: number): Promise<number> {
    const b = new Uint8Array(8 * Math.max(1, fds.length));
    const dv = new DataView(b.buffer);
    fds.forEach((p, i) => {
      dv.setInt32(i * 8, p.fd, true);
      dv.setInt16(i * 8 + 4, p.events, true);
      dv.setInt16(i * 8 + 6, 0, true);
    });
    const ua = this.ucopy(b);
    let r: number;
    try {
      r = await this.syscall(SYS_poll_, ua, fds.length, timeout);
    } finally {
      this.ufree(ua, b);
    }
    if (r >= 0) fds.forEach((p, i) => (p.revents = dv.getUint16(i * 8 + 6, true)));
    return r;
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
