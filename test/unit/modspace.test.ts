import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModSpace } from '../../src/kern/subr_modspace.js';

test('first fit with 8-byte rounding', () => {
  const m = new ModSpace('t', 1000, 64);
  assert.equal(m.alloc(3), 1000);
  assert.equal(m.alloc(8), 1008);
  assert.equal(m.alloc(9), 1016);
  assert.deepEqual(m.snapshot(), [{ start: 1032, size: 32 }]);
  assert.equal(m.alloc(40), -1, 'too large: nothing changes');
  assert.deepEqual(m.snapshot(), [{ start: 1032, size: 32 }]);
  assert.equal(m.alloc(32), 1032, 'exact fit removes the extent');
  assert.deepEqual(m.snapshot(), []);
  assert.equal(m.alloc(1), -1);
});

test('free coalesces with the previous, the next, or both extents', () => {
  const m = new ModSpace('t', 0, 64);
  const a = m.alloc(16);
  const b = m.alloc(16);
  const c = m.alloc(16);
  assert.deepEqual([a, b, c], [0, 16, 32]);
  m.release(b, 16);
  assert.deepEqual(m.snapshot(), [
    { start: 16, size: 16 },
    { start: 48, size: 16 },
  ]);
  m.release(c, 16); // touches both neighbours
  assert.deepEqual(m.snapshot(), [{ start: 16, size: 48 }]);
  m.release(a, 16); // extends the next extent downwards
  assert.deepEqual(m.snapshot(), [{ start: 0, size: 64 }]);
  assert.equal(m.avail, 64);
});

test('freeing a range that abuts the end of the last extent does not fault', () => {
  const m = new ModSpace('t', 0, 32);
  m.alloc(32);
  m.release(0, 8);
  m.release(8, 8); // grows the only extent; there is no successor to merge
  assert.deepEqual(m.snapshot(), [{ start: 0, size: 16 }]);
});

test('double free and out-of-range free are refused', () => {
  const m = new ModSpace('t', 0, 32);
  const a = m.alloc(8);
  m.release(a, 8);
  assert.throws(() => m.release(a, 8), /double free/);
  assert.throws(() => m.release(64, 8), /outside/);
});
