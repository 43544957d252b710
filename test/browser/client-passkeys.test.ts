/**
 * The client's passkey methods in real Chromium, called as an app calls them (the demo page's
 * `auth`, made with `createAuthClient({ webauthn })`), against `notbefore serve --public-url
 * http://localhost:PORT` with a CDP virtual authenticator (CTAP2, platform, resident keys,
 * user verification). The page's own buttons are test/browser/passkeys.test.ts; here, only how
 * the page reads addPasskey's refusals.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { AuthClient, AuthClientEvents } from '../../src/client/types.js';
import {
  addAuthenticator,
  amrOf,
  browserSuite,
  PASSWORD,
  signedInView,
  signedOutView,
  statusOfMe,
  uniqueEmail,
} from './harness.js';

const SLOW = 90_000;

const suite = browserSuite({ server: () => ({ publicUrl: true }), setupTimeout: SLOW });

type Outcome<T> = { ok: T } | { code: string; status: number };

/**
 * Runs `auth[method](...args)` on the demo page's client (an AbortSignal named `signal` is
 * added when `abortAfterMs` is given); resolves the result, or the error's code and status.
 */
function call<T>(
  page: Page,
  method: keyof AuthClient,
  args: unknown[] = [],
  abortAfterMs?: number,
): Promise<Outcome<T>> {
  return page.evaluate(
    async ([m, a, after]) => {
      const auth = (globalThis as unknown as { auth: Record<string, (...x: unknown[]) => unknown> })
        .auth;
      const input = [...a];
      if (after !== null) {
        const controller = new AbortController();
        if (after === 0) controller.abort();
        else setTimeout(() => controller.abort(), after);
        input[0] = { ...(input[0] as object), signal: controller.signal };
      }
      try {
        return { ok: (await auth[m as string]!(...input)) as T };
      } catch (error) {
        const e = error as { code: string; status: number };
        return { code: e.code, status: e.status };
      }
    },
    [method, args, abortAfterMs ?? null] as const,
  );
}

/** Records the client's `signedIn` events in the page (for another tab's point of view). */
async function recordSignIns(page: Page): Promise<() => Promise<AuthClientEvents['signedIn'][]>> {
  await page.evaluate(() => {
    const g = globalThis as unknown as { auth: AuthClient; signIns: unknown[] };
    g.signIns = [];
    g.auth.on('signedIn', (e) => g.signIns.push(e));
  });
  return () =>
    page.evaluate(
      () => (globalThis as unknown as { signIns: AuthClientEvents['signedIn'][] }).signIns,
    );
}

/** The paths of the POSTs the page sends under /auth/passkeys, in order. */
function posts(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (r.method() === 'POST' && path.startsWith('/auth/passkeys')) seen.push(path);
  });
  return seen;
}

