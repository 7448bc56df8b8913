#!/usr/bin/env node
/*
 * bin/vimage.ts — the `vimage` command: the host entry point.
 *
 *   vimage [-k KERNCONF] [-n NCPU]                 boot and open the interactive console
 *   vimage [-k KERNCONF] [-n NCPU] run [-r] FILE [ARG ...]
 *                                                 run a shell script without a terminal
 *   vimage [-k KERNCONF] [-n NCPU] -c 'COMMANDS'   run a command string
 *   vimage [-k KERNCONF] [-n NCPU] report          boot and report what the kernel set up
 *   vimage [-k KERNCONF] [-n NCPU] ctl [-r] SOCKET [lab.yml]
 *                                                 serve the test-control endpoint
 *                                                 (bin/testctl.ts, docs/TESTCTL.md)
 *   vimage ident [-q] FILE...                      ident(1) on host files
 *
 * The console (bin/console.ts) boots on the real clock; `run` and `-c` use the virtual
 * clock (fast and deterministic; `run -r` for the real one) and exit with the shell's
 * status — for `run`, the first failing command's (sh -e) unless the script says
 * `set +e`.  Usage errors exit 64 (EX_USAGE).  Nothing here lets a JavaScript stack trace
 * reach the user.
 */

import { existsSync, readFileSync } from 'node:fs';
import { boot, type BootOptions } from '../kern/boot.js';
import type { Kernel } from '../kern/kernel.js';
import { console_main, shell_batch } from './console.js';
import { ident_format } from '../usr.bin/ident.js';
import { topology_parse, topology_script, TopologyError } from './topology.js';
import { TestCtl } from './testctl.js';
import { __vimage_version, OSRELEASE, OSTYPE } from '../sys/param.js';
import { VNET_MODMIN } from '../net/vnet.js';
import { DPCPU_MODMIN } from '../sys/pcpu.js';

const USAGE =
  'usage: vimage [-k KERNCONF] [-n NCPU]\n' +
  '       vimage [-k KERNCONF] [-n NCPU] run [-r] file [arg ...]\n' +
  '       vimage [-k KERNCONF] [-n NCPU] -c commands\n' +
  '       vimage [-k KERNCONF] [-n NCPU] up [-n] lab.yml [run file | -c commands]\n' +
  '       vimage [-k KERNCONF] [-n NCPU] report\n' +
  '       vimage [-k KERNCONF] [-n NCPU] ctl [-r] socket [lab.yml]\n' +
  '       vimage ident [-q] file ...\n';

function usage(): never {
  process.stderr.write(USAGE);
  process.exit(64);
}

/**
 * vimage up [-n] FILE.yml [run SCRIPT | -c COMMANDS]: build the lab the topology file
 * describes, then open the console, or run a script / command string on it.  -n only
 * prints the shell script that builds the lab.
 */
async function up(args: string[], bootopts: { kernconf: string; ncpu?: number }): Promise<number> {
  let printOnly = false;
  if (args[0] === '-n') {
    printOnly = true;
    args = args.slice(1);
  }
  const file = args[0];
  if (file === undefined) usage();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    process.stderr.write(
      `vimage: ${file}: ${(e as { code?: string }).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}\n`,
    );
    return 66;
  }
  let script: string;
  try {
    script = topology_script(topology_parse(text, file));
  } catch (e) {
    if (!(e instanceof TopologyError)) throw e;
    process.stderr.write(`vimage: ${e.message}\n`);
    return 65;
  }
  if (printOnly) {
    process.stdout.write(script);
    return 0;
  }
  const then = args[1];
  if (then !== undefined && then !== 'run' && then !== '-c') usage();
  const k = await bootrc({
    ...bootopts,
    clock: then === undefined ? 'real' : 'virtual',
    console: firstline(process.stderr),
  });
  if (k === null) return 1;
  const built = await shell_batch(k, ['sh', '-e', '-c', script, file], {
    onOut: (s) => process.stdout.write(s),
    onErr: (s) => process.stderr.write(s),
  });
  if (built.status !== 0 || built.deadlock) {
    process.stderr.write(`vimage: ${file}: building the lab failed\n`);
    return built.status || 1;
  }
  if (then === undefined) return console_main(k);
  const target = args[2];
  if (target === undefined) usage();
  let shargv: string[];
  if (then === 'run') {
    let t2: string;
    try {
      t2 = readFileSync(target, 'utf8');
    } catch {
      process.stderr.write(`vimage: ${target}: No such file or directory\n`);
      return 66;
    }
    shargv = ['sh', '-e', '-c', t2, target, ...args.slice(3)];
  } else shargv = ['sh', '-c', target, 'sh', ...args.slice(3)];
  const r = await shell_batch(k, shargv, {
    onOut: (s) => process.stdout.write(s),
    onErr: (s) => process.stderr.write(s),
  });
  return r.deadlock ? 1 : r.status;
}

