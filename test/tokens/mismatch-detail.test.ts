import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { AuthError } from '../../src/errors.js';
import { errorResponse } from '../../src/http/response.js';
import { Keyring } from '../../src/tokens/keyring.js';
import { createSigner } from '../../src/tokens/sign.js';
import { createAccessTokenVerifier } from '../../src/tokens/verify.js';

const clock = manualClock(Date.UTC(2026, 0, 1));
const keyring = Keyring.generate('EdDSA');
const token = (issuer: string, audience: string) =>
  createSigner({ keyring, issuer, audience, ttl: 900, clock }).sign({
    sub: 'user-1',
    sid: 'sid-1',
    roles: [],
    authTime: clock.now(),
  }).token;

function thrown(run: () => unknown): AuthError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError);
    return error as AuthError;
  }
  throw new Error('did not throw');
}

describe('issuer and audience mismatches', () => {
  const verifier = createAccessTokenVerifier({
    keyring,
    issuer: 'https://auth.example',
    audience: ['api', 'admin-api'],
    clock,
  });

  it('an issuer mismatch names both issuers in detail, not in the message or the body', () => {
    const error = thrown(() => verifier.verify(token('https://other.example', 'api')));
    expect(error.code).toBe('TOKEN_CLAIM_INVALID');
    expect(error.message).toBe('Token issuer is not accepted');
    expect(error.detail).toBe(
      "expected issuer 'https://auth.example', got 'https://other.example'",
    );
    const json = JSON.stringify(error);
    expect(JSON.parse(json)).toEqual({
      code: 'TOKEN_CLAIM_INVALID',
      message: 'Token issuer is not accepted',
    });
    expect(json).not.toContain('auth.example');
    const body = JSON.stringify(errorResponse(error).body);
    expect(body).not.toContain('auth.example');
    expect(body).not.toContain('other.example');
  });

  it('an audience mismatch names the expected audiences in detail only', () => {
    const error = thrown(() => verifier.verify(token('https://auth.example', 'billing')));
    expect(error.code).toBe('TOKEN_CLAIM_INVALID');
    expect(error.message).toBe('Token audience is not accepted');
    expect(error.detail).toBe("expected audience 'api' or 'admin-api', got 'billing'");
    expect(JSON.stringify(error)).not.toContain('billing');
    expect(JSON.stringify(errorResponse(error).body)).not.toMatch(/billing|admin-api/);
  });

  it('a claim in the detail is escaped and cut short, so it cannot forge log lines', () => {
    const error = thrown(() =>
      verifier.verify(token(`https://x.example\n${'a'.repeat(500)}`, 'api')),
    );
    expect(error.detail).not.toContain('\n');
    expect(error.detail).toContain('\\n');
    expect(error.detail!.length).toBeLessThan(200);
  });

  it('other failures carry no detail', () => {
    const error = thrown(() => verifier.verify('not.a.token'));
    expect(error.detail).toBeUndefined();
  });
});
