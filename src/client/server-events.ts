/**
 * What the server's events mean for this tab. A session revoked elsewhere signs it out; a
 * credential or claims change refreshes it, unless a tab of this browser caused the change
 * and already holds the fresh tokens.
 */

import type { StreamHandlers } from './stream.js';
import type { RefreshCause, SignOutReason } from './types.js';

/** What the events need of the client's state machine. */
export interface EventHost {
  signedIn(): boolean;
  signOut(reason: SignOutReason, detail?: string, fromOtherTab?: boolean): void;
  refresh(cause: RefreshCause): Promise<boolean>;
  /**
   * Signed in, and the server agrees (its 401 refreshes, or signs out); false when signed
   * out. Rejects when the server is out of reach.
   */
  check(): Promise<boolean>;
  /** Every raw event, for the app's `serverEvent` listeners. */
  told(type: string, data: unknown): void;
}

export interface ServerEvents extends StreamHandlers {
  /** A tab of this browser made this change (a refresh for new claims, a password change). */
  heard(cause: RefreshCause): void;
}

export function serverEvents(host: EventHost): ServerEvents {
  /** When another tab last told us of a claims refresh: our own event for it needs no refresh. */
  let claimsAt = 0;
  /**
   * When this browser last changed a credential (the password, a second factor): it already
   * holds the fresh tokens the server's `credential-change` event asks for.
   */
  let passwordAt = 0;
  return {
    heard(cause) {
      if (cause === 'claims') claimsAt = Date.now();
      if (cause === 'password' || cause === 'factor') passwordAt = Date.now();
    },
    onEvent(type, data) {
      host.told(type, data);
      if (!host.signedIn()) return;
      if (type === 'session-revoked') {
        const raw = (data as { reason?: unknown } | null)?.reason;
        const why = typeof raw === 'string' ? raw : undefined;
        // Only a tab of this browser can log this very session out.
        if (why === 'logout') host.signOut('logout', why, true);
        else host.signOut(why === 'logout-all' ? 'logout-all' : 'session-revoked', why);
      } else if (type === 'credential-change') {
        if (Date.now() - passwordAt > 5_000) void host.refresh('credential');
      } else if (Date.now() - claimsAt > 2_000) {
        void host.refresh('claims');
      }
    },
    recover: host.check,
    opened() {
      // A 401 here refreshes, and signs out if the session ended while we connected.
      host.check().catch(() => {});
    },
  };
}
