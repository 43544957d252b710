import { AuthError } from '../errors.js';
import { type AuthContext, publicUser } from './context.js';
import type { CredentialChecks } from './credentials.js';
import { assertPasswordInput } from './passwords.js';
import { hashRefreshToken, newRefreshToken } from './refresh-tokens.js';
import { signIn } from './sign-in.js';
import type { Auth, SessionInfo } from './types.js';
import { assertId, assertObject } from './validate.js';

/** The user's own account: a password change, the session list, the profile. */
export function accountOperations(
  ctx: AuthContext,
  credentials: CredentialChecks,
): Pick<Auth, 'changePassword' | 'listSessions' | 'getUser'> {
  const { resolved, clock } = ctx;
  return {
    async changePassword(userId, currentPassword, next, changeOptions) {
      if (changeOptions !== undefined) assertObject(changeOptions, 'options');
      const keepSession = changeOptions?.keepSession;
      if (keepSession !== undefined) assertId(keepSession, 'keepSession');
      assertPasswordInput(currentPassword, resolved.password);
      assertPasswordInput(next, resolved.password);
      await ctx.ready();
      const store = ctx.store();
      const user = await credentials.userOrThrow(userId);
      await credentials.checkPassword(user, currentPassword, undefined, user.email);
      const passwordHash = await credentials.checkNewPassword(next, user.email);
      const now = clock.now();
      const base = {
        userId: user.id,
        nowMs: now,
        scope: 'sessions' as const,
        cause: 'password' as const,
        change: { passwordHash },
        expectPasswordHash: user.passwordHash,
      };
      const refreshToken = newRefreshToken();
      let result =
        keepSession === undefined
          ? await store.revokeUser(base)
          : await store.revokeUser({
              ...base,
              keep: {
                sid: keepSession,
                refreshHash: hashRefreshToken(refreshToken),
                authTime: now,
              },
            });
      // The session to keep has ended meanwhile: change the password and end them all.
      if (!result.ok && result.reason === 'no-session') result = await store.revokeUser(base);
      if (!result.ok) {
        if (result.reason === 'no-user') throw new AuthError('NOT_FOUND', 'No such user.');
        throw new AuthError('INVALID_CREDENTIALS', 'The password was changed meanwhile.');
      }
      await ctx.commit([result.revocation]);
      ctx.mail('password-changed', result.user?.email ?? user.email);
      if (result.kept === undefined || result.user === null) return null;
      return signIn(ctx, result.user, result.kept.session, result.kept.issuedAt, refreshToken);
    },

    async listSessions(userId, currentSid) {
      assertId(userId, 'userId');
      if (currentSid !== undefined) assertId(currentSid, 'currentSid');
      await ctx.ready();
      const sessions = await ctx.store().listSessions(userId, clock.now());
      return sessions.map((s): SessionInfo => {
        const info: SessionInfo = {
          sid: s.sid,
          device: s.device,
          createdAt: s.createdAt,
          lastSeenAt: s.lastSeenAt,
        };
        if (currentSid !== undefined && s.sid === currentSid) info.current = true;
        return info;
      });
    },

    async getUser(userId) {
      assertId(userId, 'userId');
      await ctx.ready();
      const user = await ctx.store().getUser(userId);
      return user === null ? null : publicUser(user);
    },
  };
}
