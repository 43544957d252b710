/**
 * `notbefore/sqlite`: the embedded store, one SQLite file (or `:memory:`). Needs
 * `better-sqlite3` (and `@types/better-sqlite3` for TypeScript).
 *
 * @module notbefore/sqlite
 */
import Database from 'better-sqlite3';
import type {
  FailureCount,
  NewUser,
  ReserveAttemptInput,
  ReserveAttemptResult,
  Store,
} from './port.js';
import { toFailures, toRevocation, toSession, toUser } from './rows.js';
import { reserveAttempt } from './rules.js';
import { factorWrites } from './sqlite/factors.js';
import { linkWrites } from './sqlite/links.js';
import { passkeyMethods } from './sqlite/passkeys.js';
import { MIGRATIONS } from './sqlite/schema.js';
import { sessionWrites } from './sqlite/writes.js';

/**
 * The embedded store: one SQLite file (WAL mode) or `:memory:`. better-sqlite3 is
 * synchronous, so every transaction runs to completion before any other statement of
 * this process; `BEGIN IMMEDIATE` and a busy timeout order writers of other processes.
 *
 * @param pathOrDb - A file path (created if missing; the store opens and closes it),
 *   `':memory:'` (the default: gone once closed), or an open better-sqlite3 `Database` of the
 *   app's, which `close()` leaves open.
 * @example
 * ```ts
 * import { createAuth } from 'notbefore';
 * import { sqliteStore } from 'notbefore/sqlite';
 *
 * const store = sqliteStore('auth.db'); // WAL mode; ':memory:' for tests
 * const auth = createAuth({ store, issuer: 'https://auth.example.com' });
 * await auth.ready(); // creates the tables
 * ```
 */
