import type { RevocationEvent, UserRevocationCause } from '../revocation/events.js';

/**
 * The store port: the source of truth for users, sessions, refresh tokens, the
 * revocation log, login-failure counters and keys. Every method is async and every
 * method that changes state is one transaction: nothing is half-written when it fails.
 * All times are milliseconds since the epoch; refresh tokens arrive here only as
 * SHA-256 hashes (hex), never in the clear.
 */
export interface Store {
  /** Creates or upgrades the schema. Idempotent; safe when several instances start at once. */
  init(): Promise<void>;
  /** Releases what the store opened itself; a pool or database handle passed in stays open. */
  close(): Promise<void>;

  // --- users ---
  /** Null when the email is taken. */
  createUser(input: NewUser): Promise<StoredUser | null>;
  /** The user with this id, or null. */
  getUser(id: string): Promise<StoredUser | null>;
  /** The user with this email (already normalised by the caller), or null. */
  findUserByEmail(email: string): Promise<StoredUser | null>;
  /**
   * Replaces the password hash only if it still equals `expected` (a rehash after the
   * cost parameters rose). Moves no watermark: the password itself is unchanged.
   */
  rehashPassword(userId: string, expected: string, next: string): Promise<boolean>;
  /** Clears `disabled`. No revocation: enabling grants nothing that a sign-in does not. */
  enableUser(userId: string): Promise<StoredUser | null>;

  // --- sessions and refresh tokens ---
  /**
   * Opens a session with its first refresh token, in one transaction with the user row
   * locked: refused when the user is gone, disabled, or its password hash is no longer
   * `expectPasswordHash` (a password change won the race) or, with `expectPasskey`, that
   * passkey is no longer the user's (its removal won the race). Sessions of the user beyond
   * `maxSessions` are ended oldest first, each with a log entry.
   */
  createSession(input: NewSession): Promise<CreateSessionResult>;
  /**
   * Redeems a refresh token (see RotateInput). Atomic: of two concurrent redemptions of
   * one token, exactly one rotates; the other sees the rotation (grace or reuse).
   */
  rotateRefresh(input: RotateInput): Promise<RotateResult>;
  /** The session, live or ended, or null when unknown (or purged). */
  getSession(sid: string): Promise<StoredSession | null>;
  /** The session a refresh token (current or rotated) belongs to, or null. */
  findSessionByRefresh(refreshHash: string): Promise<StoredSession | null>;
  /** Sessions neither revoked nor past their idle or absolute end, oldest first. */
  listSessions(userId: string, nowMs: number): Promise<StoredSession[]>;

  // --- revocations: state change and log entry in one transaction ---
  /** Ends one live session. Null when there was no live session (or not of `userId`). */
  revokeSession(input: RevokeSessionInput): Promise<LoggedRevocation | null>;
  /** Moves the user's watermark, applying `change` in the same transaction. */
  revokeUser(input: RevokeUserInput): Promise<RevokeUserResult>;
  /** Logs the revocation of one access token (by jti), kept until its `exp` (ms). */
  revokeToken(input: { jti: string; exp: number; nowMs: number }): Promise<LoggedRevocation>;
  /** The global watermark: every session ends, every token issued before it dies. */
  revokeAll(input: { nowMs: number }): Promise<LoggedRevocation>;

  // --- the revocation log ---
  /** Entries with seq > `seq`, ascending, at most `limit`. Seq order is commit order. */
  revocationsSince(seq: number, limit?: number): Promise<LoggedRevocation[]>;
  /** The highest seq ever assigned (0 when none). */
  latestRevocationSeq(): Promise<number>;
  /**
   * Every entry that can still reject a token: `at` (or a token entry's `exp`) no older
   * than `nowMs - windowMs`. Ascending seq.
   */
  liveRevocations(nowMs: number, windowMs: number): Promise<LoggedRevocation[]>;

  // --- login throttling ---
  /**
   * Takes one attempt slot for `key` before a password is checked, in one atomic step:
   * refused (with the time it may be retried) when the key's window is full or its
   * back-off has not passed (see `attemptAllowedAt`). A reserved slot counts as a failure
   * until `releaseAttempt` gives it back, so concurrent guesses, on any number of
   * instances, can never evaluate more passwords than the limit allows.
   */
  reserveAttempt(input: ReserveAttemptInput): Promise<ReserveAttemptResult>;
  /** Gives back one reserved slot (the password was right). Never below zero. */
  releaseAttempt(key: string, nowMs: number, windowMs: number): Promise<void>;
  /** The live count for `key` (count 0 when none or the window has passed). */
  getFailures(key: string, nowMs: number, windowMs: number): Promise<FailureCount>;

