// TCP input fuzz: mutated segments (flags, sequence numbers, data offsets, options —
// MSS, window scale, SACK-permitted, SACK blocks, timestamps — and lengths, mostly with
// a correct checksum so they reach the state machine) are injected on b's interface at
// an established connection, a listener and a closed port.  Invariants: nothing throws
// on the wire; every segment is counted in tcps_rcvtotal; afterwards a new connection
// still carries 256 KiB intact and, once everything is closed and TIME_WAIT has run
// out, no mbuf is left allocated.  Seeded (xorshift32).  bootVimage: both passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { bootVimage } from '../lib/kernel.js';
import { runIn } from '../lib/inet.js';
import { inv, ip, lab2, type Lab2 } from '../lib/inet_lab.js';
import type { Libc } from '../../src/lib/libc.js';
import { prison_find_name } from '../../src/kern/kern_jail.js';
import { AF_INET, SOCK_STREAM } from '../../src/sys/socket.js';
import { IPPROTO_TCP, sockaddr_in_bytes as sin } from '../../src/netinet/in.js';
import { in_cksum, in_cksum_l4 } from '../../src/netinet/in_cksum.js';
import { V_tcpstat, intotcpcb, type Tcpcb } from '../../src/netinet/tcp_var.js';
import { V_tcbinfo } from '../../src/netinet/tcp_subr.js';
import { ETHERTYPE_IP, ether_addr_write } from '../../src/net/ethernet.js';
import { nanosleep } from '../../src/lib/process.js';
import { xorshift32 } from '../lib/rng.js';

const A = ip('192.0.2.1');
const B = ip('192.0.2.2');

/** A TCP segment from A:sport to B:dport in an Ethernet frame for b. */
function frame(L: Lab2, tcp: Uint8Array, goodsum: boolean): Uint8Array {
  const ipl = 20 + tcp.length;
  const f = new Uint8Array(14 + ipl);
  ether_addr_write(f, 0, L.b.if_lladdr!);
  ether_addr_write(f, 6, L.a.if_lladdr!);
  f[12] = ETHERTYPE_IP >>> 8;
  f[13] = ETHERTYPE_IP & 0xff;
  const b = f.subarray(14);
  b[0] = 0x45;
  b[2] = ipl >>> 8;
  b[3] = ipl & 0xff;
  b[8] = 64;
  b[9] = IPPROTO_TCP;
  new DataView(b.buffer, b.byteOffset).setUint32(12, A);
  new DataView(b.buffer, b.byteOffset).setUint32(16, B);
  const s = in_cksum(b, 0, 20);
  b[10] = s >>> 8;
  b[11] = s & 0xff;
  b.set(tcp, 20);
  if (goodsum) {
    b[20 + 16] = b[20 + 17] = 0;
    const c = in_cksum_l4(b, 20, tcp.length, A, B, IPPROTO_TCP);
    b[20 + 16] = c >>> 8;
    b[20 + 17] = c & 0xff;
  }
  return f;
}