export function sqliteStore(pathOrDb: string | Database.Database = ':memory:'): Store {
  const db = typeof pathOrDb === 'string' ? new Database(pathOrDb) : pathOrDb;
  const ownsDb = typeof pathOrDb === 'string';
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  const factors = factorWrites(db);

  const {
    one,
    all,
    run,
    log,
    liveSessionsOf,
    userById,
    sessionBySid,
    createSession,
    rotateRefresh,
    revokeSession,
    revokeUser,
    revokeAll,
  } = sessionWrites(db, factors);
  const links = linkWrites(db);

  const failuresOf = (key: string, nowMs: number, windowMs: number): FailureCount =>
    toFailures(one('SELECT * FROM nb_failures WHERE key = ?', key), nowMs, windowMs);

  const reserve = db.transaction((input: ReserveAttemptInput): ReserveAttemptResult => {
    const { result, next } = reserveAttempt(
      failuresOf(input.key, input.nowMs, input.windowMs),
      input,
    );
    if (next !== null)
      run(
        `INSERT INTO nb_failures (key, count, window_start, last_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET count = excluded.count,
           window_start = excluded.window_start, last_at = excluded.last_at`,
        input.key,
        next.count,
        next.windowStart,
        next.lastAt,
      );
    return result;
  });

  const release = db.transaction((key: string, nowMs: number, windowMs: number) => {
    if (failuresOf(key, nowMs, windowMs).count > 0)
      run('UPDATE nb_failures SET count = count - 1 WHERE key = ? AND count > 0', key);
  });

  const getOrCreateSecret = db.transaction((name: string, value: string): string => {
    run(
      'INSERT INTO nb_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING',
      name,
      value,
    );
    return String(one('SELECT value FROM nb_secrets WHERE name = ?', name)?.value);
  });

  const purge = db.transaction((nowMs: number, windowMs: number) => {
    const before = nowMs - windowMs;
    run(
      'DELETE FROM nb_revocations WHERE live_from < ? AND seq < (SELECT MAX(seq) FROM nb_revocations)',
      before,
    );
    run(
      'DELETE FROM nb_refresh_tokens WHERE sid IN (SELECT sid FROM nb_sessions WHERE revoked_at < ? OR absolute_expires_at < ? OR idle_expires_at < ?)',
      before,
      before,
      before,
    );
    run(
      'DELETE FROM nb_sessions WHERE revoked_at < ? OR absolute_expires_at < ? OR idle_expires_at < ?',
      before,
      before,
      before,
    );
    run('DELETE FROM nb_failures WHERE window_start < ?', before);
    run('DELETE FROM nb_links WHERE expires_at < ? OR used_at < ?', before, before);
    factors.purgeChallenges(nowMs);
  });

  let closed = false;
  return {
    async init() {},
    async close() {
      if (closed) return;
      closed = true;
      if (ownsDb) db.close();
    },
    async createUser(input: NewUser) {
      const info = run(
        `INSERT INTO nb_users (id, email, password_hash, roles, created_at, email_verified)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        input.id,
        input.email,
        input.passwordHash,
        JSON.stringify(input.roles),
        input.createdAt,
        input.emailVerified === true ? 1 : 0,
      );
      return info.changes === 0 ? null : userById(input.id);
    },
    async getUser(id) {
      return userById(id);
    },
    async findUserByEmail(email) {
      const row = one('SELECT * FROM nb_users WHERE email = ?', email);
      return row === undefined ? null : toUser(row);
    },
    async rehashPassword(userId, expected, next) {
      return (
        run(
          'UPDATE nb_users SET password_hash = ? WHERE id = ? AND password_hash = ?',
          next,
          userId,
          expected,
        ).changes === 1
      );
    },
    async enableUser(userId) {
      run('UPDATE nb_users SET disabled = 0 WHERE id = ?', userId);
      return userById(userId);
    },
    async createSession(input) {
      return createSession(input);
    },
    async rotateRefresh(input) {
      return rotateRefresh(input);
    },
    async getSession(sid) {
      return sessionBySid(sid);
    },
    async findSessionByRefresh(refreshHash) {
      const row = one(
        'SELECT s.* FROM nb_refresh_tokens r JOIN nb_sessions s ON s.sid = r.sid WHERE r.hash = ?',
        refreshHash,
      );
      return row === undefined ? null : toSession(row);
    },
    async listSessions(userId, nowMs) {
      return liveSessionsOf(userId, nowMs);
    },
    async revokeSession(input) {
      return revokeSession(input);
    },
    async revokeUser(input) {
      return revokeUser(input);
    },
    async revokeToken(input) {
      return log({ kind: 'token', jti: input.jti, exp: input.exp, at: input.nowMs });
    },
    async revokeAll(input) {
      return revokeAll(input.nowMs);
    },
    async revocationsSince(seq, limit = 1000) {
      return all('SELECT * FROM nb_revocations WHERE seq > ? ORDER BY seq LIMIT ?', seq, limit).map(
        toRevocation,
      );
    },
    async latestRevocationSeq() {
      return Number(one('SELECT COALESCE(MAX(seq), 0) AS seq FROM nb_revocations')?.seq ?? 0);
    },
    async liveRevocations(nowMs, windowMs) {
      return all(
        'SELECT * FROM nb_revocations WHERE live_from >= ? ORDER BY seq',
        nowMs - windowMs,
      ).map(toRevocation);
    },
    async reserveAttempt(input) {
      return reserve.immediate(input);
    },
    async releaseAttempt(key, nowMs, windowMs) {
      release.immediate(key, nowMs, windowMs);
    },
    async getFailures(key, nowMs, windowMs) {
      return failuresOf(key, nowMs, windowMs);
    },
    async createLink(input) {
      return links.createLink(input);
    },
    async findLink(kind, tokenHash, nowMs) {
      return links.findLink(kind, tokenHash, nowMs);
    },
    async acceptInvitation(input) {
      return links.acceptInvitation(input);
    },
    async getOrCreateSecret(name, value) {
      return getOrCreateSecret.immediate(name, value);
    },
    async replaceSecret(name, expected, next) {
      return (
        run('UPDATE nb_secrets SET value = ? WHERE name = ? AND value = ?', next, name, expected)
          .changes === 1
      );
    },
    async purge(nowMs, windowMs) {
      purge.immediate(nowMs, windowMs);
    },
    ...passkeyMethods(db),
    ...factors.methods,
  };
}

/**
 * Applies the migrations the file has not seen, each with its version bump in one
 * immediate transaction: a second process opening the file at once waits, then skips them.
 */
function migrate(db: Database.Database): void {
  const step = db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version >= MIGRATIONS.length) return false;
    db.exec(MIGRATIONS[version]!);
    db.pragma(`user_version = ${version + 1}`);
    return true;
  });
  while (step.immediate()) {
    // one migration per transaction
  }
}
