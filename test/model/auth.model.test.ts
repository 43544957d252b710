import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { type ManualClock, manualClock } from '../../src/clock.js';
import { AuthError } from '../../src/errors.js';
import type { RevocationEvent } from '../../src/revocation/events.js';
import { createAuth } from '../../src/sessions/auth.js';
import type { Auth, SignedIn } from '../../src/sessions/types.js';
import type { Store } from '../../src/stores/port.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { CHEAP_HASH } from '../sessions/helpers.js';
import { allowedReasons, modelParams, type Reason } from './params.js';

/**
 * Model-based test of createAuth (SQLite in memory, a manual clock, short lifetimes): random
 * sequences of signups, logins, refreshes (current, grace duplicates, stale, unknown),
 * logouts, logout-all, role changes, disable/enable, revoke-everyone, password changes,
 * single-token revocations, clock moves (to the exact millisecond a token, a grace window,
 * an idle or absolute end or a list entry runs out) and purges, checked after every step
 * against a reference model of users, sessions and issued tokens.
 *
 * The model orders revocations by *operation*, not by timestamps: a token minted before a
 * revocation that covers it is dead (with that rule's reason), one minted after is alive,
 * even when both happen in the same millisecond (README: "a revocation and a re-issue in
 * the same second (or millisecond) are ordered exactly"). The one freedom it allows: a
 * user-wide or global cutoff placed after a session had already ended need not be above
 * that session's tokens (the store places cutoffs above the iats of live sessions only),
 * so such a token may report either reason — it is rejected either way.
 */

const T0 = Date.UTC(2026, 5, 1);
const TTL_S = 60;
const SKEW_S = 2;
const IDLE_S = 150;
const ABS_S = 240;
const GRACE_S = 5;
const MAX_SESSIONS = 3;
const TTL_MS = TTL_S * 1000;
const SKEW_MS = SKEW_S * 1000;
const WINDOW_MS = TTL_MS + SKEW_MS;
const IDLE_MS = IDLE_S * 1000;
const ABS_MS = ABS_S * 1000;
const GRACE_MS = GRACE_S * 1000;
const DAY_MS = 86_400_000;
/** What createAuth's own purge keeps (max of the window, one day and the grace). */
const RETENTION_MS = Math.max(WINDOW_MS, DAY_MS, GRACE_MS);
/**
 * How far ahead of the clock the store may place an iat: each cutoff in the same
 * millisecond sits 1 ms above the last iat, and the next iat at or above it. A run has
 * far fewer operations than this.
 */
const BUMP_MS = 200;

const SLOTS = 3;
const PRESENT_USERS = [0, 1];
const PASSWORDS = [
  'correct horse battery staple',
  'plain sailing over quiet water',
  'violet lanterns drift at midnight',
] as const;
const WRONG_PASSWORD = 'certainly the wrong passphrase';
const ROLES = ['admin', 'editor', 'viewer'] as const;
const NO_SUCH_USER = 'no-such-user-id';

type EndedBy = 'session' | 'user' | 'global' | 'purged';

interface MUser {
  id: string;
  email: string;
  password: string;
  roles: string[];
  disabled: boolean;
}

interface MRefresh {
  token: string;
  rotatedAt: number | null;
  successor: string | null;
  /** Gone from the store: its session ended, a password change replaced it, or a purge. */
  deleted: boolean;
}

interface MSession {
  sid: string;
  slot: number;
  createdAt: number;
  authTime: number;
  idleEnd: number;
  absEnd: number;
  ended: EndedBy | null;
  endedAt: number | null;
  refresh: MRefresh[];
}

interface MToken {
  token: string;
  slot: number;
  sid: string;
  jti: string;
  exp: number;
  /** Rules that must reject it until it expires, and rules that may (see the header). */
  must: Set<Reason>;
  may: Set<Reason>;
}

type EntryTable = 'global' | 'user' | 'claims' | 'session' | 'token';

/** A revocation entry as the list should hold it (from the events the instance emitted). */
interface MEntry {
  table: EntryTable;
  key: string;
  value: number;
}

interface Model {
  now: number;
  users: (MUser | null)[];
  sessions: MSession[];
  tokens: MToken[];
  entries: MEntry[];
  devices: number;
}

interface Real {
  auth: Auth;
  store: Store;
  clock: ManualClock;
  events: RevocationEvent[];
}

type Cmd = fc.AsyncCommand<Model, Real>;

class ModelMismatch extends Error {
  override readonly name = 'ModelMismatch';
}

function same(actual: unknown, expected: unknown, what: string): void {
  if (!Object.is(actual, expected) && JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new ModelMismatch(
      `${what}: got ${JSON.stringify(actual)}, model says ${JSON.stringify(expected)}`,
    );
  }
}

