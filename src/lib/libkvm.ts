/*
 * lib/libkvm.ts — kernel memory access for monitoring tools (libkvm(3)).
 *
 * A tool that knows only a symbol's name and its type's byte layout reads it here,
 * exactly as FreeBSD's netstat does: kvm_nlist resolves names with kldsym(2) — one
 * leading '_' stripped (a.out heritage), then retried with the `vnet_entry_` and
 * `pcpu_entry_` prefixes — and translates the master address of a virtualized variable
 * into the selected vnet's copy (vnet_data_base) or the selected CPU's (dpcpu_off).
 * The default vnet is the calling process's jail's vnet.  kvm_read reads kernel memory
 * through the kernel (/dev/kmem).  This is what keeps netstat working across kernels:
 * neither the tool nor this library imports the kernel code that defines a variable.
 *
 * The kernel is reached through a KvmBackend (syscalls from a process; see libc), so
 * libkvm is userland code.
 */

import { ENOENT } from '../sys/errno.js';
import { PAGE_SIZE } from '../sys/param.js';

export const VNET_SYMPREFIX = 'vnet_entry_';
export const DPCPU_SYMPREFIX = 'pcpu_entry_';

/** What libkvm needs from the kernel. */
export interface KvmBackend {
  /** kldsym(0, KLDSYM_LOOKUP): [errno, value, size]. */
  kldsym(name: string): Promise<{ error: number; value: number; size: number }>;
  /** Read kernel memory (/dev/kmem): bytes or an errno. */
  kread(addr: number, len: number): Promise<Uint8Array | number>;
  /** The struct vnet address of the calling process's jail (0 when not VIMAGE). */
  curvnet(): Promise<number>;
}

export interface NlistEntry {
  n_name: string;
  n_value: number;
  n_size: number;
  /** 0 plain, 1 translated through the vnet, 2 through the CPU. */
  n_kind?: number;
}

export class Kvm {
  private vnet_base = 0;
  private vnet_selected = 0;
  private vnet_start = 0;
  private vnet_stop = 0;
  private dpcpu_start = 0;
  private dpcpu_stop = 0;
  private cpu_selected = 0;
  private offs: number[] = [];
  errbuf = '';

  private constructor(private readonly be: KvmBackend) {}

  /** kvm_openfiles(NULL, "/dev/null", NULL, O_RDONLY, errbuf) on the live kernel. */
  static async open(be: KvmBackend): Promise<Kvm> {
    const kd = new Kvm(be);
    const s = async (n: string): Promise<number> => {
      const r = await be.kldsym(n);
      return r.error === 0 ? r.value : 0;
    };
    kd.vnet_start = await s('__start_set_vnet');
    kd.vnet_stop = await s('__stop_set_vnet');
    kd.dpcpu_start = await s('__start_set_pcpu');
    kd.dpcpu_stop = await s('__stop_set_pcpu');
    // _kvm_dpcpu_init: mp_ncpus and the dpcpu_off[] array, read by symbol.
    const ncpu = await kd.readInt('mp_ncpus');
    const offp = await s('dpcpu_off');
    if (ncpu > 0 && offp) {
      const b = await be.kread(offp, ncpu * 8);
      if (typeof b !== 'number') {
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        for (let c = 0; c < ncpu; c++)
          kd.offs.push(dv.getUint32(c * 8, true) + dv.getInt32(c * 8 + 4, true) * 4294967296);
      }
    }
    await kd.vnet_select(await be.curvnet());
    return kd;
  }

  private async readInt(name: string): Promise<number> {
    const r = await this.be.kldsym(name);
    if (r.error !== 0) return -1;
    const b = await this.be.kread(r.value, 4);
    if (typeof b === 'number') return -1;
    return new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true);
  }

  /**
   * _kvm_vnet_selectpid: select a vnet by its struct vnet address; reads the struct
   * through kernel memory and checks the magic number.
   */
  async vnet_select(vnetp: number): Promise<number> {
    if (vnetp === 0) {
      this.vnet_selected = 0;
      this.vnet_base = 0;
      return 0;
    }
    const s = await this.be.kread(vnetp, 48);
    if (typeof s === 'number') {
      this.errbuf = `cannot read struct vnet at 0x${vnetp.toString(16)}`;
      return s;
    }
    const dv = new DataView(s.buffer, s.byteOffset, s.byteLength);
    if (dv.getUint32(16, true) !== 0x3e0d8f29) {
      this.errbuf = `invalid vnet magic at 0x${vnetp.toString(16)}`;
      return 22;
    }
    this.vnet_selected = vnetp;
    this.vnet_base = dv.getUint32(40, true) + dv.getUint32(44, true) * 4294967296;
    return 0;
  }

  kvm_dpcpu_setcpu(cpu: number): number {
    if (cpu < 0 || cpu >= this.offs.length || (cpu > 0 && this.offs[cpu] === 0)) return 22;
    this.cpu_selected = cpu;
    return 0;
  }

  /** kvm_nlist: resolve names in place; returns the number left unresolved. */
  async kvm_nlist(nl: NlistEntry[]): Promise<number> {
    let missing = 0;
    for (const n of nl) {
      const base = n.n_name.startsWith('_') ? n.n_name.slice(1) : n.n_name;
      let r = await this.be.kldsym(base);
      n.n_kind = 0;
      if (r.error === ENOENT) {
        r = await this.be.kldsym(VNET_SYMPREFIX + base);
        if (r.error === 0) {
          n.n_kind = 1;
          if (this.vnet_base && r.value >= this.vnet_start && r.value < this.vnet_stop)
            r.value += this.vnet_base;
        }
      }
      if (r.error === ENOENT) {
        r = await this.be.kldsym(DPCPU_SYMPREFIX + base);
        if (r.error === 0) {
          n.n_kind = 2;
          if (r.value >= this.dpcpu_start && r.value < this.dpcpu_stop)
            r.value += this.offs[this.cpu_selected] ?? 0;
        }
      }
      if (r.error !== 0) {
        n.n_value = 0;
        n.n_size = 0;
        missing++;
      } else {
        n.n_value = r.value;
        n.n_size = r.size;
      }
    }
    return missing;
  }

  /** kvm_read: bytes at a kernel address, or an errno. */
  async kvm_read(addr: number, len: number): Promise<Uint8Array | number> {
    return this.be.kread(addr, len);
  }

  /**
   * kvm_counter_u64_fetch: a counter(9) value summed over the CPUs; CPU c's copy is at
   * the counter's address + c * PAGE_SIZE (the per-CPU zone stride).
   */
  async kvm_counter_u64_fetch(addr: number): Promise<number> {
    let sum = 0;
    for (let c = 0; c < this.offs.length; c++) {
      const b = await this.be.kread(addr + c * PAGE_SIZE, 8);
      if (typeof b === 'number') return -1;
      const dv = new DataView(b.buffer, b.byteOffset, 8);
      sum += dv.getUint32(0, true) + dv.getUint32(4, true) * 4294967296;
    }
    return sum;
  }

  get selected_vnet(): number {
    return this.vnet_selected;
  }
}
