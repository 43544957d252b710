import { createHash } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Auth } from '../../src/sessions/types.js';
import { decodeAccess } from './decode.js';
import {
  email,
  type Harness,
  harness,
  PASSWORD,
  rejectsWith,
  type StoreFactory,
  throwsWith,
} from './helpers.js';

const STEP = 30_000;
const account = (address: string) =>
  `account:${createHash('sha256').update(address).digest('base64url')}`;

/** The code an authenticator app shows for `secret` at `atMs`. */
export const codeAt = (secret: string, atMs: number): string =>
  TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: atMs });

/**
 * TOTP, recovery codes, `MFA_REQUIRED`, step-up with a factor and `amr`, against one store
 * kind: what issue 13 promises of the library, through `createAuth`.
 */
export function describeFactorFlows(name: string, makeStore: StoreFactory): void {
  describe(`second factors on ${name}`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await harness(makeStore, { throttle: { account: { free: 5, max: 10 } } });
      // Mid-step, so that ±1 step of drift is exactly ±30 s away.
      h.clock.advance(STEP / 2 - (h.clock.now() % STEP));
    });
    afterEach(async () => {
      await h.close();
    });

    /** A user signed in once, with TOTP confirmed from that session. */
    const enrolled = async (auth: Auth = h.auth) => {
      const address = email();
      await auth.signup({ email: address, password: PASSWORD });
      const first = await auth.login({ email: address, password: PASSWORD });
      const { secret, otpauthUrl } = await auth.startTotp(first.user.id, {
        sid: first.session.sid,
      });
      const confirmed = await auth.confirmTotp(first.user.id, codeAt(secret, h.clock.now()), {
        keepSession: first.session.sid,
      });
      // The confirming code is spent: the next sign-in needs the next step's code.
      h.clock.advance(STEP);
      return { email: address, userId: first.user.id, secret, otpauthUrl, first, ...confirmed };
    };
    const login = (address: string, otp?: string) =>
      h.auth.login(
        otp === undefined
          ? { email: address, password: PASSWORD }
          : { email: address, password: PASSWORD, otp },
      );

    it('6.3.3 enrolment: behind step-up; the secret and an RFC 6238 otpauth URL; sealed at rest', async () => {
      const address = email();
      await h.auth.signup({ email: address, password: PASSWORD });
      const s = await login(address);
      h.clock.advance(h.auth.options.reauthWindow * 1000 + 1000);
      await rejectsWith(
        h.auth.startTotp(s.user.id, { sid: s.session.sid }),
        'REAUTHENTICATION_REQUIRED',
      );
      await rejectsWith(
        h.auth.startTotp(s.user.id, { sid: s.session.sid, password: 'wrong password!' }),
        'INVALID_CREDENTIALS',
      );
      const { secret, otpauthUrl } = await h.auth.startTotp(s.user.id, {
        sid: s.session.sid,
        password: PASSWORD,
      });
      expect(secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits
      const url = new URL(otpauthUrl);
      expect(url.protocol).toBe('otpauth:');
      expect(url.host).toBe('totp');
      expect(decodeURIComponent(url.pathname)).toBe(`/notbefore:${address}`);
      expect(Object.fromEntries(url.searchParams)).toEqual({
        issuer: 'notbefore',
        secret,
        algorithm: 'SHA1',
        digits: '6',
        period: '30',
      });
      const stored = await h.store.getTotp(s.user.id);
      expect(stored?.secret).toMatch(/^v1\./);
      expect(stored?.secret).not.toContain(secret);
      expect(await h.auth.mfaStatus(s.user.id)).toEqual({ totp: 'pending', recoveryCodesLeft: 0 });
      // Pending is no factor yet: sign-in asks for no code.
      expect((await login(address)).claims.amr).toEqual(['pwd']);
    });

    it('a new enrolment replaces a pending one: the old secret confirms nothing', async () => {
      const address = email();
      await h.auth.signup({ email: address, password: PASSWORD });
      const s = await login(address);
      const old = await h.auth.startTotp(s.user.id, { sid: s.session.sid });
      const next = await h.auth.startTotp(s.user.id, { sid: s.session.sid });
      expect(next.secret).not.toBe(old.secret);
      await rejectsWith(
        h.auth.confirmTotp(s.user.id, codeAt(old.secret, h.clock.now())),
        'INVALID_CREDENTIALS',
      );
      const { recoveryCodes } = await h.auth.confirmTotp(
        s.user.id,
        codeAt(next.secret, h.clock.now()),
      );
      expect(recoveryCodes).toHaveLength(10);
      await rejectsWith(h.auth.startTotp(s.user.id, { sid: s.session.sid }), 'VALIDATION_FAILED');
      await rejectsWith(
        h.auth.confirmTotp(s.user.id, codeAt(next.secret, h.clock.now() + STEP)),
        'NOT_FOUND',
      );
    });

    it('confirming ends every other session, keeps this one with amr otp+mfa, and shows 10 codes once', async () => {
      const address = email();
      await h.auth.signup({ email: address, password: PASSWORD });
      const other = await login(address);
      const s = await login(address);
      const { secret } = await h.auth.startTotp(s.user.id, { sid: s.session.sid });
      await rejectsWith(h.auth.confirmTotp(s.user.id, '000000'), 'INVALID_CREDENTIALS');
      const { recoveryCodes, signedIn } = await h.auth.confirmTotp(
        s.user.id,
        codeAt(secret, h.clock.now()),
        { keepSession: s.session.sid },
      );
      expect(new Set(recoveryCodes).size).toBe(10);
      for (const code of recoveryCodes)
        expect(code).toMatch(/^([0-9a-hjkmnp-tv-z]{4}-){5}[0-9a-hjkmnp-tv-z]{4}$/);
      expect(await h.auth.mfaStatus(s.user.id)).toEqual({ totp: 'on', recoveryCodesLeft: 10 });
      throwsWith(() => h.auth.verify(other.accessToken), 'TOKEN_REVOKED', 'user');
      await rejectsWith(h.auth.refresh(other.refreshToken), 'REFRESH_TOKEN_INVALID');
      // The kept session's old tokens die too; the fresh ones say how it was proven.
      throwsWith(() => h.auth.verify(s.accessToken), 'TOKEN_REVOKED');
      expect(signedIn?.session.sid).toBe(s.session.sid);
      expect(h.auth.verify(signedIn!.accessToken).amr).toEqual(['pwd', 'otp', 'mfa']);
      const refreshed = await h.auth.refresh(signedIn!.refreshToken);
      expect(refreshed.claims.amr).toEqual(['pwd', 'otp', 'mfa']);
      // Only hashes are stored: no code appears in the store.
      expect(await h.store.useRecoveryCode(s.user.id, recoveryCodes[0]!, h.clock.now())).toBe(
        false,
      );
      // The confirming code was spent: it cannot sign in now, inside its 30 s.
      await rejectsWith(login(address, codeAt(secret, h.clock.now())), 'INVALID_CREDENTIALS');
    });

    it('6.3.3 sign-in: MFA_REQUIRED only after the right password; then the code; amr in the token', async () => {
      const u = await enrolled();
      await rejectsWith(
        h.auth.login({ email: u.email, password: 'wrong password!' }),
        'INVALID_CREDENTIALS',
      );
      await rejectsWith(
        h.auth.login({
          email: u.email,
          password: 'wrong password!',
          otp: codeAt(u.secret, h.clock.now()),
        }),
        'INVALID_CREDENTIALS',
      );
      await rejectsWith(login(u.email), 'MFA_REQUIRED');
      await rejectsWith(login(u.email, 'not a code'), 'INVALID_CREDENTIALS');
      const s = await login(u.email, codeAt(u.secret, h.clock.now()));
      expect(s.claims.amr).toEqual(['pwd', 'otp', 'mfa']);
      expect(decodeAccess(s.accessToken).payload.amr).toEqual(['pwd', 'otp', 'mfa']);
      expect((await h.store.getSession(s.session.sid))?.amr).toEqual(['pwd', 'otp', 'mfa']);
    });

    it('a code is accepted once: a replay inside its 30 s is refused, on another instance too', async () => {
      const u = await enrolled();
      const code = codeAt(u.secret, h.clock.now());
      await login(u.email, code);
      h.clock.advance(STEP / 3);
      await rejectsWith(login(u.email, code), 'INVALID_CREDENTIALS');
      const other = await h.another();
      await rejectsWith(
        other.login({ email: u.email, password: PASSWORD, otp: code }),
        'INVALID_CREDENTIALS',
      );
      // An older step's code is refused once a newer one was used.
      await rejectsWith(
        login(u.email, codeAt(u.secret, h.clock.now() - STEP)),
        'INVALID_CREDENTIALS',
      );
    });

    it('±1 step of drift is accepted, ±2 refused', async () => {
      const u = await enrolled();
      // The confirming code spent the step before this one: move well past it, so that
      // only the drift bound can refuse now - 2 steps.
      h.clock.advance(2 * STEP);
      const now = h.clock.now();
      await rejectsWith(login(u.email, codeAt(u.secret, now - 2 * STEP)), 'INVALID_CREDENTIALS');
      await rejectsWith(login(u.email, codeAt(u.secret, now + 2 * STEP)), 'INVALID_CREDENTIALS');
      expect((await login(u.email, codeAt(u.secret, now - STEP))).claims.amr).toContain('otp');
      expect((await login(u.email, codeAt(u.secret, now + STEP))).claims.amr).toContain('otp');
      // The step just used is the current one plus one: the current code is now old.
      await rejectsWith(login(u.email, codeAt(u.secret, now)), 'INVALID_CREDENTIALS');
    });

    it('a recovery code signs in once, typed any way; the rest stay', async () => {
      const u = await enrolled();
      const [code, second] = u.recoveryCodes;
      const typed = ` ${code!.toUpperCase().replace(/-/g, ' ')} `;
      const s = await login(u.email, typed);
      expect(s.claims.amr).toEqual(['pwd', 'otp', 'mfa']);
      await rejectsWith(login(u.email, code), 'INVALID_CREDENTIALS');
      expect(await h.auth.mfaStatus(u.userId)).toEqual({ totp: 'on', recoveryCodesLeft: 9 });
      await login(u.email, second);
      expect((await h.auth.mfaStatus(u.userId)).recoveryCodesLeft).toBe(8);
    });

    it('MFA_REQUIRED and a wrong code count against the account; a right code gives its slot back', async () => {
      const u = await enrolled();
      const before = (await h.store.getFailures(account(u.email), h.clock.now(), 900_000)).count;
      await rejectsWith(login(u.email), 'MFA_REQUIRED');
      await rejectsWith(login(u.email, '000000'), 'INVALID_CREDENTIALS');
      const counted = await h.store.getFailures(account(u.email), h.clock.now(), 900_000);
      expect(counted.count).toBe(before + 2);
      await login(u.email, codeAt(u.secret, h.clock.now()));
      expect((await h.store.getFailures(account(u.email), h.clock.now(), 900_000)).count).toBe(
        before + 2,
      );
    });

    it('60 concurrent wrong codes (right password) are held to the per-account limit', async () => {
      const u = await enrolled();
      const current = codeAt(u.secret, h.clock.now());
      const wrong = Array.from({ length: 60 }, (_, i) =>
        String((Number(current) + 1 + i) % 1_000_000).padStart(6, '0'),
      );
      const results = await Promise.allSettled(wrong.map((otp) => login(u.email, otp)));
      const codes = results.map((r) =>
        r.status === 'rejected' ? (r.reason as { code: string }).code : 'ok',
      );
      const checked = codes.filter((c) => c !== 'RATE_LIMITED');
      // Five free attempts on a still clock (the sixth waits), whatever the concurrency.
      expect(checked.length).toBeLessThanOrEqual(5);
      expect(checked.every((c) => c === 'INVALID_CREDENTIALS')).toBe(true);
      expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(60 - checked.length);
      // Even the right code waits now: the limit holds for the account, not for a guess.
      await rejectsWith(login(u.email, current), 'RATE_LIMITED');
    });

    it('step-up on an account with TOTP: password and code, or a recent multi-factor sign-in', async () => {
      const u = await enrolled();
      const s = await login(u.email, codeAt(u.secret, h.clock.now()));
      h.clock.advance(STEP);
      // Recent and multi-factor: enough.
      await h.auth.endSession(u.userId, u.signedIn!.session.sid, { sid: s.session.sid });
      // A bare auth_time says nothing of the factors.
      await rejectsWith(
        h.auth.logoutAll(u.userId, { authTime: Math.floor(h.clock.now() / 1000) }),
        'REAUTHENTICATION_REQUIRED',
      );
      h.clock.advance(h.auth.options.reauthWindow * 1000 + 1000);
      await rejectsWith(
        h.auth.logoutAll(u.userId, { sid: s.session.sid }),
        'REAUTHENTICATION_REQUIRED',
      );
      await rejectsWith(h.auth.logoutAll(u.userId, { password: PASSWORD }), 'MFA_REQUIRED');
      await rejectsWith(
        h.auth.logoutAll(u.userId, { password: PASSWORD, otp: '000000' }),
        'INVALID_CREDENTIALS',
      );
      await h.auth.logoutAll(u.userId, {
        password: PASSWORD,
        otp: codeAt(u.secret, h.clock.now()),
      });
      throwsWith(() => h.auth.verify(s.accessToken), 'TOKEN_REVOKED');
    });

    it('removing TOTP needs a code even after a recent sign-in; every other session ends', async () => {
      const u = await enrolled();
      const s = await login(u.email, codeAt(u.secret, h.clock.now()));
      h.clock.advance(STEP);
      const other = await login(u.email, codeAt(u.secret, h.clock.now()));
      h.clock.advance(STEP);
      await rejectsWith(h.auth.removeTotp(u.userId, { sid: s.session.sid }), 'MFA_REQUIRED');
      await rejectsWith(
        h.auth.removeTotp(u.userId, { sid: s.session.sid, otp: '000000' }),
        'INVALID_CREDENTIALS',
      );
      const kept = await h.auth.removeTotp(
        u.userId,
        { sid: s.session.sid, otp: codeAt(u.secret, h.clock.now()) },
        { keepSession: s.session.sid },
      );
      expect(kept?.session.sid).toBe(s.session.sid);
      throwsWith(() => h.auth.verify(other.accessToken), 'TOKEN_REVOKED', 'user');
      expect(await h.auth.mfaStatus(u.userId)).toEqual({ totp: 'off', recoveryCodesLeft: 0 });
      expect((await login(u.email)).claims.amr).toEqual(['pwd']);
      // Without TOTP an otp is not looked at: the recovery codes went with it.
      expect((await login(u.email, u.recoveryCodes[0])).claims.amr).toEqual(['pwd']);
      expect(await h.store.recoveryCodesLeft(u.userId)).toBe(0);
      await rejectsWith(h.auth.removeTotp(u.userId, { sid: s.session.sid, otp: '1' }), 'NOT_FOUND');
    });

    it('recovery codes are regenerable behind step-up: the old ones die, other sessions end', async () => {
      const u = await enrolled();
      const s = await login(u.email, codeAt(u.secret, h.clock.now()));
      const other = await login(u.email, u.recoveryCodes[0]);
      const { recoveryCodes, signedIn } = await h.auth.regenerateRecoveryCodes(
        u.userId,
        { sid: s.session.sid },
        { keepSession: s.session.sid },
      );
      expect(recoveryCodes).toHaveLength(10);
      expect(recoveryCodes.filter((c) => u.recoveryCodes.includes(c))).toEqual([]);
      expect(signedIn?.claims.amr).toEqual(['pwd', 'otp', 'mfa']);
      throwsWith(() => h.auth.verify(other.accessToken), 'TOKEN_REVOKED');
      await rejectsWith(login(u.email, u.recoveryCodes[1]), 'INVALID_CREDENTIALS');
      expect((await login(u.email, recoveryCodes[1])).claims.amr).toContain('mfa');
      h.clock.advance(h.auth.options.reauthWindow * 1000 + 1000);
      await rejectsWith(
        h.auth.regenerateRecoveryCodes(u.userId, { password: PASSWORD }),
        'MFA_REQUIRED',
      );
    });

    it('an administrator removes every factor: every session ends, sign-in needs no code', async () => {
      const u = await enrolled();
      const s = await login(u.email, codeAt(u.secret, h.clock.now()));
      await h.auth.removeFactors(u.userId);
      throwsWith(() => h.auth.verify(s.accessToken), 'TOKEN_REVOKED', 'user');
      await rejectsWith(h.auth.refresh(s.refreshToken), 'REFRESH_TOKEN_INVALID');
      expect(await h.auth.mfaStatus(u.userId)).toEqual({ totp: 'off', recoveryCodesLeft: 0 });
      expect((await login(u.email)).claims.amr).toEqual(['pwd']);
      await rejectsWith(h.auth.removeFactors('no-such-user'), 'NOT_FOUND');
    });

    it('deleting the user deletes its factors', async () => {
      const u = await enrolled();
      await h.auth.deleteUser(u.userId);
      expect(await h.store.getTotp(u.userId)).toBeNull();
      expect(await h.store.recoveryCodesLeft(u.userId)).toBe(0);
    });

    it('confirming on one instance ends the other sessions on another within maxStaleness', async () => {
      const other = await h.another();
      const address = email();
      await h.auth.signup({ email: address, password: PASSWORD });
      const elsewhere = await other.login({ email: address, password: PASSWORD });
      const s = await login(address);
      const { secret } = await h.auth.startTotp(s.user.id, { sid: s.session.sid });
      expect(other.verify(elsewhere.accessToken).sub).toBe(s.user.id);
      await h.auth.confirmTotp(s.user.id, codeAt(secret, h.clock.now()));
      // The other instance hears through the store's log (its own feed is separate).
      const t0 = Date.now();
      for (;;) {
        try {
          other.verify(elsewhere.accessToken);
        } catch (error) {
          expect(error).toMatchObject({ code: 'TOKEN_REVOKED' });
          break;
        }
        if (Date.now() - t0 > h.auth.options.maxStaleness * 1000) throw new Error('not heard');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });

    it('bad input is a clear 400, never a crash', async () => {
      const u = await enrolled();
      await rejectsWith(
        h.auth.login({ email: u.email, password: PASSWORD, otp: 42 as unknown as string }),
        'VALIDATION_FAILED',
      );
      await rejectsWith(
        h.auth.login({ email: u.email, password: PASSWORD, otp: 'x'.repeat(65) }),
        'VALIDATION_FAILED',
      );
      await rejectsWith(h.auth.confirmTotp(u.userId, {} as unknown as string), 'VALIDATION_FAILED');
      await rejectsWith(
        h.auth.removeTotp(u.userId, { sid: 'x', otp: ['1'] as unknown as string }),
        'VALIDATION_FAILED',
      );
      // Digits of the wrong length, and look-alikes of digits, are wrong codes, not errors.
      for (const otp of ['12345', '1234567', '１２３４５６', '12345\u0000'])
        await rejectsWith(login(u.email, otp), 'INVALID_CREDENTIALS');
    });
  });
}
