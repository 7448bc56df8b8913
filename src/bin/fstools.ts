/*
 * bin/fstools.ts — ls(1), mkdir(1), rm(1), rmdir(1) over stat/getdirentries/mkdir/
 * unlink/rmdir (lib/libc_fs.ts): the files below the jail root, as FreeBSD shows them.
 *
 * ls writes one name per line (as FreeBSD's ls does into a pipe; there is no terminal
 * width here), sorts by name in byte order, hides dot files unless -a/-A, and -l prints
 * FreeBSD's long format ("-rw-r--r--  1 root  wheel  5 Nov 27 03:40 f", "total N" in
 * 512-byte blocks, dates in UTC: "%b %e %H:%M" within six months of now, else
 * "%b %e  %Y").  Owners are shown as root/wheel: every process acts as the host user.
 *
 * XXX: no symbolic link targets (readlink), no -R, -t, -S; rm has no -r.
 */

import { CLOCK_REALTIME, clock_gettime, EX_USAGE, type Program } from '../lib/process.js';
import {
  lstat,
  mkdir as mkdir2,
  readdir,
  rmdir as rmdir2,
  unlink,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  type Stat,
} from '../lib/libc_fs.js';
import { getopt } from './filters.js';
import { EEXIST } from '../sys/errno.js';

