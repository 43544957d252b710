import { AuthError } from '../errors.js';
import {
  type Authenticated,
  attempt,
  authenticate,
  failure,
  guard,
  type HttpContext,
} from './core.js';
import { bearerToken, type HttpRequest, view } from './request.js';
import { errorResponse, type HttpResponse, json } from './response.js';
import { staticFile } from './static.js';

/**
 * What the adapters share besides the route table: the auth check (for the app's own
 * routes, and before an event stream opens), /metrics and the demo page. Each returns
 * either its result or the error answer to send, so adapters need no try/catch of their own.
 */
export function authenticateRequest(
  ctx: HttpContext,
  req: HttpRequest,
): Authenticated | HttpResponse {
  return attempt(ctx, () => authenticate(ctx, view(req)));
}

/**
 * `authenticateRequest` for a request that carries an Authorization header, without
 * building the normalised request first: a bearer request needs no cookies, origin or
 * CSRF check, and flattening headers and parsing cookies measured 4/5 of the plugin's
 * own per-request CPU on a protected route (cpu profile, autocannon, GET /me).
 */
export function authenticateBearer(ctx: HttpContext, header: string): Authenticated | HttpResponse {
  return attempt(ctx, (): Authenticated => {
    const token = bearerToken(header);
    return { claims: ctx.auth.verify(token), via: 'bearer', token };
  });
}

export const isResponse = (value: object): value is HttpResponse => 'status' in value;

export async function metricsResponse(ctx: HttpContext): Promise<HttpResponse> {
  const hook = ctx.options.metrics;
  return guard(ctx, async () => {
    if (hook === undefined) throw new AuthError('NOT_FOUND', 'No such route.');
    const res = json(200, undefined, { 'content-type': hook.contentType });
    res.body = Buffer.from(await hook.render());
    return res;
  });
}

export async function pageResponse(ctx: HttpContext, name: string): Promise<HttpResponse> {
  const root = ctx.options.webRoot;
  const found = root === undefined ? null : await staticFile(root, name);
  return found ?? errorResponse(new AuthError('NOT_FOUND', 'No such route.'));
}

/** The answer's body as bytes plus its content type (JSON unless already bytes). */
export function payload(res: HttpResponse): {
  bytes: Buffer | undefined;
  type: string | undefined;
} {
  if (res.body === undefined) return { bytes: undefined, type: undefined };
  if (Buffer.isBuffer(res.body)) return { bytes: res.body, type: res.headers['content-type'] };
  return { bytes: Buffer.from(JSON.stringify(res.body)), type: 'application/json; charset=utf-8' };
}

/**
 * Framework errors (body too large, bad encoding, a malformed URL) are the client's
 * fault: 400, not 500. `ctx` is absent only where the framework answers before any
 * plugin is chosen (Fastify's `frameworkErrors`).
 */
export function frameworkError(ctx: HttpContext | undefined, error: unknown): HttpResponse {
  const status =
    (error as { statusCode?: unknown; status?: unknown } | null)?.statusCode ??
    (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return errorResponse(new AuthError('VALIDATION_FAILED', 'The request could not be read.'));
  }
  return failure(ctx, error);
}

/**
 * Wraps an adapter's client-address source so `onError` hears once (not per request)
 * that addresses are missing: the per-address limit is then off for those requests.
 */
export function toldOnceWhenUnknown<C>(
  ctx: HttpContext,
  source: (c: C) => string | undefined,
  message: string,
): (c: C) => string | undefined {
  let told = false;
  return (c) => {
    const address = source(c);
    if ((address === undefined || address.length === 0) && !told) {
      told = true;
      ctx.options.onError?.(new Error(message));
    }
    return address;
  };
}