function holds(condition: boolean, what: string): void {
  if (!condition) throw new ModelMismatch(what);
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

async function attempt<T>(promise: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

function describeError(error: unknown): string {
  if (error instanceof AuthError) return `AuthError ${error.code}${reasonOf(error)}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

const reasonOf = (error: AuthError) => (error.reason === undefined ? '' : `(${error.reason})`);

function expectCode<T>(result: Outcome<T>, code: string, what: string): AuthError {
  if (result.ok) throw new ModelMismatch(`${what}: succeeded, model says ${code}`);
  if (!(result.error instanceof AuthError) || result.error.code !== code) {
    throw new ModelMismatch(`${what}: ${describeError(result.error)}, model says ${code}`, {
      cause: result.error,
    });
  }
  return result.error;
}

function expectOk<T>(result: Outcome<T>, what: string): T {
  if (!result.ok) {
    throw new ModelMismatch(`${what}: ${describeError(result.error)}, model says it succeeds`, {
      cause: result.error,
    });
  }
  return result.value;
}

// --- the model's rules ---------------------------------------------------------------

const emailOf = (slot: number) => `model-${slot}@example.test`;

const isLiveSession = (s: MSession, now: number) =>
  s.ended === null && now < s.idleEnd && now < s.absEnd;

const sessionOf = (m: Model, sid: string): MSession => m.sessions.find((s) => s.sid === sid)!;

/** Live sessions of a user as the store lists them: oldest first, then by sid. */
function liveSessionsOf(m: Model, slot: number): MSession[] {
  return m.sessions
    .filter((s) => s.slot === slot && isLiveSession(s, m.now))
    .sort((a, b) => a.createdAt - b.createdAt || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
}

/**
 * A user-wide or global cutoff: every token minted so far for a session that had not
 * ended must die with `reason`; the others may (they are dead already).
 */
function cutoff(m: Model, reason: 'global' | 'user' | 'claims', slot: number | null): void {
  for (const t of m.tokens) {
    if (slot !== null && t.slot !== slot) continue;
    (sessionOf(m, t.sid).ended === null ? t.must : t.may).add(reason);
  }
}

function endSession(m: Model, s: MSession, by: EndedBy): void {
  s.ended = by;
  s.endedAt = m.now;
  for (const r of s.refresh) r.deleted = true;
  if (by === 'session') for (const t of m.tokens) if (t.sid === s.sid) t.must.add('session');
}

/** The first millisecond at which a token clamped to the session's end could not outlive its iat. */
const mintEdge = (s: MSession) => Math.floor(s.absEnd / 1000) * 1000;

/** Checks what a sign-in returned against the model, and records its access token. */
function acceptSignedIn(m: Model, signed: SignedIn, s: MSession, what: string): void {
  const user = m.users[s.slot]!;
  const c = signed.claims;
  same(signed.session.sid, s.sid, `${what}: session.sid`);
  same(c.sub, user.id, `${what}: sub`);
  same(c.sid, s.sid, `${what}: sid`);
  same([...c.roles], user.roles, `${what}: roles`);
  same(signed.user.roles, user.roles, `${what}: user.roles`);
  same(c.auth_time, Math.floor(s.authTime / 1000), `${what}: auth_time`);
  const iatMs = Math.round(c.iat * 1000);
  holds(
    iatMs >= m.now && iatMs <= m.now + BUMP_MS,
    `${what}: iat ${iatMs} is not at the clock (${m.now}) or just after it`,
  );
  same(c.exp, Math.floor(Math.min(iatMs + TTL_MS, s.absEnd) / 1000), `${what}: exp`);
  same(signed.expiresAt, c.exp * 1000, `${what}: expiresAt`);
  same(signed.refreshExpiresAt, Math.min(s.idleEnd, s.absEnd), `${what}: refreshExpiresAt`);
  holds(!m.tokens.some((t) => t.jti === c.jti), `${what}: jti ${c.jti} was issued before`);
  m.tokens.push({
    token: signed.accessToken,
    slot: s.slot,
    sid: s.sid,
    jti: c.jti,
    exp: c.exp,
    must: new Set(),
    may: new Set(),
  });
}

// --- events ---------------------------------------------------------------------------

function describeEvent(e: RevocationEvent): string {
  switch (e.kind) {
    case 'global':
      return 'global';
    case 'user':
      return `user:${e.sub}:${e.scope}:${e.cause}:${e.exceptSid ?? '-'}`;
    case 'session':
      return `session:${e.sid}:${e.cause}`;
    case 'token':
      return `token:${e.jti}:${e.exp}`;
  }
}

/** Compares the events the instance applied during a command with the model's, and records them. */
function expectEvents(m: Model, r: Real, expected: string[], what: string): void {
  // A background catch-up may report an event again: compare distinct events.
  const seen = new Map<string, RevocationEvent>();
  for (const e of r.events) seen.set(JSON.stringify(e), e);
  r.events.length = 0;
  const events = [...seen.values()];
  same(events.map(describeEvent).sort(), [...expected].sort(), `${what}: revocation events`);
  for (const e of events) {
    if (e.kind === 'token') {
      same(e.at, m.now, `${what}: token event at`);
    } else {
      // A cutoff (and a session's revocation time) may sit just above the clock: above
      // every iat already handed out.
      holds(
        e.at >= m.now && e.at <= m.now + BUMP_MS,
        `${what}: ${e.kind} event at ${e.at} is not at the clock (${m.now}) or just after it`,
      );
    }
    const entry: MEntry =
      e.kind === 'global'
        ? { table: 'global', key: '', value: e.at }
        : e.kind === 'user'
          ? { table: e.scope === 'sessions' ? 'user' : 'claims', key: e.sub, value: e.at }
          : e.kind === 'session'
            ? { table: 'session', key: e.sid, value: e.at }
            : { table: 'token', key: e.jti, value: e.exp };
    m.entries.push(entry);
  }
}

const entryDeath = (e: MEntry) => e.value + (e.table === 'token' ? SKEW_MS : WINDOW_MS);

// --- checks after every command ----------------------------------------------------------

async function checkEverything(m: Model, r: Real): Promise<void> {
  same(r.clock.now(), m.now, 'clock');
  // Sweeps the list first when one is due, so a forgotten entry shows in the verifies below.
  const { entries } = r.auth.revocationStatus();
  for (const t of m.tokens) checkToken(m, r, t);
  for (let slot = 0; slot < SLOTS; slot++) {
    const user = m.users[slot];
    if (user === null || user === undefined) continue;
    const listed = await r.auth.listSessions(user.id);
    same(
      listed.map((s) => s.sid),
      liveSessionsOf(m, slot).map((s) => s.sid),
      `listSessions(user ${slot})`,
    );
    const stored = await r.auth.getUser(user.id);
    same(
      stored && { roles: stored.roles, disabled: stored.disabled },
      { roles: user.roles, disabled: user.disabled },
      `getUser(user ${slot})`,
    );
  }
  // The list holds at least every entry that can still reject an unexpired token.
  const live = new Map<string, MEntry>();
  for (const e of m.entries) {
    const k = `${e.table}:${e.key}`;
    const old = live.get(k);
    if (old === undefined || e.value > old.value) live.set(k, e);
  }
  const count = (tables: EntryTable[]) =>
    [...live.values()].filter((e) => tables.includes(e.table) && entryDeath(e) > m.now).length;
  holds(entries.global >= count(['global']), `entries.global ${entries.global} < live`);
  holds(entries.users >= count(['user', 'claims']), `entries.users ${entries.users} < live`);
  holds(entries.sessions >= count(['session']), `entries.sessions ${entries.sessions} < live`);
  holds(entries.tokens >= count(['token']), `entries.tokens ${entries.tokens} < live`);
}

function checkToken(m: Model, r: Real, t: MToken): void {
  const what = `verify(token ${t.jti} of user ${t.slot}, session ${t.sid}) at T0${signed(m.now - T0)}`;
  let claims: { jti: string } | undefined;
  let error: unknown;
  try {
    claims = r.auth.verify(t.token);
  } catch (e) {
    error = e;
  }
  if (m.now >= t.exp * 1000 + SKEW_MS) {
    expectCode({ ok: claims !== undefined, error } as Outcome<unknown>, 'TOKEN_EXPIRED', what);
    return;
  }
  const allowed = allowedReasons(t.must, t.may);
  const got =
    claims !== undefined
      ? null
      : error instanceof AuthError && error.code === 'TOKEN_REVOKED'
        ? (error.reason ?? 'no reason')
        : describeError(error);
  if (!(allowed as unknown[]).includes(got)) {
    throw new ModelMismatch(
      `${what}: got ${got === null ? 'accepted' : `TOKEN_REVOKED/${got}`}, model allows ` +
        `${JSON.stringify(allowed.map((a) => a ?? 'accepted'))} (exp T0${signed(t.exp * 1000 - T0)})`,
      { cause: error },
    );
  }
  if (claims !== undefined) same(claims.jti, t.jti, `${what}: jti`);
}

function signed(n: number): string {
  return n >= 0 ? `+${n}` : `${n}`;
}

// --- commands -------------------------------------------------------------------------

abstract class AuthCommand implements Cmd {
  check(_m: Readonly<Model>): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await this.act(m, r);
    await checkEverything(m, r);
  }
  protected abstract act(m: Model, r: Real): Promise<void>;
  abstract toString(): string;
}

class SignupCommand extends AuthCommand {
  constructor(readonly slot: number) {
    super();
  }
  protected async act(m: Model, r: Real) {
    const what = this.toString();
    const result = await attempt(
      r.auth.signup({ email: emailOf(this.slot), password: PASSWORDS[0] }),
    );
    if (m.users[this.slot] !== null) {
      expectCode(result, 'EMAIL_TAKEN', what);
    } else {
      const user = expectOk(result, what);
      same(
        { email: user.email, roles: user.roles, disabled: user.disabled },
        { email: emailOf(this.slot), roles: [], disabled: false },
        what,
      );
      m.users[this.slot] = {
        id: user.id,
        email: user.email,
        password: PASSWORDS[0],
        roles: [],
        disabled: false,
      };
    }
    expectEvents(m, r, [], what);
  }
  toString = () => `signup(user ${this.slot})`;
}

class LoginCommand extends AuthCommand {
  constructor(
    readonly slot: number,
    readonly rightPassword: boolean,
  ) {
    super();
  }
  protected async act(m: Model, r: Real) {
    const what = this.toString();
    const user = m.users[this.slot] ?? null;
    const password = user !== null && this.rightPassword ? user.password : WRONG_PASSWORD;
    const device = `device-${m.devices++}`;
    const result = await attempt(r.auth.login({ email: emailOf(this.slot), password, device }));
    if (user === null || !this.rightPassword) {
      expectCode(result, 'INVALID_CREDENTIALS', what);
      expectEvents(m, r, [], what);
      return;
    }
    if (user.disabled) {
      expectCode(result, 'ACCOUNT_DISABLED', what);
      expectEvents(m, r, [], what);
      return;
    }
    const signedIn = expectOk(result, what);
    const live = liveSessionsOf(m, this.slot);
    const evicted = live.slice(0, Math.max(0, live.length + 1 - MAX_SESSIONS));
    for (const s of evicted) endSession(m, s, 'session');
    expectEvents(
      m,
      r,
      evicted.map((s) => `session:${s.sid}:evicted`),
      what,
    );
    holds(!m.sessions.some((s) => s.sid === signedIn.session.sid), `${what}: sid reused`);
    const absEnd = m.now + ABS_MS;
    const session: MSession = {
      sid: signedIn.session.sid,
      slot: this.slot,
      createdAt: m.now,
      authTime: m.now,
      idleEnd: Math.min(m.now + IDLE_MS, absEnd),
      absEnd,
      ended: null,
      endedAt: null,
      refresh: [{ token: signedIn.refreshToken, rotatedAt: null, successor: null, deleted: false }],
    };
    m.sessions.push(session);
    acceptSignedIn(m, signedIn, session, what);
  }
  toString = () => `login(user ${this.slot}, ${this.rightPassword ? 'right' : 'wrong'} password)`;
}

type RefreshPick = 'current' | 'previous' | 'older' | 'lastRotated' | 'unknown';

/** A refresh token that was never issued (the right shape, so it reaches the store). */
const unknownRefreshToken = (n: number) =>
  createHash('sha256').update(`never issued ${n}`).digest('base64url');

/** A session: three times in four one the store still holds open (when there is one). */
function pickSession(m: Model, pick: number): MSession | undefined {
  const open = m.sessions.filter((s) => s.ended === null);
  const pool = pick % 4 !== 0 && open.length > 0 ? open : m.sessions;
  return pool[Math.floor(pick / 4) % pool.length];
}

function pickRefresh(m: Model, pick: number, which: RefreshPick, older: number) {
  if (which === 'lastRotated') {
    // The duplicate a second tab or a retry sends: the token rotated most recently.
    let best: { s: MSession; x: MRefresh } | undefined;
    for (const s of m.sessions) {
      for (const x of s.refresh) {
        if (x.rotatedAt !== null && (best === undefined || x.rotatedAt >= best.x.rotatedAt!))
          best = { s, x };
      }
    }
    if (best !== undefined) return best;
  }
  const s = pickSession(m, pick);
  if (which === 'unknown' || s === undefined) return undefined;
  const chain = s.refresh;
  const x =
    which === 'current'
      ? chain[chain.length - 1]!
      : which === 'previous'
        ? chain[Math.max(0, chain.length - 2)]!
        : chain[older % chain.length]!;
  return { s, x };
}

class RefreshCommand extends AuthCommand {
  constructor(
    readonly pick: number,
    readonly which: RefreshPick,
    readonly older: number,
  ) {
    super();
  }
  protected async act(m: Model, r: Real) {
    const picked = pickRefresh(m, this.pick, this.which, this.older);
    if (picked === undefined) {
      const what = `${this.toString()} [never issued]`;
      const result = await attempt(r.auth.refresh(unknownRefreshToken(this.pick)));
      expectCode(result, 'REFRESH_TOKEN_INVALID', what);
      expectEvents(m, r, [], what);
      return;
    }
    const { s, x } = picked;
    const index = s.refresh.indexOf(x);
    const state = x.deleted ? 'deleted' : x.rotatedAt === null ? 'current' : 'rotated';
    const what = `${this.toString()} [session ${s.sid}, token #${index} ${state}]`;
    const result = await attempt(r.auth.refresh(x.token));
    if (x.deleted || m.users[s.slot]!.disabled) {
      expectCode(result, 'REFRESH_TOKEN_INVALID', what);
      expectEvents(m, r, [], what);
      return;
    }
    if (m.now >= s.idleEnd || m.now >= s.absEnd) {
      expectCode(result, 'SESSION_EXPIRED', what);
      endSession(m, s, 'session');
      expectEvents(m, r, [`session:${s.sid}:expired`], what);
      return;
    }
    const grace = x.rotatedAt !== null && m.now - x.rotatedAt <= GRACE_MS;
    if (x.rotatedAt !== null && !grace) {
      expectCode(result, 'REFRESH_TOKEN_REUSED', what);
      endSession(m, s, 'session');
      expectEvents(m, r, [`session:${s.sid}:reuse`], what);
      return;
    }
    // In the session's last partial second a token clamped to its end cannot outlive its
    // own iat: either a token that still verifies, or SESSION_EXPIRED ending the session.
    if (mintEdge(s) <= m.now + BUMP_MS && !result.ok) {
      expectCode(result, 'SESSION_EXPIRED', `${what} [last partial second]`);
      endSession(m, s, 'session');
      expectEvents(m, r, [`session:${s.sid}:expired`], what);
      return;
    }
    const signedIn = expectOk(result, what);
    expectEvents(m, r, [], what);
    if (grace) {
      same(
        signedIn.refreshToken,
        x.successor,
        `${what}: the grace duplicate gets the same successor`,
      );
    } else {
      holds(
        !s.refresh.some((y) => y.token === signedIn.refreshToken),
        `${what}: the successor is not a new token`,
      );
      x.rotatedAt = m.now;
      x.successor = signedIn.refreshToken;
      s.refresh.push({
        token: signedIn.refreshToken,
        rotatedAt: null,
        successor: null,
        deleted: false,
      });
    }
    s.idleEnd = Math.min(m.now + IDLE_MS, s.absEnd);
    acceptSignedIn(m, signedIn, s, what);
  }
  toString = () =>
    `refresh(session ${this.pick}, ${this.which}${this.which === 'older' ? ` ${this.older}` : ''})`;
}

/** Ends the session a refresh token belongs to (the sign-out that only has the refresh cookie). */
class RevokeRefreshTokenCommand extends AuthCommand {
  constructor(
    readonly pick: number,
    readonly which: RefreshPick,
    readonly older: number,
  ) {
    super();
  }
  protected async act(m: Model, r: Real) {
    const what = this.toString();
    const picked = pickRefresh(m, this.pick, this.which, this.older);
    const token = picked?.x.token ?? unknownRefreshToken(this.pick);
    expectOk(await attempt(r.auth.revokeRefreshToken(token)), what);
    if (picked !== undefined && !picked.x.deleted) {
      endSession(m, picked.s, 'session');
      expectEvents(m, r, [`session:${picked.s.sid}:logout`], what);
    } else {
      expectEvents(m, r, [], what);
    }
  }
  toString = () => `revokeRefreshToken(session ${this.pick}, ${this.which})`;
}

class LogoutCommand extends AuthCommand {
  constructor(readonly pick: number) {
    super();
  }
  override check(m: Readonly<Model>) {
    return m.sessions.length > 0;
  }
  protected async act(m: Model, r: Real) {
    const s = pickSession(m, this.pick)!;
    const what = `${this.toString()} [session ${s.sid}]`;
    expectOk(await attempt(r.auth.logout(s.sid)), what);
    if (s.ended === null) {
      endSession(m, s, 'session');
      expectEvents(m, r, [`session:${s.sid}:logout`], what);
    } else {
      expectEvents(m, r, [], what);
    }
  }
  toString = () => `logout(session ${this.pick})`;
}

/** Ends every session of a user that the store still holds open. */
function endAllOf(m: Model, slot: number, except?: MSession): void {
  for (const s of m.sessions) {
    if (s.slot === slot && s.ended === null && s !== except) endSession(m, s, 'user');
  }
}

class LogoutAllCommand extends AuthCommand {
  constructor(readonly slot: number) {
    super();
  }
  protected async act(m: Model, r: Real) {
    const what = this.toString();
    const user = m.users[this.slot] ?? null;
    const result = await attempt(r.auth.logoutAll(user?.id ?? NO_SUCH_USER));
    if (user === null) {
      expectCode(result, 'NOT_FOUND', what);
      expectEvents(m, r, [], what);
      return;
    }
    expectOk(result, what);
    cutoff(m, 'user', this.slot);
    endAllOf(m, this.slot);
    expectEvents(m, r, [`user:${user.id}:sessions:logout-all:-`], what);
  }
  toString = () => `logoutAll(user ${this.slot})`;
}

class SetRolesCommand extends AuthCommand {
  constructor(
    readonly slot: number,
    readonly roles: string[],
  ) {
    super();
  }
  protected async act(m: Model, r: Real) {
    const what = this.toString();
    const user = m.users[this.slot] ?? null;
    const result = await attempt(r.auth.setRoles(user?.id ?? NO_SUCH_USER, this.roles));
    if (user === null) {
      expectCode(result, 'NOT_FOUND', what);
      expectEvents(m, r, [], what);
      return;
    }
    const updated = expectOk(result, what);
    cutoff(m, 'claims', this.slot);
    user.roles = [...new Set(this.roles)];
    same(updated.roles, user.roles, `${what}: roles`);
    expectEvents(m, r, [`user:${user.id}:tokens:roles:-`], what);
  }
  toString = () => `setRoles(user ${this.slot}, ${JSON.stringify(this.roles)})`;
}

class DisableCommand extends AuthCommand {
  constructor(readonly slot: number) {
    super();
  }
  protected async act(m: Model, r: Real) {
    const what = this.toString();
    const user = m.users[this.slot] ?? null;
    const result = await attempt(r.auth.disableUser(user?.id ?? NO_SUCH_USER));
    if (user === null) {
      expectCode(result, 'NOT_FOUND', what);
      expectEvents(m, r, [], what);
      return;
    }
    expectOk(result, what);
    cutoff(m, 'user', this.slot);
    endAllOf(m, this.slot);
    user.disabled = true;
    expectEvents(m, r, [`user:${user.id}:sessions:disabled:-`], what);
  }
  toString = () => `disable(user ${this.slot})`;
}

class EnableCommand extends AuthCommand {
  constructor(readonly slot: number) {
    super();
  }
  protected async act(m: Model, r: Real) {
    const what = this.toString();
    const user = m.users[this.slot] ?? null;
    const result = await attempt(r.auth.enableUser(user?.id ?? NO_SUCH_USER));
    if (user === null) {
      expectCode(result, 'NOT_FOUND', what);
    } else {
      expectOk(result, what);
      user.disabled = false;
    }
    expectEvents(m, r, [], what);
  }
  toString = () => `enable(user ${this.slot})`;
}

class RevokeEveryoneCommand extends AuthCommand {
  protected async act(m: Model, r: Real) {
    const what = this.toString();
    expectOk(await attempt(r.auth.revokeEveryone()), what);
    cutoff(m, 'global', null);
    for (const s of m.sessions) if (s.ended === null) endSession(m, s, 'global');
    for (const s of m.sessions) for (const x of s.refresh) x.deleted = true;
    expectEvents(m, r, ['global'], what);
  }
  toString = () => 'revokeEveryone()';
}

class ChangePasswordCommand extends AuthCommand {
  constructor(
    readonly slot: number,
    readonly rightPassword: boolean,
    readonly keep: number | null,
    readonly next: number,
  ) {
    super();
  }
  protected async act(m: Model, r: Real) {
    const user = m.users[this.slot] ?? null;
    const candidate =
      this.keep === null || m.sessions.length === 0
        ? undefined
        : m.sessions[this.keep % m.sessions.length]!;
    const what = `${this.toString()}${candidate === undefined ? '' : ` [keep ${candidate.sid}]`}`;
    const next = PASSWORDS[this.next]!;
    const current = user !== null && this.rightPassword ? user.password : WRONG_PASSWORD;
    const result = await attempt(
      r.auth.changePassword(
        user?.id ?? NO_SUCH_USER,
        current,
        next,
        candidate === undefined ? undefined : { keepSession: candidate.sid },
      ),
    );
    if (user === null || !this.rightPassword) {
      expectCode(result, user === null ? 'NOT_FOUND' : 'INVALID_CREDENTIALS', what);
      expectEvents(m, r, [], what);
      return;
    }
    // The session to keep must be this user's and still open; else every session ends.
    const kept =
      candidate !== undefined && candidate.slot === this.slot && isLiveSession(candidate, m.now)
        ? candidate
        : undefined;
    const value = expectOk(result, what);
    cutoff(m, 'user', this.slot);
    endAllOf(m, this.slot, kept);
    user.password = next;
    expectEvents(m, r, [`user:${user.id}:sessions:password:${kept?.sid ?? '-'}`], what);
    if (kept === undefined) {
      same(value, null, `${what}: no session kept`);
      return;
    }
    if (value === null && mintEdge(kept) <= m.now + BUMP_MS) {
      // The last partial second of the kept session: it could not be re-issued; it ends too.
      endSession(m, kept, 'user');
      return;
    }
    holds(value !== null, `${what}: the kept session gets fresh tokens`);
    for (const x of kept.refresh) x.deleted = true;
    kept.refresh.push({
      token: value!.refreshToken,
      rotatedAt: null,
      successor: null,
      deleted: false,
    });
    kept.authTime = m.now;
    acceptSignedIn(m, value!, kept, what);
  }
  toString = () =>
    `changePassword(user ${this.slot}, ${this.rightPassword ? 'right' : 'wrong'} password, keep ${this.keep}, next #${this.next})`;
}

class RevokeTokenCommand extends AuthCommand {
  constructor(readonly pick: number) {
    super();
  }
  override check(m: Readonly<Model>) {
    return m.tokens.length > 0;
  }
  protected async act(m: Model, r: Real) {
    const t = m.tokens[this.pick % m.tokens.length]!;
    const what = `${this.toString()} [${t.jti}]`;
    expectOk(await attempt(r.auth.revokeToken(t.jti, t.exp)), what);
    t.must.add('token');
    expectEvents(m, r, [`token:${t.jti}:${t.exp * 1000}`], what);
  }
  toString = () => `revokeToken(${this.pick})`;
}

class AdvanceCommand extends AuthCommand {
  constructor(readonly ms: number) {
    super();
  }
  protected async act(m: Model, r: Real) {
    m.now += this.ms;
    r.clock.advance(this.ms);
  }
  toString = () => `advance(${this.ms})`;
}

/**
 * Moves the clock to the millisecond before, at or after something runs out: a token's
 * expiry (exp + skew), a session's idle or absolute end (or the last whole second before
 * it), the end of a grace window, the end of a revocation entry's life.
 */
class AdvanceToEdgeCommand extends AuthCommand {
  constructor(
    readonly pick: number,
    readonly delta: -1 | 0 | 1,
  ) {
    super();
  }
  protected async act(m: Model, r: Real) {
    const edges: number[] = [];
    for (const t of m.tokens) edges.push(t.exp * 1000 + SKEW_MS);
    for (const s of m.sessions) {
      if (s.ended !== null) continue;
      edges.push(s.idleEnd, s.absEnd, mintEdge(s));
      for (const x of s.refresh) if (x.rotatedAt !== null) edges.push(x.rotatedAt + GRACE_MS);
    }
    for (const e of m.entries) edges.push(entryDeath(e));
    const future = [...new Set(edges.map((e) => e + this.delta))]
      .filter((e) => e > m.now)
      .sort((a, b) => a - b);
    if (future.length === 0) return;
    const target = future[this.pick % future.length]!;
    r.clock.advance(target - m.now);
    m.now = target;
  }
  toString = () => `advanceToEdge(${this.pick}, ${this.delta})`;
}

/** The store's purge with createAuth's retention (its hourly timer never fires in a test). */
class PurgeCommand extends AuthCommand {
  protected async act(m: Model, r: Real) {
    await r.store.purge(m.now, RETENTION_MS);
    const before = m.now - RETENTION_MS;
    for (const s of m.sessions) {
      const gone =
        (s.endedAt !== null && s.endedAt < before) || s.absEnd < before || s.idleEnd < before;
      if (!gone) continue;
      for (const x of s.refresh) x.deleted = true;
      if (s.ended === null) {
        s.ended = 'purged';
        s.endedAt = m.now;
      }
    }
    expectEvents(m, r, [], this.toString());
  }
  toString = () => 'purge()';
}

// --- arbitraries ---------------------------------------------------------------------

const slot = fc.nat({ max: SLOTS - 1 });
const refreshPick = fc.constantFrom<RefreshPick>(
  'current',
  'current',
  'current',
  'previous',
  'lastRotated',
  'lastRotated',
  'older',
  'unknown',
);
const advanceMs = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 1, max: 2000 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(1, 2, 999, 1000, GRACE_MS, GRACE_MS + 1, TTL_MS, WINDOW_MS),
  },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: WINDOW_MS + 10_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(IDLE_MS, ABS_MS) },
);

