/**
 * The one-pass claim parser (src/tokens/fast-claims.ts) against the general JSON guard:
 * wherever the fast path answers, it answers exactly what the guard returns; and it does
 * answer for what notbefore's signer writes, or it would be dead weight.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { parseIssuedClaims } from '../../src/tokens/fast-claims.js';
import { parseJsonObject } from '../../src/tokens/json.js';
import { Keyring } from '../../src/tokens/keyring.js';
import { createSigner } from '../../src/tokens/sign.js';
import { claimObject, claimPayload, sameTree } from './claim-payloads.js';
import { AUDIENCE, ISSUER, T0 } from './helpers.js';

function agree(bytes: Buffer): 'fast' | 'general' {
  const fast = parseIssuedClaims(bytes);
  if (fast === undefined) return 'general';
  const general = parseJsonObject(bytes);
  if (!sameTree(fast, general)) {
    throw new Error(`fast path disagrees on ${JSON.stringify(bytes.toString('latin1'))}`);
  }
  return 'fast';
}

function payloadOf(token: string): Buffer {
  return Buffer.from(token.split('.')[1] as string, 'base64url');
}

describe('fast claim parser', () => {
  it('answers as the general guard on arbitrary and hostile payloads, or not at all', () => {
    let fast = 0;
    fc.assert(
      fc.property(claimPayload, (bytes) => {
        if (agree(bytes) === 'fast') fast++;
      }),
      { numRuns: 10_000 },
    );
    // The generators reach the fast path often enough for the agreement to mean something.
    expect(fast).toBeGreaterThan(1500);
  });

  it('answers for every claim set the signer writes (printable ASCII ids)', () => {
    const clock = manualClock(T0);
    const keyring = Keyring.generate('HS256');
    const signer = createSigner({ keyring, issuer: ISSUER, audience: AUDIENCE, ttl: 900, clock });
    const id = fc.stringMatching(/^[\x20-\x7e]{1,40}$/);
    fc.assert(
      fc.property(
        id,
        id,
        fc.option(id, { nil: undefined }),
        fc.array(fc.stringMatching(/^[\x20-\x7e]{0,12}$/), { maxLength: 5 }),
        fc.option(fc.boolean(), { nil: undefined }),
        fc.integer({ min: 0, max: 10 ** 7 }),
        (sub, sid, jti, roles, emailVerified, shiftMs) => {
          const { token } = signer.sign({
            sub,
            sid,
            roles,
            authTime: T0 - shiftMs,
            iatMs: T0 + shiftMs,
            ...(jti === undefined ? {} : { jti }),
            ...(emailVerified === undefined ? {} : { emailVerified }),
          });
          const bytes = payloadOf(token);
          // Quotes and backslashes are escaped by JSON.stringify: those take the general path.
          const plain = ![sub, sid, jti ?? '', ...roles].some((s) => /["\\]/.test(s));
          expect(agree(bytes)).toBe(plain ? 'fast' : 'general');
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('leaves every value of the wrong type to the general path, which decides', () => {
    fc.assert(
      fc.property(claimObject, (claims) => {
        const bytes = Buffer.from(JSON.stringify(claims), 'utf8');
        const shapeOk =
          ['iss', 'aud', 'sub', 'sid', 'jti'].every((k) => typeof claims[k] === 'string') &&
          ['iat', 'exp', 'auth_time'].every((k) => typeof claims[k] === 'number') &&
          Array.isArray(claims.roles) &&
          (claims.roles as unknown[]).every((r) => typeof r === 'string') &&
          (claims.email_verified === undefined || typeof claims.email_verified === 'boolean');
        if (!shapeOk) expect(parseIssuedClaims(bytes)).toBeUndefined();
        agree(bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it('reads numbers exactly as JSON.parse, and leaves exponents and long mantissas to it', () => {
    const cases: [string, number | undefined][] = [
      ['0', 0],
      ['-0', -0],
      ['-0.0', -0],
      ['1796172852.502', 1796172852.502],
      ['0.1', 0.1],
      ['123456789012345', 123456789012345],
      ['99999999999999.9', 99999999999999.9],
      ['1234567890123456', undefined],
      ['1e3', undefined],
      ['1E3', undefined],
      ['01', undefined],
      ['1.', undefined],
      ['.5', undefined],
      ['-', undefined],
      ['+1', undefined],
    ];
    for (const [text, expected] of cases) {
      const json = `{"iss":"i","aud":"a","sub":"s","sid":"d","jti":"j","iat":${text},"exp":1,"auth_time":1,"roles":[]}`;
      const fast = parseIssuedClaims(Buffer.from(json, 'latin1'));
      if (expected === undefined) expect(fast, text).toBeUndefined();
      else expect(Object.is(fast?.iat, expected), text).toBe(true);
      agree(Buffer.from(json, 'latin1'));
    }
  });

  it('refuses nothing itself: duplicates, __proto__, escapes, BOM and trailing bytes go to the guard', () => {
    const base = JSON.stringify({
      iss: 'i',
      aud: 'a',
      sub: 's',
      sid: 'd',
      jti: 'j',
      iat: 1,
      exp: 2,
      auth_time: 1,
      roles: ['r'],
    });
    const hostile = [
      base.replace('}', ',"sub":"t"}'),
      base.replace('}', ',"__proto__":{}}'),
      base.replace('"s"', '"\\u0073"'),
      base.replace('"s"', '"\\ud800"'),
      base.replace('"s"', '"s\u0001"'),
      `\ufeff${base}`,
      `${base} `,
      `${base}x`,
      base.replace('"r"', '"r",1'),
      base.replace('"roles":["r"]', '"roles":["r"],"email_verified":1'),
      base.replace('"roles":["r"]', '"roles":["r"],"email_verified":true,"x":1'),
      base.slice(0, -1),
    ];
    for (const text of hostile) {
      expect(parseIssuedClaims(Buffer.from(text, 'utf8')), text).toBeUndefined();
    }
    // Bytes that are not UTF-8 at all, where the guard's isUtf8 would decide.
    const invalid = Buffer.from(base.replace('"s"', '"s?"'), 'latin1');
    invalid[invalid.indexOf(0x3f)] = 0xff;
    expect(parseIssuedClaims(invalid)).toBeUndefined();
  });
});
