// callout(9) on the virtual (and once the real) clock; kern.hz, kern.boottime.  Passes on
// both kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../lib/kernel.js';
import type { Kernel } from '../../src/kern/kernel.js';
import {
  Callout,
  C_ABSOLUTE,
  callout_active,
  callout_drain,
  callout_init,
  callout_pending,
  callout_reset,
  callout_reset_sbt,
  callout_stop,
} from '../../src/kern/kern_timeout.js';
import { curthread } from '../../src/kern/kern_cur.js';
import { SBT_1MS, SBT_1S, get_ticks, hz, time_uptime } from '../../src/kern/kern_clock.js';
import { PanicError } from '../../src/kern/sched.js';
import { VIRTUAL_EPOCH_NS } from '../../src/host/clock.js';

function readOid(k: Kernel, name: string, size: number): DataView | null {
  const o = k.sysctl.find(name);
  if (!o) return null;
  const req = { oldptr: new Uint8Array(size), oldidx: 0, newptr: null, arg1: null, arg2: 0 };
  const e = k.enter(() => k.sysctl.handle(o, req, { vnet: null, jailed: false }, () => null));
  assert.equal(e, 0);
  return new DataView(req.oldptr.buffer);
}

test('callouts run in (time, arming order) order, in the softclock thread', async () => {
  const k = bootTest();
  const ran: string[] = [];
  const mk = (name: string) => (): void => {
    ran.push(`${name}@${k.now() / SBT_1MS} ${curthread().td_name}`);
  };
  const cs = Array.from({ length: 5 }, () => new Callout());
  k.enter(() => {
    callout_reset(cs[0]!, 30, mk('c30'), null);
    callout_reset(cs[1]!, 10, mk('first10'), null);
    callout_reset(cs[2]!, 20, mk('c20'), null);
    callout_reset(cs[3]!, 10, mk('second10'), null);
    callout_reset(cs[4]!, 0, mk('zero-is-one-tick'), null);
  });
  await k.run_until_idle();
  const sc = 'swi4: clock (0)';
  assert.deepEqual(ran, [
    `zero-is-one-tick@1 ${sc}`,
    `first10@10 ${sc}`,
    `second10@10 ${sc}`,
    `c20@20 ${sc}`,
    `c30@30 ${sc}`,
  ]);
  assert.equal(k.callwheel.size, 0);
});

test('callout_stop cancels; callout_reset of a pending callout reschedules it', async () => {
  const k = bootTest();
  const ran: string[] = [];
  const a = new Callout();
  const b = new Callout();
  k.enter(() => {
    callout_init(a, 1);
    callout_init(b, 1);
    assert.equal(
      callout_reset(a, 100, () => ran.push(`a@${k.now() / SBT_1MS}`), null),
      0,
    );
    assert.equal(
      callout_reset(b, 50, () => ran.push('b'), null),
      0,
    );
    assert.ok(callout_pending(b) && callout_active(b));
    assert.equal(callout_stop(b), 1, 'stopped a pending callout');
    assert.equal(callout_stop(b), 0, 'nothing to stop');
    assert.ok(!callout_pending(b) && !callout_active(b));
    assert.equal(
      callout_reset(a, 200, () => ran.push(`a2@${k.now() / SBT_1MS}`), null),
      1,
      'rescheduling cancels the pending one',
    );
  });
  await k.run_until_idle();
  assert.deepEqual(ran, ['a2@200']);
  assert.ok(!callout_pending(a));
  assert.ok(callout_active(a), 'active stays set until stopped or deactivated');
  assert.equal(
    k.enter(() => callout_drain(a)),
    0,
  );
});

test('a one-hour callout completes at once on the virtual clock', async () => {
  const k = bootTest();
  const c = new Callout();
  let at = -1;
  k.enter(() =>
    callout_reset_sbt(
      c,
      3600 * SBT_1S,
      0,
      () => {
        at = k.now();
      },
      null,
    ),
  );
  await k.run_until_idle();
  assert.equal(at, 3600 * SBT_1S);
  assert.equal(k.now(), 3600 * SBT_1S);
  assert.equal(
    k.enter(() => time_uptime()),
    3600,
  );
  assert.equal(
    k.enter(() => get_ticks()),
    3600 * hz,
  );
});

test('absolute deadlines and re-arming from inside a callout', async () => {
  const k = bootTest();
  const c = new Callout();
  const at: number[] = [];
  const fn = (): void => {
    at.push(k.now());
    if (at.length < 3) callout_reset_sbt(c, at.length * SBT_1S, 0, fn, null);
  };
  k.enter(() => callout_reset_sbt(c, 5 * SBT_1S, 0, fn, null, C_ABSOLUTE));
  await k.run_until_idle();
  assert.deepEqual(at, [5 * SBT_1S, 6 * SBT_1S, 8 * SBT_1S]);
});

