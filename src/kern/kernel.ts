/*
 * kern/kernel.ts — one kernel instance: its configuration, memory, and boot.
 *
 * Everything a FreeBSD kernel keeps in non-virtualized globals (the linker's file list,
 * the vnet list, the sysctl tree, prison0, the per-CPU structures) is a field of the
 * Kernel object, so several kernels can live in one process; virtualized globals live in
 * vnet regions and per-CPU ones in DPCPU blocks.  The processor registers
 * (host/cpu.ts) say which kernel, thread, CPU and vnet are running.
 *
 * Boot (mi_startup): build the reference images from the linked kernel image, give
 * every CPU its DPCPU block, make prison0/proc0/thread0, create the module-space free
 * lists and linker file 1, register the image's sysctls, then run every SYSINIT of the
 * image in (subsystem, order) order — vnet0 is allocated at SI_SUB_VNET, and each
 * VNET_SYSINIT registered after it runs at once on vnet0.
 */

import { cpu, cpu_load_pcpu, cpu_load_vnet, type CpuKernel } from '../host/cpu.js';
import { Region, EMPTY_REGION } from './kern_region.js';
import { KvaMap, KVA_DPCPU, KVA_STRUCTS, KVA_VNETS } from './kern_kva.js';
import { CounterArena, ZPCPU_KVA } from './subr_counter.js';
import { ModSpace } from './subr_modspace.js';
import { pcpu_init, dpcpu_startup } from './subr_pcpu.js';
import { SysctlTree } from './kern_sysctl.js';
import { Linker, type KldFetcher } from './kern_linker.js';
import { Prison } from './kern_jail.js';
import type { KernelImage } from './kernel_image.js';
import { Pcpu } from '../sys/pcpu.js';
import { Proc, Thread, P_SYSTEM, P_KPROC, PRS_NORMAL, TDS_RUNNING, PVM } from '../sys/proc.js';
import { SET_SYSCTL, SET_FOREACH } from '../sys/linker_set.js';
import type { SysctlOidDecl } from '../sys/sysctl.js';
import { MAXCPU } from '../sys/param.js';
import type { KernConf } from '../conf/options.js';
import { Vnet, VNET_MAGIC_N, vnet_data_startup, type VnetSysinit } from '../net/vnet.js';
/* Runtime (issue 3): scheduler, clock, callouts, processes, kernel threads, jails. */
import { make_clock, type Clock } from '../host/clock.js';
import { Sched, sched_userret } from './sched.js';
import { Callwheel } from './kern_timeout.js';
import { Rng, DEFAULT_SEED } from './subr_random.js';
import {
  ProcTable,
  proc_create,
  thread_exit,
  type ProcCreateOpts,
  type ThreadMain,
} from './kern_proc.js';
import { KThreads, kproc_create, kthread_add, type KthreadOpts } from './kern_kthread.js';
import { JailTable } from './kern_jail.js';
import type { Ucred } from '../sys/proc.js';
import { kdb_enter, KDB_WHY_PANIC } from './subr_kdb.js';
import { MbufPool } from '../sys/mbuf.js';
import { host_cwd } from '../host/hostfs.js';
import type { HostNet } from '../host/udp.js';

export interface KernelOptions {
  /** Loads module files for kldload (host glue); defaults to none. */
  fetch?: KldFetcher;
  exists?: (path: string) => boolean;
  /** Where kernel messages go besides the message buffer. */
  console?: (line: string) => void;
  /** The RNG seed (arc4random); same seed, same run.  Default DEFAULT_SEED. */
  seed?: number;
  /** 'virtual' (default: time jumps to the next callout when idle), 'real', or a Clock. */
  clock?: 'virtual' | 'real' | Clock;
  /** Record an event trace in k.trace (switches, sleeps, wakeups, callouts, exits). */
  trace?: boolean;
  /** The host directory that is prison0's root for files (default: the host's cwd). */
  root?: string;
  /** The host's network (UDP endpoints for vxlan); none when absent. */
  hostnet?: HostNet;
}

export class Kernel implements CpuKernel {
  readonly kid: number;
  readonly vimage: boolean;
  readonly mp_ncpus: number;
  readonly ident: string;

  /* Memory. */
  readonly kva = new KvaMap();
  readonly vnet_ref: Region;
  readonly dpcpu_ref: Region;
  readonly zpcpu: CounterArena;
  readonly pcpu: Pcpu[] = [];
  readonly dpcpu_off: number[] = new Array<number>(MAXCPU).fill(0);
  readonly vnet_modspace: ModSpace;
  readonly dpcpu_modspace: ModSpace;

