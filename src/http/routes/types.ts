import type { AuthErrorCode } from '../../errors.js';
import type { HttpContext } from '../core.js';
import type { RequestView } from '../request.js';
import type { HttpResponse } from '../response.js';
import type { JsonSchema } from '../schemas.js';

export type Access = 'none' | 'user' | 'admin';

export interface RouteDef {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Express/Fastify/Hono style: `:name` for a parameter. */
  path: string;
  summary: string;
  access: Access;
  body?: JsonSchema;
  params?: Record<string, JsonSchema>;
  /** Status → [description, schema of the answer]: what the route answers when it succeeds. */
  responses: Record<number, readonly [string, JsonSchema?]>;
  /**
   * Every error code the route can answer. The OpenAPI document takes the route's error
   * statuses from these through ERROR_STATUS, and an answer with any other code is told to
   * `onError` as a bug (the route suite fails on it).
   */
  errors: readonly AuthErrorCode[];
  /** Answers with an event stream (adapters stream it; `handle` is not used). */
  stream?: boolean;
  handle(ctx: HttpContext, req: RequestView): Promise<HttpResponse>;
}

/** The declared codes of several steps, each once, in the order first named. */
export const codes = (...steps: readonly (AuthErrorCode | readonly AuthErrorCode[])[]) => [
  ...new Set(steps.flat()),
];

/** What `auth.verify` refuses an access token with; it fails closed when its list is stale. */
export const TOKEN_REFUSED = codes(
  'TOKEN_MALFORMED',
  'TOKEN_ALG_NOT_ALLOWED',
  'TOKEN_KEY_UNKNOWN',
  'TOKEN_SIGNATURE_INVALID',
  'TOKEN_CLAIM_INVALID',
  'TOKEN_EXPIRED',
  'TOKEN_NOT_YET_VALID',
  'TOKEN_REVOKED',
  'REVOCATION_STATE_STALE',
);

/** What `authenticate` answers on a GET: no token, or a refused one; and a database outage. */
export const SIGNED_IN = codes('TOKEN_MISSING', TOKEN_REFUSED, 'STORE_UNAVAILABLE');

/** The same on a POST, PUT or DELETE: a cookie session must also pass the CSRF checks. */
export const SIGNED_IN_UNSAFE = codes(SIGNED_IN, 'CSRF_FAILED');

/**
 * A password checked against the account (sign-in, step-up, password change): wrong, or
 * throttled after too many wrong ones; malformed input is a validation failure.
 */
export const PASSWORD_CHECK = codes('INVALID_CREDENTIALS', 'RATE_LIMITED', 'VALIDATION_FAILED');

/**
 * A step-up (ASVS 7.5.2): no recent sign-in and no password, or a password check; on an
 * account with TOTP, the code too (MFA_REQUIRED without one).
 */
export const STEP_UP = codes('REAUTHENTICATION_REQUIRED', PASSWORD_CHECK, 'MFA_REQUIRED');
