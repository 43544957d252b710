import Database from 'better-sqlite3';
import type { RevocationEvent } from '../revocation/events.js';
import type {
  CreateSessionResult,
  FailureCount,
  LoggedRevocation,
  NewSession,
  NewUser,
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS nb_users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  roles TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  tokens_valid_after INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS nb_sessions (
  sid TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  device TEXT,
  client_key TEXT,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  auth_time INTEGER NOT NULL,
  last_issued_at INTEGER NOT NULL,
  idle_expires_at INTEGER NOT NULL,
  absolute_expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  revoke_cause TEXT
);
CREATE INDEX IF NOT EXISTS nb_sessions_user ON nb_sessions (user_id, created_at);
CREATE TABLE IF NOT EXISTS nb_refresh_tokens (
  hash TEXT PRIMARY KEY,
  sid TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  rotated_at INTEGER
);
CREATE INDEX IF NOT EXISTS nb_refresh_tokens_sid ON nb_refresh_tokens (sid);
CREATE TABLE IF NOT EXISTS nb_revocations (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  at INTEGER NOT NULL,
  live_from INTEGER NOT NULL,
  event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS nb_revocations_live ON nb_revocations (live_from);
CREATE TABLE IF NOT EXISTS nb_failures (
  key TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  window_start INTEGER NOT NULL,
  last_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nb_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nb_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/**
 * The embedded store: one SQLite file (WAL mode) or `:memory:`. better-sqlite3 is
 * synchronous, so every transaction runs to completion before any other statement of
 * this process; `BEGIN IMMEDIATE` and a busy timeout order writers of other processes.
 */
export function sqliteStore(pathOrDb: string | Database.Database = ':memory:'): Store {
  const db = typeof pathOrDb === 'string' ? new Database(pathOrDb) : pathOrDb;
  const ownsDb = typeof pathOrDb === 'string';
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.exec(SCHEMA);

  const one = (sql: string, ...params: unknown[]): Row | undefined =>
    db.prepare(sql).get(...params) as Row | undefined;
  const all = (sql: string, ...params: unknown[]): Row[] => db.prepare(sql).all(...params) as Row[];
  const run = (sql: string, ...params: unknown[]) => db.prepare(sql).run(...params);

  const userById = (id: string): StoredUser | null => {
    const row = one('SELECT * FROM nb_users WHERE id = ?', id);
    return row === undefined ? null : toUser(row);
  };
  const sessionBySid = (sid: string): StoredSession | null => {
    const row = one('SELECT * FROM nb_sessions WHERE sid = ?', sid);
    return row === undefined ? null : toSession(row);
  };
  const globalCutoff = (): number =>
    Number(one("SELECT value FROM nb_meta WHERE name = 'global_valid_after'")?.value ?? 0);

  const log = (event: RevocationEvent): LoggedRevocation => {
    const info = run(
      'INSERT INTO nb_revocations (kind, at, live_from, event) VALUES (?, ?, ?, ?)',
      event.kind,
      event.at,
      liveFrom(event),
      JSON.stringify(event),
    );
    return { seq: Number(info.lastInsertRowid), event };
  };

  const endSession = (
    session: StoredSession,
    nowMs: number,
    cause: 'logout' | 'reuse' | 'expired' | 'evicted' | 'revoked',
  ): LoggedRevocation => {
    run(
      'UPDATE nb_sessions SET revoked_at = ?, revoke_cause = ? WHERE sid = ?',
      nowMs,
      cause,
      session.sid,
    );
    run('DELETE FROM nb_refresh_tokens WHERE sid = ?', session.sid);
    return log({ kind: 'session', sid: session.sid, sub: session.userId, at: nowMs, cause });
  };

  const liveSessionsOf = (userId: string, nowMs: number): StoredSession[] =>
    all(
      'SELECT * FROM nb_sessions WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at, sid',
      userId,
    )
      .map(toSession)
      .filter((s) => isLive(s, nowMs));

  const createSession = db.transaction((input: NewSession): CreateSessionResult => {
    const user = userById(input.userId);
    if (user === null) return { ok: false, reason: 'no-user' };
    if (user.disabled) return { ok: false, reason: 'disabled' };
    if (user.passwordHash !== input.expectPasswordHash)
      return { ok: false, reason: 'credentials-changed' };
    const now = input.nowMs;
    const live = liveSessionsOf(user.id, now);
    const evicted: LoggedRevocation[] = [];
    const excess = live.length + 1 - Math.max(1, input.maxSessions);
    for (const old of live.slice(0, Math.max(0, excess)))
      evicted.push(endSession(old, now, 'evicted'));
    const issuedAt = issueAt(now, user.tokensValidAfter, globalCutoff());
    const absolute = now + input.absoluteTtlMs;
    run(
      `INSERT INTO nb_sessions (sid, user_id, device, client_key, created_at, last_seen_at,
        auth_time, last_issued_at, idle_expires_at, absolute_expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      input.sid,
      user.id,
      input.device,
      input.clientKey,
      now,
      now,
      now,
      issuedAt,
      Math.min(now + input.idleTtlMs, absolute),
      absolute,
    );
    run(
      'INSERT INTO nb_refresh_tokens (hash, sid, created_at) VALUES (?, ?, ?)',
      input.refreshHash,
      input.sid,
      now,
    );
    const session = sessionBySid(input.sid)!;
    return { ok: true, session, user, issuedAt, evicted };
  });

  const rotateRefresh = db.transaction((input: RotateInput): RotateResult => {
    const token = one('SELECT * FROM nb_refresh_tokens WHERE hash = ?', input.presentedHash);
    if (token === undefined) return { kind: 'invalid' };
    const session = sessionBySid(String(token.sid));
    if (session === null || session.revokedAt !== null) return { kind: 'invalid' };
    const user = userById(session.userId);
    if (user === null || user.disabled) return { kind: 'invalid' };
    const now = input.nowMs;
    if (now >= session.idleExpiresAt || now >= session.absoluteExpiresAt)
      return { kind: 'expired', revocation: endSession(session, now, 'expired') };
    const rotatedAt = token.rotated_at === null ? null : Number(token.rotated_at);
    let kind: 'rotated' | 'grace';
    if (rotatedAt === null) {
      run('UPDATE nb_refresh_tokens SET rotated_at = ? WHERE hash = ?', now, input.presentedHash);
      run(
        'INSERT INTO nb_refresh_tokens (hash, sid, created_at) VALUES (?, ?, ?)',
        input.successorHash,
        session.sid,
        now,
      );
      kind = 'rotated';
    } else if (now - rotatedAt <= input.graceMs) {
      const successor = one(
        'SELECT sid FROM nb_refresh_tokens WHERE hash = ?',
        input.successorHash,
      );
      if (successor === undefined || successor.sid !== session.sid) return { kind: 'invalid' };
      kind = 'grace';
    } else {
      return { kind: 'reused', revocation: endSession(session, now, 'reuse') };
    }
    const issuedAt = issueAt(now, user.tokensValidAfter, globalCutoff());
    run(
      `UPDATE nb_sessions SET last_seen_at = ?, idle_expires_at = ?,
         last_issued_at = MAX(last_issued_at, ?) WHERE sid = ?`,
      now,
      Math.min(now + input.idleTtlMs, session.absoluteExpiresAt),
      issuedAt,
      session.sid,
    );
    return { kind, session: sessionBySid(session.sid)!, user, issuedAt };
  });

  const revokeSession = db.transaction((input: RevokeSessionInput): LoggedRevocation | null => {
    const session = sessionBySid(input.sid);
    if (session === null || session.revokedAt !== null) return null;
    if (input.userId !== undefined && session.userId !== input.userId) return null;
    return endSession(session, input.nowMs, input.cause);
  });

  const revokeUser = db.transaction((input: RevokeUserInput): RevokeUserResult => {
    const user = userById(input.userId);
    if (user === null) return { ok: false, reason: 'no-user' };
    if (input.expectPasswordHash !== undefined && user.passwordHash !== input.expectPasswordHash)
      return { ok: false, reason: 'conflict' };
    const now = input.nowMs;
    const sessions = all(
      'SELECT * FROM nb_sessions WHERE user_id = ? AND revoked_at IS NULL',
      user.id,
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
      for (const s of sessions) {
        if (s.sid === keep?.sid) continue;
        run(
          'UPDATE nb_sessions SET revoked_at = ?, revoke_cause = ? WHERE sid = ?',
          now,
          input.cause,
          s.sid,
        );
        run('DELETE FROM nb_refresh_tokens WHERE sid = ?', s.sid);
        endedSids.push(s.sid);
      }
    }
    const change = input.change ?? {};
    if (change.deleted === true) {
      run(
        'DELETE FROM nb_refresh_tokens WHERE sid IN (SELECT sid FROM nb_sessions WHERE user_id = ?)',
        user.id,
      );
      run('DELETE FROM nb_sessions WHERE user_id = ?', user.id);
      run('DELETE FROM nb_users WHERE id = ?', user.id);
    } else {
      run(
        `UPDATE nb_users SET tokens_valid_after = ?, password_hash = ?, roles = ?, disabled = ?
         WHERE id = ?`,
        at,
        change.passwordHash ?? user.passwordHash,
        JSON.stringify(change.roles ?? user.roles),
        (change.disabled ?? user.disabled) ? 1 : 0,
        user.id,
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
    const revocation = log(event);
    let kept: { session: StoredSession; issuedAt: number } | undefined;
    if (keep !== undefined) {
      const issuedAt = issueAt(now, at, globalCutoff());
      run('DELETE FROM nb_refresh_tokens WHERE sid = ?', keep.sid);
      run(
        'INSERT INTO nb_refresh_tokens (hash, sid, created_at) VALUES (?, ?, ?)',
        keep.refreshHash,
        keep.sid,
        now,
      );
      run(
        `UPDATE nb_sessions SET auth_time = ?, last_seen_at = ?,
           last_issued_at = MAX(last_issued_at, ?) WHERE sid = ?`,
        keep.authTime,
        now,
        issuedAt,
        keep.sid,
      );
      kept = { session: sessionBySid(keep.sid)!, issuedAt };
    }
    const after = change.deleted === true ? null : userById(user.id);
    return kept === undefined
      ? { ok: true, revocation, user: after, endedSids }
      : { ok: true, revocation, user: after, endedSids, kept };
  });

  const revokeAll = db.transaction((nowMs: number): LoggedRevocation => {
    const live = all('SELECT sid, last_issued_at FROM nb_sessions WHERE revoked_at IS NULL');
    const at = cutoffAfter(
      nowMs,
      live.map((r) => Number(r.last_issued_at)),
      globalCutoff(),
    );
    run(
      "UPDATE nb_sessions SET revoked_at = ?, revoke_cause = 'global' WHERE revoked_at IS NULL",
      nowMs,
    );
    run('DELETE FROM nb_refresh_tokens');
    run(
      "INSERT INTO nb_meta (name, value) VALUES ('global_valid_after', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      at,
    );
    return log({ kind: 'global', at });
  });

  const recordFailure = db.transaction(
    (key: string, nowMs: number, windowMs: number): FailureCount => {
      const current = toFailures(
        one('SELECT * FROM nb_failures WHERE key = ?', key),
        nowMs,
        windowMs,
      );
      const next =
        current.count === 0
          ? { count: 1, windowStart: nowMs, lastAt: nowMs }
          : { count: current.count + 1, windowStart: current.windowStart, lastAt: nowMs };
      run(
        `INSERT INTO nb_failures (key, count, window_start, last_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET count = excluded.count,
           window_start = excluded.window_start, last_at = excluded.last_at`,
        key,
        next.count,
        next.windowStart,
        next.lastAt,
      );
      return next;
    },
  );

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
        `INSERT INTO nb_users (id, email, password_hash, roles, created_at)
         VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        input.id,
        input.email,
        input.passwordHash,
        JSON.stringify(input.roles),
        input.createdAt,
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
      return createSession.immediate(input);
    },
    async rotateRefresh(input) {
      return rotateRefresh.immediate(input);
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
      return revokeSession.immediate(input);
    },
    async revokeUser(input) {
      return revokeUser.immediate(input);
    },
    async revokeToken(input) {
      return log({ kind: 'token', jti: input.jti, exp: input.exp, at: input.nowMs });
    },
    async revokeAll(input) {
      return revokeAll.immediate(input.nowMs);
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
    async recordFailure(key, nowMs, windowMs) {
      return recordFailure.immediate(key, nowMs, windowMs);
    },
    async getFailures(key, nowMs, windowMs) {
      return toFailures(one('SELECT * FROM nb_failures WHERE key = ?', key), nowMs, windowMs);
    },
    async clearFailures(key) {
      run('DELETE FROM nb_failures WHERE key = ?', key);
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
  };
}
