/*
 * sys/wireview.ts — the base of every wire-format view (struct ip, udphdr, tcphdr, icmp,
 * ether_arp): a byte array and an offset, with big-endian (network order) field access.
 * Getters never allocate; bind() re-targets a view at another packet.
 */

export abstract class WireView {
  constructor(
    public b: Uint8Array,
    public o = 0,
  ) {}

  /** Point the view at another packet (or another place in one). */
  bind(b: Uint8Array, o = 0): this {
    this.b = b;
    this.o = o;
    return this;
  }

  protected g16(at: number): number {
    return (this.b[this.o + at]! << 8) | this.b[this.o + at + 1]!;
  }
  protected s16(at: number, v: number): void {
    this.b[this.o + at] = (v >>> 8) & 0xff;
    this.b[this.o + at + 1] = v & 0xff;
  }
  protected g32(at: number): number {
    const b = this.b;
    const i = this.o + at;
    return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
  }
  protected s32(at: number, v: number): void {
    const b = this.b;
    const i = this.o + at;
    b[i] = (v >>> 24) & 0xff;
    b[i + 1] = (v >>> 16) & 0xff;
    b[i + 2] = (v >>> 8) & 0xff;
    b[i + 3] = v & 0xff;
  }
}
