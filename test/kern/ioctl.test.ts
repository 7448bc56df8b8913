// ioctl(2): the command encoding (FreeBSD/amd64 values) and sys_ioctl's rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IOCBASECMD,
  IOCGROUP,
  IOCPARM_LEN,
  IOCPARM_MASK,
  IOCPARM_MAX,
  IOCPARM_SHIFT,
  IOC_DIRMASK,
  IOC_IN,
  IOC_INOUT,
  IOC_OUT,
  IOC_VOID,
  _IO,
  _IOC,
  _IOR,
  _IOW,
  _IOWINT,
  _IOWR,
  ioctlname,
} from '../../src/sys/ioccom.js';
import * as S from '../../src/sys/sockio.js';
import { int } from '../../src/sys/types.js';
import {
  EBADF,
  EFAULT,
  EINVAL,
  ENOIOCTL,
  ENOSYS,
  ENOTTY,
  EPERM,
  EACCES,
  ENOENT,
} from '../../src/sys/errno.js';
import { FASYNC, FNONBLOCK, UF_EXCLOSE, File, type FileOps } from '../../src/kern/kern_descrip.js';
import {
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  FD_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
} from '../../src/sys/fcntl.js';
import { syscallenter } from '../../src/kern/kern_syscall.js';
import { SYS_ioctl } from '../../src/sys/sysent.js';
import { Prison } from '../../src/kern/kern_jail.js';
import { bootTest } from '../lib/kernel.js';
import { installFile, userproc, type UserProc } from '../lib/proc.js';
import type { Kernel } from '../../src/kern/kernel.js';

test('ioccom constants', () => {
  assert.equal(IOCPARM_SHIFT, 13);
  assert.equal(IOCPARM_MASK, 0x1fff);
  assert.equal(IOCPARM_MAX, 8192);
  assert.equal(IOC_VOID, 0x20000000);
  assert.equal(IOC_OUT, 0x40000000);
  assert.equal(IOC_IN, 0x80000000);
  assert.equal(IOC_INOUT, 0xc0000000);
  assert.equal(IOC_DIRMASK, 0xe0000000);
});

test('struct sizes (amd64)', () => {
  assert.equal(S.sockaddr.size, 16);
  assert.equal(S.sockaddr_in.size, 16);
  assert.equal(S.ifreq.size, 32);
  assert.equal(S.ifreq.align, 8);
  assert.equal(S.ifaliasreq.size, 68);
  assert.equal(S.in_aliasreq.size, 68);
  assert.equal(S.in_aliasreq.byName.get('ifra_vhid')!.offset, 64);
  assert.equal(S.in_aliasreq.byName.get('ifra_mask')!.offset, 48);
  assert.equal(S.oifaliasreq.size, 64);
  assert.equal(S.ifconf.size, 16);
  assert.equal(S.ifconf.byName.get('ifc_buf')!.offset, 8);
  assert.equal(S.if_clonereq.size, 16);
  assert.equal(S.ifstat.size, 817);
});

test('command values: the FreeBSD/amd64 table (reference §8.2)', () => {
  const table: [number, number][] = [
    [S.SIOCSIFADDR, 0x8020690c],
    [S.SIOCGIFADDR, 0xc0206921],
    [S.SIOCDIFADDR, 0x80206919],
    [S.SIOCAIFADDR, 0x8044692b],
    [S.OSIOCAIFADDR, 0x8040691a],
    [S.SIOCGIFCONF, 0xc0106924],
    [S.SIOCSIFFLAGS, 0x80206910],
    [S.SIOCGIFFLAGS, 0xc0206911],
    [S.SIOCSIFMTU, 0x80206934],
    [S.SIOCGIFMTU, 0xc0206933],
    [S.SIOCIFCREATE, 0xc020697a],
    [S.SIOCIFCREATE2, 0xc020697c],
    [S.SIOCIFDESTROY, 0x80206979],
    [S.SIOCSIFVNET, 0xc020695a],
    [S.SIOCSIFRVNET, 0xc020695b],
    [S.SIOCSIFNAME, 0x80206928],
    /* sys/sockio.h and sys/filio.h values outside the table, FreeBSD/amd64. */
    [S.SIOCGIFINDEX, 0xc0206920],
    [S.SIOCSIFLLADDR, 0x8020693c],
    [S.SIOCIFGCLONERS, 0xc0106978],
    [S.SIOCGIFSTATUS, 0xc331693b],
    [S.SIOCGIFMEDIA, 0xc0306938],
    [S.SIOCGIFNETMASK, 0xc0206925],
    [S.SIOCGIFCAP, 0xc020691f],
    [S.SIOCAIFGROUP, 0x80286987],
    [S.FIONBIO, 0x8004667e],
    [S.FIOASYNC, 0x8004667d],
    [S.FIONREAD, 0x4004667f],
    [S.FIOCLEX, 0x20006601],
    [S.FIONCLEX, 0x20006602],
    [S.SIOCATMARK, 0x40047307],
  ];
  for (const [got, want] of table)
    assert.equal(got, want, `${got.toString(16)} !== ${want.toString(16)}`);
  // i386's SIOCGIFCONF differs only in the 8-byte struct ifconf.
  assert.equal(_IOWR('i', 36, 8), 0xc0086924);
  for (const v of Object.values(S.SOCKIO_COMMANDS)) {
    assert.ok(v >= 0 && v <= 0xffffffff && Number.isInteger(v));
  }
});