  // --- one-time links (email verification, password reset, email change, invitations) ---
  /**
   * Stores a link and, in the same transaction, deletes every unused link of the same kind
   * for the same subject (the user; for an invitation, the address): a newer link
   * supersedes the older one.
   */
  createLink(input: NewLink): Promise<StoredLink>;
  /** The unused, unexpired link of this kind with this token hash, or null. Reads only. */
  findLink(kind: LinkKind, tokenHash: string, nowMs: number): Promise<StoredLink | null>;
  /**
   * Consumes an invitation and creates its user in one transaction. Refused with `link`
   * when the invitation is unknown, used, expired or superseded (nothing written), with
   * `email-taken` when the address has an account meanwhile (the invitation stays usable
   * for nobody else: it is consumed).
   */
  acceptInvitation(input: AcceptInvitationInput): Promise<AcceptInvitationResult>;

  // --- keys and secrets ---
  /** The stored value of `name`, or `value` stored now: the first writer wins. */
  getOrCreateSecret(name: string, value: string): Promise<string>;
  /** Compare-and-set; false when the stored value is no longer `expected`. */
  replaceSecret(name: string, expected: string, next: string): Promise<boolean>;

  // --- second factors: TOTP and recovery codes ---
  // Changes that must end the other sessions (confirming or removing TOTP, new recovery
  // codes, adding or removing a passkey, an admin removing every factor) are not methods
  // here: they ride on `revokeUser` as `change.factors` (FactorChange), in its transaction.
  /**
   * Stores a TOTP secret (already encrypted) awaiting its first code, replacing a pending
   * one. False, writing nothing, when the user is gone or already has a confirmed TOTP.
   */
  setPendingTotp(userId: string, encryptedSecret: string, nowMs: number): Promise<boolean>;
  /** The user's TOTP, pending (`confirmedAt` null) or confirmed, or null. */
  getTotp(userId: string): Promise<StoredTotp | null>;
  /**
   * Spends a TOTP time step, atomically: true only if `step` is above the last one used
   * (which it becomes), so each code is accepted once. False when there is no TOTP.
   */
  useTotpStep(userId: string, step: number): Promise<boolean>;
  /** Spends an unused recovery code (by hash), atomically: of concurrent uses one is true. */
  useRecoveryCode(userId: string, hash: string, nowMs: number): Promise<boolean>;
  /** How many unused recovery codes the user has. */
  recoveryCodesLeft(userId: string): Promise<number>;

  // --- second factors: passkeys (WebAuthn) and their challenges ---
  // Adding and removing a passkey ride on `revokeUser` (FactorChange 'passkey-add' and
  // 'passkey-remove'): both end the other sessions.
  /** The user's passkeys, oldest first. */
  listPasskeys(userId: string): Promise<StoredPasskey[]>;
  /** The passkey with this credential id (base64url), whoever it belongs to, or null. */
  getPasskey(id: string): Promise<StoredPasskey | null>;
  /**
   * After a verified assertion: sets the signature counter to `next` (and `lastUsedAt`) only
   * if it is still `expected` and `next` is above it, or both are 0 (an authenticator that
   * keeps no counter). False otherwise: a counter that does not move forward is a cloned
   * authenticator or a replay, and of two concurrent sign-ins with one counter value only
   * one can pass.
   */
  updatePasskeyCounter(id: string, expected: number, next: number, nowMs: number): Promise<boolean>;
  /** Stores a WebAuthn challenge until `expiresAt` (or until taken). */
  createChallenge(input: NewChallenge): Promise<void>;
  /**
   * Takes a challenge, atomically: deletes and returns it when it exists with this purpose
   * and has not expired, so of concurrent takes exactly one gets it. Null otherwise
   * (unknown, used, expired, or issued for the other ceremony).
   */
  takeChallenge(
    challenge: string,
    purpose: ChallengePurpose,
    nowMs: number,
  ): Promise<StoredChallenge | null>;

  // --- housekeeping ---
  /**
   * Deletes log entries, ended sessions (and their refresh tokens) and failure counters
   * that can no longer matter: older than `windowMs` before `nowMs`; and every WebAuthn
   * challenge past its `expiresAt`.
   */
  purge(nowMs: number, windowMs: number): Promise<void>;
}

/** A user row. `passwordHash` never leaves the library (the API shows a `User`). */
export interface StoredUser {
  id: string;
  /** Normalised (trimmed, NFC, lower-case). */
  email: string;
  /** The argon2id hash, in PHC string format. */
  passwordHash: string;
  roles: string[];
  disabled: boolean;
  createdAt: number;
  /** The `tokens_valid_after` watermark: tokens of this user issued before it are dead. */
  tokensValidAfter: number;
  /** The user proved control of `email` (a link, an invitation, a reset). */
  emailVerified: boolean;
}

