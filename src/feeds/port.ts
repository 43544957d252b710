import type { RevocationEvent } from '../revocation/events.js';

/**
 * Carries revocation events to every instance, in order. The store is the source of
 * truth; a feed only makes other instances learn of a revocation quickly.
 */
export interface RevocationFeed {
  /** Sends an event to every subscriber of every instance (this one included). */
  publish(event: RevocationEvent): Promise<void>;
  /** Calls `listener` for each event, in order; returns the unsubscribe function. */
  subscribe(listener: (event: RevocationEvent) => void): () => void;
  /**
   * When this instance was last known to have applied every published event (ms), so
   * the verifier can fail closed past `maxStaleness`. An in-process feed is always current.
   */
  confirmedAt(): number;
  close(): Promise<void>;
}
