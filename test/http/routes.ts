import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/clock.js';
import { UndeclaredErrorCode } from '../../src/http/routes/index.js';
import { smtpMailer } from '../../src/mail/index.js';
import type { Mail } from '../../src/mail/types.js';
import { createMetrics } from '../../src/metrics.js';
import { LINK_THROTTLE } from '../../src/sessions/links.js';
import type { Auth } from '../../src/sessions/types.js';
import { type SmtpSink, startSmtpSink } from '../mail/smtp-sink.js';
import {
  eventually,
  expectTimingAlike,
  interleavedMedians,
  PUBLIC_URL,
  settled,
  tapped,
} from '../sessions/lifecycle.js';
import { describeFactorRoutes } from './factor-routes.js';
import {
  ADMIN,
  api,
  browser,
  Jar,
  type MakeServer,
  type MakeStore,
  makeAuth,
  PASSWORD,
  readStream,
  type ServerOptions,
  type TestResponse,
  type TestServer,
} from './harness.js';
import { describePasskeyRoutes } from './passkey-routes.js';

const COOKIE_FLAGS: Record<string, RegExp[]> = {
  '__Host-nb_access': [/; HttpOnly/i, /; Secure/i, /; SameSite=Lax/i, /; Path=\/(;|$)/i],
  '__Secure-nb_refresh': [/; HttpOnly/i, /; Secure/i, /; SameSite=Strict/i, /; Path=\/auth(;|$)/i],
  '__Host-nb_csrf': [/; Secure/i, /; SameSite=Lax/i, /; Path=\/(;|$)/i],
};

const cookieNamed = (cookies: string[], name: string): string | undefined =>
  cookies.find((c) => c.startsWith(`${name}=`));

/** A Set-Cookie's Max-Age in seconds (NaN when absent). */
const maxAgeOf = (cookies: string[], name: string): number =>
  Number(/;\s*Max-Age=(\d+)/i.exec(cookieNamed(cookies, name) ?? '')?.[1]);

/** Polls `check` until it holds (each adapter notices a closed socket in its own time). */
async function until(check: () => Promise<boolean> | boolean, what: string, ms = 3000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An event stream read in the background: its text so far, and whether the server ended it. */
function watchStream(res: Response) {
  const reader = res.body?.getReader();
  if (reader === undefined) throw new Error('no body');
  const decoder = new TextDecoder();
  const state = { text: '', ended: false };
  const done = (async () => {
    try {
      for (;;) {
        const { done: last, value } = await reader.read();
        if (last) break;
        state.text += decoder.decode(value, { stream: true });
      }
    } catch {
      // cancelled below
    }
    state.ended = true;
  })();
  return {
    state,
    /** True once the server has ended the stream (false after `ms` without an end). */
    endsWithin: (ms: number) =>
      Promise.race([
        done.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), ms)),
      ]),
    cancel: () => reader.cancel().catch(() => {}),
  };
}

/**
 * The route suite, written once and run against every adapter. `make` builds the adapter
 * under test around a real createAuth on in-memory SQLite.
 */
