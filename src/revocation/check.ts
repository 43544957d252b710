import type { RevocationReason } from '../errors.js';

/**
 * What the verifier asks of the revocation list on every request: a few in-memory
 * probes, no I/O. `iatMs` is the token's iat in milliseconds.
 */
export interface RevocationCheck {
  check(sub: string, sid: string, jti: string, iatMs: number): RevocationReason | null;
}
