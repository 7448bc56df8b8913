/*
 * net/if_loop.ts — the software loopback interface, lo(4) (sys/net/if_loop.c).
 *
 * Every vnet gets lo0 from a VNET_SYSINIT at (SI_SUB_PSEUDO, SI_ORDER_ANY) (vnet_loif_init),
 * kept in V_loif; the "lo" cloner makes lo1, lo2... on request, and destroying lo0 is
 * refused (EINVAL) as in FreeBSD.  lo is IFT_LOOP, IFF_LOOPBACK|IFF_MULTICAST, MTU 16384,
 * DLT_NULL for bpf (a 4-byte host-order address family word), and is marked running
 * when brought up.
 *
 * looutput(ifp, m, dst) counts the packet out and in and loops it back with if_simloop:
 * the packet is tapped, given rcvif = lo, marked with the checksum flags that tell the
 * protocols the data is already verified (CSUM_DATA_VALID | CSUM_PSEUDO_HDR |
 * CSUM_IP_CHECKED | CSUM_IP_VALID, csum_data 0xffff — LO_CSUM_SET), and queued to the
 * protocol's netisr (deferred, as FreeBSD's netisr_queue), so a reply is not sent from
 * inside the sender's call chain.
 *
 * lo0 offloads checksums as FreeBSD's does (IFCAP_RXCSUM|IFCAP_TXCSUM, if_hwassist
 * LO_CSUM_FEATURES = CSUM_IP|CSUM_TCP|CSUM_UDP|CSUM_SCTP): ip_output leaves the IP
 * header sum and a delayed transport sum (TCP's) unfinished for it, the receiving side
 * trusts LO_CSUM_SET, and so a TCP segment over lo0 is never summed; bpf on lo0 shows
 * what FreeBSD's shows, a zero IP header sum and the pseudo-header sum in th_sum.
 *
 * `ifconfig lo0 -rxcsum -txcsum` (SIOCSIFCAP) turns either off: without TXCSUM every sum
 * is computed, without RXCSUM looutput leaves the flags as they are, so a finished sum
 * is checked and one still pending is accepted as never having left the host (FreeBSD
 * 15's rule, D51475; FreeBSD 14 dropped such packets: "TXCSUM without RXCSUM leads to
 * unhappiness").
 *
 * Deliberate differences: none of substance.
 */

import { DECLARE_MODULE, MODULE_VERSION } from '../sys/module.js';
import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import {
  SI_ORDER_ANY,
  SI_SUB_INIT_IF,
  SI_SUB_PROTO_IFATTACHDOMAIN,
  SI_SUB_PSEUDO,
} from '../sys/kernel.js';
import { BKPT } from '../kern/subr_kdb.js';
import { VNET_OBJ, VNET_SYSINIT, VNET_SYSUNINIT } from './vnet.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFCAP_HWCSUM,
  IFCAP_HWCSUM_IPV6,
  IFCAP_LINKSTATE,
  IFCAP_RXCSUM,
  IFCAP_TXCSUM,
  IFCOUNTER_IBYTES,
  IFCOUNTER_IPACKETS,
  IFCOUNTER_OBYTES,
  IFCOUNTER_OERRORS,
  IFCOUNTER_OPACKETS,
  IFF_DRV_RUNNING,
  IFF_LOOPBACK,
  IFF_MULTICAST,
  IFF_UP,
  IFT_LOOP,
  LINK_STATE_UP,
  if_inc_counter,
  type IfDst,
  type IfRoute,
  type Ifnet,
} from './if_var.js';
import {
  CSUM_DATA_VALID,
  CSUM_IP,
  CSUM_SCTP,
  CSUM_TCP,
  CSUM_UDP,
  CSUM_IP_CHECKED,
  CSUM_IP_VALID,
  CSUM_PSEUDO_HDR,
  m_adj,
  m_freem,
  type Mbuf,
} from '../sys/mbuf.js';
import { EAFNOSUPPORT, EINVAL, ENETDOWN, ENOIOCTL } from '../sys/errno.js';
import {
  SIOCSIFFLAGS,
  SIOCSIFMTU,
  SIOCSIFADDR,
  SIOCADDMULTI,
  SIOCDELMULTI,
  IFR_MTU,
  IFR_REQCAP,
  SIOCSIFCAP,
} from '../sys/sockio.js';
import {
  if_alloc,
  if_attach,
  if_detach,
  if_free,
  if_initname,
  if_link_state_change,
} from './if.js';
import {
  if_clone_addif,
  if_clone_attach,
  if_clone_detach,
  ifc_alloc_unit,
  ifc_free_unit,
  ifc_name2unit,
  type IfClone,
} from './if_clone.js';
import { bpfattach, bpfdetach, bpf_mtap, bpf_mtap2, DLT_NULL } from './bpf.js';
import { NETISR_IP, NETISR_IPV6, netisr_queue } from './netisr.js';