/** The row `createUser` inserts; the library generates the id and hashes the password. */
export interface NewUser {
  id: string;
  email: string;
  passwordHash: string;
  roles: string[];
  createdAt: number;
  /** Default false. */
  emailVerified?: boolean;
}

/**
 * A session row: one sign-in on one device, live until revoked or past its idle or absolute end.
 */
export interface StoredSession {
  sid: string;
  userId: string;
  device: string | null;
  /** The client key (an address) the sign-in came from, or null. */
  clientKey: string | null;
  createdAt: number;
  lastSeenAt: number;
  /** When the user last entered the password for this session. */
  authTime: number;
  /** The highest iat minted for this session: revocations cut off above it. */
  lastIssuedAt: number;
  /** The session ends here unless a refresh comes first; each rotation moves it on. */
  idleExpiresAt: number;
  /** The session ends here whatever happens (sign-in plus `refreshAbsoluteTtl`). */
  absoluteExpiresAt: number;
  /** When the session ended, or null while it is live. */
  revokedAt: number | null;
  /** Why the session ended (a revocation cause), or null while it is live. */
  revokeCause: string | null;
  /**
   * How the user proved who they are at sign-in (RFC 8176 values, e.g. `["pwd"]`,
   * `["pwd","otp","mfa"]`, `["hwk","user"]`); a session of 0.1.0 reads as `["pwd"]`.
   */
  amr: string[];
}

/**
 * What `createSession` needs: the new session, the hash of its first refresh token, and the
 * limits to enforce in the same transaction.
 */
export interface NewSession {
  sid: string;
  userId: string;
  device: string | null;
  clientKey: string | null;
  nowMs: number;
  idleTtlMs: number;
  absoluteTtlMs: number;
  /** SHA-256 (hex) of the first refresh token. */
  refreshHash: string;
  /** How the user signed in (RFC 8176 values); every token of the session carries it. */
  amr: string[];
  /** Live sessions the user may hold, this one included; the oldest beyond it end. */
  maxSessions: number;
  /**
   * The hash the password was just checked against: refuse (`credentials-changed`) when a
   * password change committed meanwhile.
   */
  expectPasswordHash: string;
  /**
   * The passkey a passkey sign-in was just verified with: refuse (`credentials-changed`) when
   * it is no longer the user's, checked in the transaction that inserts the session, so that
   * a removal either comes first (no session) or ends the new session with the others.
   */
  expectPasskey?: { id: string };
}

/** The outcome of `createSession`: the session and the iat to mint with, or why it was refused. */
export type CreateSessionResult =
  | {
      ok: true;
      session: StoredSession;
      user: StoredUser;
      /** The iat to mint with: at or after every cutoff the store holds for the user. */
      issuedAt: number;
      /** Log entries of sessions ended to stay within maxSessions. */
      evicted: LoggedRevocation[];
    }
  | { ok: false; reason: 'no-user' | 'disabled' | 'credentials-changed' };

/** What `rotateRefresh` needs to redeem a refresh token. Times and durations in ms. */
export interface RotateInput {
  /** SHA-256 (hex) of the refresh token presented. */
  presentedHash: string;
  /** Hash of the successor, derived deterministically from the presented token. */
  successorHash: string;
  nowMs: number;
  /** How long after a rotation the spent token still gets the same successor. */
  graceMs: number;
  /** The idle window a rotation restarts. */
  idleTtlMs: number;
}

/**
 * - rotated: the presented token was current; it is now rotated and the successor current.
 * - grace: the presented token was rotated less than `graceMs` ago; the same successor
 *   stands (nothing written but the session's lastIssuedAt).
 * - reused: rotated longer ago: the session is now revoked (`revocation`, cause 'reuse').
 * - expired: idle or absolute end passed: the session is now revoked (cause 'expired').
 * - invalid: unknown token, or its session already ended or its user gone or disabled.
 */
export type RotateResult =
  | { kind: 'rotated' | 'grace'; session: StoredSession; user: StoredUser; issuedAt: number }
  | { kind: 'reused' | 'expired'; revocation: LoggedRevocation }
  | { kind: 'invalid' };

/** What `revokeSession` needs: which session, when, and why. */
export interface RevokeSessionInput {
  sid: string;
  nowMs: number;
  /** `logout` when ended by its own session, `revoked` when ended from another one. */
  cause: 'logout' | 'revoked';
  /** When given, the session must belong to this user. */
  userId?: string;
}

