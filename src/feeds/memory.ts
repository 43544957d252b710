import { type Clock, systemClock } from '../clock.js';
import type { RevocationEvent } from '../revocation/events.js';
import type { FeedHandlers, RevocationFeed } from './port.js';

/**
 * The feed of a single instance: events reach this process's subscribers only.
 *
 * `createAuth` makes one when given no `feed`; pass your own to share it (a `createVerifier` in
 * the same process) or to close it yourself. Instances on one store still learn each other's
 * revocations from the store's log, about once a second.
 *
 * @param options - `clock`: the time `confirmedAt()` reports (this feed is always current).
 * @example
 * ```ts
 * import { createAuth, memoryFeed } from 'notbefore';
 * import { sqliteStore } from 'notbefore/sqlite';
 *
 * const feed = memoryFeed();
 * const auth = createAuth({ store: sqliteStore('auth.db'), feed });
 * ```
 */
export function memoryFeed(options: { clock?: Clock } = {}): RevocationFeed {
  const clock = options.clock ?? systemClock;
  const subscribers = new Set<FeedHandlers>();
  let closed = false;
  return {
    local: true,
    async publish(event: RevocationEvent) {
      if (closed) return;
      for (const handlers of [...subscribers]) handlers.event(event);
    },
    subscribe(handlers) {
      subscribers.add(handlers);
      return () => subscribers.delete(handlers);
    },
    async start() {},
    confirmedAt: () => clock.now(),
    async close() {
      closed = true;
      subscribers.clear();
    },
  };
}
