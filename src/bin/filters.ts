/*
 * bin/filters.ts — the text and data tools: cat, echo, grep, head, tail, wc, sort,
 * uniq, tee, sha256, md5, dd, sleep, true, false, kill, pwd.
 *
 * Each is a userland program (lib/process.ts Program): it reads files with open(2) and
 * read(2), standard input from descriptor 0, and writes with write(2); output formats
 * and messages are FreeBSD's (wc's " %7d" columns, "SHA256 (file) = ...", dd's
 * "N+M records in" summary, "prog: file: No such file or directory").
 *
 * Differences: grep uses JavaScript regular expressions (a basic regular expression is
 * translated: \( \) \{ \} \| become groups, braces and alternation, and bare ( ) { } | +
 * ? are literal); sort compares by UTF-16 code units (the C locale's byte order for
 * ASCII); sha256 and md5 compute their digests with node:crypto.
 */

import { createHash } from 'node:crypto';
import type { Libc } from '../lib/libc.js';
import {
  CLOCK_MONOTONIC,
  clock_gettime,
  getcwd,
  kill,
  nanosleep,
  writeAll,
  FdReader,
  EX_USAGE,
  type ProcCtx,
  type Program,
} from '../lib/process.js';
import { O_APPEND, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY } from '../sys/fcntl.js';
import { parse_kill, parse_seconds } from './sh/sh.js';

const dec = new TextDecoder();

/** Open each operand (or "-" / none: standard input) in turn; null on failure (reported). */
async function* inputs(
  ctx: ProcCtx,
  files: readonly string[],
  prog: string,
  bad: { n: number },
): AsyncGenerator<{ name: string | null; rd: FdReader }> {
  if (files.length === 0) {
    yield { name: null, rd: ctx.stdin };
    return;
  }
  for (const f of files) {
    if (f === '-') {
      yield { name: '-', rd: ctx.stdin };
      continue;
    }
    const fd = await ctx.libc.open(f, O_RDONLY);
    if (fd < 0) {
      await ctx.err(`${prog}: ${f}: ${ctx.libc.strerror()}\n`);
      bad.n++;
      continue;
    }
    try {
      yield { name: f, rd: new FdReader(ctx.libc, fd) };
    } finally {
      await ctx.libc.close(fd);
    }
  }
}

/** getopt(3), reduced: flags (letters) and options with a value (in `withArg`). */
export function getopt(
  argv: readonly string[],
  letters: string,
  withArg = '',
): { flags: Map<string, string>; rest: string[] } | string {
  const flags = new Map<string, string>();
  let i = 1;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      if (withArg.includes(c)) {
        const v = a.slice(j + 1) || argv[++i];
        if (v === undefined) return `option requires an argument -- ${c}`;
        flags.set(c, v);
        break;
      }
      if (!letters.includes(c)) return `illegal option -- ${c}`;
      flags.set(c, '');
    }
  }
  return { flags, rest: argv.slice(i) };
}

async function usage(ctx: ProcCtx, msg: string | null, text: string): Promise<number> {
  if (msg !== null) await ctx.warn(msg);
  await ctx.err(`usage: ${text}\n`);
  return EX_USAGE;
}

export const cat: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'nu');
  if (typeof o === 'string') return usage(ctx, o, 'cat [-nu] [file ...]');
  const bad = { n: 0 };
  let line = 0;
  for await (const { rd } of inputs(ctx, o.rest, 'cat', bad)) {
    if (o.flags.has('n')) {
      for (let l = await rd.readLine(); l !== null; l = await rd.readLine())
        if (!(await ctx.out(`${String(++line).padStart(6)}\t${l}\n`))) return 1;
      continue;
    }
    for (let b = await rd.readChunk(); b !== null; b = await rd.readChunk())
      if (!(await ctx.out(b))) return 1;
  }
  return bad.n > 0 ? 1 : 0;
};

