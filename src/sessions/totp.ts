import {
  createCipheriv,
  createDecipheriv,
  createHash,
  hkdfSync,
  randomBytes,
  randomInt,
} from 'node:crypto';
import { requirePeers } from '../entries/peers.js';

/**
 * The parts of second factors that need no store: RFC 6238 codes (through `otpauth`, an
 * optional peer), recovery codes, and sealing a TOTP secret for the store.
 */

/** RFC 6238 as every authenticator app reads it from an otpauth URL. */
export const TOTP = { algorithm: 'SHA1', digits: 6, period: 30 } as const;
/** Steps of clock drift accepted on either side of the current one (±30 s). */
export const TOTP_DRIFT = 1;
/** RFC 4226 §4 asks for at least 128 bits and recommends 160. */
const SECRET_BYTES = 20;
export const RECOVERY_CODE_COUNT = 10;
/**
 * Crockford's base32 alphabet: no I, L, O or U, so a code read off paper is not misread;
 * what a user types as i, l or o is read as 1, 1 and 0.
 */
const RECOVERY_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/**
 * 24 characters of 5 bits: 120 random bits per code. ASVS 6.5.2 lets a lookup secret of at
 * least 112 bits be kept as a plain SHA-256; below that it asks for a salted password hash,
 * which would cost an argon2 run per stored code on every attempt.
 */
const RECOVERY_LENGTH = 24;
/** Codes issued by 0.3.0 (80 bits) keep working until the user makes new ones. */
const LEGACY_RECOVERY_LENGTH = 16;
const TOTP_CODE = /^\d{6}$/;
/** The longest otp input worth reading: a recovery code with separators and spaces. */
export const MAX_OTP_LENGTH = 64;

async function otpauth() {
  await requirePeers('TOTP', ['otpauth']);
  return import('otpauth');
}

/** A new random TOTP secret (base32, as authenticator apps take it). */
export async function newTotpSecret(): Promise<string> {
  const { Secret } = await otpauth();
  const bytes = randomBytes(SECRET_BYTES);
  return new Secret({
    buffer: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
  }).base32;
}

/** The `otpauth://totp/…` URL an authenticator app scans (as a QR code) to add the account. */
export async function otpauthUrl(secret: string, issuer: string, account: string): Promise<string> {
  const { TOTP: Totp } = await otpauth();
  return new Totp({ issuer, label: account, secret, ...TOTP }).toString();
}

/** The current code of `secret` at `nowMs` (for tests and tools; the library only checks). */
export async function totpCode(secret: string, nowMs: number): Promise<string> {
  const { TOTP: Totp, Secret } = await otpauth();
  return Totp.generate({ secret: Secret.fromBase32(secret), timestamp: nowMs, ...TOTP });
}

/**
 * The time step `code` belongs to, if it is the code of `secret` at `nowMs` or one step
 * either side (clock drift); else null. The caller spends the step (`useTotpStep`) so that
 * each code is accepted once.
 */
export async function matchTotpStep(
  secret: string,
  code: string,
  nowMs: number,
): Promise<number | null> {
  if (!TOTP_CODE.test(code)) return null;
  const { TOTP: Totp, Secret } = await otpauth();
  const delta = Totp.validate({
    token: code,
    secret: Secret.fromBase32(secret),
    timestamp: nowMs,
    window: TOTP_DRIFT,
    ...TOTP,
  });
  if (delta === null) return null;
  return Totp.counter({ period: TOTP.period, timestamp: nowMs }) + delta;
}

/** Ten new recovery codes, as shown to the user once (`xxxx-xxxx-xxxx-xxxx-xxxx-xxxx`). */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    let code = '';
    for (let i = 0; i < RECOVERY_LENGTH; i++) code += RECOVERY_ALPHABET[randomInt(32)];
    return code.match(/.{4}/g)!.join('-');
  });
}

/**
 * What the store keeps of a recovery code: SHA-256 (hex) of its canonical form. A fast
 * hash is enough here, unlike for passwords: each code carries 120 random bits, so a leaked
 * table can only be reversed by trying 2^120 candidates per code; a slow hash only helps
 * secrets that people choose. Null when `input` cannot be a recovery code.
 */
export function recoveryCodeHash(input: string): string | null {
  const canonical = input
    .toLowerCase()
    .replace(/[\s-]/g, '')
    .replace(/[il]/g, '1')
    .replace(/o/g, '0');
  if (canonical.length !== RECOVERY_LENGTH && canonical.length !== LEGACY_RECOVERY_LENGTH)
    return null;
  for (const c of canonical) if (!RECOVERY_ALPHABET.includes(c)) return null;
  return createHash('sha256').update(canonical).digest('hex');
}

/** An otp as the user typed it: a TOTP code (spaces allowed), a recovery code, or neither. */
export function readOtp(
  input: string,
): { kind: 'totp'; code: string } | { kind: 'recovery'; hash: string } | null {
  const digits = input.replace(/\s/g, '');
  if (TOTP_CODE.test(digits)) return { kind: 'totp', code: digits };
  const hash = recoveryCodeHash(input);
  return hash === null ? null : { kind: 'recovery', hash };
}

/**
 * The AES-256 key that seals TOTP secrets, derived from the key-encryption secret (the
 * store's `factor-kek`, or `AuthOptions.factorKey`) so that any string of enough entropy
 * will do.
 */
export function sealingKey(material: string): Buffer {
  return Buffer.from(hkdfSync('sha256', material, 'notbefore', 'totp-secret-sealing v1', 32));
}

const SEALED = /^v1\.([A-Za-z0-9_-]+)$/;

/**
 * AES-256-GCM with the user id as associated data: a sealed secret copied onto another
 * user's row does not open. `v1.` + base64url(iv ‖ ciphertext ‖ tag).
 */
export function sealSecret(key: Buffer, userId: string, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(userId));
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return `v1.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
}

/**
 * Opens what `sealSecret` made. Throws (an operator's error, not the user's) when it does
 * not open: another key (`factorKey` changed), or a row tampered with.
 */
export function openSecret(key: Buffer, userId: string, sealed: string): string {
  const match = SEALED.exec(sealed);
  const raw = match === null ? Buffer.alloc(0) : Buffer.from(match[1]!, 'base64url');
  if (raw.length < 12 + 16 + 1) throw new Error('A stored TOTP secret is not in a known format.');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(userId));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  try {
    return Buffer.concat([
      decipher.update(raw.subarray(12, raw.length - 16)),
      decipher.final(),
    ]).toString('utf8');
  } catch (error) {
    throw new Error(
      'A stored TOTP secret does not open with the current key (was factorKey changed?).',
      { cause: error },
    );
  }
}
