/**
 * `notbefore/hono`: the auth routes as a Hono app, with `routes.authenticate` middleware for the
 * app's own routes (`c.get('auth')`). Needs `hono`; on Node, serve with `@hono/node-server`.
 *
 * @module notbefore/hono
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AuthError } from '../errors.js';
import type { Auth } from '../sessions/types.js';
import type { AccessTokenClaims } from '../tokens/types.js';
import { createContext, type HttpOptions } from './core.js';
import { nodeBindings } from './hono-node.js';
import { honoEventStream } from './hono-sse.js';
import {
  authenticateRequest,
  frameworkError,
  isResponse,
  metricsResponse,
  pageResponse,
  payload,
  toldOnceWhenUnknown,
} from './kit.js';
import type { HttpRequest } from './request.js';
import { errorResponse, type HttpResponse } from './response.js';
import { openStream, ROUTES, runRoute } from './routes/index.js';

/**
 * The Hono environment of the routes and their middleware: after `authenticate`,
 * `c.get('auth')` holds the verified access-token claims.
 */
export interface NotbeforeEnv {
  Variables: { auth: AccessTokenClaims | null };
}

/**
 * Options of {@link notbeforeRoutes}: those every adapter takes, except `auth` (the first
 * argument), and how to find the client's address off Node.
 */
export interface NotbeforeHonoOptions extends Omit<HttpOptions, 'auth'> {
  /**
   * The client's address, which keys the per-address sign-in rate limit and the store's
   * per-client throttle. Default: the socket of @hono/node-server (`c.env.incoming`).
   * On other runtimes pass one (e.g. from `getConnInfo` of `hono/bun`, `hono/deno`, or a
   * header your edge proxy sets). A request whose address is unknown (undefined or '')
   * skips the per-address limits: pooling every unknown client under one key would let
   * one attacker lock everybody out. The per-account throttle applies to it all the same,
   * and `onError` is told once that addresses are missing.
   */
  clientAddress?: (c: Context) => string | undefined;
  /** @deprecated Use `clientAddress`. */
  remoteAddress?: (c: Context) => string | undefined;
}

/**
 * What {@link notbeforeRoutes} returns: a Hono app with the auth routes, to mount at `/`, and the
 * middleware that guards the app's own routes.
 */
export type NotbeforeRoutes = Hono<NotbeforeEnv> & {
  /** Middleware for the app's own routes: 401/403 unless a valid access token. */
  authenticate: MiddlewareHandler<NotbeforeEnv>;
  /** Ends open event streams and stops listening for revocations. */
  close(): void;
};

/** What @hono/node-server's `getConnInfo` reads; undefined on other runtimes. */
const nodePeer = (c: Context): string | undefined =>
  nodeBindings(c)?.incoming?.socket?.remoteAddress;

type Peer = (c: Context) => string | undefined;

/** What a Fetch `Headers` trims off a value (HTTP whitespace only, unlike `trim()`). */
const HTTP_SPACE_AROUND = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/**
 * The headers as a Fetch `Headers` gives them: lower-case names, repeated ones joined with
 * ", " ("; " for cookies). On @hono/node-server they are read off the Node request, since
 * `c.req.raw.headers` builds a `Headers` that node-server keeps with the request for as long
 * as the response is open: an event stream's lifetime.
 */
