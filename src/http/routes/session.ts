import { AuthError } from '../../errors.js';
import { authenticate, parseBody } from '../core.js';
import { json, noContent } from '../response.js';
import * as S from '../schemas.js';
import { signedIn, signInResponses, stepUp, withCleared } from './answers.js';
import {
  codes,
  PASSWORD_CHECK,
  type RouteDef,
  SIGNED_IN,
  SIGNED_IN_UNSAFE,
  STEP_UP,
} from './types.js';

/**
 * The signed-in user's own session and account. NOT_FOUND where the user is looked up:
 * an account deleted between the token check and the lookup.
 */
export const SESSION_ROUTES: readonly RouteDef[] = [
  {
    method: 'POST',
    path: '/auth/logout',
    summary: 'End this session',
    access: 'user',
    responses: { 204: ['Signed out; cookies cleared.'] },
    errors: codes('VALIDATION_FAILED', SIGNED_IN_UNSAFE),
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
    errors: codes(SIGNED_IN_UNSAFE, STEP_UP, 'NOT_FOUND'),
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      const body = parseBody(ctx, req, S.optionalPasswordBody);
      await ctx.auth.logoutAll(a.claims.sub, stepUp(a, body.password, body.otp));
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
    errors: codes(SIGNED_IN_UNSAFE, PASSWORD_CHECK, 'WEAK_PASSWORD', 'NOT_FOUND'),
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
    errors: SIGNED_IN,
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
    errors: SIGNED_IN,
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
    errors: codes(SIGNED_IN_UNSAFE, STEP_UP, 'NOT_FOUND'),
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      const body = parseBody(ctx, req, S.optionalPasswordBody);
      const sid = req.params.sid ?? '';
      if (!ctx.validator(S.sidParam)(sid)) throw new AuthError('NOT_FOUND', 'No such session.');
      await ctx.auth.endSession(a.claims.sub, sid, stepUp(a, body.password, body.otp));
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
    errors: codes(SIGNED_IN_UNSAFE, PASSWORD_CHECK, 'MFA_REQUIRED', 'NOT_FOUND'),
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      const body = parseBody(ctx, req, S.passwordBody);
      // The password is required here (no recent-sign-in shortcut): deletion is final.
      const otp = typeof body.otp === 'string' ? { otp: body.otp } : {};
      await ctx.auth.deleteUser(a.claims.sub, { password: body.password as string, ...otp });
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
    // Only the opening check can fail; after it, the stream ends instead of answering.
    errors: SIGNED_IN,
    async handle() {
      throw new Error('Streamed by the adapter (openStream), never run as a route.');
    },
  },
];
