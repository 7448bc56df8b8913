/*
 * net/if_vxlan.ts — vxlan(4): Ethernet over UDP (RFC 7348), carried by a host UDP socket.
 *
 * `ifconfig vxlan create vxlanid 42 vxlanlocal 127.0.0.1 vxlanlocalport 4790
 *  vxlanremote 127.0.0.1 vxlanremoteport 4789 up` makes an Ethernet interface whose
 * frames travel, encapsulated, over the host's real network: vxlanlocal/vxlanremote are
 * underlay (host-side) addresses.  It joins vnets in different processes or machines
 * into one lab, and attaches a vnet to a Linux vxlan interface.
 *
 * Encapsulation (RFC 7348 §5): an 8-byte header — flags with the I bit (0x08), 24
 * reserved bits, the 24-bit VNI, 8 reserved bits — then the inner Ethernet frame, as the
 * payload of a UDP datagram to the remote endpoint.
 *
 * Forwarding table (RFC 7348 §4.1): with learning on (vxlanlearn, the default), the
 * source MAC of each received frame is remembered with the underlay address it came
 * from (and the configured remote port: a peer's source port is a per-flow hash), for
 * vxlantimeout seconds (default 1200); a unicast frame to a known MAC goes to that
 * endpoint, anything else to the configured remote (flooding to one remote).
 *
 * Life: the host endpoint is opened when the interface goes up (vxlan_init; RUNNING
 * once the host has bound it) and closed when it goes down or is destroyed.  The host
 * hands over the datagrams of one turn of its event loop together (host/udp.ts); they
 * enter as one interrupt (k.sched.hostintr), queue on the interface, and the netisr
 * thread of CPU 0, woken once for the batch, feeds them to ether_input under one
 * CURVNET_SET of the interface's vnet — as a NIC's receive ring and interrupt
 * moderation hand FreeBSD a burst per interrupt.
 * Malformed datagrams (short, no I flag, another VNI) are dropped and counted in
 * if_ierrors; nothing on this path throws.
 *
 * Configuration: SIOCSDRVSPEC/SIOCGDRVSPEC with struct ifdrv and struct ifvxlancmd,
 * with FreeBSD's VXLAN_CMD_* numbers (net/if_vxlan.h); the ifvxlancmd layout here is
 * 76 bytes: flags@0 vni@4 ftable_timeout@8 ftable_max@12 port@16 port_min@18 port_max@20
 * mac@22 ttl@28 sockaddr(28 bytes)@32 ifname@60.
 * Deliberate differences: IPv4 underlay only, no multicast groups (one remote),
 * UDP source port is the local port (FreeBSD hashes a source port from a range).
 */

import { DECLARE_MODULE, MODULE_VERSION } from '../sys/module.js';
import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SI_ORDER_ANY, SI_SUB_INIT_IF, SI_SUB_PSEUDO } from '../sys/kernel.js';
import { BKPT } from '../kern/subr_kdb.js';
import { curkernel, curthread_or_null } from '../kern/kern_cur.js';
import type { Kernel } from '../kern/kernel.js';
import type { Thread } from '../sys/proc.js';
import { netisr_queue_work } from '../kern/kern_kthread.js';
import {
  CURVNET_RESTORE,
  CURVNET_SET,
  VNET_MAGIC_N,
  VNET_OBJ,
  VNET_SYSINIT,
  VNET_SYSUNINIT,
} from './vnet.js';
import {
  IFCOUNTER_IERRORS,
  IFCOUNTER_IPACKETS,
  IFCOUNTER_OBYTES,
  IFCOUNTER_OERRORS,
  IFCOUNTER_OPACKETS,
  IFCOUNTER_OQDROPS,
  IFF_BROADCAST,
  IFF_DRV_RUNNING,
  IFF_MULTICAST,
  IFF_SIMPLEX,
  IFF_UP,
  IFT_ETHER,
  LINK_STATE_DOWN,
  LINK_STATE_UP,
  if_inc_counter,
  type Ifnet,
} from './if_var.js';
import { if_alloc, if_free, if_initname, if_link_state_change, ifunit } from './if.js';
import {
  IfClone,
  if_clone_addif,
  if_clone_attach,
  if_clone_delif,
  if_clone_detach,
  ifc_alloc_unit,
  ifc_free_unit,
  ifc_simple_match,
} from './if_clone.js';
import { ether_ifattach, ether_ifdetach, ether_ioctl, ether_sw_csum } from './if_ethersubr.js';
import {
  ETHERMTU,
  ETHER_BCAST,
  ETHER_HDR_LEN,
  ETHER_IS_MULTICAST,
  ether_addr_read,
  type ether_addr_t,
} from './ethernet.js';
import { bpf_mtap } from './bpf.js';
import {
  M_PREPEND,
  m_freem,
  mbufq,
  mbufq_dequeue,
  mbufq_drain,
  mbufq_enqueue,
  mtod,
  type Mbuf,
} from '../sys/mbuf.js';
import {
  SIOCGDRVSPEC,
  SIOCGIFMEDIA,
  SIOCSDRVSPEC,
  SIOCSIFFLAGS,
  SIOCSIFMEDIA,
} from '../sys/sockio.js';
import {
  IFM_ACTIVE,
  IFM_AUTO,
  IFM_AVALID,
  IFM_ETHER,
  IFM_FDX,
  ifmedia_ioctl,
  type IfMedia,
} from './if_media.js';
import { EBUSY, EEXIST, EFAULT, EINVAL, ENOBUFS, ENOIOCTL, ENOSPC, ENXIO } from '../sys/errno.js';
import { copyin, copyout } from '../vm/vm_map.js';
import { arc4random } from '../kern/subr_random.js';
import { jenkins_hash32 } from './if_epair.js';
import type { HostUdpBatch, HostUdpEndpoint } from '../host/udp.js';
import { inet_aton, inet_ntoa, type in_addr_t } from '../netinet/in.js';