function strmode(m: number): string {
  const t = m & S_IFMT;
  const c =
    t === S_IFDIR
      ? 'd'
      : t === S_IFLNK
        ? 'l'
        : t === 0o020000
          ? 'c'
          : t === 0o010000
            ? 'p'
            : t === 0o140000
              ? 's'
              : '-';
  const rwx = (v: number, sh: number): string =>
    (v & (4 << sh) ? 'r' : '-') + (v & (2 << sh) ? 'w' : '-') + (v & (1 << sh) ? 'x' : '-');
  let s = c + rwx(m, 6) + rwx(m, 3) + rwx(m, 0);
  if (m & 0o4000) s = s.slice(0, 3) + (m & 0o100 ? 's' : 'S') + s.slice(4);
  if (m & 0o2000) s = s.slice(0, 6) + (m & 0o10 ? 's' : 'S') + s.slice(7);
  if (m & 0o1000) s = s.slice(0, 9) + (m & 0o1 ? 't' : 'T');
  return s;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function lsdate(t: number, now: number): string {
  const d = new Date(t * 1000);
  const mon = MONTHS[d.getUTCMonth()]!;
  const day = String(d.getUTCDate()).padStart(2);
  const six = 182 * 86400;
  if (t > now - six && t < now + six)
    return `${mon} ${day} ${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  return `${mon} ${day}  ${d.getUTCFullYear()}`;
}

export const ls: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'laAF1d');
  if (typeof o === 'string') {
    await ctx.warn(o);
    await ctx.err('usage: ls [-1AadFl] [file ...]\n');
    return EX_USAGE;
  }
  const f = o.flags;
  const libc = ctx.libc;
  const now = Math.floor((await clock_gettime(libc, CLOCK_REALTIME)) / 1e9);
  const operands = o.rest.length > 0 ? o.rest : ['.'];
  let st = 0;
  const files: { name: string; path: string; sb: Stat }[] = [];
  const dirs: { name: string; path: string }[] = [];
  for (const a of operands) {
    const sb = await lstat(libc, a);
    if (sb === null) {
      await ctx.err(`ls: ${a}: ${libc.strerror()}\n`);
      st = 1;
      continue;
    }
    if ((sb.st_mode & S_IFMT) === S_IFDIR && !f.has('d')) dirs.push({ name: a, path: a });
    else files.push({ name: a, path: a, sb });
  }
  const suffix = (sb: Stat): string =>
    !f.has('F')
      ? ''
      : (sb.st_mode & S_IFMT) === S_IFDIR
        ? '/'
        : (sb.st_mode & S_IFMT) === S_IFLNK
          ? '@'
          : sb.st_mode & 0o111
            ? '*'
            : '';
  const print = async (list: { name: string; sb: Stat }[], total: boolean): Promise<void> => {
    if (!f.has('l')) {
      for (const e of list) await ctx.out(`${e.name}${suffix(e.sb)}\n`);
      return;
    }
    const wl = Math.max(1, ...list.map((e) => String(e.sb.st_nlink).length));
    const ws = Math.max(1, ...list.map((e) => String(e.sb.st_size).length));
    if (total) await ctx.out(`total ${list.reduce((n, e) => n + e.sb.st_blocks, 0)}\n`);
    for (const e of list)
      await ctx.out(
        `${strmode(e.sb.st_mode)}  ${String(e.sb.st_nlink).padStart(wl)} root  wheel  ${String(e.sb.st_size).padStart(ws)} ${lsdate(e.sb.st_mtime, now)} ${e.name}${suffix(e.sb)}\n`,
      );
  };
  const byName = (a: { name: string }, b: { name: string }): number =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  files.sort(byName);
  dirs.sort(byName);
  await print(files, false);
  let first = files.length === 0;
  for (const d of dirs) {
    const ents = await readdir(libc, d.path);
    if (ents === null) {
      await ctx.err(`ls: ${d.name}: ${libc.strerror()}\n`);
      st = 1;
      continue;
    }
    if (operands.length > 1) await ctx.out(`${first ? '' : '\n'}${d.name}:\n`);
    first = false;
    const list: { name: string; sb: Stat }[] = [];
    for (const e of ents) {
      if (
        e.d_name.startsWith('.') &&
        !f.has('a') &&
        !(f.has('A') && e.d_name !== '.' && e.d_name !== '..')
      )
        continue;
      const p = `${d.path.replace(/\/$/, '')}/${e.d_name}`;
      const sb = await lstat(libc, p);
      if (sb === null) continue;
      list.push({ name: e.d_name, sb });
    }
    list.sort(byName);
    await print(list, true);
  }
  return st;
};

export const mkdir: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'pv', 'm');
  if (typeof o === 'string' || o.rest.length === 0) {
    await ctx.err('usage: mkdir [-pv] [-m mode] directory_name ...\n');
    return EX_USAGE;
  }
  const mode = o.flags.has('m') ? parseInt(o.flags.get('m')!, 8) : 0o777;
  let st = 0;
  for (const d of o.rest) {
    const parts = o.flags.has('p')
      ? d
          .split('/')
          .map((_, i, a) => a.slice(0, i + 1).join('/'))
          .filter((x) => x !== '')
      : [d];
    for (const p of parts) {
      if ((await mkdir2(ctx.libc, p, mode)) < 0) {
        if (o.flags.has('p') && ctx.libc.errno === EEXIST) continue;
        await ctx.err(`mkdir: ${p}: ${ctx.libc.strerror()}\n`);
        st = 1;
        break;
      }
      if (o.flags.has('v')) await ctx.out(`${p}\n`);
    }
  }
  return st;
};

export const rm: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'fvd');
  if (typeof o === 'string' || (o.rest.length === 0 && !o.flags.has('f'))) {
    await ctx.err('usage: rm [-dfv] file ...\n');
    return EX_USAGE;
  }
  let st = 0;
  for (const p of o.rest) {
    const sb = await lstat(ctx.libc, p);
    const isdir = sb !== null && (sb.st_mode & S_IFMT) === S_IFDIR;
    const r =
      isdir && o.flags.has('d')
        ? await rmdir2(ctx.libc, p)
        : isdir
          ? -2
          : await unlink(ctx.libc, p);
    if (r === -2) {
      await ctx.err(`rm: ${p}: is a directory\n`);
      st = 1;
    } else if (r < 0) {
      if (o.flags.has('f') && sb === null) continue;
      await ctx.err(`rm: ${p}: ${ctx.libc.strerror()}\n`);
      st = 1;
    } else if (o.flags.has('v')) await ctx.out(`${p}\n`);
  }
  return st;
};

export const rmdir: Program = async (ctx) => {
  const o = getopt(ctx.argv, 'pv');
  if (typeof o === 'string' || o.rest.length === 0) {
    await ctx.err('usage: rmdir [-pv] directory ...\n');
    return EX_USAGE;
  }
  let st = 0;
  for (const p of o.rest)
    if ((await rmdir2(ctx.libc, p)) < 0) {
      await ctx.err(`rmdir: ${p}: ${ctx.libc.strerror()}\n`);
      st = 1;
    }
  return st;
};
