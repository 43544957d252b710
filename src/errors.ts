/**
 * The one table of error codes: code → HTTP status. Adapters, docs and tests read it;
 * nothing else maps a code to a status.
 */
export const ERROR_STATUS = {
  TOKEN_MISSING: 401,
  TOKEN_MALFORMED: 401,
  TOKEN_ALG_NOT_ALLOWED: 401,
  TOKEN_KEY_UNKNOWN: 401,
  TOKEN_SIGNATURE_INVALID: 401,
  TOKEN_CLAIM_INVALID: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_NOT_YET_VALID: 401,
  TOKEN_REVOKED: 401,
  REVOCATION_STATE_STALE: 503,
  STORE_UNAVAILABLE: 503,
  REFRESH_TOKEN_INVALID: 401,
  REFRESH_TOKEN_REUSED: 401,
  SESSION_EXPIRED: 401,
  INVALID_CREDENTIALS: 401,
  MFA_REQUIRED: 401,
  EMAIL_TAKEN: 409,
  WEAK_PASSWORD: 400,
  VALIDATION_FAILED: 400,
  CSRF_FAILED: 403,
  REAUTHENTICATION_REQUIRED: 403,
  ACCOUNT_DISABLED: 403,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  // Account lifecycle (issue 12): a mailed link that cannot be used (unknown, used, expired,
  // superseded, another kind: one answer for all), and sign-in before the address is proven.
  LINK_INVALID: 400,
  EMAIL_NOT_VERIFIED: 403,
  RATE_LIMITED: 429,
} as const;

/**
 * Every error code the library reports: the keys of {@link ERROR_STATUS}. Clients and tests
 * match on the code, never on the message.
 */
export type AuthErrorCode = keyof typeof ERROR_STATUS;

/** Why a token was revoked; `claims` means a refresh will succeed (roles changed). */
export type RevocationReason = 'global' | 'user' | 'claims' | 'session' | 'token';

/** The optional parts of an {@link AuthError}, for code that raises one (a store, an adapter). */
export interface AuthErrorOptions {
  /** On `TOKEN_REVOKED`: the revocation rule that matched. */
  reason?: RevocationReason;
  /** Seconds until a rate-limited caller may try again. */
  retryAfter?: number;
  /** The underlying error, kept as the standard `Error.cause`; never sent to clients. */
  cause?: unknown;
  /**
   * For the operator (logs, a debugger), never the HTTP body: what was expected and what
   * came, e.g. "expected issuer 'https://a', got 'https://b'". Built only on failure.
   */
  detail?: string;
}

/**
 * Every failure the library reports on purpose. Messages never contain a token,
 * a password, a hash or a cookie.
 *
 * @example
 * ```ts
 * import { isAuthError } from 'notbefore';
 *
 * try {
 *   const claims = auth.verify(token);
 *   console.log(claims.sub);
 * } catch (error) {
 *   if (!isAuthError(error)) throw error;
 *   // error.status is the HTTP answer: 401 here, 503 for REVOCATION_STATE_STALE
 *   if (error.code === 'TOKEN_REVOKED' && error.reason === 'claims') {
 *     // the user's roles changed: a refresh gets a token with the new ones
 *   }
 * }
 * ```
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  /** Stable and machine-readable: match on it, never on `message`. */
  readonly code: AuthErrorCode;
  /** The HTTP status for `code`, from {@link ERROR_STATUS}. */
  readonly status: number;
  /** On `TOKEN_REVOKED`: which rule matched; `claims` means a refresh will succeed. */
  readonly reason: RevocationReason | undefined;
  /** On `RATE_LIMITED`: seconds until the caller may try again (the `Retry-After` header). */
  readonly retryAfter: number | undefined;
  /** Not serialised by toJSON(): see AuthErrorOptions.detail. */
  readonly detail: string | undefined;

  constructor(code: AuthErrorCode, message: string, options: AuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.reason = options.reason;
    this.retryAfter = options.retryAfter;
    this.detail = options.detail;
  }

  /** The HTTP body's error: code, message and reason only (never `detail` or `cause`). */
  toJSON(): { code: AuthErrorCode; message: string; reason?: RevocationReason } {
    return this.reason === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, reason: this.reason };
  }
}

/**
 * True for a failure the library reports on purpose (an {@link AuthError}, with a contract
 * code); anything else is a bug or an outage and deserves a 500 and a log line.
 *
 * @param value - Anything caught.
 * @example
 * ```ts
 * import { isAuthError } from 'notbefore';
 *
 * try {
 *   await auth.login({ email, password });
 * } catch (error) {
 *   if (isAuthError(error) && error.code === 'INVALID_CREDENTIALS') showWrongPassword();
 *   else throw error;
 * }
 * ```
 */
export function isAuthError(value: unknown): value is AuthError {
  return value instanceof AuthError;
}

/**
 * The store (the database) cannot be reached or answered too late. Its message names the
 * server for the operator's log; the HTTP layer answers `503 STORE_UNAVAILABLE` with a
 * generic message instead, and `onError` gets this error.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}
