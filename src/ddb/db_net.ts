/*
 * ddb/db_net.ts — DDB extras for the network stack: show sockets, show route.
 *
 * `show sockets` lists every socket of the kernel (domain, type, protocol, state, the
 * bytes queued in each buffer, the vnet); `show route` dumps the IPv4 routing table of
 * $db_vnet (or curvnet, or vnet0) in netstat -rn order.  Interfaces are listed by
 * `show all ifnets` (net/if.ts).
 */

import { ObjFile, VIMAGEID } from '../sys/linker_set.js';
import { DB_SHOW_COMMAND } from './ddb.js';
import { db_selected_vnet } from './db_expr.js';
import { so_globals } from '../kern/uipc_sockbuf.js';
import { V_rib } from '../netinet/in_var.js';
import { rt_flags_letters, type Rtentry } from '../net/route/route_var.js';
import { inet_ntoa, type in_addr_t } from '../netinet/in.js';
import { with_vnet } from '../net/vnet.js';

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
