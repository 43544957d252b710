/**
 * What became of the oldest queued item on one attempt to send it: `done` (sent, or refused
 * for good: retrying would stall every later one), `retry` (send it again now) or `stop`
 * (leave it queued; the next `flush()` resumes with it).
 */
export type SendOutcome = 'done' | 'retry' | 'stop';

export interface PublishQueueOptions<T> {
  /** Sends one item; never called for two items at once, always oldest first. */
  send(item: T): Promise<SendOutcome>;
  /** Longest wait (ms) of a `push`; the item stays queued after it. */
  timeoutMs: number;
  /** Items kept; beyond it the oldest is dropped, and that is reported. */
  maxQueue: number;
  /** The feed's stats: `queued` is kept equal to the queue's length. */
  stats: { queued: number };
  reportError(error: unknown): void;
}

export interface PublishQueue<T> {
  /**
   * Queues an item and starts a flush. Resolves when it is sent, dropped or refused, when the
   * queue closes, or after `timeoutMs`, whichever comes first; never rejects.
   */
  push(item: T): Promise<void>;
  /** Sends what is queued, in order; a no-op while a flush is under way. */
  flush(): Promise<void>;
  /** Settles every waiting push and sends nothing more. */
  close(): void;
}

interface Entry<T> {
  item: T;
  settle: () => void;
}

/**
 * The bounded retry queue of a shared feed. A publish never throws and never waits long,
 * because the store already holds every event; the queue only keeps events in order while the
 * feed's backend is unreachable, and gives up the oldest once it holds `maxQueue`.
 */
export function publishQueue<T>(options: PublishQueueOptions<T>): PublishQueue<T> {
  const { send, timeoutMs, maxQueue, stats, reportError } = options;
  const entries: Entry<T>[] = [];
  let flushing = false;
  let closed = false;

  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      while (!closed) {
        const head = entries[0];
        if (head === undefined) return;
        const outcome = await send(head.item);
        if (outcome === 'stop') return;
        // A head dropped (queue full) or settled (close) while it was in flight is gone
        // already: the entry behind it was not sent, so it must stay.
        if (outcome === 'done' && entries[0] === head) {
          entries.shift();
          stats.queued = entries.length;
          head.settle();
        }
      }
    } finally {
      flushing = false;
    }
  }

  return {
    push(item) {
      if (closed) return Promise.resolve();
      const queued = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        entries.push({
          item,
          settle: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        if (entries.length > maxQueue) {
          entries.shift()?.settle();
          reportError(new Error('revocation feed: publish queue full, oldest event dropped'));
        }
        stats.queued = entries.length;
      });
      void flush();
      return queued;
    },
    flush,
    close() {
      closed = true;
      for (const entry of entries.splice(0)) entry.settle();
    },
  };
}
