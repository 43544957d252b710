import type { Clock } from '../clock.js';
import type { RevocationFeed } from '../feeds/port.js';
import type { RevocationStats } from '../revocation/list.js';
import type { Store } from '../stores/port.js';
import type { AccessTokenClaims } from '../tokens/types.js';
import type { ThrottlePolicy } from './throttle.js';

export interface User {
  id: string;
  email: string;
  roles: string[];
  disabled: boolean;
  createdAt: number;
}

export interface SessionInfo {
  sid: string;
  device: string | null;
  createdAt: number;
  lastSeenAt: number;
  /** Present (true) on the session of the caller, when the caller is known. */
  current?: boolean;
}

export interface SignedIn {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires (ms since epoch). */
  expiresAt: number;
  /** When the refresh token stops working unless used first (ms): the session's idle or absolute end. */
  refreshExpiresAt: number;
  session: { sid: string };
  user: User;
  claims: AccessTokenClaims;
}

export interface LoginInput {
  email: string;
  password: string;
  device?: string;
  /** Client key for throttling (an IP address, say). */
  clientKey?: string;
}

export interface Auth {
  signup(input: { email: string; password: string; roles?: string[] }): Promise<User>;
  login(input: LoginInput): Promise<SignedIn>;
  refresh(refreshToken: string, context?: { clientKey?: string }): Promise<SignedIn>;
  /** Synchronous, no I/O; throws AuthError. */
  verify(accessToken: string): AccessTokenClaims;
  logout(sid: string): Promise<void>;
  /**
   * Ends the session a refresh token belongs to (RFC 7009: revoking a refresh token
   * revokes its grant). For a sign-out or a new sign-in that carries only the refresh
   * cookie. Unknown or malformed tokens are ignored (nothing to end).
   */
  revokeRefreshToken(refreshToken: string): Promise<void>;
  /**
   * Ends every session of the user. With `options` (a user acting on their own account)
   * it needs a step-up, else REAUTHENTICATION_REQUIRED; without (an administrator), none.
   */
  logoutAll(userId: string, options?: StepUp): Promise<void>;
  /**
   * Revokes one access token by jti. `exp` is the token's exp claim (NumericDate seconds;
   * values above 1e11 are taken as ms); without it the entry lives one token lifetime.
   */
  revokeToken(jti: string, exp?: number): Promise<void>;
  changePassword(
    userId: string,
    current: string,
    next: string,
    options?: { keepSession?: string },
  ): Promise<SignedIn | null>;
  setRoles(userId: string, roles: string[]): Promise<User>;
  disableUser(userId: string): Promise<void>;
  enableUser(userId: string): Promise<void>;
  /**
   * Deletes the user; every session ends. With `proof` (users deleting their own
   * account) a step-up is needed, as for logoutAll; without (an administrator), none.
   */
  deleteUser(userId: string, proof?: StepUp): Promise<void>;
  revokeEveryone(): Promise<void>;
  listSessions(userId: string, currentSid?: string): Promise<SessionInfo[]>;
  getUser(userId: string): Promise<User | null>;
  /**
   * Ends one session of the user. Ending a session other than `actor.sid` needs a
   * step-up (see StepUp), else REAUTHENTICATION_REQUIRED.
   */
  endSession(userId: string, sid: string, actor: StepUp): Promise<void>;
  jwks(): { keys: JsonWebKey[] };
  /**
   * Adds a new signing key (the old ones keep verifying until their tokens expire) and
   * stores the keyring when the keys live in the store. Instances sharing the store pick
   * the new key up by themselves on the first token with an unknown kid (at most one
   * store read per 5 s; that one token is refused), or on `reloadKeys()`.
   */
  rotateKeys(): Promise<void>;
  /** Re-reads the keys from the store (no-op when a keyring was passed in). */
  reloadKeys(): Promise<void>;
  /**
   * How current this instance's revocation list is (for health checks and metrics):
   * `confirmedAt` is the later of the feed's and the store log's last confirmation (ms);
   * `current` is false before `ready()` and past `maxStaleness`, whatever `failOpen` says.
   */
  revocationStatus(): { current: boolean; confirmedAt: number; entries: RevocationStats };
  /** Resolves once keys and the live revocations are loaded. */
  ready(): Promise<void>;
  close(): Promise<void>;
  /** Subscribes to every applied revocation event (local and from the feed). */
  onRevocation(
    listener: (event: import('../revocation/events.js').RevocationEvent) => void,
  ): () => void;
  readonly options: ResolvedAuthOptions;
}

/**
 * Proof for sensitive operations (ASVS 7.5.2): a password entered within
 * `reauthWindow` (the caller's `auth_time`), or the password again.
 */
export interface StepUp {
  /** The caller's session: its authTime is read from the store (the surest source). */
  sid?: string;
  /** The caller's `auth_time` claim (NumericDate seconds), used when no sid is given. */
  authTime?: number;
  password?: string;
}

export interface AuthOptions {
  store?: Store;
  feed?: RevocationFeed;
  keys?: import('../tokens/keyring.js').Keyring;
  issuer?: string;
  audience?: string;
  accessTokenTtl?: number;
  refreshIdleTtl?: number;
  refreshAbsoluteTtl?: number;
  refreshReuseGrace?: number;
  reauthWindow?: number;
  maxSessionsPerUser?: number;
  maxStaleness?: number;
  failOpen?: boolean;
  clockSkew?: number;
  clock?: Clock;
  /** Users who sign up with one of these emails get role `admin`. */
  adminEmails?: string[];
  password?: PasswordPolicy;
  /** Words no password may contain (ASVS 6.1.2), besides "notbefore", the issuer host and the email's local part. */
  bannedPasswordWords?: string[];
  /** Failed sign-in throttling (per account and per client key, counted in the store). */
  throttle?: Partial<ThrottlePolicy>;
  /**
   * Breached-password check at signup and password change (ASVS 6.2.12), e.g. a
   * k-anonymity range API. true → WEAK_PASSWORD. If it throws, the password is accepted
   * (the check is best effort; the common-password list still applies).
   */
  isBreached?: (password: string) => Promise<boolean>;
  /**
   * Failures of background work: publishing to the feed, catching up from the store's
   * log, repairing the feed, purging. None loses a revocation (the store holds them all and
   * each is retried), but they are how an operator learns that Redis or the database is
   * unreachable. Default: ignored.
   */
  onError?: (error: unknown) => void;
}

export interface PasswordPolicy {
  minLength?: number;
  maxLength?: number;
  /** argon2id cost; tests pass cheaper values explicitly. */
  memoryCost?: number;
  timeCost?: number;
  parallelism?: number;
  /**
   * Allow argon2id parameters below the OWASP/ASVS 11.4.2 floor (m=19456 KiB, t=2, p=1).
   * For tests only; without it weaker parameters throw at construction.
   */
  allowWeakHash?: boolean;
}

export type ResolvedAuthOptions = Required<
  Omit<
    AuthOptions,
    'store' | 'feed' | 'keys' | 'clock' | 'password' | 'throttle' | 'isBreached' | 'onError'
  >
> & { password: Required<PasswordPolicy>; throttle: ThrottlePolicy };
