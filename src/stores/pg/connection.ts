import pg from 'pg';
import { StoreUnavailableError } from '../../errors.js';
import { MAX_ATTEMPTS, MIGRATION_LOCK, migrations, RETRYABLE, SCHEMA_NAME } from './schema.js';

export type Row = Record<string, unknown>;
type Queryable = pg.Pool | pg.PoolClient;

export interface ConnectionOptions {
  schema?: string;
  connectionTimeoutMillis?: number;
  queryTimeoutMillis?: number;
  max?: number;
}

/** The qualified names of the store's tables in one schema. */
export interface Tables {
  U: string;
  S: string;
  R: string;
  L: string;
  F: string;
  K: string;
  M: string;
  /** One-time links. */
  N: string;
  /** Second factors (0.3.0): TOTP, recovery codes, passkeys, WebAuthn challenges. */
  T: string;
  RC: string;
  P: string;
  CH: string;
}

export interface Connection {
  readonly tables: Tables;
  /** Applies the migrations once (retried after a failure). */
  ready(): Promise<void>;
  /** One transaction, retried on serialization failures and deadlocks. */
  tx<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** One statement outside a transaction. */
  query(sql: string, params?: unknown[]): Promise<Row[]>;
  rows(db: Queryable, sql: string, params?: unknown[]): Promise<Row[]>;
  first(db: Queryable, sql: string, params?: unknown[]): Promise<Row | undefined>;
  close(): Promise<void>;
}

/** Where the pool connects, as pg itself resolves it (URL, PG* variables, defaults). */
export interface Target {
  where: string;
  user: string | undefined;
  database: string | undefined;
}

function resolveTarget(urlOrPool: string | pg.Pool): Target {
  try {
    // A client that is never connected: only pg's parameter resolution is wanted.
    const params = new pg.Client(
      typeof urlOrPool === 'string' ? { connectionString: urlOrPool } : urlOrPool.options,
    );
    const host = params.host.includes(':') ? `[${params.host}]` : params.host;
    return { where: `${host}:${params.port}`, user: params.user, database: params.database };
  } catch {
    return { where: 'the configured server', user: undefined, database: undefined };
  }
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** A name as the shell would need it in the createdb hint. */
const shellWord = (name: string) =>
  /^[\w.-]+$/.test(name) ? name : `'${name.replace(/'/g, `'\\''`)}'`;

/**
 * Says which of the usual start-up mistakes a connection failure is (the database is
 * missing, the server is unreachable, the credentials are refused), naming the server, so
 * a user does not go looking for a down server that is up. Undefined for any other
 * error (a failing statement, say), which the caller passes on unchanged. Never includes
 * the password; the server's own message is kept in parentheses, pg's error as `cause`.
 */
export function connectionFailure(error: unknown, target: Target): Error | undefined {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const said = typeof e?.message === 'string' ? e.message.split('\n', 1)[0]! : String(error);
  const { where } = target;
  let message: string | undefined;
  if (code === '3D000') {
    const db = target.database ?? /database "(.*)" does not exist/.exec(said)?.[1] ?? '?';
    message = `database "${db}" does not exist on ${where} — create it with createdb ${shellWord(db)}`;
  } else if (code === '28P01' || code === '28000') {
    message =
      target.user === undefined
        ? `authentication failed at ${where}: no user name given (put one in the URL: postgres://USER@…)`
        : `authentication failed for user ${target.user} at ${where} (${said})`;
  } else if (code !== undefined && UNREACHABLE.has(code)) {
    message = `cannot reach PostgreSQL at ${where} (${said})`;
  } else if (
    /connection timeout|timeout expired|timeout exceeded when trying to connect/i.test(said)
  ) {
    message = `cannot reach PostgreSQL at ${where} (no answer in time: ${said})`;
  } else if (
    /Connection terminated unexpectedly|has encountered a connection error and is not queryable/i.test(
      said,
    )
  ) {
    // The second: pg's answer to a query on a client whose link already broke (the first
    // query after the cut got the real error); the pool replaces that client.
    message = `cannot reach PostgreSQL at ${where} (${said})`;
  } else if (code === '57P01' || code === '57P02') {
    // The server ended this connection (pg_terminate_backend, a shutdown): the pool makes a
    // new one on the next try, so the caller may retry, as after a dropped link.
    message = `PostgreSQL at ${where} closed the connection (${said})`;
  } else if (code === '57P03' || code === '53300') {
    message = `PostgreSQL at ${where} does not accept connections now (${said})`;
  } else if (/Query read timeout/i.test(said)) {
    message = `PostgreSQL at ${where} did not answer a query in time`;
  }
  return message === undefined
    ? undefined
    : new StoreUnavailableError(`postgresStore: ${message}`, { cause: error });
}

