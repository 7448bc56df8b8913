/*
 * bin/jailtools.ts — jail(8), jls(8) and jexec(8), over jail_set/jail_get/
 * jail_remove/jail_attach (lib/libjail.ts).
 *
 *   jail -c [-v] param[=value] ... [command=prog arg ...]   create ("NAME: created")
 *   jail -m param=value ...                                  modify (host.hostname, persist)
 *   jail -r jail ...                                         remove ("NAME: removed")
 *   jls [-dhNnqsv] [-j jail] [param ...]                     list (a table; with
 *                                                            parameters their values,
 *                                                            -n as name=value, -h with
 *                                                            a header, -q quoted)
 *   jexec jail [command ...]                                 run a command inside
 *
 * Boolean parameters are given bare (`vnet`, `persist`) or negated (`novnet`,
 * `nopersist`).  jexec is FreeBSD's: jail_attach(2) itself into the jail, then run the
 * command there (posix_spawn + wait) and exit with its status; without a command it runs
 * an interactive sh.
 *
 * Difference: a jail created without host.hostname gets its name as hostname (FreeBSD
 * inherits the parent's), so the console prompt says which jail it is in.
 */

import { EX_USAGE, posix_spawn, shell_status, wait4, type Program } from '../lib/process.js';
import {
  JAIL_ATTACH,
  JAIL_CREATE,
  JAIL_SYS_NEW,
  JAIL_UPDATE,
  jail_attach,
  jail_getid,
  jail_getv,
  jail_remove,
  jail_setv,
  JAIL_PARAM_TYPES,
  type JailValue,
} from '../lib/libjail.js';
import { ENOENT } from '../sys/errno.js';

/**
 * One "name[=value]" argument as libjail's jailparam_import reads it; a value the
 * parameter's type cannot take is an error in its words (a string).
 */
function parseParam(a: string): [string, JailValue] | string {
  const eq = a.indexOf('=');
  if (eq < 0) {
    if (a === 'vnet') return ['vnet', JAIL_SYS_NEW];
    return [a, null];
  }
  const n = a.slice(0, eq);
  const v = a.slice(eq + 1);
  if (n === 'vnet') {
    /* A jailsys parameter: disable, new, inherit (or their numbers). */
    const i = ['disable', 'new', 'inherit'].indexOf(v.toLowerCase());
    if (i >= 0) return ['vnet', i];
    if (/^[0-2]$/.test(v)) return ['vnet', Number(v)];
    return `${n}: unknown jailsys value "${v}"`;
  }
  if (n === 'jid' || n === 'children.max') {
    if (!/^-?[0-9]+$/.test(v)) return `${n}: non-integer value "${v}"`;
    return [n, Number(v)];
  }
  if (n === 'persist') return ['persist', v === 'false' || v === '0' ? 0 : 1];
  return [n, v];
}

