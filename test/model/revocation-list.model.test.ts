import fc from 'fast-check';
import { describe, it } from 'vitest';
import { type ManualClock, manualClock } from '../../src/clock.js';
import type { RevocationEvent, UserRevocationCause } from '../../src/revocation/events.js';
import {
  RevocationList,
  type RevocationSnapshot,
  type RevocationStats,
} from '../../src/revocation/list.js';
import { allowedReasons, modelParams, prng, type Reason } from './params.js';

/**
 * Model-based test of RevocationList: random sequences of events (every kind, late, early,
 * duplicated, reordered), clock moves (to the exact millisecond an entry stops mattering),
 * prunes, snapshots into fresh lists and restarts from the event history, checked after
 * every step against a reference model that keeps the whole history in plain maps.
 *
 * The model's rule: a token (sub, sid, jti, iat) is revoked when iat < the global cutoff,
 * iat < its user's cutoff (reason `user` for scope sessions, `claims` for scope tokens),
 * its sid is revoked or its jti is revoked; the strongest reason wins. The list may forget
 * an entry only once it can no longer reject an unexpired token: a cutoff or a session
 * `window` (= lifetime + skew) after its time, a jti `skew` after its exp. Until then the
 * entry must act; after that the list may answer either way for that rule (it is not
 * obliged to have swept yet), but never invents a rule the history does not hold.
 */

const T0 = Date.UTC(2026, 0, 1);
const LIFETIME_S = 60;
const SKEW_S = 5;
const LIFETIME_MS = LIFETIME_S * 1000;
const SKEW_MS = SKEW_S * 1000;
const WINDOW_MS = LIFETIME_MS + SKEW_MS;
/** The list's sweep interval for this window (max(1 s, window / 16)). */
const SWEEP_MS = Math.max(1000, Math.floor(WINDOW_MS / 16));

const SUBS = ['u0', 'u1', 'u2'] as const;
const SIDS = ['s0', 's1', 's2', 's3'] as const;
const JTIS = ['j0', 'j1', 'j2'] as const;

type Table = 'userSessions' | 'userTokens' | 'sessions' | 'tokens';

interface Model {
  now: number;
  /** Max-merged over every event ever applied (dead or alive); -Infinity when none. */
  global: number;
  userSessions: Map<string, number>;
  userTokens: Map<string, number>;
  sessions: Map<string, number>;
  /** jti → the highest exp of its revocations. */
  tokens: Map<string, number>;
  history: RevocationEvent[];
  snapshots: number;
}

interface Real {
  clock: ManualClock;
  list: RevocationList;
  /** Snapshots taken earlier, to load late (a stale replica, an old Redis seed). */
  snapshots: RevocationSnapshot[];
}

type Cmd = fc.Command<Model, Real>;

const lifeOf = (table: Table | 'global'): number => (table === 'tokens' ? SKEW_MS : WINDOW_MS);
const isLive = (value: number, table: Table | 'global', now: number): boolean =>
  value + lifeOf(table) > now;

function newList(clock: ManualClock): RevocationList {
  return new RevocationList({ clock, maxTokenLifetime: LIFETIME_S, clockSkew: SKEW_S });
}

class ModelMismatch extends Error {
  override readonly name = 'ModelMismatch';
}

function same(actual: unknown, expected: unknown, what: string): void {
  if (!Object.is(actual, expected) && JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new ModelMismatch(
      `${what}: got ${JSON.stringify(actual)}, model says ${JSON.stringify(expected)}`,
    );
  }
}

function holds(condition: boolean, what: string): void {
  if (!condition) throw new ModelMismatch(what);
}

// --- the model's answers ---------------------------------------------------------------

function tableOf(event: RevocationEvent): Table | 'global' {
  switch (event.kind) {
    case 'global':
      return 'global';
    case 'user':
      return event.scope === 'sessions' ? 'userSessions' : 'userTokens';
    case 'session':
      return 'sessions';
    case 'token':
      return 'tokens';
  }
}

function keyOf(event: RevocationEvent): string {
  switch (event.kind) {
    case 'global':
      return '';
    case 'user':
      return event.sub;
    case 'session':
      return event.sid;
    case 'token':
      return event.jti;
  }
}

