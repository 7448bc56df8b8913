#!/usr/bin/env node
/*
 * bin/vimage.ts — the `vimage` command: boot a kernel and report what it set up.
 *
 *   vimage [-k KERNCONF] [-n NCPU]
 *   vimage ident [-q] FILE...
 *
 * XXX: the interactive console (issue 7) replaces the report as the main job; for now
 * the command prints the boot messages, the memory layout of the VNET and DPCPU images,
 * the vnets, the linker files with their ident strings, and a few sysctls.
 */

import { existsSync, readFileSync } from 'node:fs';
import { boot } from '../kern/boot.js';
import { ident_format } from '../usr.bin/ident.js';
import { __vimage_version, OSRELEASE, OSTYPE } from '../sys/param.js';
import { VNET_MODMIN } from '../net/vnet.js';
import { DPCPU_MODMIN } from '../sys/pcpu.js';

function usage(): never {
  process.stderr.write(
    'usage: vimage [-k KERNCONF] [-n NCPU]\n       vimage ident [-q] file ...\n',
  );
  process.exit(64);
}

function main(argv: string[]): number {
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
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-k' && argv[i + 1]) kernconf = argv[++i]!;
    else if (a === '-n' && argv[i + 1]) {
      ncpu = Number(argv[++i]);
      if (!Number.isInteger(ncpu) || ncpu < 1) usage();
    } else usage();
  }
  let k;
  try {
    k = boot({ kernconf, ...(ncpu !== undefined ? { ncpu } : {}) });
  } catch (e) {
    process.stderr.write(`vimage: ${(e as Error).message}\n`);
    return 1;
  }
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

process.exitCode = main(process.argv.slice(2));
