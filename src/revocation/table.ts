/**
 * An open-addressing hash table (linear probing) from a 64-bit id hash to a time in ms,
 * in one Int32Array of [hashHi, hashLo, value] triples: 12 bytes a slot, ~25 bytes a live
 * entry at a load of 0.375–0.75. A plain Map<string, number> costs ~69 bytes an entry
 * before counting the key strings' own lifetime; this keeps no string at all.
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
/** The value slot of an entry whose value lives in the overflow Map (0xffffffff as int32). */
const OVERFLOW = -1;
const MAX_REL = 0xfffffffe;
const HALF_RANGE = 2 ** 31;
const MIN_CAPACITY = 16;
const MAX_LOAD = 0.75;
/** After a rebuild the load is at most this, so growth is amortised. */
const REBUILD_LOAD = 0.5;

function capacityFor(entries: number): number {
  let cap = MIN_CAPACITY;
  while (entries > cap * REBUILD_LOAD) cap *= 2;
  return cap;
}

function overflowKey(hi: number, lo: number): string {
  return `${hi}:${lo}`;
}

export class IdTable {
  private slots: Int32Array;
  private mask: number;
  private count = 0;
  private base: number;
  private readonly overflow = new Map<string, number>();
  private overflowLimit = 8;
  /** A lower bound of the stored values (exact after a sweep scan). */
  private minValue = Number.POSITIVE_INFINITY;

  constructor(now: number, capacity = MIN_CAPACITY) {
    this.slots = new Int32Array(capacity * SLOT);
    this.mask = capacity - 1;
    this.base = Math.floor(now) - HALF_RANGE;
  }

  get size(): number {
    return this.count;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  /** Bytes held by the table's storage (the typed array and any overflow entries). */
  get bytes(): number {
    return this.slots.byteLength + this.overflow.size * 80;
  }

  /**
   * The slot index (times SLOT) of (hi, lo), or -1. The hot path: one load per probe on a
   * miss. Keys are two int32 lanes; the high lane is never 0 (that marks an empty slot).
   */
  private slotOf(hi: number, lo: number): number {
    const s = this.slots;
    const mask = this.mask;
    let i = lo & mask;
    for (;;) {
      const j = i * SLOT;
      const khi = s[j]!;
      if (khi === hi) {
        if (s[j + 1] === lo) return j;
      } else if (khi === 0) {
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
    let j = this.find(hi, lo);
    if (this.slots[j] !== 0) {
      if (v <= this.read(j, hi, lo)) return false;
      this.write(j, hi, lo, v, now, deadAtOrBelow);
      if (v < this.minValue) this.minValue = v;
      return true;
    }
    if (this.count + 1 > this.capacity * MAX_LOAD) {
      this.rebuild(deadAtOrBelow, now, 1);
      j = this.find(hi, lo);
    }
    this.slots[j] = hi;
    this.slots[j + 1] = lo;
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
    for (let j = 0; j < s.length; j += SLOT) {
      const hi = s[j]!;
      if (hi !== 0) visit(hi, s[j + 1]!, this.read(j, hi, s[j + 1]!));
    }
  }

  /** The slot index (times SLOT) holding (hi, lo), or the empty slot where it would go. */
  private find(hi: number, lo: number): number {
    const s = this.slots;
    const mask = this.mask;
    let i = lo & mask;
    for (;;) {
      const j = i * SLOT;
      const khi = s[j]!;
      if ((khi === hi && s[j + 1] === lo) || khi === 0) return j;
      i = (i + 1) & mask;
    }
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
    const oldBase = this.base;
    const oldOverflow = this.overflow.size === 0 ? undefined : new Map(this.overflow);
    this.slots = new Int32Array(next * SLOT);
    this.mask = next - 1;
    this.count = 0;
    this.base = Math.floor(now) - HALF_RANGE;
    this.overflow.clear();
    this.minValue = Number.POSITIVE_INFINITY;
    for (let k = 0; k < old.length; k += SLOT) {
      const hi = old[k]!;
      if (hi === 0) continue;
      const lo = old[k + 1]!;
      const rel = old[k + 2]!;
      const value =
        rel === OVERFLOW ? oldOverflow!.get(overflowKey(hi, lo))! : oldBase + (rel >>> 0);
      if (value <= deadAtOrBelow) continue;
      const j = this.find(hi, lo);
      this.slots[j] = hi;
      this.slots[j + 1] = lo;
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
