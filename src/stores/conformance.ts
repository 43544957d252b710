import { afterEach, beforeEach, describe } from 'vitest';
import { describeFactorCases } from './conformance/factors.js';
import { storeKit } from './conformance/kit.js';
import { describeLimitCases } from './conformance/limits.js';
import { describeLinkCases } from './conformance/links.js';
import { describePasskeyCases } from './conformance/passkeys.js';
import { describeRevocationCases } from './conformance/revocations.js';
import { describeSessionCases } from './conformance/sessions.js';
import type { Store } from './port.js';

/**
 * The one suite every store passes: `describeStore('sqlite', () => sqliteStore(':memory:'))`.
 * `makeStore` must return an empty store each time. Imports vitest, so it is only ever
 * imported by tests (no runtime module imports it).
 *
 * @param name - Shown in the suite's title.
 * @param makeStore - Called before each test; the suite calls `init()` and, after the test,
 *   `close()`.
 * @example
 * ```ts
 * // test/my-store.test.ts
 * import { describeStore } from 'notbefore/testing';
 * import { myStore } from '../src/my-store.js';
 *
 * let n = 0;
 * describeStore('my-store', () => myStore({ database: `test_${process.pid}_${n++}` }));
 * ```
 */
export function describeStore(name: string, makeStore: () => Store | Promise<Store>): void {
  describe(`store conformance: ${name}`, () => {
    let store: Store | undefined;
    beforeEach(async () => {
      store = await makeStore();
      await store.init();
    });
    afterEach(async () => {
      await store?.close();
    });
    const kit = storeKit(() => {
      if (store === undefined) throw new Error('describeStore: no store outside a test');
      return store;
    });
    describeSessionCases(kit);
    describeRevocationCases(kit);
    describeLimitCases(kit);
    describeLinkCases(kit);
    describeFactorCases(kit);
    describePasskeyCases(kit);
  });
}
