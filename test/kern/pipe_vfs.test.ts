// pipe(2) and host files (kern/sys_pipe.ts, kern/vfs_host.ts) through libc, without a
// shell: end of file, EPIPE, O_NONBLOCK, the 16 KiB buffer; open flags, errors, `..`
// never leaving the root, symbolic links out of the root refused, jail roots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootTest } from '../lib/kernel.js';
import { userproc } from '../lib/proc.js';
import { tempRoot } from '../lib/sh.js';
import { pipe2, chdir, getcwd, nanosleep } from '../../src/lib/process.js';
import { Libc } from '../../src/lib/libc.js';
import { exec_register, kern_spawn } from '../../src/kern/kern_exec.js';
import type { Kernel } from '../../src/kern/kernel.js';
import type { Thread } from '../../src/sys/proc.js';
import { PIPE_SIZE, POLLIN } from '../../src/kern/sys_pipe.js';
import { Prison } from '../../src/kern/kern_jail.js';
import {
  EACCES,
  EAGAIN,
  EBADF,
  EEXIST,
  EISDIR,
  ENOENT,
  ENOTDIR,
  EPIPE,
} from '../../src/sys/errno.js';
import {
  O_APPEND,
  O_CREAT,
  O_EXCL,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
} from '../../src/sys/fcntl.js';

const te = new TextEncoder();
const td = new TextDecoder();

test('pipe2: data, end of file, EPIPE, O_NONBLOCK and the buffer size', async () => {
  const k = bootTest();
  const { libc } = userproc(k);
  const fds = await pipe2(libc, O_NONBLOCK);
  assert.ok(fds !== null);
  const [r, w] = fds;
  const b = new Uint8Array(64);
  assert.equal(await libc.read(r, b), -1);
  assert.equal(libc.errno, EAGAIN);
  assert.equal(await libc.write(w, te.encode('hello')), 5);
  assert.equal(await libc.read(r, b), 5);
  assert.equal(td.decode(b.subarray(0, 5)), 'hello');
  // The write end is not readable, the read end not writable.
  assert.equal(await libc.read(w, b), -1);
  assert.equal(libc.errno, EBADF);
  // Fill the buffer: a big write is partial, then EAGAIN.
  const big = new Uint8Array(PIPE_SIZE + 100);
  assert.equal(await libc.write(w, big), PIPE_SIZE);
  assert.equal(await libc.write(w, te.encode('x')), -1);
  assert.equal(libc.errno, EAGAIN);
  const all = new Uint8Array(PIPE_SIZE * 2);
  assert.equal(await libc.read(r, all), PIPE_SIZE);
  // Writer gone: end of file.
  await libc.write(w, te.encode('tail'));
  assert.equal(await libc.close(w), 0);
  assert.equal(await libc.read(r, b), 4);
  assert.equal(await libc.read(r, b), 0);
  // Reader gone: EPIPE.
  const [r2, w2] = (await pipe2(libc))!;
  await libc.close(r2);
  assert.equal(await libc.write(w2, te.encode('x')), -1);
  assert.equal(libc.errno, EPIPE);
});

