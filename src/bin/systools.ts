/*
 * bin/systools.ts — the system tools that need no network stack: sysctl(8),
 * kldload(8), kldunload(8), kldstat(8), hostname(1), uname(1), ident(1) and ddb(8).
 *
 * Each is a userland program reaching the kernel only through libc: sysctl walks the
 * MIB with the {0,x} meta nodes exactly as FreeBSD's sysctl(8) does ({0,2} next, {0,1}
 * name, {0,4} oidfmt for the type, {0,5} description) and prints "name: value";
 * kldstat uses kldnext/kldstat and, for -v, kldfirstmod/modnext/modstat; ddb talks to
 * the debugger through debug.ddb.scripting.* and debug.kdb.enter.
 *
 * Differences: opaque sysctl values print as "Format:F Length:N Dump:0x..." (FreeBSD
 * decodes a few known structs, e.g. kern.boottime); uname's machine is always amd64.
 */

import type { Libc, KldFileStat } from '../lib/libc.js';
import { EX_USAGE, type ProcCtx, type Program } from '../lib/process.js';
import { O_RDONLY } from '../sys/fcntl.js';
import { EEXIST, EINVAL, ENOENT } from '../sys/errno.js';
import { FdReader } from '../lib/process.js';
import { ident_format } from '../usr.bin/ident.js';
import { getopt } from './filters.js';
import { SYS_kldfirstmod, SYS_modnext, SYS_modstat } from '../sys/sysent.js';
import {
  CTLFLAG_WR,
  CTLTYPE,
  CTLTYPE_INT,
  CTLTYPE_LONG,
  CTLTYPE_NODE,
  CTLTYPE_OPAQUE,
  CTLTYPE_S16,
  CTLTYPE_S32,
  CTLTYPE_S64,
  CTLTYPE_S8,
  CTLTYPE_STRING,
  CTLTYPE_U16,
  CTLTYPE_U32,
  CTLTYPE_U64,
  CTLTYPE_U8,
  CTLTYPE_UINT,
  CTLTYPE_ULONG,
} from '../sys/sysctl.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function cstr(b: Uint8Array): string {
  const n = b.indexOf(0);
  return dec.decode(n >= 0 ? b.subarray(0, n) : b);
}

/* ---------------------------------------------------------------------------------- */
/* sysctl(8)                                                                            */

/** A meta query {0, op, ...mib}: the bytes, or null (errno set). */
async function meta(
  libc: Libc,
  op: number,
  mib: readonly number[],
  size = 4096,
): Promise<Uint8Array | null> {
  const b = new Uint8Array(size);
  const len: [number] = [size];
  if ((await libc.sysctl([0, op, ...mib], b, len)) < 0) return null;
  return b.subarray(0, len[0]);
}

function ints(b: Uint8Array): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= b.length; i += 4) out.push(dv.getInt32(i, true));
  return out;
}

interface OidInfo {
  name: string;
  kind: number;
  fmt: string;
}

async function oidinfo(libc: Libc, mib: readonly number[]): Promise<OidInfo | null> {
  const nb = await meta(libc, 1, mib);
  const fb = await meta(libc, 4, mib);
  if (nb === null || fb === null || fb.length < 4) return null;
  const kind = new DataView(fb.buffer, fb.byteOffset, 4).getUint32(0, true);
  return { name: cstr(nb), kind, fmt: cstr(fb.subarray(4)) };
}

/** Format a value by its type (null: not printable in a listing). */
function fmtval(kind: number, fmt: string, b: Uint8Array, listing: boolean): string | null {
  const t = kind & CTLTYPE;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const each = (size: number, get: (off: number) => number | bigint): string => {
    const out: string[] = [];
    for (let i = 0; i + size <= b.length; i += size) out.push(String(get(i)));
    return out.join(' ');
  };
  switch (t) {
    case CTLTYPE_STRING:
      return cstr(b);
    case CTLTYPE_INT:
    case CTLTYPE_S32:
      return each(4, (o) => dv.getInt32(o, true));
    case CTLTYPE_UINT:
    case CTLTYPE_U32:
      return each(4, (o) => dv.getUint32(o, true));
    case CTLTYPE_LONG:
    case CTLTYPE_S64:
      return each(8, (o) => dv.getBigInt64(o, true));
    case CTLTYPE_ULONG:
    case CTLTYPE_U64:
      return each(8, (o) => dv.getBigUint64(o, true));
    case CTLTYPE_U8:
      return each(1, (o) => dv.getUint8(o));
    case CTLTYPE_S8:
      return each(1, (o) => dv.getInt8(o));
    case CTLTYPE_U16:
      return each(2, (o) => dv.getUint16(o, true));
    case CTLTYPE_S16:
      return each(2, (o) => dv.getInt16(o, true));
    case CTLTYPE_OPAQUE: {
      if (listing) return null;
      const hex = [...b.subarray(0, 16)].map((x) => x.toString(16).padStart(2, '0')).join('');
      return `Format:${fmt} Length:${b.length} Dump:0x${hex}${b.length > 16 ? '...' : ''}`;
    }
    default:
      return null;
  }
}

