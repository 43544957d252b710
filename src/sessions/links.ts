import { createHash, randomBytes } from 'node:crypto';
import { AuthError } from '../errors.js';
import type { LinkKind, StoredLink } from '../stores/port.js';
import type { AuthContext } from './context.js';
import { keyOf } from './throttle.js';

/**
 * One-time links: the token (32 random bytes, base64url), its stored form (SHA-256 hex: a
 * database dump redeems nothing), the URL it travels in (the token in the fragment, so no
 * server log or Referer sees it), how long each kind lives, and the throttle on asking for
 * them.
 */

const HOUR = 3_600_000;

/** How long a link of each kind works (the contract's numbers). */
export const LINK_TTL_MS: Readonly<Record<LinkKind, number>> = {
  'verify-email': 24 * HOUR,
  'reset-password': 30 * 60_000,
  'confirm-email': 24 * HOUR,
  invitation: 7 * 24 * HOUR,
};

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** What the store keeps of a link token: its SHA-256, hex. */
export const hashLinkToken = (token: string): string =>
  createHash('sha256').update(token).digest('hex');

/**
 * The stored hash of a presented token. Not a string is bad input; any other string that is
 * not one of ours is answered like an unknown link, so its shape tells nothing.
 */
export function presentedLinkHash(token: unknown): string {
  if (typeof token !== 'string') throw new AuthError('VALIDATION_FAILED', 'A token is required.');
  if (!TOKEN.test(token)) throw linkInvalid();
  return hashLinkToken(token);
}

/** One answer for unknown, used, expired, superseded and cross-purpose links. */
export const linkInvalid = (): AuthError =>
  new AuthError('LINK_INVALID', 'This link is invalid or has expired; ask for a new one.');

/** A link the store holds and the mail carries. */
export interface IssuedLink {
  id: string;
  token: string;
  url: string;
  expiresAt: number;
}

/**
 * Stores a new link (superseding the unused ones of its kind for the same user, or for an
 * invitation the same address) and returns what the mail carries. Without a `publicUrl` a
 * link cannot be made: a configuration error, thrown as a TypeError.
 */
export async function issueLink(
  ctx: AuthContext,
  input: { kind: LinkKind; userId: string | null; email: string; roles?: string[] },
): Promise<IssuedLink> {
  const base = ctx.resolved.publicUrl;
  if (base === null)
    throw new TypeError(
      'createAuth: mailed links need the option publicUrl (or an http(s) issuer) to point to',
    );
  const token = randomBytes(32).toString('base64url');
  const nowMs = ctx.clock.now();
  const expiresAt = nowMs + LINK_TTL_MS[input.kind];
  const stored = await ctx.store().createLink({
    id: randomBytes(16).toString('base64url'),
    kind: input.kind,
    tokenHash: hashLinkToken(token),
    userId: input.userId,
    email: input.email,
    roles: input.roles ?? [],
    nowMs,
    expiresAt,
  });
  return { id: stored.id, token, url: `${base}/#${input.kind}=${token}`, expiresAt };
}

/**
 * The live link of `kind` that acts on a user, or LINK_INVALID. A read only: the operation
 * consumes it in the same transaction as its change (`RevokeUserInput.link`), so of two
 * concurrent redemptions exactly one wins.
 */
export async function userLinkOrThrow(
  ctx: AuthContext,
  kind: LinkKind,
  tokenHash: string,
): Promise<StoredLink & { userId: string }> {
  const link = await ctx.store().findLink(kind, tokenHash, ctx.clock.now());
  // A decoy (no user) is as unusable as no link.
  if (link === null || link.userId === null) throw linkInvalid();
  return link as StoredLink & { userId: string };
}

/**
 * Link requests per address and per client, counted in the store like sign-in attempts
 * (so N instances do not allow N times the mail) under their own key prefixes. Each
 * request counts; nothing is given back. Per address: a few free, then doubling waits, then
 * shut for the hour; per client, more (offices share an address).
 */
export const LINK_THROTTLE = {
  windowMs: HOUR,
  address: { free: 3, max: 5 },
  client: { free: 10, max: 30 },
} as const;

const secondsUntil = (at: number, nowMs: number): number =>
  Math.max(1, Math.ceil((at - nowMs) / 1000));

/**
 * Counts one link request. Throws RATE_LIMITED when the client is over its limit (that says
 * nothing about any account). Resolves false when the address is over its limit: a caller
 * that must not tell whether the address has an account then mails nothing and answers as
 * usual (the count is per address whether or not it has one, so this reveals nothing, and a
 * victim's inbox stays quiet).
 */
export async function admitLinkRequest(
  ctx: AuthContext,
  address: string,
  clientKey: string | null,
): Promise<{ ok: true } | { ok: false; retryAfter: number }> {
  const store = ctx.store();
  const nowMs = ctx.clock.now();
  const { windowMs } = LINK_THROTTLE;
  if (clientKey !== null && clientKey.length > 0) {
    const client = await store.reserveAttempt({
      key: keyOf('link-client', clientKey),
      nowMs,
      windowMs,
      ...LINK_THROTTLE.client,
    });
    if (!client.ok) throw tooMany(secondsUntil(client.retryAt, nowMs));
  }
  const perAddress = await store.reserveAttempt({
    key: keyOf('link-address', address),
    nowMs,
    windowMs,
    ...LINK_THROTTLE.address,
  });
  return perAddress.ok
    ? { ok: true }
    : { ok: false, retryAfter: secondsUntil(perAddress.retryAt, nowMs) };
}

/** `admitLinkRequest` for a signed-in caller, who may learn of its own address's limit. */
export async function requireLinkRequest(
  ctx: AuthContext,
  address: string,
  clientKey: string | null,
): Promise<void> {
  const admitted = await admitLinkRequest(ctx, address, clientKey);
  if (!admitted.ok) throw tooMany(admitted.retryAfter);
}

const tooMany = (retryAfter: number): AuthError =>
  new AuthError('RATE_LIMITED', 'Too many requests for mailed links; try again later.', {
    retryAfter,
  });
