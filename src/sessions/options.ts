import type { RevocationFeed } from '../feeds/port.js';
import { didYouMean, kindOf } from '../option-names.js';
import type { Store } from '../stores/port.js';
import { Keyring } from '../tokens/keyring.js';
import { MAX_CLOCK_SKEW_SECONDS } from '../tokens/verify.js';
import {
  DEFAULT_HASH_PARAMS,
  DEFAULT_MAX_PASSWORD_LENGTH,
  DEFAULT_MIN_PASSWORD_LENGTH,
} from './passwords.js';
import { DEFAULT_THROTTLE, type ThrottleLimits, type ThrottlePolicy } from './throttle.js';
import type { AuthOptions, PasswordPolicy, ResolvedAuthOptions } from './types.js';

const DAY = 86_400;

/** Every default in one place; the README's security-defaults table mirrors it. */
export const AUTH_DEFAULTS = {
  issuer: 'notbefore',
  audience: 'notbefore',
  accessTokenTtl: 900,
  refreshIdleTtl: 14 * DAY,
  refreshAbsoluteTtl: 30 * DAY,
  refreshReuseGrace: 5,
  reauthWindow: 600,
  maxSessionsPerUser: 20,
  maxStaleness: 5,
  failOpen: false,
  clockSkew: 30,
  requireVerifiedEmail: false,
  productName: 'notbefore',
  publicUrl: null,
  hasMailer: false,
  bannedPasswordWords: [] as string[],
  throttle: DEFAULT_THROTTLE,
  password: {
    minLength: DEFAULT_MIN_PASSWORD_LENGTH,
    maxLength: DEFAULT_MAX_PASSWORD_LENGTH,
    ...DEFAULT_HASH_PARAMS,
    allowWeakHash: false,
  },
} as const satisfies ResolvedAuthOptions;

/**
 * Every option name createAuth knows. Typed as a complete record, so an option added to
 * AuthOptions without being added here fails the type check instead of being refused
 * at run time as unknown.
 */
const OPTION_NAMES = {
  store: true,
  feed: true,
  keys: true,
  issuer: true,
  audience: true,
  accessTokenTtl: true,
  refreshIdleTtl: true,
  refreshAbsoluteTtl: true,
  refreshReuseGrace: true,
  reauthWindow: true,
  maxSessionsPerUser: true,
  maxStaleness: true,
  failOpen: true,
  clockSkew: true,
  clock: true,
  password: true,
  bannedPasswordWords: true,
  throttle: true,
  isBreached: true,
  onError: true,
  mailer: true,
  publicUrl: true,
  requireVerifiedEmail: true,
  productName: true,
  factorKey: true,
} as const satisfies Record<keyof AuthOptions, true>;

const PASSWORD_NAMES = {
  minLength: true,
  maxLength: true,
  memoryCost: true,
  timeCost: true,
  parallelism: true,
  allowWeakHash: true,
} as const satisfies Record<keyof PasswordPolicy, true>;

const THROTTLE_NAMES = {
  windowSeconds: true,
  account: true,
  client: true,
} as const satisfies Record<keyof ThrottlePolicy, true>;

const LIMIT_NAMES = { free: true, max: true } as const satisfies Record<keyof ThrottleLimits, true>;

/** Names other JWT libraries use for an option notbefore calls differently. */
const ALIASES: Readonly<Record<string, keyof AuthOptions>> = {
  iss: 'issuer',
  aud: 'audience',
  ttl: 'accessTokenTtl',
  expiresIn: 'accessTokenTtl',
  secret: 'keys',
  key: 'keys',
  keyring: 'keys',
  db: 'store',
  database: 'store',
  redis: 'feed',
  smtp: 'mailer',
  mail: 'mailer',
  baseUrl: 'publicUrl',
  appUrl: 'publicUrl',
  appName: 'productName',
};

/** A Store's methods that createAuth calls from its first start; enough to tell a Store. */
const STORE_METHODS = [
  'init',
  'close',
  'getOrCreateSecret',
  'liveRevocations',
  'revocationsSince',
  'purge',
] as const satisfies readonly (keyof Store)[];

const FEED_METHODS = [
  'publish',
  'subscribe',
  'start',
  'confirmedAt',
  'close',
] as const satisfies readonly (keyof RevocationFeed)[];

const MAILER_METHODS = ['send'] as const;

function bad(name: string, why: string): never {
  throw new TypeError(`createAuth: ${name} ${why}`);
}

function onlyKnown(
  value: object,
  known: Readonly<Record<string, true>>,
  prefix: string,
  aliases: Readonly<Record<string, string>> = {},
): void {
  for (const name of Object.keys(value)) {
    if (Object.hasOwn(known, name)) continue;
    const guess = didYouMean(name, Object.keys(known), aliases);
    throw new TypeError(
      `createAuth: unknown option ${prefix}${name}` +
        (guess === undefined ? '' : ` (did you mean ${prefix}${guess}?)`),
    );
  }
}

function object<T extends object>(value: T | undefined, name: string): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    bad(name, `must be an object; got ${kindOf(value)}`);
  return value;
}

