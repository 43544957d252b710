import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type RequestHandler } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { notbeforeRouter } from '../../src/http/express.js';
import { api, browser, fromResponse, makeAuth, PASSWORD, type TestServer } from './harness.js';

// Most Express apps mount body parsers before everything else. The router must answer the
// same whether or not one of them already read the body.
const PARSERS: Record<string, RequestHandler[]> = {
  'no parser': [],
  'express.json()': [express.json()],
  'express.urlencoded()': [express.urlencoded({ extended: false })],
  'json + urlencoded': [express.json(), express.urlencoded({ extended: true })],
  'express.text()': [express.text()],
  'express.raw() for every type': [express.raw({ type: () => true })],
};

interface Running extends TestServer {
  app: Express;
}

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

/** `before` run before the router, `after` between the router and the app's own routes. */
async function start(before: RequestHandler[], after: RequestHandler[] = []): Promise<Running> {
  const { auth, close } = await makeAuth();
  const app = express();
  for (const parser of before) app.use(parser);
  const router = notbeforeRouter(auth);
  app.use(router);
  for (const parser of after) app.use(parser);
  app.get('/app/private', router.authenticate, (req, res) => {
    res.json({ sub: req.auth?.sub });
  });
  app.post('/app/echo', (req, res) => {
    res.json({ body: req.body ?? null });
  });
  const http: Server = createServer(app);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  running.push(async () => {
    router.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    await close();
  });
  return {
    app,
    origin: base,
    async request(method, path, init = {}) {
      const res = await fetch(base + path, {
        method,
        headers: init.headers ?? {},
        ...(init.body === undefined ? {} : { body: init.body }),
      });
      return fromResponse(res);
    },
    stream: (path, headers = {}) => fetch(base + path, { headers }),
    close: async () => {},
  };
}

describe('Express router behind the app body parsers', () => {
  for (const [name, parsers] of Object.entries(PARSERS)) {
    it(`${name}: signup → login → refresh → password → protected route → logout → 401`, async () => {
      const server = await start(parsers);
      const client = api(server);
      const email = 'ann@example.com';
      expect(
        (await client.call('POST', '/auth/signup', { email, password: PASSWORD })).status,
      ).toBe(201);
      const login = await client.call('POST', '/auth/login', {
        email,
        password: PASSWORD,
        device: 'test',
      });
      expect(login.status).toBe(200);
      const refreshed = await client.call('POST', '/auth/refresh', {
        refreshToken: client.refresh,
      });
      expect(refreshed.status).toBe(200);
      const changed = await client.call('POST', '/auth/password', {
        currentPassword: PASSWORD,
        newPassword: `${PASSWORD} again`,
      });
      expect(changed.status).toBe(200);
      const me = await client.call('GET', '/app/private');
      expect(me.status).toBe(200);
      expect(me.json().sub).toEqual(expect.any(String));
      expect((await client.call('POST', '/auth/logout')).status).toBe(204);
      const after = await client.call('GET', '/app/private');
      expect(after.status).toBe(401);
      expect(after.json().error.code).toBe('TOKEN_REVOKED');
    });

    it(`${name}: a browser sign-in (cookies, CSRF) and a form post still refused`, async () => {
      const server = await start(parsers);
      const b = browser(server);
      const email = 'bob@example.com';
      expect((await b.call('POST', '/auth/signup', { email, password: PASSWORD })).status).toBe(
        201,
      );
      expect((await b.call('POST', '/auth/logout')).status).toBe(204);
      const form = await server.request('POST', '/auth/login', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email, password: PASSWORD }).toString(),
      });
      expect(form.status).toBe(400);
      expect(form.json().error).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(form.json().error.message).toMatch(/application\/json/);
      const broken = await server.request('POST', '/auth/login', {
        headers: { 'content-type': 'application/json' },
        body: '{"email": ',
      });
      // express.json() answers malformed JSON itself (its 400); the router never sees it.
      expect(broken.status).toBe(400);
    });
  }

  it('a body over the router limit is refused even when express.json() allowed it', async () => {
    const server = await start([express.json({ limit: '1mb' })]);
    const res = await server.request('POST', '/auth/login', {
      headers: { 'content-type': 'application/json', 'x-auth-transport': 'bearer' },
      body: JSON.stringify({ email: 'ann@example.com', password: 'x'.repeat(20_000) }),
    });
    expect(res.status).toBe(400);
    expect(res.json().error.message).toMatch(/too large/);
  });

  it('mounted before express.json(): the router reads its own bodies and leaves the app its own', async () => {
    const server = await start([], [express.json()]);
    const client = api(server);
    const signup = await client.call('POST', '/auth/signup', {
      email: 'cy@example.com',
      password: PASSWORD,
    });
    expect(signup.status).toBe(201);
    const echo = await server.request('POST', '/app/echo', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(echo.json()).toEqual({ body: { hello: 'world' } });
  });
});
