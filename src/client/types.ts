/** Shapes the browser client sees. The server's JSON, never a token: the page cannot read one. */

/** The signed-in user as the server describes it; members the server adds are kept. */
export interface ClientUser {
  id: string;
  email: string;
  roles: string[];
  [key: string]: unknown;
}

/**
 * What `signup()` resolves when the server requires a verified email (`requireVerifiedEmail`:
 * it answers 202): no account is signed in yet. A link is on its way to `email` (or, when
 * the address already has an account, a notice to its owner: the server answers both alike,
 * so this says nothing about which). Tell the user to check their mail; opening the link
 * verifies the address, and then `login()` works.
 */
export interface ClientSignupPending {
  /** Always true: tells this answer from a {@link ClientUser} (`'checkEmail' in result`). */
  checkEmail: true;
  /** The address signed up with, where the mail went. */
  email: string;
}

/** One of the user's sessions, as `sessions()` lists them. */
export interface ClientSession {
  sid: string;
  device: string | null;
  /** When it signed in (ms since the epoch). */
  createdAt: number;
  /** Its sign-in or latest refresh (ms). */
  lastSeenAt: number;
  /** True on this browser's own session. */
  current?: boolean;
}

/** The answer of `me()`: `GET /auth/me`. */
export interface MeAnswer {
  user: ClientUser;
  /** The claims the server verified, as JSON it chose to send; the client decodes nothing. */
  claims: Record<string, unknown>;
}

/** Why this tab stopped being signed in. */
export type SignOutReason =
  | 'logout'
  | 'logout-all'
  | 'session-ended'
  | 'session-revoked'
  | 'refresh-failed'
  | 'account-deleted';

/** What made the client refresh the access token. */
export type RefreshCause =
  | 'scheduled'
  | 'retry'
  | 'claims'
  | 'credential'
  | 'password'
  /** This tab added or removed a second factor (the server re-issued its tokens). */
  | 'factor'
  | 'resume';

/** The answer of `mfa()`: `GET /auth/mfa`. */
export interface ClientMfaStatus {
  /** `off`, `pending` (started, not confirmed by a first code) or `on`. */
  totp: 'off' | 'pending' | 'on';
  /** Unused recovery codes. */
  recoveryCodesLeft: number;
}

/** A TOTP enrolment under way (`startTotp`): show `otpauthUrl` as a QR code, `secret` as text. */
export interface ClientTotpEnrolment {
  /** Base32, for typing into an authenticator app that cannot scan. */
  secret: string;
  /** `otpauth://totp/…` for the app to scan. */
  otpauthUrl: string;
}

/** A step-up's proof, when the recent sign-in is not enough: the password, and a code with TOTP. */
export interface ClientStepUp {
  password?: string;
  /** A TOTP code or an unused recovery code. */
  otp?: string;
}

/** One of the user's passkeys, as `passkeys()` lists them. */
export interface ClientPasskey {
  /** The credential id (base64url): what `removePasskey` takes. */
  id: string;
  /** The label it was added with (default: this browser's, "Chrome on macOS"), or null. */
  name: string | null;
  /** When it was added (ms since the epoch). */
  createdAt: number;
  /** Its latest sign-in (ms), or null. */
  lastUsedAt: number | null;
  /** True for a synced passkey (it may live on several devices). */
  synced: boolean;
  /** How the browser reaches the authenticator (`internal`, `usb`, `hybrid`, …). */
  transports: string[];
}

/**
 * The events of `AuthClient.on`, and what each listener receives. `fromOtherTab` is true when
 * another tab of this origin did it (every tab hears every change).
 */
export interface AuthClientEvents {
  /** A sign-in in this tab or another, or a session restored by `start()`. */
  signedIn: { user: ClientUser; expiresAt: number | null; fromOtherTab: boolean };
  /** `detail`: the server's error code or revocation reason, when there was one. */
  signedOut: { reason: SignOutReason; detail?: string; fromOtherTab: boolean };
  /** The access token was renewed; `expiresAt` is the new one's expiry (ms). */
  refreshed: { expiresAt: number; cause: RefreshCause; fromOtherTab: boolean };
  /** The server changed the user (roles, say); the app should redraw what depends on it. */
  claimsChanged: { user: ClientUser };
  /** A raw event from `/auth/events`, for logs and debugging. */
  serverEvent: { type: string; data: unknown };
}

/** The name of one of the {@link AuthClientEvents}. */
export type AuthClientEventName = keyof AuthClientEvents;

