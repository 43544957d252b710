/**
 * Two-step sign-in on the demo page, in real Chromium against `notbefore serve`: set up an
 * authenticator app from the QR code's secret, keep the recovery codes, sign in with a code
 * the test computes (otpauth, as an app would), then with a recovery code, and turn it off.
 * Turning it on or off signs the other devices out; the tab that did it stays in.
 */
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  amrOf,
  browserSuite,
  enterCredentials,
  openPage,
  resultPath,
  signedInView,
  signedOutView,
  statusOfMe,
  submitCredentials,
  uniqueEmail,
} from './harness.js';

const SLOW = 90_000;
const STEP = 30_000;

/** What an authenticator app shows for `secret` at `atMs`. */
const appCode = (secret: string, atMs = Date.now()) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: atMs });

const suite = browserSuite();

/** Signs in through the form; the server asks for a code, which goes in the field it opens. */
async function signInWithCode(page: Page, email: string, otp: string): Promise<void> {
  await enterCredentials(page, 'login', email);
  await page.waitForSelector('#otp:visible');
  await expect(page.textContent('#auth-error')).resolves.toContain('authenticator app');
  await expect(page.isVisible(signedOutView)).resolves.toBe(true);
  await page.fill('#otp', otp);
  await page.press('#otp', 'Enter');
  await page.waitForSelector(signedInView);
}

describe('two-step sign-in (TOTP) on the demo page', () => {
  it(
    'set up from the QR card, recovery codes shown once; sign in with a code, then a recovery code; turn off',
    async () => {
      const email = uniqueEmail('totp');
      const laptop = await suite.device();
      const tab = await suite.signedIn('signup', email, laptop);
      const otherTab = await openPage(laptop, suite.server.url);
      const other = await suite.signedIn('login', email);

      // Set up: the sign-in was recent, so no password is asked.
      await tab.waitForSelector('#totp-status[data-totp="off"]');
      await tab.click('#btn-totp-setup');
      await tab.waitForSelector('#totp-setup');
      const qr = tab.locator('#totp-qr');
      await expect(qr.getAttribute('src')).resolves.toMatch(/^data:image\/gif;base64,/);
      expect(await qr.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(100);
      const secret = ((await tab.textContent('#totp-secret')) ?? '').replace(/\s/g, '');
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      await tab.locator('#factors').screenshot({ path: resultPath('totp-setup.png') });
      await tab.fill('#totp-code', '000000');
      await tab.click('#totp-confirm');
      await tab.waitForSelector('#totp-error:not([hidden])');
      await tab.fill('#totp-code', appCode(secret));
      await tab.click('#totp-confirm');
      await tab.waitForSelector('#recovery-codes');
      const recovery = await tab.locator('#recovery-codes li').allTextContents();
      expect(recovery).toHaveLength(10);

      // The other device is signed out; this browser's tabs go on.
      await other.waitForSelector(signedOutView, { timeout: 5_000 });
      await expect(statusOfMe(other)).resolves.toBe(401);
      await expect(statusOfMe(tab)).resolves.toBe(200);
      await otherTab.waitForTimeout(1_000);
      await expect(otherTab.isVisible(signedInView)).resolves.toBe(true);
      await expect(statusOfMe(otherTab)).resolves.toBe(200);
      await expect(amrOf(tab)).resolves.toEqual(['pwd', 'otp', 'mfa']);
      await tab.click('#btn-codes-saved');
      await tab.waitForSelector('#totp-status[data-totp="on"]');
      await expect(tab.textContent('#totp-status')).resolves.toContain('10 recovery codes left');

      // Sign in on the other device: password, then the app's code (the next step's: the
      // current one confirmed the set-up and is spent).
      await signInWithCode(other, email, appCode(secret, Date.now() + STEP));
      await expect(amrOf(other)).resolves.toEqual(['pwd', 'otp', 'mfa']);
      await other.click('#btn-logout');
      await other.waitForSelector(signedOutView);
      // A wrong code keeps the form, with the field still open.
      await enterCredentials(other, 'login', email);
      await other.waitForSelector('#otp:visible');
      await other.fill('#otp', '000000');
      await other.press('#otp', 'Enter');
      await other.waitForFunction(() =>
        document.querySelector('#auth-error')?.textContent?.includes('do not match'),
      );
      await expect(other.isVisible('#otp')).resolves.toBe(true);
      await other.fill('#otp', recovery[0]!);
      await other.press('#otp', 'Enter');
      await other.waitForSelector(signedInView);
      await expect(other.isVisible('#otp')).resolves.toBe(false);

      // Turn off, with another recovery code; the other device is signed out again.
      await tab.click('#btn-totp-off');
      await tab.fill('#totp-off-code', recovery[1]!);
      await tab.click('#totp-off-confirm');
      await tab.waitForSelector('#totp-status[data-totp="off"]');
      await other.waitForSelector(signedOutView, { timeout: 5_000 });
      await expect(statusOfMe(tab)).resolves.toBe(200);
      await submitCredentials(other, 'login', email);
      await expect(amrOf(other)).resolves.toEqual(['pwd']);
    },
    SLOW,
  );
});
