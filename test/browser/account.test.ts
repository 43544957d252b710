/**
 * The account lifecycle on the demo page, in real Chromium against `notbefore serve --smtp`
 * with a real SMTP server (the sink): the mails arrive there, and their links are opened in
 * the browser as a person would open them.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_EMAIL,
  acceptInvitation,
  browserSuite,
  countLoads,
  PASSWORD,
  signedInView,
  signedOutView,
  statusOfMe,
  submitCredentials,
  uniqueEmail,
} from './harness.js';

const SLOW = 90_000;
const NEW_PASSWORD = 'a completely new passphrase 7';

// The server mails through the suite's SMTP sink, started before it and stopped after it.
const suite = browserSuite({ mail: true, viewport: { width: 1280, height: 720 } });

/** What the address bar shows. */
const address = (page: Page) => page.evaluate(() => location.href);

describe('forgot password', () => {
  it(
    'mail → the link → a new password: the other device is signed out live, the old password is dead',
    async () => {
      const email = uniqueEmail('reset');
      const laptop = await suite.signedIn('signup', email);
      const phone = await suite.signedIn('login', email);
      const loads = [countLoads(laptop), countLoads(phone)];

      // Somewhere else, signed out: "Forgot password?".
      const kiosk = await suite.open();
      await kiosk.fill('#email', email);
      await kiosk.click('#btn-forgot');
      await expect(kiosk.inputValue('#forgot-email')).resolves.toBe(email);
      await kiosk.press('#forgot-email', 'Enter');
      await kiosk.waitForSelector('#forgot-result[data-tone="good"]');
      await kiosk.click('#forgot-cancel');

      const mail = await suite.mail.next((m) => m.to === email && /reset/i.test(m.subject));
      const link = suite.mail.urlIn(mail, 'reset-password');
      const token = suite.mail.linkIn(mail, 'reset-password');
      expect(link.startsWith(`${suite.server.url}/#reset-password=`)).toBe(true);

      // The mail app opens the link: the page takes the token out of the address bar at once.
      const mailApp = await suite.open(link);
      expect(await address(mailApp)).toBe(`${suite.server.url}/`);
      expect(await mailApp.evaluate(() => location.hash)).toBe('');
      await mailApp.waitForSelector('#link-dialog[open] #link-password');
      await expect(mailApp.textContent('#link-title')).resolves.toBe('Choose a new password');
      await mailApp.fill('#link-password', NEW_PASSWORD);
      await mailApp.press('#link-password', 'Enter');
      await mailApp.waitForFunction(
        () => document.querySelector('#link-title')?.textContent === 'Password changed',
      );
      expect(await address(mailApp)).not.toContain(token);

      // Both devices that were signed in hear it, without a reload.
      for (const page of [laptop, phone]) {
        await page.waitForSelector(signedOutView, { timeout: 10_000 });
        await expect(statusOfMe(page)).resolves.toBe(401);
      }
      expect(loads.map((count) => count())).toEqual([0, 0]);

      // The old password is refused, the new one works.
      await laptop.fill('#email', email);
      await laptop.fill('#password', PASSWORD);
      await laptop.press('#password', 'Enter');
      await laptop.waitForSelector('#auth-error:not([hidden])');
      await expect(laptop.isVisible(signedOutView)).resolves.toBe(true);
      await submitCredentials(laptop, 'login', email, NEW_PASSWORD);

      // The link worked once.
      const again = await suite.open(link);
      await again.waitForSelector('#link-dialog[open] #link-password');
      await again.fill('#link-password', 'yet another passphrase 99');
      await again.press('#link-password', 'Enter');
      await again.waitForSelector('#link-result:not([hidden])');
      await expect(again.textContent('#link-result')).resolves.toMatch(/no longer works/);
      await expect(again.isHidden('#link-password-field')).resolves.toBe(true);

      const notice = await suite.mail.next((m) => m.to === email && /was reset/.test(m.subject));
      expect(notice.text).toContain('If it was not you');
    },
    SLOW,
  );

  it(
    'answers alike for an address without an account',
    async () => {
      const page = await suite.open();
      await page.click('#btn-forgot');
      await page.fill('#forgot-email', uniqueEmail('nobody'));
      await page.press('#forgot-email', 'Enter');
      await page.waitForSelector('#forgot-result[data-tone="good"]');
      await expect(page.textContent('#forgot-result')).resolves.toMatch(/^If .* has an account/);
    },
    SLOW,
  );
});

