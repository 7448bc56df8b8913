// Wireshark's dissectors lint a pcapng we write: two interfaces (as two vnets' epair
// ends), a valid Ethernet/IPv4/UDP frame with correct checksums on each.  Needs tshark
// (Debian package `tshark`); CI installs it.  Without it this test fails and says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ETHERTYPE_IP, EtherHeader, ether_aton } from '../../src/net/ethernet.js';
import { PcapngWriter, concatChunks } from '../../src/net/pcap.js';
import { inet_aton } from '../../src/netinet/in.js';
import { IPDEFTTL, IPPROTO_UDP, IP_DF, Ip } from '../../src/netinet/ip.js';
import { Udphdr } from '../../src/netinet/udp.js';
import { MbufPool, M_PREPEND, m_freem, mtod } from '../../src/sys/mbuf.js';

function udpFrame(
  pool: MbufPool,
  src: string,
  dst: string,
  smac: string,
  dmac: string,
): Uint8Array {
  const payload = new TextEncoder().encode('hello from vimage');
  let m = pool.m_devget(payload);
  assert.ok(m);
  const s = inet_aton(src)!;
  const d = inet_aton(dst)!;
  m = M_PREPEND(m, 8)!;
  const uh = new Udphdr(m.m_buf, m.m_data);
  uh.uh_sport = 49152;
  uh.uh_dport = 7;
  uh.uh_ulen = m.m_len;
  uh.setChecksum(s, d);
  m = M_PREPEND(m, 20)!;
  const ip = new Ip(m.m_buf, m.m_data);
  ip.ip_v = 4;
  ip.ip_hl = 5;
  ip.ip_tos = 0;
  ip.ip_len = m.m_len;
  ip.ip_id = 1;
  ip.ip_off = IP_DF;
  ip.ip_ttl = IPDEFTTL;
  ip.ip_p = IPPROTO_UDP;
  ip.ip_src = s;
  ip.ip_dst = d;
  ip.setChecksum();
  m = M_PREPEND(m, 14)!;
  const eh = new EtherHeader(m.m_buf, m.m_data);
  eh.ether_dhost = ether_aton(dmac)!;
  eh.ether_shost = ether_aton(smac)!;
  eh.ether_type = ETHERTYPE_IP;
  const out = mtod(m).slice();
  m_freem(m);
  return out;
}

test('tshark finds no error and nothing malformed in our pcapng', () => {
  const which = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  assert.ok(
    which.error === undefined && which.status === 0,
    'tshark is not installed: install the Debian package `tshark` (CI must do so in .ci/run)',
  );
  const pool = new MbufPool();
  const w = new PcapngWriter({ userappl: 'vimage test' });
  const chunks = [w.header()];
  const a = w.addInterface({ name: 'vnet1:epair0a' });
  const b = w.addInterface({ name: 'vnet2:epair0b' });
  chunks.push(a.block, b.block);
  const f1 = udpFrame(pool, '198.18.0.1', '198.18.0.2', '02:00:00:00:00:0a', '02:00:00:00:00:0b');
  const f2 = udpFrame(pool, '198.18.0.2', '198.18.0.1', '02:00:00:00:00:0b', '02:00:00:00:00:0a');
  chunks.push(w.packet(a.id, 1_000_000_000n, f1));
  chunks.push(w.packet(b.id, 1_000_050_000n, f1));
  chunks.push(w.packet(b.id, 1_000_100_000n, f2));
  chunks.push(w.packet(a.id, 1_000_150_000n, f2));
  const dir = mkdtempSync(join(tmpdir(), 'vimage-tshark-'));
  try {
    const file = join(dir, 'two-ifaces.pcapng');
    writeFileSync(file, concatChunks(chunks));
    const lint = spawnSync(
      'tshark',
      [
        '-r',
        file,
        '-o',
        'ip.check_checksum:TRUE',
        '-o',
        'udp.check_checksum:TRUE',
        '-Y',
        '_ws.expert.severity == error || _ws.malformed',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(lint.status, 0, `tshark failed: ${lint.stderr}`);
    assert.equal(lint.stdout, '', 'tshark reported errors or malformed packets');
    // And it sees what we wrote: 4 UDP packets, on the interfaces we named, with both
    // checksums verified good (checksum.status 1 = good).
    const fields = spawnSync(
      'tshark',
      [
        '-r',
        file,
        '-T',
        'fields',
        '-e',
        'frame.interface_name',
        '-e',
        'udp.checksum.status',
        '-e',
        'ip.checksum.status',
        '-o',
        'ip.check_checksum:TRUE',
        '-o',
        'udp.check_checksum:TRUE',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(fields.status, 0, fields.stderr);
    assert.deepEqual(fields.stdout.trim().split('\n'), [
      'vnet1:epair0a\t1\t1',
      'vnet2:epair0b\t1\t1',
      'vnet2:epair0b\t1\t1',
      'vnet1:epair0a\t1\t1',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
