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
  close(): void;
}

export interface EventHub {
  /**
   * Registers a stream opened with `token` (already verified into `claims`); returns the
   * function that removes it. The token is verified once more after registration: a
   * revocation applied between the first check and now would otherwise reach no stream.
   */
  add(claims: AccessTokenClaims, sink: EventSink, token: string): () => void;
  size(): number;
  /** Closes every stream and stops listening. */
  close(): void;
}

interface Stream {
  sid: string;
  sub: string;
  sink: EventSink;
  timer?: ReturnType<typeof setTimeout>;
}

const MAX_TIMER = 2_147_483_647;

/**
 * Turns applied revocation events into pushes to this instance's open streams, then
 * closes the streams of ended sessions. A stream also closes when the access token it
 * was opened with expires, so the client reconnects with a fresh one. No event carries
 * a token.
 */
export function createEventHub(auth: Auth, clock: Clock): EventHub {
  const streams = new Set<Stream>();
  const recent: string[] = [];

  const end = (s: Stream): void => {
    if (!streams.delete(s)) return;
    clearTimeout(s.timer);
    s.sink.close();
  };
  const revoke = (s: Stream, reason: string): void => {
    s.sink.send('session-revoked', { sid: s.sid, reason });
    end(s);
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
    for (const s of [...streams]) {
      switch (event.kind) {
        case 'global':
          revoke(s, 'global');
          break;
        case 'session':
          if (s.sid === event.sid) revoke(s, event.cause);
          break;
        case 'user':
          if (s.sub !== event.sub) break;
          if (event.scope === 'tokens') {
            s.sink.send('token-claims-change', { sid: s.sid, cause: event.cause });
          } else if (s.sid === event.exceptSid) {
            if (event.cause === 'password') {
              s.sink.send('credential-change', { sid: s.sid, cause: event.cause });
            }
          } else {
            revoke(s, event.cause);
          }
          break;
        case 'token':
          break;
      }
    }
  });

  return {
    add(claims, sink, token) {
      const delay = Math.min(MAX_TIMER, Math.max(0, claims.exp * 1000 - clock.now()));
      const stream: Stream = { sid: claims.sid, sub: claims.sub, sink };
      stream.timer = setTimeout(() => end(stream), delay);
      stream.timer.unref?.();
      streams.add(stream);
      try {
        auth.verify(token);
      } catch (error) {
        if (error instanceof AuthError && error.code === 'TOKEN_REVOKED') {
          revoke(stream, error.reason ?? 'revoked');
        } else {
          end(stream);
        }
      }
      return () => {
        if (streams.delete(stream)) clearTimeout(stream.timer);
      };
    },
    size: () => streams.size,
    close() {
      unsubscribe();
      for (const s of [...streams]) end(s);
    },
  };
}
