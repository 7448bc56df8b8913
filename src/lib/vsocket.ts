/*
 * lib/vsocket.ts — a promise-based socket API for programs that run in a jail.
 *
 * The BSD calls in libc return -1 and set errno, as C does; this is the friendlier
 * layer over exactly the same system calls: every failure is a SocketError whose `code`
 * is the errno name (ECONNREFUSED, EADDRINUSE, ...) and whose `syscall` names the call,
 * as Node's own errors do.  Addresses are objects ({ family: 'inet', address, port } or
 * { family: 'local', path }); data is a Uint8Array or a string (UTF-8).  An inet address
 * that is not numeric is a host name: bind, connect and sendto resolve it with
 * getaddrinfo (lib/netdb.ts: the jail's /etc/hosts), and a failed lookup is a
 * ResolveError (a SocketError whose code is the EAI_* name); resolve() does it alone.
 *
 *   const s = await VSocket.create(libc, 'inet', 'dgram');
 *   await s.bind({ family: 'inet', address: '0.0.0.0', port: 5353 });
 *   const { data, from } = await s.recvfrom(1500);
 *
 * Nothing here touches the kernel directly: userland reaches it only through libc.
 */

import type { Libc } from './libc.js';
import { errname, strerror } from '../sys/errno.js';
import {
  AF_INET,
  AF_UNIX,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOL_SOCKET,
  sockaddr_un_decode,
  sockaddr_un_encode,
} from '../sys/socket.js';
import {
  inet_aton,
  inet_ntoa,
  sockaddr_in,
  sockaddr_in_decode,
  sockaddr_in_encode,
  type in_addr_t,
} from '../netinet/in.js';
import { EAI_SYSTEM, eai_name, gai_strerror, getaddrinfo } from './netdb.js';

export type VAddr =
  { family: 'inet'; address: string; port: number } | { family: 'local'; path: string };
export type VFamily = 'inet' | 'local';
export type VType = 'stream' | 'dgram' | 'seqpacket' | 'raw';

/** A failed socket call: code is the errno name. */
export class SocketError extends Error {
  constructor(
    readonly errno: number,
    readonly syscall: string,
  ) {
    super(`${syscall}: ${strerror(errno)}`);
    this.name = 'SocketError';
  }
  get code(): string {
    return errname(this.errno);
  }
}

const FAMILIES: Readonly<Record<VFamily, number>> = { inet: AF_INET, local: AF_UNIX };
const TYPES: Readonly<Record<VType, number>> = {
  stream: SOCK_STREAM,
  dgram: SOCK_DGRAM,
  seqpacket: SOCK_SEQPACKET,
  raw: SOCK_RAW,
};

/** A failed name lookup: eai is the EAI_* code, code its name (errno only for EAI_SYSTEM). */
export class ResolveError extends SocketError {
  constructor(
    readonly eai: number,
    readonly host: string,
    errno = 0,
  ) {
    super(errno, 'getaddrinfo');
    this.name = 'ResolveError';
    this.message = `getaddrinfo ${host}: ${gai_strerror(eai)}`;
  }
  override get code(): string {
    return eai_name(this.eai);
  }
}

/**
 * The inet address object for host (dotted, or a name from the jail's /etc/hosts) and
 * port: the first IPv4 answer of getaddrinfo.  Throws ResolveError.
 */
export async function resolve(
  libc: Libc,
  host: string,
  port: number,
): Promise<{ family: 'inet'; address: string; port: number }> {
  const r = await getaddrinfo(libc, host, null, { ai_family: AF_INET });
  if ('error' in r) throw new ResolveError(r.error, host, r.error === EAI_SYSTEM ? libc.errno : 0);
  const sin = sockaddr_in_decode(r.res[0]!.ai_addr)!;
  return { family: 'inet', address: inet_ntoa(sin.sin_addr), port };
}

/** Encode an address object as sockaddr bytes (numeric inet addresses only). */
export function vaddr_encode(a: VAddr): Uint8Array {
  if (a.family === 'local') return sockaddr_un_encode(a.path);
  const ip = inet_aton(a.address);
  if (ip === null) throw new SocketError(22 /* EINVAL */, 'inet_aton');
  const b = new Uint8Array(16);
  sockaddr_in_encode(sockaddr_in(ip, a.port), b);
  return b;
}

/** Decode sockaddr bytes (the first len bytes) into an address object, or null. */
export function vaddr_decode(b: Uint8Array, len = b.length): VAddr | null {
  const v = b.subarray(0, len);
  if (v.length >= 2 && v[1] === AF_INET) {
    const s = sockaddr_in_decode(v);
    return s
      ? { family: 'inet', address: inet_ntoa(s.sin_addr as in_addr_t), port: s.sin_port }
      : null;
  }
  if (v.length >= 2 && v[1] === AF_UNIX) {
    const p = sockaddr_un_decode(v);
    return p === null ? null : { family: 'local', path: p };
  }
  return null;
}

const enc = new TextEncoder();
const bytesOf = (d: Uint8Array | string): Uint8Array => (typeof d === 'string' ? enc.encode(d) : d);

export class VSocket {
  private closed = false;
  private constructor(
    readonly libc: Libc,
    readonly fd: number,
  ) {}

  private check(r: number, call: string): number {
    if (r < 0) throw new SocketError(this.libc.errno, call);
    return r;
  }

