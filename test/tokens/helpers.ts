import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { type ManualClock, manualClock } from '../../src/clock.js';
import type { RevocationReason } from '../../src/errors.js';
import { AuthError, type AuthErrorCode } from '../../src/errors.js';
import type { RevocationCheck } from '../../src/revocation/check.js';
import { Keyring } from '../../src/tokens/keyring.js';
import type { Jwk } from '../../src/tokens/types.js';
import {
  type AccessTokenVerifierOptions,
  createAccessTokenVerifier,
} from '../../src/tokens/verify.js';

/** Copies of ../shared/vectors (see vectors/SOURCES.md), kept in the repo for clean clones. */
export function vector<T = unknown>(relative: string): T {
  return JSON.parse(
    readFileSync(fileURLToPath(new URL(`./vectors/${relative}`, import.meta.url)), 'utf8'),
  ) as T;
}

export const ISSUER = 'https://auth.example';
export const AUDIENCE = 'api';
/** 2026-01-01T00:00:00Z */
export const T0 = Date.UTC(2026, 0, 1);

/** JWT-ATTACKS.md K_HS: the HS256 secret of RFC 7515 A.1. */
export const K_HS_JWK: Jwk = {
  kty: 'oct',
  k: 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow',
};
export const K_HS = Buffer.from(K_HS_JWK.k as string, 'base64url');

export function b64(text: string | Buffer): string {
  return (typeof text === 'string' ? Buffer.from(text, 'utf8') : text).toString('base64url');
}

/** HS256 over the two segments exactly as given, i.e. "MAC-valid" in JWT-ATTACKS.md. */
export function macToken(
  headerSegment: string,
  payloadSegment: string,
  key: Buffer = K_HS,
): string {
  const input = `${headerSegment}.${payloadSegment}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/** A complete, valid claim set for tests that change one thing at a time. */
export function fullClaims(
  overrides: Record<string, unknown> = {},
  nowMs = T0,
): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    sid: 'sid-1',
    jti: 'jti-1',
    iat: nowMs / 1000,
    exp: Math.floor(nowMs / 1000) + 900,
    auth_time: Math.floor(nowMs / 1000),
    roles: ['user'],
    ...overrides,
  };
}

export const AT_HEADER = { alg: 'HS256', typ: 'at+jwt' };

/** A K_HS token on a complete claim set (header `typ: at+jwt` unless given). */
export function good(claims: Record<string, unknown> = {}, header: object = AT_HEADER): string {
  return hsToken(header, fullClaims(claims));
}

/** A MAC-valid K_HS token from header and claim objects (or raw JSON text). */
export function hsToken(header: object | string, claims: object | string): string {
  const h = typeof header === 'string' ? header : JSON.stringify(header);
  const c = typeof claims === 'string' ? claims : JSON.stringify(claims);
  return macToken(b64(h), b64(c));
}

/** A settable revocation check (the real list lives in src/revocation/list.ts). */
export interface TestRevocation extends RevocationCheck {
  calls: number;
  revoke(field: 'sub' | 'sid' | 'jti', value: string, reason: RevocationReason): void;
}

export function testRevocation(): TestRevocation {
  const entries = new Map<string, RevocationReason>();
  const state: TestRevocation = {
    calls: 0,
    check(sub, sid, jti) {
      state.calls++;
      return (
        entries.get(`sub:${sub}`) ?? entries.get(`sid:${sid}`) ?? entries.get(`jti:${jti}`) ?? null
      );
    },
    revoke(field, value, reason) {
      entries.set(`${field}:${value}`, reason);
    },
  };
  return state;
}

export function kHsKeyring(): Keyring {
  return Keyring.fromJwks({ keys: [K_HS_JWK] });
}

export function kHsVerifier(
  overrides: Partial<AccessTokenVerifierOptions> = {},
  clock: ManualClock = manualClock(T0),
) {
  return createAccessTokenVerifier({
    keyring: kHsKeyring(),
    issuer: ISSUER,
    audience: AUDIENCE,
    clock,
    cache: false,
    ...overrides,
  });
}

/** Runs `fn`, demands an AuthError and returns its code (never another exception). */
export function codeOf(fn: () => unknown): AuthErrorCode | 'accepted' {
  try {
    fn();
    return 'accepted';
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError);
    return (error as AuthError).code;
  }
}