export const K = new ObjFile('net/if_vxlan.ts', VIMAGEID('src/net/if_vxlan.ts'));

/* The module record FreeBSD's if_vxlan declares (kldstat -v lists it under the kernel). */
DECLARE_MODULE(K, { name: 'if_vxlan', evhand: null }, SI_SUB_PSEUDO, SI_ORDER_ANY);
MODULE_VERSION(K, 'if_vxlan', 1);
const S_vxlan_transmit = K.TEXT('vxlan_transmit');
const S_vxlan_rcv = K.TEXT('vxlan_rcv_udp_packet');

export const VXLAN_PORT = 4789;
export const VXLAN_HDR_LEN = 8;
export const VXLAN_HDR_FLAGS_VALID_VNI = 0x08;
export const VXLAN_VNI_MAX = (1 << 24) - 1;
export const VXLAN_FTABLE_TIMEOUT = 1200;
export const VXLAN_FTABLE_MAX = 2000;

/* VXLAN_CMD_* (net/if_vxlan.h). */
export const VXLAN_CMD_GET_CONFIG = 0;
export const VXLAN_CMD_SET_VNI = 1;
export const VXLAN_CMD_SET_LOCAL_ADDR = 2;
export const VXLAN_CMD_SET_REMOTE_ADDR = 4;
export const VXLAN_CMD_SET_LOCAL_PORT = 5;
export const VXLAN_CMD_SET_REMOTE_PORT = 6;
export const VXLAN_CMD_SET_FTABLE_TIMEOUT = 8;
export const VXLAN_CMD_SET_FTABLE_MAX = 9;
export const VXLAN_CMD_SET_LEARN = 12;
export const VXLAN_CMD_FLUSH = 15;
export const VXLAN_CMD_FLAG_FLUSH_ALL = 0x0001;
export const VXLAN_CMD_FLAG_LEARN = 0x0002;
export const IFVXLANCMD_SIZE = 76;

interface FtEntry {
  readonly addr: string;
  readonly port: number;
  expire: number;
}

class VxlanSoftc {
  vni = 0;
  local = '0.0.0.0';
  lport = VXLAN_PORT;
  remote = '0.0.0.0';
  rport = VXLAN_PORT;
  learn = true;
  ftimeout = VXLAN_FTABLE_TIMEOUT;
  ftmax = VXLAN_FTABLE_MAX;
  readonly ftable = new Map<number, FtEntry>();
  sock: HostUdpEndpoint | null = null;
  /** The endpoint has bound (a failure before that is a failed bind). */
  sock_bound = false;
  /** The endpoint is counted in vxlan_host_endpoints (from open until close or a
   * failed bind: one that never bound can never deliver). */
  sock_counted = false;
  readonly rxq = new mbufq(4096);
  rx_scheduled = false;
  /** The netisr work that drains rxq (made once: no closure per batch). */
  readonly rx_intr = (): void => vxlan_intr(this);
  destroyed = false;
  /** Counters of underlay events. */
  badvni = 0;
  constructor(
    readonly ifp: Ifnet,
    readonly unit: number,
  ) {}
}