const edge = fc.tuple(fc.nat(), fc.constantFrom(-1 as const, 0 as const, 1 as const));
const refreshArgs = fc.tuple(fc.nat(), refreshPick, fc.nat());

/** Weighted so that sessions live long enough to be refreshed, reused and revoked. */
const command: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 2, arbitrary: slot.map((s) => new SignupCommand(s)) },
  { weight: 2, arbitrary: fc.tuple(slot, fc.boolean()).map(([s, ok]) => new LoginCommand(s, ok)) },
  { weight: 10, arbitrary: slot.map((s) => new LoginCommand(s, true)) },
  { weight: 16, arbitrary: refreshArgs.map(([p, w, o]) => new RefreshCommand(p, w, o)) },
  { weight: 2, arbitrary: refreshArgs.map(([p, w, o]) => new RevokeRefreshTokenCommand(p, w, o)) },
  { weight: 3, arbitrary: fc.nat().map((pick) => new LogoutCommand(pick)) },
  { weight: 2, arbitrary: slot.map((s) => new LogoutAllCommand(s)) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(slot, fc.array(fc.constantFrom(...ROLES), { maxLength: 4 }))
      .map(([s, roles]) => new SetRolesCommand(s, roles)),
  },
  { weight: 2, arbitrary: slot.map((s) => new DisableCommand(s)) },
  { weight: 2, arbitrary: slot.map((s) => new EnableCommand(s)) },
  { weight: 1, arbitrary: fc.constant(new RevokeEveryoneCommand()) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        slot,
        fc.boolean(),
        fc.option(fc.nat(), { nil: null, freq: 3 }),
        fc.nat({ max: PASSWORDS.length - 1 }),
      )
      .map(([s, right, keep, next]) => new ChangePasswordCommand(s, right, keep, next)),
  },
  { weight: 2, arbitrary: fc.nat().map((pick) => new RevokeTokenCommand(pick)) },
  { weight: 10, arbitrary: advanceMs.map((ms) => new AdvanceCommand(ms)) },
  { weight: 1, arbitrary: fc.constant(new AdvanceCommand(DAY_MS + 1)) },
  { weight: 8, arbitrary: edge.map(([pick, delta]) => new AdvanceToEdgeCommand(pick, delta)) },
  { weight: 1, arbitrary: fc.constant(new PurgeCommand()) },
);

