/**
 * The per-test set-up of a route suite that describeRoutes plugs in (factor-routes.ts,
 * passkey-routes.ts): before every test a fresh auth, served by the adapter under test;
 * after it the auth and its store are closed.
 */
import { afterEach, beforeEach } from 'vitest';
import type { ManualClock } from '../../src/clock.js';
import type { Auth, AuthOptions } from '../../src/sessions/types.js';
import { type MakeStore, makeAuth, type TestServer } from './harness.js';

/** Serves `auth` with the adapter under test (the suite's undeclared-code check included). */
export type StartServer = (auth: Auth) => Promise<TestServer>;

/** The current test's auth, clock and server (read them inside a test or hook). */
export interface PerTest {
  readonly auth: Auth;
  readonly clock: ManualClock;
  readonly server: TestServer;
}

/** Registers the hooks in the enclosing `describe`; `extra` goes to every auth made. */
export function serveEachTest(
  start: StartServer,
  makeStore?: MakeStore,
  extra: AuthOptions = {},
): PerTest {
  let made: Awaited<ReturnType<typeof makeAuth>> | undefined;
  let server: TestServer | undefined;
  beforeEach(async () => {
    made = await makeAuth(extra, makeStore);
    server = await start(made.auth);
  });
  afterEach(async () => {
    await made?.close();
    made = undefined;
    server = undefined;
  });
  return {
    get auth() {
      return served(made).auth;
    },
    get clock() {
      return served(made).clock;
    },
    get server() {
      return served(server);
    },
  };
}

function served<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('read outside a test: nothing is served then');
  return value;
}
