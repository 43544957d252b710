/**
 * TOTP, recovery codes and the administrator's factor removal in the shared route suite
 * (every adapter): the contract's "Second factors" routes, by bearer and by cookie.
 */
import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import {
  ADMIN,
  api,
  browser,
  type Client,
  logIn,
  type MakeStore,
  PASSWORD,
  signUp,
} from './harness.js';
import { type StartServer, serveEachTest } from './route-suite.js';

const STEP = 30_000;
const codeAt = (secret: string, atMs: number) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: atMs });

export function describeFactorRoutes(start: StartServer, makeStore?: MakeStore): void {
  describe('second factors: TOTP and recovery codes', () => {
    const each = serveEachTest(start, makeStore);

    const signup = (email: string) => signUp(api(each.server), email);
    /** Turns TOTP on for the signed-in `client`; the clock moves past the confirming code. */
    const enrol = async (client: Client) => {
      const started = await client.call('POST', '/auth/mfa/totp', {});
      expect(started.status).toBe(200);
      const { secret, otpauthUrl } = started.json() as { secret: string; otpauthUrl: string };
      expect(otpauthUrl).toMatch(/^otpauth:\/\/totp\/.+\?.*secret=/);
      const confirmed = await client.call('POST', '/auth/mfa/totp/confirm', {
        code: codeAt(secret, each.clock.now()),
      });
      expect(confirmed.status).toBe(200);
      each.clock.advance(STEP);
      return { secret, recoveryCodes: confirmed.json().recoveryCodes as string[], confirmed };
    };
    const code = (secret: string) => codeAt(secret, each.clock.now());

    it('6.3.3 enrol by bearer: pending, confirmed by a first code; other sessions end; amr in /auth/me', async () => {
      const client = await signup('tia@example.com');
      const other = await logIn(api(each.server), 'tia@example.com');
      const started = await client.call('POST', '/auth/mfa/totp', {});
      const { secret } = started.json();
      expect((await client.call('GET', '/auth/mfa')).json()).toEqual({
        totp: 'pending',
        recoveryCodesLeft: 0,
      });
      const wrong = await client.call('POST', '/auth/mfa/totp/confirm', { code: '000000' });
      expect(wrong.status).toBe(401);
      expect(wrong.json().error.code).toBe('INVALID_CREDENTIALS');
      const before = client.access;
      const confirmed = await client.call('POST', '/auth/mfa/totp/confirm', {
        code: code(secret),
      });
      expect(confirmed.status).toBe(200);
      const body = confirmed.json();
      expect(body.recoveryCodes).toHaveLength(10);
      expect(typeof body.accessToken).toBe('string');
      expect(client.access).not.toBe(before);
      const me = await client.call('GET', '/auth/me');
      expect(me.status).toBe(200);
      expect(me.json().claims.amr).toEqual(['pwd', 'otp', 'mfa']);
      const gone = await other.call('GET', '/auth/me');
      expect(gone.status).toBe(401);
      expect(gone.json().error.code).toBe('TOKEN_REVOKED');
      expect((await client.call('GET', '/auth/mfa')).json()).toEqual({
        totp: 'on',
        recoveryCodesLeft: 10,
      });
    });

    it('sign-in: 401 MFA_REQUIRED only after the right password; then a code or a recovery code, each once', async () => {
      const { secret, recoveryCodes } = await enrol(await signup('uma@example.com'));
      const login = (body: Record<string, unknown>) =>
        api(each.server).call('POST', '/auth/login', {
          email: 'uma@example.com',
          password: PASSWORD,
          ...body,
        });
      const wrongPassword = await login({ password: 'wrong password!' });
      expect(wrongPassword.json().error.code).toBe('INVALID_CREDENTIALS');
      const needed = await login({});
      expect(needed.status).toBe(401);
      expect(needed.json().error.code).toBe('MFA_REQUIRED');
      expect((await login({ otp: '000000' })).json().error.code).toBe('INVALID_CREDENTIALS');
      const otp = code(secret);
      const ok = await login({ otp });
      expect(ok.status).toBe(200);
      expect((await login({ otp })).json().error.code).toBe('INVALID_CREDENTIALS');
      expect((await login({ otp: recoveryCodes[0] })).status).toBe(200);
      expect((await login({ otp: recoveryCodes[0] })).json().error.code).toBe(
        'INVALID_CREDENTIALS',
      );
    });

    it('by cookie: confirm and remove re-issue this session in cookies, never tokens in the body', async () => {
      const b = await signUp(browser(each.server), 'val@example.com');
      const access = b.jar.get('__Host-nb_access');
      const { secret, confirmed } = await enrol(b);
      expect(confirmed.json().recoveryCodes).toHaveLength(10);
      expect(confirmed.body).not.toContain('accessToken');
      expect(confirmed.body).not.toContain('refreshToken');
      expect(b.jar.get('__Host-nb_access')).not.toBe(access);
      expect((await b.call('GET', '/auth/me')).json().claims.amr).toEqual(['pwd', 'otp', 'mfa']);
      const noCode = await b.call('DELETE', '/auth/mfa/totp', {});
      expect(noCode.status).toBe(400);
      const wrong = await b.call('DELETE', '/auth/mfa/totp', { otp: '000000' });
      expect(wrong.json().error.code).toBe('INVALID_CREDENTIALS');
      const removed = await b.call('DELETE', '/auth/mfa/totp', { otp: code(secret) });
      expect(removed.status).toBe(204);
      expect(removed.cookies.some((c) => c.startsWith('__Host-nb_access='))).toBe(true);
      expect((await b.call('GET', '/auth/me')).status).toBe(200);
      expect((await b.call('GET', '/auth/mfa')).json().totp).toBe('off');
      await logIn(api(each.server), 'val@example.com');
    });

    it('7.5.2 step-up with TOTP: the password alone is MFA_REQUIRED; with the code it passes', async () => {
      const client = await signup('wes@example.com');
      const { secret } = await enrol(client);
      each.clock.advance(each.auth.options.reauthWindow * 1000 + 1000);
      const stale = await client.call('POST', '/auth/mfa/recovery-codes', {});
      expect(stale.json().error.code).toBe('REAUTHENTICATION_REQUIRED');
      const noCode = await client.call('POST', '/auth/logout-all', { password: PASSWORD });
      expect(noCode.status).toBe(401);
      expect(noCode.json().error.code).toBe('MFA_REQUIRED');
      const renewed = await client.call('POST', '/auth/mfa/recovery-codes', {
        password: PASSWORD,
        otp: code(secret),
      });
      expect(renewed.status).toBe(200);
      expect(renewed.json().recoveryCodes).toHaveLength(10);
      each.clock.advance(STEP);
      const removed = await client.call('DELETE', '/auth/mfa/totp', {
        password: PASSWORD,
        otp: code(secret),
      });
      expect(removed.status).toBe(200);
      expect(typeof removed.json().accessToken).toBe('string');
      expect((await client.call('GET', '/auth/me')).status).toBe(200);
      const notOn = await client.call('DELETE', '/auth/mfa/totp', { otp: '123456' });
      expect(notOn.json().error.code).toBe('NOT_FOUND');
    });

    it('an administrator removes every factor of a user: every session of theirs ends', async () => {
      // Roles are granted, never taken at signup: the administrator is made in the library.
      await each.auth.signup({ email: ADMIN, password: PASSWORD, roles: ['admin'] });
      const admin = await logIn(api(each.server), ADMIN);
      const user = await signup('xia@example.com');
      await enrol(user);
      const id = (await user.call('GET', '/auth/me')).json().user.id as string;
      const forbidden = await user.call('DELETE', `/admin/users/${id}/mfa`);
      expect(forbidden.json().error.code).toBe('FORBIDDEN');
      const done = await admin.call('DELETE', `/admin/users/${id}/mfa`);
      expect(done.status).toBe(204);
      expect((await user.call('GET', '/auth/me')).json().error.code).toBe('TOKEN_REVOKED');
      await logIn(api(each.server), 'xia@example.com');
      const unknown = await admin.call('DELETE', '/admin/users/no-such-user/mfa');
      expect(unknown.status).toBe(404);
      expect((await admin.call('DELETE', `/admin/users/${'x'.repeat(200)}/mfa`)).status).toBe(400);
    });

    it('bad input is a 400, never a 500', async () => {
      const client = await signup('yan@example.com');
      for (const body of [{ otp: 42 }, { otp: 'x'.repeat(65) }, { otp: '' }])
        expect(
          (
            await api(each.server).call('POST', '/auth/login', {
              email: 'yan@example.com',
              password: PASSWORD,
              ...body,
            })
          ).status,
        ).toBe(400);
      for (const body of [{}, { code: 123456 }, { code: '1'.repeat(17) }, { code: '1', x: 1 }])
        expect((await client.call('POST', '/auth/mfa/totp/confirm', body)).status).toBe(400);
      expect((await client.call('POST', '/auth/mfa/totp', { otp: 7 })).status).toBe(400);
      const noEnrolment = await client.call('POST', '/auth/mfa/totp/confirm', { code: '123456' });
      expect(noEnrolment.json().error.code).toBe('NOT_FOUND');
    });
  });
}
