/*
 * sbin/ifconfig.ts — ifconfig(8): configure network interface parameters.
 *
 * A userland program: everything goes through socket ioctls (SIOCGIFCONF to list the
 * interfaces and their addresses, SIOCGIFFLAGS/SIOCSIFFLAGS, SIOCGIFMTU/SIOCSIFMTU,
 * SIOCGIFMETRIC, SIOCGIFCAP/SIOCSIFCAP, SIOCIFCREATE2/SIOCIFDESTROY, SIOCSIFNAME,
 * SIOCSIFVNET/SIOCSIFRVNET, SIOCSIFLLADDR, SIOCAIFADDR/SIOCDIFADDR with struct in_aliasreq, SIOCGIFNETMASK /
 * SIOCGIFBRDADDR, SIOCSDRVSPEC for bridge members) on an AF_LOCAL datagram socket
 * (generic) or an AF_INET one (addresses), exactly as FreeBSD's ifconfig does, and
 * prints FreeBSD's format:
 *
 *   epair0a: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500
 *   	options=60000b<RXCSUM,TXCSUM,VLAN_MTU,RXCSUM_IPV6,TXCSUM_IPV6>
 *   	ether 02:f4:9a:1c:3e:0a
 *   	inet 192.0.2.1 netmask 0xffffff00 broadcast 192.0.2.255
 *   	media: Ethernet 10Gbase-T (10Gbase-T <full-duplex>)
 *   	status: active
 *
 * Usage: ifconfig [-a] [-l] | ifconfig IF [create|destroy] [params...] | ifconfig CLONER
 * create (prints the new name).  Parameters: up, down, mtu N, metric N, name NEW,
 * inet ADDR[/LEN] [netmask M] [broadcast B] [alias], -alias ADDR, delete, ether MAC /
 * lladdr MAC, [-]rxcsum, [-]txcsum, [-]rxcsum6, [-]txcsum6, [-]hwcsum, [-]vlanmtu
 * (SIOCGIFCAP, then SIOCSIFCAP with the bits the interface supports; `options=` shows
 * ifr_curcap), vnet JAIL, -vnet JAIL, addm IF, deletem IF, span IF, -span IF (a bridge
 * lists its members and span ports, BRDGGIFS, as "member: IF flags=3<LEARNING,DISCOVER>"
 * and "member: IF flags=8<SPAN>"; XXX: without the second line
 * of STP port details, as there is no STP); for vxlan(4): vxlanid N,
 * vxlanlocal ADDR, vxlanremote ADDR, vxlanlocalport P, vxlanremoteport P, vxlanlearn,
 * -vxlanlearn, vxlantimeout S, vxlanflush.
 */

import type { Program, ProcCtx } from '../lib/process.js';
import type { Libc } from '../lib/libc.js';
import {
  SIOCAIFADDR,
  SIOCDIFADDR,
  SIOCGIFBRDADDR,
  SIOCGIFCAP,
  SIOCGIFCONF,
  SIOCGIFMEDIA,
  SIOCGIFFLAGS,
  SIOCGIFMETRIC,
  SIOCGIFMTU,
  SIOCGIFNETMASK,
  SIOCIFCREATE2,
  SIOCIFDESTROY,
  SIOCSDRVSPEC,
  SIOCGDRVSPEC,
  SIOCSIFCAP,
  SIOCSIFFLAGS,
  SIOCSIFLLADDR,
  SIOCSIFMETRIC,
  SIOCSIFMTU,
  SIOCSIFNAME,
  SIOCSIFRVNET,
  SIOCSIFVNET,
} from '../sys/sockio.js';
import { AF_INET, AF_LINK, AF_LOCAL, SOCK_DGRAM } from '../sys/socket.js';
import {
  IFCAPBITS,
  IFCAP_HWCSUM,
  IFCAP_RXCSUM,
  IFCAP_RXCSUM_IPV6,
  IFCAP_TXCSUM,
  IFCAP_TXCSUM_IPV6,
  IFCAP_VLAN_MTU,
  IFF_BROADCAST,
  IFF_UP,
  IFT_BRIDGE,
  IFT_ETHER,
  if_flags_string,
} from '../net/if_var.js';
import { inet_aton, inet_ntoa, in_len2mask, type in_addr_t } from '../netinet/in.js';
import { ether_aton, ether_sprintf } from '../net/ethernet.js';
import { jail_getv } from '../lib/libjail.js';
import { IFM_ACTIVE, IFM_AVALID, ifmedia_string } from '../net/if_media.js';