describe('the client passkey methods in Chromium', () => {
  it(
    'addPasskey, logout, loginWithPasskey with no password (the other tab hears it), passkeys, removePasskey',
    async () => {
      const email = uniqueEmail('client-passkey');
      const context = await suite.device();
      const tab = await suite.open(context);
      const other = await suite.open(context);
      const { cdp, authenticatorId } = await addAuthenticator(tab);
      await tab.bringToFront(); // WebAuthn answers only the focused tab
      expect(await call(tab, 'signup', [{ email, password: PASSWORD }])).toMatchObject({
        ok: { email },
      });
      await other.waitForSelector(signedInView);

      const added = await call<string>(tab, 'addPasskey', [{ name: 'Laptop key' }]);
      if (!('ok' in added)) throw new Error(`addPasskey failed: ${added.code}`);
      // The id the client resolves is the authenticator's credential id, in base64url.
      const held = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      expect(held.credentials).toHaveLength(1);
      const heldId = Buffer.from(held.credentials[0]?.credentialId ?? '', 'base64');
      expect(added.ok).toBe(heldId.toString('base64url'));
      const listed = await call<{ id: string; name: string }[]>(tab, 'passkeys');
      expect(listed).toEqual({
        ok: [expect.objectContaining({ id: added.ok, name: 'Laptop key' })],
      });
      // Adding one re-issued this session's cookies; both tabs go on with them.
      await tab.waitForTimeout(500);
      for (const t of [tab, other]) {
        await expect(statusOfMe(t)).resolves.toBe(200);
        await expect(t.isVisible(signedInView)).resolves.toBe(true);
      }

      expect(await call(tab, 'logout')).toEqual({ ok: undefined });
      await other.waitForSelector(signedOutView);
      const signIns = await recordSignIns(other);
      const sent: string[] = [];
      tab.on('request', (r) => {
        if (new URL(r.url()).pathname === '/auth/passkeys/login') sent.push(r.postData() ?? '');
      });

      // Discoverable: no email, no password; the authenticator offers the passkey it holds.
      const user = await call<{ email: string }>(tab, 'loginWithPasskey');
      expect(user).toMatchObject({ ok: { email } });
      expect(sent).toHaveLength(1);
      expect(JSON.parse(sent[0] ?? '{}')).not.toHaveProperty('password');
      await expect(amrOf(tab)).resolves.toEqual(['hwk', 'user']);
      const state = await tab.evaluate(() => {
        const auth = (globalThis as unknown as { auth: AuthClient }).auth;
        return { signedIn: auth.signedIn, email: auth.user?.email, expiresAt: auth.expiresAt };
      });
      expect(state).toMatchObject({ signedIn: true, email });
      expect(state.expiresAt).toBeGreaterThan(Date.now());
      // The other tab heard it like a password sign-in: from another tab, with the user.
      await other.waitForSelector(signedInView);
      expect(await signIns()).toEqual([
        {
          user: expect.objectContaining({ email }),
          expiresAt: state.expiresAt,
          fromOtherTab: true,
        },
      ]);
      await expect(statusOfMe(other)).resolves.toBe(200);

      // With an email: that account's passkeys only.
      expect(await call(tab, 'logout')).toEqual({ ok: undefined });
      expect(await call(tab, 'loginWithPasskey', [{ email }])).toMatchObject({ ok: { email } });

      // Removal: the recent passkey sign-in is the step-up; the list empties.
      expect(await call(tab, 'removePasskey', [added.ok])).toEqual({ ok: undefined });
      expect(await call(tab, 'passkeys')).toEqual({ ok: [] });
      await expect(statusOfMe(tab)).resolves.toBe(200);
      // The authenticator still holds the key; the server no longer takes it.
      expect(await call(tab, 'logout')).toEqual({ ok: undefined });
      expect(await call(tab, 'loginWithPasskey')).toEqual({
        code: 'INVALID_CREDENTIALS',
        status: 401,
      });
      await expect(
        tab.evaluate(() => (globalThis as unknown as { auth: AuthClient }).auth.signedIn),
      ).resolves.toBe(false);
    },
    SLOW,
  );

  it(
    'addPasskey with a step-up password: a wrong one is refused before any prompt, the right one adds',
    async () => {
      const email = uniqueEmail('client-passkey-stepup');
      const tab = await suite.open();
      await addAuthenticator(tab);
      expect(await call(tab, 'signup', [{ email, password: PASSWORD }])).toMatchObject({
        ok: { email },
      });
      // A proof that is wrong is refused before any prompt.
      const seen = posts(tab);
      expect(await call(tab, 'addPasskey', [{ password: 'not the password' }])).toEqual({
        code: 'INVALID_CREDENTIALS',
        status: 401,
      });
      expect(seen).toEqual(['/auth/passkeys/register/options']);
      expect(await call(tab, 'addPasskey', [{ password: PASSWORD }])).toMatchObject({
        ok: expect.any(String),
      });
      expect(seen.slice(1)).toEqual(['/auth/passkeys/register/options', '/auth/passkeys/register']);
    },
    SLOW,
  );

  it(
    'the demo page: a wrong step-up password is said in the password dialog, a refused new passkey on the card',
    async () => {
      const tab = await suite.open();
      await addAuthenticator(tab);
      const email = uniqueEmail('client-passkey-rejected');
      expect(await call(tab, 'signup', [{ email, password: PASSWORD }])).toMatchObject({
        ok: { email },
      });
      // The sign-in is no longer recent (as after 10 minutes): the page asks for the password.
      await tab.route(
        (url) => url.pathname === '/auth/passkeys/register/options',
        (route) =>
          route.fulfill({
            status: 403,
            json: { error: { code: 'REAUTHENTICATION_REQUIRED', message: 'again' } },
          }),
        { times: 1 },
      );
      // The new passkey answers a challenge the server never gave (as one expired would be).
      await tab.route(
        (url) => url.pathname === '/auth/passkeys/register',
        (route) => {
          const body = JSON.parse(route.request().postData() ?? '{}');
          const inner = body.response.response;
          const data = JSON.parse(Buffer.from(inner.clientDataJSON, 'base64url').toString());
          data.challenge = Buffer.from('a challenge nobody gave').toString('base64url');
          inner.clientDataJSON = Buffer.from(JSON.stringify(data)).toString('base64url');
          return route.continue({ postData: JSON.stringify(body) });
        },
      );

      await tab.click('#btn-add-passkey');
      await tab.waitForSelector('#reauth-dialog[open]');
      await tab.fill('#reauth-password', 'not the password');
      await tab.press('#reauth-password', 'Enter');
      await tab.waitForSelector('#reauth-error:not([hidden])');
      await expect(tab.textContent('#reauth-error')).resolves.toBe('That password is not right.');

      // The right password passes the step-up; the server refuses the passkey after the prompt.
      await tab.fill('#reauth-password', PASSWORD);
      const refused = tab.waitForResponse(
        (r) => new URL(r.url()).pathname === '/auth/passkeys/register',
      );
      await tab.press('#reauth-password', 'Enter');
      expect((await refused).status()).toBe(401);
      // The dialog closes (the password was right) and the card says what went wrong.
      const shown = () =>
        tab.evaluate(() => ({
          dialogOpen: (document.getElementById('reauth-dialog') as HTMLDialogElement).open,
          card: document.querySelector('#passkeys-error:not([hidden])')?.textContent ?? null,
        }));
      await expect.poll(shown, { timeout: 5_000 }).toEqual({
        dialogOpen: false,
        card: expect.stringContaining('did not save the new passkey'),
      });
      expect(await call(tab, 'passkeys')).toEqual({ ok: [] });
      await expect(statusOfMe(tab)).resolves.toBe(200);
    },
    SLOW,
  );

  it(
    'the user cancels: PASSKEY_CANCELLED, nothing sent after the options, nobody signed in',
    async () => {
      const tab = await suite.open();
      // User verification fails, as when the user dismisses the prompt: NotAllowedError.
      await addAuthenticator(tab, { verified: false });
      const seen = posts(tab);
      expect(await call(tab, 'loginWithPasskey')).toEqual({ code: 'PASSKEY_CANCELLED', status: 0 });
      expect(seen).toEqual(['/auth/passkeys/login/options']);
      await expect(tab.isVisible(signedOutView)).resolves.toBe(true);

      // Registration, cancelled the same way: the session is untouched, no passkey stored.
      const email = uniqueEmail('client-passkey-cancel');
      expect(await call(tab, 'signup', [{ email, password: PASSWORD }])).toMatchObject({
        ok: { email },
      });
      seen.length = 0;
      expect(await call(tab, 'addPasskey')).toEqual({ code: 'PASSKEY_CANCELLED', status: 0 });
      expect(seen).toEqual(['/auth/passkeys/register/options']);
      expect(await call(tab, 'passkeys')).toEqual({ ok: [] });
      await expect(statusOfMe(tab)).resolves.toBe(200);
    },
    SLOW,
  );

  it(
    'an abort: PASSKEY_ABORTED, during the prompt or before the options request',
    async () => {
      const tab = await suite.open();
      // Nobody touches the authenticator: the prompt waits until the app aborts it.
      await addAuthenticator(tab, { present: false });
      const seen = posts(tab);
      const startedAt = Date.now();
      expect(await call(tab, 'loginWithPasskey', [{}], 300)).toEqual({
        code: 'PASSKEY_ABORTED',
        status: 0,
      });
      expect(Date.now() - startedAt).toBeLessThan(10_000);
      expect(seen).toEqual(['/auth/passkeys/login/options']);

      // Aborted already: not even the options request goes out (no challenge is spent).
      seen.length = 0;
      expect(await call(tab, 'loginWithPasskey', [{}], 0)).toEqual({
        code: 'PASSKEY_ABORTED',
        status: 0,
      });
      expect(seen).toEqual([]);
      await expect(tab.isVisible(signedOutView)).resolves.toBe(true);
    },
    SLOW,
  );

  it(
    'a browser without WebAuthn: PASSKEY_UNSUPPORTED before any request; the page disables its buttons',
    async () => {
      const context = await suite.device();
      await context.addInitScript(() => {
        // As in an insecure context or an old browser: no WebAuthn at all.
        delete (globalThis as { PublicKeyCredential?: unknown }).PublicKeyCredential;
      });
      const tab = await suite.open(context);
      await expect(tab.isDisabled('#passkey-login')).resolves.toBe(true);
      const seen = posts(tab);
      expect(await call(tab, 'loginWithPasskey')).toEqual({
        code: 'PASSKEY_UNSUPPORTED',
        status: 0,
      });
      const email = uniqueEmail('client-passkey-unsupported');
      expect(await call(tab, 'signup', [{ email, password: PASSWORD }])).toMatchObject({
        ok: { email },
      });
      expect(await call(tab, 'addPasskey')).toEqual({ code: 'PASSKEY_UNSUPPORTED', status: 0 });
      await expect(tab.isDisabled('#btn-add-passkey')).resolves.toBe(true);
      // Listing needs no WebAuthn.
      expect(await call(tab, 'passkeys')).toEqual({ ok: [] });
      expect(seen).toEqual([]);
    },
    SLOW,
  );
});
