import { createHmac, randomBytes } from 'node:crypto';
import { AuthError } from '../errors.js';
import type { StoredPasskey, StoredUser } from '../stores/port.js';
import type { AuthContext } from './context.js';
import type { CredentialChecks } from './credentials.js';
import { applyFactorChange } from './factor-change.js';
import { notifyFactorChange } from './factor-notices.js';
import { normaliseEmail } from './passwords.js';
import { hashRefreshToken, newRefreshToken } from './refresh-tokens.js';
import { signIn } from './sign-in.js';
import type { SignedIn, StepUp } from './types.js';
import {
  assertId,
  assertObject,
  MAX_CLIENT_KEY_LENGTH,
  MAX_DEVICE_LENGTH,
  optionalText,
} from './validate.js';
import {
  CHALLENGE_TTL_MS,
  parseResponse,
  passkeyAmr,
  registrationOptions,
  relyingParty,
  signInOptions,
  verifyAssertion,
  verifyRegistration,
} from './webauthn.js';

/**
 * WebAuthn options as JSON, for `navigator.credentials.create` / `.get` (through
 * `PublicKeyCredential.parseCreationOptionsFromJSON`, or `@simplewebauthn/browser`).
 */
export interface PasskeyOptions {
  /** Random, base64url, single use: valid for 5 minutes and one ceremony. */
  challenge: string;
  [member: string]: unknown;
}

/** One of the user's passkeys, as `listPasskeys` shows it. */
export interface PasskeyInfo {
  /** The credential id (base64url): what `removePasskey` takes. */
  id: string;
  /** The label given when it was added, or null. */
  name: string | null;
  /** When it was added (ms). */
  createdAt: number;
  /** Its latest sign-in (ms), or null. */
  lastUsedAt: number | null;
  /** True for a synced passkey (it may live on several devices); its sign-ins carry `swk`. */
  synced: boolean;
  /** How the browser reaches the authenticator (`internal`, `usb`, `hybrid`, …). */
  transports: string[];
}

/**
 * Passkeys (WebAuthn) on the {@link Auth} service: adding one (behind a step-up), signing in
 * with one (no password, no other factor: a passkey with user verification is two factors
 * already), listing and removing them. They need `publicUrl` (else `NOT_FOUND`) and the
 * optional peer `@simplewebauthn/server`.
 */
export interface PasskeyOperations {
  /**
   * Creation options for a new passkey of the user, after a step-up; the challenge is bound
   * to session `sid` and to the user.
   *
   * @throws {@link AuthError} `REAUTHENTICATION_REQUIRED` (and the password check's codes);
   *   `NOT_FOUND`; `VALIDATION_FAILED` (the user already has the most passkeys allowed).
   */
  passkeyRegistrationOptions(userId: string, sid: string, proof: StepUp): Promise<PasskeyOptions>;
  /**
   * Stores the passkey the browser made from those options, and ends every other session of
   * the user (adding a way in is a credential change). Session `sid` lives on with fresh
   * tokens, returned in `signedIn` (null when that session had ended meanwhile).
   *
   * @throws {@link AuthError} `INVALID_CREDENTIALS` (the response does not verify, or its
   *   challenge is unknown, used, expired or another session's); `VALIDATION_FAILED`
   *   (malformed); `NOT_FOUND`.
   */
  addPasskey(
    userId: string,
    sid: string,
    input: { response: unknown; name?: string },
  ): Promise<{ id: string; signedIn: SignedIn | null }>;
  /**
   * Request options for a passkey sign-in. Without an email: any passkey of this site
   * (discoverable credentials). With one: that account's passkeys, and for an unknown
   * email, or an account without passkeys, as many made-up ids of the same form, so the
   * answer never tells whether an account exists.
   */
  passkeySignInOptions(input?: { email?: string }): Promise<PasskeyOptions>;
  /**
   * Signs in with a passkey's answer to those options: the signature, the challenge (once),
   * the origin and relying-party id, user verification and the signature counter are
   * checked. Failures count against `clientKey` like wrong passwords. `amr` is `hwk` or
   * `swk`, and `user`.
   *
   * @throws {@link AuthError} `INVALID_CREDENTIALS`; `ACCOUNT_DISABLED`; `RATE_LIMITED`;
   *   `VALIDATION_FAILED` (malformed).
   */
  loginWithPasskey(input: {
    response: unknown;
    device?: string;
    clientKey?: string;
  }): Promise<SignedIn>;
  /** The user's passkeys, oldest first. */
  listPasskeys(userId: string): Promise<PasskeyInfo[]>;
  /**
   * Removes one of the user's passkeys after a step-up, and ends every other session; session
   * `keepSession` lives on with fresh tokens (returned; null without it).
   *
   * @throws {@link AuthError} `NOT_FOUND` (no such passkey of this user);
   *   `REAUTHENTICATION_REQUIRED` (and the password check's codes).
   */
  removePasskey(
    userId: string,
    id: string,
    proof: StepUp,
    options?: { keepSession?: string },
  ): Promise<SignedIn | null>;
}