const EX_USAGE = 64;
const IFNAMSIZ = 16;

/** The capability parameters (ifconfig.c's setifcap table): name, bit, on or off. */
const CAP_PARAMS: ReadonlyMap<string, number> = new Map([
  ['rxcsum', IFCAP_RXCSUM],
  ['-rxcsum', -IFCAP_RXCSUM],
  ['txcsum', IFCAP_TXCSUM],
  ['-txcsum', -IFCAP_TXCSUM],
  ['rxcsum6', IFCAP_RXCSUM_IPV6],
  ['-rxcsum6', -IFCAP_RXCSUM_IPV6],
  ['txcsum6', IFCAP_TXCSUM_IPV6],
  ['-txcsum6', -IFCAP_TXCSUM_IPV6],
  ['hwcsum', IFCAP_HWCSUM],
  ['-hwcsum', -IFCAP_HWCSUM],
  ['vlanmtu', IFCAP_VLAN_MTU],
  ['-vlanmtu', -IFCAP_VLAN_MTU],
]);

/** printb(): "8<VLAN_MTU>" — the value in hex, then the names of its set bits. */
function printb(v: number, names: readonly string[]): string {
  const set = names.filter((_, i) => v & (2 ** i));
  return `${(v >>> 0).toString(16)}<${set.join(',')}>`;
}

function setName(b: Uint8Array, name: string, off = 0): void {
  b.fill(0, off, off + IFNAMSIZ);
  for (let i = 0; i < Math.min(name.length, IFNAMSIZ - 1); i++) b[off + i] = name.charCodeAt(i);
}

function getName(b: Uint8Array, off = 0): string {
  let s = '';
  for (let i = off; i < off + IFNAMSIZ && b[i] !== 0; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function ifreq(name: string): Uint8Array {
  const b = new Uint8Array(32);
  setName(b, name);
  return b;
}

/** A sockaddr_in (16 bytes) for addr. */
function sin(addr: number): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = 16;
  b[1] = AF_INET;
  new DataView(b.buffer).setUint32(4, addr >>> 0);
  return b;
}

function sinAddr(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset).getUint32(off + 4);
}

interface IfInfo {
  name: string;
  type: number;
  lladdr: Uint8Array | null;
  inet: number[];
}

class Ifconfig {
  /** AF_LOCAL socket for generic ioctls, AF_INET for address ioctls (as FreeBSD's). */
  private s = -1;
  private si = -1;
  constructor(
    private readonly ctx: ProcCtx,
    private readonly libc: Libc,
  ) {}

  async open(): Promise<boolean> {
    this.s = await this.libc.socket(AF_LOCAL, SOCK_DGRAM, 0);
    if (this.s < 0) {
      await this.ctx.err(`ifconfig: socket: ${this.libc.strerror()}\n`);
      return false;
    }
    this.si = await this.libc.socket(AF_INET, SOCK_DGRAM, 0);
    if (this.si < 0) {
      await this.ctx.err(`ifconfig: socket: ${this.libc.strerror()}\n`);
      return false;
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.si !== this.s && this.si >= 0) await this.libc.close(this.si);
    if (this.s >= 0) await this.libc.close(this.s);
  }

  async ioctl(cmd: number, data: Uint8Array, inet = false): Promise<number> {
    return this.libc.ioctl(inet ? this.si : this.s, cmd, data);
  }

  async fail(what: string): Promise<number> {
    await this.ctx.err(`ifconfig: ${what}: ${this.libc.strerror()}\n`);
    return 1;
  }