test('many callouts: the heap keeps order under random stops', async () => {
  const k = bootTest({ seed: 7 });
  const n = 500;
  const cs = Array.from({ length: n }, () => new Callout());
  const ran: number[] = [];
  k.enter(() => {
    for (let i = 0; i < n; i++)
      callout_reset(cs[i]!, 1 + ((i * 7919) % 997), () => ran.push(i), null);
    for (let i = 0; i < n; i += 3) callout_stop(cs[i]!);
  });
  await k.run_until_idle();
  const expect = Array.from({ length: n }, (_, i) => i)
    .filter((i) => i % 3 !== 0)
    .sort((x, y) => ((x * 7919) % 997) - ((y * 7919) % 997) || x - y);
  assert.deepEqual(ran, expect);
});

test('an exception in a callout panics the kernel', async () => {
  const k = bootTest();
  const c = new Callout();
  k.enter(() =>
    callout_reset(
      c,
      5,
      () => {
        throw new Error('callout boom');
      },
      null,
    ),
  );
  await assert.rejects(k.run_until_idle(), PanicError);
  assert.match(k.panicstr!, /callout boom/);
});

test('kern.hz is 1000 and kern.boottime is the clock boot time', () => {
  const k = bootTest();
  assert.equal(readOid(k, 'kern.hz', 4)!.getInt32(0, true), 1000);
  const bt = readOid(k, 'kern.boottime', 16)!;
  assert.equal(Number(bt.getBigInt64(0, true)), VIRTUAL_EPOCH_NS / 1e9);
  assert.equal(Number(bt.getBigInt64(8, true)), 0);
});

test('the real clock fires callouts from host timers', async () => {
  const k = bootTest({ clock: 'real' });
  const c = new Callout();
  let fired = 0;
  let who = '';
  k.enter(() =>
    callout_reset(
      c,
      5,
      () => {
        fired = k.now();
        who = curthread().td_name;
      },
      null,
    ),
  );
  await k.run_until_idle();
  assert.ok(fired >= 5 * SBT_1MS, 'not before its deadline');
  assert.equal(who, 'swi4: clock (0)');
  assert.equal(k.clock.kind, 'real');
});

test('the real clock keeps one host timer, no later than the earliest callout, and none when no callout is left', async () => {
  const k = bootTest({ clock: 'real' });
  const clock = k.clock;
  const timer = clock.timer.bind(clock);
  let armed = 0;
  clock.timer = (t, fn) => {
    armed++;
    return timer(t, fn);
  };
  const c = new Callout();
  let fired = 0;
  const fn = (): void => {
    fired = k.now();
  };
  // A deadline pushed later 50 times (as every ACK pushes a retransmission timer) arms
  // the host timer once; when it fires early, nothing runs and the next one is armed.
  k.enter(() => {
    for (let i = 0; i < 50; i++) callout_reset(c, 10 + i, fn, null);
  });
  assert.equal(armed, 1);
  await k.run_until_idle();
  assert.ok(fired >= 59 * SBT_1MS, `fired at ${fired} ns, before its last deadline`);
  // The early timer and the one for the real deadline (just the first if the host was
  // too busy to fire it before the last deadline anyway).
  assert.ok(armed <= 2, `${armed} host timers armed`);
  // An earlier deadline re-arms at once; a stopped last callout takes its timer away
  // (a host timer 10 s out would keep the host process alive).
  const was = armed;
  k.enter(() => callout_reset(c, 10_000, fn, null));
  assert.equal(armed, was + 1);
  k.enter(() => callout_reset(c, 5_000, fn, null));
  assert.equal(armed, was + 2);
  k.enter(() => callout_stop(c));
  await k.run_until_idle();
  assert.equal((clock as unknown as { timers: Set<unknown> }).timers.size, 0);
});

test('ticks on the real clock: as of the last clock interrupt, exact on the virtual one', async () => {
  const k = bootTest({ clock: 'real' });
  const c = new Callout();
  let at = -1;
  let ticks = -1;
  k.enter(() =>
    callout_reset(
      c,
      20,
      () => {
        at = k.clock.coarse();
        ticks = get_ticks();
      },
      null,
    ),
  );
  await k.run_until_idle();
  // softclock ran after a dispatch, which read the clock: 20 ms or more had passed.
  assert.ok(at >= 20 * SBT_1MS, `coarse time ${at}`);
  assert.equal(ticks, Math.floor(at / SBT_1MS));
  assert.ok(k.clock.coarse() <= k.clock.now());
  const v = bootTest();
  v.clock.advance(7 * SBT_1MS + 5);
  assert.equal(v.clock.coarse(), 7 * SBT_1MS + 5);
  assert.equal(
    v.enter(() => get_ticks()),
    7,
  );
});
