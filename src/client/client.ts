/**
 * The client's state machine: who is signed in, when the access token expires, and the stamp
 * every tab shares; sign-in, refresh and sign-out, each told to the other tabs. The seams
 * live beside it: requests (http.ts), the cross-tab refresh (refresh.ts), the tabs' channel
 * (tabs.ts), and the server's event stream (stream.ts, server-events.ts).
 */

import { describeDevice } from './device.js';
import {
  AuthClientError,
  jsonInit,
  originOf,
  readCookie,
  readJson,
  send as sendOnce,
  toError,
} from './http.js';
import { createRefresher } from './refresh.js';
import { refreshDelay } from './schedule.js';
import { serverEvents } from './server-events.js';
import { createStream } from './stream.js';
import { newStamp, openTabs, type TabMessage } from './tabs.js';
import type {
  AuthClient,
  AuthClientEventName,
  AuthClientEvents,
  AuthClientOptions,
  ClientMfaStatus,
  ClientPasskey,
  ClientSession,
  ClientSignupPending,
  ClientStepUp,
  ClientTotpEnrolment,
  ClientUser,
  MeAnswer,
  RefreshCause,
  SignOutReason,
} from './types.js';

interface SignInAnswer {
  expiresAt?: number;
  session?: { sid?: string };
  user?: ClientUser;
}

/** 401 codes a refresh can cure (or must prove incurable before we sign out). */
const REFRESHABLE = ['TOKEN_EXPIRED', 'TOKEN_REVOKED', 'TOKEN_MISSING'];
/** The server's refusals of a new passkey itself (after the prompt): PASSKEY_REJECTED. */
const REJECTED = ['INVALID_CREDENTIALS', 'VALIDATION_FAILED'];
const GET: RequestInit = { method: 'GET' };

/**
 * Makes the browser client of the auth routes at `baseUrl`: tokens stay in HttpOnly cookies,
 * one refresh serves every tab, and a sign-out reaches every tab and device. Call `start()`
 * once to restore the session the browser already has.
 *
 * @example
 * ```ts
 * import { createAuthClient } from 'notbefore/client';
 *
 * const auth = createAuthClient();
 * auth.on('signedOut', ({ reason }) => showSignIn(reason));
 * const user = (await auth.start()) ?? (await auth.login({ email, password }));
 * const res = await auth.fetch('/api/orders', { method: 'POST', body: JSON.stringify(order) });
 * ```
 */