  /** SIOCGIFCONF: interfaces in order with their link-level and IPv4 addresses. */
  async list(): Promise<IfInfo[] | null> {
    const libc = this.libc;
    let size = 4096;
    for (;;) {
      const ua = libc.malloc(size);
      if (ua === null) return null;
      const ifc = new Uint8Array(16);
      const dv = new DataView(ifc.buffer);
      dv.setInt32(0, size, true);
      dv.setUint32(8, ua.addr >>> 0, true);
      dv.setUint32(12, Math.floor(ua.addr / 4294967296), true);
      const r = await this.ioctl(SIOCGIFCONF, ifc);
      if (r < 0) {
        libc.free(ua.addr);
        return null;
      }
      const len = dv.getInt32(0, true);
      if (len + 256 >= size && size < 1 << 20) {
        libc.free(ua.addr);
        size *= 4;
        continue;
      }
      const buf = ua.buf.slice(0, len);
      libc.free(ua.addr);
      const out: IfInfo[] = [];
      let off = 0;
      while (off + 32 <= len) {
        const name = getName(buf, off);
        const salen = buf[off + 16]!;
        const fam = buf[off + 17]!;
        let info = out.find((x) => x.name === name);
        if (!info) out.push((info = { name, type: 0, lladdr: null, inet: [] }));
        if (fam === AF_LINK) {
          const nlen = buf[off + 16 + 5]!;
          const alen = buf[off + 16 + 6]!;
          info.type = buf[off + 16 + 4]!;
          if (alen > 0) info.lladdr = buf.slice(off + 16 + 8 + nlen, off + 16 + 8 + nlen + alen);
        } else if (fam === AF_INET) info.inet.push(sinAddr(buf, off + 16));
        off += 16 + Math.max(16, salen);
      }
      return out;
    }
  }

  async flags(name: string): Promise<number | null> {
    const r = ifreq(name);
    if ((await this.ioctl(SIOCGIFFLAGS, r)) < 0) return null;
    const dv = new DataView(r.buffer);
    return (dv.getUint16(16, true) | (dv.getUint16(18, true) << 16)) >>> 0;
  }

  async int(cmd: number, name: string): Promise<number | null> {
    const r = ifreq(name);
    if ((await this.ioctl(cmd, r)) < 0) return null;
    return new DataView(r.buffer).getInt32(16, true);
  }

  async inetParam(cmd: number, name: string, addr: number): Promise<number | null> {
    const r = ifreq(name);
    r.set(sin(addr), 16);
    if ((await this.ioctl(cmd, r, true)) < 0) return null;
    return sinAddr(r, 16);
  }

  async show(info: IfInfo): Promise<void> {
    const f = (await this.flags(info.name)) ?? 0;
    const metric = (await this.int(SIOCGIFMETRIC, info.name)) ?? 0;
    const mtu = (await this.int(SIOCGIFMTU, info.name)) ?? 0;
    let s = `${info.name}: ${if_flags_string(f)} metric ${metric} mtu ${mtu}\n`;
    const cap = await this.caps(info.name);
    if (cap !== null && cap.cur !== 0) s += `\toptions=${printb(cap.cur, IFCAPBITS)}\n`;
    if ((info.type === IFT_ETHER || info.type === IFT_BRIDGE) && info.lladdr?.length === 6)
      s += `\tether ${ether_sprintf(ether_from(info.lladdr))}\n`;
    if (info.name.startsWith('vxlan')) {
      const c = new Uint8Array(76);
      if ((await this.vxlanCmd(info.name, 0, c, true)) >= 0) {
        const cd = new DataView(c.buffer);
        const ip = (at: number): string => inet_ntoa(cd.getUint32(at + 4) as in_addr_t);
        s += `\tvxlan vni ${cd.getUint32(4, true)} local ${ip(32)}:${cd.getUint16(16, true)} remote ${ip(60)}:${cd.getUint16(18, true)}\n`;
      }
    }
    if (info.type === IFT_BRIDGE)
      for (const m of await this.bridgeMembers(info.name))
        s += `\tmember: ${m.name} flags=${m.flags.toString(16)}<${IFBIF_NAMES.filter(
          ([b]) => m.flags & b,
        )
          .map(([, n]) => n)
          .join(',')}>\n`;
    for (const a of info.inet) {
      const mask = (await this.inetParam(SIOCGIFNETMASK, info.name, a)) ?? 0;
      s += `\tinet ${inet_ntoa(a as in_addr_t)} netmask 0x${(mask >>> 0).toString(16).padStart(8, '0')}`;
      if (f & IFF_BROADCAST) {
        const b = await this.inetParam(SIOCGIFBRDADDR, info.name, a);
        if (b !== null && b !== 0) s += ` broadcast ${inet_ntoa(b as in_addr_t)}`;
      }
      s += '\n';
    }
    /* SIOCGIFMEDIA (ifconfig's media_status): what is selected, what is active if that
     * differs, and the link status; interfaces without media say nothing. */
    const med = await this.media(info.name);
    if (med !== null) {
      s += `\tmedia: ${ifmedia_string(med.current, true)}`;
      if (med.active !== med.current) s += ` (${ifmedia_string(med.active, false)})`;
      s += '\n';
      if (med.status & IFM_AVALID)
        s += `\tstatus: ${med.status & IFM_ACTIVE ? 'active' : 'no carrier'}\n`;
    }
    await this.ctx.out(s);
  }

