// TCP (netinet/tcp_*.ts) between two vnets over an epair (lab2: a = 192.0.2.1,
// b = 192.0.2.2).  bootVimage: runs in both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { runIn, send_tcp_raw, sys, type RawTcpSeg } from '../../lib/inet.js';
import { pr, delta, inv, ip, lab2, type Counters } from '../../lib/inet_lab.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import { VNET_MAGIC_DEAD, type Vnet } from '../../../src/net/vnet.js';
import { Libc } from '../../../src/lib/libc.js';
import { proc_create } from '../../../src/kern/kern_proc.js';
import { kern_jail_remove } from '../../../src/kern/kern_jail.js';
import {
  AF_INET,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_RCVBUF,
} from '../../../src/sys/socket.js';
import { IPPROTO_TCP, sockaddr_in_bytes as sin } from '../../../src/netinet/in.js';
import {
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  V_tcpstat,
  intotcpcb,
  tcpstates,
} from '../../../src/netinet/tcp_var.js';
import {
  V_syncache_bucketlimit,
  V_syncache_cachelimit,
} from '../../../src/netinet/tcp_syncache.js';
import { epair_set_impairment } from '../../../src/net/if_epair.js';
import { V_tcbinfo } from '../../../src/netinet/tcp_subr.js';
import {
  ECONNREFUSED,
  ECONNRESET,
  EISCONN,
  ENOTCONN,
  EPIPE,
  ETIMEDOUT,
} from '../../../src/sys/errno.js';
import { bpf_capture_pcapng, bpf_capture_set } from '../../../src/net/bpf.js';
import { ether_sprintf } from '../../../src/net/ethernet.js';
import { eth_src_filter, tshark_lint } from '../../lib/tshark.js';
import { nanosleep } from '../../../src/lib/process.js';
import { so_globals } from '../../../src/kern/uipc_sockbuf.js';

function tcpstat(k: Kernel, v: Vnet): Counters {
  return inv(k, v, () => V_tcpstat.fetchAll(v));
}

async function readAll(c: Libc, s: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await c.read(s, buf);
    assert.ok(n >= 0, `read: ${c.errno}`);
    if (n === 0) break;
    chunks.push(buf.slice(0, n));
  }
  return Buffer.concat(chunks);
}

test('a connection, 100 kB each way, orderly close', async () => {
  const L = lab2(bootVimage());
  const { k, va, vb } = L;
  const data = new Uint8Array(100000).map((_, i) => (i * 13) & 0xff);
  const sa0 = tcpstat(k, va);
  let got: Uint8Array | null = null;
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await sys(c, c.bind(l, sin(0, 8080))), 0);
      assert.equal(await sys(c, c.listen(l, 5)), 0);
      const s = await c.accept(l, null, null);
      assert.ok(s >= 0, `accept ${c.errno}`);
      got = await readAll(c, s);
      let off = 0;
      while (off < data.length) {
        const n = await c.write(s, data.subarray(off));
        assert.ok(n > 0);
        off += n;
      }
      await c.close(s);
      await c.close(l);
    },
    pr(k, 'b'),
  );
  let back: Uint8Array | null = null;
  const client = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await sys(c, c.connect(s, sin(ip('192.0.2.2'), 8080))), 0);
      let off = 0;
      while (off < data.length) {
        const n = await c.write(s, data.subarray(off));
        assert.ok(n > 0, `write ${c.errno}`);
        off += n;
      }
      assert.equal(await c.shutdown(s, 1), 0);
      back = await readAll(c, s);
      await c.close(s);
    },
    pr(k, 'a'),
  );
  await Promise.all([server, client]);
  assert.equal(Buffer.compare(got!, data), 0);
  assert.equal(Buffer.compare(back!, data), 0);
  const d = delta(sa0, tcpstat(k, va));
  assert.equal(d['tcps_connects'], 1);
  void vb;
});

/** The TCP pcbs of vnet v: "lport>fport STATE", oldest first. */
function states(k: Kernel, v: Vnet): string[] {
  return inv(k, v, () =>
    [...V_tcbinfo().ipi_listhead].map((inp) => {
      const tp = intotcpcb(inp);
      return `${inp.inp_lport}>${inp.inp_fport} ${tp === null ? '-' : tcpstates[tp.t_state]}`;
    }),
  );
}

