// ifconfig(8) through the shell: listing, cloning epairs and bridges, flags, mtu,
// renaming, link-level addresses, bridge members, and moving interfaces between vnets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sh } from '../lib/sh.js';
import { bootVimage } from '../lib/kernel.js';

test('ifconfig lists lo0; epair create prints epair0a; up, mtu, name, ether, destroy', async () => {
  const r = await sh(
    [
      'ifconfig -l',
      'ifconfig epair create',
      'ifconfig -l',
      'ifconfig epair0a up mtu 9000',
      'ifconfig epair0a',
      'ifconfig epair0b name outside',
      'ifconfig outside ether 02:00:00:00:00:02',
      'ifconfig outside',
      'ifconfig nosuch0 up; echo status=$?',
      'ifconfig epair0a destroy',
      'ifconfig -l',
    ].join('\n'),
  );
  assert.equal(r.status, 0, r.err);
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'lo0');
  assert.equal(lines[1], 'epair0a');
  assert.equal(lines[2], 'lo0 epair0a epair0b');
  assert.match(
    r.out,
    /epair0a: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 9000\n\toptions=60000b<RXCSUM,TXCSUM,VLAN_MTU,RXCSUM_IPV6,TXCSUM_IPV6>\n\tether 02:[0-9a-f:]+:0a\n/,
  );
  assert.match(
    r.out,
    /outside: flags=[0-9a-f]+<[A-Z,]+> metric 0 mtu 1500\n\toptions=[0-9a-f]+<[A-Z0-9_,]+>\n\tether 02:00:00:00:00:02\n/,
  );
  /* SIOCGIFMEDIA: what FreeBSD's ifconfig prints for an epair. */
  assert.match(
    r.out,
    /mtu 9000\n(\t.*\n)*\tmedia: Ethernet 10Gbase-T \(10Gbase-T <full-duplex>\)\n\tstatus: active\n/,
  );
  assert.match(r.err, /ifconfig: interface nosuch0 does not exist/);
  assert.match(r.out, /status=1/);
  assert.equal(lines[lines.length - 2], 'lo0', 'destroying one side removed both');
});

test('ifconfig options: epair checksum offload, TXCSUM shared by both ends, RXCSUM always on', async () => {
  const r = await sh(
    [
      'ifconfig epair create',
      'ifconfig epair0a -txcsum',
      'ifconfig epair0b',
      'ifconfig epair0b -rxcsum -txcsum6',
      'ifconfig epair0a',
      'ifconfig epair0b txcsum txcsum6',
      'ifconfig epair0a',
      'ifconfig lo0',
      'ifconfig lo0 vlanmtu; echo status=$?',
      'ifconfig lo0',
    ].join('\n'),
  );
  assert.equal(r.status, 0, r.err);
  const opts = [...r.out.matchAll(/\toptions=(.*)\n/g)].map((m) => m[1]);
  assert.deepEqual(opts, [
    /* -txcsum on epair0a turned TXCSUM off on epair0b as well. */
    '600009<RXCSUM,VLAN_MTU,RXCSUM_IPV6,TXCSUM_IPV6>',
    /* -rxcsum is not possible on an epair; -txcsum6 reached the other end. */
    '200009<RXCSUM,VLAN_MTU,RXCSUM_IPV6>',
    '60000b<RXCSUM,TXCSUM,VLAN_MTU,RXCSUM_IPV6,TXCSUM_IPV6>',
    '680003<RXCSUM,TXCSUM,LINKSTATE,RXCSUM_IPV6,TXCSUM_IPV6>',
    /* lo0 cannot do VLAN_MTU: nothing changes and nothing fails (ifconfig's setifcap). */
    '680003<RXCSUM,TXCSUM,LINKSTATE,RXCSUM_IPV6,TXCSUM_IPV6>',
  ]);
  assert.match(r.out, /status=0/);
});

test('ifconfig vnet / -vnet moves an interface into a jail and back (VIMAGE)', async () => {
  const k = bootVimage();
  const r = await sh(
    [
      'jail -c name=j1 vnet persist',
      'ifconfig epair create',
      'ifconfig epair0b vnet j1',
      'ifconfig -l',
      'jexec j1 ifconfig -l',
      'ifconfig epair0b vnet nosuchjail; echo status=$?',
      'ifconfig epair0b -vnet j1',
      'ifconfig -l',
    ].join('\n'),
    { kernel: k },
  );
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^lo0 epair0a\nlo0 epair0b\n/m);
  assert.match(r.out, /status=1/);
  assert.match(r.out, /lo0 epair0a epair0b\n$/);
});

test('ifconfig bridge create, addm and deletem', async () => {
  const r = await sh(
    [
      'ifconfig bridge create',
      'ifconfig epair create',
      'ifconfig bridge0 addm epair0a',
      'ifconfig bridge0 deletem epair0a',
      'ifconfig bridge0 addm nosuch; echo status=$?',
    ].join('\n'),
  );
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^bridge0\nepair0a\n/);
  assert.match(r.out, /status=1/);
});
