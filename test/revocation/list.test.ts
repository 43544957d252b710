import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { AuthError } from '../../src/errors.js';
import type { RevocationEvent } from '../../src/revocation/events.js';
import { RevocationList } from '../../src/revocation/list.js';

const T0 = Date.UTC(2026, 0, 1);
const LIFETIME = 900; // s
const SKEW = 30; // s
const WINDOW = (LIFETIME + SKEW) * 1000;

function setup(start = T0) {
  const clock = manualClock(start);
  const list = new RevocationList({ clock, maxTokenLifetime: LIFETIME, clockSkew: SKEW });
  return { clock, list };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof AuthError ? error.code : 'not an AuthError';
  }
  return undefined;
}

describe('RevocationList rules', () => {
  it('accepts every token of an empty list', () => {
    const { list } = setup();
    expect(list.check('u1', 's1', 'j1', T0)).toBeNull();
    expect(list.stats()).toMatchObject({ global: 0, users: 0, sessions: 0, tokens: 0, total: 0 });
  });

  it('global: rejects tokens issued before the cutoff, of every user', () => {
    const { list } = setup();
    expect(list.apply({ kind: 'global', at: T0 })).toBe(true);
    expect(list.check('u1', 's1', 'j1', T0 - 1)).toBe('global');
    expect(list.check('u2', 's2', 'j2', T0 - 60_000)).toBe('global');
    expect(list.check('u1', 's1', 'j1', T0)).toBeNull();
    expect(list.check('u1', 's1', 'j1', T0 + 1)).toBeNull();
  });

  it("user scope 'sessions': reason user, only for that user and only before the cutoff", () => {
    const { list } = setup();
    list.apply({ kind: 'user', sub: 'u1', at: T0, scope: 'sessions', cause: 'password' });
    expect(list.check('u1', 's1', 'j1', T0 - 1)).toBe('user');
    expect(list.check('u1', 's1', 'j1', T0)).toBeNull();
    expect(list.check('u2', 's2', 'j2', T0 - 1)).toBeNull();
  });

  it("user scope 'tokens': reason claims (a refresh will succeed)", () => {
    const { list } = setup();
    list.apply({ kind: 'user', sub: 'u1', at: T0, scope: 'tokens', cause: 'roles' });
    expect(list.check('u1', 's1', 'j1', T0 - 1)).toBe('claims');
    expect(list.check('u1', 's1', 'j1', T0)).toBeNull();
    expect(list.check('u2', 's1', 'j1', T0 - 1)).toBeNull();
  });

  it('session: rejects every token of the session whatever its iat', () => {
    const { list } = setup();
    list.apply({ kind: 'session', sid: 's1', sub: 'u1', at: T0, cause: 'logout' });
    expect(list.check('u1', 's1', 'j1', T0 - 1000)).toBe('session');
    expect(list.check('u1', 's1', 'j2', T0 + 1000)).toBe('session');
    expect(list.check('u1', 's2', 'j3', T0 - 1000)).toBeNull();
    expect(list.isSessionRevoked('s1')).toBe(true);
    expect(list.isSessionRevoked('s2')).toBe(false);
  });

  it('token: rejects that jti only', () => {
    const { list } = setup();
    list.apply({ kind: 'token', jti: 'j1', exp: T0 + 600_000, at: T0 });
    expect(list.check('u1', 's1', 'j1', T0 + 5)).toBe('token');
    expect(list.check('u1', 's1', 'j2', T0 - 5)).toBeNull();
  });

  it('ignores exceptSid for the check: the kept session gets tokens minted after the cutoff', () => {
    const { list } = setup();
    list.apply({
      kind: 'user',
      sub: 'u1',
      at: T0,
      scope: 'sessions',
      cause: 'password',
      exceptSid: 's1',
    });
    expect(list.check('u1', 's1', 'j1', T0 - 1)).toBe('user');
    expect(list.check('u1', 's1', 'j2', list.cutoffFor('u1'))).toBeNull();
  });
});