/**
 * vimage ctl [-r] SOCKET [FILE.yml]: boot (virtual clock unless -r), build the lab the
 * topology file describes, if any, and serve the test-control endpoint on the Unix
 * socket SOCKET until a client sends "shutdown_endpoint" or the process gets SIGTERM or
 * SIGINT; the socket file is removed on the way out.  "vimage: ctl listening on SOCKET"
 * on the standard output says when clients may connect.
 */
async function ctl(args: string[], bootopts: { kernconf: string; ncpu?: number }): Promise<number> {
  let real = false;
  if (args[0] === '-r') {
    real = true;
    args = args.slice(1);
  }
  const path = args[0];
  if (path === undefined || args.length > 2) usage();
  const file = args[1];
  let script: string | null = null;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      process.stderr.write(
        `vimage: ${file}: ${(e as { code?: string }).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}\n`,
      );
      return 66;
    }
    try {
      script = topology_script(topology_parse(text, file));
    } catch (e) {
      if (!(e instanceof TopologyError)) throw e;
      process.stderr.write(`vimage: ${e.message}\n`);
      return 65;
    }
  }
  const k = await bootrc({
    ...bootopts,
    clock: real ? 'real' : 'virtual',
    console: firstline(process.stderr),
  });
  if (k === null) return 1;
  if (script !== null) {
    const built = await shell_batch(k, ['sh', '-e', '-c', script, file!], {
      onErr: (s) => process.stderr.write(s),
    });
    if (built.status !== 0 || built.deadlock) {
      process.stderr.write(`vimage: ${file!}: building the lab failed\n`);
      return built.status || 1;
    }
  }
  let stop: () => void = () => {};
  const stopped = new Promise<void>((res) => {
    stop = res;
  });
  const srv = new TestCtl(k, { onShutdown: () => stop() });
  try {
    await srv.listen(path);
  } catch (e) {
    process.stderr.write(`vimage: ${path}: ${(e as Error).message}\n`);
    return 73; // EX_CANTCREAT
  }
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`vimage: ctl listening on ${path}\n`);
  await stopped;
  await srv.close();
  return 0;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'ident') {
    const r = ident_format(
      argv
        .slice(1)
        .filter((a) => a !== '-q')
        .map((name) => ({
          name,
          data: existsSync(name) ? new Uint8Array(readFileSync(name)) : null,
        })),
      argv.includes('-q'),
    );
    process.stdout.write(r.out);
    process.stderr.write(r.err);
    return r.status;
  }
  let kernconf = 'GENERIC';
  let ncpu: number | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-k' && argv[i + 1]) kernconf = argv[++i]!;
    else if (a === '-n' && argv[i + 1]) {
      ncpu = Number(argv[++i]);
      if (!Number.isInteger(ncpu) || ncpu < 1) usage();
    } else break;
  }
  const cmd = argv[i];
  const rest = argv.slice(i + 1);
  const bootopts = { kernconf, ...(ncpu !== undefined ? { ncpu } : {}) };
  if (cmd === undefined) {
    const k = await bootrc({ ...bootopts, clock: 'real', console: firstline(process.stdout) });
    if (k === null) return 1;
    return console_main(k);
  }
  if (cmd === 'run' || cmd === '-c') {
    let real = false;
    let args = rest;
    if (cmd === 'run' && args[0] === '-r') {
      real = true;
      args = args.slice(1);
    }
    const target = args[0];
    if (target === undefined) usage();
    let shargv: string[];
    if (cmd === 'run') {
      let text: string;
      try {
        text = readFileSync(target, 'utf8');
      } catch (e) {
        process.stderr.write(
          `vimage: ${target}: ${(e as { code?: string }).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}\n`,
        );
        return 66;
      }
      shargv = ['sh', '-e', '-c', text, target, ...args.slice(1)];
    } else shargv = ['sh', '-c', target, 'sh', ...args.slice(1)];
    const k = await bootrc({
      ...bootopts,
      clock: real ? 'real' : 'virtual',
      console: firstline(process.stderr),
    });
    if (k === null) return 1;
    const r = await shell_batch(k, shargv, {
      onOut: (s) => process.stdout.write(s),
      onErr: (s) => process.stderr.write(s),
    });
    if (r.deadlock) {
      process.stderr.write(
        'vimage: every process is blocked and nothing can wake them (deadlock)\n',
      );
      return 1;
    }
    return r.status;
  }
  if (cmd === 'up') return up(rest, bootopts);
  if (cmd === 'ctl') return ctl(rest, bootopts);
  if (cmd !== 'report') usage();
  if (rest.length > 0) usage();
  const k = bootk(bootopts);
  if (k === null) return 1;
  const hex = (n: number): string => `0x${n.toString(16)}`;
  const out: string[] = [];
  out.push(`${OSTYPE} ${OSRELEASE} #0: ${k.ident}  (__vimage_version ${__vimage_version})`);
  out.push(`CPU: ${k.mp_ncpus} logical CPUs`);
  out.push(
    k.vimage
      ? 'VIMAGE (virtualized network stack) enabled'
      : 'VIMAGE not configured: network globals are plain globals',
  );
  out.push('');
  out.push(
    `set_vnet: master at ${hex(k.image.vnet_start)}, VNET_BYTES ${k.image.vnet_bytes}, VNET_SIZE ${k.image.vnet_size}, module space ${VNET_MODMIN} bytes (${k.vnet_modspace.avail} free)`,
  );
  out.push(
    `set_pcpu: master at ${hex(k.image.dpcpu_start)}, DPCPU_BYTES ${k.image.dpcpu_bytes}, DPCPU_SIZE ${k.image.dpcpu_size}, module space ${DPCPU_MODMIN} bytes (${k.dpcpu_modspace.avail} free)`,
  );
  for (const pc of k.pcpu)
    out.push(
      `  cpu${pc.pc_cpuid}: dpcpu_off ${hex(pc.pc_dynamic)} (block at ${hex(pc.pc_dyn!.kva)})`,
    );
  if (k.vimage) {
    out.push(`vnets: ${k.vnet_head.length}`);
    for (const v of k.vnet_head)
      out.push(
        `  vnet ${v.vnet_id} at ${hex(v.kva)}: data_mem ${hex(v.vnet_data_mem)} data_base ${hex(v.vnet_data_base)} state ${hex(v.vnet_state)}`,
      );
  }
  out.push(
    `VNET_SYSINITs registered: ${k.vnet_constructors.length}, VNET_SYSUNINITs: ${k.vnet_destructors.length}`,
  );
  out.push('');
  out.push('Id Refs Symbols Name');
  for (const f of k.linker.files)
    out.push(
      `${String(f.id).padStart(2)} ${String(f.refs).padStart(4)} ${String(f.symbols.size).padStart(7)} ${f.filename}`,
    );
  out.push('');
  out.push('Kernel objects (ident):');
  for (const o of k.image.objs) for (const id of o.idents) out.push(`     ${id}`);
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

