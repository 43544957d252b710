// Refresh rotation, side by side (issue 14): PostgreSQL in one round trip (the store's
// nb_rotate_refresh), PostgreSQL the way the store did it before (one transaction of seven
// round trips, kept here only for the comparison) and SQLite (WAL file), in one run.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Auth } from '../src/sessions/types.js';
import type { RotateInput, RotateResult, Store } from '../src/stores/port.js';
import { toRevocation, toSession, toUser } from '../src/stores/rows.js';
import {
  idleEndAfterUse,
  issueAt,
  liveFrom,
  refreshStep,
  sessionEnded,
} from '../src/stores/rules.js';
import { AUDIENCE, ISSUER } from './fixtures.js';
import { median } from './harness.js';

const PG_ADMIN_URL =
  process.env.NOTBEFORE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'nb';
const LOG_LOCK = 'notbefore:revocation-log';
const T_IDLE = 14 * 86_400_000;
const T_ABSOLUTE = 30 * 86_400_000;
const GRACE_MS = 5000;

export interface RefreshBenchOptions {
  quick: boolean;
  /** Where refresh{,-quick}.{md,json} go. */
  outDir: string;
  log?: (line: string) => void;
}

interface Settings {
  rounds: number;
  /** Wall time of one peer's batch in the latency part (one refresh in flight), ms. */
  latencyBatchMs: number;
  /** Wall time of one peer's batch in the throughput parts, ms. */
  throughputBatchMs: number;
  /** Refreshes in flight in the throughput parts (the store's pool holds 10 connections). */
  concurrency: number;
  /** Whether to time createAuth.refresh too (not in --quick: the store level says most). */
  wholeRefresh: boolean;
}

const SETTINGS: Record<'quick' | 'full', Settings> = {
  quick: {
    rounds: 2,
    latencyBatchMs: 150,
    throughputBatchMs: 250,
    concurrency: 16,
    wholeRefresh: false,
  },
  full: {
    rounds: 7,
    latencyBatchMs: 600,
    throughputBatchMs: 1500,
    concurrency: 16,
    wholeRefresh: true,
  },
};

