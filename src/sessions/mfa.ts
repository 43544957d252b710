import { AuthError } from '../errors.js';
import type { FactorChange, StoredUser } from '../stores/port.js';
import type { AuthContext } from './context.js';
import type { CredentialChecks } from './credentials.js';
import { applyFactorChange } from './factor-change.js';
import { optionalOtp } from './factor-checks.js';
import { notifyFactorChange } from './factor-notices.js';
import {
  matchTotpStep,
  newRecoveryCodes,
  newTotpSecret,
  otpauthUrl,
  recoveryCodeHash,
} from './totp.js';
import type { SignedIn, StepUp } from './types.js';
import { assertId, assertObject } from './validate.js';

/** A TOTP enrolment under way: what the authenticator app needs, shown once. */
export interface TotpEnrolment {
  /** The shared secret, base32: for typing into an app that cannot scan. */
  secret: string;
  /** `otpauth://totp/…` (SHA-1, 6 digits, 30 s): draw it as a QR code for the app to scan. */
  otpauthUrl: string;
}

/** New recovery codes (shown once: only their hashes are kept) and the caller's fresh tokens. */
export interface RecoveryCodes {
  /** Ten codes, each usable once in place of a TOTP code (`xxxx-xxxx-xxxx-xxxx`). */
  recoveryCodes: string[];
  /**
   * The kept session's fresh tokens (the other sessions ended); null without `keepSession` or
   * when that session had ended meanwhile.
   */
  signedIn: SignedIn | null;
}

/** The user's second factors, as `mfaStatus` shows them. */
export interface MfaStatus {
  /** `off`, `pending` (enrolled, not yet confirmed by a first code) or `on`. */
  totp: 'off' | 'pending' | 'on';
  /** Unused recovery codes (0 without TOTP). */
  recoveryCodesLeft: number;
}

/** Which session a factor change keeps (with fresh tokens) while every other one ends. */
export interface KeepSession {
  /** The caller's session id. */
  keepSession?: string;
}

/**
 * TOTP (RFC 6238) and recovery codes on the {@link Auth} service. Every change (TOTP
 * confirmed or removed, new recovery codes, an administrator's removal) is a credential
 * change: it ends every other session of the user, on every instance, as a password change
 * does.
 */
export interface MfaOperations {
  /**
   * Starts a TOTP enrolment after a step-up: a new secret, kept (sealed) as pending until
   * `confirmTotp`; a newer enrolment replaces a pending one.
   *
   * @throws {@link AuthError} `REAUTHENTICATION_REQUIRED` (and the password check's codes);
   *   `VALIDATION_FAILED` (TOTP is already on: remove it first); `NOT_FOUND`.
   */
  startTotp(userId: string, proof: StepUp): Promise<TotpEnrolment>;
  /**
   * Confirms the pending enrolment with a first code: TOTP is on from now, every other
   * session ends, and ten recovery codes are returned (once). A wrong code counts as a failed
   * attempt.
   *
   * @throws {@link AuthError} `INVALID_CREDENTIALS` (wrong or used code); `NOT_FOUND` (no
   *   enrolment pending); `RATE_LIMITED`; `VALIDATION_FAILED`.
   */
  confirmTotp(userId: string, code: string, options?: KeepSession): Promise<RecoveryCodes>;
  /**
   * Removes TOTP and its recovery codes, after a step-up and with a code (`proof.otp`, TOTP
   * or recovery) whatever the step-up; every other session ends.
   *
   * @throws {@link AuthError} `NOT_FOUND` (TOTP is not on); `MFA_REQUIRED` (no code);
   *   `INVALID_CREDENTIALS` (wrong code or password); `REAUTHENTICATION_REQUIRED`;
   *   `RATE_LIMITED`.
   */
  removeTotp(userId: string, proof: StepUp, options?: KeepSession): Promise<SignedIn | null>;
  /**
   * Replaces every recovery code (used or not) with ten new ones, after a step-up; every
   * other session ends (the old codes may have leaked).
   *
   * @throws {@link AuthError} `NOT_FOUND` (TOTP is not on); `REAUTHENTICATION_REQUIRED`,
   *   `MFA_REQUIRED` and the password check's codes.
   */
  regenerateRecoveryCodes(
    userId: string,
    proof: StepUp,
    options?: KeepSession,
  ): Promise<RecoveryCodes>;
  /** Whether the user has TOTP, and how many recovery codes are left. */
  mfaStatus(userId: string): Promise<MfaStatus>;
  /**
   * An administrator's recovery path: removes every second factor of the user (TOTP,
   * recovery codes, passkeys) and ends every session.
   *
   * @throws {@link AuthError} `NOT_FOUND`.
   */
  removeFactors(userId: string): Promise<void>;
}

const MAX_ISSUER_LABEL = 64;

/** What the authenticator app lists the account under: the host of the service. */
function issuerLabel(publicUrl: string | undefined, issuer: string): string {
  for (const candidate of [publicUrl, issuer]) {
    if (candidate !== undefined && URL.canParse(candidate)) {
      const host = new URL(candidate).hostname;
      if (host !== '') return host;
    }
  }
  return issuer.slice(0, MAX_ISSUER_LABEL);
}

const keepOf = (options: KeepSession | undefined): string | undefined => {
  if (options === undefined) return undefined;
  assertObject(options, 'options');
  if (options.keepSession !== undefined) assertId(options.keepSession, 'keepSession');
  return options.keepSession;
};

