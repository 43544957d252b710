/**
 * An open-addressing hash table (linear probing) from a 64-bit id hash to a time in ms,
 * in one Int32Array of [hashHi, hashLo, value] triples plus one tag byte a slot: 13 bytes a
 * slot, 16–32 bytes a live entry at a load of 0.41–0.81 (~27 at 10^6 entries). A plain
 * Map<string, number> costs ~69 bytes an entry before counting the key strings' own
 * lifetime; this keeps no string at all.
 *
 * The tag bytes (0 = empty, else 8 bits of the high lane) are what a probe walks: a miss —
 * the usual answer, a token that is not revoked — reads only them, so it touches a
 * 1-byte-a-slot array instead of the 12-byte slots; only a matching tag reads the triple.
 * At 10^6 entries the tags are 2 MiB against 24 MiB of triples, which overflow the TLB
 * (one-id lookups at 10^6 entries on the project machine: 68 ns over 1024 cycled ids, 100 ns
 * over 4096, the data cached either way). Measured side by side in one process, 4096
 * absent ids: ~85 ns a lookup with the tags, ~125 ns without; present ids unchanged (they
 * still read their triple). Walking bytes also keeps long probe runs cheap, which is what
 * allows the higher maximum load.
 *
 * Values are integer milliseconds stored relative to a base, so they fit 32 bits for
 * ±24.8 days around the last rebuild. A value outside that range (a clock set far back, an
 * absurd expiry) still works: its slot holds OVERFLOW and the exact value lives in a small
 * Map, so no input is ever rounded toward "not revoked".
 *
 * Entries leave only through `sweep`/growth, which rebuild the table without the dead ones
 * (and shrink it when it has emptied), so there are no tombstones.
 *
 * Everything on the probe path is a 32-bit integer (lanes as signed int32, booleans out):
 * V8 keeps those unboxed, so a lookup allocates nothing even when it is not inlined.
 */

const SLOT = 3;
const EMPTY = 0;
/** The value slot of an entry whose value lives in the overflow Map (0xffffffff as int32). */
const OVERFLOW = -1;
const MAX_REL = 0xfffffffe;
const HALF_RANGE = 2 ** 31;
const MIN_CAPACITY = 16;
/** 13/16: right after doubling, 13 bytes a slot at load 13/32 is 32 bytes a live entry. */
const MAX_LOAD = 0.8125;
/** After a rebuild the load is at most this, so growth is amortised. */
const REBUILD_LOAD = 0.5;

function capacityFor(entries: number): number {
  let cap = MIN_CAPACITY;
  while (entries > cap * REBUILD_LOAD) cap *= 2;
  return cap;
}

/** A slot's tag: the top byte of the high lane, never EMPTY (0 folds onto 1). */
function tagOf(hi: number): number {
  const t = hi >>> 24;
  return t | ((t - 1) >>> 31);
}

function overflowKey(hi: number, lo: number): string {
  return `${hi}:${lo}`;
}

export class IdTable {
  private slots: Int32Array;
  private tags: Uint8Array;
  private mask: number;
  private count = 0;
  private base: number;
  private readonly overflow = new Map<string, number>();
  private overflowLimit = 8;
  /** A lower bound of the stored values (exact after a sweep scan). */
  private minValue = Number.POSITIVE_INFINITY;

  constructor(now: number, capacity = MIN_CAPACITY) {
    this.slots = new Int32Array(capacity * SLOT);
    this.tags = new Uint8Array(capacity);
    this.mask = capacity - 1;
    this.base = Math.floor(now) - HALF_RANGE;
  }