/** Options of {@link createAuthClient}; the defaults match the server's. */
export interface AuthClientOptions {
  /** Where the auth routes live; '' (the default) is this origin. */
  baseUrl?: string;
  /** Open `/auth/events` while signed in (default true). */
  events?: boolean;
  /** Names the BroadcastChannel, the Web Lock and the localStorage keys (default 'notbefore'). */
  channel?: string;
  /** The readable CSRF cookie (default '__Host-nb_csrf'). */
  csrfCookie?: string;
  /**
   * The passkey ceremony: `webauthn` from `notbefore/client/webauthn`. Without it the
   * passkey sign-in and `addPasskey` reject with `PASSKEY_UNSUPPORTED` (listing and removing
   * work on); apart, so that an app without passkeys does not carry it.
   */
  webauthn?: ClientWebAuthn;
}

/**
 * A passkey ceremony, as `notbefore/client/webauthn` exports one: `options()` fetches the
 * server's options JSON (base64url strings), the browser asks the user, and the credential
 * resolves as JSON (`PublicKeyCredential.toJSON()`). `kind` is `create` to add a passkey,
 * `get` to sign in; `signal` aborts it.
 */
export type ClientWebAuthn = (
  kind: 'create' | 'get',
  options: () => Promise<Record<string, unknown>>,
  signal?: AbortSignal,
) => Promise<Record<string, unknown>>;

/**
 * The browser client {@link createAuthClient} makes: the user's state, sign-in and sign-out,
 * and a `fetch` that keeps the session alive. Failed calls reject with an
 * {@link AuthClientError} that carries the server's code (or the client's own, at status 0:
 * `NETWORK_ERROR`, `PASSKEY_*`; `addPasskey`'s `PASSKEY_REJECTED` keeps the server's status).
 */
