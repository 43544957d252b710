import pg from 'pg';
import { systemClock } from '../clock.js';
import type { RevocationEvent } from '../revocation/events.js';
import { connection } from '../stores/pg/connection.js';
import { LOG_LOCK, NOTIFY_TRIGGER, revocationChannel, SCHEMA_NAME } from '../stores/pg/schema.js';
import { toRevocation } from '../stores/rows.js';
import { liveFrom } from '../stores/rules.js';
import { feedLifecycle } from './lifecycle.js';
import type {
  PostgresFeedOptions,
  PostgresFeedStats,
  PostgresRevocationFeed,
} from './postgres-types.js';
import { publishQueue, type SendOutcome } from './publish-queue.js';

export type {
  PostgresFeedOptions,
  PostgresFeedStats,
  PostgresRevocationFeed,
} from './postgres-types.js';

/** A publish of a logged event, waiting for this feed to have read its seq back. */
interface Echo {
  seq: number;
  settle: () => void;
}

/** SQLSTATE classes of a broken link or server, not of a bad statement: retry these. */
const TRANSIENT = /^(08|53|57|58|40)/;

/**
 * Revocation events on PostgreSQL alone: the store's revocation log is the feed. A trigger
 * on the log (a migration of the store) sends a NOTIFY with each entry's seq, which
 * PostgreSQL delivers if and when the entry's transaction commits; every instance LISTENs
 * on a connection of its own and, when woken, reads the log past the last seq it applied,
 * in seq order (which is commit order). So a committed revocation reaches every instance
 * and verifier even if its writer dies right after the commit: there is nothing to
 * re-publish, no outbox and no certificate. `publish` of a logged event only waits (at most
 * `publishTimeoutMs`) until this feed has read it back, so that when the revoking call
 * answers, every other listener has been notified too. An event published without a log
 * seq is appended to the log.
 *
 * `confirmedAt()` is the send time of the last read that reached the end of the log: every
 * revocation committed before it was delivered. The feed reads every `pollMs` when nothing
 * is notified, so it stays confirmed while idle; when its connection drops, it stops
 * confirming (services fail closed after `maxStaleness`), reconnects with backoff, LISTENs
 * again and reads everything committed during the gap.
 *
 * Use it with `postgresStore` on the same database and schema. Services that verify only
 * (createVerifier) need read access to the log (and the trigger, which the first auth
 * instance's migrations create; a feed that finds it missing runs those migrations).
 *
 * @param urlOrPool - A `postgres://` URL, or a `pg.Pool` of the app's whose settings the
 *   feed's own connection copies (LISTEN needs a connection of its own, never a pooled one).
 * @param options - Schema, poll interval, timeouts and the rest.
 * @example
 * ```ts
 * import { createAuth } from 'notbefore';
 * import { postgresFeed, postgresStore } from 'notbefore/postgres';
 *
 * const url = process.env.DATABASE_URL ?? 'postgres://127.0.0.1/auth';
 * const feed = postgresFeed(url); // same database and schema as the store
 * const auth = createAuth({
 *   store: postgresStore(url),
 *   feed, // auth.close() leaves it open: close it after
 *   issuer: 'https://auth.example.com',
 * });
 * ```
 */
