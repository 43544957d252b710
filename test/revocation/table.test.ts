import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashId } from '../../src/revocation/hash.js';
import { IdTable } from '../../src/revocation/table.js';

const NOW = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

type Op =
  | { op: 'raise'; key: number; value: number }
  | { op: 'sweep'; below: number }
  | { op: 'get'; key: number };

/** Keys whose low bits collide a lot, so probing, wrap-around and growth are exercised. */
function lanes(key: number): [number, number] {
  const hi = (Math.imul(key, 0x9e3779b1) | 1) >>> 0;
  const lo = ((key % 7) << 8) >>> 0;
  return [hi, lo];
}

const value = fc.oneof(
  fc.integer({ min: NOW - 2000, max: NOW + 2000 }),
  // Outside the ±24.8-day compact range: the overflow path.
  fc.integer({ min: NOW - 60 * DAY, max: NOW + 60 * DAY }),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant('raise' as const), key: fc.nat(300), value }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('sweep' as const), below: value }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('get' as const), key: fc.nat(300) }) },
);

describe('IdTable against a reference Map', () => {
  it('agrees with a Map<key, max value> through growth, sweeps and shrinking (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 800 }),
        fc.integer({ min: -30, max: 30 }),
        (ops, drift) => {
          const table = new IdTable(NOW);
          const model = new Map<number, number>();
          let now = NOW;
          for (const o of ops) {
            now += drift * 1000;
            if (o.op === 'raise') {
              const [hi, lo] = lanes(o.key);
              const old = model.get(o.key);
              const changed = old === undefined || o.value > old;
              // Every value in the model stays live: the dead threshold is below them all.
              expect(table.raise(hi, lo, o.value, Number.NEGATIVE_INFINITY, now)).toBe(changed);
              if (changed) model.set(o.key, o.value);
            } else if (o.op === 'sweep') {
              let expected = 0;
              for (const [k, v] of model) {
                if (v <= o.below) {
                  model.delete(k);
                  expected++;
                }
              }
              expect(table.sweep(o.below, now)).toBe(expected);
            } else {
              const [hi, lo] = lanes(o.key);
              const expected = model.get(o.key);
              expect(table.get(hi, lo)).toBe(expected ?? Number.NEGATIVE_INFINITY);
              expect(table.has(hi, lo)).toBe(expected !== undefined);
              // isBefore is the strict `t < value` the list's cutoffs rely on.
              const t = expected ?? NOW;
              expect(table.isBefore(hi, lo, t)).toBe(false);
              expect(table.isBefore(hi, lo, t - 1)).toBe(expected !== undefined);
            }
            expect(table.size).toBe(model.size);
          }
          for (let key = 0; key <= 300; key++) {
            const [hi, lo] = lanes(key);
            expect(table.get(hi, lo)).toBe(model.get(key) ?? Number.NEGATIVE_INFINITY);
          }
          expect(table.capacity * 0.8125).toBeGreaterThanOrEqual(table.size);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('drops dead entries before growing, so a steady stream does not grow the table', () => {
    const table = new IdTable(NOW);
    for (let i = 0; i < 100_000; i++) {
      const [hi, lo] = lanes(i);
      // Each entry is live for 1000 ticks; the dead threshold follows the stream.
      table.raise(hi, lo, NOW + i + 1000, NOW + i, NOW + i);
    }
    // Between sweeps the table holds the live 1000 plus dead ones awaiting the next growth.
    expect(table.capacity).toBeLessThanOrEqual(2048);
    let live = 0;
    for (let i = 100_000 - 1000; i < 100_000; i++) {
      const [hi, lo] = lanes(i);
      if (table.get(hi, lo) === NOW + i + 1000) live++;
    }
    expect(live).toBe(1000);
  });

  it('shrinks when a sweep leaves it mostly empty', () => {
    const table = new IdTable(NOW);
    for (let i = 0; i < 10_000; i++) {
      const [hi, lo] = lanes(i);
      table.raise(hi, lo, NOW + i, Number.NEGATIVE_INFINITY, NOW);
    }
    const big = table.capacity;
    expect(table.sweep(NOW + 9_989, NOW)).toBe(9_990);
    expect(table.size).toBe(10);
    expect(table.capacity).toBeLessThan(big / 100);
    for (let i = 0; i < 10_000; i++) {
      const [hi, lo] = lanes(i);
      expect(table.get(hi, lo)).toBe(i >= 9_990 ? NOW + i : Number.NEGATIVE_INFINITY);
    }
  });

  it('tells keys apart whose tag bytes are equal (top byte 0 folds onto 1) in one probe run', () => {
    const table = new IdTable(NOW);
    const lo = 5;
    // Same home slot; tags 1, 1 (0x00 folded), 1, 0xff: only the full lanes separate them.
    const his = [0x01000001, 0x00000002, 0x01ffffff, 0xff000000 | 0];
    his.forEach((hi, k) => {
      expect(table.raise(hi, lo, NOW + k, Number.NEGATIVE_INFINITY, NOW)).toBe(true);
    });
    his.forEach((hi, k) => {
      expect(table.get(hi, lo)).toBe(NOW + k);
      expect(table.has(hi, lo)).toBe(true);
    });
    for (const absent of [0x00000001, 0x01000002, 0x00ffffff, 0xfe000000 | 0]) {
      expect(table.has(absent, lo)).toBe(false);
      expect(table.get(absent, lo)).toBe(Number.NEGATIVE_INFINITY);
    }
    expect(table.has(his[0] as number, lo + 1)).toBe(false);
    expect(table.size).toBe(4);
  });

  it('holds a live entry in at most 32 bytes at every size', () => {
    const table = new IdTable(NOW);
    const out = new Int32Array(2);
    for (let i = 1; i <= 300_000; i++) {
      hashId(`id-${i}`, out);
      table.raise(out[0]!, out[1]!, NOW, Number.NEGATIVE_INFINITY, NOW);
      if (i >= 1000 && i % 997 === 0) expect(table.bytes / table.size).toBeLessThanOrEqual(32);
    }
  });
});

describe('hashId', () => {
  it('is deterministic, never a zero high lane, and spreads 200,000 random ids without a collision', () => {
    const out = new Int32Array(2);
    const ids = new Set<string>();
    const seen = new Set<string>();
    const low = new Uint32Array(1024);
    const pool = randomBytes(200_000 * 41);
    let zero = 0;
    for (let i = 0; i < 200_000; i++) {
      const id = pool.toString('base64url', i * 41, i * 41 + 1 + (i % 40));
      hashId(id, out);
      if (out[0] === 0) zero++;
      ids.add(id);
      seen.add(`${out[0]}:${out[1]}`);
      low[out[1]! & 1023]!++;
    }
    expect(zero).toBe(0);
    // Short random ids repeat, so compare with the number of distinct ids.
    expect(seen.size).toBe(ids.size);
    // Index bits (the low lane) fill every bucket roughly evenly.
    expect(Math.min(...low)).toBeGreaterThan(100);
    expect(Math.max(...low)).toBeLessThan(300);
    hashId('session-1', out);
    const first = [out[0], out[1]];
    hashId('session-1', out);
    expect([out[0], out[1]]).toEqual(first);
  });

  it('separates near-identical ids (one char, one position, prefixes, non-ASCII)', () => {
    const out = new Int32Array(2);
    const ids = new Set<string>();
    const hashes = new Set<string>();
    const base = 'user-0123456789abcdef';
    for (let p = 0; p < base.length; p++) {
      for (let c = 0; c < 300; c += 7) {
        ids.add(base.slice(0, p) + String.fromCharCode(c) + base.slice(p + 1));
      }
      ids.add(base.slice(0, p));
    }
    ids.add('é');
    ids.add('\u00e9\u0000');
    ids.add('\ud83d\ude00');
    for (const id of ids) {
      hashId(id, out);
      hashes.add(`${out[0]}:${out[1]}`);
    }
    expect(hashes.size).toBe(ids.size);
  });
});
