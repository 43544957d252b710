import type { Clock } from '../clock.js';
import type { RevocationFeed } from '../feeds/port.js';
import type { Mailer } from '../mail/types.js';
import type { RevocationStats } from '../revocation/list.js';
import type { Store } from '../stores/port.js';
import type { AccessTokenClaims } from '../tokens/types.js';
import type { MfaOperations } from './mfa.js';
import type { PasskeyOperations } from './passkeys.js';
import type { ThrottlePolicy } from './throttle.js';

/** A user as the API shows it: never the password hash. */
export interface User {
  /** Random and opaque: the `sub` of the user's tokens. */
  id: string;
  /** Normalised: trimmed, NFC, lower-case. */
  email: string;
  /** Copied into the `roles` claim of every access token; changed with `setRoles`. */
  roles: string[];
  /** True after `disableUser`: sign-in answers `ACCOUNT_DISABLED` until `enableUser`. */
  disabled: boolean;
  /** When the user signed up (ms since the epoch). */
  createdAt: number;
  /**
   * The user proved control of `email`: a verification link, an invitation, a password reset
   * or an email change opened from the mailbox. Access tokens carry it as `email_verified`.
   */
  emailVerified: boolean;
}

/** One live session (a signed-in device), as `listSessions` returns it. */
export interface SessionInfo {
  /** The session id: the `sid` claim of its tokens, what `logout` and `endSession` take. */
  sid: string;
  /** The label given at sign-in (`LoginInput.device`), or null. */
  device: string | null;
  /** When the user signed in (ms). */
  createdAt: number;
  /** The sign-in or the latest refresh (ms). */
  lastSeenAt: number;
  /** Present (true) on the session of the caller, when the caller is known. */
  current?: boolean;
}

/**
 * What a sign-in, a refresh, or a password change that keeps its session returns: the two
 * tokens and whom they are for.
 */
export interface SignedIn {
  /**
   * The JWT to send as `Authorization: Bearer`: verified in memory, short-lived
   * (`accessTokenTtl`).
   */
  accessToken: string;
  /**
   * Opaque and single-use: `refresh()` answers a new one, and presenting a spent one after
   * `refreshReuseGrace` ends the session. Keep it where scripts cannot read it.
   */
  refreshToken: string;
  /** When the access token expires (ms since epoch). */
  expiresAt: number;
  /** When the refresh token stops working unless used first (ms): the session's idle or absolute end. */
  refreshExpiresAt: number;
  /** The session the tokens belong to; its `sid` is what `logout` takes. */
  session: { sid: string };
  user: User;
  /** The claims of `accessToken`, so the caller need not verify what it was just given. */
  claims: AccessTokenClaims;
}

/** What `login` takes. */
export interface LoginInput {
  email: string;
  password: string;
  /** A label for the sessions list ("Firefox on Linux"); at most 200 characters. */
  device?: string;
  /** Client key for throttling (an IP address, say). */
  clientKey?: string;
  /**
   * On an account with TOTP: the current code of the authenticator app, or an unused recovery
   * code. Without it such an account answers `MFA_REQUIRED` (once the password was right).
   */
  otp?: string;
}

/** Who asks for a mailed link: the client key (an address) the link requests are counted by. */
export interface LinkRequestContext {
  /** Client key for throttling (an IP address, say): link requests are limited per client too. */
  clientKey?: string;
}

/** What `invite` returns: the invitation's public id, and its link (for the CLI to print). */
export interface Invitation {
  /** Random and public: names the invitation without being able to redeem it. */
  id: string;
  /** `<publicUrl>/#invitation=<token>`: whoever holds it can create the account. */
  link: string;
  /** When the link stops working (ms): 7 days after the invitation. */
  expiresAt: number;
}

