import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { AuthError } from '../../src/errors.js';
import type { RevocationEvent } from '../../src/revocation/events.js';
import { RevocationList } from '../../src/revocation/list.js';
import { Keyring } from '../../src/tokens/keyring.js';
import { createSigner } from '../../src/tokens/sign.js';
import { createAccessTokenVerifier } from '../../src/tokens/verify.js';

const T0 = Date.UTC(2026, 0, 1);
const ids = ['a', 'b', 'c'] as const;

/** What verify answers: 'ok', or the error code with its revocation reason. */
function outcome(verify: () => unknown): string {
  try {
    verify();
    return 'ok';
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    return `${error.code}:${error.reason ?? ''}`;
  }
}

const eventArb: fc.Arbitrary<RevocationEvent> = fc.oneof(
  fc.record({ kind: fc.constant('global' as const), at: fc.integer({ min: T0 - 5, max: T0 + 5 }) }),
  fc.record({
    kind: fc.constant('user' as const),
    sub: fc.constantFrom(...ids),
    at: fc.integer({ min: T0 - 5, max: T0 + 5 }),
    scope: fc.constantFrom('tokens' as const, 'sessions' as const),
    cause: fc.constant('admin' as const),
  }),
  fc.record({
    kind: fc.constant('session' as const),
    sid: fc.constantFrom(...ids),
    sub: fc.constantFrom(...ids),
    at: fc.constant(T0),
    cause: fc.constant('logout' as const),
  }),
  fc.record({
    kind: fc.constant('token' as const),
    jti: fc.constantFrom(...ids),
    exp: fc.constant(T0 + 900_000),
    at: fc.constant(T0),
  }),
);

describe('the cached verify path probes the list with pre-hashed ids', () => {
  it('a cache hit answers exactly as an uncached verify, for any set of revocations (fast-check)', () => {
    const keyring = Keyring.generate('HS256');
    const clock = manualClock(T0);
    const common = { keyring, issuer: 'iss', audience: 'aud', clock };
    const signer = createSigner({ ...common, ttl: 900 });
    const tokens = ids.flatMap((sub) =>
      ids.map(
        (sid) => signer.sign({ sub, sid, jti: sid, roles: [], authTime: T0, iatMs: T0 }).token,
      ),
    );
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 8 }), (events) => {
        const list = new RevocationList({ clock, maxTokenLifetime: 900, clockSkew: 30 });
        const cached = createAccessTokenVerifier({ ...common, revocation: list });
        const uncached = createAccessTokenVerifier({ ...common, revocation: list, cache: false });
        for (const token of tokens) expect(outcome(() => cached.verify(token))).toBe('ok');
        list.applyAll(events);
        for (const token of tokens) {
          const expected = outcome(() => uncached.verify(token));
          expect(outcome(() => cached.verify(token))).toBe(expected);
        }
      }),
      { numRuns: 200 },
    );
  });
});
