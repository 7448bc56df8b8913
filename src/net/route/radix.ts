/*
 * net/route/radix.ts — the IPv4 longest-prefix-match table under every RIB.
 *
 * What: a table of (destination, prefix length) -> value with insert, delete, exact
 * lookup, longest-prefix match and a walk in netstat -rn order.  Keys are 32-bit IPv4
 * addresses in host byte order (the stack keeps addresses as numbers).
 *
 * How: a path-compressed binary trie (PATRICIA-like) whose nodes live in one Int32Array,
 * four words each (prefix, prefix length | has-route bit, child 0, child 1), so a
 * lookup touches one 16-byte slot per level, only integers, and never allocates; the
 * routes themselves sit in a JS array beside it, indexed by node.  Every node is a
 * prefix; a child's prefix extends its parent's, and the two children of a node differ
 * in the bit right after the parent's prefix.  Chains of one-child glue nodes never
 * exist (glue is spliced out on delete), so there are at most 2n - 1 nodes and the
 * depth is at most 33.  lookup(addr) walks down while the node's prefix matches,
 * remembering the last node that holds a route: the longest match, since prefixes only
 * get longer on the way down.  Freed slots go on a free list; storage grows by
 * doubling.
 *
 * A big table (RADIX_BLK_ON routes and up) also keeps a DIR-16 block index: for each
 * of the 65,536 /16 blocks, the first node on the lookup path with a prefix of 16 bits
 * or more and the best route above it.  A lookup starts there, which skips the top of
 * the trie (the part whose random accesses miss the cache).  Inserts and deletes refresh only the blocks under the
 * topmost node they changed.  The index costs 512 KiB, which is why small tables
 * (most vnets) do without it.
 *
 * Alternatives measured (bench/route_lookup.ts): the plain trie without the index
 * (about 2 M lookups/s at 100,000 routes on the development machine, memory-bound,
 * against 11-22 M/s with the index); one hash map per prefix length tried longest
 * first (2-4 M/s with the 19 lengths of the benchmark's table).  DIR-24-8 would be faster
 * still but costs 64 MiB per table, which rules out many vnets per process.
 *
 * FreeBSD: sys/net/radix.c (rn_match, rn_addroute, rn_delete, rn_walktree) is a
 * byte-keyed PATRICIA tree over sockaddrs with duplicate-key chains for masks; here the
 * key is a number and masks are prefix lengths only (contiguous netmasks — FreeBSD's
 * radix allows non-contiguous masks, which IPv4 routing never uses since CIDR; the
 * routing socket should answer them with EINVAL: mask2plen() returns -1).  The walk order matches rn_walktree's leaf
 * order: ascending destination, and for one destination the more specific prefix first
 * (rn_addroute sorts a duplicate-key chain most specific to least specific), so 198.18.0.0/24 is listed
 * before 198.18.0.0/15.  No locks: one JavaScript thread.
 */

/** Netmask of each prefix length 0..32, host byte order (module-level constant table). */
export const PLEN_MASK: Uint32Array = (() => {
  const m = new Uint32Array(33);
  for (let l = 1; l <= 32; l++) m[l] = (0xffffffff << (32 - l)) >>> 0;
  return m;
})();

/** The netmask of a prefix length (0..32). */
export function plen2mask(plen: number): number {
  return plen <= 0 ? 0 : plen >= 32 ? 0xffffffff : (0xffffffff << (32 - plen)) >>> 0;
}

/** The prefix length of a contiguous netmask, or -1 if the mask is not contiguous. */
export function mask2plen(mask: number): number {
  const m = mask >>> 0;
  if (m === 0) return 0;
  const inv = ~m >>> 0;
  /* Contiguous iff the inverted mask is 2^k - 1. */
  if ((inv & (inv + 1)) !== 0) return -1;
  return Math.clz32(inv);
}

const INITIAL_NODES = 64;

/* Node layout in tr_nd (Int32Array, 4 words = 16 bytes per node, one cache line holds 4). */
const ND_KEY = 0; /* prefix, masked (stored as int32) */
const ND_INFO = 1; /* prefix length | ND_HAS */
const ND_KID0 = 2; /* child for next bit 0, -1 none; free-list link when free */
const ND_KID1 = 3; /* child for next bit 1 */
const ND_HAS = 0x100; /* a route lives here (else a branching "glue" node) */
const ND_PLEN = 0xff;

