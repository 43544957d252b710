import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../../src/sessions/types.js';
import { codeOf, type Instance, PASSWORD, startInstance, summary } from './instances.js';
import { hasRedisServer, TestRedis } from './redis-server.js';

/**
 * A second factor added or removed on one instance ends the user's other sessions on
 * another instance (shared PostgreSQL schema, shared Redis feed) within the lag bound, like
 * a password change. Real clock: the codes are those of now and of the next step.
 */
const pgUrl = process.env.NOTBEFORE_TEST_PG_URL;
const MAX_LAG_MS = 400;

const codeAt = (secret: string, atMs: number) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: atMs });

/** Milliseconds until `token` is refused on `on`, from now. */
async function lagUntilRefused(on: Auth, token: string): Promise<number> {
  const t0 = performance.now();
  while (codeOf(() => on.verify(token)) === 'ok') {
    if (performance.now() - t0 > 2000) throw new Error('never refused');
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(codeOf(() => on.verify(token))).toBe('TOKEN_REVOKED');
  return performance.now() - t0;
}

describe.skipIf(!hasRedisServer || pgUrl === undefined)(
  'cluster: factor changes reach every instance',
  () => {
    let redis: TestRedis;
    let a: Instance;
    let b: Instance;
    const schema = `factors_${randomBytes(4).toString('hex')}`;
    const start = () =>
      startInstance({
        pgUrl: pgUrl as string,
        schema,
        feed: { kind: 'redis', redisUrl: redis.url, key: `notbefore:cluster:${schema}` },
        maxStaleness: 1,
      });

    beforeAll(async () => {
      redis = await TestRedis.start();
      a = await start();
      b = await start();
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await redis?.kill();
    });

    it('enrolling on A, removing on A, and an admin removal on B: the other sessions end on the other instance', async () => {
      const lags: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const email = `factor-${i}@example.com`;
        await a.auth.signup({ email, password: PASSWORD });
        const onB = await b.auth.login({ email, password: PASSWORD });
        const onA = await a.auth.login({ email, password: PASSWORD });
        const { secret } = await a.auth.startTotp(onA.user.id, { sid: onA.session.sid });
        expect(codeOf(() => b.auth.verify(onB.accessToken))).toBe('ok');
        const now = Date.now();
        const confirmed = await a.auth.confirmTotp(onA.user.id, codeAt(secret, now), {
          keepSession: onA.session.sid,
        });
        lags.push(await lagUntilRefused(b.auth, onB.accessToken));
        await expect(b.auth.refresh(onB.refreshToken)).rejects.toMatchObject({
          code: 'REFRESH_TOKEN_INVALID',
        });
        // The kept session's fresh token is good on B too.
        expect(codeOf(() => b.auth.verify(confirmed.signedIn!.accessToken))).toBe('ok');
        // The confirming code is spent for every instance.
        await expect(
          b.auth.login({ email, password: PASSWORD, otp: codeAt(secret, now) }),
        ).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
        const second = await b.auth.login({
          email,
          password: PASSWORD,
          otp: codeAt(secret, now + 30_000),
        });
        expect(second.claims.amr).toEqual(['pwd', 'otp', 'mfa']);

        await a.auth.removeTotp(
          onA.user.id,
          { sid: onA.session.sid, otp: confirmed.recoveryCodes[0]! },
          { keepSession: onA.session.sid },
        );
        lags.push(await lagUntilRefused(b.auth, second.accessToken));

        const third = await a.auth.login({ email, password: PASSWORD });
        await b.auth.removeFactors(onA.user.id);
        lags.push(await lagUntilRefused(a.auth, third.accessToken));
      }
      const lag = summary(lags);
      console.log(
        `[cluster:factors] factor change on one instance → the other refuses: ${JSON.stringify(lag)} ms`,
      );
      expect(lag.max).toBeLessThanOrEqual(MAX_LAG_MS);
    }, 60_000);
  },
);