test('macros: unsigned results, field extraction', () => {
  assert.equal(_IO('f', 1), 0x20006601);
  assert.equal(_IOWINT('x', 5), 0x20047805);
  assert.equal(_IOR('f', 127, int), S.FIONREAD);
  assert.equal(_IOW('i', 12, S.ifreq), S.SIOCSIFADDR);
  assert.equal(_IOW('i', 12, 32), S.SIOCSIFADDR);
  assert.equal(_IOC(IOC_INOUT, 0x69, 33, 32), S.SIOCGIFADDR);
  assert.ok(S.SIOCAIFADDR > 0, 'never a negative number');
  assert.equal(IOCPARM_LEN(S.SIOCAIFADDR), 68);
  assert.equal(IOCPARM_LEN(S.SIOCGIFCONF), 16);
  assert.equal(IOCPARM_LEN(S.FIOCLEX), 0);
  assert.equal(IOCGROUP(S.SIOCGIFFLAGS), 0x69);
  assert.equal(IOCBASECMD(S.SIOCGIFFLAGS), 0xc0006911);
  assert.equal(IOCPARM_LEN(S.SIOCSIFADDR | 0), 32, 'accepts the signed form');
  assert.equal(ioctlname(S.SIOCGIFADDR), "_IOWR('i',33,32)");
  assert.equal(ioctlname(S.FIOCLEX), "_IO('f',1)");
  assert.throws(() => _IOW('x', 1, 8192));
});

/* ------------------------------------------------------------------------------ */

interface Call {
  com: number;
  data: Uint8Array;
}

/** A file whose ioctl records its calls and runs a programmable handler. */
function recorder(
  handler: (com: number, data: Uint8Array) => number | Promise<number> = () => ENOIOCTL,
): { ops: FileOps; calls: Call[] } {
  const calls: Call[] = [];
  const ops: FileOps = {
    fo_type: 'test',
    fo_ioctl(_fp, com, data) {
      calls.push({ com, data: data.slice() });
      return handler(com, data);
    },
  };
  return { ops, calls };
}

function setup(handler?: (com: number, data: Uint8Array) => number | Promise<number>): {
  k: Kernel;
  up: UserProc;
  fd: number;
  calls: Call[];
} {
  const k = bootTest();
  const up = userproc(k);
  const r = recorder(handler);
  return { k, up, fd: installFile(up, r.ops), calls: r.calls };
}

const T_IN = _IOW('t', 1, 32);
const T_OUT = _IOR('t', 2, 32);
const T_INOUT = _IOWR('t', 3, 32);

test('EBADF: no such descriptor, or a file open for neither read nor write', async () => {
  const { up, calls } = setup(() => 0);
  const { libc } = up;
  assert.equal(await libc.ioctl(7, T_IN, new Uint8Array(32)), -1);
  assert.equal(libc.errno, EBADF);
  assert.equal(await libc.ioctl(-1, S.FIONBIO, new Uint8Array(4)), -1);
  assert.equal(libc.errno, EBADF);
  const fd = installFile(up, recorder(() => 0).ops, 0);
  assert.equal(await libc.ioctl(fd, S.FIOCLEX), -1);
  assert.equal(libc.errno, EBADF);
  assert.equal(calls.length, 0);
});

test('ENOTTY: malformed commands never reach the file', async () => {
  const { up, fd, calls } = setup(() => 0);
  const { libc } = up;
  const bad = [
    0x00006901 /* no direction */,
    0x00206901 /* length but no direction */,
    (IOC_IN | (0 << 16) | 0x7401) >>> 0 /* IN, size 0 */,
    (IOC_OUT | 0x7401) >>> 0 /* OUT, size 0 */,
    (IOC_INOUT | 0x7401) >>> 0 /* INOUT, size 0 */,
    _IOC(IOC_VOID, 't', 1, 8) /* VOID, size neither 0 nor sizeof(int) */,
    _IOC(IOC_VOID, 't', 1, 2),
  ];
  for (const com of bad) {
    libc.errno = 0;
    assert.equal(await libc.ioctl(fd, com, new Uint8Array(64)), -1, com.toString(16));
    assert.equal(libc.errno, ENOTTY, com.toString(16));
  }
  assert.equal(calls.length, 0);
});

