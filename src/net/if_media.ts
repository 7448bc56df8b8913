/*
 * net/if_media.ts — interface media words and SIOCGIFMEDIA (FreeBSD sys/net/if_media.h,
 * if_media.c), for the pseudo-interfaces that report a fixed medium.
 *
 * A media word is type | subtype | options: Ethernet (IFM_ETHER) with a subtype such as
 * autoselect or 10Gbase-T and options such as full-duplex (IFM_FDX).  A driver keeps
 * the words it supports, the one selected (ifm_current) and what is active now with its
 * status (IFM_AVALID | IFM_ACTIVE: link up); ifmedia_ioctl answers SIOCGIFMEDIA with a
 * struct ifmediareq, copying the list out when the caller gave room for it, and
 * SIOCSIFMEDIA accepts only a word of the list.  The names are ifconfig's (the
 * IFM_SUBTYPE_ETHERNET_DESCRIPTIONS table), for `ifconfig`'s "media:" line.
 *
 * Only what epair and vxlan use is here: FreeBSD's full tables of subtypes and options
 * for every medium are not (XXX).
 */

import { EINVAL, ENXIO } from '../sys/errno.js';
import { IFNAMSIZ } from '../sys/sockio.js';

export const IFM_ETHER = 0x00000020;
export const IFM_AUTO = 0;
export const IFM_10G_T = 26;
/** Global options: full and half duplex. */
export const IFM_FDX = 0x00100000;
export const IFM_HDX = 0x00200000;
/** Status bits: the status is valid; the link is up. */
export const IFM_AVALID = 0x00000001;
export const IFM_ACTIVE = 0x00000002;

const IFM_NMASK = 0x000000e0;
const IFM_TMASK = 0x0000001f;
const IFM_GMASK = 0x0ff00000;

/* struct ifmediareq offsets (48 bytes on amd64). */
const IFM_CURRENT = IFNAMSIZ;
const IFM_MASK = IFNAMSIZ + 4;
const IFM_STATUS = IFNAMSIZ + 8;
const IFM_ACTIVE_OFF = IFNAMSIZ + 12;
const IFM_COUNT = IFNAMSIZ + 16;
const IFM_ULIST = IFNAMSIZ + 24;

/** What a driver reports: its media words, the one selected, and a status callback. */
export interface IfMedia {
  readonly list: readonly number[];
  current: number;
  /** The active word and status bits now. */
  status(): { active: number; status: number };
}

/**
 * ifmedia_ioctl for SIOCGIFMEDIA (get: false → SIOCSIFMEDIA).  `copyout` writes the
 * list to the caller's ifm_ulist (a user address), returning 0 or an errno.
 */
export function ifmedia_ioctl(
  ifm: IfMedia,
  data: Uint8Array,
  get: boolean,
  copyout: (kbuf: Uint8Array, uaddr: number) => number,
): number {
  const d = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (!get) {
    /* SIOCSIFMEDIA passes an ifreq whose ifr_media is the word wanted. */
    const want = d.getInt32(IFNAMSIZ, true);
    if (!ifm.list.includes(want)) return ENXIO;
    ifm.current = want;
    return 0;
  }
  if (data.length < IFM_ULIST + 8) return EINVAL;
  const st = ifm.status();
  const room = d.getInt32(IFM_COUNT, true);
  const ulist = d.getUint32(IFM_ULIST, true) + d.getUint32(IFM_ULIST + 4, true) * 4294967296;
  d.setInt32(IFM_CURRENT, ifm.current, true);
  d.setInt32(IFM_MASK, 0, true);
  d.setInt32(IFM_STATUS, st.status, true);
  d.setInt32(IFM_ACTIVE_OFF, st.active, true);
  d.setInt32(IFM_COUNT, ifm.list.length, true);
  if (room < 0) return EINVAL;
  if (room > 0 && ulist !== 0) {
    const n = Math.min(room, ifm.list.length);
    const b = new Uint8Array(n * 4);
    const bv = new DataView(b.buffer);
    for (let i = 0; i < n; i++) bv.setInt32(i * 4, ifm.list[i]!, true);
    const e = copyout(b, ulist);
    if (e !== 0) return e;
  }
  return 0;
}

const TYPES: ReadonlyMap<number, string> = new Map([[IFM_ETHER, 'Ethernet']]);
const ETHER_SUBTYPES: ReadonlyMap<number, string> = new Map([
  [IFM_AUTO, 'autoselect'],
  [IFM_10G_T, '10Gbase-T'],
]);
const OPTIONS: readonly [number, string][] = [
  [IFM_FDX, 'full-duplex'],
  [IFM_HDX, 'half-duplex'],
];

/** A media word as ifconfig prints it: "Ethernet 10Gbase-T <full-duplex>" (type optional). */
export function ifmedia_string(word: number, withType: boolean): string {
  const type = word & IFM_NMASK;
  const sub = ETHER_SUBTYPES.get(word & IFM_TMASK) ?? `unknown subtype ${word & IFM_TMASK}`;
  const opts = OPTIONS.filter(([b]) => word & IFM_GMASK & b).map(([, n]) => n);
  const head = withType ? `${TYPES.get(type) ?? `unknown type ${type}`} ${sub}` : sub;
  return opts.length > 0 ? `${head} <${opts.join(',')}>` : head;
}
