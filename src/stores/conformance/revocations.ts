import { describe, expect, it } from 'vitest';
import type { StoreKit } from './kit.js';

/** Revocations and the revocation log. */
export function describeRevocationCases(k: StoreKit): void {
  const { T0, hash, user, session, rotate } = k;
  describe('revocations', () => {
    it('revokeSession ends a live session once, logs it, and checks the owner', async () => {
      const u = await user();
      const s = await session(u);
      expect(
        await k.store.revokeSession({
          sid: s.session.sid,
          userId: 'other',
          nowMs: T0,
          cause: 'revoked',
        }),
      ).toBeNull();
      const logged = await k.store.revokeSession({
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
        await k.store.revokeSession({ sid: s.session.sid, nowMs: T0 + 6, cause: 'logout' }),
      ).toBeNull();
      expect(
        await k.store.revokeSession({ sid: 'nothing', nowMs: T0, cause: 'logout' }),
      ).toBeNull();
      expect((await rotate(s.refreshHash, hash(), T0 + 7)).kind).toBe('invalid');
    });

    it('scope sessions: every session ends and the watermark passes every minted iat', async () => {
      const u = await user();
      const a = await session(u, { nowMs: T0 });
      await rotate(a.refreshHash, hash(), T0 + 50);
      const b = await session(u, { nowMs: T0 + 20 });
      const result = await k.store.revokeUser({
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
      expect(await k.store.listSessions(u.id, T0 + 60)).toEqual([]);
      expect((await rotate(b.refreshHash, hash(), T0 + 60)).kind).toBe('invalid');
      const fresh = await session(u, { nowMs: T0 + 51 });
      expect(fresh.issuedAt).toBe(T0 + 51);
    });

    it('scope tokens: sessions live on, the next refresh carries the new roles at or after the cutoff', async () => {
      const u = await user(['member']);
      const s = await session(u);
      const result = await k.store.revokeUser({
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
      const result = await k.store.revokeUser({
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
      expect((await k.store.getUser(u.id))?.passwordHash).toBe('new-hash');
    });

    it('a failed precondition changes nothing', async () => {
      const u = await user();
      const s = await session(u);
      const seq = await k.store.latestRevocationSeq();
      expect(
        await k.store.revokeUser({
          userId: u.id,
          nowMs: T0 + 1,
          scope: 'sessions',
          cause: 'password',
          change: { passwordHash: 'x' },
          expectPasswordHash: 'not-current',
        }),
      ).toEqual({ ok: false, reason: 'conflict' });
      expect(
        await k.store.revokeUser({
          userId: u.id,
          nowMs: T0 + 1,
          scope: 'sessions',
          cause: 'password',
          keep: { sid: 'not-a-session', refreshHash: hash(), authTime: T0 },
        }),
      ).toEqual({ ok: false, reason: 'no-session' });
      expect(
        await k.store.revokeUser({ userId: 'nobody', nowMs: T0, scope: 'tokens', cause: 'roles' }),
      ).toEqual({ ok: false, reason: 'no-user' });
      expect(await k.store.getUser(u.id)).toEqual(u);
      expect(await k.store.listSessions(u.id, T0 + 1)).toHaveLength(1);
      expect(await k.store.latestRevocationSeq()).toBe(seq);
      expect((await rotate(s.refreshHash, hash(), T0 + 2)).kind).toBe('rotated');
    });

    it('deleting a user removes it and its sessions, and logs the cutoff', async () => {
      const u = await user();
      const s = await session(u);
      const result = await k.store.revokeUser({
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
      expect(await k.store.getUser(u.id)).toBeNull();
      expect(await k.store.findUserByEmail(u.email)).toBeNull();
      expect(await k.store.getSession(s.session.sid)).toBeNull();
      expect((await rotate(s.refreshHash, hash(), T0 + 2)).kind).toBe('invalid');
    });

    it('revokeAll ends every session; later sessions mint at or after the global cutoff', async () => {
      const u = await user();
      const s = await session(u);
      await rotate(s.refreshHash, hash(), T0 + 30);
      const global = await k.store.revokeAll({ nowMs: T0 + 30 });
      expect(global.event).toEqual({ kind: 'global', at: T0 + 31 });
      expect(await k.store.listSessions(u.id, T0 + 31)).toEqual([]);
      const fresh = await session(u, { nowMs: T0 + 30 });
      expect(fresh.issuedAt).toBe(T0 + 31);
    });

    it('revokeToken logs the token entry', async () => {
      const logged = await k.store.revokeToken({ jti: 'j1', exp: T0 + 900_000, nowMs: T0 });
      expect(logged.event).toEqual({ kind: 'token', jti: 'j1', exp: T0 + 900_000, at: T0 });
    });
  });

  describe('revocation log', () => {
    it('assigns increasing seq; revocationsSince and latestRevocationSeq follow it', async () => {
      expect(await k.store.latestRevocationSeq()).toBe(0);
      const a = await k.store.revokeToken({ jti: 'a', exp: T0 + 1, nowMs: T0 });
      const b = await k.store.revokeToken({ jti: 'b', exp: T0 + 1, nowMs: T0 });
      const c = await k.store.revokeAll({ nowMs: T0 });
      expect(a.seq).toBeLessThan(b.seq);
      expect(b.seq).toBeLessThan(c.seq);
      expect(await k.store.latestRevocationSeq()).toBe(c.seq);
      expect(await k.store.revocationsSince(a.seq)).toEqual([b, c]);
      expect(await k.store.revocationsSince(0, 1)).toEqual([a]);
      expect(await k.store.revocationsSince(c.seq)).toEqual([]);
    });

    it('liveRevocations returns only entries that can still reject a token', async () => {
      const old = await k.store.revokeToken({ jti: 'old', exp: T0 - 500_000, nowMs: T0 - 600_000 });
      const longToken = await k.store.revokeToken({
        jti: 'long',
        exp: T0 + 10,
        nowMs: T0 - 600_000,
      });
      const recent = await k.store.revokeSession({ sid: 'none', nowMs: T0, cause: 'logout' });
      expect(recent).toBeNull();
      const u = await user();
      const s = await session(u, { nowMs: T0 - 1000 });
      const ended = await k.store.revokeSession({
        sid: s.session.sid,
        nowMs: T0 - 1000,
        cause: 'logout',
      });
      const live = await k.store.liveRevocations(T0, 300_000);
      expect(live).toEqual([longToken, ended]);
      expect(live).not.toContainEqual(old);
    });

    it('purge drops what can no longer matter but keeps seq moving forward', async () => {
      const u = await user();
      const s = await session(u, { nowMs: T0 });
      await k.store.revokeSession({ sid: s.session.sid, nowMs: T0, cause: 'logout' });
      const last = await k.store.revokeToken({ jti: 'x', exp: T0 + 1, nowMs: T0 });
      await k.store.reserveAttempt({ key: 'k', nowMs: T0, windowMs: 1000, free: 5, max: 10 });
      await k.store.purge(T0 + 10_000_000, 1000);
      expect(await k.store.getSession(s.session.sid)).toBeNull();
      expect(await k.store.latestRevocationSeq()).toBe(last.seq);
      expect(await k.store.liveRevocations(T0 + 10_000_000, 1000)).toEqual([]);
      const next = await k.store.revokeToken({ jti: 'y', exp: T0 + 1, nowMs: T0 });
      expect(next.seq).toBeGreaterThan(last.seq);
    });
  });
}
