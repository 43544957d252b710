import { describe, expect, it } from 'vitest';
import type { NewChallenge, NewPasskey } from '../port.js';
import type { StoreKit } from './kit.js';

/** Passkeys (added and removed through revokeUser), their counters, and WebAuthn challenges. */
export function describePasskeyCases(k: StoreKit): void {
  const { T0 } = k;

  const passkey = (userId: string, over: Partial<NewPasskey> = {}): NewPasskey => ({
    id: k.id(),
    userId,
    publicKey: k.id(),
    counter: 0,
    transports: ['internal', 'hybrid'],
    deviceType: 'multiDevice',
    backedUp: true,
    name: 'Laptop',
    nowMs: T0,
    ...over,
  });
  const add = (userId: string, p: NewPasskey, nowMs = p.nowMs) =>
    k.store.revokeUser({
      userId,
      nowMs,
      scope: 'sessions',
      cause: 'mfa',
      change: { factors: { kind: 'passkey-add', passkey: p } },
    });
  const remove = (userId: string, id: string) =>
    k.store.revokeUser({
      userId,
      nowMs: T0 + 1000,
      scope: 'sessions',
      cause: 'mfa',
      change: { factors: { kind: 'passkey-remove', id } },
    });

  describe('passkeys', () => {
    it('an added passkey reads back whole; listed oldest first, only for its user', async () => {
      const u = await k.user();
      const other = await k.user();
      const first = passkey(u.id, { counter: 7, transports: ['usb'], name: null });
      const second = passkey(u.id, { nowMs: T0 + 10, deviceType: null, backedUp: false });
      expect((await add(u.id, second)).ok).toBe(true);
      expect((await add(u.id, first)).ok).toBe(true);
      expect(await k.store.getPasskey(first.id)).toEqual({
        id: first.id,
        userId: u.id,
        publicKey: first.publicKey,
        counter: 7,
        transports: ['usb'],
        deviceType: 'multiDevice',
        backedUp: true,
        name: null,
        createdAt: T0,
        lastUsedAt: null,
      });
      expect((await k.store.listPasskeys(u.id)).map((p) => p.id)).toEqual([first.id, second.id]);
      expect(await k.store.listPasskeys(u.id)).toMatchObject([
        {},
        { deviceType: null, backedUp: false, name: 'Laptop' },
      ]);
      expect(await k.store.listPasskeys(other.id)).toEqual([]);
      expect(await k.store.getPasskey('no-such-credential')).toBeNull();
    });

    it('a credential id is stored once: adding it again, for anyone, is refused', async () => {
      const u = await k.user();
      const thief = await k.user();
      const p = passkey(u.id, { publicKey: 'victim-key' });
      expect((await add(u.id, p)).ok).toBe(true);
      // An attacker may register an authenticator that reports a victim's credential id.
      const again = await add(thief.id, { ...p, userId: thief.id, publicKey: 'attacker-key' });
      expect(again).toEqual({ ok: false, reason: 'no-factor' });
      expect(await k.store.getPasskey(p.id)).toMatchObject({
        userId: u.id,
        publicKey: 'victim-key',
      });
    });

    it('removal: only its own user removes it; a second removal is refused', async () => {
      const u = await k.user();
      const other = await k.user();
      const p = passkey(u.id);
      await add(u.id, p);
      expect(await remove(other.id, p.id)).toEqual({ ok: false, reason: 'no-factor' });
      expect(await k.store.getPasskey(p.id)).not.toBeNull();
      expect((await remove(u.id, p.id)).ok).toBe(true);
      expect(await k.store.getPasskey(p.id)).toBeNull();
      expect(await remove(u.id, p.id)).toEqual({ ok: false, reason: 'no-factor' });
    });

    it('adding a passkey ends the other sessions; deleting the user deletes its passkeys', async () => {
      const u = await k.user();
      const s = await k.session(u);
      const p = passkey(u.id);
      const added = await add(u.id, p, T0 + 5);
      expect(added.ok && added.endedSids).toEqual([s.session.sid]);
      await k.store.revokeUser({
        userId: u.id,
        nowMs: T0 + 10,
        scope: 'sessions',
        cause: 'deleted',
        change: { deleted: true },
      });
      expect(await k.store.getPasskey(p.id)).toBeNull();
      expect(await k.store.listPasskeys(u.id)).toEqual([]);
    });

    it('the counter only moves forward (compare-and-set); 0 and 0 is an authenticator without one', async () => {
      const u = await k.user();
      const p = passkey(u.id, { counter: 5 });
      await add(u.id, p);
      const set = (expected: number, next: number, at = T0 + 100) =>
        k.store.updatePasskeyCounter(p.id, expected, next, at);
      expect(await set(5, 5)).toBe(false); // the same value again: a replay or a clone
      expect(await set(5, 4)).toBe(false); // backwards
      expect(await set(4, 9)).toBe(false); // not the stored value any more
      expect(await set(5, 6, T0 + 200)).toBe(true);
      expect(await k.store.getPasskey(p.id)).toMatchObject({ counter: 6, lastUsedAt: T0 + 200 });
      expect(await set(6, 0)).toBe(false); // a counter that fell back to zero
      expect(await k.store.updatePasskeyCounter('unknown', 0, 1, T0)).toBe(false);

      const none = passkey(u.id, { counter: 0 });
      await add(u.id, none);
      expect(await k.store.updatePasskeyCounter(none.id, 0, 0, T0 + 300)).toBe(true);
      expect(await k.store.updatePasskeyCounter(none.id, 0, 0, T0 + 400)).toBe(true);
      expect(await k.store.getPasskey(none.id)).toMatchObject({ counter: 0, lastUsedAt: T0 + 400 });
      // Once it has counted, it may not go back to not counting.
      expect(await k.store.updatePasskeyCounter(none.id, 0, 3, T0)).toBe(true);
      expect(await k.store.updatePasskeyCounter(none.id, 3, 0, T0)).toBe(false);
    });

    it('concurrent sign-ins from one counter value: exactly one moves it', async () => {
      const u = await k.user();
      const p = passkey(u.id, { counter: 10 });
      await add(u.id, p);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          k.store.updatePasskeyCounter(p.id, 10, 11 + i, T0 + i),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect((await k.store.getPasskey(p.id))?.counter).toBe(11 + winner);
    });
  });

  describe('createSession with expectPasskey', () => {
    const withPasskey = (u: { id: string; passwordHash: string }, id: string, nowMs = T0 + 2000) =>
      k.store.createSession(k.sessionInput(u, { nowMs, expectPasskey: { id }, amr: ['hwk'] }));

    it('opens the session while the passkey is the user’s; refused once it is gone or another’s', async () => {
      const u = await k.user();
      const other = await k.user();
      const p = passkey(u.id);
      const theirs = passkey(other.id);
      await add(u.id, p);
      await add(other.id, theirs);
      const opened = await withPasskey(u, p.id);
      expect(opened.ok && opened.session.amr).toEqual(['hwk']);
      expect(await withPasskey(u, theirs.id)).toEqual({ ok: false, reason: 'credentials-changed' });
      expect(await withPasskey(u, 'no-such-credential')).toEqual({
        ok: false,
        reason: 'credentials-changed',
      });
      expect((await remove(u.id, p.id)).ok).toBe(true);
      expect(await withPasskey(u, p.id, T0 + 3000)).toEqual({
        ok: false,
        reason: 'credentials-changed',
      });
      expect(await k.store.listSessions(u.id, T0 + 3000)).toEqual([]);
    });

    it('racing the removal of its passkey: refused, or ended by the removal; never left live', async () => {
      const u = await k.user();
      for (let round = 0; round < 12; round++) {
        const p = passkey(u.id);
        await add(u.id, p, T0 + 500);
        const signIns = Array.from({ length: 4 }, () => withPasskey(u, p.id));
        const [removed, ...opened] = await Promise.all([remove(u.id, p.id), ...signIns]);
        expect(removed.ok).toBe(true);
        const ended = removed.ok ? removed.endedSids : [];
        for (const r of opened)
          if (r.ok) expect(ended).toContain(r.session.sid);
          else expect(r.reason).toBe('credentials-changed');
        expect(await k.store.listSessions(u.id, T0 + 2000)).toEqual([]);
      }
    });
  });

  describe('WebAuthn challenges', () => {
    const challenge = (over: Partial<NewChallenge> = {}): NewChallenge => ({
      challenge: k.id(),
      purpose: 'login',
      userId: null,
      sid: null,
      expiresAt: T0 + 300_000,
      ...over,
    });

    it('taken once, with what it was bound to; then gone', async () => {
      const u = await k.user();
      const c = challenge({ purpose: 'register', userId: u.id, sid: 'sid-1' });
      await k.store.createChallenge(c);
      await k.store.createChallenge(challenge());
      expect(await k.store.takeChallenge(c.challenge, 'register', T0)).toEqual(c);
      expect(await k.store.takeChallenge(c.challenge, 'register', T0)).toBeNull();
      const discoverable = challenge();
      await k.store.createChallenge(discoverable);
      expect(await k.store.takeChallenge(discoverable.challenge, 'login', T0)).toEqual(
        discoverable,
      );
      expect(await k.store.takeChallenge('never-issued', 'login', T0)).toBeNull();
    });

    it('refused for the other ceremony and from its expiry on', async () => {
      const c = challenge({ expiresAt: T0 + 1000 });
      await k.store.createChallenge(c);
      expect(await k.store.takeChallenge(c.challenge, 'register', T0)).toBeNull();
      expect(await k.store.takeChallenge(c.challenge, 'login', T0 + 1000)).toBeNull();
      const d = challenge({ expiresAt: T0 + 1000 });
      await k.store.createChallenge(d);
      expect(await k.store.takeChallenge(d.challenge, 'login', T0 + 999)).toEqual(d);
    });

    it('purge keeps a challenge that has not expired', async () => {
      const old = challenge({ expiresAt: T0 + 1000 });
      const live = challenge({ expiresAt: T0 + 10_000 });
      await k.store.createChallenge(old);
      await k.store.createChallenge(live);
      await k.store.purge(T0 + 5000, 1000);
      expect(await k.store.takeChallenge(live.challenge, 'login', T0 + 5000)).toEqual(live);
    });

    it('concurrent takes of one challenge: exactly one gets it', async () => {
      const c = challenge();
      await k.store.createChallenge(c);
      const taken = await Promise.all(
        Array.from({ length: 25 }, () => k.store.takeChallenge(c.challenge, 'login', T0)),
      );
      expect(taken.filter((t) => t !== null)).toEqual([c]);
    });
  });
}
