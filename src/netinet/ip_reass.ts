/*
 * netinet/ip_reass.ts — IPv4 fragment reassembly (FreeBSD's netinet/ip_reass.c).
 *
 * ip_reass(m) takes a fragment (a complete IPv4 packet whose header says MF or a
 * non-zero offset; "consumes m") and returns the reassembled datagram when this
 * fragment completes it, else null.  Per vnet, reassembly queues are keyed by
 * (source, destination, id, protocol) as RFC 791 §3.2 prescribes; each holds its
 * fragments sorted by offset.  Checks and counters follow FreeBSD, in its order:
 *
 *   - reassembly disabled (maxfragpackets or maxfragsperpacket 0): ips_fragments and
 *     ips_fragdropped;
 *   - a zero-length fragment, or one with MF whose length is not a multiple of 8:
 *     ips_toosmall and ips_fragdropped;
 *   - a fragment reaching beyond IP_MAXPACKET: ips_toolong and ips_fragdropped;
 *   - otherwise ips_fragments; a fragment contradicting the known end of the datagram
 *     (a second "last fragment" ending elsewhere, or one with MF reaching past it) is
 *     dropped (ips_fragdropped); overlaps are trimmed as FreeBSD does — the new
 *     fragment loses what earlier data already covers, later fragments that it covers
 *     entirely are dropped (ips_fragdropped each) and partial ones are trimmed;
 *   - too many fragments in one queue, or too many queues: the queue (or the oldest
 *     one) is dropped and ips_fragdropped counts its fragments;
 *   - ECN (RFC 3168 §5.3, FreeBSD's rules): a fragment marked CE joining a datagram
 *     whose fragments were Not-ECT, or a Not-ECT fragment joining ECN-capable ones, is
 *     dropped (ips_fragdropped); a CE mark on any fragment is kept, so the datagram
 *     comes out CE;
 *   - a complete datagram: ips_reassembled, with a fresh header checksum;
 *   - a queue still incomplete after net.inet.ip.fragttl seconds: ips_fragtimeout counts
 *     its fragments and, when the first fragment is there, the timeout hook may send an
 *     ICMP time exceeded (in reassembly) from it.
 *
 * Deliberate differences: fragments are kept as byte copies, not mbuf chains (our
 * mbufs are one contiguous buffer), and the datagram is rebuilt in one new mbuf.  The
 * ECN codepoint a fragment is compared with is the datagram's so far (the first
 * fragment's, CE once any fragment had it); FreeBSD compares with the lowest-offset
 * fragment queued and ORs CE into that one's header, which loses the mark when the
 * first fragment arrives after a CE-marked one.  The expiry callout runs only while a
 * queue exists, so an idle vnet has no timer pending.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { m_copydata, m_freem, mtod, type Mbuf } from '../sys/mbuf.js';
import {
  VNET_OBJ,
  VNET_SYSINIT,
  VNET_SYSUNINIT,
  CURVNET_RESTORE,
  CURVNET_SET,
  curvnet,
  type Vnet,
} from '../net/vnet.js';
import { SI_ORDER_ANY, SI_SUB_PROTO_DOMAIN } from '../sys/kernel.js';
import { Callout, callout_reset_sbt, callout_stop } from '../kern/kern_timeout.js';
import { SBT_1S } from '../kern/kern_clock.js';
import { curkernel } from '../kern/kern_cur.js';
import { in_cksum_hdr } from './in_cksum.js';
import { BKPT } from '../kern/subr_kdb.js';
import {
  IPTOS_ECN_CE,
  IPTOS_ECN_MASK,
  IPTOS_ECN_NOTECT,
  IP_MAXPACKET,
  IP_MF,
  IP_OFFMASK,
} from './ip.js';
import {
  IPS,
  IPSTAT_ADD,
  IPSTAT_INC,
  V_ipfragttl,
  V_ipreass_maxpackets,
  V_maxfragsperpacket,
} from './ip_var.js';

export const K = new ObjFile('netinet/ip_reass.ts', VIMAGEID('src/netinet/ip_reass.ts'));
const S_ip_reass = K.TEXT('ip_reass');

interface IpFrag {
  /** Byte offset of the payload in the datagram. */
  off: number;
  data: Uint8Array;
}

