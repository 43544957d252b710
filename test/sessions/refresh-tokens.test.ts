import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  hashRefreshToken,
  newRefreshToken,
  successorOf,
} from '../../src/sessions/refresh-tokens.js';

describe('refresh tokens', () => {
  it('7.2.3 10^5 tokens are all distinct and each is 32 random bytes', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const token = newRefreshToken();
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      seen.add(token);
    }
    expect(seen.size).toBe(100_000);
    expect(Buffer.from(newRefreshToken(), 'base64url')).toHaveLength(32);
  });

  it('11.4.3 the stored form is a SHA-256 digest (32 bytes)', () => {
    const digest = hashRefreshToken(newRefreshToken());
    expect(Buffer.from(digest, 'hex')).toHaveLength(32);
  });

  it('the successor is fixed by the token and the secret, and unlike either', () => {
    const secret = randomBytes(32);
    const token = newRefreshToken();
    const next = successorOf(secret, token);
    expect(successorOf(secret, token)).toBe(next);
    expect(successorOf(randomBytes(32), token)).not.toBe(next);
    expect(successorOf(secret, newRefreshToken())).not.toBe(next);
    expect(Buffer.from(next, 'base64url')).toHaveLength(32);
  });
});
