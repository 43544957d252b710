import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { AuthError } from '../../src/errors.js';
import { Keyring } from '../../src/tokens/keyring.js';
import { createSigner } from '../../src/tokens/sign.js';
import type { SigningAlgorithm } from '../../src/tokens/types.js';
import { createAccessTokenVerifier } from '../../src/tokens/verify.js';
import { AUDIENCE, codeOf, good, ISSUER, kHsVerifier, T0, testRevocation } from './helpers.js';

function setup(
  alg: SigningAlgorithm = 'EdDSA',
  verifierOptions: { clockSkew?: number; cache?: false | { max: number } } = {},
) {
  const clock = manualClock(T0 + 123);
  const keyring = Keyring.generate(alg);
  const revocation = testRevocation();
  const signer = createSigner({ keyring, issuer: ISSUER, audience: AUDIENCE, ttl: 900, clock });
  const verifier = createAccessTokenVerifier({
    keyring,
    issuer: ISSUER,
    audience: AUDIENCE,
    clock,
    revocation,
    ...verifierOptions,
  });
  const issue = (overrides: Partial<Parameters<typeof signer.sign>[0]> = {}) =>
    signer.sign({ sub: 'user-1', sid: 'sid-1', roles: ['user'], authTime: T0, ...overrides });
  return { clock, keyring, revocation, signer, verifier, issue };
}

describe('sign → verify', () => {
  it.each(['EdDSA', 'ES256', 'HS256'] as const)(
    '%s round trip returns the signed claims, frozen',
    (alg) => {
      const { verifier, issue } = setup(alg);
      const { token, claims } = issue();
      const verified = verifier.verify(token);
      expect(verified).toEqual(claims);
      expect(Object.isFrozen(verified)).toBe(true);
      expect(Object.isFrozen(verified.roles)).toBe(true);
      expect(() => {
        (verified.roles as string[]).push('admin');
      }).toThrow(TypeError);
    },
  );

  it('the header is {alg, kid, typ: at+jwt}; iat keeps milliseconds; jti is 128 random bits', () => {
    const { keyring, issue } = setup('EdDSA');
    const { token, claims } = issue();
    const header = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString());
    expect(header).toEqual({ alg: 'EdDSA', kid: keyring.signingKid, typ: 'at+jwt' });
    expect(claims.iat).toBe((T0 + 123) / 1000);
    expect(token).toContain(
      Buffer.from(`"iat":${(T0 + 123) / 1000},`)
        .toString('base64url')
        .slice(0, 4),
    );
    expect(Buffer.from(claims.jti, 'base64url')).toHaveLength(16);
    expect(claims.exp).toBe(Math.floor((T0 + 123) / 1000) + 900);
    const jtis = new Set(Array.from({ length: 1000 }, () => issue().claims.jti));
    expect(jtis.size).toBe(1000);
  });

  it('exp is clamped to expMs (the session end), never beyond', () => {
    const { issue } = setup();
    expect(issue({ expMs: T0 + 60_000 }).claims.exp).toBe((T0 + 60_000) / 1000);
    expect(issue({ expMs: T0 + 10_000_000 }).claims.exp).toBe(Math.floor((T0 + 123) / 1000) + 900);
    expect(() => issue({ expMs: T0 })).toThrow(RangeError);
  });

  it('the signer validates its options and inputs at construction and per call', () => {
    const clock = manualClock(T0);
    const keyring = Keyring.generate('HS256');
    const base = { keyring, issuer: ISSUER, audience: AUDIENCE, ttl: 900, clock };
    expect(() => createSigner({ ...base, issuer: '' })).toThrow();
    expect(() => createSigner({ ...base, audience: '' })).toThrow();
    expect(() => createSigner({ ...base, ttl: 0 })).toThrow();
    expect(() => createSigner({ ...base, ttl: 1.5 })).toThrow();
    const verifyOnly = Keyring.fromPublicJwks(Keyring.generate('EdDSA').toPublicJwks());
    expect(() => createSigner({ ...base, keyring: verifyOnly })).toThrow();
    const signer = createSigner(base);
    expect(() => signer.sign({ sub: '', sid: 's', roles: [], authTime: T0 })).toThrow(TypeError);
    expect(() =>
      signer.sign({ sub: 'u', sid: 's', roles: [1 as unknown as string], authTime: T0 }),
    ).toThrow(TypeError);
  });
});

