/**
 * Passkeys end to end: the demo page in real Chromium, a CDP virtual authenticator (CTAP2,
 * platform, resident keys, user verification) standing in for Touch ID or Windows Hello,
 * against `notbefore serve --public-url http://localhost:PORT` (a domain: WebAuthn refuses an
 * IP address as relying-party id).
 */
import { writeFileSync } from 'node:fs';
import * as OTPAuth from 'otpauth';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addAuthenticator,
  amrOf,
  browserSuite,
  PASSWORD,
  resultPath,
  signedInView,
  signedOutView,
  statusOfMe,
  submitCredentials,
  uniqueEmail,
} from './harness.js';

const SLOW = 90_000;

const suite = browserSuite({ server: () => ({ publicUrl: true }) });
const timings: Record<string, number> = {};

afterAll(() => {
  writeFileSync(resultPath('timings-passkeys.json'), `${JSON.stringify(timings, null, 2)}\n`);
});

/** Opens the demo page on a new device with a platform authenticator, and signs up there. */
async function signUpWithAuthenticator(email: string) {
  const page = await suite.open();
  const authenticator = await addAuthenticator(page);
  await submitCredentials(page, 'signup', email);
  return { page, ...authenticator };
}

/** The JSON body of every POST to `path` the page sends, as sent. */
function capture(page: Page, path: string): string[] {
  const bodies: string[] = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === path)
      bodies.push(request.postData() ?? '');
  });
  return bodies;
}

/** A request from inside the page (its cookies, its origin): status and error code. */
function pagePost(page: Page, path: string, body: string) {
  return page.evaluate(
    async ([p, b]) => {
      const res = await fetch(p, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: b,
      });
      const json = await res.json().catch(() => ({}));
      return { status: res.status, code: json.error?.code as string | undefined };
    },
    [path, body] as const,
  );
}

async function addPasskey(page: Page): Promise<void> {
  const before = await page.locator('#passkeys-list li.passkey').count();
  await page.click('#btn-add-passkey');
  await page.locator('#passkeys-list li.passkey').nth(before).waitFor();
}

async function signInWithPasskey(page: Page): Promise<void> {
  await page.fill('#email', '');
  await page.fill('#password', '');
  await page.click('#passkey-login');
  await page.waitForSelector(signedInView);
}

