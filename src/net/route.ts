/*
 * net/route.ts — the routing socket ABI (FreeBSD sys/net/route.h, sys/net/if.h,
 * sys/net/if_dl.h, sys/sys/socket.h): RTF_* route flags, RTM_* message types, RTA_*
 * address bits, RTV_* metric bits, the message header layouts of FreeBSD/amd64, and a
 * decoder/encoder for a message followed by its sockaddrs.
 *
 * Layouts (LP64, little endian; offsets checked by test/unit/route_msg.test.ts):
 *
 *   struct rt_metrics   14 x u_long = 112 bytes: rmx_locks 0, rmx_mtu 8, rmx_hopcount 16,
 *                       rmx_expire 24, rmx_recvpipe 32, rmx_sendpipe 40, rmx_ssthresh 48,
 *                       rmx_rtt 56, rmx_rttvar 64, rmx_pksent 72, rmx_weight 80,
 *                       rmx_nhidx 88, rmx_filler[2] 96
 *   struct rt_msghdr    152 bytes: rtm_msglen 0 (u_short), rtm_version 2, rtm_type 3,
 *                       rtm_index 4 (u_short), _rtm_spare1 6, rtm_flags 8, rtm_addrs 12,
 *                       rtm_pid 16, rtm_seq 20, rtm_errno 24, rtm_fmask 28 (ints),
 *                       rtm_inits 32 (u_long), rtm_rmx 40 (rt_metrics) — 40 + 112 = 152
 *   struct if_data      152 bytes (the FreeBSD 11+ fixed-size layout)
 *   struct if_msghdr    168 bytes: ifm_msglen 0, version 2, type 3, ifm_addrs 4,
 *                       ifm_flags 8, ifm_index 12, _ifm_spare1 14, ifm_data 16
 *   struct ifa_msghdr   20 bytes: ..., ifam_addrs 4, ifam_flags 8, ifam_index 12,
 *                       _ifam_spare1 14, ifam_metric 16
 *   struct ifma_msghdr  16 bytes; struct if_announcemsghdr 24 bytes (ifan_index 4,
 *                       ifan_name[16] 6, ifan_what 22)
 *   struct sockaddr_in  16 bytes; struct sockaddr_dl 54 bytes (sdl_data[46] at 8)
 *
 * After the header come the sockaddrs named by the addrs bits, in RTAX order (DST,
 * GATEWAY, NETMASK, GENMASK, IFP, IFA, AUTHOR, BRD), each taking SA_SIZE(sa) bytes:
 * sa_len rounded up to sizeof(long) = 8, and 8 for a zero-length sockaddr.  The
 * message's length field covers the header and every padded sockaddr.
 *
 * Decoding never throws; it returns an errno:
 *   EINVAL           buffer shorter than the fixed part, msglen shorter than the header
 *                    or longer than the buffer, a sockaddr whose sa_len runs past
 *                    msglen, a sockaddr_dl whose name/address lengths overrun its
 *                    sa_len, an unknown message type
 *   EPROTONOSUPPORT  rtm_version != RTM_VERSION (what FreeBSD's route_output returns)
 * Where this differs from FreeBSD's rt_xaddrs(): a zero-length sockaddr is decoded as
 * an empty one and parsing goes on 8 bytes later (rt_xaddrs stops there and ignores
 * the rest for compatibility); a flagged address that is missing because the message
 * ends early is left null, as rt_xaddrs does.  A short netmask (sa_len < 16, the
 * radix-trimmed form old kernels sent, family 0 or AF_INET) decodes as an AF_INET mask
 * with the missing bytes zero (and is re-encoded at the full 16 bytes).  The caller that implements write(2) on a routing
 * socket must also check that the written length equals msglen (FreeBSD: EINVAL).
 */

import { IFNAMSIZ } from '../sys/sockio.js';
import { EINVAL, EPROTONOSUPPORT } from '../sys/errno.js';
import {
  array,
  bytes,
  int,
  readScalar,
  struct,
  u16,
  u32,
  u64,
  u8,
  ulong,
  writeScalar,
  type StructLayout,
} from '../sys/types.js';

/* Address families used in routing messages (sys/socket.h). */
const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_LINK = 18;

/* ------------------------------------------------------------------------------ */
/* Route flags (rt_flags, rtm_flags).                                              */

