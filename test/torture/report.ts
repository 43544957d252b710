import {
  type CheckResult,
  countBy,
  type LagSample,
  RULE_LETTER,
  type Violation,
} from './checker.js';
import type { FinalSummary } from './final.js';
import { FAULT_KINDS, type Fault, type HistoryData } from './history.js';
import type { ExitRecord } from './processes.js';

export interface Percentiles {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface Report {
  seed: string;
  seconds: number;
  reproduce: string;
  config: Record<string, unknown>;
  startedAt: string;
  wallSeconds: number;
  operations: Record<string, number>;
  operationsByPhase: Record<string, number>;
  answers: Record<string, number>;
  /** Every injected kind, and 'crash-restart' when a process exited on its own. */
  faults: Record<string, { count: number; totalMs: number }>;
  faultLog: Array<{ id: number; kind: string; detail: string; start: number; end: number | null }>;
  revocations: Record<string, number>;
  /** Upper bounds: acknowledgement → first refused probe. */
  lagMs: Record<string, Percentiles>;
  /** Lower bounds: acknowledgement → last accepted probe before it (0 when the first was refused). */
  lagLowerBoundMs: Record<string, Percentiles>;
  acceptedWithinBound: number;
  coveredTokens: number;
  guesses: Record<
    string,
    { sent: number; evaluated: number; rateLimited: number; noAnswer: number }
  >;
  final: Omit<FinalSummary, 'convergence'> & { converged: boolean; convergence: string };
  unexpectedExits: ExitRecord[];
  nemesisErrors: string[];
  violations: { total: number; byRule: Record<string, number>; list: Violation[] };
}

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted.length === 0
      ? Number.NaN
      : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    n: sorted.length,
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    max: round(sorted[sorted.length - 1] ?? Number.NaN),
  };
}

function lagTable(
  samples: LagSample[],
  value: (s: LagSample) => number = (s) => s.lagMs,
): Record<string, Percentiles> {
  const groups: Record<string, number[]> = {};
  const add = (key: string, value: number) => {
    groups[key] ??= [];
    groups[key].push(value);
  };
  for (const s of samples) {
    const where = s.process === 'verifier' ? 'verifier' : 'serve';
    add(`${where}, ${s.underFault ? 'fault near' : 'no fault near'}`, value(s));
    add('all', value(s));
  }
  return Object.fromEntries(
    Object.entries(groups)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, percentiles(v)]),
  );
}

export function buildReport(input: {
  seed: string;
  seconds: number;
  config: Record<string, unknown>;
  startedAt: Date;
  data: HistoryData;
  result: CheckResult;
  final: FinalSummary;
  unexpectedExits: Report['unexpectedExits'];
  nemesisErrors: string[];
  listLimit?: number;
}): Report {
  const { data, result } = input;
  const kinds: Array<Fault['kind']> = [...FAULT_KINDS];
  if (data.faults.some((f) => f.kind === 'crash-restart')) kinds.push('crash-restart');
  const faults = Object.fromEntries(
    kinds.map((kind) => {
      const list = data.faults.filter((f) => f.kind === kind);
      return [
        kind,
        {
          count: list.length,
          totalMs: Math.round(list.reduce((sum, f) => sum + ((f.end ?? f.start) - f.start), 0)),
        },
      ];
    }),
  ) as Report['faults'];
  const guesses: Report['guesses'] = {};
  for (const op of data.ops) {
    if (op.kind !== 'guess' || op.email === undefined) continue;
    guesses[op.email] ??= { sent: 0, evaluated: 0, rateLimited: 0, noAnswer: 0 };
    const g = guesses[op.email]!;
    g.sent += 1;
    if (op.status === 401 && op.code === 'INVALID_CREDENTIALS') g.evaluated += 1;
    else if (op.status === 429) g.rateLimited += 1;
    else if (op.status === null) g.noAnswer += 1;
  }
  const { convergence, ...final } = input.final;
  return {
    seed: input.seed,
    seconds: input.seconds,
    reproduce: `npm run torture -- --seconds ${input.seconds} --seed ${input.seed}`,
    config: input.config,
    startedAt: input.startedAt.toISOString(),
    wallSeconds: Math.round((Date.now() - input.startedAt.getTime()) / 100) / 10,
    operations: countBy(data.ops, (op) => op.kind),
    operationsByPhase: countBy(data.ops, (op) => op.phase),
    answers: countBy(data.ops, (op) =>
      op.status === null ? `no answer: ${op.error}` : `${op.status} ${op.code ?? ''}`.trim(),
    ),
    faults,
    faultLog: data.faults.map((f) => ({
      id: f.id,
      kind: f.kind,
      detail: f.detail,
      start: Math.round(f.start),
      end: f.end === null ? null : Math.round(f.end),
    })),
    revocations: result.revocations,
    lagMs: lagTable(result.lags),
    lagLowerBoundMs: lagTable(result.lags, (s) => s.acceptedUntilMs),
    acceptedWithinBound: result.acceptedWithinBound,
    coveredTokens: result.coveredTokens,
    guesses,
    final: { ...final, converged: convergence.ok, convergence: convergence.detail },
    unexpectedExits: input.unexpectedExits,
    nemesisErrors: input.nemesisErrors,
    violations: {
      total: result.violations.length,
      byRule: countBy(result.violations, (v) => `(${RULE_LETTER[v.rule]}) ${v.rule}`),
      list: result.violations.slice(0, input.listLimit ?? 500),
    },
  };
}