async function getval(libc: Libc, mib: readonly number[]): Promise<Uint8Array | null> {
  const len: [number] = [0];
  if ((await libc.sysctl(mib, null, len)) < 0) return null;
  const b = new Uint8Array(len[0] + 16);
  const l2: [number] = [b.length];
  if ((await libc.sysctl(mib, b, l2)) < 0) return null;
  return b.subarray(0, l2[0]);
}

/** Encode a new value by type; string on a bad value. */
function encval(kind: number, v: string): Uint8Array | string {
  const t = kind & CTLTYPE;
  if (t === CTLTYPE_STRING) return enc.encode(v);
  /* strtol/strtoll with the whole string: out of the 64-bit range is ERANGE (an invalid
   * value); within it, a narrower type keeps the low bits, as C's cast does. */
  const m = /^(-?)(0x[0-9a-f]+|[0-9]+)$/i.exec(v);
  if (m === null) return `invalid integer '${v}'`;
  const big = (m[1] ? -1n : 1n) * BigInt(m[2]!);
  const unsigned = t === CTLTYPE_ULONG || t === CTLTYPE_U64;
  if (unsigned ? big < -(1n << 64n) || big >= 1n << 64n : big < -(1n << 63n) || big >= 1n << 63n)
    return `invalid integer '${v}'`;
  const size = { [CTLTYPE_U8]: 1, [CTLTYPE_S8]: 1, [CTLTYPE_U16]: 2, [CTLTYPE_S16]: 2 } as Record<
    number,
    number
  >;
  const wide = t === CTLTYPE_LONG || t === CTLTYPE_ULONG || t === CTLTYPE_S64 || t === CTLTYPE_U64;
  const sz = size[t] ?? (wide ? 8 : 4);
  const b = new Uint8Array(sz);
  const dv = new DataView(b.buffer);
  if (sz === 1) dv.setUint8(0, Number(BigInt.asUintN(8, big)));
  else if (sz === 2) dv.setUint16(0, Number(BigInt.asUintN(16, big)), true);
  else if (sz === 4) dv.setUint32(0, Number(BigInt.asUintN(32, big)), true);
  else dv.setBigInt64(0, BigInt.asIntN(64, big), true);
  return b;
}

