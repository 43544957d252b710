import type { StoredUser } from '../stores/port.js';
import type { AuthContext } from './context.js';
import { admitLinkRequest, issueLink } from './links.js';
import { renderFor, sendMail } from './mailing.js';

/**
 * Mails `user` a fresh verification link (superseding the previous one), unless the address
 * is over its link-request limit: then nothing is mailed and nothing is said (sign-up and
 * sign-in must answer as they would anyway). Resolves whether a mail was queued.
 */
export async function mailVerificationLink(
  ctx: AuthContext,
  user: StoredUser,
  clientKey: string | null = null,
): Promise<boolean> {
  if (!(await admitLinkRequest(ctx, user.email, clientKey)).ok) return false;
  const link = await issueLink(ctx, { kind: 'verify-email', userId: user.id, email: user.email });
  sendMail(
    ctx,
    renderFor(ctx, 'verify-email', user.email, { link: link.url, expiresAt: link.expiresAt }),
  );
  return true;
}

/**
 * Sign-up with `requireVerifiedEmail` to an address that has an account: the owner is told,
 * with the same steps as a new account's verification mail (throttle, one link written, one
 * mail rendered and queued), so the answer and its timing say nothing. The link written is a
 * decoy: it names no user and no mail carries its token.
 */
export async function mailSignupAttempt(ctx: AuthContext, email: string): Promise<void> {
  if (!(await admitLinkRequest(ctx, email, null)).ok) return;
  await issueLink(ctx, { kind: 'verify-email', userId: null, email });
  sendMail(ctx, renderFor(ctx, 'signup-attempt', email));
}
