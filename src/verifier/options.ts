import { didYouMean, kindOf } from '../option-names.js';
import { Keyring } from '../tokens/keyring.js';
import type { JwkSet } from '../tokens/types.js';
import { MAX_CLOCK_SKEW_SECONDS } from '../tokens/verify.js';
import type { VerifierOptions } from './index.js';

/** Complete by type: an option added to VerifierOptions must be added here too. */
const OPTION_NAMES = {
  jwks: true,
  feed: true,
  issuer: true,
  audience: true,
  maxStaleness: true,
  failOpen: true,
  maxTokenLifetime: true,
  clockSkew: true,
  jwksCooldown: true,
  jwksRefresh: true,
  readyTimeout: true,
  keyring: true,
  clock: true,
  fetch: true,
  onError: true,
} as const satisfies Record<keyof VerifierOptions, true>;

const ALIASES: Readonly<Record<string, keyof VerifierOptions>> = {
  iss: 'issuer',
  aud: 'audience',
  jwksUrl: 'jwks',
  jwksUri: 'jwks',
  keys: 'jwks',
};

function bad(why: string): never {
  throw new TypeError(`createVerifier: ${why}`);
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function number(value: unknown, name: string, min: number, max = Number.POSITIVE_INFINITY): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
    bad(
      `${name} must be a number of seconds ${max === Number.POSITIVE_INFINITY ? `>= ${min}` : `from ${min} to ${max}`}; got ${kindOf(value)}`,
    );
}

function callback(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'function')
    bad(`${name} must be a function; got ${kindOf(value)}`);
}

/**
 * Checks the options once, at construction, so a verifier that can never verify fails
 * here and not after ready() has waited out its timeout.
 */
export function checkVerifierOptions(options: VerifierOptions): void {
  if (typeof options !== 'object' || options === null)
    bad(`options must be an object; got ${kindOf(options)}`);
  for (const name of Object.keys(options)) {
    if (Object.hasOwn(OPTION_NAMES, name)) continue;
    const guess = didYouMean(name, Object.keys(OPTION_NAMES), ALIASES);
    bad(`unknown option ${name}${guess === undefined ? '' : ` (did you mean ${guess}?)`}`);
  }
  if (!nonEmpty(options.issuer))
    bad(`issuer is required: the iss of the auth servers' tokens; got ${kindOf(options.issuer)}`);
  const { audience } = options;
  const audiences: readonly unknown[] | undefined =
    typeof audience === 'string' ? [audience] : Array.isArray(audience) ? audience : undefined;
  if (audiences === undefined || audiences.length === 0 || !audiences.every(nonEmpty))
    bad(
      `audience is required: this service's name as the auth servers write it in aud (createAuth's audience option, default 'notbefore'); got ${kindOf(audience)}`,
    );
  const { jwks } = options;
  if (typeof jwks === 'string' || jwks instanceof URL) {
    if (!URL.canParse(jwks)) bad('jwks must be a JWKS URL (http or https) or a JWKS object');
  } else if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as JwkSet).keys)) {
    bad(`jwks must be a JWKS URL or a JWKS object { keys: [...] }; got ${kindOf(jwks)}`);
  } else {
    try {
      Keyring.fromPublicJwks(jwks, options.keyring ?? {});
    } catch (error) {
      bad(`jwks has no usable public key: ${error instanceof Error ? error.message : error}`);
    }
  }
  const feed = options.feed as unknown as Record<string, unknown> | null | undefined;
  const feedMethods = ['subscribe', 'start', 'confirmedAt'];
  if (
    typeof feed !== 'object' ||
    feed === null ||
    feedMethods.some((m) => typeof feed[m] !== 'function')
  )
    bad(`feed must be a RevocationFeed such as redisFeed(url); got ${kindOf(feed)}`);
  number(options.maxStaleness, 'maxStaleness', 0);
  number(options.maxTokenLifetime, 'maxTokenLifetime', 1);
  number(options.clockSkew, 'clockSkew', 0, MAX_CLOCK_SKEW_SECONDS);
  number(options.jwksCooldown, 'jwksCooldown', 0);
  number(options.jwksRefresh, 'jwksRefresh', 1);
  number(options.readyTimeout, 'readyTimeout', 0.001);
  if (options.failOpen !== undefined && typeof options.failOpen !== 'boolean')
    bad(`failOpen must be true or false; got ${kindOf(options.failOpen)}`);
  if (options.clock !== undefined && typeof options.clock?.now !== 'function')
    bad(`clock must be a Clock with now(); got ${kindOf(options.clock)}`);
  callback(options.fetch, 'fetch');
  callback(options.onError, 'onError');
}
