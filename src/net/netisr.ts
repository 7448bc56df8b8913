/*
 * net/netisr.ts — the network input dispatch service (sys/net/netisr.c).
 *
 * Protocols register a handler for a netisr protocol number (NETISR_IP, NETISR_ARP,
 * ...) once per kernel (netisr_register; the registry is code, like FreeBSD's
 * netisr_proto[] array, so it is kernel-global).  Link layers hand packets over with
 *
 *   - netisr_dispatch(proto, m): direct dispatch, the handler runs now in the caller's
 *     context (FreeBSD's default "direct" policy for IP and ARP) — the caller has
 *     curvnet set (ether_input runs in the receiving interface's vnet);
 *   - netisr_queue(proto, m): deferred, into the per-vnet, per-protocol, per-CPU queue
 *     of the CPU chosen by the flow id (m.flowid, else the receiving interface index);
 *     the pinned netisr thread of that CPU ("swi1: netisr N", kern_kthread.ts) drains
 *     it with CURVNET_SET(vnet).  A full queue drops the packet and counts it.
 *
 * Queue limits are per vnet and per protocol (default net.isr.defaultqlimit = 256,
 * at most net.isr.maxqlimit); net.inet.ip.intr_queue_maxlen and intr_queue_drops are
 * the IP protocol's views of its limit and drops, as in FreeBSD.  Counters per protocol
 * and vnet: queued, handled, dispatched, qdrops (netstat -Q's columns).
 *
 * Deliberate differences: no hybrid policy and no per-CPU workstream structs of our
 * own (the kernel's netisr threads run closures); the queues are per vnet (FreeBSD has
 * one per workstream shared by all vnets), so one vnet's flood cannot fill another's.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { SI_ORDER_FIRST, SI_SUB_INIT_IF } from '../sys/kernel.js';
import {
  CTLFLAG_RD,
  CTLFLAG_RW,
  CTLFLAG_VNET,
  CTLTYPE_INT,
  CTLTYPE_STRING,
  SYSCTL_CONST_INT,
  SYSCTL_OUT,
  SYSCTL_PROC,
} from '../sys/sysctl.js';
import { BKPT } from '../kern/subr_kdb.js';
import { curkernel } from '../kern/kern_cur.js';
import type { Kernel } from '../kern/kernel.js';
import { netisr_queue_work } from '../kern/kern_kthread.js';
import {
  CURVNET_RESTORE,
  CURVNET_SET,
  VNET_MAGIC_N,
  VNET_OBJ,
  VNET_SYSINIT,
  VNET_SYSUNINIT,
  curvnet,
  type Vnet,
} from './vnet.js';
import {
  mbufq,
  mbufq_dequeue,
  mbufq_drain,
  mbufq_enqueue,
  m_freem,
  type Mbuf,
  M_HASHTYPE_NONE,
} from '../sys/mbuf.js';
import { EINVAL, ENOBUFS, EPROTONOSUPPORT } from '../sys/errno.js';

export const K = new ObjFile('net/netisr.ts', VIMAGEID('src/net/netisr.ts'));

const S_netisr_dispatch = K.TEXT('netisr_dispatch');
const S_netisr_queue = K.TEXT('netisr_queue');
const S_swi_net = K.TEXT('swi_net');

/* Protocol numbers (net/netisr.h). */
export const NETISR_FILTER = 0;
export const NETISR_IP = 1;
export const NETISR_IGMP = 2;
export const NETISR_ROUTE = 3;
export const NETISR_ARP = 4;
export const NETISR_ETHER = 5;
export const NETISR_IPV6 = 6;
export const NETISR_EPAIR = 8;
export const NETISR_IP_DIRECT = 9;
export const NETISR_MAXPROT = 16;

export const NETISR_DEFAULTQLIMIT = 256;
export const NETISR_MAXQLIMIT = 10240;

export type NetisrHandler = (m: Mbuf) => void;

/** struct netisr_handler */
export interface NetisrProto {
  readonly nh_name: string;
  readonly nh_proto: number;
  readonly nh_handler: NetisrHandler;
  /** Default queue limit for new vnets. */
  readonly nh_qlimit: number;
}

/** Per-vnet, per-protocol queues and statistics (struct netisr_work, per vnet). */
export class NetisrVnetProto {
  /** One queue per CPU. */
  readonly q: mbufq[];
  /** A drain is scheduled on that CPU's netisr thread. */
  readonly sched: boolean[];
  qlimit: number;
  dispatched = 0;
  queued = 0;
  handled = 0;
  qdrops = 0;
  constructor(ncpu: number, qlimit: number) {
    this.qlimit = qlimit;
    this.q = [];
    this.sched = [];
    for (let c = 0; c < ncpu; c++) {
      this.q.push(new mbufq(qlimit));
      this.sched.push(false);
    }
  }
}

export class NetisrVnet {
  readonly protos: (NetisrVnetProto | undefined)[] = [];
  dead = false;
}

export const V_netisr = VNET_OBJ<NetisrVnet>(K, 'netisr');

