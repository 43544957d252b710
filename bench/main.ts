// `npm run bench [-- --quick]`: the side-by-side benchmarks, run from the checkout with tsx.
// They are not part of the package: their peers (fast-jwt, jsonwebtoken, jose,
// @fastify/jwt, autocannon) are devDependencies.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_OUT_DIR, runAll, SUITES, type Suite } from './run.js';

const BENCH_USAGE = `Usage: npm run bench -- [--quick] [--only verify,list,http,auth] [--out DIR] [--note TEXT]

Runs notbefore and its peers side by side (interleaved rounds, medians, ratios). A full run
writes bench/results/{latest,full}.{md,json,svg}; --quick (under a minute) writes only
quick.{md,json,svg}, so it never replaces the committed full results.
--note adds a line to the report (e.g. what else ran on the machine).`;

interface BenchArgs {
  quick: boolean;
  outDir: string;
  suites: Set<Suite>;
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
  const names = values.only?.split(',') ?? [...SUITES];
  const unknown = names.filter((n) => !(SUITES as readonly string[]).includes(n));
  if (unknown.length > 0) throw new Error(`unknown suite ${unknown.join(', ')}`);
  return {
    quick: values.quick === true,
    outDir: values.out === undefined ? DEFAULT_OUT_DIR : resolve(values.out),
    suites: new Set(names as Suite[]),
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
  const { failed } = await runAll({
    quick: args.quick,
    outDir: args.outDir,
    suites: args.suites,
    ...(args.note === undefined ? {} : { note: args.note }),
  });
  if (failed.length > 0) {
    console.error(`bench: ${failed.join(', ')} failed (see the gaps above)`);
    return 1;
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