  /* VNET. */
  readonly vnet_head: Vnet[] = [];
  vnet0: Vnet;
  vnet_lastid = 0;
  readonly vnet_constructors: VnetSysinit[] = [];
  readonly vnet_destructors: VnetSysinit[] = [];
  nvslots: number;
  private readonly vslots_free: number[] = [];
  private kva_structs_next = KVA_STRUCTS;
  private kva_vnets_next = KVA_VNETS;
  private readonly kva_vnets_free: number[] = [];

  /**
   * Kernel .data visible to kvm and DDB: dpcpu_off[MAXCPU] (u_long) at 0, mp_ncpus
   * (int) at MAXCPU*8, mp_maxid at +4.  Symbols `dpcpu_off`, `mp_ncpus`, `mp_maxid`.
   */
  readonly kdata: Region;

  /* Kernel globals. */
  readonly sysctl = new SysctlTree();
  readonly linker: Linker;
  readonly prison0: Prison;
  readonly proc0: Proc;
  readonly thread0: Thread;
  readonly allproc: Proc[] = [];
  readonly msgbuf: string[] = [];
  private readonly consoleSink: ((line: string) => void) | undefined;
  booted = false;
  /** The debugger's state (kern/subr_kdb.ts), created on first use. */
  kdb: import('./subr_kdb.js').KdbState | null = null;

  /* Runtime (issue 3): kern/sched.ts, kern_synch.ts, kern_timeout.ts, kern_proc.ts, ... */
  /** The injected clock: k.now() is nanoseconds since boot (sbintime_t here). */
  readonly clock: Clock;
  readonly rng: Rng;
  readonly sched = new Sched(this);
  readonly callwheel = new Callwheel(this);
  readonly ptab = new ProcTable();
  readonly kthr = new KThreads();
  readonly jails = new JailTable();
  /** The event trace, when booted with `trace` (else null). */
  trace: string[] | null;
  /** The panic message once the kernel has panicked. */
  panicstr: string | null = null;
  /** The host directory that is prison0's root (kern/vfs_host.ts; boot option `root`). */
  readonly rootdir: string;
  /** The host's network for drivers that use it (vxlan), or null. */
  readonly hostnet: HostNet | null;

  /* Network stack, non-virtualized parts (issue 4). */
  /** The mbuf and cluster zones (sys/mbuf.ts). */
  readonly mbpool = new MbufPool();
  /**
   * Kernel-global network state that is not per vnet, keyed by owner: 'netisr' (the
   * protocol registry), 'ether' (link-level resolvers), 'if' (interface event handlers),
   * 'epair' (the MAC index and host id), 'bpf' (the kernel-wide capture hook), 'bridge'.
   * Each owner reads its entry through a typed accessor in its own file.
   */
  readonly netglobal: Record<string, unknown> = {};

