/**
 * Habit 3 for WebAuthn: a real registration or assertion, then one part of it replaced by
 * something hostile (random bytes, a byte flipped, a cut, another JSON type, a forged
 * clientDataJSON), against the live routes. Every answer is a 4xx with a declared code:
 * VALIDATION_FAILED for what is not WebAuthn JSON, INVALID_CREDENTIALS for what does not
 * verify. Never a 500, never a sign-in.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UndeclaredErrorCode } from '../../src/http/routes/index.js';
import type { Auth } from '../../src/sessions/types.js';
import { api, makeAuth, PASSWORD, type TestServer } from './harness.js';
import { makeHono } from './servers.js';
import { SoftAuthenticator } from './soft-authenticator.js';

const PUBLIC_URL = 'https://auth.example.test';
const LOOSE = { free: 1_000_000, max: 1_000_000 };

type Json = Record<string, unknown>;

/** One hostile change to a WebAuthn response, by path. */
const mutation = (fields: readonly string[]) =>
  fc.record({
    field: fc.constantFrom(...fields),
    how: fc.oneof(
      fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('value' as const), value: fc.jsonValue({ maxDepth: 2 }) }),
      fc.record({
        kind: fc.constant('client-data' as const),
        data: fc.record(
          {
            type: fc.oneof(fc.constantFrom('webauthn.get', 'webauthn.create'), fc.jsonValue()),
            challenge: fc.oneof(fc.constant('KEEP'), fc.jsonValue()),
            origin: fc.oneof(
              fc.constantFrom(PUBLIC_URL, 'https://evil.example', 'null'),
              fc.jsonValue(),
            ),
            crossOrigin: fc.jsonValue(),
            topOrigin: fc.jsonValue(),
            tokenBinding: fc.jsonValue(),
          },
          { requiredKeys: [] },
        ),
      }),
    ),
  });

function mutate(original: Json, m: Mutation): Json {
  const copy = structuredClone(original) as Json & { response: Json };
  const [outer, inner] = m.field.split('.') as [string, string | undefined];
  const target: Json = inner === undefined ? copy : copy.response;
  const key = inner ?? outer;
  const current = target[key];
  const bytes = typeof current === 'string' ? Buffer.from(current, 'base64url') : Buffer.alloc(0);
  switch (m.how.kind) {
    case 'bytes':
      target[key] = Buffer.from(m.how.bytes).toString('base64url');
      break;
    case 'flip':
      if (bytes.length > 0) {
        const at = m.how.at % bytes.length;
        bytes[at] = (bytes[at] ?? 0) ^ (1 << m.how.bit);
      }
      target[key] = bytes.toString('base64url');
      break;
    case 'cut':
      target[key] = bytes
        .subarray(0, bytes.length === 0 ? 0 : m.how.at % bytes.length)
        .toString('base64url');
      break;
    case 'value':
      target[key] = m.how.value;
      break;
    case 'client-data': {
      const was = JSON.parse(
        Buffer.from(String(copy.response.clientDataJSON), 'base64url').toString(),
      );
      const data = { ...m.how.data };
      if (data.challenge === 'KEEP') data.challenge = was.challenge;
      copy.response.clientDataJSON = Buffer.from(JSON.stringify(data)).toString('base64url');
      break;
    }
  }
  return copy;
}
/**
 * The same ECDSA signature in another encoding: the DER parser under the library takes the
 * outer SEQUENCE length loosely (byte 1). The signed data and (r, s) are unchanged, and the
 * challenge is single use, so this is no forgery and no replay.
 */
function sameSignature(hostile: Json, honest: Json): boolean {
  const a = Buffer.from(String((hostile.response as Json).signature), 'base64url');
  const b = Buffer.from(String((honest.response as Json).signature), 'base64url');
  const rest = (x: Json) =>
    JSON.stringify({ ...x, response: { ...(x.response as Json), signature: '' } });
  return (
    rest(hostile) === rest(honest) &&
    a.length === b.length &&
    a.every((byte, i) => i === 1 || byte === b[i])
  );
}

type Mutation = ReturnType<typeof mutation> extends fc.Arbitrary<infer T> ? T : never;

