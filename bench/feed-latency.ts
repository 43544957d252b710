import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

/**
 * How fast a revocation reaches the other instances, on each shared feed side by side: a
 * Redis Stream and PostgreSQL's LISTEN/NOTIFY. Each feed runs two auth instances (A, B) on
 * one PostgreSQL schema of the bench's own, plus a verify-only service
 * (createVerifier), all in this process, wired with the feeds' defaults as `serve` wires
 * them. A sample: `await A.logout(sid)` resolves, then B and the verifier are polled
 * (setImmediate) until each rejects the session's token. The feeds alternate sample by
 * sample, so both share the machine's noise.
 */
export interface FeedLatencyOptions {
  /** Revocations measured per feed. */
  samples: number;
}

export interface LatencySummary {
  n: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
}

export interface FeedLatencyResult {
  feed: 'redis' | 'postgres';
  name: string;
  /** The revoking call's answer on A → B's `auth.verify` rejects the token. */
  instance: LatencySummary;
  /** The same → the verify-only service's `verifier.verify` rejects it. */
  verifier: LatencySummary;
  /**
   * The revoking call itself (`A.logout`): a feed may answer it only once the revocation
   * has gone round, which moves time from the lag into the call.
   */
  call: LatencySummary;
}

const PG_ADMIN_URL =
  process.env.NOTBEFORE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.NOTBEFORE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PASSWORD = 'correct horse battery staple';
/** Cheap hashing: sign-ins here only make tokens to revoke, they are not what is measured. */
const CHEAP_PASSWORD = { memoryCost: 256, timeCost: 1, parallelism: 1, allowWeakHash: true };
const GIVE_UP_MS = 5000;

interface Cluster {
  feed: FeedLatencyResult['feed'];
  name: string;
  revoke(i: number): Promise<void>;
  /** Whether B and the verifier reject token `i`. */
  rejected(i: number): { instance: boolean; verifier: boolean };
  lags: { instance: number[]; verifier: number[]; call: number[] };
  close(): Promise<void>;
}

