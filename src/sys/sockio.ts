/*
 * sys/sockio.ts — socket and interface ioctl commands (sys/sys/sockio.h,
 * sys/sys/filio.h) and the structures they carry (sys/net/if.h, sys/netinet/in_var.h).
 *
 * Every value is computed with the ioccom macros from the byte layout of its argument,
 * so a layout and the command that copies it cannot disagree; the test suite checks the
 * results against FreeBSD/amd64's numbers (reference §8.2).  Layouts are FreeBSD/amd64
 * (LP64): pointers and size_t are 8 bytes, so struct ifconf is 16 bytes here and the
 * commands that carry pointers (SIOCGIFCONF, SIOCIFGCLONERS, SIOCGIFMEDIA) have the
 * amd64 values, not i386's.  The unions of struct ifreq are spelled as overlapping
 * fields at offset 16 (IFR_* below) beside the struct.
 *
 * XXX: IPv6 (in6_ifreq, SIOCAIFADDR_IN6), carp (SIOCSVH), wlan, vlan and lagg commands
 * are not here yet; add them with their structures when their drivers arrive.
 */

import { _IO, _IOR, _IOW, _IOWR } from './ioccom.js';
import { bytes, int, ptr, struct, u8, u16, uint, ulong, type StructLayout } from './types.js';

export const IFNAMSIZ = 16;
export const IF_NAMESIZE = IFNAMSIZ;
export const IFSTATMAX = 800;

/* ------------------------------------------------------------------------------ */
/* Structures.                                                                     */

/** struct sockaddr (16 bytes). */
export const sockaddr = struct('sockaddr', [
  ['sa_len', u8],
  ['sa_family', u8],
  ['sa_data', bytes(14)],
]);

/** struct sockaddr_in (16 bytes); sin_port and sin_addr are in network byte order. */
export const sockaddr_in = struct('sockaddr_in', [
  ['sin_len', u8],
  ['sin_family', u8],
  ['sin_port', u16],
  ['sin_addr', bytes(4, 4, 'struct in_addr')],
  ['sin_zero', bytes(8)],
]);

/** struct ifreq: the name and a 16-byte union (32 bytes, alignment 8). */
export const ifreq = struct('ifreq', [
  ['ifr_name', bytes(IFNAMSIZ)],
  /* union ifr_ifru: sockaddr, ifreq_buffer {size_t; void *}, short[2], int, ptr. */
  ['ifr_ifru', bytes(16, 8, 'union ifr_ifru')],
]);

/** Offsets of the members of ifreq's union (all overlay offset 16). */
export const IFR_NAME = 0;
export const IFR_ADDR = 16; /* ifr_addr, ifr_dstaddr, ifr_broadaddr: struct sockaddr */
export const IFR_BUFFER_LENGTH = 16; /* ifr_buffer.length: size_t */
export const IFR_BUFFER_BUFFER = 24; /* ifr_buffer.buffer: void * */
export const IFR_FLAGS = 16; /* short: low 16 flag bits */
export const IFR_FLAGSHIGH = 18; /* short: high 16 flag bits */
export const IFR_INDEX = 16; /* short */
export const IFR_JID = 16; /* int: jail id for SIOCSIFVNET / SIOCSIFRVNET */
export const IFR_METRIC = 16; /* int */
export const IFR_MTU = 16; /* int */
export const IFR_PHYS = 16; /* int */
export const IFR_MEDIA = 16; /* int */
export const IFR_DATA = 16; /* caddr_t: SIOCIFCREATE2 params, SIOCSIFNAME new name */
export const IFR_REQCAP = 16; /* int */
export const IFR_CURCAP = 20; /* int */
export const IFR_FIB = 16; /* u_int */

/** struct ifaliasreq (68 bytes). */
export const ifaliasreq = struct('ifaliasreq', [
  ['ifra_name', bytes(IFNAMSIZ)],
  ['ifra_addr', sockaddr.type],
  ['ifra_broadaddr', sockaddr.type],
  ['ifra_mask', sockaddr.type],
  ['ifra_vhid', int],
]);

/** struct oifaliasreq: the 9.x layout without ifra_vhid (64 bytes). */
export const oifaliasreq = struct('oifaliasreq', [
  ['ifra_name', bytes(IFNAMSIZ)],
  ['ifra_addr', sockaddr.type],
  ['ifra_broadaddr', sockaddr.type],
  ['ifra_mask', sockaddr.type],
]);

