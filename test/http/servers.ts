import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { notbeforeRouter } from '../../src/http/express.js';
import { frameworkErrors, notbefore } from '../../src/http/fastify.js';
import { notbeforeRoutes } from '../../src/http/hono.js';
import { fromResponse, type MakeServer, type TestServer } from './harness.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** Fastify, driven by inject(); event streams need a real socket. */
export const makeFastify: MakeServer = async (auth, options) => {
  // As documented for the plugin: malformed URLs are answered before any plugin runs.
  // forceCloseConnections: a stream the test client cancelled can leave its socket open
  // for undici's keep-alive timeout (4 s), which close() would otherwise wait out.
  const app = Fastify({ frameworkErrors, forceCloseConnections: true });
  await app.register(notbefore, { ...options, auth });
  app.get('/app/private', { preHandler: app.authenticate }, async (request) => ({
    sub: request.auth?.sub,
  }));
  app.post('/app/private', { preHandler: app.authenticate }, async (request) => ({
    sub: request.auth?.sub,
  }));
  let base: string | undefined;
  const server: TestServer = {
    origin: 'http://localhost:80',
    async request(method, path, init = {}) {
      const res = await app.inject({
        method: method as 'GET',
        url: path,
        headers: init.headers ?? {},
        ...(init.body === undefined ? {} : { payload: init.body }),
      });
      const headers = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        if (Array.isArray(value)) for (const v of value) headers.append(name, v);
        else if (value !== undefined) headers.set(name, String(value));
      }
      return fromResponse(
        new Response(res.statusCode === 204 ? null : new Uint8Array(res.rawPayload), {
          status: res.statusCode,
          headers,
        }),
      );
    },
    async stream(path, headers = {}, method = 'GET') {
      base ??= await app.listen({ port: 0, host: '127.0.0.1' });
      return fetch(base + path, { headers, method });
    },
    close: () => app.close(),
  };
  return server;
};

/** Express 5 on an ephemeral port, driven by fetch. */
export const makeExpress: MakeServer = async (auth, options) => {
  const app = express();
  app.disable('x-powered-by');
  const router = notbeforeRouter(auth, options);
  app.use(router);
  app.get('/app/private', router.authenticate, (req, res) => {
    res.json({ sub: req.auth?.sub });
  });
  app.post('/app/private', router.authenticate, (req, res) => {
    res.json({ sub: req.auth?.sub });
  });
  const http = createServer(app);
  const base = await listen(http);
  return {
    origin: base,
    async request(method, path, init = {}) {
      const res = await fetch(base + path, {
        method,
        headers: init.headers ?? {},
        ...(init.body === undefined ? {} : { body: init.body }),
        redirect: 'manual',
      });
      return fromResponse(res);
    },
    stream: (path, headers = {}, method = 'GET') => fetch(base + path, { headers, method }),
    async close() {
      router.close();
      await closeServer(http);
    },
  };
};

/** Hono, driven by app.request(): Web Requests in, Web Responses out. */
export const makeHono: MakeServer = async (auth, options) => {
  // app.request() has no socket: the address comes from the documented option.
  const routes = notbeforeRoutes(auth, { ...options, clientAddress: () => '192.0.2.1' });
  routes.get('/app/private', routes.authenticate, (c) => c.json({ sub: c.get('auth')?.sub }));
  routes.post('/app/private', routes.authenticate, (c) => c.json({ sub: c.get('auth')?.sub }));
  const origin = 'http://localhost';
  return {
    origin,
    async request(method, path, init = {}) {
      const res = await routes.request(origin + path, {
        method,
        headers: init.headers ?? {},
        ...(init.body === undefined ? {} : { body: init.body }),
      });
      return fromResponse(res);
    },
    stream: async (path, headers = {}, method = 'GET') =>
      routes.request(origin + path, { headers, method }),
    async close() {
      routes.close();
    },
  };
};
