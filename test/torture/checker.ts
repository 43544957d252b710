import type { Fault, HistoryData, Op, ProcessName } from './history.js';
import { Model, type Revocation, type RevocationKind } from './model.js';

/**
 * Reads a whole history and finds what must not happen:
 * (a) a request accepted with a token whose revocation had been acknowledged more than
 *     the bound earlier (short with no fault near the accepting or revoking process,
 *     maxStaleness + catch-up + slack with one);
 * (b) an acknowledged change lost: an old password accepted, a revoked session refreshed,
 *     a disabled user signed in (the store answers these: no lag is allowed);
 * (c) more wrong passwords evaluated per account and window than the throttle's maximum;
 * (d) a 5xx other than the allowed 503s (REVOCATION_STATE_STALE; STORE_UNAVAILABLE while a
 *     store link is cut).
 */

export interface CheckConfig {
  /** Lag allowed with no fault near the processes involved (ms). */
  shortBoundMs: number;
  /** Lag allowed with one: maxStaleness + one catch-up period + slack (ms). */
  longBoundMs: number;
  /** How long after a fault ends its effects may last (reconnects, retries) (ms). */
  faultGraceMs: number;
  throttleMax: number;
  throttleWindowMs: number;
  /** "status CODE" of the 5xx answers that are allowed. */
  allowed5xx: readonly string[];
}

export type Rule =
  | 'revoked-token-accepted'
  | 'old-password-accepted'
  | 'revoked-session-refreshed'
  | 'disabled-user-signed-in'
  | 'too-many-guesses'
  | 'guess-wrongly-answered'
  | 'server-error'
  | 'process-exited'
  | 'no-convergence';

export const RULE_LETTER: Record<Rule, string> = {
  'revoked-token-accepted': 'a',
  'old-password-accepted': 'b',
  'revoked-session-refreshed': 'b',
  'disabled-user-signed-in': 'b',
  'no-convergence': 'b',
  'too-many-guesses': 'c',
  'guess-wrongly-answered': 'c',
  'server-error': 'd',
  'process-exited': 'd',
};

export interface Violation {
  rule: Rule;
  /** When it happened (ms since the run's start). */
  at: number;
  summary: string;
  evidence: Record<string, unknown>;
}

export interface LagSample {
  revocation: RevocationKind;
  process: ProcessName;
  /** From the acknowledgement to the sending of the first probe the process refused (ms): an upper bound. */
  lagMs: number;
  /** From the acknowledgement to the sending of the last probe it accepted before (ms, 0 if none): a lower bound. */
  acceptedUntilMs: number;
  /** Whether a fault touched the process or the revoker meanwhile. */
  underFault: boolean;
}

export interface CheckResult {
  violations: Violation[];
  lags: LagSample[];
  /** Requests accepted with a covered token after its acknowledgement, but within the bound. */
  acceptedWithinBound: number;
  revocations: Record<string, number>;
  coveredTokens: number;
}

export interface Convergence {
  ok: boolean;
  detail: string;
  at: number;
}

const ok = (op: Op): boolean => op.status !== null && op.status >= 200 && op.status < 300;
const INF = Number.POSITIVE_INFINITY;

/** A compact view of an op for evidence (no tokens). */
export function brief(op: Op): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: op.id,
    kind: op.kind,
    actor: op.actor,
    process: op.process,
    sent: Math.round(op.sent),
    received: op.received === null ? null : Math.round(op.received),
    answer: op.status === null ? `no answer (${op.error})` : `${op.status} ${op.code ?? ''}`.trim(),
  };
  if (op.reason !== undefined) out.reason = op.reason;
  if (op.userId !== undefined) out.userId = op.userId;
  if (op.sid !== undefined) out.sid = op.sid;
  if (op.usedJti !== undefined) out.usedJti = op.usedJti;
  if (op.roles !== undefined) out.roles = op.roles;
  if (op.obtained) {
    const c = op.obtained.claims;
    out.obtained = { jti: c.jti, sid: c.sid, sub: c.sub, roles: c.roles, iat: c.iat, exp: c.exp };
  }
  if (op.probeOf !== undefined) out.probeOf = op.probeOf;
  return out;
}

const briefFault = (f: Fault) => ({
  id: f.id,
  kind: f.kind,
  targets: f.targets,
  detail: f.detail,
  start: Math.round(f.start),
  end: f.end === null ? null : Math.round(f.end),
});

