import { AuthError } from '../../errors.js';
import type { SignedIn } from '../../sessions/types.js';
import { ACCESS_COOKIE, CSRF_COOKIE, REFRESH_COOKIE } from '../cookies.js';
import { failure, type HttpContext, parseBody } from '../core.js';
import { clientAddress, type RequestView, sameOrigin, wantsBearer } from '../request.js';
import * as S from '../schemas.js';
import { accepted, signedIn, signInResponses, withCleared } from './answers.js';
import { codes, PASSWORD_CHECK, type RouteDef } from './types.js';

/** Rate limit, and for browsers the login-CSRF check (JSON only, same origin). */
export function admitSignIn(ctx: HttpContext, req: RequestView, bearer: boolean): void {
  if (!bearer && !sameOrigin(req, ctx.trustedOrigins, ctx.trustProxy)) {
    throw new AuthError('CSRF_FAILED', 'Cross-site sign-in refused.');
  }
  // An unknown address skips this limit rather than share one bucket with every other
  // unknown client; the store's per-account throttle still counts each attempt.
  const address = clientAddress(req, ctx.trustProxy);
  const retryAfter = address === undefined ? 0 : ctx.limiter.hit(address);
  if (retryAfter > 0) throw new AuthError('RATE_LIMITED', 'Too many attempts.', { retryAfter });
}

/** `clientKey` for the store's throttle, only when the address is known. */
export const withClientKey = <T extends object>(
  ctx: HttpContext,
  req: RequestView,
  input: T,
): T & { clientKey?: string } => {
  const clientKey = clientAddress(req, ctx.trustProxy);
  return clientKey === undefined ? input : { ...input, clientKey };
};

/**
 * A browser sign-in carrying a live session's cookies ends that session (ASVS 7.2.4).
 * Called only once the new sign-in has succeeded: a wrong password (or any failure)
 * must leave the session the cookies name alive, or anyone able to make the browser
 * post a failed sign-in could sign its user out.
 */
export async function endBrowserSession(
  ctx: HttpContext,
  req: RequestView,
  keep: string,
): Promise<void> {
  const access = req.cookies[ACCESS_COOKIE];
  if (access !== undefined) {
    try {
      const { sid } = ctx.auth.verify(access);
      if (sid !== keep) await ctx.auth.logout(sid);
      return;
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
    }
  }
  const refresh = req.cookies[REFRESH_COOKIE];
  if (refresh !== undefined && refresh.length > 0) {
    try {
      // Only the refresh token knows its session once the access token has expired.
      await ctx.auth.revokeRefreshToken(refresh);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
    }
  }
}

/**
 * What issuing a session's tokens can answer besides its own checks: a revocation that
 * overlapped the sign-in (TOKEN_REVOKED), or an instance not ready yet.
 */
export const ISSUE = codes('TOKEN_REVOKED', 'REVOCATION_STATE_STALE', 'STORE_UNAVAILABLE');

/**
 * A password sign-in: the cross-site and rate checks, the password (and the code of an
 * account with TOTP), a disabled or (with requireVerifiedEmail) unverified account.
 */
const LOGIN = codes(
  'CSRF_FAILED',
  PASSWORD_CHECK,
  'MFA_REQUIRED',
  'ACCOUNT_DISABLED',
  'EMAIL_NOT_VERIFIED',
  ISSUE,
);

