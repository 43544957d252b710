import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError } from '../../src/errors.js';
import { createAuth } from '../../src/sessions/auth.js';
import type { Auth } from '../../src/sessions/types.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { CHEAP_HASH, type Harness, harness, signedUp, sqliteFactory } from './helpers.js';

/** Bad input is an AuthError with a 4xx status, never another exception (STYLE habit 3). */
describe('input validation', () => {
  let h: Harness;
  let userId: string;
  let sid: string;
  beforeAll(async () => {
    h = await harness(sqliteFactory, {
      throttle: { account: { free: 1e6, max: 1e6 }, client: { free: 1e6, max: 1e6 } },
    });
    const s = await signedUp(h.auth);
    userId = s.user.id;
    sid = s.session.sid;
  });
  afterAll(async () => {
    await h.close();
  });

  const anything = fc.oneof(
    fc.anything(),
    fc.string({ maxLength: 300 }),
    fc.constantFrom('', ' ', 'x'.repeat(5000), '\u0000', '__proto__', -1, Number.NaN, [], {}),
  );

  const calls: Array<[string, (a: unknown, b: unknown, c: unknown) => Promise<unknown>]> = [
    ['signup', (a, b, c) => h.auth.signup({ email: a, password: b, roles: c } as never)],
    ['signup(raw)', (a) => h.auth.signup(a as never)],
    ['login', (a, b, c) => h.auth.login({ email: a, password: b, device: c } as never)],
    ['login(raw)', (a) => h.auth.login(a as never)],
    ['refresh', (a, b) => h.auth.refresh(a as never, b as never)],
    ['logout', (a) => h.auth.logout(a as never)],
    ['revokeRefreshToken', (a) => h.auth.revokeRefreshToken(a as never)],
    ['logoutAll', (a, b) => h.auth.logoutAll(a as never, b as never)],
    ['revokeToken', (a, b) => h.auth.revokeToken(a as never, b as never)],
    [
      'changePassword',
      (a, b, c) => h.auth.changePassword(userId, a as never, b as never, c as never),
    ],
    ['setRoles', (a, b) => h.auth.setRoles(a as never, b as never)],
    ['setRoles(user)', (a) => h.auth.setRoles(userId, a as never)],
    ['disableUser', (a) => h.auth.disableUser(a as never)],
    ['enableUser', (a) => h.auth.enableUser(a as never)],
    ['deleteUser', (a, b) => h.auth.deleteUser(a as never, b as never)],
    ['listSessions', (a, b) => h.auth.listSessions(a as never, b as never)],
    ['getUser', (a) => h.auth.getUser(a as never)],
    ['endSession', (a, b) => h.auth.endSession(userId, a as never, b as never)],
    ['endSession(actor)', (a) => h.auth.endSession(userId, sid, a as never)],
  ];

  for (const [name, call] of calls) {
    it(`${name}: any input → a result or a 4xx AuthError`, async () => {
      await fc.assert(
        fc.asyncProperty(anything, anything, anything, async (a, b, c) => {
          try {
            await call(a, b, c);
          } catch (error) {
            expect(error).toBeInstanceOf(AuthError);
            expect((error as AuthError).status).toBeGreaterThanOrEqual(400);
            expect((error as AuthError).status).toBeLessThan(500);
          }
        }),
        { numRuns: 60 },
      );
    });
  }

  it('verify: any input → claims or an AuthError', () => {
    fc.assert(
      fc.property(anything, (value) => {
        try {
          h.auth.verify(value as never);
        } catch (error) {
          expect(error).toBeInstanceOf(AuthError);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('before ready(), verify and jwks answer 503 REVOCATION_STATE_STALE', async () => {
    const store = sqliteStore(':memory:');
    const early: Auth = createAuth({ store, password: CHEAP_HASH });
    expect(() => early.verify('x')).toThrow(
      expect.objectContaining({ code: 'REVOCATION_STATE_STALE' }),
    );
    expect(() => early.jwks()).toThrow(expect.objectContaining({ status: 503 }));
    await early.ready();
    expect(early.jwks().keys).toHaveLength(1);
    await early.close();
    await store.close();
  });

  it('bad options throw at construction', () => {
    for (const options of [
      { accessTokenTtl: 0 },
      { accessTokenTtl: 1.5 },
      { maxSessionsPerUser: 0 },
      { refreshIdleTtl: -1 },
      { issuer: '' },
      { password: { minLength: 4 } },
      { password: { memoryCost: 1024, timeCost: 1 } },
    ]) {
      expect(() => createAuth(options as never)).toThrow(TypeError);
    }
  });
});
