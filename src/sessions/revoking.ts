import { AuthError } from '../errors.js';
import type { RevokeUserInput, StoredUser } from '../stores/port.js';
import { type AuthContext, publicUser } from './context.js';
import type { CredentialChecks } from './credentials.js';
import { hashRefreshToken } from './refresh-tokens.js';
import type { Auth } from './types.js';
import { assertId, assertObject, assertRoles, isRefreshTokenShape } from './validate.js';

type RevokingOperations = Pick<
  Auth,
  | 'logout'
  | 'revokeRefreshToken'
  | 'logoutAll'
  | 'revokeToken'
  | 'setRoles'
  | 'disableUser'
  | 'enableUser'
  | 'deleteUser'
  | 'revokeEveryone'
  | 'endSession'
>;

/**
 * Every operation that ends sessions or kills tokens. Each writes the state change and its
 * log entry in one store transaction first, then applies and publishes it (`commit`).
 */
export function revokingOperations(
  ctx: AuthContext,
  credentials: CredentialChecks,
): RevokingOperations {
  const { clock } = ctx;

  /** Moves a user's watermark (with its change) in the store, then applies and publishes it. */
  const revokeUser = async (
    userId: string,
    scope: RevokeUserInput['scope'],
    cause: RevokeUserInput['cause'],
    change?: RevokeUserInput['change'],
  ): Promise<StoredUser | null> => {
    const result = await ctx.store().revokeUser({
      userId,
      nowMs: clock.now(),
      scope,
      cause,
      ...(change === undefined ? {} : { change }),
    });
    if (!result.ok) throw new AuthError('NOT_FOUND', 'No such user.');
    await ctx.commit([result.revocation]);
    return result.user;
  };

  const revokeSession = async (sid: string, cause: 'logout' | 'revoked', userId?: string) => {
    const revocation = await ctx.store().revokeSession({
      sid,
      nowMs: clock.now(),
      cause,
      ...(userId === undefined ? {} : { userId }),
    });
    if (revocation !== null) await ctx.commit([revocation]);
    return revocation !== null;
  };

  return {
    async logout(sid) {
      assertId(sid, 'sid');
      await ctx.ready();
      await revokeSession(sid, 'logout');
    },

    async revokeRefreshToken(refreshToken) {
      if (typeof refreshToken !== 'string')
        throw new AuthError('VALIDATION_FAILED', 'A refresh token is required.');
      if (!isRefreshTokenShape(refreshToken)) return;
      await ctx.ready();
      const session = await ctx.store().findSessionByRefresh(hashRefreshToken(refreshToken));
      if (session !== null) await revokeSession(session.sid, 'logout');
    },

    async logoutAll(userId, proof) {
      await ctx.ready();
      const user = await credentials.userOrThrow(userId);
      if (proof !== undefined) await credentials.stepUp(user, proof);
      await revokeUser(user.id, 'sessions', 'logout-all');
    },

    async revokeToken(jti, exp) {
      assertId(jti, 'jti');
      if (exp !== undefined && (typeof exp !== 'number' || !Number.isFinite(exp) || exp < 0))
        throw new AuthError('VALIDATION_FAILED', 'Invalid exp.');
      await ctx.ready();
      const now = clock.now();
      const expMs = exp === undefined ? now + ctx.ttlMs : exp > 1e11 ? exp : exp * 1000;
      await ctx.commit([await ctx.store().revokeToken({ jti, exp: Math.ceil(expMs), nowMs: now })]);
    },

    async setRoles(userId, roles) {
      assertId(userId, 'userId');
      assertRoles(roles);
      await ctx.ready();
      const user = await revokeUser(userId, 'tokens', 'roles', { roles: [...new Set(roles)] });
      if (user === null) throw new AuthError('NOT_FOUND', 'No such user.');
      return publicUser(user);
    },

    async disableUser(userId) {
      assertId(userId, 'userId');
      await ctx.ready();
      await revokeUser(userId, 'sessions', 'disabled', { disabled: true });
    },

    async enableUser(userId) {
      assertId(userId, 'userId');
      await ctx.ready();
      if ((await ctx.store().enableUser(userId)) === null)
        throw new AuthError('NOT_FOUND', 'No such user.');
    },

    async deleteUser(userId, proof) {
      await ctx.ready();
      const user = await credentials.userOrThrow(userId);
      if (proof !== undefined) await credentials.stepUp(user, proof);
      await revokeUser(user.id, 'sessions', 'deleted', { deleted: true });
    },

    async revokeEveryone() {
      await ctx.ready();
      await ctx.commit([await ctx.store().revokeAll({ nowMs: clock.now() })]);
    },

    async endSession(userId, sid, actor) {
      assertId(sid, 'sid');
      assertObject(actor, 'actor');
      await ctx.ready();
      const user = await credentials.userOrThrow(userId);
      if (actor.sid !== sid) await credentials.stepUp(user, actor);
      const ended = await revokeSession(sid, actor.sid === sid ? 'logout' : 'revoked', user.id);
      if (!ended) throw new AuthError('NOT_FOUND', 'No such session.');
    },
  };
}
