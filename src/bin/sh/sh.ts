/*
 * bin/sh/sh.ts — the shell: a userland program (/bin/sh) that runs command lines.
 *
 * It is sh(1)'s execution model on top of parse.ts: each list item is an AND-OR list of
 * pipelines; a pipeline of one builtin runs in the shell itself; everything else runs
 * as processes created with posix_spawn (lib/process.ts), connected by pipe(2), with
 * redirections opened by the shell and handed over in the descriptor map.  The shell
 * waits (wait4) for a foreground pipeline; its status is the last command's (128+N when
 * killed by signal N), inverted by `!`.  `&` starts a background job: `jobs`, `wait
 * [pid|%n]` and `kill [-s sig|-sig] pid|%n` manage them; `$!` is the last one's pid.
 * There is no job control (no process groups, fg/bg or SIGTTIN), so a background job's
 * standard input is /dev/null unless the job redirects it.
 *
 * Expansion: parameters ($NAME, ${NAME}, $?, $$, $!, $#, $0..$9) inside words; results
 * of unquoted expansions are split into fields on blanks.  Assignments before a command
 * go to that command's environment; alone, they set shell variables; `export` marks
 * variables for children.  Commands are searched in PATH; a missing one prints
 * "sh: NAME: not found" and sets status 127.
 *
 * `set -e` (and `sh -e`, which `vimage run` uses) exits on the first failing pipeline
 * that is not the left side of && or || and not negated with !.
 *
 * Builtins: cd, pwd, echo, exit, true, false, wait, jobs, kill, sleep, export, set,
 * unset, help.  In a pipeline or a background job a builtin that also exists as a
 * program (echo, true, false, sleep, kill, pwd) runs as that program; others run inside
 * the shell.
 *
 * No JavaScript error ever reaches the user: the shell catches everything and prints
 * one line ("sh: internal error: ...").
 */

import type { Libc } from '../../lib/libc.js';
import {
  chdir,
  getcwd,
  kill,
  nanosleep,
  pipe2,
  posix_spawn,
  shell_status,
  wait4,
  writeAll,
  FdReader,
  SIGKILL,
  SIGTERM,
  WNOHANG,
  type ProcCtx,
} from '../../lib/process.js';
import { O_APPEND, O_CLOEXEC, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY } from '../../sys/fcntl.js';
import { ENOENT } from '../../sys/errno.js';
import {
  parse,
  SyntaxError,
  type AndOr,
  type ListItem,
  type Pipeline,
  type SimpleCmd,
  type Word,
} from './parse.js';

/** Thrown by `exit` and by set -e. */
class ShellExit {
  constructor(readonly status: number) {}
}

interface Job {
  readonly id: number;
  readonly pids: number[];
  /** Wait status by pid (undefined: still running). */
  readonly done: Map<number, number>;
  readonly text: string;
}

interface Io {
  readonly in: number;
  readonly out: number;
  readonly err: number;
}

type Builtin = (sh: Shell, argv: string[], io: Io) => Promise<number>;

/** Builtins that exist as programs too (used in pipelines and background jobs). */
const ALSO_PROGRAM = new Set(['echo', 'true', 'false', 'sleep', 'kill', 'pwd']);

/** A one-line description for `help`, by command name (filled by bin/programs.ts). */
export interface HelpEntry {
  readonly name: string;
  readonly desc: string;
}

export const SIGNALS: ReadonlyMap<string, number> = new Map([
  ['HUP', 1],
  ['INT', 2],
  ['QUIT', 3],
  ['KILL', 9],
  ['TERM', 15],
]);

export class Shell {
  readonly vars = new Map<string, string>();
  readonly exported = new Set<string>();
  status = 0;
  lastbg = 0;
  errexit = false;
  interactive = false;
  name = 'sh';
  args: string[] = [];
  pid = 0;
  private readonly jobs: Job[] = [];
  private readonly libc: Libc;
  /** Extra help lines (programs), set by whoever installs the shell. */
  programs: readonly HelpEntry[] = [];

