/**
 * On @hono/node-server the event stream is written to the Node response directly and the
 * handler answers Hono with an "already sent" marker (src/http/hono-sse.ts). Middleware that
 * wraps or replaces the answer after `next()` (compress, etag, secureHeaders, timing …) must
 * not break that stream: each of Hono's own is mounted in front of the routes, alone and
 * all together, and a revocation must still arrive on the stream.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { compress } from 'hono/compress';
import { etag } from 'hono/etag';
import { logger } from 'hono/logger';
import { poweredBy } from 'hono/powered-by';
import { prettyJSON } from 'hono/pretty-json';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { timing } from 'hono/timing';
import { describe, expect, it } from 'vitest';
import { type NotbeforeEnv, notbeforeRoutes } from '../../src/http/hono.js';
import { makeAuth, PASSWORD } from './harness.js';

const MIDDLEWARE: Record<string, () => MiddlewareHandler> = {
  compress,
  etag,
  logger: () => logger(() => {}),
  poweredBy,
  prettyJSON,
  requestId,
  secureHeaders,
  timing,
};

describe('hono on @hono/node-server: event streams behind common middleware', () => {
  it.each([...Object.keys(MIDDLEWARE), 'all of them'])('%s', async (name) => {
    const { auth, clock, close } = await makeAuth();
    const routes = notbeforeRoutes(auth, { clock, rateLimit: 0, heartbeatMs: 60_000 });
    const app = new Hono<NotbeforeEnv>();
    for (const [each, make] of Object.entries(MIDDLEWARE))
      if (name === each || name === 'all of them') app.use('*', make());
    app.route('/', routes);
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    const stop = new AbortController();
    try {
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      const { port } = server.address() as AddressInfo;
      await auth.signup({ email: 'ann@example.com', password: PASSWORD });
      const signedIn = await auth.login({ email: 'ann@example.com', password: PASSWORD });
      const res = await fetch(`http://127.0.0.1:${port}/auth/events`, {
        headers: { authorization: `Bearer ${signedIn.accessToken}`, 'accept-encoding': 'gzip' },
        signal: stop.signal,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      expect(res.headers.get('content-encoding')).toBeNull();
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = decoder.decode((await reader.read()).value);
      expect(text).toContain('retry: ');
      await auth.logout(signedIn.session.sid);
      while (!text.includes('event: ')) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += decoder.decode(chunk.value);
      }
      expect(text).toMatch(/event: session-revoked\ndata: \{/);
    } finally {
      stop.abort();
      routes.close();
      (server as unknown as { closeAllConnections(): void }).closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await close();
    }
  });
});
