import type { SignedIn, StepUp } from '../../sessions/types.js';
import { clearedCookies, sessionCookies } from '../cookies.js';
import type { Authenticated, HttpContext } from '../core.js';
import { BASE_HEADERS, type HttpResponse, json } from '../response.js';
import { signedInBrowser } from '../schemas.js';

const secondsUntil = (ctx: HttpContext, ms: number): number => (ms - ctx.clock.now()) / 1000;

/**
 * A sign-in answer: tokens in the body for API clients, cookies for browsers. Callers
 * pass `bearer` true only when the credential itself did not come from a cookie: a
 * cookie session answered in the body would hand its tokens to any page script.
 */
export function signedIn(
  ctx: HttpContext,
  s: SignedIn,
  status: number,
  bearer: boolean,
): HttpResponse {
  const session = { sid: s.session.sid };
  if (bearer) {
    const { accessToken, refreshToken, expiresAt, user } = s;
    return json(status, { accessToken, refreshToken, expiresAt, session, user });
  }
  const res = json(status, { user: s.user, expiresAt: s.expiresAt, session });
  res.cookies = sessionCookies({
    accessToken: s.accessToken,
    refreshToken: s.refreshToken,
    csrfToken: ctx.csrf.issue(s.session.sid),
    accessMaxAge: secondsUntil(ctx, s.expiresAt),
    // No cookie outlives what it names: the session's idle or absolute end, whichever is first.
    refreshMaxAge: secondsUntil(ctx, s.refreshExpiresAt),
  });
  return res;
}

/** `res`, expiring the three session cookies when `clear` (the session they name is over). */
export const withCleared = (res: HttpResponse, clear: boolean): HttpResponse => {
  if (clear) res.cookies.push(...clearedCookies());
  return res;
};

/**
 * The proof for a step-up: this session's sign-in time, and the password and the code
 * (an account with TOTP) when sent.
 */
export const stepUp = (a: Authenticated, password: unknown, otp?: unknown): StepUp => ({
  sid: a.claims.sid,
  authTime: a.claims.auth_time,
  ...(typeof password === 'string' ? { password } : {}),
  ...(typeof otp === 'string' ? { otp } : {}),
});

export const signInResponses = {
  200: ['Signed in. Browser transport: cookies and this body.', signedInBrowser],
  201: ['Signed up and signed in.', signedInBrowser],
} as const;

/**
 * 202 without a body: the request was taken, and a mail may follow. The same answer whether
 * or not an account was concerned, so it can say nothing about one.
 */
export const accepted = (): HttpResponse => ({
  status: 202,
  headers: { ...BASE_HEADERS, 'cache-control': 'no-store' },
  cookies: [],
});
