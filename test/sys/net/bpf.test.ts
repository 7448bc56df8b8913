// bpf(4): a reader in a user process opens /dev/bpf, attaches to an interface and
// reads records with correct struct bpf_hdr; a filter program (BIOCSETF) drops frames
// that do not match; statistics; blocking reads with a timeout under the scheduler;
// captured frames written as pcap read back identically.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTest, bootVimage } from '../../lib/kernel.js';
import { userproc } from '../../lib/proc.js';
import type { Kernel } from '../../../src/kern/kernel.js';
import { if_clone_create } from '../../../src/net/if_clone.js';
import { ifr_name_set, ifunit, if_up } from '../../../src/net/if.js';
import { with_vnet } from '../../../src/net/vnet.js';
import { AF_UNSPEC, type Ifnet } from '../../../src/net/if_var.js';
import {
  ETHER_BCAST,
  ETHERTYPE_ARP,
  ETHERTYPE_IP,
  type ether_addr_t,
} from '../../../src/net/ethernet.js';
import { mtod } from '../../../src/sys/mbuf.js';
import {
  BIOCGBLEN,
  BIOCGDLT,
  BIOCGSTATS,
  BIOCIMMEDIATE,
  BIOCSBLEN,
  BIOCSETF,
  BIOCSETIF,
  BIOCSRTIMEOUT,
  DLT_EN10MB,
  bpf_capture_pcapng,
} from '../../../src/net/bpf.js';
import {
  BPF_ABS,
  BPF_H,
  BPF_JEQ,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_RET,
  BPF_JUMP,
  BPF_STMT,
  BPF_WORDALIGN,
  bpf_program_encode,
} from '../../../src/net/bpf_filter.js';
import { O_RDWR, O_NONBLOCK } from '../../../src/sys/fcntl.js';
import { EAGAIN, EINVAL, ENXIO } from '../../../src/sys/errno.js';
import { PcapWriter, pcap_read, concatChunks } from '../../../src/net/pcap.js';
import { Libc } from '../../../src/lib/libc.js';

function lab(vimage = false): { k: Kernel; a: Ifnet; b: Ifnet } {
  const k = vimage ? bootVimage() : bootTest();
  const { a, b } = k.enter(() =>
    with_vnet(k.vnet0, () => {
      if_clone_create('epair', null);
      const a = ifunit('epair0a')!;
      const b = ifunit('epair0b')!;
      if_up(a);
      if_up(b);
      return { a, b };
    }),
  );
  return { k, a, b };
}

function send(k: Kernel, ifp: Ifnet, dst: number, type: number, len: number, fill: number): void {
  k.enter(() =>
    with_vnet(ifp.if_vnet!, () => {
      const m = k.mbpool.m_gethdr(len)!;
      mtod(m).fill(fill);
      ifp.if_output(
        ifp,
        m,
        { sa_family: AF_UNSPEC, ether_dhost: dst as ether_addr_t, ether_type: type },
        null,
      );
    }),
  );
}

interface Rec {
  sec: number;
  usec: number;
  caplen: number;
  datalen: number;
  hdrlen: number;
  data: Uint8Array;
}

function parse(buf: Uint8Array, n: number): Rec[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, n);
  const out: Rec[] = [];
  let o = 0;
  while (o < n) {
    const caplen = dv.getUint32(o + 16, true);
    const hdrlen = dv.getUint16(o + 24, true);
    out.push({
      sec: Number(dv.getBigInt64(o, true)),
      usec: Number(dv.getBigInt64(o + 8, true)),
      caplen,
      datalen: dv.getUint32(o + 20, true),
      hdrlen,
      data: buf.slice(o + hdrlen, o + hdrlen + caplen),
    });
    o += BPF_WORDALIGN(hdrlen + caplen);
  }
  return out;
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

