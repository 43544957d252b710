import type pg from 'pg';
import type { RevocationEvent, SessionRevocationCause } from '../../revocation/events.js';
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
import { toLink, toRevocation, toSession, toUser } from '../rows.js';
import {
  cutoffAfter,
  hasTimeLeft,
  isLive,
  issueAt,
  linkRedeemable,
  liveFrom,
  newSessionEnds,
  sessionEnded,
  sessionsToEvict,
  userRevoked,
} from '../rules.js';
import type { Connection } from './connection.js';
import type { factorWrites } from './factors.js';
import { LOG_LOCK, MAX_ATTEMPTS, RETRYABLE } from './schema.js';

type FactorRows = Pick<ReturnType<typeof factorWrites>, 'applyFactorChange' | 'deleteFactors'>;

/**
 * The PostgreSQL store's transactional writes: sessions, refresh rotation and every
 * revocation. Conflicting operations are serialised with row locks taken in one order
 * everywhere (user → session → refresh token → log), and the log is appended under a
 * transaction-scoped advisory lock so that seq order equals commit order — a reader that
 * has seen seq n never later finds a smaller new one. The decisions are the shared rules.
 */
export function sessionWrites(conn: Connection, factors: FactorRows) {
  const { U, S, R, L, M, N } = conn.tables;

  const lockUser = async (c: pg.PoolClient, id: string, mode: 'UPDATE' | 'SHARE') => {
    const row = await conn.first(c, `SELECT * FROM ${U} WHERE id = $1 FOR ${mode}`, [id]);
    return row === undefined ? null : toUser(row);
  };
  const globalCutoff = async (c: pg.PoolClient) =>
    Number(
      (await conn.first(c, `SELECT value FROM ${M} WHERE name = 'global_valid_after'`))?.value ?? 0,
    );

  /** Must be the last statement group of a transaction: it holds the log lock to commit. */
  const appendLog = async (c: pg.PoolClient, events: RevocationEvent[]) => {
    if (events.length === 0) return [];
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [LOG_LOCK]);
    const logged: LoggedRevocation[] = [];
    for (const event of events) {
      const row = await conn.first(
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
    cause: SessionRevocationCause,
  ): Promise<RevocationEvent> => {
    await c.query(`UPDATE ${S} SET revoked_at = $1, revoke_cause = $2 WHERE sid = $3`, [
      nowMs,
      cause,
      session.sid,
    ]);
    await c.query(`DELETE FROM ${R} WHERE sid = $1`, [session.sid]);
    return sessionEnded(session, nowMs, cause);
  };

  const createSession = (input: NewSession): Promise<CreateSessionResult> =>
    conn.tx(async (c) => {
      // FOR UPDATE: logins of one user queue up, so the session cap is exact.
      const user = await lockUser(c, input.userId, 'UPDATE');
      if (user === null) return { ok: false, reason: 'no-user' };
      if (user.disabled) return { ok: false, reason: 'disabled' };
      if (user.passwordHash !== input.expectPasswordHash)
        return { ok: false, reason: 'credentials-changed' };
      // A removal goes through revokeUser, which locks the user row first: it committed
      // before the lock above was granted (the row is gone now), or it waits and then ends
      // this session with the others. KEY SHARE also holds off any other delete of the row
      // while leaving a concurrent counter update free.
      if (
        input.expectPasskey !== undefined &&
        (await conn.first(
          c,
          `SELECT 1 FROM ${conn.tables.P} WHERE id = $1 AND user_id = $2 FOR KEY SHARE`,
          [input.expectPasskey.id, user.id],
        )) === undefined
      )
        return { ok: false, reason: 'credentials-changed' };
      const now = input.nowMs;
      const live = (
        await conn.rows(
          c,
          `SELECT * FROM ${S} WHERE user_id = $1 AND revoked_at IS NULL
           ORDER BY created_at, sid FOR UPDATE`,
          [user.id],
        )
      )
        .map(toSession)
        .filter((s) => isLive(s, now));
      const events: RevocationEvent[] = [];
      for (const old of sessionsToEvict(live, input.maxSessions))
        events.push(await endSession(c, old, now, 'evicted'));
      const issuedAt = issueAt(now, user.tokensValidAfter, await globalCutoff(c));
      const ends = newSessionEnds(now, input.idleTtlMs, input.absoluteTtlMs);
      const session = toSession(
        (await conn.first(
          c,
          `INSERT INTO ${S} (sid, user_id, device, client_key, created_at, last_seen_at,
             auth_time, last_issued_at, idle_expires_at, absolute_expires_at, amr)
           VALUES ($1, $2, $3, $4, $5, $5, $5, $6, $7, $8, $9) RETURNING *`,
          [
            input.sid,
            user.id,
            input.device,
            input.clientKey,
            now,
            issuedAt,
            ends.idleExpiresAt,
            ends.absoluteExpiresAt,
            JSON.stringify(input.amr),
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

  /**
   * One round trip: nb_rotate_refresh (its migration in schema.ts) is the whole
   * transaction, locks, rules and log entry, run on the server. A deadlock or
   * serialization failure rolls the statement back whole, so it is retried like tx().
   */
  const rotateSql = `SELECT * FROM ${U.slice(0, U.lastIndexOf('.'))}.nb_rotate_refresh($1, $2, $3, $4, $5)`;
  const rotateRefresh = async (input: RotateInput): Promise<RotateResult> => {
    const params = [
      input.presentedHash,
      input.successorHash,
      input.nowMs,
      input.graceMs,
      input.idleTtlMs,
    ];
    for (let attempt = 1; ; attempt++) {
      let row: Record<string, unknown> | undefined;
      try {
        row = (await conn.query(rotateSql, params))[0];
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (attempt >= MAX_ATTEMPTS || typeof code !== 'string' || !RETRYABLE.has(code))
          throw error;
        continue;
      }
      const kind = row?.o_kind;
      if (row !== undefined && (kind === 'rotated' || kind === 'grace'))
        return {
          kind,
          session: toSession(row.o_session as Record<string, unknown>),
          user: toUser(row.o_user as Record<string, unknown>),
          issuedAt: Number(row.o_issued_at),
        };
      if (row !== undefined && (kind === 'reused' || kind === 'expired'))
        return { kind, revocation: toRevocation({ seq: row.o_seq, event: row.o_event }) };
      return { kind: 'invalid' };
    }
  };

  const revokeSession = (input: RevokeSessionInput): Promise<LoggedRevocation | null> =>
    conn.tx(async (c) => {
      const row = await conn.first(c, `SELECT * FROM ${S} WHERE sid = $1 FOR UPDATE`, [input.sid]);
      if (row === undefined) return null;
      const session = toSession(row);
      if (session.revokedAt !== null) return null;
      if (input.userId !== undefined && session.userId !== input.userId) return null;
      const event = await endSession(c, session, input.nowMs, input.cause);
      return (await appendLog(c, [event]))[0]!;
    });

  const revokeUser = (input: RevokeUserInput): Promise<RevokeUserResult> =>
    conn.tx(async (c) => {
      const user = await lockUser(c, input.userId, 'UPDATE');
      if (user === null) return { ok: false, reason: 'no-user' };
      if (input.expectPasswordHash !== undefined && user.passwordHash !== input.expectPasswordHash)
        return { ok: false, reason: 'conflict' };
      const change = input.change ?? {};
      if (input.link !== undefined) {
        const row = await conn.first(c, `SELECT * FROM ${N} WHERE token_hash = $1 FOR UPDATE`, [
          input.link.tokenHash,
        ]);
        const link = row === undefined ? null : toLink(row);
        if (!linkRedeemable(link, input.link.kind, user, input.nowMs))
          return { ok: false, reason: 'link' };
      }
      if (change.email !== undefined && change.email !== user.email) {
        const taken = await conn.first(c, `SELECT 1 FROM ${U} WHERE email = $1`, [change.email]);
        if (taken !== undefined) return { ok: false, reason: 'email-taken' };
      }
      const now = input.nowMs;
      const sessions = (
        await conn.rows(
          c,
          `SELECT * FROM ${S} WHERE user_id = $1 AND revoked_at IS NULL ORDER BY sid FOR UPDATE`,
          [user.id],
        )
      ).map(toSession);
      const at = cutoffAfter(
        now,
        sessions.map((s) => s.lastIssuedAt),
        user.tokensValidAfter,
      );
      const keep = input.scope === 'sessions' ? input.keep : undefined;
      const keptIssuedAt = keep === undefined ? at : issueAt(now, at, await globalCutoff(c));
      if (keep !== undefined) {
        const kept = sessions.find((s) => s.sid === keep.sid);
        if (kept === undefined || !isLive(kept, now) || !hasTimeLeft(kept, keptIssuedAt))
          return { ok: false, reason: 'no-session' };
      }
      const factorChange = input.change?.factors;
      if (
        factorChange !== undefined &&
        !(await factors.applyFactorChange(c, user.id, factorChange, now))
      )
        return { ok: false, reason: 'no-factor' };
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
      if (input.link !== undefined)
        await c.query(`UPDATE ${N} SET used_at = $1 WHERE token_hash = $2`, [
          now,
          input.link.tokenHash,
        ]);
      let kept: { session: StoredSession; issuedAt: number } | undefined;
      if (keep !== undefined) {
        const issuedAt = keptIssuedAt;
        await c.query(`DELETE FROM ${R} WHERE sid = $1`, [keep.sid]);
        await c.query(`INSERT INTO ${R} (hash, sid, created_at) VALUES ($1, $2, $3)`, [
          keep.refreshHash,
          keep.sid,
          now,
        ]);
        const row = await conn.first(
          c,
          `UPDATE ${S} SET auth_time = $1, last_seen_at = $2,
             last_issued_at = GREATEST(last_issued_at, $3), amr = COALESCE($5, amr)
           WHERE sid = $4 RETURNING *`,
          [
            keep.authTime,
            now,
            issuedAt,
            keep.sid,
            keep.amr === undefined ? null : JSON.stringify(keep.amr),
          ],
        );
        kept = { session: toSession(row!), issuedAt };
      }
      let after: StoredUser | null = null;
      if (change.deleted === true) {
        await c.query(`DELETE FROM ${R} WHERE sid IN (SELECT sid FROM ${S} WHERE user_id = $1)`, [
          user.id,
        ]);
        await c.query(`DELETE FROM ${S} WHERE user_id = $1`, [user.id]);
        await c.query(`DELETE FROM ${N} WHERE user_id = $1`, [user.id]);
        await c.query(`DELETE FROM ${U} WHERE id = $1`, [user.id]);
        await factors.deleteFactors(c, user.id);
      } else {
        // Links mailed to the old address die with it.
        if (change.email !== undefined && change.email !== user.email)
          await c.query(`DELETE FROM ${N} WHERE user_id = $1 AND used_at IS NULL`, [user.id]);
        after = toUser(
          (await conn.first(
            c,
            `UPDATE ${U} SET tokens_valid_after = $1, password_hash = $2, roles = $3, disabled = $4,
               email = $5, email_verified = $6
             WHERE id = $7 RETURNING *`,
            [
              at,
              change.passwordHash ?? user.passwordHash,
              JSON.stringify(change.roles ?? user.roles),
              change.disabled ?? user.disabled,
              change.email ?? user.email,
              change.emailVerified ?? user.emailVerified,
              user.id,
            ],
          ))!,
        );
      }
      const event = userRevoked(user.id, at, input);
      const revocation = (await appendLog(c, [event]))[0]!;
      return kept === undefined
        ? { ok: true, revocation, user: after, endedSids }
        : { ok: true, revocation, user: after, endedSids, kept };
    });

  const revokeAll = (nowMs: number): Promise<LoggedRevocation> =>
    conn.tx(async (c) => {
      // The UPDATE waits for refreshes holding session rows and returns their newest
      // last_issued_at, so the cutoff lands after every token already minted.
      const ended = await conn.rows(
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

  return { createSession, rotateRefresh, revokeSession, revokeUser, revokeAll, appendLog };
}