/**
 * The pool, migrations and transactions of the PostgreSQL store. A server that cannot be
 * reached surfaces as an Error within connectionTimeoutMillis, naming the server; a
 * missing database or refused credentials say so (see connectionFailure).
 */
export function connection(urlOrPool: string | pg.Pool, options: ConnectionOptions): Connection {
  const schema = options.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema)) throw new TypeError('postgresStore: invalid schema name');
  const ownsPool = typeof urlOrPool === 'string';
  const pool =
    typeof urlOrPool === 'string'
      ? new pg.Pool({
          connectionString: urlOrPool,
          connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5000,
          // A server that accepts the connection and then stalls must not hang a request.
          query_timeout: options.queryTimeoutMillis ?? 10_000,
          max: options.max ?? 10,
        })
      : urlOrPool;
  // An idle client losing its connection must not crash the process; the next query
  // gets a fresh connection or a clear error.
  if (ownsPool) {
    pool.on('error', () => {});
    // A client checked out for a transaction emits its own 'error' when the link drops;
    // unheard, that kills the process. The failing query rejects and is reported anyway.
    pool.on('connect', (client) => client.on('error', () => {}));
  }
  // Resolved only on a failure: the happy path builds nothing for it.
  let resolved: Target | undefined;
  const target = () => {
    resolved ??= resolveTarget(urlOrPool);
    return resolved;
  };
  const explain = (error: unknown): Error | undefined => connectionFailure(error, target());
  const t = (name: string) => `${schema}.${name}`;
  const tables: Tables = {
    U: t('nb_users'),
    S: t('nb_sessions'),
    R: t('nb_refresh_tokens'),
    L: t('nb_revocations'),
    F: t('nb_failures'),
    K: t('nb_secrets'),
    M: t('nb_meta'),
    N: t('nb_links'),
    T: t('nb_totp'),
    RC: t('nb_recovery_codes'),
    P: t('nb_passkeys'),
    CH: t('nb_challenges'),
  };

  const connect = async (): Promise<pg.PoolClient> => {
    try {
      return await pool.connect();
    } catch (error) {
      throw (
        explain(error) ??
        new StoreUnavailableError(
          `postgresStore: cannot connect to PostgreSQL at ${target().where}`,
          { cause: error },
        )
      );
    }
  };

  const rows = async (db: Queryable, sql: string, params: unknown[] = []): Promise<Row[]> =>
    (await db.query(sql, params)).rows as Row[];
  const first = async (db: Queryable, sql: string, params: unknown[] = []) =>
    (await rows(db, sql, params))[0];

  const migrate = async () => {
    const client = await connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [MIGRATION_LOCK]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${schema}.nb_schema_version (version INTEGER NOT NULL)`,
      );
      const row = await first(client, `SELECT max(version) AS v FROM ${schema}.nb_schema_version`);
      const done = row?.v === null || row?.v === undefined ? 0 : Number(row.v);
      const all = migrations(schema);
      for (let i = done; i < all.length; i++) {
        await client.query(all[i]!);
        await client.query(`INSERT INTO ${schema}.nb_schema_version (version) VALUES ($1)`, [
          i + 1,
        ]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  };

  let initialised: Promise<void> | undefined;
  const ready = (): Promise<void> => {
    initialised ??= migrate().catch((error: unknown) => {
      initialised = undefined;
      throw error;
    });
    return initialised;
  };

  let closed = false;
  return {
    tables,
    ready,
    rows,
    first,
    async tx<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
      await ready();
      for (let attempt = 1; ; attempt++) {
        const client = await connect();
        try {
          await client.query('BEGIN');
          const result = await work(client);
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          const code = (error as { code?: unknown }).code;
          if (attempt >= MAX_ATTEMPTS || typeof code !== 'string' || !RETRYABLE.has(code))
            throw explain(error) ?? error;
        } finally {
          client.release();
        }
      }
    },
    async query(sql, params = []) {
      await ready();
      try {
        return await rows(pool, sql, params);
      } catch (error) {
        throw explain(error) ?? error;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (ownsPool) await pool.end();
    },
  };
}