export const sysctl: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'adnNqeio');
  const U = 'sysctl [-deNnoq] name[=value] ...\n       sysctl [-deNnoq] -a';
  if (typeof o === 'string') {
    await ctx.warn(o);
    await ctx.err(`usage: ${U}\n`);
    return EX_USAGE;
  }
  const f = o.flags;
  const libc = ctx.libc;
  const show = async (mib: readonly number[], info: OidInfo, listing: boolean): Promise<void> => {
    if (f.has('N')) {
      await ctx.out(`${info.name}\n`);
      return;
    }
    if (f.has('d')) {
      const d = await meta(libc, 5, mib);
      await ctx.out(
        f.has('n')
          ? `${cstr(d ?? new Uint8Array())}\n`
          : `${info.name}: ${cstr(d ?? new Uint8Array())}\n`,
      );
      return;
    }
    const v = await getval(libc, mib);
    if (v === null) {
      if (!listing) await ctx.err(`sysctl: ${info.name}: ${libc.strerror()}\n`);
      return;
    }
    const s = fmtval(info.kind, info.fmt, v, listing);
    if (s === null) return;
    await ctx.out(f.has('n') ? `${s}\n` : `${info.name}: ${s}\n`);
  };
  /** Every leaf below mib (or everything when mib is empty). */
  const walk = async (prefix: readonly number[], listing: boolean): Promise<void> => {
    let cur: readonly number[] = prefix;
    for (;;) {
      const nb = await meta(libc, 2, cur, 24 * 4);
      if (nb === null) return;
      const mib = ints(nb);
      if (prefix.length > 0 && !prefix.every((x, i) => mib[i] === x)) return;
      const info = await oidinfo(libc, mib);
      if (info !== null && (info.kind & CTLTYPE) !== CTLTYPE_NODE) await show(mib, info, listing);
      cur = mib;
    }
  };
  if (f.has('a') || o.rest.length === 0) {
    if (!f.has('a')) {
      await ctx.err(`usage: ${U}\n`);
      return EX_USAGE;
    }
    await walk([], true);
    return 0;
  }
  let st = 0;
  for (const arg of o.rest) {
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const mib: number[] = [];
    const sz: [number] = [24];
    if ((await libc.sysctlnametomib(name, mib, sz)) < 0) {
      if (!f.has('q') && !f.has('i')) await ctx.err(`sysctl: unknown oid '${name}'\n`);
      if (!f.has('i')) st = 1;
      continue;
    }
    const info = await oidinfo(libc, mib);
    if (info === null) {
      await ctx.err(`sysctl: unknown oid '${name}'\n`);
      st = 1;
      continue;
    }
    if ((info.kind & CTLTYPE) === CTLTYPE_NODE) {
      if (eq >= 0) {
        await ctx.err(`sysctl: oid '${name}' isn't a leaf node\n`);
        st = 1;
        continue;
      }
      await walk(mib, false);
      continue;
    }
    if (eq < 0) {
      await show(mib, info, false);
      continue;
    }
    if (!(info.kind & CTLFLAG_WR)) {
      await ctx.err(`sysctl: oid '${name}' is read only\n`);
      st = 1;
      continue;
    }
    const nv = encval(info.kind, arg.slice(eq + 1));
    if (typeof nv === 'string') {
      await ctx.err(`sysctl: ${nv}\n`);
      st = 1;
      continue;
    }
    const old = await getval(libc, mib);
    if ((await libc.sysctl(mib, null, null, nv)) < 0) {
      await ctx.err(`sysctl: ${name}=${arg.slice(eq + 1)}: ${libc.strerror()}\n`);
      st = 1;
      continue;
    }
    const nowv = await getval(libc, mib);
    const ov = old === null ? '' : (fmtval(info.kind, info.fmt, old, false) ?? '');
    const cv = nowv === null ? '' : (fmtval(info.kind, info.fmt, nowv, false) ?? '');
    if (!f.has('q')) await ctx.out(f.has('n') ? `${cv}\n` : `${name}: ${ov} -> ${cv}\n`);
  }
  return st;
};

/* ---------------------------------------------------------------------------------- */
/* kld(8)                                                                               */

export const kldload: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'nqv');
  if (typeof o === 'string' || o.rest.length === 0) {
    if (typeof o === 'string') await ctx.warn(o);
    await ctx.err('usage: kldload [-nqv] file ...\n');
    return EX_USAGE;
  }
  let st = 0;
  for (const f of o.rest) {
    const id = await ctx.libc.kldload(f);
    if (id < 0) {
      if (ctx.libc.errno === EEXIST && o.flags.has('n')) continue;
      if (!o.flags.has('q'))
        await ctx.err(
          ctx.libc.errno === EEXIST
            ? `kldload: can't load ${f}: module already loaded or in kernel\n`
            : `kldload: can't load ${f}: ${ctx.libc.strerror()}\n`,
        );
      st = 1;
      continue;
    }
    if (o.flags.has('v')) await ctx.out(`Loaded ${f}, id=${id}\n`);
  }
  return st;
};

export const kldunload: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'fv', 'in');
  if (typeof o === 'string') {
    await ctx.warn(o);
    await ctx.err('usage: kldunload [-fv] -i id ...\n       kldunload [-fv] [-n] name ...\n');
    return EX_USAGE;
  }
  const targets: (number | string)[] = [];
  const i = o.flags.get('i');
  if (i !== undefined) targets.push(Number(i));
  const n = o.flags.get('n');
  if (n !== undefined) targets.push(n);
  targets.push(...o.rest);
  if (targets.length === 0) {
    await ctx.err('usage: kldunload [-fv] -i id ...\n       kldunload [-fv] [-n] name ...\n');
    return EX_USAGE;
  }
  let st = 0;
  for (const t of targets) {
    let id: number;
    if (typeof t === 'number') id = t;
    else {
      id = await ctx.libc.kldfind(t);
      if (id < 0) {
        await ctx.err(`kldunload: can't find file ${t}\n`);
        st = 1;
        continue;
      }
    }
    if (o.flags.has('v')) {
      const s: KldFileStat = {
        version: 0,
        name: '',
        refs: 0,
        id: 0,
        address: 0,
        size: 0,
        pathname: '',
      };
      if ((await ctx.libc.kldstat(id, s)) === 0) await ctx.out(`Unloading ${s.name}, id=${id}\n`);
    }
    if ((await ctx.libc.kldunload(id)) < 0) {
      await ctx.err(`kldunload: can't unload file: ${ctx.libc.strerror()}\n`);
      st = 1;
    }
  }
  return st;
};

