/**
 * verify with the one-pass claim parser and without it (switched off through a module mock
 * of fast-claims.ts only): on arbitrary and hostile payloads, MAC-valid so they reach the
 * claim checks, both accept the same tokens with the same claims and reject the others
 * with the same code and message.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { AuthError } from '../../src/errors.js';
import { claimPayload, sameTree } from './claim-payloads.js';
import { AT_HEADER, b64, kHsVerifier, macToken, T0, testRevocation } from './helpers.js';

const fastPath = vi.hoisted(() => ({ enabled: true, answered: 0 }));

vi.mock('../../src/tokens/fast-claims.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/tokens/fast-claims.js')>();
  return {
    ...real,
    parseIssuedClaims(bytes: Buffer) {
      if (!fastPath.enabled) return undefined;
      const claims = real.parseIssuedClaims(bytes);
      if (claims !== undefined) fastPath.answered++;
      return claims;
    },
  };
});

type Outcome =
  | { claims: unknown }
  | { code: string; message: string; reason: unknown; detail: unknown };

function outcome(fn: () => unknown): Outcome {
  try {
    return { claims: fn() };
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    return { code: error.code, message: error.message, reason: error.reason, detail: error.detail };
  }
}

describe('verify agrees with and without the fast claim parser', () => {
  const clock = manualClock(T0);
  const revocation = testRevocation();
  revocation.revoke('sub', 'revoked-user', 'user');
  revocation.revoke('sid', 'revoked-sid', 'session');
  const header = b64(JSON.stringify({ ...AT_HEADER }));
  // One verifier per side, so the switch is never flipped under a verifier's cache.
  const verifiers = [false, true].map((cached) => {
    const options = { revocation, ...(cached ? { cache: { max: 4 } } : {}) };
    return { fast: kHsVerifier(options, clock), general: kHsVerifier(options, clock) };
  });

  it('same claims, same codes, on arbitrary and hostile payloads', () => {
    let accepted = 0;
    fastPath.answered = 0;
    fc.assert(
      fc.property(claimPayload, fc.boolean(), (bytes, cached) => {
        const token = macToken(header, b64(bytes));
        const verifier = verifiers[cached ? 1 : 0] as (typeof verifiers)[number];
        fastPath.enabled = true;
        const fast = outcome(() => verifier.fast.verify(token));
        fastPath.enabled = false;
        const general = outcome(() => verifier.general.verify(token));
        if ('claims' in fast && 'claims' in general) {
          accepted++;
          expect(sameTree(fast.claims, general.claims)).toBe(true);
        } else {
          expect(fast).toEqual(general);
        }
      }),
      { numRuns: 4000 },
    );
    // Both branches are exercised: tokens the fast path read, and tokens it accepted.
    expect(fastPath.answered).toBeGreaterThan(300);
    expect(accepted).toBeGreaterThan(100);
  });
});