test('a bpf reader sees both directions with correct bpf_hdr; a filter drops others', async () => {
  const { k, a, b } = lab();
  const up = userproc(k);
  const c = up.libc;
  const fd = await c.open('/dev/bpf', O_RDWR);
  assert.ok(fd >= 0, `open: ${c.strerror()}`);
  const ifr = new Uint8Array(32);
  ifr_name_set(ifr, 'nosuch0');
  assert.equal(await c.ioctl(fd, BIOCSETIF, ifr), -1);
  assert.equal(up.td.td_errno, ENXIO);
  const blen = u32(0);
  assert.equal(await c.ioctl(fd, BIOCGBLEN, blen), 0);
  assert.equal(new DataView(blen.buffer).getUint32(0, true), 4096);
  assert.equal(await c.ioctl(fd, BIOCSBLEN, u32(8192)), 0);
  ifr_name_set(ifr, 'epair0b');
  assert.equal(await c.ioctl(fd, BIOCSETIF, ifr), 0);
  assert.equal(await c.ioctl(fd, BIOCSBLEN, u32(4096)), -1, 'no resize once attached');
  const dlt = u32(99);
  assert.equal(await c.ioctl(fd, BIOCGDLT, dlt), 0);
  assert.equal(new DataView(dlt.buffer).getUint32(0, true), DLT_EN10MB);
  assert.equal(await c.ioctl(fd, BIOCIMMEDIATE, u32(1)), 0);

  send(k, a, b.if_lladdr!, ETHERTYPE_ARP, 28, 0xaa); // in on b
  send(k, b, a.if_lladdr!, ETHERTYPE_IP, 40, 0xbb); // out on b
  await k.run_until_idle();
  const buf = new Uint8Array(8192);
  assert.equal(await c.read(fd, new Uint8Array(100)), -1, 'read size must be the buffer size');
  assert.equal(up.td.td_errno, EINVAL);
  const n = await c.read(fd, buf);
  assert.ok(n > 0, `read: ${c.strerror()}`);
  const recs = parse(buf, n);
  assert.equal(recs.length, 2);
  assert.deepEqual(
    recs.map((r) => [r.caplen, r.datalen, r.hdrlen]),
    [
      [54, 54, 26],
      [42, 42, 26],
    ],
    'the output is tapped at once, the input when the netisr thread delivers it',
  );
  assert.equal(recs[0]!.data[14], 0xbb);
  assert.equal(recs[1]!.data[12], 0x08);
  assert.equal(recs[1]!.data[13], 0x06);
  assert.equal(recs[1]!.data[14], 0xaa);
  assert.ok(recs[0]!.sec > 1_000_000_000, 'a wall-clock timestamp');

  // Filter: only ARP (ldh [12]; jeq #0x806; ret #-1; ret #0).
  const prog = bpf_program_encode([
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_ARP, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
  ]);
  const ins = c.malloc(prog.length)!;
  ins.buf.set(prog);
  const bp = new Uint8Array(16);
  const bdv = new DataView(bp.buffer);
  bdv.setUint32(0, 4, true);
  bdv.setBigUint64(8, BigInt(ins.addr), true);
  assert.equal(await c.ioctl(fd, BIOCSETF, bp), 0);
  bdv.setUint32(0, 0x7fffffff, true);
  assert.equal(await c.ioctl(fd, BIOCSETF, bp), -1, 'too many instructions');
  send(k, a, b.if_lladdr!, ETHERTYPE_IP, 30, 1);
  send(k, a, ETHER_BCAST, ETHERTYPE_ARP, 28, 2);
  send(k, a, b.if_lladdr!, ETHERTYPE_IP, 30, 3);
  await k.run_until_idle();
  const n2 = await c.read(fd, buf);
  const r2 = parse(buf, n2);
  assert.deepEqual(
    r2.map((r) => r.data[14]),
    [2],
    'only the ARP frame passed',
  );
  const st = new Uint8Array(8);
  assert.equal(await c.ioctl(fd, BIOCGSTATS, st), 0);
  const sdv = new DataView(st.buffer);
  assert.equal(sdv.getUint32(0, true), 3, 'bs_recv counts every packet seen since BIOCSETF');
  assert.equal(sdv.getUint32(4, true), 0, 'bs_drop');

  // Non-blocking read with nothing stored: EAGAIN.
  const fd2 = await c.open('/dev/bpf', O_RDWR | O_NONBLOCK);
  assert.equal(await c.ioctl(fd2, BIOCSETIF, ifr), 0);
  assert.equal(await c.read(fd2, new Uint8Array(4096)), -1);
  assert.equal(up.td.td_errno, EAGAIN);

  // Captured frames written as pcap read back identically.
  const w = new PcapWriter();
  const chunks = [w.header()];
  for (const r of [...recs, ...r2])
    chunks.push(
      w.packet(BigInt(r.sec) * 1_000_000_000n + BigInt(r.usec) * 1000n, r.data, r.datalen),
    );
  const rd = pcap_read(concatChunks(chunks));
  assert.ok(rd.ok);
  if (rd.ok) {
    assert.equal(rd.capture.packets.length, 3);
    assert.deepEqual(
      rd.capture.packets.map((p) => Array.from(p.data)),
      [...recs, ...r2].map((r) => Array.from(r.data)),
    );
  }
  assert.equal(await c.close(fd), 0);
  assert.equal(await c.close(fd2), 0);
});

