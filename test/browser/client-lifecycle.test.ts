/**
 * The client's account-lifecycle answers. `auth.signup()` on a server that requires a
 * verified email: the server answers 202 with no body for a new and a taken address alike,
 * and the client resolves "check your mail" (`checkEmail: true`) with nobody signed in,
 * instead of failing on the missing user; a 201 still signs in, as before.
 * `auth.acceptInvitation()` signs in like signup, so every tab of the browser hears it.
 * First in Node with the page's globals faked, then in real Chromium (the bundle the demo
 * page loads) against `notbefore serve --require-verified-email` and a real SMTP server.
 */
import type { Page } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAuthClient } from '../../src/client/client.js';
import type { AuthClient, AuthClientEvents, ClientUser } from '../../src/client/types.js';
import {
  ADMIN_EMAIL,
  browserSuite,
  PASSWORD,
  signedInView,
  statusOfMe,
  uniqueEmail,
} from './harness.js';

const USER: ClientUser = { id: 'u1', email: 'ann@example.com', roles: [] };

describe('signup answers in the client (Node, faked page)', () => {
  let answer: () => Response;
  let clients: AuthClient[];
  let sent: { url: string; body: unknown }[];

  beforeEach(() => {
    clients = [];
    sent = [];
    vi.stubGlobal('document', { cookie: '' });
    vi.stubGlobal('location', new URL('https://app.example/'));
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      sent.push({ url, body: JSON.parse(String(init.body)) });
      return answer();
    });
  });
  afterEach(() => {
    for (const c of clients) c.close();
    vi.unstubAllGlobals();
  });

  const client = () => {
    const c = createAuthClient({ events: false, channel: `t${Math.random()}` });
    clients.push(c);
    const signedIn: AuthClientEvents['signedIn'][] = [];
    c.on('signedIn', (e) => signedIn.push(e));
    return { c, signedIn };
  };

  it('202 with an empty body: resolves checkEmail, signs nobody in', async () => {
    const { c, signedIn } = client();
    answer = () => new Response(null, { status: 202 });
    const result = await c.signup({ email: USER.email, password: PASSWORD });
    expect(result).toEqual({ checkEmail: true, email: USER.email });
    expect(c.signedIn).toBe(false);
    expect(c.user).toBeNull();
    expect(signedIn).toEqual([]);
  });

  it('201 with the user: signs in and resolves the user, as before', async () => {
    const { c, signedIn } = client();
    const expiresAt = Date.now() + 900_000;
    answer = () =>
      Response.json({ user: USER, expiresAt, session: { sid: 's1' } }, { status: 201 });
    const result = await c.signup({ email: USER.email, password: PASSWORD });
    expect(result).toEqual(USER);
    expect('checkEmail' in result).toBe(false);
    expect(c.user).toEqual(USER);
    expect(signedIn).toEqual([{ user: USER, expiresAt, fromOtherTab: false }]);
  });

  it('acceptInvitation posts the token and signs in', async () => {
    const { c, signedIn } = client();
    const expiresAt = Date.now() + 900_000;
    answer = () =>
      Response.json({ user: USER, expiresAt, session: { sid: 's1' } }, { status: 201 });
    const token = 'A'.repeat(43);
    expect(await c.acceptInvitation({ token, password: PASSWORD, device: 'Test' })).toEqual(USER);
    expect(sent).toEqual([
      { url: '/auth/invitations/accept', body: { device: 'Test', token, password: PASSWORD } },
    ]);
    expect(c.user).toEqual(USER);
    expect(signedIn).toEqual([{ user: USER, expiresAt, fromOtherTab: false }]);

    answer = () =>
      Response.json({ error: { code: 'LINK_INVALID', message: 'no such link' } }, { status: 400 });
    await expect(c.acceptInvitation({ token, password: PASSWORD })).rejects.toMatchObject({
      code: 'LINK_INVALID',
    });
  });

  it('a refusal still rejects with the server code', async () => {
    const { c } = client();
    answer = () =>
      Response.json({ error: { code: 'WEAK_PASSWORD', message: 'too short' } }, { status: 400 });
    await expect(c.signup({ email: USER.email, password: 'x' })).rejects.toMatchObject({
      name: 'AuthClientError',
      code: 'WEAK_PASSWORD',
      status: 400,
    });
    expect(c.signedIn).toBe(false);
  });
});