export const echo: Program = async (ctx) => {
  let a = ctx.argv.slice(1);
  let nl = true;
  if (a[0] === '-n') {
    nl = false;
    a = a.slice(1);
  }
  return (await ctx.out(a.join(' ') + (nl ? '\n' : ''))) ? 0 : 1;
};

/** Translate a POSIX basic regular expression to a JavaScript one. */
export function bre_to_js(re: string): string {
  let out = '';
  for (let i = 0; i < re.length; i++) {
    const c = re[i]!;
    if (c === '\\' && i + 1 < re.length) {
      const d = re[++i]!;
      if ('(){}|+?'.includes(d)) out += d;
      else out += '\\' + d;
      continue;
    }
    if ('(){}|+?'.includes(c)) out += '\\' + c;
    else out += c;
  }
  return out;
}

export const grep: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'vciqEnlFh', 'e');
  const U = 'grep [-cEFhilnqv] [-e pattern] [pattern] [file ...]';
  if (typeof o === 'string') return usage(ctx, o, U);
  const f = o.flags;
  const rest = [...o.rest];
  const pat = f.get('e') ?? rest.shift();
  if (pat === undefined) return usage(ctx, null, U);
  let src = f.has('F')
    ? pat.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    : f.has('E')
      ? pat
      : bre_to_js(pat);
  if (src === '') src = '(?:)';
  let re: RegExp;
  try {
    re = new RegExp(src, f.has('i') ? 'i' : '');
  } catch {
    await ctx.err(`grep: ${pat}: invalid regular expression\n`);
    return 2;
  }
  const bad = { n: 0 };
  let any = false;
  const multi = rest.length > 1 && !f.has('h');
  for await (const { name, rd } of inputs(ctx, rest, 'grep', bad)) {
    let count = 0;
    let lineno = 0;
    for (let l = await rd.readLine(); l !== null; l = await rd.readLine()) {
      lineno++;
      if (re.test(l) === f.has('v')) continue;
      count++;
      any = true;
      if (f.has('q')) return 0;
      if (f.has('c') || f.has('l')) continue;
      const pre =
        (multi ? `${name ?? '(standard input)'}:` : '') + (f.has('n') ? `${lineno}:` : '');
      if (!(await ctx.out(`${pre}${l}\n`))) return 2;
    }
    if (f.has('l') && count > 0) await ctx.out(`${name ?? '(standard input)'}\n`);
    else if (f.has('c')) await ctx.out(`${multi ? `${name}:` : ''}${count}\n`);
  }
  if (bad.n > 0) return 2;
  return any ? 0 : 1;
};

/** -n N, or the historical -N. */
function countOpt(argv: readonly string[]): { n: number; rest: string[]; plus: boolean } | string {
  const a = [...argv];
  let n = 10;
  let plus = false;
  const m = /^-([0-9]+)$/.exec(a[1] ?? '');
  if (m) {
    n = Number(m[1]);
    a.splice(1, 1);
  }
  const o = getopt(a, '', 'n');
  if (typeof o === 'string') return o;
  const v = o.flags.get('n');
  if (v !== undefined) {
    if (!/^[+-]?[0-9]+$/.test(v)) return `illegal line count -- ${v}`;
    plus = v.startsWith('+');
    n = Math.abs(Number(v));
  }
  return { n, rest: o.rest, plus };
}

export const head: Program = async (ctx) => {
  const o = countOpt(ctx.argv);
  if (typeof o === 'string') return usage(ctx, o, 'head [-n lines] [file ...]');
  const bad = { n: 0 };
  let first = true;
  for await (const { name, rd } of inputs(ctx, o.rest, 'head', bad)) {
    if (o.rest.length > 1) await ctx.out(`${first ? '' : '\n'}==> ${name} <==\n`);
    first = false;
    for (let i = 0; i < o.n; i++) {
      const l = await rd.readLine();
      if (l === null) break;
      if (!(await ctx.out(l + '\n'))) return 1;
    }
  }
  return bad.n > 0 ? 1 : 0;
};