/** struct in_aliasreq: the IPv4 view of ifaliasreq (68 bytes). */
export const in_aliasreq = struct('in_aliasreq', [
  ['ifra_name', bytes(IFNAMSIZ)],
  ['ifra_addr', sockaddr_in.type],
  ['ifra_broadaddr', sockaddr_in.type] /* alias ifra_dstaddr */,
  ['ifra_mask', sockaddr_in.type],
  ['ifra_vhid', int],
]);

/** struct ifconf: length and a pointer to ifreqs (16 bytes on amd64). */
export const ifconf = struct('ifconf', [
  ['ifc_len', int],
  ['ifc_buf', ptr] /* union: caddr_t ifcu_buf / struct ifreq *ifcu_req */,
]);

/** struct if_clonereq: SIOCIFGCLONERS (16 bytes). */
export const if_clonereq = struct('if_clonereq', [
  ['ifcr_total', int] /* total cloners (out) */,
  ['ifcr_count', int] /* room for this many in user buffer */,
  ['ifcr_buffer', ptr] /* buffer for cloner names, IFNAMSIZ each */,
]);

/** struct ifstat: SIOCGIFSTATUS (817 bytes). */
export const ifstat = struct('ifstat', [
  ['ifs_name', bytes(IFNAMSIZ)],
  ['ascii', bytes(IFSTATMAX + 1)],
]);

/** struct ifmediareq: SIOCGIFMEDIA (48 bytes). */
export const ifmediareq = struct('ifmediareq', [
  ['ifm_name', bytes(IFNAMSIZ)],
  ['ifm_current', int],
  ['ifm_mask', int],
  ['ifm_status', int],
  ['ifm_active', int],
  ['ifm_count', int],
  ['ifm_ulist', ptr],
]);

/** struct ifdrv: SIOC[SG]DRVSPEC (40 bytes). */
export const ifdrv = struct('ifdrv', [
  ['ifd_name', bytes(IFNAMSIZ)],
  ['ifd_cmd', ulong],
  ['ifd_len', ulong] /* size_t */,
  ['ifd_data', ptr],
]);

/** struct ifgroupreq: SIOC[ADG]IFGROUP, SIOCGIFGMEMB (40 bytes). */
export const ifgroupreq = struct('ifgroupreq', [
  ['ifgr_name', bytes(IFNAMSIZ)],
  ['ifgr_len', uint],
  ['ifgr_ifgru', bytes(16, 8, 'union ifgr_ifgru')] /* char group[16] / struct ifg_req * */,
]);

/* ------------------------------------------------------------------------------ */
/* sys/sys/filio.h: generic file ioctls (group 'f').                               */

export const FIOCLEX = _IO('f', 1); /* set close on exec on fd */
export const FIONCLEX = _IO('f', 2); /* remove close on exec */
export const FIONREAD = _IOR('f', 127, int); /* get # bytes to read */
export const FIONBIO = _IOW('f', 126, int); /* set/clear non-blocking i/o */
export const FIOASYNC = _IOW('f', 125, int); /* set/clear async i/o */
export const FIOSETOWN = _IOW('f', 124, int); /* set owner */
export const FIOGETOWN = _IOR('f', 123, int); /* get owner */
export const FIODTYPE = _IOR('f', 122, int); /* get d_flags type part */
export const FIOGETLBA = _IOR('f', 121, int); /* get start blk # */
export const FIONWRITE = _IOR('f', 119, int); /* get # bytes (yet) to write */
export const FIONSPACE = _IOR('f', 118, int); /* get space in send queue */

/* ------------------------------------------------------------------------------ */
/* sys/sys/sockio.h: socket ioctls (group 's').                                    */

export const SIOCSHIWAT = _IOW('s', 0, int); /* set high watermark */
export const SIOCGHIWAT = _IOR('s', 1, int); /* get high watermark */
export const SIOCSLOWAT = _IOW('s', 2, int); /* set low watermark */
export const SIOCGLOWAT = _IOR('s', 3, int); /* get low watermark */
export const SIOCATMARK = _IOR('s', 7, int); /* at oob mark? */
export const SIOCSPGRP = _IOW('s', 8, int); /* set process group */
export const SIOCGPGRP = _IOR('s', 9, int); /* get process group */

/* Interface ioctls (group 'i').  13, 15, 18, 20, 21 are the 4.3BSD OSIOCG* numbers. */

