import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { jwkThumbprint, RETIRED_AT_MEMBER } from '../../src/tokens/jwk.js';
import { Keyring } from '../../src/tokens/keyring.js';
import { createSigner } from '../../src/tokens/sign.js';
import type { Jwk } from '../../src/tokens/types.js';
import { createAccessTokenVerifier } from '../../src/tokens/verify.js';
import { AUDIENCE, codeOf, ISSUER, T0 } from './helpers.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

describe('Keyring.generate', () => {
  it.each(['EdDSA', 'ES256', 'HS256'] as const)(
    '%s: kid is the RFC 7638 thumbprint, alg pinned',
    (alg) => {
      const keyring = Keyring.generate(alg);
      const [jwk] = keyring.toPrivateJwks().keys as [Jwk];
      expect(keyring.signingAlg).toBe(alg);
      expect(jwk.alg).toBe(alg);
      expect(jwk.use).toBe('sig');
      expect(keyring.signingKid).toBe(jwkThumbprint(jwk));
      expect(keyring.canSign).toBe(true);
    },
  );

  it('EdDSA is the default; RS256/PS256 cannot be generated (verify-only)', () => {
    expect(Keyring.generate().signingAlg).toBe('EdDSA');
    expect(() => Keyring.generate('RS256' as 'EdDSA')).toThrow();
    expect(() => Keyring.generate('PS256' as 'EdDSA')).toThrow();
  });
});

