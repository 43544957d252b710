import { AuthError } from '../errors.js';
import type { SignedIn, StepUp } from '../sessions/types.js';
import {
  ACCESS_COOKIE,
  CSRF_COOKIE,
  clearedCookies,
  REFRESH_COOKIE,
  sessionCookies,
} from './cookies.js';
import { type Authenticated, authenticate, guard, type HttpContext, parseBody } from './core.js';
import { buildOpenApi } from './openapi.js';
import {
  clientAddress,
  type HttpRequest,
  type RequestView,
  sameOrigin,
  view,
  wantsBearer,
} from './request.js';
import { errorResponse, type HttpResponse, json, noContent } from './response.js';
import * as S from './schemas.js';

export type Access = 'none' | 'user' | 'admin';

export interface RouteDef {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Express/Fastify/Hono style: `:name` for a parameter. */
  path: string;
  summary: string;
  access: Access;
  body?: S.JsonSchema;
  params?: Record<string, S.JsonSchema>;
  /** Status → [description, schema of the answer]. */
  responses: Record<number, readonly [string, S.JsonSchema?]>;
  /** Answers with an event stream (adapters stream it; `handle` is not used). */
  stream?: boolean;
  handle(ctx: HttpContext, req: RequestView): Promise<HttpResponse>;
}

const secondsUntil = (ctx: HttpContext, ms: number): number => (ms - ctx.clock.now()) / 1000;

/**
 * A sign-in answer: tokens in the body for API clients, cookies for browsers. Callers
 * pass `bearer` true only when the credential itself did not come from a cookie: a
 * cookie session answered in the body would hand its tokens to any page script.
 */