/**
 * The auth service of one instance, made by {@link createAuth}: sign-up, sign-in, refresh
 * rotation, verification and every kind of revocation. Failures the caller can act on are
 * {@link AuthError}s with a contract code (listed per method); anything else is a bug or an
 * outage (the store unreachable, say).
 *
 * @example
 * ```ts
 * const { accessToken, refreshToken, session } = await auth.login({ email, password });
 * auth.verify(accessToken); // claims, or throws AuthError
 * const next = await auth.refresh(refreshToken); // both tokens rotate; the old one is spent
 * await auth.logout(session.sid); // every token of this session dies, on every instance
 * ```
 */
export interface Auth extends PasskeyOperations, MfaOperations {
  /**
   * Creates a user; it is not signed in (call `login`). The email is normalised. With
   * `requireVerifiedEmail` the new user is mailed a verification link, and for a taken address
   * the password is hashed all the same and its owner is mailed a "signup-attempt" notice
   * before `EMAIL_TAKEN` is thrown: the HTTP route answers 202 for both, so nobody learns
   * whether an address has an account (ASVS 6.3.8).
   *
   * @throws {@link AuthError} `EMAIL_TAKEN`; `WEAK_PASSWORD` (too short, common, containing the
   *   email or a banned word, or breached per `isBreached`); `VALIDATION_FAILED` (over
   *   `maxLength`, say). TypeError with `requireVerifiedEmail` and no `mailer`.
   */
  signup(input: { email: string; password: string; roles?: string[] }): Promise<User>;
  /**
   * Checks the password (throttled per account and per `clientKey`, counted in the store) and
   * opens a session; beyond `maxSessionsPerUser` the oldest one ends.
   *
   * @throws {@link AuthError} `INVALID_CREDENTIALS` (an unknown email and a wrong password look
   *   the same, and take as long; or a wrong `otp`); `MFA_REQUIRED` (the password was right,
   *   the account has TOTP, no `otp`: counted like a failure); `ACCOUNT_DISABLED`;
   *   `EMAIL_NOT_VERIFIED` (with `requireVerifiedEmail`, only after a correct password: a
   *   fresh verification link is mailed); `RATE_LIMITED` (see `retryAfter`); `VALIDATION_FAILED`.
   */
  login(input: LoginInput): Promise<SignedIn>;
  /**
   * Rotates a refresh token: a new access token and a new refresh token for the same session, and
   * the presented one is spent. Presented again within `refreshReuseGrace` (two tabs, a retry) it
   * gets the same successor; later, the session ends as stolen.
   *
   * @throws {@link AuthError} `REFRESH_TOKEN_INVALID` (unknown, or its session has ended);
   *   `REFRESH_TOKEN_REUSED` (the session is now revoked); `SESSION_EXPIRED` (idle or absolute end
   *   passed).
   */
  refresh(refreshToken: string, context?: { clientKey?: string }): Promise<SignedIn>;
  /** Synchronous, no I/O; throws AuthError. */
  verify(accessToken: string): AccessTokenClaims;
  /**
   * Ends session `sid` (one device): its access tokens are refused from the next request on, on
   * every instance, and its refresh token is dead. An unknown or already ended session is not an
   * error.
   */
  logout(sid: string): Promise<void>;
  /**
   * Ends the session a refresh token belongs to (RFC 7009: revoking a refresh token
   * revokes its grant). For a sign-out or a new sign-in that carries only the refresh
   * cookie. Unknown or malformed tokens are ignored (nothing to end).
   */
  revokeRefreshToken(refreshToken: string): Promise<void>;
  /**
   * Ends every session of the user. With `options` (a user acting on their own account)
   * it needs a step-up, else REAUTHENTICATION_REQUIRED; without (an administrator), none.
   */
  logoutAll(userId: string, options?: StepUp): Promise<void>;
  /**
   * Revokes one access token by jti. `exp` is the token's exp claim (NumericDate seconds;
   * values above 1e11 are taken as ms); without it the entry lives one token lifetime.
   */
  revokeToken(jti: string, exp?: number): Promise<void>;
  /**
   * Changes the password after checking the current one, and ends every session of the user
   * (reason `user`). With `keepSession`, that session lives on with fresh tokens, which are
   * returned; otherwise the result is null. With a `mailer`, the user is told by mail.
   *
   * @throws {@link AuthError} `INVALID_CREDENTIALS` (wrong current password, or it changed
   *   meanwhile); `WEAK_PASSWORD`; `RATE_LIMITED`; `NOT_FOUND`.
   */
  changePassword(
    userId: string,
    current: string,
    next: string,
    options?: { keepSession?: string },
  ): Promise<SignedIn | null>;
  /**
   * Replaces the user's roles. Access tokens with the old roles are refused (`TOKEN_REVOKED`,
   * reason `claims`) but sessions live on: the client's next refresh carries the new roles.
   *
   * @throws {@link AuthError} `NOT_FOUND`; `VALIDATION_FAILED`.
   */
  setRoles(userId: string, roles: string[]): Promise<User>;
  /**
   * Disables the account and ends every session (reason `user`); sign-in answers
   * `ACCOUNT_DISABLED` until `enableUser`.
   *
   * @throws {@link AuthError} `NOT_FOUND`.
   */
  disableUser(userId: string): Promise<void>;
  /**
   * Lets a disabled user sign in again; no session comes back.
   *
   * @throws {@link AuthError} `NOT_FOUND`.
   */
  enableUser(userId: string): Promise<void>;
  /**
   * Deletes the user; every session ends. With `proof` (users deleting their own
   * account) a step-up is needed, as for logoutAll; without (an administrator), none.
   */
  deleteUser(userId: string, proof?: StepUp): Promise<void>;
  /**
   * Breach response: every token issued until now is refused (reason `global`) and every session
   * ends, so every user signs in again.
   */
  revokeEveryone(): Promise<void>;
  /**
   * The user's live sessions (not ended, not past their idle or absolute end), oldest first;
   * the one whose sid is `currentSid` is marked `current: true`.
   */
  listSessions(userId: string, currentSid?: string): Promise<SessionInfo[]>;
  /** The user, or null when there is none. */
  getUser(userId: string): Promise<User | null>;
  /**
   * Mails the user a link that proves their address (`<publicUrl>/#verify-email=<token>`,
   * valid 24 h, superseding the previous one). Nothing is mailed when the address is
   * verified already.
   *
   * @throws TypeError without a `mailer`. {@link AuthError} `NOT_FOUND`; `RATE_LIMITED` (link
   *   requests are limited per address and per `clientKey`).
   */
  requestEmailVerification(userId: string, context?: LinkRequestContext): Promise<void>;
  /**
   * Redeems a verification link: the address counts as verified, and the user's access tokens
   * are re-issued (reason `claims`: a refresh succeeds and carries `email_verified: true`).
   *
   * @throws {@link AuthError} `LINK_INVALID` (unknown, used, expired, superseded, another kind
   *   of link, or the address changed since: one answer for all).
   */
  verifyEmail(token: string): Promise<void>;
  /**
   * Mails a password-reset link (30 min) when an account has this address. Known and unknown
   * addresses take the same work (one lookup, one link written: a decoy for an unknown one)
   * and resolve alike, so neither the answer nor its timing tells whether an account exists.
   * Requests beyond the per-address limit resolve alike too, and mail nothing.
   *
   * @throws TypeError without a `mailer`. {@link AuthError} `RATE_LIMITED` (too many link
   *   requests from this `clientKey`); `VALIDATION_FAILED`.
   */
  forgotPassword(email: string, context?: LinkRequestContext): Promise<void>;
  /**
   * Redeems a reset link: sets the password, ends every session of the user (reason `user`),
   * marks the address verified and consumes the link, all in one transaction; then mails a
   * notice.
   *
   * @throws {@link AuthError} `LINK_INVALID`; `WEAK_PASSWORD` (the link stays usable);
   *   `VALIDATION_FAILED`.
   */
  resetPassword(token: string, newPassword: string): Promise<void>;
  /**
   * Starts a change of address, after checking the password: a confirmation link (24 h) to
   * the new address and a notice to the old one. Nothing changes until the link is opened.
   * A new address that already has an account gets no link, and the call resolves alike.
   *
   * @throws TypeError without a `mailer`. {@link AuthError} `INVALID_CREDENTIALS`;
   *   `RATE_LIMITED`; `VALIDATION_FAILED` (the new address is the current one, or not an
   *   address); `NOT_FOUND`.
   */
  requestEmailChange(
    userId: string,
    newEmail: string,
    password: string,
    context?: LinkRequestContext,
  ): Promise<void>;
  /**
   * Redeems a confirmation link: the account moves to the new address (verified), every
   * session ends (reason `user`) but the caller's own when `context.sid` is one of the user's
   * live sessions: that one gets fresh tokens, which are returned (else null). The old
   * address is told by mail, and can no longer sign in.
   *
   * @throws {@link AuthError} `LINK_INVALID`; `EMAIL_TAKEN` (the address got an account
   *   meanwhile).
   */
  confirmEmailChange(token: string, context?: { sid?: string }): Promise<SignedIn | null>;
  /**
   * Invites an address to create an account with `roles`: a link valid 7 days (superseding an
   * earlier invitation of the address), mailed when there is a `mailer` and returned either
   * way (the CLI prints it).
   *
   * @throws {@link AuthError} `EMAIL_TAKEN` (the address has an account); `VALIDATION_FAILED`.
   *   TypeError when no `publicUrl` is configured.
   */
  invite(input: { email: string; roles?: string[] }): Promise<Invitation>;
  /**
   * Redeems an invitation: creates the user with the invited address (verified) and roles,
   * and signs in.
   *
   * @throws {@link AuthError} `LINK_INVALID`; `WEAK_PASSWORD` (the link stays usable);
   *   `EMAIL_TAKEN` (the address got an account meanwhile: the invitation is spent);
   *   `VALIDATION_FAILED`.
   */
  acceptInvitation(
    token: string,
    password: string,
    context?: { device?: string; clientKey?: string },
  ): Promise<SignedIn>;
  /**
   * Ends one session of the user. Ending a session other than `actor.sid` needs a
   * step-up (see StepUp), else REAUTHENTICATION_REQUIRED.
   */
  endSession(userId: string, sid: string, actor: StepUp): Promise<void>;
  /**
   * The public keys as a JWKS, for `/.well-known/jwks.json` and {@link createVerifier}. Empty
   * for an HS256 keyring: a shared secret is never published.
   */
  jwks(): { keys: JsonWebKey[] };
  /**
   * Adds a new signing key (the old ones keep verifying until their tokens expire) and
   * stores the keyring when the keys live in the store. Instances sharing the store pick
   * the new key up by themselves on the first token with an unknown kid (at most one
   * store read per 5 s; that one token is refused), or on `reloadKeys()`.
   */
  rotateKeys(): Promise<void>;
  /** Re-reads the keys from the store (no-op when a keyring was passed in). */
  reloadKeys(): Promise<void>;
  /**
   * How current this instance's revocation list is (for health checks and metrics):
   * `confirmedAt` is the later of the feed's and the store log's last confirmation (ms);
   * `current` is false before `ready()` and past `maxStaleness`, whatever `failOpen` says.
   */
  revocationStatus(): { current: boolean; confirmedAt: number; entries: RevocationStats };
  /** Resolves once keys and the live revocations are loaded. */
  ready(): Promise<void>;
  /**
   * Stops the background work and closes the store and the feed that `createAuth` made itself;
   * a store or feed passed in stays open, for the app to close.
   */
  close(): Promise<void>;
  /** Subscribes to every applied revocation event (local and from the feed). */
  onRevocation(
    listener: (event: import('../revocation/events.js').RevocationEvent) => void,
  ): () => void;
  /** The options in effect, defaults filled in. */
  readonly options: ResolvedAuthOptions;
}

