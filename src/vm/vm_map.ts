/*
 * vm/vm_map.ts — a process's user address space (struct vmspace / vm_map, reduced).
 *
 * Userland passes the kernel addresses, not objects: ioctl's data argument, the
 * pointer inside struct ifconf, kld_sym_lookup's symname, sysctl's old/new buffers.  So
 * every process has a map of user memory — entries [start, end) each backed by its own
 * ArrayBuffer — and the kernel reaches it only through copyin, copyout and copyinstr,
 * which resolve an address range and fail with EFAULT when any byte of it is unmapped.
 *
 * Allocation (the part of mmap(2) that libc's malloc uses) is a bump pointer from
 * VM_HEAP_START, page granular, with one unmapped guard page after every entry, so a
 * buffer shorter than the length a command encodes faults instead of reading a
 * neighbour.  A range must lie inside one entry; with the guard pages that is the same
 * rule as "every page mapped".  Freed ranges are not reused: the 47-bit user space
 * holds billions of pages.
 *
 * Differences from FreeBSD: no pages, objects, protections or copy-on-write; a mapping
 * is plain bytes, readable and writable.  The map hangs off the proc as p_vmspace
 * (declared here by augmenting struct proc, created on first use).
 */

import { EFAULT, ENAMETOOLONG, ENOMEM } from '../sys/errno.js';
import { PAGE_SIZE } from '../sys/param.js';
import type { Proc } from '../sys/proc.js';
import { TS_VMMAP, typestable } from '../sys/typestable.js';

/** Lowest and one-past-highest user address (amd64: VM_MAXUSER_ADDRESS = 2^47 - page). */
export const VM_MIN_ADDRESS = PAGE_SIZE;
export const VM_MAXUSER_ADDRESS = 0x800000000000 - PAGE_SIZE;
/** Where libc's heap starts. */
export const VM_HEAP_START = 0x800000000;

declare module '../sys/proc.js' {
  interface Proc {
    /** The user address space (vm/vm_map.ts); created on first use. */
    p_vmspace?: VmMap;
  }
}

export class VmEntry {
  constructor(
    readonly start: number,
    /** One past the last address (a lent window's moves with what it is lent). */
    public end: number,
    public mem: Uint8Array,
  ) {}
}

const NOTHING = new Uint8Array(0);

export class VmMap {
  /** Entries sorted by start address. */
  private readonly entries: VmEntry[] = [];
  private next = VM_HEAP_START;
  /** The last entry a lookup hit (most copies hit the same buffer twice). */
  private hint: VmEntry | null = null;
  /** resolve()'s last answer: the view of [rv_addr, rv_addr + rv_len) (a call's buffer recurs). */
  private rv_addr = -1;
  private rv_len = -1;
  private rv_view: Uint8Array | null = null;

  constructor() {
    typestable(TS_VMMAP, this);
  }

  /** Number of mapped entries (for tests and ps-like tools). */
  get nentries(): number {
    return this.entries.length;
  }

  /** Map len bytes of zeroed memory; returns the address and a view, or ENOMEM. */
  mmap(len: number): { addr: number; buf: Uint8Array } | number {
    if (!Number.isInteger(len) || len < 0) return ENOMEM;
    const size = Math.max(PAGE_SIZE, Math.ceil(len / PAGE_SIZE) * PAGE_SIZE);
    const addr = this.next;
    if (addr + size > VM_MAXUSER_ADDRESS) return ENOMEM;
    this.next = addr + size + PAGE_SIZE; /* guard page */
    const mem = new Uint8Array(len);
    /* A zero-length mapping still owns one (inaccessible-by-length) byte of address. */
    const e = new VmEntry(addr, addr + Math.max(len, 1), mem);
    this.entries.push(e); /* bump allocation keeps the list sorted */
    return { addr, buf: mem };
  }

  /**
   * Reserve a window: `size` bytes of address space (and the guard page after it) with
   * nothing mapped yet.  lend() maps a buffer of at most `size` bytes there — the
   * caller's own memory, not a copy — and unlend() takes it away again, so a libc call
   * can pass its caller's buffer to the kernel as user memory without a bounce copy.
   * Returns the address, or ENOMEM.
   */
  window(size: number): number {
    if (!Number.isInteger(size) || size <= 0) return ENOMEM;
    const rsize = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
    const addr = this.next;
    if (addr + rsize > VM_MAXUSER_ADDRESS) return ENOMEM;
    this.next = addr + rsize + PAGE_SIZE; /* guard page */
    this.entries.push(new VmEntry(addr, addr + 1, NOTHING));
    return addr;
  }

  /** Map buf at window addr (buf.length must not exceed the window's size). */
  lend(addr: number, buf: Uint8Array): void {
    const e = this.entries[this.index(addr)]!;
    e.mem = buf;
    e.end = e.start + Math.max(buf.length, 1);
    this.forget();
  }

  /** Take the buffer away from window addr: nothing is mapped there again. */
  unlend(addr: number): void {
    const e = this.entries[this.index(addr)]!;
    e.mem = NOTHING;
    e.end = e.start + 1;
    this.forget();
  }

  /** Drop the lookup caches (an entry's memory changed). */
  private forget(): void {
    this.hint = null;
    this.rv_view = null;
    this.rv_addr = this.rv_len = -1;
  }

  /** Unmap the entry that starts at addr; EFAULT (EINVAL in FreeBSD) if none. */
  munmap(addr: number): number {
    const i = this.index(addr);
    if (i < 0 || this.entries[i]!.start !== addr) return EFAULT;
    this.forget();
    this.entries.splice(i, 1);
    return 0;
  }

