import { randomBytes } from 'node:crypto';
import { AuthError } from '../errors.js';
import type { StoredSession, StoredUser } from '../stores/port.js';
import { type AuthContext, type Live, publicUser } from './context.js';
import type { CredentialChecks } from './credentials.js';
import { optionalOtp } from './factor-checks.js';
import { assertPasswordInput, normaliseEmail } from './passwords.js';
import { hashRefreshToken, newRefreshToken, successorOf } from './refresh-tokens.js';
import type { Auth, SignedIn } from './types.js';
import {
  assertObject,
  assertRoles,
  isRefreshTokenShape,
  MAX_CLIENT_KEY_LENGTH,
  MAX_DEVICE_LENGTH,
  optionalText,
} from './validate.js';
import { mailSignupAttempt, mailVerificationLink } from './verification.js';

/**
 * Mints the access token of a sign-in, refresh or password change. The iat is the
 * store's, never raised to meet a cutoff: the store places every watermark above each iat
 * it has handed out, so a token from an operation that overlapped a revocation falls
 * under it. If this instance already knows that revocation, the token would be dead on
 * arrival: the operation fails with the revocation's reason instead.
 */
export function signIn(
  ctx: AuthContext,
  user: StoredUser,
  session: StoredSession,
  issuedAt: number,
  refreshToken: string,
): SignedIn {
  const iatMs = issuedAt;
  const expMs = Math.min(iatMs + ctx.ttlMs, session.absoluteExpiresAt);
  let signed: ReturnType<Live['signer']['sign']>;
  try {
    signed = ctx.live().signer.sign({
      sub: user.id,
      sid: session.sid,
      roles: user.roles,
      authTime: session.authTime,
      amr: session.amr,
      iatMs,
      expMs,
      emailVerified: user.emailVerified,
    });
  } catch (error) {
    // The stores refuse to mint when no whole second is left before the absolute end
    // (hasTimeLeft); should one not, the session is over all the same: never a 500.
    if (error instanceof RangeError)
      throw new AuthError('SESSION_EXPIRED', 'The session has expired; sign in again.');
    throw error;
  }
  const { token, claims } = signed;
  const reason = ctx.list.check(claims.sub, claims.sid, claims.jti, iatMs);
  if (reason !== null)
    throw new AuthError('TOKEN_REVOKED', 'A revocation overlapped this sign-in; try again.', {
      reason,
    });
  return {
    accessToken: token,
    refreshToken,
    expiresAt: Math.floor(claims.exp * 1000),
    refreshExpiresAt: Math.min(session.idleExpiresAt, session.absoluteExpiresAt),
    session: { sid: session.sid },
    user: publicUser(user),
    claims,
  };
}

/**
 * Opens a session for a user whose password (hash `passwordHash`) was just checked or set,
 * and mints its tokens. Refused when the password changed or the account was disabled
 * meanwhile (the store checks both in the same transaction).
 */
export async function openSession(
  ctx: AuthContext,
  user: StoredUser,
  input: {
    device: string | null;
    clientKey: string | null;
    passwordHash: string;
    /** How the user proved who they are (RFC 8176); a password alone by default. */
    amr?: string[];
  },
): Promise<SignedIn> {
  const { resolved, clock } = ctx;
  const refreshToken = newRefreshToken();
  const result = await ctx.store().createSession({
    sid: randomBytes(16).toString('base64url'),
    userId: user.id,
    device: input.device,
    clientKey: input.clientKey,
    nowMs: clock.now(),
    idleTtlMs: resolved.refreshIdleTtl * 1000,
    absoluteTtlMs: resolved.refreshAbsoluteTtl * 1000,
    refreshHash: hashRefreshToken(refreshToken),
    amr: input.amr ?? ['pwd'],
    maxSessions: resolved.maxSessionsPerUser,
    expectPasswordHash: input.passwordHash,
  });
  if (!result.ok) {
    if (result.reason === 'disabled')
      throw new AuthError('ACCOUNT_DISABLED', 'This account is disabled.');
    throw new AuthError('INVALID_CREDENTIALS', 'The email or password is wrong.');
  }
  await ctx.commit(result.evicted);
  return signIn(ctx, result.user, result.session, result.issuedAt, refreshToken);
}

