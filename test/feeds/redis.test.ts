import { afterAll } from 'vitest';
import { describeFeed } from '../../src/feeds/conformance.js';
import { hasRedisServer, TestRedis } from '../cluster/redis-server.js';
import { redisHarness } from './redis-harness.js';

// A Redis of our own when the binary is there; else the shared one (keys are unique per run).
const server = hasRedisServer ? await TestRedis.start() : undefined;
const url = server?.url ?? process.env.NOTBEFORE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
afterAll(async () => {
  await server?.kill();
});

describeFeed('redisFeed', async () => redisHarness(url));