export function createAuthClient(options: AuthClientOptions = {}): AuthClient {
  const base = (options.baseUrl ?? '').replace(/\/$/, '');
  const name = options.channel ?? 'notbefore';
  const csrfCookie = options.csrfCookie ?? '__Host-nb_csrf';
  const events = options.events !== false;
  /** Where the CSRF token may go: this page's origin and the auth server's (baseUrl). */
  const trusted = [originOf('/'), originOf(base || '/')].filter((o) => o !== null);
  const listeners = new Map<string, Set<(detail: never) => void>>();

  let user: ClientUser | null = null;
  let expiresAt: number | null = null;
  /** Names the sign-in or refresh behind the current cookies; shared by every tab. */
  let stamp = '';
  let sid: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** Counts user updates from the server, so a claims refresh knows whether it still needs /me. */
  let userSeq = 0;

  const emit = <K extends AuthClientEventName>(type: K, detail: AuthClientEvents[K]) => {
    for (const fn of listeners.get(type) ?? []) {
      try {
        (fn as (d: AuthClientEvents[K]) => void)(detail);
      } catch (e) {
        setTimeout(() => {
          throw e; // A listener's bug must not break the client; report it like the browser would.
        });
      }
    }
  };

  const send = (url: string, init: RequestInit) => sendOnce(url, init, csrfCookie, trusted);

  /** Sends once; on a 401 a refresh can cure, refreshes (once, for every tab) and resends. */
  async function call(url: string, init: RequestInit, retry = true): Promise<Response> {
    const seen = stamp;
    const res = await send(url, init);
    if (res.status !== 401 || !retry) return res;
    const err = await toError(res);
    if (!REFRESHABLE.includes(err.code)) return res;
    const ok = await refreshFor(err.reason === 'claims' ? 'claims' : 'retry', seen);
    return ok ? send(url, init) : res;
  }

  const api = (path: string, init: RequestInit = GET, retry = true) =>
    call(base + path, init, retry);

  const tabs = openTabs(name, onTabMessage);
  const refresher = createRefresher(`${name}:refresh`, `${base}/auth/refresh`, csrfCookie, tabs, {
    stamp: () => stamp,
    adopt,
    signOut,
    retryIn: schedule,
    send,
  });
  const server = serverEvents({
    signedIn: () => user !== null,
    signOut,
    refresh: (cause) => refreshFor(cause, stamp),
    check: async () => user !== null && (await api('/auth/me')).ok,
    told: (type, data) => emit('serverEvent', { type, data }),
  });
  const stream = createStream(`${base}/auth/events`, server);

  function schedule(delay?: number) {
    clearTimeout(timer);
    if (!user || expiresAt === null) return;
    const ms = delay ?? refreshDelay(expiresAt, Date.now(), Math.random());
    timer = setTimeout(() => void refreshFor('scheduled', stamp), ms);
  }

  /** Takes on tokens someone (this tab, another tab, the server) just produced. */
  function adopt(
    exp: number | null,
    st: string,
    cause: RefreshCause,
    fromOtherTab: boolean,
    who?: ClientUser,
  ) {
    if (st === stamp) return;
    expiresAt = exp;
    stamp = st;
    if (!user) return;
    schedule();
    if (events) stream.open(); // the stream authenticates with the new cookie
    if (exp !== null) emit('refreshed', { expiresAt: exp, cause, fromOtherTab });
    if (who) updateUser(who);
  }

  /** A user object fresh from the server; announces changed roles (or any other field). */
  function updateUser(who: ClientUser) {
    userSeq += 1;
    if (!user || JSON.stringify(who) === JSON.stringify(user)) return;
    user = who;
    emit('claimsChanged', { user: who });
  }

  function publish(message: TabMessage) {
    tabs.write({ expiresAt, stamp });
    tabs.post(message);
  }

  /** Signed in: by this tab (`st` undefined: a new stamp, told to the others) or another. */
  function enter(who: ClientUser, exp: number | null, newSid: string | null, st?: string) {
    user = who;
    sid = newSid;
    expiresAt = exp;
    stamp = st ?? newStamp();
    if (st === undefined) publish({ t: 'in', user: who, expiresAt, stamp });
    schedule();
    if (events) stream.open();
    emit('signedIn', { user: who, expiresAt, fromOtherTab: st !== undefined });
  }

  /** `fromOtherTab`: told by another tab, or by the server about another tab's logout. */
  function signOut(
    reason: SignOutReason,
    detail?: string,
    fromOtherTab = false,
    quiet = fromOtherTab,
  ) {
    if (!user && !stamp) return;
    const was = stamp;
    const told = detail === undefined ? {} : { detail };
    user = null;
    expiresAt = null;
    stamp = '';
    sid = null;
    clearTimeout(timer);
    stream.close();
    if (!quiet) {
      // Another tab may already have signed in anew: never wipe its state.
      if (tabs.read()?.stamp === was) tabs.write(null);
      tabs.post({ t: 'out', reason, stamp: was, ...told });
    }
    emit('signedOut', { reason, fromOtherTab, ...told });
  }

  function onTabMessage(m: TabMessage) {
    if (m.t === 'in') enter(m.user, m.expiresAt, null, m.stamp);
    else if (m.t === 'out') {
      // An old session's end must not sign out the one a tab started since.
      if (m.stamp && stamp && m.stamp !== stamp) return;
      signOut(m.reason, m.detail, true);
    } else {
      server.heard(m.cause);
      adopt(m.expiresAt, m.stamp, m.cause, true, m.user);
    }
  }

  async function refreshFor(cause: RefreshCause, seen: string): Promise<boolean> {
    const before = userSeq;
    const ok = await refresher.refresh(cause, seen);
    // New claims and no fresh user from the refresh (another tab's cookies): ask.
    if (ok && cause === 'claims' && user && userSeq === before) {
      updateUser((await readJson<MeAnswer>(await api('/auth/me', GET, false))).user);
    }
    return ok;
  }

  /** `accepted`: what a 202 resolves (the server took the request and signed nobody in). */
  async function signInWith<P = never>(
    path: string,
    body: Record<string, unknown>,
    accepted?: () => P,
  ): Promise<ClientUser | P> {
    stream.close(); // the old session's stream would report its own end as ours
    let answer: SignInAnswer;
    try {
      const res = await api(path, jsonInit('POST', body), false);
      if (res.status === 202 && accepted !== undefined) {
        if (user && events) stream.open(); // nothing changed for this browser's session
        return accepted();
      }
      answer = await readJson<SignInAnswer>(res);
    } catch (error) {
      if (user && events) stream.open(); // a wrong password ends nothing
      throw error;
    }
    const who = answer.user ?? (await readJson<MeAnswer>(await api('/auth/me', GET, false))).user;
    enter(
      who,
      typeof answer.expiresAt === 'number' ? answer.expiresAt : null,
      answer.session?.sid ?? null,
    );
    return who;
  }

  async function expect(res: Response): Promise<void> {
    if (!res.ok) throw await toError(res);
  }

  /**
   * A credential change that re-issues this session's tokens (the old ones die with every
   * other session): under the refresh lock, so that no tab sends the old refresh token
   * meanwhile, and then told to every tab. Locks do not nest, so a 401 is cured outside
   * it and the change tried once more. Resolves the answer's body.
   */
  async function renewing<T>(path: string, init: RequestInit, cause: RefreshCause): Promise<T> {
    const attempt = () =>
      refresher.locked(async (): Promise<{ refused: Response } | { answer: T }> => {
        const res = await api(path, init, false);
        if (res.status === 401) return { refused: res };
        const answer = await readJson<T & SignInAnswer>(res);
        server.heard(cause);
        const exp = typeof answer?.expiresAt === 'number' ? answer.expiresAt : expiresAt;
        await refresher.renewed(exp, cause, answer?.user);
        return { answer };
      });
    const seen = stamp;
    let result = await attempt();
    if ('refused' in result && REFRESHABLE.includes((await toError(result.refused)).code)) {
      if (await refreshFor('retry', seen)) result = await attempt();
    }
    if ('refused' in result) throw await toError(result.refused);
    return result.answer;
  }

  const stepUpBody = (proof: ClientStepUp = {}) => ({
    ...(proof.password === undefined ? {} : { password: proof.password }),
    ...(proof.otp === undefined ? {} : { otp: proof.otp }),
  });

  /** The options at `path` (asked with `body`), then the browser's prompt: the credential. */
  async function passkey(path: string, body: object, create: boolean, signal?: AbortSignal) {
    if (!options.webauthn)
      throw new AuthClientError(
        'PASSKEY_UNSUPPORTED',
        0,
        'createAuthClient({ webauthn }) not given.',
      );
    const init = { ...jsonInit('POST', body), ...(signal && { signal }) };
    // A sign-in's options need no session: nothing for a refresh to cure.
    return options.webauthn(
      create ? 'create' : 'get',
      async () => readJson(await api(path, init, create)),
      signal,
    );
  }

  return {
    get user() {
      return user;
    },
    get signedIn() {
      return user !== null;
    },
    get expiresAt() {
      return expiresAt;
    },
    on(type, listener) {
      const set = listeners.get(type) ?? new Set();
      listeners.set(type, set);
      set.add(listener as (detail: never) => void);
      return () => set.delete(listener as (detail: never) => void);
    },
    async start() {
      const shared = tabs.read();
      if (shared && (shared.expiresAt ?? 0) > Date.now()) {
        stamp = shared.stamp;
        expiresAt = shared.expiresAt;
      }
      const res = await api('/auth/me');
      if (res.status === 401) {
        signOut('refresh-failed');
        return null;
      }
      const me = await readJson<MeAnswer & { expiresAt?: number }>(res);
      user = me.user;
      if (typeof me.expiresAt === 'number') expiresAt = me.expiresAt;
      else if (expiresAt === null && typeof me.claims.exp === 'number')
        expiresAt = me.claims.exp * 1000;
      if (!stamp) {
        stamp = newStamp();
        publish({ t: 'ref', expiresAt: expiresAt ?? 0, stamp, cause: 'resume' });
      }
      schedule();
      if (events) stream.open();
      emit('signedIn', { user: me.user, expiresAt, fromOtherTab: false });
      return me.user;
    },
    // requireVerifiedEmail: the same 202 for a new and a taken address, and a mail follows.
    signup: (input) =>
      signInWith(
        '/auth/signup',
        { device: describeDevice(), ...input },
        (): ClientSignupPending => ({ checkEmail: true, email: input.email }),
      ),
    login: (input) => signInWith('/auth/login', { device: describeDevice(), ...input }),
    acceptInvitation: (input) =>
      signInWith('/auth/invitations/accept', { device: describeDevice(), ...input }),
    async logout() {
      // Every tab hears at once; the request (which clears the cookies) follows.
      const csrf = readCookie(csrfCookie);
      signOut('logout');
      const headers: Record<string, string> = csrf === null ? {} : { 'x-csrf-token': csrf };
      const res = await send(`${base}/auth/logout`, { method: 'POST', headers, keepalive: true });
      if (!res.ok && res.status !== 401) throw await toError(res);
    },
    async logoutAll(password) {
      await expect(
        await api('/auth/logout-all', jsonInit('POST', password === undefined ? {} : { password })),
      );
      signOut('logout-all');
    },
    async changePassword(currentPassword, newPassword) {
      const init = jsonInit('POST', { currentPassword, newPassword });
      await renewing('/auth/password', init, 'password');
    },
    async me() {
      const me = await readJson<MeAnswer>(await api('/auth/me'));
      updateUser(me.user);
      return me;
    },
    async sessions() {
      const body = await readJson<ClientSession[] | { sessions: ClientSession[] }>(
        await api('/auth/sessions'),
      );
      const list = Array.isArray(body) ? body : body.sessions;
      sid = list.find((s) => s.current)?.sid ?? sid;
      return list;
    },
    async endSession(target, password) {
      const init = jsonInit('DELETE', password === undefined ? {} : { password });
      await expect(await api(`/auth/sessions/${encodeURIComponent(target)}`, init));
      if (target === sid) signOut('session-ended');
    },
    async setRoles(userId, roles) {
      const init = jsonInit('PUT', { roles });
      const body = await readJson<ClientUser | { user: ClientUser }>(
        await api(`/admin/users/${encodeURIComponent(userId)}/roles`, init),
      );
      return 'user' in body && typeof body.user === 'object'
        ? (body.user as ClientUser)
        : (body as ClientUser);
    },
    mfa: async () => readJson<ClientMfaStatus>(await api('/auth/mfa')),
    async startTotp(proof) {
      return readJson<ClientTotpEnrolment>(
        await api('/auth/mfa/totp', jsonInit('POST', stepUpBody(proof))),
      );
    },
    async confirmTotp(code) {
      const init = jsonInit('POST', { code });
      const answer = await renewing<{ recoveryCodes: string[] }>(
        '/auth/mfa/totp/confirm',
        init,
        'factor',
      );
      return answer.recoveryCodes;
    },
    async removeTotp(otp, password) {
      const init = jsonInit(
        'DELETE',
        stepUpBody(password === undefined ? { otp } : { otp, password }),
      );
      await renewing('/auth/mfa/totp', init, 'factor');
    },
    async regenerateRecoveryCodes(proof) {
      const init = jsonInit('POST', stepUpBody(proof));
      const answer = await renewing<{ recoveryCodes: string[] }>(
        '/auth/mfa/recovery-codes',
        init,
        'factor',
      );
      return answer.recoveryCodes;
    },
    async addPasskey({ name = describeDevice(), signal, ...proof } = {}) {
      const response = await passkey(
        '/auth/passkeys/register/options',
        stepUpBody(proof),
        true,
        signal,
      );
      // The answer comes after the prompt: an abort then would leave a passkey the server lacks.
      const init = jsonInit('POST', { response, name });
      try {
        return (await renewing<{ id: string }>('/auth/passkeys/register', init, 'factor')).id;
      } catch (error) {
        // Its INVALID_CREDENTIALS (an expired challenge, say) is no wrong step-up password.
        if (!(error instanceof AuthClientError) || !REJECTED.includes(error.code)) throw error;
        const rejected = new AuthClientError('PASSKEY_REJECTED', error.status, error.message);
        rejected.cause = error;
        throw rejected;
      }
    },
    async loginWithPasskey({ email, signal, ...input } = {}) {
      const response = await passkey(
        '/auth/passkeys/login/options',
        email === undefined ? {} : { email },
        false,
        signal,
      );
      return signInWith('/auth/passkeys/login', { device: describeDevice(), ...input, response });
    },
    passkeys: async () =>
      (await readJson<{ passkeys: ClientPasskey[] }>(await api('/auth/passkeys'))).passkeys,
    async removePasskey(id, proof) {
      const init = jsonInit('DELETE', stepUpBody(proof));
      await renewing(`/auth/passkeys/${encodeURIComponent(id)}`, init, 'factor');
    },
    refresh: () => refreshFor('retry', stamp),
    fetch: (input, init = {}) => call(String(input), init),
    close() {
      clearTimeout(timer);
      stream.close();
      tabs.close();
      listeners.clear();
    },
  };
}
