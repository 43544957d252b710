/**
 * The passkey half of the browser client, in Node: the base64url codec (property-tested
 * against Node's own), the options and credential conversions (against the options
 * @simplewebauthn/server really sends), how the ceremony names the browser's refusals, and
 * what the client's passkey methods send. Chromium runs the real ceremony in
 * test/browser/client-passkeys.test.ts.
 */
import { generateAuthenticationOptions, generateRegistrationOptions } from '@simplewebauthn/server';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAuthClient } from '../../src/client/client.js';
import { AuthClientError } from '../../src/client/http.js';
import type { AuthClient, ClientWebAuthn } from '../../src/client/types.js';
import { passkeysSupported, webauthn } from '../../src/client/webauthn.js';
import {
  credentialToJSON,
  fromBase64url,
  type OptionsJSON,
  parseOptions,
  toBase64url,
} from '../../src/client/webauthn-json.js';

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const bytesOf = (text: string) => new Uint8Array(Buffer.from(text, 'base64url'));

describe('base64url', () => {
  it('encodes like Node, unpadded, whatever the view', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(8), (bytes, cut) => {
        expect(toBase64url(bytes)).toBe(b64u(bytes));
        expect(toBase64url(bytes.buffer)).toBe(b64u(bytes));
        // A view into a larger buffer: only its own bytes.
        const view = bytes.subarray(Math.min(cut, bytes.length));
        expect(toBase64url(view)).toBe(b64u(view));
      }),
    );
  });

  it('decodes what it encodes, padded or not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = toBase64url(bytes);
        expect(fromBase64url(text)).toEqual(bytes);
        const padded = text + '='.repeat((4 - (text.length % 4)) % 4);
        expect(fromBase64url(padded)).toEqual(bytes);
      }),
    );
  });

  it('any string yields the bytes Node reads, re-encoding to itself, or PASSKEY_FAILED', () => {
    const alphabet = fc.constantFrom(...'AQgw_-Zz09+/=. \n'.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: alphabet })), (text) => {
        let bytes: Uint8Array;
        try {
          bytes = fromBase64url(text);
        } catch (error) {
          expect(error).toBeInstanceOf(AuthClientError);
          expect(error).toMatchObject({ code: 'PASSKEY_FAILED', status: 0 });
          return;
        }
        expect(bytes).toEqual(bytesOf(text));
        expect(toBase64url(bytes)).toBe(text.replace(/=+$/, ''));
      }),
    );
  });

  it.each([
    ['', []],
    ['QQ', [0x41]],
    ['QQ==', [0x41]],
    ['QUI', [0x41, 0x42]],
    ['QUI=', [0x41, 0x42]],
    ['_-8', [0xff, 0xef]],
  ])('%j → %j', (text, bytes) => {
    expect([...fromBase64url(text)]).toEqual(bytes);
  });

  // Node reads each of these somehow; a wrong byte from the server must not reach the ceremony.
  it.each([
    ['Q', 'a length no encoding has'],
    ['QR', 'stray bits after the last byte'],
    ['QQ=', 'padding short of four'],
    ['QUI==', 'too much padding'],
    ['QQ==QQ', 'padding inside'],
    ['+/8', 'standard base64'],
    ['QQ ', 'a space'],
    ['=', 'padding alone'],
  ])('refuses %j (%s)', (text) => {
    expect(() => fromBase64url(text)).toThrow(
      expect.objectContaining({ name: 'AuthClientError', code: 'PASSKEY_FAILED' }),
    );
  });
});

