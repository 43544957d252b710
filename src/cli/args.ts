import { parseArgs } from 'node:util';
import type { SigningAlgorithm } from '../tokens/types.js';

/** A mistake in the command line or environment: one line for the user, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type Database = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export interface ServeConfig {
  port: number;
  host: string;
  db: Database;
  redis: string | undefined;
  alg: SigningAlgorithm;
  issuer: string | undefined;
  accessTokenTtl: number | undefined;
  maxStaleness: number | undefined;
  failOpen: boolean;
  rateLimit: number;
  trustProxy: boolean;
  adminEmails: string[];
  keys: string | undefined;
  logLevel: string;
  /** Where users reach the server; passkeys are bound to its host. */
  publicUrl: string | undefined;
}

export const SERVE_USAGE = `Usage: notbefore serve [options]

  --port N                 port to listen on (PORT; default 3000, 0 = any free port)
  --host HOST              address to bind (default 127.0.0.1)
  --db URL                 sqlite:FILE (default sqlite:notbefore.db), sqlite::memory: or postgres://…
  --redis URL              Redis feed for several instances (redis://127.0.0.1:6379)
  --alg ALG                EdDSA (default), ES256 or HS256: algorithm of keys made on first start
  --issuer URL             the iss claim (default notbefore)
  --access-token-ttl S     access token lifetime in seconds (default 900)
  --max-staleness S        fail closed when revocations are older than this (default 5)
  --fail-open              accept tokens while revocation state is stale (not recommended)
  --rate-limit N           sign-in/sign-up attempts per minute per client address (default 10; 0 = off)
  --trust-proxy            take the client address from X-Forwarded-For (one trusted proxy)
  --admin-email EMAIL      a user who signs up with this email gets role admin (repeatable)
  --keys FILE              a private JWKS (from \`notbefore keys generate\`); default: keys in the store
  --log-level LEVEL        pino level (default info)
  --public-url URL         where users reach this server (passkeys are bound to its host name)

Every option also reads NOTBEFORE_<OPTION> (NOTBEFORE_DB, NOTBEFORE_ADMIN_EMAIL=a,b, …).`;

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  db: { type: 'string' },
  redis: { type: 'string' },
  alg: { type: 'string' },
  issuer: { type: 'string' },
  'access-token-ttl': { type: 'string' },
  'max-staleness': { type: 'string' },
  'fail-open': { type: 'boolean' },
  'rate-limit': { type: 'string' },
  'trust-proxy': { type: 'boolean' },
  'admin-email': { type: 'string', multiple: true },
  keys: { type: 'string' },
  'log-level': { type: 'string' },
  'public-url': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Env = Record<string, string | undefined>;

/** node:util parseArgs explains at length; the first sentence names the flag. */
export const firstSentence = (message: string): string => message.split(/\.\s/, 1)[0] ?? message;

const envName = (flag: string): string => `NOTBEFORE_${flag.toUpperCase().replaceAll('-', '_')}`;

function integer(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max} (got "${raw}")`);
  }
  return Number(raw);
}

function boolean(flag: string, raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off|)$/i.test(raw)) return false;
  throw new UsageError(`${envName(flag)} must be true or false (got "${raw}")`);
}

export function parseDatabase(raw: string): Database {
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path.length === 0)
      throw new UsageError('--db sqlite: needs a file name, e.g. sqlite:notbefore.db');
    return { kind: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//.test(raw)) return { kind: 'postgres', url: raw };
  throw new UsageError(`--db must be sqlite:FILE or postgres://… (got "${raw.split('@').at(-1)}")`);
}

function publicUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^https?:\/\/[^/\s]/.test(raw) || !URL.canParse(raw))
    throw new UsageError(`--public-url must be an http(s) URL (got "${raw}")`);
  return raw;
}

/** Flags win over NOTBEFORE_* variables, which win over the defaults. */
export function parseServeArgs(argv: string[], env: Env = process.env): ServeConfig | 'help' {
  let values: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof OPTIONS; strict: true }>
  >['values'];
  try {
    ({ values } = parseArgs({
      args: argv,
      options: OPTIONS,
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(firstSentence((error as Error).message));
  }
  if (values.help === true) return 'help';
  const str = (
    flag: Exclude<keyof typeof OPTIONS, 'fail-open' | 'trust-proxy' | 'admin-email' | 'help'>,
  ): string | undefined =>
    (values[flag] as string | undefined) ??
    (env[envName(flag)] === '' ? undefined : env[envName(flag)]);
  const bool = (flag: 'fail-open' | 'trust-proxy'): boolean =>
    values[flag] ?? boolean(flag, env[envName(flag)] ?? '');

  const port = str('port') ?? (env.PORT === '' ? undefined : env.PORT);
  const alg = str('alg') ?? 'EdDSA';
  if (alg !== 'EdDSA' && alg !== 'ES256' && alg !== 'HS256') {
    throw new UsageError(`--alg must be EdDSA, ES256 or HS256 (got "${alg}")`);
  }
  const ttl = str('access-token-ttl');
  const staleness = str('max-staleness');
  const redis = str('redis');
  if (redis !== undefined && !/^rediss?:\/\//.test(redis)) {
    throw new UsageError('--redis must be a redis:// or rediss:// URL');
  }
  const issuer = str('issuer');
  const adminEmails =
    values['admin-email'] ??
    (env[envName('admin-email')] ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e.length > 0);
  for (const email of adminEmails) {
    if (!/^[^@\s]+@[^@\s]+$/.test(email))
      throw new UsageError(`--admin-email "${email}" is not an email address`);
  }
  return {
    port: port === undefined ? 3000 : integer('port', port, 0, 65535),
    host: str('host') ?? '127.0.0.1',
    db: parseDatabase(str('db') ?? 'sqlite:notbefore.db'),
    redis,
    alg,
    issuer,
    accessTokenTtl: ttl === undefined ? undefined : integer('access-token-ttl', ttl, 1, 86_400),
    maxStaleness:
      staleness === undefined ? undefined : integer('max-staleness', staleness, 1, 3600),
    failOpen: bool('fail-open'),
    rateLimit: integer('rate-limit', str('rate-limit') ?? '10', 0, 1_000_000),
    trustProxy: bool('trust-proxy'),
    adminEmails,
    keys: str('keys'),
    logLevel: str('log-level') ?? 'info',
    publicUrl: publicUrl(str('public-url')),
  };
}
