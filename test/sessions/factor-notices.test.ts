import { Secret, TOTP } from 'otpauth';
import { describe, expect, it, vi } from 'vitest';
import type { Mail } from '../../src/mail/types.js';
import { makeAuth, PASSWORD } from '../http/harness.js';
import { SoftAuthenticator } from '../http/soft-authenticator.js';

const PUBLIC_URL = 'https://app.example.com';

/** A mailer that keeps what it is handed. */
function inbox() {
  const mails: Mail[] = [];
  return {
    mails,
    mailer: { send: async (mail: Mail) => void mails.push(mail) },
    /** The token of the newest `#<kind>=<token>` link, once mailed (sending is queued). */
    link: (kind: string): Promise<string> =>
      vi.waitFor(() => {
        for (const mail of [...mails].reverse()) {
          const found = new RegExp(`#${kind}=([A-Za-z0-9_-]+)`).exec(mail.text);
          if (found !== null) return found[1]!;
        }
        throw new Error(`no ${kind} link in ${mails.length} mails`);
      }),
  };
}

/** ASVS 6.3.7: a second factor added or removed is told to the user by mail. */
describe('factor notices', () => {
  it('6.3.7: enrolling and removing TOTP each mail the account owner', async () => {
    const { mails, mailer } = inbox();
    const { auth, clock, close } = await makeAuth({ mailer, publicUrl: PUBLIC_URL });
    try {
      const user = await auth.signup({ email: 'noa@example.com', password: PASSWORD });
      const { secret } = await auth.startTotp(user.id, { password: PASSWORD });
      const code = () =>
        TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: clock.now() });
      await auth.confirmTotp(user.id, code());
      clock.advance(30_000);
      await auth.removeTotp(user.id, { password: PASSWORD, otp: code() });
      await auth.close();
      const notices = mails.filter((m) => /second factor/i.test(m.subject));
      expect(notices.map((m) => m.to)).toEqual(['noa@example.com', 'noa@example.com']);
      expect(notices[0]?.subject).toMatch(/added/);
      expect(notices[1]?.subject).toMatch(/removed/);
      expect(notices[0]?.text).toContain('authenticator app');
    } finally {
      await close();
    }
  });

  it('6.3.7: adding and removing a passkey each mail the account owner, naming the passkey', async () => {
    const { mails, mailer } = inbox();
    const { auth, close } = await makeAuth({ mailer, publicUrl: PUBLIC_URL });
    try {
      const user = await auth.signup({ email: 'ari@example.com', password: PASSWORD });
      const { session } = await auth.login({ email: 'ari@example.com', password: PASSWORD });
      const options = await auth.passkeyRegistrationOptions(user.id, session.sid, {
        password: PASSWORD,
      });
      const added = await auth.addPasskey(user.id, session.sid, {
        response: new SoftAuthenticator(PUBLIC_URL).create(options as never),
        name: 'work laptop',
      });
      await auth.removePasskey(user.id, added.id, { password: PASSWORD });
      await auth.close();
      const notices = mails.filter((m) => /second factor/i.test(m.subject));
      expect(notices.map((m) => m.to)).toEqual(['ari@example.com', 'ari@example.com']);
      expect(notices[0]?.subject).toMatch(/added/);
      expect(notices[1]?.subject).toMatch(/removed/);
      for (const notice of notices) expect(notice.text).toContain('work laptop');
    } finally {
      await close();
    }
  });

  it('6.4.3: a password reset on an account with TOTP keeps the factor: the new password alone is not enough', async () => {
    const { mailer, link } = inbox();
    const { auth, clock, close } = await makeAuth({ mailer, publicUrl: PUBLIC_URL });
    try {
      const user = await auth.signup({ email: 'kim@example.com', password: PASSWORD });
      const { secret } = await auth.startTotp(user.id, { password: PASSWORD });
      const code = () =>
        TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: clock.now() });
      await auth.confirmTotp(user.id, code());
      await auth.forgotPassword('kim@example.com');
      await auth.resetPassword(await link('reset-password'), 'a brand new passphrase');
      expect((await auth.mfaStatus(user.id)).totp).toBe('on');
      await expect(
        auth.login({ email: 'kim@example.com', password: 'a brand new passphrase' }),
      ).rejects.toMatchObject({ code: 'MFA_REQUIRED' });
      clock.advance(30_000);
      const signedIn = await auth.login({
        email: 'kim@example.com',
        password: 'a brand new passphrase',
        otp: code(),
      });
      expect(signedIn.claims.amr).toContain('mfa');
    } finally {
      await close();
    }
  });
});
