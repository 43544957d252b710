import type { RevocationEvent } from '../revocation/events.js';
import type { FeedHandlers } from './port.js';

export interface FeedLifecycleOptions {
  /** The feed's read loop: started by the first `start()`, awaited by `close()`. */
  run(): Promise<void>;
  /** Where a subscriber's exception goes: it must not stop delivery to the others. */
  reportError(error: unknown): void;
}

/** The part of a shared feed that does not depend on its backend. */
export interface FeedLifecycle {
  readonly closed: boolean;
  /** Reading a backlog (at start, after a loss): entry ages there are not a lag. */
  readonly catchingUp: boolean;
  readonly subscribers: ReadonlySet<FeedHandlers>;
  subscribe(handlers: FeedHandlers): () => void;
  deliver(event: RevocationEvent): void;
  /** Tells every subscriber to rebuild from the store; what is read next is a backlog. */
  lost(): void;
  /** Everything published before `at` (ms) was delivered: moves `confirmedAt()`, ends `start()`. */
  confirm(at: number): void;
  confirmedAt(): number;
  /** Starts the read loop once; resolves when first confirmed, or when the feed closes. */
  start(): Promise<void>;
  /** Waits `ms`, or less when woken or when the feed closes. */
  sleep(ms: number): Promise<void>;
  wake(): void;
  /**
   * Closes once: no more deliveries, `release` (settle pending publishes, drop connections),
   * then the start waiters and sleepers are let go and the read loop is awaited.
   */
  close(release: () => void): Promise<void>;
}

/**
 * Subscribers, start and close of a feed that reads a shared log in a loop (Redis, PostgreSQL):
 * the feed keeps its connections and its position in the log, and tells this when it has read
 * to the end (`confirm`) or found the log lost (`lost`).
 */
export function feedLifecycle({ run, reportError }: FeedLifecycleOptions): FeedLifecycle {
  const subscribers = new Set<FeedHandlers>();
  const startWaiters: Array<() => void> = [];
  const wakers = new Set<() => void>();
  let closed = false;
  let started = false;
  let loop: Promise<void> | undefined;
  let confirmed = 0;
  let catchingUp = true;

  /** Calls every subscriber's `call`, so that a throwing one is reported and skipped. */
  function each(call: (handlers: FeedHandlers) => void) {
    for (const handlers of [...subscribers]) {
      try {
        call(handlers);
      } catch (error) {
        reportError(error);
      }
    }
  }

  function wake() {
    for (const done of [...wakers]) done();
  }

  return {
    get closed() {
      return closed;
    },
    get catchingUp() {
      return catchingUp;
    },
    subscribers,
    subscribe(handlers) {
      subscribers.add(handlers);
      return () => {
        subscribers.delete(handlers);
      };
    },
    deliver(event) {
      each((handlers) => handlers.event(event));
    },
    lost() {
      catchingUp = true;
      each((handlers) => handlers.lost?.());
    },
    confirm(at) {
      if (at > confirmed) confirmed = at;
      catchingUp = false;
      for (const resolve of startWaiters.splice(0)) resolve();
    },
    confirmedAt: () => confirmed,
    start() {
      if (closed) return Promise.resolve();
      const caughtUp = new Promise<void>((resolve) => {
        if (confirmed > 0) resolve();
        else startWaiters.push(resolve);
      });
      if (!started) {
        started = true;
        loop = run();
      }
      return caughtUp;
    },
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wakers.delete(done);
          resolve();
        }
        wakers.add(done);
      }),
    wake,
    async close(release) {
      if (closed) return;
      closed = true;
      subscribers.clear();
      release();
      for (const resolve of startWaiters.splice(0)) resolve();
      wake();
      await loop;
    },
  };
}