/* The DIR-16 block index: one entry per /16, built only for big tables. */
const BLK_BITS = 16;
const NBLK = 1 << BLK_BITS;
/** Routes at which the block index is built (it is dropped again below half that). */
export const RADIX_BLK_ON = 4096;

/** A longest-prefix-match table of IPv4 prefixes to values of type T. */
export class RadixTable<T> {
  private tr_nd: Int32Array;
  private tr_val: (T | undefined)[] = [];
  private root = -1;
  /** Next never-used slot, and the head of the free list (through ND_KID0). */
  private hiwat = 0;
  private freelist = -1;
  private nfree = 0;
  private nroutes = 0;
  /**
   * Block index (null while the table is small): for each /16 block b, blk_ent[b] is
   * the first node on the lookup path of any address in b whose prefix is 16 bits or
   * longer (-1 if the path ends before), and blk_best[b] the route node with the
   * longest prefix among the shorter nodes on that path (-1 if none).  The lookup
   * starts there instead of at the root, so it skips the top of the trie.
   */
  private blk_ent: Int32Array | null = null;
  private blk_best: Int32Array | null = null;
  /** Path of the last descent (node indexes), reused by delete. */
  private readonly path = new Int32Array(34);

  private readonly blkOn: number;
  private readonly blkOff: number;

  /**
   * @param capacity initial node slots (the table grows by doubling)
   * @param blkOn routes at which the /16 block index is built (dropped again below
   *   half that); tests pass 1 to exercise it on small tables, Infinity turns it off
   */
  constructor(capacity = INITIAL_NODES, blkOn = RADIX_BLK_ON) {
    const c = Math.max(4, capacity | 0);
    this.tr_nd = new Int32Array(4 * c).fill(-1);
    this.blkOn = blkOn;
    this.blkOff = Math.floor(blkOn / 2);
  }

  /** Number of routes (not counting glue nodes). */
  get size(): number {
    return this.nroutes;
  }

  /** Number of trie nodes in use (routes + glue), for tests and memory accounting. */
  get nodes(): number {
    return this.hiwat - this.nfree;
  }

  /** Is the /16 block index in use (for tests)? */
  get indexed(): boolean {
    return this.blk_ent !== null;
  }

  /**
   * Longest-prefix match: the value of the most specific prefix containing addr, or
   * undefined.  addr is a host-order IPv4 address (any integer; only 32 bits count).
   * Never allocates.
   */
  lookup(addr: number): T | undefined {
    const nd = this.tr_nd;
    const M = PLEN_MASK;
    let n: number;
    let best: number;
    const be = this.blk_ent;
    if (be !== null) {
      const b = addr >>> BLK_BITS;
      n = be[b]!;
      best = this.blk_best![b]!;
    } else {
      n = this.root;
      best = -1;
    }
    while (n !== -1) {
      const o = n << 2;
      const info = nd[o + ND_INFO]!;
      const pl = info & ND_PLEN;
      if (((addr ^ nd[o]!) & M[pl]!) !== 0) break;
      if (info > ND_PLEN) best = n;
      /* A /32 node has no children; the shift then reads bit 0, harmlessly. */
      n = nd[o + ND_KID0 + ((addr >>> (31 - pl)) & 1)]!;
    }
    return best === -1 ? undefined : this.tr_val[best];
  }

  /** Exact match on (dst, plen): the value, or undefined.  dst is masked first. */
  get(dst: number, plen: number): T | undefined {
    const n = this.find(dst, plen);
    return n === -1 ? undefined : this.tr_val[n];
  }

  /** Is (dst, plen) in the table? */
  has(dst: number, plen: number): boolean {
    return this.find(dst, plen) !== -1;
  }

