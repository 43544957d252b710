import type pg from 'pg';
import type { Clock } from '../clock.js';
import type { RevocationFeed } from './port.js';

/** Options of {@link postgresFeed}; the defaults suit a feed beside the default store. */
export interface PostgresFeedOptions {
  /**
   * The schema of the store whose revocation log the feed carries: the same as
   * `postgresStore`'s `schema` (default `public`).
   */
  schema?: string;
  /**
   * How often the feed reads the log when nothing was notified (ms). Each read that comes
   * back complete confirms the instance current, so in steady state `confirmedAt()` trails
   * the clock by about this much (default 500).
   */
  pollMs?: number;
  /** Log entries read per round trip while catching up (default 1000). */
  batchSize?: number;
  /** How long to wait for a connection before retrying (ms, default 2000). */
  connectionTimeoutMillis?: number;
  /**
   * How long one read may take before the connection counts as dead and is replaced (ms,
   * default 2000): a link that drops packets is noticed within it.
   */
  queryTimeoutMillis?: number;
  /**
   * Longest wait (ms) in `publish` (default 250): for a logged event, until this feed has
   * read it back; for one the store did not log, until it is appended (it stays queued for
   * retry after that).
   */
  publishTimeoutMs?: number;
  /** Such events kept for retry while PostgreSQL is unreachable; the oldest is dropped beyond it. */
  maxQueue?: number;
  /** The source of time for `confirmedAt()` and the lag. */
  clock?: Clock;
  /** Connection and read failures (never thrown: the store holds every event). */
  onError?: (error: unknown) => void;
  /**
   * Extra `pg.Client` options for the feed's own connection (its `application_name` is
   * `notbefore-feed` unless set here).
   */
  clientOptions?: pg.ClientConfig;
}

/** Health of a PostgreSQL feed; `createMetrics` exports `lastLagMs`, `queued` and `lost`. */
export interface PostgresFeedStats {
  /**
   * From the log entry's insert (PostgreSQL's clock, as its notification tells) to this
   * feed delivering it (ms), for the last entry read live; null before any.
   */
  lastLagMs: number | null;
  /** Events published without a log seq, waiting to be appended. */
  queued: number;
  /** Times the log was found to have gone back (restored, truncated): subscribers rebuilt. */
  lost: number;
  /** Whether the listening connection is up. */
  connected: boolean;
  /** Connections opened after the first: how often the link was lost and resumed. */
  reconnects: number;
}

/** The {@link RevocationFeed} {@link postgresFeed} makes, with `stats()` for metrics. */
export interface PostgresRevocationFeed extends RevocationFeed {
  /** The counters and the last lag, read when metrics are scraped. */
  stats(): PostgresFeedStats;
}
