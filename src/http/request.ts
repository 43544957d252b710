import { AuthError } from '../errors.js';
import { type Cookies, parseCookies } from './cookies.js';

/** The framework-neutral request every adapter builds. Header names are lower case. */
export interface HttpRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  headers: Record<string, string | undefined>;
  /** The raw body text, undefined when there was none. Never parsed by the framework. */
  body: string | undefined;
  /** The socket's peer address; undefined or empty when the adapter cannot know it. */
  remoteAddress: string | undefined;
}

export interface RequestView extends HttpRequest {
  cookies: Cookies;
}

export function view(req: HttpRequest): RequestView {
  return { ...req, cookies: parseCookies(req.headers.cookie) };
}

/** Node-style header maps (string | string[] | undefined) → one string per name. */
export function flattenHeaders(
  raw: Record<string, string | string[] | number | undefined>,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(raw)) {
    const key = name.toLowerCase();
    if (Array.isArray(value)) out[key] = key === 'cookie' ? value.join('; ') : value.join(', ');
    else if (value !== undefined) out[key] = String(value);
  }
  return out;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const isUnsafe = (method: string): boolean => UNSAFE.has(method.toUpperCase());

/** Sign-in answers go in the body only when the caller asks for it. */
export const wantsBearer = (req: HttpRequest): boolean =>
  req.headers['x-auth-transport']?.trim().toLowerCase() === 'bearer';

/**
 * The client address for rate limits: the socket's peer, or with `trustProxy` the entry
 * our one trusted proxy appended (the rightmost), which a client cannot forge (ASVS 4.1.3).
 * Undefined when unknown: callers must then skip per-address limits, never pool every
 * unknown client under one key (one attacker would lock everybody out).
 */
export function clientAddress(req: HttpRequest, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const last = req.headers['x-forwarded-for']?.split(',').at(-1)?.trim();
    if (last !== undefined && last.length > 0 && last.length <= 64) return last;
  }
  const peer = req.remoteAddress;
  return peer === undefined || peer.length === 0 ? undefined : peer;
}

const MAX_AUTHORIZATION = 8192;
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export interface Credential {
  token: string;
  via: 'bearer' | 'cookie';
}

/** The token of a non-empty `Authorization: Bearer <token>` header; TOKEN_MALFORMED otherwise. */
export function bearerToken(header: string): string {
  if (header.length > MAX_AUTHORIZATION) {
    throw new AuthError('TOKEN_MALFORMED', 'The Authorization header is too large.');
  }
  const match = BEARER.exec(header);
  if (match === null) {
    throw new AuthError('TOKEN_MALFORMED', 'Expected an Authorization header "Bearer <token>".');
  }
  return match[1] as string;
}

/**
 * The access token from `Authorization: Bearer` or else the access cookie; never from
 * the URL (ASVS 14.2.1). Null when neither is present.
 */
export function credential(req: RequestView, accessCookie: string): Credential | null {
  const header = req.headers.authorization;
  if (header !== undefined && header.length > 0)
    return { token: bearerToken(header), via: 'bearer' };
  const cookie = req.cookies[accessCookie];
  if (cookie !== undefined && cookie.length > 0) return { token: cookie, via: 'cookie' };
  return null;
}

/**
 * False when the browser says the request comes from another site: Sec-Fetch-Site other
 * than same-origin/none, or an Origin that is neither this host nor an allowed origin.
 */
export function sameOrigin(
  req: HttpRequest,
  allowed: readonly string[],
  trustProxy: boolean,
): boolean {
  const site = req.headers['sec-fetch-site']?.toLowerCase();
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  const host = (trustProxy ? req.headers['x-forwarded-host'] : undefined) ?? req.headers.host;
  if (host === undefined) return false;
  try {
    const url = new URL(origin);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
    // Normalise the Host header the same way, so a default port compares equal.
    return url.host === new URL(`${url.protocol}//${host}`).host;
  } catch {
    return false;
  }
}
