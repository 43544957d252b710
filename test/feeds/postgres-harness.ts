import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { FeedHarness } from '../../src/feeds/conformance.js';
import {
  type PostgresFeedOptions,
  type PostgresRevocationFeed,
  postgresFeed,
} from '../../src/feeds/postgres.js';
import { freePort } from '../cluster/redis-server.js';

export interface PostgresHarness extends FeedHarness {
  /** The schema of this harness's log, fresh and not yet migrated. */
  schema: string;
  /** A connection of the test's own to the same database. */
  admin: pg.Client;
  instance(): PostgresRevocationFeed;
}

/** Ends the feed's listening connections from the server side; the number ended. */
export async function terminateFeed(admin: pg.Client, applicationName: string): Promise<number> {
  const { rows } = await admin.query(
    `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
     WHERE application_name = $1 AND pid <> pg_backend_pid()`,
    [applicationName],
  );
  return rows.filter((row) => row.ended === true).length;
}

/**
 * Instances of a PostgreSQL feed on a schema of their own (the first instance migrates
 * it), so runs never see each other. `interrupt` ends an instance's connection from the
 * server side (pg_terminate_backend), as a restarted proxy or a killed backend would.
 */
export async function postgresHarness(
  url: string,
  extra: PostgresFeedOptions = {},
): Promise<PostgresHarness> {
  const schema = `feed_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  admin.on('error', () => {});
  await admin.connect();
  const names = new Map<object, string>();
  let count = 0;
  return {
    schema,
    admin,
    durable: true,
    instance() {
      count += 1;
      const name = `nbtest-${schema}-${count}`;
      const feed = postgresFeed(url, {
        schema,
        pollMs: 200,
        ...extra,
        clientOptions: { application_name: name },
      });
      names.set(feed, name);
      return feed;
    },
    async interrupt(feed) {
      const name = names.get(feed) ?? '';
      // The instance may still be reconnecting from the last cut: wait until it is back.
      const deadline = Date.now() + 3000;
      let ended = 0;
      while (ended === 0 && Date.now() < deadline) {
        ended = await terminateFeed(admin, name);
        if (ended === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      if (ended === 0) throw new Error('no connection of that instance to end');
    },
    unreachable() {
      // A port nothing listens on: every connection attempt is refused.
      return postgresFeed(`postgres://postgres@127.0.0.1:${unusedPort}/none`, {
        schema,
        publishTimeoutMs: 300,
      });
    },
    async teardown() {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
      await admin.end().catch(() => {});
    },
  };
}

const unusedPort = await freePort();
