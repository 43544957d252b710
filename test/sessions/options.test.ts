import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { memoryFeed } from '../../src/feeds/memory.js';
import { didYouMean } from '../../src/option-names.js';
import { createAuth } from '../../src/sessions/auth.js';
import { AUTH_DEFAULTS, resolveOptions } from '../../src/sessions/options.js';
import type { AuthOptions } from '../../src/sessions/types.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { Keyring } from '../../src/tokens/keyring.js';
import { CHEAP_HASH } from './helpers.js';

/** The TypeError createAuth throws for these options (fails the test if none). */
function refusal(options: unknown): TypeError {
  try {
    createAuth(options as AuthOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return error as TypeError;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe('createAuth options are checked at construction', () => {
  it('accepts every option AuthOptions declares, with valid values', async () => {
    // Required<>: an option added to AuthOptions must be added here, and is then proven accepted.
    const all: Required<AuthOptions> = {
      store: sqliteStore(':memory:'),
      feed: memoryFeed(),
      keys: Keyring.generate('EdDSA'),
      issuer: 'https://auth.example.com',
      audience: 'api',
      accessTokenTtl: 600,
      refreshIdleTtl: 3600,
      refreshAbsoluteTtl: 7200,
      refreshReuseGrace: 2.5,
      reauthWindow: 300,
      maxSessionsPerUser: 3,
      maxStaleness: 10,
      failOpen: true,
      clockSkew: 0,
      clock: manualClock(),
      mailer: { send: async () => {} },
      publicUrl: 'https://app.example.com/',
      requireVerifiedEmail: true,
      productName: 'Acme',
      password: { ...CHEAP_HASH, minLength: 10, maxLength: 100 },
      bannedPasswordWords: ['acme'],
      throttle: { windowSeconds: 60, account: { free: 1, max: 2 }, client: { free: 3, max: 4 } },
      isBreached: async () => false,
      onError: () => {},
      factorKey: 'k'.repeat(44),
    };
    const auth = createAuth(all);
    expect(auth.options).toMatchObject({
      issuer: 'https://auth.example.com',
      audience: 'api',
      accessTokenTtl: 600,
      failOpen: true,
      clockSkew: 0,
      throttle: { windowSeconds: 60, account: { free: 1, max: 2 } },
      publicUrl: 'https://app.example.com',
      requireVerifiedEmail: true,
      productName: 'Acme',
      hasMailer: true,
    });
    await auth.close();
    await all.store.close();
  });

  it('takes an option given as undefined as not given', () => {
    // As a spread of optional settings gives them (`{ ...base, feed: undefined }`).
    const given = { feed: undefined, issuer: undefined, failOpen: undefined };
    const resolved = resolveOptions(given as unknown as AuthOptions);
    expect(resolved.issuer).toBe(AUTH_DEFAULTS.issuer);
    expect(resolved.failOpen).toBe(false);
  });

  it('refuses an unknown option by name, with a "did you mean" for a near miss', () => {
    expect(refusal({ accesTokenTtl: 300 }).message).toBe(
      'createAuth: unknown option accesTokenTtl (did you mean accessTokenTtl?)',
    );
    expect(refusal({ access_token_ttl: 300 }).message).toMatch(/did you mean accessTokenTtl\?/);
    expect(refusal({ audiance: 'api' }).message).toMatch(/unknown option audiance .*audience\?/);
    expect(refusal({ iss: 'https://a.example' }).message).toMatch(/did you mean issuer\?/);
    expect(refusal({ password: { ...CHEAP_HASH, minLenght: 12 } }).message).toBe(
      'createAuth: unknown option password.minLenght (did you mean password.minLength?)',
    );
    expect(refusal({ throttle: { windowSecond: 60 } }).message).toMatch(
      /unknown option throttle\.windowSecond \(did you mean throttle\.windowSeconds\?\)/,
    );
    expect(refusal({ throttle: { account: { free: 1, max: 2, mix: 3 } } }).message).toMatch(
      /unknown option throttle\.account\.mix/,
    );
    // Nothing close: no guess rather than a wrong one.
    expect(refusal({ frobnicate: true }).message).toBe('createAuth: unknown option frobnicate');
  });

  it('guesses only names that are close', () => {
    const known = ['issuer', 'audience', 'store', 'feed', 'keys', 'clock'];
    expect(didYouMean('isuser', known)).toBe('issuer');
    expect(didYouMean('Store', known)).toBe('store');
    expect(didYouMean('fed', known)).toBe('feed');
    expect(didYouMean('zzzz', known)).toBeUndefined();
    expect(didYouMean('lock', known)).toBe('clock');
    expect(didYouMean('everything', known)).toBeUndefined();
  });

  it('a store that is not a Store says what to pass and what it got, never the string itself', () => {
    expect(refusal({ store: 'notbefore.db' }).message).toBe(
      "createAuth: store must be a Store such as sqliteStore('notbefore.db') or postgresStore(url); got a string",
    );
    const url = refusal({ store: 'postgres://ann:hunter2@db.example/app' }).message;
    expect(url).not.toContain('hunter2');
    expect(refusal({ store: sqliteStore }).message).toMatch(
      /store must be a Store .*got a function$/,
    );
    expect(refusal({ store: Promise.resolve({}) }).message).toMatch(/got a Promise/);
    expect(refusal({ store: { init: async () => {} } }).message).toMatch(
      /got an object without close\(\), getOrCreateSecret\(\), /,
    );
    expect(refusal({ store: null }).message).toMatch(/store must be a Store .*got null$/);
  });

  it('a feed that is not a RevocationFeed is refused the same way', () => {
    expect(refusal({ feed: 'redis://:s3cret@127.0.0.1:6379' }).message).toBe(
      'createAuth: feed must be a RevocationFeed such as redisFeed(url); got a string',
    );
    const { confirmedAt: _, ...withoutConfirmedAt } = memoryFeed();
    expect(refusal({ feed: withoutConfirmedAt }).message).toMatch(
      /feed must be a RevocationFeed .*got an object without confirmedAt\(\)$/,
    );
  });

  it('wrong types throw naming the option and what was given', () => {
    const cases: [AuthOptions | Record<string, unknown>, RegExp][] = [
      [
        { accessTokenTtl: '900' },
        /^createAuth: accessTokenTtl must be an integer >= 1; got a string$/,
      ],
      [{ refreshIdleTtl: -1 }, /^createAuth: refreshIdleTtl must be .* >= 1; got -1$/],
      [{ maxStaleness: Number.NaN }, /^createAuth: maxStaleness must be .*; got NaN$/],
      // "false" as a string would be truthy: failOpen must not turn on by accident.
      [{ failOpen: 'false' }, /^createAuth: failOpen must be true or false; got a string$/],
      [
        { password: { ...CHEAP_HASH, allowWeakHash: 'yes' } },
        /password\.allowWeakHash must be true or false/,
      ],
      [{ password: 'hunter2' }, /^createAuth: password must be an object; got a string$/],
      [{ throttle: [] }, /^createAuth: throttle must be an object; got an array$/],
      [{ keys: 'secret' }, /^createAuth: keys must be a Keyring .*; got a string$/],
      [{ keys: Keyring.generate('EdDSA').toPrivateJwks() }, /^createAuth: keys must be a Keyring/],
      [{ clock: () => 1 }, /^createAuth: clock must be a Clock with now\(\); got a function$/],
      [{ onError: 'log' }, /^createAuth: onError must be a function; got a string$/],
      [{ isBreached: true }, /^createAuth: isBreached must be a function; got true$/],
      [
        { mailer: { sendMail: () => {} } },
        /^createAuth: mailer must be a Mailer .*without send\(\)$/,
      ],
      [
        { publicUrl: 'app.example.com' },
        /^createAuth: publicUrl must be an absolute http\(s\) URL/,
      ],
      [
        { publicUrl: 'javascript:alert(1)' },
        /^createAuth: publicUrl must be an absolute http\(s\) URL/,
      ],
      [{ publicUrl: 'https://app.example.com/#x' }, /^createAuth: publicUrl must have no query/],
      [{ requireVerifiedEmail: 'yes' }, /^createAuth: requireVerifiedEmail must be true or false/],
      [{ requireVerifiedEmail: true }, /^createAuth: requireVerifiedEmail needs a mailer/],
      [{ mailer: { send: async () => {} } }, /^createAuth: publicUrl is needed with a mailer/],
      [{ productName: '' }, /^createAuth: productName must be a non-empty string/],
      // Signing up no longer grants roles by address (ASVS 6.3.2): invitations do.
      [{ adminEmails: ['a@example.test'] }, /^createAuth: unknown option adminEmails/],
      [{ clockSkew: 301 }, /^createAuth: clockSkew must be at most 300 s; got 301$/],
      [{ issuer: 42 }, /^createAuth: issuer must be a string; got 42$/],
      [{ factorKey: 'short' }, /^createAuth: factorKey must be at least 32 characters/],
      [{ factorKey: 42 }, /^createAuth: factorKey must be a string; got 42$/],
    ];
    for (const [options, message] of cases) expect(refusal(options).message).toMatch(message);
    expect(refusal(null).message).toBe('createAuth: options must be an object; got null');
  });

  it('publicUrl defaults to an http(s) issuer; productName to its host', () => {
    expect(resolveOptions({ issuer: 'https://auth.example.com/' })).toMatchObject({
      publicUrl: 'https://auth.example.com',
      productName: 'auth.example.com',
    });
    expect(resolveOptions({})).toMatchObject({ publicUrl: null, productName: 'notbefore' });
    expect(resolveOptions({ publicUrl: 'http://localhost:3000/app/' }).publicUrl).toBe(
      'http://localhost:3000/app',
    );
  });

  it('an issuer or audience must be a StringOrURI (RFC 7519 §2)', () => {
    for (const issuer of [
      'not a url',
      ' https://auth.example.com',
      'https://auth.example.com\n',
      'auth\u0000service',
      'auth\u00a0service',
      'http://',
      'https://auth example.com',
      ':nothing-before-the-colon',
    ]) {
      expect(refusal({ issuer }).message).toMatch(/^createAuth: issuer must be a StringOrURI/);
    }
    expect(refusal({ issuer: 'not a url' }).message).toBe(
      "createAuth: issuer must be a StringOrURI (RFC 7519 §2) such as 'https://auth.example.com': 'not a url' contains whitespace or control characters",
    );
    expect(refusal({ issuer: 'a\nb' }).message).toContain("'a\\nb'");
    expect(refusal({ issuer: 'http://' }).message).toMatch(
      /contains ':' but is not an absolute URL$/,
    );
    expect(refusal({ audience: 'my api' }).message).toMatch(
      /^createAuth: audience must be a StringOrURI/,
    );
    for (const issuer of [
      'notbefore',
      'https://auth.example.com',
      'https://auth.example.com:8443/tenant/1',
      'urn:example:auth',
      'auth-service.internal',
    ]) {
      expect(resolveOptions({ issuer }).issuer).toBe(issuer);
    }
    expect(resolveOptions({}).issuer).toBe('notbefore');
    expect(resolveOptions({}).audience).toBe('notbefore');
  });
});
