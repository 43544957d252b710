import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FeedHandlers } from '../../src/feeds/port.js';
import { type RedisRevocationFeed, redisFeed } from '../../src/feeds/redis.js';
import type { RevocationEvent } from '../../src/revocation/events.js';
import { hasRedisServer, TestRedis } from '../cluster/redis-server.js';

async function waitFor(condition: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const logout = (sid: string, at = Date.now()): RevocationEvent => ({
  kind: 'session',
  sid,
  sub: 'user-1',
  at,
  cause: 'logout',
});

function collector(snapshot?: () => Promise<readonly RevocationEvent[]>) {
  const sids = new Set<string>();
  let lost = 0;
  const handlers: FeedHandlers = {
    event: (event) => {
      if (event.kind === 'session') sids.add(event.sid);
    },
    lost: () => {
      lost += 1;
    },
  };
  if (snapshot) handlers.snapshot = snapshot;
  return { handlers, sids, lost: () => lost };
}

describe.skipIf(!hasRedisServer)('redisFeed recovery (a Redis of the test’s own)', () => {
  let server: TestRedis;
  let admin: Redis;
  const feeds: RedisRevocationFeed[] = [];
  let key: string;
  const open = (options: Parameters<typeof redisFeed>[1] = {}) => {
    const feed = redisFeed(server.url, { key, blockMs: 200, ...options });
    feeds.push(feed);
    return feed;
  };

  beforeAll(async () => {
    server = await TestRedis.start();
    admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
    admin.on('error', () => {});
  });
  afterAll(async () => {
    admin.disconnect();
    await server.kill();
  });
  afterEach(async () => {
    await Promise.all(feeds.splice(0).map((feed) => feed.close()));
    await server.restart();
  });

  it('a fresh deployment: the first instance with a store seeds the stream, followers wait for it', async () => {
    key = `nb:${randomBytes(4).toString('hex')}`;
    const follower = open();
    const followed = collector();
    follower.subscribe(followed.handlers);
    let followerReady = false;
    void follower.start().then(() => {
      followerReady = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    // No stream yet: the follower cannot know it is current.
    expect(followerReady).toBe(false);
    expect(follower.confirmedAt()).toBe(0);

    const auth = open({ seed: async () => [logout('from-store')] });
    await auth.start();
    await waitFor(() => followerReady);
    expect([...followed.sids]).toEqual(['from-store']);
    expect(follower.confirmedAt()).toBeGreaterThan(0);
  });

  it('Redis restarted empty: every instance rebuilds, the stream is re-seeded, queued publishes land', async () => {
    key = `nb:${randomBytes(4).toString('hex')}`;
    const store: RevocationEvent[] = [logout('before')];
    const authA = open({ publishTimeoutMs: 200 });
    const a = collector(async () => [...store]);
    authA.subscribe(a.handlers);
    await authA.start();
    const verifier = open();
    const v = collector();
    verifier.subscribe(v.handlers);
    await verifier.start();
    await waitFor(() => v.sids.has('before'));

    await server.kill();
    // Written to the store, then published while Redis is down: publish gives up waiting
    // after its bound, without throwing, and keeps the event for later.
    store.push(logout('while-down'));
    const t0 = Date.now();
    await expect(authA.publish(logout('while-down'))).resolves.toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(authA.stats().queued).toBe(1);
    const staleSince = verifier.confirmedAt();
    await new Promise((resolve) => setTimeout(resolve, 600));
    // Nobody can confirm anything while Redis is gone.
    expect(verifier.confirmedAt()).toBe(staleSince);

    await server.restart();
    await waitFor(() => a.lost() === 1 && v.lost() === 1);
    await waitFor(() => v.sids.has('while-down') && verifier.confirmedAt() > staleSince);
    await waitFor(() => authA.stats().queued === 0);
    // Once when the stream was first missing, once after the restart.
    expect(authA.stats().seeded).toBe(2);
    // A verifier started now finds the whole live window in the re-seeded stream.
    const late = open();
    const l = collector();
    late.subscribe(l.handlers);
    await late.start();
    expect(l.sids).toEqual(new Set(['before', 'while-down']));
  });

  it('takes an existing ioredis client, tails on a duplicate, and leaves the client open on close', async () => {
    key = `nb:${randomBytes(4).toString('hex')}`;
    await admin.xadd(key, '*', 'seed', '0');
    const client = new Redis(server.url);
    client.on('error', () => {});
    try {
      const feed = redisFeed(client, { key, blockMs: 200 });
      const c = collector();
      feed.subscribe(c.handlers);
      await feed.start();
      await feed.publish(logout('via-client'));
      await waitFor(() => c.sids.has('via-client'));
      await feed.close();
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  it('works for an ACL user that may not run INFO', async () => {
    key = `nb:${randomBytes(4).toString('hex')}`;
    await admin.call('ACL', 'SETUSER', 'limited', 'on', '>secret-pw', '~nb:*', '+@all', '-info');
    const limitedUrl = server.url.replace('redis://', 'redis://limited:secret-pw@');
    const feed = redisFeed(limitedUrl, { key, blockMs: 200, seed: async () => [logout('seeded')] });
    feeds.push(feed);
    const c = collector();
    feed.subscribe(c.handlers);
    await feed.start();
    await feed.publish(logout('published'));
    await waitFor(() => c.sids.has('published'));
    expect(c.sids).toEqual(new Set(['seeded', 'published']));
  });

  it('skips an entry that is not a well-formed event and reads on', async () => {
    key = `nb:${randomBytes(4).toString('hex')}`;
    await admin.xadd(key, '*', 'seed', '0');
    const feed = open();
    const c = collector();
    feed.subscribe(c.handlers);
    await feed.start();
    await admin.xadd(key, '*', 'e', '{not json');
    await admin.xadd(key, '*', 'e', JSON.stringify({ kind: 'session', at: 'soon' }));
    await feed.publish(logout('good'));
    await waitFor(() => c.sids.has('good'));
    expect(c.sids.size).toBe(1);
  });

  it('trims entries older than the retention window on publish', async () => {
    key = `nb:${randomBytes(4).toString('hex')}`;
    await admin.xadd(key, '*', 'seed', '0');
    const feed = open({ retention: 0.3 });
    await feed.start();
    await feed.publish(logout('old'));
    await new Promise((resolve) => setTimeout(resolve, 400));
    await feed.publish(logout('new'));
    const entries = await admin.xrange(key, '-', '+');
    expect(entries.map(([, fields]) => JSON.parse(fields[1] ?? '{}').sid)).toEqual(['new']);
  });

  it('a stream trimmed past the last id read while away counts as lost', async () => {
    key = `nb:${randomBytes(4).toString('hex')}`;
    await admin.xadd(key, '*', 'seed', '0');
    const feed = open({ redisOptions: { connectionName: `nb-away-${key.slice(3)}` } });
    const c = collector();
    feed.subscribe(c.handlers);
    await feed.start();
    await feed.publish(logout('seen'));
    await waitFor(() => c.sids.has('seen'));
    // While the instance is cut off, entries it never read are added and trimmed away.
    await admin.call('CLIENT', 'PAUSE', '300', 'ALL');
    const list = String(await admin.call('CLIENT', 'LIST'));
    const ids = list
      .split('\n')
      .filter((line) => line.includes(`name=nb-away-${key.slice(3)} `))
      .flatMap((line) => /(?:^| )id=(\d+)/.exec(line)?.[1] ?? []);
    for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id);
    await admin.call('CLIENT', 'UNPAUSE');
    await admin.xadd(key, '*', 'e', JSON.stringify(logout('missed')));
    await admin.xadd(key, '*', 'e', JSON.stringify(logout('kept')));
    await admin.xtrim(key, 'MAXLEN', 1);
    await waitFor(() => c.lost() === 1);
    await waitFor(() => c.sids.has('kept'));
  });
});
