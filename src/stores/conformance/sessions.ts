import { describe, expect, it } from 'vitest';
import type { RotateResult } from '../port.js';
import type { StoreKit } from './kit.js';

/** Users, sessions and refresh rotation. */
export function describeSessionCases(k: StoreKit): void {
  const { T0, IDLE, ABSOLUTE, GRACE, id, hash, user, sessionInput, session, rotate } = k;
  describe('users', () => {
    it('creates, reads by id and by email', async () => {
      const u = await user(['a', 'b']);
      expect(await k.store.getUser(u.id)).toEqual(u);
      expect(await k.store.findUserByEmail(u.email)).toEqual(u);
      expect(u).toMatchObject({ roles: ['a', 'b'], disabled: false, tokensValidAfter: 0 });
      expect(await k.store.getUser('nobody')).toBeNull();
      expect(await k.store.findUserByEmail('nobody@example.test')).toBeNull();
    });

    it('refuses a taken email or id with null', async () => {
      const u = await user();
      const again = { id: id(), email: u.email, passwordHash: 'x', roles: [], createdAt: T0 };
      expect(await k.store.createUser(again)).toBeNull();
      expect(
        await k.store.createUser({ ...again, id: u.id, email: 'other@example.test' }),
      ).toBeNull();
    });

    it('parallel signups with one email: exactly one wins', async () => {
      const email = `race-${id().toLowerCase()}@example.test`;
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          k.store.createUser({ id: id(), email, passwordHash: 'h', roles: [], createdAt: T0 }),
        ),
      );
      expect(results.filter((r) => r !== null)).toHaveLength(1);
    });

    it('rehashPassword is a compare-and-set that moves no watermark', async () => {
      const u = await user();
      expect(await k.store.rehashPassword(u.id, 'wrong', 'next')).toBe(false);
      expect(await k.store.rehashPassword(u.id, u.passwordHash, 'next')).toBe(true);
      expect(await k.store.getUser(u.id)).toMatchObject({
        passwordHash: 'next',
        tokensValidAfter: 0,
      });
    });

    it('enableUser clears disabled; unknown user → null', async () => {
      const u = await user();
      await k.store.revokeUser({
        userId: u.id,
        nowMs: T0,
        scope: 'sessions',
        cause: 'disabled',
        change: { disabled: true },
      });
      expect((await k.store.getUser(u.id))?.disabled).toBe(true);
      expect((await k.store.enableUser(u.id))?.disabled).toBe(false);
      expect(await k.store.enableUser('nobody')).toBeNull();
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
      expect(await k.store.getSession(s.session.sid)).toEqual(s.session);
      expect((await k.store.listSessions(u.id, T0)).map((x) => x.sid)).toEqual([s.session.sid]);
      expect(await k.store.listSessions(u.id, T0 + IDLE)).toEqual([]);
    });

    it('finds the session of a current or rotated refresh token', async () => {
      const u = await user();
      const s = await session(u);
      const next = hash();
      await rotate(s.refreshHash, next, T0 + 1);
      expect((await k.store.findSessionByRefresh(s.refreshHash))?.sid).toBe(s.session.sid);
      expect((await k.store.findSessionByRefresh(next))?.sid).toBe(s.session.sid);
      expect(await k.store.findSessionByRefresh(hash())).toBeNull();
    });

    it('refuses a session for a missing, disabled or re-keyed user', async () => {
      const u = await user();
      expect(
        await k.store.createSession(sessionInput({ id: 'nobody', passwordHash: 'x' })),
      ).toEqual({
        ok: false,
        reason: 'no-user',
      });
      expect(await k.store.createSession(sessionInput({ ...u, passwordHash: 'stale' }))).toEqual({
        ok: false,
        reason: 'credentials-changed',
      });
      await k.store.revokeUser({
        userId: u.id,
        nowMs: T0,
        scope: 'sessions',
        cause: 'disabled',
        change: { disabled: true },
      });
      expect(await k.store.createSession(sessionInput(u))).toEqual({
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
      expect((await k.store.listSessions(u.id, T0 + 2)).map((s) => s.sid)).toEqual([
        b.session.sid,
        c.session.sid,
      ]);
      expect((await rotate(a.refreshHash, hash(), T0 + 3)).kind).toBe('invalid');
    });

    it('a failed session insert leaves nothing half-written (eviction rolled back)', async () => {
      const u = await user();
      const a = await session(u, { nowMs: T0, maxSessions: 2 });
      const b = await session(u, { nowMs: T0 + 1, maxSessions: 2 });
      const seq = await k.store.latestRevocationSeq();
      await expect(
        k.store.createSession(
          sessionInput(u, { sid: b.session.sid, nowMs: T0 + 2, maxSessions: 2 }),
        ),
      ).rejects.toThrow();
      expect((await k.store.listSessions(u.id, T0 + 2)).map((s) => s.sid)).toEqual([
        a.session.sid,
        b.session.sid,
      ]);
      expect(await k.store.latestRevocationSeq()).toBe(seq);
    });

    it('parallel logins of one user respect the cap exactly', async () => {
      const u = await user();
      await Promise.all(
        Array.from({ length: 8 }, (_, i) => session(u, { nowMs: T0 + i, maxSessions: 3 })),
      );
      expect(await k.store.listSessions(u.id, T0 + 10)).toHaveLength(3);
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
      expect((await k.store.getSession(s.session.sid))?.revokedAt).toBe(T0 + 1001 + GRACE);
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
      expect((await k.store.getSession(s.session.sid))?.revokedAt).toBe(T0 + IDLE);
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
          k.store.revokeSession({ sid: s.session.sid, nowMs: T0 + 10, cause: 'logout' }),
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
          k.store.revokeUser({
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
        expect(await k.store.listSessions(u.id, T0 + 10)).toEqual([]);
      }
    });

    it('a refresh racing a role change: old roles only below the watermark', async () => {
      for (let i = 0; i < 10; i++) {
        const u = await user(['old']);
        const s = await session(u);
        const [rotated, revoked] = await Promise.all([
          rotate(s.refreshHash, hash(), T0 + 10),
          k.store.revokeUser({
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
        k.store.revokeAll({ nowMs: T0 + 10 }),
      ]);
      if (rotated.kind === 'rotated') expect(rotated.issuedAt).toBeLessThan(global.event.at);
      else expect(rotated.kind).toBe('invalid');
    });
  });
}