export interface AuthClient {
  /** The signed-in user, or null. */
  readonly user: ClientUser | null;
  /** True while a user is signed in. */
  readonly signedIn: boolean;
  /** When the access token expires (ms since epoch), as the server said; null when unknown. */
  readonly expiresAt: number | null;
  /** Listens to one event; returns the function that stops listening. */
  on<K extends AuthClientEventName>(
    type: K,
    listener: (detail: AuthClientEvents[K]) => void,
  ): () => void;
  /** Restores the session this browser already has; resolves the user or null. */
  start(): Promise<ClientUser | null>;
  /**
   * Creates the account and signs in (every tab hears it); resolves the user. `device` names
   * this browser in the sessions list (default: "Chrome on macOS", say). On a server that
   * requires a verified email nobody is signed in yet: it resolves a
   * {@link ClientSignupPending} (`checkEmail: true`) instead, for a new and a taken address
   * alike. Rejects with `WEAK_PASSWORD`, `VALIDATION_FAILED`, `EMAIL_TAKEN` (only where
   * verification is not required) or `RATE_LIMITED`.
   *
   * @example
   * ```ts
   * const result = await auth.signup({ email, password });
   * if ('checkEmail' in result) showNotice(`We sent a link to ${result.email}.`);
   * else showAccount(result);
   * ```
   */
  signup(input: {
    email: string;
    password: string;
    device?: string;
  }): Promise<ClientUser | ClientSignupPending>;
  /**
   * Signs in (cookies, never tokens, reach the page); every tab hears it. `device` defaults to a
   * label from the user agent. Rejects with `INVALID_CREDENTIALS`, `RATE_LIMITED` (see
   * `retryAfter`) or `ACCOUNT_DISABLED`; with `EMAIL_NOT_VERIFIED` when the server requires a
   * verified email and the password was right (it mails a fresh link); with `MFA_REQUIRED`
   * when the password was right and the account has TOTP: ask for the code and call again
   * with `otp` (a code from the app or a recovery code).
   */
  login(input: {
    email: string;
    password: string;
    device?: string;
    otp?: string;
  }): Promise<ClientUser>;
  /**
   * Redeems a mailed invitation (the token of its `#invitation=` link): creates the account
   * with the invited roles and signs in, like `signup` (every tab hears it). Rejects with
   * `LINK_INVALID` (unknown, used, expired or superseded), `WEAK_PASSWORD`, `EMAIL_TAKEN` or
   * `RATE_LIMITED`.
   *
   * @example
   * ```ts
   * const token = /^#invitation=(.+)$/.exec(location.hash)?.[1];
   * if (token) await auth.acceptInvitation({ token, password: chosenPassword });
   * ```
   */
  acceptInvitation(input: {
    token: string;
    password: string;
    device?: string;
  }): Promise<ClientUser>;
  /**
   * Signs out: every tab of this browser at once, then the server ends the session and clears the
   * cookies.
   */
  logout(): Promise<void>;
  /** Ends every session of the user; may need the password (REAUTHENTICATION_REQUIRED). */
  logoutAll(password?: string): Promise<void>;
  /**
   * Changes the password: the server ends every other session of the user, and this one goes on
   * with fresh tokens.
   */
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  /** Asks the server who is signed in, and updates `user`. */
  me(): Promise<MeAnswer>;
  /** The user's live sessions; this browser's has `current: true`. */
  sessions(): Promise<ClientSession[]>;
  /** Ends one of the user's sessions; another device's may need the password. */
  endSession(sid: string, password?: string): Promise<void>;
  /** Admin only. */
  setRoles(userId: string, roles: string[]): Promise<ClientUser>;
  /** Whether TOTP is on, and how many recovery codes are left. */
  mfa(): Promise<ClientMfaStatus>;
  /**
   * Starts a TOTP enrolment (a step-up: the recent sign-in, or `proof.password`). Show the
   * answer once, then call `confirmTotp` with the first code the app shows.
   */
  startTotp(proof?: ClientStepUp): Promise<ClientTotpEnrolment>;
  /**
   * Turns TOTP on with its first code; resolves the ten recovery codes, to show once. The
   * server ends every other session; this one goes on with fresh tokens (every tab).
   */
  confirmTotp(code: string): Promise<string[]>;
  /**
   * Turns TOTP off: needs a code (`otp`, or a recovery code) and a step-up. Every other
   * session ends; this one goes on.
   */
  removeTotp(otp: string, password?: string): Promise<void>;
  /** New recovery codes (the old ones die), behind a step-up; every other session ends. */
  regenerateRecoveryCodes(proof?: ClientStepUp): Promise<string[]>;
  /**
   * Adds a passkey (needs the `webauthn` option): the step-up (the recent sign-in, or
   * `password`, and `otp` with TOTP), then the browser asks the user to make one, then the
   * server stores it; resolves its id. The server ends every other session; this one goes
   * on with fresh tokens (every tab). `name` labels it in the list (default: this browser's
   * label, as for sessions); `signal` aborts the request for options and the browser's
   * prompt (not the final request: the authenticator holds the passkey by then). Rejects
   * with the server's codes (`REAUTHENTICATION_REQUIRED`, `INVALID_CREDENTIALS` for a wrong
   * `password` or `otp`, `NOT_FOUND` when the server has passkeys off, …) and the browser's:
   * `PASSKEY_UNSUPPORTED` (also without the option), `PASSKEY_CANCELLED` (the user closed the
   * prompt, or it timed out), `PASSKEY_ABORTED`, `PASSKEY_EXISTS` (this authenticator already
   * holds one of this account), `PASSKEY_FAILED`. After the prompt, the server's refusal of the
   * new passkey itself (its challenge expired, after 5 minutes, or the answer does not verify)
   * is `PASSKEY_REJECTED`, with the server's `status` and its error as `cause`
   * (`INVALID_CREDENTIALS` or `VALIDATION_FAILED`): so an app tells it from a refused step-up.
   *
   * @example
   * ```ts
   * try {
   *   await auth.addPasskey({ password });
   * } catch (error) {
   *   const code = (error as AuthClientError).code;
   *   if (code === 'INVALID_CREDENTIALS') askPasswordAgain();
   *   else if (code === 'PASSKEY_REJECTED') showError('Not saved: add the passkey again.');
   *   else if (code !== 'PASSKEY_CANCELLED') showError(error);
   * }
   * ```
   */
  addPasskey(input?: ClientStepUp & { name?: string; signal?: AbortSignal }): Promise<string>;
  /**
   * Signs in with a passkey, no password (needs the `webauthn` option): exactly like
   * `login`, and every tab hears it. With
   * `email`, that account's passkeys are offered; without, any passkey of this site
   * (discoverable). Rejects with `INVALID_CREDENTIALS` (refused by the server),
   * `ACCOUNT_DISABLED`, `RATE_LIMITED`, `NOT_FOUND` (passkeys off), and the browser's codes
   * of `addPasskey` (`PASSKEY_CANCELLED` also when this device has no passkey for the site).
   *
   * @example
   * ```ts
   * try {
   *   await auth.loginWithPasskey();
   * } catch (error) {
   *   if ((error as AuthClientError).code !== 'PASSKEY_CANCELLED') showError(error);
   * }
   * ```
   */
  loginWithPasskey(input?: {
    email?: string;
    device?: string;
    signal?: AbortSignal;
  }): Promise<ClientUser>;
  /** The user's passkeys, oldest first. */
  passkeys(): Promise<ClientPasskey[]>;
  /**
   * Removes a passkey, behind a step-up (the recent sign-in, or `proof`). Every other session
   * ends; this one goes on.
   */
  removePasskey(id: string, proof?: ClientStepUp): Promise<void>;
  /** Refreshes now (coordinated across tabs); resolves false when the session is gone. */
  refresh(): Promise<boolean>;
  /** `fetch` with the cookies, the CSRF header, and one refresh-and-retry on an expired token. */
  fetch(input: string | URL, init?: RequestInit): Promise<Response>;
  /**
   * Stops the timers, the event stream and the tab channel, and drops every listener. The session
   * goes on: the cookies are untouched.
   */
  close(): void;
}
