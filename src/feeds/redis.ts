/**
 * `notbefore/redis`: the revocation feed over a Redis Stream, which several auth instances and
 * verify-only services share. Needs `ioredis`.
 *
 * @module notbefore/redis
 */
import { Redis } from 'ioredis';
import { systemClock } from '../clock.js';
import type { RevocationEvent } from '../revocation/events.js';
import { feedLifecycle } from './lifecycle.js';
import { publishQueue, type SendOutcome } from './publish-queue.js';
import { redisOutbox } from './redis-outbox.js';
import {
  compareIds,
  decodeEntries,
  idTime,
  parseRunId,
  parseStreamInfo,
} from './redis-protocol.js';
import { PUBLISH_SCRIPT, SEED_SCRIPT } from './redis-scripts.js';
import type {
  ConnectionOptions,
  RedisFeedOptions,
  RedisFeedStats,
  RedisRevocationFeed,
} from './redis-types.js';

export type {
  ConnectionOptions,
  RedisFeedOptions,
  RedisFeedStats,
  RedisRevocationFeed,
} from './redis-types.js';

interface Pending {
  json: string;
  /** The store log's seq, or '' for an event published without one. */
  seq: string;
}

const START_ID = '0-0';

/**
 * Revocation events over a Redis Stream. Publishing appends (XADD, trimmed by age);
 * every instance tails the stream with a blocking XREAD from the last id it read on a
 * connection of its own, so a reconnect resumes exactly where it stopped.
 *
 * `confirmedAt()` is the send time of the last read that came back with less than a full
 * batch (or timed out with the stream present): every publish that had completed by then
 * was read. A lost stream (deleted, trimmed past the last id read, Redis restarted) makes
 * subscribers rebuild from the store, and an instance with a store re-seeds it.
 *
 * @param urlOrClient - A `redis://` or `rediss://` URL (the feed opens its connections and
 *   closes them), or an ioredis client of the app's: the feed duplicates it for its blocking
 *   reads and leaves it open on `close()`.
 * @param options - Stream key, retention and the rest.
 * @example
 * ```ts
 * import { createAuth } from 'notbefore';
 * import { postgresStore } from 'notbefore/postgres';
 * import { redisFeed } from 'notbefore/redis';
 *
 * const feed = redisFeed(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * const auth = createAuth({
 *   store: postgresStore(process.env.DATABASE_URL ?? 'postgres://127.0.0.1/auth'),
 *   feed, // auth.close() leaves it open: close it after
 *   issuer: 'https://auth.example.com',
 * });
 * ```
 */
