import { AuthError, ERROR_STATUS } from '../errors.js';

/** What a route handler answers; adapters copy it onto their framework's response. */
export interface HttpResponse {
  status: number;
  body?: unknown;
  headers: Record<string, string>;
  /** Serialized Set-Cookie values, in order. */
  cookies: string[];
}

const REALM = 'Bearer realm="notbefore"';

/** Headers on every answer of the auth routes. */
export const BASE_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
  // Ignored by browsers over plain http (localhost development); binding over https.
  'strict-transport-security': 'max-age=31536000',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

/** The head of every event stream (and of a HEAD of one): no cache, no proxy buffering. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  ...BASE_HEADERS,
  'content-type': 'text/event-stream',
  'cache-control': 'no-store',
  'x-accel-buffering': 'no',
};

/** The demo page's policy: scripts, styles and fetches from this origin only. */
export const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
  "frame-ancestors 'none'";

export function json(
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): HttpResponse {
  return {
    status,
    body,
    headers: { ...BASE_HEADERS, 'cache-control': 'no-store', ...extra },
    cookies: [],
  };
}

export function noContent(): HttpResponse {
  return { status: 204, headers: { ...BASE_HEADERS, 'cache-control': 'no-store' }, cookies: [] };
}

/**
 * The one mapping from an error to an answer: AuthError through ERROR_STATUS, RFC 6750
 * challenges on 401, Retry-After on 429. Anything else is a 500 that says nothing.
 */
export function errorResponse(error: unknown): HttpResponse {
  if (!(error instanceof AuthError)) {
    return json(500, { error: { code: 'INTERNAL', message: 'Internal server error.' } });
  }
  const status = ERROR_STATUS[error.code];
  const headers: Record<string, string> = {};
  if (status === 401) {
    headers['www-authenticate'] =
      error.code === 'TOKEN_MISSING' ? REALM : `${REALM}, error="invalid_token"`;
  }
  if (status === 429 || status === 503)
    headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfter ?? 1)));
  return json(status, { error: error.toJSON() }, headers);
}

export function validationError(message: string): AuthError {
  return new AuthError('VALIDATION_FAILED', message);
}
