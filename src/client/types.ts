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
