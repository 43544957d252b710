/**
 * The load generator, in its own process: reads `{url, token, connections, seconds}` as
 * JSON on stdin (the token stays off the command line), runs autocannon, prints a JSON
 * summary on stdout.
 */
import { createRequire } from 'node:module';
import { isEntryPoint } from './http-variants.js';

export interface LoadConfig {
  url: string;
  token: string;
  connections: number;
  seconds: number;
  /** Unmeasured load first, so the server's JIT is warm. */
  warmupSeconds: number;
}

export interface LoadResult {
  requestsPerSec: number;
  p99Ms: number;
  p50Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p99: number; p50: number };
  non2xx: number;
  errors: number;
  duration: number;
}

type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
}) => Promise<AutocannonResult>;

async function readStdin(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

if (isEntryPoint(import.meta.url) && process.argv[2] === 'run') {
  const config = JSON.parse(await readStdin()) as LoadConfig;
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const options = {
    url: config.url,
    connections: config.connections,
    headers: { authorization: `Bearer ${config.token}` },
  };
  if (config.warmupSeconds > 0) await autocannon({ ...options, duration: config.warmupSeconds });
  const result = await autocannon({ ...options, duration: config.seconds });
  const summary: LoadResult = {
    requestsPerSec: result.requests.average,
    p99Ms: result.latency.p99,
    p50Ms: result.latency.p50,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
