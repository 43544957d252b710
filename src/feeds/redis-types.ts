import type { RedisOptions } from 'ioredis';
import type { Clock } from '../clock.js';
import type { RevocationEvent } from '../revocation/events.js';
import type { RevocationFeed } from './port.js';

/** ioredis connection options (RESP2 replies, so no reply mapping). */
export type ConnectionOptions = Omit<RedisOptions, 'replyMapping'>;

/** Options of {@link redisFeed}; the defaults suit the default token lifetime and skew. */
export interface RedisFeedOptions {
  /** Stream key. Every instance and verifier of one deployment uses the same key. */
  key?: string;
  /**
   * How long an entry stays in the stream (s): the longest access-token lifetime plus the
   * clock skew, so the stream always holds the whole live window. Default 960 (15 min + 60 s).
   */
  retention?: number;
  /**
   * The live revocations from the store, used to re-seed a lost stream. Subscribers may give
   * it instead (`FeedHandlers.snapshot`). A feed with neither never creates the stream: it
   * waits, not confirmed, until an instance with a store has seeded it.
   */
  seed?: () => Promise<readonly RevocationEvent[]>;
  /**
   * How long a blocking read waits (ms). A read that times out with nothing new confirms the
   * instance current, so in steady state `confirmedAt()` trails the clock by about this much (default 500).
   */
  blockMs?: number;
  /** Events read per round trip while catching up. */
  batchSize?: number;
  /** Longest wait (ms) in `publish` before it resolves and leaves the event to the retry queue. */
  publishTimeoutMs?: number;
  /** Events kept for retry while Redis is unreachable; the oldest is dropped beyond it. */
  maxQueue?: number;
  /** The source of time for `confirmedAt()` and the lag. */
  clock?: Clock;
  /** Connection and publish failures (never thrown: the store holds every event). */
  onError?: (error: unknown) => void;
  /** Extra ioredis options for the connections this feed opens from a URL. */
  redisOptions?: ConnectionOptions;
}

/** Health of a Redis feed; `createMetrics` exports `lastLagMs`, `queued` and `lost`. */
export interface RedisFeedStats {
  /** Publish → read delay of the last event read live (ms); null before any. */
  lastLagMs: number | null;
  /** Events waiting to be published. */
  queued: number;
  /** Times the stream was found lost and subscribers were told to rebuild. */
  lost: number;
  /** Times this feed seeded the stream from a snapshot. */
  seeded: number;
  /** Whether the connection that tails the stream is up. */
  connected: boolean;
}

/** The {@link RevocationFeed} {@link redisFeed} makes, with `stats()` for metrics. */
export interface RedisRevocationFeed extends RevocationFeed {
  /** The counters and the last lag, read when metrics are scraped. */
  stats(): RedisFeedStats;
}