/** Kernel messages to a host stream, first line only (a panic's stack stays in dmesg). */
function firstline(w: NodeJS.WriteStream): (line: string) => void {
  return (line) => void w.write(line.split('\n')[0] + '\n');
}

function bootk(opts: BootOptions): Kernel | null {
  try {
    return boot(opts);
  } catch (e) {
    process.stderr.write(`vimage: ${(e as Error).message}\n`);
    return null;
  }
}

/*
 * The network part of /etc/rc, as a FreeBSD system runs it at boot before the console
 * opens: lo0 gets 127.0.0.1/8 in the host's vnet.  (Jails with their own vnet start
 * with an unconfigured lo0, as jail(8) without exec.start leaves it.)
 */
const RC = 'ifconfig lo0 inet 127.0.0.1/8 up';

async function bootrc(opts: BootOptions): Promise<Kernel | null> {
  const k = bootk(opts);
  if (k === null) return null;
  const r = await shell_batch(k, ['sh', '-c', RC, 'rc'], {
    onErr: (s) => process.stderr.write(s),
  });
  if (r.status !== 0) process.stderr.write(`vimage: /etc/rc: exit status ${r.status}\n`);
  return k;
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
    // The kernel may hold host timers (real clock); the command is over.
    process.stdout.write('', () => process.exit(status));
  },
  (e: unknown) => {
    // A kernel panic (or a bug here): one line, never a JavaScript stack trace.
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    process.stderr.write(`vimage: ${msg}\n`);
    process.exit(70);
  },
);
