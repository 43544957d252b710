import type { Clock } from '../clock.js';
import { AuthError, type AuthErrorCode } from '../errors.js';
import type { RevocationCheck } from '../revocation/check.js';
import { VerifiedTokenCache } from './cache.js';
import { parseIssuedClaims } from './fast-claims.js';
import { parseJsonObject } from './json.js';
import { createJwsVerifier } from './jws.js';
import { Keyring } from './keyring.js';
import type { AccessTokenClaims } from './types.js';

/**
 * What {@link createAccessTokenVerifier} needs: the keys, the issuer and audience to expect, the
 * clock, and the revocation check.
 */
export interface AccessTokenVerifierOptions {
  /**
   * The keys tokens may be signed with: the token's `kid` picks one, and its algorithm must equal
   * the header's.
   */
  keyring: Keyring;
  /** Expected `iss`, compared exactly. */
  issuer: string;
  /** This service's audience (or several): the token's `aud` must contain one (ASVS 9.2.3). */
  audience: string | readonly string[];
  /** Judges `exp`, `nbf` and `iat`. */
  clock: Clock;
  /** Seconds of leeway on exp, nbf and iat; default 30, at most 300. */
  clockSkew?: number;
  /**
   * Asked on every call, cache hit or not (a {@link RevocationList}, say); leave it out only when
   * nothing is ever revoked.
   */
  revocation?: RevocationCheck | undefined;
  /** Verified-token cache; on by default with 10,000 entries. `false` turns it off. */
  cache?: false | { max: number };
  /** Longest token accepted, checked before any decoding; default 8192 characters. */
  maxTokenLength?: number;
  /** Told about kids the keyring does not hold (e.g. to refresh a remote JWKS). */
  onUnknownKid?: (kid: string) => void;
}

/** A stateless access-token verifier, made by {@link createAccessTokenVerifier}. */
export interface AccessTokenVerifier {
  /** Synchronous, no I/O. Returns frozen claims or throws AuthError, nothing else. */
  verify(token: unknown): AccessTokenClaims;
}

/** Default leeway on `exp`, `nbf` and `iat`, in seconds. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;
export const MAX_CLOCK_SKEW_SECONDS = 300;
/** The longest token accepted by default, in characters, checked before any decoding. */
export const DEFAULT_MAX_TOKEN_LENGTH = 8192;
/** Entries of the verified-token cache by default (`AccessTokenVerifierOptions.cache`). */
export const DEFAULT_CACHE_MAX = 10_000;

/** A verified, still-typed token: everything but time and revocation is settled. */
interface Verified {
  readonly token: string;
  readonly claims: AccessTokenClaims;
  /** First instant (ms) the token is rejected as expired: exp + skew. */
  readonly expiresAtMs: number;
  /** First instant (ms) the token is accepted: max(nbf, iat) − skew. */
  readonly validFromMs: number;
  readonly iatMs: number;
  /** The revocation list's hash of sub/sid/jti, when it offers one (see RevocationCheck). */
  readonly revocationKey: unknown;
}

function fail(code: AuthErrorCode, message: string): never {
  throw new AuthError(code, message);
}

/** A claim for an error's detail: quoted, control characters escaped, cut short. */
function shown(value: unknown): string {
  if (Array.isArray(value))
    return `[${value.slice(0, 5).map(shown).join(', ')}${value.length > 5 ? ', …' : ''}]`;
  if (typeof value !== 'string') return value === undefined ? 'none' : typeof value;
  const json = JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
  return `'${json.slice(1, -1)}'`;
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function checkOptions(options: AccessTokenVerifierOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('createAccessTokenVerifier: options are required');
  }
  if (!(options.keyring instanceof Keyring)) {
    throw new TypeError('createAccessTokenVerifier: keyring must be a Keyring');
  }
  if (!isNonEmptyString(options.issuer)) {
    throw new TypeError('createAccessTokenVerifier: issuer must be a non-empty string');
  }
  const audience = options.audience;
  const audiences = typeof audience === 'string' ? [audience] : audience;
  if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every(isNonEmptyString)) {
    throw new TypeError('createAccessTokenVerifier: audience must be a non-empty string or list');
  }
  if (typeof options.clock?.now !== 'function') {
    throw new TypeError('createAccessTokenVerifier: clock must have now()');
  }
  const skew = options.clockSkew ?? DEFAULT_CLOCK_SKEW_SECONDS;
  if (
    typeof skew !== 'number' ||
    !Number.isFinite(skew) ||
    skew < 0 ||
    skew > MAX_CLOCK_SKEW_SECONDS
  ) {
    throw new RangeError(
      `createAccessTokenVerifier: clockSkew must be 0–${MAX_CLOCK_SKEW_SECONDS} s`,
    );
  }
  if (options.revocation !== undefined && typeof options.revocation?.check !== 'function') {
    throw new TypeError('createAccessTokenVerifier: revocation must have check()');
  }
  const cache = options.cache;
  if (cache !== undefined && cache !== false) {
    if (
      typeof cache !== 'object' ||
      cache === null ||
      !Number.isSafeInteger(cache.max) ||
      cache.max < 1
    ) {
      throw new RangeError('createAccessTokenVerifier: cache.max must be a positive integer');
    }
  }
  const max = options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH;
  if (!Number.isSafeInteger(max) || max < 256 || max > 65_536) {
    throw new RangeError('createAccessTokenVerifier: maxTokenLength must be 256–65536');
  }
  if (options.onUnknownKid !== undefined && typeof options.onUnknownKid !== 'function') {
    throw new TypeError('createAccessTokenVerifier: onUnknownKid must be a function');
  }
}

