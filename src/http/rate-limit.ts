import type { Clock } from '../clock.js';

/**
 * Fixed-window counter per client address: `limit` attempts per `windowMs`. Memory is
 * bounded by pruning expired windows whenever the map grows past `maxKeys`.
 */
export interface RateLimiter {
  /** Counts one attempt; returns 0 when allowed, else seconds until the window resets. */
  hit(key: string): number;
}

export interface RateLimitOptions {
  limit: number;
  windowMs?: number;
  clock: Clock;
  maxKeys?: number;
}

export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const windowMs = options.windowMs ?? 60_000;
  const maxKeys = options.maxKeys ?? 100_000;
  const windows = new Map<string, { start: number; count: number }>();

  const prune = (now: number): void => {
    for (const [key, w] of windows) if (now - w.start >= windowMs) windows.delete(key);
  };

  return {
    hit(key) {
      if (options.limit <= 0) return 0;
      const now = options.clock.now();
      let w = windows.get(key);
      if (w === undefined || now - w.start >= windowMs) {
        if (windows.size >= maxKeys) prune(now);
        w = { start: now, count: 0 };
        windows.set(key, w);
      }
      w.count += 1;
      if (w.count <= options.limit) return 0;
      return Math.max(1, Math.ceil((w.start + windowMs - now) / 1000));
    },
  };
}
