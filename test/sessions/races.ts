import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAuthError } from '../../src/errors.js';
import { createAuth } from '../../src/sessions/auth.js';
import type { Auth, SignedIn } from '../../src/sessions/types.js';
import type { Store } from '../../src/stores/port.js';
import {
  CHEAP_HASH,
  email,
  type Harness,
  harness,
  PASSWORD,
  rejectsWith,
  type StoreFactory,
  signedUp,
  throwsWith,
} from './helpers.js';

const MIN = 60_000;

/** A promise and the function that settles it: a gate a test opens when it chooses. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/**
 * The store, except that the replies of `method` are held until the test opens the gate:
 * a reply that arrives late, as over a slow link. The store itself is real.
 */
function lateReplies(store: Store, method: keyof Store) {
  let held = gate();
  let arrived = gate();
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== method || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const reply = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        arrived.open();
        await held.opened;
        return reply;
      };
    },
  });
  return {
    store: proxy,
    /** Resolves once the store has answered (the answer is now held). */
    answered: () => arrived.opened,
    release() {
      held.open();
    },
    /** Later calls pass straight through. */
    reset() {
      held = gate();
      held.open();
      arrived = gate();
    },
  };
}

/** Either the operation failed with TOKEN_REVOKED, or its token is rejected. */
async function mintedTokenIsDead(
  minting: Promise<SignedIn>,
  auth: Auth,
  reason: string,
): Promise<void> {
  let signedIn: SignedIn;
  try {
    signedIn = await minting;
  } catch (error) {
    expect(isAuthError(error) && error.code).toBe('TOKEN_REVOKED');
    expect(isAuthError(error) && error.reason).toBe(reason);
    return;
  }
  throwsWith(() => auth.verify(signedIn.accessToken), 'TOKEN_REVOKED', reason as 'user');
}

/**
 * Holes an adversarial review found in 0.1.0, each as a deterministic interleaving that
 * failed there: concurrent guesses, a sign-in or refresh whose store reply arrives after a
 * revocation, and a restart with a shorter access-token lifetime.
 */