/** RFC 9068 §4 / RFC 7515 §4.1.9: `at+jwt`, case-insensitive, `application/` optional. */
function isAccessTokenTyp(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  if (typ === 'at+jwt') return true;
  const lower = typ.toLowerCase();
  return lower === 'at+jwt' || lower === 'application/at+jwt';
}

/**
 * Builds the stateless verifier (the hot path). Options are checked and keys prepared
 * here; bad configuration throws now, not on the first request.
 *
 * Per call, in order: input type and length (before any decoding); the verified-token
 * cache; on a miss the JWS layer (segments, header, signature — see jws.ts), the claim
 * set's JSON guard, `typ`, claim types, iss and aud. Then on EVERY call, hit or miss:
 * exp/nbf/iat against the injected clock, and the revocation check.
 *
 * The cache is keyed on the whole token string, so two different tokens never share an
 * entry (JWT-ATTACKS.md §20); an entry saves only the signature and the parsing, and is
 * dropped once its token expires or the keyring changes.
 *
 * Most services want {@link createVerifier} instead, which also fetches the keys and follows
 * the revocation feed; this is the layer beneath it and beneath `auth.verify`.
 *
 * @throws TypeError or RangeError at once for a bad option.
 * @example
 * ```ts
 * import { createAccessTokenVerifier, Keyring, RevocationList, systemClock } from 'notbefore';
 *
 * const revocations = new RevocationList({
 *   clock: systemClock,
 *   maxTokenLifetime: 900,
 *   clockSkew: 30,
 * });
 * const verifier = createAccessTokenVerifier({
 *   keyring: Keyring.fromPublicJwks(jwks), // the auth server's public JWKS
 *   issuer: 'https://auth.example.com',
 *   audience: 'orders',
 *   clock: systemClock,
 *   revocation: revocations,
 * });
 * const claims = verifier.verify(token); // throws AuthError: TOKEN_EXPIRED, TOKEN_REVOKED, …
 * ```
 */