/** The value an event max-merges into its entry (times are rounded up, never toward accepting). */
const entryValue = (event: RevocationEvent): number =>
  Math.ceil(event.kind === 'token' ? event.exp : event.at);

function storedValue(m: Model, table: Table | 'global', key: string): number | undefined {
  if (table === 'global') return m.global === Number.NEGATIVE_INFINITY ? undefined : m.global;
  return m[table].get(key);
}

/** Applies an event to the model; returns whether the list must report a change. */
function modelApply(m: Model, event: RevocationEvent): boolean {
  const table = tableOf(event);
  const key = keyOf(event);
  const value = entryValue(event);
  const old = storedValue(m, table, key);
  const changes = isLive(value, table, m.now) && (old === undefined || value > old);
  if (old === undefined || value > old) {
    if (table === 'global') m.global = value;
    else m[table].set(key, value);
  }
  m.history.push(event);
  return changes;
}

interface Rules {
  must: Set<Reason>;
  may: Set<Reason>;
}

function rulesFor(m: Model, sub: string, sid: string, jti: string, iat: number): Rules {
  const must = new Set<Reason>();
  const may = new Set<Reason>();
  const add = (reason: Reason, value: number, table: Table | 'global') =>
    (isLive(value, table, m.now) ? must : may).add(reason);
  if (iat < m.global) add('global', m.global, 'global');
  const us = m.userSessions.get(sub);
  if (us !== undefined && iat < us) add('user', us, 'userSessions');
  const s = m.sessions.get(sid);
  if (s !== undefined) add('session', s, 'sessions');
  const t = m.tokens.get(jti);
  if (t !== undefined) add('token', t, 'tokens');
  const ut = m.userTokens.get(sub);
  if (ut !== undefined && iat < ut) add('claims', ut, 'userTokens');
  return { must, may };
}

function liveStats(m: Model): Omit<RevocationStats, 'bytes'> {
  const count = (table: Table) =>
    [...m[table].values()].filter((v) => isLive(v, table, m.now)).length;
  const global = m.global !== Number.NEGATIVE_INFINITY && isLive(m.global, 'global', m.now) ? 1 : 0;
  const users = count('userSessions') + count('userTokens');
  const sessions = count('sessions');
  const tokens = count('tokens');
  return { global, users, sessions, tokens, total: global + users + sessions + tokens };
}

function everStats(m: Model): Omit<RevocationStats, 'bytes'> {
  const global = m.global === Number.NEGATIVE_INFINITY ? 0 : 1;
  const users = m.userSessions.size + m.userTokens.size;
  const { size: sessions } = m.sessions;
  const { size: tokens } = m.tokens;
  return { global, users, sessions, tokens, total: global + users + sessions + tokens };
}

/** Every cutoff time the model holds for `sub` (global and both user scopes). */
function cutoffsOf(m: Model, sub: string): number[] {
  const out: number[] = [];
  if (m.global !== Number.NEGATIVE_INFINITY) out.push(m.global);
  const us = m.userSessions.get(sub);
  if (us !== undefined) out.push(us);
  const ut = m.userTokens.get(sub);
  if (ut !== undefined) out.push(ut);
  return out;
}

// --- checks run after every command --------------------------------------------------

function checkToken(m: Model, r: Real, sub: string, sid: string, jti: string, iat: number): void {
  const got = r.list.check(sub, sid, jti, iat);
  const { must, may } = rulesFor(m, sub, sid, jti, iat);
  const allowed = allowedReasons(must, may);
  if (!allowed.includes(got)) {
    throw new ModelMismatch(
      `check(${sub}, ${sid}, ${jti}, iat=now${signed(iat - m.now)}) at now=T0${signed(m.now - T0)}: ` +
        `got ${JSON.stringify(got)}, model allows ${JSON.stringify(allowed)} ` +
        `(must ${JSON.stringify([...must])}, may ${JSON.stringify([...may])})`,
    );
  }
  same(r.list.checkKey(r.list.revocationKey(sub, sid, jti), iat), got, 'checkKey vs check');
}

function signed(n: number): string {
  return n >= 0 ? `+${n}` : `${n}`;
}