test('the handshake on the wire: FreeBSD option order, tshark-clean, no retransmissions', async () => {
  const L = lab2(bootVimage());
  const { k } = L;
  const cap = bpf_capture_pcapng(k);
  const frames: Uint8Array[] = [];
  // One side of the link only: each frame once.
  bpf_capture_set(k, (ifp, dlt, data, wirelen) => {
    if (ifp !== L.a) return;
    cap.tap(ifp, dlt, data, wirelen);
    frames.push(data.slice());
  });
  const data = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      await c.bind(l, sin(0, 47001));
      await c.listen(l, 1);
      const s = await c.accept(l, null, null);
      assert.equal((await readAll(c, s)).length, data.length);
      await c.close(s);
    },
    pr(k, 'b'),
  );
  const client = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.connect(s, sin(ip('192.0.2.2'), 47001)), 0);
      let off = 0;
      while (off < data.length) off += await c.write(s, data.subarray(off));
      await c.close(s);
    },
    pr(k, 'a'),
  );
  await Promise.all([server, client]);
  const pcap = cap.stop();
  // The SYN: MSS 1460, NOP, WS 6, SACK permitted, timestamps (FreeBSD's tcp_addoptions).
  const syn = frames.find((f) => f[12] === 0x08 && f[23] === 6 && f[14 + 20 + 13] === 0x02)!;
  assert.ok(syn, 'a SYN went out');
  const th = 14 + 20;
  assert.equal(syn[th + 12]! >> 4, 10, '40 bytes of header');
  assert.deepEqual([...syn.subarray(th + 20, th + 32)], [2, 4, 5, 180, 1, 3, 3, 6, 4, 2, 8, 10]);
  const macs = [L.a, L.b].map((i) => ether_sprintf(i.if_lladdr!));
  tshark_lint(pcap, eth_src_filter(macs), 'ip.src==192.0.2.1 || ip.src==192.0.2.2');
});

test('states: FIN_WAIT_2/CLOSE_WAIT, LAST_ACK, TIME_WAIT for 2*MSL, then gone', async () => {
  const L = lab2(bootVimage());
  const { k, va, vb } = L;
  const seen: Record<string, string[]> = {};
  let srvSock = -1;
  let srvLibc: Libc | null = null;
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      await c.bind(l, sin(0, 7001));
      await c.listen(l, 1);
      srvSock = await c.accept(l, null, null);
      srvLibc = c;
      await c.close(l);
      // Wait for the client's FIN (read returns 0), then look.
      assert.equal(await c.read(srvSock, new Uint8Array(8)), 0);
      seen['after-client-fin'] = [...states(k, va), ...states(k, vb)];
      await nanosleep(c, 1e9);
      await c.close(srvSock);
    },
    pr(k, 'b'),
  );
  const client = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      await c.bind(s, sin(0, 40000));
      assert.equal(await c.connect(s, sin(ip('192.0.2.2'), 7001)), 0);
      seen['established'] = [...states(k, va), ...states(k, vb)];
      await c.close(s);
      await nanosleep(c, 2e9);
      seen['after-server-close'] = [...states(k, va), ...states(k, vb)];
    },
    pr(k, 'a'),
  );
  await Promise.all([server, client]);
  void srvLibc;
  assert.deepEqual(seen['established'], [
    '40000>7001 ESTABLISHED',
    '7001>0 LISTEN',
    '7001>40000 ESTABLISHED',
  ]);
  assert.deepEqual(seen['after-client-fin'], ['40000>7001 FIN_WAIT_2', '7001>40000 CLOSE_WAIT']);
  assert.deepEqual(seen['after-server-close'], ['40000>7001 TIME_WAIT']);
  // run_until_idle ran the 2*MSL timer: nothing is left.
  assert.deepEqual([...states(k, va), ...states(k, vb)], []);
  assert.equal(so_globals(k).numopensockets, 0);
});