const commands = fc.commands<Model, Real, false>([command], { maxCommands: 50, size: 'max' });

/** Where the run starts within a second: cutoffs and iats at a second's edge matter. */
const startOffset = fc.oneof(
  fc.constantFrom(0, 1, 500, 998, 999),
  fc.integer({ min: 0, max: 999 }),
);

async function openReal(start: number): Promise<Real> {
  const clock = manualClock(T0 + start);
  const store = sqliteStore(':memory:');
  const auth = createAuth({
    store,
    clock,
    password: CHEAP_HASH,
    accessTokenTtl: TTL_S,
    clockSkew: SKEW_S,
    refreshIdleTtl: IDLE_S,
    refreshAbsoluteTtl: ABS_S,
    refreshReuseGrace: GRACE_S,
    maxSessionsPerUser: MAX_SESSIONS,
    // Throttling is not modelled here: limits no run can reach.
    throttle: { account: { free: 10_000, max: 10_000 }, client: { free: 10_000, max: 10_000 } },
  });
  await auth.ready();
  const events: RevocationEvent[] = [];
  auth.onRevocation((event) => events.push(event));
  return { auth, store, clock, events };
}

describe('createAuth against a reference model (fast-check commands, SQLite)', () => {
  it('verify, refresh and the session list agree with the model after every operation', async () => {
    await fc.assert(
      fc.asyncProperty(startOffset, commands, async (start, cmds) => {
        const real = await openReal(start);
        try {
          const model: Model = {
            now: T0 + start,
            users: Array.from({ length: SLOTS }, () => null),
            sessions: [],
            tokens: [],
            entries: [],
            devices: 0,
          };
          // Two users exist from the start, one signed in (the third signs up in the run, or never).
          for (const s of PRESENT_USERS) await new SignupCommand(s).run(model, real);
          await new LoginCommand(0, true).run(model, real);
          await fc.asyncModelRun(() => ({ model, real }), cmds);
        } finally {
          await real.auth.close();
          await real.store.close();
        }
      }),
      modelParams(0x5eed_0002, 150),
    );
  }, 120_000);
});

