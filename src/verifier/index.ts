import { type Clock, systemClock } from '../clock.js';
import { AuthError } from '../errors.js';
import type { RevocationFeed } from '../feeds/port.js';
import { vouchedAt } from '../feeds/vouched.js';
import { RevocationList } from '../revocation/list.js';
import { Keyring, type KeyringOptions } from '../tokens/keyring.js';
import type { AccessTokenClaims, JwkSet } from '../tokens/types.js';
import { type AccessTokenVerifier, createAccessTokenVerifier } from '../tokens/verify.js';
import { type JwksSource, jwksSource } from './jwks.js';
import { checkVerifierOptions } from './options.js';

/**
 * What {@link createVerifier} needs: where the auth servers' keys are, the feed they publish
 * revocations to, and the issuer and audience to expect. Durations are in seconds.
 */
export interface VerifierOptions {
  /** The auth servers' JWKS URL (`…/.well-known/jwks.json`), or the JWKS itself. */
  jwks: string | URL | JwkSet;
  /** The feed the auth servers publish to (`redisFeed(url)` on the same stream key). */
  feed: RevocationFeed;
  /** Expected `iss`, compared exactly. */
  issuer: string;
  /** This service's audience (or several). */
  audience: string | readonly string[];
  /** Seconds without a feed confirmation before `verify` fails closed; default 5. */
  maxStaleness?: number;
  /** Accept tokens even when the revocation state is stale. An explicit, risky choice. */
  failOpen?: boolean;
  /**
   * The longest access-token lifetime of the auth servers (s); default 900. Revocations are
   * forgotten this long (plus skew) after they were made, so a token that claims to live
   * longer is refused: it could outlive the entry that revokes it.
   */
  maxTokenLifetime?: number;
  /** Leeway on exp, nbf and iat (s); default 30. */
  clockSkew?: number;
  /** Least time between two JWKS fetches caused by an unknown kid (s); default 30. */
  jwksCooldown?: number;
  /** Refetch the JWKS this often even without an unknown kid (s), so dropped keys go; default 600. */
  jwksRefresh?: number;
  /**
   * How long `ready()` waits for keys and revocations before it rejects (s); default 10.
   * It rejects sooner when it knows it cannot succeed: a JWKS URL answering 404 or not
   * JSON, one still refusing connections after a few tries, a feed whose start failed.
   */
  readyTimeout?: number;
  /** How the fetched keys are imported, e.g. `{ verifyOnly: ['RS256'] }` to accept RSA keys. */
  keyring?: KeyringOptions;
  /** The source of time: {@link manualClock} in tests. */
  clock?: Clock;
  /** Fetches the JWKS URL; default the global `fetch`. */
  fetch?: typeof fetch;
  /** Background failures: a JWKS fetch, a bad key set. Never a token. */
  onError?: (error: unknown) => void;
}

/** Verification for a service that never signs, made by {@link createVerifier}. */
export interface Verifier {
  /** Synchronous, no I/O: the same checks and revocation rules as `auth.verify`. */
  verify(token: string): AccessTokenClaims;
  /**
   * Resolves once the keys and the live revocations are loaded; rejects with an Error that
   * says which part is not ready and why. A rejected ready() may be called again.
   */
  ready(): Promise<void>;
  /**
   * Stops refreshing the keys and unsubscribes from the feed; the feed itself stays open, for the
   * app to close.
   */
  close(): Promise<void>;
  /** The verifier's revocation list (metrics read its stats). */
  readonly revocations: RevocationList;
}

const PRUNE_EVERY_MS = 60_000;

