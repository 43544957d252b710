import { execFileSync, spawn } from 'node:child_process';
import { childExecArgv, siblingScript } from './list-scale.js';
import {
  type ServerMessage,
  STREAMS_PER_USER,
  type StreamAdapter,
  type StreamsConfig,
  type StreamsResult,
} from './streams-server.js';

export type { StreamAdapter, StreamsConfig, StreamsResult } from './streams-server.js';

/** Open files besides the sockets: the runtime's own, the listener, the database. */
const SPARE_FILES = 256;

/** The soft and hard limit on open files of processes started from here. */
function fileLimits(): { soft: number; hard: number } {
  const out = execFileSync('/bin/sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' });
  const [soft, hard] = out
    .trim()
    .split('\n')
    .map((line) => (line.trim() === 'unlimited' ? Number.POSITIVE_INFINITY : Number(line)));
  return { soft: soft ?? 0, hard: hard ?? 0 };
}

/**
 * The command that starts the server process with room for `files` open files: as is when
 * the soft limit allows it, else through `sh -c 'ulimit -n'`, which may raise the soft
 * limit up to the hard one (node cannot raise its own). The client, forked by the server,
 * inherits the limit.
 */
function withFileLimit(files: number, argv: string[]): [string, string[]] {
  const { soft, hard } = fileLimits();
  if (soft >= files) return [argv[0]!, argv.slice(1)];
  if (hard < files) {
    throw new Error(
      `${files} open files are needed but the hard limit is ${hard} (raise it: ulimit -Hn)`,
    );
  }
  return ['/bin/sh', ['-c', `ulimit -n ${files} && exec "$0" "$@"`, ...argv]];
}

/**
 * Opens `config.streams` (+ the sampled users') event streams against one fresh server
 * process, from another process, and measures them; see streams-server.ts.
 */
export function measureStreams(config: StreamsConfig): Promise<StreamsResult> {
  const peak = config.streams + config.userSamples * STREAMS_PER_USER;
  const script = siblingScript('streams-server');
  const flags = childExecArgv();
  // Under vitest (or plain node) nothing loads TypeScript for the child: tsx does.
  if (script.endsWith('.ts') && !flags.some((flag) => flag.includes('tsx'))) {
    flags.push('--import', 'tsx');
  }
  const [command, args] = withFileLimit(peak + SPARE_FILES, [
    process.execPath,
    ...flags,
    '--expose-gc',
    script,
  ]);
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let settled = false;
    child.on('message', (message: ServerMessage) => {
      settled = true;
      if (message.type === 'result') resolve(message.result);
      else reject(new Error(`stream measurement failed: ${message.message}`));
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!settled) reject(new Error(`the stream server exited with ${code} before answering`));
    });
    child.send(config);
  });
}

/**
 * What the streams suite runs with one adapter: 10,000 streams, or 1,000 in quick mode (the
 * whole quick run has a minute). The heartbeat is shorter than the default 15 s so that
 * every stream gets one before the revocations; the writes it costs run alongside them.
 */
export function streamsConfig(quick: boolean, adapter: StreamAdapter = 'fastify'): StreamsConfig {
  return quick
    ? { streams: 1000, adapter, heartbeatMs: 1000, userSamples: 10, concurrency: 256 }
    : { streams: 10_000, adapter, heartbeatMs: 5000, userSamples: 50, concurrency: 256 };
}

const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 0)} ms`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** One line per measurement, for the log and the report. */
export function describeStreams(r: StreamsResult): string {
  return (
    `${r.adapter}: ${r.opened.toLocaleString('en')}/${r.peak.toLocaleString('en')} open ` +
    `in ${(r.openMs / 1000).toFixed(1)} s, ${kib(r.rssBytesPerStream)} RSS ` +
    `(${kib(r.heapBytesPerStream)} heap) per stream; user revocation (${r.streamsPerUser} ` +
    `streams) median ${ms(r.userLatencyMs.median)}, p99 ${ms(r.userLatencyMs.p99)}; ` +
    `revokeEveryone to ${r.streams.toLocaleString('en')} streams ${ms(r.globalMs)} ` +
    `(all closed ${ms(r.globalClosedMs)})`
  );
}

/**
 * Event streams at scale: memory per open stream, a user-level revocation's latency and
 * the global fan-out, each adapter in its own pair of processes. Quick mode runs Fastify
 * alone with 1,000 streams, to stay within the quick run's minute.
 */
export async function streamsSuite(
  quick: boolean,
  log: (line: string) => void,
): Promise<StreamsResult[]> {
  const adapters: StreamAdapter[] = quick ? ['fastify'] : ['fastify', 'express', 'hono'];
  const results: StreamsResult[] = [];
  for (const adapter of adapters) {
    const result = await measureStreams(streamsConfig(quick, adapter));
    log(`  ${describeStreams(result)}`);
    results.push(result);
  }
  return results;
}