function netisr_registry(k: Kernel): (NetisrProto | undefined)[] {
  let r = k.netglobal['netisr'] as (NetisrProto | undefined)[] | undefined;
  if (r === undefined) k.netglobal['netisr'] = r = [];
  return r;
}

function nvp(k: Kernel, st: NetisrVnet, proto: number): NetisrVnetProto | null {
  let p = st.protos[proto];
  if (p === undefined) {
    const np = netisr_registry(k)[proto];
    if (np === undefined) return null;
    p = st.protos[proto] = new NetisrVnetProto(k.mp_ncpus, np.nh_qlimit);
  }
  return p;
}

VNET_SYSINIT(K, 'vnet_netisr_init', SI_SUB_INIT_IF, SI_ORDER_FIRST, () => {
  V_netisr.set(new NetisrVnet());
});

VNET_SYSUNINIT(K, 'vnet_netisr_uninit', SI_SUB_INIT_IF, SI_ORDER_FIRST, () => {
  const st = V_netisr.get();
  st.dead = true;
  for (const p of st.protos) if (p) for (const q of p.q) mbufq_drain(q);
});

/**
 * netisr_register(k, nh): register a protocol handler in this kernel (all vnets).
 * Re-registering the same protocol replaces the handler (a module reload).
 */
export function netisr_register(k: Kernel, nh: NetisrProto): void {
  if (nh.nh_proto < 0 || nh.nh_proto >= NETISR_MAXPROT)
    throw new Error(`netisr_register: bad protocol ${nh.nh_proto}`);
  netisr_registry(k)[nh.nh_proto] = {
    ...nh,
    nh_qlimit: Math.min(Math.max(1, nh.nh_qlimit), NETISR_MAXQLIMIT),
  };
}

export function netisr_unregister(k: Kernel, proto: number): void {
  netisr_registry(k)[proto] = undefined;
}

/** Is proto registered in this kernel? */
export function netisr_registered(k: Kernel, proto: number): boolean {
  return netisr_registry(k)[proto] !== undefined;
}

/** The vnet to account a packet to: curvnet, or vnet0 without VIMAGE. */
function vnet_here(k: Kernel): Vnet {
  return curvnet() ?? k.vnet0;
}

/**
 * netisr_dispatch(proto, m): run the handler now.  Consumes m.  EPROTONOSUPPORT (m
 * freed, counted nowhere but the return) when nobody registered the protocol.
 */
export function netisr_dispatch(proto: number, m: Mbuf): number {
  BKPT(S_netisr_dispatch);
  const k = curkernel();
  const np = netisr_registry(k)[proto];
  if (np === undefined) {
    m_freem(m);
    return EPROTONOSUPPORT;
  }
  const p = nvp(k, V_netisr.get(), proto);
  if (p) p.dispatched++;
  np.nh_handler(m);
  return 0;
}

/** The CPU a packet's flow goes to. */
function netisr_cpu(k: Kernel, m: Mbuf): number {
  const id = m.rsstype !== M_HASHTYPE_NONE ? m.flowid : (m.rcvif?.if_index ?? 0);
  return (id >>> 0) % k.mp_ncpus;
}

/**
 * netisr_queue(proto, m): defer to the netisr thread of the flow's CPU.  Consumes m.
 * ENOBUFS when the queue is full (m freed, qdrops counted); EPROTONOSUPPORT when the
 * protocol is not registered.
 */
export function netisr_queue(proto: number, m: Mbuf): number {
  BKPT(S_netisr_queue);
  const k = curkernel();
  const np = netisr_registry(k)[proto];
  if (np === undefined) {
    m_freem(m);
    return EPROTONOSUPPORT;
  }
  const st = V_netisr.get();
  const p = nvp(k, st, proto)!;
  const cpu = netisr_cpu(k, m);
  const q = p.q[cpu]!;
  q.mq_maxlen = p.qlimit;
  if (mbufq_enqueue(q, m) !== 0) {
    p.qdrops++;
    m_freem(m);
    return ENOBUFS;
  }
  p.queued++;
  if (!p.sched[cpu]) {
    p.sched[cpu] = true;
    const v = vnet_here(k);
    if (netisr_queue_work(k, cpu, () => swi_net(k, v, st, proto, cpu)) !== 0) {
      // No netisr threads (a kernel that was never booted): drain inline.
      swi_net(k, v, st, proto, cpu);
    }
  }
  return 0;
}

/** The netisr thread's work: drain one vnet's queue of one protocol on one CPU. */
function swi_net(k: Kernel, v: Vnet, st: NetisrVnet, proto: number, cpu: number): void {
  BKPT(S_swi_net);
  const p = st.protos[proto];
  if (!p) return;
  p.sched[cpu] = false;
  const q = p.q[cpu]!;
  if (st.dead || v.vnet_magic_n !== VNET_MAGIC_N) {
    mbufq_drain(q);
    return;
  }
  const saved = CURVNET_SET(v);
  try {
    for (;;) {
      const m = mbufq_dequeue(q);
      if (m === null) break;
      const np = netisr_registry(k)[proto];
      if (np === undefined) {
        m_freem(m);
        continue;
      }
      p.handled++;
      np.nh_handler(m);
    }
  } finally {
    CURVNET_RESTORE(saved);
  }
}