describe('fuzz: hostile WebAuthn responses get a declared 4xx, never a 500 or a sign-in', () => {
  let auth: Auth;
  let closeAuth: () => Promise<void>;
  let server: TestServer;
  const undeclared: string[] = [];
  const unexpected: unknown[] = [];

  beforeAll(async () => {
    ({ auth, close: closeAuth } = await makeAuth({
      publicUrl: PUBLIC_URL,
      // Every attempt must reach the verifier, not the back-off.
      throttle: { account: LOOSE, client: LOOSE },
    }));
    server = await makeHono(auth, {
      rateLimit: 0,
      onError: (error) => {
        if (error instanceof UndeclaredErrorCode) undeclared.push(error.message);
        else unexpected.push(error);
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await closeAuth();
  });

  const expectRefused = (res: { status: number; json(): Json }, what: string) => {
    expect(res.status, what).toBeGreaterThanOrEqual(400);
    expect(res.status, what).toBeLessThan(500);
    const code = (res.json().error as Json).code;
    expect(['VALIDATION_FAILED', 'INVALID_CREDENTIALS'], what).toContain(code);
  };

  it('arbitrary bodies, with and without a session, on every passkey route', async () => {
    const owner = api(server);
    await owner.call('POST', '/auth/signup', { email: 'fuzz-any@example.com', password: PASSWORD });
    const routes = [
      ['POST', '/auth/passkeys/register/options'],
      ['POST', '/auth/passkeys/register'],
      ['GET', '/auth/passkeys'],
      ['DELETE', '/auth/passkeys/AAAA'],
      ['POST', '/auth/passkeys/login/options'],
      ['POST', '/auth/passkeys/login'],
    ] as const;
    const webauthnish = fc.record(
      {
        id: fc.oneof(fc.string(), fc.base64String()),
        rawId: fc.string(),
        type: fc.constantFrom('public-key', 'x'),
        response: fc.dictionary(
          fc.constantFrom(
            'clientDataJSON',
            'attestationObject',
            'authenticatorData',
            'signature',
            'userHandle',
            'transports',
          ),
          fc.oneof(fc.string(), fc.base64String(), fc.jsonValue()),
        ),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.json({ maxDepth: 3 }),
          webauthnish.map((response) => JSON.stringify({ response })),
          fc.emailAddress().map((email) => JSON.stringify({ email })),
        ),
        fc.boolean(),
        async ([method, path], body, signedIn) => {
          const headers: Record<string, string> = {
            'content-type': 'application/json',
            'x-auth-transport': 'bearer',
          };
          if (signedIn && owner.access !== undefined)
            headers.authorization = `Bearer ${owner.access}`;
          const res = await server.request(
            method,
            path,
            method === 'GET' ? { headers } : { headers, body },
          );
          if (res.status < 400) return; // an options body that happens to be valid
          expect(res.status, `${method} ${path} ${body}`).toBeLessThan(500);
          expect(res.json().error.code).toEqual(expect.any(String));
        },
      ),
      { numRuns: 300 },
    );
    expect(undeclared).toEqual([]);
    expect(unexpected).toEqual([]);
  });

  it('sign-in assertions', async () => {
    const key = new SoftAuthenticator(PUBLIC_URL, { counting: true });
    const owner = api(server);
    await owner.call('POST', '/auth/signup', { email: 'fuzz@example.com', password: PASSWORD });
    const options = await owner.call('POST', '/auth/passkeys/register/options', {});
    expect(
      (
        await owner.call('POST', '/auth/passkeys/register', {
          response: key.create(options.json()),
        })
      ).status,
    ).toBe(201);
    const fields = [
      'id',
      'rawId',
      'type',
      'response',
      'response.clientDataJSON',
      'response.authenticatorData',
      'response.signature',
      'response.userHandle',
    ];
    await fc.assert(
      fc.asyncProperty(mutation(fields), async (m) => {
        const request = await api(server).call('POST', '/auth/passkeys/login/options', {});
        const honest = key.get(request.json()) as unknown as Json;
        const hostile = mutate(honest, m);
        const res = await api(server).call('POST', '/auth/passkeys/login', { response: hostile });
        // The user handle is not signed: dropped (null, empty), the assertion still stands.
        // Any other change must be refused.
        if (res.status === 200)
          expect(
            m.field === 'response.userHandle' ||
              sameSignature(hostile, honest) ||
              JSON.stringify(hostile) === JSON.stringify(honest),
            JSON.stringify(m),
          ).toBe(true);
        else expectRefused(res, JSON.stringify(m));
      }),
      { numRuns: 250 },
    );
    expect(undeclared).toEqual([]);
    expect(unexpected).toEqual([]);
  });

  it('registrations', async () => {
    const key = new SoftAuthenticator(PUBLIC_URL);
    const owner = api(server);
    await owner.call('POST', '/auth/signup', { email: 'fuzz-reg@example.com', password: PASSWORD });
    const fields = [
      'id',
      'rawId',
      'response',
      'response.clientDataJSON',
      'response.attestationObject',
      'response.transports',
    ];
    await fc.assert(
      fc.asyncProperty(mutation(fields), async (m) => {
        const options = await owner.call('POST', '/auth/passkeys/register/options', {});
        expect(options.status, options.body).toBe(200);
        const honest = key.create(options.json()) as unknown as Json;
        const hostile = mutate(honest, m);
        const res = await owner.call('POST', '/auth/passkeys/register', { response: hostile });
        if (res.status !== 201) return expectRefused(res, JSON.stringify(m));
        // Room for the next ones (at most 20 per account).
        const removed = await owner.call('DELETE', `/auth/passkeys/${res.json().id}`, {});
        expect(removed.status).toBe(200);
        // With `none` attestation nothing is signed at registration: the authenticator data
        // (flags aside), the transports and extra client data are the client's word. What
        // binds it is checked: the challenge, the ceremony type and the origin.
        const sent = (hostile.response as Json).clientDataJSON;
        const data = JSON.parse(Buffer.from(String(sent), 'base64url').toString());
        expect(data, JSON.stringify(m)).toMatchObject({
          type: 'webauthn.create',
          origin: PUBLIC_URL,
          challenge: options.json().challenge,
        });
      }),
      { numRuns: 250 },
    );
    expect((await owner.call('GET', '/auth/passkeys')).json().passkeys).toEqual([]);
    expect(undeclared).toEqual([]);
    expect(unexpected).toEqual([]);
  });
});