test('blocking reads wake on the timeout with what is stored', async () => {
  const { k, a, b } = lab();
  const got: number[] = [];
  k.proc_create('tcpdump', { cr_uid: 0, cr_prison: k.prison0 }, async (td) => {
    const c = new Libc(k, td);
    const fd = await c.open('/dev/bpf', O_RDWR);
    const ifr = new Uint8Array(32);
    ifr_name_set(ifr, 'epair0b');
    await c.ioctl(fd, BIOCSETIF, ifr);
    const tv = new Uint8Array(16);
    new DataView(tv.buffer).setBigInt64(0, 1n, true);
    await c.ioctl(fd, BIOCSRTIMEOUT, tv);
    const buf = new Uint8Array(4096);
    got.push(await c.read(fd, buf), k.now());
    got.push(await c.read(fd, buf), k.now());
  });
  await k.run_for(0.5);
  send(k, a, b.if_lladdr!, ETHERTYPE_ARP, 28, 7);
  await k.run_until_idle();
  assert.equal(got[0], 26 + 42, 'the stored record comes back at the timeout');
  assert.ok(got[1]! >= 1e9);
  assert.equal(got[2], 0, 'nothing stored: 0 bytes at the timeout');
  assert.ok(got[3]! >= 2e9);
});

test('a kernel-wide pcapng capture puts every interface of every vnet on one timeline', async () => {
  const { k, a, b } = lab();
  if (k.vimage) {
    const { kern_jail_set } = await import('../../../src/kern/kern_jail.js');
    const { if_vmove } = await import('../../../src/net/if.js');
    const j = k.enter(() => kern_jail_set(k, k.prison0, { name: 'j', vnet: true, persist: true }));
    k.enter(() => if_vmove(b, j.pr!.pr_vnet!));
  }
  const cap = bpf_capture_pcapng(k);
  send(k, a, b.if_lladdr!, ETHERTYPE_ARP, 28, 1);
  await k.run_for(0.25);
  send(k, b, a.if_lladdr!, ETHERTYPE_ARP, 28, 2);
  await k.run_until_idle();
  const file = cap.stop();
  send(k, a, b.if_lladdr!, ETHERTYPE_ARP, 28, 3);
  await k.run_until_idle();
  const rd = pcap_read(file);
  assert.ok(rd.ok, rd.ok ? '' : rd.error);
  if (!rd.ok) return;
  const c = rd.capture;
  assert.equal(c.format, 'pcapng');
  const bname = k.vimage ? `vnet${b.if_vnet!.vnet_id}:epair0b` : 'vnet0:epair0b';
  assert.deepEqual(
    c.interfaces.map((i) => i.name),
    [`vnet${k.vimage ? k.vnet0.vnet_id : 0}:epair0a`, bname],
  );
  // a out, b in, b out, a in: four taps of two frames, in time order.
  assert.deepEqual(
    c.packets.map((p) => [p.ifid, p.data[14]]),
    [
      [0, 1],
      [1, 1],
      [1, 2],
      [0, 2],
    ],
  );
  assert.ok(c.packets[2]!.ts_ns >= 250_000_000n);
});

test('a descriptor loses an interface that moves to another vnet (ENXIO)', async () => {
  // Moving needs a vnet jail: this one runs on a VIMAGE kernel in both passes.
  const { k, b } = lab(true);
  const up = userproc(k);
  const c = up.libc;
  const fd = await c.open('/dev/bpf', O_RDWR);
  const ifr = new Uint8Array(32);
  ifr_name_set(ifr, 'epair0b');
  assert.equal(await c.ioctl(fd, BIOCSETIF, ifr), 0);
  const { kern_jail_set } = await import('../../../src/kern/kern_jail.js');
  const { if_vmove } = await import('../../../src/net/if.js');
  const j = k.enter(() => kern_jail_set(k, k.prison0, { name: 'j', vnet: true, persist: true }));
  k.enter(() => if_vmove(b, j.pr!.pr_vnet!));
  assert.equal(await c.read(fd, new Uint8Array(4096)), -1);
  assert.equal(up.td.td_errno, ENXIO);
  // The host cannot attach to it any more; a reader in the jail can.
  assert.equal(await c.ioctl(fd, BIOCSETIF, ifr), -1);
  const jp = userproc(k, { prison: j.pr! });
  const jfd = await jp.libc.open('/dev/bpf', O_RDWR);
  assert.equal(await jp.libc.ioctl(jfd, BIOCSETIF, ifr), 0);
});