describe('options and credentials', () => {
  const rp = { rpName: 'notbefore', rpID: 'localhost' };
  const existing = [
    { id: b64u(new Uint8Array([1, 2, 3, 250])), transports: ['internal' as const] },
    { id: b64u(new Uint8Array(32).fill(7)), transports: ['usb' as const, 'hybrid' as const] },
  ];

  it("creation options: challenge, user handle and excluded ids become bytes; the rp's id stays", async () => {
    const json = (await generateRegistrationOptions({
      ...rp,
      userName: 'ann@example.com',
      userID: new TextEncoder().encode('user-1'),
      attestationType: 'none',
      excludeCredentials: existing,
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    })) as unknown as OptionsJSON;
    const options = parseOptions(json, true) as PublicKeyCredentialCreationOptions;
    expect(options.challenge).toEqual(bytesOf(json.challenge));
    expect(new TextDecoder().decode(options.user.id as Uint8Array)).toBe('user-1');
    expect(options.user).toMatchObject({ name: 'ann@example.com' });
    expect(options.rp).toEqual({ name: 'notbefore', id: 'localhost' });
    expect(options.excludeCredentials).toEqual([
      { id: new Uint8Array([1, 2, 3, 250]), type: 'public-key', transports: ['internal'] },
      { id: new Uint8Array(32).fill(7), type: 'public-key', transports: ['usb', 'hybrid'] },
    ]);
    expect(options.authenticatorSelection).toEqual(json.authenticatorSelection);
    expect(options.pubKeyCredParams).toEqual(json.pubKeyCredParams);
  });

  it('request options: challenge and allowed ids become bytes; none listed stays none', async () => {
    const json = (await generateAuthenticationOptions({
      rpID: 'localhost',
      allowCredentials: existing,
      userVerification: 'required',
    })) as unknown as OptionsJSON;
    const options = parseOptions(json, false) as PublicKeyCredentialRequestOptions;
    expect(options.challenge).toEqual(bytesOf(json.challenge));
    expect(options.rpId).toBe('localhost');
    expect(options.allowCredentials?.map((c) => c.id)).toEqual([
      new Uint8Array([1, 2, 3, 250]),
      new Uint8Array(32).fill(7),
    ]);
    const discoverable = (await generateAuthenticationOptions({
      rpID: 'localhost',
    })) as unknown as OptionsJSON;
    const parsed = parseOptions(discoverable, false) as PublicKeyCredentialRequestOptions;
    expect(parsed.allowCredentials ?? []).toEqual([]);
  });

  it('a malformed challenge is PASSKEY_FAILED', () => {
    expect(() => parseOptions({ challenge: 'not base64url!' }, false)).toThrow(
      expect.objectContaining({ code: 'PASSKEY_FAILED' }),
    );
  });

  const buf = (...bytes: number[]) => new Uint8Array(bytes).buffer;

  it('a new credential as the server reads it (attestation, transports)', () => {
    const credential = {
      id: 'AQID',
      rawId: buf(1, 2, 3),
      type: 'public-key',
      authenticatorAttachment: 'platform',
      getClientExtensionResults: () => ({ credProps: { rk: true } }),
      response: {
        clientDataJSON: buf(123, 125),
        attestationObject: buf(0xa0),
        getTransports: () => ['internal', 'hybrid'],
      },
    } as unknown as PublicKeyCredential;
    expect(credentialToJSON(credential)).toEqual({
      id: 'AQID',
      rawId: 'AQID',
      type: 'public-key',
      response: {
        clientDataJSON: 'e30',
        attestationObject: 'oA',
        transports: ['internal', 'hybrid'],
      },
      clientExtensionResults: { credProps: { rk: true } },
      authenticatorAttachment: 'platform',
    });
  });

  it('an assertion as the server reads it (user handle when there is one)', () => {
    const assertion = (userHandle: ArrayBuffer | null) =>
      ({
        id: '_w',
        rawId: buf(255),
        type: 'public-key',
        authenticatorAttachment: null,
        getClientExtensionResults: () => ({}),
        response: {
          clientDataJSON: buf(123, 125),
          authenticatorData: buf(1, 2),
          signature: buf(3),
          userHandle,
        },
      }) as unknown as PublicKeyCredential;
    expect(credentialToJSON(assertion(buf(117)))).toEqual({
      id: '_w',
      rawId: '_w',
      type: 'public-key',
      response: {
        clientDataJSON: 'e30',
        authenticatorData: 'AQI',
        signature: 'Aw',
        userHandle: 'dQ',
      },
      clientExtensionResults: {},
      authenticatorAttachment: null,
    });
    expect(credentialToJSON(assertion(null)).response).not.toHaveProperty('userHandle');
  });
});