/**
 * Proof for sensitive operations (ASVS 7.5.2): a password entered within
 * `reauthWindow` (the caller's `auth_time`), or the password again.
 */
export interface StepUp {
  /** The caller's session: its authTime is read from the store (the surest source). */
  sid?: string;
  /** The caller's `auth_time` claim (NumericDate seconds), used when no sid is given. */
  authTime?: number;
  /** The user's password, entered again now. */
  password?: string;
  /**
   * On an account with TOTP, with `password`: a current code or an unused recovery code
   * (and a recent sign-in counts only if it was multi-factor).
   */
  otp?: string;
}

/** Options of {@link createAuth}. Durations are in seconds. */
export interface AuthOptions {
  /**
   * Where users, sessions and the revocation log live: `sqliteStore(…)`, `postgresStore(…)` or a
   * {@link Store} of your own. Default: an in-memory SQLite database, gone at exit.
   */
  store?: Store;
  /**
   * How other instances and verifiers hear of a revocation at once: `redisFeed(url)`. Default:
   * {@link memoryFeed} (this process; other instances on the store catch up from its log).
   */
  feed?: RevocationFeed;
  /**
   * The signing keys, e.g. `Keyring.fromJwks(json)` of a `notbefore keys generate` file. Default:
   * an EdDSA key made by the first instance and shared with the others through the store.
   */
  keys?: import('../tokens/keyring.js').Keyring;
  /**
   * The `iss` of every token, checked on verify; default `notbefore`. Your auth server's URL, say.
   */
  issuer?: string;
  /**
   * The `aud` of every token, checked on verify; default `notbefore`. Services that verify with
   * {@link createVerifier} expect the same.
   */
  audience?: string;
  /**
   * Access-token lifetime, whole seconds; default 900. Revocations are remembered this long
   * (plus `clockSkew`), so keep it short.
   */
  accessTokenTtl?: number;
  /** A session unused this long ends; default 14 days. */
  refreshIdleTtl?: number;
  /**
   * A session ends this long after sign-in, however used; default 30 days. Neither rotation nor
   * `keepSession` nor a role change extends it.
   */
  refreshAbsoluteTtl?: number;
  /**
   * For this long a spent refresh token gets the same successor (two tabs, a retried request)
   * instead of counting as reuse; default 5.
   */
  refreshReuseGrace?: number;
  /**
   * How recently the password must have been entered for sensitive operations to need no
   * step-up (see {@link StepUp}); default 600.
   */
  reauthWindow?: number;
  /** Live sessions per user; a sign-in beyond it ends the oldest. Default 20. */
  maxSessionsPerUser?: number;
  /**
   * How long the revocation list may go unconfirmed (by the feed or the store's log) before
   * `verify` fails closed with `REVOCATION_STATE_STALE`; default 5.
   */
  maxStaleness?: number;
  /** Keep accepting tokens past `maxStaleness`: an explicit, risky choice. Default false. */
  failOpen?: boolean;
  /**
   * The key-encryption secret that seals TOTP secrets at rest (AES-256-GCM, key derived with
   * HKDF): at least 32 characters of high entropy (`openssl rand -base64 32`). Default: a
   * random one made on first start and kept in the store — which then protects the TOTP
   * secrets only against a leak of their table, not of the whole database. Changing it
   * makes the stored TOTP secrets unreadable (their users sign in with a recovery code and
   * enrol again).
   */
  factorKey?: string;
  /**
   * Leeway on `exp`, `nbf` and `iat` between instances' clocks, also added to how long
   * revocations are remembered; default 30, at most 300.
   */
  clockSkew?: number;
  /** The source of time: {@link manualClock} in tests. */
  clock?: Clock;
  /**
   * Sends the mails of the account lifecycle: verification, reset, email-change and invitation
   * links, and notices (ASVS 6.3.7). `smtpMailer(url, { from })` or `logMailer()` from
   * `notbefore/mail`, or your own. Mail goes through a queue off the request path (retried,
   * failures to `onError`); `close()` closes the mailer. Without one, notices are skipped, and
   * the operations whose point is a mailed link throw a TypeError.
   */
  mailer?: Mailer;
  /**
   * Where the app's page lives: mailed links are `<publicUrl>/#<kind>=<token>` (the token in
   * the fragment, so no server log or `Referer` sees it). An absolute http(s) URL; default the
   * `issuer` when that is one. Needed with a `mailer`, and for `invite`. Passkeys are bound to
   * its host name (the WebAuthn relying-party id) and accepted only from its origin; passkeys
   * need it given explicitly (else their operations answer `NOT_FOUND`). Never taken from a
   * request: a Host header is the client's to choose.
   */
  publicUrl?: string;
  /**
   * Only users who proved their address may sign in: sign-in to an unverified account answers
   * `EMAIL_NOT_VERIFIED` (after a correct password, with a fresh link mailed), and signup
   * mails a verification link instead of signing in, answering alike for a taken address
   * (ASVS 6.3.8). Needs a `mailer`. Default false.
   */
  requireVerifiedEmail?: boolean;
  /** The name mails call the product by; default the host of `publicUrl`, else `notbefore`. */
  productName?: string;
  /** Password length limits and argon2id cost. */
  password?: PasswordPolicy;
  /** Words no password may contain (ASVS 6.1.2), besides "notbefore", the issuer host and the email's local part. */
  bannedPasswordWords?: string[];
  /** Failed sign-in throttling (per account and per client key, counted in the store). */
  throttle?: Partial<ThrottlePolicy>;
  /**
   * Breached-password check at signup and password change (ASVS 6.2.12), e.g. a
   * k-anonymity range API. true → WEAK_PASSWORD. If it throws, the password is accepted
   * (the check is best effort; the common-password list still applies).
   */
  isBreached?: (password: string) => Promise<boolean>;
  /**
   * Failures of background work: publishing to the feed, catching up from the store's
   * log, repairing the feed, purging. None loses a revocation (the store holds them all and
   * each is retried), but they are how an operator learns that Redis or the database is
   * unreachable. Default: ignored.
   */
  onError?: (error: unknown) => void;
}

