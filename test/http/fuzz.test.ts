import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UndeclaredErrorCode } from '../../src/http/routes/index.js';
import type { Auth } from '../../src/sessions/types.js';
import { makeAuth, type TestServer } from './harness.js';
import { makeHono } from './servers.js';

const ROUTES = [
  ['POST', '/auth/signup'],
  ['POST', '/auth/login'],
  ['POST', '/auth/refresh'],
  ['POST', '/auth/logout'],
  ['POST', '/auth/logout-all'],
  ['POST', '/auth/password'],
  ['GET', '/auth/me'],
  ['GET', '/auth/sessions'],
  ['DELETE', '/auth/sessions/x'],
  ['DELETE', '/auth/account'],
  ['PUT', '/admin/users/x/roles'],
  ['POST', '/admin/revoke-everyone'],
] as const;

/** Habit 3: hostile input anywhere in a request yields a 4xx with a code, never a 500. */
describe('fuzz: no input makes a 500', () => {
  let auth: Auth;
  let closeAuth: () => Promise<void>;
  let server: TestServer;
  /** Hostile input must still meet only the codes each route declares (its OpenAPI entry). */
  const undeclared: string[] = [];
  beforeAll(async () => {
    ({ auth, close: closeAuth } = await makeAuth());
    server = await makeHono(auth, {
      rateLimit: 0,
      onError: (error) => {
        if (error instanceof UndeclaredErrorCode) undeclared.push(error.message);
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await closeAuth();
  });

  it('arbitrary bodies, cookies, Authorization and CSRF headers', async () => {
    const text = fc.oneof(fc.string({ maxLength: 200 }), fc.json({ maxDepth: 3 }));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.constantFrom(
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/json; charset=latin1',
        ),
        text,
        fc.option(fc.string({ maxLength: 100 }), { nil: undefined }),
        fc.option(fc.string({ maxLength: 100 }), { nil: undefined }),
        fc.boolean(),
        async ([method, path], type, body, authz, cookie, bearer) => {
          const headers: Record<string, string> = { 'content-type': type };
          const clean = (s: string) => s.replace(/[^\x20-\x7e]/g, '');
          if (authz !== undefined) headers.authorization = clean(authz);
          if (cookie !== undefined) {
            headers.cookie = `__Host-nb_access=${clean(cookie)}; __Host-nb_csrf=${clean(cookie)}`;
            headers['x-csrf-token'] = clean(cookie);
          }
          if (bearer) headers['x-auth-transport'] = 'bearer';
          const res = await server.request(
            method,
            path,
            method === 'GET' ? { headers } : { headers, body },
          );
          expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          expect(res.json().error.code).toEqual(expect.any(String));
        },
      ),
      { numRuns: 300 },
    );
    expect(undeclared).toEqual([]);
  });
});
