// Runs the IPv4/ARP input fuzz target (fuzz/ip_input.ts) for a fixed number of seeded
// iterations: no exception escapes the input path, every frame is counted, no mbuf leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzIpInput } from '../../fuzz/ip_input.js';

test('ip_input/arpintr fuzz: 1500 seeded frames, two seeds', async () => {
  for (const seed of [1, 0xdecafbad]) {
    const rep = await fuzzIpInput(1500, seed);
    assert.deepEqual(rep.failures, [], `seed ${seed}`);
    assert.ok(rep.ipFrames > 500 && rep.arpFrames > 100);
  }
});
