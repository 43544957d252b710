import { type Clock, systemClock } from '../clock.js';
import { AuthError } from '../errors.js';
import type { RevocationFeed } from '../feeds/port.js';
import { RevocationList } from '../revocation/list.js';
import { Keyring, type KeyringOptions } from '../tokens/keyring.js';
import type { AccessTokenClaims, JwkSet } from '../tokens/types.js';
import { type AccessTokenVerifier, createAccessTokenVerifier } from '../tokens/verify.js';
import { type JwksSource, jwksSource } from './jwks.js';

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
  /** How long `ready()` waits for keys and revocations before it rejects (s); default 10. */
  readyTimeout?: number;
  keyring?: KeyringOptions;
  clock?: Clock;
  fetch?: typeof fetch;
  /** Background failures: a JWKS fetch, a bad key set. Never a token. */
  onError?: (error: unknown) => void;
}

export interface Verifier {
  /** Synchronous, no I/O: the same checks and revocation rules as `auth.verify`. */
  verify(token: string): AccessTokenClaims;
  /** Resolves once the keys and the live revocations are loaded. */
  ready(): Promise<void>;
  close(): Promise<void>;
  /** The verifier's revocation list (metrics read its stats). */
  readonly revocations: RevocationList;
}

const PRUNE_EVERY_MS = 60_000;

/**
 * Verification for a service that does not run the auth routes: public keys from the
 * JWKS, revocations from the shared feed. Fails closed (REVOCATION_STATE_STALE) before it
 * is ready and whenever the feed has not confirmed it current within `maxStaleness`.
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const clock = options.clock ?? systemClock;
  const maxStalenessMs = (options.maxStaleness ?? 5) * 1000;
  const failOpen = options.failOpen ?? false;
  const clockSkew = options.clockSkew ?? 30;
  const onError = options.onError ?? (() => {});
  const { feed } = options;
  if (typeof options.issuer !== 'string' || options.issuer === '') {
    throw new TypeError('createVerifier: issuer is required');
  }
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
  const confirmedAt = () =>
    Math.min(feed.confirmedAt(), feed.certifiedAt?.() ?? Number.POSITIVE_INFINITY);
  let gaveUp = false;
  /** On a shared feed, ready also waits for the first certificate an auth instance writes. */
  const certified = async () => {
    const certifiedAt = feed.certifiedAt?.bind(feed);
    if (certifiedAt === undefined) return;
    while (!closed && !gaveUp && clock.now() - certifiedAt() > maxStalenessMs)
      await new Promise((resolve) => setTimeout(resolve, 25));
  };

  const start = async () => {
    const timeoutMs = (options.readyTimeout ?? 10) * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('createVerifier: keys or revocations not loaded in time')),
        timeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all([keys.load(), feed.start().then(certified)]), timeout]);
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
      starting ??= start();
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
