/*
 * lib/libjail.ts — jail_setv(3)/jail_getv(3)-style helpers over jail_set(2) and
 * jail_get(2): build the iovec list of (name, value) pairs in user memory, make the
 * call, and read values (and the kernel's errmsg) back.
 *
 * A value is a string (sent with its NUL), an int (4 bytes), or null (a boolean
 * parameter given without a value: `persist`, `vnet`).  jail_get reads the parameters it
 * is asked for into buffers of their type (JAIL_PARAM_TYPES; strings up to 1024 bytes).
 */

import type { Libc } from './libc.js';
import { SYS_jail_attach, SYS_jail_get, SYS_jail_remove, SYS_jail_set } from '../sys/sysent.js';

export const JAIL_CREATE = 0x01;
export const JAIL_UPDATE = 0x02;
export const JAIL_ATTACH = 0x04;
export const JAIL_SYS_NEW = 1;
export const JAIL_SYS_INHERIT = 2;

export type JailValue = string | number | null;

/** The type of each known parameter ('s' string, 'i' int, 'b' boolean). */
export const JAIL_PARAM_TYPES: ReadonlyMap<string, 's' | 'i' | 'b'> = new Map([
  ['jid', 'i'],
  ['name', 's'],
  ['path', 's'],
  ['host.hostname', 's'],
  ['vnet', 'i'],
  ['persist', 'b'],
  ['dying', 'i'],
  ['parent', 'i'],
  ['children.max', 'i'],
  ['children.cur', 'i'],
  ['lastjid', 'i'],
]);

const ERRMSG_LEN = 256;
const STR_LEN = 1024;

interface Built {
  iov: number;
  niov: number;
  maps: number[];
  /** User buffers by parameter name (for reading back), and errmsg. */
  bufs: Map<string, Uint8Array>;
}

function build(libc: Libc, pairs: readonly [string, Uint8Array | null, number][]): Built {
  const maps: number[] = [];
  const bufs = new Map<string, Uint8Array>();
  const n = pairs.length + 1;
  const iov = libc.malloc(n * 2 * 16)!;
  maps.push(iov.addr);
  const dv = new DataView(iov.buf.buffer, iov.buf.byteOffset, iov.buf.byteLength);
  const put = (i: number, addr: number, len: number): void => {
    dv.setUint32(i * 16, addr >>> 0, true);
    dv.setUint32(i * 16 + 4, Math.floor(addr / 4294967296), true);
    dv.setUint32(i * 16 + 8, len, true);
  };
  const all: [string, Uint8Array | null, number][] = [...pairs, ['errmsg', null, ERRMSG_LEN]];
  all.forEach(([name, value, outlen], j) => {
    const nb = new TextEncoder().encode(name);
    const nm = libc.malloc(nb.length + 1)!;
    nm.buf.set(nb);
    maps.push(nm.addr);
    put(2 * j, nm.addr, nb.length + 1);
    const len = value !== null ? value.length : outlen;
    if (len === 0) {
      put(2 * j + 1, 0, 0);
      return;
    }
    const vm = libc.malloc(len)!;
    if (value !== null) vm.buf.set(value);
    maps.push(vm.addr);
    bufs.set(name, vm.buf);
    put(2 * j + 1, vm.addr, len);
  });
  return { iov: iov.addr, niov: all.length * 2, maps, bufs };
}

function encValue(v: JailValue): Uint8Array | null {
  if (v === null) return null;
  if (typeof v === 'number') {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    return b;
  }
  const s = new TextEncoder().encode(v);
  const b = new Uint8Array(s.length + 1);
  b.set(s);
  return b;
}

function cstr(b: Uint8Array | undefined): string {
  if (b === undefined) return '';
  const n = b.indexOf(0);
  return new TextDecoder().decode(n >= 0 ? b.subarray(0, n) : b);
}

export interface JailResult {
  /** The jid, or -1 (errno set). */
  jid: number;
  /** The kernel's error message ('' if none). */
  errmsg: string;
}

/** jail_setv(3). */
export async function jail_setv(
  libc: Libc,
  flags: number,
  params: readonly [string, JailValue][],
): Promise<JailResult> {
  const b = build(
    libc,
    params.map(([n, v]) => [n, encValue(v), 0] as [string, Uint8Array | null, number]),
  );
  try {
    const jid = await libc.syscall(SYS_jail_set, b.iov, b.niov, flags);
    return { jid, errmsg: jid < 0 ? cstr(b.bufs.get('errmsg')) : '' };
  } finally {
    for (const a of b.maps) libc.free(a);
  }
}

/**
 * jail_getv(3): look a jail up by key (jid, name or lastjid) and read the named
 * parameters.  Returns the values (strings or ints) or null (errno set, errmsg given).
 */
export async function jail_getv(
  libc: Libc,
  key: [string, JailValue],
  names: readonly string[],
): Promise<{ jid: number; values: Map<string, string | number>; errmsg: string }> {
  const pairs: [string, Uint8Array | null, number][] = [[key[0], encValue(key[1]), 0]];
  for (const n of names) {
    if (n === key[0]) continue;
    const t = JAIL_PARAM_TYPES.get(n);
    pairs.push([n, null, t === 's' ? STR_LEN : 4]);
  }
  const b = build(libc, pairs);
  try {
    const jid = await libc.syscall(SYS_jail_get, b.iov, b.niov, 0);
    const values = new Map<string, string | number>();
    if (jid >= 0)
      for (const n of names) {
        const buf = b.bufs.get(n);
        const t = JAIL_PARAM_TYPES.get(n);
        if (n === key[0] && key[0] !== 'lastjid') values.set(n, key[1] ?? '');
        else if (buf === undefined) continue;
        else if (t === 's') values.set(n, cstr(buf));
        else values.set(n, new DataView(buf.buffer, buf.byteOffset, 4).getInt32(0, true));
      }
    if (jid >= 0 && names.includes('jid')) values.set('jid', jid);
    return { jid, values, errmsg: jid < 0 ? cstr(b.bufs.get('errmsg')) : '' };
  } finally {
    for (const a of b.maps) libc.free(a);
  }
}

export async function jail_remove(libc: Libc, jid: number): Promise<number> {
  return libc.syscall(SYS_jail_remove, jid);
}

export async function jail_attach(libc: Libc, jid: number): Promise<number> {
  return libc.syscall(SYS_jail_attach, jid);
}

/** jail_getid(3): a jid from a jid or a name, or -1. */
export async function jail_getid(libc: Libc, name: string): Promise<number> {
  if (/^[0-9]+$/.test(name)) {
    const r = await jail_getv(libc, ['jid', Number(name)], ['jid']);
    return r.jid;
  }
  const r = await jail_getv(libc, ['name', name], ['jid']);
  return r.jid;
}
