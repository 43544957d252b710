import { AuthError } from '../../errors.js';
import type { SignedIn } from '../../sessions/types.js';
import { type Authenticated, authenticate, type HttpContext, parseBody } from '../core.js';
import { type HttpResponse, json, noContent } from '../response.js';
import * as S from '../schemas.js';
import { signedIn, signInResponses, stepUp, withCleared } from './answers.js';
import { ISSUE } from './sign-in.js';
import { codes, type RouteDef, SIGNED_IN, SIGNED_IN_UNSAFE, STEP_UP } from './types.js';

/**
 * The answer of a factor change that keeps the caller's session: its fresh tokens (the old
 * ones died with the other sessions), in cookies or, for a bearer caller, in the body, with
 * `extra` beside them. When the session ended meanwhile, the cookies are cleared.
 */
function keptSession(
  ctx: HttpContext,
  a: Authenticated,
  s: SignedIn | null,
  extra: Record<string, unknown> | null,
): HttpResponse {
  if (s === null)
    return withCleared(extra === null ? noContent() : json(200, extra), a.via === 'cookie');
  // A cookie session stays a cookie session (see refresh).
  const res = signedIn(ctx, s, 200, a.via === 'bearer');
  if (extra === null && a.via === 'cookie') {
    const done = noContent();
    done.cookies = res.cookies;
    return done;
  }
  res.body = { ...(extra ?? {}), ...(res.body as Record<string, unknown>) };
  return res;
}

/** The other sessions end and this one is re-issued: a revocation may overlap the re-issue. */
const CHANGE = codes(SIGNED_IN_UNSAFE, ISSUE, 'NOT_FOUND');

/** The signed-in user's TOTP and recovery codes; an administrator's removal of every factor. */
export const FACTOR_ROUTES: readonly RouteDef[] = [
  {
    method: 'GET',
    path: '/auth/mfa',
    summary: 'Whether TOTP is on, and how many recovery codes are left',
    access: 'user',
    responses: { 200: ['The second factors of the caller.', S.mfaStatusSchema] },
    errors: SIGNED_IN,
    async handle(ctx, req) {
      const { claims } = authenticate(ctx, req);
      return json(200, await ctx.auth.mfaStatus(claims.sub));
    },
  },
  {
    method: 'POST',
    path: '/auth/mfa/totp',
    summary: 'Start a TOTP enrolment (step-up): the secret and its otpauth URL, shown once',
    access: 'user',
    body: S.optionalPasswordBody,
    responses: { 200: ['The new secret, pending until confirmed.', S.totpEnrolmentSchema] },
    errors: codes(SIGNED_IN_UNSAFE, STEP_UP, 'NOT_FOUND'),
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      const body = parseBody(ctx, req, S.optionalPasswordBody);
      return json(200, await ctx.auth.startTotp(a.claims.sub, stepUp(a, body.password, body.otp)));
    },
  },
  {
    method: 'POST',
    path: '/auth/mfa/totp/confirm',
    summary: 'Confirm TOTP with a first code: recovery codes (shown once); other sessions end',
    access: 'user',
    body: S.totpCodeBody,
    responses: {
      200: ['TOTP is on; this session has fresh tokens.', S.recoveryCodesSchema],
    },
    errors: codes(CHANGE, 'INVALID_CREDENTIALS', 'RATE_LIMITED', 'VALIDATION_FAILED'),
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      const body = parseBody(ctx, req, S.totpCodeBody);
      const { recoveryCodes, signedIn: s } = await ctx.auth.confirmTotp(
        a.claims.sub,
        body.code as string,
        { keepSession: a.claims.sid },
      );
      return keptSession(ctx, a, s, { recoveryCodes });
    },
  },
  {
    method: 'DELETE',
    path: '/auth/mfa/totp',
    summary: 'Remove TOTP (step-up and a code); other sessions end',
    access: 'user',
    body: S.otpStepUpBody,
    responses: {
      200: ['Removed (bearer): this session’s fresh tokens.', signInResponses[200][1]],
      204: ['Removed (cookies): this session’s fresh tokens in cookies.'],
    },
    errors: codes(CHANGE, STEP_UP),
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      const body = parseBody(ctx, req, S.otpStepUpBody);
      const s = await ctx.auth.removeTotp(a.claims.sub, stepUp(a, body.password, body.otp), {
        keepSession: a.claims.sid,
      });
      return keptSession(ctx, a, s, null);
    },
  },
  {
    method: 'POST',
    path: '/auth/mfa/recovery-codes',
    summary: 'Replace the recovery codes (step-up); other sessions end',
    access: 'user',
    body: S.optionalPasswordBody,
    responses: { 200: ['New recovery codes (shown once).', S.recoveryCodesSchema] },
    errors: codes(CHANGE, STEP_UP),
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      const body = parseBody(ctx, req, S.optionalPasswordBody);
      const { recoveryCodes, signedIn: s } = await ctx.auth.regenerateRecoveryCodes(
        a.claims.sub,
        stepUp(a, body.password, body.otp),
        { keepSession: a.claims.sid },
      );
      return keptSession(ctx, a, s, { recoveryCodes });
    },
  },
  {
    method: 'DELETE',
    path: '/admin/users/:id/mfa',
    summary: 'Remove every second factor of a user (admin); every session of theirs ends',
    access: 'admin',
    params: { id: S.userIdParam },
    responses: { 204: ['Done.'] },
    errors: codes(SIGNED_IN_UNSAFE, 'FORBIDDEN', 'VALIDATION_FAILED', 'NOT_FOUND'),
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      if (!a.claims.roles.includes('admin'))
        throw new AuthError('FORBIDDEN', 'Role admin required.');
      parseBody(ctx, req, S.emptyBody);
      const id = req.params.id ?? '';
      await ctx.auth.removeFactors(id);
      // An administrator removing their own factors ends their own session too.
      return withCleared(noContent(), a.via === 'cookie' && id === a.claims.sub);
    },
  },
];
