import type { Clock } from '../clock.js';
import { AuthError, type RevocationReason } from '../errors.js';
import type { RevocationCheck } from './check.js';
import type { RevocationEvent } from './events.js';
import { hashId } from './hash.js';
import { IdTable } from './table.js';

/**
 * How long a {@link RevocationList} must remember: an entry is forgotten once no token it could
 * reject can still be valid.
 */
export interface RevocationListOptions {
  /** Drives expiry and pruning; a manual clock in tests. */
  clock: Clock;
  /** The longest access-token lifetime (s): an entry is kept this long after its cutoff. */
  maxTokenLifetime: number;
  /** Allowed clock skew between instances (s), added to every entry's lifetime. */
  clockSkew: number;
}

/**
 * The live entries of a list, to load into another list (another instance, a restart).
 * Ids are kept as their 64-bit hashes (the list never stores the id strings), as flat
 * [hashHi, hashLo, ms] triples; plain JSON, so it can travel through a file or Redis.
 */
export interface RevocationSnapshot {
  /** The snapshot format; `load` refuses any other. */
  format: 'notbefore-revocations/1';
  /** The global cutoff (ms), or null when none is live. */
  global: number | null;
  /** User cutoffs, scope 'sessions' (reason `user`). */
  users: number[];
  /** User cutoffs, scope 'tokens' (reason `claims`). */
  userTokens: number[];
  /** Revoked sessions: the time each was revoked. */
  sessions: number[];
  /** Revoked tokens: each token's exp. */
  tokens: number[];
}

/** Live entry counts and memory of a {@link RevocationList}, for metrics and health checks. */
export interface RevocationStats {
  /** 1 while a global cutoff is live, else 0. */
  global: number;
  /** Live user cutoffs (a user with both scopes counts twice). */
  users: number;
  /** Revoked sessions still remembered. */
  sessions: number;
  /** Revoked tokens (by jti) still remembered. */
  tokens: number;
  /** The sum of `global`, `users`, `sessions` and `tokens`. */
  total: number;
  /** Bytes held by the list's tables. */
  bytes: number;
}

const SNAPSHOT_FORMAT = 'notbefore-revocations/1';

/**
 * A token's three ids, hashed (see `RevocationList.revocationKey`).
 *
 * @inline
 */
export type RevocationKey = Int32Array & { readonly __revocationKey: true };

function invalid(what: string): AuthError {
  return new AuthError('VALIDATION_FAILED', `Invalid revocation ${what}`);
}

function checkTime(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(what);
  return Math.ceil(value);
}

function checkId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(what);
  return value;
}

/**
 * The in-memory revocation list: the four rules of the architecture (global, user,
 * session, token) checked with a few hash-table probes, no I/O and no allocation.
 *
 * Every cutoff only moves forward (max-merge), so applying an event twice or out of
 * order gives the same state. An entry that can no longer reject an unexpired token is
 * pruned: cutoffs and session revocations after maxTokenLifetime + clockSkew, revoked
 * tokens after their exp + clockSkew. Pruning runs on `apply` (at most once per
 * `sweepInterval` of the injected clock, and before the tables grow), on `stats`,
 * `snapshot` and `prune`; there is no timer, so an owner that applies nothing for long
 * can call `prune()` itself. Memory is O(live revocations).
 *
 * @example
 * ```ts
 * import { RevocationList, systemClock } from 'notbefore';
 *
 * const list = new RevocationList({ clock: systemClock, maxTokenLifetime: 900, clockSkew: 30 });
 * list.apply({ kind: 'session', sid: 'sid-1', sub: 'user-1', at: Date.now(), cause: 'logout' });
 * list.check('user-1', 'sid-1', 'jti-1', Date.now() - 1000); // 'session'
 * list.check('user-1', 'sid-2', 'jti-2', Date.now() - 1000); // null
 * ```
 */
export class RevocationList implements RevocationCheck {
  private readonly clock: Clock;
  /** maxTokenLifetime + clockSkew, in ms: how long a cutoff or a sid entry can matter. */
  private readonly windowMs: number;
  private readonly skewMs: number;
  private readonly sweepIntervalMs: number;
  private nextSweepAt: number;
  private globalCutoff = Number.NEGATIVE_INFINITY;
  private readonly userSessions: IdTable;
  private readonly userTokens: IdTable;
  private readonly sessions: IdTable;
  private readonly tokens: IdTable;
  /** Scratch for hashId: the hot path allocates nothing. */
  private readonly h = new Int32Array(2);

  constructor(options: RevocationListOptions) {
    const { clock, maxTokenLifetime, clockSkew } = options;
    if (!Number.isFinite(maxTokenLifetime) || maxTokenLifetime <= 0) {
      throw new TypeError('RevocationList: maxTokenLifetime must be a positive number of seconds');
    }
    if (!Number.isFinite(clockSkew) || clockSkew < 0) {
      throw new TypeError('RevocationList: clockSkew must be a non-negative number of seconds');
    }
    this.clock = clock;
    this.skewMs = Math.ceil(clockSkew * 1000);
    this.windowMs = Math.ceil(maxTokenLifetime * 1000) + this.skewMs;
    this.sweepIntervalMs = Math.max(1000, Math.floor(this.windowMs / 16));
    const now = clock.now();
    this.nextSweepAt = now + this.sweepIntervalMs;
    this.userSessions = new IdTable(now);
    this.userTokens = new IdTable(now);
    this.sessions = new IdTable(now);
    this.tokens = new IdTable(now);
  }

