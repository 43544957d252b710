import type { Clock } from '../clock.js';
import { AuthError } from '../errors.js';
import type { RevocationEvent } from '../revocation/events.js';
import type { Auth } from '../sessions/types.js';
import type { AccessTokenClaims } from '../tokens/types.js';

/** Event names as in OpenID CAEP. */
export type PushEventName = 'session-revoked' | 'credential-change' | 'token-claims-change';

/** One open event stream, as each adapter implements it. */
export interface EventSink {
  /**
   * Writes one event. `last` says that `close()` follows at once, so the sink may end the
   * stream with this event (one write instead of two, ten thousand times over when a global
   * event ends every stream); `close()` is called all the same.
   */
  send(event: PushEventName, data: Readonly<Record<string, string | number>>, last?: boolean): void;
  /**
   * Writes a keep-alive comment, so that proxies keep an idle stream open. The hub calls it
   * once per heartbeat interval, from one timer for all its streams.
   */
  heartbeat?(): void;
  /**
   * Ends the stream. `retryMs`, when given, asks the client to wait that long before it
   * reconnects (an SSE `retry:` field written before the end).
   */
  close(retryMs?: number): void;
}

export interface EventHub {
  /**
   * Registers a stream opened with `token` (already verified into `claims`); returns the
   * function that removes it. The token is verified once more after registration: a
   * revocation applied between the first check and now would otherwise reach no stream.
   * When the session or the user then holds more streams than allowed, the oldest close.
   */
  add(claims: AccessTokenClaims, sink: EventSink, token: string): () => void;
  size(): number;
  /** Closes every stream and stops listening. */
  close(): void;
}

export interface EventHubOptions {
  /** Open streams per session; one more closes the session's oldest. Default 5. */
  maxPerSession?: number;
  /** Open streams per user, all sessions together; same rule. Default 20. */
  maxPerUser?: number;
  /** Keep-alive comment interval of each stream, ms. Default 15 000. */
  heartbeatMs?: number;
  /** Told +1 and -1 as streams open and close (the open-streams gauge). */
  onChange?: (delta: number) => void;
}

export const DEFAULT_MAX_STREAMS_PER_SESSION = 5;
export const DEFAULT_MAX_STREAMS_PER_USER = 20;
export const DEFAULT_HEARTBEAT_MS = 15_000;
/**
 * How long a stream closed for a newer one asks its client to wait before reconnecting:
 * with more tabs than the cap, an immediate reconnect would close the next oldest, and so
 * on every couple of seconds. The tabs of one browser share sign-outs among themselves.
 */
export const REPLACED_RETRY_MS = 60_000;
/**
 * The longest turn of the hub's one timer. It bounds how late a stream closes after its
 * token expired, and how many slots the heartbeats are spread over (interval / turn).
 */
export const MAX_TICK_MS = 100;

interface Stream {
  readonly sid: string;
  readonly sub: string;
  readonly sink: EventSink;
  /** The heartbeat slot. */
  slot: number;
  /** The wheel tick at which the token has expired. */
  due: number;
}