export const tail: Program = async (ctx) => {
  const o = countOpt(ctx.argv);
  if (typeof o === 'string') return usage(ctx, o, 'tail [-n lines] [file ...]');
  const bad = { n: 0 };
  for await (const { rd } of inputs(ctx, o.rest, 'tail', bad)) {
    const lines: string[] = [];
    for (let l = await rd.readLine(); l !== null; l = await rd.readLine()) lines.push(l);
    const sel = o.plus ? lines.slice(Math.max(0, o.n - 1)) : o.n === 0 ? [] : lines.slice(-o.n);
    if (sel.length > 0 && !(await ctx.out(sel.join('\n') + '\n'))) return 1;
  }
  return bad.n > 0 ? 1 : 0;
};

export const wc: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'lwcm');
  if (typeof o === 'string') return usage(ctx, o, 'wc [-clmw] [file ...]');
  let f = o.flags;
  if (f.size === 0)
    f = new Map([
      ['l', ''],
      ['w', ''],
      ['c', ''],
    ]);
  const bad = { n: 0 };
  const tot = [0, 0, 0];
  let nfiles = 0;
  const row = (c: number[], name: string | null): string => {
    let s = '';
    if (f.has('l')) s += ` ${String(c[0]).padStart(7)}`;
    if (f.has('w')) s += ` ${String(c[1]).padStart(7)}`;
    if (f.has('c') || f.has('m')) s += ` ${String(c[2]).padStart(7)}`;
    return s + (name !== null ? ` ${name}` : '') + '\n';
  };
  for await (const { name, rd } of inputs(ctx, o.rest, 'wc', bad)) {
    const b = await rd.readAll();
    let lines = 0;
    for (const x of b) if (x === 0x0a) lines++;
    const words = dec
      .decode(b)
      .split(/\s+/)
      .filter((w) => w !== '').length;
    const c = [lines, words, b.length];
    tot[0]! += lines;
    tot[1]! += words;
    tot[2]! += b.length;
    nfiles++;
    await ctx.out(row(c, name === '-' ? null : name));
  }
  if (nfiles > 1) await ctx.out(row(tot, 'total'));
  return bad.n > 0 ? 1 : 0;
};

export const sort: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'nruf');
  if (typeof o === 'string') return usage(ctx, o, 'sort [-fnru] [file ...]');
  const f = o.flags;
  const bad = { n: 0 };
  const lines: string[] = [];
  for await (const { rd } of inputs(ctx, o.rest, 'sort', bad))
    for (let l = await rd.readLine(); l !== null; l = await rd.readLine()) lines.push(l);
  if (bad.n > 0) return 2;
  const key = (s: string): string => (f.has('f') ? s.toUpperCase() : s);
  const num = (s: string): number => {
    const m = /^\s*(-?[0-9]*\.?[0-9]+)/.exec(s);
    return m ? Number(m[1]) : 0;
  };
  const cmp = (a: string, b: string): number => {
    if (f.has('n')) {
      const d = num(a) - num(b);
      if (d !== 0) return d;
      if (f.has('u')) return 0;
    }
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
  lines.sort(cmp);
  if (f.has('r')) lines.reverse();
  const outl: string[] = [];
  for (const l of lines)
    if (!f.has('u') || outl.length === 0 || cmp(outl[outl.length - 1]!, l) !== 0) outl.push(l);
  if (outl.length > 0 && !(await ctx.out(outl.join('\n') + '\n'))) return 2;
  return 0;
};

