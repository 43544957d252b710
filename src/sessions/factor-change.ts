import { AuthError } from '../errors.js';
import type { FactorChange, StoredUser } from '../stores/port.js';
import type { AuthContext } from './context.js';
import { hashRefreshToken, newRefreshToken } from './refresh-tokens.js';
import { signIn } from './sign-in.js';
import type { SignedIn } from './types.js';

/**
 * Applies `change` with revokeUser: every other session ends; `sid` lives on with fresh
 * tokens and, when given, a new `amr`. Null when that session had ended meanwhile (the
 * change stands and every session ends); undefined when the change did not apply.
 */
export async function applyFactorChange(
  ctx: AuthContext,
  user: StoredUser,
  change: FactorChange,
  sid: string | undefined,
  amr?: (current: string[]) => string[],
): Promise<SignedIn | null | undefined> {
  const store = ctx.store();
  const base = {
    userId: user.id,
    nowMs: ctx.clock.now(),
    scope: 'sessions' as const,
    cause: 'mfa' as const,
    change: { factors: change },
  };
  const kept = sid === undefined ? null : await store.getSession(sid);
  const refreshToken = newRefreshToken();
  let result =
    kept === null || kept.userId !== user.id
      ? await store.revokeUser(base)
      : await store.revokeUser({
          ...base,
          keep: {
            sid: kept.sid,
            refreshHash: hashRefreshToken(refreshToken),
            // A factor proves nothing about the password: the sign-in time stays.
            authTime: kept.authTime,
            ...(amr === undefined ? {} : { amr: amr(kept.amr) }),
          },
        });
  if (!result.ok && result.reason === 'no-session') result = await store.revokeUser(base);
  if (!result.ok) {
    if (result.reason === 'no-user') throw new AuthError('NOT_FOUND', 'No such user.');
    return undefined;
  }
  await ctx.commit([result.revocation]);
  if (result.kept === undefined || result.user === null) return null;
  return signIn(ctx, result.user, result.kept.session, result.kept.issuedAt, refreshToken);
}
