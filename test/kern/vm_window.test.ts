// User memory windows (vm/vm_map.ts VmMap.window/lend/unlend) and libc's read(2) and
// write(2) through them: the caller's own buffer is the user memory the kernel reads or
// fills, with the same faults as a bounce copy — nothing past the buffer, nothing once
// it is taken back — and calls beyond the windows a Libc has fall back to bounces.
// Passes on both kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest } from '../lib/kernel.js';
import type { Kernel } from '../../src/kern/kernel.js';
import { Libc } from '../../src/lib/libc.js';
import { VmMap, VM_HEAP_START, VM_MIN_ADDRESS, vmspace } from '../../src/vm/vm_map.js';
import { AF_UNIX, SOCK_STREAM } from '../../src/sys/socket.js';
import { EFAULT } from '../../src/sys/errno.js';
import { PAGE_SIZE } from '../../src/sys/param.js';
import type { Thread } from '../../src/sys/proc.js';

test('a window maps nothing until lent, exactly the lent buffer while lent, nothing after', () => {
  const vm = new VmMap();
  const w = vm.window(8192);
  assert.ok(w >= VM_MIN_ADDRESS);
  assert.equal(vm.resolve(w, 1), null, 'nothing mapped yet');
  const before = vm.mmap(16) as { addr: number; buf: Uint8Array };
  assert.ok(before.addr >= w + 8192 + PAGE_SIZE, 'the window keeps its range and a guard page');
  const buf = new Uint8Array(100);
  vm.lend(w, buf);
  const v = vm.resolve(w + 10, 20)!;
  v[0] = 7;
  assert.equal(buf[10], 7, 'the kernel writes the lent buffer itself');
  buf[99] = 9;
  const d = new Uint8Array(1);
  assert.ok(vm.read(w + 99, d));
  assert.equal(d[0], 9, 'and reads it');
  assert.equal(vm.resolve(w + 90, 11), null, 'one byte past the buffer faults');
  assert.equal(vm.write(new Uint8Array(2), w + 99), false);
  vm.unlend(w);
  assert.equal(vm.resolve(w + 10, 20), null, 'gone once taken back (no cached view)');
  assert.equal(vm.read(w, d), false);
  /* Lent again, to a shorter buffer: the old length no longer counts. */
  vm.lend(w, new Uint8Array(4));
  assert.notEqual(vm.resolve(w, 4), null);
  assert.equal(vm.resolve(w, 5), null);
});

/** Start a user process running main(libc). */
function spawn(k: Kernel, main: (c: Libc, td: Thread) => Promise<unknown>): void {
  k.proc_create('prog', { cr_uid: 0, cr_prison: k.prison0 }, async (td) => {
    await main(new Libc(k, td), td);
    return 0;
  });
}

test('read and write move bytes through lent windows; more calls than windows still work', async () => {
  const k = bootTest();
  const got: string[] = [];
  let faults: number[] = [];
  spawn(k, async (c, td) => {
    const sv: [number, number] = [-1, -1];
    assert.equal(await c.socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    const [a, b] = sv;
    for (let i = 0; i < 8; i++)
      assert.equal(await c.write(a, Uint8Array.of(65 + i, 97 + i, 48 + i)), 3);
    /* Eight reads in flight at once on one Libc (each is done in the kernel at once, but
     * holds its user memory until its promise settles): four windows, then bounces. */
    const bufs = Array.from({ length: 8 }, () => new Uint8Array(16).fill(0xee));
    const ns = await Promise.all(bufs.map((buf) => c.read(b, buf, 3)));
    for (let i = 0; i < 8; i++) {
      assert.equal(ns[i], 3);
      got.push(String.fromCharCode(...bufs[i]!.subarray(0, 3)));
      assert.ok(
        bufs[i]!.subarray(3).every((x) => x === 0xee),
        'bytes past the count untouched',
      );
    }
    /* A count beyond the buffer faults, whether a window or a bounce serves it. */
    faults = [await c.write(a, new Uint8Array(4), 5), c.errno];
    assert.equal(await c.write(a, Uint8Array.of(1, 2)), 2);
    const small = new Uint8Array(1);
    faults.push(await c.read(b, small, 2), c.errno);
    /* Between calls the windows map nothing: only the process's own mappings remain. */
    const vm = vmspace(td.td_proc);
    let mapped = 0;
    for (let a = VM_HEAP_START; a < VM_HEAP_START + 64 * 1024 * 1024; a += PAGE_SIZE)
      if (vm.resolve(a, 1) !== null && vm.resolve(a, 1)!.buffer === bufs[0]!.buffer) mapped++;
    faults.push(mapped);
  });
  await k.run_until_idle();
  assert.deepEqual(got, ['Aa0', 'Bb1', 'Cc2', 'Dd3', 'Ee4', 'Ff5', 'Gg6', 'Hh7']);
  assert.deepEqual(faults, [-1, EFAULT, -1, EFAULT, 0]);
});
