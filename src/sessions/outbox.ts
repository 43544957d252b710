import type { RevocationFeed } from '../feeds/port.js';
import type { LoggedRevocation, Store } from '../stores/port.js';
import { liveFrom } from '../stores/rules.js';

/**
 * The store's revocation log is the outbox; a shared feed is only its delivery. Every auth
 * instance, on start and then on each catch-up tick, reads the log past what it has already
 * checked, asks the feed which of those entries it lacks (a publisher that crashed between
 * commit and publish, or could not reach Redis), appends them, and certifies the feed
 * complete up to the moment it began reading. Verify-only services trust their feed only
 * up to the latest certificate, so a revocation can never be committed and then silently
 * missing from every verifier: it is re-published, or they fail closed.
 */
export interface Outbox {
  /** One repair-and-certify pass; resolves to what it did (tests and metrics read it). */
  round(): Promise<OutboxRound>;
  /** Forget what was checked: the feed was lost or restarted. */
  reset(): void;
}

export interface OutboxRound {
  checked: number;
  republished: number;
  certified: boolean;
  full: boolean;
}

export interface OutboxOptions {
  store: () => Store;
  feed: RevocationFeed;
  now: () => number;
  /** How far back an entry can still reject a token (ms). */
  windowMs: number;
  /** The catch-up tick (ms): a certificate younger than half of it is not renewed. */
  tickMs: number;
}

/** A full check of the live window now and then, besides the incremental ones. */
const FULL_CHECK_EVERY_MS = 30_000;
const PAGE = 1000;

export function createOutbox(options: OutboxOptions): Outbox {
  const { feed } = options;
  /** Every log entry up to this seq was found in the feed during `epoch`. */
  let checkedSeq = 0;
  let epoch: string | undefined;
  let lastFullAt = Number.NEGATIVE_INFINITY;
  const idle: OutboxRound = { checked: 0, republished: 0, certified: false, full: false };

  const readPastChecked = async (
    startedAt: number,
  ): Promise<{ entries: LoggedRevocation[]; seq: number }> => {
    const store = options.store();
    const live = (entry: LoggedRevocation) => liveFrom(entry.event) >= startedAt - options.windowMs;
    const entries: LoggedRevocation[] = [];
    let seq = checkedSeq;
    for (;;) {
      const page = await store.revocationsSince(seq, PAGE);
      for (const entry of page) {
        seq = Math.max(seq, entry.seq);
        if (live(entry)) entries.push(entry);
      }
      if (page.length < PAGE) return { entries, seq };
    }
  };

  const readLiveWindow = async (
    startedAt: number,
  ): Promise<{ entries: LoggedRevocation[]; seq: number }> => {
    const store = options.store();
    // The end of the log first: an entry committed after it is read by the next round.
    const seq = await store.latestRevocationSeq();
    const entries = (await store.liveRevocations(startedAt, options.windowMs)).filter(
      (entry) => entry.seq <= seq,
    );
    return { entries, seq };
  };

  const round = async (forceFull: boolean): Promise<OutboxRound> => {
    const outbox = feed.outbox;
    if (outbox === undefined) return idle;
    // Everything committed before this moment is in what the reads below return (the
    // stores assign seq in commit order), which is what the certificate vouches for.
    const startedAt = options.now();
    const full = forceFull || epoch === undefined || startedAt - lastFullAt >= FULL_CHECK_EVERY_MS;
    const { entries, seq } = full
      ? await readLiveWindow(startedAt)
      : await readPastChecked(startedAt);
    const found = await outbox.missing(entries.map((entry) => entry.seq));
    // A restarted server may have lost what an earlier round found there.
    if (!full && found.epoch !== epoch) return round(true);
    const absent = new Set(found.missing);
    const repair = entries.filter((entry) => absent.has(entry.seq));
    const fresh = (feed.certifiedAt?.() ?? 0) >= startedAt - options.tickMs / 2;
    let certified = false;
    if (repair.length > 0 || !fresh) {
      const outcome = await outbox.certify(repair, startedAt, found.epoch);
      if (outcome !== 'certified') {
        // The stream is being re-seeded, or the server restarted under us: check it all again.
        epoch = undefined;
        return { checked: entries.length, republished: 0, certified: false, full };
      }
      certified = true;
    }
    epoch = found.epoch;
    checkedSeq = seq;
    if (full) lastFullAt = startedAt;
    return { checked: entries.length, republished: repair.length, certified, full };
  };

  return {
    round: () => round(false),
    reset() {
      epoch = undefined;
      checkedSeq = 0;
    },
  };
}
