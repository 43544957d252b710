import { describe, expect, it } from 'vitest';
import { parseDatabase, parseServeArgs, UsageError } from '../../src/cli/args.js';
import { keysCommand } from '../../src/cli/keys.js';

describe('serve arguments', () => {
  it('has the contract defaults', () => {
    expect(parseServeArgs([], {})).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      db: { kind: 'sqlite', path: 'notbefore.db' },
      alg: 'EdDSA',
      failOpen: false,
      trustProxy: false,
      rateLimit: 10,
      adminEmails: [],
    });
  });

  it('reads every flag, flags winning over NOTBEFORE_* and PORT', () => {
    const env = {
      PORT: '4000',
      NOTBEFORE_DB: 'postgres://u@db/x',
      NOTBEFORE_ADMIN_EMAIL: 'a@x.io, b@x.io',
      NOTBEFORE_FAIL_OPEN: 'true',
    };
    expect(parseServeArgs([], env)).toMatchObject({
      port: 4000,
      db: { kind: 'postgres', url: 'postgres://u@db/x' },
      adminEmails: ['a@x.io', 'b@x.io'],
      failOpen: true,
    });
    const config = parseServeArgs(
      [
        '--port',
        '0',
        '--host',
        '0.0.0.0',
        '--db',
        'sqlite::memory:',
        '--redis',
        'redis://127.0.0.1:6379',
        '--alg',
        'HS256',
        '--issuer',
        'https://auth.example',
        '--access-token-ttl',
        '60',
        '--max-staleness',
        '3',
        '--fail-open',
        '--rate-limit',
        '0',
        '--trust-proxy',
        '--admin-email',
        'c@x.io',
        '--admin-email',
        'd@x.io',
        '--keys',
        'k.json',
      ],
      env,
    );
    expect(config).toEqual({
      port: 0,
      host: '0.0.0.0',
      db: { kind: 'sqlite', path: ':memory:' },
      redis: 'redis://127.0.0.1:6379',
      alg: 'HS256',
      issuer: 'https://auth.example',
      accessTokenTtl: 60,
      maxStaleness: 3,
      failOpen: true,
      rateLimit: 0,
      trustProxy: true,
      adminEmails: ['c@x.io', 'd@x.io'],
      keys: 'k.json',
      logLevel: 'info',
    });
    expect(parseServeArgs(['--help'], {})).toBe('help');
  });

  it('refuses bad values with a UsageError', () => {
    for (const argv of [
      ['--port', '-1'],
      ['--port', '70000'],
      ['--alg', 'RS256'],
      ['--db', 'mysql://x'],
      ['--redis', 'http://x'],
      ['--rate-limit', 'lots'],
      ['--admin-email', 'nope'],
      ['--bogus'],
      ['stray'],
    ]) {
      expect(() => parseServeArgs(argv, {}), argv.join(' ')).toThrow(UsageError);
    }
    expect(() => parseServeArgs([], { NOTBEFORE_TRUST_PROXY: 'maybe' })).toThrow(UsageError);
    expect(() => parseDatabase('sqlite:')).toThrow(UsageError);
  });
});

describe('keys generate', () => {
  it('prints a private JWKS for the chosen algorithm', () => {
    const ed = JSON.parse(keysCommand(['generate']));
    expect(ed.keys[0]).toMatchObject({ alg: 'EdDSA', d: expect.any(String) });
    expect(JSON.parse(keysCommand(['generate', '--alg', 'HS256'])).keys[0]).toMatchObject({
      alg: 'HS256',
      k: expect.any(String),
    });
    expect(() => keysCommand(['generate', '--alg', 'RS256'])).toThrow(UsageError);
    expect(() => keysCommand(['rotate'])).toThrow(UsageError);
  });
});
