/*
 * bin/programs.ts — the programs of the vimage system: what /bin, /sbin, /usr/bin and
 * /usr/sbin hold.
 *
 * Each entry names a userland program (lib/process.ts Program), where it lives and a
 * one-line description (the shell's `help`).  install_programs(k) places them in the
 * kernel's image table (kern/kern_exec.ts) at boot — the host's part, like writing the
 * binaries to the root file system; after that they are reached only by posix_spawn
 * from a process (the shell), through the kernel.
 */

import type { Kernel } from '../kern/kernel.js';
import { exec_register } from '../kern/kern_exec.js';
import { crt0, type Program } from '../lib/process.js';
import { sh_main, type HelpEntry } from './sh/sh.js';
import * as F from './filters.js';
import * as S from './systools.js';
import * as J from './jailtools.js';
import * as FS from './fstools.js';
import { ifconfig } from '../sbin/ifconfig.js';
import { netstat } from '../usr.bin/netstat.js';
import { sockstat } from '../usr.bin/sockstat.js';
import { nc } from '../usr.bin/nc.js';
import { route } from '../sbin/route.js';
import { ping } from '../sbin/ping.js';
import { tcpdump } from '../sbin/tcpdump.js';
import { arp } from '../sbin/arp.js';
import { tcpdrop } from '../sbin/tcpdrop.js';
import { traceroute } from '../sbin/traceroute.js';

export interface ProgramEntry {
  readonly path: string;
  readonly main: Program;
  readonly desc: string;
}

const TABLE: readonly ProgramEntry[] = [
  { path: '/bin/sh', main: (ctx) => sh_main(ctx, helpList()), desc: 'command interpreter (shell)' },
  { path: '/bin/cat', main: F.cat, desc: 'concatenate and print files' },
  { path: '/bin/ls', main: FS.ls, desc: 'list directory contents (-l -a -A -F -d)' },
  { path: '/bin/mkdir', main: FS.mkdir, desc: 'make directories (-p)' },
  { path: '/bin/rm', main: FS.rm, desc: 'remove directory entries (-f -d)' },
  { path: '/bin/rmdir', main: FS.rmdir, desc: 'remove directories' },
  { path: '/bin/echo', main: F.echo, desc: 'write arguments to the standard output' },
  { path: '/bin/sleep', main: F.sleep, desc: 'suspend execution for an interval of time' },
  { path: '/bin/kill', main: F.killp, desc: 'terminate a process' },
  { path: '/bin/pwd', main: F.pwd, desc: 'return working directory name' },
  { path: '/bin/dd', main: F.dd, desc: 'convert and copy a file (if= of= bs= count=)' },
  { path: '/bin/hostname', main: S.hostname, desc: 'set or print name of current host system' },
  { path: '/usr/bin/true', main: F.true_, desc: 'return true value' },
  { path: '/usr/bin/false', main: F.false_, desc: 'return false value' },
  { path: '/usr/bin/grep', main: F.grep, desc: 'file pattern searcher (-v -c -i -q -E -n -l)' },
  { path: '/usr/bin/head', main: F.head, desc: 'display first lines of a file (-n)' },
  { path: '/usr/bin/tail', main: F.tail, desc: 'display the last part of a file (-n)' },
  { path: '/usr/bin/wc', main: F.wc, desc: 'word, line, and byte count (-l -w -c)' },
  { path: '/usr/bin/sort', main: F.sort, desc: 'sort lines of text files (-n -r -u -f)' },
  { path: '/usr/bin/uniq', main: F.uniq, desc: 'report or filter out repeated lines (-c -d -u)' },
  { path: '/usr/bin/tee', main: F.tee, desc: 'pipe fitting (-a)' },
  {
    path: '/usr/bin/uname',
    main: S.uname,
    desc: 'display information about the system (-a -s -r -v -m -n)',
  },
  { path: '/usr/bin/ident', main: S.ident, desc: 'identify RCS keyword strings in files' },
  {
    path: '/usr/bin/netstat',
    main: netstat,
    desc: 'show network status (-an, -i, -rn, -s [-p ip|icmp|udp|tcp] [-j jail])',
  },
  { path: '/usr/bin/sockstat', main: sockstat, desc: 'list open sockets (-4 -c -l -j -p -P)' },
  { path: '/usr/bin/nc', main: nc, desc: 'arbitrary TCP and UDP connections and listens' },
  { path: '/sbin/sha256', main: F.sha256, desc: 'calculate a SHA-256 message digest' },
  { path: '/sbin/md5', main: F.md5, desc: 'calculate an MD5 message digest' },
  { path: '/sbin/sysctl', main: S.sysctl, desc: 'get or set kernel state (-a -d -n NAME[=VALUE])' },
  { path: '/sbin/ifconfig', main: ifconfig, desc: 'configure network interface parameters' },
  {
    path: '/sbin/route',
    main: route,
    desc: 'manipulate the routing tables (add, delete, change, get, monitor)',
  },
  {
    path: '/sbin/ping',
    main: ping,
    desc: 'send ICMP ECHO_REQUEST packets to network hosts (-bDnqR -c -i -m -s -S -t -W)',
  },
  {
    path: '/usr/sbin/traceroute',
    main: traceroute,
    desc: 'print the route packets take to a network host (-n -f -m -p -q -s -w)',
  },
  {
    path: '/usr/sbin/tcpdump',
    main: tcpdump,
    desc: 'dump traffic on a network (bpf; -i -n -c -t -w, -r file)',
  },
  {
    path: '/usr/sbin/arp',
    main: arp,
    desc: 'address resolution display and control (-an [-i if], -d host | -a, -s/-S host ether)',
  },
  {
    path: '/usr/sbin/tcpdrop',
    main: tcpdrop,
    desc: 'drop TCP connections (-l, -a, -s state, or one by its addresses)',
  },
  { path: '/sbin/kldload', main: S.kldload, desc: 'load a file into the kernel' },
  { path: '/sbin/kldunload', main: S.kldunload, desc: 'unload a file from the kernel' },
  {
    path: '/sbin/kldstat',
    main: S.kldstat,
    desc: 'display status of dynamic kernel linker (-v -h -q, -i id, -n file, -m module)',
  },
  { path: '/usr/sbin/jail', main: J.jail, desc: 'manage jails (-c name=N vnet persist, -m, -r)' },
  { path: '/usr/sbin/jls', main: J.jls, desc: 'list jails (-v -N, -j jail, params with -h -n -q)' },
  { path: '/usr/sbin/jexec', main: J.jexec, desc: 'execute a command inside an existing jail' },
  {
    path: '/sbin/ddb',
    main: S.ddb,
    desc: 'configure the kernel debugger (script, scripts, unscript, enter)',
  },
];

/** The programs, by path. */
export const PROGRAMS: ReadonlyMap<string, ProgramEntry> = new Map(TABLE.map((e) => [e.path, e]));

/** The programs, by command name ("cat" → /bin/cat). */
export const COMMANDS: ReadonlyMap<string, ProgramEntry> = new Map(
  TABLE.map((e) => [e.path.split('/').pop()!, e]),
);

/** Command names and descriptions, sorted (for `help`). */
export function helpList(): HelpEntry[] {
  return TABLE.map((e) => ({ name: e.path.split('/').pop()!, desc: e.desc })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
}

/** Put every program in k's image table (at boot). */
export function install_programs(k: Kernel): void {
  for (const e of TABLE) exec_register(k, e.path, crt0(e.main));
}
