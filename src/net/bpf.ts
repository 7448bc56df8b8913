/*
 * net/bpf.ts — the Berkeley Packet Filter device, bpf(4) (sys/net/bpf.c).
 *
 * Attachment: every interface that wants taps calls bpfattach(ifp, dlt, hdrlen) (Ethernet:
 * DLT_EN10MB, 14; loopback: DLT_NULL, 4), which hangs a BpfIf on ifp.if_bpf.  Drivers
 * and the link layer call bpf_mtap(ifp, m) on input and output (bpf_mtap2 with a
 * prepended pseudo header for DLT_NULL); with no listener that is one test.
 *
 * Descriptors: bpf_open(k, td) makes a File on bpf_ops (devopen in dev/memdev.ts maps
 * /dev/bpf, /dev/bpf0... to it).  A descriptor lives in the opener's vnet; BIOCSETIF
 * names an interface there.  It keeps FreeBSD's double buffer: packets that pass the
 * filter are appended to the store buffer as records — struct bpf_hdr (26 bytes,
 * timestamp from the kernel clock, caplen, datalen, hdrlen = BPF_WORDALIGN(26+linkhdr)
 * - linkhdr) followed by the captured bytes, each record BPF_WORDALIGN'ed; when the
 * store buffer is full it is rotated into the hold buffer (or the packet is dropped
 * and bs_drop counted when the hold buffer is still unread).  read(2) must ask for
 * exactly the buffer size (EINVAL otherwise) and returns the hold buffer; it blocks
 * until a rotation, the read timeout (BIOCSRTIMEOUT: then whatever is stored) or, in
 * immediate mode (BIOCIMMEDIATE), the first packet; non-blocking reads return
 * EWOULDBLOCK when there is nothing.  The filter (BIOCSETF) is run by
 * net/bpf_filter.ts's bpf_filter after bpf_validate.
 *
 * Besides descriptors, a kernel-wide capture hook (bpf_capture_set) sees every tapped
 * packet of every interface in every vnet — the pcapng "one timeline" writer uses it.
 *
 * A transport checksum still pending in the packet (CSUM_DELAY_DATA: its sender left it
 * to an interface that offloads it, epair's TXCSUM, and the receiving stack will not
 * check it) is shown finished: the listeners get a copy with the checksum filled in, as
 * it would be on a wire, while the packet itself goes on untouched.  FreeBSD's bpf shows
 * the pseudo-header sum that is in the mbuf, which tcpdump then calls incorrect; here
 * captures stay lint-clean (tshark's checksum checks), at the cost of one copy and one
 * checksum per tapped packet only while someone listens.
 *
 * Deliberate differences: the finished checksum just described; no zero-copy buffers,
 * no BIOCSETWF/write(2) injection yet (XXX), no direction filtering beyond BIOCSDIRECTION's in/out/inout; timestamps are
 * always BPF_T_MICROTIME.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { BKPT } from '../kern/subr_kdb.js';
import { curkernel } from '../kern/kern_cur.js';
import type { Kernel } from '../kern/kernel.js';
import {
  File,
  FNONBLOCK,
  FREAD,
  FWRITE,
  uiomove,
  type FileOps,
  type Uio,
} from '../kern/kern_descrip.js';
import type { Thread } from '../sys/proc.js';
import { _IO, _IOR, _IOW, _IOWR } from '../sys/ioccom.js';
import { bytes, uint } from '../sys/types.js';
import { ifreq, FIONREAD, FIONBIO, FIOASYNC } from '../sys/sockio.js';
import {
  EACCES,
  EINTR,
  EINVAL,
  ENXIO,
  ENOIOCTL,
  ERESTART,
  EWOULDBLOCK,
  EFAULT,
} from '../sys/errno.js';
import { CSUM_DELAY_DATA, CSUM_UDP, mtod, type Mbuf } from '../sys/mbuf.js';
import { ether_ip_off } from './ethernet.js';
import { in_delayed_cksum_buf } from '../netinet/in_cksum.js';
import type { Ifnet } from './if_var.js';
import {
  BIOCSETF,
  DLT_EN10MB,
  DLT_NULL,
  BPF_MAXINSNS,
  BPF_WORDALIGN,
  bpf_filter,
  bpf_hdr_encode,
  bpf_hdrlen,
  bpf_program_decode,
  bpf_validate,
  type bpf_program,
} from './bpf_filter.js';
import { CURVNET_RESTORE, CURVNET_SET, type Vnet } from './vnet.js';
import { ifunit, ifpromisc, ifr_name_get, ifr_name_set } from './if.js';
import { getmicrotime } from '../kern/kern_clock.js';
import { _sleep, wakeup_k } from '../kern/kern_synch.js';
import { copyin } from '../vm/vm_map.js';
import { SBT_1S, SBT_1US } from '../kern/kern_clock.js';
import { PcapngWriter, concatChunks } from './pcap.js';

export const K = new ObjFile('net/bpf.ts', VIMAGEID('src/net/bpf.ts'));

const S_bpf_mtap = K.TEXT('bpf_mtap');
const S_bpfread = K.TEXT('bpfread');

export { BIOCSETF, DLT_EN10MB, DLT_NULL } from './bpf_filter.js';

/* ioctls (net/bpf.h) */
const timeval_t = bytes(16, 8, 'struct timeval');
const bpf_stat_t = bytes(8, 4, 'struct bpf_stat');
const bpf_version_t = bytes(4, 2, 'struct bpf_version');
export const BIOCGBLEN = _IOR('B', 102, uint);
export const BIOCSBLEN = _IOWR('B', 102, uint);
export const BIOCFLUSH = _IO('B', 104);
export const BIOCPROMISC = _IO('B', 105);
export const BIOCGDLT = _IOR('B', 106, uint);
export const BIOCGETIF = _IOR('B', 107, ifreq);
export const BIOCSETIF = _IOW('B', 108, ifreq);
export const BIOCSRTIMEOUT = _IOW('B', 109, timeval_t);
export const BIOCGRTIMEOUT = _IOR('B', 110, timeval_t);
export const BIOCGSTATS = _IOR('B', 111, bpf_stat_t);
export const BIOCIMMEDIATE = _IOW('B', 112, uint);
export const BIOCVERSION = _IOR('B', 113, bpf_version_t);
export const BIOCGDIRECTION = _IOR('B', 118, uint);
export const BIOCSDIRECTION = _IOW('B', 119, uint);
export const BIOCSETFNR = _IOW('B', 130, bytes(16, 8, 'struct bpf_program'));

