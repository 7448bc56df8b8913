#!/usr/bin/env node
// A minimal external harness for the test-control endpoint (docs/TESTCTL.md), using
// nothing but node:net — the same could be written in any language with Unix sockets
// and JSON.  Against the twojails lab:
//
//   node dist/src/bin/vimage.js ctl /tmp/ctl.sock examples/twojails.yml &
//   node examples/testctl.mjs /tmp/ctl.sock
//
// b listens, a connects and sends a line, b reads it; a closes first and is left in
// TIME_WAIT, which the harness drops.  Requests are pipelined: accept is sent before
// the connection exists and is answered when it does.
import net from 'node:net';

const path = process.argv[2];
if (path === undefined) {
  process.stderr.write('usage: node examples/testctl.mjs SOCKET\n');
  process.exit(64);
}

const sock = net.createConnection(path);
const waiting = new Map();
let nid = 0;
let buf = '';
sock.setEncoding('utf8');
sock.on('data', (d) => {
  buf += d;
  for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
    const msg = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    if (msg.event !== undefined) continue; // packets of a tap, if any
    waiting.get(msg.id)?.(msg);
    waiting.delete(msg.id);
  }
});

/** Send a request; resolves with its result, rejects with "ENAME: message". */
function call(op, args = {}) {
  const id = ++nid;
  sock.write(JSON.stringify({ id, op, ...args }) + '\n');
  return new Promise((resolve, reject) =>
    waiting.set(id, (m) =>
      'result' in m ? resolve(m.result) : reject(new Error(`${op}: ${m.error}: ${m.message}`)),
    ),
  );
}

const { fd: ls } = await call('socket', { jail: 'b', type: 'stream' });
await call('bind', { jail: 'b', fd: ls, addr: '192.0.2.2', port: 8080 });
await call('listen', { jail: 'b', fd: ls });
const accepted = call('accept', { jail: 'b', fd: ls }); // answered once a connects

const { fd: cs } = await call('socket', { jail: 'a', type: 'stream' });
await call('connect', { jail: 'a', fd: cs, addr: '192.0.2.2', port: 8080 });
const { fd: as, peer } = await accepted;
console.log(`b accepted fd ${as} from ${peer.addr}:${peer.port}`);

await call('send', { jail: 'a', fd: cs, data: 'hello from a\n', encoding: 'utf8' });
const got = await call('recv', { jail: 'b', fd: as, encoding: 'utf8' });
console.log(`b received ${got.len} bytes: ${JSON.stringify(got.data)}`);

try {
  await call('connect', { jail: 'a', fd: cs, addr: '192.0.2.2', port: 8080 });
} catch (e) {
  console.log(`connecting again: ${e.message}`);
}

await call('close', { jail: 'a', fd: cs });
await call('close', { jail: 'b', fd: as });
const { pcbs } = await call('pcblist', { jail: 'a', proto: 'tcp' });
console.log(`a's pcbs: ${pcbs.map((p) => `${p.lport}>${p.fport} ${p.state}`).join(', ')}`);
const { count } = await call('tcpdrop', { jail: 'a', state: 'TIME_WAIT' });
console.log(`tcpdrop: ${count} dropped`);
const { time_ns } = await call('clock');
console.log(`kernel time: ${time_ns} ns`);
sock.end();
