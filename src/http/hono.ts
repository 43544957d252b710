import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import { AuthError } from '../errors.js';
import type { Auth } from '../sessions/types.js';
import type { AccessTokenClaims } from '../tokens/types.js';
import { type Authenticated, createContext, type HttpContext, type HttpOptions } from './core.js';
import {
  authenticateRequest,
  frameworkError,
  isResponse,
  metricsResponse,
  pageResponse,
  payload,
} from './kit.js';
import type { HttpRequest } from './request.js';
import { BASE_HEADERS, errorResponse, type HttpResponse } from './response.js';
import { ROUTES, runRoute } from './routes.js';

export interface NotbeforeEnv {
  Variables: { auth: AccessTokenClaims | null };
}

export interface NotbeforeHonoOptions extends Omit<HttpOptions, 'auth'> {
  /** The peer address; default: @hono/node-server's `incoming` socket, else "unknown". */
  remoteAddress?: (c: Context) => string;
}

export type NotbeforeRoutes = Hono<NotbeforeEnv> & {
  /** Middleware for the app's own routes: 401/403 unless a valid access token. */
  authenticate: MiddlewareHandler<NotbeforeEnv>;
  /** Ends open event streams and stops listening for revocations. */
  close(): void;
};

function nodePeer(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'unknown';
}

async function toRequest(
  c: Context,
  peer: (c: Context) => string,
  withBody = true,
): Promise<HttpRequest> {
  const headers: Record<string, string | undefined> = {};
  c.req.raw.headers.forEach((value, name) => {
    headers[name] = value;
  });
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

function events(ctx: HttpContext, c: Context, opened: Authenticated): Response {
  for (const [name, value] of Object.entries(BASE_HEADERS)) c.header(name, value);
  c.header('cache-control', 'no-store');
  return streamSSE(c, async (stream) => {
    await stream.write('retry: 2000\n\n');
    await new Promise<void>((resolve) => {
      // writeSSE is async: queue the writes so a close never overtakes the last event.
      let writes = Promise.resolve();
      const heartbeat = setInterval(() => {
        writes = writes.then(async () => {
          await stream.write(': ping\n\n');
        });
      }, ctx.heartbeatMs);
      const finish = (): void => {
        clearInterval(heartbeat);
        remove();
        resolve();
      };
      const remove = ctx.hub.add(
        opened.claims,
        {
          send: (event, data) => {
            writes = writes.then(() => stream.writeSSE({ event, data: JSON.stringify(data) }));
          },
          close: () => {
            writes.then(finish, finish);
          },
        },
        opened.token,
      );
      stream.onAbort(finish);
    });
  });
}

/** The notbefore routes as a Hono app (mount with `app.route('/', routes)`). */
export function notbeforeRoutes(auth: Auth, options: NotbeforeHonoOptions = {}): NotbeforeRoutes {
  const ctx = createContext({ ...options, auth });
  const peer = options.remoteAddress ?? nodePeer;
  const app = new Hono<NotbeforeEnv>() as NotbeforeRoutes;
  const limit = bodyLimit({
    maxSize: ctx.bodyLimit,
    onError: (c) =>
      send(c, errorResponse(new AuthError('VALIDATION_FAILED', 'The request body is too large.'))),
  });

  for (const route of ROUTES) {
    app.on(route.method, route.path, limit, async (c) => {
      const req = await toRequest(c, peer);
      if (route.stream !== true) return send(c, await runRoute(ctx, route, req));
      const opened = authenticateRequest(ctx, req);
      return isResponse(opened) ? send(c, opened) : events(ctx, c, opened);
    });
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