  constructor(readonly ctx: ProcCtx) {
    this.libc = ctx.libc;
    for (const [k, v] of ctx.env) {
      this.vars.set(k, v);
      this.exported.add(k);
    }
    const def = (k: string, v: string): void => {
      if (!this.vars.has(k)) {
        this.vars.set(k, v);
        this.exported.add(k);
      }
    };
    def('PATH', '/sbin:/bin:/usr/sbin:/usr/bin');
    def('HOME', '/');
    def('USER', 'root');
    def('SHELL', '/bin/sh');
  }

  /* -------------------------------------------------------------------------- */
  /* Output helpers                                                              */

  async errmsg(msg: string, fd = 2): Promise<void> {
    await writeAll(this.libc, fd, `${this.name}: ${msg}\n`);
  }

  /* -------------------------------------------------------------------------- */
  /* Expansion                                                                   */

  param(name: string): string {
    switch (name) {
      case '?':
        return String(this.status);
      case '$':
        return String(this.pid);
      case '!':
        return this.lastbg ? String(this.lastbg) : '';
      case '#':
        return String(this.args.length);
      case '0':
        return this.name;
    }
    if (/^[0-9]+$/.test(name)) return this.args[Number(name) - 1] ?? '';
    return this.vars.get(name) ?? '';
  }

  /** Expand a word into fields (unquoted expansions are split on blanks). */
  expandFields(w: Word): string[] {
    const fields: string[] = [];
    let cur: string | null = null;
    for (const part of w.parts) {
      if (part.k === 'lit') {
        cur = (cur ?? '') + part.s;
        continue;
      }
      const v = this.param(part.name);
      if (part.q) {
        cur = (cur ?? '') + v;
        continue;
      }
      const pieces = v.split(/[ \t\n]+/);
      const lead = /^[ \t\n]/.test(v);
      pieces.forEach((s, i) => {
        if (i === 0 && !lead) {
          if (s !== '') cur = (cur ?? '') + s;
          return;
        }
        if (cur !== null) fields.push(cur);
        cur = s === '' ? null : s;
      });
    }
    if (cur !== null) fields.push(cur);
    return fields;
  }

  /** Expand a word into one string (assignments, redirection targets). */
  expandOne(w: Word): string {
    return w.parts.map((p) => (p.k === 'lit' ? p.s : this.param(p.name))).join('');
  }

  envp(extra: ReadonlyMap<string, string> = new Map()): string[] {
    const m = new Map<string, string>();
    for (const k of this.exported) m.set(k, this.vars.get(k) ?? '');
    for (const [k, v] of extra) m.set(k, v);
    return [...m].map(([k, v]) => `${k}=${v}`);
  }

  /* -------------------------------------------------------------------------- */
  /* Running text                                                                */

  /** Parse and run a program text; returns the last status.  ShellExit propagates. */
  async runText(text: string): Promise<number> {
    let items: ListItem[];
    try {
      items = parse(text);
    } catch (e) {
      if (e instanceof SyntaxError) {
        await this.errmsg(e.message);
        this.status = 2;
        if (!this.interactive) throw new ShellExit(2);
        return 2;
      }
      throw e;
    }
    for (const it of items) await this.runItem(it);
    return this.status;
  }

  private async runItem(it: ListItem): Promise<void> {
    if (it.bg) {
      await this.runBackground(it);
      this.status = 0;
      return;
    }
    const { status, checkable } = await this.runAndOr(it.andor);
    this.status = status;
    if (this.errexit && status !== 0 && checkable) throw new ShellExit(status);
  }

  private async runAndOr(ao: AndOr): Promise<{ status: number; checkable: boolean }> {
    let status = await this.runPipeline(ao.first);
    let last = ao.rest.length === 0 ? !ao.first.bang : false;
    for (let i = 0; i < ao.rest.length; i++) {
      const r = ao.rest[i]!;
      if ((r.op === '&&' && status !== 0) || (r.op === '||' && status === 0)) continue;
      this.status = status;
      status = await this.runPipeline(r.p);
      last = i === ao.rest.length - 1 && !r.p.bang;
    }
    return { status, checkable: last };
  }

