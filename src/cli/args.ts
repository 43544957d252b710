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
  /** The base of mailed links; undefined: the server's own URL. */
  publicUrl: string | undefined;
  /** smtp(s)://… to send mail; undefined: mails go to the log. Holds a password: never log it. */
  smtp: string | undefined;
  mailFrom: string | undefined;
  requireVerifiedEmail: boolean;
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
  --admin-email EMAIL      on start, invite this address as admin unless it has an account (repeatable):
                           the invitation link is logged, and mailed with --smtp
  --keys FILE              a private JWKS (from \`notbefore keys generate\`); default: keys in the store
  --log-level LEVEL        pino level (default info)
  --public-url URL         where users reach this server (passkeys are bound to its host name)

Mail (verification, password reset, email change, invitations, notices):
  --public-url URL         where users open the app: the base of mailed links (default: the server's own URL)
  --smtp URL               send mail over SMTP: smtp://user:pass@host:port (STARTTLS) or smtps://… (TLS);
                           without it every mail, link included, is written to the log instead
  --mail-from ADDRESS      the sender, e.g. "Acme <no-reply@acme.example>" (needed with --smtp)
  --require-verified-email only users who confirmed their address by mail may sign in; signup no longer
                           tells whether an address has an account

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
  smtp: { type: 'string' },
  'mail-from': { type: 'string' },
  'require-verified-email': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Env = Record<string, string | undefined>;

/** node:util parseArgs explains at length; the first sentence names the flag. */
export const firstSentence = (message: string): string => message.split(/\.\s/, 1)[0] ?? message;

export const envName = (flag: string): string =>
  `NOTBEFORE_${flag.toUpperCase().replaceAll('-', '_')}`;

function integer(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max} (got "${raw}")`);
  }
  return Number(raw);
}

export function boolean(flag: string, raw: string): boolean {
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

/** What a browser on this machine opens to reach a server bound to `host`. */
export function ownUrl(host: string, port: number): string {
  const name =
    host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${name}:${port}`;
}

/** `--public-url`: an absolute http(s) URL, kept without a trailing slash. */
export function parsePublicUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--public-url must be an absolute http(s) URL (got "${raw}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--public-url must be an http:// or https:// URL (got "${raw}")`);
  }
  if (url.hash !== '' || url.search !== '') {
    throw new UsageError('--public-url takes no query or fragment: the links add their own');
  }
  return url.toString().replace(/\/$/, '');
}

/**
 * `--smtp` and `--mail-from` together (one without the other is a mistake). The message never
 * repeats the URL: it may hold a password.
 */
export function parseMail(
  smtp: string | undefined,
  mailFrom: string | undefined,
): { smtp: string | undefined; mailFrom: string | undefined } {
  if (smtp !== undefined) {
    let ok = false;
    try {
      const url = new URL(smtp);
      ok = (url.protocol === 'smtp:' || url.protocol === 'smtps:') && url.hostname !== '';
    } catch {}
    if (!ok) throw new UsageError('--smtp must be smtp://[user:pass@]host[:port] or smtps://…');
    if (mailFrom === undefined) {
      throw new UsageError('--smtp needs --mail-from ADDRESS, the sender of the mails');
    }
  } else if (mailFrom !== undefined) {
    throw new UsageError('--mail-from is the sender for --smtp, which is not given');
  }
  if (mailFrom !== undefined && (/[\r\n]/.test(mailFrom) || !/@[^@\s>]+>?\s*$/.test(mailFrom))) {
    throw new UsageError(`--mail-from must be an address, e.g. "Acme <no-reply@acme.example>"`);
  }
  return { smtp, mailFrom };
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
    flag: Exclude<
      keyof typeof OPTIONS,
      'fail-open' | 'trust-proxy' | 'require-verified-email' | 'admin-email' | 'help'
    >,
  ): string | undefined =>
    (values[flag] as string | undefined) ??
    (env[envName(flag)] === '' ? undefined : env[envName(flag)]);
  const bool = (flag: 'fail-open' | 'trust-proxy' | 'require-verified-email'): boolean =>
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
  const publicUrl = str('public-url');
  const mail = parseMail(str('smtp'), str('mail-from'));
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
    publicUrl: publicUrl === undefined ? undefined : parsePublicUrl(publicUrl),
    smtp: mail.smtp,
    mailFrom: mail.mailFrom,
    requireVerifiedEmail: bool('require-verified-email'),
  };
}
