import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { AuthError } from '../../src/errors.js';
import {
  createEventHub,
  type EventHubOptions,
  type EventSink,
  MAX_TICK_MS,
} from '../../src/http/events.js';
import type { RevocationEvent } from '../../src/revocation/events.js';
import type { Auth } from '../../src/sessions/types.js';
import type { AccessTokenClaims } from '../../src/tokens/types.js';

// The hub's one timer at scale: heartbeats spread over the interval, expiries by tick,
// events that touch only the streams they concern. Timers and performance.now() are fake,
// so every tick is counted, not sampled.

const claims = (sid: string, sub: string, expS: number): AccessTokenClaims => ({
  iss: 'i',
  aud: 'a',
  sub,
  sid,
  jti: `j${sid}`,
  iat: 0,
  exp: expS,
  auth_time: 0,
  roles: [],
});

class CountingSink implements EventSink {
  /** Heartbeats of every sink. */
  static beats = 0;
  beats = 0;
  /** When (fake ms) each heartbeat came. */
  readonly beatAt: number[] = [];
  readonly sent: string[] = [];
  closedAt: number | undefined;
  send(event: string): void {
    this.sent.push(event);
  }
  heartbeat(): void {
    this.beats++;
    CountingSink.beats++;
    this.beatAt.push(performance.now());
  }
  close(): void {
    this.closedAt = performance.now();
  }
}

function setup(options: EventHubOptions = {}) {
  let emit: (event: RevocationEvent) => void = () => {};
  const revoked = new Set<string>();
  const auth = {
    onRevocation: (listener: (e: RevocationEvent) => void) => {
      emit = listener;
      return () => {};
    },
    verify: (token: string) => {
      if (revoked.has(token))
        throw new AuthError('TOKEN_REVOKED', 'revoked', { reason: 'session' });
    },
  } as unknown as Auth;
  const clock = manualClock(0);
  const hub = createEventHub(auth, clock, options);
  return { hub, clock, emit: (e: RevocationEvent) => emit(e) };
}

describe('event hub at scale', () => {
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'],
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('one timer for every stream, none once they are gone', () => {
    const { hub } = setup();
    expect(vi.getTimerCount()).toBe(0);
    const removes = Array.from({ length: 1000 }, (_, i) =>
      hub.add(claims(`s${i}`, `u${i % 100}`, 3600), new CountingSink(), 'token'),
    );
    expect(vi.getTimerCount()).toBe(1);
    for (const remove of removes) remove();
    expect(vi.getTimerCount()).toBe(0);
    hub.add(claims('s', 'u', 3600), new CountingSink(), 'token');
    expect(vi.getTimerCount()).toBe(1);
    hub.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('spreads heartbeats evenly over the interval, even for streams opened in one burst', () => {
    const heartbeatMs = 15_000;
    const slots = Math.ceil(heartbeatMs / MAX_TICK_MS);
    const { hub } = setup({ heartbeatMs, maxPerSession: 5, maxPerUser: 20 });
    const sinks = Array.from({ length: 10_000 }, () => new CountingSink());
    sinks.forEach((sink, i) => {
      hub.add(claims(`s${Math.floor(i / 5)}`, `u${Math.floor(i / 20)}`, 3600), sink, 'token');
    });
    const perTick: number[] = [];
    for (let t = 0; t < 3 * slots; t++) {
      const before = CountingSink.beats;
      vi.advanceTimersByTime(heartbeatMs / slots);
      perTick.push(CountingSink.beats - before);
    }
    // Every stream beats once per interval, and each tick carries 1/slots of them.
    for (const sink of sinks) expect(sink.beats).toBe(3);
    expect(Math.max(...perTick)).toBe(Math.ceil(sinks.length / slots));
    expect(Math.min(...perTick)).toBe(Math.floor(sinks.length / slots));
    // The gap between one stream's beats is the interval.
    for (const sink of sinks.slice(0, 50)) {
      expect(sink.beatAt[1]! - sink.beatAt[0]!).toBeCloseTo(heartbeatMs, 5);
    }
    hub.close();
  });

  it('a short interval still beats every stream', () => {
    const { hub } = setup({ heartbeatMs: 40 });
    const sink = new CountingSink();
    hub.add(claims('s', 'u', 3600), sink, 'token');
    vi.advanceTimersByTime(400);
    expect(sink.beats).toBe(10);
    expect(() => setup({ heartbeatMs: 0 })).toThrow(RangeError);
    expect(() => setup({ heartbeatMs: 2.5 })).toThrow(RangeError);
    hub.close();
  });

  it('closes each stream once its token expires, never before, at most one tick after', () => {
    const { hub, clock } = setup({ heartbeatMs: 15_000 });
    clock.set(1_000_000);
    const lifetimes = [1, 2, 7, 60, 61, 900];
    const sinks = lifetimes.map((seconds, i) => {
      const sink = new CountingSink();
      hub.add(claims(`s${i}`, `u${i}`, 1000 + seconds), sink, 'token');
      return sink;
    });
    const start = performance.now();
    vi.advanceTimersByTime(901_000);
    lifetimes.forEach((seconds, i) => {
      const closedAfter = sinks[i]!.closedAt! - start;
      expect(closedAfter).toBeGreaterThanOrEqual(seconds * 1000);
      expect(closedAfter).toBeLessThanOrEqual(seconds * 1000 + MAX_TICK_MS);
    });
    expect(hub.size()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a token already expired by the clock closes at the next tick', () => {
    const { hub, clock } = setup({ heartbeatMs: 1000 });
    clock.set(10_000_000);
    const late = new CountingSink();
    hub.add(claims('late', 'u', 9000), late, 'token');
    expect(late.closedAt).toBeUndefined();
    vi.advanceTimersByTime(MAX_TICK_MS);
    expect(late.closedAt).toBeDefined();
    expect(hub.size()).toBe(0);
  });

  it('an event for one user touches that user’s streams only, however many are open', () => {
    const { hub, emit } = setup();
    const sinks = Array.from({ length: 10_000 }, () => new CountingSink());
    sinks.forEach((sink, i) => {
      hub.add(claims(`s${Math.floor(i / 5)}`, `u${Math.floor(i / 20)}`, 3600), sink, 'token');
    });
    // Count every sink call, not just the expected ones.
    let touched = 0;
    for (const sink of sinks) {
      const send = sink.send.bind(sink);
      const close = sink.close.bind(sink);
      sink.send = (e) => {
        touched++;
        send(e);
      };
      sink.close = () => {
        touched++;
        close();
      };
    }
    emit({ kind: 'user', sub: 'u42', at: 1, scope: 'sessions', cause: 'logout-all' });
    expect(touched).toBe(40); // 20 streams: one event and one close each
    const mine = sinks.slice(42 * 20, 43 * 20);
    for (const sink of mine) expect(sink.sent).toEqual(['session-revoked']);
    expect(hub.size()).toBe(10_000 - 20);
    emit({ kind: 'session', sid: 's7', sub: 'u1', at: 2, cause: 'logout' });
    expect(touched).toBe(50);
    emit({ kind: 'user', sub: 'u3', at: 3, scope: 'tokens', cause: 'roles' });
    expect(touched).toBe(70);
    expect(hub.size()).toBe(10_000 - 25);
    emit({ kind: 'global', at: 4 });
    expect(hub.size()).toBe(0);
    expect(sinks.every((s) => s.closedAt !== undefined)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});
