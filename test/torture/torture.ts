import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasRedisServer } from '../cluster/redis-server.js';
import { type CheckConfig, check } from './checker.js';
import { Cluster } from './cluster.js';
import { finalPhase } from './final.js';
import { History } from './history.js';
import { Nemesis } from './nemesis.js';
import { Prng } from './prng.js';
import { buildReport, type Report } from './report.js';
import { World } from './workload.js';

export interface TortureOptions {
  seconds: number;
  seed: string;
  clients?: number;
  guessers?: number;
  maxStaleness?: number;
  accessTokenTtl?: number;
  /** Lag bound with no fault near (ms). */
  shortBoundMs?: number;
  /** Added to maxStaleness + one catch-up period for the bound under faults (ms). */
  slackMs?: number;
  /** Concurrent fault lanes. */
  lanes?: number;
  /** Keep the run directory (server logs, Redis data) instead of deleting it. */
  keep?: boolean;
  /** Write every recorded operation and fault here (JSON). */
  historyPath?: string;
  pgAdminUrl?: string;
  log?: (line: string) => void;
  /** Stops the run early (Ctrl-C): everything is cleaned up and the promise rejects. */
  signal?: AbortSignal;
}

/** The store's per-account throttle (src/sessions/throttle.ts DEFAULT_THROTTLE). */
const THROTTLE = { max: 10, windowMs: 900_000 };
const CATCH_UP_MS = 1000;

export { hasRedisServer };

/**
 * One torture run: start the cluster, sign up the accounts, run the workload and the
 * nemesis for `seconds`, heal, run the final checks, check the history, clean up.
 */
export async function runTorture(options: TortureOptions): Promise<Report> {
  const log = options.log ?? ((line: string) => console.log(line));
  const maxStaleness = options.maxStaleness ?? 2;
  const accessTokenTtl = options.accessTokenTtl ?? 60;
  const checkConfig: CheckConfig = {
    shortBoundMs: options.shortBoundMs ?? 1000,
    longBoundMs: maxStaleness * 1000 + CATCH_UP_MS + (options.slackMs ?? 1000),
    faultGraceMs: 2000,
    throttleMax: THROTTLE.max,
    throttleWindowMs: THROTTLE.windowMs,
    allowed5xx: ['503 REVOCATION_STATE_STALE', '503 STORE_UNAVAILABLE'],
  };
  const config = {
    clients: options.clients ?? 20,
    guessers: options.guessers ?? 3,
    maxStaleness,
    accessTokenTtl,
    lanes: options.lanes ?? 2,
    ...checkConfig,
  };
  const startedAt = new Date();
  const rng = new Prng(options.seed);
  const runDir = mkdtempSync(join(tmpdir(), 'notbefore-torture-'));
  const history: History = new History((name): string => cluster.url(name));
  const cluster: Cluster = new Cluster({
    runDir,
    maxStaleness,
    accessTokenTtl,
    adminEmail: 'admin@torture.test',
    pgAdminUrl:
      options.pgAdminUrl ??
      process.env.NOTBEFORE_TEST_PG_ADMIN_URL ??
      'postgres://postgres@127.0.0.1:5432/test',
    log,
    now: (): number => history.now(),
  });
  // A last resort if the harness dies without cleaning up: no child outlives it.
  const killChildren = () => {
    for (const pid of cluster.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killChildren);
  let world: World | undefined;
  let nemesis: Nemesis | undefined;
  const onAbort = () => {
    world?.stopNow();
    nemesis?.abort();
  };
  options.signal?.addEventListener('abort', onAbort);
  log(`torture: seed ${options.seed}, ${options.seconds} s, run directory ${runDir}`);
  try {
    await cluster.start();
    log(
      `torture: cluster up (serve ${[...cluster.ports.values()].join(', ')}, redis ${cluster.redis?.port}, database ${cluster.database})`,
    );
    world = new World(history, rng.fork('workload'), {
      clients: config.clients,
      guessers: config.guessers,
      adminEmail: 'admin@torture.test',
      adminInvitation: await cluster.adminInvitation(),
      probeSpanMs: checkConfig.longBoundMs + 1500,
    });
    await world.setup();
    options.signal?.throwIfAborted();
    history.phase = 'run';
    log(`torture: ${config.clients} clients, ${config.guessers} guessers and the admin signed up`);
    const activeNemesis = new Nemesis(cluster, history, rng.fork('nemesis'), log, config.lanes);
    nemesis = activeNemesis;
    const activeWorld = world;
    activeNemesis.onIsolate = (target) => {
      activeWorld.focus = target;
    };
    const faults = activeNemesis.run();
    const stopFaults = setTimeout(() => activeNemesis.stop(), options.seconds * 1000);
    try {
      await world.run(options.seconds * 1000);
    } finally {
      clearTimeout(stopFaults);
      activeNemesis.stop();
      await faults;
    }
    options.signal?.throwIfAborted();
    // A heal that fails (an instance that will not start) shows as no convergence.
    await activeNemesis.heal().catch((error: unknown) => {
      activeNemesis.errors.push(`heal: ${String(error)}`);
      history.healedAt ??= history.now();
    });
    log(`torture: healed at ${Math.round(history.healedAt ?? 0)} ms; final checks`);
    const final = await finalPhase(cluster, history, world, rng.fork('final'), {
      longBoundMs: checkConfig.longBoundMs,
      limit: 1500,
      convergenceTimeoutMs: 30_000,
      log,
    });
    const data = history.data();
    if (options.historyPath) writeFileSync(options.historyPath, JSON.stringify(data));
    const exits = cluster.unexpectedExits();
    const result = check(data, checkConfig, { convergence: final.convergence, exits });
    return buildReport({
      seed: options.seed,
      seconds: options.seconds,
      config,
      startedAt,
      data,
      result,
      final,
      unexpectedExits: exits,
      nemesisErrors: activeNemesis.errors,
    });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await cluster.close();
    process.removeListener('exit', killChildren);
    if (options.keep) log(`torture: run directory kept: ${runDir}`);
    else rmSync(runDir, { recursive: true, force: true });
  }
}
