import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { AuthError } from '../errors.js';
import type { FailureCount, Store } from '../stores/port.js';

/**
 * Failed sign-ins counted in the store (so N instances do not allow N times the guesses)
 * per account and per client key, in a fixed window opened by the first failure. The
 * first `free` failures cost nothing; after that each attempt waits a doubling delay
 * (1 s, 2 s, 4 s, …) after the previous failure; at `max` the key is refused until its
 * window ends. So an attacker can hold an account shut for at most one window.
 */
export interface ThrottleLimits {
  free: number;
  max: number;
}

export interface ThrottlePolicy {
  windowSeconds: number;
  account: ThrottleLimits;
  client: ThrottleLimits;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = {
  windowSeconds: 900,
  account: { free: 5, max: 10 },
  client: { free: 20, max: 100 },
};

export interface Throttle {
  /** Throws RATE_LIMITED (with retryAfter in seconds) when any key must wait. */
  check(keys: ThrottleKeys): Promise<void>;
  fail(keys: ThrottleKeys): Promise<void>;
  /** A correct password clears the account's count (not the client's). */
  succeed(keys: ThrottleKeys): Promise<void>;
}

export interface ThrottleKeys {
  /** The normalised email (counted whether or not the account exists). */
  account: string;
  clientKey?: string | undefined;
}

const keyOf = (kind: string, value: string): string =>
  `${kind}:${createHash('sha256').update(value).digest('base64url')}`;

export function createThrottle(store: Store, clock: Clock, policy: ThrottlePolicy): Throttle {
  const windowMs = policy.windowSeconds * 1000;
  const entries = (keys: ThrottleKeys): Array<[string, ThrottleLimits]> => {
    const list: Array<[string, ThrottleLimits]> = [
      [keyOf('account', keys.account), policy.account],
    ];
    if (keys.clientKey !== undefined && keys.clientKey.length > 0)
      list.push([keyOf('client', keys.clientKey), policy.client]);
    return list;
  };
  const waitUntil = (failures: FailureCount, limits: ThrottleLimits): number => {
    if (failures.count === 0) return 0;
    const windowEnd = failures.windowStart + windowMs;
    if (failures.count >= limits.max) return windowEnd;
    if (failures.count < limits.free) return 0;
    const delay = 1000 * 2 ** Math.min(30, failures.count - limits.free);
    return Math.min(windowEnd, failures.lastAt + delay);
  };
  return {
    async check(keys) {
      const now = clock.now();
      let until = 0;
      for (const [key, limits] of entries(keys)) {
        until = Math.max(until, waitUntil(await store.getFailures(key, now, windowMs), limits));
      }
      if (until > now) {
        throw new AuthError('RATE_LIMITED', 'Too many failed attempts; try again later.', {
          retryAfter: Math.max(1, Math.ceil((until - now) / 1000)),
        });
      }
    },
    async fail(keys) {
      const now = clock.now();
      for (const [key] of entries(keys)) await store.recordFailure(key, now, windowMs);
    },
    async succeed(keys) {
      await store.clearFailures(keyOf('account', keys.account));
    },
  };
}