  /** SIOCGIFMEDIA with no list: the selected word, the active one and the status. */
  async media(name: string): Promise<{ current: number; active: number; status: number } | null> {
    const r = new Uint8Array(48);
    setName(r, name);
    if ((await this.ioctl(SIOCGIFMEDIA, r)) < 0) return null;
    const dv = new DataView(r.buffer);
    return {
      current: dv.getInt32(16, true),
      status: dv.getInt32(24, true),
      active: dv.getInt32(28, true),
    };
  }

  /** SIOCGIFCAP: what the interface can do (ifr_reqcap) and what is on (ifr_curcap). */
  async caps(name: string): Promise<{ req: number; cur: number } | null> {
    const r = ifreq(name);
    if ((await this.ioctl(SIOCGIFCAP, r)) < 0) return null;
    const dv = new DataView(r.buffer);
    return { req: dv.getInt32(16, true) >>> 0, cur: dv.getInt32(20, true) >>> 0 };
  }

  /**
   * setifcap: turn capability bits on (value > 0) or off (< 0), limited to what the
   * interface supports; no ioctl when nothing changes.
   */
  async setcap(name: string, what: string, value: number): Promise<number> {
    const c = await this.caps(name);
    if (c === null) return this.fail('ioctl (SIOCGIFCAP)');
    let flags = value < 0 ? c.cur & ~-value : c.cur | value;
    flags = (flags & c.req) >>> 0;
    if (flags === c.cur) return 0;
    const r = ifreq(name);
    new DataView(r.buffer).setInt32(16, flags | 0, true);
    if ((await this.ioctl(SIOCSIFCAP, r)) < 0) return this.fail(what);
    return 0;
  }

  async setflag(name: string, on: number, off: number): Promise<number> {
    const r = ifreq(name);
    if ((await this.ioctl(SIOCGIFFLAGS, r)) < 0) return this.fail(`ioctl (SIOCGIFFLAGS)`);
    const dv = new DataView(r.buffer);
    let f = (dv.getUint16(16, true) | (dv.getUint16(18, true) << 16)) >>> 0;
    f = ((f | on) & ~off) >>> 0;
    dv.setUint16(16, f & 0xffff, true);
    dv.setUint16(18, f >>> 16, true);
    if ((await this.ioctl(SIOCSIFFLAGS, r)) < 0) return this.fail(`ioctl (SIOCSIFFLAGS)`);
    return 0;
  }

  async jid(j: string): Promise<number | null> {
    if (/^[0-9]+$/.test(j)) return Number(j);
    const r = await jail_getv(this.libc, ['name', j], ['jid']);
    if (r.jid < 0) {
      /* libjail's jail_errmsg for a name that is not there (FreeBSD's wording). */
      await this.ctx.err(`ifconfig: jail "${j}" not found\n`);
      return null;
    }
    return r.jid;
  }