export function describeRaceHoles(name: string, makeStore: StoreFactory): void {
  describe(`races and restarts on ${name}`, () => {
    describe('concurrent password guesses', () => {
      let h: Harness;
      beforeEach(async () => {
        h = await harness(makeStore);
      });
      afterEach(async () => {
        await h.close();
      });

      it('60 concurrent wrong passwords from rotating addresses evaluate at most the limit; the 61st, correct, is refused', async () => {
        const address = email();
        await h.auth.signup({ email: address, password: PASSWORD });
        const answers = await Promise.allSettled(
          Array.from({ length: 60 }, (_, i) =>
            h.auth.login({
              email: address,
              password: `wrong guess ${i}`,
              clientKey: `10.0.0.${i}`,
            }),
          ),
        );
        const codes = answers.map((a) =>
          a.status === 'rejected' && isAuthError(a.reason) ? a.reason.code : 'signed in',
        );
        const evaluated = codes.filter((c) => c === 'INVALID_CREDENTIALS').length;
        expect(evaluated).toBeGreaterThan(0);
        expect(evaluated).toBeLessThanOrEqual(h.auth.options.throttle.account.max);
        expect(
          codes.filter((c) => c !== 'INVALID_CREDENTIALS').every((c) => c === 'RATE_LIMITED'),
        ).toBe(true);
        await rejectsWith(h.auth.login({ email: address, password: PASSWORD }), 'RATE_LIMITED');
        // The window passes: the owner gets in.
        h.clock.advance(h.auth.options.throttle.windowSeconds * 1000);
        await h.auth.login({ email: address, password: PASSWORD });
      });

      it('a right password gives back only its own slot: it does not wipe the guesses counted before it', async () => {
        const address = email();
        await h.auth.signup({ email: address, password: PASSWORD });
        const { max, free } = h.auth.options.throttle.account;
        const guess = async (password: string) => {
          try {
            await h.auth.login({ email: address, password });
            return 'signed in';
          } catch (error) {
            return isAuthError(error) ? error.code : 'other';
          }
        };
        for (let i = 0; i < free; i++)
          expect(await guess(`wrong ${i}`)).toBe('INVALID_CREDENTIALS');
        h.clock.advance(1000);
        expect(await guess(PASSWORD)).toBe('signed in');
        // Had the success wiped the count, another `max` guesses would be evaluated now.
        let more = 0;
        // Each wait is at most 16 s at these counts; 30 tries stay inside the 15-minute window.
        for (let i = 0; i < 30; i++) {
          h.clock.advance(20_000);
          if ((await guess(`wrong again ${i}`)) === 'INVALID_CREDENTIALS') more++;
        }
        expect(free + more).toBe(max);
        await rejectsWith(h.auth.login({ email: address, password: PASSWORD }), 'RATE_LIMITED');
      });

      it('step-up and the current password of a password change are limited the same way', async () => {
        const s = await signedUp(h.auth);
        const stepUps = await Promise.allSettled(
          Array.from({ length: 30 }, (_, i) =>
            h.auth.logoutAll(s.user.id, { password: `not it ${i}` }),
          ),
        );
        const changes = await Promise.allSettled(
          Array.from({ length: 30 }, (_, i) =>
            h.auth.changePassword(s.user.id, `not it either ${i}`, 'a whole new passphrase 42'),
          ),
        );
        const evaluated = [...stepUps, ...changes].filter(
          (a) =>
            a.status === 'rejected' &&
            isAuthError(a.reason) &&
            a.reason.code === 'INVALID_CREDENTIALS',
        ).length;
        expect(evaluated).toBeGreaterThan(0);
        expect(evaluated).toBeLessThanOrEqual(h.auth.options.throttle.account.max);
        // Nothing was changed or ended by a guess.
        expect(h.auth.verify(s.accessToken).sid).toBe(s.session.sid);
      });
    });

    describe('a token minted while a revocation commits', () => {
      let h: Harness;
      const racers: Auth[] = [];
      /** A second instance on the same store whose `method` replies arrive when released. */
      const racingInstance = async (method: keyof Store) => {
        const late = lateReplies(h.store, method);
        const racing = createAuth({ store: late.store, clock: h.clock, password: CHEAP_HASH });
        racers.push(racing);
        await racing.ready();
        return { late, racing };
      };
      beforeEach(async () => {
        h = await harness(makeStore);
      });
      afterEach(async () => {
        for (const racing of racers.splice(0)) await racing.close();
        await h.close();
      });

      const revocations: Array<[string, string, (a: Auth, userId: string) => Promise<unknown>]> = [
        ['logoutAll', 'user', (a, id) => a.logoutAll(id)],
        ['disableUser', 'user', (a, id) => a.disableUser(id)],
        ['deleteUser', 'user', (a, id) => a.deleteUser(id)],
        ['setRoles', 'claims', (a, id) => a.setRoles(id, ['editor'])],
        ['revokeEveryone', 'global', (a) => a.revokeEveryone()],
      ];
      for (const [operation, reason, revoke] of revocations) {
        it(`a refresh whose store reply arrives after ${operation} mints nothing that survives it`, async () => {
          const s = await signedUp(h.auth);
          const { late, racing } = await racingInstance('rotateRefresh');
          h.clock.advance(MIN);
          const refreshing = racing.refresh(s.refreshToken);
          refreshing.catch(() => {});
          await late.answered();
          // The revocation commits (and this instance applies it) while the reply is in flight.
          await revoke(racing, s.user.id);
          late.release();
          await mintedTokenIsDead(refreshing, racing, reason);
          late.reset();
          // Within the grace window the same refresh token is answered again: after a role
          // change with the new roles, after the others not at all.
          const again = racing.refresh(s.refreshToken);
          if (reason === 'claims') {
            expect(racing.verify((await again).accessToken).roles).toEqual(['editor']);
          } else {
            await expect(again).rejects.toMatchObject({ name: 'AuthError' });
          }
        });
      }

      it('a sign-in whose session is stored just before disableUser commits gets no live token', async () => {
        const address = email();
        const user = await h.auth.signup({ email: address, password: PASSWORD });
        const { late, racing } = await racingInstance('createSession');
        const signingIn = racing.login({ email: address, password: PASSWORD });
        signingIn.catch(() => {});
        await late.answered();
        await racing.disableUser(user.id);
        late.release();
        await mintedTokenIsDead(signingIn, racing, 'user');
        await rejectsWith(racing.login({ email: address, password: PASSWORD }), 'ACCOUNT_DISABLED');
      });

      it('an instance that has not heard of the revocation yet mints with the store iat, which falls under it', async () => {
        const s = await signedUp(h.auth);
        const { late, racing } = await racingInstance('rotateRefresh');
        h.clock.advance(MIN);
        const refreshing = racing.refresh(s.refreshToken);
        await late.answered();
        // Another instance revokes; `racing` has its own in-process feed and has not heard.
        await h.auth.logoutAll(s.user.id);
        late.release();
        const minted = await refreshing;
        throwsWith(() => h.auth.verify(minted.accessToken), 'TOKEN_REVOKED', 'user');
      });
    });

    describe('instances on one store without a shared feed', () => {
      it('an instance cut off from the store stops vouching for its in-process feed: it refuses rather than serve what it cannot hear', async () => {
        const h = await harness(makeStore, { maxStaleness: 5 });
        let cut = false;
        const flaky = new Proxy(h.store, {
          get(target, property, receiver) {
            const value = Reflect.get(target, property, receiver);
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) =>
              cut
                ? Promise.reject(new Error('store unreachable'))
                : (value as (...a: unknown[]) => unknown).apply(target, args);
          },
        });
        const b = createAuth({
          store: flaky,
          clock: h.clock,
          password: CHEAP_HASH,
          maxStaleness: 5,
        });
        try {
          await b.ready();
          const s = await signedUp(h.auth);
          // While the store answers, B hears A through the store's log, whatever the clock says.
          h.clock.advance(MIN);
          expect(b.verify(s.accessToken).sid).toBe(s.session.sid);
          cut = true;
          await h.auth.logoutAll(s.user.id);
          // B's next catch-up fails; past maxStaleness it answers 503, never the revoked token.
          await new Promise((resolve) => setTimeout(resolve, 1200));
          h.clock.advance(5001);
          throwsWith(() => b.verify(s.accessToken), 'REVOCATION_STATE_STALE');
          cut = false;
          await new Promise((resolve) => setTimeout(resolve, 1200));
          throwsWith(() => b.verify(s.accessToken), 'TOKEN_REVOKED', 'user');
        } finally {
          await b.close();
          await h.close();
        }
      });
    });

    describe('a restart with a shorter access-token lifetime', () => {
      it('a token issued under the longer lifetime and revoked stays rejected after the revocation is forgotten', async () => {
        const h = await harness(makeStore, { accessTokenTtl: 3600 });
        try {
          const s = await signedUp(h.auth);
          await h.auth.logoutAll(s.user.id);
          throwsWith(() => h.auth.verify(s.accessToken), 'TOKEN_REVOKED', 'user');
          await h.auth.close();
          h.clock.advance(20 * MIN);
          // Restarted with 900 s: the list and its reload keep 900 s + skew, so the
          // logout-all entry is not loaded again; the token's own lifetime must refuse it.
          const shorter = await h.another({ accessTokenTtl: 900 });
          throwsWith(() => shorter.verify(s.accessToken), 'TOKEN_CLAIM_INVALID');
          // A token of its own lifetime is fine.
          const fresh = await shorter.login({ email: s.email, password: PASSWORD });
          expect(shorter.verify(fresh.accessToken).sub).toBe(s.user.id);
        } finally {
          await h.close();
        }
      });
    });
  });
}
