import {
  createPublicKey,
  createSecretKey,
  type KeyObject,
  randomBytes,
  webcrypto,
} from 'node:crypto';
import { systemClock } from '../src/clock.js';
import { RevocationList } from '../src/revocation/list.js';
import { Keyring } from '../src/tokens/keyring.js';
import { createSigner } from '../src/tokens/sign.js';

export const ISSUER = 'https://bench.notbefore.test';
export const AUDIENCE = 'bench-api';
export const TTL_SECONDS = 900;
export const USERS = 100_000;

export type BenchAlg = 'EdDSA' | 'HS256';

export interface KeyFixture {
  alg: BenchAlg;
  keyring: Keyring;
  /** The verification key for the peers: HS256 secret or Ed25519 public key. */
  key: KeyObject;
  /** The same key as fast-jwt takes it (secret bytes or SPKI PEM). */
  peerKey: Buffer | string;
  /** A WebCrypto key: jose 6 is WebCrypto-based, and a KeyObject costs it a conversion per call. */
  cryptoKey: CryptoKey;
}

export async function keyFixture(alg: BenchAlg): Promise<KeyFixture> {
  const keyring = Keyring.generate(alg);
  const jwk = keyring.toPrivateJwks().keys[0]!;
  if (alg === 'HS256') {
    const secret = Buffer.from(String(jwk.k), 'base64url');
    const cryptoKey = await webcrypto.subtle.importKey(
      'raw',
      secret,
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['verify'],
    );
    return { alg, keyring, key: createSecretKey(secret), peerKey: secret, cryptoKey };
  }
  const key = createPublicKey({
    key: { kty: 'OKP', crv: String(jwk.crv), x: String(jwk.x) },
    format: 'jwk',
  });
  const cryptoKey = await webcrypto.subtle.importKey(
    'spki',
    key.export({ type: 'spki', format: 'der' }),
    { name: 'Ed25519' },
    false,
    ['verify'],
  );
  const peerKey = key.export({ type: 'spki', format: 'pem' }).toString();
  return { alg, keyring, key, peerKey, cryptoKey };
}

export function randomId(): string {
  return randomBytes(16).toString('base64url');
}

/** `count` typical access tokens (notbefore's own signer), users spread over USERS. */
export function signTokens(fixture: KeyFixture, count: number): string[] {
  const signer = createSigner({
    keyring: fixture.keyring,
    issuer: ISSUER,
    audience: AUDIENCE,
    ttl: TTL_SECONDS,
    clock: systemClock,
  });
  const now = systemClock.now();
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    tokens.push(
      signer.sign({
        sub: `user-${(i * 7919) % USERS}`,
        sid: randomId(),
        roles: ['user'],
        authTime: now - 60_000,
      }).token,
    );
  }
  return tokens;
}

/** A revocation list holding `live` entries spread over the four rules, none for our tokens. */
export function revocationListOf(live: number): RevocationList {
  const list = new RevocationList({
    clock: systemClock,
    maxTokenLifetime: TTL_SECONDS,
    clockSkew: 30,
  });
  const at = systemClock.now();
  for (let i = 0; i < live; i++) {
    switch (i % 4) {
      case 0:
        list.apply({ kind: 'session', sid: randomId(), sub: randomId(), at, cause: 'logout' });
        break;
      case 1:
        list.apply({ kind: 'token', jti: randomId(), exp: at + TTL_SECONDS * 1000, at });
        break;
      case 2:
        list.apply({ kind: 'user', sub: randomId(), at, scope: 'sessions', cause: 'logout-all' });
        break;
      default:
        list.apply({ kind: 'user', sub: randomId(), at, scope: 'tokens', cause: 'roles' });
    }
  }
  return list;
}
