/*
 * sbin/tcpdrop.ts — tcpdrop(8): drop TCP connections (FreeBSD's usr.sbin/tcpdrop).
 *
 *   tcpdrop [-l] local-address local-port foreign-address foreign-port
 *   tcpdrop [-l] local-address:local-port foreign-address:foreign-port
 *   tcpdrop [-l] -a                  every connection of the vnet
 *   tcpdrop [-l] -s state            every connection in that state (TIME_WAIT, ...)
 *
 * Like FreeBSD's it is plain userland: the connections come from the pcblist sysctl
 * (net.inet.tcp.pcblist, xinpcb records, as netstat reads them) and each is dropped by
 * writing its two addresses to net.inet.tcp.drop — foreign first, then local, each in a
 * 128-byte struct sockaddr_storage (netinet/tcp_subr.ts has the kernel side).  -a and -s
 * never touch listeners or sockets without a foreign address (they are not
 * connections).  -l lists: instead of dropping, it prints the command that would drop
 * each connection, so `tcpdrop -l -a` is a script.  The port may also follow the
 * address after a '.' (netstat's notation).  Output is FreeBSD's:
 *
 *   192.0.2.1 49152 192.0.2.2 5001: dropped
 *   tcpdrop: 192.0.2.1 49152 192.0.2.2 5001: No such process
 *
 * Exit status 1 if any drop failed, EX_USAGE for bad arguments.
 * XXX: IPv4 only; no -S stack (there is one TCP stack).
 */

import { EX_USAGE, type Program } from '../lib/process.js';
import type { Libc } from '../lib/libc.js';
import { inet_aton, inet_ntoa, in_addr, in_port, sockaddr_in_bytes } from '../netinet/in.js';
import { xinpcb_decode } from '../netinet/in_pcb.js';
import { TCPS_LISTEN } from '../netinet/tcp_var.js';
import { TCPSTATES } from '../usr.bin/netstat.js';

const USAGE =
  'usage: tcpdrop [-l] local-address local-port foreign-address foreign-port\n' +
  '       tcpdrop [-l] local-address:local-port foreign-address:foreign-port\n' +
  '       tcpdrop [-l] -a\n' +
  '       tcpdrop [-l] -s state\n';

/** One TCP connection of the pcblist (host byte order addresses and ports). */
export interface TcpConn {
  readonly laddr: number;
  readonly lport: number;
  readonly faddr: number;
  readonly fport: number;
  /** TCPS_* */
  readonly state: number;
}

/** sizeof(struct sockaddr_storage): the slots of net.inet.tcp.drop's value. */
const SS_SIZE = 128;

/** The vnet's TCP pcbs (net.inet.tcp.pcblist); null with errno set on failure. */
export async function tcp_pcblist(libc: Libc): Promise<TcpConn[] | null> {
  const b = await libc.sysctlbyname_bytes('net.inet.tcp.pcblist');
  if (b === null) return null;
  const list = xinpcb_decode(b);
  if (list === null) return null;
  return list.map((x) => ({
    laddr: x.inp_laddr,
    lport: x.inp_lport,
    faddr: x.inp_faddr,
    fport: x.inp_fport,
    state: x.t_state,
  }));
}

/** Drop one connection through net.inet.tcp.drop: 0, or -1 with errno set. */
export async function tcp_drop_conn(libc: Libc, c: TcpConn): Promise<number> {
  const v = new Uint8Array(2 * SS_SIZE);
  v.set(sockaddr_in_bytes(in_addr(c.faddr), in_port(c.fport)), 0);
  v.set(sockaddr_in_bytes(in_addr(c.laddr), in_port(c.lport)), SS_SIZE);
  return libc.sysctlbyname('net.inet.tcp.drop', null, null, v);
}

/** A connection -a / -s may drop: not a listener, and connected to someone. */
export function tcp_droppable(c: TcpConn): boolean {
  return c.state !== TCPS_LISTEN && c.faddr !== 0 && c.fport !== 0;
}