/** What the harness saw besides the requests. */
export interface CheckExtras {
  convergence?: Convergence;
  /** Processes that exited without the harness asking. */
  exits?: ReadonlyArray<{ process: string; at: number; code: number | null; tail: string }>;
}

export function check(
  data: HistoryData,
  config: CheckConfig,
  extras: CheckExtras = {},
): CheckResult {
  const { convergence } = extras;
  const model = new Model(data);
  const violations: Violation[] = [];

  const nearFaults = (process: ProcessName, r: Revocation, from: number, to: number): Fault[] =>
    model
      .faultsAffecting(process, r.op.process, data.faults)
      .filter((f) => f.start <= to && (f.end ?? INF) + config.faultGraceMs >= from);

  // (a) revoked tokens accepted past the bound.
  let acceptedWithinBound = 0;
  for (const op of data.ops) {
    if (op.usedJti === undefined || !ok(op)) continue;
    const token = model.tokens.get(op.usedJti);
    if (token === undefined) continue;
    for (const r of model.coveringRevocations(token)) {
      if (r.acked >= op.sent) continue;
      const faults = nearFaults(op.process, r, r.acked, op.sent);
      const bound = faults.length > 0 ? config.longBoundMs : config.shortBoundMs;
      const late = op.sent - r.acked;
      if (late <= bound) {
        acceptedWithinBound += 1;
        continue;
      }
      violations.push({
        rule: 'revoked-token-accepted',
        at: op.sent,
        summary: `${op.process} accepted (${op.kind} → ${op.status}) a token ${Math.round(late)} ms after its ${r.kind} was acknowledged (bound ${bound} ms)`,
        evidence: {
          accepted: brief(op),
          token: brief(token.op),
          revocation: brief(r.op),
          revocationKind: r.kind,
          lateMs: Math.round(late),
          boundMs: bound,
          faultsNear: faults.map(briefFault),
        },
      });
      break;
    }
  }

  // (b) acknowledged changes lost: the store answers these, so no lag is allowed.
  const passwordChanges = model.revocations.filter((r) => r.kind === 'password');
  const disables = model.revocations.filter((r) => r.kind === 'disable');
  for (const op of data.ops) {
    if (op.kind === 'login' && op.userId !== undefined && op.received !== null) {
      const correct = ok(op) || (op.status === 403 && op.code === 'ACCOUNT_DISABLED');
      if (correct) {
        const old = passwordChanges.find(
          (r) => r.sub === op.userId && r.oldPassword === op.password && r.acked < op.sent,
        );
        if (old)
          violations.push({
            rule: 'old-password-accepted',
            at: op.sent,
            summary: `${op.process} accepted a password (${op.status}) ${Math.round(op.sent - old.acked)} ms after a change replacing it was acknowledged`,
            evidence: { login: brief(op), change: brief(old.op) },
          });
      }
      if (ok(op)) {
        const disabled = disables.find(
          (r) => r.sub === op.userId && r.acked < op.sent && !model.enableBetween(r, op),
        );
        if (disabled)
          violations.push({
            rule: 'disabled-user-signed-in',
            at: op.sent,
            summary: `${op.process} signed in a user ${Math.round(op.sent - disabled.acked)} ms after the disable was acknowledged, with no enable since`,
            evidence: { login: brief(op), disable: brief(disabled.op) },
          });
      }
    }
    if (op.kind === 'refresh' && ok(op) && op.sid !== undefined) {
      const session = model.sessions.get(op.sid);
      if (session === undefined) continue;
      const ended = model
        .candidates(session.sub, session.sid)
        .find((r) => r.acked < op.sent && model.coversSession(r, session));
      if (ended)
        violations.push({
          rule: 'revoked-session-refreshed',
          at: op.sent,
          summary: `${op.process} refreshed a session ${Math.round(op.sent - ended.acked)} ms after its ${ended.kind} was acknowledged`,
          evidence: { refresh: brief(op), revocation: brief(ended.op), revocationKind: ended.kind },
        });
    }
  }
  if (convergence && !convergence.ok)
    violations.push({
      rule: 'no-convergence',
      at: convergence.at,
      summary: `after healing, the processes did not converge: ${convergence.detail}`,
      evidence: { detail: convergence.detail },
    });

  // (c) wrong passwords evaluated per account and window.
  const guesses = new Map<string, Op[]>();
  for (const op of data.ops) {
    if (op.kind !== 'guess' || op.email === undefined) continue;
    const list = guesses.get(op.email) ?? [];
    list.push(op);
    guesses.set(op.email, list);
    if (op.status === null || op.status >= 500) continue;
    const evaluated = op.status === 401 && op.code === 'INVALID_CREDENTIALS';
    const refused = op.status === 429 && op.code === 'RATE_LIMITED';
    if (!evaluated && !refused)
      violations.push({
        rule: 'guess-wrongly-answered',
        at: op.sent,
        summary: `a wrong password got ${op.status} ${op.code ?? ''} from ${op.process}`,
        evidence: { guess: brief(op) },
      });
  }
  for (const [email, ops] of guesses) {
    const evaluated = ops
      .filter((op) => op.status === 401 && op.code === 'INVALID_CREDENTIALS')
      .sort((a, b) => a.sent - b.sent);
    let start = 0;
    while (start < evaluated.length) {
      const windowStart = evaluated[start]!.sent;
      let end = start;
      while (end < evaluated.length && evaluated[end]!.sent < windowStart + config.throttleWindowMs)
        end++;
      const inWindow = evaluated.slice(start, end);
      if (inWindow.length > config.throttleMax) {
        const sent = ops.filter(
          (op) => op.sent >= windowStart && op.sent < windowStart + config.throttleWindowMs,
        );
        violations.push({
          rule: 'too-many-guesses',
          at: inWindow[config.throttleMax]!.sent,
          summary: `${inWindow.length} wrong passwords evaluated for ${email} within one window (max ${config.throttleMax}; ${sent.length} sent)`,
          evidence: {
            email,
            evaluated: inWindow.length,
            max: config.throttleMax,
            byProcess: countBy(inWindow, (op) => op.process),
            first: inWindow.slice(0, config.throttleMax + 5).map(brief),
          },
        });
      }
      start = end;
    }
  }

  // (d) server errors.
  for (const op of data.ops) {
    if (op.status === null || op.status < 500) continue;
    if (config.allowed5xx.includes(`${op.status} ${op.code ?? ''}`)) continue;
    const faults = data.faults.filter(
      (f) =>
        (f.targets.includes('*') || f.targets.includes(op.process)) &&
        f.start <= (op.received ?? INF) &&
        (f.end ?? INF) >= op.sent,
    );
    violations.push({
      rule: 'server-error',
      at: op.sent,
      summary: `${op.process} answered ${op.kind} with ${op.status} ${op.code ?? ''}${faults.length > 0 ? ` during ${faults.map((f) => f.kind).join(', ')}` : ''}`,
      evidence: { op: brief(op), faultsDuring: faults.map(briefFault) },
    });
  }

  for (const exit of extras.exits ?? [])
    violations.push({
      rule: 'process-exited',
      at: exit.at,
      summary: `${exit.process} exited on its own with code ${exit.code}`,
      evidence: { ...exit },
    });

  violations.sort((a, b) => a.at - b.at);
  return {
    violations,
    lags: lagSamples(model, data, config),
    acceptedWithinBound,
    revocations: countBy(model.revocations, (r) => r.kind),
    coveredTokens: model.coveredTokens().length,
  };
}