describe('reason precedence: global > user > session > token > claims', () => {
  const all: RevocationEvent[] = [
    { kind: 'global', at: T0 },
    { kind: 'user', sub: 'u1', at: T0, scope: 'sessions', cause: 'logout-all' },
    { kind: 'session', sid: 's1', sub: 'u1', at: T0, cause: 'logout' },
    { kind: 'token', jti: 'j1', exp: T0 + 600_000, at: T0 },
    { kind: 'user', sub: 'u1', at: T0, scope: 'tokens', cause: 'roles' },
  ];
  const order = ['global', 'user', 'session', 'token', 'claims'] as const;

  it('reports the strongest rule that applies, for every subset of rules', () => {
    for (let mask = 1; mask < 1 << all.length; mask++) {
      const { list } = setup();
      for (let k = 0; k < all.length; k++) if (mask & (1 << k)) list.apply(all[k]!);
      const expected = order.find((_, k) => mask & (1 << k));
      expect(list.check('u1', 's1', 'j1', T0 - 1)).toBe(expected);
    }
  });

  it('a session or token rule outranks claims even when the iat passes the cutoffs', () => {
    const { list } = setup();
    list.apply({ kind: 'user', sub: 'u1', at: T0, scope: 'tokens', cause: 'roles' });
    list.apply({ kind: 'token', jti: 'j1', exp: T0 + 1000, at: T0 });
    expect(list.check('u1', 's1', 'j1', T0 - 1)).toBe('token');
    expect(list.check('u1', 's1', 'j1', T0 + 1)).toBe('token');
    expect(list.check('u1', 's1', 'j2', T0 - 1)).toBe('claims');
  });
});

describe('same-millisecond ordering of iat against a cutoff', () => {
  it('a token minted at the cutoff millisecond survives; one a millisecond earlier does not', () => {
    const { list } = setup();
    const at = T0 + 123;
    list.apply({ kind: 'user', sub: 'u1', at, scope: 'sessions', cause: 'password' });
    expect(list.cutoffFor('u1')).toBe(at);
    expect(list.check('u1', 's9', 'j9', at)).toBeNull();
    expect(list.check('u1', 's9', 'j9', at - 1)).toBe('user');
  });

  it('orders within one second (iat in ms, not s)', () => {
    const { list } = setup();
    const second = T0 + 5000;
    list.apply({ kind: 'user', sub: 'u1', at: second + 400, scope: 'tokens', cause: 'roles' });
    expect(list.check('u1', 's', 'j', second + 399)).toBe('claims');
    expect(list.check('u1', 's', 'j', second + 400)).toBeNull();
    expect(list.check('u1', 's', 'j', second + 999)).toBeNull();
  });

  it('cutoffFor is the max of the global and both user cutoffs, 0 when none', () => {
    const { list } = setup();
    expect(list.cutoffFor('u1')).toBe(0);
    list.apply({ kind: 'global', at: T0 + 10 });
    expect(list.cutoffFor('u1')).toBe(T0 + 10);
    list.apply({ kind: 'user', sub: 'u1', at: T0 + 30, scope: 'tokens', cause: 'roles' });
    list.apply({ kind: 'user', sub: 'u1', at: T0 + 20, scope: 'sessions', cause: 'password' });
    expect(list.cutoffFor('u1')).toBe(T0 + 30);
    expect(list.cutoffFor('u2')).toBe(T0 + 10);
  });

  it('rounds a fractional cutoff up, never toward accepting', () => {
    const { list } = setup();
    list.apply({ kind: 'global', at: T0 + 0.5 });
    expect(list.check('u', 's', 'j', T0)).toBe('global');
    expect(list.check('u', 's', 'j', T0 + 1)).toBeNull();
  });
});

