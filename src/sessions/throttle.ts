import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { AuthError } from '../errors.js';
import type { AttemptLimits, Store } from '../stores/port.js';

/**
 * Password attempts limited in the store (so N instances do not allow N times the
 * guesses) per account and per client key, in a fixed window opened by the first
 * attempt. An attempt is *reserved* before the password hash runs and given back only
 * when the password was right, so concurrent guesses can never evaluate more passwords
 * than the limit: the count is taken, not read and written later. The back-off rule
 * (free attempts, then doubling delays, then shut until the window ends) is
 * `attemptAllowedAt` in the stores' shared rules.
 */
export type ThrottleLimits = AttemptLimits;

/**
 * Failed sign-in throttling, counted in the store so that all instances share the counts: per
 * account and per client key, in a fixed window. Defaults: a 900 s window; per account 5 free
 * attempts and 10 at most, per client key 20 and 100.
 */
export interface ThrottlePolicy {
  /** The fixed window, opened by the first attempt (s). */
  windowSeconds: number;
  /** Limits per account (the normalised email, whether or not the account exists). */
  account: ThrottleLimits;
  /** Limits per client key (`LoginInput.clientKey`: the adapters pass the client address). */
  client: ThrottleLimits;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = {
  windowSeconds: 900,
  account: { free: 5, max: 10 },
  client: { free: 20, max: 100 },
};

export interface Throttle {
  /**
   * Reserves one attempt on every key, or throws RATE_LIMITED (with retryAfter in
   * seconds) having reserved none. Resolves to the release to call if the password was right.
   */
  reserve(keys: ThrottleKeys): Promise<() => Promise<void>>;
}

export interface ThrottleKeys {
  /** The normalised email (counted whether or not the account exists). */
  account: string;
  clientKey?: string | undefined;
}

/** A counter name: a prefix and a SHA-256, so the store never sees the email or the address. */
export const keyOf = (kind: string, value: string): string =>
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
  const releaseAll = async (keys: readonly string[]) => {
    const now = clock.now();
    for (const key of keys) await store.releaseAttempt(key, now, windowMs);
  };
  return {
    async reserve(keys) {
      const now = clock.now();
      const taken: string[] = [];
      for (const [key, limits] of entries(keys)) {
        const result = await store.reserveAttempt({ key, nowMs: now, windowMs, ...limits });
        if (!result.ok) {
          // The other keys' slots were not used: an attempt refused is not a guess.
          await releaseAll(taken);
          throw new AuthError('RATE_LIMITED', 'Too many failed attempts; try again later.', {
            retryAfter: Math.max(1, Math.ceil((result.retryAt - now) / 1000)),
          });
        }
        taken.push(key);
      }
      return () => releaseAll(taken);
    },
  };
}