test('open: flags and errors on host files below the root', async () => {
  const t = tempRoot();
  try {
    mkdirSync(join(t.dir, 'd'));
    writeFileSync(join(t.dir, 'f'), 'abcdef');
    const k = bootTest({ root: t.dir });
    const { libc } = userproc(k);
    const b = new Uint8Array(16);
    let fd = await libc.open('/f', O_RDONLY);
    assert.ok(fd >= 0);
    assert.equal(await libc.pread(fd, b, 3, 2), 3);
    assert.equal(td.decode(b.subarray(0, 3)), 'cde');
    assert.equal(await libc.read(fd, b), 6);
    await libc.close(fd);
    assert.equal(await libc.open('/nosuch', O_RDONLY), -1);
    assert.equal(libc.errno, ENOENT);
    assert.equal(await libc.open('/f', O_WRONLY | O_CREAT | O_EXCL, 0o644), -1);
    assert.equal(libc.errno, EEXIST);
    assert.equal(await libc.open('/d', O_WRONLY), -1);
    assert.equal(libc.errno, EISDIR);
    assert.equal(await libc.open('/f/x', O_RDONLY), -1);
    assert.equal(libc.errno, ENOTDIR);
    fd = await libc.open('/f', O_WRONLY | O_APPEND);
    await libc.write(fd, te.encode('gh'));
    await libc.close(fd);
    assert.equal(readFileSync(join(t.dir, 'f'), 'utf8'), 'abcdefgh');
    fd = await libc.open('d/../../../../new', O_RDWR | O_CREAT | O_TRUNC, 0o600);
    assert.ok(fd >= 0, 'created at the root, not above it');
    await libc.write(fd, te.encode('n'));
    await libc.close(fd);
    assert.equal(readFileSync(join(t.dir, 'new'), 'utf8'), 'n');
    // A link that leads out of the root is refused.
    symlinkSync('/etc', join(t.dir, 'out'));
    assert.equal(await libc.open('/out/hostname', O_RDONLY), -1);
    assert.equal(libc.errno, EACCES);
    // chdir / getcwd are inside the jail's name space.
    assert.equal(await chdir(libc, 'd'), 0);
    assert.equal(await getcwd(libc), '/d');
    assert.equal(await chdir(libc, '/f'), -1);
    assert.equal(libc.errno, ENOTDIR);
  } finally {
    t.cleanup();
  }
});

test("a jailed process's root is its jail's path below the host root", async () => {
  const t = tempRoot();
  try {
    mkdirSync(join(t.dir, 'j1'));
    writeFileSync(join(t.dir, 'j1', 'inside'), 'in');
    writeFileSync(join(t.dir, 'secret'), 's');
    const k = bootTest({ root: t.dir });
    const pr = new Prison(1, 'j1', k.prison0, 'j1', '/j1');
    const { libc } = userproc(k, { prison: pr });
    const b = new Uint8Array(8);
    const fd = await libc.open('/inside', O_RDONLY);
    assert.ok(fd >= 0);
    assert.equal(await libc.read(fd, b), 2);
    assert.equal(await libc.open('/../secret', O_RDONLY), -1);
    assert.equal(libc.errno, ENOENT);
  } finally {
    t.cleanup();
  }
});

test('blocking pipes between scheduled processes; poll wakes on data and on close', async () => {
  const k = bootTest();
  const log: string[] = [];
  let fds: [number, number] | null = null;
  const parent = k.proc_create('parent', { cr_uid: 0, cr_prison: k.prison0 }, async (td) => {
    const libc = new Libc(k, td);
    fds = await pipe2(libc);
    const [r, w] = fds!;
    // A child that sleeps, then writes, then exits (closing its copy of w).
    const child = kern_spawn_for_test(k, td, w);
    void child;
    await libc.close(w);
    const pfd = [{ fd: r, events: POLLIN, revents: 0 }];
    assert.equal(await libc.poll(pfd, -1), 1);
    log.push(`poll ${pfd[0]!.revents & POLLIN} at ${k.now() / 1e9}`);
    const b = new Uint8Array(100);
    const n = await libc.read(r, b);
    log.push(`read ${td_(b.subarray(0, n))}`);
    log.push(`eof ${await libc.read(r, b)}`);
    return 0;
  });
  void parent;
  await k.run_until_idle();
  assert.deepEqual(log, ['poll 1 at 2', 'read late', 'eof 0']);
});

function td_(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

/** A child process of td's process holding a copy of descriptor w: sleep 2 s, write. */
function kern_spawn_for_test(k: Kernel, td: Thread, w: number): void {
  exec_register(k, '/test/writer', async (kk, ctd) => {
    const libc = new Libc(kk, ctd);
    await nanosleep(libc, 2e9);
    await libc.write(0, new TextEncoder().encode('late'));
    return 0;
  });
  const fp = td.td_proc.p_fd!.get(w)!.fde_file;
  const p = kern_spawn(k, td.td_proc, td.td_proc.p_ucred, '/test/writer', ['writer'], [], [fp]);
  assert.ok(typeof p !== 'number');
}