export const uniq: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'cdu');
  if (typeof o === 'string') return usage(ctx, o, 'uniq [-c | -d | -u] [input [output]]');
  const f = o.flags;
  const bad = { n: 0 };
  let prev: string | null = null;
  let n = 0;
  const flush = async (): Promise<void> => {
    if (prev === null) return;
    if (f.has('d') && n < 2) return;
    if (f.has('u') && n > 1) return;
    await ctx.out(f.has('c') ? `${String(n).padStart(4)} ${prev}\n` : `${prev}\n`);
  };
  for await (const { rd } of inputs(ctx, o.rest.slice(0, 1), 'uniq', bad))
    for (let l = await rd.readLine(); l !== null; l = await rd.readLine()) {
      if (l === prev) {
        n++;
        continue;
      }
      await flush();
      prev = l;
      n = 1;
    }
  await flush();
  return bad.n > 0 ? 1 : 0;
};

export const tee: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'ai');
  if (typeof o === 'string') return usage(ctx, o, 'tee [-ai] [file ...]');
  const fds: number[] = [];
  let st = 0;
  for (const f of o.rest) {
    const fd = await ctx.libc.open(
      f,
      O_WRONLY | O_CREAT | (o.flags.has('a') ? O_APPEND : O_TRUNC),
      0o666,
    );
    if (fd < 0) {
      await ctx.err(`tee: ${f}: ${ctx.libc.strerror()}\n`);
      st = 1;
    } else fds.push(fd);
  }
  for (let b = await ctx.stdin.readChunk(); b !== null; b = await ctx.stdin.readChunk()) {
    await ctx.out(b);
    for (const fd of fds) await writeAll(ctx.libc, fd, b);
  }
  for (const fd of fds) await ctx.libc.close(fd);
  return st;
};

function digest(alg: 'sha256' | 'md5', label: string): Program {
  return async (ctx) => {
    const o = getopt(ctx.argv, 'qr', 's');
    if (typeof o === 'string') return usage(ctx, o, `${alg} [-qr] [-s string] [files ...]`);
    const f = o.flags;
    const fmt = (hex: string, name: string): string =>
      f.has('q') ? `${hex}\n` : f.has('r') ? `${hex} ${name}\n` : `${label} (${name}) = ${hex}\n`;
    const s = f.get('s');
    if (s !== undefined) {
      await ctx.out(fmt(createHash(alg).update(s).digest('hex'), `"${s}"`));
      return 0;
    }
    if (o.rest.length === 0) {
      const b = await ctx.stdin.readAll();
      await ctx.out(createHash(alg).update(b).digest('hex') + '\n');
      return 0;
    }
    const bad = { n: 0 };
    for await (const { name, rd } of inputs(ctx, o.rest, alg, bad)) {
      const b = await rd.readAll();
      await ctx.out(fmt(createHash(alg).update(b).digest('hex'), name ?? '-'));
    }
    return bad.n > 0 ? 1 : 0;
  };
}

export const sha256 = digest('sha256', 'SHA256');
export const md5 = digest('md5', 'MD5');

/** A dd size: N[bkmg] (b = 512). */
function ddsize(s: string): number | null {
  const m = /^([0-9]+)([bkmgBKMG]?)$/.exec(s);
  if (!m) return null;
  const mul: Record<string, number> = { '': 1, b: 512, k: 1024, m: 1 << 20, g: 1 << 30 };
  return Number(m[1]) * mul[m[2]!.toLowerCase()]!;
}

async function readFull(libc: Libc, fd: number, n: number): Promise<Uint8Array | number> {
  const b = new Uint8Array(n);
  const r = await libc.read(fd, b);
  if (r < 0) return libc.errno;
  return b.subarray(0, r);
}

