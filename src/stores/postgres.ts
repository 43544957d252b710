import pg from 'pg';
import type { RevocationEvent } from '../revocation/events.js';
import type {
  CreateSessionResult,
  LoggedRevocation,
  NewSession,
  RevokeSessionInput,
  RevokeUserInput,
  RevokeUserResult,
  RotateInput,
  RotateResult,
  Store,
  StoredSession,
  StoredUser,
} from './port.js';
import {
  cutoffAfter,
  isLive,
  issueAt,
  liveFrom,
  toFailures,
  toRevocation,
  toSession,
  toUser,
} from './rows.js';

type Row = Record<string, unknown>;
type Queryable = pg.Pool | pg.PoolClient;

export interface PostgresStoreOptions {
  /** Schema holding the tables (created if missing); default `public`. */
  schema?: string;
  /** How long to wait for a connection before failing (ms); default 5000. */
  connectionTimeoutMillis?: number;
  /** How long one query may take before it fails (ms); default 10000. */
  queryTimeoutMillis?: number;
  /** Pool size when the store makes the pool; default 10. */
  max?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const MIGRATION_LOCK = 'notbefore:migrate';
/** Serialises appends to the log, so seq order is commit order (see appendLog). */
const LOG_LOCK = 'notbefore:revocation-log';
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

const migrations = (s: string): string[] => [
  `CREATE TABLE IF NOT EXISTS ${s}.nb_users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    tokens_valid_after BIGINT NOT NULL DEFAULT 0
  );
  CREATE TABLE IF NOT EXISTS ${s}.nb_sessions (
    sid TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    device TEXT,
    client_key TEXT,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    auth_time BIGINT NOT NULL,
    last_issued_at BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoke_cause TEXT
  );
  CREATE INDEX IF NOT EXISTS nb_sessions_user ON ${s}.nb_sessions (user_id, created_at);
  CREATE TABLE IF NOT EXISTS ${s}.nb_refresh_tokens (
    hash TEXT PRIMARY KEY,
    sid TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    rotated_at BIGINT
  );
  CREATE INDEX IF NOT EXISTS nb_refresh_tokens_sid ON ${s}.nb_refresh_tokens (sid);
  CREATE TABLE IF NOT EXISTS ${s}.nb_revocations (
    seq BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    live_from BIGINT NOT NULL,
    event TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS nb_revocations_live ON ${s}.nb_revocations (live_from);
  CREATE TABLE IF NOT EXISTS ${s}.nb_failures (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    window_start BIGINT NOT NULL,
    last_at BIGINT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS ${s}.nb_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS ${s}.nb_meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL);`,
];

function describeTarget(urlOrPool: string | pg.Pool): string {
  if (typeof urlOrPool !== 'string') return 'the given pool';
  try {
    const url = new URL(urlOrPool);
    return `${url.hostname}:${url.port || '5432'}`;
  } catch {
    return 'the configured server';
  }
}

/**
 * The PostgreSQL store: applies its own migrations (under an advisory lock, so several
 * instances may start at once), serialises conflicting operations with row locks taken
 * in one order everywhere (user → session → refresh token → log), and appends the
 * revocation log under a transaction-scoped advisory lock so that seq order equals
 * commit order — a reader that has seen seq n never later finds a smaller new one.
 * A server that cannot be reached surfaces as an Error within connectionTimeoutMillis.
 */
export function postgresStore(
  urlOrPool: string | pg.Pool,
  options: PostgresStoreOptions = {},
): Store {
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
  if (ownsPool) pool.on('error', () => {});
  const target = describeTarget(urlOrPool);
  const t = (name: string) => `${schema}.${name}`;
  const U = t('nb_users');
  const S = t('nb_sessions');
  const R = t('nb_refresh_tokens');
  const L = t('nb_revocations');
  const F = t('nb_failures');
  const K = t('nb_secrets');
  const M = t('nb_meta');

  const connect = async (): Promise<pg.PoolClient> => {
    try {
      return await pool.connect();
    } catch (error) {
      throw new Error(`postgresStore: cannot connect to PostgreSQL at ${target}`, {
        cause: error,
      });
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

  const tx = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
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
          throw error;
      } finally {
        client.release();
      }
    }
  };

  const query = async (sql: string, params: unknown[] = []): Promise<Row[]> => {
    await ready();
    try {
      return await rows(pool, sql, params);
    } catch (error) {
      if (error instanceof Error && /timeout|ECONNREFUSED|connect/i.test(error.message))
        throw new Error(`postgresStore: cannot connect to PostgreSQL at ${target}`, {
          cause: error,
        });
      throw error;
    }
  };

