import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/clock.js';
import { ACCESS_COOKIE } from '../../src/http/cookies.js';
import { type NotbeforeEnv, notbeforeRoutes } from '../../src/http/hono.js';
import type { Auth } from '../../src/sessions/types.js';
import { makeAuth, PASSWORD, readStream } from './harness.js';

/** The runtime's own Response: once node-server has swapped the global, it stays swapped. */
const RuntimeResponse = globalThis.Response;

/**
 * On @hono/node-server the event stream is written straight to the Node response (the
 * Web-stream path stays for every other runtime and app.request, which the shared route
 * suite drives). Both must answer alike, whether node-server swaps the global Response for
 * its lightweight one while it serves (the default) or not.
 */
describe.each([{ overrideGlobalObjects: false }, { overrideGlobalObjects: true }])(
  'hono on @hono/node-server (%o): event streams',
  ({ overrideGlobalObjects }) => {
    let auth: Auth;
    let clock: ManualClock;
    let closeAuth: () => Promise<void>;
    let open: number;
    let routes: ReturnType<typeof notbeforeRoutes>;
    let app: Hono<NotbeforeEnv>;
    let base: string;
    let port: number;
    let server: ReturnType<typeof serve>;

    beforeEach(async () => {
      ({ auth, clock, close: closeAuth } = await makeAuth());
      open = 0;
      routes = notbeforeRoutes(auth, {
        clock,
        rateLimit: 0,
        heartbeatMs: 60_000,
        metrics: { contentType: 'text/plain', render: () => '', eventStreams: (d) => (open += d) },
      });
      app = new Hono<NotbeforeEnv>();
      // Headers the app's middleware sets before the route are part of the stream's answer;
      // `cors()` sets them on `c.res`, which makes Hono copy the route's answer.
      app.use('*', cors());
      app.use('*', async (c, next) => {
        c.header('x-app', 'kept');
        await next();
      });
      app.route('/', routes);
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', overrideGlobalObjects });
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      port = (server.address() as AddressInfo).port;
      expect(globalThis.Response === RuntimeResponse).toBe(!overrideGlobalObjects);
      base = `http://127.0.0.1:${port}`;
    });

    afterEach(async () => {
      routes.close();
      await new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections(): void }).closeAllConnections();
        server.close(() => resolve());
      });
      await closeAuth();
    });

    const token = async (): Promise<string> => {
      await auth.signup({ email: 'ann@example.com', password: PASSWORD });
      return (await auth.login({ email: 'ann@example.com', password: PASSWORD })).accessToken;
    };

    /** Headers of an answer, without those each transport adds on its own. */
    const headersOf = (res: Response): Record<string, string> => {
      const out: Record<string, string> = {};
      for (const [name, value] of res.headers) {
        if (
          !['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length'].includes(
            name,
          )
        )
          out[name] = value;
      }
      return out;
    };

    const until = async (what: string, done: () => boolean): Promise<void> => {
      for (let waited = 0; !done(); waited += 10) {
        if (waited > 3000) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };

    /** What the server sends back to `request`, written as is, once `enough` says so. */
    const raw = (request: string, enough: (text: string) => boolean): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let text = '';
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`no full answer, only: ${text}`));
        }, 3000);
        socket.setEncoding('latin1');
        socket.on('error', reject);
        socket.on('data', (chunk: string) => {
          text += chunk;
          if (!enough(text)) return;
          clearTimeout(timer);
          socket.destroy();
          resolve(text);
        });
        socket.write(request);
      });

    /** The head of the answer to a GET /auth/events with these header lines (repeats kept). */
    const rawHead = async (lines: string[]): Promise<string> => {
      const text = await raw(
        `GET /auth/events HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.join('\r\n')}\r\n\r\n`,
        (sofar) => sofar.includes('\r\n\r\n'),
      );
      return text.slice(0, text.indexOf('\r\n\r\n'));
    };

    it('answers with the status, headers and retry frame of the Web-stream path', async () => {
      const access = await token();
      const headers = { authorization: `Bearer ${access}` };
      const web = await app.request('http://localhost/auth/events', { headers });
      const node = await fetch(`${base}/auth/events`, { headers });
      expect(node.status).toBe(200);
      expect(headersOf(node)).toEqual(headersOf(web));
      expect(headersOf(node)['x-app']).toBe('kept');
      expect(headersOf(node)['access-control-allow-origin']).toBe('*');
      const first = async (res: Response) =>
        new TextDecoder().decode((await res.body!.getReader().read()).value);
      expect(await first(node)).toBe(await first(web));
      await until('both streams to count open', () => open === 2);
    });

    it('sends session-revoked and ends; a client going away leaves the hub', async () => {
      const access = await token();
      const headers = { authorization: `Bearer ${access}` };
      const revoked = await fetch(`${base}/auth/events`, { headers });
      const reading = readStream(revoked);
      await until('the stream to open', () => open === 1);
      await auth.logoutAll((await auth.verify(access)).sub);
      const text = await reading;
      expect(text).toMatch(/^retry: 2000\n\n/);
      expect(text).toMatch(/event: session-revoked\ndata: \{.*\}\n\n$/);
      await until('the ended stream to leave the hub', () => open === 0);

      const fresh = (await auth.login({ email: 'ann@example.com', password: PASSWORD }))
        .accessToken;
      const leaving = await fetch(`${base}/auth/events`, {
        headers: { authorization: `Bearer ${fresh}` },
      });
      await until('the second stream to open', () => open === 1);
      await leaving.body?.cancel();
      await until('the stream the client left to leave the hub', () => open === 0);
    });

    it('refuses a stream with the answer the Web-stream path gives', async () => {
      const web = await app.request('http://localhost/auth/events');
      const node = await fetch(`${base}/auth/events`);
      expect(node.status).toBe(401);
      expect(headersOf(node)).toEqual(headersOf(web));
      expect(await node.text()).toBe(await web.text());
      expect(open).toBe(0);
    });

    it('ends a HEAD answer, as Hono does, so the connection serves the next request', async () => {
      const access = await token();
      const errors: unknown[] = [];
      const consoleError = console.error;
      console.error = (...args: unknown[]) => errors.push(args);
      try {
        const text = await raw(
          `HEAD /auth/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${access}\r\n\r\n` +
            'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
          (sofar) => sofar.split('HTTP/1.1 ').length > 2,
        );
        expect(text).toMatch(/^HTTP\/1\.1 200 [\s\S]*content-type: text\/event-stream/i);
        expect(text.split('HTTP/1.1 ')[2]).toMatch(/^200 /);
      } finally {
        console.error = consoleError;
      }
      expect(errors).toEqual([]);
    });

    it('reads repeated headers as a Fetch Headers joins them', async () => {
      const access = await token();
      // A cookie header split in two (as from an HTTP/2 proxy) is joined with "; ".
      const split = await rawHead(['Cookie: theme=dark', `Cookie: ${ACCESS_COOKIE}=${access}`]);
      expect(split).toMatch(/^HTTP\/1\.1 200 /);
      // Two Authorization headers are one invalid value ("Bearer a, Bearer a"), as on every
      // other runtime; Node's own `headers` would have kept the first.
      const twice = await rawHead([
        `Authorization: Bearer ${access}`,
        `Authorization: Bearer ${access}`,
      ]);
      expect(twice).toMatch(/^HTTP\/1\.1 401 /);
    });
  },
);
