import { resolve } from 'node:path';
import { UsageError } from './args.js';

export const BENCH_USAGE = `Usage: notbefore bench [--quick] [--only verify,list,http,auth] [--out DIR] [--note TEXT]

Runs notbefore and its peers side by side (interleaved rounds, medians, ratios) and
writes bench/results/latest.{md,json,svg}. --quick finishes in under a minute.
--note adds a line to the report (e.g. what else ran on the machine).
The peers (fast-jwt, jsonwebtoken, @fastify/jwt, autocannon) are devDependencies.`;

/** `notbefore bench`: the benchmark suites of issue 7. */
export async function runBench(argv: string[]): Promise<void> {
  const { DEFAULT_OUT_DIR, runAll, SUITES } = await import('../bench/run.js');
  type Suite = (typeof SUITES)[number];
  let quick = false;
  let outDir = DEFAULT_OUT_DIR;
  let suites = new Set<Suite>(SUITES);
  let note: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(BENCH_USAGE);
      return;
    } else if (arg === '--out' || arg === '--only' || arg === '--note') {
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a value\n\n${BENCH_USAGE}`);
      if (arg === '--out') outDir = resolve(value);
      else if (arg === '--note') note = value;
      else {
        const names = value.split(',');
        const unknown = names.filter((n) => !(SUITES as readonly string[]).includes(n));
        if (unknown.length > 0) throw new UsageError(`unknown suite ${unknown.join(', ')}`);
        suites = new Set(names as Suite[]);
      }
    } else throw new UsageError(`unknown option ${arg}\n\n${BENCH_USAGE}`);
  }
  await runAll({ quick, outDir, suites, ...(note === undefined ? {} : { note }) });
}
