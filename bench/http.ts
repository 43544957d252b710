import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { median } from './harness.js';
import type { LoadConfig, LoadResult } from './http-load.js';
import { HTTP_VARIANTS, type HttpVariant } from './http-variants.js';
import { childExecArgv, siblingScript } from './list-scale.js';

export interface HttpOptions {
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  connections: number;
}

export interface HttpPeerResult {
  variant: HttpVariant;
  name: string;
  /** Median over rounds. */
  requestsPerSec: number;
  p99Ms: number;
  rounds: LoadResult[];
}

export const HTTP_NAMES: Record<HttpVariant, string> = {
  none: 'Fastify, no authentication',
  notbefore: 'Fastify + notbefore plugin (EdDSA)',
  'fastify-jwt': '@fastify/jwt (EdDSA, defaults)',
  'fastify-jwt-cache': '@fastify/jwt (EdDSA, cache: true)',
};

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`child exited with ${code} before answering`)));
  });
}

async function runOnce(variant: HttpVariant, options: HttpOptions): Promise<LoadResult> {
  const server = spawn(
    process.execPath,
    [...childExecArgv(), siblingScript('http-server'), variant],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const started = JSON.parse(await firstLine(server)) as { port: number; token: string };
    const load = spawn(process.execPath, [...childExecArgv(), siblingScript('http-load'), 'run'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const config: LoadConfig = {
      url: `http://127.0.0.1:${started.port}/me`,
      token: started.token,
      connections: options.connections,
      seconds: options.seconds,
      warmupSeconds: options.warmupSeconds,
    };
    load.stdin.end(JSON.stringify(config));
    const result = JSON.parse(await firstLine(load)) as LoadResult;
    if (result.non2xx > 0 || result.errors > 0) {
      throw new Error(`${variant}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
    }
    return result;
  } finally {
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
  }
}

/** Each run: a fresh server process, autocannon in another process, loopback, fixed time. */
export async function httpSuite(
  options: HttpOptions,
  log: (line: string) => void,
): Promise<HttpPeerResult[]> {
  const samples = new Map<HttpVariant, LoadResult[]>(HTTP_VARIANTS.map((v) => [v, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (let step = 0; step < HTTP_VARIANTS.length; step++) {
      const variant = HTTP_VARIANTS[(step + round) % HTTP_VARIANTS.length]!;
      const result = await runOnce(variant, options);
      samples.get(variant)!.push(result);
      log(
        `    round ${round + 1} ${HTTP_NAMES[variant].padEnd(38)} ${result.requestsPerSec.toFixed(0).padStart(7)} req/s  p99 ${result.p99Ms} ms`,
      );
    }
  }
  return HTTP_VARIANTS.map((variant) => {
    const rounds = samples.get(variant)!;
    return {
      variant,
      name: HTTP_NAMES[variant],
      requestsPerSec: median(rounds.map((r) => r.requestsPerSec)),
      p99Ms: median(rounds.map((r) => r.p99Ms)),
      rounds,
    };
  });
}