/** "ADDR PORT ADDR PORT", local first. */
export function tcp_conn_name(c: TcpConn): string {
  return `${inet_ntoa(c.laddr)} ${c.lport} ${inet_ntoa(c.faddr)} ${c.fport}`;
}

/** "A.B.C.D:PORT" or "A.B.C.D.PORT" (one argument) → [addr, port]. */
function split_addrport(s: string): [string, string] | null {
  const m = /^(.*)[:.]([0-9]+)$/.exec(s);
  return m === null ? null : [m[1]!, m[2]!];
}

function parse_port(s: string): number | null {
  if (!/^[0-9]+$/.test(s)) return null;
  const n = Number(s);
  return n > 0 && n <= 65535 ? n : null;
}

export const tcpdrop: Program = async (ctx) => {
  const libc = ctx.libc;
  let lflag = false;
  let aflag = false;
  let state: string | null = null;
  const args = ctx.argv.slice(1);
  while (args.length > 0 && args[0]!.startsWith('-') && args[0] !== '-') {
    const a = args.shift()!;
    if (a === '--') break;
    for (let i = 1; i < a.length; i++) {
      const o = a[i]!;
      if (o === 'l') lflag = true;
      else if (o === 'a') aflag = true;
      else if (o === 's') {
        const v = a.slice(i + 1) || args.shift();
        if (v === undefined) {
          await ctx.err(USAGE);
          return EX_USAGE;
        }
        state = v;
        break;
      } else {
        await ctx.warn(`illegal option -- ${o}`);
        await ctx.err(USAGE);
        return EX_USAGE;
      }
    }
  }

  const drop = async (c: TcpConn): Promise<boolean> => {
    const name = tcp_conn_name(c);
    if (lflag) {
      await ctx.out(`tcpdrop ${name}\n`);
      return true;
    }
    if ((await tcp_drop_conn(libc, c)) < 0) {
      await ctx.warn(`${name}: ${libc.strerror()}`);
      return false;
    }
    await ctx.out(`${name}: dropped\n`);
    return true;
  };

  if (aflag || state !== null) {
    if (args.length > 0) {
      await ctx.err(USAGE);
      return EX_USAGE;
    }
    let want = -1;
    if (state !== null) {
      want = TCPSTATES.findIndex((n) => n.toLowerCase() === state!.toLowerCase());
      if (want < 0) {
        await ctx.warn(`${state}: unknown TCP state`);
        return EX_USAGE;
      }
    }
    const list = await tcp_pcblist(libc);
    if (list === null) {
      await ctx.warn(`sysctl: net.inet.tcp.pcblist: ${libc.strerror()}`);
      return 1;
    }
    let ok = true;
    for (const c of list) {
      if (!tcp_droppable(c) || (want >= 0 && c.state !== want)) continue;
      if (!(await drop(c))) ok = false;
    }
    return ok ? 0 : 1;
  }

  let parts: string[];
  if (args.length === 4) parts = args;
  else if (args.length === 2) {
    const l = split_addrport(args[0]!);
    const f = split_addrport(args[1]!);
    if (l === null || f === null) {
      await ctx.err(USAGE);
      return EX_USAGE;
    }
    parts = [...l, ...f];
  } else {
    await ctx.err(USAGE);
    return EX_USAGE;
  }
  const laddr = inet_aton(parts[0]!);
  const lport = parse_port(parts[1]!);
  const faddr = inet_aton(parts[2]!);
  const fport = parse_port(parts[3]!);
  if (laddr === null || faddr === null) {
    await ctx.warn(`${laddr === null ? parts[0] : parts[2]}: hostname nor servname provided`);
    return 1;
  }
  if (lport === null || fport === null) {
    await ctx.warn(`${lport === null ? parts[1] : parts[3]}: invalid port`);
    return 1;
  }
  return (await drop({ laddr, lport, faddr, fport, state: 0 })) ? 0 : 1;
};
