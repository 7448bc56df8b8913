// callout_reset of a pending callout moves it in place (Callwheel.rekey) instead of
// removing and inserting it: the callouts must still run in (deadline, arming order)
// order — the order remove + insert gives — whatever mix of first arms, re-arms to
// earlier and later deadlines, equal deadlines and stops came before.  Seeded
// (xorshift32).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../lib/kernel.js';
import { Callout, callout_reset, callout_stop } from '../../src/kern/kern_timeout.js';
import { xorshift32 } from '../lib/rng.js';

test('re-armed callouts run in (deadline, arming order) order', async () => {
  const k = bootTest();
  const r = xorshift32(0xca11);
  let rearms = 0;
  for (let phase = 0; phase < 30; phase++) {
    const ran: number[] = [];
    const cs = Array.from({ length: 40 }, () => new Callout());
    /* The model: each pending callout's deadline and arming order (a counter). */
    const model = new Map<number, { t: number; seq: number }>();
    let seq = 0;
    k.enter(() => {
      for (let op = 0; op < 400; op++) {
        const i = r() % cs.length;
        const c = cs[i]!;
        if (r() % 6 === 0) {
          callout_stop(c);
          model.delete(i);
          continue;
        }
        if (model.has(i)) rearms++;
        /* Few distinct deadlines, so equal ones (ordered by arming) are common. */
        callout_reset(c, 1 + (r() % 12), () => ran.push(i), null);
        model.set(i, { t: c.c_time, seq: ++seq });
      }
    });
    const want = [...model].sort((a, b) => a[1].t - b[1].t || a[1].seq - b[1].seq).map(([i]) => i);
    await k.run_until_idle();
    assert.deepEqual(ran, want, `phase ${phase}`);
    assert.equal(k.callwheel.size, 0);
  }
  assert.ok(rearms > 5000, `pending callouts were re-armed (${rearms})`);
});

test('a re-armed callout moved ahead of the others runs first, at its new deadline', async () => {
  const k = bootTest();
  const ran: string[] = [];
  const a = new Callout();
  const b = new Callout();
  const t0 = k.now();
  k.enter(() => {
    callout_reset(a, 50, () => ran.push(`a@${(k.now() - t0) / 1e6}`), null);
    callout_reset(b, 30, () => ran.push(`b@${(k.now() - t0) / 1e6}`), null);
    callout_reset(a, 10, () => ran.push(`a@${(k.now() - t0) / 1e6}`), null); /* earlier */
    callout_reset(b, 40, () => ran.push(`b@${(k.now() - t0) / 1e6}`), null); /* later */
  });
  await k.run_until_idle();
  assert.deepEqual(ran, ['a@10', 'b@40']);
});
