/**
 * The one way the client talks to the server: cookies ride along, unsafe methods carry the
 * CSRF header (double submit), and error bodies become AuthClientError with the server's code.
 */

/**
 * How every call of the client fails: the server's error code and HTTP status (and, for a
 * revoked token, the reason); with status 0, the client's own: `NETWORK_ERROR` when no answer
 * came, `PASSKEY_*` when the browser's passkey prompt refused. One client code keeps the
 * server's status: `PASSKEY_REJECTED`, the server refusing a new passkey after the prompt.
 *
 * @example
 * ```ts
 * import { AuthClientError } from 'notbefore/client';
 *
 * try {
 *   await auth.login({ email, password });
 * } catch (error) {
 *   if (!(error instanceof AuthClientError)) throw error;
 *   if (error.code === 'RATE_LIMITED') showWait(error.retryAfter ?? 60);
 *   else showError(error.code);
 * }
 * ```
 */
export class AuthClientError extends Error {
  override readonly name = 'AuthClientError';
  /**
   * The server's code (`TOKEN_REVOKED`, …); `NETWORK_ERROR` when no answer came; `PASSKEY_*`
   * when the browser's passkey prompt refused, or `PASSKEY_REJECTED` when the server refused
   * the passkey it made (see `addPasskey`).
   */
  readonly code: string;
  /** HTTP status; 0 when no answer came. */
  readonly status: number;
  /** On `TOKEN_REVOKED`: the revocation reason (`session`, `user`, `claims`, …). */
  readonly reason: string | undefined;
  /** Seconds, from `Retry-After` on 429. */
  readonly retryAfter: number | undefined;

  constructor(code: string, status: number, message: string, reason?: string, retryAfter?: number) {
    super(message);
    this.code = code;
    this.status = status;
    this.reason = reason;
    this.retryAfter = retryAfter;
  }
}

const SAFE = /^(GET|HEAD|OPTIONS)$/i;

export function readCookie(name: string): string | null {
  if (typeof document === 'undefined') return null;
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1));
  }
  return null;
}

/** The origin `url` points at, resolved against the page; null when it cannot be told. */
export function originOf(url: string): string | null {
  try {
    return new URL(url, typeof location === 'undefined' ? undefined : location.href).origin;
  } catch {
    return null;
  }
}

/**
 * Adds what every call needs: the cookies and, on unsafe methods to one of `trusted`
 * (the page's own origin and the auth server's), the CSRF header. Never to another
 * origin: the token would leak to it, and with it the CSRF defence.
 */
export function prepare(
  url: string,
  init: RequestInit,
  csrfCookie: string,
  trusted: readonly string[],
): RequestInit {
  const headers = new Headers(init.headers);
  const method = init.method ?? 'GET';
  if (!SAFE.test(method) && !headers.has('x-csrf-token')) {
    const origin = originOf(url);
    const csrf = origin !== null && trusted.includes(origin) ? readCookie(csrfCookie) : null;
    if (csrf !== null) headers.set('x-csrf-token', csrf);
  }
  return { ...init, method, headers, credentials: 'include' };
}

/** One request as `prepare` makes it; no answer at all becomes NETWORK_ERROR. */
export async function send(
  url: string,
  init: RequestInit,
  csrfCookie: string,
  trusted: readonly string[],
): Promise<Response> {
  try {
    return await fetch(url, prepare(url, init, csrfCookie, trusted));
  } catch (e) {
    throw networkError(e);
  }
}

export function jsonInit(method: string, body?: unknown): RequestInit {
  if (body === undefined) return { method };
  return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** Reads `{ error: { code, message, reason? } }`; any other body still yields an error. */
export async function toError(res: Response): Promise<AuthClientError> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || code;
  let reason: string | undefined;
  try {
    const body = (await res.clone().json()) as {
      error?: { code?: unknown; message?: unknown; reason?: unknown };
    };
    const e = body.error;
    if (e && typeof e.code === 'string') code = e.code;
    if (e && typeof e.message === 'string') message = e.message;
    if (e && typeof e.reason === 'string') reason = e.reason;
  } catch {
    // Not JSON (a proxy's page, say): keep the status-derived code.
  }
  const retry = Number(res.headers.get('retry-after'));
  return new AuthClientError(code, res.status, message, reason, retry > 0 ? retry : undefined);
}

export function networkError(cause: unknown): AuthClientError {
  const message = cause instanceof Error ? cause.message : 'network error';
  return new AuthClientError('NETWORK_ERROR', 0, message);
}

export async function readJson<T>(res: Response): Promise<T> {
  if (!res.ok) throw await toError(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}