export const jail: Program = async (ctx) => {
  const U =
    'usage: jail [-dhilqv] [-J jid_file] [-u username] [-U username]\n' +
    '            -[cmr] param=value ... [command=command ...]\n' +
    '       jail [-dqv] [-f file] -[cmr] [jail]\n';
  const argv = ctx.argv.slice(1);
  let mode = '';
  let verbose = false;
  while (argv[0] !== undefined && /^-[a-zA-Z]+$/.test(argv[0])) {
    for (const f of argv.shift()!.slice(1)) {
      if (f === 'c' || f === 'm' || f === 'r') mode += f;
      else if (f === 'v') verbose = true;
      else if (f === 'q' || f === 'd') continue;
      else {
        await ctx.err(U);
        return EX_USAGE;
      }
    }
  }
  if (mode.length !== 1 && mode !== 'cm' && mode !== 'mc') {
    await ctx.err(U);
    return EX_USAGE;
  }
  const libc = ctx.libc;
  if (mode === 'r') {
    if (argv.length === 0) {
      await ctx.err(U);
      return EX_USAGE;
    }
    let st = 0;
    for (const j of argv) {
      const jid = await jail_getid(libc, j);
      if (jid < 0) {
        await ctx.err(`jail: "${j}" not found\n`);
        st = 1;
        continue;
      }
      if ((await jail_remove(libc, jid)) < 0) {
        await ctx.err(`jail: ${j}: jail_remove: ${libc.strerror()}\n`);
        st = 1;
        continue;
      }
      await ctx.out(`${j}: removed\n`);
    }
    return st;
  }
  const params: [string, JailValue][] = [];
  let command: string[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('command=')) {
      command = [a.slice('command='.length), ...argv.slice(i + 1)];
      break;
    }
    const pp = parseParam(a);
    if (typeof pp === 'string') {
      await ctx.err(`jail: ${pp}\n`);
      return 1;
    }
    params.push(pp);
  }
  const name = params.find(([n]) => n === 'name')?.[1];
  if (
    mode.includes('c') &&
    !params.some(([n]) => n === 'host.hostname') &&
    typeof name === 'string'
  )
    params.push(['host.hostname', name]);
  const flags =
    (mode.includes('c') ? JAIL_CREATE : 0) |
    (mode.includes('m') ? JAIL_UPDATE : 0) |
    (command !== null ? JAIL_ATTACH : 0);
  if (command !== null) {
    // The jail is entered by a child (jexec's way), so this process stays outside.
    const r = await jail_setv(libc, flags & ~JAIL_ATTACH, params);
    if (r.jid < 0) {
      await ctx.err(`jail: ${r.errmsg || libc.strerror()}\n`);
      return 1;
    }
    if (mode.includes('c')) await ctx.out(`${name ?? r.jid}: created\n`);
    const pid = await posix_spawn(
      libc,
      '/usr/sbin/jexec',
      ['jexec', String(r.jid), ...command],
      envp(ctx.env),
      [0, 1, 2],
    );
    if (pid < 0) return 1;
    const w = await wait4(libc, pid);
    return w === null ? 1 : shell_status(w.status);
  }
  const r = await jail_setv(libc, flags, params);
  if (r.jid < 0) {
    await ctx.err(`jail: ${r.errmsg || libc.strerror()}\n`);
    return 1;
  }
  if (mode.includes('c')) await ctx.out(`${name ?? r.jid}: created\n`);
  else if (verbose) await ctx.out(`${name ?? r.jid}: updated\n`);
  return 0;
};