  /** Apply the parameters to one interface; returns the exit status. */
  async configure(name: string, args: string[]): Promise<number> {
    let i = 0;
    let cur = name;
    const next = async (what: string): Promise<string | null> => {
      const v = args[++i];
      if (v === undefined) {
        await this.ctx.err(`ifconfig: ${what}: missing argument\n`);
        return null;
      }
      return v;
    };
    let addr: number | null = null;
    let plen = -1;
    let mask: number | null = null;
    let brd: number | null = null;
    let alias = false;
    for (; i < args.length; i++) {
      const a = args[i]!;
      switch (a) {
        case 'up':
          if (await this.setflag(cur, IFF_UP, 0)) return 1;
          break;
        case 'down':
          if (await this.setflag(cur, 0, IFF_UP)) return 1;
          break;
        case 'mtu':
        case 'metric': {
          const v = await next(a);
          if (v === null) return EX_USAGE;
          const n = Number(v);
          if (!Number.isInteger(n)) {
            await this.ctx.err(`ifconfig: ${a} ${v}: invalid value\n`);
            return 1;
          }
          const r = ifreq(cur);
          new DataView(r.buffer).setInt32(16, n, true);
          if ((await this.ioctl(a === 'mtu' ? SIOCSIFMTU : SIOCSIFMETRIC, r)) < 0)
            return this.fail(`ioctl SIOC${a === 'mtu' ? 'SIFMTU' : 'SIFMETRIC'} (set ${a})`);
          break;
        }
        case 'name': {
          const v = await next(a);
          if (v === null) return EX_USAGE;
          const ua = this.libc.malloc(IFNAMSIZ);
          if (ua === null) return this.fail('malloc');
          setName(ua.buf, v);
          const r = ifreq(cur);
          const dv = new DataView(r.buffer);
          dv.setUint32(16, ua.addr >>> 0, true);
          dv.setUint32(20, Math.floor(ua.addr / 4294967296), true);
          const e = await this.ioctl(SIOCSIFNAME, r);
          this.libc.free(ua.addr);
          if (e < 0) return this.fail('ioctl SIOCSIFNAME (set name)');
          cur = v;
          break;
        }
        case 'vnet':
        case '-vnet': {
          const v = await next(a);
          if (v === null) return EX_USAGE;
          const jid = await this.jid(v);
          if (jid === null) return 1;
          const r = ifreq(cur);
          new DataView(r.buffer).setInt32(16, jid, true);
          /* FreeBSD's words: "SIOCSIFVNET", "SIOCSIFRVNET(jid, name)". */
          if ((await this.ioctl(a === 'vnet' ? SIOCSIFVNET : SIOCSIFRVNET, r)) < 0)
            return this.fail(a === 'vnet' ? 'SIOCSIFVNET' : `SIOCSIFRVNET(${jid}, ${cur})`);
          break;
        }
        case 'ether':
        case 'lladdr':
        case 'link': {
          const v = await next(a);
          if (v === null) return EX_USAGE;
          const mac = ether_aton(v);
          if (mac === null) {
            await this.ctx.err(`ifconfig: malformed link-level address\n`);
            return 1;
          }
          const r = ifreq(cur);
          r[16] = 6;
          r[17] = AF_LINK;
          r.set(ether_bytes(mac), 18);
          if ((await this.ioctl(SIOCSIFLLADDR, r)) < 0) return this.fail('ioctl (SIOCSIFLLADDR)');
          break;
        }
        case 'inet':
          break;
        case 'netmask': {
          const v = await next(a);
          if (v === null) return EX_USAGE;
          const m = v.startsWith('0x') ? Number.parseInt(v.slice(2), 16) : inet_aton(v);
          if (m === null || Number.isNaN(m)) {
            await this.ctx.err(`ifconfig: ${v}: bad value\n`);
            return 1;
          }
          mask = m >>> 0;
          break;
        }
        case 'broadcast': {
          const v = await next(a);
          if (v === null) return EX_USAGE;
          brd = inet_aton(v);
          break;
        }
        case 'alias':
        case 'add':
          alias = true;
          break;
        case '-alias':
        case 'delete': {
          /* The address given before it ("inet 192.0.2.5 -alias", FreeBSD's form), or
           * the one that follows ("-alias 192.0.2.5"). */
          let target = addr;
          const after = args[i + 1];
          if (after !== undefined && inet_aton(after.replace(/\/.*/, '')) !== null) {
            const v = await next(a);
            if (v === null) return EX_USAGE;
            target = inet_aton(v.replace(/\/.*/, ''));
          }
          if (target === null) {
            await this.ctx.err(`ifconfig: ${a}: no address given\n`);
            return 1;
          }
          const r = ifreq(cur);
          r.set(sin(target), 16);
          if ((await this.ioctl(SIOCDIFADDR, r, true)) < 0) return this.fail('ioctl (SIOCDIFADDR)');
          addr = null;
          break;
        }
        case 'vxlanid':
        case 'vxlanlocal':
        case 'vxlanremote':
        case 'vxlanlocalport':
        case 'vxlanremoteport':
        case 'vxlantimeout': {
          const v = await next(a);
          if (v === null) return EX_USAGE;
          const c = new Uint8Array(76);
          const cd = new DataView(c.buffer);
          let cmd: number;
          if (a === 'vxlanlocal' || a === 'vxlanremote') {
            const ip = inet_aton(v);
            if (ip === null) {
              await this.ctx.err(`ifconfig: invalid ${a} address: ${v}\n`);
              return 1;
            }
            c[32] = 16;
            c[33] = AF_INET;
            cd.setUint32(36, ip);
            cmd = a === 'vxlanlocal' ? 2 : 4;
          } else {
            const n = Number(v);
            if (!Number.isInteger(n) || n < 0) {
              await this.ctx.err(`ifconfig: invalid ${a}: ${v}\n`);
              return 1;
            }
            if (a === 'vxlanid') {
              cd.setUint32(4, n, true);
              cmd = 1;
            } else if (a === 'vxlantimeout') {
              cd.setUint32(8, n, true);
              cmd = 8;
            } else {
              cd.setUint16(16, n, true);
              cmd = a === 'vxlanlocalport' ? 5 : 6;
            }
          }
          if ((await this.vxlanCmd(cur, cmd, c)) < 0) return this.fail(`VXLAN ${a} ${v}`);
          break;
        }
        case 'vxlanlearn':
        case '-vxlanlearn': {
          const c = new Uint8Array(76);
          new DataView(c.buffer).setUint32(0, a === 'vxlanlearn' ? 2 : 0, true);
          if ((await this.vxlanCmd(cur, 12, c)) < 0) return this.fail(`VXLAN ${a}`);
          break;
        }
        case 'vxlanflush': {
          if ((await this.vxlanCmd(cur, 15, new Uint8Array(76))) < 0)
            return this.fail('VXLAN flush');
          break;
        }
        case 'addm':
        case 'deletem':
        case 'span':
        case '-span': {
          const v = await next(a);
          if (v === null) return EX_USAGE;
          /* BRDGADD 0, BRDGDEL 1, BRDGADDS 23, BRDGDELS 24 */
          const [cmd, what] =
            a === 'addm'
              ? [0, 'ADD']
              : a === 'deletem'
                ? [1, 'DEL']
                : a === 'span'
                  ? [23, 'ADDS']
                  : [24, 'DELS'];
          if ((await this.bridgeMember(cur, v, cmd)) < 0) return this.fail(`BRDG${what} ${v}`);
          break;
        }
        default: {
          const capv = CAP_PARAMS.get(a);
          if (capv !== undefined) {
            if (await this.setcap(cur, a, capv)) return 1;
            break;
          }
          const m = /^([0-9.]+)(?:\/([0-9]+))?$/.exec(a);
          const ip = m ? inet_aton(m[1]!) : null;
          if (!m || ip === null) {
            await this.ctx.err(`ifconfig: ${a}: bad value\n`);
            return 1;
          }
          addr = ip;
          if (m[2] !== undefined) {
            plen = Number(m[2]);
            if (plen > 32) {
              await this.ctx.err(`ifconfig: ${a}: bad value\n`);
              return 1;
            }
          }
        }
      }
    }
    if (addr !== null) {
      const f = (await this.flags(cur)) ?? 0;
      const m = mask ?? (plen >= 0 ? in_len2mask(plen) : classful(addr));
      const req = new Uint8Array(68);
      setName(req, cur);
      req.set(sin(addr), 16);
      if (f & IFF_BROADCAST) req.set(sin(brd ?? ((addr & m) | ~m) >>> 0), 32);
      req.set(sin(m), 48);
      req[48 + 1] = AF_INET;
      if ((await this.ioctl(SIOCAIFADDR, req, true)) < 0) return this.fail('ioctl (SIOCAIFADDR)');
      void alias;
    }
    return 0;
  }

