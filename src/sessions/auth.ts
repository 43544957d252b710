import { randomBytes } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { AuthError } from '../errors.js';
import { memoryFeed } from '../feeds/memory.js';
import type { RevocationFeed } from '../feeds/port.js';
import { RevocationList } from '../revocation/list.js';
import type {
  LoggedRevocation,
  RevokeUserInput,
  Store,
  StoredSession,
  StoredUser,
} from '../stores/port.js';
import { Keyring } from '../tokens/keyring.js';
import { createSigner } from '../tokens/sign.js';
import type { AccessTokenClaims } from '../tokens/types.js';
import { type AccessTokenVerifier, createAccessTokenVerifier } from '../tokens/verify.js';
import { resolveOptions } from './options.js';
import {
  assertPasswordInput,
  assertStrongPassword,
  contextWords,
  normaliseEmail,
  passwordHasher,
} from './passwords.js';
import { hashRefreshToken, newRefreshToken, successorOf } from './refresh-tokens.js';
import { revocationPipeline } from './revocations.js';
import { createThrottle } from './throttle.js';
import type { Auth, AuthOptions, SessionInfo, SignedIn, StepUp, User } from './types.js';
import {
  assertId,
  assertObject,
  assertRoles,
  isRefreshTokenShape,
  MAX_CLIENT_KEY_LENGTH,
  MAX_DEVICE_LENGTH,
  optionalText,
} from './validate.js';

/** Store secret names: the private JWKS (when no keyring is given) and the successor key. */
export const KEYS_SECRET = 'signing-keys';
export const REFRESH_SECRET = 'refresh-successor';
const PURGE_EVERY_MS = 3_600_000;
/** How often the store's revocation log is read besides the feed (at most). */
const CATCH_UP_EVERY_MS = 1000;
const KEY_RELOAD_MS = 5_000;
/** Ended sessions and old log entries are kept this long for audit before purging (s). */
const MIN_RETENTION_S = 86_400;

type Signer = ReturnType<typeof createSigner>;

interface Live {
  keyring: Keyring;
  signer: Signer;
  verifier: AccessTokenVerifier;
  refreshSecret: Buffer;
  /** The stored JSON of the keyring, when the keys live in the store. */
  storedKeys: string | null;
}

const publicUser = (user: StoredUser): User => ({
  id: user.id,
  email: user.email,
  roles: [...user.roles],
  disabled: user.disabled,
  createdAt: user.createdAt,
});

/**
 * Sessions over a store, a feed and the token layer. The hot path (`verify`) is the
 * token verifier with this instance's revocation list: memory only. Every revocation is
 * written to the store first (one transaction), then applied here, then published.
 */
