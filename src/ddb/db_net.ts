/*
 * ddb/db_net.ts — DDB extras for the network stack: show sockets, show route.
 *
 * `show sockets` lists every socket of the kernel (domain, type, protocol, state, the
 * bytes queued in each buffer, the vnet); `show route` dumps the IPv4 routing table of
 * $db_vnet (or curvnet, or vnet0) in netstat -rn order.  `show inpcb` lists the
 * Internet pcbs of that vnet; `show inpcb N` prints the pcb of the socket whose
 * so_gencnt is N (the number `show inpcb` and sockstat's pcblists give) field by field,
 * as FreeBSD's db_print_inpcb does.  Interfaces are listed by
 * `show all ifnets` (net/if.ts).
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { DB_SHOW_COMMAND } from './ddb.js';
import { db_selected_vnet } from './db_expr.js';
import { so_globals } from '../kern/uipc_sockbuf.js';
import { V_rib } from '../netinet/in_var.js';
import { rt_flags_letters, type Rtentry } from '../net/route/route_var.js';
import { inet_ntoa, type in_addr_t } from '../netinet/in.js';
import { with_vnet, type Vnet } from '../net/vnet.js';
import { V_udbinfo } from '../netinet/udp_usrreq.js';
import { V_tcp } from '../netinet/tcp_subr.js';
import { intotcpcb, tcpstates } from '../netinet/tcp_var.js';
import type { Inpcb, InpcbInfo } from '../netinet/in_pcb.js';
import {
  INP_ANONPORT,
  INP_BINDANY,
  INP_DONTFRAG,
  INP_DROPPED,
  INP_HDRINCL,
  INP_HIGHPORT,
  INP_IMPLICITLADDR,
  INP_INHASHLIST,
  INP_LOWPORT,
  INP_ONESBCAST,
  INP_RECVDSTADDR,
  INP_RECVTOS,
  INP_RECVTTL,
} from '../netinet/in_pcb.js';
import { DbError, db_decimal, type DbSession } from './ddb.js';

export const K = new ObjFile('ddb/db_net.ts', VIMAGEID('src/ddb/db_net.ts'));

const SOCK_TYPES: Readonly<Record<number, string>> = {
  1: 'stream',
  2: 'dgram',
  3: 'raw',
  5: 'seqpacket',
};

DB_SHOW_COMMAND(
  K,
  'sockets',
  (db) => {
    const socks = [...so_globals(db.k).sockets];
    db.printf(`${socks.length} sockets\n`);
    db.printf('  #  domain  type       proto  state   rcv.cc  snd.cc  vnet\n');
    socks.forEach((so, i) => {
      const dom = so.so_proto.pr_domain?.dom_name ?? '?';
      db.printf(
        `${String(i).padStart(3)}  ${dom.padEnd(6)}  ${(SOCK_TYPES[so.so_type] ?? String(so.so_type)).padEnd(9)}  ` +
          `${String(so.so_proto.pr_protocol).padStart(5)}  0x${so.so_state.toString(16).padStart(4, '0')}  ` +
          `${String(so.so_rcv.sb_ccc).padStart(6)}  ${String(so.so_snd.sb_ccc).padStart(6)}  ` +
          `${so.so_vnet ? so.so_vnet.vnet_id : '-'}\n`,
      );
    });
  },
  'list sockets',
);

function gwString(rt: Rtentry): string {
  const g = rt.rt_gateway;
  return g.kind === 'inet' ? inet_ntoa(g.addr as in_addr_t) : `link#${g.index}`;
}

DB_SHOW_COMMAND(
  K,
  'route',
  (db) => {
    const v = db_selected_vnet(db) ?? db.k.vnet0;
    const rib = V_rib.on(v);
    if (!rib) {
      db.printf('no routing table\n');
      return;
    }
    db.printf(`Routing table of vnet ${v.vnet_id} (${rib.size} routes)\n`);
    db.printf('Destination        Gateway            Flags     Netif\n');
    with_vnet(v, () =>
      rib.walk((rt) => {
        const dst =
          rt.rt_plen === 0 ? 'default' : `${inet_ntoa(rt.rt_dst as in_addr_t)}/${rt.rt_plen}`;
        db.printf(
          `${dst.padEnd(18)} ${gwString(rt).padEnd(18)} ${rt_flags_letters(rt.rt_flags).padEnd(9)} ${rt.rt_ifp?.if_xname ?? ''}\n`,
        );
      }),
    );
  },
  'dump the IPv4 routing table of $db_vnet',
);

const INP_FLAG_NAMES: readonly (readonly [number, string])[] = [
  [INP_RECVDSTADDR, 'INP_RECVDSTADDR'],
  [INP_HDRINCL, 'INP_HDRINCL'],
  [INP_HIGHPORT, 'INP_HIGHPORT'],
  [INP_LOWPORT, 'INP_LOWPORT'],
  [INP_ANONPORT, 'INP_ANONPORT'],
  [INP_RECVTTL, 'INP_RECVTTL'],
  [INP_DONTFRAG, 'INP_DONTFRAG'],
  [INP_BINDANY, 'INP_BINDANY'],
  [INP_INHASHLIST, 'INP_INHASHLIST'],
  [INP_RECVTOS, 'INP_RECVTOS'],
  [INP_ONESBCAST, 'INP_ONESBCAST'],
  [INP_DROPPED, 'INP_DROPPED'],
  [INP_IMPLICITLADDR, 'INP_IMPLICITLADDR'],
];

function inp_flags_string(f: number): string {
  return INP_FLAG_NAMES.filter(([b]) => f & b)
    .map(([, n]) => n)
    .join('|');
}

/** The pcb tables of a vnet: TCP's and UDP's. */
function pcbinfos(v: Vnet): InpcbInfo[] {
  const out: InpcbInfo[] = [];
  const t = v.kernel.vimage ? V_tcp.on(v) : V_tcp.get();
  if (t) out.push(t.tcbinfo);
  const u = v.kernel.vimage ? V_udbinfo.on(v) : V_udbinfo.get();
  if (u) out.push(u);
  return out;
}

