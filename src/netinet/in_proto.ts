/*
 * netinet/in_proto.ts — the AF_INET domain (FreeBSD sys/netinet/in_proto.c): its
 * protocol switch, in the order socket(2) searches it.  SOCK_STREAM finds TCP,
 * SOCK_DGRAM UDP; SOCK_RAW
 * with any protocol finds the raw IP wildcard entry (pffindproto's fallback).
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { DOMAIN_SET, type Domain } from '../sys/protosw.js';
import { AF_INET } from './in.js';
import { udp_protosw } from './udp_usrreq.js';
import { tcp_protosw } from './tcp_usrreq.js';
import { rip_protosw } from './raw_ip.js';

export const K = new ObjFile('netinet/in_proto.ts', VIMAGEID('src/netinet/in_proto.ts'));

export const inetdomain: Domain = DOMAIN_SET(K, {
  dom_family: AF_INET,
  dom_name: 'internet',
  dom_protosw: [tcp_protosw, udp_protosw, rip_protosw],
});
