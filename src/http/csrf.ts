import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Signed double submit (OWASP): token = nonce "." HMAC-SHA256(secret, sid "." nonce).
 * The page echoes the CSRF cookie in X-CSRF-Token; the server checks both are equal, that
 * the MAC is its own and that it names the session the access token belongs to. A planted
 * cookie from another session, or a forged one, fails.
 */
export interface Csrf {
  issue(sid: string): string;
  /** True when header and cookie match and the token is bound to `sid` (when given). */
  check(header: string | undefined, cookie: string | undefined, sid: string | undefined): boolean;
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

export function createCsrf(secret: Uint8Array): Csrf {
  if (secret.byteLength < 32) throw new RangeError('The CSRF secret needs at least 32 bytes.');
  const mac = (sid: string, nonce: string): Buffer =>
    createHmac('sha256', secret).update(`${sid}.${nonce}`).digest();

  return {
    issue(sid) {
      const nonce = randomBytes(16).toString('base64url');
      return `${nonce}.${mac(sid, nonce).toString('base64url')}`;
    },
    check(header, cookie, sid) {
      if (header === undefined || cookie === undefined) return false;
      if (!TOKEN_SHAPE.test(header) || !TOKEN_SHAPE.test(cookie)) return false;
      const a = Buffer.from(header);
      const b = Buffer.from(cookie);
      if (!timingSafeEqual(a, b)) return false;
      if (sid === undefined) return true;
      const [nonce, given] = header.split('.') as [string, string];
      return timingSafeEqual(Buffer.from(given, 'base64url'), mac(sid, nonce));
    },
  };
}
