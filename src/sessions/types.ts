import type { Clock } from '../clock.js';
import type { RevocationFeed } from '../feeds/port.js';
import type { Store } from '../stores/port.js';
import type { AccessTokenClaims } from '../tokens/types.js';

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
  logoutAll(userId: string, options?: StepUp): Promise<void>;
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
  deleteUser(userId: string): Promise<void>;
  revokeEveryone(): Promise<void>;
  listSessions(userId: string, currentSid?: string): Promise<SessionInfo[]>;
  getUser(userId: string): Promise<User | null>;
  /**
   * Ends one session of the user. Ending a session other than `actor.sid` needs a
   * step-up (see StepUp), else REAUTHENTICATION_REQUIRED.
   */
  endSession(userId: string, sid: string, actor: StepUp): Promise<void>;
  jwks(): { keys: JsonWebKey[] };
  /** Resolves once keys and the live revocations are loaded. */
  ready(): Promise<void>;
  close(): Promise<void>;
  /** Subscribes to every applied revocation event (local and from the feed). */
  onRevocation(listener: (event: import('../revocation/events.js').RevocationEvent) => void): () => void;
  readonly options: ResolvedAuthOptions;
}

/**
 * Proof for sensitive operations (ASVS 7.5.2): a password entered within
 * `reauthWindow` (the caller's `auth_time`), or the password again.
 */
export interface StepUp {
  sid?: string;
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
}

export interface PasswordPolicy {
  minLength?: number;
  maxLength?: number;
  /** argon2id cost; tests pass cheaper values explicitly. */
  memoryCost?: number;
  timeCost?: number;
  parallelism?: number;
}

export type ResolvedAuthOptions = Required<
  Omit<AuthOptions, 'store' | 'feed' | 'keys' | 'clock' | 'password'>
> & { password: Required<PasswordPolicy> };
