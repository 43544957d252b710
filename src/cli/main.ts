#!/usr/bin/env node
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MissingPeerError, requirePeers } from '../entries/peers.js';
import { parseServeArgs, SERVE_USAGE, type ServeConfig, UsageError } from './args.js';
import { StartupError } from './errors.js';
import { KEYS_USAGE, keysCommand } from './keys.js';
import { type InviteConfig, inviteCommand, parseInviteArgs, USERS_USAGE } from './users.js';

const USAGE = `Usage: notbefore <command> [options]

Commands:
  serve              run the reference auth server (notbefore help serve)
  users invite EMAIL print (and with --smtp mail) a link that creates an account (notbefore help users)
  keys generate      print a new private JWKS (--alg EdDSA|ES256|HS256)
  help [COMMAND]     this page, or the options of a command
  --version, -v      the installed version

The benchmarks are not part of the package: run \`npm run bench\` in a checkout.`;

const HELP: Record<string, string> = { serve: SERVE_USAGE, users: USERS_USAGE, keys: KEYS_USAGE };

function version(): string {
  const pkg = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/**
 * What `serve` loads besides the core: these are optional peer dependencies of the package
 * (installed in a checkout as devDependencies), so an installed copy says what is missing.
 */
export function servePeers(config: ServeConfig): string[] {
  return [
    'fastify',
    'fastify-plugin',
    'pino',
    'prom-client',
    config.db.kind === 'sqlite' ? 'better-sqlite3' : 'pg',
    ...(config.redis === undefined ? [] : ['ioredis']),
    ...(config.smtp === undefined ? [] : ['nodemailer']),
  ];
}

/** What `users invite` loads: the database driver, and nodemailer with --smtp. */
export function invitePeers(config: InviteConfig): string[] {
  return [
    config.db.kind === 'sqlite' ? 'better-sqlite3' : 'pg',
    ...(config.smtp === undefined ? [] : ['nodemailer']),
  ];
}

async function runUsers(argv: string[]): Promise<number> {
  const config = parseInviteArgs(argv);
  if (config === 'help') {
    console.log(USERS_USAGE);
    return 0;
  }
  await requirePeers('users invite', invitePeers(config));
  return inviteCommand(config, {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
  });
}

async function runServe(argv: string[]): Promise<void> {
  const config = parseServeArgs(argv);
  if (config === 'help') {
    console.log(SERVE_USAGE);
    return;
  }
  await requirePeers('serve', servePeers(config));
  const { createLogger } = await import('./log.js');
  const { serve } = await import('./serve.js');
  const logger = createLogger(config.logLevel);
  const server = await serve(config, logger, (url) => console.log(`notbefore listening on ${url}`));
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

function help(topic: string | undefined): string {
  if (topic === undefined) return USAGE;
  const page = HELP[topic];
  if (page === undefined) throw new UsageError(`no help for "${topic}"`);
  return page;
}

/** Runs the CLI; resolves with the exit code (servers keep the process alive). */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        await runServe(rest);
        return 0;
      case 'users':
        return await runUsers(rest);
      case 'keys':
        console.log(keysCommand(rest));
        return 0;
      case '--version':
      case '-v':
        console.log(version());
        return 0;
      case 'help':
        console.log(help(rest[0]));
        return 0;
      case '--help':
      case '-h':
        console.log(USAGE);
        return 0;
      case 'bench':
        throw new UsageError(
          'the benchmarks are not part of the package: `npm run bench` in a checkout',
        );
      case undefined:
        console.log(USAGE);
        return 2;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      // One line: the mistake, then where the right usage is.
      const page = command !== undefined && command in HELP ? `help ${command}` : 'help';
      console.error(`notbefore: ${error.message}; see notbefore ${page}`);
      return 2;
    }
    if (error instanceof StartupError || error instanceof MissingPeerError) {
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