describe('the ceremony (navigator.credentials faked)', () => {
  const challenge = 'AAAA';
  let made: () => Promise<unknown>;
  let given: CredentialRequestOptions[];

  beforeEach(() => {
    given = [];
    vi.stubGlobal('PublicKeyCredential', function PublicKeyCredential() {});
    vi.stubGlobal('navigator', {
      credentials: {
        get: (init: CredentialRequestOptions) => {
          given.push(init);
          return made();
        },
        create: (init: CredentialRequestOptions) => {
          given.push(init);
          return made();
        },
      },
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  const refused =
    (name: string, message = `${name} happened`) =>
    () =>
      Promise.reject(new DOMException(message, name));

  it.each([
    ['NotAllowedError', 'PASSKEY_CANCELLED'],
    ['AbortError', 'PASSKEY_ABORTED'],
    ['InvalidStateError', 'PASSKEY_EXISTS'],
    ['SecurityError', 'PASSKEY_FAILED'],
    ['NotSupportedError', 'PASSKEY_FAILED'],
  ])("the browser's %s is %s, with its message", async (name, code) => {
    made = refused(name);
    await expect(webauthn('get', async () => ({ challenge }))).rejects.toMatchObject({
      name: 'AuthClientError',
      code,
      status: 0,
      message: `${name} happened`,
    });
  });

  it('no WebAuthn: PASSKEY_UNSUPPORTED, and the options are never asked for', async () => {
    vi.stubGlobal('PublicKeyCredential', undefined);
    expect(passkeysSupported()).toBe(false);
    const options = vi.fn(async () => ({ challenge }));
    await expect(webauthn('create', options)).rejects.toMatchObject({
      code: 'PASSKEY_UNSUPPORTED',
    });
    expect(options).not.toHaveBeenCalled();
    vi.stubGlobal('PublicKeyCredential', function PublicKeyCredential() {});
    vi.stubGlobal('navigator', {});
    expect(passkeysSupported()).toBe(false);
  });

  it('an abort is PASSKEY_ABORTED whatever the browser threw; the signal reaches the browser', async () => {
    const controller = new AbortController();
    made = () => {
      controller.abort('the app gave up');
      return Promise.reject('the app gave up'); // the abort's reason, as browsers reject
    };
    await expect(
      webauthn('get', async () => ({ challenge }), controller.signal),
    ).rejects.toMatchObject({ code: 'PASSKEY_ABORTED' });
    expect(given[0]?.signal).toBe(controller.signal);
    // Aborted while the options were asked for: the request's own failure becomes the abort.
    const early = new AbortController();
    const options = async () => {
      early.abort();
      throw new AuthClientError('NETWORK_ERROR', 0, 'aborted');
    };
    await expect(webauthn('get', options, early.signal)).rejects.toMatchObject({
      code: 'PASSKEY_ABORTED',
    });
  });

  it("the options request's own refusal passes through with the server's code", async () => {
    const options = async () => {
      throw new AuthClientError('REAUTHENTICATION_REQUIRED', 403, 'again');
    };
    await expect(webauthn('create', options)).rejects.toMatchObject({
      code: 'REAUTHENTICATION_REQUIRED',
      status: 403,
    });
  });

  it('no credential from the browser is PASSKEY_FAILED; a credential resolves as JSON', async () => {
    made = async () => null;
    await expect(webauthn('get', async () => ({ challenge }))).rejects.toMatchObject({
      code: 'PASSKEY_FAILED',
    });
    made = async () => ({
      id: 'AQ',
      rawId: new Uint8Array([1]).buffer,
      type: 'public-key',
      getClientExtensionResults: () => ({}),
      response: {
        clientDataJSON: new Uint8Array([2]).buffer,
        authenticatorData: new Uint8Array([3]).buffer,
        signature: new Uint8Array([4]).buffer,
        userHandle: null,
      },
    });
    await expect(webauthn('get', async () => ({ challenge }))).resolves.toMatchObject({
      id: 'AQ',
      response: { clientDataJSON: 'Ag', authenticatorData: 'Aw', signature: 'BA' },
    });
    expect((given.at(-1)!.publicKey as PublicKeyCredentialRequestOptions).challenge).toEqual(
      new Uint8Array(3),
    );
  });
});

describe('the client passkey methods (fetch and the ceremony faked)', () => {
  const USER = { id: 'u1', email: 'ann@example.com', roles: [] };
  let sent: { url: string; method: string; body: unknown }[];
  let answers: Response[];
  let clients: AuthClient[];

  beforeEach(() => {
    sent = [];
    answers = [];
    clients = [];
    vi.stubGlobal('document', { cookie: '__Host-nb_csrf=c1' });
    vi.stubGlobal('location', new URL('https://app.example/'));
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      sent.push({
        url,
        method: init.method ?? 'GET',
        body: init.body === undefined ? undefined : JSON.parse(String(init.body)),
      });
      return answers.shift() ?? new Response(null, { status: 500 });
    });
  });
  afterEach(() => {
    for (const c of clients) c.close();
    vi.unstubAllGlobals();
  });

  const client = (ceremony?: ClientWebAuthn) => {
    const c = createAuthClient({
      events: false,
      channel: `t${Math.random()}`,
      ...(ceremony && { webauthn: ceremony }),
    });
    clients.push(c);
    return c;
  };

  /** A ceremony that fetches the options and answers with a fixed credential. */
  const fake: ClientWebAuthn = async (kind, options) => ({ kind, options: await options() });

  it('without the webauthn option: PASSKEY_UNSUPPORTED, nothing sent', async () => {
    const c = client();
    await expect(c.loginWithPasskey()).rejects.toMatchObject({ code: 'PASSKEY_UNSUPPORTED' });
    await expect(c.addPasskey()).rejects.toMatchObject({ code: 'PASSKEY_UNSUPPORTED' });
    expect(sent).toEqual([]);
  });

  it('loginWithPasskey: options (with the email), the ceremony, then a sign-in like login', async () => {
    const c = client(fake);
    const signedIn: unknown[] = [];
    c.on('signedIn', (e) => signedIn.push(e));
    const expiresAt = Date.now() + 900_000;
    answers = [
      Response.json({ challenge: 'AAAA' }),
      Response.json({ user: USER, expiresAt, session: { sid: 's1' } }),
    ];
    await expect(c.loginWithPasskey({ email: USER.email, device: 'Test' })).resolves.toEqual(USER);
    expect(sent).toEqual([
      { url: '/auth/passkeys/login/options', method: 'POST', body: { email: USER.email } },
      {
        url: '/auth/passkeys/login',
        method: 'POST',
        body: { device: 'Test', response: { kind: 'get', options: { challenge: 'AAAA' } } },
      },
    ]);
    expect(c.user).toEqual(USER);
    expect(signedIn).toEqual([{ user: USER, expiresAt, fromOtherTab: false }]);
  });

  it('addPasskey: options with the proof, the ceremony, then the passkey; removePasskey; passkeys', async () => {
    const c = client(fake);
    answers = [
      Response.json({ challenge: 'AAAA' }),
      Response.json({ id: 'cred-1' }, { status: 201 }),
    ];
    await expect(c.addPasskey({ password: 'pw', otp: '123456', name: 'Key' })).resolves.toBe(
      'cred-1',
    );
    expect(sent).toEqual([
      {
        url: '/auth/passkeys/register/options',
        method: 'POST',
        body: { password: 'pw', otp: '123456' },
      },
      {
        url: '/auth/passkeys/register',
        method: 'POST',
        body: { response: { kind: 'create', options: { challenge: 'AAAA' } }, name: 'Key' },
      },
    ]);

    sent.length = 0;
    answers = [new Response(null, { status: 204 })];
    await c.removePasskey('a/b', { password: 'pw' });
    expect(sent).toEqual([
      { url: '/auth/passkeys/a%2Fb', method: 'DELETE', body: { password: 'pw' } },
    ]);

    const passkey = {
      id: 'cred-1',
      name: 'Key',
      createdAt: 1,
      lastUsedAt: null,
      synced: false,
      transports: ['internal'],
    };
    answers = [Response.json({ passkeys: [passkey] })];
    await expect(c.passkeys()).resolves.toEqual([passkey]);
  });

  it("a refused step-up is the server's code, and no ceremony runs", async () => {
    const ceremony = vi.fn(fake);
    const c = client(ceremony);
    answers = [
      Response.json(
        { error: { code: 'REAUTHENTICATION_REQUIRED', message: 'again' } },
        { status: 403 },
      ),
    ];
    await expect(c.addPasskey()).rejects.toMatchObject({
      code: 'REAUTHENTICATION_REQUIRED',
      status: 403,
    });
    expect(sent).toHaveLength(1);
  });

  it("addPasskey: a refusal after the prompt is PASSKEY_REJECTED, the step-up's keeps its code", async () => {
    const c = client(fake);
    const refusal = (status: number) =>
      Response.json({ error: { code: 'INVALID_CREDENTIALS', message: 'refused' } }, { status });
    // A wrong password: the options are refused, before any prompt.
    answers = [refusal(401)];
    await expect(c.addPasskey({ password: 'wrong' })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
      status: 401,
    });
    // The right one, then the server refuses the new passkey (its challenge expired, say).
    answers = [Response.json({ challenge: 'AAAA' }), refusal(401)];
    const error = await c.addPasskey({ password: 'pw' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthClientError);
    expect(error).toMatchObject({ code: 'PASSKEY_REJECTED', status: 401, message: 'refused' });
    // The server's own answer stays readable.
    expect((error as Error).cause).toBeInstanceOf(AuthClientError);
    expect((error as Error).cause).toMatchObject({ code: 'INVALID_CREDENTIALS', status: 401 });
    expect(sent.map((s) => s.url)).toEqual([
      '/auth/passkeys/register/options',
      '/auth/passkeys/register/options',
      '/auth/passkeys/register',
    ]);
  });
});
