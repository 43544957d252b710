import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { type ManualClock, manualClock } from '../../src/clock.js';
import type { RevocationReason } from '../../src/errors.js';
import { createAuth } from '../../src/sessions/auth.js';
import type { Auth, AuthOptions } from '../../src/sessions/types.js';
import type { Store } from '../../src/stores/port.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { sqliteStore } from '../../src/stores/sqlite.js';

/** argon2id far below the production floor: tests pass it explicitly to stay fast. */
export const CHEAP_HASH = { memoryCost: 256, timeCost: 1, parallelism: 1, allowWeakHash: true };

export const PASSWORD = 'correct horse battery staple';

export type StoreFactory = () => Store;

export const sqliteFactory: StoreFactory = () => sqliteStore(':memory:');

export function postgresFactory(): StoreFactory {
  const url = process.env.NOTBEFORE_TEST_PG_URL;
  if (url === undefined) throw new Error('NOTBEFORE_TEST_PG_URL is not set (test/global-setup.ts)');
  return () => postgresStore(url, { schema: `a_${randomBytes(6).toString('hex')}` });
}

export interface Harness {
  auth: Auth;
  store: Store;
  clock: ManualClock;
  /** Another instance on the same store (same options, its own feed unless given). */
  another(overrides?: Partial<AuthOptions>): Promise<Auth>;
  close(): Promise<void>;
}

export async function harness(
  makeStore: StoreFactory,
  overrides: Partial<AuthOptions> = {},
): Promise<Harness> {
  const clock = manualClock(Date.UTC(2026, 5, 1));
  const store = makeStore();
  const base: AuthOptions = { store, clock, password: CHEAP_HASH, ...overrides };
  const auth = createAuth(base);
  await auth.ready();
  const others: Auth[] = [];
  return {
    auth,
    store,
    clock,
    async another(more = {}) {
      const other = createAuth({ ...base, feed: undefined, ...more } as AuthOptions);
      others.push(other);
      await other.ready();
      return other;
    },
    async close() {
      for (const other of others) await other.close();
      await auth.close();
      await store.close();
    },
  };
}

export function email(): string {
  return `user-${randomBytes(5).toString('hex')}@example.test`;
}

/** Signs up a fresh user and signs in once. */
export async function signedUp(auth: Auth, device = 'laptop') {
  const address = email();
  await auth.signup({ email: address, password: PASSWORD });
  const signedIn = await auth.login({ email: address, password: PASSWORD, device });
  return { email: address, ...signedIn };
}

export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'AuthError', code });
}

export function throwsWith(fn: () => unknown, code: string, reason?: RevocationReason): void {
  try {
    fn();
  } catch (error) {
    expect(error).toMatchObject(
      reason === undefined ? { name: 'AuthError', code } : { name: 'AuthError', code, reason },
    );
    return;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}
