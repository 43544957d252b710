import { randomBytes } from 'node:crypto';
import { AuthError } from '../errors.js';
import type { StoredTotp, StoredUser } from '../stores/port.js';
import type { AuthContext } from './context.js';
import {
  MAX_OTP_LENGTH,
  matchTotpStep,
  openSecret,
  readOtp,
  sealingKey,
  sealSecret,
} from './totp.js';

/** The store secret TOTP secrets are sealed with when `factorKey` is not given. */
export const FACTOR_KEK = 'factor-kek';

/** `amr` of a password sign-in, and of one with a TOTP or recovery code too (RFC 8176). */
export const AMR_PASSWORD: readonly string[] = ['pwd'];
/**
 * A recovery code counts as `otp` as well: RFC 8176 has no value of its own for it, and it
 * is a one-time password (NIST's "look-up secret", something the user has).
 */
export const AMR_PASSWORD_OTP: readonly string[] = ['pwd', 'otp', 'mfa'];

/**
 * Whether a sign-in with this `amr` proved more than one factor: a password and a code
 * (`mfa`), or a passkey with user verification (a key the user has, unlocked by a PIN or
 * a biometric: `hwk`/`swk` with `user`).
 */
export function isMultiFactor(amr: readonly string[]): boolean {
  return (
    amr.includes('mfa') || (amr.includes('user') && (amr.includes('hwk') || amr.includes('swk')))
  );
}

/** An `otp` argument: absent, or a string no longer than any code. */
export function optionalOtp(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > MAX_OTP_LENGTH)
    throw new AuthError('VALIDATION_FAILED', 'Invalid otp.');
  return value;
}

const wrongCode = (): never => {
  throw new AuthError('INVALID_CREDENTIALS', 'The code is wrong or was already used.');
};

/**
 * The second-factor checks the password checks call: whether an account has TOTP, and
 * spending a code (TOTP step or recovery code, each accepted once). Also the sealing key of
 * TOTP secrets, read from the store once.
 */
export function factorChecks(ctx: AuthContext) {
  let key: Promise<Buffer> | undefined;

  const sealKey = (): Promise<Buffer> => {
    const given = ctx.options.factorKey;
    if (given !== undefined) return Promise.resolve(sealingKey(given));
    key ??= ctx
      .store()
      .getOrCreateSecret(FACTOR_KEK, randomBytes(32).toString('base64url'))
      .then(sealingKey);
    return key.catch((error: unknown) => {
      key = undefined;
      throw error;
    });
  };

  /** The user's TOTP when confirmed (a pending one is no factor yet), else null. */
  const confirmedTotp = async (userId: string): Promise<StoredTotp | null> => {
    const totp = await ctx.store().getTotp(userId);
    return totp === null || totp.confirmedAt === null ? null : totp;
  };

  /**
   * Spends `otp` for the user: a TOTP code of `totp` (its step, once) or an unused recovery
   * code. False when it is neither.
   */
  const spendOtp = async (user: StoredUser, totp: StoredTotp, otp: string): Promise<boolean> => {
    const read = readOtp(otp);
    if (read === null) return false;
    const store = ctx.store();
    if (read.kind === 'recovery') return store.useRecoveryCode(user.id, read.hash, ctx.clock.now());
    const secret = openSecret(await sealKey(), user.id, totp.secret);
    const step = await matchTotpStep(secret, read.code, ctx.clock.now());
    return step !== null && (await store.useTotpStep(user.id, step));
  };

  /**
   * The second half of a sign-in or step-up whose password was right, inside its reserved
   * attempt: the `amr` to record. With TOTP on, an absent otp is MFA_REQUIRED and a wrong
   * one INVALID_CREDENTIALS; both leave the attempt counted.
   */
  const secondFactor = async (user: StoredUser, otp: string | undefined): Promise<string[]> => {
    const totp = await confirmedTotp(user.id);
    if (totp === null) return [...AMR_PASSWORD];
    if (otp === undefined)
      throw new AuthError('MFA_REQUIRED', 'Enter the code from your authenticator app.');
    if (!(await spendOtp(user, totp, otp))) wrongCode();
    return [...AMR_PASSWORD_OTP];
  };

  return {
    sealKey,
    seal: async (userId: string, secret: string) => sealSecret(await sealKey(), userId, secret),
    open: async (userId: string, sealed: string) => openSecret(await sealKey(), userId, sealed),
    confirmedTotp,
    spendOtp,
    secondFactor,
    wrongCode,
  };
}

export type FactorChecks = ReturnType<typeof factorChecks>;