test('connection refused, reset by SO_LINGER 0, and RST rules (RFC 5961 challenge ACK)', async () => {
  const L = lab2(bootVimage());
  const { k, va, vb } = L;
  const b0 = tcpstat(k, vb);
  const r = await runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      return sys(c, c.connect(s, sin(ip('192.0.2.2'), 9)));
    },
    pr(k, 'a'),
  );
  assert.equal(r, -ECONNREFUSED);
  // The server aborts with SO_LINGER {1, 0}: the client's read sees ECONNRESET.  Before
  // that, an RST inside the window but not at rcv_nxt only gets a challenge ACK.
  let clientRead = 0;
  let stateAfterRst = '';
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      await c.bind(l, sin(0, 7002));
      await c.listen(l, 1);
      const s = await c.accept(l, null, null);
      await nanosleep(c, 1e9);
      stateAfterRst = states(k, vb).join(',');
      const lg = new Uint8Array(8);
      lg[0] = 1;
      assert.equal(await c.setsockopt(s, SOL_SOCKET, SO_LINGER, lg), 0);
      await c.close(s);
    },
    pr(k, 'b'),
  );
  const client = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      await c.bind(s, sin(0, 7003));
      assert.equal(await c.connect(s, sin(ip('192.0.2.2'), 7002)), 0);
      clientRead = await sys(c, c.read(s, new Uint8Array(8)));
    },
    pr(k, 'a'),
  );
  const injector = runIn(
    k,
    async (c) => {
      await nanosleep(c, 5e8);
      const inp = [...inv(k, vb, () => V_tcbinfo().ipi_listhead)].find(
        (i) => i.inp_lport === 7002 && i.inp_fport === 7003,
      )!;
      await inject_rst(c, 7003, intotcpcb(inp)!.rcv_nxt + 100);
    },
    pr(k, 'a'),
  );
  await Promise.all([server, client, injector]);
  assert.equal(stateAfterRst, '7002>0 LISTEN,7002>7003 ESTABLISHED', 'no reset');
  assert.equal(clientRead, -ECONNRESET);
  const d = delta(b0, tcpstat(k, vb));
  assert.equal(d['tcps_challenge_acks'], 1);
  assert.equal(d['tcps_badrst'], 1);
  assert.equal(d['tcps_drops'], 1);
  void va;
});

/** An RST from 192.0.2.1:sport to 192.0.2.2:7002 with sequence number seq (raw socket in va). */
async function inject_rst(c: Libc, sport: number, seq: number): Promise<void> {
  await inject(c, sport, 7002, seq, 0, 0x04);
}

/** A bare segment from src:sport (192.0.2.1) to 192.0.2.2:dport through a raw socket. */
async function inject(
  c: Libc,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  src: number = ip('192.0.2.1'),
): Promise<void> {
  await send_tcp_raw(c, { src, sport, dst: ip('192.0.2.2'), dport, seq, ack, flags });
}

test('simultaneous open (SYN_SENT -> SYN_RCVD) and simultaneous close (CLOSING)', async () => {
  const L = lab2(bootVimage());
  const { k, va, vb } = L;
  const seen: string[] = [];
  const side = (me: string, myport: number, peer: string, peerport: number) => async (c: Libc) => {
    const s = await c.socket(AF_INET, SOCK_STREAM, 0);
    assert.equal(await c.bind(s, sin(0, myport)), 0);
    assert.equal(await sys(c, c.connect(s, sin(ip(peer), peerport))), 0, `${me} connect`);
    assert.equal(await c.write(s, new TextEncoder().encode(me)), me.length);
    const buf = new Uint8Array(8);
    const n = await c.read(s, buf);
    seen.push(`${me} got ${new TextDecoder().decode(buf.subarray(0, n))}`);
    await nanosleep(c, 1e8);
    await c.shutdown(s, 1);
    assert.equal(await c.read(s, buf), 0);
    await c.close(s);
  };
  // 10 ms of delay each way: both connect(2)s run before either SYN arrives.
  k.enter(() => {
    epair_set_impairment(L.a, { delay_ns: 10e6 });
    epair_set_impairment(L.b, { delay_ns: 10e6 });
  });
  const b0 = tcpstat(k, vb);
  await Promise.all([
    runIn(k, side('a', 6001, '192.0.2.2', 6002), pr(k, 'a')),
    runIn(k, side('b', 6002, '192.0.2.1', 6001), pr(k, 'b')),
  ]);
  assert.deepEqual(seen.sort(), ['a got b', 'b got a']);
  const d = delta(b0, tcpstat(k, vb));
  assert.equal(d['tcps_connattempt'], 1);
  assert.equal(d['tcps_connects'], 1);
  assert.equal(d['tcps_accepts'] ?? 0, 0, 'no listener was involved');
  assert.deepEqual([...states(k, va), ...states(k, vb)], [], 'both TIME_WAITs ran out');
  void va;
});

