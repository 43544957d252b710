/** ASVS V11 rows that a look at src/tokens can prove. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { Keyring } from '../../src/tokens/keyring.js';
import { createSigner } from '../../src/tokens/sign.js';
import { AUDIENCE, ISSUER, T0 } from './helpers.js';

const dir = new URL('../../src/tokens/', import.meta.url);
const sources = readdirSync(dir)
  .filter((name) => name.endsWith('.ts'))
  .map((name) => ({ name, text: readFileSync(new URL(name, dir), 'utf8') }));

describe('ASVS V11 in src/tokens', () => {
  it('11.4.1 no MD5 or SHA-1 anywhere in the token code', () => {
    expect(sources.length).toBeGreaterThan(5);
    for (const { name, text } of sources) {
      expect(text, name).not.toMatch(/['"](md5|sha1|sha-1|RSA-SHA1)['"]/i);
    }
  });

  it('11.5.1 randomness only from node:crypto: no Math.random, no randomUUID; jti is 128 bits', () => {
    for (const { name, text } of sources) {
      expect(text, name).not.toMatch(/Math\.random|randomUUID/);
    }
    const clock = manualClock(T0);
    const signer = createSigner({
      keyring: Keyring.generate('HS256'),
      issuer: ISSUER,
      audience: AUDIENCE,
      ttl: 60,
      clock,
    });
    const jtis = Array.from(
      { length: 10_000 },
      () => signer.sign({ sub: 'u', sid: 's', roles: [], authTime: T0 }).claims.jti,
    );
    expect(new Set(jtis).size).toBe(jtis.length);
    for (const jti of jtis.slice(0, 100)) expect(Buffer.from(jti, 'base64url')).toHaveLength(16);
  });

  it('11.2.1 signatures and MACs come from node:crypto only (no hand-written primitive)', () => {
    const algorithms = sources.find((s) => s.name === 'algorithms.ts')?.text ?? '';
    expect(algorithms).toMatch(/from 'node:crypto'/);
    for (const { name, text } of sources) {
      // A hand-written HMAC would XOR with the ipad/opad constants.
      expect(text, name).not.toMatch(/0x36|0x5c/i);
    }
  });
});
