import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { memoryFeed } from '../../src/feeds/memory.js';
import { createMetrics, instrumentAuth } from '../../src/metrics.js';
import { RevocationList } from '../../src/revocation/list.js';
import { createAuth } from '../../src/sessions/auth.js';
import { sqliteStore } from '../../src/stores/sqlite.js';

/** The value of one sample line of the exposition text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', () => {
  it('reports live revocation entries by rule and seconds since the feed confirmed', async () => {
    const clock = manualClock();
    const list = new RevocationList({ clock, maxTokenLifetime: 900, clockSkew: 30 });
    list.apply({ kind: 'session', sid: 's1', sub: 'u1', at: clock.now(), cause: 'logout' });
    list.apply({ kind: 'session', sid: 's2', sub: 'u1', at: clock.now(), cause: 'logout' });
    list.apply({ kind: 'user', sub: 'u2', at: clock.now(), scope: 'sessions', cause: 'password' });
    const confirmedAt = clock.now();
    const metrics = createMetrics({
      revocations: list,
      feed: { confirmedAt: () => confirmedAt },
      clock,
    });
    clock.advance(2500);
    const text = await metrics.render();
    expect(metrics.contentType).toMatch(/^text\/plain/);
    expect(sample(text, 'notbefore_revocation_entries{rule="session"}')).toBe(2);
    expect(sample(text, 'notbefore_revocation_entries{rule="user"}')).toBe(1);
    expect(sample(text, 'notbefore_revocation_entries{rule="token"}')).toBe(0);
    expect(sample(text, 'notbefore_feed_seconds_since_confirmation')).toBe(2.5);
  });

  it('two registries never share a series (no global default registry)', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.verify('ok');
    expect(sample(await a.render(), 'notbefore_verify_total{outcome="ok"}')).toBe(1);
    expect(sample(await b.render(), 'notbefore_verify_total{outcome="ok"}')).toBeUndefined();
  });

  it('counts verify, login and refresh outcomes by code through an instrumented Auth', async () => {
    const auth = createAuth({
      store: sqliteStore(':memory:'),
      feed: memoryFeed(),
      password: { memoryCost: 256, timeCost: 1, parallelism: 1, allowWeakHash: true },
    } as Parameters<typeof createAuth>[0]);
    await auth.ready();
    try {
      const metrics = createMetrics();
      const counted = instrumentAuth(auth, metrics);
      await counted.signup({ email: 'm@example.com', password: 'correct horse battery staple' });
      const signedIn = await counted.login({
        email: 'm@example.com',
        password: 'correct horse battery staple',
      });
      await expect(
        counted.login({ email: 'm@example.com', password: 'wrong wrong wrong wrong' }),
      ).rejects.toMatchObject({
        code: 'INVALID_CREDENTIALS',
      });
      counted.verify(signedIn.accessToken);
      expect(() => counted.verify('nope')).toThrow();
      const rotated = await counted.refresh(signedIn.refreshToken);
      expect(rotated.session.sid).toBe(signedIn.session.sid);
      const text = await metrics.render();
      expect(sample(text, 'notbefore_logins_total{outcome="ok"}')).toBe(1);
      expect(sample(text, 'notbefore_logins_total{outcome="INVALID_CREDENTIALS"}')).toBe(1);
      expect(sample(text, 'notbefore_verify_total{outcome="ok"}')).toBe(1);
      expect(sample(text, 'notbefore_verify_total{outcome="TOKEN_MALFORMED"}')).toBe(1);
      expect(sample(text, 'notbefore_refreshes_total{outcome="ok"}')).toBe(1);
    } finally {
      await auth.close();
    }
  });
});