test('zero window: persist probes until the reader drains, then the data flows', async () => {
  const L = lab2(bootVimage());
  const { k, va } = L;
  const total = 300000;
  const a0 = tcpstat(k, va);
  let got = 0;
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      await c.setsockopt(l, SOL_SOCKET, SO_RCVBUF, 16384);
      await c.bind(l, sin(0, 7004));
      await c.listen(l, 1);
      const s = await c.accept(l, null, null);
      await nanosleep(c, 30e9); // do not read for 30 s: the window closes
      got = (await readAll(c, s)).length;
    },
    pr(k, 'b'),
  );
  const client = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.connect(s, sin(ip('192.0.2.2'), 7004)), 0);
      const d = new Uint8Array(total);
      let off = 0;
      while (off < total) off += await c.write(s, d.subarray(off));
      await c.close(s);
    },
    pr(k, 'a'),
  );
  await Promise.all([server, client]);
  assert.equal(got, total);
  const d = delta(a0, tcpstat(k, va));
  assert.ok((d['tcps_sndprobe'] ?? 0) >= 2, `window probes: ${d['tcps_sndprobe']}`);
  assert.ok((d['tcps_persisttimeo'] ?? 0) >= 2);
});

test('keepalive: an unanswering peer is dropped with ETIMEDOUT after keepidle + keepcnt * keepintvl', async () => {
  const L = lab2(bootVimage());
  const { k, va } = L;
  const a0 = tcpstat(k, va);
  let err = 0;
  let at = 0;
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      await c.bind(l, sin(0, 7005));
      await c.listen(l, 1);
      const s = await c.accept(l, null, null);
      // The peer vanishes: everything b sends from now on is lost.
      k.enter(() => epair_set_impairment(L.b, { loss: 1 }));
      await nanosleep(c, 600e9);
      await c.close(s);
    },
    pr(k, 'b'),
  );
  const client = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
      assert.equal(await c.setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, 10), 0);
      assert.equal(await c.setsockopt(s, IPPROTO_TCP, TCP_KEEPINTVL, 2), 0);
      assert.equal(await c.setsockopt(s, IPPROTO_TCP, TCP_KEEPCNT, 3), 0);
      assert.equal(await c.connect(s, sin(ip('192.0.2.2'), 7005)), 0);
      const t0 = k.now();
      err = await sys(c, c.read(s, new Uint8Array(8)));
      at = Math.round((k.now() - t0) / 1e9);
      await c.close(s);
    },
    pr(k, 'a'),
  );
  await Promise.all([server, client]);
  assert.equal(err, -ETIMEDOUT);
  assert.equal(at, 16, 'keepidle 10 s + 3 probes 2 s apart');
  const d = delta(a0, tcpstat(k, va));
  assert.equal(d['tcps_keepdrops'], 1);
  assert.equal(d['tcps_keepprobe'], 3);
});

test('SYN flood: syncache buckets overflow into SYN cookies; a real client still connects', async () => {
  const L = lab2(bootVimage());
  const { k, vb } = L;
  inv(k, vb, () => {
    V_syncache_bucketlimit.set(2);
    V_syncache_cachelimit.set(8);
  });
  const b0 = tcpstat(k, vb);
  let accepted = '';
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      await c.bind(l, sin(0, 7006));
      await c.listen(l, 128);
      const s = await c.accept(l, null, null);
      const buf = new Uint8Array(16);
      const n = await c.read(s, buf);
      accepted = new TextDecoder().decode(buf.subarray(0, n));
      await c.close(s);
      await c.close(l);
    },
    pr(k, 'b'),
  );
  const client = runIn(
    k,
    async (c) => {
      // 200 SYNs spoofed from 192.0.2.100-139, hosts that do not exist: nobody answers
      // the SYN-ACKs, so the entries stay; once the limits are hit, cookies need none.
      for (let p = 0; p < 200; p++)
        await inject(c, 20000 + p, 7006, 1000 + p, 0, 0x02, ip('192.0.2.100') + (p % 40));
      // Then a real client.
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await sys(c, c.connect(s, sin(ip('192.0.2.2'), 7006))), 0);
      assert.equal(await c.write(s, new TextEncoder().encode('hello')), 5);
      await c.close(s);
    },
    pr(k, 'a'),
  );
  await Promise.all([server, client]);
  assert.equal(accepted, 'hello');
  const d = delta(b0, tcpstat(k, vb));
  const cookies = d['tcps_sc_sendcookie'] ?? 0;
  assert.equal((d['tcps_sc_added'] ?? 0) + cookies, 201, 'every SYN got an entry or a cookie');
  assert.ok(cookies >= 192, `cookies sent: ${cookies}`);
  assert.equal((d['tcps_sc_bucketoverflow'] ?? 0) + (d['tcps_sc_cacheoverflow'] ?? 0), cookies);
  assert.equal(d['tcps_accepts'], 1);
});

