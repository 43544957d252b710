import { describe, expect, it } from 'vitest';
import { ownUrl, parseDatabase, parseServeArgs, UsageError } from '../../src/cli/args.js';
import { keysCommand } from '../../src/cli/keys.js';
import { parseInviteArgs } from '../../src/cli/users.js';

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
      publicUrl: undefined,
      smtp: undefined,
      mailFrom: undefined,
      requireVerifiedEmail: false,
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
        '--public-url',
        'https://app.example/',
        '--smtp',
        'smtps://u:p@mail.example',
        '--mail-from',
        'App <no-reply@app.example>',
        '--require-verified-email',
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
      publicUrl: 'https://app.example',
      smtp: 'smtps://u:p@mail.example',
      mailFrom: 'App <no-reply@app.example>',
      requireVerifiedEmail: true,
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
      ['--public-url', 'app.example'],
      ['--public-url', 'ftp://app.example'],
      ['--public-url', 'https://app.example/#x'],
      ['--smtp', 'http://mail.example', '--mail-from', 'a@b.c'],
      ['--smtp', 'smtp://mail.example'],
      ['--mail-from', 'a@b.c'],
      ['--smtp', 'smtp://mail.example', '--mail-from', 'nobody'],
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

describe('mail flags', () => {
  it('read NOTBEFORE_* like the others', () => {
    expect(
      parseServeArgs([], {
        NOTBEFORE_PUBLIC_URL: 'http://localhost:8080',
        NOTBEFORE_SMTP: 'smtp://127.0.0.1:2525',
        NOTBEFORE_MAIL_FROM: 'no-reply@example.com',
        NOTBEFORE_REQUIRE_VERIFIED_EMAIL: 'true',
      }),
    ).toMatchObject({
      publicUrl: 'http://localhost:8080',
      smtp: 'smtp://127.0.0.1:2525',
      mailFrom: 'no-reply@example.com',
      requireVerifiedEmail: true,
    });
  });

  it('a bad --smtp never repeats the URL, which may hold a password', () => {
    expect(() =>
      parseServeArgs(['--smtp', 'smtpx://u:hunter2@h', '--mail-from', 'a@b.c'], {}),
    ).toThrow(/^--smtp must be/);
    expect(() =>
      parseServeArgs(['--smtp', 'smtpx://u:hunter2@h', '--mail-from', 'a@b.c'], {}),
    ).not.toThrow(/hunter2/);
  });

  it('the own URL of a server: wildcard hosts become localhost, IPv6 gets brackets', () => {
    expect(ownUrl('127.0.0.1', 3000)).toBe('http://127.0.0.1:3000');
    expect(ownUrl('0.0.0.0', 80)).toBe('http://localhost:80');
    expect(ownUrl('::1', 3000)).toBe('http://[::1]:3000');
  });
});

describe('users invite arguments', () => {
  it('takes one email, roles, and the database, URL and mail flags', () => {
    expect(
      parseInviteArgs(
        [
          'invite',
          'ada@example.com',
          '--role',
          'admin',
          '--role',
          'editor',
          '--db',
          'postgres://db/x',
        ],
        {
          NOTBEFORE_PUBLIC_URL: 'https://app.example',
          NOTBEFORE_SMTP: 'smtp://m:25',
          NOTBEFORE_MAIL_FROM: 'a@b.c',
        },
      ),
    ).toEqual({
      email: 'ada@example.com',
      roles: ['admin', 'editor'],
      db: { kind: 'postgres', url: 'postgres://db/x' },
      publicUrl: 'https://app.example',
      smtp: 'smtp://m:25',
      mailFrom: 'a@b.c',
    });
  });

  it('defaults to the URL serve listens on, from the same variables', () => {
    expect(parseInviteArgs(['invite', 'a@b.c'], {})).toMatchObject({
      roles: [],
      db: { kind: 'sqlite', path: 'notbefore.db' },
      publicUrl: 'http://127.0.0.1:3000',
      smtp: undefined,
    });
    expect(
      parseInviteArgs(['invite', 'a@b.c'], { PORT: '8080', NOTBEFORE_HOST: '0.0.0.0' }),
    ).toMatchObject({
      publicUrl: 'http://localhost:8080',
    });
  });

  it('refuses mistakes with a UsageError', () => {
    for (const argv of [
      ['invite'],
      ['invite', 'a@b.c', 'd@e.f'],
      ['invite', 'nope'],
      ['invite', 'a@b.c', '--role', ''],
      ['invite', 'a@b.c', '--role', 'has space'],
      ['invite', 'a@b.c', '--smtp', 'smtp://m'],
      ['invite', 'a@b.c', '--bogus'],
      ['remove', 'a@b.c'],
    ]) {
      expect(() => parseInviteArgs(argv, {}), argv.join(' ')).toThrow(UsageError);
    }
    expect(parseInviteArgs([], {})).toBe('help');
    expect(parseInviteArgs(['invite', '--help'], {})).toBe('help');
  });
});
