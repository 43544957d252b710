import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryFeed } from '../../src/feeds/memory.js';
import type { RevocationFeed } from '../../src/feeds/port.js';
import type { RevocationEvent } from '../../src/revocation/events.js';
import type { Store } from '../../src/stores/port.js';
import { decodeAccess } from './decode.js';
import {
  type Harness,
  harness,
  PASSWORD,
  rejectsWith,
  type StoreFactory,
  signedUp,
  throwsWith,
} from './helpers.js';

const MIN = 60_000;

/**
 * The createAuth scenarios of issue 3 and the V6/V7 rows, run against one store kind.
 * Test names start with the ASVS id they prove.
 */
export function describeAuthFlows(name: string, makeStore: StoreFactory): void {
  describe(`createAuth on ${name}`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await harness(makeStore);
    });
    afterEach(async () => {
      await h.close();
    });

    it('signs up, signs in and verifies: claims carry sub, sid, roles and auth_time', async () => {
      const s = await signedUp(h.auth);
      const claims = h.auth.verify(s.accessToken);
      expect(claims).toMatchObject({
        sub: s.user.id,
        sid: s.session.sid,
        roles: [],
        iss: 'notbefore',
        aud: 'notbefore',
        auth_time: Math.floor(h.clock.now() / 1000),
      });
      expect(s.expiresAt).toBe(h.clock.now() + 900_000);
      expect(s.user).toEqual(await h.auth.getUser(s.user.id));
    });

    it('normalises emails: case and spaces do not make a second account', async () => {
      await h.auth.signup({ email: '  Mixed.Case@Example.TEST ', password: PASSWORD });
      await rejectsWith(
        h.auth.signup({ email: 'mixed.case@example.test', password: PASSWORD }),
        'EMAIL_TAKEN',
      );
      const s = await h.auth.login({ email: 'MIXED.case@example.test', password: PASSWORD });
      expect(s.user.email).toBe('mixed.case@example.test');
    });

    it('7.6.2 refresh rotates both tokens and never makes a new session', async () => {
      const s = await signedUp(h.auth);
      h.clock.advance(MIN);
      const r = await h.auth.refresh(s.refreshToken);
      expect(r.session.sid).toBe(s.session.sid);
      expect(r.refreshToken).not.toBe(s.refreshToken);
      expect(r.accessToken).not.toBe(s.accessToken);
      expect(h.auth.verify(r.accessToken).sid).toBe(s.session.sid);
      await rejectsWith(h.auth.refresh('x'.repeat(43)), 'REFRESH_TOKEN_INVALID');
      await rejectsWith(h.auth.refresh('not a token'), 'REFRESH_TOKEN_INVALID');
    });

    it('10.4.5 parallel refreshes get one successor; a replay after the grace revokes the session', async () => {
      const s = await signedUp(h.auth);
      h.clock.advance(MIN);
      const results = await Promise.all(
        Array.from({ length: 5 }, () => h.auth.refresh(s.refreshToken)),
      );
      const successors = new Set(results.map((r) => r.refreshToken));
      expect(successors.size).toBe(1);
      h.clock.advance(4_000);
      expect((await h.auth.refresh(s.refreshToken)).refreshToken).toBe(results[0]!.refreshToken);
      h.clock.advance(2_000);
      const events: RevocationEvent[] = [];
      h.auth.onRevocation((e) => events.push(e));
      await rejectsWith(h.auth.refresh(s.refreshToken), 'REFRESH_TOKEN_REUSED');
      expect(events).toEqual([expect.objectContaining({ kind: 'session', cause: 'reuse' })]);
      throwsWith(() => h.auth.verify(results[0]!.accessToken), 'TOKEN_REVOKED', 'session');
      await rejectsWith(h.auth.refresh(results[0]!.refreshToken), 'REFRESH_TOKEN_INVALID');
    });

    it('7.1.2 beyond maxSessionsPerUser the oldest session ends', async () => {
      const small = await h.another({ maxSessionsPerUser: 2 });
      const first = await signedUp(small);
      h.clock.advance(1);
      const second = await small.login({ email: first.email, password: PASSWORD });
      h.clock.advance(1);
      const third = await small.login({ email: first.email, password: PASSWORD });
      throwsWith(() => small.verify(first.accessToken), 'TOKEN_REVOKED', 'session');
      await rejectsWith(small.refresh(first.refreshToken), 'REFRESH_TOKEN_INVALID');
      expect(small.verify(second.accessToken).sid).toBe(second.session.sid);
      const sids = (await small.listSessions(first.user.id)).map((x) => x.sid);
      expect(sids).toEqual([second.session.sid, third.session.sid]);
    });

    it('7.2.2 fixed strings, key material and refresh tokens are never accepted as bearer', async () => {
      const s = await signedUp(h.auth);
      const jwk = JSON.stringify(h.auth.jwks().keys[0]);
      for (const value of ['secret', jwk, s.refreshToken, '', 'a.b.c']) {
        expect(() => h.auth.verify(value)).toThrow(expect.objectContaining({ status: 401 }));
      }
      throwsWith(() => h.auth.verify(s.refreshToken), 'TOKEN_MALFORMED');
    });

    it('7.2.3 refresh tokens are 256-bit and stored only as hashes', async () => {
      const s = await signedUp(h.auth);
      expect(Buffer.from(s.refreshToken, 'base64url')).toHaveLength(32);
      const stored = JSON.stringify(await h.store.getSession(s.session.sid));
      expect(stored).not.toContain(s.refreshToken);
    });

    it('7.2.4 each sign-in is a new session; a password change re-issues the tokens in use', async () => {
      const a = await signedUp(h.auth);
      const b = await h.auth.login({ email: a.email, password: PASSWORD });
      expect(b.session.sid).not.toBe(a.session.sid);
      // The browser adapter ends the session whose cookies arrive with a sign-in:
      await h.auth.logout(a.session.sid);
      await rejectsWith(h.auth.refresh(a.refreshToken), 'REFRESH_TOKEN_INVALID');
      throwsWith(() => h.auth.verify(a.accessToken), 'TOKEN_REVOKED', 'session');
      h.clock.advance(1);
      const next = await h.auth.changePassword(b.user.id, PASSWORD, 'a brand new passphrase', {
        keepSession: b.session.sid,
      });
      expect(next?.session.sid).toBe(b.session.sid);
      expect(next?.refreshToken).not.toBe(b.refreshToken);
      throwsWith(() => h.auth.verify(b.accessToken), 'TOKEN_REVOKED', 'user');
      await rejectsWith(h.auth.refresh(b.refreshToken), 'REFRESH_TOKEN_INVALID');
      expect(h.auth.verify(next!.accessToken).sid).toBe(b.session.sid);
    });

    it('7.3.1 past refreshIdleTtl a refresh fails SESSION_EXPIRED and the sid is revoked', async () => {
      const s = await signedUp(h.auth);
      const events: RevocationEvent[] = [];
      h.auth.onRevocation((e) => events.push(e));
      h.clock.advance(h.auth.options.refreshIdleTtl * 1000);
      await rejectsWith(h.auth.refresh(s.refreshToken), 'SESSION_EXPIRED');
      expect(events).toEqual([
        expect.objectContaining({ kind: 'session', sid: s.session.sid, cause: 'expired' }),
      ]);
      expect(await h.auth.listSessions(s.user.id)).toEqual([]);
      await rejectsWith(h.auth.refresh(s.refreshToken), 'REFRESH_TOKEN_INVALID');
    });

    it('7.3.2 the absolute lifetime holds however often the client refreshes', async () => {
      const capped = await h.another({ refreshAbsoluteTtl: 7200, refreshIdleTtl: 1800 });
      const s = await signedUp(capped);
      const end = h.clock.now() + 7200_000;
      let token = s.refreshToken;
      let lastExp = s.expiresAt;
      let refreshes = 0;
      for (;;) {
        h.clock.advance(5 * MIN);
        try {
          const r = await capped.refresh(token);
          token = r.refreshToken;
          lastExp = r.expiresAt;
          refreshes++;
          expect(r.claims.auth_time).toBe(s.claims.auth_time);
        } catch (error) {
          expect(error).toMatchObject({ code: 'SESSION_EXPIRED' });
          break;
        }
      }
      expect(refreshes).toBe(23);
      expect(h.clock.now()).toBe(end);
      expect(lastExp).toBeLessThanOrEqual(end);
    });

    it('access tokens never outlive the session: exp is clamped to its absolute end', async () => {
      const capped = await h.another({ refreshAbsoluteTtl: 600, accessTokenTtl: 900 });
      const s = await signedUp(capped);
      expect(s.expiresAt).toBe(h.clock.now() + 600_000);
    });

    it('7.4.1 logout: the access token is rejected at once, the refresh token is dead', async () => {
      const s = await signedUp(h.auth);
      await h.auth.logout(s.session.sid);
      throwsWith(() => h.auth.verify(s.accessToken), 'TOKEN_REVOKED', 'session');
      await rejectsWith(h.auth.refresh(s.refreshToken), 'REFRESH_TOKEN_INVALID');
      await h.auth.logout(s.session.sid); // idempotent
    });

    it('7.4.1 revoking a refresh token ends its session (sign-out with only the refresh cookie)', async () => {
      const s = await signedUp(h.auth);
      h.clock.advance(MIN);
      const r = await h.auth.refresh(s.refreshToken);
      await h.auth.revokeRefreshToken(s.refreshToken);
      throwsWith(() => h.auth.verify(r.accessToken), 'TOKEN_REVOKED', 'session');
      await rejectsWith(h.auth.refresh(r.refreshToken), 'REFRESH_TOKEN_INVALID');
      await h.auth.revokeRefreshToken(r.refreshToken);
      await h.auth.revokeRefreshToken('garbage');
    });

    it('7.4.1 past maxStaleness with neither the feed nor the store answering, verify fails closed (or open when asked)', async () => {
      let confirmed = h.clock.now();
      const base = memoryFeed({ clock: h.clock });
      const stuck: RevocationFeed = { ...base, confirmedAt: () => confirmed };
      // The store's log is the second way to stay current: take it away too.
      const logDown: Store = {
        ...h.store,
        revocationsSince: () => Promise.reject(new Error('store unreachable')),
      };
      const closedAuth = await h.another({ feed: stuck, store: logDown, maxStaleness: 5 });
      const s = await signedUp(closedAuth);
      h.clock.advance(5_000);
      expect(closedAuth.verify(s.accessToken).sub).toBe(s.user.id);
      h.clock.advance(1);
      throwsWith(() => closedAuth.verify(s.accessToken), 'REVOCATION_STATE_STALE');
      const openAuth = await h.another({
        feed: stuck,
        store: logDown,
        maxStaleness: 5,
        failOpen: true,
      });
      expect(openAuth.verify(s.accessToken).sub).toBe(s.user.id);
      confirmed = h.clock.now();
      expect(closedAuth.verify(s.accessToken).sub).toBe(s.user.id);
    });

    it('7.4.1 a revocation whose feed never reached this instance arrives from the store log, and keeps it current', async () => {
      let confirmed = h.clock.now();
      const base = memoryFeed({ clock: h.clock });
      const stuck: RevocationFeed = { ...base, confirmedAt: () => confirmed };
      const follower = await h.another({ feed: stuck, maxStaleness: 3 });
      const s = await signedUp(h.auth);
      expect(follower.verify(s.accessToken).sub).toBe(s.user.id);
      // h.auth has its own in-process feed: the follower can learn of this only from the store.
      await h.auth.logout(s.session.sid);
      h.clock.advance(10_000); // far past maxStaleness for the stuck feed
      await vi.waitFor(
        () => throwsWith(() => follower.verify(s.accessToken), 'TOKEN_REVOKED', 'session'),
        {
          timeout: 5_000,
          interval: 50,
        },
      );
      confirmed = Number.NEGATIVE_INFINITY;
      const other = await signedUp(h.auth);
      h.clock.advance(10_000);
      await vi.waitFor(() => expect(follower.verify(other.accessToken).sub).toBe(other.user.id), {
        timeout: 5_000,
        interval: 50,
      });
    });

    it('7.4.2 disabling a user ends every session; login with the right password → ACCOUNT_DISABLED', async () => {
      const s = await signedUp(h.auth);
      await h.auth.disableUser(s.user.id);
      throwsWith(() => h.auth.verify(s.accessToken), 'TOKEN_REVOKED', 'user');
      await rejectsWith(h.auth.refresh(s.refreshToken), 'REFRESH_TOKEN_INVALID');
      await rejectsWith(h.auth.login({ email: s.email, password: PASSWORD }), 'ACCOUNT_DISABLED');
      await rejectsWith(
        h.auth.login({ email: s.email, password: 'not the password' }),
        'INVALID_CREDENTIALS',
      );
      await h.auth.enableUser(s.user.id);
      const again = await h.auth.login({ email: s.email, password: PASSWORD });
      expect(h.auth.verify(again.accessToken).sub).toBe(s.user.id);
    });

    it('7.4.2 deleting a user ends every session and the account', async () => {
      const s = await signedUp(h.auth);
      await h.auth.deleteUser(s.user.id);
      throwsWith(() => h.auth.verify(s.accessToken), 'TOKEN_REVOKED', 'user');
      await rejectsWith(h.auth.refresh(s.refreshToken), 'REFRESH_TOKEN_INVALID');
      await rejectsWith(
        h.auth.login({ email: s.email, password: PASSWORD }),
        'INVALID_CREDENTIALS',
      );
      expect(await h.auth.getUser(s.user.id)).toBeNull();
      await rejectsWith(h.auth.deleteUser(s.user.id), 'NOT_FOUND');
    });

    it('7.4.3 password change on device A ends device B; A carries on', async () => {
      const a = await signedUp(h.auth, 'A');
      const b = await h.auth.login({ email: a.email, password: PASSWORD, device: 'B' });
      h.clock.advance(1000);
      const events: RevocationEvent[] = [];
      h.auth.onRevocation((e) => events.push(e));
      const next = await h.auth.changePassword(a.user.id, PASSWORD, 'another good passphrase', {
        keepSession: a.session.sid,
      });
      expect(events).toEqual([
        expect.objectContaining({
          kind: 'user',
          scope: 'sessions',
          cause: 'password',
          exceptSid: a.session.sid,
        }),
      ]);
      throwsWith(() => h.auth.verify(b.accessToken), 'TOKEN_REVOKED', 'user');
      await rejectsWith(h.auth.refresh(b.refreshToken), 'REFRESH_TOKEN_INVALID');
      expect(h.auth.verify(next!.accessToken).sub).toBe(a.user.id);
      h.clock.advance(MIN);
      const later = await h.auth.refresh(next!.refreshToken);
      expect(h.auth.verify(later.accessToken).sid).toBe(a.session.sid);
      expect((await h.auth.listSessions(a.user.id)).map((x) => x.sid)).toEqual([a.session.sid]);
    });

    it('changePassword without keepSession ends every session and returns null', async () => {
      const s = await signedUp(h.auth);
      expect(
        await h.auth.changePassword(s.user.id, PASSWORD, 'another good passphrase'),
      ).toBeNull();
      throwsWith(() => h.auth.verify(s.accessToken), 'TOKEN_REVOKED', 'user');
      expect(await h.auth.listSessions(s.user.id)).toEqual([]);
    });

    it('7.4.5 administrators end the sessions of one user or of everyone', async () => {
      const one = await signedUp(h.auth);
      const two = await signedUp(h.auth);
      await h.auth.logoutAll(one.user.id);
      throwsWith(() => h.auth.verify(one.accessToken), 'TOKEN_REVOKED', 'user');
      expect(h.auth.verify(two.accessToken).sub).toBe(two.user.id);
      await h.auth.revokeEveryone();
      throwsWith(() => h.auth.verify(two.accessToken), 'TOKEN_REVOKED', 'global');
      await rejectsWith(h.auth.refresh(two.refreshToken), 'REFRESH_TOKEN_INVALID');
      const fresh = await h.auth.login({ email: two.email, password: PASSWORD });
      expect(h.auth.verify(fresh.accessToken).sub).toBe(two.user.id);
    });

    it('7.5.2 ending another session needs a recent password or the password again', async () => {
      const a = await signedUp(h.auth, 'A');
      const b = await h.auth.login({ email: a.email, password: PASSWORD, device: 'B' });
      const c = await h.auth.login({ email: a.email, password: PASSWORD, device: 'C' });
      // Within reauthWindow of A's sign-in: allowed on A's word.
      await h.auth.endSession(a.user.id, c.session.sid, { sid: a.session.sid });
      throwsWith(() => h.auth.verify(c.accessToken), 'TOKEN_REVOKED', 'session');
      h.clock.advance((h.auth.options.reauthWindow + 1) * 1000);
      await rejectsWith(
        h.auth.endSession(a.user.id, b.session.sid, { sid: a.session.sid }),
        'REAUTHENTICATION_REQUIRED',
      );
      await rejectsWith(
        h.auth.endSession(a.user.id, b.session.sid, { authTime: a.claims.auth_time }),
        'REAUTHENTICATION_REQUIRED',
      );
      await rejectsWith(
        h.auth.endSession(a.user.id, b.session.sid, { sid: a.session.sid, password: 'wrong one!' }),
        'INVALID_CREDENTIALS',
      );
      expect(h.auth.verify(b.accessToken).sid).toBe(b.session.sid);
      await h.auth.endSession(a.user.id, b.session.sid, { sid: a.session.sid, password: PASSWORD });
      throwsWith(() => h.auth.verify(b.accessToken), 'TOKEN_REVOKED', 'session');
      // One's own session needs no step-up; someone else's is not found.
      const other = await signedUp(h.auth);
      await rejectsWith(
        h.auth.endSession(a.user.id, other.session.sid, { password: PASSWORD }),
        'NOT_FOUND',
      );
      await h.auth.endSession(a.user.id, a.session.sid, { sid: a.session.sid });
      throwsWith(() => h.auth.verify(a.accessToken), 'TOKEN_REVOKED', 'session');
    });

    it("7.5.2 logout-all by the user needs a step-up; deleting one's account too", async () => {
      const s = await signedUp(h.auth);
      h.clock.advance((h.auth.options.reauthWindow + 1) * 1000);
      await rejectsWith(
        h.auth.logoutAll(s.user.id, { sid: s.session.sid }),
        'REAUTHENTICATION_REQUIRED',
      );
      await rejectsWith(h.auth.deleteUser(s.user.id, {}), 'REAUTHENTICATION_REQUIRED');
      expect(h.auth.verify(s.accessToken).sub).toBe(s.user.id);
      await h.auth.logoutAll(s.user.id, { password: PASSWORD });
      throwsWith(() => h.auth.verify(s.accessToken), 'TOKEN_REVOKED', 'user');
    });

    it('7.5.2 users see their sessions, the current one marked', async () => {
      const a = await signedUp(h.auth, 'phone');
      h.clock.advance(1);
      const b = await h.auth.login({ email: a.email, password: PASSWORD, device: 'tablet' });
      const list = await h.auth.listSessions(a.user.id, b.session.sid);
      expect(list).toEqual([
        {
          sid: a.session.sid,
          device: 'phone',
          createdAt: a.claims.iat * 1000,
          lastSeenAt: a.claims.iat * 1000,
        },
        {
          sid: b.session.sid,
          device: 'tablet',
          createdAt: h.clock.now(),
          lastSeenAt: h.clock.now(),
          current: true,
        },
      ]);
    });

    it('7.5.3 auth_time is the sign-in time, kept by refresh, renewed by a password change', async () => {
      const s = await signedUp(h.auth);
      const signInSeconds = Math.floor(h.clock.now() / 1000);
      h.clock.advance(10 * MIN);
      const r = await h.auth.refresh(s.refreshToken);
      expect(r.claims.auth_time).toBe(signInSeconds);
      const changed = await h.auth.changePassword(s.user.id, PASSWORD, 'yet another passphrase', {
        keepSession: s.session.sid,
      });
      expect(changed?.claims.auth_time).toBe(Math.floor(h.clock.now() / 1000));
    });

    it('setRoles: access tokens die with reason claims, the session lives, refresh carries the roles', async () => {
      const s = await signedUp(h.auth);
      const events: RevocationEvent[] = [];
      h.auth.onRevocation((e) => events.push(e));
      const user = await h.auth.setRoles(s.user.id, ['editor', 'admin']);
      expect(user.roles).toEqual(['editor', 'admin']);
      expect(events).toEqual([
        expect.objectContaining({ kind: 'user', scope: 'tokens', cause: 'roles' }),
      ]);
      throwsWith(() => h.auth.verify(s.accessToken), 'TOKEN_REVOKED', 'claims');
      const r = await h.auth.refresh(s.refreshToken);
      expect(h.auth.verify(r.accessToken).roles).toEqual(['editor', 'admin']);
      await rejectsWith(h.auth.setRoles('nobody', []), 'NOT_FOUND');
    });

    it('only critical changes move the watermark: a rehash or enabling does not', async () => {
      const s = await signedUp(h.auth);
      const stronger = await h.another({
        password: { memoryCost: 512, timeCost: 1, allowWeakHash: true },
      });
      await stronger.login({ email: s.email, password: PASSWORD });
      await h.auth.enableUser(s.user.id);
      expect(h.auth.verify(s.accessToken).sub).toBe(s.user.id);
      expect((await h.store.getUser(s.user.id))?.tokensValidAfter).toBe(0);
    });

    it('revokeToken kills one access token only', async () => {
      const s = await signedUp(h.auth);
      h.clock.advance(1000);
      const r = await h.auth.refresh(s.refreshToken);
      await h.auth.revokeToken(s.claims.jti, s.claims.exp);
      throwsWith(() => h.auth.verify(s.accessToken), 'TOKEN_REVOKED', 'token');
      expect(h.auth.verify(r.accessToken).sid).toBe(s.session.sid);
    });

    it('instances sharing a store share keys and learn revocations from a shared feed', async () => {
      const feed = memoryFeed({ clock: h.clock });
      const a = await h.another({ feed });
      const b = await h.another({ feed });
      expect(b.jwks()).toEqual(a.jwks());
      const s = await signedUp(a);
      expect(b.verify(s.accessToken).sub).toBe(s.user.id);
      const seen: RevocationEvent[] = [];
      b.onRevocation((e) => seen.push(e));
      await a.logout(s.session.sid);
      expect(seen).toEqual([expect.objectContaining({ kind: 'session', sid: s.session.sid })]);
      throwsWith(() => b.verify(s.accessToken), 'TOKEN_REVOKED', 'session');
    });

    it('on start the live revocations are loaded from the store', async () => {
      const s = await signedUp(h.auth);
      await h.auth.logout(s.session.sid);
      const late = await h.another();
      throwsWith(() => late.verify(s.accessToken), 'TOKEN_REVOKED', 'session');
    });

    it('a lost feed makes the instance reload the list from the store', async () => {
      let lost: (() => void) | undefined;
      const base = memoryFeed({ clock: h.clock });
      const lossy: RevocationFeed = {
        ...base,
        subscribe(handlers) {
          lost = handlers.lost;
          return () => {};
        },
      };
      const blind = await h.another({ feed: lossy });
      const s = await signedUp(h.auth);
      await h.auth.logout(s.session.sid);
      expect(blind.verify(s.accessToken).sub).toBe(s.user.id);
      lost?.();
      await expect
        .poll(() => {
          try {
            blind.verify(s.accessToken);
            return 'accepted';
          } catch (error) {
            return (error as { reason?: string }).reason;
          }
        })
        .toBe('session');
    });

    it('the feed can ask for the live revocations of the store (to re-seed a lost log)', async () => {
      let snapshot: (() => Promise<readonly RevocationEvent[]>) | undefined;
      const base = memoryFeed({ clock: h.clock });
      const seeding: RevocationFeed = {
        ...base,
        subscribe(handlers) {
          snapshot = handlers.snapshot;
          return base.subscribe(handlers);
        },
      };
      const a = await h.another({ feed: seeding });
      const s = await signedUp(a);
      await a.logout(s.session.sid);
      expect(await snapshot?.()).toContainEqual(
        expect.objectContaining({ kind: 'session', sid: s.session.sid }),
      );
    });

    it('a failing publish never loses a revocation: stored, applied here, loaded by others', async () => {
      const base = memoryFeed({ clock: h.clock });
      const broken: RevocationFeed = {
        ...base,
        publish: async () => {
          throw new Error('feed down');
        },
      };
      const a = await h.another({ feed: broken });
      const s = await signedUp(a);
      await a.logout(s.session.sid);
      throwsWith(() => a.verify(s.accessToken), 'TOKEN_REVOKED', 'session');
      const b = await h.another();
      throwsWith(() => b.verify(s.accessToken), 'TOKEN_REVOKED', 'session');
    });

    it('rotateKeys: a new signing key, old tokens still verify, every instance can reload it', async () => {
      const s = await signedUp(h.auth);
      const before = h.auth.jwks().keys.length;
      await h.auth.rotateKeys();
      expect(h.auth.jwks().keys.length).toBe(before + 1);
      expect(h.auth.verify(s.accessToken).sub).toBe(s.user.id);
      const r = await h.auth.refresh(s.refreshToken);
      expect(decodeAccess(r.accessToken).header.kid).not.toBe(
        decodeAccess(s.accessToken).header.kid,
      );
      const other = await h.another();
      expect(other.verify(r.accessToken).sub).toBe(s.user.id);
    });

    it('a running instance picks up keys another instance rotated on the first unknown kid', async () => {
      const a = await h.another();
      const b = await h.another();
      const s = await signedUp(a);
      await a.rotateKeys();
      h.clock.advance(1000);
      const r = await a.refresh(s.refreshToken);
      throwsWith(() => b.verify(r.accessToken), 'TOKEN_KEY_UNKNOWN');
      await expect
        .poll(() => {
          try {
            return b.verify(r.accessToken).sub;
          } catch {
            return null;
          }
        })
        .toBe(s.user.id);
    });
  });
}
