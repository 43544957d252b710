import { describe, expect, it } from 'vitest';
import { type CheckConfig, check, type Rule } from './checker.js';
import type { Fault, HistoryData, Op, ProcessName } from './history.js';

/**
 * The checker on small hand-written histories: each rule fires on the history that
 * breaks it, and stays quiet on the ambiguous and the in-bound cases next to it.
 */

const CONFIG: CheckConfig = {
  shortBoundMs: 1000,
  longBoundMs: 4000,
  faultGraceMs: 2000,
  throttleMax: 10,
  throttleWindowMs: 900_000,
  allowed5xx: ['503 REVOCATION_STATE_STALE'],
};

class Builder {
  readonly ops: Op[] = [];
  readonly faults: Fault[] = [];

  op(fields: Partial<Op> & Pick<Op, 'kind' | 'sent'>): Op {
    const op: Op = {
      id: this.ops.length,
      phase: 'run',
      actor: 'client0',
      process: 'serve0',
      received: fields.sent + 5,
      status: 200,
      ...fields,
    };
    this.ops.push(op);
    return op;
  }

  /** A sign-in answer (login, signup, refresh, password) carrying a token. */
  signIn(
    kind: 'login' | 'signup' | 'refresh' | 'password',
    at: number,
    t: { sub: string; sid: string; jti: string; roles?: string[] },
    extra: Partial<Op> = {},
  ): Op {
    return this.op({
      kind,
      sent: at,
      received: at + 5,
      userId: t.sub,
      sid: t.sid,
      obtained: {
        claims: { ...t, roles: t.roles ?? [], iat: at / 1000, exp: at / 1000 + 60 },
        accessToken: `access-${t.jti}`,
        refreshToken: `refresh-${t.jti}`,
      },
      ...extra,
    });
  }

  use(jti: string, at: number, process: ProcessName = 'serve1', status = 200, code?: string): Op {
    const fields: Partial<Op> & Pick<Op, 'kind' | 'sent'> = {
      kind: process === 'verifier' ? 'check' : 'me',
      sent: at,
      process,
      usedJti: jti,
      status,
    };
    if (code !== undefined) fields.code = code;
    return this.op(fields);
  }

  fault(kind: Fault['kind'], targets: Fault['targets'], start: number, end: number): void {
    this.faults.push({ id: this.faults.length, kind, targets, detail: '', start, end });
  }

  data(): HistoryData {
    return { ops: this.ops, faults: this.faults, healedAt: null };
  }

  rules(): Rule[] {
    return check(this.data(), CONFIG).violations.map((v) => v.rule);
  }
}

const ann = { sub: 'ann', sid: 's1', jti: 't1' };

