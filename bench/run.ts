import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AuthSuiteResult, authSuite } from './auth.js';
import { type FeedLatencyResult, feedLatencySuite } from './feed-latency.js';
import type { ScenarioResult } from './harness.js';
import { type HttpPeerResult, httpSuite } from './http.js';
import { listScaleSuite } from './list-scale.js';
import type { ListScaleResult } from './list-scale-worker.js';
import { type BenchResults, evaluateTargets, renderMarkdown, renderSvg } from './report.js';
import { verifySuite } from './verify.js';

export const SUITES = ['verify', 'list', 'http', 'auth', 'feed'] as const;
export type Suite = (typeof SUITES)[number];

export interface BenchRunOptions {
  quick: boolean;
  /** Where the results go: a full run writes full.* and latest.*, a quick run only quick.*. */
  outDir: string;
  suites: ReadonlySet<Suite>;
  /** A line for the report, e.g. what else ran on the machine. */
  note?: string;
  log?: (line: string) => void;
}

/** The package root: the nearest folder above this file whose package.json is notbefore's. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'notbefore') return dir;
    } catch {
      // no package.json here: keep climbing
    }
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

export const PACKAGE_ROOT = packageRoot();
export const DEFAULT_OUT_DIR = join(PACKAGE_ROOT, 'bench', 'results');

const PEERS = [
  'jose',
  'fast-jwt',
  'jsonwebtoken',
  'fastify',
  '@fastify/jwt',
  'autocannon',
  'better-sqlite3',
  'pg',
  '@node-rs/argon2',
];

function versions(): Record<string, string> {
  const out: Record<string, string> = {};
  const read = (path: string) =>
    (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  out.notbefore = read(join(PACKAGE_ROOT, 'package.json'));
  for (const name of PEERS) {
    try {
      out[name] = read(join(PACKAGE_ROOT, 'node_modules', name, 'package.json'));
    } catch {
      out[name] = 'not installed';
    }
  }
  return out;
}

function settings(quick: boolean) {
  return quick
    ? {
        verify: { rounds: 3, batchMs: 40, warmupMs: 60, rotation: 20_000, revocations: 10_000 },
        list: [10_000, 100_000, 1_000_000],
        listIterations: 300_000,
        http: { rounds: 1, seconds: 2, warmupSeconds: 1, connections: 10 },
        auth: { logins: 6, refreshes: 100, concurrency: 2 },
        feed: { samples: 50 },
      }
    : {
        verify: { rounds: 9, batchMs: 150, warmupMs: 300, rotation: 100_000, revocations: 10_000 },
        list: [10_000, 100_000, 1_000_000],
        listIterations: 2_000_000,
        http: { rounds: 5, seconds: 4, warmupSeconds: 1, connections: 10 },
        auth: { logins: 40, refreshes: 2000, concurrency: 4 },
        feed: { samples: 500 },
      };
}

function failure(suite: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `${suite} suite failed: ${message.split('\n')[0]}`;
}

/** The files a run writes: a quick run never replaces the committed full results. */
export function resultNames(mode: 'quick' | 'full'): string[] {
  return mode === 'full' ? ['latest', 'full'] : ['quick'];
}

export interface BenchOutcome {
  results: BenchResults;
  /** Suites that threw (a missing peer, a database down): the run must not pass as done. */
  failed: string[];
}

export async function runAll(options: BenchRunOptions): Promise<BenchOutcome> {
  const log = options.log ?? ((line: string) => console.log(line));
  const started = Date.now();
  const loadAverageStart = loadavg();
  const config = settings(options.quick);
  const gaps: string[] = [];
  const failed: string[] = [];
  const fail = (suite: string, error: unknown) => {
    failed.push(suite);
    gaps.push(failure(suite, error));
  };
  let verify: ScenarioResult[] = [];
  let list: ListScaleResult[] = [];
  let http: HttpPeerResult[] | null = null;
  let auth: AuthSuiteResult | null = null;
  let feeds: FeedLatencyResult[] | null = null;
  log(`notbefore bench (${options.quick ? 'quick' : 'full'})`);
  const lap = (what: string, since: number) =>
    log(`  (${what}: ${((Date.now() - since) / 1000).toFixed(1)} s)`);
  if (options.suites.has('verify')) {
    log('Verify, side by side:');
    const t = Date.now();
    try {
      const result = await verifySuite(config.verify, log);
      verify = result.scenarios;
      gaps.push(...result.gaps);
    } catch (error) {
      fail('verify', error);
    }
    lap('verify', t);
  }
  if (options.suites.has('list')) {
    log('Revocation list scale (one fresh process per size):');
    const t = Date.now();
    try {
      list = await listScaleSuite(config.list, config.listIterations, log);
    } catch (error) {
      fail('list-scale', error);
    }
    lap('list scale', t);
  }
  if (options.suites.has('http')) {
    log('HTTP (Fastify, autocannon in a separate process):');
    const t = Date.now();
    try {
      http = await httpSuite(config.http, log);
    } catch (error) {
      fail('HTTP', error);
    }
    lap('HTTP', t);
  }
  if (options.suites.has('auth')) {
    log('Sign-in and refresh (createAuth):');
    const t = Date.now();
    try {
      auth = await authSuite(config.auth, log);
    } catch (error) {
      fail('login/refresh', error);
    }
    lap('login/refresh', t);
  }
  if (options.suites.has('feed')) {
    log('Revocation feeds, side by side (revoking call answered → another instance rejects):');
    const t = Date.now();
    try {
      const result = await feedLatencySuite(config.feed, log);
      feeds = result.results;
      gaps.push(...result.gaps);
    } catch (error) {
      fail('feed latency', error);
    }
    lap('feed latency', t);
  }
  const cpu = cpus();
  const results: BenchResults = {
    meta: {
      date: new Date(started).toISOString(),
      mode: options.quick ? 'quick' : 'full',
      node: process.versions.node,
      platform: `${process.platform} ${process.arch}`,
      cpu: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      loadAverageStart,
      loadAverageEnd: loadavg(),
      versions: versions(),
      durationSeconds: (Date.now() - started) / 1000,
      settings: config,
      ...(options.note === undefined ? {} : { note: options.note }),
    },
    verify,
    list,
    http,
    auth,
    feeds,
    targets: evaluateTargets(verify, list, http, feeds),
    gaps,
  };
  const markdown = renderMarkdown(results);
  mkdirSync(options.outDir, { recursive: true });
  const names = resultNames(results.meta.mode);
  for (const name of names) {
    writeFileSync(join(options.outDir, `${name}.md`), markdown);
    writeFileSync(join(options.outDir, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(options.outDir, `${name}.svg`), renderSvg(results));
  }
  log('');
  log(markdown);
  log(`Written to ${options.outDir}: ${names.map((n) => `${n}.{md,json,svg}`).join(', ')}`);
  return { results, failed };
}