export const RTF_UP = 0x1; /* route usable */
export const RTF_GATEWAY = 0x2; /* destination is a gateway */
export const RTF_HOST = 0x4; /* host entry (net otherwise) */
export const RTF_REJECT = 0x8; /* host or net unreachable */
export const RTF_DYNAMIC = 0x10; /* created dynamically (by redirect) */
export const RTF_MODIFIED = 0x20; /* modified dynamically (by redirect) */
export const RTF_DONE = 0x40; /* message confirmed */
/* 0x80 unused (was RTF_DELCLONE), 0x100 unused (was RTF_CLONING) */
export const RTF_XRESOLVE = 0x200; /* external daemon resolves name */
export const RTF_LLINFO = 0x400; /* deprecated, kept for compatibility */
export const RTF_LLDATA = 0x400; /* used by apps to add/del L2 entries */
export const RTF_STATIC = 0x800; /* manually added */
export const RTF_BLACKHOLE = 0x1000; /* just discard packets */
export const RTF_PROTO2 = 0x4000; /* protocol specific routing flag */
export const RTF_ANNOUNCE = RTF_PROTO2; /* announce new ARP entry (arp -s ... pub) */
export const RTF_PROTO1 = 0x8000; /* protocol specific routing flag */
/* 0x10000 unused (was RTF_PRCLONING), 0x20000 unused (was RTF_WASCLONED) */
export const RTF_PROTO3 = 0x40000; /* protocol specific routing flag */
export const RTF_FIXEDMTU = 0x80000; /* MTU was explicitly specified */
export const RTF_PINNED = 0x100000; /* route is immutable */
export const RTF_LOCAL = 0x200000; /* route represents a local address */
export const RTF_BROADCAST = 0x400000; /* route represents a bcast address */
export const RTF_MULTICAST = 0x800000; /* route represents a mcast address */
export const RTF_STICKY = 0x10000000; /* always route dst->src */
export const RTF_GWFLAG_COMPAT = 0x80000000; /* compatibility bit for routing apps */

/** The flags RTM_CHANGE may set or clear through rtm_fmask. */
export const RTF_FMASK =
  RTF_PROTO1 | RTF_PROTO2 | RTF_PROTO3 | RTF_BLACKHOLE | RTF_REJECT | RTF_STATIC | RTF_STICKY;

/* ------------------------------------------------------------------------------ */
/* Message types and versions.                                                     */

export const RTM_VERSION = 5;

export const RTM_ADD = 0x1; /* Add Route */
export const RTM_DELETE = 0x2; /* Delete Route */
export const RTM_CHANGE = 0x3; /* Change Metrics or flags */
export const RTM_GET = 0x4; /* Report Metrics */
export const RTM_LOSING = 0x5; /* Kernel Suspects Partitioning */
export const RTM_REDIRECT = 0x6; /* Told to use different route */
export const RTM_MISS = 0x7; /* Lookup failed on this address */
export const RTM_LOCK = 0x8; /* fix specified metrics */
/* 0x9, 0xa unused (were RTM_OLDADD, RTM_OLDDEL) */
export const RTM_RESOLVE = 0xb; /* req to resolve dst to LL addr */
export const RTM_NEWADDR = 0xc; /* address being added to iface */
export const RTM_DELADDR = 0xd; /* address being removed from iface */
export const RTM_IFINFO = 0xe; /* iface going up/down etc. */
export const RTM_NEWMADDR = 0xf; /* mcast group membership being added to if */
export const RTM_DELMADDR = 0x10; /* mcast group membership being deleted */
export const RTM_IFANNOUNCE = 0x11; /* iface arrival/departure */
export const RTM_IEEE80211 = 0x12; /* IEEE80211 wireless event */

/* if_announcemsghdr.ifan_what */
export const IFAN_ARRIVAL = 0;
export const IFAN_DEPARTURE = 1;

/* Bitmask values for rtm_inits and rmx_locks. */
export const RTV_MTU = 0x1;
export const RTV_HOPCOUNT = 0x2;
export const RTV_EXPIRE = 0x4;
export const RTV_RPIPE = 0x8;
export const RTV_SPIPE = 0x10;
export const RTV_SSTHRESH = 0x20;
export const RTV_RTT = 0x40;
export const RTV_RTTVAR = 0x80;
export const RTV_WEIGHT = 0x100;

