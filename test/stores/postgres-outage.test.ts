import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { LinkProxy } from '../torture/link-proxy.js';

const pgUrl = process.env.NOTBEFORE_TEST_PG_URL;

/**
 * A database link that drops while transactions hold their connections: found by the
 * torture suite, where it killed `serve` (an 'error' event of a checked-out client with no
 * listener) and answered every request with a 500.
 */
describe.skipIf(pgUrl === undefined)('postgresStore: the link drops mid-transaction', () => {
  it('no crash, and every failure is a StoreUnavailableError (503 at the HTTP layer)', async () => {
    const target = new URL(pgUrl as string);
    const proxy = new LinkProxy('pg', { host: target.hostname, port: Number(target.port || 5432) });
    const port = await proxy.listen();
    const url = new URL(target);
    url.port = String(port);
    const store = postgresStore(url.toString(), {
      schema: `outage_${randomBytes(4).toString('hex')}`,
      connectionTimeoutMillis: 1000,
      queryTimeoutMillis: 2000,
    });
    try {
      await store.init();
      const failures: unknown[] = [];
      let stop = false;
      const workers = Array.from({ length: 8 }, async () => {
        while (!stop) {
          await store.revokeAll({ nowMs: Date.now() }).catch((error: unknown) => {
            failures.push(error);
          });
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      proxy.cut('refuse');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      stop = true;
      await Promise.all(workers);
      expect(failures.length).toBeGreaterThan(0);
      for (const failure of failures) expect(failure).toBeInstanceOf(StoreUnavailableError);
      // Once the link is back, the same store works again.
      proxy.restore();
      await expect(store.revokeAll({ nowMs: Date.now() })).resolves.toMatchObject({
        event: { kind: 'global' },
      });
    } finally {
      await store.close().catch(() => {});
      await proxy.close();
    }
  });
});
