import { randomBytes } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { type Clock, systemClock } from '../clock.js';
import { AuthError, StoreUnavailableError } from '../errors.js';
import type { Auth } from '../sessions/types.js';
import type { AccessTokenClaims } from '../tokens/types.js';
import { ACCESS_COOKIE, CSRF_COOKIE } from './cookies.js';
import { type Csrf, createCsrf } from './csrf.js';
import { createEventHub, type EventHub, type EventHubOptions } from './events.js';
import { createRateLimiter, type RateLimiter } from './rate-limit.js';
import { credential, type HttpRequest, isUnsafe, type RequestView, sameOrigin } from './request.js';
import { errorResponse, type HttpResponse, validationError } from './response.js';
import type { JsonSchema } from './schemas.js';

/**
 * What GET /metrics serves; `createMetrics()` from `notbefore/metrics` is one.
 *
 * @inline
 */
export interface MetricsHook {
  /** The `Content-Type` of the exposition text. */
  contentType: string;
  /** The exposition text (Prometheus format), produced on each scrape. */
  render(): Promise<string> | string;
  /** Told +1 / -1 as event streams open and close (`createMetrics` keeps a gauge). */
  eventStreams?(delta: number): void;
}

/** Options every adapter accepts. */
export interface HttpOptions {
  /** The service the routes call: from `createAuth`, or `instrumentAuth(auth, metrics)`. */
  auth: Auth;
  /**
   * Key for the CSRF tokens' HMAC, ≥ 32 bytes. Instances behind one load balancer must
   * share it; the default (random per process) suits a single instance.
   */
  csrfSecret?: Uint8Array;
  /** Take the client address from X-Forwarded-For (one trusted proxy). Default false. */
  trustProxy?: boolean;
  /** Sign-in/sign-up attempts per minute per client address; 0 = off. Default 10. */
  rateLimit?: number;
  /** Extra origins (exact `scheme://host[:port]`) allowed besides this host itself. */
  trustedOrigins?: string[];
  /** Request body limit in bytes. Default 16 KiB. */
  bodyLimit?: number;
  /** Keep-alive comment interval on event streams, ms. Default 15 000. */
  heartbeatMs?: number;
  /** Open event streams per session; one more closes the oldest. Default 5. */
  maxStreamsPerSession?: number;
  /** Open event streams per user, all sessions together; same rule. Default 20. */
  maxStreamsPerUser?: number;
  /** Folder of the demo page served at `/`; off when undefined. */
  webRoot?: string;
  /** Answers GET /healthz: true when ready and current. Default: `auth.ready()` resolved. */
  health?: () => boolean | Promise<boolean>;
  /** When given, GET /metrics serves it (issue 6). */
  metrics?: MetricsHook;
  /** Where unexpected errors go (never with tokens: only the error object). */
  onError?: (error: unknown) => void;
  /** The source of time of the rate limits and event streams; a manual clock in tests. */
  clock?: Clock;
}

export interface HttpContext {
  auth: Auth;
  csrf: Csrf;
  hub: EventHub;
  limiter: RateLimiter;
  clock: Clock;
  trustProxy: boolean;
  trustedOrigins: readonly string[];
  bodyLimit: number;
  heartbeatMs: number;
  options: HttpOptions;
  validator(schema: JsonSchema): ValidateFunction;
}

function hubOptions(options: HttpOptions): EventHubOptions {
  const out: EventHubOptions = {};
  if (options.maxStreamsPerSession !== undefined) out.maxPerSession = options.maxStreamsPerSession;
  if (options.maxStreamsPerUser !== undefined) out.maxPerUser = options.maxStreamsPerUser;
  if (options.heartbeatMs !== undefined) out.heartbeatMs = options.heartbeatMs;
  const metrics = options.metrics;
  if (metrics?.eventStreams !== undefined) out.onChange = (delta) => metrics.eventStreams?.(delta);
  return out;
}

