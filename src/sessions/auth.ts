import { randomBytes } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { AuthError } from '../errors.js';
import { memoryFeed } from '../feeds/memory.js';
import type { RevocationFeed } from '../feeds/port.js';
import { vouchedAt } from '../feeds/vouched.js';
import { createMailQueue, type MailQueue } from '../mail/queue.js';
import { RevocationList } from '../revocation/list.js';
import type { Store } from '../stores/port.js';
import type { AccessTokenClaims } from '../tokens/types.js';
import { accountOperations } from './account.js';
import { type AuthContext, type Live, notReady } from './context.js';
import { credentialChecks } from './credentials.js';
import { emailOperations } from './email.js';
import { invitationOperations } from './invitations.js';
import { keyOperations, REFRESH_SECRET } from './keys.js';
import { offRequestPath, queueMail } from './mailing.js';
import { mfaOperations } from './mfa.js';
import { resolveOptions } from './options.js';
import { passkeyOperations } from './passkeys.js';
import { passwordHasher } from './passwords.js';
import { recoveryOperations } from './recovery.js';
import { revocationPipeline } from './revocations.js';
import { revokingOperations } from './revoking.js';
import { signInOperations } from './sign-in.js';
import { createThrottle, type Throttle } from './throttle.js';
import type { Auth, AuthOptions } from './types.js';

const PURGE_EVERY_MS = 3_600_000;
/** How often the store's revocation log is read besides the feed (at most). */
const CATCH_UP_EVERY_MS = 1000;
/** Ended sessions and old log entries are kept this long for audit before purging (s). */
const MIN_RETENTION_S = 86_400;
/** exp and iat are fractional seconds: their difference may carry float error. */
const LIFETIME_EPSILON_S = 0.001;

/**
 * Sessions over a store, a feed and the token layer. The hot path (`verify`) is the
 * token verifier with this instance's revocation list: memory only. Every revocation is
 * written to the store first (one transaction), then applied here, then published; the
 * store's log is also an outbox that every instance re-publishes from (see outbox.ts).
 * This file holds the lifecycle and the hot path; the operations live by concern in
 * sign-in, credentials, revoking, account and keys.
 *
 * @param options - All optional. Without a `store`: an in-memory SQLite database (needs
 *   `better-sqlite3`); without a `feed`: this process only; without `keys`: an EdDSA key made
 *   on first start and kept in the store. Defaults: {@link AUTH_DEFAULTS}.
 * @returns The service. Call `ready()` before serving: it opens the store and loads the keys
 *   and the live revocations (every async operation also waits for it; `verify` before it
 *   throws `REVOCATION_STATE_STALE`).
 * @throws TypeError at once for an unknown option (with a "did you mean") or an invalid value:
 *   bad configuration fails at start-up, not on the first request.
 * @example
 * ```ts
 * import { createAuth } from 'notbefore';
 * import { sqliteStore } from 'notbefore/sqlite';
 *
 * const auth = createAuth({
 *   store: sqliteStore('auth.db'),
 *   issuer: 'https://auth.example.com',
 *   accessTokenTtl: 600, // seconds
 * });
 * await auth.ready();
 * const { accessToken, session } = await auth.login({ email, password, device: 'Firefox' });
 * auth.verify(accessToken).sub; // the user's id
 * await auth.logout(session.sid); // that token is refused from now on, on every instance
 * ```
 */
