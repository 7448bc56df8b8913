// A Linux kernel as the peer: a vnet jail's vxlan(4) and a Linux vxlan in a throwaway
// network namespace exchange Ethernet frames over a real veth underlay
// (../shared/reference/scenarios.md "A Linux kernel as the peer (VXLAN)").  Linux pings
// the stack and the stack pings Linux; 16 MiB cross by TCP each way (Linux's socat, our
// nc), checked by SHA-256 (sha256sum on Linux, the console's files on ours); Linux's curl fetches a page our nc serves; the
// lossless part is captured by the bpf hook and linted by tshark; then the transfers
// again with 1% loss each way (nftables in the namespace).  Needs root, network
// namespaces and Debian's iproute2, iputils-ping, socat, curl, ethtool, nftables, tshark
// (.ci/run installs them): where `ip netns add` fails the test FAILS, it never skips.
// Uses the real clock and host UDP port 4789 on 198.18.255.1.  LINUX_PEER_PCAP=file
// keeps the captures.  VIMAGE_ONLY: the stack is a jail with its own vnet.
//
//   vnet jail "lp": vxlan0 198.18.0.1/24             namespace NS: vx42 198.18.0.2/24
//     host UDP 198.18.255.1:4789 == veth (root) ===== veth (NS) 198.18.255.2:4789
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootVimage } from '../../lib/kernel.js';
import { sh, tempRoot } from '../../lib/sh.js';
import { tshark_lint } from '../../lib/tshark.js';
import { shell_batch, type BatchResult } from '../../../src/bin/console.js';
import { bpf_capture_pcapng, type BpfLabCapture } from '../../../src/net/bpf.js';
import type { Kernel } from '../../../src/kern/kernel.js';

const NS = `vimage-lp-${process.pid}`;
const VETH = `vlp${process.pid}`; // root side (interface names: at most 15 characters)
const VETHN = `vlpn${process.pid}`; // namespace side
const VX = 'vx42';
const MIB16 = 16 * 1024 * 1024;
const NFT_TABLE = 'vimage_lp';

/* ---------------------------------------------------------------------------------- */
/* The Linux side                                                                       */

/** Run a host command synchronously (setup and teardown only: it blocks the kernel). */
function host(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function host_err(e: unknown): string {
  const x = e as { stderr?: string; message?: string };
  return (x.stderr?.trim() || x.message || String(e)).trim();
}

interface Run {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
}

/** Processes this test started (killed by PID in the after hook if still running). */
const children = new Set<ChildProcess>();

/** Run a command inside the namespace without blocking the kernel (async). */
function nsexec(args: readonly string[], timeout_ms = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'exec', NS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(c);
    let out = '';
    let err = '';
    c.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    c.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    const t = setTimeout(() => {
      err += `[killed after ${timeout_ms} ms]\n`;
      c.kill('SIGKILL');
    }, timeout_ms);
    c.on('error', (e) => {
      err += `${e.message}\n`;
    });
    c.on('close', (code, signal) => {
      clearTimeout(t);
      children.delete(c);
      resolve({ code, signal, out, err });
    });
  });
}

/** Wait (polling, without blocking the kernel for long) until cond() holds. */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Is a TCP listener on port in the namespace? */
function ns_listening(port: number): boolean {
  return host('ip', ['netns', 'exec', NS, 'ss', '-Hltn', `sport = :${port}`]).trim() !== '';
}

const sha256_file = (f: string): string =>
  createHash('sha256').update(readFileSync(f)).digest('hex');

let nft = false;
let made = false;