export interface LatencyResult {
  peer: string;
  /** Round trips to the server per refresh, counted on the wire (null for SQLite). */
  roundTrips: number | null;
  ops: number;
  medianMs: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ThroughputResult {
  peer: string;
  concurrency: number;
  /** Median over rounds of refreshes per second. */
  perSec: number;
  minPerSec: number;
  maxPerSec: number;
  ops: number;
  /** CPU per refresh, µs: this process (the client side; SQLite's work too), and the
   * PostgreSQL backends of the run's database. */
  cpuNodeUs: number;
  cpuPostgresUs: number;
}

export interface RefreshBenchResult {
  meta: {
    date: string;
    mode: 'quick' | 'full';
    node: string;
    cpu: string;
    cores: number;
    postgres: string;
    synchronousCommit: string;
    loadAverageStart: number[];
    loadAverageEnd: number[];
    durationSeconds: number;
    settings: Settings;
  };
  latency: LatencyResult[];
  store: ThroughputResult[];
  auth: ThroughputResult[];
  targets: Array<{ goal: string; measured: string; met: boolean | null }>;
}

const PEERS = {
  one: 'PostgreSQL, one round trip',
  old: 'PostgreSQL, old transaction',
  nosync: 'PostgreSQL, one round trip, synchronous_commit off',
  sqlite: 'SQLite file (WAL)',
} as const;
type PeerId = keyof typeof PEERS;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The store's rotateRefresh before issue 14, statement for statement: BEGIN, the peek, the
 * user, session and token locks, the writes, COMMIT — seven round trips for a rotation.
 * Only the bench keeps it, to show what the one-round-trip function saves.
 */
function oldRotateRefresh(pool: pg.Pool, schema: string) {
  const U = `${schema}.nb_users`;
  const S = `${schema}.nb_sessions`;
  const R = `${schema}.nb_refresh_tokens`;
  const L = `${schema}.nb_revocations`;
  const M = `${schema}.nb_meta`;
  type Row = Record<string, unknown>;
  const first = async (c: pg.PoolClient, sql: string, params: unknown[]) =>
    (await c.query(sql, params)).rows[0] as Row | undefined;

  const work = async (c: pg.PoolClient, input: RotateInput): Promise<RotateResult> => {
    const invalid: RotateResult = { kind: 'invalid' };
    const peek = await first(
      c,
      `SELECT s.user_id, s.sid FROM ${R} r JOIN ${S} s ON s.sid = r.sid WHERE r.hash = $1`,
      [input.presentedHash],
    );
    if (peek === undefined) return invalid;
    const userRow = await first(
      c,
      `SELECT u.*, (SELECT value FROM ${M} WHERE name = 'global_valid_after') AS global_cutoff
       FROM ${U} u WHERE u.id = $1 FOR SHARE OF u`,
      [peek.user_id],
    );
    if (userRow === undefined) return invalid;
    const user = toUser(userRow);
    const global = Number(userRow.global_cutoff ?? 0);
    if (user.disabled) return invalid;
    const sessionRow = await first(c, `SELECT * FROM ${S} WHERE sid = $1 FOR UPDATE`, [peek.sid]);
    if (sessionRow === undefined) return invalid;
    const session = toSession(sessionRow);
    if (session.revokedAt !== null || session.userId !== user.id) return invalid;
    const token = await first(c, `SELECT * FROM ${R} WHERE hash = $1 FOR UPDATE`, [
      input.presentedHash,
    ]);
    if (token === undefined || token.sid !== session.sid) return invalid;
    const now = input.nowMs;
    const rotatedAt = token.rotated_at === null ? null : Number(token.rotated_at);
    const issuedAt = issueAt(now, user.tokensValidAfter, global);
    const step = refreshStep(session, rotatedAt, now, input.graceMs, issuedAt);
    if (step === 'expired' || step === 'reused') {
      const cause = step === 'expired' ? 'expired' : 'reuse';
      await c.query(`UPDATE ${S} SET revoked_at = $1, revoke_cause = $2 WHERE sid = $3`, [
        now,
        cause,
        session.sid,
      ]);
      await c.query(`DELETE FROM ${R} WHERE sid = $1`, [session.sid]);
      const event = sessionEnded(session, now, cause);
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [LOG_LOCK]);
      const row = await first(
        c,
        `INSERT INTO ${L} (kind, at, live_from, event) VALUES ($1, $2, $3, $4) RETURNING seq`,
        [event.kind, event.at, liveFrom(event), JSON.stringify(event)],
      );
      return { kind: step, revocation: toRevocation({ seq: row?.seq, event }) };
    }
    const touch = `UPDATE ${S} SET last_seen_at = $1, idle_expires_at = $2,
         last_issued_at = GREATEST(last_issued_at, $3) WHERE sid = $4 RETURNING *`;
    const touchParams = [
      now,
      idleEndAfterUse(session, now, input.idleTtlMs),
      issuedAt,
      session.sid,
    ];
    if (step === 'rotate') {
      const updated = await first(
        c,
        `WITH rotated AS (UPDATE ${R} SET rotated_at = $1 WHERE hash = $5),
              successor AS (INSERT INTO ${R} (hash, sid, created_at) VALUES ($6, $4, $1))
         ${touch}`,
        [...touchParams, input.presentedHash, input.successorHash],
      );
      return { kind: 'rotated', session: toSession(updated!), user, issuedAt };
    }
    const successor = await first(c, `SELECT sid FROM ${R} WHERE hash = $1`, [input.successorHash]);
    if (successor === undefined || successor.sid !== session.sid) return invalid;
    const updated = await first(c, touch, touchParams);
    return { kind: 'grace', session: toSession(updated!), user, issuedAt };
  };

  return async (input: RotateInput): Promise<RotateResult> => {
    for (let attempt = 1; ; attempt++) {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        const result = await work(c, input);
        await c.query('COMMIT');
        return result;
      } catch (error) {
        await c.query('ROLLBACK').catch(() => {});
        const code = (error as { code?: unknown }).code;
        if (attempt >= 5 || (code !== '40001' && code !== '40P01')) throw error;
      } finally {
        c.release();
      }
    }
  };
}