function seconds(value: number | undefined, fallback: number, name: string, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min)
    bad(name, `must be a number of seconds >= ${min}; got ${kindOf(value)}`);
  return value;
}

function integer(value: number | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min)
    bad(name, `must be an integer >= ${min}; got ${kindOf(value)}`);
  return value;
}

function flag(value: boolean | undefined, fallback: boolean, name: string): boolean {
  if (value === undefined) return fallback;
  // A string "false" is truthy: taken as is, it would turn failOpen on.
  if (typeof value !== 'boolean') bad(name, `must be true or false; got ${kindOf(value)}`);
  return value;
}

function callback(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'function')
    bad(name, `must be a function; got ${kindOf(value)}`);
}

function hasMethods(value: unknown, methods: readonly string[]): string[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  return methods.filter((m) => typeof record[m] !== 'function');
}

function port(value: unknown, name: string, what: string, methods: readonly string[]): void {
  if (value === undefined) return;
  const missing = hasMethods(value, methods);
  if (missing !== undefined && missing.length === 0) return;
  const got =
    missing === undefined || typeof (value as { then?: unknown }).then === 'function'
      ? kindOf(value)
      : `${kindOf(value)} without ${missing.map((m) => `${m}()`).join(', ')}`;
  bad(name, `must be ${what}; got ${got}`);
}

/** A value for logs and messages: quoted, control characters escaped, cut short. */
function quoted(value: string): string {
  const json = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return `'${json.slice(1, -1)}'`;
}

/**
 * RFC 7519 §2 StringOrURI: any string, but one that contains ':' must be a URI. We also
 * refuse whitespace and control characters, which no issuer a verifier compares
 * byte for byte should carry.
 */
export function stringOrUriProblem(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse.
  if (/[\s\u0000-\u001f\u007f-\u009f]/u.test(value))
    return 'contains whitespace or control characters';
  if (value.includes(':') && !URL.canParse(value)) return "contains ':' but is not an absolute URL";
  return undefined;
}

function stringOrUri(value: string | undefined, fallback: string, name: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') bad(name, `must be a string; got ${kindOf(value)}`);
  const problem = stringOrUriProblem(value);
  if (problem !== undefined)
    bad(
      name,
      `must be a StringOrURI (RFC 7519 §2) such as 'https://auth.example.com': ${quoted(value)} ${problem}`,
    );
  return value;
}