describe('passkeys in Chromium', () => {
  it(
    'register, sign out, sign in with no password, a replayed assertion is refused, remove',
    async () => {
      const email = uniqueEmail('passkey');
      const { page, cdp, authenticatorId } = await signUpWithAuthenticator(email);

      await addPasskey(page);
      const held = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      expect(held.credentials).toHaveLength(1);
      expect(held.credentials[0]).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });
      const item = page.locator('#passkeys-list li.passkey');
      // CDP gives the id in standard base64; the server and the page speak base64url.
      const heldId = Buffer.from(held.credentials[0]?.credentialId ?? '', 'base64');
      await expect(item.getAttribute('data-id')).resolves.toBe(heldId.toString('base64url'));
      // Adding it re-issued this session's cookies: the page is still signed in, for real.
      await page.waitForTimeout(1_000);
      await expect(page.isVisible(signedInView)).resolves.toBe(true);
      await expect(statusOfMe(page)).resolves.toBe(200);

      await page.click('#btn-logout');
      await page.waitForSelector(signedOutView);
      const sent = capture(page, '/auth/passkeys/login');
      const startedAt = Date.now();
      await signInWithPasskey(page);
      timings.passkeySignInMs = Date.now() - startedAt;
      await expect(page.textContent('#user-email')).resolves.toBe(email);
      // The authenticator verified the user and its key never leaves it: hwk + user, no pwd.
      await expect(amrOf(page)).resolves.toEqual(['hwk', 'user']);
      expect(sent).toHaveLength(1);
      expect(JSON.parse(sent[0] ?? '{}')).not.toHaveProperty('password');
      const counted = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      expect(counted.credentials[0]?.signCount).toBeGreaterThan(0);

      // The captured assertion, sent again: its challenge is spent (and its counter is old).
      const replay = await pagePost(page, '/auth/passkeys/login', sent[0] ?? '');
      expect(replay).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
      await expect(statusOfMe(page)).resolves.toBe(200);

      // Removal: a recent (passkey) sign-in is the step-up; the list empties.
      await item.locator('button').click();
      await page.locator('#passkeys-list li.empty').waitFor();
      await expect(statusOfMe(page)).resolves.toBe(200);
      await page.click('#btn-logout');
      await page.waitForSelector(signedOutView);
      // The authenticator still holds the key, but the server no longer accepts it.
      await page.click('#passkey-login');
      await page.locator('#passkey-login-error:not([hidden])').waitFor();
      await expect(page.textContent('#passkey-login-error')).resolves.toMatch(/not accepted/);
      await expect(page.isVisible(signedOutView)).resolves.toBe(true);
    },
    SLOW,
  );

  it(
    'adding a passkey signs the other device out within 2 s; this one stays signed in',
    async () => {
      const email = uniqueEmail('passkey-devices');
      const { page: laptop } = await signUpWithAuthenticator(email);
      const phone = await suite.signedIn('login', email);

      const clickedAt = Date.now();
      await addPasskey(laptop);
      await phone.waitForSelector(signedOutView, { timeout: 5_000 });
      timings.otherDeviceSignedOutMs = Date.now() - clickedAt;
      expect(timings.otherDeviceSignedOutMs).toBeLessThan(2_000);
      await expect(statusOfMe(phone)).resolves.toBe(401);
      // The credential-change event reached this tab with the new cookies in place.
      await laptop.waitForTimeout(2_000);
      await expect(laptop.isVisible(signedInView)).resolves.toBe(true);
      await expect(statusOfMe(laptop)).resolves.toBe(200);
      await expect(laptop.locator('#log li[data-kind="signed-out"]').count()).resolves.toBe(0);
    },
    SLOW,
  );

  it(
    'a passkey is another way in, not a second factor: a password sign-in asks for a code only with TOTP',
    async () => {
      const email = uniqueEmail('passkey-totp');
      const { page } = await signUpWithAuthenticator(email);
      await addPasskey(page);
      const login = JSON.stringify({ email, password: PASSWORD });

      // With a passkey and no TOTP, the password alone signs in.
      await expect(pagePost(page, '/auth/login', login)).resolves.toMatchObject({ status: 200 });
      await expect(amrOf(page)).resolves.toEqual(['pwd']);

      // TOTP on (through the routes, as the page's TOTP card does).
      const csrf = async () =>
        (await page.context().cookies()).find((c) => c.name === '__Host-nb_csrf')?.value ?? '';
      const enrol = await page.evaluate(
        async (token) => {
          const res = await fetch('/auth/mfa/totp', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-csrf-token': token },
            body: '{}',
          });
          return (await res.json()) as { secret: string };
        },
        await csrf(),
      );
      const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(enrol.secret) });
      const confirmed = await page.evaluate(
        async ([token, code]) =>
          (
            await fetch('/auth/mfa/totp/confirm', {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-csrf-token': token },
              body: JSON.stringify({ code }),
            })
          ).status,
        [await csrf(), totp.generate()] as const,
      );
      expect(confirmed).toBe(200);

      // Now the password alone is not enough…
      await expect(pagePost(page, '/auth/login', login)).resolves.toEqual({
        status: 401,
        code: 'MFA_REQUIRED',
      });
      // …but the passkey still is: no code asked.
      await page.context().clearCookies();
      await page.reload();
      await page.waitForSelector(signedOutView);
      await signInWithPasskey(page);
      await expect(amrOf(page)).resolves.toEqual(['hwk', 'user']);
    },
    SLOW,
  );
});
