import type { Convergence } from './checker.js';
import type { Cluster } from './cluster.js';
import { type History, type Op, PROCESSES, SERVES, type ServeName } from './history.js';
import { Model } from './model.js';
import type { Prng } from './prng.js';
import type { World } from './workload.js';

/**
 * After the nemesis has healed everything: waits for every process to converge, lets the
 * longest lag bound pass, then asks every question whose answer must reflect every
 * acknowledged change — each covered token on every process, each replaced password, the
 * latest refresh token of each revoked session, each account left disabled. The answers
 * join the history and the checker judges them by the same rules.
 */

export interface FinalOptions {
  longBoundMs: number;
  /** At most this many tokens swept, and this many sessions refreshed (a seeded sample). */
  limit: number;
  convergenceTimeoutMs: number;
  log: (line: string) => void;
}

export interface FinalSummary {
  convergence: Convergence;
  sweptTokens: number;
  sweptRequests: number;
  oldPasswords: number;
  revokedSessions: number;
  disabledUsers: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

async function converge(
  cluster: Cluster,
  history: History,
  world: World,
  timeoutMs: number,
): Promise<Convergence> {
  const deadline = history.now() + timeoutMs;
  let token: string | null = null;
  let detail = '';
  while (history.now() < deadline) {
    const pending: string[] = [];
    for (const name of SERVES) {
      const status = await fetch(`${cluster.url(name)}/healthz`, {
        signal: AbortSignal.timeout(2000),
      }).then(
        (r) => r.status,
        () => 0,
      );
      if (status !== 200) pending.push(`${name} /healthz ${status || 'no answer'}`);
    }
    if (pending.length === 0) {
      token ??= await world.admin.freshToken();
      if (token === null) pending.push('the admin cannot sign in');
      else {
        const status = await fetch(`${cluster.url('verifier')}/check`, {
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(2000),
        }).then(
          (r) => r.status,
          () => 0,
        );
        if (status !== 200)
          pending.push(`verifier check of a fresh token ${status || 'no answer'}`);
      }
    }
    if (pending.length === 0)
      return { ok: true, detail: 'every process current', at: history.now() };
    detail = pending.join('; ');
    await sleep(200);
  }
  return { ok: false, detail, at: history.now() };
}

export async function finalPhase(
  cluster: Cluster,
  history: History,
  world: World,
  rng: Prng,
  options: FinalOptions,
): Promise<FinalSummary> {
  history.phase = 'final';
  const convergence = await converge(cluster, history, world, options.convergenceTimeoutMs);
  options.log(
    `final: ${convergence.ok ? 'converged' : 'NOT converged'} at ${Math.round(convergence.at)} ms (${convergence.detail})`,
  );
  // Every revocation acknowledged before the heal is now older than the longest bound.
  const lastFault = Math.max(0, ...history.faults.map((f) => f.end ?? history.now()));
  const quietFrom = Math.max(history.healedAt ?? 0, lastFault) + options.longBoundMs + 500;
  await sleep(quietFrom - history.now());

  const model = new Model(history.data());
  const nowMs = Date.now();
  const covered = rng
    .shuffle(model.coveredTokens().filter((t) => t.claims.exp * 1000 > nowMs + 3000))
    .slice(0, options.limit);
  let address = 0;
  const nextAddress = () => {
    address += 1;
    return `10.3.${(address >> 8) & 255}.${(address & 255) + 1}`;
  };
  const probes = covered.flatMap((token) => PROCESSES.map((process) => ({ token, process })));
  await pool(probes, 6, async ({ token, process }) => {
    await history.call({
      kind: process === 'verifier' ? 'check' : 'me',
      actor: 'final',
      process,
      method: 'GET',
      path: process === 'verifier' ? '/check' : '/auth/me',
      token: token.accessToken,
      meta: { userId: token.claims.sub },
    });
  });

  // Replaced passwords must fail; the current one is tried after each, which clears the
  // account's failure count so the next old password is evaluated, not throttled.
  let oldPasswords = 0;
  const changes = history.ops.filter(
    (op): op is Op & { password: string } =>
      op.kind === 'password' &&
      op.status !== null &&
      op.status < 300 &&
      op.password !== undefined &&
      op.phase !== 'final',
  );
  await pool(world.clients, 3, async (client) => {
    const mine = changes.filter((op) => op.actor === client.name);
    for (const change of mine) {
      for (const password of [change.password, ...client.candidates]) {
        const process = rng.pick(SERVES) as ServeName;
        const meta: Partial<Op> = { email: client.email, password };
        if (client.userId !== undefined) meta.userId = client.userId;
        await history.call({
          kind: 'login',
          actor: 'final',
          process,
          method: 'POST',
          path: '/auth/login',
          body: { email: client.email, password },
          forwardedFor: nextAddress(),
          meta,
        });
      }
      oldPasswords += 1;
    }
  });

  // The latest refresh token of every session an acknowledged revocation ended must fail.
  const ended = rng
    .shuffle(
      [...model.sessions.values()].filter((s) =>
        model.candidates(s.sub, s.sid).some((r) => model.coversSession(r, s)),
      ),
    )
    .slice(0, options.limit);
  await pool(ended, 6, async (session) => {
    const tokens = model.tokensBySid.get(session.sid) ?? [];
    const latest = tokens.reduce<(typeof tokens)[number] | undefined>(
      (best, t) =>
        best === undefined || (t.op.received ?? 0) > (best.op.received ?? 0) ? t : best,
      undefined,
    );
    if (latest === undefined) return;
    await history.call({
      kind: 'refresh',
      actor: 'final',
      process: rng.pick(SERVES),
      method: 'POST',
      path: '/auth/refresh',
      body: { refreshToken: latest.refreshToken },
      forwardedFor: nextAddress(),
      meta: { sid: session.sid, userId: session.sub },
    });
  });

  // Accounts whose last disable/enable was an acknowledged disable must not sign in.
  let disabledUsers = 0;
  for (const client of world.clients) {
    if (client.userId === undefined) continue;
    const switches = history.ops
      .filter(
        (op) =>
          (op.kind === 'disable' || op.kind === 'enable') &&
          op.userId === client.userId &&
          (op.status === null || op.status < 300 || op.status >= 500),
      )
      .sort((a, b) => a.sent - b.sent);
    const last = switches[switches.length - 1];
    if (last === undefined || last.kind !== 'disable' || last.status === null || last.status >= 300)
      continue;
    disabledUsers += 1;
    for (const password of client.candidates) {
      await history.call({
        kind: 'login',
        actor: 'final',
        process: rng.pick(SERVES),
        method: 'POST',
        path: '/auth/login',
        body: { email: client.email, password },
        forwardedFor: nextAddress(),
        meta: { email: client.email, password, userId: client.userId },
      });
    }
  }

  return {
    convergence,
    sweptTokens: covered.length,
    sweptRequests: probes.length,
    oldPasswords,
    revokedSessions: ended.length,
    disabledUsers,
  };
}
