/**
 * `notbefore/metrics`: Prometheus metrics of one instance (`createMetrics`) and an `Auth` that
 * counts verify, login and refresh outcomes (`instrumentAuth`). Needs `prom-client`.
 *
 * @module notbefore/metrics
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { type Clock, systemClock } from './clock.js';
import { type AuthErrorCode, isAuthError } from './errors.js';
import type { Auth } from './sessions/types.js';

/** Where the gauges read from at scrape time; each is optional. */
export interface MetricsSources {
  /** The instance's revocation list (or anything with its `stats()`). */
  revocations?: {
    /** Live entry counts by rule, as `RevocationList.stats()` gives them. */
    stats(): { global: number; users: number; sessions: number; tokens: number; total: number };
  };
  /** The feed: `confirmedAt()`, and the Redis feed's `stats()` for lag and queue. */
  feed?: {
    /** When the feed last confirmed this instance current (ms). */
    confirmedAt(): number;
    /** Lag, queue and losses, as `RedisRevocationFeed.stats()` gives them. */
    stats?(): { lastLagMs: number | null; queued: number; lost: number };
  };
  /** Measures the time since the feed's last confirmation. */
  clock?: Clock;
}

/** How the metrics are named, and whether Node's process metrics join them. */
export interface MetricsOptions {
  /** Prefix of every metric name; default `notbefore_`. */
  prefix?: string;
  /** Also collect Node's process metrics (CPU, heap, event loop) into this registry. */
  processMetrics?: boolean;
}

/**
 * `ok`, or the code of the {@link AuthError} the operation failed with.
 *
 * @inline
 */
type Outcome = 'ok' | AuthErrorCode;

/**
 * Prometheus metrics of one instance, in a registry of its own (never prom-client's
 * global one, so two instances in a process or a test never collide). Its `contentType`
 * and `render()` are what the HTTP adapters mount at GET /metrics.
 */
export interface Metrics {
  /** The prom-client registry of these metrics (never the global one): add your own to it. */
  readonly registry: Registry;
  /** The `Content-Type` of `render()`'s text. */
  readonly contentType: string;
  /** The exposition text: what GET /metrics answers. */
  render(): Promise<string>;
  /** Counts one access-token verification (`instrumentAuth` calls it). */
  verify(outcome: Outcome): void;
  /** Counts one sign-in attempt. */
  login(outcome: Outcome): void;
  /** Counts one refresh; `REFRESH_TOKEN_REUSED` also counts a reuse detection. */
  refresh(outcome: Outcome): void;
  /** +1 / -1 as /auth/events streams open and close (the HTTP adapters call it). */
  eventStreams(delta: number): void;
}

/**
 * Makes the metrics of one instance: gauges read from `sources` at scrape time, counters fed by
 * {@link instrumentAuth} and by the HTTP adapters. Pass it as the adapters' `metrics` option to
 * serve GET /metrics.
 *
 * @param sources - What the gauges read: the revocation list's stats, the feed.
 * @param options - The name prefix, and Node's process metrics.
 * @example
 * ```ts
 * import { notbefore } from 'notbefore/fastify';
 * import { createMetrics, instrumentAuth } from 'notbefore/metrics';
 *
 * const metrics = createMetrics(
 *   { revocations: { stats: () => auth.revocationStatus().entries }, feed },
 *   { processMetrics: true },
 * );
 * await app.register(notbefore, { auth: instrumentAuth(auth, metrics), metrics });
 * ```
 */
