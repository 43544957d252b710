import { describe, expect, it } from 'vitest';
import type { LinkKind, NewLink, StoredUser } from '../port.js';
import type { StoreKit } from './kit.js';

/** One-time links: supersession, single use, binding to a user and a purpose, invitations. */
export function describeLinkCases(k: StoreKit): void {
  const { T0, id, hash, user, session } = k;
  const HOUR = 3_600_000;
  const link = (
    kind: LinkKind,
    u: { id: string; email: string } | null,
    over: Partial<NewLink> = {},
  ): NewLink => ({
    id: id(),
    kind,
    tokenHash: hash(),
    userId: u?.id ?? null,
    email: u?.email ?? `${id().toLowerCase()}@example.test`,
    roles: [],
    nowMs: T0,
    expiresAt: T0 + HOUR,
    ...over,
  });
  const redeem = (u: StoredUser, kind: LinkKind, tokenHash: string, nowMs = T0 + 1) =>
    k.store.revokeUser({
      userId: u.id,
      nowMs,
      scope: 'sessions',
      cause: 'password',
      change: { passwordHash: `h-${id()}`, emailVerified: true },
      link: { kind, tokenHash },
    });

  describe('links', () => {
    it('a user starts unverified unless created verified', async () => {
      const u = await user();
      expect(u.emailVerified).toBe(false);
      const v = await k.store.createUser({
        id: id(),
        email: `${id().toLowerCase()}@example.test`,
        passwordHash: 'h',
        roles: [],
        createdAt: T0,
        emailVerified: true,
      });
      expect(v?.emailVerified).toBe(true);
      expect((await k.store.getUser(v!.id))?.emailVerified).toBe(true);
    });

    it('findLink answers only an unused, unexpired link of the kind asked', async () => {
      const u = await user();
      const l = link('reset-password', u);
      const stored = await k.store.createLink(l);
      expect(stored).toMatchObject({ id: l.id, kind: l.kind, userId: u.id, usedAt: null });
      expect(await k.store.findLink('reset-password', l.tokenHash, T0)).toMatchObject({
        id: l.id,
      });
      expect(await k.store.findLink('verify-email', l.tokenHash, T0)).toBeNull();
      expect(await k.store.findLink('reset-password', hash(), T0)).toBeNull();
      expect(await k.store.findLink('reset-password', l.tokenHash, T0 + HOUR)).toBeNull();
    });

    it('a newer link of a kind supersedes the older one of the same user, and only that', async () => {
      const u = await user();
      const other = await user();
      const first = link('reset-password', u);
      const verify = link('verify-email', u);
      const others = link('reset-password', other);
      await k.store.createLink(first);
      await k.store.createLink(verify);
      await k.store.createLink(others);
      const second = link('reset-password', u);
      await k.store.createLink(second);
      expect(await k.store.findLink('reset-password', first.tokenHash, T0)).toBeNull();
      expect(await k.store.findLink('reset-password', second.tokenHash, T0)).not.toBeNull();
      expect(await k.store.findLink('verify-email', verify.tokenHash, T0)).not.toBeNull();
      expect(await k.store.findLink('reset-password', others.tokenHash, T0)).not.toBeNull();
      expect((await redeem(u, 'reset-password', first.tokenHash)).ok).toBe(false);
    });

    it('invitations and decoys supersede by address', async () => {
      const email = `${id().toLowerCase()}@example.test`;
      const a = link('invitation', null, { email });
      const b = link('invitation', null, { email });
      await k.store.createLink(a);
      await k.store.createLink(b);
      expect(await k.store.findLink('invitation', a.tokenHash, T0)).toBeNull();
      expect(await k.store.findLink('invitation', b.tokenHash, T0)).not.toBeNull();
    });

    it('revokeUser consumes the link with the change, once; refused writes nothing', async () => {
      const u = await user();
      const s = await session(u);
      const l = link('reset-password', u);
      await k.store.createLink(l);
      const done = await redeem(u, 'reset-password', l.tokenHash);
      expect(done.ok).toBe(true);
      if (!done.ok) return;
      expect(done.endedSids).toEqual([s.session.sid]);
      expect(done.user?.emailVerified).toBe(true);
      expect(done.user?.passwordHash).not.toBe(u.passwordHash);
      expect(await k.store.findLink('reset-password', l.tokenHash, T0 + 2)).toBeNull();
      const before = await k.store.getUser(u.id);
      const again = await redeem(u, 'reset-password', l.tokenHash, T0 + 3);
      expect(again).toEqual({ ok: false, reason: 'link' });
      expect(await k.store.getUser(u.id)).toEqual(before);
    });

    it('refuses a link of another purpose, another user, or past its expiry', async () => {
      const u = await user();
      const other = await user();
      const verify = link('verify-email', u);
      const othersReset = link('reset-password', other);
      const expiring = link('reset-password', u, { expiresAt: T0 + 10 });
      await k.store.createLink(verify);
      await k.store.createLink(othersReset);
      expect(await redeem(u, 'reset-password', verify.tokenHash)).toEqual({
        ok: false,
        reason: 'link',
      });
      expect(await redeem(u, 'reset-password', othersReset.tokenHash)).toEqual({
        ok: false,
        reason: 'link',
      });
      await k.store.createLink(expiring);
      expect(await redeem(u, 'reset-password', expiring.tokenHash, T0 + 10)).toEqual({
        ok: false,
        reason: 'link',
      });
      expect(await k.store.getUser(u.id)).toEqual(u);
    });

    it('of concurrent redemptions of one link exactly one succeeds', async () => {
      const u = await user();
      const l = link('reset-password', u);
      await k.store.createLink(l);
      const results = await Promise.all(
        Array.from({ length: 12 }, () => redeem(u, 'reset-password', l.tokenHash)),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'link')).toBe(true);
    });

    it('an email change switches the address, refuses a taken one, and kills older links', async () => {
      const u = await user();
      const taken = await user();
      const fresh = `${id().toLowerCase()}@example.test`;
      const reset = link('reset-password', u);
      const toTaken = link('confirm-email', u, { email: taken.email });
      await k.store.createLink(reset);
      await k.store.createLink(toTaken);
      const refused = await k.store.revokeUser({
        userId: u.id,
        nowMs: T0 + 1,
        scope: 'sessions',
        cause: 'password',
        change: { email: taken.email, emailVerified: true },
        link: { kind: 'confirm-email', tokenHash: toTaken.tokenHash },
      });
      expect(refused).toEqual({ ok: false, reason: 'email-taken' });
      const confirm = link('confirm-email', u, { email: fresh });
      await k.store.createLink(confirm);
      const done = await k.store.revokeUser({
        userId: u.id,
        nowMs: T0 + 2,
        scope: 'sessions',
        cause: 'password',
        change: { email: fresh, emailVerified: true },
        link: { kind: 'confirm-email', tokenHash: confirm.tokenHash },
      });
      expect(done.ok && done.user).toMatchObject({ email: fresh, emailVerified: true });
      expect(await k.store.findUserByEmail(u.email)).toBeNull();
      expect((await k.store.findUserByEmail(fresh))?.id).toBe(u.id);
      // The reset link went to the old address: it cannot act on the account any more.
      expect(await k.store.findLink('reset-password', reset.tokenHash, T0 + 3)).toBeNull();
      const after = (await k.store.getUser(u.id))!;
      expect((await redeem(after, 'reset-password', reset.tokenHash, T0 + 3)).ok).toBe(false);
    });

    it('a verification link mailed to an old address does not verify the new one', async () => {
      const u = await user();
      const fresh = `${id().toLowerCase()}@example.test`;
      await k.store.revokeUser({
        userId: u.id,
        nowMs: T0 + 1,
        scope: 'tokens',
        cause: 'roles',
        change: { email: fresh },
      });
      // A link for the old address made after the change (a request that raced it): the
      // change could not delete it, so the binding to the address must refuse it.
      const verify = link('verify-email', { id: u.id, email: u.email });
      await k.store.createLink(verify);
      const after = (await k.store.getUser(u.id))!;
      const r = await k.store.revokeUser({
        userId: u.id,
        nowMs: T0 + 2,
        scope: 'tokens',
        cause: 'roles',
        change: { emailVerified: true },
        link: { kind: 'verify-email', tokenHash: verify.tokenHash },
      });
      expect(r).toEqual({ ok: false, reason: 'link' });
      expect((await k.store.getUser(u.id))?.emailVerified).toBe(after.emailVerified);
    });

    it('acceptInvitation creates the invited user, verified, with the invited roles, once', async () => {
      const email = `${id().toLowerCase()}@example.test`;
      const inv = link('invitation', null, { email, roles: ['admin'] });
      await k.store.createLink(inv);
      const newUser = () => ({
        id: id(),
        email: 'ignored@example.test',
        passwordHash: 'h',
        roles: ['ignored'],
        createdAt: T0 + 1,
      });
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          k.store.acceptInvitation({ tokenHash: inv.tokenHash, nowMs: T0 + 1, user: newUser() }),
        ),
      );
      const ok = results.filter((r) => r.ok);
      expect(ok).toHaveLength(1);
      expect(ok[0]).toMatchObject({
        ok: true,
        user: { email, roles: ['admin'], emailVerified: true },
        link: { id: inv.id, usedAt: T0 + 1 },
      });
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'link')).toBe(true);
    });

    it('acceptInvitation refuses an expired invitation and an address taken meanwhile', async () => {
      const expired = link('invitation', null, { expiresAt: T0 + 5 });
      await k.store.createLink(expired);
      expect(
        await k.store.acceptInvitation({
          tokenHash: expired.tokenHash,
          nowMs: T0 + 5,
          user: { id: id(), email: '', passwordHash: 'h', roles: [], createdAt: T0 },
        }),
      ).toEqual({ ok: false, reason: 'link' });
      const owner = await user();
      const inv = link('invitation', null, { email: owner.email });
      await k.store.createLink(inv);
      expect(
        await k.store.acceptInvitation({
          tokenHash: inv.tokenHash,
          nowMs: T0 + 1,
          user: { id: id(), email: '', passwordHash: 'h', roles: [], createdAt: T0 },
        }),
      ).toEqual({ ok: false, reason: 'email-taken' });
      expect((await k.store.findUserByEmail(owner.email))?.id).toBe(owner.id);
    });

    it('deleting the user deletes its links; purge drops expired ones', async () => {
      const u = await user();
      const l = link('verify-email', u);
      await k.store.createLink(l);
      await k.store.revokeUser({
        userId: u.id,
        nowMs: T0 + 1,
        scope: 'sessions',
        cause: 'deleted',
        change: { deleted: true },
      });
      expect(await k.store.findLink('verify-email', l.tokenHash, T0 + 2)).toBeNull();
      const old = link('invitation', null, { expiresAt: T0 + 10 });
      await k.store.createLink(old);
      await k.store.purge(T0 + 10 + HOUR, HOUR / 2);
      // Gone from the table, not merely expired: a fresh expiry window cannot revive it.
      expect(await k.store.findLink('invitation', old.tokenHash, T0)).toBeNull();
    });
  });
}