function signedIn(ctx: HttpContext, s: SignedIn, status: number, bearer: boolean): HttpResponse {
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

const withCleared = (res: HttpResponse, clear: boolean): HttpResponse => {
  if (clear) res.cookies.push(...clearedCookies());
  return res;
};

const stepUp = (a: Authenticated, password: unknown): StepUp =>
  typeof password === 'string'
    ? { sid: a.claims.sid, authTime: a.claims.auth_time, password }
    : { sid: a.claims.sid, authTime: a.claims.auth_time };

/** Rate limit, and for browsers the login-CSRF check (JSON only, same origin). */
function admitSignIn(ctx: HttpContext, req: RequestView, bearer: boolean): void {
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
const withClientKey = <T extends object>(
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
async function endBrowserSession(ctx: HttpContext, req: RequestView, keep: string): Promise<void> {
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

async function requireAdmin(ctx: HttpContext, req: RequestView): Promise<Authenticated> {
  const a = authenticate(ctx, req);
  if (!a.claims.roles.includes('admin')) throw new AuthError('FORBIDDEN', 'Role admin required.');
  return a;
}

async function targetUser(ctx: HttpContext, req: RequestView): Promise<string> {
  const id = req.params.id ?? '';
  if ((await ctx.auth.getUser(id)) === null) throw new AuthError('NOT_FOUND', 'No such user.');
  return id;
}

const signInResponses = {
  200: ['Signed in. Browser transport: cookies and this body.', S.signedInBrowser],
  201: ['Signed up and signed in.', S.signedInBrowser],
} as const;

export const ROUTES: readonly RouteDef[] = [
  {
    method: 'POST',
    path: '/auth/signup',
    summary: 'Create a user and sign in',
    access: 'none',
    body: S.credentialsBody,
    responses: { 201: signInResponses[201] },
    async handle(ctx, req) {
      const bearer = wantsBearer(req);
      admitSignIn(ctx, req, bearer);
      const body = parseBody(ctx, req, S.credentialsBody);
      const email = body.email as string;
      const password = body.password as string;
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
    body: S.credentialsBody,
    responses: { 200: signInResponses[200] },
    async handle(ctx, req) {
      const bearer = wantsBearer(req);
      admitSignIn(ctx, req, bearer);
      const body = parseBody(ctx, req, S.credentialsBody);
      const input = { email: body.email as string, password: body.password as string };
      const device = body.device;
      const s = await ctx.auth.login(
        withClientKey(ctx, req, typeof device === 'string' ? { ...input, device } : input),
      );
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
        return withCleared(errorResponse(error), !fromBody && error instanceof AuthError);
      }
      if (!fromBody && !ctx.csrf.check(header, cookie, s.session.sid)) {
        // The CSRF token names another session: someone planted cookies. End this one.
        await ctx.auth.logout(s.session.sid);
        return withCleared(
          errorResponse(new AuthError('CSRF_FAILED', 'CSRF token mismatch.')),
          true,
        );
      }
      // A refresh token from the cookie is answered in cookies whatever X-Auth-Transport
      // says: else a page script could trade the HttpOnly cookie for readable tokens.
      return signedIn(ctx, s, 200, fromBody);
    },
  },
  {
    method: 'POST',
    path: '/auth/logout',
    summary: 'End this session',
    access: 'user',
    responses: { 204: ['Signed out; cookies cleared.'] },
    async handle(ctx, req) {
      parseBody(ctx, req, S.emptyBody);
      const a = authenticate(ctx, req);
      await ctx.auth.logout(a.claims.sid);
      return withCleared(noContent(), a.via === 'cookie');
    },
  },
  {
    method: 'POST',
    path: '/auth/logout-all',
    summary: 'End every session of this user (step-up: recent sign-in or password)',
    access: 'user',
    body: S.optionalPasswordBody,
    responses: { 204: ['Every session ended.'] },
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      const body = parseBody(ctx, req, S.optionalPasswordBody);
      await ctx.auth.logoutAll(a.claims.sub, stepUp(a, body.password));
      return withCleared(noContent(), a.via === 'cookie');
    },
  },
  {
    method: 'POST',
    path: '/auth/password',
    summary: 'Change the password; other sessions end, this one gets fresh tokens',
    access: 'user',
    body: S.changePasswordBody,
    responses: { 200: signInResponses[200] },
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      const body = parseBody(ctx, req, S.changePasswordBody);
      const s = await ctx.auth.changePassword(
        a.claims.sub,
        body.currentPassword as string,
        body.newPassword as string,
        { keepSession: a.claims.sid },
      );
      if (s === null) return withCleared(noContent(), a.via === 'cookie');
      // A cookie session stays a cookie session (see refresh).
      return signedIn(ctx, s, 200, a.via === 'bearer');
    },
  },
  {
    method: 'GET',
    path: '/auth/me',
    summary: 'The signed-in user and the access token claims',
    access: 'user',
    responses: { 200: ['The caller.', S.meSchema] },
    async handle(ctx, req) {
      const { claims } = authenticate(ctx, req);
      const user = await ctx.auth.getUser(claims.sub);
      if (user === null)
        throw new AuthError('TOKEN_REVOKED', 'The user is gone.', { reason: 'user' });
      return json(200, { user, claims });
    },
  },
  {
    method: 'GET',
    path: '/auth/sessions',
    summary: "This user's live sessions, the current one marked",
    access: 'user',
    responses: { 200: ['Sessions.', S.sessionsSchema] },
    async handle(ctx, req) {
      const { claims } = authenticate(ctx, req);
      return json(200, { sessions: await ctx.auth.listSessions(claims.sub, claims.sid) });
    },
  },
  {
    method: 'DELETE',
    path: '/auth/sessions/:sid',
    summary: 'End one of your sessions (another one needs step-up)',
    access: 'user',
    body: S.optionalPasswordBody,
    params: { sid: S.sidParam },
    responses: { 204: ['Session ended.'] },
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      const body = parseBody(ctx, req, S.optionalPasswordBody);
      const sid = req.params.sid ?? '';
      if (!ctx.validator(S.sidParam)(sid)) throw new AuthError('NOT_FOUND', 'No such session.');
      await ctx.auth.endSession(a.claims.sub, sid, stepUp(a, body.password));
      return withCleared(noContent(), a.via === 'cookie' && sid === a.claims.sid);
    },
  },
  {
    method: 'DELETE',
    path: '/auth/account',
    summary: 'Delete your account (password required); every session ends',
    access: 'user',
    body: S.passwordBody,
    responses: { 204: ['Account deleted.'] },
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      const body = parseBody(ctx, req, S.passwordBody);
      // The password is required here (no recent-sign-in shortcut): deletion is final.
      await ctx.auth.deleteUser(a.claims.sub, { password: body.password as string });
      return withCleared(noContent(), a.via === 'cookie');
    },
  },
  {
    method: 'GET',
    path: '/auth/events',
    summary: 'Server-Sent Events: session-revoked, credential-change, token-claims-change',
    access: 'user',
    stream: true,
    responses: { 200: ['text/event-stream'] },
    async handle() {
      throw new AuthError('NOT_FOUND', 'Streamed by the adapter.');
    },
  },
  {
    method: 'PUT',
    path: '/admin/users/:id/roles',
    summary: "Replace a user's roles (admin); their access tokens are revoked, sessions live",
    access: 'admin',
    body: S.rolesBody,
    params: { id: S.userIdParam },
    responses: { 200: ['The user.', S.userSchema] },
    async handle(ctx, req) {
      await requireAdmin(ctx, req);
      const body = parseBody(ctx, req, S.rolesBody);
      const user = await ctx.auth.setRoles(await targetUser(ctx, req), body.roles as string[]);
      return json(200, { user });
    },
  },
  ...(['disable', 'enable', 'logout-all'] as const).map(
    (action): RouteDef => ({
      method: 'POST',
      path: `/admin/users/:id/${action}`,
      summary: `${action} a user (admin)`,
      access: 'admin',
      params: { id: S.userIdParam },
      responses: { 204: ['Done.'] },
      async handle(ctx, req) {
        await requireAdmin(ctx, req);
        parseBody(ctx, req, S.emptyBody);
        const id = await targetUser(ctx, req);
        if (action === 'disable') await ctx.auth.disableUser(id);
        else if (action === 'enable') await ctx.auth.enableUser(id);
        else await ctx.auth.logoutAll(id);
        return noContent();
      },
    }),
  ),
  {
    method: 'POST',
    path: '/admin/revoke-everyone',
    summary: 'End every session of every user (admin)',
    access: 'admin',
    responses: { 204: ['Done.'] },
    async handle(ctx, req) {
      const a = await requireAdmin(ctx, req);
      parseBody(ctx, req, S.emptyBody);
      await ctx.auth.revokeEveryone();
      return withCleared(noContent(), a.via === 'cookie');
    },
  },
  {
    method: 'GET',
    path: '/.well-known/jwks.json',
    summary: 'Public keys',
    access: 'none',
    responses: { 200: ['JWKS.', S.jwksSchema] },
    async handle(ctx) {
      return json(200, ctx.auth.jwks(), {
        'cache-control': 'public, max-age=300',
        'access-control-allow-origin': '*',
        'cross-origin-resource-policy': 'cross-origin',
      });
    },
  },
  {
    method: 'GET',
    path: '/healthz',
    summary: 'Ready and current: 200, else 503',
    access: 'none',
    responses: { 200: ['Ready.', S.healthSchema], 503: ['Not ready.', S.healthSchema] },
    async handle(ctx) {
      const ok = await (ctx.options.health ?? (() => readyWithin(ctx, 2000)))();
      return json(ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable' });
    },
  },
  {
    method: 'GET',
    path: '/openapi.json',
    summary: 'This document',
    access: 'none',
    responses: { 200: ['OpenAPI 3.1.'] },
    async handle() {
      return json(200, buildOpenApi(ROUTES), { 'cache-control': 'public, max-age=300' });
    },
  },
];

function readyWithin(ctx: HttpContext, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    ctx.auth.ready().then(
      () => resolve(true),
      () => resolve(false),
    );
    timer.unref?.();
  });
}

/** Runs one route: never throws, every failure is the shared error answer. */
export function runRoute(
  ctx: HttpContext,
  route: RouteDef,
  req: HttpRequest,
): Promise<HttpResponse> {
  return guard(ctx, () => route.handle(ctx, view(req)));
}
