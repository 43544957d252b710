/** The one source of time. Milliseconds since the Unix epoch. */
export interface Clock {
  /** Now, in milliseconds since the Unix epoch (what `Date.now()` returns). */
  now(): number;
}

/** The real clock (`Date.now()`): the default wherever a `clock` option is left out. */
export const systemClock: Clock = { now: () => Date.now() };

/** A {@link Clock} that moves only when a test moves it; see {@link manualClock}. */
export interface ManualClock extends Clock {
  /** Jumps to `ms` (milliseconds since the epoch), backwards too, e.g. to test clock skew. */
  set(ms: number): void;
  /** Moves time on by `ms` milliseconds: what a test does instead of sleeping. */
  advance(ms: number): void;
}

/**
 * A clock that moves only when told to: tests advance it instead of sleeping.
 *
 * @param startMs - Where the clock starts (ms since the epoch); default 2026-01-01T00:00:00Z.
 * @example
 * ```ts
 * import { createAuth, manualClock } from 'notbefore';
 *
 * const clock = manualClock();
 * const auth = createAuth({ clock });
 * const { accessToken } = await auth.login({ email, password });
 * clock.advance(16 * 60_000); // past the 15-minute access-token lifetime, without waiting
 * auth.verify(accessToken); // throws AuthError TOKEN_EXPIRED
 * ```
 */
export function manualClock(startMs = Date.UTC(2026, 0, 1)): ManualClock {
  let current = startMs;
  return {
    now: () => current,
    set: (ms) => {
      current = ms;
    },
    advance: (ms) => {
      current += ms;
    },
  };
}