/**
 * What `revokeUser` needs: whose watermark moves, how far the revocation reaches, and the change
 * to apply in the same transaction.
 */
export interface RevokeUserInput {
  userId: string;
  nowMs: number;
  /**
   * `sessions`: every session ends too (reason `user`); `tokens`: only the access tokens die and
   * the sessions live on (reason `claims`: a role change).
   */
  scope: 'tokens' | 'sessions';
  /** Why, carried in the event: it picks the push event clients receive. */
  cause: UserRevocationCause;
  /** Applied in the same transaction as the watermark move. */
  change?: {
    passwordHash?: string;
    roles?: string[];
    disabled?: boolean;
    /** Deletes the user row, its sessions, refresh tokens, links and factors. */
    deleted?: boolean;
    /** A new address (normalised); refused with `email-taken` when another user has it. */
    email?: string;
    emailVerified?: boolean;
    /** A second factor added or removed; refused ('no-factor') when it does not apply. */
    factors?: FactorChange;
  };
  /**
   * Consume this link in the same transaction: refused (`link`, nothing written) unless it
   * is unused, unexpired, of this kind and for this user.
   */
  link?: { kind: LinkKind; tokenHash: string };
  /** Refuse (reason 'conflict') unless the stored password hash is still this. */
  expectPasswordHash?: string;
  /**
   * With scope 'sessions': keep this live session of the user, with a new refresh token
   * (its old ones die) and a new authTime. Refused ('no-session') when it is not live.
   */
  keep?: {
    sid: string;
    refreshHash: string;
    authTime: number;
    /** The kept session's new `amr` (it just proved a factor); unchanged when absent. */
    amr?: string[];
  };
}

/**
 * The outcome of `revokeUser`: the logged revocation and the user after the change, or why
 * nothing was written.
 */
export type RevokeUserResult =
  | {
      ok: true;
      revocation: LoggedRevocation;
      /** The user after the change; null once deleted. */
      user: StoredUser | null;
      endedSids: string[];
      /** With `keep`: the kept session and the iat to mint its fresh tokens with. */
      kept?: { session: StoredSession; issuedAt: number };
    }
  | {
      ok: false;
      reason: 'no-user' | 'conflict' | 'no-session' | 'link' | 'email-taken' | 'no-factor';
    };

/** The names of the port's TOTP and recovery-code methods (what each store composes in). */
export type TotpMethods =
  | 'setPendingTotp'
  | 'getTotp'
  | 'useTotpStep'
  | 'useRecoveryCode'
  | 'recoveryCodesLeft';

/** A user's TOTP (RFC 6238) enrolment. */
export interface StoredTotp {
  userId: string;
  /** The shared secret, encrypted by the library (the store never sees it in the clear). */
  secret: string;
  /** When the first code confirmed it; null while pending. */
  confirmedAt: number | null;
  /** The highest time step a code was accepted for (0 when none). */
  lastStep: number;
  createdAt: number;
}

/** A WebAuthn credential to store (after a verified registration). */
export interface NewPasskey {
  /** The credential id, base64url. */
  id: string;
  userId: string;
  /** The COSE public key, base64url. */
  publicKey: string;
  /** The signature counter the registration reported. */
  counter: number;
  /** The authenticator's transports (`usb`, `internal`, `hybrid`, …). */
  transports: string[];
  /** `singleDevice` or `multiDevice` (a synced passkey), as WebAuthn reports it. */
  deviceType: string | null;
  /** Whether the credential is backed up (synced). */
  backedUp: boolean;
  /** The user's label for it. */
  name: string | null;
  nowMs: number;
}

/** A stored WebAuthn credential (a passkey) of a user. */
export interface StoredPasskey {
  /** The credential id, base64url. */
  id: string;
  userId: string;
  /** The COSE public key, base64url. */
  publicKey: string;
  /** The last signature counter seen (0 for authenticators that keep none). */
  counter: number;
  transports: string[];
  /** `singleDevice` or `multiDevice` (a synced passkey), as registered; null when unknown. */
  deviceType: string | null;
  backedUp: boolean;
  name: string | null;
  createdAt: number;
  /** The last sign-in with it (ms), or null when never used. */
  lastUsedAt: number | null;
}

/** Which WebAuthn ceremony a challenge was issued for. */
export type ChallengePurpose = 'register' | 'login';

/**
 * A WebAuthn challenge, bound to what it was issued for: a registration to the session and
 * user that asked (step-up passed), a sign-in by email to that user, a discoverable sign-in
 * to nobody (both null).
 */
