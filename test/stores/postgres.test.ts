import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { describeStore } from '../../src/stores/conformance.js';
import { postgresStore } from '../../src/stores/postgres.js';

const url = process.env.NOTBEFORE_TEST_PG_URL;
if (url === undefined) throw new Error('NOTBEFORE_TEST_PG_URL is not set (test/global-setup.ts)');

// Every store gets its own schema in this run's database, so tests never share rows.
const schema = () => `s_${randomBytes(6).toString('hex')}`;
describeStore('postgres', () => postgresStore(url, { schema: schema() }));

describe('postgres specifics', () => {
  const pools: pg.Pool[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
  });

  it('two instances migrating one schema at once both succeed', async () => {
    const name = schema();
    const stores = Array.from({ length: 4 }, () => postgresStore(url, { schema: name }));
    await Promise.all(stores.map((s) => s.init()));
    expect(await stores[0]!.getOrCreateSecret('k', 'v')).toBe('v');
    await Promise.all(stores.map((s) => s.close()));
  });

  it('accepts an existing pool and leaves it open on close', async () => {
    const pool = new pg.Pool({ connectionString: url });
    pools.push(pool);
    const store = postgresStore(pool, { schema: schema() });
    await store.init();
    await store.close();
    expect((await pool.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
  });

  it('an unreachable server is a clear error within the timeout, not a hang', async () => {
    const store = postgresStore('postgres://postgres@127.0.0.1:1/none', {
      connectionTimeoutMillis: 1000,
    });
    const started = Date.now();
    await expect(store.init()).rejects.toThrow(/cannot reach PostgreSQL at 127\.0\.0\.1:1/);
    expect(Date.now() - started).toBeLessThan(3000);
    await store.close();
  });

  it('rejects an unsafe schema name', () => {
    expect(() => postgresStore(url, { schema: 'x; DROP TABLE y' })).toThrow(TypeError);
  });
});