function summarise(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return {
    n: sorted.length,
    medianMs: at(0.5),
    p99Ms: at(0.99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

const revokedBy = (verify: () => unknown): boolean => {
  try {
    verify();
    return false;
  } catch (error) {
    return (error as { code?: unknown }).code === 'TOKEN_REVOKED';
  }
};

async function openCluster(
  feed: Cluster['feed'],
  dbUrl: string,
  prefix: string,
  samples: number,
): Promise<Cluster> {
  const { createAuth } = await import('../src/sessions/auth.js');
  const { createVerifier } = await import('../src/verifier/index.js');
  const { postgresFeed, postgresStore } = await import('../src/stores/postgres.js');
  const { redisFeed } = await import('../src/feeds/redis.js');
  const schema = `${prefix}_${feed}`;
  const key = `notbefore:bench:${randomBytes(6).toString('hex')}`;
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  const makeFeed = () => {
    const made = feed === 'redis' ? redisFeed(REDIS_URL, { key }) : postgresFeed(dbUrl, { schema });
    closers.push(() => made.close());
    return made;
  };
  try {
    if (feed === 'redis') {
      const { Redis } = await import('ioredis');
      const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
      admin.on('error', () => {});
      await admin.connect();
      closers.push(async () => {
        await admin.del(key, `${key}:seqs`);
        admin.disconnect();
      });
    }
    const instance = async () => {
      const store = postgresStore(dbUrl, { schema, max: 4 });
      closers.push(() => store.close());
      const auth = createAuth({
        store,
        feed: makeFeed(),
        password: CHEAP_PASSWORD,
        maxSessionsPerUser: samples + 10,
      } as Parameters<typeof createAuth>[0]);
      closers.push(() => auth.close());
      await auth.ready();
      return auth;
    };
    const a = await instance();
    const b = await instance();
    const verifier = createVerifier({
      jwks: a.jwks() as never,
      feed: makeFeed(),
      issuer: a.options.issuer,
      audience: a.options.audience,
    });
    closers.push(() => verifier.close());
    await verifier.ready();
    // A few users signing in at once: the throttle serialises one account's attempts.
    const sessions: Array<Awaited<ReturnType<typeof a.login>>> = [];
    await Promise.all(
      Array.from({ length: 4 }, async (_, user) => {
        const email = `bench-${feed}-${user}@example.com`;
        await a.signup({ email, password: PASSWORD });
        for (let i = user; i < samples; i += 4)
          sessions.push(await a.login({ email, password: PASSWORD }));
      }),
    );
    return {
      feed,
      name:
        feed === 'redis' ? 'Redis Stream (redisFeed)' : 'PostgreSQL LISTEN/NOTIFY (postgresFeed)',
      async revoke(i) {
        const session = sessions[i]!;
        if (revokedBy(() => b.verify(session.accessToken)))
          throw new Error(`${feed}: token ${i} rejected before its revocation`);
        await a.logout(session.session.sid);
      },
      rejected(i) {
        const token = sessions[i]!.accessToken;
        return {
          instance: revokedBy(() => b.verify(token)),
          verifier: revokedBy(() => verifier.verify(token)),
        };
      },
      lags: { instance: [], verifier: [], call: [] },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** One sample: revoke on A, then poll until B and the verifier both reject. */
async function measure(cluster: Cluster, i: number): Promise<void> {
  const called = performance.now();
  await cluster.revoke(i);
  const t0 = performance.now();
  cluster.lags.call.push(t0 - called);
  let instance: number | undefined;
  let verifier: number | undefined;
  while (instance === undefined || verifier === undefined) {
    const now = performance.now() - t0;
    const seen = cluster.rejected(i);
    if (instance === undefined && seen.instance) instance = now;
    if (verifier === undefined && seen.verifier) verifier = now;
    if (now > GIVE_UP_MS) throw new Error(`${cluster.feed}: not rejected within ${GIVE_UP_MS} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  cluster.lags.instance.push(instance);
  cluster.lags.verifier.push(verifier);
}

/** Both feeds side by side; a feed whose backend is missing becomes a gap, not a failure. */
export async function feedLatencySuite(
  options: FeedLatencyOptions,
  log: (line: string) => void,
): Promise<{ results: FeedLatencyResult[]; gaps: string[] }> {
  const { default: pg } = await import('pg');
  // Schemas of the bench's own (cheaper to make than a database), dropped afterwards.
  const prefix = `nb_bench_feed_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  await admin.connect();
  const gaps: string[] = [];
  const clusters: Cluster[] = [];
  try {
    for (const feed of ['redis', 'postgres'] as const) {
      try {
        clusters.push(await openCluster(feed, PG_ADMIN_URL, prefix, options.samples));
      } catch (error) {
        gaps.push(`feed latency (${feed}) skipped: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    for (let i = 0; i < options.samples; i++) {
      // The order alternates, so neither feed always runs right after the other.
      const order = i % 2 === 0 ? clusters : [...clusters].reverse();
      for (const cluster of order) await measure(cluster, i);
    }
    return {
      results: clusters.map((cluster) => {
        const result: FeedLatencyResult = {
          feed: cluster.feed,
          name: cluster.name,
          instance: summarise(cluster.lags.instance),
          verifier: summarise(cluster.lags.verifier),
          call: summarise(cluster.lags.call),
        };
        const fmt = (s: LatencySummary) =>
          `median ${s.medianMs.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms, max ${s.maxMs.toFixed(2)} ms`;
        log(`  ${cluster.name}: → instance B ${fmt(result.instance)}`);
        log(`  ${' '.repeat(cluster.name.length)}  → verify-only ${fmt(result.verifier)}`);
        log(`  ${' '.repeat(cluster.name.length)}  (the logout call: ${fmt(result.call)})`);
        return result;
      }),
      gaps,
    };
  } finally {
    for (const cluster of clusters) await cluster.close();
    for (const feed of ['redis', 'postgres'])
      await admin.query(`DROP SCHEMA IF EXISTS ${prefix}_${feed} CASCADE`).catch(() => undefined);
    await admin.end();
  }
}
