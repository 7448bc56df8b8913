/*
 * host/udp.ts — the host's UDP sockets, for drivers that carry frames over the real
 * network (vxlan(4)).
 *
 * The kernel never touches node:dgram itself: it is given a HostNet at boot (kern/boot.ts
 * passes this one) and opens endpoints through it.
 *
 * Receive batching.  node:dgram calls its 'message' listener once per datagram, and
 * after each call Node drains the microtask queue — which is where the kernel's thread
 * hand-offs run.  A driver that entered the kernel per datagram therefore woke its
 * netisr thread, ran the stack and switched to the reader for every frame: two context
 * switches (and two saved contexts) per datagram, however many the host had queued.
 * Instead the endpoint collects the datagrams of one event-loop turn (libuv reads what
 * the socket holds, up to a few dozen, in one poll) and hands them over together from
 * setImmediate, which runs right after the poll phase: one interrupt, one netisr wakeup
 * and one reader wakeup per batch, as a NIC's interrupt moderation and its receive ring
 * give FreeBSD.  A batch is also handed over when it reaches HOST_UDP_BATCH_MAX, so a
 * turn never holds more than that.
 *
 * Sending copies the datagram once, into Node's pooled slab (the caller's buffer, an
 * mbuf, is only borrowed), and gives node:dgram one completion callback made at open,
 * not a closure per datagram.  It cannot be left out: without one, node:dgram drops the errors of a send
 * that fails at once (EINVAL, EMSGSIZE, ENETUNREACH) without a word, and those are the
 * ones the driver counts in if_oerrors.
 */

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface HostUdpEndpoint {
  /**
   * Send a datagram (errors are reported to onerror, never thrown).  data is borrowed
   * for the call only: the endpoint copies what it sends later, so the caller may reuse
   * or free the storage (an mbuf) as soon as send returns.
   */
  send(data: Uint8Array, port: number, address: string): void;
  close(): void;
}

/**
 * The datagrams of one event-loop turn: data[i] came from from[i], for i < n.  The
 * arrays are the endpoint's own and are reused for the next batch: the receiver keeps
 * the data buffers (each datagram has its own) but neither the batch nor its arrays.
 */
export interface HostUdpBatch {
  n: number;
  readonly data: Uint8Array[];
  readonly from: { readonly address: string; readonly port: number }[];
}

export interface HostNet {
  /**
   * Bind a UDP endpoint at address:port.  onbound is called once bound (or onerror with
   * the host's error code, e.g. 'EADDRINUSE'); oninput with the datagrams received in
   * one turn of the host's event loop, in arrival order.
   */
  udp_open(
    address: string,
    port: number,
    oninput: (batch: HostUdpBatch) => void,
    onbound: () => void,
    onerror: (code: string) => void,
  ): HostUdpEndpoint;
}

/** SO_RCVBUF of a host endpoint (bytes). */
export const HOST_UDP_RCVBUF = 4 * 1024 * 1024;
/** SO_SNDBUF of a host endpoint (bytes). */
export const HOST_UDP_SNDBUF = 4 * 1024 * 1024;
/** At most this many datagrams in one batch. */
export const HOST_UDP_BATCH_MAX = 256;

export const host_net: HostNet = {
  udp_open(address, port, oninput, onbound, onerror): HostUdpEndpoint {
    // The receive buffer is the driver's receive ring: while the kernel holds Node's
    // event loop (a burst of work on the processor) the peer keeps sending, and the
    // host's default (rmem_default, about 200 KiB: some 250 small datagrams) overflowed
    // under a window of 256 datagrams in bench/vxlan (RcvbufErrors).  Room for a TCP
    // window of full frames and then some.  The host caps both sizes at its
    // rmem_max/wmem_max.
    const s: Socket = createSocket({
      type: 'udp4',
      reuseAddr: false,
      recvBufferSize: HOST_UDP_RCVBUF,
      sendBufferSize: HOST_UDP_SNDBUF,
    });
    let closed = false;
    const batch: HostUdpBatch = { n: 0, data: [], from: [] };
    let pending = false;
    const flush = (): void => {
      pending = false;
      const n = batch.n;
      if (n === 0) return;
      if (!closed) oninput(batch);
      // Drop the references (the arrays keep their length: the slots are reused).
      for (let i = 0; i < n; i++) batch.data[i] = EMPTY;
      batch.n = 0;
    };
    s.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      if (closed) return;
      const i = batch.n++;
      batch.data[i] = msg;
      batch.from[i] = rinfo;
      if (batch.n >= HOST_UDP_BATCH_MAX) flush();
      else if (!pending) {
        pending = true;
        setImmediate(flush);
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (!closed) onerror(e.code ?? 'EIO');
    });
    const onsent = (e: Error | null): void => {
      if (e && !closed) onerror((e as NodeJS.ErrnoException).code ?? 'EIO');
    };
    s.bind(port, address, () => {
      if (!closed) onbound();
    });
    // Do not keep the host process alive just for this socket.
    s.unref();
    return {
      send(data, rport, raddr): void {
        if (closed) return;
        // node:dgram sends on a later tick (it resolves the address first) and may
        // queue the datagram when the socket buffer is full, so it needs bytes nobody
        // else will touch: a copy in Node's pooled slab (no zeroing, no backing store of
        // its own, unlike a new Uint8Array per datagram).
        const b = Buffer.allocUnsafe(data.length);
        b.set(data);
        s.send(b, rport, raddr, onsent);
      },
      close(): void {
        if (closed) return;
        closed = true;
        batch.n = 0;
        try {
          s.close();
        } catch {
          /* already closed */
        }
      },
    };
  },
};

const EMPTY = new Uint8Array(0);
