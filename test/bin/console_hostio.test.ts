// The batch console on the real clock: a command waiting for the host's network is not a
// deadlock.  With nothing runnable and no callout pending, a kernel on the virtual clock
// can never move again, but one on the real clock with a vxlan(4) endpoint open can be
// woken by a datagram from the host; shell_batch must wait for it (and still call the
// run a deadlock when no such endpoint is open).  Host traffic on loopback only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { boot } from '../../src/kern/boot.js';
import { TEST_KERNCONF } from '../lib/kernel.js';
import { shell_batch } from '../../src/bin/console.js';

/** A bound loopback UDP socket on a port the host picked. */
async function udp(): Promise<{ s: Socket; port: number }> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return { s, port: s.address().port };
}

test(
  'a shell waiting on a vxlan endpoint is woken by the host, not called deadlocked',
  { timeout: 60_000 },
  async () => {
    const k = boot({ kernconf: TEST_KERNCONF, clock: 'real' });
    const peer = await udp();
    // Our endpoint's port: one the host just gave out and took back.
    const tmp = await udp();
    const ours = tmp.port;
    await new Promise<void>((r) => tmp.s.close(r));
    try {
      const up = await shell_batch(k, [
        'sh',
        '-e',
        '-c',
        `ifconfig vxlan create vxlanid 9 vxlanlocal 127.0.0.1 vxlanlocalport ${ours} ` +
          `vxlanremote 127.0.0.1 vxlanremoteport ${peer.port} up >/dev/null`,
      ]);
      assert.equal(up.status, 0, up.err);
      assert.equal(up.deadlock, false);
      // tcpdump blocks in read(2) on /dev/bpf: no callout, nothing runnable, until a frame
      // arrives.  The host sends them (broadcast frames, VNI 9).
      let sent = false;
      const frame = new Uint8Array(8 + 60);
      frame[0] = 0x08; // the I flag
      frame[6] = 9; // VNI 9
      frame.fill(0xff, 8, 14); // destination: broadcast
      frame.set([0x02, 0, 0, 0, 0, 0x99], 14); // source
      frame.set([0x88, 0xb5], 20); // an experimental EtherType
      // Every 100 ms until the shell returns, so a slow machine where
      // tcpdump attaches late still gets one.
      const later = setInterval(() => {
        sent = true;
        peer.s.send(frame, ours, '127.0.0.1');
      }, 100);
      const r = await shell_batch(k, ['sh', '-c', 'tcpdump -c 1 -n -i vxlan0']);
      clearInterval(later);
      assert.equal(sent, true, 'the shell waited for the frame');
      assert.equal(r.deadlock, false, r.err);
      assert.equal(r.status, 0, r.err);
      assert.match(r.out, /ethertype Unknown \(0x88b5\), length 60\n$/);
      assert.match(r.err, /^1 packet captured$/m);
      // With the endpoint closed, the same wait can never end: that is still a deadlock.
      const down = await shell_batch(k, ['sh', '-c', 'ifconfig vxlan0 down']);
      assert.equal(down.status, 0, down.err);
      const d = await shell_batch(k, ['sh', '-c', 'tcpdump -c 1 -n -i vxlan0']);
      assert.equal(d.deadlock, true, d.out + d.err);
    } finally {
      peer.s.close();
      k.clock.shutdown();
    }
  },
);

test(
  'an endpoint whose bind failed cannot wake anyone: the wait is a deadlock',
  { timeout: 60_000 },
  async () => {
    const k = boot({ kernconf: TEST_KERNCONF, clock: 'real' });
    const held = await udp(); // the port our endpoint asks for is taken
    try {
      const up = await shell_batch(k, [
        'sh',
        '-c',
        `ifconfig vxlan create vxlanid 9 vxlanlocal 127.0.0.1 vxlanlocalport ${held.port} ` +
          `vxlanremote 127.0.0.1 vxlanremoteport ${held.port} up >/dev/null; sleep 1`,
      ]);
      assert.equal(up.status, 0, up.err);
      const d = await shell_batch(k, ['sh', '-c', 'tcpdump -c 1 -n -i vxlan0']);
      assert.equal(d.deadlock, true, d.out + d.err);
    } finally {
      held.s.close();
      k.clock.shutdown();
    }
  },
);
