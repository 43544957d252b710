import { ERROR_STATUS } from '../../errors.js';
import { type Authenticated, guard, type HttpContext } from '../core.js';
import { authenticateRequest, isResponse } from '../kit.js';
import { type HttpRequest, view } from '../request.js';
import { type HttpResponse, SSE_HEADERS } from '../response.js';
import { ADMIN_ROUTES } from './admin.js';
import { FACTOR_ROUTES } from './factors.js';
import { LIFECYCLE_ROUTES } from './lifecycle.js';
import { metaRoutes } from './meta.js';
import { PASSKEY_ROUTES } from './passkeys.js';
import { SESSION_ROUTES } from './session.js';
import { SIGN_IN_ROUTES } from './sign-in.js';
import type { RouteDef } from './types.js';

export type { Access, RouteDef } from './types.js';

/** Every route, as each adapter mounts it and the OpenAPI document lists it. */
export const ROUTES: readonly RouteDef[] = [
  ...SIGN_IN_ROUTES,
  ...SESSION_ROUTES,
  ...ADMIN_ROUTES,
  ...LIFECYCLE_ROUTES,
  ...PASSKEY_ROUTES,
  ...FACTOR_ROUTES,
  ...metaRoutes(() => ROUTES),
];

/** A route answered a code it does not declare: the OpenAPI document is missing it. */
export class UndeclaredErrorCode extends Error {
  override readonly name = 'UndeclaredErrorCode';
  readonly route: string;
  readonly code: string;

  constructor(route: RouteDef, code: string) {
    super(`${route.method} ${route.path} answered ${code}, which the route does not declare.`);
    this.route = `${route.method} ${route.path}`;
    this.code = code;
  }
}

/**
 * Tells `onError` when an answer carries a contract code the route does not declare. The
 * answer itself goes out unchanged: the client is owed it; the bug is ours to hear of.
 */
function declared(ctx: HttpContext, route: RouteDef, res: HttpResponse): HttpResponse {
  if (res.status < 400) return res;
  const code = (res.body as { error?: { code?: unknown } } | undefined)?.error?.code;
  // INTERNAL (a 500) is no contract code; `guard` has already reported its cause.
  if (typeof code !== 'string' || !Object.hasOwn(ERROR_STATUS, code)) return res;
  if (!(route.errors as readonly string[]).includes(code)) {
    ctx.options.onError?.(new UndeclaredErrorCode(route, code));
  }
  return res;
}

/** Runs one route: never throws, every failure is the shared error answer. */
export async function runRoute(
  ctx: HttpContext,
  route: RouteDef,
  req: HttpRequest,
): Promise<HttpResponse> {
  return declared(ctx, route, await guard(ctx, () => route.handle(ctx, view(req))));
}

/**
 * Opens a streaming route: the caller to stream to, or the answer to send instead (an
 * error, or the bare head for HEAD: a stream opened for a HEAD would never be read, yet it
 * would count against the session's streams, and push out one in use, until the client
 * left or, where the framework drops the body unread, until the token expired).
 */
export function openStream(
  ctx: HttpContext,
  route: RouteDef,
  req: HttpRequest,
): Authenticated | HttpResponse {
  const opened = authenticateRequest(ctx, req);
  if (isResponse(opened)) return declared(ctx, route, opened);
  return req.method === 'HEAD' ? { status: 200, headers: { ...SSE_HEADERS }, cookies: [] } : opened;
}
