/*
 * host/udp.ts — the host's UDP sockets, for drivers that carry frames over the real
 * network (vxlan(4)).
 *
 * The kernel never touches node:dgram itself: it is given a HostNet at boot (kern/boot.ts
 * passes this one) and opens endpoints through it.  Datagrams arriving from the host are
 * delivered through a callback, which the driver turns into a kernel interrupt
 * (k.sched.hostintr) — so a frame from Linux enters the stack exactly like one from an
 * epair, on a netisr thread with curvnet set.
 */

import { createSocket, type Socket } from 'node:dgram';

export interface HostUdpEndpoint {
  /** Send a datagram (errors are reported to onerror, never thrown). */
  send(data: Uint8Array, port: number, address: string): void;
  close(): void;
}

export interface HostNet {
  /**
   * Bind a UDP endpoint at address:port.  onbound is called once bound (or onerror with
   * the host's error code, e.g. 'EADDRINUSE'); onmessage for every datagram.
   */
  udp_open(
    address: string,
    port: number,
    onmessage: (data: Uint8Array, from: { address: string; port: number }) => void,
    onbound: () => void,
    onerror: (code: string) => void,
  ): HostUdpEndpoint;
}

/** SO_RCVBUF of a host endpoint (bytes). */
export const HOST_UDP_RCVBUF = 2 * 1024 * 1024;

export const host_net: HostNet = {
  udp_open(address, port, onmessage, onbound, onerror): HostUdpEndpoint {
    // The receive buffer is the driver's receive ring: while the kernel holds Node's
    // event loop (a burst of work on the processor) the peer keeps sending, and the
    // host's default (rmem_default, about 200 KiB: some 250 small datagrams) overflowed
    // under a window of 256 datagrams in bench/vxlan (RcvbufErrors).  The host caps the
    // size at its rmem_max.
    const s: Socket = createSocket({
      type: 'udp4',
      reuseAddr: false,
      recvBufferSize: HOST_UDP_RCVBUF,
    });
    let closed = false;
    s.on('message', (msg, rinfo) => {
      if (!closed) onmessage(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), rinfo);
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (!closed) onerror(e.code ?? 'EIO');
    });
    s.bind(port, address, () => {
      if (!closed) onbound();
    });
    // Do not keep the host process alive just for this socket.
    s.unref();
    return {
      send(data, rport, raddr): void {
        if (closed) return;
        s.send(data, rport, raddr, (e) => {
          if (e && !closed) onerror((e as NodeJS.ErrnoException).code ?? 'EIO');
        });
      },
      close(): void {
        if (closed) return;
        closed = true;
        try {
          s.close();
        } catch {
          /* already closed */
        }
      },
    };
  },
};