export function createMetrics(sources: MetricsSources = {}, options: MetricsOptions = {}): Metrics {
  const prefix = options.prefix ?? 'notbefore_';
  const clock = sources.clock ?? systemClock;
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix });
  const { revocations, feed } = sources;

  new Gauge({
    name: `${prefix}revocation_entries`,
    help: 'Live revocation entries held in memory, by rule.',
    labelNames: ['rule'] as const,
    registers: [registry],
    collect() {
      if (!revocations) return;
      const stats = revocations.stats();
      this.set({ rule: 'global' }, stats.global);
      this.set({ rule: 'user' }, stats.users);
      this.set({ rule: 'session' }, stats.sessions);
      this.set({ rule: 'token' }, stats.tokens);
    },
  });
  new Gauge({
    name: `${prefix}feed_seconds_since_confirmation`,
    help: 'Seconds since the revocation feed last confirmed this instance current.',
    registers: [registry],
    collect() {
      if (!feed) return;
      const at = feed.confirmedAt();
      this.set(at > 0 ? Math.max(0, clock.now() - at) / 1000 : Number.POSITIVE_INFINITY);
    },
  });
  new Gauge({
    name: `${prefix}feed_lag_seconds`,
    help: 'Delay from publish to this instance reading the last revocation event.',
    registers: [registry],
    collect() {
      const lag = feed?.stats?.().lastLagMs;
      if (lag !== undefined && lag !== null) this.set(lag / 1000);
    },
  });
  new Gauge({
    name: `${prefix}feed_publish_queue`,
    help: 'Revocation events waiting to be published (Redis unreachable).',
    registers: [registry],
    collect() {
      const queued = feed?.stats?.().queued;
      if (queued !== undefined) this.set(queued);
    },
  });
  new Gauge({
    name: `${prefix}feed_lost_total`,
    help: 'Times the feed was found lost and the revocation list rebuilt.',
    registers: [registry],
    collect() {
      const lost = feed?.stats?.().lost;
      if (lost !== undefined) this.set(lost);
    },
  });

  const verifies = new Counter({
    name: `${prefix}verify_total`,
    help: 'Access-token verifications, by outcome (ok or the error code).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const logins = new Counter({
    name: `${prefix}logins_total`,
    help: 'Sign-in attempts, by outcome (ok or the error code).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const refreshes = new Counter({
    name: `${prefix}refreshes_total`,
    help: 'Refresh-token rotations, by outcome (ok or the error code).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const streams = new Gauge({
    name: `${prefix}event_streams`,
    help: 'Open /auth/events streams on this instance.',
    registers: [registry],
  });
  const reuses = new Counter({
    name: `${prefix}refresh_reuse_detections_total`,
    help: 'Rotated refresh tokens presented again: the session was revoked as stolen.',
    registers: [registry],
  });

  // The verify counter sits on the hot path: label children are looked up once per outcome.
  const verifyChildren = new Map<Outcome, { inc(): void }>();
  const okVerify = verifies.labels('ok');
  verifyChildren.set('ok', okVerify);

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    verify(outcome) {
      let child = verifyChildren.get(outcome);
      if (child === undefined) {
        child = verifies.labels(outcome);
        verifyChildren.set(outcome, child);
      }
      child.inc();
    },
    login(outcome) {
      logins.labels(outcome).inc();
    },
    eventStreams(delta) {
      streams.inc(delta);
    },
    refresh(outcome) {
      refreshes.labels(outcome).inc();
      if (outcome === 'REFRESH_TOKEN_REUSED') reuses.inc();
    },
  };
}

const outcomeOf = (error: unknown): AuthErrorCode | 'error' =>
  isAuthError(error) ? error.code : 'error';

/**
 * The same Auth, counting verify, login and refresh outcomes into `metrics`. Pass the
 * result to the HTTP adapter instead of `auth`; everything else is untouched.
 *
 * @example
 * ```ts
 * import { notbeforeRouter } from 'notbefore/express';
 * import { createMetrics, instrumentAuth } from 'notbefore/metrics';
 *
 * const metrics = createMetrics();
 * app.use(notbeforeRouter(instrumentAuth(auth, metrics), { metrics }));
 * ```
 */
export function instrumentAuth(auth: Auth, metrics: Metrics): Auth {
  const count = (record: (outcome: Outcome) => void, error: unknown) => {
    const outcome = outcomeOf(error);
    // Unexpected failures are not counted under a made-up code; they surface as errors elsewhere.
    if (outcome !== 'error') record(outcome);
  };
  return {
    ...auth,
    verify(token) {
      try {
        const claims = auth.verify(token);
        metrics.verify('ok');
        return claims;
      } catch (error) {
        count(metrics.verify, error);
        throw error;
      }
    },
    async login(input) {
      try {
        const signedIn = await auth.login(input);
        metrics.login('ok');
        return signedIn;
      } catch (error) {
        count(metrics.login, error);
        throw error;
      }
    },
    async refresh(token, context) {
      try {
        const signedIn = await auth.refresh(token, context);
        metrics.refresh('ok');
        return signedIn;
      } catch (error) {
        count(metrics.refresh, error);
        throw error;
      }
    },
  };
}