export const BPF_MAJOR_VERSION = 1;
export const BPF_MINOR_VERSION = 1;
export const BPF_D_IN = 0;
export const BPF_D_INOUT = 1;
export const BPF_D_OUT = 2;
export const BPF_MINBUFSIZE = 32;
export const BPF_MAXBUFSIZE = 0x80000;
export const BPF_DEFAULTBUFSIZE = 4096;

/** struct bpf_if: one interface's attachment. */
export class BpfIf {
  readonly bif_dlist: BpfD[] = [];
  constructor(
    readonly bif_ifp: Ifnet,
    readonly bif_dlt: number,
    readonly bif_hdrlen: number,
  ) {}
}

/** struct bpf_d: one open descriptor. */
export class BpfD {
  bd_bif: BpfIf | null = null;
  bd_bufsize = BPF_DEFAULTBUFSIZE;
  bd_sbuf: Uint8Array | null = null;
  bd_hbuf: Uint8Array | null = null;
  bd_slen = 0;
  bd_hlen = 0;
  bd_immediate = false;
  bd_promisc = false;
  bd_direction = BPF_D_INOUT;
  bd_rtout = 0; /* ns, 0 = forever */
  bd_filter: bpf_program | null = null;
  bd_rcount = 0;
  bd_dcount = 0;
  bd_fcount = 0;
  bd_closed = false;
  constructor(
    readonly bd_kernel: Kernel,
    readonly bd_vnet: Vnet | null,
  ) {}
}

/** A kernel-wide tap: sees every packet of every interface with listeners or not. */
export type BpfCapture = (
  ifp: Ifnet,
  dlt: number,
  data: Uint8Array,
  wirelen: number,
  out: boolean,
) => void;

