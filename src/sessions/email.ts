import { AuthError } from '../errors.js';
import type { RevokeUserInput } from '../stores/port.js';
import type { AuthContext } from './context.js';
import type { CredentialChecks } from './credentials.js';
import {
  issueLink,
  linkInvalid,
  presentedLinkHash,
  requireLinkRequest,
  userLinkOrThrow,
} from './links.js';
import { renderFor, requireMailer, sendMail } from './mailing.js';
import { assertPasswordInput, normaliseEmail } from './passwords.js';
import { hashRefreshToken, newRefreshToken } from './refresh-tokens.js';
import { signIn } from './sign-in.js';
import type { Auth } from './types.js';
import { assertId, assertObject, MAX_CLIENT_KEY_LENGTH, optionalText } from './validate.js';

type EmailOperations = Pick<
  Auth,
  'requestEmailVerification' | 'verifyEmail' | 'requestEmailChange' | 'confirmEmailChange'
>;

const clientKeyOf = (context: unknown): string | null => {
  if (context === undefined) return null;
  assertObject(context, 'context');
  return optionalText(context.clientKey, 'clientKey', MAX_CLIENT_KEY_LENGTH);
};

/** The user's address: proving it (verification), and moving to another one (change). */
export function emailOperations(ctx: AuthContext, credentials: CredentialChecks): EmailOperations {
  const { clock } = ctx;
  return {
    async requestEmailVerification(userId, context) {
      requireMailer(ctx, 'requestEmailVerification');
      const clientKey = clientKeyOf(context);
      await ctx.ready();
      const user = await credentials.userOrThrow(userId);
      if (user.emailVerified) return;
      // The caller is signed in as the owner: being told of the limit reveals nothing.
      await requireLinkRequest(ctx, user.email, clientKey);
      const link = await issueLink(ctx, {
        kind: 'verify-email',
        userId: user.id,
        email: user.email,
      });
      sendMail(
        ctx,
        renderFor(ctx, 'verify-email', user.email, { link: link.url, expiresAt: link.expiresAt }),
      );
    },

    async verifyEmail(token) {
      const tokenHash = presentedLinkHash(token);
      await ctx.ready();
      const link = await userLinkOrThrow(ctx, 'verify-email', tokenHash);
      const user = await ctx.store().getUser(link.userId);
      // A link to an address the account has since left proves nothing about the new one.
      if (user === null || user.email !== link.email) throw linkInvalid();
      // Scope `tokens`: sessions live on, and the refresh the clients are pushed to make
      // carries `email_verified: true` (reason `claims`).
      const result = await ctx.store().revokeUser({
        userId: user.id,
        nowMs: clock.now(),
        scope: 'tokens',
        cause: 'email-verified',
        change: { emailVerified: true },
        link: { kind: 'verify-email', tokenHash },
      });
      if (!result.ok) throw linkInvalid();
      await ctx.commit([result.revocation]);
    },

    async requestEmailChange(userId, newEmail, password, context) {
      requireMailer(ctx, 'requestEmailChange');
      const address = normaliseEmail(newEmail);
      assertPasswordInput(password, ctx.resolved.password);
      const clientKey = clientKeyOf(context);
      await ctx.ready();
      const user = await credentials.userOrThrow(userId);
      await credentials.checkPassword(user, password, clientKey ?? undefined, user.email);
      if (address === user.email)
        throw new AuthError('VALIDATION_FAILED', 'The new email is the current one.');
      await requireLinkRequest(ctx, address, clientKey);
      // A taken address costs the same steps (the link is written all the same) but gets no
      // mail: the answer must not tell a signed-in user which addresses have accounts, and
      // the confirmation could never succeed anyway.
      const taken = (await ctx.store().findUserByEmail(address)) !== null;
      const link = await issueLink(ctx, { kind: 'confirm-email', userId: user.id, email: address });
      const confirm = renderFor(ctx, 'confirm-email', address, {
        link: link.url,
        expiresAt: link.expiresAt,
      });
      if (!taken) sendMail(ctx, confirm);
      ctx.mail('email-change-requested', user.email, { newEmail: address });
    },

    async confirmEmailChange(token, context) {
      const tokenHash = presentedLinkHash(token);
      let keepSid: string | undefined;
      if (context !== undefined) {
        assertObject(context, 'context');
        if (context.sid !== undefined) {
          assertId(context.sid, 'sid');
          keepSid = context.sid;
        }
      }
      await ctx.ready();
      const store = ctx.store();
      const link = await userLinkOrThrow(ctx, 'confirm-email', tokenHash);
      const user = await store.getUser(link.userId);
      if (user === null) throw linkInvalid();
      const base: RevokeUserInput = {
        userId: user.id,
        nowMs: clock.now(),
        scope: 'sessions',
        cause: 'email',
        change: { email: link.email, emailVerified: true },
        link: { kind: 'confirm-email', tokenHash },
      };
      // The confirming session is kept only when it is the user's own and live; it keeps
      // its sign-in time (no password was entered) and gets fresh tokens.
      const session = keepSid === undefined ? null : await store.getSession(keepSid);
      const refreshToken = newRefreshToken();
      let result =
        session === null || session.userId !== user.id || session.revokedAt !== null
          ? await store.revokeUser(base)
          : await store.revokeUser({
              ...base,
              keep: {
                sid: session.sid,
                refreshHash: hashRefreshToken(refreshToken),
                authTime: session.authTime,
              },
            });
      // The session to keep ended meanwhile: switch all the same, and end them all.
      if (!result.ok && result.reason === 'no-session') result = await store.revokeUser(base);
      if (!result.ok) {
        if (result.reason === 'email-taken')
          throw new AuthError('EMAIL_TAKEN', 'This email is already registered.');
        throw linkInvalid();
      }
      await ctx.commit([result.revocation]);
      ctx.mail('email-changed', user.email, { newEmail: link.email });
      if (result.kept === undefined || result.user === null) return null;
      return signIn(ctx, result.user, result.kept.session, result.kept.issuedAt, refreshToken);
    },
  };
}
