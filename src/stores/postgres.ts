/**
 * `notbefore/postgres`: the PostgreSQL store, for one instance or many sharing a database,
 * and the revocation feed on the same database (LISTEN/NOTIFY: several instances without
 * Redis). Needs `pg` (and `@types/pg` for TypeScript).
 *
 * @module notbefore/postgres
 */
import type pg from 'pg';
import { type ConnectionOptions, connection } from './pg/connection.js';
import { factorWrites } from './pg/factors.js';
import { linkWrites } from './pg/links.js';
import { passkeyMethods } from './pg/passkeys.js';
import { sessionWrites } from './pg/writes.js';
import type { Store } from './port.js';
import { toFailures, toRevocation, toSession, toUser } from './rows.js';
import { reserveAttempt } from './rules.js';

export {
  type PostgresFeedOptions,
  type PostgresFeedStats,
  type PostgresRevocationFeed,
  postgresFeed,
} from '../feeds/postgres.js';

/** Where the tables live, how long to wait for PostgreSQL, and the pool size. */
export interface PostgresStoreOptions extends ConnectionOptions {
  /** Schema holding the tables (created if missing); default `public`. */
  schema?: string;
  /** How long to wait for a connection before failing (ms); default 5000. */
  connectionTimeoutMillis?: number;
  /** How long one query may take before it fails (ms); default 10000. */
  queryTimeoutMillis?: number;
  /** Pool size when the store makes the pool; default 10. */
  max?: number;
}

/**
 * The PostgreSQL store: its own migrations (pg/schema.ts), pool and transactions
 * (pg/connection.ts), and transactional writes (pg/writes.ts); the reads and the simple
 * writes are here. Several instances may share one database and start at once.
 *
 * @param urlOrPool - A `postgres://` URL (the store makes a pool and ends it on `close()`), or a
 *   `pg.Pool` of the app's, which `close()` leaves open.
 * @param options - Schema, timeouts and pool size.
 * @throws TypeError at once for an invalid schema name.
 * @example
 * ```ts
 * import { createAuth } from 'notbefore';
 * import { postgresStore } from 'notbefore/postgres';
 *
 * const store = postgresStore(process.env.DATABASE_URL ?? 'postgres://127.0.0.1/app', {
 *   schema: 'auth', // created if missing
 * });
 * const auth = createAuth({ store, issuer: 'https://auth.example.com' });
 * await auth.ready(); // runs the migrations
 * ```
 */
export function postgresStore(
  urlOrPool: string | pg.Pool,
  options: PostgresStoreOptions = {},
): Store {
  const conn = connection(urlOrPool, options);
  const { query } = conn;
  const { U, S, R, L, F, K, N } = conn.tables;
  const factors = factorWrites(conn);
  const writes = sessionWrites(conn, factors);
  const { appendLog } = writes;
  const links = linkWrites(conn);

  return {
    init: conn.ready,
    close: conn.close,
    async createUser(input) {
      const row = (
        await query(
          `INSERT INTO ${U} (id, email, password_hash, roles, created_at, email_verified)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING *`,
          [
            input.id,
            input.email,
            input.passwordHash,
            JSON.stringify(input.roles),
            input.createdAt,
            input.emailVerified === true,
          ],
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
    createSession: writes.createSession,
    rotateRefresh: writes.rotateRefresh,
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
    revokeSession: writes.revokeSession,
    revokeUser: writes.revokeUser,
    revokeToken: (input) =>
      conn.tx(
        async (c) =>
          (
            await appendLog(c, [{ kind: 'token', jti: input.jti, exp: input.exp, at: input.nowMs }])
          )[0]!,
      ),
    revokeAll: (input) => writes.revokeAll(input.nowMs),
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
    async reserveAttempt(input) {
      return conn.tx(async (c) => {
        // A zero row first, so that the row lock below serialises even the first attempts.
        await c.query(
          `INSERT INTO ${F} (key, count, window_start, last_at) VALUES ($1, 0, 0, 0)
           ON CONFLICT (key) DO NOTHING`,
          [input.key],
        );
        const row = await conn.first(c, `SELECT * FROM ${F} WHERE key = $1 FOR UPDATE`, [
          input.key,
        ]);
        const { result, next } = reserveAttempt(
          toFailures(row, input.nowMs, input.windowMs),
          input,
        );
        if (next !== null)
          await c.query(
            `UPDATE ${F} SET count = $2, window_start = $3, last_at = $4 WHERE key = $1`,
            [input.key, next.count, next.windowStart, next.lastAt],
          );
        return result;
      });
    },
    async releaseAttempt(key, nowMs, windowMs) {
      await query(
        `UPDATE ${F} SET count = count - 1 WHERE key = $1 AND count > 0 AND window_start + $3 > $2`,
        [key, nowMs, windowMs],
      );
    },
    async getFailures(key, nowMs, windowMs) {
      return toFailures(
        (await query(`SELECT * FROM ${F} WHERE key = $1`, [key]))[0],
        nowMs,
        windowMs,
      );
    },
    createLink: links.createLink,
    findLink: links.findLink,
    acceptInvitation: links.acceptInvitation,
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
      conn.tx(async (c) => {
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
        await c.query(`DELETE FROM ${N} WHERE expires_at < $1 OR used_at < $1`, [before]);
        await factors.purgeChallenges(c, nowMs);
      }),
    ...factors.methods,
    ...passkeyMethods(conn),
  };
}