describe('verify your email', () => {
  it(
    'the banner shows while unverified, and goes away on every device after the link',
    async () => {
      const email = uniqueEmail('verify');
      const laptop = await suite.signedIn('signup', email);
      const phone = await suite.signedIn('login', email);
      for (const page of [laptop, phone]) {
        await page.waitForSelector('#verify-banner:not([hidden])');
      }
      await expect(laptop.textContent('#verify-email-to')).resolves.toBe(email);

      await laptop.click('#btn-verify-resend');
      await laptop.waitForFunction(() =>
        document.querySelector('#verify-result')?.textContent?.startsWith('Sent'),
      );
      // Without --require-verified-email signup mails nothing: this is the resent link.
      const mail = await suite.mail.next((m) => m.to === email);
      const link = suite.mail.urlIn(mail, 'verify-email');

      // Opened in the laptop's tab: only the fragment changes, so the page handles hashchange.
      const loads = countLoads(laptop);
      await laptop.goto(link);
      await laptop.waitForFunction(
        () => document.querySelector('#link-title')?.textContent === 'Email address confirmed',
      );
      expect(await laptop.evaluate(() => location.hash)).toBe('');
      await laptop.click('#link-close');
      for (const page of [laptop, phone]) {
        await page.waitForSelector('#verify-banner', { state: 'hidden', timeout: 10_000 });
        await expect(page.isVisible(signedInView)).resolves.toBe(true);
      }
      expect(loads()).toBe(0);
    },
    SLOW,
  );
});

describe('invitations and change of email', () => {
  it(
    'the --admin-email invitation opens a form that creates the admin account',
    async () => {
      const mail = await suite.mail.next((m) => m.to === ADMIN_EMAIL);
      const link = suite.mail.urlIn(mail, 'invitation');
      expect(suite.server.adminInvitation()).toBe(link);
      const page = await suite.open();
      await acceptInvitation(page, link);
      expect(await address(page)).toBe(`${suite.server.url}/`);
      await page.waitForSelector('#admin:not([hidden])');
      await expect(page.isHidden('#verify-banner')).resolves.toBe(true);
    },
    SLOW,
  );

  it(
    'change email: the link to the new address switches it; this device stays, the other is signed out',
    async () => {
      const email = uniqueEmail('old');
      const newEmail = uniqueEmail('new');
      const laptop = await suite.signedIn('signup', email);
      const phone = await suite.signedIn('login', email);

      await laptop.click('#btn-email');
      await laptop.fill('#email-new', newEmail);
      await laptop.fill('#email-password', PASSWORD);
      await laptop.press('#email-password', 'Enter');
      await laptop.waitForSelector('#email-result[data-tone="good"]');
      await laptop.click('#email-cancel');

      const notice = await suite.mail.next((m) => m.to === email);
      expect(notice.text).toContain(newEmail);
      const mail = await suite.mail.next((m) => m.to === newEmail);
      await laptop.goto(suite.mail.urlIn(mail, 'confirm-email'));
      await laptop.waitForFunction(
        () => document.querySelector('#link-title')?.textContent === 'Email address changed',
      );
      await laptop.click('#link-close');
      await laptop.waitForFunction(
        (want) => document.querySelector('#user-email')?.textContent === want,
        newEmail,
      );
      await phone.waitForSelector(signedOutView, { timeout: 10_000 });
      await expect(statusOfMe(laptop)).resolves.toBe(200);
    },
    SLOW,
  );
});
