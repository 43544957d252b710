/**
 * `notbefore/express`: the auth routes as an Express 5 router, and `router.authenticate` to
 * guard the app's own routes (`req.auth`). Needs `express` (and `@types/express` for
 * TypeScript).
 *
 * @module notbefore/express
 */
import express, {
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import type { Auth } from '../sessions/types.js';
import type { AccessTokenClaims } from '../tokens/types.js';
import { createContext, type HttpOptions } from './core.js';
import {
  authenticateRequest,
  frameworkError,
  isResponse,
  metricsResponse,
  pageResponse,
  payload,
} from './kit.js';
import { nodeEventStream } from './node-sse.js';
import { flattenHeaders, type HttpRequest } from './request.js';
import type { HttpResponse } from './response.js';
import { openStream, ROUTES, runRoute } from './routes/index.js';

declare global {
  namespace Express {
    interface Request {
      /** The verified access token claims, set by `authenticate`. */
      auth?: AccessTokenClaims | null;
    }
  }
}

/**
 * Options of {@link notbeforeRouter}: those every adapter takes, except `auth`, which is the
 * router's first argument.
 *
 * @interface
 */
export type NotbeforeExpressOptions = Omit<HttpOptions, 'auth'>;

/**
 * What {@link notbeforeRouter} returns: an Express `Router` with the auth routes, and the
 * middleware that guards the app's own routes.
 */
export interface NotbeforeRouter extends Router {
  /** Middleware for the app's own routes: 401/403 unless a valid access token. */
  authenticate: RequestHandler;
  /** Ends open event streams and stops listening for revocations. */
  close(): void;
}

/**
 * The body as text for the shared core, whoever read it. Most apps mount `express.json()`
 * (or urlencoded, raw, text) before the router; the stream is then already consumed and
 * our own text parser skips it, so the parsed value is turned back into text. The
 * Content-Type header is passed on untouched, so the core still refuses anything that was
 * not sent as JSON (a form post parsed by `express.urlencoded()` included).
 */
function bodyText(body: unknown): string | undefined {
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  if (body === undefined || body === null) return undefined;
  return JSON.stringify(body);
}

function toRequest(req: Request): HttpRequest {
  return {
    method: req.method,
    path: req.originalUrl.split('?', 1)[0] ?? '/',
    params: req.params as Record<string, string>,
    headers: flattenHeaders(req.headers),
    body: bodyText(req.body),
    remoteAddress: req.socket.remoteAddress ?? '',
  };
}

/** One shared, empty `req.params` for the open streams: the stream route has none. */
const NO_PARAMS: Record<string, string> = Object.freeze({});

/**
 * Drops what Express's routers left on a request now answered by an event stream. Nothing
 * calls `next` once the stream is open, yet `req.next` keeps the closures of both routers
 * (ours and the app's, with their state) alive for as long as the stream is: 1.5 KiB a
 * stream. `req.params` is the route's own object, empty here.
 */
function letGo(req: Request): void {
  req.next = undefined;
  req.params = NO_PARAMS;
}

function send(res: Response, answer: HttpResponse): void {
  res.status(answer.status).set(answer.headers);
  for (const cookie of answer.cookies) res.append('set-cookie', cookie);
  const { bytes, type } = payload(answer);
  if (type !== undefined) res.set('content-type', type);
  res.end(bytes);
}

/**
 * The notbefore routes as an Express router, with `router.authenticate` for your routes.
 *
 * Mount it at the root of the app: the routes are `/auth/…`, `/.well-known/jwks.json`,
 * `/openapi.json` and `/healthz`, and the refresh cookie is scoped to `/auth`. It reads JSON
 * bodies itself, or takes what `express.json()` already parsed.
 *
 * @param auth - The service from `createAuth` (or `instrumentAuth(auth, metrics)`).
 * @param options - CSRF secret, proxy trust, rate limit and the rest.
 * @example
 * ```ts
 * import express from 'express';
 * import { createAuth } from 'notbefore';
 * import { notbeforeRouter } from 'notbefore/express';
 * import { postgresStore } from 'notbefore/postgres';
 *
 * const auth = createAuth({ store: postgresStore(process.env.DATABASE_URL ?? 'postgres:///app') });
 * await auth.ready();
 * const app = express();
 * const router = notbeforeRouter(auth);
 * app.use(router);
 * app.get('/api/orders', router.authenticate, (req, res) => res.json({ user: req.auth?.sub }));
 * app.listen(3000);
 * ```
 */
export function notbeforeRouter(
  auth: Auth,
  options: NotbeforeExpressOptions = {},
): NotbeforeRouter {
  const ctx = createContext({ ...options, auth });
  const router = express.Router() as NotbeforeRouter;
  // Per route, so the host app's own body parsers never find a body already consumed; when
  // one of them ran first, it finds the stream read and leaves req.body as it is.
  const text = express.text({ type: () => true, limit: ctx.bodyLimit });

  for (const route of ROUTES) {
    const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete';
    if (route.stream !== true) {
      router[method](route.path, text, async (req, res) =>
        send(res, await runRoute(ctx, route, toRequest(req))),
      );
      continue;
    }
    // An event stream reads no body (as on Fastify and Hono): no parser runs for it.
    router[method](route.path, (req, res) => {
      const opened = openStream(ctx, route, toRequest(req));
      if (isResponse(opened)) return send(res, opened);
      nodeEventStream(ctx, opened, req, res);
      letGo(req);
    });
  }
  if (ctx.options.metrics !== undefined) {
    router.get('/metrics', async (_req, res) => send(res, await metricsResponse(ctx)));
  }
  if (ctx.options.webRoot !== undefined) {
    router.get('/', async (_req, res) => send(res, await pageResponse(ctx, '')));
    router.get('/:file', async (req, res) =>
      send(res, await pageResponse(ctx, req.params.file ?? '')),
    );
  }
  const onError: ErrorRequestHandler = (error, _req, res, _next) =>
    send(res, frameworkError(ctx, error));
  router.use(onError);

  router.authenticate = (req, res, next) => {
    const result = authenticateRequest(ctx, toRequest(req));
    if (isResponse(result)) return send(res, result);
    req.auth = result.claims;
    next();
  };
  router.close = () => ctx.hub.close();
  return router;
}