function bpf_global(k: Kernel): { capture: BpfCapture | null } {
  let g = k.netglobal['bpf'] as { capture: BpfCapture | null } | undefined;
  if (g === undefined) k.netglobal['bpf'] = g = { capture: null };
  return g;
}

/** Install (or remove, null) the kernel-wide capture hook (pcapng of the whole lab). */
export function bpf_capture_set(k: Kernel, fn: BpfCapture | null): void {
  bpf_global(k).capture = fn;
}

/** bpfattach(ifp, dlt, hdrlen) */
export function bpfattach(ifp: Ifnet, dlt: number, hdrlen: number): void {
  ifp.if_bpf = new BpfIf(ifp, dlt, hdrlen);
}

/** bpfdetach(ifp): descriptors lose their interface (reads return ENXIO). */
export function bpfdetach(ifp: Ifnet): void {
  const bp = ifp.if_bpf as BpfIf | null;
  if (!bp) return;
  for (const d of [...bp.bif_dlist]) {
    bpf_detachd(d);
    wakeup_k(d.bd_kernel, d);
  }
  ifp.if_bpf = null;
}

/** bpf_peers_present: is anyone listening on this interface? */
export function bpf_peers_present(ifp: Ifnet): boolean {
  const bp = ifp.if_bpf as BpfIf | null;
  return bp !== null && bp.bif_dlist.length > 0;
}

function catchpacket(d: BpfD, pkt: Uint8Array, wirelen: number, snaplen: number): void {
  const bp = d.bd_bif!;
  const hdrlen = bpf_hdrlen(bp.bif_hdrlen);
  let caplen = Math.min(snaplen, pkt.length);
  let totlen = hdrlen + caplen;
  if (totlen > d.bd_bufsize) {
    totlen = d.bd_bufsize;
    caplen = totlen - hdrlen;
  }
  let curlen = BPF_WORDALIGN(d.bd_slen);
  if (curlen + totlen > d.bd_bufsize) {
    if (d.bd_hbuf !== null && d.bd_hlen > 0) {
      d.bd_dcount++;
      return;
    }
    rotate(d);
    curlen = 0;
    wakeup_k(d.bd_kernel, d);
  }
  const sb = d.bd_sbuf!;
  const tv = getmicrotime(d.bd_kernel);
  bpf_hdr_encode(sb, curlen, tv.tv_sec, tv.tv_usec, caplen, wirelen, hdrlen);
  sb.set(pkt.subarray(0, caplen), curlen + hdrlen);
  d.bd_slen = curlen + totlen;
  d.bd_fcount++;
  if (d.bd_immediate) wakeup_k(d.bd_kernel, d);
}

function rotate(d: BpfD): void {
  const h = d.bd_hbuf;
  d.bd_hbuf = d.bd_sbuf;
  d.bd_hlen = d.bd_slen;
  d.bd_sbuf = h ?? new Uint8Array(d.bd_bufsize);
  d.bd_slen = 0;
}

function bpf_tap(ifp: Ifnet, pkt: Uint8Array, wirelen: number, out: boolean): void {
  const bp = ifp.if_bpf as BpfIf | null;
  const k = curkernel();
  const cap = bpf_global(k).capture;
  if (cap !== null && bp !== null) cap(ifp, bp.bif_dlt, pkt, wirelen, out);
  if (bp === null) return;
  for (const d of bp.bif_dlist) {
    if (out ? d.bd_direction === BPF_D_IN : d.bd_direction === BPF_D_OUT) continue;
    d.bd_rcount++;
    const slen = bpf_filter(d.bd_filter, pkt, wirelen, pkt.length);
    if (slen === 0) continue;
    catchpacket(d, pkt, wirelen, slen);
  }
}

/**
 * bpf_mtap(ifp, m, out): tap a packet (m is borrowed).  `out` says the direction
 * (FreeBSD compares m's rcvif with the interface); default: m.rcvif !== ifp.
 */
export function bpf_mtap(ifp: Ifnet, m: Mbuf, out?: boolean): void {
  BKPT(S_bpf_mtap);
  const bp = ifp.if_bpf as BpfIf | null;
  if (bp === null) return;
  if (bp.bif_dlist.length === 0 && bpf_global(curkernel()).capture === null) return;
  let pkt = mtod(m);
  if (m.csum_flags & CSUM_DELAY_DATA) pkt = bpf_csum_image(bp.bif_dlt, m, pkt);
  bpf_tap(ifp, pkt, m.len, out ?? m.rcvif !== ifp);
}