/** netisr_setqlimit(proto, limit) in curvnet: EINVAL outside 1..net.isr.maxqlimit. */
export function netisr_setqlimit(proto: number, qlimit: number): number {
  if (qlimit < 1 || qlimit > NETISR_MAXQLIMIT) return EINVAL;
  const p = nvp(curkernel(), V_netisr.get(), proto);
  if (p === null) return EINVAL;
  p.qlimit = qlimit;
  for (const q of p.q) q.mq_maxlen = qlimit;
  return 0;
}

/** netisr_getqlimit(proto) in curvnet (the registered default if not yet used). */
export function netisr_getqlimit(proto: number): number {
  const k = curkernel();
  const p = nvp(k, V_netisr.get(), proto);
  return p ? p.qlimit : NETISR_DEFAULTQLIMIT;
}

/** netisr_getqdrops(proto) in curvnet. */
export function netisr_getqdrops(proto: number): number {
  const p = V_netisr.get().protos[proto];
  return p ? p.qdrops : 0;
}

/** Per-protocol statistics of a vnet (netstat -Q). */
export function netisr_stats(v?: Vnet): {
  proto: number;
  name: string;
  qlimit: number;
  queued: number;
  handled: number;
  dispatched: number;
  qdrops: number;
  qlen: number;
}[] {
  const k = curkernel();
  const st = v ? V_netisr.on(v) : V_netisr.get();
  const reg = netisr_registry(k);
  const out = [];
  for (let i = 0; i < NETISR_MAXPROT; i++) {
    const np = reg[i];
    if (!np) continue;
    const p = st.protos[i];
    out.push({
      proto: i,
      name: np.nh_name,
      qlimit: p ? p.qlimit : np.nh_qlimit,
      queued: p ? p.queued : 0,
      handled: p ? p.handled : 0,
      dispatched: p ? p.dispatched : 0,
      qdrops: p ? p.qdrops : 0,
      qlen: p ? p.q.reduce((n, q) => n + q.mq_len, 0) : 0,
    });
  }
  return out;
}

/* ------------------------------------------------------------------------------ */
/* sysctl net.isr.* and the IP queue's views.                                      */

function int_out(req: Parameters<typeof SYSCTL_OUT>[0], v: number): number {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return SYSCTL_OUT(req, b);
}

function int_in(req: Parameters<typeof SYSCTL_OUT>[0]): number | null {
  if (!req.newptr) return null;
  if (req.newptr.length !== 4) return -1;
  return new DataView(req.newptr.buffer, req.newptr.byteOffset, 4).getInt32(0, true);
}

SYSCTL_PROC(
  K,
  'net.isr.dispatch',
  CTLTYPE_STRING | CTLFLAG_RD,
  (_o, req) => SYSCTL_OUT(req, new TextEncoder().encode('direct\0')),
  'A',
  'netisr dispatch policy',
);
SYSCTL_PROC(
  K,
  'net.isr.numthreads',
  CTLTYPE_INT | CTLFLAG_RD,
  (_o, req) => int_out(req, curkernel().mp_ncpus),
  'I',
  'Number of extant netisr threads.',
);
SYSCTL_CONST_INT(
  K,
  'net.isr.maxthreads',
  CTLFLAG_RD,
  256,
  'Use at most this many CPUs for netisr processing',
);
SYSCTL_CONST_INT(K, 'net.isr.bindthreads', CTLFLAG_RD, 1, 'Bind netisr threads to CPUs.');
SYSCTL_CONST_INT(
  K,
  'net.isr.maxqlimit',
  CTLFLAG_RD,
  NETISR_MAXQLIMIT,
  'Maximum netisr per-protocol, per-CPU queue depth.',
);
SYSCTL_CONST_INT(
  K,
  'net.isr.defaultqlimit',
  CTLFLAG_RD,
  NETISR_DEFAULTQLIMIT,
  'Default netisr per-protocol, per-CPU queue limit if not set by protocol',
);
SYSCTL_PROC(
  K,
  'net.isr.qdrops',
  CTLTYPE_INT | CTLFLAG_RD | CTLFLAG_VNET,
  (_o, req) =>
    int_out(
      req,
      V_netisr.get().protos.reduce((n, p) => n + (p ? p.qdrops : 0), 0),
    ),
  'I',
  'Packets dropped by full netisr queues in this vnet (all protocols)',
);
SYSCTL_PROC(
  K,
  'net.inet.ip.intr_queue_maxlen',
  CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_VNET,
  (_o, req) => {
    const e = int_out(req, netisr_getqlimit(NETISR_IP));
    if (e) return e;
    const v = int_in(req);
    if (v === null) return 0;
    return netisr_setqlimit(NETISR_IP, v);
  },
  'I',
  'Maximum size of the IP input queue',
);
SYSCTL_PROC(
  K,
  'net.inet.ip.intr_queue_drops',
  CTLTYPE_INT | CTLFLAG_RD | CTLFLAG_VNET,
  (_o, req) => int_out(req, netisr_getqdrops(NETISR_IP)),
  'I',
  'Number of packets dropped from the IP input queue',
);
