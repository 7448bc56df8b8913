/*
 * bench/lib/tcp_round.ts — one bulk TCP transfer between two processes of a vimage
 * kernel, for bench/tcp.ts and bench/tcp_clock.ts: the lab (jails a and b, each with
 * its own vnet, joined by epair0 with static ARP entries; lo0 of a with 127.0.0.1), and
 * a round: TOTAL bytes written in CHUNK-byte writes to a receiver that reads until EOF.
 * See bench/tcp.ts for what a round covers and how it is timed.
 */

import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { boot } from '../../src/kern/boot.js';
import type { Kernel } from '../../src/kern/kernel.js';
import type { Vnet } from '../../src/net/vnet.js';
import type { Prison } from '../../src/kern/kern_jail.js';
import { nanosleep } from '../../src/lib/process.js';
import { AF_INET, SOCK_STREAM } from '../../src/sys/socket.js';
import { sockaddr_in_bytes as sin } from '../../src/netinet/in.js';
import { V_tcp_msl, V_tcpstat } from '../../src/netinet/tcp_var.js';
import { V_loif } from '../../src/net/if_loop.js';
import { arp_add_static } from '../../src/netinet/if_ether.js';
import { addaddr, inv, ip, lab2 } from '../../test/lib/inet_lab.js';
import { jailed, spawn, sys } from './proc.js';

export const MiB = 1024 * 1024;
/** Bytes per throughput round. */
export const TOTAL = 64 * MiB;
/** write()/read() size, both sides, both stacks. */
export const CHUNK = 65536;
export const PORT = 5001;

export function tcpstat(k: Kernel, v: Vnet): Record<string, number> {
  return inv(k, v, () => V_tcpstat.fetchAll(v));
}

export function rcvbyte(k: Kernel, v: Vnet): number {
  return tcpstat(k, v)['tcps_rcvbyte'] ?? 0;
}

/* ------------------------------------------------------------------------------ */
/* Throughput: vimage.                                                             */

export interface Lab {
  k: Kernel;
  va: Vnet;
  vb: Vnet;
  pa: Prison;
  pb: Prison;
}

export function lab(clock: 'virtual' | 'real' = 'virtual'): Lab {
  const k = boot({ kernconf: 'GENERIC', clock });
  const L = lab2(k);
  inv(k, L.va, () => arp_add_static(L.a, ip('192.0.2.2'), L.b.if_lladdr!));
  inv(k, L.vb, () => arp_add_static(L.b, ip('192.0.2.1'), L.a.if_lladdr!));
  /* On the real clock TIME_WAIT is host time: 2 x 5 ms instead of a minute a round. */
  if (clock === 'real') for (const v of [L.va, L.vb]) inv(k, v, () => V_tcp_msl.set(5));
  inv(k, L.va, () => addaddr(V_loif.get()!, '127.0.0.1/8'));
  return { k, va: L.va, vb: L.vb, pa: jailed(k, 'a'), pb: jailed(k, 'b') };
}

export interface Result {
  /** Payload bytes per second received. */
  rate: number;
  /** The same, timed until the receiver read EOF (vimage: not until the kernel is idle). */
  rateEof: number;
  /** Thread switches per MiB (vimage only). */
  switches: number;
  /** Header prediction (vimage only): data segments and ACKs taken the fast way. */
  preddat: number;
  predack: number;
}

/** TOTAL bytes from a process in `from` to one in `to` (listening on dst:PORT). */
export async function vimage(
  L: Lab,
  from: Prison,
  vfrom: Vnet,
  to: Prison,
  vto: Vnet,
  dst: number,
): Promise<Result> {
  const { k } = L;
  const b0 = rcvbyte(k, vto);
  const rx0 = tcpstat(k, vto);
  const tx0 = tcpstat(k, vfrom);
  const sw0 = k.sched.nswitch;
  let listening = false;
  let got = 0;
  let teof = 0n;
  const t0 = process.hrtime.bigint();
  const rx = spawn(k, to, async (c) => {
    const l = await sys(c, 'socket', c.socket(AF_INET, SOCK_STREAM, 0));
    await sys(c, 'bind', c.bind(l, sin(dst, PORT)));
    await sys(c, 'listen', c.listen(l, 1));
    listening = true;
    const s = await sys(c, 'accept', c.accept(l, null, null));
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      const n = await sys(c, 'read', c.read(s, buf));
      if (n === 0) break;
      got += n;
    }
    teof = process.hrtime.bigint();
    await c.close(s);
    await c.close(l);
  });
  const tx = spawn(k, from, async (c) => {
    while (!listening) await nanosleep(c, 1000);
    const s = await sys(c, 'socket', c.socket(AF_INET, SOCK_STREAM, 0));
    await sys(c, 'connect', c.connect(s, sin(dst, PORT)));
    const buf = new Uint8Array(CHUNK);
    for (let sent = 0; sent < TOTAL;) {
      sent += await sys(c, 'write', c.write(s, buf, Math.min(CHUNK, TOTAL - sent)));
    }
    await sys(c, 'close', c.close(s));
  });
  await k.run_until_idle();
  const t = Number(process.hrtime.bigint() - t0);
  rx();
  tx();
  const tcp = rcvbyte(k, vto) - b0;
  if (got !== TOTAL || tcp !== TOTAL)
    throw new Error(`${got} of ${TOTAL} bytes read; tcps_rcvbyte +${tcp}`);
  /* Over lo0 both ends are in one vnet: the counters are the sum of both. */
  const rx1 = tcpstat(k, vto);
  const tx1 = tcpstat(k, vfrom);
  const d = (a: Record<string, number>, b: Record<string, number>, f: string): number =>
    (a[f] ?? 0) - (b[f] ?? 0);
  return {
    rate: (TOTAL * 1e9) / t,
    rateEof: (TOTAL * 1e9) / Number(teof - t0),
    switches: ((k.sched.nswitch - sw0) * MiB) / TOTAL,
    preddat: d(rx1, rx0, 'tcps_preddat') / Math.max(1, d(rx1, rx0, 'tcps_rcvpack')),
    predack: d(tx1, tx0, 'tcps_predack') / Math.max(1, d(tx1, tx0, 'tcps_rcvackpack')),
  };
}

/** global.gc (npm run bench runs node --expose-gc), else one made on the spot. */
export function gc(): void {
  let g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) {
    v8.setFlagsFromString('--expose-gc');
    g = runInNewContext('gc') as () => void;
  }
  for (let i = 0; i < 3; i++) g();
}