  private async runPipeline(pl: Pipeline): Promise<number> {
    let st: number;
    const only = pl.cmds[0]!;
    if (pl.cmds.length === 1) st = await this.runSimple(only);
    else {
      const pids = await this.startPipeline(pl, false);
      st = 0;
      for (const x of pids) st = typeof x === 'number' ? await this.waitpid(x) : x.status;
    }
    return pl.bang ? (st === 0 ? 1 : 0) : st;
  }

  /** Wait for one child; its shell status. */
  private async waitpid(pid: number): Promise<number> {
    for (;;) {
      const r = await wait4(this.libc, pid, 0);
      if (r !== null) {
        this.noteDone(r.pid, r.status);
        return shell_status(r.status);
      }
      if (this.libc.errno !== 4 /* EINTR */) return 127;
    }
  }

  /* -------------------------------------------------------------------------- */
  /* Redirections                                                                */

  /**
   * Apply a command's redirections to base (child fd → shell fd).  Returns the map and
   * the descriptors the shell opened (to close after the command), or null (reported).
   */
  private async redirect(
    c: SimpleCmd,
    base: number[],
  ): Promise<{ map: number[]; opened: number[] } | null> {
    const map = [...base];
    const opened: number[] = [];
    for (const r of c.redirs) {
      const target = this.expandOne(r.target);
      if (r.op === '<&' || r.op === '>&') {
        if (target === '-') {
          map[r.fd] = -1;
          continue;
        }
        const from = Number(target);
        if (!/^[0-9]+$/.test(target) || (map[from] ?? -1) < 0) {
          await this.errmsg(`${target}: Bad file descriptor`);
          await this.closeAll(opened);
          return null;
        }
        while (map.length <= r.fd) map.push(-1);
        map[r.fd] = map[from]!;
        continue;
      }
      const flags =
        r.op === '<'
          ? O_RDONLY
          : r.op === '>'
            ? O_WRONLY | O_CREAT | O_TRUNC
            : O_WRONLY | O_CREAT | O_APPEND;
      const fd = await this.libc.open(target, flags | O_CLOEXEC, 0o666);
      if (fd < 0) {
        const what = r.op === '<' ? 'cannot open' : 'cannot create';
        await this.errmsg(`${what} ${target}: ${this.libc.strerror()}`);
        await this.closeAll(opened);
        return null;
      }
      opened.push(fd);
      while (map.length <= r.fd) map.push(-1);
      map[r.fd] = fd;
    }
    return { map, opened };
  }

  private async closeAll(fds: readonly number[]): Promise<void> {
    for (const fd of fds) await this.libc.close(fd);
  }

  /* -------------------------------------------------------------------------- */
  /* Commands                                                                    */

  private expandCmd(c: SimpleCmd): { argv: string[]; assigns: Map<string, string> } {
    const assigns = new Map<string, string>();
    for (const a of c.assigns) assigns.set(a.name, this.expandOne(a.value));
    const argv: string[] = [];
    for (const w of c.words) argv.push(...this.expandFields(w));
    return { argv, assigns };
  }

  /** A simple command in the foreground. */
  private async runSimple(c: SimpleCmd): Promise<number> {
    const { argv, assigns } = this.expandCmd(c);
    if (argv.length === 0) {
      for (const [k, v] of assigns) this.vars.set(k, v);
      const rd = await this.redirect(c, [0, 1, 2]);
      if (rd === null) return 2;
      await this.closeAll(rd.opened);
      return 0;
    }
    const rd = await this.redirect(c, [0, 1, 2]);
    if (rd === null) return 2;
    try {
      const bi = BUILTINS.get(argv[0]!);
      if (bi !== undefined) {
        const io = { in: rd.map[0] ?? -1, out: rd.map[1] ?? -1, err: rd.map[2] ?? -1 };
        return await bi(this, argv, io);
      }
      const pid = await this.spawn(argv, assigns, rd.map);
      if (typeof pid !== 'number') return pid.status;
      return await this.waitpid(pid);
    } finally {
      await this.closeAll(rd.opened);
    }
  }

