import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RevocationEvent } from '../revocation/events.js';
import type { FeedHandlers, RevocationFeed } from './port.js';

/** What a feed file gives the conformance suite: a way to make instances that share a feed. */
export interface FeedHarness {
  /**
   * The feed of one more instance, sharing the channel with every other instance of this
   * harness. An in-process feed has one instance only, so it may return the same feed.
   */
  instance(): RevocationFeed;
  /** Events outlive their delivery: an instance started later still loads them. */
  durable: boolean;
  /** Drops the connections of one instance; it must reconnect and resume on its own. */
  interrupt?(feed: RevocationFeed): Promise<void>;
  /** Loses everything stored (a stream deleted, a restart without persistence). */
  lose?(): Promise<void>;
  /** A feed whose backend cannot be reached at all. */
  unreachable?(): RevocationFeed;
  /**
   * Closes what the harness opened; called after each test, once the suite has closed the feeds
   * it asked for.
   */
  teardown(): Promise<void>;
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function sessionEvent(i: number): RevocationEvent {
  return {
    kind: 'session',
    sid: `sid-${i}`,
    sub: `user-${i % 3}`,
    at: 1_800_000_000_000 + i,
    cause: 'logout',
  };
}

/** A subscriber that records what it is told, and a watermark state as a list would keep it. */
function recorder(snapshot?: () => Promise<readonly RevocationEvent[]>) {
  const events: RevocationEvent[] = [];
  const state = new Map<string, number>();
  let lost = 0;
  const handlers: FeedHandlers = {
    event(event) {
      events.push(event);
      const key =
        event.kind === 'session'
          ? `s:${event.sid}`
          : event.kind === 'user'
            ? `u:${event.sub}`
            : event.kind;
      state.set(key, Math.max(state.get(key) ?? 0, event.at));
    },
    lost() {
      lost += 1;
    },
  };
  if (snapshot) handlers.snapshot = snapshot;
  return {
    handlers,
    events,
    state,
    sids: () => events.flatMap((event) => (event.kind === 'session' ? [event.sid] : [])),
    lostCount: () => lost,
  };
}

/**
 * The one feed conformance suite: every feed (in-process, Redis) passes it. Call it from a
 * test file with a harness factory; capabilities the feed lacks are skipped, and say so.
 *
 * @param name - Shown in the suite's title.
 * @param makeHarness - Called before each test, for a fresh harness.
 * @example
 * ```ts
 * // test/my-feed.test.ts
 * import { describeFeed } from 'notbefore/testing';
 * import { myFeed } from '../src/my-feed.js';
 *
 * describeFeed('my-feed', async () => {
 *   const url = await startMyBroker();
 *   return { instance: () => myFeed(url), durable: true, teardown: () => stopMyBroker() };
 * });
 * ```
 */
export function describeFeed(name: string, makeHarness: () => Promise<FeedHarness>): void {
  describe(`feed conformance: ${name}`, () => {
    let harness: FeedHarness;
    const opened: RevocationFeed[] = [];
    const instance = async (handlers: FeedHandlers[] = []) => {
      const feed = harness.instance();
      if (!opened.includes(feed)) opened.push(feed);
      for (const h of handlers) feed.subscribe(h);
      await feed.start();
      return feed;
    };

    beforeEach(async () => {
      harness = await makeHarness();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((feed) => feed.close()));
      await harness.teardown();
    });

    it('delivers every event to every subscriber of every instance, in publish order', async () => {
      const a = recorder();
      const b1 = recorder();
      const b2 = recorder();
      const publisher = await instance([a.handlers]);
      await instance([b1.handlers, b2.handlers]);
      const sent = Array.from({ length: 30 }, (_, i) => sessionEvent(i));
      for (const event of sent) await publisher.publish(event);
      for (const r of [a, b1, b2]) {
        await waitFor(() => r.events.length >= sent.length);
        expect(r.events).toEqual(sent);
      }
    });

    it('start resolves once current; confirmedAt is not older than the start', async () => {
      const before = Date.now();
      const feed = await instance();
      // A feed may confirm one millisecond back (ms clocks), never more.
      expect(feed.confirmedAt()).toBeGreaterThanOrEqual(before - 1);
    });

    it('confirmedAt() ≥ T means every publish that had resolved by T was delivered', async () => {
      const b = recorder();
      const publisher = await instance();
      const reader = await instance([b.handlers]);
      for (let i = 0; i < 10; i += 1) {
        await publisher.publish(sessionEvent(i));
        const resolvedAt = Date.now();
        await waitFor(() => reader.confirmedAt() >= resolvedAt);
        expect(b.sids()).toContain(`sid-${i}`);
      }
    });

    it('keeps confirming while nothing happens', async () => {
      const feed = await instance();
      const first = feed.confirmedAt();
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(feed.confirmedAt()).toBeGreaterThan(first);
      expect(Date.now() - feed.confirmedAt()).toBeLessThan(1500);
    });

    it('an unsubscribed handler hears nothing more', async () => {
      const kept = recorder();
      const dropped = recorder();
      const feed = await instance([kept.handlers]);
      const unsubscribe = feed.subscribe(dropped.handlers);
      await feed.publish(sessionEvent(1));
      await waitFor(() => kept.events.length === 1 && dropped.events.length === 1);
      unsubscribe();
      await feed.publish(sessionEvent(2));
      await waitFor(() => kept.events.length === 2);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(dropped.events).toHaveLength(1);
    });

    it('a duplicate or reordered event changes nothing once applied as a watermark', async () => {
      const a = recorder();
      const b = recorder();
      const publisher = await instance([a.handlers]);
      await instance([b.handlers]);
      const events = [sessionEvent(5), sessionEvent(5), sessionEvent(2), sessionEvent(5)];
      for (const event of events) await publisher.publish(event);
      await waitFor(() => b.events.length === events.length && a.events.length === events.length);
      expect(b.state).toEqual(a.state);
      expect(b.state.get('s:sid-5')).toBe(sessionEvent(5).at);
    });

    it('an instance started later loads what was published before (durable feeds)', async (context) => {
      if (!harness.durable) return context.skip('an in-process feed has no history to load');
      const publisher = await instance();
      for (let i = 0; i < 5; i += 1) await publisher.publish(sessionEvent(i));
      const late = recorder();
      await instance([late.handlers]);
      expect(late.sids()).toEqual(['sid-0', 'sid-1', 'sid-2', 'sid-3', 'sid-4']);
    });

    it('resumes after a reconnect without skipping or reordering', async (context) => {
      const interrupt = harness.interrupt;
      if (!interrupt) return context.skip('this feed has no connection to drop');
      const b = recorder();
      const publisher = await instance();
      const reader = await instance([b.handlers]);
      const sent: RevocationEvent[] = [];
      for (let round = 0; round < 3; round += 1) {
        const cut = interrupt.call(harness, reader);
        for (let i = 0; i < 20; i += 1) {
          const event = sessionEvent(round * 100 + i);
          sent.push(event);
          await publisher.publish(event);
        }
        await cut;
      }
      await waitFor(() => b.events.length >= sent.length);
      expect(b.events).toEqual(sent);
      expect(b.lostCount()).toBe(0);
    });

    it('notices a lost feed, tells subscribers to rebuild, and re-seeds from a snapshot', async (context) => {
      const lose = harness.lose;
      if (!lose) return context.skip('an in-process feed cannot lose what it never stores');
      const storeEvents = [sessionEvent(1), sessionEvent(2), sessionEvent(3)];
      const seeder = recorder(async () => storeEvents);
      const auth = await instance([seeder.handlers]);
      const follower = recorder();
      await instance([follower.handlers]);
      for (const event of storeEvents) await auth.publish(event);
      await waitFor(() => follower.events.length === 3);

      await lose.call(harness);
      await waitFor(() => seeder.lostCount() === 1 && follower.lostCount() === 1);
      // After the loss, new events still arrive and the snapshot is read again.
      const after = sessionEvent(4);
      await auth.publish(after);
      // Both instances read it from the feed, each on its own connection: wait for both.
      await waitFor(() => follower.sids().includes('sid-4') && seeder.sids().includes('sid-4'));
      expect(follower.state).toEqual(seeder.state);
      // A verify-only instance started now loads the whole live window from the feed.
      const late = recorder();
      await instance([late.handlers]);
      expect(new Set(late.sids())).toEqual(new Set(['sid-1', 'sid-2', 'sid-3', 'sid-4']));
    });

    it('outbox: tells which logged seqs it lacks; certify appends them, then the certificate', async (context) => {
      const probe = harness.instance();
      if (!opened.includes(probe)) opened.push(probe);
      const outbox = probe.outbox;
      if (!outbox || !probe.certifiedAt)
        return context.skip(
          'an in-process feed delivers in the publishing call: nothing to repair',
        );
      const seeder = recorder(async () => []);
      const a = await instance([seeder.handlers]);
      const reader = recorder();
      const b = await instance([reader.handlers]);
      await a.publish(sessionEvent(1), 1);
      await a.publish(sessionEvent(2));
      const found = await outbox.missing([1, 2, 3]);
      expect(found.epoch).not.toBe('');
      // Seq 2 was published without its seq: the outbox cannot know it holds it.
      expect(found.missing).toEqual([2, 3]);
      const before = Date.now();
      expect(await outbox.certify([{ seq: 3, event: sessionEvent(3) }], before, found.epoch)).toBe(
        'certified',
      );
      expect((await outbox.missing([1, 3])).missing).toEqual([]);
      // A reader that has read the certificate has read every event ahead of it.
      await waitFor(() => (b.certifiedAt?.() ?? 0) >= before);
      expect(reader.sids()).toEqual(['sid-1', 'sid-2', 'sid-3']);
      // A certificate for another epoch (the server restarted since it was checked) is refused.
      expect(await outbox.certify([], Date.now(), 'another run')).toBe('epoch-changed');
    });

    it('outbox: a lost feed forgets its certificates and refuses new ones until re-seeded', async (context) => {
      const lose = harness.lose;
      const probe = harness.instance();
      if (!opened.includes(probe)) opened.push(probe);
      if (!lose || !probe.outbox || !probe.certifiedAt)
        return context.skip('an in-process feed cannot lose what it never stores');
      const reader = recorder();
      const b = await instance([reader.handlers]);
      const { epoch } = await probe.outbox.missing([]);
      await probe.outbox.certify([], Date.now(), epoch);
      await waitFor(() => (b.certifiedAt?.() ?? 0) > 0);
      await lose.call(harness);
      await waitFor(() => reader.lostCount() === 1);
      expect(b.certifiedAt?.()).toBe(0);
      const after = await probe.outbox.missing([7]);
      expect(after.missing).toEqual([7]);
      expect(await probe.outbox.certify([], Date.now(), after.epoch)).toBe('missing');
    });

    it('after close: publish resolves, nothing is delivered, close is idempotent', async () => {
      const r = recorder();
      const feed = await instance([r.handlers]);
      await feed.close();
      await feed.close();
      await expect(feed.publish(sessionEvent(1))).resolves.toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(r.events).toHaveLength(0);
    });

    it('an unreachable backend neither throws into publish nor hangs close', async (context) => {
      const unreachable = harness.unreachable;
      if (!unreachable) return context.skip('an in-process feed is always reachable');
      const feed = unreachable.call(harness);
      const started = feed.start();
      const t0 = Date.now();
      await expect(feed.publish(sessionEvent(1))).resolves.toBeUndefined();
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(feed.confirmedAt()).toBe(0);
      await feed.close();
      await started;
      expect(Date.now() - t0).toBeLessThan(5000);
    });
  });
}