describe('signup in Chromium against serve --require-verified-email', () => {
  const SLOW = 90_000;
  const suite = browserSuite({
    server: () => ({ flags: ['--require-verified-email'] }),
    mail: true,
    viewport: { width: 1280, height: 720 },
    setupTimeout: SLOW,
  });

  it(
    "acceptInvitation signs in every tab of the browser, with the invitation's roles",
    async () => {
      const mail = await suite.mail.next((m) => m.to === ADMIN_EMAIL);
      const token = suite.mail.linkIn(mail, 'invitation');
      const context = await suite.device();
      const [tab1, tab2] = [await suite.open(context), await suite.open(context)];
      const user = await tab1.evaluate(
        ([t, p]) =>
          (globalThis as unknown as { auth: AuthClient }).auth.acceptInvitation({
            token: t as string,
            password: p as string,
          }),
        [token, PASSWORD],
      );
      expect(user).toMatchObject({ email: ADMIN_EMAIL, roles: ['admin'] });
      for (const tab of [tab1, tab2]) {
        await tab.waitForSelector(signedInView);
        await tab.waitForSelector('#admin:not([hidden])');
        expect(await statusOfMe(tab)).toBe(200);
      }
    },
    SLOW,
  );

  /** Runs `auth.<call>` of the demo page's client; resolves its result or the error's code. */
  const call = (page: Page, method: 'signup' | 'login', email: string) =>
    page.evaluate(
      async ([m, e, p]) => {
        const auth = (globalThis as unknown as { auth: AuthClient }).auth;
        try {
          return { ok: await auth[m as 'signup']({ email: e as string, password: p as string }) };
        } catch (error) {
          return { code: (error as { code?: string }).code, name: (error as Error).name };
        }
      },
      [method, email, PASSWORD],
    );
  const signedIn = (page: Page) =>
    page.evaluate(() => (globalThis as unknown as { auth: AuthClient }).auth.signedIn);

  it(
    'new and taken addresses both resolve checkEmail; the link verifies, then login signs in',
    async () => {
      const page = await suite.open();
      const email = uniqueEmail('verify-first');

      expect(await call(page, 'signup', email)).toEqual({ ok: { checkEmail: true, email } });
      expect(await signedIn(page)).toBe(false);
      expect(await statusOfMe(page)).toBe(401);
      const hasLink = (m: { to: string; text: string }) =>
        m.to === email && m.text.includes('#verify-email=');
      await suite.mail.next(hasLink);

      // The address is taken now: the same answer, and its owner hears of the attempt.
      expect(await call(page, 'signup', email)).toEqual({ ok: { checkEmail: true, email } });
      expect(await signedIn(page)).toBe(false);
      const attempt = await suite.mail.next((m) => m.to === email);
      expect(() => suite.mail.linkIn(attempt, 'verify-email')).toThrow();

      expect(await call(page, 'login', email)).toEqual({
        code: 'EMAIL_NOT_VERIFIED',
        name: 'AuthClientError',
      });
      expect(await signedIn(page)).toBe(false);
      // The refused sign-in mailed a fresh link, which superseded the first.
      const token = suite.mail.linkIn(await suite.mail.next(hasLink), 'verify-email');

      const verified = await page.evaluate(async (t) => {
        const auth = (globalThis as unknown as { auth: AuthClient }).auth;
        const res = await auth.fetch('/auth/email/verify', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: t }),
        });
        return res.status;
      }, token);
      expect(verified).toBe(204);
      const login = await call(page, 'login', email);
      expect(login).toMatchObject({ ok: { email } });
      expect(await signedIn(page)).toBe(true);
      expect(await statusOfMe(page)).toBe(200);
    },
    SLOW,
  );
});
