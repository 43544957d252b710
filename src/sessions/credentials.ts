import { AuthError } from '../errors.js';
import type { StoredUser } from '../stores/port.js';
import type { AuthContext } from './context.js';
import { factorChecks, isMultiFactor, optionalOtp } from './factor-checks.js';
import { assertPasswordInput, assertStrongPassword, contextWords } from './passwords.js';
import type { StepUp } from './types.js';
import { assertId, assertObject } from './validate.js';

/**
 * Checking credentials: sign-in (password, and the second factor when the account has
 * one), step-up (ASVS 7.5.2), and accepting a new password.
 */
export function credentialChecks(ctx: AuthContext) {
  const { resolved, hasher, clock } = ctx;
  const isBreached = ctx.options.isBreached;
  const factors = factorChecks(ctx);

  /**
   * One attempt against the account's (and the client's) limit. The slot is taken before
   * `check` runs and given back only when it passes, so concurrent guesses, of passwords
   * or of codes, cannot outrun the limit.
   */
  const attempt = async <T>(
    account: string,
    clientKey: string | undefined,
    check: () => Promise<T>,
  ): Promise<T> => {
    const release = await ctx.throttle().reserve({ account, clientKey });
    const result = await check();
    await release();
    return result;
  };

  const passwordRight = async (user: StoredUser | null, password: string) => {
    // An unknown account costs one hash too, so timing does not tell which accounts exist.
    if (user === null) await hasher.burn(password);
    const ok = user !== null && (await hasher.verify(user.passwordHash, password));
    if (!ok || user === null)
      throw new AuthError('INVALID_CREDENTIALS', 'The email or password is wrong.');
    return user;
  };

  /** The password alone (a password change checks the current one this way). */
  const checkPassword = (
    user: StoredUser | null,
    password: string,
    clientKey: string | undefined,
    account: string,
  ): Promise<StoredUser> => attempt(account, clientKey, () => passwordRight(user, password));

  /**
   * A sign-in: the password, then, on an account with TOTP, `otp`, in one attempt. Only a
   * right password learns that a code is needed (MFA_REQUIRED); that answer and a wrong
   * code leave the attempt counted like a wrong password. Resolves to the user and the
   * session's `amr`.
   */
  const checkSignIn = (
    user: StoredUser | null,
    password: string,
    clientKey: string | undefined,
    account: string,
    otp: string | undefined,
  ): Promise<{ user: StoredUser; amr: string[] }> =>
    attempt(account, clientKey, async () => {
      const right = await passwordRight(user, password);
      return { user: right, amr: await factors.secondFactor(right, otp) };
    });

  const checkNewPassword = async (password: unknown, email: string): Promise<string> => {
    assertPasswordInput(password, resolved.password);
    assertStrongPassword(
      password,
      resolved.password,
      contextWords(resolved.issuer, email, resolved.bannedPasswordWords),
    );
    if (isBreached !== undefined) {
      let breached = false;
      try {
        breached = await isBreached(password);
      } catch {
        breached = false;
      }
      if (breached)
        throw new AuthError('WEAK_PASSWORD', 'This password appears in a known data breach.');
    }
    return hasher.hash(password);
  };

  /**
   * ASVS 7.5.2: a sign-in within reauthWindow, or the password again. On an account with
   * TOTP the password needs `otp` too (MFA_REQUIRED without), and a recent sign-in counts
   * only if it was itself multi-factor (read from the session, so `sid` is needed). With
   * `otpAlways` (removing TOTP) a code is needed whatever the proof: a stolen session
   * within its window cannot remove the factor.
   */
  const stepUp = async (
    user: StoredUser,
    proof: StepUp,
    options: { otpAlways?: boolean } = {},
  ): Promise<void> => {
    assertObject(proof, 'step-up');
    const otp = optionalOtp(proof.otp);
    const now = clock.now();
    const windowMs = resolved.reauthWindow * 1000;
    const totp = await factors.confirmedTotp(user.id);
    if (proof.password !== undefined) {
      assertPasswordInput(proof.password, resolved.password);
      if (totp === null) await checkPassword(user, proof.password, undefined, user.email);
      else await checkSignIn(user, proof.password, undefined, user.email, otp);
      return;
    }
    let recent = false;
    if (proof.sid !== undefined) {
      assertId(proof.sid, 'sid');
      const session = await ctx.store().getSession(proof.sid);
      recent =
        session !== null &&
        session.userId === user.id &&
        session.revokedAt === null &&
        now - session.authTime <= windowMs &&
        (totp === null || isMultiFactor(session.amr));
    } else if (proof.authTime !== undefined) {
      if (typeof proof.authTime !== 'number' || !Number.isFinite(proof.authTime))
        throw new AuthError('VALIDATION_FAILED', 'Invalid authTime.');
      // A bare auth_time says nothing of the factors: it counts only without TOTP.
      recent = totp === null && now - proof.authTime * 1000 <= windowMs;
    }
    if (!recent)
      throw new AuthError(
        'REAUTHENTICATION_REQUIRED',
        totp === null
          ? 'Enter your password again to continue.'
          : 'Enter your password and a code again to continue.',
      );
    if (options.otpAlways === true && totp !== null) await checkOtp(user, otp);
  };

  /** A code on its own (the password proven otherwise), as one throttled attempt. */
  const checkOtp = async (user: StoredUser, otp: string | undefined): Promise<void> => {
    // No code, no guess: nothing to count.
    if (otp === undefined)
      throw new AuthError('MFA_REQUIRED', 'Enter the code from your authenticator app.');
    await attempt(user.email, undefined, async () => {
      const totp = await factors.confirmedTotp(user.id);
      if (totp !== null && !(await factors.spendOtp(user, totp, otp))) factors.wrongCode();
    });
  };

  const userOrThrow = async (userId: unknown): Promise<StoredUser> => {
    assertId(userId, 'userId');
    const user = await ctx.store().getUser(userId);
    if (user === null) throw new AuthError('NOT_FOUND', 'No such user.');
    return user;
  };

  return {
    checkPassword,
    checkSignIn,
    checkNewPassword,
    stepUp,
    checkOtp,
    attempt,
    userOrThrow,
    factors,
  };
}

export type CredentialChecks = ReturnType<typeof credentialChecks>;
