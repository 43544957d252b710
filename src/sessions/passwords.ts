import { type Algorithm, hash, parseOptions, verify } from '@node-rs/argon2';
import { AuthError } from '../errors.js';
import { COMMON_PASSWORDS } from './common-passwords.js';

/**
 * argon2id at OWASP's current recommendation (m=19 MiB, t=2, p=1), the ASVS 11.4.2
 * floor. Tests pass cheaper parameters explicitly through `passwordHasher({ … })`.
 */
export const DEFAULT_HASH_PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
export const DEFAULT_MIN_PASSWORD_LENGTH = 8;
/** Bounded so a huge input cannot make the KDF burn memory and CPU (checked before hashing). */
export const DEFAULT_MAX_PASSWORD_LENGTH = 512;
/** 4 bytes per code point at most, so a length limit in code points also bounds the bytes. */
const MAX_UTF8_BYTES_PER_CHAR = 4;
export const MAX_EMAIL_LENGTH = 254;

const ARGON2ID = 2 as Algorithm;

export interface HashParams {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hashed: string, password: string): Promise<boolean>;
  /** True when the stored hash was made with weaker parameters than the current ones. */
  needsRehash(hashed: string): boolean;
  /** Verifies against a fixed dummy hash so an unknown account costs the same as a known one. */
  burn(password: string): Promise<void>;
}

export function passwordHasher(params: HashParams): PasswordHasher {
  const options = { ...params, algorithm: ARGON2ID, outputLen: 32 };
  let dummy: Promise<string> | undefined;
  return {
    hash: (password) => hash(password, options),
    async verify(hashed, password) {
      try {
        return await verify(hashed, password);
      } catch {
        // A corrupt stored hash must read as a wrong password, never as a 500.
        return false;
      }
    },
    needsRehash(hashed) {
      try {
        const stored = parseOptions(hashed);
        return (
          stored.algorithm !== ARGON2ID ||
          stored.memoryCost < params.memoryCost ||
          stored.timeCost < params.timeCost ||
          stored.parallelism < params.parallelism
        );
      } catch {
        return true;
      }
    },
    async burn(password) {
      dummy ??= hash('notbefore dummy password', options);
      await verify(await dummy, password).catch(() => false);
    },
  };
}

export interface PasswordRules {
  minLength: number;
  maxLength: number;
}

/**
 * A lone surrogate (half of a UTF-16 pair). Encoding to UTF-8 turns every one of them into
 * U+FFFD, so '\uD800' and '\uDBFF' would hash, compare and store as the same value: a
 * password of them matches many others, an email of them collides with another's.
 * (In a `u` regex a well-formed pair is one code point and never matches.)
 */
const LONE_SURROGATE = /\p{Cs}/u;

/** True for text with no lone surrogates (String.prototype.isWellFormed, ES2024). */
export const isWellFormed = (value: string): boolean => !LONE_SURROGATE.test(value);

/** Code points, not UTF-16 units or bytes (ASVS 6.2.1: 8 emoji are 8 characters). */
function codePoints(value: string): number {
  let n = 0;
  for (const _ of value) n += 1;
  return n;
}

/**
 * Checks a password before it is hashed or set: type, upper bound and well-formed
 * Unicode (VALIDATION_FAILED, so a huge or ambiguous input never reaches the KDF). No
 * composition rules, no trimming, no case change (ASVS 6.2.5, 6.2.8); strength is
 * `assertStrongPassword`.
 */
export function assertPasswordInput(value: unknown, rules: PasswordRules): asserts value is string {
  if (typeof value !== 'string' || value.length === 0)
    throw new AuthError('VALIDATION_FAILED', 'A password is required.');
  if (value.length > rules.maxLength * 2 || codePoints(value) > rules.maxLength)
    throw new AuthError(
      'VALIDATION_FAILED',
      `A password has at most ${rules.maxLength} characters.`,
    );
  if (!isWellFormed(value))
    throw new AuthError('VALIDATION_FAILED', 'The password is not well-formed Unicode text.');
}

export function assertStrongPassword(
  password: string,
  rules: PasswordRules,
  contextWords: readonly string[],
): void {
  assertPasswordInput(password, rules);
  if (Buffer.byteLength(password, 'utf8') > rules.maxLength * MAX_UTF8_BYTES_PER_CHAR)
    throw new AuthError('VALIDATION_FAILED', 'The password is too long.');
  if (codePoints(password) < rules.minLength)
    throw new AuthError(
      'WEAK_PASSWORD',
      `A password needs at least ${rules.minLength} characters.`,
    );
  const folded = password.normalize('NFC').toLowerCase();
  if (COMMON_PASSWORDS.has(folded))
    throw new AuthError('WEAK_PASSWORD', 'This password is among the most common ones.');
  for (const word of contextWords) {
    if (word.length >= 4 && folded.includes(word))
      throw new AuthError('WEAK_PASSWORD', 'The password contains a word tied to this service.');
  }
}

const GENERIC_HOST_LABELS = new Set([
  'www',
  'localhost',
  'auth',
  'login',
  'api',
  'app',
  'accounts',
]);

/** Words a password may not contain (ASVS 6.1.2): the product, the issuer's host, the email's local part. */
export function contextWords(issuer: string, email: string, extra: readonly string[]): string[] {
  const words = new Set<string>(['notbefore']);
  try {
    const labels = new URL(issuer).hostname.toLowerCase().split('.');
    // The top-level domain and generic labels say nothing about this service.
    if (labels.length > 1) labels.pop();
    for (const label of labels) if (!GENERIC_HOST_LABELS.has(label)) words.add(label);
  } catch {
    words.add(issuer.toLowerCase());
  }
  const local = email.split('@')[0];
  if (local !== undefined) words.add(local.toLowerCase());
  for (const word of extra) words.add(word.normalize('NFC').toLowerCase());
  return [...words].filter((word) => word.length >= 4);
}

const EMAIL = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u;

/** Trims, NFC-normalises and lower-cases; VALIDATION_FAILED unless it looks like an address. */
export function normaliseEmail(value: unknown): string {
  if (typeof value !== 'string') throw new AuthError('VALIDATION_FAILED', 'An email is required.');
  if (value.length > MAX_EMAIL_LENGTH * 2)
    throw new AuthError('VALIDATION_FAILED', 'The email is too long.');
  if (!isWellFormed(value))
    throw new AuthError('VALIDATION_FAILED', 'The email is not well-formed Unicode text.');
  const email = value.trim().normalize('NFC').toLowerCase();
  if (email.length === 0 || email.length > MAX_EMAIL_LENGTH || !EMAIL.test(email))
    throw new AuthError('VALIDATION_FAILED', 'The email is not valid.');
  return email;
}