test('ENOTTY: an unknown command (ENOIOCTL from the file), or a file without ioctl', async () => {
  const { up, fd, calls } = setup();
  const { libc } = up;
  assert.equal(await libc.ioctl(fd, T_IN, new Uint8Array(32)), -1);
  assert.equal(libc.errno, ENOTTY);
  assert.equal(calls.length, 1);
  const fd2 = installFile(up, { fo_type: 'plain' });
  assert.equal(await libc.ioctl(fd2, T_IN, new Uint8Array(32)), -1);
  assert.equal(libc.errno, ENOTTY);
});

test('EFAULT: a user buffer shorter than the encoded length, or unmapped', async () => {
  const { up, fd, calls } = setup(() => 0);
  const { libc } = up;
  assert.equal(await libc.ioctl(fd, T_IN, new Uint8Array(31)), -1);
  assert.equal(libc.errno, EFAULT);
  assert.equal(await libc.ioctl(fd, T_INOUT, new Uint8Array(16)), -1);
  assert.equal(libc.errno, EFAULT);
  assert.equal(await libc.ioctl(fd, T_IN, 0x1000), -1, 'unmapped address');
  assert.equal(libc.errno, EFAULT);
  assert.equal(await libc.ioctl(fd, T_IN, 0), -1, 'NULL');
  assert.equal(libc.errno, EFAULT);
  assert.equal(calls.length, 0, 'copyin faults before the file is called');
  // A pure OUT command does not copy in: the file runs, then copyout faults.
  assert.equal(await libc.ioctl(fd, T_OUT, new Uint8Array(8)), -1);
  assert.equal(libc.errno, EFAULT);
  assert.equal(calls.length, 1);
  // The exact length works.
  assert.equal(await libc.ioctl(fd, T_IN, new Uint8Array(32)), 0);
});

test('IN copies in; OUT gets a zero-filled buffer; INOUT both ways', async () => {
  const { up, fd, calls } = setup((com, data) => {
    if (com === T_OUT || com === T_INOUT) data.fill(0xab, 0, 4);
    return 0;
  });
  const { libc } = up;
  const buf = new Uint8Array(32).fill(7);
  assert.equal(await libc.ioctl(fd, T_IN, buf), 0);
  assert.deepEqual(calls[0]!.data, new Uint8Array(32).fill(7));
  assert.deepEqual(buf, new Uint8Array(32).fill(7), 'IN does not copy out');

  const out = new Uint8Array(32).fill(0x55);
  assert.equal(await libc.ioctl(fd, T_OUT, out), 0);
  assert.deepEqual(calls[1]!.data, new Uint8Array(32), 'the file sees zeros, not user bytes');
  assert.deepEqual(out.subarray(0, 4), new Uint8Array(4).fill(0xab));
  assert.deepEqual(out.subarray(4), new Uint8Array(28), 'the rest comes back zeroed');

  const io = new Uint8Array(32).fill(3);
  assert.equal(await libc.ioctl(fd, T_INOUT, io), 0);
  assert.deepEqual(calls[2]!.data, new Uint8Array(32).fill(3));
  assert.deepEqual(io.subarray(0, 4), new Uint8Array(4).fill(0xab));
  assert.deepEqual(io.subarray(4), new Uint8Array(28).fill(3));
});

test('copyout only on success', async () => {
  const { up, fd } = setup((_com, data) => {
    data.fill(0xee);
    return EINVAL;
  });
  const { libc } = up;
  const out = new Uint8Array(32).fill(1);
  assert.equal(await libc.ioctl(fd, T_INOUT, out), -1);
  assert.equal(libc.errno, EINVAL);
  assert.deepEqual(out, new Uint8Array(32).fill(1));
  assert.equal(await libc.ioctl(fd, T_OUT, out), -1);
  assert.deepEqual(out, new Uint8Array(32).fill(1));
});

test('an asynchronous file ioctl is awaited, and its result copied out', async () => {
  const { k, up, fd } = setup(async (_com, data) => {
    await Promise.resolve();
    data[0] = 42;
    return 0;
  });
  const out = new Uint8Array(32);
  assert.equal(await up.libc.ioctl(fd, T_OUT, out), 0);
  assert.equal(out[0], 42);
  assert.equal(k.thread0 !== up.td, true);
});

