import type { RevocationEvent } from '../revocation/events.js';
import type { FailureCount, LoggedRevocation, StoredSession, StoredUser } from './port.js';

/**
 * Row mapping and rules shared by the SQL stores. Column names are the same in every
 * store; numbers may arrive as strings (PostgreSQL BIGINT), hence Number().
 */
type Row = Record<string, unknown>;

const num = (value: unknown): number => Number(value);
const numOrNull = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);
const strOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

export function toUser(row: Row): StoredUser {
  return {
    id: String(row.id),
    email: String(row.email),
    passwordHash: String(row.password_hash),
    roles: parseRoles(row.roles),
    disabled: row.disabled === true || row.disabled === 1 || row.disabled === '1',
    createdAt: num(row.created_at),
    tokensValidAfter: num(row.tokens_valid_after),
  };
}

function parseRoles(value: unknown): string[] {
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  return Array.isArray(parsed) ? parsed.map(String) : [];
}

export function toSession(row: Row): StoredSession {
  return {
    sid: String(row.sid),
    userId: String(row.user_id),
    device: strOrNull(row.device),
    clientKey: strOrNull(row.client_key),
    createdAt: num(row.created_at),
    lastSeenAt: num(row.last_seen_at),
    authTime: num(row.auth_time),
    lastIssuedAt: num(row.last_issued_at),
    idleExpiresAt: num(row.idle_expires_at),
    absoluteExpiresAt: num(row.absolute_expires_at),
    revokedAt: numOrNull(row.revoked_at),
    revokeCause: strOrNull(row.revoke_cause),
  };
}

export function toRevocation(row: Row): LoggedRevocation {
  const event: unknown = typeof row.event === 'string' ? JSON.parse(row.event) : row.event;
  return { seq: num(row.seq), event: event as RevocationEvent };
}

export function toFailures(row: Row | undefined, nowMs: number, windowMs: number): FailureCount {
  if (row === undefined) return { count: 0, windowStart: 0, lastAt: 0 };
  const windowStart = num(row.window_start);
  if (windowStart + windowMs <= nowMs) return { count: 0, windowStart: 0, lastAt: 0 };
  return { count: num(row.count), windowStart, lastAt: num(row.last_at) };
}

/** Where an event must still be kept: token entries until their exp, others from `at`. */
export function liveFrom(event: RevocationEvent): number {
  return event.kind === 'token' ? Math.max(event.at, event.exp) : event.at;
}

export function isLive(session: StoredSession, nowMs: number): boolean {
  return (
    session.revokedAt === null && nowMs < session.idleExpiresAt && nowMs < session.absoluteExpiresAt
  );
}

/**
 * A watermark must cut off every token already minted, even one minted in this very
 * millisecond by a refresh that committed just before: so it is placed after the
 * highest iat the store has recorded for the affected sessions.
 */
export function cutoffAfter(nowMs: number, lastIssued: readonly number[], floor = 0): number {
  let at = Math.max(nowMs, floor);
  for (const issued of lastIssued) at = Math.max(at, issued + 1);
  return at;
}

/** The iat for a token minted now: never below a cutoff the store already holds. */
export function issueAt(nowMs: number, userCutoff: number, globalCutoff: number): number {
  return Math.max(nowMs, userCutoff, globalCutoff);
}