  /**
   * Insert (dst, plen) -> val.  dst is masked to plen.  Returns false (and changes
   * nothing) if the prefix is already present.  Throws RangeError for a prefix length
   * outside 0..32 (API misuse, never wire input: callers validate first).
   */
  insert(dst: number, plen: number, val: T): boolean {
    checkPlen(plen);
    const k = (dst & PLEN_MASK[plen]!) >>> 0;
    /* The topmost node whose subtree changed, to refresh the block index under it. */
    let changed: number;
    if (this.root === -1) {
      this.root = changed = this.alloc(k, plen, val);
    } else {
      changed = this.insert1(k, plen, val);
      if (changed === -1) return false;
    }
    this.nroutes++;
    if (this.blk_ent !== null) this.blk_refresh(changed);
    else if (this.nroutes >= this.blkOn) this.blk_build();
    return true;
  }

  /** The insertion proper; returns the topmost changed node, or -1 if present. */
  private insert1(k: number, plen: number, val: T): number {
    const nd = this.tr_nd;
    let parent = -1;
    let pbit = 0;
    let n = this.root;
    for (;;) {
      const o = n << 2;
      const nk = nd[o + ND_KEY]! >>> 0;
      const nl = nd[o + ND_INFO]! & ND_PLEN;
      const diff = Math.clz32(k ^ nk); /* 32 if equal */
      let cl = nl < plen ? nl : plen;
      if (diff < cl) cl = diff;
      if (cl === nl) {
        /* n's prefix contains (k, plen). */
        if (nl === plen) {
          if ((nd[o + ND_INFO]! & ND_HAS) !== 0) return -1;
          nd[o + ND_INFO] = nl | ND_HAS;
          this.tr_val[n] = val;
          return n;
        }
        const bit = (k >>> (31 - nl)) & 1;
        const c = nd[o + ND_KID0 + bit]!;
        if (c === -1) {
          const leaf = this.alloc(k, plen, val);
          this.tr_nd[o + ND_KID0 + bit] = leaf; /* alloc may have grown tr_nd */
          return leaf;
        }
        parent = n;
        pbit = bit;
        n = c;
        continue;
      }
      /* The new prefix and n diverge (or the new one is shorter): split above n. */
      let top: number;
      if (cl === plen) {
        /* (k, plen) contains n: the new node becomes n's parent. */
        top = this.alloc(k, plen, val);
        this.tr_nd[(top << 2) + ND_KID0 + ((nk >>> (31 - plen)) & 1)] = n;
      } else {
        top = this.alloc((k & PLEN_MASK[cl]!) >>> 0, cl, undefined);
        const leaf = this.alloc(k, plen, val);
        const nbit = (nk >>> (31 - cl)) & 1;
        this.tr_nd[(top << 2) + ND_KID0 + nbit] = n;
        this.tr_nd[(top << 2) + ND_KID0 + (nbit ^ 1)] = leaf;
      }
      if (parent === -1) this.root = top;
      else this.tr_nd[(parent << 2) + ND_KID0 + pbit] = top;
      return top;
    }
  }

  /** Replace the value of an existing (dst, plen); false if absent. */
  replace(dst: number, plen: number, val: T): boolean {
    const n = this.find(dst, plen);
    if (n === -1) return false;
    this.tr_val[n] = val;
    return true;
  }

  /** Remove (dst, plen): its value, or undefined if it was not present. */
  delete(dst: number, plen: number): T | undefined {
    if (!Number.isInteger(plen) || plen < 0 || plen > 32) return undefined;
    const nd = this.tr_nd;
    const k = (dst & PLEN_MASK[plen]!) >>> 0;
    const path = this.path;
    let depth = 0;
    let n = this.root;
    while (n !== -1) {
      const o = n << 2;
      const nl = nd[o + ND_INFO]! & ND_PLEN;
      if (nl > plen || ((k ^ nd[o + ND_KEY]!) & PLEN_MASK[nl]!) !== 0) return undefined;
      path[depth++] = n;
      if (nl === plen) break;
      n = nd[o + ND_KID0 + ((k >>> (31 - nl)) & 1)]!;
    }
    if (n === -1 || (nd[(n << 2) + ND_INFO]! & ND_HAS) === 0) return undefined;
    const val = this.tr_val[n];
    nd[(n << 2) + ND_INFO] = plen;
    this.tr_val[n] = undefined;
    this.nroutes--;
    /*
     * Splice out n if it is now glue with fewer than two children, then maybe its
     * parent.  Remember the topmost node whose subtree changed (its prefix still
     * describes the addresses affected after it is freed).
     */
    let topKey = k;
    let topLen = plen;
    let i = depth - 1;
    while (i >= 0) {
      const x = path[i]!;
      const o = x << 2;
      if ((nd[o + ND_INFO]! & ND_HAS) !== 0) break;
      const c0 = nd[o + ND_KID0]!;
      const c1 = nd[o + ND_KID1]!;
      if (c0 !== -1 && c1 !== -1) break;
      const only = c0 !== -1 ? c0 : c1; /* -1 if a leaf */
      topKey = nd[o + ND_KEY]! >>> 0;
      topLen = nd[o + ND_INFO]! & ND_PLEN;
      if (i === 0) this.root = only;
      else {
        const p = path[i - 1]! << 2;
        if (nd[p + ND_KID0] === x) nd[p + ND_KID0] = only;
        else nd[p + ND_KID1] = only;
      }
      this.free(x);
      /* The parent lost a child only if x was a leaf; otherwise it still has two. */
      if (only !== -1) break;
      i--;
    }
    if (this.blk_ent !== null) {
      if (this.nroutes < this.blkOff) this.blk_drop();
      else this.blk_fill_range(topKey, topLen);
    }
    return val;
  }