const sortedEntries = (record: Record<string, number>) =>
  Object.entries(record).sort((a, b) => b[1] - a[1]);

export function formatReport(report: Report, perRule = 5): string {
  const lines: string[] = [];
  const table = (title: string, record: Record<string, number>) => {
    lines.push(`${title}:`);
    for (const [key, n] of sortedEntries(record)) lines.push(`  ${String(n).padStart(7)}  ${key}`);
  };
  lines.push(
    `torture run: seed ${report.seed}, ${report.seconds} s of faults, ${report.wallSeconds} s in all`,
  );
  lines.push(`reproduce: ${report.reproduce}`);
  lines.push(`config: ${JSON.stringify(report.config)}`);
  table('operations', report.operations);
  lines.push('faults:');
  for (const [kind, f] of Object.entries(report.faults))
    lines.push(
      `  ${String(f.count).padStart(7)}  ${kind} (${(f.totalMs / 1000).toFixed(1)} s in all)`,
    );
  table('answers', report.answers);
  table('acknowledged revocations', report.revocations);
  lines.push(
    'revocation lag, ms (upper bound: ack → first refused probe; lower bound: ack → last accepted probe):',
  );
  for (const [key, p] of Object.entries(report.lagMs)) {
    const low = report.lagLowerBoundMs[key];
    lines.push(
      `  ${key.padEnd(24)} n=${p.n} p50=${p.p50} p90=${p.p90} p99=${p.p99} max=${p.max}` +
        (low ? `   lower p50=${low.p50} p99=${low.p99} max=${low.max}` : ''),
    );
  }
  lines.push(
    `covered tokens: ${report.coveredTokens}; accepted after the acknowledgement but within the bound: ${report.acceptedWithinBound}`,
  );
  lines.push('guessing accounts:');
  for (const [email, g] of Object.entries(report.guesses))
    lines.push(
      `  ${email}: ${g.sent} sent, ${g.evaluated} evaluated (401), ${g.rateLimited} refused (429), ${g.noAnswer} unanswered`,
    );
  const f = report.final;
  lines.push(
    `final: ${f.converged ? 'converged' : `NOT converged (${f.convergence})`}; swept ${f.sweptTokens} covered tokens (${f.sweptRequests} requests), ${f.oldPasswords} replaced passwords, ${f.revokedSessions} revoked sessions, ${f.disabledUsers} disabled users`,
  );
  for (const exit of report.unexpectedExits)
    lines.push(
      `unexpected exit: ${exit.process} at ${Math.round(exit.at)} ms (${exit.wall}), code ${exit.code}, signal ${exit.signal}`,
    );
  for (const error of report.nemesisErrors) lines.push(`nemesis error: ${error}`);
  lines.push(`VIOLATIONS: ${report.violations.total}`);
  for (const [rule, n] of sortedEntries(report.violations.byRule)) {
    lines.push(`  ${String(n).padStart(7)}  ${rule}`);
    const name = rule.replace(/^\(\w\) /, '');
    for (const v of report.violations.list.filter((x) => x.rule === name).slice(0, perRule)) {
      lines.push(`           at ${Math.round(v.at)} ms: ${v.summary}`);
      lines.push(`             ${JSON.stringify(v.evidence)}`);
    }
  }
  return lines.join('\n');
}