export const V_vxlan_cloner = VNET_OBJ<IfClone | null>(K, 'vxlan_cloner');

function vxlan_sc(ifp: Ifnet): VxlanSoftc {
  return ifp.if_softc as VxlanSoftc;
}

/** Kernel-wide: how many vxlan host endpoints are open (k.netglobal['vxlan']). */
function vxlan_global(k: Kernel): { open: number } {
  let g = k.netglobal['vxlan'] as { open: number } | undefined;
  if (g === undefined) k.netglobal['vxlan'] = g = { open: 0 };
  return g;
}

/**
 * The host endpoints open in kernel k: each can deliver a frame, and so wake a thread,
 * when nothing in the kernel is runnable or pending (the batch console asks, on the
 * real clock, before it calls an idle kernel deadlocked).
 */
export function vxlan_host_endpoints(k: Kernel): number {
  return vxlan_global(k).open;
}

/** Open the host endpoint (interface up): RUNNING once bound. */
function vxlan_init(k: Kernel, ifp: Ifnet): void {
  const sc = vxlan_sc(ifp);
  if (sc.sock !== null || k.hostnet === null) return;
  vxlan_global(k).open++;
  sc.sock_counted = true;
  sc.sock = k.hostnet.udp_open(
    sc.local,
    sc.lport,
    (batch) => k.sched.hostintr(() => vxlan_rcv_batch(sc, batch)),
    () =>
      k.sched.hostintr(() => {
        if (sc.destroyed || sc.sock === null) return;
        sc.sock_bound = true;
        ifp.if_drv_flags |= IFF_DRV_RUNNING;
        if_link_state_change(ifp, LINK_STATE_UP);
      }),
    (code) =>
      k.sched.hostintr(() => {
        if (sc.destroyed) return;
        if (!sc.sock_bound && sc.sock_counted) {
          vxlan_global(k).open--;
          sc.sock_counted = false;
        }
        k.printf(`${ifp.if_xname}: vxlan socket: ${code}`);
        if_inc_counter(ifp, IFCOUNTER_OERRORS, 1);
      }),
  );
}

function vxlan_teardown(ifp: Ifnet): void {
  const sc = vxlan_sc(ifp);
  ifp.if_drv_flags &= ~IFF_DRV_RUNNING;
  if_link_state_change(ifp, LINK_STATE_DOWN);
  if (sc.sock !== null) sc.sock.close();
  if (sc.sock_counted) vxlan_global(curkernel()).open--;
  sc.sock_counted = sc.sock_bound = false;
  sc.sock = null;
  sc.ftable.clear();
  mbufq_drain(sc.rxq);
}

/** Transmit: encapsulate and send to the learned endpoint or the remote. Consumes m. */
function vxlan_transmit(ifp: Ifnet, m: Mbuf): number {
  BKPT(S_vxlan_transmit);
  const sc = vxlan_sc(ifp);
  if (!(ifp.if_drv_flags & IFF_DRV_RUNNING) || sc.sock === null) {
    if_inc_counter(ifp, IFCOUNTER_OERRORS, 1);
    m_freem(m);
    return ENXIO;
  }
  /* No TXCSUM here: a checksum still pending (a bridged epair's sender) is finished
   * before the frame leaves in a datagram, as a NIC would on the wire. */
  ether_sw_csum(m);
  bpf_mtap(ifp, m, true);
  const frame = mtod(m);
  const dst = ether_addr_read(frame, 0);
  let addr = sc.remote;
  let port = sc.rport;
  if (!ETHER_IS_MULTICAST(dst)) {
    const fe = sc.ftable.get(dst);
    if (fe && fe.expire > curkernel().now()) {
      addr = fe.addr;
      port = fe.port;
    }
  }
  const len = frame.length;
  // The header goes in the leading space (the pool's headroom has room for the outer
  // headers), so the frame is not copied here; the host copies the datagram once, into
  // its own buffer, when it sends it.
  const mh = M_PREPEND(m, VXLAN_HDR_LEN);
  if (mh === null) {
    if_inc_counter(ifp, IFCOUNTER_OERRORS, 1);
    return ENOBUFS;
  }
  const out = mtod(mh);
  out[0] = VXLAN_HDR_FLAGS_VALID_VNI;
  out[1] = out[2] = out[3] = 0;
  out[4] = (sc.vni >>> 16) & 0xff;
  out[5] = (sc.vni >>> 8) & 0xff;
  out[6] = sc.vni & 0xff;
  out[7] = 0;
  if_inc_counter(ifp, IFCOUNTER_OPACKETS, 1);
  if_inc_counter(ifp, IFCOUNTER_OBYTES, len);
  sc.sock.send(out, port, addr);
  m_freem(mh);
  return 0;
}

