// Header prediction (tcp_input.ts, tcp_header_prediction: FreeBSD's fast path at the
// top of tcp_do_segment) between two vnets over an epair (lab2: a = 192.0.2.1, b =
// 192.0.2.2).  A paced one-way stream makes both kinds of predicted segment: b takes
// each data segment the fast way (tcps_preddat) and a each pure ACK that comes back with
// the window unchanged (tcps_predack); what the fast path leaves behind is what the
// slow path would (every byte delivered once, snd_una caught up, the retransmission
// timer stopped, an RTT measured).  Segments out of order, a window that changed, or an
// ACK with SACK blocks are not predicted and still arrive right.  bootVimage: both
// passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { tcp_stream } from '../../lib/inet.js';
import { delta, inv, ip, lab2, type Counters, type Lab2 } from '../../lib/inet_lab.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Vnet } from '../../../src/net/vnet.js';
import { prison_find_name } from '../../../src/kern/kern_jail.js';
import { TT_REXMT, V_tcpstat, intotcpcb, type Tcpcb } from '../../../src/netinet/tcp_var.js';
import { tcp_timer_active } from '../../../src/netinet/tcp_timer.js';
import { V_tcbinfo } from '../../../src/netinet/tcp_subr.js';
import { epair_set_impairment, type EpairImpairment } from '../../../src/net/if_epair.js';
import { nanosleep } from '../../../src/lib/process.js';

function tcpstat(k: Kernel, v: Vnet): Counters {
  return inv(k, v, () => V_tcpstat.fetchAll(v));
}

/** The tcpcb of the connection to or from `port` in vnet v (not a listener). */
function tcpcb(k: Kernel, v: Vnet, port: number): Tcpcb {
  const tp = inv(k, v, () => {
    for (const inp of V_tcbinfo().ipi_listhead)
      if ((inp.inp_lport === port || inp.inp_fport === port) && inp.inp_fport !== 0)
        return intotcpcb(inp);
    return null;
  });
  assert.ok(tp !== null, `a connection on port ${port}`);
  return tp;
}

interface Stream {
  da: Counters;
  db: Counters;
  /** What a's tcpcb looked like once everything written was acknowledged. */
  acked: { una_is_max: boolean; rexmt: boolean; srtt: number; sndbuf: number };
}

/**
 * `count` writes of `size` bytes from a to b, `gap_ns` apart (0: back to back), through
 * a's impairment; b reads until EOF and the bytes are compared.  Before closing, a waits
 * until everything is acknowledged and records its tcpcb.
 */
async function stream(
  L: Lab2,
  port: number,
  count: number,
  size: number,
  gap_ns: number,
  imp: EpairImpairment = {},
): Promise<Stream> {
  const { k, va, vb } = L;
  k.enter(() => epair_set_impairment(L.a, imp));
  const a0 = tcpstat(k, va);
  const b0 = tcpstat(k, vb);
  const total = count * size;
  let acked: Stream['acked'] | null = null;
  await tcp_stream(k, {
    from: prison_find_name(k, k.prison0, 'a')!,
    to: prison_find_name(k, k.prison0, 'b')!,
    dst: ip('192.0.2.2'),
    port,
    data: new Uint8Array(total).map((_, i) => (i * 13 + (i >> 9)) & 0xff),
    chunk: size,
    gap_ns,
    written: async (c) => {
      /* Everything acknowledged (the delayed ACK is 40 ms at most, retransmissions
       * included): the state the ACKs left behind. */
      const tp = tcpcb(k, va, port);
      for (let i = 0; i < 200 && tp.snd_una !== tp.snd_max; i++) await nanosleep(c, 50e6);
      const so = tp.t_inpcb.inp_socket!;
      acked = {
        una_is_max: tp.snd_una === tp.snd_max,
        rexmt: inv(k, va, () => tcp_timer_active(tp, TT_REXMT)),
        srtt: tp.t_srtt,
        sndbuf: so.so_snd.sb_ccc,
      };
    },
  });
  assert.ok(acked !== null);
  return { da: delta(a0, tcpstat(k, va)), db: delta(b0, tcpstat(k, vb)), acked };
}

const n = (c: Counters, f: string): number => c[f] ?? 0;

test('paced writes: every data segment and the ACKs that keep the window are predicted', async () => {
  const L = lab2(bootVimage());
  // 40 writes of 1000 bytes, 1 ms apart: b's reader empties its buffer between them.
  const r = await stream(L, 47200, 40, 1000, 1e6);
  assert.equal(n(r.db, 'tcps_rcvpack'), 40, 'one segment per write');
  assert.equal(n(r.db, 'tcps_rcvbyte'), 40_000);
  // b: every in-order data segment took the fast path (the FIN does not).
  assert.equal(n(r.db, 'tcps_preddat'), 40, 'all data segments predicted');
  // a: the ACKs for new data mostly come back with the window a already knows (those
  // sent before b's reader ran advertise less and go the slow way).
  const acks = n(r.da, 'tcps_rcvackpack');
  assert.ok(acks >= 20, `ACKs for data: ${acks}`);
  assert.ok(
    4 * n(r.da, 'tcps_predack') >= 3 * acks,
    `predicted ${n(r.da, 'tcps_predack')}/${acks}`,
  );
  assert.ok(n(r.da, 'tcps_predack') < acks, 'the handshake ACK is not predicted');
  assert.equal(n(r.da, 'tcps_rcvdupack'), 0);
  // The fast path's bookkeeping: all acknowledged, no timer left, buffer empty, RTT.
  assert.deepEqual(
    { ...r.acked, srtt: r.acked.srtt > 0 },
    { una_is_max: true, rexmt: false, srtt: true, sndbuf: 0 },
  );
  assert.equal(n(r.da, 'tcps_sndrexmitpack'), 0);
});

test('bulk: in-order data is predicted; the ACKs of a filling window are not', async () => {
  const L = lab2(bootVimage());
  // 1 MiB back to back: b's reader runs only when the netisr is idle, so its buffer
  // fills and every ACK advertises a different window (FreeBSD's test: tiwin == snd_wnd).
  const r = await stream(L, 47201, 16, 65536, 0);
  const segs = n(r.db, 'tcps_rcvpack');
  assert.equal(n(r.db, 'tcps_rcvbyte'), 1 << 20);
  assert.ok(n(r.db, 'tcps_preddat') > segs / 2, `predicted ${n(r.db, 'tcps_preddat')}/${segs}`);
  assert.ok(n(r.db, 'tcps_preddat') <= segs);
  assert.ok(n(r.da, 'tcps_predack') < n(r.da, 'tcps_rcvackpack'), 'window changes go slow');
  assert.deepEqual(
    { ...r.acked, srtt: r.acked.srtt > 0 },
    { una_is_max: true, rexmt: false, srtt: true, sndbuf: 0 },
  );
});

test('out of order: segments not at rcv_nxt take the slow path', async () => {
  const L = lab2(bootVimage());
  const r = await stream(L, 47202, 40, 1000, 1e6, { reorder: 0.2 });
  // A segment that arrives early is queued, not predicted; the one that fills the hole
  // arrives with the reassembly queue non-empty, so it is queued (and counted) too.
  // Every other data segment is predicted.
  const oo = n(r.db, 'tcps_rcvoopack');
  assert.ok(oo > 0, 'some segments arrived early');
  assert.equal(
    n(r.db, 'tcps_preddat') + oo,
    40,
    `${n(r.db, 'tcps_preddat')} predicted, ${oo} queued`,
  );
  assert.equal(r.acked.una_is_max, true);
  assert.equal(r.acked.rexmt, false);
});
