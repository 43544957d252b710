import { parseCookie, stringifySetCookie } from 'cookie';

export const ACCESS_COOKIE = '__Host-nb_access';
export const REFRESH_COOKIE = '__Secure-nb_refresh';
export const CSRF_COOKIE = '__Host-nb_csrf';
/** The refresh cookie travels only to the auth routes, hence __Secure- (not __Host-). */
export const REFRESH_PATH = '/auth';

/** Browsers cap a cookie header at a few KiB; anything larger is hostile. */
const MAX_COOKIE_HEADER = 8192;

export type Cookies = Record<string, string>;

/** Parses a Cookie header; oversized or broken input yields no cookies, never a throw. */
export function parseCookies(header: string | undefined): Cookies {
  if (header === undefined || header.length === 0 || header.length > MAX_COOKIE_HEADER) return {};
  try {
    const parsed = parseCookie(header);
    const out: Cookies = {};
    for (const [name, value] of Object.entries(parsed)) {
      if (typeof value === 'string') out[name] = value;
    }
    return out;
  } catch {
    return {};
  }
}

export interface SessionCookies {
  accessToken: string;
  refreshToken: string;
  csrfToken: string;
  /** Until the access token expires, seconds. */
  accessMaxAge: number;
  /** Until the session ends (idle or absolute, whichever comes first), seconds. */
  refreshMaxAge: number;
}

/** Set-Cookie values for a sign-in answer in the browser transport. */
export function sessionCookies(c: SessionCookies): string[] {
  return [
    stringifySetCookie(ACCESS_COOKIE, c.accessToken, {
      httpOnly: true,
      secure: true,
      sameSite: 'lax',
      path: '/',
      maxAge: Math.max(1, Math.floor(c.accessMaxAge)),
    }),
    stringifySetCookie(REFRESH_COOKIE, c.refreshToken, {
      httpOnly: true,
      secure: true,
      sameSite: 'strict',
      path: REFRESH_PATH,
      maxAge: Math.max(1, Math.floor(c.refreshMaxAge)),
    }),
    stringifySetCookie(CSRF_COOKIE, c.csrfToken, {
      secure: true,
      sameSite: 'lax',
      path: '/',
      maxAge: Math.max(1, Math.floor(c.refreshMaxAge)),
    }),
  ];
}

/** Expires all three cookies: same names, paths and prefixes, Max-Age=0 (ASVS 14.3.1). */
export function clearedCookies(): string[] {
  const gone = { secure: true, maxAge: 0, expires: new Date(0) } as const;
  return [
    stringifySetCookie(ACCESS_COOKIE, '', { ...gone, httpOnly: true, sameSite: 'lax', path: '/' }),
    stringifySetCookie(REFRESH_COOKIE, '', {
      ...gone,
      httpOnly: true,
      sameSite: 'strict',
      path: REFRESH_PATH,
    }),
    stringifySetCookie(CSRF_COOKIE, '', { ...gone, sameSite: 'lax', path: '/' }),
  ];
}