function checkEverything(m: Model, r: Real): void {
  same(r.clock.now(), m.now, 'clock');
  for (const sub of SUBS) {
    // Every cutoff that applies to this user, probed at the millisecond before, at and after.
    const iats = new Set<number>([m.now - WINDOW_MS, m.now]);
    for (const c of cutoffsOf(m, sub)) for (const d of [-1, 0, 1]) iats.add(c + d);
    for (const sid of SIDS) {
      for (const jti of JTIS) for (const iat of iats) checkToken(m, r, sub, sid, jti, iat);
    }
    // cutoffFor: at least every live cutoff, at most what the history holds, 0 when nothing
    // applies. Above the live ones it can only be a dead cutoff not swept yet: any value
    // the history ever gave (a refused dead event may have raised the model's max past it).
    const all = cutoffsOf(m, sub);
    const live = all.filter((c) => c + WINDOW_MS > m.now);
    const got = r.list.cutoffFor(sub);
    const low = Math.max(0, ...live);
    const high = Math.max(0, ...all);
    const ever = m.history
      .filter((e) => e.kind === 'global' || (e.kind === 'user' && e.sub === sub))
      .map(entryValue);
    holds(
      got >= low && got <= high && (got === low || ever.includes(got)),
      `cutoffFor(${sub}) = ${got}, model allows [${low}, ${high}] (a cutoff of the history)`,
    );
  }
  for (const sid of SIDS) {
    const at = m.sessions.get(sid);
    const got = r.list.isSessionRevoked(sid);
    if (at === undefined) same(got, false, `isSessionRevoked(${sid}) never revoked`);
    else if (isLive(at, 'sessions', m.now)) same(got, true, `isSessionRevoked(${sid}) live`);
  }
  const stats = r.list.stats();
  const live = liveStats(m);
  const ever = everStats(m);
  for (const k of ['global', 'users', 'sessions', 'tokens', 'total'] as const) {
    holds(
      stats[k] >= live[k] && stats[k] <= ever[k],
      `stats().${k} = ${stats[k]}, model: live ${live[k]}, ever ${ever[k]}`,
    );
  }
}

/** After a prune (or a snapshot, which prunes), the list holds exactly the live entries. */
function checkPruned(m: Model, r: Real): void {
  const { bytes: _bytes, ...stats } = r.list.stats();
  same(stats, liveStats(m), 'stats() right after a prune');
}

function checkSnapshot(m: Model, snap: RevocationSnapshot): void {
  const liveValues = (table: Table) =>
    [...m[table].values()].filter((v) => isLive(v, table, m.now)).sort((a, b) => a - b);
  const values = (triples: number[]) => triples.filter((_, k) => k % 3 === 2).sort((a, b) => a - b);
  const global = m.global !== Number.NEGATIVE_INFINITY && isLive(m.global, 'global', m.now);
  same(snap.global, global ? m.global : null, 'snapshot.global');
  same(values(snap.users), liveValues('userSessions'), 'snapshot.users values');
  same(values(snap.userTokens), liveValues('userTokens'), 'snapshot.userTokens values');
  same(values(snap.sessions), liveValues('sessions'), 'snapshot.sessions values');
  same(values(snap.tokens), liveValues('tokens'), 'snapshot.tokens values');
}

// --- commands ------------------------------------------------------------------------

/** An event with times relative to the clock, fixed when the command runs. */
type EventSpec =
  | { kind: 'global'; offset: number }
  | {
      kind: 'user';
      sub: number;
      scope: 'tokens' | 'sessions';
      cause: UserRevocationCause;
      exceptSid: number | null;
      offset: number;
    }
  | { kind: 'session'; sid: number; sub: number; offset: number }
  | { kind: 'token'; jti: number; expOffset: number };

function resolve(spec: EventSpec, now: number): RevocationEvent {
  switch (spec.kind) {
    case 'global':
      return { kind: 'global', at: now + spec.offset };
    case 'user': {
      const base = {
        kind: 'user' as const,
        sub: SUBS[spec.sub]!,
        at: now + spec.offset,
        scope: spec.scope,
        cause: spec.cause,
      };
      return spec.exceptSid === null ? base : { ...base, exceptSid: SIDS[spec.exceptSid]! };
    }
    case 'session':
      return {
        kind: 'session',
        sid: SIDS[spec.sid]!,
        sub: SUBS[spec.sub]!,
        at: now + spec.offset,
        cause: 'logout',
      };
    case 'token':
      return { kind: 'token', jti: JTIS[spec.jti]!, exp: now + spec.expOffset, at: now };
  }
}