  /** vaddr_encode, resolving an inet host name first. */
  private async sockaddr(a: VAddr): Promise<Uint8Array> {
    if (a.family === 'inet' && inet_aton(a.address) === null)
      return vaddr_encode(await resolve(this.libc, a.address, a.port));
    return vaddr_encode(a);
  }

  /** socket(2) */
  static async create(libc: Libc, family: VFamily, type: VType, protocol = 0): Promise<VSocket> {
    const fd = await libc.socket(FAMILIES[family], TYPES[type], protocol);
    if (fd < 0) throw new SocketError(libc.errno, 'socket');
    return new VSocket(libc, fd);
  }

  /** socketpair(2) (local domain). */
  static async pair(libc: Libc, type: VType = 'stream'): Promise<[VSocket, VSocket]> {
    const sv: [number, number] = [-1, -1];
    if ((await libc.socketpair(AF_UNIX, TYPES[type], 0, sv)) < 0)
      throw new SocketError(libc.errno, 'socketpair');
    return [new VSocket(libc, sv[0]), new VSocket(libc, sv[1])];
  }

  /** Create, then connect. */
  static async connect(libc: Libc, to: VAddr, type: VType = 'stream'): Promise<VSocket> {
    const s = await VSocket.create(libc, to.family, type);
    try {
      await s.connect(to);
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  /** Create, bind and listen. */
  static async listen(libc: Libc, at: VAddr, backlog = 128): Promise<VSocket> {
    const s = await VSocket.create(libc, at.family, 'stream');
    try {
      await s.bind(at);
      s.check(await libc.listen(s.fd, backlog), 'listen');
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  async bind(at: VAddr): Promise<void> {
    this.check(await this.libc.bind(this.fd, await this.sockaddr(at)), 'bind');
  }

  async connect(to: VAddr): Promise<void> {
    this.check(await this.libc.connect(this.fd, await this.sockaddr(to)), 'connect');
  }

  /** accept(2): the new connection and the peer's address. */
  async accept(): Promise<{ socket: VSocket; peer: VAddr | null }> {
    const a = new Uint8Array(128);
    const len: [number] = [128];
    const fd = this.check(await this.libc.accept(this.fd, a, len), 'accept');
    return { socket: new VSocket(this.libc, fd), peer: vaddr_decode(a, Math.min(len[0], 128)) };
  }

  /** send(2): the bytes sent. */
  async send(data: Uint8Array | string, flags = 0): Promise<number> {
    const b = bytesOf(data);
    return this.check(await this.libc.send(this.fd, b, b.length, flags), 'send');
  }

  /** Send everything (a stream write loop). */
  async sendAll(data: Uint8Array | string): Promise<void> {
    const b = bytesOf(data);
    for (let off = 0; off < b.length;) off += await this.send(b.subarray(off));
  }

  async sendto(data: Uint8Array | string, to: VAddr, flags = 0): Promise<number> {
    const b = bytesOf(data);
    const sa = await this.sockaddr(to);
    return this.check(await this.libc.sendto(this.fd, b, b.length, flags, sa), 'sendto');
  }

  /** recv(2): up to max bytes (an empty result is end of file on a stream). */
  async recv(max = 65536, flags = 0): Promise<Uint8Array> {
    const b = new Uint8Array(max);
    const n = this.check(await this.libc.recv(this.fd, b, max, flags), 'recv');
    return b.subarray(0, n);
  }

  /** recvfrom(2): the data and the sender's address. */
  async recvfrom(max = 65536, flags = 0): Promise<{ data: Uint8Array; from: VAddr | null }> {
    const b = new Uint8Array(max);
    const a = new Uint8Array(128);
    const len: [number] = [128];
    const n = this.check(await this.libc.recvfrom(this.fd, b, max, flags, a, len), 'recvfrom');
    return {
      data: b.subarray(0, n),
      from: len[0] > 0 ? vaddr_decode(a, Math.min(len[0], 128)) : null,
    };
  }

  /** Read until end of file (a stream). */
  async readAll(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const b = await this.recv(65536);
      if (b.length === 0) break;
      parts.push(b);
      total += b.length;
    }
    const out = new Uint8Array(total);
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }

  async shutdown(how: 'read' | 'write' | 'both' = 'write'): Promise<void> {
    this.check(
      await this.libc.shutdown(this.fd, how === 'read' ? 0 : how === 'write' ? 1 : 2),
      'shutdown',
    );
  }

  /** setsockopt(2) with an int value (level SOL_SOCKET by default). */
  async setsockopt(name: number, value: number, level = SOL_SOCKET): Promise<void> {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, value, true);
    this.check(await this.libc.setsockopt(this.fd, level, name, b), 'setsockopt');
  }

  async getsockopt(name: number, level = SOL_SOCKET): Promise<number> {
    const v = await this.libc.getsockopt_int(this.fd, level, name);
    if (v === null) throw new SocketError(this.libc.errno, 'getsockopt');
    return v;
  }

  async address(): Promise<VAddr | null> {
    const a = new Uint8Array(128);
    const len: [number] = [128];
    this.check(await this.libc.getsockname(this.fd, a, len), 'getsockname');
    return vaddr_decode(a, Math.min(len[0], 128));
  }

  async peer(): Promise<VAddr | null> {
    const a = new Uint8Array(128);
    const len: [number] = [128];
    this.check(await this.libc.getpeername(this.fd, a, len), 'getpeername');
    return vaddr_decode(a, Math.min(len[0], 128));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.check(await this.libc.close(this.fd), 'close');
  }
}