/** A copy of the IPv4 packet pkt (of m) with its pending transport checksum finished. */
function bpf_csum_image(dlt: number, m: Mbuf, pkt: Uint8Array): Uint8Array {
  const off = dlt === DLT_EN10MB ? ether_ip_off(pkt, 0, pkt.length) : dlt === DLT_NULL ? 0 : -1;
  if (off < 0) return pkt;
  const c = pkt.slice();
  in_delayed_cksum_buf(c, off, c.length - off, m.csum_data, (m.csum_flags & CSUM_UDP) !== 0);
  return c;
}

/** bpf_mtap2(ifp, hdr, m): tap with a pseudo header in front (DLT_NULL's AF word). */
export function bpf_mtap2(ifp: Ifnet, hdr: Uint8Array, m: Mbuf, out?: boolean): void {
  BKPT(S_bpf_mtap);
  const bp = ifp.if_bpf as BpfIf | null;
  if (bp === null) return;
  if (bp.bif_dlist.length === 0 && bpf_global(curkernel()).capture === null) return;
  const b = new Uint8Array(hdr.length + m.len);
  b.set(hdr, 0);
  b.set(mtod(m), hdr.length);
  bpf_tap(ifp, b, b.length, out ?? m.rcvif !== ifp);
}

function bpf_attachd(d: BpfD, bp: BpfIf): void {
  bpf_detachd(d);
  d.bd_bif = bp;
  bp.bif_dlist.push(d);
}

function bpf_detachd(d: BpfD): void {
  const bp = d.bd_bif;
  if (bp === null) return;
  const i = bp.bif_dlist.indexOf(d);
  if (i >= 0) bp.bif_dlist.splice(i, 1);
  if (d.bd_promisc) {
    d.bd_promisc = false;
    ifpromisc(bp.bif_ifp, false);
  }
  d.bd_bif = null;
}

function reset_d(d: BpfD): void {
  d.bd_hbuf = null;
  d.bd_hlen = 0;
  d.bd_slen = 0;
  d.bd_rcount = 0;
  d.bd_dcount = 0;
  d.bd_fcount = 0;
}

function u32(data: Uint8Array, off = 0): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(off, true);
}
function setu32(data: Uint8Array, v: number, off = 0): void {
  new DataView(data.buffer, data.byteOffset, data.byteLength).setUint32(off, v >>> 0, true);
}

function bpf_setf(d: BpfD, data: Uint8Array, td: Thread | undefined, reset: boolean): number {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = dv.getUint32(0, true);
  const uaddr = dv.getUint32(8, true) + dv.getUint32(12, true) * 4294967296;
  if (n === 0 && uaddr === 0) {
    d.bd_filter = null;
  } else {
    if (n === 0 || n > BPF_MAXINSNS) return EINVAL;
    if (!td) return EFAULT;
    const b = copyin(td.td_proc, uaddr, n * 8);
    if (typeof b === 'number') return b;
    const prog = bpf_program_decode(b);
    if (prog === null || !bpf_validate(prog)) return EINVAL;
    d.bd_filter = prog;
  }
  if (reset) reset_d(d);
  return 0;
}

