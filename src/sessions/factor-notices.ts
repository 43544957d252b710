import type { AuthContext } from './context.js';

/**
 * Tells the user that a second factor was added to or removed from their account (ASVS
 * 6.3.7: a notice after a change of authentication factors). Called after the change
 * committed; a failure to notify must not undo it.
 */
export async function notifyFactorChange(
  _ctx: AuthContext,
  _userId: string,
  _change: 'added' | 'removed',
  _factorLabel: string,
): Promise<void> {
  // wired to the mailer when merged with issue 12
}