export const SIOCSIFADDR = _IOW('i', 12, ifreq); /* set ifnet address */
export const SIOCSIFDSTADDR = _IOW('i', 14, ifreq); /* set p-p address */
export const SIOCSIFFLAGS = _IOW('i', 16, ifreq); /* set ifnet flags */
export const SIOCGIFFLAGS = _IOWR('i', 17, ifreq); /* get ifnet flags */
export const SIOCSIFBRDADDR = _IOW('i', 19, ifreq); /* set broadcast addr */
export const SIOCSIFNETMASK = _IOW('i', 22, ifreq); /* set net addr mask */
export const SIOCGIFMETRIC = _IOWR('i', 23, ifreq); /* get IF metric */
export const SIOCSIFMETRIC = _IOW('i', 24, ifreq); /* set IF metric */
export const SIOCDIFADDR = _IOW('i', 25, ifreq); /* delete IF addr */
export const OSIOCAIFADDR = _IOW('i', 26, oifaliasreq); /* FreeBSD 9.x add/chg alias */
export const SIOCSIFCAP = _IOW('i', 30, ifreq); /* set IF features */
export const SIOCGIFCAP = _IOWR('i', 31, ifreq); /* get IF features */
export const SIOCGIFINDEX = _IOWR('i', 32, ifreq); /* get IF index */
export const SIOCGIFADDR = _IOWR('i', 33, ifreq); /* get ifnet address */
export const SIOCGIFDSTADDR = _IOWR('i', 34, ifreq); /* get p-p address */
export const SIOCGIFBRDADDR = _IOWR('i', 35, ifreq); /* get broadcast addr */
export const SIOCGIFCONF = _IOWR('i', 36, ifconf); /* get ifnet list */
export const SIOCGIFNETMASK = _IOWR('i', 37, ifreq); /* get net addr mask */
export const SIOCGIFMAC = _IOWR('i', 38, ifreq); /* get IF MAC label */
export const SIOCSIFMAC = _IOW('i', 39, ifreq); /* set IF MAC label */
export const SIOCSIFNAME = _IOW('i', 40, ifreq); /* set IF name */
export const SIOCSIFDESCR = _IOW('i', 41, ifreq); /* set ifnet descr */
export const SIOCGIFDESCR = _IOWR('i', 42, ifreq); /* get ifnet descr */
export const SIOCAIFADDR = _IOW('i', 43, ifaliasreq); /* add/chg IF alias */
export const SIOCGIFDATA = _IOW('i', 44, ifreq); /* get if_data (sic: _IOW in FreeBSD) */
export const SIOCGIFALIAS = _IOWR('i', 45, ifaliasreq); /* get IF alias */
export const SIOCADDMULTI = _IOW('i', 49, ifreq); /* add m'cast addr */
export const SIOCDELMULTI = _IOW('i', 50, ifreq); /* del m'cast addr */
export const SIOCGIFMTU = _IOWR('i', 51, ifreq); /* get IF mtu */
export const SIOCSIFMTU = _IOW('i', 52, ifreq); /* set IF mtu */
export const SIOCGIFPHYS = _IOWR('i', 53, ifreq); /* get IF wire */
export const SIOCSIFPHYS = _IOW('i', 54, ifreq); /* set IF wire */
export const SIOCSIFMEDIA = _IOWR('i', 55, ifreq); /* set net media */
export const SIOCGIFMEDIA = _IOWR('i', 56, ifmediareq); /* get net media */
export const SIOCSIFGENERIC = _IOW('i', 57, ifreq); /* generic IF set op */
export const SIOCGIFGENERIC = _IOWR('i', 58, ifreq); /* generic IF get op */
export const SIOCGIFSTATUS = _IOWR('i', 59, ifstat); /* get IF status */
export const SIOCSIFLLADDR = _IOW('i', 60, ifreq); /* set linklevel addr */
export const SIOCGI2C = _IOWR('i', 61, ifreq); /* get I2C data */
export const SIOCGHWADDR = _IOWR('i', 62, ifreq); /* get hardware lladdr */
export const SIOCSIFPHYADDR = _IOW('i', 70, ifaliasreq); /* set gif address */
export const SIOCGIFPSRCADDR = _IOWR('i', 71, ifreq); /* get gif psrc addr */
export const SIOCGIFPDSTADDR = _IOWR('i', 72, ifreq); /* get gif pdst addr */
export const SIOCDIFPHYADDR = _IOW('i', 73, ifreq); /* delete gif addrs */
export const SIOCGPRIVATE_0 = _IOWR('i', 80, ifreq); /* device private 0 */
export const SIOCGPRIVATE_1 = _IOWR('i', 81, ifreq); /* device private 1 */
export const SIOCSIFVNET = _IOWR('i', 90, ifreq); /* move IF jail/vnet */
export const SIOCSIFRVNET = _IOWR('i', 91, ifreq); /* reclaim vnet IF */
export const SIOCGIFFIB = _IOWR('i', 92, ifreq); /* get IF fib */
export const SIOCSIFFIB = _IOW('i', 93, ifreq); /* set IF fib */
export const SIOCGTUNFIB = _IOWR('i', 94, ifreq); /* get tunnel fib */
export const SIOCSTUNFIB = _IOW('i', 95, ifreq); /* set tunnel fib */
export const SIOCSDRVSPEC = _IOW('i', 123, ifdrv); /* set driver-specific parameters */
export const SIOCGDRVSPEC = _IOWR('i', 123, ifdrv); /* get driver-specific parameters */
export const SIOCIFCREATE = _IOWR('i', 122, ifreq); /* create clone if */
export const SIOCIFCREATE2 = _IOWR('i', 124, ifreq); /* create clone if with data */
export const SIOCIFDESTROY = _IOW('i', 121, ifreq); /* destroy clone if */
export const SIOCIFGCLONERS = _IOWR('i', 120, if_clonereq); /* get cloners */
export const SIOCAIFGROUP = _IOW('i', 135, ifgroupreq); /* add an ifgroup */
export const SIOCGIFGROUP = _IOWR('i', 136, ifgroupreq); /* get ifgroups */
export const SIOCDIFGROUP = _IOW('i', 137, ifgroupreq); /* delete ifgroup */
export const SIOCGIFGMEMB = _IOWR('i', 138, ifgroupreq); /* get members */
export const SIOCGIFXMEDIA = _IOWR('i', 139, ifmediareq); /* get net xmedia */

