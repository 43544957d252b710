import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth } from '../../src/sessions/auth.js';
import { DEFAULT_HASH_PARAMS } from '../../src/sessions/passwords.js';
import type { Auth } from '../../src/sessions/types.js';
import type { Store } from '../../src/stores/port.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { email, PASSWORD, postgresFactory } from './helpers.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(auth: Auth) {
  const address = email();
  await auth.signup({ email: address, password: PASSWORD });
  const logins: number[] = [];
  let refreshToken = '';
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    refreshToken = (await auth.login({ email: address, password: PASSWORD })).refreshToken;
    logins.push(performance.now() - start);
  }
  const refreshes: number[] = [];
  for (let i = 0; i < 50; i++) {
    const start = performance.now();
    refreshToken = (await auth.refresh(refreshToken)).refreshToken;
    refreshes.push(performance.now() - start);
  }
  return { login: median(logins), refresh: median(refreshes) };
}

/** The measured cost of login (production argon2id parameters) and of refresh. */
describe('cost (default argon2id m=19456 KiB, t=2, p=1)', () => {
  const stores: Array<[string, () => Store]> = [
    ['sqlite', () => sqliteStore(':memory:')],
    ['postgres', postgresFactory()],
  ];
  for (const [name, make] of stores) {
    let store: Store;
    let auth: Auth;
    beforeAll(async () => {
      store = make();
      auth = createAuth({ store });
      await auth.ready();
    });
    afterAll(async () => {
      await auth.close();
      await store.close();
    });
    it(`${name}: login pays one hash, refresh pays none`, async () => {
      const cost = await measure(auth);
      console.log(
        `[cost] ${name}: login ${cost.login.toFixed(1)} ms (argon2id m=${DEFAULT_HASH_PARAMS.memoryCost} t=${DEFAULT_HASH_PARAMS.timeCost} p=${DEFAULT_HASH_PARAMS.parallelism}), refresh ${cost.refresh.toFixed(2)} ms`,
      );
      expect(cost.refresh * 2).toBeLessThan(cost.login);
    });
  }
});
