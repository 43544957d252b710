import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryFeed } from '../../src/feeds/memory.js';
import type { RevocationFeed } from '../../src/feeds/port.js';
import { redisFeed } from '../../src/feeds/redis.js';
import { createAuth } from '../../src/sessions/auth.js';
import type { Auth } from '../../src/sessions/types.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { createVerifier, type Verifier } from '../../src/verifier/index.js';
import {
  CHEAP_PASSWORD,
  codeOf,
  type FeedKind,
  type FeedTarget,
  type Instance,
  openFeed,
  PASSWORD,
  startInstance,
  waitFor,
} from './instances.js';
import { hasRedisServer, TestRedis } from './redis-server.js';

/**
 * Issue 10, hole 2: a revocation committed by an instance that cannot reach Redis and then
 * stops (a deploy, a crash) before Redis returns lived only in its memory. Auth instances
 * learn it from the store, but verify-only services never did, and their feed still looked
 * current. Now the store's log is an outbox: any auth instance re-publishes what the stream
 * lacks, and verifiers trust the stream only as far as an auth instance certified it.
 *
 * On PostgreSQL alone the log is the feed: the commit itself notifies every listener, so a
 * publisher that dies right after its commit loses nothing, and verifiers need no auth
 * instance alive to learn it.
 */
const pgUrl = process.env.NOTBEFORE_TEST_PG_URL as string;
const FEEDS: FeedKind[] = hasRedisServer ? ['redis', 'postgres'] : ['postgres'];

describe.each(FEEDS)(
  'outbox: a committed revocation always reaches verify-only services (%s feed)',
  (kind) => {
    let redis: TestRedis;
    let target: FeedTarget;
    const schema = `outbox_${kind}_${randomBytes(4).toString('hex')}`;
    const key = `notbefore:outbox:${schema}`;
    const maxStaleness = 1;
    const opened: Array<{ close(): Promise<void> }> = [];

    const instance = async () => {
      const started = await startInstance({ pgUrl, schema, feed: target, maxStaleness });
      opened.push(started);
      return started;
    };
    /**
     * An auth instance that commits to the store and publishes nothing: on Redis, one that
     * started on a Redis of its own which then went away; on PostgreSQL, one whose feed
     * reaches nobody (as if it died right after each commit). A crash is a close without
     * any flush.
     */
    const cutOff = async (): Promise<{ auth: Auth; close(): Promise<void> }> => {
      const own = kind === 'redis' ? await TestRedis.start() : undefined;
      const store = postgresStore(pgUrl, { schema, max: 2 });
      const feed: RevocationFeed =
        own === undefined ? memoryFeed() : redisFeed(own.url, { key, publishTimeoutMs: 50 });
      const auth = createAuth({
        store,
        feed,
        maxStaleness,
        maxSessionsPerUser: 1000,
        password: CHEAP_PASSWORD,
      });
      await auth.ready();
      await own?.kill();
      return {
        auth,
        async close() {
          await feed.close();
          await store.close();
        },
      };
    };
    const verifier = async (jwks: { keys: JsonWebKey[] }): Promise<Verifier> => {
      const feed = openFeed(target);
      const v = createVerifier({
        jwks: jwks as never,
        feed,
        issuer: 'notbefore',
        audience: 'notbefore',
        maxStaleness,
        readyTimeout: 10,
      });
      opened.push({
        async close() {
          await v.close();
          await feed.close();
        },
      });
      await v.ready();
      return v;
    };
    let users = 0;
    const signIn = async (on: Instance) => {
      users += 1;
      const email = `outbox${users}@example.com`;
      await on.auth.signup({ email, password: PASSWORD });
      return on.auth.login({ email, password: PASSWORD });
    };

    beforeAll(async () => {
      if (kind === 'redis') {
        redis = await TestRedis.start();
        target = { kind, redisUrl: redis.url, key };
      } else {
        target = { kind, pgUrl, schema };
      }
    });
    afterAll(async () => {
      for (const o of opened.reverse()) await o.close().catch(() => {});
      await redis?.kill();
    });

    it('an instance that re-publishes: the verifier rejects the token within a catch-up tick', async () => {
      const a = await instance();
      const v = await verifier(a.auth.jwks());
      const s = await signIn(a);
      expect(codeOf(() => v.verify(s.accessToken))).toBe('ok');

      const lost = await cutOff();
      await lost.auth.disableUser(s.user.id);
      await lost.close();
      // Another auth instance reads the log (as before) and now also repairs the stream.
      const before = Date.now();
      await waitFor(() => codeOf(() => v.verify(s.accessToken)) === 'TOKEN_REVOKED', 5000);
      expect(Date.now() - before).toBeLessThan(3000);
      await a.close();
    });

    it.runIf(kind === 'postgres')(
      'no auth instance alive: the verifier still learns, at once, a revocation whose writer died right after its commit',
      async () => {
        const a = await instance();
        const v = await verifier(a.auth.jwks());
        const s = await signIn(a);
        expect(codeOf(() => v.verify(s.accessToken))).toBe('ok');
        await a.close();

        const lost = await cutOff();
        const before = Date.now();
        await lost.auth.logoutAll(s.user.id);
        await lost.close();
        await waitFor(() => codeOf(() => v.verify(s.accessToken)) === 'TOKEN_REVOKED', 2000);
        expect(Date.now() - before).toBeLessThan(1000);
        // And it stays current on its own: the feed reads the log, no certificate to wait for.
        await new Promise((resolve) => setTimeout(resolve, maxStaleness * 1000 + 200));
        expect(codeOf(() => v.verify(s.accessToken))).toBe('TOKEN_REVOKED');
      },
    );

    it.runIf(kind === 'redis')(
      'no auth instance alive: the verifier fails closed, and the next instance to start re-publishes',
      async () => {
        const a = await instance();
        const v = await verifier(a.auth.jwks());
        const s = await signIn(a);
        expect(codeOf(() => v.verify(s.accessToken))).toBe('ok');
        await a.close();

        const lost = await cutOff();
        await lost.auth.logoutAll(s.user.id);
        await lost.close();
        // Nobody certifies the stream any more: past maxStaleness the verifier refuses
        // rather than serve a token whose revocation may be missing.
        await waitFor(
          () => codeOf(() => v.verify(s.accessToken)) === 'REVOCATION_STATE_STALE',
          5000,
        );

        await instance();
        await waitFor(() => codeOf(() => v.verify(s.accessToken)) === 'TOKEN_REVOKED', 5000);
      },
    );

    it('a verifier that starts after the loss waits for a certificate and then knows the revocation', async () => {
      const a = await instance();
      const s = await signIn(a);
      const lost = await cutOff();
      await lost.auth.revokeToken(a.auth.verify(s.accessToken).jti);
      await lost.close();
      const v = await verifier(a.auth.jwks());
      await waitFor(() => codeOf(() => v.verify(s.accessToken)) === 'TOKEN_REVOKED', 5000);
    });
  },
);
