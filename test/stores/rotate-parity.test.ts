import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RotateResult, Store } from '../../src/stores/port.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { sqliteStore } from '../../src/stores/sqlite.js';

/**
 * PostgreSQL rotates a refresh token in one server-side function (nb_rotate_refresh), which
 * restates the rules of rules.ts in SQL; SQLite calls those rules directly. Random histories
 * run against both must give the same answers: the kind, the iat, the session row after the
 * touch, the user, the logged event. The histories push on the edges: the grace and idle
 * boundaries to the millisecond, cutoffs a user or global revocation placed ahead of the
 * clock (the iat runs ahead, against the absolute end's last whole second), successors
 * that are not the presented token's, disabled users, ended sessions.
 */
const url = process.env.NOTBEFORE_TEST_PG_URL;
if (url === undefined) throw new Error('NOTBEFORE_TEST_PG_URL is not set (test/global-setup.ts)');

let pg: Store;
let lite: Store;
beforeAll(async () => {
  pg = postgresStore(url, { schema: `s_${randomBytes(6).toString('hex')}` });
  lite = sqliteStore(':memory:');
  await Promise.all([pg.init(), lite.init()]);
});
afterAll(async () => {
  await Promise.all([pg?.close(), lite?.close()]);
});

const successorOf = (hash: string) => createHash('sha256').update(`next:${hash}`).digest('hex');

/** How far the clock moves before a step: fixed, or to a boundary of this session, ±1 ms. */
type Advance =
  | { to: 'plus'; ms: number }
  /** Another instance whose clock runs behind: the clock steps back. */
  | { to: 'back'; ms: number }
  | { to: 'grace' | 'idle'; delta: -1 | 0 | 1 }
  | { to: 'absolute-second'; delta: -2 | -1 | 0 | 1 };

type Op =
  | { op: 'rotate'; at: Advance; pick: number; rightSuccessor: boolean }
  | { op: 'cutoff'; at: Advance; ahead: number; disable: boolean }
  | { op: 'global'; at: Advance; ahead: number }
  | { op: 'logout'; at: Advance }
  | { op: 'signin'; at: Advance };

const delta = fc.constantFrom(-1 as const, 0 as const, 1 as const);
const advance: fc.Arbitrary<Advance> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      to: fc.constant('plus' as const),
      ms: fc.oneof(fc.nat(3), fc.nat(3000), fc.nat(60_000)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ to: fc.constant('back' as const), ms: fc.nat(2000) }) },
  { weight: 3, arbitrary: fc.record({ to: fc.constant('grace' as const), delta }) },
  { weight: 1, arbitrary: fc.record({ to: fc.constant('idle' as const), delta }) },
  {
    weight: 1,
    arbitrary: fc.record({
      to: fc.constant('absolute-second' as const),
      delta: fc.constantFrom(-2 as const, -1 as const, 0 as const, 1 as const),
    }),
  },
);

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      op: fc.constant('rotate' as const),
      at: advance,
      // Mostly the current token or the one before it; now and then an older or unknown one.
      pick: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 1) }, fc.nat(4)),
      rightSuccessor: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, fc.constant(false)),
    }),
  },
  // The previous token again with its successor, about the grace window's end: a
  // duplicate (grace) or a theft (reused), to the millisecond.
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('rotate' as const),
      at: fc.record({ to: fc.constant('grace' as const), delta }),
      pick: fc.constant(1),
      rightSuccessor: fc.constant(true),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('cutoff' as const),
      at: advance,
      ahead: fc.oneof(fc.nat(3), fc.nat(10_000)),
      disable: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, fc.constant(true)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('global' as const),
      at: advance,
      ahead: fc.oneof(fc.nat(3), fc.nat(10_000)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('logout' as const), at: advance }) },
  // A new session after a revocation: its tokens mint at or above the cutoffs ahead.
  { weight: 4, arbitrary: fc.record({ op: fc.constant('signin' as const), at: advance }) },
);

/** What must agree: everything but the log's seq, which the other runs' entries shift alike. */
function comparable(result: RotateResult) {
  if (result.kind === 'rotated' || result.kind === 'grace')
    return {
      kind: result.kind,
      issuedAt: result.issuedAt,
      session: result.session,
      user: result.user,
    };
  if (result.kind === 'reused' || result.kind === 'expired')
    return { kind: result.kind, event: result.revocation.event };
  return result;
}