class ApplyCommand implements Cmd {
  constructor(readonly spec: EventSpec) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const event = resolve(this.spec, m.now);
    const changes = modelApply(m, event);
    same(r.list.apply(event), changes, `apply(${JSON.stringify(event)}) reports a change`);
    checkEverything(m, r);
  }
  toString = () => `apply(${JSON.stringify(this.spec)})`;
}

/** Applies an event of the history again: a duplicate or a late, reordered delivery. */
class ReplayCommand implements Cmd {
  constructor(readonly pick: number) {}
  check = (m: Readonly<Model>) => m.history.length > 0;
  run(m: Model, r: Real): void {
    const event = m.history[this.pick % m.history.length]!;
    // A replay can never raise anything: the entry holds at least this value, or the
    // event has died meanwhile (time only moves forward).
    same(modelApply(m, event), false, 'model: a replay changes nothing');
    same(r.list.apply(event), false, `replayed apply(${JSON.stringify(event)})`);
    checkEverything(m, r);
  }
  toString = () => `replay(${this.pick})`;
}

class AdvanceCommand implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    m.now += this.ms;
    r.clock.advance(this.ms);
    checkEverything(m, r);
  }
  toString = () => `advance(${this.ms})`;
}

/** Moves the clock to the millisecond before, at or after an entry stops mattering. */
class AdvanceToEdgeCommand implements Cmd {
  constructor(
    readonly pick: number,
    readonly delta: -1 | 0 | 1,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const edges: number[] = [];
    if (m.global !== Number.NEGATIVE_INFINITY) edges.push(m.global + WINDOW_MS);
    for (const table of ['userSessions', 'userTokens', 'sessions', 'tokens'] as const) {
      for (const v of m[table].values()) edges.push(v + lifeOf(table));
    }
    const future = edges.map((e) => e + this.delta).filter((e) => e > m.now);
    if (future.length > 0) {
      future.sort((a, b) => a - b);
      const target = future[this.pick % future.length]!;
      r.clock.advance(target - m.now);
      m.now = target;
    }
    checkEverything(m, r);
  }
  toString = () => `advanceToEdge(${this.pick}, ${this.delta})`;
}

class PruneCommand implements Cmd {
  check = () => true;
  run(m: Model, r: Real): void {
    r.list.prune();
    checkPruned(m, r);
    checkEverything(m, r);
  }
  toString = () => 'prune()';
}

/** snapshot → JSON → fromSnapshot: the fresh list replaces the old one (a restart). */
class SnapshotRestartCommand implements Cmd {
  check = () => true;
  run(m: Model, r: Real): void {
    const snap = r.list.snapshot();
    checkPruned(m, r);
    checkSnapshot(m, snap);
    const copy = JSON.parse(JSON.stringify(snap)) as RevocationSnapshot;
    r.snapshots.push(copy);
    m.snapshots++;
    r.list = RevocationList.fromSnapshot(copy, {
      clock: r.clock,
      maxTokenLifetime: LIFETIME_S,
      clockSkew: SKEW_S,
    });
    checkPruned(m, r);
    checkEverything(m, r);
  }
  toString = () => 'snapshotRestart()';
}

/** Loads a snapshot taken earlier: entries it holds are all in the history already. */
class LoadOldSnapshotCommand implements Cmd {
  constructor(readonly pick: number) {}
  check = (m: Readonly<Model>) => m.snapshots > 0;
  run(m: Model, r: Real): void {
    const snap = r.snapshots[this.pick % r.snapshots.length]!;
    same(r.list.load(snap), 0, 'load(an older snapshot) changes nothing');
    checkEverything(m, r);
  }
  toString = () => `loadOldSnapshot(${this.pick})`;
}