export interface NewChallenge {
  /** Random, base64url: what the authenticator signs (inside clientDataJSON). */
  challenge: string;
  purpose: ChallengePurpose;
  userId: string | null;
  sid: string | null;
  /** When it stops being accepted (ms). */
  expiresAt: number;
}

/** A challenge as `takeChallenge` returns it. */
export type StoredChallenge = NewChallenge;

/**
 * A second factor added or removed, applied by `revokeUser` in the same transaction as the
 * sessions it ends. Refused (`no-factor`) when it does not apply: `totp-confirm` without a
 * pending TOTP whose secret is still `secret` (a newer enrolment replaced it);
 * `totp-remove` and `recovery-regenerate` without a confirmed TOTP; `passkey-add` of a
 * credential id already stored; `passkey-remove` of a passkey the user does not have.
 * `remove-all` is never refused: the sessions end even when there was nothing to remove.
 */
export type FactorChange =
  /** The pending TOTP becomes confirmed; the recovery codes are replaced by these hashes. */
  | { kind: 'totp-confirm'; secret: string; recoveryCodeHashes: string[] }
  /** The TOTP and its recovery codes are deleted. */
  | { kind: 'totp-remove' }
  /** The recovery codes are replaced by these hashes. */
  | { kind: 'recovery-regenerate'; recoveryCodeHashes: string[] }
  | { kind: 'passkey-add'; passkey: NewPasskey }
  | { kind: 'passkey-remove'; id: string }
  /** Every factor of the user: TOTP, recovery codes, passkeys (an admin's recovery path). */
  | { kind: 'remove-all' };

/** A revocation event and its place in the store's revocation log. */
export interface LoggedRevocation {
  /** The log position: increasing in commit order, never reused. */
  seq: number;
  event: RevocationEvent;
}

/**
 * Sign-in attempt limits of one key in one window: free attempts, then doubling waits, then
 * refused until the window ends.
 */
export interface AttemptLimits {
  /** Attempts in a window that cost no waiting. */
  free: number;
  /** Attempts in a window after which the key waits for the window to end. */
  max: number;
}

/** What `reserveAttempt` needs: the key, the time, the window and the limits. */
export interface ReserveAttemptInput extends AttemptLimits {
  /**
   * An opaque counter name (`account:` or `client:` and a SHA-256): the store never sees the
   * email or the address.
   */
  key: string;
  nowMs: number;
  /** The fixed window, opened by the first attempt (ms). */
  windowMs: number;
}

/** The outcome of `reserveAttempt`: taken (and the count now), or refused until `retryAt`. */
export type ReserveAttemptResult =
  | { ok: true; count: number }
  | { ok: false /** When the next attempt may be made (ms). */; retryAt: number };

/** The attempt counter of one key, as `getFailures` reads it. */
export interface FailureCount {
  /** Attempts counted in the current window (reserved and not given back). */
  count: number;
  /** When the window opened (first failure), ms; 0 when count is 0. */
  windowStart: number;
  /** The latest failure, ms; 0 when count is 0. */
  lastAt: number;
}

/**
 * What a one-time link does: `verify-email` (proves the address), `reset-password`,
 * `confirm-email` (switches to a new address), `invitation` (creates an account).
 */
export type LinkKind = 'verify-email' | 'reset-password' | 'confirm-email' | 'invitation';

/** The row `createLink` stores. The token itself is never stored, only its hash. */
export interface NewLink {
  /** Random, public: names the link (an invitation's id) without being able to redeem it. */
  id: string;
  kind: LinkKind;
  /** SHA-256 (hex) of the token. */
  tokenHash: string;
  /**
   * The user the link acts on; null for an invitation (and for the decoy a password reset
   * for an unknown address stores, so both cost the same work).
   */
  userId: string | null;
  /** The address the link was mailed to (normalised): the new one for `confirm-email`. */
  email: string;
  /** Roles an invitation grants; empty otherwise. */
  roles: string[];
  nowMs: number;
  expiresAt: number;
}

/** A stored link: the row, and when it was used (null while unused). */
export interface StoredLink {
  id: string;
  kind: LinkKind;
  tokenHash: string;
  userId: string | null;
  email: string;
  roles: string[];
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

/** What `acceptInvitation` needs: the invitation's token hash, and the user to create. */
export interface AcceptInvitationInput {
  tokenHash: string;
  nowMs: number;
  /** `email` and `roles` are ignored: the invitation's own are used. */
  user: NewUser;
}

/** The outcome of `acceptInvitation`. */
export type AcceptInvitationResult =
  | { ok: true; user: StoredUser; link: StoredLink }
  | { ok: false; reason: 'link' | 'email-taken' };
