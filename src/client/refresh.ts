/**
 * One refresh for every tab. Refreshes run under a cross-tab lock, and a tab that gets the
 * lock first checks whether another tab already refreshed since it decided to (the shared
 * stamp moved): then it takes those cookies and sends nothing, so ten tabs waking at once
 * send one request and never trip the server's reuse detection. Within one tab, callers
 * that ask at the same time share one run.
 */

import { readCookie, toError } from './http.js';
import { sleep, withLock } from './lock.js';
import { newStamp, type Tabs } from './tabs.js';
import type { ClientUser, RefreshCause, SignOutReason } from './types.js';

/** Holding the lock a moment after a refresh lets every tab see the new stamp first. */
const HOLD_MS = 100;

/** What the refresh needs of the client's state machine. */
export interface RefreshHost {
  /** Names the cookies this tab holds; '' when signed out. */
  stamp(): string;
  /** Takes on the tokens named `stamp` (from another tab when `fromOtherTab`). */
  adopt(
    expiresAt: number | null,
    stamp: string,
    cause: RefreshCause,
    fromOtherTab: boolean,
    user?: ClientUser,
  ): void;
  signOut(reason: SignOutReason, detail: string): void;
  /** Tries again after `ms`: offline, or the server could not answer. */
  retryIn(ms: number): void;
  send(url: string, init: RequestInit): Promise<Response>;
}

export interface Refresher {
  /** Refreshes unless another tab has since `seen`; false when the session is gone or out of reach. */
  refresh(cause: RefreshCause, seen: string): Promise<boolean>;
  /** Runs `fn` holding the refresh lock: no tab refreshes meanwhile (locks do not nest). */
  locked<T>(fn: () => Promise<T>): Promise<T>;
  /** Takes on tokens this tab just received, tells the other tabs, then lets them catch up. */
  renewed(expiresAt: number | null, cause: RefreshCause, user?: ClientUser): Promise<void>;
}

export function createRefresher(
  lock: string,
  url: string,
  csrfCookie: string,
  tabs: Tabs,
  host: RefreshHost,
): Refresher {
  let pending: Promise<boolean> | null = null;
  const locked = <T>(fn: () => Promise<T>) => withLock(lock, fn);
  const later = () => host.retryIn(5_000 + Math.random() * 5_000);

  async function renewed(exp: number | null, cause: RefreshCause, user?: ClientUser) {
    const stamp = newStamp();
    host.adopt(exp, stamp, cause, false, user);
    tabs.write({ expiresAt: exp, stamp });
    const expiresAt = exp ?? 0;
    tabs.post({ t: 'ref', expiresAt, stamp, cause, ...(user ? { user } : {}) });
    await sleep(HOLD_MS);
  }

  const run = (cause: RefreshCause, seen: string) =>
    locked(async () => {
      const shared = tabs.read();
      if (shared && shared.stamp !== seen && (shared.expiresAt ?? 0) > Date.now() + 1_000) {
        host.adopt(shared.expiresAt, shared.stamp, cause, true);
        return true;
      }
      const stamp = host.stamp();
      if (stamp !== seen && stamp) return true; // a broadcast already brought fresh cookies
      if (readCookie(csrfCookie) === null) {
        // No CSRF cookie, no session: the server would refuse, so do not ask.
        host.signOut('refresh-failed', 'TOKEN_MISSING');
        return false;
      }
      let res: Response;
      try {
        res = await host.send(url, { method: 'POST' });
      } catch {
        later(); // offline: keep the session, try again
        return false;
      }
      if (!res.ok) {
        const err = await toError(res);
        if (res.status === 401 || res.status === 403) host.signOut('refresh-failed', err.code);
        else later();
        return false;
      }
      const answer = (await res.json()) as { expiresAt?: unknown; user?: ClientUser };
      await renewed(
        typeof answer.expiresAt === 'number' ? answer.expiresAt : null,
        cause,
        answer.user,
      );
      return true;
    });

  return {
    refresh(cause, seen) {
      pending ??= run(cause, seen).finally(() => {
        pending = null;
      });
      return pending;
    },
    locked,
    renewed,
  };
}