test('broadcast and multicast: a listener takes no such SYN, and none is reset (RFC 1122)', async () => {
  const L = lab2(bootVimage());
  const { k, vb } = L;
  const A = ip('192.0.2.1');
  const B = ip('192.0.2.2');
  /* b listens on *:7010 for a virtual second while a sends segs; b's counters after. */
  const phase = async (segs: RawTcpSeg[]): Promise<Counters> => {
    proc_create(k, 'listener', { cr_uid: 0, cr_prison: pr(k, 'b') }, async (td) => {
      const c = new Libc(k, td);
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.bind(l, sin(0, 7010)), 0);
      assert.equal(await c.listen(l, 8), 0);
      await nanosleep(c, 1e9);
      await c.close(l);
      return 0;
    });
    await k.run_for(0.001);
    const b0 = tcpstat(k, vb);
    await runIn(
      k,
      async (c) => {
        for (const g of segs) await send_tcp_raw(c, g, { broadcast: true });
      },
      pr(k, 'a'),
    );
    return delta(b0, tcpstat(k, vb));
  };
  const seg = (src: number, dst: number, dport: number, flags: number): RawTcpSeg => ({
    src,
    sport: 4444,
    dst,
    dport,
    seq: 1000,
    ack: flags & 0x10 ? 2000 : 0,
    flags,
  });
  const d = await phase([
    seg(A, ip('192.0.2.255'), 7010, 0x02), // SYN to the subnet's broadcast address
    seg(ip('224.0.0.9'), B, 7010, 0x02), // from a multicast source
    seg(ip('255.255.255.255'), B, 7010, 0x02), // from the broadcast address
    seg(A, ip('192.0.2.255'), 7011, 0x10), // an ACK to a closed port, broadcast
    seg(ip('224.0.0.9'), B, 7011, 0x10), // the same from a multicast source
  ]);
  assert.equal(d['tcps_rcvtotal'], 5, 'every segment reached TCP');
  assert.equal(d['tcps_sc_added'], undefined, 'no syncache entry');
  assert.equal(d['tcps_sndtotal'], undefined, 'no SYN-ACK and no RST');
  /* The same SYN and ACK from a unicast address are answered (SYN-ACK, RST). */
  const u = await phase([seg(A, B, 7010, 0x02), seg(A, B, 7011, 0x10)]);
  assert.equal(u['tcps_sc_added'], 1);
  assert.ok((u['tcps_sndtotal'] ?? 0) >= 2, `sent ${u['tcps_sndtotal']}`);
});

test('SACK on the wire: 2 MB with 3% loss, every segment from our stack tshark-clean', async () => {
  const L = lab2(bootVimage());
  const { k, va } = L;
  k.enter(() => {
    epair_set_impairment(L.a, { loss: 0.03 });
    epair_set_impairment(L.b, { loss: 0.03 });
  });
  const cap = bpf_capture_pcapng(k);
  const sacks: number[] = [];
  bpf_capture_set(k, (ifp, dlt, data, wirelen) => {
    if (ifp !== L.b) return;
    cap.tap(ifp, dlt, data, wirelen);
    // ACKs from b carrying a SACK option (kind 5) after NOP NOP TS NOP NOP.
    if (data[23] === 6 && data[34 + 12]! >> 4 > 8 && data[34 + 20 + 14] === 5)
      sacks.push(data.length);
  });
  const a0 = tcpstat(k, va);
  const total = 2 << 20;
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      await c.bind(l, sin(0, 47002));
      await c.listen(l, 1);
      const s = await c.accept(l, null, null);
      assert.equal((await readAll(c, s)).length, total);
      await c.close(s);
    },
    pr(k, 'b'),
  );
  const client = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      await nanosleep(c, 1e6);
      assert.equal(await c.connect(s, sin(ip('192.0.2.2'), 47002)), 0);
      const d = new Uint8Array(total);
      let off = 0;
      while (off < total) off += await c.write(s, d.subarray(off));
      await c.close(s);
    },
    pr(k, 'a'),
  );
  await Promise.all([server, client]);
  assert.ok(sacks.length > 0, 'b reported SACK blocks');
  assert.ok((delta(a0, tcpstat(k, va))['tcps_sack_recovery_episode'] ?? 0) > 0);
  const macs = [L.a, L.b].map((i) => ether_sprintf(i.if_lladdr!));
  tshark_lint(cap.stop(), eth_src_filter(macs));
});

