import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { isMultiFactor } from '../../src/sessions/factor-checks.js';
import {
  matchTotpStep,
  newRecoveryCodes,
  newTotpSecret,
  openSecret,
  otpauthUrl,
  readOtp,
  recoveryCodeHash,
  sealingKey,
  sealSecret,
  totpCode,
} from '../../src/sessions/totp.js';

/**
 * RFC 6238 Appendix B, the SHA-1 rows: the ASCII seed "12345678901234567890", T0 = 0,
 * X = 30 s, 8 digits. (Not among ../shared/vectors/, so copied from the RFC here.)
 */
const RFC6238_SHA1: ReadonlyArray<readonly [seconds: number, code: string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];
const RFC_SEED = Secret.fromLatin1('12345678901234567890').base32;

describe('TOTP (RFC 6238) through otpauth', () => {
  it('the SHA-1 test vectors of RFC 6238 Appendix B, at 8 digits', () => {
    for (const [seconds, code] of RFC6238_SHA1) {
      const generated = TOTP.generate({
        secret: Secret.fromBase32(RFC_SEED),
        algorithm: 'SHA1',
        digits: 8,
        period: 30,
        timestamp: seconds * 1000,
      });
      expect(generated, `T = ${seconds}`).toBe(code);
    }
  });

  it('the library makes and accepts the 6-digit codes of those vectors (the low 6 digits)', async () => {
    for (const [seconds, code] of RFC6238_SHA1) {
      const six = code.slice(-6);
      expect(await totpCode(RFC_SEED, seconds * 1000)).toBe(six);
      const step = Math.floor(seconds / 30);
      expect(await matchTotpStep(RFC_SEED, six, seconds * 1000)).toBe(step);
    }
  });

  it('±1 step of drift: the step of the code is returned, ±2 is refused', async () => {
    const at = 1111111111_000;
    const step = Math.floor(at / 30_000);
    for (const delta of [-1, 0, 1]) {
      const code = await totpCode(RFC_SEED, at + delta * 30_000);
      expect(await matchTotpStep(RFC_SEED, code, at)).toBe(step + delta);
    }
    for (const delta of [-2, 2]) {
      const code = await totpCode(RFC_SEED, at + delta * 30_000);
      expect(await matchTotpStep(RFC_SEED, code, at)).toBeNull();
    }
  });

  it('anything but six ASCII digits is no code (and never throws)', async () => {
    for (const bad of ['', '12345', '1234567', '１２３４５６', '12345\u00e9', 'abcdef', '12 345'])
      expect(await matchTotpStep(RFC_SEED, bad, 59_000)).toBeNull();
  });

  it('new secrets are 160 random bits; the otpauth URL carries SHA-1, 6 digits, 30 s', async () => {
    const a = await newTotpSecret();
    const b = await newTotpSecret();
    expect(a).toMatch(/^[A-Z2-7]{32}$/);
    expect(a).not.toBe(b);
    const url = await otpauthUrl(a, 'auth.example.com', 'ann@example.com');
    const parsed = new URL(url);
    expect(url.startsWith('otpauth://totp/auth.example.com:ann%40example.com?')).toBe(true);
    expect(parsed.searchParams.get('secret')).toBe(a);
    expect(parsed.searchParams.get('algorithm')).toBe('SHA1');
    expect(parsed.searchParams.get('digits')).toBe('6');
    expect(parsed.searchParams.get('period')).toBe('30');
  });
});

describe('recovery codes', () => {
  it('ten distinct codes of 120 bits (ASVS 6.5.2: 112 or more), in groups of four', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    // 24 symbols of a 32-letter alphabet: 24 × 5 = 120 bits.
    for (const code of codes)
      expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){5}$/);
    // Every symbol is used in every position: the bits are not constant anywhere.
    const many = Array.from({ length: 60 }, () => newRecoveryCodes()).flat();
    for (let i = 0; i < 24; i++) {
      const seen = new Set(many.map((c) => c.replace(/-/g, '')[i]));
      expect(seen.size, `position ${i}`).toBeGreaterThan(24);
    }
  });

  it('codes of 0.3.0 (16 symbols) are still read, so nobody is locked out by the upgrade', () => {
    expect(recoveryCodeHash('abcd-efgh-jkmn-pqrs')).toMatch(/^[0-9a-f]{64}$/);
    for (const bad of ['abcd-efgh-jkmn-pqr', 'abcd-efgh-jkmn-pqrs-t', 'abcd-efgh-jkmn-pqrs-tvwx'])
      expect(recoveryCodeHash(bad), bad).toBeNull();
  });

  it('hashed from a canonical form: case, spaces, dashes and look-alike letters do not matter', () => {
    const [code] = newRecoveryCodes();
    const hash = recoveryCodeHash(code!);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(recoveryCodeHash(code!.toUpperCase().replace(/-/g, ' '))).toBe(hash);
    expect(recoveryCodeHash('0000-1111-2222-3331-4444-5555')).toBe(
      recoveryCodeHash('oooo-iiii-2222-333l-4444-5555'),
    );
    const bads = [
      '',
      'short',
      `${code}0`,
      'uuuu-uuuu-uuuu-uuuu-uuuu-uuuu',
      '0000-0000-0000-0000-0000-000!',
    ];
    for (const bad of bads) expect(recoveryCodeHash(bad), bad).toBeNull();
  });

  it('an otp is read as a TOTP code or a recovery code', () => {
    const [code] = newRecoveryCodes();
    expect(readOtp(' 123 456 ')).toEqual({ kind: 'totp', code: '123456' });
    expect(readOtp(code!)).toEqual({ kind: 'recovery', hash: recoveryCodeHash(code!) });
    expect(readOtp('1234567')).toBeNull();
  });
});

describe('TOTP secrets sealed at rest', () => {
  const key = sealingKey(randomBytes(32).toString('base64url'));

  it('AES-256-GCM: opens with the key and the user it was sealed for, nothing else', () => {
    const sealed = sealSecret(key, 'user-1', 'JBSWY3DPEHPK3PXP');
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(sealSecret(key, 'user-1', 'JBSWY3DPEHPK3PXP')).not.toBe(sealed); // a fresh IV
    expect(openSecret(key, 'user-1', sealed)).toBe('JBSWY3DPEHPK3PXP');
    // Copied onto another user's row, it does not open.
    expect(() => openSecret(key, 'user-2', sealed)).toThrow(/does not open/);
    expect(() =>
      openSecret(sealingKey('another key of enough length.....'), 'user-1', sealed),
    ).toThrow(/factorKey changed/);
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    raw[14] = (raw[14] ?? 0) ^ 1;
    expect(() => openSecret(key, 'user-1', `v1.${raw.toString('base64url')}`)).toThrow();
    expect(() => openSecret(key, 'user-1', 'plain')).toThrow(/not in a known format/);
  });
});

describe('amr: which sign-ins were multi-factor', () => {
  it('a password and a code, or a passkey with user verification', () => {
    expect(isMultiFactor(['pwd'])).toBe(false);
    expect(isMultiFactor(['pwd', 'otp', 'mfa'])).toBe(true);
    expect(isMultiFactor(['hwk', 'user'])).toBe(true);
    expect(isMultiFactor(['swk', 'user'])).toBe(true);
    expect(isMultiFactor(['swk'])).toBe(false);
  });
});