  /** Start a command as a process: its pid, or { status } when it could not start. */
  private async spawn(
    argv: string[],
    assigns: ReadonlyMap<string, string>,
    fdmap: readonly number[],
  ): Promise<number | { status: number }> {
    const name = argv[0]!;
    /* The command's own standard error gets the message, as after fork in sh. */
    const errfd = fdmap[2] ?? -1;
    const envp = this.envp(assigns);
    const pathvar = assigns.get('PATH') ?? this.vars.get('PATH') ?? '';
    const cands = name.includes('/')
      ? [name]
      : pathvar
          .split(':')
          .filter((d) => d !== '')
          .map((d) => `${d.replace(/\/$/, '')}/${name}`);
    for (const path of cands) {
      const pid = await posix_spawn(this.libc, path, argv, envp, fdmap);
      if (pid >= 0) return pid;
      if (this.libc.errno !== ENOENT) {
        if (errfd >= 0) await this.errmsg(`${name}: ${this.libc.strerror()}`, errfd);
        return { status: 126 };
      }
    }
    if (errfd >= 0) await this.errmsg(`${name}: not found`, errfd);
    return { status: 127 };
  }

  /**
   * Start every command of a pipeline (connected with pipes).  Returns, per command, a
   * pid or the status of a command that ran inside the shell or could not start.
   */
  private async startPipeline(pl: Pipeline, bg: boolean): Promise<(number | { status: number })[]> {
    const out: (number | { status: number })[] = [];
    let prevRead = -1;
    /* This shell has no job control, so an asynchronous list reads /dev/null unless it
     * redirects its standard input itself (POSIX, and FreeBSD sh's forkchild without
     * -m): a background job never takes the lines typed at the shell. */
    let devnull = -1;
    if (bg) {
      devnull = await this.libc.open('/dev/null', O_RDONLY | O_CLOEXEC, 0);
      if (devnull < 0) {
        await this.errmsg(`cannot open /dev/null: ${this.libc.strerror()}`);
        return [{ status: 2 }];
      }
    }
    const n = pl.cmds.length;
    for (let i = 0; i < n; i++) {
      const c = pl.cmds[i]!;
      let pr: [number, number] | null = null;
      if (i < n - 1) {
        pr = await pipe2(this.libc, O_CLOEXEC);
        if (pr === null) {
          await this.errmsg(`pipe: ${this.libc.strerror()}`);
          out.push({ status: 2 });
          break;
        }
      }
      const base = [i === 0 ? (bg ? devnull : 0) : prevRead, pr ? pr[1] : 1, 2];
      const rd = await this.redirect(c, base);
      if (rd === null) out.push({ status: 2 });
      else {
        const { argv, assigns } = this.expandCmd(c);
        const bi = argv.length > 0 ? BUILTINS.get(argv[0]!) : undefined;
        if (argv.length === 0) out.push({ status: 0 });
        else if (bi !== undefined && !ALSO_PROGRAM.has(argv[0]!)) {
          const io = { in: rd.map[0] ?? -1, out: rd.map[1] ?? -1, err: rd.map[2] ?? -1 };
          out.push({ status: await bi(this, argv, io) });
        } else out.push(await this.spawn(argv, assigns, rd.map));
        await this.closeAll(rd.opened);
      }
      if (prevRead >= 0) await this.libc.close(prevRead);
      if (pr) await this.libc.close(pr[1]);
      prevRead = pr ? pr[0] : -1;
    }
    if (prevRead >= 0) await this.libc.close(prevRead);
    if (devnull >= 0) await this.libc.close(devnull);
    return out;
  }

  /* -------------------------------------------------------------------------- */
  /* Jobs                                                                        */

