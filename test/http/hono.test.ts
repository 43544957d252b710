import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/clock.js';
import { type NotbeforeHonoOptions, notbeforeRoutes } from '../../src/http/hono.js';
import type { Auth } from '../../src/sessions/types.js';
import { makeAuth, PASSWORD } from './harness.js';
import { describeRoutes } from './routes.js';
import { makeHono } from './servers.js';

describeRoutes('hono', makeHono);

/**
 * Hono runs where no socket is at hand (Bun, Deno, workers, app.request). The client
 * address keys the per-address sign-in limit; an unknown one must never pool every
 * client into one bucket that one attacker can fill for all.
 */
describe('hono: the client address', () => {
  let auth: Auth;
  let clock: ManualClock;
  let closeAuth: () => Promise<void>;
  beforeEach(async () => {
    ({ auth, clock, close: closeAuth } = await makeAuth());
  });
  afterEach(() => closeAuth());

  const login = (
    routes: ReturnType<typeof notbeforeRoutes>,
    email: string,
    headers: Record<string, string> = {},
  ) =>
    routes.request('http://localhost/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-transport': 'bearer', ...headers },
      body: JSON.stringify({ email, password: 'not the password at all' }),
    });
  const build = (options: NotbeforeHonoOptions) => {
    const errors: unknown[] = [];
    const routes = notbeforeRoutes(auth, {
      clock,
      onError: (e) => errors.push(e),
      ...options,
    });
    return { routes, errors };
  };

  it('4.1.3: without an address source, unknown clients do not share one rate-limit bucket', async () => {
    const { routes, errors } = build({ rateLimit: 1 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1)
        statuses.push((await login(routes, `u${i}@example.com`)).status);
      // Before: the second stranger got 429, locked out by the first.
      expect(statuses).toEqual([401, 401, 401, 401]);
      expect(errors).toHaveLength(1);
      expect(String(errors[0])).toMatch(/clientAddress/);
    } finally {
      routes.close();
    }
  });

  it('6.3.1: an unknown address still meets the per-account throttle', async () => {
    await auth.signup({ email: 'ann@example.com', password: PASSWORD });
    const { routes } = build({ rateLimit: 1 });
    try {
      let status = 0;
      for (let i = 0; i < 12 && status !== 429; i += 1) {
        const res = await login(routes, 'ann@example.com');
        status = res.status;
        if (status === 429) expect((await res.json()).error.code).toBe('RATE_LIMITED');
      }
      expect(status).toBe(429);
    } finally {
      routes.close();
    }
  });

  it('4.1.3: the clientAddress option keys the per-address limit', async () => {
    const { routes, errors } = build({
      rateLimit: 1,
      clientAddress: (c) => c.req.header('x-test-peer'),
    });
    try {
      expect((await login(routes, 'a@example.com', { 'x-test-peer': '192.0.2.1' })).status).toBe(
        401,
      );
      const again = await login(routes, 'b@example.com', { 'x-test-peer': '192.0.2.1' });
      expect(again.status).toBe(429);
      expect((await again.json()).error.code).toBe('RATE_LIMITED');
      expect((await login(routes, 'c@example.com', { 'x-test-peer': '192.0.2.2' })).status).toBe(
        401,
      );
      expect(errors).toEqual([]);
    } finally {
      routes.close();
    }
  });

  it('4.1.3: on @hono/node-server the socket address is the default', async () => {
    const { routes, errors } = build({ rateLimit: 1 });
    const server = serve({ fetch: routes.fetch, port: 0, hostname: '127.0.0.1' });
    try {
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const attempt = (email: string) =>
        fetch(`${base}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-auth-transport': 'bearer' },
          body: JSON.stringify({ email, password: 'not the password at all' }),
        });
      expect((await attempt('a@example.com')).status).toBe(401);
      expect((await attempt('b@example.com')).status).toBe(429);
      expect(errors).toEqual([]);
    } finally {
      routes.close();
      await new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      });
    }
  });
});