export const K = new ObjFile('net/if_loop.ts', VIMAGEID('src/net/if_loop.ts'));

/* The module record FreeBSD's if_lo declares (kldstat -v lists it under the kernel). */
DECLARE_MODULE(K, { name: 'if_lo', evhand: null }, SI_SUB_PROTO_IFATTACHDOMAIN, SI_ORDER_ANY);
MODULE_VERSION(K, 'if_lo', 1);

const S_looutput = K.TEXT('looutput');
const S_if_simloop = K.TEXT('if_simloop');

export const LOMTU = 16384;
export const LO_CSUM_FEATURES = CSUM_IP | CSUM_TCP | CSUM_UDP | CSUM_SCTP;
export const LO_CSUM_SET = CSUM_DATA_VALID | CSUM_PSEUDO_HDR | CSUM_IP_CHECKED | CSUM_IP_VALID;

/** V_loif: this vnet's lo0; V_lo_cloner: its "lo" cloner. */
export const V_loif = VNET_OBJ<Ifnet | null>(K, 'loif');
export const V_lo_cloner = VNET_OBJ<IfClone | null>(K, 'lo_cloner');

/**
 * The DLT_NULL pseudo header for bpf: the address family as a host-order (little-endian
 * here) 32-bit word.  bpf_mtap2 only reads it, and only when someone listens, so the
 * two families lo0 carries get one constant copy each instead of a new array per packet.
 */
const LO_AFHDR_INET = Uint8Array.of(AF_INET, 0, 0, 0);
const LO_AFHDR_INET6 = Uint8Array.of(AF_INET6, 0, 0, 0);
function lo_afhdr(af: number): Uint8Array {
  if (af === AF_INET) return LO_AFHDR_INET;
  if (af === AF_INET6) return LO_AFHDR_INET6;
  const hdr = new Uint8Array(4);
  new DataView(hdr.buffer).setUint32(0, af, true);
  return hdr;
}

function af_to_isr(af: number): number {
  if (af === AF_INET) return NETISR_IP;
  if (af === AF_INET6) return NETISR_IPV6;
  return -1;
}

/**
 * if_simloop(ifp, m, af, hlen): deliver m to this host's protocol af as if received on
 * ifp.  hlen > 0: m still carries a link header of that size (a SIMPLEX Ethernet
 * interface looping its own broadcast): it is tapped as is, then stripped.  hlen 0: a
 * loopback packet, tapped with the DLT_NULL address-family word.  Consumes m.
 */
export function if_simloop(ifp: Ifnet, m: Mbuf, af: number, hlen = 0): number {
  BKPT(S_if_simloop);
  m.rcvif = ifp;
  if (hlen > 0) {
    bpf_mtap(ifp, m, false);
    m_adj(m, hlen);
  } else if (ifp.if_bpf !== null) bpf_mtap2(ifp, lo_afhdr(af), m, false);
  const isr = af_to_isr(af);
  if (isr < 0) {
    m_freem(m);
    return EAFNOSUPPORT;
  }
  if_inc_counter(ifp, IFCOUNTER_IPACKETS, 1);
  if_inc_counter(ifp, IFCOUNTER_IBYTES, m.len);
  return netisr_queue(isr, m);
}

/** looutput(ifp, m, dst, ro): loop the packet back.  Consumes m. */
export function looutput(ifp: Ifnet, m: Mbuf, dst: IfDst, _ro: IfRoute | null): number {
  BKPT(S_looutput);
  if (!(ifp.if_drv_flags & IFF_DRV_RUNNING) || !(ifp.if_flags & IFF_UP)) {
    if_inc_counter(ifp, IFCOUNTER_OERRORS, 1);
    m_freem(m);
    return ENETDOWN;
  }
  const af = dst.sa_family === AF_UNSPEC ? (dst.ether_type ?? AF_INET) : dst.sa_family;
  if_inc_counter(ifp, IFCOUNTER_OPACKETS, 1);
  if_inc_counter(ifp, IFCOUNTER_OBYTES, m.len);
  /* RXCSUM: the receiving side need not check anything.  Without it a sum left pending
   * (TXCSUM) stays marked so, and the local stack accepts it unchecked (FreeBSD's D51475);
   * a finished one is checked. */
  if (ifp.if_capenable & IFCAP_RXCSUM) {
    m.csum_flags = LO_CSUM_SET;
    m.csum_data = 0xffff;
  }
  if (af !== AF_INET && af !== AF_INET6) {
    if_inc_counter(ifp, IFCOUNTER_OERRORS, 1);
    m_freem(m);
    return EAFNOSUPPORT;
  }
  if (ifp.if_bpf !== null) bpf_mtap2(ifp, lo_afhdr(af), m, true);
  return if_simloop(ifp, m, af);
}

