import { describe, expect, it } from 'vitest';
import type { StoreKit } from './kit.js';

/** Attempt reservations and secrets. */
export function describeLimitCases(k: StoreKit): void {
  const { T0 } = k;
  describe('attempt reservations', () => {
    const W = 60_000;
    const reserve = (key: string, nowMs: number, free = 100, max = 100) =>
      k.store.reserveAttempt({ key, nowMs, windowMs: W, free, max });

    it('count within a window, restart after it, release one on demand', async () => {
      expect(await k.store.getFailures('acct', T0, W)).toEqual({
        count: 0,
        windowStart: 0,
        lastAt: 0,
      });
      await reserve('acct', T0);
      await reserve('acct', T0 + 10);
      expect(await reserve('acct', T0 + 20)).toEqual({ ok: true, count: 3 });
      expect(await k.store.getFailures('acct', T0 + 30, W)).toEqual({
        count: 3,
        windowStart: T0,
        lastAt: T0 + 20,
      });
      expect(await k.store.getFailures('acct', T0 + W, W)).toMatchObject({ count: 0 });
      expect(await reserve('acct', T0 + W)).toEqual({ ok: true, count: 1 });
      await k.store.releaseAttempt('acct', T0 + W, W);
      expect(await k.store.getFailures('acct', T0 + W, W)).toMatchObject({ count: 0 });
      // Never below zero: a release without a reservation changes nothing.
      await k.store.releaseAttempt('acct', T0 + W, W);
      expect(await reserve('acct', T0 + W)).toEqual({ ok: true, count: 1 });
    });

    it('refuses past max until the window ends, and after free waits a doubling delay', async () => {
      for (let i = 0; i < 2; i++) expect((await reserve('m', T0, 2, 4)).ok).toBe(true);
      // Third attempt: 1 s after the previous one.
      expect(await reserve('m', T0 + 999, 2, 4)).toEqual({ ok: false, retryAt: T0 + 1000 });
      expect((await reserve('m', T0 + 1000, 2, 4)).ok).toBe(true);
      // Fourth: 2 s after the third.
      expect(await reserve('m', T0 + 2999, 2, 4)).toEqual({ ok: false, retryAt: T0 + 3000 });
      expect((await reserve('m', T0 + 3000, 2, 4)).ok).toBe(true);
      // At max: shut until the window that opened at T0 ends.
      expect(await reserve('m', T0 + 50_000, 2, 4)).toEqual({ ok: false, retryAt: T0 + W });
      expect(await reserve('m', T0 + W, 2, 4)).toEqual({ ok: true, count: 1 });
    });

    it('concurrent reservations never pass the limit', async () => {
      const results = await Promise.all(Array.from({ length: 40 }, () => reserve('p', T0, 10, 10)));
      expect(results.filter((r) => r.ok)).toHaveLength(10);
      expect((await k.store.getFailures('p', T0, W)).count).toBe(10);
      // Releases free exactly as many slots as they give back.
      await Promise.all(Array.from({ length: 3 }, () => k.store.releaseAttempt('p', T0, W)));
      const again = await Promise.all(Array.from({ length: 10 }, () => reserve('p', T0, 10, 10)));
      expect(again.filter((r) => r.ok)).toHaveLength(3);
    });
  });

  describe('secrets', () => {
    it('the first writer wins; replaceSecret is a compare-and-set', async () => {
      const [a, b] = await Promise.all([
        k.store.getOrCreateSecret('keys', 'one'),
        k.store.getOrCreateSecret('keys', 'two'),
      ]);
      expect(a).toBe(b);
      expect(await k.store.getOrCreateSecret('keys', 'three')).toBe(a);
      expect(await k.store.replaceSecret('keys', 'wrong', 'next')).toBe(false);
      expect(await k.store.replaceSecret('keys', a, 'next')).toBe(true);
      expect(await k.store.getOrCreateSecret('keys', 'x')).toBe('next');
    });
  });
}
