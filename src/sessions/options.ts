import {
  DEFAULT_HASH_PARAMS,
  DEFAULT_MAX_PASSWORD_LENGTH,
  DEFAULT_MIN_PASSWORD_LENGTH,
} from './passwords.js';
import { DEFAULT_THROTTLE, type ThrottlePolicy } from './throttle.js';
import type { AuthOptions, ResolvedAuthOptions } from './types.js';

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
  adminEmails: [] as string[],
  bannedPasswordWords: [] as string[],
  throttle: DEFAULT_THROTTLE,
  password: {
    minLength: DEFAULT_MIN_PASSWORD_LENGTH,
    maxLength: DEFAULT_MAX_PASSWORD_LENGTH,
    ...DEFAULT_HASH_PARAMS,
    allowWeakHash: false,
  },
} as const satisfies ResolvedAuthOptions;

function bad(name: string, why: string): never {
  throw new TypeError(`createAuth: ${name} ${why}`);
}

function seconds(value: number | undefined, fallback: number, name: string, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min)
    bad(name, `must be a number of seconds >= ${min}`);
  return value;
}

function integer(value: number | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) bad(name, `must be an integer >= ${min}`);
  return value;
}

function text(value: string | undefined, fallback: string, name: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) bad(name, 'must be a non-empty string');
  return value;
}

/** Validates options once, at construction: bad configuration fails at start-up. */
export function resolveOptions(options: AuthOptions): ResolvedAuthOptions {
  const d = AUTH_DEFAULTS;
  const accessTokenTtl = integer(options.accessTokenTtl, d.accessTokenTtl, 'accessTokenTtl', 1);
  const refreshAbsoluteTtl = seconds(
    options.refreshAbsoluteTtl,
    d.refreshAbsoluteTtl,
    'refreshAbsoluteTtl',
    1,
  );
  const refreshIdleTtl = seconds(options.refreshIdleTtl, d.refreshIdleTtl, 'refreshIdleTtl', 1);
  const p = options.password ?? {};
  const password = {
    minLength: integer(p.minLength, d.password.minLength, 'password.minLength', 8),
    maxLength: integer(p.maxLength, d.password.maxLength, 'password.maxLength', 64),
    memoryCost: integer(p.memoryCost, d.password.memoryCost, 'password.memoryCost', 8),
    timeCost: integer(p.timeCost, d.password.timeCost, 'password.timeCost', 1),
    parallelism: integer(p.parallelism, d.password.parallelism, 'password.parallelism', 1),
    allowWeakHash: p.allowWeakHash ?? false,
  };
  // ASVS 11.4.2 floor: m=19 MiB with t=2, or m=46 MiB with t=1.
  const strongEnough =
    (password.memoryCost >= 19_456 && password.timeCost >= 2) ||
    (password.memoryCost >= 47_104 && password.timeCost >= 1);
  if (!strongEnough && !password.allowWeakHash)
    bad('password', 'argon2id cost is below m=19456 KiB t=2 (set allowWeakHash only in tests)');
  if (password.maxLength < password.minLength) bad('password.maxLength', 'must be >= minLength');
  const t = options.throttle ?? {};
  const throttle: ThrottlePolicy = {
    windowSeconds: seconds(t.windowSeconds, d.throttle.windowSeconds, 'throttle.windowSeconds', 1),
    account: t.account ?? d.throttle.account,
    client: t.client ?? d.throttle.client,
  };
  for (const [name, limits] of [
    ['throttle.account', throttle.account],
    ['throttle.client', throttle.client],
  ] as const) {
    if (!Number.isInteger(limits.free) || !Number.isInteger(limits.max) || limits.max < 1)
      bad(name, 'needs integer free and max (max >= 1)');
  }
  const list = (value: string[] | undefined, name: string): string[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
      bad(name, 'must be an array of strings');
    return [...value];
  };
  return {
    issuer: text(options.issuer, d.issuer, 'issuer'),
    audience: text(options.audience, d.audience, 'audience'),
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
    failOpen: options.failOpen ?? d.failOpen,
    clockSkew: seconds(options.clockSkew, d.clockSkew, 'clockSkew'),
    adminEmails: list(options.adminEmails, 'adminEmails'),
    bannedPasswordWords: list(options.bannedPasswordWords, 'bannedPasswordWords'),
    throttle,
    password,
  };
}
