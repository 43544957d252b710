import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { USERS } from './fixtures.js';

/**
 * The seed's naive approach: after verifying, read the user's `tokens_valid_after` from
 * the database on every request. Real databases, real rows; nothing cached.
 */
export interface NaiveStores {
  sqlite?: (sub: string) => number;
  postgres?: (sub: string) => Promise<number>;
  gaps: string[];
  close(): Promise<void>;
}

const PG_ADMIN_URL =
  process.env.NOTBEFORE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function openSqlite(): Promise<{ lookup: (sub: string) => number; close: () => void }> {
  const { default: Database } = await import('better-sqlite3');
  const dir = mkdtempSync(join(tmpdir(), 'notbefore-bench-'));
  const db = new Database(join(dir, 'naive.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE users (id TEXT PRIMARY KEY, tokens_valid_after INTEGER NOT NULL)');
  const insert = db.prepare('INSERT INTO users (id, tokens_valid_after) VALUES (?, 0)');
  db.transaction(() => {
    for (let i = 0; i < USERS; i++) insert.run(`user-${i}`);
  })();
  const select = db.prepare('SELECT tokens_valid_after FROM users WHERE id = ?').pluck();
  return {
    lookup: (sub) => {
      const value = select.get(sub);
      if (typeof value !== 'number') throw new Error('unknown user');
      return value;
    },
    close: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openPostgres(): Promise<{
  lookup: (sub: string) => Promise<number>;
  close: () => Promise<void>;
}> {
  const { default: pg } = await import('pg');
  const name = `notbefore_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  try {
    await client.connect();
    await client.query(
      'CREATE TABLE users (id TEXT PRIMARY KEY, tokens_valid_after BIGINT NOT NULL)',
    );
    await client.query(
      `INSERT INTO users SELECT 'user-' || g, 0 FROM generate_series(0, ${USERS - 1}) AS g`,
    );
    await client.query('ANALYZE users');
  } catch (error) {
    await client.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    throw error;
  }
  const query = {
    name: 'tokens_valid_after',
    text: 'SELECT tokens_valid_after FROM users WHERE id = $1',
    rowMode: 'array' as const,
  };
  return {
    lookup: async (sub) => {
      const result = await client.query({ ...query, values: [sub] });
      const value = result.rows[0]?.[0];
      if (value === undefined) throw new Error('unknown user');
      return Number(value);
    },
    close: async () => {
      await client.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export async function openNaiveStores(log: (line: string) => void): Promise<NaiveStores> {
  const stores: NaiveStores = { gaps: [], close: async () => undefined };
  const closers: (() => unknown)[] = [];
  try {
    const sqlite = await openSqlite();
    stores.sqlite = sqlite.lookup;
    closers.push(sqlite.close);
    log('  naive SQLite: 100,000 users ready (WAL, temp dir)');
  } catch (error) {
    stores.gaps.push(`naive SQLite skipped: ${(error as Error).message}`);
  }
  try {
    const postgres = await openPostgres();
    stores.postgres = postgres.lookup;
    closers.push(postgres.close);
    log('  naive PostgreSQL: 100,000 users ready (own database on 127.0.0.1)');
  } catch (error) {
    stores.gaps.push(`naive PostgreSQL skipped: ${(error as Error).message}`);
  }
  stores.close = async () => {
    for (const close of closers) await close();
  };
  return stores;
}
