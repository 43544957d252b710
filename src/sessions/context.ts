import type { Clock } from '../clock.js';
import { AuthError } from '../errors.js';
import type { RevocationFeed } from '../feeds/port.js';
import type { MailQueue } from '../mail/queue.js';
import type { MailKind } from '../mail/templates.js';
import type { RevocationList } from '../revocation/list.js';
import type { LoggedRevocation, Store, StoredUser } from '../stores/port.js';
import type { Keyring } from '../tokens/keyring.js';
import type { createSigner } from '../tokens/sign.js';
import type { AccessTokenVerifier } from '../tokens/verify.js';
import type { MailDetails } from './mailing.js';
import type { PasswordHasher } from './passwords.js';
import type { RevocationPipeline } from './revocations.js';
import type { Throttle } from './throttle.js';
import type { AuthOptions, ResolvedAuthOptions, User } from './types.js';

/** What signs and verifies right now; replaced whole when the keys are reloaded. */
export interface Live {
  keyring: Keyring;
  signer: ReturnType<typeof createSigner>;
  verifier: AccessTokenVerifier;
  refreshSecret: Buffer;
  /** The stored JSON of the keyring, when the keys live in the store. */
  storedKeys: string | null;
}

/**
 * What every part of `createAuth` shares: the resolved options, the clock, this
 * instance's revocation list and the pipeline that feeds it, and the store once started.
 * The operation files (sign-in, credentials, revoking, account, keys) each take it;
 * none of them keeps state of its own.
 */
export interface AuthContext {
  readonly options: AuthOptions;
  readonly resolved: ResolvedAuthOptions;
  readonly clock: Clock;
  readonly list: RevocationList;
  readonly feed: RevocationFeed;
  readonly pipeline: RevocationPipeline;
  readonly hasher: PasswordHasher;
  /** The access-token lifetime (ms). */
  readonly ttlMs: number;
  /** How long a revocation entry can still reject a token: lifetime plus skew (ms). */
  readonly windowMs: number;
  /** Starts the instance once (store, keys, revocations, feed); every operation awaits it. */
  ready(): Promise<void>;
  /** The store; throws before `ready()` opened the default one. */
  store(): Store;
  /** The keys in use; REVOCATION_STATE_STALE before the instance is ready. */
  live(): Live;
  setLive(live: Live): void;
  throttle(): Throttle;
  /** After the store recorded revocations: apply here, tell listeners, publish. */
  commit(revocations: readonly LoggedRevocation[]): Promise<void>;
  /** Background failures, to `options.onError`; never throws. */
  reportError(error: unknown): void;
  /** The queue in front of `options.mailer`; null without one. */
  readonly mailQueue: MailQueue | null;
  /**
   * Renders and queues a mail to `to`, off the request path; never throws, never waits. The
   * helper for notices (`password-changed`, `email-changed`, and with second factors
   * `factor-added` / `factor-removed`), skipped without a mailer.
   */
  mail(kind: MailKind, to: string, details?: MailDetails): void;
}

export const notReady = (): never => {
  throw new AuthError('REVOCATION_STATE_STALE', 'The auth service is not ready yet.');
};

export const publicUser = (user: StoredUser): User => ({
  id: user.id,
  email: user.email,
  roles: [...user.roles],
  disabled: user.disabled,
  createdAt: user.createdAt,
  emailVerified: user.emailVerified,
});