  get size(): number {
    return this.count;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  /** Bytes held by the table's storage (the typed arrays and any overflow entries). */
  get bytes(): number {
    return this.slots.byteLength + this.tags.byteLength + this.overflow.size * 80;
  }

  /**
   * The slot index (times SLOT) of (hi, lo), or -1. The hot path: a miss reads tag bytes
   * only; the triple is read when a tag matches (a false match is 1 in 255).
   */
  private slotOf(hi: number, lo: number): number {
    const tags = this.tags;
    const s = this.slots;
    const mask = this.mask;
    const tag = tagOf(hi);
    let i = lo & mask;
    for (;;) {
      const t = tags[i]!;
      if (t === tag) {
        const j = i * SLOT;
        if (s[j] === hi && s[j + 1] === lo) return j;
      } else if (t === EMPTY) {
        return -1;
      }
      i = (i + 1) & mask;
    }
  }

  has(hiLane: number, loLane: number): boolean {
    return this.slotOf(hiLane | 0, loLane | 0) >= 0;
  }

  /** Whether (hi, lo) is present with a value above `t`, i.e. `t < value`. */
  isBefore(hiLane: number, loLane: number, t: number): boolean {
    const hi = hiLane | 0;
    const lo = loLane | 0;
    const j = this.slotOf(hi, lo);
    if (j < 0) return false;
    const rel = this.slots[j + 2]!;
    if (rel === OVERFLOW) return t < this.overflow.get(overflowKey(hi, lo))!;
    return t - this.base < rel >>> 0;
  }

  /** The stored value (ms), or -Infinity when absent. */
  get(hiLane: number, loLane: number): number {
    const hi = hiLane | 0;
    const lo = loLane | 0;
    const j = this.slotOf(hi, lo);
    return j < 0 ? Number.NEGATIVE_INFINITY : this.read(j, hi, lo);
  }

  /**
   * Sets the value to max(old, value) and reports whether it changed. When the table must
   * grow, entries at or below `deadAtOrBelow` are dropped first; `now` recentres the base.
   */
  raise(
    hiLane: number,
    loLane: number,
    value: number,
    deadAtOrBelow: number,
    now: number,
  ): boolean {
    const hi = hiLane | 0;
    const lo = loLane | 0;
    const v = Math.ceil(value);
    let i = this.find(hi, lo);
    if (this.tags[i] !== EMPTY) {
      const j = i * SLOT;
      if (v <= this.read(j, hi, lo)) return false;
      this.write(j, hi, lo, v, now, deadAtOrBelow);
      if (v < this.minValue) this.minValue = v;
      return true;
    }
    if (this.count + 1 > this.capacity * MAX_LOAD) {
      this.rebuild(deadAtOrBelow, now, 1);
      i = this.find(hi, lo);
    }
    const j = this.occupy(i, hi, lo);
    this.count++;
    if (v < this.minValue) this.minValue = v;
    this.write(j, hi, lo, v, now, deadAtOrBelow);
    return true;
  }

  /** Whether any entry may be at or below `deadAtOrBelow` (cheap; no scan). */
  mayHaveDead(deadAtOrBelow: number): boolean {
    return this.minValue <= deadAtOrBelow;
  }

  /** Drops every entry whose value is at or below `deadAtOrBelow`; returns how many. */
  sweep(deadAtOrBelow: number, now: number): number {
    if (this.minValue > deadAtOrBelow) return 0;
    let dead = 0;
    let min = Number.POSITIVE_INFINITY;
    this.forEach((_hi, _lo, value) => {
      if (value <= deadAtOrBelow) dead++;
      else if (value < min) min = value;
    });
    if (dead === 0) {
      this.minValue = min;
      return 0;
    }
    return this.rebuild(deadAtOrBelow, now, 0);
  }

  forEach(visit: (hi: number, lo: number, value: number) => void): void {
    const s = this.slots;
    const tags = this.tags;
    for (let i = 0; i < tags.length; i++) {
      if (tags[i] === EMPTY) continue;
      const j = i * SLOT;
      const hi = s[j]!;
      visit(hi, s[j + 1]!, this.read(j, hi, s[j + 1]!));
    }
  }

  /** The slot number (not times SLOT) holding (hi, lo), or the empty one where it would go. */
  private find(hi: number, lo: number): number {
    const tags = this.tags;
    const s = this.slots;
    const mask = this.mask;
    const tag = tagOf(hi);
    let i = lo & mask;
    for (;;) {
      const t = tags[i]!;
      if (t === EMPTY) return i;
      if (t === tag && s[i * SLOT] === hi && s[i * SLOT + 1] === lo) return i;
      i = (i + 1) & mask;
    }
  }

  /** Claims empty slot number i for (hi, lo); returns its index times SLOT. */
  private occupy(i: number, hi: number, lo: number): number {
    const j = i * SLOT;
    this.tags[i] = tagOf(hi);
    this.slots[j] = hi;
    this.slots[j + 1] = lo;
    return j;
  }

  private read(j: number, hi: number, lo: number): number {
    const rel = this.slots[j + 2]!;
    return rel === OVERFLOW ? this.overflow.get(overflowKey(hi, lo))! : this.base + (rel >>> 0);
  }

  private write(j: number, hi: number, lo: number, v: number, now: number, dead: number): void {
    if (this.store(j, hi, lo, v)) return;
    // The base has drifted away from the values being written: recentre it on `now`.
    if (this.overflow.size > this.overflowLimit) {
      this.rebuild(dead, now, 0);
      this.overflowLimit = Math.max(8, this.overflow.size * 2);
    }
  }

  /** Re-inserts the live entries into a table sized for them (plus `extra`). */
  private rebuild(deadAtOrBelow: number, now: number, extra: number): number {
    let live = 0;
    this.forEach((_hi, _lo, value) => {
      if (value > deadAtOrBelow) live++;
    });
    const dead = this.count - live;
    const cap = this.capacity;
    let next = capacityFor(live + extra);
    // A sweep keeps the capacity unless the table has mostly emptied (no thrashing).
    if (extra === 0 && next < cap && live > cap / 8) next = cap;
    const old = this.slots;
    const oldTags = this.tags;
    const oldBase = this.base;
    const oldOverflow = this.overflow.size === 0 ? undefined : new Map(this.overflow);
    this.slots = new Int32Array(next * SLOT);
    this.tags = new Uint8Array(next);
    this.mask = next - 1;
    this.count = 0;
    this.base = Math.floor(now) - HALF_RANGE;
    this.overflow.clear();
    this.minValue = Number.POSITIVE_INFINITY;
    for (let n = 0; n < oldTags.length; n++) {
      if (oldTags[n] === EMPTY) continue;
      const k = n * SLOT;
      const hi = old[k]!;
      const lo = old[k + 1]!;
      const rel = old[k + 2]!;
      const value =
        rel === OVERFLOW ? oldOverflow!.get(overflowKey(hi, lo))! : oldBase + (rel >>> 0);
      if (value <= deadAtOrBelow) continue;
      const j = this.occupy(this.find(hi, lo), hi, lo);
      this.count++;
      if (value < this.minValue) this.minValue = value;
      this.store(j, hi, lo, value);
    }
    return dead;
  }

  /** Writes a value into slot j, spilling to the overflow map when out of range. */
  private store(j: number, hi: number, lo: number, value: number): boolean {
    const rel = value - this.base;
    if (rel >= 0 && rel <= MAX_REL) {
      if (this.slots[j + 2] === OVERFLOW) this.overflow.delete(overflowKey(hi, lo));
      this.slots[j + 2] = rel | 0;
      return true;
    }
    this.slots[j + 2] = OVERFLOW;
    this.overflow.set(overflowKey(hi, lo), value);
    return false;
  }
}
