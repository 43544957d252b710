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
  EMAIL_TAKEN: 409,
  WEAK_PASSWORD: 400,
  VALIDATION_FAILED: 400,
  CSRF_FAILED: 403,
  REAUTHENTICATION_REQUIRED: 403,
  ACCOUNT_DISABLED: 403,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  RATE_LIMITED: 429,
} as const;

export type AuthErrorCode = keyof typeof ERROR_STATUS;

/** Why a token was revoked; `claims` means a refresh will succeed (roles changed). */
export type RevocationReason = 'global' | 'user' | 'claims' | 'session' | 'token';

export interface AuthErrorOptions {
  reason?: RevocationReason;
  /** Seconds until a rate-limited caller may try again. */
  retryAfter?: number;
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
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly code: AuthErrorCode;
  readonly status: number;
  readonly reason: RevocationReason | undefined;
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