  /**
   * A new list holding the live entries of `snapshot` (another list's `snapshot()`): how a
   * process starts from a saved or shared state.
   *
   * @throws {@link AuthError} `VALIDATION_FAILED` when the snapshot is malformed.
   */
  static fromSnapshot(
    snapshot: RevocationSnapshot,
    options: RevocationListOptions,
  ): RevocationList {
    const list = new RevocationList(options);
    list.load(snapshot);
    return list;
  }

  /**
   * Why a token is revoked, or null. When several rules apply the strongest meaning for
   * the client wins: global > user > session > token > claims (`claims` only when a
   * refresh would succeed). A token whose iat equals a cutoff is not revoked: a session
   * re-issued in the same millisecond as a revocation mints with iat >= cutoffFor(sub).
   */
  check(sub: string, sid: string, jti: string, iatMs: number): RevocationReason | null {
    if (iatMs < this.globalCutoff) return 'global';
    const h = this.h;
    let claims = false;
    const us = this.userSessions;
    const ut = this.userTokens;
    if (us.size + ut.size > 0) {
      hashId(sub, h);
      if (us.size > 0 && us.isBefore(h[0]!, h[1]!, iatMs)) return 'user';
      if (ut.size > 0) claims = ut.isBefore(h[0]!, h[1]!, iatMs);
    }
    if (this.sessions.size > 0) {
      hashId(sid, h);
      if (this.sessions.has(h[0]!, h[1]!)) return 'session';
    }
    if (this.tokens.size > 0) {
      hashId(jti, h);
      if (this.tokens.has(h[0]!, h[1]!)) return 'token';
    }
    if (claims) return 'claims';
    return null;
  }

  /**
   * The hashes of a token's ids, to compute once per token (e.g. alongside a verified-token
   * cache entry) and pass to `checkKey` on every request: the same answer as `check`
   * without hashing three strings. Valid for the life of the process and across lists.
   */
  revocationKey(sub: string, sid: string, jti: string): RevocationKey {
    const key = new Int32Array(6);
    const h = this.h;
    hashId(sub, h);
    key[0] = h[0]!;
    key[1] = h[1]!;
    hashId(sid, h);
    key[2] = h[0]!;
    key[3] = h[1]!;
    hashId(jti, h);
    key[4] = h[0]!;
    key[5] = h[1]!;
    return key as RevocationKey;
  }

  /** `check` for a key from `revocationKey`: a few probes, no hashing, no allocation. */
  checkKey(key: RevocationKey, iatMs: number): RevocationReason | null {
    if (iatMs < this.globalCutoff) return 'global';
    const us = this.userSessions;
    if (us.size > 0 && us.isBefore(key[0]!, key[1]!, iatMs)) return 'user';
    if (this.sessions.size > 0 && this.sessions.has(key[2]!, key[3]!)) return 'session';
    if (this.tokens.size > 0 && this.tokens.has(key[4]!, key[5]!)) return 'token';
    const ut = this.userTokens;
    if (ut.size > 0 && ut.isBefore(key[0]!, key[1]!, iatMs)) return 'claims';
    return null;
  }

  /** The latest cutoff (ms) that applies to `sub`; a signer mints with iat >= it. 0 if none. */
  cutoffFor(sub: string): number {
    const h = this.h;
    hashId(sub, h);
    return Math.max(
      0,
      this.globalCutoff,
      this.userSessions.get(h[0]!, h[1]!),
      this.userTokens.get(h[0]!, h[1]!),
    );
  }

  /**
   * True while session `sid` is on the list (until its entry is pruned, a token lifetime plus
   * skew after the revocation).
   */
  isSessionRevoked(sid: string): boolean {
    const h = this.h;
    hashId(sid, h);
    return this.sessions.has(h[0]!, h[1]!);
  }

  /** Applies one event; true if the state changed (an expired or older event changes nothing). */
  apply(event: RevocationEvent): boolean {
    const now = this.clock.now();
    if (now >= this.nextSweepAt) this.sweep(now);
    return this.applyAt(event, now);
  }

  /** Applies events in any order; returns how many changed the state. */
  applyAll(events: Iterable<RevocationEvent>): number {
    let changed = 0;
    for (const event of events) if (this.apply(event)) changed++;
    return changed;
  }

