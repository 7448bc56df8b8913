// close(2) with SO_LINGER and a non-zero linger time, as FreeBSD's soclose: the closing
// thread sleeps until the connection is no longer connected — its data and FIN
// acknowledged (FIN_WAIT_2) — or l_linger seconds have passed (EWOULDBLOCK; the
// connection goes on in FIN_WAIT_1 and the data still arrives), and never on a
// non-blocking socket.  Without SO_LINGER close returns at once.  l_linger out of
// FreeBSD's range is EDOM.  Two vnets over an epair with a 50 ms one-way delay (lab2:
// a = 192.0.2.1, b = 192.0.2.2); times are the virtual clock's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootVimage } from '../../lib/kernel.js';
import { runIn, sys } from '../../lib/inet.js';
import { pr, ip, lab2, type Lab2 } from '../../lib/inet_lab.js';
import type { Libc } from '../../../src/lib/libc.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import { AF_INET, SOCK_STREAM, SOL_SOCKET, SO_LINGER, SO_RCVBUF } from '../../../src/sys/socket.js';
import { sockaddr_in_bytes as sin } from '../../../src/netinet/in.js';
import { tcpstates, type Tcpcb } from '../../../src/netinet/tcp_var.js';
import { tcp_probe_state_change } from '../../../src/netinet/tcp_subr.js';
import { sdt_attach } from '../../../src/sys/sdt.js';
import { epair_set_impairment } from '../../../src/net/if_epair.js';
import { EAGAIN, EDOM } from '../../../src/sys/errno.js';
import { F_SETFL, O_NONBLOCK } from '../../../src/sys/fcntl.js';
import { nanosleep } from '../../../src/lib/process.js';

const MS = 1e6;
const PORT = 7100;

function lab(): Lab2 {
  const L = lab2(bootVimage());
  epair_set_impairment(L.a, { delay_ns: 50 * MS });
  epair_set_impairment(L.b, { delay_ns: 50 * MS });
  return L;
}

/** "STATE@ms" of every state change of the client's connection (local port 40000). */
function client_states(k: Kernel): string[] {
  const out: string[] = [];
  sdt_attach(k, tcp_probe_state_change, (tp, _from, to) => {
    if ((tp as Tcpcb).t_inpcb.inp_lport === 40000)
      out.push(`${tcpstates[to as number]}@${k.now() / MS}`);
  });
  return out;
}

function linger(onoff: number, secs: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setInt32(0, onoff, true);
  v.setInt32(4, secs, true);
  return b;
}

interface Run {
  /** close()'s result (-errno on failure) and when it was called and returned (ms). */
  close: number;
  called: number;
  returned: number;
  /** Bytes the server read before EOF. */
  got: number;
  states: string[];
}

/**
 * The client writes `bytes` and closes with SO_LINGER {onoff, secs} (nonblocking:
 * O_NONBLOCK first); the server (receive buffer rcvbuf) waits `stall` ms before it
 * reads everything.
 */
