/**
 * `notbefore`: the core. {@link createAuth} (sign-up, sign-in, refresh rotation and every kind
 * of revocation, over a store and a feed), {@link createVerifier} for services that only
 * verify, the errors, the clock, the in-process feed, the token layer, and the port types for
 * authors of other stores and feeds. Loads no framework and no driver (only `createAuth()`
 * without a `store` needs `better-sqlite3`, for its in-memory default).
 *
 * @module notbefore
 */
export type { Clock, ManualClock } from './clock.js';
export { manualClock, systemClock } from './clock.js';
export type { AuthErrorCode, AuthErrorOptions, RevocationReason } from './errors.js';
export { AuthError, ERROR_STATUS, isAuthError } from './errors.js';
export { memoryFeed } from './feeds/memory.js';
// The port types, for authors of other stores and feeds (see also `notbefore/testing`).
export type * from './feeds/port.js';
export type { RevocationCheck } from './revocation/check.js';
export type {
  RevocationEvent,
  RevocationKind,
  SessionRevocationCause,
  UserRevocationCause,
} from './revocation/events.js';
export type {
  RevocationListOptions,
  RevocationSnapshot,
  RevocationStats,
} from './revocation/list.js';
export { RevocationList } from './revocation/list.js';
export { createAuth } from './sessions/auth.js';
export type {
  KeepSession,
  MfaOperations,
  MfaStatus,
  RecoveryCodes,
  TotpEnrolment,
} from './sessions/mfa.js';
export { AUTH_DEFAULTS } from './sessions/options.js';
export type { PasskeyInfo, PasskeyOperations, PasskeyOptions } from './sessions/passkeys.js';
export type { ThrottlePolicy } from './sessions/throttle.js';
export type {
  Auth,
  AuthOptions,
  Invitation,
  LinkRequestContext,
  LoginInput,
  PasswordPolicy,
  ResolvedAuthOptions,
  SessionInfo,
  SignedIn,
  StepUp,
  User,
} from './sessions/types.js';
export type * from './stores/port.js';
export * from './tokens/index.js';
export type { Verifier, VerifierOptions } from './verifier/index.js';
export { createVerifier } from './verifier/index.js';