function ipport(a: number, p: number): string {
  return `${inet_ntoa(a as in_addr_t)}:${p}`;
}

function db_print_inpcb(db: DbSession, inp: Inpcb): void {
  const so = inp.inp_socket;
  db.printf(`inpcb ${inp.inp_gencnt} (${inp.inp_pcbinfo.ipi_name})\n`);
  db.printf(`    inp_socket: ${so ? so.so_gencnt : 'NULL'}   inp_gencnt: ${inp.inp_gencnt}\n`);
  db.printf(`    inp_laddr: ${inet_ntoa(inp.inp_laddr)}   inp_lport: ${inp.inp_lport}\n`);
  db.printf(`    inp_faddr: ${inet_ntoa(inp.inp_faddr)}   inp_fport: ${inp.inp_fport}\n`);
  db.printf(
    `    inp_flags: 0x${inp.inp_flags.toString(16)} (${inp_flags_string(inp.inp_flags)})\n`,
  );
  db.printf(`    inp_vflag: 0x1 (INP_IPV4)\n`);
  const tp = intotcpcb(inp);
  if (tp !== null && inp.inp_ip_p === 6)
    db.printf(
      `    t_state: ${tcpstates[tp.t_state]}   snd_una: ${tp.snd_una}   snd_nxt: ${tp.snd_nxt}   snd_max: ${tp.snd_max}   rcv_nxt: ${tp.rcv_nxt}\n` +
        `    snd_wnd: ${tp.snd_wnd}   snd_cwnd: ${tp.snd_cwnd}   snd_ssthresh: ${tp.snd_ssthresh}   t_maxseg: ${tp.t_maxseg}   t_rxtcur: ${tp.t_rxtcur}   cc: ${tp.cc_algo.name}\n`,
    );
  db.printf(
    `    inp_ip_ttl: ${inp.inp_ip_ttl}   inp_ip_p: ${inp.inp_ip_p}   inp_ip_minttl: ${inp.inp_ip_minttl}   inp_ip_tos: ${inp.inp_ip_tos}\n`,
  );
  if (so)
    db.printf(
      `    so_rcv: ${so.so_rcv.sb_ccc}/${so.so_rcv.sb_hiwat}   so_snd: ${so.so_snd.sb_ccc}/${so.so_snd.sb_hiwat}   so_options: 0x${so.so_options.toString(16)}   so_state: 0x${so.so_state.toString(16)}\n`,
    );
}

DB_SHOW_COMMAND(
  K,
  'inpcb',
  (db, a) => {
    const v = db_selected_vnet(db) ?? db.k.vnet0;
    const infos = pcbinfos(v);
    if (a.have_addr) {
      const n = db_decimal(a.rest) ?? a.addr;
      for (const pi of infos)
        for (const inp of pi.ipi_listhead)
          if (inp.inp_socket?.so_gencnt === n) {
            db_print_inpcb(db, inp);
            return;
          }
      throw new DbError(`no inpcb for socket ${a.rest} in vnet ${v.vnet_id}`);
    }
    db.printf(`Internet pcbs of vnet ${v.vnet_id}\n`);
    db.printf('Proto  Socket  Local Address          Foreign Address        Flags       State\n');
    for (const pi of infos)
      for (const inp of pi.ipi_listhead) {
        const tp = intotcpcb(inp);
        db.printf(
          `${pi.ipi_name.padEnd(5)}  ${String(inp.inp_socket?.so_gencnt ?? '-').padStart(6)}  ` +
            `${ipport(inp.inp_laddr, inp.inp_lport).padEnd(22)} ${ipport(inp.inp_faddr, inp.inp_fport).padEnd(22)} ` +
            `${('0x' + inp.inp_flags.toString(16)).padEnd(10)}  ${tp !== null ? tcpstates[tp.t_state] : ''}\n`,
        );
      }
  },
  'list the Internet pcbs of $db_vnet (show inpcb N: the pcb of socket N)',
);