  private async runBackground(it: ListItem): Promise<void> {
    const ao = it.andor;
    if (ao.rest.length > 0) {
      // XXX: an AND-OR list in the background needs a subshell; run its first
      // pipeline in the background and say so.
      await this.errmsg('background AND-OR lists are not supported; running the first pipeline');
    }
    const started = await this.startPipeline(ao.first, true);
    const pids = started.filter((x): x is number => typeof x === 'number');
    if (pids.length === 0) return;
    const id = this.jobs.length > 0 ? Math.max(...this.jobs.map((j) => j.id)) + 1 : 1;
    this.jobs.push({ id, pids, done: new Map(), text: it.text });
    this.lastbg = pids[pids.length - 1]!;
    if (this.interactive) await writeAll(this.libc, 2, `[${id}] ${this.lastbg}\n`);
  }

  private noteDone(pid: number, status: number): void {
    for (const j of this.jobs) if (j.pids.includes(pid)) j.done.set(pid, status);
  }

  private jobDone(j: Job): boolean {
    return j.pids.every((p) => j.done.has(p));
  }

  private jobStatus(j: Job): number {
    const last = j.pids[j.pids.length - 1]!;
    const s = j.done.get(last);
    return s === undefined ? 0 : shell_status(s);
  }

  /** Reap finished children without blocking. */
  async reap(): Promise<void> {
    for (;;) {
      const r = await wait4(this.libc, -1, WNOHANG);
      if (r === null || r.pid === 0) return;
      this.noteDone(r.pid, r.status);
    }
  }

  /** Interactive: report finished jobs and forget them. */
  async notifyDone(): Promise<void> {
    await this.reap();
    for (const j of [...this.jobs]) {
      if (!this.jobDone(j)) continue;
      const st = this.jobStatus(j);
      if (this.interactive)
        await writeAll(
          this.libc,
          2,
          `[${j.id}] + ${st === 0 ? 'Done' : `Exit ${st}`}  ${j.text}\n`,
        );
      this.jobs.splice(this.jobs.indexOf(j), 1);
    }
  }

  findJob(spec: string): Job | undefined {
    if (spec.startsWith('%')) {
      const s = spec.slice(1);
      if (s === '' || s === '%' || s === '+') return this.jobs[this.jobs.length - 1];
      if (s === '-') return this.jobs[this.jobs.length - 2];
      return this.jobs.find((j) => j.id === Number(s));
    }
    return this.jobs.find((j) => j.pids.includes(Number(spec)));
  }

  async builtin_wait(argv: string[], io: Io): Promise<number> {
    if (argv.length <= 1) {
      for (const j of [...this.jobs]) {
        for (const p of j.pids) if (!j.done.has(p)) await this.waitpid(p);
        this.jobs.splice(this.jobs.indexOf(j), 1);
      }
      return 0;
    }
    let st = 0;
    for (const a of argv.slice(1)) {
      const j = this.findJob(a);
      if (j === undefined) {
        if (a.startsWith('%')) {
          await writeAll(this.libc, io.err, `wait: ${a}: No such job\n`);
          st = 127;
          continue;
        }
        if (!/^[0-9]+$/.test(a)) {
          await writeAll(this.libc, io.err, `wait: Illegal number: ${a}\n`);
          return 2;
        }
        st = 127;
        continue;
      }
      const pids = a.startsWith('%') ? j.pids : [Number(a)];
      for (const p of pids) if (!j.done.has(p)) await this.waitpid(p);
      st = a.startsWith('%') ? this.jobStatus(j) : shell_status(j.done.get(Number(a)) ?? 0);
      if (this.jobDone(j)) this.jobs.splice(this.jobs.indexOf(j), 1);
    }
    return st;
  }

  async builtin_jobs(io: Io): Promise<number> {
    await this.reap();
    const n = this.jobs.length;
    for (const [i, j] of [...this.jobs].entries()) {
      const mark = i === n - 1 ? '+' : i === n - 2 ? '-' : ' ';
      const done = this.jobDone(j);
      const st = this.jobStatus(j);
      const state = !done ? 'Running' : st === 0 ? 'Done' : `Exit ${st}`;
      await writeAll(this.libc, io.out, `[${j.id}] ${mark} ${state.padEnd(22)}${j.text}\n`);
      if (done) this.jobs.splice(this.jobs.indexOf(j), 1);
    }
    return 0;
  }