const alreadyOn = (): never => {
  throw new AuthError('VALIDATION_FAILED', 'Two-step sign-in is already on; remove it first.');
};

const noTotp = (): never => {
  throw new AuthError('NOT_FOUND', 'Two-step sign-in is not on for this account.');
};

/** TOTP enrolment, confirmation and removal; recovery codes; an administrator's removal. */
export function mfaOperations(ctx: AuthContext, credentials: CredentialChecks): MfaOperations {
  const { clock, resolved } = ctx;
  const { factors } = credentials;

  const apply = (
    user: StoredUser,
    change: FactorChange,
    sid: string | undefined,
    amr?: (current: string[]) => string[],
  ) => applyFactorChange(ctx, user, change, sid, amr);

  /** New codes for the user, and the hashes the store keeps of them. */
  const freshCodes = () => {
    const recoveryCodes = newRecoveryCodes();
    return { recoveryCodes, hashes: recoveryCodes.map((c) => recoveryCodeHash(c)!) };
  };

  return {
    async startTotp(userId, proof) {
      await ctx.ready();
      const user = await credentials.userOrThrow(userId);
      if ((await factors.confirmedTotp(user.id)) !== null) alreadyOn();
      await credentials.stepUp(user, proof);
      const secret = await newTotpSecret();
      const stored = await ctx
        .store()
        .setPendingTotp(user.id, await factors.seal(user.id, secret), clock.now());
      if (!stored) {
        if ((await ctx.store().getUser(user.id)) === null)
          throw new AuthError('NOT_FOUND', 'No such user.');
        alreadyOn();
      }
      const label = issuerLabel(ctx.options.publicUrl, resolved.issuer);
      return { secret, otpauthUrl: await otpauthUrl(secret, label, user.email) };
    },

    async confirmTotp(userId, code, options) {
      const sid = keepOf(options);
      if (typeof code !== 'string' || code.length > 16)
        throw new AuthError('VALIDATION_FAILED', 'Invalid code.');
      await ctx.ready();
      const user = await credentials.userOrThrow(userId);
      const pending = await ctx.store().getTotp(user.id);
      if (pending === null || pending.confirmedAt !== null)
        throw new AuthError('NOT_FOUND', 'No two-step sign-in enrolment is pending.');
      // A wrong code counts against the account like a wrong password.
      await credentials.attempt(user.email, undefined, async () => {
        const secret = await factors.open(user.id, pending.secret);
        const step = await matchTotpStep(secret, code.replace(/\s/g, ''), clock.now());
        // Spending the step now means this very code cannot sign in a second time.
        if (step === null || !(await ctx.store().useTotpStep(user.id, step))) factors.wrongCode();
      });
      const { recoveryCodes, hashes } = freshCodes();
      const signedIn = await apply(
        user,
        { kind: 'totp-confirm', secret: pending.secret, recoveryCodeHashes: hashes },
        sid,
        (amr) => [...new Set([...amr, 'otp', 'mfa'])],
      );
      // Confirmed meanwhile, or replaced by a newer enrolment: this code confirmed nothing.
      if (signedIn === undefined)
        throw new AuthError('NOT_FOUND', 'No two-step sign-in enrolment is pending.');
      await notifyFactorChange(ctx, user.id, 'added', 'authenticator app');
      return { recoveryCodes, signedIn };
    },

    async removeTotp(userId, proof, options) {
      const sid = keepOf(options);
      assertObject(proof, 'step-up');
      optionalOtp(proof.otp);
      await ctx.ready();
      const user = await credentials.userOrThrow(userId);
      if ((await factors.confirmedTotp(user.id)) === null) noTotp();
      await credentials.stepUp(user, proof, { otpAlways: true });
      const signedIn = await apply(user, { kind: 'totp-remove' }, sid);
      if (signedIn === undefined) return noTotp();
      await notifyFactorChange(ctx, user.id, 'removed', 'authenticator app');
      return signedIn;
    },

    async regenerateRecoveryCodes(userId, proof, options) {
      const sid = keepOf(options);
      await ctx.ready();
      const user = await credentials.userOrThrow(userId);
      if ((await factors.confirmedTotp(user.id)) === null) noTotp();
      await credentials.stepUp(user, proof);
      const { recoveryCodes, hashes } = freshCodes();
      const signedIn = await apply(
        user,
        { kind: 'recovery-regenerate', recoveryCodeHashes: hashes },
        sid,
      );
      if (signedIn === undefined) return noTotp();
      await notifyFactorChange(ctx, user.id, 'added', 'new recovery codes');
      return { recoveryCodes, signedIn };
    },

    async mfaStatus(userId) {
      assertId(userId, 'userId');
      await ctx.ready();
      const store = ctx.store();
      const totp = await store.getTotp(userId);
      if (totp === null || totp.confirmedAt === null)
        return { totp: totp === null ? 'off' : 'pending', recoveryCodesLeft: 0 };
      return { totp: 'on', recoveryCodesLeft: await store.recoveryCodesLeft(userId) };
    },

    async removeFactors(userId) {
      await ctx.ready();
      const user = await credentials.userOrThrow(userId);
      const store = ctx.store();
      // Read first only to word the notice; the removal itself is unconditional.
      const had =
        (await store.getTotp(user.id)) !== null || (await store.listPasskeys(user.id)).length > 0;
      await apply(user, { kind: 'remove-all' }, undefined);
      if (had) await notifyFactorChange(ctx, user.id, 'removed', 'every second factor');
    },
  };
}