/** Namespaces of earlier runs that were killed before their after hook (pid gone). */
function remove_stale(): void {
  let list = '';
  try {
    list = host('ip', ['netns', 'list']);
  } catch {
    return;
  }
  for (const m of list.matchAll(/^vimage-lp-(\d+)\b/gm)) {
    const pid = Number(m[1]);
    try {
      process.kill(pid, 0); // signal 0: only asks whether the process exists
      continue; // alive: another run's
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    try {
      host('ip', ['link', 'del', `vlp${pid}`]);
    } catch {
      /* already gone */
    }
    try {
      host('ip', ['netns', 'del', m[0]]);
    } catch {
      /* already gone */
    }
  }
}

function linux_setup(): void {
  remove_stale();
  try {
    host('ip', ['netns', 'add', NS]);
  } catch (e) {
    throw new Error(
      `linux_peer: cannot create a network namespace (ip netns add ${NS}: ${host_err(e)}). ` +
        'This test needs root, iproute2 and network namespaces; it does not skip.',
    );
  }
  made = true;
  const ip = (...a: string[]): string => host('ip', a);
  const nsip = (...a: string[]): string => host('ip', ['-n', NS, ...a]);
  const sysctl = (name: string): string =>
    host('ip', ['netns', 'exec', NS, 'sh', '-c', `echo 1 > /proc/sys/net/ipv6/conf/${name}`]);
  ip('link', 'add', VETH, 'type', 'veth', 'peer', 'name', VETHN, 'netns', NS);
  // The underlay carries 1500-byte inner frames plus 50 bytes of VXLAN/UDP/IP.
  ip('link', 'set', VETH, 'mtu', '1550');
  ip('addr', 'add', '198.18.255.1/30', 'dev', VETH);
  ip('link', 'set', VETH, 'up');
  nsip('link', 'set', 'lo', 'up');
  nsip('link', 'set', VETHN, 'mtu', '1550');
  nsip('addr', 'add', '198.18.255.2/30', 'dev', VETHN);
  sysctl(`${VETHN}/disable_ipv6`);
  nsip('link', 'set', VETHN, 'up');
  nsip(
    'link',
    'add',
    VX,
    'type',
    'vxlan',
    'id',
    '42',
    'local',
    '198.18.255.2',
    'remote',
    '198.18.255.1',
    'dstport',
    '4789',
    'dev',
    VETHN,
    'nolearning',
  );
  nsip('link', 'set', VX, 'mtu', '1500');
  // Linux leaves the inner TCP/UDP checksum of a frame it sends to a device with
  // checksum offload unfinished (CHECKSUM_PARTIAL: only the pseudo-header sum) and
  // nothing on the way to a local UDP socket completes it, so our stack would count
  // every segment in "discarded for bad checksums".  Checksum in software instead, as
  // a NIC would have done on the wire.
  host('ip', ['netns', 'exec', NS, 'ethtool', '-K', VX, 'tx', 'off']);
  sysctl(`${VX}/disable_ipv6`);
  nsip('addr', 'add', '198.18.0.2/24', 'dev', VX);
  nsip('link', 'set', VX, 'up');
}

function linux_teardown(): string[] {
  const errs: string[] = [];
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  if (!made) return errs;
  const tryrun = (cmd: string, args: string[], must: boolean): void => {
    try {
      host(cmd, args);
    } catch (e) {
      if (must) errs.push(`${cmd} ${args.join(' ')}: ${host_err(e)}`);
    }
  };
  if (nft) tryrun('ip', ['netns', 'exec', NS, 'nft', 'delete', 'table', 'inet', NFT_TABLE], true);
  // Deleting one end removes the pair now (a namespace is destroyed asynchronously).
  tryrun('ip', ['link', 'del', VETH], false);
  tryrun('ip', ['netns', 'del', NS], true);
  made = false;
  return errs;
}

/* ---------------------------------------------------------------------------------- */
/* The vimage side                                                                      */

let k: Kernel;
let root: { dir: string; cleanup: () => void };
let ldir: string; // the Linux side's files
let cap: BpfLabCapture | null = null;
let ourmac = '';

/**
 * Run a console command line; `on` sees standard error as it is written.  A command
 * still running after timeout_ms fails the test (its process is left to the kernel,
 * which the after hook stops).
 */
async function console_run(
  text: string,
  on?: (s: string) => void,
  timeout_ms = 40_000,
): Promise<BatchResult> {
  let err = '';
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = shell_batch(k, ['sh', '-c', text], {
    onErr: (s) => {
      err += s;
      on?.(s);
    },
  });
  const late = new Promise<'late'>((res) => (timer = setTimeout(() => res('late'), timeout_ms)));
  try {
    const r = await Promise.race([run, late]);
    if (r === 'late')
      assert.fail(`console: \`${text}\` still running after ${timeout_ms} ms\n${err}`);
    assert.equal(r.deadlock, false, `the console went idle: ${text}`);
    return r;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A listener at the console and a client on Linux: run `text` (an `nc -v -l` whose
 * "Listening on" starts the client), fail at once if the client fails.  Returns both
 * results and the ms from the client's start to the listener's exit.
 */
async function serve(
  text: string,
  client: () => Promise<Run>,
): Promise<{ r: BatchResult; c: Run; ms: number }> {
  let c: Promise<Run> | null = null;
  let t0 = 0;
  let fail: (e: Error) => void = () => {};
  const failed = new Promise<never>((_, rej) => (fail = rej));
  const r = await Promise.race([
    console_run(text, (s) => {
      if (c !== null || !s.includes('Listening on')) return;
      t0 = performance.now();
      c = client();
      void c.then((x) => {
        if (x.code !== 0) fail(new Error(`the Linux side failed (${x.code}): ${x.err}`));
      });
    }),
    failed,
  ]);
  const ms = performance.now() - t0;
  assert.ok(c !== null, `the console never listened: ${r.err}`);
  return { r, c: await (c as Promise<Run>), ms };
}

// A run stopped by a signal skips the after hook: remove the namespace on the way out.
process.once('exit', () => void linux_teardown());
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    linux_teardown();
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  });

before(async () => {
  root = tempRoot();
  ldir = mkdtempSync(join(tmpdir(), 'vimage-lp-'));
  linux_setup();
  k = bootVimage({ root: root.dir, clock: 'real' });
  cap = bpf_capture_pcapng(k);
  const r = await sh(
    [
      'jail -c name=lp vnet persist >/dev/null',
      'ifconfig vxlan create vxlanid 42 vxlanlocal 198.18.255.1 vxlanlocalport 4789 ' +
        'vxlanremote 198.18.255.2 vxlanremoteport 4789',
      'ifconfig vxlan0 vnet lp',
      'jexec lp ifconfig vxlan0 inet 198.18.0.1/24 up',
    ].join('; '),
    { kernel: k, flags: ['-e'] },
  );
  assert.equal(r.status, 0, r.err);
  // RUNNING once the host has bound the UDP endpoint.
  let cfg = '';
  for (let i = 0; i < 250 && !/RUNNING/.test(cfg); i++) {
    if (i > 0) await new Promise((res) => setTimeout(res, 20));
    cfg = (await sh('jexec lp ifconfig vxlan0', { kernel: k })).out;
  }
  assert.match(cfg, /RUNNING/, 'vxlan0 bound its host UDP socket (is 198.18.255.1:4789 free?)');
  ourmac = /ether ([0-9a-f:]{17})/.exec(cfg)![1]!;
});

after(() => {
  try {
    if (k !== undefined) {
      k.clock.shutdown();
    }
  } finally {
    const errs = linux_teardown();
    rmSync(ldir, { recursive: true, force: true });
    root.cleanup();
    assert.deepEqual(errs, [], 'the namespace is removed');
  }
});

test('Linux pings the stack and the stack pings Linux', async () => {
  const [linux, ours] = await Promise.all([
    nsexec(['ping', '-c', '3', '-W', '2', '198.18.0.1'], 20_000),
    sh('jexec lp ping -c 3 198.18.0.2', { kernel: k }),
  ]);
  assert.equal(linux.code, 0, `Linux's ping:\n${linux.out}${linux.err}`);
  assert.match(linux.out, /3 packets transmitted, 3 received/);
  assert.equal(ours.status, 0, ours.out + ours.err);
  assert.match(ours.out, /3 packets transmitted, 3 packets received/);
  // From here on the jail's ARP entry for 198.18.0.2 keeps a callout pending, so a
  // console command waiting for Linux is never mistaken for an idle (deadlocked) kernel.
});

/** Linux's socat sends a 16 MiB file to `nc -l` in the jail; returns the ms it took. */
async function linux_to_stack(port: number): Promise<number> {
  const src = join(ldir, `up${port}.bin`);
  host('sh', ['-c', `head -c ${MIB16} /dev/urandom > ${src}`]);
  const want = host('sha256sum', [src]).split(' ')[0]!;
  const { r, c, ms } = await serve(`jexec lp nc -v -l ${port} > up${port}.bin`, () =>
    nsexec(['socat', '-u', `FILE:${src}`, `TCP:198.18.0.1:${port}`], 60_000),
  );
  assert.equal(c.code, 0, `socat: ${c.err}`);
  assert.equal(r.status, 0, r.err);
  assert.equal(sha256_file(join(root.dir, `up${port}.bin`)), want, 'the bytes Linux sent arrived');
  return ms;
}

/** The jail's nc sends a 16 MiB file (made by dd at the console) to Linux's socat. */
async function stack_to_linux(port: number): Promise<number> {
  const dst = join(ldir, `down${port}.bin`);
  const d = await sh(`dd if=/dev/urandom of=down${port}.bin bs=1m count=16`, { kernel: k });
  assert.equal(d.status, 0, d.err);
  const want = sha256_file(join(root.dir, `down${port}.bin`));
  const server = nsexec(
    ['socat', '-u', `TCP-LISTEN:${port},bind=198.18.0.2,reuseaddr`, `CREATE:${dst}`],
    60_000,
  );
  await until(() => ns_listening(port), `socat listening on ${port}`);
  const t0 = performance.now();
  const r = await console_run(`jexec lp nc -N 198.18.0.2 ${port} < down${port}.bin`);
  assert.equal(r.status, 0, r.err);
  const c = await server;
  const ms = performance.now() - t0;
  assert.equal(c.code, 0, `socat: ${c.err}`);
  assert.equal(host('sha256sum', [dst]).split(' ')[0], want, 'the bytes the jail sent arrived');
  return ms;
}

test('16 MiB from Linux to the stack over TCP, SHA-256 checked', async (t) => {
  t.diagnostic(`${Math.round(await linux_to_stack(5001))} ms`);
});

test('16 MiB from the stack to Linux over TCP, SHA-256 checked', async (t) => {
  t.diagnostic(`${Math.round(await stack_to_linux(5002))} ms`);
});

test("Linux's curl fetches a page from nc in the jail", async () => {
  const body =
    '<!DOCTYPE html>\n<html><head><title>vimage</title></head><body>\n' +
    Array.from({ length: 2000 }, (_, i) => `<p>line ${i} served by a vnet jail</p>\n`).join('') +
    '</body></html>\n';
  writeFileSync(
    join(root.dir, 'response.http'),
    'HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  const page = join(ldir, 'page.html');
  // curl checks the length against Content-Length (exit 18 when short).
  const { r, c } = await serve('jexec lp nc -v -N -l 8080 < response.http > request.txt', () =>
    nsexec(
      [
        'curl',
        '-sS',
        '--max-time',
        '20',
        '-o',
        page,
        '-w',
        '%{http_code} %{size_download}',
        'http://198.18.0.1:8080/index.html',
      ],
      30_000,
    ),
  );
  assert.equal(c.code, 0, `curl: ${c.err}`);
  assert.equal(c.out, `200 ${Buffer.byteLength(body)}`);
  assert.equal(readFileSync(page, 'utf8'), body);
  assert.equal(r.status, 0, r.err);
  const req = readFileSync(join(root.dir, 'request.txt'), 'utf8');
  assert.match(req, /^GET \/index\.html HTTP\/1\.1\r\nHost: 198\.18\.0\.1:8080\r\n/);
});

test('tshark finds nothing wrong in our frames and no data retransmissions', (t) => {
  const pcap = cap!.stop();
  cap = null;
  // LINUX_PEER_PCAP=file keeps the capture for a look with Wireshark.
  const keep = process.env['LINUX_PEER_PCAP'];
  if (keep) writeFileSync(keep, pcap);
  // Only data counts as a retransmission here: when Linux's tail loss probe repeats its
  // FIN (our ACK was still queued behind its burst), our LAST_ACK answers with the FIN
  // again, as FreeBSD's tcp_output does (TF_SENTFIN: snd_nxt backs up over it).
  const t0 = performance.now();
  // The transfers' random bytes are data, not a protocol for a heuristic to guess at.
  tshark_lint(pcap, `eth.src==${ourmac}`, 'ip.src==198.18.0.1 && tcp.len > 0', [
    '-d',
    'tcp.port==5001-5004,data',
  ]);
  t.diagnostic(`${pcap.length} bytes linted in ${Math.round(performance.now() - t0)} ms`);
});

test('with 1% loss on the underlay (nftables in the namespace), 16 MiB each way', async (t) => {
  const rules = join(ldir, 'loss.nft');
  writeFileSync(
    rules,
    `table inet ${NFT_TABLE} {\n` +
      // Our datagrams to Linux's vxlan socket, and Linux's vxlan datagrams to ours.
      '  chain in {\n    type filter hook input priority 0; policy accept;\n' +
      '    udp dport 4789 numgen random mod 100 < 1 counter drop\n  }\n' +
      '  chain out {\n    type filter hook output priority 0; policy accept;\n' +
      '    udp dport 4789 numgen random mod 100 < 1 counter drop\n  }\n' +
      '}\n',
  );
  host('ip', ['netns', 'exec', NS, 'nft', '-f', rules]);
  nft = true;
  const keep = process.env['LINUX_PEER_PCAP'];
  const lcap = keep ? bpf_capture_pcapng(k) : null;
  const up = await linux_to_stack(5003);
  const down = await stack_to_linux(5004);
  if (lcap) writeFileSync(`${keep}.loss`, lcap.stop());
  t.diagnostic(`up ${Math.round(up)} ms, down ${Math.round(down)} ms`);
  const st = await sh('netstat -s -p tcp -j lp', { kernel: k });
  t.diagnostic(
    st.out
      .split('\n')
      .filter((l) => /retransmit|SACK recovery|out-of-order|duplicate acks/.test(l))
      .map((l) => l.trim())
      .join('; '),
  );
  const list = host('ip', ['netns', 'exec', NS, 'nft', 'list', 'table', 'inet', NFT_TABLE]);
  const drops = [...list.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]));
  assert.equal(drops.length, 2, list);
  assert.ok(drops[0]! > 0 && drops[1]! > 0, `frames were dropped both ways: ${drops.join(', ')}`);
});