/* Bitmask values for rtm_addrs, and the index of each sockaddr (RTAX_*). */
export const RTA_DST = 0x1;
export const RTA_GATEWAY = 0x2;
export const RTA_NETMASK = 0x4;
export const RTA_GENMASK = 0x8;
export const RTA_IFP = 0x10;
export const RTA_IFA = 0x20;
export const RTA_AUTHOR = 0x40;
export const RTA_BRD = 0x80;

export const RTAX_DST = 0;
export const RTAX_GATEWAY = 1;
export const RTAX_NETMASK = 2;
export const RTAX_GENMASK = 3;
export const RTAX_IFP = 4;
export const RTAX_IFA = 5;
export const RTAX_AUTHOR = 6;
export const RTAX_BRD = 7;
export const RTAX_MAX = 8;

/* ------------------------------------------------------------------------------ */
/* Layouts.                                                                        */

const RMX_FIELDS = [
  'rmx_locks',
  'rmx_mtu',
  'rmx_hopcount',
  'rmx_expire',
  'rmx_recvpipe',
  'rmx_sendpipe',
  'rmx_ssthresh',
  'rmx_rtt',
  'rmx_rttvar',
  'rmx_pksent',
  'rmx_weight',
  'rmx_nhidx',
] as const;

/** struct rt_metrics (112 bytes). */
export const rt_metrics: StructLayout = struct('rt_metrics', [
  ...RMX_FIELDS.map((n) => [n, ulong] as const),
  ['rmx_filler', array(ulong, 2)],
]);

const RTM_HEAD = [
  ['rtm_msglen', u16],
  ['rtm_version', u8],
  ['rtm_type', u8],
  ['rtm_index', u16],
  ['_rtm_spare1', u16],
  ['rtm_flags', int],
  ['rtm_addrs', int],
  ['rtm_pid', int],
  ['rtm_seq', int],
  ['rtm_errno', int],
  ['rtm_fmask', int],
  ['rtm_inits', ulong],
] as const;

/** struct rt_msghdr (152 bytes), with rtm_rmx as a nested struct. */
export const rt_msghdr: StructLayout = struct('rt_msghdr', [
  ...RTM_HEAD,
  ['rtm_rmx', rt_metrics.type],
]);

/**
 * The same bytes with rt_metrics flattened (rtm_rmx.rmx_mtu is field rmx_mtu), which
 * the codec reads and writes; the test checks every offset against the nested form.
 */
export const rt_msghdr_flat: StructLayout = struct('rt_msghdr', [
  ...RTM_HEAD,
  ...RMX_FIELDS.map((n) => [n, ulong] as const),
  ['rmx_filler', array(ulong, 2)],
]);

const IFI_FIELDS = [
  ['ifi_type', u8],
  ['ifi_physical', u8],
  ['ifi_addrlen', u8],
  ['ifi_hdrlen', u8],
  ['ifi_link_state', u8],
  ['ifi_vhid', u8],
  ['ifi_datalen', u16],
  ['ifi_mtu', u32],
  ['ifi_metric', u32],
  ['ifi_baudrate', u64],
  ['ifi_ipackets', u64],
  ['ifi_ierrors', u64],
  ['ifi_opackets', u64],
  ['ifi_oerrors', u64],
  ['ifi_collisions', u64],
  ['ifi_ibytes', u64],
  ['ifi_obytes', u64],
  ['ifi_imcasts', u64],
  ['ifi_omcasts', u64],
  ['ifi_iqdrops', u64],
  ['ifi_oqdrops', u64],
  ['ifi_noproto', u64],
  ['ifi_hwassist', u64],
  ['ifi_epoch', u64] /* union { time_t tt; uint64_t ph; } */,
  ['ifi_lastchange_sec', u64] /* union { struct timeval tv; ... }: tv_sec */,
  ['ifi_lastchange_usec', u64] /* tv_usec */,
] as const;

/** struct if_data (152 bytes). */
export const if_data: StructLayout = struct('if_data', IFI_FIELDS);

const IFM_HEAD = [
  ['ifm_msglen', u16],
  ['ifm_version', u8],
  ['ifm_type', u8],
  ['ifm_addrs', int],
  ['ifm_flags', int],
  ['ifm_index', u16],
  ['_ifm_spare1', u16],
] as const;

/** struct if_msghdr (168 bytes), RTM_IFINFO. */
export const if_msghdr: StructLayout = struct('if_msghdr', [
  ...IFM_HEAD,
  ['ifm_data', if_data.type],
]);