/** struct ipq: one datagram being reassembled. */
export class Ipq {
  readonly frags: IpFrag[] = [];
  /** The header of the first fragment (offset 0), once seen. */
  hdr: Uint8Array | null = null;
  /** End of the datagram (offset + length of the last fragment), 0 while unknown. */
  maxoff = 0;
  /** Absolute expiry time (ns of uptime). */
  expire = 0;
  /** The datagram's ECN codepoint so far (IPTOS_ECN_*; CE once any fragment had it). */
  ecn = IPTOS_ECN_NOTECT;
  constructor(
    readonly key: string,
    readonly src: number,
    readonly dst: number,
    readonly id: number,
    readonly p: number,
  ) {}
  get nfrags(): number {
    return this.frags.length;
  }
}

/** The per-vnet reassembly state. */
export class IpReassState {
  /** Insertion order doubles as age order (the oldest queue is dropped first). */
  readonly queues = new Map<string, Ipq>();
  readonly timer = new Callout();
  /** Called with the first fragment's header when a queue times out (ICMP hook). */
  ontimeout: ((q: Ipq) => void) | null = null;
}

export const V_ipq = VNET_OBJ<IpReassState>(K, 'ipq');

VNET_SYSINIT(K, 'ipreass_init', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  V_ipq.set(new IpReassState());
});

VNET_SYSUNINIT(K, 'ipreass_destroy', SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY, () => {
  const st = V_ipq.get();
  if (!st) return;
  callout_stop(st.timer);
  st.queues.clear();
  V_ipq.set(undefined as unknown as IpReassState);
});

function ipq_drop(st: IpReassState, q: Ipq): void {
  IPSTAT_ADD(IPS.ips_fragdropped, q.nfrags);
  st.queues.delete(q.key);
}

/** Arm the expiry callout for the earliest queue, in this vnet. */
function ipreass_arm(st: IpReassState, vnet: Vnet | null): void {
  let first = Infinity;
  for (const q of st.queues.values()) if (q.expire < first) first = q.expire;
  if (first === Infinity) {
    callout_stop(st.timer);
    return;
  }
  const now = curkernel().now();
  callout_reset_sbt(st.timer, Math.max(0, first - now), 0, () => ipreass_timeout(vnet), null);
}

/** ipreass_slowtimo: expire queues whose time is up. */
function ipreass_timeout(vnet: Vnet | null): void {
  const saved = vnet ? CURVNET_SET(vnet) : null;
  try {
    const st = V_ipq.get();
    if (!st) return;
    const now = curkernel().now();
    for (const q of [...st.queues.values()]) {
      if (q.expire > now) continue;
      IPSTAT_ADD(IPS.ips_fragtimeout, q.nfrags);
      st.queues.delete(q.key);
      if (q.hdr && st.ontimeout) st.ontimeout(q);
    }
    ipreass_arm(st, vnet);
  } finally {
    if (vnet) CURVNET_RESTORE(saved);
  }
}

/** Reassembly queues in the current vnet (for netstat/ddb and tests). */
export function ipreass_count(): number {
  return V_ipq.get()?.queues.size ?? 0;
}

/**
 * ip_reass(m): add a fragment; returns the whole datagram when complete (a new mbuf,
 * owned by the caller), else null.  Consumes m.
 */
