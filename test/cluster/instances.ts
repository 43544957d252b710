import { type PostgresRevocationFeed, postgresFeed } from '../../src/feeds/postgres.js';
import { type RedisRevocationFeed, redisFeed } from '../../src/feeds/redis.js';
import type { RevocationEvent } from '../../src/revocation/events.js';
import { createAuth } from '../../src/sessions/auth.js';
import type { Auth } from '../../src/sessions/types.js';
import { postgresStore } from '../../src/stores/postgres.js';

export const CHEAP_PASSWORD = { memoryCost: 256, timeCost: 1, parallelism: 1, allowWeakHash: true };
export const PASSWORD = 'correct horse battery staple';
const ACCESS_TTL = 900;
const SKEW = 30;

/** The feed a cluster runs on: a Redis Stream, or PostgreSQL's LISTEN/NOTIFY on the store's log. */
export type FeedKind = 'redis' | 'postgres';
/** Either feed, with the `stats()` both give. */
export type ClusterFeed = RedisRevocationFeed | PostgresRevocationFeed;

/** Where a cluster's feed lives: the Redis stream key, or the PostgreSQL schema of the store. */
export type FeedTarget =
  | { kind: 'redis'; redisUrl: string; key: string }
  | { kind: 'postgres'; pgUrl: string; schema: string };

/**
 * One more feed on the cluster's channel, for an auth instance (`seed` given: it re-seeds
 * a lost Redis stream) or a verify-only service.
 */
export function openFeed(
  target: FeedTarget,
  seed?: () => Promise<readonly RevocationEvent[]>,
): ClusterFeed {
  if (target.kind === 'postgres')
    return postgresFeed(target.pgUrl, { schema: target.schema, pollMs: 100 });
  return redisFeed(target.redisUrl, {
    key: target.key,
    blockMs: 100,
    publishTimeoutMs: 300,
    retention: ACCESS_TTL + SKEW,
    ...(seed === undefined ? {} : { seed }),
  });
}

export interface Instance {
  auth: Auth;
  feed: ClusterFeed;
  close(): Promise<void>;
}

/**
 * One auth instance as `notbefore serve --db postgres://… [--redis …]` wires it: its own
 * PostgreSQL pool on the shared schema, and its own feed: on the shared Redis stream key
 * (seeded from the store when the stream is lost), or on the store's log by LISTEN/NOTIFY.
 */
export async function startInstance(options: {
  pgUrl: string;
  schema: string;
  feed: FeedTarget;
  maxStaleness: number;
  ready?: boolean;
}): Promise<Instance> {
  const store = postgresStore(options.pgUrl, { schema: options.schema, max: 4 });
  const windowMs = (ACCESS_TTL + SKEW) * 1000;
  const feed = openFeed(options.feed, async () =>
    (await store.liveRevocations(Date.now(), windowMs)).map((entry) => entry.event),
  );
  const auth = createAuth({
    store,
    feed,
    accessTokenTtl: ACCESS_TTL,
    clockSkew: SKEW,
    maxStaleness: options.maxStaleness,
    maxSessionsPerUser: 1000,
    password: CHEAP_PASSWORD,
  } as Parameters<typeof createAuth>[0]);
  if (options.ready !== false) await auth.ready();
  return {
    auth,
    feed,
    async close() {
      await auth.close().catch(() => {});
      await feed.close();
      await store.close().catch(() => {});
    },
  };
}

export function codeOf(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : 'throw';
  }
}

export async function waitFor(condition: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function summary(samples: number[]): {
  n: number;
  median: number;
  p99: number;
  max: number;
} {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return {
    n: sorted.length,
    median: at(0.5),
    p99: at(0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}
