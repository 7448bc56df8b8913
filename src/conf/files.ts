/*
 * conf/files.ts — the objects of the kernel image, in link order (sys/conf/files).
 *
 * Linking happens once per process when this module is evaluated: the set_vnet and
 * set_pcpu sections of these objects are laid out back to back, accessors relocated,
 * symbols given addresses (kern/kernel_image.ts).  A new kernel source file that
 * declares linker-set entries is added here.
 */

import { link_image } from '../kern/kernel_image.js';
import { K as kern_mib } from '../kern/kern_mib.js';
import { K as subr_pcpu } from '../kern/subr_pcpu.js';
import { K as vnet } from '../net/vnet.js';
import { K as db_examine } from '../ddb/db_examine.js';
import { K as db_vnet } from '../ddb/db_vnet.js';
import { K as subr_kdb } from '../kern/subr_kdb.js';
import { K as db_main } from '../ddb/db_main.js';
import { K as db_thread } from '../ddb/db_thread.js';
import { K as db_break } from '../ddb/db_break.js';
import { K as sys_generic } from '../kern/sys_generic.js';
import { K as kern_syscall } from '../kern/kern_syscall.js';
import { K as kern_clock } from '../kern/kern_clock.js';
import { K as kern_kthread } from '../kern/kern_kthread.js';
import { K as net_if } from '../net/if.js';
import { K as if_clone } from '../net/if_clone.js';
import { K as netisr } from '../net/netisr.js';
import { K as bpf } from '../net/bpf.js';
import { K as if_ethersubr } from '../net/if_ethersubr.js';
import { K as if_loop } from '../net/if_loop.js';
import { K as if_epair } from '../net/if_epair.js';
import { K as if_bridge } from '../net/if_bridge.js';
import { K as ip_var } from '../netinet/ip_var.js';
import { K as ip_reass } from '../netinet/ip_reass.js';
import { K as in_var } from '../netinet/in_var.js';
import { K as if_ether } from '../netinet/if_ether.js';
import { K as ip_input } from '../netinet/ip_input.js';
import { K as ip_output } from '../netinet/ip_output.js';
import { K as icmp } from '../netinet/icmp.js';
import { K as raw_ip } from '../netinet/raw_ip.js';
import { K as in_pcb } from '../netinet/in_pcb.js';
import { K as udp_usrreq } from '../netinet/udp_usrreq.js';
import { K as tcp_var } from '../netinet/tcp_var.js';
import { K as tcp_ecn } from '../netinet/tcp_ecn.js';
import { K as cc } from '../netinet/cc/cc.js';
import { K as cc_newreno } from '../netinet/cc/cc_newreno.js';
import { K as tcp_subr } from '../netinet/tcp_subr.js';
import { K as tcp_output } from '../netinet/tcp_output.js';
import { K as tcp_input } from '../netinet/tcp_input.js';
import { K as tcp_syncache } from '../netinet/tcp_syncache.js';
import { K as tcp_hostcache } from '../netinet/tcp_hostcache.js';
import { K as tcp_usrreq } from '../netinet/tcp_usrreq.js';
import { K as in_proto } from '../netinet/in_proto.js';
import { K as rtsock } from '../net/rtsock.js';
import { K as in_control } from '../netinet/in_control.js';
import { K as in_rmx } from '../netinet/in_rmx.js';
import { K as db_net } from '../ddb/db_net.js';
import { K as if_vxlan } from '../net/if_vxlan.js';

import { K as uipc_sockbuf } from '../kern/uipc_sockbuf.js';
import { K as kern_mbuf } from '../kern/kern_mbuf.js';
import { K as uipc_socket } from '../kern/uipc_socket.js';
import { K as kern_file } from '../kern/kern_file.js';
import { K as uipc_syscalls } from '../kern/uipc_syscalls.js';
import { K as uipc_usrreq } from '../kern/uipc_usrreq.js';

export const FILES = [
  kern_mib,
  subr_pcpu,
  vnet,
  db_examine,
  db_vnet,
  subr_kdb,
  db_main,
  db_thread,
  db_break,
  sys_generic,
  kern_syscall,
  kern_clock,
  kern_kthread,
  net_if,
  if_clone,
  netisr,
  bpf,
  if_ethersubr,
  if_loop,
  if_epair,
  if_bridge,
  ip_var,
  ip_reass,
  in_var,
  if_ether,
  ip_input,
  ip_output,
  icmp,
  raw_ip,
  in_pcb,
  udp_usrreq,
  tcp_var,
  tcp_ecn,
  cc,
  cc_newreno,
  tcp_subr,
  tcp_output,
  tcp_input,
  tcp_syncache,
  tcp_hostcache,
  tcp_usrreq,
  in_proto,
  rtsock,
  in_control,
  in_rmx,
  db_net,
  if_vxlan,
  uipc_sockbuf,
  kern_mbuf,
  uipc_socket,
  kern_file,
  uipc_syscalls,
  uipc_usrreq,
];

export const IMAGE = link_image(FILES);