/**
 * The datagrams the host received in one turn of its event loop (interrupt context):
 * each is validated, learned and queued, then the netisr thread is woken once for all
 * of them — one kernel entry, one wakeup and one pass of the stack per batch, where a
 * wakeup per datagram cost two context switches per frame.
 */
function vxlan_rcv_batch(sc: VxlanSoftc, batch: HostUdpBatch): void {
  if (sc.destroyed) return;
  const k = curkernel();
  const now = k.now();
  const n = batch.n;
  for (let i = 0; i < n; i++) vxlan_rcv_udp_packet(k, sc, batch.data[i]!, batch.from[i]!, now);
  if (sc.rxq.mq_len > 0 && !sc.rx_scheduled) {
    sc.rx_scheduled = true;
    if (netisr_queue_work(k, 0, sc.rx_intr) !== 0) vxlan_intr(sc);
  }
}

/** A datagram from the underlay: validate, learn, queue (the caller wakes the netisr). */
function vxlan_rcv_udp_packet(
  k: Kernel,
  sc: VxlanSoftc,
  data: Uint8Array,
  from: { readonly address: string; readonly port: number },
  now: number,
): void {
  BKPT(S_vxlan_rcv);
  const ifp = sc.ifp;
  if (
    data.length < VXLAN_HDR_LEN + ETHER_HDR_LEN ||
    (data[0]! & VXLAN_HDR_FLAGS_VALID_VNI) === 0 ||
    ((data[4]! << 16) | (data[5]! << 8) | data[6]!) !== sc.vni
  ) {
    if (data.length >= VXLAN_HDR_LEN && ((data[4]! << 16) | (data[5]! << 8) | data[6]!) !== sc.vni)
      sc.badvni++;
    if_inc_counter(ifp, IFCOUNTER_IERRORS, 1);
    return;
  }
  if (!(ifp.if_flags & IFF_UP)) return;
  if (sc.learn) vxlan_ftable_learn(sc, ether_addr_read(data, VXLAN_HDR_LEN + 6), from, now);
  const m = k.mbpool.m_devget(data.subarray(VXLAN_HDR_LEN), ifp);
  if (m === null) {
    if_inc_counter(ifp, IFCOUNTER_IERRORS, 1);
    return;
  }
  if (mbufq_enqueue(sc.rxq, m) !== 0) {
    if_inc_counter(ifp, IFCOUNTER_OQDROPS, 1);
    m_freem(m);
    return;
  }
  if_inc_counter(ifp, IFCOUNTER_IPACKETS, 1);
}

/**
 * Remember that src is behind the underlay address from.  The source port may be
 * chosen per flow by the remote (Linux hashes the inner headers into it, RFC 7348 §5):
 * learn the address with the configured remote port, as FreeBSD's vxlan_ftable_learn
 * does.  A known station at the same address only has its lifetime renewed.
 */
function vxlan_ftable_learn(
  sc: VxlanSoftc,
  src: ether_addr_t,
  from: { readonly address: string },
  now: number,
): void {
  if (ETHER_IS_MULTICAST(src)) return;
  const expire = now + sc.ftimeout * 1e9;
  const fe = sc.ftable.get(src);
  if (fe !== undefined && fe.addr === from.address && fe.port === sc.rport) {
    fe.expire = expire;
    return;
  }
  if (fe === undefined && sc.ftable.size >= sc.ftmax) return;
  sc.ftable.set(src, { addr: from.address, port: sc.rport, expire });
}

function vxlan_intr(sc: VxlanSoftc): void {
  sc.rx_scheduled = false;
  const ifp = sc.ifp;
  const v = ifp.if_vnet;
  if (sc.destroyed || v === null || v.vnet_magic_n !== VNET_MAGIC_N) {
    mbufq_drain(sc.rxq);
    return;
  }
  // The whole queue under one CURVNET_SET, as epair feeds its batches.
  const saved = CURVNET_SET(v);
  try {
    for (let m = mbufq_dequeue(sc.rxq); m !== null; m = mbufq_dequeue(sc.rxq)) ifp.if_input(ifp, m);
  } finally {
    CURVNET_RESTORE(saved);
  }
}