  constructor(
    readonly conf: KernConf,
    readonly image: KernelImage,
    opts: KernelOptions = {},
  ) {
    this.kid = 1;
    this.vimage = conf.options.has('VIMAGE');
    this.mp_ncpus = conf.ncpu;
    this.ident = conf.ident;
    if (this.mp_ncpus < 1 || this.mp_ncpus > MAXCPU)
      throw new RangeError(`ncpu ${this.mp_ncpus} out of range`);
    this.consoleSink = opts.console;

    // Reference images (the master set_vnet and set_pcpu sections).
    this.vnet_ref = new Region(image.vnet_size, image.vnet_start, image.nvslots, true);
    this.vnet_ref.u8.set(image.vnet_init);
    this.dpcpu_ref = new Region(image.dpcpu_size, image.dpcpu_start);
    this.dpcpu_ref.u8.set(image.dpcpu_init);
    this.kva.map(this.vnet_ref);
    this.kva.map(this.dpcpu_ref);
    this.nvslots = image.nvslots;

    this.zpcpu = new CounterArena(ZPCPU_KVA, this.mp_ncpus, this);
    this.kva.addReader((a, l) => this.zpcpu.bytes(a, l));

    // Module space (vnet_data_startup / dpcpu_startup at SI_SUB_KLD, SI_ORDER_FIRST).
    this.vnet_modspace = vnet_data_startup(this);
    this.dpcpu_modspace = dpcpu_startup();

    for (let c = 0; c < this.mp_ncpus; c++) this.pcpu.push(pcpu_init(this, c));
    this.kdata = new Region(MAXCPU * 8 + 64, this.kva_alloc_struct(MAXCPU * 8 + 64));
    for (let c = 0; c < this.mp_ncpus; c++) this.kdata.setU64(c * 8, this.dpcpu_off[c]!);
    this.kdata.i32[(MAXCPU * 8) >> 2] = this.mp_ncpus;
    this.kdata.i32[(MAXCPU * 8 + 4) >> 2] = this.mp_ncpus - 1;
    this.kva.map(this.kdata);

    // prison0, proc0 and thread0 (swapper).
    this.prison0 = new Prison(0, '0', null, 'vimage', '/');
    this.proc0 = new Proc(0, 'kernel', { cr_uid: 0, cr_prison: this.prison0 });
    this.proc0.p_flag |= P_SYSTEM | P_KPROC;
    this.proc0.p_state = PRS_NORMAL;
    this.thread0 = new Thread(100000, this.proc0, 'swapper', PVM);
    this.thread0.td_state = TDS_RUNNING;
    this.thread0.td_oncpu = 0;
    this.proc0.p_threads.push(this.thread0);
    this.allproc.push(this.proc0);

    // Without VIMAGE the reference image is the one copy; a Vnet object stands for it
    // so code can name "the vnet of an interface" uniformly, but it is never on the list.
    this.vnet0 = new Vnet(this, this.kva_alloc_struct(64), 0);
    if (!this.vimage) {
      this.vnet0.v = this.vnet_ref;
      this.vnet0.vnet_magic_n = VNET_MAGIC_N;
      this.vnet0.vnet_data_mem = this.vnet_ref.kva;
      this.vnet0.vnet_data_base = 0;
      this.prison0.pr_vnet = this.vnet0;
    }

    this.linker = new Linker(
      this,
      opts.fetch ?? (async (p) => Promise.reject(new Error(`no module loader for ${p}`))),
      opts.exists ?? (() => false),
    );

    this.clock = typeof opts.clock === 'object' ? opts.clock : make_clock(opts.clock ?? 'virtual');
    this.rng = new Rng(opts.seed ?? DEFAULT_SEED);
    this.trace = opts.trace ? [] : null;
    this.rootdir = opts.root ?? host_cwd();
    this.hostnet = opts.hostnet ?? null;
  }

  /* ---------------------------------------------------------------------------- */

  /** Put this kernel on the processor as thread td (default thread0) on its CPU. */
  load_registers(td: Thread = this.thread0): void {
    cpu.kernel = this;
    cpu.td = td;
    const c = td.td_oncpu >= 0 ? td.td_oncpu : 0;
    const pc = this.pcpu[c]!;
    pc.pc_curthread = td;
    cpu_load_pcpu(c, pc.pc_dyn!);
    cpu.zp = this.zpcpu.u32;
    if (this.vimage) {
      cpu.vnet = td.td_vnet;
      cpu_load_vnet(td.td_vnet ? td.td_vnet.v : EMPTY_REGION);
    } else {
      cpu.vnet = null;
      cpu_load_vnet(this.vnet_ref);
    }
  }

  /**
   * Run fn on this kernel, as thread0 (or td), then give the processor back to whatever
   * held it.  Tests and the host use it to call into a kernel synchronously.
   */
  enter<T>(fn: () => T, td: Thread = this.thread0): T {
    const saved = {
      kernel: cpu.kernel,
      td: cpu.td,
      cpuid: cpu.cpuid,
      vnet: cpu.vnet,
      v: cpu.v,
      p: cpu.p,
      zp: cpu.zp,
    };
    this.load_registers(td);
    try {
      return fn();
    } finally {
      cpu.kernel = saved.kernel;
      cpu.td = saved.td;
      cpu.vnet = saved.vnet;
      cpu_load_vnet(saved.v);
      cpu_load_pcpu(saved.cpuid, saved.p);
      cpu.zp = saved.zp;
    }
  }

  /**
   * Run an async kernel operation as thread0.  Registers are loaded at the start; code
   * that awaits reloads them for its thread when it resumes (see Linker.load_module).
   */
  async enterAsync<T>(fn: () => Promise<T>, td: Thread = this.thread0): Promise<T> {
    this.load_registers(td);
    return await fn();
  }

