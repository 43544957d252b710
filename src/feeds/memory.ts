import { type Clock, systemClock } from '../clock.js';
import type { RevocationEvent } from '../revocation/events.js';
import type { FeedHandlers, RevocationFeed } from './port.js';

/** The feed of a single instance: events reach this process's subscribers only. */
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
