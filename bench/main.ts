// `npm run bench [-- --quick]`: the side-by-side benchmarks, run from the checkout with tsx.
// They are not part of the package: their peers (fast-jwt, jsonwebtoken, jose,
// @fastify/jwt, autocannon) are devDependencies.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { refreshBench } from './refresh.js';
import { DEFAULT_OUT_DIR, runAll, SUITES, type Suite } from './run.js';
import { streamsSuite } from './streams.js';

const BENCH_USAGE = `Usage: npm run bench -- [--quick] [--only verify,list,http,auth,feed,streams,refresh] [--out DIR] [--note TEXT]

Runs notbefore and its peers side by side (interleaved rounds, medians, ratios). A full run
writes bench/results/{latest,full}.{md,json,svg}; --quick (under a minute) writes only
quick.{md,json,svg}, so it never replaces the committed full results.
--note adds a line to the report (e.g. what else ran on the machine).
streams (event streams at scale: 10,000, or 1,000 with --quick) runs last and prints its
results; they are not in the report files.
refresh (PostgreSQL's one-round-trip rotation beside the old transaction and SQLite) writes
refresh.{md,json}, or refresh-quick.{md,json} with --quick.`;

interface BenchArgs {
  quick: boolean;
  outDir: string;
  suites: Set<Suite>;
  /** The event-stream suite, run here after the others (bench/streams.ts). */
  streams: boolean;
  /** The refresh-rotation comparison, run after the others (bench/refresh.ts). */
  refresh: boolean;
  note: string | undefined;
}

/** Parses the flags; throws an Error with one line for the user. */
function parseBenchArgs(argv: string[]): BenchArgs | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      out: { type: 'string' },
      note: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) return 'help';
  const extras = ['streams', 'refresh'];
  const names = values.only?.split(',') ?? [...SUITES, ...extras];
  const unknown = names.filter(
    (n) => !extras.includes(n) && !(SUITES as readonly string[]).includes(n),
  );
  if (unknown.length > 0) throw new Error(`unknown suite ${unknown.join(', ')}`);
  return {
    quick: values.quick === true,
    outDir: values.out === undefined ? DEFAULT_OUT_DIR : resolve(values.out),
    suites: new Set(names.filter((n) => !extras.includes(n)) as Suite[]),
    streams: names.includes('streams'),
    refresh: names.includes('refresh'),
    note: values.note,
  };
}

async function main(argv: string[]): Promise<number> {
  let args: BenchArgs | 'help';
  try {
    args = parseBenchArgs(argv);
  } catch (error) {
    console.error(`bench: ${(error as Error).message.split('. ', 1)[0]}\n\n${BENCH_USAGE}`);
    return 2;
  }
  if (args === 'help') {
    console.log(BENCH_USAGE);
    return 0;
  }
  // `--only streams` alone writes no report: it would replace the results with an empty one.
  const { failed } =
    (args.streams || args.refresh) && args.suites.size === 0
      ? { failed: [] as string[] }
      : await runAll({
          quick: args.quick,
          outDir: args.outDir,
          suites: args.suites,
          ...(args.note === undefined ? {} : { note: args.note }),
        });
  if (args.streams) {
    console.log('Event streams at scale (a server process per adapter, a client process):');
    try {
      await streamsSuite(args.quick, (line) => console.log(line));
    } catch (error) {
      console.error(`  ${(error as Error).message.split('\n')[0]}`);
      failed.push('streams');
    }
  }
  if (args.refresh) {
    console.log('Refresh rotation (PostgreSQL one round trip, the old transaction, SQLite):');
    try {
      await refreshBench({ quick: args.quick, outDir: args.outDir });
    } catch (error) {
      console.error(`  ${(error as Error).message.split('\n')[0]}`);
      failed.push('refresh');
    }
  }
  if (failed.length > 0) {
    console.error(`bench: ${failed.join(', ')} failed (see the gaps above)`);
    return 1;
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
