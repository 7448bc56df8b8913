/*
 * usr.bin/sockstat.ts — sockstat(1): list open sockets (FreeBSD usr.bin/sockstat).
 *
 * As FreeBSD's, it joins two kernel tables it reads by sysctl: kern.file (every open
 * file of the processes the caller may see: pid, uid, descriptor, and for a socket its
 * identity in xf_data) and the protocols' pcblists (net.inet.tcp.pcblist,
 * net.inet.udp.pcblist: addresses, ports, state; xso_so is the same identity).  A
 * socket no descriptor holds (a TCP connection in TIME_WAIT, say) prints with "?" for
 * its user, command, pid and descriptor.  The pcblists are per vnet: `-j jail` attaches
 * to the jail first, so its vnet's sockets are listed.
 *
 *   USER     COMMAND    PID   FD  PROTO  LOCAL ADDRESS         FOREIGN ADDRESS
 *   root     nc         14    3   udp4   *:5000                *:*
 *
 * Options: -4 (IPv4; the only family listed), -c (connected sockets only), -l
 * (listening: bound but unconnected, TCP listeners), -j jail, -p ports (comma list),
 * -P protocols (comma list: tcp, udp), -s (the TCP state column), -w (wider address
 * columns).  User names: root for uid 0, else the number (there is no password file).
 * XXX: local (AF_UNIX) sockets are not listed yet.
 */

import type { Program, ProcCtx } from '../lib/process.js';
import { jail_attach, jail_getid } from '../lib/libjail.js';
import { inet_ntoa } from '../netinet/in.js';
import { xinpcb_decode, type XInpcb } from '../netinet/in_pcb.js';
import { DTYPE_SOCKET, xfile } from '../kern/kern_file.js';
import { decodeStruct } from '../sys/types.js';
import { TCPSTATES } from './netstat.js';

const USAGE = 'usage: sockstat [-46cdlLnsSuUvw] [-j jid] [-p ports] [-P protocols]\n';

const PROTOS: readonly (readonly [string, string])[] = [
  ['tcp', 'net.inet.tcp.pcblist'],
  ['udp', 'net.inet.udp.pcblist'],
];

interface XFile {
  pid: number;
  uid: number;
  fd: number;
  type: number;
  data: number;
  comm: string;
}

function xfiles_decode(b: Uint8Array): XFile[] {
  const out: XFile[] = [];
  const coff = xfile.byName.get('xf_comm')!.offset;
  for (let off = 0; off + xfile.size <= b.length; off += xfile.size) {
    const r = decodeStruct(xfile, b, off);
    const c = b.subarray(off + coff, off + coff + 20);
    const z = c.indexOf(0);
    out.push({
      pid: r['xf_pid']!,
      uid: r['xf_uid']!,
      fd: r['xf_fd']!,
      type: r['xf_type']!,
      data: r['xf_data']!,
      comm: new TextDecoder().decode(z < 0 ? c : c.subarray(0, z)),
    });
  }
  return out;
}

function addrstr(a: number, port: number): string {
  return `${a === 0 ? '*' : inet_ntoa(a)}:${port === 0 ? '*' : port}`;
}

function parse_ports(s: string): Set<number> | null {
  const out = new Set<number>();
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) return null;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo > 65535 || hi > 65535 || lo > hi) return null;
    for (let p = lo; p <= hi; p++) out.add(p);
  }
  return out;
}

interface Sock {
  proto: string;
  x: XInpcb;
}