describe('JWKS export and import', () => {
  it('11.1.1 the public JWKS never contains d, p, q, k (or any private member)', () => {
    for (const alg of ['EdDSA', 'ES256'] as const) {
      const keyring = Keyring.generate(alg);
      keyring.rotate(alg, T0);
      const { keys } = keyring.toPublicJwks();
      expect(keys).toHaveLength(2);
      for (const jwk of keys) {
        for (const member of [...PRIVATE_MEMBERS, RETIRED_AT_MEMBER])
          expect(jwk).not.toHaveProperty(member);
        expect(jwk.use).toBe('sig');
        expect(jwk.alg).toBe(alg);
      }
    }
  });

  it('an HS256-only keyring exports no public keys', () => {
    expect(Keyring.generate('HS256').toPublicJwks()).toEqual({ keys: [] });
  });

  it('the private JWKS round-trips, retirement included', () => {
    const keyring = Keyring.generate('EdDSA');
    const old = keyring.signingKid;
    const next = keyring.rotate('ES256', T0);
    const copy = Keyring.fromJwks(JSON.parse(JSON.stringify(keyring.toPrivateJwks())));
    expect(copy.signingKid).toBe(next);
    expect(copy.signingAlg).toBe('ES256');
    expect(copy.kids.sort()).toEqual([old, next].sort());
    expect(copy.prune(T0 + 1000, 1000)).toEqual([old]);
  });

  it('fromPublicJwks gives a verify-only keyring that verifies our tokens', () => {
    const clock = manualClock(T0);
    const keyring = Keyring.generate('EdDSA');
    const { token } = createSigner({
      keyring,
      issuer: ISSUER,
      audience: AUDIENCE,
      ttl: 900,
      clock,
    }).sign({
      sub: 'u',
      sid: 's',
      roles: [],
      authTime: T0,
    });
    const remote = Keyring.fromPublicJwks(keyring.toPublicJwks());
    expect(remote.canSign).toBe(false);
    expect(() => remote.signingKid).toThrow();
    const verifier = createAccessTokenVerifier({
      keyring: remote,
      issuer: ISSUER,
      audience: AUDIENCE,
      clock,
    });
    expect(verifier.verify(token).sub).toBe('u');
  });

  it('bad configuration throws with a clear message at load', () => {
    const bad: unknown[] = [
      null,
      {},
      { keys: 'x' },
      { keys: [null] },
      { keys: [{ kty: 'oct' }] },
      { keys: [{ kty: 'oct', k: 'AA==' }] },
      { keys: [{ kty: 'oct', k: `${Buffer.alloc(32).toString('base64url')}=` }] },
      { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }] },
      { keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }] },
      { keys: [{ kty: 'foo' }] },
      { keys: [{ kty: 'oct', k: Buffer.alloc(32).toString('base64url'), kid: '' }] },
      { keys: [{ kty: 'oct', k: Buffer.alloc(32).toString('base64url'), key_ops: 'sign' }] },
      {
        keys: [
          {
            kty: 'oct',
            k: Buffer.alloc(32).toString('base64url'),
            [RETIRED_AT_MEMBER]: 'yesterday',
          },
        ],
      },
      {
        keys: Array.from({ length: 65 }, (_, i) => ({
          kty: 'oct',
          k: Buffer.alloc(32, i).toString('base64url'),
        })),
      },
    ];
    for (const jwks of bad) {
      expect(() => Keyring.fromJwks(jwks as { keys: Jwk[] })).toThrow(Error);
    }
    expect(() => Keyring.fromJwks({ keys: [] }, { verifyOnly: ['RS512' as 'RS256'] })).toThrow();
    expect(() => Keyring.generate('EdDSA', { minRsaBits: 1024 })).toThrow();
  });

  it('a private EC/OKP key whose d does not match x/y is refused', () => {
    const a = Keyring.generate('ES256').toPrivateJwks().keys[0] as Jwk;
    const b = Keyring.generate('ES256').toPrivateJwks().keys[0] as Jwk;
    const { kid: _a, ...aBare } = a;
    expect(() => Keyring.fromJwks({ keys: [{ ...aBare, d: b.d as string }] })).toThrow();
    const c = Keyring.generate('EdDSA').toPrivateJwks().keys[0] as Jwk;
    const d = Keyring.generate('EdDSA').toPrivateJwks().keys[0] as Jwk;
    const { kid: _c, ...cBare } = c;
    expect(() => Keyring.fromJwks({ keys: [{ ...cBare, d: d.d as string }] })).toThrow();
  });

  it('several non-retired private keys still verify but cannot sign until retired', () => {
    const a = Keyring.generate('EdDSA').toPrivateJwks().keys[0] as Jwk;
    const b = Keyring.generate('EdDSA').toPrivateJwks().keys[0] as Jwk;
    const both = Keyring.fromJwks({ keys: [a, b] });
    expect(both.canSign).toBe(false);
    expect(() => both.signingKid).toThrow();
    const clock = manualClock();
    expect(() =>
      createSigner({ keyring: both, issuer: ISSUER, audience: AUDIENCE, ttl: 60, clock }),
    ).toThrow();
    const one = Keyring.fromJwks({ keys: [{ ...a, [RETIRED_AT_MEMBER]: T0 }, b] });
    expect(one.signingKid).toBe(b.kid);
  });
});