export function createContext(options: HttpOptions): HttpContext {
  const clock = options.clock ?? systemClock;
  const ajv = new Ajv({ allErrors: false, strict: true, coerceTypes: false });
  addFormats.default(ajv, ['email']);
  const compiled = new Map<JsonSchema, ValidateFunction>();
  return {
    auth: options.auth,
    csrf: createCsrf(options.csrfSecret ?? randomBytes(32)),
    hub: createEventHub(options.auth, clock, hubOptions(options)),
    limiter: createRateLimiter({ limit: options.rateLimit ?? 10, clock }),
    clock,
    trustProxy: options.trustProxy ?? false,
    trustedOrigins: options.trustedOrigins ?? [],
    bodyLimit: options.bodyLimit ?? 16 * 1024,
    heartbeatMs: options.heartbeatMs ?? 15_000,
    options,
    validator(schema) {
      let fn = compiled.get(schema);
      if (fn === undefined) {
        fn = ajv.compile(schema);
        compiled.set(schema, fn);
      }
      return fn;
    },
  };
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Parses and validates a JSON body. Only `application/json` is accepted, so a
 * cross-site HTML form (text/plain, urlencoded) can never reach a route (ASVS 3.5.2).
 */
export function parseBody(
  ctx: HttpContext,
  req: HttpRequest,
  schema: JsonSchema,
): Record<string, unknown> {
  const raw = req.body ?? '';
  const type = req.headers['content-type'];
  if (raw.length > ctx.bodyLimit) throw validationError('The request body is too large.');
  let value: unknown = {};
  if (raw.trim().length > 0 || type !== undefined) {
    if (type === undefined || !JSON_TYPE.test(type)) {
      throw validationError('The request body must be application/json.');
    }
    if (raw.trim().length > 0) {
      try {
        value = JSON.parse(raw);
      } catch {
        throw validationError('The request body is not valid JSON.');
      }
    }
  }
  const validate = ctx.validator(schema);
  if (!validate(value)) {
    const first = validate.errors?.[0];
    const where = first?.instancePath === '' ? 'body' : `body${first?.instancePath ?? ''}`;
    throw validationError(`Invalid request: ${where} ${first?.message ?? 'is invalid'}.`);
  }
  return value as Record<string, unknown>;
}

export interface Authenticated {
  claims: AccessTokenClaims;
  via: 'bearer' | 'cookie';
  /** The verified access token: event streams re-verify it once they are registered. */
  token: string;
}

/**
 * Verifies the caller's access token (bearer header, else cookie). A cookie-borne unsafe
 * request must also be same-origin and carry the session-bound CSRF token.
 */
export function authenticate(ctx: HttpContext, req: RequestView): Authenticated {
  const cred = credential(req, ACCESS_COOKIE);
  if (cred === null) throw new AuthError('TOKEN_MISSING', 'No access token.');
  const unsafeCookie = cred.via === 'cookie' && isUnsafe(req.method);
  if (unsafeCookie && !sameOrigin(req, ctx.trustedOrigins, ctx.trustProxy)) {
    throw new AuthError('CSRF_FAILED', 'Cross-site request refused.');
  }
  const claims = ctx.auth.verify(cred.token);
  if (
    unsafeCookie &&
    !ctx.csrf.check(req.headers['x-csrf-token'], req.cookies[CSRF_COOKIE], claims.sid)
  ) {
    throw new AuthError('CSRF_FAILED', 'Missing or wrong X-CSRF-Token.');
  }
  return { claims, via: cred.via, token: cred.token };
}

/**
 * The HTTP layer's one catch block: an AuthError becomes its contract answer; anything else
 * is told to `onError` (never to the client) and answered with a bare 500. `ctx` is absent
 * only where a framework answers before any notbefore instance is chosen.
 */
export function failure(ctx: HttpContext | undefined, error: unknown): HttpResponse {
  if (!(error instanceof AuthError)) ctx?.options.onError?.(error);
  // A database outage is the service's, not a bug: a 503 the client may retry, never a 500.
  // Its own message names the server, so it goes to onError only.
  if (error instanceof StoreUnavailableError)
    return errorResponse(
      new AuthError(
        'STORE_UNAVAILABLE',
        'The service cannot reach its database; try again shortly.',
      ),
    );
  return errorResponse(error);
}

/** Runs a handler and turns whatever it throws into the shared error answer. */
export async function guard(
  ctx: HttpContext,
  run: () => Promise<HttpResponse>,
): Promise<HttpResponse> {
  try {
    return await run();
  } catch (error) {
    return failure(ctx, error);
  }
}

/** `guard` for a synchronous step whose result is not an answer (an authentication, say). */
export function attempt<T extends object>(ctx: HttpContext, run: () => T): T | HttpResponse {
  try {
    return run();
  } catch (error) {
    return failure(ctx, error);
  }
}