export function createAuth(options: AuthOptions = {}): Auth {
  const resolved = resolveOptions(options);
  const clock: Clock = options.clock ?? systemClock;
  const ownsStore = options.store === undefined;
  const ownsFeed = options.feed === undefined;
  const feed: RevocationFeed = options.feed ?? memoryFeed({ clock });
  let store: Store | undefined = options.store;
  const hasher = passwordHasher(resolved.password);
  const ttlMs = resolved.accessTokenTtl * 1000;
  const windowMs = (resolved.accessTokenTtl + resolved.clockSkew) * 1000;
  const list = new RevocationList({
    clock,
    maxTokenLifetime: resolved.accessTokenTtl,
    clockSkew: resolved.clockSkew,
  });
  const maxStalenessMs = resolved.maxStaleness * 1000;
  /** The feed and the store's log each confirm the list is current; the later counts. */
  const confirmedAt = (): number => Math.max(feed.confirmedAt(), pipeline.storeConfirmedAt());
  const adminEmails = new Set(resolved.adminEmails.map((e) => normaliseEmail(e)));
  const isBreached = options.isBreached;

  let live: Live | undefined;
  let starting: Promise<void> | undefined;
  let purgeTimer: NodeJS.Timeout | undefined;
  let catchUpTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const db = (): Store => {
    if (store === undefined) throw new Error('createAuth: not started');
    return store;
  };
  const current = (): Live => {
    if (live === undefined)
      throw new AuthError('REVOCATION_STATE_STALE', 'The auth service is not ready yet.');
    return live;
  };
  const pipeline = revocationPipeline({
    get store() {
      return db();
    },
    feed,
    list,
    now: () => clock.now(),
    windowMs,
    onError: () => {
      // Failures here are retried (publish) or repaired by a reload (lost feed); the
      // store already holds every revocation, so there is nothing to lose.
    },
  });
  let throttler: ReturnType<typeof createThrottle> | undefined;
  const throttle = () => {
    throttler ??= createThrottle(db(), clock, resolved.throttle);
    return throttler;
  };

  const build = (keyring: Keyring, refreshSecret: Buffer, storedKeys: string | null): Live => ({
    keyring,
    refreshSecret,
    storedKeys,
    signer: createSigner({
      keyring,
      issuer: resolved.issuer,
      audience: resolved.audience,
      ttl: resolved.accessTokenTtl,
      clock,
    }),
    verifier: createAccessTokenVerifier({
      keyring,
      issuer: resolved.issuer,
      audience: resolved.audience,
      clock,
      clockSkew: resolved.clockSkew,
      revocation: list,
      onUnknownKid: reloadSoon,
    }),
  });

  /**
   * A token signed with a kid we do not know may come from an instance that rotated the
   * shared keys: re-read them from the store, at most once per KEY_RELOAD_MS (so random
   * kids cannot make every request a store read). That token is refused; later ones pass.
   */
  let lastKeyReload = Number.NEGATIVE_INFINITY;
  const reloadSoon = () => {
    const now = clock.now();
    if (options.keys !== undefined || now - lastKeyReload < KEY_RELOAD_MS) return;
    lastKeyReload = now;
    auth.reloadKeys().catch(() => {});
  };

  const loadKeys = async (): Promise<{ keyring: Keyring; stored: string | null }> => {
    if (options.keys !== undefined) return { keyring: options.keys, stored: null };
    const fresh = JSON.stringify(Keyring.generate('EdDSA').toPrivateJwks());
    const stored = await db().getOrCreateSecret(KEYS_SECRET, fresh);
    return { keyring: Keyring.fromJwks(JSON.parse(stored)), stored };
  };

  const start = async () => {
    if (store === undefined) {
      // Imported lazily so better-sqlite3 stays out of the graph when a store is passed.
      const { sqliteStore } = await import('../stores/sqlite.js');
      store = sqliteStore(':memory:');
    }
    await store.init();
    // Makes the dummy hash now, so the first unknown-email login costs one hash like any other.
    await hasher.burn('');
    const { keyring, stored } = await loadKeys();
    const secret = await store.getOrCreateSecret(
      REFRESH_SECRET,
      randomBytes(32).toString('base64url'),
    );
    const refreshSecret = Buffer.from(secret, 'base64url');
    pipeline.attach();
    await pipeline.reload();
    await feed.start();
    await purge();
    purgeTimer = setInterval(() => {
      purge().catch(() => {});
    }, PURGE_EVERY_MS);
    purgeTimer.unref();
    // The feed is the fast path; this read of the store's log is the safety net that keeps
    // the instance current (and `verify` answering) while the feed is down, and that
    // delivers a revocation whose publisher could not reach the feed.
    catchUpTimer = setInterval(
      () => {
        pipeline.catchUp().catch(() => {});
      },
      Math.min(CATCH_UP_EVERY_MS, (resolved.maxStaleness * 1000) / 3),
    );
    catchUpTimer.unref();
    live = build(keyring, refreshSecret, stored);
  };

  const purge = () =>
    db().purge(
      clock.now(),
      Math.max(windowMs, MIN_RETENTION_S * 1000, resolved.refreshReuseGrace * 1000),
    );

  const ready = (): Promise<void> => {
    if (closed) return Promise.reject(new Error('createAuth: closed'));
    // A failed start (store or feed unreachable) is retried by the next call.
    starting ??= start().catch((error: unknown) => {
      starting = undefined;
      throw error;
    });
    return starting;
  };

  const commit = (revocations: readonly LoggedRevocation[]) => pipeline.commit(revocations);

  /** Moves a user's watermark (with its change) in the store, then applies and publishes it. */
  const revokeUser = async (
    userId: string,
    scope: RevokeUserInput['scope'],
    cause: RevokeUserInput['cause'],
    change?: RevokeUserInput['change'],
  ): Promise<StoredUser | null> => {
    const result = await db().revokeUser({
      userId,
      nowMs: clock.now(),
      scope,
      cause,
      ...(change === undefined ? {} : { change }),
    });
    if (!result.ok) throw new AuthError('NOT_FOUND', 'No such user.');
    await commit([result.revocation]);
    return result.user;
  };

  const signIn = (
    user: StoredUser,
    session: StoredSession,
    issuedAt: number,
    refreshToken: string,
  ): SignedIn => {
    const iatMs = Math.max(issuedAt, list.cutoffFor(user.id));
    const expMs = Math.min(iatMs + ttlMs, session.absoluteExpiresAt);
    const { token, claims } = current().signer.sign({
      sub: user.id,
      sid: session.sid,
      roles: user.roles,
      authTime: session.authTime,
      iatMs,
      expMs,
    });
    return {
      accessToken: token,
      refreshToken,
      expiresAt: Math.floor(claims.exp * 1000),
      session: { sid: session.sid },
      user: publicUser(user),
      claims,
    };
  };

  const checkPassword = async (
    user: StoredUser | null,
    password: string,
    clientKey: string | undefined,
    account: string,
  ): Promise<StoredUser> => {
    const keys = { account, clientKey };
    await throttle().check(keys);
    // An unknown account costs one hash too, so timing does not tell which accounts exist.
    if (user === null) await hasher.burn(password);
    const ok = user !== null && (await hasher.verify(user.passwordHash, password));
    if (!ok || user === null) {
      await throttle().fail(keys);
      throw new AuthError('INVALID_CREDENTIALS', 'The email or password is wrong.');
    }
    await throttle().succeed(keys);
    return user;
  };

  const checkNewPassword = async (password: unknown, email: string): Promise<string> => {
    assertPasswordInput(password, resolved.password);
    assertStrongPassword(
      password,
      resolved.password,
      contextWords(resolved.issuer, email, resolved.bannedPasswordWords),
    );
    if (isBreached !== undefined) {
      let breached = false;
      try {
        breached = await isBreached(password);
      } catch {
        breached = false;
      }
      if (breached)
        throw new AuthError('WEAK_PASSWORD', 'This password appears in a known data breach.');
    }
    return hasher.hash(password);
  };

  /** ASVS 7.5.2: a password entered within reauthWindow, or the password again. */
  const stepUp = async (user: StoredUser, proof: StepUp): Promise<void> => {
    assertObject(proof, 'step-up');
    const now = clock.now();
    const windowMs = resolved.reauthWindow * 1000;
    if (proof.password !== undefined) {
      assertPasswordInput(proof.password, resolved.password);
      await checkPassword(user, proof.password, undefined, user.email);
      return;
    }
    if (proof.sid !== undefined) {
      assertId(proof.sid, 'sid');
      const session = await db().getSession(proof.sid);
      if (session !== null && session.userId === user.id && session.revokedAt === null) {
        if (now - session.authTime <= windowMs) return;
      }
    } else if (proof.authTime !== undefined) {
      if (typeof proof.authTime !== 'number' || !Number.isFinite(proof.authTime))
        throw new AuthError('VALIDATION_FAILED', 'Invalid authTime.');
      if (now - proof.authTime * 1000 <= windowMs) return;
    }
    throw new AuthError(
      'REAUTHENTICATION_REQUIRED',
      'Enter your password again to end other sessions.',
    );
  };

  const userOrThrow = async (userId: unknown): Promise<StoredUser> => {
    assertId(userId, 'userId');
    const user = await db().getUser(userId);
    if (user === null) throw new AuthError('NOT_FOUND', 'No such user.');
    return user;
  };

  const auth: Auth = {
    options: resolved,
    ready,

    async signup(input) {
      assertObject(input, 'signup input');
      const email = normaliseEmail(input.email);
      const roles = input.roles ?? [];
      assertRoles(roles);
      await ready();
      const passwordHash = await checkNewPassword(input.password, email);
      const withAdmin =
        adminEmails.has(email) && !roles.includes('admin') ? [...roles, 'admin'] : roles;
      const user = await db().createUser({
        id: randomBytes(16).toString('base64url'),
        email,
        passwordHash,
        roles: withAdmin,
        createdAt: clock.now(),
      });
      if (user === null) throw new AuthError('EMAIL_TAKEN', 'This email is already registered.');
      return publicUser(user);
    },

    async login(input) {
      assertObject(input, 'login input');
      const email = normaliseEmail(input.email);
      assertPasswordInput(input.password, resolved.password);
      const device = optionalText(input.device, 'device', MAX_DEVICE_LENGTH);
      const clientKey = optionalText(input.clientKey, 'clientKey', MAX_CLIENT_KEY_LENGTH);
      await ready();
      const found = await db().findUserByEmail(email);
      const user = await checkPassword(found, input.password, clientKey ?? undefined, email);
      if (user.disabled) throw new AuthError('ACCOUNT_DISABLED', 'This account is disabled.');
      let passwordHash = user.passwordHash;
      if (hasher.needsRehash(passwordHash)) {
        const next = await hasher.hash(input.password);
        if (await db().rehashPassword(user.id, passwordHash, next)) passwordHash = next;
      }
      const refreshToken = newRefreshToken();
      const now = clock.now();
      const result = await db().createSession({
        sid: randomBytes(16).toString('base64url'),
        userId: user.id,
        device,
        clientKey,
        nowMs: now,
        idleTtlMs: resolved.refreshIdleTtl * 1000,
        absoluteTtlMs: resolved.refreshAbsoluteTtl * 1000,
        refreshHash: hashRefreshToken(refreshToken),
        maxSessions: resolved.maxSessionsPerUser,
        expectPasswordHash: passwordHash,
      });
      if (!result.ok) {
        if (result.reason === 'disabled')
          throw new AuthError('ACCOUNT_DISABLED', 'This account is disabled.');
        throw new AuthError('INVALID_CREDENTIALS', 'The email or password is wrong.');
      }
      await commit(result.evicted);
      return signIn(result.user, result.session, result.issuedAt, refreshToken);
    },

    async refresh(refreshToken, context) {
      if (typeof refreshToken !== 'string')
        throw new AuthError('VALIDATION_FAILED', 'A refresh token is required.');
      if (context !== undefined) assertObject(context, 'context');
      if (!isRefreshTokenShape(refreshToken))
        throw new AuthError('REFRESH_TOKEN_INVALID', 'The refresh token is not valid.');
      await ready();
      const successor = successorOf(current().refreshSecret, refreshToken);
      const result = await db().rotateRefresh({
        presentedHash: hashRefreshToken(refreshToken),
        successorHash: hashRefreshToken(successor),
        nowMs: clock.now(),
        graceMs: resolved.refreshReuseGrace * 1000,
        idleTtlMs: resolved.refreshIdleTtl * 1000,
      });
      switch (result.kind) {
        case 'invalid':
          throw new AuthError('REFRESH_TOKEN_INVALID', 'The refresh token is not valid.');
        case 'expired':
          await commit([result.revocation]);
          throw new AuthError('SESSION_EXPIRED', 'The session has expired; sign in again.');
        case 'reused':
          await commit([result.revocation]);
          throw new AuthError(
            'REFRESH_TOKEN_REUSED',
            'A used refresh token was presented again; the session is revoked.',
          );
        default:
          return signIn(result.user, result.session, result.issuedAt, successor);
      }
    },

    verify(accessToken): AccessTokenClaims {
      const state = current();
      if (!resolved.failOpen && clock.now() - confirmedAt() > maxStalenessMs)
        throw new AuthError(
          'REVOCATION_STATE_STALE',
          'Revocation state is not current; try again shortly.',
        );
      return state.verifier.verify(accessToken);
    },

    async logout(sid) {
      assertId(sid, 'sid');
      await ready();
      const revocation = await db().revokeSession({ sid, nowMs: clock.now(), cause: 'logout' });
      if (revocation !== null) await commit([revocation]);
    },

    async revokeRefreshToken(refreshToken) {
      if (typeof refreshToken !== 'string')
        throw new AuthError('VALIDATION_FAILED', 'A refresh token is required.');
      if (!isRefreshTokenShape(refreshToken)) return;
      await ready();
      const session = await db().findSessionByRefresh(hashRefreshToken(refreshToken));
      if (session === null) return;
      const revocation = await db().revokeSession({
        sid: session.sid,
        nowMs: clock.now(),
        cause: 'logout',
      });
      if (revocation !== null) await commit([revocation]);
    },

    async logoutAll(userId, proof) {
      await ready();
      const user = await userOrThrow(userId);
      if (proof !== undefined) await stepUp(user, proof);
      await revokeUser(user.id, 'sessions', 'logout-all');
    },

    async revokeToken(jti, exp) {
      assertId(jti, 'jti');
      if (exp !== undefined && (typeof exp !== 'number' || !Number.isFinite(exp) || exp < 0))
        throw new AuthError('VALIDATION_FAILED', 'Invalid exp.');
      await ready();
      const now = clock.now();
      const expMs = exp === undefined ? now + ttlMs : exp > 1e11 ? exp : exp * 1000;
      await commit([await db().revokeToken({ jti, exp: Math.ceil(expMs), nowMs: now })]);
    },

    async changePassword(userId, currentPassword, next, changeOptions) {
      if (changeOptions !== undefined) assertObject(changeOptions, 'options');
      const keepSession = changeOptions?.keepSession;
      if (keepSession !== undefined) assertId(keepSession, 'keepSession');
      assertPasswordInput(currentPassword, resolved.password);
      assertPasswordInput(next, resolved.password);
      await ready();
      const user = await userOrThrow(userId);
      await checkPassword(user, currentPassword, undefined, user.email);
      const passwordHash = await checkNewPassword(next, user.email);
      const now = clock.now();
      const base = {
        userId: user.id,
        nowMs: now,
        scope: 'sessions' as const,
        cause: 'password' as const,
        change: { passwordHash },
        expectPasswordHash: user.passwordHash,
      };
      const refreshToken = newRefreshToken();
      let result =
        keepSession === undefined
          ? await db().revokeUser(base)
          : await db().revokeUser({
              ...base,
              keep: {
                sid: keepSession,
                refreshHash: hashRefreshToken(refreshToken),
                authTime: now,
              },
            });
      // The session to keep has ended meanwhile: change the password and end them all.
      if (!result.ok && result.reason === 'no-session') result = await db().revokeUser(base);
      if (!result.ok) {
        if (result.reason === 'no-user') throw new AuthError('NOT_FOUND', 'No such user.');
        throw new AuthError('INVALID_CREDENTIALS', 'The password was changed meanwhile.');
      }
      await commit([result.revocation]);
      if (result.kept === undefined || result.user === null) return null;
      return signIn(result.user, result.kept.session, result.kept.issuedAt, refreshToken);
    },

    async setRoles(userId, roles) {
      assertId(userId, 'userId');
      assertRoles(roles);
      await ready();
      const user = await revokeUser(userId, 'tokens', 'roles', { roles: [...new Set(roles)] });
      if (user === null) throw new AuthError('NOT_FOUND', 'No such user.');
      return publicUser(user);
    },

    async disableUser(userId) {
      assertId(userId, 'userId');
      await ready();
      await revokeUser(userId, 'sessions', 'disabled', { disabled: true });
    },

    async enableUser(userId) {
      assertId(userId, 'userId');
      await ready();
      if ((await db().enableUser(userId)) === null)
        throw new AuthError('NOT_FOUND', 'No such user.');
    },

    async deleteUser(userId, proof) {
      await ready();
      const user = await userOrThrow(userId);
      if (proof !== undefined) await stepUp(user, proof);
      await revokeUser(user.id, 'sessions', 'deleted', { deleted: true });
    },

    async revokeEveryone() {
      await ready();
      await commit([await db().revokeAll({ nowMs: clock.now() })]);
    },

    async listSessions(userId, currentSid) {
      assertId(userId, 'userId');
      if (currentSid !== undefined) assertId(currentSid, 'currentSid');
      await ready();
      const sessions = await db().listSessions(userId, clock.now());
      return sessions.map((s): SessionInfo => {
        const info: SessionInfo = {
          sid: s.sid,
          device: s.device,
          createdAt: s.createdAt,
          lastSeenAt: s.lastSeenAt,
        };
        if (currentSid !== undefined && s.sid === currentSid) info.current = true;
        return info;
      });
    },

    async getUser(userId) {
      assertId(userId, 'userId');
      await ready();
      const user = await db().getUser(userId);
      return user === null ? null : publicUser(user);
    },

    async endSession(userId, sid, actor) {
      assertId(sid, 'sid');
      assertObject(actor, 'actor');
      await ready();
      const user = await userOrThrow(userId);
      if (actor.sid !== sid) await stepUp(user, actor);
      const revocation = await db().revokeSession({
        sid,
        userId: user.id,
        nowMs: clock.now(),
        cause: actor.sid === sid ? 'logout' : 'revoked',
      });
      if (revocation === null) throw new AuthError('NOT_FOUND', 'No such session.');
      await commit([revocation]);
    },

    jwks() {
      return current().keyring.toPublicJwks() as { keys: JsonWebKey[] };
    },

    async rotateKeys() {
      await ready();
      const state = current();
      state.keyring.rotate(undefined, clock.now());
      state.keyring.prune(clock.now(), windowMs);
      if (state.storedKeys === null) return;
      const next = JSON.stringify(state.keyring.toPrivateJwks());
      if (await db().replaceSecret(KEYS_SECRET, state.storedKeys, next)) {
        state.storedKeys = next;
        return;
      }
      // Another instance rotated first: take its keys rather than fork the keyring.
      await auth.reloadKeys();
    },

    async reloadKeys() {
      await ready();
      const state = current();
      if (options.keys !== undefined) return;
      const { keyring, stored } = await loadKeys();
      if (stored === state.storedKeys) return;
      live = build(keyring, state.refreshSecret, stored);
    },

    async close() {
      if (closed) return;
      closed = true;
      if (purgeTimer !== undefined) clearInterval(purgeTimer);
      if (catchUpTimer !== undefined) clearInterval(catchUpTimer);
      await starting?.catch(() => {});
      pipeline.close();
      if (ownsFeed) await feed.close();
      if (ownsStore && store !== undefined) await store.close();
    },

    onRevocation(listener) {
      return pipeline.onRevocation(listener);
    },

    revocationStatus() {
      const at = confirmedAt();
      return {
        current: live !== undefined && clock.now() - at <= maxStalenessMs,
        confirmedAt: at,
        entries: list.stats(),
      };
    },
  };
  return auth;
}
