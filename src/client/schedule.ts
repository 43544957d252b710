/**
 * When to refresh: a quarter of the token's remaining life before it expires (at most a
 * minute early), minus up to a tenth more (at most 5 s) of random jitter so that tabs and
 * devices do not all wake at the same instant.
 *
 * @param expiresAt - When the access token expires (ms since the epoch).
 * @param now - The current time (ms).
 * @param random - A number in [0, 1), e.g. `Math.random()`, that picks the jitter.
 * @returns Milliseconds to wait; 0 when the token has expired already.
 * @example
 * ```ts
 * import { refreshDelay } from 'notbefore/client';
 *
 * const now = Date.now();
 * refreshDelay(now + 900_000, now, 0); // 840000: a minute before the token expires
 * ```
 */
export function refreshDelay(expiresAt: number, now: number, random: number): number {
  const life = expiresAt - now;
  if (life <= 0) return 0;
  const lead = Math.min(60_000, life * 0.25);
  const jitter = random * Math.min(5_000, life * 0.1);
  return Math.max(0, Math.round(life - lead - jitter));
}