function bpfioctl(d: BpfD, com: number, data: Uint8Array, td?: Thread): number {
  switch (com >>> 0) {
    case FIONBIO:
    case FIOASYNC:
      return 0;
    case FIONREAD: {
      let n = d.bd_slen;
      if (d.bd_hbuf !== null) n += d.bd_hlen;
      setu32(data, n);
      return 0;
    }
    case BIOCGBLEN >>> 0:
      setu32(data, d.bd_bufsize);
      return 0;
    case BIOCSBLEN >>> 0: {
      if (d.bd_bif !== null) return EINVAL;
      let size = u32(data);
      if (size > BPF_MAXBUFSIZE) size = BPF_MAXBUFSIZE;
      else if (size < BPF_MINBUFSIZE) size = BPF_MINBUFSIZE;
      d.bd_bufsize = size;
      setu32(data, size);
      return 0;
    }
    case BIOCSETF >>> 0:
      return bpf_setf(d, data, td, true);
    case BIOCSETFNR >>> 0:
      return bpf_setf(d, data, td, false);
    case BIOCFLUSH >>> 0:
      reset_d(d);
      return 0;
    case BIOCPROMISC >>> 0:
      if (d.bd_bif === null) return EINVAL;
      if (!d.bd_promisc) {
        d.bd_promisc = true;
        ifpromisc(d.bd_bif.bif_ifp, true);
      }
      return 0;
    case BIOCGDLT >>> 0:
      if (d.bd_bif === null) return EINVAL;
      setu32(data, d.bd_bif.bif_dlt);
      return 0;
    case BIOCGETIF >>> 0:
      if (d.bd_bif === null) return EINVAL;
      ifr_name_set(data, d.bd_bif.bif_ifp.if_xname);
      return 0;
    case BIOCSETIF >>> 0: {
      const name = ifr_name_get(data);
      const saved = d.bd_vnet ? CURVNET_SET(d.bd_vnet) : null;
      let ifp: Ifnet | null;
      try {
        ifp = ifunit(name);
      } finally {
        if (d.bd_vnet) CURVNET_RESTORE(saved);
      }
      if (ifp === null || ifp.if_bpf === null) return ENXIO;
      if (d.bd_sbuf === null || d.bd_sbuf.length !== d.bd_bufsize)
        d.bd_sbuf = new Uint8Array(d.bd_bufsize);
      bpf_attachd(d, ifp.if_bpf as BpfIf);
      reset_d(d);
      return 0;
    }
    case BIOCSRTIMEOUT >>> 0: {
      const dv = new DataView(data.buffer, data.byteOffset, 16);
      const sec = Number(dv.getBigInt64(0, true));
      const usec = Number(dv.getBigInt64(8, true));
      if (sec < 0 || usec < 0 || usec >= 1000000) return EINVAL;
      d.bd_rtout = sec * SBT_1S + usec * SBT_1US;
      return 0;
    }
    case BIOCGRTIMEOUT >>> 0: {
      const dv = new DataView(data.buffer, data.byteOffset, 16);
      dv.setBigInt64(0, BigInt(Math.floor(d.bd_rtout / SBT_1S)), true);
      dv.setBigInt64(8, BigInt(Math.floor((d.bd_rtout % SBT_1S) / SBT_1US)), true);
      return 0;
    }
    case BIOCGSTATS >>> 0:
      setu32(data, d.bd_rcount, 0);
      setu32(data, d.bd_dcount, 4);
      return 0;
    case BIOCIMMEDIATE >>> 0:
      d.bd_immediate = u32(data) !== 0;
      return 0;
    case BIOCVERSION >>> 0: {
      const dv = new DataView(data.buffer, data.byteOffset, 4);
      dv.setUint16(0, BPF_MAJOR_VERSION, true);
      dv.setUint16(2, BPF_MINOR_VERSION, true);
      return 0;
    }
    case BIOCGDIRECTION >>> 0:
      setu32(data, d.bd_direction);
      return 0;
    case BIOCSDIRECTION >>> 0: {
      const v = u32(data);
      if (v !== BPF_D_IN && v !== BPF_D_OUT && v !== BPF_D_INOUT) return EINVAL;
      d.bd_direction = v;
      return 0;
    }
  }
  return ENOIOCTL;
}

async function bpfread(fp: File, uio: Uio, td?: Thread): Promise<number> {
  BKPT(S_bpfread);
  const d = fp.f_data as BpfD;
  if (uio.uio_resid !== d.bd_bufsize) return EINVAL;
  const k = d.bd_kernel;
  const nonblock = (fp.f_flag & FNONBLOCK) !== 0;
  while (d.bd_hbuf === null || d.bd_hlen === 0) {
    if (d.bd_slen !== 0 && (d.bd_immediate || nonblock)) {
      rotate(d);
      break;
    }
    if (d.bd_bif === null) return ENXIO;
    if (nonblock) return EWOULDBLOCK;
    if (!td) return EWOULDBLOCK;
    const e = await _sleep(k, td, d, 0x100 /* PCATCH */, 'bpf', d.bd_rtout);
    if (e === EINTR || e === ERESTART) return e;
    if (e === EWOULDBLOCK) {
      if (d.bd_hbuf !== null && d.bd_hlen > 0) break;
      if (d.bd_slen === 0) return 0;
      rotate(d);
      break;
    }
  }
  const hb = d.bd_hbuf!;
  uiomove(hb.subarray(0, d.bd_hlen), uio);
  d.bd_hlen = 0;
  // The hold buffer becomes the free buffer again (the store keeps its own).
  return 0;
}

