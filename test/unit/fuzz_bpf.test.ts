// Runs the BPF fuzz target (fuzz/bpf.ts) for a fixed number of seeded iterations: no
// exception escapes the machine, the checker, the codec or the compiler; no load reads
// past buflen; whatever pcap_compile accepts validates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzBpf } from '../../fuzz/bpf.js';

test('bpf fuzz: 3000 seeded iterations, two seeds', () => {
  for (const seed of [1, 0xbadc0de]) {
    const rep = fuzzBpf(3000, seed);
    assert.deepEqual(rep.failures, [], `seed ${seed}`);
    assert.ok(rep.validPrograms > 100, `fuzzer reaches valid programs (${rep.validPrograms})`);
    assert.ok(rep.accepted > 100, `fuzzer reaches accepting runs (${rep.accepted})`);
    assert.ok(rep.compiled > 20, `fuzzer reaches compiled filters (${rep.compiled})`);
  }
});
