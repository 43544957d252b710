import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { encodeBase64url } from './base64url.js';
import { Keyring } from './keyring.js';
import type { AccessTokenClaims } from './types.js';

/**
 * What {@link createSigner} needs: the keys, the `iss` and `aud` to write, the lifetime and
 * the clock.
 */
export interface SignerOptions {
  /** Signs with its active key, so it must be able to sign (not verify-only). */
  keyring: Keyring;
  /** Written as `iss`. */
  issuer: string;
  /** The one audience written into every token (ASVS 9.2.4). */
  audience: string;
  /** Access-token lifetime in seconds (1 s – 24 h). */
  ttl: number;
  /** Gives `iat` when `SignInput.iatMs` is left out. */
  clock: Clock;
}

/** Whom one access token is for: user, session and roles. */
export interface SignInput {
  /** The user id. */
  sub: string;
  /** The session id: revoking the session revokes the token. */
  sid: string;
  /** Written as the `roles` claim. */
  roles: readonly string[];
  /** When the user last entered the password (ms). */
  authTime: number;
  /**
   * How the user signed in (RFC 8176 values: `pwd`, `otp`, `mfa`, `hwk`, `swk`, `user`),
   * written as the `amr` claim; no claim when left out.
   */
  amr?: readonly string[];
  /** Issue time (ms); defaults to the clock. Kept to the millisecond in `iat`. */
  iatMs?: number;
  /** 128-bit random base64url by default. */
  jti?: string;
  /** Upper bound for exp (ms), e.g. the session's absolute end: exp = min(iat + ttl, expMs). */
  expMs?: number;
  /** Written as the `email_verified` claim when given; left out otherwise. */
  emailVerified?: boolean;
}

/** A signed access token and the claims it carries. */
export interface SignedAccessToken {
  /** The compact JWS: `header.payload.signature`. */
  token: string;
  claims: AccessTokenClaims;
}

/** Signs access tokens; made by {@link createSigner}. */
export interface AccessTokenSigner {
  /**
   * Signs one token with the keyring's active key.
   *
   * @throws TypeError for an invalid input; RangeError when `expMs` leaves the token less than a
   *   whole second to live.
   */
  sign(input: SignInput): SignedAccessToken;
}

const MAX_TTL_SECONDS = 86_400;

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/**
 * Builds the access-token signer: header `{alg, kid, typ: "at+jwt"}` from the keyring's
 * active key (re-read when the keyring's version changes, so a rotation takes effect on
 * the next token), claims `iss aud sub sid jti iat exp auth_time roles` (and
 * `email_verified` when `SignInput.emailVerified` is given, `amr` when given) and nothing
 * else (ASVS 11.7.2: no PII in the token).
 *
 * @throws TypeError or RangeError at once for a bad option: a verify-only keyring, an empty
 *   issuer or audience, a `ttl` outside 1 s – 24 h.
 * @example
 * ```ts
 * import { createSigner, Keyring, systemClock } from 'notbefore';
 *
 * const signer = createSigner({
 *   keyring: Keyring.generate('EdDSA'),
 *   issuer: 'https://auth.example.com',
 *   audience: 'orders',
 *   ttl: 900,
 *   clock: systemClock,
 * });
 * const { token, claims } = signer.sign({
 *   sub: 'user-1',
 *   sid: 'session-1',
 *   roles: ['admin'],
 *   authTime: Date.now(),
 * });
 * ```
 */
export function createSigner(options: SignerOptions): AccessTokenSigner {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('createSigner: options are required');
  const { keyring, issuer, audience, ttl, clock } = options;
  if (!(keyring instanceof Keyring)) throw new TypeError('createSigner: keyring must be a Keyring');
  if (!keyring.canSign) throw new TypeError('createSigner: the keyring is verify-only');
  if (!isNonEmptyString(issuer))
    throw new TypeError('createSigner: issuer must be a non-empty string');
  if (!isNonEmptyString(audience))
    throw new TypeError('createSigner: audience must be a non-empty string');
  if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) {
    throw new RangeError(`createSigner: ttl must be an integer of 1–${MAX_TTL_SECONDS} seconds`);
  }
  if (typeof clock?.now !== 'function') throw new TypeError('createSigner: clock must have now()');

  let version = -1;
  let headerSegment = '';
  let signBytes: (data: string) => Buffer = () => Buffer.alloc(0);

  function refresh(): void {
    if (keyring.version === version) return;
    const record = keyring.signingRecord();
    const sign = record.sign;
    if (sign === undefined) throw new Error('createSigner: the active key cannot sign');
    headerSegment = encodeBase64url(
      JSON.stringify({ alg: record.alg, kid: record.kid, typ: 'at+jwt' }),
    );
    signBytes = sign;
    version = keyring.version;
  }

  function sign(input: SignInput): SignedAccessToken {
    const { sub, sid, roles, authTime } = input;
    if (!isNonEmptyString(sub) || !isNonEmptyString(sid)) {
      throw new TypeError('sign: sub and sid must be non-empty strings');
    }
    if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) {
      throw new TypeError('sign: roles must be a list of strings');
    }
    if (typeof authTime !== 'number' || !Number.isFinite(authTime) || authTime < 0) {
      throw new TypeError('sign: authTime must be a time in milliseconds');
    }
    const { amr } = input;
    if (amr !== undefined && (!Array.isArray(amr) || !amr.every((v) => typeof v === 'string')))
      throw new TypeError('sign: amr must be a list of strings');
    const iatMs = input.iatMs ?? clock.now();
    if (!Number.isSafeInteger(iatMs) || iatMs < 0)
      throw new TypeError('sign: iatMs must be whole milliseconds');
    const jti = input.jti ?? randomBytes(16).toString('base64url');
    if (!isNonEmptyString(jti)) throw new TypeError('sign: jti must be a non-empty string');
    let expMs = iatMs + ttl * 1000;
    if (input.expMs !== undefined) {
      if (typeof input.expMs !== 'number' || !Number.isFinite(input.expMs)) {
        throw new TypeError('sign: expMs must be a time in milliseconds');
      }
      expMs = Math.min(expMs, input.expMs);
    }
    // A plain boolean or nothing: the verifier passes unknown members through untouched.
    if (input.emailVerified !== undefined && typeof input.emailVerified !== 'boolean')
      throw new TypeError('sign: emailVerified must be a boolean');
    const exp = Math.floor(expMs / 1000);
    if (exp * 1000 <= iatMs)
      throw new RangeError('sign: the token would expire before it is issued');
    refresh();
    const claims: AccessTokenClaims = {
      iss: issuer,
      aud: audience,
      sub,
      sid,
      jti,
      // NumericDate with a millisecond fraction (RFC 7519 §2): same-second revocations
      // and re-issues stay ordered.
      iat: iatMs / 1000,
      exp,
      auth_time: Math.floor(authTime / 1000),
      roles: [...roles],
    };
    if (input.emailVerified !== undefined) claims.email_verified = input.emailVerified;
    if (amr !== undefined) claims.amr = [...amr];
    const signingInput = `${headerSegment}.${encodeBase64url(JSON.stringify(claims))}`;
    const token = `${signingInput}.${signBytes(signingInput).toString('base64url')}`;
    Object.freeze(claims.roles);
    if (claims.amr !== undefined) Object.freeze(claims.amr);
    return { token, claims: Object.freeze(claims) };
  }

  return { sign };
}