/** Enough for every device a person owns; bounds what one account can make the store hold. */
const MAX_PASSKEYS = 20;
const MAX_NAME_LENGTH = 64;
/** The store secret behind the made-up credential ids answered for unknown emails. */
const DECOY_SECRET = 'passkey-decoy';
const CREDENTIAL_ID = /^[A-Za-z0-9_-]{1,1400}$/;

const publicPasskey = (p: StoredPasskey): PasskeyInfo => ({
  id: p.id,
  name: p.name,
  createdAt: p.createdAt,
  lastUsedAt: p.lastUsedAt,
  synced: p.deviceType === 'multiDevice',
  transports: [...p.transports],
});

const invalid = (): never => {
  throw new AuthError('INVALID_CREDENTIALS', 'The passkey could not be verified.');
};

/** Registration and sign-in with passkeys, their list and their removal. */
export function passkeyOperations(
  ctx: AuthContext,
  credentials: CredentialChecks,
): PasskeyOperations {
  const { resolved, clock } = ctx;
  const rp = () => relyingParty(ctx.options.publicUrl, resolved.issuer);
  let decoyKey: Promise<Buffer> | undefined;

  /**
   * Made-up credentials for an email with no passkeys: from an HMAC of the email, so the
   * same email always gets the same ones, one or two, of 16 or 32 bytes, like real ids.
   */
  const decoys = async (email: string) => {
    decoyKey ??= ctx
      .store()
      .getOrCreateSecret(DECOY_SECRET, randomBytes(32).toString('base64url'))
      .then((s) => Buffer.from(s, 'base64url'));
    const mac = (label: string) => createHmac('sha256', key).update(label).digest();
    const key = await decoyKey.catch((error: unknown) => {
      decoyKey = undefined;
      throw error;
    });
    const seed = mac(`seed:${email}`);
    const count = 1 + ((seed[0] ?? 0) & 1);
    return Array.from({ length: count }, (_, i) => ({
      id: mac(`id:${i}:${email}`)
        .subarray(0, (seed[1 + i] ?? 0) & 1 ? 32 : 16)
        .toString('base64url'),
      transports: (seed[3 + i] ?? 0) & 1 ? ['internal', 'hybrid'] : ['hybrid', 'internal', 'usb'],
    }));
  };

  /** Applies a passkey change with revokeUser, keeping session `sid` when it is still live. */
  const change = async (
    user: StoredUser,
    factors:
      | { kind: 'passkey-add'; passkey: import('../stores/port.js').NewPasskey }
      | {
          kind: 'passkey-remove';
          id: string;
        },
    sid: string | undefined,
    name: string | null,
  ): Promise<SignedIn | null> => {
    const signedIn = await applyFactorChange(ctx, user, factors, sid);
    if (signedIn === undefined) {
      if (factors.kind === 'passkey-remove') throw new AuthError('NOT_FOUND', 'No such passkey.');
      invalid(); // its credential id is already stored
    }
    // The name the user gave it is what lets them tell which device it was (the mail
    // templates escape it).
    await notifyFactorChange(
      ctx,
      user.id,
      factors.kind === 'passkey-add' ? 'added' : 'removed',
      name === null ? 'passkey' : `passkey "${name}"`,
    );
    return signedIn ?? null;
  };

  /**
   * Opens the session of a verified passkey sign-in (a password change may race it once). The
   * store refuses it when the passkey was removed since it was read: the removal ended the
   * other sessions, and a sign-in verified a moment before must not outlive it.
   */
  const openSession = async (
    userId: string,
    passkeyId: string,
    amr: string[],
    device: string | null,
    clientKey: string | null,
  ): Promise<SignedIn> => {
    const store = ctx.store();
    for (let attempt = 0; ; attempt++) {
      const user = await store.getUser(userId);
      if (user === null) return invalid();
      if (user.disabled) throw new AuthError('ACCOUNT_DISABLED', 'This account is disabled.');
      const refreshToken = newRefreshToken();
      const result = await store.createSession({
        sid: randomBytes(16).toString('base64url'),
        userId,
        device,
        clientKey,
        nowMs: clock.now(),
        idleTtlMs: resolved.refreshIdleTtl * 1000,
        absoluteTtlMs: resolved.refreshAbsoluteTtl * 1000,
        refreshHash: hashRefreshToken(refreshToken),
        amr,
        maxSessions: resolved.maxSessionsPerUser,
        // Not checked against a password here: the read above only pins the row.
        expectPasswordHash: user.passwordHash,
        expectPasskey: { id: passkeyId },
      });
      if (result.ok) {
        await ctx.commit(result.evicted);
        return signIn(ctx, result.user, result.session, result.issuedAt, refreshToken);
      }
      if (result.reason === 'disabled')
        throw new AuthError('ACCOUNT_DISABLED', 'This account is disabled.');
      if (result.reason !== 'credentials-changed' || attempt > 0) return invalid();
    }
  };

  return {
    async passkeyRegistrationOptions(userId, sid, proof) {
      assertId(sid, 'sid');
      await ctx.ready();
      const party = rp();
      const user = await credentials.userOrThrow(userId);
      await credentials.stepUp(user, proof);
      const existing = await ctx.store().listPasskeys(user.id);
      if (existing.length >= MAX_PASSKEYS)
        throw new AuthError('VALIDATION_FAILED', `At most ${MAX_PASSKEYS} passkeys per account.`);
      const options = await registrationOptions(party, user, existing);
      await ctx.store().createChallenge({
        challenge: options.challenge,
        purpose: 'register',
        userId: user.id,
        sid,
        expiresAt: clock.now() + CHALLENGE_TTL_MS,
      });
      return options as unknown as PasskeyOptions;
    },

    async addPasskey(userId, sid, input) {
      assertId(sid, 'sid');
      assertObject(input, 'passkey input');
      const name = optionalText(input.name, 'name', MAX_NAME_LENGTH);
      const { response, challenge } = parseResponse(input.response, 'register');
      await ctx.ready();
      const party = rp();
      const user = await credentials.userOrThrow(userId);
      const store = ctx.store();
      const taken = await store.takeChallenge(challenge, 'register', clock.now());
      // Bound to the session that passed the step-up: no other session, no other user.
      if (taken === null || taken.userId !== user.id || taken.sid !== sid) return invalid();
      const credential = await verifyRegistration(party, response, taken.challenge);
      const signedIn = await change(
        user,
        {
          kind: 'passkey-add',
          passkey: { ...credential, userId: user.id, name, nowMs: clock.now() },
        },
        sid,
        name,
      );
      return { id: credential.id, signedIn };
    },

    async passkeySignInOptions(input = {}) {
      assertObject(input, 'passkey sign-in input');
      const email = input.email === undefined ? undefined : normaliseEmail(input.email);
      await ctx.ready();
      const party = rp();
      const store = ctx.store();
      let allow: { id: string; transports: string[] }[] = [];
      let userId: string | null = null;
      if (email !== undefined) {
        const user = await store.findUserByEmail(email);
        // Listed even for an unknown email, so both answers cost the same reads.
        const passkeys = await store.listPasskeys(user?.id ?? '');
        if (user !== null && passkeys.length > 0) {
          allow = passkeys;
          userId = user.id;
        } else {
          allow = await decoys(email);
        }
      }
      const options = await signInOptions(party, allow);
      await store.createChallenge({
        challenge: options.challenge,
        purpose: 'login',
        userId,
        sid: null,
        expiresAt: clock.now() + CHALLENGE_TTL_MS,
      });
      return options as unknown as PasskeyOptions;
    },

    async loginWithPasskey(input) {
      assertObject(input, 'passkey sign-in input');
      const device = optionalText(input.device, 'device', MAX_DEVICE_LENGTH);
      const clientKey = optionalText(input.clientKey, 'clientKey', MAX_CLIENT_KEY_LENGTH);
      const { response, challenge } = parseResponse(input.response, 'login');
      await ctx.ready();
      const party = rp();
      const store = ctx.store();
      // A passkey cannot be guessed, but each attempt costs a signature check and a challenge:
      // failures count per client (per credential when the caller names no client), held
      // until the assertion verified, like a wrong password.
      const release = await ctx.throttle().reserve({
        account: `passkey:${clientKey ?? response.id}`,
        clientKey: clientKey ?? undefined,
      });
      const taken = await store.takeChallenge(challenge, 'login', clock.now());
      if (taken === null) return invalid();
      const passkey = await store.getPasskey(response.id);
      if (passkey === null) return invalid();
      // Options for one email accept only that account's passkeys.
      if (taken.userId !== null && taken.userId !== passkey.userId) return invalid();
      const handle = response.response.userHandle;
      if (
        typeof handle === 'string' &&
        Buffer.from(handle, 'base64url').toString('utf8') !== passkey.userId
      )
        return invalid();
      const assertion = await verifyAssertion(party, response, taken.challenge, passkey);
      // Compare-and-set: a counter that did not move on (a cloned authenticator, or two
      // sign-ins racing with one counter value) is refused.
      if (
        !(await store.updatePasskeyCounter(
          passkey.id,
          passkey.counter,
          assertion.newCounter,
          clock.now(),
        ))
      )
        return invalid();
      await release();
      return openSession(passkey.userId, passkey.id, passkeyAmr(assertion), device, clientKey);
    },

    async listPasskeys(userId) {
      assertId(userId, 'userId');
      await ctx.ready();
      return (await ctx.store().listPasskeys(userId)).map(publicPasskey);
    },

    async removePasskey(userId, id, proof, options) {
      if (typeof id !== 'string' || !CREDENTIAL_ID.test(id))
        throw new AuthError('NOT_FOUND', 'No such passkey.');
      if (options !== undefined) assertObject(options, 'options');
      const keep = options?.keepSession;
      if (keep !== undefined) assertId(keep, 'keepSession');
      await ctx.ready();
      const user = await credentials.userOrThrow(userId);
      await credentials.stepUp(user, proof);
      const stored = await ctx.store().getPasskey(id);
      const name = stored !== null && stored.userId === user.id ? stored.name : null;
      return change(user, { kind: 'passkey-remove', id }, keep, name);
    },
  };
}
