import type Database from 'better-sqlite3';
import type { RevocationEvent } from '../../revocation/events.js';
import type {
  CreateSessionResult,
  LoggedRevocation,
  NewSession,
  RevokeSessionInput,
  RevokeUserInput,
  RevokeUserResult,
  RotateInput,
  RotateResult,
  StoredSession,
  StoredUser,
} from '../port.js';
import { toLink, toSession, toUser } from '../rows.js';
import {
  cutoffAfter,
  hasTimeLeft,
  idleEndAfterUse,
  isLive,
  issueAt,
  linkRedeemable,
  liveFrom,
  newSessionEnds,
  refreshStep,
  sessionEnded,
  sessionsToEvict,
  userRevoked,
} from '../rules.js';
import type { factorWrites } from './factors.js';

type Row = Record<string, unknown>;
type FactorRows = Pick<ReturnType<typeof factorWrites>, 'applyFactorChange' | 'deleteFactors'>;

/**
 * The embedded store's statement helpers and transactional writes: sessions, refresh
 * rotation and every revocation. better-sqlite3 is synchronous, so each transaction runs
 * to completion before any other statement of this process; the decisions are the shared
 * rules (rules.ts).
 */
export function sessionWrites(db: Database.Database, factors: FactorRows) {
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
    return log(sessionEnded(session, nowMs, cause));
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
    if (
      input.expectPasskey !== undefined &&
      one(
        'SELECT 1 FROM nb_passkeys WHERE id = ? AND user_id = ?',
        input.expectPasskey.id,
        user.id,
      ) === undefined
    )
      return { ok: false, reason: 'credentials-changed' };
    const now = input.nowMs;
    const evicted = sessionsToEvict(liveSessionsOf(user.id, now), input.maxSessions).map((old) =>
      endSession(old, now, 'evicted'),
    );
    const issuedAt = issueAt(now, user.tokensValidAfter, globalCutoff());
    const ends = newSessionEnds(now, input.idleTtlMs, input.absoluteTtlMs);
    run(
      `INSERT INTO nb_sessions (sid, user_id, device, client_key, created_at, last_seen_at,
        auth_time, last_issued_at, idle_expires_at, absolute_expires_at, amr)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      input.sid,
      user.id,
      input.device,
      input.clientKey,
      now,
      now,
      now,
      issuedAt,
      ends.idleExpiresAt,
      ends.absoluteExpiresAt,
      JSON.stringify(input.amr),
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
    const rotatedAt = token.rotated_at === null ? null : Number(token.rotated_at);
    const issuedAt = issueAt(now, user.tokensValidAfter, globalCutoff());
    const step = refreshStep(session, rotatedAt, now, input.graceMs, issuedAt);
    if (step === 'expired')
      return { kind: 'expired', revocation: endSession(session, now, 'expired') };
    if (step === 'reused') return { kind: 'reused', revocation: endSession(session, now, 'reuse') };
    let kind: 'rotated' | 'grace';
    if (step === 'rotate') {
      run('UPDATE nb_refresh_tokens SET rotated_at = ? WHERE hash = ?', now, input.presentedHash);
      run(
        'INSERT INTO nb_refresh_tokens (hash, sid, created_at) VALUES (?, ?, ?)',
        input.successorHash,
        session.sid,
        now,
      );
      kind = 'rotated';
    } else {
      const successor = one(
        'SELECT sid FROM nb_refresh_tokens WHERE hash = ?',
        input.successorHash,
      );
      if (successor === undefined || successor.sid !== session.sid) return { kind: 'invalid' };
      kind = 'grace';
    }
    run(
      `UPDATE nb_sessions SET last_seen_at = ?, idle_expires_at = ?,
         last_issued_at = MAX(last_issued_at, ?) WHERE sid = ?`,
      now,
      idleEndAfterUse(session, now, input.idleTtlMs),
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
    const change = input.change ?? {};
    if (input.link !== undefined) {
      const row = one('SELECT * FROM nb_links WHERE token_hash = ?', input.link.tokenHash);
      const link = row === undefined ? null : toLink(row);
      if (!linkRedeemable(link, input.link.kind, user, input.nowMs))
        return { ok: false, reason: 'link' };
    }
    if (
      change.email !== undefined &&
      change.email !== user.email &&
      one('SELECT 1 FROM nb_users WHERE email = ?', change.email) !== undefined
    )
      return { ok: false, reason: 'email-taken' };
    const now = input.nowMs;
    const sessions = all(
      'SELECT * FROM nb_sessions WHERE user_id = ? AND revoked_at IS NULL',
      user.id,
    ).map(toSession);
    const at = cutoffAfter(
      now,
      sessions.map((s) => s.lastIssuedAt),
      user.tokensValidAfter,
    );
    const keep = input.scope === 'sessions' ? input.keep : undefined;
    const keptIssuedAt = keep === undefined ? at : issueAt(now, at, globalCutoff());
    if (keep !== undefined) {
      const kept = sessions.find((s) => s.sid === keep.sid);
      if (kept === undefined || !isLive(kept, now) || !hasTimeLeft(kept, keptIssuedAt))
        return { ok: false, reason: 'no-session' };
    }
    const factorChange = input.change?.factors;
    if (factorChange !== undefined && !factors.applyFactorChange(user.id, factorChange, now))
      return { ok: false, reason: 'no-factor' };
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
    if (input.link !== undefined)
      run('UPDATE nb_links SET used_at = ? WHERE token_hash = ?', now, input.link.tokenHash);
    if (change.deleted === true) {
      run(
        'DELETE FROM nb_refresh_tokens WHERE sid IN (SELECT sid FROM nb_sessions WHERE user_id = ?)',
        user.id,
      );
      run('DELETE FROM nb_sessions WHERE user_id = ?', user.id);
      run('DELETE FROM nb_links WHERE user_id = ?', user.id);
      run('DELETE FROM nb_users WHERE id = ?', user.id);
      factors.deleteFactors(user.id);
    } else {
      // Links mailed to the old address die with it.
      if (change.email !== undefined && change.email !== user.email)
        run('DELETE FROM nb_links WHERE user_id = ? AND used_at IS NULL', user.id);
      run(
        `UPDATE nb_users SET tokens_valid_after = ?, password_hash = ?, roles = ?, disabled = ?,
           email = ?, email_verified = ?
         WHERE id = ?`,
        at,
        change.passwordHash ?? user.passwordHash,
        JSON.stringify(change.roles ?? user.roles),
        (change.disabled ?? user.disabled) ? 1 : 0,
        change.email ?? user.email,
        (change.emailVerified ?? user.emailVerified) ? 1 : 0,
        user.id,
      );
    }
    const event = userRevoked(user.id, at, input);
    const revocation = log(event);
    let kept: { session: StoredSession; issuedAt: number } | undefined;
    if (keep !== undefined) {
      const issuedAt = keptIssuedAt;
      run('DELETE FROM nb_refresh_tokens WHERE sid = ?', keep.sid);
      run(
        'INSERT INTO nb_refresh_tokens (hash, sid, created_at) VALUES (?, ?, ?)',
        keep.refreshHash,
        keep.sid,
        now,
      );
      run(
        `UPDATE nb_sessions SET auth_time = ?, last_seen_at = ?,
           last_issued_at = MAX(last_issued_at, ?), amr = COALESCE(?, amr) WHERE sid = ?`,
        keep.authTime,
        now,
        issuedAt,
        keep.amr === undefined ? null : JSON.stringify(keep.amr),
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

  return {
    one,
    all,
    run,
    log,
    liveSessionsOf,
    userById,
    sessionBySid,
    // BEGIN IMMEDIATE: a writer of another process is ordered by the busy timeout.
    createSession: (input: NewSession): CreateSessionResult => createSession.immediate(input),
    rotateRefresh: (input: RotateInput): RotateResult => rotateRefresh.immediate(input),
    revokeSession: (input: RevokeSessionInput): LoggedRevocation | null =>
      revokeSession.immediate(input),
    revokeUser: (input: RevokeUserInput): RevokeUserResult => revokeUser.immediate(input),
    revokeAll: (nowMs: number): LoggedRevocation => revokeAll.immediate(nowMs),
  };
}
