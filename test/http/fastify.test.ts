import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameworkErrors, notbefore } from '../../src/http/fastify.js';
import { makeAuth } from './harness.js';
import { describeRoutes } from './routes.js';
import { makeFastify } from './servers.js';

describeRoutes('fastify', makeFastify);

/**
 * Fastify answers a URL it cannot decode while routing, before any plugin runs, so only
 * the server option `frameworkErrors` reaches that answer (the route suite covers URLs
 * that reach a route; these reach none).
 */
describe('fastify: frameworkErrors', () => {
  let close: () => Promise<void>;
  let app: ReturnType<typeof Fastify>;
  beforeAll(async () => {
    const made = await makeAuth();
    close = made.close;
    app = Fastify({ frameworkErrors });
    await app.register(notbefore, { auth: made.auth, clock: made.clock, rateLimit: 0 });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await close();
  });

  it('a malformed URL outside every route is answered in the contract shape', async () => {
    for (const url of [
      '/auth/%E0%A4%A',
      '/%ZZ',
      '/auth/me%',
      '/auth/%ED%A0%80',
      `/auth/sessions/${'a'.repeat(200)}`, // past the router's maxParamLength
    ]) {
      const res = await app.inject({ method: url.includes('sessions') ? 'DELETE' : 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toEqual({
        error: { code: 'VALIDATION_FAILED', message: expect.any(String) },
      });
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });
});