interface ModStat {
  id: number;
  name: string;
  refs: number;
  /** union modspecific: intval, uintval, ulongval of the same bytes. */
  data: bigint;
}

/** modstat(2): struct module_stat (version, name[32], refs, id, data at 48). */
async function modstat(libc: Libc, modid: number): Promise<ModStat | null> {
  const m = libc.malloc(56)!;
  try {
    new DataView(m.buf.buffer, m.buf.byteOffset, 56).setInt32(0, 56, true);
    if ((await libc.syscall(SYS_modstat, modid, m.addr)) < 0) return null;
    const dv = new DataView(m.buf.buffer, m.buf.byteOffset, 56);
    return {
      id: dv.getInt32(40, true),
      name: cstr(m.buf.subarray(4, 36)),
      refs: dv.getInt32(36, true),
      data: dv.getBigUint64(48, true),
    };
  } finally {
    libc.free(m.addr);
  }
}

/** modfind(name): the module's id by walking modnext (there is no modfind(2) here). */
async function modfind(libc: Libc, name: string): Promise<number> {
  for (let id = await libc.syscall(SYS_modnext, 0); id > 0;) {
    const ms = await modstat(libc, id);
    if (ms !== null && ms.name === name) return id;
    id = await libc.syscall(SYS_modnext, id);
  }
  return -1;
}

/** humanize_number(buf, 5, n, "", HN_AUTOSCALE, HN_DECIMAL | HN_NOSPACE): "11K", "1.5M". */
function humanize(n: number): string {
  const units = ['', 'K', 'M', 'G', 'T'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return String(n);
  return v < 9.95 ? `${v.toFixed(1)}${units[i]}` : `${Math.round(v)}${units[i]}`;
}

export const kldstat: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'dvqh', 'imn');
  const want = typeof o === 'string' ? undefined : o.flags.get('i');
  if (
    typeof o === 'string' ||
    o.rest.length > 0 ||
    (want !== undefined && !/^[0-9]+$/.test(want))
  ) {
    if (typeof o === 'string') await ctx.warn(o);
    await ctx.err(
      'usage: kldstat [-d] [-h] [-q] [-v] [-i id] [-n filename]\n       kldstat [-d] [-q] [-m modname]\n',
    );
    return EX_USAGE;
  }
  const libc = ctx.libc;
  const verbose = o.flags.has('v');
  const quiet = o.flags.has('q');
  const human = o.flags.has('h');
  const mname = o.flags.get('m');
  if (mname !== undefined) {
    /* -m: one module; -d adds its data (int, uint, ulong views of one union). */
    const id = await modfind(libc, mname);
    if (id < 0) {
      if (!quiet) await ctx.err(`kldstat: can't find module ${mname}: No such file or directory\n`);
      return 1;
    }
    if (quiet) return 0;
    const ms = await modstat(libc, id);
    if (ms === null) {
      await ctx.err(`kldstat: can't stat module id ${id}: ${libc.strerror()}\n`);
      return 0;
    }
    const head = `${String(ms.id).padStart(3)} ${String(ms.refs).padStart(4)} ${ms.name}`;
    if (o.flags.has('d')) {
      const i = BigInt.asIntN(32, ms.data);
      const u = BigInt.asUintN(32, ms.data);
      await ctx.out(
        `Id  Refs Name data..(int, uint, ulong)\n${head} (${i}, ${u}, 0x${ms.data.toString(16)})\n`,
      );
    } else await ctx.out(`Id  Refs Name\n${head}\n`);
    return 0;
  }
  let ids: number[] = [];
  const wname = o.flags.get('n');
  if (want !== undefined) ids = [Number(want)];
  else if (wname !== undefined) {
    const id = await libc.kldfind(wname);
    if (id < 0) {
      if (!quiet) await ctx.err(`kldstat: can't find file ${wname}: ${libc.strerror()}\n`);
      return 1;
    }
    if (quiet) return 0;
    ids = [id];
  } else for (let id = await libc.kldnext(0); id > 0; id = await libc.kldnext(id)) ids.push(id);
  /* "Id Refs Address%*c %8s Name": the address column is a pointer's 18 characters. */
  await ctx.out(`Id Refs Address${' '.repeat(11)} ${'Size'.padStart(human ? 5 : 8)} Name\n`);
  for (const id of ids) {
    const s: KldFileStat = {
      version: 0,
      name: '',
      refs: 0,
      id: 0,
      address: 0,
      size: 0,
      pathname: '',
    };
    if ((await libc.kldstat(id, s)) < 0) {
      await ctx.err(`kldstat: can't stat file id ${id}: ${libc.strerror()}\n`);
      return 1;
    }
    const addr = '0x' + s.address.toString(16);
    const name = verbose && s.pathname ? `${s.name} (${s.pathname})` : s.name;
    const size = human ? humanize(s.size).padStart(5) : s.size.toString(16).padStart(8);
    await ctx.out(
      `${String(s.id).padStart(2)} ${String(s.refs).padStart(4)} ${addr.padStart(18)} ${size} ${name}\n`,
    );
    if (!verbose) continue;
    await ctx.out('\tContains modules:\n\t\t Id Name\n');
    let mid = await libc.syscall(SYS_kldfirstmod, id);
    while (mid > 0) {
      const ms = await modstat(libc, mid);
      if (ms === null) break;
      await ctx.out(`\t\t${String(ms.id).padStart(3)} ${ms.name}\n`);
      const nx = await libc.syscall(SYS_modnext, mid);
      if (nx <= 0 || !(await modfile(libc, nx, id))) break;
      mid = nx;
    }
  }
  return 0;
};