/**
 * Verification for a service that does not run the auth routes: public keys from the
 * JWKS, revocations from the shared feed. Fails closed (REVOCATION_STATE_STALE) before it
 * is ready and whenever the feed has not confirmed it current within `maxStaleness`.
 *
 * @throws TypeError at once for a bad option.
 * @example
 * ```ts
 * import { createVerifier } from 'notbefore';
 * import { redisFeed } from 'notbefore/redis';
 *
 * const verifier = createVerifier({
 *   jwks: 'https://auth.example.com/.well-known/jwks.json',
 *   feed: redisFeed(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'),
 *   issuer: 'https://auth.example.com',
 *   audience: 'notbefore', // the auth servers' audience (this is their default)
 * });
 * await verifier.ready(); // keys fetched, revocations loaded
 * const claims = verifier.verify(token); // synchronous; throws AuthError
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  checkVerifierOptions(options);
  const clock = options.clock ?? systemClock;
  const maxStalenessMs = (options.maxStaleness ?? 5) * 1000;
  const failOpen = options.failOpen ?? false;
  const clockSkew = options.clockSkew ?? 30;
  const onError = (error: unknown) => {
    try {
      options.onError?.(error);
    } catch {
      // A failing reporter must not stop the loading and refreshing it reports on.
    }
  };
  const { feed } = options;
  const maxTokenLifetime = options.maxTokenLifetime ?? 900;
  const list = new RevocationList({ clock, maxTokenLifetime, clockSkew });
  let inner: AccessTokenVerifier | undefined;
  let closed = false;
  let starting: Promise<void> | undefined;

  const install = (jwks: JwkSet) => {
    const keyring = Keyring.fromPublicJwks(jwks, options.keyring ?? {});
    inner = createAccessTokenVerifier({
      keyring,
      issuer: options.issuer,
      audience: options.audience,
      clock,
      clockSkew,
      revocation: list,
      onUnknownKid: () => keys.refresh(),
    });
  };
  const keys: JwksSource = jwksSource({
    jwks: options.jwks,
    cooldownMs: (options.jwksCooldown ?? 30) * 1000,
    refreshMs: (options.jwksRefresh ?? 600) * 1000,
    fetch: options.fetch ?? fetch,
    now: () => clock.now(),
    install,
    onError,
  });

  const unsubscribe = feed.subscribe({
    event(event) {
      list.apply(event);
    },
    // Nothing to rebuild from: the feed reads its whole stream again, which an auth
    // instance re-seeds from its store; until then the feed does not confirm, so we fail closed.
    lost() {},
  });
  const pruner = setInterval(() => list.prune(), PRUNE_EVERY_MS);
  pruner.unref();

  /** The feed read to its end, and certified complete by an auth instance (see outbox.ts). */
  const confirmedAt = () => vouchedAt(feed);
  let gaveUp = false;
  /** On a shared feed, ready also waits for the first certificate an auth instance writes. */
  const certified = async () => {
    const certifiedAt = feed.certifiedAt?.bind(feed);
    if (certifiedAt === undefined) return;
    while (!closed && !gaveUp && clock.now() - certifiedAt() > maxStalenessMs)
      await new Promise((resolve) => setTimeout(resolve, 25));
  };

  /** How far the feed got, for the message of a start that timed out. */
  let feedState: 'starting' | 'certifying' | 'ready' = 'starting';
  let feedStarting: Promise<void> | undefined;
  const startFeed = (): Promise<void> => {
    feedStarting ??= feed.start().catch((error: unknown) => {
      feedStarting = undefined;
      throw new Error(
        `createVerifier: the revocation feed did not start: ${error instanceof Error ? error.message : error}`,
        { cause: error },
      );
    });
    return feedStarting;
  };
  const feedReady = async () => {
    feedState = 'starting';
    await startFeed();
    feedState = 'certifying';
    await certified();
    if (!closed && !gaveUp) feedState = 'ready';
  };

  /** Says which part was not ready when the timeout struck, and what is known of why. */
  const notReadyInTime = (timeoutMs: number, keysLoaded: boolean): Error => {
    const parts: string[] = [];
    if (!keysLoaded) {
      const last = keys.lastFailure();
      parts.push(
        last === undefined
          ? `the JWKS from ${keys.where} has not answered`
          : `the JWKS is not loaded (${last.message.replace(/^createVerifier: /, '')})`,
      );
    }
    if (feedState === 'starting') {
      parts.push(
        'the revocation feed has not confirmed that it is current (its start() has not finished: can it reach its server, Redis say?)',
      );
    } else if (feedState === 'certifying') {
      const at = feed.certifiedAt?.() ?? 0;
      parts.push(
        at === 0
          ? 'no auth instance has certified the feed (is an auth server, createAuth or notbefore serve, running on this same feed?)'
          : `the feed's latest certificate is ${Math.round((clock.now() - at) / 1000)} s old, older than maxStaleness (${maxStalenessMs / 1000} s): are the auth servers running?`,
      );
    }
    return new Error(`createVerifier: not ready after ${timeoutMs / 1000} s: ${parts.join('; ')}`);
  };

  const start = async () => {
    const timeoutMs = (options.readyTimeout ?? 10) * 1000;
    gaveUp = false;
    let keysLoaded = false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(notReadyInTime(timeoutMs, keysLoaded)), timeoutMs);
    });
    const loadKeys = async () => {
      await keys.load(Date.now() + timeoutMs);
      keysLoaded = true;
    };
    try {
      // Either part failing for good rejects at once: no waiting out the timeout for it.
      await Promise.race([Promise.all([loadKeys(), feedReady()]), timeout]);
    } finally {
      gaveUp = true;
      clearTimeout(timer);
    }
    if (closed) throw new Error('createVerifier: closed');
  };

  return {
    revocations: list,
    verify(token) {
      const current = inner;
      if (current === undefined || closed) {
        throw new AuthError('REVOCATION_STATE_STALE', 'The verifier is not ready yet.');
      }
      // The feed counts only as far as an auth instance has certified it complete: a
      // revocation whose publisher died before publishing is then re-published or we fail
      // closed, never silently missing.
      if (!failOpen && clock.now() - confirmedAt() > maxStalenessMs) {
        throw new AuthError(
          'REVOCATION_STATE_STALE',
          'Revocation state is not current; try again shortly.',
        );
      }
      const claims = current.verify(token);
      // exp and iat are fractional seconds: allow their float error, nothing more.
      if (claims.exp - claims.iat > maxTokenLifetime + 0.001) {
        throw new AuthError(
          'TOKEN_CLAIM_INVALID',
          'Token lifetime exceeds what this verifier tracks.',
        );
      }
      return claims;
    },
    ready() {
      if (closed) return Promise.reject(new Error('createVerifier: closed'));
      // A failed start is tried afresh by the next call (the JWKS server may be up by then).
      starting ??= start().catch((error: unknown) => {
        starting = undefined;
        throw error;
      });
      return starting;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(pruner);
      keys.close();
      unsubscribe();
    },
  };
}
