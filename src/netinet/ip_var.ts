/*
 * netinet/ip_var.ts — IPv4 statistics and tunables (netinet/ip_var.h, ip_input.c).
 *
 * struct ipstat is a per-vnet VNET_PCPUSTAT of uint64_t counters with FreeBSD's field
 * names and order, so `netstat -s -p ip` reads it by symbol (vnet_entry_ipstat) through
 * libkvm or as the opaque sysctl net.inet.ip.stats.  Every drop path in the IPv4 code
 * bumps exactly one of these (plus ips_total / ips_fragments where FreeBSD does).
 * Tunables are per-vnet VNET variables declared beside their sysctls.
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { counterStruct } from '../sys/types.js';
import {
  VNET_DEFINE_INT,
  VNET_PCPUSTAT_DEFINE,
  type VnetI32,
  type VnetPcpuStat,
} from '../net/vnet.js';
import {
  CTLFLAG_RW,
  CTLFLAG_VNET,
  SYSCTL_INT,
  SYSCTL_NODE,
  SYSCTL_OPAQUE_RO,
} from '../sys/sysctl.js';

export const K = new ObjFile('netinet/ip_var.ts', VIMAGEID('src/netinet/ip_var.ts'));

/** struct ipstat (FreeBSD 14 field order). */
const IPSTAT_FIELDS = [
  'ips_total',
  'ips_badsum',
  'ips_tooshort',
  'ips_toosmall',
  'ips_badhlen',
  'ips_badlen',
  'ips_fragments',
  'ips_fragdropped',
  'ips_fragtimeout',
  'ips_forward',
  'ips_fastforward',
  'ips_cantforward',
  'ips_redirectsent',
  'ips_noproto',
  'ips_delivered',
  'ips_localout',
  'ips_odropped',
  'ips_reassembled',
  'ips_fragmented',
  'ips_ofragments',
  'ips_cantfrag',
  'ips_badoptions',
  'ips_noroute',
  'ips_badvers',
  'ips_rawout',
  'ips_toolong',
  'ips_notmember',
  'ips_nogif',
  'ips_badaddr',
] as const;

export const ipstat_layout = counterStruct('ipstat', IPSTAT_FIELDS);

export const V_ipstat: VnetPcpuStat = VNET_PCPUSTAT_DEFINE(K, 'ipstat', ipstat_layout);

/** Field indexes for IPSTAT_INC(ips_xxx). */
export const IPS = Object.fromEntries(IPSTAT_FIELDS.map((f, i) => [f, i])) as {
  readonly [F in (typeof IPSTAT_FIELDS)[number]]: number;
};

export function IPSTAT_INC(f: number): void {
  V_ipstat.inc(f);
}
export function IPSTAT_ADD(f: number, n: number): void {
  V_ipstat.add(f, n);
}

SYSCTL_NODE(K, 'net.inet', CTLFLAG_RW, 'Internet Family');
SYSCTL_NODE(K, 'net.inet.ip', CTLFLAG_RW, 'IP');

/** net.inet.ip.forwarding */
export const V_ipforwarding: VnetI32 = VNET_DEFINE_INT(K, 'ipforwarding', 0);
SYSCTL_INT(
  K,
  'net.inet.ip.forwarding',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_ipforwarding,
  'Enable IP forwarding between interfaces',
);

/** net.inet.ip.ttl (IPDEFTTL) */
export const V_ip_defttl: VnetI32 = VNET_DEFINE_INT(K, 'ip_defttl', 64);
SYSCTL_INT(
  K,
  'net.inet.ip.ttl',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_ip_defttl,
  'Maximum TTL on IP packets',
);

/** net.inet.ip.redirect: send ICMP redirects */
export const V_ipsendredirects: VnetI32 = VNET_DEFINE_INT(K, 'ipsendredirects', 1);
SYSCTL_INT(
  K,
  'net.inet.ip.redirect',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_ipsendredirects,
  'Enable sending IP redirects',
);

/** net.inet.ip.maxfragpackets: reassembly queues allowed (-1 unlimited, 0 none). */
export const V_ipreass_maxpackets: VnetI32 = VNET_DEFINE_INT(K, 'ipreass_maxpackets', 1024);
SYSCTL_INT(
  K,
  'net.inet.ip.maxfragpackets',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_ipreass_maxpackets,
  'Maximum number of IPv4 fragment reassembly queue entries',
);

/** net.inet.ip.maxfragsperpacket */
export const V_maxfragsperpacket: VnetI32 = VNET_DEFINE_INT(K, 'maxfragsperpacket', 16);
SYSCTL_INT(
  K,
  'net.inet.ip.maxfragsperpacket',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_maxfragsperpacket,
  'Maximum number of IPv4 fragments allowed per packet',
);

/** net.inet.ip.fragttl: seconds a reassembly queue lives (IPFRAGTTL 60 slow ticks). */
export const V_ipfragttl: VnetI32 = VNET_DEFINE_INT(K, 'ipfragttl', 30);
SYSCTL_INT(
  K,
  'net.inet.ip.fragttl',
  CTLFLAG_VNET | CTLFLAG_RW,
  V_ipfragttl,
  'IP fragment life time on reassembly queue',
);

SYSCTL_OPAQUE_RO(
  K,
  'net.inet.ip.stats',
  CTLFLAG_VNET,
  () => V_ipstat.fetchBytes(),
  'S,ipstat',
  'IP statistics (struct ipstat, netinet/ip_var.h)',
);