/** A plausible segment with options, then mutated. */
function segment(r: () => number, sport: number, dport: number, seq: number, ack: number) {
  const opts: number[] = [];
  const pick = r() % 6;
  if (pick === 0) opts.push(2, 4, 5, 0xb4, 3, 3, 7, 4, 2, 0, 1, 1); // MSS, WS, SACK-permitted
  if (pick === 1 || pick === 2) opts.push(1, 1, 8, 10, 0, 0, 1, 2, 0, 0, 0, 0); // TS
  if (pick === 2 || pick === 3) {
    const n = 1 + (r() % 4);
    opts.push(1, 1, 5, 2 + 8 * n);
    for (let i = 0; i < n; i++) {
      const s = (ack + (r() % 100000)) >>> 0;
      const e = (s + (r() % 20000)) >>> 0;
      opts.push(s >>> 24, (s >>> 16) & 0xff, (s >>> 8) & 0xff, s & 0xff);
      opts.push(e >>> 24, (e >>> 16) & 0xff, (e >>> 8) & 0xff, e & 0xff);
    }
  }
  if (pick === 4) for (let i = 0; i < 4 * (1 + (r() % 10)); i++) opts.push(r() & 0xff); // junk
  while (opts.length % 4) opts.push(0);
  const dlen = r() % 4 === 0 ? r() % 1500 : 0;
  const t = new Uint8Array(20 + opts.length + dlen);
  const dv = new DataView(t.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint32(4, (seq + (r() % 3 === 0 ? (r() % 200000) - 100000 : 0)) >>> 0);
  dv.setUint32(8, (ack + (r() % 3 === 0 ? (r() % 200000) - 100000 : 0)) >>> 0);
  t[12] = ((20 + opts.length) >>> 2) << 4;
  t[13] = r() & 0x3f;
  dv.setUint16(14, r() & 0xffff);
  t.set(opts, 20);
  for (let i = 20 + opts.length; i < t.length; i++) t[i] = r() & 0xff;
  // Mutations: bit flips and bytes anywhere in the header, the data offset now and then.
  for (let n = r() % 4; n > 0; n--) {
    const at = r() % Math.min(t.length, 20 + opts.length);
    t[at] = r() % 2 ? t[at]! ^ (1 << (r() % 8)) : r() & 0xff;
  }
  if (r() % 16 === 0) t[12] = (r() & 0xf) << 4;
  return r() % 16 === 0 ? t.subarray(0, r() % t.length) : t;
}

/** b's tcpcb of the fuzzed connection (7000 <- 40000), while it exists. */
function conn(L: Lab2): Tcpcb | null {
  return inv(L.k, L.vb, () => {
    for (const inp of V_tcbinfo().ipi_listhead)
      if (inp.inp_lport === 7000 && inp.inp_fport === 40000) return intotcpcb(inp);
    return null;
  });
}

async function transfer(L: Lab2, port: number, bytes: Uint8Array): Promise<string> {
  const { k } = L;
  let digest = '';
  await Promise.all([
    runIn(
      k,
      async (c: Libc) => {
        const l = await c.socket(AF_INET, SOCK_STREAM, 0);
        assert.equal(await c.bind(l, sin(0, port)), 0);
        assert.equal(await c.listen(l, 8), 0);
        const s = await c.accept(l, null, null);
        const h = createHash('sha256');
        const buf = new Uint8Array(65536);
        for (;;) {
          const n = await c.read(s, buf);
          if (n <= 0) break;
          h.update(buf.subarray(0, n));
        }
        digest = h.digest('hex');
        await c.close(s);
        await c.close(l);
      },
      prison_find_name(k, k.prison0, 'b')!,
    ),
    runIn(
      k,
      async (c: Libc) => {
        await nanosleep(c, 1e6);
        const s = await c.socket(AF_INET, SOCK_STREAM, 0);
        assert.equal(await c.connect(s, sin(B, port)), 0);
        let off = 0;
        while (off < bytes.length) off += await c.write(s, bytes.subarray(off));
        await c.close(s);
      },
      prison_find_name(k, k.prison0, 'a')!,
    ),
  ]);
  return digest;
}

test(
  'tcp_input fuzz: 4000 seeded segments; the stack stays sound and leaks nothing',
  { timeout: 120_000 },
  async () => {
    const L = lab2(bootVimage());
    const { k, vb } = L;
    // FUZZ_SEED=n explores other seeds (seed 14 found the ACK war below).
    const r = xorshift32(Number(process.env['FUZZ_SEED'] ?? 0x7cb1));
    const failures: string[] = [];
    let injected = 0;
    await k.run_until_idle(); // the lab's own traffic (announcements) settles first
    const t0 = inv(k, vb, () => V_tcpstat.fetchAll(vb));
    const inuse0 = k.mbpool.stats.inuse;
    // A listener on 7000 and an established connection 40000 -> 7000 that the fuzz hits.
    const server = runIn(
      k,
      async (c) => {
        const l = await c.socket(AF_INET, SOCK_STREAM, 0);
        assert.equal(await c.bind(l, sin(0, 7000)), 0);
        assert.equal(await c.listen(l, 8), 0);
        const s = await c.accept(l, null, null);
        const buf = new Uint8Array(65536);
        while ((await c.read(s, buf)) > 0);
        await c.close(s);
        await c.close(l);
      },
      prison_find_name(k, k.prison0, 'b')!,
    );
    const client = runIn(
      k,
      async (c) => {
        await nanosleep(c, 1e6);
        const s = await c.socket(AF_INET, SOCK_STREAM, 0);
        assert.equal(await c.bind(s, sin(0, 40000)), 0);
        assert.equal(await c.connect(s, sin(B, 7000)), 0);
        // The fuzzer runs while this connection is established.
        for (let round = 0; round < 40; round++) {
          for (let i = 0; i < 100; i++) {
            const which = r() % 4;
            const [sport, dport] =
              which < 2 ? [40000, 7000] : which === 2 ? [r() & 0xffff, 7000] : [40001, 9];
            // At the connection: its own sequence numbers (then mutated), so segments
            // reach the state machine rather than only the window checks.
            const tp = which < 2 ? conn(L) : null;
            const seq = tp !== null ? tp.rcv_nxt : r();
            const ack = tp !== null ? tp.snd_max : r();
            const t = segment(r, sport, dport, seq, ack);
            const f = frame(L, t, r() % 8 !== 0);
            injected++;
            try {
              inv(k, vb, () => L.b.if_input(L.b, k.mbpool.m_devget(f)!));
            } catch (e) {
              failures.push(`segment ${injected}: ${(e as Error).stack ?? String(e)}`);
            }
          }
          await nanosleep(c, 10e6);
        }
        await c.close(s);
      },
      prison_find_name(k, k.prison0, 'a')!,
    );
    await Promise.all([server, client]);
    assert.deepEqual(failures, []);
    const t1 = inv(k, vb, () => V_tcpstat.fetchAll(vb));
    assert.ok(
      t1['tcps_rcvtotal']! - t0['tcps_rcvtotal']! >= injected,
      `${t1['tcps_rcvtotal']! - t0['tcps_rcvtotal']!} counted of ${injected}`,
    );
    assert.ok(t1['tcps_rcvbadsum']! - t0['tcps_rcvbadsum']! > 0, 'bad checksums counted');
    // A new connection still carries data intact.
    const data = new Uint8Array(256 * 1024).map((_, i) => (i * 31) & 0xff);
    const want = createHash('sha256').update(data).digest('hex');
    assert.equal(await transfer(L, 7100, data), want);
    // Everything closed and TIME_WAIT over: every mbuf is back.
    await k.run_until_idle();
    assert.equal(k.mbpool.stats.inuse, inuse0, 'mbufs leaked');
  },
);

// Without the throttle the two stacks ACK each other forever at one instant of the
// virtual clock (the run never ends).
test(
  'a forged FIN puts the ends out of step: the ACK war that follows is throttled',
  { timeout: 60_000 },
  async () => {
    const L = lab2(bootVimage());
    const { k, va, vb } = L;
    let war = 0;
    await Promise.all([
      runIn(
        k,
        async (c) => {
          const l = await c.socket(AF_INET, SOCK_STREAM, 0);
          assert.equal(await c.bind(l, sin(0, 7000)), 0);
          assert.equal(await c.listen(l, 1), 0);
          const s = await c.accept(l, null, null);
          await nanosleep(c, 3000e6);
          await c.close(s);
          await c.close(l);
        },
        prison_find_name(k, k.prison0, 'b')!,
      ),
      runIn(
        k,
        async (c) => {
          await nanosleep(c, 1e6);
          const s = await c.socket(AF_INET, SOCK_STREAM, 0);
          assert.equal(await c.bind(s, sin(0, 40000)), 0);
          assert.equal(await c.connect(s, sin(B, 7000)), 0);
          // b takes a FIN a never sent: b's rcv_nxt is now past a's snd_max, so b's ACKs
          // acknowledge too much for a, and a's ACKs are duplicates for b.
          const tp = conn(L)!;
          const t = new Uint8Array(20);
          const dv = new DataView(t.buffer);
          dv.setUint16(0, 40000);
          dv.setUint16(2, 7000);
          dv.setUint32(4, tp.rcv_nxt);
          dv.setUint32(8, tp.snd_max);
          t[12] = 5 << 4;
          t[13] = 0x11; // FIN|ACK
          dv.setUint16(14, 65535);
          const a0 = inv(k, va, () => V_tcpstat.fetchAll(va))['tcps_rcvacktoomuch']!;
          inv(k, vb, () => L.b.if_input(L.b, k.mbpool.m_devget(frame(L, t, true))!));
          await nanosleep(c, 500e6);
          war = inv(k, va, () => V_tcpstat.fetchAll(va))['tcps_rcvacktoomuch']! - a0;
          await c.close(s);
        },
        prison_find_name(k, k.prison0, 'a')!,
      ),
    ]);
    // Some ACKs went back and forth, then a stopped answering (5 a second).
    assert.ok(war >= 1 && war <= 10, `${war} ACKs acknowledging too much`);
  },
);
