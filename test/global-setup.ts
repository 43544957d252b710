import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Each test run gets its own PostgreSQL database, dropped afterwards, so runs never see
 * each other's rows. Tests read its URL from NOTBEFORE_TEST_PG_URL.
 */
const ADMIN_URL =
  process.env.NOTBEFORE_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export default async function setup(): Promise<() => Promise<void>> {
  const name = `notbefore_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  process.env.NOTBEFORE_TEST_PG_URL = url.toString();
  process.env.NOTBEFORE_TEST_REDIS_URL ??= 'redis://127.0.0.1:6379';
  return async () => {
    const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  };
}
