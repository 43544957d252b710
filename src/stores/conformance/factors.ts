import { describe, expect, it } from 'vitest';
import type { FactorChange, RevokeUserInput } from '../port.js';
import type { StoreKit } from './kit.js';

/**
 * TOTP, recovery codes, the factor changes `revokeUser` applies, and the `amr` of sessions.
 * The concurrency cases are the single-use guarantees: N racing uses of one value, one wins.
 */
export function describeFactorCases(k: StoreKit): void {
  const { T0 } = k;
  const RACE = 25;

  const change = (
    userId: string,
    factors: FactorChange,
    over: Partial<RevokeUserInput> = {},
  ): Promise<Awaited<ReturnType<typeof k.store.revokeUser>>> =>
    k.store.revokeUser({
      userId,
      nowMs: T0 + 1000,
      scope: 'sessions',
      cause: 'mfa',
      change: { factors },
      ...over,
    });
  /** A user with a confirmed TOTP (secret `s1`) and the given recovery-code hashes. */
  const enrolled = async (codes: string[] = ['c1', 'c2', 'c3']) => {
    const u = await k.user();
    expect(await k.store.setPendingTotp(u.id, 's1', T0)).toBe(true);
    const confirmed = await change(u.id, {
      kind: 'totp-confirm',
      secret: 's1',
      recoveryCodeHashes: codes,
    });
    expect(confirmed.ok).toBe(true);
    return u;
  };

  describe('TOTP and recovery codes', () => {
    it('a pending TOTP reads back; a new enrolment replaces it and its last step', async () => {
      const u = await k.user();
      expect(await k.store.getTotp(u.id)).toBeNull();
      expect(await k.store.setPendingTotp(u.id, 'enc-1', T0)).toBe(true);
      expect(await k.store.getTotp(u.id)).toEqual({
        userId: u.id,
        secret: 'enc-1',
        confirmedAt: null,
        lastStep: 0,
        createdAt: T0,
      });
      expect(await k.store.useTotpStep(u.id, 100)).toBe(true);
      expect(await k.store.setPendingTotp(u.id, 'enc-2', T0 + 5)).toBe(true);
      expect(await k.store.getTotp(u.id)).toEqual({
        userId: u.id,
        secret: 'enc-2',
        confirmedAt: null,
        lastStep: 0,
        createdAt: T0 + 5,
      });
      expect(await k.store.setPendingTotp('no-such-user', 'enc', T0)).toBe(false);
      expect(await k.store.getTotp('no-such-user')).toBeNull();
    });

    it('confirming needs the pending secret it verified; a confirmed TOTP is not replaced', async () => {
      const u = await k.user();
      const none = await change(u.id, {
        kind: 'totp-confirm',
        secret: 's1',
        recoveryCodeHashes: [],
      });
      expect(none).toEqual({ ok: false, reason: 'no-factor' });
      await k.store.setPendingTotp(u.id, 's1', T0);
      // A newer enrolment replaced the secret the code was checked against.
      await k.store.setPendingTotp(u.id, 's2', T0 + 1);
      const stale = await change(u.id, {
        kind: 'totp-confirm',
        secret: 's1',
        recoveryCodeHashes: ['a'],
      });
      expect(stale).toEqual({ ok: false, reason: 'no-factor' });
      const ok = await change(u.id, {
        kind: 'totp-confirm',
        secret: 's2',
        recoveryCodeHashes: ['a', 'b', 'a'],
      });
      expect(ok.ok).toBe(true);
      expect(await k.store.getTotp(u.id)).toMatchObject({ secret: 's2', confirmedAt: T0 + 1000 });
      expect(await k.store.recoveryCodesLeft(u.id)).toBe(2);
      expect(await k.store.setPendingTotp(u.id, 's3', T0 + 2000)).toBe(false);
      const again = await change(u.id, {
        kind: 'totp-confirm',
        secret: 's2',
        recoveryCodeHashes: ['c'],
      });
      expect(again).toEqual({ ok: false, reason: 'no-factor' });
      expect(await k.store.getTotp(u.id)).toMatchObject({ secret: 's2', confirmedAt: T0 + 1000 });
      expect(await k.store.recoveryCodesLeft(u.id)).toBe(2);
    });

    it('a time step is spent once and only forward', async () => {
      const u = await enrolled();
      expect(await k.store.useTotpStep(u.id, 50)).toBe(true);
      expect(await k.store.useTotpStep(u.id, 50)).toBe(false);
      expect(await k.store.useTotpStep(u.id, 49)).toBe(false);
      expect(await k.store.useTotpStep(u.id, 51)).toBe(true);
      expect((await k.store.getTotp(u.id))?.lastStep).toBe(51);
      expect(await k.store.useTotpStep('no-such-user', 60)).toBe(false);
    });

    it(`${RACE} concurrent uses of one time step: exactly one is accepted`, async () => {
      const u = await enrolled();
      const used = await Promise.all(
        Array.from({ length: RACE }, () => k.store.useTotpStep(u.id, 59_000_001)),
      );
      expect(used.filter(Boolean)).toHaveLength(1);
    });

    it('a recovery code is used once, by its own user, only while TOTP is confirmed', async () => {
      const u = await enrolled(['c1', 'c2']);
      const other = await enrolled(['c9']);
      expect(await k.store.useRecoveryCode(u.id, 'c9', T0)).toBe(false);
      expect(await k.store.useRecoveryCode(u.id, 'c1', T0)).toBe(true);
      expect(await k.store.useRecoveryCode(u.id, 'c1', T0 + 1)).toBe(false);
      expect(await k.store.recoveryCodesLeft(u.id)).toBe(1);
      expect(await k.store.recoveryCodesLeft(other.id)).toBe(1);
      expect(await k.store.useRecoveryCode(u.id, 'unknown', T0)).toBe(false);
      // Removing TOTP takes its codes with it.
      expect((await change(u.id, { kind: 'totp-remove' })).ok).toBe(true);
      expect(await k.store.useRecoveryCode(u.id, 'c2', T0)).toBe(false);
      expect(await k.store.recoveryCodesLeft(u.id)).toBe(0);
      expect(await k.store.getTotp(u.id)).toBeNull();
    });

    it(`${RACE} concurrent uses of one recovery code: exactly one is accepted`, async () => {
      const u = await enrolled(['only']);
      const used = await Promise.all(
        Array.from({ length: RACE }, (_, i) => k.store.useRecoveryCode(u.id, 'only', T0 + i)),
      );
      expect(used.filter(Boolean)).toHaveLength(1);
      expect(await k.store.recoveryCodesLeft(u.id)).toBe(0);
    });

    it('regenerating replaces every code, used or not; refused without a confirmed TOTP', async () => {
      const u = await enrolled(['old1', 'old2']);
      await k.store.useRecoveryCode(u.id, 'old1', T0);
      const regenerated = await change(u.id, {
        kind: 'recovery-regenerate',
        recoveryCodeHashes: ['n1', 'n2', 'n3'],
      });
      expect(regenerated.ok).toBe(true);
      expect(await k.store.recoveryCodesLeft(u.id)).toBe(3);
      expect(await k.store.useRecoveryCode(u.id, 'old2', T0)).toBe(false);
      expect(await k.store.useRecoveryCode(u.id, 'n2', T0)).toBe(true);
      const pending = await k.user();
      await k.store.setPendingTotp(pending.id, 'p', T0);
      expect(
        await change(pending.id, { kind: 'recovery-regenerate', recoveryCodeHashes: ['x'] }),
      ).toEqual({ ok: false, reason: 'no-factor' });
      expect(await k.store.recoveryCodesLeft(pending.id)).toBe(0);
    });
  });

  describe('factor changes through revokeUser', () => {
    it('a change ends the other sessions and keeps the current one with its new amr', async () => {
      const u = await k.user();
      const current = await k.session(u);
      const other = await k.session(u);
      await k.store.setPendingTotp(u.id, 's1', T0);
      const result = await change(
        u.id,
        { kind: 'totp-confirm', secret: 's1', recoveryCodeHashes: ['c'] },
        {
          keep: {
            sid: current.session.sid,
            refreshHash: k.hash(),
            authTime: T0 + 1000,
            amr: ['pwd', 'otp', 'mfa'],
          },
        },
      );
      if (!result.ok) throw new Error(result.reason);
      expect(result.endedSids).toEqual([other.session.sid]);
      expect(result.revocation.event).toMatchObject({ kind: 'user', cause: 'mfa' });
      expect(result.kept?.session.amr).toEqual(['pwd', 'otp', 'mfa']);
      expect((await k.store.getSession(other.session.sid))?.revokeCause).toBe('mfa');
      // A keep without amr leaves it as it is.
      const removed = await change(
        u.id,
        { kind: 'totp-remove' },
        {
          nowMs: T0 + 2000,
          keep: { sid: current.session.sid, refreshHash: k.hash(), authTime: T0 + 2000 },
        },
      );
      expect(removed.ok && removed.kept?.session.amr).toEqual(['pwd', 'otp', 'mfa']);
    });

    it('a refused change writes nothing: no session ends, no watermark moves, no log entry', async () => {
      const u = await k.user();
      const s = await k.session(u);
      const seq = await k.store.latestRevocationSeq();
      await k.store.setPendingTotp(u.id, 'pending', T0);
      for (const factors of [
        { kind: 'totp-remove' },
        { kind: 'recovery-regenerate', recoveryCodeHashes: ['x'] },
        { kind: 'passkey-remove', id: 'none' },
        { kind: 'totp-confirm', secret: 'other', recoveryCodeHashes: ['x'] },
      ] satisfies FactorChange[])
        expect(await change(u.id, factors)).toEqual({ ok: false, reason: 'no-factor' });
      expect(await k.store.latestRevocationSeq()).toBe(seq);
      expect((await k.store.getSession(s.session.sid))?.revokedAt).toBeNull();
      expect((await k.store.getUser(u.id))?.tokensValidAfter).toBe(u.tokensValidAfter);
      expect(await k.store.getTotp(u.id)).toMatchObject({ secret: 'pending', confirmedAt: null });
      expect(await change('no-such-user', { kind: 'remove-all' })).toEqual({
        ok: false,
        reason: 'no-user',
      });
    });

    it('remove-all deletes every factor and ends every session, even with none to remove', async () => {
      const u = await enrolled(['c1']);
      const added = await change(u.id, {
        kind: 'passkey-add',
        passkey: {
          id: k.id(),
          userId: u.id,
          publicKey: 'pk',
          counter: 0,
          transports: [],
          deviceType: null,
          backedUp: false,
          name: null,
          nowMs: T0,
        },
      });
      expect(added.ok).toBe(true);
      const s = await k.session(u, { nowMs: T0 + 2000 });
      const removed = await change(u.id, { kind: 'remove-all' }, { nowMs: T0 + 3000 });
      expect(removed.ok && removed.endedSids).toEqual([s.session.sid]);
      expect(await k.store.getTotp(u.id)).toBeNull();
      expect(await k.store.recoveryCodesLeft(u.id)).toBe(0);
      expect(await k.store.listPasskeys(u.id)).toEqual([]);
      expect((await change(u.id, { kind: 'remove-all' }, { nowMs: T0 + 4000 })).ok).toBe(true);
    });

    it('concurrent confirmations of one enrolment: exactly one succeeds', async () => {
      const u = await k.user();
      await k.store.setPendingTotp(u.id, 's1', T0);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          change(u.id, { kind: 'totp-confirm', secret: 's1', recoveryCodeHashes: [`c${i}`] }),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(await k.store.recoveryCodesLeft(u.id)).toBe(1);
    });

    it('deleting the user deletes its TOTP, recovery codes and challenges', async () => {
      const u = await enrolled(['c1']);
      const challenge = k.id();
      await k.store.createChallenge({
        challenge,
        purpose: 'register',
        userId: u.id,
        sid: null,
        expiresAt: T0 + 60_000,
      });
      const deleted = await k.store.revokeUser({
        userId: u.id,
        nowMs: T0 + 1000,
        scope: 'sessions',
        cause: 'deleted',
        change: { deleted: true },
      });
      expect(deleted.ok).toBe(true);
      expect(await k.store.getTotp(u.id)).toBeNull();
      expect(await k.store.recoveryCodesLeft(u.id)).toBe(0);
      expect(await k.store.takeChallenge(challenge, 'register', T0)).toBeNull();
    });

    it('purge deletes the challenges that have expired', async () => {
      const old = { challenge: k.id(), purpose: 'login', userId: null, sid: null } as const;
      await k.store.createChallenge({ ...old, expiresAt: T0 + 1000 });
      await k.store.purge(T0 + 5000, 1000);
      // Asked as of before its expiry, it would still be there had purge not deleted it.
      expect(await k.store.takeChallenge(old.challenge, 'login', T0)).toBeNull();
    });
  });

  describe('amr', () => {
    it('a session keeps the amr it was opened with through rotations', async () => {
      const u = await k.user();
      const s = await k.session(u, { amr: ['hwk', 'user'] });
      expect(s.session.amr).toEqual(['hwk', 'user']);
      const next = k.hash();
      const rotated = await k.rotate(s.refreshHash, next, T0 + 10);
      expect(rotated.kind === 'rotated' && rotated.session.amr).toEqual(['hwk', 'user']);
      expect((await k.store.getSession(s.session.sid))?.amr).toEqual(['hwk', 'user']);
      expect((await k.store.listSessions(u.id, T0 + 20))[0]?.amr).toEqual(['hwk', 'user']);
    });
  });
}