  /* -------------------------------------------------------------------------- */
  /* Top level                                                                   */

  async prompt(): Promise<string> {
    const ps1 = this.vars.get('PS1');
    if (ps1 !== undefined) return ps1;
    const host = ((await this.libc.sysctlbyname_str('kern.hostname')) ?? 'vimage').split('.')[0];
    const cwd = (await getcwd(this.libc)) ?? '?';
    const uid = await this.libc.getuid();
    const user = this.vars.get('USER') ?? (uid === 0 ? 'root' : 'user');
    return `${user}@${host || 'vimage'}:${cwd} ${uid === 0 ? '#' : '$'} `;
  }

  /** Run text; an exception becomes one line and status 2 (never a stack trace). */
  async safeRun(text: string): Promise<number | ShellExit> {
    try {
      return await this.runText(text);
    } catch (e) {
      if (e instanceof ShellExit) return e;
      await this.errmsg(`internal error: ${e instanceof Error ? e.message : String(e)}`);
      this.status = 2;
      return 2;
    }
  }

  /** The interactive (or stdin) loop: one line at a time. */
  async loop(): Promise<number> {
    const rd = new FdReader(this.libc, 0);
    for (;;) {
      if (this.interactive) {
        await this.notifyDone();
        await writeAll(this.libc, 1, await this.prompt());
      }
      const line = await rd.readLine();
      if (line === null) break;
      const r = await this.safeRun(line);
      if (r instanceof ShellExit) return r.status;
    }
    return this.status;
  }
}

/* ------------------------------------------------------------------------------ */
/* Builtins                                                                         */

function out(sh: Shell, io: Io, s: string): Promise<boolean> {
  return writeAll(sh.ctx.libc, io.out, s);
}

function err(sh: Shell, io: Io, s: string): Promise<boolean> {
  return writeAll(sh.ctx.libc, io.err, s);
}

/** Parse a sleep duration (seconds, fractions allowed): nanoseconds or null. */
export function parse_seconds(s: string): number | null {
  if (!/^([0-9]+\.?[0-9]*|\.[0-9]+)$/.test(s)) return null;
  return Math.round(Number(s) * 1e9);
}

/** kill's arguments: the signal and the targets, or an error message. */
export function parse_kill(argv: readonly string[]): { sig: number; targets: string[] } | string {
  let sig = SIGTERM;
  let i = 1;
  const a = argv[1];
  if (a === '-s') {
    const n = argv[2];
    const v =
      n === undefined
        ? undefined
        : (SIGNALS.get(n.replace(/^SIG/, '')) ?? (/^[0-9]+$/.test(n) ? Number(n) : undefined));
    if (v === undefined) return `unknown signal ${n ?? ''}`;
    sig = v;
    i = 3;
  } else if (a !== undefined && a.startsWith('-') && a.length > 1 && a !== '--') {
    const n = a.slice(1);
    const v = /^[0-9]+$/.test(n) ? Number(n) : SIGNALS.get(n.replace(/^SIG/, ''));
    if (v === undefined) return `unknown signal ${n}`;
    sig = v;
    i = 2;
  } else if (a === '--') i = 2;
  const targets = argv.slice(i);
  if (targets.length === 0) return 'usage: kill [-s signal_name] pid ...';
  return { sig, targets };
}

