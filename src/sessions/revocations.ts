import { performance } from 'node:perf_hooks';
import type { RevocationFeed } from '../feeds/port.js';
import type { RevocationEvent } from '../revocation/events.js';
import type { RevocationList } from '../revocation/list.js';
import type { LoggedRevocation, Store } from '../stores/port.js';
import { createOutbox, type OutboxRound } from './outbox.js';

export type RevocationListener = (event: RevocationEvent) => void;

/**
 * After the store has recorded a revocation: apply it to this instance's list, tell the
 * local listeners, then publish it to the feed. A failed publish is retried in the
 * background, and never loses the revocation: the store's log is the outbox, and every
 * instance's `repairFeed` re-publishes whatever the feed lacks, even after this process
 * died between commit and publish. Events from the feed are applied and reported only
 * when they change the list, so this instance's own events are not reported twice.
 */
export interface RevocationPipeline {
  /** Local path: the store already holds these. */
  commit(revocations: readonly LoggedRevocation[]): Promise<void>;
  /** Subscribes to the feed: apply remote events, reload from the store when told `lost`. */
  attach(): void;
  /** Applies every live entry of the store (start-up, and after a lost feed). */
  reload(): Promise<void>;
  /**
   * Reads the store's log past the last entry seen and applies it: the path by which an
   * instance stays current when the feed is down, or when the instance that revoked could
   * not publish. Resolves to the number of entries applied.
   */
  catchUp(): Promise<number>;
  /** When the last catch-up began that read the log to its end (ms), or -Infinity. */
  storeConfirmedAt(): number;
  /**
   * False while the store's log cannot be read: the last catch-up failed, or one has been
   * waiting on the store for longer than `stuckAfterMs`. An in-process feed hears only
   * this process, so it vouches for nothing while the log (the other instances' voice)
   * is unreachable.
   */
  storeReachable(): boolean;
  /**
   * Re-publishes logged revocations the feed lacks and certifies it (see outbox.ts); a
   * no-op on an in-process feed.
   */
  repairFeed(): Promise<OutboxRound>;
  onRevocation(listener: RevocationListener): () => void;
  close(): void;
}

export interface PipelineOptions {
  /** A getter: the default store is opened only when the instance starts. */
  store: () => Store;
  feed: RevocationFeed;
  list: RevocationList;
  now: () => number;
  /** How far back an entry can still reject a token (ms). */
  windowMs: number;
  /** How often the owner calls catchUp and repairFeed (ms). */
  tickMs: number;
  /** A catch-up waiting on the store this long (real time, ms) counts as unreachable. */
  stuckAfterMs: number;
  onError: (error: unknown) => void;
}

const RETRY_MS = 1000;
/** Log entries read per catch-up query; a full page means "not at the end yet". */
const CATCH_UP_PAGE = 1000;

export function revocationPipeline(options: PipelineOptions): RevocationPipeline {
  const { feed, list } = options;
  const store = options.store;
  const listeners = new Set<RevocationListener>();
  const unpublished: LoggedRevocation[] = [];
  const outbox = createOutbox({
    store,
    feed,
    now: options.now,
    windowMs: options.windowMs,
    tickMs: options.tickMs,
  });
  let repairing: Promise<OutboxRound> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let closed = false;
  /** The highest log seq this instance is known to have applied. */
  let lastSeq = 0;
  let confirmedAt = Number.NEGATIVE_INFINITY;
  let catchingUp: Promise<number> | undefined;
  let catchUpFailed = false;
  /**
   * performance.now() when the running catch-up began. Real time, not the injected clock:
   * this is a timeout on I/O, and a test's manual clock jumping ahead must not fake one.
   */
  let catchUpSince: number | undefined;

  const notify = (event: RevocationEvent) => {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (error) {
        options.onError(error);
      }
    }
  };

  const flush = async (): Promise<void> => {
    while (unpublished.length > 0 && !closed) {
      const { seq, event } = unpublished[0]!;
      try {
        await feed.publish(event, seq);
        unpublished.shift();
      } catch (error) {
        options.onError(error);
        retryTimer ??= setTimeout(() => {
          retryTimer = undefined;
          void flush();
        }, RETRY_MS);
        retryTimer.unref();
        return;
      }
    }
  };

  const reload = async () => {
    // The seq is read before the live window, so an entry committed in between is read
    // again by the next catch-up (harmless: applying is idempotent) rather than skipped.
    const startedAt = options.now();
    const seq = await store().latestRevocationSeq();
    const live = await store().liveRevocations(startedAt, options.windowMs);
    for (const { event } of live) if (list.apply(event)) notify(event);
    lastSeq = Math.max(lastSeq, seq);
    confirmedAt = Math.max(confirmedAt, startedAt);
  };

  const readLog = async (): Promise<number> => {
    let applied = 0;
    for (;;) {
      // Everything committed before this moment has a seq below the log's end when we
      // read it (the stores assign seq in commit order), so reaching the end confirms it.
      const startedAt = options.now();
      const page = await store().revocationsSince(lastSeq, CATCH_UP_PAGE);
      for (const { seq, event } of page) {
        if (list.apply(event)) notify(event);
        lastSeq = Math.max(lastSeq, seq);
        applied++;
      }
      if (page.length < CATCH_UP_PAGE) {
        confirmedAt = Math.max(confirmedAt, startedAt);
        return applied;
      }
    }
  };

  return {
    async commit(revocations) {
      for (const revocation of revocations) {
        list.apply(revocation.event);
        notify(revocation.event);
        unpublished.push(revocation);
      }
      await flush();
    },
    attach() {
      unsubscribe?.();
      unsubscribe = feed.subscribe({
        event(event) {
          if (list.apply(event)) notify(event);
        },
        lost() {
          outbox.reset();
          reload().catch(options.onError);
        },
        async snapshot() {
          const live = await store().liveRevocations(options.now(), options.windowMs);
          return live.map((entry) => entry.event);
        },
      });
    },
    reload,
    catchUp() {
      catchUpSince ??= performance.now();
      catchingUp ??= readLog()
        .then(
          (applied) => {
            catchUpFailed = false;
            return applied;
          },
          (error: unknown) => {
            catchUpFailed = true;
            throw error;
          },
        )
        .finally(() => {
          catchingUp = undefined;
          catchUpSince = undefined;
        });
      return catchingUp;
    },
    storeReachable: () =>
      !catchUpFailed &&
      (catchUpSince === undefined || performance.now() - catchUpSince < options.stuckAfterMs),
    storeConfirmedAt: () => confirmedAt,
    repairFeed() {
      repairing ??= outbox.round().finally(() => {
        repairing = undefined;
      });
      return repairing;
    },
    onRevocation(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    close() {
      closed = true;
      unsubscribe?.();
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      listeners.clear();
    },
  };
}
