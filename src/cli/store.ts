// Opening the store `--db` names: shared by `serve` and `users invite`.
import type { Store } from '../stores/port.js';
import type { Database } from './args.js';
import { StartupError } from './errors.js';
import { redactUrl } from './redact.js';

const START_TIMEOUT_MS = 20_000;

/** The shortest useful reason: an error code, else the first line of the message. */
export const why = (error: unknown): string => {
  const e = error as { code?: string; message?: string };
  return e.code ?? e.message?.split('\n', 1)[0] ?? String(error);
};

/** Rejects with a StartupError when `promise` takes longer than 20 s. */
export async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StartupError(`${what} timed out`)), START_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens and migrates the store `--db` names; failures are one StartupError line, without a password. */
export async function openStore(db: Database): Promise<Store> {
  const where = db.kind === 'sqlite' ? db.path : redactUrl(db.url);
  try {
    let store: Store;
    if (db.kind === 'sqlite') {
      const { sqliteStore } = await import('../stores/sqlite.js');
      store = sqliteStore(db.path === ':memory:' ? ':memory:' : db.path);
    } else {
      const { postgresStore } = await import('../stores/postgres.js');
      store = postgresStore(db.url);
    }
    await withTimeout(store.init(), `connecting to the database ${where}`);
    return store;
  } catch (error) {
    throw new StartupError(`cannot open the database ${where}: ${why(error)}`);
  }
}
