import type { RevocationEvent } from '../revocation/events.js';
import type {
  FailureCount,
  LinkKind,
  LoggedRevocation,
  StoredLink,
  StoredSession,
  StoredTotp,
  StoredUser,
} from './port.js';

/**
 * Row mapping shared by the SQL stores. Column names are the same in every store;
 * numbers may arrive as strings (PostgreSQL BIGINT), hence Number(). The rules the stores
 * share are in rules.ts.
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
    disabled: bool(row.disabled),
    createdAt: num(row.created_at),
    tokensValidAfter: num(row.tokens_valid_after),
    emailVerified: bool(row.email_verified),
  };
}

const bool = (value: unknown): boolean => value === true || value === 1 || value === '1';

export function toLink(row: Row): StoredLink {
  return {
    id: String(row.id),
    kind: String(row.kind) as LinkKind,
    tokenHash: String(row.token_hash),
    userId: strOrNull(row.user_id),
    email: String(row.email),
    roles: parseRoles(row.roles),
    createdAt: num(row.created_at),
    expiresAt: num(row.expires_at),
    usedAt: numOrNull(row.used_at),
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
    amr: parseAmr(row.amr),
  };
}

/** NULL (a session of 0.1.0, before second factors) was a password sign-in. */
function parseAmr(value: unknown): string[] {
  if (value === null || value === undefined) return ['pwd'];
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  return Array.isArray(parsed) ? parsed.map(String) : ['pwd'];
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

/** A TOTP row . */
export function toTotp(row: Row): StoredTotp {
  return {
    userId: String(row.user_id),
    secret: String(row.secret),
    confirmedAt: row.confirmed_at === null ? null : Number(row.confirmed_at),
    lastStep: Number(row.last_step),
    createdAt: Number(row.created_at),
  };
}