/** if_msghdr with if_data flattened, for the codec. */
export const if_msghdr_flat: StructLayout = struct('if_msghdr', [...IFM_HEAD, ...IFI_FIELDS]);

/** struct ifa_msghdr (20 bytes), RTM_NEWADDR / RTM_DELADDR. */
export const ifa_msghdr: StructLayout = struct('ifa_msghdr', [
  ['ifam_msglen', u16],
  ['ifam_version', u8],
  ['ifam_type', u8],
  ['ifam_addrs', int],
  ['ifam_flags', int],
  ['ifam_index', u16],
  ['_ifam_spare1', u16],
  ['ifam_metric', int],
]);

/**
 * struct if_msghdrl (176 bytes): RTM_IFINFO as NET_RT_IFLISTL returns it, with its own
 * length and the offset of if_data (so if_data may grow).
 */
export const if_msghdrl_flat: StructLayout = struct('if_msghdrl', [
  ...IFM_HEAD,
  ['ifm_len', u16],
  ['ifm_data_off', u16],
  ['_ifm_spare2', int],
  ...IFI_FIELDS,
]);

/**
 * struct ifa_msghdrl (176 bytes): RTM_NEWADDR as NET_RT_IFLISTL returns it, with an
 * if_data whose ifi_ipackets/ifi_opackets/ifi_ibytes/ifi_obytes are the address's own
 * counters (netstat -i's per-address rows).
 */
export const ifa_msghdrl_flat: StructLayout = struct('ifa_msghdrl', [
  ['ifam_msglen', u16],
  ['ifam_version', u8],
  ['ifam_type', u8],
  ['ifam_addrs', int],
  ['ifam_flags', int],
  ['ifam_index', u16],
  ['_ifam_spare1', u16],
  ['ifam_len', u16],
  ['ifam_data_off', u16],
  ['ifam_metric', int],
  ...IFI_FIELDS,
]);

/** struct ifma_msghdr (16 bytes), RTM_NEWMADDR / RTM_DELMADDR. */
export const ifma_msghdr: StructLayout = struct('ifma_msghdr', [
  ['ifmam_msglen', u16],
  ['ifmam_version', u8],
  ['ifmam_type', u8],
  ['ifmam_addrs', int],
  ['ifmam_flags', int],
  ['ifmam_index', u16],
  ['_ifmam_spare1', u16],
]);

/** struct if_announcemsghdr (24 bytes), RTM_IFANNOUNCE / RTM_IEEE80211. */
export const if_announcemsghdr: StructLayout = struct('if_announcemsghdr', [
  ['ifan_msglen', u16],
  ['ifan_version', u8],
  ['ifan_type', u8],
  ['ifan_index', u16],
  ['ifan_name', bytes(IFNAMSIZ)],
  ['ifan_what', u16],
]);

/** struct sockaddr_dl (54 bytes); sdl_data holds the name, then the address. */
export const sockaddr_dl: StructLayout = struct('sockaddr_dl', [
  ['sdl_len', u8],
  ['sdl_family', u8],
  ['sdl_index', u16],
  ['sdl_type', u8],
  ['sdl_nlen', u8],
  ['sdl_alen', u8],
  ['sdl_slen', u8],
  ['sdl_data', bytes(46)],
]);

export const SOCKADDR_IN_LEN = 16;
export const SOCKADDR_DL_LEN = 54;

/** SA_SIZE(): a sockaddr's room in a routing message (8 for sa_len 0). */
export function SA_SIZE(sa_len: number): number {
  return sa_len === 0 ? 8 : 1 + ((sa_len - 1) | 7);
}

/* ------------------------------------------------------------------------------ */
/* Sockaddrs.                                                                      */

/** A decoded sockaddr: AF_INET, AF_LINK, or anything else kept as raw bytes. */
export type RtSockaddr =
  | {
      readonly kind: 'inet';
      /** sin_len as received (16, or less for a trimmed netmask). */
      readonly len: number;
      /** Host byte order. */
      readonly addr: number;
      readonly port: number;
    }
  | {
      readonly kind: 'link';
      readonly len: number;
      readonly index: number;
      readonly type: number;
      readonly name: string;
      readonly lladdr: Uint8Array;
      /** sdl_slen bytes of link-layer selector, rarely used. */
      readonly sel: Uint8Array;
    }
  | {
      readonly kind: 'raw';
      readonly len: number;
      readonly family: number;
      /** All sa_len bytes. */
      readonly bytes: Uint8Array;
    };

