/**
 * Revocation events: what the store records, the feed carries and the list applies.
 * All times are milliseconds since the epoch. Applying an event only ever moves a
 * cutoff forward, so duplicates and reordering are harmless.
 */

/**
 * Why a user's tokens were cut off; drives the push event the HTTP layer sends. `password`
 * covers a change and a reset by mailed link; `email` is a confirmed change of address (every
 * other session ends); `email-verified` only re-issues tokens (scope `tokens`) so that they
 * carry `email_verified: true`.
 */
export type UserRevocationCause =
  | 'password'
  | 'logout-all'
  | 'roles'
  | 'disabled'
  | 'deleted'
  | 'admin'
  | 'email'
  | 'email-verified'
  /** A second factor was added or removed (a credential change: other sessions end). */
  | 'mfa';

/**
 * One revocation: what the store logs, the feed carries and every revocation list applies. The
 * four variants are the four rules, by `kind`. Times are ms since the epoch.
 */
export type RevocationEvent =
  /** Every token issued before `at` dies (breach response). */
  | { kind: 'global'; at: number }
  /**
   * Every token of `sub` issued before `at` dies. `scope: 'tokens'` (a role change):
   * sessions live on and a refresh succeeds (reason `claims`). `scope: 'sessions'`:
   * the sessions were ended in the store too (reason `user`); `exceptSid` names a
   * session that was kept and re-issued fresh tokens (password change).
   */
  | {
      kind: 'user';
      sub: string;
      at: number;
      scope: 'tokens' | 'sessions';
      cause: UserRevocationCause;
      exceptSid?: string;
    }
  /** Every token of session `sid` dies, whatever its iat (logout, reuse, expiry). */
  | { kind: 'session'; sid: string; sub: string; at: number; cause: SessionRevocationCause }
  /** One token dies (RFC 7009). `exp` bounds how long the entry must live. */
  | { kind: 'token'; jti: string; exp: number; at: number };

/**
 * Why a session ended: `logout` (by its own user), `reuse` (a rotated refresh token came back:
 * presumed stolen), `expired` (idle or absolute end), `evicted` (the oldest, beyond
 * `maxSessionsPerUser`), `revoked` (ended from another of the user's sessions).
 */
export type SessionRevocationCause = 'logout' | 'reuse' | 'expired' | 'evicted' | 'revoked';

/** The rule an event applies: `global`, `user`, `session` or `token`. */
export type RevocationKind = RevocationEvent['kind'];
