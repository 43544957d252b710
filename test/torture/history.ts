import { performance } from 'node:perf_hooks';

/** Everything a torture run records: each request as a client saw it, and each fault. */

export const SERVES = ['serve0', 'serve1', 'serve2'] as const;
export const PROCESSES = [...SERVES, 'verifier'] as const;
export type ServeName = (typeof SERVES)[number];
export type ProcessName = (typeof PROCESSES)[number];

export const FAULT_KINDS = [
  'cut-redis-link',
  'cut-pg-link',
  'delay-pg-link',
  'redis-restart-persistent',
  'redis-restart-lossy',
  'kill-serve',
  'isolate-then-kill',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export type OpKind =
  | 'signup'
  | 'accept-invitation'
  | 'login'
  | 'refresh'
  | 'me'
  | 'check'
  | 'logout'
  | 'logout-all'
  | 'password'
  | 'roles'
  | 'disable'
  | 'enable'
  | 'revoke-everyone'
  | 'guess';

export type Phase = 'setup' | 'run' | 'final';

export interface TokenClaims {
  jti: string;
  sub: string;
  sid: string;
  roles: string[];
  /** Seconds, with a millisecond fraction. */
  iat: number;
  exp: number;
}

export interface Obtained {
  claims: TokenClaims;
  accessToken: string;
  refreshToken: string;
}

/** One request: what was sent, to which process, what came back and when (ms since the run's start). */
export interface Op {
  id: number;
  kind: OpKind;
  phase: Phase;
  actor: string;
  process: ProcessName;
  sent: number;
  /** Null: no answer (connection refused or reset, timeout); the outcome is unknown. */
  received: number | null;
  status: number | null;
  code?: string;
  reason?: string;
  error?: string;
  /** The account concerned: the actor's own, or the admin's target. */
  userId?: string;
  email?: string;
  /** The jti of the access token presented. */
  usedJti?: string;
  /** The session refreshed or ended. */
  sid?: string;
  /** The password sent (sign-in, guess, step-up, or the current one in a change). */
  password?: string;
  newPassword?: string;
  roles?: string[];
  /** Retry-After of a 429 (s). */
  retryAfter?: number;
  /** Tokens in a sign-in answer. */
  obtained?: Obtained;
  /** Sent right after the revocation with this op id, to see when each process refuses its token. */
  probeOf?: number;
}

export interface Fault {
  id: number;
  /** An injected kind, or a process that exited on its own and was started again. */
  kind: FaultKind | 'crash-restart';
  /** The processes whose view it can delay: one process, or every one ('*'). */
  targets: Array<ProcessName | '*'>;
  detail: string;
  start: number;
  /** When everything it broke was restored (null while active). */
  end: number | null;
}

export interface HistoryData {
  ops: Op[];
  faults: Fault[];
  /** When the nemesis had healed everything (restored links, restarted processes). */
  healedAt: number | null;
}

export interface CallSpec {
  kind: OpKind;
  actor: string;
  process: ProcessName;
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  body?: unknown;
  token?: string;
  /** X-Forwarded-For: each simulated client has an address of its own (serve runs with --trust-proxy). */
  forwardedFor?: string;
  meta?: Partial<Op>;
  timeoutMs?: number;
}

export interface Answer {
  op: Op;
  body: Record<string, unknown> | null;
}

export function decodeClaims(token: string): TokenClaims | null {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
    if (typeof payload !== 'object' || payload === null) return null;
    return {
      jti: String(payload.jti),
      sub: String(payload.sub),
      sid: String(payload.sid),
      roles: Array.isArray(payload.roles) ? payload.roles.map(String) : [],
      iat: Number(payload.iat),
      exp: Number(payload.exp),
    };
  } catch {
    return null;
  }
}

function whyNoAnswer(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; name?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout';
  return e.cause?.code ?? e.cause?.name ?? e.message ?? String(error);
}

const DEFAULT_TIMEOUT_MS = 8000;

/** Records requests and faults on one monotonic clock. */
export class History {
  readonly ops: Op[] = [];
  readonly faults: Fault[] = [];
  phase: Phase = 'setup';
  healedAt: number | null = null;
  private readonly t0 = performance.now();

  constructor(private readonly urlOf: (process: ProcessName) => string) {}

  /** Milliseconds since the run began. */
  now(): number {
    return performance.now() - this.t0;
  }

  async call(spec: CallSpec): Promise<Answer> {
    const headers: Record<string, string> = { 'x-auth-transport': 'bearer' };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    if (spec.token !== undefined) headers.authorization = `Bearer ${spec.token}`;
    if (spec.forwardedFor !== undefined) headers['x-forwarded-for'] = spec.forwardedFor;
    const op: Op = {
      id: this.ops.length,
      kind: spec.kind,
      phase: this.phase,
      actor: spec.actor,
      process: spec.process,
      sent: 0,
      received: null,
      status: null,
      ...spec.meta,
    };
    if (spec.token !== undefined) {
      const used = decodeClaims(spec.token);
      if (used) op.usedJti = used.jti;
    }
    this.ops.push(op);
    let body: Record<string, unknown> | null = null;
    op.sent = this.now();
    try {
      const init: RequestInit = {
        method: spec.method,
        headers,
        signal: AbortSignal.timeout(spec.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      };
      if (spec.body !== undefined) init.body = JSON.stringify(spec.body);
      const response = await fetch(`${this.urlOf(spec.process)}${spec.path}`, init);
      const text = await response.text();
      op.received = this.now();
      op.status = response.status;
      const retryAfter = response.headers.get('retry-after');
      if (retryAfter !== null) op.retryAfter = Number(retryAfter);
      try {
        const parsed = text.length > 0 ? JSON.parse(text) : null;
        if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
      } catch {
        body = null;
      }
    } catch (error) {
      op.received = null;
      op.status = null;
      op.error = whyNoAnswer(error);
      return { op, body: null };
    }
    const error = body?.error as { code?: unknown; reason?: unknown } | undefined;
    if (typeof error?.code === 'string') op.code = error.code;
    if (typeof error?.reason === 'string') op.reason = error.reason;
    if (
      op.status !== null &&
      op.status < 300 &&
      typeof body?.accessToken === 'string' &&
      typeof body.refreshToken === 'string'
    ) {
      const claims = decodeClaims(body.accessToken);
      if (claims)
        op.obtained = { claims, accessToken: body.accessToken, refreshToken: body.refreshToken };
    }
    return { op, body };
  }

  startFault(
    kind: Fault['kind'],
    targets: Fault['targets'],
    detail: string,
    start = this.now(),
  ): Fault {
    const fault: Fault = { id: this.faults.length, kind, targets, detail, start, end: null };
    this.faults.push(fault);
    return fault;
  }

  endFault(fault: Fault): void {
    fault.end = this.now();
  }

  data(): HistoryData {
    return { ops: this.ops, faults: this.faults, healedAt: this.healedAt };
  }
}