  /** SIOCSDRVSPEC/SIOCGDRVSPEC with struct ifdrv around a struct ifvxlancmd (76 bytes). */
  async vxlanCmd(name: string, cmd: number, arg: Uint8Array, get = false): Promise<number> {
    const libc = this.libc;
    const ua = libc.malloc(76);
    if (ua === null) return -1;
    ua.buf.set(arg.subarray(0, 76));
    const d = new Uint8Array(40);
    setName(d, name);
    const dv = new DataView(d.buffer);
    dv.setUint32(16, cmd, true);
    dv.setUint32(24, 76, true);
    dv.setUint32(32, ua.addr >>> 0, true);
    dv.setUint32(36, Math.floor(ua.addr / 4294967296), true);
    const r = await this.ioctl(get ? SIOCGDRVSPEC : SIOCSDRVSPEC, d);
    if (get && r >= 0) arg.set(ua.buf.subarray(0, 76));
    libc.free(ua.addr);
    return r;
  }

  /** BRDGGIFS: the bridge's members with their flags (struct ifbreq each). */
  async bridgeMembers(bridge: string): Promise<{ name: string; flags: number }[]> {
    const libc = this.libc;
    const n = 64;
    const ua = libc.malloc(n * 80);
    if (ua === null) return [];
    try {
      const c = new Uint8Array(16);
      const cd = new DataView(c.buffer);
      cd.setUint32(0, n * 80, true);
      cd.setUint32(8, ua.addr >>> 0, true);
      cd.setUint32(12, Math.floor(ua.addr / 4294967296), true);
      const d = new Uint8Array(40);
      setName(d, bridge);
      const dv = new DataView(d.buffer);
      dv.setUint32(16, 6, true); // BRDGGIFS
      dv.setUint32(24, 16, true);
      const uc = libc.malloc(16);
      if (uc === null) return [];
      uc.buf.set(c);
      dv.setUint32(32, uc.addr >>> 0, true);
      dv.setUint32(36, Math.floor(uc.addr / 4294967296), true);
      const r = await this.ioctl(SIOCGDRVSPEC, d);
      const len = new DataView(uc.buf.buffer, uc.buf.byteOffset, 16).getUint32(0, true);
      libc.free(uc.addr);
      if (r < 0) return [];
      const out: { name: string; flags: number }[] = [];
      const b = ua.buf;
      const bv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let o = 0; o + 80 <= len; o += 80)
        out.push({ name: getName(b, o), flags: bv.getUint32(o + 16, true) });
      return out;
    } finally {
      libc.free(ua.addr);
    }
  }

  /** addm/deletem/span/-span: SIOCSDRVSPEC with struct ifdrv and struct ifbreq (80 bytes). */
  async bridgeMember(bridge: string, member: string, cmd: number): Promise<number> {
    const libc = this.libc;
    const ua = libc.malloc(80);
    if (ua === null) return -1;
    setName(ua.buf, member);
    const d = new Uint8Array(40);
    setName(d, bridge);
    const dv = new DataView(d.buffer);
    dv.setUint32(16, cmd, true);
    dv.setUint32(24, 80, true);
    dv.setUint32(32, ua.addr >>> 0, true);
    dv.setUint32(36, Math.floor(ua.addr / 4294967296), true);
    const r = await this.ioctl(SIOCSDRVSPEC, d);
    libc.free(ua.addr);
    return r;
  }
}