  /** Remove every route. */
  clear(): void {
    this.root = -1;
    this.hiwat = 0;
    this.freelist = -1;
    this.nfree = 0;
    this.nroutes = 0;
    this.tr_nd.fill(-1);
    this.tr_val = [];
    this.blk_drop();
  }

  /**
   * Visit every route in netstat -rn order (ascending destination; for one destination
   * the longer prefix first, as radix.c's duplicate-key chain).  The callback must not
   * modify the table; returning true stops the walk.
   */
  walk(fn: (dst: number, plen: number, val: T) => boolean | void): void {
    if (this.root === -1) return;
    const nd = this.tr_nd;
    /* Pre-order gives (dst asc, plen asc); reverse each run of equal destinations. */
    const run: number[] = [];
    const stack: number[] = [this.root];
    let stop = false;
    const flush = (): void => {
      for (let j = run.length - 1; j >= 0 && !stop; j--) {
        const o = run[j]! << 2;
        const v = this.tr_val[run[j]!] as T;
        if (fn(nd[o + ND_KEY]! >>> 0, nd[o + ND_INFO]! & ND_PLEN, v) === true) stop = true;
      }
      run.length = 0;
    };
    while (stack.length > 0 && !stop) {
      const n = stack.pop()!;
      const o = n << 2;
      if ((nd[o + ND_INFO]! & ND_HAS) !== 0) {
        const first = run[0];
        if (first !== undefined && nd[first << 2] !== nd[o + ND_KEY]) flush();
        run.push(n);
      }
      const c1 = nd[o + ND_KID1]!;
      const c0 = nd[o + ND_KID0]!;
      if (c1 !== -1) stack.push(c1);
      if (c0 !== -1) stack.push(c0);
    }
    if (!stop) flush();
  }

  /** All routes in walk order, as [dst, plen, value] (for dumps and tests). */
  entries(): [number, number, T][] {
    const out: [number, number, T][] = [];
    this.walk((d, l, v) => {
      out.push([d, l, v]);
    });
    return out;
  }

  /* ---------------------------------------------------------------------------- */

  private find(dst: number, plen: number): number {
    if (!Number.isInteger(plen) || plen < 0 || plen > 32) return -1;
    const nd = this.tr_nd;
    const k = (dst & PLEN_MASK[plen]!) >>> 0;
    let n = this.root;
    while (n !== -1) {
      const o = n << 2;
      const info = nd[o + ND_INFO]!;
      const nl = info & ND_PLEN;
      if (nl > plen || ((k ^ nd[o + ND_KEY]!) & PLEN_MASK[nl]!) !== 0) return -1;
      if (nl === plen) return (info & ND_HAS) !== 0 ? n : -1;
      n = nd[o + ND_KID0 + ((k >>> (31 - nl)) & 1)]!;
    }
    return -1;
  }

