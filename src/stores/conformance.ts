import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewSession, RotateResult, Store } from './port.js';

/**
 * The one suite every store passes: `describeStore('sqlite', () => sqliteStore(':memory:'))`.
 * `makeStore` must return an empty store each time. Imports vitest, so it is only ever
 * imported by tests (no runtime module imports it).
 */
export function describeStore(name: string, makeStore: () => Store | Promise<Store>): void {
  describe(`store conformance: ${name}`, () => {
    let store: Store;
    const T0 = 1_800_000_000_000;
    const IDLE = 60_000;
    const ABSOLUTE = 600_000;
    const GRACE = 5_000;

    beforeEach(async () => {
      store = await makeStore();
      await store.init();
    });
    afterEach(async () => {
      await store.close();
    });

    const id = () => randomBytes(12).toString('base64url');
    const hash = () => randomBytes(32).toString('hex');

    async function user(roles: string[] = ['member']) {
      const u = await store.createUser({
        id: id(),
        email: `${id().toLowerCase()}@example.test`,
        passwordHash: `h-${id()}`,
        roles,
        createdAt: T0,
      });
      if (u === null) throw new Error('createUser failed');
      return u;
    }

    function sessionInput(
      u: { id: string; passwordHash: string },
      over: Partial<NewSession> = {},
    ): NewSession {
      return {
        sid: id(),
        userId: u.id,
        device: 'laptop',
        clientKey: '10.0.0.1',
        nowMs: T0,
        idleTtlMs: IDLE,
        absoluteTtlMs: ABSOLUTE,
        refreshHash: hash(),
        maxSessions: 10,
        expectPasswordHash: u.passwordHash,
        ...over,
      };
    }

    async function session(
      u: { id: string; passwordHash: string },
      over: Partial<NewSession> = {},
    ) {
      const input = sessionInput(u, over);
      const result = await store.createSession(input);
      if (!result.ok) throw new Error(`createSession: ${result.reason}`);
      return { ...result, refreshHash: input.refreshHash };
    }

    const rotate = (presentedHash: string, successorHash: string, nowMs: number) =>
      store.rotateRefresh({ presentedHash, successorHash, nowMs, graceMs: GRACE, idleTtlMs: IDLE });

    describe('users', () => {
      it('creates, reads by id and by email', async () => {
        const u = await user(['a', 'b']);
        expect(await store.getUser(u.id)).toEqual(u);
        expect(await store.findUserByEmail(u.email)).toEqual(u);
        expect(u).toMatchObject({ roles: ['a', 'b'], disabled: false, tokensValidAfter: 0 });
        expect(await store.getUser('nobody')).toBeNull();
        expect(await store.findUserByEmail('nobody@example.test')).toBeNull();
      });

      it('refuses a taken email or id with null', async () => {
        const u = await user();
        const again = { id: id(), email: u.email, passwordHash: 'x', roles: [], createdAt: T0 };
        expect(await store.createUser(again)).toBeNull();
        expect(
          await store.createUser({ ...again, id: u.id, email: 'other@example.test' }),
        ).toBeNull();
      });

      it('parallel signups with one email: exactly one wins', async () => {
        const email = `race-${id().toLowerCase()}@example.test`;
        const results = await Promise.all(
          Array.from({ length: 8 }, () =>
            store.createUser({ id: id(), email, passwordHash: 'h', roles: [], createdAt: T0 }),
          ),
        );
        expect(results.filter((r) => r !== null)).toHaveLength(1);
      });

      it('rehashPassword is a compare-and-set that moves no watermark', async () => {
        const u = await user();
        expect(await store.rehashPassword(u.id, 'wrong', 'next')).toBe(false);
        expect(await store.rehashPassword(u.id, u.passwordHash, 'next')).toBe(true);
        expect(await store.getUser(u.id)).toMatchObject({
          passwordHash: 'next',
          tokensValidAfter: 0,
        });
      });

      it('enableUser clears disabled; unknown user → null', async () => {
        const u = await user();
        await store.revokeUser({
          userId: u.id,
          nowMs: T0,
          scope: 'sessions',
          cause: 'disabled',
          change: { disabled: true },
        });
        expect((await store.getUser(u.id))?.disabled).toBe(true);
        expect((await store.enableUser(u.id))?.disabled).toBe(false);
        expect(await store.enableUser('nobody')).toBeNull();
      });
    });

    describe('sessions', () => {
      it('opens a session with its expiries and first refresh token', async () => {
        const u = await user();
        const s = await session(u);
        expect(s.issuedAt).toBe(T0);
        expect(s.session).toMatchObject({
          userId: u.id,
          device: 'laptop',
          clientKey: '10.0.0.1',
          createdAt: T0,
          lastSeenAt: T0,
          authTime: T0,
          idleExpiresAt: T0 + IDLE,
          absoluteExpiresAt: T0 + ABSOLUTE,
          revokedAt: null,
        });
        expect(await store.getSession(s.session.sid)).toEqual(s.session);
        expect((await store.listSessions(u.id, T0)).map((x) => x.sid)).toEqual([s.session.sid]);
        expect(await store.listSessions(u.id, T0 + IDLE)).toEqual([]);
      });

      it('finds the session of a current or rotated refresh token', async () => {
        const u = await user();
        const s = await session(u);
        const next = hash();
        await rotate(s.refreshHash, next, T0 + 1);
        expect((await store.findSessionByRefresh(s.refreshHash))?.sid).toBe(s.session.sid);
        expect((await store.findSessionByRefresh(next))?.sid).toBe(s.session.sid);
        expect(await store.findSessionByRefresh(hash())).toBeNull();
      });

      it('refuses a session for a missing, disabled or re-keyed user', async () => {
        const u = await user();
        expect(
          await store.createSession(sessionInput({ id: 'nobody', passwordHash: 'x' })),
        ).toEqual({
          ok: false,
          reason: 'no-user',
        });
        expect(await store.createSession(sessionInput({ ...u, passwordHash: 'stale' }))).toEqual({
          ok: false,
          reason: 'credentials-changed',
        });
        await store.revokeUser({
          userId: u.id,
          nowMs: T0,
          scope: 'sessions',
          cause: 'disabled',
          change: { disabled: true },
        });
        expect(await store.createSession(sessionInput(u))).toEqual({
          ok: false,
          reason: 'disabled',
        });
      });

      it('ends the oldest sessions beyond maxSessions, each logged', async () => {
        const u = await user();
        const a = await session(u, { nowMs: T0, maxSessions: 2 });
        const b = await session(u, { nowMs: T0 + 1, maxSessions: 2 });
        const c = await session(u, { nowMs: T0 + 2, maxSessions: 2 });
        expect(c.evicted.map((r) => r.event)).toEqual([
          { kind: 'session', sid: a.session.sid, sub: u.id, at: T0 + 2, cause: 'evicted' },
        ]);
        expect((await store.listSessions(u.id, T0 + 2)).map((s) => s.sid)).toEqual([
          b.session.sid,
          c.session.sid,
        ]);
        expect((await rotate(a.refreshHash, hash(), T0 + 3)).kind).toBe('invalid');
      });

      it('a failed session insert leaves nothing half-written (eviction rolled back)', async () => {
        const u = await user();
        const a = await session(u, { nowMs: T0, maxSessions: 2 });
        const b = await session(u, { nowMs: T0 + 1, maxSessions: 2 });
        const seq = await store.latestRevocationSeq();
        await expect(
          store.createSession(
            sessionInput(u, { sid: b.session.sid, nowMs: T0 + 2, maxSessions: 2 }),
          ),
        ).rejects.toThrow();
        expect((await store.listSessions(u.id, T0 + 2)).map((s) => s.sid)).toEqual([
          a.session.sid,
          b.session.sid,
        ]);
        expect(await store.latestRevocationSeq()).toBe(seq);
      });

      it('parallel logins of one user respect the cap exactly', async () => {
        const u = await user();
        await Promise.all(
          Array.from({ length: 8 }, (_, i) => session(u, { nowMs: T0 + i, maxSessions: 3 })),
        );
        expect(await store.listSessions(u.id, T0 + 10)).toHaveLength(3);
      });
    });

    describe('refresh rotation', () => {
      it('rotates, answers a duplicate inside the grace window, detects reuse after it', async () => {
        const u = await user();
        const s = await session(u);
        const next = hash();
        const first = await rotate(s.refreshHash, next, T0 + 1000);
        expect(first).toMatchObject({ kind: 'rotated', issuedAt: T0 + 1000 });
        if (first.kind !== 'rotated') throw new Error('unreachable');
        expect(first.session).toMatchObject({
          lastSeenAt: T0 + 1000,
          lastIssuedAt: T0 + 1000,
          idleExpiresAt: T0 + 1000 + IDLE,
        });
        expect(first.user.id).toBe(u.id);
        const dup = await rotate(s.refreshHash, next, T0 + 1000 + GRACE);
        expect(dup.kind).toBe('grace');
        const reused = await rotate(s.refreshHash, next, T0 + 1001 + GRACE);
        expect(reused.kind).toBe('reused');
        if (reused.kind !== 'reused') throw new Error('unreachable');
        expect(reused.revocation.event).toEqual({
          kind: 'session',
          sid: s.session.sid,
          sub: u.id,
          at: T0 + 1001 + GRACE,
          cause: 'reuse',
        });
        expect((await store.getSession(s.session.sid))?.revokedAt).toBe(T0 + 1001 + GRACE);
        expect((await rotate(next, hash(), T0 + 2000 + GRACE)).kind).toBe('invalid');
      });

      it('a chain of rotations keeps working; unknown tokens are invalid', async () => {
        const u = await user();
        const s = await session(u);
        let current = s.refreshHash;
        for (let i = 1; i <= 5; i++) {
          const next = hash();
          expect((await rotate(current, next, T0 + i * 10_000)).kind).toBe('rotated');
          current = next;
        }
        expect((await rotate(hash(), hash(), T0 + 60_000)).kind).toBe('invalid');
      });

      it('the grace answer needs the very successor of the presented token', async () => {
        const u = await user();
        const s = await session(u);
        await rotate(s.refreshHash, hash(), T0 + 1);
        expect((await rotate(s.refreshHash, hash(), T0 + 2)).kind).toBe('invalid');
      });

      it('idle timeout ends the session (expired, logged)', async () => {
        const u = await user();
        const s = await session(u);
        const result = await rotate(s.refreshHash, hash(), T0 + IDLE);
        expect(result.kind).toBe('expired');
        if (result.kind !== 'expired') throw new Error('unreachable');
        expect(result.revocation.event).toMatchObject({ kind: 'session', cause: 'expired' });
        expect((await store.getSession(s.session.sid))?.revokedAt).toBe(T0 + IDLE);
      });

      it('the absolute timeout holds however active the session is', async () => {
        const u = await user();
        const s = await session(u);
        let current = s.refreshHash;
        let t = T0;
        let last: RotateResult = { kind: 'invalid' };
        while (t < T0 + ABSOLUTE) {
          t += IDLE / 2;
          const next = hash();
          last = await rotate(current, next, t);
          if (last.kind !== 'rotated') break;
          expect(last.session.idleExpiresAt).toBeLessThanOrEqual(T0 + ABSOLUTE);
          current = next;
        }
        expect(last.kind).toBe('expired');
        expect(t).toBe(T0 + ABSOLUTE);
      });

      it('parallel refreshes of one token: exactly one rotation, the rest get the grace answer', async () => {
        const u = await user();
        const s = await session(u);
        const next = hash();
        const results = await Promise.all(
          Array.from({ length: 10 }, () => rotate(s.refreshHash, next, T0 + 100)),
        );
        expect(results.filter((r) => r.kind === 'rotated')).toHaveLength(1);
        expect(results.filter((r) => r.kind === 'grace')).toHaveLength(9);
        expect((await rotate(next, hash(), T0 + 200)).kind).toBe('rotated');
      });

      it('a refresh racing a logout never yields a token that survives it', async () => {
        for (let i = 0; i < 10; i++) {
          const u = await user();
          const s = await session(u);
          const [rotated, revoked] = await Promise.all([
            rotate(s.refreshHash, hash(), T0 + 10),
            store.revokeSession({ sid: s.session.sid, nowMs: T0 + 10, cause: 'logout' }),
          ]);
          // The sid rule kills every token of the session: the revocation must exist.
          expect(revoked?.event).toMatchObject({ kind: 'session', sid: s.session.sid });
          expect(['rotated', 'invalid']).toContain(rotated.kind);
        }
      });

      it('a refresh racing logout-all mints only tokens below the new watermark', async () => {
        for (let i = 0; i < 10; i++) {
          const u = await user();
          const s = await session(u);
          const [rotated, revoked] = await Promise.all([
            rotate(s.refreshHash, hash(), T0 + 10),
            store.revokeUser({
              userId: u.id,
              nowMs: T0 + 10,
              scope: 'sessions',
              cause: 'logout-all',
            }),
          ]);
          if (!revoked.ok) throw new Error('revokeUser failed');
          if (rotated.kind === 'rotated')
            expect(rotated.issuedAt).toBeLessThan(revoked.revocation.event.at);
          else expect(rotated.kind).toBe('invalid');
          expect(await store.listSessions(u.id, T0 + 10)).toEqual([]);
        }
      });

      it('a refresh racing a role change: old roles only below the watermark', async () => {
        for (let i = 0; i < 10; i++) {
          const u = await user(['old']);
          const s = await session(u);
          const [rotated, revoked] = await Promise.all([
            rotate(s.refreshHash, hash(), T0 + 10),
            store.revokeUser({
              userId: u.id,
              nowMs: T0 + 10,
              scope: 'tokens',
              cause: 'roles',
              change: { roles: ['new'] },
            }),
          ]);
          if (!revoked.ok || rotated.kind !== 'rotated') throw new Error('both must succeed');
          if (rotated.user.roles.includes('old'))
            expect(rotated.issuedAt).toBeLessThan(revoked.revocation.event.at);
          else expect(rotated.issuedAt).toBeGreaterThanOrEqual(revoked.revocation.event.at);
        }
      });

      it('a refresh racing revokeAll mints only tokens below the global cutoff', async () => {
        const u = await user();
        const s = await session(u);
        const [rotated, global] = await Promise.all([
          rotate(s.refreshHash, hash(), T0 + 10),
          store.revokeAll({ nowMs: T0 + 10 }),
        ]);
        if (rotated.kind === 'rotated') expect(rotated.issuedAt).toBeLessThan(global.event.at);
        else expect(rotated.kind).toBe('invalid');
      });
    });

    describe('revocations', () => {
      it('revokeSession ends a live session once, logs it, and checks the owner', async () => {
        const u = await user();
        const s = await session(u);
        expect(
          await store.revokeSession({
            sid: s.session.sid,
            userId: 'other',
            nowMs: T0,
            cause: 'revoked',
          }),
        ).toBeNull();
        const logged = await store.revokeSession({
          sid: s.session.sid,
          nowMs: T0 + 5,
          cause: 'logout',
        });
        expect(logged?.event).toEqual({
          kind: 'session',
          sid: s.session.sid,
          sub: u.id,
          at: T0 + 5,
          cause: 'logout',
        });
        expect(
          await store.revokeSession({ sid: s.session.sid, nowMs: T0 + 6, cause: 'logout' }),
        ).toBeNull();
        expect(
          await store.revokeSession({ sid: 'nothing', nowMs: T0, cause: 'logout' }),
        ).toBeNull();
        expect((await rotate(s.refreshHash, hash(), T0 + 7)).kind).toBe('invalid');
      });

      it('scope sessions: every session ends and the watermark passes every minted iat', async () => {
        const u = await user();
        const a = await session(u, { nowMs: T0 });
        await rotate(a.refreshHash, hash(), T0 + 50);
        const b = await session(u, { nowMs: T0 + 20 });
        const result = await store.revokeUser({
          userId: u.id,
          nowMs: T0 + 50,
          scope: 'sessions',
          cause: 'logout-all',
        });
        if (!result.ok) throw new Error('revokeUser failed');
        expect(result.revocation.event).toEqual({
          kind: 'user',
          sub: u.id,
          at: T0 + 51,
          scope: 'sessions',
          cause: 'logout-all',
        });
        expect(result.endedSids.sort()).toEqual([a.session.sid, b.session.sid].sort());
        expect(result.user?.tokensValidAfter).toBe(T0 + 51);
        expect(await store.listSessions(u.id, T0 + 60)).toEqual([]);
        expect((await rotate(b.refreshHash, hash(), T0 + 60)).kind).toBe('invalid');
        const fresh = await session(u, { nowMs: T0 + 51 });
        expect(fresh.issuedAt).toBe(T0 + 51);
      });

      it('scope tokens: sessions live on, the next refresh carries the new roles at or after the cutoff', async () => {
        const u = await user(['member']);
        const s = await session(u);
        const result = await store.revokeUser({
          userId: u.id,
          nowMs: T0 + 10,
          scope: 'tokens',
          cause: 'roles',
          change: { roles: ['admin'] },
        });
        if (!result.ok) throw new Error('revokeUser failed');
        expect(result.user?.roles).toEqual(['admin']);
        expect(result.endedSids).toEqual([]);
        const next = await rotate(s.refreshHash, hash(), T0 + 10);
        if (next.kind !== 'rotated') throw new Error(`rotate: ${next.kind}`);
        expect(next.user.roles).toEqual(['admin']);
        expect(next.issuedAt).toBeGreaterThanOrEqual(result.revocation.event.at);
      });

      it('keep: the acting session survives with a new refresh token, the others end', async () => {
        const u = await user();
        const a = await session(u);
        const b = await session(u);
        const fresh = hash();
        const result = await store.revokeUser({
          userId: u.id,
          nowMs: T0 + 100,
          scope: 'sessions',
          cause: 'password',
          change: { passwordHash: 'new-hash' },
          expectPasswordHash: u.passwordHash,
          keep: { sid: a.session.sid, refreshHash: fresh, authTime: T0 + 100 },
        });
        if (!result.ok) throw new Error('revokeUser failed');
        expect(result.revocation.event).toMatchObject({
          exceptSid: a.session.sid,
          cause: 'password',
        });
        expect(result.endedSids).toEqual([b.session.sid]);
        expect(result.kept?.session).toMatchObject({ sid: a.session.sid, authTime: T0 + 100 });
        expect(result.kept?.issuedAt).toBeGreaterThanOrEqual(result.revocation.event.at);
        expect((await rotate(a.refreshHash, hash(), T0 + 101)).kind).toBe('invalid');
        expect((await rotate(fresh, hash(), T0 + 101)).kind).toBe('rotated');
        expect((await store.getUser(u.id))?.passwordHash).toBe('new-hash');
      });

      it('a failed precondition changes nothing', async () => {
        const u = await user();
        const s = await session(u);
        const seq = await store.latestRevocationSeq();
        expect(
          await store.revokeUser({
            userId: u.id,
            nowMs: T0 + 1,
            scope: 'sessions',
            cause: 'password',
            change: { passwordHash: 'x' },
            expectPasswordHash: 'not-current',
          }),
        ).toEqual({ ok: false, reason: 'conflict' });
        expect(
          await store.revokeUser({
            userId: u.id,
            nowMs: T0 + 1,
            scope: 'sessions',
            cause: 'password',
            keep: { sid: 'not-a-session', refreshHash: hash(), authTime: T0 },
          }),
        ).toEqual({ ok: false, reason: 'no-session' });
        expect(
          await store.revokeUser({ userId: 'nobody', nowMs: T0, scope: 'tokens', cause: 'roles' }),
        ).toEqual({ ok: false, reason: 'no-user' });
        expect(await store.getUser(u.id)).toEqual(u);
        expect(await store.listSessions(u.id, T0 + 1)).toHaveLength(1);
        expect(await store.latestRevocationSeq()).toBe(seq);
        expect((await rotate(s.refreshHash, hash(), T0 + 2)).kind).toBe('rotated');
      });

      it('deleting a user removes it and its sessions, and logs the cutoff', async () => {
        const u = await user();
        const s = await session(u);
        const result = await store.revokeUser({
          userId: u.id,
          nowMs: T0 + 1,
          scope: 'sessions',
          cause: 'deleted',
          change: { deleted: true },
        });
        if (!result.ok) throw new Error('revokeUser failed');
        expect(result.user).toBeNull();
        expect(result.revocation.event).toMatchObject({
          kind: 'user',
          sub: u.id,
          cause: 'deleted',
        });
        expect(await store.getUser(u.id)).toBeNull();
        expect(await store.findUserByEmail(u.email)).toBeNull();
        expect(await store.getSession(s.session.sid)).toBeNull();
        expect((await rotate(s.refreshHash, hash(), T0 + 2)).kind).toBe('invalid');
      });

      it('revokeAll ends every session; later sessions mint at or after the global cutoff', async () => {
        const u = await user();
        const s = await session(u);
        await rotate(s.refreshHash, hash(), T0 + 30);
        const global = await store.revokeAll({ nowMs: T0 + 30 });
        expect(global.event).toEqual({ kind: 'global', at: T0 + 31 });
        expect(await store.listSessions(u.id, T0 + 31)).toEqual([]);
        const fresh = await session(u, { nowMs: T0 + 30 });
        expect(fresh.issuedAt).toBe(T0 + 31);
      });

      it('revokeToken logs the token entry', async () => {
        const logged = await store.revokeToken({ jti: 'j1', exp: T0 + 900_000, nowMs: T0 });
        expect(logged.event).toEqual({ kind: 'token', jti: 'j1', exp: T0 + 900_000, at: T0 });
      });
    });

    describe('revocation log', () => {
      it('assigns increasing seq; revocationsSince and latestRevocationSeq follow it', async () => {
        expect(await store.latestRevocationSeq()).toBe(0);
        const a = await store.revokeToken({ jti: 'a', exp: T0 + 1, nowMs: T0 });
        const b = await store.revokeToken({ jti: 'b', exp: T0 + 1, nowMs: T0 });
        const c = await store.revokeAll({ nowMs: T0 });
        expect(a.seq).toBeLessThan(b.seq);
        expect(b.seq).toBeLessThan(c.seq);
        expect(await store.latestRevocationSeq()).toBe(c.seq);
        expect(await store.revocationsSince(a.seq)).toEqual([b, c]);
        expect(await store.revocationsSince(0, 1)).toEqual([a]);
        expect(await store.revocationsSince(c.seq)).toEqual([]);
      });

      it('liveRevocations returns only entries that can still reject a token', async () => {
        const old = await store.revokeToken({ jti: 'old', exp: T0 - 500_000, nowMs: T0 - 600_000 });
        const longToken = await store.revokeToken({
          jti: 'long',
          exp: T0 + 10,
          nowMs: T0 - 600_000,
        });
        const recent = await store.revokeSession({ sid: 'none', nowMs: T0, cause: 'logout' });
        expect(recent).toBeNull();
        const u = await user();
        const s = await session(u, { nowMs: T0 - 1000 });
        const ended = await store.revokeSession({
          sid: s.session.sid,
          nowMs: T0 - 1000,
          cause: 'logout',
        });
        const live = await store.liveRevocations(T0, 300_000);
        expect(live).toEqual([longToken, ended]);
        expect(live).not.toContainEqual(old);
      });

      it('purge drops what can no longer matter but keeps seq moving forward', async () => {
        const u = await user();
        const s = await session(u, { nowMs: T0 });
        await store.revokeSession({ sid: s.session.sid, nowMs: T0, cause: 'logout' });
        const last = await store.revokeToken({ jti: 'x', exp: T0 + 1, nowMs: T0 });
        await store.recordFailure('k', T0, 1000);
        await store.purge(T0 + 10_000_000, 1000);
        expect(await store.getSession(s.session.sid)).toBeNull();
        expect(await store.latestRevocationSeq()).toBe(last.seq);
        expect(await store.liveRevocations(T0 + 10_000_000, 1000)).toEqual([]);
        const next = await store.revokeToken({ jti: 'y', exp: T0 + 1, nowMs: T0 });
        expect(next.seq).toBeGreaterThan(last.seq);
      });
    });

    describe('failure counters', () => {
      it('count within a window, restart after it, clear on demand', async () => {
        const W = 60_000;
        expect(await store.getFailures('acct', T0, W)).toEqual({
          count: 0,
          windowStart: 0,
          lastAt: 0,
        });
        await store.recordFailure('acct', T0, W);
        await store.recordFailure('acct', T0 + 10, W);
        expect(await store.recordFailure('acct', T0 + 20, W)).toEqual({
          count: 3,
          windowStart: T0,
          lastAt: T0 + 20,
        });
        expect(await store.getFailures('acct', T0 + 30, W)).toMatchObject({ count: 3 });
        expect(await store.getFailures('acct', T0 + W, W)).toMatchObject({ count: 0 });
        expect(await store.recordFailure('acct', T0 + W, W)).toEqual({
          count: 1,
          windowStart: T0 + W,
          lastAt: T0 + W,
        });
        await store.clearFailures('acct');
        expect(await store.getFailures('acct', T0 + W, W)).toMatchObject({ count: 0 });
      });

      it('parallel failures are all counted', async () => {
        await Promise.all(Array.from({ length: 12 }, () => store.recordFailure('p', T0, 60_000)));
        expect((await store.getFailures('p', T0, 60_000)).count).toBe(12);
      });
    });

    describe('secrets', () => {
      it('the first writer wins; replaceSecret is a compare-and-set', async () => {
        const [a, b] = await Promise.all([
          store.getOrCreateSecret('keys', 'one'),
          store.getOrCreateSecret('keys', 'two'),
        ]);
        expect(a).toBe(b);
        expect(await store.getOrCreateSecret('keys', 'three')).toBe(a);
        expect(await store.replaceSecret('keys', 'wrong', 'next')).toBe(false);
        expect(await store.replaceSecret('keys', a, 'next')).toBe(true);
        expect(await store.getOrCreateSecret('keys', 'x')).toBe('next');
      });
    });
  });
}