export function postgresFeed(
  urlOrPool: string | pg.Pool,
  options: PostgresFeedOptions = {},
): PostgresRevocationFeed {
  const schema = options.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema)) throw new TypeError('postgresFeed: invalid schema name');
  const table = `${schema}.nb_revocations`;
  const channel = revocationChannel(schema);
  const pollMs = options.pollMs ?? 500;
  const batchSize = options.batchSize ?? 1000;
  const publishTimeoutMs = options.publishTimeoutMs ?? 250;
  const maxQueue = options.maxQueue ?? 10_000;
  const connectionTimeoutMillis = options.connectionTimeoutMillis ?? 2000;
  const queryTimeoutMillis = options.queryTimeoutMillis ?? 2000;
  const clock = options.clock ?? systemClock;
  const onError = options.onError ?? (() => {});
  const clientConfig: pg.ClientConfig = {
    ...(typeof urlOrPool === 'string' ? { connectionString: urlOrPool } : urlOrPool.options),
    connectionTimeoutMillis,
    query_timeout: queryTimeoutMillis,
    keepAlive: true,
    application_name: 'notbefore-feed',
    ...options.clientOptions,
  };
  // One statement: the end of the log (to notice a log that went back) and the next page.
  const readSql = `SELECT m.top, l.seq, l.event
    FROM (SELECT max(seq) AS top FROM ${table}) m
    LEFT JOIN LATERAL (SELECT seq, event FROM ${table} WHERE seq > $1 ORDER BY seq LIMIT $2) l
    ON true ORDER BY l.seq`;
  // The store's log lock, held to the commit, keeps seq order = commit order (see appendLog).
  const appendSql = `WITH locked AS (SELECT pg_advisory_xact_lock(hashtext($1)))
    INSERT INTO ${table} (kind, at, live_from, event)
    SELECT $2::text, $3::bigint, $4::bigint, $5::text FROM locked`;

  const echoes: Echo[] = [];
  let client: pg.Client | undefined;
  /** A client still connecting: close() must be able to abandon it at once. */
  let connecting: pg.Client | undefined;
  const disposed = new WeakSet<pg.Client>();
  let migrated = false;
  let lastSeq = 0;
  /** Set by a notification (or a dropped link) that arrived since the last read began. */
  let notified = false;
  let opened = 0;
  /** When each notified entry was inserted (the server's clock), until it is read: the lag. */
  const insertedAt = new Map<number, number>();
  let lastReported: unknown;
  const stats: PostgresFeedStats = {
    lastLagMs: null,
    queued: 0,
    lost: 0,
    connected: false,
    reconnects: 0,
  };

  const reportError = (error: unknown) => {
    // A query failing on a dropped link is reported once, not again by the client's event.
    if (error === lastReported) return;
    lastReported = error;
    try {
      onError(error);
    } catch {
      // A failing error reporter must not stop the feed.
    }
  };
  const life = feedLifecycle({ run, reportError });
  const queue = publishQueue<RevocationEvent>({
    send: append,
    timeoutMs: publishTimeoutMs,
    maxQueue,
    stats,
    reportError,
  });

  /** Ends the read loop's wait: on a notification, when the link drops or the feed closes. */
  const wake = () => {
    notified = true;
    life.wake();
  };

  /** Ends a client without waiting on it: one on a dead link is destroyed after a grace. */
  const dispose = (c: pg.Client) => {
    if (disposed.has(c)) return;
    disposed.add(c);
    const timer = setTimeout(() => c.connection.stream.destroy(), 1000);
    timer.unref();
    c.end()
      .catch(() => {})
      .finally(() => clearTimeout(timer));
  };
  const drop = (c: pg.Client | undefined) => {
    if (c === undefined) return;
    if (client === c) {
      client = undefined;
      stats.connected = false;
      wake();
    }
    dispose(c);
  };

  async function ensureTrigger(c: pg.Client) {
    if (migrated) return;
    const { rows } = await c.query(
      `SELECT EXISTS (SELECT 1 FROM pg_trigger
         WHERE tgrelid = to_regclass($1) AND tgname = $2) AS ok`,
      [table, NOTIFY_TRIGGER],
    );
    if (rows[0]?.ok !== true) {
      // A database no auth instance has migrated yet: the store's own migrations, under its lock.
      const store = connection(urlOrPool, {
        schema,
        max: 1,
        connectionTimeoutMillis,
        queryTimeoutMillis: 30_000,
      });
      try {
        await store.ready();
      } finally {
        await store.close();
      }
    }
    migrated = true;
  }

  async function open(): Promise<pg.Client> {
    const c = new pg.Client(clientConfig);
    c.on('error', (error) => {
      if (disposed.has(c)) return;
      reportError(error);
      drop(c);
    });
    c.on('end', () => drop(c));
    // A notification is only a hint to read: anyone who may connect can NOTIFY any channel,
    // so events come from the log (which needs read access), never from a payload.
    c.on('notification', (message) => {
      if (message.channel !== channel || client !== c) return;
      // An entry already read (the page that woke us held it too) needs no new read.
      const [seq, at] = (message.payload ?? '').split(' ', 2).map(Number);
      if (seq !== undefined && seq <= lastSeq) return;
      if (seq !== undefined && at !== undefined && Number.isFinite(at)) {
        insertedAt.set(seq, at);
        if (insertedAt.size > batchSize) insertedAt.delete(insertedAt.keys().next().value!);
      }
      wake();
    });
    connecting = c;
    try {
      await c.connect();
      await ensureTrigger(c);
      // LISTEN before the read that follows: a commit after the read is notified, one
      // before it is in what the read returns.
      await c.query(`LISTEN "${channel}"`);
    } catch (error) {
      dispose(c);
      throw error;
    } finally {
      connecting = undefined;
    }
    if (life.closed) {
      dispose(c);
      throw new Error('postgresFeed: closed');
    }
    opened += 1;
    stats.reconnects = Math.max(0, opened - 1);
    stats.connected = true;
    return c;
  }

  /** The log went back (restored from a backup, truncated): read it all, and rebuild. */
  function signalLost() {
    stats.lost += 1;
    lastSeq = 0;
    life.lost();
  }

  /** Settles the publishes whose entries this feed has now read (and so has every listener). */
  function settleEchoes() {
    for (let i = echoes.length - 1; i >= 0; i -= 1) {
      const echo = echoes[i]!;
      if (echo.seq <= lastSeq) {
        echoes.splice(i, 1);
        echo.settle();
      }
    }
  }

  /** Reads the log past `lastSeq` to its end, delivering in seq order; then confirms. */
  async function readToEnd(c: pg.Client) {
    for (;;) {
      notified = false;
      // One millisecond back: the clock has ms resolution, and a commit that returned in
      // the same millisecond as this read was sent may have landed just after it ran.
      const sentAt = clock.now() - 1;
      // Prepared once per connection: parsing and planning cost more than running it.
      const { rows } = await c.query({
        name: 'notbefore_feed_read',
        text: readSql,
        values: [lastSeq, batchSize],
      });
      if (life.closed) return;
      const top = rows[0]?.top === null || rows[0]?.top === undefined ? 0 : Number(rows[0].top);
      if (top < lastSeq) {
        signalLost();
        continue;
      }
      const live = !life.catchingUp;
      let read = 0;
      for (const row of rows) {
        if (row.seq === null || row.seq === undefined) continue;
        const { seq, event } = toRevocation(row);
        lastSeq = Math.max(lastSeq, seq);
        read += 1;
        const at = insertedAt.get(seq);
        if (at !== undefined) {
          insertedAt.delete(seq);
          if (live) stats.lastLagMs = Math.max(0, clock.now() - at);
        }
        life.deliver(event);
      }
      settleEchoes();
      if (read < batchSize) {
        life.confirm(sentAt);
        return;
      }
    }
  }

  async function run() {
    let backoff = 50;
    while (!life.closed) {
      try {
        if (client === undefined) {
          client = await open();
          void queue.flush();
        }
        await readToEnd(client);
        backoff = 50;
        if (!notified) await life.sleep(pollMs);
      } catch (error) {
        if (life.closed) break;
        reportError(error);
        drop(client);
        await life.sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
      }
    }
  }

  /** Appends the oldest event published without a log seq, on the feed's connection. */
  async function append(event: RevocationEvent): Promise<SendOutcome> {
    const c = client;
    // Without a connection the loop reconnects, then flushes again.
    if (c === undefined) return 'stop';
    try {
      await c.query(appendSql, [
        LOG_LOCK,
        event.kind,
        event.at,
        liveFrom(event),
        JSON.stringify(event),
      ]);
      return 'done';
    } catch (error) {
      reportError(error);
      const code = (error as { code?: unknown }).code;
      // The server refused this event itself: retrying would stall every later one.
      if (typeof code === 'string' && !TRANSIENT.test(code)) return 'done';
      drop(c);
      return 'stop';
    }
  }

  return {
    publish(event, seq) {
      if (life.closed) return Promise.resolve();
      if (seq !== undefined) {
        // A logged event was notified by the store's commit itself: every instance reads it
        // from the log, whether or not this process lives on. Waiting until this feed has
        // read it back (bounded) means that when the revoking call answers, every other
        // listener was notified at the same moment and has read it too, or is reading it.
        if (seq <= lastSeq || client === undefined) return Promise.resolve();
        return new Promise<void>((resolve) => {
          const timer = setTimeout(done, publishTimeoutMs);
          const echo: Echo = { seq, settle: done };
          echoes.push(echo);
          function done() {
            clearTimeout(timer);
            const at = echoes.indexOf(echo);
            if (at >= 0) echoes.splice(at, 1);
            resolve();
          }
        });
      }
      return queue.push(event);
    },
    subscribe: life.subscribe,
    start: life.start,
    confirmedAt: life.confirmedAt,
    stats: () => ({ ...stats }),
    close: () =>
      life.close(() => {
        queue.close();
        for (const echo of [...echoes]) echo.settle();
        if (connecting !== undefined) {
          disposed.add(connecting);
          connecting.connection.stream.destroy();
        }
        drop(client);
        wake();
      }),
  };
}