export const sockstat: Program = async (ctx: ProcCtx) => {
  const argv = ctx.argv.slice(1);
  let cflag = false;
  let lflag = false;
  let sflag = false;
  let wflag = false;
  let jail: string | null = null;
  let ports: Set<number> | null = null;
  let protos: Set<string> | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a === '-') {
      await ctx.err(USAGE);
      return 1;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      if (c === 'c') cflag = true;
      else if (c === 'l') lflag = true;
      else if (c === 's') sflag = true;
      else if (c === 'w') wflag = true;
      else if ('46dLnSuUv'.includes(c)) continue;
      else if (c === 'j' || c === 'p' || c === 'P') {
        const v = a.slice(j + 1) || argv[++i];
        if (v === undefined) {
          await ctx.err(`sockstat: option requires an argument -- ${c}\n${USAGE}`);
          return 1;
        }
        if (c === 'j') jail = v;
        else if (c === 'p') {
          ports = parse_ports(v);
          if (ports === null) {
            await ctx.err(`sockstat: ${v}: bad port list\n`);
            return 1;
          }
        } else {
          protos = new Set(v.split(','));
          for (const p of protos)
            if (!PROTOS.some(([n]) => n === p)) {
              await ctx.err(`sockstat: ${p}: protocol not supported\n`);
              return 1;
            }
        }
        break;
      } else {
        await ctx.err(`sockstat: illegal option -- ${c}\n${USAGE}`);
        return 1;
      }
    }
  }
  if (jail !== null) {
    const jid = await jail_getid(ctx.libc, jail);
    if (jid < 0 || (await jail_attach(ctx.libc, jid)) < 0) {
      await ctx.err(`sockstat: jail "${jail}" not found\n`);
      return 1;
    }
  }
  const fb = await ctx.libc.sysctlbyname_bytes('kern.file');
  if (fb === null) {
    await ctx.err(`sockstat: sysctl: kern.file: ${ctx.libc.strerror()}\n`);
    return 1;
  }
  const socks = new Map<number, Sock>();
  for (const [proto, oid] of PROTOS) {
    if (protos !== null && !protos.has(proto)) continue;
    const b = await ctx.libc.sysctlbyname_bytes(oid);
    if (b === null) continue; /* protocol not in this kernel */
    const list = xinpcb_decode(b);
    if (list === null) {
      await ctx.err(`sockstat: ${oid}: bad xinpcb list\n`);
      return 1;
    }
    for (const x of list) socks.set(x.xso_so, { proto, x });
  }
  const aw = wflag ? 45 : 21;
  let out =
    `${'USER'.padEnd(8)} ${'COMMAND'.padEnd(10)} ${'PID'.padEnd(5)} ${'FD'.padEnd(3)} ` +
    `${'PROTO'.padEnd(6)} ${'LOCAL ADDRESS'.padEnd(aw)} ${'FOREIGN ADDRESS'.padEnd(aw)}` +
    (sflag ? ` ${'CONN STATE'.padEnd(11)}` : '') +
    '\n';
  const wanted = (s: Sock): boolean => {
    const x = s.x;
    const listening = s.proto === 'tcp' ? x.t_state === 1 : x.inp_faddr === 0;
    if (cflag && listening) return false;
    if (lflag && !listening) return false;
    if (ports !== null && !ports.has(x.inp_lport) && !ports.has(x.inp_fport)) return false;
    return true;
  };
  const row = (user: string, comm: string, pid: string, fd: string, s: Sock): string => {
    const x = s.x;
    let l = `${user.padEnd(8)} ${comm.slice(0, 10).padEnd(10)} ${pid.padEnd(5)} ${fd.padEnd(3)} `;
    l += `${(s.proto + '4').padEnd(6)} ${addrstr(x.inp_laddr, x.inp_lport).padEnd(aw)} `;
    l += addrstr(x.inp_faddr, x.inp_fport).padEnd(aw);
    if (sflag && s.proto === 'tcp') l += ` ${TCPSTATES[x.t_state] ?? x.t_state}`;
    return l.trimEnd() + '\n';
  };
  const seen = new Set<number>();
  for (const f of xfiles_decode(fb)) {
    if (f.type !== DTYPE_SOCKET) continue;
    const s = socks.get(f.data);
    if (s === undefined || !wanted(s)) continue;
    seen.add(f.data);
    out += row(f.uid === 0 ? 'root' : String(f.uid), f.comm, String(f.pid), String(f.fd), s);
  }
  for (const [so, s] of socks) if (!seen.has(so) && wanted(s)) out += row('?', '?', '?', '?', s);
  await ctx.out(out);
  return 0;
};
