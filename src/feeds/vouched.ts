import type { RevocationFeed } from './port.js';

/**
 * Up to when a feed vouches that this process has applied every revocation: read to its
 * end (`confirmedAt`) and, on a shared feed, certified complete by an auth instance.
 *
 * @example
 * ```ts
 * const stale = clock.now() - vouchedAt(feed) > maxStalenessMs;
 * ```
 */
export function vouchedAt(feed: RevocationFeed): number {
  return Math.min(feed.confirmedAt(), feed.certifiedAt?.() ?? Number.POSITIVE_INFINITY);
}