/**
 * Per revocation and process: from the acknowledgement to the first of the probes sent
 * after it that the process refused with TOKEN_REVOKED. An upper bound on the propagation
 * delay, to within the probe interval.
 */
function lagSamples(model: Model, data: HistoryData, config: CheckConfig): LagSample[] {
  const samples: LagSample[] = [];
  for (const r of model.revocations) {
    const probes = new Map<ProcessName, Op[]>();
    for (const token of model.tokensNear(r).filter((t) => model.covers(r, t))) {
      for (const op of model.opsByJti.get(token.claims.jti) ?? []) {
        if (op.probeOf !== r.op.id) continue;
        const list = probes.get(op.process) ?? [];
        list.push(op);
        probes.set(op.process, list);
      }
    }
    for (const [process, ops] of probes) {
      ops.sort((a, b) => a.sent - b.sent);
      const refused = ops.find((op) => op.status === 401 && op.code === 'TOKEN_REVOKED');
      if (refused === undefined) continue;
      const lastAccepted = ops.filter((op) => ok(op) && op.sent < refused.sent).pop();
      const underFault = model
        .faultsAffecting(process, r.op.process, data.faults)
        .some((f) => f.start <= refused.sent && (f.end ?? INF) + config.faultGraceMs >= r.acked);
      samples.push({
        revocation: r.kind,
        process,
        lagMs: refused.sent - r.acked,
        acceptedUntilMs: lastAccepted === undefined ? 0 : Math.max(0, lastAccepted.sent - r.acked),
        underFault,
      });
    }
  }
  return samples;
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const k = key(item);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}