/** An absolute http(s) URL without query or fragment, trailing slash dropped: links append `/#…`. */
function publicUrl(value: string | undefined, issuer: string): string | null {
  if (value === undefined) {
    const parsed = URL.canParse(issuer) ? new URL(issuer) : null;
    if (parsed === null || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:'))
      return null;
    return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
  }
  if (typeof value !== 'string') bad('publicUrl', `must be a string; got ${kindOf(value)}`);
  const parsed = URL.canParse(value) ? new URL(value) : null;
  if (parsed === null || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:'))
    bad(
      'publicUrl',
      `must be an absolute http(s) URL such as 'https://app.example.com'; got ${quoted(value)}`,
    );
  if (
    parsed.search !== '' ||
    parsed.hash !== '' ||
    parsed.username !== '' ||
    parsed.password !== ''
  )
    bad(
      'publicUrl',
      `must have no query, fragment or credentials: links append '/#<kind>=<token>'`,
    );
  return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
}

function productName(value: string | undefined, url: string | null): string {
  if (value === undefined) return url === null ? AUTH_DEFAULTS.productName : new URL(url).host;
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > 100)
    bad(
      'productName',
      `must be a non-empty string of at most 100 characters; got ${kindOf(value)}`,
    );
  return value;
}

/** Key material for sealing TOTP secrets: a string, long enough to carry 256 bits. */
function factorKey(value: string | undefined): void {
  if (value === undefined) return;
  if (typeof value !== 'string') bad('factorKey', `must be a string; got ${kindOf(value)}`);
  if (value.length < 32)
    bad(
      'factorKey',
      `must be at least 32 characters of random (openssl rand -base64 32); got ${value.length}`,
    );
}

function limits(
  value: ThrottleLimits | undefined,
  fallback: ThrottleLimits,
  name: string,
): ThrottleLimits {
  if (value === undefined) return fallback;
  onlyKnown(object(value, name), LIMIT_NAMES, `${name}.`);
  if (!Number.isInteger(value.free) || !Number.isInteger(value.max) || value.max < 1)
    bad(name, 'needs integer free and max (max >= 1)');
  return value;
}

/** Validates options once, at construction: bad configuration fails at start-up. */
export function resolveOptions(options: AuthOptions): ResolvedAuthOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new TypeError(`createAuth: options must be an object; got ${kindOf(options)}`);
  onlyKnown(options, OPTION_NAMES, '', ALIASES);
  const d = AUTH_DEFAULTS;
  port(
    options.store,
    'store',
    "a Store such as sqliteStore('notbefore.db') or postgresStore(url)",
    STORE_METHODS,
  );
  port(options.feed, 'feed', 'a RevocationFeed such as redisFeed(url)', FEED_METHODS);
  if (options.keys !== undefined && !(options.keys instanceof Keyring))
    bad(
      'keys',
      `must be a Keyring such as Keyring.fromJwks(privateJwks); got ${kindOf(options.keys)}`,
    );
  if (options.clock !== undefined && typeof options.clock?.now !== 'function')
    bad('clock', `must be a Clock with now(); got ${kindOf(options.clock)}`);
  port(
    options.mailer,
    'mailer',
    "a Mailer such as smtpMailer('smtp://…', { from }) or logMailer()",
    MAILER_METHODS,
  );
  callback(options.isBreached, 'isBreached');
  callback(options.onError, 'onError');
  factorKey(options.factorKey);

  const accessTokenTtl = integer(options.accessTokenTtl, d.accessTokenTtl, 'accessTokenTtl', 1);
  const refreshAbsoluteTtl = seconds(
    options.refreshAbsoluteTtl,
    d.refreshAbsoluteTtl,
    'refreshAbsoluteTtl',
    1,
  );
  const refreshIdleTtl = seconds(options.refreshIdleTtl, d.refreshIdleTtl, 'refreshIdleTtl', 1);
  const clockSkew = seconds(options.clockSkew, d.clockSkew, 'clockSkew');
  if (clockSkew > MAX_CLOCK_SKEW_SECONDS)
    bad('clockSkew', `must be at most ${MAX_CLOCK_SKEW_SECONDS} s; got ${clockSkew}`);
  const p = object(options.password, 'password');
  onlyKnown(p, PASSWORD_NAMES, 'password.');
  const password = {
    minLength: integer(p.minLength, d.password.minLength, 'password.minLength', 8),
    maxLength: integer(p.maxLength, d.password.maxLength, 'password.maxLength', 64),
    memoryCost: integer(p.memoryCost, d.password.memoryCost, 'password.memoryCost', 8),
    timeCost: integer(p.timeCost, d.password.timeCost, 'password.timeCost', 1),
    parallelism: integer(p.parallelism, d.password.parallelism, 'password.parallelism', 1),
    allowWeakHash: flag(p.allowWeakHash, false, 'password.allowWeakHash'),
  };
  // ASVS 11.4.2 floor: m=19 MiB with t=2, or m=46 MiB with t=1.
  const strongEnough =
    (password.memoryCost >= 19_456 && password.timeCost >= 2) ||
    (password.memoryCost >= 47_104 && password.timeCost >= 1);
  if (!strongEnough && !password.allowWeakHash)
    bad('password', 'argon2id cost is below m=19456 KiB t=2 (set allowWeakHash only in tests)');
  if (password.maxLength < password.minLength) bad('password.maxLength', 'must be >= minLength');
  const t = object(options.throttle, 'throttle');
  onlyKnown(t, THROTTLE_NAMES, 'throttle.');
  const throttle: ThrottlePolicy = {
    windowSeconds: seconds(t.windowSeconds, d.throttle.windowSeconds, 'throttle.windowSeconds', 1),
    account: limits(t.account, d.throttle.account, 'throttle.account'),
    client: limits(t.client, d.throttle.client, 'throttle.client'),
  };
  const issuer = stringOrUri(options.issuer, d.issuer, 'issuer');
  const url = publicUrl(options.publicUrl, issuer);
  const requireVerifiedEmail = flag(
    options.requireVerifiedEmail,
    d.requireVerifiedEmail,
    'requireVerifiedEmail',
  );
  // Each of these would otherwise fail on the first request instead of at start-up.
  if (requireVerifiedEmail && options.mailer === undefined)
    bad('requireVerifiedEmail', 'needs a mailer: unverified users could never get their link');
  if (options.mailer !== undefined && url === null)
    bad('publicUrl', 'is needed with a mailer (or an http(s) issuer): mailed links point there');
  const list = (value: string[] | undefined, name: string): string[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
      bad(name, `must be an array of strings; got ${kindOf(value)}`);
    return [...value];
  };
  return {
    issuer,
    audience: stringOrUri(options.audience, d.audience, 'audience'),
    accessTokenTtl,
    refreshIdleTtl,
    refreshAbsoluteTtl,
    refreshReuseGrace: seconds(options.refreshReuseGrace, d.refreshReuseGrace, 'refreshReuseGrace'),
    reauthWindow: seconds(options.reauthWindow, d.reauthWindow, 'reauthWindow'),
    maxSessionsPerUser: integer(
      options.maxSessionsPerUser,
      d.maxSessionsPerUser,
      'maxSessionsPerUser',
      1,
    ),
    maxStaleness: seconds(options.maxStaleness, d.maxStaleness, 'maxStaleness'),
    failOpen: flag(options.failOpen, d.failOpen, 'failOpen'),
    clockSkew,
    requireVerifiedEmail,
    productName: productName(options.productName, url),
    publicUrl: url,
    hasMailer: options.mailer !== undefined,
    bannedPasswordWords: list(options.bannedPasswordWords, 'bannedPasswordWords'),
    throttle,
    password,
  };
}