export function describeRoutes(name: string, make: MakeServer, makeStore?: MakeStore): void {
  describe(`routes: ${name}`, () => {
    let auth: Auth;
    let clock: ManualClock;
    let closeAuth: () => Promise<void>;
    let server: TestServer;
    const extra: TestServer[] = [];

    /** Answers whose code their route does not declare (the OpenAPI document lacks it). */
    const undeclared: string[] = [];

    const start = async (options: ServerOptions = {}, on: Auth = auth): Promise<TestServer> => {
      const s = await make(on, {
        rateLimit: 0,
        clock,
        heartbeatMs: 60_000,
        ...options,
        onError: (error) => {
          if (error instanceof UndeclaredErrorCode) undeclared.push(error.message);
          options.onError?.(error);
        },
      });
      extra.push(s);
      return s;
    };

    beforeEach(async () => {
      undeclared.length = 0;
      ({ auth, clock, close: closeAuth } = await makeAuth({}, makeStore));
      server = await start();
    });

    afterEach(async () => {
      for (const s of extra.splice(0)) await s.close();
      await closeAuth();
      // Every error any test provoked must be one its route declares.
      expect(undeclared).toEqual([]);
    });

    const signupApi = async (email = 'ann@example.com') => {
      const client = api(server);
      const res = await client.call('POST', '/auth/signup', { email, password: PASSWORD });
      expect(res.status).toBe(201);
      return client;
    };
    const loginApi = async (email = 'ann@example.com') => {
      const client = api(server);
      const res = await client.call('POST', '/auth/login', { email, password: PASSWORD });
      expect(res.status).toBe(200);
      return client;
    };
    /** An administrator: made in the library (roles are granted, never taken at signup). */
    const adminApi = async () => {
      await auth.signup({ email: ADMIN, password: PASSWORD, roles: ['admin'] });
      return loginApi(ADMIN);
    };
    const signupBrowser = async (email = 'bea@example.com') => {
      const b = browser(server);
      const res = await b.call('POST', '/auth/signup', { email, password: PASSWORD });
      expect(res.status).toBe(201);
      return b;
    };

    describePasskeyRoutes((a) => start({}, a), makeStore);
    describeFactorRoutes((a) => start({}, a), makeStore);

    describe('sign-in answers and cookies', () => {
      it('3.3.1 3.3.2 3.3.3: browser sign-up sets the three contract cookies with their flags', async () => {
        const res = await browser(server).call('POST', '/auth/signup', {
          email: 'bea@example.com',
          password: PASSWORD,
        });
        expect(res.status).toBe(201);
        for (const [cookie, flags] of Object.entries(COOKIE_FLAGS)) {
          const line = cookieNamed(res.cookies, cookie);
          expect(line, cookie).toBeDefined();
          for (const flag of flags) expect(line).toMatch(flag);
          expect(line).not.toMatch(/domain=/i);
          expect(line).toMatch(/Max-Age=\d+/);
        }
        expect(cookieNamed(res.cookies, '__Host-nb_csrf')).not.toMatch(/HttpOnly/i);
        expect(res.cookies).toHaveLength(3);
      });

      it('3.3.4: browser answers never carry a token in the body', async () => {
        const b = await signupBrowser();
        for (const res of [
          await b.call('POST', '/auth/login', { email: 'bea@example.com', password: PASSWORD }),
          await b.call('POST', '/auth/refresh'),
        ]) {
          expect(res.status).toBe(200);
          const body = res.json();
          expect(body.accessToken).toBeUndefined();
          expect(body.refreshToken).toBeUndefined();
          expect(body.session.sid).toEqual(expect.any(String));
          expect(body.user.email).toBe('bea@example.com');
          expect(body.expiresAt).toEqual(expect.any(Number));
          expect(
            res.cookies
              .filter((c) => /nb_(access|refresh)=/.test(c))
              .every((c) => /HttpOnly/.test(c)),
          ).toBe(true);
        }
      });

      it('3.3.4: a cookie refresh is answered in cookies whatever X-Auth-Transport says', async () => {
        const b = await signupBrowser();
        const res = await b.call('POST', '/auth/refresh', undefined, {
          'x-auth-transport': 'bearer',
        });
        expect(res.status).toBe(200);
        const body = res.json();
        expect(body.accessToken).toBeUndefined();
        expect(body.refreshToken).toBeUndefined();
        expect(body.session.sid).toEqual(expect.any(String));
        for (const name of Object.keys(COOKIE_FLAGS))
          expect(cookieNamed(res.cookies, name)).toBeDefined();
        const refresh = b.jar.get('__Secure-nb_refresh') as string;
        expect(res.body).not.toContain(refresh);
        expect(res.body).not.toContain(b.jar.get('__Host-nb_access') as string);
        expect((await b.call('GET', '/auth/me')).status).toBe(200);
        // And the same refresh token in the body (an API client) still gets the body answer.
        const viaBody = await api(server).call('POST', '/auth/refresh', { refreshToken: refresh });
        expect(viaBody.status).toBe(200);
        expect(viaBody.json().refreshToken).toEqual(expect.any(String));
      });

      it('3.3.4: a cookie-authenticated password change is answered in cookies whatever X-Auth-Transport says', async () => {
        const b = await signupBrowser();
        const res = await b.call(
          'POST',
          '/auth/password',
          { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
          { 'x-auth-transport': 'bearer' },
        );
        expect(res.status).toBe(200);
        expect(res.json().accessToken).toBeUndefined();
        expect(res.json().refreshToken).toBeUndefined();
        expect(cookieNamed(res.cookies, '__Secure-nb_refresh')).toBeDefined();
        expect(res.body).not.toContain(b.jar.get('__Secure-nb_refresh') as string);
        expect((await b.call('GET', '/auth/me')).status).toBe(200);
        expect((await b.call('POST', '/auth/refresh')).status).toBe(200);
      });

      it('3.3.1: no cookie outlives what it holds: the session end (idle or absolute) and the access token', async () => {
        const short = await makeAuth(
          { accessTokenTtl: 300, refreshIdleTtl: 600, refreshAbsoluteTtl: 1000 },
          makeStore,
        );
        try {
          const s = await make(short.auth, {
            rateLimit: 0,
            clock: short.clock,
            heartbeatMs: 60_000,
          });
          extra.push(s);
          const b = browser(s);
          const signup = await b.call('POST', '/auth/signup', {
            email: 'bea@example.com',
            password: PASSWORD,
          });
          expect(signup.status).toBe(201);
          const within = (value: number, max: number) => {
            expect(value).toBeLessThanOrEqual(max);
            expect(value).toBeGreaterThanOrEqual(max - 1);
          };
          // Idle end first: 600 s, not the 1000 s absolute lifetime.
          within(maxAgeOf(signup.cookies, '__Secure-nb_refresh'), 600);
          within(maxAgeOf(signup.cookies, '__Host-nb_csrf'), 600);
          within(maxAgeOf(signup.cookies, '__Host-nb_access'), 300);
          short.clock.advance(550_000);
          const late = await b.call('POST', '/auth/refresh');
          expect(late.status).toBe(200);
          // Idle end now 600 s away, the absolute end only 450 s.
          within(maxAgeOf(late.cookies, '__Secure-nb_refresh'), 450);
          within(maxAgeOf(late.cookies, '__Host-nb_csrf'), 450);
          within(maxAgeOf(late.cookies, '__Host-nb_access'), 300);
          short.clock.advance(250_000);
          const last = await b.call('POST', '/auth/refresh');
          expect(last.status).toBe(200);
          within(maxAgeOf(last.cookies, '__Secure-nb_refresh'), 200);
          within(maxAgeOf(last.cookies, '__Host-nb_access'), 200);
        } finally {
          await short.close();
        }
      });

      it('X-Auth-Transport: bearer gets tokens in the body and no cookies', async () => {
        const res = await api(server).call('POST', '/auth/signup', {
          email: 'ann@example.com',
          password: PASSWORD,
        });
        expect(res.status).toBe(201);
        expect(res.cookies).toEqual([]);
        const body = res.json();
        expect(body).toMatchObject({
          accessToken: expect.any(String),
          refreshToken: expect.any(String),
          expiresAt: expect.any(Number),
          session: { sid: expect.any(String) },
        });
        expect(res.headers.get('cache-control')).toBe('no-store');
      });

      it('answers errors as { error: { code, message } } from the shared table', async () => {
        await signupApi();
        const taken = await api(server).call('POST', '/auth/signup', {
          email: 'ann@example.com',
          password: PASSWORD,
        });
        expect(taken.status).toBe(409);
        expect(taken.json()).toEqual({
          error: { code: 'EMAIL_TAKEN', message: expect.any(String) },
        });
        const wrong = await api(server).call('POST', '/auth/login', {
          email: 'ann@example.com',
          password: 'not the password at all',
        });
        expect(wrong.status).toBe(401);
        expect(wrong.json().error.code).toBe('INVALID_CREDENTIALS');
        expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer /);
        const weak = await api(server).call('POST', '/auth/signup', {
          email: 'x@example.com',
          password: 'short',
        });
        expect(weak.status).toBe(400);
        expect(weak.json().error.code).toBe('WEAK_PASSWORD');
      });
    });

    describe('authentication', () => {
      it('GET /auth/me answers { user, claims } by bearer and by cookie', async () => {
        const client = await signupApi();
        const me = await client.call('GET', '/auth/me');
        expect(me.status).toBe(200);
        expect(me.json().user.email).toBe('ann@example.com');
        expect(me.json().claims.sub).toBe(me.json().user.id);
        const b = await signupBrowser();
        const viaCookie = await b.call('GET', '/auth/me');
        expect(viaCookie.status).toBe(200);
        expect(viaCookie.json().user.email).toBe('bea@example.com');
      });

      it('401 carries WWW-Authenticate per RFC 6750', async () => {
        const none = await server.request('GET', '/auth/me');
        expect(none.status).toBe(401);
        expect(none.json().error.code).toBe('TOKEN_MISSING');
        expect(none.headers.get('www-authenticate')).toBe('Bearer realm="notbefore"');
        const bad = await server.request('GET', '/auth/me', {
          headers: { authorization: 'Bearer abc.def.ghi' },
        });
        expect(bad.status).toBe(401);
        expect(bad.headers.get('www-authenticate')).toBe(
          'Bearer realm="notbefore", error="invalid_token"',
        );
        const scheme = await server.request('GET', '/auth/me', {
          headers: { authorization: 'Basic Zm9vOmJhcg==' },
        });
        expect(scheme.status).toBe(401);
        expect(scheme.json().error.code).toBe('TOKEN_MALFORMED');
      });

      it('7.2.1: a tampered access cookie is refused by the server', async () => {
        const b = await signupBrowser();
        const token = b.jar.get('__Host-nb_access') as string;
        const last = token.at(-2) === 'A' ? 'B' : 'A';
        b.jar.values.set('__Host-nb_access', `${token.slice(0, -2)}${last}${token.at(-1)}`);
        const res = await b.call('GET', '/auth/me');
        expect(res.status).toBe(401);
      });

      it('14.2.1: a token in the URL is never read', async () => {
        const client = await signupApi();
        const res = await server.request('GET', `/auth/me?access_token=${client.access}`);
        expect(res.status).toBe(401);
        expect(res.json().error.code).toBe('TOKEN_MISSING');
      });

      it("guards the app's own routes (authenticate hook/middleware)", async () => {
        const client = await signupApi();
        const ok = await client.call('GET', '/app/private');
        expect(ok.status).toBe(200);
        expect(ok.json().sub).toEqual(expect.any(String));
        expect((await server.request('GET', '/app/private')).status).toBe(401);
        const b = await signupBrowser();
        expect((await b.call('POST', '/app/private', {}, { 'x-csrf-token': 'nope' })).status).toBe(
          403,
        );
        expect((await b.call('POST', '/app/private', {})).status).toBe(200);
      });
    });

    describe('CSRF', () => {
      it('3.5.1: cookie-authenticated unsafe requests need the session-bound X-CSRF-Token', async () => {
        const b = await signupBrowser();
        const other = await signupBrowser('cat@example.com');
        const missing = await b.call('POST', '/auth/logout', undefined, { 'x-csrf-token': '' });
        expect(missing.status).toBe(403);
        expect(missing.json().error.code).toBe('CSRF_FAILED');
        const wrong = await b.call('POST', '/auth/logout', undefined, {
          'x-csrf-token': 'AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        });
        expect(wrong.status).toBe(403);
        // Another session's valid CSRF pair (cookie and header planted together).
        const foreign = other.jar.get('__Host-nb_csrf') as string;
        const planted = await server.request('POST', '/auth/logout', {
          headers: {
            cookie: `__Host-nb_access=${b.jar.get('__Host-nb_access')}; __Host-nb_csrf=${foreign}`,
            'x-csrf-token': foreign,
          },
        });
        expect(planted.status).toBe(403);
        expect(planted.json().error.code).toBe('CSRF_FAILED');
        expect((await b.call('GET', '/auth/me')).status).toBe(200);
        expect((await b.call('POST', '/auth/logout')).status).toBe(204);
      });

      it('3.3.2: a cross-site request is refused even with the right token', async () => {
        const b = await signupBrowser();
        const evil = await b.call('POST', '/auth/logout', undefined, {
          origin: 'https://evil.example',
        });
        expect(evil.status).toBe(403);
        expect(evil.json().error.code).toBe('CSRF_FAILED');
        const site = await b.call('POST', '/auth/logout', undefined, {
          'sec-fetch-site': 'cross-site',
        });
        expect(site.status).toBe(403);
        const same = await b.call('POST', '/auth/logout', undefined, {
          origin: server.origin,
          'sec-fetch-site': 'same-origin',
        });
        expect(same.status).toBe(204);
      });

      it('3.5.1: bearer requests need no CSRF token', async () => {
        const client = await signupApi();
        const res = await client.call('POST', '/auth/logout', undefined, {
          origin: 'https://evil.example',
        });
        expect(res.status).toBe(204);
      });

      it('3.5.2: sign-in refuses form and text bodies and cross-site origins', async () => {
        await signupApi();
        const body = `email=ann%40example.com&password=${encodeURIComponent(PASSWORD)}`;
        for (const type of [
          'application/x-www-form-urlencoded',
          'text/plain',
          'multipart/form-data; boundary=x',
        ]) {
          const res = await server.request('POST', '/auth/login', {
            headers: { 'content-type': type },
            body,
          });
          expect(res.status, type).toBe(400);
          expect(res.json().error.code).toBe('VALIDATION_FAILED');
          expect(res.cookies).toEqual([]);
        }
        const cross = await browser(server).call(
          'POST',
          '/auth/login',
          { email: 'ann@example.com', password: PASSWORD },
          { origin: 'https://evil.example' },
        );
        expect(cross.status).toBe(403);
        expect(cross.json().error.code).toBe('CSRF_FAILED');
        expect(cross.cookies).toEqual([]);
      });

      it('refresh by cookie is CSRF-checked too', async () => {
        const b = await signupBrowser();
        const res = await b.call('POST', '/auth/refresh', undefined, { 'x-csrf-token': '' });
        expect(res.status).toBe(403);
        expect(res.json().error.code).toBe('CSRF_FAILED');
        expect((await b.call('POST', '/auth/refresh')).status).toBe(200);
      });
    });

    describe('sessions', () => {
      it('7.4.1: logout kills the access token on the next request', async () => {
        const client = await signupApi();
        const token = client.access;
        expect((await client.call('POST', '/auth/logout')).status).toBe(204);
        const after = await server.request('GET', '/auth/me', {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(after.status).toBe(401);
        expect(after.json().error).toMatchObject({ code: 'TOKEN_REVOKED', reason: 'session' });
      });

      it('14.3.1: browser logout expires all three cookies', async () => {
        const b = await signupBrowser();
        const res = await b.call('POST', '/auth/logout');
        expect(res.status).toBe(204);
        for (const name of Object.keys(COOKIE_FLAGS)) {
          expect(cookieNamed(res.cookies, name)).toMatch(/Max-Age=0/);
        }
        expect(b.jar.values.size).toBe(0);
        expect((await b.call('GET', '/auth/me')).status).toBe(401);
      });

      it('10.4.5: refresh rotates both tokens; replaying the old one revokes the session', async () => {
        const client = await signupApi();
        const first = { access: client.access, refresh: client.refresh };
        const rotated = await client.call('POST', '/auth/refresh', { refreshToken: first.refresh });
        expect(rotated.status).toBe(200);
        expect(client.refresh).not.toBe(first.refresh);
        expect(client.access).not.toBe(first.access);
        expect(rotated.json().session.sid).toBe(
          (await client.call('GET', '/auth/me')).json().claims.sid,
        );
        clock.advance(10_000);
        const replay = await api(server).call('POST', '/auth/refresh', {
          refreshToken: first.refresh,
        });
        expect(replay.status).toBe(401);
        expect(replay.json().error.code).toBe('REFRESH_TOKEN_REUSED');
        const me = await client.call('GET', '/auth/me');
        expect(me.status).toBe(401);
        expect(me.json().error.code).toBe('TOKEN_REVOKED');
      });

      it('7.2.4: a browser sign-in with live cookies ends the old session', async () => {
        const b = await signupBrowser();
        const oldAccess = b.jar.get('__Host-nb_access') as string;
        const oldRefresh = b.jar.get('__Secure-nb_refresh') as string;
        const again = await b.call('POST', '/auth/login', {
          email: 'bea@example.com',
          password: PASSWORD,
        });
        expect(again.status).toBe(200);
        const me = await server.request('GET', '/auth/me', {
          headers: { authorization: `Bearer ${oldAccess}` },
        });
        expect(me.status).toBe(401);
        expect(me.json().error).toMatchObject({ code: 'TOKEN_REVOKED', reason: 'session' });
        const refresh = await api(server).call('POST', '/auth/refresh', {
          refreshToken: oldRefresh,
        });
        expect(refresh.status).toBe(401);
        expect((await b.call('GET', '/auth/me')).status).toBe(200);
        const list = await b.call('GET', '/auth/sessions');
        expect(list.json().sessions).toHaveLength(1);
      });

      it('7.2.4: a failed browser sign-in leaves the live cookie session alone', async () => {
        const b = await signupBrowser();
        const before = new Map(b.jar.values);
        const failures = [
          await b.call('POST', '/auth/login', {
            email: 'bea@example.com',
            password: 'not the password at all',
          }),
          await b.call('POST', '/auth/login', { email: 'nobody@example.com', password: PASSWORD }),
          await b.call('POST', '/auth/signup', { email: 'bea@example.com', password: PASSWORD }),
          await b.call('POST', '/auth/signup', { email: 'cat@example.com', password: 'short' }),
        ];
        expect(failures.map((r) => r.status)).toEqual([401, 401, 409, 400]);
        for (const res of failures) expect(res.cookies).toEqual([]);
        expect(b.jar.values).toEqual(before);
        expect((await b.call('GET', '/auth/me')).status).toBe(200);
        expect((await b.call('POST', '/auth/refresh')).status).toBe(200);
        expect((await b.call('GET', '/auth/sessions')).json().sessions).toHaveLength(1);
      });

      it('7.2.4: a failed sign-in with only the refresh cookie left keeps that session too', async () => {
        const b = await signupBrowser();
        b.jar.values.delete('__Host-nb_access');
        const wrong = await b.call('POST', '/auth/login', {
          email: 'bea@example.com',
          password: 'not the password at all',
        });
        expect(wrong.status).toBe(401);
        expect(wrong.cookies).toEqual([]);
        clock.advance(10_000); // past the reuse grace: a rotated-away token would now be refused
        const refreshed = await b.call('POST', '/auth/refresh');
        expect(refreshed.status).toBe(200);
        expect((await b.call('GET', '/auth/me')).status).toBe(200);
      });

      it('7.2.4: the old session ends even when only its refresh cookie is left', async () => {
        const b = await signupBrowser();
        const oldRefresh = b.jar.get('__Secure-nb_refresh') as string;
        b.jar.values.delete('__Host-nb_access');
        expect(
          (await b.call('POST', '/auth/login', { email: 'bea@example.com', password: PASSWORD }))
            .status,
        ).toBe(200);
        clock.advance(10_000);
        const refresh = await api(server).call('POST', '/auth/refresh', {
          refreshToken: oldRefresh,
        });
        expect(refresh.status).toBe(401);
        expect((await b.call('GET', '/auth/sessions')).json().sessions).toHaveLength(1);
      });

      it('GET /auth/sessions lists the sessions, the current one marked', async () => {
        const a = await signupApi();
        await loginApi();
        const res = await a.call('GET', '/auth/sessions');
        expect(res.status).toBe(200);
        const sessions = res.json().sessions as { sid: string; current?: boolean }[];
        expect(sessions).toHaveLength(2);
        const mine = (await a.call('GET', '/auth/me')).json().claims.sid;
        expect(sessions.filter((s) => s.current === true).map((s) => s.sid)).toEqual([mine]);
      });

      it('7.5.2: ending another session needs a recent sign-in or the password', async () => {
        const a = await signupApi();
        const b = await loginApi();
        const bSid = (await b.call('GET', '/auth/me')).json().claims.sid;
        clock.advance(700_000);
        const refused = await a.call('DELETE', `/auth/sessions/${bSid}`);
        expect(refused.status).toBe(403);
        expect(refused.json().error.code).toBe('REAUTHENTICATION_REQUIRED');
        const wrong = await a.call('DELETE', `/auth/sessions/${bSid}`, {
          password: 'wrong wrong wrong',
        });
        expect(wrong.status).toBe(401);
        const ok = await a.call('DELETE', `/auth/sessions/${bSid}`, { password: PASSWORD });
        expect(ok.status).toBe(204);
        expect((await b.call('GET', '/auth/me')).json().error.code).toBe('TOKEN_REVOKED');
        const aSid = (await a.call('GET', '/auth/me')).json().claims.sid;
        expect((await a.call('DELETE', `/auth/sessions/${aSid}`)).status).toBe(204);
      });

      it("DELETE /auth/sessions/:sid ends only the caller's own sessions", async () => {
        const ann = await signupApi();
        const bob = await signupApi('bob@example.com');
        const bobSid = (await bob.call('GET', '/auth/me')).json().claims.sid;
        const res = await ann.call('DELETE', `/auth/sessions/${bobSid}`, { password: PASSWORD });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect((await bob.call('GET', '/auth/me')).status).toBe(200);
      });

      it('7.5.2: logout-all needs step-up, then ends every session', async () => {
        const a = await signupApi();
        const b = await loginApi();
        clock.advance(700_000);
        expect((await a.call('POST', '/auth/logout-all')).json().error.code).toBe(
          'REAUTHENTICATION_REQUIRED',
        );
        expect((await a.call('POST', '/auth/logout-all', { password: PASSWORD })).status).toBe(204);
        expect((await a.call('GET', '/auth/me')).status).toBe(401);
        expect((await b.call('GET', '/auth/me')).status).toBe(401);
      });

      it('7.4.3: a password change ends the other sessions and re-issues this one', async () => {
        const a = await signupApi();
        const b = await loginApi();
        const res = await a.call('POST', '/auth/password', {
          currentPassword: PASSWORD,
          newPassword: 'a brand new passphrase',
        });
        expect(res.status).toBe(200);
        expect(res.json().accessToken).toEqual(expect.any(String));
        expect((await a.call('GET', '/auth/me')).status).toBe(200);
        expect((await b.call('GET', '/auth/me')).status).toBe(401);
        const old = await api(server).call('POST', '/auth/login', {
          email: 'ann@example.com',
          password: PASSWORD,
        });
        expect(old.status).toBe(401);
      });

      it('DELETE /auth/account needs the password, then every session ends', async () => {
        const a = await signupApi();
        expect((await a.call('DELETE', '/auth/account', {})).status).toBe(400);
        expect(
          (await a.call('DELETE', '/auth/account', { password: 'wrong wrong wrong' })).status,
        ).toBe(401);
        expect((await a.call('DELETE', '/auth/account', { password: PASSWORD })).status).toBe(204);
        expect((await a.call('GET', '/auth/me')).status).toBe(401);
        const login = await api(server).call('POST', '/auth/login', {
          email: 'ann@example.com',
          password: PASSWORD,
        });
        expect(login.json().error.code).toBe('INVALID_CREDENTIALS');
      });
    });

    describe('admin', () => {
      it('7.4.5: admin routes need role admin (403 FORBIDDEN otherwise)', async () => {
        const user = await signupApi();
        const userId = (await user.call('GET', '/auth/me')).json().user.id;
        for (const [method, path, body] of [
          ['PUT', `/admin/users/${userId}/roles`, { roles: ['editor'] }],
          ['POST', `/admin/users/${userId}/disable`],
          ['POST', `/admin/users/${userId}/enable`],
          ['POST', `/admin/users/${userId}/logout-all`],
          ['POST', '/admin/revoke-everyone'],
        ] as const) {
          const res = await user.call(method, path, body);
          expect(res.status, path).toBe(403);
          expect(res.json().error.code).toBe('FORBIDDEN');
        }
      });

      it('7.4.5 7.4.2: admins set roles, disable, enable and end sessions', async () => {
        const admin = await adminApi();
        const user = await signupApi();
        const userId = (await user.call('GET', '/auth/me')).json().user.id;
        const roles = await admin.call('PUT', `/admin/users/${userId}/roles`, {
          roles: ['editor'],
        });
        expect(roles.status).toBe(200);
        expect(roles.json().user.roles).toEqual(['editor']);
        expect((await user.call('GET', '/auth/me')).json().error).toMatchObject({
          reason: 'claims',
        });
        expect(
          (await user.call('POST', '/auth/refresh', { refreshToken: user.refresh })).status,
        ).toBe(200);
        expect((await user.call('GET', '/auth/me')).json().claims.roles).toEqual(['editor']);

        expect((await admin.call('POST', `/admin/users/${userId}/disable`)).status).toBe(204);
        expect((await user.call('GET', '/auth/me')).status).toBe(401);
        const disabled = await api(server).call('POST', '/auth/login', {
          email: 'ann@example.com',
          password: PASSWORD,
        });
        expect(disabled.status).toBe(403);
        expect(disabled.json().error.code).toBe('ACCOUNT_DISABLED');
        expect((await admin.call('POST', `/admin/users/${userId}/enable`)).status).toBe(204);
        const back = await loginApi();
        expect((await admin.call('POST', `/admin/users/${userId}/logout-all`)).status).toBe(204);
        expect((await back.call('GET', '/auth/me')).status).toBe(401);
        expect((await admin.call('POST', '/admin/users/nobody/disable')).status).toBe(404);
        expect((await admin.call('POST', '/admin/revoke-everyone')).status).toBe(204);
        expect((await admin.call('GET', '/auth/me')).status).toBe(401);
      });

      it('3.3.5: the largest allowed role list still fits a 4096-byte cookie', async () => {
        const admin = await adminApi();
        const b = await signupBrowser();
        const userId = (await b.call('GET', '/auth/me')).json().user.id;
        const roles = Array.from(
          { length: 32 },
          (_, i) => `${String(i).padStart(2, '0')}${'r'.repeat(62)}`,
        );
        expect((await admin.call('PUT', `/admin/users/${userId}/roles`, { roles })).status).toBe(
          200,
        );
        const tooMany = await admin.call('PUT', `/admin/users/${userId}/roles`, {
          roles: [...roles, 'x'],
        });
        expect(tooMany.status).toBe(400);
        const res = await b.call('POST', '/auth/refresh');
        expect(res.status).toBe(200);
        for (const line of res.cookies)
          expect(line.split(';')[0]?.length ?? 0).toBeLessThanOrEqual(4096);
      });
    });

    describe('input', () => {
      const garbage: [string, string | undefined][] = [
        ['application/json', '{'],
        ['application/json', 'null'],
        ['application/json', '[]'],
        ['application/json', '"x"'],
        ['application/json', '{"email":1,"password":{}}'],
        ['application/json', '{"__proto__":{"admin":true}}'],
        ['application/json', `{"email":"a@b.c","password":"${'x'.repeat(20_000)}"}`],
        ['text/plain', 'hello'],
        ['application/json; charset=utf-8', '\u0000\u0001'],
      ];
      const routes = [
        ['POST', '/auth/signup'],
        ['POST', '/auth/login'],
        ['POST', '/auth/refresh'],
        ['POST', '/auth/logout'],
        ['POST', '/auth/logout-all'],
        ['POST', '/auth/password'],
        ['DELETE', '/auth/account'],
        ['DELETE', '/auth/sessions/abc'],
        ['PUT', '/admin/users/abc/roles'],
        ['POST', '/auth/email/verify/request'],
        ['POST', '/auth/email/verify'],
        ['POST', '/auth/password/forgot'],
        ['POST', '/auth/password/reset'],
        ['POST', '/auth/email'],
        ['POST', '/auth/email/confirm'],
        ['POST', '/admin/invitations'],
        ['POST', '/auth/invitations/accept'],
      ] as const;

      it('bad bodies get 400 VALIDATION_FAILED, never a 500', async () => {
        const admin = await adminApi();
        for (const [method, path] of routes) {
          for (const [type, body] of garbage) {
            const init = {
              headers: {
                'content-type': type,
                authorization: `Bearer ${admin.access}`,
                'x-auth-transport': 'bearer',
              },
              ...(body === undefined ? {} : { body }),
            };
            const res = await server.request(method, path, init);
            expect(res.status, `${method} ${path} ${body?.slice(0, 30)}`).toBe(400);
            expect(res.json().error.code).toBe('VALIDATION_FAILED');
          }
        }
      });

      it('malformed URLs get a 4xx in the contract shape, never the framework shape', async () => {
        const admin = await adminApi();
        for (const [method, path] of [
          ['DELETE', '/auth/sessions/%E0%A4%A'],
          ['DELETE', '/auth/sessions/%ZZ'],
          ['DELETE', '/auth/sessions/%'],
          ['DELETE', '/auth/sessions/%C0%80'],
          ['PUT', '/admin/users/%E0%A4%A/roles'],
          ['POST', '/admin/users/%ED%A0%80/disable'],
        ] as const) {
          const res = await admin.call(method, path, method === 'PUT' ? { roles: [] } : {});
          expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
          expect(res.status, `${method} ${path}`).toBeLessThan(500);
          expect(res.json(), `${method} ${path}`).toEqual({
            error: { code: expect.any(String), message: expect.any(String) },
          });
          expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        }
        // Outside every route the host app answers (Fastify: this plugin's frameworkErrors),
        // but never with a 5xx.
        const stray = await server.request('GET', '/auth/%E0%A4%A');
        expect(stray.status).toBeGreaterThanOrEqual(400);
        expect(stray.status).toBeLessThan(500);
      });

      it('6.2.1: passwords of lone surrogates (not well-formed UTF-16) get 400 VALIDATION_FAILED', async () => {
        // '\uD800' and '\uDBFF' both become U+FFFD in UTF-8: one would open the other's account.
        for (const [path, password] of [
          ['/auth/signup', `${PASSWORD} \\ud800`],
          ['/auth/login', `${PASSWORD} \\udbff`],
        ] as const) {
          const res = await server.request('POST', path, {
            headers: { 'content-type': 'application/json', 'x-auth-transport': 'bearer' },
            body: `{"email":"ann@example.com","password":"${password}"}`,
          });
          expect(res.status, path).toBe(400);
          expect(res.json().error.code).toBe('VALIDATION_FAILED');
        }
        const fine = await api(server).call('POST', '/auth/signup', {
          email: 'ann@example.com',
          password: `${PASSWORD} 🦊`,
        });
        expect(fine.status).toBe(201);
      });

      it('3.5.3: safe methods never reach a mutating route', async () => {
        for (const path of [
          '/auth/signup',
          '/auth/login',
          '/auth/refresh',
          '/auth/logout',
          '/auth/logout-all',
          '/auth/password',
          '/auth/account',
          '/admin/revoke-everyone',
        ]) {
          const res = await server.request('GET', path);
          expect([404, 405], path).toContain(res.status);
        }
      });

      it('3.5.6 3.5.7: answers are JSON only, even with ?callback=', async () => {
        const client = await signupApi();
        for (const path of [
          '/auth/me?callback=x',
          '/auth/sessions?callback=x',
          '/.well-known/jwks.json?callback=x',
        ]) {
          const res = await client.call('GET', path);
          expect(res.status).toBe(200);
          expect(res.headers.get('content-type')).toMatch(/^application\/json/);
          expect(res.body.startsWith('{')).toBe(true);
        }
      });
    });

    describe('headers and meta routes', () => {
      it('3.4.x 14.3.2 3.5.8: security headers on every answer, no-store on anything with a token', async () => {
        const client = await signupApi();
        for (const [method, path, body] of [
          ['GET', '/auth/me'],
          ['GET', '/auth/sessions'],
          ['POST', '/auth/refresh', { refreshToken: client.refresh }],
          ['GET', '/auth/nowhere'],
        ] as const) {
          const res = await client.call(method, path, body);
          if (path !== '/auth/nowhere') {
            expect(res.headers.get('cache-control'), path).toBe('no-store');
            expect(res.headers.get('x-content-type-options')).toBe('nosniff');
            expect(res.headers.get('referrer-policy')).toBe('no-referrer');
            expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
            expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
            expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
          }
        }
      });

      it('3.4.2: no CORS answer for a foreign origin; only the public JWKS is open', async () => {
        const client = await signupApi();
        const me = await client.call('GET', '/auth/me', undefined, {
          origin: 'https://evil.example',
        });
        expect(me.headers.get('access-control-allow-origin')).toBeNull();
        const jwks = await server.request('GET', '/.well-known/jwks.json', {
          headers: { origin: 'https://evil.example' },
        });
        expect(jwks.headers.get('access-control-allow-origin')).toBe('*');
      });

      it('3.4.x: the demo page at / gets the strict CSP and the security headers', async () => {
        const root = await mkdtemp(join(tmpdir(), 'nb-page-'));
        try {
          await writeFile(join(root, 'index.html'), '<!doctype html><title>demo</title>');
          await writeFile(join(root, 'app.js'), 'export {};');
          const withPage = await start({ webRoot: root });
          const page = await withPage.request('GET', '/');
          expect(page.status).toBe(200);
          expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
          expect(page.headers.get('content-security-policy')).toMatch(
            /default-src 'self'.*frame-ancestors 'none'/,
          );
          expect(page.headers.get('x-content-type-options')).toBe('nosniff');
          expect(page.headers.get('referrer-policy')).toBe('no-referrer');
          expect((await withPage.request('GET', '/app.js')).headers.get('content-type')).toMatch(
            /^text\/javascript/,
          );
          expect((await withPage.request('GET', '/nothing.js')).status).toBe(404);
          expect((await withPage.request('GET', '/healthz')).status).toBe(200);
        } finally {
          await rm(root, { recursive: true, force: true });
        }
      });

      it('serves public keys only, with cache headers', async () => {
        const res = await server.request('GET', '/.well-known/jwks.json');
        expect(res.status).toBe(200);
        expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
        const keys = res.json().keys as Record<string, unknown>[];
        expect(keys.length).toBeGreaterThan(0);
        for (const key of keys)
          for (const secret of ['d', 'p', 'q', 'k']) expect(key[secret]).toBeUndefined();
      });

      it('GET /healthz and GET /openapi.json', async () => {
        const health = await server.request('GET', '/healthz');
        expect(health.status).toBe(200);
        expect(health.json()).toEqual({ status: 'ok' });
        const unhealthy = await start({ health: () => false });
        expect((await unhealthy.request('GET', '/healthz')).status).toBe(503);
        const doc = (await server.request('GET', '/openapi.json')).json();
        expect(doc.openapi).toBe('3.1.0');
        expect(Object.keys(doc.paths)).toEqual(
          expect.arrayContaining([
            '/auth/signup',
            '/auth/login',
            '/auth/refresh',
            '/auth/logout',
            '/auth/logout-all',
            '/auth/password',
            '/auth/me',
            '/auth/sessions',
            '/auth/sessions/{sid}',
            '/auth/account',
            '/auth/events',
            '/admin/users/{id}/roles',
            '/admin/users/{id}/disable',
            '/admin/users/{id}/enable',
            '/admin/users/{id}/logout-all',
            '/admin/revoke-everyone',
            '/.well-known/jwks.json',
            '/healthz',
          ]),
        );
        expect(
          doc.paths['/auth/login'].post.requestBody.content['application/json'].schema.required,
        ).toEqual(['email', 'password']);
      });

      it('/metrics is served only when a metrics hook is given', async () => {
        expect((await server.request('GET', '/metrics')).status).toBe(404);
        const withMetrics = await start({
          metrics: { contentType: 'text/plain; version=0.0.4', render: () => 'up 1\n' },
        });
        const res = await withMetrics.request('GET', '/metrics');
        expect(res.status).toBe(200);
        expect(res.body).toBe('up 1\n');
      });
    });

    describe('rate limit', () => {
      it('6.1.1: sign-in attempts per address get 429 with Retry-After, then recover', async () => {
        const limited = await start({ rateLimit: 2 });
        await signupApi();
        const login = () =>
          api(limited).call('POST', '/auth/login', {
            email: 'ann@example.com',
            password: PASSWORD,
          });
        expect((await login()).status).toBe(200);
        expect((await login()).status).toBe(200);
        const third = await login();
        expect(third.status).toBe(429);
        expect(third.json().error.code).toBe('RATE_LIMITED');
        expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
        clock.advance(61_000);
        expect((await login()).status).toBe(200);
      });

      it('4.1.3: a forged X-Forwarded-For does not dodge the limit', async () => {
        const limited = await start({ rateLimit: 1 });
        const attempt = (i: number) =>
          api(limited).call(
            'POST',
            '/auth/login',
            { email: 'x@example.com', password: PASSWORD },
            { 'x-forwarded-for': `10.0.0.${i}` },
          );
        expect((await attempt(1)).status).toBe(401);
        expect((await attempt(2)).status).toBe(429);
      });
    });

    describe('events', () => {
      const sse = async (client: ReturnType<typeof api>) =>
        server.stream('/auth/events', { authorization: `Bearer ${client.access}` });

      it('sends session-revoked when this session is ended elsewhere, then closes; no token', async () => {
        const a = await signupApi();
        const b = await loginApi();
        const aSid = (await a.call('GET', '/auth/me')).json().claims.sid;
        const res = await sse(a);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
        const reading = readStream(res);
        await new Promise((r) => setTimeout(r, 50));
        expect((await b.call('DELETE', `/auth/sessions/${aSid}`)).status).toBe(204);
        const text = await reading;
        expect(text).toMatch(/event: ?session-revoked/);
        expect(text).toContain(aSid);
        for (const secret of [a.access, a.refresh, b.access, b.refresh])
          expect(text).not.toContain(secret);
      });

      it('sends credential-change to the kept session and session-revoked to the others', async () => {
        const a = await signupApi();
        const b = await loginApi();
        const aStream = await sse(a);
        const bStream = await sse(b);
        const bText = readStream(bStream);
        const aText = readStream(aStream, 500);
        await new Promise((r) => setTimeout(r, 50));
        const res = await a.call('POST', '/auth/password', {
          currentPassword: PASSWORD,
          newPassword: 'another fine passphrase',
        });
        expect(res.status).toBe(200);
        expect(await bText).toMatch(/event: ?session-revoked/);
        expect(await aText).toMatch(/event: ?credential-change/);
      });

      it('sends token-claims-change after a role change', async () => {
        const admin = await adminApi();
        const user = await signupApi();
        const userId = (await user.call('GET', '/auth/me')).json().user.id;
        const reading = readStream(await sse(user), 500);
        await new Promise((r) => setTimeout(r, 50));
        await admin.call('PUT', `/admin/users/${userId}/roles`, { roles: ['editor'] });
        expect(await reading).toMatch(/event: ?token-claims-change/);
      });

      it('needs authentication, never from the URL', async () => {
        const a = await signupApi();
        expect((await server.stream('/auth/events')).status).toBe(401);
        expect((await server.stream(`/auth/events?access_token=${a.access}`)).status).toBe(401);
        const b = await signupBrowser();
        const viaCookie = await server.stream('/auth/events', { cookie: b.jar.header() });
        expect(viaCookie.status).toBe(200);
        await viaCookie.body?.cancel();
      });

      it('caps open streams per session and per user (oldest closed first); /metrics counts them', async () => {
        const metrics = createMetrics();
        const capped = await start({ maxStreamsPerSession: 2, maxStreamsPerUser: 3, metrics });
        const open = async () => {
          const text = (await capped.request('GET', '/metrics')).body;
          return Number(/^notbefore_event_streams (\d+)$/m.exec(text)?.[1] ?? Number.NaN);
        };
        const a = api(capped);
        await a.call('POST', '/auth/signup', { email: 'ann@example.com', password: PASSWORD });
        const b = api(capped);
        await b.call('POST', '/auth/login', { email: 'ann@example.com', password: PASSWORD });
        const streams: ReturnType<typeof watchStream>[] = [];
        const connect = async (client: ReturnType<typeof api>, expected: number) => {
          const res = await capped.stream('/auth/events', {
            authorization: `Bearer ${client.access}`,
          });
          expect(res.status).toBe(200);
          const watched = watchStream(res);
          streams.push(watched);
          await until(async () => (await open()) === expected, `${expected} open streams`);
          return watched;
        };
        try {
          const a1 = await connect(a, 1);
          const a2 = await connect(a, 2);
          const a3 = await connect(a, 2); // the session's third: a1 goes
          expect(await a1.endsWithin(3000)).toBe(true);
          expect(a1.state.text).toMatch(/retry: ?60000/);
          expect(a1.state.text).not.toMatch(/event:/);
          const b1 = await connect(b, 3);
          await connect(b, 3); // the user's fourth: the oldest of them all (a2) goes
          expect(await a2.endsWithin(3000)).toBe(true);
          expect([a3.state.ended, b1.state.ended]).toEqual([false, false]);
        } finally {
          for (const w of streams) await w.cancel();
        }
        await until(async () => (await open()) === 0, 'every stream counted closed');
      });

      it("HEAD answers the stream's head and opens no stream: none counted, none pushed out", async () => {
        const metrics = createMetrics();
        const capped = await start({ maxStreamsPerSession: 2, metrics });
        const open = async () => {
          const text = (await capped.request('GET', '/metrics')).body;
          return Number(/^notbefore_event_streams (\d+)$/m.exec(text)?.[1] ?? Number.NaN);
        };
        const a = api(capped);
        await a.call('POST', '/auth/signup', { email: 'ann@example.com', password: PASSWORD });
        const auth = { authorization: `Bearer ${a.access}` };
        const watched = watchStream(await capped.stream('/auth/events', auth));
        try {
          await until(async () => (await open()) === 1, 'the GET stream counted');
          for (let i = 0; i < 3; i++) {
            const head = await capped.stream('/auth/events', auth, 'HEAD');
            expect(head.status).toBe(200);
            expect(head.headers.get('content-type')).toMatch(/^text\/event-stream/);
            expect(await head.text()).toBe('');
          }
          expect((await capped.stream('/auth/events', {}, 'HEAD')).status).toBe(401);
          // Three HEADs on a session allowed two streams: had they opened any, the GET
          // stream would have been pushed out.
          expect(await open()).toBe(1);
          expect(await watched.endsWithin(300)).toBe(false);
        } finally {
          await watched.cancel();
        }
        await until(async () => (await open()) === 0, 'the stream counted closed');
      });

      it('sends heartbeat comments so proxies keep the stream open', async () => {
        const beating = await start({ heartbeatMs: 40 });
        const a = api(beating);
        await a.call('POST', '/auth/signup', { email: 'ann@example.com', password: PASSWORD });
        const text = await readStream(
          await beating.stream('/auth/events', { authorization: `Bearer ${a.access}` }),
          400,
        );
        expect(
          text.split('\n').filter((line) => line.startsWith(':')).length,
        ).toBeGreaterThanOrEqual(2);
      });

      it('closes the stream when its access token expires', async () => {
        const short = await makeAuth({ accessTokenTtl: 1 }, makeStore);
        try {
          const s = await make(short.auth, { rateLimit: 0, clock: short.clock });
          extra.push(s);
          const a = api(s);
          await a.call('POST', '/auth/signup', { email: 'ann@example.com', password: PASSWORD });
          const started = Date.now();
          await readStream(
            await s.stream('/auth/events', { authorization: `Bearer ${a.access}` }),
            4000,
          );
          expect(Date.now() - started).toBeLessThan(3000);
        } finally {
          await short.close();
        }
      });
    });

    describe('account lifecycle (issue 12)', () => {
      let sink: SmtpSink;
      let sent: Mail[];
      /** A server whose auth mails through the sink; closed with the test. */
      let mailing: { auth: Auth; server: TestServer; clock: ManualClock };
      const closing: (() => Promise<void>)[] = [];

      const withMail = async (
        options: Parameters<typeof makeAuth>[0] = {},
        server: ServerOptions = {},
      ) => {
        const tap = tapped(smtpMailer(sink.url, { from: 'auth@example.test' }));
        sent = tap.sent;
        const made = await makeAuth(
          { mailer: tap.mailer, publicUrl: PUBLIC_URL, ...options },
          makeStore,
        );
        closing.push(made.close);
        return { auth: made.auth, clock: made.clock, server: await start(server, made.auth) };
      };
      /** The token of the next `kind` link mailed to `to`. */
      const linkFor = async (to: string, kind: string) =>
        sink.linkIn(await sink.next((m) => m.to === to && m.text.includes(`#${kind}=`)), kind);
      /** Everything of an answer a client can see but the timing. */
      const visible = (res: TestResponse) => ({
        status: res.status,
        body: res.body,
        cookies: res.cookies,
        headers: [...res.headers].filter(([name]) => name !== 'date'),
      });

      beforeAll(async () => {
        sink = await startSmtpSink();
      });
      afterAll(async () => {
        await sink.close();
      });
      beforeEach(async () => {
        mailing = await withMail();
      });
      afterEach(async () => {
        for (const s of extra.splice(0)) await s.close();
        for (const close of closing.splice(0)) await close();
      });

      it('6.4.x forgot → mailed link → reset: 202 alike, 204; every session ends and the old password dies', async () => {
        const { server: srv } = mailing;
        const a = api(srv);
        expect(
          (await a.call('POST', '/auth/signup', { email: 'ann@example.com', password: PASSWORD }))
            .status,
        ).toBe(201);
        const b = browser(srv);
        expect(
          (await b.call('POST', '/auth/login', { email: 'ann@example.com', password: PASSWORD }))
            .status,
        ).toBe(200);
        const known = await api(srv).call('POST', '/auth/password/forgot', {
          email: 'ann@example.com',
        });
        const unknown = await api(srv).call('POST', '/auth/password/forgot', {
          email: 'nobody@example.com',
        });
        expect(known.status, known.body).toBe(202);
        expect(visible(unknown)).toEqual(visible(known));
        expect(known.body).toBe('');
        const token = await linkFor('ann@example.com', 'reset-password');
        const reset = await api(srv).call('POST', '/auth/password/reset', {
          token,
          newPassword: 'a brand new passphrase',
        });
        expect(reset.status).toBe(204);
        for (const client of [a, b]) {
          const me = await client.call('GET', '/auth/me');
          expect(me.status).toBe(401);
          expect(me.json().error).toMatchObject({ code: 'TOKEN_REVOKED', reason: 'user' });
        }
        expect((await b.call('POST', '/auth/refresh')).status).toBe(401);
        const old = await api(srv).call('POST', '/auth/login', {
          email: 'ann@example.com',
          password: PASSWORD,
        });
        expect(old.json().error.code).toBe('INVALID_CREDENTIALS');
        const fresh = api(srv);
        expect(
          (
            await fresh.call('POST', '/auth/login', {
              email: 'ann@example.com',
              password: 'a brand new passphrase',
            })
          ).status,
        ).toBe(200);
        expect((await fresh.call('GET', '/auth/me')).json().claims.email_verified).toBe(true);
        const again = await api(srv).call('POST', '/auth/password/reset', {
          token,
          newPassword: 'yet another passphrase',
        });
        expect(again.status).toBe(400);
        expect(again.json().error.code).toBe('LINK_INVALID');
        await sink.next((m) => m.to === 'ann@example.com' && /password was reset/.test(m.subject));
      });

      it('verification: request (signed in) → link → 204; a refresh carries email_verified', async () => {
        const a = api(mailing.server);
        await a.call('POST', '/auth/signup', { email: 'ann@example.com', password: PASSWORD });
        const before = (await a.call('GET', '/auth/me')).json();
        expect(before.claims.email_verified).toBe(false);
        expect(before.user.emailVerified).toBe(false);
        expect((await a.call('POST', '/auth/email/verify/request')).status).toBe(202);
        expect((await api(server).call('POST', '/auth/email/verify/request')).status).toBe(401);
        const token = await linkFor('ann@example.com', 'verify-email');
        expect(
          (await api(mailing.server).call('POST', '/auth/email/verify', { token })).status,
        ).toBe(204);
        expect((await a.call('GET', '/auth/me')).json().error).toMatchObject({ reason: 'claims' });
        expect((await a.call('POST', '/auth/refresh', { refreshToken: a.refresh })).status).toBe(
          200,
        );
        const after = (await a.call('GET', '/auth/me')).json();
        expect(after.claims.email_verified).toBe(true);
        expect(after.user.emailVerified).toBe(true);
      });

      it('email change: the confirming browser keeps its session in cookies; the other device and the old address are out', async () => {
        const srv = mailing.server;
        const b = browser(srv);
        await b.call('POST', '/auth/signup', { email: 'bea@example.com', password: PASSWORD });
        const a = api(srv);
        await a.call('POST', '/auth/login', { email: 'bea@example.com', password: PASSWORD });
        const wrong = await b.call('POST', '/auth/email', {
          newEmail: 'new@example.com',
          password: 'not the password at all',
        });
        expect(wrong.json().error.code).toBe('INVALID_CREDENTIALS');
        expect(
          (await b.call('POST', '/auth/email', { newEmail: 'new@example.com', password: PASSWORD }))
            .status,
        ).toBe(202);
        await sink.next(
          (m) => m.to === 'bea@example.com' && /new email address was requested/.test(m.subject),
        );
        const token = await linkFor('new@example.com', 'confirm-email');
        const confirmed = await b.call('POST', '/auth/email/confirm', { token });
        expect(confirmed.status).toBe(200);
        expect(confirmed.json().accessToken).toBeUndefined();
        expect(confirmed.json().user).toMatchObject({
          email: 'new@example.com',
          emailVerified: true,
        });
        expect(confirmed.cookies.some((c) => c.startsWith('__Host-nb_access='))).toBe(true);
        expect((await b.call('GET', '/auth/me')).json().user.email).toBe('new@example.com');
        expect((await b.call('POST', '/auth/refresh')).status).toBe(200);
        expect((await a.call('GET', '/auth/me')).status).toBe(401);
        const old = await api(srv).call('POST', '/auth/login', {
          email: 'bea@example.com',
          password: PASSWORD,
        });
        expect(old.json().error.code).toBe('INVALID_CREDENTIALS');
        expect(
          (
            await api(srv).call('POST', '/auth/login', {
              email: 'new@example.com',
              password: PASSWORD,
            })
          ).status,
        ).toBe(200);
        const reused = await api(srv).call('POST', '/auth/email/confirm', { token });
        expect(reused.status).toBe(400);
        expect(reused.json().error.code).toBe('LINK_INVALID');
      });

      it('email change confirmed by bearer keeps that session with tokens in the body; signed out gets 204', async () => {
        const srv = mailing.server;
        const a = api(srv);
        await a.call('POST', '/auth/signup', { email: 'ann@example.com', password: PASSWORD });
        await a.call('POST', '/auth/email', { newEmail: 'ann2@example.com', password: PASSWORD });
        const kept = await a.call('POST', '/auth/email/confirm', {
          token: await linkFor('ann2@example.com', 'confirm-email'),
        });
        expect(kept.status).toBe(200);
        expect(kept.json().accessToken).toEqual(expect.any(String));
        expect((await a.call('GET', '/auth/me')).json().user.email).toBe('ann2@example.com');
        await a.call('POST', '/auth/email', { newEmail: 'ann3@example.com', password: PASSWORD });
        const token = await linkFor('ann3@example.com', 'confirm-email');
        const signedOut = await api(srv).call('POST', '/auth/email/confirm', { token });
        expect(signedOut.status).toBe(204);
        expect((await a.call('GET', '/auth/me')).status).toBe(401);
      });

      it('6.3.2 invitations: admin only, 201 { id } (never the link); accepted in a browser: 201 with cookies and the roles', async () => {
        const srv = mailing.server;
        await mailing.auth.signup({ email: ADMIN, password: PASSWORD, roles: ['admin'] });
        const admin = api(srv);
        await admin.call('POST', '/auth/login', { email: ADMIN, password: PASSWORD });
        const user = api(srv);
        await user.call('POST', '/auth/signup', { email: 'ann@example.com', password: PASSWORD });
        const refused = await user.call('POST', '/admin/invitations', { email: 'cat@example.com' });
        expect(refused.status).toBe(403);
        expect(refused.json().error.code).toBe('FORBIDDEN');
        const invited = await admin.call('POST', '/admin/invitations', {
          email: 'cat@example.com',
          roles: ['editor'],
        });
        expect(invited.status).toBe(201);
        expect(invited.json()).toEqual({ id: expect.any(String) });
        const taken = await admin.call('POST', '/admin/invitations', { email: 'ann@example.com' });
        expect(taken.status).toBe(409);
        const token = await linkFor('cat@example.com', 'invitation');
        expect(invited.body).not.toContain(token);
        const b = browser(srv);
        const accepted = await b.call('POST', '/auth/invitations/accept', {
          token,
          password: PASSWORD,
        });
        expect(accepted.status).toBe(201);
        expect(accepted.json().accessToken).toBeUndefined();
        expect(accepted.json().user).toMatchObject({
          email: 'cat@example.com',
          roles: ['editor'],
          emailVerified: true,
        });
        expect((await b.call('GET', '/auth/me')).json().claims.roles).toEqual(['editor']);
        const cross = await browser(srv).call(
          'POST',
          '/auth/invitations/accept',
          { token, password: PASSWORD },
          { origin: 'https://evil.example' },
        );
        expect(cross.status).toBe(403);
        const again = await api(srv).call('POST', '/auth/invitations/accept', {
          token,
          password: PASSWORD,
        });
        expect(again.status).toBe(400);
        expect(again.json().error.code).toBe('LINK_INVALID');
      });

      it('LINK_INVALID: one 400 answer for any unusable token on every route that takes one', async () => {
        const srv = mailing.server;
        const answers = new Set<string>();
        for (const token of ['x', 'A'.repeat(43), 'Z'.repeat(256)]) {
          for (const [path, body] of [
            ['/auth/email/verify', { token }],
            ['/auth/password/reset', { token, newPassword: 'a brand new passphrase' }],
            ['/auth/email/confirm', { token }],
            ['/auth/invitations/accept', { token, password: PASSWORD }],
          ] as const) {
            const res = await api(srv).call('POST', path, body);
            expect(res.status, path).toBe(400);
            answers.add(JSON.stringify(res.json()));
          }
        }
        // One answer for all: the same code, the same message.
        expect(answers.size).toBe(1);
        expect(JSON.parse([...answers][0]!)).toEqual({
          error: { code: 'LINK_INVALID', message: expect.any(String) },
        });
      });

      it('6.3.8 requireVerifiedEmail: signup answers 202 alike for new and taken addresses, in body and timing', async () => {
        // A hash that costs something, so that skipping it for a taken address would show.
        const strict = await withMail(
          {
            requireVerifiedEmail: true,
            password: { memoryCost: 8192, timeCost: 2, parallelism: 1, allowWeakHash: true },
          },
          { trustProxy: true },
        );
        const owners: string[] = [];
        for (let i = 0; i < 30; i += 1) {
          owners.push(`owner${i}@example.com`);
          await strict.auth.signup({ email: `owner${i}@example.com`, password: PASSWORD });
        }
        await eventually(
          () => sink.mails.filter((x) => x.to === 'owner29@example.com').length === 1,
          'setup mails',
        );
        let n = 0;
        const signup = (email: string) => {
          n += 1;
          return api(strict.server).call(
            'POST',
            '/auth/signup',
            { email, password: PASSWORD },
            { 'x-forwarded-for': `198.51.100.${n % 250}` },
          );
        };
        // Warm both paths, and let their mails arrive.
        const warm = [await signup('warm@example.com'), await signup('owner29@example.com')];
        expect(visible(warm[1]!)).toEqual(visible(warm[0]!));
        await eventually(
          () =>
            sink.mails.filter((x) => x.to === 'warm@example.com' || x.to === 'owner29@example.com')
              .length === 3,
          'warm-up mails',
        );
        const delivered = sink.mails.length;
        const handedOver = sent.length;
        const seen: ReturnType<typeof visible>[] = [];
        // Over HTTP on a loaded machine: 25 % or 5 ms.
        await expectTimingAlike(
          `routes:${name} signup (requireVerifiedEmail) new/taken`,
          (attempt) => {
            // Each measurement in a fresh throttle window: every owner gets its notice.
            strict.clock.advance(LINK_THROTTLE.windowMs);
            return interleavedMedians(
              30,
              async (i) => seen.push(visible(await signup(`new${attempt}-${i}@example.com`))),
              async (i) => seen.push(visible(await signup(owners[i]!))),
              () => settled(sink, sent, delivered, handedOver),
            );
          },
          5,
        );
        for (const answer of seen) expect(answer).toEqual(visible(warm[0]!));
        expect(warm[0]!.status).toBe(202);
        // The new accounts got a verification link, the owners a notice; nobody is signed in.
        const mail = await sink.next((x) => x.to === 'new0-0@example.com');
        expect(mail.text).toContain('#verify-email=');
        await sink.next((x) => x.to === 'owner0@example.com' && /tried to sign up/.test(x.subject));
        const login = await api(strict.server).call('POST', '/auth/login', {
          email: 'new0-0@example.com',
          password: PASSWORD,
        });
        expect(login.status).toBe(403);
        expect(login.json().error.code).toBe('EMAIL_NOT_VERIFIED');
        const wrong = await api(strict.server).call('POST', '/auth/login', {
          email: 'new0-0@example.com',
          password: 'not the password at all',
        });
        expect(wrong.json().error.code).toBe('INVALID_CREDENTIALS');
        const token = sink.linkIn(
          await sink.next((x) => x.to === 'new0-0@example.com'),
          'verify-email',
        );
        expect(
          (await api(strict.server).call('POST', '/auth/email/verify', { token })).status,
        ).toBe(204);
        expect(
          (
            await api(strict.server).call('POST', '/auth/login', {
              email: 'new0-0@example.com',
              password: PASSWORD,
            })
          ).status,
        ).toBe(200);
      }, 60_000);

      it('6.3.8 forgot-password answers alike for known and unknown addresses, in body and timing', async () => {
        const srv = await start({ trustProxy: true }, mailing.auth);
        const known: string[] = [];
        for (let i = 0; i < 31; i += 1) {
          known.push(`known${i}@example.com`);
          await mailing.auth.signup({ email: `known${i}@example.com`, password: PASSWORD });
        }
        let n = 0;
        const forgot = (email: string) => {
          n += 1;
          return api(srv).call(
            'POST',
            '/auth/password/forgot',
            { email },
            { 'x-forwarded-for': `192.0.2.${n % 250}` },
          );
        };
        const warm = [await forgot('known30@example.com'), await forgot('warm@example.com')];
        expect(visible(warm[1]!)).toEqual(visible(warm[0]!));
        await linkFor('known30@example.com', 'reset-password');
        const delivered = sink.mails.length;
        const handedOver = sent.length;
        const seen: ReturnType<typeof visible>[] = [];
        // Over HTTP on a loaded machine: 25 % or 5 ms.
        await expectTimingAlike(
          `routes:${name} forgot-password known/unknown`,
          (attempt) => {
            mailing.clock.advance(LINK_THROTTLE.windowMs);
            return interleavedMedians(
              30,
              async (i) => seen.push(visible(await forgot(known[i]!))),
              async (i) => seen.push(visible(await forgot(`unknown${attempt}-${i}@example.com`))),
              () => settled(sink, sent, delivered, handedOver),
            );
          },
          5,
        );
        for (const answer of seen) expect(answer).toEqual(visible(warm[0]!));
        expect(sent.filter((x) => x.to.startsWith('unknown'))).toEqual([]);
      }, 60_000);

      it('link requests beyond the per-client limit get 429 with Retry-After', async () => {
        // One client address, whatever the adapter can tell of the socket.
        const srv = await start({ trustProxy: true }, mailing.auth);
        let last: TestResponse | undefined;
        for (let i = 0; i < 12 && last?.status !== 429; i += 1)
          last = await api(srv).call(
            'POST',
            '/auth/password/forgot',
            { email: `x${i}@example.com` },
            { 'x-forwarded-for': '203.0.113.7' },
          );
        expect(last?.status).toBe(429);
        expect(last?.json().error.code).toBe('RATE_LIMITED');
        expect(Number(last?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      });

      it('a mail server that is down or slow never turns a request into a 5xx or a hang', async () => {
        const down = await makeAuth(
          {
            mailer: smtpMailer('smtp://127.0.0.1:9', { from: 'a@example.test' }),
            publicUrl: PUBLIC_URL,
            onError: () => {},
          },
          makeStore,
        );
        closing.push(down.close);
        // Nothing listens on port 9: every send is refused. The sink answers each mail late.
        const refusing = await start({}, down.auth);
        sink.delayMs = 3_000;
        try {
          for (const srv of [refusing, mailing.server]) {
            const a = api(srv);
            await a.call('POST', '/auth/signup', { email: 'ann@example.com', password: PASSWORD });
            const t0 = performance.now();
            const answers = [
              await api(srv).call('POST', '/auth/password/forgot', { email: 'ann@example.com' }),
              await a.call('POST', '/auth/email/verify/request'),
              await a.call('POST', '/auth/email', {
                newEmail: 'new@example.com',
                password: PASSWORD,
              }),
              await a.call('POST', '/auth/password', {
                currentPassword: PASSWORD,
                newPassword: 'a brand new passphrase',
              }),
            ];
            expect(answers.map((r) => r.status)).toEqual([202, 202, 202, 200]);
            expect(performance.now() - t0).toBeLessThan(2_000);
          }
        } finally {
          sink.delayMs = 0;
        }
      }, 30_000);

      it('without a mailer the routes that mail a link answer 404; links still redeem', async () => {
        const a = await signupApi();
        await auth.signup({ email: ADMIN, password: PASSWORD, roles: ['admin'] });
        const admin = await loginApi(ADMIN);
        for (const [client, path, body] of [
          [a, '/auth/email/verify/request', undefined],
          [api(server), '/auth/password/forgot', { email: 'ann@example.com' }],
          [a, '/auth/email', { newEmail: 'new@example.com', password: PASSWORD }],
          [admin, '/admin/invitations', { email: 'new@example.com' }],
        ] as const) {
          const res = await client.call('POST', path, body);
          expect(res.status, path).toBe(404);
          expect(res.json().error.code).toBe('NOT_FOUND');
        }
        const bad = await api(server).call('POST', '/auth/email/verify', { token: 'A'.repeat(43) });
        expect(bad.json().error.code).toBe('LINK_INVALID');
        // An invitation made without a mailer (the CLI prints its link) is accepted all the same.
        const quiet = await makeAuth({ publicUrl: PUBLIC_URL }, makeStore);
        closing.push(quiet.close);
        const { link } = await quiet.auth.invite({ email: 'cat@example.com', roles: ['editor'] });
        const token = link.slice(`${PUBLIC_URL}/#invitation=`.length);
        const accepted = await api(await start({}, quiet.auth)).call(
          'POST',
          '/auth/invitations/accept',
          { token, password: PASSWORD },
        );
        expect(accepted.status).toBe(201);
        expect(accepted.json().user.roles).toEqual(['editor']);
      });
    });
  });
}

export { Jar };