describe('input handling', () => {
  it('undefined, null and "" are TOKEN_MISSING; other non-strings TOKEN_MALFORMED', () => {
    const verifier = kHsVerifier();
    expect(codeOf(() => verifier.verify(undefined))).toBe('TOKEN_MISSING');
    expect(codeOf(() => verifier.verify(null))).toBe('TOKEN_MISSING');
    expect(codeOf(() => verifier.verify(''))).toBe('TOKEN_MISSING');
    for (const value of [42, {}, [], true, Symbol('x'), () => 1]) {
      expect(codeOf(() => verifier.verify(value))).toBe('TOKEN_MALFORMED');
    }
  });

  it('an opaque refresh token used as a bearer is TOKEN_MALFORMED (ASVS 9.2.2)', () => {
    const refresh = Buffer.alloc(32, 9).toString('base64url');
    expect(codeOf(() => kHsVerifier().verify(refresh))).toBe('TOKEN_MALFORMED');
  });
});

describe('ASVS V9', () => {
  it('9.1.1 a flipped bit in any segment → TOKEN_SIGNATURE_INVALID or MALFORMED, never a claim error', () => {
    const { verifier, issue } = setup('HS256');
    const { token } = issue();
    for (let i = 0; i < token.length; i++) {
      if (token[i] === '.') continue;
      const flipped = `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`;
      const code = codeOf(() => verifier.verify(flipped));
      expect([
        'TOKEN_SIGNATURE_INVALID',
        'TOKEN_MALFORMED',
        'TOKEN_ALG_NOT_ALLOWED',
        'TOKEN_KEY_UNKNOWN',
      ]).toContain(code);
    }
  });

  it('9.1.2 none, HS256 keyed with the public JWKS, alg/kid mismatch are rejected', () => {
    const { keyring, verifier, issue } = setup('EdDSA');
    const { token } = issue();
    const [h, p] = token.split('.') as [string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const none = `${Buffer.from(JSON.stringify({ ...header, alg: 'none' })).toString('base64url')}.${p}.`;
    expect(codeOf(() => verifier.verify(none))).toBe('TOKEN_ALG_NOT_ALLOWED');
    const jwksText = JSON.stringify(keyring.toPublicJwks());
    const hs = `${Buffer.from(JSON.stringify({ ...header, alg: 'HS256' })).toString('base64url')}.${p}`;
    const mac = createHmac('sha256', jwksText).update(hs).digest('base64url');
    expect(codeOf(() => verifier.verify(`${hs}.${mac}`))).toBe('TOKEN_ALG_NOT_ALLOWED');
  });

  it('9.1.3 kid "../x" or SQL text → TOKEN_KEY_UNKNOWN; an embedded jwk is refused', () => {
    for (const kid of ['../x', "' OR 1=1 --"]) {
      expect(
        codeOf(() => kHsVerifier().verify(good({}, { alg: 'HS256', typ: 'at+jwt', kid }))),
      ).toBe('TOKEN_KEY_UNKNOWN');
    }
    const jwk = { kty: 'oct', k: Buffer.alloc(32).toString('base64url') };
    expect(codeOf(() => kHsVerifier().verify(good({}, { alg: 'HS256', typ: 'at+jwt', jwk })))).toBe(
      'TOKEN_MALFORMED',
    );
  });

  it('9.2.1 clock at exp+skew+1 ms → TOKEN_EXPIRED; at nbf−skew−1 ms → TOKEN_NOT_YET_VALID', () => {
    const clock = manualClock(T0);
    const verifier = kHsVerifier({ clockSkew: 30 }, clock);
    const exp = Math.floor(T0 / 1000) + 900;
    const token = good({ exp, iat: T0 / 1000 - 10 });
    clock.set(exp * 1000 + 30_000 - 1);
    expect(codeOf(() => verifier.verify(token))).toBe('accepted');
    clock.set(exp * 1000 + 30_000);
    expect(codeOf(() => verifier.verify(token))).toBe('TOKEN_EXPIRED');
    clock.set(exp * 1000 + 30_000 + 1);
    expect(codeOf(() => verifier.verify(token))).toBe('TOKEN_EXPIRED');
    const nbf = Math.floor(T0 / 1000) + 100;
    const later = good({ nbf, iat: T0 / 1000 - 10 });
    clock.set(nbf * 1000 - 30_000 - 1);
    expect(codeOf(() => verifier.verify(later))).toBe('TOKEN_NOT_YET_VALID');
    clock.set(nbf * 1000 - 30_000);
    expect(codeOf(() => verifier.verify(later))).toBe('accepted');
  });

  it('9.2.1 the skew is configurable (0–300 s) and defaults to 30 s', () => {
    const clock = manualClock(T0);
    const exp = Math.floor(T0 / 1000) + 900;
    const token = good({ exp });
    clock.set(exp * 1000 + 5_000);
    expect(codeOf(() => kHsVerifier({ clockSkew: 0 }, clock).verify(token))).toBe('TOKEN_EXPIRED');
    expect(codeOf(() => kHsVerifier({}, clock).verify(token))).toBe('accepted');
    clock.set(exp * 1000 + 31_000);
    expect(codeOf(() => kHsVerifier({}, clock).verify(token))).toBe('TOKEN_EXPIRED');
    expect(codeOf(() => kHsVerifier({ clockSkew: 60 }, clock).verify(token))).toBe('accepted');
    expect(() => kHsVerifier({ clockSkew: 301 })).toThrow(RangeError);
    expect(() => kHsVerifier({ clockSkew: -1 })).toThrow(RangeError);
    expect(() => kHsVerifier({ clockSkew: Number.NaN })).toThrow(RangeError);
  });

  it('9.2.2 same-key token with typ "JWT" or none → TOKEN_CLAIM_INVALID', () => {
    expect(codeOf(() => kHsVerifier().verify(good({}, { alg: 'HS256', typ: 'JWT' })))).toBe(
      'TOKEN_CLAIM_INVALID',
    );
    expect(codeOf(() => kHsVerifier().verify(good({}, { alg: 'HS256' })))).toBe(
      'TOKEN_CLAIM_INVALID',
    );
  });

  it('9.2.3 aud "billing" at an "api" verifier → TOKEN_CLAIM_INVALID; aud missing → same', () => {
    expect(codeOf(() => kHsVerifier().verify(good({ aud: 'billing' })))).toBe(
      'TOKEN_CLAIM_INVALID',
    );
    expect(codeOf(() => kHsVerifier().verify(good({ aud: undefined })))).toBe(
      'TOKEN_CLAIM_INVALID',
    );
    const several = kHsVerifier({ audience: ['billing', 'api'] });
    expect(codeOf(() => several.verify(good({ aud: 'billing' })))).toBe('accepted');
  });

  it('9.2.4 every issued token carries aud; no audience configured → construction throws', () => {
    const { issue } = setup();
    const payload = JSON.parse(
      Buffer.from(issue().token.split('.')[1] as string, 'base64url').toString(),
    );
    expect(payload.aud).toBe(AUDIENCE);
    const keyring = Keyring.generate('HS256');
    const clock = manualClock();
    expect(() =>
      createSigner({
        keyring,
        issuer: ISSUER,
        audience: undefined as unknown as string,
        ttl: 900,
        clock,
      }),
    ).toThrow();
    expect(() =>
      createAccessTokenVerifier({
        keyring,
        issuer: ISSUER,
        audience: undefined as unknown as string,
        clock,
      }),
    ).toThrow();
    expect(() =>
      createAccessTokenVerifier({ keyring, issuer: ISSUER, audience: [], clock }),
    ).toThrow();
  });

  it('11.7.2 a decoded token holds only iss aud sub sid jti iat exp roles auth_time', () => {
    const { issue } = setup();
    const payload = JSON.parse(
      Buffer.from(issue().token.split('.')[1] as string, 'base64url').toString(),
    );
    expect(Object.keys(payload).sort()).toEqual([
      'aud',
      'auth_time',
      'exp',
      'iat',
      'iss',
      'jti',
      'roles',
      'sid',
      'sub',
    ]);
  });
});

describe('revocation and the verified-token cache', () => {
  it('TOKEN_REVOKED carries the reason from revocation.check, with iat in ms', () => {
    const { verifier, issue, revocation } = setup('HS256');
    const seen: number[] = [];
    const check = revocation.check;
    revocation.check = (sub, sid, jti, iatMs) => {
      seen.push(iatMs);
      return check(sub, sid, jti, iatMs);
    };
    const { token } = issue();
    expect(verifier.verify(token).sub).toBe('user-1');
    expect(seen).toEqual([T0 + 123]);
    for (const [field, value, reason] of [
      ['sid', 'sid-1', 'session'],
      ['sub', 'user-1', 'claims'],
      ['jti', 'x', 'token'],
    ] as const) {
      const fresh = setup('HS256');
      const t = fresh.issue({ jti: 'x' }).token;
      fresh.revocation.revoke(field, value, reason);
      try {
        fresh.verifier.verify(t);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(AuthError);
        expect((error as AuthError).code).toBe('TOKEN_REVOKED');
        expect((error as AuthError).reason).toBe(reason);
      }
    }
  });

  it('a cache hit never skips the revocation check', () => {
    const { verifier, issue, revocation } = setup('EdDSA');
    const { token } = issue();
    verifier.verify(token);
    verifier.verify(token);
    expect(revocation.calls).toBe(2);
    revocation.revoke('sid', 'sid-1', 'session');
    expect(codeOf(() => verifier.verify(token))).toBe('TOKEN_REVOKED');
    expect(revocation.calls).toBe(3);
  });

  it('a cache hit never skips expiry (manual clock)', () => {
    const { verifier, issue, clock } = setup('HS256');
    const { token, claims } = issue();
    expect(verifier.verify(token)).toBe(verifier.verify(token));
    clock.set(claims.exp * 1000 + 30_000);
    expect(codeOf(() => verifier.verify(token))).toBe('TOKEN_EXPIRED');
    clock.set(T0 + 123);
    // Expired entries are dropped, so a clock moving back re-verifies from scratch.
    expect(verifier.verify(token).sub).toBe('user-1');
  });

  it('a cache hit skips the signature: the repeat is served, and the cache can be turned off', () => {
    const { keyring, issue, clock } = setup('HS256');
    let verifies = 0;
    const record = keyring.signingRecord();
    const original = record.verify;
    (record as { verify: typeof original }).verify = (data, sig) => {
      verifies++;
      return original(data, sig);
    };
    const cached = createAccessTokenVerifier({
      keyring,
      issuer: ISSUER,
      audience: AUDIENCE,
      clock,
    });
    const uncached = createAccessTokenVerifier({
      keyring,
      issuer: ISSUER,
      audience: AUDIENCE,
      clock,
      cache: false,
    });
    const { token } = issue();
    cached.verify(token);
    cached.verify(token);
    expect(verifies).toBe(1);
    uncached.verify(token);
    uncached.verify(token);
    expect(verifies).toBe(3);
  });

  it('the cache is bounded: with max 4, older tokens are evicted and re-verified', () => {
    const { keyring, issue, clock } = setup('HS256');
    const verifier = createAccessTokenVerifier({
      keyring,
      issuer: ISSUER,
      audience: AUDIENCE,
      clock,
      cache: { max: 4 },
    });
    const tokens = Array.from({ length: 50 }, (_, i) => issue({ sub: `u${i}` }).token);
    for (const token of tokens) verifier.verify(token);
    for (const [i, token] of tokens.entries()) expect(verifier.verify(token).sub).toBe(`u${i}`);
    expect(() =>
      createAccessTokenVerifier({
        keyring,
        issuer: ISSUER,
        audience: AUDIENCE,
        clock,
        cache: { max: 0 },
      }),
    ).toThrow();
  });

  it('a pruned key stops verifying at once, cached or not', () => {
    const { keyring, verifier, issue, clock } = setup('EdDSA');
    const { token } = issue();
    verifier.verify(token);
    keyring.rotate(undefined, clock.now());
    expect(verifier.verify(token).sub).toBe('user-1');
    expect(keyring.prune(clock.now() + 1, 0)).toHaveLength(1);
    expect(codeOf(() => verifier.verify(token))).toBe('TOKEN_KEY_UNKNOWN');
  });
});

describe('construction fails on bad configuration', () => {
  it('keyring, issuer, clock, revocation, cache and hook are validated', () => {
    const keyring = Keyring.generate('HS256');
    const clock = manualClock();
    const base = { keyring, issuer: ISSUER, audience: AUDIENCE, clock };
    expect(() => createAccessTokenVerifier({ ...base, keyring: {} as Keyring })).toThrow();
    expect(() => createAccessTokenVerifier({ ...base, issuer: '' })).toThrow();
    expect(() => createAccessTokenVerifier({ ...base, clock: {} as typeof clock })).toThrow();
    expect(() => createAccessTokenVerifier({ ...base, revocation: {} as never })).toThrow();
    expect(() => createAccessTokenVerifier({ ...base, cache: { max: 1.5 } })).toThrow();
    expect(() => createAccessTokenVerifier({ ...base, onUnknownKid: 'x' as never })).toThrow();
    expect(() => createAccessTokenVerifier(base)).not.toThrow();
  });
});