describe('max-merge and idempotence', () => {
  it('a cutoff only moves forward', () => {
    const { list } = setup();
    expect(
      list.apply({ kind: 'user', sub: 'u1', at: T0 + 50, scope: 'sessions', cause: 'admin' }),
    ).toBe(true);
    expect(
      list.apply({ kind: 'user', sub: 'u1', at: T0 + 10, scope: 'sessions', cause: 'admin' }),
    ).toBe(false);
    expect(list.check('u1', 's', 'j', T0 + 49)).toBe('user');
    expect(list.apply({ kind: 'global', at: T0 + 5 })).toBe(true);
    expect(list.apply({ kind: 'global', at: T0 + 1 })).toBe(false);
    expect(list.check('u2', 's', 'j', T0 + 4)).toBe('global');
  });

  it('applying an event twice changes nothing the second time', () => {
    const { list } = setup();
    const events: RevocationEvent[] = [
      { kind: 'global', at: T0 },
      { kind: 'user', sub: 'u1', at: T0, scope: 'tokens', cause: 'roles' },
      { kind: 'session', sid: 's1', sub: 'u1', at: T0, cause: 'reuse' },
      { kind: 'token', jti: 'j1', exp: T0 + 1000, at: T0 },
    ];
    expect(list.applyAll(events)).toBe(4);
    const before = list.snapshot();
    expect(list.applyAll(events)).toBe(0);
    expect(list.snapshot()).toEqual(before);
  });

  const ids = (prefix: string) => fc.constantFrom(...[0, 1, 2, 3].map((i) => `${prefix}${i}`));
  const time = fc.integer({ min: T0 - 60_000, max: T0 + 60_000 });
  const event: fc.Arbitrary<RevocationEvent> = fc.oneof(
    fc.record({ kind: fc.constant('global' as const), at: time }),
    fc.record({
      kind: fc.constant('user' as const),
      sub: ids('u'),
      at: time,
      scope: fc.constantFrom('tokens' as const, 'sessions' as const),
      cause: fc.constant('admin' as const),
    }),
    fc.record({
      kind: fc.constant('session' as const),
      sid: ids('s'),
      sub: ids('u'),
      at: time,
      cause: fc.constant('logout' as const),
    }),
    fc.record({
      kind: fc.constant('token' as const),
      jti: ids('j'),
      exp: fc.integer({ min: T0 + 1, max: T0 + 900_000 }),
      at: time,
    }),
  );

  function results(list: RevocationList): (string | null)[] {
    const out: (string | null)[] = [];
    for (let u = 0; u < 4; u++) {
      for (let s = 0; s < 4; s++) {
        for (let j = 0; j < 4; j++) {
          for (const iat of [
            T0 - 70_000,
            T0 - 30_000,
            T0 - 1,
            T0,
            T0 + 1,
            T0 + 30_000,
            T0 + 61_000,
          ]) {
            out.push(list.check(`u${u}`, `s${s}`, `j${j}`, iat));
          }
        }
      }
      out.push(String(list.cutoffFor(`u${u}`)));
    }
    return out;
  }

  it('any permutation with duplicates of a set of events gives the same state (fast-check)', () => {
    fc.assert(
      fc.property(
        fc
          .array(event, { minLength: 1, maxLength: 25 })
          .chain((events) =>
            fc.tuple(
              fc.constant(events),
              fc.shuffledSubarray(events, { minLength: 0, maxLength: events.length }),
              fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
            ),
          ),
        ([events, dupes, shuffled]) => {
          const a = setup().list;
          a.applyAll(events);
          const b = setup().list;
          b.applyAll([...shuffled, ...dupes]);
          b.applyAll(dupes);
          expect(results(b)).toEqual(results(a));
          expect(b.stats()).toEqual(a.stats());
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('pruning (memory is O(live revocations))', () => {
  it('keeps an entry for the whole window, then drops it', () => {
    const { clock, list } = setup();
    list.apply({ kind: 'user', sub: 'u1', at: T0, scope: 'sessions', cause: 'logout-all' });
    list.apply({ kind: 'session', sid: 's1', sub: 'u1', at: T0, cause: 'logout' });
    list.apply({ kind: 'global', at: T0 });
    clock.advance(WINDOW - 1);
    expect(list.prune()).toBe(0);
    expect(list.check('u1', 's1', 'j', T0 - 1)).toBe('global');
    expect(list.stats().total).toBe(3);
    clock.advance(1);
    expect(list.prune()).toBe(3);
    expect(list.stats().total).toBe(0);
    expect(list.check('u1', 's1', 'j', T0 - 1)).toBeNull();
  });

  it('keeps a revoked jti until its exp + skew', () => {
    const { clock, list } = setup();
    const exp = T0 + 60_000;
    list.apply({ kind: 'token', jti: 'j1', exp, at: T0 });
    clock.set(exp + SKEW * 1000 - 1);
    list.prune();
    expect(list.check('u', 's', 'j1', T0)).toBe('token');
    clock.set(exp + SKEW * 1000);
    expect(list.prune()).toBe(1);
    expect(list.check('u', 's', 'j1', T0)).toBeNull();
  });

  it('does not store an event that can no longer reject anything', () => {
    const { list } = setup();
    expect(
      list.apply({ kind: 'session', sid: 's1', sub: 'u', at: T0 - WINDOW, cause: 'expired' }),
    ).toBe(false);
    expect(list.apply({ kind: 'token', jti: 'j1', exp: T0 - SKEW * 1000, at: T0 - 1e6 })).toBe(
      false,
    );
    expect(list.apply({ kind: 'global', at: T0 - WINDOW })).toBe(false);
    expect(list.stats().total).toBe(0);
  });

  it('stats().total returns to 0 once the window has passed, with no explicit prune', () => {
    const { clock, list } = setup();
    for (let i = 0; i < 5000; i++) {
      list.apply({ kind: 'session', sid: `s${i}`, sub: `u${i}`, at: clock.now(), cause: 'logout' });
      list.apply({ kind: 'token', jti: `j${i}`, exp: clock.now() + 60_000, at: clock.now() });
      list.apply({ kind: 'user', sub: `u${i}`, at: clock.now(), scope: 'tokens', cause: 'roles' });
      clock.advance(20);
    }
    const full = list.stats();
    expect(full.total).toBe(15_000);
    clock.advance(WINDOW);
    const empty = list.stats();
    expect(empty.total).toBe(0);
    // The tables shrank back: memory follows the live count, not the peak.
    expect(empty.bytes).toBeLessThan(full.bytes / 50);
  });

  it('a steady stream stays bounded by the entries of one window (amortised on apply)', () => {
    const { clock, list } = setup();
    const perWindow = 2000;
    const step = Math.ceil(WINDOW / perWindow);
    let peak = 0;
    for (let i = 0; i < perWindow * 6; i++) {
      list.apply({ kind: 'session', sid: `s${i}`, sub: 'u', at: clock.now(), cause: 'logout' });
      clock.advance(step);
      if (i % 500 === 0) peak = Math.max(peak, list.stats().sessions);
    }
    // At most one window's entries plus one sweep interval (window / 16) of late ones.
    expect(peak).toBeLessThanOrEqual(perWindow * (1 + 1 / 16) + 2);
    expect(peak).toBeGreaterThanOrEqual(perWindow - 2);
  });

  it('handles a clock set far backwards or forwards (values outside the compact range)', () => {
    const { clock, list } = setup();
    const far = T0 + 40 * 86_400_000;
    list.apply({ kind: 'user', sub: 'u1', at: far, scope: 'sessions', cause: 'admin' });
    list.apply({ kind: 'token', jti: 'j1', exp: far + 1000, at: T0 });
    expect(list.check('u1', 's', 'j', far - 1)).toBe('user');
    expect(list.check('u1', 's', 'j', far)).toBeNull();
    expect(list.check('u2', 's', 'j1', far)).toBe('token');
    clock.set(far);
    list.prune();
    expect(list.check('u1', 's', 'j', far - 1)).toBe('user');
    expect(list.cutoffFor('u1')).toBe(far);
  });
});

describe('snapshot', () => {
  it('loads into a new list with the same check results, through JSON', () => {
    const { clock, list } = setup();
    list.applyAll([
      { kind: 'global', at: T0 - 5 },
      { kind: 'user', sub: 'u1', at: T0, scope: 'sessions', cause: 'password' },
      { kind: 'user', sub: 'u2', at: T0 + 7, scope: 'tokens', cause: 'roles' },
      { kind: 'session', sid: 's1', sub: 'u3', at: T0, cause: 'logout' },
      { kind: 'token', jti: 'j1', exp: T0 + 100_000, at: T0 },
    ]);
    const snap = JSON.parse(JSON.stringify(list.snapshot()));
    const copy = RevocationList.fromSnapshot(snap, {
      clock,
      maxTokenLifetime: LIFETIME,
      clockSkew: SKEW,
    });
    for (const [sub, sid, jti, iat] of [
      ['u9', 's9', 'j9', T0 - 6],
      ['u1', 's9', 'j9', T0 - 1],
      ['u1', 's9', 'j9', T0],
      ['u2', 's9', 'j9', T0 + 6],
      ['u3', 's1', 'j9', T0 + 60],
      ['u4', 's4', 'j1', T0 + 60],
      ['u4', 's4', 'j4', T0 + 60],
    ] as const) {
      expect(copy.check(sub, sid, jti, iat)).toBe(list.check(sub, sid, jti, iat));
    }
    expect(copy.stats()).toEqual(list.stats());
    expect(copy.cutoffFor('u2')).toBe(T0 + 7);
    // Loading again is a max-merge: nothing changes.
    expect(copy.load(snap)).toBe(0);
  });

  it('leaves out entries that expired before loading', () => {
    const { clock, list } = setup();
    list.apply({ kind: 'session', sid: 's1', sub: 'u', at: T0, cause: 'logout' });
    const snap = list.snapshot();
    clock.advance(WINDOW);
    const copy = RevocationList.fromSnapshot(snap, {
      clock,
      maxTokenLifetime: LIFETIME,
      clockSkew: SKEW,
    });
    expect(copy.stats().total).toBe(0);
  });

  it('rejects a malformed snapshot with VALIDATION_FAILED', () => {
    const { list } = setup();
    const good = list.snapshot();
    const bad: unknown[] = [
      null,
      { ...good, format: 'other' },
      { ...good, users: [1, 2] },
      { ...good, sessions: [1, 2, 'x'] },
      { ...good, tokens: [-1, 2, T0] },
      { ...good, tokens: [0, 0, T0] },
      { ...good, tokens: [0, 5, T0] },
      { ...good, global: 'now' },
    ];
    for (const snap of bad) {
      expect(codeOf(() => list.load(snap as never))).toBe('VALIDATION_FAILED');
    }
  });
});

describe('input validation', () => {
  it('rejects malformed events with VALIDATION_FAILED and leaves the list unchanged', () => {
    const { list } = setup();
    const bad: unknown[] = [
      { kind: 'global', at: Number.NaN },
      { kind: 'global', at: Number.POSITIVE_INFINITY },
      { kind: 'user', sub: '', at: T0, scope: 'tokens', cause: 'roles' },
      { kind: 'user', sub: 'u', at: T0, scope: 'everything', cause: 'roles' },
      { kind: 'session', sid: 42, sub: 'u', at: T0, cause: 'logout' },
      { kind: 'token', jti: 'j', at: T0 },
      { kind: 'nope', at: T0 },
    ];
    for (const event of bad) {
      expect(codeOf(() => list.apply(event as RevocationEvent))).toBe('VALIDATION_FAILED');
    }
    expect(list.stats().total).toBe(0);
  });

  it('refuses a bad configuration at construction', () => {
    const clock = manualClock();
    expect(() => new RevocationList({ clock, maxTokenLifetime: 0, clockSkew: 0 })).toThrow(
      TypeError,
    );
    expect(() => new RevocationList({ clock, maxTokenLifetime: 60, clockSkew: -1 })).toThrow(
      TypeError,
    );
  });
});

describe('revocationKey / checkKey (pre-hashed ids for cached tokens)', () => {
  it('answers exactly like check, before and after the list changes (fast-check)', () => {
    const subs = ['u0', 'u1', 'u2'];
    const sids = ['s0', 's1', 's2'];
    const jtis = ['j0', 'j1', 'j2'];
    const pick = (xs: string[]) => fc.constantFrom(...xs);
    const evt: fc.Arbitrary<RevocationEvent> = fc.oneof(
      fc.record({
        kind: fc.constant('global' as const),
        at: fc.integer({ min: T0 - 10, max: T0 + 10 }),
      }),
      fc.record({
        kind: fc.constant('user' as const),
        sub: pick(subs),
        at: fc.integer({ min: T0 - 10, max: T0 + 10 }),
        scope: fc.constantFrom('tokens' as const, 'sessions' as const),
        cause: fc.constant('admin' as const),
      }),
      fc.record({
        kind: fc.constant('session' as const),
        sid: pick(sids),
        sub: pick(subs),
        at: fc.constant(T0),
        cause: fc.constant('logout' as const),
      }),
      fc.record({
        kind: fc.constant('token' as const),
        jti: pick(jtis),
        exp: fc.constant(T0 + 5000),
        at: fc.constant(T0),
      }),
    );
    fc.assert(
      fc.property(fc.array(evt, { maxLength: 12 }), (events) => {
        const { list } = setup();
        const keys = subs.flatMap((u) => sids.flatMap((s) => jtis.map((j) => [u, s, j] as const)));
        const prepared = keys.map(([u, s, j]) => list.revocationKey(u, s, j));
        for (const event of [undefined, ...events]) {
          if (event !== undefined) list.apply(event);
          for (const [k, [u, s, j]] of keys.entries()) {
            for (const iat of [T0 - 11, T0 - 1, T0, T0 + 11]) {
              expect(list.checkKey(prepared[k]!, iat)).toBe(list.check(u, s, j, iat));
            }
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});
