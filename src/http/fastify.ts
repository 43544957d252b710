/**
 * `notbefore/fastify`: the auth routes as a Fastify 5 plugin, with `request.auth` and
 * `app.authenticate` for the app's own routes, and `frameworkErrors` for Fastify's own 400s.
 * Needs `fastify` and `fastify-plugin`.
 *
 * @module notbefore/fastify
 */
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  FastifyServerOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import type { AccessTokenClaims } from '../tokens/types.js';
import { createContext, type HttpContext, type HttpOptions } from './core.js';
import {
  authenticateBearer,
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

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token claims, set by `app.authenticate`; null before. */
    auth: AccessTokenClaims | null;
  }
  interface FastifyInstance {
    /** preHandler for the app's own routes: 401/403 unless a valid access token. */
    authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  }
}

/**
 * Options of the {@link notbefore} plugin: `auth`, the service from `createAuth`, and the
 * options every adapter takes.
 *
 * @interface
 */
export type NotbeforeFastifyOptions = HttpOptions;

function toRequest(request: FastifyRequest): HttpRequest {
  return {
    method: request.method,
    path: request.url.split('?', 1)[0] ?? '/',
    params: (request.params ?? {}) as Record<string, string>,
    headers: flattenHeaders(request.headers),
    body: typeof request.body === 'string' ? request.body : undefined,
    remoteAddress: request.socket.remoteAddress,
  };
}

function send(reply: FastifyReply, res: HttpResponse): FastifyReply {
  reply.code(res.status).headers(res.headers);
  if (res.cookies.length > 0) reply.header('set-cookie', res.cookies);
  const { bytes, type } = payload(res);
  if (type !== undefined) reply.type(type);
  return reply.send(bytes);
}

function routes(ctx: HttpContext): FastifyPluginAsync {
  return async (scope) => {
    // Bodies reach the shared core as text: one parser, one set of 400s for every adapter.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'string', bodyLimit: ctx.bodyLimit },
      (_r, body, done) => done(null, body),
    );
    scope.setErrorHandler((error, _request, reply) => send(reply, frameworkError(ctx, error)));
    for (const route of ROUTES) {
      scope.route({
        method: route.method,
        url: route.path,
        handler: async (request, reply) => {
          if (route.stream !== true)
            return send(reply, await runRoute(ctx, route, toRequest(request)));
          const opened = openStream(ctx, route, toRequest(request));
          if (isResponse(opened)) return send(reply, opened);
          reply.hijack();
          nodeEventStream(ctx, opened, request.raw, reply.raw);
          return reply;
        },
      });
    }
    if (ctx.options.metrics !== undefined) {
      scope.get('/metrics', async (_request, reply) => send(reply, await metricsResponse(ctx)));
    }
    if (ctx.options.webRoot !== undefined) {
      scope.get('/', async (_request, reply) => send(reply, await pageResponse(ctx, '')));
      scope.get<{ Params: { file: string } }>('/:file', async (request, reply) =>
        send(reply, await pageResponse(ctx, request.params.file)),
      );
    }
  };
}

/** The notbefore routes, `request.auth` and `app.authenticate` for a Fastify app. */
async function plugin(app: FastifyInstance, options: NotbeforeFastifyOptions): Promise<void> {
  const ctx = createContext(options);
  app.decorateRequest('auth', null);
  app.decorate('authenticate', async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    const result =
      typeof header === 'string' && header.length > 0
        ? authenticateBearer(ctx, header)
        : authenticateRequest(ctx, toRequest(request));
    if (isResponse(result)) {
      await send(reply, result);
      return;
    }
    request.auth = result.claims;
  });
  // Before the server waits for open connections, end the event streams.
  app.addHook('preClose', async () => ctx.hub.close());
  await app.register(routes(ctx));
}

/**
 * The Fastify plugin: the auth routes (`/auth/…`, `/.well-known/jwks.json`, `/openapi.json`,
 * `/healthz`), `request.auth`, `app.authenticate`, and the event streams ended when the app
 * closes. Register it on the root instance, not under a prefix; its options are
 * {@link NotbeforeFastifyOptions}. Also the module's default export.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { frameworkErrors, notbefore } from 'notbefore/fastify';
 *
 * const app = Fastify({ frameworkErrors });
 * await app.register(notbefore, { auth });
 * app.get('/api/orders', { preHandler: app.authenticate }, async (request) => ({
 *   user: request.auth?.sub,
 * }));
 * ```
 */
export const notbefore = fp(plugin, { name: 'notbefore', fastify: '5.x' });

/**
 * Pass as Fastify's server option: `Fastify({ frameworkErrors })`. Fastify answers a
 * malformed URL (a bad percent-encoding in the path or in a route parameter) while
 * routing, before any plugin or hook runs, and in its own shape; only this server-wide
 * option reaches that answer, so the plugin cannot install it for you. With it the answer
 * is the contract's `400 { error: { code: "VALIDATION_FAILED", message } }` with the
 * usual security headers.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { frameworkErrors, notbefore } from 'notbefore/fastify';
 *
 * const app = Fastify({ frameworkErrors });
 * await app.register(notbefore, { auth });
 * ```
 */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (
  error,
  _request,
  reply,
) => {
  // The option's type is generic over route schemas this answer does not use.
  send(reply as unknown as FastifyReply, frameworkError(undefined, error));
};
export default notbefore;