export function ip_reass(m: Mbuf): Mbuf | null {
  BKPT(S_ip_reass);
  const st = V_ipq.get();
  const b = mtod(m);
  const hlen = (b[0]! & 0x0f) << 2;
  const totlen = (b[2]! << 8) | b[3]!;
  const offw = (b[6]! << 8) | b[7]!;
  const mf = (offw & IP_MF) !== 0;
  const len = totlen - hlen;
  const maxq = V_ipreass_maxpackets.get();
  const maxf = V_maxfragsperpacket.get();
  if (maxq === 0 || maxf === 0 || !st) {
    IPSTAT_INC(IPS.ips_fragments);
    IPSTAT_INC(IPS.ips_fragdropped);
    m_freem(m);
    return null;
  }
  // A non-zero multiple of 8 bytes of data, unless it is the last fragment.
  if (len <= 0 || (mf && (len & 7) !== 0)) {
    IPSTAT_INC(IPS.ips_toosmall);
    IPSTAT_INC(IPS.ips_fragdropped);
    m_freem(m);
    return null;
  }
  const off = (offw & IP_OFFMASK) << 3;
  if (off + len > IP_MAXPACKET) {
    IPSTAT_INC(IPS.ips_toolong);
    IPSTAT_INC(IPS.ips_fragdropped);
    m_freem(m);
    return null;
  }
  IPSTAT_INC(IPS.ips_fragments);
  const id = (b[4]! << 8) | b[5]!;
  const p = b[9]!;
  const src = ((b[12]! << 24) | (b[13]! << 16) | (b[14]! << 8) | b[15]!) >>> 0;
  const dst = ((b[16]! << 24) | (b[17]! << 16) | (b[18]! << 8) | b[19]!) >>> 0;
  const key = `${src}:${dst}:${id}:${p}`;
  const ecn = b[1]! & IPTOS_ECN_MASK;
  let q = st.queues.get(key);
  if (!q) {
    if (maxq > 0 && st.queues.size >= maxq) {
      // Make room: drop the oldest queue.
      const oldest = st.queues.values().next().value as Ipq;
      ipq_drop(st, oldest);
    }
    q = new Ipq(key, src, dst, id, p);
    q.expire = curkernel().now() + V_ipfragttl.get() * SBT_1S;
    q.ecn = ecn;
    st.queues.set(key, q);
    ipreass_arm(st, curvnet());
  } else if (
    (ecn === IPTOS_ECN_CE && q.ecn === IPTOS_ECN_NOTECT) ||
    (ecn === IPTOS_ECN_NOTECT && q.ecn !== IPTOS_ECN_NOTECT)
  ) {
    /* CE and Not-ECT in one datagram: the mark could not be passed on faithfully. */
    IPSTAT_INC(IPS.ips_fragdropped);
    m_freem(m);
    return null;
  } else if (ecn === IPTOS_ECN_CE) q.ecn = IPTOS_ECN_CE;
  // The known end of the datagram bounds every fragment.
  const end = off + len;
  if (q.maxoff > 0) {
    if ((mf && end >= q.maxoff) || (!mf && end !== q.maxoff)) {
      IPSTAT_INC(IPS.ips_fragdropped);
      m_freem(m);
      return null;
    }
  } else if (!mf) q.maxoff = end;
  const data = new Uint8Array(len);
  m_copydata(m, hlen, len, data);
  if (off === 0) q.hdr = b.slice(0, hlen);
  m_freem(m);

  // Insert sorted by offset, trimming overlaps as ip_reass.c does.
  let frag: IpFrag | null = { off, data };
  let i = 0;
  while (i < q.frags.length && q.frags[i]!.off <= frag.off) i++;
  const prev = i > 0 ? q.frags[i - 1]! : null;
  if (prev) {
    const overlap = prev.off + prev.data.length - frag.off;
    if (overlap > 0) {
      if (overlap >= frag.data.length) frag = null;
      else frag = { off: frag.off + overlap, data: frag.data.subarray(overlap) };
    }
  }
  if (frag === null) {
    IPSTAT_INC(IPS.ips_fragdropped);
  } else {
    const fend = frag.off + frag.data.length;
    while (i < q.frags.length && q.frags[i]!.off < fend) {
      const nx = q.frags[i]!;
      const cover = fend - nx.off;
      if (cover < nx.data.length) {
        q.frags[i] = { off: nx.off + cover, data: nx.data.subarray(cover) };
        break;
      }
      q.frags.splice(i, 1);
      IPSTAT_INC(IPS.ips_fragdropped);
    }
    q.frags.splice(i, 0, frag);
  }
  if (q.nfrags > maxf) {
    ipq_drop(st, q);
    ipreass_arm(st, curvnet());
    return null;
  }
  // Complete?  Contiguous from 0 to the known end.
  if (q.maxoff === 0 || q.hdr === null) return null;
  let next = 0;
  for (const f of q.frags) {
    if (f.off !== next) return null;
    next += f.data.length;
  }
  if (next !== q.maxoff) return null;
  st.queues.delete(key);
  ipreass_arm(st, curvnet());
  const h = q.hdr;
  const hl = h.length;
  const total = hl + q.maxoff;
  const n = m.pool.m_gethdr(total);
  if (n === null) {
    IPSTAT_ADD(IPS.ips_fragdropped, q.nfrags);
    return null;
  }
  const nb = mtod(n);
  nb.set(h, 0);
  for (const f of q.frags) nb.set(f.data, hl + f.off);
  nb[2] = total >>> 8;
  nb[3] = total & 0xff;
  if (q.ecn === IPTOS_ECN_CE) nb[1] = nb[1]! | IPTOS_ECN_CE;
  nb[6] = 0;
  nb[7] = 0;
  nb[10] = 0;
  nb[11] = 0;
  const sum = in_cksum_hdr(nb, 0, hl);
  nb[10] = sum >>> 8;
  nb[11] = sum & 0xff;
  n.rcvif = m.rcvif;
  IPSTAT_INC(IPS.ips_reassembled);
  return n;
}