function requestHeaders(c: Context): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  const raw = nodeBindings(c)?.incoming?.rawHeaders;
  if (raw === undefined) {
    c.req.raw.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return headers;
  }
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    // HTTP/2 pseudo-headers (:path, :authority) are not headers.
    if (name.startsWith(':')) continue;
    const value = raw[i + 1]!.replace(HTTP_SPACE_AROUND, '');
    const prior = Object.hasOwn(headers, name) ? headers[name] : undefined;
    headers[name] =
      prior === undefined ? value : `${prior}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return headers;
}

async function toRequest(c: Context, peer: Peer, withBody = true): Promise<HttpRequest> {
  const headers = requestHeaders(c);
  // app.request() and some runtimes leave Host out; the URL always has it.
  headers.host ??= new URL(c.req.url).host;
  const hasBody =
    withBody && c.req.method !== 'GET' && c.req.method !== 'HEAD' && c.req.raw.body !== null;
  return {
    method: c.req.method,
    path: c.req.path,
    params: c.req.param() as Record<string, string>,
    headers,
    body: hasBody ? await c.req.text() : undefined,
    remoteAddress: peer(c),
  };
}

function send(_c: Context, res: HttpResponse): Response {
  const headers = new Headers(res.headers);
  for (const cookie of res.cookies) headers.append('set-cookie', cookie);
  const { bytes, type } = payload(res);
  if (type !== undefined) headers.set('content-type', type);
  return new Response(bytes === undefined ? null : new Uint8Array(bytes), {
    status: res.status,
    headers,
  });
}

/**
 * The notbefore routes as a Hono app (mount with `app.route('/', routes)`).
 *
 * @param auth - The service from `createAuth` (or `instrumentAuth(auth, metrics)`).
 * @param options - Off `@hono/node-server`, `clientAddress` at least.
 * @example
 * ```ts
 * import { serve } from '@hono/node-server';
 * import { Hono } from 'hono';
 * import { type NotbeforeEnv, notbeforeRoutes } from 'notbefore/hono';
 *
 * const app = new Hono<NotbeforeEnv>();
 * const routes = notbeforeRoutes(auth);
 * app.route('/', routes);
 * app.get('/api/orders', routes.authenticate, (c) => c.json({ user: c.get('auth')?.sub }));
 * serve({ fetch: app.fetch, port: 3000 });
 * ```
 */
export function notbeforeRoutes(auth: Auth, options: NotbeforeHonoOptions = {}): NotbeforeRoutes {
  const ctx = createContext({ ...options, auth });
  const peer = toldOnceWhenUnknown(
    ctx,
    options.clientAddress ?? options.remoteAddress ?? nodePeer,
    'notbefore/hono: no client address (not on @hono/node-server and no clientAddress ' +
      'option); the per-address sign-in rate limit is skipped for such requests.',
  );
  const app = new Hono<NotbeforeEnv>() as NotbeforeRoutes;
  const limit = bodyLimit({
    maxSize: ctx.bodyLimit,
    onError: (c) =>
      send(c, errorResponse(new AuthError('VALIDATION_FAILED', 'The request body is too large.'))),
  });

  for (const route of ROUTES) {
    // An event stream reads no body, and skips the limit: its `raw.body` check would make
    // @hono/node-server build a whole Fetch Request, kept for as long as the stream is open.
    const handle = async (c: Context<NotbeforeEnv>) => {
      const req = await toRequest(c, peer);
      if (route.stream !== true) return send(c, await runRoute(ctx, route, req));
      const opened = openStream(ctx, route, req);
      return isResponse(opened) ? send(c, opened) : honoEventStream(ctx, c, opened);
    };
    if (route.stream === true) app.on(route.method, route.path, handle);
    else app.on(route.method, route.path, limit, handle);
  }
  if (ctx.options.metrics !== undefined) {
    app.get('/metrics', async (c) => send(c, await metricsResponse(ctx)));
  }
  if (ctx.options.webRoot !== undefined) {
    app.get('/', async (c) => send(c, await pageResponse(ctx, '')));
    app.get('/:file', async (c) => send(c, await pageResponse(ctx, c.req.param('file'))));
  }
  app.onError((error, c) => send(c, frameworkError(ctx, error)));

  app.authenticate = async (c, next) => {
    const result = authenticateRequest(ctx, await toRequest(c, peer, false));
    if (isResponse(result)) return send(c, result);
    c.set('auth', result.claims);
    await next();
  };
  app.close = () => ctx.hub.close();
  return app;
}
