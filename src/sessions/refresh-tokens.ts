import { createHash, createHmac, randomBytes } from 'node:crypto';

/** Refresh tokens: 256 random bits, base64url; the store only ever sees their SHA-256. */
export const REFRESH_TOKEN_BYTES = 32;

export function newRefreshToken(): string {
  return randomBytes(REFRESH_TOKEN_BYTES).toString('base64url');
}

/** What the store keeps: SHA-256 (hex) of the token. Lookups are by this exact digest. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The successor of a refresh token, derived with a server secret: the same presented
 * token always yields the same successor, so a duplicate refresh inside the grace window
 * can be handed the successor again although the store holds only hashes. Unguessable
 * without the secret (HMAC-SHA256, 256 bits).
 */
export function successorOf(secret: Buffer, token: string): string {
  return createHmac('sha256', secret).update(token, 'utf8').digest('base64url');
}
