import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { FeedHarness } from '../../src/feeds/conformance.js';
import { type RedisFeedOptions, redisFeed } from '../../src/feeds/redis.js';
import { freePort } from '../cluster/redis-server.js';

/**
 * Instances of a Redis feed on one stream key of their own, so runs never see each other.
 * `interrupt` kills an instance's connections from the server side (CLIENT KILL).
 */
export async function redisHarness(
  url: string,
  extra: RedisFeedOptions = {},
): Promise<FeedHarness & { key: string }> {
  const key = `notbefore:test:${randomBytes(6).toString('hex')}`;
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  // As the first auth instance of a fresh deployment would: an empty store, seeded.
  await admin.xadd(key, '*', 'seed', '0');
  const names = new Map<object, string>();
  let count = 0;
  return {
    key,
    durable: true,
    instance() {
      count += 1;
      const name = `nbtest-${key.slice(-12)}-${count}`;
      const feed = redisFeed(url, {
        key,
        blockMs: 200,
        ...extra,
        redisOptions: { connectionName: name },
      });
      names.set(feed, name);
      return feed;
    },
    async interrupt(feed) {
      const name = names.get(feed);
      // The instance may still be reconnecting from the last cut: wait until it is back.
      const deadline = Date.now() + 3000;
      let killed = 0;
      while (killed === 0 && Date.now() < deadline) {
        const list = String(await admin.call('CLIENT', 'LIST'));
        for (const line of list.split('\n')) {
          const id = /(?:^| )id=(\d+)/.exec(line)?.[1];
          if (id && line.includes(` name=${name} `))
            killed += Number(await admin.call('CLIENT', 'KILL', 'ID', id));
        }
        if (killed === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      if (killed === 0) throw new Error('no connection of that instance to kill');
    },
    async lose() {
      await admin.del(key);
    },
    unreachable() {
      // A port nothing listens on: every connection attempt is refused.
      return redisFeed(`redis://127.0.0.1:${unusedPort}`, { key, publishTimeoutMs: 300 });
    },
    async teardown() {
      await admin.del(key).catch(() => {});
      admin.disconnect();
    },
  };
}

const unusedPort = await freePort();