export const dd: Program = async (ctx) => {
  let ifile: string | null = null;
  let ofile: string | null = null;
  let bs = 512;
  let count = Infinity;
  for (const a of ctx.argv.slice(1)) {
    const eq = a.indexOf('=');
    const k = a.slice(0, eq);
    const v = a.slice(eq + 1);
    if (eq < 0) {
      await ctx.err(`dd: unknown operand ${a}\n`);
      return 1;
    }
    if (k === 'if') ifile = v;
    else if (k === 'of') ofile = v;
    else if (k === 'bs' || k === 'ibs' || k === 'obs') {
      const n = ddsize(v);
      if (n === null || n === 0) {
        await ctx.err(`dd: ${k}: illegal numeric value\n`);
        return 1;
      }
      bs = n;
    } else if (k === 'count') {
      const n = ddsize(v);
      if (n === null) {
        await ctx.err(`dd: count: illegal numeric value\n`);
        return 1;
      }
      count = n;
    } else {
      await ctx.err(`dd: unknown operand ${k}\n`);
      return 1;
    }
  }
  const libc = ctx.libc;
  let ifd = 0;
  let ofd = 1;
  if (ifile !== null) {
    ifd = await libc.open(ifile, O_RDONLY);
    if (ifd < 0) {
      await ctx.err(`dd: ${ifile}: ${libc.strerror()}\n`);
      return 1;
    }
  }
  if (ofile !== null) {
    ofd = await libc.open(ofile, O_WRONLY | O_CREAT | O_TRUNC, 0o666);
    if (ofd < 0) {
      await ctx.err(`dd: ${ofile}: ${libc.strerror()}\n`);
      return 1;
    }
  }
  const t0 = await clock_gettime(libc, CLOCK_MONOTONIC);
  let inFull = 0;
  let inPart = 0;
  let outFull = 0;
  let outPart = 0;
  let bytes = 0;
  let st = 0;
  while (inFull + inPart < count) {
    const b = await readFull(libc, ifd, bs);
    if (typeof b === 'number') {
      await ctx.err(`dd: ${ifile ?? 'stdin'}: ${libc.strerror(b)}\n`);
      st = 1;
      break;
    }
    if (b.length === 0) break;
    if (b.length === bs) inFull++;
    else inPart++;
    if (!(await writeAll(libc, ofd, b))) {
      await ctx.err(`dd: ${ofile ?? 'stdout'}: ${libc.strerror()}\n`);
      st = 1;
      break;
    }
    if (b.length === bs) outFull++;
    else outPart++;
    bytes += b.length;
  }
  const t1 = await clock_gettime(libc, CLOCK_MONOTONIC);
  let secs = (t1 - t0) / 1e9;
  if (secs < 1e-6) secs = 1e-6;
  await ctx.err(
    `${inFull}+${inPart} records in\n${outFull}+${outPart} records out\n` +
      `${bytes} bytes transferred in ${(Math.max(t1 - t0, 0) / 1e9).toFixed(6)} secs (${Math.round(bytes / secs)} bytes/sec)\n`,
  );
  if (ifile !== null) await libc.close(ifd);
  if (ofile !== null) await libc.close(ofd);
  return st;
};

export const sleep: Program = async (ctx) => {
  const ns = ctx.argv.length === 2 ? parse_seconds(ctx.argv[1]!) : null;
  if (ns === null) {
    await ctx.err('usage: sleep seconds\n');
    return EX_USAGE;
  }
  return (await nanosleep(ctx.libc, ns)) < 0 ? 1 : 0;
};

export const true_: Program = async () => 0;
export const false_: Program = async () => 1;

export const pwd: Program = async (ctx) => {
  const cwd = await getcwd(ctx.libc);
  if (cwd === null) {
    await ctx.warn(ctx.libc.strerror());
    return 1;
  }
  await ctx.out(cwd + '\n');
  return 0;
};

export const killp: Program = async (ctx) => {
  const pk = parse_kill(ctx.argv);
  if (typeof pk === 'string') {
    await ctx.err(`kill: ${pk}\n`);
    return 2;
  }
  let st = 0;
  for (const t of pk.targets) {
    if (!/^[0-9]+$/.test(t)) {
      await ctx.err(`kill: illegal process id: ${t}\n`);
      st = 2;
      continue;
    }
    if ((await kill(ctx.libc, Number(t), pk.sig)) < 0) {
      await ctx.err(`kill: ${t}: ${ctx.libc.strerror()}\n`);
      st = 1;
    }
  }
  return st;
};
