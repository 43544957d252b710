import { AuthError } from '../errors.js';
import type { StoredUser } from '../stores/port.js';
import type { AuthContext } from './context.js';
import { assertPasswordInput, assertStrongPassword, contextWords } from './passwords.js';
import type { StepUp } from './types.js';
import { assertId, assertObject } from './validate.js';

/** Checking passwords: sign-in, step-up (ASVS 7.5.2), and accepting a new one. */
export function credentialChecks(ctx: AuthContext) {
  const { resolved, hasher, clock } = ctx;
  const isBreached = ctx.options.isBreached;

  const checkPassword = async (
    user: StoredUser | null,
    password: string,
    clientKey: string | undefined,
    account: string,
  ): Promise<StoredUser> => {
    // The attempt is taken before the hash runs and stays counted unless the password was
    // right, so concurrent guesses cannot outrun the limit.
    const release = await ctx.throttle().reserve({ account, clientKey });
    // An unknown account costs one hash too, so timing does not tell which accounts exist.
    if (user === null) await hasher.burn(password);
    const ok = user !== null && (await hasher.verify(user.passwordHash, password));
    if (!ok || user === null)
      throw new AuthError('INVALID_CREDENTIALS', 'The email or password is wrong.');
    await release();
    return user;
  };

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

  /** ASVS 7.5.2: a password entered within reauthWindow, or the password again. */
  const stepUp = async (user: StoredUser, proof: StepUp): Promise<void> => {
    assertObject(proof, 'step-up');
    const now = clock.now();
    const windowMs = resolved.reauthWindow * 1000;
    if (proof.password !== undefined) {
      assertPasswordInput(proof.password, resolved.password);
      await checkPassword(user, proof.password, undefined, user.email);
      return;
    }
    if (proof.sid !== undefined) {
      assertId(proof.sid, 'sid');
      const session = await ctx.store().getSession(proof.sid);
      if (session !== null && session.userId === user.id && session.revokedAt === null) {
        if (now - session.authTime <= windowMs) return;
      }
    } else if (proof.authTime !== undefined) {
      if (typeof proof.authTime !== 'number' || !Number.isFinite(proof.authTime))
        throw new AuthError('VALIDATION_FAILED', 'Invalid authTime.');
      if (now - proof.authTime * 1000 <= windowMs) return;
    }
    throw new AuthError(
      'REAUTHENTICATION_REQUIRED',
      'Enter your password again to end other sessions.',
    );
  };

  const userOrThrow = async (userId: unknown): Promise<StoredUser> => {
    assertId(userId, 'userId');
    const user = await ctx.store().getUser(userId);
    if (user === null) throw new AuthError('NOT_FOUND', 'No such user.');
    return user;
  };

  return { checkPassword, checkNewPassword, stepUp, userOrThrow };
}

export type CredentialChecks = ReturnType<typeof credentialChecks>;
