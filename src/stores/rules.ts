import type { RevocationEvent, SessionRevocationCause } from '../revocation/events.js';
import type {
  AttemptLimits,
  FailureCount,
  LinkKind,
  ReserveAttemptInput,
  ReserveAttemptResult,
  RevokeUserInput,
  StoredLink,
  StoredSession,
  StoredUser,
} from './port.js';

/**
 * The rules every store applies inside its transactions, written once: each store only
 * reads the rows (locked), asks these, and writes what they say. A new store gets the
 * same semantics by calling them; the conformance suite checks that it does.
 */

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

/**
 * When the next attempt on a key may be evaluated (ms; 0 = now). The first `free`
 * attempts of a window cost nothing; after that each waits a doubling delay (1 s, 2 s,
 * 4 s, …) after the previous one; at `max` the key waits until its window ends. So an
 * attacker can hold an account shut for at most one window.
 */
export function attemptAllowedAt(
  current: FailureCount,
  windowMs: number,
  limits: AttemptLimits,
): number {
  if (current.count === 0) return 0;
  const windowEnd = current.windowStart + windowMs;
  if (current.count >= limits.max) return windowEnd;
  if (current.count < limits.free) return 0;
  const delay = 1000 * 2 ** Math.min(30, current.count - limits.free);
  return Math.min(windowEnd, current.lastAt + delay);
}

/**
 * The rule both stores apply inside their transaction, on the row as locked: the
 * reservation to write, or the refusal. `null` next means nothing is written.
 */
export function reserveAttempt(
  current: FailureCount,
  input: ReserveAttemptInput,
): { result: ReserveAttemptResult; next: FailureCount | null } {
  const allowedAt = attemptAllowedAt(current, input.windowMs, input);
  if (allowedAt > input.nowMs) return { result: { ok: false, retryAt: allowedAt }, next: null };
  const next =
    current.count === 0
      ? { count: 1, windowStart: input.nowMs, lastAt: input.nowMs }
      : { count: current.count + 1, windowStart: current.windowStart, lastAt: input.nowMs };
  return { result: { ok: true, count: next.count }, next };
}

/** Live sessions (oldest first) to end so that one more fits under `maxSessions`. */
export function sessionsToEvict(
  liveOldestFirst: readonly StoredSession[],
  maxSessions: number,
): StoredSession[] {
  const excess = liveOldestFirst.length + 1 - Math.max(1, maxSessions);
  return liveOldestFirst.slice(0, Math.max(0, excess));
}

/** The idle and absolute ends of a session opened now. */
export function newSessionEnds(
  nowMs: number,
  idleTtlMs: number,
  absoluteTtlMs: number,
): { idleExpiresAt: number; absoluteExpiresAt: number } {
  const absoluteExpiresAt = nowMs + absoluteTtlMs;
  return { idleExpiresAt: Math.min(nowMs + idleTtlMs, absoluteExpiresAt), absoluteExpiresAt };
}

/**
 * Whether a token minted at `issuedAt` (ms) can still live before the session's absolute
 * end: `exp` is whole seconds clamped to that end, and must come after the iat (which may
 * run a millisecond ahead of the clock, just above a cutoff).
 */
export function hasTimeLeft(session: StoredSession, issuedAt: number): boolean {
  return Math.floor(session.absoluteExpiresAt / 1000) * 1000 > issuedAt;
}

/** A refresh moves the idle end forward, never past the absolute one. */
export function idleEndAfterUse(session: StoredSession, nowMs: number, idleTtlMs: number): number {
  return Math.min(nowMs + idleTtlMs, session.absoluteExpiresAt);
}

/**
 * What presenting a refresh token of a live session means:
 * - `expired`: the session is past its idle end, or no token minted at `issuedAt` could
 *   live into a whole second before its absolute end (it ends now);
 * - `rotate`: the token is current;
 * - `grace`: it was rotated less than `graceMs` ago (a duplicate: the same successor stands);
 * - `reused`: it was rotated longer ago: theft, the session ends (RFC 9700 §4.14).
 */
export function refreshStep(
  session: StoredSession,
  rotatedAt: number | null,
  nowMs: number,
  graceMs: number,
  issuedAt: number,
): 'expired' | 'rotate' | 'grace' | 'reused' {
  if (nowMs >= session.idleExpiresAt || !hasTimeLeft(session, issuedAt)) return 'expired';
  if (rotatedAt === null) return 'rotate';
  return nowMs - rotatedAt <= graceMs ? 'grace' : 'reused';
}

/**
 * The log event of a session ended now. Its `at` is never below the newest iat minted for
 * the session (which may be a millisecond ahead of the clock, just above a cutoff), so the
 * entry outlives every token of the session: it lives `at` + the longest lifetime.
 */
export function sessionEnded(
  session: StoredSession,
  nowMs: number,
  cause: SessionRevocationCause,
): RevocationEvent {
  const at = Math.max(nowMs, session.lastIssuedAt);
  return { kind: 'session', sid: session.sid, sub: session.userId, at, cause };
}

/** The log event of a user's watermark move at `at`; a kept session is named in it. */
export function userRevoked(userId: string, at: number, input: RevokeUserInput): RevocationEvent {
  const keep = input.scope === 'sessions' ? input.keep : undefined;
  const event: RevocationEvent = {
    kind: 'user',
    sub: userId,
    at,
    scope: input.scope,
    cause: input.cause,
  };
  return keep === undefined ? event : { ...event, exceptSid: keep.sid };
}

/**
 * Whether `revokeUser` may consume `link` for `user`: unused, unexpired, of the kind asked
 * and for this user; and, except for an email change (whose link names the new address),
 * mailed to the address the user still has — a link sent before an email change cannot act
 * on the account after it.
 */
export function linkRedeemable(
  link: StoredLink | null,
  kind: LinkKind,
  user: StoredUser,
  nowMs: number,
): link is StoredLink {
  if (link === null || link.kind !== kind || link.userId !== user.id) return false;
  if (link.usedAt !== null || link.expiresAt <= nowMs) return false;
  return kind === 'confirm-email' || link.email === user.email;
}