  private alloc(key: number, plen: number, val: T | undefined): number {
    let n = this.freelist;
    if (n !== -1) {
      this.freelist = this.tr_nd[(n << 2) + ND_KID0]!;
      this.nfree--;
    } else {
      if (4 * this.hiwat === this.tr_nd.length) this.grow();
      n = this.hiwat++;
    }
    const o = n << 2;
    const nd = this.tr_nd;
    nd[o + ND_KEY] = key | 0;
    nd[o + ND_INFO] = val === undefined ? plen : plen | ND_HAS;
    nd[o + ND_KID0] = -1;
    nd[o + ND_KID1] = -1;
    this.tr_val[n] = val;
    return n;
  }

  private free(n: number): void {
    const o = n << 2;
    this.tr_nd[o + ND_INFO] = 0;
    this.tr_nd[o + ND_KID1] = -1;
    this.tr_nd[o + ND_KID0] = this.freelist;
    this.tr_val[n] = undefined;
    this.freelist = n;
    this.nfree++;
  }

  private grow(): void {
    const nd = new Int32Array(this.tr_nd.length * 2).fill(-1);
    nd.set(this.tr_nd);
    this.tr_nd = nd;
  }

  /* ---------------------------------------------------------------------------- */
  /* The /16 block index.                                                          */

  private blk_build(): void {
    this.blk_ent = new Int32Array(NBLK);
    this.blk_best = new Int32Array(NBLK);
    this.blk_fill(this.root, -1, 0, 0);
  }

  private blk_drop(): void {
    this.blk_ent = null;
    this.blk_best = null;
  }

  /** After an insert: refresh the blocks under node n's prefix. */
  private blk_refresh(n: number): void {
    const o = n << 2;
    this.blk_fill_range(this.tr_nd[o + ND_KEY]! >>> 0, this.tr_nd[o + ND_INFO]! & ND_PLEN);
  }

  /** Recompute the block index for every /16 block inside (key, plen). */
  private blk_fill_range(key: number, plen: number): void {
    const p = plen < BLK_BITS ? plen : BLK_BITS;
    this.blk_fill(this.root, -1, (key & PLEN_MASK[p]!) >>> 0, p);
  }

  /**
   * Fill blk_ent/blk_best for the blocks of the range (key, plen), plen <= 16, given
   * that the lookup path of every address in the range reaches node n (or ends, n =
   * -1) with `best` the longest route so far.
   */
  private blk_fill(n: number, best: number, key: number, plen: number): void {
    const nd = this.tr_nd;
    for (;;) {
      if (n === -1) return this.blk_set(key, plen, -1, best);
      const o = n << 2;
      const info = nd[o + ND_INFO]!;
      const nl = info & ND_PLEN;
      /* A node of 16 bits or more branches inside a block: lookups start there. */
      if (nl >= BLK_BITS) return this.blk_set(key, plen, n, best);
      const nk = nd[o + ND_KEY]!;
      if (nl <= plen) {
        if (((key ^ nk) & PLEN_MASK[nl]!) !== 0) return this.blk_set(key, plen, -1, best);
        if ((info & ND_HAS) !== 0) best = n;
        if (nl < plen) {
          n = nd[o + ND_KID0 + ((key >>> (31 - nl)) & 1)]!;
          continue;
        }
        /* n covers exactly the range: its children split it in two. */
        this.blk_fill(nd[o + ND_KID0]!, best, key, plen + 1);
        this.blk_fill(nd[o + ND_KID1]!, best, (key | (1 << (31 - plen))) >>> 0, plen + 1);
        return;
      }
      /* n is narrower than the range: halve the range; the half without n ends. */
      if (((key ^ nk) & PLEN_MASK[plen]!) !== 0) return this.blk_set(key, plen, -1, best);
      const hi = (key | (1 << (31 - plen))) >>> 0;
      const nbit = (nk >>> (31 - plen)) & 1;
      this.blk_set(nbit === 0 ? hi : key, plen + 1, -1, best);
      if (nbit === 1) key = hi;
      plen++;
    }
  }

  private blk_set(key: number, plen: number, ent: number, best: number): void {
    const lo = key >>> BLK_BITS;
    const hi = lo + (1 << (BLK_BITS - plen));
    this.blk_ent!.fill(ent, lo, hi);
    this.blk_best!.fill(best, lo, hi);
  }
}

function checkPlen(plen: number): void {
  if (!Number.isInteger(plen) || plen < 0 || plen > 32)
    throw new RangeError(`radix: prefix length ${plen} is not in 0..32`);
}