describe('rotation and pruning (ASVS 11.1.1, 11.2.2)', () => {
  it('11.1.1 the new key signs; a retired kid verifies until its last token expired, then TOKEN_KEY_UNKNOWN', () => {
    const clock = manualClock(T0);
    const keyring = Keyring.generate('EdDSA');
    const signer = createSigner({ keyring, issuer: ISSUER, audience: AUDIENCE, ttl: 900, clock });
    const verifier = createAccessTokenVerifier({
      keyring,
      issuer: ISSUER,
      audience: AUDIENCE,
      clock,
    });
    const input = { sub: 'u', sid: 's', roles: [], authTime: T0 };
    const oldToken = signer.sign(input).token;
    const oldKid = keyring.signingKid;
    const version = keyring.version;

    clock.advance(60_000);
    const newKid = keyring.rotate(undefined, clock.now());
    expect(keyring.version).toBeGreaterThan(version);
    expect(keyring.signingKid).toBe(newKid);
    const newToken = signer.sign(input).token;
    expect(
      JSON.parse(Buffer.from(newToken.split('.')[0] as string, 'base64url').toString()).kid,
    ).toBe(newKid);
    expect(verifier.verify(oldToken).sub).toBe('u');
    expect(verifier.verify(newToken).sub).toBe('u');

    const lifetime = 900_000 + 30_000;
    expect(keyring.prune(clock.now() + lifetime - 1, lifetime)).toEqual([]);
    clock.advance(840_000);
    expect(verifier.verify(oldToken).sub).toBe('u');
    const before = keyring.version;
    expect(keyring.prune(T0 + 60_000 + lifetime, lifetime)).toEqual([oldKid]);
    expect(keyring.version).toBe(before + 1);
    expect(codeOf(() => verifier.verify(oldToken))).toBe('TOKEN_KEY_UNKNOWN');
    expect(verifier.verify(newToken).sub).toBe('u');
    expect(keyring.prune(T0 + 10 * lifetime, lifetime)).toEqual([]);
  });

  it('rotation across families is refused; rotation on a verify-only keyring throws', () => {
    expect(() => Keyring.generate('HS256').rotate('EdDSA', T0)).toThrow();
    const remote = Keyring.fromPublicJwks(Keyring.generate('EdDSA').toPublicJwks());
    expect(() => remote.rotate('EdDSA', T0)).toThrow();
    const ed = Keyring.generate('EdDSA');
    ed.rotate('ES256', T0);
    expect(ed.signingAlg).toBe('ES256');
  });

  it('11.2.3 a 16-byte HS256 secret, RSA-1024 and a 2048-bit key under minRsaBits 3072 throw', () => {
    expect(() =>
      Keyring.fromJwks({ keys: [{ kty: 'oct', k: Buffer.alloc(16).toString('base64url') }] }),
    ).toThrow();
  });

  it('11.4.4 a human passphrase is never accepted as the HS256 key', () => {
    expect(() =>
      Keyring.fromJwks({
        keys: [{ kty: 'oct', k: Buffer.from('secret123').toString('base64url') }],
      }),
    ).toThrow();
  });

  it('11.6.1 the default keyring rejects RS256 keys; only EdDSA/ES256/HS256 can be generated', () => {
    const rsa: Jwk = {
      kty: 'RSA',
      alg: 'RS256',
      n: 'ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ',
      e: 'AQAB',
    };
    expect(() => Keyring.fromPublicJwks({ keys: [rsa] })).toThrow();
    expect(() => Keyring.fromJwks({ keys: [rsa] })).toThrow();
    expect(Keyring.fromPublicJwks({ keys: [rsa] }, { verifyOnly: ['RS256'] }).canSign).toBe(false);
    expect(() =>
      Keyring.fromPublicJwks({ keys: [rsa] }, { verifyOnly: ['RS256'], minRsaBits: 3072 }),
    ).toThrow();
  });
});

describe('ROCA fingerprint (Wycheproof JWK tcId 7)', () => {
  it('flags the Wycheproof ROCA modulus and passes freshly generated ones', async () => {
    const { isRocaFingerprint } = await import('../../src/tokens/roca.js');
    const { vector } = await import('./helpers.js');
    type Group = {
      private?: { keys: Jwk[] };
      tests: { tcId: number; private?: { keys: Jwk[] } }[];
    };
    const file = vector<{ testGroups: Group[] }>('wycheproof/json_web_key_test.json');
    const group = file.testGroups.find((g) => g.tests.some((t) => t.tcId === 7));
    const test7 = group?.tests.find((t) => t.tcId === 7);
    const keys = (test7?.private ?? group?.private)?.keys ?? [];
    const n = Buffer.from(keys[0]?.n as string, 'base64url');
    expect(isRocaFingerprint(BigInt(`0x${n.toString('hex')}`))).toBe(true);
    for (let i = 0; i < 3; i++) {
      const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
        format: 'jwk',
      });
      const fresh = Buffer.from(jwk.n as string, 'base64url');
      expect(isRocaFingerprint(BigInt(`0x${fresh.toString('hex')}`))).toBe(false);
    }
  });
});
