/*
 * usr.bin/nc.ts — nc(1), netcat (FreeBSD's contrib/netcat, from OpenBSD): arbitrary
 * TCP and UDP connections and listeners, for tests and by hand.
 *
 *   nc [-dlnNuvz] [-p source_port] [-s source] [-w timeout] [destination] [port]
 *
 * A client connects to destination:port (-u: a connected UDP socket, from
 * -s source / -p source_port when given); a listener (-l) binds port (and the
 * address, when given) and, for TCP, accepts one connection; for UDP it waits for the
 * first datagram and connects to its sender, as OpenBSD's nc does.  Then standard input
 * goes to the socket and the socket's data to standard output, through poll(2), until
 * the peer closes (TCP) or, with -w, nothing has moved for that many seconds.  At the
 * end of standard input -N shuts the socket down for writing; -d does not read it at
 * all.  -z only connects (TCP) and reports.  -v reports on standard error in OpenBSD's
 * words ("Connection to 192.0.2.2 5000 port [udp/*] succeeded!").  Host names are
 * looked up with getaddrinfo (lib/netdb.ts: the jail's /etc/hosts); -n is accepted.
 *
 * Errors are OpenBSD's: with -v "nc: connect to 192.0.2.2 port 80 (tcp) failed:
 * Connection refused" (without -v a failed connect is silent), and exit status 1.
 */

import type { Program, ProcCtx } from '../lib/process.js';
import { writeAll } from '../lib/process.js';
import { gai_strerror, getaddrinfo } from '../lib/netdb.js';
import {
  AF_INET,
  POLLHUP,
  POLLIN,
  SHUT_WR,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_REUSEADDR,
} from '../sys/socket.js';
import {
  INADDR_ANY,
  sockaddr_in_decode,
  inet_ntoa,
  sockaddr_in_bytes as sin,
} from '../netinet/in.js';

const USAGE =
  'usage: nc [-dlnNuvz] [-p source_port] [-s source] [-w timeout]\n' + '\t  [destination] [port]\n';

/** The first IPv4 address of host (numeric, or a name in the jail's /etc/hosts). */
async function host_addr(ctx: ProcCtx, host: string, what: string): Promise<number | null> {
  const r = await getaddrinfo(ctx.libc, host, null, { ai_family: AF_INET });
  if ('error' in r) {
    await ctx.err(`nc: getaddrinfo${what}: ${gai_strerror(r.error)}\n`);
    return null;
  }
  return sockaddr_in_decode(r.res[0]!.ai_addr)!.sin_addr;
}

function parse_port(s: string): number | null {
  if (!/^\d+$/.test(s)) return null;
  const n = Number(s);
  return n >= 0 && n <= 65535 ? n : null;
}

interface NcOpts {
  udp: boolean;
  listen: boolean;
  verbose: boolean;
  zero: boolean;
  noStdin: boolean;
  shutdownOnEof: boolean;
  wait: number;
}

/** The copy loop: stdin → socket, socket → stdout. */
async function readwrite(
  ctx: ProcCtx,
  s: number,
  o: NcOpts,
  first: Uint8Array | null,
): Promise<number> {
  const c = ctx.libc;
  if (first !== null && !(await writeAll(c, 1, first))) return 1;
  let stdinOpen = !o.noStdin;
  const buf = new Uint8Array(65536);
  for (;;) {
    const fds = [{ fd: s, events: POLLIN, revents: 0 }];
    if (stdinOpen) fds.push({ fd: 0, events: POLLIN, revents: 0 });
    const n = await c.poll(fds, o.wait > 0 ? o.wait * 1000 : -1);
    if (n < 0) {
      await ctx.warn(`poll: ${c.strerror()}`);
      return 1;
    }
    if (n === 0) return 0; /* -w: idle */
    if (stdinOpen && fds[1]!.revents !== 0) {
      const r = await c.read(0, buf);
      if (r <= 0) {
        stdinOpen = false;
        if (o.shutdownOnEof) await c.shutdown(s, SHUT_WR);
      } else if ((await c.send(s, buf, r)) < 0) {
        await ctx.warn(`write: ${c.strerror()}`);
        return 1;
      }
    }
    if (fds[0]!.revents & (POLLIN | POLLHUP)) {
      const r = await c.recv(s, buf);
      if (r < 0) {
        /* An ICMP error on a connected UDP socket (ECONNREFUSED): go on, as nc does. */
        if (o.udp) continue;
        await ctx.warn(`read: ${c.strerror()}`);
        return 1;
      }
      if (r === 0 && !o.udp) return 0;
      if (!(await writeAll(c, 1, buf.subarray(0, r)))) return 1;
    }
  }
}