export const BUILTINS: ReadonlyMap<string, Builtin> = new Map<string, Builtin>([
  ['true', async () => 0],
  ['false', async () => 1],
  [
    'echo',
    async (sh, argv, io) => {
      let a = argv.slice(1);
      let nl = true;
      if (a[0] === '-n') {
        nl = false;
        a = a.slice(1);
      }
      return (await out(sh, io, a.join(' ') + (nl ? '\n' : ''))) ? 0 : 1;
    },
  ],
  [
    'pwd',
    async (sh, _argv, io) => {
      const cwd = await getcwd(sh.ctx.libc);
      if (cwd === null) {
        await err(sh, io, `pwd: ${sh.ctx.libc.strerror()}\n`);
        return 1;
      }
      await out(sh, io, cwd + '\n');
      return 0;
    },
  ],
  [
    'cd',
    async (sh, argv, io) => {
      let dir = argv[1] ?? sh.vars.get('HOME') ?? '/';
      if (dir === '-') dir = sh.vars.get('OLDPWD') ?? '/';
      const old = (await getcwd(sh.ctx.libc)) ?? '/';
      if ((await chdir(sh.ctx.libc, dir)) < 0) {
        await err(sh, io, `cd: ${dir}: ${sh.ctx.libc.strerror()}\n`);
        return 2;
      }
      sh.vars.set('OLDPWD', old);
      sh.vars.set('PWD', (await getcwd(sh.ctx.libc)) ?? dir);
      if (argv[1] === '-') await out(sh, io, sh.vars.get('PWD') + '\n');
      return 0;
    },
  ],
  [
    'exit',
    async (sh, argv, io) => {
      const a = argv[1];
      if (a !== undefined && !/^[0-9]+$/.test(a)) {
        await err(sh, io, `exit: Illegal number: ${a}\n`);
        throw new ShellExit(2);
      }
      throw new ShellExit(a !== undefined ? Number(a) & 0xff : sh.status);
    },
  ],
  [
    'export',
    async (sh, argv, io) => {
      if (argv.length === 1) {
        for (const k of [...sh.exported].sort())
          await out(sh, io, `export ${k}='${(sh.vars.get(k) ?? '').replace(/'/g, "'\\''")}'\n`);
        return 0;
      }
      for (const a of argv.slice(1)) {
        const eq = a.indexOf('=');
        const name = eq >= 0 ? a.slice(0, eq) : a;
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
          await err(sh, io, `export: ${name}: bad variable name\n`);
          return 2;
        }
        if (eq >= 0) sh.vars.set(name, a.slice(eq + 1));
        sh.exported.add(name);
      }
      return 0;
    },
  ],
  [
    'unset',
    async (sh, argv) => {
      for (const a of argv.slice(1)) {
        sh.vars.delete(a);
        sh.exported.delete(a);
      }
      return 0;
    },
  ],
  [
    'set',
    async (sh, argv, io) => {
      if (argv.length === 1) {
        for (const [k, v] of [...sh.vars].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
          await out(
            sh,
            io,
            `${k}=${/^[A-Za-z0-9_./:@%+-]*$/.test(v) ? v : `'${v.replace(/'/g, "'\\''")}'`}\n`,
          );
        return 0;
      }
      for (const a of argv.slice(1)) {
        if (a === '-e' || a === '-o' || a === 'errexit') sh.errexit = true;
        else if (a === '+e') sh.errexit = false;
        else if (/^[-+][a-zA-Z]+$/.test(a)) continue; /* other options: accepted, ignored */
        else {
          sh.args = argv.slice(argv.indexOf(a));
          break;
        }
      }
      return 0;
    },
  ],
  [
    'sleep',
    async (sh, argv, io) => {
      const ns = argv.length === 2 ? parse_seconds(argv[1]!) : null;
      if (ns === null) {
        await err(sh, io, 'usage: sleep seconds\n');
        return 1;
      }
      return (await nanosleep(sh.ctx.libc, ns)) < 0 ? 130 : 0;
    },
  ],
  ['wait', async (sh, argv, io) => sh.builtin_wait(argv, io)],
  ['jobs', async (sh, _argv, io) => sh.builtin_jobs(io)],
  [
    'kill',
    async (sh, argv, io) => {
      const pk = parse_kill(argv);
      if (typeof pk === 'string') {
        await err(sh, io, `kill: ${pk}\n`);
        return 2;
      }
      let st = 0;
      for (const t of pk.targets) {
        let pids: number[];
        if (t.startsWith('%')) {
          const j = sh.findJob(t);
          if (j === undefined) {
            await err(sh, io, `kill: ${t}: No such job\n`);
            st = 1;
            continue;
          }
          pids = j.pids;
        } else if (/^[0-9]+$/.test(t)) pids = [Number(t)];
        else {
          await err(sh, io, `kill: illegal process id: ${t}\n`);
          st = 2;
          continue;
        }
        for (const p of pids)
          if ((await kill(sh.ctx.libc, p, pk.sig)) < 0) {
            await err(sh, io, `kill: ${p}: ${sh.ctx.libc.strerror()}\n`);
            st = 1;
          }
      }
      return st;
    },
  ],
  [
    'help',
    async (sh, _argv, io) => {
      const lines = ['Shell builtins:'];
      for (const [n, d] of BUILTIN_HELP) lines.push(`  ${n.padEnd(10)} ${d}`);
      if (sh.programs.length > 0) {
        lines.push('Commands:');
        for (const p of sh.programs) lines.push(`  ${p.name.padEnd(10)} ${p.desc}`);
      }
      await out(sh, io, lines.join('\n') + '\n');
      return 0;
    },
  ],
]);