/** A database of the run's own, dropped at the end. */
async function scratchDatabase() {
  const name = `notbefore_bench_refresh_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** A refresh chain: one session, the hash of its current token, rotated in place. */
interface Chain {
  current: string;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** CPU ms a process has used (user + system), from /proc; NaN when it is gone. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Counts the queries a pg client sends while `run` runs: the round trips of one refresh. */
async function countRoundTrips(run: () => Promise<unknown>): Promise<number> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  let n = 0;
  proto.query = function (this: unknown, ...args: unknown[]) {
    n++;
    return original.apply(this, args);
  };
  try {
    await run();
  } finally {
    proto.query = original;
  }
  return n;
}

export async function refreshBench(options: RefreshBenchOptions): Promise<RefreshBenchResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const mode = options.quick ? 'quick' : 'full';
  const settings = SETTINGS[mode];
  const started = Date.now();
  const loadAverageStart = loadavg();
  const { postgresStore } = await import('../src/stores/postgres.js');
  const { sqliteStore } = await import('../src/stores/sqlite.js');
  const { createAuth } = await import('../src/sessions/auth.js');
  const db = await scratchDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'notbefore-bench-refresh-'));
  const closers: Array<() => Promise<unknown>> = [];
  try {
    const pgStore = postgresStore(db.url, { schema: SCHEMA });
    closers.push(() => pgStore.close());
    const oldPool = new pg.Pool({ connectionString: db.url, max: 10 });
    closers.push(() => oldPool.end());
    // The same function on connections that do not wait for the WAL flush at commit: what
    // the disk's fsync costs (a comparison only; the store commits durably).
    const nosyncPool = new pg.Pool({
      connectionString: db.url,
      max: 10,
      options: '-c synchronous_commit=off',
    });
    closers.push(() => nosyncPool.end());
    const sqlite = sqliteStore(join(dir, 'refresh.db'));
    closers.push(() => sqlite.close());
    await pgStore.init();
    await sqlite.init();
    const oldRotate = oldRotateRefresh(oldPool, SCHEMA);
    const stores: Record<PeerId, Store> = {
      one: pgStore,
      old: { ...pgStore, rotateRefresh: oldRotate },
      nosync: postgresStore(nosyncPool, { schema: SCHEMA }),
      sqlite,
    };
    const versionRow = (await oldPool.query('SELECT version() AS v')).rows[0] as { v: string };
    const syncRow = (await oldPool.query('SHOW synchronous_commit')).rows[0] as {
      synchronous_commit: string;
    };

    // Store level: chains of sessions opened directly in each store, each of its own user
    // (refreshes of one user share its row lock, which is not the common case).
    const now = () => Date.now();
    let usersMade = 0;
    const openChain = async (store: Store): Promise<Chain> => {
      const userId = `bench-${++usersMade}`;
      await store.createUser({
        id: userId,
        email: `${userId}@bench.test`,
        passwordHash: 'bench',
        roles: ['user'],
        createdAt: now(),
      });
      const first = sha256(randomBytes(16).toString('hex'));
      const result = await store.createSession({
        sid: randomBytes(16).toString('base64url'),
        userId,
        device: null,
        clientKey: null,
        nowMs: now(),
        idleTtlMs: T_IDLE,
        absoluteTtlMs: T_ABSOLUTE,
        refreshHash: first,
        maxSessions: 1_000_000,
        expectPasswordHash: 'bench',
        amr: ['pwd'],
      });
      if (!result.ok) throw new Error(`createSession: ${result.reason}`);
      return { current: first };
    };
    const rotate = async (id: PeerId, chain: Chain) => {
      const successor = sha256(randomBytes(16).toString('hex'));
      const result = await stores[id].rotateRefresh({
        presentedHash: chain.current,
        successorHash: successor,
        nowMs: now(),
        graceMs: GRACE_MS,
        idleTtlMs: T_IDLE,
      });
      if (result.kind !== 'rotated') throw new Error(`${PEERS[id]}: ${result.kind}`);
      chain.current = successor;
    };
    const ids = Object.keys(PEERS) as PeerId[];

    // CPU of the database's backends (ms, from /proc): what a refresh costs the server.
    const postgresCpu = async (): Promise<Map<number, number>> => {
      const { rows } = await oldPool.query(
        'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
      );
      return new Map(rows.map((r: { pid: number }) => [r.pid, cpuMs(r.pid)]));
    };
    const postgresCpuSince = (before: Map<number, number>, after: Map<number, number>) => {
      let ms = 0;
      for (const [pid, t] of after) {
        const spent = t - (before.get(pid) ?? t);
        if (Number.isFinite(spent)) ms += spent;
      }
      return ms;
    };

    // Round trips, counted on the wire (the pg client), for one rotation.
    const trips: Record<PeerId, number | null> = { one: 0, old: 0, nosync: 0, sqlite: null };
    for (const id of ['one', 'old', 'nosync'] as const) {
      const chain = await openChain(stores[id]);
      await rotate(id, chain); // warm: the pool's connection, the function's plans
      trips[id] = await countRoundTrips(() => rotate(id, chain));
    }
    log(`  round trips per rotation: one ${trips.one}, old ${trips.old}, nosync ${trips.nosync}`);

    // Latency: one refresh in flight, interleaved batches, every op timed.
    const latencyChains = Object.fromEntries(
      await Promise.all(ids.map(async (id) => [id, await openChain(stores[id])])),
    ) as Record<PeerId, Chain>;
    const samples: Record<PeerId, number[]> = { one: [], old: [], nosync: [], sqlite: [] };
    for (const id of ids) for (let i = 0; i < 20; i++) await rotate(id, latencyChains[id]); // warm-up
    for (let round = 0; round < settings.rounds; round++) {
      for (let step = 0; step < ids.length; step++) {
        const id = ids[(step + round) % ids.length]!;
        const deadline = performance.now() + settings.latencyBatchMs;
        while (performance.now() < deadline) {
          const t0 = performance.now();
          await rotate(id, latencyChains[id]);
          samples[id].push(performance.now() - t0);
        }
      }
    }
    const latency = ids.map((id): LatencyResult => {
      const sorted = [...samples[id]].sort((a, b) => a - b);
      return {
        peer: PEERS[id],
        roundTrips: trips[id],
        ops: sorted.length,
        medianMs: median(sorted),
        p90Ms: percentile(sorted, 90),
        p99Ms: percentile(sorted, 99),
        maxMs: sorted[sorted.length - 1] ?? Number.NaN,
      };
    });
    log('  latency, one refresh in flight:');
    for (const r of latency)
      log(
        `    ${r.peer.padEnd(30)} median ${r.medianMs.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms (${r.ops} ops)`,
      );

    // Throughput: `concurrency` refreshes in flight, each worker on its own chain.
    const throughput = async (
      label: string,
      peerIds: readonly PeerId[],
      open: (id: PeerId) => Promise<unknown>,
      op: (id: PeerId, state: unknown) => Promise<void>,
    ): Promise<ThroughputResult[]> => {
      const states = new Map<PeerId, unknown[]>();
      for (const id of peerIds) {
        const opened: unknown[] = [];
        // One after another: the sign-ins are not what is measured.
        for (let i = 0; i < settings.concurrency; i++) opened.push(await open(id));
        states.set(id, opened);
      }
      const run = async (id: PeerId, ms: number) => {
        let ops = 0;
        const cpu0 = { node: process.cpuUsage(), pg: await postgresCpu() };
        const t0 = performance.now();
        const deadline = t0 + ms;
        await Promise.all(
          states.get(id)!.map(async (state) => {
            while (performance.now() < deadline) {
              await op(id, state);
              ops++;
            }
          }),
        );
        const seconds = (performance.now() - t0) / 1000;
        const node = process.cpuUsage(cpu0.node);
        const pgMs = postgresCpuSince(cpu0.pg, await postgresCpu());
        return { ops, seconds, nodeUs: node.user + node.system, pgUs: pgMs * 1000 };
      };
      for (const id of peerIds) await run(id, 100); // warm-up: every connection of the pool
      const rates = new Map<PeerId, number[]>(peerIds.map((id) => [id, []]));
      const totals = new Map<PeerId, number>(peerIds.map((id) => [id, 0]));
      const cpu = new Map<PeerId, { nodeUs: number; pgUs: number }>(
        peerIds.map((id) => [id, { nodeUs: 0, pgUs: 0 }]),
      );
      for (let round = 0; round < settings.rounds; round++) {
        for (let step = 0; step < peerIds.length; step++) {
          const id = peerIds[(step + round) % peerIds.length]!;
          const { ops, seconds, nodeUs, pgUs } = await run(id, settings.throughputBatchMs);
          rates.get(id)!.push(ops / seconds);
          totals.set(id, totals.get(id)! + ops);
          cpu.get(id)!.nodeUs += nodeUs;
          cpu.get(id)!.pgUs += pgUs;
        }
      }
      const results = peerIds.map((id) => ({
        peer: PEERS[id],
        concurrency: settings.concurrency,
        perSec: median(rates.get(id)!),
        minPerSec: Math.min(...rates.get(id)!),
        maxPerSec: Math.max(...rates.get(id)!),
        ops: totals.get(id)!,
        cpuNodeUs: cpu.get(id)!.nodeUs / totals.get(id)!,
        cpuPostgresUs: cpu.get(id)!.pgUs / totals.get(id)!,
      }));
      log(`  ${label}, ${settings.concurrency} in flight:`);
      for (const r of results)
        log(
          `    ${r.peer.padEnd(30)} ${r.perSec.toFixed(0)}/s (rounds ${r.minPerSec.toFixed(0)}–${r.maxPerSec.toFixed(0)}); CPU/op node ${r.cpuNodeUs.toFixed(0)} µs, postgres ${r.cpuPostgresUs.toFixed(0)} µs`,
        );
      return results;
    };

    const store = await throughput(
      'store.rotateRefresh',
      ids,
      (id) => openChain(stores[id]),
      (id, state) => rotate(id, state as Chain),
    );

    // The whole refresh of one instance: createAuth.refresh (token hashing, the successor's
    // derivation, the store, signing the access token), on each store.
    const auths = {} as Record<PeerId, Auth>;
    // Without the synchronous_commit-off peer: the store level shows what the flush costs.
    const authIds = settings.wholeRefresh ? ids.filter((id) => id !== 'nosync') : [];
    for (const id of authIds) {
      const auth = createAuth({
        store: stores[id],
        issuer: ISSUER,
        audience: AUDIENCE,
        maxSessionsPerUser: 1_000_000,
        // The sign-ins that open the chains are not what is measured here.
        password: { memoryCost: 1024, timeCost: 1, parallelism: 1, allowWeakHash: true },
      });
      closers.unshift(() => auth.close());
      await auth.ready();
      auths[id] = auth;
    }
    const password = randomBytes(18).toString('base64url');
    let signups = 0;
    const auth =
      authIds.length === 0
        ? []
        : await throughput(
            'createAuth.refresh',
            authIds,
            async (id) => {
              const email = `auth-${++signups}@bench.test`;
              await auths[id].signup({ email, password });
              return { token: (await auths[id].login({ email, password })).refreshToken };
            },
            async (id, state) => {
              const chain = state as { token: string };
              chain.token = (await auths[id].refresh(chain.token)).refreshToken;
            },
          );

    const one = latency.find((r) => r.peer === PEERS.one)!;
    const oneStore = store.find((r) => r.peer === PEERS.one)!;
    const oneAuth = auth.find((r) => r.peer === PEERS.one);
    const targets = [
      {
        goal: 'PostgreSQL refresh: median ≤ 3 ms on loopback (one in flight)',
        measured: `${one.medianMs.toFixed(2)} ms`,
        met: one.medianMs <= 3,
      },
      {
        goal: 'PostgreSQL refresh: one round trip',
        measured: String(one.roundTrips),
        met: one.roundTrips === 1,
      },
      {
        goal: `PostgreSQL: ≥ 1,000 store refreshes/s from one instance (${settings.concurrency} in flight)`,
        measured: `${oneStore.perSec.toFixed(0)}/s`,
        met: oneStore.perSec >= 1000,
      },
      {
        goal: `PostgreSQL: ≥ 1,000 createAuth.refresh/s from one instance (${settings.concurrency} in flight)`,
        measured:
          oneAuth === undefined ? 'not measured (--quick)' : `${oneAuth.perSec.toFixed(0)}/s`,
        met: oneAuth === undefined ? null : oneAuth.perSec >= 1000,
      },
    ];
    const result: RefreshBenchResult = {
      meta: {
        date: new Date(started).toISOString(),
        mode,
        node: process.versions.node,
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        postgres: versionRow.v.split(' on ')[0] ?? versionRow.v,
        synchronousCommit: syncRow.synchronous_commit,
        loadAverageStart,
        loadAverageEnd: loadavg(),
        durationSeconds: (Date.now() - started) / 1000,
        settings,
      },
      latency,
      store,
      auth,
      targets,
    };
    mkdirSync(options.outDir, { recursive: true });
    const name = mode === 'full' ? 'refresh' : 'refresh-quick';
    writeFileSync(join(options.outDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(options.outDir, `${name}.md`), renderRefreshMarkdown(result));
    log(`  written to ${join(options.outDir, `${name}.{md,json}`)}`);
    return result;
  } finally {
    for (const close of closers) await close().catch(() => {});
    await db.drop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

export function renderRefreshMarkdown(r: RefreshBenchResult): string {
  const m = r.meta;
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  const lines = [
    `# Refresh rotation: PostgreSQL in one round trip, the old transaction, SQLite (${m.mode})`,
    '',
    `${m.date} · Node ${m.node} · ${m.cpu} × ${m.cores} · ${m.postgres} on 127.0.0.1 (synchronous_commit ${m.synchronousCommit}) · load average at start ${m.loadAverageStart.map((v) => v.toFixed(2)).join(' ')}, at end ${m.loadAverageEnd.map((v) => v.toFixed(2)).join(' ')} · ${m.durationSeconds.toFixed(0)} s`,
    '',
    'The peers run in one process, interleaved round by round (the order rotates); each chain',
    'of refreshes is a session of its own user. The database server shares the two cores with',
    'the bench. "Old transaction" is the store\'s rotateRefresh before issue 14 (BEGIN, peek,',
    'lock user, lock session, lock token, write, COMMIT), kept in bench/refresh.ts only for this',
    'comparison. "synchronous_commit off" is the one-round-trip function on connections that',
    "do not wait for the WAL flush: what the disk's flush costs (the store always waits).",
    '',
    '## Targets',
    '',
    '| target | measured | status |',
    '|---|---|---|',
    ...r.targets.map(
      (t) =>
        `| ${t.goal} | ${t.measured} | ${t.met === null ? '—' : t.met ? 'met' : '**missed**'} |`,
    ),
    '',
    '## Latency, one refresh in flight (store.rotateRefresh)',
    '',
    '| peer | round trips | median | p90 | p99 | max | refreshes timed |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...r.latency.map(
      (l) =>
        `| ${l.peer} | ${l.roundTrips ?? '— (in process)'} | ${ms(l.medianMs)} | ${ms(l.p90Ms)} | ${ms(l.p99Ms)} | ${ms(l.maxMs)} | ${l.ops} |`,
    ),
    '',
  ];
  const table = (title: string, rows: ThroughputResult[]) => [
    `## ${title}`,
    '',
    '| peer | in flight | refreshes/s (median of rounds) | rounds: slowest – fastest | CPU per refresh: this process | CPU per refresh: PostgreSQL backends |',
    '|---|---:|---:|---|---:|---:|',
    ...rows.map(
      (t) =>
        `| ${t.peer} | ${t.concurrency} | ${t.perSec.toFixed(0)} | ${t.minPerSec.toFixed(0)} – ${t.maxPerSec.toFixed(0)} | ${t.cpuNodeUs.toFixed(0)} µs | ${t.peer.startsWith('SQLite') ? '—' : `${t.cpuPostgresUs.toFixed(0)} µs`} |`,
    ),
    '',
  ];
  lines.push(...table('Throughput: store.rotateRefresh', r.store));
  if (r.auth.length > 0)
    lines.push(
      ...table(
        'Throughput: createAuth.refresh (hashing, successor derivation, store, signing the access token)',
        r.auth,
      ),
    );
  return `${lines.join('\n')}\n`;
}