/** The sockaddrs of a message, indexed by RTAX_*; null where absent. */
export type RtAddrs = (RtSockaddr | null)[];

export function sa_inet(addr: number, port = 0): RtSockaddr {
  return { kind: 'inet', len: SOCKADDR_IN_LEN, addr: addr >>> 0, port };
}

export function sa_link(
  index: number,
  type = 0,
  name = '',
  lladdr: Uint8Array = new Uint8Array(0),
): RtSockaddr {
  return { kind: 'link', len: 0, index, type, name, lladdr, sel: new Uint8Array(0) };
}

/** An empty RtAddrs (RTAX_MAX nulls). */
export function rt_addrs(): RtAddrs {
  return new Array<RtSockaddr | null>(RTAX_MAX).fill(null);
}

/** The bytes a sockaddr takes on the wire (sa_len, before SA_SIZE padding). */
export function sa_len(sa: RtSockaddr): number {
  switch (sa.kind) {
    case 'inet':
      return SOCKADDR_IN_LEN;
    case 'link': {
      /* A decoded sockaddr_dl keeps its sa_len; a new one gets sizeof (54). */
      const n = 8 + utf8len(sa.name) + sa.lladdr.length + sa.sel.length;
      return sa.len >= n && sa.len > 0 ? sa.len : Math.max(SOCKADDR_DL_LEN, n);
    }
    case 'raw':
      return sa.bytes.length;
  }
}