export const nc: Program = async (ctx) => {
  const c = ctx.libc;
  const o: NcOpts = {
    udp: false,
    listen: false,
    verbose: false,
    zero: false,
    noStdin: false,
    shutdownOnEof: false,
    wait: 0,
  };
  let sport = 0;
  let saddr = INADDR_ANY as number;
  const args: string[] = [];
  const argv = ctx.argv.slice(1);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a === '-') {
      args.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const ch = a[j]!;
      if (ch === 'u') o.udp = true;
      else if (ch === 'l') o.listen = true;
      else if (ch === 'v') o.verbose = true;
      else if (ch === 'z') o.zero = true;
      else if (ch === 'd') o.noStdin = true;
      else if (ch === 'N') o.shutdownOnEof = true;
      else if (ch === 'n' || ch === '4') continue;
      else if (ch === 'p' || ch === 's' || ch === 'w') {
        const v = a.slice(j + 1) || argv[++i];
        if (v === undefined) {
          await ctx.err(`nc: option requires an argument -- ${ch}\n${USAGE}`);
          return 1;
        }
        if (ch === 'p') {
          const p = parse_port(v);
          if (p === null) {
            await ctx.err(`nc: port number invalid: ${v}\n`);
            return 1;
          }
          sport = p;
        } else if (ch === 's') {
          const x = await host_addr(ctx, v, '');
          if (x === null) return 1;
          saddr = x;
        } else {
          const w = Number(v);
          if (!Number.isInteger(w) || w < 0) {
            await ctx.err(`nc: timeout invalid: ${v}\n`);
            return 1;
          }
          o.wait = w;
        }
        break;
      } else {
        await ctx.err(`nc: illegal option -- ${ch}\n${USAGE}`);
        return 1;
      }
    }
  }
  const type = o.udp ? SOCK_DGRAM : SOCK_STREAM;
  const pname = o.udp ? 'udp' : 'tcp';
  if (o.listen) {
    if (args.length < 1 || args.length > 2) {
      await ctx.err(USAGE);
      return 1;
    }
    const port = parse_port(args[args.length - 1]!);
    let addr = saddr;
    if (args.length === 2) {
      const x = await host_addr(ctx, args[0]!, '');
      if (x === null) return 1;
      addr = x;
    }
    if (port === null) {
      await ctx.err(`nc: port number invalid: ${args[args.length - 1]}\n`);
      return 1;
    }
    const s = await c.socket(AF_INET, type, 0);
    if (s < 0) {
      await ctx.warn(`socket: ${c.strerror()}`);
      return 1;
    }
    await c.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, 1);
    if ((await c.bind(s, sin(addr, port))) < 0) {
      await ctx.warn(`bind failed: ${c.strerror()}`);
      return 1;
    }
    if (o.udp) {
      const buf = new Uint8Array(65536);
      const from = new Uint8Array(16);
      if (o.verbose)
        await ctx.err(`Bound on ${addr === 0 ? '0.0.0.0' : inet_ntoa(addr)} ${port}\n`);
      const n = await c.recvfrom(s, buf, buf.length, 0, from, [16]);
      if (n < 0) {
        await ctx.warn(`recvfrom: ${c.strerror()}`);
        return 1;
      }
      const f = sockaddr_in_decode(from)!;
      if ((await c.connect(s, from)) < 0) {
        await ctx.warn(`connect: ${c.strerror()}`);
        return 1;
      }
      if (o.verbose)
        await ctx.err(`Connection received on ${inet_ntoa(f.sin_addr)} ${f.sin_port}\n`);
      return readwrite(ctx, s, o, buf.slice(0, n));
    }
    if ((await c.listen(s, 1)) < 0) {
      await ctx.warn(`listen: ${c.strerror()}`);
      return 1;
    }
    if (o.verbose)
      await ctx.err(`Listening on ${addr === 0 ? '0.0.0.0' : inet_ntoa(addr)} ${port}\n`);
    const from = new Uint8Array(16);
    const a = await c.accept(s, from, [16]);
    if (a < 0) {
      await ctx.warn(`accept: ${c.strerror()}`);
      return 1;
    }
    await c.close(s);
    if (o.verbose) {
      const f = sockaddr_in_decode(from)!;
      await ctx.err(`Connection received on ${inet_ntoa(f.sin_addr)} ${f.sin_port}\n`);
    }
    return readwrite(ctx, a, o, null);
  }
  if (args.length !== 2) {
    await ctx.err(USAGE);
    return 1;
  }
  const dst = await host_addr(ctx, args[0]!, ` for host "${args[0]}" port ${args[1]}`);
  if (dst === null) return 1;
  const port = parse_port(args[1]!);
  if (port === null) {
    await ctx.err(`nc: port number invalid: ${args[1]}\n`);
    return 1;
  }
  const s = await c.socket(AF_INET, type, 0);
  if (s < 0) {
    await ctx.warn(`socket: ${c.strerror()}`);
    return 1;
  }
  if (sport !== 0 || saddr !== INADDR_ANY) {
    await c.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, 1);
    if ((await c.bind(s, sin(saddr, sport))) < 0) {
      await ctx.warn(`bind failed: ${c.strerror()}`);
      return 1;
    }
  }
  if ((await c.connect(s, sin(dst, port))) < 0) {
    /* OpenBSD's remote_connect warns only with -v; the exit status says it anyway. */
    if (o.verbose)
      await ctx.err(`nc: connect to ${args[0]} port ${port} (${pname}) failed: ${c.strerror()}\n`);
    return 1;
  }
  if (o.verbose) await ctx.err(`Connection to ${args[0]} ${port} port [${pname}/*] succeeded!\n`);
  if (o.zero) return 0;
  return readwrite(ctx, s, o, null);
};