function loioctl(ifp: Ifnet, cmd: number, data: Uint8Array): number {
  switch (cmd >>> 0) {
    case SIOCSIFADDR:
      ifp.if_flags |= IFF_UP;
      ifp.if_drv_flags |= IFF_DRV_RUNNING;
      if_link_state_change(ifp, LINK_STATE_UP);
      return 0;
    case SIOCSIFFLAGS:
      if (ifp.if_flags & IFF_UP) {
        ifp.if_drv_flags |= IFF_DRV_RUNNING;
        if_link_state_change(ifp, LINK_STATE_UP);
      }
      return 0;
    case SIOCADDMULTI:
    case SIOCDELMULTI:
      return 0;
    case SIOCSIFMTU:
      ifp.if_mtu = new DataView(data.buffer, data.byteOffset, data.byteLength).getInt32(
        IFR_MTU,
        true,
      );
      return 0;
    case SIOCSIFCAP: {
      /* RXCSUM and TXCSUM each on or off; if_hwassist follows TXCSUM. */
      const req = new DataView(data.buffer, data.byteOffset, data.byteLength).getInt32(
        IFR_REQCAP,
        true,
      );
      ifp.if_capenable = (req & (IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6)) | IFCAP_LINKSTATE;
      ifp.if_hwassist = ifp.if_capenable & IFCAP_TXCSUM ? LO_CSUM_FEATURES : 0;
      return 0;
    }
  }
  return ENOIOCTL;
}

function lo_create_one(ifc: IfClone, unit: number): Ifnet {
  const ifp = if_alloc(IFT_LOOP);
  if_initname(ifp, 'lo', unit);
  ifp.if_mtu = LOMTU;
  ifp.if_flags = IFF_LOOPBACK | IFF_MULTICAST;
  /* FreeBSD's set (ifconfig lo0: options=680003<RXCSUM,TXCSUM,LINKSTATE,RXCSUM_IPV6,
   * TXCSUM_IPV6>); the IPv6 pair does nothing here, there is no IPv6. */
  ifp.if_capabilities = ifp.if_capenable = IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_LINKSTATE;
  ifp.if_hwassist = LO_CSUM_FEATURES;
  ifp.if_output = looutput;
  ifp.if_ioctl = loioctl;
  ifp.if_softc = ifc;
  if_attach(ifp);
  bpfattach(ifp, DLT_NULL, 4);
  if_clone_addif(ifc, ifp);
  return ifp;
}

function lo_clone_create(ifc: IfClone, name: string): { error: number; name: string } {
  const u = ifc_alloc_unit(ifc, ifc_name2unit(ifc, name));
  if (Number.isNaN(u.unit) || u.error) return { error: u.error || EINVAL, name };
  const ifp = lo_create_one(ifc, u.unit);
  if (u.unit === 0 && V_loif.get() === null) V_loif.set(ifp);
  return { error: 0, name: ifp.if_xname };
}

function lo_clone_destroy(ifc: IfClone, ifp: Ifnet): number {
  // lo0 of a vnet goes only with the vnet (vnet_loif_uninit).
  if (ifp === V_loif.get() && !ifp.if_vnet?.vnet_shutdown) return EINVAL;
  bpfdetach(ifp);
  if_detach(ifp);
  ifc_free_unit(ifc, ifp.if_dunit);
  if (ifp === V_loif.get()) V_loif.set(null);
  if_free(ifp);
  return 0;
}

/** vnet_loif_init: the cloner and lo0 of a new vnet. */
VNET_SYSINIT(K, 'vnet_loif_init', SI_SUB_PSEUDO, SI_ORDER_ANY, () => {
  V_loif.set(null);
  const ifc = if_clone_attach('lo', null, lo_clone_create, lo_clone_destroy);
  V_lo_cloner.set(ifc);
  const u = ifc_alloc_unit(ifc, 0);
  V_loif.set(lo_create_one(ifc, u.unit));
});

/** vnet_loif_uninit: the cloner goes, with every loopback it made. */
VNET_SYSUNINIT(K, 'vnet_loif_uninit', SI_SUB_INIT_IF, SI_ORDER_ANY, () => {
  const ifc = V_lo_cloner.get();
  if (ifc) if_clone_detach(ifc);
  V_lo_cloner.set(null);
  V_loif.set(null);
});
