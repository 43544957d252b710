import type { RevocationReason } from '../errors.js';

/**
 * What the verifier asks of the revocation list on every request: a few in-memory
 * probes, no I/O. `iatMs` is the token's iat in milliseconds.
 */
export interface RevocationCheck {
  /**
   * Why a token with these ids and this issue time is revoked, or null when it is not. Called on
   * every verification, so it must not do I/O.
   */
  check(sub: string, sid: string, jti: string, iatMs: number): RevocationReason | null;
  /**
   * Optional fast path: the token's ids hashed once, kept with a cached token, so a repeat
   * of the same token probes the list without hashing three strings again.
   */
  revocationKey?(sub: string, sid: string, jti: string): unknown;
  /** `check` for a key from `revocationKey`: the same answer, by definition. */
  checkKey?(key: unknown, iatMs: number): RevocationReason | null;
}