  /** Merges a snapshot (max-merge, like events); returns how many entries changed. */
  load(snapshot: RevocationSnapshot): number {
    if (
      typeof snapshot !== 'object' ||
      snapshot === null ||
      snapshot.format !== SNAPSHOT_FORMAT ||
      !(snapshot.global === null || typeof snapshot.global === 'number')
    ) {
      throw invalid('snapshot');
    }
    const now = this.clock.now();
    if (now >= this.nextSweepAt) this.sweep(now);
    let changed = 0;
    if (snapshot.global !== null) {
      const at = checkTime(snapshot.global, 'snapshot');
      if (at + this.windowMs > now && at > this.globalCutoff) {
        this.globalCutoff = at;
        changed++;
      }
    }
    const dead = now - this.windowMs;
    changed += this.loadTriples(this.userSessions, snapshot.users, dead, now);
    changed += this.loadTriples(this.userTokens, snapshot.userTokens, dead, now);
    changed += this.loadTriples(this.sessions, snapshot.sessions, dead, now);
    changed += this.loadTriples(this.tokens, snapshot.tokens, now - this.skewMs, now);
    return changed;
  }

  /** The live entries (pruned first), for `load`/`fromSnapshot` in another list. */
  snapshot(): RevocationSnapshot {
    this.prune();
    const triples = (table: IdTable): number[] => {
      const out: number[] = [];
      table.forEach((hi, lo, value) => {
        // Lanes as unsigned numbers in the snapshot; the table reads either form.
        out.push(hi >>> 0, lo >>> 0, value);
      });
      return out;
    };
    return {
      format: SNAPSHOT_FORMAT,
      global: this.globalCutoff === Number.NEGATIVE_INFINITY ? null : this.globalCutoff,
      users: triples(this.userSessions),
      userTokens: triples(this.userTokens),
      sessions: triples(this.sessions),
      tokens: triples(this.tokens),
    };
  }

  /**
   * Live entry counts for metrics. Expired entries are pruned first when a sweep is due, so
   * a count may lag expiry by up to one sweep interval (window / 16, at least 1 s).
   */
  stats(): RevocationStats {
    const now = this.clock.now();
    if (now >= this.nextSweepAt) this.sweep(now);
    const global = this.globalCutoff === Number.NEGATIVE_INFINITY ? 0 : 1;
    const users = this.userSessions.size + this.userTokens.size;
    const sessions = this.sessions.size;
    const tokens = this.tokens.size;
    const bytes =
      this.userSessions.bytes + this.userTokens.bytes + this.sessions.bytes + this.tokens.bytes;
    return { global, users, sessions, tokens, total: global + users + sessions + tokens, bytes };
  }

  /** Drops every entry that can no longer reject an unexpired token; returns how many. */
  prune(): number {
    return this.sweep(this.clock.now());
  }

  private applyAt(event: RevocationEvent, now: number): boolean {
    const h = this.h;
    switch (event.kind) {
      case 'global': {
        const at = checkTime(event.at, 'event');
        if (at + this.windowMs <= now || at <= this.globalCutoff) return false;
        this.globalCutoff = at;
        return true;
      }
      case 'user': {
        const at = checkTime(event.at, 'event');
        hashId(checkId(event.sub, 'event'), h);
        let table: IdTable;
        if (event.scope === 'sessions') table = this.userSessions;
        else if (event.scope === 'tokens') table = this.userTokens;
        else throw invalid('event');
        if (at + this.windowMs <= now) return false;
        // `exceptSid` needs nothing here: the kept session's old tokens die with the rest,
        // and its fresh ones are minted with iat >= the cutoff.
        return table.raise(h[0]!, h[1]!, at, now - this.windowMs, now);
      }
      case 'session': {
        const at = checkTime(event.at, 'event');
        hashId(checkId(event.sid, 'event'), h);
        if (at + this.windowMs <= now) return false;
        return this.sessions.raise(h[0]!, h[1]!, at, now - this.windowMs, now);
      }
      case 'token': {
        const exp = checkTime(event.exp, 'event');
        hashId(checkId(event.jti, 'event'), h);
        if (exp + this.skewMs <= now) return false;
        return this.tokens.raise(h[0]!, h[1]!, exp, now - this.skewMs, now);
      }
      default:
        throw invalid('event');
    }
  }

  private loadTriples(table: IdTable, triples: unknown, dead: number, now: number): number {
    if (!Array.isArray(triples) || triples.length % 3 !== 0) throw invalid('snapshot');
    let changed = 0;
    for (let k = 0; k < triples.length; k += 3) {
      const hi: unknown = triples[k];
      const lo: unknown = triples[k + 1];
      const value = checkTime(triples[k + 2], 'snapshot');
      if (!isLane(hi) || !isLane(lo) || hi === 0) throw invalid('snapshot');
      if (value > dead && table.raise(hi, lo, value, dead, now)) changed++;
    }
    return changed;
  }

  private sweep(now: number): number {
    this.nextSweepAt = now + this.sweepIntervalMs;
    const dead = now - this.windowMs;
    let dropped = 0;
    if (this.globalCutoff !== Number.NEGATIVE_INFINITY && this.globalCutoff <= dead) {
      this.globalCutoff = Number.NEGATIVE_INFINITY;
      dropped++;
    }
    dropped += this.userSessions.sweep(dead, now);
    dropped += this.userTokens.sweep(dead, now);
    dropped += this.sessions.sweep(dead, now);
    dropped += this.tokens.sweep(now - this.skewMs, now);
    return dropped;
  }
}

function isLane(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}