/* Member flags (net/if_bridgevar.h IFBIF_*), as ifconfig's IFBIFBITS names them. */
const IFBIF_NAMES: readonly (readonly [number, string])[] = [
  [0x1, 'LEARNING'],
  [0x2, 'DISCOVER'],
  [0x4, 'STP'],
  [0x8, 'SPAN'],
  [0x10, 'STICKY'],
  [0x20, 'BSTP_EDGE'],
  [0x40, 'BSTP_AUTOEDGE'],
  [0x80, 'BSTP_PTP'],
  [0x100, 'BSTP_AUTOPTP'],
  [0x200, 'BSTP_ADMEDGE'],
  [0x400, 'BSTP_ADMCOST'],
  [0x800, 'PRIVATE'],
];

function classful(a: number): number {
  if ((a & 0x80000000) === 0) return 0xff000000;
  if ((a & 0xc0000000) >>> 0 === 0x80000000) return 0xffff0000;
  return 0xffffff00;
}

function ether_from(b: Uint8Array): ReturnType<typeof ether_aton> & number {
  let v = 0;
  for (let i = 0; i < 6; i++) v = v * 256 + b[i]!;
  return v as ReturnType<typeof ether_aton> & number;
}

function ether_bytes(a: number): Uint8Array {
  const b = new Uint8Array(6);
  let v = a;
  for (let i = 5; i >= 0; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return b;
}

export const ifconfig: Program = async (ctx) => {
  const libc = ctx.libc;
  const ifc = new Ifconfig(ctx, libc);
  if (!(await ifc.open())) return 1;
  try {
    const argv = ctx.argv.slice(1);
    if (argv.length === 0 || argv[0] === '-a') {
      const l = await ifc.list();
      if (l === null) return await ifc.fail('SIOCGIFCONF');
      for (const info of l) await ifc.show(info);
      return 0;
    }
    if (argv[0] === '-l') {
      const l = await ifc.list();
      if (l === null) return await ifc.fail('SIOCGIFCONF');
      await ctx.out(l.map((x) => x.name).join(' ') + '\n');
      return 0;
    }
    if (argv[0]!.startsWith('-')) {
      await ctx.err(
        `usage: ifconfig [-a] [-l] | ifconfig interface [create|destroy] [parameters]\n`,
      );
      return EX_USAGE;
    }
    const name = argv[0]!;
    if (argv[1] === 'create') {
      const r = ifreq(name);
      if ((await ifc.ioctl(SIOCIFCREATE2, r)) < 0)
        return await ifc.fail('SIOCIFCREATE2 (' + name + ')');
      const nn = getName(r);
      // FreeBSD prints the new name when the cloner chose the unit (or renamed it).
      if (nn !== name) await ctx.out(`${nn}\n`);
      return argv.length > 2 ? await ifc.configure(nn, argv.slice(2)) : 0;
    }
    if (argv[1] === 'destroy') {
      if ((await ifc.ioctl(SIOCIFDESTROY, ifreq(name))) < 0) return await ifc.fail('SIOCIFDESTROY');
      return 0;
    }
    if (argv.length === 1) {
      const l = await ifc.list();
      const info = l?.find((x) => x.name === name);
      if (!info) {
        await ctx.err(`ifconfig: interface ${name} does not exist\n`);
        return 1;
      }
      await ifc.show(info);
      return 0;
    }
    // -vnet names an interface in the jail, not here.
    const exists = argv.includes('-vnet') ? 0 : await ifc.flags(name);
    if (exists === null) {
      await ctx.err(`ifconfig: interface ${name} does not exist\n`);
      return 1;
    }
    return await ifc.configure(name, argv.slice(1));
  } finally {
    await ifc.close();
  }
};
