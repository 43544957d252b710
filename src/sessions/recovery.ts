import type { AuthContext } from './context.js';
import type { CredentialChecks } from './credentials.js';
import {
  admitLinkRequest,
  issueLink,
  linkInvalid,
  presentedLinkHash,
  userLinkOrThrow,
} from './links.js';
import { renderFor, requireMailer, sendMail } from './mailing.js';
import { assertPasswordInput, normaliseEmail } from './passwords.js';
import type { Auth } from './types.js';
import { assertObject, MAX_CLIENT_KEY_LENGTH, optionalText } from './validate.js';

/**
 * Password recovery by mail (ASVS 6.4.x): a reset link for whoever can read the mailbox, and
 * its redemption, which ends every session like any critical change.
 */
export function recoveryOperations(
  ctx: AuthContext,
  credentials: CredentialChecks,
): Pick<Auth, 'forgotPassword' | 'resetPassword'> {
  return {
    async forgotPassword(email, context) {
      requireMailer(ctx, 'forgotPassword');
      const address = normaliseEmail(email);
      if (context !== undefined) assertObject(context, 'context');
      const clientKey = optionalText(context?.clientKey, 'clientKey', MAX_CLIENT_KEY_LENGTH);
      await ctx.ready();
      // Both branches below take the same steps: one lookup, one link written, one mail
      // rendered. Only whether it is queued differs, and queueing returns at once.
      if (!(await admitLinkRequest(ctx, address, clientKey)).ok) return;
      const user = await ctx.store().findUserByEmail(address);
      // A disabled account gets no link: a reset could not let it in anyway.
      const owner = user !== null && !user.disabled ? user : null;
      const link = await issueLink(ctx, {
        kind: 'reset-password',
        userId: owner?.id ?? null,
        email: address,
      });
      const resetMail = renderFor(ctx, 'reset-password', address, {
        link: link.url,
        expiresAt: link.expiresAt,
      });
      if (owner !== null) sendMail(ctx, resetMail);
    },

    async resetPassword(token, newPassword) {
      const tokenHash = presentedLinkHash(token);
      assertPasswordInput(newPassword, ctx.resolved.password);
      await ctx.ready();
      const store = ctx.store();
      // The link is read before the password is hashed: a guessed token costs no hash.
      const link = await userLinkOrThrow(ctx, 'reset-password', tokenHash);
      const user = await store.getUser(link.userId);
      // Mailed to an address the account has since left: that mailbox no longer speaks for it.
      if (user === null || user.email !== link.email) throw linkInvalid();
      const passwordHash = await credentials.checkNewPassword(newPassword, user.email);
      // Password, verified address, every session and the link, in one transaction: of two
      // redemptions racing, the store lets exactly one through.
      const result = await store.revokeUser({
        userId: user.id,
        nowMs: ctx.clock.now(),
        scope: 'sessions',
        cause: 'password',
        change: { passwordHash, emailVerified: true },
        link: { kind: 'reset-password', tokenHash },
      });
      // `link` (spent or superseded meanwhile) or `no-user` (deleted meanwhile).
      if (!result.ok) throw linkInvalid();
      await ctx.commit([result.revocation]);
      ctx.mail('password-reset', result.user?.email ?? user.email);
    },
  };
}