let run = 0;
let others = 0;
const kinds = new Set<string>();
it('random refresh histories: PostgreSQL one-round-trip rotation answers as the shared rules do', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        idle: fc.integer({ min: 1000, max: 60_000 }),
        absoluteExtra: fc.integer({ min: 0, max: 120_000 }),
        grace: fc.constantFrom(0, 1, 1000, 5000),
        // Absolute ends off a whole second test the floor in hasTimeLeft.
        offset: fc.nat(999),
      }),
      fc.array(op, { minLength: 1, maxLength: 20 }),
      async (limits, ops) => {
        run += 1;
        // Each run far after the last, so earlier global cutoffs lie in the past.
        let now = 1_800_000_000_000 + run * 10_000_000 + limits.offset;
        const userId = `u${run}`;
        for (const store of [pg, lite])
          await store.createUser({
            id: userId,
            email: `${userId}@parity.test`,
            passwordHash: 'h',
            roles: ['member'],
            createdAt: now,
          });
        const both = async <T>(f: (store: Store) => Promise<T>) => {
          const a = await f(pg);
          const b = await f(lite);
          return [a, b] as const;
        };
        // The current session: every hash it ever had, oldest first (a pick past the end
        // presents an unknown one), and the times its boundaries count from.
        let sessions = 0;
        let sid = '';
        let tokens: string[] = [];
        let absoluteEnd = 0;
        let lastRotation = 0;
        let lastUse = 0;
        const signIn = async () => {
          sessions += 1;
          sid = `s${run}-${sessions}`;
          const first = createHash('sha256').update(`first:${sid}`).digest('hex');
          const [a, b] = await both((store) =>
            store.createSession({
              sid,
              userId,
              device: null,
              clientKey: null,
              nowMs: now,
              idleTtlMs: limits.idle,
              absoluteTtlMs: limits.idle + limits.absoluteExtra,
              refreshHash: first,
              maxSessions: 10,
              expectPasswordHash: 'h',
              amr: ['pwd'],
            }),
          );
          expect(a.ok && { ...a, evicted: a.evicted.map((e) => e.event) }).toEqual(
            b.ok && { ...b, evicted: b.evicted.map((e) => e.event) },
          );
          tokens = [first];
          absoluteEnd = now + limits.idle + limits.absoluteExtra;
          lastRotation = now;
          lastUse = now;
        };
        await signIn();
        for (const step of ops) {
          const at = step.at;
          const target =
            at.to === 'plus'
              ? now + at.ms
              : at.to === 'back'
                ? now - at.ms
                : at.to === 'grace'
                  ? lastRotation + limits.grace + at.delta
                  : at.to === 'idle'
                    ? lastUse + limits.idle + at.delta
                    : Math.floor(absoluteEnd / 1000) * 1000 + at.delta;
          now = at.to === 'back' ? target : Math.max(now, target);
          if (step.op === 'rotate') {
            const presented =
              step.pick < tokens.length ? tokens[tokens.length - 1 - step.pick]! : `unknown${run}`;
            // Not the presented token's successor, and never one the session already had.
            const successor = step.rightSuccessor
              ? successorOf(presented)
              : successorOf(`other:${run}:${++others}`);
            const [a, b] = await both((store) =>
              store.rotateRefresh({
                presentedHash: presented,
                successorHash: successor,
                nowMs: now,
                graceMs: limits.grace,
                idleTtlMs: limits.idle,
              }),
            );
            expect(comparable(a)).toEqual(comparable(b));
            kinds.add(a.kind);
            if (a.kind === 'rotated') {
              tokens.push(successor);
              lastRotation = now;
            }
            if (a.kind === 'rotated' || a.kind === 'grace') lastUse = now;
          } else if (step.op === 'cutoff') {
            const [a, b] = await both((store) =>
              store.revokeUser({
                userId,
                nowMs: now + step.ahead,
                scope: 'tokens',
                cause: step.disable ? 'disabled' : 'roles',
                change: step.disable ? { disabled: true } : { roles: [`r${now}`] },
              }),
            );
            expect(a.ok && a.revocation.event).toEqual(b.ok && b.revocation.event);
          } else if (step.op === 'global') {
            const [a, b] = await both((store) => store.revokeAll({ nowMs: now + step.ahead }));
            expect(a.event).toEqual(b.event);
            // Every session ended: sign in again, under the cutoff that may lie ahead.
            await signIn();
          } else if (step.op === 'logout') {
            const [a, b] = await both((store) =>
              store.revokeSession({ sid, nowMs: now, cause: 'logout' }),
            );
            expect(a?.event).toEqual(b?.event);
          } else {
            await signIn();
          }
        }
      },
    ),
    { numRuns: 100 },
  );
  // The histories reached every outcome, or the comparison proved less than it claims.
  expect([...kinds].sort()).toEqual(['expired', 'grace', 'invalid', 'reused', 'rotated']);
}, 120_000);
