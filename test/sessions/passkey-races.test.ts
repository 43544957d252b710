/**
 * A passkey removed at the moment someone signs in with it, on both stores. The sign-in's
 * assertion is verified first and its session stored after; a removal that commits in
 * between must win: either the sign-in is refused (the store checks the passkey in the
 * transaction that inserts the session) or, when the session was stored first, the removal
 * ends it with the others. Same technique as races.ts: a second instance on the same store,
 * whose store calls the test holds and releases.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAuthError } from '../../src/errors.js';
import { createAuth } from '../../src/sessions/auth.js';
import type { Auth, SignedIn } from '../../src/sessions/types.js';
import type { Store } from '../../src/stores/port.js';
import { SoftAuthenticator } from '../http/soft-authenticator.js';
import {
  CHEAP_HASH,
  type Harness,
  harness,
  PASSWORD,
  postgresFactory,
  rejectsWith,
  type StoreFactory,
  signedUp,
  sqliteFactory,
  throwsWith,
} from './helpers.js';

const PUBLIC_URL = 'https://auth.example.test';

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/**
 * The store, except that calls of `method` wait for the test: `before` holds the call before
 * it reaches the store (nothing written yet), `after` holds its reply (written, not yet
 * known to the caller). Only the first call after `arm()` is held.
 */
function held(store: Store, method: keyof Store, when: 'before' | 'after') {
  const reached = gate();
  const release = gate();
  let armed = false;
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== method || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const call = () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (!armed) return call();
        armed = false;
        if (when === 'before') {
          reached.open();
          await release.opened;
          return call();
        }
        const reply = await call();
        reached.open();
        await release.opened;
        return reply;
      };
    },
  });
  return {
    store: proxy,
    arm() {
      armed = true;
    },
    reached: () => reached.opened,
    release: release.open,
  };
}

function describePasskeyRemovalRace(name: string, makeStore: StoreFactory): void {
  describe(`a passkey removed while someone signs in with it, on ${name}`, () => {
    let h: Harness;
    const racers: Auth[] = [];
    beforeEach(async () => {
      h = await harness(makeStore, { publicUrl: PUBLIC_URL });
    });
    afterEach(async () => {
      for (const racing of racers.splice(0)) await racing.close();
      await h.close();
    });

    /** A user signed in with a password on `auth`, who then added a passkey there. */
    async function withPasskey(auth: Auth) {
      const s = await signedUp(auth);
      const authenticator = new SoftAuthenticator(PUBLIC_URL, { counting: true });
      const options = await auth.passkeyRegistrationOptions(s.user.id, s.session.sid, {
        password: PASSWORD,
      });
      const added = await auth.addPasskey(s.user.id, s.session.sid, {
        response: authenticator.create(options as never),
      });
      expect(added.signedIn?.session.sid).toBe(s.session.sid);
      return { userId: s.user.id, sid: s.session.sid, passkeyId: added.id, authenticator };
    }

    /** An instance on the same store whose `createSession` is held once armed. */
    async function racingInstance(when: 'before' | 'after') {
      const hold = held(h.store, 'createSession', when);
      const racing = createAuth({
        store: hold.store,
        clock: h.clock,
        password: CHEAP_HASH,
        publicUrl: PUBLIC_URL,
      });
      racers.push(racing);
      await racing.ready();
      return { hold, racing };
    }

    async function startSignIn(racing: Auth, authenticator: SoftAuthenticator) {
      const options = await racing.passkeySignInOptions({});
      const signingIn = racing.loginWithPasskey({
        response: authenticator.get(options as never),
        device: 'phone',
      });
      signingIn.catch(() => {});
      // Wrapped: an async function returning the promise would wait for it.
      return { signingIn };
    }

    const liveSids = async (userId: string) =>
      (await h.store.listSessions(userId, h.clock.now())).map((s) => s.sid);

    it('the assertion verified, the removal commits before the session is stored: the sign-in is refused', async () => {
      const { hold, racing } = await racingInstance('before');
      const { userId, sid, passkeyId, authenticator } = await withPasskey(racing);
      hold.arm();
      const { signingIn } = await startSignIn(racing, authenticator);
      // The challenge is spent and the counter moved: the assertion was accepted.
      await hold.reached();
      expect((await h.store.getPasskey(passkeyId))?.counter).toBe(1);
      await racing.removePasskey(userId, passkeyId, { password: PASSWORD }, { keepSession: sid });
      expect(await h.store.getPasskey(passkeyId)).toBeNull();
      hold.release();
      await rejectsWith(signingIn, 'INVALID_CREDENTIALS');
      // Only the session that removed it lives; no session was opened by the passkey.
      expect(await liveSids(userId)).toEqual([sid]);
      // The same authenticator, with a fresh challenge, gets nowhere either.
      const again = await startSignIn(racing, authenticator);
      await rejectsWith(again.signingIn, 'INVALID_CREDENTIALS');
    });

    it('the session stored just before the removal commits: the removal ends it, its tokens are dead', async () => {
      const { hold, racing } = await racingInstance('after');
      const { userId, sid, passkeyId, authenticator } = await withPasskey(racing);
      hold.arm();
      const { signingIn } = await startSignIn(racing, authenticator);
      await hold.reached();
      const [opened] = (await h.store.listSessions(userId, h.clock.now())).filter(
        (s) => s.sid !== sid,
      );
      expect(opened?.amr).toEqual(['hwk', 'user']);
      await racing.removePasskey(userId, passkeyId, { password: PASSWORD }, { keepSession: sid });
      hold.release();
      let minted: SignedIn | undefined;
      try {
        minted = await signingIn;
      } catch (error) {
        expect(isAuthError(error) && error.code).toBe('TOKEN_REVOKED');
      }
      if (minted !== undefined) {
        expect(minted.session.sid).toBe(opened?.sid);
        throwsWith(() => racing.verify(minted.accessToken), 'TOKEN_REVOKED');
        await expect(racing.refresh(minted.refreshToken)).rejects.toMatchObject({
          name: 'AuthError',
        });
      }
      expect(await liveSids(userId)).toEqual([sid]);
    });
  });
}

describePasskeyRemovalRace('sqlite', sqliteFactory);
describePasskeyRemovalRace('postgres', postgresFactory());
