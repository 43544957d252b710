import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUDIENCE, ISSUER } from './fixtures.js';

export interface AuthSuiteOptions {
  logins: number;
  refreshes: number;
  /** Requests in flight at once (argon2 runs on libuv's thread pool). */
  concurrency: number;
}

export interface AuthSuiteResult {
  store: string;
  hash: string;
  concurrency: number;
  login: { ops: number; perSec: number; msPerOp: number };
  refresh: { ops: number; perSec: number; msPerOp: number };
}

async function timed(ops: number, concurrency: number, op: (worker: number) => Promise<void>) {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < ops) {
        next++;
        await op(worker);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { ops, perSec: ops / seconds, msPerOp: (seconds * 1000) / ops };
}

/** Sign-in and refresh through createAuth on a SQLite file (WAL), default argon2id cost. */
export async function authSuite(
  options: AuthSuiteOptions,
  log: (line: string) => void,
): Promise<AuthSuiteResult> {
  const { createAuth } = await import('../src/sessions/auth.js');
  const { sqliteStore } = await import('../src/stores/sqlite.js');
  const { DEFAULT_HASH_PARAMS } = await import('../src/sessions/passwords.js');
  const dir = mkdtempSync(join(tmpdir(), 'notbefore-bench-auth-'));
  const auth = createAuth({
    store: sqliteStore(join(dir, 'auth.db')),
    issuer: ISSUER,
    audience: AUDIENCE,
    maxSessionsPerUser: 1_000_000,
  });
  try {
    await auth.ready();
    const email = 'load-test@example.com';
    const password = randomBytes(18).toString('base64url');
    await auth.signup({ email, password });
    const login = await timed(options.logins, options.concurrency, async () => {
      await auth.login({ email, password });
    });
    log(`  login:   ${login.perSec.toFixed(1)}/s (${login.msPerOp.toFixed(1)} ms/op)`);
    // One refresh chain per worker: each refresh presents the token the last one returned.
    const chains = await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        return (await auth.login({ email, password })).refreshToken;
      }),
    );
    const refresh = await timed(options.refreshes, options.concurrency, async (worker) => {
      chains[worker] = (await auth.refresh(chains[worker]!)).refreshToken;
    });
    log(`  refresh: ${refresh.perSec.toFixed(1)}/s (${refresh.msPerOp.toFixed(2)} ms/op)`);
    const { memoryCost, timeCost, parallelism } = DEFAULT_HASH_PARAMS;
    return {
      store: 'SQLite file (sqliteStore), in-process feed',
      hash: `argon2id m=${memoryCost} KiB, t=${timeCost}, p=${parallelism} (the defaults)`,
      concurrency: options.concurrency,
      login,
      refresh,
    };
  } finally {
    await auth.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
