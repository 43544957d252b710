import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import type { Mail } from '../../src/mail/types.js';
import { makeAuth, PASSWORD } from '../http/harness.js';

/** ASVS 6.3.7: a second factor added or removed is told to the user by mail. */
describe('factor notices', () => {
  it('6.3.7: enrolling and removing TOTP each mail the account owner', async () => {
    const mails: Mail[] = [];
    const { auth, clock, close } = await makeAuth({
      mailer: { send: async (mail) => void mails.push(mail) },
      publicUrl: 'https://app.example.com',
    });
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
});