/* ---------------------------------------------------------------------------------- */
/* Configuration                                                                        */

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Encode the configuration as struct ifvxlancmd (VXLAN_CMD_GET_CONFIG). */
export function ifvxlancmd_get(sc: VxlanSoftc): Uint8Array {
  const b = new Uint8Array(IFVXLANCMD_SIZE);
  const d = dv(b);
  d.setUint32(0, sc.learn ? VXLAN_CMD_FLAG_LEARN : 0, true);
  d.setUint32(4, sc.vni, true);
  d.setUint32(8, sc.ftimeout, true);
  d.setUint32(12, sc.ftmax, true);
  d.setUint16(16, sc.lport, true);
  d.setUint16(18, sc.rport, true);
  const sin = (at: number, addr: string): void => {
    b[at] = 16;
    b[at + 1] = 2;
    d.setUint32(at + 4, inet_aton(addr) ?? 0);
  };
  sin(32, sc.local);
  // The remote address travels in the same layout after the local one in GET_CONFIG
  // (FreeBSD's ifvxlancfg); here the remote goes in ifname's place as a second sockaddr.
  sin(60, sc.remote);
  return b;
}

function vxlan_ctl(ifp: Ifnet, cmd: number, arg: Uint8Array): number {
  const sc = vxlan_sc(ifp);
  const d = dv(arg);
  const running = (ifp.if_flags & IFF_UP) !== 0;
  const sinaddr = (): string | null =>
    arg[33] === 2 ? inet_ntoa(d.getUint32(36) as in_addr_t) : null;
  switch (cmd) {
    case VXLAN_CMD_SET_VNI: {
      const vni = d.getUint32(4, true);
      if (vni > VXLAN_VNI_MAX) return EINVAL;
      if (running) return EBUSY;
      sc.vni = vni;
      return 0;
    }
    case VXLAN_CMD_SET_LOCAL_ADDR:
    case VXLAN_CMD_SET_REMOTE_ADDR: {
      const a = sinaddr();
      if (a === null) return EINVAL;
      if (running) return EBUSY;
      if (cmd === VXLAN_CMD_SET_LOCAL_ADDR) sc.local = a;
      else sc.remote = a;
      return 0;
    }
    case VXLAN_CMD_SET_LOCAL_PORT:
    case VXLAN_CMD_SET_REMOTE_PORT: {
      const p = d.getUint16(16, true);
      if (p === 0) return EINVAL;
      if (running) return EBUSY;
      if (cmd === VXLAN_CMD_SET_LOCAL_PORT) sc.lport = p;
      else sc.rport = p;
      return 0;
    }
    case VXLAN_CMD_SET_FTABLE_TIMEOUT:
      sc.ftimeout = d.getUint32(8, true);
      return 0;
    case VXLAN_CMD_SET_FTABLE_MAX:
      sc.ftmax = d.getUint32(12, true);
      return 0;
    case VXLAN_CMD_SET_LEARN:
      sc.learn = (d.getUint32(0, true) & VXLAN_CMD_FLAG_LEARN) !== 0;
      return 0;
    case VXLAN_CMD_FLUSH:
      sc.ftable.clear();
      return 0;
    default:
      return EINVAL;
  }
}

/* FreeBSD's vxlan media: autoselect, always reported active and full duplex.  One word,
 * so one shared description serves every interface. */
const VXLAN_MEDIA: IfMedia = {
  list: [IFM_ETHER | IFM_AUTO],
  current: IFM_ETHER | IFM_AUTO,
  status: () => ({ active: IFM_ETHER | IFM_FDX, status: IFM_AVALID | IFM_ACTIVE }),
};

