// Runs the wire fuzz target (fuzz/wire.ts) for a fixed number of seeded iterations:
// no exception escapes a parser, no parser reads outside its range, parse(emit(x)) is x,
// capture readers never fail internally.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzWire } from '../../fuzz/wire.js';

test('wire fuzz: 3000 seeded iterations, two seeds', () => {
  for (const seed of [1, 0xdecafbad]) {
    const rep = fuzzWire(3000, seed);
    assert.deepEqual(rep.failures, [], `seed ${seed}`);
    assert.ok(rep.ipAccepted > 100, `fuzzer reaches IPv4 parsing (${rep.ipAccepted})`);
    assert.ok(rep.captureAccepted > 10, `fuzzer reaches capture parsing (${rep.captureAccepted})`);
  }
});
