import type { Clock } from '../clock.js';
import { AuthError } from '../errors.js';
import type { RevocationEvent } from '../revocation/events.js';
import type { Auth } from '../sessions/types.js';
import type { AccessTokenClaims } from '../tokens/types.js';

/** Event names as in OpenID CAEP. */
export type PushEventName = 'session-revoked' | 'credential-change' | 'token-claims-change';

/** One open event stream, as each adapter implements it. */
export interface EventSink {
  send(event: PushEventName, data: Readonly<Record<string, string | number>>): void;
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
  /** Told +1 and -1 as streams open and close (the open-streams gauge). */
  onChange?: (delta: number) => void;
}

export const DEFAULT_MAX_STREAMS_PER_SESSION = 5;
export const DEFAULT_MAX_STREAMS_PER_USER = 20;
/**
 * How long a stream closed for a newer one asks its client to wait before reconnecting:
 * with more tabs than the cap, an immediate reconnect would close the next oldest, and so
 * on every couple of seconds. The tabs of one browser share sign-outs among themselves.
 */
export const REPLACED_RETRY_MS = 60_000;

interface Stream {
  sid: string;
  sub: string;
  sink: EventSink;
  timer?: ReturnType<typeof setTimeout>;
}

const MAX_TIMER = 2_147_483_647;

function limit(value: number | undefined, fallback: number, name: string): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be an integer >= 1.`);
  return n;
}

/** Streams grouped by a key (sid or sub), oldest first (Set keeps insertion order). */
class Index {
  readonly #groups = new Map<string, Set<Stream>>();
  add(key: string, s: Stream): Set<Stream> {
    let group = this.#groups.get(key);
    if (group === undefined) {
      group = new Set();
      this.#groups.set(key, group);
    }
    group.add(s);
    return group;
  }
  delete(key: string, s: Stream): void {
    const group = this.#groups.get(key);
    if (group === undefined) return;
    group.delete(s);
    if (group.size === 0) this.#groups.delete(key);
  }
  get(key: string): readonly Stream[] {
    return [...(this.#groups.get(key) ?? [])];
  }
}

/**
 * Turns applied revocation events into pushes to this instance's open streams, then
 * closes the streams of ended sessions. A stream also closes when the access token it
 * was opened with expires, so the client reconnects with a fresh one. No event carries
 * a token. One access token can open streams without end, so each session and each user
 * holds a bounded number: opening one more closes the oldest.
 */
export function createEventHub(auth: Auth, clock: Clock, options: EventHubOptions = {}): EventHub {
  const maxPerSession = limit(
    options.maxPerSession,
    DEFAULT_MAX_STREAMS_PER_SESSION,
    'maxStreamsPerSession',
  );
  const maxPerUser = limit(options.maxPerUser, DEFAULT_MAX_STREAMS_PER_USER, 'maxStreamsPerUser');
  const onChange = options.onChange;
  const streams = new Set<Stream>();
  const bySid = new Index();
  const bySub = new Index();
  const recent: string[] = [];

  /** Forgets a stream; false when it was already gone. */
  const drop = (s: Stream): boolean => {
    if (!streams.delete(s)) return false;
    bySid.delete(s.sid, s);
    bySub.delete(s.sub, s);
    clearTimeout(s.timer);
    onChange?.(-1);
    return true;
  };
  const end = (s: Stream, retryMs?: number): void => {
    if (!drop(s)) return;
    if (retryMs === undefined) s.sink.close();
    else s.sink.close(retryMs);
  };
  const revoke = (s: Stream, reason: string): void => {
    s.sink.send('session-revoked', { sid: s.sid, reason });
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
      case 'global':
        for (const s of [...streams]) revoke(s, 'global');
        break;
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
      const delay = Math.min(MAX_TIMER, Math.max(0, claims.exp * 1000 - clock.now()));
      const stream: Stream = { sid: claims.sid, sub: claims.sub, sink };
      stream.timer = setTimeout(() => end(stream), delay);
      stream.timer.unref?.();
      streams.add(stream);
      bySid.add(stream.sid, stream);
      bySub.add(stream.sub, stream);
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
    },
  };
}