export function redisFeed(
  urlOrClient: string | Redis,
  options: RedisFeedOptions = {},
): RedisRevocationFeed {
  const key = options.key ?? 'notbefore:revocations';
  const seqsKey = `${key}:seqs`;
  const retentionMs = (options.retention ?? 960) * 1000;
  const blockMs = options.blockMs ?? 500;
  const batchSize = options.batchSize ?? 1000;
  const publishTimeoutMs = options.publishTimeoutMs ?? 250;
  const maxQueue = options.maxQueue ?? 10_000;
  const clock = options.clock ?? systemClock;
  const onError = options.onError ?? (() => {});

  // RESP2 replies have one shape whatever ioredis's default protocol; the cast is only
  // there because ioredis types `protocol: 2` and `replyMapping` as exclusive overloads.
  const connectionOptions = {
    protocol: 2,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(50 * times, 500),
    ...options.redisOptions,
  } as ConnectionOptions;
  const ownsCommand = typeof urlOrClient === 'string';
  const command =
    typeof urlOrClient === 'string'
      ? new Redis(urlOrClient, { ...connectionOptions, commandTimeout: 2000 })
      : urlOrClient;
  // The tail blocks its connection, so it never shares one with anything else.
  const tail =
    typeof urlOrClient === 'string'
      ? new Redis(urlOrClient, { ...connectionOptions, commandTimeout: blockMs + 2000 })
      : urlOrClient.duplicate({ ...connectionOptions, commandTimeout: blockMs + 2000 });
  const reportError = (error: unknown) => {
    try {
      onError(error);
    } catch {
      // A failing error reporter must not stop the feed.
    }
  };
  if (ownsCommand) command.on('error', reportError);
  tail.on('error', reportError);

  /** The latest certificate read since the stream was last found lost (ms). */
  let certified = 0;
  let lastId = START_ID;
  let runId: string | undefined;
  let sawStream = false;
  let streamMissing = false;
  let needsCheck = true;
  let seeding: Promise<void> | undefined;
  const stats: RedisFeedStats = {
    lastLagMs: null,
    queued: 0,
    lost: 0,
    seeded: 0,
    connected: false,
  };
  const life = feedLifecycle({ run, reportError });
  const queue = publishQueue<Pending>({
    send: publishHead,
    timeoutMs: publishTimeoutMs,
    maxQueue,
    stats,
    reportError,
  });

  tail.on('ready', () => {
    // Whatever happened while we were away (a restart, a deletion) is checked before reading on.
    needsCheck = true;
    stats.connected = true;
    life.wake();
  });
  tail.on('close', () => {
    stats.connected = false;
  });

  const scriptShas = new Map<string, string>();
  /** EVALSHA, loading the script on first use and again after a restart (NOSCRIPT). */
  async function runScript(script: string, args: (string | number)[]): Promise<unknown> {
    let sha = scriptShas.get(script);
    if (sha !== undefined) {
      try {
        return await command.call('EVALSHA', sha, 2, key, seqsKey, ...args);
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      }
    }
    sha = String(await command.call('SCRIPT', 'LOAD', script));
    scriptShas.set(script, sha);
    return command.call('EVALSHA', sha, 2, key, seqsKey, ...args);
  }

  function seedSource(): (() => Promise<readonly RevocationEvent[]>) | undefined {
    if (options.seed) return options.seed;
    for (const handlers of life.subscribers) {
      const snapshot = handlers.snapshot;
      if (snapshot) return () => snapshot.call(handlers);
    }
    return undefined;
  }

  /** Creates the stream from the store's live revocations if it is (still) missing. */
  function trySeed(): Promise<void> {
    const source = seedSource();
    if (!source) return Promise.resolve();
    seeding ??= (async () => {
      try {
        const events = await source();
        const created = await runScript(
          SEED_SCRIPT,
          events.map((event) => JSON.stringify(event)),
        );
        if (created === 1) stats.seeded += 1;
      } finally {
        seeding = undefined;
      }
    })();
    return seeding;
  }

  function signalLost() {
    stats.lost += 1;
    // Everything still in the stream is read again: applying an event twice is harmless,
    // and a re-seeded stream may carry ids below the one we stopped at.
    lastId = START_ID;
    // Certificates vouched for a stream that is gone; the re-seeded one needs its own.
    certified = 0;
    life.lost();
  }

  /** After (re)connecting: did the stream lose anything we had not read yet? */
  async function checkContinuity() {
    // A restart is also seen in the stream itself (missing, or ids behind ours); the run id
    // only makes it certain, so a user whose ACL denies INFO still gets a working feed.
    const currentRunId = await tail.call('INFO', 'server').then(parseRunId, (error: unknown) => {
      if (error instanceof Error && /NOPERM/i.test(error.message)) return undefined;
      throw error;
    });
    let lost = runId !== undefined && currentRunId !== undefined && currentRunId !== runId;
    if (currentRunId !== undefined) runId = currentRunId;
    let info: ReturnType<typeof parseStreamInfo> | null = null;
    try {
      info = parseStreamInfo(await tail.call('XINFO', 'STREAM', key));
    } catch (error) {
      if (!(error instanceof Error && /no such key/i.test(error.message))) throw error;
    }
    if (info === null) {
      if (sawStream) lost = true;
      streamMissing = true;
    } else {
      streamMissing = false;
      sawStream = true;
      if (lastId !== START_ID) {
        const generated = compareIds(info.lastGeneratedId, lastId);
        // Ids below ours: the stream was recreated. Ids above ours with our own entry gone
        // from the head: something after it may have been trimmed before we read it.
        if (generated < 0) lost = true;
        else if (
          generated > 0 &&
          (info.firstEntryId === null || compareIds(info.firstEntryId, lastId) > 0)
        ) {
          lost = true;
        }
      }
    }
    if (lost) signalLost();
  }

  async function readOnce() {
    if (needsCheck) {
      await checkContinuity();
      needsCheck = false;
    }
    if (streamMissing) await trySeed();
    // One millisecond back: the clock has ms resolution, and a publish that resolved in the
    // same millisecond as this read was sent may have landed just after the read ran.
    const sentAt = clock.now() - 1;
    const reply = await tail.call(
      'XREAD',
      'COUNT',
      batchSize,
      'BLOCK',
      blockMs,
      'STREAMS',
      key,
      lastId,
    );
    const entries = decodeEntries(reply);
    const live = !life.catchingUp;
    for (const entry of entries) {
      lastId = entry.id;
      if (entry.checkpoint !== undefined && entry.checkpoint > certified)
        certified = entry.checkpoint;
      if (entry.event === null) continue;
      if (live) stats.lastLagMs = Math.max(0, clock.now() - idTime(entry.id));
      life.deliver(entry.event);
    }
    if (entries.length > 0) {
      sawStream = true;
      streamMissing = false;
      if (entries.length < batchSize) life.confirm(sentAt);
      return;
    }
    // A read that timed out says nothing new was added, but also nothing if the stream is gone.
    const exists = await tail.call('EXISTS', key);
    if (exists === 1) {
      sawStream = true;
      streamMissing = false;
      life.confirm(sentAt);
    } else {
      if (sawStream && !streamMissing) signalLost();
      streamMissing = true;
    }
  }

  async function run() {
    let backoff = 50;
    while (!life.closed) {
      if (tail.status !== 'ready') {
        await life.sleep(200);
        continue;
      }
      try {
        await readOnce();
        backoff = 50;
      } catch (error) {
        if (life.closed) break;
        reportError(error);
        needsCheck = true;
        await life.sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
      }
    }
  }

  /** Grows while the head of the queue keeps failing; a sent event resets it. */
  let publishBackoff = 50;
  /** Appends the oldest queued event; a stream found missing is seeded first. */
  async function publishHead(head: Pending): Promise<SendOutcome> {
    try {
      const minMs = Math.max(0, clock.now() - retentionMs);
      const id = await runScript(PUBLISH_SCRIPT, [`${minMs}-0`, minMs, head.json, head.seq]);
      if (id !== null) {
        publishBackoff = 50;
        return 'done';
      }
      // The stream is missing: seed it (the store already holds this event, so the
      // snapshot may carry it too), then append again.
      await trySeed();
      if (!seedSource()) await life.sleep(publishBackoff);
    } catch (error) {
      reportError(error);
      await life.sleep(publishBackoff);
    }
    publishBackoff = Math.min(publishBackoff * 2, 1000);
    return 'retry';
  }

  return {
    publish(event, seq) {
      // Once closed, the queue settles at once.
      return queue.push({
        json: JSON.stringify(event),
        seq: seq === undefined ? '' : String(seq),
      });
    },
    subscribe: life.subscribe,
    start: life.start,
    confirmedAt: life.confirmedAt,
    certifiedAt: () => certified,
    outbox: redisOutbox({ runScript, clock, retentionMs }),
    stats: () => ({ ...stats }),
    close: () =>
      life.close(() => {
        queue.close();
        tail.disconnect();
        if (ownsCommand) command.disconnect();
      }),
  };
}
