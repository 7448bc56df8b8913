/*
 * bench/lib/node_tcp.ts — Node's own TCP (node:net) over the host loopback: one bulk
 * transfer, TOTAL bytes in CHUNK-byte writes over one new connection, timed from
 * net.connect() until the server side has counted TOTAL bytes and seen EOF.
 *
 * round() runs it in the calling process.  NodeTcp runs it in a child Node process
 * forked from this file, one round per request, so that the figure is node:net's own
 * and not node:net beside a kernel.  In six runs of bench/tcp, node:net in the
 * benchmark's process (after a collection, as every round there starts) ran at
 * 1.25-1.53 GiB/s in the median, and in a child of its own at 1.66-2.02 in the same
 * runs.  Two causes, each measured alone in fresh processes: V8 has grown the young
 * generation for the kernel's allocations, the old generation's slack is now smaller
 * than it, and every round of 64 MiB of short-lived Buffers starts an incremental mark of
 * the kernel's heap (12-14 in ten rounds, against none without a kernel:
 * --trace-incremental-marking); and a full collection before a round slows node:net's
 * next round by itself (1.85 against 2.15 GiB/s, alone).
 */

import net from 'node:net';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const NODE_TOTAL = 64 * 1024 * 1024;
export const NODE_CHUNK = 65536;

export interface NodeServer {
  server: net.Server;
  port: number;
}

export async function nodeServer(): Promise<NodeServer> {
  const server = net.createServer();
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** One round over S; resolves to payload bytes per second. */
export function round(S: NodeServer, total = NODE_TOTAL, chunkLen = NODE_CHUNK): Promise<number> {
  const chunk = Buffer.alloc(chunkLen);
  return new Promise((resolve, reject) => {
    let got = 0;
    const t0 = process.hrtime.bigint();
    S.server.once('connection', (s: net.Socket) => {
      s.on('data', (b: Buffer) => {
        got += b.length;
      });
      s.on('end', () => {
        const t = Number(process.hrtime.bigint() - t0);
        s.destroy();
        if (got !== total) reject(new Error(`node:net: ${got} of ${total} bytes`));
        else resolve((total * 1e9) / t);
      });
    });
    const cl = net.connect(S.port, '127.0.0.1');
    cl.on('error', reject);
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        const n = Math.min(chunkLen, total - sent);
        sent += n;
        if (!cl.write(n === chunkLen ? chunk : chunk.subarray(0, n))) {
          cl.once('drain', pump);
          return;
        }
      }
      cl.end();
    };
    cl.once('connect', pump);
  });
}

interface Request {
  total: number;
  chunk: number;
}
type Reply = { rate: number } | { error: string };

/** node:net in a child process of its own; round() asks it for one transfer. */
export class NodeTcp {
  private readonly child: ChildProcess;

  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), ['--node-tcp-child'], {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  }

  /** One round in the child; bytes per second. */
  round(total = NODE_TOTAL, chunk = NODE_CHUNK): Promise<number> {
    return new Promise((resolve, reject) => {
      const onexit = (code: number | null): void =>
        reject(new Error(`node:net child exited (${code})`));
      this.child.once('exit', onexit);
      this.child.once('message', (m: Reply) => {
        this.child.off('exit', onexit);
        if ('error' in m) reject(new Error(m.error));
        else resolve(m.rate);
      });
      this.child.send({ total, chunk } satisfies Request);
    });
  }

  close(): void {
    this.child.disconnect();
  }
}

/* The child: a server, then one round per request until the parent disconnects. */
if (process.argv.includes('--node-tcp-child') && process.send !== undefined) {
  const S = await nodeServer();
  /* No gc() before a round: node:net's own garbage is its steady state, and a full
   * collection before each round slowed it (1.85 against 2.15 GiB/s, alone). */
  process.on('message', (q: Request) => {
    round(S, q.total, q.chunk).then(
      (rate) => process.send!({ rate } satisfies Reply),
      (e: unknown) => process.send!({ error: String(e) } satisfies Reply),
    );
  });
  process.on('disconnect', () => S.server.close());
}