test('VOID commands: an int passed by value, or the argument word', async () => {
  const { up, fd, calls } = setup(() => 0);
  const { libc } = up;
  const W = _IOWINT('t', 9);
  assert.equal(await libc.ioctl(fd, W, 0x12345678), 0);
  const c0 = calls[0]!;
  assert.equal(new DataView(c0.data.buffer).getInt32(0, true), 0x12345678);
  assert.equal(await libc.ioctl(fd, W, -5), 0);
  assert.equal(new DataView(calls[1]!.data.buffer).getInt32(0, true), -5);
  assert.equal(await libc.ioctl(fd, _IO('t', 10), 0x1234), 0);
  assert.equal(new DataView(calls[2]!.data.buffer).getUint32(0, true), 0x1234);
});

test('the command word is truncated to 32 bits (negative, or bits above 31)', async () => {
  const { k, up, fd, calls } = setup(() => 0);
  const signed = T_INOUT | 0; /* what a sign-extending caller passes */
  assert.ok(signed < 0);
  const buf = new Uint8Array(32);
  assert.equal(await up.libc.ioctl(fd, signed, buf), 0);
  assert.equal(calls[0]!.com, T_INOUT);
  assert.equal(await up.libc.ioctl(fd, T_INOUT + 0x100000000, buf), 0);
  assert.equal(calls[1]!.com, T_INOUT);
  // (A full 64-bit sign extension is not a safe JS integer: the negative form above is it.)
  assert.equal(await up.libc.ioctl(fd, 0x7_00000000 + T_INOUT, buf), 0);
  assert.equal(calls[2]!.com, T_INOUT);
  assert.equal(await up.libc.ioctl(fd, S.SIOCGIFFLAGS - 0x100000000, buf), 0);
  assert.equal(calls[3]!.com, S.SIOCGIFFLAGS);
  if (k.conf.options.has('INVARIANTS'))
    assert.ok(k.msgbuf.some((l) => l.includes('ioctl sign-extension')));
});

test('FIONBIO / FIOASYNC set the file flags, then pass the int down', async () => {
  const { k, up, fd, calls } = setup(() => 0);
  const { libc } = up;
  const fp = up.p.p_fd!.get(fd)!.fde_file;
  const one = new Uint8Array(4);
  new DataView(one.buffer).setInt32(0, 1, true);
  assert.equal(await libc.ioctl(fd, S.FIONBIO, one), 0);
  assert.ok(fp.f_flag & FNONBLOCK);
  assert.equal(calls[0]!.com, S.FIONBIO);
  assert.equal(new DataView(calls[0]!.data.buffer).getInt32(0, true), 1);
  assert.equal(await libc.ioctl(fd, S.FIONBIO, new Uint8Array(4)), 0);
  assert.equal(fp.f_flag & FNONBLOCK, 0);
  assert.equal(await libc.ioctl(fd, S.FIOASYNC, one), 0);
  assert.ok(fp.f_flag & FASYNC);
  // F_GETFL reflects it, F_SETFL drives it (and tells the file).
  assert.equal((await libc.fcntl(fd, F_GETFL)) & O_NONBLOCK, 0);
  const n = calls.length;
  assert.equal(await libc.fcntl(fd, F_SETFL, O_NONBLOCK), 0);
  assert.ok(fp.f_flag & FNONBLOCK);
  assert.equal(fp.f_flag & FASYNC, 0, 'F_SETFL replaces the settable flags');
  assert.equal(calls[n]!.com, S.FIONBIO);
  assert.equal((await libc.fcntl(fd, F_GETFL)) & (O_NONBLOCK | 3), O_NONBLOCK | O_RDWR);
  // Even when the file rejects FIONBIO the flag stays set (FreeBSD order).
  const rej = installFile(up, recorder(() => ENOTTY).ops);
  const rfp = up.p.p_fd!.get(rej)!.fde_file;
  assert.equal(await libc.ioctl(rej, S.FIONBIO, one), -1);
  assert.equal(libc.errno, ENOTTY);
  assert.ok(rfp.f_flag & FNONBLOCK);
  void k;
});

