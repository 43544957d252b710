import { AuthError } from '../../errors.js';
import type { SignedIn } from '../../sessions/types.js';
import { type Authenticated, authenticate, type HttpContext, parseBody } from '../core.js';
import { type RequestView, wantsBearer } from '../request.js';
import { json, noContent } from '../response.js';
import * as S from '../schemas.js';
import { accepted, signedIn, signInResponses, withCleared } from './answers.js';
import { admitSignIn, endBrowserSession, ISSUE, withClientKey } from './sign-in.js';
import { codes, PASSWORD_CHECK, type RouteDef, SIGNED_IN_UNSAFE } from './types.js';

/** A route whose point is a mailed link, on a server without a mailer: as if not mounted. */
function needsMail(ctx: HttpContext): void {
  if (!ctx.auth.options.hasMailer)
    throw new AuthError('NOT_FOUND', 'This server sends no mail (no mailer is configured).');
}

/**
 * The caller, if the request carries a valid access token (and, by cookie, passes the CSRF
 * checks); null otherwise: these routes work signed out, a token only adds to them.
 */
function optionalCaller(ctx: HttpContext, req: RequestView): Authenticated | null {
  try {
    return authenticate(ctx, req);
  } catch (error) {
    if (error instanceof AuthError) return null;
    throw error;
  }
}

/** A link redeemed: bad input, an unusable link, or a database outage. */
const LINK = codes('VALIDATION_FAILED', 'LINK_INVALID', 'STORE_UNAVAILABLE');

/** An administrator's request (see admin.ts). */
const ADMIN = codes(SIGNED_IN_UNSAFE, 'FORBIDDEN', 'VALIDATION_FAILED');

/**
 * The account lifecycle over mail: verification, recovery, change of address, invitations.
 * Tokens come in the POST body only (the page read them from the URL fragment).
 */