/** What an operation answered, as one comparable string. */
async function outcomeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return 'ok';
  } catch (error) {
    return describeError(error);
  }
}

describe('counterexamples found by the model (createAuth)', () => {
  /**
   * Found by the model (FC_SEED=3 FC_RUNS=600 reproduces it), kept as a plain test. A password change
   * that keeps this session places the user's cutoff 1 ms above the session's last iat, so
   * the kept session's fresh token is minted with an iat 1 ms ahead of the clock (here
   * exactly on a second, so exp = iat + lifetime). A logout in the same millisecond logs
   * the session's revocation at the clock, 1 ms *before* that iat, and the list keeps a
   * sid entry only until revokedAt + lifetime + skew: 1 ms short of the token's end. In
   * that last millisecond the logged-out session's token verifies again. Any operation
   * that mints above the clock (a same-millisecond role change + refresh does it too)
   * followed by the session's end opens the same gap, as wide as the iat is ahead.
   */
  it("a logged-out session's token stays rejected until it expires, even when its iat is ahead of the logout", async () => {
    const real = await openReal(999); // the clock at …999 ms: the next millisecond is a whole second
    try {
      const { auth, clock } = real;
      const user = await auth.signup({ email: emailOf(0), password: PASSWORDS[0] });
      const first = await auth.login({ email: emailOf(0), password: PASSWORDS[0] });
      const kept = await auth.changePassword(user.id, PASSWORDS[0], PASSWORDS[1], {
        keepSession: first.session.sid,
      });
      await auth.logout(first.session.sid);
      const token = kept!.accessToken;
      const lastValidMs = kept!.claims.exp * 1000 + SKEW_MS - 1;
      clock.set(lastValidMs);
      auth.revocationStatus(); // a sweep is due: the list drops what it thinks is dead
      let outcome = 'accepted';
      try {
        auth.verify(token);
      } catch (error) {
        outcome = describeError(error);
      }
      same(outcome, 'AuthError TOKEN_REVOKED(session)', "verify in the token's last millisecond");
    } finally {
      await real.auth.close();
      await real.store.close();
    }
  });

  /**
   * Found by the model (FC_SEED=15 FC_RUNS=600 reproduces it). The access token is clamped to the
   * session's absolute end, and exp is whole seconds: when that end is not on a whole
   * second, a refresh in its last partial second asks the signer for exp <= iat and gets a
   * RangeError, after the store has already rotated the refresh token. Errors are to be
   * AuthErrors with a contract code; SESSION_EXPIRED (or a token that still verifies) is
   * what the model allows.
   */
  it('a refresh in the last partial second of the absolute lifetime answers with an AuthError, not a RangeError', async () => {
    const real = await openReal(500); // the session ends at …500 ms, not on a whole second
    try {
      const { auth, clock } = real;
      await auth.signup({ email: emailOf(0), password: PASSWORDS[0] });
      const signedIn = await auth.login({ email: emailOf(0), password: PASSWORDS[0] });
      const absoluteEnd = clock.now() + ABS_MS;
      clock.advance(ABS_MS / 2); // a refresh on the way keeps the idle end past the absolute one
      const again = await auth.refresh(signedIn.refreshToken);
      same(again.refreshExpiresAt, absoluteEnd, 'the session now ends at its absolute end');
      clock.set(absoluteEnd - 100);
      const outcome = await outcomeOf(async () => {
        const last = await auth.refresh(again.refreshToken);
        auth.verify(last.accessToken);
      });
      holds(
        outcome === 'ok' || outcome === 'AuthError SESSION_EXPIRED',
        `refresh 100 ms before the absolute end: ${outcome}`,
      );
    } finally {
      await real.auth.close();
      await real.store.close();
    }
  });

  /**
   * The same clamp in changePassword with keepSession (FC_SEED=5 FC_RUNS=600 reproduces
   * it): the password is changed, the other sessions end, the kept session gets a
   * new refresh token in the store, and then the caller gets a RangeError, so nobody holds
   * that token and the session stays listed as open. Either fresh tokens that verify, or
   * null with the kept session ended too.
   */
  it('a password change keeping a session in its last partial second answers without a RangeError', async () => {
    const real = await openReal(500);
    try {
      const { auth, clock } = real;
      const user = await auth.signup({ email: emailOf(0), password: PASSWORDS[0] });
      const signedIn = await auth.login({ email: emailOf(0), password: PASSWORDS[0] });
      const absoluteEnd = clock.now() + ABS_MS;
      clock.advance(ABS_MS / 2);
      const again = await auth.refresh(signedIn.refreshToken);
      same(again.refreshExpiresAt, absoluteEnd, 'the session now ends at its absolute end');
      clock.set(absoluteEnd - 100);
      let kept: SignedIn | null = null;
      const outcome = await outcomeOf(async () => {
        kept = await auth.changePassword(user.id, PASSWORDS[0], PASSWORDS[1], {
          keepSession: again.session.sid,
        });
      });
      same(outcome, 'ok', 'changePassword 100 ms before the kept session ends');
      const listed = (await auth.listSessions(user.id)).map((s) => s.sid);
      if (kept === null) same(listed, [], 'no session kept: none is left open');
      else auth.verify((kept as SignedIn).accessToken);
    } finally {
      await real.auth.close();
      await real.store.close();
    }
  });
});