/** Password length limits (in Unicode characters) and the argon2id cost of hashing them. */
export interface PasswordPolicy {
  /** Shortest password accepted at sign-up and change; default 8, no lower. */
  minLength?: number;
  /** Longest password accepted, checked before hashing; default 512, at least 64. */
  maxLength?: number;
  /** argon2id cost; tests pass cheaper values explicitly. */
  memoryCost?: number;
  /** argon2id iterations; default 2. */
  timeCost?: number;
  /** argon2id lanes; default 1. */
  parallelism?: number;
  /**
   * Allow argon2id parameters below the OWASP/ASVS 11.4.2 floor (m=19456 KiB, t=2, p=1).
   * For tests only; without it weaker parameters throw at construction.
   */
  allowWeakHash?: boolean;
}

/** The options after `createAuth` checked them and filled in the defaults (`auth.options`). */
export type ResolvedAuthOptions = Required<
  Omit<
    AuthOptions,
    | 'store'
    | 'feed'
    | 'keys'
    | 'clock'
    | 'password'
    | 'throttle'
    | 'isBreached'
    | 'onError'
    | 'mailer'
    | 'publicUrl'
    | 'factorKey'
  >
> & {
  password: Required<PasswordPolicy>;
  throttle: ThrottlePolicy;
  /** Without a trailing slash; null when neither `publicUrl` nor an http(s) `issuer` was given. */
  publicUrl: string | null;
  /** A `mailer` was given: the routes that mail a link answer 404 without one. */
  hasMailer: boolean;
};