  const lockUser = async (c: pg.PoolClient, id: string, mode: 'UPDATE' | 'SHARE') => {
    const row = await first(c, `SELECT * FROM ${U} WHERE id = $1 FOR ${mode}`, [id]);
    return row === undefined ? null : toUser(row);
  };
  const globalCutoff = async (c: pg.PoolClient) =>
    Number(
      (await first(c, `SELECT value FROM ${M} WHERE name = 'global_valid_after'`))?.value ?? 0,
    );

  /** Must be the last statement group of a transaction: it holds the log lock to commit. */
  const appendLog = async (c: pg.PoolClient, events: RevocationEvent[]) => {
    if (events.length === 0) return [];
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [LOG_LOCK]);
    const logged: LoggedRevocation[] = [];
    for (const event of events) {
      const row = await first(
        c,
        `INSERT INTO ${L} (kind, at, live_from, event) VALUES ($1, $2, $3, $4) RETURNING seq`,
        [event.kind, event.at, liveFrom(event), JSON.stringify(event)],
      );
      logged.push({ seq: Number(row?.seq), event });
    }
    return logged;
  };

  const endSession = async (
    c: pg.PoolClient,
    session: StoredSession,
    nowMs: number,
    cause: 'logout' | 'reuse' | 'expired' | 'evicted' | 'revoked',
  ): Promise<RevocationEvent> => {
    await c.query(`UPDATE ${S} SET revoked_at = $1, revoke_cause = $2 WHERE sid = $3`, [
      nowMs,
      cause,
      session.sid,
    ]);
    await c.query(`DELETE FROM ${R} WHERE sid = $1`, [session.sid]);
    return { kind: 'session', sid: session.sid, sub: session.userId, at: nowMs, cause };
  };

  const createSession = (input: NewSession): Promise<CreateSessionResult> =>
    tx(async (c) => {
      // FOR UPDATE: logins of one user queue up, so the session cap is exact.
      const user = await lockUser(c, input.userId, 'UPDATE');
      if (user === null) return { ok: false, reason: 'no-user' };
      if (user.disabled) return { ok: false, reason: 'disabled' };
      if (user.passwordHash !== input.expectPasswordHash)
        return { ok: false, reason: 'credentials-changed' };
      const now = input.nowMs;
      const live = (
        await rows(
          c,
          `SELECT * FROM ${S} WHERE user_id = $1 AND revoked_at IS NULL
           ORDER BY created_at, sid FOR UPDATE`,
          [user.id],
        )
      )
        .map(toSession)
        .filter((s) => isLive(s, now));
      const excess = live.length + 1 - Math.max(1, input.maxSessions);
      const events: RevocationEvent[] = [];
      for (const old of live.slice(0, Math.max(0, excess)))
        events.push(await endSession(c, old, now, 'evicted'));
      const issuedAt = issueAt(now, user.tokensValidAfter, await globalCutoff(c));
      const absolute = now + input.absoluteTtlMs;
      const session = toSession(
        (await first(
          c,
          `INSERT INTO ${S} (sid, user_id, device, client_key, created_at, last_seen_at,
             auth_time, last_issued_at, idle_expires_at, absolute_expires_at)
           VALUES ($1, $2, $3, $4, $5, $5, $5, $6, $7, $8) RETURNING *`,
          [
            input.sid,
            user.id,
            input.device,
            input.clientKey,
            now,
            issuedAt,
            Math.min(now + input.idleTtlMs, absolute),
            absolute,
          ],
        ))!,
      );
      await c.query(`INSERT INTO ${R} (hash, sid, created_at) VALUES ($1, $2, $3)`, [
        input.refreshHash,
        input.sid,
        now,
      ]);
      const evicted = await appendLog(c, events);
      return { ok: true, session, user, issuedAt, evicted };
    });

  const rotateRefresh = (input: RotateInput): Promise<RotateResult> =>
    tx(async (c) => {
      const invalid: RotateResult = { kind: 'invalid' };
      const peek = await first(
        c,
        `SELECT s.user_id, s.sid FROM ${R} r JOIN ${S} s ON s.sid = r.sid WHERE r.hash = $1`,
        [input.presentedHash],
      );
      if (peek === undefined) return invalid;
      // Lock order user → session → token, as everywhere; the global cutoff rides along.
      const userRow = await first(
        c,
        `SELECT u.*, (SELECT value FROM ${M} WHERE name = 'global_valid_after') AS global_cutoff
         FROM ${U} u WHERE u.id = $1 FOR SHARE OF u`,
        [peek.user_id],
      );
      if (userRow === undefined) return invalid;
      const user = toUser(userRow);
      const global = Number(userRow.global_cutoff ?? 0);
      if (user.disabled) return invalid;
      const sessionRow = await first(c, `SELECT * FROM ${S} WHERE sid = $1 FOR UPDATE`, [peek.sid]);
      if (sessionRow === undefined) return invalid;
      const session = toSession(sessionRow);
      if (session.revokedAt !== null || session.userId !== user.id) return invalid;
      const token = await first(c, `SELECT * FROM ${R} WHERE hash = $1 FOR UPDATE`, [
        input.presentedHash,
      ]);
      if (token === undefined || token.sid !== session.sid) return invalid;
      const now = input.nowMs;
      if (now >= session.idleExpiresAt || now >= session.absoluteExpiresAt) {
        const event = await endSession(c, session, now, 'expired');
        return { kind: 'expired', revocation: (await appendLog(c, [event]))[0]! };
      }
      const rotatedAt = token.rotated_at === null ? null : Number(token.rotated_at);
      const issuedAt = issueAt(now, user.tokensValidAfter, global);
      const touch = `UPDATE ${S} SET last_seen_at = $1, idle_expires_at = $2,
           last_issued_at = GREATEST(last_issued_at, $3) WHERE sid = $4 RETURNING *`;
      const touchParams = [
        now,
        Math.min(now + input.idleTtlMs, session.absoluteExpiresAt),
        issuedAt,
        session.sid,
      ];
      if (rotatedAt === null) {
        // One round trip for the three writes of a rotation.
        const updated = await first(
          c,
          `WITH rotated AS (UPDATE ${R} SET rotated_at = $1 WHERE hash = $5),
                successor AS (INSERT INTO ${R} (hash, sid, created_at) VALUES ($6, $4, $1))
           ${touch}`,
          [...touchParams, input.presentedHash, input.successorHash],
        );
        return { kind: 'rotated', session: toSession(updated!), user, issuedAt };
      }
      if (now - rotatedAt <= input.graceMs) {
        const successor = await first(c, `SELECT sid FROM ${R} WHERE hash = $1`, [
          input.successorHash,
        ]);
        if (successor === undefined || successor.sid !== session.sid) return invalid;
        const updated = await first(c, touch, touchParams);
        return { kind: 'grace', session: toSession(updated!), user, issuedAt };
      }
      const event = await endSession(c, session, now, 'reuse');
      return { kind: 'reused', revocation: (await appendLog(c, [event]))[0]! };
    });

  const revokeSession = (input: RevokeSessionInput): Promise<LoggedRevocation | null> =>
    tx(async (c) => {
      const row = await first(c, `SELECT * FROM ${S} WHERE sid = $1 FOR UPDATE`, [input.sid]);
      if (row === undefined) return null;
      const session = toSession(row);
      if (session.revokedAt !== null) return null;
      if (input.userId !== undefined && session.userId !== input.userId) return null;
      const event = await endSession(c, session, input.nowMs, input.cause);
      return (await appendLog(c, [event]))[0]!;
    });

  const revokeUser = (input: RevokeUserInput): Promise<RevokeUserResult> =>
    tx(async (c) => {
      const user = await lockUser(c, input.userId, 'UPDATE');
      if (user === null) return { ok: false, reason: 'no-user' };
      if (input.expectPasswordHash !== undefined && user.passwordHash !== input.expectPasswordHash)
        return { ok: false, reason: 'conflict' };
      const now = input.nowMs;
      const sessions = (
        await rows(
          c,
          `SELECT * FROM ${S} WHERE user_id = $1 AND revoked_at IS NULL ORDER BY sid FOR UPDATE`,
          [user.id],
        )
      ).map(toSession);
      const keep = input.scope === 'sessions' ? input.keep : undefined;
      if (keep !== undefined) {
        const kept = sessions.find((s) => s.sid === keep.sid);
        if (kept === undefined || !isLive(kept, now)) return { ok: false, reason: 'no-session' };
      }
      const at = cutoffAfter(
        now,
        sessions.map((s) => s.lastIssuedAt),
        user.tokensValidAfter,
      );
      const endedSids: string[] = [];
      if (input.scope === 'sessions') {
        const ending = sessions.filter((s) => s.sid !== keep?.sid).map((s) => s.sid);
        if (ending.length > 0) {
          await c.query(
            `UPDATE ${S} SET revoked_at = $1, revoke_cause = $2 WHERE sid = ANY($3::text[])`,
            [now, input.cause, ending],
          );
          await c.query(`DELETE FROM ${R} WHERE sid = ANY($1::text[])`, [ending]);
        }
        endedSids.push(...ending);
      }
      const change = input.change ?? {};
      let kept: { session: StoredSession; issuedAt: number } | undefined;
      if (keep !== undefined) {
        const issuedAt = issueAt(now, at, await globalCutoff(c));
        await c.query(`DELETE FROM ${R} WHERE sid = $1`, [keep.sid]);
        await c.query(`INSERT INTO ${R} (hash, sid, created_at) VALUES ($1, $2, $3)`, [
          keep.refreshHash,
          keep.sid,
          now,
        ]);
        const row = await first(
          c,
          `UPDATE ${S} SET auth_time = $1, last_seen_at = $2,
             last_issued_at = GREATEST(last_issued_at, $3) WHERE sid = $4 RETURNING *`,
          [keep.authTime, now, issuedAt, keep.sid],
        );
        kept = { session: toSession(row!), issuedAt };
      }
      let after: StoredUser | null = null;
      if (change.deleted === true) {
        await c.query(`DELETE FROM ${R} WHERE sid IN (SELECT sid FROM ${S} WHERE user_id = $1)`, [
          user.id,
        ]);
        await c.query(`DELETE FROM ${S} WHERE user_id = $1`, [user.id]);
        await c.query(`DELETE FROM ${U} WHERE id = $1`, [user.id]);
      } else {
        after = toUser(
          (await first(
            c,
            `UPDATE ${U} SET tokens_valid_after = $1, password_hash = $2, roles = $3, disabled = $4
             WHERE id = $5 RETURNING *`,
            [
              at,
              change.passwordHash ?? user.passwordHash,
              JSON.stringify(change.roles ?? user.roles),
              change.disabled ?? user.disabled,
              user.id,
            ],
          ))!,
        );
      }
      const event: RevocationEvent =
        keep === undefined
          ? { kind: 'user', sub: user.id, at, scope: input.scope, cause: input.cause }
          : {
              kind: 'user',
              sub: user.id,
              at,
              scope: input.scope,
              cause: input.cause,
              exceptSid: keep.sid,
            };
      const revocation = (await appendLog(c, [event]))[0]!;
      return kept === undefined
        ? { ok: true, revocation, user: after, endedSids }
        : { ok: true, revocation, user: after, endedSids, kept };
    });

  const revokeAll = (nowMs: number): Promise<LoggedRevocation> =>
    tx(async (c) => {
      // The UPDATE waits for refreshes holding session rows and returns their newest
      // last_issued_at, so the cutoff lands after every token already minted.
      const ended = await rows(
        c,
        `UPDATE ${S} SET revoked_at = $1, revoke_cause = 'global'
         WHERE revoked_at IS NULL RETURNING last_issued_at`,
        [nowMs],
      );
      const at = cutoffAfter(
        nowMs,
        ended.map((r) => Number(r.last_issued_at)),
        await globalCutoff(c),
      );
      await c.query(`DELETE FROM ${R}`);
      await c.query(
        `INSERT INTO ${M} (name, value) VALUES ('global_valid_after', $1)
         ON CONFLICT (name) DO UPDATE SET value = GREATEST(${M}.value, excluded.value)`,
        [at],
      );
      return (await appendLog(c, [{ kind: 'global', at }]))[0]!;
    });

  let closed = false;
  return {
    init: ready,
    async close() {
      if (closed) return;
      closed = true;
      if (ownsPool) await pool.end();
    },
    async createUser(input) {
      const row = (
        await query(
          `INSERT INTO ${U} (id, email, password_hash, roles, created_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING *`,
          [input.id, input.email, input.passwordHash, JSON.stringify(input.roles), input.createdAt],
        )
      )[0];
      return row === undefined ? null : toUser(row);
    },
    async getUser(id) {
      const row = (await query(`SELECT * FROM ${U} WHERE id = $1`, [id]))[0];
      return row === undefined ? null : toUser(row);
    },
    async findUserByEmail(email) {
      const row = (await query(`SELECT * FROM ${U} WHERE email = $1`, [email]))[0];
      return row === undefined ? null : toUser(row);
    },
    async rehashPassword(userId, expected, next) {
      const changed = await query(
        `UPDATE ${U} SET password_hash = $1 WHERE id = $2 AND password_hash = $3 RETURNING id`,
        [next, userId, expected],
      );
      return changed.length === 1;
    },
    async enableUser(userId) {
      const row = (
        await query(`UPDATE ${U} SET disabled = FALSE WHERE id = $1 RETURNING *`, [userId])
      )[0];
      return row === undefined ? null : toUser(row);
    },
    createSession,
    rotateRefresh,
    async getSession(sid) {
      const row = (await query(`SELECT * FROM ${S} WHERE sid = $1`, [sid]))[0];
      return row === undefined ? null : toSession(row);
    },
    async findSessionByRefresh(refreshHash) {
      const row = (
        await query(`SELECT s.* FROM ${R} r JOIN ${S} s ON s.sid = r.sid WHERE r.hash = $1`, [
          refreshHash,
        ])
      )[0];
      return row === undefined ? null : toSession(row);
    },
    async listSessions(userId, nowMs) {
      return (
        await query(
          `SELECT * FROM ${S} WHERE user_id = $1 AND revoked_at IS NULL
             AND idle_expires_at > $2 AND absolute_expires_at > $2
           ORDER BY created_at, sid`,
          [userId, nowMs],
        )
      ).map(toSession);
    },
    revokeSession,
    revokeUser,
    revokeToken: (input) =>
      tx(
        async (c) =>
          (
            await appendLog(c, [{ kind: 'token', jti: input.jti, exp: input.exp, at: input.nowMs }])
          )[0]!,
      ),
    revokeAll: (input) => revokeAll(input.nowMs),
    async revocationsSince(seq, limit = 1000) {
      return (
        await query(`SELECT * FROM ${L} WHERE seq > $1 ORDER BY seq LIMIT $2`, [seq, limit])
      ).map(toRevocation);
    },
    async latestRevocationSeq() {
      const row = (await query(`SELECT max(seq) AS seq FROM ${L}`))[0];
      return row?.seq === null || row?.seq === undefined ? 0 : Number(row.seq);
    },
    async liveRevocations(nowMs, windowMs) {
      return (
        await query(`SELECT * FROM ${L} WHERE live_from >= $1 ORDER BY seq`, [nowMs - windowMs])
      ).map(toRevocation);
    },
    async recordFailure(key, nowMs, windowMs) {
      const row = (
        await query(
          `INSERT INTO ${F} AS f (key, count, window_start, last_at) VALUES ($1, 1, $2, $2)
           ON CONFLICT (key) DO UPDATE SET
             count = CASE WHEN f.window_start + $3 <= $2 THEN 1 ELSE f.count + 1 END,
             window_start = CASE WHEN f.window_start + $3 <= $2 THEN $2 ELSE f.window_start END,
             last_at = $2
           RETURNING *`,
          [key, nowMs, windowMs],
        )
      )[0];
      return toFailures(row, nowMs, windowMs);
    },
    async getFailures(key, nowMs, windowMs) {
      return toFailures(
        (await query(`SELECT * FROM ${F} WHERE key = $1`, [key]))[0],
        nowMs,
        windowMs,
      );
    },
    async clearFailures(key) {
      await query(`DELETE FROM ${F} WHERE key = $1`, [key]);
    },
    async getOrCreateSecret(name, value) {
      await query(`INSERT INTO ${K} (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [
        name,
        value,
      ]);
      return String((await query(`SELECT value FROM ${K} WHERE name = $1`, [name]))[0]?.value);
    },
    async replaceSecret(name, expected, next) {
      const changed = await query(
        `UPDATE ${K} SET value = $1 WHERE name = $2 AND value = $3 RETURNING name`,
        [next, name, expected],
      );
      return changed.length === 1;
    },
    purge: (nowMs, windowMs) =>
      tx(async (c) => {
        const before = nowMs - windowMs;
        // The newest entry stays, so latestRevocationSeq never goes back.
        await c.query(
          `DELETE FROM ${L} WHERE live_from < $1 AND seq < (SELECT max(seq) FROM ${L})`,
          [before],
        );
        const ended = `SELECT sid FROM ${S}
          WHERE revoked_at < $1 OR absolute_expires_at < $1 OR idle_expires_at < $1`;
        await c.query(`DELETE FROM ${R} WHERE sid IN (${ended})`, [before]);
        await c.query(
          `DELETE FROM ${S} WHERE revoked_at < $1 OR absolute_expires_at < $1 OR idle_expires_at < $1`,
          [before],
        );
        await c.query(`DELETE FROM ${F} WHERE window_start < $1`, [before]);
      }),
  };
}
