// Send buffer autotuning (net.inet.tcp.sendbuf_auto, FreeBSD's tcp_sndbuf_autoscale):
// the send buffer grows by sendbuf_inc while it is 7/8 full, the congestion and peer
// windows can take what is not yet sent, and the peer's window is above the buffer
// (snd_wnd / 4 * 5 >= hiwat).  Against a receiver with autosizing on (its window grows
// to megabytes) the sender's buffer grows far past its 32 KiB start; against a receiver
// fixed at 64 KiB (SO_RCVBUF turns its autosizing off) it grows only while 64 KiB / 4 * 5
// = 80 KiB >= its size, so it stops at 88 KiB; with net.inet.tcp.sendbuf_auto=0 it stays
// at 32 KiB.
// Runs on both kernels (lo0 in one stack).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../../lib/kernel.js';
import { tcp_stream } from '../../lib/inet.js';
import { addaddr, inv, ip } from '../../lib/inet_lab.js';
import { V_loif } from '../../../src/net/if_loop.js';
import { SOL_SOCKET, SO_RCVBUF, SO_SNDBUF } from '../../../src/sys/socket.js';
import {
  V_tcp_autosndbuf_inc,
  V_tcp_do_autosndbuf,
  V_tcp_sendspace,
} from '../../../src/netinet/tcp_var.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import type { Libc } from '../../../src/lib/libc.js';

const LO = ip('127.0.0.1');

async function sndbuf(c: Libc, s: number): Promise<number> {
  const v = new Uint8Array(4);
  const len: [number] = [4];
  assert.equal(await c.getsockopt(s, SOL_SOCKET, SO_SNDBUF, v, len), 0);
  return new DataView(v.buffer).getInt32(0, true);
}

/** 4 MiB over lo0; the sender's SO_SNDBUF after the last write. */
async function run(k: Kernel, port: number, rcvbuf: number | null): Promise<number> {
  let hiwat = -1;
  await tcp_stream(k, {
    from: k.prison0,
    to: k.prison0,
    dst: LO,
    port,
    data: new Uint8Array(4 << 20).map((_, i) => i & 0xff),
    accepted: async (c, s) => {
      if (rcvbuf !== null) assert.equal(await c.setsockopt(s, SOL_SOCKET, SO_RCVBUF, rcvbuf), 0);
    },
    written: async (c, s) => {
      hiwat = await sndbuf(c, s);
    },
  });
  await k.run_for(120);
  return hiwat;
}

test('the send buffer grows with the peer window, and no further than it allows', async () => {
  const k = bootTest();
  inv(k, k.vnet0, () => addaddr(V_loif.get()!, '127.0.0.1/8'));
  const start = inv(k, k.vnet0, () => V_tcp_sendspace.get());
  const inc = inv(k, k.vnet0, () => V_tcp_autosndbuf_inc.get());
  assert.equal(start, 32768);
  assert.equal(inc, 8192);
  const big = await run(k, 7301, null);
  assert.ok(big >= 512 * 1024, `grown against an autosizing receiver (${big})`);
  /* A 64 KiB peer window: 80 KiB is the last size with 64 KiB / 4 * 5 >= hiwat, and it
   * grows once more from there. */
  const capped = await run(k, 7302, 65536);
  assert.equal(capped, 88 * 1024, 'stopped by the peer window');
  inv(k, k.vnet0, () => V_tcp_do_autosndbuf.set(0));
  assert.equal(await run(k, 7303, null), start, 'net.inet.tcp.sendbuf_auto=0');
});
