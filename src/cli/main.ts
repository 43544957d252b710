#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseServeArgs, SERVE_USAGE, UsageError } from './args.js';
import { keysCommand } from './keys.js';
import { createLogger } from './log.js';
import { StartupError, serve } from './serve.js';

const USAGE = `Usage: notbefore <command> [options]

Commands:
  serve              run the reference auth server (notbefore serve --help)
  keys generate      print a new private JWKS (--alg EdDSA|ES256|HS256)
  bench [--quick]    run the benchmarks

Run \`notbefore <command> --help\` for the options of a command.`;

async function runServe(argv: string[]): Promise<void> {
  const config = parseServeArgs(argv);
  if (config === 'help') {
    console.log(SERVE_USAGE);
    return;
  }
  const logger = createLogger(config.logLevel);
  const server = await serve(config, logger);
  console.log(`notbefore listening on ${server.url}`);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Runs the CLI; resolves with the exit code (servers keep the process alive). */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        await runServe(rest);
        return 0;
      case 'keys':
        console.log(keysCommand(rest));
        return 0;
      case 'bench': {
        const { runBench } = await import('./bench.js');
        await runBench(rest);
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`notbefore: ${error.message}`);
      return 2;
    }
    if (error instanceof StartupError) {
      console.error(`notbefore: ${error.message}`);
      return 1;
    }
    console.error(`notbefore: ${(error as Error).message?.split('\n', 1)[0] ?? 'failed'}`);
    return 1;
  }
}

const invoked = process.argv[1] === undefined ? '' : realpathSync(process.argv[1]);
if (invoked === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => {
    if (code !== 0) process.exitCode = code;
  });
}
