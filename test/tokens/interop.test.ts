/** Interop both ways with panva/jose: our tokens in jose, jose's tokens in ours. */
import { calculateJwkThumbprint, createLocalJWKSet, importJWK, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { Keyring } from '../../src/tokens/keyring.js';
import { createSigner } from '../../src/tokens/sign.js';
import type { Jwk } from '../../src/tokens/types.js';
import { createAccessTokenVerifier } from '../../src/tokens/verify.js';
import { AUDIENCE, ISSUER } from './helpers.js';

const NOW = Date.now();

describe.each(['EdDSA', 'ES256', 'HS256'] as const)('%s', (alg) => {
  const keyring = Keyring.generate(alg);
  const clock = manualClock(NOW);
  const signer = createSigner({ keyring, issuer: ISSUER, audience: AUDIENCE, ttl: 900, clock });
  const verifier = createAccessTokenVerifier({
    keyring,
    issuer: ISSUER,
    audience: AUDIENCE,
    clock,
  });
  const privateJwk = keyring.toPrivateJwks().keys[0] as Jwk;

  it('our kid is the thumbprint jose computes', async () => {
    const { kid: _kid, alg: _alg, use: _use, ...bare } = privateJwk;
    const publicPart = alg === 'HS256' ? bare : { ...bare, d: undefined };
    expect(
      await calculateJwkThumbprint(publicPart as Parameters<typeof calculateJwkThumbprint>[0]),
    ).toBe(keyring.signingKid);
  });

  it('our token verifies in jose (public JWKS, or the shared secret for HS256)', async () => {
    const { token, claims } = signer.sign({
      sub: 'user-1',
      sid: 'sid-1',
      roles: ['admin'],
      authTime: NOW,
    });
    const options = {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
      algorithms: [alg],
      currentDate: new Date(NOW),
    };
    const result =
      alg === 'HS256'
        ? await jwtVerify(token, Buffer.from(privateJwk.k as string, 'base64url'), options)
        : await jwtVerify(
            token,
            createLocalJWKSet(keyring.toPublicJwks() as Parameters<typeof createLocalJWKSet>[0]),
            options,
          );
    expect(result.payload).toEqual(claims);
    expect(result.protectedHeader).toEqual({ alg, kid: keyring.signingKid, typ: 'at+jwt' });
  });

  it('a token jose signs with our key verifies in ours', async () => {
    const key = await importJWK(privateJwk as Parameters<typeof importJWK>[0], alg);
    const iat = (NOW - 5) / 1000;
    const token = await new SignJWT({
      sid: 'sid-9',
      roles: ['user'],
      auth_time: Math.floor(NOW / 1000),
      jti: 'j-1',
    })
      .setProtectedHeader({ alg, kid: keyring.signingKid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('user-9')
      .setIssuedAt(iat)
      .setExpirationTime(Math.floor(NOW / 1000) + 600)
      .sign(key);
    const claims = verifier.verify(token);
    expect(claims).toMatchObject({
      sub: 'user-9',
      sid: 'sid-9',
      roles: ['user'],
      iss: ISSUER,
      aud: AUDIENCE,
    });
    // jose signed with a kid jose never saw from us? No: a foreign kid is unknown here.
    const stranger = await new SignJWT({})
      .setProtectedHeader({ alg, kid: 'someone-else', typ: 'at+jwt' })
      .sign(key);
    expect(() => verifier.verify(stranger)).toThrow(
      expect.objectContaining({ code: 'TOKEN_KEY_UNKNOWN' }),
    );
  });
});

it('jose rejects what we reject: a tampered token of ours fails in jose too', async () => {
  const keyring = Keyring.generate('EdDSA');
  const clock = manualClock(NOW);
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
    authTime: NOW,
  });
  const at = token.lastIndexOf('.') + 10;
  const tampered = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
  const jwks = createLocalJWKSet(keyring.toPublicJwks() as Parameters<typeof createLocalJWKSet>[0]);
  await expect(jwtVerify(tampered, jwks, { currentDate: new Date(NOW) })).rejects.toThrow();
});