/** Sign-up, sign-in and refresh: the operations that open or continue a session. */
export function signInOperations(
  ctx: AuthContext,
  credentials: CredentialChecks,
): Pick<Auth, 'signup' | 'login' | 'refresh'> {
  const { resolved, clock, hasher } = ctx;
  return {
    async signup(input) {
      assertObject(input, 'signup input');
      const email = normaliseEmail(input.email);
      const roles = input.roles ?? [];
      assertRoles(roles);
      await ctx.ready();
      // Both paths below hash the password: a taken address must not answer sooner.
      const passwordHash = await credentials.checkNewPassword(input.password, email);
      const user = await ctx.store().createUser({
        id: randomBytes(16).toString('base64url'),
        email,
        passwordHash,
        roles,
        createdAt: clock.now(),
        emailVerified: false,
      });
      if (resolved.requireVerifiedEmail) {
        if (user === null) await mailSignupAttempt(ctx, email);
        else await mailVerificationLink(ctx, user);
      }
      if (user === null) throw new AuthError('EMAIL_TAKEN', 'This email is already registered.');
      return publicUser(user);
    },

    async login(input) {
      assertObject(input, 'login input');
      const email = normaliseEmail(input.email);
      assertPasswordInput(input.password, resolved.password);
      const device = optionalText(input.device, 'device', MAX_DEVICE_LENGTH);
      const clientKey = optionalText(input.clientKey, 'clientKey', MAX_CLIENT_KEY_LENGTH);
      const otp = optionalOtp(input.otp);
      await ctx.ready();
      const store = ctx.store();
      const found = await store.findUserByEmail(email);
      const { user, amr } = await credentials.checkSignIn(
        found,
        input.password,
        clientKey ?? undefined,
        email,
        otp,
      );
      if (user.disabled) throw new AuthError('ACCOUNT_DISABLED', 'This account is disabled.');
      if (resolved.requireVerifiedEmail && !user.emailVerified) {
        // A fresh link with the refusal, so a lost or expired one is no dead end. Counted per
        // address only: a client's limit must not turn this answer into another.
        await mailVerificationLink(ctx, user);
        throw new AuthError(
          'EMAIL_NOT_VERIFIED',
          'Confirm your email address first: the link is in your mail.',
        );
      }
      let passwordHash = user.passwordHash;
      if (hasher.needsRehash(passwordHash)) {
        const next = await hasher.hash(input.password);
        if (await store.rehashPassword(user.id, passwordHash, next)) passwordHash = next;
      }
      return openSession(ctx, user, { device, clientKey, passwordHash, amr });
    },

    async refresh(refreshToken, context) {
      if (typeof refreshToken !== 'string')
        throw new AuthError('VALIDATION_FAILED', 'A refresh token is required.');
      if (context !== undefined) assertObject(context, 'context');
      if (!isRefreshTokenShape(refreshToken))
        throw new AuthError('REFRESH_TOKEN_INVALID', 'The refresh token is not valid.');
      await ctx.ready();
      const successor = successorOf(ctx.live().refreshSecret, refreshToken);
      const result = await ctx.store().rotateRefresh({
        presentedHash: hashRefreshToken(refreshToken),
        successorHash: hashRefreshToken(successor),
        nowMs: clock.now(),
        graceMs: resolved.refreshReuseGrace * 1000,
        idleTtlMs: resolved.refreshIdleTtl * 1000,
      });
      switch (result.kind) {
        case 'invalid':
          throw new AuthError('REFRESH_TOKEN_INVALID', 'The refresh token is not valid.');
        case 'expired':
          await ctx.commit([result.revocation]);
          throw new AuthError('SESSION_EXPIRED', 'The session has expired; sign in again.');
        case 'reused':
          await ctx.commit([result.revocation]);
          throw new AuthError(
            'REFRESH_TOKEN_REUSED',
            'A used refresh token was presented again; the session is revoked.',
          );
        default:
          return signIn(ctx, result.user, result.session, result.issuedAt, successor);
      }
    },
  };
}