export const LIFECYCLE_ROUTES: readonly RouteDef[] = [
  {
    method: 'POST',
    path: '/auth/email/verify/request',
    summary: 'Mail a link that verifies your email address',
    access: 'user',
    responses: { 202: ['A link is on its way (nothing is sent when already verified).'] },
    errors: codes(SIGNED_IN_UNSAFE, 'VALIDATION_FAILED', 'RATE_LIMITED', 'NOT_FOUND'),
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      parseBody(ctx, req, S.emptyBody);
      needsMail(ctx);
      await ctx.auth.requestEmailVerification(a.claims.sub, withClientKey(ctx, req, {}));
      return accepted();
    },
  },
  {
    method: 'POST',
    path: '/auth/email/verify',
    summary: 'Redeem a verification link: the email counts as verified',
    access: 'none',
    body: S.linkTokenBody,
    responses: { 204: ['Verified; a refresh gets tokens with email_verified: true.'] },
    errors: LINK,
    async handle(ctx, req) {
      const body = parseBody(ctx, req, S.linkTokenBody);
      await ctx.auth.verifyEmail(body.token as string);
      return noContent();
    },
  },
  {
    method: 'POST',
    path: '/auth/password/forgot',
    summary: 'Mail a password-reset link (the same answer whether or not the account exists)',
    access: 'none',
    body: S.emailBody,
    responses: { 202: ['Taken: a link is mailed if the address has an account.'] },
    errors: codes('VALIDATION_FAILED', 'RATE_LIMITED', 'NOT_FOUND', 'STORE_UNAVAILABLE'),
    async handle(ctx, req) {
      const body = parseBody(ctx, req, S.emailBody);
      needsMail(ctx);
      await ctx.auth.forgotPassword(body.email as string, withClientKey(ctx, req, {}));
      return accepted();
    },
  },
  {
    method: 'POST',
    path: '/auth/password/reset',
    summary: 'Redeem a reset link: set the password; every session of the user ends',
    access: 'none',
    body: S.resetPasswordBody,
    responses: { 204: ['Password set; sign in with it.'] },
    errors: codes(LINK, 'WEAK_PASSWORD'),
    async handle(ctx, req) {
      const body = parseBody(ctx, req, S.resetPasswordBody);
      await ctx.auth.resetPassword(body.token as string, body.newPassword as string);
      return noContent();
    },
  },
  {
    method: 'POST',
    path: '/auth/email',
    summary: 'Change your email: a confirmation link to the new address, a notice to the old',
    access: 'user',
    body: S.changeEmailBody,
    responses: { 202: ['Nothing changes until the link is opened.'] },
    errors: codes(SIGNED_IN_UNSAFE, PASSWORD_CHECK, 'NOT_FOUND'),
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      const body = parseBody(ctx, req, S.changeEmailBody);
      needsMail(ctx);
      await ctx.auth.requestEmailChange(
        a.claims.sub,
        body.newEmail as string,
        body.password as string,
        withClientKey(ctx, req, {}),
      );
      return accepted();
    },
  },
  {
    method: 'POST',
    path: '/auth/email/confirm',
    summary: 'Redeem a change-of-email link: switch, and end every other session',
    access: 'none',
    body: S.linkTokenBody,
    responses: {
      200: ["Switched; the caller's own session lives on with fresh tokens.", S.signedInBrowser],
      204: ['Switched; sign in with the new address.'],
    },
    errors: codes(LINK, 'EMAIL_TAKEN', ISSUE),
    async handle(ctx, req) {
      const body = parseBody(ctx, req, S.linkTokenBody);
      const caller = optionalCaller(ctx, req);
      const s: SignedIn | null = await ctx.auth.confirmEmailChange(
        body.token as string,
        caller === null ? {} : { sid: caller.claims.sid },
      );
      // A cookie session is answered in cookies (see /auth/password).
      if (s !== null) return signedIn(ctx, s, 200, caller?.via === 'bearer');
      return withCleared(noContent(), caller?.via === 'cookie' && endedNow(ctx, caller));
    },
  },
  {
    method: 'POST',
    path: '/admin/invitations',
    summary: 'Invite an address to create an account with roles (admin)',
    access: 'admin',
    body: S.invitationBody,
    responses: { 201: ['Invited; the link went by mail.', S.invitationSchema] },
    errors: codes(ADMIN, 'EMAIL_TAKEN', 'NOT_FOUND'),
    async handle(ctx, req) {
      const a = authenticate(ctx, req);
      if (!a.claims.roles.includes('admin'))
        throw new AuthError('FORBIDDEN', 'Role admin required.');
      const body = parseBody(ctx, req, S.invitationBody);
      needsMail(ctx);
      const roles = body.roles as string[] | undefined;
      const { id } = await ctx.auth.invite(
        roles === undefined
          ? { email: body.email as string }
          : { email: body.email as string, roles },
      );
      return json(201, { id });
    },
  },
  {
    method: 'POST',
    path: '/auth/invitations/accept',
    summary: 'Redeem an invitation: create the account and sign in',
    access: 'none',
    body: S.acceptInvitationBody,
    responses: { 201: signInResponses[201] },
    errors: codes(
      'CSRF_FAILED',
      'RATE_LIMITED',
      LINK,
      'WEAK_PASSWORD',
      'EMAIL_TAKEN',
      // The sign-in that follows: the new account disabled or its password changed in between.
      'ACCOUNT_DISABLED',
      'INVALID_CREDENTIALS',
      ISSUE,
    ),
    async handle(ctx, req) {
      const bearer = wantsBearer(req);
      admitSignIn(ctx, req, bearer);
      const body = parseBody(ctx, req, S.acceptInvitationBody);
      const device = typeof body.device === 'string' ? { device: body.device } : {};
      const s = await ctx.auth.acceptInvitation(
        body.token as string,
        body.password as string,
        withClientKey(ctx, req, device),
      );
      if (!bearer) await endBrowserSession(ctx, req, s.session.sid);
      return signedIn(ctx, s, 201, bearer);
    },
  },
];

/** The caller's token died with the change (it was the user's): its cookies name nothing. */
function endedNow(ctx: HttpContext, caller: Authenticated): boolean {
  try {
    ctx.auth.verify(caller.token);
    return false;
  } catch (error) {
    if (error instanceof AuthError) return true;
    throw error;
  }
}