function limit(value: number | undefined, fallback: number, name: string): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be an integer >= 1.`);
  return n;
}

/** Streams grouped by a key (sid or sub), oldest first (Set keeps insertion order). */
class Index<K> {
  readonly #groups = new Map<K, Set<Stream>>();
  add(key: K, s: Stream): void {
    let group = this.#groups.get(key);
    if (group === undefined) {
      group = new Set();
      this.#groups.set(key, group);
    }
    group.add(s);
  }
  delete(key: K, s: Stream): void {
    const group = this.#groups.get(key);
    if (group === undefined) return;
    group.delete(s);
    if (group.size === 0) this.#groups.delete(key);
  }
  clear(): void {
    this.#groups.clear();
  }
  /** A copy: the caller may close (and so remove) streams while going through it. */
  get(key: K): readonly Stream[] {
    const group = this.#groups.get(key);
    return group === undefined ? [] : [...group];
  }
}

/**
 * One timer for every stream of a hub, instead of an interval and a timeout per stream.
 * The heartbeat interval is cut into slots, one per tick; each stream beats when its slot
 * comes round, so each tick writes to 1/slots of the streams rather than every stream in
 * the same tick. Streams are dealt to the slots in turn, so a burst of reconnects (a
 * deploy, a network blip) still spreads evenly. Expiries are kept by tick as well.
 *
 * Waiting is in real (monotonic) time, as a timer would: the delay itself comes from the
 * injected clock (`exp` against `clock.now()`) when the stream is added.
 */
class Wheel {
  readonly #tickMs: number;
  readonly #slots: Index<number> = new Index();
  readonly #expiries: Index<number> = new Index();
  readonly #slotCount: number;
  readonly #origin = performance.now();
  readonly #expire: (s: Stream) => void;
  #cursor = 0;
  #dealt = 0;
  /** Expiry ticks up to this one are done. */
  #checked = 0;
  #size = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(heartbeatMs: number, expire: (s: Stream) => void) {
    this.#slotCount = Math.ceil(heartbeatMs / MAX_TICK_MS);
    this.#tickMs = heartbeatMs / this.#slotCount;
    this.#expire = expire;
  }

  #now(): number {
    return Math.floor((performance.now() - this.#origin) / this.#tickMs);
  }

  add(s: Stream, delayMs: number): void {
    if (this.#size++ === 0) {
      this.#checked = this.#now();
      this.#timer = setInterval(() => this.#tick(), this.#tickMs);
      this.#timer.unref?.();
    }
    s.slot = this.#dealt;
    this.#dealt = (this.#dealt + 1) % this.#slotCount;
    this.#slots.add(s.slot, s);
    // Never before the token has expired: tick k runs at k * tickMs or later.
    const due = Math.ceil((performance.now() - this.#origin + delayMs) / this.#tickMs);
    s.due = Math.max(this.#checked + 1, due);
    this.#expiries.add(s.due, s);
  }

  delete(s: Stream): void {
    this.#slots.delete(s.slot, s);
    this.#expiries.delete(s.due, s);
    if (--this.#size === 0) this.stop();
  }

  /** Forgets every stream (the hub ends them all). */
  clear(): void {
    this.#slots.clear();
    this.#expiries.clear();
    this.#size = 0;
    this.stop();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const now = this.#now();
    // A tick late by more than one turn (a busy loop) catches up on every expiry it passed.
    for (let k = this.#checked + 1; k <= now; k++) {
      for (const s of this.#expiries.get(k)) this.#expire(s);
    }
    this.#checked = Math.max(this.#checked, now);
    const slot = this.#cursor;
    this.#cursor = (this.#cursor + 1) % this.#slotCount;
    for (const s of this.#slots.get(slot)) s.sink.heartbeat?.();
  }
}

/**
 * Turns applied revocation events into pushes to this instance's open streams, then
 * closes the streams of ended sessions. A stream also closes when the access token it
 * was opened with expires, so the client reconnects with a fresh one. No event carries
 * a token. One access token can open streams without end, so each session and each user
 * holds a bounded number: opening one more closes the oldest.
 *
 * Streams are indexed by session and by user, so an event costs what that user's streams
 * cost, however many are open; only a global event goes through them all. One timer (a
 * {@link Wheel}) drives every stream's heartbeat and expiry.
 */
export function createEventHub(auth: Auth, clock: Clock, options: EventHubOptions = {}): EventHub {
  const maxPerSession = limit(
    options.maxPerSession,
    DEFAULT_MAX_STREAMS_PER_SESSION,
    'maxStreamsPerSession',
  );
  const maxPerUser = limit(options.maxPerUser, DEFAULT_MAX_STREAMS_PER_USER, 'maxStreamsPerUser');
  const heartbeatMs = limit(options.heartbeatMs, DEFAULT_HEARTBEAT_MS, 'heartbeatMs');
  const onChange = options.onChange;
  const streams = new Set<Stream>();
  const bySid = new Index<string>();
  const bySub = new Index<string>();
  const recent: string[] = [];

  /** Forgets a stream; false when it was already gone. */
  const drop = (s: Stream): boolean => {
    if (!streams.delete(s)) return false;
    bySid.delete(s.sid, s);
    bySub.delete(s.sub, s);
    wheel.delete(s);
    onChange?.(-1);
    return true;
  };
  const end = (s: Stream, retryMs?: number): void => {
    if (!drop(s)) return;
    if (retryMs === undefined) s.sink.close();
    else s.sink.close(retryMs);
  };
  const wheel = new Wheel(heartbeatMs, (s) => end(s));
  const revoke = (s: Stream, reason: string): void => {
    s.sink.send('session-revoked', { sid: s.sid, reason }, true);
    end(s);
  };
  /** Closes the oldest of `group` until at most `max` remain. */
  const trim = (group: readonly Stream[], max: number): void => {
    for (const s of group.slice(0, Math.max(0, group.length - max))) end(s, REPLACED_RETRY_MS);
  };

  // The same event may arrive twice (applied locally, then echoed by the feed).
  const seen = (event: RevocationEvent): boolean => {
    const key = JSON.stringify(event);
    if (recent.includes(key)) return true;
    recent.push(key);
    if (recent.length > 64) recent.shift();
    return false;
  };

  const unsubscribe = auth.onRevocation((event) => {
    if (seen(event)) return;
    switch (event.kind) {
      case 'global': {
        // Every stream ends: forget them all at once, rather than one by one from each index.
        const all = [...streams];
        streams.clear();
        bySid.clear();
        bySub.clear();
        wheel.clear();
        for (const s of all) {
          onChange?.(-1);
          s.sink.send('session-revoked', { sid: s.sid, reason: 'global' }, true);
          s.sink.close();
        }
        break;
      }
      case 'session':
        for (const s of bySid.get(event.sid)) revoke(s, event.cause);
        break;
      case 'user':
        for (const s of bySub.get(event.sub)) {
          if (event.scope === 'tokens') {
            s.sink.send('token-claims-change', { sid: s.sid, cause: event.cause });
          } else if (s.sid === event.exceptSid) {
            // The kept session has fresh tokens: its other tabs must take them up.
            if (event.cause === 'password' || event.cause === 'mfa') {
              s.sink.send('credential-change', { sid: s.sid, cause: event.cause });
            }
          } else {
            revoke(s, event.cause);
          }
        }
        break;
      case 'token':
        break;
    }
  });

  return {
    add(claims, sink, token) {
      const stream: Stream = { sid: claims.sid, sub: claims.sub, sink, slot: 0, due: 0 };
      streams.add(stream);
      bySid.add(stream.sid, stream);
      bySub.add(stream.sub, stream);
      wheel.add(stream, claims.exp * 1000 - clock.now());
      onChange?.(1);
      try {
        auth.verify(token);
      } catch (error) {
        if (error instanceof AuthError && error.code === 'TOKEN_REVOKED') {
          revoke(stream, error.reason ?? 'revoked');
        } else {
          end(stream);
        }
        return () => {};
      }
      // Only a stream that stays open may push older ones out.
      trim(bySid.get(stream.sid), maxPerSession);
      trim(bySub.get(stream.sub), maxPerUser);
      return () => {
        drop(stream);
      };
    },
    size: () => streams.size,
    close() {
      unsubscribe();
      for (const s of [...streams]) end(s);
      wheel.stop();
    },
  };
}