async function run(o: {
  onoff: number;
  secs: number;
  bytes: number;
  rcvbuf?: number;
  stall?: number;
  nonblocking?: boolean;
}): Promise<Run> {
  const L = lab();
  const { k } = L;
  const states = client_states(k);
  const r: Run = { close: NaN, called: NaN, returned: NaN, got: 0, states };
  let listening = false;
  await Promise.all([
    runIn(
      k,
      async (c: Libc) => {
        while (!listening) await nanosleep(c, MS);
        const s = await c.socket(AF_INET, SOCK_STREAM, 0);
        assert.equal(await c.bind(s, sin(0, 40000)), 0);
        assert.equal(await sys(c, c.connect(s, sin(ip('192.0.2.2'), PORT))), 0);
        assert.equal(await c.setsockopt(s, SOL_SOCKET, SO_LINGER, linger(o.onoff, o.secs)), 0);
        assert.equal(await c.write(s, new Uint8Array(o.bytes).fill(7), o.bytes), o.bytes);
        if (o.nonblocking) assert.equal(await c.fcntl(s, F_SETFL, O_NONBLOCK), 0);
        r.called = k.now() / MS;
        r.close = await sys(c, c.close(s));
        r.returned = k.now() / MS;
      },
      pr(k, 'a'),
    ),
    runIn(
      k,
      async (c: Libc) => {
        const l = await c.socket(AF_INET, SOCK_STREAM, 0);
        if (o.rcvbuf !== undefined) {
          const b = new Uint8Array(4);
          new DataView(b.buffer).setInt32(0, o.rcvbuf, true);
          assert.equal(await c.setsockopt(l, SOL_SOCKET, SO_RCVBUF, b), 0);
        }
        assert.equal(await c.bind(l, sin(0, PORT)), 0);
        assert.equal(await c.listen(l, 1), 0);
        listening = true;
        const s = await c.accept(l, null, null);
        if (o.stall !== undefined) await nanosleep(c, o.stall * MS);
        const buf = new Uint8Array(65536);
        for (;;) {
          const n = await sys(c, c.read(s, buf));
          assert.ok(n >= 0, `read: ${n}`);
          if (n === 0) break;
          r.got += n;
        }
        await c.close(s);
        await c.close(l);
      },
      pr(k, 'b'),
    ),
  ]);
  await k.run_until_idle();
  return r;
}

test('a lingering close returns when the data and the FIN are acknowledged', async () => {
  const r = await run({ onoff: 1, secs: 10, bytes: 100000 });
  assert.equal(r.close, 0);
  assert.equal(r.got, 100000);
  /* It slept until FIN_WAIT_2, which came at least one round trip (100 ms) later. */
  const fw2 = r.states.find((s) => s.startsWith('FIN_WAIT_2@'));
  assert.ok(fw2 !== undefined, r.states.join(' '));
  assert.equal(r.returned, Number(fw2.split('@')[1]), r.states.join(' '));
  assert.ok(r.returned - r.called >= 100, `${r.called} -> ${r.returned}`);
});

test('close returns at once without SO_LINGER, or on a non-blocking socket', async () => {
  for (const onoff of [0, 1]) {
    const r = await run({ onoff, secs: 10, bytes: 100000, nonblocking: onoff === 1 });
    assert.equal(r.close, 0);
    assert.equal(r.returned, r.called, onoff === 0 ? 'SO_LINGER off' : 'non-blocking socket');
    assert.equal(r.got, 100000, 'the data still arrives');
  }
});

test('a linger time that runs out: EWOULDBLOCK after l_linger seconds, the data still arrives', async () => {
  /* The server's 4 KiB window stays closed for 10 s: the FIN cannot be acknowledged. */
  const r = await run({ onoff: 1, secs: 2, bytes: 16384, rcvbuf: 4096, stall: 10000 });
  assert.equal(r.close, -EAGAIN);
  assert.equal(r.returned - r.called, 2000, 'exactly l_linger seconds');
  assert.equal(r.got, 16384);
  const at = (st: string): number =>
    Number(r.states.find((s) => s.startsWith(st + '@'))?.split('@')[1]);
  assert.ok(at('FIN_WAIT_1') <= r.called, r.states.join(' '));
  assert.ok(at('FIN_WAIT_2') > r.returned + 7000, 'the FIN went on after close returned');
});

test('SO_LINGER: l_linger outside 0..65535 is EDOM', async () => {
  const L = lab();
  await runIn(
    L.k,
    async (c: Libc) => {
      const s = await c.socket(AF_INET, SOCK_STREAM, 0);
      assert.equal(await sys(c, c.setsockopt(s, SOL_SOCKET, SO_LINGER, linger(1, -1))), -EDOM);
      assert.equal(await sys(c, c.setsockopt(s, SOL_SOCKET, SO_LINGER, linger(1, 65536))), -EDOM);
      assert.equal(await sys(c, c.setsockopt(s, SOL_SOCKET, SO_LINGER, linger(1, 65535))), 0);
      await c.close(s);
    },
    pr(L.k, 'a'),
  );
});