/** Does module modid belong to file fileid?  (Walk the file's list from its first.) */
async function modfile(libc: Libc, modid: number, fileid: number): Promise<boolean> {
  // The next file's first module marks the end of this file's run.
  for (let id = await libc.kldnext(0); id > 0; id = await libc.kldnext(id)) {
    if (id === fileid) continue;
    if ((await libc.syscall(SYS_kldfirstmod, id)) === modid) return false;
  }
  return true;
}

/* ---------------------------------------------------------------------------------- */
/* hostname(1), uname(1), ident(1)                                                      */

export const hostname: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'fsd');
  if (typeof o === 'string' || o.rest.length > 1) {
    await ctx.err('usage: hostname [-f] [-s | -d] [name-of-host]\n');
    return EX_USAGE;
  }
  const libc = ctx.libc;
  const set = o.rest[0];
  if (set !== undefined) {
    if ((await libc.sysctlbyname('kern.hostname', null, null, enc.encode(set))) < 0) {
      await ctx.err(`hostname: sethostname: ${libc.strerror()}\n`);
      return 1;
    }
    return 0;
  }
  let h = (await libc.sysctlbyname_str('kern.hostname')) ?? '';
  if (o.flags.has('s')) h = h.split('.')[0] ?? '';
  else if (o.flags.has('d')) h = h.includes('.') ? h.slice(h.indexOf('.') + 1) : '';
  await ctx.out(h + '\n');
  return 0;
};

export const uname: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'amnprsviKU');
  if (typeof o === 'string' || o.rest.length > 0) {
    await ctx.err('usage: uname [-abiKmnoprsUv]\n');
    return EX_USAGE;
  }
  const libc = ctx.libc;
  const f = o.flags;
  const get = async (n: string): Promise<string> => (await libc.sysctlbyname_str(n)) ?? 'unknown';
  const parts: string[] = [];
  const all = f.has('a');
  const any = f.size > 0;
  if (all || f.has('s') || !any) parts.push(await get('kern.ostype'));
  if (all || f.has('n')) parts.push(await get('kern.hostname'));
  if (all || f.has('r')) parts.push(await get('kern.osrelease'));
  if (all || f.has('v'))
    parts.push((await get('kern.version')).replace(/[\n\t]/g, ' ').replace(/\s+$/, ''));
  if (all || f.has('m')) parts.push('amd64');
  if (f.has('p')) parts.push('amd64');
  if (f.has('i')) parts.push(await get('kern.ident'));
  if (f.has('K')) parts.push(String((await libc.sysctlbyname_num('kern.osreldate')) ?? 0));
  if (f.has('U')) parts.push(String((await libc.sysctlbyname_num('kern.osreldate')) ?? 0));
  await ctx.out(parts.join(' ') + '\n');
  return 0;
};

