/*
 * kern/kern_mbuf.ts — the mbuf zones' statistics for netstat -m.
 *
 * FreeBSD's mbufs come from UMA zones (mbuf, mbuf_cluster, mbuf_jumbo_page/9k/16k,
 * mbuf_packet) and netstat -m reads their statistics through libmemstat, from sysctl
 * vm.zone_stats.  The kernel's MbufPool (sys/mbuf.ts) has its size classes instead:
 * mbuf (256), mbuf_cluster (2048), mbuf_jumbo_16k, mbuf_jumbo_64k (65536 + 256: a
 * whole IPv4 datagram with its link headers; FreeBSD would chain) and mbuf_exact (the
 * larger buffers, allocated to size and never cached).  kern.ipc.mbuf_zones (ours)
 * gives them to netstat as an array of struct mbuf_zone_stat, MZS_SIZE bytes each,
 * little-endian:
 *
 *     char     mzs_name[24];   NUL-padded
 *     uint32_t mzs_size;       buffer size (0: each its own)
 *     uint32_t mzs_cachemax;   free buffers kept at most
 *     uint64_t mzs_current;    in use
 *     uint64_t mzs_cache;      free, kept for reuse
 *     uint64_t mzs_bytes;      bytes in use
 *     uint64_t mzs_allocs;     allocations
 *     uint64_t mzs_fails;      allocations refused
 *
 * The pool is the kernel's, not a vnet's: every jail sees the same numbers, as with
 * FreeBSD's zones.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SYSCTL_OPAQUE_RO } from '../sys/sysctl.js';
import { type MbufZoneStat } from '../sys/mbuf.js';
import { curkernel } from './kern_cur.js';

export const K = new ObjFile('kern/kern_mbuf.ts', VIMAGEID('src/kern/kern_mbuf.ts'));

/** sizeof(struct mbuf_zone_stat) */
export const MZS_SIZE = 72;
const MZS_NAMELEN = 24;

/** The zones as kern.ipc.mbuf_zones gives them. */
export function mbuf_zones_bytes(zones: readonly MbufZoneStat[]): Uint8Array {
  const b = new Uint8Array(zones.length * MZS_SIZE);
  const dv = new DataView(b.buffer);
  zones.forEach((z, i) => {
    const o = i * MZS_SIZE;
    for (let j = 0; j < Math.min(z.name.length, MZS_NAMELEN - 1); j++)
      b[o + j] = z.name.charCodeAt(j) & 0x7f;
    dv.setUint32(o + 24, z.size, true);
    dv.setUint32(o + 28, z.cachemax, true);
    dv.setBigUint64(o + 32, BigInt(z.current), true);
    dv.setBigUint64(o + 40, BigInt(z.cache), true);
    dv.setBigUint64(o + 48, BigInt(z.bytes), true);
    dv.setBigUint64(o + 56, BigInt(z.allocs), true);
    dv.setBigUint64(o + 64, BigInt(z.fails), true);
  });
  return b;
}

/** Decode kern.ipc.mbuf_zones (netstat's side); a trailing partial record is ignored. */
export function mbuf_zones_decode(b: Uint8Array): MbufZoneStat[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: MbufZoneStat[] = [];
  for (let o = 0; o + MZS_SIZE <= b.length; o += MZS_SIZE) {
    let name = '';
    for (let j = 0; j < MZS_NAMELEN && b[o + j] !== 0; j++) name += String.fromCharCode(b[o + j]!);
    out.push({
      name,
      size: dv.getUint32(o + 24, true),
      cachemax: dv.getUint32(o + 28, true),
      current: Number(dv.getBigUint64(o + 32, true)),
      cache: Number(dv.getBigUint64(o + 40, true)),
      bytes: Number(dv.getBigUint64(o + 48, true)),
      allocs: Number(dv.getBigUint64(o + 56, true)),
      fails: Number(dv.getBigUint64(o + 64, true)),
    });
  }
  return out;
}

SYSCTL_OPAQUE_RO(
  K,
  'kern.ipc.mbuf_zones',
  0,
  () => mbuf_zones_bytes(curkernel().mbpool.zones()),
  'S,mbuf_zone_stat',
  'Statistics of the mbuf zones (struct mbuf_zone_stat[], kern/kern_mbuf.ts)',
);