test('FIOCLEX / FIONCLEX act on the descriptor without calling the file', async () => {
  const { up, fd, calls } = setup(() => 0);
  const { libc } = up;
  const ent = up.p.p_fd!.get(fd)!;
  assert.equal(await libc.ioctl(fd, S.FIOCLEX), 0);
  assert.ok(ent.fde_flags & UF_EXCLOSE);
  assert.equal(await libc.fcntl(fd, F_GETFD), FD_CLOEXEC);
  assert.equal(await libc.ioctl(fd, S.FIONCLEX), 0);
  assert.equal(ent.fde_flags & UF_EXCLOSE, 0);
  assert.equal(await libc.fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
  assert.ok(ent.fde_flags & UF_EXCLOSE);
  assert.equal(calls.length, 0);
});

test('syscallenter: trapframe, errno, ENOSYS, userret hook', async () => {
  const { k, up, fd } = setup(() => 0);
  const r = await syscallenter(k, up.td, SYS_ioctl, [fd, S.FIOCLEX, 0]);
  assert.deepEqual(r, { error: 0, retval: 0, retval1: 0 });
  const f = up.td.td_frame;
  assert.equal(f.tf_kind, 'syscall');
  assert.equal(f.tf_code, 54);
  assert.equal(f.tf_name, 'ioctl');
  assert.equal(f.tf_rip, 'sys_ioctl');
  assert.deepEqual(f.tf_args, [fd, S.FIOCLEX, 0]);
  const bad = await syscallenter(k, up.td, SYS_ioctl, [99, S.FIOCLEX, 0]);
  assert.equal(bad.error, EBADF);
  assert.equal(up.td.td_errno, EBADF);
  assert.equal(up.td.td_frame.tf_rax, EBADF);
  const nosys = await syscallenter(k, up.td, 9999, []);
  assert.equal(nosys.error, ENOSYS);
  const seen: number[] = [];
  (k as unknown as { userret: (td: { td_tid: number }) => Promise<void> }).userret = async (td) => {
    seen.push(td.td_tid);
  };
  assert.equal(await up.libc.getpid(), up.p.p_pid);
  assert.deepEqual(seen, [up.td.td_tid]);
});

test('close, dup, read/write on /dev/null and /dev/zero', async () => {
  const k = bootTest();
  const { libc } = userproc(k);
  const fd = await libc.open('/dev/null', O_RDWR);
  assert.ok(fd >= 0);
  assert.equal(await libc.write(fd, new Uint8Array(10)), 10);
  assert.equal(await libc.read(fd, new Uint8Array(10)), 0);
  const one = new Uint8Array(4);
  one[0] = 1;
  assert.equal(await libc.ioctl(fd, S.FIONBIO, one), 0, 'no-op ioctl');
  assert.equal(await libc.ioctl(fd, S.SIOCGIFFLAGS, new Uint8Array(32)), -1);
  assert.equal(libc.errno, ENOTTY);
  const fd2 = await libc.dup(fd);
  assert.equal(fd2, fd + 1);
  assert.equal(await libc.close(fd), 0);
  assert.equal(await libc.close(fd), -1);
  assert.equal(libc.errno, EBADF);
  const z = await libc.open('/dev/zero');
  const b = new Uint8Array(8).fill(9);
  assert.equal(await libc.read(z, b), 8);
  assert.deepEqual(b, new Uint8Array(8));
  assert.equal(await libc.write(z, b), -1, 'opened read-only');
  assert.equal(libc.errno, EBADF);
  assert.equal(await libc.open('/nonexistent'), -1);
  assert.equal(libc.errno, ENOENT);
});

test('/dev/kmem: root in the host reads kernel memory; others are refused', async () => {
  const k = bootTest();
  const root = userproc(k);
  const fd = await root.libc.open('/dev/kmem');
  assert.ok(fd >= 0);
  const sym = k.linker.lookup_symbol('mp_ncpus')!;
  const b = new Uint8Array(4);
  assert.equal(await root.libc.pread(fd, b, 4, sym.value), 4);
  assert.equal(new DataView(b.buffer).getInt32(0, true), k.mp_ncpus);
  assert.equal(await root.libc.pread(fd, b, 4, 0x1000), -1);
  assert.equal(root.libc.errno, EFAULT);
  const kvm = root.libc.kvm();
  const r = await kvm.kread(sym.value, 4);
  assert.ok(r instanceof Uint8Array);
  assert.equal((await kvm.kldsym('mp_ncpus')).value, sym.value);

  const user = userproc(k, { uid: 1001 });
  assert.equal(await user.libc.open('/dev/kmem'), -1);
  assert.equal(user.libc.errno, EACCES);
  const jail = new Prison(1, 'j1', k.prison0);
  const jailed = userproc(k, { prison: jail });
  assert.equal(await jailed.libc.open('/dev/kmem'), -1);
  assert.equal(jailed.libc.errno, EPERM);
});

test('a File built directly shares the FileOps contract', () => {
  const f = new File({ fo_type: 'x' }, null, 3);
  assert.equal(f.f_offset, 0);
});
