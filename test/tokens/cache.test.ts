import { describe, expect, it } from 'vitest';
import { VerifiedTokenCache } from '../../src/tokens/cache.js';

const entry = (token: string, n = 0) => ({ token, n });

describe('VerifiedTokenCache', () => {
  it('a hit needs the exact token: tokens sharing a tail (one slot) never share an entry', () => {
    const cache = new VerifiedTokenCache<ReturnType<typeof entry>>(100);
    const tail = 'S'.repeat(40);
    const a = `alice.${tail}`;
    const b = `bob.${tail}`;
    cache.set(entry(a, 1));
    expect(cache.get(a)?.n).toBe(1);
    expect(cache.get(b)).toBeUndefined();
    cache.set(entry(b, 2));
    expect(cache.get(b)?.n).toBe(2);
    expect(cache.get(a)).toBeUndefined();
    expect(cache.get(`${a} `)).toBeUndefined();
    expect(cache.get(a.slice(1))).toBeUndefined();
  });

  it('stays within max entries; recently read entries survive a generation change', () => {
    const cache = new VerifiedTokenCache<ReturnType<typeof entry>>(10);
    cache.set(entry('keep-me'));
    for (let i = 0; i < 1000; i++) {
      cache.set(entry(`token-${i}`));
      expect(cache.get('keep-me')?.token).toBe('keep-me');
      expect(cache.size).toBeLessThanOrEqual(10);
    }
    expect(cache.get('token-0')).toBeUndefined();
    expect(cache.get('token-999')?.token).toBe('token-999');
  });

  it('delete and clear remove only what they name', () => {
    const cache = new VerifiedTokenCache<ReturnType<typeof entry>>(10);
    cache.set(entry('x'));
    cache.set(entry('y'));
    cache.delete('z');
    expect(cache.size).toBe(2);
    cache.delete('x');
    expect(cache.get('x')).toBeUndefined();
    expect(cache.get('y')?.token).toBe('y');
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