export const ident: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'qV');
  if (typeof o === 'string') {
    await ctx.err('usage: ident [-q] [-V] [file ...]\n');
    return EX_USAGE;
  }
  const files: { name: string; data: Uint8Array | null }[] = [];
  if (o.rest.length === 0) files.push({ name: '-', data: await ctx.stdin.readAll() });
  for (const name of o.rest) {
    const fd = await ctx.libc.open(name, O_RDONLY);
    if (fd < 0) {
      files.push({ name, data: null });
      continue;
    }
    files.push({ name, data: await new FdReader(ctx.libc, fd).readAll() });
    await ctx.libc.close(fd);
  }
  const r = ident_format(files, o.flags.has('q'));
  let out = r.out;
  if (o.rest.length === 0) out = out.replace(/^-:\n/, '');
  await ctx.out(out);
  await ctx.err(r.err);
  return r.status;
};

/* ---------------------------------------------------------------------------------- */
/* ddb(8)                                                                               */

async function ddbUsage(ctx: ProcCtx): Promise<number> {
  await ctx.err(
    'usage: ddb script scriptname\n' +
      '       ddb script scriptname=script\n' +
      '       ddb scripts\n' +
      '       ddb unscript scriptname\n' +
      '       ddb enter\n',
  );
  return EX_USAGE;
}

const EX_DATAERR = 65;
const EX_OSERR = 71;

/*
 * ddb(8) as FreeBSD's sbin/ddb: `script NAME=COMMANDS` sets, `script NAME` prints the
 * commands of one script (EX_DATAERR when there is none), `scripts` lists them,
 * `unscript NAME` removes one (EX_DATAERR when unknown); a failing sysctl is EX_OSERR.
 * `enter` (ours) is sysctl debug.kdb.enter=1.
 */
export const ddb: Program = async (ctx) => {
  const libc = ctx.libc;
  const [cmd, ...rest] = ctx.argv.slice(1);
  const oserr = async (oid: string): Promise<number> => {
    await ctx.err(`ddb: sysctl: ${oid}: ${libc.strerror()}\n`);
    return EX_OSERR;
  };
  switch (cmd) {
    case 'script': {
      /* The shell split "name=show pcpu; c" only if it was not quoted: join it back. */
      const s = rest.join(' ');
      if (rest.length === 0 || (!s.includes('=') && rest.length !== 1)) return ddbUsage(ctx);
      if (!s.includes('=')) {
        const v = await libc.sysctlbyname_str('debug.ddb.scripting.scripts');
        if (v === null) return oserr('debug.ddb.scripting.scripts');
        for (const line of v.split('\n')) {
          const eq = line.indexOf('=');
          if (eq >= 0 && line.slice(0, eq) === s) {
            await ctx.out(`${line.slice(eq + 1)}\n`);
            return 0;
          }
        }
        await ctx.err(`ddb: ${s}: No such file or directory\n`);
        return EX_DATAERR;
      }
      if ((await libc.sysctlbyname('debug.ddb.scripting.script', null, null, enc.encode(s))) < 0)
        return oserr('debug.ddb.scripting.scripts'); /* sic: FreeBSD names the list */
      return 0;
    }
    case 'scripts': {
      if (rest.length !== 0) return ddbUsage(ctx);
      const v = await libc.sysctlbyname_str('debug.ddb.scripting.scripts');
      if (v === null) return oserr('debug.ddb.scripting.scripts');
      await ctx.out(v);
      return 0;
    }
    case 'unscript': {
      if (rest.length !== 1) return ddbUsage(ctx);
      const name = rest[0]!;
      if (
        (await libc.sysctlbyname('debug.ddb.scripting.unscript', null, null, enc.encode(name))) < 0
      ) {
        if (libc.errno === EINVAL || libc.errno === ENOENT) {
          await ctx.err(`ddb: sysctl: ${name}: No such file or directory\n`);
          return EX_DATAERR;
        }
        return oserr('debug.ddb.scripting.unscript');
      }
      return 0;
    }
    case 'enter': {
      if (rest.length !== 0) return ddbUsage(ctx);
      const one = new Uint8Array(4);
      new DataView(one.buffer).setInt32(0, 1, true);
      if ((await libc.sysctlbyname('debug.kdb.enter', null, null, one)) < 0)
        return oserr('debug.kdb.enter');
      return 0;
    }
    default:
      return ddbUsage(ctx);
  }
};