test('jail removal: its connections are reset and its vnet goes, TIME_WAIT and all', async () => {
  const L = lab2(bootVimage());
  const { k, vb } = L;
  const pb = pr(k, 'b');
  let clientRead = 0;
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      await c.bind(l, sin(0, 7010));
      await c.listen(l, 4);
      await c.accept(l, null, null);
      // A second, closed connection leaves a TIME_WAIT pcb in b's vnet.
      const t = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.connect(t, sin(ip('192.0.2.1'), 7011)), 0);
      await c.close(t);
      await nanosleep(c, 3600e9);
    },
    pb,
  );
  const client = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      await c.bind(l, sin(0, 7011));
      await c.listen(l, 4);
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await c.connect(s, sin(ip('192.0.2.2'), 7010)), 0);
      const a = await c.accept(l, null, null);
      assert.equal(await c.read(a, new Uint8Array(4)), 0, 'b closed it');
      await c.close(a);
      await nanosleep(c, 1e9);
      assert.ok(
        states(k, vb).some((x) => x.endsWith('TIME_WAIT')),
        'TIME_WAIT in b',
      );
      assert.equal(
        k.enter(() => kern_jail_remove(k, k.prison0, pb.pr_id)),
        0,
      );
      clientRead = await sys(c, c.read(s, new Uint8Array(4)));
      await c.close(s);
      await c.close(l);
    },
    pr(k, 'a'),
  );
  await client;
  await server.catch(() => undefined); // killed by the removal
  assert.equal(clientRead, -ECONNRESET);
  assert.equal(vb.vnet_magic_n, VNET_MAGIC_DEAD, 'the vnet is destroyed');
});

test('data for a socket its user closed is answered with RST; writes then fail with EPIPE', async () => {
  const L = lab2(bootVimage());
  const { k, vb } = L;
  const b0 = tcpstat(k, vb);
  const res: number[] = [];
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      await c.bind(l, sin(0, 7012));
      await c.listen(l, 1);
      const s = await c.accept(l, null, null);
      await c.close(s);
      await c.close(l);
    },
    pr(k, 'b'),
  );
  const client = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      await nanosleep(c, 1e6);
      assert.equal(await c.connect(s, sin(ip('192.0.2.2'), 7012)), 0);
      res.push(await c.read(s, new Uint8Array(4)));
      for (let i = 0; i < 3; i++) {
        res.push(await sys(c, c.write(s, new Uint8Array(1000))));
        await nanosleep(c, 50e6);
      }
      // As in FreeBSD, sosend reports EPIPE (CANTSENDMORE) first; the reset is so_error.
      res.push(await sys(c, c.read(s, new Uint8Array(4))));
      await c.close(s);
    },
    pr(k, 'a'),
  );
  await Promise.all([server, client]);
  assert.deepEqual(res, [0, 1000, -EPIPE, -EPIPE, -ECONNRESET]);
  assert.equal(delta(b0, tcpstat(k, vb))['tcps_rcvafterclose'], 1);
});

test('tcp_implied_connect: sendto with an address on an unconnected TCP socket connects and sends', async () => {
  const L = lab2(bootVimage());
  const { k } = L;
  let got = '';
  const server = runIn(
    k,
    async (c) => {
      const l = await c.socket(AF_INET, SOCK_STREAM, 0);
      await c.bind(l, sin(0, 7013));
      await c.listen(l, 1);
      const s = await c.accept(l, null, null);
      got = new TextDecoder().decode(await readAll(c, s));
      await c.close(s);
    },
    pr(k, 'b'),
  );
  const out: number[] = [];
  const client = runIn(
    k,
    async (c) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      await nanosleep(c, 1e6);
      const d = new TextEncoder().encode('implied');
      out.push(await sys(c, c.sendto(s, d, d.length, 0, sin(ip('192.0.2.2'), 7013))));
      // Still SYN_SENT: a plain send is ENOTCONN, as FreeBSD's sosend says.
      out.push(await sys(c, c.send(s, d)));
      await nanosleep(c, 10e6);
      // Connected now: another address is EISCONN, no address is fine.
      out.push(await sys(c, c.sendto(s, d, d.length, 0, sin(ip('192.0.2.2'), 7014))));
      out.push(await sys(c, c.send(s, new TextEncoder().encode('!'))));
      await c.close(s);
    },
    pr(k, 'a'),
  );
  await Promise.all([server, client]);
  assert.deepEqual(out, [7, -ENOTCONN, -EISCONN, 1]);
  assert.equal(got, 'implied!');
});