function envp(env: ReadonlyMap<string, string>): string[] {
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/* jls -n without parameters: every parameter, in FreeBSD's order (the top-level ones,
 * then the dotted ones). */
const JLS_ALL = [
  'dying',
  'jid',
  'name',
  'parent',
  'path',
  'persist',
  'vnet',
  'children.cur',
  'children.max',
  'host.hostname',
];
/* Booleans print as "persist"/"nopersist" with -n, "true"/"false" without; vnet is a
 * jailsys parameter ("new", "inherit"). */
const JLS_BOOL = new Set(['dying', 'persist']);

/** A parameter's value as jailparam_export writes it. */
function jls_value(name: string, v: string | number | undefined): string {
  if (v === undefined) return '';
  if (JLS_BOOL.has(name)) return v ? 'true' : 'false';
  if (name === 'vnet') return v === JAIL_SYS_NEW ? 'new' : v === 2 ? 'inherit' : 'disable';
  return String(v);
}

/** -q: quotes around a value with spaces or quotes, or an empty one. */
function jls_quote(v: string, q: boolean): string {
  return q && (v === '' || /[\s"']/.test(v)) ? `"${v.replace(/"/g, '\\"')}"` : v;
}

export const jls: Program = async (ctx) => {
  const U = 'usage: jls [-dhNnqsv] [-j jail] [param ...]\n';
  const argv = ctx.argv.slice(1);
  let only: string | null = null;
  let verbose = false;
  let nameFirst = false;
  let header = false;
  let pairs = false;
  let quote = false;
  /* getopt("dhj:Nnqsv"). */
  while (argv[0] !== undefined && argv[0].startsWith('-') && argv[0] !== '-') {
    const a = argv.shift()!;
    if (a === '--') break;
    for (let i = 1; i < a.length; i++) {
      const c = a[i]!;
      if (c === 'j') {
        only = a.slice(i + 1) || (argv.shift() ?? null);
        if (only === null) {
          await ctx.err(`jls: option requires an argument -- j\n${U}`);
          return EX_USAGE;
        }
        break;
      }
      if (c === 'v') verbose = true;
      else if (c === 'N') nameFirst = true;
      else if (c === 'h') header = true;
      else if (c === 'n' || c === 's') pairs = true;
      else if (c === 'q') quote = true;
      else if (c === 'd') continue; /* dying jails: removal here is immediate */
      else {
        await ctx.err(`jls: illegal option -- ${c}\n${U}`);
        return EX_USAGE;
      }
    }
  }
  for (const n of argv)
    if (!JAIL_PARAM_TYPES.has(n) || n === 'lastjid') {
      await ctx.err(`jls: unknown parameter: ${n}\n`);
      return 1;
    }
  const libc = ctx.libc;
  const listed = argv.length > 0 ? argv : pairs ? JLS_ALL : [];
  const names = [
    ...new Set(['jid', 'name', 'host.hostname', 'path', 'vnet', 'persist', ...listed]),
  ];
  const rows: Map<string, string | number>[] = [];
  if (only !== null) {
    const byjid = /^[0-9]+$/.test(only);
    const key: [string, JailValue] = byjid ? ['jid', Number(only)] : ['name', only];
    const r = await jail_getv(libc, key, names);
    if (r.jid < 0) {
      await ctx.err(
        libc.errno === ENOENT
          ? `jls: jail ${byjid ? only : `"${only}"`} not found\n`
          : `jls: ${r.errmsg || libc.strerror()}\n`,
      );
      return 1;
    }
    rows.push(r.values);
  } else {
    let last = 0;
    for (;;) {
      const r = await jail_getv(libc, ['lastjid', last], names);
      if (r.jid < 0) {
        if (libc.errno !== ENOENT) {
          await ctx.err(`jls: ${r.errmsg || libc.strerror()}\n`);
          return 1;
        }
        break;
      }
      rows.push(r.values);
      last = r.jid;
    }
  }
  if (listed.length > 0) {
    /* Parameters: values (or name=value pairs with -n), one jail per line. */
    let out = header ? listed.join(' ') + '\n' : '';
    for (const r of rows) {
      const f = listed.map((n) => {
        const v = r.get(n);
        if (pairs && JLS_BOOL.has(n)) return v ? n : `no${n}`;
        const s = jls_quote(jls_value(n, v), quote);
        return pairs ? `${n}=${s}` : s;
      });
      out += f.join(' ') + '\n';
    }
    await ctx.out(out);
    return 0;
  }
  if (verbose) {
    await ctx.out(
      '   JID  Hostname                      Path\n        Name                          State\n        CPUSetID\n        IP Address(es)\n',
    );
    for (const r of rows)
      await ctx.out(
        `${String(r.get('jid')).padStart(6)}  ${String(r.get('host.hostname')).padEnd(29).slice(0, 29)} ${r.get('path')}\n` +
          `        ${String(r.get('name')).padEnd(29).slice(0, 29)} ACTIVE\n        ${r.get('jid')}\n`,
      );
    return 0;
  }
  await ctx.out(
    nameFirst
      ? ' JID             IP Address      Hostname                      Path\n'
      : '   JID  IP Address      Hostname                      Path\n',
  );
  for (const r of rows) {
    const jid = nameFirst ? String(r.get('name')).padStart(16) : String(r.get('jid')).padStart(6);
    await ctx.out(
      `${jid}  ${''.padEnd(15)} ${String(r.get('host.hostname')).padEnd(29).slice(0, 29)} ${String(r.get('path')).slice(0, 74)}\n`,
    );
  }
  return 0;
};

export const jexec: Program = async (ctx) => {
  const argv = ctx.argv.slice(1);
  while (argv[0] === '-l') argv.shift();
  const j = argv.shift();
  if (j === undefined) {
    await ctx.err('usage: jexec [-l] [-u username | -U username] jail [command ...]\n');
    return EX_USAGE;
  }
  const libc = ctx.libc;
  const jid = await jail_getid(libc, j);
  if (jid < 0) {
    await ctx.err(`jexec: jail "${j}" not found\n`);
    return 1;
  }
  if ((await jail_attach(libc, jid)) < 0) {
    await ctx.err(`jexec: jail_attach(${jid}): ${libc.strerror()}\n`);
    return 1;
  }
  const cmd = argv.length > 0 ? argv : ['sh', '-i'];
  const env = envp(ctx.env);
  const name = cmd[0]!;
  const path = ctx.env.get('PATH') ?? '/sbin:/bin:/usr/sbin:/usr/bin';
  const cands = name.includes('/') ? [name] : path.split(':').map((d) => `${d}/${name}`);
  for (const c of cands) {
    const pid = await posix_spawn(libc, c, cmd, env, [0, 1, 2]);
    if (pid < 0) {
      if (libc.errno === ENOENT) continue;
      await ctx.err(`jexec: execvp: ${name}: ${libc.strerror()}\n`);
      return 1;
    }
    const w = await wait4(libc, pid);
    return w === null ? 1 : shell_status(w.status);
  }
  await ctx.err(`jexec: execvp: ${name}: No such file or directory\n`);
  return 1;
};