const BUILTIN_HELP: readonly [string, string][] = [
  ['cd', 'change the working directory'],
  ['echo', 'write arguments to standard output'],
  ['exit', 'leave the shell (exit [n])'],
  ['export', 'export variables to commands (export NAME[=value])'],
  ['false', 'return a failing status'],
  ['help', 'list the commands'],
  ['jobs', 'list background jobs'],
  ['kill', 'kill [-s sig | -sig] pid | %job ...'],
  ['pwd', 'print the working directory'],
  ['set', 'set -e / +e: stop at the first failure; set: list variables'],
  ['sleep', 'sleep seconds'],
  ['true', 'return a successful status'],
  ['unset', 'remove variables'],
  ['wait', 'wait [pid | %job]: wait for background jobs'],
];

/** /bin/sh: sh [-e] [-i] [-c string [name [arg ...]]] [file [arg ...]] */
export async function sh_main(ctx: ProcCtx, programs: readonly HelpEntry[] = []): Promise<number> {
  const sh = new Shell(ctx);
  sh.programs = programs;
  sh.pid = await ctx.libc.getpid();
  const argv = ctx.argv;
  let i = 1;
  let cmd: string | null = null;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!/^[-+][a-z]+$/.test(a)) break;
    const on = a[0] === '-';
    for (const f of a.slice(1)) {
      if (f === 'e') sh.errexit = on;
      else if (f === 'i') sh.interactive = on;
      else if (f === 'c') cmd = '';
      else if (f === 'x' || f === 'u' || f === 'f') continue;
      else {
        await ctx.err(`sh: Illegal option -${f}\n`);
        return 2;
      }
    }
  }
  try {
    if (cmd !== null) {
      const text = argv[i];
      if (text === undefined) {
        await ctx.err('sh: -c: option requires an argument\n');
        return 2;
      }
      if (argv[i + 1] !== undefined) sh.name = argv[i + 1]!;
      sh.args = argv.slice(i + 2);
      const r = await sh.safeRun(text);
      return r instanceof ShellExit ? r.status : r;
    }
    const file = argv[i];
    if (file !== undefined) {
      const fd = await ctx.libc.open(file, O_RDONLY);
      if (fd < 0) {
        await ctx.err(`sh: cannot open ${file}: ${ctx.libc.strerror()}\n`);
        return 127;
      }
      const text = new TextDecoder().decode(await new FdReader(ctx.libc, fd).readAll());
      await ctx.libc.close(fd);
      sh.name = file;
      sh.args = argv.slice(i + 1);
      const r = await sh.safeRun(text);
      return r instanceof ShellExit ? r.status : r;
    }
    return await sh.loop();
  } catch (e) {
    if (e instanceof ShellExit) return e.status;
    await ctx.err(`sh: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
}

export { SIGKILL };