describe('torture checker', () => {
  it('(a) a token accepted past the short bound after its logout is a violation; within it is not', () => {
    const h = new Builder();
    h.signIn('login', 0, ann);
    h.op({ kind: 'logout', sent: 100, received: 110, usedJti: 't1', sid: 's1', status: 204 });
    h.use('t1', 900);
    expect(h.rules()).toEqual([]);
    h.use('t1', 1200);
    const [violation] = check(h.data(), CONFIG).violations;
    expect(violation?.rule).toBe('revoked-token-accepted');
    expect(violation?.evidence.boundMs).toBe(1000);
  });

  it('(a) a fault on the accepting or the revoking process widens the bound; elsewhere it does not', () => {
    const h = new Builder();
    h.signIn('login', 0, ann);
    h.op({ kind: 'logout', sent: 100, received: 110, sid: 's1', usedJti: 't1', status: 204 });
    h.use('t1', 3000, 'serve1');
    h.fault('cut-redis-link', ['serve2'], 50, 500);
    expect(h.rules()).toEqual(['revoked-token-accepted']);
    h.faults.length = 0;
    h.fault('cut-redis-link', ['serve0'], 50, 500); // the revoker
    expect(h.rules()).toEqual([]);
    h.faults.length = 0;
    h.fault('redis-restart-lossy', ['*'], 2000, 2500);
    expect(h.rules()).toEqual([]);
    h.use('t1', 4200, 'verifier');
    expect(h.rules()).toEqual(['revoked-token-accepted']);
  });

  it('(a) refusals and 503 REVOCATION_STATE_STALE are always safe', () => {
    const h = new Builder();
    h.signIn('login', 0, ann);
    h.op({ kind: 'logout', sent: 100, received: 110, sid: 's1', usedJti: 't1', status: 204 });
    h.use('t1', 5000, 'serve1', 401, 'TOKEN_REVOKED');
    h.use('t1', 5000, 'verifier', 503, 'REVOCATION_STATE_STALE');
    expect(h.rules()).toEqual([]);
  });

  it('(a) logout-all: covers earlier tokens and refreshes of earlier sessions, not a racing sign-in', () => {
    const h = new Builder();
    h.signIn('login', 0, ann);
    h.signIn('login', 10, { sub: 'ann', sid: 's2', jti: 't2' });
    // Racing the logout-all (sent 100, answered 200): a refresh of s2 and a new sign-in.
    h.signIn('refresh', 150, { sub: 'ann', sid: 's2', jti: 't3' });
    h.signIn('login', 150, { sub: 'ann', sid: 's3', jti: 't4' });
    h.op({ kind: 'logout-all', sent: 100, received: 200, usedJti: 't1', status: 204 });
    h.use('t4', 5000);
    expect(h.rules()).toEqual([]);
    h.use('t3', 5000);
    h.use('t1', 5000);
    expect(h.rules()).toEqual(['revoked-token-accepted', 'revoked-token-accepted']);
  });

  it('(a) role change: a racing token with the old roles is covered, one with the new roles is not', () => {
    const h = new Builder();
    h.signIn('login', 0, ann);
    h.op({ kind: 'roles', sent: 100, received: 130, userId: 'ann', roles: ['r1'], actor: 'admin' });
    h.signIn('refresh', 110, { ...ann, jti: 't2', roles: [] });
    h.signIn('refresh', 111, { ...ann, jti: 't3', roles: ['r1'] });
    h.use('t3', 3000);
    expect(h.rules()).toEqual([]);
    h.use('t2', 3000);
    expect(h.rules()).toEqual(['revoked-token-accepted']);
  });

  it('(a) password change: the changing session keeps its new token; other tokens are covered', () => {
    const h = new Builder();
    h.signIn('login', 0, ann, { password: 'old-pass' });
    h.signIn('login', 10, { sub: 'ann', sid: 's2', jti: 't2' }, { password: 'old-pass' });
    h.signIn('password', 100, { ...ann, jti: 't3' }, { usedJti: 't1', password: 'old-pass' });
    h.signIn('refresh', 3000, { ...ann, jti: 't4' });
    h.use('t3', 3000);
    h.use('t4', 3100);
    expect(h.rules()).toEqual([]);
    h.use('t1', 3000);
    h.use('t2', 3000);
    expect(h.rules()).toEqual(['revoked-token-accepted', 'revoked-token-accepted']);
  });

  it('(b) a replaced password accepted, a revoked session refreshed, a disabled user signed in', () => {
    const h = new Builder();
    h.signIn('login', 0, ann, { password: 'old-pass' });
    h.signIn('password', 100, { ...ann, jti: 't2' }, { usedJti: 't1', password: 'old-pass' });
    h.op({ kind: 'login', sent: 500, userId: 'ann', password: 'old-pass', status: 401 });
    expect(h.rules()).toEqual([]);
    h.op({ kind: 'login', sent: 600, userId: 'ann', password: 'old-pass', status: 200 });
    expect(h.rules()).toEqual(['old-password-accepted']);

    const g = new Builder();
    g.signIn('login', 0, { sub: 'bob', sid: 'b1', jti: 'u1' });
    g.op({ kind: 'logout', sent: 100, sid: 'b1', usedJti: 'u1', status: 204 });
    g.op({ kind: 'refresh', sent: 90, received: 120, sid: 'b1', status: 200 });
    expect(g.rules()).toEqual([]);
    g.op({ kind: 'refresh', sent: 200, sid: 'b1', status: 200 });
    expect(g.rules()).toEqual(['revoked-session-refreshed']);

    const d = new Builder();
    d.op({ kind: 'disable', sent: 100, userId: 'cy', actor: 'admin', status: 204 });
    d.op({ kind: 'login', sent: 200, userId: 'cy', status: 403, code: 'ACCOUNT_DISABLED' });
    d.op({ kind: 'login', sent: 300, userId: 'cy', status: 200 });
    expect(d.rules()).toEqual(['disabled-user-signed-in']);
    d.op({ kind: 'enable', sent: 250, received: 400, userId: 'cy', actor: 'admin', status: 204 });
    expect(d.rules()).toEqual([]);
  });

  it('(c) more than the maximum of wrong passwords evaluated in a window; anything but 401/429 answered', () => {
    const h = new Builder();
    for (let i = 0; i < 10; i++)
      h.op({ kind: 'guess', sent: i, email: 'g@x', status: 401, code: 'INVALID_CREDENTIALS' });
    for (let i = 0; i < 5; i++)
      h.op({ kind: 'guess', sent: 20 + i, email: 'g@x', status: 429, code: 'RATE_LIMITED' });
    expect(h.rules()).toEqual([]);
    h.op({ kind: 'guess', sent: 30, email: 'g@x', status: 401, code: 'INVALID_CREDENTIALS' });
    expect(h.rules()).toEqual(['too-many-guesses']);
    // A new window after 15 minutes counts afresh.
    const w = new Builder();
    for (let i = 0; i < 20; i++)
      w.op({
        kind: 'guess',
        sent: i < 10 ? i : 900_000 + i,
        email: 'g@x',
        status: 401,
        code: 'INVALID_CREDENTIALS',
      });
    expect(w.rules()).toEqual([]);
    w.op({ kind: 'guess', sent: 950_000, email: 'g@x', status: 200 });
    expect(w.rules()).toEqual(['guess-wrongly-answered']);
  });

  it('(d) a 5xx other than 503 REVOCATION_STATE_STALE, and a process that exited on its own', () => {
    const h = new Builder();
    h.op({ kind: 'me', sent: 0, status: 503, code: 'REVOCATION_STATE_STALE' });
    h.op({ kind: 'login', sent: 0, status: null, error: 'ECONNREFUSED' });
    expect(h.rules()).toEqual([]);
    h.op({ kind: 'me', sent: 10, status: 500, code: 'INTERNAL' });
    expect(h.rules()).toEqual(['server-error']);
    const exits = [{ process: 'serve1', at: 5, code: 1, tail: '' }];
    expect(check(h.data(), CONFIG, { exits }).violations.map((v) => v.rule)).toEqual([
      'process-exited',
      'server-error',
    ]);
  });

  it('measures the lag from the acknowledgement to the first refused probe per process', () => {
    const h = new Builder();
    h.signIn('login', 0, ann);
    const logout = h.op({
      kind: 'logout',
      sent: 100,
      received: 110,
      sid: 's1',
      usedJti: 't1',
      status: 204,
    });
    h.use('t1', 112, 'serve1').probeOf = logout.id;
    h.use('t1', 212, 'serve1', 401, 'TOKEN_REVOKED').probeOf = logout.id;
    h.use('t1', 113, 'verifier', 401, 'TOKEN_REVOKED').probeOf = logout.id;
    // A refusal seen by a probe of another revocation is no sample of this one.
    h.use('t1', 150, 'serve2', 401, 'TOKEN_REVOKED').probeOf = 99;
    const lags = check(h.data(), CONFIG).lags.map((l) => [
      l.process,
      Math.round(l.lagMs),
      Math.round(l.acceptedUntilMs),
    ]);
    expect(lags.sort()).toEqual([
      ['serve1', 102, 2],
      ['verifier', 3, 0],
    ]);
  });
});
