/** Shapes the browser client sees. The server's JSON, never a token: the page cannot read one. */

export interface ClientUser {
  id: string;
  email: string;
  roles: string[];
  [key: string]: unknown;
}

export interface ClientSession {
  sid: string;
  device: string | null;
  createdAt: number;
  lastSeenAt: number;
  current?: boolean;
}

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
export type RefreshCause = 'scheduled' | 'retry' | 'claims' | 'credential' | 'password' | 'resume';

export interface AuthClientEvents {
  signedIn: { user: ClientUser; expiresAt: number | null; fromOtherTab: boolean };
  /** `detail`: the server's error code or revocation reason, when there was one. */
  signedOut: { reason: SignOutReason; detail?: string; fromOtherTab: boolean };
  refreshed: { expiresAt: number; cause: RefreshCause; fromOtherTab: boolean };
  /** The server changed the user (roles, say); the app should redraw what depends on it. */
  claimsChanged: { user: ClientUser };
  /** A raw event from `/auth/events`, for logs and debugging. */
  serverEvent: { type: string; data: unknown };
}

export type AuthClientEventName = keyof AuthClientEvents;

export interface AuthClientOptions {
  /** Where the auth routes live; '' (the default) is this origin. */
  baseUrl?: string;
  /** Open `/auth/events` while signed in (default true). */
  events?: boolean;
  /** Names the BroadcastChannel, the Web Lock and the localStorage keys (default 'notbefore'). */
  channel?: string;
  /** The readable CSRF cookie (default '__Host-nb_csrf'). */
  csrfCookie?: string;
}

export interface AuthClient {
  readonly user: ClientUser | null;
  readonly signedIn: boolean;
  /** When the access token expires (ms since epoch), as the server said; null when unknown. */
  readonly expiresAt: number | null;
  on<K extends AuthClientEventName>(
    type: K,
    listener: (detail: AuthClientEvents[K]) => void,
  ): () => void;
  /** Restores the session this browser already has; resolves the user or null. */
  start(): Promise<ClientUser | null>;
  /** `device` names this browser in the sessions list (default: "Chrome on macOS", say). */
  signup(input: { email: string; password: string; device?: string }): Promise<ClientUser>;
  login(input: { email: string; password: string; device?: string }): Promise<ClientUser>;
  logout(): Promise<void>;
  /** Ends every session of the user; may need the password (REAUTHENTICATION_REQUIRED). */
  logoutAll(password?: string): Promise<void>;
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  me(): Promise<MeAnswer>;
  sessions(): Promise<ClientSession[]>;
  /** Ends one of the user's sessions; another device's may need the password. */
  endSession(sid: string, password?: string): Promise<void>;
  /** Admin only. */
  setRoles(userId: string, roles: string[]): Promise<ClientUser>;
  /** Refreshes now (coordinated across tabs); resolves false when the session is gone. */
  refresh(): Promise<boolean>;
  /** `fetch` with the cookies, the CSRF header, and one refresh-and-retry on an expired token. */
  fetch(input: string | URL, init?: RequestInit): Promise<Response>;
  close(): void;
}