export const bpf_ops: FileOps = {
  fo_type: 'bpf',
  fo_read(fp: File, uio: Uio, _flags: number, td?: Thread): Promise<number> {
    return bpfread(fp, uio, td);
  },
  fo_write(): number {
    return 45; /* EOPNOTSUPP: XXX write(2) injection not implemented */
  },
  fo_ioctl(fp: File, com: number, data: Uint8Array, td?: Thread): number {
    return bpfioctl(fp.f_data as BpfD, com, data, td);
  },
  fo_close(fp: File): number {
    const d = fp.f_data as BpfD;
    d.bd_closed = true;
    bpf_detachd(d);
    return 0;
  },
  fo_poll(fp: File, events: number): number {
    const d = fp.f_data as BpfD;
    const ready = (d.bd_hbuf !== null && d.bd_hlen > 0) || (d.bd_immediate && d.bd_slen > 0);
    return ready ? events & 0x0041 /* POLLIN|POLLRDNORM */ : 0;
  },
};

/** bpfopen: a descriptor in the opener's vnet.  Root only (the node is 0600). */
export function bpf_open(k: Kernel, td: Thread, fflags = FREAD | FWRITE): File | number {
  const cr = td.td_proc.p_ucred;
  if (cr.cr_uid !== 0) return EACCES;
  const v = k.vimage ? (cr.cr_prison.pr_vnet ?? k.vnet0) : null;
  return new File(bpf_ops, new BpfD(k, v), fflags);
}

/** The descriptors attached to an interface (for tests and show). */
export function bpf_listeners(ifp: Ifnet): readonly BpfD[] {
  const bp = ifp.if_bpf as BpfIf | null;
  return bp ? bp.bif_dlist : [];
}

/* ------------------------------------------------------------------------------ */
/* One timeline for the whole lab: pcapng of every tapped packet of every vnet.     */

/**
 * A kernel-wide pcapng capture: every packet tapped on any interface of any vnet, in
 * order, timestamps from the kernel clock (ns), each interface (per vnet and name) an
 * IDB named "vnetN:ifname" (N = the vnet ordinal; 0 for vnet0 or without VIMAGE).
 */
export class BpfLabCapture {
  readonly writer = new PcapngWriter({ userappl: 'vimage bpf' });
  readonly chunks: Uint8Array[] = [];
  private readonly ids = new Map<string, number>();
  packets = 0;
  constructor(readonly k: Kernel) {
    this.chunks.push(this.writer.header());
  }
  tap(ifp: Ifnet, dlt: number, data: Uint8Array, wirelen: number): void {
    const key = `vnet${ifp.if_vnet?.vnet_id ?? 0}:${ifp.if_xname}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      const r = this.writer.addInterface({ name: key, linktype: dlt });
      id = r.id;
      this.ids.set(key, id);
      this.chunks.push(r.block);
    }
    this.chunks.push(this.writer.packet(id, this.k.now(), data, wirelen));
    this.packets++;
  }
  /** The capture so far as one pcapng file image. */
  bytes(): Uint8Array {
    return concatChunks(this.chunks);
  }
  /** Stop capturing (the hook is removed); returns the file image. */
  stop(): Uint8Array {
    if (bpf_global(this.k).capture !== null) bpf_capture_set(this.k, null);
    return this.bytes();
  }
}

/** Start capturing the whole kernel into pcapng (replaces any other kernel-wide hook). */
export function bpf_capture_pcapng(k: Kernel): BpfLabCapture {
  const c = new BpfLabCapture(k);
  bpf_capture_set(k, (ifp, dlt, data, wirelen) => c.tap(ifp, dlt, data, wirelen));
  return c;
}