export function createAuth(options: AuthOptions = {}): Auth {
  const resolved = resolveOptions(options);
  const clock: Clock = options.clock ?? systemClock;
  const ownsStore = options.store === undefined;
  const ownsFeed = options.feed === undefined;
  const feed: RevocationFeed = options.feed ?? memoryFeed({ clock });
  let store: Store | undefined = options.store;
  const ttlMs = resolved.accessTokenTtl * 1000;
  const windowMs = (resolved.accessTokenTtl + resolved.clockSkew) * 1000;
  const maxStalenessMs = resolved.maxStaleness * 1000;
  const tickMs = Math.min(CATCH_UP_EVERY_MS, maxStalenessMs / 3);
  const list = new RevocationList({
    clock,
    maxTokenLifetime: resolved.accessTokenTtl,
    clockSkew: resolved.clockSkew,
  });

  let live: Live | undefined;
  let starting: Promise<void> | undefined;
  let purgeTimer: NodeJS.Timeout | undefined;
  let catchUpTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let throttle: Throttle | undefined;

  const reportError = (error: unknown) => {
    try {
      options.onError?.(error);
    } catch {
      // A failing reporter must not stop the background work it reports on.
    }
  };
  const db = (): Store => {
    // Only before ready() opened the default store, which every operation awaits first.
    if (store === undefined) throw new Error('createAuth: not started');
    return store;
  };
  const pipeline = revocationPipeline({
    store: db,
    feed,
    list,
    now: () => clock.now(),
    windowMs,
    tickMs,
    stuckAfterMs: maxStalenessMs,
    // Failures here are retried (publish), repaired by a reload (lost feed) or by the next
    // outbox round; the store already holds every revocation, so nothing is lost.
    onError: reportError,
  });

  const ready = (): Promise<void> => {
    if (closed) return Promise.reject(new Error('createAuth: closed'));
    // A failed start (store or feed unreachable) is retried by the next call.
    starting ??= start().catch((error: unknown) => {
      starting = undefined;
      throw error;
    });
    return starting;
  };

  // Mail leaves through a queue: a slow or unreachable mail server never holds up (or
  // fails) the request whose change it reports; each failed attempt is told to onError.
  const mailQueue: MailQueue | null =
    options.mailer === undefined
      ? null
      : offRequestPath(
          createMailQueue({
            mailer: options.mailer,
            clock,
            onError: (error, f) =>
              reportError(
                new Error(
                  `mail "${f.subject}" to ${f.to}: attempt ${f.attempt} failed` +
                    (f.willRetry ? '; will retry' : '; given up'),
                  { cause: error },
                ),
              ),
          }),
        );

  const ctx: AuthContext = {
    options,
    resolved,
    clock,
    list,
    feed,
    pipeline,
    hasher: passwordHasher(resolved.password),
    ttlMs,
    windowMs,
    ready,
    store: db,
    live: () => live ?? notReady(),
    setLive(next) {
      live = next;
    },
    throttle() {
      throttle ??= createThrottle(db(), clock, resolved.throttle);
      return throttle;
    },
    commit: (revocations) => pipeline.commit(revocations),
    reportError,
    mailQueue,
    mail(kind, to, details) {
      queueMail(ctx, kind, to, details);
    },
  };
  const keys = keyOperations(ctx);
  const credentials = credentialChecks(ctx);

  /**
   * The feed and the store's log each confirm the list is current; the later counts. A
   * shared feed counts only as far as it is certified complete (see outbox.ts): reading it
   * to its end says nothing of a revocation whose publisher died before publishing. An
   * in-process feed counts only while the store's log is reachable: other instances on
   * the same store are heard through that log alone.
   */
  const feedConfirmedAt = (): number => {
    if (feed.local === true && !pipeline.storeReachable()) return Number.NEGATIVE_INFINITY;
    return vouchedAt(feed);
  };
  const confirmedAt = (): number => Math.max(feedConfirmedAt(), pipeline.storeConfirmedAt());

  const purge = () =>
    db().purge(
      clock.now(),
      Math.max(windowMs, MIN_RETENTION_S * 1000, resolved.refreshReuseGrace * 1000),
    );

  async function start(): Promise<void> {
    if (store === undefined) {
      // Imported lazily so better-sqlite3 stays out of the graph when a store is passed.
      const { sqliteStore } = await import('../entries/sqlite.js');
      store = sqliteStore(':memory:');
    }
    await store.init();
    // Makes the dummy hash now, so the first unknown-email login costs one hash like any other.
    await ctx.hasher.burn('');
    const { keyring, stored } = await keys.loadKeys();
    const secret = await store.getOrCreateSecret(
      REFRESH_SECRET,
      randomBytes(32).toString('base64url'),
    );
    const refreshSecret = Buffer.from(secret, 'base64url');
    pipeline.attach();
    await pipeline.reload();
    await feed.start();
    // A revocation committed by an instance that died before publishing it is re-published
    // now, not only on the first tick.
    await pipeline.repairFeed().catch(reportError);
    await purge();
    purgeTimer = setInterval(() => {
      purge().catch(reportError);
    }, PURGE_EVERY_MS);
    purgeTimer.unref();
    // The feed is the fast path; this read of the store's log is the safety net that keeps
    // the instance current (and `verify` answering) while the feed is down, and that
    // delivers a revocation whose publisher could not reach the feed. The outbox round
    // then puts such a revocation into the feed for the services that cannot read the store.
    catchUpTimer = setInterval(() => {
      pipeline
        .catchUp()
        .then(() => pipeline.repairFeed())
        .catch(reportError);
    }, tickMs);
    catchUpTimer.unref();
    live = keys.build(keyring, refreshSecret, stored);
  }

  return {
    options: resolved,
    ready,
    ...signInOperations(ctx, credentials),
    ...revokingOperations(ctx, credentials),
    ...accountOperations(ctx, credentials),
    ...recoveryOperations(ctx, credentials),
    ...emailOperations(ctx, credentials),
    ...invitationOperations(ctx, credentials),
    ...passkeyOperations(ctx, credentials),
    ...mfaOperations(ctx, credentials),
    jwks: keys.jwks,
    rotateKeys: keys.rotateKeys,
    reloadKeys: keys.reloadKeys,

    verify(accessToken): AccessTokenClaims {
      const state = ctx.live();
      if (!resolved.failOpen && clock.now() - confirmedAt() > maxStalenessMs)
        throw new AuthError(
          'REVOCATION_STATE_STALE',
          'Revocation state is not current; try again shortly.',
        );
      const claims = state.verifier.verify(accessToken);
      // A token that claims to live longer than this instance issues could outlive the
      // entry that revokes it (the list forgets after the configured lifetime): after the
      // lifetime was lowered, a revoked long-lived token would come back to life.
      if (claims.exp - claims.iat > resolved.accessTokenTtl + LIFETIME_EPSILON_S)
        throw new AuthError(
          'TOKEN_CLAIM_INVALID',
          'Token lifetime exceeds the configured access-token lifetime.',
        );
      return claims;
    },

    async close() {
      if (closed) return;
      closed = true;
      if (purgeTimer !== undefined) clearInterval(purgeTimer);
      if (catchUpTimer !== undefined) clearInterval(catchUpTimer);
      await starting?.catch(() => {});
      pipeline.close();
      // Queued mail gets its last attempt, then the mailer is closed.
      await mailQueue?.close();
      if (ownsFeed) await feed.close();
      if (ownsStore && store !== undefined) await store.close();
    },

    onRevocation(listener) {
      return pipeline.onRevocation(listener);
    },

    revocationStatus() {
      const at = confirmedAt();
      return {
        current: live !== undefined && clock.now() - at <= maxStalenessMs,
        confirmedAt: at,
        entries: list.stats(),
      };
    },
  };
}