/** Rebuilds the list from the whole history, shuffled and with duplicates (a reload). */
class ReloadFromHistoryCommand implements Cmd {
  constructor(readonly seed: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const random = prng(this.seed);
    const events = [...m.history, ...m.history.filter(() => random() < 0.3)];
    for (let k = events.length - 1; k > 0; k--) {
      const j = Math.floor(random() * (k + 1));
      [events[k], events[j]] = [events[j]!, events[k]!];
    }
    const fresh = newList(r.clock);
    const changed = fresh.applyAll(events);
    const liveKeys = liveStats(m).total;
    const liveEvents = events.filter((e) => isLive(entryValue(e), tableOf(e), m.now)).length;
    holds(
      changed >= liveKeys && changed <= liveEvents,
      `applyAll(history) changed ${changed}, model: between ${liveKeys} and ${liveEvents}`,
    );
    r.list = fresh;
    checkEverything(m, r);
  }
  toString = () => `reloadFromHistory(${this.seed})`;
}

// --- arbitraries -----------------------------------------------------------------------

/** Offsets of a cutoff from now: around "already dead" and "now", and anywhere between. */
const cutoffOffset = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom(-WINDOW_MS - 1, -WINDOW_MS, -WINDOW_MS + 1, -1, 0, 1, -0.5, 0.5),
  },
  { weight: 3, arbitrary: fc.integer({ min: -WINDOW_MS - 3000, max: 3000 }) },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) },
);
const expOffset = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(-SKEW_MS - 1, -SKEW_MS, -SKEW_MS + 1, 0, LIFETIME_MS) },
  { weight: 3, arbitrary: fc.integer({ min: -SKEW_MS - 3000, max: LIFETIME_MS }) },
);
const idx = (n: number) => fc.nat({ max: n - 1 });

const eventSpec: fc.Arbitrary<EventSpec> = fc.oneof(
  fc.record({ kind: fc.constant('global' as const), offset: cutoffOffset }),
  fc.record({
    kind: fc.constant('user' as const),
    sub: idx(SUBS.length),
    scope: fc.constantFrom('tokens' as const, 'sessions' as const),
    cause: fc.constantFrom<UserRevocationCause>('password', 'logout-all', 'roles', 'disabled'),
    exceptSid: fc.option(idx(SIDS.length), { nil: null }),
    offset: cutoffOffset,
  }),
  fc.record({
    kind: fc.constant('session' as const),
    sid: idx(SIDS.length),
    sub: idx(SUBS.length),
    offset: cutoffOffset,
  }),
  fc.record({ kind: fc.constant('token' as const), jti: idx(JTIS.length), expOffset }),
);

const advanceMs = fc.oneof(
  fc.constantFrom(0, 1, 999, 1000, SWEEP_MS, SKEW_MS, LIFETIME_MS, WINDOW_MS - 1, WINDOW_MS),
  fc.integer({ min: 1, max: WINDOW_MS + 5000 }),
);

const commands = fc.commands<Model, Real>(
  [
    eventSpec.map((spec) => new ApplyCommand(spec)),
    eventSpec.map((spec) => new ApplyCommand(spec)),
    eventSpec.map((spec) => new ApplyCommand(spec)),
    fc.nat().map((pick) => new ReplayCommand(pick)),
    advanceMs.map((ms) => new AdvanceCommand(ms)),
    fc
      .tuple(fc.nat(), fc.constantFrom(-1 as const, 0 as const, 1 as const))
      .map(([pick, delta]) => new AdvanceToEdgeCommand(pick, delta)),
    fc.constant(new PruneCommand()),
    fc.constant(new SnapshotRestartCommand()),
    fc.nat().map((pick) => new LoadOldSnapshotCommand(pick)),
    fc.nat().map((seed) => new ReloadFromHistoryCommand(seed)),
  ],
  { maxCommands: 60, size: 'max' },
);

describe('RevocationList against a reference model (fast-check commands)', () => {
  it('rejects what the history says, accepts the rest, forgets only dead entries', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2000, max: 2000 }), commands, (start, cmds) => {
        const setup = () => {
          const clock = manualClock(T0 + start);
          const model: Model = {
            now: T0 + start,
            global: Number.NEGATIVE_INFINITY,
            userSessions: new Map(),
            userTokens: new Map(),
            sessions: new Map(),
            tokens: new Map(),
            history: [],
            snapshots: 0,
          };
          return { model, real: { clock, list: newList(clock), snapshots: [] } };
        };
        fc.modelRun(setup, cmds);
      }),
      modelParams(0x5eed_0001, 500),
    );
  }, 60_000);
});
