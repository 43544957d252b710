import type { RevocationEvent } from '../revocation/events.js';

export interface FeedHandlers {
  /** Each event, in publish order. Applying an event twice must be harmless. */
  event(event: RevocationEvent): void;
  /**
   * The feed cannot promise that nothing was missed (a stream deleted, trimmed past the
   * last applied entry, a restarted Redis): rebuild the revocation list from the store.
   */
  lost?(): void;
  /**
   * The live revocations from the store, for a feed whose shared log was lost: the feed
   * re-seeds the log with them, so services that verify without a store (createVerifier)
   * can load the whole live window from it again. Only instances with a store give this.
   */
  snapshot?(): Promise<readonly RevocationEvent[]>;
}

/**
 * Carries revocation events to every instance, in order. The store is the source of
 * truth; a feed only makes other instances learn of a revocation quickly.
 */
export interface RevocationFeed {
  /** Sends an event to every subscriber of every instance (this one included). */
  publish(event: RevocationEvent): Promise<void>;
  subscribe(handlers: FeedHandlers): () => void;
  /** Starts receiving; resolves once caught up with everything already published. */
  start(): Promise<void>;
  /**
   * When this instance was last known to have applied every published event (ms), so
   * the verifier can fail closed past `maxStaleness`. An in-process feed is always current.
   */
  confirmedAt(): number;
  close(): Promise<void>;
}
