// tcp_addoptions: the option bytes in FreeBSD's order and alignment.  The timestamp-only
// layout (every segment of a timestamping connection) has its own short path in
// tcp_addopts; it must write the bytes the general walk writes: NOP NOP TS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tcp_addoptions } from '../../src/netinet/tcp_output.js';

const be32 = (v: number): number[] => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

test('timestamps alone: NOP NOP TS, 12 bytes', () => {
  const tsval = 0xfedcba98;
  const tsecr = 0x01020304;
  assert.deepEqual(
    [...tcp_addoptions({ ts: [tsval, tsecr] })],
    [1, 1, 8, 10, ...be32(tsval), ...be32(tsecr)],
  );
});

test('timestamps with SACK blocks, and the SYN layouts, as before', () => {
  assert.deepEqual(
    [...tcp_addoptions({ ts: [7, 9], sacks: [[0x10, 0x20]] })],
    [1, 1, 8, 10, ...be32(7), ...be32(9), 1, 1, 5, 10, ...be32(0x10), ...be32(0x20)],
  );
  assert.deepEqual(
    [...tcp_addoptions({ mss: 1460, wscale: 6, sackok: true, ts: [5, 0] })],
    [2, 4, 5, 180, 1, 3, 3, 6, 4, 2, 8, 10, ...be32(5), ...be32(0)],
  );
  assert.deepEqual([...tcp_addoptions({ mss: 1460 })], [2, 4, 5, 180]);
  assert.deepEqual([...tcp_addoptions({ sacks: [[1, 2]] })], [1, 1, 5, 10, ...be32(1), ...be32(2)]);
  /* Four blocks do not fit after the timestamps: three are sent (MAX_TCPOPTLEN 40). */
  const four: [number, number][] = [
    [1, 2],
    [3, 4],
    [5, 6],
    [7, 8],
  ];
  assert.equal(tcp_addoptions({ ts: [1, 2], sacks: four }).length, 40);
});
