import type { Fault, HistoryData, Op, ProcessName, TokenClaims } from './history.js';

/**
 * What a history says about tokens, sessions and revocations, and which revocation
 * covers which token. Pure: built from the recorded operations only.
 */

export interface TokenInfo {
  claims: TokenClaims;
  /** The answer that carried it (sign-up, sign-in, refresh or password change). */
  op: Op;
  accessToken: string;
  refreshToken: string;
}

export interface SessionInfo {
  sid: string;
  sub: string;
  /** When the first answer carrying one of its tokens came back. */
  establishedAt: number;
}

export type RevocationKind =
  | 'logout'
  | 'reuse'
  | 'logout-all'
  | 'password'
  | 'disable'
  | 'roles'
  | 'revoke-everyone';

/** An acknowledged revocation: a success answer (or a refresh-reuse refusal) came back. */
export interface Revocation {
  kind: RevocationKind;
  op: Op;
  sent: number;
  acked: number;
  sub?: string;
  sid?: string;
  /** Password change: the session that keeps going with fresh tokens. */
  keptSid?: string;
  /** Password change: the password it replaced. */
  oldPassword?: string;
}

const ok = (op: Op): boolean => op.status !== null && op.status >= 200 && op.status < 300;
const isSignIn = (op: Op): boolean =>
  op.kind === 'login' || op.kind === 'signup' || op.kind === 'accept-invitation';

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export class Model {
  readonly tokens = new Map<string, TokenInfo>();
  readonly tokensBySub = new Map<string, TokenInfo[]>();
  readonly tokensBySid = new Map<string, TokenInfo[]>();
  readonly sessions = new Map<string, SessionInfo>();
  readonly revocations: Revocation[] = [];
  private readonly revBySub = new Map<string, Revocation[]>();
  private readonly revBySid = new Map<string, Revocation[]>();
  private readonly revGlobal: Revocation[] = [];
  /** Role name (each role change sets one new name) → the change that set it. */
  private readonly roleOps = new Map<string, Op>();
  private readonly enables = new Map<string, Op[]>();
  /** Ops that presented each token, in the order they were sent. */
  readonly opsByJti = new Map<string, Op[]>();

  constructor(readonly data: HistoryData) {
    const ops = [...data.ops].sort((a, b) => a.sent - b.sent);
    for (const op of ops) {
      if (op.obtained && op.received !== null) {
        const { claims } = op.obtained;
        const info: TokenInfo = {
          claims,
          op,
          accessToken: op.obtained.accessToken,
          refreshToken: op.obtained.refreshToken,
        };
        this.tokens.set(claims.jti, info);
        push(this.tokensBySub, claims.sub, info);
        push(this.tokensBySid, claims.sid, info);
        const session = this.sessions.get(claims.sid);
        if (session === undefined)
          this.sessions.set(claims.sid, {
            sid: claims.sid,
            sub: claims.sub,
            establishedAt: op.received,
          });
        else session.establishedAt = Math.min(session.establishedAt, op.received);
      }
      if (op.usedJti !== undefined) push(this.opsByJti, op.usedJti, op);
      if (op.kind === 'roles' && op.roles?.[0] !== undefined) this.roleOps.set(op.roles[0], op);
      if (op.kind === 'enable' && op.userId !== undefined) push(this.enables, op.userId, op);
    }
    for (const op of ops) {
      const revocation = this.revocationOf(op);
      if (revocation === null) continue;
      this.revocations.push(revocation);
      if (revocation.kind === 'revoke-everyone') this.revGlobal.push(revocation);
      else if (revocation.sid !== undefined) push(this.revBySid, revocation.sid, revocation);
      else if (revocation.sub !== undefined) push(this.revBySub, revocation.sub, revocation);
    }
  }

  private revocationOf(op: Op): Revocation | null {
    if (op.received === null) return null;
    const used = op.usedJti === undefined ? undefined : this.tokens.get(op.usedJti);
    const base = { op, sent: op.sent, acked: op.received };
    if (op.kind === 'refresh' && op.code === 'REFRESH_TOKEN_REUSED' && op.sid !== undefined)
      return { ...base, kind: 'reuse', sid: op.sid };
    if (!ok(op)) return null;
    switch (op.kind) {
      case 'logout': {
        const sid = op.sid ?? used?.claims.sid;
        return sid === undefined ? null : { ...base, kind: 'logout', sid };
      }
      case 'logout-all':
        return used ? { ...base, kind: 'logout-all', sub: used.claims.sub } : null;
      case 'password': {
        if (!used) return null;
        const revocation: Revocation = { ...base, kind: 'password', sub: used.claims.sub };
        if (op.obtained) revocation.keptSid = op.obtained.claims.sid;
        if (op.password !== undefined) revocation.oldPassword = op.password;
        return revocation;
      }
      case 'roles':
      case 'disable':
        return op.userId === undefined ? null : { ...base, kind: op.kind, sub: op.userId };
      case 'revoke-everyone':
        return { ...base, kind: 'revoke-everyone' };
      default:
        return null;
    }
  }

  /** Revocations that may cover this token (same sid, same user, or global). */
  candidates(sub: string, sid: string): Revocation[] {
    return [
      ...(this.revBySid.get(sid) ?? []),
      ...(this.revBySub.get(sub) ?? []),
      ...this.revGlobal,
    ];
  }

  /**
   * Whether the token must be refused once `r` is acknowledged. Tokens obtained before the
   * revoking request was sent are covered. Of the tokens minted concurrently, some are
   * covered whichever way the two operations are ordered: a refresh of a session that
   * existed before a revocation ending every session (had it come after, it must have
   * failed), a sign-in with the password a change replaced, a sign-in racing a disable
   * with no enable in between, a token carrying roles older than a role change. The rest
   * (a fresh sign-in racing a logout-all, say) may be either, and are not judged.
   */
  covers(r: Revocation, t: TokenInfo): boolean {
    const { claims } = t;
    if (r.kind === 'logout' || r.kind === 'reuse') return claims.sid === r.sid;
    if (t.op === r.op) return false;
    const before = (t.op.received ?? Number.POSITIVE_INFINITY) < r.sent;
    const refreshOfOld =
      t.op.kind === 'refresh' &&
      (this.sessions.get(claims.sid)?.establishedAt ?? Number.POSITIVE_INFINITY) < r.sent;
    if (r.kind === 'revoke-everyone') return before || refreshOfOld;
    if (claims.sub !== r.sub) return false;
    switch (r.kind) {
      case 'logout-all':
        return before || refreshOfOld;
      case 'password':
        if (before) return true;
        if (refreshOfOld && claims.sid !== r.keptSid) return true;
        return isSignIn(t.op) && t.op.password !== undefined && t.op.password === r.oldPassword;
      case 'disable':
        if (before || refreshOfOld) return true;
        return isSignIn(t.op) && !this.enableBetween(r, t.op);
      case 'roles':
        return before || this.rolesOlder(claims.roles, r);
    }
  }

  /** Whether a session must be over once `r` is acknowledged (its refresh must fail). */
  coversSession(r: Revocation, session: SessionInfo): boolean {
    switch (r.kind) {
      case 'logout':
      case 'reuse':
        return session.sid === r.sid;
      case 'revoke-everyone':
        return session.establishedAt < r.sent;
      case 'logout-all':
      case 'disable':
        return session.sub === r.sub && session.establishedAt < r.sent;
      case 'password':
        return session.sub === r.sub && session.establishedAt < r.sent && session.sid !== r.keptSid;
      case 'roles':
        return false;
    }
  }

  /** An enable of the user that may have landed between the disable `r` and `op`. */
  enableBetween(r: Revocation, op: Op): boolean {
    const until = op.received ?? Number.POSITIVE_INFINITY;
    return (this.enables.get(r.sub ?? '') ?? []).some(
      (e) => e.sent < until && (e.received ?? Number.POSITIVE_INFINITY) > r.sent,
    );
  }

  /**
   * Roles set before the change `r` began: none (as signed up) or a role name set by a
   * change acknowledged before `r` was sent. Every change sets a name never used before.
   */
  private rolesOlder(roles: string[], r: Revocation): boolean {
    if (roles.length === 0) return true;
    const setter = this.roleOps.get(roles[0] ?? '');
    if (setter === undefined || setter === r.op) return false;
    return setter.received !== null && ok(setter) && setter.received < r.sent;
  }

  /** Every acknowledged revocation covering the token. */
  coveringRevocations(t: TokenInfo): Revocation[] {
    return this.candidates(t.claims.sub, t.claims.sid).filter((r) => this.covers(r, t));
  }

  /** Every token some acknowledged revocation covers. */
  coveredTokens(): TokenInfo[] {
    return [...this.tokens.values()].filter((t) => this.coveringRevocations(t).length > 0);
  }

  /** Tokens possibly covered by `r` (a superset; filter with covers). */
  tokensNear(r: Revocation): TokenInfo[] {
    if (r.sid !== undefined) return this.tokensBySid.get(r.sid) ?? [];
    if (r.sub !== undefined) return this.tokensBySub.get(r.sub) ?? [];
    return [...this.tokens.values()];
  }

  /** Faults that could slow what `process` learns of a revocation made on `revoker`. */
  faultsAffecting(process: ProcessName, revoker: ProcessName, faults: Fault[]): Fault[] {
    return faults.filter(
      (f) => f.targets.includes('*') || f.targets.includes(process) || f.targets.includes(revoker),
    );
  }
}
