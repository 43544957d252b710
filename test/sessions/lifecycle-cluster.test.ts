import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisFeed } from '../../src/feeds/redis.js';
import { smtpMailer } from '../../src/mail/index.js';
import { createAuth } from '../../src/sessions/auth.js';
import type { Auth } from '../../src/sessions/types.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { hasRedisServer, TestRedis } from '../cluster/redis-server.js';
import { type SmtpSink, startSmtpSink } from '../mail/smtp-sink.js';
import { CHEAP_HASH, PASSWORD } from './helpers.js';
import { median, PUBLIC_URL } from './lifecycle.js';

const pgUrl = process.env.NOTBEFORE_TEST_PG_URL;
/** The bound the cluster suite holds a revocation's lag to on a loaded machine (library.test.ts). */
const MAX_LAG_MS = 400;

/**
 * A password reset is the critical change after which every earlier token must die on every
 * instance: two createAuth instances on one PostgreSQL schema with a Redis feed of the test's
 * own, the reset made on A from the mailed link, B probed until it refuses the old token.
 */
describe.skipIf(!hasRedisServer || pgUrl === undefined)(
  'account lifecycle across instances (PostgreSQL + Redis)',
  () => {
    let redis: TestRedis;
    let sink: SmtpSink;
    const closers: (() => Promise<void>)[] = [];
    const schema = `lifecycle_${randomBytes(4).toString('hex')}`;
    const key = `notbefore:lifecycle:${schema}`;

    const instance = async (mail: boolean): Promise<Auth> => {
      const store = postgresStore(pgUrl as string, { schema, max: 4 });
      const feed = redisFeed(redis.url, {
        key,
        blockMs: 100,
        publishTimeoutMs: 300,
        retention: 930,
        seed: async () =>
          (await store.liveRevocations(Date.now(), 930_000)).map((entry) => entry.event),
      });
      const auth = createAuth({
        store,
        feed,
        maxStaleness: 1,
        password: CHEAP_HASH,
        publicUrl: PUBLIC_URL,
        ...(mail ? { mailer: smtpMailer(sink.url, { from: 'auth@example.test' }) } : {}),
      });
      closers.push(async () => {
        await auth.close();
        await feed.close();
        await store.close();
      });
      await auth.ready();
      return auth;
    };

    let a: Auth;
    let b: Auth;
    beforeAll(async () => {
      redis = await TestRedis.start();
      sink = await startSmtpSink();
      a = await instance(true);
      b = await instance(false);
    });
    afterAll(async () => {
      for (const close of closers.reverse()) await close().catch(() => {});
      await sink?.close();
      await redis?.kill();
    });

    it('a reset on A revokes the tokens B accepted, within the lag bound', async () => {
      const lags: number[] = [];
      for (let i = 0; i < 10; i += 1) {
        const email = `reset${i}@example.com`;
        await a.signup({ email, password: PASSWORD });
        const onB = await b.login({ email, password: PASSWORD });
        expect(b.verify(onB.accessToken).sub).toBe(onB.user.id);
        await a.forgotPassword(email);
        const mail = await sink.next((m) => m.to === email);
        await a.resetPassword(sink.linkIn(mail, 'reset-password'), 'a brand new passphrase');
        const t0 = performance.now();
        for (;;) {
          try {
            b.verify(onB.accessToken);
          } catch (error) {
            expect(error).toMatchObject({ code: 'TOKEN_REVOKED', reason: 'user' });
            break;
          }
          if (performance.now() - t0 > 2_000) throw new Error('B never refused the token');
          await new Promise((r) => setImmediate(r));
        }
        lags.push(performance.now() - t0);
        await expect(b.refresh(onB.refreshToken)).rejects.toMatchObject({
          code: 'REFRESH_TOKEN_INVALID',
        });
        await expect(b.login({ email, password: PASSWORD })).rejects.toMatchObject({
          code: 'INVALID_CREDENTIALS',
        });
      }
      console.log(
        `[lifecycle:cluster] reset on A → B refuses: median ${median(lags).toFixed(2)} ms, max ${Math.max(...lags).toFixed(2)} ms`,
      );
      for (const lag of lags) expect(lag).toBeLessThanOrEqual(MAX_LAG_MS);
    }, 60_000);

    it('a reset link mailed by A is redeemed on B; A refuses the old token', async () => {
      const email = 'cross@example.com';
      await a.signup({ email, password: PASSWORD });
      const onA = await a.login({ email, password: PASSWORD });
      await a.forgotPassword(email);
      const mail = await sink.next((m) => m.to === email);
      await b.resetPassword(sink.linkIn(mail, 'reset-password'), 'a brand new passphrase');
      const t0 = performance.now();
      while (performance.now() - t0 < MAX_LAG_MS) {
        try {
          a.verify(onA.accessToken);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
      expect(() => a.verify(onA.accessToken)).toThrow(
        expect.objectContaining({ code: 'TOKEN_REVOKED' }),
      );
    }, 30_000);
  },
);
