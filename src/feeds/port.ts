import type { RevocationEvent } from '../revocation/events.js';

/**
 * What a feed calls on each subscriber: an auth instance or a verifier that applies the events
 * to its revocation list.
 */
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
  /**
   * Sends an event to every subscriber of every instance (this one included). `seq` is
   * the event's position in the store's revocation log, so the outbox can tell which
   * logged events the feed holds.
   */
  publish(event: RevocationEvent, seq?: number): Promise<void>;
  /** Adds a subscriber; returns the function that removes it. */
  subscribe(handlers: FeedHandlers): () => void;
  /** Starts receiving; resolves once caught up with everything already published. */
  start(): Promise<void>;
  /**
   * When this instance was last known to have applied every published event (ms), so
   * the verifier can fail closed past `maxStaleness`. An in-process feed is always current.
   */
  confirmedAt(): number;
  /**
   * A feed shared by processes that cannot all read the store (verify-only services) is
   * complete only as far as an auth instance has certified it: the latest certificate
   * read here says every revocation logged before that time (ms) was in the feed ahead of
   * it. Verify-only services count themselves current up to the earlier of this and
   * `confirmedAt()`, so a revocation whose publisher died before publishing makes them
   * fail closed until an auth instance re-publishes it. In-process feeds omit it.
   */
  certifiedAt?(): number;
  /**
   * True for a feed that delivers within this process only (memoryFeed): instances that
   * share a store then hear each other only through the store's log, so the feed's
   * confirmation counts only while that log is reachable.
   */
  readonly local?: boolean;
  /** Present on feeds shared between processes: how auth instances repair and certify them. */
  outbox?: FeedOutbox;
  /**
   * Stops delivering and releases what the feed opened itself; a connection the app passed in
   * stays open.
   */
  close(): Promise<void>;
}

/**
 * The outbox side of a shared feed. An auth instance reads the store's revocation log,
 * asks which entries the feed lacks (their publisher crashed, or could not reach the
 * feed), appends those, and then certifies the feed complete up to the time it started
 * reading the log. Duplicates are harmless: applying an event is a max-merge.
 */
export interface FeedOutbox {
  /**
   * Of these log seqs, the ones the feed does not hold. `epoch` names the feed's backing
   * server run: when it changes (a restart), anything checked before may be gone.
   */
  missing(seqs: readonly number[]): Promise<{ epoch: string; missing: number[] }>;
  /**
   * Appends `entries` and then a certificate for `at`, all or nothing, unless the feed's
   * epoch is no longer `epoch` or its log is gone; resolves to whether it was written.
   */
  certify(
    entries: readonly { seq: number; event: RevocationEvent }[],
    at: number,
    epoch: string,
  ): Promise<'certified' | 'epoch-changed' | 'missing'>;
}