/** Sign-up, sign-in and refresh: the routes that open or continue a session. */
export const SIGN_IN_ROUTES: readonly RouteDef[] = [
  {
    method: 'POST',
    path: '/auth/signup',
    summary: 'Create a user and sign in',
    access: 'none',
    body: S.credentialsBody,
    responses: {
      201: signInResponses[201],
      202: ['requireVerifiedEmail: a mail is on its way (the same for a taken address).'],
    },
    // The sign-in that follows can still fail: the account changed in between.
    errors: codes('EMAIL_TAKEN', 'WEAK_PASSWORD', LOGIN),
    async handle(ctx, req) {
      const bearer = wantsBearer(req);
      admitSignIn(ctx, req, bearer);
      const body = parseBody(ctx, req, S.credentialsBody);
      const email = body.email as string;
      const password = body.password as string;
      if (ctx.auth.options.requireVerifiedEmail) {
        // ASVS 6.3.8: a new and a taken address answer alike (the core did the same work
        // for both, and mailed the owner of a taken one). No sign-in: the address is unproven.
        try {
          await ctx.auth.signup({ email, password });
        } catch (error) {
          if (!(error instanceof AuthError) || error.code !== 'EMAIL_TAKEN') throw error;
        }
        return accepted();
      }
      await ctx.auth.signup({ email, password });
      const device = typeof body.device === 'string' ? body.device : undefined;
      const s = await ctx.auth.login(
        withClientKey(
          ctx,
          req,
          device === undefined ? { email, password } : { email, password, device },
        ),
      );
      if (!bearer) await endBrowserSession(ctx, req, s.session.sid);
      return signedIn(ctx, s, 201, bearer);
    },
  },
  {
    method: 'POST',
    path: '/auth/login',
    summary: 'Sign in',
    access: 'none',
    body: S.loginBody,
    responses: { 200: signInResponses[200] },
    errors: LOGIN,
    async handle(ctx, req) {
      const bearer = wantsBearer(req);
      admitSignIn(ctx, req, bearer);
      const body = parseBody(ctx, req, S.loginBody);
      const input = {
        email: body.email as string,
        password: body.password as string,
        ...(typeof body.device === 'string' ? { device: body.device } : {}),
        ...(typeof body.otp === 'string' ? { otp: body.otp } : {}),
      };
      const s = await ctx.auth.login(withClientKey(ctx, req, input));
      if (!bearer) await endBrowserSession(ctx, req, s.session.sid);
      return signedIn(ctx, s, 200, bearer);
    },
  },
  {
    method: 'POST',
    path: '/auth/refresh',
    summary: 'Rotate both tokens (refresh token in the body or the refresh cookie)',
    access: 'none',
    body: S.refreshBody,
    responses: { 200: signInResponses[200] },
    errors: codes(
      'VALIDATION_FAILED',
      'CSRF_FAILED',
      'REFRESH_TOKEN_INVALID',
      'REFRESH_TOKEN_REUSED',
      'SESSION_EXPIRED',
      ISSUE,
    ),
    async handle(ctx, req) {
      const body = parseBody(ctx, req, S.refreshBody);
      const fromBody = typeof body.refreshToken === 'string';
      const token = fromBody ? (body.refreshToken as string) : req.cookies[REFRESH_COOKIE];
      if (token === undefined || token.length === 0) {
        throw new AuthError('REFRESH_TOKEN_INVALID', 'No refresh token.');
      }
      const header = req.headers['x-csrf-token'];
      const cookie = req.cookies[CSRF_COOKIE];
      if (!fromBody) {
        // A cookie refresh is an unsafe cookie request like any other.
        if (
          !sameOrigin(req, ctx.trustedOrigins, ctx.trustProxy) ||
          !ctx.csrf.check(header, cookie, undefined)
        ) {
          throw new AuthError('CSRF_FAILED', 'Missing or wrong X-CSRF-Token.');
        }
      }
      let s: SignedIn;
      try {
        s = await ctx.auth.refresh(token, withClientKey(ctx, req, {}));
      } catch (error) {
        // A refused cookie refresh also expires the cookies: they name a dead session.
        return withCleared(failure(ctx, error), !fromBody && error instanceof AuthError);
      }
      if (!fromBody && !ctx.csrf.check(header, cookie, s.session.sid)) {
        // The CSRF token names another session: someone planted cookies. End this one.
        await ctx.auth.logout(s.session.sid);
        return withCleared(
          failure(ctx, new AuthError('CSRF_FAILED', 'CSRF token mismatch.')),
          true,
        );
      }
      // A refresh token from the cookie is answered in cookies whatever X-Auth-Transport
      // says: else a page script could trade the HttpOnly cookie for readable tokens.
      return signedIn(ctx, s, 200, fromBody);
    },
  },
];