/** Name ↔ value table (ktrace-style decoding, ifconfig -v, tests). */
export const SOCKIO_COMMANDS: Readonly<Record<string, number>> = {
  FIOCLEX,
  FIONCLEX,
  FIONREAD,
  FIONBIO,
  FIOASYNC,
  FIOSETOWN,
  FIOGETOWN,
  FIODTYPE,
  FIOGETLBA,
  FIONWRITE,
  FIONSPACE,
  SIOCSHIWAT,
  SIOCGHIWAT,
  SIOCSLOWAT,
  SIOCGLOWAT,
  SIOCATMARK,
  SIOCSPGRP,
  SIOCGPGRP,
  SIOCSIFADDR,
  SIOCSIFDSTADDR,
  SIOCSIFFLAGS,
  SIOCGIFFLAGS,
  SIOCSIFBRDADDR,
  SIOCSIFNETMASK,
  SIOCGIFMETRIC,
  SIOCSIFMETRIC,
  SIOCDIFADDR,
  OSIOCAIFADDR,
  SIOCSIFCAP,
  SIOCGIFCAP,
  SIOCGIFINDEX,
  SIOCGIFADDR,
  SIOCGIFDSTADDR,
  SIOCGIFBRDADDR,
  SIOCGIFCONF,
  SIOCGIFNETMASK,
  SIOCGIFMAC,
  SIOCSIFMAC,
  SIOCSIFNAME,
  SIOCSIFDESCR,
  SIOCGIFDESCR,
  SIOCAIFADDR,
  SIOCGIFDATA,
  SIOCGIFALIAS,
  SIOCADDMULTI,
  SIOCDELMULTI,
  SIOCGIFMTU,
  SIOCSIFMTU,
  SIOCGIFPHYS,
  SIOCSIFPHYS,
  SIOCSIFMEDIA,
  SIOCGIFMEDIA,
  SIOCSIFGENERIC,
  SIOCGIFGENERIC,
  SIOCGIFSTATUS,
  SIOCSIFLLADDR,
  SIOCGI2C,
  SIOCGHWADDR,
  SIOCSIFPHYADDR,
  SIOCGIFPSRCADDR,
  SIOCGIFPDSTADDR,
  SIOCDIFPHYADDR,
  SIOCGPRIVATE_0,
  SIOCGPRIVATE_1,
  SIOCSIFVNET,
  SIOCSIFRVNET,
  SIOCGIFFIB,
  SIOCSIFFIB,
  SIOCGTUNFIB,
  SIOCSTUNFIB,
  SIOCSDRVSPEC,
  SIOCGDRVSPEC,
  SIOCIFCREATE,
  SIOCIFCREATE2,
  SIOCIFDESTROY,
  SIOCIFGCLONERS,
  SIOCAIFGROUP,
  SIOCGIFGROUP,
  SIOCDIFGROUP,
  SIOCGIFGMEMB,
  SIOCGIFXMEDIA,
};

/** The layouts above by C name, for tools that print or decode them. */
export const SOCKIO_LAYOUTS: readonly StructLayout[] = [
  sockaddr,
  sockaddr_in,
  ifreq,
  ifaliasreq,
  oifaliasreq,
  in_aliasreq,
  ifconf,
  if_clonereq,
  ifstat,
  ifmediareq,
  ifdrv,
  ifgroupreq,
];
