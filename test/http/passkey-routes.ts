/**
 * The passkey routes in the shared route suite (every adapter), with the software
 * authenticator: what a browser's WebAuthn answers look like, honest and hostile. Real
 * Chromium is test/browser/passkeys.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  api,
  browser,
  type Client,
  logIn,
  type MakeStore,
  makeAuth,
  PASSWORD,
  signUp,
} from './harness.js';
import { type StartServer, serveEachTest } from './route-suite.js';
import { type Lies, SoftAuthenticator } from './soft-authenticator.js';

const PUBLIC_URL = 'https://auth.example.test';

export function describePasskeyRoutes(start: StartServer, makeStore?: MakeStore): void {
  describe('passkeys', () => {
    const each = serveEachTest(start, makeStore, { publicUrl: PUBLIC_URL });

    const signup = (email: string) => signUp(api(each.server), email);
    const login = (email: string) => logIn(api(each.server), email);
    /** Adds a passkey of `authenticator` to the signed-in `client`'s account. */
    const register = async (client: Client, authenticator: SoftAuthenticator, lies: Lies = {}) => {
      const options = await client.call('POST', '/auth/passkeys/register/options', {});
      expect(options.status).toBe(200);
      return client.call('POST', '/auth/passkeys/register', {
        response: authenticator.create(options.json(), lies),
        name: 'Test key',
      });
    };
    const signInOptions = async (body: object = {}) => {
      const res = await api(each.server).call('POST', '/auth/passkeys/login/options', body);
      expect(res.status).toBe(200);
      return res.json();
    };
    const passkeyLogin = (response: unknown, client: Client = api(each.server)) =>
      client.call('POST', '/auth/passkeys/login', { response });

    it('register behind a recent sign-in, list, then sign in with no password', async () => {
      const ann = await signup('ann@example.com');
      const key = new SoftAuthenticator('https://auth.example.test', { synced: true });
      const options = await ann.call('POST', '/auth/passkeys/register/options', {});
      expect(options.status).toBe(200);
      expect(options.json()).toMatchObject({
        challenge: expect.any(String),
        rp: { id: 'auth.example.test' },
        user: { name: 'ann@example.com' },
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        attestation: 'none',
        excludeCredentials: [],
      });
      const added = await ann.call('POST', '/auth/passkeys/register', {
        response: key.create(options.json()),
        name: 'Laptop',
      });
      expect(added.status).toBe(201);
      const { id } = added.json();
      expect(added.json()).toMatchObject({
        id: expect.any(String),
        accessToken: expect.any(String),
      });
      const list = await ann.call('GET', '/auth/passkeys');
      expect(list.json()).toEqual({
        passkeys: [
          {
            id,
            name: 'Laptop',
            createdAt: each.clock.now(),
            lastUsedAt: null,
            synced: true,
            transports: ['internal', 'hybrid'],
          },
        ],
      });
      // The same authenticator is excluded from a second registration.
      const again = await ann.call('POST', '/auth/passkeys/register/options', {});
      expect(again.json().excludeCredentials).toEqual([
        { id, type: 'public-key', transports: ['internal', 'hybrid'] },
      ]);

      const request = await signInOptions();
      expect(request).toMatchObject({ rpId: 'auth.example.test', userVerification: 'required' });
      expect(request.allowCredentials ?? []).toEqual([]);
      const client = api(each.server);
      const signedIn = await passkeyLogin(key.get(request), client);
      expect(signedIn.status).toBe(200);
      expect(signedIn.json()).toMatchObject({
        accessToken: expect.any(String),
        user: { email: 'ann@example.com' },
      });
      const me = await client.call('GET', '/auth/me');
      expect(me.status).toBe(200);
      // A synced passkey is a software-held key: swk, with the user verified.
      expect(me.json().claims.amr).toEqual(['swk', 'user']);
      expect((await ann.call('GET', '/auth/passkeys')).json().passkeys[0].lastUsedAt).toBe(
        each.clock.now(),
      );
    });

    it('a device-bound passkey signs in with hwk; a browser gets cookies', async () => {
      const bea = await signUp(browser(each.server), 'bea@example.com');
      const key = new SoftAuthenticator(PUBLIC_URL, { counting: true });
      const added = await register(bea, key);
      expect(added.status).toBe(201);
      // A cookie session stays one: fresh cookies, no token in the body.
      expect(added.json().accessToken).toBeUndefined();
      expect(added.cookies.some((c) => c.startsWith('__Secure-nb_refresh='))).toBe(true);
      expect((await bea.call('GET', '/auth/me')).status).toBe(200);
      expect((await bea.call('POST', '/auth/refresh')).status).toBe(200);

      const other = browser(each.server);
      const res = await passkeyLogin(key.get(await signInOptions()), other);
      expect(res.status).toBe(200);
      expect(res.json().accessToken).toBeUndefined();
      expect((await other.call('GET', '/auth/me')).json().claims.amr).toEqual(['hwk', 'user']);
      // Removing it from the cookie session: 204, this session's fresh cookies, the other ends.
      const removed = await bea.call('DELETE', `/auth/passkeys/${added.json().id}`, {});
      expect(removed.status).toBe(204);
      expect(removed.cookies.some((c) => c.startsWith('__Secure-nb_refresh='))).toBe(true);
      expect((await bea.call('GET', '/auth/me')).status).toBe(200);
      expect((await other.call('GET', '/auth/me')).status).toBe(401);
    });

    it('adding a passkey ends every other session; this one lives on with fresh tokens', async () => {
      const here = await signup('cy@example.com');
      const elsewhere = await login('cy@example.com');
      const before = here.access;
      expect((await register(here, new SoftAuthenticator(PUBLIC_URL))).status).toBe(201);
      expect(here.access).not.toBe(before);
      expect((await here.call('GET', '/auth/me')).status).toBe(200);
      expect((await elsewhere.call('GET', '/auth/me')).status).toBe(401);
      const old = await api(each.server).call('GET', '/auth/me', undefined, {
        authorization: `Bearer ${before}`,
      });
      expect(old.status).toBe(401);
      expect(
        (await api(each.server).call('POST', '/auth/refresh', { refreshToken: here.refresh }))
          .status,
      ).toBe(200);
    });

    it('registration needs a step-up once the sign-in is old', async () => {
      const dee = await signup('dee@example.com');
      each.clock.advance(700_000); // past reauthWindow (600 s)
      await dee.call('POST', '/auth/refresh', {
        refreshToken: dee.refresh,
      });
      const refused = await dee.call('POST', '/auth/passkeys/register/options', {});
      expect(refused.status).toBe(403);
      expect(refused.json().error.code).toBe('REAUTHENTICATION_REQUIRED');
      const wrong = await dee.call('POST', '/auth/passkeys/register/options', {
        password: 'nope nope nope',
      });
      expect(wrong.json().error.code).toBe('INVALID_CREDENTIALS');
      const ok = await dee.call('POST', '/auth/passkeys/register/options', { password: PASSWORD });
      expect(ok.status).toBe(200);
    });

    it('a registration challenge is bound to its session, used once, and lives 5 minutes', async () => {
      const eve = await signup('eve@example.com');
      const otherSession = await login('eve@example.com');
      const key = new SoftAuthenticator(PUBLIC_URL);
      const options = (await eve.call('POST', '/auth/passkeys/register/options', {})).json();
      const response = key.create(options);
      // Another session of the same user cannot finish this ceremony.
      const stolen = await otherSession.call('POST', '/auth/passkeys/register', { response });
      expect(stolen.status).toBe(401);
      expect(stolen.json().error.code).toBe('INVALID_CREDENTIALS');
      // …and the attempt spent the challenge.
      expect((await eve.call('POST', '/auth/passkeys/register', { response })).status).toBe(401);

      const late = (await eve.call('POST', '/auth/passkeys/register/options', {})).json();
      each.clock.advance(300_000);
      const expired = await eve.call('POST', '/auth/passkeys/register', {
        response: key.create(late),
      });
      expect(expired.json().error.code).toBe('INVALID_CREDENTIALS');
      expect((await eve.call('GET', '/auth/passkeys')).json().passkeys).toEqual([]);
    });

    it('a registration from another origin or relying party is refused', async () => {
      const fay = await signup('fay@example.com');
      const phish = new SoftAuthenticator('https://auth.example.test.evil.example');
      for (const lies of [
        { origin: 'https://evil.example' },
        { rpId: 'evil.example' },
        { type: 'webauthn.get' },
        { unverified: true },
      ]) {
        const res = await register(fay, phish, lies);
        expect(res.status, JSON.stringify(lies)).toBe(401);
        expect(res.json().error.code).toBe('INVALID_CREDENTIALS');
      }
      expect((await fay.call('GET', '/auth/passkeys')).json().passkeys).toEqual([]);
    });

    it('an assertion is single use: replayed, it is refused', async () => {
      await signup('gus@example.com').then((c) => register(c, new SoftAuthenticator(PUBLIC_URL)));
      const key = new SoftAuthenticator(PUBLIC_URL);
      const gus = await login('gus@example.com');
      expect((await register(gus, key)).status).toBe(201);
      const assertion = key.get(await signInOptions());
      expect((await passkeyLogin(assertion)).status).toBe(200);
      const replay = await passkeyLogin(assertion);
      expect(replay.status).toBe(401);
      expect(replay.json().error.code).toBe('INVALID_CREDENTIALS');
    });

    it('one assertion sent 20 times at once signs in exactly once', async () => {
      const key = new SoftAuthenticator(PUBLIC_URL);
      expect((await register(await signup('rae@example.com'), key)).status).toBe(201);
      const assertion = key.get(await signInOptions());
      const answers = await Promise.all(Array.from({ length: 20 }, () => passkeyLogin(assertion)));
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      for (const r of answers.filter((a) => a.status !== 200))
        expect(['INVALID_CREDENTIALS', 'RATE_LIMITED']).toContain(r.json().error.code);
    });

    it('hostile assertions: origin, relying party, type, challenge, user verification, counter', async () => {
      const key = new SoftAuthenticator(PUBLIC_URL, { counting: true });
      expect((await register(await signup('hal@example.com'), key)).status).toBe(201);
      const refusedWith = async (lies: Lies) => {
        // Past the back-off that each failure from this client adds (see the throttle case).
        each.clock.advance(60_000);
        const res = await passkeyLogin(key.get(await signInOptions(), lies));
        expect(res.status, JSON.stringify(lies)).toBe(401);
        expect(res.json().error.code).toBe('INVALID_CREDENTIALS');
      };
      await refusedWith({ origin: 'https://evil.example' });
      await refusedWith({ origin: 'http://auth.example.test' });
      await refusedWith({ rpId: 'example.test' });
      await refusedWith({ type: 'webauthn.create' });
      await refusedWith({ unverified: true });
      // A challenge this server never issued.
      each.clock.advance(60_000);
      const forged = key.get({ challenge: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
      expect((await passkeyLogin(forged)).json().error.code).toBe('INVALID_CREDENTIALS');
      // Each get above counted on (the server stored none of them): 7 now; a cloned
      // authenticator that reports less is refused.
      each.clock.advance(60_000);
      expect((await passkeyLogin(key.get(await signInOptions()))).status).toBe(200);
      await refusedWith({ counter: 3 });
      // Refusals spend no sign-in: the real authenticator goes on.
      each.clock.advance(60_000);
      expect((await passkeyLogin(key.get(await signInOptions()))).status).toBe(200);
    });

    it('malformed WebAuthn answers are VALIDATION_FAILED, never a 500', async () => {
      const key = new SoftAuthenticator(PUBLIC_URL);
      expect((await register(await signup('ida@example.com'), key)).status).toBe(201);
      const good = key.get(await signInOptions());
      const cases: unknown[] = [
        null,
        'a string',
        {},
        { ...good, rawId: 'other' },
        { ...good, type: 'password' },
        { ...good, id: 'not base64url!' },
        { ...good, response: null },
        { ...good, response: { ...good.response, clientDataJSON: 'bm90IGpzb24' } },
        {
          ...good,
          response: {
            ...good.response,
            clientDataJSON: Buffer.from('{"challenge":1}').toString('base64url'),
          },
        },
        { ...good, response: { ...good.response, signature: 42 } },
        { ...good, response: { ...good.response, authenticatorData: undefined } },
        { ...good, response: { ...good.response, userHandle: '***' } },
      ];
      for (const response of cases) {
        const res = await passkeyLogin(response);
        expect(res.status, JSON.stringify(response)).toBe(400);
        expect(res.json().error.code).toBe('VALIDATION_FAILED');
      }
      // Well-formed base64url that decodes to garbage: a failed assertion.
      for (const field of ['authenticatorData', 'signature'] as const) {
        const res = await passkeyLogin({
          ...good,
          response: { ...good.response, [field]: 'AAAA' },
        });
        expect(res.json().error.code, field).toBe('INVALID_CREDENTIALS');
      }
    });

    it('sign-in by email: that account only; an unknown email looks the same', async () => {
      const jo = new SoftAuthenticator(PUBLIC_URL);
      const kim = new SoftAuthenticator(PUBLIC_URL);
      expect((await register(await signup('jo@example.com'), jo)).status).toBe(201);
      expect((await register(await signup('kim@example.com'), kim)).status).toBe(201);
      await signup('lee@example.com'); // no passkey

      const forJo = await signInOptions({ email: 'Jo@Example.com' });
      expect(forJo.allowCredentials).toEqual([
        {
          id: jo.credentials[0]?.id.toString('base64url'),
          type: 'public-key',
          transports: ['internal', 'hybrid'],
        },
      ]);
      // Kim's passkey cannot answer a ceremony started for Jo.
      const crossed = await passkeyLogin(kim.get({ challenge: forJo.challenge }));
      expect(crossed.json().error.code).toBe('INVALID_CREDENTIALS');
      expect(
        (await passkeyLogin(jo.get(await signInOptions({ email: 'jo@example.com' })))).status,
      ).toBe(200);

      for (const email of ['nobody@example.com', 'lee@example.com']) {
        const first = await signInOptions({ email });
        const second = await signInOptions({ email });
        expect(Object.keys(first).sort()).toEqual(Object.keys(forJo).sort());
        expect(first.allowCredentials.length).toBeGreaterThan(0);
        for (const c of first.allowCredentials) {
          expect(c).toEqual({
            id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$|^[A-Za-z0-9_-]{43}$/),
            type: 'public-key',
            transports: expect.any(Array),
          });
        }
        expect(second.allowCredentials).toEqual(first.allowCredentials);
        expect(second.challenge).not.toBe(first.challenge);
      }
      const invalid = await api(each.server).call('POST', '/auth/passkeys/login/options', {
        email: 'not an email',
      });
      expect(invalid.json().error.code).toBe('VALIDATION_FAILED');
    });

    it('a disabled account cannot sign in with its passkey', async () => {
      const key = new SoftAuthenticator(PUBLIC_URL);
      const max = await signup('max@example.com');
      expect((await register(max, key)).status).toBe(201);
      const id = (await max.call('GET', '/auth/me')).json().user.id;
      await each.auth.disableUser(id);
      const res = await passkeyLogin(key.get(await signInOptions()));
      expect(res.status).toBe(403);
      expect(res.json().error.code).toBe('ACCOUNT_DISABLED');
    });

    it('remove: step-up, other sessions end, and the passkey no longer signs in', async () => {
      const key = new SoftAuthenticator(PUBLIC_URL);
      const ned = await signup('ned@example.com');
      const added = await register(ned, key);
      const { id } = added.json();
      const elsewhere = await login('ned@example.com');
      const captured = key.get(await signInOptions());
      each.clock.advance(700_000);
      await ned.call('POST', '/auth/refresh', {
        refreshToken: ned.refresh,
      });
      const refused = await ned.call('DELETE', `/auth/passkeys/${id}`, {});
      expect(refused.json().error.code).toBe('REAUTHENTICATION_REQUIRED');
      const removed = await ned.call('DELETE', `/auth/passkeys/${id}`, { password: PASSWORD });
      expect(removed.status).toBe(200);
      expect(removed.json().accessToken).toEqual(expect.any(String));
      expect((await ned.call('GET', '/auth/me')).status).toBe(200);
      expect((await elsewhere.call('GET', '/auth/me')).status).toBe(401);
      expect((await ned.call('GET', '/auth/passkeys')).json().passkeys).toEqual([]);
      expect((await passkeyLogin(captured)).json().error.code).toBe('INVALID_CREDENTIALS');
      const again = await ned.call('DELETE', `/auth/passkeys/${id}`, { password: PASSWORD });
      expect(again.status).toBe(404);
      const odd = await ned.call('DELETE', '/auth/passkeys/not%20an%20id', { password: PASSWORD });
      expect([400, 404]).toContain(odd.status);
    });

    it("one user cannot remove another's passkey", async () => {
      const key = new SoftAuthenticator(PUBLIC_URL);
      const { id } = (await register(await signup('ola@example.com'), key)).json();
      const pat = await signup('pat@example.com');
      const res = await pat.call('DELETE', `/auth/passkeys/${id}`, {});
      expect(res.status).toBe(404);
      expect((await passkeyLogin(key.get(await signInOptions()))).status).toBe(200);
    });

    it('failed passkey sign-ins are throttled per client, like wrong passwords', async () => {
      const key = new SoftAuthenticator(PUBLIC_URL);
      expect((await register(await signup('quin@example.com'), key)).status).toBe(201);
      const codes: string[] = [];
      for (let i = 0; i < 7; i++) {
        const res = await passkeyLogin(
          key.get(await signInOptions(), { origin: 'https://evil.example' }),
        );
        codes.push(res.json().error.code);
      }
      expect(codes.slice(0, 5)).toEqual(Array(5).fill('INVALID_CREDENTIALS'));
      expect(codes.at(-1)).toBe('RATE_LIMITED');
    });
  });

  describe('passkeys without publicUrl', () => {
    it('answer NOT_FOUND: no relying party is guessed from the request', async () => {
      const made = await makeAuth({}, makeStore);
      try {
        const s = await start(made.auth);
        const res = await api(s).call('POST', '/auth/passkeys/login/options', {});
        expect(res.status).toBe(404);
        expect(res.json().error.code).toBe('NOT_FOUND');
      } finally {
        await made.close();
      }
    });
  });
}
