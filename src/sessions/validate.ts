import { AuthError } from '../errors.js';

/** Input guards: every public method checks its arguments with these, so bad input is a 400. */

export const MAX_ID_LENGTH = 128;
export const MAX_DEVICE_LENGTH = 200;
export const MAX_CLIENT_KEY_LENGTH = 200;
export const MAX_ROLES = 32;
export const MAX_ROLE_LENGTH = 64;
const ROLE = /^[A-Za-z0-9_.:-]+$/;
const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43}$/;

function fail(what: string): never {
  throw new AuthError('VALIDATION_FAILED', `Invalid ${what}.`);
}

export function assertObject(
  value: unknown,
  what: string,
): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(what);
}

export function assertId(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) fail(what);
}

/** An optional free-text field: undefined, or a string of at most `max` characters. */
export function optionalText(value: unknown, what: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > max) fail(what);
  return value;
}

export function assertRoles(value: unknown): asserts value is string[] {
  if (!Array.isArray(value) || value.length > MAX_ROLES) fail('roles');
  for (const role of value) {
    if (typeof role !== 'string' || role.length === 0 || role.length > MAX_ROLE_LENGTH)
      fail('role');
    if (!ROLE.test(role)) fail('role');
  }
}

/** A refresh token is 32 random bytes in base64url; anything else is not one of ours. */
export function isRefreshTokenShape(value: string): boolean {
  return REFRESH_TOKEN.test(value);
}

export function assertTime(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(what);
}