  private index(addr: number): number {
    let lo = 0;
    let hi = this.entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = this.entries[mid]!;
      if (addr < e.start) hi = mid - 1;
      else if (addr >= e.end) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /** The entry holding [uaddr, uaddr + len), or null. */
  entry(uaddr: number, len: number): VmEntry | null {
    let e = this.hint;
    if (e === null || uaddr < e.start || uaddr >= e.end) {
      if (!Number.isSafeInteger(uaddr) || uaddr < 0) return null;
      const i = this.index(uaddr);
      if (i < 0) return null;
      e = this.entries[i]!;
      this.hint = e;
    }
    return uaddr + len <= e.start + e.mem.length ? e : null;
  }

  /** Copy user bytes at uaddr into dst (dst.length bytes); false when unmapped. */
  read(uaddr: number, dst: Uint8Array): boolean {
    const n = dst.length;
    const e = this.entry(uaddr, n);
    if (e === null) return false;
    const off = uaddr - e.start;
    const m = e.mem;
    if (n <= SMALL_COPY) for (let i = 0; i < n; i++) dst[i] = m[off + i]!;
    else dst.set(m.subarray(off, off + n));
    return true;
  }

  /** Copy src to user memory at uaddr; false when unmapped (nothing written). */
  write(src: Uint8Array, uaddr: number): boolean {
    const n = src.length;
    const e = this.entry(uaddr, n);
    if (e === null) return false;
    const off = uaddr - e.start;
    const m = e.mem;
    if (n <= SMALL_COPY) for (let i = 0; i < n; i++) m[off + i] = src[i]!;
    else m.set(src, off);
    return true;
  }

  /** The bytes from uaddr to the end of its entry, or null when uaddr is unmapped. */
  span(uaddr: number): Uint8Array | null {
    if (!Number.isSafeInteger(uaddr) || uaddr < 0) return null;
    const i = this.index(uaddr);
    if (i < 0) return null;
    const e = this.entries[i]!;
    return e.mem.subarray(uaddr - e.start);
  }

  /** The bytes of [uaddr, uaddr + len) as a view, or null when any of it is unmapped. */
  resolve(uaddr: number, len: number): Uint8Array | null {
    if (uaddr === this.rv_addr && len === this.rv_len) return this.rv_view;
    if (!Number.isSafeInteger(uaddr) || !Number.isSafeInteger(len) || len < 0 || uaddr < 0)
      return null;
    let e = this.hint;
    if (e === null || uaddr < e.start || uaddr >= e.end) {
      const i = this.index(uaddr);
      if (i < 0) return null;
      e = this.entries[i]!;
      this.hint = e;
    }
    if (uaddr + len > e.start + e.mem.length) return null;
    const off = uaddr - e.start;
    const v = e.mem.subarray(off, off + len);
    this.rv_addr = uaddr;
    this.rv_len = len;
    this.rv_view = v;
    return v;
  }
}

/** Copies below this size go byte by byte (cheaper than making a subarray view). */
const SMALL_COPY = 64;

/** The process's address space, created on first use. */
export function vmspace(p: Proc): VmMap {
  let vm = p.p_vmspace;
  if (vm === undefined) {
    vm = new VmMap();
    p.p_vmspace = vm;
  }
  return vm;
}

/** copyin(9): a kernel copy of len user bytes, or EFAULT. */
export function copyin(p: Proc, uaddr: number, len: number): Uint8Array | number {
  if (len === 0) return new Uint8Array(0);
  const src = vmspace(p).resolve(uaddr, len);
  return src === null ? EFAULT : src.slice();
}

/** copyin into a kernel buffer (kbuf.length bytes); returns 0 or EFAULT. */
export function copyin_buf(p: Proc, uaddr: number, kbuf: Uint8Array): number {
  if (kbuf.length === 0) return 0;
  return vmspace(p).read(uaddr, kbuf) ? 0 : EFAULT;
}

/** copyout(9): copy a kernel buffer to user memory; 0 or EFAULT (nothing written). */
export function copyout(p: Proc, kbuf: Uint8Array, uaddr: number): number {
  if (kbuf.length === 0) return 0;
  return vmspace(p).write(kbuf, uaddr) ? 0 : EFAULT;
}

/**
 * copyinstr(9): a NUL-terminated string of at most maxlen bytes including the NUL.
 * EFAULT when the string runs into unmapped memory, ENAMETOOLONG when no NUL is found
 * within maxlen bytes.  Bytes are decoded as UTF-8.
 */
export function copyinstr(p: Proc, uaddr: number, maxlen: number): string | number {
  const span = vmspace(p).span(uaddr);
  if (span === null) return EFAULT;
  const look = span.subarray(0, Math.min(maxlen, span.length));
  const nul = look.indexOf(0);
  if (nul < 0) return span.length >= maxlen ? ENAMETOOLONG : EFAULT;
  return new TextDecoder().decode(look.subarray(0, nul));
}

/** Read a u_long / size_t / pointer at a user address (8 bytes). */
export function fuword64(p: Proc, uaddr: number): number | null {
  const b = vmspace(p).resolve(uaddr, 8);
  if (b === null) return null;
  const dv = new DataView(b.buffer, b.byteOffset, 8);
  return dv.getUint32(0, true) + dv.getUint32(4, true) * 4294967296;
}

/** Write a u_long / size_t at a user address; 0 or EFAULT. */
export function suword64(p: Proc, uaddr: number, v: number): number {
  const b = vmspace(p).resolve(uaddr, 8);
  if (b === null) return EFAULT;
  const dv = new DataView(b.buffer, b.byteOffset, 8);
  dv.setUint32(0, v >>> 0, true);
  dv.setUint32(4, Math.floor(v / 4294967296) >>> 0, true);
  return 0;
}