function utf8len(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** Write one sockaddr at off; returns the bytes written (sa_len, not padded). */
function sa_write(buf: Uint8Array, off: number, sa: RtSockaddr): number {
  const len = sa_len(sa);
  switch (sa.kind) {
    case 'inet': {
      buf[off] = len;
      buf[off + 1] = AF_INET;
      buf[off + 2] = (sa.port >>> 8) & 0xff;
      buf[off + 3] = sa.port & 0xff;
      buf[off + 4] = sa.addr >>> 24;
      buf[off + 5] = (sa.addr >>> 16) & 0xff;
      buf[off + 6] = (sa.addr >>> 8) & 0xff;
      buf[off + 7] = sa.addr & 0xff;
      return len;
    }
    case 'link': {
      const name = new TextEncoder().encode(sa.name);
      buf[off] = len;
      buf[off + 1] = AF_LINK;
      buf[off + 2] = sa.index & 0xff;
      buf[off + 3] = (sa.index >>> 8) & 0xff;
      buf[off + 4] = sa.type;
      buf[off + 5] = name.length;
      buf[off + 6] = sa.lladdr.length;
      buf[off + 7] = sa.sel.length;
      buf.set(name, off + 8);
      buf.set(sa.lladdr, off + 8 + name.length);
      buf.set(sa.sel, off + 8 + name.length + sa.lladdr.length);
      return len;
    }
    case 'raw':
      buf.set(sa.bytes, off);
      return len;
  }
}

/**
 * Read one sockaddr of sa_len bytes at off (the caller checked it fits).  Returns
 * the sockaddr or an errno.
 */
function sa_read(buf: Uint8Array, off: number, rtax: number): RtSockaddr | number {
  const len = buf[off]!;
  if (len === 0) return { kind: 'raw', len: 0, family: AF_UNSPEC, bytes: new Uint8Array(0) };
  const family = len >= 2 ? buf[off + 1]! : AF_UNSPEC;
  if (family === AF_INET || (rtax === RTAX_NETMASK && family === AF_UNSPEC)) {
    /* Missing trailing bytes (a trimmed netmask) read as zero. */
    const b = (i: number): number => (i < len ? buf[off + i]! : 0);
    return {
      kind: 'inet',
      len,
      port: (b(2) << 8) | b(3),
      addr: ((b(4) << 24) | (b(5) << 16) | (b(6) << 8) | b(7)) >>> 0,
    };
  }
  if (family === AF_LINK) {
    if (len < 8) return EINVAL;
    const nlen = buf[off + 5]!;
    const alen = buf[off + 6]!;
    const slen = buf[off + 7]!;
    if (8 + nlen + alen + slen > len) return EINVAL;
    const d = off + 8;
    return {
      kind: 'link',
      len,
      index: buf[off + 2]! | (buf[off + 3]! << 8),
      type: buf[off + 4]!,
      name: new TextDecoder().decode(buf.subarray(d, d + nlen)),
      lladdr: buf.slice(d + nlen, d + nlen + alen),
      sel: buf.slice(d + nlen + alen, d + nlen + alen + slen),
    };
  }
  return { kind: 'raw', len, family, bytes: buf.slice(off, off + len) };
}

/* ------------------------------------------------------------------------------ */
/* Messages.                                                                       */

/** Which header a message type carries, and where its addrs bitmask lives. */
interface MsgKind {
  readonly layout: StructLayout;
  /** Name of the addrs field, or null (if_announcemsghdr carries no sockaddrs). */
  readonly addrsField: string | null;
  readonly prefix: string;
}

const K_RT: MsgKind = { layout: rt_msghdr_flat, addrsField: 'rtm_addrs', prefix: 'rtm' };
const K_IF: MsgKind = { layout: if_msghdr_flat, addrsField: 'ifm_addrs', prefix: 'ifm' };
const K_IFA: MsgKind = { layout: ifa_msghdr, addrsField: 'ifam_addrs', prefix: 'ifam' };
const K_IFMA: MsgKind = { layout: ifma_msghdr, addrsField: 'ifmam_addrs', prefix: 'ifmam' };
const K_IFAN: MsgKind = { layout: if_announcemsghdr, addrsField: null, prefix: 'ifan' };
const K_IFL: MsgKind = { layout: if_msghdrl_flat, addrsField: 'ifm_addrs', prefix: 'ifm' };
const K_IFAL: MsgKind = { layout: ifa_msghdrl_flat, addrsField: 'ifam_addrs', prefix: 'ifam' };

/**
 * The header kind of a message type, or null if the type is unknown.  `long`: the
 * NET_RT_IFLISTL forms of RTM_IFINFO and RTM_NEWADDR (if_msghdrl, ifa_msghdrl).
 */
function msgKind(type: number, long = false): MsgKind | null {
  if (long && type === RTM_IFINFO) return K_IFL;
  if (long && type === RTM_NEWADDR) return K_IFAL;
  switch (type) {
    case RTM_ADD:
    case RTM_DELETE:
    case RTM_CHANGE:
    case RTM_GET:
    case RTM_LOSING:
    case RTM_REDIRECT:
    case RTM_MISS:
    case RTM_LOCK:
    case RTM_RESOLVE:
      return K_RT;
    case RTM_NEWADDR:
    case RTM_DELADDR:
      return K_IFA;
    case RTM_IFINFO:
      return K_IF;
    case RTM_NEWMADDR:
    case RTM_DELMADDR:
      return K_IFMA;
    case RTM_IFANNOUNCE:
    case RTM_IEEE80211:
      return K_IFAN;
    default:
      return null;
  }
}

/** The fixed header size for a message type (0 if unknown). */
export function rtsock_hdrlen(type: number): number {
  return msgKind(type)?.layout.size ?? 0;
}

/**
 * A routing message: the header's scalar fields by their C names (rtm_flags,
 * rmx_mtu, ifm_index, ifi_mtu, ifam_metric, ...; the length, version and addrs fields
 * are filled in by the encoder), the interface name of an if_announcemsghdr, and the
 * sockaddrs by RTAX index.
 */
export interface RtsockMsg {
  readonly type: number;
  readonly hdr: Readonly<Record<string, number>>;
  readonly addrs: RtAddrs;
  /** if_announcemsghdr.ifan_name. */
  readonly ifname?: string;
}

export type RtsockDecoded =
  | {
      readonly error: 0;
      readonly msg: RtsockMsg;
      /** Bytes consumed (the message's msglen). */
      readonly len: number;
    }
  | { readonly error: number; readonly msg: null; readonly len: 0 };

function fail(error: number): RtsockDecoded {
  return { error, msg: null, len: 0 };
}

/**
 * Decode the routing message at the start of buf (a read(2) may return several;
 * continue at `len`).  Never throws: malformed input gives EINVAL or EPROTONOSUPPORT.
 */
export function rtsock_decode(buf: Uint8Array, long = false): RtsockDecoded {
  if (buf.length < 4) return fail(EINVAL);
  const msglen = buf[0]! | (buf[1]! << 8);
  const version = buf[2]!;
  const type = buf[3]!;
  if (msglen > buf.length) return fail(EINVAL);
  if (version !== RTM_VERSION) return fail(EPROTONOSUPPORT);
  const k = msgKind(type, long);
  if (k === null) return fail(EINVAL);
  const L = k.layout;
  if (msglen < L.size) return fail(EINVAL);
  const dv = new DataView(buf.buffer, buf.byteOffset, msglen);
  const hdr: Record<string, number> = {};
  for (const f of L.fields)
    if (f.type.kind !== 'bytes') hdr[f.name] = readScalar(dv, f.offset, f.type);
  let ifname: string | undefined;
  if (k === K_IFAN) {
    const off = L.byName.get('ifan_name')!.offset;
    const raw = buf.subarray(off, off + IFNAMSIZ);
    const nul = raw.indexOf(0);
    ifname = new TextDecoder().decode(nul < 0 ? raw : raw.subarray(0, nul));
  }
  const addrs = rt_addrs();
  if (k.addrsField !== null) {
    const bits = hdr[k.addrsField]! >>> 0;
    let cp = L.size;
    for (let i = 0; i < RTAX_MAX && cp < msglen; i++) {
      if ((bits & (1 << i)) === 0) continue;
      const len = buf[cp]!;
      if (cp + len > msglen) return fail(EINVAL);
      const sa = sa_read(buf, cp, i);
      if (typeof sa === 'number') return fail(sa);
      addrs[i] = sa;
      cp += SA_SIZE(len);
    }
  }
  const msg: RtsockMsg = ifname === undefined ? { type, hdr, addrs } : { type, hdr, addrs, ifname };
  return { error: 0, msg, len: msglen };
}

/**
 * Encode a routing message: the header of its type with the given fields (unnamed
 * fields zero; msglen, version, type and the addrs bitmask computed), then the
 * non-null sockaddrs, each padded to SA_SIZE.  Throws RangeError for an unknown type
 * or a message longer than 65535 bytes (API misuse: the kernel builds these).
 */
export function rtsock_encode(msg: RtsockMsg, long = false): Uint8Array {
  const k = msgKind(msg.type, long);
  if (k === null) throw new RangeError(`rtsock_encode: unknown message type ${msg.type}`);
  const L = k.layout;
  let total = L.size;
  let bits = 0;
  if (k.addrsField !== null) {
    for (let i = 0; i < RTAX_MAX; i++) {
      const sa = msg.addrs[i];
      if (sa === null || sa === undefined) continue;
      bits |= 1 << i;
      total += SA_SIZE(sa_len(sa));
    }
  }
  if (total > 0xffff) throw new RangeError(`rtsock_encode: message of ${total} bytes`);
  const buf = new Uint8Array(total);
  const dv = new DataView(buf.buffer);
  for (const f of L.fields) {
    if (f.type.kind === 'bytes') continue;
    const v = msg.hdr[f.name];
    if (v !== undefined) writeScalar(dv, f.offset, f.type, v);
  }
  const p = k.prefix;
  writeScalar(dv, 0, u16, total);
  buf[2] = RTM_VERSION;
  buf[3] = msg.type;
  if (k.addrsField !== null) writeScalar(dv, L.byName.get(k.addrsField)!.offset, int, bits);
  if (k === K_IFL || k === K_IFAL) {
    /* The header's own length and where if_data starts (ifi_type is its first byte). */
    writeScalar(dv, L.byName.get(`${p}_len`)!.offset, u16, L.size);
    writeScalar(dv, L.byName.get(`${p}_data_off`)!.offset, u16, L.byName.get('ifi_type')!.offset);
  }
  if (k === K_IFAN && msg.ifname !== undefined) {
    const name = new TextEncoder().encode(msg.ifname).subarray(0, IFNAMSIZ - 1);
    buf.set(name, L.byName.get(`${p}_name`)!.offset);
  }
  let cp = L.size;
  if (k.addrsField !== null) {
    for (let i = 0; i < RTAX_MAX; i++) {
      const sa = msg.addrs[i];
      if (sa === null || sa === undefined) continue;
      cp += SA_SIZE(sa_write(buf, cp, sa));
    }
  }
  return buf;
}

/** The host-order netmask of an inet sockaddr used as RTA_NETMASK (0 for an empty one). */
export function sa_mask(sa: RtSockaddr | null): number | null {
  if (sa === null) return null;
  if (sa.kind === 'inet') return sa.addr;
  if (sa.kind === 'raw' && sa.len === 0) return 0;
  return null;
}