  /** mi_startup: link file 1, sysctls, then every SYSINIT of the image in order. */
  boot(): void {
    if (this.booted) throw new Error('kernel already booted');
    this.enter(() => {
      this.linker.link_kernel();
      for (const d of SET_FOREACH<SysctlOidDecl>(this.image.objs, SET_SYSCTL))
        this.sysctl.register(d);
      for (const si of this.image.sysinits) si.func(si.arg);
      this.booted = true;
    });
  }

  /** printf(9): into the message buffer (dmesg) and to the console. */
  printf(line: string): void {
    this.msgbuf.push(line);
    if (this.msgbuf.length > 4096) this.msgbuf.shift();
    this.consoleSink?.(line);
  }

  /* ---------------------------------------------------------------------------- */
  /* Kernel virtual memory for vnets and structures.                               */

  kva_alloc_struct(size: number): number {
    const a = this.kva_structs_next;
    this.kva_structs_next += Math.ceil(size / 64) * 64;
    return a;
  }

  kva_alloc_vnet(): number {
    const f = this.kva_vnets_free.pop();
    if (f !== undefined) return f;
    const a = this.kva_vnets_next;
    this.kva_vnets_next += this.image.vnet_size;
    return a;
  }

  kva_free_vnet(a: number): void {
    this.kva_vnets_free.push(a);
  }

  kva_dpcpu(cpuid: number): number {
    return KVA_DPCPU + cpuid * this.image.dpcpu_size;
  }

  /** A per-vnet object slot for a module. */
  vslot_alloc(): number {
    const s = this.vslots_free.pop();
    return s !== undefined ? s : this.nvslots++;
  }

  vslot_free(slot: number): void {
    for (const v of this.vnet_head) v.v.objs[slot] = undefined;
    this.vnet_ref.objs[slot] = undefined;
    this.vslots_free.push(slot);
  }

  /* ---------------------------------------------------------------------------- */
  /* Runtime (issue 3): threads, processes, time.                                   */

  /** kthread_add(9): a kernel thread (in proc0 unless opts.proc) running fn. */
  kthread_add(name: string, fn: ThreadMain, opts: KthreadOpts = {}): Thread {
    return kthread_add(this, name, fn, opts);
  }

  /** kproc_create(9): a kernel process whose one thread runs fn. */
  kproc_create(name: string, fn: ThreadMain, opts: KthreadOpts = {}): Proc {
    return kproc_create(this, name, fn, opts);
  }

  /** A user process running main(td) with credential cred (its jail). */
  proc_create(name: string, cred: Ucred, main: ThreadMain, opts: ProcCreateOpts = {}): Proc {
    return proc_create(this, name, cred, main, opts);
  }

  /** Run until nothing is runnable and no callout is pending.  Rejects on panic. */
  run_until_idle(): Promise<void> {
    return this.sched.run_until_idle();
  }

  /** Run for `seconds` of kernel time (virtual clock: exactly, and fast). */
  run_for(seconds: number): Promise<void> {
    return this.sched.run_for(seconds);
  }

  /** Nanoseconds since boot (sbintime_t in this kernel). */
  now(): number {
    return this.clock.now();
  }

  /** The syscall layer calls this on the way back to user mode (sched_userret). */
  userret(td: Thread): Promise<void> | undefined {
    return sched_userret(this, td, userret_exit);
  }

  /**
   * panic(9): record the message and, when the kernel has a debugger and
   * debug.debugger_on_panic is set, enter it (kdb.enter.panic scripts run there); then
   * stop dispatching and fail whoever waits on the kernel.  Without a debugger the
   * kernel stops cleanly with the panic message.
   */
  panic(msg: string, ctx?: Error): void {
    if (this.panicstr !== null) return;
    this.panicstr = msg;
    this.trace?.push(`panic ${msg.split('\n')[0]}`);
    this.printf(`panic: ${msg}`);
    if (this.debugger_on_panic && this.conf.options.has('KDB')) {
      try {
        kdb_enter(this, KDB_WHY_PANIC, `panic: ${msg.split('\n')[0]}`, undefined, undefined, ctx);
      } catch (e) {
        this.printf(`panic: the debugger failed: ${(e as Error).message}`);
      }
    }
    this.sched.halt(msg);
  }

  /** debug.debugger_on_panic */
  debugger_on_panic = 1;
}

/** What userret does with a thread of an exiting process. */
function userret_exit(k: Kernel, td: Thread): void {
  thread_exit(k, td, 0);
}