export function createAccessTokenVerifier(
  options: AccessTokenVerifierOptions,
): AccessTokenVerifier {
  checkOptions(options);
  const { keyring, issuer, clock } = options;
  const audiences = new Set(
    typeof options.audience === 'string' ? [options.audience] : options.audience,
  );
  const skewMs = (options.clockSkew ?? DEFAULT_CLOCK_SKEW_SECONDS) * 1000;
  const revocation = options.revocation;
  const keyed =
    revocation?.revocationKey !== undefined && revocation.checkKey !== undefined
      ? (revocation as Required<RevocationCheck>)
      : undefined;
  const maxTokenLength = options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH;
  const cache =
    options.cache === false
      ? undefined
      : new VerifiedTokenCache<Verified>(options.cache?.max ?? DEFAULT_CACHE_MAX);
  const verifyCompact = createJwsVerifier(keyring, { onUnknownKid: options.onUnknownKid });
  let keyringVersion = keyring.version;

  function checkAudience(aud: unknown): boolean {
    if (typeof aud === 'string') return audiences.has(aud);
    if (!Array.isArray(aud) || aud.length === 0) return false;
    let match = false;
    for (const item of aud) {
      if (typeof item !== 'string') return false;
      if (audiences.has(item)) match = true;
    }
    return match;
  }

  function readClaims(token: string, payload: Buffer, typ: unknown): Verified {
    // notbefore's own claim sets take the one-pass parser; anything else the general guard.
    const claims = parseIssuedClaims(payload) ?? parseJsonObject(payload);
    if (claims === null) fail('TOKEN_MALFORMED', 'Token claims are not a JSON object');
    // typ is a header member, but judged only after the signature (ASVS 9.1.1).
    if (!isAccessTokenTyp(typ)) fail('TOKEN_CLAIM_INVALID', 'Token typ is not at+jwt');
    // Every registered claim is type-checked whether or not it is compared (§17, §18).
    const { iss, sub, sid, jti, iat, exp, nbf, auth_time: authTime, roles } = claims;
    if (
      !isNonEmptyString(iss) ||
      !isNonEmptyString(sub) ||
      !isNonEmptyString(sid) ||
      !isNonEmptyString(jti)
    ) {
      fail('TOKEN_CLAIM_INVALID', 'Token iss, sub, sid or jti is missing or not a string');
    }
    if (!isNumericDate(iat) || !isNumericDate(exp) || !isNumericDate(authTime)) {
      fail('TOKEN_CLAIM_INVALID', 'Token iat, exp or auth_time is missing or not a NumericDate');
    }
    if (nbf !== undefined && !isNumericDate(nbf))
      fail('TOKEN_CLAIM_INVALID', 'Token nbf is not a NumericDate');
    if (!Array.isArray(roles)) fail('TOKEN_CLAIM_INVALID', 'Token roles is not a list of strings');
    for (const role of roles) {
      if (typeof role !== 'string')
        fail('TOKEN_CLAIM_INVALID', 'Token roles is not a list of strings');
    }
    // The body stays generic; `detail` (never serialised) tells the operator which was
    // expected, built here only, off the path of a token that passes.
    if (iss !== issuer) {
      throw new AuthError('TOKEN_CLAIM_INVALID', 'Token issuer is not accepted', {
        detail: `expected issuer ${shown(issuer)}, got ${shown(iss)}`,
      });
    }
    if (!checkAudience(claims.aud)) {
      throw new AuthError('TOKEN_CLAIM_INVALID', 'Token audience is not accepted', {
        detail: `expected audience ${[...audiences].map(shown).join(' or ')}, got ${shown(claims.aud)}`,
      });
    }
    const iatMs = Math.round(iat * 1000);
    // parseJsonObject returned the claim tree deep-frozen.
    return {
      token,
      claims: claims as unknown as AccessTokenClaims,
      expiresAtMs: exp * 1000 + skewMs,
      validFromMs: Math.max(iatMs, nbf === undefined ? 0 : nbf * 1000) - skewMs,
      iatMs,
      revocationKey: keyed === undefined ? undefined : keyed.revocationKey(sub, sid, jti),
    };
  }

  function admit(entry: Verified, now: number): AccessTokenClaims {
    if (now >= entry.expiresAtMs) fail('TOKEN_EXPIRED', 'Token has expired');
    if (now < entry.validFromMs) fail('TOKEN_NOT_YET_VALID', 'Token is not valid yet');
    if (revocation !== undefined) {
      const claims = entry.claims;
      // A repeated token skips hashing its three ids: the measured half of a cache hit.
      const reason =
        keyed === undefined
          ? revocation.check(claims.sub, claims.sid, claims.jti, entry.iatMs)
          : keyed.checkKey(entry.revocationKey, entry.iatMs);
      if (reason !== null)
        throw new AuthError('TOKEN_REVOKED', 'Token has been revoked', { reason });
    }
    return entry.claims;
  }

  function verify(token: unknown): AccessTokenClaims {
    if (typeof token !== 'string') {
      if (token === undefined || token === null) fail('TOKEN_MISSING', 'No token');
      fail('TOKEN_MALFORMED', 'Token is not a string');
    }
    if (token.length === 0) fail('TOKEN_MISSING', 'No token');
    if (token.length > maxTokenLength) fail('TOKEN_MALFORMED', 'Token is too long');
    if (cache !== undefined && keyring.version !== keyringVersion) {
      // A pruned or replaced key must stop verifying at once, cached or not.
      keyringVersion = keyring.version;
      cache.clear();
    }
    const now = clock.now();
    const cached = cache?.get(token);
    if (cached !== undefined) {
      if (now >= cached.expiresAtMs) cache?.delete(token);
      return admit(cached, now);
    }
    const jws = verifyCompact(token);
    const entry = readClaims(token, jws.payload, jws.typ);
    if (cache !== undefined && now < entry.expiresAtMs) cache.set(entry);
    return admit(entry, now);
  }

  return { verify };
}