function vxlan_ioctl(ifp: Ifnet, cmd: number, data: Uint8Array, tdarg?: Thread | null): number {
  const k = curkernel();
  switch (cmd >>> 0) {
    case SIOCGIFMEDIA:
    case SIOCSIFMEDIA: {
      const td = tdarg === undefined ? curthread_or_null() : tdarg;
      return ifmedia_ioctl(VXLAN_MEDIA, data, cmd >>> 0 === SIOCGIFMEDIA, (b, ua) =>
        td ? copyout(td.td_proc, b, ua) : EFAULT,
      );
    }
    case SIOCSDRVSPEC:
    case SIOCGDRVSPEC: {
      const d = dv(data);
      const ifd_cmd = d.getUint32(16, true);
      const ifd_len = d.getUint32(24, true);
      const uaddr = d.getUint32(32, true) + d.getUint32(36, true) * 4294967296;
      if (ifd_len !== IFVXLANCMD_SIZE) return EINVAL;
      const td = tdarg === undefined ? curthread_or_null() : tdarg;
      if (td === null) return EFAULT;
      if (cmd >>> 0 === SIOCGDRVSPEC) {
        if (ifd_cmd !== VXLAN_CMD_GET_CONFIG) return EINVAL;
        return copyout(td.td_proc, ifvxlancmd_get(vxlan_sc(ifp)), uaddr);
      }
      const arg = copyin(td.td_proc, uaddr, IFVXLANCMD_SIZE);
      if (typeof arg === 'number') return arg;
      return vxlan_ctl(ifp, ifd_cmd, arg);
    }
    case SIOCSIFFLAGS:
      if (ifp.if_flags & IFF_UP) vxlan_init(k, ifp);
      else vxlan_teardown(ifp);
      return 0;
    default: {
      const e = ether_ioctl(ifp, cmd, data);
      return e === ENOIOCTL ? EINVAL : e;
    }
  }
}

function vxlan_clone_create(
  ifc: IfClone,
  name: string,
  _params: number | null,
): { error: number; name: string } {
  const rest = name.slice('vxlan'.length);
  const u = ifc_alloc_unit(ifc, rest === '' ? -1 : Number(rest));
  if (u.error) return { error: u.error, name };
  const xname = rest === '' ? `vxlan${u.unit}` : name;
  if (xname.length >= 16) {
    ifc_free_unit(ifc, u.unit);
    return { error: ENOSPC, name };
  }
  if (ifunit(xname) !== null) {
    ifc_free_unit(ifc, u.unit);
    return { error: EEXIST, name };
  }
  const ifp = if_alloc(IFT_ETHER);
  const sc = new VxlanSoftc(ifp, u.unit);
  ifp.if_softc = sc;
  if_initname(ifp, 'vxlan', u.unit, xname);
  ifp.if_flags = IFF_BROADCAST | IFF_SIMPLEX | IFF_MULTICAST;
  ifp.if_mtu = ETHERMTU - 50; /* room for the outer headers, as FreeBSD's default */
  ifp.if_transmit = vxlan_transmit;
  ifp.if_ioctl = vxlan_ioctl as Ifnet['if_ioctl'];
  // A random locally administered MAC, from the seeded generator.
  const h = jenkins_hash32([arc4random(), u.unit], 0x5678);
  const mac = (0x020000000000 + (h >>> 0) * 256 + (arc4random() & 0xff)) as ether_addr_t;
  ether_ifattach(ifp, mac === ETHER_BCAST ? ((mac - 1) as ether_addr_t) : mac);
  if_clone_addif(ifc, ifp);
  return { error: 0, name: xname };
}

function vxlan_clone_destroy(ifc: IfClone, ifp: Ifnet): number {
  const sc = vxlan_sc(ifp);
  sc.destroyed = true;
  vxlan_teardown(ifp);
  if_clone_delif(ifc, ifp);
  ether_ifdetach(ifp);
  if_free(ifp);
  ifc_free_unit(ifc, sc.unit);
  return 0;
}

/** The forwarding table, for tests and `ifconfig -v` (MAC -> underlay endpoint). */
export function vxlan_ftable(ifp: Ifnet): { mac: number; addr: string; port: number }[] {
  return [...vxlan_sc(ifp).ftable].map(([mac, e]) => ({ mac, addr: e.addr, port: e.port }));
}

VNET_SYSINIT(K, 'vnet_vxlan_init', SI_SUB_PSEUDO, SI_ORDER_ANY, () => {
  V_vxlan_cloner.set(
    if_clone_attach(
      'vxlan',
      (ifc, n) => ifc_simple_match(ifc, n),
      vxlan_clone_create,
      vxlan_clone_destroy,
    ),
  );
});

VNET_SYSUNINIT(K, 'vnet_vxlan_uninit', SI_SUB_INIT_IF, SI_ORDER_ANY, () => {
  const ifc = V_vxlan_cloner.get();
  if (ifc) if_clone_detach(ifc);
  V_vxlan_cloner.set(null);
});
