import type { AuthContext } from './context.js';

/**
 * Tells the user that a second factor was added to or removed from their account (ASVS
 * 6.3.7: a notice after a change of authentication factors). Called after the change
 * committed; the mail is queued off the request path and its failure never undoes the change.
 * Skipped without a mailer, or when the user is gone.
 */
export async function notifyFactorChange(
  ctx: AuthContext,
  userId: string,
  change: 'added' | 'removed',
  factorLabel: string,
): Promise<void> {
  if (ctx.mailQueue === null) return;
  try {
    const user = await ctx.store().getUser(userId);
    if (user === null) return;
    ctx.mail(change === 'added' ? 'factor-added' : 'factor-removed', user.email, {
      factor: factorLabel,
    });
  } catch (error) {
    ctx.reportError(error);
  }
}
